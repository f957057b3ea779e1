//! The exec probe: `sh -c <command>` in the app's working directory, environment and
//! identity; healthy on exit 0. On timeout its whole tree is killed (its process group, and
//! any descendant that left the group). Its output (at most [`MAX_OUTPUT`] bytes of stdout
//! and stderr) goes into the message.

use super::timed_out;
use crate::supervisor::Shared;
use crate::{spawn, tree};
use pmtui_proto::{HealthCheck, ProcessSpec};
use std::os::unix::process::ExitStatusExt;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt};

/// Output kept from one probe.
const MAX_OUTPUT: usize = 4096;
/// How long the output is still read after the command exited (a descendant may keep the
/// pipe open).
const DRAIN: Duration = Duration::from_millis(100);

/// What an exec probe runs with: the app's definition and environment.
#[derive(Clone)]
pub(crate) struct ExecContext {
    pub shared: Arc<Shared>,
    pub spec: Arc<ProcessSpec>,
    pub env: Arc<crate::spawn::ChildEnv>,
}

impl ExecContext {
    pub(super) async fn probe(&self, check: &HealthCheck, timeout: Duration) -> (bool, String) {
        let command = check.command.as_deref().unwrap_or_default();
        let spawned = spawn::spawn_probe(
            &self.spec,
            &self.env,
            &self.shared.config,
            command,
            &self.shared.managed,
        );
        let mut child = match spawned {
            Ok(child) => child,
            Err(err) => return (false, format!("could not run it: {err}")),
        };
        let pid = child.id().unwrap_or(0);
        let output = Arc::new(Mutex::new(Vec::new()));
        let mut readers: Vec<_> = [
            child
                .stdout
                .take()
                .map(|o| Box::new(o) as Box<dyn AsyncRead + Send + Unpin>),
            child
                .stderr
                .take()
                .map(|e| Box::new(e) as Box<dyn AsyncRead + Send + Unpin>),
        ]
        .into_iter()
        .flatten()
        .map(|stream| tokio::spawn(collect(stream, Arc::clone(&output))))
        .collect();
        let waited = tokio::time::timeout(timeout, child.wait()).await;
        let verdict = match waited {
            Ok(Ok(status)) => {
                let drained = async {
                    for reader in readers.iter_mut() {
                        let _ = reader.await;
                    }
                };
                let _ = tokio::time::timeout(DRAIN, drained).await;
                let text = first_line(&output);
                let said = match (status.code(), status.signal()) {
                    (Some(code), _) => format!("exit {code}"),
                    (None, Some(sig)) => format!("killed by signal {sig}"),
                    (None, None) => "ended".into(),
                };
                let detail = match text {
                    Some(line) => format!("{said}: {line}"),
                    None => said,
                };
                (status.success(), detail)
            }
            Ok(Err(err)) => (false, format!("could not wait for it: {err}")),
            Err(_) => {
                tree::kill_tree(pid);
                let _ = child.wait().await;
                (false, format!("{} (killed)", timed_out(timeout)))
            }
        };
        // The reaper delivered its exit; it is no longer a child to watch.
        self.shared.managed.remove(pid);
        for reader in readers {
            reader.abort();
        }
        verdict
    }
}

async fn collect(mut stream: impl AsyncRead + Unpin, into: Arc<Mutex<Vec<u8>>>) {
    let mut chunk = [0u8; 1024];
    loop {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                let mut out = into.lock().unwrap_or_else(|p| p.into_inner());
                let room = MAX_OUTPUT.saturating_sub(out.len());
                out.extend_from_slice(&chunk[..n.min(room)]);
                // Past the cap the rest is read and dropped, so the probe never blocks on
                // a full pipe.
            }
        }
    }
}

/// The first non-empty line of what the probe printed.
fn first_line(output: &Mutex<Vec<u8>>) -> Option<String> {
    let out = output.lock().unwrap_or_else(|p| p.into_inner());
    String::from_utf8_lossy(&out)
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(str::to_string)
}
