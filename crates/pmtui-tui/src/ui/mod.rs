//! Drawing: one function per view, all reading the model. The frame is a header line, the
//! view, a status line (messages, or the filter being typed) and a footer of main keys.

mod app_metrics;
mod dashboard;
pub(crate) mod detail;
mod logs;
pub(crate) mod monitor;
mod overlay;

use crate::app::{App, Conn, Editing, Overlay, View};
use crate::fmt;
use crate::keys::{self, Binding};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

pub use monitor::CARD_HEIGHT;

pub fn render(app: &mut App, frame: &mut Frame) {
    let area = frame.area();
    let banner = if app.hosts.is_multi() {
        app.hosts.down().next().is_some()
    } else {
        matches!(app.conn, Conn::Down(_))
    } as u16;
    let [header, banner_area, body, status, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(banner),
        Constraint::Fill(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    render_header(app, frame, header);
    if app.hosts.is_multi() {
        // Each host that is away, and why; the others keep updating.
        let down: Vec<String> = app
            .hosts
            .down()
            .map(|(host, why)| format!("{host} disconnected: {why}"))
            .collect();
        if !down.is_empty() {
            let text = format!(" ✖ {} — reconnecting", down.join(" · "));
            frame.render_widget(Paragraph::new(text).style(app.theme.error()), banner_area);
        }
    } else if let Conn::Down(why) = &app.conn {
        let text = format!(" ✖ daemon unreachable: {why} — retrying every second · q quits");
        frame.render_widget(Paragraph::new(text).style(app.theme.error()), banner_area);
    }
    match app.view() {
        View::Dashboard => dashboard::render(app, frame, body),
        View::Detail(id) => detail::render(app, frame, body, id),
        View::Logs => logs::render(app, frame, body),
        View::Monitor => monitor::render(app, frame, body),
    }
    render_status(app, frame, status);
    render_footer(app, frame, footer);
    match &app.overlay {
        Some(Overlay::Help) => overlay::help(app, frame, area),
        Some(Overlay::Confirm { id, name }) => overlay::confirm(app, frame, area, *id, name),
        Some(Overlay::Add(form)) => overlay::add(app, frame, area, form),
        None => {}
    }
}

fn render_header(app: &App, frame: &mut Frame, area: Rect) {
    let t = app.theme;
    let c = app.procs.counts;
    let mut spans = vec![
        Span::styled(" pmtui ", t.title()),
        Span::styled(format!("{} processes  ", c.total), t.label()),
        Span::styled(
            format!(
                "{} {} online  ",
                fmt::symbol(pmtui_proto::ProcessStatus::Online),
                c.online
            ),
            t.status(pmtui_proto::ProcessStatus::Online),
        ),
        Span::styled(
            format!(
                "{} {} stopped  ",
                fmt::symbol(pmtui_proto::ProcessStatus::Stopped),
                c.stopped
            ),
            t.label(),
        ),
        Span::styled(
            format!(
                "{} {} errored",
                fmt::symbol(pmtui_proto::ProcessStatus::Errored),
                c.errored
            ),
            if c.errored > 0 { t.error() } else { t.label() },
        ),
    ];
    if app.hosts.is_multi() {
        // Every host before anything else: `…` while it connects, `✖` once it is lost.
        let mut hosts = vec![Span::styled("@ ", t.warn())];
        for (i, h) in app.hosts.list.iter().enumerate() {
            let sep = if i + 1 == app.hosts.list.len() {
                "  "
            } else {
                ", "
            };
            hosts.push(match h.conn {
                Conn::Up { .. } => Span::styled(format!("{}{sep}", h.label), t.warn()),
                Conn::Connecting => Span::styled(format!("… {}{sep}", h.label), t.dim()),
                Conn::Down(_) => Span::styled(format!("✖ {}{sep}", h.label), t.error()),
            });
        }
        if let Some(context) = &app.host_label {
            hosts.insert(1, Span::styled(format!("{context}: "), t.warn()));
        }
        spans.splice(1..1, hosts);
    } else if let Some(label) = &app.host_label {
        // Which machine this is, before anything else: a remote dashboard must not be
        // mistaken for this host's.
        spans.insert(1, Span::styled(format!("@ {label}  "), t.warn()));
    }
    if c.suspended > 0 {
        spans.push(Span::styled(
            format!(
                "  {} {} suspended",
                fmt::symbol(pmtui_proto::ProcessStatus::Suspended),
                c.suspended
            ),
            t.warn(),
        ));
    }
    if c.busy > 0 {
        spans.push(Span::styled(format!("  ◐ {} busy", c.busy), t.warn()));
    }
    let right = match &app.conn {
        _ if app.hosts.is_multi() => format!(
            "{} of {} hosts connected ",
            app.hosts.up(),
            app.hosts.list.len()
        ),
        Conn::Up { pid, version } => format!("daemon {version} · pid {pid} "),
        Conn::Connecting => "connecting… ".to_string(),
        Conn::Down(_) => "disconnected ".to_string(),
    };
    let left_width: usize = spans.iter().map(|s| s.content.chars().count()).sum();
    let right_width = right.chars().count();
    frame.render_widget(Line::from(spans), area);
    // The daemon's identity only when it fits beside the counts.
    if left_width + right_width + 2 <= area.width as usize {
        frame.render_widget(
            Line::from(Span::styled(right, t.dim())).right_aligned(),
            area,
        );
    }
}

fn render_status(app: &App, frame: &mut Frame, area: Rect) {
    let t = app.theme;
    if let Some(editing) = app.editing {
        let prompt = match editing {
            Editing::Filter => " filter: ",
            Editing::LogSearch => " search: ",
            Editing::LogFilter => " show only lines with: ",
        };
        let width = area.width.saturating_sub(prompt.len() as u16 + 1) as usize;
        let scroll = app.input.visual_scroll(width);
        let line = Line::from(vec![
            Span::styled(prompt, t.key()),
            Span::raw(app.input.value().chars().skip(scroll).collect::<String>()),
        ]);
        frame.render_widget(line, area);
        let x = area.x
            + prompt.chars().count() as u16
            + (app.input.visual_cursor().saturating_sub(scroll)) as u16;
        frame.set_cursor_position((x.min(area.right().saturating_sub(1)), area.y));
        return;
    }
    if let Some(toast) = &app.toast {
        let style = if toast.error { t.error() } else { t.ok() };
        frame.render_widget(
            Line::from(Span::styled(format!(" {}", toast.text), style)),
            area,
        );
        return;
    }
    let hint = status_hint(app);
    frame.render_widget(Line::from(Span::styled(hint, t.dim())), area);
}

/// What the status line says when there is no message: the view's state in words.
fn status_hint(app: &App) -> String {
    match app.view() {
        View::Dashboard => {
            let mut s = format!(
                " sorted by {} {}",
                app.procs.sort.title().to_lowercase(),
                if app.procs.descending { "↓" } else { "↑" }
            );
            if !app.procs.filter().is_empty() {
                s.push_str(&format!(
                    " · filter {:?}: {} of {} shown (esc clears)",
                    app.procs.filter(),
                    app.procs.len(),
                    app.procs.counts.total
                ));
            }
            if let Some(why) = app.current().and_then(|p| explain(app, p)) {
                s.push_str(&format!(" · {why}"));
            }
            s
        }
        View::Logs => {
            let logs = &app.logs;
            let (pos, short_pos) = if logs.is_empty() {
                (" no line".to_string(), " no line".to_string())
            } else {
                let (at, of) = (logs.cursor_pos() + 1, logs.len());
                (format!(" line {at} of {of}"), format!(" line {at}/{of}"))
            };
            // Why fewer lines are shown than were read, and the search's match count, each
            // as (words, short words, key hint): on a narrow terminal the hints go first,
            // then the words shorten, so the counts stay on screen.
            let mut parts: Vec<(String, String, &str)> = Vec::new();
            let mut why = Vec::new();
            let mut short_why = Vec::new();
            if logs.stream != crate::logbuf::StreamFilter::Combined {
                why.push(format!("{} only", logs.stream.label()));
                short_why.push(logs.stream.label().to_string());
            }
            if !logs.filter().is_empty() {
                why.push(format!("lines with {:?}", logs.filter()));
                short_why.push(format!("{:?}", logs.filter()));
            }
            if !why.is_empty() {
                let counted = format!("{} of {} lines", logs.len(), logs.total());
                parts.push((
                    format!(" · {}: {counted}", why.join(", ")),
                    format!(" · {}: {counted}", short_why.join(", ")),
                    " (esc clears the filter, tab the stream)",
                ));
            }
            if !logs.search.is_empty() {
                let matches = logs
                    .shown_lines()
                    .filter(|l| crate::logbuf::contains(&l.text, &logs.search))
                    .count();
                let plural = if matches == 1 { "" } else { "es" };
                parts.push((
                    format!(
                        " · search {:?}: {matches} matching line{}",
                        logs.search,
                        if matches == 1 { "" } else { "s" }
                    ),
                    format!(" · /{}: {matches} match{plural}", logs.search),
                    " (n/N)",
                ));
            }
            let width = |s: &str| s.chars().count();
            let long: usize = parts.iter().map(|(words, _, _)| width(words)).sum();
            let hints: usize = parts.iter().map(|(_, _, hint)| width(hint)).sum();
            let room = usize::from(app.size.0);
            let tier = if width(&pos) + long + hints <= room {
                2
            } else if width(&pos) + long <= room {
                1
            } else {
                0
            };
            let mut s = if tier > 0 { pos } else { short_pos };
            for (words, short, hint) in parts {
                s.push_str(if tier > 0 { &words } else { &short });
                if tier == 2 {
                    s.push_str(hint);
                }
            }
            if app.logs.anchor.is_some() {
                s.push_str(" · selecting: y copies, esc cancels");
            }
            s
        }
        View::Monitor => {
            " memory bars: each process against its max_memory_restart, else its own peak"
                .to_string()
        }
        View::Detail(_) => String::new(),
    }
}

/// Why the selected process is in its status, when that needs saying.
fn explain(app: &App, p: &pmtui_proto::ProcessInfo) -> Option<String> {
    let mut why = p.status_reason.clone();
    if let Some(at) = p
        .next_restart_at
        .filter(|_| p.status == pmtui_proto::ProcessStatus::WaitingRestart)
    {
        let due = format!("restarts in {}", fmt::duration(at.saturating_sub(app.now)));
        why = Some(why.map_or(due.clone(), |w| format!("{w}; {due}")));
    }
    why.map(|w| format!("{}: {w}", p.name))
}

/// The bindings of what has the keyboard now.
pub fn bindings(app: &App) -> &'static [Binding] {
    match &app.overlay {
        Some(Overlay::Add(_)) => return keys::ADD,
        Some(Overlay::Confirm { .. }) => return keys::CONFIRM,
        _ => {}
    }
    match app.view() {
        View::Dashboard => keys::DASHBOARD,
        View::Detail(_) => keys::DETAIL,
        View::Logs => keys::LOGS,
        View::Monitor if app.stack.len() <= 1 => keys::MONITOR_ROOT,
        View::Monitor => keys::MONITOR,
    }
}

fn render_footer(app: &App, frame: &mut Frame, area: Rect) {
    let t = app.theme;
    if let Some(Overlay::Confirm { id, name }) = &app.overlay {
        // The answer keys say what they do to which process.
        let spans = vec![
            Span::styled(" y", t.key()),
            Span::styled(format!(" delete {name} (id {id})  "), t.label()),
            Span::styled("n", t.key()),
            Span::styled(" keep it", t.label()),
        ];
        frame.render_widget(Line::from(spans), area);
        return;
    }
    let shown: Vec<&Binding> = bindings(app)
        .iter()
        .filter(|b| !b.short.is_empty())
        .collect();
    let width = |b: &Binding| footer_key(b).chars().count() + b.short.chars().count() + 3;
    // Help and quit/back always fit; the others fill the room left, in order.
    let essential = |b: &Binding| matches!(b.short, "help" | "quit" | "back");
    let must: usize = shown
        .iter()
        .filter(|b| essential(b))
        .map(|b| width(b))
        .sum();
    let mut room = (area.width as usize).saturating_sub(1 + must);
    let mut spans = vec![Span::raw(" ")];
    let mut full = false;
    for b in shown {
        if !essential(b) {
            // In order of use: once one does not fit, the rarer ones after it stay out too.
            full |= width(b) > room;
            if full {
                continue;
            }
            room -= width(b);
        }
        spans.push(Span::styled(footer_key(b).to_string(), t.key()));
        spans.push(Span::styled(format!(" {}  ", b.short), t.label()));
    }
    frame.render_widget(Line::from(spans).style(Style::new()), area);
}

fn footer_key(b: &Binding) -> &'static str {
    match b.keys.split_whitespace().next().unwrap_or(b.keys) {
        "enter" => "⏎",
        key => key,
    }
}

/// A rectangle of at most `width`×`height` in the middle of `area`.
pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let width = width.min(area.width);
    let height = height.min(area.height);
    Rect::new(
        area.x + (area.width - width) / 2,
        area.y + (area.height - height) / 2,
        width,
        height,
    )
}
