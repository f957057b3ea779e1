//! sd_notify with real programs: a shell script whose Python one-liners write to
//! `NOTIFY_SOCKET` (READY=1, STATUS=, RELOADING=1, MAINPID=), the watchdog restarting a
//! process that stops sending WATCHDOG=1, and garbage on the socket.

mod common;
use common::{TestHome, wait_until};

/// A shell function that sends its argument (with `\n` for new lines) to NOTIFY_SOCKET.
const NOTIFY_FN: &str = r#"notify() {
  python3 -c 'import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.sendto(sys.argv[1].replace("\\n", "\n").encode(), os.environ["NOTIFY_SOCKET"])' "$1"
}
"#;

/// Starts `script` as `name` with `wait_ready` (and a listen timeout no test reaches).
fn start_waiting_ready(t: &TestHome, script: &std::path::Path, name: &str) {
    t.ok(&[
        "start",
        script.to_str().expect("utf8"),
        "--name",
        name,
        "--wait-ready",
        "--listen-timeout",
        "60s",
    ]);
}

/// Waits in the shell until `file` exists.
fn await_file(file: &std::path::Path) -> String {
    format!("while [ ! -e {} ]; do sleep 0.05; done\n", file.display())
}

#[test]
fn ready_status_reloading_and_mainpid_from_a_shell_script() {
    let t = TestHome::new();
    let (go, reload, done) = (t.path("go"), t.path("reload"), t.path("done"));
    let script = t.script(
        "svc.sh",
        &format!(
            "#!/bin/sh\n{NOTIFY_FN}notify 'STATUS=warming up'\n{}notify \"READY=1\\nSTATUS=serving\\nMAINPID=$$\"\n{}notify 'RELOADING=1'\n{}notify 'READY=1'\nexec sleep 600\n",
            await_file(&go),
            await_file(&reload),
            await_file(&done),
        ),
    );
    start_waiting_ready(&t, &script, "svc");
    let p = t.wait_for("svc", "its first status line", |p| {
        p["status_text"] == "warming up"
    });
    assert_eq!(p["status"], "launching", "{p}");
    assert_eq!(p["readiness"], "pending", "{p}");
    let env = &t.describe("svc")["env"];
    let socket = env["NOTIFY_SOCKET"].as_str().expect("NOTIFY_SOCKET");
    assert!(
        socket.starts_with(t.home().to_str().expect("utf8")),
        "the socket is in the state directory: {socket}"
    );

    std::fs::write(&go, "").expect("go");
    let p = t.wait_for("svc", "ready", |p| p["readiness"] == "ready");
    assert_eq!(p["status"], "online", "{p}");
    assert_eq!(p["status_text"], "serving", "{p}");
    assert_eq!(
        p["main_pid"], p["pid"],
        "MAINPID=$$ of the script itself: {p}"
    );
    let human = t.ok(&["describe", "svc"]);
    assert!(human.contains("app status"), "{human}");
    assert!(human.contains("serving"), "{human}");

    std::fs::write(&reload, "").expect("reload");
    let p = t.wait_for("svc", "reloading", |p| p["readiness"] == "pending");
    let reason = p["status_reason"].as_str().unwrap_or_default();
    assert!(reason.contains("RELOADING=1"), "{p}");
    std::fs::write(&done, "").expect("done");
    t.wait_for("svc", "ready again", |p| p["readiness"] == "ready");
}

