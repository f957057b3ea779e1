//! Rolling reload against real servers under a client loop that counts failures: Python on
//! LISTEN_FDS and Node with a plain `listen(PORT)`, two instances each (and one alone on
//! a daemon socket), reloaded (one at a time and with `--parallel 2`) with zero failed
//! requests and every pid replaced; a reload whose new version crashes at start
//! fails naming the instance while the old instances keep serving; a new run that is not
//! ready in time (`wait_ready`) stops the reload; and the progress shown in `ls --json`.

mod common;
use common::http::{Load, assert_no_failure, get};
use common::servers::{
    PY_SERVER, every_pid_answers, online_pids, socket_of, start_node, start_py, which,
};
use common::{TestHome, wait_until};
use serde_json::Value;
use std::collections::BTreeSet;
use std::net::SocketAddr;

/// What a crashing new version of a server does at start.
const CRASH: &str =
    "import sys\nprint('boom: bad config', file=sys.stderr, flush=True)\nsys.exit(4)\n";

/// The pids of the instances of `name`, online or not.
fn pids(t: &TestHome, name: &str) -> BTreeSet<String> {
    t.list()
        .iter()
        .filter(|p| p["name"] == name)
        .map(|p| p["pid"].to_string())
        .collect()
}

/// Reloads `name` (with `extra` arguments) under a request loop on `addr`: no request
/// fails, every pid is replaced, and the new pids answer.
fn reload_under_load(t: &TestHome, name: &str, addr: SocketAddr, n: usize, extra: &[&str]) {
    let before = online_pids(t, name, n);
    every_pid_answers(addr, &before);
    let load = Load::start(addr);
    // Let the loop run before the reload begins.
    wait_until("the loop is answered", || get(addr).ok()).expect("answers");
    let mut args = vec!["reload", name];
    args.extend(extra);
    let out = t.ok(&args);
    assert!(out.contains(&format!("reloaded {name}")), "{out}");
    let after = online_pids(t, name, n);
    assert!(
        before.is_disjoint(&after),
        "every pid is replaced: before {before:?}, after {after:?}"
    );
    every_pid_answers(addr, &after);
    let tally = load.finish();
    assert_no_failure(&tally, &format!("reload of {name}"));
    let history = t.ok(&["describe", name, "--json"]);
    let details: Vec<Value> = serde_json::from_str(&history).expect("describe --json");
    for d in &details {
        let last = d["history"].as_array().and_then(|h| h.last()).cloned();
        let last = last.unwrap_or_else(|| panic!("no history: {d}"));
        assert_eq!(last["reason"], "reload", "{last}");
        assert!(
            before.contains(&last["pid"].to_string()),
            "the record is the old run's: {last}"
        );
    }
}

#[test]
fn python_instances_on_listen_fds_reload_with_no_failed_request() {
    let t = TestHome::new();
    start_py(
        &t,
        "py",
        &[
            "-i",
            "2",
            "--listen",
            "tcp://127.0.0.1:0",
            "--listen-timeout",
            "1s",
        ],
    );
    online_pids(&t, "py", 2);
    let addr = socket_of(&t.process("py").expect("py"));
    reload_under_load(&t, "py", addr, 2, &[]);
    reload_under_load(&t, "py", addr, 2, &["--parallel", "2"]);
}

#[test]
fn a_single_instance_on_a_daemon_socket_reloads_with_no_refused_connection() {
    let t = TestHome::new();
    start_py(
        &t,
        "one",
        &["--listen", "tcp://127.0.0.1:0", "--listen-timeout", "1s"],
    );
    online_pids(&t, "one", 1);
    let addr = socket_of(&t.process("one").expect("one"));
    for _ in 0..2 {
        reload_under_load(&t, "one", addr, 1, &[]);
    }
}

#[test]
fn node_instances_with_a_plain_listen_reload_with_no_failed_request() {
    if which("node").is_none() {
        eprintln!("node is not installed; skipping the Node reload test");
        return;
    }
    let t = TestHome::new();
    let port = start_node(&t, "node", "2");
    online_pids(&t, "node", 2);
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    reload_under_load(&t, "node", addr, 2, &[]);
}

