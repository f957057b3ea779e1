//! One instance's part in a rolling reload: the new run starts while the old one still
//! serves, and the old one is stopped (its stop signal, then SIGKILL after `kill_timeout`)
//! only once the new one is ready. For that short while the job owns two runs: the new one
//! is the job's `running` (the row's pid, readiness, probes and signals are the new run's,
//! so the one definition of *ready* applies unchanged), the old one waits in `retiring`.
//!
//! Ready, for a reload: with a health probe, its first pass; with `wait_ready`, `READY=1` or
//! `process.send('ready')` (pm2's `listen_timeout` bounds the wait); for a Node app on the
//! daemon's sockets, the preload's "listening" (or, as pm2 does, `listen_timeout` later
//! while it still runs); else still running after `listen_timeout`. If the new run exits,
//! cannot be spawned, fails its probe or is not ready in time, it is stopped and the old
//! run carries on as the job's run again: nothing the old run served was interrupted.
//!
//! Both runs share the process's cgroup in cgroup mode, so while two runs exist each is
//! ended through its own process group and descendants (never `cgroup.kill`, which would
//! take the other run with it).

use super::exit::{clear_run, exit_cause, exit_info, run_ended};
use super::{Job, Running};
use crate::contain;
use crate::probe::{Phase, RunSignals};
use pmtui_proto::{ExitRecord, ProcessStatus, ReloadState, now_ms};
use std::collections::BTreeMap;
use std::process::ExitStatus;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::time::Instant;

/// The answer to a reload command: `Err` says why the new run was not kept.
pub(crate) type ReloadReply = oneshot::Sender<Result<(), String>>;

/// The run a reload replaces, still serving until the new one is ready.
pub(super) struct Retiring {
    running: Running,
    signals: Option<Arc<RunSignals>>,
}

/// How a reload knows the new run is ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReadyBy {
    /// The run's readiness phase (a health probe, or `wait_ready`).
    Phase,
    /// The Node preload's "listening" (or still running at the deadline).
    Listening,
    /// Still running at the deadline (`listen_timeout`).
    Alive,
}

/// A reload waiting for its new run.
pub(super) struct PendingReload {
    reply: ReloadReply,
    by: ReadyBy,
    /// When `by` gives up (`Phase`) or counts the run as ready (`Listening`, `Alive`).
    deadline: Instant,
    /// How long that is, for the message.
    waited: Duration,
    /// The Node preload said the new run listens.
    listened: bool,
    reason: &'static str,
}

impl PendingReload {
    pub(super) fn deadline(&self) -> Instant {
        self.deadline
    }
}

impl Job {
    /// `JobCmd::Reload`: starts the new run beside the old one (or, when nothing runs,
    /// simply starts the process) and answers once the reload of this instance is over.
    pub(super) async fn begin_reload(
        &mut self,
        env: Option<BTreeMap<String, String>>,
        reason: &'static str,
        reply: ReloadReply,
    ) {
        self.abandon_reload("a newer reload replaced it").await;
        if let Some(env) = env {
            self.set_env(env.into());
        }
        let Some(old) = self.running.take() else {
            // Nothing serves, so nothing can be interrupted: started as `restart` would.
            self.restart_at = None;
            self.record_revival(reason, format!("pmtui {reason}"));
            self.forget();
            self.launch(false).await;
            let answer = match self.running {
                Some(_) => Ok(()),
                None => Err(self.why_not_running()),
            };
            let _ = reply.send(answer);
            return;
        };
        let old_pid = old.pid;
        let signals = self.signals.take();
        self.restart_at = None;
        self.stable_at = None;
        self.end_readiness();
        self.retiring = Some(Box::new(Retiring {
            running: old,
            signals,
        }));
        self.set_reload_phase("starting", None, Some(old_pid));
        self.launch(true).await;
        let Some(new_pid) = self.running.as_ref().map(|r| r.pid) else {
            // Not spawned: `launch` recorded why; the old run carries on.
            let why = self.why_not_running();
            self.restore_old(&why).await;
            let _ = reply.send(Err(why));
            return;
        };
        let (by, waited) = self.ready_by();
        self.reload = Some(PendingReload {
            reply,
            by,
            deadline: Instant::now() + waited,
            waited,
            listened: false,
            reason,
        });
        self.set_reload_phase("waiting for ready", Some(new_pid), Some(old_pid));
        self.check_reload().await;
    }

    /// How this process's new run shows it is ready, and how long a reload waits for it.
    fn ready_by(&self) -> (ReadyBy, Duration) {
        let listen_timeout = Duration::from_millis(self.spec.listen_timeout());
        if let Some(check) = &self.spec.health_check {
            // Long enough for the probe itself to fail (`retries` failures in a row).
            let probe = check.initial_delay_ms
                + (check.interval_ms + check.timeout_ms) * (u64::from(check.retries) + 1);
            (
                ReadyBy::Phase,
                listen_timeout.max(Duration::from_millis(probe)),
            )
        } else if self.spec.wait_ready {
            // `listen_timeout` makes the phase `timeout` first; this is only a backstop.
            (ReadyBy::Phase, listen_timeout + Duration::from_secs(1))
        } else if self.spec.is_node() && !self.spec.sockets().is_empty() {
            (ReadyBy::Listening, listen_timeout)
        } else {
            (ReadyBy::Alive, listen_timeout)
        }
    }

