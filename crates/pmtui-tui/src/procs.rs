//! The process table as the UI sees it: every row by id, the order after sort and filter
//! (recomputed only when rows, sort or filter change, never per frame), the header counts,
//! and a selection held by id so it stays on the same process when the list changes.

use pmtui_proto::{ProcessId, ProcessInfo, ProcessStatus};
use std::cmp::Ordering;
use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    Id,
    Name,
    Status,
    Cpu,
    Memory,
    Uptime,
    Restarts,
    Pid,
    Namespace,
}

impl Column {
    pub const ALL: [Column; 9] = [
        Column::Id,
        Column::Name,
        Column::Status,
        Column::Cpu,
        Column::Memory,
        Column::Uptime,
        Column::Restarts,
        Column::Pid,
        Column::Namespace,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Column::Id => "ID",
            Column::Name => "NAME",
            Column::Status => "STATUS",
            Column::Cpu => "CPU",
            Column::Memory => "MEMORY",
            Column::Uptime => "UPTIME",
            Column::Restarts => "↺",
            Column::Pid => "PID",
            Column::Namespace => "NAMESPACE",
        }
    }

    pub fn index(self) -> usize {
        Column::ALL.iter().position(|c| *c == self).unwrap_or(0)
    }

    pub fn nth(i: usize) -> Column {
        Column::ALL[i % Column::ALL.len()]
    }
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub total: usize,
    pub online: usize,
    pub stopped: usize,
    pub errored: usize,
    /// Stopped by a signal (SIGSTOP).
    pub suspended: usize,
    /// launching, stopping, waiting restart.
    pub busy: usize,
}

#[derive(Debug)]
pub struct ProcTable {
    rows: HashMap<ProcessId, ProcessInfo>,
    order: Vec<ProcessId>,
    position: HashMap<ProcessId, usize>,
    pub sort: Column,
    pub descending: bool,
    filter: String,
    pub counts: Counts,
    stale: bool,
    /// Several hosts: ids carry their host (`hosts::STRIDE`), and a filter by id means the
    /// daemon's own id.
    pub host_ids: bool,
}

impl Default for ProcTable {
    fn default() -> Self {
        Self {
            rows: HashMap::new(),
            order: Vec::new(),
            position: HashMap::new(),
            sort: Column::Id,
            descending: false,
            filter: String::new(),
            counts: Counts::default(),
            stale: false,
            host_ids: false,
        }
    }
}

impl ProcTable {
    /// Replaces every row (a fresh snapshot).
    pub fn replace(&mut self, rows: Vec<ProcessInfo>) {
        self.rows = rows.into_iter().map(|p| (p.id, p)).collect();
        self.stale = true;
    }

    /// Replaces the rows `mine` says are of this snapshot's source (one host's, with
    /// several), keeping the others.
    pub fn replace_where(&mut self, rows: Vec<ProcessInfo>, mine: impl Fn(ProcessId) -> bool) {
        self.rows.retain(|id, _| !mine(*id));
        self.rows.extend(rows.into_iter().map(|p| (p.id, p)));
        self.stale = true;
    }

    pub fn upsert(&mut self, row: ProcessInfo) {
        self.rows.insert(row.id, row);
        self.stale = true;
    }

    pub fn remove(&mut self, id: ProcessId) {
        self.rows.remove(&id);
        self.stale = true;
    }

    pub fn get(&self, id: ProcessId) -> Option<&ProcessInfo> {
        self.rows.get(&id)
    }

    pub fn get_mut(&mut self, id: ProcessId) -> Option<&mut ProcessInfo> {
        self.stale = true;
        self.rows.get_mut(&id)
    }

    pub fn all(&self) -> impl Iterator<Item = &ProcessInfo> {
        self.rows.values()
    }

    pub fn set_filter(&mut self, filter: &str) {
        if self.filter != filter {
            self.filter = filter.to_string();
            self.stale = true;
        }
    }

