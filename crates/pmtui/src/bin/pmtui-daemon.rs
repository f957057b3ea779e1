//! `pmtui-daemon`: the daemon alone, without the command line and the terminal UI, so that
//! the long-lived process maps and touches only the daemon's code (its idle RSS counts the
//! pages of the executable it runs). The client starts it when it sits beside `pmtui`;
//! `pmtui daemon` does the same in one executable.

fn main() -> std::process::ExitCode {
    // `pmtui-daemon` and `pmtui-daemon daemon` (as the client runs either) are the daemon;
    // anything else is a mistake worth saying.
    let mut args = std::env::args_os().skip(1);
    match (args.next(), args.next()) {
        (None, _) => {}
        (Some(verb), None) if verb == "daemon" => {}
        _ => {
            eprintln!(
                "usage: pmtui-daemon  (the pmtui daemon in the foreground; PMTUI_HOME, PMTUI_LOG)"
            );
            return std::process::ExitCode::from(2);
        }
    }
    pmtui_daemon::main()
}
