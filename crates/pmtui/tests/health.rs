//! Health probes with real programs: an HTTP server whose /health turns 503 (restarted,
//! with the probe and its error in the history), a tcp probe that fails until the app
//! listens (unhealthy, then healthy and ready, never restarted with `on_failure: none`), an
//! exec probe that hangs (killed at its timeout, tree and all), and health in `ls`,
//! `describe` and the Prometheus text. Ports are found by binding port 0 first.

mod common;
use common::http::free_port;
use common::{TestHome, pids_with, wait_until};

#[test]
fn an_http_server_whose_health_turns_503_is_restarted_with_the_reason() {
    let t = TestHome::new();
    let port = free_port();
    let sick = t.path("sick");
    let script = t.script(
        "web.py",
        &format!(
            r#"import http.server, os
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        code = 503 if os.path.exists({sick:?}) else 200
        self.send_response(code)
        self.end_headers()
        self.wfile.write(b"ok" if code == 200 else b"sick")
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", {port}), H).serve_forever()
"#,
            sick = sick.display().to_string()
        ),
    );
    let url = format!("http://127.0.0.1:{port}/health");
    t.ok(&[
        "start",
        script.to_str().expect("utf8"),
        "--name",
        "web",
        "--health-http",
        &url,
        "--health-interval",
        "200ms",
        "--health-timeout",
        "2s",
        "--health-retries",
        "2",
    ]);
    let p = t.wait_for("web", "healthy", |p| p["health"] == "healthy");
    assert_eq!(
        p["readiness"], "ready",
        "the first pass makes it ready: {p}"
    );
    assert_eq!(p["last_probe"]["ok"], true, "{p}");
    assert_eq!(p["last_probe"]["message"], "GET /health → 200", "{p}");
    let first_pid = p["pid"].as_u64().expect("pid");

    std::fs::write(&sick, "").expect("sick");
    let p = t.wait_for("web", "restarted by its probe", |p| p["restarts"] == 1);
    // Healthy again once the app recovers, in its new run.
    std::fs::remove_file(&sick).expect("well");
    let history = t.describe("web")["history"].clone();
    let record = history
        .as_array()
        .and_then(|h| h.iter().find(|r| r["reason"] == "health check"))
        .cloned()
        .unwrap_or_else(|| panic!("a health check record: {history:#}"));
    let detail = record["detail"].as_str().unwrap_or_default();
    assert!(
        detail.starts_with("health check failed: GET /health → 503"),
        "{record}"
    );
    assert_eq!(record["pid"].as_u64(), Some(first_pid), "{record}");
    assert_eq!(record["outcome"], "restart", "{record}");
    let p2 = t.wait_for("web", "healthy again", |p| {
        p["health"] == "healthy" && p["pid"].as_u64() != Some(first_pid)
    });
    assert_eq!(p2["restarts"], p["restarts"], "no second restart: {p2}");
}

#[test]
fn a_tcp_probe_fails_until_the_app_listens() {
    let t = TestHome::new();
    let port = free_port();
    let go = t.path("go");
    let script = t.script(
        "late.py",
        &format!(
            r#"import os, socket, time
while not os.path.exists({go:?}):
    time.sleep(0.05)
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", {port}))
s.listen(16)
while True:
    c, _ = s.accept()
    c.close()
"#,
            go = go.display().to_string()
        ),
    );
    let target = format!("127.0.0.1:{port}");
    t.ok(&[
        "start",
        script.to_str().expect("utf8"),
        "--name",
        "late",
        "--health-tcp",
        &target,
        "--health-interval",
        "100ms",
        "--health-retries",
        "2",
        "--health-on-failure",
        "none",
    ]);
    let p = t.wait_for("late", "unhealthy", |p| p["health"] == "unhealthy");
    assert_eq!(p["readiness"], "pending", "never passed: not ready: {p}");
    let message = p["last_probe"]["message"].as_str().unwrap_or_default();
    assert_eq!(message, format!("tcp {target}: connection refused"), "{p}");
    assert!(p["last_probe"]["failures"].as_u64() >= Some(2), "{p}");
    let table = t.ok(&["ls"]);
    assert!(
        table.contains("health") && table.contains("unhealthy"),
        "{table}"
    );
    let prometheus = t.ok(&["metrics", "--prometheus"]);
    assert!(
        prometheus.contains("pmtui_process_health{id=\"0\",name=\"late\",namespace=\"default\"} 0"),
        "{prometheus}"
    );

    std::fs::write(&go, "").expect("go");
    let p = t.wait_for("late", "healthy", |p| p["health"] == "healthy");
    assert_eq!(p["readiness"], "ready", "{p}");
    assert_eq!(p["restarts"], 0, "on_failure none never restarts: {p}");
    let human = t.ok(&["describe", "late"]);
    assert!(
        human.contains(&format!("tcp {target}: connected")),
        "{human}"
    );
}

