//! File watching on the wire: what a process watches (`WatchSpec`, part of its definition),
//! how `ls --json` shows it (`watch`: the paths, or `false`) and the change that last
//! restarted it (`WatchTrigger`).

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// How long a burst of changes must be quiet before the one restart it causes (ms).
pub const DEFAULT_WATCH_DELAY_MS: u64 = 500;

/// What ignores every watch, besides the app's own log and pid files and what
/// `.gitignore` says (see the README's "Watch"): gitignore-style globs.
pub const DEFAULT_WATCH_IGNORE: &[&str] = &["node_modules", ".git", "*.log", "__pycache__"];

/// File watching of one process: a change under `paths` (not ignored) restarts it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct WatchSpec {
    /// `false` keeps the paths and globs but watches nothing (`--no-watch`, `pmtui watch
    /// <name> off`).
    pub enabled: bool,
    /// Absolute files or directories (directories are watched recursively); empty means
    /// the app's `cwd`.
    pub paths: Vec<PathBuf>,
    /// Gitignore-style globs, relative to each watched directory, on top of
    /// [`DEFAULT_WATCH_IGNORE`].
    pub ignore: Vec<String>,
    /// The debounce: a restart comes once the changes have been quiet this long (ms).
    pub delay_ms: u64,
}

impl Default for WatchSpec {
    fn default() -> Self {
        Self {
            enabled: true,
            paths: Vec::new(),
            ignore: Vec::new(),
            delay_ms: DEFAULT_WATCH_DELAY_MS,
        }
    }
}

impl WatchSpec {
    /// The paths watched for an app working in `cwd`.
    pub fn roots(&self, cwd: &std::path::Path) -> Vec<PathBuf> {
        if self.paths.is_empty() {
            vec![cwd.to_path_buf()]
        } else {
            self.paths.iter().map(|p| cwd.join(p)).collect()
        }
    }
}

/// The change that last restarted (or revived) a process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatchTrigger {
    /// When the restart happened (ms since the Unix epoch).
    pub at: u64,
    /// The first changed path of the burst, relative to the watched directory.
    pub path: String,
}

/// `ls --json`'s `watch`: the watched paths, or `false`.
pub mod shown {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(value: &Option<Vec<String>>, s: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(paths) => paths.serialize(s),
            None => false.serialize(s),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Shown {
            Paths(Vec<String>),
            Flag(#[allow(dead_code)] bool),
        }
        Ok(match Option::<Shown>::deserialize(d)? {
            Some(Shown::Paths(paths)) => Some(paths),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize, Deserialize, PartialEq, Debug)]
    struct Row {
        #[serde(with = "shown", default)]
        watch: Option<Vec<String>>,
    }

    #[test]
    fn watch_shows_paths_or_false() {
        let off = Row { watch: None };
        assert_eq!(
            serde_json::to_string(&off).ok().as_deref(),
            Some(r#"{"watch":false}"#)
        );
        let on = Row {
            watch: Some(vec!["/app".into()]),
        };
        let text = serde_json::to_string(&on).unwrap_or_default();
        assert_eq!(text, r#"{"watch":["/app"]}"#);
        assert_eq!(serde_json::from_str::<Row>(&text).ok(), Some(on));
        assert_eq!(
            serde_json::from_str::<Row>(r#"{"watch":false}"#).ok(),
            Some(off)
        );
        assert_eq!(
            serde_json::from_str::<Row>("{}").ok(),
            Some(Row { watch: None })
        );
    }

    #[test]
    fn roots_default_to_the_working_directory() {
        let spec = WatchSpec::default();
        assert_eq!(
            spec.roots("/srv/app".as_ref()),
            vec![PathBuf::from("/srv/app")]
        );
        let spec = WatchSpec {
            paths: vec!["src".into(), "/etc/app.conf".into()],
            ..WatchSpec::default()
        };
        assert_eq!(
            spec.roots("/srv/app".as_ref()),
            vec![
                PathBuf::from("/srv/app/src"),
                PathBuf::from("/etc/app.conf")
            ]
        );
    }
}
