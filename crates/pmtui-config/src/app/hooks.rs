//! A `hooks` block (an app's, or the daemon's in config.toml): event name → a command
//! (`crash: "./notify.sh"`) or a table (`{ command | webhook, ca_file, timeout }`), every key
//! checked.

use crate::node::{Node, Value};
use crate::read::{Ctx, join};
use crate::schema;
use pmtui_proto::{HOOK_EVENTS, Hook};
use std::collections::BTreeMap;

/// Reads the block at `node` (`path` is where it is); bad hooks are reported and left out.
pub(crate) fn hooks(ctx: &mut Ctx<'_>, node: &Node, path: &str) -> BTreeMap<String, Hook> {
    let mut out = BTreeMap::new();
    for (field, key, value) in ctx.fields(node, path, schema::HOOKS, |_| false) {
        let here = join(path, &key.name);
        let here = here.as_str();
        debug_assert!(HOOK_EVENTS.contains(&field.name));
        let hook = match &value.value {
            Value::Str(command) => Hook {
                command: Some(command.clone()),
                ..Hook::default()
            },
            Value::Map(_) => {
                let mut hook = Hook::default();
                for (inner, k, v) in ctx.fields(value, here, schema::HOOK, |_| false) {
                    let at = join(here, &k.name);
                    match inner.name {
                        "command" => hook.command = ctx.string(v, &at),
                        "webhook" => hook.webhook = ctx.string(v, &at),
                        "ca_file" => hook.ca_file = ctx.string(v, &at),
                        "timeout" => match ctx.duration(v, &at) {
                            Some(0) => ctx.invalid(v, &at, "a timeout above 0"),
                            ms => hook.timeout_ms = ms,
                        },
                        _ => {}
                    }
                }
                hook
            }
            _ => {
                ctx.invalid(
                    value,
                    here,
                    "a command or a table { command | webhook, timeout }",
                );
                continue;
            }
        };
        if let Some(problem) = hook.problem() {
            ctx.invalid(value, here, &format!("a usable hook ({problem})"));
            continue;
        }
        out.insert(field.name.to_string(), hook);
    }
    out
}
