//! The daemon raises its own soft open-file limit and gives children back the one it
//! inherited (programs using `select()` break with fds ≥ 1024).

mod common;
use common::*;

/// (soft, hard) "Max open files" of a pid, from /proc.
fn nofile(pid: i64) -> (String, String) {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).expect("limits");
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .expect("Max open files line");
    let fields: Vec<&str> = line.split_whitespace().collect();
    (fields[3].to_string(), fields[4].to_string())
}

#[test]
fn daemon_raises_its_fd_limit_and_children_get_the_inherited_one() {
    let home = TestHome::new();
    // Start the daemon from a shell whose soft limit is 512.
    let ping = std::process::Command::new("sh")
        .args(["-c", "ulimit -Sn 512 && exec \"$PMTUI\" ping"])
        .env("PMTUI", env!("CARGO_BIN_EXE_pmtui"))
        .env("PMTUI_HOME", home.home())
        .output()
        .expect("run sh");
    assert!(ping.status.success(), "{ping:?}");
    let daemon = i64::from(home.daemon_pid().expect("daemon pid"));
    let (soft, hard) = nofile(daemon);
    assert_eq!(
        soft, hard,
        "the daemon's soft limit is raised to the hard one"
    );
    assert_ne!(soft, "512");

    home.ok(&["start", "sleep 1000", "--name", "s"]);
    let row = home.wait_for("s", "a pid", |p| {
        p["pid"].as_i64().is_some_and(|pid| pid > 0)
    });
    let pid = row["pid"].as_i64().expect("pid");
    assert_eq!(
        nofile(pid).0,
        "512",
        "children get the inherited soft limit back"
    );
}
