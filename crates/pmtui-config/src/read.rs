//! Typed reads from the document tree. Each read that fails records a `Problem` (file, line,
//! column, field, what was expected, what was found) and returns `None`, so one pass reports
//! every problem in a file rather than the first.

use crate::error::{Problem, ProblemKind, Warning, suggest};
use crate::node::{Key, Node, Pos, Value};
use crate::schema::{self, Field, Status};
use crate::units;
use std::path::{Path, PathBuf};

pub struct Ctx<'a> {
    pub file: &'a Path,
    pub problems: Vec<Problem>,
    pub warnings: Vec<Warning>,
    /// The unknown keys warned about, so that a missing required field can name the typo
    /// that explains it (`scirpt` next to a missing `script`).
    pub unknown: Vec<Unknown>,
}

/// A key no table knows: warned about and ignored, as pm2 ignores keys it does not know.
#[derive(Debug, Clone)]
pub struct Unknown {
    pub pos: Pos,
    /// The key's path (`apps[0].scirpt`).
    pub field: String,
    pub name: String,
    /// The closest known field, if the key looks like a typo of one.
    pub suggestion: Option<String>,
}

/// Path of a field below `parent` (`apps[0]` + `env` → `apps[0].env`).
pub fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

impl<'a> Ctx<'a> {
    pub fn new(file: &'a Path) -> Self {
        Self {
            file,
            problems: Vec::new(),
            warnings: Vec::new(),
            unknown: Vec::new(),
        }
    }

    pub fn problem(&mut self, pos: Pos, field: &str, kind: ProblemKind) {
        self.problems.push(Problem {
            file: self.file.to_path_buf(),
            pos,
            field: field.to_string(),
            kind,
        });
    }

    pub fn warn(&mut self, pos: Pos, field: &str, message: impl Into<String>) {
        self.warnings.push(Warning {
            file: self.file.to_path_buf(),
            pos,
            field: field.to_string(),
            message: message.into(),
        });
    }

    pub fn invalid(&mut self, node: &Node, field: &str, expected: &str) {
        self.problem(
            node.pos,
            field,
            ProblemKind::Invalid {
                expected: expected.to_string(),
                found: node.kind(),
            },
        );
    }

    /// Turns the warning about an unknown key into a problem: the typo explains a real error
    /// (a required field missing).
    pub fn unknown_is_error(&mut self, key: &Unknown, why: &str) {
        self.warnings
            .retain(|w| !(w.pos == key.pos && w.field == key.field));
        let hint = key
            .suggestion
            .as_ref()
            .map(|s| format!("; did you mean {s:?}?"))
            .unwrap_or_default();
        self.problem(
            key.pos,
            &key.field,
            ProblemKind::Other(format!("unknown field {:?}{hint} ({why})", key.name)),
        );
    }

