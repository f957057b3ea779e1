//! The type of a field, read from its `kind` text. The text is what the docs show
//! ("number or `max`", "bool, path or list"), and it is also the type the JSON Schema is
//! generated from, so it is written in a small fixed vocabulary: alternatives joined by ", "
//! and " or ", each a word below or a `literal` in backquotes. A text outside the
//! vocabulary is an error (a test reads every field's), so adding a field stays one entry.

use serde_json::{Value, json};

/// One alternative of a kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alt {
    /// Any string.
    String,
    /// A file or directory (a string).
    Path,
    /// `true`/`false` (the reader also takes the strings "true" and "false").
    Bool,
    /// A number (the reader also takes whole numbers written as strings).
    Number,
    /// Milliseconds, or a string with units (`"1m30s"`).
    Duration,
    /// Bytes, or a string with a unit (`"500M"`).
    Size,
    /// A mapping.
    Table,
    /// A sequence.
    List,
    /// This exact value: a string, or `true`/`false`/`null`/a number when it reads as one.
    Literal(&'static str),
}

/// The words of the vocabulary, for error messages.
pub const WORDS: &[&str] = &[
    "string", "path", "bool", "number", "duration", "size", "table", "list",
];

/// The alternatives of a kind text, or what is wrong with it.
pub fn parse(text: &'static str) -> Result<Vec<Alt>, String> {
    let mut alts = Vec::new();
    for part in text.split(", ").flat_map(|p| p.split(" or ")) {
        let part = part.trim();
        let alt = match part {
            "string" => Alt::String,
            "path" => Alt::Path,
            "bool" => Alt::Bool,
            "number" => Alt::Number,
            "duration" => Alt::Duration,
            "size" => Alt::Size,
            "table" => Alt::Table,
            "list" => Alt::List,
            _ => match part.strip_prefix('`').and_then(|p| p.strip_suffix('`')) {
                Some(literal) if !literal.is_empty() && !literal.contains('`') => {
                    Alt::Literal(literal)
                }
                _ => {
                    return Err(format!(
                        "{part:?} in kind {text:?} is not a kind word ({}) or a `literal`",
                        WORDS.join(", ")
                    ));
                }
            },
        };
        alts.push(alt);
    }
    Ok(alts)
}

/// A decimal number as the unit readers take it (`10`, `1.5`, `.5`).
const DECIMAL: &str = "([0-9]+(\\.[0-9]*)?|\\.[0-9]+)";

/// JSON Schema regular expressions are ECMA-262 ones without flags: the units, any case.
const DURATION_UNIT: &str =
    "([mM][sS]|[sS]([eE][cC][sS]?)?|[mM]([iI][nN][sS]?)?|[hH]([rR][sS]?)?|[dD])";

/// The JSON Schema of one alternative. `table` and `list` are open here; the caller gives
/// the schema of a nested block's table (`object`) when the field has one.
pub fn json_of(alt: Alt, object: Option<&Value>) -> Value {
    match alt {
        Alt::String | Alt::Path => json!({ "type": "string" }),
        Alt::Bool => json!({ "enum": [true, false, "true", "false"] }),
        Alt::Number => json!({
            "type": ["number", "string"],
            "pattern": "^\\s*-?[0-9]+\\s*$",
        }),
        Alt::Duration => json!({
            "type": ["number", "string"],
            "minimum": 0,
            "pattern": format!("^\\s*([0-9]+|({DECIMAL}\\s*{DURATION_UNIT}\\s*)+)$"),
        }),
        Alt::Size => json!({
            "type": ["integer", "string"],
            "minimum": 0,
            "pattern": format!("^\\s*{DECIMAL}\\s*([kKmMgGtT]?[bB]?)\\s*$"),
        }),
        Alt::Table => object
            .cloned()
            .unwrap_or_else(|| json!({ "type": "object" })),
        Alt::List => match object {
            Some(item) => json!({ "type": "array", "items": item }),
            None => json!({ "type": "array" }),
        },
        Alt::Literal(text) => json!({ "const": literal(text) }),
    }
}

/// The value a literal stands for: `max` is a string, `0` a number, `false` a boolean.
pub fn literal(text: &str) -> Value {
    serde_json::from_str::<Value>(text)
        .ok()
        .filter(|v| !v.is_string() && !v.is_array() && !v.is_object())
        .unwrap_or_else(|| Value::String(text.to_string()))
}

/// The JSON Schema of a whole kind: one alternative as it is, several scalar ones as
/// `anyOf` (a run of literals as one `enum`, whose values editors offer), and a table or a
/// list chosen by the value's type with `if`/`then`, so an editor reports the problem inside
/// a nested block rather than "matches none of the alternatives".
pub fn json(alts: &[Alt], object: Option<&Value>) -> Value {
    let literals: Vec<Value> = alts
        .iter()
        .filter_map(|a| match a {
            Alt::Literal(l) => Some(literal(l)),
            _ => None,
        })
        .collect();
    let mut scalars: Vec<Value> = alts
        .iter()
        .filter(|a| !matches!(a, Alt::Literal(_) | Alt::Table | Alt::List))
        .map(|a| json_of(*a, object))
        .collect();
    match literals.len() {
        0 => {}
        1 => scalars.push(json!({ "const": literals[0].clone() })),
        _ => scalars.push(json!({ "enum": literals })),
    }
    let mut schema = match scalars.len() {
        0 => None,
        1 => Some(scalars.remove(0)),
        _ => Some(json!({ "anyOf": scalars })),
    };
    for (alt, json_type) in [(Alt::List, "array"), (Alt::Table, "object")] {
        if !alts.contains(&alt) {
            continue;
        }
        // A field that is a path, a list or a table (`watch`) lists paths, not its
        // tables; `apps` (a list or a table) lists its tables.
        let item = if alt == Alt::List && alts.contains(&Alt::Table) && alts.contains(&Alt::Path) {
            None
        } else {
            object
        };
        let this = json_of(alt, item);
        schema = Some(match schema {
            None => this,
            Some(rest) => json!({ "if": { "type": json_type }, "then": this, "else": rest }),
        });
    }
    schema.unwrap_or_else(|| json!({}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_texts_read_as_alternatives() {
        assert_eq!(
            parse("number or `max`"),
            Ok(vec![Alt::Number, Alt::Literal("max")])
        );
        assert_eq!(
            parse("bool, path or list"),
            Ok(vec![Alt::Bool, Alt::Path, Alt::List])
        );
        assert!(parse("a list of ports").is_err());
        assert_eq!(literal("max"), json!("max"));
        assert_eq!(literal("0"), json!(0));
        assert_eq!(literal("false"), json!(false));
        assert_eq!(literal("null"), json!(null));
        assert!(parse("``").is_err());
    }

    #[test]
    fn literals_become_one_enum() {
        let alts = parse("`fork`, `cluster` or bool").unwrap_or_default();
        let schema = json(&alts, None);
        assert_eq!(schema["anyOf"][1], json!({ "enum": ["fork", "cluster"] }));
        let alts = parse("table, path or bool").unwrap_or_default();
        let schema = json(&alts, Some(&json!({ "$ref": "#/definitions/app.log" })));
        assert_eq!(schema["if"], json!({ "type": "object" }));
        assert_eq!(schema["then"], json!({ "$ref": "#/definitions/app.log" }));
        assert_eq!(schema["else"]["anyOf"][0], json!({ "type": "string" }));
    }
}
