//! Turning `pmtui start` arguments into a resolved `ProcessSpec`, as pm2's CLI does: the
//! script found and made absolute, the interpreter chosen by extension and checked, the
//! caller's environment captured.

use crate::cli::{ClusterFlags, LogFlags, ProcessFlags, ReadyFlags, RestartFlags, WatchFlags};
use anyhow::{Context, Result, bail};
use pmtui_proto::{
    Backoff, ExecMode, HealthCheck, ListenSpec, LogFormat, OnFailure, ProbeKind, ProcessSpec,
    RestartMode,
};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use pmtui_config::split_env;

/// Parses `N`, `max`, `0` (= max) or `-N` (= CPUs − N, at least 1); 1 when not given.
pub fn instances(value: Option<&str>) -> Result<u32> {
    match value {
        None => Ok(1),
        Some(v) => {
            pmtui_config::units::instances(v).map_err(|e| anyhow::anyhow!("--instances: {e}"))
        }
    }
}

/// The kill timeout of the daemon settings (`$PMTUI_HOME/config.toml`), else pm2's 1600 ms.
pub fn default_kill_timeout() -> u64 {
    pmtui_config::settings::load(&crate::commands::home())
        .0
        .kill_timeout_ms
        .unwrap_or(pmtui_proto::spec::DEFAULT_KILL_TIMEOUT_MS)
}

/// Parses milliseconds (`1600`) or a duration with units (`5s`, `500ms`, `1m30s`).
pub fn millis(value: &str) -> Result<u64> {
    Ok(pmtui_proto::parse_duration_ms(value)?)
}

/// Applies the restart policy flags of `start` to `spec`.
fn apply_restart_flags(spec: &mut ProcessSpec, flags: &RestartFlags) -> Result<()> {
    let policy = &mut spec.restart;
    if let Some(mode) = flags.restart_mode {
        policy.mode = mode;
    }
    if let Some(n) = flags.max_restarts {
        policy.max_restarts = n;
    }
    if let Some(v) = &flags.min_uptime {
        policy.min_uptime_ms = millis(v).context("--min-uptime")?;
    }
    if let Some(v) = &flags.time_window {
        policy.time_window_ms = Some(millis(v).context("--time-window")?);
    }
    if let Some(v) = &flags.restart_delay {
        policy.backoff = Backoff::fixed(millis(v).context("--restart-delay")?);
    }
    if let Some(v) = &flags.exp_backoff_restart_delay {
        policy.backoff = Backoff::exponential(millis(v).context("--exp-backoff-restart-delay")?);
    }
    if let Some(factor) = flags.backoff_factor {
        if !factor.is_finite() || factor < 1.0 {
            bail!("--backoff-factor must be a number of at least 1, not {factor}");
        }
        policy.backoff.factor = factor;
    }
    if let Some(v) = &flags.backoff_max_delay {
        policy.backoff.max_delay_ms = millis(v).context("--backoff-max-delay")?;
    }
    if let Some(v) = &flags.stable_after {
        policy.stable_after_ms = millis(v).context("--stable-after")?;
    }
    if !flags.stop_exit_codes.is_empty() {
        policy.stop_exit_codes = flags.stop_exit_codes.clone();
    }
    if let Some(pattern) = &flags.cron_restart {
        spec.cron_restart = Some(pattern.clone());
    }
    if let Some(pattern) = &flags.schedule {
        spec.schedule = Some(pattern.clone());
    }
    if flags.cron_revive {
        spec.cron_revive = true;
    }
    if let Some(size) = &flags.max_memory_restart {
        let bytes = pmtui_proto::parse_size_bytes(size).context("--max-memory-restart")?;
        if bytes == 0 {
            bail!("--max-memory-restart must be more than 0 bytes");
        }
        spec.max_memory_restart = Some(bytes);
    }
    Ok(())
}

