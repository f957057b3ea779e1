//! `start`, `stop`, `restart`, `delete`, `reset` and `signal`.

use super::connect;
use crate::cli::{ProcessFlags, RestartArgs, StartArgs, TargetArgs};
use crate::spinner::Spinner;
use crate::{output, resolve};
use anyhow::Result;
use pmtui_client::Client;
use pmtui_proto::{
    ErrorKind, ProcessDetail, ProcessId, ProcessInfo, ProcessSpec, ProcessStatus, Request,
    Response, ScaleTo,
};
use std::process::ExitCode;

pub enum Verb {
    Stop,
    Delete,
    Reset,
    Run,
}

pub async fn start(args: StartArgs) -> Result<ExitCode> {
    let files = args.scripts.iter().filter(|s| is_file_arg(s)).count();
    if !args.only.is_empty() && files == 0 {
        anyhow::bail!(
            "--only selects the apps of an ecosystem file; {} is a script",
            pmtui_proto::printable(&args.scripts.join(", "))
        );
    }
    // Refused before anything is asked of the daemon (which checks them too).
    if let Some(name) = &args.opts.name {
        pmtui_proto::check_name(name).map_err(|e| anyhow::anyhow!("--name: {e}"))?;
    }
    if let Some(namespace) = &args.opts.namespace {
        pmtui_proto::check_namespace(namespace).map_err(|e| anyhow::anyhow!("--namespace: {e}"))?;
    }
    if args.opts.name.is_some() && args.scripts.len() > 1 {
        anyhow::bail!(
            "--name names one process; with several scripts each is named after its file \
             (start them one by one to name each)"
        );
    }
    // pm2 starts each in turn, with the same options and arguments; one that fails does not
    // stop the others, and the exit code says that something failed.
    let several = args.scripts.len() > 1;
    let mut failed = false;
    for script in &args.scripts {
        let result = if is_file_arg(script) {
            super::ecosystem::start(script, &args).await.map(|_| ())
        } else {
            start_one(script, &args).await
        };
        match result {
            Ok(()) => {}
            Err(err) if several => {
                output::error(&format!("{script}: {err:#}"));
                failed = true;
            }
            Err(err) => return Err(err),
        }
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// An argument of `start` that is an ecosystem file (or `-`, one on standard input).
fn is_file_arg(arg: &str) -> bool {
    arg == "-" || pmtui_config::is_config_file(arg)
}

/// `start <script>` for one script, as pm2's `_startScript`: a name, namespace or id that
/// exists is restarted with the options given applied (smart start); a script that already
/// runs under its name is refused without `-f`, and started again if it is stopped or
/// errored; anything else starts new processes.
async fn start_one(script: &str, args: &StartArgs) -> Result<()> {
    let client = connect().await?;
    let is_path = resolve::start_dir(&args.opts)?.join(script).is_file();
    if !args.force && !is_path {
        let known = existing(&client, &[script.to_string()]).await?;
        if !known.is_empty() {
            return update_known(&client, known, &args.opts, args.update_env, None, args.json)
                .await;
        }
    }
    let spec = resolve::spec_from_args(script, &args.opts).map_err(|err| {
        // `start <name>` is also a smart start: say that no process has that name either.
        let missing = err.to_string().starts_with("script not found");
        if missing && script.contains('/') {
            anyhow::anyhow!("{err}; check the path")
        } else if missing && !args.force {
            anyhow::anyhow!(
                "{err}, and no process is named {script}: give the path of a script, or \
                 `pmtui ls` for the names"
            )
        } else {
            err
        }
    })?;
    for warning in pmtui_config::cluster::warnings(&spec) {
        output::warning(&warning);
    }
    if !args.force {
        let same = named(&client, &spec.name).await?;
        if let Some(first) = same.first() {
            if first.spec.script != spec.script {
                anyhow::bail!(
                    "a process named {} already exists, running {}; use --force to start a \
                     duplicate, another --name, or `pmtui delete {}` first",
                    spec.name,
                    first.info.command,
                    spec.name
                );
            }
            if let Some(live) = same.iter().find(|d| is_live(d.info.status)) {
                anyhow::bail!(
                    "{script} already runs as {} (id {}, {}): `pmtui restart {}` restarts it \
                     (with any options given), `-f` starts a duplicate",
                    live.info.name,
                    live.info.id,
                    live.info.status,
                    live.info.name
                );
            }
            return update_known(
                &client,
                same,
                &args.opts,
                args.update_env,
                Some(&spec),
                args.json,
            )
            .await;
        }
    }
    let request = Request::Start {
        spec: Box::new(spec),
        force: args.force,
        update_env: args.update_env,
    };
    match client.request(request).await? {
        Response::Started { started, restarted } => {
            print_started(args.json, started, restarted).map(|_| ())
        }
        other => anyhow::bail!("unexpected reply: {other:?}"),
    }
}

/// Running, or about to run again: a second `start` of its script is refused.
fn is_live(status: ProcessStatus) -> bool {
    status.is_running() || status == ProcessStatus::WaitingRestart
}

/// The processes `targets` names, with their definitions; none when nothing matches.
async fn existing(client: &Client, targets: &[String]) -> Result<Vec<ProcessDetail>> {
    let request = Request::Describe {
        targets: targets.to_vec(),
        history: false,
    };
    match client.call(request).await? {
        Response::Details { details } => Ok(details),
        Response::Error {
            kind: ErrorKind::UnknownProcess,
            ..
        } => Ok(Vec::new()),
        Response::Error { message, .. } => anyhow::bail!("{message}"),
        other => anyhow::bail!("unexpected reply: {other:?}"),
    }
}

/// The processes named exactly `name` (a numeric name is not read as an id here).
async fn named(client: &Client, name: &str) -> Result<Vec<ProcessDetail>> {
    let Response::Processes { processes } = client.request(Request::List).await? else {
        anyhow::bail!("unexpected reply to list");
    };
    let ids: Vec<String> = processes
        .iter()
        .filter(|p| p.name == name)
        .map(|p| p.id.to_string())
        .collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    existing(client, &ids).await
}

/// Restarts the processes `known` (or starts those not running, which is not counted as a
/// restart); where the options given change a definition, every process of that name is
/// replaced by the new one (same ids; renamed with `--name`; scaled with `-i`), as pm2
/// writes the flags of `start`/`restart` into the stored config.
async fn update_known(
    client: &Client,
    known: Vec<ProcessDetail>,
    opts: &ProcessFlags,
    update_env: bool,
    resolved: Option<&ProcessSpec>,
    json: bool,
) -> Result<()> {
    let mut names: Vec<String> = Vec::new();
    for detail in &known {
        if !names.contains(&detail.spec.name) {
            names.push(detail.spec.name.clone());
        }
    }
    if let Some(name) = &opts.name
        && names.len() > 1
    {
        anyhow::bail!(
            "--name {name} would give {} one name; rename one of them at a time",
            names.join(", ")
        );
    }
    let Response::Processes { processes: all } = client.request(Request::List).await? else {
        anyhow::bail!("unexpected reply to list");
    };
    let mut after = Vec::new();
    let mut added = Vec::new();
    let mut renamed = Vec::new();
    let mut scaled = Vec::new();
    for name in &names {
        let group: Vec<&ProcessDetail> = known.iter().filter(|d| &d.spec.name == name).collect();
        let stored = &group[0].spec;
        let mut spec = resolve::overlay(stored, opts, update_env, resolved)?;
        // Every process of the name counts, duplicates started with --force included.
        let ids: Vec<ProcessId> = all
            .iter()
            .filter(|p| &p.name == name)
            .map(|p| p.id)
            .collect();
        let count = ids.len().max(1) as u32;
        if opts.instances.is_none() {
            spec.instances = count;
        }
        let same = ProcessSpec {
            instances: count,
            ..stored.clone()
        };
        let request = if spec.same_definition(&same) {
            // `update_env` gave `spec` this shell's environment (with the user's variables).
            Request::Restart {
                targets: group.iter().map(|d| d.info.id.to_string()).collect(),
                env: update_env.then(|| spec.env.clone().into_map()),
            }
        } else if spec.same_but_count(&same) {
            // Only `-i` changed: pm2's scale, the instances that run are left alone.
            let request = Request::Scale {
                target: name.clone(),
                to: ScaleTo::Exactly(spec.instances.max(1)),
            };
            let response = client.request(request).await?;
            if names.len() == 1 {
                return print_scaled(response, json).map(|_| ());
            }
            let Response::Scaled {
                started, deleted, ..
            } = response
            else {
                anyhow::bail!("unexpected reply to scale");
            };
            if !json {
                for p in &deleted {
                    println!("deleted {} (id {})", output::safe(&p.name), p.id);
                }
            }
            added.extend(started);
            scaled.push(name.clone());
            continue;
        } else {
            if spec.name != *name {
                renamed.push(name.clone());
            }
            Request::Update {
                ids,
                spec: Box::new(spec),
            }
        };
        let Response::Processes { processes } = client.request(request).await? else {
            anyhow::bail!("unexpected reply to restart");
        };
        after.extend(processes);
    }
    after.sort_by_key(|p| p.id);
    // What ran before was restarted; what did not (stopped, errored, or added by `-i`) was
    // started.
    let ran_before = |p: &ProcessInfo| {
        all.iter().any(|old| {
            old.id == p.id
                && is_live(old.status)
                && (old.name == p.name || renamed.contains(&old.name))
        })
    };
    let (restarted, mut started): (Vec<ProcessInfo>, Vec<ProcessInfo>) =
        after.into_iter().partition(ran_before);
    started.extend(added);
    if !json {
        // And those a smaller `-i` removed.
        for old in all
            .iter()
            .filter(|p| names.contains(&p.name) && !scaled.contains(&p.name))
        {
            if !restarted.iter().chain(&started).any(|p| p.id == old.id) {
                println!("deleted {} (id {})", output::safe(&old.name), old.id);
            }
        }
    }
    print_started(json, started, restarted).map(|_| ())
}

fn print_started(
    json: bool,
    started: Vec<ProcessInfo>,
    restarted: Vec<ProcessInfo>,
) -> Result<ExitCode> {
    if json {
        output::json(&serde_json::json!({ "started": started, "restarted": restarted }))?;
        return Ok(ExitCode::SUCCESS);
    }
    for p in &started {
        println!(
            "started {} (id {}, pid {})",
            output::safe(&p.name),
            p.id,
            p.pid.map_or("-".into(), |p| p.to_string())
        );
    }
    for p in &restarted {
        println!("restarted {} (id {})", output::safe(&p.name), p.id);
    }
    let all: Vec<_> = started.into_iter().chain(restarted).collect();
    output::processes(&all);
    Ok(ExitCode::SUCCESS)
}

pub async fn act(verb: Verb, t: TargetArgs) -> Result<ExitCode> {
    let targets = t.targets;
    let request = match verb {
        Verb::Stop => Request::Stop { targets },
        Verb::Delete => Request::Delete { targets },
        Verb::Reset => Request::Reset { targets },
        Verb::Run => Request::Run { targets },
    };
    let verb = match verb {
        Verb::Stop => Some(Said::Stopped),
        Verb::Delete => Some(Said::Deleted),
        Verb::Reset | Verb::Run => None,
    };
    let client = connect().await?;
    let response = {
        let _spinner = waiting(verb, &request, t.json);
        client.request(request).await?
    };
    print_processes(response, t.json, verb)
}

/// What a verb's reply says about each process, as a sentence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Said {
    Stopped,
    Deleted,
}

/// The spinner of a stop or delete: they wait for the processes to exit.
pub(super) fn waiting(verb: Option<Said>, request: &Request, json: bool) -> Option<Spinner> {
    let (Request::Stop { targets } | Request::Delete { targets }) = request else {
        return None;
    };
    let doing = match verb? {
        Said::Stopped => "stopping",
        Said::Deleted => "deleting",
    };
    Some(Spinner::start(
        format!(
            "{doing} {}: waiting for them to exit",
            crate::spinner::targets(targets)
        ),
        json,
    ))
}

/// `restart`/`reload <targets> [options]`: without options, a restart with the stored
/// definition (`--update-env` takes this shell's environment); with options, they are
/// written into the definition first, as pm2 does (`restart 0 --name new` renames).
pub async fn restart(args: RestartArgs) -> Result<ExitCode> {
    if !args.only.is_empty() || args.strict {
        anyhow::bail!("--only and --strict apply to an ecosystem file; give a file");
    }
    let client = connect().await?;
    if args.opts == ProcessFlags::default() {
        let request = Request::Restart {
            targets: args.targets,
            env: args.update_env.then(pmtui_config::shell_env),
        };
        return print_processes(client.request(request).await?, args.json, None);
    }
    let request = Request::Describe {
        targets: args.targets,
        history: false,
    };
    let Response::Details { details } = client.request(request).await? else {
        anyhow::bail!("unexpected reply to describe");
    };
    update_known(
        &client,
        details,
        &args.opts,
        args.update_env,
        None,
        args.json,
    )
    .await?;
    Ok(ExitCode::SUCCESS)
}

/// `pmtui watch <targets…> on|off`.
pub async fn watch(mut words: Vec<String>, json: bool) -> Result<ExitCode> {
    let enabled = match words.pop().as_deref() {
        Some("on") => true,
        Some("off") => false,
        other => anyhow::bail!(
            "the last word must be `on` or `off`, not {:?}: `pmtui watch web on`",
            other.unwrap_or_default()
        ),
    };
    let client = connect().await?;
    let request = Request::Watch {
        targets: words,
        enabled,
    };
    print_processes(client.request(request).await?, json, None)
}

pub async fn scale(name: String, count: &str, json: bool) -> Result<ExitCode> {
    let to: ScaleTo = count.parse().map_err(anyhow::Error::msg)?;
    let client = connect().await?;
    let response = client.request(Request::Scale { target: name, to }).await?;
    print_scaled(response, json)
}

/// A `Scaled` reply: what was added and removed, then the app's instances.
fn print_scaled(response: Response, json: bool) -> Result<ExitCode> {
    let Response::Scaled {
        started,
        deleted,
        kept,
    } = response
    else {
        anyhow::bail!("unexpected reply to scale: {response:?}");
    };
    if json {
        output::json(&serde_json::json!({
            "started": started,
            "deleted": deleted,
            "kept": kept,
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    for p in &deleted {
        println!("deleted {} (id {})", output::safe(&p.name), p.id);
    }
    for p in &started {
        println!(
            "started {} (id {}, pid {})",
            output::safe(&p.name),
            p.id,
            p.pid.map_or("-".into(), |p| p.to_string())
        );
    }
    let mut now: Vec<ProcessInfo> = kept.into_iter().chain(started).collect();
    now.sort_by_key(|p| p.id);
    output::processes(&now);
    Ok(ExitCode::SUCCESS)
}

pub async fn signal(signal: String, t: TargetArgs) -> Result<ExitCode> {
    let client = connect().await?;
    let response = client
        .request(Request::Signal {
            signal: signal.clone(),
            targets: t.targets,
        })
        .await?;
    if let Response::Processes { processes } = &response
        && !t.json
    {
        for p in processes.iter().filter(|p| p.pid.is_some()) {
            println!(
                "sent {signal} to {} (id {}, pid {})",
                output::safe(&p.name),
                p.id,
                p.pid.unwrap_or(0)
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    print_processes(response, t.json, None)
}

/// A `Processes` reply as `--json`, as `deleted …` lines, or as the `ls` table.
pub(super) fn print_processes(
    response: Response,
    json: bool,
    said: Option<Said>,
) -> Result<ExitCode> {
    let Response::Processes { processes } = response else {
        anyhow::bail!("unexpected reply: {response:?}");
    };
    if json {
        output::json(&processes)?;
        return Ok(ExitCode::SUCCESS);
    }
    // A sentence per process, as `start` prints; the table after a stop, where they stay.
    let verb = match said {
        Some(Said::Stopped) => "stopped",
        Some(Said::Deleted) => "deleted",
        None => {
            output::processes(&processes);
            return Ok(ExitCode::SUCCESS);
        }
    };
    for p in &processes {
        println!("{verb} {} (id {})", output::safe(&p.name), p.id);
    }
    if said == Some(Said::Stopped) {
        output::processes(&processes);
    }
    Ok(ExitCode::SUCCESS)
}
