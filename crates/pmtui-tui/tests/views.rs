//! Every view drawn into a `TestBackend` and compared with its committed snapshot. Times,
//! pids and paths are fixed so the pictures are stable.

use crossterm::event::{KeyCode, KeyEvent};
use pmtui_proto::{
    Event, EventKind, ExitRecord, LogLine, LogStream, MetricsHistory, ProcessDetail, ProcessInfo,
    ProcessSpec, ProcessStatus, Response,
};
use pmtui_tui::app::{App, View};
use pmtui_tui::theme::Theme;
use pmtui_tui::{Msg, Tag};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const NOW: u64 = 1_800_000_000_000;
const MB: u64 = 1024 * 1024;

fn info(
    id: u32,
    name: &str,
    status: ProcessStatus,
    cpu: f64,
    memory: u64,
    restarts: u32,
) -> ProcessInfo {
    let running = status.is_running();
    ProcessInfo {
        id,
        name: name.into(),
        namespace: if id.is_multiple_of(2) {
            "default".into()
        } else {
            "jobs".into()
        },
        instance: 0,
        status,
        pid: running.then_some(4000 + id),
        restarts,
        unstable_restarts: 0,
        uptime_ms: 0,
        cpu,
        memory,
        exit_code: None,
        exit_signal: None,
        created_at: NOW - 7_200_000,
        started_at: running.then_some(NOW - 3_723_000 / (u64::from(id) + 1)),
        next_restart_at: None,
        status_reason: (status == ProcessStatus::Errored)
            .then(|| "crash loop: 16 restarts in 16s".into()),
        command: format!("/srv/{name}"),
        mode: Default::default(),
        sockets: Vec::new(),
        reload: None,
        readiness: None,
        ready_at: None,
        health: None,
        last_probe: None,
        status_text: None,
        main_pid: None,
    }
}

fn processes() -> Vec<ProcessInfo> {
    vec![
        info(0, "api", ProcessStatus::Online, 12.5, 84 * MB, 0),
        info(1, "worker", ProcessStatus::Online, 97.3, 512 * MB, 2),
        info(2, "scheduler", ProcessStatus::Stopped, 0.0, 0, 0),
        info(3, "flaky", ProcessStatus::Errored, 0.0, 0, 16),
        info(4, "mailer", ProcessStatus::WaitingRestart, 0.0, 0, 3),
    ]
}

fn app(view: View) -> App {
    let mut app = App::new(Theme { color: false }, NOW, view);
    app.mem_total = 16 * 1024 * MB;
    app.update(Msg::Connected {
        daemon_pid: 4242,
        version: "0.1.0".into(),
    });
    app.set_processes(processes());
    app
}

fn key(app: &mut App, code: KeyCode) {
    app.update(Msg::Key(KeyEvent::from(code)));
}

fn keys(app: &mut App, text: &str) {
    for c in text.chars() {
        key(app, KeyCode::Char(c));
    }
}

fn draw(app: &mut App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("test backend");
    app.update(Msg::Resize(width, height));
    terminal
        .draw(|f| pmtui_tui::ui::render(app, f))
        .expect("draw");
    // A second frame, as the real loop draws again: the renderer keeps scroll state.
    terminal
        .draw(|f| pmtui_tui::ui::render(app, f))
        .expect("draw");
    terminal.backend().to_string()
}

fn log_lines(id: u32, name: &str, n: u64) -> Vec<LogLine> {
    (1..=n)
        .map(|i| LogLine {
            id,
            name: name.into(),
            stream: if i % 4 == 0 {
                LogStream::Err
            } else {
                LogStream::Out
            },
            seq: i,
            at: NOW - 10_000 + i * 100 + u64::from(id),
            text: if i % 4 == 0 {
                format!("warning: slow request #{i} took 1.{i}s")
            } else {
                format!("GET /api/items/{i} 200 in {i}ms")
            },
        })
        .collect()
}

