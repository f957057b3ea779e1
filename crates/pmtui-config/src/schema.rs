//! Every key an ecosystem file may use: the seed's names, pm2's flat attributes and their
//! aliases (camelCase forms are accepted for all), with what each is and whether pmtui acts
//! on it yet. This table is the one source of truth: the reader checks files against it,
//! `pmtui schema` (the JSON Schema, `json`) and the reference tables of
//! `docs/configuration.md` and the README (`docs`) are generated from it.
//!
//! Adding a field is one entry: `f(name, aliases, kind, status, doc)`, where `kind` is
//! written in the vocabulary of `kind` ("duration", "number or `max`", …); a field holding
//! a nested block adds `.with(ITS_TABLE)`. Then `PMTUI_UPDATE_DOCS=1 cargo test -p
//! pmtui-config docs` rewrites the generated docs.

pub mod docs;
pub mod json;
pub mod kind;

/// Whether a field does something.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Active,
    /// Parsed and validated; its feature lands later (a warning says so).
    Later(&'static str),
    /// Accepted so pm2 files load, but it means nothing in pmtui (a warning says so).
    NoEffect(&'static str),
}

#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    pub aliases: &'static [&'static str],
    /// The value's type, as the docs show it; also read as a type (`kind::parse`).
    pub kind: &'static str,
    pub status: Status,
    pub doc: &'static str,
    /// The keys of the nested block this field holds (`restart_policy`), if any.
    pub children: &'static [Field],
}

impl Field {
    /// This field holds a block with these keys.
    pub const fn with(self, children: &'static [Field]) -> Field {
        Field { children, ..self }
    }
}

const fn f(
    name: &'static str,
    aliases: &'static [&'static str],
    kind: &'static str,
    status: Status,
    doc: &'static str,
) -> Field {
    Field {
        name,
        aliases,
        kind,
        status,
        doc,
        children: &[],
    }
}

use Status::{Active, NoEffect};

const NODE_ONLY: Status = NoEffect("a Node.js-only pm2 feature");

