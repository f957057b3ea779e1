//! The apps' own metrics as the UI keeps them (see `pmtui_proto::app_metrics`): the latest
//! values of every process (from each refresh of the metrics), and, for the process whose
//! detail is open, a short history per series for its sparklines, seeded from the daemon's.

use pmtui_proto::{AppValue, MetricsHistory, ProcessId};
use std::collections::{BTreeMap, HashMap, VecDeque};

/// Points kept per sparkline (wider panels show the newest that fit).
pub const KEEP: usize = 240;
/// The series the monitor cards show for Node apps.
pub const NODE_LAG: &str = "node_event_loop_lag_p99_ms";

#[derive(Debug, Default)]
pub struct AppMetrics {
    latest: HashMap<ProcessId, Vec<AppValue>>,
    /// The detail's process, and each of its series' shown values, oldest first.
    spark: Option<(ProcessId, BTreeMap<String, VecDeque<f64>>)>,
}

impl AppMetrics {
    /// A refresh: `values` is the process's current app values (`None`: not running).
    pub fn record(&mut self, id: ProcessId, values: Option<&[AppValue]>) {
        match values {
            Some(values) if !values.is_empty() => {
                if let Some((spark_id, series)) = &mut self.spark
                    && *spark_id == id
                {
                    for v in values {
                        if let Some(shown) = v.shown() {
                            let points = series.entry(v.name.clone()).or_default();
                            if points.len() == KEEP {
                                points.pop_front();
                            }
                            points.push_back(shown);
                        }
                    }
                }
                self.latest.insert(id, values.to_vec());
            }
            _ => {
                self.latest.remove(&id);
            }
        }
    }

    /// The detail of `id` opened (or was refreshed): its sparklines start from the daemon's
    /// history.
    pub fn seed(&mut self, id: ProcessId, history: &MetricsHistory) {
        let series = history
            .app
            .iter()
            .map(|s| {
                let skip = s.values.len().saturating_sub(KEEP);
                (
                    s.name.clone(),
                    s.values.iter().skip(skip).copied().collect(),
                )
            })
            .collect();
        self.spark = Some((id, series));
    }

    pub fn latest(&self, id: ProcessId) -> &[AppValue] {
        self.latest.get(&id).map_or(&[], Vec::as_slice)
    }

    /// The sparkline points of a series of the detail's process.
    pub fn points(&self, id: ProcessId, name: &str) -> Option<&VecDeque<f64>> {
        let (spark_id, series) = self.spark.as_ref()?;
        (*spark_id == id).then(|| series.get(name)).flatten()
    }

    /// A Node app's event-loop lag (p99, ms), when its preload reports it.
    pub fn node_lag(&self, id: ProcessId) -> Option<f64> {
        self.latest(id)
            .iter()
            .find(|v| v.name == NODE_LAG)
            .map(|v| v.value)
    }
}

/// The points as a line of block characters, `width` wide at most (the newest), scaled
/// from 0 to their maximum.
pub fn sparkline(points: &VecDeque<f64>, width: usize) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let skip = points.len().saturating_sub(width);
    let shown: Vec<f64> = points.iter().skip(skip).copied().collect();
    let max = shown.iter().copied().fold(0.0f64, f64::max);
    shown
        .iter()
        .map(|&v| {
            if max <= 0.0 || !v.is_finite() {
                BARS[0]
            } else {
                BARS[((v / max) * 7.0).round().clamp(0.0, 7.0) as usize]
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use pmtui_proto::{AppMetricKind, AppMetricSource, AppSeries};

    fn value(name: &str, kind: AppMetricKind, value: f64, rate: Option<f64>) -> AppValue {
        AppValue {
            name: name.into(),
            kind,
            source: AppMetricSource::Push,
            value,
            rate,
        }
    }

    #[test]
    fn the_detail_series_grow_from_the_daemons_history() {
        let mut m = AppMetrics::default();
        let history = MetricsHistory {
            app: vec![AppSeries {
                name: "requests_total".into(),
                values: vec![1.0, 2.0],
                ..AppSeries::default()
            }],
            ..MetricsHistory::default()
        };
        m.seed(3, &history);
        m.record(
            3,
            Some(&[
                value("requests_total", AppMetricKind::Counter, 100.0, Some(4.0)),
                value(NODE_LAG, AppMetricKind::Gauge, 12.5, None),
            ]),
        );
        m.record(4, Some(&[value("other", AppMetricKind::Gauge, 1.0, None)]));
        let points = m.points(3, "requests_total").expect("points");
        assert_eq!(points.iter().copied().collect::<Vec<_>>(), [1.0, 2.0, 4.0]);
        assert!(m.points(4, "other").is_none(), "only the detail's process");
        assert_eq!(sparkline(points, 2), "▅█");
        assert_eq!(m.node_lag(3), Some(12.5));
        m.record(3, None);
        assert_eq!(m.node_lag(3), None);
        assert_eq!(sparkline(&VecDeque::from(vec![0.0, 0.0]), 5), "▁▁");
    }
}
