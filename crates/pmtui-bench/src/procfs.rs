//! What the benchmarks read from `/proc` about a daemon: resident memory, CPU time and
//! context switches, and whether a pid is still alive.

use std::time::Duration;

/// Resident memory (`VmRSS`) in KiB; `None` when the process is gone.
pub fn rss_kib(pid: u32) -> Option<u64> {
    status_field(pid, "VmRSS:")
}

/// Resident memory split as `/proc/<pid>/status` gives it, in KiB: `VmRSS` counts the mapped
/// executable's and shared libraries' pages (`RssFile`, shared with every other process
/// running them) as well as the process's own memory (`RssAnon`: heap, stacks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rss {
    pub total: u64,
    pub anon: Option<u64>,
    pub file: Option<u64>,
}

/// [`Rss`] of `pid`; `None` when the process is gone.
pub fn rss(pid: u32) -> Option<Rss> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    Some(Rss {
        total: field(&text, "VmRSS:")?,
        anon: field(&text, "RssAnon:"),
        file: field(&text, "RssFile:"),
    })
}

/// User plus system CPU time of the whole process (every thread, living or ended), from
/// `/proc/<pid>/stat` fields 14 and 15.
pub fn cpu_time(pid: u32) -> Option<Duration> {
    stat_cpu(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// Fields 14 and 15 (`utime`, `stime`) of a `stat` line.
fn stat_cpu(stat: &str) -> Option<Duration> {
    // The command name may hold spaces: fields start after the last ')', with field 3.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_ascii_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    let ticks = utime + stime;
    Some(Duration::from_nanos(ticks * 1_000_000_000 / clock_ticks()))
}

/// The time on CPU in a `schedstat` line (its first field, nanoseconds): exact, where
/// `stat`'s `utime`/`stime` are whole clock ticks (10 ms, a third of the idle target over
/// a 30 s window).
fn schedstat_runtime(text: &str) -> Option<Duration> {
    let ns: u64 = text.split_ascii_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

/// One thread of a process: its name, CPU time (from `schedstat`, else `stat`) and
/// voluntary context switches (each one a sleep, so the difference over a window counts
/// wake-ups).
#[derive(Debug, Clone)]
pub struct ThreadStat {
    pub name: String,
    pub cpu: Duration,
    pub voluntary_switches: u64,
}

/// Every current thread of `pid`, by thread id.
pub fn threads(pid: u32) -> std::collections::BTreeMap<u32, ThreadStat> {
    let mut found = std::collections::BTreeMap::new();
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return found;
    };
    for task in dir.flatten() {
        let Some(tid) = task
            .file_name()
            .to_str()
            .and_then(|t| t.parse::<u32>().ok())
        else {
            continue;
        };
        let base = task.path();
        let (Ok(status), Ok(stat)) = (
            std::fs::read_to_string(base.join("status")),
            std::fs::read_to_string(base.join("stat")),
        ) else {
            continue;
        };
        found.insert(
            tid,
            ThreadStat {
                name: status
                    .lines()
                    .find_map(|l| l.strip_prefix("Name:"))
                    .map_or_else(String::new, |n| n.trim().to_string()),
                cpu: std::fs::read_to_string(base.join("schedstat"))
                    .ok()
                    .and_then(|text| schedstat_runtime(&text))
                    .or_else(|| stat_cpu(&stat))
                    .unwrap_or_default(),
                voluntary_switches: field(&status, "voluntary_ctxt_switches:").unwrap_or(0),
            },
        );
    }
    found
}

/// What each thread (by name) did between two [`threads`] readings: CPU time and
/// wake-ups. A thread that ended in between is missing; one that began counts from zero.
pub fn thread_deltas(
    before: &std::collections::BTreeMap<u32, ThreadStat>,
    after: &std::collections::BTreeMap<u32, ThreadStat>,
) -> std::collections::BTreeMap<String, (Duration, u64)> {
    let mut by_name: std::collections::BTreeMap<String, (Duration, u64)> = Default::default();
    for (tid, now) in after {
        let (cpu0, sw0) = before
            .get(tid)
            .map_or((Duration::ZERO, 0), |b| (b.cpu, b.voluntary_switches));
        let entry = by_name.entry(now.name.clone()).or_default();
        entry.0 += now.cpu.saturating_sub(cpu0);
        entry.1 += now.voluntary_switches.saturating_sub(sw0);
    }
    by_name
}

/// True while `pid` exists and is not a zombie.
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rfind(')')
            .and_then(|i| stat[i + 1..].split_ascii_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

fn status_field(pid: u32, name: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    field(&text, name)
}

fn field(text: &str, name: &str) -> Option<u64> {
    text.lines()
        .find_map(|line| line.strip_prefix(name))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// `sysconf(_SC_CLK_TCK)` as `getconf` reports it; 100 on every Linux we know of.
pub fn clock_ticks() -> u64 {
    static TICKS: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .filter(|t| *t > 0)
            .unwrap_or(100)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        let me = std::process::id();
        assert!(rss_kib(me).is_some_and(|k| k > 0));
        let split = rss(me).expect("own status");
        assert!(split.anon.is_some_and(|a| a > 0) && split.file.is_some_and(|f| f > 0));
        assert!(split.anon.unwrap_or(0) + split.file.unwrap_or(0) <= split.total);
        assert!(cpu_time(me).is_some());
        let threads = threads(me);
        assert!(threads.contains_key(&me), "{threads:?}");
        assert!(alive(me));
    }

    #[test]
    fn thread_cpu_is_exact_nanoseconds() {
        assert_eq!(
            schedstat_runtime("123456789 2000 17\n"),
            Some(Duration::from_nanos(123_456_789))
        );
        assert_eq!(schedstat_runtime(""), None);
        // Spinning well under a clock tick shows, where `utime+stime` would read zero.
        let me = std::process::id();
        let tid = nix::unistd::gettid().as_raw() as u32;
        let before = threads(me)[&tid].cpu;
        let start = std::time::Instant::now();
        while start.elapsed() < Duration::from_millis(3) {
            std::hint::black_box(0u64);
        }
        // The kernel adds a running thread's time to `schedstat` at a tick or when it is
        // switched out; a spin between two ticks of a fresh thread reads zero until then.
        std::thread::sleep(Duration::from_millis(1));
        let after = threads(me)[&tid].cpu;
        assert!(after > before, "{before:?} -> {after:?}");
    }
}