/// Builds the spec of `pmtui start <script>`.
pub fn spec_from_args(script: &str, args: &ProcessFlags) -> Result<ProcessSpec> {
    let cwd = start_dir(args)?;
    let mut env: BTreeMap<String, String> = pmtui_config::shell_env();
    let vars = env_vars(args)?;
    env.extend(vars.clone());
    env.insert("PWD".into(), cwd.display().to_string());
    let resolved = resolve_script(script, args, &cwd, &env)?;
    let mut spec = ProcessSpec {
        name: args.name.clone().unwrap_or(resolved.default_name),
        script: resolved.script,
        args: args.args.clone(),
        interpreter: resolved.interpreter,
        interpreter_args: resolved.interpreter_args,
        cwd,
        env: env.into(),
        config_env: vars,
        instances: instances(args.instances.as_deref())?,
        kill_timeout_ms: default_kill_timeout(),
        ..Default::default()
    };
    apply_option_flags(&mut spec, args)?;
    // A name taken from the script's file name is checked as a given one is.
    pmtui_proto::check_name(&spec.name)?;
    // The shell's environment and `--env`: refused here rather than by the daemon.
    pmtui_proto::check_env(&spec.env)?;
    Ok(spec)
}

/// The directory a script given to `start` is looked up in: `--cwd`, else the current one.
pub fn start_dir(args: &ProcessFlags) -> Result<PathBuf> {
    let here = std::env::current_dir().context("cannot read the current directory")?;
    match &args.cwd {
        Some(dir) => working_dir(&here, dir),
        None => Ok(here),
    }
}

/// The spec of a process that exists, with what this call gave explicitly laid over it (a
/// `start <name>` or `restart` with options), as pm2 updates the stored config from the
/// flags of `start`/`restart`. What is not given stays as it was: the environment captured
/// at the first start (the shell's, with `update_env`), the arguments after `--` (new ones
/// replace them), the working directory (`--cwd` moves it) and every other option; a new
/// `--interpreter-args` replaces the old ones (`null` clears them), never appends.
/// `resolved` is the spec this call resolved from a script path, when it named one.
pub fn overlay(
    stored: &ProcessSpec,
    args: &ProcessFlags,
    update_env: bool,
    resolved: Option<&ProcessSpec>,
) -> Result<ProcessSpec> {
    let mut spec = stored.clone();
    if let Some(name) = &args.name {
        spec.name = name.clone();
    }
    if let Some(dir) = &args.cwd {
        let here = std::env::current_dir().context("cannot read the current directory")?;
        spec.cwd = working_dir(&here, dir)?;
    }
    if let Some(n) = &args.instances {
        spec.instances = instances(Some(n))?;
    }
    if !args.args.is_empty() {
        spec.args = args.args.clone();
    }
    if let Some(interpreter) = &args.interpreter {
        spec.interpreter = match resolved {
            Some(new) => new.interpreter.clone(),
            None => (interpreter != "none").then(|| interpreter.clone()),
        };
    }
    if let Some(extra) = &args.interpreter_args {
        spec.interpreter_args = interpreter_words(extra);
        // A command string keeps its `sh -c`.
        if stored.interpreter_args.last().is_some_and(|a| a == "-c")
            && !spec.interpreter_args.ends_with(&["-c".to_string()])
        {
            spec.interpreter_args.push("-c".into());
        }
    }
    spec.config_env.extend(env_vars(args)?);
    if update_env {
        spec.env = pmtui_config::shell_env().into();
    }
    let user_set = spec.config_env.clone();
    spec.env.extend(user_set);
    if update_env || args.cwd.is_some() {
        spec.env
            .insert("PWD".into(), spec.cwd.display().to_string());
    }
    apply_option_flags(&mut spec, args)?;
    pmtui_proto::check_env(&spec.env)?;
    Ok(spec)
}

/// The command line's options laid over an app of an ecosystem file, as pm2 lets the flags
/// of `start <file>` override the file: instances, arguments after `--`, interpreter and
/// its arguments (replaced, never appended), and every option flag. `--name`, `--cwd` and
/// `--env` are the caller's (refused, or read with the file).
pub fn override_app(spec: &mut ProcessSpec, opts: &ProcessFlags) -> Result<()> {
    if let Some(n) = &opts.instances {
        spec.instances = instances(Some(n))?;
    }
    if !opts.args.is_empty() {
        spec.args = opts.args.clone();
    }
    if let Some(interpreter) = &opts.interpreter {
        spec.interpreter = (interpreter != "none").then(|| interpreter.clone());
    }
    if let Some(extra) = &opts.interpreter_args {
        spec.interpreter_args = interpreter_words(extra);
    }
    apply_option_flags(spec, opts)
}

