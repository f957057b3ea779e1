//! Which executable runs the daemon: `pmtui-daemon` beside `pmtui` when it is there (the
//! daemon alone, a smaller footprint), else `pmtui daemon`; both serve the same daemon.

mod common;

use common::{DEADLINE, TestHome, wait_until};
use std::path::{Path, PathBuf};

/// The executable the daemon of `t` runs, once it wrote its pid.
fn daemon_exe(t: &TestHome) -> PathBuf {
    let pid = wait_until("the daemon's pid file", || t.daemon_pid())
        .unwrap_or_else(|| panic!("no daemon.pid within {DEADLINE:?}"));
    std::fs::read_link(format!("/proc/{pid}/exe")).expect("the daemon's /proc/<pid>/exe")
}

#[test]
fn the_client_starts_pmtui_daemon_when_it_is_beside_pmtui() {
    let t = TestHome::new();
    t.ok(&["ls"]);
    let exe = daemon_exe(&t);
    assert_eq!(
        exe,
        Path::new(env!("CARGO_BIN_EXE_pmtui-daemon")),
        "the daemon runs {}",
        exe.display()
    );
    // The same daemon as ever: it supervises.
    let sleep = t.tagged_sleep("lean");
    t.ok(&["start", &sleep, "--name", "lean", "--", "1000"]);
    t.wait_status("lean", "online");
}

#[test]
fn pmtui_alone_runs_itself_as_the_daemon() {
    let t = TestHome::new();
    // `pmtui` in a folder of its own (a hard link: same file system as the build).
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("temp dir");
    let alone = dir.path().join("pmtui");
    std::fs::hard_link(env!("CARGO_BIN_EXE_pmtui"), &alone)
        .or_else(|_| std::fs::copy(env!("CARGO_BIN_EXE_pmtui"), &alone).map(|_| ()))
        .expect("pmtui in a folder of its own");
    let out = std::process::Command::new(&alone)
        .arg("ls")
        .env("PMTUI_HOME", t.home())
        .env("NO_COLOR", "1")
        .output()
        .expect("run the lone pmtui");
    assert!(out.status.success(), "{out:?}");
    let exe = daemon_exe(&t);
    assert_eq!(exe, alone, "the daemon runs {}", exe.display());
}

#[test]
fn pmtui_daemon_refuses_other_arguments() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pmtui-daemon"))
        .arg("start")
        .output()
        .expect("run pmtui-daemon");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("usage: pmtui-daemon"));
}
