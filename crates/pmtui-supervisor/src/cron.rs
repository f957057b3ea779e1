//! Scheduled restarts (`cron_restart`): parsing 5- or 6-field cron patterns with croner, and
//! finding the next firing time in the daemon's local time zone. croner runs on our own
//! jiff 1.x newtype (`Local`) because its bundled `jiff` feature targets jiff 0.2.

use croner::errors::CronError;
use croner::parser::{CronParser, Seconds, Year};
use croner::{CivilDate, CivilDateTime, CivilTime, Cron, CronDateTime, Resolution, Weekday};
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{SignedDuration, Timestamp, ZonedDateTime};
use std::cmp::Ordering;

/// A parsed `cron_restart` pattern.
#[derive(Debug, Clone)]
pub struct CronSchedule {
    cron: Cron,
    pattern: String,
}

impl CronSchedule {
    /// Parses 5 fields (minute hour day month weekday) or 6 (seconds first); `@hourly`
    /// style nicknames work too. The error says what is wrong with the pattern.
    pub fn parse(pattern: &str) -> Result<Self, String> {
        let parser = CronParser::builder()
            .seconds(Seconds::Optional)
            .year(Year::Disallowed)
            .build();
        let cron = parser
            .parse(pattern)
            .map_err(|err| format!("invalid cron pattern {pattern:?}: {err}"))?;
        let schedule = Self {
            cron,
            pattern: pattern.to_string(),
        };
        // A pattern naming no real date (`0 0 31 2 *`) would be searched for years at every
        // arming (found by the cron fuzz target); which dates exist does not depend on the
        // zone, so one search in UTC at parse time settles it.
        if schedule
            .next_after_in(Timestamp::now(), TimeZone::UTC)
            .is_none()
        {
            return Err(format!(
                "invalid cron pattern {pattern:?}: it never fires (no date matches it)"
            ));
        }
        Ok(schedule)
    }

    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    /// The first firing time strictly after `after`, in the system's local time zone.
    pub fn next_after(&self, after: Timestamp) -> Option<Timestamp> {
        self.next_after_in(after, TimeZone::system())
    }

    /// The time zone named `name` (an IANA name such as `Europe/Paris`), or the system's
    /// local time for `None`.
    pub fn zone(name: Option<&str>) -> Result<TimeZone, String> {
        match name.map(str::trim).filter(|n| !n.is_empty()) {
            None => Ok(TimeZone::system()),
            Some(name) => {
                TimeZone::get(name).map_err(|err| format!("unknown time zone {name:?}: {err}"))
            }
        }
    }

    /// The first firing time strictly after `after`, with wall-clock fields read in `tz`.
    pub fn next_after_in(&self, after: Timestamp, tz: TimeZone) -> Option<Timestamp> {
        let start = Local(after.to_zoned_datetime(tz));
        self.cron
            .find_next_occurrence(&start, false)
            .ok()
            .map(|next| next.0.timestamp())
    }
}

/// croner's view of a jiff 1.x zoned date-time (a port of croner's own jiff 0.2 backend).
#[derive(Debug, Clone)]
struct Local(ZonedDateTime);

impl CronDateTime for Local {
    fn to_civil(&self) -> CivilDateTime {
        let dt = self.0.datetime();
        // jiff keeps every part in range, so the unchecked constructors are sound.
        CivilDateTime::new(
            CivilDate::from_parts_unchecked(
                i32::from(dt.year()),
                dt.month() as u32,
                dt.day() as u32,
            ),
            CivilTime::from_parts_unchecked(
                dt.hour() as u32,
                dt.minute() as u32,
                dt.second() as u32,
            ),
        )
    }

    fn civil_weekday(&self) -> Weekday {
        Weekday::from_days_from_sunday(self.0.weekday().to_sunday_zero_offset() as u32)
    }

