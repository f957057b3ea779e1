//! One app of an ecosystem file into a `ProcessSpec`: every key checked against the schema,
//! pm2's flat attributes and the seed's nested blocks mapped onto the same spec, the
//! environment built (shell, `env_file`, `env`, `env_<name>`, `port`, command line), and
//! the script resolved like `pmtui start` resolves it.

pub mod depends;
mod fields;
mod health;
pub(crate) mod hooks;
mod watch;

use crate::error::ProblemKind;
use crate::node::{Node, Pos, Value};
use crate::read::{Ctx, join};
use crate::schema;
use crate::{LoadOptions, dotenv, lookup, units};
use fields::{
    check_cron, check_kind, exit_codes, log_block, log_format, restart_policy, signal_name,
};
use pmtui_proto::{
    BackoffKind, ExecMode, HttpTarget, ListenSpec, MAX_APP_NAME, MAX_APP_SERIES, ProcessSpec,
    RestartMode, file_stem,
};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// An app read from the file, before its script is resolved.
pub struct Draft {
    pub spec: ProcessSpec,
    pub path: String,
    /// The name, and where it is written (for duplicate-name errors).
    pub name_pos: Pos,
    /// `depends_on`, each entry with where it is written (checked over the whole file).
    pub depends_on: Vec<(pmtui_proto::Dependency, Pos)>,
    script: Option<(String, Pos)>,
    interpreter: Option<String>,
}

