//! The `Supervisor` handle: the process table, the event stream, and the verbs the daemon
//! calls (start, stop, restart, delete, …). The table sits behind a mutex that is never held
//! across an await; jobs publish their changes into it, and each change goes out as an
//! `Event` with the next sequence number while the lock is held, so a subscriber's snapshot
//! and its stream always join without a gap.

use crate::job::{self, JobCmd, JobHandle};
use crate::logs::{
    self, FileRegistry, LineFormat, LogPaths, LogQuery, LogSink, LogWriter, Rotation, SinkFiles,
};
use crate::metrics::{History, MetricsHub, MetricsTick};
use crate::reaper::ManagedPids;
use crate::record::{DesiredState, ProcessRecord};
use crate::{SupervisorConfig, SupervisorError, resolve_targets, spawn, tree};
use pmtui_proto::{
    Event, EventKind, ExitRecord, HostSample, LogLine, ProcessDetail, ProcessId, ProcessInfo,
    ProcessMetrics, ProcessSample, ProcessSpec, ProcessStatus,
};
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::{broadcast, oneshot};

/// Exit records kept per process (`describe --json` shows them all, `describe` the last 20).
pub const HISTORY_LEN: usize = 100;

/// One row of the table: what is known about a process, and how to reach its job.
pub(crate) struct Entry {
    pub info: ProcessInfo,
    pub spec: ProcessSpec,
    pub env: BTreeMap<String, String>,
    pub desired: DesiredState,
    pub history: VecDeque<ExitRecord>,
    pub pid_start_time: Option<u64>,
    pub sink: Arc<LogSink>,
    pub paths: LogPaths,
    /// Latest resource sample and the ring of past ones.
    pub metrics: History,
    job: JobHandle,
}

#[derive(Default)]
struct Table {
    seq: u64,
    next_id: ProcessId,
    entries: BTreeMap<ProcessId, Entry>,
}

pub(crate) struct Shared {
    pub config: SupervisorConfig,
    pub managed: ManagedPids,
    pub metrics: MetricsHub,
    table: Mutex<Table>,
    events: broadcast::Sender<Event>,
    logs: broadcast::Sender<LogLine>,
    pub files: FileRegistry,
    pub writer: LogWriter,
}

