//! Containment: which processes belong to a run, and how a run's whole tree is ended.
//!
//! Two modes, chosen once when the daemon starts (`containment` in the daemon's settings):
//! - **cgroup**: where cgroup v2 is writable (root, or a delegated subtree), each process has
//!   a cgroup of its own and the child enters it before exec, so everything it ever forks is
//!   inside, however it detaches (`setsid`, double fork, `env -i`). Members are read from
//!   `cgroup.procs`; the end is `cgroup.kill`, and "populated 0" says nothing is left.
//! - **group**: the fallback. Each child leads its own process group and carries the
//!   `PMTUI_JOB` marker that its descendants inherit; the daemon is a child subreaper. A
//!   descendant that leaves the group *and* clears its environment, once its parent has
//!   died, is not found.
//!
//! Ending a tree is one routine for every case (`stop`, the leftovers of a run that exited,
//! recovery after a daemon crash): the stop signal (and SIGCONT, so a suspended process acts
//! on it) to every member, a wait until the tree is empty or `kill_timeout` passes, then
//! SIGKILL (`cgroup.kill`) again and again until nothing is left.

pub mod cgroup;
mod group;

pub use cgroup::Cgroups;
pub(crate) use group::{GroupTree, ScanShare, ScanTree};

use crate::spawn::Child;
use nix::sys::signal::Signal;
use std::path::PathBuf;
use std::process::ExitStatus;
use std::time::Duration;
use tokio::time::Instant;

/// How long ending a tree keeps killing after `kill_timeout` before it gives up with a
/// warning (a process in uninterruptible sleep cannot die until its I/O returns).
const KILL_PATIENCE: Duration = Duration::from_secs(10);
/// How often an ending tree is looked at again.
const POLL: Duration = Duration::from_millis(10);

/// The `containment` setting of the daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Setting {
    /// cgroups where they are writable, else process groups.
    #[default]
    Auto,
    /// cgroups; where they are not writable the daemon says so (`ping`) and uses groups.
    Cgroup,
    /// Process groups and markers, even where cgroups would work.
    Group,
}

impl std::str::FromStr for Setting {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "auto" => Ok(Self::Auto),
            "cgroup" | "cgroups" => Ok(Self::Cgroup),
            "group" | "process-group" => Ok(Self::Group),
            other => Err(format!(
                "containment {other:?}: expected \"auto\", \"cgroup\" or \"group\""
            )),
        }
    }
}

/// What the daemon uses, decided when it starts.
#[derive(Debug, Clone)]
pub struct Containment {
    pub cgroups: Option<Cgroups>,
    /// Why cgroups are not used although they were asked for (`containment = "cgroup"`).
    pub problem: Option<String>,
}

impl Containment {
    pub fn detect(setting: Setting, home_key: &str) -> Self {
        if setting == Setting::Group {
            return Self {
                cgroups: None,
                problem: None,
            };
        }
        match cgroup::detect(home_key) {
            Ok(cgroups) => {
                tracing::info!(
                    base = %cgroups.base.display(),
                    memory = cgroups.memory,
                    "containment: a cgroup per process"
                );
                Self {
                    cgroups: Some(cgroups),
                    problem: None,
                }
            }
            Err(why) => {
                tracing::info!(%why, "containment: process groups and markers");
                Self {
                    cgroups: None,
                    problem: (setting == Setting::Cgroup).then(|| {
                        format!("containment = \"cgroup\" cannot be honoured: {why}; using process groups")
                    }),
                }
            }
        }
    }

    /// `cgroup` or `group`, as `ping` and `describe` say it.
    pub fn mode(&self) -> &'static str {
        if self.cgroups.is_some() {
            "cgroup"
        } else {
            "group"
        }
    }

    /// The cgroup of process `id`, in cgroup mode.
    pub fn cgroup_of(&self, id: u32) -> Option<PathBuf> {
        self.cgroups.as_ref().map(|c| c.dir_of(id))
    }
}

