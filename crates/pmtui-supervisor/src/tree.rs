//! Finding every process that belongs to a supervised process: its descendants (by parent
//! pid, from one pass over `/proc`), and anything carrying its `PMTUI_JOB` marker, which
//! descendants inherit even when they leave the process group or are orphaned.

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;
use std::collections::HashMap;
use std::str::FromStr;

/// One process as `/proc/<pid>/stat` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcEntry {
    pub pid: u32,
    pub ppid: u32,
    pub pgid: u32,
    /// Clock ticks after boot at which it started: with the pid, its identity.
    pub start_time: u64,
}

/// Reads one process's stat line; `None` if it is gone.
pub fn read_entry(pid: u32) -> Option<ProcEntry> {
    let mut buf = [0u8; STAT_BUF];
    parse_stat(pid, read_stat(pid, &mut buf)?)
}

/// Room for a stat line: 52 numbers and a 16-byte name, under 700 bytes on 64-bit Linux.
const STAT_BUF: usize = 1024;

/// `/proc/<pid>/stat` in one read into `buf` (a scan reads it for every process on the
/// host, and `read_to_string` took seven system calls for it, where three do).
fn read_stat(pid: u32, buf: &mut [u8; STAT_BUF]) -> Option<&str> {
    let text = crate::kernel_file::read(format!("/proc/{pid}/stat"), buf)?;
    std::str::from_utf8(text).ok()
}

fn parse_stat(pid: u32, stat: &str) -> Option<ProcEntry> {
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_ascii_whitespace().collect();
    // rest[0] is field 3 (state); ppid is field 4, pgrp 5, starttime 22.
    Some(ProcEntry {
        pid,
        ppid: fields.get(1)?.parse().ok()?,
        pgid: fields.get(2)?.parse().ok()?,
        start_time: fields.get(19)?.parse().ok()?,
    })
}

/// The start time of `pid`, to tell it from a later process that reuses the number.
pub fn start_time(pid: u32) -> Option<u64> {
    read_entry(pid).map(|e| e.start_time)
}

/// The boot-time clock (`CLOCK_BOOTTIME`): what the kernel stamps a new process with.
pub fn boot_clock() -> Option<std::time::Duration> {
    let now = nix::time::clock_gettime(nix::time::ClockId::CLOCK_BOOTTIME).ok()?;
    Some(std::time::Duration::from(now))
}

/// The start time `/proc/<pid>/stat` will give a process forked since `before` (a reading
/// of [`boot_clock`] taken just before the fork), without reading it: the kernel stamps the
/// child with that clock inside the `clone`, and the stat line gives the stamp in whole
/// clock ticks. When `before` and a reading now fall in one tick, that tick is the start
/// time; `None` when a tick boundary fell between them (the caller reads `/proc`, as
/// [`start_time`] does). At every start, the read of a fresh process's stat line was a few
/// percent of the daemon's work for a restart.
pub fn start_time_since(before: Option<std::time::Duration>) -> Option<u64> {
    start_time_between(before?, boot_clock()?)
}

fn start_time_between(before: std::time::Duration, after: std::time::Duration) -> Option<u64> {
    let per_tick = nanos_per_tick()?;
    let (first, last) = (before.as_nanos() / per_tick, after.as_nanos() / per_tick);
    if first != last {
        return None;
    }
    u64::try_from(first).ok()
}

/// Nanoseconds per clock tick of `/proc` (`USER_HZ`: 100 a second on Linux); `None` where
/// a tick is not a whole number of nanoseconds (the kernel then rounds otherwise).
fn nanos_per_tick() -> Option<u128> {
    static PER_TICK: std::sync::OnceLock<Option<u128>> = std::sync::OnceLock::new();
    *PER_TICK.get_or_init(|| {
        let hz = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK).ok()??;
        let hz = u128::try_from(hz).ok().filter(|&hz| hz > 0)?;
        (1_000_000_000 % hz == 0).then_some(1_000_000_000 / hz)
    })
}

/// True while `pid` runs (not a zombie) and is still the process that started at `start`:
/// one read of its stat line.
pub fn is_alive_as(pid: u32, start: u64) -> bool {
    let mut buf = [0u8; STAT_BUF];
    read_stat(pid, &mut buf).is_some_and(|stat| {
        !ended(stat) && parse_stat(pid, stat).is_some_and(|e| e.start_time == start)
    })
}

/// True when `pid` is a zombie or gone.
pub fn is_dead(pid: u32) -> bool {
    let mut buf = [0u8; STAT_BUF];
    match read_stat(pid, &mut buf) {
        Some(stat) => ended(stat),
        None => kill(Pid::from_raw(pid as i32), None).is_err(),
    }
}

