//! Every bad input of the lifecycle verbs gets a message that says what to do, on stderr,
//! with exit code 1: an unknown process for each verb, and a daemon that cannot be reached
//! or started (a state directory that cannot be made, a socket path too long for a Unix
//! socket, a daemon that exits at once).

mod common;
use common::TestHome;
use std::process::Output;
use std::time::{Duration, Instant};

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn an_unknown_process_is_named_by_every_verb() {
    let t = TestHome::new();
    t.ok(&["start", "sleep 300", "--name", "real"]);
    let verbs: [&[&str]; 8] = [
        &["stop", "ghost"],
        &["restart", "ghost"],
        &["reload", "ghost"],
        &["delete", "ghost"],
        &["describe", "ghost"],
        &["env", "ghost"],
        &["reset", "ghost"],
        &["signal", "SIGUSR1", "ghost"],
    ];
    for args in verbs {
        let out = t.run(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {out:?}");
        let err = stderr(&out);
        assert!(
            err.contains("ghost") && err.contains("pmtui ls"),
            "{args:?}: {err}"
        );
        assert!(out.stdout.is_empty(), "{args:?}: errors go to stderr only");
    }
    assert_eq!(t.list().len(), 1, "nothing changed");
}

#[test]
fn a_state_directory_that_cannot_be_made_is_named() {
    let t = TestHome::new();
    let file = t.path("a-file");
    std::fs::write(&file, "").expect("write");
    let out = t
        .cmd()
        .env("PMTUI_HOME", file.join("home"))
        .arg("ls")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = stderr(&out);
    assert!(
        err.contains("a-file/home") && err.contains("PMTUI_HOME"),
        "{err}"
    );
}

#[test]
fn a_socket_path_too_long_fails_at_once_and_says_so() {
    let t = TestHome::new();
    let long = t.path(&"h".repeat(120));
    let started = Instant::now();
    let out = t
        .cmd()
        .env("PMTUI_HOME", &long)
        .arg("ls")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = stderr(&out);
    assert!(
        err.contains("socket path") && err.contains("shorter") && err.contains("PMTUI_HOME"),
        "{err}"
    );
    assert!(!long.exists(), "nothing was created");
    // Not the 15 s wait for a daemon that can never answer.
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn a_daemon_that_cannot_start_is_reported_with_its_reason() {
    let t = TestHome::new();
    let home = t.path("home");
    std::fs::create_dir(&home).expect("mkdir");
    // The daemon cannot make its logs directory.
    std::fs::write(home.join("logs"), "").expect("write");
    let started = Instant::now();
    let out = t
        .cmd()
        .env("PMTUI_HOME", &home)
        .arg("ls")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = stderr(&out);
    assert!(
        err.contains("exited") && err.contains("logs") && err.contains("daemon.log"),
        "{err}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(12),
        "reported as soon as the daemon exits, not at the start deadline"
    );
}

#[test]
fn a_missing_script_or_interpreter_says_what_to_do() {
    let t = TestHome::new();
    std::fs::write(t.path("app.py"), "print(1)\n").expect("write");
    let cases: [(&[&str], &[&str]); 3] = [
        (&["start", "web"], &["no process is named web", "pmtui ls"]),
        (&["start", "./nope.py"], &["nope.py", "check the path"]),
        (
            &["start", "app.py", "--interpreter", "no-such-interp-xyz"],
            &["no-such-interp-xyz", "install it"],
        ),
    ];
    for (args, needles) in cases {
        let out = t.run(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {out:?}");
        let err = stderr(&out);
        for needle in needles {
            assert!(err.contains(needle), "{args:?}: {err:?} lacks {needle:?}");
        }
    }
    assert!(t.list().is_empty(), "nothing was started");
}

#[test]
fn a_reader_that_closes_the_pipe_ends_the_output_quietly() {
    let t = TestHome::new();
    t.ok(&["start", "sleep 300", "--name", "piped", "-i", "3"]);
    for args in [&["jlist"][..], &["ls"], &["describe", "piped"]] {
        // `pmtui jlist | head -0`: the reading end is gone before anything is written.
        let (reader, writer) = std::io::pipe().expect("pipe");
        drop(reader);
        let out = t
            .cmd()
            .args(args)
            .stdout(writer)
            .env_remove("RUST_BACKTRACE")
            .output()
            .expect("run");
        let err = stderr(&out);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
    }
}

#[test]
fn a_name_that_targets_would_misread_is_refused() {
    let t = TestHome::new();
    for (name, what) in [("all", "every process"), ("/w/", "regular")] {
        let out = t.run(&["start", "sleep 300", "--name", name]);
        assert_eq!(out.status.code(), Some(1), "{name}: {out:?}");
        let err = stderr(&out);
        assert!(err.contains(what) && err.contains("another name"), "{err}");
    }
    let file = t.path("eco.json");
    std::fs::write(
        &file,
        r#"{"apps": [{"name": "all", "script": "sleep 300"}]}"#,
    )
    .expect("write");
    let out = t.run(&["start", file.to_str().expect("utf8")]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(stderr(&out).contains("every process"), "{}", stderr(&out));
    assert!(t.list().is_empty());
}

#[test]
fn a_namespace_that_targets_would_misread_is_refused() {
    let t = TestHome::new();
    let out = t.run(&["start", "sleep 300", "--name", "n", "--namespace", "all"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        stderr(&out).contains("another namespace"),
        "{}",
        stderr(&out)
    );
    assert!(t.list().is_empty());
}
