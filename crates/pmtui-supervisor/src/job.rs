//! One task per process, owning its child (the watchexec model). It selects over its
//! command channel, the child's exit, the restart (backoff) timer, the stable-period timer
//! and the cron timer; every change of state is published into the table, every exit and
//! restart into the history. Stopping signals the whole process group and every
//! descendant (including ones that left the group), then SIGKILLs what is left after
//! `kill_timeout`.

use crate::cron::CronSchedule;
use crate::logs::{LogSink, pump};
use crate::policy::{self, Decision, ExitInfo, RestartHistory};
use crate::record::DesiredState;
use crate::supervisor::Shared;
use crate::{oom, spawn, tree};
use jiff::Timestamp;
use nix::sys::signal::Signal;
use pmtui_proto::{ExitRecord, LogStream, ProcessId, ProcessSpec, ProcessStatus, now_ms};
use std::collections::BTreeMap;
use std::future::Future;
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::sync::Arc;
use std::time::Duration;
use tokio::process::Child;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;

pub(crate) type JobHandle = mpsc::UnboundedSender<JobCmd>;

/// How long an exit waits for the stderr pump to read what the child wrote last, when a
/// descendant keeps the pipe open.
const STDERR_DRAIN: Duration = Duration::from_millis(200);
/// Stderr lines kept with each exit record.
const LAST_STDERR_LINES: usize = 10;

pub(crate) enum JobCmd {
    /// Launch if not running.
    Start { reply: oneshot::Sender<()> },
    /// Stop and stay stopped.
    Stop { reply: oneshot::Sender<()> },
    /// Stop if running, then launch; `env` replaces the stored environment (the variables
    /// the user set, `config_env`, stay on top).
    Restart {
        env: Option<BTreeMap<String, String>>,
        /// Recorded in the history: `manual`, `cron`, `memory limit`, `watch`, … Only
        /// `manual` starts a process that is not running.
        reason: &'static str,
        reply: oneshot::Sender<()>,
    },
    /// Zero the restart counters; an `errored` process is started again.
    Reset { reply: oneshot::Sender<()> },
    /// End the task (the process is already stopped).
    Exit,
}

struct Running {
    child: Child,
    pid: u32,
    started: Instant,
    /// The sink's last line number before this run, to tell this run's stderr from older.
    log_seq: u64,
    err_pump: Option<JoinHandle<()>>,
    /// The kernel's OOM-kill count when the run started.
    oom_kills: Option<u64>,
}

struct Job {
    shared: Arc<Shared>,
    id: ProcessId,
    spec: ProcessSpec,
    env: BTreeMap<String, String>,
    sink: Arc<LogSink>,
    running: Option<Running>,
    /// A pending restart (`waiting restart`).
    restart_at: Option<Instant>,
    /// When the current run has been up for `stable_after`.
    stable_at: Option<Instant>,
    cron: Option<CronSchedule>,
    /// The next firing time of `cron` (wall clock).
    cron_next: Option<Timestamp>,
    history: RestartHistory,
}

pub(crate) fn spawn_job(
    shared: Arc<Shared>,
    id: ProcessId,
    spec: ProcessSpec,
    env: BTreeMap<String, String>,
    sink: Arc<LogSink>,
) -> (JobHandle, impl Future<Output = ()> + Send + 'static) {
    let (tx, rx) = mpsc::unbounded_channel();
    let cron = spec
        .cron_restart
        .as_deref()
        .filter(|p| !p.trim().is_empty())
        .and_then(|pattern| match CronSchedule::parse(pattern) {
            Ok(schedule) => Some(schedule),
            Err(err) => {
                // `validate` refuses bad patterns; this is a definition from an older daemon.
                tracing::warn!(id, %err, "cron_restart ignored");
                None
            }
        });
    let cron_next = cron.as_ref().and_then(|c| c.next_after(Timestamp::now()));
    let job = Job {
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
    };
    (tx, job.run(rx))
}

async fn wait_child(running: &mut Option<Running>) -> std::io::Result<ExitStatus> {
    match running {
        Some(r) => r.child.wait().await,
        None => std::future::pending().await,
    }
}

async fn wait_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
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

