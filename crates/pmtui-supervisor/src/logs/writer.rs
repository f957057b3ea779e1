//! Each sink's writer: a queue and a task that carries out, in order, everything asked of
//! one process's logs — the pumps' batches, `reload-logs` and `flush` — on tokio's blocking
//! pool, never on the daemon's runtime thread.
//!
//! One queue per process is what keeps a stalled destination (a FIFO nobody reads, a hung
//! NFS mount) to itself: its writer waits in `write`, its queue fills, its pumps wait for
//! room and stop reading its pipes, and its child blocks in `write` — back-pressure on that
//! process only. Every other process has its own queue and its own blocking thread.
//!
//! The queue is bounded in batches (`QUEUE`, each at most one 64 KiB read), by permits the
//! pumps take before they send; requests from commands take no permit, so they are queued
//! even behind a full queue and happen in order with the output around them.

use super::LogSink;
use crate::lazy_queue;
use pmtui_proto::LogStream;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, TryAcquireError, oneshot};

/// Batches queued per process: with 64 KiB reads, at most about half a MiB held for a
/// process whose destination is slow.
pub(super) const QUEUE: usize = 8;
/// Messages carried out in one trip to the blocking pool.
const GROUP: usize = 16;
/// A write in progress for this long counts as stalled: commands stop waiting for it.
const STALLED_AFTER_MS: u64 = 100;

/// Complete lines read from one stream at one time: byte ranges of `data`. It holds its
/// sink, so that what a process wrote just before it was deleted is still written.
pub struct Batch {
    pub sink: Arc<LogSink>,
    pub stream: LogStream,
    pub at: u64,
    pub data: Vec<u8>,
    pub lines: Vec<(usize, usize)>,
}

/// What a command asks of a sink's files.
#[derive(Debug, Clone, Copy)]
pub enum Op {
    /// Reopen the files by name (after an external rotation).
    Reopen,
    /// Empty the files and the ring.
    Flush,
}

/// Kept small (a batch is boxed): they wait in the sink's queue.
pub(super) enum Msg {
    /// Note where the files stand before anything is written (the first message).
    Prime,
    Batch(Box<(Batch, OwnedSemaphorePermit)>),
    /// `Op` with the request's number (shared files act once per request).
    Op(Op, u64),
    /// Answered once everything queued before it is done.
    Done(oneshot::Sender<()>),
}

/// Request numbers, increasing across the daemon.
static EPOCH: AtomicU64 = AtomicU64::new(0);

/// The sending side of a sink's queue.
#[derive(Debug)]
pub(super) struct Queue {
    tx: lazy_queue::Sender<Msg>,
    permits: Arc<Semaphore>,
    /// When the write in progress started (ms), 0 when idle.
    busy_since: Arc<AtomicU64>,
}

impl std::fmt::Debug for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Msg::Prime => "Prime",
            Msg::Batch(..) => "Batch",
            Msg::Op(..) => "Op",
            Msg::Done(_) => "Done",
        })
    }
}

impl Queue {
    /// A queue and its receiving end, for `start`.
    pub(super) fn new() -> (Self, lazy_queue::Receiver<Msg>) {
        let (tx, rx) = lazy_queue::queue();
        let _ = tx.send(Msg::Prime);
        let queue = Self {
            tx,
            permits: Arc::new(Semaphore::new(QUEUE)),
            busy_since: Arc::default(),
        };
        (queue, rx)
    }

