//! One module per family of verbs; `dispatch` connects (starting the daemon when needed) and
//! hands the parsed command to its module.

mod app_metrics;
pub mod completion;
pub mod daemon;
mod ecosystem;
mod events;
mod health;
mod init;
mod lifecycle;
mod logs;
mod man;
mod metrics;
mod orchestrate;
mod pid;
mod reload;
pub mod remote;
mod schema;
pub mod show;
mod startup;
mod state;
mod targets;
pub mod ui;
mod wait;

use crate::cli::{Cli, Command};
use anyhow::{Context as _, Result};
use pmtui_client::Client;
use std::io::IsTerminal;
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

/// A client of this invocation's daemon (this host's, started if none runs, or the one
/// `--host`/`--context` names).
pub async fn connect() -> Result<Client> {
    let endpoint = remote::single()?;
    // ssh may prompt (passphrase, host key) only where someone can answer.
    let batch = !std::io::stdin().is_terminal();
    Ok(endpoint.connect(timeout(), batch).await?)
}

pub async fn dispatch(cli: Cli) -> Result<ExitCode> {
    let _ = TIMEOUT.set(cli.timeout.0);
    // Verbs that never talk to a daemon run here, whatever host is chosen.
    match cli.command {
        Some(Command::Context { action }) => return remote::verbs::context(action),
        Some(Command::Schema { settings }) => return schema::print(settings),
        Some(Command::Completion { shell }) => return completion::print(shell),
        Some(Command::Man { dir }) => return man::write(dir),
        _ => {}
    }
    remote::init(&cli.host, &cli.context, cli.remote_bin.as_deref())?;
    if let Some(ssh) = remote::remote() {
        if cli.config.is_some() {
            anyhow::bail!(
                "--config reads a file here; with --host use `pmtui start --local-file FILE`, \
                 then `pmtui`"
            );
        }
        if let Some(code) = forwarded(ssh, cli.command.as_ref())? {
            return Ok(code);
        }
    }
    if let Some(file) = &cli.config {
        if cli.command.is_some() {
            anyhow::bail!(
                "--config starts a file and opens the UI; with a verb, give the file to the verb (`pmtui start {}`)",
                file.display()
            );
        }
        let sel = ecosystem::Selection::default();
        ecosystem::apply(file, &sel, false, false, false).await?;
        return ui::open(pmtui_tui::StartView::Dashboard).await;
    }
    let Some(mut command) = cli.command else {
        return ui::open(pmtui_tui::StartView::Dashboard).await;
    };
    if let Command::Start(args) = &mut command
        && let Some(file) = args.local_file.take()
    {
        // Here, a local file is just a file.
        args.scripts.insert(0, file.display().to_string());
    }
    if remote::endpoints().len() > 1 {
        return match command {
            Command::Ls(flag) => show::list_hosts(flag.json).await,
            Command::Jlist => show::list_hosts(true).await,
            Command::Monit => ui::open(pmtui_tui::StartView::Monitor).await,
            _ => remote::single().map(|_| ExitCode::SUCCESS),
        };
    }
    if !remote::single()?.is_remote() {
        // Script files named as targets are files of this host.
        targets::expand(&mut command).await?;
    }
    match command {
        Command::Daemon | Command::DialStdio => unreachable_daemon(),
        Command::Context { .. } => unreachable_daemon(),
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
            ecosystem::apply(&file, &sel, true, r.json, false).await
        }
        Command::Stop(a) => lifecycle::act(lifecycle::Verb::Stop, file_flags_unused(a)?).await,
        Command::Restart(r) => lifecycle::restart(r).await,
        Command::Delete(a) => lifecycle::act(lifecycle::Verb::Delete, file_flags_unused(a)?).await,
        Command::Export(args) => ecosystem::export(args).await,
        Command::Reset(t) => lifecycle::act(lifecycle::Verb::Reset, t).await,
        Command::Watch { words, json } => lifecycle::watch(words, json).await,
        Command::Run(t) => lifecycle::act(lifecycle::Verb::Run, t).await,
        Command::Events(args) => events::follow(args).await,
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

/// With a remote host, runs on the far side the verbs that read files or this host's
/// environment; `None` for the verbs that go over the protocol.
fn forwarded(
    ssh: &pmtui_client::SshEndpoint,
    command: Option<&Command>,
) -> Result<Option<ExitCode>> {
    let forward = |extra: &[&str], stdin| remote::forward(ssh, extra, stdin).map(Some);
    match command {
        Some(Command::Start(args)) => match &args.local_file {
            Some(file) => {
                let content = std::fs::read(file)
                    .with_context(|| format!("cannot read {}", file.display()))?;
                let name = file
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "ecosystem.json".into());
                forward(&["-", "--content-name", &name], Some(content))
            }
            None => forward(&[], None),
        },
        Some(Command::Stop(a) | Command::Delete(a)) if ecosystem::is_file(&a.targets.targets) => {
            forward(&[], None)
        }
        Some(Command::Restart(r)) if restart_reads_here(r) => forward(&[], None),
        Some(Command::Reload(r)) if restart_reads_here(&r.base) => forward(&[], None),
        Some(Command::Kill | Command::Startup(_) | Command::Unstartup(_)) => forward(&[], None),
        _ => Ok(None),
    }
}

/// A restart that reads a file, the shell's environment or paths given as flags: run where
/// they mean something.
fn restart_reads_here(r: &crate::cli::RestartArgs) -> bool {
    ecosystem::is_file(&r.targets) || r.update_env || r.opts != crate::cli::ProcessFlags::default()
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
