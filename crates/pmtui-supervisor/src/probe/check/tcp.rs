//! The tcp probe: healthy when a connection to host:port opens within the timeout.

use super::timed_out;
use pmtui_proto::HealthCheck;
use std::time::Duration;
use tokio::net::TcpStream;

pub(super) async fn probe(check: &HealthCheck, timeout: Duration) -> (bool, String) {
    let host = check.tcp_host();
    let port = check.port.unwrap_or(0);
    match tokio::time::timeout(timeout, TcpStream::connect((host, port))).await {
        Ok(Ok(_)) => (true, "connected".into()),
        Ok(Err(err)) => (false, crate::http_client::io_error(&err)),
        Err(_) => (false, timed_out(timeout)),
    }
}
