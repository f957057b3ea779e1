//! File watching for the whole daemon: one inotify instance (`notify`), run by one thread
//! (`hub`), shared by every process that watches. Each directory is watched once however
//! many processes (or instances of one app) watch it; ignored folders are never watched.
//! A process's job holds a [`Subscription`]: the changes under its paths that its rules do
//! not ignore arrive on it, and dropping it (the process stopped or was deleted) removes
//! the watches nobody else needs. The job debounces them into one restart.

mod filter;
mod hub;
mod limit;

use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::mpsc as std_mpsc;
use tokio::sync::{mpsc, oneshot};

/// A change a subscriber hears of.
#[derive(Debug)]
pub(crate) enum Change {
    /// This path changed; `shown` is it relative to the watched directory (or the watched
    /// file's name); `at` is when the watcher heard of it.
    Path {
        path: PathBuf,
        shown: String,
        at: std::time::Instant,
    },
    /// Part of the watch was lost or could not grow (a new folder beyond the inotify limit).
    Error(String),
}

/// What a process watches.
pub(crate) struct WatchRequest {
    pub roots: Vec<PathBuf>,
    pub ignore: Vec<String>,
    /// Files the daemon writes for this process (logs, pid file).
    pub own: Vec<PathBuf>,
    /// Folders never watched (pmtui's state directory).
    pub own_dirs: Vec<PathBuf>,
}

/// The hub's handle; the thread starts with the first subscription.
#[derive(Default)]
pub(crate) struct WatchHub {
    tx: Mutex<Option<std_mpsc::Sender<hub::Msg>>>,
}

/// One process's watch; dropping it ends the watch.
pub(crate) struct Subscription {
    id: u64,
    hub: std_mpsc::Sender<hub::Msg>,
    pub rx: mpsc::UnboundedReceiver<Change>,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let _ = self.hub.send(hub::Msg::Unsubscribe(self.id));
    }
}

impl WatchHub {
    fn sender(&self) -> std_mpsc::Sender<hub::Msg> {
        let mut tx = self.tx.lock().unwrap_or_else(|p| p.into_inner());
        tx.get_or_insert_with(hub::start).clone()
    }

    /// Watches `request`'s paths: every folder under them that is not ignored is watched
    /// before this returns, or nothing is (the error says why: the inotify limit…).
    pub async fn subscribe(&self, request: WatchRequest) -> Result<Subscription, String> {
        let hub = self.sender();
        let (tx, rx) = mpsc::unbounded_channel();
        let (reply, answer) = oneshot::channel();
        hub.send(hub::Msg::Subscribe { request, tx, reply })
            .map_err(|_| "the file watcher has stopped".to_string())?;
        let id = answer
            .await
            .map_err(|_| "the file watcher has stopped".to_string())??;
        Ok(Subscription { id, hub, rx })
    }
}

#[cfg(test)]
mod tests;
