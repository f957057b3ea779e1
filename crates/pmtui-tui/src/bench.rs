//! For the benchmark suite: build an app holding `rows` processes and time one dashboard
//! frame drawn into a `TestBackend`.

use crate::app::{App, View};
use crate::msg::Msg;
use crate::theme::Theme;
use crossterm::event::{KeyCode, KeyEvent};
use pmtui_proto::{ProcessInfo, ProcessStatus};
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
}
