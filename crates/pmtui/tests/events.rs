//! The events that need a particular cause, each seen by `pmtui events --json` with its
//! fields (and by a hook where that costs nothing more): `memory_limit` (a run over
//! `max_memory_restart`), `health` (the probe's verdict changing both ways), `watch` (a
//! watched file edited) and `errored` (a crash loop given up). The common events (crash,
//! restart, start, exit, task_*) are in hooks.rs.

mod common;

use common::events::Follower;
use common::{TestHome, unique, wait_until};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// Writes an ecosystem file with these apps and starts it.
fn start_file(t: &TestHome, apps: Value) {
    let out = start_unready(t, apps);
    common::succeeded(&["start", "apps.json"], &out);
}

/// The same, for apps that do not become ready (`start` says so and fails; they are
/// started all the same).
fn start_unready(t: &TestHome, apps: Value) -> std::process::Output {
    let file = t.path("apps.json");
    std::fs::write(&file, json!({ "apps": apps }).to_string()).expect("write file");
    t.run(&["start", file.to_str().expect("utf-8 path")])
}

/// A follower of every process's events, known to be subscribed (a `ping` app is
/// restarted until its events come through).
fn subscribed(t: &TestHome) -> Follower {
    let sleep = t.tagged_sleep(&unique("evping"));
    t.ok(&["start", &sleep, "--name", "ping", "--", "600"]);
    let mut events = Follower::start(t, &[]);
    events.ready(t, "ping");
    events
}

