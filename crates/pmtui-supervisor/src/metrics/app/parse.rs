//! What apps send, read defensively: `METRIC name=value [gauge|counter]` lines from the
//! sd_notify socket, and the Prometheus text format (0.0.4) of a scrape.

use super::Reason;
use pmtui_proto::{AppMetricKind, MAX_APP_NAME, valid_metric_name};
use std::collections::HashMap;

/// One `METRIC …` line: `None` when the line is not one. The kind defaults to `counter`
/// for a name ending in `_total` (Prometheus's convention), else `gauge`.
pub(crate) fn metric_line(line: &str) -> Option<Result<(&str, f64, AppMetricKind), Reason>> {
    let rest = line.strip_prefix("METRIC")?;
    if !rest.starts_with([' ', '\t']) {
        return None;
    }
    Some(parse_metric(rest.trim()))
}

fn parse_metric(text: &str) -> Result<(&str, f64, AppMetricKind), Reason> {
    let (name, rest) = text.split_once('=').ok_or(Reason::Malformed)?;
    let name = name.trim();
    let mut words = rest.split_ascii_whitespace();
    let value = words.next().ok_or(Reason::Malformed)?;
    let kind = match words.next() {
        None => default_kind(name),
        Some("gauge") => AppMetricKind::Gauge,
        Some("counter") => AppMetricKind::Counter,
        Some(_) => return Err(Reason::Malformed),
    };
    if words.next().is_some() {
        return Err(Reason::Malformed);
    }
    if !valid_metric_name(name) {
        return Err(Reason::InvalidName);
    }
    let value: f64 = value.parse().map_err(|_| Reason::Malformed)?;
    if !value.is_finite() {
        return Err(Reason::NotFinite);
    }
    Ok((name, value, kind))
}

fn default_kind(name: &str) -> AppMetricKind {
    if name.ends_with("_total") {
        AppMetricKind::Counter
    } else {
        AppMetricKind::Gauge
    }
}

/// What a scrape found: the kept series (`name` or `name{labels}`), and the lines that
/// could not be read.
#[derive(Debug, Default)]
pub(crate) struct Scraped {
    pub samples: Vec<(String, f64, AppMetricKind)>,
    pub bad: Vec<(Reason, String)>,
}

/// Reads a Prometheus text body, keeping the series `keep` names (a bare name keeps all its
/// label sets) or, when `keep` is empty, the first `first` series. At most `first`
/// malformed lines are reported.
pub(crate) fn prometheus_text(body: &str, keep: &[String], first: usize) -> Scraped {
    let mut types: HashMap<&str, &str> = HashMap::new();
    let mut out = Scraped::default();
    for line in body.lines() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            let mut words = comment.split_ascii_whitespace();
            if let (Some("TYPE"), Some(name), Some(kind)) =
                (words.next(), words.next(), words.next())
            {
                types.insert(name, kind);
            }
            continue;
        }
        if keep.is_empty() && out.samples.len() >= first {
            break;
        }
        let Some((name, labels, value)) = sample_line(line) else {
            if out.bad.len() < first {
                out.bad.push((Reason::Malformed, line.to_string()));
            }
            continue;
        };
        let key = if labels.is_empty() || labels == "{}" {
            name.to_string()
        } else {
            format!("{name}{labels}")
        };
        let wanted = keep.is_empty() || keep.iter().any(|k| k == name || *k == key);
        if !wanted {
            continue;
        }
        if key.len() > MAX_APP_NAME || key.chars().any(char::is_control) {
            out.bad.push((Reason::InvalidName, key));
            continue;
        }
        let Ok(value) = value.parse::<f64>() else {
            out.bad.push((Reason::Malformed, line.to_string()));
            continue;
        };
        if !value.is_finite() {
            out.bad.push((Reason::NotFinite, key));
            continue;
        }
        out.samples.push((key, value, kind_of(name, &types)));
    }
    out
}

/// `name{labels} value [timestamp]` → its parts; labels may quote `}` and spaces.
fn sample_line(line: &str) -> Option<(&str, &str, &str)> {
    let end = line
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .unwrap_or(line.len());
    let name = &line[..end];
    if !valid_metric_name(name) {
        return None;
    }
    let rest = &line[end..];
    let (labels, rest) = if rest.starts_with('{') {
        let close = label_end(rest)?;
        (&rest[..=close], &rest[close + 1..])
    } else {
        ("", rest)
    };
    if !rest.starts_with([' ', '\t']) {
        return None;
    }
    let mut words = rest.split_ascii_whitespace();
    let value = words.next()?;
    match (words.next(), words.next()) {
        (None, _) => Some((name, labels, value)),
        (Some(ts), None) if ts.parse::<i64>().is_ok() => Some((name, labels, value)),
        _ => None,
    }
}

