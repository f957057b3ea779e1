//! The command line as a pm2 user types it: `-v` prints the version; a pm2 flag pmtui lacks
//! is named as such (never "pass it after `--`", which would hand it to the app); a pm2 verb
//! pmtui lacks points at the pmtui way; suggestions for a mistyped verb never name a hidden
//! alias; usage errors exit 2 and other errors 1 (as the README says); `start --help` lists
//! each flag under its own heading; and apps started through `cargo run` do not inherit
//! cargo's variables.

mod common;
use common::TestHome;
use std::process::Output;

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn dash_v_prints_the_version_like_pm2() {
    let t = TestHome::new();
    for flag in ["-v", "-V", "--version"] {
        let out = t.ok(&[flag]);
        assert_eq!(
            out.trim(),
            format!("pmtui {}", env!("CARGO_PKG_VERSION")),
            "{flag}"
        );
    }
}

#[test]
fn pm2_flags_pmtui_lacks_are_named_not_passed_to_the_app() {
    let t = TestHome::new();
    for flag in ["-x", "--no-daemon"] {
        let out = t.run(&["start", "app.js", flag]);
        let err = stderr(&out);
        assert!(
            !err.contains(&format!("-- {flag}")),
            "{flag}: the tip would hand the flag to the app: {err}"
        );
        assert_eq!(out.status.code(), Some(2), "{flag}: {err}");
        assert!(
            err.contains(&format!("{flag} is a pm2 flag")),
            "{flag}: {err}"
        );
    }
    // A flag pm2 does not know either is most likely the app's: clap's tip stays.
    let out = t.run(&["start", "app.js", "--port", "3000"]);
    assert!(stderr(&out).contains("-- --port"), "{}", stderr(&out));
    assert!(t.list().is_empty(), "nothing was started");
}

#[test]
fn pm2_verbs_pmtui_lacks_point_at_the_pmtui_way() {
    let t = TestHome::new();
    let out = t.run(&["startOrRestart", "ecosystem.json"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        stderr(&out).contains("pmtui restart <file>"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn suggestions_never_name_a_hidden_alias() {
    let t = TestHome::new();
    // Hidden aliases kept for pm2 habits; none may be proposed for a typo.
    let hidden = [
        "'l'", "'ps'", "'status'", "'info'", "'show'", "'dump'", "'log'", "'del'",
    ];
    for typo in ["completion", "lx", "statuss", "shw", "dmp"] {
        let out = t.run(&[typo]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{typo}: {err}");
        for alias in hidden {
            assert!(!err.contains(alias), "{typo} suggested {alias}: {err}");
        }
    }
    let err = stderr(&t.run(&["lx"]));
    assert!(
        err.contains("'ls'"),
        "a visible verb is still proposed: {err}"
    );
    let err = stderr(&t.run(&["jlst"]));
    assert!(err.contains("'jlist'"), "{err}");
}

#[test]
fn usage_errors_exit_2_and_other_errors_exit_1() {
    let t = TestHome::new();
    for args in [
        &["frobnicate"][..],
        &["start"],
        &["stop", "--bogus-flag", "x"],
        &["logs", "--lines", "many"],
    ] {
        let out = t.run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    let out = t.run(&["stop", "ghost"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"))
        .expect("README");
    assert!(
        readme.contains("exit code 1") && readme.contains("exits 2"),
        "the README states both exit codes"
    );
}

#[test]
fn start_help_lists_general_flags_under_options() {
    let t = TestHome::new();
    let help = t.ok(&["start", "--help"]);
    let heading = |name: &str| {
        help.find(&format!("\n{name}:\n"))
            .unwrap_or_else(|| panic!("no {name} heading: {help}"))
    };
    let (options, policy, logs) = (
        heading("Options"),
        heading("Restart policy"),
        heading("Logs"),
    );
    let at = |flag: &str| {
        help.find(&format!("{flag} "))
            .or_else(|| help.find(&format!("{flag}\n")))
            .unwrap_or_else(|| panic!("{flag} missing: {help}"))
    };
    for flag in [
        "--force",
        "--interpreter",
        "--update-env",
        "--json",
        "--name",
    ] {
        let place = at(flag);
        assert!(
            place > options && place < policy.min(logs),
            "{flag} is not under Options: {help}"
        );
    }
    for flag in ["--max-restarts", "--cron-restart", "--no-autorestart"] {
        let place = at(flag);
        assert!(
            place > policy && place < logs,
            "{flag} is not under Restart policy: {help}"
        );
    }
}

#[test]
fn apps_started_through_cargo_run_do_not_inherit_cargo_variables() {
    let t = TestHome::new();
    let out = t
        .cmd()
        .env("CARGO", "/opt/rust/bin/cargo")
        .env("CARGO_MANIFEST_DIR", t.home())
        .env("CARGO_PKG_NAME", "pmtui")
        .env("CARGO_PKG_VERSION", "9.9.9")
        .env("RUST_RECURSION_COUNT", "1")
        .env("CARGO_HOME", "/opt/cargo-home")
        .env("MY_OWN", "kept")
        .args(["start", "sleep 300", "--name", "c"])
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", stderr(&out));
    let env = t.ok(&["env", "c"]);
    for gone in [
        "CARGO=",
        "CARGO_MANIFEST_DIR=",
        "CARGO_PKG_",
        "RUST_RECURSION_COUNT=",
    ] {
        assert!(
            !env.lines().any(|l| l.starts_with(gone)),
            "{gone} leaked: {env}"
        );
    }
    assert!(env.contains("MY_OWN=kept"), "{env}");
    assert!(
        env.contains("CARGO_HOME=/opt/cargo-home"),
        "the user's CARGO_HOME stays: {env}"
    );
}
