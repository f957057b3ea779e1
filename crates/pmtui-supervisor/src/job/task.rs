//! Tasks: an app with a `schedule` runs to its exit at each firing and is `scheduled`
//! between runs. This module owns the task's timers (next firing, the run's `timeout`),
//! what a firing does while a run is going (`overlap`), retries of failed runs (after the
//! app's backoff) and the history record of every run (trigger, start, duration, how it
//! ended). An exit 0 is never restarted.

use super::Job;
use super::exit::{clear_run, exit_cause, run_ended};
use crate::cron::CronSchedule;
use crate::policy::{self, Decision, ExitInfo};
use crate::record::DesiredState;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use pmtui_proto::{ExitRecord, Overlap, ProcessStatus, RestartMode, now_ms};
use std::time::Duration;
use tokio::time::Instant;

/// What the job knows of its task.
pub(super) struct TaskState {
    schedule: CronSchedule,
    zone: TimeZone,
    /// The next firing (wall clock); kept while the task is stopped, but only fired while
    /// it is `active`.
    next: Option<Timestamp>,
    /// Started (`scheduled`): firings run it. A stopped task only runs on `pmtui run`.
    pub(super) active: bool,
    /// What started the current run (`schedule`, `manual`, `retry`).
    trigger: &'static str,
    /// When the current run started (ms since the epoch).
    run_started: u64,
    /// Retries done since the run that began the chain.
    attempt: u32,
    /// A firing came while a run was going (`overlap: queue`): what starts the next run.
    queued: Option<&'static str>,
    /// When the current run is stopped for taking too long (`timeout`).
    timeout_at: Option<Instant>,
}

impl TaskState {
    /// The task state of `spec`, or `None` for an app without a (valid) schedule.
    pub(super) fn of(spec: &pmtui_proto::ProcessSpec, id: u32) -> Option<Self> {
        let pattern = spec.schedule.as_deref().filter(|p| !p.trim().is_empty())?;
        let parsed = CronSchedule::parse(pattern)
            .and_then(|s| Ok((s, CronSchedule::zone(spec.timezone.as_deref())?)));
        match parsed {
            Ok((schedule, zone)) => {
                let next = schedule.next_after_in(Timestamp::now(), zone.clone());
                Some(Self {
                    schedule,
                    zone,
                    next,
                    active: false,
                    trigger: "schedule",
                    run_started: 0,
                    attempt: 0,
                    queued: None,
                    timeout_at: None,
                })
            }
            Err(err) => {
                // `validate` refuses bad patterns and zones; a definition from an older daemon.
                tracing::warn!(id, %err, "schedule ignored");
                None
            }
        }
    }

    /// When the schedule fires next, if the task is active.
    pub(super) fn fire_at(&self) -> Option<Timestamp> {
        self.next.filter(|_| self.active)
    }

    pub(super) fn timeout_at(&self) -> Option<Instant> {
        self.timeout_at
    }
}

/// How a run ended, for `last_result`: `ok`, `exit 3`, `SIGKILL`, `timeout`.
fn result_of(exit: &ExitInfo, reason: &str) -> String {
    if reason == "timeout" {
        return "timeout".into();
    }
    match (exit.code, exit.signal.and_then(super::exit::signal_name)) {
        (_, Some(sig)) => sig,
        (Some(0), None) => "ok".into(),
        (Some(code), None) => format!("exit {code}"),
        (None, None) => "ended".into(),
    }
}

impl Job {
    fn task_ms(ms: u64) -> Duration {
        Duration::from_millis(ms)
    }

    /// The fields of a history record that belong to the current task run.
    pub(super) fn with_run(&self, mut record: ExitRecord) -> ExitRecord {
        if let Some(task) = &self.task
            && record.pid != 0
        {
            record.trigger = Some(task.trigger.to_string());
            record.started_at = Some(task.run_started);
        }
        record
    }

