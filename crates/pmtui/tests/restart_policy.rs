//! Restart policies with real crashing processes: modes, stop exit codes, growing backoff
//! delays, crash loops that end in `errored` and are revived, the stable-period reset, a
//! 6-field cron restart, and the history (reasons, last stderr lines, events).
//! Delays are checked on the timestamps the daemon recorded, never on the test's own clock.

mod common;
use common::{TestHome, num, wait_until};
use serde_json::Value;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

/// The backoff delay a restart record announced.
fn delay(r: &Value) -> u64 {
    num(&r["next_restart_at"]) - num(&r["at"])
}

/// A script that fails on its first run and then stays up.
fn fails_once(t: &TestHome, name: &str, code: i32) -> String {
    let marker = t.path(&format!("{name}.ran"));
    let body = format!(
        "#!/bin/sh\nif [ -f {m} ]; then exec sleep 60; fi\ntouch {m}\necho 'first run fails' >&2\nexit {code}\n",
        m = marker.display()
    );
    t.script(&format!("{name}.sh"), &body).display().to_string()
}

#[test]
fn on_failure_restarts_a_crash_but_not_a_clean_exit() {
    let t = TestHome::new();
    let failing = fails_once(&t, "failing", 1);
    t.ok(&[
        "start",
        &failing,
        "--name",
        "failing",
        "--restart-mode",
        "on-failure",
    ]);
    t.ok(&[
        "start",
        "exit 0",
        "--name",
        "clean",
        "--restart-mode",
        "on-failure",
    ]);
    let p = t.wait_for("failing", "restarted once and online", |p| {
        p["restarts"] == 1 && p["status"] == "online"
    });
    assert_eq!(p["exit_code"], 1, "{p}");
    let p = t.wait_status("clean", "stopped");
    assert_eq!(p["restarts"], 0, "a clean exit is not restarted: {p}");
    assert!(
        p["status_reason"]
            .as_str()
            .is_some_and(|r| r.contains("on-failure")),
        "the reason says why: {p}"
    );
    let h = t.history("clean");
    assert_eq!(h.len(), 1, "{h:#?}");
    assert_eq!(h[0]["reason"], "exit code");
    assert_eq!(h[0]["exit_code"], 0);
    assert_eq!(h[0]["outcome"], "stopped");
    // Under the default mode (always) the same clean exit is restarted.
    let clean_always = fails_once(&t, "clean-always", 0);
    t.ok(&["start", &clean_always, "--name", "clean-always"]);
    t.wait_for("clean-always", "restarted after a clean exit", |p| {
        p["restarts"] == 1 && p["status"] == "online"
    });
}

#[test]
fn stop_exit_codes_never_restart() {
    let t = TestHome::new();
    t.ok(&[
        "start",
        "exit 3",
        "--name",
        "planned",
        "--stop-exit-codes",
        "3,4",
    ]);
    let other = fails_once(&t, "other", 5);
    // pm2's spelling: several values after one flag.
    t.ok(&[
        "start",
        &other,
        "--name",
        "other",
        "--stop-exit-codes",
        "3",
        "4",
    ]);
    let p = t.wait_status("planned", "stopped");
    assert_eq!(p["restarts"], 0, "{p}");
    assert_eq!(p["exit_code"], 3, "{p}");
    let h = t.history("planned");
    assert!(
        h[0]["detail"]
            .as_str()
            .is_some_and(|d| d.contains("stop_exit_codes")),
        "{h:#?}"
    );
    // An exit code that is not listed restarts as usual.
    t.wait_for("other", "restarted after exit 5", |p| {
        p["restarts"] == 1 && p["status"] == "online"
    });
    let spec = &t.describe("other")["spec"]["restart"];
    assert_eq!(spec["stop_exit_codes"], serde_json::json!([3, 4]), "{spec}");
}

