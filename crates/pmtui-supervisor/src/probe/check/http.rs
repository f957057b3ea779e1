//! The http probe: a plain HTTP/1.1 `GET` through the daemon's [`http_client`], healthy
//! when the status is expected (2xx/3xx unless configured). Only the status line is read;
//! the connection is closed after it.

use super::timed_out;
use crate::http_client::{self, Request};
use pmtui_proto::{HealthCheck, HttpTarget};
use std::time::Duration;

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
    let request = Request {
        method: "GET",
        version: "HTTP/1.1",
        headers: &[("User-Agent", "pmtui-health"), ("Accept", "*/*")],
        body: "",
    };
    let mut stream = http_client::send(target, &request).await?;
    http_client::read_status(&mut stream).await
}
