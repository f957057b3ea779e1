//! One process in full: what runs and how (long values wrap, never cut), gauges, history
//! charts with axes, the environment (what the user set first), restarts with their stderr.

use crate::app::App;
use crate::fmt;
use crate::procs::uptime;
use pmtui_proto::{ExitRecord, ProcessDetail, ProcessId, ProcessInfo};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Block, Chart, Dataset, Gauge, GraphType, Paragraph};

/// Width of the facts' labels.
const LABEL: usize = 13;
/// Stderr lines shown under each exit in the restart history.
const STDERR_LINES: usize = 3;

pub fn render(app: &mut App, frame: &mut Frame, area: Rect, id: ProcessId) {
    let t = app.theme;
    let Some(info) = app.procs.get(id).cloned() else {
        frame.render_widget(
            Paragraph::new(" This process is gone.").style(t.dim()),
            area,
        );
        return;
    };
    // Gauges beside the facts when wide; charts in a row of their own when tall.
    let wide = area.width >= 100;
    let facts_width = if wide { area.width * 3 / 5 } else { area.width };
    let facts = fact_lines(app, &info, facts_width.saturating_sub(2) as usize);
    let charts_height = if area.height >= 30 { 9 } else { 0 };
    let room = area.height.saturating_sub(charts_height + 6).max(3);
    let top_height = (facts.len() as u16 + 2).clamp(if wide { 9 } else { 3 }, room);
    let [top, charts, bottom] = Layout::vertical([
        Constraint::Length(top_height),
        Constraint::Length(charts_height),
        Constraint::Fill(1),
    ])
    .areas(area);
    let title = match app.hosts.label_of(info.id) {
        Some(host) => format!(
            "{} · id {} · on {host}",
            info.name,
            app.hosts.shown_id(info.id)
        ),
        None => format!("{} · id {}", info.name, info.id),
    };
    // Facts taller than their room scroll with the rest (j/k), as far as their last line.
    let overflow = facts
        .len()
        .saturating_sub(top_height.saturating_sub(2) as usize);
    let facts = Paragraph::new(facts).scroll((app.detail_scroll.min(overflow) as u16, 0));
    if wide {
        let [facts_area, gauges] =
            Layout::horizontal([Constraint::Length(facts_width), Constraint::Fill(1)]).areas(top);
        frame.render_widget(facts.block(block(app, title)), facts_area);
        render_gauges(app, frame, gauges, &info);
    } else {
        frame.render_widget(facts.block(block(app, title)), top);
    }
    if charts_height > 0 {
        render_charts(app, frame, charts, &info);
    }
    // The app's own metrics, when it reports any, above the environment and history.
    let app_height = super::app_metrics::height(app, id).min(bottom.height.saturating_sub(3));
    let [app_area, bottom] =
        Layout::vertical([Constraint::Length(app_height), Constraint::Fill(1)]).areas(bottom);
    if app_height > 2 {
        super::app_metrics::render(app, frame, app_area, id);
    }
    let [env, history] =
        Layout::horizontal([Constraint::Fill(1), Constraint::Fill(1)]).areas(bottom);
    render_env(app, frame, env);
    render_history(app, frame, history);
}

fn block(app: &App, title: String) -> Block<'static> {
    Block::bordered()
        .border_style(app.theme.border())
        .title(Span::styled(format!(" {title} "), app.theme.title()))
}

