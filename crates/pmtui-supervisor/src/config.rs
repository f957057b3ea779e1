//! Settings the daemon hands the supervisor: where files go and the global defaults.

use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct SupervisorConfig {
    /// The state directory (`$PMTUI_HOME`).
    pub home: PathBuf,
    /// Default rotation size of log files, bytes.
    pub log_max_size: u64,
    /// Default number of rotated log files kept.
    pub log_max_files: u32,
    /// Default gzip of rotated log files.
    pub log_compress: bool,
    /// Bytes of recent output kept in memory per process.
    pub log_ring_bytes: usize,
    /// Period of the metrics sampler, ms; 0 turns sampling off.
    pub metrics_interval_ms: u64,
    /// How far back the per-process metrics history reaches, ms.
    pub metrics_history_ms: u64,
    /// Where the daemon serves Prometheus `GET /metrics`: `host:port`, or a bare port for
    /// 127.0.0.1; `None` (the default) serves nothing. The supervisor only carries it.
    pub metrics_addr: Option<String>,
    /// The `RLIMIT_NOFILE` (soft, hard) children get back before exec: what the daemon
    /// inherited before it raised its own soft limit. `None` leaves children the daemon's.
    pub child_nofile: Option<(u64, u64)>,
    /// The umask children get back: the daemon runs with 077 so that every file it
    /// creates (logs, state) is private, but apps keep the one the daemon inherited.
    /// `None` leaves children the daemon's.
    pub child_umask: Option<u32>,
    /// How process trees are contained (`containment` in the settings).
    pub containment: crate::contain::Setting,
    /// The daemon's own hooks (`hooks` in the settings), by event; they run for every
    /// process, after its own.
    pub hooks: std::collections::BTreeMap<String, pmtui_proto::Hook>,
}

impl SupervisorConfig {
    pub fn new(home: PathBuf) -> Self {
        Self {
            home,
            log_max_size: 10 * 1024 * 1024,
            log_max_files: 5,
            log_compress: false,
            log_ring_bytes: 256 * 1024,
            metrics_interval_ms: 1000,
            metrics_history_ms: 10 * 60 * 1000,
            metrics_addr: None,
            child_nofile: None,
            child_umask: None,
            containment: crate::contain::Setting::Auto,
            hooks: std::collections::BTreeMap::new(),
        }
    }

    pub fn logs_dir(&self) -> PathBuf {
        self.home.join("logs")
    }

    /// The value of `PMTUI_JOB` that marks every descendant of process `id`, so that what
    /// escapes its process group is still found; unique per state directory.
    pub fn marker(&self, id: u32) -> String {
        format!("{}-{id}", self.home_key())
    }

    /// A short stable key for this state directory (FNV-1a of its path).
    pub fn home_key(&self) -> String {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in self.home.as_os_str().as_encoded_bytes() {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        format!("{hash:016x}")
    }
}

/// The environment variable that carries the marker.
pub const MARKER_VAR: &str = "PMTUI_JOB";
