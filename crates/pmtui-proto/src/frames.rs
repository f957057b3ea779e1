//! Bytes on the socket (protocol 2): each message is sent as one or more *parts*, each a
//! 4-byte big-endian word then that many bytes. The word's top bit says "more parts of
//! this message follow"; the other 31 bits are the part's length, at most `MAX_PART_LEN`.
//! A message under 1 MiB is one part, which is exactly protocol 1's frame: the hellos of
//! both versions read the same, so each side can name the other's version.
//!
//! Memory is spent on what has arrived, never on what a length word announces, and is
//! bounded three ways: a part is at most 1 MiB, a message at most the decoder's
//! `max_message`, and (on the daemon) all half-received messages of all connections
//! together at most a shared [`Budget`]. A reply of any size (say `describe --json all`
//! at thousands of processes) goes out in parts and is reassembled by the client.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio_util::codec::{Decoder, Encoder};

/// The largest part: longer messages are split.
pub const MAX_PART_LEN: usize = 1 << 20;
/// The top bit of the length word: more parts follow.
const MORE: u32 = 0x8000_0000;

/// Bytes held in half-received messages, shared by every connection of a daemon.
#[derive(Debug, Clone)]
pub struct Budget {
    held: Arc<AtomicUsize>,
    limit: usize,
}

impl Budget {
    pub fn new(limit: usize) -> Self {
        Self {
            held: Arc::default(),
            limit,
        }
    }

    /// Bytes held now, by every connection.
    pub fn held(&self) -> usize {
        self.held.load(Ordering::Relaxed)
    }

    /// Takes `n` more bytes; false (and nothing taken) past the limit.
    fn take(&self, n: usize) -> bool {
        let mut now = self.held.load(Ordering::Relaxed);
        loop {
            if now + n > self.limit {
                return false;
            }
            match self.held.compare_exchange_weak(
                now,
                now + n,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(actual) => now = actual,
            }
        }
    }

    fn give(&self, n: usize) {
        self.held.fetch_sub(n, Ordering::Relaxed);
    }
}

/// Splits outgoing messages into parts and reassembles incoming ones.
#[derive(Debug)]
pub struct FrameCodec {
    max_message: usize,
    /// The parts received so far of the message in progress.
    message: BytesMut,
    budget: Option<Budget>,
    /// What this connection holds against the budget.
    charged: usize,
}

impl FrameCodec {
    /// A codec refusing incoming messages over `max_message` bytes, counting what it holds
    /// against `budget` when there is one.
    pub fn new(max_message: usize, budget: Option<Budget>) -> Self {
        Self {
            max_message,
            message: BytesMut::new(),
            budget,
            charged: 0,
        }
    }

    /// Bytes of a message received only in part (its parts so far, and what of the next
    /// part is buffered in `src`).
    pub fn holding(&self) -> usize {
        self.charged
    }

    /// Charges (or releases) the budget so that it counts `now` bytes for this connection.
    fn charge(&mut self, now: usize) -> std::io::Result<()> {
        let Some(budget) = &self.budget else {
            self.charged = now;
            return Ok(());
        };
        if now > self.charged {
            if !budget.take(now - self.charged) {
                return Err(invalid(format!(
                    "the daemon already holds {} bytes of half-received requests from all \
                     clients; this connection is dropped",
                    budget.held()
                )));
            }
        } else {
            budget.give(self.charged - now);
        }
        self.charged = now;
        Ok(())
    }
}

impl Drop for FrameCodec {
    fn drop(&mut self) {
        if let Some(budget) = &self.budget {
            budget.give(self.charged);
        }
    }
}

fn invalid(message: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, message)
}

