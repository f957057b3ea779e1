//! Scheduled tasks with real processes: a `schedule` makes an app a task (`scheduled`, not
//! run by `start`), firings run it to its exit, `pmtui run` runs it now, failures are
//! retried after the backoff, `overlap` decides about firings during a run, and `timeout`
//! kills a run that takes too long. Every run is in the history with its trigger.

mod common;

use common::{TestHome, num, pids_with, unique, wait_until};
use serde_json::{Value, json};

/// Never fires during a test: runs come from `pmtui run`.
const FAR: &str = "0 0 1 1 *";

/// Writes an ecosystem file with these apps and starts it.
fn start_file(t: &TestHome, apps: Value) {
    let file = t.path("tasks.json");
    std::fs::write(&file, json!({ "apps": apps }).to_string()).expect("write file");
    t.ok(&["start", file.to_str().expect("utf-8 path")]);
}

#[test]
fn a_six_field_schedule_runs_the_task_at_each_firing_and_it_returns_to_scheduled() {
    let t = TestHome::new();
    let script = t.script("tick.sh", "#!/bin/sh\necho tick\nexit 0\n");
    t.ok(&[
        "start",
        script.to_str().expect("utf-8"),
        "--name",
        "tick",
        "--schedule",
        "* * * * * *",
    ]);
    let h = t.wait_history("tick", "two scheduled runs", |h| {
        h.iter().filter(|r| r["trigger"] == "schedule").count() >= 2
    });
    for r in h.iter().filter(|r| r["trigger"] == "schedule") {
        assert_eq!(r["exit_code"], 0, "{r}");
        assert_eq!(r["outcome"], "scheduled", "{r}");
        assert!(num(&r["started_at"]) <= num(&r["at"]), "{r}");
        assert_eq!(r["last_stderr"], json!([]), "{r}");
    }
    let row = t.wait_for("tick", "scheduled with a next run", |p| {
        p["status"] == "scheduled" && p["next_run_at"].is_u64() && p["last_result"] == "ok"
    });
    // Exit 0 is never a restart.
    assert_eq!(row["restarts"], 0, "{row}");
    let ls = t.ok(&["ls"]);
    assert!(ls.contains("scheduled (next"), "{ls}");
}

