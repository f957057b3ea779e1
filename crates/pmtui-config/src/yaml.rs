//! YAML (serde-saphyr) into the positioned document tree: every node is read as a
//! `Spanned` value, so keys and values keep the line and column they were written at.

use crate::json::SyntaxError;
use crate::node::{Key, Node, Pos, Value};
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

pub fn parse(text: &str) -> Result<Node, SyntaxError> {
    if text.trim().is_empty() {
        return Ok(Node::new(Value::Null, Pos::START));
    }
    match serde_saphyr::from_str::<Spanned<Raw>>(text) {
        Ok(doc) => convert(text, doc),
        Err(err) => {
            let pos = err
                .location()
                .map(|l| Pos::new(l.line() as u32, l.column() as u32))
                .filter(|p| p.line > 0)
                .unwrap_or(Pos::START);
            let message = err.without_snippet().to_string();
            // The message repeats the location; keep only what it says.
            let message = message
                .strip_prefix(&format!("line {} column {}: ", pos.line, pos.col))
                .map(str::to_string)
                .unwrap_or(message);
            Err(SyntaxError {
                pos,
                message: message.lines().next().unwrap_or_default().to_string(),
            })
        }
    }
}

fn pos_of<T>(s: &Spanned<T>) -> Pos {
    let l = s.referenced;
    if l.line() == 0 {
        Pos::START
    } else {
        Pos::new(l.line() as u32, l.column() as u32)
    }
}

/// The source text of a node, when the parser kept byte offsets.
fn source<'t, T>(text: &'t str, s: &Spanned<T>) -> Option<&'t str> {
    let span = s.referenced.span();
    let start = usize::try_from(span.byte_offset()?).ok()?;
    let len = usize::try_from(span.byte_len()?).ok()?;
    text.get(start..start + len)
}

fn convert(text: &str, raw: Spanned<Raw>) -> Result<Node, SyntaxError> {
    let pos = pos_of(&raw);
    // YAML 1.1 booleans (`yes`, `on`, `n`) stay strings, as in YAML 1.2 and pm2's js-yaml.
    let yaml11_bool = matches!(raw.value, Raw::Bool(_))
        .then(|| source(text, &raw))
        .flatten()
        .filter(|s| !s.eq_ignore_ascii_case("true") && !s.eq_ignore_ascii_case("false"))
        .map(str::to_string);
    let value = match raw.value {
        Raw::Null => Value::Null,
        Raw::Bool(_) if yaml11_bool.is_some() => Value::Str(yaml11_bool.unwrap_or_default()),
        Raw::Bool(b) => Value::Bool(b),
        Raw::Int(i) => Value::Int(i),
        Raw::Float(f) => Value::Float(f),
        Raw::Str(s) => Value::Str(s),
        Raw::Seq(items) => Value::Seq(
            items
                .into_iter()
                .map(|i| convert(text, i))
                .collect::<Result<_, _>>()?,
        ),
        Raw::Map(entries) => {
            let mut out: Vec<(Key, Node)> = Vec::new();
            for (k, v) in entries {
                let key_pos = pos_of(&k);
                let written = source(text, &k).map(str::to_string);
                let name = match k.value {
                    Raw::Str(s) => s,
                    Raw::Int(_) | Raw::Bool(_) | Raw::Float(_) | Raw::Null => {
                        written.unwrap_or_default()
                    }
                    _ => {
                        return Err(SyntaxError {
                            pos: key_pos,
                            message: "keys must be strings".into(),
                        });
                    }
                };
                out.retain(|(existing, _)| existing.name != name);
                out.push((Key { name, pos: key_pos }, convert(text, v)?));
            }
            Value::Map(out)
        }
    };
    Ok(Node::new(value, pos))
}

/// What serde-saphyr hands us, before positions are folded in.
enum Raw {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Spanned<Raw>>),
    Map(Vec<(Spanned<Raw>, Spanned<Raw>)>),
}

impl<'de> Deserialize<'de> for Raw {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(RawVisitor)
    }
}

struct RawVisitor;

impl<'de> Visitor<'de> for RawVisitor {
    type Value = Raw;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Raw, E> {
        Ok(Raw::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Raw, E> {
        Ok(Raw::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Raw, D::Error> {
        Raw::deserialize(d)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Raw, E> {
        Ok(Raw::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Raw, E> {
        Ok(Raw::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Raw, E> {
        Ok(i64::try_from(v).map_or(Raw::Float(v as f64), Raw::Int))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Raw, E> {
        Ok(Raw::Float(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Raw, E> {
        Ok(Raw::Str(v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Raw, E> {
        Ok(Raw::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Raw, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Raw::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Raw, A::Error> {
        let mut entries = Vec::new();
        while let Some(entry) = map.next_entry()? {
            entries.push(entry);
        }
        Ok(Raw::Map(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_values_keep_their_positions() {
        let doc = parse("apps:\n  - name: web\n    instances: 2\n").expect("parses");
        let Some(Value::Seq(apps)) = doc.get("apps").map(|n| &n.value) else {
            panic!("a list")
        };
        let Value::Map(entries) = &apps[0].value else {
            panic!("a table")
        };
        assert_eq!(entries[1].0.pos, Pos::new(3, 5));
        assert_eq!(entries[1].1.value, Value::Int(2));
        assert_eq!(entries[1].1.pos, Pos::new(3, 16));
    }

    #[test]
    fn yaml11_booleans_stay_strings() {
        let doc = parse(
            "N: yes
Y: on
T: true
",
        )
        .expect("parses");
        let Value::Map(entries) = &doc.value else {
            panic!("a table")
        };
        assert_eq!(entries[0].0.name, "N");
        assert_eq!(entries[0].1.value, Value::Str("yes".into()));
        assert_eq!(entries[1].0.name, "Y");
        assert_eq!(entries[1].1.value, Value::Str("on".into()));
        assert_eq!(entries[2].1.value, Value::Bool(true));
    }

    #[test]
    fn syntax_errors_have_a_position() {
        let err = parse("apps:\n  - name: [\n").expect_err("unclosed");
        assert_eq!(err.pos, Pos::new(2, 11));
        assert!(err.message.contains("unclosed"), "{}", err.message);
    }
}
