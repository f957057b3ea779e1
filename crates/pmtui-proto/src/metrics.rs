//! Resource metrics on the wire: one sample of a process tree (`ProcessSample`), of the host
//! (`HostSample`), and the history the daemon keeps per process (`MetricsHistory`).
//!
//! How a client uses them:
//! - `Request::Metrics { targets, history }` answers `Response::Metrics`: the host, and for each
//!   target its latest sample and (with `history`) its ring of past samples.
//! - `Request::SubscribeMetrics { targets }` answers the same `Response::Metrics` with history
//!   (so a late client draws the past), then pushes one `EventKind::Metrics` per sampler tick
//!   (about once a second) on the same connection. Metrics events carry `seq: 0`: they are not
//!   part of the process-event sequence and a client may miss some (it lags, they are dropped).
//! - `ls` rows (`ProcessInfo.cpu`, `ProcessInfo.memory`) carry the latest values too, but a
//!   sample does not emit an `EventKind::Process`.
//!
//! Every value covers the process's whole tree: the main pid, its descendants, and members of
//! its process group that were re-parented to the daemon.

use crate::{ProcessId, ProcessStatus};
use serde::{Deserialize, Serialize};

/// One measurement of a process tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessSample {
    pub id: ProcessId,
    /// When it was taken (ms since the Unix epoch).
    pub at: u64,
    /// CPU over the last interval, percent of one core (a busy single thread reads ~100;
    /// four busy threads ~400), as `top` shows it.
    pub cpu: f32,
    /// Resident memory, bytes (the sum over the tree; shared pages count once per process).
    pub memory: u64,
    /// `memory` as a percent of the host's total memory.
    pub memory_percent: f32,
    /// Threads in the tree.
    pub threads: u32,
    /// Open file descriptors in the tree, `None` when they could not be counted. Counted less
    /// often than the rest (every 15 ticks), so it may be that many seconds old.
    pub fds: Option<u32>,
    /// Processes in the tree (1 for a process with no children).
    pub processes: u32,
    /// The app's own metrics at this tick (see `app_metrics`); empty for most processes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub app: Vec<crate::AppValue>,
}

/// One measurement of the machine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostSample {
    /// When it was taken (ms since the Unix epoch).
    pub at: u64,
    /// Busy CPU over the last interval, percent of the whole machine (0–100).
    pub cpu: f32,
    /// Logical CPUs.
    pub cores: u32,
    /// Total memory, bytes.
    pub memory_total: u64,
    /// Memory in use (total minus available), bytes.
    pub memory_used: u64,
    /// 1-minute load average.
    pub load1: f32,
}

/// Smallest, mean and largest value over a history.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Span<T> {
    pub min: T,
    pub avg: T,
    pub max: T,
}

/// The samples the daemon kept for one process, oldest first, as parallel arrays (compact to
/// send and easy to chart). Kept across restarts; bounded by `metrics_history_ms` in the
/// daemon config (default 10 minutes), so `at.len() <= capacity`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MetricsHistory {
    /// The sampler's period, ms.
    pub interval_ms: u64,
    /// How many samples the ring holds at most.
    pub capacity: usize,
    /// The latest sample while the process runs; `None` when it does not.
    pub current: Option<ProcessSample>,
    /// Sample times (ms since the Unix epoch); a gap means the process was not running.
    pub at: Vec<u64>,
    /// CPU, percent of one core, one per `at`.
    pub cpu: Vec<f32>,
    /// Resident memory in bytes, one per `at` (kept at KiB precision).
    pub memory: Vec<u64>,
    /// CPU over the history; `None` when it is empty.
    pub cpu_span: Option<Span<f32>>,
    /// Memory over the history; `None` when it is empty.
    pub memory_span: Option<Span<u64>>,
    /// The app's own metrics (see `app_metrics`), one history per series, at most
    /// `MAX_APP_SERIES`.
    pub app: Vec<crate::AppSeries>,
    /// What the app sent that was dropped, by reason.
    pub app_drops: Vec<crate::AppDrop>,
}

impl MetricsHistory {
    /// Cuts the series to their first and last sample, keeping the spans (computed over
    /// every sample) and the current one: the summary `describe` without history sends.
    pub fn ends_only(mut self) -> Self {
        fn ends<T: Copy>(v: &mut Vec<T>) {
            if let (Some(&first), Some(&last)) = (v.first(), v.last())
                && v.len() > 2
            {
                *v = vec![first, last];
            }
        }
        ends(&mut self.at);
        ends(&mut self.cpu);
        ends(&mut self.memory);
        for series in &mut self.app {
            ends(&mut series.at);
            ends(&mut series.values);
        }
        self
    }
}

/// Metrics of one process in a `Response::Metrics`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessMetrics {
    pub id: ProcessId,
    pub name: String,
    pub namespace: String,
    pub status: ProcessStatus,
    /// Restarts since it was added or reset (as `ProcessInfo.restarts`).
    pub restarts: u32,
    /// The latest sample while it runs.
    pub current: Option<ProcessSample>,
    /// Past samples, when asked for (`history: true`, and always on `SubscribeMetrics`).
    pub history: Option<MetricsHistory>,
    /// What its health probe says; `None` without a probe or when not running.
    #[serde(default)]
    pub health: Option<crate::Health>,
    /// Where its current run is on the way to ready; `None` when not running.
    #[serde(default)]
    pub readiness: Option<crate::Readiness>,
}