    /// The entries of a table checked against `fields`: unknown keys are warned about (with
    /// the closest known name) and ignored, `x-` keys are skipped, a field given twice (by two aliases) is a
    /// problem, fields that do nothing yet are warned about. `extra` lets the caller accept
    /// keys the table does not list (`env_<name>`).
    pub fn fields<'n>(
        &mut self,
        node: &'n Node,
        path: &str,
        fields: &'static [Field],
        extra: impl Fn(&str) -> bool,
    ) -> Vec<(&'static Field, &'n Key, &'n Node)> {
        let Value::Map(entries) = &node.value else {
            self.invalid(node, path, "a table of fields");
            return Vec::new();
        };
        let mut out: Vec<(&'static Field, &'n Key, &'n Node)> = Vec::new();
        for (key, value) in entries {
            if key.name.starts_with("x-") || extra(&key.name) {
                continue;
            }
            let here = join(path, &key.name);
            let Some(field) = schema::lookup(fields, &key.name) else {
                let suggestion = suggest(&key.name, schema::names(fields))
                    .or_else(|| suggest(&schema::snake(&key.name), schema::names(fields)));
                let message = match &suggestion {
                    Some(s) => format!("unknown field {:?} ignored; did you mean {s:?}?", key.name),
                    None => format!(
                        "unknown field {:?} ignored (name your own keys \"x-…\" to silence this)",
                        key.name
                    ),
                };
                self.warn(key.pos, &here, message);
                self.unknown.push(Unknown {
                    pos: key.pos,
                    field: here,
                    name: key.name.clone(),
                    suggestion,
                });
                continue;
            };
            if let Some((_, first, _)) = out.iter().find(|(f, _, _)| f.name == field.name) {
                let message = format!(
                    "{:?} is given twice (also as {:?} at line {}); keep one",
                    field.name, first.name, first.pos.line
                );
                self.problem(key.pos, &here, ProblemKind::Other(message));
                continue;
            }
            match field.status {
                Status::Active => {}
                Status::Later(why) => self.warn(
                    key.pos,
                    &here,
                    format!("accepted but not yet active: {why}"),
                ),
                Status::NoEffect(why) => self.warn(key.pos, &here, format!("has no effect: {why}")),
            }
            out.push((field, key, value));
        }
        out
    }

    pub fn string(&mut self, node: &Node, field: &str) -> Option<String> {
        match &node.value {
            Value::Str(s) => Some(s.clone()),
            _ => {
                self.invalid(node, field, "a string");
                None
            }
        }
    }

    /// A scalar as text (lists of arguments and env values may hold numbers).
    pub fn scalar(&mut self, node: &Node, field: &str) -> Option<String> {
        match &node.value {
            Value::Str(s) => Some(s.clone()),
            Value::Int(i) => Some(i.to_string()),
            Value::Float(f) => Some(f.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => {
                self.invalid(node, field, "a string or a number");
                None
            }
        }
    }

    pub fn path(&mut self, node: &Node, field: &str) -> Option<PathBuf> {
        self.string(node, field).map(PathBuf::from)
    }

    /// A log file path; null (YAML's bare `NULL`) is pm2's `NULL`: no file.
    pub fn log_path(&mut self, node: &Node, field: &str) -> Option<PathBuf> {
        match node.value {
            Value::Null => Some(PathBuf::from("NULL")),
            _ => self.path(node, field),
        }
    }

    pub fn bool(&mut self, node: &Node, field: &str) -> Option<bool> {
        match &node.value {
            Value::Bool(b) => Some(*b),
            Value::Str(s) if s == "true" => Some(true),
            Value::Str(s) if s == "false" => Some(false),
            _ => {
                self.invalid(node, field, "true or false");
                None
            }
        }
    }

    pub fn uint(&mut self, node: &Node, field: &str, max: u64) -> Option<u64> {
        let n = match &node.value {
            Value::Int(i) if *i >= 0 => Some(*i as u64),
            Value::Float(f) if *f >= 0.0 && f.fract() == 0.0 => Some(*f as u64),
            Value::Str(s) => s.trim().parse::<u64>().ok(),
            _ => None,
        };
        match n.filter(|n| *n <= max) {
            Some(n) => Some(n),
            None => {
                self.invalid(node, field, &format!("a whole number from 0 to {max}"));
                None
            }
        }
    }

    pub fn float(&mut self, node: &Node, field: &str) -> Option<f64> {
        match &node.value {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) if f.is_finite() => Some(*f),
            _ => {
                self.invalid(node, field, "a number");
                None
            }
        }
    }

    /// Milliseconds, or a string with units (`"10s"`, `"1m30s"`).
    pub fn duration(&mut self, node: &Node, field: &str) -> Option<u64> {
        let parsed = match &node.value {
            Value::Int(i) if *i >= 0 => Ok(*i as u64),
            Value::Float(f) if *f >= 0.0 && f.is_finite() => Ok(f.round() as u64),
            Value::Str(s) => units::millis(s),
            _ => Err(String::new()),
        };
        parsed
            .map_err(|_| {
                self.invalid(
                    node,
                    field,
                    "a duration: milliseconds or a string like \"10s\", \"1m30s\", \"500ms\"",
                )
            })
            .ok()
    }

    /// Bytes, or a string with a unit (`"500M"`, 1024-based).
    pub fn size(&mut self, node: &Node, field: &str) -> Option<u64> {
        let parsed = match &node.value {
            Value::Int(i) if *i >= 0 => Ok(*i as u64),
            Value::Str(s) => units::bytes(s),
            _ => Err(String::new()),
        };
        parsed
            .map_err(|_| {
                self.invalid(
                    node,
                    field,
                    "a size: bytes or a string like \"500M\", \"1G\", \"64K\"",
                )
            })
            .ok()
    }

    /// A list of strings, or one string taken whole (a path or glob may hold spaces).
    pub fn words_or_path(&mut self, node: &Node, field: &str) -> Option<Vec<String>> {
        match &node.value {
            Value::Str(s) => Some(vec![s.clone()]),
            _ => self.words(node, field),
        }
    }

    /// A list of strings; a string is split shell-style (quotes respected), as pm2 does.
    pub fn words(&mut self, node: &Node, field: &str) -> Option<Vec<String>> {
        match &node.value {
            Value::Str(s) => match shell_words(s) {
                Ok(words) => Some(words),
                Err(e) => {
                    self.invalid(node, field, &format!("a list or a string ({e})"));
                    None
                }
            },
            Value::Seq(items) => {
                let mut out = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    out.push(self.scalar(item, &format!("{field}[{i}]"))?);
                }
                Some(out)
            }
            _ => {
                self.invalid(node, field, "a list of strings or a string");
                None
            }
        }
    }
}

/// Splits a command line like a POSIX shell would split words (quotes and backslashes).
pub fn shell_words(s: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err("unclosed '".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => word.push(c),
                            Some(c) => {
                                word.push('\\');
                                word.push(c);
                            }
                            None => return Err("unclosed \"".into()),
                        },
                        Some(c) => word.push(c),
                        None => return Err("unclosed \"".into()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(c) = chars.next() {
                    word.push(c);
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_split_like_a_shell() {
        assert_eq!(
            shell_words(r#"--name "a b" 'c d' e\ f"#).ok(),
            Some(vec![
                "--name".into(),
                "a b".into(),
                "c d".into(),
                "e f".into()
            ])
        );
        assert!(shell_words("'open").is_err());
    }
}
