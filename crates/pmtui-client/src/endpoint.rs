//! Where a daemon is: this host's (its socket in a state directory) or a remote one over
//! ssh. The CLI and the UI hold an `Endpoint` and ask it for connections, so every verb
//! and view works the same on either transport.

use crate::{Client, ClientError, SshEndpoint, SshTarget};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone)]
pub enum Endpoint {
    /// The daemon of the state directory `home`, started as `exe daemon` when absent.
    Local {
        home: PathBuf,
        exe: PathBuf,
    },
    Ssh(SshEndpoint),
}

impl Endpoint {
    /// `local` (this host), or `ssh://[user@]host[:port]`.
    pub fn parse(
        host: &str,
        remote_bin: Option<String>,
        home: PathBuf,
        exe: PathBuf,
    ) -> Result<Self, ClientError> {
        if host == "local" || host == "localhost:local" {
            return Ok(Self::Local { home, exe });
        }
        Ok(Self::Ssh(SshEndpoint::new(
            SshTarget::parse(host)?,
            remote_bin,
        )))
    }

    /// How the host is shown (HOST column, errors): `local`, or `ssh://…`.
    pub fn label(&self) -> String {
        match self {
            Self::Local { .. } => "local".into(),
            Self::Ssh(ssh) => ssh.target.to_string(),
        }
    }

    pub fn is_remote(&self) -> bool {
        matches!(self, Self::Ssh(_))
    }

    /// A connection, starting the daemon when none runs (the remote `dial-stdio` starts
    /// its own). `batch`: ssh must not prompt (no terminal to ask on).
    pub async fn connect(
        &self,
        timeout: Option<Duration>,
        batch: bool,
    ) -> Result<Client, ClientError> {
        match self {
            Self::Local { home, exe } => crate::connect_or_start(home, exe, timeout).await,
            Self::Ssh(ssh) => ssh.connect(timeout, batch).await,
        }
    }

    /// A connection for a UI that lost its daemon: a local daemon is not started again
    /// (the user stopped it; the UI shows that), and ssh never prompts.
    pub async fn reconnect(&self, timeout: Option<Duration>) -> Result<Client, ClientError> {
        match self {
            Self::Local { home, .. } => {
                Client::connect_with(&home.join("pmtui.sock"), timeout).await
            }
            Self::Ssh(ssh) => ssh.connect(timeout, true).await,
        }
    }
}
