//! A reply written out as it arrives (`Client::request_streamed`): `ls --json` at 1,000
//! processes is 780 KB, which the CLI would otherwise receive whole into one buffer (page
//! faults for every 4 KiB of it) before printing a byte, while the daemon sends it in
//! parts as it writes the rows. Its bytes pass through the connection's read buffer only.
//!
//! A reply is streamed once what arrived of it holds the frame's whole head, the response
//! of the type asked for and the start of its field's text, laid out already (`[` and a
//! line break), before its end; anything else (a reply in one read, an error, a daemon
//! that frames it otherwise) is put together and handed back as a `RawReply`, as
//! `request_raw` does. What came after the last line break is held back until more comes:
//! one write per piece, of whole lines, and the frame's tail (`}}}`) is never written; the
//! writer gets the field and nothing else, wherever the parts split.

use crate::ClientError;
use crate::raw::{self, FIELD_TAIL, RawReply};
use std::io::Write;
use tokio::sync::oneshot;

/// The outcome of [`crate::Client::request_streamed`].
pub enum Streamed {
    /// The field's text went to the writer, handed back unflushed (the caller ends the
    /// output, say with a line break, and flushes it).
    Written(Box<dyn Write + Send>),
    /// The reply came otherwise (an error, another shape, a short list in one part):
    /// nothing was written.
    Reply(RawReply),
}

impl std::fmt::Debug for Streamed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Written(_) => f.write_str("Written"),
            Self::Reply(raw) => f.debug_tuple("Reply").field(raw).finish(),
        }
    }
}

pub(crate) type Done = oneshot::Sender<Result<Streamed, ClientError>>;

/// A field being written out, part by part.
pub(crate) struct Stream {
    /// `None` once the requester has its answer (an error may come before the end).
    out: Option<(Box<dyn Write + Send>, Done)>,
    /// What came after the last line break so far: the start of a line, or at the end,
    /// the last line and the frame's tail.
    held: Vec<u8>,
}

