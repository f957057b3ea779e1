//! The `Supervisor` handle: the process table, the event stream, and the verbs the daemon
//! calls (start, stop, restart, delete, …). The table sits behind a mutex that is never held
//! across an await; jobs publish their changes into it, and each change goes out as an
//! `Event` with the next sequence number while the lock is held, so a subscriber's snapshot
//! and its stream always join without a gap.

mod add;
mod apply;
mod leftovers;
mod listen;
mod log_access;
mod log_paths;
mod order;
mod readiness;
mod records;
mod reload;
mod sampling;
mod scale;
mod validate;
mod verbs;

pub use apply::{ApplyOutcome, StartOutcome};
pub use log_access::LogSnapshot;
pub use reload::ReloadOptions;
pub use sampling::{MetricsSnapshot, MetricsSubscription};
pub use scale::ScaleOutcome;

use crate::contain::Containment;
use crate::fanout::Fanout;
use crate::job::{JobCmd, JobHandle};
use crate::logs::{FileRegistry, LogPaths, LogSink, Pumps};
use crate::metrics::{History, MetricsHub};
use crate::probe::{AppMessage, RunReady};
use crate::purge::PurgeAt;
use crate::reaper::ManagedPids;
use crate::record::DesiredState;
use crate::sockets::SocketTable;
use crate::spawn::{ChildEnv, EnvPool};
use crate::{SupervisorConfig, SupervisorError, resolve_targets};
use pmtui_proto::{
    Event, EventKind, ExitRecord, LogLine, ProcessId, ProcessInfo, ProcessSpec, ProcessStatus,
};
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use tokio::sync::{broadcast, oneshot};

/// Exit records kept per process (`describe --json` shows them all, `describe` the last 20).
pub const HISTORY_LEN: usize = 100;

/// One row of the table: what is known about a process, and how to reach its job.
pub(crate) struct Entry {
    pub info: ProcessInfo,
    /// Its definition, shared with its job (copied only when one of them changes it).
    pub spec: Arc<ProcessSpec>,
    /// What its child receives: the definition's environment and pmtui's variables.
    pub env: Arc<ChildEnv>,
    pub desired: DesiredState,
    pub history: VecDeque<ExitRecord>,
    pub pid_start_time: Option<u64>,
    pub sink: Arc<LogSink>,
    pub paths: LogPaths,
    /// Latest resource sample and the ring of past ones.
    pub metrics: History,
    /// The app's own metrics (Node runtime, `METRIC` pushes, scrapes), shared with the
    /// run's readers.
    pub app: crate::metrics::app::AppHandle,
    /// The latest run and its phase on the way to ready (see `probe`); waiters subscribe.
    pub ready: crate::small_watch::Sender<RunReady>,
    /// The last launch failed for want of file descriptors (`status_reason` says so):
    /// the command that asked for it fails instead of reporting a start.
    pub fd_shortage: bool,
    /// Its hooks that failed lately, newest last (shown by `describe`).
    pub hook_failures: VecDeque<String>,
    job: JobHandle,
}

#[derive(Default)]
struct Table {
    seq: u64,
    next_id: ProcessId,
    /// Boxed: a B-tree keeps its values in nodes of eleven, which appending leaves about
    /// half full; a row is near 1 KiB. Rows come and go only through [`Table::insert`] and
    /// [`Table::remove`], which keep `by_name` in step.
    entries: BTreeMap<ProcessId, Box<Entry>>,
    /// The ids of each name, lowest first. Adding an app looks its name up several times
    /// (its instances, a shared definition, its records), and a pass over every row each
    /// time made starting 1,000 apps from one file quadratic.
    by_name: HashMap<String, Vec<ProcessId>>,
}

impl Table {
    fn insert(&mut self, id: ProcessId, entry: Box<Entry>) {
        let ids = self.by_name.entry(entry.info.name.clone()).or_default();
        if let Err(at) = ids.binary_search(&id) {
            ids.insert(at, id);
        }
        if let Some(old) = self.entries.insert(id, entry) {
            self.unname(&old);
        }
    }

