//! Persistence and recovery: a daemon killed with SIGKILL is replaced by one that ends the
//! old processes and starts what should run, nothing twice; stale files are replaced;
//! `save` → `kill` → `resurrect` brings back the set, stopped processes included.

mod common;
use common::{TestHome, alive, assert_all_gone, pids_with, unique, wait_until};

#[test]
fn daemon_sigkill_then_recovery_without_duplicates() {
    let t = TestHome::new();
    let tag = unique("survivor");
    let sleep = t.tagged_sleep(&tag);
    let script = t.script(
        "w.sh",
        &format!("#!/bin/sh\n{sleep} 1010 &\nexec {sleep} 1011\n"),
    );
    t.ok(&["start", script.to_str().expect("utf8"), "--name", "w"]);
    t.ok(&["start", "sleep 300", "--name", "idle"]);
    t.ok(&["stop", "idle"]);
    wait_until("both up", || (pids_with(&tag).len() >= 2).then_some(())).expect("up");
    let old = pids_with(&tag);
    t.sigkill_daemon();

    // The next command starts a new daemon which ends the old tree and starts w again.
    let list = t.list();
    assert_eq!(list.len(), 2, "{list:?}");
    let w = t.wait_status("w", "online");
    assert_eq!(
        t.process("idle").expect("idle")["status"],
        "stopped",
        "a stopped process stays stopped"
    );
    assert_all_gone(&old);
    // Exactly one main and one child of the new run.
    let now = wait_until("new tree", || {
        let p = pids_with(&tag);
        (p.len() == 2).then_some(p)
    });
    assert!(
        now.is_some(),
        "expected exactly the new main + child, found {:?}",
        pids_with(&tag)
    );
    assert!(!old.contains(&w["pid"].as_i64().expect("pid")));
}

#[test]
fn stale_socket_and_pid_file_are_replaced() {
    let t = TestHome::new();
    std::fs::write(t.home().join("daemon.pid"), "999999").expect("write");
    std::fs::write(t.home().join("pmtui.sock"), "not a socket").expect("write");
    let out = t.ok(&["ping"]);
    assert!(out.contains("pong"), "{out}");
    let pid = t.daemon_pid().expect("pid");
    assert_ne!(pid, 999_999);
}

#[test]
fn save_kill_resurrect_restores_the_set_including_stopped() {
    let t = TestHome::new();
    t.ok(&["start", "sleep 300", "--name", "one"]);
    t.ok(&["start", "sleep 300", "--name", "two", "--namespace", "grp"]);
    t.ok(&["start", "sleep 300", "--name", "three"]);
    t.ok(&["stop", "three"]);
    let out = t.ok(&["save"]);
    assert!(out.contains("3"), "{out}");
    t.ok(&["kill"]);
    assert!(t.home().join("dump.json").exists());
    t.ok(&["resurrect"]);
    let one = t.wait_status("one", "online");
    let two = t.wait_status("two", "online");
    assert_eq!(two["namespace"], "grp");
    assert_eq!(t.process("three").expect("three")["status"], "stopped");
    assert!(one["pid"].as_i64().is_some());
    // A second resurrect skips names that exist.
    t.ok(&["resurrect"]);
    assert_eq!(t.list().len(), 3);
}

#[test]
fn kill_replies_before_the_daemon_exits_even_with_many_processes() {
    let t = TestHome::new();
    let tag = unique("killreply");
    let sleep = t.tagged_sleep(&tag);
    t.ok(&["start", &sleep, "--name", "many", "-i", "200", "--", "300"]);
    let daemon = t.daemon_pid().expect("daemon pid") as i64;
    // The daemon used to exit before the reply was written: "connection to the daemon lost".
    let out = t.ok(&["kill"]);
    assert!(out.contains("daemon exiting"), "{out}");
    assert!(!alive(daemon), "the daemon outlived kill");
    assert!(pids_with(&tag).is_empty(), "left: {:?}", pids_with(&tag));
}

#[test]
fn save_refuses_an_empty_list_without_force() {
    let t = TestHome::new();
    let out = t.run(&["save"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--force"));
    t.ok(&["save", "--force"]);
}

#[test]
fn processes_outlive_the_client_and_the_state_is_on_disk() {
    let t = TestHome::new();
    t.ok(&["start", "sleep 300", "--name", "disk"]);
    let file = t.home().join("processes/disk.json");
    let text = wait_until("persisted", || {
        std::fs::read_to_string(&file)
            .ok()
            .filter(|s| s.contains("\"pid\": "))
    })
    .expect("processes/disk.json written");
    let records: serde_json::Value = serde_json::from_str(&text).expect("valid json");
    assert_eq!(records[0]["desired"], "running");
    // The main pid's identity, as a new daemon will check it: its start time is the one in
    // its stat line (the daemon knows it from the spawn's timing, or reads it).
    let pid = records[0]["pid"].as_u64().expect("pid");
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    let fields: Vec<&str> = stat[stat.rfind(')').expect("name") + 2..]
        .split(' ')
        .collect();
    let started: u64 = fields[19].parse().expect("starttime");
    assert_eq!(
        records[0]["pid_start_time"].as_u64(),
        Some(started),
        "{text}"
    );
    let socket = t.home().join("pmtui.sock");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&socket).expect("socket").permissions(),
    );
    assert_eq!(mode & 0o777, 0o600, "socket is private");
}
