//! One client connection: a hello, then requests answered in any order (each runs in its
//! own task, so a slow stop does not hold up a `ls` on the same connection) and, once
//! subscribed, events and log lines pushed as they happen. Garbage, oversized frames or a
//! wrong protocol version end this connection only.

mod dispatch;

use crate::{Daemon, Shutdown};
use dispatch::handle;
use futures_util::{SinkExt, StreamExt};
use pmtui_proto::codec::{self, frame_codec};
use pmtui_proto::{
    ClientFrame, ErrorKind, Event, HelloReply, LogLine, PROTOCOL_VERSION, Response, ServerFrame,
};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::UnixStream;
use tokio::sync::{broadcast, mpsc};
use tokio_util::codec::Framed;

const HELLO_TIMEOUT: Duration = Duration::from_secs(10);

/// What a request task hands back to the session.
/// A reply, and the stream to install once it is sent (so nothing precedes the snapshot).
struct Outgoing {
    frame: ServerFrame,
    then: Option<Install>,
}

enum Install {
    Events(broadcast::Receiver<Event>),
    Logs(Follow),
    Metrics(MetricsFollow),
    /// End the daemon, once the reply (to `kill`) has reached the client.
    Shutdown(Shutdown),
}

type MetricsFollow = (
    broadcast::Receiver<Arc<pmtui_supervisor::MetricsTick>>,
    Option<Vec<u32>>,
);

/// A `logs --follow`: the live receiver, the last sequence number already sent per
/// process, and the filters.
struct Follow {
    rx: broadcast::Receiver<LogLine>,
    after: HashMap<u32, u64>,
    ids: Option<Vec<u32>>,
    stream: Option<pmtui_proto::LogStream>,
    grep: Option<regex::Regex>,
}

impl Follow {
    /// Whether `line` goes out, noting it as sent.
    fn take(&mut self, line: &LogLine) -> bool {
        if self.ids.as_ref().is_some_and(|ids| !ids.contains(&line.id)) {
            return false;
        }
        let seen = self.after.entry(line.id).or_insert(0);
        if line.seq <= *seen {
            return false;
        }
        *seen = line.seq;
        self.stream.is_none_or(|s| s == line.stream)
            && self.grep.as_ref().is_none_or(|re| re.is_match(&line.text))
    }
}

pub async fn serve(daemon: Arc<Daemon>, stream: UnixStream) {
    let mut framed = Framed::new(stream, frame_codec());
    if !handshake(&mut framed).await {
        return;
    }
    let (out_tx, mut out_rx) = mpsc::unbounded_channel::<Outgoing>();
    let mut events: Option<broadcast::Receiver<Event>> = None;
    let mut follow: Option<Follow> = None;
    let mut metrics: Option<MetricsFollow> = None;
    loop {
        tokio::select! {
            incoming = framed.next() => {
                let bytes = match incoming {
                    Some(Ok(bytes)) => bytes,
                    Some(Err(err)) => {
                        tracing::debug!(%err, "dropping a client: bad frame");
                        let _ = send(&mut framed, &protocol_error(format!("bad frame: {err}"))).await;
                        return;
                    }
                    None => return,
                };
                match codec::decode::<ClientFrame>(&bytes) {
                    Ok(ClientFrame::Request { id, request }) => {
                        tokio::spawn(handle(Arc::clone(&daemon), id, request, out_tx.clone()));
                    }
                    Ok(ClientFrame::Hello(_)) => {}
                    Err(err) => {
                        let _ = send(&mut framed, &protocol_error(format!("cannot read request: {err}"))).await;
                        return;
                    }
                }
            }
            Some(out) = out_rx.recv() => {
                let sent = send(&mut framed, &out.frame).await;
                if let Some(Install::Shutdown(mode)) = out.then {
                    let _ = daemon.shutdown.send(mode);
                    return;
                }
                if sent.is_err() {
                    return;
                }
                match out.then {
                    Some(Install::Events(rx)) => events = Some(rx),
                    Some(Install::Logs(f)) => follow = Some(f),
                    Some(Install::Metrics(m)) => metrics = Some(m),
                    Some(Install::Shutdown(_)) | None => {}
                }
            }
            event = recv_event(&mut events) => match event {
                Ok(event) => if send(&mut framed, &ServerFrame::Event(Box::new(event))).await.is_err() { return },
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    // Too slow to keep up: start again from a fresh snapshot.
                    let (seq, processes, rx) = daemon.supervisor.subscribe();
                    events = Some(rx);
                    let frame = ServerFrame::Reply { id: 0, response: Response::Subscribed { seq, processes } };
                    if send(&mut framed, &frame).await.is_err() { return }
                }
                Err(broadcast::error::RecvError::Closed) => events = None,
            },
            line = recv_line(&mut follow) => match line {
                Ok(line) => {
                    let Some(f) = &mut follow else { continue };
                    if !f.take(&line) {
                        continue;
                    }
                    if send_line(&mut framed, line).await.is_err() { return }
                }
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    // Too slow for the broadcast: catch up from the rings, which still hold
                    // the recent lines, so the follower sees no gap unless it fell very far.
                    let Some(f) = &mut follow else { continue };
                    let ids: Vec<u32> = match &f.ids {
                        Some(ids) => ids.clone(),
                        None => daemon.supervisor.list().iter().map(|p| p.id).collect(),
                    };
                    let mut missed: Vec<LogLine> = ids
                        .iter()
                        .flat_map(|id| {
                            let seen = f.after.get(id).copied().unwrap_or(0);
                            daemon.supervisor.log_lines_since(*id, seen)
                        })
                        .collect();
                    missed.sort_by_key(|l| (l.at, l.id, l.seq));
                    let first = missed.first().map(|l| (l.id, l.seq));
                    tracing::debug!(skipped = n, caught_up = missed.len(), ?first, "a log follower fell behind");
                    for line in missed {
                        if f.take(&line) && send_line(&mut framed, line).await.is_err() {
                            return;
                        }
                    }
                }
                Err(broadcast::error::RecvError::Closed) => follow = None,
            },
            tick = recv_tick(&mut metrics) => match tick {
                Ok(tick) => {
                    let ids = metrics.as_ref().and_then(|(_, ids)| ids.as_ref());
                    let samples = tick
                        .samples
                        .iter()
                        .filter(|s| ids.is_none_or(|ids| ids.contains(&s.id)))
                        .cloned()
                        .collect();
                    let kind = pmtui_proto::EventKind::Metrics { host: tick.host.clone(), samples };
                    if send(&mut framed, &ServerFrame::Event(Box::new(Event { seq: 0, kind }))).await.is_err() { return }
                }
                // A slow reader misses ticks; the next one is as good.
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => metrics = None,
            },
        }
    }
}

