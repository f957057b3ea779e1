//! Keeping the process table on disk: `processes/<name>.json` holds the records of the
//! processes of one name, rewritten atomically (temp file, fsync, rename) after every change,
//! so that a daemon killed at any moment is replaced by one that knows what should run.

use crate::{Daemon, Paths};
use pmtui_proto::EventKind;
use pmtui_supervisor::{ProcessRecord, Supervisor};
use std::collections::{BTreeSet, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::oneshot;

/// The file that holds the processes named `name`: `processes/<stem>.json`, the stem
/// being unique per name (`pmtui_proto::file_stem`). Files of an older naming scheme are
/// read all the same and replaced by `write_all` when the daemon starts.
pub fn file_for(paths: &Paths, name: &str) -> PathBuf {
    paths
        .processes
        .join(format!("{}.json", pmtui_proto::file_stem(name)))
}

/// Writes `bytes` to `path` so that a reader sees the old or the new content, never half.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
    let mut file = std::fs::File::create(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)
}

/// Every record on disk. A file that cannot be read is logged and set aside, never fatal.
pub fn load_all(paths: &Paths) -> Vec<ProcessRecord> {
    let Ok(dir) = std::fs::read_dir(&paths.processes) else {
        return Vec::new();
    };
    let mut records = Vec::new();
    for entry in dir.flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        match std::fs::read(&path)
            .map_err(|e| e.to_string())
            .and_then(|b| {
                serde_json::from_slice::<Vec<ProcessRecord>>(&b).map_err(|e| e.to_string())
            }) {
            Ok(found) => records.extend(found),
            Err(err) => {
                tracing::error!(path = %path.display(), %err, "unreadable process file set aside");
                let _ = std::fs::rename(&path, path.with_extension("json.broken"));
            }
        }
    }
    records.sort_by_key(|r| r.id);
    records
}

/// Held while a file is read from the table and written, so that of two writers of one
/// name (the persister, a request making its change durable before it replies) the one
/// that read the newer state writes last.
static WRITING: Mutex<()> = Mutex::new(());

/// Rewrites (or removes) the file of one name.
pub fn write_named(paths: &Paths, supervisor: &Supervisor, name: &str) {
    let _writing = WRITING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    write_one(paths, supervisor, name);
}

fn write_one(paths: &Paths, supervisor: &Supervisor, name: &str) {
    let path = file_for(paths, name);
    let records = supervisor.records_named(name);
    let result = if records.is_empty() {
        std::fs::remove_file(&path).or_else(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Ok(())
            } else {
                Err(e)
            }
        })
    } else {
        serde_json::to_vec_pretty(&records)
            .map_err(std::io::Error::other)
            .and_then(|bytes| write_atomic(&path, &bytes))
    };
    if let Err(err) = result {
        tracing::error!(path = %path.display(), %err, "cannot persist process");
    }
}

/// Rewrites every file, removing those of names that no longer exist.
pub fn write_all(paths: &Paths, supervisor: &Supervisor) {
    let _writing = WRITING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let records = supervisor.records();
    let names: BTreeSet<String> = records.iter().map(|r| r.spec.name.clone()).collect();
    let keep: BTreeSet<PathBuf> = names.iter().map(|n| file_for(paths, n)).collect();
    if let Ok(dir) = std::fs::read_dir(&paths.processes) {
        for entry in dir.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "json") && !keep.contains(&path) {
                let _ = std::fs::remove_file(&path);
            }
        }
    }
    for name in names {
        write_one(paths, supervisor, &name);
    }
}

