//! The daemon as a child subreaper: descendants whose parent dies are re-parented to the
//! daemon instead of init, so they can still be found and stopped, and this module reaps them
//! once they exit. It never calls `waitpid(-1)`, which would steal tokio's own children: it
//! peeks with `WNOWAIT` and reaps only pids that no job owns.
//!
//! The same `SIGCHLD` says when a child is stopped by a signal (SIGSTOP, SIGTSTP…) or
//! continued: those reports (`WSTOPPED`/`WCONTINUED`, which tokio never asks for) are read
//! here and handed to a callback, so a suspended process is known at once, not polled.

use nix::sys::wait::{Id, WaitPidFlag, WaitStatus, waitid, waitpid};
use nix::unistd::Pid;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The pids of the children that jobs own (and tokio waits for).
#[derive(Debug, Clone, Default)]
pub struct ManagedPids(Arc<Mutex<HashSet<u32>>>);

impl ManagedPids {
    pub fn insert(&self, pid: u32) {
        self.lock().insert(pid);
    }

    pub fn remove(&self, pid: u32) {
        self.lock().remove(&pid);
    }

    pub fn contains(&self, pid: u32) -> bool {
        self.lock().contains(&pid)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<u32>> {
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

/// Reaps adopted orphans whenever a child exits, and reports stops and continues, until the
/// runtime ends.
pub async fn run(managed: ManagedPids, on_stop: OnStop) {
    let Ok(mut sigchld) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::child())
    else {
        tracing::warn!("cannot watch SIGCHLD; orphaned descendants will not be reaped");
        return;
    };
    while sigchld.recv().await.is_some() {
        report_stops(&on_stop);
        // A managed zombie hides the ones behind it until tokio reaps it: look again shortly.
        for _ in 0..5 {
            if reap_orphans(&managed) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
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

/// Reaps every exited child no job owns; false when a managed zombie blocked the view.
fn reap_orphans(managed: &ManagedPids) -> bool {
    loop {
        let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT;
        let pid = match waitid(Id::All, flags) {
            Ok(WaitStatus::Exited(pid, _)) | Ok(WaitStatus::Signaled(pid, _, _)) => pid,
            _ => return true,
        };
        if managed.contains(pid.as_raw() as u32) {
            return false;
        }
        let _ = waitpid(Pid::from_raw(pid.as_raw()), Some(WaitPidFlag::WNOHANG));
    }
}
