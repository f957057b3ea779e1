//! The http probe: a plain HTTP/1.1 `GET` written by hand (no client library for one
//! request line), healthy when the status is expected (2xx/3xx unless configured). Only the
//! status line is read, at most [`MAX_HEAD`] bytes; the connection is closed after it.

use super::timed_out;
use pmtui_proto::{HealthCheck, HttpTarget};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The most read while looking for the end of the status line.
const MAX_HEAD: usize = 4096;

pub(super) async fn probe(check: &HealthCheck, timeout: Duration) -> (bool, String) {
    let target = match check.url.as_deref().map(HttpTarget::parse) {
        Some(Ok(target)) => target,
        Some(Err(why)) => return (false, why),
        None => return (false, "no url".into()),
    };
    match tokio::time::timeout(timeout, status(&target)).await {
        Ok(Ok(code)) => (check.status_passes(code), format!("→ {code}")),
        Ok(Err(why)) => (false, why),
        Err(_) => (false, timed_out(timeout)),
    }
}

/// Sends the request and reads the status code.
async fn status(target: &HttpTarget) -> Result<u16, String> {
    let mut stream = TcpStream::connect((target.host.as_str(), target.port))
        .await
        .map_err(|e| io_error(&e))?;
    let host = if target.host.contains(':') {
        format!("[{}]:{}", target.host, target.port)
    } else {
        format!("{}:{}", target.host, target.port)
    };
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: pmtui-health\r\nAccept: */*\r\n\
         Connection: close\r\n\r\n",
        target.path
    );
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| io_error(&e))?;
    let mut head = Vec::with_capacity(256);
    let mut chunk = [0u8; 512];
    loop {
        if let Some(end) = memchr::memchr(b'\n', &head) {
            return parse_status(&head[..end]);
        }
        if head.len() >= MAX_HEAD {
            return Err("no HTTP status line in the first 4 KiB".into());
        }
        let n = stream.read(&mut chunk).await.map_err(|e| io_error(&e))?;
        if n == 0 {
            return Err(if head.is_empty() {
                "connection closed without a response".into()
            } else {
                "connection closed in the status line".into()
            });
        }
        head.extend_from_slice(&chunk[..n]);
    }
}

/// `HTTP/1.1 503 Service Unavailable` → 503.
pub(crate) fn parse_status(line: &[u8]) -> Result<u16, String> {
    let text = String::from_utf8_lossy(line);
    let mut words = text.split_ascii_whitespace();
    match (words.next(), words.next()) {
        (Some(version), Some(code)) if version.starts_with("HTTP/") => code
            .parse::<u16>()
            .ok()
            .filter(|c| (100..=999).contains(c))
            .ok_or_else(|| format!("bad status line {:?}", text.trim())),
        _ => Err(format!("not an HTTP response: {:?}", text.trim())),
    }
}

/// An I/O error in a few words: `connection refused`, not `Connection refused (os error
/// 111)`.
pub(crate) fn io_error(err: &std::io::Error) -> String {
    use std::io::ErrorKind;
    match err.kind() {
        ErrorKind::ConnectionRefused => "connection refused".into(),
        ErrorKind::ConnectionReset => "connection reset".into(),
        ErrorKind::ConnectionAborted => "connection aborted".into(),
        _ => {
            let text = err.to_string();
            match text.find(" (os error") {
                Some(i) => text[..i].to_lowercase(),
                None => text,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines_parse() {
        assert_eq!(parse_status(b"HTTP/1.1 503 Service Unavailable\r"), Ok(503));
        assert_eq!(parse_status(b"HTTP/1.0 200"), Ok(200));
        assert!(parse_status(b"SSH-2.0-OpenSSH").is_err());
        assert!(parse_status(b"HTTP/1.1 abc").is_err());
        assert!(parse_status(b"HTTP/1.1 42 nope").is_err());
    }
}
