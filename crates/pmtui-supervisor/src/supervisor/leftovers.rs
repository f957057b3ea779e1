//! Recovery after a crash of the daemon: ending what an earlier daemon of the same state
//! directory left running.

use super::Supervisor;
use crate::record::ProcessRecord;
use crate::tree;

impl Supervisor {
    /// Ends what an earlier daemon of this state directory left running: the recorded pids
    /// (only when their start time matches, never by name) and anything carrying a marker
    /// of this state directory. Returns how many processes were signalled.
    pub async fn end_leftovers(&self, records: &[ProcessRecord]) -> usize {
        let table = tree::scan();
        let mut pids: Vec<u32> = Vec::new();
        for r in records {
            if let (Some(pid), Some(start)) = (r.pid, r.pid_start_time)
                && table.iter().any(|e| e.pid == pid && e.start_time == start)
            {
                pids.push(pid);
                pids.extend(tree::descendants(&table, &[pid]));
            }
        }
        let prefix = format!("{}-", self.shared.config.home_key());
        let me = std::process::id();
        pids.extend(
            tree::find_marked(&table, &prefix)
                .into_iter()
                .map(|(pid, _)| pid)
                .filter(|p| *p != me),
        );
        pids.sort_unstable();
        pids.dedup();
        if pids.is_empty() {
            return 0;
        }
        tracing::info!(
            count = pids.len(),
            "ending processes left by an earlier daemon"
        );
        for pid in &pids {
            tree::signal_pid(*pid, nix::sys::signal::Signal::SIGTERM);
        }
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_millis(1600);
        while tokio::time::Instant::now() < deadline && !pids.iter().all(|p| tree::is_dead(*p)) {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        for pid in &pids {
            if !tree::is_dead(*pid) {
                tree::signal_pid(*pid, nix::sys::signal::Signal::SIGKILL);
            }
        }
        pids.len()
    }
}