/// `--interpreter-args "A B"` as words; `null` (pm2's way to clear them) or nothing is none.
fn interpreter_words(text: &str) -> Vec<String> {
    if text.trim() == "null" {
        return Vec::new();
    }
    text.split_whitespace().map(String::from).collect()
}

/// `--cwd DIR` against the current directory; it must exist.
fn working_dir(here: &Path, dir: &Path) -> Result<PathBuf> {
    let dir = here.join(dir);
    if !dir.is_dir() {
        bail!("--cwd {} is not a directory", dir.display());
    }
    Ok(dir)
}

/// The `--env KEY=VALUE` variables; a bare name is an error for a script.
fn env_vars(args: &ProcessFlags) -> Result<BTreeMap<String, String>> {
    let (vars, block) = split_env(&args.env);
    if let Some(block) = block {
        bail!(
            "--env {block}: a bare name selects an env_{block} block of an ecosystem file; \
             for a script, set variables with --env KEY=VALUE"
        );
    }
    Ok(vars)
}

/// Finds the script and its interpreter.
fn resolve_script(
    script: &str,
    args: &ProcessFlags,
    cwd: &Path,
    env: &BTreeMap<String, String>,
) -> Result<pmtui_config::Resolved> {
    let interpreter_args = args
        .interpreter_args
        .as_deref()
        .map(interpreter_words)
        .unwrap_or_default();
    pmtui_config::resolve_script(
        script,
        cwd,
        args.interpreter.as_deref(),
        interpreter_args,
        env,
    )
    .map_err(anyhow::Error::msg)
}

/// The options that were given (namespace, kill timeout, stop signal, uid/gid, pid
/// file, restart policy, logs) applied to `spec`; those not given leave it as it is.
fn apply_option_flags(spec: &mut ProcessSpec, args: &ProcessFlags) -> Result<()> {
    if let Some(ns) = &args.namespace {
        spec.namespace = ns.clone();
    }
    if let Some(timeout) = &args.kill_timeout {
        spec.kill_timeout_ms = millis(timeout).context("--kill-timeout")?;
    }
    if let Some(signal) = &args.stop_signal {
        spec.stop_signal = signal.clone();
    }
    if let Some(uid) = &args.uid {
        spec.uid = Some(uid.clone());
    }
    if let Some(gid) = &args.gid {
        spec.gid = Some(gid.clone());
    }
    if args.no_treekill {
        spec.treekill = false;
    }
    if let Some(file) = &args.pid_file {
        spec.pid_file = Some(spec.cwd.join(file));
    }
    apply_restart_flags(spec, &args.restart)?;
    apply_cluster_flags(spec, &args.cluster)?;
    if args.no_autorestart {
        spec.restart.mode = RestartMode::No;
    }
    apply_ready_flags(spec, &args.ready)?;
    apply_watch_flags(spec, &args.watch)?;
    apply_log_flags(spec, &args.logs)
}

/// `--watch [PATH…]` turns watching on (given paths replace the stored ones, relative to
/// the working directory), `--ignore-watch` replaces the globs, `--watch-delay` the
/// debounce; `--no-watch` turns it off and keeps the settings for a later `--watch`.
fn apply_watch_flags(spec: &mut ProcessSpec, flags: &WatchFlags) -> Result<()> {
    if flags.no_watch {
        if let Some(watch) = spec.watch.as_mut() {
            watch.enabled = false;
        }
        return Ok(());
    }
    let tuning = !flags.ignore_watch.is_empty() || flags.watch_delay.is_some();
    if flags.watch.is_none() && !tuning {
        return Ok(());
    }
    let mut watch = match (&flags.watch, spec.watch.clone()) {
        (Some(_), Some(stored)) => stored,
        (Some(_), None) => Box::default(),
        (None, Some(stored)) if stored.enabled => stored,
        (None, _) => bail!("--ignore-watch and --watch-delay tune a watch: add --watch"),
    };
    if let Some(paths) = &flags.watch {
        watch.enabled = true;
        if !paths.is_empty() {
            watch.paths = paths.iter().map(|p| spec.cwd.join(p)).collect();
        }
    }
    if !flags.ignore_watch.is_empty() {
        watch.ignore = flags.ignore_watch.clone();
    }
    if let Some(v) = &flags.watch_delay {
        watch.delay_ms = millis(v).context("--watch-delay")?;
    }
    spec.watch = Some(watch);
    Ok(())
}