/// `label value`, the value wrapped under itself (indented past the label) to `width`, at a
/// space where one is near the edge.
fn fact(
    app: &App,
    out: &mut Vec<Line<'static>>,
    label: &str,
    spans: Vec<Span<'static>>,
    width: usize,
) {
    let room = width.saturating_sub(LABEL).max(8);
    let chars: Vec<(char, Style)> = spans
        .iter()
        .flat_map(|s| s.content.chars().map(move |c| (c, s.style)))
        .collect();
    let mut rows: Vec<&[(char, Style)]> = Vec::new();
    let mut rest = chars.as_slice();
    while rest.len() > room {
        // Break after the last space in the second half of the row, else mid-word.
        let cut = rest[..=room]
            .iter()
            .rposition(|(c, _)| *c == ' ')
            .filter(|i| *i > room / 2)
            .unwrap_or(room);
        rows.push(&rest[..cut]);
        rest = &rest[cut..];
        if rest.first().is_some_and(|(c, _)| *c == ' ') {
            rest = &rest[1..];
        }
    }
    rows.push(rest);
    for (i, row) in rows.into_iter().enumerate() {
        let label = if i == 0 { label } else { "" };
        let mut line = vec![Span::styled(format!("{label:<LABEL$}"), app.theme.label())];
        // Runs of one style become one span.
        let mut run = String::new();
        let mut style = None;
        for (c, s) in row {
            if style.is_some_and(|st| st != *s) {
                line.push(Span::styled(
                    std::mem::take(&mut run),
                    style.unwrap_or_default(),
                ));
            }
            style = Some(*s);
            run.push(*c);
        }
        if !run.is_empty() {
            line.push(Span::styled(run, style.unwrap_or_default()));
        }
        out.push(Line::from(line));
    }
}

fn plain(text: impl Into<String>) -> Vec<Span<'static>> {
    vec![Span::raw(text.into())]
}

/// A word for the command line: quoted when it holds spaces or quotes.
fn quote(word: &str) -> String {
    if !word.is_empty() && !word.contains([' ', '"', '\'', '\t']) {
        return word.to_string();
    }
    format!("'{}'", word.replace('\'', r"'\''"))
}

