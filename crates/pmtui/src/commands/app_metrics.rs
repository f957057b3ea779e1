//! The app's own metrics in `describe` (Node runtime, `METRIC` pushes, scrapes): each
//! series' current value with its min/avg/max over the kept history, and what was dropped.

use crate::output;
use pmtui_proto::{AppMetricKind, AppSeries, MetricsHistory, format_metric};

/// Prints the app metrics block of `describe`, if there is anything to show.
pub fn describe(m: &MetricsHistory) {
    if !m.app.is_empty() {
        println!(
            "{}",
            output::bold("  app metrics (counters as a rate per second; all in --json)")
        );
        let width = m
            .app
            .iter()
            .map(|s| s.name.len())
            .max()
            .unwrap_or(0)
            .min(48);
        for s in &m.app {
            println!(
                "    {:width$}  {}",
                output::safe(&s.name),
                output::safe(&line(s))
            );
        }
    }
    if !m.app_drops.is_empty() {
        println!("{}", output::bold("  dropped app metrics input"));
        for d in &m.app_drops {
            println!(
                "    {} ×{}  (latest: {})",
                d.reason,
                d.count,
                output::safe(&d.last)
            );
        }
    }
}

/// `25/s (total 1234)  (min 0 · avg 12.5 · max 30)  push counter`.
fn line(s: &AppSeries) -> String {
    let unit = if s.kind == AppMetricKind::Counter {
        "/s"
    } else {
        ""
    };
    let number = |v: f64| format_metric(&s.name, v);
    let mut out = match &s.current {
        Some(c) => match (s.kind, c.rate) {
            (AppMetricKind::Counter, Some(rate)) => {
                format!("{}/s (total {})", number(rate), number(c.value))
            }
            (AppMetricKind::Counter, None) => format!("-/s (total {})", number(c.value)),
            (AppMetricKind::Gauge, _) => number(c.value),
        },
        None => "-".into(),
    };
    if let Some(span) = &s.span {
        out.push_str(&format!(
            "  (min {}{unit} · avg {}{unit} · max {}{unit})",
            number(span.min),
            number(span.avg),
            number(span.max)
        ));
    }
    let source = match s.source {
        pmtui_proto::AppMetricSource::Node => "node",
        pmtui_proto::AppMetricSource::Push => "push",
        pmtui_proto::AppMetricSource::Scrape => "scrape",
    };
    out.push_str(&format!("  {source} {}", s.kind.as_str()));
    out
}
