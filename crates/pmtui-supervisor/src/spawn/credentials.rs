//! Who a child runs as: a spec's `uid`/`gid` (names or numbers) resolved in the parent into
//! the user, primary group and supplementary groups (initgroups semantics), checked against
//! what this daemon may do. The child only applies them (see `child_setup.rs`).

use nix::unistd::{Gid, Group, Uid, User, getgrouplist};
use pmtui_proto::ProcessSpec;
use std::ffi::CString;

/// The identity a child takes before exec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Credentials {
    /// `None` keeps the daemon's user (only `gid` was given).
    pub uid: Option<Uid>,
    pub gid: Gid,
    /// Supplementary groups: the user's from the group database (with `gid`), or `gid` alone.
    pub groups: Vec<Gid>,
    /// The user's database entry, when there is one (for `HOME`, `USER`, `LOGNAME`).
    pub user: Option<User>,
}

/// Resolves `spec.uid`/`spec.gid`. `Ok(None)` when neither is set, or when they name the
/// daemon's own user and group (nothing to change). Errors say what is wrong in a sentence.
pub(crate) fn resolve(spec: &ProcessSpec) -> Result<Option<Credentials>, String> {
    let uid_text = spec.uid.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let gid_text = spec.gid.as_deref().map(str::trim).filter(|s| !s.is_empty());
    if uid_text.is_none() && gid_text.is_none() {
        return Ok(None);
    }
    let (uid, user) = match uid_text {
        Some(text) => {
            let user = find_user(text)?;
            let uid = match &user {
                Some(u) => u.uid,
                None => Uid::from_raw(number(text).ok_or_else(|| no_such("user", text))?),
            };
            (Some(uid), user)
        }
        None => (None, None),
    };
    let gid = match (gid_text, &user) {
        (Some(text), _) => find_group(text)?,
        (None, Some(user)) => user.gid,
        (None, None) => {
            return Err(format!(
                "uid {}: no such user in the user database, so its group is unknown; give gid too",
                uid_text.unwrap_or_default()
            ));
        }
    };
    let groups = match &user {
        Some(user) => {
            let name = CString::new(user.name.as_bytes())
                .map_err(|_| format!("user name {:?} holds a NUL byte", user.name))?;
            getgrouplist(&name, gid)
                .map_err(|err| format!("cannot list the groups of {}: {err}", user.name))?
        }
        None => vec![gid],
    };
    let me = Uid::effective();
    if me.is_root() {
        return Ok(Some(Credentials {
            uid,
            gid,
            groups,
            user,
        }));
    }
    // Not root: only our own identity is possible, and then there is nothing to change.
    let other_user = uid.is_some_and(|u| u != me);
    if other_user || gid != Gid::effective() {
        let asked = match (uid_text, gid_text) {
            (Some(u), Some(g)) => format!("uid {u} and gid {g}"),
            (Some(u), None) => format!("uid {u}"),
            (_, Some(g)) => format!("gid {g}"),
            (None, None) => String::new(),
        };
        return Err(format!(
            "{asked}: running as another user or group needs a daemon running as root \
             (this daemon runs as uid {me}); remove uid/gid or start pmtui as root"
        ));
    }
    Ok(None)
}

fn number(text: &str) -> Option<u32> {
    text.parse::<u32>().ok()
}

fn no_such(what: &str, text: &str) -> String {
    format!("{what} {text:?} does not exist (not in the {what} database, and not a number)")
}

/// The user named (or numbered) `text`: `Ok(None)` for a number with no entry.
fn find_user(text: &str) -> Result<Option<User>, String> {
    let found = match number(text) {
        Some(n) => User::from_uid(Uid::from_raw(n)),
        None => User::from_name(text),
    };
    match found {
        Ok(Some(user)) => Ok(Some(user)),
        Ok(None) if number(text).is_some() => Ok(None),
        Ok(None) => Err(no_such("user", text)),
        Err(err) => Err(format!("cannot look up user {text:?}: {err}")),
    }
}

/// The group named (or numbered) `text`; a number needs no entry.
fn find_group(text: &str) -> Result<Gid, String> {
    if let Some(n) = number(text) {
        return Ok(Gid::from_raw(n));
    }
    match Group::from_name(text) {
        Ok(Some(group)) => Ok(group.gid),
        Ok(None) => Err(no_such("group", text)),
        Err(err) => Err(format!("cannot look up group {text:?}: {err}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(uid: Option<&str>, gid: Option<&str>) -> ProcessSpec {
        ProcessSpec {
            uid: uid.map(String::from),
            gid: gid.map(String::from),
            ..ProcessSpec::default()
        }
    }

    #[test]
    fn nothing_asked_is_nothing_to_do() {
        assert_eq!(resolve(&spec(None, None)), Ok(None));
        assert_eq!(resolve(&spec(Some(" "), Some(""))), Ok(None));
    }

    #[test]
    fn unknown_names_are_refused_in_a_sentence() {
        let err = resolve(&spec(Some("no-such-user-pmtui"), None)).expect_err("unknown");
        assert!(
            err.contains("\"no-such-user-pmtui\" does not exist"),
            "{err}"
        );
        let err = resolve(&spec(None, Some("no-such-group-pmtui"))).expect_err("unknown");
        assert!(err.contains("group \"no-such-group-pmtui\""), "{err}");
    }

    #[test]
    fn a_bare_number_without_an_entry_needs_a_group() {
        let err = resolve(&spec(Some("4000123"), None)).expect_err("no group");
        assert!(err.contains("give gid too"), "{err}");
    }

    #[test]
    fn root_gets_the_user_with_its_groups() {
        if !Uid::effective().is_root() {
            // As another user the same request is refused; see the next test.
            return;
        }
        let Ok(Some(root)) = User::from_uid(Uid::from_raw(0)) else {
            return;
        };
        let creds = resolve(&spec(Some(&root.name), None))
            .expect("resolves")
            .expect("something to apply");
        assert_eq!(creds.uid, Some(Uid::from_raw(0)));
        assert_eq!(creds.gid, root.gid);
        assert!(creds.groups.contains(&root.gid), "{:?}", creds.groups);
        let creds = resolve(&spec(Some("4000123"), Some("4000124")))
            .expect("numbers need no entry")
            .expect("something to apply");
        assert_eq!(creds.groups, [Gid::from_raw(4_000_124)]);
    }

    #[test]
    fn another_user_is_refused_unless_root() {
        if Uid::effective().is_root() {
            return;
        }
        let err = resolve(&spec(Some("0"), None)).expect_err("not root");
        assert!(err.contains("needs a daemon running as root"), "{err}");
    }
}
