//! `pmtui` (dashboard) and `pmtui monit`: connect, then hand the terminal to pmtui-tui. The
//! add form's resolver is `pmtui start`'s own (`resolve::spec_from_args`), so a command
//! typed in the UI means exactly what it means on the command line.

use super::{connect, home};
use crate::cli::StartArgs;
use crate::resolve;
use anyhow::Result;
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
    let client = connect().await?;
    let options = Options {
        socket: home().join("pmtui.sock"),
        view,
        resolver: Some(resolver()),
    };
    pmtui_tui::run(client, options).await?;
    Ok(ExitCode::SUCCESS)
}

/// The add form's `AddRequest` → `pmtui start`'s arguments → a resolved spec.
pub fn resolver() -> Resolver {
    Arc::new(|request: &AddRequest| {
        let args = StartArgs {
            script: request.command.clone(),
            name: request.name.clone(),
            instances: request.instances.clone(),
            cwd: request.cwd.clone().map(Into::into),
            env: request.env.clone(),
            namespace: None,
            kill_timeout: None,
            stop_signal: None,
            no_autorestart: request.restart == RestartMode::No,
            force: false,
            interpreter: None,
            interpreter_args: None,
            update_env: false,
            json: false,
            args: Vec::new(),
        };
        let mut spec = resolve::spec_from_args(&args).map_err(|err| format!("{err:#}"))?;
        spec.restart.mode = request.restart;
        Ok(spec)
    })
}
