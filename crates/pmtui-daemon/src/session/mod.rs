//! One client connection: a hello, then requests answered in any order (each runs in its
//! own task, so a slow stop does not hold up a `ls` on the same connection) and, once
//! subscribed, events and log lines pushed as they happen. Garbage, oversized frames or a
//! wrong protocol version end this connection only.

mod dispatch;

use crate::limits::{HELLO_TIMEOUT, MAX_IN_FLIGHT, PARTIAL_TIMEOUT, Slot};
use crate::{Daemon, Shutdown};
use dispatch::handle;
use futures_util::{SinkExt, StreamExt};
use pmtui_proto::codec::{self, server_codec};
use pmtui_proto::frames::FrameCodec;
use pmtui_proto::{
    ClientFrame, ErrorKind, Event, HelloReply, LogLine, PROTOCOL_VERSION, Response, ServerFrame,
};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::UnixStream;
use tokio::sync::{broadcast, mpsc};
use tokio_util::codec::Framed;

type Conn = Framed<UnixStream, FrameCodec>;

/// What a request task hands back to the session.
/// A reply, and the stream to install once it is sent (so nothing precedes the snapshot).
struct Outgoing {
    frame: OutFrame,
    then: Option<Install>,
}

/// A reply to encode, or one the request task encoded itself (`list_json`'s rows), whole
/// or in parts still being written.
enum OutFrame {
    Typed(ServerFrame),
    Encoded(bytes::Bytes),
    Parts(mpsc::UnboundedReceiver<pmtui_proto::frames::Part>),
}

