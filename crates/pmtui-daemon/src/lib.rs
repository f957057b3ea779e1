//! pmtui's daemon: it owns the state directory, serves the socket, keeps the supervisor's
//! table on disk, and turns signals into graceful shutdowns.

mod accept;
mod error;
mod limits;
mod lock;
mod memory;
mod metrics_http;
pub mod paths;
mod persist;
mod server;
mod session;
mod settings;
mod systemd;

pub use error::DaemonError;
pub use paths::Paths;

use pmtui_supervisor::{Supervisor, SupervisorConfig};
use std::sync::Arc;
use tokio::sync::watch;

/// How the daemon is asked to end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shutdown {
    /// Keep running.
    No,
    /// A signal: stop the processes, keep them on record for the next daemon.
    Graceful,
    /// `pmtui kill`: stop and forget every process (pm2's `kill`).
    Kill,
}

/// Everything a session needs.
pub(crate) struct Daemon {
    pub paths: Paths,
    /// The checked state directory and the process files' problems.
    pub store: persist::Store,
    pub supervisor: Supervisor,
    pub started: std::time::Instant,
    pub shutdown: watch::Sender<Shutdown>,
    /// Problems found in the settings file, reported by `ping`.
    pub warnings: Vec<String>,
    /// The connections open now (capped, see `limits`).
    pub connections: limits::Connections,
    /// Bytes of half-received requests, shared by every connection.
    pub budget: pmtui_proto::frames::Budget,
    /// Free heap memory given back after each burst of work.
    pub memory: memory::Upkeep,
}

