//! `ProcessSpec`: the desired definition of a process, fully resolved by the client
//! (paths absolute, interpreter chosen, environment captured) before it reaches the daemon.
//! Durations are milliseconds and sizes bytes on the wire; friendly forms ("10s", "500M")
//! are parsed client-side.

use crate::ListenSpec;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

pub const DEFAULT_NAMESPACE: &str = "default";
pub const DEFAULT_KILL_TIMEOUT_MS: u64 = 1600;
pub const DEFAULT_STOP_SIGNAL: &str = "SIGTERM";
/// pm2's `listen_timeout`: how long a reload waits for a new instance to be ready.
pub const DEFAULT_LISTEN_TIMEOUT_MS: u64 = 3000;
/// pm2's default name of the variable that carries the instance number.
pub const DEFAULT_INSTANCE_VAR: &str = "NODE_APP_INSTANCE";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProcessSpec {
    pub name: String,
    pub namespace: String,
    /// What to run: an absolute path to a script or executable, or a command name.
    pub script: String,
    pub args: Vec<String>,
    /// Program that runs `script` (`python3`, `node`, `sh`…); `None` runs it directly.
    pub interpreter: Option<String>,
    pub interpreter_args: Vec<String>,
    pub cwd: PathBuf,
    /// The complete environment of the child (the caller's shell plus `--env`),
    /// before the daemon adds its own `PMTUI_*`/pm2 variables.
    pub env: crate::EnvMap,
    /// The variables the user set explicitly (ecosystem `env`, `env_<name>`, `env_file`,
    /// `port`, `--env KEY=VALUE`), a subset of `env`. Applying a file compares these and not
    /// the rest of the captured shell; `export` writes only these.
    pub config_env: BTreeMap<String, String>,
    /// How many copies run under this name; each gets its own id and instance index.
    pub instances: u32,
    pub kill_timeout_ms: u64,
    /// Signal name sent to the process group on stop (`SIGTERM`, `SIGINT`, …).
    pub stop_signal: String,
    /// User to run as (pm2's `uid`, alias `user`): a name or a number, resolved by the daemon
    /// at each start. Its primary group and supplementary groups come along (initgroups), and
    /// `HOME`, `USER` and `LOGNAME` are set for it. Needs a daemon running as root.
    pub uid: Option<String>,
    /// Group to run as (pm2's `gid`): a name or a number; overrides the user's primary group.
    pub gid: Option<String>,
    /// pm2's `treekill`: true (the default) ends the whole process tree on stop and what a
    /// run left when it exits; false signals only the main process and leaves its
    /// descendants running. Recovery after a daemon crash ends the whole tree regardless.
    pub treekill: bool,
    /// When an exit is followed by a restart. Config keys: the seed's nested
    /// `restart_policy: {…}` and pm2's flat `autorestart`, `max_restarts`, `min_uptime`,
    /// `restart_delay`, `exp_backoff_restart_delay`, `stop_exit_codes` both map here.
    pub restart: RestartPolicy,
    /// Restart when the whole process tree's resident memory exceeds this many bytes
    /// (pm2's `max_memory_restart`; "500M", "1G" are parsed client-side, 1024-based).
    /// Checked on every metrics sample; the restart is recorded as `memory limit`.
    pub max_memory_restart: Option<u64>,
    /// Cron expression for scheduled restarts, 5 fields (minute precision) or 6 (with
    /// seconds first), in the daemon's local time (pm2's `cron_restart`, alias `cron`).
    pub cron_restart: Option<String>,
    /// Whether `cron_restart` also starts a process that is `stopped` or `errored` (pm2 always
    /// does; pmtui by default only restarts what is running or waiting to restart).
    pub cron_revive: bool,
    pub logs: LogOptions,
    /// False registers the process as stopped without starting it.
    pub autostart: bool,
    /// pm2's `pid_file` (`-p`): where the pid is written instead of
    /// `$PMTUI_HOME/pids/<name>-<id>.pid`. As pm2 does, the id goes into the name: `app.pid`
    /// (or `app-3.pid`) becomes `app-<id>.pid`, any other name gets `-<id>.pid` appended.
    pub pid_file: Option<PathBuf>,
    /// Sockets the daemon binds once and hands to every instance through systemd's socket
    /// activation protocol (fds from 3, `LISTEN_FDS`, `LISTEN_PID`, `LISTEN_FDNAMES`).
    pub listen: Vec<ListenSpec>,
    /// `fork` or `cluster` as the user set it (pm2's `exec_mode`); `None` lets pmtui decide
    /// (see [`ProcessSpec::mode`]).
    pub exec_mode: Option<ExecMode>,
    /// A variable set to its value in `env` (or 0) plus the instance number, per instance
    /// (pm2's `increment_var`, typically `PORT`).
    pub increment_var: Option<String>,
    /// The variable that carries the instance number (pm2's `instance_var`); `None` means
    /// `NODE_APP_INSTANCE`. `PMTUI_INSTANCE` is always set too.
    pub instance_var: Option<String>,
    /// pm2's `wait_ready`: a run is ready only once the app says so (Node's
    /// `process.send('ready')`), and its status stays `launching` until then or until
    /// `listen_timeout_ms` runs out.
    pub wait_ready: bool,
    /// systemd's watchdog: the app must send sd_notify `WATCHDOG=1` at least this often (ms)
    /// once it is ready, or it is restarted (history reason `watchdog`). The app gets
    /// `WATCHDOG_USEC` and `WATCHDOG_PID`.
    pub watchdog_ms: Option<u64>,
    /// A probe run by the daemon: the first pass makes a run ready, `retries` failures in
    /// a row make it unhealthy (and restart it with `on_failure: restart`). Boxed, as
    /// `watch`: most apps have none, and the daemon keeps every definition (136 and 64
    /// bytes inline; the wire form is the same).
    pub health_check: Option<Box<crate::HealthCheck>>,
    /// How long `wait_ready` waits for the app's signal, and a reload for a new instance to
    /// be ready, ms (pm2's `listen_timeout`); `None` means [`DEFAULT_LISTEN_TIMEOUT_MS`].
    pub listen_timeout_ms: Option<u64>,
    /// Node apps: pmtui's preload reports event-loop lag, heap and active handles over the
    /// IPC channel at the metrics interval (default true; no effect on other programs).
    pub node_metrics: bool,
    /// A Prometheus text endpoint (`http://…`) the daemon scrapes at the metrics interval.
    pub metrics_url: Option<String>,
    /// The series of `metrics_url` kept: a bare name keeps every label set of it, a name
    /// with labels that series only. Empty keeps the first 20 the endpoint lists.
    pub metrics_keep: Vec<String>,
    /// File watching: a change under its paths restarts the process (history reason
    /// `watch`). `None` when never asked for; `enabled: false` when turned off.
    pub watch: Option<Box<crate::WatchSpec>>,
    /// The apps this one starts after, and what each must have reached (`depends_on`).
    /// The supervisor starts a set in this order (independent apps together), stops it in
    /// reverse, and recovery and `resurrect` follow the same order.
    pub depends_on: Vec<crate::Dependency>,
    /// A cron pattern (5 or 6 fields) that makes this app a task: applying it does not run
    /// it; each firing runs it to its exit, then it is `scheduled` again.
    pub schedule: Option<String>,
    /// The time zone `schedule` is read in (`Europe/Paris`); `None` is the daemon's local
    /// time.
    pub timezone: Option<String>,
    /// Task runs that fail are tried again this many times, after the app's backoff.
    pub retries: u32,
    /// What a firing does while the previous run is still going.
    pub overlap: crate::Overlap,
    /// A task run that takes longer is stopped (history reason `timeout`), ms.
    pub timeout_ms: Option<u64>,
    /// Hooks by event name (`crash`, `exit`, … see [`crate::HOOK_EVENTS`]).
    pub hooks: BTreeMap<String, crate::Hook>,
}

