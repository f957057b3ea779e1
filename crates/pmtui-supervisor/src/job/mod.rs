//! One task per process, owning its child (the watchexec model). It selects over its
//! command channel, the child's exit, the restart (backoff) timer, the stable-period timer
//! and the cron timer; every change of state is published into the table, every exit and
//! restart into the history. Stopping signals the whole process group and every
//! descendant (including ones that left the group), then SIGKILLs what is left after
//! `kill_timeout`.

mod exit;
mod launch;
mod ready;
mod recover;
mod reload;
mod restarts;
mod stop;
mod task;
mod watching;

use crate::cron::CronSchedule;
use crate::logs::LogSink;
use crate::policy::RestartHistory;
use crate::probe::{Posted, RunSignals};
use crate::record::DesiredState;
use crate::spawn;
use crate::spawn::{Child, ChildEnv};
use crate::supervisor::Shared;
use jiff::Timestamp;
use pmtui_proto::{ProcessId, ProcessSpec, ProcessStatus, now_ms};
use std::future::Future;
use std::process::ExitStatus;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::Instant;

pub(crate) use reload::ReloadReply;

pub(crate) type JobHandle = crate::lazy_queue::Sender<JobCmd>;

/// Kept small (big payloads boxed): they wait in the job's queue.
pub(crate) enum JobCmd {
    /// Launch if not running.
    Start { reply: oneshot::Sender<()> },
    /// Stop and stay stopped.
    Stop { reply: oneshot::Sender<()> },
    /// Stop if running, then launch; `env` replaces the stored environment (the variables
    /// the user set, `config_env`, stay on top).
    Restart {
        env: Option<pmtui_proto::EnvMap>,
        /// Recorded in the history: `manual`, `cron`, `memory limit`, `watch`, … Only
        /// `manual` starts a process that is not running.
        reason: &'static str,
        reply: oneshot::Sender<()>,
    },
    /// Replace the run by a new one without a gap (one instance's part in a rolling
    /// reload, see `reload.rs`); `env` as for `Restart`; `reason` goes in the history.
    Reload {
        // Boxed for the enum's size, not the map's sake.
        #[allow(clippy::box_collection)]
        env: Option<Box<std::collections::BTreeMap<String, String>>>,
        reason: &'static str,
        reply: ReloadReply,
    },
    /// Run a task now (`pmtui run`), as `overlap` says if a run is going.
    Run { reply: oneshot::Sender<()> },
    /// Zero the restart counters; an `errored` process is started again.
    Reset { reply: oneshot::Sender<()> },
    /// Watching turned on or off (`pmtui watch`): recorded, nothing restarted.
    SetWatch {
        watch: Option<Box<pmtui_proto::WatchSpec>>,
        reply: oneshot::Sender<()>,
    },
    /// The app now has this many instances (`scale`): recorded, nothing restarted.
    SetCount(u32),
    /// End the task (the process is already stopped).
    Exit,
}

struct Running {
    child: Child,
    pid: u32,
    /// Its cgroup, in cgroup mode.
    cgroup: Option<std::path::PathBuf>,
    started: Instant,
    out_pump: Option<JoinHandle<()>>,
    err_pump: Option<JoinHandle<()>>,
    /// The last lines this run wrote to stderr, kept by its pump.
    err_tail: Arc<crate::logs::Tail>,
    /// The kernel's OOM-kill count when the run started.
    oom_kills: Option<u64>,
    /// The readers of the app's channels (IPC, sd_notify); aborted when the run ends.
    readers: Readers,
}

impl Running {
    /// Lets go of the run's descriptors before the next run takes its own: the pumps
    /// are given up to `drain` to read what is left (a descendant may hold a pipe open),
    /// the readers are ended, and both are waited for, so that a restart at a tight
    /// open-file limit finds its own old pipes and sockets closed.
    async fn release(mut self, drain: Duration) {
        let deadline = Instant::now() + drain;
        // A finished pump is not polled again (the stderr one may have been awaited).
        for pump in [self.out_pump.take(), self.err_pump.take()]
            .into_iter()
            .flatten()
            .filter(|pump| !pump.is_finished())
        {
            let _ = tokio::time::timeout_at(deadline, pump).await;
        }
        for reader in std::mem::take(&mut self.readers.0) {
            reader.abort();
            // Resolves once the task is dropped, and its descriptors with it.
            let _ = tokio::time::timeout(drain, reader).await;
        }
    }
}

/// Tasks that live as long as one run.
#[derive(Default)]
struct Readers(Vec<JoinHandle<()>>);

