//! One process in full: what runs and how, gauges, history charts, environment, restarts.

use crate::app::App;
use crate::fmt;
use crate::procs::uptime;
use pmtui_proto::{ExitRecord, ProcessDetail, ProcessId, ProcessInfo};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Gauge, Paragraph, RenderDirection, Sparkline};

pub fn render(app: &mut App, frame: &mut Frame, area: Rect, id: ProcessId) {
    let t = app.theme;
    let Some(info) = app.procs.get(id).cloned() else {
        frame.render_widget(
            Paragraph::new(" This process is gone.").style(t.dim()),
            area,
        );
        return;
    };
    let [top, charts, bottom] = Layout::vertical([
        Constraint::Length(10),
        Constraint::Length(6),
        Constraint::Min(4),
    ])
    .areas(area);
    let [facts, gauges] = Layout::horizontal([Constraint::Fill(3), Constraint::Fill(2)]).areas(top);
    render_facts(app, frame, facts, &info);
    render_gauges(app, frame, gauges, &info);
    render_charts(app, frame, charts, id);
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

fn fact<'a>(app: &App, label: &'a str, value: impl Into<Span<'a>>) -> Line<'a> {
    Line::from(vec![
        Span::styled(format!("{label:<13}"), app.theme.label()),
        value.into(),
    ])
}

fn render_facts(app: &App, frame: &mut Frame, area: Rect, info: &ProcessInfo) {
    let t = app.theme;
    let detail: Option<&ProcessDetail> = app.detail.as_ref().filter(|d| d.info.id == info.id);
    let title = format!("{} · id {}", info.name, info.id);
    let dash = || "-".to_string();
    let (script, interpreter, cwd, instances) = match detail {
        Some(d) => {
            let mut script = d.spec.script.clone();
            for arg in &d.spec.args {
                script.push(' ');
                script.push_str(arg);
            }
            let interpreter = match &d.spec.interpreter {
                Some(i) => std::iter::once(i.as_str())
                    .chain(d.spec.interpreter_args.iter().map(String::as_str))
                    .collect::<Vec<_>>()
                    .join(" "),
                None => "none (runs directly)".to_string(),
            };
            (
                script,
                interpreter,
                d.spec.cwd.display().to_string(),
                format!(
                    "{} (this is #{}) · namespace {}",
                    d.spec.instances, info.instance, info.namespace
                ),
            )
        }
        None => (
            info.command.clone(),
            dash(),
            dash(),
            format!("#{} · namespace {}", info.instance, info.namespace),
        ),
    };
    let running = info.status.is_running();
    let last = detail.and_then(|d| d.history.last());
    let last_restart = match last {
        Some(r) => {
            format!(
                "{} · {}: {} → {}",
                fmt::ago(app.now, r.at),
                r.reason,
                exit_how(r),
                r.outcome
            )
        }
        None => "never".to_string(),
    };
    let status = Line::from(
        std::iter::once(Span::styled(format!("{:<13}", "status"), t.label()))
            .chain(status_spans(app, info))
            .collect::<Vec<_>>(),
    );
    let lines = vec![
        status,
        fact(app, "script", script),
        fact(app, "interpreter", interpreter),
        fact(app, "cwd", cwd),
        fact(app, "instances", instances),
        fact(
            app,
            "uptime",
            format!(
                "{} · pid {} · restarts {}",
                if running {
                    fmt::duration(uptime(info, app.now))
                } else {
                    "-".into()
                },
                info.pid.map_or_else(dash, |p| p.to_string()),
                info.restarts
            ),
        ),
        fact(app, "last restart", last_restart),
    ];
    let mut lines = lines;
    if let Some(word) = fmt::health_word(info) {
        let probe = info
            .last_probe
            .as_ref()
            .map(|p| format!(" · {}", p.message))
            .unwrap_or_default();
        lines.push(fact(app, "health", format!("{word}{probe}")));
    }
    if let Some(text) = &info.status_text {
        lines.push(fact(app, "app status", text.clone()));
    }
    lines.push(fact(
        app,
        "",
        Span::styled(if detail.is_none() { "loading…" } else { "" }, t.dim()),
    ));
    frame.render_widget(Paragraph::new(lines).block(block(app, title)), area);
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
    out
}

/// The scale of the memory gauge: the process's memory limit, else the machine's memory.
fn memory_scale(app: &App) -> u64 {
    app.detail
        .as_ref()
        .and_then(|d| d.spec.max_memory_restart)
        .unwrap_or(app.mem_total)
        .max(1)
}

fn render_gauges(app: &App, frame: &mut Frame, area: Rect, info: &ProcessInfo) {
    let t = app.theme;
    let b = block(app, "Resources".into());
    let inner = b.inner(area);
    frame.render_widget(b, area);
    let [cpu_label, cpu, _, mem_label, mem] =
        Layout::vertical([Constraint::Length(1); 5]).areas(inner);
    let scale = memory_scale(app);
    let limit = app.detail.as_ref().and_then(|d| d.spec.max_memory_restart);
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
    let of = match limit {
        Some(l) => format!("Memory (of the {} limit)", fmt::bytes(l)),
        None if app.mem_total > 0 => format!("Memory (of {} total)", fmt::bytes(app.mem_total)),
        None => "Memory".to_string(),
    };
    frame.render_widget(Line::from(Span::styled(of, t.label())), mem_label);
    frame.render_widget(
        Gauge::default()
            .ratio((info.memory as f64 / scale as f64).clamp(0.0, 1.0))
            .label(fmt::bytes(info.memory))
            .gauge_style(t.memory())
            .use_unicode(true),
        mem,
    );
}

fn render_charts(app: &App, frame: &mut Frame, area: Rect, id: ProcessId) {
    let t = app.theme;
    let [cpu_area, mem_area] =
        Layout::horizontal([Constraint::Fill(1), Constraint::Fill(1)]).areas(area);
    let series = app.history.get(id);
    // Newest first, drawn from the right edge, so the latest sample is always on the right.
    let cpu: Vec<u64> = series
        .map(|s| s.cpu.iter().rev().map(|c| (c * 10.0) as u64).collect())
        .unwrap_or_default();
    let mem: Vec<u64> = series
        .map(|s| s.memory.iter().rev().copied().collect())
        .unwrap_or_default();
    let span = fmt::duration(cpu.len() as u64 * 1000);
    let cpu_max = series
        .and_then(|s| s.cpu.iter().copied().reduce(f64::max))
        .unwrap_or(0.0);
    let mem_max = mem.iter().copied().max().unwrap_or(0);
    // CPU against one full core (or the peak, for busy multi-threaded trees); memory against
    // a little above its peak, so that steady memory does not fill the chart to the top.
    let cpu_scale = 1000u64.max((cpu_max * 10.0) as u64);
    let mem_scale = (mem_max + mem_max / 4).max(1);
    for (area, title, data, style, max) in [
        (
            cpu_area,
            format!("CPU · last {span} · peak {}", fmt::percent(cpu_max)),
            cpu,
            t.cpu(),
            cpu_scale,
        ),
        (
            mem_area,
            format!("Memory · last {span} · peak {}", fmt::bytes(mem_max)),
            mem,
            t.memory(),
            mem_scale,
        ),
    ] {
        frame.render_widget(
            Sparkline::default()
                .block(block(app, title))
                .data(&data)
                .max(max)
                .direction(RenderDirection::RightToLeft)
                .style(style),
            area,
        );
    }
}

fn render_env(app: &App, frame: &mut Frame, area: Rect) {
    let t = app.theme;
    let env = app.detail.as_ref().map(|d| &d.env);
    let count = env.map_or(0, |e| e.len());
    let b = block(app, format!("Environment ({count})"));
    let lines: Vec<Line> = env
        .into_iter()
        .flatten()
        .skip(app.detail_scroll)
        .take(area.height as usize)
        .map(|(k, v)| {
            Line::from(vec![
                Span::styled(k.clone(), t.key()),
                Span::styled("=", t.dim()),
                Span::raw(v.clone()),
            ])
        })
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
    let mut lines: Vec<Line> = history
        .iter()
        .rev()
        .skip(app.detail_scroll)
        .take(area.height as usize)
        .map(|r| {
            let style = if r.outcome == "errored" {
                t.error()
            } else {
                Style::new()
            };
            Line::from(vec![
                Span::styled(format!("{:>12} ", fmt::ago(app.now, r.at)), t.dim()),
                Span::styled(format!("{}: {}", r.reason, exit_how(r)), style),
                Span::styled(
                    format!(", ran {} → {}", fmt::duration(r.uptime_ms), r.outcome),
                    t.dim(),
                ),
            ])
        })
        .collect();
    if lines.is_empty() {
        lines.push(Line::from(Span::styled("no exits yet", t.dim())));
    }
    frame.render_widget(Paragraph::new(lines).block(b), area);
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
