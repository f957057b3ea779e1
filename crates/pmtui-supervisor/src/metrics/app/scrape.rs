//! The pull side: a task per run that GETs the app's `metrics_url` (Prometheus text) at
//! the metrics interval and records the kept series. HTTP/1.0 through the daemon's
//! `http_client` (so servers answer without chunking and close the connection): one
//! request at a time, each bounded by a timeout (the interval, at most 5 s) and by [`MAX_RESPONSE`]
//! bytes; an endpoint that hangs or sends too much is counted and dropped, never waited on
//! past its timeout. Failures in the run's first [`GRACE`] before any success are not
//! counted: the app is still starting.

use super::{AppHandle, Reason, lock, prometheus_text};
use crate::http_client::{self, Failure, Request};
use pmtui_proto::{AppMetricSource, HttpTarget, MAX_APP_SERIES, ProcessId};
use std::time::Duration;
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
    let request = Request {
        method: "GET",
        version: "HTTP/1.0",
        headers: &[
            ("User-Agent", "pmtui-metrics"),
            ("Accept", "text/plain;version=0.0.4"),
        ],
        body: "",
    };
    let mut stream = http_client::send(target, &request)
        .await
        .map_err(Failure::Other)?;
    let response = http_client::read_to_end(&mut stream, MAX_RESPONSE).await?;
    let body = http_client::ok_body(&response).map_err(Failure::Other)?;
    Ok(String::from_utf8_lossy(&body).into_owned())
}
