//! What a client can ask the daemon. Targets are strings resolved by the daemon the way
//! pm2 resolves them: `all`, an id, a name, a namespace, or `/regex/` on names.

use crate::{LogStream, ProcessSpec};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case")]
pub enum Request {
    Ping,
    /// Start a new process (or instances), or restart the existing one of that name.
    Start {
        spec: Box<ProcessSpec>,
        /// Start a duplicate even if the name exists.
        #[serde(default)]
        force: bool,
        /// When restarting an existing process, take the new spec's environment.
        #[serde(default)]
        update_env: bool,
    },
    /// Apply the apps of an ecosystem file: start the missing ones, restart (with the new
    /// spec) the ones whose definition changed (`ProcessSpec::same_definition`), leave the
    /// rest alone; `restart_all` restarts the unchanged ones too (`restart <file>`).
    Apply {
        specs: Vec<ProcessSpec>,
        #[serde(default)]
        restart_all: bool,
    },
    /// Replace the processes `ids` (all of one name) by `spec` and run them: same ids, each
    /// restarted with it (a stopped one started, which is not counted as a restart), scaled
    /// to `spec.instances`; the name may differ (a rename: `restart 0 --name new`). What
    /// `restart <targets> <flags>` sends. Replies `Processes` with the processes now of
    /// that definition.
    Update {
        ids: Vec<crate::ProcessId>,
        spec: Box<ProcessSpec>,
    },
    Stop {
        targets: Vec<String>,
    },
    Restart {
        targets: Vec<String>,
        /// A new environment to apply (`--update-env`); `None` keeps the stored one.
        #[serde(default)]
        env: Option<BTreeMap<String, String>>,
    },
    /// A rolling reload: each target is replaced by a new run, `parallel` at a time; the new
    /// run starts while the old one still serves, and the old one is stopped once the new
    /// one is ready (see the README's "Cluster mode and reload"). A target that is not
    /// running is started. The first instance that fails or is not ready in time stops the
    /// reload (its old run keeps serving) and the reply is an error naming it. Replies
    /// `Processes` with the targets.
    Reload {
        targets: Vec<String>,
        /// Instances replaced at once (at least 1).
        #[serde(default = "one")]
        parallel: u32,
        /// A new environment to apply (`--update-env`); `None` keeps the stored one.
        #[serde(default)]
        env: Option<BTreeMap<String, String>>,
    },
    Delete {
        targets: Vec<String>,
    },
    /// Add or remove instances of one app without restarting the others (pm2's `scale`):
    /// new ones copy the definition of the first; removed ones are the oldest (lowest ids).
    /// Replies `Response::Scaled`.
    Scale {
        /// The app: its name (or an id or namespace that names one app).
        target: String,
        to: ScaleTo,
    },
    /// Turn file watching of the targets on or off without restarting them (kept in their
    /// definitions). `on` needs nothing configured: it watches the app's `cwd`. Replies
    /// `Processes`.
    Watch {
        targets: Vec<String>,
        enabled: bool,
    },
    /// Zero the restart counters.
    Reset {
        targets: Vec<String>,
    },
    /// Send a signal (by name, e.g. `SIGUSR1`) to the main pid of each target.
    Signal {
        signal: String,
        targets: Vec<String>,
    },
    List,
    /// `list` for printing: the reply is `Processes`, its `processes` written by the daemon
    /// as `ls --json` prints them (serde_json's pretty layout, `info_json`), so the CLI
    /// copies them to stdout as they come. Any JSON decoder reads the reply as `list`'s.
    ListJson,
    Describe {
        targets: Vec<String>,
        /// Whether each detail's metrics carry their whole series. With `false` the series
        /// keep only their first and last sample (the spans still cover every sample): what
        /// the human `describe` shows, and small enough that `describe all` of thousands of
        /// processes fits one frame. Absent means `true`.
        #[serde(default = "yes")]
        history: bool,
    },
    /// Write `dump.json` with every process, stopped ones included.
    Save {
        #[serde(default)]
        force: bool,
    },
    /// Start what `dump.json` holds, skipping names that already exist.
    Resurrect,
    /// Empty the log files of the targets (all when empty).
    Flush {
        #[serde(default)]
        targets: Vec<String>,
    },
    /// Reopen every log file (after an external logrotate).
    ReloadLogs,
    /// The last `lines` lines of each target (from memory, or from the files when memory
    /// holds fewer), then (with `follow`) live lines as `Log` events, with no gap or
    /// duplicate between the two.
    Logs {
        #[serde(default)]
        targets: Vec<String>,
        #[serde(default)]
        lines: usize,
        #[serde(default)]
        follow: bool,
        /// Only this stream (`out` or `err`); both when absent.
        #[serde(default)]
        stream: Option<LogStream>,
        /// Only lines matching this regular expression.
        #[serde(default)]
        grep: Option<String>,
    },
    /// Stream process events on this connection; replies first with a snapshot.
    Subscribe,
    /// Current resource use of the targets (all when empty), and with `history` the samples
    /// kept per process. Replies `Response::Metrics`.
    Metrics {
        #[serde(default)]
        targets: Vec<String>,
        #[serde(default)]
        history: bool,
    },
    /// Stream metrics on this connection: replies `Response::Metrics` with history, then
    /// pushes an `EventKind::Metrics` per sampler tick (about once a second). With targets,
    /// only the processes they matched at subscription; empty follows every process,
    /// including ones added later. May be combined with `Subscribe` on one connection.
    SubscribeMetrics {
        #[serde(default)]
        targets: Vec<String>,
    },
    /// Wait until the latest run of process `id` is ready, by the one definition (first
    /// passing probe, else the `wait_ready` signal, else started), or failed or timed out;
    /// a process held for its dependencies is waited for through them. Replies
    /// `Response::Readiness`. What `pmtui start <file>` sends per app it started.
    WaitReady {
        id: crate::ProcessId,
        /// Give up after this long (ms); `None` waits as long as it takes.
        #[serde(default)]
        timeout_ms: Option<u64>,
    },
    /// Stop every process and end the daemon.
    Kill,
    /// Runs tasks now (trigger `manual`), whatever their schedule says.
    Run {
        targets: Vec<String>,
    },
    /// Streams `EventKind::App` events (all processes, or those of `targets` as they are
    /// now) until the connection closes.
    Events {
        #[serde(default)]
        targets: Vec<String>,
    },
}

