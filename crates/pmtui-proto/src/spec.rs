//! `ProcessSpec`: the desired definition of a process, fully resolved by the client
//! (paths absolute, interpreter chosen, environment captured) before it reaches the daemon.
//! Durations are milliseconds and sizes bytes on the wire; friendly forms ("10s", "500M")
//! are parsed client-side.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

pub const DEFAULT_NAMESPACE: &str = "default";
pub const DEFAULT_KILL_TIMEOUT_MS: u64 = 1600;
pub const DEFAULT_STOP_SIGNAL: &str = "SIGTERM";

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
    pub env: BTreeMap<String, String>,
    /// How many copies run under this name; each gets its own id and instance index.
    pub instances: u32,
    pub kill_timeout_ms: u64,
    /// Signal name sent to the process group on stop (`SIGTERM`, `SIGINT`, …).
    pub stop_signal: String,
    pub restart: RestartPolicy,
    /// Restart when the process tree's resident memory exceeds this many bytes.
    pub max_memory_restart: Option<u64>,
    /// Cron expression (5 or 6 fields) for scheduled restarts.
    pub cron_restart: Option<String>,
    pub logs: LogOptions,
    /// False registers the process as stopped without starting it.
    pub autostart: bool,
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
            env: BTreeMap::new(),
            instances: 1,
            kill_timeout_ms: DEFAULT_KILL_TIMEOUT_MS,
            stop_signal: DEFAULT_STOP_SIGNAL.to_string(),
            restart: RestartPolicy::default(),
            max_memory_restart: None,
            cron_restart: None,
            logs: LogOptions::default(),
            autostart: true,
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

    /// The command line as one string, for display.
    pub fn command_line(&self) -> String {
        let (program, args) = self.argv();
        std::iter::once(program)
            .chain(args)
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// When and how fast a process that exits is started again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RestartPolicy {
    pub mode: RestartMode,
    /// Unstable restarts allowed within `time_window_ms` before the process is `errored`.
    pub max_restarts: u32,
    /// A run shorter than this is unstable.
    pub min_uptime_ms: u64,
    /// The window in which unstable restarts are counted; `None` = `min_uptime × max_restarts`,
    /// but sliding, so a loop that starts late is still caught (unlike pm2).
    pub time_window_ms: Option<u64>,
    pub backoff: Backoff,
    /// Exit codes that never restart.
    pub stop_exit_codes: Vec<i32>,
    /// After staying up this long the backoff and unstable count reset.
    pub stable_after_ms: u64,
}

impl Default for RestartPolicy {
    fn default() -> Self {
        Self {
            mode: RestartMode::Always,
            max_restarts: 16,
            min_uptime_ms: 1000,
            time_window_ms: None,
            backoff: Backoff::default(),
            stop_exit_codes: Vec::new(),
            stable_after_ms: 30_000,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum RestartMode {
    #[default]
    Always,
    #[serde(alias = "on_failure")]
    OnFailure,
    #[serde(alias = "never")]
    No,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Backoff {
    #[serde(rename = "type")]
    pub kind: BackoffKind,
    /// First delay; 0 restarts at once.
    pub delay_ms: u64,
    pub max_delay_ms: u64,
    pub factor: f64,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            kind: BackoffKind::Fixed,
            delay_ms: 0,
            max_delay_ms: 15_000,
            factor: 1.5,
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
    fn missing_fields_take_defaults() {
        let spec: ProcessSpec = serde_json::from_str(r#"{"name":"a","script":"/bin/true"}"#)
            .expect("a minimal spec parses");
        assert_eq!(spec.kill_timeout_ms, 1600);
        assert_eq!(spec.namespace, "default");
        assert_eq!(spec.restart.max_restarts, 16);
    }
}
