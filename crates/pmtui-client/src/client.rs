//! A connection to the daemon. One I/O task owns the socket; requests go to it on a channel
//! with a reply slot, and events come back on another channel.

use crate::ClientError;
use futures_util::{SinkExt, StreamExt};
use pmtui_proto::codec::{self, frame_codec};
use pmtui_proto::{
    ClientFrame, Event, Hello, HelloReply, PROTOCOL_VERSION, Request, Response, ServerFrame,
};
use std::collections::HashMap;
use std::path::Path;
use tokio::net::UnixStream;
use tokio::sync::{mpsc, oneshot};
use tokio_util::codec::Framed;

type Pending = (Request, oneshot::Sender<Response>);

pub struct Client {
    requests: mpsc::UnboundedSender<Pending>,
    events: mpsc::UnboundedReceiver<Event>,
    hello: HelloReply,
}

impl Client {
    /// Connects to the daemon listening on `socket` and exchanges hellos.
    pub async fn connect(socket: &Path) -> Result<Self, ClientError> {
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
        check_peer(&stream, socket)?;
        let mut framed = Framed::new(stream, frame_codec());
        let hello = ClientFrame::Hello(Hello {
            protocol: PROTOCOL_VERSION,
            client: format!("pmtui {}", pmtui_proto::VERSION),
        });
        framed
            .send(codec::encode(&hello)?)
            .await
            .map_err(|_| ClientError::Disconnected)?;
        let reply = match framed.next().await {
            Some(Ok(bytes)) => codec::decode::<ServerFrame>(&bytes)?,
            _ => return Err(ClientError::Disconnected),
        };
        let hello = match reply {
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
        let (requests, rx) = mpsc::unbounded_channel();
        let (events_tx, events) = mpsc::unbounded_channel();
        tokio::spawn(io_task(framed, rx, events_tx));
        Ok(Self {
            requests,
            events,
            hello,
        })
    }

    /// The daemon's hello: its version and pid.
    pub fn daemon(&self) -> &HelloReply {
        &self.hello
    }

    /// Sends a request and waits for its response (a daemon error is still `Ok`).
    pub async fn call(&self, request: Request) -> Result<Response, ClientError> {
        let (tx, rx) = oneshot::channel();
        self.requests
            .send((request, tx))
            .map_err(|_| ClientError::Disconnected)?;
        rx.await.map_err(|_| ClientError::Disconnected)
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

    /// Splits off the event receiver, for callers that select over it separately.
    pub fn take_events(&mut self) -> mpsc::UnboundedReceiver<Event> {
        let (_, empty) = mpsc::unbounded_channel();
        std::mem::replace(&mut self.events, empty)
    }
}

/// Refuses a socket served by another uid (`SO_PEERCRED`: the uid that called `listen`).
fn check_peer(stream: &UnixStream, socket: &Path) -> Result<(), ClientError> {
    let me = nix::unistd::geteuid().as_raw();
    let uid = stream
        .peer_cred()
        .map_err(|error| ClientError::Unreachable {
            socket: socket.display().to_string(),
            error,
        })?
        .uid();
    if uid == me {
        Ok(())
    } else {
        Err(ClientError::ForeignSocket {
            socket: socket.display().to_string(),
            uid,
            me,
        })
    }
}

async fn io_task(
    mut framed: Framed<UnixStream, tokio_util::codec::LengthDelimitedCodec>,
    mut requests: mpsc::UnboundedReceiver<Pending>,
    events: mpsc::UnboundedSender<Event>,
) {
    let mut next_id: u64 = 1;
    let mut waiting: HashMap<u64, oneshot::Sender<Response>> = HashMap::new();
    loop {
        tokio::select! {
            request = requests.recv() => {
                let Some((request, reply)) = request else { return };
                let id = next_id;
                next_id += 1;
                let Ok(bytes) = codec::encode(&ClientFrame::Request { id, request }) else { continue };
                if framed.send(bytes).await.is_err() {
                    return;
                }
                waiting.insert(id, reply);
            }
            frame = framed.next() => {
                let Some(Ok(bytes)) = frame else { return };
                match codec::decode::<ServerFrame>(&bytes) {
                    Ok(ServerFrame::Reply { id, response }) => {
                        if let Some(reply) = waiting.remove(&id) {
                            let _ = reply.send(response);
                        } else if let Response::Subscribed { seq, processes } = response {
                            // A fresh snapshot after the daemon found us lagging.
                            for process in processes {
                                let kind = pmtui_proto::EventKind::Process {
                                    process: Box::new(process),
                                };
                                let _ = events.send(Event { seq, kind });
                            }
                        }
                    }
                    Ok(ServerFrame::Event(event)) => {
                        let _ = events.send(*event);
                    }
                    Ok(ServerFrame::Hello(_)) | Err(_) => {}
                }
            }
        }
    }
}
