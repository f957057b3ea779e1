//! Bounded environments: an `env_file` must be a regular file of at most 1 MiB (`/dev/zero`
//! is refused without being read, a FIFO never blocks `start`), and an environment over
//! 128 KiB per variable or 1 MiB in all is refused by the CLI, in files (file:line) and by
//! the daemon, which keeps serving.

mod common;
use common::{DEADLINE, TestHome, wait_until};
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

/// `pmtui start <file>`, failing the test if it does not return within the deadline (a
/// FIFO read that blocks would hang it).
fn start_file(t: &TestHome, file: &std::path::Path) -> Output {
    let mut child = t
        .cmd()
        .args(["start", file.to_str().expect("utf-8 path")])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn pmtui");
    let started = Instant::now();
    loop {
        if child.try_wait().expect("wait").is_some() {
            return child.wait_with_output().expect("output");
        }
        if started.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("pmtui start {} did not return", file.display());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn app_with_env_file(t: &TestHome, env_file: &str) -> std::path::PathBuf {
    let file = t.path("eco.json");
    let app = json!({"apps": [{"name": "a", "script": "sleep 300", "env_file": env_file}]});
    std::fs::write(&file, serde_json::to_string_pretty(&app).expect("json")).expect("write");
    file
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn an_env_file_must_be_a_small_regular_file() {
    let t = TestHome::new();
    // /dev/zero: refused at once, nothing read.
    let out = start_file(&t, &app_with_env_file(&t, "/dev/zero"));
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains(
            "cannot read env file /dev/zero: it is a character device; an env file must be a regular file"
        ),
        "{}",
        stderr(&out)
    );
    // A FIFO nobody writes to: refused, not waited on.
    let fifo = t.path("env.fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo");
    assert!(made.success());
    let out = start_file(&t, &app_with_env_file(&t, fifo.to_str().expect("path")));
    assert!(!out.status.success());
    assert!(stderr(&out).contains("it is a FIFO"), "{}", stderr(&out));
    // A regular file over 1 MiB.
    let big = t.path("big.env");
    std::fs::write(&big, "A=1\n".repeat(300_000)).expect("write");
    let out = start_file(&t, &app_with_env_file(&t, big.to_str().expect("path")));
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("it is 1200000 bytes; the limit is 1048576 bytes (1 MiB)"),
        "{}",
        stderr(&out)
    );
    // A directory.
    let out = start_file(&t, &app_with_env_file(&t, t.home().to_str().expect("path")));
    assert!(
        stderr(&out).contains("it is a directory"),
        "{}",
        stderr(&out)
    );
    assert!(t.list().is_empty(), "nothing started");
    // A good one still works.
    let good = t.path("good.env");
    std::fs::write(&good, "GREETING=hello\n").expect("write");
    let out = start_file(&t, &app_with_env_file(&t, good.to_str().expect("path")));
    assert!(out.status.success(), "{}", stderr(&out));
    let env = t.ok(&["env", "a"]);
    assert!(env.contains("GREETING=hello"), "{env}");
}

#[test]
fn a_file_whose_environment_is_too_large_points_at_its_env_block() {
    let t = TestHome::new();
    let file = t.path("eco.json");
    let big = "x".repeat(200 * 1024);
    std::fs::write(
        &file,
        format!(
            "{{\"apps\": [{{\"name\": \"a\", \"script\": \"sleep 300\",\n  \"env\": {{\"BIG\": \"{big}\"}}}}]}}\n"
        ),
    )
    .expect("write");
    let out = start_file(&t, &file);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains(
            "eco.json:2:10: apps[0].env: environment variable \"BIG\" is 204805 bytes; the limit is 131072 bytes"
        ),
        "{}",
        stderr(&out)
    );
    let vars: Vec<String> = (0..12)
        .map(|i| format!("\"V{i:02}\": \"{}\"", "y".repeat(100 * 1024)))
        .collect();
    std::fs::write(
        &file,
        format!(
            "{{\"apps\": [{{\"name\": \"a\", \"script\": \"sleep 300\",\n  \"env\": {{{}}}}}]}}\n",
            vars.join(",")
        ),
    )
    .expect("write");
    let out = start_file(&t, &file);
    assert!(!out.status.success());
    let text = stderr(&out);
    assert!(
        text.contains("apps[0].env: the environment is ")
            && text.contains("the limit is 1048576 bytes (1 MiB)"),
        "{text}"
    );
    assert!(t.list().is_empty());
}

