//! A child's exit: what it left running is ended (before anything is started again, so
//! a crash loop cannot pile up escapees), its cause (code, signal, OOM kill), the restart
//! policy's decision, and the history record with its last stderr lines (read after an
//! immediate restart is under way, in a task of their own: neither the next run nor the
//! job's commands wait for them).

use super::{Job, Running};
use crate::policy::{Decision, ExitInfo};
use crate::probe::Phase;
use crate::record::DesiredState;
use crate::supervisor::Entry;
use crate::{contain, oom, policy};
use nix::sys::signal::Signal;
use pmtui_proto::{ExitRecord, ProcessStatus, now_ms};
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;
/// How long an exit waits for the stderr pump to read what the child wrote last, when a
/// descendant keeps the pipe open.
pub(super) const STDERR_DRAIN: Duration = Duration::from_millis(200);

impl Job {
    /// The child exited on its own.
    pub(super) async fn on_exit(&mut self, status: std::io::Result<ExitStatus>) {
        if pmtui_proto::faults::fire("job-panic-on-exit", &self.spec.name) {
            panic!("injected fault: job-panic-on-exit");
        }
        if self.new_run_exited(&status).await {
            return;
        }
        let Some((mut running, exit, left_empty)) = self.take_ended_run(&status).await else {
            return;
        };
        // A delayed restart counts its delay from here, not from after the wait for the
        // dead run's last stderr lines below.
        let ended = Instant::now();
        let oom = exit.signal == Some(Signal::SIGKILL as i32)
            && matches!((running.oom_kills, oom::kill_count()), (Some(a), Some(b)) if b > a);
        let (cause, what) = exit_cause(&exit, oom);
        let now = now_ms();
        let policy = &self.spec.restart;
        let decision = policy::decide(policy, &exit, &self.history, now);
        self.history.note(policy, &exit, &decision, now);
        // A run started by a watched change that fails at once waits for the next change.
        let parked = matches!(decision, Decision::Restart { .. })
            && self.failed_after_change(exit.uptime_ms);
        let (reason, detail, outcome, next_restart_at) = match &decision {
            _ if parked => (
                cause,
                format!("{what}; right after a watched change: waiting for the next change"),
                "errored",
                None,
            ),
            Decision::Restart { after_ms, .. } => {
                (cause, what.clone(), "restart", Some(now + after_ms))
            }
            Decision::Stop { reason } => (cause, format!("{what}; {reason}"), "stopped", None),
            Decision::GiveUp { reason } => {
                ("crash loop", format!("{what}; {reason}"), "errored", None)
            }
        };
        let mut record = ExitRecord {
            reason: reason.into(),
            detail: detail.clone(),
            outcome: outcome.into(),
            next_restart_at,
            ..run_ended(now, running.pid, &exit, Vec::new())
        };
        let restart_now = !parked && matches!(decision, Decision::Restart { after_ms: 0, .. });
        // A run started at once replaces the pid file (or `launch_failed` removes it).
        if !restart_now {
            record.last_stderr = self.last_stderr(&mut running).await;
            self.shared.record_exit(self.id, record.clone());
            self.write_pid_file(None);
        }
        let unstable = self.history.unstable_count(policy, now);
        self.shared.update(self.id, |e| {
            clear_run(e, &exit, &what);
            e.info.unstable_restarts = unstable;
        });
        // A cgroup is kept for the next run; one that will not come soon is removed (it is
        // empty now).
        if (parked || !matches!(decision, Decision::Restart { .. }))
            && let Some(dir) = &running.cgroup
        {
            contain::cgroup::remove(dir);
        }
        // The sd_notify socket is kept only for a run that starts now: one left without a
        // reader for a while would fill, and block an app's leftover that still writes.
        if !restart_now {
            self.notify = None;
        }
        match decision {
            _ if parked => self.park_after_change(&what),
            Decision::Restart { after_ms: 0, .. } => {
                // Restart first: the exit goes in the history (and its events out) now,
                // the next run starts, and the record gets the dead run's last stderr
                // lines once they are read.
                self.shared.record_exit_early(self.id, &record);
                // The dead run's readers end first: the next run may read the same
                // sd_notify socket.
                drop(std::mem::take(&mut running.readers));
                self.cgroup_found_empty = left_empty;
                self.launch(true).await;
                // In a task of its own: the job answers commands meanwhile (a descendant
                // that keeps the pipe open would hold it up to the drain's bound).
                let shared = Arc::clone(&self.shared);
                let (id, drain) = (self.id, self.stderr_drain());
                let (pump, tail) = (running.err_pump.take(), Arc::clone(&running.err_tail));
                tokio::spawn(async move {
                    record.last_stderr = drained_tail(pump, &tail, drain).await;
                    shared.complete_exit(id, record);
                });
            }
            Decision::Restart { after_ms, .. } => {
                self.restart_at = Some(ended + Duration::from_millis(after_ms));
                self.shared.update(self.id, |e| {
                    e.info.status = ProcessStatus::WaitingRestart;
                    e.info.next_restart_at = next_restart_at;
                    e.info.status_reason = Some(format!("{detail}; restarting in {after_ms} ms"));
                });
            }
            Decision::Stop { .. } => self.shared.update(self.id, |e| {
                e.info.status = ProcessStatus::Stopped;
                e.info.status_reason = Some(detail);
                e.desired = DesiredState::Stopped;
            }),
            Decision::GiveUp { .. } => self.shared.update(self.id, |e| {
                e.info.status = ProcessStatus::Errored;
                e.info.status_reason = Some(format!("crash loop: {detail}"));
            }),
        }
    }

