//! The daemon's replies. Errors carry a kind a script can branch on and a message a
//! person can act on.

use crate::{HostSample, LogLine, ProcessDetail, ProcessInfo, ProcessMetrics};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Response {
    Pong {
        version: String,
        pid: u32,
        home: String,
        uptime_ms: u64,
        processes: usize,
        /// Problems with the daemon's settings file (each bad key fell back to its default).
        #[serde(default)]
        warnings: Vec<String>,
        /// Process files the daemon could not read or could not write: their processes
        /// were not restored, or their latest change is not on disk yet. `ls` repeats them.
        #[serde(default)]
        state_problems: Vec<StateProblem>,
        /// How process trees are contained: `cgroup` (a cgroup per process) or `group`
        /// (process groups and the `PMTUI_JOB` marker).
        #[serde(default)]
        containment: String,
        /// In cgroup mode, the cgroup that holds one cgroup per process.
        #[serde(default)]
        cgroup: Option<String>,
        /// Failures of the daemon itself that it noticed and recovered from (a job task or
        /// the metrics sampler that failed and was restarted), oldest first, at most 20.
        #[serde(default)]
        incidents: Vec<String>,
    },
    /// How a `wait_ready` ended: `ready`, `timeout` (the app's `listen_timeout`, or the
    /// request's own) or `failed`, with why for people (`exited with code 1`, `not started:
    /// db (ready): exited with code 1`).
    Readiness {
        id: crate::ProcessId,
        outcome: String,
        #[serde(default)]
        reason: Option<String>,
    },
    /// The processes a request acted on, or the whole list.
    Processes {
        processes: Vec<ProcessInfo>,
    },
    /// The outcome of `start`: what was started and what was restarted.
    Started {
        started: Vec<ProcessInfo>,
        restarted: Vec<ProcessInfo>,
    },
    /// The outcome of `apply`: what was started, restarted with a new definition (or
    /// restarted by `restart_all`), and left alone.
    Applied {
        started: Vec<ProcessInfo>,
        restarted: Vec<ProcessInfo>,
        unchanged: Vec<ProcessInfo>,
    },
    /// The outcome of `scale`: the instances added, those removed, and those left alone.
    Scaled {
        started: Vec<ProcessInfo>,
        deleted: Vec<ProcessInfo>,
        kept: Vec<ProcessInfo>,
    },
    Details {
        details: Vec<ProcessDetail>,
    },
    /// Lines from the in-memory rings; with `follow`, `Log` events come after.
    LogLines {
        lines: Vec<LogLine>,
    },
    /// A subscription began: the state at the moment of subscribing and its sequence.
    Subscribed {
        seq: u64,
        processes: Vec<ProcessInfo>,
    },
    /// Resource use: the host (`None` before the first sample) and each process asked for.
    Metrics {
        /// The sampler's period, ms (0 when sampling is off).
        interval_ms: u64,
        host: Option<HostSample>,
        processes: Vec<ProcessMetrics>,
    },
    Saved {
        path: String,
        count: usize,
    },
    Done {
        message: String,
    },
    Error {
        kind: ErrorKind,
        message: String,
    },
}

impl Response {
    pub fn error(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self::Error {
            kind,
            message: message.into(),
        }
    }
}

/// A process file in trouble, as `ping` and `ls` report it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateProblem {
    /// `unreadable`: found at start but could not be read (its processes were not
    /// restored); `unsaved`: the latest change could not be written (retried).
    pub kind: StateProblemKind,
    /// The file.
    pub path: String,
    /// What happened and what to do, in a sentence.
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StateProblemKind {
    Unreadable,
    Unsaved,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// A target matched no process.
    UnknownProcess,
    /// The name is already used (and `--force` was not given).
    NameTaken,
    /// The request made no sense (bad signal name, empty spec…).
    BadRequest,
    /// The process could not be started.
    Spawn,
    /// The daemon could not read or write its files.
    Io,
    /// The frame could not be understood.
    Protocol,
    Internal,
}