fn detail() -> ProcessDetail {
    let mut env = std::collections::BTreeMap::new();
    for (k, v) in [
        ("NODE_ENV", "production"),
        ("PORT", "3000"),
        ("PMTUI_HOME", "/home/me/.pmtui"),
        ("pm_id", "1"),
    ] {
        env.insert(k.to_string(), v.to_string());
    }
    let spec = ProcessSpec {
        name: "worker".into(),
        script: "/srv/app/worker.py".into(),
        args: vec!["--queue".into(), "mail".into()],
        interpreter: Some("python3".into()),
        cwd: "/srv/app".into(),
        ..Default::default()
    };
    let exit = |ago: u64, code: i32, reason: &str| ExitRecord {
        at: NOW - ago,
        pid: 3000,
        exit_code: Some(code),
        exit_signal: None,
        uptime_ms: 5_000,
        reason: reason.into(),
        detail: format!("exited with code {code}"),
        next_restart_at: None,
        outcome: "restart".into(),
        last_stderr: Vec::new(),
    };
    let n = 120;
    ProcessDetail {
        info: info(1, "worker", ProcessStatus::Online, 97.3, 512 * MB, 2),
        spec,
        env,
        out_log: None,
        err_log: None,
        history: vec![exit(3_600_000, 1, "crash"), exit(600_000, 0, "restart")],
        metrics: MetricsHistory {
            interval_ms: 1000,
            capacity: 600,
            at: (0..n).map(|i| NOW - (n - i) * 1000).collect(),
            cpu: (0..n).map(|i| ((i * 37) % 100) as f32).collect(),
            memory: (0..n).map(|i| (300 + (i * 13) % 200) * MB).collect(),
            ..Default::default()
        },
        containment: "cgroup".into(),
        cgroup: None,
    }
}

#[test]
fn dashboard_80x24() {
    let mut app = app(View::Dashboard);
    key(&mut app, KeyCode::Down);
    insta::assert_snapshot!(draw(&mut app, 80, 24));
}

#[test]
fn dashboard_explains_an_errored_selection() {
    let mut app = app(View::Dashboard);
    keys(&mut app, "jjj");
    insta::assert_snapshot!(draw(&mut app, 100, 10));
}

#[test]
fn dashboard_wide_sorted_by_cpu() {
    let mut app = app(View::Dashboard);
    keys(&mut app, "4");
    insta::assert_snapshot!(draw(&mut app, 120, 16));
}

#[test]
fn dashboard_filtering() {
    let mut app = app(View::Dashboard);
    keys(&mut app, "/er");
    insta::assert_snapshot!(draw(&mut app, 100, 14));
}

#[test]
fn dashboard_empty() {
    let mut app = App::new(Theme { color: false }, NOW, View::Dashboard);
    app.update(Msg::Connected {
        daemon_pid: 4242,
        version: "0.1.0".into(),
    });
    insta::assert_snapshot!(draw(&mut app, 80, 12));
}

#[test]
fn dashboard_daemon_unreachable() {
    let mut app = app(View::Dashboard);
    app.update(Msg::Disconnected(
        "cannot reach the pmtui daemon at /tmp/pmtui.sock".into(),
    ));
    insta::assert_snapshot!(draw(&mut app, 100, 12));
}

#[test]
fn dashboard_action_failed() {
    let mut app = app(View::Dashboard);
    app.update(Msg::Reply(
        Tag::Action {
            verb: "stopped",
            name: "api".into(),
        },
        Err("no process matches 0; `pmtui ls` lists them".into()),
    ));
    insta::assert_snapshot!(draw(&mut app, 100, 12));
}

#[test]
fn dashboard_thousand_rows_at_the_end() {
    let mut app = pmtui_tui::bench::dashboard_app(1000);
    app.now = NOW;
    app.update(Msg::Connected {
        daemon_pid: 4242,
        version: "0.1.0".into(),
    });
    key(&mut app, KeyCode::Char('G'));
    insta::assert_snapshot!(draw(&mut app, 100, 16));
}

#[test]
fn detail_view() {
    let mut app = app(View::Dashboard);
    key(&mut app, KeyCode::Down);
    key(&mut app, KeyCode::Enter);
    app.update(Msg::Reply(
        Tag::Describe(1),
        Ok(Response::Details {
            details: vec![detail()],
        }),
    ));
    insta::assert_snapshot!(draw(&mut app, 120, 36));
}

#[test]
fn detail_view_80x24() {
    let mut app = app(View::Dashboard);
    key(&mut app, KeyCode::Down);
    key(&mut app, KeyCode::Enter);
    app.update(Msg::Reply(
        Tag::Describe(1),
        Ok(Response::Details {
            details: vec![detail()],
        }),
    ));
    insta::assert_snapshot!(draw(&mut app, 80, 24));
}

fn logs_app(all: bool) -> App {
    let mut app = app(View::Dashboard);
    keys(&mut app, if all { "L" } else { "l" });
    let lines = if all {
        let mut l = log_lines(0, "api", 12);
        l.extend(log_lines(1, "worker", 12));
        l
    } else {
        log_lines(0, "api", 40)
    };
    let generation = app.logs.generation;
    app.update(Msg::Reply(
        Tag::LogSeed { generation },
        Ok(Response::LogLines { lines }),
    ));
    app
}

