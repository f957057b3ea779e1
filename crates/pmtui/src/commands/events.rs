//! `events [--json] [targets…]`: what happens to processes, live, until interrupted: one
//! line per event (`--json`: the event JSON hooks receive, one object a line), for scripts
//! and plugins in any language.

use super::connect;
use crate::cli::EventsArgs;
use crate::output;
use anyhow::Result;
use pmtui_proto::{AppEvent, EventKind, Request, Response};
use std::io::Write;
use std::process::ExitCode;

pub async fn follow(args: EventsArgs) -> Result<ExitCode> {
    let targets: Vec<String> = args
        .targets
        .iter()
        .filter(|t| *t != "all")
        .cloned()
        .collect();
    let mut client = connect().await?;
    match client.request(Request::Events { targets }).await? {
        Response::Done { .. } => {}
        other => anyhow::bail!("unexpected reply to events: {other:?}"),
    }
    let stdout = std::io::stdout();
    while let Some(event) = client.next_event().await {
        let EventKind::App { app } = event.kind else {
            continue;
        };
        let line = if args.json {
            serde_json::to_string(&app)?
        } else {
            human(&app)
        };
        let mut out = stdout.lock();
        // A closed pipe (`pmtui events | head`) ends the command quietly.
        if writeln!(out, "{line}").is_err() || out.flush().is_err() {
            break;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `2026-01-02 10:00:01  crash  api (id 3)  pid 1234  exited with code 1`.
fn human(e: &AppEvent) -> String {
    let at = jiff::Timestamp::from_millisecond(e.at as i64)
        .map(|t| {
            t.to_zoned_datetime(jiff::tz::TimeZone::system())
                .strftime("%Y-%m-%d %H:%M:%S")
                .to_string()
        })
        .unwrap_or_default();
    let mut parts = vec![
        at,
        format!("{:<12}", e.event),
        format!("{} (id {})", output::safe(&e.name), e.id),
    ];
    if let Some(pid) = e.pid {
        parts.push(format!("pid {pid}"));
    }
    if let Some(trigger) = &e.trigger {
        parts.push(format!("trigger {trigger}"));
    }
    match (&e.detail, &e.reason) {
        (Some(detail), _) if !detail.is_empty() => parts.push(output::safe(detail).into_owned()),
        (_, Some(reason)) => parts.push(output::safe(reason).into_owned()),
        _ => {}
    }
    parts.join("  ")
}