/// The JSON a `cat > x.tmp && mv x.tmp x.json` hook wrote, once it is there.
fn hook_json(t: &TestHome, file: &str) -> Value {
    let path = t.path(file);
    let text = wait_until(file, || {
        std::fs::read_to_string(&path)
            .ok()
            .filter(|s| !s.is_empty())
    })
    .unwrap_or_else(|| panic!("the hook never wrote {file}"));
    serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// A hook command that keeps the event JSON in `<name>.json` (written whole).
fn keep(name: &str) -> String {
    format!("cat > {name}.tmp && mv {name}.tmp {name}.json")
}

#[test]
fn memory_limit_comes_with_the_exit_of_the_run_over_the_limit() {
    let t = TestHome::new();
    let mut events = subscribed(&t);
    let hog = t.path("hog.py");
    std::fs::write(
        &hog,
        "import time\ndata = bytearray(60 * 1024 * 1024)\nfor i in range(0, len(data), 4096): data[i] = 1\ntime.sleep(300)\n",
    )
    .expect("write hog.py");
    start_file(
        &t,
        json!([{ "name": "hog", "script": hog, "max_memory_restart": "30M",
                 "hooks": { "memory_limit": keep("memory") } }]),
    );
    let e = events.wait("memory_limit of hog", |e| {
        e["event"] == "memory_limit" && e["name"] == "hog"
    });
    t.ok(&["stop", "hog"]);
    assert_eq!(e["reason"], "memory limit", "{e}");
    assert!(
        e["pid"].as_u64().is_some_and(|p| p > 0),
        "the run that ended: {e}"
    );
    let status = e["status"].as_str().unwrap_or_default();
    assert!(
        status == "launching" || status == "waiting restart",
        "restarted, not the dead run's online: {e}"
    );
    let exit = events.wait("its exit", |x| {
        x["event"] == "exit" && x["name"] == "hog" && x["pid"] == e["pid"]
    });
    assert_eq!(exit["reason"], "memory limit", "{exit}");
    let pos = |x: &Value| events.seen.iter().position(|s| s == x);
    assert!(pos(&exit) < pos(&e), "exit first: {:#?}", events.seen);
    let hooked = hook_json(&t, "memory.json");
    assert_eq!(hooked["event"], "memory_limit", "{hooked}");
    assert_eq!(hooked["pid"], e["pid"], "{hooked}");
}

#[test]
fn health_events_say_each_change_of_verdict() {
    let t = TestHome::new();
    let mut events = subscribed(&t);
    let go = t.path("go");
    let sleep = t.tagged_sleep(&unique("evhealth"));
    start_unready(
        &t,
        json!([{ "name": "probed", "script": sleep, "args": ["600"],
                 "health_check": { "type": "exec", "command": format!("test -e {}", go.display()),
                                   "interval": "200ms", "retries": 1, "on_failure": "none" } }]),
    );
    let down = events.wait("unhealthy", |e| {
        e["event"] == "health" && e["name"] == "probed"
    });
    assert_eq!(down["reason"], "unhealthy", "{down}");
    assert_eq!(
        down["status"], "online",
        "left running (on_failure none): {down}"
    );
    assert!(down["pid"].as_u64().is_some_and(|p| p > 0), "{down}");
    assert!(
        down["detail"]
            .as_str()
            .is_some_and(|d| d.contains("exit 1")),
        "the probe's message: {down}"
    );
    std::fs::write(&go, "").expect("go");
    let up = events.wait("healthy", |e| {
        e["event"] == "health" && e["name"] == "probed" && e["reason"] == "healthy"
    });
    assert_eq!(up["pid"], down["pid"], "the same run: {up}");
    // One event per change, not per probe.
    let changes = events
        .seen
        .iter()
        .filter(|e| e["event"] == "health" && e["name"] == "probed")
        .count();
    assert_eq!(changes, 2, "{:#?}", events.seen);
}

#[test]
fn watch_comes_with_the_exit_of_the_run_a_change_restarted() {
    let t = TestHome::new();
    let mut events = subscribed(&t);
    let app = t.path("app");
    std::fs::create_dir_all(&app).expect("mkdir");
    let sleep = t.tagged_sleep(&unique("evwatch"));
    start_file(
        &t,
        json!([{ "name": "watched", "script": sleep, "args": ["600"], "cwd": app,
                 "watch": true, "hooks": { "watch": keep("../watch") } }]),
    );
    t.wait_status("watched", "online");
    // Edited until a restart comes: the watch is set up shortly after the start.
    let deadline = Instant::now() + common::DEADLINE;
    let mut n = 0;
    let e = loop {
        n += 1;
        std::fs::write(app.join("config.txt"), format!("v{n}")).expect("edit");
        let found = wait_for_a_while(&mut events, Duration::from_secs(3), |e| {
            e["event"] == "watch" && e["name"] == "watched"
        });
        if let Some(e) = found {
            break e;
        }
        assert!(
            Instant::now() < deadline,
            "no watch event: {:#?}",
            events.seen
        );
    };
    assert_eq!(e["reason"], "watch", "{e}");
    assert!(
        e["detail"]
            .as_str()
            .is_some_and(|d| d.contains("config.txt")),
        "names the change: {e}"
    );
    assert!(e["pid"].as_u64().is_some_and(|p| p > 0), "{e}");
    assert_ne!(e["status"], "online", "what the end leads to: {e}");
    let start = events.wait("the new run", |s| {
        s["event"] == "start" && s["name"] == "watched" && s["pid"] != e["pid"]
    });
    assert!(start["pid"].as_u64().is_some(), "{start}");
    let hooked = hook_json(&t, "watch.json");
    assert_eq!(hooked["event"], "watch", "{hooked}");
}

#[test]
fn errored_says_why_it_gave_up_and_the_last_exit_says_errored() {
    let t = TestHome::new();
    let mut events = subscribed(&t);
    let bad = t.script("bad.sh", "#!/bin/sh\necho 'no database' >&2\nexit 5\n");
    start_unready(
        &t,
        json!([{ "name": "loop", "script": bad, "max_restarts": 1, "min_uptime": "20s",
                 "hooks": { "errored": keep("errored") } }]),
    );
    let e = events.wait("errored", |e| {
        e["event"] == "errored" && e["name"] == "loop"
    });
    assert_eq!(e["status"], "errored", "{e}");
    assert_eq!(e["exit_code"], 5, "{e}");
    assert!(
        e["detail"]
            .as_str()
            .is_some_and(|d| d.contains("crash loop")),
        "says why: {e}"
    );
    let last_exit = events.wait("the last exit", |x| {
        x["event"] == "exit" && x["name"] == "loop" && x["reason"] == "crash loop"
    });
    assert_eq!(last_exit["status"], "errored", "{last_exit}");
    let hooked = hook_json(&t, "errored.json");
    assert_eq!(hooked["event"], "errored", "{hooked}");
    assert_eq!(hooked["exit_code"], 5, "{hooked}");
}

/// An event matching `check` seen within `wait` (kept in `seen` either way).
fn wait_for_a_while(
    events: &mut Follower,
    wait: Duration,
    check: impl Fn(&Value) -> bool,
) -> Option<Value> {
    let until = Instant::now() + wait;
    loop {
        if let Some(found) = events.seen.iter().find(|e| check(e)) {
            return Some(found.clone());
        }
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return None;
        }
        if let Ok(v) = events
            .lines
            .recv_timeout(left.min(Duration::from_millis(200)))
        {
            events.seen.push(v);
        }
    }
}
