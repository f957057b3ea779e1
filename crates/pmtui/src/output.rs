//! How the CLI prints: colours only on a terminal and never with `NO_COLOR`, tables sized to
//! their content, human durations and sizes, errors on stderr.

use pmtui_proto::{ProcessInfo, ProcessStatus};
use std::io::IsTerminal;

/// Colour on stdout: a terminal, and no `NO_COLOR`.
pub fn color_enabled() -> bool {
    !no_color() && std::io::stdout().is_terminal()
}

/// `NO_COLOR` set and not empty, as no-color.org defines it (an empty one allows colour).
fn no_color() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

fn paint(text: &str, code: &str) -> String {
    if color_enabled() {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

/// A word in an ANSI colour (`"32"` green, `"31"` red), on a terminal.
pub fn status_word(text: &str, code: &str) -> String {
    paint(text, code)
}

pub fn bold(text: &str) -> String {
    paint(text, "1")
}

pub fn status(status: ProcessStatus) -> String {
    let code = match status {
        ProcessStatus::Online => "32",
        ProcessStatus::Launching
        | ProcessStatus::Suspended
        | ProcessStatus::Stopping
        | ProcessStatus::WaitingRestart => "33",
        ProcessStatus::Stopped => "90",
        ProcessStatus::Errored => "31",
        ProcessStatus::Scheduled => "36",
    };
    paint(status.as_str(), code)
}

/// Text that came from a file, a record or a child (names, namespaces, paths, reasons),
/// with its control characters escaped so that printing it cannot drive the terminal.
pub fn safe(text: &str) -> std::borrow::Cow<'_, str> {
    pmtui_proto::printable(text)
}

/// Prints an error on stderr. Its lines stay lines; any other control character (from a
/// name or a path quoted in it) is escaped.
pub fn error(message: &str) {
    let message: Vec<_> = message.split('\n').map(safe).collect();
    let message = message.join("\n");
    let prefix = if !no_color() && std::io::stderr().is_terminal() {
        "\x1b[31merror:\x1b[0m"
    } else {
        "error:"
    };
    eprintln!("{prefix} {message}");
}

/// Process files in trouble, one warning each on stderr (so `ls --json` stays an array
/// on stdout).
pub fn state_problems(problems: &[pmtui_proto::StateProblem]) {
    for p in problems {
        let kind = match p.kind {
            pmtui_proto::StateProblemKind::Unreadable => "unreadable process file",
            pmtui_proto::StateProblemKind::Unsaved => "unsaved change",
        };
        warning(&format!("{kind} {}: {}", p.path, p.message));
    }
}

/// A warning on stderr: what was done is likely not what was meant.
pub fn warning(message: &str) {
    let prefix = if !no_color() && std::io::stderr().is_terminal() {
        "\x1b[33mwarning:\x1b[0m"
    } else {
        "warning:"
    };
    eprintln!("{prefix} {message}");
}

/// `1234567` ms → `20m`, as pm2 shows uptime.
pub fn duration(ms: u64) -> String {
    let s = ms / 1000;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86_400 => format!("{}h", s / 3600),
        _ => format!("{}D", s / 86_400),
    }
}

/// Time left until `at_ms` (ms since the epoch), finer than `duration` because backoff
/// delays are often below a second: `in 450ms`, `in 2.5s`, `in 3m`, `now`.
pub fn until(at_ms: u64, now_ms: u64) -> String {
    let left = at_ms.saturating_sub(now_ms);
    match left {
        0 => "now".into(),
        1..1000 => format!("in {left}ms"),
        1000..60_000 => format!("in {:.1}s", left as f64 / 1000.0),
        _ => format!("in {}", duration(left)),
    }
}

/// The status cell: `waiting restart` says when the next start is due; a task says when it
/// runs next and how its last run ended.
pub fn status_cell(p: &ProcessInfo) -> String {
    if p.status == ProcessStatus::Scheduled {
        let mut notes = Vec::new();
        if let Some(at) = p.next_run_at {
            notes.push(format!("next {}", until(at, pmtui_proto::now_ms())));
        }
        if let Some(last) = &p.last_result {
            notes.push(format!("last {}", safe(last)));
        }
        return if notes.is_empty() {
            status(p.status)
        } else {
            format!("{} ({})", status(p.status), notes.join(", "))
        };
    }
    match (p.status, p.next_restart_at) {
        (ProcessStatus::WaitingRestart, Some(at)) => format!(
            "{} ({})",
            status(p.status),
            until(at, pmtui_proto::now_ms())
        ),
        _ => status(p.status),
    }
}

/// Bytes → `12.3 MB`, as the terminal UI writes them.
pub fn bytes(n: u64) -> String {
    pmtui_proto::format_bytes(n, pmtui_proto::ByteUnits::SHORT)
}

