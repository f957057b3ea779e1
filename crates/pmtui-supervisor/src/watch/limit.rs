//! The words of inotify's limits: a watch that cannot be set up in full is an error that
//! names the limit and the sysctl that raises it, never a silent partial watch.

use std::path::Path;

/// The watch limit in force for this user: the user namespace's own
/// (`/proc/sys/user/max_inotify_watches`, the same as `fs.inotify.max_user_watches` outside
/// containers), if it can be read.
pub(crate) fn max_user_watches() -> Option<u64> {
    [
        "/proc/sys/user/max_inotify_watches",
        "/proc/sys/fs/inotify/max_user_watches",
    ]
    .iter()
    .find_map(|p| std::fs::read_to_string(p).ok()?.trim().parse().ok())
}

/// Why `root` is not watched: the per-user inotify watch limit was reached.
pub(crate) fn watches_exhausted(root: &Path, set: usize) -> String {
    let limit = max_user_watches().map_or_else(|| "?".to_string(), |n| n.to_string());
    format!(
        "cannot watch {}: the inotify watch limit is reached (fs.inotify.max_user_watches = \
         {limit}, shared by every program of this user; {set} folders of this watch were set \
         up, then undone, so nothing is half-watched). Raise it: `sudo sysctl \
         fs.inotify.max_user_watches=524288` (and a line in /etc/sysctl.d/ to keep it), or \
         leave big folders out with ignore_watch",
        root.display()
    )
}

/// Why no watcher could be made: the per-user limit of inotify instances.
pub(crate) fn instances_exhausted(err: &notify::Error) -> String {
    format!(
        "cannot start file watching: {err}. If this is \"too many open files\", the inotify \
         instance limit is reached (fs.inotify.max_user_instances); raise it: `sudo sysctl \
         fs.inotify.max_user_instances=1024`"
    )
}
