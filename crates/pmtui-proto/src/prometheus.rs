//! The Prometheus text exposition format (version 0.0.4) of a metrics snapshot, shared by
//! `pmtui metrics --prometheus` and the daemon's `GET /metrics`. Process series carry `id`,
//! `name` and `namespace` labels; a process that is not running has only `pmtui_process_up 0`,
//! `pmtui_process_suspended 0` and its restart counter (no readiness, no health).

use crate::{HostSample, ProcessMetrics, ProcessStatus};
use std::fmt::Write;

/// The `Content-Type` of the text this module writes.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Renders the host and the processes as Prometheus text.
pub fn render(host: Option<&HostSample>, processes: &[ProcessMetrics]) -> String {
    let mut out = String::new();
    if let Some(h) = host {
        let host_metrics: [(&str, &str, f64); 5] = [
            (
                "pmtui_host_cpu_percent",
                "Busy CPU of the host, percent of all cores.",
                exact(h.cpu),
            ),
            (
                "pmtui_host_cores",
                "Logical CPUs of the host.",
                f64::from(h.cores),
            ),
            (
                "pmtui_host_memory_total_bytes",
                "Total memory of the host.",
                h.memory_total as f64,
            ),
            (
                "pmtui_host_memory_used_bytes",
                "Memory in use on the host (total minus available).",
                h.memory_used as f64,
            ),
            ("pmtui_host_load1", "1-minute load average.", exact(h.load1)),
        ];
        for (name, help, value) in host_metrics {
            header(&mut out, name, help, "gauge");
            let _ = writeln!(out, "{name} {}", number(value));
        }
    }
    type Get = fn(&ProcessMetrics) -> Option<f64>;
    let series: [(&str, &str, &str, Get); 12] = [
        (
            "pmtui_process_up",
            "1 when the process is online (0 when suspended).",
            "gauge",
            |p| Some(f64::from(u8::from(p.status == ProcessStatus::Online))),
        ),
        (
            "pmtui_process_suspended",
            "1 when the process is stopped by a signal (SIGSTOP).",
            "gauge",
            |p| Some(f64::from(u8::from(p.status == ProcessStatus::Suspended))),
        ),
        (
            "pmtui_process_scheduled",
            "1 when the process is a task waiting for its next firing (status scheduled).",
            "gauge",
            |p| Some(f64::from(u8::from(p.status == ProcessStatus::Scheduled))),
        ),
        (
            "pmtui_process_health",
            "Health probe verdict: 1 healthy, 0 unhealthy, 0.5 starting (only processes with a probe).",
            "gauge",
            |p| p.health.map(crate::Health::gauge),
        ),
        (
            "pmtui_process_ready",
            "1 when the current run is ready (first passing probe, readiness signal, or started).",
            "gauge",
            |p| {
                p.readiness
                    .map(|r| f64::from(u8::from(r == crate::Readiness::Ready)))
            },
        ),
        (
            "pmtui_process_restarts_total",
            "Restarts since the process was added or reset.",
            "counter",
            |p| Some(f64::from(p.restarts)),
        ),
        (
            "pmtui_process_cpu_percent",
            "CPU of the process tree, percent of one core.",
            "gauge",
            |p| p.current.as_ref().map(|c| exact(c.cpu)),
        ),
        (
            "pmtui_process_memory_bytes",
            "Resident memory of the process tree.",
            "gauge",
            |p| p.current.as_ref().map(|c| c.memory as f64),
        ),
        (
            "pmtui_process_memory_percent",
            "Resident memory of the process tree, percent of the host's memory.",
            "gauge",
            |p| p.current.as_ref().map(|c| exact(c.memory_percent)),
        ),
        (
            "pmtui_process_threads",
            "Threads in the process tree.",
            "gauge",
            |p| p.current.as_ref().map(|c| f64::from(c.threads)),
        ),
        (
            "pmtui_process_open_fds",
            "Open file descriptors in the process tree.",
            "gauge",
            |p| p.current.as_ref().and_then(|c| c.fds).map(f64::from),
        ),
        (
            "pmtui_process_tree_processes",
            "Processes in the process tree.",
            "gauge",
            |p| p.current.as_ref().map(|c| f64::from(c.processes)),
        ),
    ];
    for (name, help, kind, get) in series {
        let values: Vec<(String, f64)> = processes
            .iter()
            .filter_map(|p| Some((labels(p), get(p)?)))
            .collect();
        if values.is_empty() {
            continue;
        }
        header(&mut out, name, help, kind);
        for (labels, value) in values {
            let _ = writeln!(out, "{name}{{{labels}}} {}", number(value));
        }
    }
    app_series(&mut out, processes);
    out
}

