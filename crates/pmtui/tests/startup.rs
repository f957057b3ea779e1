//! Boot integration: the units `pmtui startup` writes pass `systemd-analyze verify` and
//! plistlib; installing into an image (`--root`) enables with the real `systemctl` and
//! `unstartup` undoes it; as root on a machine without systemd (this one's /etc hidden
//! behind a private tmpfs) it installs and enables on disk; without root it prints the sudo
//! command; and the daemon speaks systemd's notify protocol. Nothing here touches this
//! machine's service manager or its /etc.

mod common;

use common::TestHome;
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Command, Output};

fn has(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn exe() -> String {
    Path::new(env!("CARGO_BIN_EXE_pmtui"))
        .canonicalize()
        .expect("exe")
        .display()
        .to_string()
}

fn me() -> String {
    let out = Command::new("id").arg("-un").output().expect("id");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn systemd_units_pass_systemd_analyze_verify() {
    let t = TestHome::new();
    let home = t.home().display().to_string();
    for (args, file) in [
        (vec!["startup", "--print"], "pmtui-test.service"),
        (
            vec!["startup", "systemd", "--user", "--print"],
            "pmtui.service",
        ),
    ] {
        let out = t.run(&args);
        let (unit, err) = text(&out);
        assert!(out.status.success(), "{args:?}: {err}");
        assert!(err.trim().ends_with(".service"), "where it goes: {err}");
        assert!(unit.contains("\nType=notify\n"), "{unit}");
        assert!(
            unit.contains(&format!("\nExecStart={} daemon\n", exe())),
            "{unit}"
        );
        assert!(
            unit.contains(&format!("\nExecStartPost=-{} resurrect\n", exe())),
            "{unit}"
        );
        assert!(
            unit.contains(&format!("\nEnvironment=PMTUI_HOME={home}\n")),
            "{unit}"
        );
        assert!(unit.contains("\nKillMode=mixed\n") && unit.contains("\nDelegate=yes\n"));
        let system = !args.contains(&"--user");
        assert_eq!(
            unit.contains(&format!("\nUser={}\n", me())),
            system,
            "{unit}"
        );
        let target = if system {
            "multi-user.target"
        } else {
            "default.target"
        };
        assert!(unit.contains(&format!("\nWantedBy={target}\n")), "{unit}");
        if !has("systemd-analyze") {
            eprintln!("systemd-analyze is not installed: not verified (CI installs it)");
            continue;
        }
        let path = t.path(file);
        std::fs::write(&path, &unit).expect("write unit");
        let mut verify = Command::new("systemd-analyze");
        if !system {
            verify.arg("--user");
        }
        let out = verify
            .args(["verify", "--man=no"])
            .arg(&path)
            .env("XDG_RUNTIME_DIR", t.home())
            .output()
            .expect("systemd-analyze");
        let (stdout, stderr) = text(&out);
        assert!(
            out.status.success() && stderr.trim().is_empty(),
            "systemd-analyze verify {file}: {}\n{stdout}{stderr}\n{unit}",
            out.status
        );
    }
}

#[test]
fn startup_into_an_image_enables_with_systemctl_and_unstartup_removes() {
    if !has("systemctl") {
        eprintln!("systemctl is not installed: skipped (CI installs systemd)");
        return;
    }
    let t = TestHome::new();
    let image = t.path("image");
    let root = image.display().to_string();
    let args = [
        "startup", "systemd", "-u", "nobody", "--hp", "/srv/app", "--root", &root,
    ];
    let (out, err) = text(&t.run(&args));
    let unit_file = image.join("etc/systemd/system/pmtui-nobody.service");
    let unit = std::fs::read_to_string(&unit_file).unwrap_or_else(|e| panic!("{e}: {out}{err}"));
    assert!(unit.contains("\nUser=nobody\n"), "{unit}");
    assert!(
        unit.contains("\nEnvironment=PMTUI_HOME=/srv/app/.pmtui\n"),
        "{unit}"
    );
    assert!(unit.contains("\nWorkingDirectory=/srv/app\n"), "{unit}");
    let link = image.join("etc/systemd/system/multi-user.target.wants/pmtui-nobody.service");
    assert!(link.is_symlink(), "not enabled: {out}{err}");
    let state = Command::new("systemctl")
        .args([
            &format!("--root={root}"),
            "is-enabled",
            "pmtui-nobody.service",
        ])
        .output()
        .expect("systemctl");
    assert_eq!(text(&state).0.trim(), "enabled");

    let (out, err) = text(&t.run(&["unstartup", "-u", "nobody", "--root", &root]));
    assert!(out.contains("removed"), "{out}{err}");
    assert!(!unit_file.exists() && !link.is_symlink(), "{out}{err}");
    let (out, _) = text(&t.run(&["unstartup", "-u", "nobody", "--root", &root]));
    assert!(out.contains("nothing to remove"), "{out}");

    // A user unit: in the user's config folder, linked from default.target.wants.
    let config = t.path("config");
    let out = t
        .cmd()
        .args(["startup", "--user", "--root", &root])
        .env("XDG_CONFIG_HOME", &config)
        .output()
        .expect("startup --user");
    let rel = config.strip_prefix("/").expect("absolute");
    let user_unit = image.join(rel).join("systemd/user/pmtui.service");
    assert!(user_unit.is_file(), "{:?}", text(&out));
    let user_link = image
        .join(rel)
        .join("systemd/user/default.target.wants/pmtui.service");
    assert_eq!(
        std::fs::read_link(&user_link).expect("link"),
        config.join("systemd/user/pmtui.service")
    );
    let out = t
        .cmd()
        .args(["unstartup", "--user", "--root", &root])
        .env("XDG_CONFIG_HOME", &config)
        .output()
        .expect("unstartup --user");
    assert!(out.status.success());
    assert!(!user_unit.exists() && !user_link.is_symlink());
}

#[test]
fn launchd_plist_is_a_valid_property_list() {
    let t = TestHome::new();
    let image = t.path("image");
    let root = image.display().to_string();
    t.ok(&[
        "startup",
        "launchd",
        "-u",
        "nobody",
        "--hp",
        "/Users/nobody",
        "--root",
        &root,
    ]);
    let plist = image.join("Library/LaunchDaemons/io.pmtui.nobody.plist");
    assert!(plist.is_file());
    if has("python3") {
        let check = format!(
            r#"import plistlib, sys
p = plistlib.load(open(sys.argv[1], "rb"))
assert p["Label"] == "io.pmtui.nobody", p
assert p["UserName"] == "nobody", p
assert p["ProgramArguments"] == [{exe:?}, "resurrect"], p
assert p["EnvironmentVariables"]["PMTUI_HOME"] == "/Users/nobody/.pmtui", p
assert p["RunAtLoad"] is True and p["AbandonProcessGroup"] is True, p
print("ok")"#,
            exe = exe()
        );
        let out = Command::new("python3")
            .args(["-c", &check])
            .arg(&plist)
            .output()
            .expect("python3");
        assert_eq!(text(&out).0.trim(), "ok", "{}", text(&out).1);
    }
    t.ok(&["unstartup", "launchd", "-u", "nobody", "--root", &root]);
    assert!(!plist.exists());
    // An agent needs no UserName; on Linux it can be printed but not loaded.
    let (agent, _) = text(&t.run(&["startup", "launchd", "--user", "--print"]));
    assert!(agent.contains("<string>io.pmtui</string>") && !agent.contains("UserName"));
    if !cfg!(target_os = "macos") {
        let out = t.run(&["startup", "launchd"]);
        assert_eq!(out.status.code(), Some(1));
        assert!(text(&out).1.contains("macOS"));
    }
}

#[test]
fn startup_as_root_without_systemd_enables_on_disk() {
    if !is_root()
        || !has("unshare")
        || !has("systemctl")
        || Path::new("/run/systemd/system").exists()
    {
        eprintln!(
            "needs root, unshare, systemctl and a machine that systemd does not run: skipped"
        );
        return;
    }
    let t = TestHome::new();
    // A private mount namespace with a tmpfs over /etc/systemd/system: the real path, the
    // real systemctl, and this machine's /etc untouched.
    let script = r#"mount -t tmpfs none /etc/systemd/system || exit 90
"$0" startup || exit 91
test -L /etc/systemd/system/multi-user.target.wants/pmtui-root.service || exit 92
systemctl is-enabled pmtui-root.service || exit 93
"$0" unstartup || exit 94
test ! -e /etc/systemd/system/pmtui-root.service || exit 95
echo done"#;
    let out = Command::new("unshare")
        .args(["-m", "sh", "-c", script, &exe()])
        .env("PMTUI_HOME", t.home())
        .output()
        .expect("unshare");
    let (stdout, stderr) = text(&out);
    if out.status.code() == Some(90) {
        eprintln!("cannot mount in a private namespace here: skipped ({stderr})");
        return;
    }
    assert!(out.status.success(), "{}: {stdout}{stderr}", out.status);
    assert!(
        stdout.contains("wrote /etc/systemd/system/pmtui-root.service"),
        "{stdout}"
    );
    assert!(
        stdout.contains("systemd is not running on this machine"),
        "{stdout}"
    );
    assert!(
        stdout.contains("enabled\n") && stdout.ends_with("done\n"),
        "{stdout}"
    );
}

#[test]
fn startup_without_root_prints_the_sudo_command() {
    if !is_root() {
        // Already not root: the command itself is the test.
        let t = TestHome::new();
        let (out, _) = text(&t.run(&["startup"]));
        assert!(out.contains("sudo env PATH="), "{out}");
        return;
    }
    use std::os::unix::process::CommandExt;
    let t = TestHome::new();
    let run_as_nobody = |args: &[&str]| {
        Command::new(exe())
            .args(args)
            .uid(65534)
            .gid(65534)
            .env("PMTUI_HOME", "/tmp/pmtui-nobody-home")
            .env("PATH", "/usr/bin:/bin")
            .current_dir("/")
            .output()
            .expect("run as nobody")
    };
    let out = run_as_nobody(&["startup"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    let expected = format!(
        "sudo env PATH=/usr/bin:/bin PMTUI_HOME=/tmp/pmtui-nobody-home {} startup systemd -u nobody",
        exe()
    );
    assert!(stdout.contains(&expected), "{stdout}");
    let out = run_as_nobody(&["unstartup"]);
    assert!(
        text(&out).0.contains("unstartup systemd -u nobody"),
        "{:?}",
        text(&out)
    );
    // --print needs no root either.
    let out = run_as_nobody(&["startup", "--print"]);
    assert!(text(&out).0.contains("\nUser=nobody\n"), "{:?}", text(&out));
    drop(t);
}

/// One datagram; a signal that interrupts the wait (EINTR: seen once on a loaded machine)
/// does not end it.
fn recv_retrying(socket: &UnixDatagram, buf: &mut [u8]) -> std::io::Result<usize> {
    loop {
        match socket.recv(buf) {
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
            result => return result,
        }
    }
}

#[test]
fn the_daemon_tells_systemd_when_it_is_ready_and_stopping() {
    let t = TestHome::new();
    let socket_path = t.path("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).expect("bind the notify socket");
    socket
        .set_read_timeout(Some(common::DEADLINE))
        .expect("timeout");
    let mut daemon = t
        .cmd()
        .arg("daemon")
        .env("NOTIFY_SOCKET", &socket_path)
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn the daemon");
    let mut buf = [0u8; 512];
    let n = recv_retrying(&socket, &mut buf).expect("READY=1 within the deadline");
    let message = String::from_utf8_lossy(&buf[..n]).into_owned();
    assert!(message.lines().any(|l| l == "READY=1"), "{message}");
    // Ready means it accepts clients: this ping reaches this daemon, not a new one.
    t.ok(&["ping"]);
    assert_eq!(t.daemon_pid(), Some(daemon.id() as i32));

    // A daemon a client starts never notifies, even when the client has NOTIFY_SOCKET.
    let other = TestHome::new();
    other
        .cmd()
        .arg("ping")
        .env("NOTIFY_SOCKET", &socket_path)
        .output()
        .expect("ping");
    assert!(other.daemon_pid().is_some());
    socket.set_nonblocking(true).expect("nonblocking");
    assert!(
        socket.recv(&mut buf).is_err(),
        "an autostarted daemon notified: {}",
        String::from_utf8_lossy(&buf)
    );
    socket.set_nonblocking(false).expect("blocking");

    t.ok(&["kill"]);
    let n = recv_retrying(&socket, &mut buf).expect("STOPPING=1 within the deadline");
    assert!(
        String::from_utf8_lossy(&buf[..n])
            .lines()
            .any(|l| l == "STOPPING=1")
    );
    let _ = daemon.wait();
}
