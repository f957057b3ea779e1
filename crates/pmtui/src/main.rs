//! The `pmtui` binary: the pm2-style command line, `pmtui daemon`, and (with no verb) the
//! terminal UI.

mod cli;
mod commands;
mod output;
mod resolve;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    if let Some(cli::Command::Daemon) = cli.command {
        return commands::daemon::run();
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("pmtui: cannot start: {err}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::dispatch(cli)) {
        Ok(code) => code,
        Err(err) => {
            output::error(&format!("{err:#}"));
            std::process::ExitCode::FAILURE
        }
    }
}