/// The index of the `}` closing a label set that starts at 0.
fn label_end(text: &str) -> Option<usize> {
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in text.char_indices().skip(1) {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '}' if !quoted => return Some(i),
            _ => {}
        }
    }
    None
}

/// A series' kind from the `# TYPE` lines: counters, and the `_count`, `_sum` and
/// `_bucket` series of histograms and summaries, are counters; without a type, a name
/// ending in `_total` is.
fn kind_of(name: &str, types: &HashMap<&str, &str>) -> AppMetricKind {
    let counter = |t: &str| matches!(t, "counter" | "histogram" | "summary");
    if let Some(t) = types.get(name) {
        return if *t == "counter" {
            AppMetricKind::Counter
        } else {
            AppMetricKind::Gauge
        };
    }
    for suffix in ["_total", "_count", "_sum", "_bucket"] {
        if let Some(base) = name.strip_suffix(suffix)
            && let Some(t) = types.get(base)
        {
            return if counter(t) {
                AppMetricKind::Counter
            } else {
                AppMetricKind::Gauge
            };
        }
    }
    default_kind(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use AppMetricKind::{Counter, Gauge};

    #[test]
    fn metric_lines() {
        assert_eq!(
            metric_line("METRIC requests_total=1234"),
            Some(Ok(("requests_total", 1234.0, Counter)))
        );
        assert_eq!(
            metric_line("METRIC queue_depth=7 gauge"),
            Some(Ok(("queue_depth", 7.0, Gauge)))
        );
        assert_eq!(
            metric_line("METRIC x=1.5 counter"),
            Some(Ok(("x", 1.5, Counter)))
        );
        assert_eq!(metric_line("READY=1"), None);
        assert_eq!(metric_line("METRICS=1"), None);
        for (line, why) in [
            ("METRIC x", Reason::Malformed),
            ("METRIC x=", Reason::Malformed),
            ("METRIC x=abc", Reason::Malformed),
            ("METRIC x=1 histogram", Reason::Malformed),
            ("METRIC x=1 gauge extra", Reason::Malformed),
            ("METRIC a-b=1", Reason::InvalidName),
            ("METRIC =1", Reason::InvalidName),
            ("METRIC x=NaN", Reason::NotFinite),
            ("METRIC x=inf", Reason::NotFinite),
            ("METRIC x=-infinity", Reason::NotFinite),
        ] {
            assert_eq!(metric_line(line), Some(Err(why)), "{line}");
        }
    }

    const BODY: &str = "\
# HELP http_requests_total Requests.
# TYPE http_requests_total counter
http_requests_total{code=\"200\",path=\"/a }b\"} 1027 1395066363000
http_requests_total{code=\"500\"} 3
# TYPE queue_depth gauge
queue_depth 7
# TYPE latency histogram
latency_bucket{le=\"0.1\"} 5
latency_count 9
up_total 1
not a line
weird NaN
";

    #[test]
    fn a_scrape_keeps_the_named_series_or_the_first_ones() {
        let all = prometheus_text(BODY, &[], 20);
        let names: Vec<&str> = all.samples.iter().map(|s| s.0.as_str()).collect();
        assert_eq!(
            names,
            [
                "http_requests_total{code=\"200\",path=\"/a }b\"}",
                "http_requests_total{code=\"500\"}",
                "queue_depth",
                "latency_bucket{le=\"0.1\"}",
                "latency_count",
                "up_total",
            ]
        );
        let kinds: Vec<AppMetricKind> = all.samples.iter().map(|s| s.2).collect();
        assert_eq!(kinds, [Counter, Counter, Gauge, Counter, Counter, Counter]);
        assert_eq!(all.bad.len(), 2, "{:?}", all.bad);
        assert_eq!(all.bad[1].0, Reason::NotFinite);
        let first = prometheus_text(BODY, &[], 2);
        assert_eq!(first.samples.len(), 2);
        let keep = [
            "queue_depth".to_string(),
            "http_requests_total{code=\"500\"}".into(),
        ];
        let kept = prometheus_text(BODY, &keep, 20);
        let names: Vec<&str> = kept.samples.iter().map(|s| s.0.as_str()).collect();
        assert_eq!(names, ["http_requests_total{code=\"500\"}", "queue_depth"]);
        let bare = prometheus_text(BODY, &["http_requests_total".to_string()], 20);
        assert_eq!(bare.samples.len(), 2);
        assert_eq!(bare.samples[0].1, 1027.0);
    }
}