/// A running process the sampler measures.
pub(crate) struct Target {
    pub id: ProcessId,
    pub pid: u32,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Table> {
        self.table
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Applies `change` to the entry of `id` and publishes its new row.
    pub fn update(&self, id: ProcessId, change: impl FnOnce(&mut Entry)) {
        let mut table = self.lock();
        let Some(entry) = table.entries.get_mut(&id) else {
            return;
        };
        change(entry);
        let process = entry.info.clone();
        publish(&mut table, &self.events, EventKind::Process { process });
    }

    /// Reads something of the entry of `id`.
    pub fn read<T>(&self, id: ProcessId, get: impl FnOnce(&Entry) -> T) -> Option<T> {
        self.lock().entries.get(&id).map(get)
    }

    /// Records an exit in the history and publishes it.
    pub fn record_exit(&self, id: ProcessId, record: ExitRecord) {
        let mut table = self.lock();
        let Some(entry) = table.entries.get_mut(&id) else {
            return;
        };
        entry.history.push_back(record.clone());
        while entry.history.len() > HISTORY_LEN {
            entry.history.pop_front();
        }
        publish(&mut table, &self.events, EventKind::Exit { id, record });
    }

    /// The running processes, for the sampler.
    pub fn metric_targets(&self) -> Vec<Target> {
        self.lock()
            .entries
            .values()
            .filter(|e| e.info.status.is_running())
            .filter_map(|e| {
                Some(Target {
                    id: e.info.id,
                    pid: e.info.pid?,
                })
            })
            .collect()
    }

    /// Stores a tick's samples in the rows (no event: a sample is not a change of state) and
    /// returns the processes over their memory limit that are not already restarting for it,
    /// marking them in `restarting`.
    pub fn apply_samples(
        &self,
        samples: &[ProcessSample],
        targets: &[Target],
        restarting: &Mutex<HashSet<ProcessId>>,
    ) -> Vec<(ProcessId, u32, u64, u64)> {
        let pids: HashMap<ProcessId, u32> = targets.iter().map(|t| (t.id, t.pid)).collect();
        let by_id: HashMap<ProcessId, (&ProcessSample, u32)> = samples
            .iter()
            .filter_map(|s| Some((s.id, (s, *pids.get(&s.id)?))))
            .collect();
        let mut over = Vec::new();
        let mut table = self.lock();
        let mut restarting = restarting
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for entry in table.entries.values_mut() {
            match by_id.get(&entry.info.id) {
                // Only if it still is the process that was measured.
                Some((sample, pid)) if entry.info.pid == Some(*pid) => {
                    entry.info.cpu = f64::from(sample.cpu);
                    entry.info.memory = sample.memory;
                    entry.metrics.push((*sample).clone());
                    if let Some(limit) = entry.spec.max_memory_restart
                        && sample.memory > limit
                        && restarting.insert(entry.info.id)
                    {
                        over.push((entry.info.id, *pid, sample.memory, limit));
                    }
                }
                Some(_) => {}
                None if !entry.info.status.is_running() => {
                    entry.info.cpu = 0.0;
                    entry.info.memory = 0;
                    entry.metrics.clear_current();
                }
                None => {}
            }
        }
        over
    }

    /// Hands a tick to metrics subscribers, if there are any.
    pub fn publish_tick(&self, tick: MetricsTick) {
        *self
            .metrics
            .host
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(tick.host.clone());
        if self.metrics.ticks.receiver_count() > 0 {
            let _ = self.metrics.ticks.send(Arc::new(tick));
        }
    }
}

fn publish(table: &mut Table, events: &broadcast::Sender<Event>, kind: EventKind) {
    table.seq += 1;
    let _ = events.send(Event {
        seq: table.seq,
        kind,
    });
}

/// Recent log lines and the live stream after them. Live lines of a process whose `seq` is
/// not above `after[id]` were already in `lines`; `ids` is `None` for every process.
pub struct LogSnapshot {
    pub lines: Vec<LogLine>,
    pub rx: broadcast::Receiver<LogLine>,
    pub after: HashMap<ProcessId, u64>,
    pub ids: Option<Vec<ProcessId>>,
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

/// What `start` did.
#[derive(Debug, Default)]
pub struct StartOutcome {
    pub started: Vec<ProcessInfo>,
    pub restarted: Vec<ProcessInfo>,
}

/// What `apply` did.
#[derive(Debug, Default)]
pub struct ApplyOutcome {
    pub started: Vec<ProcessInfo>,
    pub restarted: Vec<ProcessInfo>,
    pub unchanged: Vec<ProcessInfo>,
}

/// A cheap, clonable handle on the engine.
#[derive(Clone)]
pub struct Supervisor {
    shared: Arc<Shared>,
}

impl Supervisor {
    /// Creates the engine; must be called inside a tokio runtime (it starts the reaper).
    pub fn new(config: SupervisorConfig) -> Self {
        let managed = ManagedPids::default();
        if crate::reaper::become_subreaper() {
            tokio::spawn(crate::reaper::run(managed.clone()));
        } else {
            tracing::warn!("not a child subreaper: orphaned descendants go to init");
        }
        let (events, _) = broadcast::channel(4096);
        // Small on purpose: a follower that falls behind catches up from the rings (bounded in
        // bytes), so the broadcast never holds more than this many lines for a slow reader.
        let (logs, _) = broadcast::channel(1024);
        let metrics = MetricsHub::new(config.metrics_interval_ms, config.metrics_history_ms);
        let shared = Arc::new(Shared {
            config,
            managed,
            metrics,
            table: Mutex::default(),
            events,
            logs,
            files: FileRegistry::default(),
            writer: LogWriter::start(),
        });
        crate::metrics::sampler::start(&shared);
        Self { shared }
    }

    pub(crate) fn from_shared(shared: Arc<Shared>) -> Self {
        Self { shared }
    }

    pub fn config(&self) -> &SupervisorConfig {
        &self.shared.config
    }

    fn resolve(&self, targets: &[String]) -> Result<Vec<ProcessId>, SupervisorError> {
        let table = self.shared.lock();
        let entries = table
            .entries
            .values()
            .map(|e| (e.info.id, e.info.name.as_str(), e.info.namespace.as_str()));
        let ids = resolve_targets(entries, targets)?;
        if ids.is_empty() {
            return Err(SupervisorError::UnknownProcess(targets.join(" ")));
        }
        Ok(ids)
    }

    fn infos(&self, ids: &[ProcessId]) -> Vec<ProcessInfo> {
        let table = self.shared.lock();
        ids.iter()
            .filter_map(|id| table.entries.get(id).map(|e| with_uptime(&e.info)))
            .collect()
    }

