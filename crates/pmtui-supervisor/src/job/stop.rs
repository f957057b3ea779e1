//! The stop sequence: the whole tree is ended (the stop signal to every member, SIGKILL
//! after `kill_timeout`, until nothing is left; see `contain`), then the run is recorded.

use super::exit::{STDERR_DRAIN, clear_run, exit_info, run_ended};
use super::{Job, Running};
use crate::contain;
use crate::probe::Phase;
use pmtui_proto::{ExitRecord, ProcessStatus, now_ms};

impl Job {
    /// Stops the child if one runs (and cancels a pending restart), recording why; the
    /// status ends `stopped` (the caller launches again for a restart). A reload under way
    /// ends first (its old run is stopped, its caller told why), whoever stops the run.
    pub(super) async fn stop(&mut self, reason: &str, detail: String, outcome: &str) {
        self.abandon_reload(&detail).await;
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
        let status = self.end_run(&mut running, true).await;
        if outcome != "restart" {
            if let Some(dir) = &running.cgroup {
                contain::cgroup::remove(dir);
            }
            self.notify = None;
        }
        let exit = exit_info(&status, running.started.elapsed());
        let stopped_by = format!("stopped ({detail})");
        let last_stderr = self.last_stderr(&mut running).await;
        let pid = running.pid;
        running.release(STDERR_DRAIN).await;
        let now = now_ms();
        let record = self.with_run(ExitRecord {
            reason: reason.to_string(),
            detail,
            outcome: outcome.to_string(),
            next_restart_at: (outcome == "restart").then_some(now),
            ..run_ended(now, pid, &exit, last_stderr)
        });
        self.shared.record_exit(self.id, record);
        self.write_pid_file(None);
        self.shared.update(self.id, |e| {
            e.info.status = ProcessStatus::Stopped;
            clear_run(e, &exit, &stopped_by);
            e.info.next_restart_at = None;
            e.info.status_reason = None;
        });
    }

    /// Ends one run's tree (the stop signal, SIGKILL after `kill_timeout`) and reaps it:
    /// with `whole_cgroup`, everything in the run's cgroup; without, only its own process
    /// group and descendants (during a reload both runs share the cgroup).
    pub(super) async fn end_run(
        &mut self,
        run: &mut Running,
        whole_cgroup: bool,
    ) -> std::io::Result<std::process::ExitStatus> {
        let cgroup = run.cgroup.clone().filter(|_| whole_cgroup);
        let mut tree = self.tree_of(run.pid, cgroup.as_deref());
        let status = contain::end(
            &mut tree,
            self.stop_signal(),
            self.kill_timeout(),
            Some(&mut run.child),
        )
        .await;
        let status = match status {
            Some(status) => status,
            None => run.child.wait().await,
        };
        self.shared.managed.remove(run.pid);
        status
    }
}
