//! A running child as a job holds it: its pid, the read ends of its output pipes, and its
//! exit as the reaper reports it. Unlike `tokio::process::Child`, no pidfd: the daemon is
//! already woken by `SIGCHLD` for its subreaper work, and one `waitpid` there serves every
//! child, so a process costs the daemon its two pipes (and its log files) only.

use super::child_setup::{Born, CloneError};
use crate::reaper::ManagedPids;
use std::process::ExitStatus;
use tokio::net::unix::pipe;
use tokio::sync::oneshot;

pub struct Child {
    pid: u32,
    /// Its start time as `/proc/<pid>/stat` gives it, when the spawn's timing tells it.
    start_time: Option<u64>,
    /// Its stdin, when it was piped (hooks get their event there).
    pub stdin: Option<pipe::Sender>,
    pub stdout: Option<pipe::Receiver>,
    pub stderr: Option<pipe::Receiver>,
    exit: oneshot::Receiver<ExitStatus>,
    status: Option<ExitStatus>,
}

impl std::fmt::Debug for Child {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Child").field("pid", &self.pid).finish()
    }
}

impl Child {
    /// Spawns `command` with the reaper held off until its exit is watched, and takes its
    /// pipes into the runtime.
    pub(super) fn spawn(
        command: &mut std::process::Command,
        managed: &ManagedPids,
    ) -> std::io::Result<Self> {
        let before = crate::tree::boot_clock();
        let (mut child, exit) = managed.spawn_watched(|| {
            let child = command.spawn()?;
            Ok((child.id(), child))
        })?;
        let start_time = crate::tree::start_time_since(before);
        let pid = child.id();
        let pipes = (|| {
            let out = child.stdout.take().map(receiver).transpose()?;
            let err = child.stderr.take().map(receiver).transpose()?;
            let input = child
                .stdin
                .take()
                .map(|i| pipe::Sender::from_owned_fd(i.into()))
                .transpose()?;
            Ok::<_, std::io::Error>((input, out, err))
        })();
        match pipes {
            Ok((stdin, stdout, stderr)) => Ok(Self {
                pid,
                start_time,
                stdin,
                stdout,
                stderr,
                exit,
                status: None,
            }),
            Err(err) => {
                kill(pid);
                Err(err)
            }
        }
    }

    /// Takes a child started by `clone` (see `ChildSetup::clone_into`) with the reaper held
    /// off until its exit is watched; stdin is /dev/null, stdout and stderr piped.
    pub(super) fn spawn_born(
        managed: &ManagedPids,
        clone: impl FnOnce() -> Result<Born, CloneError>,
    ) -> Result<Self, CloneError> {
        let mut refused = false;
        let watched = managed.spawn_watched(|| match clone() {
            Ok(born) => Ok((born.pid, born)),
            Err(CloneError::Unsupported(err)) => {
                refused = true;
                Err(err)
            }
            Err(CloneError::Failed(err)) => Err(err),
        });
        let (born, exit) = match watched {
            Ok(watched) => watched,
            Err(err) if refused => return Err(CloneError::Unsupported(err)),
            Err(err) => return Err(CloneError::Failed(err)),
        };
        let pid = born.pid;
        let pipes = receiver(born.stdout).and_then(|out| Ok((out, receiver(born.stderr)?)));
        match pipes {
            Ok((stdout, stderr)) => Ok(Self {
                pid,
                start_time: born.start_time,
                stdin: None,
                stdout: Some(stdout),
                stderr: Some(stderr),
                exit,
                status: None,
            }),
            Err(err) => {
                kill(pid);
                Err(CloneError::Failed(err))
            }
        }
    }

    pub fn id(&self) -> Option<u32> {
        Some(self.pid)
    }

    /// Its start time as `/proc/<pid>/stat` gives it (with the pid, its identity): known
    /// from the spawn's timing, or read.
    pub fn start_time(&self) -> Option<u64> {
        self.start_time
            .or_else(|| crate::tree::start_time(self.pid))
    }

    /// Waits for the exit (cancel-safe; again after it returns the same status).
    pub async fn wait(&mut self) -> std::io::Result<ExitStatus> {
        if let Some(status) = self.status {
            return Ok(status);
        }
        let status = (&mut self.exit)
            .await
            .map_err(|_| std::io::Error::other("the reaper stopped watching this child"))?;
        self.status = Some(status);
        Ok(status)
    }
}

/// A child not supervised without its output must not run on.
fn kill(pid: u32) {
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGKILL,
    );
}

fn receiver(end: impl Into<std::os::fd::OwnedFd>) -> std::io::Result<pipe::Receiver> {
    pipe::Receiver::from_owned_fd(end.into())
}