    /// The run that exited on its own, taken from the job with its timers and readiness,
    /// once what it left is ended (`None` when nothing ran); with whether its cgroup was
    /// found empty.
    pub(super) async fn take_ended_run(
        &mut self,
        status: &std::io::Result<ExitStatus>,
    ) -> Option<(Running, ExitInfo, bool)> {
        let running = self.running.take()?;
        self.stable_at = None;
        self.end_readiness();
        self.shared.managed.remove(running.pid);
        let exit = exit_info(status, running.started.elapsed());
        let left_empty = self.end_what_it_left(&running).await;
        Some((running, exit, left_empty))
    }

    /// What the run left (descendants, double-forked escapees) goes with it, as systemd
    /// does: the stop signal, SIGKILL after `kill_timeout`, until nothing is left. The row
    /// says `stopping` meanwhile; when nothing is left this costs one look. True when that
    /// look found the run's cgroup empty.
    pub(super) async fn end_what_it_left(&self, running: &Running) -> bool {
        if !self.spec.treekill {
            return false;
        }
        let mut tree = self.tree_of(running.pid, running.cgroup.as_deref());
        if tree.is_empty() {
            return matches!(tree, contain::Tree::Cgroup { .. });
        }
        self.shared
            .update(self.id, |e| e.info.status = ProcessStatus::Stopping);
        tracing::info!(id = self.id, tree = %tree.describe(), "ending what the exited run left");
        contain::end(&mut tree, self.stop_signal(), self.kill_timeout(), None).await;
        false
    }

    /// The last stderr lines of this run, once the pump has read what the child wrote last
    /// (bounded: a descendant may hold the pipe open). The pump keeps them as it reads, so
    /// they are this run's alone even when the next run already writes.
    pub(super) async fn last_stderr(&self, running: &mut Running) -> Vec<String> {
        drained_tail(
            running.err_pump.as_mut(),
            &running.err_tail,
            self.stderr_drain(),
        )
        .await
    }

    /// How long an exit waits for the stderr pump. A debug build's
    /// `PMTUI_FAULTS=slow-stderr-drain:<name>` makes it minutes, once (so a test can tell
    /// whether anything else waits for it).
    fn stderr_drain(&self) -> Duration {
        if pmtui_proto::faults::fire("slow-stderr-drain", &self.spec.name) {
            return Duration::from_secs(300);
        }
        STDERR_DRAIN
    }
}

/// The stderr tail once its pump has read to the end, or after `drain` at most.
async fn drained_tail<P: std::future::Future>(
    pump: Option<P>,
    tail: &crate::logs::Tail,
    drain: Duration,
) -> Vec<String> {
    if let Some(pump) = pump {
        let _ = tokio::time::timeout(drain, pump).await;
    }
    tail.lines()
}

pub(super) fn exit_info(status: &std::io::Result<ExitStatus>, uptime: Duration) -> ExitInfo {
    let (code, signal) = match status {
        Ok(s) => (s.code(), s.signal()),
        Err(_) => (None, None),
    };
    ExitInfo {
        code,
        signal,
        uptime_ms: uptime.as_millis() as u64,
    }
}

/// The kind of an exit (`exit code`, `signal`, `out of memory`) and a sentence for it.
pub(super) fn exit_cause(exit: &ExitInfo, oom: bool) -> (&'static str, String) {
    match (exit.code, exit.signal.and_then(signal_name)) {
        (_, Some(sig)) if oom => (
            "out of memory",
            format!("killed by {sig} while the kernel's OOM killer ran"),
        ),
        (_, Some(sig)) => ("signal", format!("killed by {sig}")),
        (Some(code), None) => ("exit code", format!("exited with code {code}")),
        (None, None) => ("exit code", "exited".into()),
    }
}

/// What a row says once its run is over, whichever way it ended: no pid, nothing used (the
/// next sample would say so up to a second late), how it exited, and the run's readiness
/// ended for `why` (what waiters are told).
pub(super) fn clear_run(entry: &mut Entry, exit: &ExitInfo, why: &str) {
    entry.set_phase(Phase::Ended(why.to_string()));
    let info = &mut entry.info;
    info.pid = None;
    info.cpu = 0.0;
    info.memory = 0;
    info.exit_code = exit.code;
    info.exit_signal = exit.signal.and_then(signal_name);
}

pub(super) fn signal_name(signal: i32) -> Option<String> {
    Signal::try_from(signal)
        .ok()
        .map(|s| s.as_str().to_string())
}

/// The part of a history record that describes a run that ended at `at`: its pid, how it
/// ended and what it wrote last. The caller adds why and what happens next.
pub(super) fn run_ended(
    at: u64,
    pid: u32,
    exit: &ExitInfo,
    last_stderr: Vec<String>,
) -> ExitRecord {
    ExitRecord {
        at,
        pid,
        exit_code: exit.code,
        exit_signal: exit.signal.and_then(signal_name),
        uptime_ms: exit.uptime_ms,
        reason: String::new(),
        detail: String::new(),
        outcome: String::new(),
        next_restart_at: None,
        last_stderr,
        trigger: None,
        started_at: None,
    }
}

/// The part of a history record at `at` when nothing was running (pid 0): a failed spawn,
/// a stopped process started again.
pub(super) fn no_run(at: u64) -> ExitRecord {
    run_ended(
        at,
        0,
        &ExitInfo {
            code: None,
            signal: None,
            uptime_ms: 0,
        },
        Vec::new(),
    )
}
