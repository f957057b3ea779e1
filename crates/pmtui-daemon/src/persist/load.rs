//! Reading the process files at start: every record that can be read, temp files of
//! writes cut off by a crash removed, and each file that cannot be read reported.
//!
//! A file that is corrupt (or a link, which is never followed) is set aside as
//! `<file>.broken`, keeping its bytes for the user. One that fails to read for another
//! reason (EIO, EMFILE…) after a few tries is left in place: it may be fine.
//!
//! The processes such a file described are not restored, and any that the previous daemon
//! left running are ended with the other leftovers (`end_leftovers` finds them by their
//! marker). Keeping them was considered and refused: nothing can supervise, log or stop
//! them any more (their output pipe died with the old daemon, so most end at their next
//! write anyway), and when the user starts the app again a survivor would run as a
//! duplicate beside it, holding its port. The report in `ping` and `ls` says so.

use super::Store;
use pmtui_proto::{StateProblem, StateProblemKind};
use pmtui_statedir::Dir;
use pmtui_supervisor::ProcessRecord;
use std::time::Duration;

/// Reads of a file that fail with an I/O error are tried this many times in all.
const READ_TRIES: u32 = 3;

/// `<name>.tmp.<pid>`: the temp files of pmtui versions before the state directory rules.
fn old_temp(name: &str) -> bool {
    name.rsplit_once(".tmp.")
        .is_some_and(|(_, pid)| !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()))
}

/// Every record on disk, sorted by id. Never fails: problems are noted in the store.
pub fn load_all(store: &Store) -> Vec<ProcessRecord> {
    let removed = store.processes.remove_temps(old_temp) + store.home.remove_temps(old_temp);
    if removed > 0 {
        tracing::info!(removed, "removed the temp files of writes cut off earlier");
    }
    let names = match store.processes.entries() {
        Ok(names) => names,
        Err(err) => {
            let path = store.processes.path().display().to_string();
            tracing::error!(%path, %err, "cannot list the process files");
            store.note_unreadable(
                StateProblem {
                    kind: StateProblemKind::Unreadable,
                    message: format!(
                        "cannot list the process files ({err}): no process was restored"
                    ),
                    path,
                },
                None,
            );
            return Vec::new();
        }
    };
    let mut records = Vec::new();
    for name in names.into_iter().filter(|n| n.ends_with(".json")) {
        match read(&store.processes, &name) {
            Ok(bytes) => match serde_json::from_slice::<Vec<ProcessRecord>>(&bytes) {
                Ok(found) => records.extend(found),
                Err(err) => set_aside(store, &name, &err.to_string()),
            },
            Err(err) if Dir::is_symlink_error(&err) => set_aside(store, &name, "a symbolic link"),
            Err(err) => {
                let path = store.processes.join(&name).display().to_string();
                tracing::error!(%path, %err, "cannot read a process file; its processes are not restored");
                store.note_unreadable(
                    StateProblem {
                        kind: StateProblemKind::Unreadable,
                        message: format!(
                            "cannot be read ({err}); it was left in place, but its processes were \
                         not restored and any the previous daemon left running were ended \
                         (nothing could supervise them); the next daemon tries it again"
                        ),
                        path,
                    },
                    Some(&name),
                );
            }
        }
    }
    records.sort_by_key(|r| r.id);
    records
}

fn read(dir: &Dir, name: &str) -> std::io::Result<Vec<u8>> {
    let mut tries = 0;
    loop {
        tries += 1;
        match dir.read(name) {
            Err(err) if tries < READ_TRIES && !Dir::is_symlink_error(&err) => {
                std::thread::sleep(Duration::from_millis(50));
            }
            other => return other,
        }
    }
}

/// Moves a corrupt file out of the way (to the first free `.broken`, `.broken.1`, …) and
/// notes it.
fn set_aside(store: &Store, name: &str, why: &str) {
    let dir = &store.processes;
    let target = (0..10)
        .map(|n| match n {
            0 => format!("{name}.broken"),
            n => format!("{name}.broken.{n}"),
        })
        .find(|t| dir.metadata(t).is_err())
        .unwrap_or_else(|| format!("{name}.broken"));
    let path = dir.join(name).display().to_string();
    let moved = dir.rename(name, &target);
    let _ = dir.sync();
    let kept = match &moved {
        Ok(()) => format!("set aside as {}", dir.join(&target).display()),
        Err(err) => format!("could not be set aside ({err})"),
    };
    tracing::error!(%path, why, %kept, "unreadable process file");
    store.note_unreadable(
        StateProblem {
            kind: StateProblemKind::Unreadable,
            message: format!(
                "unreadable ({why}); {kept}. Its processes were not restored, and any the \
             previous daemon left running were ended (nothing could supervise them, and \
             starting the app again would run a duplicate). Its definitions are in that \
             file: start the app again from your ecosystem file or command"
            ),
            path,
        },
        None,
    );
}

#[cfg(test)]
mod tests {
    use super::old_temp;

    #[test]
    fn only_real_temp_names_are_old_temps() {
        assert!(old_temp("web.tmp.123"));
        assert!(old_temp("dump.tmp.9"));
        assert!(!old_temp("my.tmp.app.json"));
        assert!(!old_temp("web.tmp."));
        assert!(!old_temp("web.json"));
    }
}
