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

/// A column of the table: one of the sortable ones, or the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Col {
    Sort(Column),
    /// Health and the age of the last probe, when any process has a health check.
    Health,
    /// The row's host, with several hosts (`✖` before a disconnected one).
    Host,
    Command,
}

/// Narrowest the name column gets, and widest when a command column takes the rest.
const NAME_MIN: u16 = 14;
const NAME_MAX: u16 = 32;
const COMMAND_MIN: u16 = 12;
/// Widest the host column gets (longer labels end in …).
const HOST_MAX: usize = 24;

/// Columns shown at this width. The name always stays; the others join in order of use
/// while they fit; on wide terminals the name is capped near the longest name and the
/// command line takes the rest, as htop and process-compose do.
fn columns(
    width: u16,
    longest_name: u16,
    health: bool,
    tasks: bool,
    host: Option<u16>,
) -> Vec<(Col, Constraint)> {
    // A task's status says when it runs next (`◷ scheduled · next Dec 25`).
    let status = if tasks { 25 } else { 17 };
    let by_use: [(Col, u16); 9] = [
        (Col::Sort(Column::Status), status),
        (Col::Health, 13),
        (Col::Sort(Column::Cpu), 7),
        (Col::Sort(Column::Memory), 9),
        (Col::Sort(Column::Id), 4),
        (Col::Sort(Column::Uptime), 8),
        (Col::Sort(Column::Restarts), 4),
        (Col::Sort(Column::Pid), 7),
        (Col::Sort(Column::Namespace), 12),
    ];
    // With several hosts the host is never left out: a row means nothing without it.
    let mut used = NAME_MIN + host.map_or(0, |w| w + 1);
    let mut shown = Vec::new();
    for (c, w) in by_use {
        if c == Col::Health && !health {
            continue;
        }
        if used + 1 + w > width {
            break;
        }
        used += 1 + w;
        shown.push(c);
    }
    let name_cap = (longest_name + 2).clamp(NAME_MIN, NAME_MAX);
    let command = used - NAME_MIN + name_cap + 1 + COMMAND_MIN <= width;
    let mut out = Vec::new();
    for (c, w) in by_use {
        if c == Col::Sort(Column::Status) {
            let name = if command {
                Constraint::Length(name_cap)
            } else {
                Constraint::Fill(1)
            };
            out.push((Col::Sort(Column::Name), name));
        }
        if shown.contains(&c) {
            out.push((c, Constraint::Length(w)));
        }
    }
    // The id leads when shown, then the host.
    if let Some(w) = host {
        out.insert(0, (Col::Host, Constraint::Length(w)));
    }
    if let Some(i) = out.iter().position(|(c, _)| *c == Col::Sort(Column::Id)) {
        let id = out.remove(i);
        out.insert(0, id);
    }
    // Uptime, restarts and pid read in that order, after memory.
    if command {
        out.push((Col::Command, Constraint::Fill(1)));
    }
    out
}

fn right(column: Col) -> bool {
    matches!(
        column,
        Col::Sort(
            Column::Id
                | Column::Cpu
                | Column::Memory
                | Column::Uptime
                | Column::Restarts
                | Column::Pid
        )
    )
}

