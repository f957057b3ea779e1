//! Stopping ends the whole tree: a child that ignores the stop signal is killed after the
//! timeout, grandchildren and `setsid` escapees are gone, and `kill` leaves nothing behind.

mod common;
use common::{TestHome, alive, pids_with, unique, wait_until};

#[test]
fn a_child_ignoring_sigint_is_killed_after_the_timeout() {
    let t = TestHome::new();
    let tag = unique("ignores-int");
    let script = t.script(
        "stubborn.sh",
        &format!("#!/bin/sh\ntrap '' INT TERM\necho {tag}\nwhile true; do sleep 0.1; done\n"),
    );
    t.ok(&[
        "start",
        script.to_str().expect("utf8"),
        "--name",
        "stubborn",
        "--stop-signal",
        "SIGINT",
        "--kill-timeout",
        "500",
    ]);
    let p = t.wait_status("stubborn", "online");
    let pid = p["pid"].as_i64().expect("pid");
    // The trap must be installed before we stop it: wait for the echo after it.
    let log = t.home().join("logs/stubborn-out.log");
    wait_until("trap installed", || {
        std::fs::read_to_string(&log)
            .ok()
            .filter(|s| s.contains(&tag))
    })
    .expect("started");
    t.ok(&["stop", "stubborn"]);
    let p = t.wait_status("stubborn", "stopped");
    assert!(!alive(pid), "{pid} survived the stop");
    assert_eq!(p["exit_signal"], "SIGKILL", "it took SIGKILL: {p}");
}

#[test]
fn grandchildren_and_setsid_escapees_are_gone_after_stop() {
    let t = TestHome::new();
    let tag = unique("tree");
    // A child that forks a grandchild, and a grandchild that calls setsid to leave the group,
    // and one that double-forks so its parent dies and it is orphaned.
    let sleep = t.tagged_sleep(&tag);
    let script = t.script(
        "tree.py",
        &format!(
            r#"import os, subprocess, sys, time
subprocess.Popen(["{sleep}", "1000"])
subprocess.Popen(["setsid", "{sleep}", "1001"])
subprocess.Popen(["sh", "-c", "setsid {sleep} 1002 & exit 0"])
print("spawned", flush=True)
time.sleep(1000)
"#
        ),
    );
    t.ok(&["start", script.to_str().expect("utf8"), "--name", "tree"]);
    let found = wait_until("three descendants", || {
        let pids = pids_with(&tag);
        (pids.len() >= 3).then_some(pids)
    })
    .expect("the tree started");
    assert!(found.len() >= 3);
    t.ok(&["stop", "tree"]);
    t.wait_status("tree", "stopped");
    let left = wait_until("tree gone", || pids_with(&tag).is_empty().then_some(()));
    assert!(left.is_some(), "left behind: {:?}", pids_with(&tag));
}

#[test]
fn kill_stops_every_process_and_the_daemon() {
    let t = TestHome::new();
    let tag = unique("killall");
    let sleep = t.tagged_sleep(&tag);
    t.ok(&[
        "start",
        &format!("{sleep} 1003 && echo done"),
        "--name",
        "k1",
    ]);
    let script = t.script(
        "k2.sh",
        &format!("#!/bin/sh\nsetsid {sleep} 1004 &\nexec {sleep} 1005\n"),
    );
    t.ok(&["start", script.to_str().expect("utf8"), "--name", "k2"]);
    wait_until("children up", || (pids_with(&tag).len() >= 2).then_some(())).expect("up");
    let daemon = t.daemon_pid().expect("daemon pid") as i64;
    let out = t.run(&["kill"]);
    assert!(out.status.success());
    assert!(
        out.stderr.is_empty(),
        "kill is quiet on stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("every process stopped"));
    assert!(!alive(daemon), "the daemon exited before kill returned");
    assert!(
        wait_until("no process left", || pids_with(&tag)
            .is_empty()
            .then_some(()))
        .is_some(),
        "left: {:?}",
        pids_with(&tag)
    );
    assert!(!t.home().join("pmtui.sock").exists(), "socket removed");
}