#[test]
fn start_does_not_run_a_task_run_runs_it_now_and_exit_0_is_not_rerun() {
    let t = TestHome::new();
    let marker = t.path("ran");
    let script = t.script(
        "once.sh",
        &format!("#!/bin/sh\necho x >> {}\nexit 0\n", marker.display()),
    );
    t.ok(&[
        "start",
        script.to_str().expect("utf-8"),
        "--name",
        "once",
        "--schedule",
        FAR,
    ]);
    let row = t.wait_status("once", "scheduled");
    assert!(row["next_run_at"].is_u64(), "{row}");
    assert!(!marker.exists(), "start ran the task");
    assert!(t.history("once").is_empty());
    // `run` on an app that is not a task is refused.
    t.ok(&["start", "sleep 60", "--name", "plain"]);
    let out = t.run(&["run", "plain"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not a task"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    t.ok(&["run", "once"]);
    let h = t.wait_history("once", "the manual run", |h| !h.is_empty());
    assert_eq!(h[0]["trigger"], "manual", "{h:#?}");
    assert_eq!(h[0]["exit_code"], 0, "{h:#?}");
    t.wait_for("once", "scheduled again", |p| {
        p["status"] == "scheduled" && p["last_result"] == "ok"
    });
    // Not run again: one line in the marker, one record, after a while.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert_eq!(t.history("once").len(), 1);
    let ran = std::fs::read_to_string(&marker).expect("marker");
    assert_eq!(ran.lines().count(), 1);
}

#[test]
fn failed_runs_are_retried_with_the_backoff_and_the_stderr_tail_is_kept() {
    let t = TestHome::new();
    let script = t.script("fail.sh", "#!/bin/sh\necho 'it broke' >&2\nexit 4\n");
    start_file(
        &t,
        json!([{
            "name": "flaky",
            "script": script,
            "schedule": FAR,
            "retries": 2,
            "restart_delay": "200ms",
        }]),
    );
    t.wait_status("flaky", "scheduled");
    t.ok(&["run", "flaky"]);
    let h = t.wait_history("flaky", "three runs", |h| h.len() >= 3);
    let triggers: Vec<&Value> = h.iter().map(|r| &r["trigger"]).collect();
    assert_eq!(
        triggers,
        [&json!("manual"), &json!("retry"), &json!("retry")],
        "{h:#?}"
    );
    assert_eq!(h[0]["outcome"], "retry", "{h:#?}");
    assert_eq!(h[1]["outcome"], "retry", "{h:#?}");
    assert_eq!(h[2]["outcome"], "scheduled", "{h:#?}");
    for r in &h {
        assert_eq!(r["exit_code"], 4, "{r}");
        assert_eq!(r["last_stderr"], json!(["it broke"]), "{r}");
    }
    // The backoff: the retry started at least restart_delay after the failure.
    assert!(num(&h[1]["started_at"]) >= num(&h[0]["at"]) + 150, "{h:#?}");
    t.wait_for("flaky", "scheduled after the last retry", |p| {
        p["status"] == "scheduled" && p["last_result"] == "exit 4"
    });
    std::thread::sleep(std::time::Duration::from_millis(800));
    assert_eq!(t.history("flaky").len(), 3, "no fourth run");
}

#[test]
fn a_run_longer_than_its_timeout_is_killed_and_recorded() {
    let t = TestHome::new();
    let tag = unique("tasktimeout");
    let sleep = t.tagged_sleep(&tag);
    start_file(
        &t,
        json!([{
            "name": "slow",
            "script": format!("{sleep} 60"),
            "schedule": FAR,
            "timeout": "1s",
        }]),
    );
    t.wait_status("slow", "scheduled");
    t.ok(&["run", "slow"]);
    let h = t.wait_history("slow", "the timed-out run", |h| !h.is_empty());
    assert_eq!(h[0]["reason"], "timeout", "{h:#?}");
    assert_eq!(h[0]["trigger"], "manual", "{h:#?}");
    assert_eq!(h[0]["outcome"], "scheduled", "{h:#?}");
    assert!(num(&h[0]["uptime_ms"]) >= 900, "{h:#?}");
    t.wait_for("slow", "scheduled, last timeout", |p| {
        p["status"] == "scheduled" && p["last_result"] == "timeout"
    });
    assert!(
        wait_until("the sleep to be gone", || pids_with(&tag)
            .is_empty()
            .then_some(()))
        .is_some(),
        "the run's process survived its timeout"
    );
}

/// Starts a task firing every second whose run takes about 2.5 s, with `overlap`.
fn overlapping(t: &TestHome, overlap: &str) {
    let script = t.script("slow.sh", "#!/bin/sh\nsleep 2.5\nexit 0\n");
    start_file(
        t,
        json!([{
            "name": "busy",
            "script": script,
            "schedule": "* * * * * *",
            "overlap": overlap,
        }]),
    );
}

#[test]
fn overlap_skip_drops_firings_while_a_run_goes() {
    let t = TestHome::new();
    overlapping(&t, "skip");
    let h = t.wait_history("busy", "two runs", |h| h.len() >= 2);
    for r in &h[..2] {
        assert_eq!(r["exit_code"], 0, "{r}");
        assert!(num(&r["uptime_ms"]) >= 2400, "not cut short: {r}");
    }
    // The second run started after the first ended (at the next firing), not during it.
    assert!(num(&h[1]["started_at"]) >= num(&h[0]["at"]), "{h:#?}");
}

#[test]
fn overlap_queue_runs_once_more_right_after() {
    let t = TestHome::new();
    overlapping(&t, "queue");
    let h = t.wait_history("busy", "two runs", |h| h.len() >= 2);
    assert_eq!(h[0]["exit_code"], 0, "{h:#?}");
    // The queued run starts as soon as the first ends (well before the next firing slot).
    let gap = num(&h[1]["started_at"]).saturating_sub(num(&h[0]["at"]));
    assert!(gap < 500, "queued run started {gap} ms after: {h:#?}");
}

#[test]
fn overlap_replace_stops_the_run_and_starts_anew() {
    let t = TestHome::new();
    overlapping(&t, "replace");
    let h = t.wait_history("busy", "a replaced run", |h| {
        h.iter().any(|r| r["reason"] == "replaced")
    });
    let r = h
        .iter()
        .find(|r| r["reason"] == "replaced")
        .expect("replaced");
    assert!(num(&r["uptime_ms"]) < 2400, "replaced before its end: {r}");
    assert_eq!(r["trigger"], "schedule", "{r}");
}
