//! Remote daemons over ssh (issue 19), against a real sshd on a loopback port: `--host`
//! runs `pmtui dial-stdio` on the far side through the system ssh; every "host" is a
//! daemon of its own on this machine (its own PMTUI_HOME, sent by the ssh config).

mod common;

use common::sshd::{Keys, Sshd};
use common::tmux::Tmux;
use common::{TestHome, pids_with, succeeded, wait_until};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// This machine as the client, and remote hosts reached over ssh.
struct World {
    local: TestHome,
    /// One per alias: the far daemon's home (its Drop ends that daemon).
    remotes: Vec<TestHome>,
    servers: Vec<Sshd>,
    config: PathBuf,
}

impl World {
    /// `count` hosts, `hosta`, `hostb`…, each its own sshd; `None` when sshd is missing.
    fn new(count: usize) -> Option<Self> {
        let local = TestHome::new();
        let keys = Keys::new(&local)?;
        let remotes: Vec<TestHome> = (0..count).map(|_| TestHome::new()).collect();
        let servers: Vec<Sshd> = (0..count)
            .map(|_| Sshd::start(&keys))
            .collect::<Option<_>>()?;
        let aliases: Vec<String> = (0..count).map(alias).collect();
        let hosts: Vec<_> = (0..count)
            .map(|i| (aliases[i].as_str(), &servers[i], remotes[i].home()))
            .collect();
        let config = keys.config(&hosts);
        Some(Self {
            local,
            remotes,
            servers,
            config,
        })
    }

    /// `pmtui` on this machine, its ssh reading the test's config, pmtui on the far side
    /// being this build.
    fn cmd(&self) -> Command {
        let mut cmd = self.local.cmd();
        cmd.env(
            "PMTUI_SSH_COMMAND",
            format!("ssh -F {}", self.config.display()),
        )
        .env("PMTUI_REMOTE_BIN", env!("CARGO_BIN_EXE_pmtui"))
        .env_remove("PMTUI_HOST")
        .env_remove("PMTUI_CONTEXT")
        .stdin(Stdio::null());
        cmd
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().expect("run pmtui")
    }

    fn ok(&self, args: &[&str]) -> String {
        succeeded(args, &self.run(args))
    }

    /// `ls --json` of `host`, over ssh.
    fn list(&self, host: &str) -> Vec<Value> {
        let out = self.ok(&["--host", host, "ls", "--json"]);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("bad ls --json ({e}): {out}"))
    }

    /// No ssh of this test is left running.
    fn assert_no_ssh_left(&self) {
        let needle = self.config.display().to_string();
        let left = wait_until("ssh children to end", || {
            pids_with(&needle).is_empty().then_some(())
        });
        assert!(left.is_some(), "ssh still runs: {:?}", pids_with(&needle));
    }
}

fn alias(i: usize) -> String {
    format!("host{}", (b'a' + i as u8) as char)
}

