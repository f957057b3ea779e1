//! Turning `pmtui start` arguments into a resolved `ProcessSpec`, as pm2's CLI does: the
//! script found and made absolute, the interpreter chosen by extension and checked, the
//! caller's environment captured.

use crate::cli::{LogFlags, RestartFlags, StartArgs};
use anyhow::{Context, Result, bail};
use pmtui_proto::{Backoff, LogFormat, ProcessSpec, RestartMode};
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// The interpreter pm2 picks for a file extension.
pub fn interpreter_for(path: &Path) -> Option<&'static str> {
    match path.extension()?.to_str()? {
        "py" => Some("python3"),
        "js" | "cjs" | "mjs" => Some("node"),
        "sh" => Some("bash"),
        "rb" => Some("ruby"),
        "pl" => Some("perl"),
        "php" => Some("php"),
        _ => None,
    }
}

/// Looks `program` up in the `PATH` of `env`.
pub fn which(program: &str, env: &BTreeMap<String, String>) -> Option<PathBuf> {
    if program.contains('/') {
        let path = PathBuf::from(program);
        return is_executable(&path).then_some(path);
    }
    env.get("PATH")?
        .split(':')
        .filter(|dir| !dir.is_empty())
        .map(|dir| Path::new(dir).join(program))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Parses `N`, `max`, `0` (= max) or `-N` (= CPUs − N, at least 1).
pub fn instances(value: Option<&str>) -> Result<u32> {
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get() as i64)
        .unwrap_or(1);
    let Some(value) = value else { return Ok(1) };
    let n: i64 = match value {
        "max" => cpus,
        other => other
            .parse()
            .with_context(|| format!("--instances takes a number or `max`, not {other:?}"))?,
    };
    Ok(match n {
        0 => cpus,
        n if n < 0 => (cpus + n).max(1),
        n => n,
    } as u32)
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
    spec.cron_revive = flags.cron_revive;
    if let Some(size) = &flags.max_memory_restart {
        let bytes = pmtui_proto::parse_size_bytes(size).context("--max-memory-restart")?;
        if bytes == 0 {
            bail!("--max-memory-restart must be more than 0 bytes");
        }
        spec.max_memory_restart = Some(bytes);
    }
    Ok(())
}

/// Splits `--env` values: `KEY=VALUE` pairs, and bare names (an ecosystem `env_<name>`).
pub fn split_env(values: &[String]) -> (BTreeMap<String, String>, Option<String>) {
    let mut vars = BTreeMap::new();
    let mut block = None;
    for value in values {
        match value.split_once('=') {
            Some((k, v)) => {
                vars.insert(k.to_string(), v.to_string());
            }
            None => block = Some(value.clone()),
        }
    }
    (vars, block)
}

/// Builds the spec of `pmtui start`.
pub fn spec_from_args(args: &StartArgs) -> Result<ProcessSpec> {
    let here = std::env::current_dir().context("cannot read the current directory")?;
    let cwd = match &args.cwd {
        Some(dir) => {
            let dir = here.join(dir);
            if !dir.is_dir() {
                bail!("--cwd {} is not a directory", dir.display());
            }
            dir
        }
        None => here,
    };
    let mut env: BTreeMap<String, String> = std::env::vars().collect();
    let (vars, _block) = split_env(&args.env);
    env.extend(vars);
    env.insert("PWD".into(), cwd.display().to_string());
    let (script, interpreter, interpreter_args, default_name) =
        resolve_script(&args.script, &cwd, args, &env)?;
    let mut spec = ProcessSpec {
        name: args.name.clone().unwrap_or(default_name),
        script,
        args: args.args.clone(),
        interpreter,
        interpreter_args,
        cwd,
        env,
        instances: instances(args.instances.as_deref())?,
        ..Default::default()
    };
    if let Some(ns) = &args.namespace {
        spec.namespace = ns.clone();
    }
    if let Some(timeout) = &args.kill_timeout {
        spec.kill_timeout_ms = millis(timeout).context("--kill-timeout")?;
    }
    if let Some(signal) = &args.stop_signal {
        spec.stop_signal = signal.clone();
    }
    apply_restart_flags(&mut spec, &args.restart)?;
    if args.no_autorestart {
        spec.restart.mode = RestartMode::No;
    }
    apply_log_flags(&mut spec, &args.logs)?;
    Ok(spec)
}

/// Applies `-o`, `-e`, `-l`, `--time`, `--log-type`, … to `spec.logs`; paths are made
/// absolute against the process's working directory, `~` is the home directory.
pub fn apply_log_flags(spec: &mut ProcessSpec, flags: &LogFlags) -> Result<()> {
    let cwd = spec.cwd.clone();
    let absolute = |p: &Path| -> PathBuf {
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
                .join(format!("{}.log", spec.name))
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

/// Returns `(script, interpreter, interpreter_args, default name)`.
fn resolve_script(
    given: &str,
    cwd: &Path,
    args: &StartArgs,
    env: &BTreeMap<String, String>,
) -> Result<(String, Option<String>, Vec<String>, String)> {
    let extra: Vec<String> = args
        .interpreter_args
        .as_deref()
        .map(|a| a.split_whitespace().map(String::from).collect())
        .unwrap_or_default();
    let path = cwd.join(given);
    if path.is_file() {
        let path = path.canonicalize().unwrap_or(path);
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| given.into());
        let interpreter = match args.interpreter.as_deref() {
            Some("none") => None,
            Some(explicit) => Some(explicit.to_string()),
            None => interpreter_for(&path).map(String::from),
        };
        match &interpreter {
            Some(program) => {
                if which(program, env).is_none() {
                    bail!(
                        "interpreter {program} for {} is not installed (not found in PATH); install it or pass --interpreter",
                        path.display()
                    );
                }
            }
            None => {
                if !is_executable(&path) {
                    bail!(
                        "{} is not executable and has no known interpreter; run `chmod +x {}` or pass --interpreter",
                        path.display(),
                        path.display()
                    );
                }
            }
        }
        return Ok((path.display().to_string(), interpreter, extra, stem));
    }
    if given.trim().contains(char::is_whitespace) {
        let first = given.split_whitespace().next().unwrap_or(given);
        let name = Path::new(first)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let shell = args.interpreter.clone().unwrap_or_else(|| "sh".into());
        return Ok((given.to_string(), Some(shell), vec!["-c".into()], name));
    }
    if given.contains('/') {
        bail!("script not found: {}", path.display());
    }
    match which(given, env) {
        Some(found) => {
            let interpreter = args.interpreter.clone().filter(|i| i != "none");
            Ok((
                found.display().to_string(),
                interpreter,
                extra,
                given.to_string(),
            ))
        }
        None => bail!(
            "script not found: {given} is neither a file in {} nor a command in PATH",
            cwd.display()
        ),
    }
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
