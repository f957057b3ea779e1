//! The detail view's "App metrics" panel: one row per series of the app's own metrics
//! (Node runtime, `METRIC` pushes, scrapes), with its current value and a sparkline.

use crate::app::App;
use crate::app_metrics::sparkline;
use crate::fmt;
use pmtui_proto::{AppMetricKind, ProcessId, format_metric};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

/// Rows the panel wants (0 when the app reports nothing).
pub fn height(app: &App, id: ProcessId) -> u16 {
    let n = app.app_metrics.latest(id).len();
    if n == 0 { 0 } else { (n as u16).min(8) + 2 }
}

pub fn render(app: &App, frame: &mut Frame, area: Rect, id: ProcessId) {
    let t = app.theme;
    let block = Block::new()
        .borders(Borders::ALL)
        .border_style(t.border())
        .title(Span::styled(" App metrics ", t.title()));
    let inner = block.inner(area);
    let values = app.app_metrics.latest(id);
    let name_width = values
        .iter()
        .map(|v| v.name.len())
        .max()
        .unwrap_or(0)
        .min(32);
    let value_width = 14;
    let spark_width = (inner.width as usize).saturating_sub(name_width + value_width + 4);
    let lines: Vec<Line> = values
        .iter()
        .map(|v| {
            let shown = match (v.kind, v.rate) {
                (AppMetricKind::Counter, Some(rate)) => {
                    format!("{}/s", format_metric(&v.name, rate))
                }
                (AppMetricKind::Counter, None) => "-/s".into(),
                (AppMetricKind::Gauge, _) => format_metric(&v.name, v.value),
            };
            let spark = app
                .app_metrics
                .points(id, &v.name)
                .map(|p| sparkline(p, spark_width))
                .unwrap_or_default();
            Line::from(vec![
                Span::styled(
                    format!("{:name_width$}  ", fmt::clip(&v.name, name_width)),
                    t.label(),
                ),
                Span::raw(format!("{shown:>value_width$}  ")),
                Span::styled(spark, t.cpu()),
            ])
        })
        .collect();
    frame.render_widget(Paragraph::new(lines).block(block), area);
}
