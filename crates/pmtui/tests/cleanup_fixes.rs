//! Small fixes checked end to end: `export` writes stopped names with `autostart: false` so
//! the round trip keeps them stopped; `describe` without history gets only the ends of the
//! metrics series (and `describe all` prints every process); `NO_COLOR` follows
//! no-color.org on stdout and stderr alike (set and non-empty disables colour).

mod common;
use common::{TestHome, pids_with, unique, wait_until};
use serde_json::Value;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::process::Command;
use std::time::Duration;

#[test]
fn export_keeps_stopped_processes_stopped_across_start_of_the_file() {
    let t = TestHome::new();
    let (run_tag, stop_tag) = (unique("exrun"), unique("exstop"));
    let runs = t.tagged_sleep(&run_tag);
    let stops = t.tagged_sleep(&stop_tag);
    t.ok(&["start", &runs, "--name", "runs", "--", "300"]);
    t.ok(&["start", &stops, "--name", "stops", "--", "300"]);
    t.wait_status("runs", "online");
    t.wait_status("stops", "online");
    t.ok(&["stop", "stops"]);
    t.wait_status("stops", "stopped");

    let file = t.path("backup.json");
    let file = file.to_str().expect("utf8");
    t.ok(&["export", file]);
    let exported: Value =
        serde_json::from_str(&std::fs::read_to_string(file).expect("read export")).expect("JSON");
    let app = |name: &str| {
        exported["apps"]
            .as_array()
            .expect("apps")
            .iter()
            .find(|a| a["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name} missing from {exported}"))
    };
    assert_eq!(app("stops")["autostart"], false, "{exported}");
    assert!(app("runs").get("autostart").is_none(), "{exported}");

    // The round trip: a fresh set from the file starts `runs` and leaves `stops` stopped.
    t.ok(&["delete", "all"]);
    assert!(
        wait_until("the deleted processes to end", || {
            (pids_with(&run_tag).is_empty() && pids_with(&stop_tag).is_empty()).then_some(())
        })
        .is_some()
    );
    t.ok(&["start", file]);
    t.wait_status("runs", "online");
    let stops = t.process("stops").expect("stops is back in the table");
    assert_eq!(stops["status"], "stopped", "{stops}");
    assert!(pids_with(&stop_tag).is_empty(), "stops was started");
}

