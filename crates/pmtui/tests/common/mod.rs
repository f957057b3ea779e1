//! Shared harness for the binary's integration tests: a private `PMTUI_HOME` per test, the
//! real `pmtui` binary, polling with deadlines (never fixed sleeps), and a `Drop` that ends
//! the daemon and every process the test started.
#![allow(dead_code)]

pub mod events;
pub mod http;
pub mod servers;
pub mod sshd;
pub mod tmux;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// Generous: tests must pass on a loaded 2-core machine.
pub const DEADLINE: Duration = Duration::from_secs(30);

pub struct TestHome {
    pub dir: tempfile::TempDir,
}

impl TestHome {
    pub fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("pmt")
            .tempdir_in("/tmp")
            .expect("temp dir");
        Self { dir }
    }

    pub fn home(&self) -> &Path {
        self.dir.path()
    }

    /// A folder for the test's own scripts, inside the temp dir.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes an executable script file.
    pub fn script(&self, name: &str, body: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = self.path(name);
        std::fs::write(&path, body).expect("write script");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        path
    }

    /// A `sleep` whose command line carries `tag` (a symlink named after it), so the test can
    /// find exactly its own processes with `pids_with(tag)`.
    pub fn tagged_sleep(&self, tag: &str) -> String {
        let link = self.path(&format!("sleep-{tag}"));
        if !link.exists() {
            let sleep = ["/bin/sleep", "/usr/bin/sleep"]
                .into_iter()
                .find(|p| Path::new(p).exists())
                .expect("sleep");
            std::os::unix::fs::symlink(sleep, &link).expect("symlink sleep");
        }
        link.display().to_string()
    }

    pub fn cmd(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_pmtui"));
        cmd.env("PMTUI_HOME", self.home())
            .env("NO_COLOR", "1")
            .current_dir(self.home());
        cmd
    }

    /// Runs `pmtui <args>`, returning the output whatever the exit code.
    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().expect("run pmtui")
    }

    /// Runs `pmtui <args>` and panics with its stderr unless it succeeds.
    pub fn ok(&self, args: &[&str]) -> String {
        succeeded(args, &self.run(args))
    }

    /// `pmtui ls --json`.
    pub fn list(&self) -> Vec<Value> {
        let out = self.ok(&["ls", "--json"]);
        serde_json::from_str::<Vec<Value>>(&out)
            .unwrap_or_else(|e| panic!("bad ls --json ({e}): {out}"))
    }

    /// The row of the process `name` (the first, if there are several).
    pub fn process(&self, name: &str) -> Option<Value> {
        self.list().into_iter().find(|p| p["name"] == name)
    }

    /// Polls `ls --json` until `check` holds for the row of `name`; returns that row.
    pub fn wait_for(&self, name: &str, what: &str, check: impl Fn(&Value) -> bool) -> Value {
        let mut last = None;
        let found = wait_until(what, || {
            last = self.process(name);
            last.as_ref().filter(|p| check(p)).cloned()
        });
        found.unwrap_or_else(|| panic!("timed out waiting for {name}: {what}; last seen: {last:?}"))
    }

    /// `pmtui describe <name> --json`: the detail of the first (or only) instance.
    pub fn describe(&self, name: &str) -> Value {
        let out = self.ok(&["describe", name, "--json"]);
        let mut all: Vec<Value> = serde_json::from_str(&out)
            .unwrap_or_else(|e| panic!("bad describe --json ({e}): {out}"));
        all.remove(0)
    }

    /// The restart/run history of `name` in `describe --json` (empty when there is none).
    pub fn history(&self, name: &str) -> Vec<Value> {
        self.describe(name)["history"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Polls the history of `name` until `check` holds for it; returns that history.
    pub fn wait_history(
        &self,
        name: &str,
        what: &str,
        check: impl Fn(&[Value]) -> bool,
    ) -> Vec<Value> {
        let mut last = Vec::new();
        wait_until(what, || {
            last = self.history(name);
            check(&last).then(|| last.clone())
        })
        .unwrap_or_else(|| panic!("timed out waiting for {name}: {what}; history: {last:#?}"))
    }

    pub fn wait_status(&self, name: &str, status: &str) -> Value {
        self.wait_for(name, &format!("status {status}"), |p| p["status"] == status)
    }

    /// What a failing test prints to explain itself (the home is deleted after): `describe`
    /// and the last log lines of `name`, and the daemon's own log.
    pub fn diagnostics(&self, name: &str) -> String {
        let text = |args: &[&str]| {
            let out = self.run(args);
            format!(
                "$ pmtui {}\n{}{}",
                args.join(" "),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        };
        let log = std::fs::read_to_string(self.path("daemon.log")).unwrap_or_default();
        format!(
            "{}\n{}\n--- daemon.log\n{log}",
            text(&["describe", name, "--json"]),
            text(&["logs", name, "--lines", "40", "--nostream"]),
        )
    }

    pub fn daemon_pid(&self) -> Option<i32> {
        std::fs::read_to_string(self.home().join("daemon.pid"))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// Kills the daemon with SIGKILL (no chance to tidy up) and waits until it is gone; its
    /// pid.
    pub fn sigkill_daemon(&self) -> i32 {
        let daemon = self.daemon_pid().expect("a daemon runs");
        std::process::Command::new("kill")
            .args(["-9", &daemon.to_string()])
            .status()
            .expect("kill -9");
        wait_until("the daemon is gone", || {
            (!alive(i64::from(daemon))).then_some(())
        })
        .expect("the daemon died");
        daemon
    }
}

impl Drop for TestHome {
    fn drop(&mut self) {
        let _ = self.cmd().arg("kill").output();
        // Belt and braces: whatever still carries this home's marker is ended.
        if let Some(pid) = self.daemon_pid() {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).output();
        }
    }
}

/// The stdout of `pmtui <args>`, which must have succeeded: panics with both streams if not.
pub fn succeeded(args: &[&str], out: &Output) -> String {
    assert!(
        out.status.success(),
        "pmtui {args:?} failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Polls `probe` every 10 ms until it returns `Some`, or the deadline passes.
pub fn wait_until<T>(what: &str, mut probe: impl FnMut() -> Option<T>) -> Option<T> {
    let start = Instant::now();
    loop {
        if let Some(value) = probe() {
            return Some(value);
        }
        if start.elapsed() > DEADLINE {
            eprintln!("deadline passed waiting for {what}");
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A JSON number the test expects (a pid, a timestamp, a count); panics on anything else.
pub fn num(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a number: {v}"))
}

/// Waits until every pid of `old` is gone (a zombie counts as gone); fails the test if one
/// outlives the wait.
pub fn assert_all_gone(old: &[i64]) {
    for pid in old {
        assert!(
            wait_until("old gone", || (!alive(*pid)).then_some(())).is_some(),
            "old {pid} still alive"
        );
    }
}

/// True while a process with this pid exists and is not a zombie.
pub fn alive(pid: i64) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rfind(')')
            .and_then(|i| stat[i + 1..].split_whitespace().next())
            .is_some_and(|s| s != "Z"),
        Err(_) => false,
    }
}

/// Pids of live processes whose command line contains `needle`.
pub fn pids_with(needle: &str) -> Vec<i64> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i64>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|c| {
                    String::from_utf8_lossy(&c)
                        .replace('\0', " ")
                        .contains(needle)
                })
                .unwrap_or(false)
        })
        .filter(|pid| alive(*pid))
        .collect()
}

/// A string unique to this test run, to find its processes by command line.
pub fn unique(tag: &str) -> String {
    format!(
        "{tag}-{}-{}",
        std::process::id(),
        Instant::now().elapsed().as_nanos() ^ rand_ish()
    )
}

fn rand_ish() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}
