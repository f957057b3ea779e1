//! Trust only the owner: a state directory another user owns or can write is refused,
//! links planted in place of state files are not followed, the client sends nothing to a
//! socket another uid serves, and what pmtui writes is private.
//!
//! Cases that need another uid (a home or a socket that belongs to someone else) are made
//! with root's powers (chown, setuid), as CI runs the tests as root; run as another user
//! they say so and check the rest.

mod common;
use common::{TestHome, wait_until};
use std::io::{BufRead, BufReader};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::{Command, Stdio};

const NOBODY: u32 = 65534;

fn is_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

fn stderr_of(t: &TestHome, args: &[&str]) -> String {
    let out = t.run(args);
    assert!(
        !out.status.success(),
        "pmtui {args:?} must fail: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

#[test]
fn a_home_others_can_write_is_refused_and_0755_is_accepted() {
    let t = TestHome::new();
    let home = t.home().display().to_string();
    std::fs::set_permissions(t.home(), std::fs::Permissions::from_mode(0o770)).expect("chmod");
    let err = stderr_of(&t, &["ping"]);
    assert!(err.contains(&home), "names the path: {err}");
    assert!(err.contains("writable by its group"), "{err}");
    assert!(err.contains("chmod go-w"), "says the fix: {err}");
    assert!(
        !t.home().join("pmtui.sock").exists(),
        "no daemon was started"
    );
    std::fs::set_permissions(t.home(), std::fs::Permissions::from_mode(0o777)).expect("chmod");
    assert!(stderr_of(&t, &["ls"]).contains("everyone"));
    // Once fixed (0755 is fine), it works.
    std::fs::set_permissions(t.home(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    t.ok(&["ping"]);
}

#[test]
fn a_missing_home_is_created_private() {
    let t = TestHome::new();
    let home = t.home().join("fresh");
    let out = t
        .cmd()
        .env("PMTUI_HOME", &home)
        .arg("ping")
        .output()
        .expect("ping");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(mode(&home), 0o700);
    let _ = t.cmd().env("PMTUI_HOME", &home).arg("kill").output();
}

#[test]
fn a_home_of_another_user_is_refused() {
    if !is_root() {
        eprintln!("skipped: giving a directory to another uid needs root (CI runs as root)");
        return;
    }
    let t = TestHome::new();
    std::os::unix::fs::chown(t.home(), Some(NOBODY), None).expect("chown");
    let err = stderr_of(&t, &["ping"]);
    assert!(err.contains("belongs to uid 65534"), "{err}");
    assert!(err.contains(&t.home().display().to_string()), "{err}");
    assert!(
        !t.home().join("pmtui.sock").exists(),
        "no daemon was started"
    );
    let kill = stderr_of(&t, &["kill"]);
    assert!(kill.contains("belongs to uid 65534"), "{kill}");
    std::os::unix::fs::chown(t.home(), Some(0), None).expect("chown back");
}

#[test]
fn planted_links_for_daemon_log_and_pid_are_not_followed() {
    let t = TestHome::new();
    let victim = t.path("victim.txt");
    std::fs::write(&victim, "precious\n").expect("victim");
    std::os::unix::fs::symlink(&victim, t.home().join("daemon.log")).expect("link");
    let err = stderr_of(&t, &["ping"]);
    assert!(err.contains("symbolic link"), "{err}");
    assert!(err.contains("daemon.log"), "{err}");
    assert_eq!(
        std::fs::read_to_string(&victim).expect("read"),
        "precious\n"
    );

    std::fs::remove_file(t.home().join("daemon.log")).expect("unlink");
    std::os::unix::fs::symlink(&victim, t.home().join("daemon.pid")).expect("link");
    let err = stderr_of(&t, &["ping"]);
    assert!(err.contains("daemon.pid"), "{err}");
    assert_eq!(
        std::fs::read_to_string(&victim).expect("read"),
        "precious\n",
        "the daemon neither truncated nor wrote the link's target"
    );
    std::fs::remove_file(t.home().join("daemon.pid")).expect("unlink");
    t.ok(&["ping"]);
}

#[test]
fn what_pmtui_writes_is_private() {
    let t = TestHome::new();
    t.ok(&[
        "start",
        "sh -c 'echo hello; echo oops >&2; sleep 300'",
        "--name",
        "web",
    ]);
    t.wait_status("web", "online");
    t.ok(&["save"]);
    let home = t.home();
    let logs = home.join("logs");
    wait_until("the log files exist", || {
        (logs.join("web-out.log").exists() && logs.join("web-err.log").exists()).then_some(())
    })
    .expect("log files");
    let pid_file = wait_until("the pid file", || {
        std::fs::read_dir(home.join("pids"))
            .ok()?
            .flatten()
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|x| x == "pid"))
    })
    .expect("a pid file");
    for file in [
        home.join("daemon.log"),
        home.join("daemon.pid"),
        home.join("dump.json"),
        home.join("processes/web.json"),
        logs.join("web-out.log"),
        logs.join("web-err.log"),
        pid_file,
    ] {
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }
    for dir in ["processes", "logs", "pids"] {
        assert_eq!(mode(&home.join(dir)), 0o700, "{dir}");
    }
    // The app keeps the umask it would have had: what it creates is not forced private.
    t.ok(&[
        "start",
        "sh -c 'umask > umask.txt; sleep 300'",
        "--name",
        "mask",
        "--cwd",
        &home.display().to_string(),
    ]);
    let umask = wait_until("the app wrote its umask", || {
        std::fs::read_to_string(home.join("umask.txt"))
            .ok()
            .filter(|s| !s.trim().is_empty())
    })
    .expect("umask.txt");
    let ours = Command::new("sh")
        .args(["-c", "umask"])
        .output()
        .expect("sh umask");
    assert_eq!(umask.trim(), String::from_utf8_lossy(&ours.stdout).trim());
}

/// A socket in the home served by uid 65534: the client must refuse it before sending
/// anything (its hello, and above all the environment a `start` carries).
#[test]
fn the_client_sends_nothing_to_a_socket_another_uid_serves() {
    if !is_root() {
        eprintln!("skipped: serving a socket as another uid needs root (CI runs as root)");
        return;
    }
    let t = TestHome::new();
    let socket = t.home().join("pmtui.sock");
    let server = r#"
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1])
os.setgid(65534)
os.setuid(65534)
s.listen(4)  # SO_PEERCRED reports the uid that called listen
print("ready", flush=True)
s.settimeout(60)
c, _ = s.accept()
c.settimeout(5)
got = b""
try:
    while True:
        chunk = c.recv(65536)
        if not chunk:
            break
        got += chunk
except socket.timeout:
    pass
print(len(got), flush=True)
"#;
    let mut child = Command::new("python3")
        .args(["-c", server])
        .arg(&socket)
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    assert_eq!(lines.next().and_then(Result::ok).as_deref(), Some("ready"));
    let err = stderr_of(&t, &["start", "sleep 300", "--name", "secret"]);
    assert!(err.contains("served by uid 65534"), "{err}");
    assert!(err.contains(&socket.display().to_string()), "{err}");
    let received = lines.next().and_then(Result::ok);
    let _ = child.wait();
    assert_eq!(
        received.as_deref(),
        Some("0"),
        "the foreign server got nothing"
    );
    assert!(t.daemon_pid().is_none(), "no daemon was started over it");
}
