//! The sampler: a thread of its own (so an idle daemon's runtime is not woken, and `/proc`
//! reads never stall a request) that measures every running process tree once per interval.
//!
//! Cost control: the whole of `/proc` is read only to find the members of each tree (every
//! `RESCAN_TICKS` ticks, or when a main pid is new); in between only the known members'
//! `stat` files are read, so an idle tree of one process costs one small read per tick.
//! Descendants that appear between rescans are counted from the next rescan. Open fds are
//! counted on rescan ticks only.

use super::MetricsTick;
use super::procfs::{HostCpu, Reader, Stat};
use crate::supervisor::{Shared, Target};
use pmtui_proto::{HostSample, ProcessId, ProcessSample, now_ms};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

/// A full `/proc` pass every this many ticks.
const RESCAN_TICKS: u64 = 5;

/// Starts the sampler thread; it ends when the supervisor is gone.
pub(crate) fn start(shared: &Arc<Shared>) {
    let interval = shared.metrics.interval_ms;
    if interval == 0 {
        return;
    }
    let weak = Arc::downgrade(shared);
    let runtime = tokio::runtime::Handle::current();
    let spawned = std::thread::Builder::new()
        .name("pmtui-metrics".into())
        .spawn(move || run(weak, runtime, Duration::from_millis(interval)));
    if let Err(err) = spawned {
        tracing::warn!(%err, "cannot start the metrics sampler; metrics stay at zero");
    }
}

