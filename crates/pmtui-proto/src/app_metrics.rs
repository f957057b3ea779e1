//! Application metrics on the wire: values an app reports about itself, beside the CPU and
//! memory the daemon measures. Three sources feed them (see the README, "Application
//! metrics"): Node's runtime (event-loop lag, heap, handles, reported by the preload over
//! the IPC channel), lines an app pushes to its sd_notify socket (`METRIC name=value
//! [gauge|counter]`), and a Prometheus text endpoint the daemon scrapes (`metrics_url`).
//!
//! A *gauge* is shown as sent; a *counter* (a running total such as `requests_total`) is
//! shown as its rate per second, which is how a request rate appears. The daemon keeps at
//! most [`MAX_APP_SERIES`] series per process and drops (and counts, with a reason) what
//! goes beyond or is malformed.

use serde::{Deserialize, Serialize};

/// Series kept per process, whatever the app sends.
pub const MAX_APP_SERIES: usize = 32;
/// The longest series name kept, bytes (labels of a scraped series included).
pub const MAX_APP_NAME: usize = 128;
/// Series a scrape keeps when `metrics_keep` is not set: the first this many.
pub const DEFAULT_SCRAPE_KEEP: usize = 20;

/// How a value is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AppMetricKind {
    /// A level (`queue_depth`): shown as it is.
    #[default]
    Gauge,
    /// A running total (`requests_total`): shown as its increase per second.
    Counter,
}

impl AppMetricKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Gauge => "gauge",
            Self::Counter => "counter",
        }
    }
}

/// Where a series comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AppMetricSource {
    /// Node's runtime, reported by pmtui's preload (`node_metrics`).
    Node,
    /// `METRIC …` lines on the sd_notify socket.
    #[default]
    Push,
    /// The app's Prometheus endpoint (`metrics_url`).
    Scrape,
}

/// The latest value of one series, in a sample.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppValue {
    pub name: String,
    pub kind: AppMetricKind,
    pub source: AppMetricSource,
    /// A gauge's value; a counter's total as the app sent it.
    pub value: f64,
    /// Counters: the increase per second (see `AppSeries::values`); `None` until two
    /// totals are known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
}

impl AppValue {
    /// What is charted: a gauge's value, a counter's rate.
    pub fn shown(&self) -> Option<f64> {
        match self.kind {
            AppMetricKind::Gauge => Some(self.value),
            AppMetricKind::Counter => self.rate,
        }
    }
}

/// The kept history of one series, oldest first, sampled at the sampler's ticks while the
/// process runs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AppSeries {
    pub name: String,
    pub kind: AppMetricKind,
    pub source: AppMetricSource,
    /// The latest value while the process runs.
    pub current: Option<AppValue>,
    /// Sample times, ms since the Unix epoch.
    pub at: Vec<u64>,
    /// One per `at`: a gauge's value, a counter's rate per second.
    pub values: Vec<f64>,
    /// Over `values`; `None` when empty.
    pub span: Option<crate::Span<f64>>,
}

/// Input the daemon dropped, counted by reason.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AppDrop {
    /// Why (`invalid name`, `series limit reached`, `scrape failed`, …).
    pub reason: String,
    pub count: u64,
    /// The latest case, cut short: the offending name or line, or the scrape's error.
    pub last: String,
    /// When the latest case happened, ms since the Unix epoch.
    pub at: u64,
}

/// Whether `name` is a metric name pmtui keeps: Prometheus's `[a-zA-Z_:][a-zA-Z0-9_:]*`,
/// at most [`MAX_APP_NAME`] bytes.
pub fn valid_metric_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    let first_ok = bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_' || b == b':');
    first_ok
        && name.len() <= MAX_APP_NAME
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_prometheus() {
        for good in ["requests_total", "a", "_x", "ns:queue_depth", "Q1"] {
            assert!(valid_metric_name(good), "{good}");
        }
        let long = "x".repeat(MAX_APP_NAME + 1);
        for bad in ["", "1abc", "a-b", "a b", "é", "a{b}", long.as_str()] {
            assert!(!valid_metric_name(bad), "{bad}");
        }
    }

    #[test]
    fn a_counter_shows_its_rate_and_a_gauge_its_value() {
        let v = AppValue {
            name: "r".into(),
            kind: AppMetricKind::Counter,
            source: AppMetricSource::Push,
            value: 100.0,
            rate: Some(2.5),
        };
        assert_eq!(v.shown(), Some(2.5));
        let g = AppValue {
            kind: AppMetricKind::Gauge,
            ..v
        };
        assert_eq!(g.shown(), Some(100.0));
    }
}
