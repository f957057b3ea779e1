//! The SSH transport (docker's `-H ssh://` model): the client runs the system `ssh`, so the
//! user's config, agent, keys and known_hosts apply, with `<remote-bin> dial-stdio` as the
//! remote command; that connects its stdin/stdout to the far daemon's socket, and the
//! normal protocol runs over ssh's pipes. No port, server or credential of pmtui's own.
//!
//! When the hello does not come, ssh's exit status and stderr say why: 255 is ssh itself
//! (refused, host key, auth), 127 a remote shell that did not find pmtui.
//!
//! ssh that may not prompt (`batch`) runs in a process group of its own, and the group is
//! killed when the connection ends, so what ssh started (a ProxyCommand, the children of a
//! wrapper given as `PMTUI_SSH_COMMAND`) ends with it. ssh that may prompt stays in the
//! terminal's foreground group: only that group may read the terminal.

use crate::{Client, ClientError};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::process::{Child, ChildStderr, Command};

/// `[user@]host[:port]`, from `ssh://[user@]host[:port]` (or the same without the scheme).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshTarget {
    pub user: Option<String>,
    pub host: String,
    pub port: Option<u16>,
}

impl SshTarget {
    /// Parses `ssh://[user@]host[:port]`; `[::1]:2222` for an IPv6 address with a port.
    pub fn parse(url: &str) -> Result<Self, ClientError> {
        let bad = |reason: &str| ClientError::BadHost {
            host: url.to_string(),
            reason: reason.to_string(),
        };
        let rest = match url.split_once("://") {
            Some(("ssh", rest)) => rest,
            Some((scheme, _)) => {
                return Err(bad(&format!(
                    "the scheme {scheme}:// is not supported; write ssh://[user@]host[:port]"
                )));
            }
            None => url,
        };
        let rest = rest.trim_end_matches('/');
        if rest.contains('/') {
            return Err(bad(
                "a path has no meaning here; write ssh://[user@]host[:port]",
            ));
        }
        let (user, hostport) = match rest.rsplit_once('@') {
            Some((user, hostport)) => (Some(user.to_string()), hostport),
            None => (None, rest),
        };
        let (host, port) = if let Some(inner) = hostport.strip_prefix('[') {
            let (host, after) = inner
                .split_once(']')
                .ok_or_else(|| bad("an IPv6 address in [ ] lacks its ]"))?;
            match after.strip_prefix(':') {
                Some(port) => (host, Some(port)),
                None if after.is_empty() => (host, None),
                None => return Err(bad("unexpected text after the ]")),
            }
        } else {
            match hostport.split_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (hostport, None),
            }
        };
        let port = port
            .map(|p| {
                p.parse::<u16>()
                    .ok()
                    .filter(|p| *p > 0)
                    .ok_or_else(|| bad(&format!("{p:?} is not a port")))
            })
            .transpose()?;
        // Refused because ssh would read them as options.
        if host.is_empty() || host.starts_with('-') || host.chars().any(char::is_whitespace) {
            return Err(bad("no host name"));
        }
        if user
            .as_deref()
            .is_some_and(|u| u.is_empty() || u.starts_with('-'))
        {
            return Err(bad("an empty or odd user name"));
        }
        Ok(Self {
            user,
            host: host.to_string(),
            port,
        })
    }
}

impl std::fmt::Display for SshTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ssh://")?;
        if let Some(user) = &self.user {
            write!(f, "{user}@")?;
        }
        if self.host.contains(':') {
            write!(f, "[{}]", self.host)?;
        } else {
            write!(f, "{}", self.host)?;
        }
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        Ok(())
    }
}

/// How to reach one remote daemon.
#[derive(Debug, Clone)]
pub struct SshEndpoint {
    pub target: SshTarget,
    /// The remote command that runs pmtui: a path, or any command line the remote shell
    /// runs (`env PMTUI_HOME=/srv/pm /opt/pmtui`); `dial-stdio` is appended.
    pub remote_bin: String,
    /// The ssh program and its own options (`PMTUI_SSH_COMMAND`, split at whitespace;
    /// default `ssh`).
    pub ssh: Vec<String>,
}