/// The keys of one app.
#[rustfmt::skip]
pub static APP: &[Field] = &[
    f("name", &[], "string", Active, "Process name (default: the script's name without extension)."),
    f("script", &["exec", "cmd", "command"], "string", Active, "File to run (relative to `cwd`), a command in PATH, or a command string with spaces (run by `sh -c`). Required."),
    f("args", &[], "list or string", Active, "Arguments for the script; a string is split shell-style."),
    f("interpreter", &["exec_interpreter"], "string", Active, "Program that runs the script (`none` runs it directly). Default by extension: .py python3, .js node, .sh bash, .rb ruby, .pl perl, .php php."),
    f("interpreter_args", &["node_args"], "list or string", Active, "Arguments for the interpreter, before the script."),
    f("cwd", &[], "path", Active, "Working directory, relative to the file's folder (default: the file's folder)."),
    f("namespace", &[], "string", Active, "Group to act on together (default `default`)."),
    f("name_prefix", &[], "string", Active, "Prefix for the name: `prefix:name`."),
    f("instances", &[], "number or `max`", Active, "Copies to run; `max`/0 = one per CPU, -N = CPUs minus N."),
    f("exec_mode", &["execMode"], "`fork`, `cluster`, `fork_mode` or `cluster_mode`", Active, "`cluster`: the instances share the sockets the daemon holds (`listen`, or a Node app's `PORT`), and a Node app's `server.listen(PORT)` uses them unchanged. Default: `cluster` for an app with `listen` or a Node script with several instances, else `fork`. `fork` turns the Node preload off."),
    f("listen", &[], "string, number or list", Active, "Sockets the daemon binds once and hands to every instance (socket activation: fds from 3, `LISTEN_FDS`, `LISTEN_PID`, `LISTEN_FDNAMES`): `tcp://127.0.0.1:3000`, `tcp://[::]:8080`, a bare port (every address), `unix:/run/app.sock` (relative to `cwd`), each optionally named `web=…`. Kept open across restarts and reloads."),
    f("env", &[], "table", Active, "Variables over the shell's environment. Values may be strings, numbers or booleans; null removes an inherited variable."),
    f("env_file", &[], "path or list", Active, "dotenv file(s) (`KEY=VALUE` lines), relative to the app's `cwd`; `env` overrides them. A regular file of at most 1 MiB."),
    f("filter_env", &[], "bool, string or list", Active, "`true` = do not inherit the shell's environment; strings drop inherited variables whose name starts with them."),
    f("append_env_to_name", &[], "bool", Active, "With `--env NAME`, the process is named `name-NAME`."),
    f("port", &[], "number", Active, "Sets `PORT` in the environment."),
    f("increment_var", &[], "string", Active, "A variable set per instance to its value in `env` (or 0) plus the instance number: `increment_var: PORT` with `PORT: 3000` gives 3000, 3001, …"),
    f("instance_var", &[], "string", Active, "The variable that carries the instance number (default `NODE_APP_INSTANCE`; `PMTUI_INSTANCE` is always set)."),
    f("autostart", &[], "bool", Active, "`false` adds the process stopped."),
    f("autorestart", &[], "bool", Active, "`false` = never restart on exit (restart_policy.mode `no`)."),
    f("restart_policy", &[], "table", Active, "The seed's restart policy: see below.").with(RESTART_POLICY),
    f("max_restarts", &[], "number", Active, "Unstable restarts allowed in the window before `errored` (default 16)."),
    f("min_uptime", &[], "duration", Active, "A run shorter than this is unstable (default 1s)."),
    f("restart_delay", &[], "duration", Active, "Fixed delay before a restart (backoff `fixed`)."),
    f("exp_backoff_restart_delay", &[], "duration", Active, "First delay of an exponential backoff (x1.5 each time, up to 15s)."),
    f("stop_exit_codes", &[], "number or list", Active, "Exit codes that are not restarted."),
    f("cron_restart", &["cron"], "string, `0`, `false` or `null`", Active, "Cron expression (5 or 6 fields) for scheduled restarts; `0` or `false` disables it."),
    f("cron_revive", &[], "bool", Active, "Let `cron_restart` also start a stopped or errored process (pm2 always does; default false)."),
    f("schedule", &[], "string", Active, "Cron pattern (5 fields, or 6 with seconds first) that makes the app a task: applying it does not run it, each firing runs it to its exit and it is `scheduled` in between. See the README's Tasks."),
    f("timezone", &["tz"], "string", Active, "Time zone the `schedule` is read in (`Europe/Paris`; default the daemon's local time)."),
    f("retries", &[], "number", Active, "Task: a failed run is tried again this many times, after the app's backoff (`restart_delay`, `restart_policy.backoff`); default 0. Exit 0 is never run again."),
    f("overlap", &[], "`skip`, `queue` or `replace`", Active, "Task: what a firing does while the previous run is still going: drop it (default `skip`), run once more after it (`queue`), or stop it and start anew (`replace`)."),
    f("timeout", &[], "duration", Active, "Task: a run that takes longer is stopped (its whole tree), recorded with reason `timeout` (a failure: `retries` apply)."),
    f("hooks", &[], "table", Active, "Commands or webhooks run on events of this app: `hooks: { crash: \"./notify.sh\", exit: { webhook: \"http://…\", timeout: 5s } }`. A hook is a command (`sh -c`, in the app's `cwd`, the event JSON on stdin) or a table with `command` or `webhook` (the event JSON POSTed to an `http://` or `https://` URL; `ca_file` for a private CA) and `timeout` (default 10s, then its tree is killed). See the README's Hooks and events.").with(HOOKS),
    f("max_memory_restart", &[], "size", Active, "Restart when the process tree's memory exceeds this (`500M`, `1G`; 1024-based)."),
    f("kill_timeout", &[], "duration", Active, "Time between the stop signal and SIGKILL (default 1600 ms, or the daemon's `kill_timeout`)."),
    f("stop_signal", &["kill_signal"], "string", Active, "Signal sent on stop (default SIGTERM)."),
    f("treekill", &[], "bool", Active, "`false`: stop signals only the main process and leaves its descendants running, and an exit leaves what the run started (default `true`: the whole tree; recovery after a daemon crash always ends the whole tree)."),
    f("kill_retry_time", &[], "duration", NoEffect("pmtui waits on the process itself, it does not poll"), "pm2's liveness poll interval while stopping."),
    f("shutdown_with_message", &[], "bool", NODE_ONLY, "pm2 sends an IPC message instead of a signal."),
    f("wait_ready", &[], "bool", Active, "Ready (and `online`) only once the app says so: sd_notify `READY=1` (any language), or Node's `process.send('ready')`. Status stays `launching` until then."),
    f("listen_timeout", &[], "duration", Active, "How long `wait_ready` waits for the signal (default 3s, pm2's); then the process is `online` but not ready. A rolling `reload` waits this long for a new instance without `wait_ready` or a probe (see Rolling reload)."),
    f("health_check", &["healthcheck"], "table", Active, "A probe the daemon runs: its first pass makes a run ready, `retries` failures in a row make it unhealthy (and restart it): see below.").with(HEALTH_CHECK),
    f("watchdog", &[], "duration", Active, "systemd's watchdog: once ready, the app must send sd_notify `WATCHDOG=1` at least this often (it gets `WATCHDOG_USEC` and `WATCHDOG_PID`), or it is restarted (history reason `watchdog`)."),
    f("node_metrics", &[], "bool", Active, "Node apps (run by `node`): pmtui's preload reports event-loop lag (mean, p99), heap used/total and active handles over the IPC channel at the metrics interval, with no code change (default `true`; `false` turns it off). See the README's Application metrics."),
    f("metrics_url", &[], "string", Active, "A Prometheus text endpoint (`http://…` only) the daemon scrapes at the metrics interval (timeout: the interval, at most 5s; at most 1 MiB read): its series join the app's metrics."),
    f("metrics_keep", &[], "list or string", Active, "The series of `metrics_url` kept (at most 32): a name keeps all its label sets, `name{labels}` that one. Default: the first 20 series the endpoint lists."),
    f("depends_on", &["depends"], "list, string or table", Active, "Apps of the same file this one starts after: a name or a list of names (each must be ready), or a table `{ db: { condition: started | ready | completed } }` (`completed`: exited with code 0, for a migration; `{ db: completed }` is short for it). Independent apps start together; stop and `kill` go in reverse order; recovery and `resurrect` follow it. An unknown name or a cycle is an error."),
    f("log", &[], "table, path, bool or `null`", Active, "The seed's log block (see below); pm2's `log` (a path, or `true`) is `log_file`.").with(LOG),
    f("out_file", &["output", "out", "out_log"], "path or `null`", Active, "stdout file (default `$PMTUI_HOME/logs/<name>-out.log`); `/dev/null` or pm2's `NULL` disables it."),
    f("error_file", &["error", "err", "err_file", "err_log"], "path or `null`", Active, "stderr file (default `$PMTUI_HOME/logs/<name>-err.log`)."),
    f("log_file", &[], "path, bool or `null`", Active, "Combined stdout+stderr file; `true` = `$PMTUI_HOME/logs/<name>.log`."),
    f("merge_logs", &["combine_logs"], "bool", Active, "Instances share one file instead of `-<id>` files."),
    f("log_date_format", &[], "string", Active, "Timestamp prefix format for each line."),
    f("time", &[], "bool", Active, "Prefix each line with the default timestamp."),
    f("log_type", &[], "`raw` or `json`", Active, "`json` writes one JSON object per line."),
    f("disable_logs", &[], "bool", Active, "Write no log files (stdout and stderr go to /dev/null)."),
    f("pid_file", &["pid"], "path", Active, "Where the pid is written, relative to `cwd` (default `$PMTUI_HOME/pids/<name>-<id>.pid`); as in pm2, `app.pid` becomes `app-<id>.pid`."),
    f("watch", &[], "bool, path, list or table", Active, "Restart when files change (history reason `watch`, naming the first changed path): `true` watches `cwd`; a path or a list of paths (relative to `cwd`; folders recursively); or the seed's block, see below. Always ignored: `node_modules`, `.git`, `*.log`, `__pycache__`, the app's own log and pid files, and what `.gitignore` says inside a git work tree.").with(WATCH),
    f("ignore_watch", &[], "list or path", Active, "Gitignore-style globs not watched (`dist`, `*.tmp`, `/cache`), on top of the defaults."),
    f("watch_delay", &[], "duration", Active, "The debounce: one restart once changes have been quiet this long (default 500 ms)."),
    f("watch_options", &[], "table", NoEffect("chokidar's options; pmtui watches with inotify: use `ignore_watch` and `watch_delay`"), "pm2's options for chokidar."),
    f("uid", &["user"], "string or number", Active, "User to run as, with its groups and HOME/USER/LOGNAME; needs a daemon running as root (refused otherwise); see the README's Running as another user."),
    f("gid", &[], "string or number", Active, "Group to run as (default: the user's primary group); needs a daemon running as root."),
    f("force", &[], "bool", NoEffect("a file's apps are applied by name"), "pm2: start a duplicate."),
    f("execute_command", &[], "bool", NoEffect("pmtui always runs N fork copies"), "pm2: force fork mode."),
    f("vizion", &[], "bool", NoEffect("git metadata is not collected"), "pm2's git metadata."),
    f("source_map_support", &[], "bool", NODE_ONLY, ""),
    f("disable_source_map_support", &[], "bool", NODE_ONLY, ""),
    f("pmx", &[], "bool", NODE_ONLY, ""),
    f("automation", &[], "bool", NODE_ONLY, ""),
    f("trace", &[], "bool", NODE_ONLY, ""),
    f("disable_trace", &[], "bool", NODE_ONLY, ""),
    f("v8", &[], "bool", NODE_ONLY, ""),
    f("event_loop_inspector", &[], "bool", NODE_ONLY, ""),
    f("deep_monitoring", &[], "bool", NODE_ONLY, ""),
    f("io", &[], "table", NODE_ONLY, ""),
    f("windowsHide", &["windows_hide"], "bool", NoEffect("Windows only"), ""),
    f("post_update", &[], "list", NoEffect("legacy pm2 key"), ""),
    f("install_url", &[], "string", NoEffect("legacy pm2 key"), ""),
];