#[test]
fn a_new_version_that_crashes_stops_the_reload_and_the_old_instances_keep_serving() {
    let t = TestHome::new();
    start_py(
        &t,
        "py",
        &[
            "-i",
            "2",
            "--listen",
            "tcp://127.0.0.1:0",
            // A crash is seen when it happens; this only keeps a slow start from counting as
            // ready on a loaded machine.
            "--listen-timeout",
            "20s",
        ],
    );
    let before = online_pids(&t, "py", 2);
    let addr = socket_of(&t.process("py").expect("py"));
    every_pid_answers(addr, &before);
    // The new version of the script fails at start.
    std::fs::write(t.path("server.py"), format!("{CRASH}{PY_SERVER}")).expect("new version");
    let load = Load::start(addr);
    let out = t.run(&["reload", "py"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "the reload fails: {out:?}");
    assert!(
        stderr.contains("py (id 0)")
            && stderr.contains("exited with code 4")
            && stderr.contains("boom: bad config")
            && stderr.contains("old instances keep serving"),
        "the error names the instance and why: {stderr}"
    );
    assert_eq!(pids(&t, "py"), before, "the old instances still run");
    every_pid_answers(addr, &before);
    let tally = load.finish();
    assert_no_failure(&tally, "a failed reload");
    let rows = t.list();
    assert!(
        rows.iter()
            .all(|p| p["status"] == "online" && p["reload"].is_null()),
        "{rows:?}"
    );
    let first = rows.iter().find(|p| p["id"] == 0).expect("id 0");
    assert!(
        first["status_reason"]
            .as_str()
            .is_some_and(|r| r.contains("reload failed")),
        "{first}"
    );
}

#[test]
fn a_new_run_not_ready_in_time_stops_the_reload() {
    let t = TestHome::new();
    // Ready (READY=1) only while the file `ready` exists.
    let ready = t.path("ready");
    let body = format!(
        "import os, socket, time\n\
         if os.path.exists({ready:?}):\n\
         \x20   s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\n\
         \x20   s.sendto(b'READY=1', os.environ['NOTIFY_SOCKET'])\n\
         time.sleep(300)\n",
        ready = ready.display().to_string()
    );
    let app = t.script("app.py", &body);
    std::fs::write(&ready, "").expect("ready file");
    t.ok(&[
        "start",
        app.to_str().expect("utf-8 path"),
        "--name",
        "slow",
        "--wait-ready",
        // Python may take seconds to start on a loaded machine.
        "--listen-timeout",
        "8s",
    ]);
    let row = t.wait_for("slow", "ready", |p| p["readiness"] == "ready");
    let old = row["pid"].to_string();
    std::fs::remove_file(&ready).expect("no longer ready");
    let out = t.run(&["reload", "slow"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        stderr.contains("slow (id 0)") && stderr.contains("listen_timeout"),
        "{stderr}"
    );
    let row = t.process("slow").expect("slow");
    assert_eq!(row["pid"].to_string(), old, "the old run carries on: {row}");
    assert_eq!(row["status"], "online");
    // Ready again: the next reload goes through.
    std::fs::write(&ready, "").expect("ready file");
    t.ok(&["reload", "slow"]);
    let row = t.process("slow").expect("slow");
    assert_ne!(row["pid"].to_string(), old, "{row}");
}

#[test]
fn ls_json_shows_the_progress_of_a_reload() {
    let t = TestHome::new();
    t.ok(&[
        "start",
        "sleep 300",
        "--name",
        "pair",
        "-i",
        "2",
        "--listen-timeout",
        "3s",
    ]);
    online_pids(&t, "pair", 2);
    let mut reload = t
        .cmd()
        .args(["reload", "pair"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("reload");
    let seen = wait_until("a row shows its reload", || {
        t.list()
            .into_iter()
            .find(|p| p["reload"]["phase"] == "waiting for ready" && p["reload"]["of"] == 2)
    })
    .expect("the progress is shown");
    assert_eq!(seen["reload"]["step"], 1, "{seen}");
    assert_eq!(seen["reload"]["new_pid"], seen["pid"], "{seen}");
    assert!(seen["reload"]["old_pid"].is_u64(), "{seen}");
    let queued = t
        .list()
        .into_iter()
        .find(|p| p["id"] != seen["id"])
        .expect("the other instance");
    assert_eq!(queued["reload"]["phase"], "queued", "{queued}");
    assert!(reload.wait().expect("reload ends").success());
    assert!(t.list().iter().all(|p| p["reload"].is_null()));
}
