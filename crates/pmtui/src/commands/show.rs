//! `ls`, `jlist`, `describe` and `env`.

use super::connect;
use crate::cli::TargetArgs;
use crate::output;
use anyhow::Result;
use pmtui_client::{ClientError, RawReply, Streamed};
use pmtui_proto::{Backoff, BackoffKind, ExitRecord, ProcessDetail, Request, Response};
use std::io::Write;
use std::process::ExitCode;

pub async fn list(json: bool) -> Result<ExitCode> {
    let client = connect().await?;
    // Process files the daemon could not read or write: said here, not only in daemon.log.
    // Asked together with the rows (both requests in flight at once, no second round
    // trip), said after them.
    let (listed, pong) = tokio::join!(print_list(&client, json), client.request(Request::Ping));
    listed?;
    if let Ok(Response::Pong { state_problems, .. }) = pong {
        output::state_problems(&state_problems);
    }
    Ok(ExitCode::SUCCESS)
}

async fn print_list(client: &pmtui_client::Client, json: bool) -> Result<()> {
    if json {
        // A daemon of this very version writes the rows as they are printed, in parts,
        // which are printed as they come.
        if client.daemon().version != pmtui_proto::VERSION {
            return print_json(client, Request::List, "processes").await;
        }
        let stdout = Box::new(std::io::stdout());
        return match client
            .request_streamed(Request::ListJson, "processes", stdout)
            .await
        {
            Ok(Streamed::Written(mut out)) => match out.write_all(b"\n").and_then(|()| out.flush())
            {
                Ok(()) => Ok(()),
                Err(err) => output::json_failed(err),
            },
            Ok(Streamed::Reply(raw)) => print_raw_json(client, raw, "processes"),
            Err(ClientError::Output(err)) => output::json_failed(err),
            Err(err) => Err(err.into()),
        };
    }
    let Response::Processes { processes } = client.request(Request::List).await? else {
        anyhow::bail!("unexpected reply to list");
    };
    if let Some(header) = super::remote::header() {
        println!("{}", output::safe(&header));
    }
    output::processes(&processes);
    Ok(())
}