impl FrameCodec {
    /// The next whole part in `src` and whether more parts of its message follow; `None`
    /// until one has arrived. `before`: bytes of its message before it (the message limit).
    fn next_part(
        &mut self,
        src: &mut BytesMut,
        before: usize,
    ) -> Result<Option<(BytesMut, bool)>, std::io::Error> {
        if src.len() < 4 {
            let held = self.message.capacity() + src.len();
            self.charge(held)?;
            return Ok(None);
        }
        let word = u32::from_be_bytes([src[0], src[1], src[2], src[3]]);
        let more = word & MORE != 0;
        let len = (word & !MORE) as usize;
        if len > MAX_PART_LEN {
            return Err(invalid(format!(
                "a part of {len} bytes is over the {MAX_PART_LEN} a part may hold"
            )));
        }
        if before + len > self.max_message {
            return Err(invalid(format!(
                "a message of over {} bytes is over the {} allowed",
                before + len,
                self.max_message
            )));
        }
        if src.len() < 4 + len {
            if self.budget.is_none() {
                // The client, which trusts its daemon: room for the whole part at once,
                // so a long reply is not copied again at each doubling of the buffer.
                src.reserve(4 + len - src.len());
            }
            // The daemon holds only what has arrived (no reservation for what is
            // announced); the message's capacity, not its length, is what it costs.
            let held = self.message.capacity() + src.len();
            self.charge(held)?;
            return Ok(None);
        }
        src.advance(4);
        Ok(Some((src.split_to(len), more)))
    }
}

impl Decoder for FrameCodec {
    type Item = BytesMut;
    type Error = std::io::Error;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<BytesMut>, std::io::Error> {
        loop {
            let Some((part, more)) = self.next_part(src, self.message.len())? else {
                return Ok(None);
            };
            if !more && self.message.is_empty() {
                self.charge(0)?;
                return Ok(Some(part));
            }
            self.message.extend_from_slice(&part);
            if !more {
                self.charge(0)?;
                return Ok(Some(std::mem::take(&mut self.message)));
            }
        }
    }
}

/// Writes `message` as parts, the last one flagged `more` when the message goes on in
/// further calls.
fn put_parts(message: &[u8], more_after: bool, dst: &mut BytesMut) {
    let parts = message.len().div_ceil(MAX_PART_LEN).max(1);
    dst.reserve(message.len() + 4 * parts);
    let mut rest = message;
    loop {
        let len = rest.len().min(MAX_PART_LEN);
        let more = len < rest.len();
        let word = len as u32 | if more || more_after { MORE } else { 0 };
        dst.put_u32(word);
        dst.extend_from_slice(&rest[..len]);
        rest = &rest[len..];
        if !more {
            return;
        }
    }
}

impl Encoder<Bytes> for FrameCodec {
    type Error = std::io::Error;

    fn encode(&mut self, item: Bytes, dst: &mut BytesMut) -> Result<(), std::io::Error> {
        put_parts(&item, false, dst);
        Ok(())
    }
}

/// A piece of a message: sent by a writer that has the start of a message before its end
/// (the daemon's `ls --json` rows), or read by a reader that uses the start before the end
/// arrives (the CLI printing them). Parts longer than `MAX_PART_LEN` go out split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub bytes: Bytes,
    /// More parts of this message follow.
    pub more: bool,
}

impl Encoder<Part> for FrameCodec {
    type Error = std::io::Error;

    fn encode(&mut self, item: Part, dst: &mut BytesMut) -> Result<(), std::io::Error> {
        put_parts(&item.bytes, item.more, dst);
        Ok(())
    }
}

/// `part` as `Encoder<Part>` writes it, as (length word, bytes) pieces of the wire text in
/// order, for a writer that sends each piece from where it lies instead of copying it
/// into the codec's buffer first (a reply of 780 KB).
pub fn pieces(part: &Part) -> impl Iterator<Item = ([u8; 4], &[u8])> {
    let count = part.bytes.len().div_ceil(MAX_PART_LEN).max(1);
    (0..count).map(move |i| {
        let start = i * MAX_PART_LEN;
        let end = (start + MAX_PART_LEN).min(part.bytes.len());
        let more = i + 1 < count || part.more;
        let word = (end - start) as u32 | if more { MORE } else { 0 };
        (word.to_be_bytes(), &part.bytes[start..end])
    })
}

/// A message's bytes as they arrive, at most a part's worth; `end`: the message ends here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    pub bytes: Bytes,
    pub end: bool,
}

/// How much a reader of pieces reads at once: the read buffer, reused for every piece.
const READ_ROOM: usize = 64 * 1024;

