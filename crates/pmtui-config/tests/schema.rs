//! The JSON Schema generated from the field table says what the reader says: every kind text
//! is in the vocabulary, every spelling finds its field, the example files pass, what the
//! reader takes the schema takes (checked value by value, field by field), and what it
//! refuses outright (unknown keys, bad units) the schema refuses too.

use pmtui_config::schema::{self, Field, kind};
use pmtui_config::{ConfigError, LoadOptions, document, load};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn validator() -> jsonschema::Validator {
    let schema = schema::json::ecosystem();
    jsonschema::draft7::new(&schema).unwrap_or_else(|e| panic!("the schema does not build: {e}"))
}

fn errors(validator: &jsonschema::Validator, doc: &Value) -> Vec<String> {
    validator
        .iter_errors(doc)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

#[test]
fn every_kind_is_in_the_vocabulary() {
    for table in schema::tables() {
        for field in table.fields {
            if let Err(e) = kind::parse(field.kind) {
                panic!("{}.{}: {e}", table.id, field.name);
            }
        }
    }
}

#[test]
fn every_spelling_finds_its_field() {
    for table in schema::tables() {
        for field in table.fields {
            for spelling in schema::spellings(field) {
                let found = schema::lookup(table.fields, &spelling).map(|f| f.name);
                assert_eq!(
                    found,
                    Some(field.name),
                    "{}: {spelling:?} should find {}",
                    table.id,
                    field.name
                );
            }
        }
    }
}

#[test]
fn the_schemas_are_valid_draft_07() {
    for schema in [schema::json::ecosystem(), schema::json::settings()] {
        assert_eq!(schema["$schema"], "http://json-schema.org/draft-07/schema#");
        assert!(jsonschema::meta::is_valid(&schema));
        jsonschema::draft7::new(&schema).unwrap_or_else(|e| panic!("{e}"));
    }
}

#[test]
fn the_example_files_match_the_schema() {
    let validator = validator();
    let mut checked = 0;
    let dir = root().join("examples");
    let mut opts = LoadOptions::new(PathBuf::from("/tmp/pmtui-example-home"));
    opts.resolve = false;
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries.flatten() {
        let path = entry.path();
        let name = path.to_string_lossy().into_owned();
        let is_js = name.ends_with(".js") && !name.ends_with(".config.js");
        if !pmtui_config::is_config_file(&name) || is_js {
            continue;
        }
        if name.ends_with(".config.js") && pmtui_config::which("node", &opts.shell_env).is_none() {
            continue;
        }
        let doc = document(&path, &opts.shell_env).unwrap_or_else(|e| panic!("{name}: {e}"));
        let errs = errors(&validator, &doc);
        assert!(
            errs.is_empty(),
            "{name} does not match the schema: {errs:#?}"
        );
        let loaded = load(&path, &opts).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(loaded.warnings.is_empty(), "{name}: {:?}", loaded.warnings);
        checked += 1;
    }
    assert!(checked >= 3, "only {checked} example files were checked");
}

#[test]
fn the_schema_refuses_what_the_reader_refuses() {
    let validator = validator();
    let app = |extra: Value| {
        let mut app = json!({ "name": "a", "script": "a.sh" });
        if let (Some(app), Some(extra)) = (app.as_object_mut(), extra.as_object()) {
            app.extend(extra.clone());
        }
        json!({ "apps": [app] })
    };
    // Accepted: every shape of a file, pm2's spellings, x- keys, env_<name> blocks.
    for good in [
        app(json!({})),
        json!([{ "script": "a.sh" }]),
        json!({ "script": "a.sh", "maxMemoryRestart": "1G" }),
        json!({ "pm2": [{ "exec": "a.sh" }] }),
        app(json!({ "x-team": { "any": "thing" }, "env_staging": { "A": 1 } })),
        app(json!({ "restart_policy": { "backoff": { "type": "exponential" } } })),
        app(json!({ "log": { "max_size": "10M" } })),
        app(json!({ "log": "/tmp/a.log" })),
    ] {
        let errs = errors(&validator, &good);
        assert!(errs.is_empty(), "{good} should pass: {errs:#?}");
    }
    // Refused: a misspelt key, a missing script, bad units, a bad literal, a bad nested key.
    for bad in [
        app(json!({ "scirpt": "b.sh" })),
        json!({ "apps": [{ "name": "a" }] }),
        app(json!({ "min_uptime": "soon" })),
        app(json!({ "max_memory_restart": "lots" })),
        app(json!({ "instances": "many" })),
        app(json!({ "exec_mode": "threads" })),
        app(json!({ "restart_policy": { "mode": "sometimes" } })),
        app(json!({ "restart_policy": { "backof": {} } })),
        app(json!({ "env_file": 3 })),
    ] {
        assert!(!validator.is_valid(&bad), "{bad} should fail");
    }
}

/// Values of every shape the readers might take.
fn samples() -> Vec<Value> {
    vec![
        json!(true),
        json!(false),
        json!("true"),
        json!(0),
        json!(5),
        json!(-1),
        json!(1.5),
        json!(5.0),
        json!("7"),
        json!("10s"),
        json!("1m30s"),
        json!("500M"),
        json!("max"),
        json!("fork"),
        json!("cluster_mode"),
        json!("on-failure"),
        json!("exponential"),
        json!("json"),
        json!("SIGINT"),
        json!("0 * * * *"),
        json!("a b"),
        json!("/tmp"),
        json!(null),
        json!([]),
        json!(["a", "b"]),
        json!([1, 2]),
        json!({}),
        json!({ "A": "1" }),
    ]
}

/// Writes `doc` as a JSON ecosystem file and returns the paths of the fields it has problems
/// with (empty: the reader takes it).
fn reader_problems(dir: &Path, doc: &Value) -> Vec<String> {
    let file = dir.join("eco.json");
    std::fs::write(&file, doc.to_string()).unwrap_or_else(|e| panic!("{e}"));
    let mut opts = LoadOptions::new(dir.join("home"));
    opts.resolve = false;
    match load(&file, &opts) {
        // An unknown key is ignored with a warning (an error with --strict); the schema is
        // the strict reader, so an editor flags it too.
        Ok(loaded) => loaded
            .warnings
            .into_iter()
            .filter(|w| w.message.starts_with("unknown field"))
            .map(|w| w.field)
            .collect(),
        Err(ConfigError::Problems(problems)) => problems.into_iter().map(|p| p.field).collect(),
        Err(e) => panic!("{e}"),
    }
}

/// The fields of a block and how to place a value in an app: `app` keys directly, nested
/// blocks inside their parent keys.
fn blocks() -> Vec<(Vec<String>, &'static [Field])> {
    let mut out = Vec::new();
    for table in schema::tables() {
        let Some(rest) = table.id.strip_prefix("app") else {
            continue;
        };
        let path = rest
            .split('.')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        out.push((path, table.fields));
    }
    out
}

fn object(key: &str, value: Value) -> Value {
    let mut map = serde_json::Map::new();
    map.insert(key.to_string(), value);
    Value::Object(map)
}

#[test]
fn what_the_reader_takes_the_schema_takes() {
    let validator = validator();
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut mismatches = Vec::new();
    for (path, fields) in blocks() {
        for field in fields {
            for sample in samples() {
                let mut value = object(field.name, sample.clone());
                for key in path.iter().rev() {
                    value = object(key, value);
                }
                let mut app = json!({ "name": "a", "script": "a.sh" });
                if let (Some(app), Some(value)) = (app.as_object_mut(), value.as_object()) {
                    app.extend(value.clone());
                }
                let doc = json!({ "apps": [app] });
                let at = std::iter::once("apps[0]")
                    .chain(path.iter().map(String::as_str))
                    .chain(std::iter::once(field.name))
                    .collect::<Vec<_>>()
                    .join(".");
                let refused = reader_problems(tmp.path(), &doc).iter().any(|p| {
                    p == &at || p.starts_with(&format!("{at}.")) || p.starts_with(&format!("{at}["))
                });
                if !refused && !validator.is_valid(&doc) {
                    mismatches.push(format!(
                        "{at} = {sample}: the reader takes it, the schema refuses it ({:?})",
                        errors(&validator, &doc)
                    ));
                }
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "the kind text of these fields does not say what their reader takes; fix the kind \
         (schema.rs) or the reader:\n{}",
        mismatches.join("\n")
    );
}

#[test]
fn what_the_settings_reader_takes_the_schema_takes() {
    let schema = schema::json::settings();
    let validator = jsonschema::draft7::new(&schema).unwrap_or_else(|e| panic!("{e}"));
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut mismatches = Vec::new();
    for field in schema::SETTINGS {
        for sample in samples() {
            let doc = object(field.name, sample.clone());
            std::fs::write(tmp.path().join("config.json"), doc.to_string())
                .unwrap_or_else(|e| panic!("{e}"));
            let (_, problems) = pmtui_config::settings::load(tmp.path());
            let refused = problems.iter().any(|p| p.field == field.name);
            if !refused && !validator.is_valid(&doc) {
                mismatches.push(format!("{} = {sample}", field.name));
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "the settings reader takes these, the schema refuses them; fix the kind in schema.rs:\n{}",
        mismatches.join("\n")
    );
    // Every key the reader knows is in the table: a key missing there would be refused.
    for key in [
        "log_max_size",
        "kill_timeout",
        "metrics_history",
        "metrics_addr",
    ] {
        let doc = object(key, json!("10s"));
        std::fs::write(tmp.path().join("config.json"), doc.to_string())
            .unwrap_or_else(|e| panic!("{e}"));
        let (_, problems) = pmtui_config::settings::load(tmp.path());
        assert!(
            !problems
                .iter()
                .any(|p| p.to_string().contains("unknown field")),
            "{key}: {problems:?}"
        );
    }
}