impl Drop for Readers {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

struct Job {
    shared: Arc<Shared>,
    id: ProcessId,
    /// Its definition, shared with its table row.
    spec: Arc<ProcessSpec>,
    env: Arc<ChildEnv>,
    sink: Arc<LogSink>,
    running: Option<Running>,
    /// A pending restart (`waiting restart`).
    restart_at: Option<Instant>,
    /// When the current run has been up for `stable_after`.
    stable_at: Option<Instant>,
    /// Boxed, as `task` and `retiring`: most processes have none, and every job keeps
    /// the room of its fields for its whole life.
    cron: Option<Box<CronSchedule>>,
    /// The next firing time of `cron` (wall clock).
    cron_next: Option<Timestamp>,
    history: RestartHistory,
    /// What the app of the current run said (ready, watchdog, status…).
    signals: Option<Arc<RunSignals>>,
    /// When `wait_ready` stops waiting for the current run's signal (`listen_timeout`).
    ready_deadline: Option<Instant>,
    /// When the watchdog fires unless the app sends `WATCHDOG=1` first.
    watchdog_at: Option<Instant>,
    /// During a reload: the old run, serving until the new one (`running`) is ready.
    retiring: Option<Box<reload::Retiring>>,
    /// The reload under way, if one is.
    reload: Option<reload::PendingReload>,
    /// File watching, while the process should run and its spec asks for it.
    watching: Option<watching::Watching>,
    /// The current run was started by a watched change (a failure at once parks it).
    run_from_watch: bool,
    /// The run that just ended left its cgroup empty (looked at as it ended), and the
    /// launch under way follows it at once: the launch need not look again.
    cgroup_found_empty: bool,
    /// For a task (an app with a `schedule`): its timers and runs.
    task: Option<Box<task::TaskState>>,
    /// Its sd_notify socket, kept while it runs and restarts (see `probe::notify`).
    notify: Option<Arc<crate::probe::notify::Bound>>,
}

pub(crate) fn spawn_job(
    shared: Arc<Shared>,
    id: ProcessId,
    spec: Arc<ProcessSpec>,
    env: Arc<ChildEnv>,
    sink: Arc<LogSink>,
) -> (JobHandle, impl Future<Output = ()> + Send + 'static) {
    let (tx, rx) = crate::lazy_queue::queue();
    let job = Box::new(Job::new(shared, id, spec, env, sink));
    (tx, recover::host(job, rx))
}

impl Job {
    fn new(
        shared: Arc<Shared>,
        id: ProcessId,
        spec: Arc<ProcessSpec>,
        env: Arc<ChildEnv>,
        sink: Arc<LogSink>,
    ) -> Self {
        let cron = spec
            .cron_restart
            .as_deref()
            .filter(|p| !p.trim().is_empty())
            .and_then(|pattern| match CronSchedule::parse(pattern) {
                Ok(schedule) => Some(Box::new(schedule)),
                Err(err) => {
                    // `validate` refuses bad patterns; this is a definition from an older daemon.
                    tracing::warn!(id, %err, "cron_restart ignored");
                    None
                }
            });
        let cron_next = cron.as_ref().and_then(|c| c.next_after(Timestamp::now()));
        let task = task::TaskState::of(&spec, id).map(Box::new);
        Job {
            shared,
            id,
            spec,
            env,
            sink,
            running: None,
            restart_at: None,
            stable_at: None,
            cron,
            cron_next,
            history: RestartHistory::default(),
            signals: None,
            ready_deadline: None,
            watchdog_at: None,
            retiring: None,
            reload: None,
            watching: None,
            run_from_watch: false,
            cgroup_found_empty: false,
            task,
            notify: None,
        }
    }
}

async fn wait_child(running: &mut Option<Running>) -> std::io::Result<ExitStatus> {
    match running {
        Some(r) => r.child.wait().await,
        None => std::future::pending().await,
    }
}

async fn wait_posted(signals: Option<Arc<RunSignals>>) -> Posted {
    match signals {
        Some(signals) => signals.take().await,
        None => std::future::pending().await,
    }
}

async fn wait_timer(timer: Option<(Instant, Timer)>) -> Timer {
    match timer {
        Some((at, timer)) => {
            // Boxed: a settled process has no timer, and this future is in every job's
            // loop for the process's whole life.
            Box::pin(tokio::time::sleep_until(at)).await;
            timer
        }
        None => std::future::pending().await,
    }
}

/// The monotonic instant of a wall-clock time, re-read on every turn of the loop so that a
/// clock change moves the timer.
fn instant_of(at: Option<Timestamp>) -> Option<Instant> {
    let at = at?;
    let ahead = at.duration_since(Timestamp::now());
    let ahead = Duration::try_from(ahead).unwrap_or(Duration::ZERO);
    Some(Instant::now() + ahead)
}

/// What woke the job: chosen by its loop's `select!`, carried out by [`Job::on_wake`].
enum Wake {
    Cmd(Option<JobCmd>),
    Exit(std::io::Result<ExitStatus>),
    RetiringExit(std::io::Result<ExitStatus>),
    ReloadDeadline,
    RestartDue,
    Fire,
    TaskTimeout,
    Stable,
    Posted(Posted),
    ListenTimeout,
    Watchdog,
    Cron,
    Change(Option<crate::watch::Change>),
    WatchDue,
}

/// The job's timed wake-ups; the loop waits for the earliest only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Timer {
    ReloadDeadline,
    RestartDue,
    Fire,
    TaskTimeout,
    Stable,
    ListenTimeout,
    Watchdog,
    Cron,
    WatchDue,
}

