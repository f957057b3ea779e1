//! Why a state directory is refused, each message naming the path and the fix.

use std::path::PathBuf;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum StateError {
    #[error(
        "refusing to use {path}: it belongs to uid {owner}, not to you (uid {me}), so its \
         owner could plant processes for you to run; fix: `chown {me} {path}` (as root), or \
         set PMTUI_HOME to a directory of your own"
    )]
    NotOwner { path: PathBuf, owner: u32, me: u32 },
    #[error(
        "refusing to use {path}: it is writable by {who} (mode {mode:04o}), so others could \
         plant processes for you to run; fix: `chmod go-w {path}`"
    )]
    Writable {
        path: PathBuf,
        who: &'static str,
        mode: u32,
    },
    #[error("refusing to use {path}: it is not a directory (remove or rename it)")]
    NotDir { path: PathBuf },
    #[error(
        "refusing to follow the symbolic link {path}: pmtui opens its state files only as plain files (remove the link)"
    )]
    Symlink { path: PathBuf },
    #[error("cannot {what} {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
}

impl StateError {
    pub(crate) fn io(what: &'static str, path: PathBuf, source: impl Into<std::io::Error>) -> Self {
        Self::Io {
            what,
            path,
            source: source.into(),
        }
    }
}