#[test]
fn logs_one_process_following() {
    let mut app = logs_app(false);
    insta::assert_snapshot!(draw(&mut app, 80, 16));
}

#[test]
fn logs_all_merged_paused_with_search() {
    let mut app = logs_app(true);
    keys(&mut app, "/slow");
    key(&mut app, KeyCode::Enter);
    keys(&mut app, "N");
    app.update(Msg::Daemon(Event {
        seq: 0,
        kind: EventKind::Log {
            line: LogLine {
                id: 0,
                name: "api".into(),
                stream: LogStream::Out,
                seq: 99,
                at: NOW,
                text: "new while paused".into(),
            },
        },
    }));
    insta::assert_snapshot!(draw(&mut app, 100, 16));
}

#[test]
fn logs_filtered_stderr_wrapped() {
    let mut app = logs_app(false);
    key(&mut app, KeyCode::Tab);
    key(&mut app, KeyCode::Tab);
    keys(&mut app, "&#2");
    insta::assert_snapshot!(draw(&mut app, 30, 12));
}

#[test]
fn monitor_cards_and_tail() {
    let mut app = app(View::Monitor);
    let lines = log_lines(0, "api", 12);
    app.update(Msg::Reply(Tag::Tail, Ok(Response::LogLines { lines })));
    key(&mut app, KeyCode::Right);
    insta::assert_snapshot!(draw(&mut app, 120, 30));
}

#[test]
fn monitor_80x24() {
    let mut app = app(View::Monitor);
    insta::assert_snapshot!(draw(&mut app, 80, 24));
}

#[test]
fn help_dashboard() {
    let mut app = app(View::Dashboard);
    keys(&mut app, "?");
    insta::assert_snapshot!(draw(&mut app, 80, 24));
}

#[test]
fn help_logs() {
    let mut app = logs_app(false);
    keys(&mut app, "?");
    insta::assert_snapshot!(draw(&mut app, 80, 24));
}

#[test]
fn help_detail() {
    let mut app = app(View::Dashboard);
    key(&mut app, KeyCode::Enter);
    keys(&mut app, "?");
    insta::assert_snapshot!(draw(&mut app, 80, 24));
}

#[test]
fn help_monitor() {
    let mut app = app(View::Monitor);
    keys(&mut app, "?");
    insta::assert_snapshot!(draw(&mut app, 80, 24));
}

#[test]
fn confirm_delete() {
    let mut app = app(View::Dashboard);
    keys(&mut app, "d");
    insta::assert_snapshot!(draw(&mut app, 80, 24));
}

#[test]
fn add_form_with_errors() {
    let mut app = app(View::Dashboard);
    app.resolver = Some(std::sync::Arc::new(|_: &pmtui_tui::AddRequest| {
        Err("unused".to_string())
    }));
    keys(&mut app, "a");
    key(&mut app, KeyCode::Tab);
    keys(&mut app, "my app");
    key(&mut app, KeyCode::Tab);
    key(&mut app, KeyCode::Tab);
    keys(&mut app, "lots");
    key(&mut app, KeyCode::Enter);
    insta::assert_snapshot!(draw(&mut app, 80, 24));
}

#[test]
fn tiny_terminals_do_not_panic() {
    for (w, h) in [(1, 1), (10, 3), (30, 8), (79, 23)] {
        for view in [
            "dashboard",
            "detail",
            "logs",
            "monitor",
            "help",
            "add",
            "confirm",
        ] {
            let mut app = logs_app(true);
            app.resolver = Some(std::sync::Arc::new(|_: &pmtui_tui::AddRequest| {
                Err("x".to_string())
            }));
            keys(&mut app, "q");
            match view {
                "detail" => key(&mut app, KeyCode::Enter),
                "logs" => keys(&mut app, "L"),
                "monitor" => keys(&mut app, "m"),
                "help" => keys(&mut app, "?"),
                "add" => keys(&mut app, "a"),
                "confirm" => keys(&mut app, "d"),
                _ => {}
            }
            let screen = draw(&mut app, w, h);
            assert_eq!(screen.lines().count(), h as usize, "{view} at {w}x{h}");
        }
    }
}

#[test]
fn dashboard_shows_a_suspended_process() {
    let mut app = app(View::Dashboard);
    let mut rows = processes();
    rows[1].status = ProcessStatus::Suspended;
    app.set_processes(rows);
    let screen = draw(&mut app, 100, 12);
    assert!(screen.contains("‖ 1 suspended"), "{screen}");
    assert!(screen.contains("‖ suspended"), "{screen}");
    assert!(screen.contains("● 1 online"), "{screen}");
}