/// The daemon in the foreground, as `pmtui daemon` and the `pmtui-daemon` executable run
/// it: logs to stderr (which is `daemon.log` when a client started it), `PMTUI_LOG` filters.
pub fn main() -> std::process::ExitCode {
    // First, before anything is opened (see `close_inherited_fds`).
    pmtui_supervisor::close_inherited_fds();
    let filter = tracing_subscriber::EnvFilter::try_from_env("PMTUI_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    match run(Paths::from_env()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(%err, "daemon failed");
            eprintln!("pmtui daemon: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Runs the daemon in the current thread until it is told to stop.
pub fn run(paths: Paths) -> Result<(), DaemonError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|source| DaemonError::Io {
            about: "cannot start the runtime".into(),
            source,
        })?;
    let result = runtime.block_on(serve(paths));
    // Blocking tasks still running are log writes stuck on a destination that never takes
    // them (a FIFO nobody reads) or a gzip in progress: give them a moment, never for ever.
    runtime.shutdown_timeout(std::time::Duration::from_secs(3));
    result
}

/// Environment overrides of the daemon's settings (they win over the config file):
/// `PMTUI_METRICS_ADDR`, `PMTUI_METRICS_INTERVAL_MS`, `PMTUI_METRICS_HISTORY_MS`.
fn apply_env(config: &mut SupervisorConfig) {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    if let Some(addr) = var("PMTUI_METRICS_ADDR") {
        config.metrics_addr = Some(addr);
    }
    let ms = |name: &str| {
        let value = var(name)?;
        match value.trim().parse::<u64>() {
            Ok(ms) => Some(ms),
            Err(_) => {
                tracing::error!("{name}={value:?} is not a number of milliseconds; ignored");
                None
            }
        }
    };
    if let Some(ms) = ms("PMTUI_METRICS_INTERVAL_MS") {
        config.metrics_interval_ms = ms;
    }
    if let Some(ms) = ms("PMTUI_METRICS_HISTORY_MS") {
        config.metrics_history_ms = ms;
    }
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit (as systemd does for itself): each
/// process costs the daemon a few fds, and the common soft limit of 1024 would cap it at a
/// couple of hundred. Returns the inherited limits, which children get back before exec.
fn raise_fd_limit() -> Option<(u64, u64)> {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).ok()?;
    if soft < hard {
        match setrlimit(Resource::RLIMIT_NOFILE, hard, hard) {
            Ok(()) => tracing::info!(from = soft, to = hard, "raised the open-file limit"),
            Err(err) => tracing::warn!(%err, soft, hard, "could not raise the open-file limit"),
        }
    }
    Some((soft, hard))
}

/// Makes every file the daemon creates private (logs 0600, folders 0700), whoever created
/// them before; returns the inherited umask, which children get back.
fn private_umask() -> u32 {
    use nix::sys::stat::{Mode, umask};
    let inherited = umask(Mode::from_bits_truncate(0o077));
    inherited.bits()
}

async fn serve(paths: Paths) -> Result<(), DaemonError> {
    let child_umask = private_umask();
    let store = persist::Store::open(&paths)?;
    let _lock = lock::DaemonLock::acquire(&paths, &store.home)?;
    // Leave the caller's session so closing its terminal does not reach us.
    let _ = nix::unistd::setsid();
    // The settings file first; PMTUI_METRICS_* variables override it.
    let (mut config, mut warnings) = settings::config(&paths.home);
    apply_env(&mut config);
    config.child_nofile = raise_fd_limit();
    config.child_umask = Some(child_umask);
    let metrics_addr = config.metrics_addr.clone();
    let supervisor = Supervisor::new(config);
    if let Some(problem) = &supervisor.containment().problem {
        tracing::warn!("{problem}");
        warnings.push(problem.clone());
    }
    let records = persist::load_all(&store);
    let ended = supervisor.end_leftovers(&records).await;
    if ended > 0 {
        tracing::info!(ended, "ended processes of an earlier daemon");
    }
    let restored = supervisor.restore(records, true).await;
    tracing::info!(count = restored.len(), "restored processes");
    // Rewrites every record under its current file name (`Store::file_name`), removing
    // files of an older naming scheme, so that no record is ever read twice.
    store.write_all(&supervisor);
    let (shutdown, shutdown_rx) = watch::channel(Shutdown::No);
    let daemon = Arc::new(Daemon {
        paths,
        store,
        supervisor,
        started: std::time::Instant::now(),
        shutdown,
        warnings,
        connections: limits::Connections::default(),
        budget: pmtui_proto::frames::Budget::new(limits::REQUEST_BUDGET),
        memory: memory::Upkeep::default(),
    });
    // The restore above is the first burst of work.
    daemon.memory.worked();
    tokio::spawn({
        let daemon = Arc::clone(&daemon);
        async move { daemon.memory.run().await }
    });
    let (stop_persister, persister_stop) = tokio::sync::oneshot::channel();
    let persister = tokio::spawn(persist::run(Arc::clone(&daemon), persister_stop));
    if let Some(addr) = metrics_addr {
        match metrics_http::bind(&addr).await {
            Ok(listener) => {
                if let Ok(bound) = listener.local_addr() {
                    tracing::info!("metrics endpoint on http://{bound}/metrics");
                }
                tokio::spawn(metrics_http::serve(listener, daemon.supervisor.clone()));
            }
            Err(err) => tracing::error!("{err}; running without the metrics endpoint"),
        }
    }
    let listener = server::bind(&daemon.paths)?;
    tracing::info!(pid = std::process::id(), home = %daemon.paths.home.display(), "daemon ready");
    systemd::ready();
    let mode = server::accept_until_shutdown(Arc::clone(&daemon), listener, shutdown_rx).await;
    tracing::info!(?mode, "shutting down");
    systemd::stopping();
    let _ = std::fs::remove_file(&daemon.paths.socket);
    match mode {
        Shutdown::Kill => {
            let _ = daemon.supervisor.delete(&["all".to_string()]).await;
            daemon.supervisor.drain_logs().await;
        }
        _ => daemon.supervisor.shutdown().await,
    }
    daemon.supervisor.end_hooks();
    daemon.supervisor.release_containment();
    // Wait for a write in flight, so the final state below is the last one on disk.
    let _ = stop_persister.send(());
    let _ = persister.await;
    daemon.store.write_all(&daemon.supervisor);
    Ok(())
}