/// Follows the event stream and rewrites the files of the names that changed. Bursts are
/// coalesced: one write per name for everything that arrived together. Returns when `stop`
/// fires (or its sender is dropped), and only between writes: once it has returned, no
/// write of its own can land after the daemon's final one (a write cut off mid-way on the
/// blocking pool would put back the file of a process that `kill` just deleted).
pub async fn run(daemon: Arc<Daemon>, stop: oneshot::Receiver<()>) {
    let (_, rows, mut events) = daemon.supervisor.subscribe();
    let mut names: HashMap<u32, String> = rows.into_iter().map(|p| (p.id, p.name)).collect();
    tokio::pin!(stop);
    loop {
        let mut touched: BTreeSet<String> = BTreeSet::new();
        let mut everything = false;
        let first = tokio::select! {
            event = events.recv() => event,
            _ = &mut stop => return,
        };
        let mut next = Some(first);
        while let Some(event) = next.take() {
            match event {
                Ok(event) => match event.kind {
                    EventKind::Process { process } => {
                        names.insert(process.id, process.name.clone());
                        touched.insert(process.name);
                    }
                    EventKind::Removed { id } => touched.extend(names.remove(&id)),
                    _ => {}
                },
                Err(RecvError::Lagged(_)) => everything = true,
                Err(RecvError::Closed) => return,
            }
            next = match events.try_recv() {
                Ok(e) => Some(Ok(e)),
                Err(tokio::sync::broadcast::error::TryRecvError::Lagged(n)) => {
                    Some(Err(RecvError::Lagged(n)))
                }
                Err(_) => None,
            };
        }
        let daemon = Arc::clone(&daemon);
        let _ = tokio::task::spawn_blocking(move || {
            if everything {
                write_all(&daemon.paths, &daemon.supervisor);
            } else {
                for name in touched {
                    write_named(&daemon.paths, &daemon.supervisor, &name);
                }
            }
        })
        .await;
    }
}

/// `save`: every process, stopped ones included, into `dump.json` (the previous dump kept as
/// `dump.json.bak`). An empty list is refused unless forced, so an accidental `save` after
/// `kill` does not wipe a good dump.
pub fn save_dump(daemon: &Daemon, force: bool) -> pmtui_proto::Response {
    use pmtui_proto::{ErrorKind, Response};
    let records = daemon.supervisor.records();
    if records.is_empty() && !force {
        return Response::error(
            ErrorKind::BadRequest,
            "no process to save; `pmtui save --force` writes an empty dump",
        );
    }
    let path = &daemon.paths.dump;
    if path.exists() {
        let _ = std::fs::copy(path, path.with_extension("json.bak"));
    }
    match serde_json::to_vec_pretty(&records)
        .map_err(std::io::Error::other)
        .and_then(|b| write_atomic(path, &b))
    {
        Ok(()) => Response::Saved {
            path: path.display().to_string(),
            count: records.len(),
        },
        Err(err) => Response::error(
            ErrorKind::Io,
            format!("cannot write {}: {err}", path.display()),
        ),
    }
}

/// `resurrect`: starts what `dump.json` (or its backup) holds, skipping names that exist.
pub async fn resurrect(daemon: &Daemon) -> pmtui_proto::Response {
    use pmtui_proto::{ErrorKind, Response};
    let path = &daemon.paths.dump;
    let read = |p: &Path| {
        std::fs::read(p).map_err(|e| e.to_string()).and_then(|b| {
            serde_json::from_slice::<Vec<ProcessRecord>>(&b).map_err(|e| e.to_string())
        })
    };
    let records = match read(path)
        .or_else(|first| read(&path.with_extension("json.bak")).map_err(|_| first))
    {
        Ok(records) => records,
        Err(err) => {
            return Response::error(
                ErrorKind::Io,
                format!(
                    "cannot read {}: {err}; `pmtui save` writes it",
                    path.display()
                ),
            );
        }
    };
    let existing: BTreeSet<String> = daemon
        .supervisor
        .list()
        .into_iter()
        .map(|p| p.name)
        .collect();
    let fresh: Vec<ProcessRecord> = records
        .into_iter()
        .filter(|r| !existing.contains(&r.spec.name))
        .collect();
    let processes = daemon.supervisor.restore(fresh, false).await;
    Response::Processes { processes }
}