    /// Every process, as `ls` shows them.
    pub fn list(&self) -> Vec<ProcessInfo> {
        self.shared
            .lock()
            .entries
            .values()
            .map(|e| with_uptime(&e.info))
            .collect()
    }

    /// Starts `spec` as new processes, or restarts the processes of that name (pm2's smart
    /// start): with a changed definition they are replaced by it as `apply` does (the stored
    /// environment kept unless `update_env`); another script under the name is refused.
    pub async fn start(
        &self,
        mut spec: ProcessSpec,
        force: bool,
        update_env: bool,
    ) -> Result<StartOutcome, SupervisorError> {
        validate(&spec)?;
        let (existing, stored): (Vec<ProcessId>, Option<ProcessSpec>) = {
            let table = self.shared.lock();
            let mut found: Vec<&Entry> = table
                .entries
                .values()
                .filter(|e| e.info.name == spec.name)
                .collect();
            found.sort_by_key(|e| e.info.instance);
            (
                found.iter().map(|e| e.info.id).collect(),
                found.first().map(|e| e.spec.clone()),
            )
        };
        if let Some(stored) = stored.filter(|_| !force) {
            if stored.script != spec.script {
                return Err(SupervisorError::NameTaken(spec.name));
            }
            if !spec.same_definition(&stored) || spec.instances as usize != existing.len() {
                if !update_env {
                    let user_set = std::mem::take(&mut spec.env);
                    spec.env = stored.env.clone();
                    spec.env.extend(
                        user_set
                            .into_iter()
                            .filter(|(k, _)| spec.config_env.contains_key(k)),
                    );
                }
                let ids = self.replace(&existing, spec).await;
                return Ok(StartOutcome {
                    started: Vec::new(),
                    restarted: self.infos(&ids),
                });
            }
            let env = update_env.then(|| spec.env.clone());
            let replies = self.send_each(&existing, |reply| JobCmd::Restart {
                reason: "manual",
                env: env.clone(),
                reply,
            })?;
            join(replies).await;
            return Ok(StartOutcome {
                started: Vec::new(),
                restarted: self.infos(&existing),
            });
        }
        let count = spec.instances.max(1);
        let mut ready = Vec::new();
        let mut ids = Vec::new();
        for _ in 0..count {
            let (id, rx) = self.add(spec.clone(), None, DesiredState::Running, 0, None);
            ids.push(id);
            ready.extend(rx);
        }
        join(ready).await;
        Ok(StartOutcome {
            started: self.infos(&ids),
            restarted: Vec::new(),
        })
    }

    /// Applies a set of definitions (an ecosystem file): missing names are added (started
    /// unless `autostart` is off), names whose definition changed are restarted with the new
    /// one (same ids, scaled to the new instance count), unchanged ones are left alone
    /// (started again if they are not running), or restarted when `restart_all`. Every spec
    /// is validated before anything is done.
    pub async fn apply(
        &self,
        specs: Vec<ProcessSpec>,
        restart_all: bool,
    ) -> Result<ApplyOutcome, SupervisorError> {
        for spec in &specs {
            validate(spec)?;
        }
        let mut outcome = ApplyOutcome::default();
        for spec in specs {
            let existing: Vec<(ProcessId, bool, bool)> = {
                let table = self.shared.lock();
                let mut found: Vec<_> = table
                    .entries
                    .values()
                    .filter(|e| e.info.name == spec.name)
                    .map(|e| {
                        (
                            e.info.instance,
                            e.info.id,
                            e.spec.same_definition(&spec),
                            e.info.status.is_running()
                                || e.info.status == ProcessStatus::WaitingRestart,
                        )
                    })
                    .collect();
                found.sort_unstable();
                found.into_iter().map(|(_, id, s, r)| (id, s, r)).collect()
            };
            let desired = if spec.autostart {
                DesiredState::Running
            } else {
                DesiredState::Stopped
            };
            if existing.is_empty() {
                let mut ids = Vec::new();
                let mut ready = Vec::new();
                for _ in 0..spec.instances.max(1) {
                    let (id, rx) = self.add(spec.clone(), None, desired, 0, None);
                    ids.push(id);
                    ready.extend(rx);
                }
                join(ready).await;
                outcome.started.extend(self.infos(&ids));
                continue;
            }
            let ids: Vec<ProcessId> = existing.iter().map(|(id, _, _)| *id).collect();
            let same = existing.len() == spec.instances.max(1) as usize
                && existing.iter().all(|(_, same, _)| *same);
            if !same {
                let ids = self.replace(&ids, spec).await;
                outcome.restarted.extend(self.infos(&ids));
            } else if restart_all {
                outcome.restarted.extend(self.restart_ids(&ids).await);
            } else {
                let idle: Vec<ProcessId> = existing
                    .iter()
                    .filter(|(_, _, running)| !running && spec.autostart)
                    .map(|(id, _, _)| *id)
                    .collect();
                if !idle.is_empty() {
                    self.set_desired(&idle, DesiredState::Running);
                    join(self.send_each(&idle, |reply| JobCmd::Start { reply })?).await;
                    outcome.started.extend(self.infos(&idle));
                }
                let rest: Vec<ProcessId> =
                    ids.into_iter().filter(|id| !idle.contains(id)).collect();
                outcome.unchanged.extend(self.infos(&rest));
            }
        }
        Ok(outcome)
    }