    /// Queues a batch, waiting while the process already has `QUEUE` batches queued. A
    /// permit is nearly always free: the batch is then queued before this returns, and the
    /// future is small. Every pump keeps room for this future for its whole life; as an
    /// `async fn` holding the semaphore's wait and the batch (twice: an `async fn` keeps
    /// its arguments apart from its locals), it was some 200 bytes.
    pub(super) fn submit(&self, batch: Batch) -> Submit<'_> {
        match Arc::clone(&self.permits).try_acquire_owned() {
            Ok(permit) => {
                self.queue_batch(batch, permit);
                Submit::Done
            }
            Err(TryAcquireError::Closed) => Submit::Done,
            Err(TryAcquireError::NoPermits) => Submit::Wait(Box::pin(async move {
                if let Ok(permit) = Arc::clone(&self.permits).acquire_owned().await {
                    self.queue_batch(batch, permit);
                }
            })),
        }
    }

    fn queue_batch(&self, batch: Batch, permit: OwnedSemaphorePermit) {
        let _ = self.tx.send(Msg::Batch(Box::new((batch, permit))));
    }

    /// Queues `op`; the receiver fires once it is done.
    pub(super) fn request(&self, op: Op) -> oneshot::Receiver<()> {
        let epoch = EPOCH.fetch_add(1, Ordering::Relaxed) + 1;
        let _ = self.tx.send(Msg::Op(op, epoch));
        self.done()
    }

    /// Fires once everything queued so far is done.
    pub(super) fn done(&self) -> oneshot::Receiver<()> {
        let (tx, rx) = oneshot::channel();
        let _ = self.tx.send(Msg::Done(tx));
        rx
    }

    /// True while a write has been in progress for a while (a stalled destination).
    pub(super) fn stalled(&self) -> bool {
        let since = self.busy_since.load(Ordering::Relaxed);
        since != 0 && pmtui_proto::now_ms().saturating_sub(since) >= STALLED_AFTER_MS
    }
}

/// What [`Queue::submit`] returns: done at once, or waiting for room in the queue.
pub enum Submit<'a> {
    Done,
    Wait(futures_util::future::BoxFuture<'a, ()>),
}

impl std::future::Future for Submit<'_> {
    type Output = ();

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        match &mut *self {
            Submit::Done => std::task::Poll::Ready(()),
            Submit::Wait(wait) => wait.as_mut().poll(cx),
        }
    }
}

/// Starts the writer task of `sink` (nothing outside a runtime: tests call the sink
/// directly). The task holds the sink weakly (the sink holds the queue), so dropping the
/// sink ends it; queued batches hold it strongly until they are written.
pub(super) fn start(sink: &Arc<LogSink>, rx: lazy_queue::Receiver<Msg>) {
    if let Ok(handle) = tokio::runtime::Handle::try_current() {
        let busy = Arc::clone(&sink.queue.busy_since);
        handle.spawn(run(Arc::downgrade(sink), rx, busy));
    }
}

async fn run(sink: Weak<LogSink>, mut rx: lazy_queue::Receiver<Msg>, busy: Arc<AtomicU64>) {
    while let Some(first) = rx.recv().await {
        let mut group = vec![first];
        while group.len() < GROUP {
            match rx.try_recv() {
                Some(msg) => group.push(msg),
                None => break,
            }
        }
        // Gone only when no batch is queued: what is left (requests, barriers) is moot.
        let Some(sink) = sink.upgrade() else {
            continue;
        };
        busy.store(pmtui_proto::now_ms().max(1), Ordering::Relaxed);
        let job = tokio::task::spawn_blocking(move || {
            for msg in group {
                carry_out(&sink, msg);
            }
        });
        if let Err(err) = job.await {
            tracing::warn!(%err, "a log write task failed");
        }
        busy.store(0, Ordering::Relaxed);
    }
}

fn carry_out(sink: &LogSink, msg: Msg) {
    match msg {
        Msg::Prime => sink.prime(),
        Msg::Batch(queued) => {
            let (batch, permit) = *queued;
            sink.write_batch(batch.stream, batch.at, &batch.data, &batch.lines);
            drop(permit);
        }
        Msg::Op(Op::Reopen, epoch) => sink.reopen(epoch),
        Msg::Op(Op::Flush, epoch) => sink.flush(epoch),
        Msg::Done(tx) => {
            let _ = tx.send(());
        }
    }
}

/// Counts the pumps still reading, so that a daemon that exits waits for them.
#[derive(Debug, Clone, Default)]
pub struct Pumps(Arc<AtomicUsize>);

/// One running pump; counted until dropped.
pub struct PumpGuard(Arc<AtomicUsize>);

impl Drop for PumpGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Pumps {
    pub fn started(&self) -> PumpGuard {
        self.0.fetch_add(1, Ordering::SeqCst);
        PumpGuard(Arc::clone(&self.0))
    }

    pub fn running(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}
