//! Acknowledged means durable: a request that changes processes is answered with success
//! only once the files of every name it touched are on disk. When one cannot be written
//! (full disk, a name too long for the file system, no fds left, EIO) the write is tried
//! once more, then the change is undone as far as that is safe, and the reply is an error
//! that says what happened.
//!
//! The rule for undoing: **nothing runs that the disk would not run again.**
//! - A process this request created that the file does not hold (a new `start`, `apply`,
//!   `resurrect`) is stopped and removed: a start that cannot be recorded leaves no
//!   unrecorded process behind.
//! - A process that runs although its file says it is stopped, or has no readable file,
//!   (a `restart` or `start` of a stopped one) is stopped again and kept in the list.
//! - A `stop` or `delete` is not undone: the process stays stopped or deleted, because
//!   refusing would keep running exactly what the user wanted ended (on a full disk that
//!   may be the process filling it). The error says that a daemon restart would bring it
//!   back until the write succeeds, and the persister retries it every few seconds.
//! - A restart of a process the file already says runs keeps it running; the error says
//!   that a daemon restart would use the definition on disk.

use super::WriteFailure;
use crate::Daemon;
use pmtui_proto::{ErrorKind, ProcessId, ProcessInfo, Response};
use pmtui_supervisor::DesiredState;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

/// Makes the change a reply reports durable, or undoes it and turns the reply into an error.
/// `before` holds the ids that existed before the request: the others are its creations.
/// `also` are names the reply does not show whose file changed too (a rename's old name).
pub async fn make_durable(
    daemon: &Arc<Daemon>,
    before: &BTreeSet<ProcessId>,
    response: Response,
    also: BTreeSet<String>,
) -> Response {
    let mut names = changed_names(&response);
    if !names.is_empty() {
        names.extend(also);
    }
    if names.is_empty() {
        return response;
    }
    let mut failures = write(daemon, names.clone()).await;
    if !failures.is_empty() {
        // A passing shortage (fds, a write racing a cleanup) gets a second chance.
        tokio::time::sleep(Duration::from_millis(50)).await;
        failures = write(daemon, failures.into_keys().collect()).await;
    }
    if failures.is_empty() {
        return response;
    }
    let mut sentences = Vec::new();
    for (name, failure) in failures {
        sentences.push(undo(daemon, before, &name, failure).await);
    }
    Response::error(ErrorKind::Io, sentences.join(" "))
}

async fn write(daemon: &Arc<Daemon>, names: BTreeSet<String>) -> BTreeMap<String, WriteFailure> {
    let daemon = Arc::clone(daemon);
    tokio::task::spawn_blocking(move || daemon.store.write_names(&daemon.supervisor, names))
        .await
        .unwrap_or_default()
}

/// Undoes what of `name`'s change is unsafe to keep unrecorded; returns what to tell.
async fn undo(
    daemon: &Arc<Daemon>,
    before: &BTreeSet<ProcessId>,
    name: &str,
    failure: WriteFailure,
) -> String {
    let on_disk = {
        let daemon = Arc::clone(daemon);
        let name = name.to_string();
        tokio::task::spawn_blocking(move || daemon.store.read_named(&name))
            .await
            .ok()
            .flatten()
            .unwrap_or_default()
    };
    let disk: BTreeMap<ProcessId, DesiredState> =
        on_disk.iter().map(|r| (r.id, r.desired)).collect();
    let now = daemon.supervisor.records_named(name);
    let (mut removed, mut unrecorded, mut stopped) = (vec![], vec![], vec![]);
    let (mut stays_stopped, mut forgotten, mut runs) = (vec![], vec![], vec![]);
    for r in &now {
        match (disk.get(&r.id), r.desired) {
            (None, DesiredState::Running) if !before.contains(&r.id) => removed.push(r.id),
            (None, DesiredState::Running) => unrecorded.push(r.id),
            (None, DesiredState::Stopped) => forgotten.push(r.id),
            (Some(DesiredState::Stopped), DesiredState::Running) => stopped.push(r.id),
            (Some(DesiredState::Running), DesiredState::Stopped) => stays_stopped.push(r.id),
            (Some(DesiredState::Running), DesiredState::Running) => runs.push(r.id),
            (Some(DesiredState::Stopped), DesiredState::Stopped) => {}
        }
    }
    let deleted: Vec<ProcessId> = disk
        .keys()
        .filter(|id| now.iter().all(|r| r.id != **id))
        .copied()
        .collect();
    if !removed.is_empty() {
        let _ = daemon.supervisor.delete_ids(&removed).await;
    }
    let again: Vec<ProcessId> = unrecorded.iter().chain(&stopped).copied().collect();
    if !again.is_empty() {
        let _ = daemon.supervisor.stop_ids(&again).await;
    }
    let mut text = format!(
        "Could not record {name} in {}: {}.",
        failure.path.display(),
        failure.error
    );
    let ids = |ids: &[ProcessId]| {
        let list: Vec<String> = ids.iter().map(ToString::to_string).collect();
        format!("id {}", list.join(", "))
    };
    if !removed.is_empty() {
        text += &format!(
            " It was stopped and removed again ({}), so nothing runs that pmtui has not recorded.",
            ids(&removed)
        );
    }
    if !unrecorded.is_empty() {
        text += &format!(
            " It was stopped again ({}), so nothing runs that pmtui has not recorded.",
            ids(&unrecorded)
        );
    }
    if !stopped.is_empty() {
        text += &format!(
            " It was stopped again ({}), as its record on disk says.",
            ids(&stopped)
        );
    }
    // What was undone may be recordable now; what is left is retried by the persister.
    let recorded = write(daemon, BTreeSet::from([name.to_string()]))
        .await
        .is_empty();
    if recorded {
        return text;
    }
    if !stays_stopped.is_empty() {
        text += &format!(
            " It stays stopped ({}), but its record still says it runs: a daemon restart \
             would start it again.",
            ids(&stays_stopped)
        );
    }
    if !forgotten.is_empty() || !unrecorded.is_empty() {
        let all: Vec<ProcessId> = forgotten.iter().chain(&unrecorded).copied().collect();
        text += &format!(
            " It stays stopped ({}), but has no readable record: a daemon restart would \
             forget it.",
            ids(&all)
        );
    }
    if !deleted.is_empty() {
        text += &format!(
            " It is deleted ({}), but its record remains: a daemon restart would bring it back.",
            ids(&deleted)
        );
    }
    if !runs.is_empty() {
        text += &format!(
            " It keeps running ({}) as its record says, but a daemon restart would use the \
             definition on disk.",
            ids(&runs)
        );
    }
    text += " pmtui retries the write every few seconds; `pmtui ping` lists what is not saved.";
    text
}

/// The names of the processes a reply reports on.
fn changed_names(response: &Response) -> BTreeSet<String> {
    let lists: Vec<&Vec<ProcessInfo>> = match response {
        Response::Processes { processes } => vec![processes],
        Response::Started { started, restarted } => vec![started, restarted],
        Response::Applied {
            started,
            restarted,
            unchanged,
        } => vec![started, restarted, unchanged],
        Response::Scaled {
            started,
            deleted,
            kept,
        } => vec![started, deleted, kept],
        _ => Vec::new(),
    };
    lists
        .into_iter()
        .flatten()
        .map(|p| p.name.clone())
        .collect()
}
