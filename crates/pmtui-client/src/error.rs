//! The client's errors, each saying what to do about it.

use pmtui_proto::ErrorKind;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ClientError {
    #[error("cannot reach the pmtui daemon at {socket}: {error}")]
    Unreachable {
        socket: String,
        error: std::io::Error,
    },
    #[error("the pmtui daemon did not start within {seconds} s; see {log}")]
    StartTimeout { seconds: u64, log: String },
    #[error("cannot start the pmtui daemon: {0}")]
    Spawn(std::io::Error),
    #[error(
        "cannot use the state directory {home}: {error}; set PMTUI_HOME to a directory \
         you can write"
    )]
    StateDir { home: String, error: std::io::Error },
    #[error(
        "the socket path {socket} is {len} bytes, longer than the {max} a Unix socket allows; \
         set PMTUI_HOME to a shorter directory"
    )]
    SocketPathTooLong {
        socket: String,
        len: usize,
        max: usize,
    },
    #[error("the pmtui daemon exited before it answered: {last}; see {log}")]
    DaemonExited { last: String, log: String },
    #[error("{0}")]
    State(pmtui_statedir::StateError),
    #[error(
        "refusing to talk to {socket}: it is served by uid {uid}, not by you (uid {me}), and \
         pmtui would send it your environment; remove the socket if no daemon of yours runs \
         there, or set PMTUI_HOME to a directory of your own"
    )]
    ForeignSocket { socket: String, uid: u32, me: u32 },
    #[error(
        "the pmtui daemon (pid {pid}) did not answer {what} within {seconds} s: it may be \
         stopped (SIGSTOP) or wedged. Check it with `ps -o pid,stat,cmd -p {pid}` (state T: \
         `kill -CONT {pid}`) and look at daemon.log; or end it with `kill {pid}` (`kill -9 \
         {pid}` if that fails: the next daemon recovers its processes). `--timeout` or \
         PMTUI_TIMEOUT sets how long to wait (0: for ever)"
    )]
    Timeout {
        pid: String,
        seconds: f64,
        what: String,
    },
    #[error(
        "protocol version mismatch: the daemon speaks protocol {daemon_protocol} (pmtui \
         {daemon_version}), this client speaks protocol {protocol} (pmtui {version}); install \
         the same pmtui on both sides"
    )]
    VersionMismatch {
        daemon_protocol: u32,
        daemon_version: String,
        protocol: u32,
        version: String,
    },
    #[error("{host}: not a host pmtui can reach: {reason}")]
    BadHost { host: String, reason: String },
    #[error("cannot run `{command}` to reach {host}: {error}")]
    SshSpawn {
        command: String,
        host: String,
        error: std::io::Error,
    },
    #[error("ssh to {host} failed ({status}): {stderr}")]
    SshFailed {
        host: String,
        status: String,
        stderr: String,
    },
    #[error(
        "pmtui is not installed on {host} (the remote shell could not run `{bin}`): \
         {stderr}; install pmtui there, or name it with --remote-bin PATH (PMTUI_REMOTE_BIN)"
    )]
    RemoteBinMissing {
        host: String,
        bin: String,
        stderr: String,
    },
    #[error("{host}: `{bin} dial-stdio` failed ({status}): {stderr}")]
    RemoteFailed {
        host: String,
        bin: String,
        status: String,
        stderr: String,
    },
    /// An error of a remote daemon, said with the host it came from.
    #[error("{host}: {inner}")]
    OnHost {
        host: String,
        inner: Box<ClientError>,
    },
    #[error("the connection to the daemon was lost")]
    Disconnected,
    #[error("protocol error: {0}")]
    Protocol(String),
    /// A reply streamed to a writer (`Client::request_streamed`) that refused it.
    #[error("cannot write the reply: {0}")]
    Output(std::io::Error),
    #[error("{message}")]
    Daemon { kind: ErrorKind, message: String },
}

impl From<pmtui_statedir::StateError> for ClientError {
    fn from(err: pmtui_statedir::StateError) -> Self {
        match err {
            pmtui_statedir::StateError::Io { path, source, .. } => Self::StateDir {
                home: path.display().to_string(),
                error: source,
            },
            other => Self::State(other),
        }
    }
}

impl From<pmtui_proto::ProtoError> for ClientError {
    fn from(err: pmtui_proto::ProtoError) -> Self {
        Self::Protocol(err.to_string())
    }
}
