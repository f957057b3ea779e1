//! Reading and maintaining the captured output: `logs`, followers catching up, `flush`,
//! `reloadLogs`, and draining the writers before the daemon exits. Nothing here waits on a
//! file from the runtime thread: requests go to each sink's writer, and a command waits
//! (bounded) only for the writers that are not stuck in a write.

use super::Supervisor;
use crate::logs::{LogQuery, LogSink, Op};
use crate::{SupervisorError, logs};
use pmtui_proto::{LogLine, ProcessId};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;
use tokio::time::Instant;

/// How long `logs` waits for a just-added process's writer to note where its files stand.
const PRIME_WAIT: Duration = Duration::from_millis(500);
/// How long `flush` and `reload-logs` wait for the writers that are not stalled.
const OP_WAIT: Duration = Duration::from_secs(2);

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
        let sinks = self.sinks_of(ids.as_deref());
        if query.lines > 0 {
            let deadline = Instant::now() + PRIME_WAIT;
            for sink in &sinks {
                let left = deadline.saturating_duration_since(Instant::now());
                sink.primed(left).await;
            }
        }
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

    /// The sinks of `ids` (every process when `None`).
    fn sinks_of(&self, ids: Option<&[ProcessId]>) -> Vec<Arc<LogSink>> {
        let table = self.shared.lock();
        table
            .entries
            .values()
            .filter(|e| ids.is_none_or(|ids| ids.contains(&e.info.id)))
            .map(|e| Arc::clone(&e.sink))
            .collect()
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
    pub async fn flush(&self, targets: &[String]) -> Result<usize, SupervisorError> {
        let ids = if targets.is_empty() {
            self.resolve(&["all".to_string()]).unwrap_or_default()
        } else {
            self.resolve(targets)?
        };
        let sinks = self.sinks_of(Some(&ids));
        request_all(&sinks, Op::Flush).await;
        Ok(ids.len())
    }

    /// Reopens every log file.
    pub async fn reload_logs(&self) -> usize {
        let sinks = self.sinks_of(None);
        request_all(&sinks, Op::Reopen).await;
        sinks.len()
    }

    /// Waits until what the children wrote is in the files (bounded: a grandchild that
    /// keeps a pipe open, or a file that blocks, holds the daemon up a few seconds at most).
    pub async fn drain_logs(&self) {
        let limit = Duration::from_secs(2);
        let deadline = Instant::now() + limit;
        while self.shared.pumps.running() > 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let sinks = self.shared.live_sinks();
        let deadline = Instant::now() + limit;
        for sink in sinks.iter().filter(|s| !s.stalled()) {
            if tokio::time::timeout_at(deadline, sink.barrier())
                .await
                .is_err()
            {
                tracing::warn!("log files did not take the last lines in time");
                break;
            }
        }
    }
}

/// Queues `op` on every sink and waits (up to `OP_WAIT`) for those whose writer is not stuck
/// in a write; the others carry it out, in order, when their destination moves again.
async fn request_all(sinks: &[Arc<LogSink>], op: Op) {
    let deadline = Instant::now() + OP_WAIT;
    let pending: Vec<_> = sinks
        .iter()
        .map(|s| (s.stalled(), s.id(), s.request(op)))
        .collect();
    for (stalled, id, done) in pending {
        if stalled {
            tracing::info!(id, ?op, "log writer is stalled; queued behind its writes");
            continue;
        }
        if tokio::time::timeout_at(deadline, done).await.is_err() {
            tracing::info!(id, ?op, "log writer is slow; queued behind its writes");
        }
    }
}
