//! The bounded ring of past samples kept per process: 12 bytes a sample (a time offset, CPU
//! as `f32`, memory in KiB), so ten minutes at 1 Hz cost about 7 KiB per process.

use pmtui_proto::{MetricsHistory, ProcessSample, Span};
use std::collections::VecDeque;

#[derive(Debug, Clone, Copy)]
struct Point {
    /// Milliseconds after `History::base`.
    offset: u32,
    cpu: f32,
    kib: u32,
}

/// One process's samples, oldest first, at most `capacity`.
#[derive(Debug)]
pub struct History {
    capacity: usize,
    base: u64,
    points: VecDeque<Point>,
    current: Option<ProcessSample>,
}

impl History {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            base: 0,
            points: VecDeque::new(),
            current: None,
        }
    }

    pub fn len(&self) -> usize {
        self.points.len()
    }

    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// The latest sample, while the process runs.
    pub fn current(&self) -> Option<&ProcessSample> {
        self.current.as_ref()
    }

    /// The process stopped: keep the past, forget the current value.
    pub fn clear_current(&mut self) {
        self.current = None;
    }

    pub fn push(&mut self, sample: ProcessSample) {
        if self.points.is_empty() {
            self.base = sample.at;
        }
        // Offsets are u32 ms (49 days): rebase on the oldest kept point long before that.
        if sample.at.saturating_sub(self.base) > u64::from(u32::MAX / 2) {
            self.rebase(sample.at);
        }
        let kib = (sample.memory / 1024).min(u64::from(u32::MAX)) as u32;
        // Room made before the push, and never past `capacity`: a full ring that pushed
        // first would double its buffer (600 points held in room for 1,024, 12 KiB).
        while self.points.len() >= self.capacity {
            self.points.pop_front();
        }
        if self.points.len() == self.points.capacity() {
            let len = self.points.len();
            self.points
                .reserve_exact(len.max(4).min(self.capacity - len));
        }
        self.points.push_back(Point {
            offset: sample.at.saturating_sub(self.base) as u32,
            cpu: sample.cpu,
            kib,
        });
        self.current = Some(sample);
    }

    /// Moves the base to the oldest point still within reach of `now`, dropping points older
    /// than that (weeks old: only after a very long stop).
    fn rebase(&mut self, now: u64) {
        let limit = u64::from(u32::MAX / 2);
        while let Some(p) = self.points.front() {
            if now.saturating_sub(self.base + u64::from(p.offset)) > limit {
                self.points.pop_front();
            } else {
                break;
            }
        }
        let new_base = self
            .points
            .front()
            .map_or(now, |p| self.base + u64::from(p.offset));
        let shift = new_base - self.base;
        for p in &mut self.points {
            p.offset = (u64::from(p.offset) - shift) as u32;
        }
        self.base = new_base;
    }

    /// The wire form, with min/avg/max; `current` only while the process runs (the sampler
    /// forgets it on its next tick, a stop may come first).
    pub fn to_wire(&self, interval_ms: u64, running: bool) -> MetricsHistory {
        let at: Vec<u64> = self
            .points
            .iter()
            .map(|p| self.base + u64::from(p.offset))
            .collect();
        let cpu: Vec<f32> = self.points.iter().map(|p| p.cpu).collect();
        let memory: Vec<u64> = self
            .points
            .iter()
            .map(|p| u64::from(p.kib) * 1024)
            .collect();
        let cpu_span = span_f32(&cpu);
        let memory_span = span_u64(&memory);
        MetricsHistory {
            interval_ms,
            capacity: self.capacity,
            current: self.current.clone().filter(|_| running),
            at,
            cpu,
            memory,
            cpu_span,
            memory_span,
            // Filled from the app store by the caller (`sampling::metrics_history`).
            app: Vec::new(),
            app_drops: Vec::new(),
        }
    }
}

fn span_f32(values: &[f32]) -> Option<Span<f32>> {
    let first = *values.first()?;
    let (mut min, mut max, mut sum) = (first, first, 0.0f64);
    for &v in values {
        min = min.min(v);
        max = max.max(v);
        sum += f64::from(v);
    }
    let avg = (sum / values.len() as f64) as f32;
    Some(Span {
        min,
        avg: (avg * 10.0).round() / 10.0,
        max,
    })
}

fn span_u64(values: &[u64]) -> Option<Span<u64>> {
    let first = *values.first()?;
    let (mut min, mut max, mut sum) = (first, first, 0u128);
    for &v in values {
        min = min.min(v);
        max = max.max(v);
        sum += u128::from(v);
    }
    let avg = (sum / values.len() as u128) as u64;
    Some(Span { min, avg, max })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(at: u64, cpu: f32, memory: u64) -> ProcessSample {
        ProcessSample {
            id: 0,
            at,
            cpu,
            memory,
            memory_percent: 0.0,
            threads: 1,
            fds: None,
            processes: 1,
            app: Vec::new(),
        }
    }

    #[test]
    fn the_ring_keeps_the_newest_capacity_samples() {
        let mut h = History::new(3);
        for i in 0..5u64 {
            h.push(sample(1_000 + i * 1000, i as f32, (i + 1) * 1024 * 1024));
        }
        let wire = h.to_wire(1000, true);
        assert_eq!(wire.at, [3_000, 4_000, 5_000]);
        assert_eq!(wire.cpu, [2.0, 3.0, 4.0]);
        assert_eq!(wire.memory, [3 << 20, 4 << 20, 5 << 20]);
        assert_eq!(wire.capacity, 3);
        let cpu = wire.cpu_span.expect("cpu span");
        assert_eq!((cpu.min, cpu.avg, cpu.max), (2.0, 3.0, 4.0));
        let mem = wire.memory_span.expect("memory span");
        assert_eq!((mem.min, mem.avg, mem.max), (3 << 20, 4 << 20, 5 << 20));
        assert_eq!(wire.current.map(|c| c.at), Some(5_000));
    }

    #[test]
    fn a_full_ring_holds_no_room_past_its_capacity() {
        let mut h = History::new(600);
        for i in 0..1_000u64 {
            h.push(sample(1_000 + i * 1000, 0.0, 1024));
        }
        assert_eq!(h.len(), 600);
        assert!(
            h.points.capacity() < 1024,
            "room for {}",
            h.points.capacity()
        );
    }

    #[test]
    fn an_empty_history_has_no_span() {
        let wire = History::new(10).to_wire(1000, true);
        assert!(wire.cpu_span.is_none() && wire.memory_span.is_none() && wire.at.is_empty());
    }

    #[test]
    fn offsets_rebase_instead_of_overflowing() {
        let mut h = History::new(2);
        let start = 1_700_000_000_000u64;
        let days20 = 20 * 24 * 3600 * 1000u64;
        for i in 0..4 {
            h.push(sample(start + i * days20, i as f32, 0));
        }
        assert_eq!(
            h.to_wire(1000, true).at,
            [start + 2 * days20, start + 3 * days20]
        );
        h.push(sample(start + 20 * days20, 5.0, 0));
        assert_eq!(h.to_wire(1000, true).at, [start + 20 * days20]);
    }
}
