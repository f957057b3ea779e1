//! One host's connection, in a task of its own: connect, hand the client to the fleet, pass
//! the daemon's events up (renumbered), and when the connection goes, say so and connect
//! again after a pause that grows while the host stays away. Nothing here is awaited by the
//! UI, so a slow or vanished host never holds up the screen or the other hosts.

use super::translate::Ids;
use crate::msg::Msg;
use pmtui_client::{Client, Endpoint};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

/// The client of a host while it is connected.
pub(super) type Slot = Arc<Mutex<Option<Arc<Client>>>>;

/// The pause before connecting again after a loss, doubled after each failed attempt up to
/// the longest (several hosts; one host retries every second, as the UI always did).
const BACKOFF_FIRST: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(15);

pub(super) struct Link {
    pub ids: Ids,
    pub endpoint: Endpoint,
    pub slot: Slot,
    pub tx: mpsc::UnboundedSender<Msg>,
}

impl Link {
    /// Runs until the UI is gone. `first`: a client already connected (one host: the
    /// command connected before opening the UI, so errors showed on the command line).
    pub async fn run(self, mut first: Option<Client>) {
        let mut pause = BACKOFF_FIRST;
        let mut started = first.is_some();
        loop {
            let connected = match first.take() {
                Some(client) => Ok(client),
                // At first a local daemon is started as any command would; later it is not
                // (the user stopped it, and the UI shows that). ssh never prompts: the UI
                // owns the terminal.
                None if started => {
                    self.endpoint
                        .reconnect(Some(pmtui_client::DEFAULT_TIMEOUT))
                        .await
                }
                None => {
                    started = true;
                    self.endpoint
                        .connect(Some(pmtui_client::DEFAULT_TIMEOUT), true)
                        .await
                }
            };
            let mut client = match connected {
                Ok(client) => client,
                Err(err) => {
                    if !self.down(err.to_string()) {
                        return;
                    }
                    if self.ids.multi {
                        pause = (pause * 2).min(BACKOFF_MAX);
                    }
                    tokio::time::sleep(pause).await;
                    continue;
                }
            };
            pause = BACKOFF_FIRST;
            let mut events = client.take_events();
            let hello = client.daemon().clone();
            self.set(Some(Arc::new(client)));
            let up = if self.ids.multi {
                Msg::HostUp {
                    host: self.ids.host,
                    daemon_pid: hello.pid,
                    version: hello.version,
                }
            } else {
                Msg::Connected {
                    daemon_pid: hello.pid,
                    version: hello.version,
                }
            };
            if self.tx.send(up).is_err() {
                return;
            }
            while let Some(event) = events.recv().await {
                let Some(event) = self.ids.event(event) else {
                    continue;
                };
                if self.tx.send(Msg::Daemon(event)).is_err() {
                    return;
                }
            }
            self.set(None);
            if !self.down("the connection was lost".into()) {
                return;
            }
            tokio::time::sleep(pause).await;
        }
    }

    fn set(&self, client: Option<Arc<Client>>) {
        if let Ok(mut slot) = self.slot.lock() {
            *slot = client;
        }
    }

    /// Tells the UI the host is away; false when the UI is gone.
    fn down(&self, why: String) -> bool {
        let msg = if self.ids.multi {
            Msg::HostDown {
                host: self.ids.host,
                why,
            }
        } else {
            Msg::Disconnected(why)
        };
        self.tx.send(msg).is_ok()
    }
}