    fn remove(&mut self, id: &ProcessId) -> Option<Box<Entry>> {
        let old = self.entries.remove(id)?;
        self.unname(&old);
        Some(old)
    }

    fn unname(&mut self, old: &Entry) {
        let name = &old.info.name;
        // A row replaced under the same id and name keeps its place.
        if self
            .entries
            .get(&old.info.id)
            .is_some_and(|e| &e.info.name == name)
        {
            return;
        }
        if let Some(ids) = self.by_name.get_mut(name) {
            ids.retain(|id| *id != old.info.id);
            if ids.is_empty() {
                self.by_name.remove(name);
            }
        }
    }

    /// The rows named `name`, lowest id first.
    fn named<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a Entry> + 'a {
        self.by_name
            .get(name)
            .into_iter()
            .flatten()
            .filter_map(|id| self.entries.get(id).map(|e| &**e))
    }
}

pub(crate) struct Shared {
    pub config: SupervisorConfig,
    /// cgroups or process groups, decided when the daemon started.
    pub containment: Containment,
    pub managed: ManagedPids,
    pub metrics: MetricsHub,
    /// The environments held, so that equal ones share one map.
    pub envs: EnvPool,
    table: Mutex<Table>,
    events: Fanout<Event>,
    logs: Fanout<LogLine>,
    pub files: FileRegistry,
    /// The log pumps still reading, for the last lines before the daemon exits.
    pub pumps: Pumps,
    /// Every sink that may still have lines to write (deleted processes' too, while their
    /// last batches are queued), for the same purpose.
    sinks: Mutex<WeakList<LogSink>>,
    /// The listening sockets held for cluster mode, by app name.
    pub sockets: SocketTable,
    /// `$PMTUI_HOME/pids`, checked and held open (pid files are written through it without
    /// following links); `None` when it cannot be opened, and pid files are not written.
    pub pids: Option<pmtui_statedir::Dir>,
    /// What apps say over their IPC channel and sd_notify socket (see `probe`).
    pub app_messages: Fanout<AppMessage>,
    /// Failures of the engine itself that it recovered from (a job task or the sampler
    /// that panicked), newest last, for `ping`.
    incidents: Mutex<VecDeque<String>>,
    /// The daemon's one file watcher, shared by every process that watches.
    pub watch: crate::watch::WatchHub,
    /// The apps held until their dependencies are met (see `order`).
    held: order::Held,
    /// Where events go: the events stream and the hooks (see `hooks`).
    pub hooks: crate::hooks::Hub,
    /// The rows to write again (see [`Supervisor::changed`]).
    changes: Changes,
}

/// Incidents kept for `ping`.
const INCIDENTS_KEPT: usize = 20;

/// A running process the sampler measures.
pub(crate) struct Target {
    pub id: ProcessId,
    pub pid: u32,
    /// Whether it has a cgroup (cgroup mode): the exact list of its tree's members.
    pub cgroup: bool,
    /// Whether its tree has a `max_memory_restart` (then it is read at every tick).
    pub memory_limit: bool,
}

/// Weak references (the sinks), dead ones forgotten as `PurgeAt` says.
#[derive(Debug)]
struct WeakList<T> {
    items: Vec<Weak<T>>,
    purge_at: PurgeAt,
}

impl<T> Default for WeakList<T> {
    fn default() -> Self {
        Self {
            items: Vec::new(),
            purge_at: PurgeAt::default(),
        }
    }
}

impl<T> WeakList<T> {
    fn push(&mut self, item: &Arc<T>) {
        let items = &mut self.items;
        self.purge_at.check(items.len(), || {
            items.retain(|weak| weak.strong_count() > 0);
            items.len()
        });
        self.items.push(Arc::downgrade(item));
    }