fn run(weak: Weak<Shared>, runtime: tokio::runtime::Handle, interval: Duration) {
    let mut sampler = Sampler::default();
    let restarting: Arc<Mutex<HashSet<ProcessId>>> = Arc::default();
    let mut next = Instant::now();
    loop {
        {
            let Some(shared) = weak.upgrade() else { return };
            let over = sampler.tick(&shared, &restarting);
            for (id, pid, memory, limit) in over {
                tracing::warn!(
                    id,
                    memory,
                    limit,
                    "memory limit exceeded; restarting the process"
                );
                let supervisor = crate::Supervisor::from_shared(Arc::clone(&shared));
                let restarting = Arc::clone(&restarting);
                // On the runtime's thread: the job spawns the new child there.
                runtime.spawn(async move {
                    // Not if it was stopped or restarted meanwhile: that would revive it.
                    if supervisor.running_pid(id) == Some(pid)
                        && let Err(err) = supervisor.restart_for(id, "memory limit").await
                    {
                        tracing::warn!(id, %err, "memory-limit restart failed");
                    }
                    lock(&restarting).remove(&id);
                });
            }
        }
        next += interval;
        let now = Instant::now();
        if next <= now {
            // Fell behind (a suspended machine, a huge table): skip the missed ticks.
            next = now + interval;
        }
        std::thread::sleep(next - now);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A tree's membership as of the last rescan.
struct Tree {
    root: u32,
    members: Vec<u32>,
    fds: Option<u32>,
}

#[derive(Default)]
struct Sampler {
    reader: Reader,
    tick: u64,
    all: Vec<Stat>,
    trees: HashMap<ProcessId, Tree>,
    /// Per pid: (start time, cpu ticks) at the previous tick.
    prev: HashMap<u32, (u64, u64)>,
    prev_at: Option<Instant>,
    prev_host: Option<HostCpu>,
}

impl Sampler {
    /// One measurement; returns the processes over their memory limit
    /// (id, pid, memory, limit).
    fn tick(
        &mut self,
        shared: &Shared,
        restarting: &Mutex<HashSet<ProcessId>>,
    ) -> Vec<(ProcessId, u32, u64, u64)> {
        let targets = shared.metric_targets();
        let now = Instant::now();
        let elapsed = self
            .prev_at
            .map_or(0.0, |at| now.duration_since(at).as_secs_f64());
        self.prev_at = Some(now);
        let at = now_ms();
        let host = self.host(at, elapsed);
        let rescan = self.tick.is_multiple_of(RESCAN_TICKS)
            || targets
                .iter()
                .any(|t| self.trees.get(&t.id).is_none_or(|tree| tree.root != t.pid));
        self.tick += 1;
        let stats = if rescan {
            self.rescan(&targets)
        } else {
            self.read_members(&targets)
        };
        let boot_ticks = self.boot_ticks();
        let clock = self.reader.clock_ticks as f64;
        let page = self.reader.page_size;
        let mut prev = HashMap::with_capacity(self.prev.len());
        let mut samples = Vec::with_capacity(targets.len());
        for target in &targets {
            let Some(tree) = self.trees.get(&target.id) else {
                continue;
            };
            let mut busy = 0.0f64;
            let (mut rss, mut threads, mut count) = (0u64, 0u32, 0u32);
            for pid in &tree.members {
                let Some(stat) = stats.get(pid) else { continue };
                count += 1;
                rss += stat.rss_pages * page;
                threads += stat.threads;
                busy += match self.prev.get(pid) {
                    Some(&(start, ticks)) if start == stat.start_time => {
                        stat.ticks.saturating_sub(ticks) as f64
                    }
                    // New to us: the share of its lifetime that fell in this interval.
                    _ => {
                        let age = boot_ticks
                            .map_or(0.0, |b| b.saturating_sub(stat.start_time) as f64 / clock);
                        if age <= elapsed || age <= 0.0 {
                            stat.ticks as f64
                        } else {
                            stat.ticks as f64 * (elapsed / age)
                        }
                    }
                };
                prev.insert(*pid, (stat.start_time, stat.ticks));
            }
            if count == 0 {
                continue;
            }
            let cpu = if elapsed > 0.0 {
                busy / clock / elapsed * 100.0
            } else {
                0.0
            };
            let memory_percent = host
                .as_ref()
                .filter(|h| h.memory_total > 0)
                .map_or(0.0, |h| rss as f64 / h.memory_total as f64 * 100.0);
            samples.push(ProcessSample {
                id: target.id,
                at,
                cpu: round1(cpu),
                memory: rss,
                memory_percent: round1(memory_percent),
                threads,
                fds: tree.fds,
                processes: count,
            });
        }
        self.prev = prev;
        let over = shared.apply_samples(&samples, &targets, restarting);
        if let Some(host) = host {
            shared.publish_tick(MetricsTick { host, samples });
        }
        over
    }

    /// Reads all of `/proc` and rebuilds every tree's membership.
    fn rescan(&mut self, targets: &[Target]) -> HashMap<u32, Stat> {
        let mut all = std::mem::take(&mut self.all);
        self.reader.scan(&mut all);
        let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
        let mut groups: HashMap<u32, Vec<u32>> = HashMap::new();
        for s in &all {
            children.entry(s.ppid).or_default().push(s.pid);
            groups.entry(s.pgid).or_default().push(s.pid);
        }
        let by_pid: HashMap<u32, Stat> = all.iter().map(|s| (s.pid, *s)).collect();
        self.trees.clear();
        let mut stats = HashMap::new();
        for target in targets {
            if !by_pid.contains_key(&target.pid) {
                continue;
            }
            // Descendants, plus what stayed in its process group after its parent died.
            let mut members = vec![target.pid];
            let mut seen: HashSet<u32> = HashSet::from([target.pid]);
            let mut queue: Vec<u32> = groups.get(&target.pid).cloned().unwrap_or_default();
            queue.push(target.pid);
            while let Some(pid) = queue.pop() {
                if seen.insert(pid) {
                    members.push(pid);
                }
                for kid in children.get(&pid).into_iter().flatten() {
                    if !seen.contains(kid) {
                        queue.push(*kid);
                    }
                }
            }
            let mut fds = Some(0u32);
            for pid in &members {
                if let Some(s) = by_pid.get(pid) {
                    stats.insert(*pid, *s);
                }
                fds = fds.and_then(|total| Some(total + self.reader.fds(*pid)?));
            }
            self.trees.insert(
                target.id,
                Tree {
                    root: target.pid,
                    members,
                    fds,
                },
            );
        }
        self.all = all;
        stats
    }

    /// Reads only the members found at the last rescan.
    fn read_members(&mut self, targets: &[Target]) -> HashMap<u32, Stat> {
        let mut stats = HashMap::new();
        for target in targets {
            let Some(tree) = self.trees.get(&target.id) else {
                continue;
            };
            for pid in &tree.members {
                if let Some(stat) = self.reader.stat(*pid) {
                    stats.insert(*pid, stat);
                }
            }
        }
        stats
    }

    fn host(&mut self, at: u64, elapsed: f64) -> Option<HostSample> {
        let cpu_now = self.reader.host_cpu()?;
        let memory = self.reader.host_memory()?;
        let cpu = match self.prev_host {
            Some(prev) if cpu_now.total > prev.total && elapsed > 0.0 => {
                (cpu_now.busy.saturating_sub(prev.busy)) as f64
                    / (cpu_now.total - prev.total) as f64
                    * 100.0
            }
            _ => 0.0,
        };
        self.prev_host = Some(cpu_now);
        Some(HostSample {
            at,
            cpu: round1(cpu),
            cores: cpu_now.cores,
            memory_total: memory.total,
            memory_used: memory.total.saturating_sub(memory.available),
            load1: self.reader.load1().unwrap_or(0.0),
        })
    }

    /// Clock ticks since boot, now (to age processes we have not seen before).
    fn boot_ticks(&mut self) -> Option<u64> {
        let uptime = self.reader.uptime()?;
        Some((uptime * self.reader.clock_ticks as f64) as u64)
    }
}

fn round1(v: f64) -> f32 {
    ((v * 10.0).round() / 10.0) as f32
}
