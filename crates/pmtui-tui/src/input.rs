//! The terminal's input bytes turned into key and mouse events. crossterm's own parser reads
//! `ESC ESC` as one Esc and `ESC r` as Alt+r, so two quick Escs went back one level and the
//! key after them landed in the view below (where `r` restarts). Here every Esc counts: an
//! `ESC` followed by anything but `[` or `O` is an Esc and then that key, and a lone `ESC` at
//! the end of what was read is an Esc once `ESC_TIMEOUT` passes without more bytes.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use std::time::Duration;

/// How long a lone Esc waits for the rest of an escape sequence.
pub const ESC_TIMEOUT: Duration = Duration::from_millis(30);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Key(KeyEvent),
    Mouse(MouseEvent),
}

/// Bytes in, events out; keeps an unfinished sequence between reads.
#[derive(Debug, Default)]
pub struct Decoder {
    pending: Vec<u8>,
}

impl Decoder {
    /// True when bytes wait for more (a lone Esc, half a sequence or character): call
    /// `flush` if nothing arrives within `ESC_TIMEOUT`.
    pub fn pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Decodes what can be decoded; keeps an unfinished tail for the next read.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Input> {
        self.pending.extend_from_slice(bytes);
        let mut out = Vec::new();
        let mut at = 0;
        while at < self.pending.len() {
            match decode(&self.pending[at..]) {
                Step::Done(n, event) => {
                    out.extend(event);
                    at += n;
                }
                Step::More => break,
            }
        }
        self.pending.drain(..at);
        out
    }

    /// Nothing more came: a lone Esc is an Esc, anything else unfinished is dropped (or
    /// read as Esc and keys, for an Esc followed by a half sequence).
    pub fn flush(&mut self) -> Vec<Input> {
        let rest = std::mem::take(&mut self.pending);
        if rest.first() != Some(&ESC) {
            return Vec::new();
        }
        let mut out = vec![Input::Key(key(KeyCode::Esc, KeyModifiers::NONE))];
        out.extend(self.feed(&rest[1..]));
        // What remains cannot finish into a sequence a key needs; drop it.
        self.pending.clear();
        out
    }
}

const ESC: u8 = 0x1b;

enum Step {
    /// `n` bytes used, giving this event (none for sequences we do not use).
    Done(usize, Option<Input>),
    /// The bytes so far start something longer.
    More,
}

fn key(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
    KeyEvent::new(code, modifiers)
}

fn done(n: usize, code: KeyCode, modifiers: KeyModifiers) -> Step {
    Step::Done(n, Some(Input::Key(key(code, modifiers))))
}

fn decode(b: &[u8]) -> Step {
    match b[0] {
        ESC => match b.get(1) {
            None => Step::More,
            Some(b'[') => csi(b),
            Some(b'O') => ss3(b),
            // Esc, then whatever follows is read on its own: never Alt+key.
            Some(_) => done(1, KeyCode::Esc, KeyModifiers::NONE),
        },
        b'\r' | b'\n' => done(1, KeyCode::Enter, KeyModifiers::NONE),
        b'\t' => done(1, KeyCode::Tab, KeyModifiers::NONE),
        0x7f | 0x08 => done(1, KeyCode::Backspace, KeyModifiers::NONE),
        0 => done(1, KeyCode::Char(' '), KeyModifiers::CONTROL),
        c @ 0x01..=0x1a => done(
            1,
            KeyCode::Char((c - 1 + b'a') as char),
            KeyModifiers::CONTROL,
        ),
        0x1c..=0x1f => Step::Done(1, None),
        _ => utf8(b),
    }
}

fn utf8(b: &[u8]) -> Step {
    let len = match b[0] {
        0x00..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf7 => 4,
        _ => return Step::Done(1, None),
    };
    if b.len() < len {
        return Step::More;
    }
    match std::str::from_utf8(&b[..len])
        .ok()
        .and_then(|s| s.chars().next())
    {
        Some(c) => {
            let modifiers = if c.is_uppercase() {
                KeyModifiers::SHIFT
            } else {
                KeyModifiers::NONE
            };
            done(len, KeyCode::Char(c), modifiers)
        }
        None => Step::Done(1, None),
    }
}

