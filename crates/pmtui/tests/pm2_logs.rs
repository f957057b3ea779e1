//! `pmtui logs` as pm2 users know it: on a terminal it follows by default (`--nostream`
//! prints and exits; a pipe or a script gets the lines and an end unless `-f`); stderr lines
//! are marked `err|`; a follower sees a line when a process exits, restarts or is deleted;
//! `--json` prints pm2's fields; a namespace reaches its processes' logs, also with
//! `--lines 0` (pm2's `log-namespace.sh`).

mod common;
use common::{TestHome, unique, wait_until};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// `pmtui logs …` with its standard output read line by line.
struct Follower {
    child: Child,
    rx: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Follower {
    fn start(t: &TestHome, args: &[&str]) -> Self {
        let mut child = t
            .cmd()
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn pmtui logs");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            child,
            rx,
            seen: Vec::new(),
        }
    }

    /// Reads until a line satisfies `check`; returns it.
    fn expect(&mut self, what: &str, check: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + common::DEADLINE;
        while Instant::now() < deadline {
            if let Ok(line) = self.rx.recv_timeout(Duration::from_millis(50)) {
                self.seen.push(line.clone());
                if check(&line) {
                    return line;
                }
            }
        }
        panic!("no line {what}; saw {:?}", self.seen);
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `pmtui <args>` on a pseudo-terminal: a tmux server of its own.
struct Terminal {
    socket: String,
}

impl Terminal {
    fn start(t: &TestHome, args: &str) -> Self {
        let socket = unique("pmtui-logs-tty");
        let command = format!(
            "cd {home} && env PMTUI_HOME={home} NO_COLOR=1 {bin} {args}; sleep 600",
            home = t.home().display(),
            bin = env!("CARGO_BIN_EXE_pmtui"),
        );
        let status = Command::new("tmux")
            .args(["-L", &socket, "-f", "/dev/null", "new-session", "-d"])
            .args(["-x", "150", "-y", "40", &command])
            .status()
            .expect("run tmux");
        assert!(status.success(), "tmux new-session failed");
        Self { socket }
    }

    fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket, "capture-pane", "-p"])
            .output()
            .expect("tmux capture-pane");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Whether a `pmtui` whose command line carries `marker` still runs (not the shell
    /// around it, whose command line carries it too).
    fn pmtui_running(marker: &str) -> bool {
        common::pids_with(marker).into_iter().any(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == "pmtui")
        })
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        let path = Command::new("tmux")
            .args([
                "-L",
                &self.socket,
                "display-message",
                "-p",
                "#{socket_path}",
            ])
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .output();
        if let Some(path) = path.filter(|p| !p.is_empty()) {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// A process that counts on stdout every 50 ms and says `trouble` on stderr once.
fn counter(t: &TestHome, name: &str) {
    t.script(
        &format!("{name}.sh"),
        "#!/bin/sh\necho trouble >&2\ni=0\nwhile :; do i=$((i+1)); echo tick $i; sleep 0.05; done\n",
    );
    t.ok(&["start", &format!("{name}.sh")]);
    t.wait_status(name, "online");
}

#[test]
fn on_a_terminal_logs_follows_and_nostream_ends() {
    let t = TestHome::new();
    counter(&t, "c");
    // The marker in `--grep` finds this very pmtui among the machine's processes.
    let marker = unique("tty-follow");
    let term = Terminal::start(&t, &format!("logs c --lines 1 --grep 'tick|{marker}'"));
    // New lines keep arriving on the screen, and pmtui is still there.
    let first = wait_until("a tick on the screen", || t_last_tick(&term.screen())).expect("a tick");
    wait_until("a later tick", || {
        t_last_tick(&term.screen()).filter(|n| *n > first + 3)
    })
    .expect("logs kept following");
    assert!(Terminal::pmtui_running(&marker), "still following");
    drop(term);

    let marker = unique("tty-nostream");
    let term = Terminal::start(
        &t,
        &format!("logs c --lines 1 --nostream --grep 'tick|{marker}'"),
    );
    wait_until("a tick on the screen", || t_last_tick(&term.screen())).expect("a tick");
    wait_until("pmtui ended", || {
        (!Terminal::pmtui_running(&marker)).then_some(())
    })
    .expect("--nostream prints and exits");
}

fn t_last_tick(screen: &str) -> Option<u64> {
    screen
        .lines()
        .filter_map(|l| l.rsplit("tick ").next()?.trim().parse().ok())
        .max()
}

#[test]
fn a_pipe_gets_the_lines_and_an_end_unless_follow() {
    let t = TestHome::new();
    counter(&t, "p");
    wait_until("ticks", || {
        Some(t.ok(&["logs", "p", "--nostream"])).filter(|o| o.contains("tick 6"))
    })
    .expect("ticks logged");
    // Not a terminal: `logs` returns (t.ok would hang otherwise).
    let out = t.ok(&["logs", "p", "--lines", "5"]);
    assert_eq!(out.lines().count(), 5, "{out}");
    // -f follows anyway.
    let mut f = Follower::start(&t, &["logs", "p", "-f", "--lines", "1", "--out"]);
    let first: u64 = f
        .expect("a tick", |l| l.contains("tick "))
        .rsplit("tick ")
        .next()
        .and_then(|n| n.parse().ok())
        .expect("a number");
    f.expect("a later tick", |l| {
        l.rsplit("tick ")
            .next()
            .and_then(|n| n.parse::<u64>().ok())
            .is_some_and(|n| n > first + 2)
    });
}

#[test]
fn stderr_lines_are_marked() {
    let t = TestHome::new();
    counter(&t, "m");
    let out = wait_until("both streams", || {
        Some(t.ok(&["logs", "m", "--lines", "50"]))
            .filter(|o| o.contains("trouble") && o.contains("tick 2"))
    })
    .expect("both streams logged");
    let err = out
        .lines()
        .find(|l| l.contains("trouble"))
        .expect("stderr line");
    assert_eq!(err, "0|m err| trouble", "{out}");
    let tick = out
        .lines()
        .find(|l| l.contains("tick 2"))
        .expect("stdout line");
    assert_eq!(tick, "0|m    | tick 2", "{out}");
    assert!(
        out.lines().filter(|l| l.contains("err|")).count() == 1,
        "only stderr lines: {out}"
    );
    // --raw is only the output.
    let raw = t.ok(&["logs", "m", "--lines", "50", "--raw", "--err"]);
    assert_eq!(raw.trim(), "trouble");
}

#[test]
fn a_follower_sees_exits_restarts_and_deletes() {
    let t = TestHome::new();
    t.ok(&["start", "sleep 300", "--name", "s"]);
    t.ok(&["start", "sleep 300", "--name", "other"]);
    t.wait_status("s", "online");
    let mut f = Follower::start(&t, &["logs", "s", "-f", "--lines", "0"]);
    // The follower is subscribed once `logs` printed its (empty) history; a restart then
    // must show up. Retry the restart until the follower reports one, so a restart that
    // lands before the subscription cannot make the test flaky.
    let deadline = Instant::now() + common::DEADLINE;
    let line = loop {
        t.ok(&["restart", "s"]);
        if let Ok(line) = f.rx.recv_timeout(Duration::from_millis(500)) {
            break line;
        }
        assert!(Instant::now() < deadline, "no restart line");
    };
    assert!(
        line.starts_with("0|s ---| pid ")
            && line.contains("pmtui restart")
            && line.ends_with("restarting"),
        "{line}"
    );
    t.ok(&["stop", "s"]);
    f.expect("a stop", |l| l.contains("---|") && l.ends_with("; stopped"));
    t.ok(&["restart", "other"]);
    t.ok(&["restart", "s"]);
    f.expect("a start", |l| {
        l.contains("---| starting (pmtui restart (was stopped))")
    });
    t.ok(&["delete", "s"]);
    f.expect("a delete", |l| l == "0|s ---| deleted");
    assert!(
        !f.seen.iter().any(|l| l.contains("other")),
        "only the followed process: {:?}",
        f.seen
    );
    // A crash says how it ended and when it comes back.
    t.script("crash.sh", "#!/bin/sh\nsleep 0.3\nexit 3\n");
    t.ok(&["start", "crash.sh", "--restart-delay", "2s"]);
    let mut f = Follower::start(&t, &["logs", "crash", "-f", "--lines", "0"]);
    f.expect("a crash", |l| {
        l.contains("---| pid ") && l.contains("exited with code 3") && l.contains("restarting in 2")
    });
}

#[test]
fn json_lines_have_pm2s_fields() {
    let t = TestHome::new();
    counter(&t, "j");
    let out = wait_until("lines", || {
        Some(t.ok(&["logs", "j", "--json", "--lines", "20"])).filter(|o| o.contains("tick 2"))
    })
    .expect("lines");
    for line in out.lines() {
        let value: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        for key in ["message", "timestamp", "type", "process_id", "app_name"] {
            assert!(value.get(key).is_some(), "{key} missing: {line}");
        }
        assert_eq!(value["app_name"], "j");
        let kind = value["type"].as_str().unwrap_or_default();
        assert!(kind == "out" || kind == "err", "{line}");
    }
}

#[test]
fn a_namespace_reaches_its_processes_logs() {
    let t = TestHome::new();
    for (name, ns) in [("n1", "grp"), ("n2", "grp"), ("n3", "else")] {
        t.script(
            &format!("{name}.sh"),
            &format!("#!/bin/sh\nwhile :; do echo from-{name}; sleep 0.1; done\n"),
        );
        t.ok(&["start", &format!("{name}.sh"), "--namespace", ns]);
    }
    let out = wait_until("both of grp", || {
        Some(t.ok(&["logs", "grp", "--lines", "20"]))
            .filter(|o| o.contains("from-n1") && o.contains("from-n2"))
    })
    .expect("grp's lines");
    assert!(!out.contains("from-n3"), "{out}");
    // Streaming only, as pm2's log-namespace.sh checks.
    let mut f = Follower::start(&t, &["logs", "grp", "--lines", "0", "-f"]);
    f.expect("n1 live", |l| l.ends_with("from-n1"));
    f.expect("n2 live", |l| l.ends_with("from-n2"));
    assert!(!f.seen.iter().any(|l| l.contains("from-n3")));
}
