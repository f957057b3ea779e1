//! One daemon per state directory: the pid file is held with an exclusive lock for the
//! daemon's whole life, so a second daemon fails at once and a pid file left by a killed
//! daemon (whose lock the kernel released) is simply taken over.

use crate::{DaemonError, Paths};
use std::fs::{File, OpenOptions};
use std::io::Write;

pub struct DaemonLock {
    _file: File,
    path: std::path::PathBuf,
}

impl DaemonLock {
    pub fn acquire(paths: &Paths) -> Result<Self, DaemonError> {
        let io = |about: &str, source| DaemonError::Io {
            about: format!("{about} {}", paths.pid_file.display()),
            source,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&paths.pid_file)
            .map_err(|e| io("cannot open", e))?;
        if file.try_lock().is_err() {
            let pid = std::fs::read_to_string(&paths.pid_file)
                .unwrap_or_default()
                .trim()
                .to_string();
            return Err(DaemonError::AlreadyRunning {
                home: paths.home.display().to_string(),
                pid,
            });
        }
        file.set_len(0).map_err(|e| io("cannot write", e))?;
        write!(file, "{}", std::process::id()).map_err(|e| io("cannot write", e))?;
        Ok(Self {
            _file: file,
            path: paths.pid_file.clone(),
        })
    }
}

impl Drop for DaemonLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
