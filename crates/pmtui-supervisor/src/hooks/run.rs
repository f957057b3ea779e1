//! Running hooks, off the supervision path: one runner task takes waiting events and runs
//! their hooks, at most `MAX_RUNNING` at once, each bounded by its timeout. A command is
//! `sh -c` (through the reaper, like every child of the daemon) with the event as one JSON
//! line on stdin and `PMTUI_*` variables; at its timeout its whole tree is killed, and
//! when it ends whatever it left running (found by its `PMTUI_JOB` marker) is killed. A
//! webhook is an HTTP/1.1 POST of the event JSON through the daemon's `http_client`
//! (`http://`, or `https://` over rustls with the hook's `ca_file` trusted besides the
//! built-in roots). Failures go to daemon.log and the process's `hook_failures`.

use super::{MAX_RUNNING, Pending};
use crate::config::MARKER_VAR;
use crate::supervisor::Shared;
use crate::{http_client, spawn, tree};
use pmtui_proto::{AppEvent, Hook, HttpTarget};
use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{Semaphore, mpsc};

/// How long a killed hook's exit is waited for.
const KILL_GRACE: Duration = Duration::from_secs(5);
/// Hooks run since the daemon started: each gets its own marker.
static HOOK_RUNS: AtomicU64 = AtomicU64::new(0);
/// Stderr kept from a hook, for its failure message.
const MAX_STDERR: usize = 2048;

/// Whether a webhook URL can be used: `http://` or `https://`.
pub(super) fn check_url(url: &str) -> Result<(), String> {
    HttpTarget::parse_any(url).map(|_| ())
}

/// Starts the runner; it ends when the supervisor is gone.
pub(crate) fn start(shared: &Arc<Shared>, rx: mpsc::Receiver<Pending>) {
    tokio::spawn(runner(Arc::downgrade(shared), rx));
}

async fn runner(shared: Weak<Shared>, mut rx: mpsc::Receiver<Pending>) {
    let slots = Arc::new(Semaphore::new(MAX_RUNNING));
    while let Some(pending) = rx.recv().await {
        for (hook, cwd, global) in pending.hooks {
            let Ok(permit) = Arc::clone(&slots).acquire_owned().await else {
                return;
            };
            let Some(strong) = shared.upgrade() else {
                return;
            };
            let event = pending.event.clone();
            tokio::spawn(async move {
                let result = run_one(&strong, &hook, &cwd, &event).await;
                drop(permit);
                let scope = if global { "global hook" } else { "hook" };
                match result {
                    Ok(()) => {
                        tracing::debug!(event = %event.event, name = %event.name, "{scope} ran")
                    }
                    Err(why) => {
                        let text =
                            format!("{scope} {} for {}: {why}", event.event, hook.describe());
                        tracing::warn!(id = event.id, name = %event.name, "{text}");
                        strong.note_hook_failure(event.id, text);
                    }
                }
            });
        }
    }
}

async fn run_one(shared: &Shared, hook: &Hook, cwd: &Path, event: &AppEvent) -> Result<(), String> {
    let timeout = Duration::from_millis(hook.timeout_ms());
    let json = serde_json::to_string(event).map_err(|e| e.to_string())?;
    match (&hook.command, &hook.webhook) {
        (Some(command), _) => run_command(shared, command, cwd, event, &json, timeout).await,
        (None, Some(url)) => {
            let ca_file = hook.ca_file.as_deref().map(|f| cwd.join(f));
            let post = post(url, ca_file.as_deref(), &json);
            match tokio::time::timeout(timeout, post).await {
                Ok(result) => result,
                Err(_) => Err(format!("no answer within {} ms", timeout.as_millis())),
            }
        }
        (None, None) => Ok(()),
    }
}

/// The hook's environment: the daemon's, and the event's variables.
fn hook_env(shared: &Shared, event: &AppEvent) -> BTreeMap<String, String> {
    let mut env: BTreeMap<String, String> = std::env::vars().collect();
    let mut set = |k: &str, v: String| {
        env.insert(k.to_string(), v);
    };
    set("PMTUI_EVENT", event.event.clone());
    set("PMTUI_NAME", event.name.clone());
    set("PMTUI_ID", event.id.to_string());
    set("PMTUI_NAMESPACE", event.namespace.clone());
    set("PMTUI_STATUS", event.status.clone());
    set(
        "PMTUI_EXIT_CODE",
        event.exit_code.map(|c| c.to_string()).unwrap_or_default(),
    );
    set("PMTUI_SIGNAL", event.signal.clone().unwrap_or_default());
    set("PMTUI_REASON", event.reason.clone().unwrap_or_default());
    set("PMTUI_HOME", shared.config.home.display().to_string());
    env
}

