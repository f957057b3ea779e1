//! Frames on the socket: a 4-byte big-endian length, then one JSON document. The first
//! frame each way is a hello carrying the protocol version.

use crate::{Event, ProtoError, Request, Response};
use bytes::Bytes;
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use tokio_util::codec::LengthDelimitedCodec;

/// Bumped on any incompatible change of the frames below.
pub const PROTOCOL_VERSION: u32 = 1;
/// Larger frames are refused before they are read.
pub const MAX_FRAME_LEN: usize = 16 * 1024 * 1024;

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

/// The length-delimited codec both ends use.
pub fn frame_codec() -> LengthDelimitedCodec {
    LengthDelimitedCodec::builder()
        .length_field_length(4)
        .max_frame_length(MAX_FRAME_LEN)
        .new_codec()
}

pub fn encode<T: Serialize>(frame: &T) -> Result<Bytes, ProtoError> {
    Ok(Bytes::from(serde_json::to_vec(frame)?))
}

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
    fn garbage_is_an_error_not_a_panic() {
        assert!(decode::<ClientFrame>(b"\xff\x00not json").is_err());
        assert!(decode::<ClientFrame>(br#"{"request":{"id":"x"}}"#).is_err());
    }
}
