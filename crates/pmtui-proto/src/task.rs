//! The vocabulary of scheduled tasks, event hooks and the events stream: what a firing does
//! while a run is still going (`Overlap`), a hook (a command or a webhook), and the
//! `AppEvent` that hooks receive and `pmtui events` prints. The JSON of an `AppEvent` is a
//! public contract (docs/protocol.md).

use crate::ProcessId;
use serde::{Deserialize, Serialize};

/// What a firing of a task's schedule does while its previous run is still going.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Overlap {
    /// The firing is dropped (recorded in the log only).
    #[default]
    Skip,
    /// One run is queued and starts when the current one ends (further firings are dropped).
    Queue,
    /// The current run is stopped and a new one starts.
    Replace,
}

impl Overlap {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Skip => "skip",
            Self::Queue => "queue",
            Self::Replace => "replace",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "skip" => Some(Self::Skip),
            "queue" => Some(Self::Queue),
            "replace" => Some(Self::Replace),
            _ => None,
        }
    }
}

/// Default time a hook may take before its tree is killed (or its request abandoned).
pub const DEFAULT_HOOK_TIMEOUT_MS: u64 = 10_000;

/// The events a hook can be attached to, as they are spelled in files and on the wire.
pub const HOOK_EVENTS: &[&str] = &[
    "start",
    "exit",
    "crash",
    "restart",
    "errored",
    "memory_limit",
    "health",
    "watch",
    "task_done",
    "task_failed",
];

/// One hook: a command run by `sh -c` (the event as JSON on stdin and `PMTUI_*` variables)
/// or a webhook (the event JSON POSTed). Exactly one of `command` and `webhook` is set.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Hook {
    pub command: Option<String>,
    pub webhook: Option<String>,
    /// After this long a command's tree is killed and a webhook abandoned; `None` means
    /// [`DEFAULT_HOOK_TIMEOUT_MS`].
    pub timeout_ms: Option<u64>,
    /// An https webhook: a PEM file of CA certificates trusted besides the built-in
    /// (Mozilla) roots, for a private CA or a self-signed server. A relative path is
    /// from the hook's folder (the app's `cwd`, `$PMTUI_HOME` for global hooks).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<String>,
}

impl Hook {
    pub fn timeout_ms(&self) -> u64 {
        self.timeout_ms.unwrap_or(DEFAULT_HOOK_TIMEOUT_MS)
    }

    /// What is wrong with this hook, if anything.
    pub fn problem(&self) -> Option<String> {
        match (&self.command, &self.webhook) {
            (Some(_), Some(_)) => Some("a hook is a command or a webhook, not both".into()),
            (None, None) => Some("a hook needs a command or a webhook".into()),
            (Some(c), None) if c.trim().is_empty() => Some("a hook's command is empty".into()),
            (None, Some(url)) if !url.starts_with("http://") && !url.starts_with("https://") => {
                Some(format!("webhook {url:?}: an http:// or https:// URL"))
            }
            _ if self.ca_file.as_deref().is_some_and(|f| f.trim().is_empty()) => {
                Some("a hook's ca_file is empty".into())
            }
            _ if self.ca_file.is_some()
                && !self
                    .webhook
                    .as_deref()
                    .is_some_and(|u| u.starts_with("https://")) =>
            {
                Some("ca_file only applies to an https:// webhook".into())
            }
            _ => None,
        }
    }

    /// For display: the command, or `POST <url>`.
    pub fn describe(&self) -> String {
        match (&self.command, &self.webhook) {
            (Some(c), _) => c.clone(),
            (None, Some(url)) => format!("POST {url}"),
            (None, None) => String::new(),
        }
    }
}

/// Something that happened to a process, as hooks receive it and `pmtui events` prints it.
/// Fields that do not apply to an event are null.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppEvent {
    /// One of [`HOOK_EVENTS`].
    pub event: String,
    /// When it happened (ms since the Unix epoch).
    pub at: u64,
    pub id: ProcessId,
    pub name: String,
    pub namespace: String,
    /// The process's status after the event.
    pub status: String,
    /// The pid concerned: the new run's (`start`), the run that ended (`exit`, `crash`, …).
    pub pid: Option<u32>,
    pub exit_code: Option<i32>,
    pub signal: Option<String>,
    /// The history's reason (`exit code`, `signal`, `memory limit`, `watch`, `timeout`, …),
    /// or for `health` the new health.
    pub reason: Option<String>,
    /// A sentence: "exited with code 3", "killed by SIGKILL", …
    pub detail: Option<String>,
    /// Restarts so far.
    pub restarts: u32,
    /// For task runs: `schedule`, `manual` or `retry`.
    pub trigger: Option<String>,
    /// For task runs that ended: how long the run took, ms.
    pub duration_ms: Option<u64>,
}
