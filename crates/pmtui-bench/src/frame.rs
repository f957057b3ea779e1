//! The UI scenario: a 1,000-row dashboard frame rendered into ratatui's `TestBackend`
//! (200×60), timed in this process through the TUI crate's bench hook: no daemon, no
//! terminal. Each frame moves the selection to the other end of the table, as a user
//! scrolling would, so no frame is a copy of the previous one.

use pmtui_tui::bench::DashboardBench;

/// Median render time of one frame over `iters` frames, in milliseconds.
pub fn render_ms(rows: usize, iters: usize) -> Option<f64> {
    let mut bench = DashboardBench::new(rows);
    // One frame to warm caches and allocations, as a running UI would have.
    bench.frame();
    let samples: Vec<f64> = (0..iters.max(1))
        .map(|_| bench.frame().as_secs_f64() * 1000.0)
        .collect();
    crate::report::median(&samples)
}
