//! `logs`: the last N lines of each selected process (from the daemon's memory, or its files
//! when memory holds fewer), interleaved by time, then (as pm2, when the output is a
//! terminal, or with `--follow`) the live lines, with no gap or duplicate between the two
//! (the daemon joins them by sequence number), and a line when a followed process exits,
//! restarts or is deleted. stderr lines carry `err` before the separator.

use super::connect;
use crate::cli::LogsArgs;
use anyhow::{Context, Result};
use pmtui_proto::{EventKind, ExitRecord, LogLine, LogStream, ProcessId, Request, Response};
use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::process::ExitCode;

/// `--timestamp` without a format.
const DEFAULT_TIMESTAMP: &str = "%Y-%m-%d %H:%M:%S";

pub async fn logs(args: LogsArgs) -> Result<ExitCode> {
    if let Some(grep) = &args.grep {
        regex::Regex::new(grep).context("--grep is not a valid regular expression")?;
    }
    if let Some(format) = args.timestamp.as_deref().filter(|f| !f.is_empty()) {
        let now = jiff::Timestamp::now().to_zoned_datetime(jiff::tz::TimeZone::system());
        jiff::fmt::strtime::format(format, &now)
            .with_context(|| format!("--timestamp={format} is not a valid strftime format"))?;
    }
    let targets: Vec<String> = args
        .target
        .iter()
        .filter(|t| *t != "all")
        .cloned()
        .collect();
    let stream = match (args.out, args.err) {
        (true, false) => Some(LogStream::Out),
        (false, true) => Some(LogStream::Err),
        _ => None,
    };
    let mut client = connect().await?;
    // pm2 follows by default. A script or a pipe (`pmtui logs api > file`, CI) that did
    // not ask for `--follow` gets the recent lines and an end, instead of waiting forever.
    let follow = !args.nostream && (args.follow || std::io::stdout().is_terminal());
    let request = Request::Logs {
        targets: targets.clone(),
        lines: args.lines,
        follow,
        stream,
        grep: args.grep.clone(),
    };
    let Response::LogLines { lines } = client.request(request).await? else {
        anyhow::bail!("unexpected reply to logs");
    };
    // Exits and restarts of the followed processes, as lines of their own (not with
    // `--raw` or `--json`, whose lines are only the processes' output).
    let mut watched: Option<HashMap<ProcessId, String>> = None;
    if follow && !args.raw && !args.json {
        let Response::Subscribed { processes, .. } = client.request(Request::Subscribe).await?
        else {
            anyhow::bail!("unexpected reply to subscribe");
        };
        let ids: Option<Vec<ProcessId>> = if targets.is_empty() {
            None
        } else {
            let request = Request::Describe {
                targets: targets.clone(),
                history: false,
            };
            match client.request(request).await? {
                Response::Details { details } => Some(details.iter().map(|d| d.info.id).collect()),
                other => anyhow::bail!("unexpected reply to describe: {other:?}"),
            }
        };
        watched = Some(
            processes
                .into_iter()
                .filter(|p| ids.as_ref().is_none_or(|ids| ids.contains(&p.id)))
                .map(|p| (p.id, p.name))
                .collect(),
        );
    }
    let all = targets.is_empty();
    let mut printer = Printer::new(&args, &lines);
    let stdout = std::io::stdout();
    {
        let mut out = stdout.lock();
        for line in &lines {
            if !printer.print(&mut out, line)? {
                return Ok(ExitCode::SUCCESS);
            }
        }
        if out.flush().is_err() {
            return Ok(ExitCode::SUCCESS);
        }
    }
    if follow {
        while let Some(event) = client.next_event().await {
            let text = match event.kind {
                EventKind::Log { line } => {
                    let mut out = stdout.lock();
                    if !printer.print(&mut out, &line)? || out.flush().is_err() {
                        break;
                    }
                    continue;
                }
                EventKind::Process { process } => {
                    // A process started after `logs all` began is followed too (the daemon
                    // sends its lines); remember its name for its exit lines.
                    if let Some(watched) = &mut watched
                        && (all || watched.contains_key(&process.id))
                    {
                        watched.insert(process.id, process.name.clone());
                    }
                    continue;
                }
                EventKind::Exit { id, record } => {
                    let Some(name) = watched.as_ref().and_then(|w| w.get(&id)) else {
                        continue;
                    };
                    (id, name.clone(), exit_text(&record))
                }
                EventKind::Removed { id } => {
                    let Some(name) = watched.as_mut().and_then(|w| w.remove(&id)) else {
                        continue;
                    };
                    (id, name, "deleted".to_string())
                }
                EventKind::Metrics { .. } | EventKind::App { .. } => continue,
            };
            let mut out = stdout.lock();
            if !printer.event(&mut out, text.0, &text.1, &text.2)? || out.flush().is_err() {
                break;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// What an exit record says on a followed log: how the run ended, and what comes next.
fn exit_text(record: &ExitRecord) -> String {
    let next = match record.outcome.as_str() {
        "restart" => match record.next_restart_at.map(|t| t.saturating_sub(record.at)) {
            Some(ms) if ms > 0 => format!("restarting in {}", crate::output::duration(ms)),
            _ => "restarting".to_string(),
        },
        other => other.to_string(),
    };
    if record.pid == 0 {
        // Nothing ran: a stopped or errored process started again.
        format!("starting ({})", record.detail)
    } else {
        format!(
            "pid {} ended ({}, up {}); {next}",
            record.pid,
            record.detail,
            crate::output::duration(record.uptime_ms)
        )
    }
}

struct Printer {
    raw: bool,
    json: bool,
    color: bool,
    timestamp: Option<String>,
    /// Names are padded to the longest one seen, as pm2 does.
    width: usize,
}

impl Printer {
    fn new(args: &LogsArgs, history: &[LogLine]) -> Self {
        Self {
            raw: args.raw,
            json: args.json,
            color: crate::output::color_enabled(),
            timestamp: args.timestamp.as_ref().map(|f| {
                if f.is_empty() {
                    DEFAULT_TIMESTAMP.to_string()
                } else {
                    f.clone()
                }
            }),
            width: history.iter().map(|l| l.name.len()).max().unwrap_or(0),
        }
    }

    /// Prints one line; false once stdout is closed (`| head`).
    fn print(&mut self, out: &mut impl Write, line: &LogLine) -> Result<bool> {
        let text = if self.json {
            // pm2's `logs --json` fields, plus `at` (ms since the epoch) for ordering.
            let record = serde_json::json!({
                "message": line.text,
                "timestamp": rfc3339(line.at),
                "type": line.stream,
                "process_id": line.id,
                "app_name": line.name,
                "at": line.at,
            });
            record.to_string()
        } else {
            let mut text = self.stamp(line.at);
            if !self.raw {
                let tag = match line.stream {
                    LogStream::Out => "   ",
                    LogStream::Err => "err",
                };
                text.push_str(&self.prefix(line.id, &line.name, tag));
            }
            text.push_str(&line.text);
            text
        };
        write_line(out, &text)
    }

    /// A line about the process itself (exited, restarting, deleted), tagged `---`.
    fn event(
        &mut self,
        out: &mut impl Write,
        id: ProcessId,
        name: &str,
        what: &str,
    ) -> Result<bool> {
        let mut text = self.stamp(pmtui_proto::now_ms());
        text.push_str(&self.prefix(id, name, "---"));
        let what = crate::output::safe(what);
        if self.color {
            text.push_str(&format!("\x1b[33m{what}\x1b[0m"));
        } else {
            text.push_str(&what);
        }
        write_line(out, &text)
    }

    fn stamp(&self, at: u64) -> String {
        match &self.timestamp {
            Some(format) => format!("{} ", local_time(at, format)),
            None => String::new(),
        }
    }

    /// `<id>|<name padded> <tag>| `: the tag is blank for stdout, `err` for stderr and
    /// `---` for the process's own events, so the columns stay aligned and `err|` greps.
    fn prefix(&mut self, id: ProcessId, name: &str, tag: &str) -> String {
        let name = crate::output::safe(name);
        self.width = self.width.max(name.chars().count());
        let prefix = format!("{id}|{name:<width$} {tag}| ", width = self.width);
        match (self.color, tag) {
            (true, "err") => format!("\x1b[31m{prefix}\x1b[0m"),
            (true, _) => format!("\x1b[90m{prefix}\x1b[0m"),
            (false, _) => prefix,
        }
    }
}

fn write_line(out: &mut impl Write, text: &str) -> Result<bool> {
    match writeln!(out, "{text}") {
        Ok(()) => Ok(true),
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Ok(false),
        Err(err) => Err(err.into()),
    }
}

fn rfc3339(ms: u64) -> String {
    jiff::Timestamp::from_millisecond(ms as i64)
        .map(|t| format!("{t:.3}"))
        .unwrap_or_default()
}

fn local_time(ms: u64, format: &str) -> String {
    jiff::Timestamp::from_millisecond(ms as i64)
        .ok()
        .and_then(|t| {
            let zoned = t.to_zoned_datetime(jiff::tz::TimeZone::system());
            jiff::fmt::strtime::format(format, &zoned).ok()
        })
        .unwrap_or_else(|| ms.to_string())
}
