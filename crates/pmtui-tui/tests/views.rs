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
        watch: None,
        watch_trigger: None,
        watch_error: None,
        next_run_at: None,
        last_result: None,
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
        trigger: None,
        started_at: None,
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
        hook_failures: Vec::new(),
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

/// The three terminals the UI is tried in: a small one, a laptop, a wide screen.
const SIZES: [(u16, u16); 3] = [(80, 24), (140, 42), (200, 60)];

/// Snapshots `make()`'s app at every size in `SIZES`, as `<name>_<w>x<h>`.
fn at_sizes(name: &str, make: impl Fn() -> App) {
    for (w, h) in SIZES {
        let mut app = make();
        insta::assert_snapshot!(format!("{name}_{w}x{h}"), draw(&mut app, w, h));
    }
}

/// Processes as a busy host has them: a long name, a health check, instances of one app.
fn busy_processes() -> Vec<ProcessInfo> {
    let mut rows = processes();
    let mut long = info(
        5,
        "billing-reconciliation-nightly-export-worker",
        ProcessStatus::Online,
        1.5,
        40 * MB,
        0,
    );
    long.command = "/usr/bin/python3 /srv/billing/export.py --since yesterday --format csv".into();
    rows.push(long);
    for (id, instance) in [(6, 0), (7, 1)] {
        let mut web = info(id, "web", ProcessStatus::Online, 3.0, 60 * MB, 0);
        web.instance = instance;
        web.health = Some(pmtui_proto::Health::Healthy);
        web.last_probe = Some(pmtui_proto::ProbeResult {
            at: NOW - 4_000,
            ok: true,
            message: "GET /health → 200".into(),
            duration_ms: 3,
            failures: 0,
        });
        web.command = "node /srv/web/server.js".into();
        web.watch = Some(vec!["src".into(), "lib".into()]);
        web.watch_trigger = Some(pmtui_proto::WatchTrigger {
            at: NOW - 120_000,
            path: "src/app.js".into(),
        });
        if instance == 1 {
            web.reload = Some(pmtui_proto::ReloadState {
                phase: "waiting for ready".into(),
                step: 2,
                of: 2,
                new_pid: Some(5007),
                old_pid: Some(4007),
                since: NOW - 2_000,
            });
        }
        rows.push(web);
    }
    rows
}

fn busy_app(view: View) -> App {
    let mut app = app(view);
    app.set_processes(busy_processes());
    app
}

#[test]
fn dashboard_at_three_sizes() {
    at_sizes("dashboard_busy", || {
        let mut app = busy_app(View::Dashboard);
        key(&mut app, KeyCode::Down);
        app
    });
}

#[test]
fn dashboard_below_80x24_keeps_names() {
    let mut app = busy_app(View::Dashboard);
    let screen = draw(&mut app, 60, 16);
    insta::assert_snapshot!(screen.clone());
    assert!(
        screen.contains("NAME") && screen.contains("billing-"),
        "{screen}"
    );
    let mut app = busy_app(View::Dashboard);
    let screen = draw(&mut app, 30, 10);
    assert!(screen.contains("scheduler"), "{screen}");
}

#[test]
fn dashboard_output_pane() {
    at_sizes("dashboard_output_pane", || {
        let mut app = busy_app(View::Dashboard);
        let mut lines = log_lines(0, "api", 30);
        lines.extend(log_lines(1, "worker", 5));
        app.update(Msg::Reply(Tag::Tail, Ok(Response::LogLines { lines })));
        keys(&mut app, "o");
        app
    });
}

#[test]
fn confirm_delete_names_its_target() {
    at_sizes("confirm_delete_names", || {
        let mut app = busy_app(View::Dashboard);
        keys(&mut app, "G");
        keys(&mut app, "d");
        app
    });
}

#[test]
fn deleted_says_which_instance() {
    let mut app = deleted_instance();
    let screen = draw(&mut app, 80, 24);
    assert!(screen.contains("✔ deleted web (id 7)"), "{screen}");
}

