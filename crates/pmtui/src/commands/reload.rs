//! `reload <targets>` and `reload <file>`: the daemon's rolling reload, with its progress
//! on a terminal (instance k of N, waiting for ready) read from the rows' `reload` field.

use super::connect;
use super::ecosystem::{self, Selection};
use crate::cli::{ProcessFlags, ReloadArgs};
use crate::output;
use anyhow::{Result, bail};
use pmtui_client::Client;
use pmtui_proto::{ProcessInfo, Request, Response};
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

/// How often the progress is looked at.
const POLL: Duration = Duration::from_millis(200);

pub async fn reload(args: ReloadArgs) -> Result<ExitCode> {
    let r = args.base;
    if r.opts != ProcessFlags::default() {
        bail!(
            "reload replaces the running instances with the same definition; to change it, \
             `pmtui restart <targets> <options>`, or edit the ecosystem file and `pmtui reload <file>`"
        );
    }
    if ecosystem::is_file(&r.targets) {
        let sel = Selection::with_options(&r.only, &r.opts, r.strict)?;
        return reload_file(Path::new(&r.targets[0]), &sel, args.parallel, r.json).await;
    }
    if !r.only.is_empty() || r.strict {
        bail!("--only and --strict apply to an ecosystem file; give a file");
    }
    let client = connect().await?;
    let request = Request::Reload {
        targets: r.targets,
        parallel: args.parallel,
        env: r.update_env.then(pmtui_config::shell_env),
    };
    let processes = with_progress(&client, request, !r.json).await?;
    if r.json {
        output::json(&processes)?;
    } else {
        for p in &processes {
            println!("reloaded {} (id {})", output::safe(&p.name), p.id);
        }
        output::processes(&processes);
    }
    Ok(ExitCode::SUCCESS)
}

/// `reload <file>`: apps that are missing are started and apps whose definition changed
/// are restarted with it (as `start <file>` does); the others get a rolling reload.
async fn reload_file(
    file: &Path,
    sel: &Selection<'_>,
    parallel: u32,
    json: bool,
) -> Result<ExitCode> {
    let loaded = ecosystem::load(file, sel, true, !json)?;
    if loaded.apps.is_empty() {
        bail!("{} has no apps", file.display());
    }
    let client = connect().await?;
    let request = Request::Apply {
        specs: loaded.apps,
        restart_all: false,
    };
    let Response::Applied {
        started,
        restarted,
        unchanged,
    } = client.request(request).await?
    else {
        bail!("unexpected reply to apply");
    };
    if !json {
        for p in &started {
            println!("started {} (id {})", output::safe(&p.name), p.id);
        }
        for p in &restarted {
            println!(
                "restarted {} (id {}) (definition changed)",
                output::safe(&p.name),
                p.id
            );
        }
    }
    let reloaded = if unchanged.is_empty() {
        Vec::new()
    } else {
        let request = Request::Reload {
            targets: unchanged.iter().map(|p| p.id.to_string()).collect(),
            parallel,
            env: None,
        };
        with_progress(&client, request, !json).await?
    };
    if json {
        output::json(&serde_json::json!({
            "started": started,
            "restarted": restarted,
            "reloaded": reloaded,
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    for p in &reloaded {
        println!("reloaded {} (id {})", output::safe(&p.name), p.id);
    }
    let mut all: Vec<ProcessInfo> = started
        .into_iter()
        .chain(restarted)
        .chain(reloaded)
        .collect();
    all.sort_by_key(|p| p.id);
    output::processes(&all);
    Ok(ExitCode::SUCCESS)
}

/// Sends a `Reload` and, on a terminal, prints each instance's progress while it runs.
async fn with_progress(client: &Client, request: Request, show: bool) -> Result<Vec<ProcessInfo>> {
    let show = show && std::io::stderr().is_terminal();
    let reload = client.request(request);
    tokio::pin!(reload);
    let mut shown: BTreeMap<u32, String> = BTreeMap::new();
    let mut tick = tokio::time::interval(POLL);
    let response = loop {
        tokio::select! {
            response = &mut reload => break response?,
            _ = tick.tick(), if show => {
                if let Ok(Response::Processes { processes }) = client.call(Request::List).await {
                    print_progress(&processes, &mut shown);
                }
            }
        }
    };
    let Response::Processes { processes } = response else {
        bail!("unexpected reply to reload: {response:?}");
    };
    Ok(processes)
}

/// One line on stderr per change of an instance's reload phase.
fn print_progress(rows: &[ProcessInfo], shown: &mut BTreeMap<u32, String>) {
    for p in rows {
        let Some(state) = &p.reload else {
            continue;
        };
        if state.phase == "queued" {
            continue;
        }
        let pids = match (state.old_pid, state.new_pid) {
            (Some(old), Some(new)) => format!(" (pid {old} → {new})"),
            (Some(old), None) => format!(" (pid {old})"),
            _ => String::new(),
        };
        let line = format!(
            "reload: {} (id {}) instance {} of {}: {}{pids}",
            output::safe(&p.name),
            p.id,
            state.step,
            state.of,
            state.phase
        );
        if shown.get(&p.id) != Some(&line) {
            eprintln!("{line}");
            shown.insert(p.id, line);
        }
    }
}