#[test]
fn a_hanging_exec_probe_is_killed_at_its_timeout() {
    let t = TestHome::new();
    let tag = common::unique("probe");
    let sleep = t.tagged_sleep(&tag);
    let app = t.tagged_sleep("app");
    // The probe hangs, and leaves a grandchild that calls setsid on its way.
    let command = format!("setsid {sleep} 601 & exec {sleep} 600");
    t.ok(&[
        "start",
        &app,
        "--name",
        "hangs",
        "--health-cmd",
        &command,
        "--health-timeout",
        "300ms",
        "--health-interval",
        "500ms",
        "--health-retries",
        "1",
        "--health-on-failure",
        "none",
        "--",
        "600",
    ]);
    let p = t.wait_for("hangs", "a failed probe", |p| {
        p["last_probe"]["ok"] == false
    });
    let message = p["last_probe"]["message"].as_str().unwrap_or_default();
    assert!(message.ends_with("timed out after 300 ms (killed)"), "{p}");
    assert!(p["last_probe"]["duration_ms"].as_u64() < Some(5_000), "{p}");
    // Every probe's tree is gone; stop the probing and make sure nothing is left.
    t.ok(&["stop", "hangs"]);
    let left = wait_until("the probes' trees are gone", || {
        let left = pids_with(&tag);
        left.is_empty().then_some(())
    });
    assert!(left.is_some(), "left behind: {:?}", pids_with(&tag));
}

#[test]
fn an_exec_probe_runs_in_the_apps_directory_and_environment() {
    let t = TestHome::new();
    let dir = t.path("site");
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join("marker"), "").expect("marker");
    let app = t.tagged_sleep("envapp");
    t.ok(&[
        "start",
        &app,
        "--name",
        "envapp",
        "--cwd",
        dir.to_str().expect("utf8"),
        "--env",
        "PROBE_WORD=fine",
        "--health-cmd",
        "test -e marker && echo \"all $PROBE_WORD\"",
        "--health-interval",
        "200ms",
        "--",
        "600",
    ]);
    let p = t.wait_for("envapp", "healthy", |p| p["health"] == "healthy");
    let message = p["last_probe"]["message"].as_str().unwrap_or_default();
    assert!(message.ends_with("exit 0: all fine"), "{p}");
}

#[test]
fn health_flags_and_blocks_are_checked() {
    let t = TestHome::new();
    let out = t.run(&["start", "sleep", "--health-http", "https://x/", "--", "1"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("plain http"), "{err}");
    let out = t.run(&["start", "sleep", "--health-interval", "1s", "--", "1"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--health-http URL"), "{err}");
    let file = t.path("eco.yaml");
    std::fs::write(
        &file,
        "apps:\n  - name: a\n    script: sleep\n    args: [\"60\"]\n    health_check:\n      type: tcp\n      interval: 1s\n",
    )
    .expect("file");
    let out = t.run(&["start", file.to_str().expect("utf8")]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("eco.yaml:5") && err.contains("needs a port"),
        "{err}"
    );
}
