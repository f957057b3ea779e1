//! Finding the daemon, or starting it: the client runs `pmtui-daemon` beside its own binary
//! when it is installed, else re-runs its own binary as `pmtui daemon` (no fork after the
//! runtime started), detached, with its output appended to
//! `daemon.log`, and waits until the socket answers with a hello.
//!
//! The state directory is checked first (owned by us, not writable by others; created 0700
//! when missing), and its files are opened without following links: see `pmtui-statedir`.

use crate::{Client, ClientError};
use pmtui_statedir::Dir;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const START_TIMEOUT: Duration = Duration::from_secs(15);
/// Daemons started again after one exited without answering (it may have lost a race).
const MAX_RESPAWNS: u32 = 3;
/// `sun_path` holds 108 bytes on Linux, the final NUL included.
const SOCKET_PATH_MAX: usize = 107;

/// Connects to the daemon of `home`, starting `exe daemon` when none answers; `timeout`
/// bounds every exchange with it (see `Client`), `None` waits for ever.
pub async fn connect_or_start(
    home: &Path,
    exe: &Path,
    timeout: Option<Duration>,
) -> Result<Client, ClientError> {
    let socket = home.join("pmtui.sock");
    let len = socket.as_os_str().len();
    if len > SOCKET_PATH_MAX {
        return Err(ClientError::SocketPathTooLong {
            socket: socket.display().to_string(),
            len,
            max: SOCKET_PATH_MAX,
        });
    }
    let dir = Dir::home(home, true)?;
    match Client::connect_with(&socket, timeout).await {
        Ok(client) => return Ok(client),
        Err(err @ (ClientError::ForeignSocket { .. } | ClientError::Timeout { .. })) => {
            return Err(err);
        }
        Err(_) => {}
    }
    let log_path = dir.join(DAEMON_LOG);
    let mut child = spawn_daemon(&dir, exe)?;
    let deadline = Instant::now() + START_TIMEOUT;
    let mut respawns = 0;
    loop {
        match Client::connect_with(&socket, timeout).await {
            Ok(client) => return Ok(client),
            Err(
                err @ (ClientError::Daemon { .. }
                | ClientError::ForeignSocket { .. }
                | ClientError::Timeout { .. }),
            ) => {
                return Err(err);
            }
            Err(_) if Instant::now() < deadline => {}
            Err(_) => {
                return Err(ClientError::StartTimeout {
                    seconds: START_TIMEOUT.as_secs(),
                    log: log_path.display().to_string(),
                });
            }
        }
        // The daemon we started may have lost a race with another one that is now exiting.
        if let Ok(Some(_)) = child.try_wait()
            && daemon_pid(home).is_none()
        {
            if respawns == MAX_RESPAWNS {
                // It cannot start at all: say why now rather than at the deadline.
                return Err(ClientError::DaemonExited {
                    last: last_line(&dir),
                    log: log_path.display().to_string(),
                });
            }
            respawns += 1;
            child = spawn_daemon(&dir, exe)?;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A raw connection to the daemon of `home` (started when absent), for `pmtui dial-stdio`:
/// the hello is left to whoever speaks through it. The daemon is known to answer and the
/// socket to be served by this user before the stream is handed out.
pub async fn dial(
    home: &Path,
    exe: &Path,
    timeout: Option<Duration>,
) -> Result<std::os::unix::net::UnixStream, ClientError> {
    drop(connect_or_start(home, exe, timeout).await?);
    let socket = home.join("pmtui.sock");
    let unreachable = |error| ClientError::Unreachable {
        socket: socket.display().to_string(),
        error,
    };
    let stream = tokio::net::UnixStream::connect(&socket)
        .await
        .map_err(unreachable)?;
    crate::client::check_peer(&stream, &socket)?;
    let stream = stream.into_std().map_err(unreachable)?;
    stream.set_nonblocking(false).map_err(unreachable)?;
    Ok(stream)
}

/// The last line the daemon wrote to its log: the reason it could not start.
fn last_line(dir: &Dir) -> String {
    dir.read(DAEMON_LOG)
        .ok()
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .and_then(|text| {
            text.lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .map(|l| l.trim().to_string())
        })
        .unwrap_or_else(|| "no output".into())
}

/// The daemon's own log is kept small: past this size it is moved to `daemon.log.1` when a
/// new daemon starts (pm2's `pm2.log` grows forever).
const DAEMON_LOG_MAX: u64 = 10 * 1024 * 1024;
const DAEMON_LOG: &str = "daemon.log";

fn spawn_daemon(dir: &Dir, exe: &Path) -> Result<std::process::Child, ClientError> {
    if dir
        .metadata(DAEMON_LOG)
        .is_ok_and(|m| m.st_size > DAEMON_LOG_MAX as i64)
    {
        let _ = dir.rename(DAEMON_LOG, "daemon.log.1");
    }
    // Never through a link: a planted `daemon.log` link would have the daemon append to
    // any file its user can write.
    let log = dir.open_append(DAEMON_LOG).map_err(|error| {
        if Dir::is_symlink_error(&error) {
            ClientError::StateDir {
                home: dir.path().display().to_string(),
                error,
            }
        } else {
            ClientError::Spawn(error)
        }
    })?;
    let err_log = log.try_clone().map_err(ClientError::Spawn)?;
    Command::new(daemon_exe(exe))
        .arg("daemon")
        .env("PMTUI_HOME", dir.path())
        // A client run by a systemd service (`ExecStartPost=pmtui resurrect`) must not hand
        // the service's notify socket to a daemon it starts: only the unit's own daemon
        // tells systemd it is ready.
        .env_remove("NOTIFY_SOCKET")
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(err_log)
        .spawn()
        .map_err(ClientError::Spawn)
}

/// What runs the daemon: `pmtui-daemon` beside `exe` when it is there (the daemon alone, a
/// smaller resident footprint: it maps none of the CLI's and UI's code), else `exe` itself;
/// either takes the `daemon` argument.
fn daemon_exe(exe: &Path) -> std::path::PathBuf {
    let lean = exe.with_file_name(DAEMON_EXE);
    if lean.is_file() {
        lean
    } else {
        exe.to_path_buf()
    }
}

/// The daemon-only executable's name (a second binary of the `pmtui` package).
pub const DAEMON_EXE: &str = "pmtui-daemon";

/// Checks the state directory `home` without creating it: `Ok` when it is missing or
/// trusted (ours, not writable by others), the reason otherwise.
pub fn check_home(home: &Path) -> Result<(), ClientError> {
    match Dir::home(home, false) {
        Ok(_) => Ok(()),
        Err(pmtui_statedir::StateError::Io { source, .. })
            if source.kind() == std::io::ErrorKind::NotFound =>
        {
            Ok(())
        }
        Err(err) => Err(err.into()),
    }
}

/// The pid of the daemon of `home`, if one holds its pid file.
pub fn daemon_pid(home: &Path) -> Option<u32> {
    use std::io::Read;
    let mut file = Dir::home(home, false).ok()?.open_read("daemon.pid").ok()?;
    // A daemon holds the lock for its whole life: a lockable file is stale.
    if file.try_lock_shared().is_ok() {
        return None;
    }
    let mut text = String::new();
    file.read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}
