//! CPU and memory samples for the detail charts: seeded from the history the daemon keeps
//! (so the charts are full the moment the view opens), then grown by each refresh of the
//! table (about once a second). Only processes whose detail is open are kept.

use pmtui_proto::{MetricsHistory, ProcessId, ProcessInfo};
use std::collections::{HashMap, VecDeque};

/// Ten minutes at one sample a second, as the daemon keeps by default.
pub const KEEP: usize = 600;

#[derive(Debug, Default, Clone)]
pub struct Series {
    pub cpu: VecDeque<f64>,
    pub memory: VecDeque<u64>,
    /// When the newest sample was taken (ms since the epoch): a stopped process's charts
    /// end there, not now.
    pub last_at: Option<u64>,
}

impl Series {
    pub fn push(&mut self, cpu: f64, memory: u64) {
        if self.cpu.len() == KEEP {
            self.cpu.pop_front();
            self.memory.pop_front();
        }
        self.cpu.push_back(cpu);
        self.memory.push_back(memory);
    }
}

#[derive(Debug, Default)]
pub struct History {
    series: HashMap<ProcessId, Series>,
}

impl Series {
    /// The daemon's history of one process.
    pub fn from_daemon(history: &MetricsHistory) -> Self {
        let skip = history.cpu.len().saturating_sub(KEEP);
        Self {
            cpu: history
                .cpu
                .iter()
                .skip(skip)
                .map(|c| f64::from(*c))
                .collect(),
            memory: history.memory.iter().skip(skip).copied().collect(),
            last_at: history.at.last().copied(),
        }
    }
}

impl History {
    /// Adds the row's current values to its series, if that process is kept and running
    /// (a stopped process has no sample, not a zero one).
    pub fn record(&mut self, row: &ProcessInfo, now: u64) {
        if !row.status.is_running() {
            return;
        }
        if let Some(series) = self.series.get_mut(&row.id) {
            series.push(row.cpu, row.memory);
            series.last_at = Some(now);
        }
    }

    /// Keeps only `id` (the process whose detail is open).
    pub fn keep_only(&mut self, id: ProcessId) {
        self.series.retain(|k, _| *k == id);
    }

    pub fn get(&self, id: ProcessId) -> Option<&Series> {
        self.series.get(&id)
    }

    pub fn set(&mut self, id: ProcessId, series: Series) {
        self.series.insert(id, series);
    }
}