/// Applies `--listen`, `--exec-mode`, `--increment-var`, `--instance-var` and
/// `--listen-timeout`; relative unix socket paths are anchored at the working directory.
fn apply_cluster_flags(spec: &mut ProcessSpec, flags: &ClusterFlags) -> Result<()> {
    if !flags.listen.is_empty() {
        spec.listen = flags
            .listen
            .iter()
            .map(|text| {
                text.parse::<ListenSpec>()
                    .map(|l| l.resolve(&spec.cwd))
                    .map_err(|why| anyhow::anyhow!("--listen {text}: {why}"))
            })
            .collect::<Result<_>>()?;
    }
    match flags.exec_mode.as_deref() {
        Some("fork") => spec.exec_mode = Some(ExecMode::Fork),
        Some("cluster") => spec.exec_mode = Some(ExecMode::Cluster),
        _ => {}
    }
    if let Some(var) = &flags.increment_var {
        spec.increment_var = Some(var.clone());
    }
    if let Some(var) = &flags.instance_var {
        spec.instance_var = Some(var.clone());
    }
    if let Some(v) = &flags.listen_timeout {
        spec.listen_timeout_ms = Some(millis(v).context("--listen-timeout")?);
    }
    Ok(())
}

/// Applies `--wait-ready` and the health check flags to `spec`.
fn apply_ready_flags(spec: &mut ProcessSpec, flags: &ReadyFlags) -> Result<()> {
    if flags.wait_ready {
        spec.wait_ready = true;
    }
    if let Some(v) = &flags.watchdog {
        let ms = millis(v).context("--watchdog")?;
        if ms == 0 {
            bail!("--watchdog must be more than 0 ms");
        }
        spec.watchdog_ms = Some(ms);
    }
    apply_health_flags(spec, flags)
}

/// `--health-http|tcp|cmd` make a new check (replacing one the process had); the other
/// `--health-*` flags change the check given or the one the process has.
fn apply_health_flags(spec: &mut ProcessSpec, flags: &ReadyFlags) -> Result<()> {
    let fresh = if let Some(url) = &flags.health_http {
        Some(HealthCheck {
            kind: ProbeKind::Http,
            url: Some(url.clone()),
            ..HealthCheck::default()
        })
    } else if let Some(target) = &flags.health_tcp {
        let (host, port) = match target.rsplit_once(':') {
            Some((host, port)) => (Some(host.trim_matches(['[', ']']).to_string()), port),
            None => (None, target.as_str()),
        };
        let port = port
            .parse::<u16>()
            .ok()
            .filter(|p| *p > 0)
            .with_context(|| format!("--health-tcp {target}: not a port (1-65535)"))?;
        Some(HealthCheck {
            kind: ProbeKind::Tcp,
            host,
            port: Some(port),
            ..HealthCheck::default()
        })
    } else {
        flags.health_cmd.as_ref().map(|command| HealthCheck {
            kind: ProbeKind::Exec,
            command: Some(command.clone()),
            ..HealthCheck::default()
        })
    };
    if let Some(check) = fresh {
        spec.health_check = Some(Box::new(check));
    }
    let tuning = flags.health_interval.is_some()
        || flags.health_timeout.is_some()
        || flags.health_retries.is_some()
        || flags.health_initial_delay.is_some()
        || flags.health_on_failure.is_some();
    if !tuning {
        return check_probe(spec);
    }
    let Some(check) = spec.health_check.as_mut() else {
        bail!(
            "--health-interval, --health-timeout, --health-retries, --health-initial-delay and \
             --health-on-failure tune a probe: add --health-http URL, --health-tcp PORT or \
             --health-cmd CMD"
        );
    };
    if let Some(v) = &flags.health_interval {
        check.interval_ms = millis(v).context("--health-interval")?;
    }
    if let Some(v) = &flags.health_timeout {
        check.timeout_ms = millis(v).context("--health-timeout")?;
    }
    if let Some(n) = flags.health_retries {
        check.retries = n;
    }
    if let Some(v) = &flags.health_initial_delay {
        check.initial_delay_ms = millis(v).context("--health-initial-delay")?;
    }
    match flags.health_on_failure.as_deref() {
        Some("none") => check.on_failure = OnFailure::None,
        Some(_) => check.on_failure = OnFailure::Restart,
        None => {}
    }
    check_probe(spec)
}

