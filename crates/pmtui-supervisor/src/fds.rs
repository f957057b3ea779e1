//! The daemon's open-file budget. Every process costs the daemon a few descriptors (its two
//! pipes, its log files once written), and the daemon needs some for itself:
//! commands on its socket, state files, history reads. A process is started only when what
//! it needs still leaves `RESERVE` free, so that `ping`, `ls` and `kill` keep working at the
//! limit; a start that would eat the reserve fails with a message that names the limit and
//! how to raise it.

use std::fmt;
use std::time::{Duration, Instant};

/// Descriptors kept free for the daemon's own work.
pub const RESERVE: u64 = 16;
/// Descriptors of a process besides its log files: its two pipes, plus, during the spawn
/// only, the two of the pipe that reports an exec failure and one for its cgroup or IPC
/// channel.
const BASE_COST: u64 = 5;

/// The soft `RLIMIT_NOFILE` (the daemon raised it to the hard limit at start).
pub fn limit() -> Option<u64> {
    nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
        .ok()
        .map(|(soft, _)| soft)
}

/// Descriptors open now, counted in `/proc/self/fd` (the count's own is left out).
pub fn open_count() -> Option<u64> {
    let entries = std::fs::read_dir("/proc/self/fd").ok()?;
    Some((entries.count() as u64).saturating_sub(1))
}

/// The size of the daemon's descriptor table (`FDSize` in `/proc/self/status`): every open
/// descriptor has a slot in it, so it bounds [`open_count`] from above. One small read
/// whatever the count, where listing `/proc/self/fd` costs one entry per open descriptor
/// (at every launch, that made starting 1,000 apps from one file quadratic).
pub fn table_size() -> Option<u64> {
    // About 1.5 KiB; read whole (see `kernel_file`): it is read at every launch.
    let mut buf = [0u8; 8 * 1024];
    let status = std::str::from_utf8(crate::kernel_file::read("/proc/self/status", &mut buf)?);
    status
        .ok()?
        .lines()
        .find_map(|line| line.strip_prefix("FDSize:"))?
        .trim()
        .parse()
        .ok()
}

/// [`table_size`], or the size read less than 100 ms ago while even four times it leaves
/// room for `need` under `limit`: at every launch, the read of `/proc/self/status` (the
/// kernel formats some 60 lines for it) was a few percent of starting 1,000 apps from one
/// file. To run past the limit with such a size, the daemon would have to open more than
/// three times it (the table has at least 64 slots) within 100 ms; should it, the spawn
/// itself still fails with EMFILE and says so (see `exhausted`).
fn table_size_recent(limit: u64, need: u64) -> Option<u64> {
    static LAST: std::sync::Mutex<Option<(Instant, u64)>> = std::sync::Mutex::new(None);
    let mut last = LAST.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((at, size)) = *last
        && at.elapsed() < Duration::from_millis(100)
        && size.saturating_mul(4).saturating_add(need) <= limit
    {
        return Some(size);
    }
    let size = table_size()?;
    *last = Some((Instant::now(), size));
    Some(size)
}

/// Descriptors open now, or a bound above it that is good enough: the table's size when
/// `need` more still fit under `limit` with it, else the exact count.
fn open_at_most(limit: u64, need: u64) -> Option<u64> {
    match table_size_recent(limit, need) {
        Some(size) if size.saturating_add(need) <= limit => Some(size),
        _ => open_count(),
    }
}

/// Descriptors that can still be opened without touching the reserve (at least this many:
/// far from the limit it is counted from the table's size, see [`table_size`]).
pub fn spare() -> Option<u64> {
    let limit = limit()?;
    Some(limit.saturating_sub(open_at_most(limit, RESERVE)? + RESERVE))
}

/// The daemon is (or would be) out of descriptors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shortage {
    pub open: Option<u64>,
    pub limit: Option<u64>,
}

impl fmt::Display for Shortage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the daemon is at its open-file limit")?;
        if let (Some(open), Some(limit)) = (self.open, self.limit) {
            write!(
                f,
                " ({open} of {limit} descriptors in use, {RESERVE} kept for commands)"
            )?;
        }
        f.write_str(
            "; raise it: `ulimit -Hn` in the shell that starts the daemon (or LimitNOFILE= \
             under systemd) sets the hard limit, which the daemon takes whole; then restart \
             the daemon (`pmtui save`, `pmtui kill`, `pmtui resurrect` from that shell)",
        )
    }
}

/// Whether a process with `log_files` log files can start now. A run that `replaces` one
/// (a restart, a crash's next run) may use half the reserve: its process already had its
/// descriptors when it was started, so it adds none for good, and a tight fit must not
/// turn into an errored app because something else (a command, a metrics read) held one
/// descriptor more at that moment than when the process was first started.
pub fn check(log_files: u64, replaces: bool) -> Result<(), Shortage> {
    let reserve = if replaces { RESERVE / 2 } else { RESERVE };
    let need = BASE_COST + log_files + reserve;
    let Some(limit) = limit() else {
        return Ok(());
    };
    let Some(open) = open_at_most(limit, need) else {
        // Unknown (no /proc): the spawn itself says EMFILE if it comes to that.
        return Ok(());
    };
    if open + need <= limit {
        Ok(())
    } else {
        Err(Shortage {
            open: Some(open),
            limit: Some(limit),
        })
    }
}