/// One request over the socket, as any client could send it (protocol 2: a message in
/// parts of at most 1 MiB, the top bit of the length word saying that more follow).
fn call(s: &mut UnixStream, id: u64, request: Value) -> Value {
    const MORE: u32 = 0x8000_0000;
    let body =
        serde_json::to_vec(&json!({"request": {"id": id, "request": request}})).expect("json");
    let mut wire = Vec::new();
    let mut parts = body.chunks(1 << 20).peekable();
    while let Some(part) = parts.next() {
        let more = if parts.peek().is_some() { MORE } else { 0 };
        wire.extend_from_slice(&(part.len() as u32 | more).to_be_bytes());
        wire.extend_from_slice(part);
    }
    s.write_all(&wire).expect("write");
    loop {
        let mut body = Vec::new();
        loop {
            let mut word = [0u8; 4];
            s.read_exact(&mut word).expect("a part");
            let word = u32::from_be_bytes(word);
            let mut part = vec![0u8; (word & !MORE) as usize];
            s.read_exact(&mut part).expect("a part body");
            body.extend_from_slice(&part);
            if word & MORE == 0 {
                break;
            }
        }
        let frame: Value = serde_json::from_slice(&body).expect("json frame");
        if frame["reply"]["id"] == id {
            return frame["reply"]["response"].clone();
        }
    }
}

#[test]
fn the_daemon_refuses_an_oversized_environment_from_any_client() {
    let t = TestHome::new();
    t.ok(&["ping"]);
    let mut s = UnixStream::connect(t.home().join("pmtui.sock")).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let hello =
        serde_json::to_vec(&json!({"hello": {"protocol": 2, "client": "test"}})).expect("json");
    let mut frame = (hello.len() as u32).to_be_bytes().to_vec();
    frame.extend_from_slice(&hello);
    s.write_all(&frame).expect("write");
    let mut len = [0u8; 4];
    s.read_exact(&mut len).expect("hello reply");
    let mut body = vec![0u8; u32::from_be_bytes(len) as usize];
    s.read_exact(&mut body).expect("hello body");
    // 5 MB in 50 variables of 100 KB: each is allowed, the sum is not.
    let env: serde_json::Map<String, Value> = (0..50)
        .map(|i| (format!("V{i:02}"), Value::String("z".repeat(100_000))))
        .collect();
    let spec = json!({"name": "big", "script": "/bin/sleep", "args": ["300"], "env": env});
    let reply = call(&mut s, 1, json!({"cmd": "start", "spec": spec}));
    assert_eq!(reply["type"], "error", "{}", reply["type"]);
    let message = reply["message"].as_str().unwrap_or_default().to_string();
    assert!(
        message.starts_with(
            "big: the environment is 5000250 bytes (50 variables); the limit is 1048576 bytes"
        ),
        "{message}"
    );
    // A restart carrying a new environment is checked too.
    t.ok(&["start", "sleep 300", "--name", "small"]);
    let mut big = serde_json::Map::new();
    big.insert("ONE".into(), Value::String("w".repeat(200_000)));
    let reply = call(
        &mut s,
        2,
        json!({"cmd": "restart", "targets": ["small"], "env": big}),
    );
    assert!(
        reply["message"]
            .as_str()
            .is_some_and(|m| m.contains("environment variable \"ONE\" is 200005 bytes")),
        "{}",
        reply["type"]
    );
    // A NUL byte no process could receive.
    let spec =
        json!({"name": "nul", "script": "/bin/sleep", "args": ["300"], "env": {"A": "x\u{0}y"}});
    let reply = call(&mut s, 3, json!({"cmd": "start", "spec": spec}));
    assert_eq!(reply["type"], "error", "{reply}");
    // The daemon serves on, and only `small` exists.
    let names: Vec<Value> = t.list().into_iter().map(|p| p["name"].clone()).collect();
    assert_eq!(names, [json!("small")]);
    wait_until("small online", || {
        (t.process("small")?["status"] == "online").then_some(())
    })
    .expect("small runs");
}

#[test]
fn the_cli_refuses_a_shell_environment_over_the_limit() {
    let t = TestHome::new();
    // Eleven variables of 100 KB: each passes execve, together they are over 1 MiB.
    let mut cmd = t.cmd();
    cmd.args(["start", "sleep 300", "--name", "heavy"]);
    for i in 0..11 {
        cmd.env(format!("HEAVY_{i:02}"), "h".repeat(100 * 1024));
    }
    let out = cmd.output().expect("run pmtui");
    assert!(!out.status.success());
    let text = stderr(&out);
    assert!(
        text.contains("the environment is ") && text.contains("the limit is 1048576 bytes (1 MiB)"),
        "{text}"
    );
    assert!(t.list().is_empty());
}
