//! Which `AppEvent`s a change of the table means. Called under the table's lock with the
//! row before and after a change (`start`, `restart`, `errored`, `health`) or with a new
//! history record (`exit`, `crash`, `memory_limit`, `watch`, `task_done`, `task_failed`),
//! so events come out in the order things happened and none is missed.

use pmtui_proto::{AppEvent, ExitRecord, Health, ProcessInfo, ProcessStatus, now_ms};

/// What a row said before a change.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Before {
    status: ProcessStatus,
    pid: Option<u32>,
    health: Option<Health>,
    restarts: u32,
}

impl Before {
    pub(crate) fn of(info: &ProcessInfo) -> Self {
        Self {
            status: info.status,
            pid: info.pid,
            health: info.health,
            restarts: info.restarts,
        }
    }
}

fn event(name: &str, info: &ProcessInfo) -> AppEvent {
    AppEvent {
        event: name.to_string(),
        at: now_ms(),
        id: info.id,
        name: info.name.clone(),
        namespace: info.namespace.clone(),
        status: info.status.as_str().to_string(),
        pid: info.pid,
        exit_code: None,
        signal: None,
        reason: None,
        detail: None,
        restarts: info.restarts,
        trigger: None,
        duration_ms: None,
    }
}

/// The events of a row's change; `last` is the newest history record (why a restart).
pub(crate) fn from_change(
    before: &Before,
    after: &ProcessInfo,
    last: Option<&ExitRecord>,
) -> Vec<AppEvent> {
    let mut out = Vec::new();
    if after.restarts > before.restarts {
        let mut e = event("restart", after);
        if let Some(record) = last {
            e.reason = Some(record.reason.clone());
            e.detail = Some(record.detail.clone());
        }
        out.push(e);
    }
    if after.pid.is_some() && after.pid != before.pid {
        out.push(event("start", after));
    }
    if after.status == ProcessStatus::Errored && before.status != ProcessStatus::Errored {
        let mut e = event("errored", after);
        e.detail = after.status_reason.clone();
        e.exit_code = after.exit_code;
        e.signal = after.exit_signal.clone();
        out.push(e);
    }
    if let Some(health @ (Health::Healthy | Health::Unhealthy)) = after.health
        && before.health != after.health
    {
        let mut e = event("health", after);
        e.reason = Some(health.as_str().to_string());
        e.detail = after.last_probe.as_ref().map(|p| p.message.clone());
        out.push(e);
    }
    out
}

/// The events of a new history record of the process `info`.
pub(crate) fn from_record(info: &ProcessInfo, record: &ExitRecord) -> Vec<AppEvent> {
    if record.pid == 0 {
        // Nothing ended: a stopped process started again, a failed spawn.
        return Vec::new();
    }
    let status = status_after(info, record);
    let with = |name: &str| {
        let mut e = event(name, info);
        e.status = status.to_string();
        e.at = record.at;
        e.pid = Some(record.pid);
        e.exit_code = record.exit_code;
        e.signal = record.exit_signal.clone();
        e.reason = Some(record.reason.clone());
        e.detail = Some(record.detail.clone());
        e.trigger = record.trigger.clone();
        e.duration_ms = Some(record.uptime_ms);
        e
    };
    let clean = record.exit_code == Some(0) && record.exit_signal.is_none();
    let on_its_own = matches!(
        record.reason.as_str(),
        "exit code" | "signal" | "out of memory" | "crash loop"
    );
    let mut out = vec![with("exit")];
    match record.trigger {
        Some(_) if record.reason == "timeout" || (on_its_own && !clean) => {
            out.push(with("task_failed"))
        }
        Some(_) if on_its_own && clean => out.push(with("task_done")),
        Some(_) => {}
        None if on_its_own && !clean => out.push(with("crash")),
        None => {}
    }
    match record.reason.as_str() {
        "memory limit" => out.push(with("memory_limit")),
        "watch" => out.push(with("watch")),
        _ => {}
    }
    out
}

/// The status a run's end leaves the process in. The record goes in the history before
/// the row changes (so `exit` comes before `restart` and `start`), so the row still says
/// `online`: what comes next is the record's `outcome`.
fn status_after(info: &ProcessInfo, record: &ExitRecord) -> &'static str {
    match record.outcome.as_str() {
        "restart" if record.next_restart_at.is_some_and(|due| due > record.at) => {
            ProcessStatus::WaitingRestart.as_str()
        }
        "restart" => ProcessStatus::Launching.as_str(),
        "retry" => ProcessStatus::WaitingRestart.as_str(),
        "scheduled" => ProcessStatus::Scheduled.as_str(),
        "errored" => ProcessStatus::Errored.as_str(),
        // Another run carries on (a reload replaced this one, or kept the old one).
        "stopped" if info.pid.is_some_and(|pid| pid != record.pid) => info.status.as_str(),
        "stopped" => ProcessStatus::Stopped.as_str(),
        _ => info.status.as_str(),
    }
}
