//! Readers of single fields and nested blocks of an app: exit codes, the log format, cron
//! patterns, signal names, the `restart_policy` and `log` blocks, and the type check of
//! fields that are accepted but not acted on.

use super::LogTarget;
use crate::node::{Node, Value};
use crate::read::{Ctx, join};
use crate::schema::{self, Field};
use pmtui_proto::{BackoffKind, LogFormat, ProcessSpec, RestartMode};
use std::path::PathBuf;

pub(super) fn exit_codes(ctx: &mut Ctx<'_>, node: &Node, path: &str) -> Option<Vec<i32>> {
    let one = |n: &Node| match n.value {
        Value::Int(i) => i32::try_from(i).ok(),
        _ => None,
    };
    let codes = match &node.value {
        Value::Seq(items) => items.iter().map(one).collect::<Option<Vec<_>>>(),
        _ => one(node).map(|c| vec![c]),
    };
    if codes.is_none() {
        ctx.invalid(node, path, "an exit code or a list of exit codes");
    }
    codes
}

pub(super) fn log_format(ctx: &mut Ctx<'_>, node: &Node, path: &str) -> Option<LogFormat> {
    match ctx.string(node, path)?.as_str() {
        "raw" => Some(LogFormat::Raw),
        "json" => Some(LogFormat::Json),
        _ => {
            ctx.invalid(node, path, "\"raw\" or \"json\"");
            None
        }
    }
}

/// Checks a `cron_restart` pattern as the daemon will read it (5 fields, or 6 with seconds).
pub(super) fn check_cron(pattern: &str) -> Result<(), String> {
    use croner::parser::{CronParser, Seconds, Year};
    CronParser::builder()
        .seconds(Seconds::Optional)
        .year(Year::Disallowed)
        .build()
        .parse(pattern)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// A signal name in its `SIGXXX` form, if it is one.
pub(super) fn signal_name(sig: &str) -> Option<String> {
    const KNOWN: &[&str] = &[
        "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV", "USR2",
        "PIPE", "ALRM", "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU", "URG",
        "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO", "PWR", "SYS",
    ];
    let upper = sig.trim().to_ascii_uppercase();
    let bare = upper.strip_prefix("SIG").unwrap_or(&upper);
    KNOWN.contains(&bare).then(|| format!("SIG{bare}"))
}

pub(super) fn restart_policy(ctx: &mut Ctx<'_>, node: &Node, path: &str, spec: &mut ProcessSpec) {
    let policy = &mut spec.restart;
    for (field, key, value) in ctx.fields(node, path, schema::RESTART_POLICY, |_| false) {
        let here = join(path, &key.name);
        let here = here.as_str();
        match field.name {
            "mode" => {
                let mode = match &value.value {
                    Value::Bool(true) => Some(RestartMode::Always),
                    Value::Bool(false) => Some(RestartMode::No),
                    Value::Str(s) => match s.as_str() {
                        "always" => Some(RestartMode::Always),
                        "on-failure" | "on_failure" => Some(RestartMode::OnFailure),
                        "no" | "never" => Some(RestartMode::No),
                        _ => None,
                    },
                    _ => None,
                };
                match mode {
                    Some(m) => policy.mode = m,
                    None => ctx.invalid(value, here, "\"always\", \"on-failure\" or \"no\""),
                }
            }
            "max_restarts" => {
                if let Some(n) = ctx.uint(value, here, u64::from(u32::MAX)) {
                    policy.max_restarts = n as u32;
                }
            }
            "min_uptime" => {
                if let Some(ms) = ctx.duration(value, here) {
                    policy.min_uptime_ms = ms;
                }
            }
            "time_window" => policy.time_window_ms = ctx.duration(value, here),
            "stable_after" => {
                if let Some(ms) = ctx.duration(value, here) {
                    policy.stable_after_ms = ms;
                }
            }
            "stop_exit_codes" => {
                if let Some(codes) = exit_codes(ctx, value, here) {
                    policy.stop_exit_codes = codes;
                }
            }
            "backoff" => {
                let backoff = &mut policy.backoff;
                for (field, key, value) in ctx.fields(value, here, schema::BACKOFF, |_| false) {
                    let here = join(here, &key.name);
                    let here = here.as_str();
                    match field.name {
                        "type" => match ctx.string(value, here).as_deref() {
                            Some("fixed") => backoff.kind = BackoffKind::Fixed,
                            Some("exponential") => backoff.kind = BackoffKind::Exponential,
                            None => {}
                            Some(_) => ctx.invalid(value, here, "\"fixed\" or \"exponential\""),
                        },
                        "delay" => {
                            if let Some(ms) = ctx.duration(value, here) {
                                backoff.delay_ms = ms;
                            }
                        }
                        "max_delay" => {
                            if let Some(ms) = ctx.duration(value, here) {
                                backoff.max_delay_ms = ms;
                            }
                        }
                        "factor" => match ctx.float(value, here) {
                            Some(f) if f >= 1.0 => backoff.factor = f,
                            Some(_) => ctx.invalid(value, here, "a factor of at least 1"),
                            None => {}
                        },
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
}

pub(super) fn log_block(
    ctx: &mut Ctx<'_>,
    node: &Node,
    path: &str,
    spec: &mut ProcessSpec,
    paths: &mut Vec<(LogTarget, PathBuf)>,
) {
    for (field, key, value) in ctx.fields(node, path, schema::LOG, |_| false) {
        let here = join(path, &key.name);
        let here = here.as_str();
        match field.name {
            "out_file" | "error_file" | "log_file" => {
                if let Some(p) = ctx.log_path(value, here) {
                    let target = match field.name {
                        "out_file" => LogTarget::Out,
                        "error_file" => LogTarget::Err,
                        _ => LogTarget::Combined,
                    };
                    paths.push((target, p));
                }
            }
            "max_size" => spec.logs.max_size = ctx.size(value, here),
            "max_files" => {
                spec.logs.max_files = ctx.uint(value, here, u64::from(u32::MAX)).map(|n| n as u32)
            }
            "compress" => spec.logs.compress = ctx.bool(value, here),
            "date_format" => spec.logs.date_format = ctx.string(value, here),
            "format" => {
                if let Some(format) = log_format(ctx, value, here) {
                    spec.logs.format = format;
                }
            }
            "merge_logs" => spec.logs.merge_logs = ctx.bool(value, here).unwrap_or(false),
            _ => {}
        }
    }
}

/// Type-checks a field that is accepted but not acted on, from its documented kind.
pub(super) fn check_kind(ctx: &mut Ctx<'_>, field: &Field, node: &Node, path: &str) {
    match field.kind {
        "bool" => {
            ctx.bool(node, path);
        }
        "duration" => {
            ctx.duration(node, path);
        }
        "string" => {
            ctx.string(node, path);
        }
        "path" => {
            ctx.path(node, path);
        }
        kind => {
            let (ok, expected) = match kind {
                "table" => (matches!(node.value, Value::Map(_)), "a table"),
                "list" => (
                    matches!(node.value, Value::Seq(_) | Value::Str(_)),
                    "a list",
                ),
                "bool, path or list" => (
                    matches!(node.value, Value::Seq(_) | Value::Str(_) | Value::Bool(_)),
                    "true, false, a path or a list of paths",
                ),
                "string or number" => (
                    matches!(node.value, Value::Int(_) | Value::Str(_)),
                    "a name or a number",
                ),
                _ => (true, ""),
            };
            if !ok {
                ctx.invalid(node, path, expected);
            }
        }
    }
}