/// An errored process that crashed on a port clash, with a reason longer than any line.
fn crashed_detail() -> ProcessDetail {
    let mut d = detail();
    let mut info = info(3, "flaky", ProcessStatus::Errored, 0.0, 0, 16);
    info.status_reason = Some(
        "crash loop: 9 runs shorter than min_uptime (1s) in a row, the last exited with code 1; \
         pmtui gave up after 16 restarts"
            .into(),
    );
    d.info = info;
    d.spec.name = "flaky".into();
    d.spec.max_memory_restart = Some(300 * MB);
    d.spec.config_env = [("PORT", "3000"), ("NODE_ENV", "production")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    for i in 0..40 {
        d.env
            .insert(format!("SHELL_VAR_{i:02}"), format!("value {i}"));
    }
    d.out_log = Some("/home/me/.pmtui/logs/flaky-out.log".into());
    d.err_log = Some("/home/me/.pmtui/logs/flaky-error.log".into());
    for r in &mut d.history {
        r.outcome = "errored".into();
        r.last_stderr = vec![
            "    at Server.listen (node:net:1899:7)".into(),
            "Error: listen EADDRINUSE: address already in use :::3000".into(),
        ];
    }
    // The samples end when it died, a minute ago: 15 seconds with a small CPU peak.
    let n = 15;
    d.metrics.at = (0..n).map(|i| NOW - 60_000 - (n - i) * 1000).collect();
    d.metrics.cpu = (0..n).map(|i| if i == 7 { 6.1 } else { 0.0 }).collect();
    d.metrics.memory = (0..n).map(|_| 84 * MB).collect();
    d
}

fn detail_app(detail: ProcessDetail) -> App {
    let mut app = busy_app(View::Dashboard);
    let id = detail.info.id;
    let mut rows = busy_processes();
    if let Some(row) = rows.iter_mut().find(|p| p.id == id) {
        *row = detail.info.clone();
    }
    app.set_processes(rows);
    while app.selected != Some(id) {
        key(&mut app, KeyCode::Down);
    }
    key(&mut app, KeyCode::Enter);
    app.update(Msg::Reply(
        Tag::Describe(id),
        Ok(Response::Details {
            details: vec![detail],
        }),
    ));
    app
}

#[test]
fn detail_of_a_crashed_process_at_three_sizes() {
    at_sizes("detail_crashed", || detail_app(crashed_detail()));
}

#[test]
fn detail_of_a_running_process_at_three_sizes() {
    at_sizes("detail_running", || detail_app(detail()));
}

#[test]
fn detail_with_the_inherited_environment_shown() {
    let mut app = detail_app(crashed_detail());
    keys(&mut app, "e");
    let screen = draw(&mut app, 140, 42);
    assert!(screen.contains("SHELL_VAR_00=value 0"), "{screen}");
    assert!(screen.contains("▾ 42 inherited"), "{screen}");
}

#[test]
fn monitor_at_three_sizes_with_more_cards_than_fit() {
    at_sizes("monitor_more", || {
        let mut app = busy_app(View::Monitor);
        let mut rows = busy_processes();
        for id in 8..20 {
            rows.push(info(
                id,
                &format!("job-{id}"),
                ProcessStatus::Online,
                1.0,
                10 * MB,
                0,
            ));
        }
        app.set_processes(rows);
        let mut lines = log_lines(6, "web", 4);
        lines.extend(log_lines(7, "web", 4));
        lines.extend(log_lines(0, "api", 4));
        app.update(Msg::Reply(Tag::Tail, Ok(Response::LogLines { lines })));
        app
    });
}

#[test]
fn logs_at_three_sizes_filtered_with_search() {
    at_sizes("logs_filtered_search", || {
        let mut app = logs_app(false);
        keys(&mut app, "&1");
        key(&mut app, KeyCode::Enter);
        keys(&mut app, "/slow");
        key(&mut app, KeyCode::Enter);
        app
    });
}

#[test]
fn logs_reopened_show_both_streams_and_esc_clears_first() {
    let mut app = logs_app(false);
    key(&mut app, KeyCode::Tab);
    keys(&mut app, "&GET");
    key(&mut app, KeyCode::Enter);
    keys(&mut app, "/items");
    key(&mut app, KeyCode::Enter);
    let screen = draw(&mut app, 140, 42);
    assert!(
        screen.contains("[stdout]"),
        "the stream reads without colour: {screen}"
    );
    assert!(
        screen.contains("stdout only, lines with \"GET\": 30 of 40 lines"),
        "{screen}"
    );
    assert!(
        screen.contains("search \"items\": 30 matching lines"),
        "{screen}"
    );
    key(&mut app, KeyCode::Esc);
    assert!(app.logs.filter().is_empty(), "esc clears the filter first");
    assert_eq!(app.view(), View::Logs);
    key(&mut app, KeyCode::Esc);
    assert!(app.logs.search.is_empty(), "then the search");
    assert_eq!(app.view(), View::Logs);
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.view(), View::Dashboard, "then it leaves");
    keys(&mut app, "l");
    let screen = draw(&mut app, 140, 42);
    assert!(
        screen.contains("[combined]"),
        "reopened on both streams: {screen}"
    );
}

