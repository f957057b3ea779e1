//! Replies kept as the daemon's bytes. `ls --json` and `describe --json` print what the
//! daemon sent; decoding a 1,000-row reply into types (serde buffers internally tagged
//! enums and flattened structs whole before it decodes them) and encoding it again cost
//! more than everything else the call does. A caller that only prints asks for the reply
//! raw and reads the field it wants as JSON text.
//!
//! The daemon writes each frame with `serde_json::to_vec`, so a reply has exactly one shape:
//! `{"reply":{"id":N,"response":{"type":"T",...}}}`, fields in declaration order, no
//! whitespace. Anything else (another serializer, a future layout) is decoded as before.

use crate::ClientError;
use bytes::Bytes;
use pmtui_proto::{Response, codec};
use std::ops::Range;

const REPLY_HEAD: &[u8] = br#"{"reply":{"id":"#;
const RESPONSE_KEY: &[u8] = br#","response":"#;
const REPLY_TAIL: &[u8] = b"}}";

/// A reply to a request sent with [`crate::Client::request_raw`].
#[derive(Debug)]
pub struct RawReply(Kept);

#[derive(Debug)]
enum Kept {
    /// The whole frame and where its response lies in it.
    Bytes {
        frame: Bytes,
        response: Range<usize>,
    },
    /// A frame of another shape, already decoded.
    Decoded(Response),
}

impl RawReply {
    pub(crate) fn bytes(frame: Bytes, response: Range<usize>) -> Self {
        Self(Kept::Bytes { frame, response })
    }

    pub(crate) fn decoded(response: Response) -> Self {
        Self(Kept::Decoded(response))
    }

    /// The JSON text of the only field `field` of a response of type `tag` (the
    /// `processes` of `{"type":"processes","processes":[...]}`), as the daemon wrote it;
    /// `None` for a response of another type or shape (an error, say).
    pub fn field(&self, tag: &str, field: &str) -> Option<&[u8]> {
        let Kept::Bytes { frame, response } = &self.0 else {
            return None;
        };
        let response = &frame[response.clone()];
        response[field_start(response, tag, field)?..].strip_suffix(b"}")
    }

    /// The reply decoded into a [`Response`] (a daemon error stays `Ok`).
    pub fn into_response(self) -> Result<Response, ClientError> {
        match self.0 {
            Kept::Decoded(response) => Ok(response),
            Kept::Bytes { frame, response } => Ok(codec::decode(&frame[response])?),
        }
    }
}

/// The id of the reply whose first part is `part` and where its response begins, read from
/// the frame's fixed head; `None` when `part` does not hold that head.
pub(crate) fn reply_head(part: &[u8]) -> Option<(u64, usize)> {
    let rest = part.strip_prefix(REPLY_HEAD)?;
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    let id = std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()?;
    rest[digits..].strip_prefix(RESPONSE_KEY)?;
    Some((id, REPLY_HEAD.len() + digits + RESPONSE_KEY.len()))
}

/// Where the text of the only field `field` of a response of type `tag` begins in
/// `response`, the start of a response `RawReply::field` would read; `None` for another
/// type or shape.
pub(crate) fn field_start(response: &[u8], tag: &str, field: &str) -> Option<usize> {
    let rest = response.strip_prefix(br#"{"type":""#)?;
    let rest = rest.strip_prefix(tag.as_bytes())?;
    let rest = rest.strip_prefix(br#"",""#)?;
    let rest = rest.strip_prefix(field.as_bytes())?;
    let rest = rest.strip_prefix(br#"":"#)?;
    Some(response.len() - rest.len())
}

/// What follows a field's text in a frame `field_start` read: the end of the response and
/// of the frame.
pub(crate) const FIELD_TAIL: &[u8] = b"}}}";

/// The id of a reply frame and where its response lies, read from the frame's fixed head
/// and tail without decoding it; `None` for any other frame.
pub(crate) fn reply_span(frame: &[u8]) -> Option<(u64, Range<usize>)> {
    let rest = frame.strip_prefix(REPLY_HEAD)?;
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    let id = std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()?;
    let start = REPLY_HEAD.len() + digits + RESPONSE_KEY.len();
    rest[digits..].strip_prefix(RESPONSE_KEY)?;
    let end = frame.len().checked_sub(REPLY_TAIL.len())?;
    (frame.ends_with(REPLY_TAIL) && start < end).then_some((id, start..end))
}

#[cfg(test)]
mod tests {
    use super::*;
    use pmtui_proto::{ErrorKind, HelloReply, ServerFrame};

    /// Whether `reply_span` reads `frame` as the frame decoding gives: for tests.
    fn agrees(frame: &ServerFrame) -> bool {
        let bytes = codec::encode(frame).expect("encodes");
        match (frame, reply_span(&bytes)) {
            (ServerFrame::Reply { id, response }, Some((got, span))) => {
                *id == got
                    && codec::decode::<Response>(&bytes[span]).ok().as_ref() == Some(response)
            }
            (ServerFrame::Reply { .. }, None) => false,
            (_, found) => found.is_none(),
        }
    }

    #[test]
    fn finds_the_response_of_every_reply_and_nothing_else() {
        let replies = [
            Response::Processes { processes: vec![] },
            Response::Details { details: vec![] },
            Response::error(ErrorKind::BadRequest, "no such process \"}}\""),
            Response::Done {
                message: "ok".into(),
            },
        ];
        for (id, response) in replies.into_iter().enumerate() {
            assert!(agrees(&ServerFrame::Reply {
                id: id as u64 * 1_000_003,
                response,
            }));
        }
        assert!(agrees(&ServerFrame::Hello(HelloReply {
            protocol: 2,
            version: "x".into(),
            pid: 1,
        })));
        assert!(reply_span(br#"{"reply":{"id":,"response":{}}}"#).is_none());
        assert!(reply_span(br#"{"reply":{"id":1,"response":}}"#).is_none());
    }

    #[test]
    fn reads_the_field_of_the_tagged_response() {
        let frame = ServerFrame::Reply {
            id: 7,
            response: Response::Processes { processes: vec![] },
        };
        let bytes = codec::encode(&frame).expect("encodes");
        let (_, span) = reply_span(&bytes).expect("a reply");
        let raw = RawReply::bytes(bytes, span);
        assert_eq!(raw.field("processes", "processes"), Some(&b"[]"[..]));
        assert_eq!(raw.field("details", "details"), None);
        assert_eq!(
            raw.into_response().expect("decodes"),
            Response::Processes { processes: vec![] }
        );
        let error = RawReply::decoded(Response::error(ErrorKind::BadRequest, "x"));
        assert_eq!(error.field("processes", "processes"), None);
    }
}
