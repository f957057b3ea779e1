//! Application metrics of one process (the wire side is `pmtui_proto::app_metrics`): the
//! latest value of each series, their histories, and the count of what was dropped.
//!
//! Writers are the run's readers (Node's IPC channel, the sd_notify socket) and its scraper
//! (`scrape.rs`); each holds the process's [`AppHandle`], a mutex of its own, so a flood
//! of values never touches the process table. The sampler, at each tick, turns the latest
//! values into one point per series (`tick`): a gauge as it is, a counter as its increase
//! per second between the two latest totals (a total that went down is a restart of the
//! counter, counted from 0). A counter with no new total for [`STALE_MS`] reads 0/s.
//!
//! Bounds, whatever the app sends: at most [`MAX_APP_SERIES`] series (later names are
//! dropped), names of at most [`MAX_APP_NAME`] bytes, each history ring as long as the CPU
//! one (8 bytes a point), and a fixed set of drop reasons. With the default 10 minutes at
//! 1 s that is at most about 160 KiB per process.

mod parse;
mod ring;
pub(crate) mod scrape;

pub(crate) use parse::{metric_line, prometheus_text};

use pmtui_proto::{
    AppDrop, AppMetricKind, AppMetricSource, AppSeries, AppValue, MAX_APP_NAME, MAX_APP_SERIES,
    now_ms, valid_metric_name,
};
use ring::Ring;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// A counter with no new total for this long reads 0/s.
pub const STALE_MS: u64 = 5_000;
/// The longest example kept with a drop reason, bytes.
const MAX_EXAMPLE: usize = 120;

/// One process's store, shared by its writers and the sampler.
pub(crate) type AppHandle = Arc<Mutex<AppStore>>;

pub(crate) fn lock(handle: &AppHandle) -> MutexGuard<'_, AppStore> {
    handle
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Why input was dropped (a fixed set, so the counts stay bounded).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Reason {
    NotUtf8,
    Oversized,
    Garbage,
    Malformed,
    InvalidName,
    NotFinite,
    SeriesLimit,
    ScrapeFailed,
    ScrapeTooLarge,
}

impl Reason {
    fn as_str(self) -> &'static str {
        match self {
            Self::NotUtf8 => "datagram not UTF-8",
            Self::Oversized => "datagram over 4096 bytes",
            Self::Garbage => "not a KEY=VALUE or METRIC line",
            Self::Malformed => "malformed METRIC line (METRIC name=value [gauge|counter])",
            Self::InvalidName => "invalid metric name",
            Self::NotFinite => "value not a finite number",
            Self::SeriesLimit => "series limit reached (32 per process)",
            Self::ScrapeFailed => "scrape failed",
            Self::ScrapeTooLarge => "scrape response over 1 MiB",
        }
    }
}

struct Series {
    kind: AppMetricKind,
    source: AppMetricSource,
    /// The latest value of this run, and when it arrived (ms since the epoch).
    latest: Option<(f64, u64)>,
    /// A counter's total (and its time) when its rate was last computed.
    counted: Option<(f64, u64)>,
    rate: Option<f64>,
    ring: Ring,
}

/// See the module header.
pub(crate) struct AppStore {
    capacity: usize,
    series: BTreeMap<String, Series>,
    drops: BTreeMap<Reason, AppDrop>,
}

impl Default for AppStore {
    fn default() -> Self {
        Self::new(600)
    }
}

