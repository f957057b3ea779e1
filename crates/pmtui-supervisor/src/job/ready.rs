//! The job's side of readiness: how a new run starts out (ready at once, or pending on its
//! signal with `listen_timeout` running), what the app's own messages change (sd_notify
//! and Node's `process.send('ready')`), and the watchdog.

use super::Job;
use crate::probe::runner::ProbeReport;
use crate::probe::{Phase, Posted};
use pmtui_proto::{Health, OnFailure, ProcessStatus};
use std::path::PathBuf;
use std::time::Duration;
use tokio::time::Instant;

impl Job {
    /// The status and phase a run that started at `started` begins in, with its timers set:
    /// with `wait_ready` it is `launching` and pending until the app's signal or
    /// `listen_timeout`; otherwise it is ready at once (nothing is awaited).
    pub(super) fn begin_readiness(&mut self, started: Instant) -> (ProcessStatus, Phase) {
        self.watchdog_at = None;
        if self.spec.health_check.is_some() {
            // The probe decides: its first pass makes the run ready (`wait_ready` and
            // `listen_timeout` do not apply).
            self.ready_deadline = None;
            (ProcessStatus::Online, Phase::Pending)
        } else if self.spec.wait_ready {
            let wait = Duration::from_millis(self.spec.listen_timeout());
            self.ready_deadline = Some(started + wait);
            (ProcessStatus::Launching, Phase::Pending)
        } else {
            self.ready_deadline = None;
            self.arm_watchdog();
            (ProcessStatus::Online, Phase::Ready)
        }
    }

    /// What the app said, and the probe found, since the job last looked.
    pub(super) async fn on_posted(&mut self, mut posted: Posted) {
        if self.running.is_none() {
            return;
        }
        if posted.listening {
            self.on_listening();
        }
        if let Some(report) = posted.probe.take()
            && self.on_probe(report).await
        {
            // Restarted: what the old run said is moot.
            return;
        }
        let probed = self.spec.health_check.is_some();
        if posted.watchdog_trigger {
            self.watchdog_failed("the app sent WATCHDOG=trigger".into())
                .await;
            return;
        }
        if posted.watchdog && self.watchdog_at.is_some() {
            self.arm_watchdog();
        }
        if let Some(usec) = posted.extend_timeout_us
            && let Some(deadline) = self.ready_deadline
        {
            let asked = Instant::now() + Duration::from_micros(usec);
            self.ready_deadline = Some(deadline.max(asked));
        }
        // RELOADING=1 then READY=1 in one batch is a reload that is already over.
        let not_ready = (posted.reloading || posted.stopping) && !posted.ready;
        let why = if posted.stopping {
            "stopping (the app sent STOPPING=1)"
        } else {
            "reloading (the app sent RELOADING=1)"
        };
        let mut became_ready = false;
        self.shared.update(self.id, |e| {
            if let Some(text) = posted.status {
                e.info.status_text = Some(text);
            }
            if let Some(pid) = posted.main_pid {
                e.info.main_pid = Some(pid);
            }
            let phase = e.phase();
            if not_ready && phase == Phase::Ready {
                e.info.status_reason = Some(why.into());
                e.set_phase(Phase::Pending);
            } else if posted.ready && !probed && matches!(phase, Phase::Pending | Phase::TimedOut) {
                if e.info.status == ProcessStatus::Launching {
                    e.info.status = ProcessStatus::Online;
                }
                e.info.status_reason = None;
                e.set_phase(Phase::Ready);
                became_ready = true;
            }
        });
        if became_ready {
            self.ready_deadline = None;
            if self.watchdog_at.is_none() {
                self.arm_watchdog();
            }
        }
    }