#[test]
fn the_watchdog_restarts_a_process_that_stops_sending() {
    let t = TestHome::new();
    let feed = t.path("feed");
    std::fs::write(&feed, "").expect("feed");
    // Pings every 50 ms while `feed` exists, then hangs without pinging.
    let script = t.script(
        "dog.py",
        &format!(
            r#"import os, socket, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
print("pid", os.getpid(), "watchdog_pid", os.environ.get("WATCHDOG_PID"), "usec", os.environ.get("WATCHDOG_USEC"), flush=True)
pings = 0
while True:
    if os.path.exists({feed:?}):
        s.sendto(b"WATCHDOG=1", os.environ["NOTIFY_SOCKET"])
        pings += 1
        print("ping", pings, flush=True)
    time.sleep(0.05)
"#,
            feed = feed.display().to_string()
        ),
    );
    // The interpreter itself, not a wrapper such as pyenv's shim that forks it: the pid
    // pmtui starts is the one that must ping.
    let python = std::process::Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .expect("python3");
    let python = String::from_utf8_lossy(&python.stdout).trim().to_string();
    t.ok(&[
        "start",
        script.to_str().expect("utf8"),
        "--name",
        "dog",
        "--interpreter",
        &python,
        "--watchdog",
        "600ms",
    ]);
    let p = t.wait_status("dog", "online");
    let pid = p["pid"].as_u64().expect("pid");
    let log = t.home().join("logs/dog-out.log");
    // Fed for well over two periods (30 pings of 50 ms): no restart.
    wait_until("30 pings", || {
        std::fs::read_to_string(&log)
            .ok()
            .filter(|s| s.contains("ping 30\n"))
    })
    .expect("the app pings");
    let text = std::fs::read_to_string(&log).expect("log");
    assert!(
        text.contains(&format!("pid {pid} watchdog_pid {pid} usec 600000")),
        "WATCHDOG_PID is the app's own pid ({pid}) and WATCHDOG_USEC the period: {text}"
    );
    assert_eq!(t.process("dog").expect("row")["restarts"], 0);

    std::fs::remove_file(&feed).expect("starve");
    let p = t.wait_for("dog", "restarted by the watchdog", |p| {
        p["restarts"] == 1 && p["pid"].is_number()
    });
    assert_ne!(p["pid"].as_u64(), Some(pid));
    let history = t.describe("dog")["history"].clone();
    let last = history
        .as_array()
        .and_then(|h| h.last())
        .cloned()
        .expect("a history record");
    assert_eq!(last["reason"], "watchdog", "{last}");
    let detail = last["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("no WATCHDOG=1 within"), "{last}");
    assert_eq!(last["pid"].as_u64(), Some(pid), "{last}");
}

#[test]
fn garbage_on_the_socket_is_ignored() {
    let t = TestHome::new();
    let script = t.script(
        "noisy.py",
        r#"import os, socket, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
path = os.environ["NOTIFY_SOCKET"]
s.sendto(b"STATUS=" + b"x" * 10000, path)
s.sendto(bytes(range(256)), path)
s.sendto(b"METRIC requests=12\nNONSENSE\n=\nREADY=0", path)
for i in range(2000):
    s.sendto(b"STATUS=busy %d" % i, path)
s.sendto(b"READY=1\nSTATUS=ok", path)
time.sleep(600)
"#,
    );
    start_waiting_ready(&t, &script, "noisy");
    let p = t.wait_for("noisy", "ready", |p| p["readiness"] == "ready");
    assert_eq!(p["status_text"], "ok", "{p}");
    assert_eq!(t.list().len(), 1, "the daemon answers");
}

#[test]
fn a_crash_restart_keeps_the_socket_and_the_next_run_is_heard() {
    use std::os::unix::fs::MetadataExt;
    let t = TestHome::new();
    let (runs, go) = (t.path("runs"), t.path("go"));
    // The first run says it is warming up, waits for `go`, then crashes without READY=1;
    // the second says READY=1 at once.
    let script = t.script(
        "svc.sh",
        &format!(
            "#!/bin/sh\n{NOTIFY_FN}echo run >> {runs}\nif [ \"$(wc -l < {runs})\" -eq 1 ]; then\nnotify 'STATUS=first run'\n{}exit 3\nfi\nnotify \"READY=1\\nSTATUS=second run\"\nexec sleep 600\n",
            await_file(&go),
            runs = runs.display(),
        ),
    );
    start_waiting_ready(&t, &script, "svc");
    t.wait_for("svc", "the first run's status", |p| {
        p["status_text"] == "first run"
    });
    let env = &t.describe("svc")["env"];
    let socket = std::path::PathBuf::from(env["NOTIFY_SOCKET"].as_str().expect("NOTIFY_SOCKET"));
    let inode = std::fs::metadata(&socket).expect("the socket file").ino();
    std::fs::write(&go, "").expect("go");
    let p = t.wait_for("svc", "the second run ready", |p| {
        p["readiness"] == "ready" && p["restarts"] == 1
    });
    assert_eq!(p["status_text"], "second run", "{p}");
    assert_eq!(p["status"], "online", "{p}");
    assert_eq!(
        std::fs::metadata(&socket).expect("the socket file").ino(),
        inode,
        "an immediate restart keeps the bound socket (no file created per run)"
    );
}