/// Prints rows as an aligned table; `colored` columns hold ANSI codes not counted in width.
pub fn table(headers: &[&str], rows: &[Vec<String>]) {
    let visible = |s: &str| strip_ansi(s).chars().count();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(visible(cell));
        }
    }
    let line = |cells: Vec<String>| {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            let pad = widths[i].saturating_sub(visible(cell));
            out.push_str(cell);
            if i + 1 < cells.len() {
                out.push_str(&" ".repeat(pad + 2));
            }
        }
        println!("{}", out.trim_end());
    };
    line(headers.iter().map(|h| bold(h)).collect());
    for row in rows {
        line(row.clone());
    }
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::new();
    let mut in_escape = false;
    for c in s.chars() {
        match (in_escape, c) {
            (false, '\x1b') => in_escape = true,
            (true, 'm') => in_escape = false,
            (true, _) => {}
            (false, c) => out.push(c),
        }
    }
    out
}

/// The process table of `ls` and of every lifecycle verb.
pub fn processes(list: &[ProcessInfo]) {
    processes_on(list, None);
}

/// The process table with a first `host` column (`ls` over several hosts): `hosts[i]` is
/// the host of `list[i]`.
pub fn processes_on(list: &[ProcessInfo], hosts: Option<&[String]>) {
    if list.is_empty() {
        println!("no processes; start one with `pmtui start <script>`");
        return;
    }
    let health = shows_health(list);
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|p| {
            let mut row = vec![
                p.id.to_string(),
                safe(&p.name).into_owned(),
                safe(&p.namespace).into_owned(),
                p.mode.to_string(),
                status_cell(p),
                p.pid.map_or_else(|| "-".into(), |pid| pid.to_string()),
                if p.status.is_running() {
                    duration(p.uptime_ms)
                } else {
                    "-".into()
                },
                p.restarts.to_string(),
                format!("{:.1}%", p.cpu),
                bytes(p.memory),
            ];
            if health {
                row.insert(5, health_cell(p));
            }
            row
        })
        .enumerate()
        .map(|(i, mut row)| {
            if let Some(hosts) = hosts {
                row.insert(
                    0,
                    safe(hosts.get(i).map_or("?", String::as_str)).into_owned(),
                );
            }
            row
        })
        .collect();
    let mut headers = vec![
        "id",
        "name",
        "namespace",
        "mode",
        "status",
        "pid",
        "uptime",
        "↺",
        "cpu",
        "mem",
    ];
    if health {
        headers.insert(5, "health");
    }
    if hosts.is_some() {
        headers.insert(0, "host");
    }
    table(&headers, &rows);
}

/// The `health` cell of `ls`: the probe's verdict, else how far from ready a run is
/// (`pending`, `not ready` after listen_timeout), else `-`.
fn health_cell(p: &ProcessInfo) -> String {
    use pmtui_proto::{Health, Readiness};
    match (p.health, p.readiness) {
        (Some(health), _) => {
            let code = match health {
                Health::Healthy => "32",
                Health::Starting => "33",
                Health::Unhealthy => "31",
            };
            paint(health.as_str(), code)
        }
        (None, Some(Readiness::Pending)) => paint("pending", "33"),
        (None, Some(Readiness::Timeout)) => paint("not ready", "31"),
        _ => "-".into(),
    }
}

/// Whether `ls` needs the health column: some process has a probe or is not ready.
fn shows_health(list: &[ProcessInfo]) -> bool {
    use pmtui_proto::Readiness;
    list.iter().any(|p| {
        p.health.is_some() || matches!(p.readiness, Some(Readiness::Pending | Readiness::Timeout))
    })
}

pub fn json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// Prints JSON text already formatted (`pretty.rs`) and its newline, in one write.
pub fn json_bytes(mut text: Vec<u8>) -> anyhow::Result<()> {
    text.push(b'\n');
    json_text(&text)
}

/// Prints JSON text already formatted, ending in a newline or followed by one.
pub fn json_text(text: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let newline: &[u8] = if text.ends_with(b"\n") { b"" } else { b"\n" };
    match out
        .write_all(text)
        .and_then(|()| out.write_all(newline))
        .and_then(|()| out.flush())
    {
        Err(err) => json_failed(err),
        Ok(()) => Ok(()),
    }
}

/// Printing JSON failed with `err`: a reader that closed the pipe got what it wanted (see
/// main.rs), anything else is an error.
pub fn json_failed(err: std::io::Error) -> anyhow::Result<()> {
    if err.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
    Err(err.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_units() {
        assert_eq!(duration(59_000), "59s");
        assert_eq!(duration(3_600_000), "1h");
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(5 * 1024 * 1024), "5.0 MB");
        assert_eq!(strip_ansi("\x1b[32monline\x1b[0m"), "online");
        assert_eq!(until(1_000, 2_000), "now");
        assert_eq!(until(2_450, 2_000), "in 450ms");
        assert_eq!(until(4_500, 2_000), "in 2.5s");
        assert_eq!(until(182_000, 2_000), "in 3m");
    }
}
