//! The sampler: a thread of its own (so an idle daemon's runtime is not woken, and `/proc`
//! reads never stall a request) that measures every running process tree once per interval.
//!
//! Cost control: at each interval only what may have changed is read, so idle processes
//! cost almost nothing (the target is well under 0.05 % of a core at 200 idle processes).
//! - In cgroup mode, one read of the home's cgroup `cpu.stat` first: when no process of any
//!   app ran since the last tick, nothing else is read (every process's CPU is 0 and its
//!   memory and members are what they were).
//! - Otherwise each member's `stat`, kept open and re-read with `pread`. A member whose CPU
//!   time, memory and page faults did not move for `IDLE_AFTER` reads is read only every
//!   `IDLE_EVERY` ticks (staggered); its last rate and memory stand in between. A process
//!   that wakes up is therefore seen within a few seconds, and its CPU over the gap is still
//!   exact (rates use each process's own time between reads). The members of a tree with a
//!   `max_memory_restart` are read at every tick, so a limit trips within one interval.
//! - A tree's membership (its children, or its cgroup's `cgroup.procs`) is read again only
//!   when one of its members moved since (a process that did not run cannot fork), the
//!   host's fork counter moved, and at most every `RESCAN_TICKS` ticks; a new main pid is
//!   read at once. Only new processes are read then (parent and group of the others are
//!   remembered). A descendant that appears between two passes is counted from the next one.
//! - Open fds are counted when a member is found, then every `FDS_EVERY` ticks for members
//!   that are not idle.
//! - In cgroup mode a tree's members are its cgroup's `cgroup.procs` (exact, and no pass over
//!   `/proc` at all when every process has a cgroup); where the v2 memory controller is on,
//!   the tree's memory is its `memory.current`, read when one of its members was.

use super::procfs::{HostCpu, Reader, Stat};
use crate::supervisor::{Shared, Target};
use pmtui_proto::{HostSample, ProcessId, ProcessSample, now_ms};
use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Instant;

/// At most one membership pass every this many ticks.
const RESCAN_TICKS: u64 = 10;
/// Every this many passes over `/proc` read every process again, not only new pids (for
/// processes that changed group or parent since; new and reused pids are read every time).
const FULL_EVERY: u64 = 30;
/// Unchanged reads after which a process counts as idle.
const IDLE_AFTER: u8 = 3;
/// An idle process is read every this many ticks.
const IDLE_EVERY: u64 = 5;
/// Open fds are counted every this many ticks.
const FDS_EVERY: u64 = 15;
/// Stat files kept open at most, against the daemon's fd limit; beyond, open and close.
const MAX_KEPT_FILES: usize = 4096;
/// Stat files are kept open only while more descriptors than this are spare (beyond the
/// daemon's reserve), so the cache leaves room for the processes it measures.
const CACHE_MARGIN: u64 = 32;
/// Ticks without kept stat files after a launch asked for them back (see `fds::kept`).
const KEEP_PAUSE: u64 = 60;

pub(super) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A tree's membership as of its last pass.
struct Tree {
    root: u32,
    members: Vec<u32>,
    /// Its cgroup (cgroup mode).
    cgroup: Option<PathBuf>,
    /// A member moved (ran, grew, faulted, exited) since the membership was read: only then
    /// can it have a new member.
    active: bool,
    /// The cgroup's `memory.current` when last read (memory controller on).
    memory: Option<u64>,
}

/// What the sampler remembers of one member process.
struct Member {
    /// Its `stat`, kept open (none past `MAX_KEPT_FILES`).
    file: Option<File>,
    start_time: u64,
    ticks: u64,
    minflt: u64,
    read_at: Instant,
    /// CPU ticks per second over its last measured interval.
    rate: f64,
    rss_pages: u64,
    threads: u32,
    /// Consecutive reads with no change of CPU time, memory or page faults.
    still: u8,
    /// Open fds when last counted.
    fds: Option<u32>,
}

/// Cgroup mode: the home's cgroup `cpu.stat` (CPU of every app's processes together), kept
/// open, and its `usage_usec` at the last tick.
struct Gate {
    file: Option<File>,
    usage: Option<u64>,
}