#[test]
fn exponential_delays_grow_and_the_wait_is_visible() {
    let t = TestHome::new();
    t.ok(&[
        "start",
        "echo crashing >&2; exit 1",
        "--name",
        "backoff",
        "--exp-backoff-restart-delay",
        "200ms",
        "--backoff-factor",
        "2",
        "--max-restarts",
        "50",
    ]);
    // While it waits, `ls` says so and when it is due.
    let row = t.wait_for("backoff", "waiting restart with a due time", |p| {
        p["status"] == "waiting restart" && p["next_restart_at"].is_u64()
    });
    assert!(
        num(&row["next_restart_at"]) > num(&row["started_at"]),
        "{row}"
    );
    let table = wait_until("ls shows the due time", || {
        let out = t.ok(&["ls"]);
        out.contains("waiting restart (in").then_some(out)
    });
    assert!(table.is_some(), "ls never showed `waiting restart (in …)`");
    let h = t.wait_history("backoff", "four restarts", |h| {
        h.iter().filter(|r| r["outcome"] == "restart").count() >= 4
    });
    let restarts: Vec<&Value> = h.iter().filter(|r| r["outcome"] == "restart").collect();
    for (r, base) in restarts.iter().zip([200u64, 400, 800, 1600]) {
        let d = delay(r);
        // Up to 10% jitter is taken off, never added.
        assert!(
            (base * 9 / 10..=base).contains(&d),
            "delay {d} ms should be {base} ms minus at most 10%: {h:#?}"
        );
        assert_eq!(r["reason"], "exit code");
    }
    // Each run started no earlier than it was due.
    for pair in restarts.windows(2) {
        let due = num(&pair[0]["next_restart_at"]);
        let next_exit = num(&pair[1]["at"]);
        assert!(
            next_exit >= due,
            "a run ended before it was due to start: {h:#?}"
        );
    }
    let text = t.ok(&["describe", "backoff"]);
    assert!(text.contains("exponential from 200 ms"), "{text}");
}

#[test]
fn a_crash_loop_ends_in_errored_and_restart_or_reset_revive_it() {
    let t = TestHome::new();
    let ok_file = t.path("healthy");
    let script = t.script(
        "loop.sh",
        &format!(
            "#!/bin/sh\nif [ -f {f} ]; then exec sleep 60; fi\necho 'cannot start' >&2\nexit 2\n",
            f = ok_file.display()
        ),
    );
    let script = script.display().to_string();
    t.ok(&["start", &script, "--name", "loop", "--max-restarts", "3"]);
    let p = t.wait_status("loop", "errored");
    assert_eq!(p["restarts"], 3, "max_restarts restarts, then errored: {p}");
    assert!(
        p["status_reason"]
            .as_str()
            .is_some_and(|r| r.contains("crash loop")),
        "{p}"
    );
    let h = t.history("loop");
    let last = h.last().expect("history");
    assert_eq!(last["reason"], "crash loop", "{h:#?}");
    assert_eq!(last["outcome"], "errored");
    assert_eq!(last["last_stderr"], serde_json::json!(["cannot start"]));
    // `reset` revives it (and zeroes the counters); still broken, it loops again.
    t.ok(&["reset", "loop"]);
    let p = t.wait_for("loop", "errored again after reset", |p| {
        p["status"] == "errored" && p["restarts"] == 3
    });
    assert!(
        p["status_reason"]
            .as_str()
            .is_some_and(|r| r.contains("crash loop")),
        "{p}"
    );
    let h = t.history("loop");
    assert!(
        h.iter().any(|r| r["pid"] == 0
            && r["reason"] == "manual"
            && r["detail"]
                .as_str()
                .is_some_and(|d| d.contains("reset") && d.contains("errored"))),
        "the revival is recorded: {h:#?}"
    );
    // Fixed, `restart` brings it back for good.
    std::fs::write(&ok_file, "").expect("write");
    t.ok(&["restart", "loop"]);
    let p = t.wait_status("loop", "online");
    assert_eq!(p["unstable_restarts"], 0, "{p}");
}

#[test]
fn a_loop_with_delays_still_ends_unlike_pm2() {
    // pm2 only counts unstable restarts while the app is younger than
    // min_uptime × max_restarts (here 2 s); with 800 ms between restarts it never gives up.
    let t = TestHome::new();
    t.ok(&[
        "start",
        "exit 1",
        "--name",
        "slow-loop",
        "--max-restarts",
        "2",
        "--min-uptime",
        "1s",
        "--restart-delay",
        "800ms",
    ]);
    let p = t.wait_status("slow-loop", "errored");
    assert_eq!(p["restarts"], 2, "{p}");
    let h = t.history("slow-loop");
    let first = num(&h[0]["at"]);
    let last = num(&h[h.len() - 1]["at"]);
    assert!(
        last - first >= 1600,
        "the loop outlived pm2's window: {h:#?}"
    );
    for r in h.iter().filter(|r| r["outcome"] == "restart") {
        assert_eq!(delay(r), 800, "a fixed delay has no jitter: {r}");
    }
}

