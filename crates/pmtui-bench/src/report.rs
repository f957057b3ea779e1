//! Figures, the way they are summarised (medians over runs) and shown: a table on the
//! terminal and a JSON document.

use crate::procfs::Rss;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Better {
    Lower,
    Higher,
}

/// What one figure is: the same for every manager and run.
#[derive(Debug, Clone, Serialize)]
pub struct Metric {
    pub key: &'static str,
    pub label: String,
    pub unit: &'static str,
    pub better: Better,
    pub target: Option<f64>,
    /// Summarise by the worst run instead of the median (lost lines: one loss is a loss).
    pub worst_of_runs: bool,
    /// The target is a strict bound (`< 4`), as the issue that set it writes it; `≤`/`≥`
    /// otherwise.
    pub strict: bool,
    /// The issue that set the target (`#18`), shown beside it in the README.
    pub target_from: Option<&'static str>,
}

impl Metric {
    /// A figure where lower is better, summarised by the median of the runs.
    pub fn lower(
        key: &'static str,
        label: String,
        unit: &'static str,
        target: Option<f64>,
    ) -> Self {
        Self {
            key,
            label,
            unit,
            better: Better::Lower,
            target,
            worst_of_runs: false,
            strict: false,
            target_from: None,
        }
    }

    /// The target is issue 18's (its table of footprint and speed targets); `strict` when
    /// the issue writes it `<`.
    pub fn issue18(self, strict: bool) -> Self {
        Self {
            strict,
            target_from: Some("#18"),
            ..self
        }
    }
}

/// How a target reads: `< 4`, `≤ 4` or `≥ 600`.
pub fn target_text(target: f64, lower: bool, strict: bool) -> String {
    let sign = match (lower, strict) {
        (true, true) => "<",
        (true, false) => "≤",
        (false, true) => ">",
        (false, false) => "≥",
    };
    // As the issue writes it (`0.05`, `600`), not rounded like a measured figure.
    format!("{sign} {target}")
}

/// Whether `value` meets `target`: below (or above, when higher is better) it, or on it
/// when the bound is not strict.
pub fn within(value: f64, target: f64, lower: bool, strict: bool) -> bool {
    match (lower, strict) {
        (true, true) => value < target,
        (true, false) => value <= target,
        (false, true) => value > target,
        (false, false) => value >= target,
    }
}

/// One manager's values for a metric, one per run, and their summary (the median, or the
/// worst run).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Values {
    pub runs: Vec<f64>,
    pub value: Option<f64>,
    /// For a daemon RSS figure (MiB): its `RssAnon` and `RssFile` parts, per run and their
    /// medians (the value counts the mapped executable and shared libc pages too).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub anon_runs: Vec<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub anon: Option<f64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub file_runs: Vec<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<f64>,
}

#[derive(Debug, Default)]
pub struct Results {
    pub metrics: Vec<Metric>,
    /// metric key → manager → values.
    pub values: BTreeMap<&'static str, BTreeMap<&'static str, Values>>,
    pub errors: Vec<String>,
    /// Free-form observations per manager and run (e.g. CPU by daemon thread).
    pub details: Vec<(String, String, String)>,
}

impl Results {
    pub fn record(&mut self, metric: Metric, manager: &'static str, value: f64) {
        if !self.metrics.iter().any(|m| m.key == metric.key) {
            self.metrics.push(metric.clone());
        }
        let values = self
            .values
            .entry(metric.key)
            .or_default()
            .entry(manager)
            .or_default();
        values.runs.push(value);
        values.value = if metric.worst_of_runs {
            let worst = match metric.better {
                Better::Lower => values.runs.iter().copied().fold(f64::MIN, f64::max),
                Better::Higher => values.runs.iter().copied().fold(f64::MAX, f64::min),
            };
            Some(worst)
        } else {
            median(&values.runs)
        };
    }

    /// A daemon RSS figure in MiB (`VmRSS`), with its anonymous and file-backed parts.
    pub fn record_rss(&mut self, metric: Metric, manager: &'static str, rss: &Rss) {
        let key = metric.key;
        self.record(metric, manager, mib(rss.total));
        let Some(values) = self.values.get_mut(key).and_then(|v| v.get_mut(manager)) else {
            return;
        };
        if let Some(anon) = rss.anon {
            values.anon_runs.push(mib(anon));
            values.anon = median(&values.anon_runs);
        }
        if let Some(file) = rss.file {
            values.file_runs.push(mib(file));
            values.file = median(&values.file_runs);
        }
    }

    /// pmtui's `RssAnon / RssFile` medians of a metric, as the tables show them beside it.
    pub fn split(&self, key: &str, manager: &str) -> Option<(f64, f64)> {
        let values = self.values.get(key)?.get(manager)?;
        Some((values.anon?, values.file?))
    }

    pub fn detail(&mut self, manager: &str, what: &str, text: String) {
        self.details
            .push((manager.to_string(), what.to_string(), text));
    }

