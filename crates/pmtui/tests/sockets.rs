//! Listening sockets held by the daemon (socket activation) against real servers: Python on
//! LISTEN_FDS with two instances answering on one port, a Node `http` server with a plain
//! `listen(PORT)` shared by two instances through the preload, a restart with zero refused
//! connections, bind errors at `start`, sockets closed on delete, and `LISTEN_PID` equal to
//! the program's pid also when it was given as a command string.

mod common;
use common::http::{Load, assert_no_failure, get};
use common::servers::{
    PY_SERVER, every_pid_answers, online_pids, socket_of, start_node, start_py, which,
};
use common::{TestHome, wait_until};
use serde_json::Value;
use std::net::SocketAddr;

#[test]
fn python_instances_share_one_port_from_listen_fds() {
    let t = TestHome::new();
    let out = start_py(&t, "py", &["-i", "2", "--listen", "web=tcp://127.0.0.1:0"]);
    assert!(out.contains("started py"), "{out}");
    let pids = online_pids(&t, "py", 2);
    let row = t.process("py").expect("py");
    assert_eq!(row["mode"], "cluster");
    let addr = socket_of(&row);
    assert_ne!(addr.port(), 0, "the port the kernel chose is shown");
    every_pid_answers(addr, &pids);
    let rows = t.list();
    assert!(
        rows.iter().all(|p| p["sockets"] == row["sockets"]),
        "both instances hold the same socket: {rows:?}"
    );
    let logs = t.ok(&["logs", "py", "--lines", "10"]);
    assert!(logs.contains("serving") && logs.contains(" web"), "{logs}");
    assert!(!logs.contains("bad activation"), "{logs}");

    // Deleting the app closes the socket.
    t.ok(&["delete", "py"]);
    assert!(
        get(addr).is_err(),
        "the daemon no longer listens once the app is deleted"
    );
}

#[test]
fn listen_pid_is_the_programs_own_pid_when_started_by_a_command_string() {
    let t = TestHome::new();
    let server = t.script("server.py", PY_SERVER);
    let simple = format!("python3 {}", server.display());
    // With a `$` the shell must run it: `sh -c 'exec …'` keeps the pid.
    let shell = format!("python3 {} --tag $HOME", server.display());
    for (name, command) in [("simple", &simple), ("shell", &shell)] {
        t.ok(&[
            "start",
            command,
            "--name",
            name,
            "--listen",
            "tcp://127.0.0.1:0",
        ]);
        let row = t.wait_status(name, "online");
        let pid = row["pid"].to_string();
        let addr = socket_of(&row);
        let body = wait_until("the server answers", || get(addr).ok())
            .unwrap_or_else(|| panic!("{name} never answered: {:?}", t.process(name)));
        assert_eq!(
            body, pid,
            "{name}: the program is the process pmtui started"
        );
    }
}

#[test]
fn node_instances_share_a_plain_listen_port_through_the_preload() {
    if which("node").is_none() {
        eprintln!("node is not installed; skipping");
        return;
    }
    let t = TestHome::new();
    let port = start_node(&t, "node", "2");
    let pids = online_pids(&t, "node", 2);
    let row = t.process("node").expect("node");
    assert_eq!(row["mode"], "cluster");
    assert_eq!(row["sockets"][0], format!("tcp://[::]:{port}"));
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    every_pid_answers(addr, &pids);
    let rows = t.list();
    assert!(
        rows.iter().all(|p| p["restarts"] == 0),
        "no instance failed with EADDRINUSE: {rows:?}"
    );
}