enum Install {
    Events(broadcast::Receiver<Event>),
    Logs(Follow),
    Metrics(MetricsFollow),
    /// `events`: what happens to processes (all, or these ids).
    AppEvents(broadcast::Receiver<pmtui_proto::AppEvent>, Option<Vec<u32>>),
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

/// Serves one connection; `_slot` counts it among the open ones until it ends.
pub async fn serve(daemon: Arc<Daemon>, stream: UnixStream, _slot: Slot) {
    let _ends = daemon.memory.on_end();
    let mut framed = Framed::new(stream, server_codec(daemon.budget.clone()));
    if !handshake(&mut framed).await {
        return;
    }
    let (out_tx, mut out_rx) = mpsc::unbounded_channel::<Outgoing>();
    let mut events: Option<broadcast::Receiver<Event>> = None;
    let mut follow: Option<Follow> = None;
    let mut metrics: Option<MetricsFollow> = None;
    let mut app_events: Option<(broadcast::Receiver<pmtui_proto::AppEvent>, Option<Vec<u32>>)> =
        None;
    // Requests answered but not yet written: past `MAX_IN_FLIGHT`, nothing more is read
    // (the client's writes block), so replies never pile up in memory.
    let mut in_flight = 0usize;
    let mut partial_since: Option<std::time::Instant> = None;
    let mut check = tokio::time::interval(Duration::from_secs(5));
    loop {
        tokio::select! {
            _ = check.tick() => {
                // A message begun must be finished: a client that stalls mid-message
                // would otherwise hold its bytes (and a slot) forever.
                if framed.codec().holding() == 0 {
                    partial_since = None;
                } else if partial_since.get_or_insert_with(std::time::Instant::now).elapsed() > PARTIAL_TIMEOUT {
                    tracing::debug!("dropping a client: a message left unfinished");
                    let message = format!("a message was left unfinished for {} s", PARTIAL_TIMEOUT.as_secs());
                    let _ = send(&mut framed, &protocol_error(message)).await;
                    return;
                }
            }
            incoming = framed.next(), if in_flight < MAX_IN_FLIGHT => {
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
                        in_flight += 1;
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
                in_flight = in_flight.saturating_sub(1);
                let sent = match out.frame {
                    OutFrame::Typed(frame) => send(&mut framed, &frame).await,
                    OutFrame::Encoded(bytes) => framed.send(bytes).await.map_err(|_| ()),
                    OutFrame::Parts(mut parts) => send_parts(&mut framed, &mut parts).await,
                };
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
                    Some(Install::AppEvents(rx, ids)) => app_events = Some((rx, ids)),
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
            app = recv_app(&mut app_events) => match app {
                Ok(app) => {
                    let wanted = app_events.as_ref().and_then(|(_, ids)| ids.as_ref()).is_none_or(|ids| ids.contains(&app.id));
                    if wanted {
                        let kind = pmtui_proto::EventKind::App { app };
                        if send(&mut framed, &ServerFrame::Event(Box::new(Event { seq: 0, kind }))).await.is_err() { return }
                    }
                }
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    // Too slow: say how many were missed, as a reply frame with id 0.
                    let message = format!("{n} events were missed (the client read too slowly)");
                    let frame = ServerFrame::Reply { id: 0, response: Response::Done { message } };
                    if send(&mut framed, &frame).await.is_err() { return }
                }
                Err(broadcast::error::RecvError::Closed) => app_events = None,
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

async fn recv_app(
    rx: &mut Option<(broadcast::Receiver<pmtui_proto::AppEvent>, Option<Vec<u32>>)>,
) -> Result<pmtui_proto::AppEvent, broadcast::error::RecvError> {
    match rx {
        Some((rx, _)) => rx.recv().await,
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

async fn send_line(framed: &mut Conn, line: LogLine) -> Result<(), ()> {
    let kind = pmtui_proto::EventKind::Log { line };
    send(
        framed,
        &ServerFrame::Event(Box::new(Event { seq: 0, kind })),
    )
    .await
}

/// Answers a connection over the cap with an error (before any hello, so that the client
/// says it) and closes it; the write is bounded, so a client that does not read costs
/// nothing more.
pub async fn refuse_busy(stream: UnixStream, max: usize) {
    tracing::warn!(max, "refused a connection: too many open");
    let mut framed = Framed::new(stream, pmtui_proto::codec::frame_codec());
    let message = format!(
        "the daemon already serves {max} connections (its limit, PMTUI_MAX_CONNECTIONS); \
         close some (UIs, `logs --follow`) and retry"
    );
    let _ = tokio::time::timeout(
        Duration::from_secs(2),
        send(&mut framed, &protocol_error(message)),
    )
    .await;
}

async fn handshake(framed: &mut Conn) -> bool {
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
                "protocol version mismatch: the daemon speaks protocol {PROTOCOL_VERSION} (pmtui {}), the client speaks protocol {}; run `pmtui kill` with the daemon's pmtui, then retry",
                pmtui_proto::VERSION,
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

/// Writes a message that comes in parts as they come, nothing else between them (parts of
/// two messages cannot mix), each straight from its buffer to the socket. A writer that
/// stopped before the last part (a bug) leaves a message that cannot be finished: an
/// error, which ends the connection.
async fn send_parts(
    framed: &mut Conn,
    parts: &mut mpsc::UnboundedReceiver<pmtui_proto::frames::Part>,
) -> Result<(), ()> {
    // What the codec holds goes first.
    SinkExt::<bytes::Bytes>::flush(framed)
        .await
        .map_err(|_| ())?;
    while let Some(part) = parts.recv().await {
        for (word, bytes) in pmtui_proto::frames::pieces(&part) {
            write_two(framed.get_mut(), &word, bytes)
                .await
                .map_err(|_| ())?;
        }
        if !part.more {
            return Ok(());
        }
    }
    tracing::error!("a reply ended before its last part; dropping the connection");
    Err(())
}

/// Writes `head` then `body`, in one `writev` when the socket takes them.
async fn write_two(socket: &mut UnixStream, head: &[u8], body: &[u8]) -> std::io::Result<()> {
    use tokio::io::AsyncWriteExt;
    let mut done = 0;
    while done < head.len() + body.len() {
        let n = match head.get(done..) {
            Some(rest) if !rest.is_empty() => {
                let slices = [std::io::IoSlice::new(rest), std::io::IoSlice::new(body)];
                socket.write_vectored(&slices).await?
            }
            _ => socket.write(&body[done - head.len()..]).await?,
        };
        if n == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        done += n;
    }
    Ok(())
}

async fn send(framed: &mut Conn, frame: &ServerFrame) -> Result<(), ()> {
    let bytes = codec::encode_server(frame).map_err(|_| ())?;
    framed.send(bytes).await.map_err(|_| ())
}