fn fact_lines(app: &App, info: &ProcessInfo, width: usize) -> Vec<Line<'static>> {
    let t = app.theme;
    let detail: Option<&ProcessDetail> = app.detail.as_ref().filter(|d| d.info.id == info.id);
    let mut out = Vec::new();
    fact(app, &mut out, "status", status_spans(app, info), width);
    if let Some(reload) = &info.reload {
        fact(
            app,
            &mut out,
            "reload",
            vec![Span::styled(
                format!(
                    "{} · step {} of {} · for {}{}{}",
                    reload.phase,
                    reload.step,
                    reload.of,
                    fmt::duration(app.now.saturating_sub(reload.since)),
                    reload
                        .old_pid
                        .map(|p| format!(" · old pid {p}"))
                        .unwrap_or_default(),
                    reload
                        .new_pid
                        .map(|p| format!(" · new pid {p}"))
                        .unwrap_or_default(),
                ),
                t.warn(),
            )],
            width,
        );
    }
    if let Some(task) = task_spans(app, info, detail) {
        fact(app, &mut out, "schedule", task, width);
    }
    let running = info.status.is_running();
    let dash = || "-".to_string();
    match detail {
        Some(d) => {
            fact(app, &mut out, "script", plain(d.spec.script.clone()), width);
            let args = if d.spec.args.is_empty() {
                "none".to_string()
            } else {
                d.spec
                    .args
                    .iter()
                    .map(|a| quote(a))
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            fact(app, &mut out, "arguments", plain(args), width);
            let interpreter = match &d.spec.interpreter {
                Some(i) => std::iter::once(i.as_str())
                    .chain(d.spec.interpreter_args.iter().map(String::as_str))
                    .collect::<Vec<_>>()
                    .join(" "),
                None => "none (runs directly)".to_string(),
            };
            fact(app, &mut out, "interpreter", plain(interpreter), width);
            fact(
                app,
                &mut out,
                "cwd",
                plain(d.spec.cwd.display().to_string()),
                width,
            );
            let r = &d.spec.restart;
            fact(
                app,
                &mut out,
                "restart mode",
                plain(format!(
                    "{} · gives up after {} unstable restart{} (runs under {})",
                    crate::form::restart_label(r.mode),
                    r.max_restarts,
                    if r.max_restarts == 1 { "" } else { "s" },
                    fmt::duration(r.min_uptime_ms)
                )),
                width,
            );
            fact(
                app,
                &mut out,
                "instances",
                plain(format!(
                    "{} (this is #{}) · {} mode · namespace {}",
                    d.spec.instances, info.instance, info.mode, info.namespace
                )),
                width,
            );
        }
        None => {
            fact(app, &mut out, "command", plain(info.command.clone()), width);
            fact(
                app,
                &mut out,
                "instances",
                plain(format!(
                    "#{} · {} mode · namespace {}",
                    info.instance, info.mode, info.namespace
                )),
                width,
            );
        }
    }
    fact(
        app,
        &mut out,
        "uptime",
        plain(format!(
            "{} · pid {} · restarts {}",
            if running {
                fmt::duration(uptime(info, app.now))
            } else {
                "-".into()
            },
            info.pid.map_or_else(dash, |p| p.to_string()),
            info.restarts
        )),
        width,
    );
    let last_restart = match detail.and_then(|d| d.history.last()) {
        Some(r) => format!(
            "{} · {}: {} → {}",
            fmt::ago(app.now, r.at),
            r.reason,
            exit_how(r),
            r.outcome
        ),
        None => "never".to_string(),
    };
    fact(app, &mut out, "last restart", plain(last_restart), width);
    if let Some(word) = fmt::health_word(info) {
        let probe = info
            .last_probe
            .as_ref()
            .map(|p| format!(" · last probe {}: {}", fmt::ago(app.now, p.at), p.message))
            .unwrap_or_default();
        let style = match word {
            "healthy" => t.ok(),
            "unhealthy" => t.error(),
            _ => t.warn(),
        };
        fact(
            app,
            &mut out,
            "health",
            vec![Span::styled(word.to_string(), style), Span::raw(probe)],
            width,
        );
    }
    let watch = match &info.watch {
        Some(paths) => {
            let mut text = format!("on · {}", paths.join(", "));
            if let Some(trigger) = &info.watch_trigger {
                text.push_str(&format!(
                    " · last change {} {}",
                    trigger.path,
                    fmt::ago(app.now, trigger.at)
                ));
            }
            text.push_str(" · w turns it off");
            vec![Span::styled(text, t.ok())]
        }
        None => vec![Span::styled("off · w watches its files", t.dim())],
    };
    fact(app, &mut out, "watch", watch, width);
    if let Some(error) = &info.watch_error {
        fact(
            app,
            &mut out,
            "",
            vec![Span::styled(error.clone(), t.error())],
            width,
        );
    }
    if !info.sockets.is_empty() {
        fact(
            app,
            &mut out,
            "sockets",
            plain(info.sockets.join(", ")),
            width,
        );
    }
    if let Some(text) = &info.status_text {
        fact(app, &mut out, "app status", plain(text.clone()), width);
    }
    if app.size.0 < 100 {
        // No gauges beside the facts: the figures in words.
        fact(
            app,
            &mut out,
            "resources",
            plain(if running {
                format!(
                    "CPU {} · memory {}",
                    fmt::percent(info.cpu),
                    fmt::bytes(info.memory)
                )
            } else {
                "-".into()
            }),
            width,
        );
    }
    match detail {
        Some(d) => {
            let log = |path: &Option<String>| path.clone().unwrap_or_else(|| "not kept".into());
            fact(app, &mut out, "stdout log", plain(log(&d.out_log)), width);
            fact(app, &mut out, "stderr log", plain(log(&d.err_log)), width);
        }
        None => out.push(Line::from(Span::styled("loading…", t.dim()))),
    }
    out
}