impl Timer {
    fn wake(self) -> Wake {
        match self {
            Timer::ReloadDeadline => Wake::ReloadDeadline,
            Timer::RestartDue => Wake::RestartDue,
            Timer::Fire => Wake::Fire,
            Timer::TaskTimeout => Wake::TaskTimeout,
            Timer::Stable => Wake::Stable,
            Timer::ListenTimeout => Wake::ListenTimeout,
            Timer::Watchdog => Wake::Watchdog,
            Timer::Cron => Wake::Cron,
            Timer::WatchDue => Wake::WatchDue,
        }
    }
}

/// The earliest of `timers` (the first of equal ones).
fn earliest(timers: [(Option<Instant>, Timer); 9]) -> Option<(Instant, Timer)> {
    timers
        .into_iter()
        .filter_map(|(at, timer)| Some((at?, timer)))
        .min_by_key(|(at, _)| *at)
}

impl Job {
    /// The job's loop, until it is told to exit. The receiver is borrowed, so that the
    /// commands queued behind one whose handling panicked reach the job that replaces it.
    ///
    /// What a wake-up does runs in a boxed future, made for that wake-up and freed after
    /// it: the loop's own future, which every process keeps for its whole life, holds only
    /// the job and what it waits on (launching, stopping and reloading inline made it
    /// about 9 KiB more per process, idle or not).
    async fn run(mut self: Box<Self>, rx: &mut crate::lazy_queue::Receiver<JobCmd>) {
        loop {
            let signals = self.signals.clone();
            // One timer, for the earliest deadline: each timer waited on is room in this
            // future, which every process keeps for its whole life.
            let timer = self.next_timer();
            let wake = tokio::select! {
                cmd = rx.recv() => Wake::Cmd(cmd),
                status = wait_child(&mut self.running) => Wake::Exit(status),
                status = reload::wait_retiring(&mut self.retiring) => Wake::RetiringExit(status),
                timer = wait_timer(timer) => timer.wake(),
                posted = wait_posted(signals) => Wake::Posted(posted),
                change = watching::next_change(&mut self.watching) => Wake::Change(change),
            };
            if !Box::pin(self.on_wake(wake)).await {
                break;
            }
        }
    }

    /// The next timed wake-up, if any. Wall-clock times (the task's firing, cron) are
    /// turned into instants on every turn of the loop, so that a clock change moves them.
    fn next_timer(&self) -> Option<(Instant, Timer)> {
        let task = self.task.as_deref();
        earliest([
            (
                self.reload.as_ref().map(reload::PendingReload::deadline),
                Timer::ReloadDeadline,
            ),
            (self.restart_at, Timer::RestartDue),
            (instant_of(task.and_then(|t| t.fire_at())), Timer::Fire),
            (task.and_then(|t| t.timeout_at()), Timer::TaskTimeout),
            (self.stable_at, Timer::Stable),
            (self.ready_deadline, Timer::ListenTimeout),
            (self.watchdog_at, Timer::Watchdog),
            (instant_of(self.cron_next), Timer::Cron),
            (self.watching.as_ref().and_then(|w| w.due), Timer::WatchDue),
        ])
    }

