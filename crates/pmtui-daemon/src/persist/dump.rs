//! `save` and `resurrect`: `dump.json` in the state directory, with the previous dump kept
//! as `dump.json.bak`. Both are written durably and opened without following links.

use crate::Daemon;
use pmtui_proto::{ErrorKind, Response};
use pmtui_supervisor::ProcessRecord;
use std::collections::BTreeSet;

const DUMP: &str = "dump.json";
const BACKUP: &str = "dump.json.bak";
/// Where `resurrect` moves a dump it cannot read when the backup is good.
const BROKEN: &str = "dump.json.broken";

/// `save`: every process, stopped ones included, into `dump.json` (the previous dump kept as
/// `dump.json.bak`). An empty list is refused unless forced, so an accidental `save` after
/// `kill` does not wipe a good dump. Succeeds only once the new dump is on disk.
pub fn save_dump(daemon: &Daemon, force: bool) -> Response {
    let records = daemon.supervisor.records();
    if records.is_empty() && !force {
        return Response::error(
            ErrorKind::BadRequest,
            "no process to save; `pmtui save --force` writes an empty dump",
        );
    }
    let home = &daemon.store.home;
    let path = home.join(DUMP);
    // The previous dump is kept first: without its backup, the good dump is not replaced.
    match home.read(DUMP) {
        Ok(previous) => {
            if let Err(err) = home.write_durable(BACKUP, &previous) {
                return Response::error(
                    ErrorKind::Io,
                    format!(
                        "cannot keep the previous dump as {}: {err}; {} was left as it was",
                        home.join(BACKUP).display(),
                        path.display()
                    ),
                );
            }
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => {
            return Response::error(
                ErrorKind::Io,
                format!(
                    "cannot read the previous dump {}: {err}; it was left as it was",
                    path.display()
                ),
            );
        }
    }
    match serde_json::to_vec_pretty(&records)
        .map_err(std::io::Error::other)
        .and_then(|b| home.write_durable(DUMP, &b))
    {
        Ok(()) => Response::Saved {
            path: path.display().to_string(),
            count: records.len(),
        },
        Err(err) => Response::error(
            ErrorKind::Io,
            format!("cannot write {}: {err}; nothing was saved", path.display()),
        ),
    }
}

/// `resurrect`: starts what `dump.json` (or its backup) holds, skipping names that exist.
pub async fn resurrect(daemon: &Daemon) -> Response {
    let home = &daemon.store.home;
    let read = |name: &str| {
        home.read(name).map_err(|e| e.to_string()).and_then(|b| {
            serde_json::from_slice::<Vec<ProcessRecord>>(&b).map_err(|e| e.to_string())
        })
    };
    let records = match read(DUMP).or_else(|first| {
        let records = read(BACKUP).map_err(|_| first.clone())?;
        // The dump is broken (or gone) and the backup good: move the broken one aside so
        // the next `save` does not copy it over the good backup (pm2 deletes it).
        if home.metadata(DUMP).is_ok() {
            match home.rename(DUMP, BROKEN) {
                Ok(()) => tracing::warn!(
                    dump = %home.join(DUMP).display(),
                    moved_to = %home.join(BROKEN).display(),
                    %first,
                    "unreadable dump moved aside; resurrecting from the backup"
                ),
                Err(err) => tracing::warn!(
                    dump = %home.join(DUMP).display(),
                    %err,
                    "cannot move the unreadable dump aside"
                ),
            }
        }
        Ok::<_, String>(records)
    }) {
        Ok(records) => records,
        Err(err) => {
            return Response::error(
                ErrorKind::Io,
                format!(
                    "cannot read {}: {err}; `pmtui save` writes it",
                    home.join(DUMP).display()
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