/// The last bytes of ssh's stderr kept to explain a failure.
const STDERR_KEPT: usize = 8 * 1024;

impl SshEndpoint {
    pub fn new(target: SshTarget, remote_bin: Option<String>) -> Self {
        let ssh = std::env::var("PMTUI_SSH_COMMAND")
            .ok()
            .map(|c| c.split_whitespace().map(String::from).collect::<Vec<_>>())
            .filter(|words| !words.is_empty())
            .unwrap_or_else(|| vec!["ssh".to_string()]);
        Self {
            target,
            remote_bin: remote_bin
                .filter(|b| !b.trim().is_empty())
                .unwrap_or_else(|| "pmtui".to_string()),
            ssh,
        }
    }

    /// The argv of ssh running `dial-stdio`; `batch` forbids prompts (no terminal to ask
    /// on).
    pub fn argv(&self, batch: bool) -> Vec<String> {
        self.command_argv(batch, "dial-stdio")
    }

    /// The argv of ssh running `<remote-bin> <args>` (`args` already quoted for the remote
    /// shell).
    pub fn command_argv(&self, batch: bool, args: &str) -> Vec<String> {
        let mut argv = self.ssh.clone();
        // No tty: the channel carries binary frames.
        argv.push("-T".into());
        if batch {
            argv.extend(["-o".into(), "BatchMode=yes".into()]);
        }
        // A host that vanishes (power cut, partition) is noticed within a minute rather
        // than at the next TCP timeout.
        argv.extend([
            "-o".into(),
            "ServerAliveInterval=15".into(),
            "-o".into(),
            "ServerAliveCountMax=3".into(),
        ]);
        if let Some(port) = self.target.port {
            argv.extend(["-p".into(), port.to_string()]);
        }
        if let Some(user) = &self.target.user {
            argv.extend(["-l".into(), user.clone()]);
        }
        argv.push("--".into());
        argv.push(self.target.host.clone());
        argv.push(format!("{} {args}", self.remote_bin));
        argv
    }

    /// Runs ssh and exchanges hellos with the far daemon over its pipes; the ssh child lives
    /// as long as the client and is killed and reaped with it.
    pub async fn connect(
        &self,
        timeout: Option<Duration>,
        batch: bool,
    ) -> Result<Client, ClientError> {
        let argv = self.argv(batch);
        let host = self.target.to_string();
        let mut command = Command::new(&argv[0]);
        command
            .args(&argv[1..])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Dropped with the runtime (the process exiting): still killed.
            .kill_on_drop(true);
        if batch {
            command.process_group(0);
        }
        let child = command.spawn().map_err(|error| ClientError::SshSpawn {
            command: argv[0].clone(),
            host: host.clone(),
            error,
        })?;
        let mut child = SshChild::new(child, batch);
        let (Some(stdin), Some(stdout), Some(stderr)) = (
            child.child.stdin.take(),
            child.child.stdout.take(),
            child.child.stderr.take(),
        ) else {
            child.end().await;
            return Err(ClientError::Protocol("ssh's pipes are missing".into()));
        };
        let kept = Arc::new(Mutex::new(Vec::new()));
        let reader = tokio::spawn(keep_stderr(stderr, Arc::clone(&kept)));
        let stream = tokio::io::join(stdout, stdin);
        match Client::handshake(stream, timeout, None).await {
            Ok((framed, hello)) => Ok(Client::with_io(framed, hello, timeout, Some(child))),
            Err(ClientError::Disconnected | ClientError::Protocol(_)) => {
                Err(self.diagnose(child, reader, &kept).await)
            }
            Err(ClientError::Timeout { seconds, .. }) => {
                child.end().await;
                Err(ClientError::SshFailed {
                    host,
                    status: format!("no hello within {seconds} s"),
                    stderr: last_text(&kept),
                })
            }
            Err(err) => {
                child.end().await;
                Err(ClientError::OnHost {
                    host,
                    inner: Box::new(err),
                })
            }
        }
    }