/// The keys of `restart_policy`.
#[rustfmt::skip]
pub static RESTART_POLICY: &[Field] = &[
    f("mode", &[], "`always`, `on-failure`, `no`, `on_failure`, `never` or bool", Active, "When an exit is restarted (default `always`; `true` = `always`, `false` = `no`)."),
    f("max_restarts", &[], "number", Active, "Unstable restarts allowed in the window (default 16)."),
    f("min_uptime", &[], "duration", Active, "A run shorter than this is unstable (default 1s)."),
    f("time_window", &[], "duration", Active, "Window in which unstable restarts count (default min_uptime x max_restarts)."),
    f("backoff", &[], "table", Active, "Delay between restarts: see below.").with(BACKOFF),
    f("stop_exit_codes", &[], "number or list", Active, "Exit codes that are not restarted."),
    f("stable_after", &[], "duration", Active, "After this much uptime the backoff and unstable count reset (default 30s)."),
];

/// The keys of `health_check`.
#[rustfmt::skip]
pub static HEALTH_CHECK: &[Field] = &[
    f("type", &["kind"], "`http`, `tcp`, `exec`, `command` or `cmd`", Active, "How to probe (default: `http` with a `url`, `tcp` with a `port`, `exec` with a `command`)."),
    f("url", &[], "string", Active, "`http`: the URL to GET (`http://` only); healthy on 2xx/3xx (see `expected_status`)."),
    f("host", &[], "string", Active, "`tcp`: the host to connect to (default 127.0.0.1)."),
    f("port", &[], "number", Active, "`tcp`: healthy when a connection to this port opens."),
    f("command", &["cmd"], "string", Active, "`exec`: a command run by `sh -c` in the app's cwd, environment and user; healthy on exit 0; its tree is killed at the timeout."),
    f("interval", &[], "duration", Active, "Time between probes (default 5s)."),
    f("timeout", &[], "duration", Active, "A probe that takes longer fails (default 2s)."),
    f("retries", &[], "number", Active, "Failures in a row that make the process unhealthy (default 3)."),
    f("initial_delay", &[], "duration", Active, "Wait this long after the start before the first probe (default 0s)."),
    f("on_failure", &[], "`restart` or `none`", Active, "What an unhealthy process gets: restarted (default, history reason `health check`) or left running."),
    f("expected_status", &[], "number, string or list", Active, "`http`: the statuses that pass: a code, a range `\"200-299\"`, `\"2xx\"`, or a list of these (default 200-399)."),
];

