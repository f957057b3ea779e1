//! The group mode's trees, found without cgroups: a live run's (its process group, its
//! descendants, and the daemon's adopted orphans that carry its marker) and, for recovery,
//! what an earlier daemon left (found by a full `/proc` scan: the recorded main process,
//! its group, its marker and their descendants). Every member is remembered with its start
//! time, so a member that died is never confused with a later process that reuses its pid.

use crate::reaper::ManagedPids;
use crate::tree::{self, ProcEntry};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use std::time::{Duration, Instant};

/// How often a recovery tree scans all of `/proc` again while it is being ended.
const RESCAN: Duration = Duration::from_millis(100);

/// One scan of `/proc`, with the marker of every process that has one, shared by every
/// [`ScanTree`] of a recovery. A recovery ends all trees at once, and each tree scanning
/// `/proc` on its own (every process's stat and environment) made it quadratic: after a
/// daemon SIGKILL with 1,000 apps, the next daemon took 75 s to be ready.
struct Snapshot {
    table: Vec<ProcEntry>,
    markers: std::collections::HashMap<u32, String>,
    /// Derived from `table` once, for every tree's lookups.
    children: std::collections::HashMap<u32, Vec<u32>>,
    starts: std::collections::HashMap<u32, u64>,
    at: Instant,
}

/// The last snapshot, while a tree still holds it (so none is kept once recovery is over).
static LAST_SNAPSHOT: std::sync::Mutex<std::sync::Weak<Snapshot>> =
    std::sync::Mutex::new(std::sync::Weak::new());

/// A snapshot at most [`RESCAN`] old: the last one, or a new scan.
fn snapshot() -> std::sync::Arc<Snapshot> {
    let mut last = LAST_SNAPSHOT
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(snap) = last.upgrade()
        && snap.at.elapsed() < RESCAN
    {
        return snap;
    }
    let me = std::process::id();
    let table: Vec<ProcEntry> = tree::scan().into_iter().filter(|e| e.pid != me).collect();
    let markers = table
        .iter()
        .filter_map(|e| Some((e.pid, tree::marker_of(e.pid)?)))
        .collect();
    let snap = std::sync::Arc::new(Snapshot {
        children: tree::children_map(&table),
        starts: table.iter().map(|e| (e.pid, e.start_time)).collect(),
        table,
        markers,
        at: Instant::now(),
    });
    *last = std::sync::Arc::downgrade(&snap);
    snap
}

/// A process seen in a tree: its pid and its start time, its identity.
type Seen = (u32, u64);

fn alive(&(pid, start): &Seen) -> bool {
    tree::is_alive_as(pid, start)
}

fn remember(known: &mut Vec<Seen>, pid: u32) {
    if known.iter().any(|(p, _)| *p == pid) {
        return;
    }
    if let Some(start) = tree::start_time(pid) {
        known.push((pid, start));
    }
}

/// A live run's tree in group mode.
pub(crate) struct GroupTree {
    /// The main pid, which is also the process group.
    pub main: u32,
    marker: String,
    managed: ManagedPids,
    known: Vec<Seen>,
}

impl GroupTree {
    pub fn new(main: u32, marker: String, managed: ManagedPids) -> Self {
        Self {
            main,
            marker,
            managed,
            known: Vec::new(),
        }
    }

    fn refresh(&mut self) {
        for pid in members(self.main, &self.marker, &self.managed) {
            remember(&mut self.known, pid);
        }
    }

    pub fn signal(&mut self, signal: Signal) {
        self.refresh();
        let _ = killpg(Pid::from_raw(self.main as i32), signal);
        for seen in &self.known {
            if alive(seen) {
                tree::signal_pid(seen.0, signal);
            }
        }
    }

    pub fn is_empty(&mut self) -> bool {
        self.refresh();
        let group_gone = killpg(Pid::from_raw(self.main as i32), None).is_err();
        group_gone && !self.known.iter().any(alive)
    }
}

