//! The terminal UI end to end: the real binary in a tmux pseudo-terminal against a real
//! daemon in a temporary PMTUI_HOME. Each test has its own tmux server (`-L`), killed at the
//! end; every wait polls the screen with a deadline.

mod common;

use common::tmux::Tmux;
use common::{TestHome, alive, unique, wait_until};
use std::process::Command;

#[test]
fn dashboard_restart_logs_and_quit_leave_processes_running() {
    let home = TestHome::new();
    let marker = unique("hello-from-app");
    let script = home.script(
        "app.sh",
        &format!("#!/bin/sh\necho {marker}\nexec sleep 1000\n"),
    );
    home.ok(&[
        "start",
        script.to_str().expect("utf-8 path"),
        "--name",
        "app",
    ]);
    let first = home.wait_status("app", "online");
    let tmux = Tmux::start(&home, "");
    tmux.wait("the dashboard shows app online", |s| {
        s.contains("app") && s.contains("● online")
    });

    tmux.keys(&["r"]);
    tmux.wait("the restart is confirmed", |s| s.contains("restarted app"));
    let restarted = home.wait_for("app", "one restart", |p| {
        p["restarts"] == 1 && p["status"] == "online"
    });
    assert_ne!(restarted["pid"], first["pid"], "r restarted the process");

    tmux.keys(&["l"]);
    tmux.wait("its logs show the line it wrote", |s| {
        s.contains("Logs · app") && s.contains(&marker)
    });

    tmux.keys(&["q"]);
    tmux.wait("back on the dashboard", |s| s.contains("Processes"));
    tmux.keys(&["q"]);
    wait_until("the UI exits", || (!tmux.running()).then_some(())).expect("the UI quit on q");

    let after = home.wait_status("app", "online");
    assert_eq!(
        after["pid"], restarted["pid"],
        "quitting the UI did not touch the process"
    );
    assert!(alive(after["pid"].as_i64().expect("a pid")));
}

#[test]
fn monit_shows_cards_and_the_merged_tail() {
    let home = TestHome::new();
    let marker = unique("tail-line");
    let script = home.script(
        "talk.sh",
        &format!("#!/bin/sh\necho {marker}\nexec sleep 1000\n"),
    );
    home.ok(&[
        "start",
        script.to_str().expect("utf-8 path"),
        "--name",
        "talker",
    ]);
    home.wait_status("talker", "online");
    let tmux = Tmux::start(&home, "monit");
    tmux.wait("a card and the tail", |s| {
        s.contains("talker [0]") && s.contains("CPU") && s.contains(&marker)
    });
    tmux.keys(&["q"]);
    wait_until("monit exits", || (!tmux.running()).then_some(())).expect("q quits monit");
    assert_eq!(home.wait_status("talker", "online")["status"], "online");
}

#[test]
fn add_form_starts_a_process() {
    let home = TestHome::new();
    let tmux = Tmux::start(&home, "");
    tmux.wait("the empty dashboard", |s| s.contains("No processes yet"));
    tmux.keys(&["a"]);
    tmux.wait("the add form", |s| s.contains("Add a process"));
    tmux.keys(&["-l", "sleep 300"]);
    tmux.keys(&["Tab"]);
    tmux.keys(&["-l", "napper"]);
    tmux.keys(&["Enter"]);
    tmux.wait("the new process in the table", |s| {
        s.contains("started napper") && s.contains("napper")
    });
    home.wait_status("napper", "online");
    tmux.keys(&["q"]);
    wait_until("the UI exits", || (!tmux.running()).then_some(())).expect("q quits");
}

#[test]
fn a_vanished_daemon_is_reported_and_found_again() {
    let home = TestHome::new();
    home.ok(&["start", "sleep 300", "--name", "sleeper"]);
    let tmux = Tmux::start(&home, "");
    tmux.wait("the dashboard", |s| {
        s.contains("sleeper") && s.contains("● online")
    });
    home.ok(&["kill"]);
    tmux.wait("the daemon is reported unreachable", |s| {
        s.contains("daemon unreachable")
    });
    home.ok(&["start", "sleep 300", "--name", "again"]);
    tmux.wait("reconnected to the new daemon", |s| {
        !s.contains("daemon unreachable") && s.contains("again") && s.contains("● online")
    });
    tmux.keys(&["q"]);
    wait_until("the UI exits", || (!tmux.running()).then_some(())).expect("q quits");
}

