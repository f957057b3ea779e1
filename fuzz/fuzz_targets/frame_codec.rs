//! The socket's framing: arbitrary bytes through the length-delimited codec both ends use,
//! every whole frame decoded as a client frame (what the daemon reads) and as a server frame
//! (what a client reads). Nothing may panic, and a frame that decodes must encode back to
//! one that decodes to the same value.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use pmtui_proto::codec::{ClientFrame, ServerFrame, decode, encode, frame_codec};
use tokio_util::codec::Decoder;

fuzz_target!(|data: &[u8]| {
    let mut codec = frame_codec();
    let mut buf = BytesMut::from(data);
    // Bounded: every successful decode consumes at least the 4-byte header.
    while let Ok(Some(frame)) = codec.decode(&mut buf) {
        if let Ok(client) = decode::<ClientFrame>(&frame) {
            let again = encode(&client).expect("a decoded frame encodes");
            let back: ClientFrame = decode(&again).expect("what we encode decodes");
            assert_eq!(back, client);
        }
        if let Ok(server) = decode::<ServerFrame>(&frame) {
            let again = encode(&server).expect("a decoded frame encodes");
            let _: ServerFrame = decode(&again).expect("what we encode decodes");
        }
    }
    let _ = codec.decode_eof(&mut buf);
});
