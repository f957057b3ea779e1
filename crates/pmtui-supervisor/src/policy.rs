//! The restart policy as a pure function: given the policy, how the process exited and its
//! recent history, `decide` says whether to start it again, when, or to give up.

use pmtui_proto::{BackoffKind, RestartMode, RestartPolicy};
use std::collections::VecDeque;

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExitInfo {
    pub code: Option<i32>,
    pub signal: Option<i32>,
    pub uptime_ms: u64,
}

impl ExitInfo {
    pub fn is_clean(&self) -> bool {
        self.code == Some(0) && self.signal.is_none()
    }
}

/// What the policy remembers between exits.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RestartHistory {
    /// When each recent unstable exit happened (ms since the epoch), oldest first.
    pub unstable_at: VecDeque<u64>,
    /// The delay used before the previous restart, for exponential growth.
    pub last_delay_ms: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Start again after this many milliseconds (0 = at once).
    Restart { after_ms: u64, unstable: bool },
    /// Do not restart; the process is `stopped`.
    Stop { reason: String },
    /// A crash loop: the process is `errored`.
    GiveUp { reason: String },
}

/// The window in which unstable restarts are counted.
pub fn window_ms(policy: &RestartPolicy) -> u64 {
    policy.time_window_ms.unwrap_or_else(|| {
        policy
            .min_uptime_ms
            .saturating_mul(u64::from(policy.max_restarts.max(1)))
    })
}

pub fn decide(
    policy: &RestartPolicy,
    exit: &ExitInfo,
    history: &RestartHistory,
    now_ms: u64,
) -> Decision {
    if let Some(code) = exit.code
        && exit.signal.is_none()
        && policy.stop_exit_codes.contains(&code)
    {
        return Decision::Stop {
            reason: format!("exit code {code} is a stop exit code"),
        };
    }
    match policy.mode {
        RestartMode::No => {
            return Decision::Stop {
                reason: "restart mode is no".into(),
            };
        }
        RestartMode::OnFailure if exit.is_clean() => {
            return Decision::Stop {
                reason: "exited cleanly (restart mode on-failure)".into(),
            };
        }
        _ => {}
    }
    let unstable = exit.uptime_ms < policy.min_uptime_ms;
    if unstable {
        let since = now_ms.saturating_sub(window_ms(policy));
        let recent = history
            .unstable_at
            .iter()
            .filter(|at| **at >= since)
            .count() as u64
            + 1;
        if recent > u64::from(policy.max_restarts) {
            return Decision::GiveUp {
                reason: format!(
                    "crash loop: {recent} unstable runs (under {} ms) within {} ms",
                    policy.min_uptime_ms,
                    window_ms(policy)
                ),
            };
        }
    }
    let stable = exit.uptime_ms >= policy.stable_after_ms;
    let previous = if stable { 0 } else { history.last_delay_ms };
    let backoff = &policy.backoff;
    let after_ms = match backoff.kind {
        BackoffKind::Fixed => backoff.delay_ms,
        BackoffKind::Exponential if previous == 0 => backoff.delay_ms.min(backoff.max_delay_ms),
        BackoffKind::Exponential => {
            ((previous as f64 * backoff.factor.max(1.0)) as u64).min(backoff.max_delay_ms)
        }
    };
    Decision::Restart { after_ms, unstable }
}

impl RestartHistory {
    /// Records an exit after `decide`: unstable runs are remembered, stable ones reset.
    pub fn note(
        &mut self,
        policy: &RestartPolicy,
        exit: &ExitInfo,
        decision: &Decision,
        now_ms: u64,
    ) {
        if exit.uptime_ms >= policy.stable_after_ms {
            self.unstable_at.clear();
        }
        if let Decision::Restart { after_ms, unstable } = decision {
            self.last_delay_ms = *after_ms;
            if *unstable {
                self.unstable_at.push_back(now_ms);
            }
        }
        let since = now_ms.saturating_sub(window_ms(policy));
        while self.unstable_at.front().is_some_and(|at| *at < since) {
            self.unstable_at.pop_front();
        }
    }

    pub fn reset(&mut self) {
        *self = Self::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crash(uptime_ms: u64) -> ExitInfo {
        ExitInfo {
            code: Some(1),
            signal: None,
            uptime_ms,
        }
    }

    #[test]
    fn first_crash_restarts_at_once() {
        let d = decide(
            &RestartPolicy::default(),
            &crash(10),
            &RestartHistory::default(),
            100_000,
        );
        assert_eq!(
            d,
            Decision::Restart {
                after_ms: 0,
                unstable: true
            }
        );
    }

    #[test]
    fn clean_exit_stops_under_on_failure() {
        let policy = RestartPolicy {
            mode: RestartMode::OnFailure,
            ..Default::default()
        };
        let exit = ExitInfo {
            code: Some(0),
            signal: None,
            uptime_ms: 5000,
        };
        assert!(matches!(
            decide(&policy, &exit, &RestartHistory::default(), 0),
            Decision::Stop { .. }
        ));
        assert!(matches!(
            decide(&policy, &crash(5000), &RestartHistory::default(), 0),
            Decision::Restart { .. }
        ));
    }

    #[test]
    fn loop_gives_up_after_max_restarts_even_late() {
        let policy = RestartPolicy {
            max_restarts: 3,
            ..Default::default()
        };
        let mut history = RestartHistory::default();
        let mut now = 10_000_000; // long after the process was created: pm2 would never give up
        for _ in 0..3 {
            let d = decide(&policy, &crash(5), &history, now);
            assert!(matches!(d, Decision::Restart { .. }), "{d:?}");
            history.note(&policy, &crash(5), &d, now);
            now += 10;
        }
        assert!(matches!(
            decide(&policy, &crash(5), &history, now),
            Decision::GiveUp { .. }
        ));
    }
}
