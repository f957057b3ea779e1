//! The messages the app reacts to and the effects it asks the runtime to perform. `update`
//! turns one `Msg` into state changes and a list of `Effect`s; nothing in the model does I/O.

use crate::hosts::HostIx;
use crossterm::event::{KeyEvent, MouseEvent};
use pmtui_proto::{Event, ProcessId, ProcessSpec, Request, Response};

#[derive(Debug, Clone)]
pub enum Msg {
    Key(KeyEvent),
    Mouse(MouseEvent),
    Resize(u16, u16),
    /// The clock, at least once a second (ms since the Unix epoch).
    Tick(u64),
    /// Something the daemon pushed on the subscription.
    Daemon(Event),
    /// The answer to a request the app sent, tagged with why it was sent.
    Reply(Tag, Result<Response, String>),
    /// The connection is gone; the runtime retries.
    Disconnected(String),
    /// A new connection after `Disconnected` (or at start): the app subscribes again.
    Connected {
        daemon_pid: u32,
        version: String,
    },
    /// The outcome of an export or a copy, for the status line.
    Done(Result<String, String>),
    /// With several hosts: host `host` is connected (at start, or again after a loss).
    HostUp {
        host: HostIx,
        daemon_pid: u32,
        version: String,
    },
    /// With several hosts: host `host` is not reachable; the data layer retries it.
    HostDown {
        host: HostIx,
        why: String,
    },
    /// With several hosts: the answer to a request sent to one host (`Effect::SendTo`).
    HostReply(HostIx, Tag, Result<Response, String>),
}

/// Why a request was sent, so its reply lands in the right place.
#[derive(Debug, Clone, PartialEq)]
pub enum Tag {
    Subscribe,
    /// The once-a-second refresh of CPU and memory.
    Refresh,
    /// A verb on a process, reported in the status line: `("restart", "web")`.
    Action {
        verb: &'static str,
        name: String,
    },
    /// The detail view's full record of one process.
    Describe(ProcessId),
    /// Recent lines for the log viewer; `generation` drops replies for an older target.
    LogSeed {
        generation: u64,
    },
    /// Recent lines for the merged tail (monitor), and live lines after them.
    Tail,
    /// The add form's start request.
    Add,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// A request, sent where it belongs: to the host of the process it names, to every
    /// connected host when it names none (`metrics`, `logs` of all), to this host's daemon
    /// for a start.
    Send(Tag, Request),
    /// A request for one host (its subscription after it connects), with several hosts.
    SendTo(HostIx, Tag, Request),
    /// Put text on the clipboard with OSC 52 (works over SSH).
    Copy(String),
    /// Write lines to a file in the current directory.
    Export {
        file_name: String,
        content: String,
    },
    Quit,
    /// ctrl-z: give the terminal back and stop until `fg`.
    Suspend,
}

/// What the add form collected, handed to the resolver that turns it into a spec the same way
/// `pmtui start` does.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AddRequest {
    /// A script, executable or command string.
    pub command: String,
    pub name: Option<String>,
    pub cwd: Option<String>,
    pub instances: Option<String>,
    /// `KEY=VALUE` pairs.
    pub env: Vec<String>,
    pub restart: pmtui_proto::RestartMode,
}

/// Resolves an add request into a spec, or says why it cannot (shown under the command field).
pub type Resolver =
    std::sync::Arc<dyn Fn(&AddRequest) -> Result<ProcessSpec, String> + Send + Sync>;