    pub fn filter(&self) -> &str {
        &self.filter
    }

    /// Sorts by `column`; choosing the current column again reverses the order.
    pub fn sort_by(&mut self, column: Column) {
        if self.sort == column {
            self.descending = !self.descending;
        } else {
            self.sort = column;
            // Big numbers first is what one looks for in CPU, memory and restarts.
            self.descending = matches!(column, Column::Cpu | Column::Memory | Column::Restarts);
        }
        self.stale = true;
    }

    /// The ids shown, in order. Call `refresh` first after a change.
    pub fn order(&self) -> &[ProcessId] {
        &self.order
    }

    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    pub fn position(&self, id: ProcessId) -> Option<usize> {
        self.position.get(&id).copied()
    }

    /// How many rows share `name` (the instances of one app).
    pub fn instances_of(&self, name: &str) -> usize {
        self.rows.values().filter(|p| p.name == name).count()
    }

    /// Recomputes order and counts if anything changed since the last call; `now` turns
    /// start times into uptimes for the uptime sort.
    pub fn refresh(&mut self, now: u64) {
        if !self.stale {
            return;
        }
        self.stale = false;
        let needle = self.filter.to_lowercase();
        let mut order: Vec<&ProcessInfo> = self
            .rows
            .values()
            .filter(|p| needle.is_empty() || matches_filter(p, &needle, self.host_ids))
            .collect();
        let column = self.sort;
        order.sort_by(|a, b| {
            let o = compare(column, a, b, now).then(a.id.cmp(&b.id));
            if self.descending { o.reverse() } else { o }
        });
        self.order = order.iter().map(|p| p.id).collect();
        self.position = self
            .order
            .iter()
            .enumerate()
            .map(|(i, id)| (*id, i))
            .collect();
        let mut counts = Counts {
            total: self.rows.len(),
            ..Counts::default()
        };
        for p in self.rows.values() {
            match p.status {
                ProcessStatus::Online => counts.online += 1,
                ProcessStatus::Stopped => counts.stopped += 1,
                ProcessStatus::Errored => counts.errored += 1,
                ProcessStatus::Suspended => counts.suspended += 1,
                _ => counts.busy += 1,
            }
        }
        self.counts = counts;
    }
}

fn matches_filter(p: &ProcessInfo, needle: &str, host_ids: bool) -> bool {
    let id = if host_ids {
        crate::hosts::Hosts::split(p.id).1
    } else {
        p.id
    };
    p.name.to_lowercase().contains(needle)
        || p.namespace.to_lowercase().contains(needle)
        || p.status.as_str().contains(needle)
        || id.to_string() == needle
        || p.command.to_lowercase().contains(needle)
}

/// How long a process has been up at `now`.
pub fn uptime(p: &ProcessInfo, now: u64) -> u64 {
    match (p.status, p.started_at) {
        (ProcessStatus::Online | ProcessStatus::Suspended | ProcessStatus::Stopping, Some(at)) => {
            now.saturating_sub(at)
        }
        (ProcessStatus::Online | ProcessStatus::Suspended, None) => p.uptime_ms,
        _ => 0,
    }
}

fn compare(column: Column, a: &ProcessInfo, b: &ProcessInfo, now: u64) -> Ordering {
    match column {
        Column::Id => a.id.cmp(&b.id),
        Column::Name => a.name.cmp(&b.name),
        Column::Status => a.status.as_str().cmp(b.status.as_str()),
        Column::Cpu => a.cpu.total_cmp(&b.cpu),
        Column::Memory => a.memory.cmp(&b.memory),
        Column::Uptime => uptime(a, now).cmp(&uptime(b, now)),
        Column::Restarts => a.restarts.cmp(&b.restarts),
        Column::Pid => a.pid.cmp(&b.pid),
        Column::Namespace => a.namespace.cmp(&b.namespace),
    }
}
