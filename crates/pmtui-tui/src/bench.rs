//! For the benchmark suite: build an app holding `rows` processes and time one frame of the
//! dashboard, or of one process's detail view with its charts, drawn into a `TestBackend`.

use crate::app::{App, View};
use crate::msg::{Msg, Tag};
use crate::theme::Theme;
use crossterm::event::{KeyCode, KeyEvent};
use pmtui_proto::{
    ExitRecord, MetricsHistory, ProcessDetail, ProcessInfo, ProcessMetrics, ProcessSample,
    ProcessSpec, ProcessStatus, Response,
};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::time::{Duration, Instant};

/// `rows` made-up processes with varied status, CPU and memory.
pub fn processes(rows: usize) -> Vec<ProcessInfo> {
    (0..rows as u32)
        .map(|id| ProcessInfo {
            id,
            name: format!("worker-{id:04}"),
            namespace: ["default", "api", "jobs"][id as usize % 3].to_string(),
            instance: 0,
            status: match id % 10 {
                0 => ProcessStatus::Stopped,
                1 => ProcessStatus::Errored,
                _ => ProcessStatus::Online,
            },
            pid: Some(10_000 + id),
            restarts: id % 7,
            unstable_restarts: 0,
            uptime_ms: 60_000,
            cpu: f64::from(id % 100) / 3.0,
            memory: 1024 * 1024 * u64::from(10 + id % 90),
            exit_code: None,
            exit_signal: None,
            created_at: 1_000_000,
            started_at: Some(1_000_000),
            next_restart_at: None,
            status_reason: None,
            command: format!("/usr/bin/worker --shard {id}"),
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
        })
        .collect()
}

/// An app on the dashboard with `rows` processes, as the UI holds them.
pub fn dashboard_app(rows: usize) -> App {
    let mut app = App::new(Theme { color: true }, 2_000_000, View::Dashboard);
    app.set_processes(processes(rows));
    app
}

/// A dashboard of `rows` processes drawn again and again into a 200×60 `TestBackend`.
pub struct DashboardBench {
    app: App,
    terminal: Terminal<TestBackend>,
    down: bool,
}

impl DashboardBench {
    pub fn new(rows: usize) -> Self {
        let mut app = dashboard_app(rows);
        let Ok(mut terminal) = Terminal::new(TestBackend::new(200, 60));
        let _ = terminal.draw(|f| crate::ui::render(&mut app, f));
        Self {
            app,
            terminal,
            down: false,
        }
    }

    /// Moves the selection to the other end of the table (so the frame differs from the
    /// last one, as when a user scrolls) and times drawing one frame.
    pub fn frame(&mut self) -> Duration {
        self.down = !self.down;
        let key = if self.down {
            KeyCode::Char('G')
        } else {
            KeyCode::Char('g')
        };
        let _ = self.app.update(Msg::Key(KeyEvent::from(key)));
        let start = Instant::now();
        let _ = self.terminal.draw(|f| crate::ui::render(&mut self.app, f));
        start.elapsed()
    }
}

/// The detail view of one process among `rows`, with a full ten minutes of CPU and memory
/// history, an environment and a restart history, drawn again and again into a 200×60
/// `TestBackend`.
pub struct DetailBench {
    app: App,
    terminal: Terminal<TestBackend>,
    id: pmtui_proto::ProcessId,
    ticks: u64,
}

impl DetailBench {
    pub fn new(rows: usize) -> Self {
        let mut app = dashboard_app(rows);
        let rows = processes(rows);
        let id = (rows.len() / 2) as u32;
        let info = rows
            .into_iter()
            .find(|p| p.id == id)
            .unwrap_or_else(|| processes(1).remove(0));
        let id = info.id;
        app.selected = Some(id);
        let _ = app.update(Msg::Key(KeyEvent::from(KeyCode::Enter)));
        let _ = app.update(Msg::Reply(
            Tag::Describe(id),
            Ok(Response::Details {
                details: vec![detail(info, app.now)],
            }),
        ));
        let Ok(mut terminal) = Terminal::new(TestBackend::new(200, 60));
        let _ = terminal.draw(|f| crate::ui::render(&mut app, f));
        Self {
            app,
            terminal,
            id,
            ticks: 0,
        }
    }

