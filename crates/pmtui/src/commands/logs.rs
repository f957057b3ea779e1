//! `logs`: the last N lines of each selected process (from the daemon's memory, or its files
//! when memory holds fewer), interleaved by time, then with `--follow` the live lines, with
//! no gap or duplicate between the two (the daemon joins them by sequence number).

use super::connect;
use crate::cli::LogsArgs;
use anyhow::{Context, Result};
use pmtui_proto::{EventKind, LogLine, LogStream, Request, Response};
use std::io::Write;
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
    let follow = args.follow && !args.nostream;
    let request = Request::Logs {
        targets,
        lines: args.lines,
        follow,
        stream,
        grep: args.grep.clone(),
    };
    let Response::LogLines { lines } = client.request(request).await? else {
        anyhow::bail!("unexpected reply to logs");
    };
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
            if let EventKind::Log { line } = event.kind {
                let mut out = stdout.lock();
                if !printer.print(&mut out, &line)? || out.flush().is_err() {
                    break;
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

struct Printer {
    raw: bool,
    json: bool,
    timestamp: Option<String>,
    /// Names are padded to the longest one seen, as pm2 does.
    width: usize,
}

impl Printer {
    fn new(args: &LogsArgs, history: &[LogLine]) -> Self {
        Self {
            raw: args.raw,
            json: args.json,
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
            let record = serde_json::json!({
                "time": rfc3339(line.at),
                "at": line.at,
                "stream": line.stream,
                "process": line.name,
                "id": line.id,
                "message": line.text,
            });
            record.to_string()
        } else {
            let mut text = String::new();
            if let Some(format) = &self.timestamp {
                text.push_str(&local_time(line.at, format));
                text.push(' ');
            }
            if !self.raw {
                let name = crate::output::safe(&line.name);
                self.width = self.width.max(name.chars().count());
                text.push_str(&format!(
                    "{}|{:<width$} | ",
                    line.id,
                    name,
                    width = self.width
                ));
            }
            text.push_str(&line.text);
            text
        };
        match writeln!(out, "{text}") {
            Ok(()) => Ok(true),
            Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Ok(false),
            Err(err) => Err(err.into()),
        }
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
