//! pmtui's client, used by the CLI and the TUI: one connection to the daemon that carries
//! requests (answered by id, in any order) and, once subscribed, events. When no daemon
//! answers, `connect_or_start` starts one detached and waits for its hello.

mod autostart;
mod client;
mod endpoint;
mod error;
mod raw;
mod ssh;
mod stream;

pub use autostart::{check_home, connect_or_start, daemon_pid, dial};
pub use client::{Client, DEFAULT_TIMEOUT, Note};
pub use endpoint::Endpoint;
pub use error::ClientError;
pub use raw::RawReply;
pub use ssh::{SshEndpoint, SshTarget};
pub use stream::Streamed;