/// Reads the app at `node` (`path` is its place in the document, like `apps[2]`).
/// `deploy_env` is the file's `deploy.<name>.env` for `--env <name>`, and where it is.
pub fn read(
    ctx: &mut Ctx<'_>,
    node: &Node,
    path: &str,
    dir: &Path,
    opts: &LoadOptions,
    deploy_env: Option<(&Node, &str)>,
) -> Draft {
    let mut spec = ProcessSpec {
        kill_timeout_ms: opts.kill_timeout_ms,
        ..ProcessSpec::default()
    };
    let mut name: Option<(String, Pos)> = None;
    let mut prefix = None;
    let mut script = None;
    let mut interpreter = None;
    let mut cwd: Option<(PathBuf, Pos)> = None;
    let mut env_files: Vec<(PathBuf, Pos, String)> = Vec::new();
    let mut env_block: Option<(&Node, String)> = None;
    let mut port = None;
    let mut filter_env = FilterEnv::Inherit;
    let mut append_env = false;
    let mut log_paths: Vec<(LogTarget, PathBuf)> = Vec::new();
    let mut log_file_default = false;
    let mut time = false;
    let mut disable_logs = false;
    let mut listen: Vec<(String, Node, String)> = Vec::new();
    let mut pid_file: Option<PathBuf> = None;
    let mut watch_keys = watch::WatchKeys::default();
    let mut depends_on = Vec::new();
    let is_env_block = |k: &str| k.starts_with("env_") && k != "env_file";
    let fields = ctx.fields(node, path, schema::APP, is_env_block);
    for (field, key, value) in fields {
        let here = join(path, &key.name);
        let here = here.as_str();
        match field.name {
            "name" => name = ctx.string(value, here).map(|s| (s, value.pos)),
            "script" => script = ctx.string(value, here).map(|s| (s, value.pos)),
            "args" => spec.args = ctx.words(value, here).unwrap_or_default(),
            "interpreter" => interpreter = ctx.string(value, here),
            "interpreter_args" => {
                spec.interpreter_args = ctx.words(value, here).unwrap_or_default()
            }
            "cwd" => cwd = ctx.path(value, here).map(|p| (p, value.pos)),
            "namespace" => {
                if let Some(ns) = ctx.string(value, here) {
                    match pmtui_proto::check_namespace(&ns) {
                        Ok(()) => spec.namespace = ns,
                        Err(err) => {
                            ctx.problem(value.pos, here, ProblemKind::Other(err.to_string()))
                        }
                    }
                }
            }
            "name_prefix" => prefix = ctx.string(value, here),
            "instances" => {
                let text = match &value.value {
                    Value::Int(i) => Some(i.to_string()),
                    Value::Str(s) => Some(s.clone()),
                    _ => None,
                };
                match text.map(|t| units::instances(&t)) {
                    Some(Ok(n)) => spec.instances = n,
                    _ => ctx.invalid(value, here, "a number of instances or \"max\""),
                }
            }
            "exec_mode" => match ctx.string(value, here).as_deref() {
                Some("fork" | "fork_mode") => spec.exec_mode = Some(ExecMode::Fork),
                Some("cluster" | "cluster_mode") => spec.exec_mode = Some(ExecMode::Cluster),
                None => {}
                Some(_) => ctx.invalid(value, here, "\"fork\" or \"cluster\""),
            },
            "listen" => {
                let items: Vec<&Node> = match &value.value {
                    Value::Seq(items) => items.iter().collect(),
                    _ => vec![value],
                };
                for (i, item) in items.into_iter().enumerate() {
                    let at = if matches!(value.value, Value::Seq(_)) {
                        format!("{here}[{i}]")
                    } else {
                        here.to_string()
                    };
                    if let Some(text) = ctx.scalar(item, &at) {
                        listen.push((text, item.clone(), at));
                    }
                }
            }
            "increment_var" => spec.increment_var = ctx.string(value, here),
            "instance_var" => spec.instance_var = ctx.string(value, here),
            "listen_timeout" => spec.listen_timeout_ms = ctx.duration(value, here),
            "env" => env_block = Some((value, here.to_string())),
            "env_file" => {
                let files = match &value.value {
                    Value::Seq(_) => ctx.words(value, here).unwrap_or_default(),
                    _ => ctx.string(value, here).into_iter().collect(),
                };
                env_files.extend(
                    files
                        .into_iter()
                        .map(|f| (PathBuf::from(f), value.pos, here.to_string())),
                );
            }
            "filter_env" => {
                filter_env = match &value.value {
                    Value::Bool(true) => FilterEnv::Nothing,
                    Value::Bool(false) => FilterEnv::Inherit,
                    _ => ctx
                        .words(value, here)
                        .map_or(FilterEnv::Inherit, FilterEnv::Drop),
                }
            }
            "append_env_to_name" => append_env = ctx.bool(value, here).unwrap_or(false),
            "port" => port = ctx.uint(value, here, 65_535),
            "autostart" => spec.autostart = ctx.bool(value, here).unwrap_or(true),
            "autorestart" => {
                if ctx.bool(value, here) == Some(false) {
                    spec.restart.mode = RestartMode::No;
                }
            }
            "restart_policy" => restart_policy(ctx, value, here, &mut spec),
            "max_restarts" => {
                if let Some(n) = ctx.uint(value, here, u64::from(u32::MAX)) {
                    spec.restart.max_restarts = n as u32;
                }
            }
            "min_uptime" => {
                if let Some(ms) = ctx.duration(value, here) {
                    spec.restart.min_uptime_ms = ms;
                }
            }
            "restart_delay" => {
                if let Some(ms) = ctx.duration(value, here) {
                    spec.restart.backoff.delay_ms = ms;
                }
            }
            "exp_backoff_restart_delay" => {
                if let Some(ms) = ctx.duration(value, here) {
                    spec.restart.backoff.kind = BackoffKind::Exponential;
                    spec.restart.backoff.delay_ms = ms;
                }
            }
            "stop_exit_codes" => {
                if let Some(codes) = exit_codes(ctx, value, here) {
                    spec.restart.stop_exit_codes = codes;
                }
            }
            "cron_restart" => {
                spec.cron_restart = match &value.value {
                    Value::Int(0) | Value::Bool(false) | Value::Null => None,
                    _ => ctx.string(value, here).filter(|c| c != "0"),
                };
                if let Some(pattern) = &spec.cron_restart
                    && let Err(err) = check_cron(pattern)
                {
                    ctx.invalid(value, here, &format!("a cron pattern ({err})"));
                }
            }
            "cron_revive" => spec.cron_revive = ctx.bool(value, here).unwrap_or(false),
            "schedule" => {
                spec.schedule = ctx.string(value, here).filter(|s| !s.trim().is_empty());
                if let Some(pattern) = &spec.schedule
                    && let Err(err) = check_cron(pattern)
                {
                    ctx.invalid(value, here, &format!("a cron pattern ({err})"));
                }
            }
            "timezone" => spec.timezone = ctx.string(value, here),
            "retries" => {
                if let Some(n) = ctx.uint(value, here, 1000) {
                    spec.retries = n as u32;
                }
            }
            "overlap" => match ctx
                .string(value, here)
                .as_deref()
                .map(pmtui_proto::Overlap::parse)
            {
                Some(Some(overlap)) => spec.overlap = overlap,
                Some(None) => ctx.invalid(value, here, "\"skip\", \"queue\" or \"replace\""),
                None => {}
            },
            "timeout" => match ctx.duration(value, here) {
                Some(0) => ctx.invalid(value, here, "a timeout above 0"),
                ms => spec.timeout_ms = ms,
            },
            "hooks" => spec.hooks = hooks::hooks(ctx, value, here),
            "wait_ready" => spec.wait_ready = ctx.bool(value, here).unwrap_or(false),
            "node_metrics" => spec.node_metrics = ctx.bool(value, here).unwrap_or(true),
            "metrics_url" => {
                spec.metrics_url = ctx.string(value, here);
                if let Some(Err(err)) = spec.metrics_url.as_deref().map(HttpTarget::parse) {
                    ctx.invalid(value, here, &format!("an http:// URL ({err})"));
                }
            }
            "metrics_keep" => {
                let keep = ctx.words(value, here).unwrap_or_default();
                if keep.len() > MAX_APP_SERIES || keep.iter().any(|k| k.len() > MAX_APP_NAME) {
                    ctx.invalid(
                        value,
                        here,
                        &format!("at most {MAX_APP_SERIES} names of at most {MAX_APP_NAME} bytes"),
                    );
                }
                spec.metrics_keep = keep;
            }
            "health_check" => {
                spec.health_check = health::health_check(ctx, value, key.pos, here).map(Box::new)
            }
            "watchdog" => match ctx.duration(value, here) {
                Some(0) => ctx.invalid(value, here, "a watchdog period above 0"),
                ms => spec.watchdog_ms = ms,
            },
            "max_memory_restart" => spec.max_memory_restart = ctx.size(value, here),
            "kill_timeout" => {
                if let Some(ms) = ctx.duration(value, here) {
                    spec.kill_timeout_ms = ms;
                }
            }
            "stop_signal" => {
                if let Some(sig) = ctx.string(value, here) {
                    match signal_name(&sig) {
                        Some(sig) => spec.stop_signal = sig,
                        None => ctx.invalid(value, here, "a signal name like \"SIGINT\""),
                    }
                }
            }
            "uid" | "gid" => {
                let id = match &value.value {
                    Value::Int(i) if *i >= 0 && *i <= i64::from(u32::MAX) => Some(i.to_string()),
                    Value::Str(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
                    _ => None,
                };
                match id {
                    Some(id) if field.name == "uid" => spec.uid = Some(id),
                    Some(id) => spec.gid = Some(id),
                    None => ctx.invalid(value, here, "a name or a number"),
                }
            }
            "treekill" => spec.treekill = ctx.bool(value, here).unwrap_or(true),
            "log" => match &value.value {
                Value::Map(_) => log_block(ctx, value, here, &mut spec, &mut log_paths),
                Value::Bool(b) => log_file_default = *b,
                _ => {
                    if let Some(p) = ctx.log_path(value, here) {
                        log_paths.push((LogTarget::Combined, p));
                    }
                }
            },
            "out_file" | "error_file" => {
                if let Some(p) = ctx.log_path(value, here) {
                    let target = if field.name == "out_file" {
                        LogTarget::Out
                    } else {
                        LogTarget::Err
                    };
                    log_paths.push((target, p));
                }
            }
            "log_file" => match &value.value {
                Value::Bool(b) => log_file_default = *b,
                _ => {
                    if let Some(p) = ctx.log_path(value, here) {
                        log_paths.push((LogTarget::Combined, p));
                    }
                }
            },
            "merge_logs" => spec.logs.merge_logs = ctx.bool(value, here).unwrap_or(false),
            "log_date_format" => spec.logs.date_format = ctx.string(value, here),
            "time" => time = ctx.bool(value, here).unwrap_or(false),
            "log_type" => {
                if let Some(format) = log_format(ctx, value, here) {
                    spec.logs.format = format;
                }
            }
            "disable_logs" => disable_logs = ctx.bool(value, here).unwrap_or(false),
            "pid_file" => pid_file = ctx.path(value, here),
            "watch" => watch_keys.watch(ctx, value, here),
            "ignore_watch" => watch_keys.ignore(ctx, value, here),
            "watch_delay" => watch_keys.delay(ctx, value, here),
            "depends_on" => depends_on = depends::read(ctx, value, here),
            _ => check_kind(ctx, field, value, here),
        }
    }
    if spec.schedule.is_none()
        && (spec.retries > 0
            || spec.timeout_ms.is_some()
            || spec.overlap != pmtui_proto::Overlap::Skip
            || spec.timezone.is_some())
    {
        ctx.warn(
            node.pos,
            path,
            "retries, timeout, overlap and timezone apply to tasks only (an app with a \
             schedule); they have no effect here",
        );
    }
    if spec.wait_ready && spec.health_check.is_some() {
        ctx.warn(
            node.pos,
            path,
            "wait_ready has no effect with a health_check: the probe decides when the \
             process is ready",
        );
    }
    // env_<name> blocks: every one is checked, the selected one is used.
    let mut selected_block = None;
    if let Value::Map(entries) = &node.value {
        for (key, value) in entries.iter().filter(|(k, _)| is_env_block(&k.name)) {
            let here = join(path, &key.name);
            env_table(ctx, value, &here);
            if opts.env_name.as_deref() == key.name.strip_prefix("env_") {
                selected_block = Some((value, here));
            }
        }
    }
    if let Some(env_name) = &opts.env_name
        && selected_block.is_none()
        && deploy_env.is_none()
    {
        let has_blocks =
            matches!(&node.value, Value::Map(e) if e.iter().any(|(k, _)| is_env_block(&k.name)));
        if has_blocks {
            ctx.warn(
                node.pos,
                path,
                format!("no env_{env_name} block; only `env` applies"),
            );
        }
    }

    let cwd_pos = cwd.as_ref().map_or(node.pos, |(_, p)| *p);
    let cwd = match cwd {
        Some((c, _)) => dir.join(expand_home(&c, &opts.shell_env)),
        None => dir.to_path_buf(),
    };
    if !cwd.is_dir() {
        ctx.problem(
            cwd_pos,
            &join(path, "cwd"),
            ProblemKind::Other(format!("{} is not a directory", cwd.display())),
        );
    }
    spec.cwd = cwd.canonicalize().unwrap_or(cwd);
    spec.watch = watch_keys.finish(ctx, &spec.cwd).map(Box::new);
    for (text, node, at) in listen {
        match text.parse::<ListenSpec>() {
            Ok(entry) => spec.listen.push(entry.resolve(&spec.cwd)),
            Err(why) => ctx.invalid(&node, &at, &format!("a listen address ({why})")),
        }
    }

    // The environment, lowest priority first.
    let mut declared: Vec<(String, Option<String>)> = Vec::new();
    if let Some((block, here)) = deploy_env {
        declared.extend(env_table(ctx, block, here));
    }
    for (file, pos, here) in env_files {
        let file = spec.cwd.join(expand_home(&file, &opts.shell_env));
        match dotenv::read(&file) {
            Ok(text) => match dotenv::parse(&text) {
                Ok(vars) => declared.extend(vars.into_iter().map(|(k, v)| (k, Some(v)))),
                Err((line, message)) => {
                    ctx.problems.push(crate::error::Problem {
                        file: file.clone(),
                        pos: Pos::new(line, 1),
                        field: String::new(),
                        kind: ProblemKind::Syntax(message),
                    });
                }
            },
            Err(err) => ctx.problem(
                pos,
                &here,
                ProblemKind::Other(format!("cannot read env file {}: {err}", file.display())),
            ),
        }
    }
    let env_at = env_block
        .as_ref()
        .map_or((node.pos, path.to_string()), |(block, here)| {
            (block.pos, here.clone())
        });
    if let Some((block, here)) = env_block {
        declared.extend(env_table(ctx, block, &here));
    }
    if let Some((block, here)) = selected_block {
        declared.extend(env_table(ctx, block, &here));
    }
    if let Some(port) = port {
        declared.push(("PORT".into(), Some(port.to_string())));
    }
    declared.extend(
        opts.cli_env
            .iter()
            .map(|(k, v)| (k.clone(), Some(v.clone()))),
    );
    let mut env: BTreeMap<String, String> = match &filter_env {
        FilterEnv::Inherit => opts.shell_env.clone(),
        FilterEnv::Nothing => BTreeMap::new(),
        FilterEnv::Drop(prefixes) => opts
            .shell_env
            .iter()
            .filter(|(k, _)| !prefixes.iter().any(|p| k.starts_with(p.as_str())))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    };
    env.insert("PWD".into(), spec.cwd.display().to_string());
    for (k, v) in declared {
        match v {
            Some(v) => {
                env.insert(k.clone(), v.clone());
                spec.config_env.insert(k, v);
            }
            None => {
                env.remove(&k);
                spec.config_env.remove(&k);
            }
        }
    }
    spec.env = env.into();
    // The daemon refuses it too; here the error points at the app.
    if let Err(err) = pmtui_proto::check_env(&spec.env) {
        ctx.problem(env_at.0, &env_at.1, ProblemKind::Other(err.to_string()));
    }

    // Logs: paths relative to the app's folder; `~` expanded.
    for (target, p) in log_paths {
        let p = crate::null_log_path(&p)
            .unwrap_or_else(|| spec.cwd.join(expand_home(&p, &opts.shell_env)));
        match target {
            LogTarget::Out => spec.logs.out_file = Some(p),
            LogTarget::Err => spec.logs.error_file = Some(p),
            LogTarget::Combined => spec.logs.log_file = Some(p),
        }
    }
    if let Some(p) = pid_file {
        spec.pid_file = Some(spec.cwd.join(expand_home(&p, &opts.shell_env)));
    }
    if time && spec.logs.date_format.is_none() {
        spec.logs.date_format = Some(String::new());
    }
    if disable_logs {
        spec.logs.out_file = Some(PathBuf::from("/dev/null"));
        spec.logs.error_file = Some(PathBuf::from("/dev/null"));
        spec.logs.log_file = None;
    }

    // The name: given, else the script's.
    let script_name = script.as_ref().map(|(s, _)| default_name(s));
    let given = name.is_some();
    let (mut name, name_pos) = match (name, script_name) {
        (Some((n, p)), _) => (n, p),
        (None, Some(n)) => (n, node.pos),
        (None, None) => (String::new(), node.pos),
    };
    if let Some(prefix) = prefix {
        name = format!("{prefix}:{name}");
    }
    if append_env && let Some(env_name) = &opts.env_name {
        name = format!("{name}-{env_name}");
    }
    // The daemon checks names too; here the error can point at the line.
    if (given || !name.is_empty())
        && let Err(err) = pmtui_proto::check_name(&name)
    {
        ctx.problem(
            name_pos,
            &join(path, "name"),
            ProblemKind::Other(err.to_string()),
        );
    }
    if log_file_default && spec.logs.log_file.is_none() {
        spec.logs.log_file = Some(
            opts.home
                .join("logs")
                .join(format!("{}.log", file_stem(&name))),
        );
    }
    if script.is_none() {
        // An unknown key that looks like `script` is why it is missing: that is the error.
        let typo = ctx
            .unknown
            .iter()
            .find(|u| {
                u.field == join(path, &u.name)
                    && u.suggestion.as_deref().is_some_and(|s| {
                        schema::lookup(schema::APP, s).is_some_and(|f| f.name == "script")
                    })
            })
            .cloned();
        match typo {
            Some(key) => ctx.unknown_is_error(&key, "this app has no \"script\""),
            None => ctx.problem(node.pos, path, ProblemKind::Missing("script".into())),
        }
    }
    spec.name = name;
    spec.depends_on = depends_on.iter().map(|(d, _)| d.clone()).collect();
    Draft {
        spec,
        path: path.to_string(),
        name_pos,
        depends_on,
        script,
        interpreter,
    }
}

/// Resolves the draft's script (the file must exist, its interpreter be installed).
pub fn resolve(ctx: &mut Ctx<'_>, draft: Draft) -> Option<ProcessSpec> {
    let Draft {
        mut spec,
        script,
        interpreter,
        path,
        name_pos,
        depends_on: _,
    } = draft;
    let (script, pos) = script?;
    let extra = std::mem::take(&mut spec.interpreter_args);
    match lookup::resolve_script(&script, &spec.cwd, interpreter.as_deref(), extra, &spec.env) {
        Ok(resolved) => {
            spec.script = resolved.script;
            spec.interpreter = resolved.interpreter;
            spec.interpreter_args = resolved.interpreter_args;
            for warning in crate::cluster::warnings(&spec) {
                ctx.warn(name_pos, &path, warning);
            }
            Some(spec)
        }
        Err(message) => {
            ctx.problem(pos, &join(&path, "script"), ProblemKind::Other(message));
            None
        }
    }
}

/// Keeps the raw script (for verbs that only need names: stop, delete).
pub fn unresolved(draft: Draft) -> ProcessSpec {
    let mut spec = draft.spec;
    if let Some((script, _)) = draft.script {
        spec.script = script;
    }
    spec.interpreter = draft.interpreter;
    spec
}

enum FilterEnv {
    Inherit,
    Nothing,
    Drop(Vec<String>),
}

enum LogTarget {
    Out,
    Err,
    Combined,
}

/// The name pm2 gives an app without one: the script's file name without extension, or the
/// program of a command string.
fn default_name(script: &str) -> String {
    let first = if script.trim().contains(char::is_whitespace) {
        return Path::new(script.split_whitespace().next().unwrap_or(script))
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
    } else {
        script
    };
    Path::new(first)
        .file_stem()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| first.to_string())
}

fn expand_home(p: &Path, env: &BTreeMap<String, String>) -> PathBuf {
    match (p.strip_prefix("~"), env.get("HOME")) {
        (Ok(rest), Some(home)) => Path::new(home).join(rest),
        _ => p.to_path_buf(),
    }
}

/// The variables of an `env` table; `None` removes an inherited variable.
fn env_table(ctx: &mut Ctx<'_>, node: &Node, path: &str) -> Vec<(String, Option<String>)> {
    let Value::Map(entries) = &node.value else {
        ctx.invalid(node, path, "a table of variables");
        return Vec::new();
    };
    entries
        .iter()
        .map(|(k, v)| {
            let value = match &v.value {
                Value::Null => None,
                Value::Map(_) | Value::Seq(_) => Some(crate::export::node_json(v)),
                _ => ctx.scalar(v, &join(path, &k.name)),
            };
            (k.name.clone(), value)
        })
        .collect()
}