async fn recv_event(
    rx: &mut Option<broadcast::Receiver<Event>>,
) -> Result<Event, broadcast::error::RecvError> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

async fn recv_line(follow: &mut Option<Follow>) -> Result<LogLine, broadcast::error::RecvError> {
    match follow {
        Some(f) => f.rx.recv().await,
        None => std::future::pending().await,
    }
}

async fn recv_tick(
    metrics: &mut Option<MetricsFollow>,
) -> Result<Arc<pmtui_supervisor::MetricsTick>, broadcast::error::RecvError> {
    match metrics {
        Some((rx, _)) => rx.recv().await,
        None => std::future::pending().await,
    }
}

async fn send_line(
    framed: &mut Framed<UnixStream, tokio_util::codec::LengthDelimitedCodec>,
    line: LogLine,
) -> Result<(), ()> {
    let kind = pmtui_proto::EventKind::Log { line };
    send(
        framed,
        &ServerFrame::Event(Box::new(Event { seq: 0, kind })),
    )
    .await
}

async fn handshake(
    framed: &mut Framed<UnixStream, tokio_util::codec::LengthDelimitedCodec>,
) -> bool {
    let first = match tokio::time::timeout(HELLO_TIMEOUT, framed.next()).await {
        Ok(Some(Ok(bytes))) => bytes,
        _ => return false,
    };
    match codec::decode::<ClientFrame>(&first) {
        Ok(ClientFrame::Hello(hello)) if hello.protocol == PROTOCOL_VERSION => {
            let reply = HelloReply {
                protocol: PROTOCOL_VERSION,
                version: pmtui_proto::VERSION.to_string(),
                pid: std::process::id(),
            };
            send(framed, &ServerFrame::Hello(reply)).await.is_ok()
        }
        Ok(ClientFrame::Hello(hello)) => {
            let message = format!(
                "protocol version mismatch: daemon speaks {PROTOCOL_VERSION}, client speaks {}; run `pmtui kill` and retry",
                hello.protocol
            );
            let _ = send(framed, &protocol_error(message)).await;
            false
        }
        _ => {
            let _ = send(
                framed,
                &protocol_error("the first frame must be a hello".into()),
            )
            .await;
            false
        }
    }
}

fn protocol_error(message: String) -> ServerFrame {
    ServerFrame::Reply {
        id: 0,
        response: Response::error(ErrorKind::Protocol, message),
    }
}

async fn send(
    framed: &mut Framed<UnixStream, tokio_util::codec::LengthDelimitedCodec>,
    frame: &ServerFrame,
) -> Result<(), ()> {
    let bytes = codec::encode(frame).map_err(|_| ())?;
    framed.send(bytes).await.map_err(|_| ())
}