    /// Carries out one wake-up; false when the job ends.
    async fn on_wake(&mut self, wake: Wake) -> bool {
        match wake {
            Wake::Cmd(Some(JobCmd::Exit) | None) => {
                self.stop("manual", "pmtui delete".into(), "stopped").await;
                if let Some(path) = self.notify_path() {
                    crate::probe::notify::remove(&path);
                }
                return false;
            }
            Wake::Cmd(Some(cmd)) => self.handle(cmd).await,
            Wake::Exit(status) => {
                if self.task.is_some() {
                    self.on_task_exit(status).await;
                } else {
                    self.on_exit(status).await;
                }
            }
            Wake::RetiringExit(status) => self.on_retiring_exit(status).await,
            Wake::ReloadDeadline => self.on_reload_deadline().await,
            Wake::RestartDue => {
                self.restart_at = None;
                if self.task.is_some() {
                    self.launch_task("retry").await;
                } else {
                    self.launch(true).await;
                }
            }
            Wake::Fire => self.on_fire().await,
            Wake::TaskTimeout => self.on_task_timeout().await,
            Wake::Stable => self.on_stable(),
            Wake::Posted(posted) => self.on_posted(posted).await,
            Wake::ListenTimeout => self.on_listen_timeout(),
            Wake::Watchdog => self.on_watchdog().await,
            Wake::Cron => self.on_cron().await,
            Wake::Change(change) => self.on_change(change),
            Wake::WatchDue => self.on_watch_due().await,
        }
        // Whatever happened may have made a reload's new run ready, or failed it.
        self.check_reload().await;
        true
    }

    async fn handle(&mut self, cmd: JobCmd) {
        if self.task.is_some() {
            return self.handle_task(cmd).await;
        }
        // A command that replaces the run ends a reload under way first (`stop` does too).
        match &cmd {
            JobCmd::Restart { reason, .. } => self.abandon_reload(reason).await,
            JobCmd::Reset { .. } => self.abandon_reload("pmtui reset").await,
            _ => {}
        }
        match cmd {
            JobCmd::Start { reply } => {
                if self.running.is_none() {
                    self.restart_at = None;
                    self.launch(false).await;
                }
                let _ = reply.send(());
            }
            JobCmd::Stop { reply } => {
                if pmtui_proto::faults::fire("job-panic-on-stop", &self.spec.name) {
                    panic!("injected fault: job-panic-on-stop");
                }
                self.stop("manual", "pmtui stop".into(), "stopped").await;
                self.stop_watching();
                let _ = reply.send(());
            }
            JobCmd::Restart { env, reason, reply } => {
                if let Some(env) = env {
                    self.set_env(env);
                }
                // "restart" is what callers said before reasons had a vocabulary.
                let reason = if reason == "restart" {
                    "manual"
                } else {
                    reason
                };
                let detail = self.detail_of(reason);
                // The engine's own reasons (memory limit, watch) never start what a person
                // stopped or what gave up; cron has `cron_revive` for that.
                if reason != "manual" && self.running.is_none() {
                    let _ = reply.send(());
                    return;
                }
                if reason == "memory limit" && self.running.is_some() {
                    self.restart_unwell(reason, detail).await;
                    let _ = reply.send(());
                    return;
                }
                let was_running = self.running.is_some();
                if was_running {
                    self.stop(reason, detail, "restart").await;
                } else {
                    self.restart_at = None;
                    self.record_revival(reason, detail);
                }
                // A person's restart forgives a crash loop; the engine's own do not.
                if reason == "manual" {
                    self.forget();
                }
                // As pm2 counts: starting a stopped, errored or waiting process is not a
                // restart (its crash restarts were counted when they happened).
                self.launch(was_running).await;
                let _ = reply.send(());
            }
            JobCmd::Reset { reply } => {
                self.reset_counters();
                self.shared
                    .update(self.id, |e| e.info.created_at = now_ms());
                if self.status() == Some(ProcessStatus::Errored) {
                    self.record_revival("manual", "pmtui reset".into());
                    self.shared
                        .update(self.id, |e| e.desired = DesiredState::Running);
                    self.launch(false).await;
                }
                let _ = reply.send(());
            }
            JobCmd::Reload { env, reason, reply } => {
                self.begin_reload(env.map(|e| *e), reason, reply).await;
            }
            JobCmd::SetWatch { watch, reply } => {
                Arc::make_mut(&mut self.spec).watch = watch;
                let wanted =
                    self.shared.read(self.id, |e| e.desired) == Some(DesiredState::Running);
                if wanted && self.spec.active_watch().is_some() {
                    self.start_watching().await;
                } else {
                    self.stop_watching();
                }
                let _ = reply.send(());
            }
            JobCmd::SetCount(count) => Arc::make_mut(&mut self.spec).instances = count,
            // Only tasks are run (`Supervisor::run` refuses other apps).
            JobCmd::Run { reply } => {
                let _ = reply.send(());
            }
            JobCmd::Exit => {}
        }
    }