    async fn restart_ids(&self, ids: &[ProcessId]) -> Vec<ProcessInfo> {
        self.set_desired(ids, DesiredState::Running);
        if let Ok(replies) = self.send_each(ids, |reply| JobCmd::Restart {
            reason: "restart",
            env: None,
            reply,
        }) {
            join(replies).await;
        }
        self.infos(ids)
    }

    /// Replaces the processes `ids` (in instance order) by `spec`: each is stopped, its job
    /// ended, and a fresh one started under the same id (restart count and history kept);
    /// extra instances are deleted, missing ones added. Returns the ids now of that name.
    async fn replace(&self, ids: &[ProcessId], spec: ProcessSpec) -> Vec<ProcessId> {
        let count = spec.instances.max(1) as usize;
        let (keep, extra) = ids.split_at(count.min(ids.len()));
        if !extra.is_empty() {
            let targets: Vec<String> = extra.iter().map(ToString::to_string).collect();
            let _ = self.delete(&targets).await;
        }
        if let Ok(replies) = self.send_each(keep, |reply| JobCmd::Stop { reply }) {
            join(replies).await;
        }
        let desired = if spec.autostart {
            DesiredState::Running
        } else {
            DesiredState::Stopped
        };
        let mut now = Vec::new();
        let mut ready = Vec::new();
        for id in keep {
            // End the old job before its id is reused, so nothing it does lands on the new entry.
            let job = self.shared.lock().entries.get(id).map(|e| e.job.clone());
            if let Some(job) = job {
                let _ = job.send(JobCmd::Exit);
                job.closed().await;
            }
            let old = self.shared.lock().entries.remove(id);
            let (restarts, created, history) = old.map_or((0, None, VecDeque::new()), |e| {
                (e.info.restarts + 1, Some(e.info.created_at), e.history)
            });
            let (id, rx) = self.add(spec.clone(), Some(*id), desired, restarts, created);
            if let Some(entry) = self.shared.lock().entries.get_mut(&id) {
                entry.history = history;
            }
            now.push(id);
            ready.extend(rx);
        }
        for _ in keep.len()..count {
            let (id, rx) = self.add(spec.clone(), None, desired, 0, None);
            now.push(id);
            ready.extend(rx);
        }
        join(ready).await;
        now
    }

    /// Adds one process to the table and starts its job. With `desired == Running` the job
    /// launches it and the returned receiver fires once the first launch was attempted.
    fn add(
        &self,
        spec: ProcessSpec,
        fixed_id: Option<ProcessId>,
        desired: DesiredState,
        restarts: u32,
        created_at: Option<u64>,
    ) -> (ProcessId, Option<oneshot::Receiver<()>>) {
        let mut table = self.shared.lock();
        let id = fixed_id.unwrap_or(table.next_id);
        table.next_id = table.next_id.max(id + 1);
        let instance = (0..)
            .find(|i| {
                !table
                    .entries
                    .values()
                    .any(|e| e.info.name == spec.name && e.info.instance == *i)
            })
            .unwrap_or(0);
        let several =
            spec.instances > 1 || table.entries.values().any(|e| e.info.name == spec.name);
        let paths = log_paths(
            &self.shared.config,
            &spec,
            id,
            several && !spec.logs.merge_logs,
        );
        let sink = self.sink_for(&spec, id, &paths);
        let env = spawn::child_env(&spec, id, instance, &self.shared.config);
        let info = ProcessInfo {
            id,
            name: spec.name.clone(),
            namespace: spec.namespace.clone(),
            instance,
            status: ProcessStatus::Stopped,
            pid: None,
            restarts,
            unstable_restarts: 0,
            uptime_ms: 0,
            cpu: 0.0,
            memory: 0,
            exit_code: None,
            exit_signal: None,
            created_at: created_at.unwrap_or_else(pmtui_proto::now_ms),
            started_at: None,
            next_restart_at: None,
            status_reason: None,
            command: spec.command_line(),
        };
        let (job, rx) = job::spawn_job(
            Arc::clone(&self.shared),
            id,
            spec.clone(),
            env.clone(),
            Arc::clone(&sink),
        );
        let ready = if desired == DesiredState::Running {
            let (tx, ready_rx) = oneshot::channel();
            let _ = job.send(JobCmd::Start { reply: tx });
            Some(ready_rx)
        } else {
            None
        };
        let entry = Entry {
            info: info.clone(),
            spec,
            env,
            desired,
            history: VecDeque::new(),
            pid_start_time: None,
            sink,
            paths,
            metrics: History::new(self.shared.metrics.capacity),
            job,
        };
        table.entries.insert(id, entry);
        publish(
            &mut table,
            &self.shared.events,
            EventKind::Process { process: info },
        );
        drop(table);
        tokio::spawn(rx);
        (id, ready)
    }

