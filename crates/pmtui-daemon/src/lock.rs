//! One daemon per state directory: the pid file is held with an exclusive lock for the
//! daemon's whole life, so a second daemon fails at once and a pid file left by a killed
//! daemon (whose lock the kernel released) is simply taken over. It is opened in the checked
//! state directory without following a link (a planted `daemon.pid` link would otherwise
//! let the daemon truncate any file).

use crate::{DaemonError, Paths};
use pmtui_statedir::Dir;
use std::fs::File;
use std::io::{Read, Seek, Write};

const PID_FILE: &str = "daemon.pid";

pub struct DaemonLock {
    file: File,
    path: std::path::PathBuf,
    home: std::path::PathBuf,
}

impl DaemonLock {
    pub fn acquire(paths: &Paths, home: &Dir) -> Result<Self, DaemonError> {
        let io = |about: &str, source| DaemonError::Io {
            about: format!("{about} {}", paths.pid_file.display()),
            source,
        };
        let mut file = home.open_rw(PID_FILE).map_err(|e| io("cannot open", e))?;
        if file.try_lock().is_err() {
            let mut pid = String::new();
            let _ = file.read_to_string(&mut pid);
            return Err(DaemonError::AlreadyRunning {
                home: paths.home.display().to_string(),
                pid: pid.trim().to_string(),
            });
        }
        file.set_len(0).map_err(|e| io("cannot write", e))?;
        file.rewind().map_err(|e| io("cannot write", e))?;
        write!(file, "{}", std::process::id()).map_err(|e| io("cannot write", e))?;
        Ok(Self {
            file,
            path: paths.pid_file.clone(),
            home: paths.home.clone(),
        })
    }
}

impl Drop for DaemonLock {
    fn drop(&mut self) {
        // Only our own file: reopened in the home without following links, and the same
        // inode as the one we hold.
        let Ok(home) = Dir::home(&self.home, false) else {
            return;
        };
        let ours = match (home.metadata(PID_FILE), self.file.metadata()) {
            (Ok(on_disk), Ok(held)) => {
                use std::os::unix::fs::MetadataExt;
                on_disk.st_ino == held.ino() && on_disk.st_dev == held.dev()
            }
            _ => false,
        };
        if ours {
            let _ = home.remove(PID_FILE, false);
        } else {
            tracing::debug!(path = %self.path.display(), "pid file replaced; left alone");
        }
    }
}
