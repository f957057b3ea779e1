//! `events [--json] [targets…]`: what happens to processes, live, until interrupted: one
//! line per event (`--json`: the event JSON hooks receive, one object a line), for scripts
//! and plugins in any language.

use super::connect;
use crate::cli::EventsArgs;
use crate::output;
use anyhow::Result;
use pmtui_client::Note;
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
    let mut notes = client.take_notes();
    let mut notes_open = true;
    // A note waiting for its place: after the events that came before it.
    let mut held: Option<Note> = None;
    let mut received: u64 = 0;
    loop {
        if let Some(note) = held.take_if(|n| n.after <= received)
            && say_note(&note, args.json).is_err()
        {
            break;
        }
        let event = tokio::select! {
            note = notes.recv(), if notes_open && held.is_none() => {
                match note {
                    Some(note) => held = Some(note),
                    None => notes_open = false,
                }
                continue;
            }
            event = client.next_event() => event,
        };
        let Some(event) = event else {
            if let Some(note) = held.take() {
                let _ = say_note(&note, args.json);
            }
            break;
        };
        received += 1;
        let EventKind::App { app } = event.kind else {
            continue;
        };
        let line = if args.json {
            serde_json::to_string(&app)?
        } else {
            human(&app)
        };
        // A closed pipe (`pmtui events | head`) ends the command quietly.
        if print(&stdout, &line).is_err() {
            break;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print(stdout: &std::io::Stdout, line: &str) -> std::io::Result<()> {
    let mut out = stdout.lock();
    writeln!(out, "{line}")?;
    out.flush()
}

/// The daemon's note that events were missed (this reader fell over 1,024 behind): on
/// stderr, and with `--json` also in the stream, so a script sees the gap where it is.
fn say_note(note: &Note, json: bool) -> std::io::Result<()> {
    eprintln!("pmtui events: {}", output::safe(&note.message));
    if !json {
        return Ok(());
    }
    let line = serde_json::json!({
        "event": "missed",
        "at": pmtui_proto::now_ms(),
        "missed": note.missed(),
        "detail": note.message,
    });
    print(&std::io::stdout(), &line.to_string())
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