/// The keys of the seed's `watch` block.
#[rustfmt::skip]
pub static WATCH: &[Field] = &[
    f("enabled", &[], "bool", Active, "`false` keeps the settings but watches nothing (default true)."),
    f("paths", &[], "path or list", Active, "Files or folders to watch, relative to `cwd` (default: `cwd`)."),
    f("ignore", &["ignore_watch"], "string or list", Active, "Gitignore-style globs not watched, on top of the defaults."),
    f("debounce", &["delay", "watch_delay"], "duration", Active, "Quiet time before the one restart of a burst (default 500 ms)."),
];

/// The keys of a `hooks` block: one per event.
#[rustfmt::skip]
pub static HOOKS: &[Field] = &[
    f("start", &[], "string or table", Active, "A run started (its pid is known)."),
    f("exit", &[], "string or table", Active, "A run ended, for whatever reason (stop, crash, restart)."),
    f("crash", &[], "string or table", Active, "A run ended on its own with a non-zero code or a signal."),
    f("restart", &[], "string or table", Active, "The process is started again (the restart count grows)."),
    f("errored", &[], "string or table", Active, "The process gave up (crash loop, spawn error)."),
    f("memory_limit", &[], "string or table", Active, "A run was restarted for `max_memory_restart`."),
    f("health", &[], "string or table", Active, "The health probe's verdict changed (`healthy` / `unhealthy`)."),
    f("watch", &[], "string or table", Active, "A run was restarted because a watched file changed."),
    f("task_done", &[], "string or table", Active, "A task run exited with code 0."),
    f("task_failed", &[], "string or table", Active, "A task run failed (non-zero code, signal or `timeout`)."),
];

