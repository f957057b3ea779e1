//! What the app said during one run, posted by the channel readers and taken by the job:
//! flags and latest values rather than a queue, so a child that repeats itself costs one
//! wake-up of the job however often it speaks, and memory stays bounded.

use super::runner::ProbeReport;
use std::sync::{Mutex, MutexGuard};
use tokio::sync::Notify;

/// What arrived since the job last looked.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Posted {
    /// `READY=1` or `process.send('ready')`.
    pub ready: bool,
    /// The Node cluster preload's `pmtui:listening`: the app accepts on a daemon socket
    /// (what a rolling reload waits for when nothing better is set up).
    pub listening: bool,
    /// `WATCHDOG=1`.
    pub watchdog: bool,
    /// The latest `STATUS=` text.
    pub status: Option<String>,
    /// `RELOADING=1`.
    pub reloading: bool,
    /// `STOPPING=1`.
    pub stopping: bool,
    /// The latest `MAINPID=`.
    pub main_pid: Option<u32>,
    /// `WATCHDOG=trigger`: the app says its watchdog failed.
    pub watchdog_trigger: bool,
    /// The latest `EXTEND_TIMEOUT_USEC=`: more time to become ready, from now.
    pub extend_timeout_us: Option<u64>,
    /// The latest health probe (the prober counts the failures, so only the last matters).
    pub probe: Option<ProbeReport>,
}

impl Posted {
    fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// Adds what `later` says on top: flags stay set, values are replaced.
    pub fn merge(&mut self, later: Posted) {
        self.ready |= later.ready;
        self.listening |= later.listening;
        self.watchdog |= later.watchdog;
        self.reloading |= later.reloading;
        self.stopping |= later.stopping;
        self.watchdog_trigger |= later.watchdog_trigger;
        if later.status.is_some() {
            self.status = later.status;
        }
        if later.main_pid.is_some() {
            self.main_pid = later.main_pid;
        }
        if later.extend_timeout_us.is_some() {
            self.extend_timeout_us = later.extend_timeout_us;
        }
        if later.probe.is_some() {
            self.probe = later.probe;
        }
    }
}

/// The mailbox of one run.
#[derive(Debug, Default)]
pub(crate) struct RunSignals {
    posted: Mutex<Posted>,
    wake: Notify,
}

impl RunSignals {
    fn lock(&self) -> MutexGuard<'_, Posted> {
        self.posted.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records something the app said and wakes the job.
    pub fn post(&self, change: impl FnOnce(&mut Posted)) {
        change(&mut self.lock());
        self.wake.notify_one();
    }

    /// Waits until something was posted, and takes it.
    pub async fn take(&self) -> Posted {
        loop {
            // In a block of its own: the empty value is not kept across the wait (this
            // future lives in every job's loop).
            {
                let posted = std::mem::take(&mut *self.lock());
                if !posted.is_empty() {
                    return posted;
                }
            }
            self.wake.notified().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn posts_coalesce_into_one_take() {
        let signals = RunSignals::default();
        for i in 0..1000 {
            signals.post(|p| {
                p.watchdog = true;
                p.status = Some(format!("step {i}"));
            });
        }
        signals.post(|p| p.ready = true);
        let taken = signals.take().await;
        assert!(taken.ready && taken.watchdog);
        assert_eq!(taken.status.as_deref(), Some("step 999"));
        let again = tokio::time::timeout(std::time::Duration::from_millis(20), signals.take());
        assert!(again.await.is_err(), "nothing is left once taken");
    }
}