impl Request {
    /// The verb, as the wire's `cmd` tag spells it (for messages).
    pub fn verb(&self) -> &'static str {
        match self {
            Self::Ping => "ping",
            Self::Start { .. } => "start",
            Self::Apply { .. } => "apply",
            Self::Update { .. } => "update",
            Self::Stop { .. } => "stop",
            Self::Restart { .. } => "restart",
            Self::Reload { .. } => "reload",
            Self::Delete { .. } => "delete",
            Self::Scale { .. } => "scale",
            Self::Watch { .. } => "watch",
            Self::Reset { .. } => "reset",
            Self::Signal { .. } => "signal",
            Self::List => "list",
            Self::ListJson => "list_json",
            Self::Describe { .. } => "describe",
            Self::Save { .. } => "save",
            Self::Resurrect => "resurrect",
            Self::Flush { .. } => "flush",
            Self::ReloadLogs => "reload_logs",
            Self::Logs { .. } => "logs",
            Self::Subscribe => "subscribe",
            Self::Metrics { .. } => "metrics",
            Self::SubscribeMetrics { .. } => "subscribe_metrics",
            Self::WaitReady { .. } => "wait_ready",
            Self::Kill => "kill",
            Self::Run { .. } => "run",
            Self::Events { .. } => "events",
        }
    }
}

fn yes() -> bool {
    true
}

fn one() -> u32 {
    1
}

/// How many instances `scale` leaves: exactly N, or K more or fewer than now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScaleTo {
    Exactly(u32),
    Add(u32),
    Remove(u32),
}

impl ScaleTo {
    /// The count this leaves from `now` instances; at least one stays.
    pub fn from(self, now: u32) -> Result<u32, String> {
        let to = match self {
            Self::Exactly(n) => n,
            Self::Add(k) => now.saturating_add(k),
            Self::Remove(k) if k >= now => {
                return Err(format!(
                    "-{k} would leave no instance of the {now} there are; `pmtui delete` removes an app"
                ));
            }
            Self::Remove(k) => now - k,
        };
        if to == 0 {
            return Err("scaling to 0 would remove the app; `pmtui delete` does that".into());
        }
        Ok(to)
    }
}

impl std::str::FromStr for ScaleTo {
    type Err = String;

    /// `4`, `+2` or `-1`, as pm2's `scale` takes them.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let number = |t: &str| {
            t.parse::<u32>()
                .map_err(|_| format!("{s:?} is not a number of instances (N, +N or -N)"))
        };
        if let Some(k) = s.strip_prefix('+') {
            Ok(Self::Add(number(k)?))
        } else if let Some(k) = s.strip_prefix('-') {
            Ok(Self::Remove(number(k)?))
        } else {
            Ok(Self::Exactly(number(s)?))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_counts_parse_as_pm2_writes_them() {
        assert_eq!("4".parse(), Ok(ScaleTo::Exactly(4)));
        assert_eq!("+2".parse(), Ok(ScaleTo::Add(2)));
        assert_eq!("-1".parse(), Ok(ScaleTo::Remove(1)));
        assert!("x".parse::<ScaleTo>().is_err());
        assert!("+-1".parse::<ScaleTo>().is_err());
        assert_eq!(ScaleTo::Add(2).from(2), Ok(4));
        assert_eq!(ScaleTo::Remove(1).from(4), Ok(3));
        assert!(ScaleTo::Remove(2).from(2).is_err());
        assert!(ScaleTo::Exactly(0).from(2).is_err());
    }

    #[test]
    fn verbs_match_the_wire_tags() {
        for request in [
            Request::Ping,
            Request::List,
            Request::ListJson,
            Request::ReloadLogs,
            Request::Kill,
            Request::Save { force: false },
            Request::SubscribeMetrics { targets: vec![] },
        ] {
            let wire = serde_json::to_value(&request).expect("json");
            assert_eq!(wire["cmd"], request.verb());
        }
    }
}