    /// `start`: the task is scheduled again (nothing runs now).
    pub(super) fn activate_task(&mut self) {
        let Some(task) = &mut self.task else {
            return;
        };
        task.active = true;
        if task.next.is_none_or(|n| n <= Timestamp::now()) {
            task.next = task
                .schedule
                .next_after_in(Timestamp::now(), task.zone.clone());
        }
        let next = task.next.map(|t| t.as_millisecond().max(0) as u64);
        let running = self.running.is_some();
        self.shared.update(self.id, |e| {
            e.desired = DesiredState::Running;
            e.info.next_run_at = next;
            if !running {
                e.info.status = ProcessStatus::Scheduled;
                e.info.status_reason = None;
            }
        });
    }

    /// `stop`: no more firings until `start`; the run, if any, was stopped by the caller.
    pub(super) fn deactivate_task(&mut self) {
        if let Some(task) = &mut self.task {
            task.active = false;
            task.queued = None;
            task.timeout_at = None;
            self.shared.update(self.id, |e| e.info.next_run_at = None);
        }
    }

    /// Runs the task now for `trigger`; a new chain (not a retry) forgets earlier failures.
    pub(super) async fn launch_task(&mut self, trigger: &'static str) {
        if let Some(task) = &mut self.task {
            if trigger != "retry" {
                task.attempt = 0;
            }
            task.trigger = trigger;
            task.run_started = now_ms();
            task.timeout_at = None;
        }
        if trigger != "retry" {
            self.history.reset();
        }
        self.restart_at = None;
        self.launch(false).await;
        let timeout = self.spec.timeout_ms;
        let running = self.running.is_some();
        if let Some(task) = &mut self.task
            && running
        {
            task.timeout_at = timeout.map(|ms| Instant::now() + Self::task_ms(ms));
        }
    }

    /// The schedule fired: run, or what `overlap` says while a run (or a retry) is pending.
    pub(super) async fn on_fire(&mut self) {
        let Some(task) = &mut self.task else {
            return;
        };
        let fired = task.next.take().unwrap_or_else(Timestamp::now);
        let from = fired.max(Timestamp::now());
        task.next = task.schedule.next_after_in(from, task.zone.clone());
        let next = task.next.map(|t| t.as_millisecond().max(0) as u64);
        self.shared.update(self.id, |e| e.info.next_run_at = next);
        self.start_run("schedule").await;
    }

    /// A run asked for (`schedule` or `manual`): now, or per `overlap` if one is going.
    pub(super) async fn start_run(&mut self, trigger: &'static str) {
        let busy = self.running.is_some() || self.restart_at.is_some();
        if !busy {
            self.launch_task(trigger).await;
            return;
        }
        match self.spec.overlap {
            Overlap::Skip => {
                tracing::info!(
                    id = self.id,
                    name = %self.spec.name,
                    trigger,
                    "task run skipped: the previous run is still going (overlap: skip)"
                );
            }
            Overlap::Queue => {
                if let Some(task) = &mut self.task {
                    task.queued.get_or_insert(trigger);
                }
            }
            Overlap::Replace => {
                let outcome = "restart";
                if self.running.is_some() {
                    let detail = format!("replaced by a new run ({trigger})");
                    self.stop("replaced", detail, outcome).await;
                    self.note_result("replaced".into());
                }
                self.launch_task(trigger).await;
            }
        }
    }

    /// The current run took longer than `timeout`: its tree is stopped, the run recorded as
    /// timed out (a failure: retries apply).
    pub(super) async fn on_task_timeout(&mut self) {
        let Some(task) = &mut self.task else {
            return;
        };
        task.timeout_at = None;
        if self.running.is_none() {
            return;
        }
        let limit = self.spec.timeout_ms.unwrap_or(0);
        let detail = format!("run killed: it took longer than its timeout ({limit} ms)");
        let next = self.after_failure_plan();
        self.stop("timeout", detail, next.outcome()).await;
        self.note_result("timeout".into());
        self.after_run(next).await;
    }

