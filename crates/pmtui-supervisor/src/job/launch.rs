//! Launching the child: status and environment, its cgroup (cgroup mode), the spawn, its
//! output pumps, timers and pid file.

use super::exit::no_run;
use super::{Job, Readers, Running};
use crate::logs::{Tail, pump};
use crate::metrics::app::{AppHandle, scrape};
use crate::probe::check::ExecContext;
use crate::probe::{Phase, RunSignals, ipc, notify, runner};
use crate::{contain, fds, oom, policy, spawn};
use pmtui_proto::{ExitRecord, LogStream, ProcessStatus, now_ms};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;
impl Job {
    /// Starts the child; `count` adds one to `restarts`.
    pub(super) async fn launch(&mut self, count: bool) {
        // Taken first: a launch that fails leaves no word for a later one.
        let found_empty = std::mem::take(&mut self.cgroup_found_empty);
        self.run_from_watch = false;
        self.start_watching().await;
        self.shared.update(self.id, |e| {
            e.info.status = ProcessStatus::Launching;
            e.info.next_restart_at = None;
            if count {
                e.info.restarts += 1;
            }
        });
        if let Err(shortage) = self.fds_for_launch(count).await {
            let detail = format!("could not start {}: {shortage}", self.spec.command_line());
            self.launch_failed(detail, true);
            return;
        }
        let ipc = self.ipc_channel();
        let channel = ipc.as_ref().map(|(_, child_end)| child_end.as_raw_fd());
        let notify = self.notify_socket();
        let spawned = match self.enter_cgroup(found_empty).await {
            Ok((cgroup, cgroup_dir)) => self
                .shared
                .sockets
                .acquire(&self.spec)
                .map_err(std::io::Error::other)
                .and_then(|sockets| {
                    let child = spawn::spawn(
                        &self.spec,
                        &self.env,
                        &self.shared.config,
                        &sockets,
                        channel,
                        cgroup_dir,
                        &self.shared.managed,
                    )?;
                    Ok((child, sockets, cgroup))
                })
                .map_err(|err| self.spawn_error(&err)),
            Err(detail) => Err((detail, false)),
        };
        match spawned {
            Ok((mut child, sockets, cgroup)) => {
                let pid = child.id().unwrap_or(0);
                let start_time = child.start_time();
                self.shared.managed.insert(pid);
                // Read once the child is on its way, not before it: the kernel takes a
                // while to gather the count. A count up to 100 ms old does (see there).
                let oom_kills = oom::kill_count_recent();
                let run = self.shared.read(self.id, |e| e.ready.borrow().run + 1);
                let signals = Arc::new(RunSignals::default());
                let app = self.begin_app_metrics();
                let origin = ipc::Origin {
                    id: self.id,
                    pid,
                    run: run.unwrap_or(1),
                    signals: Arc::clone(&signals),
                    messages: self.shared.app_messages.clone(),
                    app: Arc::clone(&app),
                };
                let mut readers = Readers::default();
                if let Some((parent_end, child_end)) = ipc {
                    drop(child_end);
                    readers
                        .0
                        .push(tokio::spawn(ipc::read(parent_end, origin.clone())));
                }
                if let Some(socket) = notify {
                    readers.0.push(tokio::spawn(notify::read(socket, origin)));
                }
                if let Some(scrape) = self.scrape(app) {
                    readers.0.push(tokio::spawn(scrape::run(scrape)));
                }
                if let Some(check) = &self.spec.health_check {
                    let exec = ExecContext {
                        shared: Arc::clone(&self.shared),
                        spec: Arc::clone(&self.spec),
                        env: Arc::clone(&self.env),
                    };
                    let prober = runner::run((**check).clone(), exec, Arc::clone(&signals));
                    readers.0.push(tokio::spawn(prober));
                }
                self.signals = Some(signals);
                let out_pump = child.stdout.take().map(|out| {
                    tokio::spawn(pump(
                        out,
                        Arc::clone(&self.sink),
                        LogStream::Out,
                        self.shared.pumps.clone(),
                        None,
                    ))
                });
                let err_tail = Arc::new(Tail::default());
                let err_pump = child.stderr.take().map(|err| {
                    tokio::spawn(pump(
                        err,
                        Arc::clone(&self.sink),
                        LogStream::Err,
                        self.shared.pumps.clone(),
                        Some(Arc::clone(&err_tail)),
                    ))
                });
                let started = Instant::now();
                self.running = Some(Running {
                    child,
                    pid,
                    cgroup,
                    started,
                    out_pump,
                    err_pump,
                    err_tail,
                    oom_kills,
                    readers,
                });
                let stable = policy::stable_period_ms(&self.spec.restart);
                self.stable_at = Some(started + Duration::from_millis(stable));
                self.write_pid_file(Some(pid));
                let shown = sockets.shown(&self.spec.name);
                // What the child got besides its definition's environment (as `spawn`
                // gives it: the sockets' variables only with sockets).
                let mut socket_env = if sockets.is_empty() {
                    Vec::new()
                } else {
                    sockets.env()
                };
                if channel.is_some() {
                    socket_env.push(spawn::channel_env(&sockets));
                }
                let (status, phase) = self.begin_readiness(started);
                let probed = self.spec.health_check.is_some();
                self.shared.update(self.id, |e| {
                    e.info.status = status;
                    e.info.pid = Some(pid);
                    e.info.started_at = Some(now_ms());
                    e.info.status_reason = None;
                    e.info.sockets = shown;
                    e.pid_start_time = start_time;
                    // Copied (from the job's) only when the run changes it.
                    if socket_env
                        .iter()
                        .any(|(k, v)| e.env.get(k) != Some(v.as_str()))
                    {
                        Arc::make_mut(&mut e.env).extend(socket_env);
                    }
                    e.begin_run(phase);
                    if probed {
                        e.info.health = Some(pmtui_proto::Health::Starting);
                    }
                    e.fd_shortage = false;
                });
            }
            Err((detail, shortage)) => {
                self.launch_failed(detail, shortage);
            }
        }
    }