impl Job {
    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<JobCmd>) {
        loop {
            tokio::select! {
                cmd = rx.recv() => match cmd {
                    Some(JobCmd::Exit) | None => {
                        self.stop("manual", "pmtui delete".into(), "stopped").await;
                        break;
                    }
                    Some(cmd) => self.handle(cmd).await,
                },
                status = wait_child(&mut self.running) => self.on_exit(status).await,
                () = wait_until(self.restart_at) => {
                    self.restart_at = None;
                    self.launch(true).await;
                }
                () = wait_until(self.stable_at) => self.on_stable(),
                () = wait_until(instant_of(self.cron_next)) => self.on_cron().await,
            }
        }
    }

    async fn handle(&mut self, cmd: JobCmd) {
        match cmd {
            JobCmd::Start { reply } => {
                if self.running.is_none() {
                    self.restart_at = None;
                    self.launch(false).await;
                }
                let _ = reply.send(());
            }
            JobCmd::Stop { reply } => {
                self.stop("manual", "pmtui stop".into(), "stopped").await;
                let _ = reply.send(());
            }
            JobCmd::Restart { env, reason, reply } => {
                if let Some(env) = env {
                    // The new shell's variables, with what the user set on top as at start.
                    self.spec.env = env;
                    let user_set = self.spec.config_env.clone();
                    self.spec.env.extend(user_set);
                    let cwd = self.spec.cwd.display().to_string();
                    self.spec.env.insert("PWD".into(), cwd);
                    self.env =
                        spawn::child_env(&self.spec, self.id, self.instance(), &self.shared.config);
                    let (spec, child_env) = (self.spec.clone(), self.env.clone());
                    self.shared.update(self.id, |e| {
                        e.spec = spec;
                        e.env = child_env;
                    });
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
                    self.restart_over_memory(detail).await;
                    let _ = reply.send(());
                    return;
                }
                if self.running.is_some() {
                    self.stop(reason, detail, "restart").await;
                } else {
                    self.restart_at = None;
                    self.record_revival(reason, detail);
                }
                // A person's restart forgives a crash loop; the engine's own do not.
                if reason == "manual" {
                    self.forget();
                }
                self.launch(true).await;
                let _ = reply.send(());
            }
            JobCmd::Reset { reply } => {
                self.history.reset();
                self.shared.update(self.id, |e| {
                    e.info.restarts = 0;
                    e.info.unstable_restarts = 0;
                    e.info.created_at = now_ms();
                });
                if self.status() == Some(ProcessStatus::Errored) {
                    self.record_revival("manual", "pmtui reset".into());
                    self.shared
                        .update(self.id, |e| e.desired = DesiredState::Running);
                    self.launch(false).await;
                }
                let _ = reply.send(());
            }
            JobCmd::Exit => {}
        }
    }

    fn status(&self) -> Option<ProcessStatus> {
        self.shared.read(self.id, |e| e.info.status)
    }

    /// The sentence recorded with an engine or manual restart.
    fn detail_of(&self, reason: &str) -> String {
        match reason {
            "manual" => "pmtui restart".into(),
            "cron" => format!(
                "scheduled restart (cron_restart {:?})",
                self.spec.cron_restart.as_deref().unwrap_or_default()
            ),
            "memory limit" => match self.spec.max_memory_restart {
                Some(limit) => format!(
                    "memory of the process tree above max_memory_restart ({})",
                    human_bytes(limit)
                ),
                None => "memory limit exceeded".into(),
            },
            "watch" => "a watched file changed".into(),
            other => other.to_string(),
        }
    }

    /// A memory-limit restart goes through the restart policy like a crash (whatever the
    /// mode: the process did not choose to exit): a run that hit the limit within
    /// `min_uptime` is unstable, so a process that outgrows its limit at once backs off and
    /// ends `errored` as a crash loop instead of restarting on every metrics sample.
    async fn restart_over_memory(&mut self, detail: String) {
        let Some(running) = &self.running else {
            return;
        };
        let exit = ExitInfo {
            code: None,
            signal: None,
            uptime_ms: running.started.elapsed().as_millis() as u64,
        };
        let mut policy = self.spec.restart.clone();
        policy.mode = pmtui_proto::RestartMode::Always;
        policy.stop_exit_codes.clear();
        let now = now_ms();
        let decision = policy::decide(&policy, &exit, &self.history, now);
        self.history.note(&policy, &exit, &decision, now);
        match &decision {
            Decision::Restart { after_ms: 0, .. } => {
                self.stop("memory limit", detail, "restart").await;
                self.set_unstable(&policy);
                self.launch(true).await;
            }
            Decision::Restart { after_ms, .. } => {
                let after_ms = *after_ms;
                let why = format!("{detail}; restarting in {after_ms} ms");
                self.stop("memory limit", why.clone(), "restart").await;
                self.set_unstable(&policy);
                self.restart_at = Some(Instant::now() + Duration::from_millis(after_ms));
                let due = now_ms() + after_ms;
                self.shared.update(self.id, |e| {
                    e.info.status = ProcessStatus::WaitingRestart;
                    e.info.next_restart_at = Some(due);
                    e.info.status_reason = Some(why);
                    // The record `stop` just wrote: the restart is due later than at once.
                    if let Some(last) = e.history.back_mut() {
                        last.next_restart_at = Some(due);
                    }
                });
            }
            Decision::Stop { reason } | Decision::GiveUp { reason } => {
                let why = format!("{detail}; {reason}");
                self.stop("crash loop", why.clone(), "errored").await;
                self.set_unstable(&policy);
                self.shared.update(self.id, |e| {
                    e.info.status = ProcessStatus::Errored;
                    e.info.status_reason = Some(format!("crash loop: {why}"));
                });
            }
        }
    }

    fn set_unstable(&self, policy: &pmtui_proto::RestartPolicy) {
        let unstable = self.history.unstable_count(policy, now_ms());
        self.shared
            .update(self.id, |e| e.info.unstable_restarts = unstable);
    }

    /// Records that a process that was not running (stopped, errored or waiting) is
    /// started again, so that "why is it running?" has an answer too.
    fn record_revival(&self, reason: &str, detail: String) {
        let was = self.status().unwrap_or(ProcessStatus::Stopped);
        let now = now_ms();
        self.shared.record_exit(
            self.id,
            ExitRecord {
                at: now,
                pid: 0,
                exit_code: None,
                exit_signal: None,
                uptime_ms: 0,
                reason: reason.to_string(),
                detail: format!("{detail} (was {was})"),
                outcome: "restart".into(),
                next_restart_at: Some(now),
                last_stderr: Vec::new(),
            },
        );
    }

    fn instance(&self) -> u32 {
        self.env
            .get("PMTUI_INSTANCE")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }

    /// Starts the child; `count` adds one to `restarts`.
    async fn launch(&mut self, count: bool) {
        self.shared.update(self.id, |e| {
            e.info.status = ProcessStatus::Launching;
            e.info.next_restart_at = None;
            if count {
                e.info.restarts += 1;
            }
        });
        let log_seq = self.sink.last_seq();
        let oom_kills = oom::kill_count();
        match spawn::spawn(&self.spec, &self.env) {
            Ok(mut child) => {
                let pid = child.id().unwrap_or(0);
                self.shared.managed.insert(pid);
                if let Some(out) = child.stdout.take() {
                    tokio::spawn(pump(
                        out,
                        Arc::clone(&self.sink),
                        LogStream::Out,
                        self.shared.writer.clone(),
                    ));
                }
                let err_pump = child.stderr.take().map(|err| {
                    tokio::spawn(pump(
                        err,
                        Arc::clone(&self.sink),
                        LogStream::Err,
                        self.shared.writer.clone(),
                    ))
                });
                let started = Instant::now();
                self.running = Some(Running {
                    child,
                    pid,
                    started,
                    log_seq,
                    err_pump,
                    oom_kills,
                });
                let stable = policy::stable_period_ms(&self.spec.restart);
                self.stable_at = Some(started + Duration::from_millis(stable));
                let start_time = tree::start_time(pid);
                self.write_pid_file(Some(pid));
                self.shared.update(self.id, |e| {
                    e.info.status = ProcessStatus::Online;
                    e.info.pid = Some(pid);
                    e.info.started_at = Some(now_ms());
                    e.info.status_reason = None;
                    e.pid_start_time = start_time;
                });
            }
            Err(err) => {
                let detail = format!("could not start {}: {err}", self.spec.command_line());
                tracing::warn!(id = self.id, %detail);
                let now = now_ms();
                self.shared.record_exit(
                    self.id,
                    ExitRecord {
                        at: now,
                        pid: 0,
                        exit_code: None,
                        exit_signal: None,
                        uptime_ms: 0,
                        reason: "spawn error".into(),
                        detail: detail.clone(),
                        outcome: "errored".into(),
                        next_restart_at: None,
                        last_stderr: Vec::new(),
                    },
                );
                self.shared.update(self.id, |e| {
                    e.info.status = ProcessStatus::Errored;
                    e.info.pid = None;
                    e.info.cpu = 0.0;
                    e.info.memory = 0;
                    e.info.status_reason = Some(detail);
                });
            }
        }
    }

    /// The current run has been up for `stable_after`: the backoff and the crash-loop count
    /// start afresh.
    fn on_stable(&mut self) {
        self.stable_at = None;
        if self.history != RestartHistory::default() {
            tracing::debug!(id = self.id, "stable: restart backoff reset");
            self.forget();
        }
    }

    /// Clears the backoff and the crash-loop count.
    fn forget(&mut self) {
        self.history.reset();
        self.shared
            .update(self.id, |e| e.info.unstable_restarts = 0);
    }

    /// `cron_restart` fired: restart what runs; start what is stopped or errored only with
    /// `cron_revive`; leave a pending restart to its backoff.
    async fn on_cron(&mut self) {
        let fired = self.cron_next.take().unwrap_or_else(Timestamp::now);
        let from = fired.max(Timestamp::now());
        self.cron_next = self.cron.as_ref().and_then(|c| c.next_after(from));
        if self.running.is_some() {
            let detail = self.detail_of("cron");
            self.stop("cron", detail, "restart").await;
            self.launch(true).await;
        } else if self.restart_at.is_none() && self.spec.cron_revive {
            self.record_revival("cron", self.detail_of("cron"));
            self.forget();
            self.shared
                .update(self.id, |e| e.desired = DesiredState::Running);
            self.launch(true).await;
        }
    }

    /// The child exited on its own.
    async fn on_exit(&mut self, status: std::io::Result<ExitStatus>) {
        let Some(mut running) = self.running.take() else {
            return;
        };
        self.stable_at = None;
        self.shared.managed.remove(running.pid);
        let exit = exit_info(&status, running.started.elapsed());
        // What the child left in its group goes with it, as systemd does.
        let signal = tree::parse_signal(&self.spec.stop_signal).unwrap_or(Signal::SIGTERM);
        tree::signal_group(running.pid, signal);
        let pgid = running.pid;
        let grace = Duration::from_millis(self.spec.kill_timeout_ms);
        tokio::spawn(async move {
            tokio::time::sleep(grace).await;
            tree::signal_group(pgid, Signal::SIGKILL);
        });
        let last_stderr = self.last_stderr(&mut running).await;
        let oom = exit.signal == Some(Signal::SIGKILL as i32)
            && matches!((running.oom_kills, oom::kill_count()), (Some(a), Some(b)) if b > a);
        let (cause, what) = exit_cause(&exit, oom);
        let now = now_ms();
        let policy = &self.spec.restart;
        let decision = policy::decide(policy, &exit, &self.history, now);
        self.history.note(policy, &exit, &decision, now);
        let (reason, detail, outcome, next_restart_at) = match &decision {
            Decision::Restart { after_ms, .. } => (cause, what, "restart", Some(now + after_ms)),
            Decision::Stop { reason } => (cause, format!("{what}; {reason}"), "stopped", None),
            Decision::GiveUp { reason } => {
                ("crash loop", format!("{what}; {reason}"), "errored", None)
            }
        };
        self.shared.record_exit(
            self.id,
            ExitRecord {
                at: now,
                pid: running.pid,
                exit_code: exit.code,
                exit_signal: exit.signal.and_then(signal_name),
                uptime_ms: exit.uptime_ms,
                reason: reason.into(),
                detail: detail.clone(),
                outcome: outcome.into(),
                next_restart_at,
                last_stderr,
            },
        );
        self.write_pid_file(None);
        let unstable = self.history.unstable_count(policy, now);
        self.shared.update(self.id, |e| {
            e.info.pid = None;
            e.info.cpu = 0.0;
            e.info.memory = 0;
            e.info.exit_code = exit.code;
            e.info.exit_signal = exit.signal.and_then(signal_name);
            e.info.unstable_restarts = unstable;
        });
        match decision {
            Decision::Restart { after_ms: 0, .. } => self.launch(true).await,
            Decision::Restart { after_ms, .. } => {
                self.restart_at = Some(Instant::now() + Duration::from_millis(after_ms));
                self.shared.update(self.id, |e| {
                    e.info.status = ProcessStatus::WaitingRestart;
                    e.info.next_restart_at = next_restart_at;
                    e.info.status_reason = Some(format!("{detail}; restarting in {after_ms} ms"));
                });
            }
            Decision::Stop { .. } => self.shared.update(self.id, |e| {
                e.info.status = ProcessStatus::Stopped;
                e.info.status_reason = Some(detail);
                e.desired = DesiredState::Stopped;
            }),
            Decision::GiveUp { .. } => self.shared.update(self.id, |e| {
                e.info.status = ProcessStatus::Errored;
                e.info.status_reason = Some(format!("crash loop: {detail}"));
            }),
        }
    }

    /// The last stderr lines of this run, once the pump has read what the child wrote last
    /// (bounded: a descendant may hold the pipe open).
    async fn last_stderr(&self, running: &mut Running) -> Vec<String> {
        if let Some(pump) = running.err_pump.as_mut() {
            let _ = tokio::time::timeout(STDERR_DRAIN, pump).await;
        }
        // What the pump read is queued for the writer thread; wait until it is in the ring.
        let _ = tokio::time::timeout(STDERR_DRAIN, self.shared.writer.barrier()).await;
        self.sink
            .recent(LAST_STDERR_LINES, Some(LogStream::Err))
            .into_iter()
            .filter(|l| l.seq > running.log_seq)
            .map(|l| l.text)
            .collect()
    }

    /// Stops the child if one runs (and cancels a pending restart), recording why; the
    /// status ends `stopped` (the caller launches again for a restart).
    async fn stop(&mut self, reason: &str, detail: String, outcome: &str) {
        self.restart_at = None;
        self.stable_at = None;
        let Some(mut running) = self.running.take() else {
            self.shared.update(self.id, |e| {
                if e.info.status != ProcessStatus::Stopped {
                    e.info.status = ProcessStatus::Stopped;
                    e.info.next_restart_at = None;
                    e.info.status_reason = None;
                }
            });
            return;
        };
        self.shared
            .update(self.id, |e| e.info.status = ProcessStatus::Stopping);
        let signal = tree::parse_signal(&self.spec.stop_signal).unwrap_or(Signal::SIGTERM);
        let mut members = self.members(running.pid);
        tree::signal_group(running.pid, signal);
        for pid in &members {
            tree::signal_pid(*pid, signal);
        }
        let deadline = Instant::now() + Duration::from_millis(self.spec.kill_timeout_ms);
        let status = match tokio::time::timeout_at(deadline, running.child.wait()).await {
            Ok(status) => status,
            Err(_) => {
                members.extend(self.members(running.pid));
                self.kill_all(running.pid, &members);
                running.child.wait().await
            }
        };
        self.shared.managed.remove(running.pid);
        // Descendants that outlive the main process get the rest of the grace period.
        while Instant::now() < deadline && !members.iter().all(|p| tree::is_dead(*p)) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        members.extend(self.members(running.pid));
        self.kill_all(running.pid, &members);
        let exit = exit_info(&status, running.started.elapsed());
        let last_stderr = self.last_stderr(&mut running).await;
        let now = now_ms();
        self.shared.record_exit(
            self.id,
            ExitRecord {
                at: now,
                pid: running.pid,
                exit_code: exit.code,
                exit_signal: exit.signal.and_then(signal_name),
                uptime_ms: exit.uptime_ms,
                reason: reason.to_string(),
                detail,
                outcome: outcome.to_string(),
                next_restart_at: (outcome == "restart").then_some(now),
                last_stderr,
            },
        );
        self.write_pid_file(None);
        self.shared.update(self.id, |e| {
            e.info.status = ProcessStatus::Stopped;
            e.info.pid = None;
            // A stopped process uses nothing; the next sample would say so up to a second late.
            e.info.cpu = 0.0;
            e.info.memory = 0;
            e.info.exit_code = exit.code;
            e.info.exit_signal = exit.signal.and_then(signal_name);
            e.info.next_restart_at = None;
            e.info.status_reason = None;
        });
    }

    fn kill_all(&self, pgid: u32, members: &[u32]) {
        tree::signal_group(pgid, Signal::SIGKILL);
        for pid in members {
            if !tree::is_dead(*pid) {
                tree::signal_pid(*pid, Signal::SIGKILL);
            }
        }
    }

    /// Every live process that belongs to this job besides the main one: its descendants,
    /// and orphans re-parented to the daemon that carry this job's marker (with theirs).
    fn members(&self, main: u32) -> Vec<u32> {
        let me = std::process::id();
        let marker = self.shared.config.marker(self.id);
        if tree::children_files() {
            // Only the daemon's children and this job's tree are read, not all of /proc:
            // a full scan per stopped process made `stop all` quadratic in the host's
            // process count.
            let mut roots = vec![main];
            roots.extend(tree::children_of(me).into_iter().filter(|pid| {
                *pid != main
                    && !self.shared.managed.contains(*pid)
                    && tree::marker_of(*pid).as_deref() == Some(marker.as_str())
            }));
            let mut members = tree::descendants_of(&roots);
            members.extend(roots.into_iter().filter(|p| *p != main));
            return members;
        }
        let table = tree::scan();
        let mut roots = vec![main];
        roots.extend(
            table
                .iter()
                .filter(|e| e.ppid == me && e.pid != main && !self.shared.managed.contains(e.pid))
                .filter(|e| tree::marker_of(e.pid).as_deref() == Some(marker.as_str()))
                .map(|e| e.pid),
        );
        let mut members = tree::descendants(&table, &roots);
        members.extend(roots.into_iter().filter(|p| *p != main));
        members
    }

    fn write_pid_file(&self, pid: Option<u32>) {
        let path = self.shared.config.pids_dir().join(format!(
            "{}-{}.pid",
            crate::supervisor::sanitize(&self.spec.name),
            self.id
        ));
        let result = match pid {
            Some(pid) => std::fs::create_dir_all(self.shared.config.pids_dir())
                .and_then(|()| std::fs::write(&path, pid.to_string())),
            None => std::fs::remove_file(&path).or(Ok(())),
        };
        if let Err(err) = result {
            tracing::debug!(?path, %err, "pid file not written");
        }
    }
}

fn exit_info(status: &std::io::Result<ExitStatus>, uptime: Duration) -> ExitInfo {
    let (code, signal) = match status {
        Ok(s) => (s.code(), s.signal()),
        Err(_) => (None, None),
    };
    ExitInfo {
        code,
        signal,
        uptime_ms: uptime.as_millis() as u64,
    }
}

/// The kind of an exit (`exit code`, `signal`, `out of memory`) and a sentence for it.
fn exit_cause(exit: &ExitInfo, oom: bool) -> (&'static str, String) {
    match (exit.code, exit.signal.and_then(signal_name)) {
        (_, Some(sig)) if oom => (
            "out of memory",
            format!("killed by {sig} while the kernel's OOM killer ran"),
        ),
        (_, Some(sig)) => ("signal", format!("killed by {sig}")),
        (Some(code), None) => ("exit code", format!("exited with code {code}")),
        (None, None) => ("exit code", "exited".into()),
    }
}

/// `524288000` → `500.0 MiB`.
fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

fn signal_name(signal: i32) -> Option<String> {
    Signal::try_from(signal)
        .ok()
        .map(|s| s.as_str().to_string())
}
