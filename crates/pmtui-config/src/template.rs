//! The commented ecosystem file `pmtui init` writes. One template, written in any of the
//! formats the reader takes (YAML, JSON, TOML, `*.config.js`), so they all say the same:
//! one app with the keys most files start from set, and the common ones written out but
//! commented, ready to enable. A test enables them all and reads every format back.

use std::path::Path;

/// The formats a template is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemplateFormat {
    Yaml,
    Json,
    Toml,
    /// `module.exports = {…}` (`*.config.js`, `*.config.cjs`).
    CommonJs,
    /// `export default {…}` (`*.config.mjs`).
    EsModule,
}

impl TemplateFormat {
    /// The format a file name asks for, as the reader recognises files.
    pub fn of_path(path: &Path) -> Option<Self> {
        let name = path.file_name()?.to_string_lossy().to_ascii_lowercase();
        Some(if name.ends_with(".yaml") || name.ends_with(".yml") {
            Self::Yaml
        } else if name.ends_with(".json") || name.ends_with(".json5") {
            Self::Json
        } else if name.ends_with(".toml") {
            Self::Toml
        } else if name.ends_with("config.js") || name.ends_with("config.cjs") {
            Self::CommonJs
        } else if name.ends_with("config.mjs") {
            Self::EsModule
        } else {
            return None;
        })
    }
}

/// A value in the template.
enum Val {
    Str(&'static str),
    Int(i64),
    Bool(bool),
    List(&'static [&'static str]),
    Table(&'static [Item]),
}

/// A line of the template: a key (set, or commented out) or a comment of its own.
enum Item {
    Key {
        key: &'static str,
        value: Val,
        on: bool,
        note: &'static str,
    },
    Comment(&'static str),
}

const fn on(key: &'static str, value: Val, note: &'static str) -> Item {
    Item::Key {
        key,
        value,
        on: true,
        note,
    }
}

const fn off(key: &'static str, value: Val, note: &'static str) -> Item {
    Item::Key {
        key,
        value,
        on: false,
        note,
    }
}

use Val::{Bool, Int, List, Str, Table};

/// The one app of the template.
static APP: &[Item] = &[
    on("name", Str("app"), "shown by `pmtui ls`; targets use it"),
    on(
        "script",
        Str("app.js"),
        "a script (run by node, python3, bash… by extension), a binary, or \"a command line\"",
    ),
    off(
        "args",
        List(&["--port", "3000"]),
        "arguments for the script",
    ),
    off(
        "cwd",
        Str("."),
        "relative to this file's folder (the default)",
    ),
    off("instances", Int(2), "copies to run; \"max\" is one per CPU"),
    on(
        "env",
        Table(&[on("NODE_ENV", Str("development"), "")]),
        "variables over the shell's environment",
    ),
    on(
        "env_production",
        Table(&[on("NODE_ENV", Str("production"), "")]),
        "merged over env with `--env production`",
    ),
    Item::Comment("Restarts: always, at once, then with backoff; errored after a crash loop."),
    off(
        "restart_policy",
        Table(&[
            off("mode", Str("on-failure"), "always, on-failure or no"),
            off("max_restarts", Int(16), "quick crashes before errored"),
            off("min_uptime", Str("1s"), "a shorter run is a crash"),
            off(
                "backoff",
                Table(&[
                    on("type", Str("exponential"), ""),
                    on("delay", Str("100ms"), ""),
                    on("max_delay", Str("15s"), ""),
                ]),
                "delay between restarts",
            ),
        ]),
        "",
    ),
    off(
        "max_memory_restart",
        Str("500M"),
        "restart when the process tree uses more",
    ),
    off(
        "cron_restart",
        Str("0 3 * * *"),
        "restart every day at 03:00",
    ),
    off(
        "kill_timeout",
        Str("5s"),
        "from the stop signal to SIGKILL (default 1600ms)",
    ),
    off("stop_signal", Str("SIGINT"), "default SIGTERM"),
    off("autostart", Bool(false), "add it stopped"),
    Item::Comment("Logs: $PMTUI_HOME/logs/<name>-out.log and -err.log, rotated past 10M."),
    off(
        "log",
        Table(&[
            off(
                "date_format",
                Str("%Y-%m-%d %H:%M:%S"),
                "prefix each line with its time",
            ),
            off("max_size", Str("10M"), "rotate past this size"),
            off("max_files", Int(5), "rotated files kept"),
            off("compress", Bool(true), "gzip rotated files"),
        ]),
        "",
    ),
];

/// What the file says at the top, before the apps.
const HEADER: &[&str] = &[
    "pmtui ecosystem file. `pmtui start {file}` starts these apps; started again, it",
    "restarts only the apps whose definition changed. Remove a comment marker to use a key.",
    "Every key: docs/configuration.md, or `pmtui schema` for your editor.",
];

/// The template in `format`; `file` is the name the header tells to start. With
/// `all_on`, every commented key is set (how the tests check that they are all valid).
pub fn render(format: TemplateFormat, file: &str, all_on: bool) -> String {
    let mut w = Writer {
        out: String::new(),
        all_on,
        format,
    };
    let comment = match format {
        TemplateFormat::Yaml | TemplateFormat::Toml => "#",
        _ => "//",
    };
    for line in HEADER {
        w.out
            .push_str(&format!("{comment} {}\n", line.replace("{file}", file)));
    }
    match format {
        TemplateFormat::Yaml => {
            w.out.push_str("apps:\n");
            w.yaml(APP, 4, true, true);
        }
        TemplateFormat::Toml => w.toml(),
        TemplateFormat::Json | TemplateFormat::CommonJs | TemplateFormat::EsModule => {
            let open = match format {
                TemplateFormat::CommonJs => "module.exports = {\n",
                TemplateFormat::EsModule => "export default {\n",
                _ => "{\n",
            };
            w.out.push_str(open);
            w.out.push_str(&format!("  {}: [\n    {{\n", w.key("apps")));
            w.js(APP, 6, true);
            w.out.push_str("    },\n  ],\n}");
            w.out.push_str(if format == TemplateFormat::Json {
                "\n"
            } else {
                ";\n"
            });
        }
    }
    w.out
}

struct Writer {
    out: String,
    all_on: bool,
    format: TemplateFormat,
}

impl Writer {
    fn set(&self, on: bool) -> bool {
        on || self.all_on
    }

