//! `pmtui` (dashboard) and `pmtui monit`: connect, then hand the terminal to pmtui-tui. The
//! add form's resolver is `pmtui start`'s own (`resolve::spec_from_args`), so a command
//! typed in the UI means exactly what it means on the command line.

use super::connect;
use crate::cli::{Cli, Command};
use crate::resolve;
use anyhow::Result;
use clap::Parser;
use pmtui_proto::RestartMode;
use pmtui_tui::{AddRequest, Options, Resolver, StartView};
use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;

/// Opens the UI on `view`; returns when the user quits. Processes keep running.
pub async fn open(view: StartView) -> Result<ExitCode> {
    if !std::io::stdout().is_terminal() {
        anyhow::bail!("the terminal UI needs a terminal; see `pmtui --help` for the command line");
    }
    let endpoints = super::remote::endpoints().to_vec();
    // One host: connected here, before the terminal is taken, so an ssh prompt or error
    // shows on the command line. Several: each connects inside the UI, on its own.
    let client = match endpoints.len() {
        1 => Some(connect().await?),
        _ => None,
    };
    let label = if endpoints.len() > 1 {
        // The hosts are listed in the title anyway; the context's name goes before them.
        super::remote::context().map(String::from)
    } else {
        super::remote::header().map(|h| {
            h.trim_start_matches("context: ")
                .trim_start_matches("host: ")
                .to_string()
        })
    };
    let options = Options {
        // A command typed in the add form is resolved here: on another host its paths
        // would be this host's, so the form is offered only when this host's daemon is
        // among the hosts, and its starts go there.
        resolver: endpoints.iter().any(|e| !e.is_remote()).then(resolver),
        endpoints,
        label,
        view,
    };
    pmtui_tui::run(client, options).await?;
    Ok(ExitCode::SUCCESS)
}

/// The add form's `AddRequest` → the argv of `pmtui start` → a resolved spec: parsed by
/// the same clap definition, so the form can never drift from the command line.
pub fn resolver() -> Resolver {
    Arc::new(|request: &AddRequest| {
        let mut argv = vec![
            "pmtui".to_string(),
            "start".to_string(),
            request.command.clone(),
        ];
        let mut flag = |name: &str, value: &Option<String>| {
            if let Some(value) = value {
                argv.push(format!("--{name}={value}"));
            }
        };
        flag("name", &request.name);
        flag("cwd", &request.cwd);
        flag("instances", &request.instances);
        for pair in &request.env {
            argv.push(format!("--env={pair}"));
        }
        let mode = match request.restart {
            RestartMode::Always => "always",
            RestartMode::OnFailure => "on-failure",
            RestartMode::No => "no",
        };
        argv.push(format!("--restart-mode={mode}"));
        if request.command.starts_with('-') {
            return Err("a command cannot start with '-'".to_string());
        }
        let cli = Cli::try_parse_from(&argv).map_err(|err| {
            let text = err.to_string();
            text.lines()
                .next()
                .unwrap_or_default()
                .trim_start_matches("error: ")
                .to_string()
        })?;
        let Some(Command::Start(args)) = cli.command else {
            return Err("not a start command".to_string());
        };
        let [script] = args.scripts.as_slice() else {
            return Err("one command at a time".to_string());
        };
        resolve::spec_from_args(script, &args.opts).map_err(|err| format!("{err:#}"))
    })
}
