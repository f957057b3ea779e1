//! Readiness in the table: the one place a run's phase changes (so the row and the waiters
//! always agree), and the waiting API other features call (documented in `probe`).

use super::{Entry, Supervisor};
use crate::probe::{AppMessage, Phase, ReadyOutcome, RunReady};
use pmtui_proto::{ProcessId, Readiness, now_ms};
use std::time::Duration;
use tokio::sync::broadcast;
use tokio::time::Instant;

impl Entry {
    /// Starts a new run in `phase` (`Pending`, or `Ready` when nothing is awaited).
    pub(crate) fn begin_run(&mut self, phase: Phase) {
        self.ready.send_modify(|r| r.run += 1);
        self.info.health = None;
        self.info.last_probe = None;
        self.info.status_text = None;
        self.set_phase(phase);
    }

    /// Moves the current run to `phase` and mirrors it in the row.
    pub(crate) fn set_phase(&mut self, phase: Phase) {
        let (readiness, ready_at) = match &phase {
            Phase::Idle | Phase::Ended(_) => (None, None),
            Phase::Pending | Phase::Unhealthy(_) => (Some(Readiness::Pending), None),
            Phase::TimedOut => (Some(Readiness::Timeout), None),
            Phase::Ready => (
                Some(Readiness::Ready),
                self.info.ready_at.or_else(|| Some(now_ms())),
            ),
        };
        self.info.readiness = readiness;
        self.info.ready_at = ready_at;
        if matches!(phase, Phase::Idle | Phase::Ended(_)) {
            self.info.health = None;
            self.info.last_probe = None;
            self.info.status_text = None;
        }
        self.ready.send_if_modified(|r| {
            let changed = r.phase != phase;
            r.phase = phase;
            changed
        });
    }

    /// The phase of the current run.
    pub(crate) fn phase(&self) -> Phase {
        self.ready.borrow().phase.clone()
    }
}

impl Supervisor {
    /// The number of the latest run of `id` (0 before its first launch); `None` when there
    /// is no such process. See `probe` for how it pairs with [`Supervisor::wait_ready`].
    pub fn current_run(&self, id: ProcessId) -> Option<u64> {
        self.shared.read(id, |e| e.ready.borrow().run)
    }

    /// Waits until a run of `id` (the latest, or one after `after_run`) is ready, timed
    /// out or failed; `timeout` bounds the wait. See the `probe` module for the contract.
    pub async fn wait_ready(
        &self,
        id: ProcessId,
        after_run: Option<u64>,
        timeout: Option<Duration>,
    ) -> ReadyOutcome {
        let deadline = timeout.map(|t| Instant::now() + t);
        loop {
            let Some(mut rx) = self.shared.read(id, |e| e.ready.subscribe()) else {
                return ReadyOutcome::Failed("the process was deleted".into());
            };
            loop {
                if let Some(outcome) = rx.borrow_and_update().settled(after_run) {
                    return outcome;
                }
                let changed = tokio::select! {
                    changed = rx.changed() => changed,
                    () = sleep_until(deadline) => return ReadyOutcome::TimedOut,
                };
                if changed.is_err() {
                    // The entry was replaced (a changed definition) or deleted: look again.
                    break;
                }
            }
        }
    }

    /// Every message apps send over Node's IPC channel and the lines of their sd_notify
    /// datagrams, from now on (see `probe`).
    pub fn app_messages(&self) -> broadcast::Receiver<AppMessage> {
        self.shared.app_messages.subscribe()
    }

    /// The latest run of `id` and its phase.
    pub fn run_ready(&self, id: ProcessId) -> Option<RunReady> {
        self.shared.read(id, |e| e.ready.borrow().clone())
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
