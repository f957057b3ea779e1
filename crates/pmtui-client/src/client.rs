//! A connection to the daemon. One I/O task owns the socket; requests go to it on a channel
//! with a reply slot, and events come back on another channel.
//!
//! Every exchange has a timeout (`DEFAULT_TIMEOUT`, or `set_timeout`): the hello must come
//! within it, and so must the reply to a request, unless the daemon shows it is alive by
//! answering a `ping` on the same connection (requests are answered independently, so a
//! ping overtakes a long stop). A stop with a long `kill_timeout`, or a start waiting for
//! readiness, therefore takes as long as it needs, while a stopped (SIGSTOP) or wedged
//! daemon is reported after one timeout, with its pid and what to do.

use crate::ClientError;
use crate::raw::{self, RawReply};
use crate::stream::{Stream, Streamed};
use futures_util::{SinkExt, StreamExt};
use pmtui_proto::codec::{self, frame_codec};
use pmtui_proto::frames::{FrameCodec, PartCodec};
use pmtui_proto::{
    ClientFrame, Event, Hello, HelloReply, PROTOCOL_VERSION, Request, Response, ServerFrame,
};
use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::UnixStream;
use tokio::sync::{mpsc, oneshot};
use tokio_util::codec::Framed;

type Pending = (Request, Slot);

/// Where the reply to a request goes: decoded, kept as the daemon's bytes, or its field
/// `field` written out as it arrives (`stream.rs`).
enum Slot {
    Decoded(oneshot::Sender<Response>),
    Raw(oneshot::Sender<RawReply>),
    Streamed {
        field: &'static str,
        sink: Box<dyn std::io::Write + Send>,
        done: crate::stream::Done,
    },
}

impl Slot {
    fn fill(self, response: Response) {
        // A requester that gave up has dropped its receiver: nothing to do.
        match self {
            Self::Decoded(tx) => {
                let _ = tx.send(response);
            }
            Self::Raw(tx) => {
                let _ = tx.send(RawReply::decoded(response));
            }
            Self::Streamed { done, .. } => {
                let _ = done.send(Ok(Streamed::Reply(RawReply::decoded(response))));
            }
        }
    }

    /// Hands over a reply frame undecoded, if this slot wants it so (else gives it back).
    fn fill_raw(self, frame: bytes::Bytes, span: std::ops::Range<usize>) -> Result<(), Self> {
        match self {
            Self::Raw(tx) => {
                let _ = tx.send(RawReply::bytes(frame, span));
                Ok(())
            }
            Self::Streamed { done, .. } => {
                let _ = done.send(Ok(Streamed::Reply(RawReply::bytes(frame, span))));
                Ok(())
            }
            decoded => Err(decoded),
        }
    }
}

/// How long the daemon may take to show it is alive, unless told otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

pub struct Client {
    requests: mpsc::UnboundedSender<Pending>,
    events: mpsc::UnboundedReceiver<Event>,
    notes: mpsc::UnboundedReceiver<Note>,
    hello: HelloReply,
    timeout: Option<Duration>,
}

/// Something the daemon said on its own on a stream (a reply with id 0 that is not an
/// error): `1017 events were missed (the client read too slowly)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub message: String,
    /// How many events this connection had received before it: where in the stream the
    /// note belongs (notes come on their own channel).
    pub after: u64,
}

impl Note {
    /// The number a "N events were missed" note starts with.
    pub fn missed(&self) -> Option<u64> {
        let (first, rest) = self.message.split_once(' ')?;
        rest.starts_with("events were missed")
            .then(|| first.parse().ok())
            .flatten()
    }
}

impl Client {
    /// Connects to the daemon listening on `socket` and exchanges hellos, waiting at most
    /// `DEFAULT_TIMEOUT` for its hello.
    pub async fn connect(socket: &Path) -> Result<Self, ClientError> {
        Self::connect_with(socket, Some(DEFAULT_TIMEOUT)).await
    }

    /// `connect` with another timeout (`None`: wait for ever), kept for the requests.
    pub async fn connect_with(
        socket: &Path,
        timeout: Option<Duration>,
    ) -> Result<Self, ClientError> {
        let stream =
            UnixStream::connect(socket)
                .await
                .map_err(|error| ClientError::Unreachable {
                    socket: socket.display().to_string(),
                    error,
                })?;
        // Nothing is sent (the hello names no secret, but requests carry the environment)
        // before the peer is known to be us: a socket in a directory another user could
        // write may be served by that user.
        let peer_pid = check_peer(&stream, socket)?;
        let (framed, hello) = Self::handshake(stream, timeout, peer_pid).await?;
        Ok(Self::with_io(framed, hello, timeout, None))
    }

