//! One module per family of verbs; `dispatch` connects (starting the daemon when needed) and
//! hands the parsed command to its module.

pub mod daemon;
mod lifecycle;
mod logs;
mod metrics;
pub mod show;
mod state;
pub mod ui;

use crate::cli::{Cli, Command};
use anyhow::Result;
use pmtui_client::Client;
use std::path::PathBuf;
use std::process::ExitCode;

/// The state directory of this invocation.
pub fn home() -> PathBuf {
    pmtui_daemon::Paths::from_env().home
}

/// A client, starting the daemon if none runs.
pub async fn connect() -> Result<Client> {
    let exe = std::env::current_exe()?;
    Ok(pmtui_client::connect_or_start(&home(), &exe).await?)
}

pub async fn dispatch(cli: Cli) -> Result<ExitCode> {
    let Some(command) = cli.command else {
        return ui::open(pmtui_tui::StartView::Dashboard).await;
    };
    match command {
        Command::Daemon => unreachable_daemon(),
        Command::Monit => ui::open(pmtui_tui::StartView::Monitor).await,
        Command::Start(args) => lifecycle::start(*args).await,
        Command::Stop(t) => lifecycle::act(lifecycle::Verb::Stop, t).await,
        Command::Restart(r) => lifecycle::restart(r).await,
        Command::Delete(t) => lifecycle::act(lifecycle::Verb::Delete, t).await,
        Command::Reset(t) => lifecycle::act(lifecycle::Verb::Reset, t).await,
        Command::Signal { signal, targets } => lifecycle::signal(signal, targets).await,
        Command::Ls(flag) => show::list(flag.json).await,
        Command::Jlist => show::list(true).await,
        Command::Describe(t) => show::describe(t).await,
        Command::Env(t) => show::env(t).await,
        Command::Save { force, json } => state::save(force, json).await,
        Command::Resurrect(flag) => state::resurrect(flag.json).await,
        Command::Ping(flag) => state::ping(flag.json).await,
        Command::Kill => state::kill().await,
        Command::Logs(args) => logs::logs(args).await,
        Command::Flush { targets } => state::flush(targets).await,
        Command::ReloadLogs => state::reload_logs().await,
        Command::Metrics(args) => metrics::metrics(args).await,
    }
}

fn unreachable_daemon() -> Result<ExitCode> {
    anyhow::bail!("`pmtui daemon` runs before the client starts")
}