/// The apps' own metrics, one family per kind, the series named by a `metric` label: an
/// app's names cannot clash with pmtui's or with another app's of another type.
fn app_series(out: &mut String, processes: &[ProcessMetrics]) {
    type Pick = fn(&crate::AppValue) -> Option<f64>;
    let families: [(&str, &str, &str, Pick); 3] = [
        (
            "pmtui_app_gauge",
            "An application gauge (Node runtime, METRIC push or scrape), by `metric`.",
            "gauge",
            |v| (v.kind == crate::AppMetricKind::Gauge).then_some(v.value),
        ),
        (
            "pmtui_app_counter_total",
            "An application counter's total as the app reported it, by `metric`.",
            "counter",
            |v| (v.kind == crate::AppMetricKind::Counter).then_some(v.value),
        ),
        (
            "pmtui_app_counter_rate",
            "An application counter's increase per second, by `metric`.",
            "gauge",
            |v| {
                (v.kind == crate::AppMetricKind::Counter)
                    .then_some(v.rate)
                    .flatten()
            },
        ),
    ];
    for (family, help, kind, pick) in families {
        let mut lines = Vec::new();
        for p in processes {
            let Some(current) = &p.current else { continue };
            for v in &current.app {
                if let Some(value) = pick(v).filter(|x| x.is_finite()) {
                    lines.push(format!(
                        "{family}{{{},metric=\"{}\"}} {}",
                        labels(p),
                        escape(&v.name),
                        number(value)
                    ));
                }
            }
        }
        if lines.is_empty() {
            continue;
        }
        header(out, family, help, kind);
        for line in lines {
            let _ = writeln!(out, "{line}");
        }
    }
}

fn header(out: &mut String, name: &str, help: &str, kind: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn labels(p: &ProcessMetrics) -> String {
    format!(
        "id=\"{}\",name=\"{}\",namespace=\"{}\"",
        p.id,
        escape(&p.name),
        escape(&p.namespace)
    )
}

/// Label values escape backslash, double quote and newline.
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// An `f32` as the `f64` its shortest decimal form names (2.59, not 2.5899999141693115).
fn exact(v: f32) -> f64 {
    v.to_string().parse().unwrap_or(f64::from(v))
}

fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ProcessSample;

    #[test]
    fn labels_are_escaped_and_stopped_processes_only_report_up() {
        let running = ProcessMetrics {
            id: 3,
            name: "we\"ird\\name\n".into(),
            namespace: "default".into(),
            status: ProcessStatus::Online,
            restarts: 2,
            current: Some(ProcessSample {
                id: 3,
                at: 0,
                cpu: 12.5,
                memory: 1024,
                memory_percent: 0.1,
                threads: 4,
                fds: None,
                processes: 2,
                app: vec![
                    crate::AppValue {
                        name: "requests_total".into(),
                        kind: crate::AppMetricKind::Counter,
                        source: crate::AppMetricSource::Push,
                        value: 120.0,
                        rate: Some(2.5),
                    },
                    crate::AppValue {
                        name: "node_event_loop_lag_p99_ms".into(),
                        kind: crate::AppMetricKind::Gauge,
                        source: crate::AppMetricSource::Node,
                        value: 12.25,
                        rate: None,
                    },
                ],
            }),
            history: None,
            health: Some(crate::Health::Unhealthy),
            readiness: Some(crate::Readiness::Ready),
        };
        let stopped = ProcessMetrics {
            id: 4,
            name: "off".into(),
            status: ProcessStatus::Stopped,
            restarts: 0,
            current: None,
            health: None,
            readiness: None,
            ..running.clone()
        };
        let suspended = ProcessMetrics {
            id: 5,
            name: "nap".into(),
            status: ProcessStatus::Suspended,
            ..running.clone()
        };
        let text = render(None, &[running, stopped, suspended]);
        assert!(text.contains("pmtui_process_up{id=\"5\",name=\"nap\",namespace=\"default\"} 0"));
        assert!(
            text.contains("pmtui_process_suspended{id=\"5\",name=\"nap\",namespace=\"default\"} 1")
        );
        assert!(
            text.contains("pmtui_process_suspended{id=\"4\",name=\"off\",namespace=\"default\"} 0")
        );
        assert!(text.contains(
            "pmtui_process_cpu_percent{id=\"3\",name=\"we\\\"ird\\\\name\\n\",namespace=\"default\"} 12.5"
        ), "{text}");
        assert!(text.contains("pmtui_process_up{id=\"4\",name=\"off\",namespace=\"default\"} 0"));
        assert!(!text.contains("pmtui_process_memory_bytes{id=\"4\""));
        assert!(
            !text.contains("pmtui_process_open_fds"),
            "no fds known: no series"
        );
        assert!(text.contains("# TYPE pmtui_process_health gauge"), "{text}");
        assert!(
            text.contains("pmtui_process_health{id=\"5\",name=\"nap\",namespace=\"default\"} 0"),
            "{text}"
        );
        assert!(
            !text.contains("pmtui_process_health{id=\"4\""),
            "no probe, no series"
        );
        assert!(
            text.contains("pmtui_process_ready{id=\"5\",name=\"nap\",namespace=\"default\"} 1"),
            "{text}"
        );
        let app = "id=\"3\",name=\"we\\\"ird\\\\name\\n\",namespace=\"default\"";
        for line in [
            format!("pmtui_app_counter_total{{{app},metric=\"requests_total\"}} 120"),
            format!("pmtui_app_counter_rate{{{app},metric=\"requests_total\"}} 2.5"),
            format!("pmtui_app_gauge{{{app},metric=\"node_event_loop_lag_p99_ms\"}} 12.25"),
            "# TYPE pmtui_app_counter_total counter".to_string(),
        ] {
            assert!(text.contains(&line), "{line} in {text}");
        }
        // Suspended (5) copies the running one's sample in this test; stopped (4) has none.
        assert!(!text.contains("id=\"4\",name=\"off\",namespace=\"default\",metric"));
    }
}
