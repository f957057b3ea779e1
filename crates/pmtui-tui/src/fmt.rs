//! Human forms of the model's numbers: durations, sizes, percentages, status symbols.

use pmtui_proto::ProcessStatus;

/// A symbol per status so that the table reads without colour.
pub fn symbol(status: ProcessStatus) -> &'static str {
    match status {
        ProcessStatus::Online => "●",
        ProcessStatus::Suspended => "‖",
        ProcessStatus::Launching => "◐",
        ProcessStatus::Stopping => "◑",
        ProcessStatus::Stopped => "○",
        ProcessStatus::WaitingRestart => "↻",
        ProcessStatus::Errored => "✖",
        ProcessStatus::Scheduled => "◷",
    }
}

/// How far a process is from healthy and ready, as a word for the UI: the probe's verdict
/// (`healthy`, `starting`, `unhealthy`), else `not ready` for a run still waiting for its
/// signal or past `listen_timeout`; `None` when there is nothing to say.
pub fn health_word(p: &pmtui_proto::ProcessInfo) -> Option<&'static str> {
    use pmtui_proto::Readiness;
    match (p.health, p.readiness) {
        (Some(health), _) => Some(health.as_str()),
        (None, Some(Readiness::Pending | Readiness::Timeout)) => Some("not ready"),
        _ => None,
    }
}

/// `1234567` ms → `20m 34s`: two units at most.
pub fn duration(ms: u64) -> String {
    let s = ms / 1000;
    let (d, h, m, s) = (s / 86_400, s / 3600 % 24, s / 60 % 60, s % 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, _) => format!("{m}m {s:02}s"),
        (0, _, _) => format!("{h}h {m:02}m"),
        _ => format!("{d}d {h:02}h"),
    }
}

/// Bytes → `12.3 MB` (binary units, as `ps` and pm2 count them).
pub fn bytes(n: u64) -> String {
    pmtui_proto::format_bytes(n, pmtui_proto::ByteUnits::SHORT)
}

pub fn percent(cpu: f64) -> String {
    format!("{cpu:.1}%")
}

/// How long ago `at` was, seen from `now` (both ms since the epoch).
pub fn ago(now: u64, at: u64) -> String {
    format!("{} ago", duration(now.saturating_sub(at)))
}

/// `ms` since the epoch as a wall-clock time in `tz`, in strftime `format`.
pub fn time(ms: u64, tz: &jiff::tz::TimeZone, format: &str) -> String {
    jiff::Timestamp::from_millisecond(ms as i64)
        .map(|t| t.to_zoned_datetime(tz.clone()).strftime(format).to_string())
        .unwrap_or_else(|_| ms.to_string())
}

/// When a task runs next, short: the time of day within a day (`14:05`), else the date
/// (`Dec 25`).
pub fn next_time(now: u64, at: u64, tz: &jiff::tz::TimeZone) -> String {
    let format = if at.saturating_sub(now) < 86_400_000 {
        "%H:%M"
    } else {
        "%b %-d"
    };
    time(at, tz, format)
}

/// Cuts `text` to `width` characters, ending with `…` when cut.
pub fn clip(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let mut out: String = text.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_use_two_units() {
        assert_eq!(duration(5_000), "5s");
        assert_eq!(duration(65_000), "1m 05s");
        assert_eq!(duration(3_725_000), "1h 02m");
        assert_eq!(duration(90_000_000), "1d 01h");
    }

    #[test]
    fn sizes_are_binary() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(1536), "1.5 KB");
        assert_eq!(bytes(30 * 1024 * 1024), "30.0 MB");
    }

    #[test]
    fn times_follow_the_zone() {
        let utc = jiff::tz::TimeZone::UTC;
        assert_eq!(
            time(1_800_000_000_000, &utc, "%Y%m%d-%H%M%S"),
            "20270115-080000"
        );
    }

    #[test]
    fn clip_marks_the_cut() {
        assert_eq!(clip("abcdef", 4), "abc…");
        assert_eq!(clip("abc", 4), "abc");
    }
}