/// `ESC O x`: arrows, Home/End and F1–F4 in application mode.
fn ss3(b: &[u8]) -> Step {
    let Some(&c) = b.get(2) else {
        return Step::More;
    };
    let code = match (cursor_key(c), c) {
        (Some(code), _) => code,
        (None, b'P'..=b'S') => KeyCode::F(1 + c - b'P'),
        _ => return Step::Done(3, None),
    };
    done(3, code, KeyModifiers::NONE)
}

/// The final byte of an arrow, Home or End key, the same in `ESC O x` and `ESC [ x`.
fn cursor_key(c: u8) -> Option<KeyCode> {
    Some(match c {
        b'A' => KeyCode::Up,
        b'B' => KeyCode::Down,
        b'C' => KeyCode::Right,
        b'D' => KeyCode::Left,
        b'H' => KeyCode::Home,
        b'F' => KeyCode::End,
        _ => return None,
    })
}

/// `ESC [ params final`.
fn csi(b: &[u8]) -> Step {
    // Parameters and intermediates run until a final byte 0x40–0x7e.
    let Some(end) = b[2..]
        .iter()
        .position(|c| (0x40..=0x7e).contains(c))
        .map(|i| i + 2)
    else {
        // A sequence longer than any we know is noise: drop it rather than wait forever.
        return if b.len() > 64 {
            Step::Done(b.len(), None)
        } else {
            Step::More
        };
    };
    let n = end + 1;
    let params = std::str::from_utf8(&b[2..end]).unwrap_or("");
    let final_byte = b[end];
    if let Some(mouse) = params.strip_prefix('<') {
        return Step::Done(n, sgr_mouse(mouse, final_byte).map(Input::Mouse));
    }
    let nums: Vec<u16> = params.split(';').map(|p| p.parse().unwrap_or(0)).collect();
    // `1;5A` style: the second number carries the modifiers (1 + bits).
    let modifiers = nums
        .get(1)
        .map_or(KeyModifiers::NONE, |m| modifier_bits(m.saturating_sub(1)));
    let code = match (cursor_key(final_byte), final_byte) {
        (Some(code), _) => code,
        (None, b'Z') => return done(n, KeyCode::BackTab, KeyModifiers::SHIFT),
        (None, b'~') => match nums.first().copied().unwrap_or(0) {
            1 | 7 => KeyCode::Home,
            2 => KeyCode::Insert,
            3 => KeyCode::Delete,
            4 | 8 => KeyCode::End,
            5 => KeyCode::PageUp,
            6 => KeyCode::PageDown,
            _ => return Step::Done(n, None),
        },
        _ => return Step::Done(n, None),
    };
    done(n, code, modifiers)
}

fn modifier_bits(bits: u16) -> KeyModifiers {
    let mut m = KeyModifiers::NONE;
    if bits & 1 != 0 {
        m |= KeyModifiers::SHIFT;
    }
    if bits & 2 != 0 {
        m |= KeyModifiers::ALT;
    }
    if bits & 4 != 0 {
        m |= KeyModifiers::CONTROL;
    }
    m
}

