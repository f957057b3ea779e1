//! Compact JSON re-indented, byte for byte as `serde_json::to_string_pretty` prints the
//! value it holds: how `ls --json` and `describe --json` print the daemon's JSON without
//! decoding it into types and encoding it again (see pmtui-client's `raw.rs`).
//!
//! The input is serde_json's compact output, whose numbers, strings and escapes are the
//! pretty printer's too, so only the space between tokens differs: a newline and two spaces
//! per level after `[`, `{` and `,`, before a closing `]` or `}` of a non-empty container,
//! and `": "` between a key and its value. Empty containers stay `[]` and `{}`.

/// `compact` re-indented; `None` when it is not one well-nested JSON value (the caller
/// then decodes it the long way, which reports what is wrong).
pub fn reindent(compact: &[u8]) -> Option<Vec<u8>> {
    // Pretty output of rows like `ls`'s is about 1.3 times the compact size.
    let mut out = Vec::with_capacity(compact.len() + compact.len() / 2 + 16);
    // The open containers, innermost last.
    let mut open: Vec<u8> = Vec::with_capacity(8);
    // `compact[..copied]` is in `out`: bytes are copied in runs, up to where something is
    // inserted (indentation, the space after a colon) or dropped (whitespace).
    let mut copied = 0;
    let mut i = 0;
    while let Some(&byte) = compact.get(i) {
        if !SPECIAL[usize::from(byte)] {
            i += 1;
            continue;
        }
        match byte {
            b'"' => {
                i = string_end(compact, i)?;
                continue;
            }
            b'[' | b'{' => {
                let close = if byte == b'[' { b']' } else { b'}' };
                if compact.get(i + 1) == Some(&close) {
                    // Empty: `[]` and `{}` as they are.
                    i += 2;
                    continue;
                }
                out.extend_from_slice(&compact[copied..=i]);
                open.push(close);
                newline(&mut out, open.len());
            }
            b']' | b'}' => {
                if open.pop() != Some(byte) {
                    return None;
                }
                out.extend_from_slice(&compact[copied..i]);
                newline(&mut out, open.len());
                out.push(byte);
            }
            b',' => {
                open.last()?;
                out.extend_from_slice(&compact[copied..=i]);
                newline(&mut out, open.len());
            }
            b':' => {
                if open.last() != Some(&b'}') {
                    return None;
                }
                out.extend_from_slice(&compact[copied..=i]);
                out.push(b' ');
            }
            // Whitespace between tokens (serde's compact output has none): dropped.
            _ => out.extend_from_slice(&compact[copied..i]),
        }
        i += 1;
        copied = i;
    }
    out.extend_from_slice(&compact[copied..]);
    open.is_empty().then_some(out)
}

/// The bytes that need a look: structure, string quotes and whitespace.
const SPECIAL: [bool; 256] = {
    let mut table = [false; 256];
    let special = b"\"[]{},: \n\r\t";
    let mut i = 0;
    while i < special.len() {
        table[special[i] as usize] = true;
        i += 1;
    }
    table
};

const SPACES: &[u8] = &[b' '; 64];

fn newline(out: &mut Vec<u8>, depth: usize) {
    out.push(b'\n');
    let mut left = 2 * depth;
    while left > 0 {
        let n = left.min(SPACES.len());
        out.extend_from_slice(&SPACES[..n]);
        left -= n;
    }
}

/// The index just past the string that opens at `start`.
fn string_end(bytes: &[u8], start: usize) -> Option<usize> {
    let mut i = start + 1;
    loop {
        match *bytes.get(i)? {
            b'"' => return Some(i + 1),
            // An escape is two bytes (`\uXXXX` continues with plain hex digits).
            b'\\' => i += 2,
            _ => i += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn same_as_serde(value: &serde_json::Value) {
        let compact = serde_json::to_vec(value).expect("encodes");
        let pretty = serde_json::to_string_pretty(value).expect("encodes");
        let ours = reindent(&compact).expect("well-nested");
        assert_eq!(String::from_utf8(ours).expect("utf8"), pretty);
    }

    #[test]
    fn prints_what_serde_pretty_prints() {
        same_as_serde(&json!([]));
        same_as_serde(&json!({}));
        same_as_serde(&json!([[], {}, [[]], {"a": {}}]));
        same_as_serde(&json!(null));
        same_as_serde(&json!(
            "a \"quoted\" \\ string, with: [brackets] {and} \u{1} é 🦀"
        ));
        same_as_serde(&json!([{
            "id": 0,
            "name": "web\\",
            "cpu": 1.25,
            "memory": 18_446_744_073_709_551_615_u64,
            "neg": -3.5e-7,
            "pid": null,
            "ok": true,
            "sockets": [],
            "watch": false,
            "env": {"A": "1", "B": "x\"y", "": ""},
            "nested": [[1, 2], [{"k": [3]}]],
        }]));
    }

    #[test]
    fn prints_a_process_row_as_the_typed_path_did() {
        let row: pmtui_proto::ProcessInfo = serde_json::from_value(json!({
            "id": 3, "name": "api", "namespace": "default", "instance": 0,
            "status": "online", "pid": 42, "restarts": 1, "unstable_restarts": 0,
            "uptime_ms": 1000, "cpu": 0.5, "memory": 1024, "exit_code": null,
            "exit_signal": null, "created_at": 1, "started_at": 2, "next_restart_at": null,
            "status_reason": null, "command": "sleep 1", "watch": ["src"],
        }))
        .expect("a row");
        let rows = vec![row.clone(), row];
        let compact = serde_json::to_vec(&rows).expect("encodes");
        let ours = reindent(&compact).expect("well-nested");
        let typed = serde_json::to_string_pretty(&rows).expect("encodes");
        assert_eq!(String::from_utf8(ours).expect("utf8"), typed);
    }

    #[test]
    fn drops_whitespace_between_tokens() {
        let ours = reindent(b" [ 1 ,\n{\"a b\" :\t\"c d\"} ] ").expect("well-nested");
        let pretty = serde_json::to_string_pretty(&json!([1, {"a b": "c d"}])).expect("encodes");
        assert_eq!(String::from_utf8(ours).expect("utf8"), pretty);
    }

    #[test]
    fn refuses_what_is_not_one_well_nested_value() {
        for bad in [&b"["[..], b"]", b"[}", b"{\"a\"", b"[1]]", b"1,2", b"[1:2]"] {
            assert_eq!(reindent(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }
}
