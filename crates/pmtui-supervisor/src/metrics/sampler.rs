//! The sampler: a thread of its own (so an idle daemon's runtime is not woken, and `/proc`
//! reads never stall a request) that measures every running process tree once per interval.
//!
//! Cost control (the target is a small fraction of a core at 1,000 processes):
//! - `/proc` is listed only to find the members of each tree: when a main pid is new, or when
//!   the host's fork counter moved (at most every `RESCAN_TICKS` ticks). With no new process
//!   anywhere there is nothing new to find. Only new processes are read then (parent and
//!   group of the others are remembered). A descendant that appears between two passes is
//!   counted from the next one.
//! - In between, only the members' `stat` files are read, kept open and re-read with `pread`.
//! - A member whose CPU time and memory did not move for `IDLE_AFTER` reads is read only every
//!   `IDLE_EVERY` ticks (staggered); its last rate and memory stand in between. A process
//!   that wakes up is therefore seen within a few seconds, and its CPU over the gap is still
//!   exact (rates use each process's own time between reads).
//! - Open fds are counted when a member is found, then every `FDS_EVERY` ticks for members
//!   that are not idle.
//! - In cgroup mode a tree's members are its cgroup's `cgroup.procs` (exact, and no pass over
//!   `/proc` at all when every process has a cgroup); where the v2 memory controller is on,
//!   the tree's memory is its `memory.current`.

use super::MetricsTick;
use super::procfs::{HostCpu, Reader, Stat};
use crate::supervisor::{Shared, Target};
use pmtui_proto::{HostSample, ProcessId, ProcessSample, now_ms};
use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::sync::Mutex;
use std::time::Instant;

/// At most one full `/proc` pass every this many ticks.
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

pub(super) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A tree's membership as of the last full pass.
struct Tree {
    root: u32,
    members: Vec<u32>,
}

/// What the sampler remembers of one member process.
struct Member {
    /// Its `stat`, kept open (none past `MAX_KEPT_FILES`).
    file: Option<File>,
    start_time: u64,
    ticks: u64,
    read_at: Instant,
    /// CPU ticks per second over its last measured interval.
    rate: f64,
    rss_pages: u64,
    threads: u32,
    /// Consecutive reads with no change of CPU time or memory.
    still: u8,
    /// Open fds when last counted.
    fds: Option<u32>,
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
    /// The tick of the last full pass and the fork counter then.
    last_rescan: Option<(u64, Option<u64>)>,
    prev_at: Option<Instant>,
    prev_host: Option<HostCpu>,
    kept_limit: usize,
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
        if crate::faults::fire("sampler-panic", "") {
            panic!("injected fault: sampler-panic");
        }
        if crate::faults::fire("sampler-stall", "") {
            // As a read of /proc stuck on a process in uninterruptible sleep would.
            std::thread::sleep(std::time::Duration::from_secs(120));
        }
        let targets = shared.metric_targets();
        let now = Instant::now();
        let elapsed = self
            .prev_at
            .map_or(0.0, |at| now.duration_since(at).as_secs_f64());
        self.prev_at = Some(now);
        let at = now_ms();
        let tick = self.tick;
        self.tick += 1;
        let (host, forks) = self.host(at, elapsed);
        if targets.is_empty() {
            self.trees.clear();
            self.members.clear();
        } else if self.needs_rescan(&targets, tick, forks) {
            self.rescan(&targets);
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
            let Some(tree) = self.trees.get(&target.id) else {
                continue;
            };
            let (mut rate, mut rss, mut threads, mut count) = (0.0f64, 0u64, 0u32, 0u32);
            let mut fds = Some(0u32);
            for &pid in &tree.members {
                let Some(member) = self.members.get_mut(&pid) else {
                    continue;
                };
                let idle = member.still >= IDLE_AFTER
                    && !(tick + u64::from(pid)).is_multiple_of(IDLE_EVERY);
                if !idle && !refresh(&mut self.reader, pid, member, now) {
                    gone.push(pid);
                    continue;
                }
                // An idle process opens nothing: its count stands.
                if count_fds && !idle {
                    member.fds = self.reader.fds(pid);
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
            if cgroup_memory
                && let Some(current) = target
                    .cgroup
                    .as_deref()
                    .and_then(crate::contain::cgroup::memory_current)
            {
                rss = current;
            }
            let memory_percent = host
                .as_ref()
                .filter(|h| h.memory_total > 0)
                .map_or(0.0, |h| rss as f64 / h.memory_total as f64 * 100.0);
            samples.push(ProcessSample {
                id: target.id,
                at,
                cpu: round1(rate / clock * 100.0),
                memory: rss,
                memory_percent: round1(memory_percent),
                threads,
                fds,
                processes: count,
                app: Vec::new(),
            });
        }
        for pid in gone {
            self.members.remove(&pid);
            for tree in self.trees.values_mut() {
                tree.members.retain(|p| *p != pid);
            }
        }
        let over = shared.apply_samples(&mut samples, &targets, restarting);
        if let Some(host) = host {
            shared.publish_tick(MetricsTick { host, samples });
        }
        over
    }

    fn needs_rescan(&self, targets: &[Target], tick: u64, forks: Option<u64>) -> bool {
        let new_root = targets
            .iter()
            .any(|t| self.trees.get(&t.id).is_none_or(|tree| tree.root != t.pid));
        match self.last_rescan {
            None => true,
            _ if new_root => true,
            Some((at, seen)) => tick >= at + RESCAN_TICKS && (forks.is_none() || forks != seen),
        }
    }

    /// Rebuilds every tree's membership: from its cgroup, or from a pass over `/proc`.
    fn rescan(&mut self, targets: &[Target]) {
        if targets.iter().all(|t| t.cgroup.is_some()) {
            self.links.clear();
            self.pids.clear();
        } else {
            self.list_proc();
        }
        self.trees.clear();
        let mut keep: HashSet<u32> = HashSet::new();
        let boot = self.reader.uptime();
        let clock = self.reader.clock_ticks as f64;
        let now = Instant::now();
        let mut kept = self.members.values().filter(|m| m.file.is_some()).count();
        let (children, groups) = self.parents_and_groups();
        // Descriptors to spare beyond the daemon's reserve, counted when first needed: the
        // cache of open stat files never takes what starting a process would need.
        let mut room: Option<u64> = None;
        for target in targets {
            let members = match &target.cgroup {
                Some(dir) => crate::contain::cgroup::members(dir),
                None => {
                    if !self.links.contains_key(&target.pid) {
                        continue;
                    }
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
                    let file = (kept < self.kept_limit && *spare > CACHE_MARGIN)
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
                },
            );
        }
        self.members.retain(|pid, _| keep.contains(pid));
        self.fresh.clear();
    }

    /// Each process's children and each group's members, from the last `/proc` pass.
    fn parents_and_groups(&self) -> (HashMap<u32, Vec<u32>>, HashMap<u32, Vec<u32>>) {
        let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
        let mut groups: HashMap<u32, Vec<u32>> = HashMap::new();
        for (&pid, &(ppid, pgid, _)) in &self.links {
            children.entry(ppid).or_default().push(pid);
            groups.entry(pgid).or_default().push(pid);
        }
        (children, groups)
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
    let unchanged = stat.ticks == member.ticks && stat.rss_pages == member.rss_pages;
    member.still = if unchanged {
        member.still.saturating_add(1)
    } else {
        0
    };
    member.ticks = stat.ticks;
    member.read_at = now;
    member.rss_pages = stat.rss_pages;
    member.threads = stat.threads;
    true
}

fn round1(v: f64) -> f32 {
    ((v * 10.0).round() / 10.0) as f32
}
