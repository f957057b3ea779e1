//! The daemon's settings: `$PMTUI_HOME/config.toml` (or `config.json`), global defaults for
//! log rotation, kill timeout and metrics. A bad file never stops the daemon: each bad key
//! is reported (file:line:column) and falls back to its default.

use crate::error::{Problem, ProblemKind};
use crate::node::{Pos, Value};
use crate::read::Ctx;
use crate::schema;
use std::path::{Path, PathBuf};

/// What the file sets; `None` keeps the built-in default.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Settings {
    /// The file read, if there was one.
    pub file: Option<PathBuf>,
    pub log_max_size: Option<u64>,
    pub log_max_files: Option<u32>,
    pub log_compress: Option<bool>,
    pub log_ring_bytes: Option<usize>,
    pub kill_timeout_ms: Option<u64>,
    pub metrics_interval_ms: Option<u64>,
    pub metrics_history_ms: Option<u64>,
    pub metrics_addr: Option<String>,
    /// `auto`, `cgroup` or `group`.
    pub containment: Option<String>,
    /// The daemon's own hooks, by event.
    pub hooks: std::collections::BTreeMap<String, pmtui_proto::Hook>,
}

/// The settings file of a state directory, if any: `config.toml`, else `config.json`.
pub fn path_in(home: &Path) -> Option<PathBuf> {
    ["config.toml", "config.json"]
        .iter()
        .map(|name| home.join(name))
        .find(|p| p.is_file())
}

/// Reads the settings of `home`. Problems are returned beside what could be read.
pub fn load(home: &Path) -> (Settings, Vec<Problem>) {
    let Some(path) = path_in(home) else {
        return (Settings::default(), Vec::new());
    };
    let mut settings = Settings {
        file: Some(path.clone()),
        ..Settings::default()
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(err) => {
            let problem = Problem {
                file: path,
                pos: Pos::START,
                field: String::new(),
                kind: ProblemKind::Other(format!("cannot read: {err}")),
            };
            return (settings, vec![problem]);
        }
    };
    let parsed = if path.extension().is_some_and(|e| e == "json") {
        crate::json::parse(&text)
    } else {
        crate::toml::parse(&text)
    };
    let doc = match parsed {
        Ok(doc) => doc,
        Err(e) => {
            let problem = Problem {
                file: path,
                pos: e.pos,
                field: String::new(),
                kind: ProblemKind::Syntax(e.message),
            };
            return (settings, vec![problem]);
        }
    };
    let mut ctx = Ctx::new(&path);
    if let Value::Map(_) = doc.value {
        for (field, key, value) in ctx.fields(&doc, "", schema::SETTINGS, |_| false) {
            let here = key.name.as_str();
            match field.name {
                "log_max_size" => settings.log_max_size = ctx.size(value, here),
                "log_max_files" => {
                    settings.log_max_files = ctx.uint(value, here, 10_000).map(|n| n as u32)
                }
                "log_compress" => settings.log_compress = ctx.bool(value, here),
                "log_ring_size" => {
                    settings.log_ring_bytes = ctx.size(value, here).map(|n| n as usize)
                }
                "kill_timeout" => settings.kill_timeout_ms = ctx.duration(value, here),
                "hooks" => settings.hooks = crate::app::hooks::hooks(&mut ctx, value, here),
                "metrics_interval" => settings.metrics_interval_ms = ctx.duration(value, here),
                "metrics_history" => settings.metrics_history_ms = ctx.duration(value, here),
                "containment" => match ctx.string(value, here).as_deref() {
                    Some(mode @ ("auto" | "cgroup" | "group")) => {
                        settings.containment = Some(mode.to_string())
                    }
                    Some(_) => ctx.invalid(value, here, "\"auto\", \"cgroup\" or \"group\""),
                    None => {}
                },
                "metrics_addr" => {
                    let addr = match &value.value {
                        Value::Int(port) => Some(port.to_string()),
                        _ => ctx.string(value, here),
                    };
                    let valid = |a: &str| {
                        a.parse::<std::net::SocketAddr>().is_ok() || a.parse::<u16>().is_ok()
                    };
                    match addr {
                        Some(a) if valid(&a) => settings.metrics_addr = Some(a),
                        Some(_) => {
                            ctx.invalid(value, here, "an address like \"127.0.0.1:9615\" or a port")
                        }
                        None => {}
                    }
                }
                _ => {}
            }
        }
    } else {
        ctx.invalid(&doc, "", "a table of settings");
    }
    let mut problems = ctx.problems;
    problems.extend(ctx.warnings.into_iter().map(|w| Problem {
        file: w.file,
        pos: w.pos,
        field: w.field,
        kind: ProblemKind::Other(w.message),
    }));
    (settings, problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_keys_are_read_and_bad_ones_reported_with_their_line() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(
            dir.path().join("config.toml"),
            "log_max_size = \"1M\"\nlog_max_files = 3\nkill_timeout = \"5s\"\nlog_compres = true\nmetrics_interval = \"soon\"\n",
        )
        .expect("write");
        let (settings, problems) = load(dir.path());
        assert_eq!(settings.log_max_size, Some(1 << 20));
        assert_eq!(settings.log_max_files, Some(3));
        assert_eq!(settings.kill_timeout_ms, Some(5000));
        assert_eq!(settings.metrics_interval_ms, None);
        let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(problems.len(), 2, "{text:?}");
        assert!(
            text.iter().any(|t| t.ends_with(
                "config.toml:4:1: log_compres: unknown field \"log_compres\" ignored; did you mean \"log_compress\"?"
            )),
            "{text:?}"
        );
        assert!(
            text.iter()
                .any(|t| t.contains("config.toml:5:20: metrics_interval: expected a duration")),
            "{text:?}"
        );
    }

    #[test]
    fn a_syntax_error_keeps_every_default() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("config.toml"), "log_max_files = \n").expect("write");
        let (settings, problems) = load(dir.path());
        assert_eq!(settings.log_max_files, None);
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].pos.line, 1);
    }
}
