//! What the daemon observes about a process: the rows of `ls` (`ProcessInfo`) and the
//! fuller record of `describe` (`ProcessDetail`).

use crate::{
    ExecMode, Health, MetricsHistory, ProbeResult, ProcessId, ProcessSpec, ProcessStatus, Readiness,
};
use serde::{Deserialize, Serialize};

/// One row of `ls --json`. The field names are a public contract (documented in the README).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessInfo {
    pub id: ProcessId,
    pub name: String,
    pub namespace: String,
    /// Index among the processes sharing this name (pm2's `NODE_APP_INSTANCE`).
    pub instance: u32,
    pub status: ProcessStatus,
    /// Main pid, `None` when nothing runs.
    pub pid: Option<u32>,
    /// Times the process was started again after its first start.
    pub restarts: u32,
    /// Unstable restarts (runs shorter than `min_uptime`) counted towards the crash-loop
    /// limit; zero again once a run stays up for `stable_after`.
    pub unstable_restarts: u32,
    /// Time since the current run started; 0 when not running.
    pub uptime_ms: u64,
    /// CPU of the whole process tree, percent of one core (two decimals in JSON).
    #[serde(serialize_with = "crate::units::two_decimals")]
    pub cpu: f64,
    /// Resident memory of the whole process tree, bytes.
    pub memory: u64,
    pub exit_code: Option<i32>,
    pub exit_signal: Option<String>,
    /// When the process was added (ms since the Unix epoch).
    pub created_at: u64,
    /// When the current or last run started (ms since the Unix epoch).
    pub started_at: Option<u64>,
    /// When a `waiting restart` process is due to start (ms since the Unix epoch).
    pub next_restart_at: Option<u64>,
    /// Why the process is in its status, when that is not obvious (crash loop, spawn error…).
    pub status_reason: Option<String>,
    /// The command line that runs, for display.
    pub command: String,
    /// `cluster` when the instances share sockets the daemon holds, else `fork`.
    #[serde(default)]
    pub mode: ExecMode,
    /// The sockets the daemon holds for this process, as bound (with the port the kernel
    /// chose for a port 0), in the order the process gets them from fd 3.
    #[serde(default)]
    pub sockets: Vec<String>,
    /// Where this instance is in a `reload` under way; `None` otherwise.
    #[serde(default)]
    pub reload: Option<ReloadState>,
    /// Where the current run is on its way to ready (`pending`, `ready`, `timeout`); null
    /// when nothing runs. See the README's "Health and readiness".
    #[serde(default)]
    pub readiness: Option<Readiness>,
    /// When the current run became ready (ms since the Unix epoch).
    #[serde(default)]
    pub ready_at: Option<u64>,
    /// What the health probe says (`starting`, `healthy`, `unhealthy`); null without a
    /// probe or when nothing runs.
    #[serde(default)]
    pub health: Option<Health>,
    /// The last probe of the current run, with its output or error.
    #[serde(default)]
    pub last_probe: Option<ProbeResult>,
    /// The app's own status line (sd_notify `STATUS=`), for the current run.
    #[serde(default)]
    pub status_text: Option<String>,
    /// The pid the app named as its main process (sd_notify `MAINPID=`), when it did.
    #[serde(default)]
    pub main_pid: Option<u32>,
    /// The paths a change under which restarts the process, or `false` (see the README's
    /// "Watch").
    #[serde(with = "crate::watch::shown", default)]
    pub watch: Option<Vec<String>>,
    /// The change that last restarted or revived it.
    #[serde(default)]
    pub watch_trigger: Option<crate::WatchTrigger>,
    /// Why its paths are not (all) watched: the inotify limit, a path that cannot be read.
    #[serde(default)]
    pub watch_error: Option<String>,
    /// For a task: when its schedule fires next (ms since the Unix epoch).
    #[serde(default)]
    pub next_run_at: Option<u64>,
    /// For a task: how its last run ended (`ok`, `exit 3`, `SIGKILL`, `timeout`), null
    /// before the first run ends.
    #[serde(default)]
    pub last_result: Option<String>,
}

/// One instance's part in a rolling reload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReloadState {
    /// `queued`, `starting`, `waiting for ready`, `stopping old`.
    pub phase: String,
    /// This instance's place in the reload (1-based) and how many instances it replaces.
    pub step: u32,
    pub of: u32,
    /// The pid of the new run once it is started. The row's `pid` is the new run's as soon
    /// as it is started (its readiness is the row's); the old run keeps serving meanwhile.
    pub new_pid: Option<u32>,
    /// The pid of the run being replaced, while it still runs.
    #[serde(default)]
    pub old_pid: Option<u32>,
    /// When this phase began (ms since the Unix epoch).
    pub since: u64,
}

/// One exit or restart of a process, kept in its restart history: the answer to "why did it
/// restart / why is it not running?".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExitRecord {
    /// When it happened (ms since the Unix epoch).
    pub at: u64,
    /// The pid that exited; 0 when nothing was running (a stopped or errored process that
    /// was started again by `restart`, `reset` or cron).
    pub pid: u32,
    pub exit_code: Option<i32>,
    pub exit_signal: Option<String>,
    pub uptime_ms: u64,
    /// Why, one of: `exit code`, `signal`, `out of memory` (SIGKILL while the kernel's OOM
    /// killer ran), `crash loop`, `memory limit`, `health check`, `watchdog`, `cron`,
    /// `manual` (a `pmtui` verb), `reload` (a run replaced by a rolling reload, or a new
    /// run a failed reload stopped), `watch`, `spawn error`.
    pub reason: String,
    /// The same in a sentence: "exited with code 3", "killed by SIGSEGV", "pmtui stop", …
    #[serde(default)]
    pub detail: String,
    /// What happened next: `restart`, `stopped`, `errored`.
    pub outcome: String,
    /// For a `restart` outcome: when the new run was due (ms since the Unix epoch); the
    /// backoff delay is `next_restart_at - at`.
    #[serde(default)]
    pub next_restart_at: Option<u64>,
    /// The last lines the run wrote to stderr before it ended (at most 10).
    pub last_stderr: Vec<String>,
    /// For a task run: what started it (`schedule`, `manual` or `retry`).
    #[serde(default)]
    pub trigger: Option<String>,
    /// For a task run: when it started (ms since the Unix epoch); it lasted `uptime_ms`.
    #[serde(default)]
    pub started_at: Option<u64>,
}

/// Everything known about one process: `describe`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessDetail {
    #[serde(flatten)]
    pub info: ProcessInfo,
    pub spec: ProcessSpec,
    /// The environment the child actually receives, pmtui's variables included.
    pub env: std::collections::BTreeMap<String, String>,
    pub out_log: Option<String>,
    pub err_log: Option<String>,
    pub history: Vec<ExitRecord>,
    /// Current resource use and its recent history (see `metrics.rs`).
    #[serde(default)]
    pub metrics: MetricsHistory,
    /// How its process tree is contained: `cgroup` or `group` (the daemon's mode).
    #[serde(default)]
    pub containment: String,
    /// Its cgroup, in cgroup mode.
    #[serde(default)]
    pub cgroup: Option<String>,
    /// Its hooks that failed lately (newest last), and events dropped because too many
    /// hooks were running.
    #[serde(default)]
    pub hook_failures: Vec<String>,
}