#[test]
fn a_stable_period_resets_the_backoff() {
    let t = TestHome::new();
    let count = t.path("runs");
    // Runs 1 and 2 crash at once, run 3 lives 1.6 s (past stable_after), then crashes;
    // run 4 stays up.
    let script = t.script(
        "stable.sh",
        &format!(
            "#!/bin/sh\nn=$(cat {c} 2>/dev/null || echo 0)\nn=$((n+1))\necho $n > {c}\n\
             if [ $n -ge 4 ]; then exec sleep 60; fi\n\
             if [ $n -eq 3 ]; then sleep 1.6; fi\necho \"run $n failed\" >&2\nexit 1\n",
            c = count.display()
        ),
    );
    t.ok(&[
        "start",
        &script.display().to_string(),
        "--name",
        "stable",
        "--exp-backoff-restart-delay",
        "300ms",
        "--backoff-factor",
        "2",
        "--stable-after",
        "1s",
    ]);
    // Run 3 is up: the stable timer clears the unstable count while it still runs.
    let p = t.wait_for("stable", "run 3 online with the count cleared", |p| {
        p["restarts"] == 2 && p["status"] == "online" && p["unstable_restarts"] == 0
    });
    assert!(
        num(&p["uptime_ms"]) >= 900,
        "cleared only after stable_after: {p}"
    );
    let h = t.wait_history("stable", "three restarts", |h| h.len() >= 3);
    let delays: Vec<u64> = h.iter().take(3).map(delay).collect();
    for (d, base) in delays.iter().zip([300u64, 600, 300]) {
        assert!(
            (base * 9 / 10..=base).contains(d),
            "delays {delays:?} should be about 300, 600, then 300 again: {h:#?}"
        );
    }
    assert_eq!(
        h[2]["last_stderr"],
        serde_json::json!(["run 3 failed"]),
        "{h:#?}"
    );
    t.wait_for("stable", "run 4 online", |p| {
        p["restarts"] == 3 && p["status"] == "online"
    });
}

#[test]
fn a_six_field_cron_restarts_every_two_seconds() {
    let t = TestHome::new();
    t.ok(&[
        "start",
        "sleep 600",
        "--name",
        "ticker",
        "--cron-restart",
        "*/2 * * * * *",
    ]);
    t.ok(&[
        "start",
        "sleep 600",
        "--name",
        "parked",
        "--cron",
        "*/2 * * * * *",
    ]);
    t.ok(&[
        "start",
        "sleep 600",
        "--name",
        "revived",
        "--cron",
        "*/2 * * * * *",
        "--cron-revive",
    ]);
    t.ok(&["stop", "parked", "revived"]);
    let h = t.wait_history("ticker", "three cron restarts", |h| {
        h.iter().filter(|r| r["reason"] == "cron").count() >= 3
    });
    let cron: Vec<&Value> = h.iter().filter(|r| r["reason"] == "cron").collect();
    for r in &cron {
        assert_eq!(r["outcome"], "restart", "{r}");
        assert!(
            r["detail"]
                .as_str()
                .is_some_and(|d| d.contains("*/2 * * * * *")),
            "{r}"
        );
    }
    for pair in cron.windows(2) {
        let (a, b) = (num(&pair[0]["at"]), num(&pair[1]["at"]));
        // One restart per even second of the wall clock: never twice in one slot, and not
        // some other schedule (a loaded machine may fire late, so no lower bound tighter
        // than a second).
        assert_ne!(
            a / 2000,
            b / 2000,
            "two restarts in one 2 s slot: {cron:#?}"
        );
        assert!(
            (1000..=8000).contains(&(b - a)),
            "gap {} ms: {cron:#?}",
            b - a
        );
        assert_ne!(pair[0]["pid"], pair[1]["pid"]);
    }
    // A stopped process stays stopped; with --cron-revive it is started.
    let parked = t.process("parked").expect("parked");
    assert_eq!(parked["status"], "stopped", "{parked}");
    let h = t.history("parked");
    let stopped_at = h
        .iter()
        .find(|r| r["detail"] == "pmtui stop")
        .map(|r| num(&r["at"]))
        .expect("the stop is recorded");
    assert!(
        h.iter()
            .all(|r| r["reason"] != "cron" || num(&r["at"]) <= stopped_at),
        "cron restarted a stopped process: {h:#?}"
    );
    let revived = t.wait_status("revived", "online");
    assert!(num(&revived["restarts"]) >= 1, "{revived}");
    let h = t.history("revived");
    assert!(
        h.iter().any(|r| r["reason"] == "cron"
            && r["pid"] == 0
            && r["detail"]
                .as_str()
                .is_some_and(|d| d.contains("was stopped"))),
        "{h:#?}"
    );
}