/// How the instances of an app run: `fork` (independent copies) or `cluster` (copies that
/// share the listening sockets the daemon holds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ExecMode {
    #[default]
    #[serde(alias = "fork_mode")]
    Fork,
    #[serde(alias = "cluster_mode")]
    Cluster,
}

impl ExecMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fork => "fork",
            Self::Cluster => "cluster",
        }
    }
}

impl std::fmt::Display for ExecMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Default for ProcessSpec {
    fn default() -> Self {
        Self {
            name: String::new(),
            namespace: DEFAULT_NAMESPACE.to_string(),
            script: String::new(),
            args: Vec::new(),
            interpreter: None,
            interpreter_args: Vec::new(),
            cwd: PathBuf::from("/"),
            env: crate::EnvMap::new(),
            config_env: BTreeMap::new(),
            instances: 1,
            kill_timeout_ms: DEFAULT_KILL_TIMEOUT_MS,
            stop_signal: DEFAULT_STOP_SIGNAL.to_string(),
            uid: None,
            gid: None,
            treekill: true,
            restart: RestartPolicy::default(),
            max_memory_restart: None,
            cron_restart: None,
            cron_revive: false,
            logs: LogOptions::default(),
            autostart: true,
            listen: Vec::new(),
            exec_mode: None,
            increment_var: None,
            instance_var: None,
            wait_ready: false,
            watchdog_ms: None,
            health_check: None,
            listen_timeout_ms: None,
            pid_file: None,
            node_metrics: true,
            metrics_url: None,
            metrics_keep: Vec::new(),
            watch: None,
            depends_on: Vec::new(),
            schedule: None,
            timezone: None,
            retries: 0,
            overlap: crate::Overlap::Skip,
            timeout_ms: None,
            hooks: BTreeMap::new(),
        }
    }
}

