//! The command line, pm2's verbs and flags (clap derive).

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "pmtui",
    version,
    disable_version_flag = true,
    about = "A process manager for programs in any language, with a terminal UI"
)]
pub struct Cli {
    /// Print the version (`-v` as pm2, `-V` as most Rust tools).
    #[arg(short = 'v', short_alias = 'V', long = "version", action = clap::ArgAction::Version)]
    version: (),
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Start the apps of this ecosystem file, then open the terminal UI.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// How long the daemon may take to show it is alive before a command gives up: `10s`,
    /// `2m`, `1500ms`, or a number of seconds (default 30s; 0 waits for ever). Work that
    /// takes longer (a stop with a long kill_timeout) is waited for while the daemon answers.
    #[arg(
        long,
        global = true,
        env = "PMTUI_TIMEOUT",
        value_name = "DURATION",
        value_parser = parse_timeout,
        default_value = "30s"
    )]
    pub timeout: Timeout,
    /// Talk to the daemon of another host over ssh: ssh://[user@]host[:port] (`local`: this
    /// host). The system ssh runs `pmtui dial-stdio` there, so your ssh config, agent and
    /// known_hosts apply. Repeat (or separate with commas) for several: `ls` and the UI
    /// show them all. Also PMTUI_HOST.
    #[arg(
        long = "host",
        global = true,
        value_name = "URL",
        value_delimiter = ','
    )]
    pub host: Vec<String>,
    /// Use a named host (`pmtui context add`); repeat for several. Also PMTUI_CONTEXT.
    #[arg(long, global = true, value_name = "NAME", value_delimiter = ',')]
    pub context: Vec<String>,
    /// pmtui on the remote host (default `pmtui` on its PATH); any command line the remote
    /// shell runs.
    #[arg(long, global = true, env = "PMTUI_REMOTE_BIN", value_name = "PATH")]
    pub remote_bin: Option<String>,
}

/// `--timeout`'s value: `None` waits for ever.
#[derive(Debug, Clone, Copy)]
pub struct Timeout(pub Option<std::time::Duration>);

/// `--timeout`: a duration (`30s`, `1500ms`) or a number of seconds (what
/// `PMTUI_TIMEOUT=60` means to most people); 0 means no timeout.
fn parse_timeout(text: &str) -> Result<Timeout, String> {
    let ms = match text.trim().parse::<f64>() {
        Ok(seconds) if seconds.is_finite() && seconds >= 0.0 => (seconds * 1000.0) as u64,
        Ok(_) => return Err(format!("{text:?} is not a duration")),
        Err(_) => pmtui_proto::parse_duration_ms(text).map_err(|_| {
            format!("{text:?} is not a duration: write 30s, 1500ms, 2m, or a number of seconds")
        })?,
    };
    Ok(Timeout(
        (ms > 0).then(|| std::time::Duration::from_millis(ms)),
    ))
}

