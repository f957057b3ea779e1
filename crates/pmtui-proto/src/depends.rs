//! Start order: an app's `depends_on` (the apps it starts after, and what each must have
//! reached), and the pure graph work on it that the config reader (errors with file:line)
//! and the supervisor (start in order, stop in reverse) share.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// One entry of `depends_on`: start after the app `name` has reached `condition`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dependency {
    pub name: String,
    #[serde(default)]
    pub condition: Condition,
}

/// What a dependency must have reached before the app that depends on it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Condition {
    /// Launched (its process exists).
    Started,
    /// Ready, by the one definition (first passing probe, else the `wait_ready` signal,
    /// else started): the default of the short form `depends_on: [db]`.
    #[default]
    Ready,
    /// Exited with code 0 (a migration, a build step).
    Completed,
}

impl Condition {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Started => "started",
            Self::Ready => "ready",
            Self::Completed => "completed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "started" | "process_started" | "service_started" => Some(Self::Started),
            "ready" | "healthy" | "process_healthy" | "service_healthy" => Some(Self::Ready),
            "completed" | "process_completed_successfully" | "service_completed_successfully" => {
                Some(Self::Completed)
            }
            _ => None,
        }
    }
}

impl std::fmt::Display for Condition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `db (ready), migrate (completed)`: a list for people.
pub fn describe(deps: &[Dependency]) -> String {
    deps.iter()
        .map(|d| format!("{} ({})", d.name, d.condition))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A cycle among `apps` (name → the names it depends on), as the names along it with the
/// first repeated at the end (`a → b → a`); names outside `apps` are ignored.
pub fn find_cycle<'a>(apps: &BTreeMap<&'a str, Vec<&'a str>>) -> Option<Vec<String>> {
    // Iterative depth-first search with colours, so a long chain cannot overflow the stack.
    #[derive(Clone, Copy, PartialEq)]
    enum Colour {
        White,
        Grey,
        Black,
    }
    let mut colour: BTreeMap<&str, Colour> = apps.keys().map(|k| (*k, Colour::White)).collect();
    for &root in apps.keys() {
        if colour[root] != Colour::White {
            continue;
        }
        let mut path: Vec<(&str, usize)> = vec![(root, 0)];
        colour.insert(root, Colour::Grey);
        while let Some((node, next)) = path.last_mut() {
            let deps = &apps[*node];
            if *next >= deps.len() {
                colour.insert(*node, Colour::Black);
                path.pop();
                continue;
            }
            let dep = deps[*next];
            *next += 1;
            match colour.get(dep) {
                None | Some(Colour::Black) => {}
                Some(Colour::Grey) => {
                    let start = path.iter().position(|(n, _)| *n == dep).unwrap_or(0);
                    let mut cycle: Vec<String> =
                        path[start..].iter().map(|(n, _)| n.to_string()).collect();
                    cycle.push(dep.to_string());
                    return Some(cycle);
                }
                Some(Colour::White) => {
                    colour.insert(dep, Colour::Grey);
                    path.push((dep, 0));
                }
            }
        }
    }
    None
}

/// The apps in waves: every app comes after the apps it depends on (those in `apps`), and
/// the apps of one wave depend on none of each other. Reversed, it is the stop order. An
/// app on a cycle is put in the last wave (callers refuse cycles before).
pub fn waves<'a>(apps: &BTreeMap<&'a str, Vec<&'a str>>) -> Vec<Vec<&'a str>> {
    let mut placed: BTreeSet<&str> = BTreeSet::new();
    let mut out: Vec<Vec<&str>> = Vec::new();
    while placed.len() < apps.len() {
        let wave: Vec<&str> = apps
            .iter()
            .filter(|(name, deps)| {
                !placed.contains(*name)
                    && deps
                        .iter()
                        .all(|d| placed.contains(d) || !apps.contains_key(d) || d == *name)
            })
            .map(|(name, _)| *name)
            .collect();
        if wave.is_empty() {
            out.push(
                apps.keys()
                    .copied()
                    .filter(|n| !placed.contains(n))
                    .collect(),
            );
            break;
        }
        placed.extend(wave.iter().copied());
        out.push(wave);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph<'a>(edges: &[(&'a str, &[&'a str])]) -> BTreeMap<&'a str, Vec<&'a str>> {
        edges.iter().map(|(n, d)| (*n, d.to_vec())).collect()
    }

    #[test]
    fn a_chain_comes_in_order_and_independent_apps_together() {
        let g = graph(&[
            ("api", &["migrate"]),
            ("migrate", &["db"]),
            ("db", &[]),
            ("cache", &[]),
            ("outside", &["nowhere"]),
        ]);
        assert_eq!(
            waves(&g),
            vec![vec!["cache", "db", "outside"], vec!["migrate"], vec!["api"]]
        );
        assert_eq!(find_cycle(&g), None);
    }

    #[test]
    fn a_cycle_is_found_with_its_path() {
        let g = graph(&[("a", &["b"]), ("b", &["c"]), ("c", &["a"]), ("d", &[])]);
        assert_eq!(
            find_cycle(&g),
            Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
        );
        let own = graph(&[("a", &["a"])]);
        assert_eq!(find_cycle(&own), Some(vec!["a".into(), "a".into()]));
    }

    #[test]
    fn conditions_read_compose_spellings_too() {
        assert_eq!(Condition::parse("completed"), Some(Condition::Completed));
        assert_eq!(
            Condition::parse("service_completed_successfully"),
            Some(Condition::Completed)
        );
        assert_eq!(Condition::parse("process_healthy"), Some(Condition::Ready));
        assert_eq!(Condition::parse("soon"), None);
    }
}