/// Whether a stat line says zombie or dead (or has no state field to say otherwise).
fn ended(stat: &str) -> bool {
    stat.rfind(')')
        .and_then(|i| stat[i + 1..].split_ascii_whitespace().next())
        .is_none_or(|state| state == "Z" || state == "X")
}

/// Every process on the host, one read of each `/proc/<pid>/stat`.
pub fn scan() -> Vec<ProcEntry> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(read_entry)
        .collect()
}

/// Every descendant of `roots` (not the roots themselves), children before grandchildren.
pub fn descendants(table: &[ProcEntry], roots: &[u32]) -> Vec<u32> {
    descendants_in(&children_map(table), roots)
}

/// Each pid of `table` with its children's pids.
pub fn children_map(table: &[ProcEntry]) -> HashMap<u32, Vec<u32>> {
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    for entry in table {
        children.entry(entry.ppid).or_default().push(entry.pid);
    }
    children
}

/// [`descendants`] from a [`children_map`] made once for several lookups.
pub fn descendants_in(children: &HashMap<u32, Vec<u32>>, roots: &[u32]) -> Vec<u32> {
    let mut found = Vec::new();
    let mut queue: Vec<u32> = roots.to_vec();
    while let Some(pid) = queue.pop() {
        if let Some(kids) = children.get(&pid) {
            for &kid in kids {
                if !found.contains(&kid) && !roots.contains(&kid) {
                    found.push(kid);
                    queue.push(kid);
                }
            }
        }
    }
    found
}

/// Whether the kernel lists children in `/proc/<pid>/task/<tid>/children`
/// (CONFIG_PROC_CHILDREN): then a tree is walked without reading all of `/proc`.
pub fn children_files() -> bool {
    static SUPPORTED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *SUPPORTED.get_or_init(|| {
        let me = std::process::id();
        std::path::Path::new(&format!("/proc/{me}/task/{me}/children")).exists()
    })
}

/// The children of `pid` (of every one of its threads); empty when it is gone. Only
/// meaningful when [`children_files`] holds.
pub fn children_of(pid: u32) -> Vec<u32> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    let mut kids = Vec::new();
    for task in tasks.flatten() {
        if let Ok(text) = std::fs::read_to_string(task.path().join("children")) {
            kids.extend(
                text.split_ascii_whitespace()
                    .filter_map(|p| p.parse::<u32>().ok()),
            );
        }
    }
    kids
}

/// Every descendant of `roots` (not the roots themselves), children before grandchildren,
/// following the children files: as [`descendants`] of a full [`scan`], without the scan.
pub fn descendants_of(roots: &[u32]) -> Vec<u32> {
    let mut found = Vec::new();
    let mut queue: std::collections::VecDeque<u32> = roots.iter().copied().collect();
    while let Some(pid) = queue.pop_front() {
        for kid in children_of(pid) {
            if !found.contains(&kid) && !roots.contains(&kid) {
                found.push(kid);
                queue.push_back(kid);
            }
        }
    }
    found
}

/// The `PMTUI_JOB` marker in `pid`'s environment, if any.
pub fn marker_of(pid: u32) -> Option<String> {
    // Most environments fit the buffer, read in one go; a longer one is read again whole.
    let path = format!("/proc/{pid}/environ");
    const ENVIRON_BUF: usize = 8192;
    let mut buf = [0u8; ENVIRON_BUF];
    let first = crate::kernel_file::read(&path, &mut buf)?;
    let whole;
    let environ = if first.len() < ENVIRON_BUF {
        first
    } else {
        whole = std::fs::read(&path).ok()?;
        &whole[..]
    };
    let key = format!("{}=", crate::config::MARKER_VAR);
    environ
        .split(|b| *b == 0)
        .find_map(|var| var.strip_prefix(key.as_bytes()))
        .map(|value| String::from_utf8_lossy(value).into_owned())
}

/// Every process whose marker starts with `prefix`, with the marker.
pub fn find_marked(table: &[ProcEntry], prefix: &str) -> Vec<(u32, String)> {
    table
        .iter()
        .filter_map(|e| {
            marker_of(e.pid)
                .filter(|m| m.starts_with(prefix))
                .map(|m| (e.pid, m))
        })
        .collect()
}

/// Parses `SIGTERM`, `TERM`, `term` or `15`.
pub fn parse_signal(name: &str) -> Option<Signal> {
    let name = name.trim();
    if let Ok(number) = name.parse::<i32>() {
        return Signal::try_from(number).ok();
    }
    let upper = name.to_ascii_uppercase();
    let full = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    Signal::from_str(&full).ok()
}

/// Sends `signal` to a process group; a group that is gone is not an error.
pub fn signal_group(pgid: u32, signal: Signal) {
    let _ = killpg(Pid::from_raw(pgid as i32), signal);
}