// Deferred: every invocation parses its own verb only, so the other verbs' flags are not
// built, propagated and dropped at each start of the client (about half of `pmtui ls`'s
// instructions before this). What inspects the whole tree (man pages, completions) calls
// `Command::build` first.
#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum Command {
    /// Run the daemon in the foreground (other verbs start it when needed).
    Daemon,
    /// Connect standard input and output to this host's daemon socket (starting the
    /// daemon), byte for byte; what `--host` runs on the far side over ssh.
    #[command(name = "dial-stdio")]
    DialStdio,
    /// Named hosts: `context add prod ssh://deploy@web1`, `context use prod`, `ls`, `rm`.
    Context {
        #[command(subcommand)]
        action: ContextAction,
    },
    /// Open the live monitor: a card per process and the merged output (`pmtui` alone opens
    /// the dashboard).
    #[command(alias = "monitor")]
    Monit,
    /// Start a script, binary or command string (or restart the process of that name).
    Start(Box<StartArgs>),
    /// Stop processes: name, id, namespace, /regex/, `all`, or an ecosystem file's apps.
    Stop(ActArgs),
    /// Restart processes (starting stopped ones), or an ecosystem file's apps.
    Restart(RestartArgs),
    /// Rolling reload: replace instances one at a time (or --parallel K), each new one
    /// started and ready before the old one stops.
    Reload(ReloadArgs),
    /// Stop processes and forget them.
    #[command(alias = "del")]
    Delete(ActArgs),
    /// Write the running processes as an ecosystem file that `start` reads back.
    Export(ExportArgs),
    /// List processes.
    #[command(visible_alias = "list", alias = "ps", alias = "status", alias = "l")]
    Ls(JsonFlag),
    /// List processes as JSON (`ls --json`).
    Jlist,
    /// Everything known about processes.
    #[command(visible_alias = "desc", alias = "info", alias = "show")]
    Describe(TargetArgs),
    /// Print the environment a process runs with.
    Env(TargetArgs),
    /// Print the pids of running processes, one per line (all when no target is given).
    Pid(PidArgs),
    /// Send a signal to processes: `pmtui signal SIGUSR1 web`.
    #[command(alias = "sendSignal")]
    Signal {
        /// Signal name or number (SIGUSR1, USR1, 10).
        signal: String,
        #[command(flatten)]
        targets: TargetArgs,
    },
    /// Add or remove instances without restarting the others: `scale web 4`, `+2`, `-1`.
    Scale {
        /// The app's name.
        name: String,
        /// N instances, or +K / -K from the count now.
        #[arg(allow_hyphen_values = true, value_name = "N|+K|-K")]
        count: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Zero the restart counters.
    Reset(TargetArgs),
    /// Turn file watching on or off without a restart: `pmtui watch web on`, `pmtui watch
    /// all off` (`on` watches the configured paths, else the working directory).
    Watch {
        /// Names, ids, namespaces, /regex/ or `all`, then `on` or `off`.
        #[arg(required = true, num_args = 2.., value_name = "TARGET… on|off")]
        words: Vec<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Run tasks (apps with a `schedule`) now, whatever their schedule says.
    Run(TargetArgs),
    /// Print what happens to processes as it happens (start, exit, crash, restart, …) until
    /// interrupted; `--json` prints one JSON object a line.
    Events(EventsArgs),
    /// Save the process list to dump.json for `resurrect`.
    #[command(alias = "dump")]
    Save {
        /// Save even an empty list.
        #[arg(long)]
        force: bool,
        #[arg(long)]
        json: bool,
    },
    /// Start the processes saved by `save`.
    Resurrect(JsonFlag),
    /// Check the daemon (starting it if needed).
    Ping(JsonFlag),
    /// Stop every process and the daemon.
    Kill,
    /// Print recent log lines, and follow new ones.
    #[command(alias = "log")]
    Logs(LogsArgs),
    /// Empty log files.
    Flush { targets: Vec<String> },
    /// Reopen every log file (after an external logrotate).
    #[command(alias = "reloadLogs")]
    ReloadLogs,
    /// CPU and memory of process trees and the host: a table, JSON, or Prometheus text.
    Metrics(MetricsArgs),
    /// Install a boot unit that brings your apps back after a reboot (systemd; launchd on
    /// macOS). Without root, prints the command to run (or use --user).
    Startup(StartupArgs),
    /// Remove the boot unit `startup` installed.
    Unstartup(StartupArgs),
    /// Write a commented ecosystem file to start from (pm2's `init`, `ecosystem`).
    #[command(visible_alias = "ecosystem")]
    Init {
        /// File to write (default ecosystem.yaml); .yaml, .json, .toml or .config.js.
        file: Option<PathBuf>,
        /// Overwrite the file if it exists.
        #[arg(short, long)]
        force: bool,
    },
    /// Print the JSON Schema of ecosystem files, for editors (see docs/configuration.md).
    Schema {
        /// The schema of the daemon's config.toml instead.
        #[arg(long)]
        settings: bool,
    },
    /// Print the shell completion script: `pmtui completion bash > ~/.local/share/bash-completion/completions/pmtui`.
    Completion {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
    /// Write the man pages (pmtui.1 and pmtui-<verb>.1) into DIR; without DIR print pmtui.1.
    Man {
        /// Folder to write the pages to (created if missing).
        dir: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ContextAction {
    /// Name a host: `pmtui context add prod ssh://deploy@web1:22`.
    Add {
        name: String,
        /// ssh://[user@]host[:port]
        url: String,
        /// pmtui on that host, when not `pmtui` on its PATH.
        #[arg(long = "bin", value_name = "PATH")]
        bin: Option<String>,
        /// Replace a context of that name.
        #[arg(short, long)]
        force: bool,
    },
    /// List the contexts, the one in use marked.
    #[command(alias = "list")]
    Ls {
        #[arg(long)]
        json: bool,
    },
    /// Use this context from now on (`local`: this host).
    Use { name: String },
    /// Forget a context.
    #[command(alias = "remove")]
    Rm { name: String },
    /// Print the context in use.
    Show,
}

/// The service managers `startup` writes for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum InitSystem {
    Systemd,
    Launchd,
}

#[derive(Debug, Args)]
pub struct StartupArgs {
    /// systemd (the default on Linux) or launchd (macOS).
    pub platform: Option<InitSystem>,
    /// A unit of your own service manager (systemd --user, a launchd agent): no root needed.
    #[arg(long)]
    pub user: bool,
    /// Print the unit and where it goes; change nothing.
    #[arg(long)]
    pub print: bool,
    /// Whose apps (default: you, or the user who ran sudo).
    #[arg(short = 'u', long = "run-as", value_name = "USER")]
    pub run_as: Option<String>,
    /// That user's home, as pm2's --hp (PMTUI_HOME becomes DIR/.pmtui).
    #[arg(long = "hp", value_name = "DIR")]
    pub home: Option<PathBuf>,
    /// The unit's name (default pmtui-USER.service; pmtui.service with --user).
    #[arg(long, value_name = "NAME")]
    pub service_name: Option<String>,
    /// Install into a system image mounted at DIR (as systemctl --root): files and links
    /// only; nothing on this machine changes.
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct JsonFlag {
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct TargetArgs {
    /// Names, ids, namespaces, /regex/, script files or `all`.
    #[arg(required = true)]
    pub targets: Vec<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct EventsArgs {
    /// Names, ids, namespaces, /regex/ or `all` (default: every process, also later ones).
    pub targets: Vec<String>,
    /// One JSON object a line (the hook's event JSON).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct PidArgs {
    /// Names, ids, namespaces, /regex/, script files or `all` (default).
    pub targets: Vec<String>,
    /// Print JSON: `[{"id", "name", "pid"}]`, stopped processes with a null pid.
    #[arg(long)]
    pub json: bool,
}

// Targets, or one ecosystem file with `--only`/`--env`.
#[derive(Debug, Args)]
pub struct ActArgs {
    #[command(flatten)]
    pub targets: TargetArgs,
    #[command(flatten)]
    pub file: FileFlags,
}

// What selects the apps of an ecosystem file.
#[derive(Debug, Args)]
pub struct FileFlags {
    /// With a file: act only on these apps (comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "APPS")]
    pub only: Vec<String>,
    /// With a file: merge the `env_<NAME>` block over `env`.
    #[arg(long = "env", value_name = "NAME")]
    pub env: Option<String>,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// json/yaml/toml: the file to write (default: standard output; its extension picks
    /// the format). systemd/compose/kubernetes/procfile: the apps to export (names, ids,
    /// namespaces; default all), or ecosystem files read here.
    #[arg(value_name = "FILE|TARGETS")]
    pub args: Vec<String>,
    /// json, yaml or toml (an ecosystem file; default: from the file's extension, else
    /// json), or systemd, compose, kubernetes, procfile (for an orchestrator).
    #[arg(long, value_parser = ["json", "yaml", "yml", "toml", "systemd", "compose", "kubernetes", "procfile"])]
    pub format: Option<String>,
    /// With an orchestrator format: write the files into DIR (created if missing) instead
    /// of printing them.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RestartArgs {
    /// Names, ids, namespaces, /regex/, script files or `all`; or one ecosystem file (`-`
    /// reads it from standard input).
    #[arg(required = true)]
    pub targets: Vec<String>,
    /// With a file: act only on these apps (comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "APPS")]
    pub only: Vec<String>,
    /// Take the environment of this shell instead of the one the process was started with.
    #[arg(short = 'a', long)]
    pub update_env: bool,
    /// With a file: every warning (an unknown key, a key without effect) is an error.
    #[arg(long)]
    pub strict: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Options given are written into the definition before the restart, as pm2 does.
    #[command(flatten)]
    pub opts: ProcessFlags,
}

#[derive(Debug, Args)]
pub struct ReloadArgs {
    #[command(flatten)]
    pub base: RestartArgs,
    /// Instances replaced at once (default 1): each new one is started and ready before
    /// its old one is stopped.
    #[arg(long, value_name = "K", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub parallel: u32,
}

#[derive(Debug, Args)]
pub struct StartArgs {
    /// Scripts (app.py, server.js…), executables, command strings in quotes, or ecosystem
    /// files (*.json, *.yaml, *.toml, *.config.js; `-` reads JSON from standard input).
    /// Several start one after the other, each with the options and arguments given.
    #[arg(required_unless_present = "local_file", value_name = "SCRIPT")]
    pub scripts: Vec<String>,
    /// With --host: read this ecosystem file here and send its content to the remote
    /// host, where it is applied (its relative paths are taken from the remote user's
    /// home, or the file's `cwd`). Without --host, the same as giving the file.
    #[arg(long, value_name = "FILE")]
    pub local_file: Option<PathBuf>,
    /// What standard input (`start -`) holds, named as a file whose extension gives the
    /// format (what --local-file sends to the remote host).
    #[arg(long, value_name = "NAME", hide = true)]
    pub content_name: Option<String>,
    /// With a file: start only these apps (comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "APPS")]
    pub only: Vec<String>,
    /// Start a duplicate even if this script already runs under this name.
    #[arg(short = 'f', long)]
    pub force: bool,
    /// With a file: also restart the apps that already run unchanged, as pm2's `start
    /// <file>` does (the same as `pmtui restart <file>`).
    #[arg(long)]
    pub restart: bool,
    /// When the name exists, restart it with this shell's environment.
    #[arg(short = 'a', long)]
    pub update_env: bool,
    /// With a file: every warning (an unknown key, a key without effect) is an error.
    #[arg(long)]
    pub strict: bool,
    /// With a file: return once the apps are started, without waiting until each is ready
    /// (by default `start <file>` waits, in dependency order, and fails if one is not).
    #[arg(long)]
    pub no_wait: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub opts: ProcessFlags,
}

// The options that describe a process: given to `start`, they define it; given to
// `restart`/`reload` (or to `start <name>`), they are written into its definition, as pm2
// updates the stored config from the flags of either.
#[derive(Debug, Default, PartialEq, Args)]
pub struct ProcessFlags {
    /// Process name (default: the script's name); with `restart`, renames.
    #[arg(short = 'n', long)]
    pub name: Option<String>,
    /// Number of instances: N, `max` (one per CPU), or -N (CPUs minus N).
    #[arg(short = 'i', long, allow_hyphen_values = true)]
    pub instances: Option<String>,
    /// Working directory (default: the current one).
    #[arg(long)]
    pub cwd: Option<PathBuf>,
    /// KEY=VALUE added to the environment (repeatable); with a file, a bare NAME selects
    /// its `env_<NAME>` block.
    #[arg(long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// Namespace, a group to act on together.
    #[arg(long)]
    pub namespace: Option<String>,
    /// Milliseconds (or "5s") between the stop signal and SIGKILL.
    #[arg(short = 'k', long)]
    pub kill_timeout: Option<String>,
    /// Signal sent on stop (default SIGTERM; pm2 uses SIGINT).
    #[arg(long)]
    pub stop_signal: Option<String>,
    /// User to run as, a name or a number (needs a daemon running as root).
    #[arg(long, value_name = "USER")]
    pub uid: Option<String>,
    /// Group to run as, a name or a number (default: the user's primary group).
    #[arg(long, value_name = "GROUP")]
    pub gid: Option<String>,
    /// Stop only the main process, leaving its descendants running (pm2's `treekill: false`).
    #[arg(long)]
    pub no_treekill: bool,
    /// Program that runs the script (`none` to run it directly).
    #[arg(long)]
    pub interpreter: Option<String>,
    /// Arguments for the interpreter (`null` clears them).
    #[arg(long, alias = "node-args", allow_hyphen_values = true)]
    pub interpreter_args: Option<String>,
    /// Write the pid to this file (`app.pid` becomes `app-<id>.pid`, as pm2 does) instead
    /// of `$PMTUI_HOME/pids/<name>-<id>.pid`.
    #[arg(short = 'p', long = "pid", value_name = "FILE")]
    pub pid_file: Option<PathBuf>,
    /// Do not restart the process when it exits (same as `--restart-mode no`).
    #[arg(long, conflicts_with = "restart_mode", help_heading = "Restart policy")]
    pub no_autorestart: bool,
    // The flattened groups come last: a group's heading also covers every flag declared
    // after it, so `--force` would otherwise be listed under "Restart policy".
    #[command(flatten)]
    pub cluster: ClusterFlags,
    #[command(flatten)]
    pub restart: RestartFlags,
    #[command(flatten)]
    pub ready: ReadyFlags,
    #[command(flatten)]
    pub logs: LogFlags,
    #[command(flatten)]
    pub watch: WatchFlags,
    /// Arguments for the program, after `--`.
    #[arg(last = true)]
    pub args: Vec<String>,
}

// How the instances of `start` share sockets and tell themselves apart (see the README's
// "Cluster mode and reload").
#[derive(Debug, Default, PartialEq, Args)]
#[command(next_help_heading = "Cluster mode")]
pub struct ClusterFlags {
    /// A socket the daemon binds and hands to every instance from fd 3 (repeatable):
    /// tcp://127.0.0.1:3000, tcp://[::]:8080, 3000, unix:/run/app.sock, name=tcp://….
    #[arg(long = "listen", value_name = "ADDR")]
    pub listen: Vec<String>,
    /// `fork` (independent copies, no Node preload) or `cluster` (instances share the
    /// daemon's sockets); default: cluster with --listen or for a Node script with -i > 1.
    #[arg(long, value_name = "MODE", value_parser = ["fork", "cluster"])]
    pub exec_mode: Option<String>,
    /// Variable set per instance to its value (or 0) plus the instance number, e.g. PORT.
    #[arg(long, value_name = "VAR")]
    pub increment_var: Option<String>,
    /// Variable that carries the instance number (default NODE_APP_INSTANCE).
    #[arg(long, value_name = "VAR")]
    pub instance_var: Option<String>,
    /// How long `reload` waits for a new instance to be ready, and --wait-ready for the
    /// app's signal (default 3s).
    #[arg(long, value_name = "DURATION")]
    pub listen_timeout: Option<String>,
}

// The restart policy flags of `start` (see the README's "Restart policies").
#[derive(Debug, Default, PartialEq, Args)]
#[command(next_help_heading = "Restart policy")]
pub struct RestartFlags {
    /// When to restart: always (default), on-failure (non-zero exit or signal), no.
    #[arg(long, value_name = "MODE")]
    pub restart_mode: Option<pmtui_proto::RestartMode>,
    /// Unstable restarts allowed before the process is errored (default 16).
    #[arg(long, value_name = "N")]
    pub max_restarts: Option<u32>,
    /// A run shorter than this is unstable (default 1000 ms; "1s", "1m30s" work).
    #[arg(long, value_name = "DURATION")]
    pub min_uptime: Option<String>,
    /// Count unstable restarts only within this sliding window (default: since the last
    /// stable period).
    #[arg(long, value_name = "DURATION")]
    pub time_window: Option<String>,
    /// Wait this long before every restart (fixed backoff).
    #[arg(
        long,
        value_name = "DURATION",
        conflicts_with = "exp_backoff_restart_delay"
    )]
    pub restart_delay: Option<String>,
    /// Exponential backoff: wait this long before the first restart, then × factor.
    #[arg(long, value_name = "DURATION")]
    pub exp_backoff_restart_delay: Option<String>,
    /// Growth per restart of the exponential backoff (default 1.5).
    #[arg(long, value_name = "FACTOR")]
    pub backoff_factor: Option<f64>,
    /// Cap of the exponential backoff delay (default 15s).
    #[arg(long, value_name = "DURATION")]
    pub backoff_max_delay: Option<String>,
    /// Up this long, the backoff and unstable count reset (default 30s).
    #[arg(long, value_name = "DURATION")]
    pub stable_after: Option<String>,
    /// Exit codes that never restart: `--stop-exit-codes 0,3` or `--stop-exit-codes 0 3`.
    #[arg(long, value_name = "CODES", num_args = 1.., value_delimiter = ',', allow_negative_numbers = true)]
    pub stop_exit_codes: Vec<i32>,
    /// Restart on a schedule: 5 cron fields, or 6 with seconds first (local time).
    #[arg(short = 'c', long, alias = "cron", value_name = "PATTERN")]
    pub cron_restart: Option<String>,
    /// Make it a task: run it to its exit at each firing of this cron pattern (5 fields, or
    /// 6 with seconds first; local time), `scheduled` in between; starting does not run it.
    #[arg(long, value_name = "CRON", conflicts_with = "cron_restart")]
    pub schedule: Option<String>,
    /// Let `--cron-restart` also start the process when it is stopped or errored.
    #[arg(long, requires = "cron_restart")]
    pub cron_revive: bool,
    /// Restart when the process tree's memory exceeds this size ("500M", "1G", bytes).
    #[arg(long, value_name = "SIZE")]
    pub max_memory_restart: Option<String>,
}

// Health checks and readiness (see the README's "Health and readiness").
#[derive(Debug, Default, PartialEq, Args)]
#[command(next_help_heading = "Health and readiness")]
pub struct ReadyFlags {
    /// Ready (and `online`) only once the app says so: sd_notify READY=1, or in Node
    /// process.send('ready'); or after --listen-timeout.
    #[arg(long)]
    pub wait_ready: bool,
    /// Restart the app unless it sends sd_notify WATCHDOG=1 at least this often.
    #[arg(long, value_name = "DURATION")]
    pub watchdog: Option<String>,
    /// Health probe: GET this http:// URL; healthy on 2xx/3xx.
    #[arg(long, value_name = "URL", conflicts_with_all = ["health_tcp", "health_cmd"])]
    pub health_http: Option<String>,
    /// Health probe: healthy when a connection to PORT (or HOST:PORT) opens.
    #[arg(long, value_name = "PORT", conflicts_with = "health_cmd")]
    pub health_tcp: Option<String>,
    /// Health probe: run CMD with `sh -c` in the app's directory; healthy on exit 0.
    #[arg(long, value_name = "CMD")]
    pub health_cmd: Option<String>,
    /// Time between probes (default 5s).
    #[arg(long, value_name = "DURATION")]
    pub health_interval: Option<String>,
    /// A probe that takes longer fails (default 2s).
    #[arg(long, value_name = "DURATION")]
    pub health_timeout: Option<String>,
    /// Failures in a row that make the process unhealthy (default 3).
    #[arg(long, value_name = "N")]
    pub health_retries: Option<u32>,
    /// Wait this long after the start before the first probe (default 0s).
    #[arg(long, value_name = "DURATION")]
    pub health_initial_delay: Option<String>,
    /// What an unhealthy process gets: restart (default) or none.
    #[arg(long, value_name = "ACTION", value_parser = ["restart", "none"])]
    pub health_on_failure: Option<String>,
}

// File watching (see the README's "Watch").
#[derive(Debug, Default, PartialEq, Args)]
#[command(next_help_heading = "Watch")]
pub struct WatchFlags {
    /// Restart when files change under these paths (relative to the working directory;
    /// folders recursively), or under the working directory when none is given. Put it
    /// after the script, or write `--watch=src,lib`.
    #[arg(short = 'w', long, num_args = 0.., value_delimiter = ',', value_name = "PATH")]
    pub watch: Option<Vec<String>>,
    /// Gitignore-style globs not watched (`dist`, `*.tmp`), on top of node_modules, .git,
    /// *.log, __pycache__, the app's own logs and .gitignore.
    #[arg(long, value_name = "GLOB", num_args = 1.., value_delimiter = ',')]
    pub ignore_watch: Vec<String>,
    /// Quiet time before the one restart of a burst of changes (default 500ms).
    #[arg(long, value_name = "DURATION")]
    pub watch_delay: Option<String>,
    /// Stop watching (on `restart`, or `start` of a process that exists).
    #[arg(long, conflicts_with_all = ["watch", "ignore_watch", "watch_delay"])]
    pub no_watch: bool,
}

// Where and how a started process's output is written (pm2's flags, plus rotation).
#[derive(Debug, Default, PartialEq, Args)]
#[command(next_help_heading = "Logs")]
pub struct LogFlags {
    /// stdout log file (default `$PMTUI_HOME/logs/<name>-out.log`; `/dev/null` or `NULL` disables it).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// stderr log file (default `$PMTUI_HOME/logs/<name>-err.log`; `/dev/null` or `NULL` disables it).
    #[arg(short = 'e', long = "error", value_name = "FILE")]
    pub error: Option<PathBuf>,
    /// Also write both streams to one file (default `$PMTUI_HOME/logs/<name>.log`).
    #[arg(short = 'l', long = "log", value_name = "FILE", num_args = 0..=1, default_missing_value = "")]
    pub log: Option<PathBuf>,
    /// `raw` (default) or `json`: one JSON object per line with time, stream, process, message.
    #[arg(long, value_name = "raw|json")]
    pub log_type: Option<String>,
    /// Prefix each line with its time in this format (strftime, or pm2's dayjs tokens).
    #[arg(long, value_name = "FORMAT")]
    pub log_date_format: Option<String>,
    /// Prefix each line with its time (`%Y-%m-%dT%H:%M:%S`, as pm2's --time).
    #[arg(long)]
    pub time: bool,
    /// Instances share one set of log files instead of `-<id>` files.
    #[arg(long, alias = "combine-logs")]
    pub merge_logs: bool,
    /// Write no log files (output still reaches `pmtui logs -f` and the UI).
    #[arg(long)]
    pub disable_logs: bool,
    /// Rotate a log file when it would exceed this size ("10M", "512K", bytes; 0 = never).
    #[arg(long, value_name = "SIZE")]
    pub log_max_size: Option<String>,
    /// Rotated log files kept.
    #[arg(long, value_name = "N")]
    pub log_max_files: Option<u32>,
    /// Gzip rotated log files.
    #[arg(long)]
    pub log_compress: bool,
}

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Name, id, namespace, /regex/ or `all` (default).
    pub target: Option<String>,
    /// How many recent lines per process (0: only new lines with --follow).
    #[arg(long, default_value_t = 15)]
    pub lines: usize,
    /// Keep printing new lines until interrupted, even when the output is not a terminal
    /// (on a terminal, following is the default, as in pm2).
    #[arg(short = 'f', long, conflicts_with = "nostream")]
    pub follow: bool,
    /// Print the recent lines and exit (the default when the output is not a terminal).
    #[arg(long)]
    pub nostream: bool,
    /// Only stdout.
    #[arg(long)]
    pub out: bool,
    /// Only stderr.
    #[arg(long)]
    pub err: bool,
    /// No `<id>|<name> |` prefix.
    #[arg(long)]
    pub raw: bool,
    /// One JSON object per line.
    #[arg(long)]
    pub json: bool,
    /// Prefix each line with its time; `--timestamp=FORMAT` for another strftime format.
    #[arg(long, value_name = "FORMAT", num_args = 0..=1, require_equals = true, default_missing_value = "")]
    pub timestamp: Option<String>,
    /// Only lines matching this regular expression.
    #[arg(long)]
    pub grep: Option<String>,
}

#[derive(Debug, Args)]
pub struct MetricsArgs {
    /// Names, ids, namespaces, /regex/ or `all` (default: every process).
    pub targets: Vec<String>,
    /// Print the Prometheus text format (what `GET /metrics` serves).
    #[arg(long, conflicts_with = "json")]
    pub prometheus: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Include each process's history (with --json).
    #[arg(long, requires = "json")]
    pub history: bool,
}
