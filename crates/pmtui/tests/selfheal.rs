//! The daemon's own failures are noticed, recorded and recovered from: a job task that
//! panics leaves no unsupervised child and no false success, and is started again; a
//! sampler that panics or gets stuck is replaced, so memory limits keep working.
//!
//! The failures are injected with `PMTUI_FAULTS` (debug builds only: see the supervisor's
//! `faults.rs`), given to the command that starts the daemon.

mod common;
use common::{TestHome, alive, pids_with, unique, wait_until};
use serde_json::Value;

fn start_daemon_with(t: &TestHome, faults: &str) {
    let out = t
        .cmd()
        .env("PMTUI_FAULTS", faults)
        .arg("ping")
        .output()
        .expect("ping");
    assert!(out.status.success(), "{out:?}");
}

fn history(t: &TestHome, name: &str) -> Vec<Value> {
    let out = t.ok(&["describe", "--json", name]);
    let details: Vec<Value> = serde_json::from_str(&out).expect("describe json");
    details[0]["history"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn incidents(t: &TestHome) -> Vec<String> {
    let pong: Value = serde_json::from_str(&t.ok(&["ping", "--json"])).expect("ping json");
    pong["incidents"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|i| i.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_job_that_panics_while_stopping_is_reported_ends_its_child_and_works_again() {
    let t = TestHome::new();
    start_daemon_with(&t, "job-panic-on-stop:victim");
    let tag = unique("heal");
    let command = format!("{} 300", t.tagged_sleep(&tag));
    t.ok(&["start", &command, "--name", "victim"]);
    let row = t.wait_status("victim", "online");
    let pid = row["pid"].as_i64().expect("pid");
    let out = t.run(&["stop", "victim"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "no success for a stop that failed");
    assert!(err.contains("did not complete for victim"), "{err}");
    // The child the failed job owned is not left running unsupervised.
    wait_until("the orphaned child is ended", || {
        (!alive(pid)).then_some(())
    })
    .expect("the child was ended");
    t.wait_status("victim", "stopped");
    let records = history(&t, "victim");
    assert!(
        records.iter().any(|r| r["reason"] == "internal error"),
        "recorded in the history: {records:?}"
    );
    assert!(
        incidents(&t).iter().any(|i| i.contains("victim")),
        "reported by ping"
    );
    let log = std::fs::read_to_string(t.home().join("daemon.log")).expect("daemon.log");
    assert!(log.contains("the job task panicked"), "and in daemon.log");
    // A fresh job took over: the process can be run and stopped again.
    t.ok(&["restart", "victim"]);
    let row = t.wait_status("victim", "online");
    assert_ne!(row["pid"].as_i64(), Some(pid));
    t.ok(&["stop", "victim"]);
    wait_until("nothing of it runs", || {
        pids_with(&tag).is_empty().then_some(())
    })
    .expect("stopped for real");
}

#[test]
fn a_job_that_panics_on_an_exit_is_restarted_and_runs_its_process_again() {
    let t = TestHome::new();
    start_daemon_with(&t, "job-panic-on-exit:flaky");
    // The first run exits at once; the ones after keep running.
    let script = t.script(
        "flaky.sh",
        "#!/bin/sh\nif [ -e ran ]; then exec sleep 300; fi\ntouch ran\nexit 3\n",
    );
    t.ok(&[
        "start",
        &script.display().to_string(),
        "--name",
        "flaky",
        "--cwd",
        &t.home().display().to_string(),
    ]);
    let row = t.wait_for("flaky", "running again after the failed job", |p| {
        p["status"] == "online" && p["restarts"].as_u64().is_some_and(|r| r >= 1)
    });
    assert!(row["pid"].as_i64().is_some());
    let records = history(&t, "flaky");
    assert!(
        records
            .iter()
            .any(|r| r["reason"] == "internal error" && r["outcome"] == "restart"),
        "{records:?}"
    );
}

/// A process well over its memory limit, so that only a working sampler restarts it.
fn start_hog(t: &TestHome) {
    t.ok(&[
        "start",
        "python3 -c \"import time; x = b'x' * (80 << 20); time.sleep(300)\"",
        "--name",
        "hog",
        "--max-memory-restart",
        "30M",
    ]);
}

fn wait_memory_restart(t: &TestHome) {
    let found = wait_until("a memory-limit restart", || {
        history(t, "hog")
            .iter()
            .any(|r| r["reason"] == "memory limit")
            .then_some(())
    });
    assert!(
        found.is_some(),
        "memory limits still work after the sampler failed"
    );
}

#[test]
fn a_sampler_that_panics_is_started_afresh_and_memory_limits_hold() {
    let t = TestHome::new();
    start_daemon_with(&t, "sampler-panic");
    start_hog(&t);
    wait_memory_restart(&t);
    assert!(
        incidents(&t).iter().any(|i| i.contains("sampler failed")),
        "{:?}",
        incidents(&t)
    );
}

#[test]
fn a_sampler_that_gets_stuck_is_replaced_and_memory_limits_hold() {
    let t = TestHome::new();
    start_daemon_with(&t, "sampler-stall");
    start_hog(&t);
    wait_memory_restart(&t);
    assert!(
        incidents(&t).iter().any(|i| i.contains("sampler stopped")),
        "{:?}",
        incidents(&t)
    );
}
