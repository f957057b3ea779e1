//! Metrics in the table: what the sampler stores in the rows (and the memory limits it
//! trips), and what the `metrics` verbs read back from them.

use super::{Shared, Supervisor, Target};
use crate::SupervisorError;
use crate::metrics::{MetricsTick, app};
use pmtui_proto::{HostSample, MetricsHistory, ProcessId, ProcessMetrics, ProcessSample};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast;

impl Shared {
    /// The running processes, for the sampler, in id order (into `out`, cleared first: the
    /// sampler reuses it at every tick).
    pub fn metric_targets(&self, out: &mut Vec<Target>) {
        out.clear();
        let cgroups = self.containment.cgroups.is_some();
        out.extend(
            self.lock()
                .entries
                .values()
                .filter(|e| e.info.status.is_running())
                .filter_map(|e| {
                    Some(Target {
                        id: e.info.id,
                        pid: e.info.pid?,
                        cgroup: cgroups,
                        memory_limit: e.spec.max_memory_restart.is_some(),
                    })
                }),
        );
    }

    /// Stores a tick's samples (in id order, each with the pid measured) in the rows (no
    /// event: a sample is not a change of state) and returns the processes over their
    /// memory limit that are not already restarting for it, marking them in `restarting`.
    pub fn apply_samples(
        &self,
        samples: &mut [(ProcessSample, u32)],
        restarting: &Mutex<HashSet<ProcessId>>,
    ) -> Vec<(ProcessId, u32, u64, u64)> {
        let mut over = Vec::new();
        let mut table = self.lock();
        let mut restarting = restarting
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        // Both in id order: one walk, no lookups.
        let mut next = samples.iter_mut().peekable();
        for entry in table.entries.values_mut() {
            while next.next_if(|(s, _)| s.id < entry.info.id).is_some() {}
            match next.next_if(|(s, _)| s.id == entry.info.id) {
                // Only if it still is the process that was measured.
                Some((sample, pid)) if entry.info.pid == Some(*pid) => {
                    let pid = *pid;
                    sample.app = app::lock(&entry.app).tick(sample.at);
                    entry.info.cpu = f64::from(sample.cpu);
                    entry.info.memory = sample.memory;
                    entry.metrics.push(sample.clone());
                    if let Some(limit) = entry.spec.max_memory_restart
                        && sample.memory > limit
                        && restarting.insert(entry.info.id)
                    {
                        over.push((entry.info.id, pid, sample.memory, limit));
                    }
                }
                Some(_) => {}
                None if !entry.info.status.is_running() => {
                    entry.info.cpu = 0.0;
                    entry.info.memory = 0;
                    entry.metrics.clear_current();
                    app::lock(&entry.app).end_run();
                }
                None => {}
            }
        }
        over
    }

    /// Keeps the host sample and hands a tick to metrics subscribers, if there are any.
    pub fn publish_tick(&self, host: HostSample, samples: Vec<(ProcessSample, u32)>) {
        *self
            .metrics
            .host
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(host.clone());
        if self.metrics.ticks.receiver_count() > 0 {
            let samples = samples.into_iter().map(|(s, _)| s).collect();
            let _ = self
                .metrics
                .ticks
                .send(Arc::new(MetricsTick { host, samples }));
        }
    }
}

/// A process's kept metrics on the wire: CPU and memory, and its app's own series and
/// drops.
pub(crate) fn metrics_history(e: &super::Entry, interval_ms: u64) -> MetricsHistory {
    let running = e.info.status.is_running();
    let mut wire = e.metrics.to_wire(interval_ms, running);
    (wire.app, wire.app_drops) = app::lock(&e.app).to_wire(running);
    wire
}

/// What `Supervisor::metrics` found.
pub struct MetricsSnapshot {
    pub interval_ms: u64,
    pub host: Option<HostSample>,
    pub processes: Vec<ProcessMetrics>,
}

/// A metrics snapshot (with history) and the ticks after it; `ids` is `None` for every
/// process, including later ones.
pub struct MetricsSubscription {
    pub snapshot: MetricsSnapshot,
    pub rx: broadcast::Receiver<Arc<MetricsTick>>,
    pub ids: Option<Vec<ProcessId>>,
}

impl Supervisor {
    /// The latest samples of the targets (every process when empty) and, with `history`,
    /// their rings.
    pub fn metrics(
        &self,
        targets: &[String],
        history: bool,
    ) -> Result<MetricsSnapshot, SupervisorError> {
        let ids = if targets.is_empty() {
            None
        } else {
            Some(self.resolve(targets)?)
        };
        let interval_ms = self.shared.metrics.interval_ms;
        let table = self.shared.lock();
        let processes = table
            .entries
            .values()
            .filter(|e| ids.as_ref().is_none_or(|ids| ids.contains(&e.info.id)))
            .map(|e| ProcessMetrics {
                id: e.info.id,
                name: e.info.name.clone(),
                namespace: e.info.namespace.clone(),
                status: e.info.status,
                restarts: e.info.restarts,
                current: e
                    .metrics
                    .current()
                    .filter(|_| e.info.status.is_running())
                    .cloned(),
                history: history.then(|| metrics_history(e, interval_ms)),
                health: e.info.health,
                readiness: e.info.readiness,
            })
            .collect();
        Ok(MetricsSnapshot {
            interval_ms,
            host: self.shared.metrics.host(),
            processes,
        })
    }

    /// A snapshot with history, and the stream of later ticks, joined without a gap.
    pub fn subscribe_metrics(
        &self,
        targets: &[String],
    ) -> Result<MetricsSubscription, SupervisorError> {
        let ids = if targets.is_empty() {
            None
        } else {
            Some(self.resolve(targets)?)
        };
        // Subscribed before the snapshot: a tick in between is seen twice at worst (the
        // client can drop samples whose `at` it already has), never missed.
        let rx = self.shared.metrics.ticks.subscribe();
        let snapshot = self.metrics(targets, true)?;
        Ok(MetricsSubscription { snapshot, rx, ids })
    }
}
