//! The apps' own metrics in the UI: the detail view's "App metrics" panel (value and
//! sparkline per series) and a Node app's event-loop lag on its monitor card, drawn into a
//! `TestBackend`.

use crossterm::event::{KeyCode, KeyEvent};
use pmtui_proto::{
    AppMetricKind, AppMetricSource, AppSeries, AppValue, MetricsHistory, ProcessDetail,
    ProcessMetrics, ProcessSample, ProcessSpec, ProcessStatus, Response,
};
use pmtui_tui::app::{App, View};
use pmtui_tui::theme::Theme;
use pmtui_tui::{Msg, Tag};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const NOW: u64 = 1_800_000_000_000;

fn values() -> Vec<AppValue> {
    let v = |name: &str, kind, source, value, rate| AppValue {
        name: name.into(),
        kind,
        source,
        value,
        rate,
    };
    vec![
        v(
            "node_event_loop_lag_p99_ms",
            AppMetricKind::Gauge,
            AppMetricSource::Node,
            212.4,
            None,
        ),
        v(
            "requests_total",
            AppMetricKind::Counter,
            AppMetricSource::Push,
            1234.0,
            Some(48.5),
        ),
        v(
            "node_heap_used_bytes",
            AppMetricKind::Gauge,
            AppMetricSource::Node,
            52_428_800.0,
            None,
        ),
    ]
}

fn app(view: View) -> App {
    let mut app = App::new(Theme { color: false }, NOW, view);
    app.update(Msg::Connected {
        daemon_pid: 1,
        version: "0.1.0".into(),
    });
    let mut info = pmtui_tui::bench::processes(1).remove(0);
    info.id = 0;
    info.name = "web".into();
    info.status = ProcessStatus::Online;
    info.pid = Some(100);
    app.set_processes(vec![info.clone()]);
    app.update(Msg::Reply(
        Tag::Refresh,
        Ok(Response::Metrics {
            interval_ms: 1000,
            host: None,
            processes: vec![ProcessMetrics {
                id: 0,
                name: "web".into(),
                namespace: "default".into(),
                status: ProcessStatus::Online,
                restarts: 0,
                current: Some(ProcessSample {
                    id: 0,
                    at: NOW,
                    cpu: 1.0,
                    memory: 1 << 20,
                    memory_percent: 0.1,
                    threads: 1,
                    fds: None,
                    processes: 1,
                    app: values(),
                }),
                history: None,
                health: None,
                readiness: None,
            }],
        }),
    ));
    app
}

fn draw(app: &mut App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("test backend");
    app.update(Msg::Resize(width, height));
    terminal
        .draw(|f| pmtui_tui::ui::render(app, f))
        .expect("draw");
    terminal.backend().to_string()
}

#[test]
fn the_detail_view_has_an_app_metrics_panel_with_sparklines() {
    let mut app = app(View::Dashboard);
    app.update(Msg::Key(KeyEvent::from(KeyCode::Enter)));
    let detail = ProcessDetail {
        info: app.procs.get(0).cloned().expect("row"),
        spec: ProcessSpec::default(),
        env: Default::default(),
        out_log: None,
        err_log: None,
        history: Vec::new(),
        metrics: MetricsHistory {
            app: vec![AppSeries {
                name: "requests_total".into(),
                kind: AppMetricKind::Counter,
                values: vec![0.0, 10.0, 20.0, 40.0],
                ..AppSeries::default()
            }],
            ..MetricsHistory::default()
        },
        containment: String::new(),
        cgroup: None,
        hook_failures: Vec::new(),
    };
    app.update(Msg::Reply(
        Tag::Describe(0),
        Ok(Response::Details {
            details: vec![detail],
        }),
    ));
    let screen = draw(&mut app, 120, 40);
    assert!(screen.contains("App metrics"), "{screen}");
    assert!(screen.contains("node_event_loop_lag_p99_ms"), "{screen}");
    assert!(screen.contains("212.4"), "{screen}");
    assert!(screen.contains("48.5/s"), "{screen}");
    // The one metric format of the CLI's describe too (pmtui_proto::format_metric).
    assert!(
        screen.contains("50.0 MB"),
        "a size, as memory is shown: {screen}"
    );
    assert!(screen.contains("▁▃▅█"), "the seeded history: {screen}");
}

#[test]
fn a_node_apps_monitor_card_shows_its_event_loop_lag() {
    let mut app = app(View::Monitor);
    let screen = draw(&mut app, 120, 30);
    assert!(screen.contains("lag 212ms"), "{screen}");
}