    fn send_each(
        &self,
        ids: &[ProcessId],
        make: impl Fn(oneshot::Sender<()>) -> JobCmd,
    ) -> Result<Vec<oneshot::Receiver<()>>, SupervisorError> {
        let table = self.shared.lock();
        Ok(ids
            .iter()
            .filter_map(|id| table.entries.get(id))
            .map(|entry| {
                let (tx, rx) = oneshot::channel();
                let _ = entry.job.send(make(tx));
                rx
            })
            .collect())
    }

    pub async fn stop(&self, targets: &[String]) -> Result<Vec<ProcessInfo>, SupervisorError> {
        let ids = self.resolve(targets)?;
        self.set_desired(&ids, DesiredState::Stopped);
        join(self.send_each(&ids, |reply| JobCmd::Stop { reply })?).await;
        Ok(self.infos(&ids))
    }

    pub async fn restart(
        &self,
        targets: &[String],
        env: Option<BTreeMap<String, String>>,
    ) -> Result<Vec<ProcessInfo>, SupervisorError> {
        let ids = self.resolve(targets)?;
        self.set_desired(&ids, DesiredState::Running);
        join(self.send_each(&ids, |reply| JobCmd::Restart {
            reason: "manual",
            env: env.clone(),
            reply,
        })?)
        .await;
        Ok(self.infos(&ids))
    }

    /// Restarts one process for a reason of the engine's own (`memory limit`, `watch`,
    /// `cron`), recorded in its history. Only a running process is restarted: one that is
    /// stopped, errored or waiting for a backoff restart is left as it is (a sample that
    /// races a `pmtui stop` must not start it again). Unlike a manual restart, it keeps the
    /// crash-loop count and backoff.
    pub async fn restart_for(
        &self,
        id: ProcessId,
        reason: &'static str,
    ) -> Result<(), SupervisorError> {
        let replies = self.send_each(&[id], |reply| JobCmd::Restart {
            env: None,
            reason,
            reply,
        })?;
        join(replies).await;
        Ok(())
    }

    pub async fn delete(&self, targets: &[String]) -> Result<Vec<ProcessInfo>, SupervisorError> {
        let ids = self.resolve(targets)?;
        self.set_desired(&ids, DesiredState::Stopped);
        join(self.send_each(&ids, |reply| JobCmd::Stop { reply })?).await;
        let removed = self.infos(&ids);
        let mut table = self.shared.lock();
        for id in &ids {
            if let Some(entry) = table.entries.remove(id) {
                let _ = entry.job.send(JobCmd::Exit);
                publish(
                    &mut table,
                    &self.shared.events,
                    EventKind::Removed { id: *id },
                );
            }
        }
        if table.entries.is_empty() {
            table.next_id = 0;
        }
        Ok(removed)
    }

    pub async fn reset(&self, targets: &[String]) -> Result<Vec<ProcessInfo>, SupervisorError> {
        let ids = self.resolve(targets)?;
        join(self.send_each(&ids, |reply| JobCmd::Reset { reply })?).await;
        Ok(self.infos(&ids))
    }

    pub async fn signal(
        &self,
        signal: &str,
        targets: &[String],
    ) -> Result<Vec<ProcessInfo>, SupervisorError> {
        let sig = tree::parse_signal(signal)
            .ok_or_else(|| SupervisorError::BadRequest(format!("unknown signal {signal}")))?;
        let ids = self.resolve(targets)?;
        let infos = self.infos(&ids);
        let running: Vec<_> = infos.iter().filter_map(|i| i.pid).collect();
        if running.is_empty() {
            return Err(SupervisorError::BadRequest(format!(
                "{} is not running; nothing to signal",
                targets.join(" ")
            )));
        }
        for pid in running {
            tree::signal_pid(pid, sig);
        }
        Ok(infos)
    }

