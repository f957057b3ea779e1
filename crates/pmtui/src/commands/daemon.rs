//! `pmtui daemon`: the daemon in the foreground, logging to stderr (which is `daemon.log`
//! when a client started it).

use std::process::ExitCode;
use tracing_subscriber::EnvFilter;

pub fn run() -> ExitCode {
    let filter = EnvFilter::try_from_env("PMTUI_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    match pmtui_daemon::run(pmtui_daemon::Paths::from_env()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(%err, "daemon failed");
            eprintln!("pmtui daemon: {err}");
            ExitCode::FAILURE
        }
    }
}
