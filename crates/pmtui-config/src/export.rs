//! Writing specs back as an ecosystem file (`pmtui export`) that `start` reads to the same
//! specs: the seed's names, only what differs from the defaults, and only the variables the
//! user set (`config_env`), never the whole captured shell.

use crate::lookup::interpreter_for;
use crate::node::Node;
use pmtui_proto::{
    BackoffKind, LogFormat, ProcessSpec, RestartMode, RestartPolicy, spec::DEFAULT_NAMESPACE,
    spec::DEFAULT_STOP_SIGNAL,
};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use std::path::Path;

/// Output formats of `export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Yaml,
    Toml,
}

impl Format {
    /// The format a file name implies.
    pub fn of_path(path: &Path) -> Option<Format> {
        match path.extension()?.to_str()? {
            "json" | "json5" => Some(Format::Json),
            "yaml" | "yml" => Some(Format::Yaml),
            "toml" => Some(Format::Toml),
            _ => None,
        }
    }

    pub fn parse(name: &str) -> Option<Format> {
        match name {
            "json" => Some(Format::Json),
            "yaml" | "yml" => Some(Format::Yaml),
            "toml" => Some(Format::Toml),
            _ => None,
        }
    }
}

/// An ordered document, serializable by serde_json, serde-saphyr and toml alike.
#[derive(Debug, Clone, PartialEq)]
pub enum Out {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    List(Vec<Out>),
    Map(Vec<(String, Out)>),
}

