//! The live monitor: a card per process (status, CPU and memory bars, pid, uptime), as many
//! columns as the width allows, and the merged tail of every process's output below.

use crate::app::App;
use crate::fmt;
use crate::procs::uptime;
use pmtui_proto::{LogStream, ProcessInfo};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

pub const CARD_HEIGHT: u16 = 5;
const CARD_MIN_WIDTH: u16 = 38;

pub fn render(app: &mut App, frame: &mut Frame, area: Rect) {
    let t = app.theme;
    let columns = (area.width / CARD_MIN_WIDTH).max(1) as usize;
    let card_rows = app.procs.len().div_ceil(columns).max(1) as u16;
    // Cards take what they need up to about 60% of the height; the tail gets the rest.
    let max_cards = (area.height * 3 / 5 / CARD_HEIGHT).max(1) * CARD_HEIGHT;
    let cards_height = (card_rows * CARD_HEIGHT).min(max_cards);
    let [cards, tail] =
        Layout::vertical([Constraint::Length(cards_height), Constraint::Fill(1)]).areas(area);
    let card_width = cards.width / columns as u16;
    app.areas.cards = cards;
    app.areas.card_width = card_width;
    app.areas.card_columns = columns;
    if app.procs.is_empty() {
        let text = "No processes to watch. Press esc, then a to add one.";
        frame.render_widget(
            Paragraph::new(Span::styled(text, t.dim())).centered(),
            cards,
        );
    } else {
        let visible_rows = (cards.height / CARD_HEIGHT).max(1) as usize;
        let selected_row = app
            .selected
            .and_then(|id| app.procs.position(id))
            .unwrap_or(0)
            / columns;
        if selected_row < app.card_top {
            app.card_top = selected_row;
        } else if selected_row >= app.card_top + visible_rows {
            app.card_top = selected_row + 1 - visible_rows;
        }
        let first = app.card_top * columns;
        let last = ((app.card_top + visible_rows) * columns).min(app.procs.len());
        // Cards off screen are counted on the tail's border, so none is lost silently.
        app.areas.cards_hidden = (first, app.procs.len() - last);
        for (i, id) in app.procs.order()[first..last].iter().enumerate() {
            let Some(p) = app.procs.get(*id) else {
                continue;
            };
            let (row, col) = (i / columns, i % columns);
            let rect = Rect::new(
                cards.x + col as u16 * card_width,
                cards.y + row as u16 * CARD_HEIGHT,
                card_width,
                CARD_HEIGHT,
            );
            card(app, frame, rect, p, app.selected == Some(*id));
        }
    }
    render_tail(app, frame, tail);
}

fn card(app: &App, frame: &mut Frame, area: Rect, p: &ProcessInfo, selected: bool) {
    let t = app.theme;
    let border = if selected {
        t.focus_border()
    } else {
        t.border()
    };
    let title = Line::from(vec![
        Span::styled(format!(" {} ", fmt::symbol(p.status)), t.status(p.status)),
        Span::styled(
            format!(
                "{} ",
                fmt::clip(&p.name, area.width.saturating_sub(18) as usize)
            ),
            if selected { t.title() } else { Style::new() },
        ),
        Span::styled(
            match app.hosts.short_of(p.id) {
                Some(host) => format!("[{} {}] ", app.hosts.shown_id(p.id), fmt::clip(host, 12)),
                None => format!("[{}] ", p.id),
            },
            t.dim(),
        ),
    ]);
    let block = Block::new()
        .borders(Borders::ALL)
        .border_style(border)
        .border_type(if selected {
            ratatui::widgets::BorderType::Thick
        } else {
            ratatui::widgets::BorderType::Rounded
        })
        .title(title)
        .title(
            Line::from(Span::styled(format!(" {} ", p.status), t.status(p.status))).right_aligned(),
        );
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let running = p.status.is_running();
    let width = inner.width as usize;
    // Against its limit or its own peak (the machine's memory would leave bars empty).
    let scale = crate::ui::detail::memory_scale(app, p.id, p.memory).0 as f64;
    let cpu_text = fmt::percent(p.cpu);
    let mem_text = fmt::bytes(p.memory);
    let lines = vec![
        bar(
            app,
            "CPU",
            (p.cpu / 100.0).clamp(0.0, 1.0),
            &cpu_text,
            width,
            t.cpu(),
        ),
        bar(
            app,
            "MEM",
            (p.memory as f64 / scale).clamp(0.0, 1.0),
            &mem_text,
            width,
            t.memory(),
        ),
        Line::from(Span::styled(
            format!(
                "{}pid {} · up {} · ↺ {}",
                // A Node app's event-loop lag (p99), from pmtui's preload; first, as cards
                // are narrow.
                app.app_metrics
                    .node_lag(p.id)
                    .map_or_else(String::new, |lag| format!("lag {lag:.0}ms · ")),
                p.pid.map_or_else(|| "-".to_string(), |pid| pid.to_string()),
                if running {
                    fmt::duration(uptime(p, app.now))
                } else {
                    "-".to_string()
                },
                p.restarts
            ),
            t.label(),
        )),
    ];
    frame.render_widget(Paragraph::new(lines), inner);
}