#[test]
fn no_color_draws_without_colours() {
    let home = TestHome::new();
    home.ok(&["start", "sleep 300", "--name", "plain"]);
    let colour = Tmux::start(&home, "");
    let with = colour.wait("the dashboard in colour", |s| {
        s.contains("plain") && s.contains("● online")
    });
    assert!(!with.is_empty());
    assert!(coloured(&colour.capture(true)), "colours by default");
    let plain = Tmux::start_with(&home, "", "NO_COLOR=1");
    plain.wait("the dashboard without colour", |s| {
        s.contains("plain") && s.contains("● online")
    });
    let screen = plain.capture(true);
    assert!(!coloured(&screen), "no colour with NO_COLOR: {screen:?}");
    assert!(
        screen.contains("\x1b[0;7m") || screen.contains("\x1b[7m"),
        "the selection still shows (reversed)"
    );
}

/// True when the screen sets a foreground or background colour (SGR 30–38, 40–48, 90–107);
/// 39 and 49 (back to the default) do not count.
fn coloured(screen: &str) -> bool {
    screen.split("\x1b[").skip(1).any(|seq| {
        let Some(end) = seq.find('m') else {
            return false;
        };
        let params: Vec<&str> = seq[..end].split(';').collect();
        params.first().is_some_and(|_| {
            params.iter().any(|p| {
                p.parse::<u32>()
                    .is_ok_and(|n| matches!(n, 30..=38 | 40..=48 | 90..=97 | 100..=107))
            })
        })
    })
}

/// The pmtui binary's command line for a shell inside tmux, in `home`.
fn ui_command(home: &TestHome) -> String {
    format!(
        "cd {home} && PMTUI_HOME={home} TERM=xterm-256color {bin}",
        home = home.home().display(),
        bin = env!("CARGO_BIN_EXE_pmtui"),
    )
}

/// The pid of the process running `exe` whose parent is `parent`.
fn child_running(parent: &str, exe: &str) -> Option<String> {
    let children =
        std::fs::read_to_string(format!("/proc/{parent}/task/{parent}/children")).ok()?;
    children.split_whitespace().find_map(|pid| {
        let path = std::fs::read_link(format!("/proc/{pid}/exe")).ok()?;
        (path == std::path::Path::new(exe)).then(|| pid.to_string())
    })
}

#[test]
fn two_escs_in_one_burst_go_back_two_levels() {
    let home = TestHome::new();
    home.ok(&["start", "sleep 300", "--name", "napper"]);
    let first = home.wait_status("napper", "online");
    let tmux = Tmux::start(&home, "");
    tmux.wait("the dashboard", |s| {
        s.contains("napper") && s.contains("● online")
    });
    tmux.keys(&["Enter"]);
    tmux.wait("the detail view", |s| s.contains("napper · id 0"));
    tmux.keys(&["l"]);
    tmux.wait("its logs", |s| s.contains("Logs · napper"));
    // One send-keys: the Escs and the `?` reach the UI in one read. Two go back two levels;
    // the third, on the dashboard, does not quit (the `?` would land in the shell).
    tmux.keys(&["Escape", "Escape", "Escape", "?"]);
    tmux.wait("help over the dashboard, two levels back", |s| {
        s.contains("Help · dashboard")
    });
    assert!(tmux.running(), "esc never quits");
    // From the detail view, an Esc right before a letter is Esc then the letter, never
    // Alt+letter handled by the view being left.
    tmux.keys(&["Escape"]);
    tmux.keys(&["Enter"]);
    tmux.wait("the detail view again", |s| s.contains("napper · id 0"));
    tmux.keys(&["Escape", "?"]);
    tmux.wait("help over the dashboard", |s| {
        s.contains("Help · dashboard")
    });
    let after = home.wait_status("napper", "online");
    assert_eq!(
        after["restarts"], first["restarts"],
        "nothing was restarted"
    );
    tmux.keys(&["Escape", "q"]);
    wait_until("the UI exits", || (!tmux.running()).then_some(())).expect("q quits");
}

/// A tmux running the UI (after the shell line `setup`) in a shell that then reports how the
/// UI ended and whether the terminal is cooked again; returns once the dashboard shows.
fn ui_then_report(home: &TestHome, setup: &str) -> Tmux {
    let tmux = Tmux::run_command(&format!(
        "{setup}{}; echo \"ui ended $?\"; stty -a | tr ' ;' '\\n\\n' | grep -x -- '-*icanon'; \
         exec sleep 600",
        ui_command(home)
    ));
    tmux.wait("the dashboard", |s| {
        s.contains("napper") && s.contains("● online")
    });
    assert_eq!(tmux.format("#{alternate_on}"), "1");
    tmux
}

