//! Cheap evidence of an out-of-memory kill: the kernel counts every OOM kill (global or in
//! a memory cgroup) in `/proc/vmstat`'s `oom_kill`. A run that ended by SIGKILL while that
//! counter grew was, very likely, killed for memory. Linux 4.13+; elsewhere `None`.

/// The kernel's OOM-kill counter, if the system exposes it.
pub fn kill_count() -> Option<u64> {
    // About 6 KiB; read whole (see `kernel_file`): it is read at every launch.
    let mut buf = [0u8; 32 * 1024];
    parse(crate::kernel_file::read("/proc/vmstat", &mut buf)?)
}

/// How old a count may be as a run's baseline ([`kill_count_recent`]).
const BASELINE_AGE: std::time::Duration = std::time::Duration::from_millis(100);

/// The count as of at most [`BASELINE_AGE`] ago: a run's baseline, taken at every launch.
/// The kernel sums every counter of `/proc/vmstat` for each read (tens of microseconds),
/// and 1,000 apps started from one file read it 1,000 times in about a second. An older
/// baseline can only make a SIGKILL look like an OOM kill when some other process was
/// OOM-killed in the 100 ms before the launch; the run's own OOM kill, after its launch, is
/// always counted.
pub fn kill_count_recent() -> Option<u64> {
    static LAST: std::sync::Mutex<Option<(std::time::Instant, u64)>> = std::sync::Mutex::new(None);
    let mut last = LAST.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((at, count)) = *last
        && at.elapsed() < BASELINE_AGE
    {
        return Some(count);
    }
    let count = kill_count()?;
    *last = Some((std::time::Instant::now(), count));
    Some(count)
}

/// The value of the `oom_kill` line.
fn parse(vmstat: &[u8]) -> Option<u64> {
    const KEY: &[u8] = b"oom_kill ";
    // At a line's start only (`..._oom_kill ` would not do).
    let at = if vmstat.starts_with(KEY) {
        0
    } else {
        memchr::memmem::find(vmstat, b"\noom_kill ")? + 1
    };
    let digits = &vmstat[at + KEY.len()..];
    let end = digits
        .iter()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(digits.len());
    std::str::from_utf8(&digits[..end]).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_the_counter() {
        assert_eq!(
            super::parse(b"pgfault 12\noom_kill 3\nnr_dirty 0\n"),
            Some(3)
        );
        assert_eq!(super::parse(b"oom_kill 7\n"), Some(7));
        assert_eq!(super::parse(b"x_oom_kill 5\noom_kill 2"), Some(2));
        assert_eq!(super::parse(b"pgfault 12\n"), None);
    }
}
