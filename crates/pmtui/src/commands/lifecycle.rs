//! `start`, `stop`, `restart`, `delete`, `reset` and `signal`.

use super::connect;
use crate::cli::{
    ClusterFlags, LogFlags, ReadyFlags, RestartArgs, RestartFlags, StartArgs, TargetArgs,
};
use crate::{output, resolve};
use anyhow::Result;
use pmtui_client::Client;
use pmtui_proto::{ErrorKind, ProcessDetail, ProcessInfo, ProcessSpec, Request, Response, ScaleTo};
use std::process::ExitCode;

pub enum Verb {
    Stop,
    Delete,
    Reset,
}

pub async fn start(args: StartArgs) -> Result<ExitCode> {
    if !args.only.is_empty() {
        anyhow::bail!(
            "--only selects the apps of an ecosystem file; {} is a script",
            pmtui_proto::printable(&args.script)
        );
    }
    // Refused before anything is asked of the daemon (which checks them too).
    if let Some(name) = &args.name {
        pmtui_proto::check_name(name).map_err(|e| anyhow::anyhow!("--name: {e}"))?;
    }
    if let Some(namespace) = &args.namespace {
        pmtui_proto::check_namespace(namespace).map_err(|e| anyhow::anyhow!("--namespace: {e}"))?;
    }
    let client = connect().await?;
    if !args.force && !gives_options(&args) {
        // pm2's smart start: a name, id, namespace or `all` that exists is restarted (the
        // daemon keeps the variables the user set on top of a new environment).
        let request = Request::Restart {
            targets: vec![args.script.clone()],
            env: args.update_env.then(pmtui_config::shell_env),
        };
        match client.call(request).await? {
            Response::Processes { processes } => {
                return print_started(&args, Vec::new(), processes);
            }
            Response::Error {
                kind: ErrorKind::UnknownProcess,
                ..
            } => {}
            Response::Error { message, .. } => anyhow::bail!("{message}"),
            other => anyhow::bail!("unexpected reply: {other:?}"),
        }
    } else if !args.force {
        // With options, they are applied to what exists.
        let known = existing(&client, std::slice::from_ref(&args.script)).await?;
        if !known.is_empty() {
            return smart_start(&client, &args, known, None).await;
        }
    }
    let spec = resolve::spec_from_args(&args).map_err(|err| {
        // `start <name>` is also a smart start: say that no process has that name either.
        let missing = err.to_string().starts_with("script not found");
        if missing && args.script.contains('/') {
            anyhow::anyhow!("{err}; check the path")
        } else if missing && !args.force {
            anyhow::anyhow!(
                "{err}, and no process is named {}: give the path of a script, or \
                 `pmtui ls` for the names",
                args.script
            )
        } else {
            err
        }
    })?;
    for warning in pmtui_config::cluster::warnings(&spec) {
        output::warning(&warning);
    }
    if !args.force {
        let known = existing(&client, std::slice::from_ref(&spec.name)).await?;
        let known: Vec<_> = known
            .into_iter()
            .filter(|d| d.spec.name == spec.name)
            .collect();
        if let Some(first) = known.first() {
            if first.spec.script != spec.script {
                anyhow::bail!(
                    "a process named {} already exists, running {}; use --force to start a \
                     duplicate, another --name, or `pmtui delete {}` first",
                    spec.name,
                    first.info.command,
                    spec.name
                );
            }
            return smart_start(&client, &args, known, Some(&spec)).await;
        }
    }
    let request = Request::Start {
        spec: Box::new(spec),
        force: args.force,
        update_env: args.update_env,
    };
    match client.request(request).await? {
        Response::Started { started, restarted } => print_started(&args, started, restarted),
        other => anyhow::bail!("unexpected reply: {other:?}"),
    }
}

