//! Named hosts (`pmtui context add prod ssh://deploy@web1`), kept in
//! `$PMTUI_HOME/contexts.toml` (written whole, durably, never through a link) with the one
//! in use. `local` is always there: this host's daemon.

use anyhow::{Context as _, Result, bail};
use pmtui_statedir::Dir;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

pub const FILE: &str = "contexts.toml";
/// The name of this host's daemon, always defined.
pub const LOCAL: &str = "local";

#[derive(Debug, Default, Clone, Serialize, Deserialize, PartialEq)]
pub struct Contexts {
    /// The context commands use when no --host/--context is given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<String>,
    #[serde(default)]
    pub contexts: BTreeMap<String, Entry>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Entry {
    /// `ssh://[user@]host[:port]`.
    pub host: String,
    /// pmtui on that host, when not `pmtui` on its PATH.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_bin: Option<String>,
}

impl Contexts {
    /// The contexts of `home`; none when the file is missing.
    pub fn load(home: &Path) -> Result<Self> {
        let dir = match Dir::home(home, false) {
            Ok(dir) => dir,
            Err(pmtui_statedir::StateError::Io { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                return Ok(Self::default());
            }
            Err(err) => return Err(err.into()),
        };
        let bytes = match dir.read(FILE) {
            Ok(bytes) => bytes,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(err) => {
                return Err(err).context(format!("cannot read {}", dir.join(FILE).display()));
            }
        };
        let text = String::from_utf8_lossy(&bytes);
        toml::from_str(&text).with_context(|| format!("{} is not valid", dir.join(FILE).display()))
    }

    pub fn save(&self, home: &Path) -> Result<()> {
        let dir = Dir::home(home, true)?;
        let text = format!(
            "# pmtui contexts: `pmtui context add|use|rm|ls` edit this file.\n{}",
            toml::to_string(self)?
        );
        dir.write_durable(FILE, text.as_bytes())
            .with_context(|| format!("cannot write {}", dir.join(FILE).display()))
    }

    /// The entry of `name`; `local` is this host.
    pub fn get(&self, name: &str) -> Result<Option<&Entry>> {
        if name == LOCAL {
            return Ok(None);
        }
        match self.contexts.get(name) {
            Some(entry) => Ok(Some(entry)),
            None => {
                let known: Vec<&str> = std::iter::once(LOCAL)
                    .chain(self.contexts.keys().map(String::as_str))
                    .collect();
                bail!(
                    "no context named {name:?} (known: {}); add it with `pmtui context add {name} ssh://host`",
                    known.join(", ")
                )
            }
        }
    }
}

/// A context name: a word that reads well in a header and a TOML key.
pub fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !ok {
        bail!("{name:?} is not a context name: use letters, digits, - _ . (at most 64)");
    }
    if name == LOCAL {
        bail!("`local` is this host's daemon, always defined");
    }
    Ok(())
}
