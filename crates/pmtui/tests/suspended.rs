//! A process stopped by a signal (SIGSTOP) shows `suspended`, not `online`, in `ls`,
//! `ls --json` and `describe`; SIGCONT brings it back; `stop` still ends it.

mod common;
use common::{TestHome, alive, wait_until};

fn signal(pid: i64, sig: &str) {
    let status = std::process::Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .expect("kill");
    assert!(status.success(), "kill {sig} {pid}");
}

#[test]
fn sigstop_shows_suspended_and_sigcont_online_again() {
    let t = TestHome::new();
    t.ok(&["start", "sleep 300", "--name", "nap"]);
    let pid = t.wait_status("nap", "online")["pid"].as_i64().expect("pid");

    signal(pid, "-STOP");
    let row = t.wait_status("nap", "suspended");
    assert_eq!(row["pid"].as_i64(), Some(pid), "{row}");
    let ls = t.ok(&["ls"]);
    assert!(ls.contains("suspended"), "{ls}");
    let describe = t.ok(&["describe", "nap"]);
    assert!(describe.contains("suspended"), "{describe}");
    let json: serde_json::Value =
        serde_json::from_str(&t.ok(&["describe", "nap", "--json"])).expect("json");
    assert_eq!(json[0]["status"], "suspended", "{json}");

    signal(pid, "-CONT");
    let row = t.wait_status("nap", "online");
    assert_eq!(row["pid"].as_i64(), Some(pid), "same run: {row}");

    // Stopped again, then `stop`: the stop signal reaches it (SIGCONT follows), no SIGKILL
    // wait is needed, and the row ends `stopped`.
    signal(pid, "-STOP");
    t.wait_status("nap", "suspended");
    t.ok(&["stop", "nap"]);
    let row = t.wait_status("nap", "stopped");
    assert_eq!(
        row["exit_signal"], "SIGTERM",
        "ended by the stop signal: {row}"
    );
    assert!(
        wait_until("gone", || (!alive(pid)).then_some(())).is_some(),
        "{pid} survived"
    );
}