/// Sends `signal` to one process; a process that is gone is not an error.
pub fn signal_pid(pid: u32, signal: Signal) {
    let _ = kill(Pid::from_raw(pid as i32), signal);
}

/// SIGKILL to the process group `pid` leads and to every descendant of `pid` (also those
/// that left the group): how a probe or a hook that ran out of time is ended.
pub fn kill_tree(pid: u32) {
    let descendants = descendants_of(&[pid]);
    signal_group(pid, Signal::SIGKILL);
    for kid in descendants {
        signal_pid(kid, Signal::SIGKILL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_with_parentheses_in_the_name_parses() {
        let line =
            "42 (my (odd) name) S 1 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 12345 1000 10";
        let e = parse_stat(42, line).expect("parses");
        assert_eq!((e.ppid, e.pgid, e.start_time), (1, 42, 12345));
    }

    #[test]
    fn a_start_time_known_from_the_boot_clock_is_the_one_proc_gives() {
        // Real forks: the value read from each child's stat line must be the one the two
        // clock readings around its spawn predict, whenever they predict one.
        let mut predicted = 0;
        for _ in 0..40 {
            let before = boot_clock().expect("boot clock");
            let mut child = std::process::Command::new("sleep")
                .arg("5")
                .spawn()
                .expect("spawn sleep");
            let known = start_time_since(Some(before));
            let from_proc = start_time(child.id());
            let _ = child.kill();
            let _ = child.wait();
            if let Some(known) = known {
                predicted += 1;
                assert_eq!(Some(known), from_proc, "pid {}", child.id());
            }
        }
        assert!(predicted > 0, "no spawn fell within one clock tick");
        // Readings a tick apart predict nothing.
        let tick = std::time::Duration::from_nanos(nanos_per_tick().expect("a tick") as u64);
        let t = boot_clock().expect("boot clock");
        assert_eq!(start_time_between(t, t + tick), None);
    }

    #[test]
    fn descendants_follow_parent_links() {
        let t = |pid, ppid| ProcEntry {
            pid,
            ppid,
            pgid: pid,
            start_time: 0,
        };
        let table = [t(1, 0), t(10, 1), t(11, 10), t(12, 11), t(20, 1)];
        let mut found = descendants(&table, &[10]);
        found.sort_unstable();
        assert_eq!(found, [11, 12]);
    }

    #[test]
    fn signal_names_parse_in_every_spelling() {
        assert_eq!(parse_signal("SIGUSR1"), Some(Signal::SIGUSR1));
        assert_eq!(parse_signal("int"), Some(Signal::SIGINT));
        assert_eq!(parse_signal("9"), Some(Signal::SIGKILL));
        assert_eq!(parse_signal("SIGNOPE"), None);
    }

    #[test]
    fn the_children_walk_finds_what_the_scan_finds() {
        if !children_files() {
            return;
        }
        let mut child = std::process::Command::new("sh")
            .args(["-c", "sleep 30 & sleep 30 & wait"])
            .spawn()
            .expect("spawn sh");
        let sh = child.id();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while descendants_of(&[sh]).len() < 2 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let mut walked = descendants_of(&[sh]);
        let mut scanned = descendants(&scan(), &[sh]);
        walked.sort_unstable();
        scanned.sort_unstable();
        // Children of any thread count: this test runs on one that is not the main one.
        let mine = children_of(std::process::id()).contains(&sh);
        for pid in &walked {
            signal_pid(*pid, Signal::SIGKILL);
        }
        signal_pid(sh, Signal::SIGKILL);
        let _ = child.wait();
        assert_eq!(walked.len(), 2, "{walked:?}");
        assert_eq!(walked, scanned);
        assert!(mine, "the shell is not among this process's children");
    }

    #[test]
    fn markers_are_found_in_short_and_long_environments() {
        // Before and after the marker: an environment past the first read's buffer.
        for filler in [0, 20_000] {
            let mut child = std::process::Command::new("sleep")
                .arg("30")
                .env_clear()
                .env("BEFORE", "x".repeat(filler))
                .env(crate::config::MARKER_VAR, "home-7")
                .env("AFTER", "y".repeat(filler))
                .spawn()
                .expect("spawn sleep");
            let found = marker_of(child.id());
            let _ = child.kill();
            let _ = child.wait();
            assert_eq!(found.as_deref(), Some("home-7"), "filler {filler}");
        }
        assert_eq!(marker_of(std::process::id()), None);
    }

    #[test]
    fn this_process_is_found_in_the_scan() {
        let me = std::process::id();
        assert!(scan().iter().any(|e| e.pid == me));
        assert!(start_time(me).is_some());
    }
}
