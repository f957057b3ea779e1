//! The daemon's one HTTP/1.x client, written by hand (no client library for a request
//! line): the health probe's `GET`, the metrics scrape's `GET` and the webhook's `POST` all
//! connect, write and read through here. Probes and scrapes are plain `http://`
//! ([`HttpTarget::parse`] refuses `https://`); webhooks may be `https://`, over rustls
//! ([`tls`]). Every request says `Connection: close`, so a response ends when the server
//! closes. Timeouts stay with the callers: each says its own sentence.

mod tls;

use pmtui_proto::HttpTarget;
use std::path::Path;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

/// What a connection is: plain TCP, or TLS over it.
pub(crate) trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// An open connection, ready for the response once [`send`] wrote the request.
pub(crate) type Stream = Box<dyn Io>;

/// The most read while looking for the end of the status line.
const MAX_HEAD: usize = 4096;

/// One request: the `Host` line, `Content-Length` (when there is a body) and
/// `Connection: close` are added by [`send`].
pub(crate) struct Request<'a> {
    pub method: &'static str,
    /// `HTTP/1.1`, or `HTTP/1.0` so servers answer without chunking.
    pub version: &'static str,
    /// Written in this order, after `Host`.
    pub headers: &'a [(&'static str, &'a str)],
    pub body: &'a str,
}

/// Connects to `target` and writes `request`; the stream is ready for the response.
pub(crate) async fn send(target: &HttpTarget, request: &Request<'_>) -> Result<Stream, String> {
    send_trusting(target, request, None).await
}

/// [`send`], where an `https://` server's certificate may also come from the CA
/// certificates in `ca_file` (PEM).
pub(crate) async fn send_trusting(
    target: &HttpTarget,
    request: &Request<'_>,
    ca_file: Option<&Path>,
) -> Result<Stream, String> {
    use std::fmt::Write;
    let tcp = TcpStream::connect((target.host.as_str(), target.port))
        .await
        .map_err(|e| io_error(&e))?;
    let mut stream: Stream = if target.tls {
        Box::new(tls::connect(tcp, &target.host, ca_file).await?)
    } else {
        Box::new(tcp)
    };
    let mut text = format!("{} {} {}\r\n", request.method, target.path, request.version);
    if target.host.contains(':') {
        let _ = write!(text, "Host: [{}]:{}\r\n", target.host, target.port);
    } else {
        let _ = write!(text, "Host: {}:{}\r\n", target.host, target.port);
    }
    for (name, value) in request.headers {
        let _ = write!(text, "{name}: {value}\r\n");
    }
    if !request.body.is_empty() {
        let _ = write!(text, "Content-Length: {}\r\n", request.body.len());
    }
    text.push_str("Connection: close\r\n\r\n");
    text.push_str(request.body);
    stream
        .write_all(text.as_bytes())
        .await
        .map_err(|e| io_error(&e))?;
    // TLS holds written bytes until flushed.
    stream.flush().await.map_err(|e| io_error(&e))?;
    Ok(stream)
}

/// Reads the status line only (at most [`MAX_HEAD`] bytes) and returns its code.
pub(crate) async fn read_status(stream: &mut Stream) -> Result<u16, String> {
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

/// Why a whole response was not had.
pub(crate) enum Failure {
    /// Over the caller's bound.
    TooLarge,
    Other(String),
}

/// Reads the response to its end (the server closes), head included, at most `max` bytes.
pub(crate) async fn read_to_end(stream: &mut Stream, max: usize) -> Result<Vec<u8>, Failure> {
    let mut response = Vec::with_capacity(16 * 1024);
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = stream
            .read(&mut chunk)
            .await
            .map_err(|e| Failure::Other(io_error(&e)))?;
        if n == 0 {
            return Ok(response);
        }
        if response.len() + n > max {
            return Err(Failure::TooLarge);
        }
        response.extend_from_slice(&chunk[..n]);
    }
}