    /// Finishes the pending reload if its new run is ready, or has failed.
    pub(super) async fn check_reload(&mut self) {
        let Some(pending) = &self.reload else {
            return;
        };
        let phase = self.shared.read(self.id, |e| e.phase());
        let outcome = match (pending.by, phase) {
            (_, Some(Phase::Ended(why) | Phase::Unhealthy(why))) => Some(Err(why)),
            (ReadyBy::Phase, Some(Phase::Ready)) => Some(Ok(())),
            (ReadyBy::Phase, Some(Phase::TimedOut)) => Some(Err(format!(
                "not ready within listen_timeout ({} ms): no READY=1 or process.send('ready')",
                self.spec.listen_timeout()
            ))),
            (ReadyBy::Listening, _) if pending.listened => Some(Ok(())),
            _ => None,
        };
        match outcome {
            Some(Ok(())) => self.reload_succeeded().await,
            Some(Err(why)) => self.fail_reload(why).await,
            None => {}
        }
    }

    /// The reload's deadline passed: a run that only had to keep running is ready, one
    /// that had to say so is late.
    pub(super) async fn on_reload_deadline(&mut self) {
        let Some(pending) = &self.reload else {
            return;
        };
        match pending.by {
            ReadyBy::Listening | ReadyBy::Alive => self.reload_succeeded().await,
            ReadyBy::Phase => {
                let why = format!("not ready within {} ms", pending.waited.as_millis());
                self.fail_reload(why).await;
            }
        }
    }

    /// The Node preload said the current run listens.
    pub(super) fn on_listening(&mut self) {
        if let Some(pending) = &mut self.reload {
            pending.listened = true;
        }
    }

    /// The new run is ready: the old one is stopped and the reload of this instance is done.
    async fn reload_succeeded(&mut self) {
        let Some(pending) = self.reload.take() else {
            return;
        };
        let new_pid = self.running.as_ref().map(|r| r.pid);
        if let Some(old) = self.retiring.take() {
            self.set_reload_phase("stopping old", new_pid, Some(old.running.pid));
            // A watch reload names the change, as a watch restart does.
            let why = match pending.reason {
                "watch" => self.watch_detail(),
                reason => format!("pmtui {reason}"),
            };
            let detail = match new_pid {
                Some(pid) => format!("{why}: replaced by pid {pid}"),
                None => why,
            };
            self.end_retiring(old, pending.reason, detail, "restart")
                .await;
        }
        let _ = pending.reply.send(Ok(()));
    }

    /// The new run will not do: it is stopped (if it still runs) and the old one carries on.
    pub(super) async fn fail_reload(&mut self, why: String) {
        let Some(pending) = self.reload.take() else {
            return;
        };
        if let Some(mut new) = self.running.take() {
            self.stable_at = None;
            self.end_readiness();
            let status = self.end_run(&mut new, false).await;
            let exit = exit_info(&status, new.started.elapsed());
            let last_stderr = self.last_stderr(&mut new).await;
            let now = now_ms();
            let old = self.retiring.as_ref().map(|r| r.running.pid);
            self.shared.record_exit(
                self.id,
                ExitRecord {
                    reason: pending.reason.into(),
                    detail: match old {
                        Some(pid) => format!(
                            "the new run failed ({why}); stopped, the old run (pid {pid}) carries on"
                        ),
                        None => format!("the new run failed ({why}); stopped"),
                    },
                    outcome: "stopped".into(),
                    ..run_ended(now, new.pid, &exit, last_stderr)
                },
            );
            self.shared.update(self.id, |e| {
                clear_run(e, &exit, &format!("stopped ({why})"))
            });
        }
        self.restore_old(&why).await;
        let _ = pending.reply.send(Err(why));
    }

    /// The new run exited on its own during the reload (crashed at start, say): recorded
    /// without the restart policy, and the old run carries on. `false` when there is no
    /// old run to go back to (it ended meanwhile): the exit is then handled as any other.
    pub(super) async fn new_run_exited(&mut self, status: &std::io::Result<ExitStatus>) -> bool {
        if self.reload.is_none() || self.retiring.is_none() {
            if let Some(pending) = self.reload.take() {
                let _ = pending
                    .reply
                    .send(Err("the new run exited and the old one had ended".into()));
            }
            return false;
        }
        let Some(mut new) = self.running.take() else {
            return false;
        };
        self.stable_at = None;
        self.end_readiness();
        self.shared.managed.remove(new.pid);
        let exit = exit_info(status, new.started.elapsed());
        // What it left goes with it (its own tree: the old run shares the cgroup).
        let mut tree = self.tree_of(new.pid, None);
        if self.spec.treekill && !tree.is_empty() {
            contain::end(&mut tree, self.stop_signal(), self.kill_timeout(), None).await;
        }
        let last_stderr = self.last_stderr(&mut new).await;
        let (cause, what) = exit_cause(&exit, false);
        let mut why = what.clone();
        if let Some(line) = last_stderr.last() {
            why += &format!(" (stderr: {})", line.trim());
        }
        let old = self.retiring.as_ref().map_or(0, |r| r.running.pid);
        let now = now_ms();
        self.shared.record_exit(
            self.id,
            ExitRecord {
                reason: cause.into(),
                detail: format!("{what}; a reload started it, the old run (pid {old}) carries on"),
                outcome: "stopped".into(),
                ..run_ended(now, new.pid, &exit, last_stderr)
            },
        );
        self.shared.update(self.id, |e| clear_run(e, &exit, &what));
        if let Some(pending) = self.reload.take() {
            self.restore_old(&why).await;
            let _ = pending.reply.send(Err(why));
        }
        true
    }