    /// Exchanges hellos over `stream` (a socket, or the pipes of `ssh … dial-stdio`).
    pub(crate) async fn handshake<S>(
        stream: S,
        timeout: Option<Duration>,
        peer_pid: Option<i32>,
    ) -> Result<(Framed<S, FrameCodec>, HelloReply), ClientError>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let mut framed = Framed::new(stream, frame_codec());
        let hello = ClientFrame::Hello(Hello {
            protocol: PROTOCOL_VERSION,
            client: format!("pmtui {}", pmtui_proto::VERSION),
        });
        let exchange = async {
            framed
                .send(codec::encode(&hello)?)
                .await
                .map_err(|_| ClientError::Disconnected)?;
            match framed.next().await {
                Some(Ok(bytes)) => Ok(codec::decode::<ServerFrame>(&bytes)?),
                _ => Err(ClientError::Disconnected),
            }
        };
        let reply = match timeout {
            Some(limit) => tokio::time::timeout(limit, exchange)
                .await
                .map_err(|_| timed_out(peer_pid, limit, "its hello"))??,
            None => exchange.await?,
        };
        let hello = match reply {
            // A daemon of another protocol that still answered with a hello (one that does
            // not check ours): refuse it here, naming both.
            ServerFrame::Hello(hello) if hello.protocol != PROTOCOL_VERSION => {
                return Err(ClientError::VersionMismatch {
                    daemon_protocol: hello.protocol,
                    daemon_version: hello.version,
                    protocol: PROTOCOL_VERSION,
                    version: pmtui_proto::VERSION.to_string(),
                });
            }
            ServerFrame::Hello(hello) => hello,
            ServerFrame::Reply {
                response: Response::Error { kind, message },
                ..
            } => {
                return Err(ClientError::Daemon { kind, message });
            }
            other => {
                return Err(ClientError::Protocol(format!(
                    "expected a hello, got {other:?}"
                )));
            }
        };
        Ok((framed, hello))
    }

    /// Starts the I/O task of a connection that said hello; `guard` is a child process
    /// (ssh) that carries the stream: it is killed and reaped when the connection ends.
    pub(crate) fn with_io<S>(
        framed: Framed<S, FrameCodec>,
        hello: HelloReply,
        timeout: Option<Duration>,
        guard: Option<crate::ssh::SshChild>,
    ) -> Self
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let (requests, rx) = mpsc::unbounded_channel();
        let (events_tx, events) = mpsc::unbounded_channel();
        let (notes_tx, notes) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            io_task(framed, rx, events_tx, notes_tx).await;
            if let Some(child) = guard {
                // The transport is gone or unwanted: end ssh (and what it started), reap it.
                child.end().await;
            }
        });
        Self {
            requests,
            events,
            notes,
            hello,
            timeout,
        }
    }

    /// How long the daemon may take to show it is alive (`None`: for ever).
    pub fn set_timeout(&mut self, timeout: Option<Duration>) {
        self.timeout = timeout;
    }

    /// The daemon's hello: its version and pid.
    pub fn daemon(&self) -> &HelloReply {
        &self.hello
    }

    /// Sends a request and waits for its response (a daemon error is still `Ok`). The
    /// wait is as long as the work takes while the daemon answers pings; a daemon that
    /// answers nothing within the timeout is reported.
    pub async fn call(&self, request: Request) -> Result<Response, ClientError> {
        let verb = request.verb();
        let (tx, rx) = oneshot::channel();
        self.send(request, Slot::Decoded(tx))?;
        self.wait(verb, rx).await
    }

    /// Like `call`, but the reply is kept as the daemon's bytes, for a caller that prints
    /// it as JSON (see `raw.rs`).
    pub async fn request_raw(&self, request: Request) -> Result<RawReply, ClientError> {
        let verb = request.verb();
        let (tx, rx) = oneshot::channel();
        self.send(request, Slot::Raw(tx))?;
        self.wait(verb, rx).await
    }

    /// Like `request_raw`, but when the reply is a response of type `field` whose field
    /// `field` the daemon laid out already (pretty JSON: `ls --json`'s rows) and sends in
    /// parts, that field's text is written to `sink` part by part as it arrives (and the
    /// sink handed back, unflushed); any other reply comes back as a `RawReply` with nothing
    /// written. A sink that fails is `ClientError::Output`, with part of the text written.
    pub async fn request_streamed(
        &self,
        request: Request,
        field: &'static str,
        sink: Box<dyn std::io::Write + Send>,
    ) -> Result<Streamed, ClientError> {
        let verb = request.verb();
        let (done, rx) = oneshot::channel();
        self.send(request, Slot::Streamed { field, sink, done })?;
        self.wait(verb, rx).await?
    }

    async fn wait<T>(&self, verb: &str, mut rx: oneshot::Receiver<T>) -> Result<T, ClientError> {
        let Some(limit) = self.timeout else {
            return rx.await.map_err(|_| ClientError::Disconnected);
        };
        loop {
            match tokio::time::timeout(limit, &mut rx).await {
                Ok(reply) => return reply.map_err(|_| ClientError::Disconnected),
                // Slow is fine as long as the daemon is alive: ask it.
                Err(_) if verb != "ping" && self.answers_within(limit).await? => {}
                Err(_) => {
                    return Err(timed_out(
                        i32::try_from(self.hello.pid).ok(),
                        limit,
                        &format!("`{verb}`"),
                    ));
                }
            }
        }
    }

    fn send(&self, request: Request, slot: Slot) -> Result<(), ClientError> {
        self.requests
            .send((request, slot))
            .map_err(|_| ClientError::Disconnected)
    }

    /// Whether the daemon answers a ping within `limit`.
    async fn answers_within(&self, limit: Duration) -> Result<bool, ClientError> {
        let (tx, rx) = oneshot::channel();
        self.send(Request::Ping, Slot::Decoded(tx))?;
        match tokio::time::timeout(limit, rx).await {
            Ok(Ok(_)) => Ok(true),
            Ok(Err(_)) => Err(ClientError::Disconnected),
            Err(_) => Ok(false),
        }
    }

    /// Like `call`, but a daemon error becomes `Err`.
    pub async fn request(&self, request: Request) -> Result<Response, ClientError> {
        match self.call(request).await? {
            Response::Error { kind, message } => Err(ClientError::Daemon { kind, message }),
            response => Ok(response),
        }
    }

    /// The next event pushed by the daemon (after `Subscribe` or a following `Logs`);
    /// `None` once the connection is gone.
    pub async fn next_event(&mut self) -> Option<Event> {
        self.events.recv().await
    }

    /// Splits off the receiver of the daemon's notes on the streams (events missed by a
    /// reader that fell behind); unread notes are dropped.
    pub fn take_notes(&mut self) -> mpsc::UnboundedReceiver<Note> {
        let (_, empty) = mpsc::unbounded_channel();
        std::mem::replace(&mut self.notes, empty)
    }

    /// Splits off the event receiver, for callers that select over it separately.
    pub fn take_events(&mut self) -> mpsc::UnboundedReceiver<Event> {
        let (_, empty) = mpsc::unbounded_channel();
        std::mem::replace(&mut self.events, empty)
    }
}

