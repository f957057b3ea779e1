//! The log viewer: a title with the target, stream tabs and modes, then the lines, with the
//! search matches highlighted. Only the lines on screen are styled.

use crate::app::App;
use crate::logbuf::{LogBuffer, LogTarget, StreamFilter, match_ranges};
use crate::theme::Theme;
use pmtui_proto::{LogLine, LogStream};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

pub fn render(app: &mut App, frame: &mut Frame, area: Rect) {
    let t = app.theme;
    let mut title = vec![Span::styled(
        format!(" Logs · {} ", app.log_label()),
        t.title(),
    )];
    for stream in [StreamFilter::Combined, StreamFilter::Out, StreamFilter::Err] {
        // Brackets as well as colour, so the choice reads on any terminal.
        let (style, text) = if stream == app.logs.stream {
            (t.selected(), format!("[{}]", stream.label()))
        } else {
            (t.dim(), format!(" {} ", stream.label()))
        };
        title.push(Span::styled(text, style));
    }
    let mode = |on: bool, name: &str| format!(" {name} {} ", if on { "on" } else { "off" });
    let follow_style = if app.logs.follow { t.ok() } else { t.warn() };
    title.push(Span::styled(
        if app.logs.follow {
            " ● following ".to_string()
        } else {
            " ⏸ paused (f follows) ".to_string()
        },
        follow_style,
    ));
    title.push(Span::styled(mode(app.logs.wrap, "wrap"), t.dim()));
    if app.logs.timestamps {
        title.push(Span::styled(" times ", t.dim()));
    }
    let block = Block::new()
        .borders(Borders::TOP)
        .border_style(t.border())
        .title(Line::from(title));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    app.areas.log_body = inner;
    if app.logs.is_empty() {
        let text = if app.logs.total() == 0 {
            "No output yet. New lines appear here as they are written."
        } else {
            "No line matches (& changes the filter, tab the stream)."
        };
        frame.render_widget(Paragraph::new(Span::styled(text, t.dim())), inner);
        return;
    }
    let prefix = prefix_width(&app.logs) + if app.logs.timestamps { 9 } else { 0 };
    let width = inner.width.max(1) as usize;
    let height = inner.height as usize;
    let rows_of = |logs: &LogBuffer, pos: usize| -> usize {
        if !logs.wrap {
            return 1;
        }
        let len = logs.shown(pos).map_or(0, |l| l.text.chars().count()) + prefix + 1;
        len.div_ceil(width).max(1)
    };
    let top = viewport_top(&app.logs, height, rows_of);
    app.logs.set_top_pos(top);
    let cursor = app.logs.cursor_pos();
    let mut lines: Vec<Line> = Vec::with_capacity(height);
    let mut pos = top;
    app.areas.log_rows.clear();
    while lines.len() < height {
        let Some(line) = app.logs.shown(pos) else {
            break;
        };
        let mut style = Style::new();
        if app.logs.in_selection(pos) {
            style = t.selection();
        }
        if pos == cursor && !app.logs.follow {
            style = t.selected();
        }
        let mut styled =
            styled_line(t, line, &app.logs, &crate::ui::monitor::source(app, line)).style(style);
        if app.logs.timestamps {
            let time = crate::fmt::time(line.at, &app.tz, "%H:%M:%S ");
            styled.spans.insert(1, Span::styled(time, t.dim()));
        }
        if app.logs.wrap {
            lines.extend(chop(styled, width));
        } else {
            lines.push(styled);
        }
        app.areas.log_rows.resize(lines.len(), pos);
        pos += 1;
    }
    lines.truncate(height);
    frame.render_widget(Paragraph::new(lines), inner);
}

/// The first shown line on screen: the bottom is the cursor when it would fall below, the
/// newest line when following.
fn viewport_top(
    logs: &LogBuffer,
    height: usize,
    rows_of: impl Fn(&LogBuffer, usize) -> usize,
) -> usize {
    let cursor = logs.cursor_pos();
    let bottom_up = |last: usize| {
        let mut top = last;
        let mut used = rows_of(logs, last);
        while top > 0 && used + rows_of(logs, top - 1) <= height {
            top -= 1;
            used += rows_of(logs, top);
        }
        top
    };
    if logs.follow {
        return bottom_up(logs.len().saturating_sub(1));
    }
    let top = logs.top_pos().min(cursor);
    let used: usize = (top..=cursor).map(|p| rows_of(logs, p)).sum();
    if used > height {
        bottom_up(cursor)
    } else {
        top
    }
}

fn prefix_width(logs: &LogBuffer) -> usize {
    match logs.target {
        LogTarget::All => 14,
        LogTarget::One(_) => 0,
    }
}

fn styled_line<'a>(t: Theme, line: &'a LogLine, logs: &LogBuffer, who: &str) -> Line<'a> {
    let prefix = prefix_width(logs);
    let err = line.stream == LogStream::Err;
    let mut spans = vec![Span::styled(if err { "!" } else { " " }, t.stderr())];
    if prefix > 0 {
        let name = crate::fmt::clip(who, prefix - 2);
        spans.push(Span::styled(
            format!("{name:<w$}│ ", w = prefix - 2),
            t.name(line.id),
        ));
    }
    let base = if err { t.stderr() } else { Style::new() };
    let mut at = 0;
    for (from, to) in match_ranges(&line.text, &logs.search) {
        spans.push(Span::styled(&line.text[at..from], base));
        spans.push(Span::styled(&line.text[from..to], t.matched()));
        at = to;
    }
    spans.push(Span::styled(&line.text[at..], base));
    Line::from(spans)
}

/// Cuts a line into rows of `width` characters, keeping each piece's style.
fn chop(line: Line<'_>, width: usize) -> Vec<Line<'static>> {
    let mut rows: Vec<Vec<Span<'static>>> = vec![Vec::new()];
    let mut used = 0;
    for span in line.spans {
        let mut piece = String::new();
        for c in span.content.chars() {
            if used == width {
                let done = std::mem::take(&mut piece);
                if let Some(row) = rows.last_mut() {
                    row.push(Span::styled(done, span.style));
                }
                rows.push(Vec::new());
                used = 0;
            }
            piece.push(c);
            used += 1;
        }
        if let Some(row) = rows.last_mut().filter(|_| !piece.is_empty()) {
            row.push(Span::styled(piece, span.style));
        }
    }
    rows.into_iter()
        .map(|spans| Line::from(spans).style(line.style))
        .collect()
}
