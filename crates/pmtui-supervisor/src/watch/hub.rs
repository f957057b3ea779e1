//! The watcher thread: owns the inotify watcher, which folders are watched (and for how
//! many subscribers), and each subscriber's rules. It turns inotify's events into changes
//! for the subscribers they concern, watches folders as they are created (or moved in),
//! forgets those deleted, and every second looks for watched paths that were missing
//! (deleted, or not there yet) and watches them again when they reappear (a change).
//! Walking trees and adding watches blocks, so none of it runs on the runtime's threads.

use super::filter::Filter;
use super::{Change, WatchRequest, limit};
use notify::event::{
    AccessKind, AccessMode, CreateKind, EventKind, ModifyKind, RemoveKind, RenameMode,
};
use notify::{RecursiveMode, Watcher};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::mpsc as std_mpsc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

pub(super) enum Msg {
    Event(notify::Result<notify::Event>),
    Subscribe {
        request: WatchRequest,
        tx: mpsc::UnboundedSender<Change>,
        reply: oneshot::Sender<Result<u64, String>>,
    },
    Unsubscribe(u64),
}

/// How often missing paths are looked for.
const RECHECK: Duration = Duration::from_secs(1);

struct Root {
    path: PathBuf,
    /// A file: its folder is watched (so that an editor's replace-by-rename is seen) and
    /// only this name counts.
    file: bool,
    /// Rules, for a directory root.
    filter: Filter,
    /// Not there (yet, or any more): looked for every second.
    missing: bool,
}

struct Sub {
    roots: Vec<Root>,
    tx: mpsc::UnboundedSender<Change>,
    /// The folders watched for this subscriber.
    dirs: HashSet<PathBuf>,
}

struct Hub {
    me: std_mpsc::Sender<Msg>,
    watcher: Option<notify::RecommendedWatcher>,
    /// Every folder watched, and by how many subscribers.
    dirs: HashMap<PathBuf, u32>,
    subs: HashMap<u64, Sub>,
    next: u64,
}

/// Starts the thread; returns its mailbox.
pub(super) fn start() -> std_mpsc::Sender<Msg> {
    let (tx, rx) = std_mpsc::channel();
    let me = tx.clone();
    let spawned = std::thread::Builder::new()
        .name("pmtui-watch".into())
        .spawn(move || {
            Hub {
                me,
                watcher: None,
                dirs: HashMap::new(),
                subs: HashMap::new(),
                next: 1,
            }
            .run(rx)
        });
    if let Err(err) = spawned {
        tracing::error!(%err, "cannot start the file watcher thread");
    }
    tx
}

/// Why adding a watch failed.
enum AddError {
    Limit,
    Other(String),
}

impl Hub {
    fn run(mut self, rx: std_mpsc::Receiver<Msg>) {
        let mut checked = Instant::now();
        loop {
            match rx.recv_timeout(RECHECK) {
                Ok(Msg::Event(Ok(event))) => self.on_event(event),
                Ok(Msg::Event(Err(err))) => {
                    tracing::warn!(%err, "file watcher error");
                    if matches!(err.kind, notify::ErrorKind::MaxFilesWatch) {
                        self.tell_all(
                            "the inotify watch limit was reached while watching new folders",
                        );
                    }
                }
                Ok(Msg::Subscribe { request, tx, reply }) => {
                    let _ = reply.send(self.subscribe(request, tx));
                }
                Ok(Msg::Unsubscribe(id)) => self.unsubscribe(id),
                Err(std_mpsc::RecvTimeoutError::Timeout) => {}
                Err(std_mpsc::RecvTimeoutError::Disconnected) => break,
            }
            if checked.elapsed() >= RECHECK {
                checked = Instant::now();
                self.recheck_missing();
            }
        }
    }

    fn watcher(&mut self) -> Result<&mut notify::RecommendedWatcher, String> {
        if self.watcher.is_none() {
            let me = self.me.clone();
            let watcher = notify::recommended_watcher(move |event| {
                let _ = me.send(Msg::Event(event));
            })
            .map_err(|err| limit::instances_exhausted(&err))?;
            self.watcher = Some(watcher);
        }
        self.watcher
            .as_mut()
            .ok_or_else(|| "no file watcher".to_string())
    }

