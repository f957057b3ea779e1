//! What a child does between `fork` and `exec`: the only `unsafe` code in pmtui.
//!
//! Everything a step needs is prepared in the parent (fds opened, values computed, buffers
//! allocated); the closure that runs in the child only makes async-signal-safe system calls:
//! no allocation, no locks, no `std::env`. Each step is a field of [`ChildSetup`] so that the
//! features that need one (fd limits, and later listening sockets, cgroups, uid/gid) share
//! this one audited place instead of each adding its own `pre_exec`.
#![allow(unsafe_code)]

use nix::sys::resource::{Resource, rlim_t, setrlimit};
use tokio::process::Command;

/// Steps applied in the child before exec, in field order.
#[derive(Debug, Default)]
pub(crate) struct ChildSetup {
    /// `RLIMIT_NOFILE` (soft, hard) to put back: the daemon raises its own soft limit, but
    /// programs that use `select()` break with fds ≥ 1024, so children get what the daemon
    /// inherited (as systemd does for its services).
    pub nofile: Option<(rlim_t, rlim_t)>,
}

impl ChildSetup {
    fn is_empty(&self) -> bool {
        self.nofile.is_none()
    }

    /// Installs the steps on `command` (nothing when there are none).
    pub(crate) fn install(self, command: &mut Command) {
        if self.is_empty() {
            return;
        }
        let setup = self;
        // SAFETY: the closure runs in the forked child before exec. It only calls
        // setrlimit(2), which is async-signal-safe, on values computed in the parent; it
        // allocates nothing and takes no lock.
        unsafe {
            command.pre_exec(move || {
                if let Some((soft, hard)) = setup.nofile {
                    setrlimit(Resource::RLIMIT_NOFILE, soft, hard)?;
                }
                Ok(())
            });
        }
    }
}
