//! cgroup v2 as files: finding the cgroup2 mount (not always `/sys/fs/cgroup`: on hybrid
//! hosts it is `/sys/fs/cgroup/unified`) and the daemon's own cgroup, choosing and creating
//! this state directory's subtree, and the per-process operations (members, populated,
//! `cgroup.kill`, `memory.current`, removal).
//!
//! Layout: one subtree per state directory (keyed by the home key, so several daemons never
//! touch each other's processes) and one leaf cgroup per process id inside it, reused by
//! every run of that process. A root daemon puts the subtree at the top of the hierarchy
//! (`<mount>/pmtui/<key>`), where it does not depend on which cgroup the daemon was started
//! in, so the next daemon finds it after a crash. A daemon that is not root can only use a
//! subtree delegated to it (systemd's `Delegate=yes`): `<its cgroup>/pmtui-<key>`. Leaves
//! hold the processes and the inner nodes none, so the "no internal processes" rule holds
//! when controllers are enabled.

use nix::sys::signal::Signal;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// This state directory's cgroup subtree.
#[derive(Debug, Clone)]
pub struct Cgroups {
    /// The directory holding one cgroup per process.
    pub base: PathBuf,
    /// Whether the v2 memory controller is on for the leaves (`memory.current` exists).
    pub memory: bool,
    /// Whether the kernel has `cgroup.kill` (Linux ≥ 5.14).
    pub kill_file: bool,
}