    /// Why the far side closed before its hello: ssh's exit status and what it printed.
    async fn diagnose(
        &self,
        mut child: SshChild,
        reader: tokio::task::JoinHandle<()>,
        kept: &Arc<Mutex<Vec<u8>>>,
    ) -> ClientError {
        let host = self.target.to_string();
        let waited = tokio::time::timeout(Duration::from_secs(10), child.child.wait()).await;
        let status = match waited {
            Ok(Ok(status)) => status.code(),
            _ => None,
        };
        // Whatever ssh left behind in its group goes too.
        child.end().await;
        let _ = tokio::time::timeout(Duration::from_secs(5), reader).await;
        let stderr = last_text(kept);
        let said = |s: Option<i32>| s.map_or_else(|| "killed".to_string(), |c| format!("exit {c}"));
        let missing = stderr.contains("command not found")
            || stderr.contains("No such file or directory")
            || stderr.contains(": not found");
        match status {
            Some(255) => ClientError::SshFailed {
                host,
                status: said(status),
                stderr,
            },
            Some(127) => ClientError::RemoteBinMissing {
                host,
                bin: self.remote_bin.clone(),
                stderr,
            },
            Some(126) | Some(2) if missing => ClientError::RemoteBinMissing {
                host,
                bin: self.remote_bin.clone(),
                stderr,
            },
            _ => ClientError::RemoteFailed {
                host,
                bin: self.remote_bin.clone(),
                status: said(status),
                stderr,
            },
        }
    }
}

/// ssh as a child of the client: killed with its process group (when it has one) and
/// reaped by `end`; dropped without `end` (the runtime shutting down), the group is killed
/// and tokio kills and reaps ssh itself.
pub(crate) struct SshChild {
    child: Child,
    group: Option<nix::unistd::Pid>,
}

impl SshChild {
    fn new(child: Child, own_group: bool) -> Self {
        let group = child
            .id()
            .filter(|_| own_group)
            .and_then(|pid| i32::try_from(pid).ok())
            .map(nix::unistd::Pid::from_raw);
        Self { child, group }
    }

    /// Kills ssh and everything in its group, and reaps ssh.
    pub(crate) async fn end(mut self) {
        self.kill_group();
        let _ = self.child.kill().await;
    }

    fn kill_group(&mut self) {
        // Once only: after ssh is reaped its number may be reused.
        if let Some(group) = self.group.take()
            && let Err(err) = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL)
            && err != nix::errno::Errno::ESRCH
        {
            tracing::debug!(%err, "cannot end ssh's process group");
        }
    }
}

impl Drop for SshChild {
    fn drop(&mut self) {
        self.kill_group();
    }
}

/// Copies ssh's stderr into `kept`, keeping the last `STDERR_KEPT` bytes.
async fn keep_stderr(mut stderr: ChildStderr, kept: Arc<Mutex<Vec<u8>>>) {
    let mut buf = [0u8; 4096];
    while let Ok(n) = stderr.read(&mut buf).await {
        if n == 0 {
            return;
        }
        if let Ok(mut kept) = kept.lock() {
            kept.extend_from_slice(&buf[..n]);
            if kept.len() > STDERR_KEPT {
                let cut = kept.len() - STDERR_KEPT;
                kept.drain(..cut);
            }
        }
    }
}

fn last_text(kept: &Arc<Mutex<Vec<u8>>>) -> String {
    let text = kept
        .lock()
        .map(|k| String::from_utf8_lossy(&k).trim().to_string())
        .unwrap_or_default();
    if text.is_empty() {
        "it printed nothing".into()
    } else {
        text
    }
}