/// The body of a complete response, when its status is 2xx (de-chunked if need be);
/// otherwise `→ 503`, or why it is not a response.
pub(crate) fn ok_body(response: &[u8]) -> Result<Vec<u8>, String> {
    let split = memchr::memmem::find(response, b"\r\n\r\n")
        .map(|i| (i, i + 4))
        .or_else(|| memchr::memmem::find(response, b"\n\n").map(|i| (i, i + 2)))
        .ok_or("no complete HTTP response")?;
    let head = String::from_utf8_lossy(&response[..split.0]);
    let mut lines = head.lines();
    let status = lines.next().unwrap_or_default();
    let code = parse_status(status.as_bytes()).map_err(|_| "not an HTTP response")?;
    if !(200..300).contains(&code) {
        return Err(format!("→ {code}"));
    }
    let chunked = lines.any(|l| {
        l.split_once(':').is_some_and(|(k, v)| {
            k.trim().eq_ignore_ascii_case("transfer-encoding")
                && v.to_ascii_lowercase().contains("chunked")
        })
    });
    let raw = &response[split.1..];
    if chunked {
        dechunk(raw)
    } else {
        Ok(raw.to_vec())
    }
}

fn dechunk(mut raw: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(raw.len());
    loop {
        let end = memchr::memmem::find(raw, b"\r\n").ok_or("bad chunked body")?;
        let size_text = String::from_utf8_lossy(&raw[..end]);
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16).map_err(|_| "bad chunk size")?;
        raw = &raw[end + 2..];
        if size == 0 {
            return Ok(out);
        }
        let chunk = raw.get(..size).ok_or("truncated chunk")?;
        out.extend_from_slice(chunk);
        raw = raw.get(size + 2..).unwrap_or_default();
    }
}

/// `HTTP/1.1 503 Service Unavailable` → 503.
fn parse_status(line: &[u8]) -> Result<u16, String> {
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

    #[test]
    fn bodies_of_plain_and_chunked_answers() {
        let body = |r: &[u8]| ok_body(r).map(|b| String::from_utf8_lossy(&b).into_owned());
        assert_eq!(
            body(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nq 1\n").as_deref(),
            Ok("q 1\n")
        );
        assert_eq!(
            body(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nq 1\n\r\n3;x\r\nr 2\r\n0\r\n\r\n")
                .as_deref(),
            Ok("q 1\nr 2")
        );
        assert_eq!(body(b"HTTP/1.1 503 Busy\r\n\r\n"), Err("→ 503".to_string()));
        assert!(body(b"SSH-2.0\r\n\r\n").is_err());
        assert!(body(b"HTTP/1.0 200 OK\r\n").is_err());
    }

    /// The bytes on the wire, and the status read back, over a real socket.
    #[tokio::test]
    async fn a_post_is_written_and_its_status_read() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let server = tokio::spawn(async move {
            let (mut conn, _) = listener.accept().await.expect("accept");
            let mut got = Vec::new();
            let mut chunk = [0u8; 1024];
            while !got.ends_with(b"{}") {
                let n = conn.read(&mut chunk).await.expect("read");
                assert!(n > 0, "closed early: {:?}", String::from_utf8_lossy(&got));
                got.extend_from_slice(&chunk[..n]);
            }
            conn.write_all(b"HTTP/1.1 204 No Content\r\n\r\n")
                .await
                .expect("write");
            got
        });
        let target = HttpTarget::parse(&format!("http://127.0.0.1:{port}/x?y")).expect("url");
        let request = Request {
            method: "POST",
            version: "HTTP/1.1",
            headers: &[("User-Agent", "t"), ("Content-Type", "application/json")],
            body: "{}",
        };
        let mut stream = send(&target, &request).await.expect("send");
        assert_eq!(read_status(&mut stream).await, Ok(204));
        let wire = server.await.expect("server");
        assert_eq!(
            String::from_utf8_lossy(&wire),
            format!(
                "POST /x?y HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: t\r\n\
                 Content-Type: application/json\r\nContent-Length: 2\r\n\
                 Connection: close\r\n\r\n{{}}"
            )
        );
    }
}