/// A task's schedule, its next firing and how its last run ended; `None` for an app.
fn task_spans(
    app: &App,
    info: &ProcessInfo,
    detail: Option<&ProcessDetail>,
) -> Option<Vec<Span<'static>>> {
    let t = app.theme;
    let cron = detail.and_then(|d| d.spec.is_task().then_some(&d.spec));
    if cron.is_none() && info.next_run_at.is_none() && info.last_result.is_none() {
        return None;
    }
    let mut text = cron
        .and_then(|spec| spec.schedule.as_deref())
        .map(
            |pattern| match cron.and_then(|spec| spec.timezone.as_deref()) {
                Some(zone) => format!("{pattern} ({zone}) · "),
                None => format!("{pattern} · "),
            },
        )
        .unwrap_or_default();
    match info.next_run_at {
        Some(at) => text.push_str(&format!(
            "next {} (in {})",
            fmt::time(at, &app.tz, "%Y-%m-%d %H:%M"),
            fmt::duration(at.saturating_sub(app.now))
        )),
        None => text.push_str("no next run"),
    }
    text.push_str(" · last run ");
    let last = match &info.last_result {
        Some(result) if result == "ok" => Span::styled(result.clone(), t.ok()),
        Some(result) => Span::styled(result.clone(), t.error()),
        None => Span::styled("none yet", t.dim()),
    };
    Some(vec![Span::raw(text), last])
}

fn status_spans(app: &App, info: &ProcessInfo) -> Vec<Span<'static>> {
    let t = app.theme;
    let mut out = vec![Span::styled(
        format!("{} {}", fmt::symbol(info.status), info.status),
        t.status(info.status),
    )];
    if let Some(reason) = &info.status_reason {
        out.push(Span::styled(format!(" ({reason})"), t.dim()));
    }
    if let Some(at) = info
        .next_restart_at
        .filter(|_| info.status == pmtui_proto::ProcessStatus::WaitingRestart)
    {
        out.push(Span::styled(
            format!(
                " · restarts in {}",
                fmt::duration(at.saturating_sub(app.now))
            ),
            t.dim(),
        ));
    }
    out
}

/// The memory gauge's scale and what it is: the process's `max_memory_restart` where set,
/// else its own peak (the machine's memory would leave every bar empty).
pub fn memory_scale(app: &App, id: ProcessId, memory: u64) -> (u64, String) {
    let limit = app
        .detail
        .as_ref()
        .filter(|d| d.info.id == id)
        .and_then(|d| d.spec.max_memory_restart);
    if let Some(limit) = limit {
        return (limit.max(1), format!("of the {} limit", fmt::bytes(limit)));
    }
    let series_peak = app
        .history
        .get(id)
        .and_then(|s| s.memory.iter().copied().max())
        .unwrap_or(0);
    let peak = series_peak
        .max(app.mem_peaks.get(&id).copied().unwrap_or(0))
        .max(memory);
    (peak.max(1), format!("of its {} peak", fmt::bytes(peak)))
}

fn render_gauges(app: &App, frame: &mut Frame, area: Rect, info: &ProcessInfo) {
    let t = app.theme;
    let b = block(app, "Resources".into());
    let inner = b.inner(area);
    frame.render_widget(b, area);
    let [cpu_label, cpu, _, mem_label, mem] =
        Layout::vertical([Constraint::Length(1); 5]).areas(inner);
    frame.render_widget(
        Line::from(Span::styled("CPU (% of one core)", t.label())),
        cpu_label,
    );
    frame.render_widget(
        Gauge::default()
            .ratio((info.cpu / 100.0).clamp(0.0, 1.0))
            .label(fmt::percent(info.cpu))
            .gauge_style(t.cpu())
            .use_unicode(true),
        cpu,
    );
    let (scale, of) = memory_scale(app, info.id, info.memory);
    frame.render_widget(
        Line::from(Span::styled(format!("Memory ({of})"), t.label())),
        mem_label,
    );
    frame.render_widget(
        Gauge::default()
            .ratio((info.memory as f64 / scale as f64).clamp(0.0, 1.0))
            .label(fmt::bytes(info.memory))
            .gauge_style(t.memory())
            .use_unicode(true),
        mem,
    );
}

