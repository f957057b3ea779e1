//! A process that outgrows `--max-memory-restart` as soon as it starts is a crash loop like
//! any other: its memory-limit restarts count as unstable runs, and it ends `errored` with
//! the reason instead of restarting on every metrics sample forever.

mod common;
use common::{TestHome, alive};
use serde_json::Value;

#[test]
fn memory_limit_restarts_within_min_uptime_end_in_errored() {
    let t = TestHome::new();
    let hog = t.path("hog.py");
    std::fs::write(
        &hog,
        "import time\ndata = bytearray(80 * 1024 * 1024)\nfor i in range(0, len(data), 4096): data[i] = 1\ntime.sleep(300)\n",
    )
    .expect("write hog.py");
    t.ok(&[
        "start",
        hog.to_str().expect("utf8"),
        "--name",
        "hog",
        "--max-memory-restart",
        "40M",
        // Longer than a run lasts before the sampler sees it, even on a loaded machine.
        "--min-uptime",
        "20s",
        "--max-restarts",
        "2",
    ]);
    let row = t.wait_status("hog", "errored");
    assert!(row["pid"].is_null(), "{row}");
    let reason = row["status_reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("crash loop")
            && reason.contains("max_memory_restart")
            && reason.contains("max_restarts (2)"),
        "says why: {reason}"
    );
    assert_eq!(row["restarts"], 2, "two restarts, then it gave up: {row}");

    let out = t.ok(&["describe", "hog", "--json"]);
    let detail: Vec<Value> = serde_json::from_str(&out).expect("describe --json");
    let history = detail[0]["history"].as_array().expect("history");
    let memory = history
        .iter()
        .filter(|r| r["reason"] == "memory limit" && r["outcome"] == "restart")
        .count();
    assert_eq!(memory, 2, "{history:?}");
    let last = history.last().expect("a last record");
    assert_eq!(last["outcome"], "errored", "{last}");
    assert!(
        history
            .iter()
            .filter_map(|r| r["pid"].as_i64())
            .all(|p| p == 0 || !alive(p)),
        "no run is left behind"
    );

    // A person's restart forgives it, as for a crash loop.
    t.ok(&["restart", "hog"]);
    t.wait_for("hog", "running again", |p| {
        p["status"] == "online" || p["restarts"].as_i64() > Some(2)
    });
}

#[test]
fn a_memory_limit_restart_waits_for_the_configured_delay() {
    let t = TestHome::new();
    let hog = t.path("hog.py");
    std::fs::write(
        &hog,
        "import time\ndata = bytearray(80 * 1024 * 1024)\nfor i in range(0, len(data), 4096): data[i] = 1\ntime.sleep(300)\n",
    )
    .expect("write hog.py");
    t.ok(&[
        "start",
        hog.to_str().expect("utf8"),
        "--name",
        "slow",
        "--max-memory-restart",
        "40M",
        "--restart-delay",
        "3s",
    ]);
    let record = common::wait_until("a memory-limit record", || {
        let out = t.ok(&["describe", "slow", "--json"]);
        let detail: Vec<Value> = serde_json::from_str(&out).ok()?;
        detail[0]["history"]
            .as_array()?
            .iter()
            .find(|r| r["reason"] == "memory limit")
            .cloned()
    })
    .expect("restarted for its memory");
    let at = record["at"].as_u64().expect("at");
    let due = record["next_restart_at"].as_u64().expect("next_restart_at");
    assert!(due >= at + 2_900, "due after the delay: {record}");
    assert!(
        record["detail"]
            .as_str()
            .is_some_and(|d| d.contains("restarting in 3000 ms")),
        "{record}"
    );
    // And it does start again after it.
    t.wait_for("slow", "restarted", |p| p["restarts"].as_u64() >= Some(1));
}
