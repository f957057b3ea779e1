//! Nothing waits for ever and no client can make the daemon hold unbounded memory: the CLI
//! gives up on a stopped daemon (naming its pid) but waits out a long stop; half-sent
//! messages cost only what arrived, within a shared budget; connections are capped; and a
//! reply of any size reaches the client in parts (`describe --json all` at 1,000 processes).

mod common;
use common::{TestHome, alive, wait_until};
use serde_json::Value;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

const MORE: u32 = 0x8000_0000;
const PART: usize = 1 << 20;

/// Waits for `child` at most `limit`; kills it past that.
fn finish(mut child: Child, limit: Duration) -> Option<Output> {
    let start = Instant::now();
    loop {
        if let Ok(Some(_)) = child.try_wait() {
            return child.wait_with_output().ok();
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn signal(pid: i32, sig: &str) {
    Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .expect("kill");
}

#[test]
fn a_stopped_daemon_is_reported_with_its_pid_and_a_long_stop_is_waited_out() {
    let t = TestHome::new();
    // Ignores SIGTERM: the stop lasts the whole kill_timeout (4 s, past the 1 s timeout).
    t.ok(&[
        "start",
        "sh -c 'trap \"\" TERM; while :; do sleep 0.1; done'",
        "--name",
        "stubborn",
        "--kill-timeout",
        "4s",
    ]);
    t.wait_status("stubborn", "online");
    let started = Instant::now();
    let out = t.run(&["--timeout", "1s", "stop", "stubborn"]);
    assert!(
        out.status.success(),
        "a long stop is not a dead daemon: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(started.elapsed() >= Duration::from_secs(3), "it did wait");
    t.wait_status("stubborn", "stopped");

    let pid = t.daemon_pid().expect("daemon pid");
    signal(pid, "-STOP");
    let child = t
        .cmd()
        .args(["ls"])
        .env("PMTUI_TIMEOUT", "2")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("ls");
    let out = finish(child, Duration::from_secs(25));
    signal(pid, "-CONT");
    let out = out.expect("ls gave up instead of hanging");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("pid {pid}")), "{err}");
    assert!(err.contains("did not answer"), "{err}");
    assert!(err.contains("kill -CONT"), "says what to do: {err}");
    // The daemon woke up and answers again.
    t.ok(&["ls"]);
}

fn connect(t: &TestHome) -> UnixStream {
    let s = UnixStream::connect(t.home().join("pmtui.sock")).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    s
}

fn read_message(s: &mut UnixStream) -> Option<Value> {
    let mut body = Vec::new();
    loop {
        let mut word = [0u8; 4];
        s.read_exact(&mut word).ok()?;
        let word = u32::from_be_bytes(word);
        let mut part = vec![0u8; (word & !MORE) as usize];
        s.read_exact(&mut part).ok()?;
        body.extend_from_slice(&part);
        if word & MORE == 0 {
            return serde_json::from_slice(&body).ok();
        }
    }
}

fn hello(s: &mut UnixStream) {
    let body = br#"{"hello":{"protocol":2,"client":"test"}}"#;
    s.write_all(&(body.len() as u32).to_be_bytes())
        .expect("write");
    s.write_all(body).expect("write");
    let reply = read_message(s).expect("hello reply");
    assert_eq!(reply["hello"]["protocol"], 2, "{reply}");
}

fn rss_mb(pid: i32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .expect("status")
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .expect("VmRSS")
        / 1024
}

#[test]
fn half_sent_messages_cost_only_a_bounded_budget() {
    let t = TestHome::new();
    t.ok(&["ping"]);
    let pid = t.daemon_pid().expect("pid");
    let before = rss_mb(pid);
    // 20 clients each send 12 MiB of a message and stop there: 240 MiB if all were held.
    let mut clients = Vec::new();
    for _ in 0..20 {
        let mut s = connect(&t);
        hello(&mut s);
        let part = vec![b' '; PART];
        for _ in 0..12 {
            let word = (PART as u32) | MORE;
            if s.write_all(&word.to_be_bytes()).is_err() || s.write_all(&part).is_err() {
                break; // dropped by the daemon: over the budget
            }
        }
        clients.push(s);
    }
    let after = rss_mb(pid);
    assert!(
        after < before + 128,
        "20 half-sent messages raised the daemon's RSS from {before} to {after} MB"
    );
    // A complete request still works meanwhile, and the daemon is fine after they go.
    t.ok(&["ls"]);
    drop(clients);
    t.ok(&["ping"]);
}

#[test]
fn connections_are_capped_with_a_clear_error() {
    let t = TestHome::new();
    let start = t
        .cmd()
        .env("PMTUI_MAX_CONNECTIONS", "4")
        .arg("ping")
        .output()
        .expect("ping");
    assert!(start.status.success());
    let held: Vec<UnixStream> = (0..4)
        .map(|_| {
            let mut s = connect(&t);
            hello(&mut s);
            s
        })
        .collect();
    let out = t.run(&["ls"]);
    assert!(!out.status.success(), "over the cap");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("already serves 4 connections"), "{err}");
    drop(held);
    wait_until("a slot frees up", || {
        t.run(&["ls"]).status.success().then_some(())
    })
    .expect("served again");
}

#[test]
fn a_connection_that_never_says_hello_is_dropped() {
    let t = TestHome::new();
    t.ok(&["ping"]);
    let mut s = connect(&t);
    let started = Instant::now();
    let mut buf = [0u8; 64];
    // The daemon closes it (end of file) after its hello timeout, without a word from us.
    let n = loop {
        match s.read(&mut buf) {
            Ok(n) => break n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => panic!("no close within the read timeout: {e}"),
        }
    };
    assert_eq!(n, 0, "closed");
    assert!(started.elapsed() < Duration::from_secs(20));
}

#[test]
fn describe_json_all_works_at_a_thousand_processes() {
    let t = TestHome::new();
    // 1,000 stopped apps with a 6 KB variable (three times in each detail: the definition's
    // `env` and `config_env`, and the environment): over 18 MB of `describe --json all`,
    // past the 16 MiB a single frame of protocol 1 could carry (the request, about 12 MB,
    // stays under the 16 MiB a request may be).
    let big = "x".repeat(6_000);
    let apps: Vec<Value> = (0..1000)
        .map(|i| {
            serde_json::json!({
                "name": format!("app{i}"),
                "script": "sleep",
                "args": "300",
                "autostart": false,
                "env": { "BIG": big },
            })
        })
        .collect();
    let file = t.path("many.json");
    std::fs::write(&file, serde_json::json!({ "apps": apps }).to_string()).expect("file");
    t.ok(&["start", &file.display().to_string()]);
    let out = t
        .cmd()
        .args(["describe", "--json", "all"])
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stdout.len() > 16 * 1024 * 1024,
        "{} bytes",
        out.stdout.len()
    );
    let details: Vec<Value> = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(details.len(), 1000);
    assert_eq!(
        details[999]["env"]["BIG"].as_str().map(str::len),
        Some(6_000)
    );
    assert_eq!(t.list().len(), 1000);
    let pid = t.daemon_pid().expect("pid");
    assert!(alive(i64::from(pid)));
}