pub(super) struct Sampler {
    reader: Reader,
    tick: u64,
    /// Parent, group and `/proc` inode of every host process as of the last pass.
    links: HashMap<u32, (u32, u32, u64)>,
    /// The processes read in full by the last pass (new or reused pids).
    fresh: HashMap<u32, Stat>,
    pids: Vec<(u32, u64)>,
    passes: u64,
    trees: HashMap<ProcessId, Tree>,
    members: HashMap<u32, Member>,
    /// The tick of the last membership pass and the fork counter then.
    last_rescan: Option<(u64, Option<u64>)>,
    prev_at: Option<Instant>,
    prev_host: Option<HostCpu>,
    kept_limit: usize,
    /// No stat file is kept open before this tick (a launch asked for them back).
    keep_from: u64,
    gate: Option<Gate>,
    /// The targets of the tick, kept to reuse the allocation.
    targets: Vec<Target>,
}

impl Default for Sampler {
    fn default() -> Self {
        // A quarter of the soft fd limit at most: the daemon needs fds for pipes and logs.
        let soft = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
            .map_or(1024, |(soft, _)| soft);
        Self {
            reader: Reader::default(),
            tick: 0,
            links: HashMap::new(),
            fresh: HashMap::new(),
            pids: Vec::new(),
            passes: 0,
            trees: HashMap::new(),
            members: HashMap::new(),
            last_rescan: None,
            prev_at: None,
            prev_host: None,
            kept_limit: usize::try_from(soft / 4)
                .unwrap_or(MAX_KEPT_FILES)
                .min(MAX_KEPT_FILES),
            keep_from: 0,
            gate: None,
            targets: Vec::new(),
        }
    }
}

impl Sampler {
    /// One measurement; returns the processes over their memory limit
    /// (id, pid, memory, limit).
    pub(super) fn tick(
        &mut self,
        shared: &Shared,
        restarting: &Mutex<HashSet<ProcessId>>,
    ) -> Vec<(ProcessId, u32, u64, u64)> {
        if pmtui_proto::faults::fire("sampler-panic", "") {
            panic!("injected fault: sampler-panic");
        }
        if pmtui_proto::faults::fire("sampler-stall", "") {
            // As a read of /proc stuck on a process in uninterruptible sleep would.
            std::thread::sleep(std::time::Duration::from_secs(120));
        }
        let mut targets = std::mem::take(&mut self.targets);
        shared.metric_targets(&mut targets);
        let now = Instant::now();
        let elapsed = self
            .prev_at
            .map_or(0.0, |at| now.duration_since(at).as_secs_f64());
        self.prev_at = Some(now);
        let at = now_ms();
        let tick = self.tick;
        self.tick += 1;
        let (host, forks) = self.host(at, elapsed);
        // Nothing of any app ran since the last tick: nothing to read.
        let quiet = self.quiet(shared, &targets);
        if targets.is_empty() {
            self.trees.clear();
            self.members.clear();
        } else if self.needs_rescan(&targets, tick, forks, quiet) {
            self.rescan(shared, &targets);
            self.last_rescan = Some((tick, forks));
        }
        let count_fds = tick.is_multiple_of(FDS_EVERY);
        let cgroup_memory = shared
            .containment
            .cgroups
            .as_ref()
            .is_some_and(|c| c.memory);
        let page = self.reader.page_size;
        let clock = self.reader.clock_ticks as f64;
        let mut samples = Vec::with_capacity(targets.len());
        let mut gone = Vec::new();
        for target in &targets {
            let Some(tree) = self.trees.get_mut(&target.id) else {
                continue;
            };
            let (mut rate, mut rss, mut threads, mut count) = (0.0f64, 0u64, 0u32, 0u32);
            let mut fds = Some(0u32);
            let mut read_any = false;
            for &pid in &tree.members {
                let Some(member) = self.members.get_mut(&pid) else {
                    continue;
                };
                match look(quiet, target.memory_limit, member.still, tick, pid) {
                    Look::Quiet => {
                        // It did not run: no CPU over this interval, nothing else moved.
                        member.rate = 0.0;
                        member.read_at = now;
                        member.still = member.still.saturating_add(1);
                    }
                    // Idle: its last values stand, and it opens nothing.
                    Look::Skip => {}
                    Look::Read => {
                        if !refresh(&mut self.reader, pid, member, now) {
                            gone.push(pid);
                            tree.active = true;
                            continue;
                        }
                        read_any = true;
                        tree.active |= member.still == 0;
                        if count_fds {
                            member.fds = self.reader.fds(pid);
                        }
                    }
                }
                fds = fds.and_then(|n| Some(n + member.fds?));
                count += 1;
                rate += member.rate;
                rss += member.rss_pages * page;
                threads += member.threads;
            }
            if count == 0 {
                continue;
            }
            if cgroup_memory && let Some(dir) = tree.cgroup.as_deref() {
                if read_any || tree.memory.is_none() {
                    tree.memory = crate::contain::cgroup::memory_current(dir);
                }
                rss = tree.memory.unwrap_or(rss);
            }
            let memory_percent = host
                .as_ref()
                .filter(|h| h.memory_total > 0)
                .map_or(0.0, |h| rss as f64 / h.memory_total as f64 * 100.0);
            samples.push((
                ProcessSample {
                    id: target.id,
                    at,
                    cpu: round1(rate / clock * 100.0),
                    memory: rss,
                    memory_percent: round1(memory_percent),
                    threads,
                    fds,
                    processes: count,
                    app: Vec::new(),
                },
                target.pid,
            ));
        }
        for pid in gone {
            self.members.remove(&pid);
            for tree in self.trees.values_mut() {
                tree.members.retain(|p| *p != pid);
            }
        }
        self.targets = targets;
        let over = shared.apply_samples(&mut samples, restarting);
        if let Some(host) = host {
            shared.publish_tick(host, samples);
        }
        over
    }