#[test]
fn a_message_does_not_outlive_its_view() {
    let mut app = busy_app(View::Dashboard);
    keys(&mut app, "l");
    keys(&mut app, "c");
    assert!(draw(&mut app, 80, 24).contains("view cleared"));
    key(&mut app, KeyCode::Esc);
    let screen = draw(&mut app, 80, 24);
    assert!(!screen.contains("view cleared"), "{screen}");
}

#[test]
fn help_at_three_sizes() {
    at_sizes("help_dashboard", || {
        let mut app = busy_app(View::Dashboard);
        keys(&mut app, "?");
        app
    });
}

#[test]
fn detail_of_a_healthy_instance_in_a_reload_at_three_sizes() {
    at_sizes("detail_reload_health", || {
        let mut d = detail();
        let mut row = busy_processes()
            .into_iter()
            .find(|p| p.id == 7)
            .expect("web #1");
        row.mode = pmtui_proto::ExecMode::Cluster;
        row.sockets = vec!["tcp 0.0.0.0:8000".into()];
        d.info = row;
        d.spec.name = "web".into();
        d.spec.instances = 2;
        detail_app(d)
    });
}

#[test]
fn detail_facts_scroll_when_the_terminal_is_short() {
    let mut app = detail_app(crashed_detail());
    for _ in 0..10 {
        key(&mut app, KeyCode::Down);
    }
    let screen = draw(&mut app, 80, 24);
    assert!(screen.contains("stderr log"), "{screen}");
}

/// A nightly task waiting for its next firing, its last run failed.
fn task_row() -> ProcessInfo {
    let mut task = info(8, "backup", ProcessStatus::Scheduled, 0.0, 0, 0);
    task.next_run_at = Some(NOW + 300_000);
    task.last_result = Some("exit 3".into());
    task.command = "/usr/bin/sh /srv/backup.sh".into();
    task
}

fn task_app() -> App {
    let mut app = busy_app(View::Dashboard);
    let mut rows = busy_processes();
    rows.push(task_row());
    app.set_processes(rows);
    app
}

#[test]
fn dashboard_with_a_task_at_three_sizes() {
    at_sizes("dashboard_task", task_app);
    let mut app = task_app();
    let screen = draw(&mut app, 140, 42);
    assert!(screen.contains("◷ scheduled · next 08:05"), "{screen}");
}

fn task_detail_app() -> App {
    let mut d = detail();
    d.info = task_row();
    d.spec.name = "backup".into();
    d.spec.schedule = Some("5 8 * * *".into());
    d.spec.timezone = Some("UTC".into());
    d.history.clear();
    let mut app = task_app();
    let id = d.info.id;
    while app.selected != Some(id) {
        key(&mut app, KeyCode::Down);
    }
    key(&mut app, KeyCode::Enter);
    app.update(Msg::Reply(
        Tag::Describe(id),
        Ok(Response::Details { details: vec![d] }),
    ));
    app
}

#[test]
fn detail_of_a_task_at_three_sizes() {
    at_sizes("detail_task", task_detail_app);
    let mut app = task_detail_app();
    let screen = draw(&mut app, 140, 42);
    assert!(
        screen.contains("5 8 * * * (UTC) · next 2027-01-15 08:05 (in 5m 00s) · last run exit 3"),
        "{screen}"
    );
}

#[test]
fn detail_with_the_inherited_environment_expanded_at_three_sizes() {
    at_sizes("detail_env_expanded", || {
        let mut app = detail_app(crashed_detail());
        keys(&mut app, "e");
        app
    });
}

