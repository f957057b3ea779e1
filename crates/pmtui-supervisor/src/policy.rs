//! The restart policy as a pure function: given the policy, how the process exited and what
//! the policy remembers of earlier exits, `decide` says whether to start it again and after
//! what delay, to leave it stopped, or to give up on a crash loop. The job task owns the
//! `RestartHistory`, calls `decide` on every exit and `note` after it, and `reset` when a
//! run has stayed up for `stable_after` (a timer, not a poll) or a person restarts it.
//!
//! Rules, in order:
//! 1. an exit code listed in `stop_exit_codes` never restarts;
//! 2. mode `no` never restarts; `on-failure` does not restart a clean exit (code 0);
//! 3. a run shorter than `min_uptime` is unstable; one more unstable exit than
//!    `max_restarts` (counted since the last stable period, or within `time_window`) is a
//!    crash loop and the process is `errored`. Unlike pm2, this does not depend on how
//!    long ago the process was created, nor on the delays between restarts;
//! 4. otherwise it restarts after the backoff delay: fixed, or exponential (first `delay`,
//!    then × `factor` per restart, capped at `max_delay`, minus up to 10% jitter so that
//!    processes that crashed together do not restart in lockstep). A run that lasted
//!    `stable_after` (at least `min_uptime`) starts the growth afresh.

use pmtui_proto::{BackoffKind, RestartMode, RestartPolicy};
use std::collections::VecDeque;

/// The share of an exponential delay that jitter may take off.
pub const JITTER: f64 = 0.1;

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExitInfo {
    pub code: Option<i32>,
    pub signal: Option<i32>,
    pub uptime_ms: u64,
}

impl ExitInfo {
    /// Exit code 0, no signal.
    pub fn is_clean(&self) -> bool {
        self.code == Some(0) && self.signal.is_none()
    }
}

/// What the policy remembers between exits.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RestartHistory {
    /// When recent unstable exits happened (ms since the epoch), oldest first; never more
    /// than `max_restarts` entries.
    pub unstable_at: VecDeque<u64>,
    /// The un-jittered delay before the previous restart (0 = none since the last reset),
    /// from which the exponential backoff grows.
    pub base_delay_ms: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Start again after `after_ms` (0 = at once). `base_ms` is the delay before jitter;
    /// `unstable` says the run was shorter than `min_uptime`.
    Restart {
        after_ms: u64,
        base_ms: u64,
        unstable: bool,
    },
    /// Do not restart; the process is `stopped`.
    Stop { reason: String },
    /// A crash loop: the process is `errored`.
    GiveUp { reason: String },
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
            reason: format!("exit code {code} is in stop_exit_codes"),
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
                reason: "clean exit, restart mode is on-failure".into(),
            };
        }
        _ => {}
    }
    // A run that lasted the stable period starts with a clean slate, whatever the
    // history still says (the job's timer normally cleared it already).
    let fresh = RestartHistory::default();
    let history = if exit.uptime_ms >= stable_period_ms(policy) {
        &fresh
    } else {
        history
    };
    let unstable = exit.uptime_ms < policy.min_uptime_ms;
    if unstable {
        let counted = counted(policy, history, now_ms) + 1;
        if counted > u64::from(policy.max_restarts) {
            let within = match policy.time_window_ms {
                Some(window) => format!("within {window} ms"),
                None => "without a stable period".to_string(),
            };
            return Decision::GiveUp {
                reason: format!(
                    "{counted} runs shorter than min_uptime ({} ms) {within}, \
                     more than max_restarts ({})",
                    policy.min_uptime_ms, policy.max_restarts
                ),
            };
        }
    }
    let backoff = &policy.backoff;
    let base_ms = match backoff.kind {
        BackoffKind::Fixed => backoff.delay_ms,
        BackoffKind::Exponential if history.base_delay_ms == 0 => {
            backoff.delay_ms.min(backoff.max_delay_ms)
        }
        BackoffKind::Exponential => {
            let factor = if backoff.factor.is_finite() {
                backoff.factor.max(1.0)
            } else {
                1.0
            };
            let grown = (history.base_delay_ms as f64 * factor).min(u64::MAX as f64) as u64;
            grown.min(backoff.max_delay_ms)
        }
    };
    let after_ms = match backoff.kind {
        BackoffKind::Fixed => base_ms,
        BackoffKind::Exponential => base_ms - jitter(base_ms, now_ms),
    };
    Decision::Restart {
        after_ms,
        base_ms,
        unstable,
    }
}

/// How long a run must stay up to reset the backoff and the crash-loop count:
/// `stable_after`, but never less than `min_uptime` (a run that is still unstable cannot
/// be stable, or a loop of such runs would never end).
pub fn stable_period_ms(policy: &RestartPolicy) -> u64 {
    policy.stable_after_ms.max(policy.min_uptime_ms)
}

/// Unstable exits that count towards the limit at `now_ms`.
fn counted(policy: &RestartPolicy, history: &RestartHistory, now_ms: u64) -> u64 {
    match policy.time_window_ms {
        Some(window) => {
            let since = now_ms.saturating_sub(window);
            history
                .unstable_at
                .iter()
                .filter(|at| **at >= since)
                .count() as u64
        }
        None => history.unstable_at.len() as u64,
    }
}

/// Up to `JITTER` of `base_ms`, derived from the time so that `decide` stays a function
/// of its arguments.
fn jitter(base_ms: u64, now_ms: u64) -> u64 {
    // splitmix64: a well-spread hash of the timestamp.
    let mut z = now_ms.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    let share = (z % 1_000_000) as f64 / 1_000_000.0 * JITTER;
    (base_ms as f64 * share) as u64
}

impl RestartHistory {
    /// Records an exit after `decide` took `decision` on it.
    pub fn note(
        &mut self,
        policy: &RestartPolicy,
        exit: &ExitInfo,
        decision: &Decision,
        now_ms: u64,
    ) {
        if exit.uptime_ms >= stable_period_ms(policy) {
            self.reset();
        }
        if let Decision::Restart {
            base_ms, unstable, ..
        } = decision
        {
            self.base_delay_ms = *base_ms;
            if *unstable {
                self.unstable_at.push_back(now_ms);
            }
        }
        if let Some(window) = policy.time_window_ms {
            let since = now_ms.saturating_sub(window);
            while self.unstable_at.front().is_some_and(|at| *at < since) {
                self.unstable_at.pop_front();
            }
        }
        // Only the newest `max_restarts` can matter to the next decision.
        while self.unstable_at.len() > policy.max_restarts as usize {
            self.unstable_at.pop_front();
        }
    }

    /// Forgets everything: after a stable period, a manual restart or `reset`.
    pub fn reset(&mut self) {
        *self = Self::default();
    }

    /// The unstable restarts that count at `now_ms`, for `ls`.
    pub fn unstable_count(&self, policy: &RestartPolicy, now_ms: u64) -> u32 {
        counted(policy, self, now_ms) as u32
    }
}

#[cfg(test)]
mod tests;
