//! The process table. Only the rows on screen are built, so a frame costs the same with ten
//! processes or ten thousand.

use crate::app::App;
use crate::fmt;
use crate::procs::{Column, uptime};
use pmtui_proto::ProcessInfo;
use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table, TableState};

/// Columns shown at this width: the namespace goes first when space is short.
fn columns(width: u16) -> Vec<(Column, Constraint)> {
    let mut out = vec![
        (Column::Id, Constraint::Length(4)),
        (Column::Name, Constraint::Fill(1)),
        (Column::Status, Constraint::Length(17)),
        (Column::Cpu, Constraint::Length(7)),
        (Column::Memory, Constraint::Length(9)),
        (Column::Uptime, Constraint::Length(8)),
        (Column::Restarts, Constraint::Length(4)),
        (Column::Pid, Constraint::Length(7)),
    ];
    if width >= 96 {
        out.push((Column::Namespace, Constraint::Length(12)));
    }
    out
}

fn right(column: Column) -> bool {
    matches!(
        column,
        Column::Id | Column::Cpu | Column::Memory | Column::Uptime | Column::Restarts | Column::Pid
    )
}

pub fn render(app: &mut App, frame: &mut Frame, area: Rect) {
    let t = app.theme;
    let block = Block::new()
        .borders(Borders::TOP)
        .border_style(t.border())
        .title(Span::styled(" Processes ", t.title()));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    app.areas.table = inner;
    if app.procs.is_empty() {
        let text = if app.procs.counts.total == 0 {
            "No processes yet. Press a to add one, or run `pmtui start <script>`."
        } else {
            "No process matches the filter. Press esc to clear it."
        };
        let area = inner.inner(ratatui::layout::Margin::new(0, 2));
        frame.render_widget(Paragraph::new(text).style(t.dim()).centered(), area);
        return;
    }
    let body_height = inner.height.saturating_sub(1) as usize;
    let selected = app
        .selected
        .and_then(|id| app.procs.position(id))
        .unwrap_or(0);
    if selected < app.table_top {
        app.table_top = selected;
    } else if body_height > 0 && selected >= app.table_top + body_height {
        app.table_top = selected + 1 - body_height;
    }
    app.table_top = app
        .table_top
        .min(app.procs.len().saturating_sub(body_height));
    let cols = columns(inner.width);
    let header = header_row(app, inner);
    let end = (app.table_top + body_height).min(app.procs.len());
    let rows: Vec<Row> = app.procs.order()[app.table_top..end]
        .iter()
        .filter_map(|id| app.procs.get(*id))
        .map(|p| row(app, p, &cols))
        .collect();
    let widths: Vec<Constraint> = cols.iter().map(|(_, c)| *c).collect();
    let table = Table::new(rows, widths)
        .header(header)
        .column_spacing(1)
        .flex(Flex::Start)
        .row_highlight_style(t.selected());
    let mut state = TableState::default().with_selected(Some(selected - app.table_top));
    frame.render_stateful_widget(table, inner, &mut state);
}

/// Returns the header row, and records where each column is for mouse clicks.
fn header_row(app: &mut App, inner: Rect) -> Row<'static> {
    let t = app.theme;
    let cols = columns(inner.width);
    let widths: Vec<Constraint> = cols.iter().map(|(_, c)| *c).collect();
    let rects = Layout::horizontal(widths)
        .flex(Flex::Start)
        .spacing(1)
        .split(inner);
    app.areas.columns = cols
        .iter()
        .zip(rects.iter())
        .map(|((c, _), r)| (c.index(), r.x, r.x + r.width + 1))
        .collect();
    let cells = cols.iter().map(|(c, _)| {
        let mut title = c.title().to_string();
        if *c == app.procs.sort {
            title.push_str(if app.procs.descending { "▼" } else { "▲" });
        }
        let line = Line::from(title);
        Cell::from(if right(*c) {
            line.right_aligned()
        } else {
            line
        })
    });
    Row::new(cells.collect::<Vec<_>>()).style(t.header())
}

fn row<'a>(app: &App, p: &'a ProcessInfo, cols: &[(Column, Constraint)]) -> Row<'a> {
    let t = app.theme;
    let running = p.status.is_running();
    let cells = cols.iter().map(|(c, _)| {
        let text: Line = match c {
            Column::Id => Line::from(p.id.to_string()),
            Column::Name => {
                // A health marker after the name: ✓ healthy, … starting or not ready yet,
                // ✗ unhealthy.
                let marker = fmt::health_word(p).map(|word| match word {
                    "healthy" => Span::styled(" ✓", t.ok()),
                    "unhealthy" => Span::styled(" ✗", t.error()),
                    _ => Span::styled(" …", t.warn()),
                });
                Line::from(
                    std::iter::once(Span::raw(p.name.as_str()))
                        .chain(marker)
                        .collect::<Vec<_>>(),
                )
            }
            Column::Status => Line::from(Span::styled(
                format!("{} {}", fmt::symbol(p.status), p.status),
                t.status(p.status),
            )),
            Column::Cpu if running => Line::from(fmt::percent(p.cpu)),
            Column::Memory if running => Line::from(fmt::bytes(p.memory)),
            Column::Uptime if running => Line::from(fmt::duration(uptime(p, app.now))),
            Column::Cpu | Column::Memory | Column::Uptime => Line::from(Span::styled("-", t.dim())),
            Column::Restarts => Line::from(Span::styled(
                p.restarts.to_string(),
                if p.restarts > 0 { t.warn() } else { t.label() },
            )),
            Column::Pid => Line::from(p.pid.map_or_else(|| "-".to_string(), |pid| pid.to_string())),
            Column::Namespace => Line::from(Span::styled(p.namespace.as_str(), t.dim())),
        };
        Cell::from(if right(*c) {
            text.right_aligned()
        } else {
            text
        })
    });
    Row::new(cells.collect::<Vec<_>>())
}
