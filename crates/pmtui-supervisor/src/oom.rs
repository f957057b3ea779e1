//! Cheap evidence of an out-of-memory kill: the kernel counts every OOM kill (global or in
//! a memory cgroup) in `/proc/vmstat`'s `oom_kill`. A run that ended by SIGKILL while that
//! counter grew was, very likely, killed for memory. Linux 4.13+; elsewhere `None`.

/// The kernel's OOM-kill counter, if the system exposes it.
pub fn kill_count() -> Option<u64> {
    // About 6 KiB; read whole (see `kernel_file`): it is read at every launch.
    let mut buf = [0u8; 32 * 1024];
    parse(crate::kernel_file::read("/proc/vmstat", &mut buf)?)
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
