//! `decide` as a table: every mode × exit kind × history, then the backoff sequences.

use super::*;
use pmtui_proto::Backoff;

const NOW: u64 = 50_000_000;

fn policy(mode: RestartMode) -> RestartPolicy {
    RestartPolicy {
        mode,
        max_restarts: 3,
        min_uptime_ms: 1000,
        stop_exit_codes: vec![3],
        stable_after_ms: 30_000,
        ..Default::default()
    }
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Clean,
    Failure,
    StopCode,
    Signal,
}

fn exit(kind: Kind, uptime_ms: u64) -> ExitInfo {
    let (code, signal) = match kind {
        Kind::Clean => (Some(0), None),
        Kind::Failure => (Some(2), None),
        Kind::StopCode => (Some(3), None),
        Kind::Signal => (None, Some(9)),
    };
    ExitInfo {
        code,
        signal,
        uptime_ms,
    }
}

#[derive(Debug, Clone, Copy)]
enum Past {
    /// Nothing remembered.
    Empty,
    /// Two unstable exits in the last seconds (below the limit of 3).
    Two,
    /// Three unstable exits in the last seconds (at the limit).
    Three,
    /// Three unstable exits, the oldest an hour ago, with no stable period since
    /// (pm2 never gives up on such a late or slow loop).
    ThreeLate,
}

fn history(past: Past) -> RestartHistory {
    let at: Vec<u64> = match past {
        Past::Empty => vec![],
        Past::Two => vec![NOW - 2000, NOW - 1000],
        Past::Three => vec![NOW - 3000, NOW - 2000, NOW - 1000],
        Past::ThreeLate => vec![NOW - 3_600_000, NOW - 1_800_000, NOW - 1000],
    };
    RestartHistory {
        unstable_at: at.into(),
        base_delay_ms: 0,
    }
}

/// What `decide` should say.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Want {
    /// Restart, run counted as unstable.
    Unstable,
    /// Restart, run not unstable.
    Restart,
    Stop,
    GiveUp,
}

fn got(d: &Decision) -> Want {
    match d {
        Decision::Restart { unstable: true, .. } => Want::Unstable,
        Decision::Restart { .. } => Want::Restart,
        Decision::Stop { .. } => Want::Stop,
        Decision::GiveUp { .. } => Want::GiveUp,
    }
}

const SHORT: u64 = 10; // below min_uptime
const MEDIUM: u64 = 5000; // above min_uptime, below stable_after
const LONG: u64 = 40_000; // above stable_after

#[test]
fn every_mode_exit_kind_and_history() {
    use Kind::*;
    use Past::*;
    use Want::*;
    // (exit kind, uptime, history, [always, on-failure, no])
    let table: &[(Kind, u64, Past, [Want; 3])] = &[
        // A clean exit restarts only under `always`.
        (Clean, SHORT, Empty, [Unstable, Stop, Stop]),
        (Clean, MEDIUM, Empty, [Restart, Stop, Stop]),
        (Clean, SHORT, Two, [Unstable, Stop, Stop]),
        (Clean, SHORT, Three, [GiveUp, Stop, Stop]),
        (Clean, SHORT, ThreeLate, [GiveUp, Stop, Stop]),
        (Clean, MEDIUM, Three, [Restart, Stop, Stop]),
        (Clean, LONG, Three, [Restart, Stop, Stop]),
        // A failure restarts under `always` and `on-failure`.
        (Failure, SHORT, Empty, [Unstable, Unstable, Stop]),
        (Failure, MEDIUM, Empty, [Restart, Restart, Stop]),
        (Failure, SHORT, Two, [Unstable, Unstable, Stop]),
        (Failure, SHORT, Three, [GiveUp, GiveUp, Stop]),
        (Failure, SHORT, ThreeLate, [GiveUp, GiveUp, Stop]),
        (Failure, MEDIUM, Three, [Restart, Restart, Stop]),
        (Failure, LONG, Three, [Restart, Restart, Stop]),
        // A signal is a failure.
        (Signal, SHORT, Empty, [Unstable, Unstable, Stop]),
        (Signal, MEDIUM, Empty, [Restart, Restart, Stop]),
        (Signal, SHORT, Two, [Unstable, Unstable, Stop]),
        (Signal, SHORT, Three, [GiveUp, GiveUp, Stop]),
        (Signal, SHORT, ThreeLate, [GiveUp, GiveUp, Stop]),
        (Signal, MEDIUM, Three, [Restart, Restart, Stop]),
        (Signal, LONG, Three, [Restart, Restart, Stop]),
        // A stop exit code never restarts, not even as a crash loop.
        (StopCode, SHORT, Empty, [Stop, Stop, Stop]),
        (StopCode, MEDIUM, Empty, [Stop, Stop, Stop]),
        (StopCode, SHORT, Two, [Stop, Stop, Stop]),
        (StopCode, SHORT, Three, [Stop, Stop, Stop]),
        (StopCode, SHORT, ThreeLate, [Stop, Stop, Stop]),
        (StopCode, MEDIUM, Three, [Stop, Stop, Stop]),
        (StopCode, LONG, Three, [Stop, Stop, Stop]),
    ];
    let modes = [RestartMode::Always, RestartMode::OnFailure, RestartMode::No];
    for (kind, uptime, past, wants) in table {
        for (mode, want) in modes.iter().zip(wants) {
            let d = decide(&policy(*mode), &exit(*kind, *uptime), &history(*past), NOW);
            assert_eq!(
                got(&d),
                *want,
                "mode {mode:?}, exit {kind:?} after {uptime} ms, history {past:?}: {d:?}"
            );
        }
    }
}

