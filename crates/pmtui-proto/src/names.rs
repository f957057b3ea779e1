//! Process names: what a name (and a namespace) may be, and the file name stem every file
//! of a process is derived from (`logs/<stem>-out.log`, `pids/<stem>-<id>.pid`,
//! `processes/<stem>.json`, …).
//!
//! The stem is injective over valid names, so two processes never share a file: ordinary
//! names (ASCII letters, digits, `.`, `-`, `_`, not starting with `.`) are their own stem,
//! as pm2 users expect; in any other name each byte outside that set (and a leading `.`)
//! is written `%XX`, so `co l`, `co_l` and `co/l` give `co%20l`, `co_l` and `co%2Fl`.
//!
//! Limits, chosen so that the longest derived name (`<stem>-<id>-out.log.rotating.<gen>`,
//! at most 49 bytes after the stem) stays under `NAME_MAX` (255 bytes on Linux and macOS):
//! a name is at most [`MAX_NAME_BYTES`] bytes and its stem at most [`MAX_STEM_BYTES`].

use std::borrow::Cow;
use std::fmt::Write as _;

/// The longest name, in bytes of UTF-8.
pub const MAX_NAME_BYTES: usize = 128;
/// The longest file name stem, in bytes (each byte written `%XX` counts three).
pub const MAX_STEM_BYTES: usize = 192;
/// The longest namespace, in bytes of UTF-8 (namespaces are not part of file names).
pub const MAX_NAMESPACE_BYTES: usize = 128;

/// Bytes that stand for themselves in a stem.
fn plain(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_')
}

/// The file name stem of `name`: the name itself when it is ordinary, else `%XX`-escaped
/// (see the module). Total: a name over the limits (one restored from an old record) gets
/// a shortened escaped prefix, `~` and a 64-bit hash of the whole name, a form no valid
/// name's stem can take (`~` is always escaped).
pub fn file_stem(name: &str) -> String {
    let mut stem = String::with_capacity(name.len());
    for (i, b) in name.bytes().enumerate() {
        if plain(b) && !(i == 0 && b == b'.') {
            stem.push(char::from(b));
        } else {
            let _ = write!(stem, "%{b:02X}");
        }
    }
    if stem.is_empty() {
        // Never a valid name; keeps `processes/.json` and `logs/-out.log` away.
        stem.push_str("%00");
    }
    if name.len() <= MAX_NAME_BYTES && stem.len() <= MAX_STEM_BYTES {
        return stem;
    }
    let mut cut = stem.len().min(MAX_STEM_BYTES - 17);
    // Never cut inside a `%XX`.
    while stem.as_bytes()[..cut]
        .iter()
        .rev()
        .take(2)
        .any(|&b| b == b'%')
    {
        cut -= 1;
    }
    stem.truncate(cut);
    let _ = write!(stem, "~{:016x}", fnv1a64(name.as_bytes()));
    stem
}

fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        hash = (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// Why a name or namespace is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("a process needs a name")]
    Empty,
    #[error(
        "{what} {shown} contains the control character {ch}; names may not hold control characters (escape, newline, tab, …)",
        shown = quoted(.value),
        ch = escape_char(*.ch)
    )]
    Control {
        what: &'static str,
        value: String,
        ch: char,
    },
    #[error("{what} {shown} is {len} bytes long; the limit is {max} bytes", shown = quoted(&shorten(.value)))]
    TooLong {
        what: &'static str,
        value: String,
        len: usize,
        max: usize,
    },
    #[error(
        "name {shown} is {len} bytes long as a file name (each byte other than letters, digits, `.`, `-` and `_` is written %XX); the limit is {max}",
        shown = quoted(&shorten(.value))
    )]
    StemTooLong {
        value: String,
        len: usize,
        max: usize,
    },
}

/// Checks a process name: not empty, no control character, within the length limits.
pub fn check_name(name: &str) -> Result<(), NameError> {
    if name.trim().is_empty() {
        return Err(NameError::Empty);
    }
    check_text("name", name, MAX_NAME_BYTES)?;
    let len = escaped_len(name);
    if len > MAX_STEM_BYTES {
        return Err(NameError::StemTooLong {
            value: name.to_string(),
            len,
            max: MAX_STEM_BYTES,
        });
    }
    Ok(())
}

/// Checks a namespace: no control character, within [`MAX_NAMESPACE_BYTES`].
pub fn check_namespace(namespace: &str) -> Result<(), NameError> {
    check_text("namespace", namespace, MAX_NAMESPACE_BYTES)
}

fn check_text(what: &'static str, value: &str, max: usize) -> Result<(), NameError> {
    if let Some(ch) = value.chars().find(|&c| is_control(c)) {
        return Err(NameError::Control {
            what,
            value: value.to_string(),
            ch,
        });
    }
    if value.len() > max {
        return Err(NameError::TooLong {
            what,
            value: value.to_string(),
            len: value.len(),
            max,
        });
    }
    Ok(())
}

