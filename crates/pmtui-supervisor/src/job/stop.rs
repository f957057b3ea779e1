//! The stop sequence: the stop signal to the process group and every descendant (also
//! those that left the group), then SIGKILL after `kill_timeout`.

use super::Job;
use super::exit::{clear_run, exit_info, run_ended};
use crate::probe::Phase;
use crate::tree;
use nix::sys::signal::Signal;
use pmtui_proto::{ExitRecord, ProcessStatus, now_ms};
use std::time::Duration;
use tokio::time::Instant;
impl Job {
    /// Stops the child if one runs (and cancels a pending restart), recording why; the
    /// status ends `stopped` (the caller launches again for a restart).
    pub(super) async fn stop(&mut self, reason: &str, detail: String, outcome: &str) {
        self.restart_at = None;
        self.stable_at = None;
        self.end_readiness();
        let Some(mut running) = self.running.take() else {
            self.shared.update(self.id, |e| {
                if e.phase() == Phase::Idle {
                    // Waiters for a first run that will not come now.
                    e.set_phase(Phase::Ended(format!("stopped ({detail})")));
                }
                if e.info.status != ProcessStatus::Stopped {
                    e.info.status = ProcessStatus::Stopped;
                    e.info.next_restart_at = None;
                    e.info.status_reason = None;
                }
            });
            return;
        };
        self.shared
            .update(self.id, |e| e.info.status = ProcessStatus::Stopping);
        let signal = tree::parse_signal(&self.spec.stop_signal).unwrap_or(Signal::SIGTERM);
        let mut members = self.members(running.pid);
        for sig in [signal, Signal::SIGCONT] {
            // SIGCONT after the stop signal (as systemd does): a suspended process acts on
            // the signal now instead of waiting for SIGKILL.
            tree::signal_group(running.pid, sig);
            for pid in &members {
                tree::signal_pid(*pid, sig);
            }
        }
        let deadline = Instant::now() + Duration::from_millis(self.spec.kill_timeout_ms);
        let status = match tokio::time::timeout_at(deadline, running.child.wait()).await {
            Ok(status) => status,
            Err(_) => {
                members.extend(self.members(running.pid));
                self.kill_all(running.pid, &members);
                running.child.wait().await
            }
        };
        self.shared.managed.remove(running.pid);
        // Descendants that outlive the main process get the rest of the grace period.
        while Instant::now() < deadline && !members.iter().all(|p| tree::is_dead(*p)) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        members.extend(self.members(running.pid));
        self.kill_all(running.pid, &members);
        let exit = exit_info(&status, running.started.elapsed());
        let stopped_by = format!("stopped ({detail})");
        let last_stderr = self.last_stderr(&mut running).await;
        let now = now_ms();
        self.shared.record_exit(
            self.id,
            ExitRecord {
                reason: reason.to_string(),
                detail,
                outcome: outcome.to_string(),
                next_restart_at: (outcome == "restart").then_some(now),
                ..run_ended(now, running.pid, &exit, last_stderr)
            },
        );
        self.write_pid_file(None);
        self.shared.update(self.id, |e| {
            e.info.status = ProcessStatus::Stopped;
            clear_run(e, &exit, &stopped_by);
            e.info.next_restart_at = None;
            e.info.status_reason = None;
        });
    }

    pub(super) fn kill_all(&self, pgid: u32, members: &[u32]) {
        tree::signal_group(pgid, Signal::SIGKILL);
        for pid in members {
            if !tree::is_dead(*pid) {
                tree::signal_pid(*pid, Signal::SIGKILL);
            }
        }
    }

    /// Every live process that belongs to this job besides the main one: its descendants,
    /// and orphans re-parented to the daemon that carry this job's marker (with theirs).
    pub(super) fn members(&self, main: u32) -> Vec<u32> {
        let me = std::process::id();
        let marker = self.shared.config.marker(self.id);
        if tree::children_files() {
            // Only the daemon's children and this job's tree are read, not all of /proc:
            // a full scan per stopped process made `stop all` quadratic in the host's
            // process count.
            let mut roots = vec![main];
            roots.extend(tree::children_of(me).into_iter().filter(|pid| {
                *pid != main
                    && !self.shared.managed.contains(*pid)
                    && tree::marker_of(*pid).as_deref() == Some(marker.as_str())
            }));
            let mut members = tree::descendants_of(&roots);
            members.extend(roots.into_iter().filter(|p| *p != main));
            return members;
        }
        let table = tree::scan();
        let mut roots = vec![main];
        roots.extend(
            table
                .iter()
                .filter(|e| e.ppid == me && e.pid != main && !self.shared.managed.contains(e.pid))
                .filter(|e| tree::marker_of(e.pid).as_deref() == Some(marker.as_str()))
                .map(|e| e.pid),
        );
        let mut members = tree::descendants(&table, &roots);
        members.extend(roots.into_iter().filter(|p| *p != main));
        members
    }
}
