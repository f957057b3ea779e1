//! Finding the daemon, or starting it: the client re-runs its own binary as
//! `pmtui daemon` (no fork after the runtime started), detached, with its output appended to
//! `daemon.log`, and waits until the socket answers with a hello.

use crate::{Client, ClientError};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const START_TIMEOUT: Duration = Duration::from_secs(15);
/// Daemons started again after one exited without answering (it may have lost a race).
const MAX_RESPAWNS: u32 = 3;
/// `sun_path` holds 108 bytes on Linux, the final NUL included.
const SOCKET_PATH_MAX: usize = 107;

/// Connects to the daemon of `home`, starting `exe daemon` when none answers.
pub async fn connect_or_start(home: &Path, exe: &Path) -> Result<Client, ClientError> {
    let socket = home.join("pmtui.sock");
    let len = socket.as_os_str().len();
    if len > SOCKET_PATH_MAX {
        return Err(ClientError::SocketPathTooLong {
            socket: socket.display().to_string(),
            len,
            max: SOCKET_PATH_MAX,
        });
    }
    if let Ok(client) = Client::connect(&socket).await {
        return Ok(client);
    }
    std::fs::create_dir_all(home).map_err(|error| ClientError::StateDir {
        home: home.display().to_string(),
        error,
    })?;
    let log_path = home.join("daemon.log");
    let mut child = spawn_daemon(home, exe, &log_path)?;
    let deadline = Instant::now() + START_TIMEOUT;
    let mut respawns = 0;
    loop {
        match Client::connect(&socket).await {
            Ok(client) => return Ok(client),
            Err(ClientError::Daemon { kind, message }) => {
                return Err(ClientError::Daemon { kind, message });
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
                    last: last_line(&log_path),
                    log: log_path.display().to_string(),
                });
            }
            respawns += 1;
            child = spawn_daemon(home, exe, &log_path)?;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The last line the daemon wrote to its log: the reason it could not start.
fn last_line(log: &Path) -> String {
    std::fs::read_to_string(log)
        .ok()
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

fn spawn_daemon(
    home: &Path,
    exe: &Path,
    log_path: &Path,
) -> Result<std::process::Child, ClientError> {
    if std::fs::metadata(log_path).is_ok_and(|m| m.len() > DAEMON_LOG_MAX) {
        let _ = std::fs::rename(log_path, log_path.with_extension("log.1"));
    }
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log_path)
        .map_err(ClientError::Spawn)?;
    let err_log = log.try_clone().map_err(ClientError::Spawn)?;
    Command::new(exe)
        .arg("daemon")
        .env("PMTUI_HOME", home)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(err_log)
        .spawn()
        .map_err(ClientError::Spawn)
}

/// The pid of the daemon of `home`, if one holds its pid file.
pub fn daemon_pid(home: &Path) -> Option<u32> {
    let file = std::fs::File::open(home.join("daemon.pid")).ok()?;
    // A daemon holds the lock for its whole life: a lockable file is stale.
    if file.try_lock_shared().is_ok() {
        return None;
    }
    std::fs::read_to_string(home.join("daemon.pid"))
        .ok()?
        .trim()
        .parse()
        .ok()
}
