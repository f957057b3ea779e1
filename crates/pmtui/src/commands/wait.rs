//! `pmtui start <file>` waits until every app it started is ready (by the one definition:
//! first passing probe, else the `wait_ready` signal, else started) or failed, and says
//! which and why. Those whose row says ready already are settled from one `ls`; the daemon
//! does the rest of the waiting (`Request::WaitReady`, one per process, all in flight
//! together); a line is printed as each settles. On a terminal a progress line
//! below them shows what is still awaited and why (`waiting for db (ready)`), refreshed
//! from `ls`; elsewhere only the plain lines are printed.

use crate::output;
use anyhow::Result;
use pmtui_client::Client;
use pmtui_proto::{ProcessId, ProcessInfo, ProcessStatus, Readiness, Request, Response};
use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// How one process's wait ended.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Settled {
    pub id: ProcessId,
    pub name: String,
    /// `ready`, `timeout` or `failed`.
    pub outcome: String,
    pub reason: Option<String>,
    pub seconds: f64,
}

impl Settled {
    pub fn ok(&self) -> bool {
        self.outcome == "ready"
    }
}

/// Waits in flight at once on the connection.
const IN_FLIGHT: usize = 16;

/// How often the progress line is refreshed.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);

/// Waits for `apps`; prints a line per app as it settles unless `quiet` (JSON output).
pub async fn until_ready(client: &Client, apps: &[ProcessInfo], quiet: bool) -> Vec<Settled> {
    let started = Instant::now();
    // A task (`schedule`) is settled once it is scheduled: it runs at its firings, and
    // waiting for it to be ready would wait for the next firing or for ever.
    let names: BTreeMap<ProcessId, String> = apps
        .iter()
        .filter(|p| p.status != ProcessStatus::Scheduled)
        .map(|p| (p.id, p.name.clone()))
        .collect();
    let (tx, mut rx) = mpsc::unbounded_channel::<Settled>();
    // One `ls` first: a process whose row already says ready is settled as its wait would
    // settle at once (the row and the waiters read the same phase), so a file of 1,000
    // plain apps costs one request here rather than a thousand round trips.
    let ready_now = already_ready(client, &names).await;
    for (id, name) in names.iter().filter(|(id, _)| ready_now.contains(id)) {
        let _ = tx.send(Settled {
            id: *id,
            name: name.clone(),
            outcome: "ready".into(),
            reason: None,
            seconds: started.elapsed().as_secs_f64(),
        });
    }
    let jobs: Vec<_> = names
        .iter()
        .filter(|(id, _)| !ready_now.contains(id))
        .map(|(id, name)| (*id, name.clone(), tx.clone()))
        .collect();
    let waits = jobs.into_iter().map(|(id, name, tx)| async move {
        let request = client.call(Request::WaitReady {
            id,
            timeout_ms: None,
        });
        let (outcome, reason) = match request.await {
            Ok(Response::Readiness {
                outcome, reason, ..
            }) => (outcome, reason),
            Ok(Response::Error { message, .. }) => ("failed".into(), Some(message)),
            Ok(_) => ("failed".into(), Some("unexpected reply".into())),
            Err(err) => ("failed".into(), Some(err.to_string())),
        };
        let _ = tx.send(Settled {
            id,
            name,
            outcome,
            reason,
            seconds: started.elapsed().as_secs_f64(),
        });
    });
    drop(tx);
    // A connection has a few dozen requests answered at a time (the daemon's limit); the
    // rest wait their turn, leaving room for the client's liveness ping and `ls`.
    let all = futures_util::StreamExt::for_each(
        futures_util::StreamExt::buffer_unordered(futures_util::stream::iter(waits), IN_FLIGHT),
        |()| async {},
    );
    tokio::pin!(all);
    let progress = !quiet && std::io::stdout().is_terminal();
    let mut tick = tokio::time::interval(PROGRESS_EVERY);
    let mut rows: Vec<ProcessInfo> = Vec::new();
    let mut done: Vec<Settled> = Vec::new();
    let mut shown = false;
    let mut all_sent = false;
    loop {
        tokio::select! {
            settled = rx.recv() => {
                let Some(settled) = settled else { break };
                if progress && shown {
                    clear_line();
                }
                if !quiet {
                    println!("{}", line(&settled));
                }
                done.push(settled);
                shown = false;
            }
            _ = &mut all, if !all_sent => all_sent = true,
            _ = tick.tick(), if progress => {
                if let Ok(Response::Processes { processes }) = client.call(Request::List).await {
                    rows = processes;
                }
                let pending: Vec<String> = names
                    .iter()
                    .filter(|(id, _)| !done.iter().any(|d| d.id == **id))
                    .map(|(id, name)| pending_text(*id, name, &rows))
                    .collect();
                if !pending.is_empty() {
                    print!(
                        "\r\x1b[K{} {} of {} ({:.0} s): {}",
                        output::bold("waiting for"),
                        pending.len(),
                        names.len(),
                        started.elapsed().as_secs_f64(),
                        pending.join(", ")
                    );
                    let _ = std::io::stdout().flush();
                    shown = true;
                }
            }
        }
    }
    if progress && shown {
        clear_line();
    }
    done.sort_by_key(|s| s.id);
    done
}

