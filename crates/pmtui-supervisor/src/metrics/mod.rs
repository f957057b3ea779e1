//! Resource metrics of supervised process trees: one sampler thread (`sampler.rs`, kept
//! alive by `keeper.rs`) reads
//! `/proc` about once a second, writes the latest values into the table rows without
//! emitting process events, keeps a bounded history ring per process (`history.rs`), streams
//! each tick to metrics subscribers, and restarts a process whose tree exceeds its
//! `max_memory_restart`. The apps' own metrics (Node's runtime, `METRIC` lines, scrapes)
//! are kept per process in `app/` and recorded at the same ticks.

pub(crate) mod app;
pub mod history;
pub(crate) mod keeper;
pub mod procfs;
pub(crate) mod sampler;

pub use history::History;

use pmtui_proto::{HostSample, ProcessSample};
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast;

/// One sampler tick as it goes to subscribers.
#[derive(Debug, Clone)]
pub struct MetricsTick {
    pub host: HostSample,
    pub samples: Vec<ProcessSample>,
}

/// The sampler's outputs that live outside the table rows.
pub(crate) struct MetricsHub {
    pub interval_ms: u64,
    /// Samples each history ring holds.
    pub capacity: usize,
    pub host: Mutex<Option<HostSample>>,
    pub ticks: broadcast::Sender<Arc<MetricsTick>>,
}

impl MetricsHub {
    pub fn new(interval_ms: u64, history_ms: u64) -> Self {
        let capacity = history_ms
            .checked_div(interval_ms)
            .map_or(1, |n| n.clamp(1, 1_000_000) as usize);
        // Few ticks buffered: a subscriber that lags just misses some.
        let (ticks, _) = broadcast::channel(8);
        Self {
            interval_ms,
            capacity,
            host: Mutex::new(None),
            ticks,
        }
    }

    pub fn host(&self) -> Option<HostSample> {
        self.host
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }
}
