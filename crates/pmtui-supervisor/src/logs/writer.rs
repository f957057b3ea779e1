//! The writer thread: every sink's file writes happen here, off the daemon's single-threaded
//! runtime, so a slow disk never stalls the socket, the timers or the other processes.
//!
//! The channel to it is bounded (`QUEUE` batches of at most a read chunk each, about 2 MiB
//! in all): when the disk is slower than the children, pumps wait on `send`, stop reading
//! their pipes, and the children block in `write` — back-pressure instead of buffering.

use super::LogSink;
use pmtui_proto::LogStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// Batches in flight between the pumps and the writer thread.
const QUEUE: usize = 16;

/// Complete lines read from one stream at one time: byte ranges of `data`.
pub struct Batch {
    pub sink: Arc<LogSink>,
    pub stream: LogStream,
    pub at: u64,
    pub data: Vec<u8>,
    pub lines: Vec<(usize, usize)>,
}

impl Batch {
    fn write(self) {
        self.sink
            .write_batch(self.stream, self.at, &self.data, &self.lines);
    }
}

enum Msg {
    Batch(Batch),
    /// Answered once everything queued before it is written.
    Barrier(oneshot::Sender<()>),
}

/// A handle on the writer thread; cheap to clone.
#[derive(Clone)]
pub struct LogWriter {
    tx: Option<mpsc::Sender<Msg>>,
    pumps: Arc<AtomicUsize>,
}

/// Counts a running pump for `drain`.
pub struct PumpGuard(Arc<AtomicUsize>);

impl Drop for PumpGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl LogWriter {
    /// Starts the writer thread (writing inline if the thread cannot be started).
    pub fn start() -> Self {
        let (tx, mut rx) = mpsc::channel::<Msg>(QUEUE);
        // Rotation starts gzip with `spawn_blocking`, so the thread runs inside the runtime's
        // context (and the runtime waits for a compression in progress when it shuts down).
        let runtime = tokio::runtime::Handle::try_current().ok();
        let spawned = std::thread::Builder::new()
            .name("pmtui-log-writer".into())
            .spawn(move || {
                let _context = runtime.as_ref().map(tokio::runtime::Handle::enter);
                while let Some(msg) = rx.blocking_recv() {
                    match msg {
                        Msg::Batch(batch) => batch.write(),
                        Msg::Barrier(done) => {
                            let _ = done.send(());
                        }
                    }
                }
            });
        let tx = match spawned {
            Ok(_) => Some(tx),
            Err(err) => {
                tracing::warn!(%err, "no log writer thread; writing logs inline");
                None
            }
        };
        Self {
            tx,
            pumps: Arc::default(),
        }
    }

    pub(crate) fn pump_started(&self) -> PumpGuard {
        self.pumps.fetch_add(1, Ordering::SeqCst);
        PumpGuard(Arc::clone(&self.pumps))
    }

    /// Queues a batch, waiting while the queue is full.
    pub async fn submit(&self, batch: Batch) {
        match &self.tx {
            Some(tx) => {
                if let Err(mpsc::error::SendError(Msg::Batch(batch))) =
                    tx.send(Msg::Batch(batch)).await
                {
                    batch.write();
                }
            }
            None => batch.write(),
        }
    }

    /// Waits (up to `limit`) for the pumps to reach the end of their pipes, then (up to
    /// `limit` again: a file that blocks for ever must not keep the daemon alive) until
    /// everything they read is written: called before the daemon exits.
    pub async fn drain(&self, limit: Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        while self.pumps.load(Ordering::SeqCst) > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        if tokio::time::timeout(limit, self.barrier()).await.is_err() {
            tracing::warn!("log files did not take the last lines in time");
        }
    }

    /// Returns once everything queued so far is written.
    pub async fn barrier(&self) {
        if let Some(tx) = &self.tx {
            let (done, wait) = oneshot::channel();
            if tx.send(Msg::Barrier(done)).await.is_ok() {
                let _ = wait.await;
            }
        }
    }
}
