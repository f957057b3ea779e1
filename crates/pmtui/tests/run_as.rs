//! `uid`/`gid`: a daemon running as root starts the app as that user, with its group and
//! supplementary groups and its HOME/USER/LOGNAME; an unknown user is refused at `start`; a
//! daemon that is not root refuses another user at `start` instead of running it as itself.
//! These tests need root (they are skipped otherwise) and the usual `nobody`/`nogroup`.

mod common;
use common::{TestHome, wait_until};
use std::os::unix::process::CommandExt;

fn is_root() -> bool {
    euid() == 0
}

/// The effective uid, from `/proc/self/status` (the tests do not link nix).
fn euid() -> u32 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|ids| ids.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(u32::MAX)
}

/// The `Uid:`, `Gid:` and `Groups:` lines of a process, without their labels.
fn ids(pid: i64) -> (String, String, String) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.split_whitespace().collect::<Vec<_>>().join(" "))
            .unwrap_or_default()
    };
    (field("Uid:"), field("Gid:"), field("Groups:"))
}

fn nobody_exists() -> bool {
    let has = |file: &str, entry: &str| {
        std::fs::read_to_string(file).is_ok_and(|s| s.lines().any(|l| l.starts_with(entry)))
    };
    has("/etc/passwd", "nobody:x:65534:65534:") && has("/etc/group", "nogroup:x:65534:")
}

#[test]
fn a_root_daemon_runs_the_app_as_nobody_with_its_groups() {
    if !is_root() || !nobody_exists() {
        eprintln!("skipped: needs root and nobody/nogroup");
        return;
    }
    let t = TestHome::new();
    // By name, from a directory nobody may enter.
    t.ok(&[
        "start",
        "sleep 300",
        "--name",
        "named",
        "--uid",
        "nobody",
        "--gid",
        "nogroup",
        "--cwd",
        "/",
    ]);
    // By number, the group taken from the user database.
    t.ok(&[
        "start",
        "sleep 300",
        "--name",
        "numbered",
        "--uid",
        "65534",
        "--cwd",
        "/",
    ]);
    for name in ["named", "numbered"] {
        let pid = t.wait_status(name, "online")["pid"].as_i64().expect("pid");
        let (uid, gid, groups) = ids(pid);
        assert_eq!(uid, "65534 65534 65534 65534", "{name}");
        assert_eq!(gid, "65534 65534 65534 65534", "{name}");
        assert_eq!(groups, "65534", "{name}: root's groups are dropped");
    }
    let env = t.ok(&["env", "named"]);
    assert!(env.contains("USER=nobody\n"), "{env}");
    assert!(env.contains("LOGNAME=nobody\n"), "{env}");
    assert!(env.contains("HOME=/nonexistent\n"), "{env}");
    let describe = t.ok(&["describe", "named"]);
    assert!(describe.contains("nobody (group nogroup)"), "{describe}");
    // Logs are written by the daemon, so they work for the other user too.
    t.ok(&[
        "start",
        "echo i-am-$(id -un)",
        "--name",
        "talker",
        "--uid",
        "nobody",
        "--cwd",
        "/",
        "--no-autorestart",
    ]);
    let log = t.home().join("logs/talker-out.log");
    wait_until("the line as nobody", || {
        std::fs::read_to_string(&log)
            .ok()
            .filter(|s| s.contains("i-am-nobody"))
    })
    .expect("talker wrote as nobody");
}

#[test]
fn a_working_directory_the_user_cannot_enter_fails_the_start_with_the_reason() {
    if !is_root() || !nobody_exists() {
        eprintln!("skipped: needs root and nobody/nogroup");
        return;
    }
    let t = TestHome::new();
    let private = t.path("private");
    std::fs::create_dir(&private).expect("dir");
    std::fs::set_permissions(
        &private,
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )
    .expect("chmod");
    t.ok(&[
        "start",
        "sleep 300",
        "--name",
        "locked",
        "--uid",
        "nobody",
        "--cwd",
        private.to_str().expect("utf8"),
    ]);
    let row = t.wait_status("locked", "errored");
    let reason = row["status_reason"].as_str().unwrap_or_default();
    assert!(reason.contains("Permission denied"), "{row}");
}

#[test]
fn unknown_users_and_groups_are_refused_at_start() {
    let t = TestHome::new();
    for args in [
        ["--uid", "no-such-user-pmtui"],
        ["--gid", "no-such-group-pmtui"],
    ] {
        let mut argv = vec!["start", "sleep 300", "--name", "ghost"];
        argv.extend(args);
        let out = t.run(&argv);
        assert_eq!(out.status.code(), Some(1), "{argv:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("does not exist"), "{err}");
    }
    assert!(t.list().is_empty(), "nothing was added");
}

#[test]
fn a_daemon_that_is_not_root_refuses_another_user_at_start() {
    if !is_root() || !nobody_exists() {
        eprintln!("skipped: needs root to become nobody");
        return;
    }
    // A home that nobody owns, and every command run as nobody.
    let dir = tempfile::Builder::new()
        .prefix("pmt")
        .tempdir_in("/tmp")
        .expect("temp dir");
    let home = dir.path().join("home");
    std::fs::create_dir(&home).expect("home");
    let chown = std::process::Command::new("chown")
        .args(["-R", "65534:65534", dir.path().to_str().expect("utf8")])
        .status()
        .expect("chown");
    assert!(chown.success());
    let as_nobody = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_pmtui"))
            .uid(65534)
            .gid(65534)
            .env("PMTUI_HOME", &home)
            .env("NO_COLOR", "1")
            .current_dir("/")
            .args(args)
            .output()
            .expect("run pmtui as nobody")
    };
    let out = as_nobody(&["start", "sleep 300", "--name", "x", "--uid", "root"]);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    let _ = as_nobody(&["kill"]);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("needs a daemon running as root") && err.contains("uid 65534"),
        "{err}"
    );
}
