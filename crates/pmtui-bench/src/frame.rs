//! The UI scenario: one 1,000-row dashboard frame rendered into ratatui's `TestBackend`,
//! timed in this process (no daemon, no terminal). It needs the TUI crate's bench hook;
//! until that exists, the scenario reports "not available".

/// Median render time of one frame in milliseconds, or `None` when the TUI offers no hook.
pub fn render_ms(_rows: usize, _iters: usize) -> Option<f64> {
    None
}
