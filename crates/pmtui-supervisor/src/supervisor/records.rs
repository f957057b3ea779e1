//! Persistence: the records of the table (for `save` and the dump), re-creating processes
//! from them, and stopping everything for a daemon shutdown.

use super::{Entry, Supervisor, join};
use crate::record::ProcessRecord;
use pmtui_proto::{ProcessId, ProcessInfo};

impl Supervisor {
    /// What must be persisted about every process.
    pub fn records(&self) -> Vec<ProcessRecord> {
        self.shared
            .lock()
            .entries
            .values()
            .map(|e| record_of(e))
            .collect()
    }

    /// What must be persisted about the processes named `name`.
    pub fn records_named(&self, name: &str) -> Vec<ProcessRecord> {
        self.shared.lock().named(name).map(record_of).collect()
    }

    /// The ids of every process.
    pub fn ids(&self) -> std::collections::BTreeSet<ProcessId> {
        self.shared.lock().entries.keys().copied().collect()
    }

    /// The ids `targets` name now (as every verb resolves them).
    pub fn ids_of(&self, targets: &[String]) -> Result<Vec<ProcessId>, crate::SupervisorError> {
        self.resolve(targets)
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
    /// `keep_ids` the recorded ids are reused. Apps with dependencies start in order
    /// (`order`); the others at once. Returns what was added.
    pub async fn restore(&self, records: Vec<ProcessRecord>, keep_ids: bool) -> Vec<ProcessInfo> {
        let (ids, ready, plan) = self.plan_restore(records, keep_ids);
        // A job that fails here is restarted by its host and recorded; restoring goes on.
        let _ = join(ready).await;
        self.run_plan(plan);
        self.infos(&ids)
    }

    /// Stops every process for a daemon shutdown (apps that depend on others first),
    /// keeping what should run on record.
    pub async fn shutdown(&self) {
        let ids: Vec<ProcessId> = self.shared.lock().entries.keys().copied().collect();
        // Apps that depend on others first.
        let _ = self.stop_in_order(&ids).await;
        self.shared.sockets.clear();
        self.drain_logs().await;
    }

    /// Kills the hooks still running (the stops' own `exit` hooks among them) and what
    /// they left: they end with the daemon, which would no longer bound or reap them.
    pub fn end_hooks(&self) {
        crate::hooks::end_all(&self.shared.config);
    }
}

fn record_of(e: &Entry) -> ProcessRecord {
    ProcessRecord {
        id: e.info.id,
        instance: e.info.instance,
        spec: std::sync::Arc::clone(&e.spec),
        desired: e.desired,
        restarts: e.info.restarts,
        created_at: e.info.created_at,
        pid: e.info.pid,
        pid_start_time: e.pid_start_time,
    }
}