/// The keys of one hook written as a table.
#[rustfmt::skip]
pub static HOOK: &[Field] = &[
    f("command", &["cmd"], "string", Active, "Run by `sh -c` (in the app's `cwd`; `$PMTUI_HOME` for global hooks) with the event as one JSON line on stdin and `PMTUI_EVENT`, `PMTUI_NAME`, `PMTUI_ID`, `PMTUI_EXIT_CODE`, `PMTUI_SIGNAL`, `PMTUI_REASON` in its environment."),
    f("webhook", &["url"], "string", Active, "An `http://` or `https://` URL the event JSON is POSTed to (TLS by rustls; the server's certificate is checked against Mozilla's roots, built in, and `ca_file`)."),
    f("ca_file", &[], "path", Active, "For an `https://` webhook: a PEM file of CA certificates trusted besides the built-in roots (a private CA, a self-signed server). Relative to the app's `cwd` (`$PMTUI_HOME` for global hooks); read at each POST."),
    f("timeout", &[], "duration", Active, "After this a command's process tree is killed, a webhook abandoned (default 10s)."),
];

/// The keys of `restart_policy.backoff`.
#[rustfmt::skip]
pub static BACKOFF: &[Field] = &[
    f("type", &["kind"], "`fixed` or `exponential`", Active, "Default `fixed`."),
    f("delay", &[], "duration", Active, "First delay (default 0)."),
    f("max_delay", &[], "duration", Active, "Upper bound (default 15s)."),
    f("factor", &[], "number", Active, "Growth per restart for `exponential` (default 1.5)."),
];

/// The keys of the seed's `log` block.
#[rustfmt::skip]
pub static LOG: &[Field] = &[
    f("out_file", &["out"], "path or `null`", Active, "stdout file."),
    f("error_file", &["err", "error"], "path or `null`", Active, "stderr file."),
    f("log_file", &["combined"], "path or `null`", Active, "Combined file."),
    f("max_size", &[], "size", Active, "Rotate a file past this size (default: the daemon's `log_max_size`)."),
    f("max_files", &[], "number", Active, "Rotated files kept (default: the daemon's `log_max_files`)."),
    f("compress", &[], "bool", Active, "Gzip rotated files."),
    f("date_format", &[], "string", Active, "Timestamp prefix format."),
    f("format", &["type"], "`raw` or `json`", Active, "Line format."),
    f("merge_logs", &["merge"], "bool", Active, "Instances share one file."),
];

/// The keys of the document around the apps.
#[rustfmt::skip]
pub static TOP: &[Field] = &[
    f("apps", &["pm2"], "list or table", Active, "The apps (a table is one app).").with(APP),
    f("$schema", &[], "string", Active, "The JSON Schema an editor checks the file with (`pmtui schema` writes it); pmtui ignores it."),
    f("deploy", &[], "table", Active, "pm2's deploy targets: with `--env NAME`, `deploy.NAME.env` is the lowest layer of every app's environment (under `env` and `env_NAME`), as in pm2; the rest (ssh deploys) is not used by pmtui."),
    f("static", &[], "list", NoEffect("pm2's built-in static server is not supported"), "pm2 static servers."),
];

