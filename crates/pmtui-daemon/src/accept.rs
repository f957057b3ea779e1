//! Accepting connections when the daemon has no file descriptor left (EMFILE). A failed
//! `accept` leaves the connection in the backlog, so the socket stays readable and a plain
//! retry loop spins and logs for ever. Instead:
//! - one spare descriptor is held from the start; at the limit it is closed so that the
//!   waiting connection can be taken and told why it is refused (a clear error for the
//!   client instead of a hang), then opened again when there is room;
//! - retries back off (50 ms doubling to 1 s) while the shortage lasts;
//! - the log says so once per `REPORT_EVERY`, with a count, not once per retry.
//!
//! Processes never take the last descriptors (`pmtui_supervisor::fds` keeps a reserve), so
//! this is for the rarer floods: many clients at once, or files opened by the processes'
//! logs beyond the estimate.

use futures_util::SinkExt;
use pmtui_proto::{ErrorKind, Response, ServerFrame, codec};
use std::fs::File;
use std::time::Duration;
use tokio::net::{UnixListener, UnixStream};
use tokio::time::Instant;
use tokio_util::codec::Framed;

const FIRST_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_secs(1);
const REPORT_EVERY: Duration = Duration::from_secs(30);

/// The accept loop's state between failures.
pub struct Acceptor {
    spare: Option<File>,
    backoff: Duration,
    last_report: Option<Instant>,
    /// Failures not yet reported.
    quiet: u64,
    /// Connections refused since the last report.
    refused: u64,
}

fn open_spare() -> Option<File> {
    File::open("/dev/null").ok()
}

impl Acceptor {
    pub fn new() -> Self {
        Self {
            spare: open_spare(),
            backoff: FIRST_BACKOFF,
            last_report: None,
            quiet: 0,
            refused: 0,
        }
    }

    /// A connection was accepted: the shortage (if any) is over for now.
    pub fn accepted(&mut self) {
        self.backoff = FIRST_BACKOFF;
        if self.spare.is_none() {
            self.spare = open_spare();
        }
        if (self.quiet > 0 || self.refused > 0) && self.report_due() {
            tracing::info!(
                failures = self.quiet,
                refused = self.refused,
                "accepting connections again"
            );
            self.reported();
        }
    }

    fn report_due(&self) -> bool {
        self.last_report
            .is_none_or(|at| at.elapsed() >= REPORT_EVERY)
    }

    fn reported(&mut self) {
        self.last_report = Some(Instant::now());
        self.quiet = 0;
        self.refused = 0;
    }

    /// `accept` failed with `err`: answer the waiting connection if out of descriptors,
    /// report (rarely), and wait before the next try.
    pub async fn failed(&mut self, listener: &UnixListener, err: std::io::Error) {
        let exhausted = pmtui_supervisor::fds::exhausted(&err);
        if exhausted && let Some(spare) = self.spare.take() {
            drop(spare);
            if let Ok(Ok((stream, _))) =
                tokio::time::timeout(Duration::from_millis(10), listener.accept()).await
            {
                self.refused += 1;
                tokio::spawn(refuse(stream));
            }
        }
        self.quiet += 1;
        if self.report_due() {
            if exhausted {
                let limit = pmtui_supervisor::fds::limit().unwrap_or(0);
                tracing::warn!(
                    failures = self.quiet,
                    refused = self.refused,
                    limit,
                    "out of file descriptors: refusing connections until some are free \
                     (reported every {}s while it lasts)",
                    REPORT_EVERY.as_secs()
                );
            } else {
                tracing::warn!(%err, failures = self.quiet, "accept failed");
            }
            self.reported();
        }
        tokio::time::sleep(self.backoff).await;
        self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
        if self.spare.is_none() {
            self.spare = open_spare();
        }
    }
}

/// Tells a client taken with the spare descriptor why it is turned away, and closes.
async fn refuse(stream: UnixStream) {
    let message = format!(
        "the daemon is out of file descriptors (limit {}) and refused this connection; \
         retry when processes or commands have ended, or raise the limit (`ulimit -Hn` in \
         the shell that starts the daemon, then restart it)",
        pmtui_supervisor::fds::limit().map_or("unknown".into(), |l| l.to_string())
    );
    let frame = ServerFrame::Reply {
        id: 0,
        response: Response::error(ErrorKind::Io, message),
    };
    let Ok(bytes) = codec::encode(&frame) else {
        return;
    };
    let mut framed = Framed::new(stream, codec::frame_codec());
    let _ = tokio::time::timeout(Duration::from_secs(1), framed.send(bytes)).await;
}