    /// In cgroup mode: the process's cgroup, emptied of what an earlier run left (normally
    /// nothing: an exit ends its leftovers; `found_empty` when the run that just ended was
    /// seen to leave nothing), and its directory, open, for the child to enter.
    async fn enter_cgroup(
        &self,
        found_empty: bool,
    ) -> Result<(Option<std::path::PathBuf>, Option<std::fs::File>), String> {
        let Some(cgroups) = &self.shared.containment.cgroups else {
            return Ok((None, None));
        };
        let (dir, handle, created) = cgroups
            .prepare(self.id, found_empty || self.retiring.is_some())
            .map_err(|err| {
                format!(
                    "could not start {}: cannot create its cgroup {}: {err}",
                    self.spec.command_line(),
                    cgroups.dir_of(self.id).display()
                )
            })?;
        // During a reload the old run is in there and still serving; a cgroup made just
        // now holds nothing (one read of `cgroup.events` less per first start), nor does
        // one the run that just ended left empty (one less per restart).
        if self.spec.treekill
            && !created
            && !found_empty
            && self.retiring.is_none()
            && contain::cgroup::populated(&dir)
        {
            let mut tree = contain::Tree::Cgroup {
                dir: dir.clone(),
                kill_file: cgroups.kill_file,
            };
            tracing::info!(
                id = self.id,
                "ending what an earlier run left in the cgroup"
            );
            contain::end(&mut tree, self.stop_signal(), self.kill_timeout(), None).await;
        }
        Ok((Some(dir), Some(handle)))
    }