/// `ls` over several hosts: every host asked at once, rows tagged with their host (a
/// `host` column; a `host` field in JSON); a host that cannot be reached is reported and
/// the others still listed (exit code 1).
pub async fn list_hosts(json: bool) -> Result<ExitCode> {
    let timeout = super::timeout();
    let batch = true;
    let asks: Vec<_> = super::remote::endpoints()
        .iter()
        .map(|endpoint| {
            let endpoint = endpoint.clone();
            tokio::spawn(async move {
                let client = endpoint.connect(timeout, batch).await?;
                match client.request(Request::List).await? {
                    Response::Processes { processes } => Ok(processes),
                    _ => anyhow::bail!("unexpected reply to list"),
                }
            })
        })
        .collect();
    let mut rows = Vec::new();
    let mut hosts = Vec::new();
    let mut failed = false;
    for (endpoint, ask) in super::remote::endpoints().iter().zip(asks) {
        let label = endpoint.label();
        match ask.await.map_err(anyhow::Error::from).and_then(|r| r) {
            Ok(processes) => {
                for p in processes {
                    hosts.push(label.clone());
                    rows.push(p);
                }
            }
            Err(err) => {
                failed = true;
                output::error(&format!("{label}: disconnected: {err:#}"));
            }
        }
    }
    if json {
        let tagged: Vec<serde_json::Value> = rows
            .iter()
            .zip(&hosts)
            .map(|(p, host)| {
                let mut value = serde_json::to_value(p)?;
                if let Some(object) = value.as_object_mut() {
                    object.insert("host".into(), host.clone().into());
                }
                Ok(value)
            })
            .collect::<Result<_>>()?;
        output::json(&tagged)?;
    } else {
        if let Some(header) = super::remote::header() {
            println!("{}", output::safe(&header));
        }
        output::processes_on(&rows, Some(&hosts));
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Prints the `field` of the reply to `request` (a response of type `field`) as JSON: the
/// daemon's own text when it runs this very version (its rows are the ones this binary
/// would print), as it comes when the daemon laid it out already (`list_json`), else
/// re-indented; from another version, decoded and encoded again.
async fn print_json(client: &pmtui_client::Client, request: Request, field: &str) -> Result<()> {
    let raw = client.request_raw(request).await?;
    print_raw_json(client, raw, field)
}

/// `print_json` of a reply received.
fn print_raw_json(client: &pmtui_client::Client, raw: RawReply, field: &str) -> Result<()> {
    if client.daemon().version == pmtui_proto::VERSION
        && let Some(text) = raw.field(field, field)
    {
        // Compact JSON never holds a raw line break: this text is laid out already.
        if text.starts_with(b"[\n") {
            return output::json_text(text);
        }
        if let Some(pretty) = crate::pretty::reindent(text) {
            return output::json_bytes(pretty);
        }
    }
    match raw.into_response()? {
        Response::Processes { processes } if field == "processes" => output::json(&processes),
        Response::Details { details } if field == "details" => output::json(&details),
        Response::Error { kind, message } => {
            Err(pmtui_client::ClientError::Daemon { kind, message }.into())
        }
        other => anyhow::bail!("unexpected reply: {other:?}"),
    }
}

/// The details of `targets`; without `history` the metrics series are cut to their ends
/// (the spans are whole), which is all the human `describe` shows.
async fn details(targets: Vec<String>, history: bool) -> Result<Vec<ProcessDetail>> {
    let client = connect().await?;
    match client
        .request(Request::Describe { targets, history })
        .await?
    {
        Response::Details { details } => Ok(details),
        other => anyhow::bail!("unexpected reply: {other:?}"),
    }
}

pub async fn describe(t: TargetArgs) -> Result<ExitCode> {
    if t.json {
        let client = connect().await?;
        let request = Request::Describe {
            targets: t.targets,
            history: true,
        };
        print_json(&client, request, "details").await?;
        return Ok(ExitCode::SUCCESS);
    }
    let details = details(t.targets, false).await?;
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
                        "{} (at {})",
                        output::until(at, pmtui_proto::now_ms()),
                        format_time(at)
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
            ("mode", i.mode.to_string()),
            (
                "sockets",
                or_dash((!i.sockets.is_empty()).then(|| i.sockets.join(", "))),
            ),
            ("restart mode", s.restart.mode.as_str().to_string()),
            ("max restarts", s.restart.max_restarts.to_string()),
            ("min uptime", ms(s.restart.min_uptime_ms)),
            (
                "time window",
                s.restart
                    .time_window_ms
                    .map_or_else(|| "since the last stable period".into(), ms),
            ),
            ("backoff", backoff(&s.restart.backoff)),
            ("stable after", ms(s.restart.stable_after_ms)),
            (
                "stop exit codes",
                or_dash((!s.restart.stop_exit_codes.is_empty()).then(|| {
                    let codes: Vec<String> = s
                        .restart
                        .stop_exit_codes
                        .iter()
                        .map(i32::to_string)
                        .collect();
                    codes.join(",")
                })),
            ),
            ("watch", watch_row(i, s)),
            (
                "watch trigger",
                or_dash(i.watch_trigger.as_ref().map(|t| {
                    format!(
                        "{} changed (at {})",
                        output::safe(&t.path),
                        format_time(t.at)
                    )
                })),
            ),
            (
                "cron restart",
                or_dash(s.cron_restart.as_ref().map(|p| {
                    if s.cron_revive {
                        format!("{p} (also starts it when stopped or errored)")
                    } else {
                        p.clone()
                    }
                })),
            ),
            (
                "max memory",
                or_dash(s.max_memory_restart.map(output::bytes)),
            ),
            ("kill timeout", format!("{} ms", s.kill_timeout_ms)),
            ("stop signal", s.stop_signal.clone()),
            (
                "containment",
                match &d.cgroup {
                    Some(dir) => format!("cgroup {dir}"),
                    None if d.containment.is_empty() => "-".into(),
                    None => format!("{} (process group and PMTUI_JOB marker)", d.containment),
                },
            ),
            (
                "user",
                match (&s.uid, &s.gid) {
                    (None, None) => "-".into(),
                    (Some(u), None) => u.clone(),
                    (None, Some(g)) => format!("(group {g})"),
                    (Some(u), Some(g)) => format!("{u} (group {g})"),
                },
            ),
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
                        format!(
                            "{} / {fds} ({})",
                            c.threads,
                            pmtui_proto::plural(c.processes as usize, "process", "processes")
                        )
                    },
                ),
            ),
            ("created", format_time(i.created_at)),
            ("hooks", hooks_row(s)),
        ];
        let mut rows = rows;
        let after_reason = rows
            .iter()
            .position(|(k, _)| *k == "reason")
            .map_or(0, |p| p + 1);
        rows.splice(after_reason..after_reason, super::health::describe_rows(d));
        let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
        println!(
            "{}",
            output::bold(&format!("{} (id {})", output::safe(&i.name), i.id))
        );
        for (k, v) in rows {
            // Every value but the (coloured) status can hold text from a file or a child.
            let v = if k == "status" {
                v
            } else {
                output::safe(&v).into_owned()
            };
            println!("  {k:width$}  {v}");
        }
        super::app_metrics::describe(&d.metrics);
        history(&d.history);
        hook_failures(&d.hook_failures);
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn env(t: TargetArgs) -> Result<ExitCode> {
    let details = details(t.targets, false).await?;
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
                output::bold(&format!(
                    "# {} (id {})",
                    output::safe(&d.info.name),
                    d.info.id
                ))
            );
        }
        // Escaped like everything else read from files (`--json` has the exact values).
        for (k, v) in &d.env {
            println!("{}={}", output::safe(k), output::safe(v));
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

/// What the process watches: its paths with the globs and debounce, why it is not
/// watched, or `off`.
fn watch_row(i: &pmtui_proto::ProcessInfo, s: &pmtui_proto::ProcessSpec) -> String {
    if let Some(why) = &i.watch_error {
        return format!("not watched: {}", output::safe(why));
    }
    let Some(w) = s.active_watch() else {
        return "off".into();
    };
    let paths = match &i.watch {
        Some(paths) => paths.join(", "),
        None => "not active while stopped".into(),
    };
    let mut text = format!("{paths} (debounce {}", ms(w.delay_ms));
    if !w.ignore.is_empty() {
        text.push_str(&format!("; also ignoring {}", w.ignore.join(", ")));
    }
    text.push(')');
    output::safe(&text).into_owned()
}

/// `crash: ./notify.sh; exit: POST http://…`, or `-`.
fn hooks_row(s: &pmtui_proto::ProcessSpec) -> String {
    if s.hooks.is_empty() {
        return "-".into();
    }
    let hooks: Vec<String> = s
        .hooks
        .iter()
        .map(|(event, hook)| format!("{event}: {}", hook.describe()))
        .collect();
    hooks.join("; ")
}

/// The hooks that failed lately (and events dropped), newest last.
fn hook_failures(failures: &[String]) {
    if failures.is_empty() {
        return;
    }
    println!(
        "{}",
        output::bold(&format!("  hook failures (last {})", failures.len()))
    );
    for failure in failures {
        println!("    {}", output::safe(failure));
    }
}

/// The last 20 exits and restarts, newest first, each with its last stderr lines.
fn history(records: &[ExitRecord]) {
    if records.is_empty() {
        return;
    }
    let shown = records.len().min(HISTORY_SHOWN);
    println!(
        "{}",
        output::bold(&format!(
            "  history (last {shown} of {}, newest first; all in --json)",
            records.len()
        ))
    );
    for r in records.iter().rev().take(HISTORY_SHOWN) {
        let pid = if r.pid == 0 {
            "-".to_string()
        } else {
            r.pid.to_string()
        };
        let next = match (r.outcome.as_str(), r.next_restart_at) {
            ("restart", Some(at)) if at > r.at => format!(" in {}", ms(at - r.at)),
            _ => String::new(),
        };
        let detail = if r.detail.is_empty() {
            String::new()
        } else {
            format!(": {}", output::safe(&r.detail))
        };
        println!(
            "    {}  pid {pid}  up {}  {}{detail} → {}{next}",
            format_time(r.at),
            ms(r.uptime_ms),
            output::safe(&r.reason),
            r.outcome,
        );
        let skip = r.last_stderr.len().saturating_sub(STDERR_SHOWN);
        for line in &r.last_stderr[skip..] {
            println!("      stderr| {}", output::safe(line));
        }
    }
}

/// History records `describe` prints (the daemon keeps more; `--json` has them all).
const HISTORY_SHOWN: usize = 20;
/// Stderr lines printed under each record (each record keeps up to 10).
const STDERR_SHOWN: usize = 3;

/// Milliseconds as people read them: `450 ms`, `2.5 s`, `3m`.
fn ms(value: u64) -> String {
    match value {
        0..1000 => format!("{value} ms"),
        1000..60_000 => format!("{:.1} s", value as f64 / 1000.0),
        _ => output::duration(value),
    }
}

fn backoff(b: &Backoff) -> String {
    match b.kind {
        BackoffKind::Fixed if b.delay_ms == 0 => "none (restarts at once)".into(),
        BackoffKind::Fixed => format!("fixed {}", ms(b.delay_ms)),
        BackoffKind::Exponential => format!(
            "exponential from {}, × {} per restart, at most {}",
            ms(b.delay_ms),
            b.factor,
            ms(b.max_delay_ms)
        ),
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
