//! Recovery after a crash of the daemon: ending what an earlier daemon of the same state
//! directory left running, before anything is started again (so nothing runs twice).
//!
//! Each process's tree is ended with its own `stop_signal` and `kill_timeout`, all of them
//! at once, and SIGKILL is repeated until nothing of the old tree is left (see `contain`).
//! Its members are the processes in its cgroup (which outlive the daemon; exact), and,
//! whatever the mode, the recorded main process (only when its start time matches, never
//! by name), its process group, everything carrying its marker, and their descendants.
//!
//! In two passes: the cgroups first, then a scan of `/proc` for what is left outside them
//! (an earlier daemon in group mode, a process that left its cgroup). After the first pass
//! the second usually finds nothing. Both at once made every app two trees to watch (its
//! cgroup, and a scan for the same processes), each polled until empty: with 1,000 apps
//! that polling alone kept the daemon's thread busy for seconds.

use super::Supervisor;
use crate::contain::{self, ScanShare, ScanTree, Tree};
use crate::record::ProcessRecord;
use crate::tree;
use nix::sys::signal::Signal;
use pmtui_proto::ProcessId;
use pmtui_proto::spec::DEFAULT_KILL_TIMEOUT_MS;
use std::time::Duration;

impl Supervisor {
    /// Ends what an earlier daemon of this state directory left running. Returns how many
    /// trees (processes' leftovers) were found.
    pub async fn end_leftovers(&self, records: &[ProcessRecord]) -> usize {
        let how = |id: ProcessId| {
            records.iter().find(|r| r.id == id).map_or(
                (
                    Signal::SIGTERM,
                    Duration::from_millis(DEFAULT_KILL_TIMEOUT_MS),
                ),
                |r| {
                    (
                        tree::parse_signal(&r.spec.stop_signal).unwrap_or(Signal::SIGTERM),
                        Duration::from_millis(r.spec.kill_timeout_ms),
                    )
                },
            )
        };
        let mut cgroup_trees: Vec<(ProcessId, Tree)> = Vec::new();
        if let Some(cgroups) = &self.shared.containment.cgroups {
            for (id, dir) in cgroups.leaves() {
                if contain::cgroup::populated(&dir) {
                    let kill_file = cgroups.kill_file;
                    cgroup_trees.push((id, Tree::Cgroup { dir, kill_file }));
                } else {
                    // An empty cgroup of an earlier daemon that ended without tidying up.
                    contain::cgroup::remove(&dir);
                }
            }
        }
        let mut count = end_all(cgroup_trees, &how).await;
        // Processes outside any cgroup of ours (an earlier daemon in group mode, or one that
        // ran before this one's cgroup existed), and what left its cgroup.
        let mut ids: Vec<ProcessId> = records.iter().map(|r| r.id).collect();
        ids.extend(self.marked_ids());
        ids.sort_unstable();
        ids.dedup();
        let mut scan_trees: Vec<(ProcessId, Tree)> = Vec::new();
        let mut share = ScanShare::new();
        for id in ids {
            share.keep();
            let main = records
                .iter()
                .find(|r| r.id == id)
                .and_then(|r| Some((r.pid?, r.pid_start_time?)));
            let mut scan = ScanTree::new(main, self.shared.config.marker(id));
            if scan.found_any() {
                scan_trees.push((id, Tree::Scan(scan)));
            }
        }
        count += end_all(scan_trees, &how).await;
        count
    }

    /// The ids in the markers of this state directory found on running processes (of
    /// processes that may have been deleted since).
    fn marked_ids(&self) -> Vec<ProcessId> {
        let prefix = format!("{}-", self.shared.config.home_key());
        let me = std::process::id();
        let table: Vec<_> = tree::scan().into_iter().filter(|e| e.pid != me).collect();
        tree::find_marked(&table, &prefix)
            .into_iter()
            .filter_map(|(_, marker)| marker.strip_prefix(&prefix)?.parse().ok())
            .collect()
    }
}

/// Ends `trees` at once, each with its process's signal and timeout; how many there were.
async fn end_all(
    trees: Vec<(ProcessId, Tree)>,
    how: &impl Fn(ProcessId) -> (Signal, Duration),
) -> usize {
    let count = trees.len();
    if count == 0 {
        return 0;
    }
    tracing::info!(count, "ending processes left by an earlier daemon");
    let mut tasks = tokio::task::JoinSet::new();
    for (id, mut tree) in trees {
        let (signal, timeout) = how(id);
        tasks.spawn(async move {
            tracing::info!(id, tree = %tree.describe(), ?signal, "ending a leftover tree");
            contain::end(&mut tree, signal, timeout, None).await;
            if let Tree::Cgroup { dir, .. } = &tree {
                contain::cgroup::remove(dir);
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    count
}