    pub fn describe(&self, targets: &[String]) -> Result<Vec<ProcessDetail>, SupervisorError> {
        let ids = self.resolve(targets)?;
        let table = self.shared.lock();
        Ok(ids
            .iter()
            .filter_map(|id| table.entries.get(id))
            .map(|e| ProcessDetail {
                info: with_uptime(&e.info),
                spec: e.spec.clone(),
                env: e.env.clone(),
                out_log: e.paths.out.as_ref().map(|p| p.display().to_string()),
                err_log: e.paths.err.as_ref().map(|p| p.display().to_string()),
                history: e.history.iter().cloned().collect(),
                metrics: e.metrics.to_wire(self.shared.metrics.interval_ms),
            })
            .collect())
    }

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
                current: e.metrics.current().cloned(),
                history: history.then(|| e.metrics.to_wire(interval_ms)),
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

    /// The current rows and the stream of every later change, joined without a gap.
    pub fn subscribe(&self) -> (u64, Vec<ProcessInfo>, broadcast::Receiver<Event>) {
        let table = self.shared.lock();
        let rx = self.shared.events.subscribe();
        let rows = table
            .entries
            .values()
            .map(|e| with_uptime(&e.info))
            .collect();
        (table.seq, rows, rx)
    }

    /// The sink of a new process: its files (shared with processes writing the same paths),
    /// its line format and its rotation (the spec's, else the daemon's defaults).
    fn sink_for(&self, spec: &ProcessSpec, id: ProcessId, paths: &LogPaths) -> Arc<LogSink> {
        let config = &self.shared.config;
        let rotation = Rotation {
            max_size: spec.logs.max_size.unwrap_or(config.log_max_size),
            max_files: spec.logs.max_files.unwrap_or(config.log_max_files),
            compress: spec.logs.compress.unwrap_or(config.log_compress),
        };
        let open = |p: &Option<std::path::PathBuf>| {
            p.as_deref()
                .and_then(|p| self.shared.files.get(p, rotation))
        };
        let files = SinkFiles {
            out: open(&paths.out),
            err: open(&paths.err),
            combined: open(&paths.combined),
        };
        let format = LineFormat::new(
            spec.logs.format,
            spec.logs.date_format.as_deref(),
            &spec.name,
            id,
        );
        LogSink::new(
            id,
            spec.name.clone(),
            files,
            format,
            config.log_ring_bytes,
            self.shared.logs.clone(),
        )
    }

    /// The last lines of the targets (all when empty), from memory or from the files, and,
    /// subscribed at the same instant, the stream of later lines.
    pub async fn logs(
        &self,
        targets: &[String],
        query: LogQuery,
    ) -> Result<LogSnapshot, SupervisorError> {
        let ids = if targets.is_empty() {
            None
        } else {
            Some(self.resolve(targets)?)
        };
        let sinks: Vec<Arc<LogSink>> = {
            let table = self.shared.lock();
            table
                .entries
                .values()
                .filter(|e| ids.as_ref().is_none_or(|ids| ids.contains(&e.info.id)))
                .map(|e| Arc::clone(&e.sink))
                .collect()
        };
        let (views, rx) = logs::snapshot(&sinks, &query, || self.shared.logs.subscribe());
        let after: HashMap<ProcessId, u64> = views.iter().map(|v| (v.id, v.last_seq)).collect();
        let lines = if query.lines == 0 {
            Vec::new()
        } else {
            tokio::task::spawn_blocking(move || logs::history::history(&views, &query))
                .await
                .unwrap_or_default()
        };
        Ok(LogSnapshot {
            lines,
            rx,
            after,
            ids,
        })
    }

    /// Lines in memory after `seq` of process `id` (for a follower that fell behind).
    pub fn log_lines_since(&self, id: ProcessId, seq: u64) -> Vec<LogLine> {
        let sink = self
            .shared
            .lock()
            .entries
            .get(&id)
            .map(|e| Arc::clone(&e.sink));
        sink.map(|s| s.since(seq)).unwrap_or_default()
    }

