//! Keeping the sampler alive, since memory limits depend on it: a sampler that dies would
//! silently turn every `max_memory_restart` off.
//! - A panic in a tick is caught: logged, kept as an incident for `ping`, and the sampler
//!   starts afresh (its caches dropped) at the next tick.
//! - A sampler that stops ticking (stuck in a `/proc` read, say) is noticed by a watchdog
//!   on the runtime once its heartbeat is `STALL_TICKS` intervals old (10 s at least),
//!   logged and kept as an incident, and replaced by a new thread; the stuck one exits
//!   when it wakes up and sees it was replaced.
//! - The watchdog costs no wake-up while all is well: a thread of its own blocks on a timer
//!   (`timerfd`) that each tick pushes back by the stall time, so it wakes only when the
//!   sampler missed it (a periodic check on the runtime woke an idle daemon's event loop
//!   about once a second).

use super::sampler::{Sampler, lock};
use crate::supervisor::Shared;
use nix::sys::time::TimeSpec;
use nix::sys::timerfd::{ClockId, Expiration, TimerFd, TimerFlags, TimerSetTimeFlags};
use pmtui_proto::{ProcessId, now_ms};
use std::collections::HashSet;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

/// Missed intervals after which a sampler counts as stuck.
const STALL_TICKS: u32 = 10;
const STALL_MIN: Duration = Duration::from_secs(10);

/// What the sampler threads and their watchdog share.
struct Keeper {
    interval: Duration,
    /// The thread that should run; an older one exits.
    generation: AtomicU64,
    /// When the running thread last began a tick (ms since the epoch).
    beat: AtomicU64,
    /// Processes being restarted for their memory, so a tick does not ask twice.
    restarting: Mutex<HashSet<ProcessId>>,
    /// Expires when no tick pushed it back for the stall time; the watchdog waits on it
    /// (none when it could not be made: then there is no watchdog).
    alarm: Option<Alarm>,
    stale: Duration,
}

impl Keeper {
    /// Pushes the watchdog's alarm back by the stall time.
    fn arm(&self) {
        if let Some(alarm) = &self.alarm {
            alarm.set(self.stale);
        }
    }
}

/// A monotonic `timerfd` the watchdog thread blocks on: pushing it back from the sampler's
/// thread does not wake the watchdog.
struct Alarm(TimerFd);

impl Alarm {
    fn new() -> std::io::Result<Self> {
        let flags = TimerFlags::TFD_CLOEXEC;
        Ok(Self(TimerFd::new(ClockId::CLOCK_MONOTONIC, flags)?))
    }

    /// Fires `after` from now (and not before): one system call, wakes nobody.
    fn set(&self, after: Duration) {
        let after = TimeSpec::from_duration(after.max(Duration::from_millis(1)));
        if let Err(err) = self
            .0
            .set(Expiration::OneShot(after), TimerSetTimeFlags::empty())
        {
            tracing::warn!(%err, "cannot arm the metrics sampler's watchdog");
        }
    }
}

/// Starts the sampler and its watchdog; both end when the supervisor is gone.
pub(crate) fn start(shared: &Arc<Shared>) {
    let interval = shared.metrics.interval_ms;
    if interval == 0 {
        return;
    }
    let alarm = Alarm::new()
        .inspect_err(|err| {
            tracing::error!(%err, "cannot make the metrics sampler's watchdog: a stuck sampler is not replaced");
        })
        .ok();
    let interval = Duration::from_millis(interval);
    let stale = (interval * STALL_TICKS).max(STALL_MIN);
    let keeper = Arc::new(Keeper {
        interval,
        generation: AtomicU64::new(0),
        beat: AtomicU64::new(now_ms()),
        restarting: Mutex::default(),
        alarm,
        stale,
    });
    keeper.arm();
    let runtime = tokio::runtime::Handle::current();
    spawn_thread(shared, &keeper, &runtime, 0);
    if keeper.alarm.is_none() {
        return;
    }
    let weak = Arc::downgrade(shared);
    let watched = Arc::clone(&keeper);
    let spawned = std::thread::Builder::new()
        .name("pmtui-watchdog".into())
        .spawn(move || watch(&weak, &watched, &runtime));
    if let Err(err) = spawned {
        tracing::error!(%err, "cannot watch the metrics sampler: it is not replaced if stuck");
    }
}