pub fn render(app: &mut App, frame: &mut Frame, area: Rect) {
    // The output pane takes two fifths of the height, when there is room for both.
    let area = if app.log_pane && area.height >= 12 {
        let [list, pane] = Layout::vertical([Constraint::Fill(3), Constraint::Fill(2)]).areas(area);
        render_output(app, frame, pane);
        list
    } else {
        area
    };
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
    // One pass over the shown rows for what sizes the columns.
    let (mut longest, mut health, mut tasks) = (0usize, false, false);
    for p in app.procs.order().iter().filter_map(|id| app.procs.get(*id)) {
        longest = longest.max(p.name.chars().count());
        health |= fmt::health_word(p).is_some();
        tasks |= next_run(p).is_some();
    }
    let longest = longest.min(u16::MAX as usize) as u16;
    // Room for the widest host and its `✖ `, within reason.
    let host = app
        .hosts
        .is_multi()
        .then(|| (app.hosts.widest() + 2).clamp(4, HOST_MAX) as u16);
    let cols = columns(inner.width, longest, health, tasks, host);
    let header = header_row(app, inner, &cols);
    // Long names end in … rather than being cut mid-word without a sign.
    let name_width = app
        .areas
        .columns
        .iter()
        .find(|(i, _, _)| *i == Column::Name.index())
        .map_or(usize::MAX, |(_, from, to)| {
            (to - from).saturating_sub(1) as usize
        });
    let end = (app.table_top + body_height).min(app.procs.len());
    let rows: Vec<Row> = app.procs.order()[app.table_top..end]
        .iter()
        .filter_map(|id| app.procs.get(*id))
        .map(|p| row(app, p, &cols, name_width))
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
fn header_row(app: &mut App, inner: Rect, cols: &[(Col, Constraint)]) -> Row<'static> {
    let t = app.theme;
    let widths: Vec<Constraint> = cols.iter().map(|(_, c)| *c).collect();
    let rects = Layout::horizontal(widths)
        .flex(Flex::Start)
        .spacing(1)
        .split(inner);
    app.areas.columns = cols
        .iter()
        .zip(rects.iter())
        .filter_map(|((c, _), r)| match c {
            Col::Sort(c) => Some((c.index(), r.x, r.x + r.width + 1)),
            Col::Health | Col::Host | Col::Command => None,
        })
        .collect();
    let cells = cols.iter().map(|(c, _)| {
        let mut title = match c {
            Col::Sort(c) => c.title(),
            Col::Health => "HEALTH",
            Col::Host => "HOST",
            Col::Command => "COMMAND",
        }
        .to_string();
        if *c == Col::Sort(app.procs.sort) {
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

fn row<'a>(
    app: &App,
    p: &'a ProcessInfo,
    cols: &[(Col, Constraint)],
    name_width: usize,
) -> Row<'a> {
    let t = app.theme;
    let running = p.status.is_running();
    let health_column = cols.iter().any(|(c, _)| *c == Col::Health);
    let cells = cols.iter().map(|(col, _)| {
        let c = match col {
            Col::Sort(c) => c,
            Col::Health => return Cell::from(health_cell(app, p)),
            Col::Host => return Cell::from(host_cell(app, p, cols)),
            Col::Command => {
                return Cell::from(Line::from(Span::styled(p.command.as_str(), t.dim())));
            }
        };
        let text: Line = match c {
            Column::Id => Line::from(app.hosts.shown_id(p.id).to_string()),
            Column::Name => {
                // A health marker after the name: ✓ healthy, … starting or not ready yet,
                // ✗ unhealthy.
                let marker =
                    fmt::health_word(p)
                        .filter(|_| !health_column)
                        .map(|word| match word {
                            "healthy" => Span::styled(" ✓", t.ok()),
                            "unhealthy" => Span::styled(" ✗", t.error()),
                            _ => Span::styled(" …", t.warn()),
                        });
                let room = name_width.saturating_sub(if marker.is_some() { 2 } else { 0 });
                // ◎ after the name: its files are watched (w toggles).
                let watched = p.watch.is_some().then(|| Span::styled(" ◎", t.dim()));
                let room = room.saturating_sub(if watched.is_some() { 2 } else { 0 });
                Line::from(
                    std::iter::once(Span::raw(fmt::clip(&p.name, room)))
                        .chain(watched)
                        .chain(marker)
                        .collect::<Vec<_>>(),
                )
            }
            // A reload under way says where it is: this instance's step of the whole.
            Column::Status => match &p.reload {
                Some(r) => Line::from(Span::styled(
                    format!("↻ reload {}/{}", r.step, r.of),
                    t.warn(),
                )),
                None => Line::from(Span::styled(
                    match next_run(p) {
                        Some(at) => format!(
                            "{} {} · next {}",
                            fmt::symbol(p.status),
                            p.status,
                            fmt::next_time(app.now, at, &app.tz)
                        ),
                        None => format!("{} {}", fmt::symbol(p.status), p.status),
                    },
                    t.status(p.status),
                )),
            },
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
        Cell::from(if right(*col) {
            text.right_aligned()
        } else {
            text
        })
    });
    let row = Row::new(cells.collect::<Vec<_>>());
    // A disconnected host's rows are what was last known: dimmed.
    if app.hosts.is_down(p.id) {
        row.style(t.dim())
    } else {
        row
    }
}

/// The host of a row; `✖` and the error colour while it is disconnected.
fn host_cell(app: &App, p: &ProcessInfo, cols: &[(Col, Constraint)]) -> Line<'static> {
    let t = app.theme;
    let width = cols
        .iter()
        .find_map(|(c, w)| match (c, w) {
            (Col::Host, Constraint::Length(w)) => Some(*w as usize),
            _ => None,
        })
        .unwrap_or(HOST_MAX);
    let label = app.hosts.label_of(p.id).unwrap_or_default();
    if app.hosts.is_down(p.id) {
        Line::from(Span::styled(
            format!("✖ {}", fmt::clip(label, width.saturating_sub(2))),
            t.error(),
        ))
    } else {
        Line::from(Span::styled(fmt::clip(label, width), t.label()))
    }
}

/// When a task waiting for its schedule runs next.
fn next_run(p: &ProcessInfo) -> Option<u64> {
    p.next_run_at
        .filter(|_| p.status == pmtui_proto::ProcessStatus::Scheduled)
}

/// The newest lines of the selected process, from the merged tail the UI already follows.
fn render_output(app: &App, frame: &mut Frame, area: Rect) {
    let t = app.theme;
    let current = app.current();
    let name = current.map_or_else(|| "no process".to_string(), |p| p.name.clone());
    let block = Block::new()
        .borders(Borders::TOP)
        .border_style(t.border())
        .title(Span::styled(format!(" Output · {name} "), t.title()))
        .title(
            Line::from(Span::styled(" o hides · l opens the log viewer ", t.dim())).right_aligned(),
        );
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(id) = current.map(|p| p.id) else {
        return;
    };
    let height = inner.height as usize;
    let mut lines: Vec<Line> = (0..app.tail.len())
        .rev()
        .filter_map(|i| app.tail.shown(i))
        .filter(|l| l.id == id)
        .take(height)
        .map(|l| {
            let err = l.stream == pmtui_proto::LogStream::Err;
            Line::from(vec![
                Span::styled(if err { "!" } else { " " }, t.stderr()),
                Span::styled(
                    l.text.as_str(),
                    if err {
                        t.stderr()
                    } else {
                        ratatui::style::Style::new()
                    },
                ),
            ])
        })
        .collect();
    lines.reverse();
    if lines.is_empty() {
        lines.push(Line::from(Span::styled(
            "No output yet. New lines appear here as they are written.",
            t.dim(),
        )));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

/// `✓ healthy 4s`: the verdict and how long ago the last probe ran.
fn health_cell(app: &App, p: &ProcessInfo) -> Line<'static> {
    let t = app.theme;
    let Some(word) = fmt::health_word(p) else {
        return Line::from(Span::styled("-", t.dim()));
    };
    let (symbol, style) = match word {
        "healthy" => ("✓", t.ok()),
        "unhealthy" => ("✗", t.error()),
        _ => ("…", t.warn()),
    };
    let age = p
        .last_probe
        .as_ref()
        .map(|probe| format!(" {}", fmt::duration(app.now.saturating_sub(probe.at))))
        .unwrap_or_default();
    Line::from(vec![
        Span::styled(format!("{symbol} {word}"), style),
        Span::styled(age, t.dim()),
    ])
}