impl AppStore {
    /// A store whose rings hold `capacity` points (the CPU history's length).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            series: BTreeMap::new(),
            drops: BTreeMap::new(),
        }
    }

    /// Records a value; false (and counted) when it is dropped.
    pub fn observe(
        &mut self,
        name: &str,
        value: f64,
        kind: AppMetricKind,
        source: AppMetricSource,
    ) -> bool {
        self.observe_at(name, value, kind, source, now_ms())
    }

    fn observe_at(
        &mut self,
        name: &str,
        value: f64,
        kind: AppMetricKind,
        source: AppMetricSource,
        at: u64,
    ) -> bool {
        if !value.is_finite() {
            self.dropped(Reason::NotFinite, name);
            return false;
        }
        if let Some(series) = self.series.get_mut(name) {
            if series.kind != kind {
                // The app changed its mind: a rate of a gauge means nothing.
                series.kind = kind;
                series.counted = None;
                series.rate = None;
            }
            series.source = source;
            series.latest = Some((value, at));
            return true;
        }
        if self.series.len() >= MAX_APP_SERIES {
            self.dropped(Reason::SeriesLimit, name);
            return false;
        }
        self.series.insert(
            name.to_string(),
            Series {
                kind,
                source,
                latest: Some((value, at)),
                counted: None,
                rate: None,
                ring: Ring::default(),
            },
        );
        true
    }

    /// Counts input that was dropped; `example` is kept (cut short) as the latest case.
    pub fn dropped(&mut self, reason: Reason, example: &str) {
        let entry = self.drops.entry(reason).or_insert_with(|| AppDrop {
            reason: reason.as_str().into(),
            ..AppDrop::default()
        });
        entry.count += 1;
        entry.at = now_ms();
        entry.last = cut(example);
    }

    /// Whether a name is kept (checked and counted); names of scraped series with labels
    /// are checked by the scraper.
    pub fn check_name(&mut self, name: &str) -> bool {
        if valid_metric_name(name) {
            true
        } else {
            self.dropped(Reason::InvalidName, name);
            false
        }
    }

    /// A sampler tick at `at`: one point per series of this run, and their values.
    pub fn tick(&mut self, at: u64) -> Vec<AppValue> {
        let capacity = self.capacity;
        let mut values = Vec::new();
        for (name, s) in &mut self.series {
            let Some((value, seen)) = s.latest else {
                continue;
            };
            let shown = match s.kind {
                AppMetricKind::Gauge => Some(value),
                AppMetricKind::Counter => {
                    match s.counted {
                        Some((before, then)) if seen > then => {
                            // A total that went down: the counter restarted from 0.
                            let grown = if value >= before {
                                value - before
                            } else {
                                value
                            };
                            s.rate = Some(grown / ((seen - then) as f64 / 1000.0));
                            s.counted = Some((value, seen));
                        }
                        Some(_) if at.saturating_sub(seen) > STALE_MS => s.rate = Some(0.0),
                        Some(_) => {}
                        None => s.counted = Some((value, seen)),
                    }
                    s.rate
                }
            };
            if let Some(shown) = shown {
                s.ring.push(at, shown, capacity);
            }
            values.push(AppValue {
                name: name.clone(),
                kind: s.kind,
                source: s.source,
                value,
                rate: s.rate.filter(|_| s.kind == AppMetricKind::Counter),
            });
        }
        values
    }

    /// A new run begins, or the process stopped: the latest values are of the past. Series
    /// with no history left are forgotten (they would hold a place for nothing).
    pub fn end_run(&mut self) {
        self.series.retain(|_, s| !s.ring.is_empty());
        for s in self.series.values_mut() {
            s.latest = None;
            s.counted = None;
            s.rate = None;
        }
    }

    /// The wire form: every series' history (`current` only while `running`), and the
    /// drops.
    pub fn to_wire(&self, running: bool) -> (Vec<AppSeries>, Vec<AppDrop>) {
        let series = self
            .series
            .iter()
            .map(|(name, s)| {
                let (at, values) = s.ring.to_wire();
                AppSeries {
                    name: name.clone(),
                    kind: s.kind,
                    source: s.source,
                    current: s.latest.filter(|_| running).map(|(value, _)| AppValue {
                        name: name.clone(),
                        kind: s.kind,
                        source: s.source,
                        value,
                        rate: s.rate.filter(|_| s.kind == AppMetricKind::Counter),
                    }),
                    span: span(&values),
                    at,
                    values,
                }
            })
            .collect();
        (series, self.drops.values().cloned().collect())
    }
}

/// Printable, at most `MAX_EXAMPLE` bytes (on a character boundary).
fn cut(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if out.len() + c.len_utf8() > MAX_EXAMPLE {
            out.push('…');
            break;
        }
        out.push(if c.is_control() { '?' } else { c });
    }
    out
}

