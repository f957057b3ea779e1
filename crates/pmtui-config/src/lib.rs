//! pmtui's configuration files, read client-side (as pm2's CLI does) so the daemon only
//! receives validated, resolved `ProcessSpec`s.
//!
//! Ecosystem files come in JSON (comments and trailing commas allowed), YAML, TOML and pm2's
//! `ecosystem.config.js`/`.cjs`/`.mjs` (evaluated by `node`). Every format is first read
//! into one positioned tree (`node::Node`), so the schema check that follows reports each
//! problem with the file, line, column and field whatever the format. `settings` reads the
//! daemon's own `$PMTUI_HOME/config.toml`; `export` writes specs back as a file.

mod app;
pub mod cluster;
mod dotenv;
pub mod error;
pub mod export;
mod js;
mod json;
pub mod lookup;
pub mod node;
pub mod orchestrate;
mod read;
pub mod schema;
pub mod settings;
mod shell;
pub mod template;
mod toml;
pub mod units;
mod yaml;

#[cfg(test)]
mod tests;

pub use error::{ConfigError, Problem, ProblemKind, Warning};
pub use export::Format;
pub use lookup::{Resolved, interpreter_for, resolve_script, split_env, which};
pub use orchestrate::shell_quote;
pub use settings::Settings;
pub use shell::shell_env;

use node::{Node, Pos, Value};
use pmtui_proto::ProcessSpec;
use read::Ctx;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What the caller knows that the file does not.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// `--env <name>`: the `env_<name>` block to merge over `env`.
    pub env_name: Option<String>,
    /// `--only a,b`: the apps to act on (all when empty).
    pub only: Vec<String>,
    /// The environment the processes inherit (the caller's shell).
    pub shell_env: BTreeMap<String, String>,
    /// `--env KEY=VALUE` from the command line, over the file's.
    pub cli_env: BTreeMap<String, String>,
    /// `$PMTUI_HOME`, for `log_file: true`.
    pub home: PathBuf,
    /// The kill timeout of apps that do not set one (the daemon settings' `kill_timeout`).
    pub kill_timeout_ms: u64,
    /// Resolve scripts (find the file, check the interpreter). Verbs that only need names
    /// (stop, delete) turn this off so a removed script does not block them.
    pub resolve: bool,
}

impl LoadOptions {
    pub fn new(home: PathBuf) -> Self {
        Self {
            env_name: None,
            only: Vec::new(),
            shell_env: shell_env(),
            cli_env: BTreeMap::new(),
            home,
            kill_timeout_ms: pmtui_proto::spec::DEFAULT_KILL_TIMEOUT_MS,
            resolve: true,
        }
    }
}

/// The apps of a file (those `--only` selected), and what was accepted without effect.
#[derive(Debug)]
pub struct Loaded {
    pub apps: Vec<ProcessSpec>,
    pub warnings: Vec<Warning>,
    /// What an `ecosystem.config.js` printed while node evaluated it (stdout, then stderr),
    /// for the caller to show on stderr; empty for the other formats.
    pub printed: String,
}

/// pm2's spelling of "no file" for a log path: `NULL` (exactly, as pm2 compares it) or
/// `/dev/null`. Both become `/dev/null`, which the daemon never opens: the stream still
/// reaches the ring and `logs -f`.
pub fn null_log_path(p: &Path) -> Option<PathBuf> {
    (p == Path::new("NULL") || p == Path::new("/dev/null")).then(|| PathBuf::from("/dev/null"))
}

/// True when a `start` argument names a configuration file rather than a script, as pm2
/// decides: by extension (`.json`, `.yaml`, `.yml`, `.toml`) or a `*.config.js` name.
pub fn is_config_file(arg: &str) -> bool {
    let lower = arg.to_ascii_lowercase();
    [".json", ".json5", ".yaml", ".yml", ".toml"]
        .iter()
        .any(|ext| lower.ends_with(ext))
        || ["config.js", "config.cjs", "config.mjs"]
            .iter()
            .any(|end| lower.ends_with(end))
}

/// Reads an ecosystem file into specs. Every problem in the file is reported together;
/// nothing is returned from a file that has one.
pub fn load(path: &Path, opts: &LoadOptions) -> Result<Loaded, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let dir = abs.parent().unwrap_or(Path::new("/")).to_path_buf();
    load_document(path, &abs, &dir, &text, opts)
}

