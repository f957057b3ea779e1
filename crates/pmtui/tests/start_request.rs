//! The daemon's side of a smart start, as any client (the UI's add form) sends it: a `start`
//! request for a name that exists restarts it, applies a changed definition as `apply`
//! does, and refuses another script under that name.

mod common;
use common::TestHome;
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

fn call(t: &TestHome, request: Value) -> Value {
    t.ok(&["ping"]);
    let mut s = UnixStream::connect(t.home().join("pmtui.sock")).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let mut send = |v: Value| {
        let body = serde_json::to_vec(&v).expect("json");
        let mut frame = (body.len() as u32).to_be_bytes().to_vec();
        frame.extend_from_slice(&body);
        s.write_all(&frame).expect("write");
    };
    send(json!({"hello": {"protocol": 2, "client": "test"}}));
    send(json!({"request": {"id": 1, "request": request}}));
    loop {
        let mut len = [0u8; 4];
        s.read_exact(&mut len).expect("a frame");
        let mut body = vec![0u8; u32::from_be_bytes(len) as usize];
        s.read_exact(&mut body).expect("a frame body");
        let frame: Value = serde_json::from_slice(&body).expect("json frame");
        if frame["reply"]["id"] == 1 {
            return frame["reply"]["response"].clone();
        }
    }
}

fn spec(t: &TestHome, script: &str, kill_timeout_ms: u64) -> Value {
    json!({
        "name": "svc",
        "script": script,
        "cwd": t.home(),
        "env": {"PATH": std::env::var("PATH").unwrap_or_default()},
        "kill_timeout_ms": kill_timeout_ms,
    })
}

#[test]
fn a_start_request_for_an_existing_name_applies_a_changed_definition() {
    let t = TestHome::new();
    let one = t.script("one.sh", "#!/bin/sh\nexec sleep 300\n");
    let two = t.script("two.sh", "#!/bin/sh\nexec sleep 300\n");
    let one = one.to_str().expect("utf8");
    let reply = call(&t, json!({"cmd": "start", "spec": spec(&t, one, 1600)}));
    assert_eq!(
        reply["started"].as_array().map(Vec::len),
        Some(1),
        "{reply}"
    );
    let first = t.wait_status("svc", "online")["pid"].clone();

    let reply = call(&t, json!({"cmd": "start", "spec": spec(&t, one, 700)}));
    assert_eq!(
        reply["restarted"].as_array().map(Vec::len),
        Some(1),
        "{reply}"
    );
    t.wait_for("svc", "a new run", |p| {
        p["status"] == "online" && p["pid"] != first
    });
    let out = t.ok(&["describe", "svc", "--json"]);
    let detail: Vec<Value> = serde_json::from_str(&out).expect("describe --json");
    assert_eq!(detail[0]["spec"]["kill_timeout_ms"], 700, "applied");
    assert_eq!(t.list().len(), 1);

    let two = two.to_str().expect("utf8");
    let reply = call(&t, json!({"cmd": "start", "spec": spec(&t, two, 700)}));
    assert_eq!(reply["type"], "error", "{reply}");
    assert_eq!(reply["kind"], "name_taken", "{reply}");
    assert!(
        reply["message"]
            .as_str()
            .is_some_and(|m| m.contains("svc") && m.contains("--force")),
        "{reply}"
    );
    assert_eq!(t.list().len(), 1);
}