impl Serialize for Out {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Out::Str(v) => s.serialize_str(v),
            Out::Int(v) => s.serialize_i64(*v),
            Out::Float(v) => s.serialize_f64(*v),
            Out::Bool(v) => s.serialize_bool(*v),
            Out::List(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Out::Map(entries) => {
                let mut map = s.serialize_map(Some(entries.len()))?;
                // TOML needs plain values before tables; the other formats do not mind.
                let (tables, values): (Vec<_>, Vec<_>) = entries
                    .iter()
                    .partition(|(_, v)| matches!(v, Out::Map(_)) || is_table_list(v));
                for (k, v) in values.into_iter().chain(tables) {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

fn is_table_list(v: &Out) -> bool {
    matches!(v, Out::List(items) if !items.is_empty() && items.iter().all(|i| matches!(i, Out::Map(_))))
}

/// Serializes the document.
pub fn write(specs: &[ProcessSpec], format: Format) -> Result<String, String> {
    let doc = Out::Map(vec![(
        "apps".into(),
        Out::List(specs.iter().map(app).collect()),
    )]);
    match format {
        Format::Json => serde_json::to_string_pretty(&doc)
            .map(|s| s + "\n")
            .map_err(|e| e.to_string()),
        Format::Yaml => serde_saphyr::to_string(&doc).map_err(|e| e.to_string()),
        Format::Toml => toml::to_string_pretty(&doc).map_err(|e| e.to_string()),
    }
}

fn s(v: impl Into<String>) -> Out {
    Out::Str(v.into())
}

fn ms(v: u64) -> Out {
    Out::Int(v as i64)
}

fn strings(v: &[String]) -> Out {
    Out::List(v.iter().cloned().map(Out::Str).collect())
}

/// One app, in the seed's names, with only what differs from the defaults.
pub fn app(spec: &ProcessSpec) -> Out {
    let default = ProcessSpec::default();
    let mut m: Vec<(String, Out)> = vec![("name".into(), s(&spec.name))];
    let mut put = |k: &str, v: Out| m.push((k.to_string(), v));
    if spec.namespace != DEFAULT_NAMESPACE {
        put("namespace", s(&spec.namespace));
    }
    put("script", s(&spec.script));
    let command_string = spec.interpreter_args == ["-c"]
        && spec.script.trim().contains(char::is_whitespace)
        && !Path::new(&spec.script).is_file();
    match &spec.interpreter {
        Some(i) if command_string && i == "sh" => {}
        Some(i) => put("interpreter", s(i)),
        None if interpreter_for(Path::new(&spec.script)).is_some() => put("interpreter", s("none")),
        None => {}
    }
    if !spec.interpreter_args.is_empty() && !command_string {
        put("interpreter_args", strings(&spec.interpreter_args));
    }
    if !spec.args.is_empty() {
        put("args", strings(&spec.args));
    }
    put("cwd", s(spec.cwd.display().to_string()));
    if spec.instances != 1 {
        put("instances", Out::Int(i64::from(spec.instances)));
    }
    if !spec.config_env.is_empty() {
        put(
            "env",
            Out::Map(
                spec.config_env
                    .iter()
                    .map(|(k, v)| (k.clone(), s(v)))
                    .collect(),
            ),
        );
    }
    if !spec.autostart {
        put("autostart", Out::Bool(false));
    }
    if let Some(mode) = spec.exec_mode {
        put("exec_mode", s(mode.as_str()));
    }
    if !spec.listen.is_empty() {
        put(
            "listen",
            Out::List(spec.listen.iter().map(|l| s(l.to_string())).collect()),
        );
    }
    if let Some(var) = &spec.increment_var {
        put("increment_var", s(var));
    }
    if let Some(var) = &spec.instance_var {
        put("instance_var", s(var));
    }
    if let Some(timeout) = spec.listen_timeout_ms {
        put("listen_timeout", ms(timeout));
    }
    if spec.kill_timeout_ms != default.kill_timeout_ms {
        put("kill_timeout", ms(spec.kill_timeout_ms));
    }
    if spec.stop_signal != DEFAULT_STOP_SIGNAL {
        put("stop_signal", s(&spec.stop_signal));
    }
    if !spec.treekill {
        put("treekill", Out::Bool(false));
    }
    if let Some(uid) = &spec.uid {
        put("uid", s(uid));
    }
    if let Some(gid) = &spec.gid {
        put("gid", s(gid));
    }
    if let Some(bytes) = spec.max_memory_restart {
        put("max_memory_restart", ms(bytes));
    }
    if let Some(cron) = &spec.cron_restart {
        put("cron_restart", s(cron));
    }
    if spec.cron_revive {
        put("cron_revive", Out::Bool(true));
    }
    if let Some(schedule) = &spec.schedule {
        put("schedule", s(schedule));
    }
    if let Some(tz) = &spec.timezone {
        put("timezone", s(tz));
    }
    if spec.retries > 0 {
        put("retries", Out::Int(i64::from(spec.retries)));
    }
    if spec.overlap != pmtui_proto::Overlap::Skip {
        put("overlap", s(spec.overlap.as_str()));
    }
    if let Some(timeout) = spec.timeout_ms {
        put("timeout", ms(timeout));
    }
    if !spec.hooks.is_empty() {
        let hooks = spec
            .hooks
            .iter()
            .map(|(event, hook)| {
                let mut fields = Vec::new();
                if let Some(c) = &hook.command {
                    fields.push(("command".to_string(), s(c)));
                }
                if let Some(u) = &hook.webhook {
                    fields.push(("webhook".to_string(), s(u)));
                }
                if let Some(f) = &hook.ca_file {
                    fields.push(("ca_file".to_string(), s(f)));
                }
                if let Some(t) = hook.timeout_ms {
                    fields.push(("timeout".to_string(), ms(t)));
                }
                (event.clone(), Out::Map(fields))
            })
            .collect();
        put("hooks", Out::Map(hooks));
    }
    if spec.wait_ready {
        put("wait_ready", Out::Bool(true));
    }
    if let Some(period) = spec.watchdog_ms {
        put("watchdog", ms(period));
    }
    if let Some(check) = &spec.health_check {
        put("health_check", health_check(check));
    }
    if !spec.node_metrics {
        put("node_metrics", Out::Bool(false));
    }
    if let Some(url) = &spec.metrics_url {
        put("metrics_url", s(url));
    }
    if !spec.metrics_keep.is_empty() {
        put("metrics_keep", strings(&spec.metrics_keep));
    }
    if let Some(w) = &spec.watch {
        put("watch", watch_block(w, &spec.cwd));
    }
    if !spec.depends_on.is_empty() {
        // The long form: it keeps every condition, and round-trips through every format.
        let deps = spec
            .depends_on
            .iter()
            .map(|d| {
                let entry = vec![("condition".to_string(), s(d.condition.as_str()))];
                (d.name.clone(), Out::Map(entry))
            })
            .collect();
        put("depends_on", Out::Map(deps));
    }
    if spec.restart != RestartPolicy::default() {
        put("restart_policy", restart_policy(&spec.restart));
    }
    let logs = log_block(spec);
    if !logs.is_empty() {
        put("log", Out::Map(logs));
    }
    Out::Map(m)
}

/// The seed's `watch` block, paths relative to `cwd` where they are under it.
fn watch_block(w: &pmtui_proto::WatchSpec, cwd: &std::path::Path) -> Out {
    let mut m = vec![("enabled".to_string(), Out::Bool(w.enabled))];
    if !w.paths.is_empty() {
        let paths = w
            .paths
            .iter()
            .map(|p| s(p.strip_prefix(cwd).unwrap_or(p).display().to_string()))
            .collect();
        m.push(("paths".to_string(), Out::List(paths)));
    }
    if !w.ignore.is_empty() {
        m.push((
            "ignore".to_string(),
            Out::List(w.ignore.iter().map(s).collect()),
        ));
    }
    if w.delay_ms != pmtui_proto::DEFAULT_WATCH_DELAY_MS {
        m.push(("debounce".to_string(), ms(w.delay_ms)));
    }
    Out::Map(m)
}

/// A health check, with the keys that differ from the defaults.
fn health_check(c: &pmtui_proto::HealthCheck) -> Out {
    let d = pmtui_proto::HealthCheck::default();
    let mut m = vec![("type".to_string(), s(c.kind.as_str()))];
    let mut put = |k: &str, v: Out| m.push((k.to_string(), v));
    if let Some(url) = &c.url {
        put("url", s(url));
    }
    if let Some(host) = &c.host {
        put("host", s(host));
    }
    if let Some(port) = c.port {
        put("port", Out::Int(i64::from(port)));
    }
    if let Some(command) = &c.command {
        put("command", s(command));
    }
    if c.interval_ms != d.interval_ms {
        put("interval", ms(c.interval_ms));
    }
    if c.timeout_ms != d.timeout_ms {
        put("timeout", ms(c.timeout_ms));
    }
    if c.retries != d.retries {
        put("retries", Out::Int(i64::from(c.retries)));
    }
    if c.initial_delay_ms != d.initial_delay_ms {
        put("initial_delay", ms(c.initial_delay_ms));
    }
    if c.on_failure != d.on_failure {
        put("on_failure", s("none"));
    }
    if !c.expected_status.is_empty() {
        let ranges = c
            .expected_status
            .iter()
            .map(|(from, to)| {
                if from == to {
                    Out::Int(i64::from(*from))
                } else {
                    s(format!("{from}-{to}"))
                }
            })
            .collect();
        put("expected_status", Out::List(ranges));
    }
    Out::Map(m)
}

/// The policy keys that differ from the defaults (a file leaving a key out gets its default).
fn restart_policy(p: &RestartPolicy) -> Out {
    let d = RestartPolicy::default();
    let mut m = Vec::new();
    if p.mode != d.mode {
        let mode = match p.mode {
            RestartMode::Always => "always",
            RestartMode::OnFailure => "on-failure",
            RestartMode::No => "no",
        };
        m.push(("mode".to_string(), s(mode)));
    }
    if p.max_restarts != d.max_restarts {
        m.push(("max_restarts".into(), Out::Int(i64::from(p.max_restarts))));
    }
    if p.min_uptime_ms != d.min_uptime_ms {
        m.push(("min_uptime".into(), ms(p.min_uptime_ms)));
    }
    if let Some(w) = p.time_window_ms {
        m.push(("time_window".into(), ms(w)));
    }
    if p.stable_after_ms != d.stable_after_ms {
        m.push(("stable_after".into(), ms(p.stable_after_ms)));
    }
    if !p.stop_exit_codes.is_empty() {
        m.push((
            "stop_exit_codes".into(),
            Out::List(
                p.stop_exit_codes
                    .iter()
                    .map(|c| Out::Int(i64::from(*c)))
                    .collect(),
            ),
        ));
    }
    if p.backoff != d.backoff {
        let (b, db) = (&p.backoff, &d.backoff);
        let kind = match b.kind {
            BackoffKind::Fixed => "fixed",
            BackoffKind::Exponential => "exponential",
        };
        let mut backoff = vec![("type".to_string(), s(kind))];
        if b.delay_ms != db.delay_ms {
            backoff.push(("delay".into(), ms(b.delay_ms)));
        }
        if b.max_delay_ms != db.max_delay_ms {
            backoff.push(("max_delay".into(), ms(b.max_delay_ms)));
        }
        if b.factor != db.factor {
            backoff.push(("factor".into(), Out::Float(b.factor)));
        }
        m.push(("backoff".into(), Out::Map(backoff)));
    }
    Out::Map(m)
}

fn log_block(spec: &ProcessSpec) -> Vec<(String, Out)> {
    let l = &spec.logs;
    let mut m = Vec::new();
    let path = |p: &Path| s(p.display().to_string());
    if let Some(p) = &l.out_file {
        m.push(("out_file".into(), path(p)));
    }
    if let Some(p) = &l.error_file {
        m.push(("error_file".into(), path(p)));
    }
    if let Some(p) = &l.log_file {
        m.push(("log_file".into(), path(p)));
    }
    if l.merge_logs {
        m.push(("merge_logs".into(), Out::Bool(true)));
    }
    if let Some(f) = &l.date_format {
        m.push(("date_format".into(), s(f)));
    }
    if l.format == LogFormat::Json {
        m.push(("format".into(), s("json")));
    }
    if let Some(n) = l.max_size {
        m.push(("max_size".into(), ms(n)));
    }
    if let Some(n) = l.max_files {
        m.push(("max_files".into(), Out::Int(i64::from(n))));
    }
    if let Some(c) = l.compress {
        m.push(("compress".into(), Out::Bool(c)));
    }
    m
}

/// A document node as compact JSON (pm2 stringifies object values of `env`).
pub fn node_json(node: &Node) -> String {
    node.to_json().to_string()
}