    /// Empties the log files of the targets (all when empty).
    pub fn flush(&self, targets: &[String]) -> Result<usize, SupervisorError> {
        let ids = if targets.is_empty() {
            self.resolve(&["all".to_string()]).unwrap_or_default()
        } else {
            self.resolve(targets)?
        };
        let table = self.shared.lock();
        for id in &ids {
            if let Some(e) = table.entries.get(id) {
                e.sink.flush();
            }
        }
        Ok(ids.len())
    }

    /// Reopens every log file.
    pub fn reload_logs(&self) -> usize {
        let table = self.shared.lock();
        for e in table.entries.values() {
            e.sink.reopen();
        }
        table.entries.len()
    }

    fn set_desired(&self, ids: &[ProcessId], desired: DesiredState) {
        let mut table = self.shared.lock();
        for id in ids {
            if let Some(e) = table.entries.get_mut(id) {
                e.desired = desired;
            }
        }
    }

    /// What must be persisted about every process.
    pub fn records(&self) -> Vec<ProcessRecord> {
        self.shared.lock().entries.values().map(record_of).collect()
    }

    /// What must be persisted about the processes named `name`.
    pub fn records_named(&self, name: &str) -> Vec<ProcessRecord> {
        self.shared
            .lock()
            .entries
            .values()
            .filter(|e| e.info.name == name)
            .map(record_of)
            .collect()
    }

    /// The main pid of process `id` while it runs.
    pub fn running_pid(&self, id: ProcessId) -> Option<u32> {
        let table = self.shared.lock();
        let e = table.entries.get(&id)?;
        e.info.status.is_running().then_some(e.info.pid).flatten()
    }

    /// The name of process `id`, if it exists.
    pub fn name_of(&self, id: ProcessId) -> Option<String> {
        self.shared
            .lock()
            .entries
            .get(&id)
            .map(|e| e.info.name.clone())
    }

    /// Re-creates processes from records (a restarted daemon, `resurrect`). With
    /// `keep_ids` the recorded ids are reused. Returns what was added.
    pub async fn restore(&self, records: Vec<ProcessRecord>, keep_ids: bool) -> Vec<ProcessInfo> {
        let mut ids = Vec::new();
        let mut ready = Vec::new();
        for record in records {
            let id = keep_ids.then_some(record.id);
            let (id, rx) = self.add(
                record.spec,
                id,
                record.desired,
                record.restarts,
                Some(record.created_at),
            );
            ids.push(id);
            ready.extend(rx);
        }
        join(ready).await;
        self.infos(&ids)
    }

    /// Stops every process for a daemon shutdown, keeping what should run on record.
    pub async fn shutdown(&self) {
        let ids: Vec<ProcessId> = self.shared.lock().entries.keys().copied().collect();
        if let Ok(replies) = self.send_each(&ids, |reply| JobCmd::Stop { reply }) {
            join(replies).await;
        }
        self.drain_logs().await;
    }

    /// Waits until what the children wrote is in the files (bounded: a grandchild that
    /// keeps a pipe open, or a file that blocks, holds the daemon up a few seconds at most).
    pub async fn drain_logs(&self) {
        self.shared
            .writer
            .drain(std::time::Duration::from_secs(2))
            .await;
    }