async fn run_command(
    shared: &Shared,
    command: &str,
    cwd: &Path,
    event: &AppEvent,
    json: &str,
    timeout: Duration,
) -> Result<(), String> {
    let mut env = hook_env(shared, event);
    // A marker of its own, inherited by whatever the hook leaves behind (even daemonised,
    // out of its process group), so that is found and ended with it.
    let marker = format!(
        "{}-hook-{}",
        shared.config.home_key(),
        HOOK_RUNS.fetch_add(1, Ordering::Relaxed)
    );
    env.insert(MARKER_VAR.to_string(), marker.clone());
    let mut child = spawn::spawn_hook(command, cwd, &env, &shared.config, &shared.managed)
        .map_err(|e| format!("could not run it in {}: {e}", cwd.display()))?;
    let pid = child.id().unwrap_or(0);
    let stdin = child.stdin.take();
    let stderr = child.stderr.take();
    let errors = tokio::spawn(async move {
        let mut kept = Vec::new();
        if let Some(mut stderr) = stderr {
            let mut chunk = [0u8; 512];
            while let Ok(n) = stderr.read(&mut chunk).await {
                if n == 0 {
                    break;
                }
                let room = MAX_STDERR.saturating_sub(kept.len());
                kept.extend_from_slice(&chunk[..n.min(room)]);
            }
        }
        kept
    });
    let line = format!("{json}\n");
    let work = async {
        if let Some(mut stdin) = stdin {
            // A hook that does not read its stdin is fine.
            let _ = stdin.write_all(line.as_bytes()).await;
        }
        child.wait().await
    };
    let outcome = tokio::time::timeout(timeout, work).await;
    let result = match outcome {
        Ok(Ok(status)) if status.success() => Ok(()),
        Ok(Ok(status)) => {
            let said = match (status.code(), status.signal()) {
                (Some(code), _) => format!("exit {code}"),
                (None, Some(sig)) => format!("killed by signal {sig}"),
                (None, None) => "ended".into(),
            };
            let text = tokio::time::timeout(Duration::from_millis(200), errors)
                .await
                .ok()
                .and_then(Result::ok)
                .unwrap_or_default();
            let first = String::from_utf8_lossy(&text)
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty())
                .map(str::to_string);
            Err(match first {
                Some(line) => format!("{said}: {line}"),
                None => said,
            })
        }
        Ok(Err(err)) => Err(format!("could not wait for it: {err}")),
        Err(_) => {
            tree::kill_tree(pid);
            let _ = tokio::time::timeout(KILL_GRACE, child.wait()).await;
            Err(format!(
                "timed out after {} ms (its process tree was killed)",
                timeout.as_millis()
            ))
        }
    };
    shared.managed.remove(pid);
    end_leftovers(marker).await;
    result
}

/// What a hook left running when it ended (a background or daemonised child) is killed:
/// a hook is one bounded run, not a way to start services outside supervision.
async fn end_leftovers(marker: String) {
    let _ = tokio::task::spawn_blocking(move || kill_marked(&marker, |m| m == marker)).await;
}

/// Kills every hook of this daemon still running, and what they left (at shutdown: they
/// would outlive the daemon).
pub(crate) fn end_all(config: &crate::config::SupervisorConfig) {
    let prefix = format!("{}-hook-", config.home_key());
    kill_marked(&prefix, |m| m.starts_with(&prefix));
}

fn kill_marked(prefix: &str, wanted: impl Fn(&str) -> bool) {
    let me = std::process::id();
    let table: Vec<_> = tree::scan().into_iter().filter(|e| e.pid != me).collect();
    for (pid, found) in tree::find_marked(&table, prefix) {
        if wanted(&found) {
            tracing::debug!(pid, "hooks: killing a hook's process");
            // Each one is killed: its descendants carry the marker too.
            tree::signal_pid(pid, nix::sys::signal::Signal::SIGKILL);
        }
    }
}

/// POSTs `json` to `url` (https: trusting `ca_file` too); a 2xx status is success.
async fn post(url: &str, ca_file: Option<&Path>, json: &str) -> Result<(), String> {
    let target = HttpTarget::parse_any(url)?;
    let request = http_client::Request {
        method: "POST",
        version: "HTTP/1.1",
        headers: &[
            ("User-Agent", "pmtui-hook"),
            ("Content-Type", "application/json"),
        ],
        body: json,
    };
    let mut stream = http_client::send_trusting(&target, &request, ca_file).await?;
    match http_client::read_status(&mut stream).await? {
        200..=299 => Ok(()),
        // The caller names the hook (`POST <url>`): this says only what came back.
        code => Err(format!("answered HTTP {code}")),
    }
}