    fn live(&self) -> Vec<Arc<T>> {
        self.items.iter().filter_map(Weak::upgrade).collect()
    }
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
        let before = crate::hooks::derive::Before::of(&entry.info);
        let kept = persisted(entry);
        change(entry);
        // A change the process file does not hold (a probe's result, readiness, a status
        // text) is not written again: the persister is not woken for it.
        let now = persisted(entry);
        let persist = now != kept;
        // What a crash's restart changes (the pid, the count) may wait a little; a new
        // definition or desired state (a task that completed, a stop) not.
        let urgent = now.definition != kept.definition;
        for event in crate::hooks::derive::from_change(&before, &entry.info, entry.history.back()) {
            self.emit(entry, event);
        }
        if !entry.info.status.is_running() {
            // What a stopped process uses is nothing, whenever the sampler next looks.
            entry.info.cpu = 0.0;
            entry.info.memory = 0;
        }
        if persist {
            self.changes.mark(id, urgent);
        }
        // The row is cloned only for someone listening.
        if self.events.receiver_count() == 0 {
            table.seq += 1;
            return;
        }
        let process = Box::new(entry.info.clone());
        self.publish_unmarked(&mut table, EventKind::Process { process });
    }

    /// The running processes named `name`, lowest id first.
    pub fn running_of_name(&self, name: &str) -> Vec<ProcessId> {
        self.lock()
            .named(name)
            .filter(|e| e.info.status.is_running())
            .map(|e| e.info.id)
            .collect()
    }

    /// Reads something of the entry of `id`.
    pub fn read<T>(&self, id: ProcessId, get: impl FnOnce(&Entry) -> T) -> Option<T> {
        self.lock().entries.get(&id).map(|e| get(e))
    }

    /// The main process `pid` was stopped by a signal (`true`) or continued: `online` ⇄
    /// `suspended`. Other statuses (a process being stopped, say) are left alone.
    pub fn set_suspended(&self, pid: u32, stopped: bool) {
        let (from, to) = if stopped {
            (ProcessStatus::Online, ProcessStatus::Suspended)
        } else {
            (ProcessStatus::Suspended, ProcessStatus::Online)
        };
        let id = self
            .lock()
            .entries
            .values()
            .find(|e| e.info.pid == Some(pid) && e.info.status == from)
            .map(|e| e.info.id);
        if let Some(id) = id {
            self.update(id, |e| {
                if e.info.status == from {
                    e.info.status = to;
                }
            });
        }
    }

    /// Remembers a new sink for `live_sinks`.
    pub fn register_sink(&self, sink: &Arc<LogSink>) {
        let mut list = self.sinks.lock().unwrap_or_else(|p| p.into_inner());
        list.push(sink);
    }

    /// The sinks still alive.
    pub fn live_sinks(&self) -> Vec<Arc<LogSink>> {
        let list = self.sinks.lock().unwrap_or_else(|p| p.into_inner());
        list.live()
    }

    /// Keeps a recovered failure of the engine for `ping` (with the time it happened).
    pub fn note_incident(&self, text: String) {
        let at = jiff::Timestamp::now().strftime("%Y-%m-%d %H:%M:%S UTC");
        let mut incidents = self
            .incidents
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        incidents.push_back(format!("{at}: {text}"));
        while incidents.len() > INCIDENTS_KEPT {
            incidents.pop_front();
        }
    }

    /// Sends an event of `entry` to the stream and its hooks (never waits).
    fn emit(&self, entry: &mut Entry, event: pmtui_proto::AppEvent) {
        if let Some(note) = self.hooks.emit(event, &entry.spec.hooks, &entry.spec.cwd) {
            push_failure(entry, note);
        }
    }

    /// A hook of process `id` failed (or its event was dropped): kept for `describe`.
    pub fn note_hook_failure(&self, id: ProcessId, text: String) {
        let at = jiff::Timestamp::now().strftime("%Y-%m-%d %H:%M:%S UTC");
        let mut table = self.lock();
        if let Some(entry) = table.entries.get_mut(&id) {
            push_failure(entry, format!("{at}: {text}"));
        }
    }

    /// Records an exit in the history, sends its events and publishes it.
    pub fn record_exit(&self, id: ProcessId, record: ExitRecord) {
        let mut table = self.lock();
        let Some(entry) = table.entries.get_mut(&id) else {
            return;
        };
        self.insert_exit(entry, &record);
        self.publish(&mut table, EventKind::Exit { id, record });
    }

    /// The first half of recording an exit that is restarted at once: the record (its
    /// stderr tail is read later) goes in the history and its events (`exit`, `crash`…) out
    /// before the next run starts, so they come before `restart` and `start`, and the
    /// `restart` event carries the exit's reason. [`Self::complete_exit`] follows.
    pub fn record_exit_early(&self, id: ProcessId, record: &ExitRecord) {
        let mut table = self.lock();
        if let Some(entry) = table.entries.get_mut(&id) {
            self.insert_exit(entry, record);
        }
    }

    /// The second half: the record, now with its stderr tail, replaces the early one and
    /// is published.
    pub fn complete_exit(&self, id: ProcessId, record: ExitRecord) {
        let mut table = self.lock();
        let Some(entry) = table.entries.get_mut(&id) else {
            return;
        };
        if let Some(early) = entry
            .history
            .iter_mut()
            .rev()
            .find(|r| r.pid == record.pid && r.at == record.at)
        {
            early.last_stderr = record.last_stderr.clone();
        }
        self.publish(&mut table, EventKind::Exit { id, record });
    }

    fn insert_exit(&self, entry: &mut Entry, record: &ExitRecord) {
        // In time order: an exit recorded after the next run started (restart first) goes
        // before what that start recorded (a spawn error).
        let at = entry
            .history
            .iter()
            .rposition(|r| r.at <= record.at)
            .map_or(0, |i| i + 1);
        entry.history.insert(at, record.clone());
        while entry.history.len() > HISTORY_LEN {
            entry.history.pop_front();
        }
        for event in crate::hooks::derive::from_record(&entry.info, record) {
            self.emit(entry, event);
        }
    }
}