/// The keys of the daemon's `$PMTUI_HOME/config.toml` (or `config.json`).
#[rustfmt::skip]
pub static SETTINGS: &[Field] = &[
    f("log_max_size", &[], "size", Active, "Rotate a log file past this size (default 10M)."),
    f("log_max_files", &[], "number", Active, "Rotated files kept per log (default 5)."),
    f("log_compress", &[], "bool", Active, "Gzip rotated files (default false)."),
    f("log_ring_size", &[], "size", Active, "Recent output kept in memory per process for `logs` and the UI (default 256K)."),
    f("kill_timeout", &[], "duration", Active, "Default time between the stop signal and SIGKILL (default 1600 ms); used when a start does not set one."),
    f("metrics_interval", &[], "duration", Active, "How often CPU and memory are sampled (default 1s)."),
    f("metrics_history", &[], "duration", Active, "How far back the per-process metrics history reaches (default 10m); its capacity is this over `metrics_interval`."),
    f("metrics_addr", &[], "string or number", Active, "`host:port` to serve Prometheus metrics on, or a port on loopback (default: off)."),
    f("hooks", &[], "table", Active, "Hooks run for every process (after its own), as an app's `hooks` (commands run in `$PMTUI_HOME`): `[hooks]` then `crash = \"/usr/local/bin/notify\"`; the events are those of an app's `hooks`."),
    f("containment", &[], "`auto`, `cgroup` or `group`", Active, "How process trees are contained (default `auto`: a cgroup per process where cgroup v2 is writable, else process groups); see Containment in the README."),
];

/// One table of keys and where it sits: `file` (around the apps), `app`, a nested block
/// (`app.restart_policy`, `app.restart_policy.backoff`, …) or `settings`.
#[derive(Debug, Clone)]
pub struct Table {
    pub id: String,
    pub fields: &'static [Field],
}

/// Every table, the roots and the nested blocks they hold (found through `Field::with`).
pub fn tables() -> Vec<Table> {
    let roots: [(&str, &'static [Field]); 3] =
        [("file", TOP), ("app", APP), ("settings", SETTINGS)];
    let mut out: Vec<Table> = Vec::new();
    fn walk(
        id: String,
        fields: &'static [Field],
        roots: &[(&str, &'static [Field])],
        out: &mut Vec<Table>,
    ) {
        out.push(Table {
            id: id.clone(),
            fields,
        });
        for field in fields.iter().filter(|f| !f.children.is_empty()) {
            if roots.iter().any(|(_, r)| std::ptr::eq(*r, field.children)) {
                continue;
            }
            walk(format!("{id}.{}", field.name), field.children, roots, out);
        }
    }
    for (id, fields) in roots {
        walk(id.to_string(), fields, &roots, &mut out);
    }
    out
}

/// The id of the table with these keys.
pub fn table_id(fields: &'static [Field]) -> Option<String> {
    tables()
        .into_iter()
        .find(|t| std::ptr::eq(t.fields, fields))
        .map(|t| t.id)
}

/// The camelCase form of a snake_case key (`max_memory_restart` → `maxMemoryRestart`).
pub fn camel(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    let mut upper = false;
    for c in key.chars() {
        if c == '_' && !out.is_empty() {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// Every spelling of a field the reader takes: its name, its aliases, and their camelCase
/// forms, without repeats.
pub fn spellings(field: &Field) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for name in std::iter::once(field.name).chain(field.aliases.iter().copied()) {
        for form in [name.to_string(), camel(name)] {
            if !out.contains(&form) {
                out.push(form);
            }
        }
    }
    out
}

/// `camelCase` → `snake_case`.
pub fn snake(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 4);
    for c in key.chars() {
        if c.is_ascii_uppercase() {
            if !out.is_empty() {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The field `key` names: its own name, an alias, or the camelCase form of either.
pub fn lookup(fields: &'static [Field], key: &str) -> Option<&'static Field> {
    let matches = |k: &str| {
        fields
            .iter()
            .find(|f| f.name == k || f.aliases.contains(&k))
    };
    matches(key).or_else(|| matches(&snake(key)))
}

/// Every name and alias, for suggestions.
pub fn names(fields: &'static [Field]) -> impl Iterator<Item = &'static str> {
    fields
        .iter()
        .flat_map(|f| std::iter::once(f.name).chain(f.aliases.iter().copied()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_and_camel_case_find_the_field() {
        assert_eq!(
            lookup(APP, "maxMemoryRestart").map(|f| f.name),
            Some("max_memory_restart")
        );
        assert_eq!(
            lookup(APP, "exec_interpreter").map(|f| f.name),
            Some("interpreter")
        );
        assert_eq!(
            lookup(APP, "execInterpreter").map(|f| f.name),
            Some("interpreter")
        );
        assert_eq!(
            lookup(APP, "node_args").map(|f| f.name),
            Some("interpreter_args")
        );
        assert_eq!(lookup(APP, "errLog").map(|f| f.name), Some("error_file"));
        assert_eq!(
            lookup(APP, "windowsHide").map(|f| f.name),
            Some("windowsHide")
        );
        assert!(lookup(APP, "nmae").is_none());
    }
}
