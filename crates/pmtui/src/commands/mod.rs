//! One module per family of verbs; `dispatch` connects (starting the daemon when needed) and
//! hands the parsed command to its module.

pub mod completion;
pub mod daemon;
mod ecosystem;
mod health;
mod init;
mod lifecycle;
mod logs;
mod man;
mod metrics;
mod pid;
mod reload;
mod schema;
pub mod show;
mod startup;
mod state;
mod targets;
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

/// How long the daemon may take to show it is alive (`--timeout`, `PMTUI_TIMEOUT`);
/// `None` waits for ever. Set once from the command line.
static TIMEOUT: std::sync::OnceLock<Option<std::time::Duration>> = std::sync::OnceLock::new();

pub fn timeout() -> Option<std::time::Duration> {
    TIMEOUT
        .get()
        .copied()
        .unwrap_or(Some(pmtui_client::DEFAULT_TIMEOUT))
}

/// A client, starting the daemon if none runs.
pub async fn connect() -> Result<Client> {
    let exe = std::env::current_exe()?;
    Ok(pmtui_client::connect_or_start(&home(), &exe, timeout()).await?)
}

pub async fn dispatch(cli: Cli) -> Result<ExitCode> {
    let _ = TIMEOUT.set(cli.timeout.0);
    if let Some(file) = &cli.config {
        if cli.command.is_some() {
            anyhow::bail!(
                "--config starts a file and opens the UI; with a verb, give the file to the verb (`pmtui start {}`)",
                file.display()
            );
        }
        let sel = ecosystem::Selection::default();
        ecosystem::apply(file, &sel, false, false).await?;
        return ui::open(pmtui_tui::StartView::Dashboard).await;
    }
    let Some(mut command) = cli.command else {
        return ui::open(pmtui_tui::StartView::Dashboard).await;
    };
    targets::expand(&mut command).await?;
    match command {
        Command::Daemon => unreachable_daemon(),
        Command::Monit => ui::open(pmtui_tui::StartView::Monitor).await,
        Command::Start(args) => lifecycle::start(*args).await,
        Command::Stop(a) if ecosystem::is_file(&a.targets.targets) => {
            let sel = (&a.file).into();
            ecosystem::act(&a.targets.targets[0], &sel, false, a.targets.json).await
        }
        Command::Delete(a) if ecosystem::is_file(&a.targets.targets) => {
            let sel = (&a.file).into();
            ecosystem::act(&a.targets.targets[0], &sel, true, a.targets.json).await
        }
        Command::Reload(args) => reload::reload(args).await,
        Command::Restart(r) if ecosystem::is_file(&r.targets) => {
            let sel = ecosystem::Selection::with_options(&r.only, &r.opts, r.strict)?;
            let file = std::path::PathBuf::from(&r.targets[0]);
            ecosystem::apply(&file, &sel, true, r.json).await
        }
        Command::Stop(a) => lifecycle::act(lifecycle::Verb::Stop, file_flags_unused(a)?).await,
        Command::Restart(r) => lifecycle::restart(r).await,
        Command::Delete(a) => lifecycle::act(lifecycle::Verb::Delete, file_flags_unused(a)?).await,
        Command::Export(args) => ecosystem::export(args).await,
        Command::Reset(t) => lifecycle::act(lifecycle::Verb::Reset, t).await,
        Command::Scale { name, count, json } => lifecycle::scale(name, &count, json).await,
        Command::Signal { signal, targets } => lifecycle::signal(signal, targets).await,
        Command::Ls(flag) => show::list(flag.json).await,
        Command::Jlist => show::list(true).await,
        Command::Describe(t) => show::describe(t).await,
        Command::Env(t) => show::env(t).await,
        Command::Pid(args) => pid::pid(args).await,
        Command::Save { force, json } => state::save(force, json).await,
        Command::Resurrect(flag) => state::resurrect(flag.json).await,
        Command::Ping(flag) => state::ping(flag.json).await,
        Command::Kill => state::kill().await,
        Command::Logs(args) => logs::logs(args).await,
        Command::Flush { targets } => state::flush(targets).await,
        Command::ReloadLogs => state::reload_logs().await,
        Command::Metrics(args) => metrics::metrics(args).await,
        Command::Schema { settings } => schema::print(settings),
        Command::Init { file, force } => init::write(file, force),
        Command::Startup(args) => startup::startup(args),
        Command::Unstartup(args) => startup::unstartup(args),
        Command::Completion { shell } => completion::print(shell),
        Command::Man { dir } => man::write(dir),
    }
}

/// `--only`/`--env` mean something only with a file.
fn file_flags_unused(a: crate::cli::ActArgs) -> Result<crate::cli::TargetArgs> {
    if !a.file.only.is_empty() || a.file.env.is_some() {
        anyhow::bail!("--only and --env select the apps of an ecosystem file; give a file");
    }
    Ok(a.targets)
}

fn unreachable_daemon() -> Result<ExitCode> {
    anyhow::bail!("`pmtui daemon` runs before the client starts")
}