fn push_failure(entry: &mut Entry, text: String) {
    entry.hook_failures.push_back(text);
    while entry.hook_failures.len() > crate::hooks::FAILURES_KEPT {
        entry.hook_failures.pop_front();
    }
}

impl Shared {
    /// Numbers a change and sends it to the events stream; a row that changed or went is
    /// also marked for the persister.
    fn publish(&self, table: &mut Table, kind: EventKind) {
        match &kind {
            EventKind::Process { process } => self.changes.mark(process.id, true),
            EventKind::Removed { id } => self.changes.mark(*id, true),
            _ => {}
        }
        self.publish_unmarked(table, kind);
    }

    fn publish_unmarked(&self, table: &mut Table, kind: EventKind) {
        table.seq += 1;
        self.events.send(Event {
            seq: table.seq,
            kind,
        });
    }
}

/// What of a row its process file holds (`records::record_of`; the name and instance
/// change only with a new spec).
#[derive(PartialEq)]
struct Persisted {
    /// The definition and desired state: a change is urgent (see [`Changed::urgent`]).
    definition: (*const ProcessSpec, DesiredState),
    /// The restart count, the main pid and its start time: a crash's restart.
    run: (u32, Option<u32>, Option<u64>),
}

fn persisted(e: &Entry) -> Persisted {
    Persisted {
        definition: (Arc::as_ptr(&e.spec), e.desired),
        run: (e.info.restarts, e.info.pid, e.pid_start_time),
    }
}

/// The rows that changed or went since the persister last looked: a set, not a queue, so
/// it never lags and costs nothing while idle (the persister used to follow the events
/// stream, whose 4096 slots were then always allocated: about 1 MiB).
#[derive(Default)]
pub(crate) struct Changes {
    pending: Mutex<Pending>,
    wake: tokio::sync::Notify,
    /// Woken by an urgent change only: it ends the persister's wait for lazy ones.
    urgent: tokio::sync::Notify,
}

/// The rows changed, and whether any of the changes is urgent (see [`Changed::urgent`]).
#[derive(Debug, Default, PartialEq)]
struct Pending {
    ids: BTreeSet<ProcessId>,
    urgent: bool,
}