/// The error of a daemon that did not answer in time.
fn timed_out(pid: Option<i32>, limit: Duration, what: &str) -> ClientError {
    ClientError::Timeout {
        pid: pid.map_or_else(|| "?".into(), |p| p.to_string()),
        seconds: limit.as_secs_f64(),
        what: what.to_string(),
    }
}

/// Refuses a socket served by another uid (`SO_PEERCRED`: the uid that called `listen`);
/// returns the pid that serves it.
pub(crate) fn check_peer(stream: &UnixStream, socket: &Path) -> Result<Option<i32>, ClientError> {
    let me = nix::unistd::geteuid().as_raw();
    let cred = stream
        .peer_cred()
        .map_err(|error| ClientError::Unreachable {
            socket: socket.display().to_string(),
            error,
        })?;
    let uid = cred.uid();
    if uid == me {
        Ok(cred.pid())
    } else {
        Err(ClientError::ForeignSocket {
            socket: socket.display().to_string(),
            uid,
            me,
        })
    }
}

async fn io_task<S: AsyncRead + AsyncWrite + Unpin>(
    framed: Framed<S, FrameCodec>,
    mut requests: mpsc::UnboundedReceiver<Pending>,
    events: mpsc::UnboundedSender<Event>,
    notes: mpsc::UnboundedSender<Note>,
) {
    // Messages' bytes as they arrive: a reply streamed is written out as it comes, the
    // other messages are put together here.
    let mut framed = framed.map_codec(PartCodec::new);
    let mut message = bytes::BytesMut::new();
    let mut streaming: Option<Stream> = None;
    let mut next_id: u64 = 1;
    // Events passed on so far: a note says where it came.
    let mut passed: u64 = 0;
    let mut waiting: HashMap<u64, Slot> = HashMap::new();
    loop {
        tokio::select! {
            request = requests.recv() => {
                let Some((request, reply)) = request else { return };
                let id = next_id;
                next_id += 1;
                let Ok(bytes) = codec::encode(&ClientFrame::Request { id, request }) else { continue };
                if bytes.len() > pmtui_proto::MAX_REQUEST_LEN {
                    // The daemon would drop the connection: say why instead.
                    let message = format!(
                        "the request is {} bytes, over the {} the daemon accepts; start the \
                         apps of a large file in parts (--only), or shrink their environments",
                        bytes.len(),
                        pmtui_proto::MAX_REQUEST_LEN
                    );
                    reply.fill(Response::error(pmtui_proto::ErrorKind::BadRequest, message));
                    continue;
                }
                if framed.send(bytes).await.is_err() {
                    return;
                }
                waiting.insert(id, reply);
            }
            frame = framed.next() => {
                let Some(Ok(piece)) = frame else { return };
                if let Some(stream) = &mut streaming {
                    stream.feed(&piece.bytes);
                    if piece.end && let Some(stream) = streaming.take() {
                        stream.end();
                    }
                    continue;
                }
                // A whole message in one piece is taken as it lies.
                let bytes = if message.is_empty() && piece.end {
                    piece.bytes
                } else {
                    let first = message.is_empty();
                    let head = if first { &piece.bytes[..] } else {
                        message.extend_from_slice(&piece.bytes);
                        &message[..]
                    };
                    // A reply to stream starts as soon as its head is here.
                    let field_of = |id| match waiting.get(&id) {
                        Some(Slot::Streamed { field, .. }) => Some(*field),
                        _ => None,
                    };
                    if !piece.end
                        && let Some((id, start)) = crate::stream::starts(head, field_of)
                        && let Some(Slot::Streamed { sink, done, .. }) = waiting.remove(&id)
                    {
                        let mut stream = Stream::new(sink, done);
                        stream.feed(&head[start..]);
                        streaming = Some(stream);
                        message.clear();
                        continue;
                    }
                    if first {
                        message.extend_from_slice(&piece.bytes);
                    }
                    if !piece.end {
                        continue;
                    }
                    std::mem::take(&mut message).freeze()
                };
                // A reply wanted raw is handed over undecoded.
                if let Some((id, span)) = raw::reply_span(&bytes)
                    && let Some(slot) = waiting.remove(&id)
                {
                    match slot.fill_raw(bytes.clone(), span) {
                        Ok(()) => continue,
                        Err(slot) => {
                            waiting.insert(id, slot);
                        }
                    }
                }
                match codec::decode::<ServerFrame>(&bytes) {
                    Ok(ServerFrame::Reply { id, response }) => {
                        if let Some(reply) = waiting.remove(&id) {
                            reply.fill(response);
                        } else if id == 0 && matches!(response, Response::Error { .. }) {
                            // The daemon is dropping this connection (a request too large,
                            // say): every request waiting gets its reason.
                            for (_, reply) in waiting.drain() {
                                reply.fill(response.clone());
                            }
                        } else if let Response::Subscribed { seq, processes } = response {
                            // A fresh snapshot after the daemon found us lagging.
                            for process in processes {
                                let kind = pmtui_proto::EventKind::Process {
                                    process: Box::new(process),
                                };
                                let _ = events.send(Event { seq, kind });
                                passed += 1;
                            }
                        } else if let (0, Response::Done { message }) = (id, response) {
                            // The daemon speaking on a stream: events were missed.
                            let _ = notes.send(Note { message, after: passed });
                        }
                    }
                    Ok(ServerFrame::Event(event)) => {
                        let _ = events.send(*event);
                        passed += 1;
                    }
                    Ok(ServerFrame::Hello(_)) | Err(_) => {}
                }
            }
        }
    }
}
