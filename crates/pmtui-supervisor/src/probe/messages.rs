//! What apps send the daemon over their own channels, as the supervisor passes it on to
//! whoever listens (`Supervisor::app_messages`).

use pmtui_proto::ProcessId;

/// Which channel a message came by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageSource {
    /// Node's IPC channel (`process.send`).
    NodeIpc,
    /// The sd_notify socket (`NOTIFY_SOCKET`).
    Notify,
}

/// A message's content.
#[derive(Debug, Clone, PartialEq)]
pub enum AppPayload {
    /// One JSON value from Node's IPC channel (`process.send('ready')` is `"ready"`).
    Json(serde_json::Value),
    /// One line of an sd_notify datagram, as sent (`READY=1`, `STATUS=…`, `METRIC x=1`).
    Line(String),
}

/// One message of one app.
#[derive(Debug, Clone, PartialEq)]
pub struct AppMessage {
    pub id: ProcessId,
    /// The pid of the run's main process.
    pub pid: u32,
    /// The run it belongs to (see `Supervisor::current_run`).
    pub run: u64,
    pub source: MessageSource,
    pub payload: AppPayload,
}