impl ProcessSpec {
    /// The program and its arguments, as they are executed.
    pub fn argv(&self) -> (String, Vec<String>) {
        match &self.interpreter {
            Some(interpreter) => {
                let mut args = self.interpreter_args.clone();
                args.push(self.script.clone());
                args.extend(self.args.iter().cloned());
                (interpreter.clone(), args)
            }
            None => (self.script.clone(), self.args.clone()),
        }
    }

    /// True when `other` defines the same process: every field equal except the inherited
    /// part of the environment (the shell's variables differ between terminals; what the
    /// user set, `config_env`, is compared). This is what "changed" means when a file is
    /// applied again.
    pub fn same_definition(&self, other: &ProcessSpec) -> bool {
        let strip = |s: &ProcessSpec| ProcessSpec {
            env: crate::EnvMap::new(),
            ..s.clone()
        };
        strip(self) == strip(other)
    }

    /// Whether this app is a task (it has a `schedule`).
    pub fn is_task(&self) -> bool {
        self.schedule
            .as_deref()
            .is_some_and(|s| !s.trim().is_empty())
    }

    /// Whether Node runs the script (its interpreter is `node`, `nodejs`, `node20`, …).
    pub fn is_node(&self) -> bool {
        let program = self.interpreter.as_deref().unwrap_or(&self.script);
        std::path::Path::new(program)
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("node"))
    }

    /// pm2's cluster mode for Node: `exec_mode: cluster`, or several instances of a Node
    /// script without `exec_mode: fork`. Such apps get the preload that makes a plain
    /// `server.listen(PORT)` use the socket the daemon holds.
    pub fn node_cluster(&self) -> bool {
        self.is_node()
            && match self.exec_mode {
                Some(ExecMode::Cluster) => true,
                Some(ExecMode::Fork) => false,
                None => self.instances > 1,
            }
    }

    /// The sockets the daemon holds for this app: `listen`, else for a Node app in cluster
    /// mode its `PORT` on every address (what `server.listen(PORT)` binds), unless
    /// `increment_var` gives each instance a port of its own.
    pub fn sockets(&self) -> Vec<ListenSpec> {
        if !self.listen.is_empty() {
            return self.listen.clone();
        }
        let own_ports = self.increment_var.as_deref() == Some("PORT");
        match self
            .env
            .get("PORT")
            .and_then(|p| p.trim().parse::<u16>().ok())
        {
            Some(port) if port > 0 && self.node_cluster() && !own_ports => {
                vec![ListenSpec {
                    name: None,
                    address: crate::ListenAddress::Tcp(std::net::SocketAddr::new(
                        std::net::IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
                        port,
                    )),
                }]
            }
            _ => Vec::new(),
        }
    }

    /// `cluster` when the instances share sockets the daemon holds (or the user said so),
    /// else `fork`.
    pub fn mode(&self) -> ExecMode {
        if self.exec_mode == Some(ExecMode::Cluster) || !self.sockets().is_empty() {
            ExecMode::Cluster
        } else {
            ExecMode::Fork
        }
    }

    /// The variable that carries the instance number.
    pub fn instance_var(&self) -> &str {
        self.instance_var
            .as_deref()
            .filter(|v| !v.is_empty())
            .unwrap_or(DEFAULT_INSTANCE_VAR)
    }

    /// `same_definition` but for the instance count: what `scale` can change alone.
    pub fn same_but_count(&self, other: &ProcessSpec) -> bool {
        self.same_definition(&ProcessSpec {
            instances: self.instances,
            ..other.clone()
        })
    }

    /// How long `wait_ready` waits for the app's signal, ms.
    pub fn listen_timeout(&self) -> u64 {
        self.listen_timeout_ms.unwrap_or(DEFAULT_LISTEN_TIMEOUT_MS)
    }

    /// The command line as one string, for display.
    /// The watch in force: the spec's when it is enabled.
    pub fn active_watch(&self) -> Option<&crate::WatchSpec> {
        self.watch.as_deref().filter(|w| w.enabled)
    }

    pub fn command_line(&self) -> String {
        let (program, args) = self.argv();
        std::iter::once(program)
            .chain(args)
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// When and how fast a process that exits is started again. Every field has a default, so
/// a config file may give any subset.
///
/// Spellings that map here: the seed's `restart_policy: { mode, max_restarts, min_uptime,
/// time_window, stable_after, backoff: { type, delay, max_delay, factor } }` and pm2's flat
/// keys: `autorestart: false` → `mode: No`; `max_restarts`; `min_uptime`; `restart_delay: N`
/// → [`Backoff::fixed`]; `exp_backoff_restart_delay: N` → [`Backoff::exponential`];
/// `stop_exit_codes` (a number or a list).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RestartPolicy {
    /// `always` (default), `on-failure` (only a non-zero exit or a signal) or `no`.
    pub mode: RestartMode,
    /// Unstable restarts allowed (pm2's default 16); one more unstable exit within the window
    /// marks the process `errored` ("crash loop"). 0 gives up at the first unstable exit.
    pub max_restarts: u32,
    /// A run shorter than this (ms) is unstable (pm2's `min_uptime`, default 1000).
    pub min_uptime_ms: u64,
    /// The sliding window (ms) in which unstable restarts are counted (seed's `time_window`).
    /// `None` (default) counts every unstable restart since the process was last up for
    /// `stable_after_ms`, however long the backoff delays between them; unlike pm2, a loop
    /// that begins late, or that waits between restarts, still ends.
    pub time_window_ms: Option<u64>,
    /// The delay before each restart.
    pub backoff: Backoff,
    /// Exit codes that never restart, whatever the mode (pm2's `stop_exit_codes`).
    pub stop_exit_codes: Vec<i32>,
    /// After a run has stayed up this long (ms, default 30 s; seed's `stable_after`) the
    /// backoff delay and the unstable count reset. Measured by a timer from the start of the
    /// run, not polled.
    pub stable_after_ms: u64,
}

