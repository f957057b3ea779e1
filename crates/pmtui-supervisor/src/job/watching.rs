//! The job's side of file watching: its subscription to the daemon's watcher (held while
//! the process should run, dropped when it is stopped or deleted), the debounce that turns
//! a burst of changes into one restart, and the rule that a run which fails at once after
//! a change waits for the next change instead of crash-looping on a bad save.

use super::Job;
use crate::record::DesiredState;
use crate::watch::{Change, Subscription, WatchRequest};
use pmtui_proto::{ProcessStatus, WatchTrigger, now_ms};
use std::path::PathBuf;
use std::time::Duration;
use tokio::time::Instant;

/// Paths of one burst kept to name the change (the first that still exists wins).
const BURST_KEPT: usize = 64;
/// However busy the files are, a burst ends this many debounce periods after it began.
const BURST_CAP: u32 = 10;
/// A run started by a change that fails within this (or `min_uptime`, if longer) waits
/// for the next change. Generous: an interpreter alone may take a second to start on a
/// busy machine, and a save that breaks the app is usually seen within moments.
const FAILED_AT_ONCE_MS: u64 = 5000;

pub(super) struct Watching {
    sub: Subscription,
    delay: Duration,
    /// The changed paths of the burst under way (absolute, shown), first first.
    burst: Vec<(PathBuf, String)>,
    began: Option<Instant>,
    /// When the burst is over (quiet for `delay`).
    pub due: Option<Instant>,
    /// When the last run a change caused was about to start: what changed before it is
    /// in that run already (the changes heard while the old run stopped are not a burst
    /// of their own).
    launched: Option<std::time::Instant>,
}

/// What the daemon writes in its state directory (an app may live beside it, even in it:
/// only these are left out): its folders, and its files with what is written beside them
/// (the watch filter leaves out `dump.json.bak`, `daemon.log.1`… as rotations of a file,
/// and the durable writes' temp files `.tmp-<pid>-<n>` as `-` rotations of `.tmp`; a
/// `pmtui save` restarted an app watching a folder that holds PMTUI_HOME).
fn daemon_paths(home: &std::path::Path) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let temp = pmtui_statedir::TEMP_PREFIX.trim_end_matches('-');
    let files = ["pmtui.sock", "daemon.pid", "daemon.log", "dump.json", temp];
    let dirs = ["logs", "pids", "processes", "notify", "node"];
    let under = |names: &[&str]| names.iter().map(|p| home.join(p)).collect();
    (under(&files), under(&dirs))
}

/// The next change for a job that watches; never for one that does not.
pub(super) async fn next_change(watching: &mut Option<Watching>) -> Option<Change> {
    match watching {
        Some(w) => w.sub.rx.recv().await,
        None => std::future::pending().await,
    }
}