    /// Cgroup mode, every target in a cgroup: whether no process of the home's cgroups ran
    /// since the last tick (its `cpu.stat` usage did not move). Always false the first time,
    /// and where the file cannot be read.
    fn quiet(&mut self, shared: &Shared, targets: &[Target]) -> bool {
        let Some(cgroups) = shared.containment.cgroups.as_ref() else {
            return false;
        };
        let gate = self.gate.get_or_insert_with(|| Gate {
            file: File::open(cgroups.base.join("cpu.stat")).ok(),
            usage: None,
        });
        let usage = gate
            .file
            .as_ref()
            .and_then(|file| self.reader.cgroup_usage(file));
        let quiet = usage.is_some()
            && usage == gate.usage
            && !targets.is_empty()
            && targets.iter().all(|t| t.cgroup);
        gate.usage = usage;
        quiet
    }

    fn needs_rescan(&self, targets: &[Target], tick: u64, forks: Option<u64>, quiet: bool) -> bool {
        let new_root = targets
            .iter()
            .any(|t| self.trees.get(&t.id).is_none_or(|tree| tree.root != t.pid));
        match self.last_rescan {
            None => true,
            _ if new_root => true,
            _ if quiet => false,
            Some((at, seen)) => {
                tick >= at + RESCAN_TICKS
                    && (forks.is_none() || forks != seen)
                    && self.trees.values().any(|tree| tree.active)
            }
        }
    }