    fn subscribe(
        &mut self,
        request: WatchRequest,
        tx: mpsc::UnboundedSender<Change>,
    ) -> Result<u64, String> {
        self.watcher()?;
        let id = self.next;
        self.next += 1;
        let roots = request
            .roots
            .iter()
            .map(|path| {
                let file = path.is_file();
                let dir = if file {
                    path.parent().unwrap_or(path)
                } else {
                    path
                };
                Root {
                    path: path.clone(),
                    file,
                    filter: Filter::new(
                        dir,
                        &request.ignore,
                        request.own.clone(),
                        request.own_dirs.clone(),
                    ),
                    missing: !path.exists(),
                }
            })
            .collect();
        self.subs.insert(
            id,
            Sub {
                roots,
                tx,
                dirs: HashSet::new(),
            },
        );
        let count = self.subs.get(&id).map_or(0, |s| s.roots.len());
        for i in 0..count {
            if let Err(err) = self.watch_root(id, i) {
                let root = self.root_path(id, i);
                let set = self.subs.get(&id).map_or(0, |s| s.dirs.len());
                self.unsubscribe(id);
                return Err(match err {
                    AddError::Limit => limit::watches_exhausted(&root, set),
                    AddError::Other(why) => why,
                });
            }
        }
        let dirs = self.subs.get(&id).map_or(0, |s| s.dirs.len());
        tracing::info!(id, dirs, total = self.dirs.len(), "watching");
        Ok(id)
    }

    fn root_path(&self, id: u64, i: usize) -> PathBuf {
        self.subs
            .get(&id)
            .and_then(|s| s.roots.get(i))
            .map(|r| r.path.clone())
            .unwrap_or_default()
    }

    /// Watches root `i` of subscriber `id` (nothing if it is missing).
    fn watch_root(&mut self, id: u64, i: usize) -> Result<(), AddError> {
        let Some(root) = self.subs.get(&id).and_then(|s| s.roots.get(i)) else {
            return Ok(());
        };
        if root.missing {
            return Ok(());
        }
        if root.file {
            let dir = root.path.parent().unwrap_or(&root.path).to_path_buf();
            return self.add_dir(id, &dir);
        }
        let path = root.path.clone();
        self.add_tree(id, i, &path)
    }

