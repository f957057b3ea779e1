//! Process names: control characters and over-long names are refused by the CLI, in files
//! (with file:line) and by the daemon; names that differ only in characters a file name
//! cannot hold get their own log, pid and record files; a name that slipped in from an old
//! record is printed with its control characters escaped.

mod common;
use common::{TestHome, wait_until};
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

/// Sends one request on the socket, as a client other than the CLI would, and returns the
/// response.
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

fn has_control(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .any(|&b| b == 0x1b || b == 0x07 || (b < 0x20 && b != b'\n'))
}

#[test]
fn the_cli_refuses_control_characters_and_long_names_before_starting_anything() {
    let t = TestHome::new();
    let out = t.run(&["start", "sleep 300", "--name", "evil\x1b]0;pwned\x07\nname"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "--name: name \"evil\\e]0;pwned\\x07\\nname\" contains the control character \\e"
        ),
        "{stderr}"
    );
    assert!(
        !has_control(&out.stderr),
        "no raw control character: {stderr:?}"
    );
    let out = t.run(&["start", "sleep 300", "--namespace", "ns\tx"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--namespace: namespace \"ns\\tx\""),
        "{out:?}"
    );
    let long = "n".repeat(129);
    let out = t.run(&["start", "sleep 300", "--name", &long]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is 129 bytes long; the limit is 128 bytes"),
        "{out:?}"
    );
    // A name at the limit is fine.
    t.ok(&["start", "sleep 300", "--name", &"n".repeat(128)]);
    assert_eq!(t.list().len(), 1, "only the valid one was started");
}

#[test]
fn a_file_with_a_bad_name_points_at_its_line() {
    let t = TestHome::new();
    let file = t.path("eco.json");
    std::fs::write(
        &file,
        "{\n  \"apps\": [\n    { \"name\": \"ok\", \"script\": \"sleep 300\" },\n    { \"name\": \"bad\\u001b[2Jname\", \"script\": \"sleep 300\" }\n  ]\n}\n",
    )
    .expect("write file");
    let out = t.run(&["start", file.to_str().expect("utf-8 path")]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "eco.json:4:15: apps[1].name: name \"bad\\e[2Jname\" contains the control character \\e"
        ),
        "{stderr}"
    );
    assert!(!has_control(&out.stderr), "{stderr:?}");
    assert!(
        t.list().is_empty(),
        "nothing of a file with an error is started"
    );
}

#[test]
fn the_daemon_refuses_bad_names_from_any_client() {
    let t = TestHome::new();
    let spec = |name: &str, namespace: &str| {
        json!({"cmd": "start", "spec": {
            "name": name, "namespace": namespace, "script": "/bin/sleep", "args": ["300"],
        }})
    };
    let reply = call(&t, spec("a\nb", "default"));
    assert_eq!(reply["type"], "error", "{reply}");
    assert!(
        reply["message"]
            .as_str()
            .is_some_and(|m| m.contains("contains the control character \\n")),
        "{reply}"
    );
    let reply = call(&t, spec(&"é".repeat(65), "default"));
    assert!(
        reply["message"]
            .as_str()
            .is_some_and(|m| m.contains("130 bytes long; the limit is 128")),
        "{reply}"
    );
    let reply = call(&t, spec(&"/".repeat(65), "default"));
    assert!(
        reply["message"]
            .as_str()
            .is_some_and(|m| m.contains("195 bytes long as a file name")),
        "{reply}"
    );
    let reply = call(&t, spec("fine", "ns\u{1b}"));
    assert_eq!(reply["type"], "error", "{reply}");
    let reply = call(
        &t,
        json!({"cmd": "apply", "specs": [
            {"name": "x\u{7f}", "script": "/bin/sleep", "args": ["300"]}
        ]}),
    );
    assert_eq!(reply["type"], "error", "{reply}");
    assert!(t.list().is_empty());
}

#[test]
fn names_that_map_to_one_file_name_today_each_get_their_own_files() {
    let t = TestHome::new();
    let names = ["co l", "co_l", "co/l"];
    for name in names {
        let script = t.script(
            &format!("say-{}.sh", name.replace(['/', ' '], "-")),
            &format!("#!/bin/sh\necho \"i am {name}\"\nexec sleep 300\n"),
        );
        t.ok(&["start", script.to_str().expect("path"), "--name", name]);
    }
    let logs = t.home().join("logs");
    let expected = [("co%20l", "co l"), ("co_l", "co_l"), ("co%2Fl", "co/l")];
    for (stem, name) in expected {
        let file = logs.join(format!("{stem}-out.log"));
        let text = wait_until(&format!("{} holds its line", file.display()), || {
            std::fs::read_to_string(&file)
                .ok()
                .filter(|s| s.contains("i am"))
        })
        .unwrap_or_else(|| panic!("{} was never written", file.display()));
        assert_eq!(
            text,
            format!("i am {name}\n"),
            "{stem}: only its own output"
        );
        let p = t.process(name).expect("listed");
        let id = p["id"].as_u64().expect("id");
        let pid_file = t.home().join("pids").join(format!("{stem}-{id}.pid"));
        let pid = std::fs::read_to_string(&pid_file)
            .unwrap_or_else(|e| panic!("{}: {e}", pid_file.display()));
        assert_eq!(pid.trim(), p["pid"].to_string());
        let record = t.home().join("processes").join(format!("{stem}.json"));
        wait_until(&format!("{} written", record.display()), || {
            record.exists().then_some(())
        })
        .unwrap_or_else(|| panic!("{} missing", record.display()));
    }
    // `describe` names the file each one writes.
    let d: Vec<Value> =
        serde_json::from_str(&t.ok(&["describe", "co/l", "--json"])).expect("describe --json");
    assert!(
        d[0]["out_log"]
            .as_str()
            .is_some_and(|p| p.ends_with("logs/co%2Fl-out.log")),
        "{}",
        d[0]["out_log"]
    );
}

#[test]
fn a_name_from_an_old_record_is_printed_escaped_and_its_file_renamed() {
    let t = TestHome::new();
    let processes = t.home().join("processes");
    std::fs::create_dir_all(&processes).expect("mkdir");
    // A record written before names were checked, under the old file naming scheme.
    let record = json!([{
        "id": 0, "instance": 0, "desired": "stopped", "restarts": 0, "created_at": 1,
        "spec": {"name": "x\u{1b}[31my", "namespace": "n\u{7}s", "script": "/bin/sleep",
                 "args": ["300"], "cwd": "/"}
    }]);
    let old = processes.join("x__31my-0badc0de.json");
    std::fs::write(&old, record.to_string()).expect("write record");
    let out = t.run(&["ls"]);
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("x\\e[31my"), "{text}");
    assert!(text.contains("n\\x07s"), "{text}");
    assert!(!has_control(&out.stdout), "{text:?}");
    let out = t.run(&["describe", "0"]);
    assert!(out.status.success(), "{out:?}");
    assert!(!has_control(&out.stdout), "{:?}", out.stdout);
    // JSON keeps the exact name.
    assert_eq!(t.list()[0]["name"], "x\u{1b}[31my");
    // The record now lives under its new file name, once.
    assert!(!old.exists(), "the old file is replaced");
    assert!(processes.join("x%1B%5B31my.json").exists());
    // Errors that quote it are escaped too.
    let out = t.run(&["start", "/bin/sleep", "--name", "x\u{1b}[31my"]);
    assert!(!has_control(&out.stderr), "{:?}", out.stderr);
}