impl Job {
    /// Starts watching if the spec asks for it and nothing is watched yet. A watch that
    /// cannot be set up (the inotify limit) leaves the process unwatched with
    /// `watch_error` saying why; the command that started it reports it.
    pub(super) async fn start_watching(&mut self) {
        let Some(spec) = self.spec.active_watch().cloned() else {
            self.stop_watching();
            return;
        };
        if self.watching.is_some() {
            return;
        }
        let roots = spec.roots(&self.spec.cwd);
        let mut own: Vec<PathBuf> = self
            .shared
            .read(self.id, |e| {
                [&e.paths.out, &e.paths.err, &e.paths.combined]
                    .into_iter()
                    .flatten()
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        let mut ignore = spec.ignore.clone();
        if let Some(custom) = &self.spec.pid_file {
            let path = super::launch::pid_path_with_id(custom, self.id);
            own.push(path.clone());
            // Every instance's pid file (`app-<id>.pid`): another instance's restart
            // must not restart this one.
            let text = path.to_string_lossy();
            if let Some((stem, _)) = text.rsplit_once('-') {
                ignore.push(format!("{stem}-*.pid"));
            }
        }
        let (daemon_files, own_dirs) = daemon_paths(&self.shared.config.home);
        own.extend(daemon_files);
        let request = WatchRequest {
            roots: roots.clone(),
            ignore,
            own,
            own_dirs,
        };
        match self.shared.watch.subscribe(request).await {
            Ok(sub) => {
                self.watching = Some(Watching {
                    sub,
                    delay: Duration::from_millis(spec.delay_ms),
                    burst: Vec::new(),
                    began: None,
                    due: None,
                    launched: None,
                });
                let shown: Vec<String> = roots.iter().map(|p| p.display().to_string()).collect();
                self.shared.update(self.id, |e| {
                    e.info.watch = Some(shown);
                    e.info.watch_error = None;
                });
            }
            Err(why) => {
                tracing::warn!(id = self.id, why, "not watching");
                self.shared.update(self.id, |e| {
                    e.info.watch = None;
                    e.info.watch_error = Some(why);
                });
            }
        }
    }

    /// Ends the watch (the process was stopped or deleted, or watching was turned off).
    pub(super) fn stop_watching(&mut self) {
        let was = self.watching.take().is_some();
        self.run_from_watch = false;
        self.shared.update(self.id, |e| {
            e.info.watch = None;
            if !was {
                e.info.watch_error = None;
            }
        });
    }

    /// A change arrived: the burst goes on for another `delay`.
    pub(super) fn on_change(&mut self, change: Option<Change>) {
        let Some(w) = self.watching.as_mut() else {
            return;
        };
        match change {
            Some(Change::Path { path, shown, at }) => {
                if w.launched.is_some_and(|launched| at < launched) {
                    return;
                }
                let now = Instant::now();
                let began = *w.began.get_or_insert(now);
                if w.burst.len() < BURST_KEPT && !w.burst.iter().any(|(p, _)| *p == path) {
                    w.burst.push((path, shown));
                }
                w.due = Some((now + w.delay).min(began + w.delay * BURST_CAP));
            }
            Some(Change::Error(why)) => {
                tracing::warn!(id = self.id, why, "watch incomplete");
                self.shared
                    .update(self.id, |e| e.info.watch_error = Some(why));
            }
            None => {
                // The watcher is gone (it cannot be, while the daemon runs).
                self.watching = None;
                self.shared.update(self.id, |e| e.info.watch = None);
            }
        }
    }

    /// The burst is over: one restart (or a revival of a process that is not running),
    /// named after the first changed path that still exists (an editor's temporary file
    /// renamed over the real one is not the change).
    pub(super) async fn on_watch_due(&mut self) {
        let Some(w) = self.watching.as_mut() else {
            return;
        };
        w.due = None;
        w.began = None;
        let burst = std::mem::take(&mut w.burst);
        let Some(shown) = burst
            .iter()
            .find(|(p, _)| p.exists())
            .or(burst.first())
            .map(|(_, s)| s.clone())
        else {
            return;
        };
        let detail = format!("{shown} changed");
        let trigger = WatchTrigger {
            at: now_ms(),
            path: shown.clone(),
        };
        if self.running.is_some() && self.reloads_on_change() {
            self.rolling_reload(trigger);
            return;
        }
        self.shared
            .update(self.id, |e| e.info.watch_trigger = Some(trigger));
        if self.running.is_some() {
            tracing::info!(
                id = self.id,
                path = shown,
                "watched file changed: restarting"
            );
            self.stop("watch", detail, "restart").await;
            self.launch(true).await;
        } else {
            // Errored, waiting for a backoff restart, or parked after a failed change: the
            // new files deserve a fresh start (a person's stop ended the watch).
            tracing::info!(id = self.id, path = shown, "watched file changed: starting");
            self.restart_at = None;
            self.record_revival("watch", detail);
            self.forget();
            self.shared
                .update(self.id, |e| e.desired = DesiredState::Running);
            self.mark_watch_launch();
            self.launch(false).await;
        }
        self.run_from_watch = true;
    }

    fn mark_watch_launch(&mut self) {
        if let Some(w) = self.watching.as_mut() {
            w.launched = Some(std::time::Instant::now());
        }
    }

    /// A change to a cluster app, or to one with a readiness check, is a rolling reload
    /// (each instance replaced once its new run is ready), not a restart.
    fn reloads_on_change(&self) -> bool {
        self.spec.mode() == pmtui_proto::ExecMode::Cluster
            || self.spec.health_check.is_some()
            || self.spec.wait_ready
    }

    /// Every running instance of the app heard the change; the one with the lowest id
    /// leads a rolling reload of them all, the others leave it to that one.
    fn rolling_reload(&mut self, trigger: WatchTrigger) {
        let ids = self.shared.running_of_name(&self.spec.name);
        if ids.first() != Some(&self.id) {
            return;
        }
        for id in &ids {
            let trigger = trigger.clone();
            self.shared
                .update(*id, |e| e.info.watch_trigger = Some(trigger));
        }
        tracing::info!(
            id = self.id,
            path = trigger.path,
            "watched file changed: rolling reload"
        );
        let supervisor = crate::supervisor::Supervisor::from_shared(self.shared.clone());
        // Not awaited here: the reload sends this very job its part.
        tokio::spawn(async move {
            let options = crate::supervisor::ReloadOptions {
                reason: "watch",
                ..Default::default()
            };
            if let Err(err) = supervisor.reload_ids(&ids, options).await {
                tracing::warn!(%err, "watch reload");
            }
        });
    }

    /// `src/app.py changed`: the last change, for the history of a watch reload.
    pub(super) fn watch_detail(&self) -> String {
        self.shared
            .read(self.id, |e| e.info.watch_trigger.clone())
            .flatten()
            .map_or_else(
                || "a watched file changed".into(),
                |t| format!("{} changed", t.path),
            )
    }

    /// Whether the run that just ended (after `uptime_ms`) was started by a change and
    /// failed at once: it then waits for the next change.
    pub(super) fn failed_after_change(&self, uptime_ms: u64) -> bool {
        self.run_from_watch
            && self.watching.is_some()
            && uptime_ms < self.spec.restart.min_uptime_ms.max(FAILED_AT_ONCE_MS)
    }

    /// Parks a run that failed right after a change: `errored`, not restarted until the
    /// next change.
    pub(super) fn park_after_change(&mut self, what: &str) {
        self.run_from_watch = false;
        let changed = self
            .shared
            .read(self.id, |e| e.info.watch_trigger.clone())
            .flatten()
            .map_or_else(|| "a file".to_string(), |t| t.path);
        let why = format!("{what} right after {changed} changed; waiting for the next change");
        self.shared.update(self.id, |e| {
            e.info.status = ProcessStatus::Errored;
            e.info.status_reason = Some(why.clone());
            e.info.next_restart_at = None;
        });
    }
}
