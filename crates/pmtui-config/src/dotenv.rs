//! dotenv files (`env_file`): `KEY=VALUE` lines, `export` allowed, `#` comments, single
//! quotes literal, double quotes with `\n`-style escapes. The file must be a regular file
//! of at most [`MAX_ENV_FILE_BYTES`]: `/dev/zero` is refused without being read, and a FIFO
//! without a writer never blocks.

use std::io::Read;
use std::path::Path;

/// The largest `env_file`.
pub const MAX_ENV_FILE_BYTES: u64 = 1024 * 1024;

/// The text of an env file, or why it cannot be used. Opened non-blocking (a FIFO opens at
/// once) and checked with `fstat` on the open file before anything is read from it.
pub fn read(path: &Path) -> Result<String, String> {
    use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags((nix::fcntl::OFlag::O_NONBLOCK | nix::fcntl::OFlag::O_NOCTTY).bits())
        .open(path)
        .map_err(|err| err.to_string())?;
    let meta = file.metadata().map_err(|err| err.to_string())?;
    let kind = meta.file_type();
    if !kind.is_file() {
        let what = if kind.is_dir() {
            "a directory"
        } else if kind.is_fifo() {
            "a FIFO"
        } else if kind.is_char_device() {
            "a character device"
        } else if kind.is_block_device() {
            "a block device"
        } else if kind.is_socket() {
            "a socket"
        } else {
            "not a regular file"
        };
        return Err(format!("it is {what}; an env file must be a regular file"));
    }
    if meta.len() > MAX_ENV_FILE_BYTES {
        return Err(format!(
            "it is {} bytes; the limit is {MAX_ENV_FILE_BYTES} bytes (1 MiB)",
            meta.len()
        ));
    }
    // The file may grow between fstat and read: never read more than the limit.
    let mut bytes = Vec::new();
    file.take(MAX_ENV_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|err| err.to_string())?;
    if bytes.len() as u64 > MAX_ENV_FILE_BYTES {
        return Err(format!(
            "it grew past the limit of {MAX_ENV_FILE_BYTES} bytes (1 MiB) while being read"
        ));
    }
    String::from_utf8(bytes).map_err(|_| "it is not UTF-8 text".to_string())
}

/// The variables in order, or the 1-based line of the first bad line and why.
pub fn parse(text: &str) -> Result<Vec<(String, String)>, (u32, String)> {
    let mut vars = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line_no = i as u32 + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line).trim_start();
        let Some((key, value)) = line.split_once('=') else {
            return Err((line_no, format!("expected KEY=VALUE, found {line:?}")));
        };
        let key = key.trim();
        if key.is_empty()
            || !key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        {
            return Err((line_no, format!("{key:?} is not a variable name")));
        }
        let value = value.trim();
        let value = if let Some(rest) = value.strip_prefix('\'') {
            rest.strip_suffix('\'')
                .ok_or((line_no, "unclosed ' quote".to_string()))?
                .to_string()
        } else if let Some(rest) = value.strip_prefix('"') {
            let inner = rest
                .strip_suffix('"')
                .ok_or((line_no, "unclosed \" quote".to_string()))?;
            unescape(inner)
        } else {
            // An unquoted value ends at " #".
            value
                .split_once(" #")
                .map_or(value, |(v, _)| v)
                .trim_end()
                .to_string()
        };
        vars.push((key.to_string(), value));
    }
    Ok(vars)
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('r') => out.push('\r'),
                Some(other) => out.push(other),
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotenv_lines() {
        let vars =
            parse("# c\nA=1\nexport B = 'x y'\nC=\"a\\nb\"\nD=plain # note\n\n").expect("parses");
        assert_eq!(
            vars,
            vec![
                ("A".into(), "1".into()),
                ("B".into(), "x y".into()),
                ("C".into(), "a\nb".into()),
                ("D".into(), "plain".into())
            ]
        );
        assert_eq!(parse("A=1\nnot a line\n").map_err(|e| e.0), Err(2));
    }
}
