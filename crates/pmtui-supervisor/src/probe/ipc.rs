//! Node's IPC channel: the `socketpair` whose child end Node opens at `NODE_CHANNEL_FD`, and
//! the reader of the daemon's end. Node's default serialization is JSON: each message is
//! one JSON value and a newline, so `process.send('ready')` arrives as `"ready"\n`.
//!
//! The child controls what comes down this channel, so the reader is defensive: lines
//! longer than [`MAX_LINE`] are dropped whole, text that is not JSON is ignored, Node's
//! internal messages (`{"cmd":"NODE_…"}`) are skipped, and at most [`BURST`] messages are
//! handled per [`WINDOW`]; past that the reader pauses, the socket fills and the child's
//! own sends wait. Nothing a child sends can grow the daemon's memory or stall it.

use super::messages::{AppMessage, AppPayload, MessageSource};
use super::signals::RunSignals;
use crate::fanout::Fanout;
use crate::metrics::app::{self, AppHandle};
use nix::sys::socket::{AddressFamily, SockFlag, SockType, socketpair};
use pmtui_proto::ProcessId;
use pmtui_proto::{AppMetricKind, AppMetricSource};
use std::os::fd::OwnedFd;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::time::Instant;

/// The longest message kept, bytes (Node's metrics objects are far smaller).
pub const MAX_LINE: usize = 64 * 1024;
/// The key of the Node preload's runtime report: `{"pmtui:metrics": {name: value, …}}`.
pub const NODE_METRICS: &str = "pmtui:metrics";
/// Messages handled per [`WINDOW`] before the reader pauses.
pub const BURST: u32 = 256;
pub const WINDOW: Duration = Duration::from_millis(100);

/// The pace of one channel's reader: at most [`BURST`] messages per [`WINDOW`] (the Node
/// channel and the sd_notify socket share it).
#[derive(Debug)]
pub(crate) struct Pace {
    window_start: Instant,
    handled: u32,
}

impl Pace {
    pub(crate) fn new() -> Self {
        Self {
            window_start: Instant::now(),
            handled: 0,
        }
    }

    /// Counts one message, first waiting out the window if its burst is spent.
    pub(crate) async fn admit(&mut self) {
        if self.handled >= BURST {
            // Boxed: the readers keep room for this future while they wait for messages.
            Box::pin(tokio::time::sleep_until(self.window_start + WINDOW)).await;
        }
        if self.window_start.elapsed() >= WINDOW {
            self.window_start = Instant::now();
            self.handled = 0;
        }
        self.handled += 1;
    }
}

/// Both ends of a new channel: `parent` (non-blocking, for the reader) and `child` (to be
/// placed at `NODE_CHANNEL_FD`). Both are close-on-exec; the child's copy loses the flag
/// when it is placed.
pub(crate) fn channel() -> std::io::Result<(OwnedFd, OwnedFd)> {
    let (parent, child) = socketpair(
        AddressFamily::Unix,
        SockType::Stream,
        None,
        SockFlag::SOCK_CLOEXEC,
    )?;
    let parent = std::os::unix::net::UnixStream::from(parent);
    parent.set_nonblocking(true)?;
    Ok((OwnedFd::from(parent), child))
}

/// Who the messages of a reader belong to.
#[derive(Clone)]
pub(crate) struct Origin {
    pub id: ProcessId,
    pub pid: u32,
    pub run: u64,
    pub signals: Arc<RunSignals>,
    pub messages: Fanout<AppMessage>,
    /// The process's app metrics, fed by `METRIC` lines and Node's runtime report.
    pub app: AppHandle,
}

/// Reads the daemon's end until the child closes its end (it exited) or the task is
/// aborted (the run ended).
pub(crate) async fn read(parent: OwnedFd, origin: Origin) {
    let stream = match tokio::net::UnixStream::from_std(parent.into()) {
        Ok(stream) => stream,
        Err(err) => {
            tracing::warn!(id = origin.id, %err, "IPC channel not read");
            return;
        }
    };
    read_lines(stream, &origin).await;
}

async fn read_lines(mut stream: impl tokio::io::AsyncRead + Unpin, origin: &Origin) {
    let mut lines = LineSplitter::default();
    let mut chunk = vec![0u8; 16 * 1024];
    let mut pace = Pace::new();
    loop {
        let n = match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        for line in lines.push(&chunk[..n]) {
            pace.admit().await;
            handle(&line, origin);
        }
    }
}