    /// Watches `dir` and every folder under it that root `i`'s rules do not ignore.
    fn add_tree(&mut self, id: u64, i: usize, dir: &Path) -> Result<(), AddError> {
        let mut stack = vec![dir.to_path_buf()];
        while let Some(dir) = stack.pop() {
            if let Some(root) = self.subs.get_mut(&id).and_then(|s| s.roots.get_mut(i)) {
                root.filter.add_gitignore(&dir);
            }
            match self.add_dir(id, &dir) {
                Ok(()) => {}
                Err(AddError::Limit) => return Err(AddError::Limit),
                Err(AddError::Other(why)) => {
                    // A folder that vanished or cannot be read: the rest is still watched.
                    tracing::debug!(dir = %dir.display(), why, "folder not watched");
                    continue;
                }
            }
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                // Symbolic links are not followed (no loops, no escaping the tree).
                if !entry.file_type().is_ok_and(|t| t.is_dir()) {
                    continue;
                }
                let path = entry.path();
                let ignored = self
                    .subs
                    .get(&id)
                    .and_then(|s| s.roots.get(i))
                    .is_none_or(|r| r.filter.ignores(&path, true));
                if !ignored {
                    stack.push(path);
                }
            }
        }
        Ok(())
    }

    /// One folder more for subscriber `id` (one inotify watch, shared).
    fn add_dir(&mut self, id: u64, dir: &Path) -> Result<(), AddError> {
        let Some(sub) = self.subs.get(&id) else {
            return Ok(());
        };
        if sub.dirs.contains(dir) {
            return Ok(());
        }
        if !self.dirs.contains_key(dir) {
            let watcher = self.watcher().map_err(AddError::Other)?;
            if let Err(err) = watcher.watch(dir, RecursiveMode::NonRecursive) {
                return Err(match err.kind {
                    notify::ErrorKind::MaxFilesWatch => AddError::Limit,
                    _ => AddError::Other(format!("cannot watch {}: {err}", dir.display())),
                });
            }
        }
        *self.dirs.entry(dir.to_path_buf()).or_insert(0) += 1;
        if let Some(sub) = self.subs.get_mut(&id) {
            sub.dirs.insert(dir.to_path_buf());
        }
        Ok(())
    }

    /// Subscriber `id` no longer needs `dir`; the last one to go removes the watch.
    fn drop_dir(&mut self, dir: &Path) {
        if let Some(count) = self.dirs.get_mut(dir) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                self.dirs.remove(dir);
                if let Some(watcher) = self.watcher.as_mut() {
                    // Already gone when the folder was deleted.
                    let _ = watcher.unwatch(dir);
                }
            }
        }
    }

    fn unsubscribe(&mut self, id: u64) {
        if let Some(sub) = self.subs.remove(&id) {
            for dir in &sub.dirs {
                self.drop_dir(dir);
            }
            tracing::info!(id, total = self.dirs.len(), "watch ended");
        }
        if self.subs.is_empty() {
            // Nothing watched: the inotify instance is closed too.
            self.watcher = None;
            self.dirs.clear();
        }
    }

    /// Folders at or under `gone` (deleted, or moved away) are no longer watched.
    fn forget_under(&mut self, gone: &Path) {
        let lost: Vec<PathBuf> = self
            .dirs
            .keys()
            .filter(|d| d.starts_with(gone))
            .cloned()
            .collect();
        for dir in lost {
            let mut holders = 0;
            for sub in self.subs.values_mut() {
                if sub.dirs.remove(&dir) {
                    holders += 1;
                }
            }
            for _ in 0..holders {
                self.drop_dir(&dir);
            }
        }
    }

    fn on_event(&mut self, event: notify::Event) {
        if event.need_rescan() {
            // The kernel's queue overflowed: changes were lost, so say something changed.
            self.tell_all_changed();
            return;
        }
        let counts = match event.kind {
            EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
            EventKind::Access(_) | EventKind::Other | EventKind::Any => false,
            _ => true,
        };
        if !counts {
            return;
        }
        let gone = matches!(
            event.kind,
            EventKind::Remove(_) | EventKind::Modify(ModifyKind::Name(RenameMode::From))
        );
        let came = matches!(
            event.kind,
            EventKind::Create(CreateKind::Folder | CreateKind::Any)
                | EventKind::Modify(ModifyKind::Name(RenameMode::To | RenameMode::Both))
        );
        let dir_hint = matches!(
            event.kind,
            EventKind::Create(CreateKind::Folder) | EventKind::Remove(RemoveKind::Folder)
        );
        // A rename's `Both` repeats its `From` and `To`.
        if matches!(
            event.kind,
            EventKind::Modify(ModifyKind::Name(RenameMode::Both))
        ) {
            return;
        }
        for path in &event.paths {
            if gone {
                self.forget_under(path);
            }
            let is_dir = dir_hint || (!gone && path.is_dir());
            self.dispatch(path, is_dir, gone, came && is_dir);
        }
    }

    /// Tells the subscribers a change of `path` concerns; watches it if it is a new folder.
    fn dispatch(&mut self, path: &Path, is_dir: bool, gone: bool, new_dir: bool) {
        let mut grow: Vec<(u64, usize)> = Vec::new();
        for (id, sub) in &mut self.subs {
            for (i, root) in sub.roots.iter_mut().enumerate() {
                let shown = if root.file {
                    if path != root.path {
                        continue;
                    }
                    root.path
                        .file_name()
                        .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
                } else {
                    let Ok(rel) = path.strip_prefix(&root.path) else {
                        continue;
                    };
                    if rel.as_os_str().is_empty() {
                        // The watched folder itself was deleted or moved away.
                        if gone {
                            root.missing = true;
                            let _ = sub.tx.send(Change::Path {
                                at: Instant::now(),
                                path: path.to_path_buf(),
                                shown: path.display().to_string(),
                            });
                        }
                        continue;
                    }
                    if root.filter.ignores(path, is_dir) {
                        continue;
                    }
                    rel.display().to_string()
                };
                if new_dir && !root.file {
                    grow.push((*id, i));
                }
                let _ = sub.tx.send(Change::Path {
                    at: Instant::now(),
                    path: path.to_path_buf(),
                    shown,
                });
            }
        }
        for (id, i) in grow {
            if let Err(AddError::Limit) = self.add_tree(id, i, path) {
                let message = limit::watches_exhausted(path, 0);
                if let Some(sub) = self.subs.get(&id) {
                    let _ = sub.tx.send(Change::Error(message));
                }
            }
        }
    }

    /// Watched paths that were missing and are there again: watched, and a change.
    fn recheck_missing(&mut self) {
        let back: Vec<(u64, usize)> = self
            .subs
            .iter()
            .flat_map(|(id, s)| {
                s.roots
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| r.missing && r.path.exists())
                    .map(move |(i, _)| (*id, i))
            })
            .collect();
        for (id, i) in back {
            let Some(root) = self.subs.get_mut(&id).and_then(|s| s.roots.get_mut(i)) else {
                continue;
            };
            root.missing = false;
            root.file = root.path.is_file();
            let path = root.path.clone();
            let result = self.watch_root(id, i);
            let Some(sub) = self.subs.get(&id) else {
                continue;
            };
            let change = match result {
                Err(AddError::Limit) => Change::Error(limit::watches_exhausted(&path, 0)),
                _ => Change::Path {
                    at: Instant::now(),
                    shown: path.display().to_string(),
                    path,
                },
            };
            let _ = sub.tx.send(change);
        }
    }

    fn tell_all_changed(&self) {
        for sub in self.subs.values() {
            if let Some(root) = sub.roots.first() {
                let _ = sub.tx.send(Change::Path {
                    at: Instant::now(),
                    path: root.path.clone(),
                    shown: root.path.display().to_string(),
                });
            }
        }
    }

    fn tell_all(&self, message: &str) {
        for sub in self.subs.values() {
            let _ = sub.tx.send(Change::Error(message.to_string()));
        }
    }
}