    /// Ends what an earlier daemon of this state directory left running: the recorded pids
    /// (only when their start time matches, never by name) and anything carrying a marker
    /// of this state directory. Returns how many processes were signalled.
    pub async fn end_leftovers(&self, records: &[ProcessRecord]) -> usize {
        let table = tree::scan();
        let mut pids: Vec<u32> = Vec::new();
        for r in records {
            if let (Some(pid), Some(start)) = (r.pid, r.pid_start_time)
                && table.iter().any(|e| e.pid == pid && e.start_time == start)
            {
                pids.push(pid);
                pids.extend(tree::descendants(&table, &[pid]));
            }
        }
        let prefix = format!("{}-", self.shared.config.home_key());
        let me = std::process::id();
        pids.extend(
            tree::find_marked(&table, &prefix)
                .into_iter()
                .map(|(pid, _)| pid)
                .filter(|p| *p != me),
        );
        pids.sort_unstable();
        pids.dedup();
        if pids.is_empty() {
            return 0;
        }
        tracing::info!(
            count = pids.len(),
            "ending processes left by an earlier daemon"
        );
        for pid in &pids {
            tree::signal_pid(*pid, nix::sys::signal::Signal::SIGTERM);
        }
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_millis(1600);
        while tokio::time::Instant::now() < deadline && !pids.iter().all(|p| tree::is_dead(*p)) {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        for pid in &pids {
            if !tree::is_dead(*pid) {
                tree::signal_pid(*pid, nix::sys::signal::Signal::SIGKILL);
            }
        }
        pids.len()
    }
}

fn record_of(e: &Entry) -> ProcessRecord {
    ProcessRecord {
        id: e.info.id,
        instance: e.info.instance,
        spec: e.spec.clone(),
        desired: e.desired,
        restarts: e.info.restarts,
        created_at: e.info.created_at,
        pid: e.info.pid,
        pid_start_time: e.pid_start_time,
    }
}

fn with_uptime(info: &ProcessInfo) -> ProcessInfo {
    let mut info = info.clone();
    info.uptime_ms = match (info.status.is_running(), info.started_at) {
        (true, Some(started)) => pmtui_proto::now_ms().saturating_sub(started),
        _ => 0,
    };
    info
}

fn validate(spec: &ProcessSpec) -> Result<(), SupervisorError> {
    if spec.name.trim().is_empty() {
        return Err(SupervisorError::BadRequest("a process needs a name".into()));
    }
    // Names that targets would read as something else could never be acted on by name.
    let name = spec.name.as_str();
    let taken_as = if name == "all" {
        Some("every process")
    } else if name.parse::<u32>().is_ok() {
        Some("an id")
    } else if name.len() > 1 && name.starts_with('/') && name.ends_with('/') {
        Some("a regular expression")
    } else {
        None
    };
    if let Some(what) = taken_as {
        return Err(SupervisorError::BadRequest(format!(
            "{name:?} cannot be a process name: targets read it as {what}; choose another name"
        )));
    }
    let ns = spec.namespace.as_str();
    if ns == "all" || ns.parse::<u32>().is_ok() {
        return Err(SupervisorError::BadRequest(format!(
            "{ns:?} cannot be a namespace: targets read it as {}; choose another namespace",
            if ns == "all" {
                "every process"
            } else {
                "an id"
            }
        )));
    }
    if spec.script.trim().is_empty() {
        return Err(SupervisorError::BadRequest(format!(
            "{} has no script to run",
            spec.name
        )));
    }
    if let Some(format) = &spec.logs.date_format {
        logs::check_date_format(format)
            .map_err(|err| SupervisorError::BadRequest(format!("{}: {err}", spec.name)))?;
    }
    if let Some(pattern) = spec
        .cron_restart
        .as_deref()
        .filter(|p| !p.trim().is_empty())
    {
        crate::cron::CronSchedule::parse(pattern).map_err(|err| {
            SupervisorError::BadRequest(format!("{}: cron_restart: {err}", spec.name))
        })?;
    }
    let backoff = &spec.restart.backoff;
    if !backoff.factor.is_finite() || backoff.factor < 1.0 {
        return Err(SupervisorError::BadRequest(format!(
            "{}: restart backoff factor must be a number of at least 1, not {}",
            spec.name, backoff.factor
        )));
    }
    if tree::parse_signal(&spec.stop_signal).is_none() {
        return Err(SupervisorError::BadRequest(format!(
            "unknown stop signal {}",
            spec.stop_signal
        )));
    }
    Ok(())
}

/// Log file paths: the spec's own, or `logs/<name>[-<id>]-{out,err}.log`.
fn log_paths(
    config: &SupervisorConfig,
    spec: &ProcessSpec,
    id: ProcessId,
    per_instance: bool,
) -> LogPaths {
    let name = sanitize(&spec.name);
    let suffix = if per_instance {
        format!("-{id}")
    } else {
        String::new()
    };
    let default = |kind: &str| config.logs_dir().join(format!("{name}{suffix}-{kind}.log"));
    let custom = |p: &std::path::PathBuf| {
        if per_instance && p != std::path::Path::new("/dev/null") {
            let stem = p
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let ext = p
                .extension()
                .map(|e| format!(".{}", e.to_string_lossy()))
                .unwrap_or_default();
            p.with_file_name(format!("{stem}{suffix}{ext}"))
        } else {
            p.clone()
        }
    };
    LogPaths {
        out: Some(
            spec.logs
                .out_file
                .as_ref()
                .map_or_else(|| default("out"), custom),
        ),
        err: Some(
            spec.logs
                .error_file
                .as_ref()
                .map_or_else(|| default("err"), custom),
        ),
        combined: spec.logs.log_file.as_ref().map(custom),
    }
}

/// Names as they may appear in file names.
pub(crate) fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

async fn join(receivers: Vec<oneshot::Receiver<()>>) {
    for rx in receivers {
        let _ = rx.await;
    }
}
