//! Restarts the job decides on its own (memory limit, watchdog, cron), the crash-loop bookkeeping
//! around them (stable period, unstable count) and the history sentences they leave.

use super::Job;
use super::exit::no_run;
use crate::policy::{self, Decision, ExitInfo, RestartHistory};
use crate::record::DesiredState;
use jiff::Timestamp;
use pmtui_proto::{ByteUnits, ExitRecord, ProcessStatus, format_bytes, now_ms};
use std::time::Duration;
use tokio::time::Instant;
impl Job {
    /// The sentence recorded with an engine or manual restart.
    pub(super) fn detail_of(&self, reason: &str) -> String {
        match reason {
            "manual" => "pmtui restart".into(),
            "cron" => format!(
                "scheduled restart (cron_restart {:?})",
                self.spec.cron_restart.as_deref().unwrap_or_default()
            ),
            "memory limit" => match self.spec.max_memory_restart {
                Some(limit) => format!(
                    "memory of the process tree above max_memory_restart ({})",
                    format_bytes(limit, ByteUnits::SHORT)
                ),
                None => "memory limit exceeded".into(),
            },
            "watch" => "a watched file changed".into(),
            other => other.to_string(),
        }
    }

    /// A restart for something wrong with a running process (`memory limit`, `watchdog`,
    /// `health check`) goes through the restart policy like a crash (whatever the mode: the
    /// process did not choose to exit): a run that failed within `min_uptime` is unstable,
    /// so a process that fails again at once backs off and ends `errored` as a crash loop
    /// instead of restarting on every sample, watchdog period or probe.
    pub(super) async fn restart_unwell(&mut self, reason: &'static str, detail: String) {
        if self.reload.is_some() {
            // The new run of a reload is unwell: the reload fails, the old run carries on.
            self.fail_reload(format!("{reason}: {detail}")).await;
            return;
        }
        let Some(running) = &self.running else {
            return;
        };
        let exit = ExitInfo {
            code: None,
            signal: None,
            uptime_ms: running.started.elapsed().as_millis() as u64,
        };
        let mut policy = self.spec.restart.clone();
        policy.mode = pmtui_proto::RestartMode::Always;
        policy.stop_exit_codes.clear();
        let now = now_ms();
        let decision = policy::decide(&policy, &exit, &self.history, now);
        self.history.note(&policy, &exit, &decision, now);
        match &decision {
            Decision::Restart { after_ms: 0, .. } => {
                self.stop(reason, detail, "restart").await;
                self.set_unstable(&policy);
                self.launch(true).await;
            }
            Decision::Restart { after_ms, .. } => {
                let after_ms = *after_ms;
                let why = format!("{detail}; restarting in {after_ms} ms");
                self.stop(reason, why.clone(), "restart").await;
                self.set_unstable(&policy);
                self.restart_at = Some(Instant::now() + Duration::from_millis(after_ms));
                let due = now_ms() + after_ms;
                self.shared.update(self.id, |e| {
                    e.info.status = ProcessStatus::WaitingRestart;
                    e.info.next_restart_at = Some(due);
                    e.info.status_reason = Some(why);
                    // The record `stop` just wrote: the restart is due later than at once.
                    if let Some(last) = e.history.back_mut() {
                        last.next_restart_at = Some(due);
                    }
                });
            }
            Decision::Stop { reason } | Decision::GiveUp { reason } => {
                let why = format!("{detail}; {reason}");
                self.stop("crash loop", why.clone(), "errored").await;
                self.set_unstable(&policy);
                self.shared.update(self.id, |e| {
                    e.info.status = ProcessStatus::Errored;
                    e.info.status_reason = Some(format!("crash loop: {why}"));
                });
            }
        }
    }

    pub(super) fn set_unstable(&self, policy: &pmtui_proto::RestartPolicy) {
        let unstable = self.history.unstable_count(policy, now_ms());
        self.shared
            .update(self.id, |e| e.info.unstable_restarts = unstable);
    }

    /// Records that a process that was not running (stopped, errored or waiting) is
    /// started again, so that "why is it running?" has an answer too.
    pub(super) fn record_revival(&self, reason: &str, detail: String) {
        let was = self.status().unwrap_or(ProcessStatus::Stopped);
        let now = now_ms();
        self.shared.record_exit(
            self.id,
            ExitRecord {
                reason: reason.to_string(),
                detail: format!("{detail} (was {was})"),
                outcome: "restart".into(),
                next_restart_at: Some(now),
                ..no_run(now)
            },
        );
    }

    /// The current run has been up for `stable_after`: the backoff and the crash-loop count
    /// start afresh.
    pub(super) fn on_stable(&mut self) {
        self.stable_at = None;
        if self.history != RestartHistory::default() {
            tracing::debug!(id = self.id, "stable: restart backoff reset");
            self.forget();
        }
    }

    /// Clears the backoff and the crash-loop count.
    pub(super) fn forget(&mut self) {
        self.history.reset();
        self.shared
            .update(self.id, |e| e.info.unstable_restarts = 0);
    }

    /// `cron_restart` fired: restart what runs; start what is stopped or errored only with
    /// `cron_revive`; leave a pending restart to its backoff.
    pub(super) async fn on_cron(&mut self) {
        let fired = self.cron_next.take().unwrap_or_else(Timestamp::now);
        let from = fired.max(Timestamp::now());
        self.cron_next = self.cron.as_ref().and_then(|c| c.next_after(from));
        self.abandon_reload("cron_restart").await;
        if self.running.is_some() {
            let detail = self.detail_of("cron");
            self.stop("cron", detail, "restart").await;
            self.launch(true).await;
        } else if self.restart_at.is_none() && self.spec.cron_revive {
            self.record_revival("cron", self.detail_of("cron"));
            self.forget();
            self.shared
                .update(self.id, |e| e.desired = DesiredState::Running);
            // A revival starts what was not running: not a restart, as in pm2.
            self.launch(false).await;
        }
    }
}
