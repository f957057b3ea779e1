//! The job's side of readiness: how a new run starts out (ready at once, or pending on its
//! signal with `listen_timeout` running), and what the app's own messages change.

use super::Job;
use crate::probe::{Phase, Posted};
use pmtui_proto::ProcessStatus;
use std::time::Duration;
use tokio::time::Instant;

impl Job {
    /// The status and phase a run that started at `started` begins in, with its timer set:
    /// with `wait_ready` it is `launching` and pending until the app's signal or
    /// `listen_timeout`; otherwise it is ready at once (nothing is awaited).
    pub(super) fn begin_readiness(&mut self, started: Instant) -> (ProcessStatus, Phase) {
        if self.spec.wait_ready {
            let wait = Duration::from_millis(self.spec.listen_timeout());
            self.ready_deadline = Some(started + wait);
            (ProcessStatus::Launching, Phase::Pending)
        } else {
            self.ready_deadline = None;
            (ProcessStatus::Online, Phase::Ready)
        }
    }

    /// What the app said since the job last looked.
    pub(super) fn on_posted(&mut self, posted: Posted) {
        if self.running.is_none() {
            return;
        }
        if posted.ready && self.spec.wait_ready {
            self.ready_deadline = None;
            self.shared.update(self.id, |e| {
                if e.info.status == ProcessStatus::Launching {
                    e.info.status = ProcessStatus::Online;
                }
                if e.phase() != Phase::Ready {
                    e.info.status_reason = None;
                    e.set_phase(Phase::Ready);
                }
            });
        }
        if let Some(text) = posted.status {
            self.shared
                .update(self.id, |e| e.info.status_text = Some(text));
        }
    }

    /// `wait_ready` waited `listen_timeout` in vain: the process counts as online (as in
    /// pm2) but not ready; a later signal still makes it ready.
    pub(super) fn on_listen_timeout(&mut self) {
        self.ready_deadline = None;
        let waited = self.spec.listen_timeout();
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
        });
    }

    /// The run is over: its signals and timers go with it.
    pub(super) fn end_readiness(&mut self) {
        self.signals = None;
        self.ready_deadline = None;
    }
}
