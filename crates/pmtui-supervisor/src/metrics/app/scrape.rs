//! The pull side: a task per run that GETs the app's `metrics_url` (Prometheus text) at
//! the metrics interval and records the kept series. HTTP/1.0 by hand, like the health
//! probe's (so servers answer without chunking and close the connection): one request at
//! a time, each bounded by a timeout (the interval, at most 5 s) and by [`MAX_RESPONSE`]
//! bytes; an endpoint that hangs or sends too much is counted and dropped, never waited on
//! past its timeout. Failures in the run's first [`GRACE`] before any success are not
//! counted: the app is still starting.

use super::{AppHandle, Reason, lock, prometheus_text};
use crate::probe::check::http::io_error;
use pmtui_proto::{AppMetricSource, HttpTarget, MAX_APP_SERIES, ProcessId};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

/// The most read of one response, head included.
pub const MAX_RESPONSE: usize = 1024 * 1024;
/// The longest wait for one scrape.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(5);
/// Failures not counted at the start of a run, until a scrape succeeds.
pub const GRACE: Duration = Duration::from_secs(10);

/// What the scraper of one run needs.
pub(crate) struct Scrape {
    pub id: ProcessId,
    pub url: String,
    pub keep: Vec<String>,
    pub interval: Duration,
    pub store: AppHandle,
}

enum Failure {
    TooLarge,
    Other(String),
}

/// Scrapes until the task is aborted (the run ended).
pub(crate) async fn run(scrape: Scrape) {
    let target = match HttpTarget::parse(&scrape.url) {
        Ok(target) => target,
        Err(why) => {
            lock(&scrape.store).dropped(Reason::ScrapeFailed, &why);
            return;
        }
    };
    let timeout = scrape
        .interval
        .min(MAX_TIMEOUT)
        .max(Duration::from_millis(100));
    let started = Instant::now();
    let mut succeeded = false;
    let mut ticks = tokio::time::interval(scrape.interval.max(Duration::from_millis(100)));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let result = match tokio::time::timeout(timeout, fetch(&target)).await {
            Ok(result) => result,
            Err(_) => Err(Failure::Other(format!(
                "timed out after {} ms",
                timeout.as_millis()
            ))),
        };
        match result {
            Ok(body) => {
                succeeded = true;
                let found = prometheus_text(
                    &body,
                    &scrape.keep,
                    pmtui_proto::app_metrics::DEFAULT_SCRAPE_KEEP.min(MAX_APP_SERIES),
                );
                let mut store = lock(&scrape.store);
                for (key, value, kind) in found.samples {
                    store.observe(&key, value, kind, AppMetricSource::Scrape);
                }
                for (reason, example) in found.bad {
                    store.dropped(reason, &example);
                }
            }
            Err(_) if !succeeded && started.elapsed() < GRACE => {}
            Err(Failure::TooLarge) => lock(&scrape.store).dropped(
                Reason::ScrapeTooLarge,
                &format!("{}: over {} bytes", scrape.url, MAX_RESPONSE),
            ),
            Err(Failure::Other(why)) => {
                tracing::debug!(id = scrape.id, url = %scrape.url, %why, "metrics scrape failed");
                lock(&scrape.store)
                    .dropped(Reason::ScrapeFailed, &format!("{}: {why}", scrape.url));
            }
        }
    }
}

/// One GET: the body of a 2xx answer.
async fn fetch(target: &HttpTarget) -> Result<String, Failure> {
    let fail = |e: std::io::Error| Failure::Other(io_error(&e));
    let mut stream = TcpStream::connect((target.host.as_str(), target.port))
        .await
        .map_err(fail)?;
    let host = if target.host.contains(':') {
        format!("[{}]:{}", target.host, target.port)
    } else {
        format!("{}:{}", target.host, target.port)
    };
    let request = format!(
        "GET {} HTTP/1.0\r\nHost: {host}\r\nUser-Agent: pmtui-metrics\r\n\
         Accept: text/plain;version=0.0.4\r\nConnection: close\r\n\r\n",
        target.path
    );
    stream.write_all(request.as_bytes()).await.map_err(fail)?;
    let mut response = Vec::with_capacity(16 * 1024);
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = stream.read(&mut chunk).await.map_err(fail)?;
        if n == 0 {
            break;
        }
        if response.len() + n > MAX_RESPONSE {
            return Err(Failure::TooLarge);
        }
        response.extend_from_slice(&chunk[..n]);
    }
    body(&response).map_err(Failure::Other)
}

/// The body of a complete response, when its status is 2xx (de-chunked if need be).
fn body(response: &[u8]) -> Result<String, String> {
    let split = memchr::memmem::find(response, b"\r\n\r\n")
        .map(|i| (i, i + 4))
        .or_else(|| memchr::memmem::find(response, b"\n\n").map(|i| (i, i + 2)))
        .ok_or("no complete HTTP response")?;
    let head = String::from_utf8_lossy(&response[..split.0]);
    let mut lines = head.lines();
    let status = lines.next().unwrap_or_default();
    let mut words = status.split_ascii_whitespace();
    let code = match (words.next(), words.next()) {
        (Some(v), Some(code)) if v.starts_with("HTTP/") => code.parse::<u16>().ok(),
        _ => None,
    }
    .ok_or_else(|| "not an HTTP response".to_string())?;
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
    let bytes = if chunked { dechunk(raw)? } else { raw.to_vec() };
    Ok(String::from_utf8_lossy(&bytes).into_owned())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_of_plain_and_chunked_answers() {
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
}
