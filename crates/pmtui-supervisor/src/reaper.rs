//! Every child of the daemon is reaped here. The jobs' own children (spawned through
//! `ManagedPids::spawn_watched`) get their exit status delivered to their job; the rest are
//! descendants adopted as a child subreaper (whose parent died: they are re-parented to the
//! daemon instead of init, so they can still be found and stopped). Nothing else in the
//! daemon waits for children: `tokio::process` (and its pidfd per child) is not used.
//!
//! The same `SIGCHLD` says when a child is stopped by a signal (SIGSTOP, SIGTSTP…) or
//! continued: those reports (`WSTOPPED`/`WCONTINUED`, which tokio never asks for) are read
//! here and handed to a callback, so a suspended process is known at once, not polled.

use nix::sys::wait::{Id, WaitPidFlag, WaitStatus, waitid, waitpid};
use nix::unistd::Pid;
use std::collections::HashMap;
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::oneshot;

/// The pids of the children that jobs own, each with where its exit goes (taken once
/// reported; the pid stays until its job lets it go).
#[derive(Debug, Clone, Default)]
pub struct ManagedPids(Arc<Mutex<HashMap<u32, Option<oneshot::Sender<ExitStatus>>>>>);

impl ManagedPids {
    pub fn insert(&self, pid: u32) {
        self.lock().entry(pid).or_insert(None);
    }

    pub fn remove(&self, pid: u32) {
        self.lock().remove(&pid);
    }

    pub fn contains(&self, pid: u32) -> bool {
        self.lock().contains_key(&pid)
    }

    /// Runs `spawn` (which returns the new child's pid) with the reaper held off, and
    /// watches the child's exit: no reap can come between the fork and the watch.
    pub fn spawn_watched<T>(
        &self,
        spawn: impl FnOnce() -> std::io::Result<(u32, T)>,
    ) -> std::io::Result<(T, oneshot::Receiver<ExitStatus>)> {
        let mut pids = self.lock();
        let (pid, child) = spawn()?;
        let (tx, rx) = oneshot::channel();
        pids.insert(pid, Some(tx));
        Ok((child, rx))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u32, Option<oneshot::Sender<ExitStatus>>>> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Makes this process the reaper of its orphaned descendants (Linux); false elsewhere.
pub fn become_subreaper() -> bool {
    #[cfg(target_os = "linux")]
    {
        nix::sys::prctl::set_child_subreaper(true).is_ok()
    }
    #[cfg(not(target_os = "linux"))]
    {
        false
    }
}

/// A child was stopped by a signal (`true`) or continued (`false`).
pub type OnStop = Box<dyn Fn(u32, bool) + Send + Sync>;

/// Reaps every child that exits (reporting the exits of the jobs' own), and reports stops
/// and continues, until the runtime ends.
pub async fn run(managed: ManagedPids, on_stop: OnStop) {
    let mut sigchld = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::child()) {
        Ok(sigchld) => Some(sigchld),
        Err(err) => {
            tracing::warn!(%err, "cannot watch SIGCHLD; looking for exits every 100 ms");
            None
        }
    };
    loop {
        // Also what exited before the handler was in place.
        report_stops(&on_stop);
        reap(&managed);
        match sigchld.as_mut() {
            Some(sigchld) => {
                if sigchld.recv().await.is_none() {
                    return;
                }
            }
            None => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// Reads every pending stop and continue report (each is given once by the kernel).
fn report_stops(on_stop: &OnStop) {
    let flags = WaitPidFlag::WSTOPPED | WaitPidFlag::WCONTINUED | WaitPidFlag::WNOHANG;
    loop {
        match waitid(Id::All, flags) {
            Ok(WaitStatus::Stopped(pid, _)) => on_stop(pid.as_raw() as u32, true),
            Ok(WaitStatus::Continued(pid)) => on_stop(pid.as_raw() as u32, false),
            _ => return,
        }
    }
}

/// Reaps every exited child; a job's own gets its exit status.
fn reap(managed: &ManagedPids) {
    let mut pids = managed.lock();
    loop {
        let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT;
        let pid = match waitid(Id::All, flags) {
            Ok(WaitStatus::Exited(pid, _)) | Ok(WaitStatus::Signaled(pid, _, _)) => pid,
            _ => return,
        };
        let status = match waitpid(Pid::from_raw(pid.as_raw()), Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(_, code)) => ExitStatus::from_raw((code & 0xff) << 8),
            Ok(WaitStatus::Signaled(_, signal, core)) => {
                ExitStatus::from_raw(signal as i32 | if core { 0x80 } else { 0 })
            }
            // Reaped elsewhere meanwhile: nothing more to see now.
            _ => return,
        };
        if let Some(tx) = pids.get_mut(&(pid.as_raw() as u32)).and_then(Option::take) {
            let _ = tx.send(status);
        }
    }
}