/// A shortage a start waited out in vain, remembered for the starts right after it. A start
/// short of descriptors waits for some to come back (a `restart all` closes the dead runs'
/// pipes a moment later, see `Job::fds_for_launch`), and fails after a second without any.
/// When a file of many apps meets the limit, each app after the last that fitted waited its
/// own second for nothing: 30 refused apps made a 30 s `start`, 1,000 would have made a
/// quarter of an hour. A fresh start that finds the daemon short again within
/// [`Confirmed::FRESH`] of such a wait, with no fewer descriptors open than then, fails at
/// once with the same message. Runs that replace one (restarts) still wait: their own dead
/// run's descriptors are about to close.
#[derive(Debug, Default)]
pub(crate) struct Confirmed {
    /// When the wait ended, and the descriptors open then.
    last: Option<(Instant, u64)>,
}

impl Confirmed {
    /// How long a confirmed shortage answers for later starts.
    pub(crate) const FRESH: Duration = Duration::from_secs(1);

    /// Records a wait that ended without room, at `now` with `open` descriptors open.
    pub(crate) fn record(&mut self, now: Instant, open: u64) {
        self.last = Some((now, open));
    }

    /// Whether a start short of descriptors at `now`, with `open` open, may fail at once.
    pub(crate) fn holds(&self, now: Instant, open: u64) -> bool {
        self.last.is_some_and(|(at, then)| {
            now.saturating_duration_since(at) < Self::FRESH && open >= then
        })
    }
}

/// The daemon's [`Confirmed`] shortage.
static CONFIRMED: std::sync::Mutex<Confirmed> = std::sync::Mutex::new(Confirmed { last: None });

/// Records that a start waited for descriptors in vain (see [`Confirmed`]).
pub(crate) fn confirm_shortage(open: u64) {
    CONFIRMED
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .record(Instant::now(), open);
}

/// Whether a fresh start short of descriptors, with `open` open, may fail at once (see
/// [`Confirmed`]).
pub(crate) fn shortage_confirmed(open: u64) -> bool {
    CONFIRMED
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .holds(Instant::now(), open)
}

/// Descriptors the metrics sampler keeps open only because re-reading is cheaper than
/// opening (`/proc/<pid>/stat` of the processes it measures). Launches come first: the
/// sampler keeps such files only while many descriptors are spare, but a `restart all`
/// frees many for a moment, and files kept then would stay held by the new runs while
/// the last launches wait. A launch short of descriptors therefore asks for them back,
/// and the sampler, woken at once, closes them all and keeps none for a while.
pub mod kept {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::thread::Thread;

    static HELD: AtomicUsize = AtomicUsize::new(0);
    static WANTED: AtomicBool = AtomicBool::new(false);
    static SAMPLER: Mutex<Option<Thread>> = Mutex::new(None);

    /// The calling thread is the sampler: [`ask_back`] unparks it.
    pub fn register_sampler() {
        let mut sampler = SAMPLER.lock().unwrap_or_else(|p| p.into_inner());
        *sampler = Some(std::thread::current());
    }

    /// How many files the sampler keeps now.
    pub fn set_held(count: usize) {
        HELD.store(count, Ordering::Relaxed);
    }

    /// Asks the sampler to close the files it keeps, if it keeps any (once per request:
    /// a launch polling for descriptors wakes it at most once).
    pub fn ask_back() {
        if HELD.load(Ordering::Relaxed) == 0 || WANTED.swap(true, Ordering::AcqRel) {
            return;
        }
        let sampler = SAMPLER.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(thread) = sampler.as_ref() {
            thread.unpark();
        }
    }

    /// Whether a launch asked for the files back.
    pub fn wanted() -> bool {
        WANTED.load(Ordering::Acquire)
    }

    /// The sampler closed every file it kept.
    pub fn given_back() {
        HELD.store(0, Ordering::Relaxed);
        WANTED.store(false, Ordering::Release);
    }
}

/// Whether an error is the process or the system running out of descriptors.
pub fn exhausted(err: &std::io::Error) -> bool {
    matches!(
        err.raw_os_error(),
        Some(code) if code == nix::libc::EMFILE || code == nix::libc::ENFILE
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_messages() {
        // Other tests open and close files meanwhile: only that it counts something.
        assert!(open_count().expect("/proc/self/fd") >= 3);
        // The table holds every open descriptor (and is never smaller than 64 slots).
        let size = table_size().expect("/proc/self/status has FDSize");
        assert!(size >= 64 && size >= open_count().expect("/proc/self/fd"));
        let message = Shortage {
            open: Some(60),
            limit: Some(64),
        }
        .to_string();
        assert!(message.contains("open-file limit") && message.contains("60 of 64"));
        assert!(message.contains("ulimit"));
        assert!(exhausted(&std::io::Error::from_raw_os_error(
            nix::libc::EMFILE
        )));
        assert!(!exhausted(&std::io::Error::from_raw_os_error(
            nix::libc::ENOENT
        )));
    }

    #[test]
    fn a_confirmed_shortage_answers_for_a_second_while_nothing_closed() {
        let start = Instant::now();
        let mut confirmed = Confirmed::default();
        assert!(!confirmed.holds(start, 60), "nothing confirmed yet");
        confirmed.record(start, 60);
        let soon = start + Duration::from_millis(300);
        assert!(confirmed.holds(soon, 60));
        assert!(confirmed.holds(soon, 61), "more open: still short");
        assert!(!confirmed.holds(soon, 59), "some closed: wait for more");
        assert!(!confirmed.holds(start + Confirmed::FRESH, 60), "stale");
    }
}