    /// The verbs on a task: `start` schedules it (nothing runs now), `stop` ends its run
    /// and its firings, `restart` runs it again now, `run` runs it now (per `overlap`).
    async fn handle_task(&mut self, cmd: JobCmd) {
        match cmd {
            JobCmd::Start { reply } => {
                self.activate_task();
                let _ = reply.send(());
            }
            JobCmd::Stop { reply } => {
                self.deactivate_task();
                self.stop("manual", "pmtui stop".into(), "stopped").await;
                let _ = reply.send(());
            }
            JobCmd::Restart { reason, reply, .. } => {
                if reason == "manual" || reason == "restart" {
                    self.activate_task();
                    if self.running.is_some() {
                        self.stop("manual", "pmtui restart".into(), "restart").await;
                        self.launch_task("manual").await;
                    }
                } else if self.running.is_some() {
                    // The engine's own reasons (memory limit, watch) end the run; the task
                    // waits for its next firing.
                    let detail = self.detail_of(reason);
                    self.stop(reason, detail, "scheduled").await;
                    let active = self.task.as_ref().is_some_and(|t| t.active);
                    if active {
                        self.shared
                            .update(self.id, |e| e.info.status = ProcessStatus::Scheduled);
                    }
                }
                let _ = reply.send(());
            }
            JobCmd::Run { reply } => {
                self.start_run("manual").await;
                let _ = reply.send(());
            }
            // A task has no run to keep serving: a reload is a restart.
            JobCmd::Reload { reply, .. } => {
                self.activate_task();
                if self.running.is_some() {
                    self.stop("manual", "pmtui reload".into(), "restart").await;
                    self.launch_task("manual").await;
                }
                let _ = reply.send(Ok(()));
            }
            // Recorded; a task's runs are not watched (they come from its schedule).
            JobCmd::SetWatch { watch, reply } => {
                Arc::make_mut(&mut self.spec).watch = watch;
                let _ = reply.send(());
            }
            JobCmd::Reset { reply } => {
                self.reset_counters();
                let _ = reply.send(());
            }
            JobCmd::SetCount(count) => Arc::make_mut(&mut self.spec).instances = count,
            JobCmd::Exit => {}
        }
    }

    /// `pmtui reset`: the restart history and the row's restart counters start again.
    fn reset_counters(&mut self) {
        self.forget();
        self.shared.update(self.id, |e| e.info.restarts = 0);
    }

    /// A new environment (`--update-env`): the new shell's variables, with what the user
    /// set on top as at start.
    fn set_env(&mut self, env: pmtui_proto::EnvMap) {
        let instance = self.instance();
        let spec = Arc::make_mut(&mut self.spec);
        spec.env = env;
        let user_set = spec.config_env.clone();
        spec.env.extend(user_set);
        let cwd = spec.cwd.display().to_string();
        spec.env.insert("PWD".into(), cwd);
        self.shared.envs.intern(&mut spec.env);
        self.env = Arc::new(spawn::child_env(
            &self.spec,
            self.id,
            instance,
            &self.shared.config,
        ));
        let (spec, child_env) = (Arc::clone(&self.spec), Arc::clone(&self.env));
        self.shared.update(self.id, |e| {
            e.spec = spec;
            e.env = child_env;
        });
    }

    fn stop_signal(&self) -> nix::sys::signal::Signal {
        crate::tree::parse_signal(&self.spec.stop_signal)
            .unwrap_or(nix::sys::signal::Signal::SIGTERM)
    }

    fn kill_timeout(&self) -> Duration {
        Duration::from_millis(self.spec.kill_timeout_ms)
    }

    /// The tree of the run whose main process is `main`: its cgroup, or its process group;
    /// with `treekill: false`, the main process alone.
    fn tree_of(&self, main: u32, cgroup: Option<&std::path::Path>) -> crate::contain::Tree {
        if !self.spec.treekill {
            return crate::contain::Tree::Main { pid: main };
        }
        match (cgroup, &self.shared.containment.cgroups) {
            (Some(dir), Some(cgroups)) => crate::contain::Tree::Cgroup {
                dir: dir.to_path_buf(),
                kill_file: cgroups.kill_file,
            },
            _ => crate::contain::Tree::Group(crate::contain::GroupTree::new(
                main,
                self.shared.config.marker(self.id),
                self.shared.managed.clone(),
            )),
        }
    }

    fn status(&self) -> Option<ProcessStatus> {
        self.shared.read(self.id, |e| e.info.status)
    }

    fn instance(&self) -> u32 {
        self.env
            .get("PMTUI_INSTANCE")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }
}
