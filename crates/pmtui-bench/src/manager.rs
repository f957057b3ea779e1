//! The two process managers under test, driven through their own command lines exactly as
//! a user would: pmtui with `PMTUI_HOME`, pm2 with `PM2_HOME`, each in a fresh temporary
//! directory. Dropping a [`Home`] ends its daemon and every process it started, whatever
//! happened before; the directory itself is removed when the run ends ([`EndedHomes`]).

use anyhow::{Context, Result, bail};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Pmtui,
    Pm2,
}

#[derive(Debug, Clone)]
pub struct Manager {
    pub kind: Kind,
    pub bin: PathBuf,
}

impl Manager {
    pub fn name(&self) -> &'static str {
        match self.kind {
            Kind::Pmtui => "pmtui",
            Kind::Pm2 => "pm2",
        }
    }

    pub fn version(&self) -> String {
        match self.kind {
            Kind::Pmtui => {
                let out = Command::new(&self.bin)
                    .arg("--version")
                    .stdin(Stdio::null())
                    .stderr(Stdio::null())
                    .output();
                out.ok()
                    .and_then(|o| String::from_utf8(o.stdout).ok())
                    .map(|s| s.trim().to_string())
                    .unwrap_or_else(|| "unknown".into())
            }
            // `pm2 --version` starts a daemon; its package.json says the same.
            Kind::Pm2 => std::fs::canonicalize(&self.bin)
                .ok()
                .and_then(|bin| {
                    let package = bin.parent()?.parent()?.join("package.json");
                    let text = std::fs::read_to_string(package).ok()?;
                    let v: Value = serde_json::from_str(&text).ok()?;
                    Some(format!("pm2 {}", v["version"].as_str()?))
                })
                .unwrap_or_else(|| "pm2 (unknown version)".into()),
        }
    }
}

/// One row of the process list, whichever manager printed it.
#[derive(Debug, Clone)]
pub struct Row {
    pub status: String,
    pub pid: Option<u32>,
}

/// A manager with its own state directory and daemon.
pub struct Home {
    pub mgr: Manager,
    dir: PathBuf,
}

/// Homes whose daemons have ended, removed together by [`EndedHomes`].
static ENDED: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());

/// Files at least this large are removed as soon as their home is done with (log bursts
/// leave hundreds of MiB); they are few, so their deletion costs later scenarios nothing.
const REMOVE_AT_ONCE: u64 = 1 << 20;

/// Removes every ended home when dropped (at the end of the run, however it ends).
///
/// Why not each home as soon as it is done with: on ext4 without a journal (this machine's
/// `/tmp`), creating a file scans past every inode deleted in the last minute, or five
/// while the inode table's block is not written back (`recently_deleted`, 60 and 300 s),
/// so a scenario right after one that deleted a 1,000-app home paid
/// for those deletions in each file it created: 1,000 apps from one file took 1.3–1.7 s
/// there against 1.0 s in a fresh folder. A user's state directory does not see thousands
/// of deletions a minute, and other filesystems do not scan.
pub struct EndedHomes;

