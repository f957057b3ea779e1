//! Errors and warnings about a configuration file. Every problem with a file's content names
//! the file, the line and column, the field (as a path like `apps[1].restart_policy.delay`)
//! and what was expected; a misspelt field also gets the closest known name.

use crate::node::Pos;
use std::fmt;
use std::path::PathBuf;

/// One problem found in a file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}:{}: {}{}", file.display(), pos, field_prefix(field), kind)]
pub struct Problem {
    pub file: PathBuf,
    pub pos: Pos,
    /// The field's path, empty for the document itself.
    pub field: String,
    pub kind: ProblemKind,
}

fn field_prefix(field: &str) -> String {
    if field.is_empty() {
        String::new()
    } else {
        format!("{field}: ")
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProblemKind {
    /// The text is not valid JSON/YAML/TOML/JavaScript.
    #[error("syntax error: {0}")]
    Syntax(String),
    #[error("unknown field {name:?}{}", suggestion.as_ref().map(|s| format!("; did you mean {s:?}?")).unwrap_or_else(|| "; custom keys must start with \"x-\"".into()))]
    UnknownField {
        name: String,
        suggestion: Option<String>,
    },
    #[error("expected {expected}, found {found}")]
    Invalid { expected: String, found: String },
    #[error("missing required field {0:?}")]
    Missing(String),
    #[error("{0}")]
    Other(String),
}

/// A file that cannot be used: every problem found in it (nothing is started from it).
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}", Joined(.0))]
    Problems(Vec<Problem>),
}

impl ConfigError {
    /// The problems, when the file was read.
    pub fn problems(&self) -> &[Problem] {
        match self {
            ConfigError::Problems(p) => p,
            ConfigError::Read { .. } => &[],
        }
    }
}

struct Joined<'a>(&'a [Problem]);

impl fmt::Display for Joined<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

/// Something accepted but not acted on (yet), printed on stderr as a warning.
#[derive(Debug, Clone, PartialEq)]
pub struct Warning {
    pub file: PathBuf,
    pub pos: Pos,
    pub field: String,
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: warning: {}{}",
            self.file.display(),
            self.pos,
            field_prefix(&self.field),
            self.message
        )
    }
}

/// The closest of `known` to `name`, if it is close enough to be a likely typo.
pub fn suggest<'a>(name: &str, known: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let lower = name.to_ascii_lowercase();
    known
        .into_iter()
        .map(|k| {
            (
                strsim::damerau_levenshtein(&lower, &k.to_ascii_lowercase()),
                k,
            )
        })
        .filter(|(d, k)| *d <= (k.len().max(name.len()) / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_get_the_closest_field() {
        let known = ["name", "script", "instances", "max_memory_restart"];
        assert_eq!(suggest("nmae", known).as_deref(), Some("name"));
        assert_eq!(suggest("instaces", known).as_deref(), Some("instances"));
        assert_eq!(
            suggest("max_memory_restrat", known).as_deref(),
            Some("max_memory_restart")
        );
        assert_eq!(suggest("colour", known), None);
    }
}
