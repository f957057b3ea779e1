//! The daemon's side of systemd's notify protocol, for the unit `pmtui startup` writes
//! (`Type=notify`): READY=1 once the socket accepts clients, so systemd runs
//! `ExecStartPost=pmtui resurrect` only then, and STOPPING=1 when it shuts down. Without
//! `NOTIFY_SOCKET` (any daemon systemd did not start) these do nothing. Children never see
//! the variable: their environment is built from their spec.

use sd_notify::NotifyState;

pub fn ready() {
    send(&[NotifyState::Ready, NotifyState::Status("accepting clients")]);
}

pub fn stopping() {
    send(&[NotifyState::Stopping]);
}

fn send(state: &[NotifyState]) {
    if let Err(err) = sd_notify::notify(state) {
        tracing::warn!(%err, "could not notify systemd");
    }
}
