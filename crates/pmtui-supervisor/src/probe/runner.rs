//! The probe loop of one run: after `initial_delay`, one probe every `interval` (a probe
//! that overruns delays the next, never overlaps it), each result counted into the run's
//! health and posted to the job. The loop lives as long as the run (aborted with it).

use super::check::{self, ExecContext};
use super::signals::RunSignals;
use pmtui_proto::{Health, HealthCheck, ProbeResult, now_ms};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::{Instant, MissedTickBehavior};

/// A probe's result and the health it leaves the run in.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ProbeReport {
    pub result: ProbeResult,
    pub health: Health,
    /// Whether a probe of this run has ever passed.
    pub passed: bool,
}

pub(crate) async fn run(check: HealthCheck, ctx: ExecContext, signals: Arc<RunSignals>) {
    let first = Instant::now() + Duration::from_millis(check.initial_delay_ms);
    let mut ticks =
        tokio::time::interval_at(first, Duration::from_millis(check.interval_ms.max(1)));
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut tracker = Tracker::new(check.retries);
    loop {
        ticks.tick().await;
        let outcome = check::probe(&check, &ctx).await;
        let health = tracker.note(outcome.ok);
        let report = ProbeReport {
            result: ProbeResult {
                at: now_ms(),
                ok: outcome.ok,
                message: outcome.message,
                duration_ms: outcome.duration.as_millis() as u64,
                failures: tracker.failures,
            },
            health,
            passed: tracker.passed,
        };
        signals.post(|p| p.probe = Some(report));
    }
}

/// Consecutive failures and the health they make.
#[derive(Debug)]
struct Tracker {
    retries: u32,
    failures: u32,
    passed: bool,
    health: Health,
}

impl Tracker {
    fn new(retries: u32) -> Self {
        Self {
            retries: retries.max(1),
            failures: 0,
            passed: false,
            health: Health::Starting,
        }
    }

    /// Counts one result: a pass is healthy at once; `retries` failures in a row are
    /// unhealthy; fewer leave the health as it was.
    fn note(&mut self, ok: bool) -> Health {
        if ok {
            self.failures = 0;
            self.passed = true;
            self.health = Health::Healthy;
        } else {
            self.failures = self.failures.saturating_add(1);
            if self.failures >= self.retries {
                self.health = Health::Unhealthy;
            }
        }
        self.health
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_follows_passes_and_runs_of_failures() {
        let mut t = Tracker::new(3);
        assert_eq!(t.note(false), Health::Starting);
        assert_eq!(t.note(false), Health::Starting);
        assert_eq!(t.note(true), Health::Healthy);
        assert_eq!(t.note(false), Health::Healthy);
        assert_eq!(t.note(false), Health::Healthy);
        assert_eq!(t.note(false), Health::Unhealthy);
        assert_eq!(t.failures, 3);
        assert_eq!(t.note(false), Health::Unhealthy);
        assert_eq!(t.note(true), Health::Healthy);
        assert_eq!(t.failures, 0);
        let mut never = Tracker::new(2);
        never.note(false);
        assert_eq!(
            never.note(false),
            Health::Unhealthy,
            "unhealthy without a pass too"
        );
        assert!(!never.passed);
    }
}