#[test]
fn a_bad_cron_pattern_or_size_is_refused_with_the_field_named() {
    let t = TestHome::new();
    let out = t.run(&["start", "sleep 60", "--name", "bad", "--cron", "every day"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cron_restart") && err.contains("every day"),
        "{err}"
    );
    let out = t.run(&[
        "start",
        "sleep 60",
        "--name",
        "bad",
        "--max-memory-restart",
        "lots",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--max-memory-restart"), "{err}");
    let out = t.run(&["start", "sleep 60", "--name", "bad", "--min-uptime", "soon"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("--min-uptime"),
        "{err}"
    );
    assert!(t.process("bad").is_none(), "nothing was started");
    // Good values land in the spec in ms and bytes.
    t.ok(&[
        "start",
        "sleep 60",
        "--name",
        "good",
        "--max-memory-restart",
        "500M",
        "--min-uptime",
        "1m30s",
        "--restart-delay",
        "2s",
    ]);
    let spec = &t.describe("good")["spec"];
    assert_eq!(spec["max_memory_restart"], 500 * 1024 * 1024, "{spec}");
    assert_eq!(spec["restart"]["min_uptime_ms"], 90_000, "{spec}");
    assert_eq!(spec["restart"]["backoff"]["delay_ms"], 2000, "{spec}");
    assert_eq!(spec["restart"]["backoff"]["type"], "fixed", "{spec}");
}

fn frame(body: &[u8]) -> Vec<u8> {
    let mut out = (body.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(body);
    out
}

fn read_frame(s: &mut UnixStream) -> Option<Value> {
    let mut len = [0u8; 4];
    s.read_exact(&mut len).ok()?;
    let mut body = vec![0u8; u32::from_be_bytes(len) as usize];
    s.read_exact(&mut body).ok()?;
    serde_json::from_slice(&body).ok()
}

#[test]
fn history_keeps_reason_signal_and_last_stderr_lines_and_reaches_subscribers() {
    let t = TestHome::new();
    t.ok(&["ping"]);
    let mut s = UnixStream::connect(t.home().join("pmtui.sock")).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    s.write_all(&frame(br#"{"hello":{"protocol":2,"client":"test"}}"#))
        .expect("hello");
    read_frame(&mut s).expect("hello reply");
    s.write_all(&frame(
        br#"{"request":{"id":1,"request":{"cmd":"subscribe"}}}"#,
    ))
    .expect("subscribe");
    // Twelve stderr lines, one stdout line, then death by SIGUSR1.
    let script = t.script(
        "noisy.sh",
        "#!/bin/sh\ni=1\nwhile [ $i -le 12 ]; do echo \"err line $i\" >&2; i=$((i+1)); done\n\
         echo 'an out line'\nkill -USR1 $$\nsleep 5\n",
    );
    t.ok(&[
        "start",
        &script.display().to_string(),
        "--name",
        "noisy",
        "--no-autorestart",
    ]);
    let p = t.wait_status("noisy", "stopped");
    assert_eq!(p["exit_signal"], "SIGUSR1", "{p}");
    let h = t.history("noisy");
    assert_eq!(h.len(), 1, "{h:#?}");
    let r = &h[0];
    assert_eq!(r["reason"], "signal", "{r}");
    assert_eq!(r["exit_signal"], "SIGUSR1");
    assert_eq!(r["outcome"], "stopped");
    assert!(
        r["detail"]
            .as_str()
            .is_some_and(|d| d.contains("SIGUSR1") && d.contains("restart mode is no")),
        "{r}"
    );
    let expected: Vec<String> = (3..=12).map(|i| format!("err line {i}")).collect();
    assert_eq!(
        r["last_stderr"],
        serde_json::json!(expected),
        "the last 10 stderr lines only"
    );
    // `describe` shows it for people too.
    let text = t.ok(&["describe", "noisy"]);
    assert!(text.contains("signal: killed by SIGUSR1"), "{text}");
    assert!(text.contains("stderr| err line 12"), "{text}");
    // The subscriber heard the exit with the same record.
    let event = wait_until("an exit event", || {
        let f = read_frame(&mut s)?;
        (f["event"]["event"] == "exit").then_some(f)
    })
    .expect("an exit event");
    assert_eq!(event["event"]["record"]["reason"], "signal", "{event}");
    assert_eq!(
        event["event"]["record"]["last_stderr"],
        serde_json::json!(expected)
    );
    // A second run records only its own stderr, not the first run's.
    std::fs::write(&script, "#!/bin/sh\nexit 4\n").expect("rewrite");
    t.ok(&["restart", "noisy"]);
    let h = t.wait_history("noisy", "the second exit", |h| {
        h.iter().any(|r| r["exit_code"] == 4)
    });
    let second = h.iter().find(|r| r["exit_code"] == 4).expect("second exit");
    assert_eq!(second["last_stderr"], serde_json::json!([]), "{second}");
    assert_eq!(second["reason"], "exit code");
}

/// Restart first: after a crash the next run starts and the job answers commands at once,
/// while the dead run's last stderr lines are still being read. Here a grandchild keeps
/// the stderr pipe open (no treekill), and a debug fault makes the wait for those lines
/// minutes long instead of 200 ms: a `stop` right after the crash still answers, and the
/// history gets the dead run's last line once the pipe closes.
#[test]
fn commands_do_not_wait_for_the_dead_runs_last_stderr_lines() {
    if !cfg!(debug_assertions) {
        return;
    }
    let t = TestHome::new();
    let out = t
        .cmd()
        .env("PMTUI_FAULTS", "slow-stderr-drain:holder")
        .arg("ping")
        .output()
        .expect("ping");
    assert!(out.status.success(), "{out:?}");
    let tag = common::unique("holder");
    let sleep = t.tagged_sleep(&tag);
    let marker = t.path("holder.ran");
    let script = t.script(
        "holder.sh",
        &format!(
            "#!/bin/sh\nif [ ! -e {m} ]; then touch {m}; {sleep} 1000 & echo boom >&2; exit 3; fi\nexec {sleep} 999\n",
            m = marker.display()
        ),
    );
    t.ok(&[
        "start",
        &script.display().to_string(),
        "--name",
        "holder",
        "--no-treekill",
    ]);
    t.wait_history("holder", "the crash", |h| {
        h.iter().any(|r| r["exit_code"] == 3)
    });
    t.wait_for("holder", "the next run online", |p| {
        p["status"] == "online" && p["restarts"] == 1
    });
    let mut stop = t.cmd().args(["stop", "holder"]).spawn().expect("stop");
    let answered = wait_until("stop answers", || stop.try_wait().ok().flatten());
    if answered.is_none() {
        let _ = stop.kill();
        let _ = stop.wait();
    }
    // The grandchild of the dead run, still holding the pipe: ended by the test.
    for pid in common::pids_with(&tag) {
        let _ = std::process::Command::new("kill")
            .args(["-9", &pid.to_string()])
            .status();
    }
    let status = answered.expect("stop answered while the dead run's stderr was being read");
    assert!(status.success(), "{status:?}");
    t.wait_status("holder", "stopped");
    let h = t.wait_history("holder", "the crash's last stderr line", |h| {
        h.iter()
            .any(|r| r["exit_code"] == 3 && r["last_stderr"] == serde_json::json!(["boom"]))
    });
    assert!(
        h.iter().any(|r| r["outcome"] == "restart"),
        "the crash restarted: {h:#?}"
    );
}
