//! The socket: bound in the state directory with mode 0600, a stale file from a dead daemon
//! replaced, each connection checked for the owner's uid and served by its own session task.
//! Signals end the loop: SIGTERM/SIGINT/SIGQUIT gracefully, SIGUSR2 reopens the log files,
//! SIGHUP is ignored. Running out of file descriptors is `accept.rs`'s business.

use crate::accept::Acceptor;
use crate::{Daemon, DaemonError, Paths, Shutdown, session};
use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;
use tokio::net::UnixListener;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;

pub fn bind(paths: &Paths) -> Result<UnixListener, DaemonError> {
    // We hold the daemon lock, so any socket file here belongs to a dead daemon.
    let _ = std::fs::remove_file(&paths.socket);
    let listener = UnixListener::bind(&paths.socket).map_err(|source| DaemonError::Io {
        about: format!("cannot listen on {}", paths.socket.display()),
        source,
    })?;
    std::fs::set_permissions(&paths.socket, std::fs::Permissions::from_mode(0o600)).map_err(
        |source| DaemonError::Io {
            about: format!("cannot protect {}", paths.socket.display()),
            source,
        },
    )?;
    Ok(listener)
}

pub async fn accept_until_shutdown(
    daemon: Arc<Daemon>,
    listener: UnixListener,
    mut shutdown: watch::Receiver<Shutdown>,
) -> Shutdown {
    let (Ok(mut term), Ok(mut int), Ok(mut quit), Ok(mut usr2), Ok(mut hup)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
        signal(SignalKind::quit()),
        signal(SignalKind::user_defined2()),
        signal(SignalKind::hangup()),
    ) else {
        tracing::error!("cannot install signal handlers");
        return Shutdown::Graceful;
    };
    let me = nix::unistd::geteuid().as_raw();
    let mut acceptor = Acceptor::new();
    let max_connections = crate::limits::max_connections();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    acceptor.accepted();
                    let allowed = stream.peer_cred().map(|c| c.uid() == me || c.uid() == 0).unwrap_or(false);
                    if !allowed {
                        tracing::warn!("refused a connection from another user");
                    } else if let Some(slot) = daemon.connections.take(max_connections) {
                        tokio::spawn(session::serve(Arc::clone(&daemon), stream, slot));
                    } else {
                        tokio::spawn(session::refuse_busy(stream, max_connections));
                    }
                }
                Err(err) => acceptor.failed(&listener, err).await,
            },
            _ = shutdown.changed() => {
                let mode = *shutdown.borrow();
                if mode != Shutdown::No {
                    return mode;
                }
            }
            _ = term.recv() => return Shutdown::Graceful,
            _ = int.recv() => return Shutdown::Graceful,
            _ = quit.recv() => return Shutdown::Graceful,
            _ = usr2.recv() => {
                // In its own task: the accept loop never waits on log files.
                let supervisor = daemon.supervisor.clone();
                tokio::spawn(async move {
                    let n = supervisor.reload_logs().await;
                    tracing::info!(processes = n, "log files reopened (SIGUSR2)");
                });
            }
            _ = hup.recv() => {}
        }
    }
}
