//! The state directory's layout (`$PMTUI_HOME`, default `~/.pmtui`).

use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct Paths {
    pub home: PathBuf,
    pub socket: PathBuf,
    pub pid_file: PathBuf,
    pub daemon_log: PathBuf,
    pub processes: PathBuf,
    pub dump: PathBuf,
}

impl Paths {
    pub fn new(home: impl Into<PathBuf>) -> Self {
        let home: PathBuf = home.into();
        Self {
            socket: home.join("pmtui.sock"),
            pid_file: home.join("daemon.pid"),
            daemon_log: home.join("daemon.log"),
            processes: home.join("processes"),
            dump: home.join("dump.json"),
            home,
        }
    }

    /// `$PMTUI_HOME`, else `~/.pmtui`.
    pub fn from_env() -> Self {
        let home = std::env::var_os("PMTUI_HOME")
            .filter(|h| !h.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::home_dir().map(|h| h.join(".pmtui")))
            .unwrap_or_else(|| PathBuf::from(".pmtui"));
        let home = if home.is_absolute() {
            home
        } else {
            std::env::current_dir()
                .map(|d| d.join(&home))
                .unwrap_or(home)
        };
        Self::new(home)
    }
}
