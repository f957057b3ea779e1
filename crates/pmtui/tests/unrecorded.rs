//! Acknowledged means durable: a change the daemon cannot write to `processes/` is undone
//! (or, for a stop, kept and retried) and the command fails saying why; process files that
//! cannot be read are reported by `ls` and `ping`, not only in daemon.log.
//!
//! Failures are injected without privileges: a directory where the file should be makes
//! the rename fail with EISDIR (root included: file modes would not stop root).

mod common;
use common::{TestHome, pids_with, unique, wait_until};
use serde_json::Value;
use std::path::PathBuf;

fn record(t: &TestHome, name: &str) -> PathBuf {
    t.home().join("processes").join(format!("{name}.json"))
}

/// Puts a directory (with a file in it) where the record of `name` goes. The persister may
/// be rewriting the file at that moment: tried until the directory is in place.
fn block(t: &TestHome, name: &str) {
    let path = record(t, name);
    wait_until("the record is blocked", || {
        let _ = std::fs::remove_file(&path);
        std::fs::create_dir_all(path.join("inside")).ok()
    })
    .expect("block the record");
}

fn unblock(t: &TestHome, name: &str) {
    std::fs::remove_dir_all(record(t, name)).expect("unblock");
}

fn problems(t: &TestHome) -> Vec<Value> {
    let out = t.ok(&["ping", "--json"]);
    let pong: Value = serde_json::from_str(&out).expect("ping json");
    pong["state_problems"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn fails(t: &TestHome, args: &[&str]) -> String {
    let out = t.run(args);
    assert!(
        !out.status.success(),
        "pmtui {args:?} must fail: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_start_that_cannot_be_recorded_leaves_nothing_running() {
    let t = TestHome::new();
    t.ok(&["ping"]);
    let tag = unique("unrec");
    let command = format!("{} 300", t.tagged_sleep(&tag));
    block(&t, "web");
    let err = fails(&t, &["start", &command, "--name", "web"]);
    assert!(err.contains("Could not record web"), "{err}");
    assert!(err.contains("processes/web.json"), "{err}");
    assert!(err.contains("stopped and removed"), "{err}");
    assert!(
        t.process("web").is_none(),
        "no unrecorded process is listed"
    );
    wait_until("the unrecorded process is gone", || {
        pids_with(&tag).is_empty().then_some(())
    })
    .expect("nothing of it runs");
    // A name too long for the file system: refused one way or another, nothing runs.
    let long = "n".repeat(300);
    fails(&t, &["start", &command, "--name", &long]);
    assert!(t.process(&long).is_none());
    wait_until("nothing runs", || pids_with(&tag).is_empty().then_some(())).expect("gone");
    // Once the file can be written, the same start works.
    unblock(&t, "web");
    t.ok(&["start", &command, "--name", "web"]);
    t.wait_status("web", "online");
    assert!(record(&t, "web").is_file());
}

#[test]
fn a_stop_that_cannot_be_recorded_fails_and_is_written_later() {
    let t = TestHome::new();
    t.ok(&["start", "sleep 300", "--name", "web"]);
    t.wait_status("web", "online");
    block(&t, "web");
    let err = fails(&t, &["stop", "web"]);
    assert!(err.contains("Could not record web"), "{err}");
    assert!(err.contains("stays stopped"), "{err}");
    assert!(err.contains("a daemon restart would"), "{err}");
    // What was asked happened; only its record is missing, and that is reported.
    t.wait_status("web", "stopped");
    let found = problems(&t);
    assert!(
        found.iter().any(|p| p["kind"] == "unsaved"
            && p["path"].as_str().is_some_and(|s| s.ends_with("web.json"))),
        "{found:?}"
    );
    let ls = t.run(&["ls"]);
    let stderr = String::from_utf8_lossy(&ls.stderr);
    assert!(stderr.contains("unsaved change"), "{stderr}");
    // The persister writes it once it can.
    unblock(&t, "web");
    let written = wait_until("the stop is recorded", || {
        let text = std::fs::read_to_string(record(&t, "web")).ok()?;
        let records: Vec<Value> = serde_json::from_str(&text).ok()?;
        (records[0]["desired"] == "stopped").then_some(())
    });
    assert!(written.is_some(), "the retry wrote the record");
    wait_until("the problem clears", || {
        problems(&t).is_empty().then_some(())
    })
    .expect("no problem left");
}

#[test]
fn a_restart_of_a_stopped_process_that_cannot_be_recorded_is_stopped_again() {
    let t = TestHome::new();
    t.ok(&["start", "sleep 300", "--name", "web"]);
    t.ok(&["stop", "web"]);
    block(&t, "web");
    let err = fails(&t, &["restart", "web"]);
    assert!(err.contains("stopped again"), "{err}");
    t.wait_status("web", "stopped");
    unblock(&t, "web");
}

#[test]
fn a_delete_that_cannot_be_recorded_fails() {
    let t = TestHome::new();
    t.ok(&["start", "sleep 300", "--name", "web"]);
    block(&t, "web");
    let err = fails(&t, &["delete", "web"]);
    assert!(err.contains("Could not record web"), "{err}");
    assert!(t.process("web").is_none());
    unblock(&t, "web");
    wait_until("the problem clears", || {
        problems(&t).is_empty().then_some(())
    })
    .expect("no problem left");
}

#[test]
fn save_fails_unless_the_dump_and_its_backup_are_written() {
    let t = TestHome::new();
    t.ok(&["start", "sleep 300", "--name", "web"]);
    t.ok(&["save"]);
    // The backup of the previous dump cannot be written: the good dump is kept.
    std::fs::create_dir_all(t.home().join("dump.json.bak/x")).expect("block the backup");
    let err = fails(&t, &["save"]);
    assert!(err.contains("dump.json.bak"), "{err}");
    std::fs::remove_dir_all(t.home().join("dump.json.bak")).expect("unblock");
    t.ok(&["save"]);
}

#[test]
fn unreadable_process_files_are_reported_and_temp_files_cleaned() {
    let t = TestHome::new();
    let processes = t.home().join("processes");
    std::fs::create_dir_all(&processes).expect("processes");
    std::fs::write(processes.join("bad.json"), "{ not json").expect("corrupt file");
    std::fs::write(processes.join(".tmp-4242-0"), "half").expect("temp");
    std::fs::write(processes.join("web.tmp.4242"), "half").expect("old temp");
    t.ok(&["start", "sleep 300", "--name", "good"]);
    let found = problems(&t);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["kind"], "unreadable");
    assert!(
        found[0]["path"]
            .as_str()
            .is_some_and(|p| p.ends_with("bad.json"))
    );
    assert!(
        found[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("bad.json.broken")),
        "{found:?}"
    );
    assert!(
        processes.join("bad.json.broken").is_file(),
        "set aside, not lost"
    );
    assert!(!processes.join(".tmp-4242-0").exists(), "temp removed");
    assert!(!processes.join("web.tmp.4242").exists(), "old temp removed");
    // `ls --json` stays an array on stdout, the warning goes to stderr.
    let out = t.run(&["ls", "--json"]);
    assert!(out.status.success());
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout).expect("an array");
    assert_eq!(rows.len(), 1);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("unreadable process file"), "{stderr}");
    assert!(stderr.contains("bad.json"), "{stderr}");
    let ping = t.run(&["ping"]);
    assert!(String::from_utf8_lossy(&ping.stderr).contains("bad.json"));
}
