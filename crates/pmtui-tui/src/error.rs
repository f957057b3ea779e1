//! The TUI's errors: only the terminal can fail it; the daemon's troubles are shown, not raised.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum TuiError {
    #[error("cannot use the terminal: {0}")]
    Terminal(#[from] std::io::Error),
    #[error("the UI shows 1 to {max} hosts, and {0} were given", max = crate::hosts::MAX_HOSTS)]
    Hosts(usize),
}