/// The watchdog: sleeps until the alarm expires (no tick for the stall time), then
/// replaces the sampler. Ends once the supervisor is gone.
fn watch(weak: &Weak<Shared>, keeper: &Arc<Keeper>, runtime: &tokio::runtime::Handle) {
    let (Some(alarm), stale) = (&keeper.alarm, keeper.stale) else {
        return;
    };
    loop {
        if let Err(err) = alarm.0.wait() {
            tracing::error!(%err, "the metrics sampler's watchdog failed: it is not replaced if stuck");
            return;
        }
        let Some(shared) = weak.upgrade() else { return };
        let age = now_ms().saturating_sub(keeper.beat.load(Ordering::Relaxed));
        if age <= stale.as_millis() as u64 {
            // A tick came just as it expired: wait for the rest of its stall time.
            alarm.set(stale.saturating_sub(Duration::from_millis(age)));
            continue;
        }
        // Armed again here too: a new thread stuck before its first tick is caught.
        alarm.set(stale);
        let generation = keeper.generation.fetch_add(1, Ordering::Relaxed) + 1;
        keeper.beat.store(now_ms(), Ordering::Relaxed);
        tracing::error!(
            stuck_ms = age,
            "the metrics sampler stopped ticking; starting a new one"
        );
        shared.note_incident(format!(
            "the metrics sampler stopped for {} s (memory limits were not checked); \
             a new one was started",
            age / 1000
        ));
        spawn_thread(&shared, keeper, runtime, generation);
    }
}

fn spawn_thread(
    shared: &Arc<Shared>,
    keeper: &Arc<Keeper>,
    runtime: &tokio::runtime::Handle,
    generation: u64,
) {
    let weak = Arc::downgrade(shared);
    let (keeper, runtime) = (Arc::clone(keeper), runtime.clone());
    let spawned = std::thread::Builder::new()
        .name("pmtui-metrics".into())
        .spawn(move || run(&weak, &runtime, &keeper, generation));
    if let Err(err) = spawned {
        tracing::error!(%err, "cannot start the metrics sampler; the watchdog tries again");
    }
}

fn run(
    weak: &Weak<Shared>,
    runtime: &tokio::runtime::Handle,
    keeper: &Arc<Keeper>,
    generation: u64,
) {
    let mut sampler = Sampler::default();
    crate::fds::kept::register_sampler();
    let mut next = Instant::now();
    loop {
        if keeper.generation.load(Ordering::Relaxed) != generation {
            tracing::info!("a replaced metrics sampler exits");
            return;
        }
        keeper.beat.store(now_ms(), Ordering::Relaxed);
        keeper.arm();
        {
            let Some(shared) = weak.upgrade() else { return };
            let began = Instant::now();
            let ticked = std::panic::catch_unwind(AssertUnwindSafe(|| {
                sampler.tick(&shared, &keeper.restarting)
            }));
            tracing::trace!(us = began.elapsed().as_micros() as u64, "metrics tick");
            match ticked {
                Ok(over) => restart_over_limit(&shared, runtime, keeper, over),
                Err(panic) => {
                    let what = panic
                        .downcast_ref::<&str>()
                        .map(|s| (*s).to_string())
                        .or_else(|| panic.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "a panic".into());
                    tracing::error!(panic = %what, "the metrics sampler failed; starting afresh");
                    shared.note_incident(format!(
                        "the metrics sampler failed ({what}); it was started afresh"
                    ));
                    sampler = Sampler::default();
                }
            }
        }
        next += keeper.interval;
        let mut now = Instant::now();
        if next <= now {
            // Fell behind (a suspended machine, a huge table): skip the missed ticks.
            next = now + keeper.interval;
        }
        // Parked rather than asleep: a launch short of descriptors wakes it to give back
        // its kept stat files (`fds::kept`); nothing else unparks it.
        while now < next {
            std::thread::park_timeout(next - now);
            if crate::fds::kept::wanted() {
                sampler.give_back_files();
            }
            now = Instant::now();
        }
    }
}

/// Restarts, on the runtime, the processes a tick found over their memory limit.
fn restart_over_limit(
    shared: &Arc<Shared>,
    runtime: &tokio::runtime::Handle,
    keeper: &Arc<Keeper>,
    over: Vec<(ProcessId, u32, u64, u64)>,
) {
    for (id, pid, memory, limit) in over {
        tracing::warn!(
            id,
            memory,
            limit,
            "memory limit exceeded; restarting the process"
        );
        let supervisor = crate::Supervisor::from_shared(Arc::clone(shared));
        let keeper = Arc::clone(keeper);
        // On the runtime's thread: the job spawns the new child there.
        runtime.spawn(async move {
            // Not if it was stopped or restarted meanwhile: that would revive it.
            if supervisor.running_pid(id) == Some(pid)
                && let Err(err) = supervisor.restart_for(id, "memory limit").await
            {
                tracing::warn!(id, %err, "memory-limit restart failed");
            }
            lock(&keeper.restarting).remove(&id);
        });
    }
}
