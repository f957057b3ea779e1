//! Targets as pm2 users type them: a script's file name (`pmtui stop app.js`, `pmtui
//! restart ./api/server.py`) names the processes that run that file, as pm2 matches a
//! target against `pm_exec_path`. The daemon cannot see the caller's directory, so a target
//! that names an existing file here, when no process has that name, is sent as the file's
//! canonical path, which the daemon matches against the scripts it runs.

use super::connect;
use crate::cli::Command;
use anyhow::Result;
use pmtui_proto::{Request, Response};
use std::path::Path;

/// Rewrites the targets of `command` that are script files into their absolute paths.
pub async fn expand(command: &mut Command) -> Result<()> {
    let mut targets = targets_of(command);
    let files: Vec<usize> = targets
        .iter()
        .enumerate()
        .filter(|(_, t)| is_script_file(t))
        .map(|(i, _)| i)
        .collect();
    if files.is_empty() {
        return Ok(());
    }
    let client = connect().await?;
    let Response::Processes { processes } = client.request(Request::List).await? else {
        anyhow::bail!("unexpected reply to list");
    };
    for i in files {
        let target = &mut targets[i];
        if processes.iter().any(|p| p.name == **target) {
            continue;
        }
        if let Ok(path) = std::fs::canonicalize(target.as_str()) {
            **target = path.display().to_string();
        }
    }
    Ok(())
}

/// A target that could only be meant as a script: an existing file that is not an
/// ecosystem file, and not a word targets already give a meaning to.
fn is_script_file(target: &str) -> bool {
    target != "all"
        && target != "-"
        && target.parse::<u32>().is_err()
        && !(target.len() > 1 && target.starts_with('/') && target.ends_with('/'))
        && !pmtui_config::is_config_file(target)
        && Path::new(target).is_file()
}

/// The target strings of the verbs that act on existing processes.
fn targets_of(command: &mut Command) -> Vec<&mut String> {
    match command {
        Command::Stop(a) | Command::Delete(a) => a.targets.targets.iter_mut().collect(),
        Command::Restart(r) => r.targets.iter_mut().collect(),
        Command::Reload(r) => r.base.targets.iter_mut().collect(),
        Command::Describe(t) | Command::Env(t) | Command::Reset(t) => {
            t.targets.iter_mut().collect()
        }
        Command::Pid(p) => p.targets.iter_mut().collect(),
        Command::Signal { targets, .. } => targets.targets.iter_mut().collect(),
        Command::Logs(a) => a.target.iter_mut().collect(),
        Command::Flush { targets } => targets.iter_mut().collect(),
        Command::Metrics(a) => a.targets.iter_mut().collect(),
        _ => Vec::new(),
    }
}
