//! The UI scenario: 1,000-row frames rendered into ratatui's `TestBackend` (200×60), timed
//! in this process through the TUI crate's bench hooks: no daemon, no terminal. The
//! dashboard moves its selection to the other end of the table each frame, as a user
//! scrolling would; the detail view (charts of ten minutes of samples, environment, restart
//! history) takes one new sample each frame, as its once-a-second refresh does. So no frame
//! is a copy of the previous one.

use pmtui_tui::bench::{DashboardBench, DetailBench};
use std::time::Duration;

/// Median render time of one dashboard frame over `iters` frames, in milliseconds.
pub fn render_ms(rows: usize, iters: usize) -> Option<f64> {
    let mut bench = DashboardBench::new(rows);
    median_ms(iters, || bench.frame())
}

/// Median render time of one detail-view frame (with charts) over `iters` frames, in
/// milliseconds.
pub fn detail_render_ms(rows: usize, iters: usize) -> Option<f64> {
    let mut bench = DetailBench::new(rows);
    median_ms(iters, || bench.frame())
}

fn median_ms(iters: usize, mut frame: impl FnMut() -> Duration) -> Option<f64> {
    // One frame to warm caches and allocations, as a running UI would have.
    frame();
    let samples: Vec<f64> = (0..iters.max(1))
        .map(|_| frame().as_secs_f64() * 1000.0)
        .collect();
    crate::report::median(&samples)
}