/// Waits for the shell's report after the UI ended by `how`, and checks the terminal is as
/// the shell needs it: canonical mode, the main screen, no mouse reports. Returns the screen.
fn assert_terminal_back(tmux: &Tmux, how: &str) -> String {
    let screen = tmux.wait(&format!("the UI ends on {how}"), |s| {
        s.contains("ui ended") && s.lines().any(|l| l.trim().ends_with("icanon"))
    });
    assert!(
        screen.lines().any(|l| l.trim() == "icanon"),
        "canonical mode is back after {how}: {screen}"
    );
    assert!(
        !screen.contains("Processes"),
        "the main screen is back: {screen}"
    );
    assert_eq!(tmux.format("#{alternate_on}"), "0", "alternate screen left");
    assert_eq!(
        tmux.format("#{mouse_any_flag}#{mouse_button_flag}#{mouse_sgr_flag}"),
        "000",
        "mouse reporting off after {how}"
    );
    screen
}

#[test]
fn sigterm_and_sighup_give_the_terminal_back() {
    let home = TestHome::new();
    home.ok(&["start", "sleep 300", "--name", "napper"]);
    home.wait_status("napper", "online");
    for signal in ["TERM", "HUP"] {
        let tmux = ui_then_report(&home, "");
        let shell = tmux.format("#{pane_pid}");
        let ui = wait_until("the UI's pid", || {
            child_running(&shell, env!("CARGO_BIN_EXE_pmtui"))
        })
        .expect("the UI runs under the shell");
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &ui])
            .status()
            .expect("kill");
        assert!(status.success());
        assert_terminal_back(&tmux, &format!("SIG{signal}"));
    }
    assert_eq!(home.wait_status("napper", "online")["status"], "online");
}

#[test]
fn a_panic_gives_the_terminal_back_and_says_why() {
    let home = TestHome::new();
    home.ok(&["start", "sleep 300", "--name", "napper"]);
    home.wait_status("napper", "online");
    // A debug build panics on its first key when told to (the UI's faults.rs); no backtrace,
    // so the message stays on the 40-line screen.
    let tmux = ui_then_report(
        &home,
        "export PMTUI_FAULTS=ui-panic-on-key RUST_BACKTRACE=0; ",
    );
    tmux.keys(&["j"]);
    let screen = assert_terminal_back(&tmux, "a panic");
    assert!(
        screen.contains("injected fault ui-panic-on-key"),
        "the panic message is readable on the main screen: {screen}"
    );
    assert!(screen.contains("ui ended 101"), "{screen}");
    assert_eq!(home.wait_status("napper", "online")["status"], "online");
}

#[test]
fn ctrl_z_suspends_and_fg_redraws_the_whole_screen() {
    let home = TestHome::new();
    home.ok(&["start", "sleep 300", "--name", "napper"]);
    home.wait_status("napper", "online");
    let tmux = Tmux::run_command("env PS1='shell$ ' bash --norc --noprofile -i");
    tmux.wait("the shell prompt", |s| s.contains("shell$"));
    tmux.keys(&["-l", &ui_command(&home)]);
    tmux.keys(&["Enter"]);
    tmux.wait("the dashboard", |s| {
        s.contains("napper") && s.contains("● online")
    });
    tmux.keys(&["C-z"]);
    let stopped = tmux.wait("the shell says the UI stopped", |s| s.contains("Stopped"));
    assert!(
        !stopped.contains("● online"),
        "the UI's screen is gone: {stopped}"
    );
    assert_eq!(tmux.format("#{alternate_on}"), "0");
    tmux.keys(&["-l", "fg"]);
    tmux.keys(&["Enter"]);
    let back = tmux.wait("the whole dashboard again", |s| {
        s.contains("Processes") && s.contains("napper") && s.contains("● online")
    });
    assert!(!back.contains("Stopped"), "fully redrawn: {back}");
    assert_eq!(tmux.format("#{alternate_on}"), "1");
    tmux.keys(&["q"]);
    tmux.wait("the shell again", |s| {
        s.lines().filter(|l| l.starts_with("shell$")).count() >= 2
    });
}

#[test]
fn a_long_stop_spins_on_a_terminal_then_says_what_it_stopped() {
    let home = TestHome::new();
    let script = home.script(
        "stubborn.sh",
        "#!/bin/sh\ntrap '' TERM\nwhile :; do sleep 1; done\n",
    );
    home.ok(&[
        "start",
        script.to_str().expect("utf-8 path"),
        "--name",
        "stubborn",
        "--kill-timeout",
        "4000",
    ]);
    home.wait_status("stubborn", "online");
    let tmux = Tmux::run_command(&format!(
        "{} stop stubborn; exec sleep 600",
        ui_command(&home)
    ));
    tmux.wait("a spinner naming what it waits for", |s| {
        s.contains("stopping stubborn: waiting for them to exit")
    });
    let done = tmux.wait("a sentence once stopped", |s| {
        s.contains("stopped stubborn (id 0)")
    });
    assert!(
        !done.contains("waiting for them"),
        "the spinner is cleared: {done}"
    );
}