    /// Rebuilds the membership of the trees that may have changed (a new main pid, or a
    /// member that moved since their last pass): from their cgroup, or from a pass over
    /// `/proc`. The others keep theirs.
    fn rescan(&mut self, shared: &Shared, targets: &[Target]) {
        let stale = |tree: Option<&Tree>, target: &Target| {
            tree.is_none_or(|tree| tree.active || tree.root != target.pid)
        };
        if targets.iter().all(|t| t.cgroup) {
            self.links.clear();
            self.pids.clear();
        } else if targets
            .iter()
            .any(|t| !t.cgroup && stale(self.trees.get(&t.id), t))
        {
            self.list_proc();
        }
        let mut old = std::mem::take(&mut self.trees);
        let mut keep: HashSet<u32> = HashSet::new();
        let boot = self.reader.uptime();
        let clock = self.reader.clock_ticks as f64;
        let now = Instant::now();
        let mut kept = self.members.values().filter(|m| m.file.is_some()).count();
        // Each process's children and each group's members, built only when a tree outside
        // a cgroup is read again.
        let mut relations: Option<Relations> = None;
        // Descriptors to spare beyond the daemon's reserve, counted when first needed: the
        // cache of open stat files never takes what starting a process would need.
        let mut room: Option<u64> = None;
        for target in targets {
            if let Some(tree) = old.remove(&target.id)
                && !stale(Some(&tree), target)
            {
                keep.extend(tree.members.iter().copied());
                self.trees.insert(target.id, tree);
                continue;
            }
            let cgroup = if target.cgroup {
                shared.containment.cgroup_of(target.id)
            } else {
                None
            };
            let members = match &cgroup {
                Some(dir) => crate::contain::cgroup::members(dir),
                None => {
                    if !self.links.contains_key(&target.pid) {
                        continue;
                    }
                    let (children, groups) =
                        relations.get_or_insert_with(|| relations_of(&self.links));
                    // Descendants, plus what stayed in its process group after its parent
                    // died.
                    let mut members = Vec::new();
                    let mut seen: HashSet<u32> = HashSet::new();
                    let mut queue: Vec<u32> = groups.get(&target.pid).cloned().unwrap_or_default();
                    queue.push(target.pid);
                    while let Some(pid) = queue.pop() {
                        if !seen.insert(pid) {
                            continue;
                        }
                        members.push(pid);
                        queue.extend(children.get(&pid).into_iter().flatten().copied());
                    }
                    members
                }
            };
            for &pid in &members {
                keep.insert(pid);
                let known = self.members.get(&pid).is_some_and(|m| {
                    self.fresh
                        .get(&pid)
                        .is_none_or(|s| s.start_time == m.start_time)
                });
                if !known {
                    let Some(stat) = self
                        .fresh
                        .get(&pid)
                        .copied()
                        .or_else(|| self.reader.stat(pid))
                    else {
                        continue;
                    };
                    // Its average over its life so far stands for the first interval.
                    let age = boot.map_or(1.0, |b| (b - stat.start_time as f64 / clock).max(0.5));
                    let spare = room.get_or_insert_with(|| crate::fds::spare().unwrap_or(u64::MAX));
                    let file = (kept < self.kept_limit
                        && *spare > CACHE_MARGIN
                        && self.tick >= self.keep_from)
                        .then(|| self.reader.open_stat(pid))
                        .flatten();
                    if file.is_some() {
                        kept += 1;
                        *spare = spare.saturating_sub(1);
                    }
                    self.members.insert(
                        pid,
                        Member {
                            file,
                            start_time: stat.start_time,
                            ticks: stat.ticks,
                            minflt: stat.minflt,
                            read_at: now,
                            rate: stat.ticks as f64 / age,
                            rss_pages: stat.rss_pages,
                            threads: stat.threads,
                            still: 0,
                            fds: self.reader.fds(pid),
                        },
                    );
                }
            }
            self.trees.insert(
                target.id,
                Tree {
                    root: target.pid,
                    members,
                    cgroup,
                    active: false,
                    memory: None,
                },
            );
        }
        self.members.retain(|pid, _| keep.contains(pid));
        self.fresh.clear();
        crate::fds::kept::set_held(self.members.values().filter(|m| m.file.is_some()).count());
    }

    /// Closes every kept stat file for a launch short of descriptors, and keeps none for
    /// `KEEP_PAUSE` ticks (the members are read by opening their file meanwhile).
    pub(super) fn give_back_files(&mut self) {
        for member in self.members.values_mut() {
            member.file = None;
        }
        self.keep_from = self.tick + KEEP_PAUSE;
        crate::fds::kept::given_back();
        tracing::debug!("stat files given back for a launch short of descriptors");
    }

    /// Lists `/proc` and refreshes every host process's parent and group. Only new
    /// processes are read (a pid not seen at the last pass, or one whose `/proc` inode
    /// changed: reused); every `FULL_EVERY` passes all are read again.
    fn list_proc(&mut self) {
        let mut pids = std::mem::take(&mut self.pids);
        self.reader.pids(&mut pids);
        let full = self.passes.is_multiple_of(FULL_EVERY);
        self.passes += 1;
        self.fresh.clear();
        let mut links = HashMap::with_capacity(pids.len());
        for &(pid, ino) in &pids {
            let cached = if full { None } else { self.links.get(&pid) };
            let link = match cached {
                Some(link) if link.2 == ino => *link,
                _ => {
                    let Some(stat) = self.reader.stat(pid) else {
                        continue;
                    };
                    self.fresh.insert(pid, stat);
                    (stat.ppid, stat.pgid, ino)
                }
            };
            links.insert(pid, link);
        }
        self.pids = pids;
        self.links = links;
    }