/// The mount point of the cgroup2 hierarchy, from `/proc/self/mountinfo`.
pub fn mount_point() -> Option<PathBuf> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    text.lines().find_map(|line| {
        // `… <mount point> <options> [optional fields] - <fs type> <source> <super options>`
        let (before, after) = line.split_once(" - ")?;
        (after.split_whitespace().next()? == "cgroup2")
            .then(|| before.split_whitespace().nth(4).map(unescape))
            .flatten()
    })
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo`.
fn unescape(field: &str) -> PathBuf {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && i + 3 < bytes.len()
            && let Ok(n) = u8::from_str_radix(&field[i + 1..i + 4], 8)
        {
            out.push(n);
            i += 4;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    PathBuf::from(<std::ffi::OsString as std::os::unix::ffi::OsStringExt>::from_vec(out))
}

/// The daemon's own cgroup path in the v2 hierarchy (the `0::` line of `/proc/self/cgroup`).
pub fn own_cgroup() -> Option<String> {
    let text = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("0::"))
        .map(|p| p.trim().to_string())
}

/// Sets up this state directory's subtree; the error says why cgroups cannot be used.
pub fn detect(home_key: &str) -> Result<Cgroups, String> {
    let mount = mount_point().ok_or("no cgroup2 file system is mounted")?;
    let own = own_cgroup().ok_or("this process has no cgroup v2 path")?;
    let own_dir = mount.join(own.trim_start_matches('/'));
    let root = nix::unistd::Uid::effective().is_root();
    // Root: the top of the hierarchy. Otherwise only a delegated subtree: our own cgroup,
    // if we may write it.
    let (base, levels) = if root {
        let top = mount.join("pmtui");
        (top.join(home_key), vec![mount.clone(), top])
    } else {
        (
            own_dir.join(format!("pmtui-{home_key}")),
            vec![own_dir.clone()],
        )
    };
    if !root
        && nix::unistd::access(
            &own_dir.join("cgroup.procs"),
            nix::unistd::AccessFlags::W_OK,
        )
        .is_err()
    {
        return Err(format!(
            "{} is not delegated to this user (its cgroup.procs is not writable; cgroup v2 is writable by root or in a delegated subtree)",
            own_dir.display()
        ));
    }
    std::fs::create_dir_all(&base).map_err(|err| {
        format!(
            "cannot create {} ({err}); cgroup v2 is writable by root or in a delegated subtree",
            base.display()
        )
    })?;
    let mut all = levels;
    all.push(base.clone());
    let memory = enable_memory(&all, &own_dir, root);
    Ok(Cgroups {
        kill_file: base.join("cgroup.kill").exists(),
        base,
        memory,
    })
}

/// Turns the memory controller on down to `levels`' last entry (whose children are the
/// leaves), where the parent offers it. Best effort: false leaves memory to `/proc`.
fn enable_memory(levels: &[PathBuf], own_dir: &Path, root: bool) -> bool {
    let offered = |dir: &Path| {
        std::fs::read_to_string(dir.join("cgroup.controllers"))
            .is_ok_and(|c| c.split_whitespace().any(|n| n == "memory"))
    };
    let enabled = |dir: &Path| {
        std::fs::read_to_string(dir.join("cgroup.subtree_control"))
            .is_ok_and(|c| c.split_whitespace().any(|n| n == "memory"))
    };
    let Some(first) = levels.first() else {
        return false;
    };
    if !offered(first) {
        return false;
    }
    for (i, dir) in levels.iter().enumerate() {
        if enabled(dir) {
            continue;
        }
        // A delegated cgroup that holds the daemon cannot enable controllers for its
        // children ("no internal processes"): the daemon moves into a leaf of its own.
        if !root && i == 0 && dir == own_dir {
            let leaf = dir.join("daemon");
            let moved = std::fs::create_dir_all(&leaf)
                .and_then(|()| write_file(&leaf.join("cgroup.procs"), "0"));
            if let Err(err) = moved {
                tracing::info!(%err, "cannot move the daemon into a leaf; memory from /proc");
                return false;
            }
        }
        if let Err(err) = write_file(&dir.join("cgroup.subtree_control"), "+memory") {
            tracing::info!(dir = %dir.display(), %err, "memory controller not enabled; memory from /proc");
            return false;
        }
    }
    true
}

fn write_file(path: &Path, text: &str) -> std::io::Result<()> {
    let mut file = OpenOptions::new().write(true).open(path)?;
    file.write_all(text.as_bytes())
}

impl Cgroups {
    /// The cgroup of process `id`.
    pub fn dir_of(&self, id: u32) -> PathBuf {
        self.base.join(id.to_string())
    }

    /// Creates the cgroup of process `id` if needed and opens its directory (close-on-exec:
    /// the program never sees it), which the child is cloned into, or whose `cgroup.procs`
    /// it writes itself into (see `spawn`); with whether it was made just now. `likely_there`
    /// (a run just ended in it) says which to try first: a failed lookup in the cgroup file
    /// system was a twentieth of the daemon's work in a 1,000-app start.
    pub fn prepare(&self, id: u32, likely_there: bool) -> std::io::Result<(PathBuf, File, bool)> {
        let dir = self.dir_of(id);
        let open = || {
            OpenOptions::new()
                .read(true)
                .custom_flags(nix::libc::O_DIRECTORY | nix::libc::O_CLOEXEC)
                .open(&dir)
        };
        if likely_there {
            match open() {
                Ok(handle) => return Ok((dir, handle, false)),
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
                Err(err) => return Err(err),
            }
        }
        let created = match std::fs::create_dir(&dir) {
            Ok(()) => true,
            Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => false,
            // The subtree itself is gone (removed by hand, or never made).
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(&dir)?;
                true
            }
            Err(err) => return Err(err),
        };
        let handle = open()?;
        Ok((dir, handle, created))
    }

    /// Every process cgroup in the subtree, with its id (what an earlier daemon left).
    pub fn leaves(&self) -> Vec<(u32, PathBuf)> {
        let Ok(dir) = std::fs::read_dir(&self.base) else {
            return Vec::new();
        };
        dir.flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path())))
            .collect()
    }

    /// Removes the subtree when it holds nothing (a daemon that ends).
    pub fn remove_base(&self) {
        for (_, dir) in self.leaves() {
            remove(&dir);
        }
        let _ = std::fs::remove_dir(&self.base);
    }
}

/// The pids in a cgroup (empty when it is gone).
pub fn members(dir: &Path) -> Vec<u32> {
    std::fs::read_to_string(dir.join("cgroup.procs"))
        .map(|t| t.lines().filter_map(|l| l.trim().parse().ok()).collect())
        .unwrap_or_default()
}

/// Whether any process is in the cgroup (`populated 1` in `cgroup.events`); a cgroup that
/// is gone holds nothing.
pub fn populated(dir: &Path) -> bool {
    // Read at every exit and launch: whole, in one go (see `kernel_file`).
    let mut buf = [0u8; 1024];
    crate::kernel_file::read(dir.join("cgroup.events"), &mut buf)
        .and_then(|t| std::str::from_utf8(t).ok())
        .is_some_and(|t| {
            t.lines().any(|l| {
                l.strip_prefix("populated ")
                    .is_some_and(|v| v.trim() == "1")
            })
        })
}

/// Sends `signal` to every member; members that appear meanwhile get it on a second read.
pub fn signal_all(dir: &Path, signal: Signal) {
    let mut done: Vec<u32> = Vec::new();
    for _ in 0..2 {
        for pid in members(dir) {
            if !done.contains(&pid) {
                crate::tree::signal_pid(pid, signal);
                done.push(pid);
            }
        }
    }
}

/// Kills everything in the cgroup at once (`cgroup.kill`), or, on kernels without it,
/// SIGKILLs every member (what forks meanwhile is caught by the caller's next round).
pub fn kill(dir: &Path, kill_file: bool) {
    if kill_file && write_file(&dir.join("cgroup.kill"), "1").is_ok() {
        return;
    }
    for pid in members(dir) {
        crate::tree::signal_pid(pid, Signal::SIGKILL);
    }
}

/// Removes an empty cgroup; one that still holds a process (or is gone) stays as it is.
pub fn remove(dir: &Path) {
    let _ = std::fs::remove_dir(dir);
}

/// The memory charged to the cgroup (`memory.current`), where the memory controller is on.
pub fn memory_current(dir: &Path) -> Option<u64> {
    std::fs::read_to_string(dir.join("memory.current"))
        .ok()?
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_points_with_escapes_unescape() {
        assert_eq!(unescape("/a\\040b"), PathBuf::from("/a b"));
        assert_eq!(unescape("/sys/fs/cgroup"), PathBuf::from("/sys/fs/cgroup"));
    }

    #[test]
    fn the_mount_and_own_cgroup_are_found_where_there_is_one() {
        if let Some(mount) = mount_point() {
            assert!(mount.join("cgroup.procs").exists(), "{}", mount.display());
            assert!(own_cgroup().is_some());
        }
    }
}