/// The processes of one run (or of what an earlier daemon left), however they are found.
pub(crate) enum Tree {
    Cgroup {
        dir: PathBuf,
        kill_file: bool,
    },
    /// The main process alone (`treekill: false`).
    Main {
        pid: u32,
    },
    Group(GroupTree),
    Scan(ScanTree),
}

impl Tree {
    fn signal(&mut self, signal: Signal) {
        match self {
            Self::Cgroup { dir, .. } => cgroup::signal_all(dir, signal),
            Self::Main { pid } => crate::tree::signal_pid(*pid, signal),
            Self::Group(g) => g.signal(signal),
            Self::Scan(s) => s.signal(signal),
        }
    }

    /// True when nothing of the tree is alive (zombies do not count).
    pub fn is_empty(&mut self) -> bool {
        match self {
            Self::Cgroup { dir, .. } => !cgroup::populated(dir),
            Self::Main { pid } => crate::tree::is_dead(*pid),
            Self::Group(g) => g.is_empty(),
            Self::Scan(s) => s.is_empty(),
        }
    }

    fn kill(&mut self) {
        match self {
            Self::Cgroup { dir, kill_file } => cgroup::kill(dir, *kill_file),
            Self::Main { pid } => crate::tree::signal_pid(*pid, Signal::SIGKILL),
            Self::Group(g) => g.signal(Signal::SIGKILL),
            Self::Scan(s) => s.signal(Signal::SIGKILL),
        }
    }

    /// What `describe` and the logs call it.
    pub fn describe(&self) -> String {
        match self {
            Self::Cgroup { dir, .. } => format!("cgroup {}", dir.display()),
            Self::Main { pid } => format!("process {pid}"),
            Self::Group(g) => format!("process group {}", g.main),
            Self::Scan(s) => s.describe(),
        }
    }
}

/// Ends `tree`: `signal` (and SIGCONT) to every member; `main`, the run's own child if it
/// still runs, is awaited until `timeout` (then everything is killed, and its exit status
/// is returned); the rest get what is left of `timeout`; then SIGKILL until nothing is left.
pub(crate) async fn end(
    tree: &mut Tree,
    signal: Signal,
    timeout: Duration,
    main: Option<&mut Child>,
) -> Option<std::io::Result<ExitStatus>> {
    let deadline = Instant::now() + timeout;
    if main.is_none() && tree.is_empty() {
        return None;
    }
    tree.signal(signal);
    if !matches!(signal, Signal::SIGKILL | Signal::SIGCONT) {
        // As systemd does: a stopped (SIGSTOP) process acts on the signal now instead of
        // waiting for SIGKILL.
        tree.signal(Signal::SIGCONT);
    }
    let status = match main {
        Some(child) => Some(
            match tokio::time::timeout_at(deadline, child.wait()).await {
                Ok(status) => status,
                Err(_) => {
                    tree.kill();
                    child.wait().await
                }
            },
        ),
        None => None,
    };
    while Instant::now() < deadline && !tree.is_empty() {
        tokio::time::sleep(POLL).await;
    }
    kill_until_empty(tree).await;
    status
}

/// SIGKILL (`cgroup.kill`) again and again until the tree is empty: what forked between a
/// look and the kill is caught by the next round.
async fn kill_until_empty(tree: &mut Tree) {
    let give_up = Instant::now() + KILL_PATIENCE;
    let mut round = 0u32;
    while !tree.is_empty() {
        if Instant::now() > give_up {
            tracing::warn!(tree = %tree.describe(), "processes survive SIGKILL (uninterruptible sleep?)");
            return;
        }
        // Each round kills; a cgroup is asked once per 100 ms (it kills everything at once,
        // forks included, and then only needs time).
        if !matches!(tree, Tree::Cgroup { .. }) || round.is_multiple_of(10) {
            tree.kill();
        }
        round += 1;
        tokio::time::sleep(POLL).await;
    }
}