impl Changes {
    fn lock(&self) -> MutexGuard<'_, Pending> {
        self.pending
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn mark(&self, id: ProcessId, urgent: bool) {
        {
            let mut pending = self.lock();
            pending.ids.insert(id);
            pending.urgent |= urgent;
        }
        self.wake.notify_one();
        if urgent {
            self.urgent.notify_one();
        }
    }

    /// Waits until some row changed, and takes the set (cancel-safe: nothing is taken
    /// before the wait is over).
    async fn take(&self) -> Pending {
        loop {
            let pending = self.take_now();
            if !pending.ids.is_empty() {
                return pending;
            }
            self.wake.notified().await;
        }
    }

    /// Returns once an urgent change waits to be taken.
    async fn urgent_pending(&self) {
        loop {
            // A wake-up left over from an urgent change taken since would end this wait
            // too early: the look at `pending` tells.
            let notified = self.urgent.notified();
            if self.lock().urgent {
                return;
            }
            notified.await;
        }
    }

    /// The set as it is (empty when nothing changed), taken.
    fn take_now(&self) -> Pending {
        std::mem::take(&mut *self.lock())
    }
}

/// Rows added, changed or deleted since the persister last looked.
#[derive(Debug, Default)]
pub struct Changed {
    /// Each id with its current name, `None` when it was deleted.
    pub rows: Vec<(ProcessId, Option<String>)>,
    /// Whether a row was added or deleted, or its definition or desired state changed:
    /// what a new daemon must know at once. Otherwise only a run's pid or restart count
    /// changed (a crash's restart), which can wait a little.
    pub urgent: bool,
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
        if !crate::reaper::become_subreaper() {
            tracing::warn!("not a child subreaper: orphaned descendants go to init");
        }
        crate::spawn::reserve_fd_slots();
        // Made at the first subscriber (see `fanout`): an idle daemon nobody watches holds
        // no slots.
        let events = Fanout::new(4096);
        // Small on purpose: a follower that falls behind catches up from the rings (bounded in
        // bytes), so the broadcast never holds more than this many lines for a slow reader.
        let logs = Fanout::new(1024);
        let metrics = MetricsHub::new(config.metrics_interval_ms, config.metrics_history_ms);
        let config_home = config.home.clone();
        let containment = Containment::detect(config.containment, &config.home_key());
        let (hooks, hook_rx) = crate::hooks::Hub::new(config.hooks.clone(), config.home.clone());
        let shared = Arc::new(Shared {
            config,
            containment,
            managed,
            metrics,
            envs: EnvPool::default(),
            table: Mutex::default(),
            events,
            logs,
            files: FileRegistry::default(),
            pumps: Pumps::default(),
            sinks: Mutex::default(),
            sockets: SocketTable::default(),
            pids: pids_dir(&config_home),
            app_messages: Fanout::new(1024),
            incidents: Mutex::default(),
            watch: crate::watch::WatchHub::default(),
            held: order::Held::default(),
            hooks,
            changes: Changes::default(),
        });
        crate::hooks::start(&shared, hook_rx);
        crate::metrics::keeper::start(&shared);
        let weak = Arc::downgrade(&shared);
        let on_stop = Box::new(move |pid, stopped| {
            if let Some(shared) = weak.upgrade() {
                shared.set_suspended(pid, stopped);
            }
        });
        tokio::spawn(crate::reaper::run(shared.managed.clone(), on_stop));
        Self { shared }
    }

    /// The engine's own failures it recovered from (job tasks, the sampler), oldest first.
    pub fn incidents(&self) -> Vec<String> {
        self.shared
            .incidents
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .iter()
            .cloned()
            .collect()
    }

    /// The log files that cannot be written now (a full disk, a missing folder), each a
    /// sentence: their lines are kept only in memory meanwhile, and the daemon goes on.
    pub fn log_failures(&self) -> Vec<String> {
        self.shared
            .files
            .failing()
            .into_iter()
            .map(|(path, why)| {
                format!(
                    "log file {}: {why}; its lines are kept only in memory (`pmtui logs`) \
                     until it can be written again",
                    path.display()
                )
            })
            .collect()
    }

    pub(crate) fn from_shared(shared: Arc<Shared>) -> Self {
        Self { shared }
    }

    pub fn config(&self) -> &SupervisorConfig {
        &self.shared.config
    }

    /// How process trees are contained: the mode, the cgroup subtree (cgroup mode) and why
    /// cgroups were asked for but are not used.
    pub fn containment(&self) -> &Containment {
        &self.shared.containment
    }

    /// Removes this state directory's cgroup subtree, once every process is stopped (the
    /// daemon is ending). Cgroups that still hold a process stay.
    pub fn release_containment(&self) {
        if let Some(cgroups) = &self.shared.containment.cgroups {
            cgroups.remove_base();
        }
    }

    fn resolve(&self, targets: &[String]) -> Result<Vec<ProcessId>, SupervisorError> {
        let table = self.shared.lock();
        let entries = table.entries.values().map(|e| crate::TargetEntry {
            id: e.info.id,
            name: &e.info.name,
            namespace: &e.info.namespace,
            script: &e.spec.script,
        });
        let ids = resolve_targets(entries, targets)?;
        if ids.is_empty() {
            return Err(SupervisorError::UnknownProcess(targets.join(" ")));
        }
        Ok(ids)
    }

    /// Why the first of `ids` whose last launch failed for want of file descriptors did not
    /// start, if one did not.
    fn fd_shortage(&self, ids: &[ProcessId]) -> Option<String> {
        let table = self.shared.lock();
        ids.iter()
            .filter_map(|id| table.entries.get(id))
            .find(|e| e.fd_shortage)
            .map(|e| e.info.status_reason.clone().unwrap_or_default())
    }

    /// `Ok` unless one of `ids` could not start for want of file descriptors.
    fn check_fds(&self, ids: &[ProcessId]) -> Result<(), SupervisorError> {
        match self.fd_shortage(ids) {
            Some(why) => Err(SupervisorError::FdLimit(why)),
            None => Ok(()),
        }
    }

    /// `Ok` unless one of `ids` should be watched and is not (the inotify limit…): it runs,
    /// unwatched, and the command says why.
    fn check_watch(&self, ids: &[ProcessId]) -> Result<(), SupervisorError> {
        let table = self.shared.lock();
        let failed: Vec<String> =
            ids.iter()
                .filter_map(|id| table.entries.get(id))
                .filter(|e| e.spec.active_watch().is_some())
                .filter_map(|e| {
                    e.info.watch_error.as_ref().map(|why| {
                        format!("{} (id {}) is not watched: {why}", e.info.name, e.info.id)
                    })
                })
                .collect();
        if failed.is_empty() {
            Ok(())
        } else {
            Err(SupervisorError::Watch(failed.join("\n")))
        }
    }

    fn infos(&self, ids: &[ProcessId]) -> Vec<ProcessInfo> {
        let table = self.shared.lock();
        ids.iter()
            .filter_map(|id| table.entries.get(id).map(|e| with_uptime(&e.info)))
            .collect()
    }

    /// How many processes there are (`ping`), without copying their rows.
    pub fn count(&self) -> usize {
        self.shared.lock().entries.len()
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

    /// Rows of `ls --json` as it prints them (`pmtui_proto::info_json`), appended to `out`
    /// from where `cursor` stands until `out` holds `limit` bytes, then the closing bracket
    /// after the last row; false once the array is closed. Written under the table's lock
    /// (that costs less than copying the rows out, as `list` does, to write them after),
    /// taken once per call: a reply sent in parts lets the table go between them, so its
    /// rows are each as they were when written, ids in order.
    pub fn list_json(&self, cursor: &mut JsonCursor, out: &mut Vec<u8>, limit: usize) -> bool {
        use std::ops::Bound::{Excluded, Unbounded};
        let Some(array) = cursor.array.as_mut() else {
            return false;
        };
        let table = self.shared.lock();
        let from = cursor.after.map_or(Unbounded, Excluded);
        let mut rows = table.entries.range((from, Unbounded));
        let mut batch = Vec::with_capacity(LIST_JSON_BATCH);
        loop {
            batch.clear();
            batch.extend(rows.by_ref().take(LIST_JSON_BATCH));
            if batch.is_empty() {
                break;
            }
            // The batch's cache lines, fetched together (see `info_json::prefetch_row`).
            for (_, e) in &batch {
                pmtui_proto::info_json::prefetch_row(&e.info);
            }
            for (_, e) in &batch {
                pmtui_proto::info_json::prefetch_strings(&e.info);
            }
            for (id, e) in &batch {
                if out.len() >= limit {
                    return true;
                }
                array.row(&e.info, uptime(&e.info, cursor.now), out);
                cursor.after = Some(**id);
            }
        }
        if let Some(array) = cursor.array.take() {
            array.end(out);
        }
        false
    }

    /// The stream of what happens to processes (`pmtui events`), from now on.
    pub fn subscribe_app_events(&self) -> broadcast::Receiver<pmtui_proto::AppEvent> {
        self.shared.hooks.subscribe()
    }

    /// Waits until rows were added, changed or deleted since the last call (or since the
    /// engine started), and says which: each id with its current name, `None` when it was
    /// deleted. For the persister: several changes to one row come as one.
    pub async fn changed(&self) -> Changed {
        let pending = self.shared.changes.take().await;
        self.named(pending)
    }

    /// Returns once an urgent change (see [`Changed::urgent`]) waits to be taken, at once
    /// if one does already.
    pub async fn urgent_change(&self) {
        self.shared.changes.urgent_pending().await;
    }

    /// Like [`Self::changed`], without waiting: empty when nothing changed since.
    pub fn changed_now(&self) -> Changed {
        let pending = self.shared.changes.take_now();
        self.named(pending)
    }

    fn named(&self, pending: Pending) -> Changed {
        let table = self.shared.lock();
        let rows = pending
            .ids
            .into_iter()
            .map(|id| (id, table.entries.get(&id).map(|e| e.info.name.clone())))
            .collect();
        Changed {
            rows,
            urgent: pending.urgent,
        }
    }

    /// Forgets the changes so far: [`Self::changed`] then reports only later ones.
    pub fn forget_changes(&self) {
        self.shared.changes.take_now();
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

    /// Sends a command to the job of each of `ids`; the replies to `join`. A job that is
    /// gone drops its reply slot at once, and `join` reports it.
    fn send_each(
        &self,
        ids: &[ProcessId],
        make: impl Fn(oneshot::Sender<()>) -> JobCmd,
    ) -> Result<Vec<Reply>, SupervisorError> {
        let table = self.shared.lock();
        Ok(ids
            .iter()
            .filter_map(|id| table.entries.get(id).map(|entry| (*id, entry)))
            .map(|(id, entry)| {
                let (tx, rx) = oneshot::channel();
                let _ = entry.job.send(make(tx));
                (id, rx)
            })
            .collect())
    }

    /// `Err` naming the processes whose job did not carry out a command: it failed while
    /// handling it (a panic: the process's history and `ping` say so, and the job is
    /// started again). A command never reports success for work that did not happen.
    fn answered(&self, lost: Vec<ProcessId>) -> Result<(), SupervisorError> {
        if lost.is_empty() {
            return Ok(());
        }
        let names: Vec<String> = lost
            .iter()
            .map(|id| match self.name_of(*id) {
                Some(name) => format!("{name} (id {id})"),
                None => format!("id {id}"),
            })
            .collect();
        Err(SupervisorError::JobFailed(names.join(", ")))
    }

    fn set_desired(&self, ids: &[ProcessId], desired: DesiredState) {
        let mut table = self.shared.lock();
        for id in ids {
            if let Some(e) = table.entries.get_mut(id) {
                e.desired = desired;
            }
        }
    }
}

fn pids_dir(home: &std::path::Path) -> Option<pmtui_statedir::Dir> {
    match pmtui_statedir::Dir::home(home, false).and_then(|h| h.sub("pids")) {
        Ok(dir) => Some(dir),
        Err(err) => {
            tracing::warn!(%err, "pid files are not written");
            None
        }
    }
}

fn with_uptime(info: &ProcessInfo) -> ProcessInfo {
    let mut info = info.clone();
    info.uptime_ms = uptime(&info, pmtui_proto::now_ms());
    info
}

/// Rows of `ls --json` whose cache lines are fetched together before they are written.
const LIST_JSON_BATCH: usize = 16;

/// Where `Supervisor::list_json` goes on from: after the last row written, with the
/// uptimes as of the first call.
#[derive(Debug)]
pub struct JsonCursor {
    after: Option<ProcessId>,
    now: u64,
    /// The array being written; `None` once closed.
    array: Option<pmtui_proto::info_json::RowArray>,
}

impl Default for JsonCursor {
    fn default() -> Self {
        Self {
            after: None,
            now: pmtui_proto::now_ms(),
            array: Some(Default::default()),
        }
    }
}

/// How long the current run of `info` has been up at `now`; 0 when nothing runs.
fn uptime(info: &ProcessInfo, now: u64) -> u64 {
    match (info.status.is_running(), info.started_at) {
        (true, Some(started)) => now.saturating_sub(started),
        _ => 0,
    }
}

/// A job's reply to a command: which process, and the slot its job fills when done.
pub(crate) type Reply = (ProcessId, oneshot::Receiver<()>);

/// Waits for every reply; returns the processes whose job dropped the reply unfilled.
#[must_use = "a job that did not answer must be reported (`Supervisor::answered`)"]
async fn join(replies: Vec<Reply>) -> Vec<ProcessId> {
    let mut lost = Vec::new();
    for (id, rx) in replies {
        if rx.await.is_err() {
            lost.push(id);
        }
    }
    lost
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The persister takes the changed rows as a set: waiting for some, or as they are.
    #[tokio::test]
    async fn changes_are_taken_once_whether_waited_for_or_not() {
        let changes = Changes::default();
        assert_eq!(changes.take_now(), Pending::default());
        changes.mark(3, false);
        changes.mark(1, false);
        changes.mark(3, false);
        let pending = changes.take_now();
        assert_eq!(pending.ids, BTreeSet::from([1, 3]));
        assert!(!pending.urgent, "only lazy changes");
        assert_eq!(changes.take_now(), Pending::default(), "taken once");
        changes.mark(2, false);
        changes.mark(4, true);
        let pending = changes.take().await;
        assert_eq!(pending.ids, BTreeSet::from([2, 4]));
        assert!(pending.urgent, "one urgent change makes the set urgent");
        assert_eq!(changes.take_now(), Pending::default());

        // The urgent change above was taken: waiting for the next one waits, through lazy
        // changes, and ends with the next urgent one.
        let short = std::time::Duration::from_millis(50);
        let wait = changes.urgent_pending();
        tokio::pin!(wait);
        assert!(
            tokio::time::timeout(short, &mut wait).await.is_err(),
            "a stale wake-up"
        );
        changes.mark(5, false);
        assert!(
            tokio::time::timeout(short, &mut wait).await.is_err(),
            "a lazy change"
        );
        changes.mark(6, true);
        tokio::time::timeout(std::time::Duration::from_secs(10), &mut wait)
            .await
            .expect("an urgent change ends the wait");
    }

    #[test]
    fn a_weak_list_forgets_the_dead_and_stays_within_twice_the_living() {
        let mut list = WeakList::default();
        let mut living = Vec::new();
        for i in 0..10_000u32 {
            let item = Arc::new(i);
            list.push(&item);
            // One in ten lives on.
            if i % 10 == 0 {
                living.push(item);
            }
            assert!(
                list.items.len() <= (2 * living.len() + 1).max(PurgeAt::AT_LEAST + 1),
                "{} held for {} living",
                list.items.len(),
                living.len()
            );
        }
        let live: Vec<u32> = list.live().iter().map(|i| **i).collect();
        assert_eq!(live, (0..10_000).step_by(10).collect::<Vec<u32>>());
    }
}