    pub fn get(&self, key: &str, manager: &str) -> Option<f64> {
        self.values.get(key)?.get(manager)?.value
    }
}

/// KiB to MiB.
pub fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// How an RSS split reads in a table cell: `RssAnon / RssFile`.
pub fn split_text(anon: f64, file: f64) -> String {
    format!("{} / {}", fmt(Some(anon)), fmt(Some(file)))
}

pub fn median(values: &[f64]) -> Option<f64> {
    percentile(values, 50.0)
}

/// Nearest-rank percentile (`p` in 0..=100) of `values`.
pub fn percentile(values: &[f64], p: f64) -> Option<f64> {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if sorted.is_empty() {
        return None;
    }
    sorted.sort_by(f64::total_cmp);
    if p == 50.0 && sorted.len().is_multiple_of(2) {
        let hi = sorted.len() / 2;
        return Some((sorted[hi - 1] + sorted[hi]) / 2.0);
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

pub fn fmt(value: Option<f64>) -> String {
    match value {
        None => "-".into(),
        Some(0.0) => "0".into(),
        Some(v) if v.abs() >= 100.0 => format!("{v:.0}"),
        Some(v) if v.abs() >= 10.0 => format!("{v:.1}"),
        Some(v) if v.abs() >= 0.1 => format!("{v:.2}"),
        Some(v) => format!("{v:.3}"),
    }
}

/// Whether `value` meets `target` in the metric's direction.
pub fn meets(metric: &Metric, value: f64) -> Option<bool> {
    let target = metric.target?;
    Some(within(
        value,
        target,
        metric.better == Better::Lower,
        metric.strict,
    ))
}

/// The column beside pmtui's figure for its daemon RSS rows.
pub const SPLIT_HEADER: &str = "pmtui RssAnon / RssFile";

/// The terminal table: one row per metric, pmtui and (when run) pm2 side by side.
pub fn table(results: &Results, with_pm2: bool) -> String {
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut header = vec!["scenario".to_string(), "unit".into(), "pmtui".into()];
    let with_split = results
        .metrics
        .iter()
        .any(|m| results.split(m.key, "pmtui").is_some());
    if with_split {
        header.push(SPLIT_HEADER.into());
    }
    if with_pm2 {
        header.extend(["pm2".into(), "pm2 ÷ pmtui".into()]);
    }
    header.push("target".into());
    rows.push(header);
    for metric in &results.metrics {
        let ours = results.get(metric.key, "pmtui");
        let mut row = vec![metric.label.clone(), metric.unit.to_string(), fmt(ours)];
        if with_split {
            row.push(
                results
                    .split(metric.key, "pmtui")
                    .map_or_else(String::new, |(a, f)| split_text(a, f)),
            );
        }
        if with_pm2 {
            let theirs = results.get(metric.key, "pm2");
            row.push(fmt(theirs));
            row.push(match (ours, theirs) {
                (Some(a), Some(b)) if a > 0.0 => format!("{}×", fmt(Some(b / a))),
                _ => "-".into(),
            });
        }
        row.push(match metric.target {
            None => String::new(),
            Some(t) => {
                let verdict = match ours.and_then(|v| meets(metric, v)) {
                    Some(true) => " ok",
                    Some(false) => " MISSED",
                    None => "",
                };
                format!(
                    "{}{verdict}",
                    target_text(t, metric.better == Better::Lower, metric.strict)
                )
            }
        });
        rows.push(row);
    }
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for (i, row) in rows.iter().enumerate() {
        let cells: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(c, cell)| {
                let pad = widths[c] - cell.chars().count();
                if c <= 1 {
                    format!("{cell}{}", " ".repeat(pad))
                } else {
                    format!("{}{cell}", " ".repeat(pad))
                }
            })
            .collect();
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
        if i == 0 {
            let rule: Vec<String> = widths
                .iter()
                .enumerate()
                .map(|(c, w)| {
                    if c <= 1 {
                        "-".repeat(w + 2)
                    } else {
                        format!("{}:", "-".repeat(w + 1))
                    }
                })
                .collect();
            out.push_str(&format!("|{}|\n", rule.join("|")));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_percentiles() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&[]), None);
        let hundred: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&hundred, 99.0), Some(99.0));
        assert_eq!(percentile(&hundred, 100.0), Some(100.0));
        assert_eq!(percentile(&[5.0], 99.0), Some(5.0));
    }

    #[test]
    fn the_table_says_missed_when_a_target_is_missed() {
        let mut results = Results::default();
        let metric = Metric {
            key: "ls",
            label: "ls --json".into(),
            unit: "ms",
            better: Better::Lower,
            target: Some(3.0),
            worst_of_runs: false,
            strict: true,
            target_from: None,
        };
        results.record(metric.clone(), "pmtui", 4.0);
        results.record(metric, "pm2", 120.0);
        let table = table(&results, true);
        assert!(table.contains("< 3 MISSED"), "{table}");
        assert!(table.contains("30.0×"), "{table}");
    }
}