/// The check as the daemon will take it, with the flag names in the error.
fn check_probe(spec: &ProcessSpec) -> Result<()> {
    match spec.health_check.as_deref().and_then(HealthCheck::problem) {
        Some(problem) => bail!("health check: {problem}"),
        None => Ok(()),
    }
}

/// Applies `-o`, `-e`, `-l`, `--time`, `--log-type`, … to `spec.logs`; paths are made
/// absolute against the process's working directory, `~` is the home directory.
pub fn apply_log_flags(spec: &mut ProcessSpec, flags: &LogFlags) -> Result<()> {
    let cwd = spec.cwd.clone();
    let absolute = |p: &Path| -> PathBuf {
        if let Some(null) = pmtui_config::null_log_path(p) {
            return null;
        }
        let text = p.to_string_lossy();
        match (text.strip_prefix("~/"), std::env::home_dir()) {
            (Some(rest), Some(home)) => home.join(rest),
            _ => cwd.join(p),
        }
    };
    let logs = &mut spec.logs;
    if let Some(out) = &flags.output {
        logs.out_file = Some(absolute(out));
    }
    if let Some(err) = &flags.error {
        logs.error_file = Some(absolute(err));
    }
    if let Some(log) = &flags.log {
        logs.log_file = Some(if log.as_os_str().is_empty() {
            crate::commands::home()
                .join("logs")
                .join(format!("{}.log", pmtui_proto::file_stem(&spec.name)))
        } else {
            absolute(log)
        });
    }
    if flags.disable_logs {
        logs.out_file = Some(PathBuf::from("/dev/null"));
        logs.error_file = Some(PathBuf::from("/dev/null"));
        logs.log_file = None;
    }
    if let Some(kind) = &flags.log_type {
        logs.format = match kind.as_str() {
            "raw" => LogFormat::Raw,
            "json" => LogFormat::Json,
            other => bail!("--log-type takes raw or json, not {other:?}"),
        };
    }
    if flags.time {
        logs.date_format = Some(String::new());
    }
    if let Some(format) = &flags.log_date_format {
        logs.date_format = Some(format.clone());
    }
    if flags.merge_logs {
        logs.merge_logs = true;
    }
    if let Some(size) = &flags.log_max_size {
        logs.max_size = Some(pmtui_proto::parse_size_bytes(size).context("--log-max-size")?);
    }
    if let Some(n) = flags.log_max_files {
        logs.max_files = Some(n);
    }
    if flags.log_compress {
        logs.compress = Some(true);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_instances_parse() {
        assert_eq!(millis("1600").ok(), Some(1600));
        assert_eq!(millis("5s").ok(), Some(5000));
        assert_eq!(millis("1.5m").ok(), Some(90_000));
        assert!(millis("soon").is_err());
        assert_eq!(instances(Some("3")).ok(), Some(3));
        assert!(instances(Some("max")).is_ok_and(|n| n >= 1));
        assert!(instances(Some("lots")).is_err());
    }

    #[test]
    fn env_values_split_into_vars_and_a_block_name() {
        let (vars, block) = split_env(&["A=1".into(), "production".into(), "B=x=y".into()]);
        assert_eq!(vars.get("B").map(String::as_str), Some("x=y"));
        assert_eq!(block.as_deref(), Some("production"));
    }
}
