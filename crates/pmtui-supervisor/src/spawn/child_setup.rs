//! What a child does between `fork` and `exec`: the only `unsafe` code in pmtui.
//!
//! Everything a step needs is prepared in the parent (fds opened, values computed, buffers
//! allocated); the closure that runs in the child only makes async-signal-safe system calls:
//! no allocation, no locks, no `std::env`. Each step is a field of [`ChildSetup`] so that the
//! features that need one (fd limits, and later listening sockets, cgroups, uid/gid) share
//! this one audited place instead of each adding its own `pre_exec`.
#![allow(unsafe_code)]

use nix::sys::resource::{Resource, rlim_t, setrlimit};
use nix::unistd::{Gid, Uid, chdir, setgid, setgroups, setuid};
use std::ffi::CString;
use tokio::process::Command;

/// The identity to take, prepared in the parent (see `credentials.rs`).
#[derive(Debug)]
pub(crate) struct Identity {
    pub groups: Vec<Gid>,
    pub gid: Gid,
    /// `None` keeps the daemon's user.
    pub uid: Option<Uid>,
    /// The working directory, entered again once the identity is taken: the spawn fails
    /// (EACCES) if the user cannot enter it, instead of the app starting in a directory it
    /// cannot read.
    pub cwd: CString,
}

/// Steps applied in the child before exec, in field order.
#[derive(Debug, Default)]
pub(crate) struct ChildSetup {
    /// `RLIMIT_NOFILE` (soft, hard) to put back: the daemon raises its own soft limit, but
    /// programs that use `select()` break with fds ≥ 1024, so children get what the daemon
    /// inherited (as systemd does for its services).
    pub nofile: Option<(rlim_t, rlim_t)>,
    /// Supplementary groups, group and user (in that order: each needs root until the last),
    /// after every step that needs the daemon's privileges.
    pub identity: Option<Identity>,
}

impl ChildSetup {
    fn is_empty(&self) -> bool {
        self.nofile.is_none() && self.identity.is_none()
    }

    /// Installs the steps on `command` (nothing when there are none).
    pub(crate) fn install(self, command: &mut Command) {
        if self.is_empty() {
            return;
        }
        let setup = self;
        // SAFETY: the closure runs in the forked child before exec. It only makes system
        // calls (setrlimit, setgroups, setgid, setuid, chdir: thin wrappers, async-signal-safe
        // in a child that has one thread) on values computed in the parent; nix passes the
        // slice and the C string as they are, so nothing is allocated and no lock is taken.
        unsafe {
            command.pre_exec(move || {
                if let Some((soft, hard)) = setup.nofile {
                    setrlimit(Resource::RLIMIT_NOFILE, soft, hard)?;
                }
                if let Some(identity) = &setup.identity {
                    setgroups(&identity.groups)?;
                    setgid(identity.gid)?;
                    if let Some(uid) = identity.uid {
                        setuid(uid)?;
                    }
                    chdir(identity.cwd.as_c_str())?;
                }
                Ok(())
            });
        }
    }
}
