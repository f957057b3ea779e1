//! Resolving pm2-style targets (`all`, an id, a name, a namespace, `/regex/`, a script's
//! absolute path) to ids.

use crate::SupervisorError;
use pmtui_proto::ProcessId;

/// One row as targets see it.
#[derive(Debug, Clone, Copy)]
pub struct TargetEntry<'a> {
    pub id: ProcessId,
    pub name: &'a str,
    pub namespace: &'a str,
    /// The resolved script (an absolute path for a file, else the command).
    pub script: &'a str,
}

/// A number is tried as an id first, then as a name, then as a namespace (so a process
/// named `455` is reached by its name while no process has id 455). Anything else is tried
/// as a name, then a namespace. An absolute path that is not a `/regex/` is first the
/// script the processes run (what `pmtui stop app.js` sends, made absolute by the CLI, as
/// pm2 matches `pm_exec_path`). The result is sorted and without duplicates; a target that
/// matches nothing is an error naming it.
pub fn resolve_targets<'a>(
    entries: impl Iterator<Item = TargetEntry<'a>> + Clone,
    targets: &[String],
) -> Result<Vec<ProcessId>, SupervisorError> {
    let mut ids = Vec::new();
    for target in targets {
        let pick = |keep: &dyn Fn(&TargetEntry<'a>) -> bool| -> Vec<ProcessId> {
            entries.clone().filter(|e| keep(e)).map(|e| e.id).collect()
        };
        let matched: Vec<ProcessId> = if target == "all" {
            pick(&|_| true)
        } else if let Some(pattern) = regex_of(target) {
            let re = regex::Regex::new(pattern)
                .map_err(|e| SupervisorError::BadRequest(format!("bad regex {target}: {e}")))?;
            pick(&|e| re.is_match(e.name))
        } else {
            let by_id = || match target.parse::<ProcessId>() {
                Ok(n) => pick(&|e| e.id == n),
                Err(_) => Vec::new(),
            };
            let by_script = || {
                if target.starts_with('/') {
                    pick(&|e| e.script == target)
                } else {
                    Vec::new()
                }
            };
            let by_name = || pick(&|e| e.name == target);
            let by_namespace = || pick(&|e| e.namespace == target);
            let order: [&dyn Fn() -> Vec<ProcessId>; 4] =
                [&by_id, &by_script, &by_name, &by_namespace];
            order
                .iter()
                .map(|find| find())
                .find(|v| !v.is_empty())
                .unwrap_or_default()
        };
        if matched.is_empty() && target != "all" {
            return Err(SupervisorError::UnknownProcess(target.clone()));
        }
        ids.extend(matched);
    }
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

/// The pattern of a `/regex/` target.
fn regex_of(target: &str) -> Option<&str> {
    target
        .strip_prefix('/')
        .and_then(|t| t.strip_suffix('/'))
        .filter(|_| target.len() > 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(targets: &[&str]) -> Result<Vec<ProcessId>, SupervisorError> {
        let table = [
            (0, "api", "web", "/srv/api.js"),
            (1, "api", "web", "/srv/api.js"),
            (2, "worker", "jobs", "/srv/worker.py"),
            (3, "7", "jobs", "/usr/bin/sleep"),
            (4, "2", "jobs", "/usr/bin/sleep"),
        ];
        let targets: Vec<String> = targets.iter().map(|t| t.to_string()).collect();
        resolve_targets(
            table
                .iter()
                .map(|(id, name, namespace, script)| TargetEntry {
                    id: *id,
                    name,
                    namespace,
                    script,
                }),
            &targets,
        )
    }

    #[test]
    fn names_namespaces_ids_scripts_and_all() {
        assert_eq!(resolve(&["api"]).ok(), Some(vec![0, 1]));
        assert_eq!(resolve(&["jobs"]).ok(), Some(vec![2, 3, 4]));
        assert_eq!(resolve(&["2", "0"]).ok(), Some(vec![0, 2]), "ids first");
        assert_eq!(
            resolve(&["7"]).ok(),
            Some(vec![3]),
            "a numeric name no id has is reached by name"
        );
        assert_eq!(resolve(&["all"]).ok(), Some(vec![0, 1, 2, 3, 4]));
        assert_eq!(resolve(&["/^w/"]).ok(), Some(vec![2]));
        assert_eq!(resolve(&["/srv/worker.py"]).ok(), Some(vec![2]));
        assert_eq!(resolve(&["/usr/bin/sleep"]).ok(), Some(vec![3, 4]));
    }

    #[test]
    fn unknown_target_is_named_in_the_error() {
        let err = resolve(&["api", "nope"]).expect_err("nope matches nothing");
        assert!(err.to_string().contains("nope"));
        assert!(resolve(&["/srv/other.js"]).is_err());
    }
}