fn url(i: usize) -> String {
    format!("ssh://{}", alias(i))
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn remote_start_ls_logs_follow_and_restart_go_through_ssh() {
    let Some(world) = World::new(1) else { return };
    let far = &world.remotes[0];
    // The script lives on the "remote" host: its path is read there.
    let script = far.script(
        "ticker.sh",
        "#!/bin/sh\nn=0\nwhile true; do n=$((n+1)); echo \"tick $n\"; sleep 0.2; done\n",
    );
    let host = url(0);
    let out = world.ok(&[
        "--host",
        &host,
        "start",
        &script.display().to_string(),
        "--name",
        "ticker",
    ]);
    assert!(out.contains("ticker"), "{out}");
    // It runs under the far daemon, and no daemon was started here.
    far.wait_status("ticker", "online");
    assert!(
        world.local.daemon_pid().is_none(),
        "a local daemon was started"
    );
    let rows = world.list(&host);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["name"], "ticker");
    let table = world.ok(&["--host", &host, "ls"]);
    assert!(table.contains(&format!("host: {host}")), "{table}");

    // Recent lines, then a follower that sees new ones.
    wait_until("a few ticks", || {
        let out = world.run(&["--host", &host, "logs", "ticker", "--nostream", "--raw"]);
        String::from_utf8_lossy(&out.stdout)
            .contains("tick 3")
            .then_some(())
    })
    .expect("recent lines over ssh");
    let mut follower = world
        .cmd()
        .args([
            "--host", &host, "logs", "ticker", "-f", "--raw", "--lines", "0",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("logs -f");
    let stdout = follower.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + common::DEADLINE;
    let mut seen = Vec::new();
    while seen.len() < 3 && Instant::now() < deadline {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(100)) {
            seen.push(line);
        }
    }
    assert!(seen.len() >= 3, "logs -f over ssh printed {seen:?}");
    assert!(seen.iter().all(|l| l.starts_with("tick ")), "{seen:?}");
    let _ = follower.kill();
    let _ = follower.wait();

    // describe, restart, stop and delete act on the far daemon.
    let described = world.ok(&["--host", &host, "describe", "ticker"]);
    assert!(described.contains("ticker.sh"), "{described}");
    world.ok(&["--host", &host, "restart", "ticker"]);
    far.wait_for("ticker", "one restart", |p| p["restarts"] == 1);
    world.ok(&["--host", &host, "stop", "ticker"]);
    far.wait_status("ticker", "stopped");
    world.ok(&["--host", &host, "delete", "ticker"]);
    assert!(far.list().is_empty());
    // The follower's ssh ended with it (its pipe closed), and every other ssh was reaped.
    world.assert_no_ssh_left();
}

#[test]
fn a_local_ecosystem_file_is_sent_with_local_file() {
    let Some(world) = World::new(1) else { return };
    let far = &world.remotes[0];
    let marker = common::unique("lf");
    let sleep = far.tagged_sleep(&marker);
    // The file exists only here; the app's cwd is on the far side.
    let file = world.local.path("apps.yaml");
    std::fs::write(
        &file,
        format!(
            "apps:\n  - name: sent\n    script: {sleep}\n    args: [\"300\"]\n    cwd: {}\n",
            far.home().display()
        ),
    )
    .expect("write file");
    let host = url(0);
    let out = world.ok(&[
        "--host",
        &host,
        "start",
        "--local-file",
        &file.display().to_string(),
    ]);
    assert!(out.contains("started sent"), "{out}");
    far.wait_status("sent", "online");
    let row = far.process("sent").expect("row");
    assert!(row["pid"].as_u64().is_some(), "{row}");
}

#[test]
fn several_hosts_in_one_ls_and_a_host_that_drops() {
    let Some(mut world) = World::new(2) else {
        return;
    };
    for (i, far) in world.remotes.iter().enumerate() {
        let sleep = far.tagged_sleep(&common::unique("two"));
        let name = format!("app{i}");
        far.ok(&["start", &sleep, "--name", &name, "--", "300"]);
        far.wait_status(&name, "online");
    }
    let (a, b) = (url(0), url(1));
    let out = world.ok(&["--host", &a, "--host", &b, "ls", "--json"]);
    let rows: Vec<Value> = serde_json::from_str(&out).expect("json");
    let mut seen: Vec<(String, String)> = rows
        .iter()
        .map(|r| {
            (
                r["host"].as_str().unwrap_or_default().to_string(),
                r["name"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [(a.clone(), "app0".into()), (b.clone(), "app1".into())]
    );
    let table = world.ok(&["--host", &format!("{a},{b}"), "ls"]);
    let header = table.lines().nth(1).unwrap_or_default();
    assert!(header.starts_with("host"), "{table}");
    assert!(table.contains(&b) && table.contains("app1"), "{table}");

    // Host b goes away: a is still listed, b is said to be disconnected, the exit code
    // says something failed.
    world.servers[1].kill_host();
    let out = world.run(&["--host", &a, "--host", &b, "ls"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success());
    assert!(text.contains("app0") && !text.contains("app1"), "{text}");
    assert!(
        stderr(&out).contains(&format!("{b}: disconnected")),
        "{}",
        stderr(&out)
    );
    // A verb for one daemon refuses several hosts.
    let out = world.run(&["--host", &a, "--host", &b, "stop", "all"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("talks to one daemon"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn pmtui_missing_on_the_remote_and_ssh_failures_are_said_clearly() {
    let Some(world) = World::new(1) else { return };
    let host = url(0);
    let out = world
        .cmd()
        .env("PMTUI_REMOTE_BIN", "/nonexistent/pmtui")
        .args(["--host", &host, "ls"])
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains(&format!("pmtui is not installed on {host}")),
        "{err}"
    );
    assert!(err.contains("/nonexistent/pmtui"), "{err}");
    assert!(err.contains("--remote-bin"), "{err}");

    // Nothing listens on this port: ssh's own message is shown.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port");
    let out = world.run(&["--host", &format!("ssh://127.0.0.1:{closed}"), "ls"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("ssh to ssh://127.0.0.1:"), "{err}");
    assert!(err.contains("exit 255"), "{err}");
    assert!(err.to_lowercase().contains("refused"), "{err}");
    world.assert_no_ssh_left();
}

#[test]
fn a_remote_of_another_protocol_version_is_named() {
    let Some(world) = World::new(1) else { return };
    // A far side that answers the hello as a pmtui of protocol 99 would.
    let fake = world.local.script(
        "old-pmtui",
        "#!/usr/bin/env python3\n\
         import sys, json, struct\n\
         n = struct.unpack('>I', sys.stdin.buffer.read(4))[0]\n\
         hello = json.loads(sys.stdin.buffer.read(n))\n\
         assert hello['hello']['protocol'] >= 1\n\
         body = json.dumps({'hello': {'protocol': 99, 'version': '9.9.9', 'pid': 1}}).encode()\n\
         sys.stdout.buffer.write(struct.pack('>I', len(body)) + body)\n\
         sys.stdout.flush()\n\
         sys.stdin.buffer.read()\n",
    );
    let out = world
        .cmd()
        .env("PMTUI_REMOTE_BIN", &fake)
        .args(["--host", &url(0), "ls"])
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("protocol version mismatch"), "{err}");
    assert!(err.contains("protocol 99 (pmtui 9.9.9)"), "{err}");
    assert!(
        err.contains(&format!(
            "protocol {} (pmtui {})",
            2,
            env!("CARGO_PKG_VERSION")
        )),
        "{err}"
    );
    world.assert_no_ssh_left();
}

#[test]
fn contexts_name_hosts_and_show_in_ls() {
    let Some(world) = World::new(1) else { return };
    let far = &world.remotes[0];
    let sleep = far.tagged_sleep(&common::unique("ctx"));
    far.ok(&["start", &sleep, "--name", "far-app", "--", "300"]);
    world.ok(&["context", "add", "prod", &url(0)]);
    let out = world.run(&["context", "add", "prod", &url(0)]);
    assert!(!out.status.success(), "a second add without --force");
    let out = world.run(&["context", "add", "bad name", &url(0)]);
    assert!(!out.status.success());
    let listed = world.ok(&["context", "ls"]);
    assert!(listed.contains("* local"), "{listed}");
    assert!(
        listed.contains("prod") && listed.contains(&url(0)),
        "{listed}"
    );
    // Kept in a file of the state dir.
    let stored = std::fs::read_to_string(world.local.path("contexts.toml")).expect("file");
    assert!(stored.contains("[contexts.prod]"), "{stored}");

    // --context for one command.
    let table = world.ok(&["--context", "prod", "ls"]);
    assert!(table.contains("context: prod"), "{table}");
    assert!(table.contains("far-app"), "{table}");
    // `use` makes it the default.
    world.ok(&["context", "use", "prod"]);
    assert_eq!(world.ok(&["context", "show"]).trim(), "prod");
    let table = world.ok(&["ls"]);
    assert!(
        table.contains("context: prod") && table.contains("far-app"),
        "{table}"
    );
    let json: Vec<Value> = serde_json::from_str(&world.ok(&["ls", "--json"])).expect("json");
    assert_eq!(json[0]["name"], "far-app");
    // An unknown context is an error naming the known ones.
    let out = world.run(&["--context", "nope", "ls"]);
    assert!(
        stderr(&out).contains("no context named \"nope\""),
        "{}",
        stderr(&out)
    );
    // Removing the one in use goes back to this host.
    world.ok(&["context", "rm", "prod"]);
    assert_eq!(world.ok(&["context", "show"]).trim(), "local");
    let table = world.ok(&["ls"]);
    assert!(!table.contains("far-app"), "{table}");
}

#[test]
fn dial_stdio_carries_the_protocol_byte_for_byte() {
    let home = TestHome::new();
    // A hello, then a ping, as a client sends them; the replies come back whole.
    let script = r#"
import subprocess, struct, json, sys
p = subprocess.Popen([sys.argv[1], 'dial-stdio'], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
def send(v):
    b = json.dumps(v).encode(); p.stdin.write(struct.pack('>I', len(b)) + b); p.stdin.flush()
def recv():
    n = struct.unpack('>I', p.stdout.read(4))[0]; return json.loads(p.stdout.read(n))
send({'hello': {'protocol': 2, 'client': 'test'}})
print(json.dumps(recv()))
send({'request': {'id': 1, 'request': {'cmd': 'ping'}}})
print(json.dumps(recv()))
p.stdin.close()
print('exit', p.wait(timeout=30))
"#;
    let out = Command::new("python3")
        .args(["-c", script, env!("CARGO_BIN_EXE_pmtui")])
        .env("PMTUI_HOME", home.home())
        .output()
        .expect("python3");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}\n{}", stderr(&out));
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].contains("\"hello\""), "{text}");
    assert!(lines[1].contains("\"id\": 1"), "{text}");
    assert_eq!(lines[2], "exit 0", "{text}");
    assert!(home.daemon_pid().is_some(), "dial-stdio started the daemon");
}

#[test]
fn the_ui_runs_over_ssh_and_shows_its_host_and_a_lost_host() {
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("SKIPPED: tmux is not installed");
        return;
    }
    let Some(mut world) = World::new(1) else {
        return;
    };
    let far = &world.remotes[0];
    let sleep = far.tagged_sleep(&common::unique("ui"));
    far.ok(&["start", &sleep, "--name", "far-ui-app", "--", "300"]);
    far.wait_status("far-ui-app", "online");
    let socket = common::unique("pmtui-remote-ui");
    let command = format!(
        "env PMTUI_HOME={home} TERM=xterm-256color PMTUI_SSH_COMMAND='ssh -F {config}' \
         PMTUI_REMOTE_BIN={bin} {bin} --host {host}",
        home = world.local.home().display(),
        config = world.config.display(),
        bin = env!("CARGO_BIN_EXE_pmtui"),
        host = url(0),
    );
    let tmux = |args: &[&str]| {
        Command::new("tmux")
            .args(["-L", &socket, "-f", "/dev/null"])
            .args(args)
            .output()
            .expect("tmux")
    };
    let started = tmux(&["new-session", "-d", "-x", "120", "-y", "40", &command]);
    assert!(started.status.success(), "tmux: {}", stderr(&started));
    let screen = || String::from_utf8_lossy(&tmux(&["capture-pane", "-p"]).stdout).into_owned();
    let shown = wait_until("the remote dashboard", || {
        let s = screen();
        (s.contains(&format!("@ {}", url(0))) && s.contains("far-ui-app")).then_some(s)
    });
    let shown_ok = shown.is_some();
    // The host goes away: the UI says so and still answers keys.
    world.servers[0].kill_host();
    let lost = wait_until("disconnected", || {
        screen().contains("disconnected").then_some(())
    });
    let last = screen();
    tmux(&["send-keys", "q"]);
    let quit = wait_until("the UI to quit", || {
        (!tmux(&["has-session"]).status.success()).then_some(())
    });
    tmux(&["kill-server"]);
    assert!(shown_ok, "the remote dashboard never showed:\n{last}");
    assert!(lost.is_some(), "no disconnection shown:\n{last}");
    assert!(quit.is_some(), "q did not quit:\n{last}");
    world.assert_no_ssh_left();
}

#[test]
fn one_ui_shows_two_hosts_routes_actions_and_survives_lost_and_hung_hosts() {
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("SKIPPED: tmux is not installed");
        return;
    }
    let Some(mut world) = World::new(1) else {
        return;
    };
    // The same name (and id 0) on both hosts: only the host tells them apart.
    let here_sleep = world.local.tagged_sleep(&common::unique("here"));
    let far_sleep = world.remotes[0].tagged_sleep(&common::unique("far"));
    world
        .local
        .ok(&["start", &here_sleep, "--name", "app", "--", "300"]);
    world.local.wait_status("app", "online");
    let far = &world.remotes[0];
    far.ok(&[
        "start",
        &far_sleep,
        "--name",
        "app",
        "--namespace",
        "farside",
        "--",
        "300",
    ]);
    far.wait_status("app", "online");
    // A third host that never answers (its ProxyCommand hangs): it must hold up nothing,
    // and its ProxyCommand, in ssh's process group, must end with the UI.
    let proxy_tag = common::unique("hung-proxy");
    let proxy = world.local.tagged_sleep(&proxy_tag);
    let mut config = std::fs::read_to_string(&world.config).expect("ssh config");
    config.insert_str(0, &format!("Host hung\n  ProxyCommand {proxy} 300\n\n"));
    std::fs::write(&world.config, config).expect("ssh config");
    let command = format!(
        "env PMTUI_HOME={home} TERM=xterm-256color PMTUI_SSH_COMMAND='ssh -F {config}' \
         PMTUI_REMOTE_BIN={bin} {bin} --host local --host {host} --host ssh://hung",
        home = world.local.home().display(),
        config = world.config.display(),
        bin = env!("CARGO_BIN_EXE_pmtui"),
        host = url(0),
    );
    let tmux = Tmux::run_command(&command);
    let host = url(0);
    tmux.wait("both hosts' processes with a HOST column", |s| {
        s.contains("HOST")
            && s.contains(&format!("@ local, {host}, … ssh://hung"))
            && s.contains("2 of 3 hosts connected")
            && s.lines().filter(|l| l.contains(" app ")).count() == 2
    });

    // The far one alone (by its namespace), restarted: only its count moves.
    tmux.keys(&["/"]);
    tmux.keys(&["farside", "Enter"]);
    tmux.wait("the far row alone", |s| {
        s.lines().filter(|l| l.contains(" app ")).count() == 1 && s.contains(&host)
    });
    tmux.keys(&["r"]);
    tmux.wait("the restart said for the far host", |s| {
        s.contains(&format!("restarted app (id 0 on {host})"))
    });
    world.remotes[0].wait_for("app", "one restart on the far host", |p| p["restarts"] == 1);
    let here = world.local.process("app").expect("local app");
    assert_eq!(here["restarts"], 0, "the local app was restarted: {here}");
    tmux.keys(&["Escape"]);
    tmux.wait("both rows again", |s| {
        s.lines().filter(|l| l.contains(" app ")).count() == 2
    });

    // The far host dies: it shows as disconnected, and this host keeps updating.
    world.servers[0].kill_host();
    tmux.wait("the far host disconnected", |s| {
        s.contains(&format!("✖ {host}")) && s.contains("1 of 3 hosts connected")
    });
    let late = world.local.tagged_sleep(&common::unique("late"));
    world
        .local
        .ok(&["start", &late, "--name", "late-here", "--", "300"]);
    tmux.wait("a new local process while the far host is away", |s| {
        s.contains("late-here")
    });

    // The host is back: it is reconnected on its own.
    world.servers[0].restart();
    tmux.wait("the far host back", |s| {
        s.contains("2 of 3 hosts connected") && !s.contains(&format!("✖ {host}"))
    });

    // This host's daemon goes: it is marked while the far host keeps updating, and comes
    // back once a daemon runs here again (the UI does not start one itself).
    world.local.ok(&["kill"]);
    tmux.wait("this host disconnected", |s| {
        s.contains("✖ local") && s.contains("1 of 3 hosts connected")
    });
    let far_late = world.remotes[0].tagged_sleep(&common::unique("farlate"));
    world.remotes[0].ok(&["start", &far_late, "--name", "late-far", "--", "300"]);
    tmux.wait("a new far process while this host is away", |s| {
        s.contains("late-far")
    });
    world.local.ok(&["ping"]);
    tmux.wait("this host back", |s| {
        s.contains("2 of 3 hosts connected") && !s.contains("late-here")
    });
    tmux.keys(&["q"]);
    wait_until("the UI to quit", || (!tmux.running()).then_some(())).expect("q quits");
    world.assert_no_ssh_left();
    let proxies = wait_until("the hung ProxyCommand to end", || {
        pids_with(&proxy_tag).is_empty().then_some(())
    });
    assert!(
        proxies.is_some(),
        "left running: {:?}",
        pids_with(&proxy_tag)
    );
}

#[test]
fn what_ssh_started_ends_with_the_connection() {
    // A stand-in for ssh that, as a ProxyCommand beside ssh would, leaves a child running,
    // then runs the remote command here against another home.
    let local = TestHome::new();
    let far = TestHome::new();
    let tag = common::unique("ssh-child");
    let sleep = local.tagged_sleep(&tag);
    let standin = local.script(
        "standin-ssh",
        &format!(
            "#!/bin/sh\n{sleep} 300 </dev/null >/dev/null 2>&1 &\n\
             for last; do :; done\n\
             PMTUI_HOME={home} exec sh -c \"$last\"\n",
            home = far.home().display()
        ),
    );
    for args in [
        &["--host", "ssh://standin", "ls"][..],
        &["--host", "local", "--host", "ssh://standin", "ls"][..],
    ] {
        let out = local
            .cmd()
            .env("PMTUI_SSH_COMMAND", &standin)
            .env("PMTUI_REMOTE_BIN", env!("CARGO_BIN_EXE_pmtui"))
            .env_remove("PMTUI_HOST")
            .env_remove("PMTUI_CONTEXT")
            .stdin(Stdio::null())
            .args(args)
            .output()
            .expect("run");
        succeeded(args, &out);
        let gone = wait_until("the stand-in's child to end", || {
            pids_with(&tag).is_empty().then_some(())
        });
        assert!(gone.is_some(), "left running: {:?}", pids_with(&tag));
    }
}

#[test]
fn a_sigkilled_client_leaves_no_session_behind() {
    let local = TestHome::new();
    let far = TestHome::new();
    let child_tag = common::unique("kept-child");
    let sleep = local.tagged_sleep(&child_tag);
    // pmtui on the "far side" under a name of this test's own, to find its dial-stdio.
    let far_tag = common::unique("far-pmtui");
    let far_bin = local.path(&far_tag);
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_pmtui"), &far_bin).expect("symlink");
    let standin = local.script(
        "standin-ssh",
        &format!(
            "#!/bin/sh\n{sleep} 300 </dev/null >/dev/null 2>&1 &\n\
             for last; do :; done\n\
             PMTUI_HOME={home} exec sh -c \"$last\"\n",
            home = far.home().display()
        ),
    );
    let mut client = local
        .cmd()
        .env("PMTUI_SSH_COMMAND", &standin)
        .env("PMTUI_REMOTE_BIN", &far_bin)
        .env_remove("PMTUI_HOST")
        .env_remove("PMTUI_CONTEXT")
        .args(["--host", "ssh://standin", "logs", "-f"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("run");
    let session = wait_until("the far dial-stdio", || {
        (!pids_with(&far_tag).is_empty()).then_some(())
    });
    let _ = client.kill();
    let _ = client.wait();
    // The session ends: its input closed with the client.
    let ended = wait_until("the far dial-stdio to end", || {
        pids_with(&far_tag).is_empty().then_some(())
    });
    // What the stand-in started beside it is not the client's to end any more (the
    // README says so); the test ends it.
    let kept = pids_with(&child_tag);
    for pid in &kept {
        let _ = Command::new("kill").args(["-9", &pid.to_string()]).output();
    }
    assert!(session.is_some(), "dial-stdio never ran");
    assert!(ended.is_some(), "left running: {:?}", pids_with(&far_tag));
}