impl Default for RestartPolicy {
    fn default() -> Self {
        Self {
            mode: RestartMode::Always,
            max_restarts: DEFAULT_MAX_RESTARTS,
            min_uptime_ms: DEFAULT_MIN_UPTIME_MS,
            time_window_ms: None,
            backoff: Backoff::default(),
            stop_exit_codes: Vec::new(),
            stable_after_ms: DEFAULT_STABLE_AFTER_MS,
        }
    }
}

pub const DEFAULT_MAX_RESTARTS: u32 = 16;
pub const DEFAULT_MIN_UPTIME_MS: u64 = 1000;
pub const DEFAULT_STABLE_AFTER_MS: u64 = 30_000;
/// pm2's cap on the exponential backoff delay.
pub const DEFAULT_MAX_DELAY_MS: u64 = 15_000;
/// pm2's growth factor of the exponential backoff delay.
pub const DEFAULT_BACKOFF_FACTOR: f64 = 1.5;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum RestartMode {
    /// Restart after every exit (pm2's `autorestart: true`).
    #[default]
    Always,
    /// Restart only after a non-zero exit code or a signal.
    #[serde(alias = "on_failure", alias = "onfailure")]
    OnFailure,
    /// Never restart (pm2's `autorestart: false`).
    #[serde(alias = "never")]
    No,
}

impl RestartMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Always => "always",
            Self::OnFailure => "on-failure",
            Self::No => "no",
        }
    }
}

