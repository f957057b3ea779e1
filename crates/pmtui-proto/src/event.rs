//! Events the daemon pushes to subscribed clients: process changes and log lines, each with
//! a sequence number so a client can tell it missed nothing.

use crate::{AppEvent, ExitRecord, HostSample, ProcessId, ProcessInfo, ProcessSample};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub seq: u64,
    #[serde(flatten)]
    pub kind: EventKind,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EventKind {
    /// A process was added or changed; the full new row (boxed: a row is large).
    Process { process: Box<ProcessInfo> },
    /// A process was deleted.
    Removed { id: ProcessId },
    /// A process exited (before any restart).
    Exit { id: ProcessId, record: ExitRecord },
    /// A line a process wrote.
    Log { line: LogLine },
    /// One sampler tick (after `SubscribeMetrics`, with `seq: 0`): the host and a sample of
    /// every running process subscribed to; a process that does not run has none.
    Metrics {
        host: HostSample,
        samples: Vec<ProcessSample>,
    },
    /// Something that happened to a process (after `Events`, with `seq: 0`): what hooks
    /// receive, see [`AppEvent`].
    App { app: AppEvent },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogStream {
    Out,
    Err,
}

/// One line of a process's output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogLine {
    pub id: ProcessId,
    pub name: String,
    pub stream: LogStream,
    /// Per-process sequence number: strictly increasing, so a follower can drop duplicates.
    pub seq: u64,
    /// When the daemon read it (ms since the Unix epoch).
    pub at: u64,
    pub text: String,
}