    /// The host sample, and the fork counter.
    fn host(&mut self, at: u64, elapsed: f64) -> (Option<HostSample>, Option<u64>) {
        let Some(cpu_now) = self.reader.host_cpu() else {
            return (None, None);
        };
        let Some(memory) = self.reader.host_memory() else {
            return (None, Some(cpu_now.forks));
        };
        let cpu = match self.prev_host {
            Some(prev) if cpu_now.total > prev.total && elapsed > 0.0 => {
                (cpu_now.busy.saturating_sub(prev.busy)) as f64
                    / (cpu_now.total - prev.total) as f64
                    * 100.0
            }
            _ => 0.0,
        };
        self.prev_host = Some(cpu_now);
        let sample = HostSample {
            at,
            cpu: round1(cpu),
            cores: cpu_now.cores,
            memory_total: memory.total,
            memory_used: memory.total.saturating_sub(memory.available),
            load1: self.reader.load1().unwrap_or(0.0),
        };
        (Some(sample), Some(cpu_now.forks))
    }
}

/// What a tick does with one member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Look {
    /// Nothing of any app ran: known unchanged without a read.
    Quiet,
    /// Idle, not its turn: its last values stand.
    Skip,
    Read,
}

/// Whether member `pid`, unchanged over its last `still` reads, is read at `tick`. One under
/// a memory limit is read at every tick that something ran, so the limit trips within one
/// interval however long it idled.
fn look(quiet: bool, memory_limit: bool, still: u8, tick: u64, pid: u32) -> Look {
    if quiet {
        Look::Quiet
    } else if memory_limit
        || still < IDLE_AFTER
        || (tick + u64::from(pid)).is_multiple_of(IDLE_EVERY)
    {
        Look::Read
    } else {
        Look::Skip
    }
}

/// Each process's children and each group's members.
type Relations = (HashMap<u32, Vec<u32>>, HashMap<u32, Vec<u32>>);

/// The children and group members of every host process, from the last `/proc` pass.
fn relations_of(links: &HashMap<u32, (u32, u32, u64)>) -> Relations {
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    let mut groups: HashMap<u32, Vec<u32>> = HashMap::new();
    for (&pid, &(ppid, pgid, _)) in links {
        children.entry(ppid).or_default().push(pid);
        groups.entry(pgid).or_default().push(pid);
    }
    (children, groups)
}

/// Reads a member again and updates its rate; false when it is gone (or its pid was reused).
fn refresh(reader: &mut Reader, pid: u32, member: &mut Member, now: Instant) -> bool {
    let stat = match &member.file {
        Some(file) => reader.read_stat(pid, file),
        None => reader.stat(pid),
    };
    let Some(stat) = stat.filter(|s| s.start_time == member.start_time) else {
        return false;
    };
    let dt = now.duration_since(member.read_at).as_secs_f64();
    if dt > 0.0 {
        member.rate = stat.ticks.saturating_sub(member.ticks) as f64 / dt;
    }
    // Page faults move whenever a process touches new memory (a fork makes its parent
    // fault at once), so a process that forked or grew is not taken for idle.
    let unchanged = stat.ticks == member.ticks
        && stat.rss_pages == member.rss_pages
        && stat.minflt == member.minflt;
    member.still = if unchanged {
        member.still.saturating_add(1)
    } else {
        0
    };
    member.ticks = stat.ticks;
    member.minflt = stat.minflt;
    member.read_at = now;
    member.rss_pages = stat.rss_pages;
    member.threads = stat.threads;
    true
}

fn round1(v: f64) -> f32 {
    ((v * 10.0).round() / 10.0) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_members_are_read_every_few_ticks_unless_under_a_memory_limit() {
        let reads = |memory_limit: bool, still: u8| {
            (0..100u64)
                .filter(|&tick| look(false, memory_limit, still, tick, 4242) == Look::Read)
                .count()
        };
        assert_eq!(reads(false, 0), 100, "a busy process: every tick");
        assert_eq!(reads(false, IDLE_AFTER - 1), 100);
        assert_eq!(reads(false, IDLE_AFTER), 100 / IDLE_EVERY as usize, "idle");
        assert_eq!(
            reads(true, u8::MAX),
            100,
            "under a memory limit: every tick"
        );
        for (limit, still) in [(false, 0), (true, 0), (false, u8::MAX)] {
            assert_eq!(look(true, limit, still, 7, 1), Look::Quiet, "nothing ran");
        }
    }
}