/// Reads an ecosystem file's text given on standard input (`pmtui start -`, as pm2's
/// `cat all.json | pm2 start -`): JSON (comments and trailing commas allowed), shown as
/// `<stdin>` in errors, its relative paths taken from `dir` (the caller's directory).
pub fn load_stdin(text: &str, dir: &Path, opts: &LoadOptions) -> Result<Loaded, ConfigError> {
    let shown = Path::new("<stdin>");
    load_document(shown, shown, dir, text, opts)
}

/// Reads an ecosystem file's text as `load` reads the file `name` (the format from its
/// extension; a `*.config.js` name runs node), relative paths taken from `dir`: for reading
/// bytes that are not in a file (the fuzz targets in `fuzz/`).
pub fn load_text(
    name: &Path,
    text: &str,
    dir: &Path,
    opts: &LoadOptions,
) -> Result<Loaded, ConfigError> {
    load_document(name, name, dir, text, opts)
}

fn load_document(
    path: &Path,
    abs: &Path,
    dir: &Path,
    text: &str,
    opts: &LoadOptions,
) -> Result<Loaded, ConfigError> {
    let dir = dir.to_path_buf();
    let (doc, printed) = parse_document(path, abs, text, &opts.shell_env)
        .map_err(|p| ConfigError::Problems(vec![p]))?;
    let mut ctx = Ctx::new(path);
    let apps = apps_of(&mut ctx, &doc);
    let deploy_env = deploy_env(&doc, opts.env_name.as_deref());
    let mut drafts = Vec::new();
    for (node, where_) in apps {
        let deploy = deploy_env.as_ref().map(|(n, at)| (*n, at.as_str()));
        drafts.push(app::read(&mut ctx, node, &where_, &dir, opts, deploy));
    }
    // Names must be unique within a file.
    for i in 0..drafts.len() {
        let name = &drafts[i].spec.name;
        if name.is_empty() {
            continue;
        }
        if let Some(first) = drafts[..i].iter().find(|d| &d.spec.name == name) {
            let message = format!(
                "two apps are named {name:?} (the other is at line {}); names must be unique",
                first.name_pos.line
            );
            let (pos, field) = (drafts[i].name_pos, read::join(&drafts[i].path, "name"));
            ctx.problem(pos, &field, ProblemKind::Other(message));
        }
    }
    let checked: Vec<app::depends::Checked<'_>> = drafts
        .iter()
        .map(|d| app::depends::Checked {
            name: &d.spec.name,
            path: &d.path,
            restart: d.spec.restart.mode,
            deps: &d.depends_on,
        })
        .collect();
    app::depends::check(&mut ctx, &checked);
    drop(checked);
    for only in &opts.only {
        if !drafts.iter().any(|d| &d.spec.name == only) {
            let names: Vec<_> = drafts.iter().map(|d| d.spec.name.as_str()).collect();
            let hint = error::suggest(only, names.iter().copied())
                .map(|s| format!("; did you mean {s:?}?"))
                .unwrap_or_default();
            ctx.problem(
                Pos::START,
                "",
                ProblemKind::Other(format!(
                    "--only {only}: no app of that name (the file has {}){hint}",
                    names.join(", ")
                )),
            );
        }
    }
    let mut specs = Vec::new();
    for draft in drafts {
        if !opts.only.is_empty() && !opts.only.contains(&draft.spec.name) {
            continue;
        }
        if opts.resolve {
            specs.extend(app::resolve(&mut ctx, draft));
        } else {
            specs.push(app::unresolved(draft));
        }
    }
    // In the order of the file, however the checks that found them were ordered.
    ctx.warnings
        .sort_by(|a, b| (&a.file, a.pos.line, a.pos.col).cmp(&(&b.file, b.pos.line, b.pos.col)));
    if !ctx.problems.is_empty() {
        // The warnings too: fixing the errors should not uncover more surprises.
        let mut problems = ctx.problems;
        problems.extend(ctx.warnings.into_iter().map(|w| Problem {
            file: w.file,
            pos: w.pos,
            field: w.field,
            kind: ProblemKind::Other(format!("warning: {}", w.message)),
        }));
        return Err(ConfigError::Problems(problems));
    }
    Ok(Loaded {
        apps: specs,
        warnings: ctx.warnings,
        printed,
    })
}

/// A file as plain data, read as `load` reads it (JSON with comments, YAML, TOML, or
/// `*.config.js` through node): what an editor checks against `pmtui schema`.
pub fn document(
    path: &Path,
    shell_env: &BTreeMap<String, String>,
) -> Result<serde_json::Value, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    parse_document(path, &abs, &text, shell_env)
        .map(|(doc, _printed)| doc.to_json())
        .map_err(|p| ConfigError::Problems(vec![p]))
}

