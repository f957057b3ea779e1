//! The client's errors, each saying what to do about it.

use pmtui_proto::ErrorKind;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ClientError {
    #[error("cannot reach the pmtui daemon at {socket}: {source}")]
    Unreachable {
        socket: String,
        source: std::io::Error,
    },
    #[error("the pmtui daemon did not start within {seconds} s; see {log}")]
    StartTimeout { seconds: u64, log: String },
    #[error("cannot start the pmtui daemon: {0}")]
    Spawn(std::io::Error),
    #[error("the connection to the daemon was lost")]
    Disconnected,
    #[error("protocol error: {0}")]
    Protocol(String),
    #[error("{message}")]
    Daemon { kind: ErrorKind, message: String },
}

impl From<pmtui_proto::ProtoError> for ClientError {
    fn from(err: pmtui_proto::ProtoError) -> Self {
        Self::Protocol(err.to_string())
    }
}
