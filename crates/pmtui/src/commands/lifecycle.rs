//! `start`, `stop`, `restart`, `delete`, `reset` and `signal`.

use super::connect;
use crate::cli::{RestartArgs, StartArgs, TargetArgs};
use crate::{output, resolve};
use anyhow::Result;
use pmtui_proto::{Request, Response};
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
            args.script
        );
    }
    let spec = resolve::spec_from_args(&args)?;
    let client = connect().await?;
    let request = Request::Start {
        spec: Box::new(spec),
        force: args.force,
        update_env: args.update_env,
    };
    match client.request(request).await? {
        Response::Started { started, restarted } => {
            if args.json {
                output::json(&serde_json::json!({ "started": started, "restarted": restarted }))?;
            } else {
                for p in &started {
                    println!(
                        "started {} (id {}, pid {})",
                        p.name,
                        p.id,
                        p.pid.map_or("-".into(), |p| p.to_string())
                    );
                }
                for p in &restarted {
                    println!("restarted {} (id {})", p.name, p.id);
                }
                let all: Vec<_> = started.into_iter().chain(restarted).collect();
                output::processes(&all);
            }
            Ok(ExitCode::SUCCESS)
        }
        other => anyhow::bail!("unexpected reply: {other:?}"),
    }
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
    let env = args.update_env.then(|| std::env::vars().collect());
    let client = connect().await?;
    let request = Request::Restart {
        targets: args.targets.targets,
        env,
    };
    print_processes(client.request(request).await?, args.targets.json, false)
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
                p.name,
                p.id,
                p.pid.unwrap_or(0)
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    print_processes(response, t.json, false)
}

fn print_processes(response: Response, json: bool, deleted: bool) -> Result<ExitCode> {
    let Response::Processes { processes } = response else {
        anyhow::bail!("unexpected reply: {response:?}");
    };
    if json {
        output::json(&processes)?;
    } else if deleted {
        for p in &processes {
            println!("deleted {} (id {})", p.name, p.id);
        }
    } else {
        output::processes(&processes);
    }
    Ok(ExitCode::SUCCESS)
}
