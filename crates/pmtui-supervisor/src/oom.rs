//! Cheap evidence of an out-of-memory kill: the kernel counts every OOM kill (global or in
//! a memory cgroup) in `/proc/vmstat`'s `oom_kill`. A run that ended by SIGKILL while that
//! counter grew was, very likely, killed for memory. Linux 4.13+; elsewhere `None`.

/// The kernel's OOM-kill counter, if the system exposes it.
pub fn kill_count() -> Option<u64> {
    let vmstat = std::fs::read_to_string("/proc/vmstat").ok()?;
    parse(&vmstat)
}

fn parse(vmstat: &str) -> Option<u64> {
    vmstat
        .lines()
        .find_map(|line| line.strip_prefix("oom_kill "))
        .and_then(|n| n.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_the_counter() {
        assert_eq!(
            super::parse("pgfault 12\noom_kill 3\nnr_dirty 0\n"),
            Some(3)
        );
        assert_eq!(super::parse("pgfault 12\n"), None);
    }
}