fn span(values: &[f64]) -> Option<pmtui_proto::Span<f64>> {
    let first = *values.first()?;
    let (mut min, mut max, mut sum) = (first, first, 0.0);
    for &v in values {
        min = min.min(v);
        max = max.max(v);
        sum += v;
    }
    let avg = sum / values.len() as f64;
    Some(pmtui_proto::Span {
        min,
        avg: (avg * 1000.0).round() / 1000.0,
        max,
    })
}

const _: () = assert!(MAX_APP_NAME < 4096);

#[cfg(test)]
mod tests {
    use super::*;
    use AppMetricKind::{Counter, Gauge};
    use AppMetricSource::Push;

    #[test]
    fn a_counter_becomes_a_rate_and_a_restart_counts_from_zero() {
        let mut s = AppStore::new(10);
        s.observe_at("requests_total", 100.0, Counter, Push, 1_000);
        let first = s.tick(1_000);
        assert_eq!(first[0].rate, None, "one total is no rate yet");
        s.observe_at("requests_total", 150.0, Counter, Push, 3_000);
        assert_eq!(s.tick(3_000)[0].rate, Some(25.0));
        s.observe_at("requests_total", 10.0, Counter, Push, 4_000);
        assert_eq!(s.tick(4_000)[0].rate, Some(10.0));
        // Nothing new: the rate holds, then reads 0 once stale.
        assert_eq!(s.tick(5_000)[0].rate, Some(10.0));
        assert_eq!(s.tick(4_000 + STALE_MS + 1)[0].rate, Some(0.0));
        let (wire, drops) = s.to_wire(true);
        assert_eq!(wire[0].values, [25.0, 10.0, 10.0, 0.0]);
        assert_eq!(wire[0].current.as_ref().map(|c| c.value), Some(10.0));
        let span = wire[0].span.expect("span");
        assert_eq!((span.min, span.max), (0.0, 25.0));
        assert!(drops.is_empty());
    }

    #[test]
    fn series_are_bounded_and_bad_values_counted() {
        let mut s = AppStore::new(4);
        for i in 0..10_000 {
            s.observe(&format!("m{i}"), 1.0, Gauge, Push);
        }
        assert!(!s.observe("x", f64::NAN, Gauge, Push));
        assert!(!s.observe("y", f64::INFINITY, Gauge, Push));
        for t in 0..100 {
            s.tick(t * 1000);
        }
        let (wire, drops) = s.to_wire(true);
        assert_eq!(wire.len(), MAX_APP_SERIES);
        assert!(wire.iter().all(|w| w.values.len() == 4));
        let limit = drops.iter().find(|d| d.reason.starts_with("series limit"));
        assert_eq!(limit.map(|d| d.count), Some(10_000 - MAX_APP_SERIES as u64));
        assert_eq!(limit.map(|d| d.last.as_str()), Some("m9999"));
        let nan = drops.iter().find(|d| d.reason.contains("finite"));
        assert_eq!(nan.map(|d| d.count), Some(2));
        assert!(s.to_wire(false).0[0].current.is_none());
    }

    #[test]
    fn a_new_run_forgets_the_latest_values_but_keeps_history() {
        let mut s = AppStore::new(4);
        s.observe_at("q", 3.0, Gauge, Push, 0);
        s.observe_at("never_ticked", 3.0, Gauge, Push, 0);
        s.tick(0);
        s.end_run();
        assert!(s.tick(1000).is_empty());
        let (wire, _) = s.to_wire(true);
        assert_eq!(wire.len(), 2, "both got a point at the tick");
        s.end_run();
        assert_eq!(s.to_wire(true).0[0].values, [3.0]);
    }

    #[test]
    fn examples_are_cut_and_made_printable() {
        let long = format!("a\u{1}{}", "é".repeat(200));
        let cut = cut(&long);
        assert!(cut.len() <= MAX_EXAMPLE + 3 && cut.starts_with("a?") && cut.ends_with('…'));
    }
}