/// `ESC [ < b ; x ; y M|m`: SGR mouse reports (1-based cells).
fn sgr_mouse(params: &str, final_byte: u8) -> Option<MouseEvent> {
    let mut it = params.split(';').map(|p| p.parse::<u16>().ok());
    let (b, x, y) = (it.next()??, it.next()??, it.next()??);
    let button = match b & 0b11 {
        0 => MouseButton::Left,
        1 => MouseButton::Middle,
        _ => MouseButton::Right,
    };
    let kind = if b & 64 != 0 {
        match b & 0b11 {
            0 => MouseEventKind::ScrollUp,
            1 => MouseEventKind::ScrollDown,
            2 => MouseEventKind::ScrollLeft,
            _ => MouseEventKind::ScrollRight,
        }
    } else if b & 32 != 0 {
        if b & 0b11 == 3 {
            MouseEventKind::Moved
        } else {
            MouseEventKind::Drag(button)
        }
    } else if final_byte == b'm' {
        MouseEventKind::Up(button)
    } else {
        MouseEventKind::Down(button)
    };
    Some(MouseEvent {
        kind,
        column: x.saturating_sub(1),
        row: y.saturating_sub(1),
        // Shift, alt and control sit at bits 2-4 of the button, in the key parameter's order.
        modifiers: modifier_bits(b >> 2),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(events: &[Input]) -> Vec<KeyCode> {
        events
            .iter()
            .filter_map(|e| match e {
                Input::Key(k) => Some(k.code),
                Input::Mouse(_) => None,
            })
            .collect()
    }

    #[test]
    fn two_escs_in_one_read_are_two_escs() {
        let mut d = Decoder::default();
        let out = d.feed(b"\x1b\x1b");
        // The first is certain; the second may start a sequence until the timeout.
        assert_eq!(codes(&out), [KeyCode::Esc]);
        assert!(d.pending());
        assert_eq!(codes(&d.flush()), [KeyCode::Esc]);
        assert!(!d.pending());
    }

    #[test]
    fn esc_then_a_letter_is_esc_and_the_letter_never_alt() {
        let mut d = Decoder::default();
        let out = d.feed(b"\x1b\x1br");
        assert_eq!(
            codes(&out),
            [KeyCode::Esc, KeyCode::Esc, KeyCode::Char('r')]
        );
        let Input::Key(k) = &out[2] else {
            panic!("a key")
        };
        assert_eq!(k.modifiers, KeyModifiers::NONE);
    }

    #[test]
    fn sequences_split_across_reads_wait_for_the_rest() {
        let mut d = Decoder::default();
        assert!(d.feed(b"\x1b[").is_empty());
        assert!(d.pending());
        assert_eq!(codes(&d.feed(b"A")), [KeyCode::Up]);
        assert!(d.feed("é".as_bytes()[..1].as_ref()).is_empty());
        assert_eq!(codes(&d.feed(&"é".as_bytes()[1..])), [KeyCode::Char('é')]);
    }

    #[test]
    fn keys_controls_and_mouse() {
        let mut d = Decoder::default();
        let out = d.feed(b"\r\t\x7f\x03\x1a\x1b[5~\x1b[6~\x1b[3~\x1b[Z\x1bOH\x1b[1;5C G");
        assert_eq!(
            codes(&out),
            [
                KeyCode::Enter,
                KeyCode::Tab,
                KeyCode::Backspace,
                KeyCode::Char('c'),
                KeyCode::Char('z'),
                KeyCode::PageUp,
                KeyCode::PageDown,
                KeyCode::Delete,
                KeyCode::BackTab,
                KeyCode::Home,
                KeyCode::Right,
                KeyCode::Char(' '),
                KeyCode::Char('G'),
            ]
        );
        let Input::Key(ctrl_c) = &out[3] else {
            panic!("a key")
        };
        assert!(ctrl_c.modifiers.contains(KeyModifiers::CONTROL));
        let out = d.feed(b"\x1b[<0;10;5M\x1b[<65;1;1M");
        assert_eq!(
            out,
            [
                Input::Mouse(MouseEvent {
                    kind: MouseEventKind::Down(MouseButton::Left),
                    column: 9,
                    row: 4,
                    modifiers: KeyModifiers::NONE,
                }),
                Input::Mouse(MouseEvent {
                    kind: MouseEventKind::ScrollDown,
                    column: 0,
                    row: 0,
                    modifiers: KeyModifiers::NONE,
                }),
            ]
        );
    }

    #[test]
    fn mouse_modifiers_read_like_key_modifiers() {
        let mut d = Decoder::default();
        // 16 control + 4 shift on a left click; 8 alt on the wheel; F2 in SS3 form.
        let out = d.feed(b"\x1b[<20;3;2M\x1b[<72;1;1M\x1bOQ");
        let mods: Vec<KeyModifiers> = out
            .iter()
            .filter_map(|i| match i {
                Input::Mouse(m) => Some(m.modifiers),
                Input::Key(_) => None,
            })
            .collect();
        assert_eq!(
            mods,
            [
                KeyModifiers::CONTROL | KeyModifiers::SHIFT,
                KeyModifiers::ALT
            ]
        );
        assert_eq!(codes(&out[2..]), [KeyCode::F(2)]);
    }
}
