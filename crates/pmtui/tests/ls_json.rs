//! The `ls --json` contract of the README: every documented field is there with its type,
//! and a process that is not running shows no pid, no uptime and no CPU or memory (at once,
//! not a metrics sample later).

mod common;
use common::TestHome;
use serde_json::Value;

#[test]
fn every_documented_field_is_present_with_its_type() {
    let t = TestHome::new();
    t.ok(&["start", "sleep 300", "--name", "a"]);
    let row = t.wait_status("a", "online");
    let numbers = ["id", "instance", "pid", "restarts", "unstable_restarts"];
    for key in numbers
        .iter()
        .chain(&["uptime_ms", "memory", "created_at", "started_at"])
    {
        assert!(row[key].is_u64(), "{key} is a number: {row}");
    }
    assert!(row["cpu"].is_number(), "{row}");
    for key in ["name", "namespace", "status", "command"] {
        assert!(row[key].is_string(), "{key} is a string: {row}");
    }
    for key in [
        "exit_code",
        "exit_signal",
        "next_restart_at",
        "status_reason",
    ] {
        assert!(row.get(key).is_some(), "{key} is present: {row}");
    }
    // `jlist` is the same list.
    let jlist: Vec<Value> = serde_json::from_str(&t.ok(&["jlist"])).expect("jlist is JSON");
    assert_eq!(jlist.len(), 1);
    assert_eq!(jlist[0]["id"], row["id"]);
}

#[test]
fn a_stopped_process_shows_no_pid_uptime_cpu_or_memory_at_once() {
    let t = TestHome::new();
    t.ok(&["start", "sleep 300", "--name", "m"]);
    t.wait_for("m", "a memory sample", |p| p["memory"].as_u64() > Some(0));
    let out = t.ok(&["stop", "m", "--json"]);
    let rows: Vec<Value> = serde_json::from_str(&out).expect("stop --json is JSON");
    let row = &rows[0];
    assert_eq!(row["status"], "stopped", "{row}");
    assert!(row["pid"].is_null(), "{row}");
    assert_eq!(row["uptime_ms"], 0, "{row}");
    assert_eq!(row["memory"], 0, "{row}");
    assert_eq!(row["cpu"].as_f64(), Some(0.0), "{row}");
    assert_eq!(row["exit_signal"], "SIGTERM", "{row}");
}

/// `ls --json` and `describe --json` print the daemon's JSON re-indented rather than decoded
/// and encoded again: the text is exactly what encoding the decoded rows prints.
#[test]
fn json_lists_print_exactly_what_encoding_the_rows_prints() {
    let t = TestHome::new();
    t.ok(&[
        "start",
        "sleep 300",
        "--name",
        "a \"quoted\" \\ name",
        "-i",
        "2",
    ]);
    t.ok(&["start", "sh -c 'echo oops >&2; exit 3'", "--name", "b"]);
    t.wait_status("a \"quoted\" \\ name", "online");
    t.wait_for("b", "an exit", |p| p["restarts"].as_u64() > Some(0));
    let out = t.ok(&["ls", "--json"]);
    let rows: Vec<pmtui_proto::ProcessInfo> = serde_json::from_str(&out).expect("ls --json");
    assert_eq!(rows.len(), 3);
    let again = serde_json::to_string_pretty(&rows).expect("encodes");
    assert_eq!(out, format!("{again}\n"));
    let out = t.ok(&["describe", "--json", "all"]);
    let details: Vec<pmtui_proto::ProcessDetail> =
        serde_json::from_str(&out).expect("describe --json");
    assert_eq!(details.len(), 3);
    assert!(!details[0].env.is_empty(), "describe keeps the environment");
    let again = serde_json::to_string_pretty(&details).expect("encodes");
    assert_eq!(out, format!("{again}\n"));
}

/// A list longer than one part of the reply (64 KiB) is printed part by part as it
/// arrives: the parts split inside rows, and the text is still exactly what encoding the
/// rows prints, every row once, in id order; a reader that goes away mid-list ends it
/// quietly. Other long replies are still read whole.
#[test]
fn a_list_sent_in_parts_prints_exactly_what_encoding_the_rows_prints() {
    let t = TestHome::new();
    let name = format!("streamed \"{}\"", "x".repeat(100));
    t.ok(&["start", "sleep 300", "--name", &name, "-i", "150"]);
    let out = t.ok(&["ls", "--json"]);
    assert!(
        out.len() > 64 * 1024,
        "{} bytes: two parts or more",
        out.len()
    );
    let rows: Vec<pmtui_proto::ProcessInfo> = serde_json::from_str(&out).expect("ls --json");
    assert_eq!(rows.len(), 150);
    assert!(rows.windows(2).all(|w| w[0].id < w[1].id), "ids in order");
    let again = serde_json::to_string_pretty(&rows).expect("encodes");
    assert_eq!(out, format!("{again}\n"));
    // A reply of over 1 MiB, sent in parts of the framing's own, is put together whole.
    let out = t.ok(&["describe", "--json", "all"]);
    assert!(out.len() > 1 << 20, "{} bytes", out.len());
    let details: Vec<pmtui_proto::ProcessDetail> =
        serde_json::from_str(&out).expect("describe --json");
    assert_eq!(details.len(), 150);

    use std::io::Read;
    let (mut reader, writer) = std::io::pipe().expect("pipe");
    let child = t
        .cmd()
        .args(["ls", "--json"])
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .env_remove("RUST_BACKTRACE")
        .spawn()
        .expect("run");
    let mut first = [0u8; 1000];
    reader
        .read_exact(&mut first)
        .expect("the start of the list");
    assert!(
        first.starts_with(b"[\n  {\n"),
        "{:?}",
        String::from_utf8_lossy(&first)
    );
    drop(reader);
    let out = child.wait_with_output().expect("wait");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.is_empty(), "{err}");
}