#[test]
fn a_restart_refuses_no_connection() {
    let t = TestHome::new();
    start_py(&t, "one", &["--listen", "tcp://127.0.0.1:0"]);
    let row = t.wait_status("one", "online");
    let addr = socket_of(&row);
    wait_until("the server answers", || get(addr).ok()).expect("answers");
    let load = Load::start(addr);
    let mut pids = vec![row["pid"].to_string()];
    for _ in 0..3 {
        t.ok(&["restart", "one"]);
        let old = pids.last().cloned().unwrap_or_default();
        let new = t.wait_for("one", "online with a new pid", |p| {
            p["status"] == "online" && p["pid"].is_u64() && p["pid"].to_string().ne(&old)
        });
        pids.push(new["pid"].to_string());
        // Let the loop reach the new run before the next restart.
        let new_pid = pids.last().cloned().unwrap_or_default();
        let mut last = Err(String::new());
        let answered = wait_until("the new run answers", || {
            last = get(addr);
            last.clone().ok().filter(|b| *b == new_pid)
        });
        if answered.is_none() {
            let diagnostics = t.diagnostics("one");
            let tally = load.finish();
            panic!(
                "run {new_pid} never answered (pids {pids:?}, last answer {last:?}, \
                 the request loop: {} answered by {:?}, failed: {:?})\n{diagnostics}",
                tally.ok,
                tally.answers,
                tally.failed.iter().take(5).collect::<Vec<_>>()
            );
        }
    }
    let tally = load.finish();
    let refused = tally
        .failed
        .iter()
        .filter(|why| why.contains("refused"))
        .count();
    assert_eq!(refused, 0, "connections refused: {:?}", tally.failed);
    // The server stops gracefully, so what it accepted is answered too.
    assert_no_failure(&tally, "during restarts");
}

#[test]
fn a_taken_port_or_a_bad_address_is_an_error_at_start() {
    let t = TestHome::new();
    let holder = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = holder.local_addr().expect("addr").port();
    let out = t.run(&[
        "start",
        "sleep 60",
        "--name",
        "taken",
        "--listen",
        &format!("tcp://127.0.0.1:{port}"),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("127.0.0.1:{port}")) && err.contains("already in use"),
        "{err}"
    );
    assert!(t.process("taken").is_none(), "nothing was added");

    let out = t.run(&["start", "sleep 60", "--listen", "http://x"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--listen http://x"), "{err}");
}

#[test]
fn a_unix_socket_is_shared_and_its_file_removed_on_delete() {
    let t = TestHome::new();
    let path = t.path("run/app.sock");
    let script = t.script(
        "unix.py",
        "import os, socket\ns = socket.socket(fileno=3)\nwhile True:\n    c, _ = s.accept()\n    c.sendall(f'{os.getpid()}\\n'.encode())\n    c.close()\n",
    );
    t.ok(&[
        "start",
        script.to_str().expect("utf-8 path"),
        "--name",
        "ux",
        "--listen",
        &format!("unix:{}", path.display()),
    ]);
    let row = t.wait_status("ux", "online");
    assert_eq!(row["sockets"][0], format!("unix:{}", path.display()));
    let pid = row["pid"].to_string();
    let answer = wait_until("the unix socket answers", || {
        use std::io::Read;
        let mut s = std::os::unix::net::UnixStream::connect(&path).ok()?;
        let mut text = String::new();
        s.read_to_string(&mut text).ok()?;
        Some(text.trim().to_string())
    });
    assert_eq!(answer.as_deref(), Some(pid.as_str()));
    t.ok(&["delete", "ux"]);
    assert!(!path.exists(), "the socket file is removed with the app");
}

#[test]
fn increment_var_and_instance_var_set_each_instance_its_own_values() {
    let t = TestHome::new();
    t.ok(&[
        "start",
        "sleep 300",
        "--name",
        "inc",
        "-i",
        "3",
        "--increment-var",
        "PORT",
        "--env",
        "PORT=5000",
        "--instance-var",
        "APP_ID",
    ]);
    let out = t.ok(&["describe", "inc", "--json"]);
    let details: Vec<Value> = serde_json::from_str(&out).expect("describe --json");
    let mut seen: Vec<(String, String)> = details
        .iter()
        .map(|d| {
            assert!(
                d["env"].get("NODE_APP_INSTANCE").is_none(),
                "instance_var replaces NODE_APP_INSTANCE: {}",
                d["env"]
            );
            (
                d["env"]["APP_ID"].as_str().unwrap_or("-").to_string(),
                d["env"]["PORT"].as_str().unwrap_or("-").to_string(),
            )
        })
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [("0", "5000"), ("1", "5001"), ("2", "5002")].map(|(a, b)| (a.to_string(), b.to_string()))
    );
}
