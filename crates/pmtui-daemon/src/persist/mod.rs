//! Keeping the process table on disk: `processes/<name>.json` holds the records of the
//! processes of one name, rewritten durably (temp file, fsync, rename, fsync of the folder)
//! after every change, so that a daemon killed at any moment (or a power loss) is replaced
//! by one that knows what should run.
//!
//! What goes wrong is kept, not only logged: a file that could not be read at start, and a
//! name whose latest change could not be written, are `StateProblem`s that `ping` and `ls`
//! report. Failed writes are retried by the persister until they succeed.

mod dump;
mod durable;
mod load;

pub use dump::{resurrect, save_dump};
pub use durable::make_durable;
pub use load::load_all;

use crate::{Daemon, DaemonError, Paths};
use pmtui_proto::{StateProblem, StateProblemKind};
use pmtui_statedir::Dir;
use pmtui_supervisor::{ProcessRecord, Supervisor};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::oneshot;

/// Threads that write a large batch of files together (see `Store::write_files`).
const WRITERS: usize = 8;
/// The smallest batch spread over threads.
const PARALLEL_FROM: usize = 16;

/// How long the persister lets a crash's restart (a new pid, one more restart) gather
/// before it writes it. The next run starts at once, and the write used to take the CPU
/// from it (a fifth of the daemon's work per crash on tmpfs, more with a disk's fsync).
/// Other changes are written at once; requests make their own durable before replying.
const GATHER: Duration = Duration::from_millis(10);

/// How often the persister tries again to write the names whose last write failed.
const RETRY_EVERY: Duration = Duration::from_secs(2);

/// The state directory, checked and held open, and what went wrong with its files.
pub struct Store {
    pub home: Dir,
    pub processes: Dir,
    problems: Mutex<Problems>,
    /// Held while a file is read from the table and written, so that of two writers of
    /// one name (the persister, a request making its change durable before it replies)
    /// the one that read the newer state writes last.
    writing: Mutex<()>,
    /// A hash of what this daemon last wrote per name, to skip writes that change nothing.
    written: Mutex<HashMap<String, u64>>,
}

#[derive(Default)]
struct Problems {
    unreadable: Vec<StateProblem>,
    /// Files left in place because they could not be read: `write_all` keeps them.
    kept: BTreeSet<String>,
    /// Per name: the file and the error of its last failed write.
    unsaved: BTreeMap<String, (PathBuf, String)>,
}

