//! How `describe` shows readiness, start order (`depends_on`), health and the app's own
//! status line.

use pmtui_proto::{HealthCheck, OnFailure, ProcessDetail, Readiness};

/// The readiness rows of `describe`.
pub fn describe_rows(d: &ProcessDetail) -> Vec<(&'static str, String)> {
    let i = &d.info;
    let s = &d.spec;
    let awaited = if let Some(check) = &s.health_check {
        format!("the first passing probe ({})", check.describe())
    } else if s.wait_ready {
        format!(
            "READY=1 or process.send('ready'), up to {} ms (listen_timeout)",
            s.listen_timeout()
        )
    } else {
        "nothing: ready once started".to_string()
    };
    let readiness = match i.readiness {
        None => "-".to_string(),
        Some(Readiness::Ready) => match i.ready_at {
            Some(at) => format!("ready (since {})", super::show::format_time(at)),
            None => "ready".into(),
        },
        Some(Readiness::Pending) => format!("pending: waiting for {awaited}"),
        Some(Readiness::Timeout) => format!(
            "timeout: no signal within listen_timeout ({} ms)",
            s.listen_timeout()
        ),
    };
    let dash = |v: Option<String>| v.unwrap_or_else(|| "-".into());
    vec![
        ("readiness", readiness),
        ("ready when", awaited),
        (
            "depends on",
            if s.depends_on.is_empty() {
                "-".to_string()
            } else {
                pmtui_proto::depends::describe(&s.depends_on)
            },
        ),
        ("app status", dash(i.status_text.clone())),
        (
            "watchdog",
            dash(
                s.watchdog_ms
                    .map(|ms| format!("{ms} ms (WATCHDOG=1 at least this often once ready)")),
            ),
        ),
        ("app main pid", dash(i.main_pid.map(|p| p.to_string()))),
        (
            "health check",
            dash(s.health_check.as_deref().map(probe_line)),
        ),
        ("health", dash(i.health.map(|h| h.as_str().to_string()))),
        (
            "last probe",
            dash(i.last_probe.as_ref().map(|p| {
                let verdict = if p.ok { "passed" } else { "failed" };
                let failures = if p.failures > 0 {
                    format!(
                        ", {} in a row",
                        pmtui_proto::plural(p.failures as usize, "failure", "failures")
                    )
                } else {
                    String::new()
                };
                format!(
                    "{verdict}: {} ({} ms, at {}{failures})",
                    p.message,
                    p.duration_ms,
                    super::show::format_time(p.at)
                )
            })),
        ),
    ]
}

/// `GET http://127.0.0.1:8000/health every 5000 ms, timeout 2000 ms, unhealthy after 3
/// failures: restart`.
fn probe_line(c: &HealthCheck) -> String {
    let what = match (&c.url, &c.command) {
        (Some(url), _) if c.kind == pmtui_proto::ProbeKind::Http => format!("GET {url}"),
        (_, Some(command)) if c.kind == pmtui_proto::ProbeKind::Exec => format!("exec {command}"),
        _ => c.describe(),
    };
    let action = match c.on_failure {
        OnFailure::Restart => "restart",
        OnFailure::None => "none",
    };
    let delay = if c.initial_delay_ms > 0 {
        format!(", first after {} ms", c.initial_delay_ms)
    } else {
        String::new()
    };
    format!(
        "{what} every {} ms, timeout {} ms{delay}, unhealthy after {}: {action}",
        c.interval_ms,
        c.timeout_ms,
        pmtui_proto::plural(c.retries as usize, "failure", "failures")
    )
}
