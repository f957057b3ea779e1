//! Popups over the view: help (every key of the view), the delete confirmation, the add form.

use super::{bindings, centered};
use crate::app::App;
use crate::form::{AddForm, Field};
use pmtui_proto::ProcessId;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

fn popup(app: &App, title: &str) -> Block<'static> {
    Block::bordered()
        .border_style(app.theme.focus_border())
        .title(Span::styled(format!(" {title} "), app.theme.title()))
}

pub fn help(app: &App, frame: &mut Frame, area: Rect) {
    let t = app.theme;
    let keys = bindings(app);
    let key_width = keys
        .iter()
        .map(|b| b.keys.chars().count())
        .max()
        .unwrap_or(0)
        + 2;
    let mut lines: Vec<Line> = keys
        .iter()
        .map(|b| {
            Line::from(vec![
                Span::styled(format!(" {:<key_width$}", b.keys), t.key()),
                Span::raw(b.what),
            ])
        })
        .collect();
    lines.push(Line::default());
    lines.push(Line::from(Span::styled(
        " Quitting never stops processes. Shift-drag selects text in most terminals.",
        t.dim(),
    )));
    lines.push(Line::from(Span::styled(
        " esc or ? closes this help · ↑↓ scroll it",
        t.dim(),
    )));
    let rect = centered(area, 78, lines.len() as u16 + 2);
    // Scrolled only as far as needed to show the last line.
    let hidden = (lines.len() + 2).saturating_sub(rect.height as usize);
    let lines: Vec<Line> = lines
        .into_iter()
        .skip(app.help_scroll.min(hidden))
        .collect();
    frame.render_widget(Clear, rect);
    let title = match app.view() {
        crate::app::View::Dashboard => "Help · dashboard",
        crate::app::View::Detail(_) => "Help · process detail",
        crate::app::View::Logs => "Help · logs",
        crate::app::View::Monitor => "Help · monitor",
    };
    frame.render_widget(Paragraph::new(lines).block(popup(app, title)), rect);
}

pub fn confirm(app: &App, frame: &mut Frame, area: Rect, id: ProcessId, name: &str) {
    let t = app.theme;
    let lines = vec![
        Line::from(vec![
            Span::raw(" Delete "),
            Span::styled(name.to_string(), t.title()),
            Span::raw(match app.hosts.label_of(id) {
                Some(host) => format!(" (id {} on {host})?", app.hosts.shown_id(id)),
                None => format!(" (id {id})?"),
            }),
        ]),
        Line::from(Span::styled(
            " It is stopped and removed from the list; its log files stay.",
            t.dim(),
        )),
        Line::default(),
        Line::from(vec![
            Span::styled(" y", t.key()),
            Span::raw(" delete   "),
            Span::styled("n", t.key()),
            Span::raw(" keep it"),
        ]),
    ];
    let rect = centered(area, 66, 6);
    frame.render_widget(Clear, rect);
    frame.render_widget(Paragraph::new(lines).block(popup(app, "Delete")), rect);
}

pub fn add(app: &App, frame: &mut Frame, area: Rect, form: &AddForm) {
    let t = app.theme;
    const LABEL: u16 = 14;
    const WIDTH: u16 = 76;
    // An error may need more than one row to be read whole: up to three.
    let note_width = WIDTH.saturating_sub(LABEL + 2).max(1) as usize;
    let note_rows: Vec<u16> = form
        .errors
        .iter()
        .map(|e| {
            e.as_ref().map_or(1, |e| {
                (e.chars().count() + 2).div_ceil(note_width).clamp(1, 3) as u16
            })
        })
        .collect();
    let height = note_rows.iter().map(|n| n + 1).sum::<u16>() + 4;
    let rect = centered(area, WIDTH, height);
    frame.render_widget(Clear, rect);
    let block = popup(app, "Add a process");
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let mut rows = Layout::vertical(
        note_rows
            .iter()
            .map(|n| Constraint::Length(n + 1))
            .chain([Constraint::Length(1), Constraint::Length(1)]),
    )
    .split(inner)
    .to_vec();
    let footer = rows.pop().unwrap_or_default();
    for (i, field) in Field::ALL.iter().enumerate() {
        let [line, note] =
            Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(rows[i]);
        let focused = form.focus == i;
        let label_style = if focused { t.key() } else { t.label() };
        let [label_area, value_area] =
            Layout::horizontal([Constraint::Length(LABEL), Constraint::Fill(1)]).areas(line);
        let marker = if focused { "›" } else { " " };
        frame.render_widget(
            Span::styled(
                format!("{marker}{:<w$}", field.label(), w = LABEL as usize - 1),
                label_style,
            ),
            label_area,
        );
        if *field == Field::Restart {
            let spans: Vec<Span> = ["always", "on-failure", "no"]
                .iter()
                .map(|m| {
                    let style = if *m == form.value(Field::Restart) {
                        t.selected()
                    } else {
                        t.dim()
                    };
                    Span::styled(format!(" {m} "), style)
                })
                .collect();
            frame.render_widget(Line::from(spans), value_area);
        } else {
            let input = &form.inputs[i];
            let width = value_area.width.saturating_sub(1) as usize;
            let scroll = input.visual_scroll(width);
            let shown: String = input.value().chars().skip(scroll).collect();
            let style = if focused {
                t.selected()
            } else {
                ratatui::style::Style::new()
            };
            frame.render_widget(Paragraph::new(shown).style(style), value_area);
            if focused {
                let x = value_area.x + (input.visual_cursor().saturating_sub(scroll)) as u16;
                frame.set_cursor_position((x, value_area.y));
            }
        }
        let note_area = Rect {
            x: note.x + LABEL,
            width: note.width.saturating_sub(LABEL),
            ..note
        };
        let text = match &form.errors[i] {
            Some(error) => Span::styled(format!("✖ {error}"), t.error()),
            None => Span::styled(field.hint(), t.dim()),
        };
        frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), note_area);
    }
    let status = if form.submitting {
        " starting…"
    } else {
        " enter starts · tab moves · esc cancels"
    };
    frame.render_widget(Span::styled(status, t.dim()), footer);
}
