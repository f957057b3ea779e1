//! CPU and memory samples per process for the detail charts. Filled from each refresh of the
//! table (about once a second) and, when the daemon keeps history, seeded from it.

use pmtui_proto::{ProcessId, ProcessInfo};
use std::collections::{HashMap, VecDeque};

/// Five minutes at one sample a second.
pub const KEEP: usize = 300;

#[derive(Debug, Default, Clone)]
pub struct Series {
    pub cpu: VecDeque<f64>,
    pub memory: VecDeque<u64>,
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

impl History {
    pub fn record(&mut self, rows: &[ProcessInfo]) {
        for p in rows {
            self.series.entry(p.id).or_default().push(p.cpu, p.memory);
        }
        // Forget processes that are gone.
        if self.series.len() > rows.len() {
            let live: std::collections::HashSet<_> = rows.iter().map(|p| p.id).collect();
            self.series.retain(|id, _| live.contains(id));
        }
    }

    pub fn get(&self, id: ProcessId) -> Option<&Series> {
        self.series.get(&id)
    }

    pub fn set(&mut self, id: ProcessId, series: Series) {
        self.series.insert(id, series);
    }
}
