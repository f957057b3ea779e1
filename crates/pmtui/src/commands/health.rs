//! How `describe` shows readiness, health and the app's own status line.

use pmtui_proto::{ProcessDetail, Readiness};

/// The readiness rows of `describe`.
pub fn describe_rows(d: &ProcessDetail) -> Vec<(&'static str, String)> {
    let i = &d.info;
    let s = &d.spec;
    let awaited = if s.wait_ready {
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
        ("app status", dash(i.status_text.clone())),
        (
            "watchdog",
            dash(
                s.watchdog_ms
                    .map(|ms| format!("{ms} ms (WATCHDOG=1 at least this often once ready)")),
            ),
        ),
        ("app main pid", dash(i.main_pid.map(|p| p.to_string()))),
    ]
}
