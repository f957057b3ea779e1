//! An app's `depends_on`: the short form (a name or a list of names, condition `ready`)
//! and the long form (`{ db: { condition: started | ready | completed } }`, or
//! `{ db: completed }`), each entry kept with where it is written, so that an unknown name
//! or a cycle (checked over the whole file, `check`) is reported at its line.

use crate::error::{ProblemKind, suggest};
use crate::node::{Node, Pos, Value};
use crate::read::{Ctx, join};
use pmtui_proto::{Condition, Dependency, RestartMode};
use std::collections::BTreeMap;

/// The keys of one entry of the long form.
const ENTRY_KEYS: &[&str] = &["condition"];

/// Reads `depends_on` at `node`; each dependency with its position.
pub(super) fn read(ctx: &mut Ctx<'_>, node: &Node, path: &str) -> Vec<(Dependency, Pos)> {
    let mut out: Vec<(Dependency, Pos)> = Vec::new();
    let mut push = |ctx: &mut Ctx<'_>, dep: Dependency, pos: Pos, at: &str| {
        if out.iter().any(|(d, _)| d.name == dep.name) {
            ctx.problem(
                pos,
                at,
                ProblemKind::Other(format!("{:?} is listed twice", dep.name)),
            );
        } else {
            out.push((dep, pos));
        }
    };
    match &node.value {
        Value::Str(name) => push(ctx, ready(name), node.pos, path),
        Value::Seq(items) => {
            for (i, item) in items.iter().enumerate() {
                let at = format!("{path}[{i}]");
                if let Some(name) = ctx.string(item, &at) {
                    push(ctx, ready(&name), item.pos, &at);
                }
            }
        }
        Value::Map(entries) => {
            for (key, value) in entries {
                let at = join(path, &key.name);
                let condition = match &value.value {
                    Value::Null => Some(Condition::Ready),
                    Value::Str(text) => condition(ctx, value, text, &at),
                    Value::Map(fields) => {
                        let mut found = Some(Condition::Ready);
                        for (k, v) in fields {
                            let here = join(&at, &k.name);
                            if !ENTRY_KEYS.contains(&k.name.as_str()) {
                                ctx.problem(
                                    k.pos,
                                    &here,
                                    ProblemKind::UnknownField {
                                        name: k.name.clone(),
                                        suggestion: suggest(&k.name, ENTRY_KEYS.iter().copied()),
                                    },
                                );
                                continue;
                            }
                            found = match ctx.string(v, &here) {
                                Some(text) => condition(ctx, v, &text, &here),
                                None => None,
                            };
                        }
                        found
                    }
                    _ => {
                        ctx.invalid(value, &at, "a condition or a table with `condition`");
                        None
                    }
                };
                if let Some(condition) = condition {
                    let dep = Dependency {
                        name: key.name.clone(),
                        condition,
                    };
                    push(ctx, dep, key.pos, &at);
                }
            }
        }
        _ => ctx.invalid(node, path, "a list of app names or a table of them"),
    }
    out
}

fn ready(name: &str) -> Dependency {
    Dependency {
        name: name.to_string(),
        condition: Condition::Ready,
    }
}

fn condition(ctx: &mut Ctx<'_>, node: &Node, text: &str, at: &str) -> Option<Condition> {
    let found = Condition::parse(text);
    if found.is_none() {
        ctx.invalid(node, at, "`started`, `ready` or `completed`");
    }
    found
}

/// One app of the file as the check sees it.
pub struct Checked<'a> {
    pub name: &'a str,
    /// Its path in the document (`apps[2]`).
    pub path: &'a str,
    pub restart: RestartMode,
    pub deps: &'a [(Dependency, Pos)],
}

/// Checks the dependencies of every app of a file (before `--only` picks some): each names
/// another app of the file, and they form no cycle. An app that others wait to `complete`
/// but that restarts after every exit gets a warning.
pub fn check(ctx: &mut Ctx<'_>, apps: &[Checked<'_>]) {
    let names: Vec<&str> = apps.iter().map(|a| a.name).collect();
    for app in apps {
        for (dep, pos) in app.deps {
            let at = join(app.path, "depends_on");
            if dep.name == app.name {
                ctx.problem(
                    *pos,
                    &at,
                    ProblemKind::Other(format!("{:?} depends on itself", app.name)),
                );
            } else if !names.contains(&dep.name.as_str()) {
                let hint = suggest(&dep.name, names.iter().copied())
                    .map(|s| format!("; did you mean {s:?}?"))
                    .unwrap_or_default();
                ctx.problem(
                    *pos,
                    &at,
                    ProblemKind::Other(format!(
                        "depends on {:?}, which is not an app of this file{hint}",
                        dep.name
                    )),
                );
            } else if dep.condition == Condition::Completed
                && let Some(target) = apps.iter().find(|a| a.name == dep.name)
                && target.restart == RestartMode::Always
            {
                ctx.warn(
                    *pos,
                    &at,
                    format!(
                        "{:?} waits for {:?} to complete, but {:?} is restarted after every \
                         exit; give it `autorestart: false` (or restart_policy mode \
                         `on-failure`) so it runs once",
                        app.name, dep.name, dep.name
                    ),
                );
            }
        }
    }
    let graph: BTreeMap<&str, Vec<&str>> = apps
        .iter()
        .map(|a| {
            let deps = a
                .deps
                .iter()
                .map(|(d, _)| d.name.as_str())
                .filter(|d| *d != a.name)
                .collect();
            (a.name, deps)
        })
        .collect();
    if let Some(cycle) = pmtui_proto::depends::find_cycle(&graph) {
        // Reported at the first app of the cycle, where it names the next one.
        let first = apps.iter().find(|a| a.name == cycle[0]);
        let (pos, at) = match first {
            Some(app) => {
                let pos = app
                    .deps
                    .iter()
                    .find(|(d, _)| cycle.get(1).is_some_and(|next| &d.name == next))
                    .map_or(Pos::START, |(_, p)| *p);
                (pos, join(app.path, "depends_on"))
            }
            None => (Pos::START, String::new()),
        };
        ctx.problem(
            pos,
            &at,
            ProblemKind::Other(format!(
                "dependency cycle: {}; nothing can start first",
                cycle.join(" → ")
            )),
        );
    }
}
