//! Messages on the socket: one JSON document each, carried in parts (`frames.rs`). The
//! first message each way is a hello carrying the protocol version; a daemon that speaks
//! another version answers with an error naming both.

use crate::frames::{Budget, FrameCodec};
use crate::{Event, ProtoError, Request, Response};
use bytes::Bytes;
use serde::{Deserialize, Serialize, de::DeserializeOwned};

/// Bumped on any incompatible change of the messages below or of their framing.
/// 2: messages are split into parts of at most 1 MiB (protocol 1 had one frame of at most
/// 16 MiB per message, which large replies outgrew).
pub const PROTOCOL_VERSION: u32 = 2;
/// The largest message a client may send the daemon; larger ones end the connection.
pub const MAX_REQUEST_LEN: usize = 16 * 1024 * 1024;
/// The largest message a client accepts from the daemon.
pub const MAX_REPLY_LEN: usize = 1 << 30;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hello {
    pub protocol: u32,
    pub client: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HelloReply {
    pub protocol: u32,
    pub version: String,
    pub pid: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientFrame {
    Hello(Hello),
    Request { id: u64, request: Request },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServerFrame {
    Hello(HelloReply),
    Reply {
        id: u64,
        response: Response,
    },
    /// Boxed: a process row is large, and most frames are replies.
    Event(Box<Event>),
}

/// The client's codec: replies of any size up to `MAX_REPLY_LEN`.
pub fn frame_codec() -> FrameCodec {
    FrameCodec::new(MAX_REPLY_LEN, None)
}

/// The daemon's codec for one connection: requests up to `MAX_REQUEST_LEN`, half-received
/// ones counted against `budget`, shared by every connection.
pub fn server_codec(budget: Budget) -> FrameCodec {
    FrameCodec::new(MAX_REQUEST_LEN, Some(budget))
}

pub fn encode<T: Serialize>(frame: &T) -> Result<Bytes, ProtoError> {
    Ok(Bytes::from(serde_json::to_vec(frame)?))
}

/// `encode` for the daemon's frames, with room reserved up front for a long list, so a
/// 1,000-row reply is not copied again at each doubling of its buffer.
pub fn encode_server(frame: &ServerFrame) -> Result<Bytes, ProtoError> {
    let rows = |n: usize, each: usize| n.saturating_mul(each).min(MAX_REPLY_LEN);
    let room = match frame {
        ServerFrame::Reply {
            response: Response::Processes { processes },
            ..
        } => rows(processes.len(), 1024),
        ServerFrame::Reply {
            response: Response::Details { details },
            ..
        } => rows(details.len(), 8192),
        _ => 128,
    };
    let mut out = Vec::with_capacity(room);
    serde_json::to_writer(&mut out, frame)?;
    Ok(Bytes::from(out))
}

/// The reply frame `{"reply":{"id":N,"response":{"type":"processes","processes":ROWS}}}`
/// with `rows` writing ROWS as JSON text of their own layout (`info_json`'s pretty rows):
/// the frame `encode` gives for `Response::Processes`, but for the whitespace in ROWS.
pub fn encode_processes_reply(id: u64, rows: impl FnOnce(&mut Vec<u8>)) -> Bytes {
    let mut out = Vec::new();
    processes_reply_head(id, &mut out);
    rows(&mut out);
    out.extend_from_slice(PROCESSES_REPLY_TAIL);
    Bytes::from(out)
}

/// What precedes ROWS in `encode_processes_reply`'s frame, for a writer sending the frame
/// in parts as the rows are written.
pub fn processes_reply_head(id: u64, out: &mut Vec<u8>) {
    out.extend_from_slice(br#"{"reply":{"id":"#);
    out.extend_from_slice(id.to_string().as_bytes());
    out.extend_from_slice(br#","response":{"type":"processes","processes":"#);
}

/// What follows ROWS in `encode_processes_reply`'s frame.
pub const PROCESSES_REPLY_TAIL: &[u8] = b"}}}";

pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ProtoError> {
    Ok(serde_json::from_slice(bytes)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_frame_round_trips() {
        let frame = ClientFrame::Request {
            id: 7,
            request: Request::Stop {
                targets: vec!["web".into()],
            },
        };
        let bytes = encode(&frame).expect("encodes");
        assert_eq!(
            std::str::from_utf8(&bytes).expect("utf8"),
            r#"{"request":{"id":7,"request":{"cmd":"stop","targets":["web"]}}}"#
        );
        let back: ClientFrame = decode(&bytes).expect("decodes");
        assert_eq!(back, frame);
    }

    #[test]
    fn server_frames_encode_the_same_with_room_reserved() {
        let frame = ServerFrame::Reply {
            id: 3,
            response: Response::Processes { processes: vec![] },
        };
        assert_eq!(
            encode_server(&frame).expect("encodes"),
            encode(&frame).expect("encodes")
        );
    }

    #[test]
    fn a_processes_reply_written_by_hand_is_the_encoded_one() {
        let empty = ServerFrame::Reply {
            id: 12_345,
            response: Response::Processes { processes: vec![] },
        };
        let by_hand = encode_processes_reply(12_345, |out| out.extend_from_slice(b"[]"));
        assert_eq!(by_hand, encode(&empty).expect("encodes"));
        let row: crate::ProcessInfo = serde_json::from_value(serde_json::json!({
            "id": 3, "name": "api", "namespace": "default", "instance": 0,
            "status": "online", "pid": 42, "restarts": 1, "unstable_restarts": 0,
            "uptime_ms": 1000, "cpu": 0.5, "memory": 1024, "exit_code": null,
            "exit_signal": null, "created_at": 1, "started_at": 2, "next_restart_at": null,
            "status_reason": null, "command": "sleep 1",
        }))
        .expect("a row");
        let pretty = encode_processes_reply(7, |out| {
            crate::info_json::write_rows([(&row, row.uptime_ms)], out);
        });
        let decoded: ServerFrame = decode(&pretty).expect("decodes");
        assert_eq!(
            decoded,
            ServerFrame::Reply {
                id: 7,
                response: Response::Processes {
                    processes: vec![row]
                },
            }
        );
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(decode::<ClientFrame>(b"\xff\x00not json").is_err());
        assert!(decode::<ClientFrame>(br#"{"request":{"id":"x"}}"#).is_err());
    }
}