fn escaped_len(name: &str) -> usize {
    name.bytes()
        .enumerate()
        .map(|(i, b)| {
            if plain(b) && !(i == 0 && b == b'.') {
                1
            } else {
                3
            }
        })
        .sum()
}

/// Characters that change what a terminal shows rather than being shown: C0 and C1
/// controls, DEL, the line and paragraph separators, and the bidirectional overrides and
/// isolates (which reorder the text around them).
pub fn is_control(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}'
        )
}

/// `text` with every control character (see [`is_control`]) written as an escape (`\e`,
/// `\n`, `\x07`, `\u{202e}`), for printing text that came from a file, a record or a
/// child on a terminal. Borrowed when there is nothing to escape.
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_control(c) {
            out.push_str(&escape_char(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

fn escape_char(c: char) -> String {
    match c {
        '\n' => "\\n".into(),
        '\r' => "\\r".into(),
        '\t' => "\\t".into(),
        '\x1b' => "\\e".into(),
        c if (c as u32) < 0x100 => format!("\\x{:02x}", c as u32),
        c => format!("\\u{{{:x}}}", c as u32),
    }
}

fn quoted(value: &str) -> String {
    format!("\"{}\"", printable(value))
}

/// The first 40 characters of a long value, for error messages.
fn shorten(value: &str) -> String {
    match value.char_indices().nth(40) {
        Some((i, _)) => format!("{}…", &value[..i]),
        None => value.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_names_are_their_own_stem() {
        for name in ["api", "api-2.v1_x", "Web_1", "a..b", "-x"] {
            assert_eq!(file_stem(name), name);
        }
    }

    #[test]
    fn names_that_used_to_share_a_file_get_their_own() {
        let stems: Vec<String> = ["co l", "co_l", "co/l", "co%20l", ".x", "%2Ex", "café"]
            .iter()
            .map(|n| file_stem(n))
            .collect();
        assert_eq!(
            stems,
            [
                "co%20l",
                "co_l",
                "co%2Fl",
                "co%2520l",
                "%2Ex",
                "%252Ex",
                "caf%C3%A9"
            ]
        );
        // The escaped forms never hold a path separator or start with a dot.
        for name in [".", "..", "../x", "a/b"] {
            let stem = file_stem(name);
            assert!(!stem.contains('/') && !stem.starts_with('.'), "{stem}");
        }
    }

    #[test]
    fn stems_of_valid_names_are_injective_and_short_enough() {
        let mut samples: Vec<String> = [
            "a", "a b", "a_b", "a/b", "a%2Fb", "A", "~", "%7E", "é", "e\u{301}",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        samples.extend(["x".repeat(128), "é".repeat(32), "/".repeat(64)]);
        let mut seen = std::collections::HashSet::new();
        for name in samples {
            assert!(check_name(&name).is_ok(), "{name:?} is valid");
            let stem = file_stem(&name);
            assert!(stem.len() <= MAX_STEM_BYTES, "{name:?}");
            assert!(seen.insert(stem), "{name:?} shares its stem");
        }
        // The longest derived file name fits NAME_MAX.
        let longest = format!(
            "{}-{}-out.log.rotating.{}",
            file_stem(&"/".repeat(64)),
            u32::MAX,
            u64::MAX
        );
        assert!(longest.len() <= 255, "{}", longest.len());
    }

    #[test]
    fn names_over_the_limits_are_refused_but_still_get_a_bounded_stem() {
        let long = "x".repeat(MAX_NAME_BYTES + 1);
        assert!(matches!(
            check_name(&long),
            Err(NameError::TooLong { len: 129, .. })
        ));
        let wide = "/".repeat(65);
        let err = check_name(&wide).expect_err("195 bytes as a file name");
        assert!(
            err.to_string().contains("195 bytes long as a file name"),
            "{err}"
        );
        for name in [long, wide, "é".repeat(64)] {
            let stem = file_stem(&name);
            assert!(stem.len() <= MAX_STEM_BYTES && stem.contains('~'), "{stem}");
            assert_ne!(stem, file_stem(&format!("{name}y")));
        }
    }

    #[test]
    fn control_characters_are_refused_and_shown_escaped() {
        let err = check_name("a\x1b[31mb").expect_err("escape");
        assert_eq!(
            err.to_string(),
            "name \"a\\e[31mb\" contains the control character \\e; names may not hold control characters (escape, newline, tab, …)"
        );
        assert!(check_name("a\nb").is_err());
        assert!(check_name("a\u{202e}b").is_err());
        assert!(check_name("a\u{85}b").is_err());
        assert!(check_namespace("ns\t").is_err());
        assert!(check_namespace("").is_ok());
        assert_eq!(check_name("  "), Err(NameError::Empty));
        assert_eq!(printable("ok"), "ok");
        assert_eq!(printable("a\x1b]0;t\x07\r\n"), "a\\e]0;t\\x07\\r\\n");
        assert_eq!(printable("\u{202e}x"), "\\u{202e}x");
    }
}
