//! The optional Prometheus endpoint: `GET /metrics` over plain HTTP/1.1 on `metrics_addr`
//! (off by default; a bare port means 127.0.0.1). A small hand-written responder: one request
//! per connection, the head read with a size cap and a timeout, then `Connection: close`.

use pmtui_supervisor::Supervisor;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const MAX_HEAD: usize = 8 * 1024;
const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// Parses `metrics_addr`: `host:port`, `[v6]:port`, or a bare port (then 127.0.0.1).
pub fn parse_addr(value: &str) -> Result<SocketAddr, String> {
    let value = value.trim();
    if let Ok(port) = value.parse::<u16>() {
        return Ok(SocketAddr::from(([127, 0, 0, 1], port)));
    }
    value.parse::<SocketAddr>().map_err(|_| {
        format!("metrics_addr {value:?} is not an address: write a port (9209) or host:port (127.0.0.1:9209)")
    })
}

/// Binds the endpoint; the caller logs a failure and the daemon runs on without it.
pub async fn bind(value: &str) -> Result<TcpListener, String> {
    let addr = parse_addr(value)?;
    TcpListener::bind(addr)
        .await
        .map_err(|err| format!("cannot serve metrics on {addr}: {err}"))
}

/// Serves until the runtime ends.
pub async fn serve(listener: TcpListener, supervisor: Supervisor) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            // Out of fds and the like: wait a little rather than spin.
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        tokio::spawn(answer(stream, supervisor.clone()));
    }
}

async fn answer(mut stream: TcpStream, supervisor: Supervisor) {
    let head = match tokio::time::timeout(READ_TIMEOUT, read_head(&mut stream)).await {
        Ok(Some(head)) => head,
        _ => return,
    };
    let mut parts = head.lines().next().unwrap_or("").split(' ');
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    let (status, content_type, body) = match (method, path) {
        ("GET" | "HEAD", "/metrics") => match supervisor.metrics(&[], false) {
            Ok(snapshot) => (
                "200 OK",
                pmtui_proto::prometheus::CONTENT_TYPE,
                pmtui_proto::prometheus::render(snapshot.host.as_ref(), &snapshot.processes),
            ),
            Err(err) => (
                "500 Internal Server Error",
                "text/plain",
                format!("{err}\n"),
            ),
        },
        ("GET" | "HEAD", _) => ("404 Not Found", "text/plain", "try /metrics\n".into()),
        _ => (
            "405 Method Not Allowed",
            "text/plain",
            "only GET /metrics\n".into(),
        ),
    };
    let mut response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    if method != "HEAD" {
        response.push_str(&body);
    }
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// Reads up to the blank line that ends the request head; `None` if it never comes.
async fn read_head(stream: &mut TcpStream) -> Option<String> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if buf.windows(4).any(|w| w == b"\r\n\r\n") || buf.windows(2).any(|w| w == b"\n\n") {
            return Some(String::from_utf8_lossy(&buf).into_owned());
        }
        if buf.len() > MAX_HEAD {
            return None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_port_means_loopback() {
        assert_eq!(
            parse_addr("9209"),
            Ok(SocketAddr::from(([127, 0, 0, 1], 9209)))
        );
        assert_eq!(
            parse_addr("0.0.0.0:80"),
            Ok(SocketAddr::from(([0, 0, 0, 0], 80)))
        );
        assert!(parse_addr("[::1]:9209").is_ok());
        assert!(parse_addr("localhost:x").is_err());
    }
}
