//! The daemon's errors.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum DaemonError {
    #[error("{about}: {source}")]
    Io {
        about: String,
        source: std::io::Error,
    },
    #[error("a daemon is already running for {home} (pid {pid})")]
    AlreadyRunning { home: String, pid: String },
    #[error(transparent)]
    State(#[from] pmtui_statedir::StateError),
}
