//! The JSON Schema of ecosystem files (and of the daemon's settings file), generated from
//! the field table. Draft-07: the newest draft that VS Code's JSON support and its YAML
//! extension (redhat.vscode-yaml) fully implement.
//!
//! It accepts what the reader accepts: every spelling of a key (name, aliases, camelCase),
//! `x-` keys, `env_<name>` blocks, and the three shapes of a file (`{apps: [...]}`, a list
//! of apps, one app). Unknown keys are flagged, as the reader flags them.

use super::kind;
use super::{Field, Status, Table, spellings, tables};
use serde_json::{Map, Value, json};

const DRAFT: &str = "http://json-schema.org/draft-07/schema#";

/// The schema of an ecosystem file.
pub fn ecosystem() -> Value {
    let app = json!({ "$ref": "#/definitions/app" });
    json!({
        "$schema": DRAFT,
        "title": "pmtui ecosystem file",
        "description": "Apps for `pmtui start <file>`: pm2's keys and pmtui's. Reference: docs/configuration.md.",
        "if": {
            "type": "object",
            "anyOf": [{ "required": ["apps"] }, { "required": ["pm2"] }],
        },
        "then": { "$ref": "#/definitions/file" },
        "else": {
            "if": { "type": "array" },
            "then": { "items": app },
            "else": app,
        },
        "definitions": definitions(),
    })
}

/// The schema of the daemon's `$PMTUI_HOME/config.toml` (or `config.json`).
pub fn settings() -> Value {
    let mut schema = json!({
        "$schema": DRAFT,
        "title": "pmtui daemon settings",
        "description": "$PMTUI_HOME/config.toml: defaults for every process. Reference: docs/configuration.md.",
        "definitions": definitions(),
    });
    if let Some(object) = schema.as_object_mut() {
        object.insert("$ref".into(), json!("#/definitions/settings"));
    }
    schema
}

fn definitions() -> Value {
    let mut defs = Map::new();
    for table in tables() {
        defs.insert(table.id.clone(), object(&table));
    }
    defs.insert(
        "env".into(),
        json!({
            "type": "object",
            "description": "Environment variables: strings, numbers or booleans; null removes an inherited variable; tables and lists are passed as JSON.",
        }),
    );
    Value::Object(defs)
}

/// The schema of one table: its keys in every spelling, `x-` keys, nothing else. That is
/// what `--strict` takes: pmtui ignores other keys with a warning, an editor flags them.
fn object(table: &Table) -> Value {
    let mut properties = Map::new();
    for field in table.fields {
        let schema = property(field);
        for (i, spelling) in spellings(field).into_iter().enumerate() {
            let mut schema = schema.clone();
            if i > 0 {
                let note = format!("Another spelling of `{}`. ", field.name);
                if let Some(d) = schema.get_mut("description")
                    && let Some(text) = d.as_str()
                {
                    *d = json!(format!("{note}{text}"));
                }
            }
            properties.insert(spelling, schema);
        }
    }
    let mut patterns = Map::new();
    patterns.insert("^x-".into(), json!({}));
    if table.id == "app" {
        // `env_<name>` blocks; `env_file` is a key of its own.
        patterns.insert(
            "^env_(?!file$)".into(),
            json!({ "$ref": "#/definitions/env" }),
        );
    }
    let mut schema = json!({
        "type": "object",
        "properties": properties,
        "patternProperties": patterns,
        "additionalProperties": false,
    });
    if table.id == "app" {
        // `script` is required, under any of its spellings.
        let required: Vec<Value> = table
            .fields
            .iter()
            .filter(|f| f.name == "script")
            .flat_map(spellings)
            .map(|s| json!({ "required": [s] }))
            .collect();
        if let Some(object) = schema.as_object_mut() {
            object.insert("anyOf".into(), Value::Array(required));
        }
    }
    schema
}

/// The schema of one field: its kind, its nested block, and its doc.
fn property(field: &Field) -> Value {
    let alts = match kind::parse(field.kind) {
        Ok(alts) => alts,
        // A kind outside the vocabulary is caught by a test; the schema stays usable.
        Err(_) => return json!({ "description": description(field) }),
    };
    let nested = match (field.name, super::table_id(field.children)) {
        ("env", _) => Some(json!({ "$ref": "#/definitions/env" })),
        (_, Some(id)) if !field.children.is_empty() => {
            Some(json!({ "$ref": format!("#/definitions/{id}") }))
        }
        _ => None,
    };
    let mut schema = kind::json(&alts, nested.as_ref());
    if let Some(object) = schema.as_object_mut() {
        object.insert("description".into(), json!(description(field)));
    } else {
        schema = json!({ "allOf": [schema], "description": description(field) });
    }
    schema
}

/// What a field's status adds to its doc ("Not yet active: …"), if anything.
pub fn status_note(field: &Field) -> Option<String> {
    match field.status {
        Status::Active => None,
        Status::Later(why) => Some(format!("Not yet active: {why}.")),
        Status::NoEffect(why) => Some(format!("No effect: {why}.")),
    }
}

/// The doc of a field with its status note.
pub fn description(field: &Field) -> String {
    match (field.doc.is_empty(), status_note(field)) {
        (_, None) => field.doc.to_string(),
        (true, Some(note)) => note,
        (false, Some(note)) => format!("{} {note}", field.doc),
    }
}