/// `CPU ██████░░░░░░  12.5%`: a bar that reads without colour.
fn bar<'a>(
    app: &App,
    label: &'a str,
    ratio: f64,
    value: &str,
    width: usize,
    style: Style,
) -> Line<'a> {
    let value = format!(" {value:>9}");
    let bar_width = width.saturating_sub(label.len() + 1 + value.len());
    let filled = ((ratio * bar_width as f64).round() as usize).min(bar_width);
    // Anything above zero shows at least a sliver.
    let filled = if ratio > 0.0 && filled == 0 && bar_width > 0 {
        1
    } else {
        filled
    };
    Line::from(vec![
        Span::styled(format!("{label} "), app.theme.label()),
        Span::styled("█".repeat(filled), style),
        Span::styled("░".repeat(bar_width - filled), app.theme.dim()),
        Span::raw(value),
    ])
}

fn render_tail(app: &App, frame: &mut Frame, area: Rect) {
    let t = app.theme;
    let block = Block::new()
        .borders(Borders::TOP)
        .border_style(t.border())
        .title(Span::styled(" Recent output, all processes ", t.title()));
    let (above, below) = app.areas.cards_hidden;
    let block = if above + below > 0 {
        let text = match (above, below) {
            (0, b) => format!(" ▼ {b} more below (↓ PgDn) "),
            (a, 0) => format!(" ▲ {a} more above (↑ PgUp) "),
            (a, b) => format!(" ▲ {a} above · ▼ {b} below "),
        };
        block.title(Line::from(Span::styled(text, t.warn())).right_aligned())
    } else {
        block
    };
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let height = inner.height as usize;
    let n = app.tail.len();
    let lines: Vec<Line> = (n.saturating_sub(height)..n)
        .filter_map(|i| app.tail.shown(i))
        .map(|l| {
            let err = l.stream == LogStream::Err;
            let who = source(app, l);
            Line::from(vec![
                Span::styled(format!("{:<14}│ ", fmt::clip(&who, 14)), t.name(l.id)),
                Span::styled(l.text.as_str(), if err { t.stderr() } else { Style::new() }),
            ])
        })
        .collect();
    if lines.is_empty() {
        frame.render_widget(
            Paragraph::new(Span::styled("No output yet.", t.dim())),
            inner,
        );
    } else {
        frame.render_widget(Paragraph::new(lines), inner);
    }
}

/// Who wrote a merged line: the name, with the instance (`web#1`) when the name has several;
/// with several hosts, after the host's name (`web1:web`).
pub fn source(app: &App, line: &pmtui_proto::LogLine) -> String {
    let host = app.hosts.host_of(line.id);
    // Instances are counted on the line's own host.
    let instances = |name: &str| {
        app.procs
            .all()
            .filter(|q| q.name == name && app.hosts.host_of(q.id) == host)
            .count()
    };
    let who = match app.procs.get(line.id) {
        Some(p) if instances(&p.name) > 1 => format!("{}#{}", line.name, p.instance),
        _ => line.name.clone(),
    };
    match app.hosts.short_of(line.id) {
        Some(host) => format!("{host}:{who}"),
        None => who,
    }
}