/// A write of one name's file that failed.
#[derive(Debug)]
pub struct WriteFailure {
    pub path: PathBuf,
    pub error: std::io::Error,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Store {
    /// Opens (creating when missing) and checks the state directory and its folders.
    pub fn open(paths: &Paths) -> Result<Self, DaemonError> {
        let home = Dir::home(&paths.home, true)?;
        let processes = home.sub("processes")?;
        home.sub("logs")?;
        home.sub("pids")?;
        Ok(Self {
            home,
            processes,
            problems: Mutex::default(),
            writing: Mutex::new(()),
            written: Mutex::default(),
        })
    }

    /// The file name (in `processes/`) of the processes named `name`: `<stem>.json`, the
    /// stem being unique per name (`pmtui_proto::file_stem`). Files of an older naming
    /// scheme are read all the same and replaced by `write_all` when the daemon starts.
    pub fn file_name(name: &str) -> String {
        format!("{}.json", pmtui_proto::file_stem(name))
    }

    /// The records of `name` as they are on disk now; `None` when there is no readable file.
    pub fn read_named(&self, name: &str) -> Option<Vec<ProcessRecord>> {
        let bytes = self.processes.read(&Self::file_name(name)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Rewrites (or removes) the files of `names` from the table, durably: each file
    /// fsynced, then the folder once. A file whose content did not change since this daemon
    /// last wrote it is left alone (the persister sees the same change a request just
    /// wrote). Returns the names that failed.
    pub fn write_names(
        &self,
        supervisor: &Supervisor,
        names: impl IntoIterator<Item = String>,
    ) -> BTreeMap<String, WriteFailure> {
        let _writing = lock(&self.writing);
        let mut failures = BTreeMap::new();
        let mut done = Vec::new();
        let mut changed = false;
        let names: Vec<String> = names.into_iter().collect();
        for (name, result) in self.write_files(supervisor, names) {
            match result {
                Ok(wrote) => {
                    changed |= wrote;
                    done.push(name);
                }
                Err(error) => {
                    let path = self.processes.join(&Self::file_name(&name));
                    failures.insert(name, WriteFailure { path, error });
                }
            }
        }
        if changed && let Err(error) = self.processes.sync() {
            let mut written = lock(&self.written);
            for name in done.drain(..) {
                written.remove(&name);
                let path = self.processes.join(&Self::file_name(&name));
                let error = std::io::Error::new(error.kind(), error.to_string());
                failures.insert(name, WriteFailure { path, error });
            }
        }
        let mut problems = lock(&self.problems);
        for name in done {
            if problems.unsaved.remove(&name).is_some() {
                tracing::info!(name, "process file written after all");
            }
        }
        for (name, failure) in &failures {
            let text = failure.error.to_string();
            // Logged once per new error, not on every retry.
            let again = problems
                .unsaved
                .get(name)
                .is_some_and(|(_, before)| *before == text);
            if !again {
                tracing::error!(path = %failure.path.display(), error = %text, "cannot write process file");
            }
            problems
                .unsaved
                .insert(name.clone(), (failure.path.clone(), text));
        }
        failures
    }

    /// [`Store::write_file`] for each of `names`, a large batch spread over a few threads:
    /// each file's fsync waits for the disk, and waits issued together are served together
    /// (a 1,000-app file made its 1,000 fsyncs one after another before its reply).
    fn write_files(
        &self,
        supervisor: &Supervisor,
        names: Vec<String>,
    ) -> Vec<(String, std::io::Result<bool>)> {
        if names.len() < PARALLEL_FROM {
            return names
                .into_iter()
                .map(|name| {
                    let result = self.write_file(supervisor, &name);
                    (name, result)
                })
                .collect();
        }
        let per_thread = names.len().div_ceil(WRITERS);
        std::thread::scope(|scope| {
            let writers: Vec<_> = names
                .chunks(per_thread)
                .map(|chunk| {
                    scope.spawn(move || {
                        chunk
                            .iter()
                            .map(|name| (name.clone(), self.write_file(supervisor, name)))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            writers
                .into_iter()
                .flat_map(|writer| match writer.join() {
                    Ok(results) => results,
                    Err(panic) => std::panic::resume_unwind(panic),
                })
                .collect()
        })
    }

    /// Writes or removes one file (not the folder's fsync); true when it changed.
    fn write_file(&self, supervisor: &Supervisor, name: &str) -> std::io::Result<bool> {
        let file = Self::file_name(name);
        let records = supervisor.records_named(name);
        if records.is_empty() {
            lock(&self.written).remove(name);
            return match self.processes.remove(&file, false) {
                // No file of that name can exist, so there is nothing to remove.
                Err(e) if e.raw_os_error() == Some(nix::libc::ENAMETOOLONG) => Ok(false),
                other => other,
            };
        }
        // Streamed (past `pmtui_statedir::STREAM_BUFFER`) into the temp file, hashed on
        // the way: a thousand processes of one name make a file of megabytes, which held
        // whole in memory on a blocking thread used to stay in that thread's malloc arena as
        // free space after it was written. A file that fits the buffer and did not change
        // creates no temp file.
        let mut hash = 0;
        let result = self.processes.write_synced_with(&file, |out| {
            // Buffered before the hash: the encoder's many small writes (a token each)
            // are hashed and passed on in blocks, not one by one through `dyn Write`.
            let mut out = std::io::BufWriter::with_capacity(
                HASHED_BLOCK,
                Hashing {
                    inner: out,
                    hasher: std::collections::hash_map::DefaultHasher::new(),
                },
            );
            serde_json::to_writer_pretty(&mut out, &records).map_err(std::io::Error::other)?;
            let out = out
                .into_inner()
                .map_err(std::io::IntoInnerError::into_error)?;
            hash = std::hash::Hasher::finish(&out.hasher);
            // The same bytes as the file holds: nothing to write.
            Ok(lock(&self.written).get(name) != Some(&hash))
        });
        let mut written = lock(&self.written);
        match result {
            Ok(changed) => {
                written.insert(name.to_string(), hash);
                Ok(changed)
            }
            Err(error) => {
                written.remove(name);
                Err(error)
            }
        }
    }

    /// Rewrites every file, removing those of names that no longer exist.
    pub fn write_all(&self, supervisor: &Supervisor) {
        let records = supervisor.records();
        let mut names: BTreeSet<String> = records.iter().map(|r| r.spec.name.clone()).collect();
        let keep: BTreeSet<String> = names.iter().map(|n| Self::file_name(n)).collect();
        // Names whose file could not be removed yet are tried again (and cleared).
        names.extend(self.unsaved());
        let unread = lock(&self.problems).kept.clone();
        {
            let _writing = lock(&self.writing);
            for file in self.processes.entries().unwrap_or_default() {
                if file.ends_with(".json") && !keep.contains(&file) && !unread.contains(&file) {
                    let _ = self.processes.remove(&file, false);
                }
            }
            let _ = self.processes.sync();
        }
        let _ = self.write_names(supervisor, names);
    }

    /// The names whose last write failed.
    fn unsaved(&self) -> Vec<String> {
        lock(&self.problems).unsaved.keys().cloned().collect()
    }

    /// Notes a file that could not be read; with `kept`, the file (in `processes/`) was
    /// left in place and must not be removed as a stale one.
    pub(crate) fn note_unreadable(&self, problem: StateProblem, kept: Option<&str>) {
        let mut problems = lock(&self.problems);
        problems.unreadable.push(problem);
        problems.kept.extend(kept.map(str::to_string));
    }

    /// Everything `ping` and `ls` report.
    pub fn problems(&self) -> Vec<StateProblem> {
        let problems = lock(&self.problems);
        let mut all = problems.unreadable.clone();
        all.extend(
            problems
                .unsaved
                .iter()
                .map(|(name, (path, error))| StateProblem {
                    kind: StateProblemKind::Unsaved,
                    path: path.display().to_string(),
                    message: format!(
                        "the latest change to {name} is not on disk ({error}); pmtui retries every \
                 {} s, and until it succeeds a daemon restart would go back to the file's \
                 older content",
                        RETRY_EVERY.as_secs()
                    ),
                }),
        );
        all
    }
}

/// Follows the rows that change and rewrites the files of the names that changed. Bursts
/// are coalesced: one write per name for everything that changed together (a crash's
/// restart: within `GATHER`). Names whose write failed are tried again every
/// `RETRY_EVERY`. Returns when `stop` fires (or its sender is dropped), and only between
/// writes: once it has returned, no write of its own can land after the daemon's final
/// one (a write cut off mid-way on the blocking pool would put back the file of a process
/// that `kill` just deleted).
pub async fn run(daemon: Arc<Daemon>, stop: oneshot::Receiver<()>) {
    // What changed before is on disk already (the daemon wrote every record at its start);
    // a change between these two lines is written twice, none is missed.
    daemon.supervisor.forget_changes();
    let mut names: HashMap<u32, String> = daemon
        .supervisor
        .list()
        .into_iter()
        .map(|p| (p.id, p.name))
        .collect();
    tokio::pin!(stop);
    loop {
        let mut touched: BTreeSet<String> = BTreeSet::new();
        let retry = async {
            if daemon.store.unsaved().is_empty() {
                std::future::pending::<()>().await;
            }
            tokio::time::sleep(RETRY_EVERY).await;
        };
        tokio::select! {
            changed = daemon.supervisor.changed() => {
                // Only a run's pid and restart count changed (a crash's restart): that
                // waits a little, so the next run starts without the write on the CPUs,
                // and a crash loop is written once per burst. A daemon killed meanwhile
                // leaves the older record, which recovery copes with (it finds leftovers
                // by cgroup and marker, not by the recorded pid). A `stop` meanwhile
                // leaves them to the daemon's final write.
                let mut rows = changed.rows;
                if !changed.urgent {
                    // An urgent change meanwhile (a task that completed) ends the wait.
                    tokio::select! {
                        () = tokio::time::sleep(GATHER) => {}
                        () = daemon.supervisor.urgent_change() => {}
                        _ = &mut stop => return,
                    }
                    rows.extend(daemon.supervisor.changed_now().rows);
                }
                for (id, name) in rows {
                    match name {
                        Some(name) => {
                            // A renamed process leaves its old name's file behind.
                            if let Some(old) = names.insert(id, name.clone())
                                && old != name
                            {
                                touched.insert(old);
                            }
                            touched.insert(name);
                        }
                        None => touched.extend(names.remove(&id)),
                    }
                }
            }
            () = retry => touched.extend(daemon.store.unsaved()),
            _ = &mut stop => return,
        }
        let writer = Arc::clone(&daemon);
        let _ = tokio::task::spawn_blocking(move || {
            let _ = writer.store.write_names(&writer.supervisor, touched);
        })
        .await;
        // A change written follows work that may have left free memory (a burst of
        // restarts, say, with no command behind it).
        daemon.memory.worked();
    }
}

/// The blocks in which a process file is hashed and written.
const HASHED_BLOCK: usize = 8 * 1024;

/// A writer that hashes what passes through it.
struct Hashing<'a, W: ?Sized> {
    inner: &'a mut W,
    hasher: std::collections::hash_map::DefaultHasher,
}

impl<W: std::io::Write + ?Sized> std::io::Write for Hashing<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        std::hash::Hasher::write(&mut self.hasher, &buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}
