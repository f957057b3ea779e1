//! Readiness with real programs: pm2's `wait_ready` with Node's `process.send('ready')` over
//! the IPC channel the daemon gives Node apps, `listen_timeout` running out, a channel
//! abused by its app (oversized and garbage messages), and a Node app that does not use
//! the channel still exiting on its own.

mod common;
use common::TestHome;

/// A Node app that sends `ready` once `trigger` exists, then idles.
fn node_ready_on_file(t: &TestHome, trigger: &std::path::Path) -> String {
    t.script(
        "ready-on-file.js",
        &format!(
            r#"const fs = require('fs');
const timer = setInterval(() => {{
  if (fs.existsSync({trigger:?})) {{
    clearInterval(timer);
    process.send('ready');
    setInterval(() => {{}}, 1000);
  }}
}}, 20);
"#,
            trigger = trigger.display().to_string()
        ),
    )
    .display()
    .to_string()
}

#[test]
fn wait_ready_holds_launching_until_node_sends_ready() {
    let t = TestHome::new();
    let trigger = t.path("go");
    let script = node_ready_on_file(&t, &trigger);
    t.ok(&[
        "start",
        &script,
        "--name",
        "api",
        "--wait-ready",
        "--listen-timeout",
        "60s",
    ]);
    let p = t.wait_for("api", "running and pending", |p| p["pid"].is_number());
    assert_eq!(p["status"], "launching", "{p}");
    assert_eq!(p["readiness"], "pending", "{p}");
    assert!(p["ready_at"].is_null(), "{p}");
    let d = t.describe("api");
    assert_eq!(
        d["env"]["NODE_CHANNEL_FD"], "3",
        "Node gets its IPC channel at fd 3"
    );
    let human = t.ok(&["describe", "api"]);
    assert!(
        human.contains("pending: waiting for READY=1 or process.send('ready')"),
        "{human}"
    );

    std::fs::write(&trigger, "").expect("trigger");
    let p = t.wait_for("api", "ready", |p| p["readiness"] == "ready");
    assert_eq!(p["status"], "online", "{p}");
    assert!(p["ready_at"].is_number(), "{p}");
    assert!(p["status_reason"].is_null(), "{p}");
}

#[test]
fn listen_timeout_makes_it_online_but_not_ready() {
    let t = TestHome::new();
    let script = t.script("silent.js", "setInterval(() => {}, 1000);\n");
    t.ok(&[
        "start",
        script.to_str().expect("utf8"),
        "--name",
        "silent",
        "--wait-ready",
        "--listen-timeout",
        "300ms",
    ]);
    let p = t.wait_for("silent", "timed out", |p| p["readiness"] == "timeout");
    assert_eq!(p["status"], "online", "{p}");
    let reason = p["status_reason"].as_str().unwrap_or_default();
    assert!(reason.contains("listen_timeout (300 ms)"), "{p}");
}

#[test]
fn without_wait_ready_a_process_is_ready_once_started() {
    let t = TestHome::new();
    let sleep = t.tagged_sleep("plain");
    t.ok(&["start", &sleep, "--name", "plain", "--", "60"]);
    let p = t.wait_for("plain", "ready", |p| p["readiness"] == "ready");
    assert_eq!(p["status"], "online");
    assert!(p["health"].is_null(), "no probe, no health: {p}");
    let d = t.describe("plain");
    assert!(
        d["env"].get("NODE_CHANNEL_FD").is_none(),
        "only Node apps get the channel: {}",
        d["env"]
    );
}

#[test]
fn garbage_and_oversized_messages_are_ignored_and_ready_still_counts() {
    let t = TestHome::new();
    // Writes straight to the channel's fd: a 200 KB line, text that is not JSON, then
    // "ready"; the daemon drops the first two and acts on the third.
    let script = t.script(
        "abuse.js",
        r#"const fs = require('fs');
// Node takes NODE_CHANNEL_FD out of process.env once it has opened the channel at 3.
const fd = 3;
function put(text) {
  const buf = Buffer.from(text);
  let off = 0;
  while (off < buf.length) {
    try { off += fs.writeSync(fd, buf, off); } catch (e) { if (e.code !== 'EAGAIN') throw e; }
  }
}
put('x'.repeat(200000) + '\n' + 'not json at all\n' + '{"cmd":"NODE_X"}\n');
put('"ready"\n');
setInterval(() => {}, 1000);
"#,
    );
    t.ok(&[
        "start",
        script.to_str().expect("utf8"),
        "--name",
        "abuse",
        "--wait-ready",
        "--listen-timeout",
        "60s",
    ]);
    let p = t.wait_for("abuse", "ready", |p| p["readiness"] == "ready");
    assert_eq!(p["status"], "online", "{p}");
    // The daemon is none the worse.
    assert_eq!(t.list().len(), 1);
}

#[test]
fn a_node_app_that_ignores_the_channel_still_exits() {
    let t = TestHome::new();
    let script = t.script("once.js", "console.log('done');\n");
    t.ok(&[
        "start",
        script.to_str().expect("utf8"),
        "--name",
        "once",
        "--no-autorestart",
    ]);
    let p = t.wait_for("once", "exited", |p| p["status"] == "stopped");
    assert_eq!(p["exit_code"], 0, "{p}");
    assert!(p["readiness"].is_null(), "nothing runs, no readiness: {p}");
}