    /// A key as JavaScript writes it (bare when it can be), or quoted JSON.
    fn key(&self, key: &str) -> String {
        let bare = key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if self.format != TemplateFormat::Json && bare {
            key.to_string()
        } else {
            format!("{key:?}")
        }
    }

    fn scalar(&self, value: &Val) -> String {
        match value {
            Str(s) => format!("{s:?}"),
            Int(i) => i.to_string(),
            Bool(b) => b.to_string(),
            List(items) => {
                let items: Vec<String> = items.iter().map(|i| format!("{i:?}")).collect();
                format!("[{}]", items.join(", "))
            }
            Table(_) => String::new(),
        }
    }

    fn note(note: &str, mark: &str) -> String {
        if note.is_empty() {
            String::new()
        } else {
            format!("  {mark} {note}")
        }
    }

    /// YAML: `first` puts the list dash before the first key of the app.
    fn yaml(&mut self, items: &[Item], indent: usize, enabled: bool, mut first: bool) {
        for item in items {
            let lead = if first {
                format!("{}- ", " ".repeat(indent - 2))
            } else {
                " ".repeat(indent)
            };
            match item {
                Item::Comment(text) => {
                    self.out
                        .push_str(&format!("{}# {text}\n", " ".repeat(indent)));
                    continue;
                }
                Item::Key {
                    key,
                    value,
                    on,
                    note,
                } => {
                    let set = enabled && self.set(*on);
                    let mark = if set { "" } else { "# " };
                    let note = Self::note(note, "#");
                    match value {
                        Table(children) => {
                            self.out.push_str(&format!("{lead}{mark}{key}:{note}\n"));
                            self.yaml(children, indent + 2, set, false);
                        }
                        Str(text) => self
                            .out
                            .push_str(&format!("{lead}{mark}{key}: {}{note}\n", yaml_string(text))),
                        // YAML takes JSON's lists and numbers as they are.
                        _ => self.out.push_str(&format!(
                            "{lead}{mark}{key}: {}{note}\n",
                            self.scalar(value)
                        )),
                    }
                }
            }
            first = false;
        }
    }

    /// JSON and JavaScript: commented keys as `//` lines; every entry ends with a comma,
    /// which the reader (and JavaScript) accept.
    fn js(&mut self, items: &[Item], indent: usize, enabled: bool) {
        let pad = " ".repeat(indent);
        for item in items {
            match item {
                Item::Comment(text) => self.out.push_str(&format!("{pad}// {text}\n")),
                Item::Key {
                    key,
                    value,
                    on,
                    note,
                } => {
                    let set = enabled && self.set(*on);
                    let mark = if set { "" } else { "// " };
                    let note = Self::note(note, "//");
                    let key = self.key(key);
                    match value {
                        Table(children) => {
                            self.out.push_str(&format!("{pad}{mark}{key}: {{{note}\n"));
                            self.js(children, indent + 2, set);
                            self.out.push_str(&format!("{pad}{mark}}},\n"));
                        }
                        _ => self.out.push_str(&format!(
                            "{pad}{mark}{key}: {},{note}\n",
                            self.scalar(value)
                        )),
                    }
                }
            }
        }
    }