/// Every live process that belongs to the run of `main` besides `main` itself: its
/// descendants, and orphans re-parented to the daemon that carry the run's marker (with
/// theirs). Members of its process group are reached through the group.
fn members(main: u32, marker: &str, managed: &ManagedPids) -> Vec<u32> {
    let me = std::process::id();
    if tree::children_files() {
        // Only the daemon's children and this tree are read, not all of /proc: a full scan
        // per stopped process made `stop all` quadratic in the host's process count.
        let mut roots = vec![main];
        roots.extend(tree::children_of(me).into_iter().filter(|pid| {
            *pid != main
                && !managed.contains(*pid)
                && tree::marker_of(*pid).as_deref() == Some(marker)
        }));
        let mut found = tree::descendants_of(&roots);
        found.extend(roots.into_iter().filter(|p| *p != main));
        return found;
    }
    let table = tree::scan();
    let mut roots = vec![main];
    roots.extend(
        table
            .iter()
            .filter(|e| e.ppid == me && e.pid != main && !managed.contains(e.pid))
            .filter(|e| tree::marker_of(e.pid).as_deref() == Some(marker))
            .map(|e| e.pid),
    );
    let mut found = tree::descendants(&table, &roots);
    found.extend(roots.into_iter().filter(|p| *p != main));
    found
}

/// Keeps the shared snapshot while trees are made one after another: a tree that finds
/// nothing is dropped at once, and with it the last hold on the snapshot, so without this
/// each of them scanned `/proc` again (1,000 scans for 1,000 apps whose processes were
/// already ended).
pub(crate) struct ScanShare(Option<std::sync::Arc<Snapshot>>);

impl ScanShare {
    pub fn new() -> Self {
        Self(None)
    }

    /// Holds the current snapshot (a new one when the last is [`RESCAN`] old).
    pub fn keep(&mut self) {
        self.0 = Some(snapshot());
    }
}

/// What an earlier daemon left of one process, found by scanning `/proc`.
pub(crate) struct ScanTree {
    marker: String,
    /// The recorded main process's group, when the main is still that process.
    pgid: Option<u32>,
    known: Vec<Seen>,
    /// The snapshot last looked at (shared with the other trees); `None` to look again.
    scanned: Option<std::sync::Arc<Snapshot>>,
}

impl ScanTree {
    /// `main`: the recorded main pid and start time; it counts only if it is still that
    /// process. `marker`: the process's `PMTUI_JOB` value.
    pub fn new(main: Option<(u32, u64)>, marker: String) -> Self {
        let main = main.filter(alive);
        Self {
            marker,
            pgid: main.map(|(pid, _)| pid),
            known: main.into_iter().collect(),
            scanned: None,
        }
    }

    /// Whether anything of it was found at all.
    pub fn found_any(&mut self) -> bool {
        !self.is_empty()
    }

    fn refresh(&mut self) {
        if self
            .scanned
            .as_ref()
            .is_some_and(|snap| snap.at.elapsed() < RESCAN)
        {
            return;
        }
        let snap = snapshot();
        let mut seeds: Vec<u32> = snap
            .table
            .iter()
            .filter(|e| {
                self.known
                    .iter()
                    .any(|(p, s)| *p == e.pid && *s == e.start_time)
                    || Some(e.pgid) == self.pgid
                    || snap.markers.get(&e.pid) == Some(&self.marker)
            })
            .map(|e| e.pid)
            .collect();
        seeds.extend(tree::descendants_in(&snap.children, &seeds));
        for pid in seeds {
            if let Some(&start) = snap.starts.get(&pid)
                && !self.known.iter().any(|(p, _)| *p == pid)
            {
                self.known.push((pid, start));
            }
        }
        self.scanned = Some(snap);
    }

    /// Sends `signal` to every member, as of a scan at most [`RESCAN`] old (shared with the
    /// other trees): what forked since is caught by the next scans, which `contain::end`
    /// repeats until nothing is left.
    pub fn signal(&mut self, signal: Signal) {
        self.scanned = None;
        self.refresh();
        for seen in &self.known {
            if alive(seen) {
                tree::signal_pid(seen.0, signal);
            }
        }
    }

    pub fn is_empty(&mut self) -> bool {
        self.refresh();
        !self.known.iter().any(alive)
    }

    pub fn describe(&self) -> String {
        format!("processes marked {}", self.marker)
    }
}