#[test]
fn a_time_window_forgets_old_unstable_exits() {
    let windowed = RestartPolicy {
        time_window_ms: Some(10_000),
        ..policy(RestartMode::Always)
    };
    // Two of the three late exits are outside the window.
    let d = decide(
        &windowed,
        &exit(Kind::Failure, SHORT),
        &history(Past::ThreeLate),
        NOW,
    );
    assert_eq!(got(&d), Want::Unstable);
    let d = decide(
        &windowed,
        &exit(Kind::Failure, SHORT),
        &history(Past::Three),
        NOW,
    );
    assert_eq!(got(&d), Want::GiveUp);
}

#[test]
fn first_crash_restarts_at_once_with_defaults() {
    let d = decide(
        &RestartPolicy::default(),
        &exit(Kind::Failure, SHORT),
        &RestartHistory::default(),
        NOW,
    );
    assert_eq!(
        d,
        Decision::Restart {
            after_ms: 0,
            base_ms: 0,
            unstable: true
        }
    );
}

#[test]
fn zero_max_restarts_gives_up_at_the_first_unstable_exit() {
    let p = RestartPolicy {
        max_restarts: 0,
        ..Default::default()
    };
    let d = decide(
        &p,
        &exit(Kind::Failure, SHORT),
        &RestartHistory::default(),
        NOW,
    );
    assert!(matches!(d, Decision::GiveUp { .. }), "{d:?}");
    let d = decide(
        &p,
        &exit(Kind::Failure, MEDIUM),
        &RestartHistory::default(),
        NOW,
    );
    assert_eq!(got(&d), Want::Restart);
}

/// Feeds `n` exits after `uptime` ms each, `gap` ms apart, and returns the decisions.
fn run(p: &RestartPolicy, n: usize, uptime: u64, gap: u64) -> Vec<Decision> {
    let mut h = RestartHistory::default();
    let mut now = NOW;
    let mut out = Vec::new();
    for _ in 0..n {
        let e = exit(Kind::Failure, uptime);
        let d = decide(p, &e, &h, now);
        h.note(p, &e, &d, now);
        out.push(d);
        now += gap;
    }
    out
}

fn bases(ds: &[Decision]) -> Vec<u64> {
    ds.iter()
        .map(|d| match d {
            Decision::Restart { base_ms, .. } => *base_ms,
            other => panic!("expected a restart, got {other:?}"),
        })
        .collect()
}

#[test]
fn a_loop_that_begins_late_or_waits_still_ends() {
    // pm2 counts only while the app is younger than min_uptime × max_restarts; a loop with
    // exponential backoff never fits in that. Here every run is short: errored at the 17th.
    let p = RestartPolicy {
        backoff: Backoff::exponential(100),
        ..Default::default()
    };
    let ds = run(&p, 17, SHORT, 15_000);
    assert!(
        ds[..16]
            .iter()
            .all(|d| matches!(d, Decision::Restart { unstable: true, .. })),
        "{ds:?}"
    );
    assert!(matches!(ds[16], Decision::GiveUp { .. }), "{:?}", ds[16]);
}

