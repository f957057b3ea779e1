//! The daemon's settings file (`$PMTUI_HOME/config.toml` or `config.json`) onto the
//! supervisor's configuration. A bad file never stops the daemon: every problem is logged
//! with its file:line:column, the bad keys keep their defaults, and `ping` repeats them.

use pmtui_supervisor::SupervisorConfig;
use std::path::Path;

/// The supervisor's configuration for `home`, and the problems found in the settings file.
pub fn config(home: &Path) -> (SupervisorConfig, Vec<String>) {
    let mut config = SupervisorConfig::new(home.to_path_buf());
    let (settings, problems) = pmtui_config::settings::load(home);
    let warnings: Vec<String> = problems
        .iter()
        .map(|p| format!("{p} (the default is used)"))
        .collect();
    if let Some(v) = settings.log_max_size {
        config.log_max_size = v;
    }
    if let Some(v) = settings.log_max_files {
        config.log_max_files = v;
    }
    if let Some(v) = settings.log_compress {
        config.log_compress = v;
    }
    if let Some(v) = settings.log_ring_bytes {
        config.log_ring_bytes = v;
    }
    if let Some(v) = settings.metrics_interval_ms {
        config.metrics_interval_ms = v;
    }
    if let Some(v) = settings.metrics_history_ms {
        config.metrics_history_ms = v;
    }
    if let Some(v) = settings.metrics_addr {
        config.metrics_addr = Some(v);
    }
    if let Some(mode) = settings.containment.and_then(|m| m.parse().ok()) {
        config.containment = mode;
    }
    config.hooks = settings.hooks.clone();
    // `kill_timeout` is read by the client when it builds specs.
    for warning in &warnings {
        tracing::warn!("settings: {warning}");
    }
    if let Some(file) = &settings.file {
        tracing::info!(file = %file.display(), problems = problems.len(), "settings read");
    }
    (config, warnings)
}