/// `FrameCodec` for a reader that takes a message's bytes as they arrive (and puts the
/// messages it wants whole together itself): the same limits, nothing held between reads.
/// The parts of a long reply then pass through one buffer of `READ_ROOM` bytes, instead of
/// each part being gathered whole, which moves what arrived of it when the buffer fills.
#[derive(Debug)]
pub struct PartCodec {
    frames: FrameCodec,
    /// Bytes of the message in progress handed out so far.
    passed: usize,
    /// The part in progress: bytes of it still to come, and its "more parts" flag.
    part: Option<(usize, bool)>,
}

impl PartCodec {
    pub fn new(frames: FrameCodec) -> Self {
        Self {
            frames,
            passed: 0,
            part: None,
        }
    }
}

impl Decoder for PartCodec {
    type Item = Piece;
    type Error = std::io::Error;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Piece>, std::io::Error> {
        let (left, more) = match self.part.take() {
            Some(part) => part,
            None if src.len() < 4 => {
                if src.capacity() - src.len() < READ_ROOM {
                    src.reserve(READ_ROOM);
                }
                return Ok(None);
            }
            None => {
                let word = u32::from_be_bytes([src[0], src[1], src[2], src[3]]);
                let len = (word & !MORE) as usize;
                if len > MAX_PART_LEN {
                    return Err(invalid(format!(
                        "a part of {len} bytes is over the {MAX_PART_LEN} a part may hold"
                    )));
                }
                if self.passed + len > self.frames.max_message {
                    return Err(invalid(format!(
                        "a message of over {} bytes is over the {} allowed",
                        self.passed + len,
                        self.frames.max_message
                    )));
                }
                src.advance(4);
                (len, word & MORE != 0)
            }
        };
        let n = left.min(src.len());
        if n == 0 && left > 0 {
            self.part = Some((left, more));
            if src.capacity() < READ_ROOM {
                src.reserve(READ_ROOM);
            }
            return Ok(None);
        }
        let bytes = src.split_to(n).freeze();
        let left = left - n;
        let end = left == 0 && !more;
        self.part = (left > 0).then_some((left, more));
        self.passed = if end { 0 } else { self.passed + n };
        Ok(Some(Piece { bytes, end }))
    }
}

impl Encoder<Bytes> for PartCodec {
    type Error = std::io::Error;