    /// A probe's result: the row's health and last probe, the first pass makes the run
    /// ready, and an unhealthy run is failed. A run that was ready and turns unhealthy is
    /// restarted with `on_failure: restart` (liveness); one that never passed is not: a
    /// probe that never passed cannot tell a broken app from a slow start or a wrong probe,
    /// and restarting would turn a typo in a URL into a crash loop. True when restarted.
    async fn on_probe(&mut self, report: ProbeReport) -> bool {
        let ProbeReport {
            result,
            health,
            passed,
        } = report;
        let failed = format!("health check failed: {}", result.message);
        let failures = result.failures;
        let mut became_ready = false;
        self.shared.update(self.id, |e| {
            e.info.health = Some(health);
            e.info.last_probe = Some(result);
            let phase = e.phase();
            match health {
                Health::Healthy if matches!(phase, Phase::Pending | Phase::Unhealthy(_)) => {
                    if matches!(phase, Phase::Unhealthy(_)) {
                        e.info.status_reason = None;
                    }
                    e.set_phase(Phase::Ready);
                    became_ready = true;
                }
                Health::Unhealthy if phase == Phase::Pending => {
                    e.set_phase(Phase::Unhealthy(failed.clone()));
                }
                _ => {}
            }
            if health == Health::Unhealthy {
                e.info.status_reason = Some(failed.clone());
            } else if health == Health::Healthy
                && e.info
                    .status_reason
                    .as_deref()
                    .is_some_and(|r| r.starts_with("health check failed"))
            {
                e.info.status_reason = None;
            }
        });
        if became_ready && self.watchdog_at.is_none() {
            self.arm_watchdog();
        }
        let restart = health == Health::Unhealthy
            && passed
            && self
                .spec
                .health_check
                .as_ref()
                .is_some_and(|c| c.on_failure == OnFailure::Restart);
        if restart {
            tracing::info!(id = self.id, %failed, "health check restart");
            self.restart_unwell(
                "health check",
                format!("{failed} ({failures} failures in a row)"),
            )
            .await;
        }
        restart
    }

    /// `wait_ready` waited `listen_timeout` in vain: the process counts as online (as in
    /// pm2) but not ready; a later signal still makes it ready.
    pub(super) fn on_listen_timeout(&mut self) {
        self.ready_deadline = None;
        let waited = self.spec.listen_timeout();
        let mut timed_out = false;
        self.shared.update(self.id, |e| {
            if e.phase() != Phase::Pending {
                return;
            }
            e.info.status = ProcessStatus::Online;
            e.info.status_reason = Some(format!(
                "not ready after listen_timeout ({waited} ms): no READY=1 or \
                 process.send('ready') yet"
            ));
            e.set_phase(Phase::TimedOut);
            timed_out = true;
        });
        // Start-up is over, if not well: from now on the app must keep the watchdog fed.
        if timed_out {
            self.arm_watchdog();
        }
    }

    /// (Re)starts the watchdog period, when the spec has one.
    pub(super) fn arm_watchdog(&mut self) {
        self.watchdog_at = self
            .spec
            .watchdog_ms
            .map(|ms| Instant::now() + Duration::from_millis(ms));
    }

    /// No `WATCHDOG=1` within the period.
    pub(super) async fn on_watchdog(&mut self) {
        self.watchdog_at = None;
        let period = self.spec.watchdog_ms.unwrap_or_default();
        self.watchdog_failed(format!(
            "no WATCHDOG=1 within the watchdog period ({period} ms)"
        ))
        .await;
    }

    async fn watchdog_failed(&mut self, detail: String) {
        self.watchdog_at = None;
        if self.running.is_none() {
            return;
        }
        tracing::info!(id = self.id, %detail, "watchdog restart");
        self.restart_unwell("watchdog", detail).await;
    }

    /// The run is over: its signals and timers go with it.
    pub(super) fn end_readiness(&mut self) {
        self.signals = None;
        self.ready_deadline = None;
        self.watchdog_at = None;
    }

    /// Where this process's sd_notify socket is (none when the path would be too long).
    pub(super) fn notify_path(&self) -> Option<PathBuf> {
        crate::probe::notify::socket_path(&self.shared.config.home, self.id)
    }
}
