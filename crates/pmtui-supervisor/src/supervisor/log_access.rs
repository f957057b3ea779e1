//! Reading and maintaining the captured output: `logs`, followers catching up, `flush`,
//! `reloadLogs`, and draining the writer before the daemon exits.

use super::Supervisor;
use crate::logs::{LogQuery, LogSink};
use crate::{SupervisorError, logs};
use pmtui_proto::{LogLine, ProcessId};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::broadcast;

/// Recent log lines and the live stream after them. Live lines of a process whose `seq` is
/// not above `after[id]` were already in `lines`; `ids` is `None` for every process.
pub struct LogSnapshot {
    pub lines: Vec<LogLine>,
    pub rx: broadcast::Receiver<LogLine>,
    pub after: HashMap<ProcessId, u64>,
    pub ids: Option<Vec<ProcessId>>,
}

impl Supervisor {
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

    /// Waits until what the children wrote is in the files (bounded: a grandchild that
    /// keeps a pipe open, or a file that blocks, holds the daemon up a few seconds at most).
    pub async fn drain_logs(&self) {
        self.shared
            .writer
            .drain(std::time::Duration::from_secs(2))
            .await;
    }
}