fn frame(body: &[u8]) -> Vec<u8> {
    let mut out = (body.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(body);
    out
}

fn read_frame(s: &mut UnixStream) -> Value {
    let mut len = [0u8; 4];
    s.read_exact(&mut len).expect("frame length");
    let mut body = vec![0u8; u32::from_be_bytes(len) as usize];
    s.read_exact(&mut body).expect("frame body");
    serde_json::from_slice(&body).expect("JSON frame")
}

/// Sends one request on a fresh connection and returns its response.
fn call(t: &TestHome, request: Value) -> Value {
    let mut s = UnixStream::connect(t.home().join("pmtui.sock")).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    s.write_all(&frame(br#"{"hello":{"protocol":2,"client":"test"}}"#))
        .expect("hello");
    read_frame(&mut s);
    let body = serde_json::json!({"request": {"id": 1, "request": request}});
    s.write_all(&frame(body.to_string().as_bytes()))
        .expect("request");
    read_frame(&mut s)["reply"]["response"].clone()
}

fn series_len(detail: &Value) -> usize {
    detail["metrics"]["at"].as_array().map_or(0, Vec::len)
}

#[test]
fn describe_without_history_sends_only_the_ends_of_the_series() {
    let t = TestHome::new();
    let mut ping = t.cmd();
    ping.arg("ping").env("PMTUI_METRICS_INTERVAL_MS", "100");
    assert!(ping.output().expect("ping").status.success());
    let tag = unique("dsum");
    let sleep = t.tagged_sleep(&tag);
    for name in ["d1", "d2", "d3"] {
        t.ok(&["start", &sleep, "--name", name, "--", "300"]);
    }
    let full = |t: &TestHome| {
        let reply = call(
            t,
            serde_json::json!({"cmd": "describe", "targets": ["all"]}),
        );
        reply["details"].as_array().cloned().unwrap_or_default()
    };
    // A client that leaves `history` out gets the whole series.
    let details = wait_until("five samples of every process", || {
        let details = full(&t);
        (details.len() == 3 && details.iter().all(|d| series_len(d) >= 5)).then_some(details)
    })
    .expect("samples");
    assert!(
        details
            .iter()
            .all(|d| d["metrics"]["cpu"].as_array().is_some())
    );

    let reply = call(
        &t,
        serde_json::json!({"cmd": "describe", "targets": ["all"], "history": false}),
    );
    let summary = reply["details"].as_array().expect("details");
    assert_eq!(summary.len(), 3, "{reply}");
    for d in summary {
        let m = &d["metrics"];
        assert_eq!(series_len(d), 2, "first and last sample only: {m}");
        assert_eq!(m["cpu"].as_array().map(Vec::len), Some(2), "{m}");
        assert_eq!(m["memory"].as_array().map(Vec::len), Some(2), "{m}");
        assert!(
            m["memory_span"]["max"].as_u64().is_some(),
            "spans kept: {m}"
        );
        assert!(m["cpu_span"]["avg"].as_f64().is_some(), "spans kept: {m}");
    }

    // The human `describe all` (which asks for the summary) still shows every process with
    // the span over its history.
    let text = t.ok(&["describe", "all"]);
    for name in ["d1", "d2", "d3"] {
        assert!(text.contains(name), "{name} missing:\n{text}");
    }
    assert_eq!(
        text.matches("(min ").count(),
        6,
        "cpu and memory spans:\n{text}"
    );
}

/// Runs `pmtui <args>` with stdout and stderr on a pseudo-terminal (through python3's `pty`)
/// and `NO_COLOR` set to `no_color`; returns what the terminal received.
fn on_terminal(t: &TestHome, no_color: &str, args: &[&str]) -> String {
    const RUN: &str = r#"
import os, pty, subprocess, sys
master, slave = pty.openpty()
proc = subprocess.Popen(sys.argv[1:], stdout=slave, stderr=slave, stdin=subprocess.DEVNULL)
os.close(slave)
out = b""
while True:
    try:
        chunk = os.read(master, 65536)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
proc.wait()
sys.stdout.buffer.write(out)
"#;
    let out = Command::new("python3")
        .arg("-c")
        .arg(RUN)
        .arg(env!("CARGO_BIN_EXE_pmtui"))
        .args(args)
        .env("PMTUI_HOME", t.home())
        .env("NO_COLOR", no_color)
        .current_dir(t.home())
        .output()
        .expect("run python3");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn no_color_follows_no_color_org_on_stdout_and_stderr() {
    let t = TestHome::new();
    let tag = unique("nocolor");
    let sleep = t.tagged_sleep(&tag);
    t.ok(&["start", &sleep, "--name", "painted", "--", "300"]);
    t.wait_status("painted", "online");
    let esc = "\x1b[";
    // Empty: colour allowed, on both streams.
    let table = on_terminal(&t, "", &["ls"]);
    assert!(table.contains("painted"), "{table}");
    assert!(
        table.contains(esc),
        "stdout coloured with NO_COLOR='':\n{table:?}"
    );
    let error = on_terminal(&t, "", &["stop", "no-such-process"]);
    assert!(error.contains("error:"), "{error:?}");
    assert!(
        error.contains(esc),
        "stderr coloured with NO_COLOR='':\n{error:?}"
    );
    // Set and non-empty: no colour on either.
    let table = on_terminal(&t, "1", &["ls"]);
    assert!(table.contains("painted"), "{table}");
    assert!(
        !table.contains(esc),
        "stdout plain with NO_COLOR=1:\n{table:?}"
    );
    let error = on_terminal(&t, "1", &["stop", "no-such-process"]);
    assert!(error.contains("error:"), "{error:?}");
    assert!(
        !error.contains(esc),
        "stderr plain with NO_COLOR=1:\n{error:?}"
    );
}