/// The add form with a shell-quoted environment, sent: `BAZ="a b"` is one pair.
fn quoted_add_form() -> (App, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut app = app(View::Dashboard);
    let into = std::sync::Arc::clone(&seen);
    app.resolver = Some(std::sync::Arc::new(move |r: &pmtui_tui::AddRequest| {
        *into.lock().expect("not poisoned") = r.env.clone();
        Ok(ProcessSpec {
            name: r.name.clone().unwrap_or_default(),
            script: r.command.clone(),
            ..Default::default()
        })
    }));
    keys(&mut app, "a");
    keys(&mut app, "python3 -m http.server 8000");
    key(&mut app, KeyCode::Tab);
    keys(&mut app, "files");
    for _ in 0..3 {
        key(&mut app, KeyCode::Tab);
    }
    keys(&mut app, "BAZ=\"a b\" Q='c d' PORT=8000");
    key(&mut app, KeyCode::Enter);
    (app, seen)
}

#[test]
fn add_form_takes_shell_quoting_at_three_sizes() {
    at_sizes("add_form_quoted", || quoted_add_form().0);
    let (mut app, seen) = quoted_add_form();
    assert_eq!(
        *seen.lock().expect("not poisoned"),
        ["BAZ=a b", "Q=c d", "PORT=8000"]
    );
    let screen = draw(&mut app, 80, 24);
    assert!(!screen.contains("is not KEY=VALUE"), "{screen}");
}

/// The log viewer on stdout only, filtered and searched: the count line says why lines are
/// missing.
fn logs_narrowed() -> App {
    let mut app = logs_app(false);
    key(&mut app, KeyCode::Tab);
    keys(&mut app, "&GET");
    key(&mut app, KeyCode::Enter);
    keys(&mut app, "/items");
    key(&mut app, KeyCode::Enter);
    app
}

#[test]
fn logs_narrowed_say_why_at_three_sizes() {
    at_sizes("logs_narrowed_reason", logs_narrowed);
    // At 80 columns the key hints give way so both counts still show.
    let screen = draw(&mut logs_narrowed(), 80, 24);
    assert!(
        screen.contains("stdout, \"GET\": 30 of 40 lines · /items: 30 matches"),
        "{screen}"
    );
}

#[test]
fn logs_first_esc_clears_the_filter_at_three_sizes() {
    at_sizes("logs_esc_clears_filter", || {
        let mut app = logs_narrowed();
        key(&mut app, KeyCode::Esc);
        app
    });
    at_sizes("logs_esc_clears_search", || {
        let mut app = logs_narrowed();
        key(&mut app, KeyCode::Esc);
        key(&mut app, KeyCode::Esc);
        app
    });
}

#[test]
fn logs_reopened_at_three_sizes() {
    at_sizes("logs_reopened", || {
        let mut app = logs_narrowed();
        for _ in 0..3 {
            key(&mut app, KeyCode::Esc);
        }
        keys(&mut app, "l");
        let generation = app.logs.generation;
        app.update(Msg::Reply(
            Tag::LogSeed { generation },
            Ok(Response::LogLines {
                lines: log_lines(0, "api", 40),
            }),
        ));
        app
    });
}

/// The dashboard after `y` deleted instance 1 of two `web`s.
fn deleted_instance() -> App {
    let mut app = busy_app(View::Dashboard);
    keys(&mut app, "Gd");
    let effects = app.update(Msg::Key(KeyEvent::from(KeyCode::Char('y'))));
    let [pmtui_tui::Effect::Send(tag, _)] = &effects[..] else {
        panic!("one request: {effects:?}")
    };
    app.update(Msg::Reply(
        tag.clone(),
        Ok(Response::Processes {
            processes: Vec::new(),
        }),
    ));
    let mut rows = busy_processes();
    rows.retain(|p| p.id != 7);
    app.set_processes(rows);
    app
}

#[test]
fn deleted_says_which_instance_at_three_sizes() {
    at_sizes("deleted_instance", deleted_instance);
}

#[test]
fn a_message_does_not_outlive_its_view_at_three_sizes() {
    at_sizes("message_left_with_its_view", || {
        let mut app = busy_app(View::Dashboard);
        keys(&mut app, "l");
        keys(&mut app, "c");
        key(&mut app, KeyCode::Esc);
        app
    });
}

