//! File watching in a file: pm2's `watch` (`true`, a path or a list of paths),
//! `ignore_watch` and `watch_delay`, and the seed's `watch: { enabled, paths, ignore,
//! debounce }`, all onto one `WatchSpec` with paths anchored at the app's `cwd`.

use crate::node::{Node, Pos, Value};
use crate::read::{Ctx, join};
use crate::schema;
use pmtui_proto::WatchSpec;
use std::path::{Path, PathBuf};

/// What the app's keys said, before its `cwd` is known.
#[derive(Default)]
pub(super) struct WatchKeys {
    /// `watch`, read: `None` when absent.
    watch: Option<(WatchSpec, Pos, String)>,
    ignore: Option<(Vec<String>, Pos, String)>,
    delay: Option<(u64, Pos, String)>,
}

impl WatchKeys {
    pub fn watch(&mut self, ctx: &mut Ctx<'_>, node: &Node, here: &str) {
        let spec = match &node.value {
            Value::Bool(on) => Some(WatchSpec {
                enabled: *on,
                ..WatchSpec::default()
            }),
            Value::Str(s) if s == "true" || s == "false" => Some(WatchSpec {
                enabled: s == "true",
                ..WatchSpec::default()
            }),
            Value::Str(_) | Value::Seq(_) => ctx.words_or_path(node, here).map(|paths| WatchSpec {
                paths: paths.into_iter().map(PathBuf::from).collect(),
                ..WatchSpec::default()
            }),
            Value::Map(_) => Some(block(ctx, node, here)),
            _ => {
                ctx.invalid(
                    node,
                    here,
                    "true, false, a path, a list of paths or a table",
                );
                None
            }
        };
        self.watch = spec.map(|s| (s, node.pos, here.to_string()));
    }

    pub fn ignore(&mut self, ctx: &mut Ctx<'_>, node: &Node, here: &str) {
        self.ignore = ctx
            .words_or_path(node, here)
            .map(|g| (g, node.pos, here.to_string()));
    }

    pub fn delay(&mut self, ctx: &mut Ctx<'_>, node: &Node, here: &str) {
        self.delay = ctx
            .duration(node, here)
            .map(|ms| (ms, node.pos, here.to_string()));
    }

    /// The watch of an app working in `cwd`; `ignore_watch` and `watch_delay` without a
    /// `watch` are warned about (they would do nothing).
    pub fn finish(self, ctx: &mut Ctx<'_>, cwd: &Path) -> Option<WatchSpec> {
        let Some((mut spec, pos, here)) = self.watch else {
            for (pos, here) in [
                self.ignore.map(|(_, p, h)| (p, h)),
                self.delay.map(|(_, p, h)| (p, h)),
            ]
            .into_iter()
            .flatten()
            {
                ctx.warn(pos, &here, "has no effect without `watch`");
            }
            return None;
        };
        if let Some((globs, _, _)) = self.ignore {
            spec.ignore.extend(globs);
        }
        if let Some((ms, _, _)) = self.delay {
            spec.delay_ms = ms;
        }
        spec.paths = spec.paths.iter().map(|p| cwd.join(p)).collect();
        if spec.enabled {
            for path in spec.roots(cwd).iter().filter(|p| !p.exists()) {
                ctx.warn(
                    pos,
                    &here,
                    format!(
                        "{} does not exist (yet); it is watched once it appears",
                        path.display()
                    ),
                );
            }
        }
        Some(spec)
    }
}

/// The seed's block: `{ enabled, paths, ignore, debounce }`.
fn block(ctx: &mut Ctx<'_>, node: &Node, path: &str) -> WatchSpec {
    let mut spec = WatchSpec::default();
    for (field, key, value) in ctx.fields(node, path, schema::WATCH, |_| false) {
        let here = join(path, &key.name);
        let here = here.as_str();
        match field.name {
            "enabled" => spec.enabled = ctx.bool(value, here).unwrap_or(true),
            "paths" => {
                spec.paths = ctx
                    .words_or_path(value, here)
                    .unwrap_or_default()
                    .into_iter()
                    .map(PathBuf::from)
                    .collect();
            }
            "ignore" => spec.ignore = ctx.words_or_path(value, here).unwrap_or_default(),
            "debounce" => {
                if let Some(ms) = ctx.duration(value, here) {
                    spec.delay_ms = ms;
                }
            }
            _ => {}
        }
    }
    spec
}