    fn encode(&mut self, item: Bytes, dst: &mut BytesMut) -> Result<(), std::io::Error> {
        self.frames.encode(item, dst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(message: &[u8]) -> BytesMut {
        let mut out = BytesMut::new();
        FrameCodec::new(usize::MAX, None)
            .encode(Bytes::copy_from_slice(message), &mut out)
            .expect("encode");
        out
    }

    #[test]
    fn small_messages_are_one_part_like_protocol_one() {
        let out = wire(b"hello");
        assert_eq!(&out[..], b"\x00\x00\x00\x05hello");
        assert_eq!(&wire(b"")[..], b"\x00\x00\x00\x00");
    }

    #[test]
    fn large_messages_are_split_and_reassembled_byte_by_byte() {
        let message: Vec<u8> = (0..(MAX_PART_LEN * 2 + 17)).map(|i| i as u8).collect();
        let out = wire(&message);
        assert_eq!(out.len(), message.len() + 12, "three parts");
        let mut codec = FrameCodec::new(usize::MAX, None);
        let mut src = BytesMut::new();
        let mut got = None;
        // Fed in odd-sized pieces, as a socket delivers them.
        for piece in out.chunks(65_537) {
            src.extend_from_slice(piece);
            if let Some(m) = codec.decode(&mut src).expect("decode") {
                got = Some(m);
            }
        }
        assert_eq!(got.as_deref(), Some(&message[..]));
        assert!(src.is_empty());
    }

    #[test]
    fn parts_sent_one_by_one_read_as_one_message_or_part_by_part() {
        let mut codec = FrameCodec::new(usize::MAX, None);
        let mut out = BytesMut::new();
        for (bytes, more) in [(&b"ab"[..], true), (b"", true), (b"cde", false)] {
            let part = Part {
                bytes: Bytes::copy_from_slice(bytes),
                more,
            };
            codec.encode(part, &mut out).expect("encode");
        }
        let mut whole = out.clone();
        let message = codec.decode(&mut whole).expect("decode");
        assert_eq!(message.as_deref(), Some(&b"abcde"[..]));
        // Read as it comes: every byte once, in order, the end marked.
        for step in [1, 3, 64] {
            let mut parts = PartCodec::new(FrameCodec::new(5, None));
            let (mut got, mut ends) = (Vec::new(), 0);
            let mut src = BytesMut::new();
            for piece in out.chunks(step) {
                src.extend_from_slice(piece);
                while let Some(piece) = parts.decode(&mut src).expect("decode") {
                    assert_eq!(ends, 0, "nothing after the end");
                    got.extend_from_slice(&piece.bytes);
                    ends += usize::from(piece.end);
                }
            }
            assert_eq!((&got[..], ends), (&b"abcde"[..], 1), "{step}");
        }
        let mut parts = PartCodec::new(FrameCodec::new(4, None));
        let mut src = out.clone();
        assert!(parts.decode(&mut src).expect("ab").is_some());
        assert!(parts.decode(&mut src).expect("empty").is_some());
        assert!(
            parts.decode(&mut src).is_err(),
            "the message limit counts the bytes handed out"
        );
    }

    #[test]
    fn pieces_are_the_encoded_part() {
        for (len, more) in [
            (0, false),
            (5, true),
            (MAX_PART_LEN, false),
            (MAX_PART_LEN * 2 + 3, true),
        ] {
            let part = Part {
                bytes: (0..len).map(|i| i as u8).collect::<Vec<u8>>().into(),
                more,
            };
            let mut encoded = BytesMut::new();
            FrameCodec::new(usize::MAX, None)
                .encode(part.clone(), &mut encoded)
                .expect("encode");
            let mut pieced = Vec::new();
            for (word, bytes) in pieces(&part) {
                pieced.extend_from_slice(&word);
                pieced.extend_from_slice(bytes);
            }
            assert_eq!(&encoded[..], &pieced[..], "{len} {more}");
        }
    }

    #[test]
    fn announced_sizes_cost_nothing_and_limits_hold() {
        let budget = Budget::new(3 * MAX_PART_LEN);
        let mut codec = FrameCodec::new(2 * MAX_PART_LEN, Some(budget.clone()));
        let mut src = BytesMut::new();
        src.put_u32(MAX_PART_LEN as u32 | MORE);
        src.extend_from_slice(&[1; 10]);
        assert!(codec.decode(&mut src).expect("partial").is_none());
        assert_eq!(budget.held(), 14, "what arrived, not what was announced");
        assert_eq!(codec.holding(), 14);
        // Over the message limit.
        src.extend_from_slice(&vec![0; MAX_PART_LEN - 10]);
        src.put_u32(MAX_PART_LEN as u32 + 1);
        assert!(codec.decode(&mut src).is_err(), "part too long");
        drop(codec);
        let mut codec = FrameCodec::new(2 * MAX_PART_LEN, Some(budget.clone()));
        let mut src = BytesMut::new();
        for _ in 0..2 {
            src.put_u32(MAX_PART_LEN as u32 | MORE);
            src.extend_from_slice(&vec![0; MAX_PART_LEN]);
        }
        src.put_u32(1);
        assert!(codec.decode(&mut src).is_err(), "message too long");
        drop(codec);
        // Two connections share the budget: the second is refused past it.
        let mut a = FrameCodec::new(usize::MAX, Some(budget.clone()));
        let mut b = FrameCodec::new(usize::MAX, Some(budget.clone()));
        let mut half = BytesMut::new();
        half.put_u32(MAX_PART_LEN as u32 | MORE);
        half.extend_from_slice(&vec![0; MAX_PART_LEN]);
        half.put_u32(MAX_PART_LEN as u32 | MORE);
        half.extend_from_slice(&vec![0; MAX_PART_LEN / 2]);
        assert!(a.decode(&mut half.clone()).expect("a").is_none());
        assert!(
            b.decode(&mut half.clone()).is_err(),
            "over the shared budget"
        );
        drop(a);
        drop(b);
        assert_eq!(budget.held(), 0, "everything given back");
    }
}
