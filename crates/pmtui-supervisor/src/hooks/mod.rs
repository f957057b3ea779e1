//! Event hooks and the events stream: what happened to a process (`AppEvent`, derived in
//! `derive` under the table's lock) goes out on a broadcast (for `pmtui events`) and, when
//! the app or the daemon's settings have a hook for it, to the hook runner (`run`). Hooks
//! run off the supervision path: emitting never waits, at most [`MAX_RUNNING`] hooks run at
//! once, at most [`MAX_WAITING`] events wait, and what comes beyond is dropped and counted
//! (each drop is noted in the process's `hook_failures` and daemon.log).

pub(crate) mod derive;
mod run;

use crate::fanout::Fanout;
use pmtui_proto::{AppEvent, HOOK_EVENTS, Hook};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::{broadcast, mpsc};

pub(crate) use run::{end_all, start};

/// Hooks running at once.
pub const MAX_RUNNING: usize = 4;
/// Events waiting for a hook slot; more are dropped.
pub const MAX_WAITING: usize = 64;
/// Hook failures kept per process for `describe`.
pub const FAILURES_KEPT: usize = 10;

/// Whether `hook` can be attached to `event`: a known event, a command or an http(s)
/// webhook.
pub fn check(event: &str, hook: &Hook) -> Result<(), String> {
    if !HOOK_EVENTS.contains(&event) {
        return Err(format!(
            "unknown event {event:?}; hooks exist for {}",
            HOOK_EVENTS.join(", ")
        ));
    }
    if let Some(problem) = hook.problem() {
        return Err(problem);
    }
    if let Some(url) = &hook.webhook {
        run::check_url(url)?;
    }
    if hook.timeout_ms == Some(0) {
        return Err("a hook timeout must be more than 0".into());
    }
    Ok(())
}

/// One event on its way to its hooks.
pub(crate) struct Pending {
    pub event: AppEvent,
    /// Each hook with the folder its command runs in (the app's `cwd`, or `$PMTUI_HOME`
    /// for global hooks) and whether it is global.
    pub hooks: Vec<(Hook, PathBuf, bool)>,
}

/// Where events go.
pub(crate) struct Hub {
    stream: Fanout<AppEvent>,
    tx: mpsc::Sender<Pending>,
    /// The daemon's own hooks (`hooks` in config.toml), by event.
    global: BTreeMap<String, Hook>,
    home: PathBuf,
    dropped: AtomicU64,
}

impl Hub {
    /// A hub, and the receiver the runner takes.
    pub(crate) fn new(
        global: BTreeMap<String, Hook>,
        home: PathBuf,
    ) -> (Self, mpsc::Receiver<Pending>) {
        let (tx, rx) = mpsc::channel(MAX_WAITING);
        let hub = Self {
            stream: Fanout::new(1024),
            tx,
            global,
            home,
            dropped: AtomicU64::new(0),
        };
        (hub, rx)
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<AppEvent> {
        self.stream.subscribe()
    }

    /// Sends `event` to the stream and to its hooks (the app's from `app_hooks`, run in
    /// `cwd`, and the global one). Never waits; returns a note when the event was dropped
    /// because too many hooks are waiting.
    pub(crate) fn emit(
        &self,
        event: AppEvent,
        app_hooks: &BTreeMap<String, Hook>,
        cwd: &std::path::Path,
    ) -> Option<String> {
        let mut hooks = Vec::new();
        if let Some(hook) = app_hooks.get(&event.event) {
            hooks.push((hook.clone(), cwd.to_path_buf(), false));
        }
        if let Some(hook) = self.global.get(&event.event) {
            hooks.push((hook.clone(), self.home.clone(), true));
        }
        if hooks.is_empty() {
            self.stream.send(event);
            return None;
        }
        self.stream.send(event.clone());
        match self.tx.try_send(Pending { event, hooks }) {
            Ok(()) => None,
            Err(full) => {
                let name = full.into_inner().event.event;
                let dropped = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                let note = format!(
                    "{name} event dropped: {MAX_WAITING} events already wait for hooks \
                     ({dropped} dropped since the daemon started)"
                );
                tracing::warn!("hooks: {note}");
                Some(note)
            }
        }
    }
}
