//! The `health_check` block of an app: every key checked, the type taken from the keys
//! given when it is not written, and the whole check validated (what its type needs) with
//! the block's line.

use crate::error::ProblemKind;
use crate::node::{Node, Pos, Value};
use crate::read::{Ctx, join};
use crate::schema;
use pmtui_proto::{HealthCheck, OnFailure, ProbeKind, parse_status_range};

/// Reads the block at `node`; problems with the whole check are reported at `at` (its
/// key).
pub(super) fn health_check(
    ctx: &mut Ctx<'_>,
    node: &Node,
    at: Pos,
    path: &str,
) -> Option<HealthCheck> {
    let mut check = HealthCheck::default();
    let mut kind = None;
    let problems_before = ctx.problems.len();
    for (field, key, value) in ctx.fields(node, path, schema::HEALTH_CHECK, |_| false) {
        let here = join(path, &key.name);
        let here = here.as_str();
        match field.name {
            "type" => match ctx.string(value, here).as_deref() {
                Some("http") => kind = Some(ProbeKind::Http),
                Some("tcp") => kind = Some(ProbeKind::Tcp),
                Some("exec" | "command" | "cmd") => kind = Some(ProbeKind::Exec),
                None => {}
                Some(_) => ctx.invalid(value, here, "\"http\", \"tcp\" or \"exec\""),
            },
            "url" => check.url = ctx.string(value, here),
            "host" => check.host = ctx.string(value, here),
            "port" => match ctx.uint(value, here, 65_535) {
                Some(0) => ctx.invalid(value, here, "a port from 1 to 65535"),
                Some(port) => check.port = Some(port as u16),
                None => {}
            },
            "command" => check.command = ctx.string(value, here),
            "interval" => {
                if let Some(ms) = ctx.duration(value, here) {
                    check.interval_ms = ms;
                }
            }
            "timeout" => {
                if let Some(ms) = ctx.duration(value, here) {
                    check.timeout_ms = ms;
                }
            }
            "retries" => {
                if let Some(n) = ctx.uint(value, here, u64::from(u32::MAX)) {
                    check.retries = n as u32;
                }
            }
            "initial_delay" => {
                if let Some(ms) = ctx.duration(value, here) {
                    check.initial_delay_ms = ms;
                }
            }
            "on_failure" => match ctx.string(value, here).as_deref() {
                Some("restart") => check.on_failure = OnFailure::Restart,
                Some("none") => check.on_failure = OnFailure::None,
                None => {}
                Some(_) => ctx.invalid(value, here, "\"restart\" or \"none\""),
            },
            "expected_status" => {
                let items: Vec<&Node> = match &value.value {
                    Value::Seq(items) => items.iter().collect(),
                    _ => vec![value],
                };
                for item in items {
                    let text = match &item.value {
                        Value::Int(i) => Some(i.to_string()),
                        Value::Str(s) => Some(s.clone()),
                        _ => None,
                    };
                    match text.as_deref().map(parse_status_range) {
                        Some(Ok(range)) => check.expected_status.push(range),
                        _ => ctx.invalid(item, here, "a status (503), \"2xx\" or \"200-299\""),
                    }
                }
            }
            _ => {}
        }
    }
    check.kind = match kind {
        Some(kind) => kind,
        None if check.url.is_some() => ProbeKind::Http,
        None if check.port.is_some() => ProbeKind::Tcp,
        None if check.command.is_some() => ProbeKind::Exec,
        None => {
            ctx.problem(
                at,
                path,
                ProblemKind::Other("a health check needs a url, a port or a command".into()),
            );
            return None;
        }
    };
    if ctx.problems.len() > problems_before {
        return None;
    }
    if let Some(problem) = check.problem() {
        ctx.problem(at, path, ProblemKind::Other(problem));
        return None;
    }
    Some(check)
}