    /// Whether this process's descriptors fit the budget. A shortage right after exits
    /// (a `restart all`, several crashes at once) is often only the dead runs' pipes and
    /// notify sockets, which their pumps and readers close a moment later: while the
    /// daemon's open descriptors keep going down the start waits for them, and it fails
    /// only after a second without any closing (or `FD_WAIT_MAX` in all), so that
    /// restarting every app at a tight limit leaves none errored even on a loaded machine.
    /// A start that really does not fit fails a second later than it would, with the same
    /// message; fresh starts right after such a failure fail at once while no descriptor
    /// came back (see [`fds::Confirmed`]). A run that `replaces` one may use half the
    /// reserve (see [`fds::check`]), and a shortage first asks the metrics sampler for the
    /// `stat` files it keeps open only to read faster (see [`fds::kept`]).
    async fn fds_for_launch(&self, replaces: bool) -> Result<(), fds::Shortage> {
        const STALL: Duration = Duration::from_secs(1);
        const FD_WAIT_MAX: Duration = Duration::from_secs(15);
        let needed = self.sink.file_count() as u64;
        let started = Instant::now();
        let mut stalled_at = started + STALL;
        let mut lowest = u64::MAX;
        loop {
            let shortage = match fds::check(needed, replaces) {
                Ok(()) => return Ok(()),
                Err(shortage) => shortage,
            };
            // A wait that just ended in vain with as many open: this one would too.
            if !replaces && lowest == u64::MAX && shortage.open.is_some_and(fds::shortage_confirmed)
            {
                return Err(shortage);
            }
            fds::kept::ask_back();
            let now = Instant::now();
            if let Some(open) = shortage.open
                && open < lowest
            {
                if lowest != u64::MAX {
                    stalled_at = now + STALL;
                }
                lowest = open;
            }
            if now >= stalled_at || now >= started + FD_WAIT_MAX {
                if let Some(open) = shortage.open {
                    fds::confirm_shortage(open);
                }
                return Err(shortage);
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// What a failed spawn says, and whether it failed for want of file descriptors.
    fn spawn_error(&self, err: &std::io::Error) -> (String, bool) {
        if fds::exhausted(err) {
            let why = fds::Shortage {
                open: fds::open_count(),
                limit: fds::limit(),
            };
            return (
                format!("could not start {}: {why}", self.spec.command_line()),
                true,
            );
        }
        let mut detail = format!("could not start {}: {err}", self.spec.command_line());
        if err.kind() == std::io::ErrorKind::PermissionDenied
            && let Some(user) = self.spec.uid.as_ref().or(self.spec.gid.as_ref())
        {
            detail += &format!(
                " (as {user}: it must be able to enter {} and run the program)",
                self.spec.cwd.display()
            );
        }
        (detail, false)
    }

    /// Node's IPC channel for a Node app (none for other programs, or when the socketpair
    /// cannot be made: the app then runs without `process.send`).
    fn ipc_channel(&self) -> Option<(OwnedFd, OwnedFd)> {
        if !self.spec.is_node() {
            return None;
        }
        match ipc::channel() {
            Ok(pair) => Some(pair),
            Err(err) => {
                tracing::warn!(id = self.id, %err, "no IPC channel for this run");
                None
            }
        }
    }

    /// The process's app metrics, the last run's latest values forgotten.
    fn begin_app_metrics(&self) -> AppHandle {
        let app = self
            .shared
            .read(self.id, |e| Arc::clone(&e.app))
            .unwrap_or_default();
        crate::metrics::app::lock(&app).end_run();
        app
    }

    /// The scraper of this run, with `metrics_url` (none when sampling is off: it follows
    /// the metrics interval).
    fn scrape(&self, store: AppHandle) -> Option<scrape::Scrape> {
        let url = self.spec.metrics_url.clone()?;
        let interval = self.shared.metrics.interval_ms;
        (interval > 0).then(|| scrape::Scrape {
            id: self.id,
            url,
            keep: self.spec.metrics_keep.clone(),
            interval: Duration::from_millis(interval),
            store,
        })
    }

    /// Records a launch that did not happen: `errored`, with why.
    fn launch_failed(&mut self, detail: String, fd_shortage: bool) {
        tracing::warn!(id = self.id, %detail);
        // No run: no pid file, whatever the last run left there, and no socket kept.
        self.write_pid_file(None);
        self.notify = None;
        let now = now_ms();
        self.shared.record_exit(
            self.id,
            ExitRecord {
                reason: "spawn error".into(),
                detail: detail.clone(),
                outcome: "errored".into(),
                ..no_run(now)
            },
        );
        self.shared.update(self.id, |e| {
            e.info.status = ProcessStatus::Errored;
            e.info.pid = None;
            e.info.cpu = 0.0;
            e.info.memory = 0;
            e.begin_run(Phase::Ended(detail.clone()));
            e.info.status_reason = Some(detail);
            e.fd_shortage = fd_shortage;
        });
    }

    /// The sd_notify socket for this run: the one the last run had, emptied, when no other
    /// run reads it (during a reload the old run still does) and its file is still there;
    /// else a fresh one (none when it cannot be bound: the app's `sd_notify` calls then
    /// fail, which apps ignore).
    fn notify_socket(&mut self) -> Option<Arc<notify::Bound>> {
        let path = self.notify_path()?;
        if let Some(kept) = self.notify.take()
            && self.retiring.is_none()
            && kept.still_at(&path)
        {
            kept.empty();
            self.notify = Some(Arc::clone(&kept));
            return Some(kept);
        }
        match notify::Bound::new(&path) {
            Ok(bound) => {
                self.notify = Some(Arc::clone(&bound));
                Some(bound)
            }
            Err(err) => {
                tracing::warn!(id = self.id, %err, ?path, "no sd_notify socket for this run");
                None
            }
        }
    }

    pub(super) fn write_pid_file(&self, pid: Option<u32>) {
        if let Some(custom) = &self.spec.pid_file {
            // pm2's `pid_file`: the user's own path, outside the state directory.
            let path = pid_path_with_id(custom, self.id);
            let result = match pid {
                Some(pid) => path
                    .parent()
                    .map_or(Ok(()), std::fs::create_dir_all)
                    .and_then(|()| {
                        // Overwritten, not truncated to zero (see `overwrite`).
                        let file = std::fs::OpenOptions::new()
                            .write(true)
                            .create(true)
                            .truncate(false)
                            .open(&path)?;
                        pmtui_statedir::overwrite(&file, pid.to_string().as_bytes())
                    }),
                None => std::fs::remove_file(&path).or(Ok(())),
            };
            if let Err(err) = result {
                tracing::warn!(?path, %err, "pid file not written");
            }
            return;
        }
        let Some(dir) = &self.shared.pids else {
            return;
        };
        let name = format!(
            "{}-{}.pid",
            pmtui_proto::file_stem(&self.spec.name),
            self.id
        );
        // Through the checked folder, never following a link; not fsynced (informative).
        // Rewritten in place rather than replaced by a renamed temp file: a restart then
        // creates no file (a file creation is the dear part on ext4 without a journal),
        // and never truncated to zero, which ext4 answers with a flush on close.
        let result = match pid {
            Some(pid) => dir.write_in_place(&name, pid.to_string().as_bytes()),
            None => dir.remove(&name, false).map(|_| ()),
        };
        if let Err(err) = result {
            tracing::debug!(path = %dir.join(&name).display(), %err, "pid file not written");
        }
    }
}

/// pm2's naming of a custom pid file: `app.pid` or `app-7.pid` becomes `app-<id>.pid`, so
/// instances never share one; a name without `.pid` gets `-<id>` appended.
pub(crate) fn pid_path_with_id(path: &Path, id: pmtui_proto::ProcessId) -> PathBuf {
    let text = path.to_string_lossy();
    let stem = match text.strip_suffix(".pid") {
        Some(stem) => match stem.rsplit_once('-') {
            Some((base, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => base,
            _ => stem,
        },
        None => &text,
    };
    PathBuf::from(format!("{stem}-{id}.pid"))
}

#[cfg(test)]
mod tests {
    use super::pid_path_with_id;
    use std::path::{Path, PathBuf};

    #[test]
    fn custom_pid_files_carry_the_id_as_in_pm2() {
        let at = |p: &str, id| pid_path_with_id(Path::new(p), id);
        assert_eq!(at("/run/echo.pid", 0), PathBuf::from("/run/echo-0.pid"));
        assert_eq!(at("/run/echo-3.pid", 5), PathBuf::from("/run/echo-5.pid"));
        assert_eq!(at("/run/my-app.pid", 2), PathBuf::from("/run/my-app-2.pid"));
        assert_eq!(at("/run/app", 1), PathBuf::from("/run/app-1.pid"));
    }
}
