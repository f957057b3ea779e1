//! `ls`, `jlist`, `describe` and `env`.

use super::connect;
use crate::cli::TargetArgs;
use crate::output;
use anyhow::Result;
use pmtui_proto::{ProcessDetail, Request, Response};
use std::process::ExitCode;

pub async fn list(json: bool) -> Result<ExitCode> {
    let client = connect().await?;
    let Response::Processes { processes } = client.request(Request::List).await? else {
        anyhow::bail!("unexpected reply to list");
    };
    if json {
        output::json(&processes)?
    } else {
        output::processes(&processes)
    }
    Ok(ExitCode::SUCCESS)
}

async fn details(targets: Vec<String>) -> Result<Vec<ProcessDetail>> {
    let client = connect().await?;
    match client.request(Request::Describe { targets }).await? {
        Response::Details { details } => Ok(details),
        other => anyhow::bail!("unexpected reply: {other:?}"),
    }
}

pub async fn describe(t: TargetArgs) -> Result<ExitCode> {
    let details = details(t.targets).await?;
    if t.json {
        output::json(&details)?;
        return Ok(ExitCode::SUCCESS);
    }
    for d in &details {
        let i = &d.info;
        let s = &d.spec;
        let or_dash = |v: Option<String>| v.unwrap_or_else(|| "-".into());
        let rows: Vec<(&str, String)> = vec![
            ("status", output::status(i.status)),
            ("name", i.name.clone()),
            ("namespace", i.namespace.clone()),
            ("id", i.id.to_string()),
            ("instance", i.instance.to_string()),
            ("pid", or_dash(i.pid.map(|p| p.to_string()))),
            (
                "uptime",
                if i.status.is_running() {
                    output::duration(i.uptime_ms)
                } else {
                    "-".into()
                },
            ),
            ("restarts", i.restarts.to_string()),
            ("unstable restarts", i.unstable_restarts.to_string()),
            ("reason", or_dash(i.status_reason.clone())),
            (
                "next restart",
                or_dash(i.next_restart_at.map(|at| {
                    format!(
                        "in {}",
                        output::duration(at.saturating_sub(pmtui_proto::now_ms()))
                    )
                })),
            ),
            (
                "last exit",
                or_dash(match (i.exit_code, &i.exit_signal) {
                    (_, Some(sig)) => Some(format!("signal {sig}")),
                    (Some(code), None) => Some(format!("code {code}")),
                    _ => None,
                }),
            ),
            ("script", s.script.clone()),
            ("args", s.args.join(" ")),
            ("interpreter", or_dash(s.interpreter.clone())),
            ("interpreter args", s.interpreter_args.join(" ")),
            ("command", i.command.clone()),
            ("cwd", s.cwd.display().to_string()),
            ("instances", s.instances.to_string()),
            (
                "restart mode",
                format!("{:?}", s.restart.mode).to_lowercase(),
            ),
            ("kill timeout", format!("{} ms", s.kill_timeout_ms)),
            ("stop signal", s.stop_signal.clone()),
            ("out log", or_dash(d.out_log.clone())),
            ("err log", or_dash(d.err_log.clone())),
            ("cpu", cpu_line(i.cpu, &d.metrics)),
            ("memory", memory_line(i.memory, &d.metrics)),
            (
                "threads / fds",
                d.metrics.current.as_ref().map_or_else(
                    || "-".into(),
                    |c| {
                        let fds = c.fds.map_or_else(|| "-".into(), |n| n.to_string());
                        format!("{} / {fds} ({} process(es))", c.threads, c.processes)
                    },
                ),
            ),
            ("created", format_time(i.created_at)),
        ];
        let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
        println!("{}", output::bold(&format!("{} (id {})", i.name, i.id)));
        for (k, v) in rows {
            println!("  {k:width$}  {v}");
        }
        if !d.history.is_empty() {
            println!("{}", output::bold("  last exits"));
            for r in d.history.iter().rev().take(20) {
                println!(
                    "    {}  pid {}  up {}  {} → {}",
                    format_time(r.at),
                    r.pid,
                    output::duration(r.uptime_ms),
                    r.reason,
                    r.outcome
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn env(t: TargetArgs) -> Result<ExitCode> {
    let details = details(t.targets).await?;
    if t.json {
        let envs: Vec<_> = details
            .iter()
            .map(|d| serde_json::json!({"id": d.info.id, "name": d.info.name, "env": d.env}))
            .collect();
        output::json(&envs)?;
        return Ok(ExitCode::SUCCESS);
    }
    for (n, d) in details.iter().enumerate() {
        if details.len() > 1 {
            if n > 0 {
                println!();
            }
            println!(
                "{}",
                output::bold(&format!("# {} (id {})", d.info.name, d.info.id))
            );
        }
        for (k, v) in &d.env {
            println!("{k}={v}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `12.5%  (min 0.0 · avg 3.1 · max 99.0 over 10m)`.
fn cpu_line(cpu: f64, m: &pmtui_proto::MetricsHistory) -> String {
    let mut line = format!("{cpu:.1}%");
    if let Some(span) = &m.cpu_span {
        line.push_str(&format!(
            "  (min {:.1} · avg {:.1} · max {:.1} over {})",
            span.min,
            span.avg,
            span.max,
            history_length(m)
        ));
    }
    line
}

/// `40.1mb (0.5% of host)  (min … over 10m)`.
fn memory_line(memory: u64, m: &pmtui_proto::MetricsHistory) -> String {
    let mut line = output::bytes(memory);
    if let Some(c) = &m.current {
        line.push_str(&format!(" ({:.1}% of host)", c.memory_percent));
    }
    if let Some(span) = &m.memory_span {
        line.push_str(&format!(
            "  (min {} · avg {} · max {} over {})",
            output::bytes(span.min),
            output::bytes(span.avg),
            output::bytes(span.max),
            history_length(m)
        ));
    }
    line
}

/// The time the kept samples cover.
fn history_length(m: &pmtui_proto::MetricsHistory) -> String {
    match (m.at.first(), m.at.last()) {
        (Some(first), Some(last)) => output::duration(last - first + m.interval_ms),
        _ => "-".into(),
    }
}

/// Milliseconds since the epoch as local time.
pub fn format_time(ms: u64) -> String {
    jiff::Timestamp::from_millisecond(ms as i64)
        .map(|t| {
            t.to_zoned_datetime(jiff::tz::TimeZone::system())
                .strftime("%Y-%m-%d %H:%M:%S")
                .to_string()
        })
        .unwrap_or_else(|_| ms.to_string())
}