fn handle(line: &[u8], origin: &Origin) {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(line) else {
        tracing::debug!(id = origin.id, "IPC: not a JSON message, ignored");
        return;
    };
    let internal = value
        .get("cmd")
        .and_then(|c| c.as_str())
        .is_some_and(|c| c.starts_with("NODE_"));
    if internal {
        return;
    }
    if let Some(report) = value.get(NODE_METRICS).and_then(|r| r.as_object()) {
        // The preload's runtime report: recorded, not passed on.
        let mut store = app::lock(&origin.app);
        for (name, value) in report {
            let Some(value) = value.as_f64() else {
                continue;
            };
            if store.check_name(name) {
                store.observe(name, value, AppMetricKind::Gauge, AppMetricSource::Node);
            }
        }
        return;
    }
    match value.as_str() {
        Some("ready") => origin.signals.post(|p| p.ready = true),
        // The cluster preload's word that the app accepts on a daemon socket.
        Some("pmtui:listening") => origin.signals.post(|p| p.listening = true),
        _ => {}
    }
    origin.messages.send(AppMessage {
        id: origin.id,
        pid: origin.pid,
        run: origin.run,
        source: MessageSource::NodeIpc,
        payload: AppPayload::Json(value),
    });
}

/// Splits a byte stream into lines of at most [`MAX_LINE`] bytes; longer ones are dropped
/// whole (their start and their rest), so memory stays bounded.
#[derive(Default)]
struct LineSplitter {
    partial: Vec<u8>,
    /// Inside a line that grew past the cap: skip to its newline.
    skipping: bool,
}

impl LineSplitter {
    fn push(&mut self, mut bytes: &[u8]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        while let Some(end) = memchr::memchr(b'\n', bytes) {
            let (piece, rest) = (&bytes[..end], &bytes[end + 1..]);
            bytes = rest;
            if self.skipping || self.partial.len() + piece.len() > MAX_LINE {
                self.skipping = false;
                self.partial.clear();
                continue;
            }
            self.partial.extend_from_slice(piece);
            let line = std::mem::take(&mut self.partial);
            if !line.iter().all(u8::is_ascii_whitespace) {
                out.push(line);
            }
        }
        if !self.skipping {
            if self.partial.len() + bytes.len() > MAX_LINE {
                self.skipping = true;
                self.partial = Vec::new();
            } else {
                self.partial.extend_from_slice(bytes);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin() -> (Origin, tokio::sync::broadcast::Receiver<AppMessage>) {
        let messages = Fanout::new(64);
        let rx = messages.subscribe();
        let origin = Origin {
            id: 7,
            pid: 1234,
            run: 2,
            signals: Arc::default(),
            messages,
            app: AppHandle::default(),
        };
        (origin, rx)
    }

    #[test]
    fn lines_are_split_across_chunks_and_long_ones_dropped() {
        let mut split = LineSplitter::default();
        assert!(split.push(b"\"rea").is_empty());
        assert_eq!(
            split.push(b"dy\"\n{\"a\":1}\n"),
            vec![b"\"ready\"".to_vec(), b"{\"a\":1}".to_vec()]
        );
        let long = vec![b'x'; MAX_LINE + 10];
        assert!(split.push(&long).is_empty());
        assert!(split.push(b"more of it").is_empty());
        assert_eq!(split.push(b"\n\"next\"\n"), vec![b"\"next\"".to_vec()]);
        assert!(split.partial.capacity() <= MAX_LINE + 16 * 1024);
    }

    #[tokio::test]
    async fn ready_is_posted_and_every_message_published() {
        let (origin, mut rx) = origin();
        let input: &[u8] =
            b"\"ready\"\nnot json\n{\"cmd\":\"NODE_HANDLE_ACK\"}\n{\"type\":\"metrics\",\"heap\":5}\n";
        read_lines(input, &origin).await;
        assert!(origin.signals.take().await.ready);
        let first = rx.try_recv().expect("the ready message is published");
        assert_eq!(first.payload, AppPayload::Json(serde_json::json!("ready")));
        assert_eq!((first.id, first.pid, first.run), (7, 1234, 2));
        let second = rx.try_recv().expect("an app's own message is published");
        assert_eq!(
            second.payload,
            AppPayload::Json(serde_json::json!({"type": "metrics", "heap": 5}))
        );
        assert!(
            rx.try_recv().is_err(),
            "garbage and Node's internals are not"
        );
    }

    #[tokio::test]
    async fn the_preload_report_is_recorded_not_published() {
        let (origin, mut rx) = origin();
        let input: &[u8] =
            b"{\"pmtui:metrics\":{\"node_heap_used_bytes\":1024,\"bad name\":1,\"x\":\"str\"}}\n";
        read_lines(input, &origin).await;
        assert!(rx.try_recv().is_err());
        let values = app::lock(&origin.app).tick(1);
        assert_eq!(values.len(), 1);
        assert_eq!(values[0].name, "node_heap_used_bytes");
        assert_eq!(values[0].source, AppMetricSource::Node);
        let (_, drops) = app::lock(&origin.app).to_wire(true);
        assert_eq!(drops[0].reason, "invalid metric name");
    }

    #[tokio::test]
    async fn a_flood_is_slowed_to_the_burst_rate() {
        let (origin, _rx) = origin();
        let input = "{}\n".repeat(BURST as usize * 3);
        let started = Instant::now();
        read_lines(input.as_bytes(), &origin).await;
        assert!(started.elapsed() >= WINDOW * 2, "{:?}", started.elapsed());
    }
}
