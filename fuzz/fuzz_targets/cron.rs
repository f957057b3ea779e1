//! Cron patterns (`cron_restart`): parsing, then the next few firing times from fixed
//! instants in UTC and in a zone with a daylight-saving change. Never a panic; a hang (a
//! pattern that never fires searched forever) shows up as a libFuzzer timeout.
#![no_main]

use jiff::Timestamp;
use jiff::tz::TimeZone;
use libfuzzer_sys::fuzz_target;
use pmtui_supervisor::cron::CronSchedule;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(schedule) = CronSchedule::parse(text) else {
        return;
    };
    let zones = [
        TimeZone::UTC,
        TimeZone::get("Europe/Paris").unwrap_or(TimeZone::UTC),
    ];
    for tz in zones {
        // 2026-03-29 00:30 UTC, shortly before the change in Paris.
        let mut at = Timestamp::from_second(1_774_744_200).expect("a valid instant");
        for _ in 0..3 {
            match schedule.next_after_in(at, tz.clone()) {
                Some(next) => {
                    assert!(next > at, "{text:?}: {next} is not after {at}");
                    at = next;
                }
                None => break,
            }
        }
    }
});
