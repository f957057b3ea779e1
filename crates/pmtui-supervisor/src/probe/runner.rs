//! The probe loop of one run: after `initial_delay`, one probe every `interval` (a probe
//! that overruns delays the next, never overlaps it), each result counted into the run's
//! health and posted to the job. The loop lives as long as the run (aborted with it).
//!
//! After the first probe, probes fall on a daemon-wide grid of a fifth of the interval (at
//! most 1 s): the probes of many apps due within one step run together, one wake-up of the
//! daemon for all of them instead of one each (200 apps probed every 5 s: 5 groups a
//! second at most, not 40 separate wake-ups). Only the gap after the first probe is shorter
//! than `interval`, by less than a step; the first probe itself is not delayed, since
//! readiness waits for it.

use super::check::{self, ExecContext};
use super::signals::RunSignals;
use pmtui_proto::{Health, HealthCheck, ProbeResult, now_ms};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::time::Instant;

/// A probe's result and the health it leaves the run in.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ProbeReport {
    pub result: ProbeResult,
    pub health: Health,
    /// Whether a probe of this run has ever passed.
    pub passed: bool,
}

pub(crate) async fn run(check: HealthCheck, ctx: ExecContext, signals: Arc<RunSignals>) {
    let period = Duration::from_millis(check.interval_ms.max(1));
    let step = grid_step(period);
    let mut due = Instant::now() + Duration::from_millis(check.initial_delay_ms);
    let mut tracker = Tracker::new(check.retries);
    loop {
        tokio::time::sleep_until(due).await;
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
        // A probe that overran delays the next by a whole interval, as a missed tick would.
        let now = Instant::now();
        let next = if due + period < now {
            now + period
        } else {
            due + period
        };
        due = on_grid(next, step);
    }
}

/// The grid's step for probes every `period`: a fifth of it, between 1 ms and 1 s.
fn grid_step(period: Duration) -> Duration {
    (period / 5).clamp(Duration::from_millis(1), Duration::from_secs(1))
}

/// `at`, moved later to the next point of the daemon-wide grid of `step`.
fn on_grid(at: Instant, step: Duration) -> Instant {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    let origin = *ORIGIN.get_or_init(Instant::now);
    let offset = at.saturating_duration_since(origin).as_nanos();
    let step_ns = step.as_nanos().max(1);
    let steps = offset.div_ceil(step_ns);
    let rounded = u64::try_from(steps * step_ns).unwrap_or(u64::MAX);
    origin + Duration::from_nanos(rounded)
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
    fn probes_due_within_one_step_fall_on_one_point() {
        let step = grid_step(Duration::from_secs(5));
        assert_eq!(step, Duration::from_secs(1));
        assert_eq!(
            grid_step(Duration::from_millis(100)),
            Duration::from_millis(20)
        );
        assert_eq!(grid_step(Duration::from_secs(60)), Duration::from_secs(1));
        let now = Instant::now();
        let a = on_grid(now + Duration::from_millis(10), step);
        let b = on_grid(now + Duration::from_millis(400), step);
        let c = on_grid(a + Duration::from_millis(1), step);
        assert!(a >= now + Duration::from_millis(10) && a - now <= Duration::from_millis(1010));
        assert!(b == a || b == a + step, "at most two points apart");
        assert_eq!(c, a + step, "just after a point: the next one");
        assert_eq!(on_grid(a, step), a, "a point stays");
        assert_eq!(
            on_grid(a + Duration::from_secs(5), step),
            a + Duration::from_secs(5)
        );
    }

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
