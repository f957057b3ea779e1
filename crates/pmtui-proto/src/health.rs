//! The vocabulary of readiness and health: whether a run is ready (DESIGN's "one
//! definition": its first passing health probe; else, with `wait_ready`, the app's own
//! signal, sd_notify `READY=1` or Node's `process.send('ready')`; else started), and what
//! the health probes found.

use serde::{Deserialize, Serialize};

/// Where the current run is on its way to ready; `None` in a row means nothing runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Readiness {
    /// Launched, not ready yet: waiting for its first passing probe or its ready signal.
    Pending,
    /// Ready: from now on `depends_on`, `pmtui start <file>` and rolling reloads count on it.
    Ready,
    /// `wait_ready` waited `listen_timeout` without a signal. The process runs (status
    /// `online`, as pm2 has it) but is not ready; a later signal still makes it ready.
    Timeout,
}

impl Readiness {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Ready => "ready",
            Self::Timeout => "timeout",
        }
    }
}

/// The health a process's probe reports; a process without a probe has none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    /// No probe has passed yet and fewer than `retries` have failed in a row.
    Starting,
    /// The last probe passed (or fewer than `retries` have failed since).
    Healthy,
    /// `retries` probes failed in a row.
    Unhealthy,
}

impl Health {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Starting => "starting",
            Self::Healthy => "healthy",
            Self::Unhealthy => "unhealthy",
        }
    }

    /// The value of the `pmtui_process_health` Prometheus gauge: 1 healthy, 0 unhealthy,
    /// 0.5 starting.
    pub fn gauge(self) -> f64 {
        match self {
            Self::Healthy => 1.0,
            Self::Starting => 0.5,
            Self::Unhealthy => 0.0,
        }
    }
}

/// The last probe's result, kept in the row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeResult {
    /// When the probe finished (ms since the Unix epoch).
    pub at: u64,
    pub ok: bool,
    /// What it found, in a few words: `GET /health → 200`, `connected to 127.0.0.1:8000`,
    /// `exit 0: <first output line>`, `timed out after 2s`, `connection refused`.
    pub message: String,
    /// How long it took, ms.
    pub duration_ms: u64,
    /// Failures in a row, this one included (0 after a pass).
    pub failures: u32,
}