impl std::str::FromStr for RestartMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "always" => Ok(Self::Always),
            "on-failure" | "on_failure" | "onfailure" => Ok(Self::OnFailure),
            "no" | "never" => Ok(Self::No),
            other => Err(format!(
                "unknown restart mode {other:?} (expected always, on-failure or no)"
            )),
        }
    }
}

/// The delay before a restart: fixed, or growing by `factor` per restart until the process
/// has been up for `stable_after_ms`, capped at `max_delay_ms`, with up to 10% jitter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Backoff {
    /// `fixed` (default) or `exponential` (seed's `backoff.type`).
    #[serde(rename = "type")]
    pub kind: BackoffKind,
    /// First delay in ms (seed's `backoff.delay`); 0 (default) restarts at once.
    pub delay_ms: u64,
    /// Cap of the exponential delay in ms (seed's `backoff.max_delay`, default 15 s).
    pub max_delay_ms: u64,
    /// Growth per restart of the exponential delay (default 1.5, pm2's); at least 1.
    pub factor: f64,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            kind: BackoffKind::Fixed,
            delay_ms: 0,
            max_delay_ms: DEFAULT_MAX_DELAY_MS,
            factor: DEFAULT_BACKOFF_FACTOR,
        }
    }
}

impl Backoff {
    /// pm2's `restart_delay`: the same delay before every restart.
    pub fn fixed(delay_ms: u64) -> Self {
        Self {
            kind: BackoffKind::Fixed,
            delay_ms,
            ..Self::default()
        }
    }

    /// pm2's `exp_backoff_restart_delay`: starts at `delay_ms`, × 1.5 per restart, ≤ 15 s.
    pub fn exponential(delay_ms: u64) -> Self {
        Self {
            kind: BackoffKind::Exponential,
            delay_ms,
            ..Self::default()
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum BackoffKind {
    #[default]
    Fixed,
    Exponential,
}

/// Where and how a process's output is written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct LogOptions {
    /// stdout file; default `logs/<name>-out.log`. `/dev/null` disables it.
    pub out_file: Option<PathBuf>,
    /// stderr file; default `logs/<name>-err.log`.
    pub error_file: Option<PathBuf>,
    /// Optional combined file with both streams.
    pub log_file: Option<PathBuf>,
    /// Instances share one file instead of `-<id>` files.
    pub merge_logs: bool,
    /// strftime format of a timestamp prefix; `Some("")` means the default format.
    pub date_format: Option<String>,
    pub format: LogFormat,
    /// Rotate when a file exceeds this many bytes (daemon default when `None`).
    pub max_size: Option<u64>,
    /// Rotated files kept (daemon default when `None`).
    pub max_files: Option<u32>,
    /// Gzip rotated files.
    pub compress: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Raw,
    Json,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argv_puts_interpreter_first() {
        let spec = ProcessSpec {
            script: "/srv/app.py".into(),
            args: vec!["--port".into(), "3000".into()],
            interpreter: Some("python3".into()),
            interpreter_args: vec!["-u".into()],
            ..Default::default()
        };
        let (program, args) = spec.argv();
        assert_eq!(program, "python3");
        assert_eq!(args, ["-u", "/srv/app.py", "--port", "3000"]);
    }

    #[test]
    fn same_definition_ignores_only_the_inherited_environment() {
        let a = ProcessSpec {
            name: "a".into(),
            env: [("PATH".to_string(), "/bin".to_string())].into(),
            ..Default::default()
        };
        let mut b = a.clone();
        b.env.insert("TERM".into(), "xterm".into());
        assert!(
            a.same_definition(&b),
            "the shell's variables are not compared"
        );
        b.config_env.insert("LEVEL".into(), "debug".into());
        assert!(!a.same_definition(&b), "what the user set is");
        let mut c = a.clone();
        c.instances = 2;
        assert!(!a.same_definition(&c));
    }

    #[test]
    fn missing_fields_take_defaults() {
        let spec: ProcessSpec = serde_json::from_str(r#"{"name":"a","script":"/bin/true"}"#)
            .expect("a minimal spec parses");
        assert_eq!(spec.kill_timeout_ms, 1600);
        assert_eq!(spec.namespace, "default");
        assert_eq!(spec.restart.max_restarts, 16);
    }
}