/// Those of `names` whose run is ready now, by one `ls` (none when it fails: each is then
/// waited for).
async fn already_ready(
    client: &Client,
    names: &BTreeMap<ProcessId, String>,
) -> std::collections::BTreeSet<ProcessId> {
    let Ok(Response::Processes { processes }) = client.call(Request::List).await else {
        return Default::default();
    };
    processes
        .into_iter()
        .filter(|p| names.contains_key(&p.id) && p.readiness == Some(Readiness::Ready))
        .map(|p| p.id)
        .collect()
}

/// What the progress line says of an app not settled yet.
fn pending_text(id: ProcessId, name: &str, rows: &[ProcessInfo]) -> String {
    let name = output::safe(name);
    let Some(row) = rows.iter().find(|p| p.id == id) else {
        return name.into_owned();
    };
    let what = match (&row.status_reason, row.readiness) {
        (Some(reason), _) => output::safe(reason).into_owned(),
        (None, Some(Readiness::Pending)) => match &row.last_probe {
            Some(probe) if !probe.ok => format!("probe failed: {}", output::safe(&probe.message)),
            _ => "not ready yet".into(),
        },
        (None, _) => row.status.to_string(),
    };
    format!("{name} ({what})")
}

fn line(s: &Settled) -> String {
    let name = output::safe(&s.name);
    match s.outcome.as_str() {
        "ready" => format!(
            "{} {name} (id {}) after {:.1} s",
            output::status_word("ready", "32"),
            s.id,
            s.seconds
        ),
        other => format!(
            "{} {name} (id {}): {}",
            output::status_word(
                if other == "timeout" {
                    "not ready"
                } else {
                    "failed"
                },
                "31"
            ),
            s.id,
            output::safe(s.reason.as_deref().unwrap_or("no reason given"))
        ),
    }
}

fn clear_line() {
    print!("\r\x1b[K");
    let _ = std::io::stdout().flush();
}

/// `Ok` when every app is ready, else the error that names those that are not.
pub fn verdict(settled: &[Settled]) -> Result<()> {
    let bad: Vec<String> = settled
        .iter()
        .filter(|s| !s.ok())
        .map(|s| {
            format!(
                "{} (id {}): {}",
                s.name,
                s.id,
                s.reason.as_deref().unwrap_or(&s.outcome)
            )
        })
        .collect();
    if bad.is_empty() {
        return Ok(());
    }
    anyhow::bail!(
        "{} of {} did not become ready:\n  {}\n(`pmtui describe <name>` and `pmtui logs <name>` tell more; `--no-wait` does not wait)",
        bad.len(),
        pmtui_proto::plural(settled.len(), "app", "apps"),
        bad.join("\n  ")
    )
}