    /// TOML: the app's plain keys under `[[apps]]`, then each block as `[apps.<key>]`, a
    /// block inside a block as an inline table.
    fn toml(&mut self) {
        self.out.push_str("\n[[apps]]\n");
        // A comment goes with the key after it; one before a block goes with the block.
        let before_block = |i: usize| {
            matches!(
                APP.get(i + 1),
                Some(Item::Key {
                    value: Table(_),
                    ..
                })
            )
        };
        for (i, item) in APP.iter().enumerate() {
            match item {
                Item::Comment(_) if before_block(i) => {}
                Item::Comment(text) => self.out.push_str(&format!("# {text}\n")),
                Item::Key {
                    key,
                    value,
                    on,
                    note,
                } if !matches!(value, Table(_)) => {
                    let mark = if self.set(*on) { "" } else { "# " };
                    let note = Self::note(note, "#");
                    self.out
                        .push_str(&format!("{mark}{key} = {}{note}\n", self.scalar(value)));
                }
                Item::Key { .. } => {}
            }
        }
        for (i, item) in APP.iter().enumerate() {
            let Item::Key {
                key,
                value: Table(children),
                on,
                note,
            } = item
            else {
                continue;
            };
            let set = self.set(*on);
            let mark = if set { "" } else { "# " };
            let note = Self::note(note, "#");
            self.out.push('\n');
            if let Some(Item::Comment(text)) = i.checked_sub(1).and_then(|p| APP.get(p)) {
                self.out.push_str(&format!("# {text}\n"));
            }
            self.out.push_str(&format!("{mark}[apps.{key}]{note}\n"));
            for child in *children {
                let Item::Key {
                    key,
                    value,
                    on,
                    note,
                } = child
                else {
                    continue;
                };
                let mark = if set && self.set(*on) { "" } else { "# " };
                let note = Self::note(note, "#");
                let value = match value {
                    Table(inner) => {
                        let parts: Vec<String> = inner
                            .iter()
                            .filter_map(|i| match i {
                                Item::Key { key, value, .. } => {
                                    Some(format!("{key} = {}", self.scalar(value)))
                                }
                                Item::Comment(_) => None,
                            })
                            .collect();
                        format!("{{ {} }}", parts.join(", "))
                    }
                    _ => self.scalar(value),
                };
                self.out.push_str(&format!("{mark}{key} = {value}{note}\n"));
            }
        }
    }
}

/// A string as YAML writes it: bare when it cannot be read as anything else (`1s`,
/// `app.js`), quoted otherwise (`"0 3 * * *"`, `"no"`, `"16"`).
fn yaml_string(text: &str) -> String {
    let plain = text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_./-".contains(c))
        && text.starts_with(|c: char| c.is_ascii_alphanumeric())
        && text.parse::<f64>().is_err()
        && !["true", "false", "yes", "no", "on", "off", "null", "y", "n"]
            .contains(&text.to_ascii_lowercase().as_str());
    if plain {
        text.to_string()
    } else {
        format!("{text:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{LoadOptions, load};

    /// Every format, as written and with every key enabled, reads back to the same app with
    /// no problem and no warning.
    #[test]
    fn every_format_reads_back_with_every_key_enabled() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(dir.path().join("app.js"), "setInterval(() => {}, 1000);\n")
            .unwrap_or_else(|e| panic!("{e}"));
        let mut opts = LoadOptions::new(dir.path().join("home"));
        opts.resolve = false;
        let node = crate::which("node", &opts.shell_env).is_some();
        let formats = [
            ("ecosystem.yaml", TemplateFormat::Yaml),
            ("ecosystem.json", TemplateFormat::Json),
            ("ecosystem.toml", TemplateFormat::Toml),
            ("ecosystem.config.js", TemplateFormat::CommonJs),
            ("ecosystem.config.mjs", TemplateFormat::EsModule),
        ];
        for (name, format) in formats {
            assert_eq!(TemplateFormat::of_path(Path::new(name)), Some(format));
            let is_js = matches!(format, TemplateFormat::CommonJs | TemplateFormat::EsModule);
            if is_js && !node {
                continue;
            }
            for all_on in [false, true] {
                let text = render(format, name, all_on);
                let path = dir.path().join(name);
                std::fs::write(&path, &text).unwrap_or_else(|e| panic!("{e}"));
                let loaded = load(&path, &opts)
                    .unwrap_or_else(|e| panic!("{name} (all_on {all_on}):\n{text}\n{e}"));
                assert!(loaded.warnings.is_empty(), "{name}: {:?}", loaded.warnings);
                let app = &loaded.apps[0];
                assert_eq!(app.name, "app", "{name}");
                assert_eq!(
                    app.config_env.get("NODE_ENV").map(String::as_str),
                    Some("development")
                );
                if all_on {
                    assert_eq!(app.instances, 2, "{name}:\n{text}");
                    assert_eq!(app.max_memory_restart, Some(500 * 1024 * 1024), "{name}");
                    assert_eq!(app.logs.max_files, Some(5), "{name}");
                    assert_eq!(app.restart.backoff.delay_ms, 100, "{name}");
                    assert!(!app.autostart, "{name}");
                } else {
                    assert_eq!(app.instances, 1, "{name}");
                    assert_eq!(app.max_memory_restart, None, "{name}");
                }
            }
        }
        assert_eq!(TemplateFormat::of_path(Path::new("notes.txt")), None);
        assert_eq!(yaml_string("1s"), "1s");
        assert_eq!(yaml_string("app.js"), "app.js");
        assert_eq!(yaml_string("no"), "\"no\"");
        assert_eq!(yaml_string("16"), "\"16\"");
        assert_eq!(yaml_string("0 3 * * *"), "\"0 3 * * *\"");
    }
}
