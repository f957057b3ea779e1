//! Resolving pm2-style targets (`all`, an id, a name, a namespace, `/regex/`) to ids.

use crate::SupervisorError;
use pmtui_proto::ProcessId;

/// `entries` are `(id, name, namespace)`. A name is tried before a namespace and a number
/// is tried as a name, then a namespace, then an id, as pm2 does. The result is sorted and
/// without duplicates; a target that matches nothing is an error naming it.
pub fn resolve_targets<'a>(
    entries: impl Iterator<Item = (ProcessId, &'a str, &'a str)> + Clone,
    targets: &[String],
) -> Result<Vec<ProcessId>, SupervisorError> {
    let mut ids = Vec::new();
    for target in targets {
        let matched: Vec<ProcessId> = if target == "all" {
            entries.clone().map(|(id, _, _)| id).collect()
        } else if let Some(pattern) = target.strip_prefix('/').and_then(|t| t.strip_suffix('/')) {
            let re = regex::Regex::new(pattern)
                .map_err(|e| SupervisorError::BadRequest(format!("bad regex {target}: {e}")))?;
            entries
                .clone()
                .filter(|(_, name, _)| re.is_match(name))
                .map(|(id, _, _)| id)
                .collect()
        } else {
            let by_name: Vec<_> = entries
                .clone()
                .filter(|(_, name, _)| name == target)
                .map(|(id, _, _)| id)
                .collect();
            let by_namespace: Vec<_> = entries
                .clone()
                .filter(|(_, _, ns)| ns == target)
                .map(|(id, _, _)| id)
                .collect();
            let by_id: Vec<_> = match target.parse::<ProcessId>() {
                Ok(n) => entries
                    .clone()
                    .filter(|(id, _, _)| *id == n)
                    .map(|(id, _, _)| id)
                    .collect(),
                Err(_) => Vec::new(),
            };
            [by_name, by_namespace, by_id]
                .into_iter()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(targets: &[&str]) -> Result<Vec<ProcessId>, SupervisorError> {
        let table = [
            (0, "api", "web"),
            (1, "api", "web"),
            (2, "worker", "jobs"),
            (3, "7", "jobs"),
        ];
        let targets: Vec<String> = targets.iter().map(|t| t.to_string()).collect();
        resolve_targets(table.iter().map(|(i, n, s)| (*i, *n, *s)), &targets)
    }

    #[test]
    fn names_namespaces_ids_and_all() {
        assert_eq!(resolve(&["api"]).ok(), Some(vec![0, 1]));
        assert_eq!(resolve(&["jobs"]).ok(), Some(vec![2, 3]));
        assert_eq!(resolve(&["2", "0"]).ok(), Some(vec![0, 2]));
        assert_eq!(
            resolve(&["7"]).ok(),
            Some(vec![3]),
            "a numeric name wins over an id"
        );
        assert_eq!(resolve(&["all"]).ok(), Some(vec![0, 1, 2, 3]));
        assert_eq!(resolve(&["/^w/"]).ok(), Some(vec![2]));
    }

    #[test]
    fn unknown_target_is_named_in_the_error() {
        let err = resolve(&["api", "nope"]).expect_err("nope matches nothing");
        assert!(err.to_string().contains("nope"));
    }
}