/// The file's text as a positioned tree, by its format, and what evaluating it printed.
fn parse_document(
    shown: &Path,
    abs: &Path,
    text: &str,
    env: &BTreeMap<String, String>,
) -> Result<(Node, String), Problem> {
    let name = shown.to_string_lossy().to_ascii_lowercase();
    let syntax = |e: json::SyntaxError| Problem {
        file: shown.to_path_buf(),
        pos: e.pos,
        field: String::new(),
        kind: ProblemKind::Syntax(e.message),
    };
    let quiet = |doc: Node| (doc, String::new());
    if name.ends_with(".yaml") || name.ends_with(".yml") {
        yaml::parse(text).map(quiet).map_err(syntax)
    } else if name.ends_with(".toml") {
        toml::parse(text).map(quiet).map_err(syntax)
    } else if name.ends_with(".js") || name.ends_with(".cjs") || name.ends_with(".mjs") {
        js::evaluate(abs, text, env).map(|e| (e.doc, e.printed)).map_err(|e| match e {
            js::JsError::NoNode => Problem {
                file: shown.to_path_buf(),
                pos: Pos::START,
                field: String::new(),
                kind: ProblemKind::Other(
                    "this is a JavaScript ecosystem file, read by running `node`, which is not installed (not found in PATH); install Node.js, or convert the file to JSON, YAML or TOML".into(),
                ),
            },
            js::JsError::Failed(e) => syntax(e),
        })
    } else {
        json::parse(text).map(quiet).map_err(syntax)
    }
}

/// pm2's `deploy.<name>.env` for `--env <name>`: the lowest layer of every app's
/// environment, under the app's `env` and `env_<name>`, as pm2 merges them.
fn deploy_env<'n>(doc: &'n Node, env_name: Option<&str>) -> Option<(&'n Node, String)> {
    let env_name = env_name?;
    let get = |node: &'n Node, key: &str| match &node.value {
        Value::Map(entries) => entries.iter().find(|(k, _)| k.name == key).map(|(_, v)| v),
        _ => None,
    };
    let env = get(get(get(doc, "deploy")?, env_name)?, "env")?;
    Some((env, format!("deploy.{env_name}.env")))
}

/// The app nodes of a document and their paths: `{apps: [...]}` (or pm2's `pm2` key), a
/// bare list, or a single app.
fn apps_of<'n>(ctx: &mut Ctx<'_>, doc: &'n Node) -> Vec<(&'n Node, String)> {
    match &doc.value {
        Value::Seq(items) => items
            .iter()
            .enumerate()
            .map(|(i, n)| (n, format!("[{i}]")))
            .collect(),
        Value::Map(entries)
            if entries
                .iter()
                .any(|(k, _)| k.name == "apps" || k.name == "pm2") =>
        {
            let mut apps = Vec::new();
            for (field, key, value) in ctx.fields(doc, "", schema::TOP, |_| false) {
                if field.name != "apps" {
                    continue;
                }
                match &value.value {
                    Value::Seq(items) => apps.extend(
                        items
                            .iter()
                            .enumerate()
                            .map(|(i, n)| (n, format!("{}[{i}]", key.name))),
                    ),
                    Value::Map(_) => apps.push((value, key.name.clone())),
                    _ => ctx.invalid(value, &key.name, "a list of apps"),
                }
            }
            apps
        }
        Value::Map(entries) => {
            // `aps: [...]` is a misspelt `apps`, not one app with an unknown key.
            let misspelt = entries.iter().find(|(k, _)| {
                error::suggest(&k.name, schema::names(schema::TOP)).as_deref() == Some("apps")
            });
            if let Some((key, _)) = misspelt {
                ctx.problem(
                    key.pos,
                    &key.name,
                    ProblemKind::Other(format!(
                        "unknown field {:?}; did you mean \"apps\"? (without it the file \
                         reads as a single app)",
                        key.name
                    )),
                );
                return Vec::new();
            }
            vec![(doc, String::new())]
        }
        Value::Null => {
            ctx.problem(
                doc.pos,
                "",
                ProblemKind::Other("the file is empty; it needs `apps: [...]`".into()),
            );
            Vec::new()
        }
        _ => {
            ctx.invalid(doc, "", "a table with `apps`, a list of apps, or one app");
            Vec::new()
        }
    }
}