#[test]
fn esc_burst_stops_at_the_dashboard_at_three_sizes() {
    at_sizes("esc_burst_at_the_dashboard", || {
        let mut app = busy_app(View::Dashboard);
        key(&mut app, KeyCode::Enter);
        keys(&mut app, "l");
        for _ in 0..3 {
            key(&mut app, KeyCode::Esc);
        }
        app
    });
}

/// Three hosts in one UI: this one, `ssh://deploy@web1` (connected) and `ssh://web2`
/// (lost: its rows are what was last known, marked), each sending its own snapshot.
fn hosts_app(view: View) -> App {
    use pmtui_tui::hosts::Hosts;
    let mut app = App::new(Theme { color: false }, NOW, view);
    app.mem_total = 16 * 1024 * MB;
    app.hosts = Hosts::many(
        ["local", "ssh://deploy@web1", "ssh://web2"]
            .into_iter()
            .map(String::from),
    );
    app.procs.host_ids = true;
    let shard = |host: usize, rows: Vec<ProcessInfo>| -> Vec<ProcessInfo> {
        rows.into_iter()
            .map(|mut p| {
                p.id = Hosts::ui_id(host, p.id).expect("small id");
                p
            })
            .collect()
    };
    let hosts: [Vec<ProcessInfo>; 3] = [
        processes()[..2].to_vec(),
        vec![
            info(0, "api", ProcessStatus::Online, 4.0, 70 * MB, 1),
            info(1, "worker", ProcessStatus::Stopped, 0.0, 0, 0),
        ],
        vec![info(0, "api", ProcessStatus::Online, 2.5, 66 * MB, 0)],
    ];
    for (host, rows) in hosts.into_iter().enumerate() {
        app.update(Msg::HostUp {
            host,
            daemon_pid: 4242 + host as u32,
            version: "0.1.0".into(),
        });
        app.update(Msg::HostReply(
            host,
            Tag::Subscribe,
            Ok(Response::Subscribed {
                seq: 1,
                processes: shard(host, rows),
            }),
        ));
    }
    app.update(Msg::HostDown {
        host: 2,
        why: "the connection was lost".into(),
    });
    app
}

#[test]
fn dashboard_of_several_hosts_at_three_sizes() {
    at_sizes("dashboard_hosts", || {
        let mut app = hosts_app(View::Dashboard);
        // The selection on web1's api: an action names its host.
        key(&mut app, KeyCode::Down);
        key(&mut app, KeyCode::Down);
        app
    });
}

#[test]
fn detail_names_its_host() {
    let mut app = hosts_app(View::Dashboard);
    key(&mut app, KeyCode::Down);
    key(&mut app, KeyCode::Down);
    key(&mut app, KeyCode::Enter);
    let screen = draw(&mut app, 100, 30);
    assert!(
        screen.contains("api · id 0 · on ssh://deploy@web1"),
        "{screen}"
    );
}

#[test]
fn a_host_snapshot_replaces_only_its_rows() {
    use pmtui_tui::hosts::Hosts;
    let mut app = hosts_app(View::Dashboard);
    assert_eq!(app.procs.counts.total, 5);
    // web1 comes back with one process gone.
    app.update(Msg::HostReply(
        1,
        Tag::Subscribe,
        Ok(Response::Subscribed {
            seq: 2,
            processes: vec![ProcessInfo {
                id: Hosts::ui_id(1, 0).expect("small id"),
                ..info(0, "api", ProcessStatus::Online, 4.0, 70 * MB, 1)
            }],
        }),
    ));
    assert_eq!(app.procs.counts.total, 4);
    assert!(app.procs.get(1).is_some(), "this host's worker stays");
}

#[test]
fn monitor_of_several_hosts_says_whose_lines() {
    let mut app = hosts_app(View::Monitor);
    let web1 = pmtui_tui::hosts::Hosts::ui_id(1, 0).expect("small id");
    for line in log_lines(0, "api", 3)
        .into_iter()
        .chain(log_lines(web1, "api", 3))
    {
        app.update(Msg::Daemon(Event {
            seq: line.seq,
            kind: EventKind::Log { line },
        }));
    }
    insta::assert_snapshot!(draw(&mut app, 120, 40));
}