impl Drop for EndedHomes {
    fn drop(&mut self) {
        let homes = std::mem::take(&mut *ENDED.lock().unwrap_or_else(|e| e.into_inner()));
        for dir in homes {
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
}

/// Removes the large files under `dir` (see [`REMOVE_AT_ONCE`]).
fn remove_large_files(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            remove_large_files(&entry.path());
        } else if kind.is_file() && entry.metadata().is_ok_and(|m| m.len() >= REMOVE_AT_ONCE) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

impl Home {
    pub fn new(mgr: &Manager) -> Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix(&format!("pmtui-bench-{}-", mgr.name()))
            .tempdir()
            .context("cannot create a temporary directory")?
            .keep();
        Ok(Self {
            mgr: mgr.clone(),
            dir,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.mgr.bin);
        cmd.args(args)
            .current_dir(self.dir())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        match self.mgr.kind {
            Kind::Pmtui => cmd.env("PMTUI_HOME", self.dir()),
            Kind::Pm2 => cmd.env("PM2_HOME", self.dir()),
        };
        cmd
    }

    /// Runs one CLI call to completion (at most `timeout`); its stdout, or an error with
    /// its stderr.
    pub fn run(&self, args: &[&str], timeout: Duration) -> Result<String> {
        self.run_env(args, &[], timeout)
    }

    /// [`Home::run`] with variables added to the call's environment (pm2 gives an app the
    /// environment of the `start` call).
    pub fn run_env(
        &self,
        args: &[&str],
        env: &[(&str, &str)],
        timeout: Duration,
    ) -> Result<String> {
        let mut command = self.command(args);
        command.envs(env.iter().copied());
        let child = command
            .spawn()
            .with_context(|| format!("cannot run {}", self.mgr.bin.display()))?;
        let pid = child.id();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(child.wait_with_output());
        });
        let output = match rx.recv_timeout(timeout) {
            Ok(output) => output?,
            Err(_) => {
                kill(pid);
                bail!(
                    "`{} {}` did not finish in {timeout:?}",
                    self.mgr.name(),
                    args.join(" ")
                );
            }
        };
        if !output.status.success() {
            bail!(
                "`{} {}` failed ({}): {}",
                self.mgr.name(),
                args.join(" "),
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// The wall time of one CLI call.
    pub fn timed(&self, args: &[&str], timeout: Duration) -> Result<Duration> {
        let t0 = Instant::now();
        self.run(args, timeout)?;
        Ok(t0.elapsed())
    }

    /// Starts the daemon (`ping` does, for both); the time it took.
    pub fn boot(&self) -> Result<Duration> {
        self.timed(&["ping"], Duration::from_secs(60))
    }

    pub fn daemon_pid(&self) -> Result<u32> {
        let file = match self.mgr.kind {
            Kind::Pmtui => "daemon.pid",
            Kind::Pm2 => "pm2.pid",
        };
        let path = self.dir().join(file);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        text.trim()
            .parse()
            .with_context(|| format!("{} does not hold a pid", path.display()))
    }

    /// `ls --json` (pmtui) or `jlist` (pm2): the argument list of the list call.
    pub fn list_args(&self) -> &'static [&'static str] {
        match self.mgr.kind {
            Kind::Pmtui => &["ls", "--json"],
            Kind::Pm2 => &["jlist"],
        }
    }

    pub fn list(&self) -> Result<Vec<Row>> {
        let out = self.run(self.list_args(), Duration::from_secs(120))?;
        // pm2 may print a warning line before the JSON.
        let json = out.find('[').map_or(out.as_str(), |i| &out[i..]);
        let rows: Vec<Value> = serde_json::from_str(json)
            .with_context(|| format!("{} printed a list that is not JSON", self.mgr.name()))?;
        Ok(rows
            .iter()
            .map(|r| match self.mgr.kind {
                Kind::Pmtui => Row {
                    status: r["status"].as_str().unwrap_or("").to_string(),
                    pid: r["pid"].as_u64().map(|p| p as u32),
                },
                Kind::Pm2 => Row {
                    status: r["pm2_env"]["status"].as_str().unwrap_or("").to_string(),
                    pid: r["pid"].as_u64().filter(|p| *p > 0).map(|p| p as u32),
                },
            })
            .collect())
    }

    /// Polls the list until `done` holds; the rows it held then.
    pub fn wait_list(
        &self,
        what: &str,
        timeout: Duration,
        done: impl Fn(&[Row]) -> bool,
    ) -> Result<Vec<Row>> {
        let deadline = Instant::now() + timeout;
        loop {
            let rows = self.list()?;
            if done(&rows) {
                return Ok(rows);
            }
            if Instant::now() > deadline {
                bail!("{}: {what} not reached in {timeout:?}", self.mgr.name());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Waits until exactly `n` processes are listed, all online with a pid.
    pub fn wait_online(&self, n: usize, timeout: Duration) -> Result<Vec<u32>> {
        let rows = self.wait_list(&format!("{n} processes online"), timeout, |rows| {
            rows.len() == n && rows.iter().all(|r| r.status == "online" && r.pid.is_some())
        })?;
        Ok(rows.iter().filter_map(|r| r.pid).collect())
    }

    /// `start PROGRAM --name NAME [-i N] [extra flags] -- ARGS`, the same for both.
    pub fn start(
        &self,
        program: &Path,
        name: &str,
        instances: usize,
        flags: &[&str],
        args: &[&str],
        timeout: Duration,
    ) -> Result<Duration> {
        let program = program.to_string_lossy();
        let n = instances.to_string();
        let mut argv = vec!["start", &program, "--name", name];
        if instances > 1 {
            argv.extend(["-i", &n]);
        }
        if self.mgr.kind == Kind::Pm2 {
            // pm2 guesses an interpreter from the file name; these are binaries.
            argv.extend(["--interpreter", "none"]);
        }
        argv.extend(flags);
        argv.push("--");
        argv.extend(args);
        self.timed(&argv, timeout)
    }

    /// Where the stdout of process `name` goes when started with [`Home::log_flags`].
    pub fn out_log(&self, name: &str) -> PathBuf {
        self.dir().join(format!("{name}.out"))
    }

    /// `start` flags that send the output of `name` to [`Home::out_log`], the same for
    /// both (`-o`, `-e`); pmtui's size-based rotation (pm2 has none without a module) off.
    pub fn log_flags(&self, name: &str) -> Vec<String> {
        let out = self.out_log(name);
        let err = self.dir().join(format!("{name}.err"));
        let mut flags = vec![
            "-o".into(),
            out.to_string_lossy().into_owned(),
            "-e".into(),
            err.to_string_lossy().into_owned(),
        ];
        if self.mgr.kind == Kind::Pmtui {
            flags.extend(["--log-max-size".into(), "0".into()]);
        }
        flags
    }
}

impl Drop for Home {
    fn drop(&mut self) {
        let daemon = self.daemon_pid().ok();
        if let Err(err) = self.run(&["kill"], Duration::from_secs(60)) {
            eprintln!("  ({} kill: {err:#})", self.mgr.name());
        }
        // Whatever outlived `kill` carries our home in its environment (the daemon and
        // every child inherit it from the CLI call): end it.
        let deadline = Instant::now() + Duration::from_secs(5);
        while daemon.is_some_and(crate::procfs::alive) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let leftovers = carrying(self.dir());
        if !leftovers.is_empty() {
            eprintln!(
                "  ({}: {} processes outlived `kill`; sending SIGKILL)",
                self.mgr.name(),
                leftovers.len()
            );
            for pid in leftovers {
                kill(pid);
            }
        }
        remove_large_files(&self.dir);
        ENDED
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(self.dir.clone());
    }
}

/// Every process whose environment mentions `dir` (ours only: the path is a fresh temp dir).
fn carrying(dir: &Path) -> Vec<u32> {
    let needle = dir.to_string_lossy().into_owned().into_bytes();
    let me = std::process::id();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| *pid != me && crate::procfs::alive(*pid))
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|env| env.windows(needle.len()).any(|w| w == needle.as_slice()))
        })
        .collect()
}

fn kill(pid: u32) {
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGKILL,
    );
}
