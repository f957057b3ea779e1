//! One task per process, owning its child (the watchexec model). It selects over its
//! command channel, the child's exit and the restart timer; every change of state is
//! published into the table. Stopping signals the whole process group and every
//! descendant (including ones that left the group), then SIGKILLs what is left after
//! `kill_timeout`.

use crate::logs::{LogSink, pump};
use crate::policy::{self, Decision, ExitInfo, RestartHistory};
use crate::supervisor::Shared;
use crate::{spawn, tree};
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
use tokio::time::Instant;

pub(crate) type JobHandle = mpsc::UnboundedSender<JobCmd>;

pub(crate) enum JobCmd {
    /// Launch if not running.
    Start { reply: oneshot::Sender<()> },
    /// Stop and stay stopped.
    Stop { reply: oneshot::Sender<()> },
    /// Stop if running, then launch; `env` replaces the stored environment.
    Restart {
        env: Option<BTreeMap<String, String>>,
        /// Recorded in the history: `restart`, `cron`, `memory limit`, `watch`, …
        reason: &'static str,
        reply: oneshot::Sender<()>,
    },
    /// Zero the restart counters.
    Reset { reply: oneshot::Sender<()> },
    /// End the task (the process is already stopped).
    Exit,
}

struct Running {
    child: Child,
    pid: u32,
    started: Instant,
}

struct Job {
    shared: Arc<Shared>,
    id: ProcessId,
    spec: ProcessSpec,
    env: BTreeMap<String, String>,
    sink: Arc<LogSink>,
    running: Option<Running>,
    restart_at: Option<Instant>,
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
    let job = Job {
        shared,
        id,
        spec,
        env,
        sink,
        running: None,
        restart_at: None,
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

impl Job {
    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<JobCmd>) {
        loop {
            tokio::select! {
                cmd = rx.recv() => match cmd {
                    Some(JobCmd::Exit) | None => {
                        self.stop("delete").await;
                        break;
                    }
                    Some(cmd) => self.handle(cmd).await,
                },
                status = wait_child(&mut self.running) => self.on_exit(status).await,
                () = wait_until(self.restart_at) => {
                    self.restart_at = None;
                    self.launch(true).await;
                }
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
                self.stop("stop").await;
                let _ = reply.send(());
            }
            JobCmd::Restart { env, reason, reply } => {
                if let Some(env) = env {
                    self.spec.env = env;
                    self.env =
                        spawn::child_env(&self.spec, self.id, self.instance(), &self.shared.config);
                    let (spec, child_env) = (self.spec.clone(), self.env.clone());
                    self.shared.update(self.id, |e| {
                        e.spec = spec;
                        e.env = child_env;
                    });
                }
                self.stop(reason).await;
                self.history.reset();
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
                let _ = reply.send(());
            }
            JobCmd::Exit => {}
        }
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
        match spawn::spawn(&self.spec, &self.env) {
            Ok(mut child) => {
                let pid = child.id().unwrap_or(0);
                self.shared.managed.insert(pid);
                if let Some(out) = child.stdout.take() {
                    tokio::spawn(pump(out, Arc::clone(&self.sink), LogStream::Out));
                }
                if let Some(err) = child.stderr.take() {
                    tokio::spawn(pump(err, Arc::clone(&self.sink), LogStream::Err));
                }
                self.running = Some(Running {
                    child,
                    pid,
                    started: Instant::now(),
                });
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
                let reason = format!("could not start {}: {err}", self.spec.command_line());
                tracing::warn!(id = self.id, %reason);
                self.shared.update(self.id, |e| {
                    e.info.status = ProcessStatus::Errored;
                    e.info.pid = None;
                    e.info.status_reason = Some(reason);
                });
            }
        }
    }

    /// The child exited on its own.
    async fn on_exit(&mut self, status: std::io::Result<ExitStatus>) {
        let Some(running) = self.running.take() else {
            return;
        };
        self.shared.managed.remove(running.pid);
        // What the child left in its group goes with it, as systemd does.
        let signal = tree::parse_signal(&self.spec.stop_signal).unwrap_or(Signal::SIGTERM);
        tree::signal_group(running.pid, signal);
        let pgid = running.pid;
        let grace = Duration::from_millis(self.spec.kill_timeout_ms);
        tokio::spawn(async move {
            tokio::time::sleep(grace).await;
            tree::signal_group(pgid, Signal::SIGKILL);
        });
        let exit = exit_info(&status, running.started.elapsed());
        let now = now_ms();
        let decision = policy::decide(&self.spec.restart, &exit, &self.history, now);
        self.history.note(&self.spec.restart, &exit, &decision, now);
        let (outcome, reason) = match &decision {
            Decision::Restart { .. } => ("restart".to_string(), exit_reason(&exit)),
            Decision::Stop { reason } => (
                "stopped".to_string(),
                format!("{}; {reason}", exit_reason(&exit)),
            ),
            Decision::GiveUp { reason } => ("errored".to_string(), reason.clone()),
        };
        self.shared.record_exit(
            self.id,
            self.exit_record(running.pid, &exit, reason.clone(), outcome),
        );
        self.write_pid_file(None);
        let unstable = self.history.unstable_at.len() as u32;
        self.shared.update(self.id, |e| {
            e.info.pid = None;
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
                    e.info.next_restart_at = Some(now + after_ms);
                    e.info.status_reason = Some(reason);
                });
            }
            Decision::Stop { .. } => self.shared.update(self.id, |e| {
                e.info.status = ProcessStatus::Stopped;
                e.info.status_reason = Some(reason);
                e.desired = crate::DesiredState::Stopped;
            }),
            Decision::GiveUp { .. } => self.shared.update(self.id, |e| {
                e.info.status = ProcessStatus::Errored;
                e.info.status_reason = Some(reason);
            }),
        }
    }

    fn exit_record(
        &self,
        pid: u32,
        exit: &ExitInfo,
        reason: String,
        outcome: String,
    ) -> ExitRecord {
        ExitRecord {
            at: now_ms(),
            pid,
            exit_code: exit.code,
            exit_signal: exit.signal.and_then(signal_name),
            uptime_ms: exit.uptime_ms,
            reason,
            outcome,
            last_stderr: self
                .sink
                .recent(10, Some(LogStream::Err))
                .into_iter()
                .map(|l| l.text)
                .collect(),
        }
    }

    /// Stops the child if one runs (and cancels a pending restart); the status ends `stopped`.
    async fn stop(&mut self, why: &str) {
        self.restart_at = None;
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
        self.shared.record_exit(
            self.id,
            self.exit_record(running.pid, &exit, why.to_string(), "stopped".into()),
        );
        self.write_pid_file(None);
        self.shared.update(self.id, |e| {
            e.info.status = ProcessStatus::Stopped;
            e.info.pid = None;
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
        let table = tree::scan();
        let me = std::process::id();
        let marker = self.shared.config.marker(self.id);
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

fn exit_reason(exit: &ExitInfo) -> String {
    match (exit.code, exit.signal.and_then(signal_name)) {
        (_, Some(sig)) => format!("killed by {sig}"),
        (Some(code), None) => format!("exited with code {code}"),
        (None, None) => "exited".into(),
    }
}

fn signal_name(signal: i32) -> Option<String> {
    Signal::try_from(signal)
        .ok()
        .map(|s| s.as_str().to_string())
}