/// A round number at or above `value`, for the top of an axis.
fn nice_ceiling(value: f64) -> f64 {
    if value <= 0.0 || !value.is_finite() {
        return 1.0;
    }
    let exp = value.log10().floor();
    let base = 10f64.powf(exp);
    [1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0]
        .into_iter()
        .map(|m| m * base)
        .find(|v| *v >= value)
        .unwrap_or(10.0 * base)
}

fn render_charts(app: &App, frame: &mut Frame, area: Rect, info: &ProcessInfo) {
    let t = app.theme;
    let [cpu_area, mem_area] =
        Layout::horizontal([Constraint::Fill(1), Constraint::Fill(1)]).areas(area);
    let series = app.history.get(info.id);
    let n = series.map_or(0, |s| s.cpu.len());
    // x is seconds before the newest sample, so the newest is on the right edge.
    let points = |values: Vec<f64>| -> Vec<(f64, f64)> {
        let len = values.len();
        values
            .into_iter()
            .enumerate()
            .map(|(i, v)| (i as f64 - (len as f64 - 1.0), v))
            .collect()
    };
    let cpu: Vec<(f64, f64)> = points(
        series
            .map(|s| s.cpu.iter().copied().collect())
            .unwrap_or_default(),
    );
    let mem: Vec<(f64, f64)> = points(
        series
            .map(|s| s.memory.iter().map(|m| *m as f64).collect())
            .unwrap_or_default(),
    );
    let cpu_peak = cpu.iter().map(|p| p.1).fold(0.0, f64::max);
    let mem_peak = mem.iter().map(|p| p.1).fold(0.0, f64::max);
    let span = fmt::duration(n as u64 * 1000);
    // A stopped process's samples end when it stopped; say so rather than "last".
    let when = match series.and_then(|s| s.last_at) {
        Some(at) if !info.status.is_running() => {
            format!("{span} until it stopped {}", fmt::ago(app.now, at))
        }
        _ => format!("last {span}"),
    };
    let x_left = -(n.max(2) as f64 - 1.0);
    let x_labels = vec![
        Span::styled(format!("-{span}"), t.dim()),
        // The right edge is the last sample: now, or when it stopped.
        Span::styled(
            if info.status.is_running() || series.and_then(|s| s.last_at).is_none() {
                "now"
            } else {
                "stopped"
            },
            t.dim(),
        ),
    ];
    // CPU against a round number above its peak (at least 1%), so a small peak is visible;
    // memory from zero to a round number above its peak, so steady memory is a line.
    let cpu_top = nice_ceiling(cpu_peak.max(1.0));
    const MB: f64 = 1024.0 * 1024.0;
    let mem_top = nice_ceiling((mem_peak / MB).max(1.0) * 1.1) * MB;
    for (area, title, data, style, top, top_label) in [
        (
            cpu_area,
            format!("CPU · {when} · peak {}", fmt::percent(cpu_peak)),
            cpu,
            t.cpu(),
            cpu_top,
            fmt::percent(cpu_top),
        ),
        (
            mem_area,
            format!("Memory · {when} · peak {}", fmt::bytes(mem_peak as u64)),
            mem,
            t.memory(),
            mem_top,
            fmt::bytes(mem_top as u64),
        ),
    ] {
        let x_labels = x_labels.clone();
        let chart = Chart::new(vec![
            Dataset::default()
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(style)
                .data(&data),
        ])
        .block(block(app, title))
        .x_axis(
            Axis::default()
                .bounds([x_left, 0.0])
                .labels(x_labels)
                .style(t.dim()),
        )
        .y_axis(
            Axis::default()
                .bounds([0.0, top])
                .labels(vec![
                    Span::styled("0", t.dim()),
                    Span::styled(top_label, t.dim()),
                ])
                .style(t.dim()),
        );
        frame.render_widget(chart, area);
    }
}