#[test]
fn fixed_delay_has_no_jitter() {
    let p = RestartPolicy {
        backoff: Backoff::fixed(500),
        max_restarts: 100,
        ..Default::default()
    };
    for d in run(&p, 5, SHORT, 777) {
        assert!(
            matches!(d, Decision::Restart { after_ms: 500, .. }),
            "{d:?}"
        );
    }
}

#[test]
fn exponential_grows_by_factor_to_the_cap_with_a_little_jitter() {
    let p = RestartPolicy {
        backoff: Backoff {
            kind: BackoffKind::Exponential,
            delay_ms: 100,
            max_delay_ms: 1000,
            factor: 2.0,
        },
        max_restarts: 100,
        ..Default::default()
    };
    let ds = run(&p, 7, SHORT, 1234);
    assert_eq!(bases(&ds), [100, 200, 400, 800, 1000, 1000, 1000]);
    let mut afters = Vec::new();
    for d in &ds {
        if let Decision::Restart {
            after_ms, base_ms, ..
        } = d
        {
            let floor = (*base_ms as f64 * (1.0 - JITTER)) as u64;
            assert!(
                (floor..=*base_ms).contains(after_ms),
                "{after_ms} not within 10% below {base_ms}"
            );
            afters.push(*after_ms);
        }
    }
    let capped: std::collections::BTreeSet<_> = afters[4..].iter().collect();
    assert!(capped.len() > 1, "jitter should vary: {afters:?}");
}

#[test]
fn pm2_exp_backoff_sequence() {
    let p = RestartPolicy {
        backoff: Backoff::exponential(100),
        max_restarts: 100,
        ..Default::default()
    };
    // pm2 7: 100, 150, 225, 337, 505, 757, 1135, 1702 … capped at 15000.
    let ds = run(&p, 14, SHORT, 1);
    assert_eq!(
        bases(&ds),
        [
            100, 150, 225, 337, 505, 757, 1135, 1702, 2553, 3829, 5743, 8614, 12921, 15000
        ]
    );
}

#[test]
fn medium_runs_keep_growing_and_a_stable_run_resets() {
    let p = RestartPolicy {
        backoff: Backoff {
            kind: BackoffKind::Exponential,
            delay_ms: 100,
            max_delay_ms: 10_000,
            factor: 2.0,
        },
        ..Default::default()
    };
    let mut h = RestartHistory::default();
    let mut now = NOW;
    let mut step = |uptime: u64, h: &mut RestartHistory| {
        let e = exit(Kind::Failure, uptime);
        let d = decide(&p, &e, h, now);
        h.note(&p, &e, &d, now);
        now += 100_000;
        d
    };
    let a = step(SHORT, &mut h);
    let b = step(MEDIUM, &mut h);
    let c = step(SHORT, &mut h);
    assert_eq!(bases(&[a, b, c]), [100, 200, 400]);
    assert_eq!(h.unstable_at.len(), 2, "medium runs are not unstable");
    let d = step(LONG, &mut h);
    assert_eq!(bases(&[d]), [100]);
    assert!(h.unstable_at.is_empty(), "a stable run clears the count");
}

#[test]
fn history_is_bounded_by_max_restarts() {
    let p = RestartPolicy {
        max_restarts: 5,
        ..Default::default()
    };
    let mut h = RestartHistory::default();
    for i in 0..100 {
        let e = exit(Kind::Failure, MEDIUM);
        let d = decide(&p, &e, &h, NOW + i);
        h.note(&p, &e, &d, NOW + i);
        // Interleave short runs: never more than max_restarts kept.
        let e = exit(Kind::Failure, SHORT);
        let d = decide(&p, &e, &h, NOW + i);
        if matches!(d, Decision::GiveUp { .. }) {
            break;
        }
        h.note(&p, &e, &d, NOW + i);
        assert!(h.unstable_at.len() <= 5);
    }
    assert_eq!(h.unstable_count(&p, NOW + 100), 5);
}

#[test]
fn a_stable_period_shorter_than_min_uptime_cannot_hide_a_loop() {
    let p = RestartPolicy {
        max_restarts: 2,
        min_uptime_ms: 1000,
        stable_after_ms: 100,
        ..Default::default()
    };
    assert_eq!(stable_period_ms(&p), 1000);
    let ds = run(&p, 3, 500, 600);
    assert!(matches!(ds[2], Decision::GiveUp { .. }), "{ds:?}");
}