    fn resolve_civil(&self, civil: CivilDateTime) -> Result<Resolution<Self>, CronError> {
        let year = i16::try_from(civil.year()).map_err(|_| CronError::InvalidDate)?;
        let dt = jiff::civil::DateTime::new(
            year,
            civil.month() as i8,
            civil.day() as i8,
            civil.hour() as i8,
            civil.minute() as i8,
            civil.second() as i8,
            0,
        )
        .map_err(|_| CronError::InvalidDate)?;
        let ambiguous = self.0.time_zone().to_ambiguous_zoned_datetime(dt);
        Ok(match ambiguous.offset() {
            AmbiguousOffset::Unambiguous { .. } => Resolution::Single(Local(
                ambiguous
                    .unambiguous()
                    .map_err(|_| CronError::InvalidTime)?,
            )),
            AmbiguousOffset::Fold { .. } => {
                let earlier = ambiguous
                    .clone()
                    .earlier()
                    .map_err(|_| CronError::InvalidTime)?;
                let later = ambiguous.later().map_err(|_| CronError::InvalidTime)?;
                Resolution::Ambiguous(Local(earlier), Local(later))
            }
            AmbiguousOffset::Gap { .. } => Resolution::Gap,
        })
    }

    fn checked_add_seconds(&self, seconds: i64) -> Option<Self> {
        self.0
            .checked_add(SignedDuration::from_secs(seconds))
            .ok()
            .map(Local)
    }

    fn cmp_instant(&self, other: &Self) -> Ordering {
        self.0.timestamp().cmp(&other.0.timestamp())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().expect("a valid timestamp")
    }

    #[test]
    fn six_fields_have_seconds_first() {
        let every_two = CronSchedule::parse("*/2 * * * * *").expect("parses");
        let next = every_two.next_after_in(at("2026-01-01T00:00:01.500Z"), TimeZone::UTC);
        assert_eq!(next, Some(at("2026-01-01T00:00:02Z")));
        // Strictly after: a firing time is not returned again.
        let next = every_two.next_after_in(at("2026-01-01T00:00:02Z"), TimeZone::UTC);
        assert_eq!(next, Some(at("2026-01-01T00:00:04Z")));
    }

    #[test]
    fn five_fields_are_minutes() {
        let daily = CronSchedule::parse("30 4 * * *").expect("parses");
        let next = daily.next_after_in(at("2026-01-01T05:00:00Z"), TimeZone::UTC);
        assert_eq!(next, Some(at("2026-01-02T04:30:00Z")));
    }

    #[test]
    fn nicknames_work() {
        let hourly = CronSchedule::parse("@hourly").expect("parses");
        let next = hourly.next_after_in(at("2026-01-01T05:10:00Z"), TimeZone::UTC);
        assert_eq!(next, Some(at("2026-01-01T06:00:00Z")));
    }

    #[test]
    fn local_time_follows_the_zone() {
        let tz = TimeZone::fixed(jiff::tz::offset(1));
        let daily = CronSchedule::parse("0 3 * * *").expect("parses");
        // 03:00 at UTC+1 is 02:00 UTC.
        let next = daily.next_after_in(at("2026-01-10T12:00:00Z"), tz);
        assert_eq!(next, Some(at("2026-01-11T02:00:00Z")));
    }

    #[test]
    fn named_zones_are_found_and_unknown_ones_refused() {
        let paris = CronSchedule::zone(Some("Europe/Paris")).expect("Europe/Paris");
        let daily = CronSchedule::parse("0 3 * * *").expect("parses");
        // 03:00 in Paris in January (UTC+1) is 02:00 UTC.
        let next = daily.next_after_in(at("2026-01-10T12:00:00Z"), paris);
        assert_eq!(next, Some(at("2026-01-11T02:00:00Z")));
        let err = CronSchedule::zone(Some("Mars/Olympus")).expect_err("unknown");
        assert!(err.contains("unknown time zone"), "{err}");
    }

    #[test]
    fn bad_patterns_are_refused_with_the_pattern_named() {
        for bad in [
            "",
            "* * *",
            "61 * * * *",
            "* * * * * * 2030",
            "every day",
            "0 0 31 2 *",
            "59 23 31 12 +",
        ] {
            let err = CronSchedule::parse(bad).expect_err(bad);
            assert!(err.contains("invalid cron pattern"), "{err}");
        }
    }
}
