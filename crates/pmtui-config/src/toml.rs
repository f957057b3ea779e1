//! TOML (toml 1.x's span-keeping `DeTable`) into the positioned document tree.

use crate::json::SyntaxError;
use crate::node::{Key, Node, Pos, Value};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

pub fn parse(text: &str) -> Result<Node, SyntaxError> {
    match DeTable::parse(text) {
        Ok(table) => {
            let pos = Pos::of_offset(text, table.span().start);
            Ok(Node::new(
                Value::Map(convert_table(text, table.into_inner())),
                pos,
            ))
        }
        Err(err) => Err(SyntaxError {
            pos: err
                .span()
                .map_or(Pos::START, |s| Pos::of_offset(text, s.start)),
            message: err.message().trim().to_string(),
        }),
    }
}

fn convert_table(text: &str, table: DeTable<'_>) -> Vec<(Key, Node)> {
    table
        .into_iter()
        .map(|(k, v)| {
            let key = Key {
                pos: Pos::of_offset(text, k.span().start),
                name: k.into_inner().into_owned(),
            };
            (key, convert(text, v))
        })
        .collect()
}

fn convert(text: &str, value: Spanned<DeValue<'_>>) -> Node {
    let pos = Pos::of_offset(text, value.span().start);
    let value = match value.into_inner() {
        DeValue::String(s) => Value::Str(s.into_owned()),
        DeValue::Integer(i) => {
            let digits = i.as_str().replace('_', "");
            let digits = digits
                .trim_start_matches("0x")
                .trim_start_matches("0o")
                .trim_start_matches("0b");
            i64::from_str_radix(digits, i.radix())
                .map_or_else(|_| Value::Str(i.as_str().to_string()), Value::Int)
        }
        DeValue::Float(f) => f
            .as_str()
            .replace('_', "")
            .parse::<f64>()
            .map_or_else(|_| Value::Str(f.as_str().to_string()), Value::Float),
        DeValue::Boolean(b) => Value::Bool(b),
        DeValue::Datetime(d) => Value::Str(d.to_string()),
        DeValue::Array(items) => Value::Seq(items.into_iter().map(|v| convert(text, v)).collect()),
        DeValue::Table(table) => Value::Map(convert_table(text, table)),
    };
    Node::new(value, pos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn array_of_tables_keeps_positions() {
        let doc = parse("[[apps]]\nname = \"web\"\ninstances = 2\n\n[apps.env]\nA = \"1\"\n")
            .expect("parses");
        let Some(Value::Seq(apps)) = doc.get("apps").map(|n| &n.value) else {
            panic!("a list")
        };
        let Value::Map(entries) = &apps[0].value else {
            panic!("a table")
        };
        assert_eq!(entries[1].0.name, "instances");
        assert_eq!(entries[1].0.pos, Pos::new(3, 1));
        assert_eq!(entries[1].1.value, Value::Int(2));
        assert_eq!(entries[1].1.pos, Pos::new(3, 13));
    }

    #[test]
    fn syntax_errors_have_a_position() {
        let err = parse("[[apps]]\nname = web\n").expect_err("bare string");
        assert_eq!(err.pos.line, 2);
    }
}