    /// The old run exited on its own while a reload replaced it: recorded, nothing restarted
    /// (the new run takes over).
    pub(super) async fn on_retiring_exit(&mut self, status: std::io::Result<ExitStatus>) {
        let Some(mut old) = self.retiring.take() else {
            return;
        };
        self.shared.managed.remove(old.running.pid);
        let exit = exit_info(&status, old.running.started.elapsed());
        let (cause, what) = exit_cause(&exit, false);
        let now = now_ms();
        let _ = self.last_stderr(&mut old.running).await;
        self.shared.record_exit(
            self.id,
            ExitRecord {
                reason: cause.into(),
                detail: format!("{what} while a reload replaced it"),
                outcome: "stopped".into(),
                ..run_ended(now, old.running.pid, &exit, Vec::new())
            },
        );
    }

    /// A command that stops or restarts the process arrived during a reload: the reload is
    /// over (its caller is told why) and the old run is stopped; the command then acts on
    /// the new run.
    pub(super) async fn abandon_reload(&mut self, why: &str) {
        if let Some(pending) = self.reload.take() {
            let _ = pending.reply.send(Err(format!("interrupted: {why}")));
        }
        if let Some(old) = self.retiring.take() {
            self.end_retiring(
                old,
                "manual",
                format!("reload interrupted: {why}"),
                "stopped",
            )
            .await;
        }
    }

    /// Stops the old run of a reload and records it.
    async fn end_retiring(
        &mut self,
        mut old: Box<Retiring>,
        reason: &str,
        detail: String,
        outcome: &str,
    ) {
        let status = self.end_run(&mut old.running, false).await;
        let exit = exit_info(&status, old.running.started.elapsed());
        let now = now_ms();
        self.shared.record_exit(
            self.id,
            ExitRecord {
                reason: reason.into(),
                detail,
                outcome: outcome.into(),
                next_restart_at: (outcome == "restart").then_some(now),
                // Its stderr lines are mixed with the new run's in the sink: none kept.
                ..run_ended(now, old.running.pid, &exit, Vec::new())
            },
        );
    }

    /// Makes the old run of a failed reload the job's run again, as it was.
    async fn restore_old(&mut self, why: &str) {
        let Some(Retiring { running, signals }) = self.retiring.take().map(|r| *r) else {
            return;
        };
        let pid = running.pid;
        let started_ms = now_ms().saturating_sub(running.started.elapsed().as_millis() as u64);
        // The failed new run's socket has no reader now; the old run keeps its own.
        self.notify = None;
        self.running = Some(running);
        self.signals = signals;
        self.restart_at = None;
        self.stable_at = Some(Instant::now());
        self.arm_watchdog();
        self.write_pid_file(Some(pid));
        let start_time = crate::tree::start_time(pid);
        let reason = format!("reload failed: {why}; the old run carries on");
        self.shared.update(self.id, |e| {
            e.info.status = ProcessStatus::Online;
            e.info.pid = Some(pid);
            e.info.started_at = Some(started_ms);
            e.info.exit_code = None;
            e.info.exit_signal = None;
            e.pid_start_time = start_time;
            e.begin_run(Phase::Ready);
            e.info.status_reason = Some(reason);
            e.fd_shortage = false;
        });
    }

    /// Why the process does not run now, from its row.
    fn why_not_running(&self) -> String {
        self.shared
            .read(self.id, |e| e.info.status_reason.clone())
            .flatten()
            .unwrap_or_else(|| "it did not start".into())
    }

    /// Shows where this instance is in the reload, when the caller marked it as part of one.
    fn set_reload_phase(&self, phase: &str, new_pid: Option<u32>, old_pid: Option<u32>) {
        self.shared.update(self.id, |e| {
            let (step, of) = e.info.reload.as_ref().map_or((1, 1), |r| (r.step, r.of));
            e.info.reload = Some(ReloadState {
                phase: phase.into(),
                step,
                of,
                new_pid,
                old_pid,
                since: now_ms(),
            });
        });
    }
}

pub(super) async fn wait_retiring(
    retiring: &mut Option<Box<Retiring>>,
) -> std::io::Result<ExitStatus> {
    match retiring {
        // Boxed: room for the wait only during a reload, not in every job's loop.
        Some(r) => Box::pin(r.running.child.wait()).await,
        None => std::future::pending().await,
    }
}
