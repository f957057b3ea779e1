//! Readers of single fields and nested blocks of an app: exit codes, the log format, cron
//! patterns, signal names, the `restart_policy` and `log` blocks, and the type check of
//! fields that are accepted but not acted on.

use super::LogTarget;
use crate::node::{Node, Value};
use crate::read::{Ctx, join};
use crate::schema::kind::{self, Alt};
use crate::schema::{self, Field};
use crate::units;
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

/// Type-checks a field that is accepted but not acted on, from its kind (the same reading
/// of the kind text the JSON Schema is generated from).
pub(super) fn check_kind(ctx: &mut Ctx<'_>, field: &Field, node: &Node, path: &str) {
    let Ok(alts) = kind::parse(field.kind) else {
        // A kind outside the vocabulary fails a test; take any value meanwhile.
        return;
    };
    if !alts.iter().any(|alt| fits(*alt, node)) {
        let expected: Vec<String> = alts.iter().map(|alt| expected(*alt)).collect();
        ctx.invalid(node, path, &expected.join(" or "));
    }
}

/// Whether a value is of one kind alternative, as the typed readers (`Ctx::bool`, …) take it.
fn fits(alt: Alt, node: &Node) -> bool {
    match (alt, &node.value) {
        (Alt::String | Alt::Path, Value::Str(_)) => true,
        (Alt::Bool, Value::Bool(_)) => true,
        (Alt::Bool, Value::Str(s)) => s == "true" || s == "false",
        (Alt::Number, Value::Int(_)) => true,
        (Alt::Number, Value::Float(f)) => f.is_finite(),
        (Alt::Number, Value::Str(s)) => s.trim().parse::<i64>().is_ok(),
        (Alt::Duration, Value::Int(i)) => *i >= 0,
        (Alt::Duration, Value::Float(f)) => *f >= 0.0 && f.is_finite(),
        (Alt::Duration, Value::Str(s)) => units::millis(s).is_ok(),
        (Alt::Size, Value::Int(i)) => *i >= 0,
        (Alt::Size, Value::Str(s)) => units::bytes(s).is_ok(),
        (Alt::Table, Value::Map(_)) => true,
        (Alt::List, Value::Seq(_)) => true,
        (Alt::Literal(text), _) => node.to_json() == kind::literal(text),
        _ => false,
    }
}

fn expected(alt: Alt) -> String {
    match alt {
        Alt::String => "a string".into(),
        Alt::Path => "a path".into(),
        Alt::Bool => "true or false".into(),
        Alt::Number => "a number".into(),
        Alt::Duration => "a duration (milliseconds, or \"10s\", \"1m30s\")".into(),
        Alt::Size => "a size (bytes, or \"500M\", \"1G\")".into(),
        Alt::Table => "a table".into(),
        Alt::List => "a list".into(),
        Alt::Literal(text) => kind::literal(text).to_string(),
    }
}
