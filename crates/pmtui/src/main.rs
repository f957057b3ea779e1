//! The `pmtui` binary: the pm2-style command line, `pmtui daemon`, and (with no verb) the
//! terminal UI.

mod cli;
mod commands;
mod output;
mod pretty;
mod resolve;
mod spinner;
mod usage;

fn main() -> std::process::ExitCode {
    quiet_broken_pipe();
    if commands::completion::names_requested() {
        return commands::completion::print_names();
    }
    let cli = usage::parse();
    if let Some(cli::Command::Daemon) = cli.command {
        return commands::daemon::run();
    }
    if let Some(cli::Command::DialStdio) = cli.command {
        return commands::remote::dial::run(cli.timeout.0);
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

/// `pmtui jlist | head -1`: a reader that closed the pipe got what it wanted. Rust ignores
/// SIGPIPE, so `println!` panics on the closed pipe; end quietly instead of printing a panic.
fn quiet_broken_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let broken = info
            .payload_as_str()
            .is_some_and(|text| text.contains("Broken pipe"));
        if broken {
            std::process::exit(0);
        }
        default(info);
    }));
}
