//! The phase of a run on its way to ready, as the job publishes it and waiters read it.

/// The latest run of a process and its phase; sent on a `watch` channel per process.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RunReady {
    /// 0 before the first launch, then +1 at every launch.
    pub run: u64,
    pub phase: Phase,
}

/// Where a run is on its way to ready.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Phase {
    /// Not launched yet.
    #[default]
    Idle,
    /// Launched; waiting for its first passing probe or its ready signal.
    Pending,
    Ready,
    /// `wait_ready` waited `listen_timeout` in vain (the run goes on; a later signal still
    /// makes it ready).
    TimedOut,
    /// Still running but failed its readiness: the probe failed `retries` times in a row
    /// before ever passing (a later pass still makes it ready).
    Unhealthy(String),
    /// The run is over (exited, stopped, never spawned): why, in a sentence.
    Ended(String),
}

/// How a wait for readiness ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadyOutcome {
    Ready,
    TimedOut,
    Failed(String),
}

impl RunReady {
    /// The outcome a waiter reports for this state, or `None` to keep waiting. `after_run`
    /// is the run the waiter must see passed (see `Supervisor::wait_ready`).
    pub fn settled(&self, after_run: Option<u64>) -> Option<ReadyOutcome> {
        if after_run.is_some_and(|n| self.run <= n) {
            return None;
        }
        match &self.phase {
            Phase::Idle | Phase::Pending => None,
            Phase::Ready => Some(ReadyOutcome::Ready),
            Phase::TimedOut => Some(ReadyOutcome::TimedOut),
            Phase::Unhealthy(why) | Phase::Ended(why) => Some(ReadyOutcome::Failed(why.clone())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(run: u64, phase: Phase) -> RunReady {
        RunReady { run, phase }
    }

    #[test]
    fn a_waiter_settles_on_the_runs_it_may_see() {
        assert_eq!(at(0, Phase::Idle).settled(None), None);
        assert_eq!(at(1, Phase::Pending).settled(None), None);
        assert_eq!(at(1, Phase::Ready).settled(None), Some(ReadyOutcome::Ready));
        assert_eq!(at(1, Phase::Ready).settled(Some(1)), None, "an older run");
        assert_eq!(
            at(2, Phase::Ready).settled(Some(1)),
            Some(ReadyOutcome::Ready)
        );
        assert_eq!(
            at(2, Phase::TimedOut).settled(Some(1)),
            Some(ReadyOutcome::TimedOut)
        );
        assert_eq!(
            at(2, Phase::Ended("exited with code 1".into())).settled(None),
            Some(ReadyOutcome::Failed("exited with code 1".into()))
        );
        assert_eq!(
            at(3, Phase::Unhealthy("health check failed".into())).settled(Some(2)),
            Some(ReadyOutcome::Failed("health check failed".into()))
        );
    }
}
