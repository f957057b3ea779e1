//! The supervisor's errors; each maps onto a wire `ErrorKind`.

use pmtui_proto::ErrorKind;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum SupervisorError {
    #[error("no process matches {0}; `pmtui ls` lists them")]
    UnknownProcess(String),
    #[error("a process named {0} already exists; use --force to start a duplicate")]
    NameTaken(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("could not start {name}: {source}")]
    Spawn {
        name: String,
        source: std::io::Error,
    },
    /// Out of open files (the message says which limit and how to raise it).
    #[error("{0}")]
    FdLimit(String),
    /// File watching could not be set up (the message names the limit and the sysctl).
    #[error("{0}")]
    Watch(String),
    #[error("{about}: {source}")]
    Io {
        about: String,
        source: std::io::Error,
    },
    #[error("the daemon is shutting down")]
    ShuttingDown,
    /// The jobs of these processes failed while carrying out the command.
    #[error(
        "the command did not complete for {0}: pmtui's job for it failed internally (recorded \
         in its history, `pmtui ping` and daemon.log); what its run left was ended and the job \
         started again; check `pmtui ls`"
    )]
    JobFailed(String),
    /// A rolling reload stopped at an instance whose new run failed or was not ready in
    /// time (named, with why); the old runs keep serving.
    #[error("reload stopped at {0}; the old instances keep serving")]
    ReloadFailed(String),
}

impl SupervisorError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::UnknownProcess(_) => ErrorKind::UnknownProcess,
            Self::NameTaken(_) => ErrorKind::NameTaken,
            Self::BadRequest(_) => ErrorKind::BadRequest,
            Self::Spawn { .. } | Self::FdLimit(_) | Self::ReloadFailed(_) => ErrorKind::Spawn,
            Self::Io { .. } | Self::Watch(_) => ErrorKind::Io,
            Self::ShuttingDown | Self::JobFailed(_) => ErrorKind::Internal,
        }
    }
}
