//! `pmtui daemon`: the daemon in the foreground (the same as the `pmtui-daemon` executable,
//! see `pmtui_daemon::main`).

use std::process::ExitCode;

pub fn run() -> ExitCode {
    pmtui_daemon::main()
}