    /// Adds one sample (as the once-a-second refresh does, so the charts move and the frame
    /// differs from the last one) and times drawing one frame.
    pub fn frame(&mut self) -> Duration {
        self.ticks += 1;
        self.app.now += 1000;
        let sample = ProcessSample {
            id: self.id,
            at: self.app.now,
            cpu: (self.ticks * 37 % 100) as f32,
            memory: (300 + self.ticks * 13 % 200) * 1024 * 1024,
            memory_percent: 1.0,
            threads: 4,
            fds: Some(20),
            processes: 1,
            app: Vec::new(),
        };
        self.app.set_metrics(&[ProcessMetrics {
            id: self.id,
            name: String::new(),
            namespace: String::new(),
            status: ProcessStatus::Online,
            restarts: 0,
            current: Some(sample),
            history: None,
            health: None,
            readiness: None,
        }]);
        let start = Instant::now();
        let _ = self.terminal.draw(|f| crate::ui::render(&mut self.app, f));
        start.elapsed()
    }
}

/// What `describe` sends for `info`: 600 samples, 60 variables, 20 exits with stderr lines.
fn detail(mut info: ProcessInfo, now: u64) -> ProcessDetail {
    info.status = ProcessStatus::Online;
    let n = crate::history::KEEP as u64;
    let exit = |i: u64| ExitRecord {
        at: now - (20 - i) * 30_000,
        pid: 3000 + i as u32,
        exit_code: Some(1),
        exit_signal: None,
        uptime_ms: 5_000,
        reason: "crash".into(),
        detail: "exited with code 1".into(),
        next_restart_at: None,
        outcome: "restart".into(),
        last_stderr: vec![
            "Error: listen EADDRINUSE: address already in use :::3000".into(),
            "    at Server.listen (node:net:1899:7)".into(),
        ],
        trigger: None,
        started_at: None,
    };
    ProcessDetail {
        spec: ProcessSpec {
            name: info.name.clone(),
            script: "/usr/bin/worker".into(),
            args: vec!["--shard".into(), info.id.to_string()],
            cwd: "/srv/app".into(),
            config_env: (0..10)
                .map(|i| (format!("SET_{i}"), format!("value {i}")))
                .collect(),
            ..Default::default()
        },
        env: (0..60)
            .map(|i| (format!("VAR_{i:02}"), format!("inherited value {i}")))
            .collect(),
        out_log: Some("/home/me/.pmtui/logs/worker-out.log".into()),
        err_log: Some("/home/me/.pmtui/logs/worker-error.log".into()),
        history: (0..20).map(exit).collect(),
        metrics: MetricsHistory {
            interval_ms: 1000,
            capacity: n as usize,
            at: (0..n).map(|i| now - (n - i) * 1000).collect(),
            cpu: (0..n).map(|i| (i * 37 % 100) as f32).collect(),
            memory: (0..n).map(|i| (300 + i * 13 % 200) * 1024 * 1024).collect(),
            ..Default::default()
        },
        containment: "cgroup".into(),
        cgroup: None,
        hook_failures: Vec::new(),
        info,
    }
}

/// Draws one dashboard frame of an app with `rows` processes into a 200×60 `TestBackend`,
/// after one warm-up frame, and returns how long that frame took.
pub fn render_dashboard(rows: usize) -> Duration {
    DashboardBench::new(rows).frame()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_thousand_row_frame_draws_only_the_visible_rows() {
        let mut bench = super::DashboardBench::new(1000);
        bench.frame();
        let screen = bench.terminal.backend().to_string();
        assert!(screen.contains("worker-0999"), "G shows the last row");
        assert!(!screen.contains("worker-0000"));
        assert!(super::render_dashboard(10) > std::time::Duration::ZERO);
    }

    #[test]
    fn the_detail_bench_draws_the_charts_of_its_process() {
        let mut bench = super::DetailBench::new(1000);
        bench.frame();
        let screen = bench.terminal.backend().to_string();
        assert!(screen.contains("worker-0500 · id 500"), "{screen}");
        assert!(screen.contains("CPU · "), "{screen}");
        assert!(screen.contains("Restart history (20)"), "{screen}");
    }
}