/// Whether this `start` gives any option that describes a process (as opposed to
/// `--json`, `--update-env`, `--force`).
fn gives_options(args: &StartArgs) -> bool {
    args.name.is_some()
        || args.instances.is_some()
        || args.cluster != ClusterFlags::default()
        || args.cwd.is_some()
        || !args.env.is_empty()
        || args.namespace.is_some()
        || args.kill_timeout.is_some()
        || args.stop_signal.is_some()
        || args.uid.is_some()
        || args.gid.is_some()
        || args.no_autorestart
        || args.restart != RestartFlags::default()
        || args.ready != ReadyFlags::default()
        || args.interpreter.is_some()
        || args.interpreter_args.is_some()
        || args.logs != LogFlags::default()
        || !args.args.is_empty()
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

/// Restarts the processes `known`; where this call's options change a definition, the new
/// one is applied (as `start <file>` applies a changed app: same ids, restarted with it).
async fn smart_start(
    client: &Client,
    args: &StartArgs,
    known: Vec<ProcessDetail>,
    resolved: Option<&ProcessSpec>,
) -> Result<ExitCode> {
    let mut names: Vec<String> = Vec::new();
    for detail in &known {
        if !names.contains(&detail.spec.name) {
            names.push(detail.spec.name.clone());
        }
    }
    if let Some(name) = &args.name
        && names.iter().any(|n| n != name)
    {
        anyhow::bail!(
            "--name {name} would rename {}; a process keeps its name: `pmtui delete` it and \
             start it again",
            names.join(", ")
        );
    }
    let Response::Processes { processes: all } = client.request(Request::List).await? else {
        anyhow::bail!("unexpected reply to list");
    };
    let mut plain = Vec::new();
    let mut changed = Vec::new();
    let mut scaled = Vec::new();
    for name in &names {
        let group: Vec<&ProcessDetail> = known.iter().filter(|d| &d.spec.name == name).collect();
        let stored = &group[0].spec;
        let mut spec = resolve::overlay(stored, args, resolved)?;
        // Every process of the name counts, duplicates started with --force included.
        let count = all.iter().filter(|p| &p.name == name).count().max(1) as u32;
        if args.instances.is_none() {
            spec.instances = count;
        }
        let same = ProcessSpec {
            instances: count,
            ..stored.clone()
        };
        if spec.same_definition(&same) {
            // `--update-env` gave `spec` this shell's environment (with the user's variables).
            let env = args.update_env.then(|| spec.env.clone());
            plain.push((group.iter().map(|d| d.info.id.to_string()).collect(), env));
        } else if spec.same_but_count(&same) {
            // Only `-i` changed: pm2's scale, the instances that run are left alone.
            scaled.push((name.clone(), spec.instances.max(1)));
        } else {
            changed.push(spec);
        }
    }
    let mut restarted = Vec::new();
    let mut added = Vec::new();
    for (name, count) in scaled {
        let request = Request::Scale {
            target: name,
            to: ScaleTo::Exactly(count),
        };
        let response = client.request(request).await?;
        if plain.is_empty() && changed.is_empty() && names.len() == 1 {
            return print_scaled(response, args.json);
        }
        let Response::Scaled {
            started, deleted, ..
        } = response
        else {
            anyhow::bail!("unexpected reply to scale");
        };
        if !args.json {
            for p in &deleted {
                println!("deleted {} (id {})", output::safe(&p.name), p.id);
            }
        }
        added.extend(started);
    }
    for (targets, env) in plain {
        let request = Request::Restart { targets, env };
        let Response::Processes { processes } = client.request(request).await? else {
            anyhow::bail!("unexpected reply to restart");
        };
        restarted.extend(processes);
    }
    let rewritten: Vec<String> = changed.iter().map(|s| s.name.clone()).collect();
    if !changed.is_empty() {
        let request = Request::Apply {
            specs: changed,
            restart_all: true,
        };
        let Response::Applied {
            started,
            restarted: replaced,
            unchanged,
        } = client.request(request).await?
        else {
            anyhow::bail!("unexpected reply to apply");
        };
        restarted.extend(started.into_iter().chain(replaced).chain(unchanged));
    }
    restarted.sort_by_key(|p| p.id);
    // Instances added by `-i` are new processes, not restarted ones.
    let (restarted, mut started): (Vec<ProcessInfo>, Vec<ProcessInfo>) = restarted
        .into_iter()
        .partition(|p| all.iter().any(|old| old.id == p.id && old.name == p.name));
    started.extend(added);
    if !args.json {
        // And those a smaller `-i` removed.
        for old in all.iter().filter(|p| rewritten.contains(&p.name)) {
            if !restarted.iter().any(|p| p.id == old.id) {
                println!("deleted {} (id {})", output::safe(&old.name), old.id);
            }
        }
    }
    print_started(args, started, restarted)
}

fn print_started(
    args: &StartArgs,
    started: Vec<ProcessInfo>,
    restarted: Vec<ProcessInfo>,
) -> Result<ExitCode> {
    if args.json {
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
    };
    let deleted = matches!(request, Request::Delete { .. });
    let client = connect().await?;
    print_processes(client.request(request).await?, t.json, deleted)
}

pub async fn restart(args: RestartArgs) -> Result<ExitCode> {
    if !args.file.only.is_empty() || args.file.env.is_some() {
        anyhow::bail!("--only and --env select the apps of an ecosystem file; give a file");
    }
    let env = args.update_env.then(pmtui_config::shell_env);
    let client = connect().await?;
    let request = Request::Restart {
        targets: args.targets.targets,
        env,
    };
    print_processes(client.request(request).await?, args.targets.json, false)
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
    print_processes(response, t.json, false)
}

/// A `Processes` reply as `--json`, as `deleted …` lines, or as the `ls` table.
pub(super) fn print_processes(response: Response, json: bool, deleted: bool) -> Result<ExitCode> {
    let Response::Processes { processes } = response else {
        anyhow::bail!("unexpected reply: {response:?}");
    };
    if json {
        output::json(&processes)?;
    } else if deleted {
        for p in &processes {
            println!("deleted {} (id {})", output::safe(&p.name), p.id);
        }
    } else {
        output::processes(&processes);
    }
    Ok(ExitCode::SUCCESS)
}