/// Writes `a` then `b`, in one `writev` when the writer takes them.
fn write_two(sink: &mut dyn Write, a: &[u8], b: &[u8]) -> std::io::Result<()> {
    let mut done = 0;
    while done < a.len() + b.len() {
        let wrote = match a.get(done..) {
            Some(rest) if !rest.is_empty() => {
                sink.write_vectored(&[std::io::IoSlice::new(rest), std::io::IoSlice::new(b)])
            }
            _ => sink.write(&b[done - a.len()..]),
        };
        match wrote {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => done += n,
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
    Ok(())
}

/// Whether the start of a message, `part`, starts a reply to stream: the reply's id and
/// where the field's text begins, given the field each waiting id wants.
pub(crate) fn starts(
    part: &[u8],
    field_of: impl Fn(u64) -> Option<&'static str>,
) -> Option<(u64, usize)> {
    let (id, response) = raw::reply_head(part)?;
    let field = field_of(id)?;
    let start = response + raw::field_start(&part[response..], field, field)?;
    part[start..].starts_with(b"[\n").then_some((id, start))
}

impl Stream {
    pub(crate) fn new(sink: Box<dyn Write + Send>, done: Done) -> Self {
        Self {
            out: Some((sink, done)),
            held: Vec::with_capacity(256),
        }
    }

    /// Writes what of `bytes` is surely the field's text, whole lines: all up to the last
    /// line break that came (the tail, `}}}`, holds none), in one write with the line
    /// begun before; after an error, drops them (the rest of the message is read all the
    /// same).
    pub(crate) fn feed(&mut self, bytes: &[u8]) {
        let Some((sink, _)) = &mut self.out else {
            return;
        };
        let Some(last) = bytes.iter().rposition(|&b| b == b'\n') else {
            self.held.extend_from_slice(bytes);
            return;
        };
        let (lines, rest) = bytes.split_at(last + 1);
        let written = write_two(&mut **sink, &self.held, lines);
        self.held.clear();
        self.held.extend_from_slice(rest);
        if let Err(err) = written {
            self.answer(Err(ClientError::Output(err)));
        }
    }

    /// The last piece was fed: checks the tail, writes the last line, answers.
    pub(crate) fn end(mut self) {
        let Some((mut sink, done)) = self.out.take() else {
            return;
        };
        let answer = match self.held.strip_suffix(FIELD_TAIL) {
            None => Err(ClientError::Protocol(format!(
                "a streamed reply ended in {:?}, not the end of a reply",
                String::from_utf8_lossy(&self.held)
            ))),
            Some(line) => match sink.write_all(line) {
                Ok(()) => Ok(Streamed::Written(sink)),
                Err(err) => Err(ClientError::Output(err)),
            },
        };
        // A requester that gave up has dropped its receiver: nothing to do.
        let _ = done.send(answer);
    }

    fn answer(&mut self, answer: Result<Streamed, ClientError>) {
        if let Some((_, done)) = self.out.take() {
            let _ = done.send(answer);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Client;
    use bytes::Bytes;
    use futures_util::{SinkExt, StreamExt};
    use pmtui_proto::codec::{self, frame_codec};
    use pmtui_proto::frames::Part;
    use pmtui_proto::{ClientFrame, ErrorKind, HelloReply, Request, Response, ServerFrame};
    use std::sync::{Arc, Mutex};
    use tokio_util::codec::Framed;

    /// A writer whose bytes the test reads after, or one that refuses everything.
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>, bool);

    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if self.1 {
                return Err(std::io::ErrorKind::BrokenPipe.into());
            }
            self.0.lock().expect("sink").extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// Asks `ListJson` streamed over an in-memory connection whose daemon side answers
    /// with `reply(id)` cut into parts of the given lengths (the rest in a last part);
    /// then asks a ping, to show the connection still works.
    async fn ask(
        reply: impl FnOnce(u64) -> Bytes + Send + 'static,
        cuts: &[usize],
        sink: Sink,
    ) -> Result<Streamed, ClientError> {
        let (ours, theirs) = tokio::io::duplex(1 << 16);
        let hello = HelloReply {
            protocol: pmtui_proto::PROTOCOL_VERSION,
            version: pmtui_proto::VERSION.into(),
            pid: 1,
        };
        let client = Client::with_io(Framed::new(ours, frame_codec()), hello, None, None);
        let cuts = cuts.to_vec();
        let daemon = tokio::spawn(async move {
            let mut framed = Framed::new(theirs, frame_codec());
            let mut reply = Some(reply);
            while let Some(Ok(bytes)) = framed.next().await {
                let Ok(ClientFrame::Request { id, request }) = codec::decode(&bytes) else {
                    panic!("a request");
                };
                if request == Request::Ping {
                    let pong = ServerFrame::Reply {
                        id,
                        response: Response::Done {
                            message: "pong".into(),
                        },
                    };
                    let bytes = codec::encode(&pong).expect("encodes");
                    framed.send(bytes).await.expect("sends");
                    continue;
                }
                let mut frame = reply.take().expect("one list")(id);
                for &cut in &cuts {
                    let bytes = frame.split_to(cut.min(frame.len()));
                    framed
                        .send(Part { bytes, more: true })
                        .await
                        .expect("sends");
                }
                let last = Part {
                    bytes: frame,
                    more: false,
                };
                framed.send(last).await.expect("sends");
            }
        });
        let got = client
            .request_streamed(Request::ListJson, "processes", Box::new(sink))
            .await;
        let pong = client.call(Request::Ping).await.expect("still connected");
        assert!(matches!(pong, Response::Done { .. }), "{pong:?}");
        drop(client);
        daemon.await.expect("daemon side");
        got
    }

    const ROWS: &[u8] = b"[\n  {\n    \"id\": 0\n  },\n  {\n    \"id\": 1\n  }\n]";

    fn list(id: u64) -> Bytes {
        codec::encode_processes_reply(id, |out| out.extend_from_slice(ROWS))
    }

    #[tokio::test]
    async fn writes_the_rows_alone_wherever_the_parts_split() {
        let head = list(1).len() - ROWS.len() - FIELD_TAIL.len();
        let end = head + ROWS.len();
        // The tail split every way, parts inside a row, an empty part, one byte per part.
        let mut splits: Vec<Vec<usize>> = (0..=FIELD_TAIL.len() + 2)
            .map(|back| vec![head + 2, end + FIELD_TAIL.len() - back - head - 2])
            .collect();
        splits.push(vec![head + 5, 0, 7, 1, 1, 2]);
        // The head itself split.
        splits.push(vec![10, 1, head]);
        // Parts ending in the rows' own closing braces, and in a line break.
        let brace = head + ROWS.iter().position(|&b| b == b'}').expect("a brace");
        splits.push(vec![brace + 1, 1, 1]);
        splits.push(vec![brace, 1, 2]);
        splits.push(vec![brace + 2, end - brace - 2, 1, 1]);
        splits.push([head + 2].into_iter().chain([1; 60]).collect());
        for cuts in splits {
            let sink = Sink::default();
            let got = ask(list, &cuts, sink.clone()).await;
            assert!(matches!(got, Ok(Streamed::Written(_))), "{cuts:?}: {got:?}");
            assert_eq!(
                String::from_utf8_lossy(&sink.0.lock().expect("sink")),
                String::from_utf8_lossy(ROWS),
                "{cuts:?}"
            );
        }
    }

    #[tokio::test]
    async fn anything_else_comes_back_whole_with_nothing_written() {
        let sink = Sink::default();
        // One part: as `request_raw`.
        let got = ask(list, &[], sink.clone()).await.expect("a reply");
        let Streamed::Reply(raw) = got else {
            panic!("not streamed")
        };
        assert_eq!(raw.field("processes", "processes"), Some(ROWS));
        // An error in parts.
        let error = |id| {
            let response = Response::error(ErrorKind::BadRequest, "no");
            codec::encode(&ServerFrame::Reply { id, response }).expect("encodes")
        };
        let got = ask(error, &[30], sink.clone()).await.expect("a reply");
        let Streamed::Reply(raw) = got else {
            panic!("not streamed")
        };
        assert!(matches!(raw.into_response(), Ok(Response::Error { .. })));
        assert!(sink.0.lock().expect("sink").is_empty());
    }

    #[tokio::test]
    async fn a_wrong_end_or_a_refusing_writer_is_an_error() {
        let head = list(1).len() - ROWS.len() - FIELD_TAIL.len();
        let cut = |id| {
            let mut frame = Vec::from(&list(id)[..]);
            frame.truncate(frame.len() - 1);
            Bytes::from(frame)
        };
        let got = ask(cut, &[head + 4], Sink::default()).await;
        assert!(matches!(got, Err(ClientError::Protocol(_))), "{got:?}");
        let refusing = Sink(Arc::default(), true);
        let got = ask(list, &[head + 4, 5], refusing).await;
        assert!(
            matches!(&got, Err(ClientError::Output(e)) if e.kind() == std::io::ErrorKind::BrokenPipe),
            "{got:?}"
        );
    }
}