fn render_env(app: &App, frame: &mut Frame, area: Rect) {
    let t = app.theme;
    let detail = app.detail.as_ref();
    let env = detail.map(|d| &d.env);
    let set = |k: &str| detail.is_some_and(|d| d.spec.config_env.contains_key(k));
    let count = env.map_or(0, |e| e.len());
    let pair = |(k, v): (&String, &String)| {
        Line::from(vec![
            Span::styled(k.clone(), t.key()),
            Span::styled("=", t.dim()),
            Span::raw(v.clone()),
        ])
    };
    // What the user set first; what was inherited (shell, pmtui) below, folded.
    let mut lines: Vec<Line> = env
        .into_iter()
        .flatten()
        .filter(|(k, _)| set(k))
        .map(pair)
        .collect();
    let set_count = lines.len();
    if set_count == 0 {
        lines.push(Line::from(Span::styled("nothing set explicitly", t.dim())));
    }
    let inherited = count - set_count;
    if inherited > 0 {
        let (arrow, verb) = if app.env_expanded {
            ("▾", "hides")
        } else {
            ("▸", "shows")
        };
        lines.push(Line::from(Span::styled(
            format!("{arrow} {inherited} inherited (shell, pmtui) · e {verb}"),
            t.dim(),
        )));
        if app.env_expanded {
            lines.extend(env.into_iter().flatten().filter(|(k, _)| !set(k)).map(pair));
        }
    }
    let b = block(
        app,
        format!("Environment ({set_count} set, {inherited} inherited)"),
    );
    let lines: Vec<Line> = lines
        .into_iter()
        .skip(app.detail_scroll)
        .take(area.height as usize)
        .collect();
    frame.render_widget(Paragraph::new(lines).block(b), area);
}

fn render_history(app: &App, frame: &mut Frame, area: Rect) {
    let t = app.theme;
    let history = app
        .detail
        .as_ref()
        .map(|d| d.history.as_slice())
        .unwrap_or_default();
    let b = block(app, format!("Restart history ({})", history.len()));
    let mut lines: Vec<Line> = Vec::new();
    for r in history.iter().rev() {
        let style = if r.outcome == "errored" {
            t.error()
        } else {
            Style::new()
        };
        lines.push(Line::from(vec![
            Span::styled(format!("{:>12} ", fmt::ago(app.now, r.at)), t.dim()),
            Span::styled(format!("{}: {}", r.reason, exit_how(r)), style),
            Span::styled(
                format!(", ran {} → {}", fmt::duration(r.uptime_ms), r.outcome),
                t.dim(),
            ),
        ]));
        // What it said last on stderr: the "Address already in use" that explains a crash.
        let tail = &r.last_stderr[r.last_stderr.len().saturating_sub(STDERR_LINES)..];
        for text in tail {
            lines.push(Line::from(vec![
                Span::styled("             │ ", t.dim()),
                Span::styled(text.clone(), t.stderr()),
            ]));
        }
    }
    if lines.is_empty() {
        lines.push(Line::from(Span::styled("no exits yet", t.dim())));
    }
    let lines: Vec<Line> = lines
        .into_iter()
        .skip(app.detail_scroll)
        .take(area.height as usize)
        .collect();
    // Wrapped: the end of a stderr line is usually the part that explains.
    frame.render_widget(
        Paragraph::new(lines)
            .block(b)
            .wrap(ratatui::widgets::Wrap { trim: false }),
        area,
    );
}

/// How a run ended, in words.
fn exit_how(r: &ExitRecord) -> String {
    match (&r.exit_signal, r.exit_code) {
        _ if !r.detail.is_empty() => r.detail.clone(),
        (Some(sig), _) => format!("killed by {sig}"),
        (None, Some(code)) => format!("exited with code {code}"),
        (None, None) => "ended".to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn axis_tops_are_round() {
        assert_eq!(super::nice_ceiling(6.7), 8.0);
        assert_eq!(super::nice_ceiling(1.1), 1.5);
        assert_eq!(super::nice_ceiling(0.0), 1.0);
        assert_eq!(super::nice_ceiling(430.0), 500.0);
    }
}