    /// The run exited on its own.
    pub(super) async fn on_task_exit(&mut self, status: std::io::Result<std::process::ExitStatus>) {
        let Some((mut running, exit, _)) = self.take_ended_run(&status).await else {
            return;
        };
        if let Some(task) = &mut self.task {
            task.timeout_at = None;
        }
        let clean = exit.is_clean();
        let last_stderr = if clean {
            Vec::new()
        } else {
            self.last_stderr(&mut running).await
        };
        let (cause, what) = exit_cause(&exit, false);
        let next = if clean {
            Next::Done
        } else {
            self.after_failure_plan()
        };
        let detail = match &next {
            Next::Retry { after_ms } => format!("{what}; retrying in {after_ms} ms"),
            _ => what.clone(),
        };
        let now = now_ms();
        let record = self.with_run(ExitRecord {
            reason: cause.into(),
            detail,
            outcome: next.outcome().into(),
            next_restart_at: match &next {
                Next::Retry { after_ms } => Some(now + after_ms),
                _ => None,
            },
            ..run_ended(now, running.pid, &exit, last_stderr)
        });
        self.shared.record_exit(self.id, record);
        self.write_pid_file(None);
        if let Some(dir) = &running.cgroup {
            crate::contain::cgroup::remove(dir);
        }
        self.shared.update(self.id, |e| clear_run(e, &exit, &what));
        self.note_result(result_of(&exit, cause));
        self.after_run(next).await;
    }

    /// What follows a failed run: a retry after the app's backoff while retries remain.
    fn after_failure_plan(&mut self) -> Next {
        let retries = self.spec.retries;
        let Some(task) = &mut self.task else {
            return Next::Failed;
        };
        if task.attempt >= retries {
            return Next::Failed;
        }
        task.attempt += 1;
        // The app's backoff (fixed or exponential), never a crash-loop verdict: `retries`
        // bounds the attempts.
        let mut policy = self.spec.restart.clone();
        policy.mode = RestartMode::Always;
        policy.stop_exit_codes.clear();
        policy.min_uptime_ms = 0;
        let exit = ExitInfo {
            code: Some(1),
            signal: None,
            uptime_ms: 0,
        };
        let now = now_ms();
        let decision = policy::decide(&policy, &exit, &self.history, now);
        self.history.note(&policy, &exit, &decision, now);
        match decision {
            Decision::Restart { after_ms, .. } => Next::Retry { after_ms },
            _ => Next::Retry { after_ms: 0 },
        }
    }

    fn note_result(&self, result: String) {
        self.shared
            .update(self.id, |e| e.info.last_result = Some(result));
    }

    /// After a run ended: a retry, a queued run, or `scheduled` (or `stopped` for a task
    /// that is not active) until the next firing.
    async fn after_run(&mut self, next: Next) {
        if let Next::Retry { after_ms } = next {
            self.restart_at = Some(Instant::now() + Self::task_ms(after_ms));
            let due = now_ms() + after_ms;
            self.shared.update(self.id, |e| {
                e.info.status = ProcessStatus::WaitingRestart;
                e.info.next_restart_at = Some(due);
            });
            return;
        }
        let queued = self.task.as_mut().and_then(|t| t.queued.take());
        if let Some(trigger) = queued {
            self.launch_task(trigger).await;
            return;
        }
        let active = self.task.as_ref().is_some_and(|t| t.active);
        self.shared.update(self.id, |e| {
            e.info.next_restart_at = None;
            e.info.status = if active {
                ProcessStatus::Scheduled
            } else {
                ProcessStatus::Stopped
            };
        });
    }
}

/// What follows a run.
pub(super) enum Next {
    /// Exit 0.
    Done,
    /// Failed, retried after this delay.
    Retry { after_ms: u64 },
    /// Failed, no retry left.
    Failed,
}

impl Next {
    /// The history's `outcome` for a run followed by this.
    fn outcome(&self) -> &'static str {
        match self {
            Self::Done | Self::Failed => "scheduled",
            Self::Retry { .. } => "retry",
        }
    }
}
