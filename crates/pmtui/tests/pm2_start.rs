//! `start` and `restart` as pm2 users know them: several scripts in one call, an ecosystem
//! file on standard input (`start -`, `stop -`, `delete -`), a second start of a running
//! script refused without `-f` (pm2's "Script already launched"), starting a stopped or
//! errored process not counted as a restart, `restart` writing its option flags into the
//! definition (a rename with `--name`, `--interpreter-args` replaced and not appended), and
//! pm2's `-p/--pid` file.

mod common;
use common::{TestHome, wait_until};
use serde_json::Value;
use std::io::Write;
use std::process::Stdio;

fn describe(t: &TestHome, target: &str) -> Value {
    let out = t.ok(&["describe", target, "--json"]);
    let all: Vec<Value> = serde_json::from_str(&out).expect("describe --json");
    all.into_iter().next().expect("one process")
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs `pmtui <args>` with `input` on its standard input.
fn with_stdin(t: &TestHome, args: &[&str], input: &str) -> std::process::Output {
    let mut child = t
        .cmd()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("wait")
}

#[test]
fn several_scripts_start_in_one_call_each_with_the_arguments() {
    let t = TestHome::new();
    let body = "#!/bin/sh\necho \"$(basename $0) got $*\"\nexec sleep 300\n";
    t.script("a.sh", body);
    t.script("b.sh", body);
    let out = t.ok(&["start", "a.sh", "b.sh", "--", "x", "y z"]);
    assert!(
        out.contains("started a") && out.contains("started b"),
        "{out}"
    );
    for name in ["a", "b"] {
        t.wait_status(name, "online");
        let log = t.home().join(format!("logs/{name}-out.log"));
        wait_until("the arguments in the log", || {
            std::fs::read_to_string(&log)
                .ok()
                .filter(|s| s.contains(&format!("{name}.sh got x y z")))
        })
        .unwrap_or_else(|| panic!("{name} got the arguments after --"));
    }
    // One name cannot name several processes.
    let out = t.run(&["start", "a.sh", "b.sh", "--name", "one"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("--name"), "{}", stderr(&out));
    // One that fails does not stop the others; the exit code says so.
    t.script("c.sh", body);
    let out = t.run(&["start", "missing.sh", "c.sh"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(stderr(&out).contains("missing.sh"), "{}", stderr(&out));
    t.wait_status("c", "online");
    assert_eq!(t.list().len(), 3);
}

#[test]
fn an_ecosystem_file_on_standard_input() {
    let t = TestHome::new();
    let json = r#"{"apps": [
        {"name": "piped-a", "script": "sleep 300"},
        {"name": "piped-b", "script": "sleep 300", "instances": 2}
    ]}"#;
    let out = with_stdin(&t, &["start", "-"], json);
    assert!(out.status.success(), "{}", stderr(&out));
    t.wait_status("piped-a", "online");
    assert_eq!(t.list().len(), 3);

    let out = with_stdin(&t, &["stop", "-", "--only", "piped-b"], json);
    assert!(out.status.success(), "{}", stderr(&out));
    t.wait_status("piped-b", "stopped");
    assert_eq!(t.process("piped-a").expect("a")["status"], "online");

    let out = with_stdin(&t, &["delete", "-"], json);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(t.list().is_empty());

    // A broken one is named `<stdin>` with the line, and starts nothing.
    let out = with_stdin(&t, &["start", "-"], "{\"apps\": [\n  {\"name\": }]}");
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("<stdin>:2:"), "{}", stderr(&out));
    assert!(t.list().is_empty());
}

#[test]
fn a_running_script_is_not_started_twice_and_a_stopped_one_starts_uncounted() {
    let t = TestHome::new();
    t.script("echo.sh", "#!/bin/sh\nexec sleep 300\n");
    t.ok(&["start", "echo.sh"]);
    let first = t.wait_status("echo", "online");
    let out = t.run(&["start", "echo.sh"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = stderr(&out);
    assert!(
        err.contains("already runs as echo") && err.contains("pmtui restart echo"),
        "{err}"
    );
    assert_eq!(t.process("echo").expect("echo")["pid"], first["pid"]);
    assert_eq!(t.list().len(), 1);

    // Stopped: `start` starts it again, and that is not a restart.
    t.ok(&["stop", "echo"]);
    t.wait_status("echo", "stopped");
    let out = t.ok(&["start", "echo.sh"]);
    assert!(out.contains("started echo"), "{out}");
    let row = t.wait_status("echo", "online");
    assert_eq!(row["restarts"], 0, "{row}");
    // Restarting what runs counts; restarting what is stopped does not (pm2 counts so).
    t.ok(&["restart", "echo"]);
    t.wait_for("echo", "one restart", |p| p["restarts"] == 1);
    t.ok(&["stop", "echo"]);
    t.ok(&["restart", "echo"]);
    let row = t.wait_status("echo", "online");
    assert_eq!(row["restarts"], 1, "{row}");
    // With -f, a duplicate.
    t.ok(&["start", "echo.sh", "-f"]);
    assert_eq!(t.list().len(), 2);
}

#[test]
fn starting_an_errored_process_is_not_a_restart() {
    let t = TestHome::new();
    let ok = t.path("ok");
    t.script(
        "flaky.sh",
        &format!(
            "#!/bin/sh\nif [ -f {} ]; then exec sleep 300; fi\nexit 1\n",
            ok.display()
        ),
    );
    t.ok(&["start", "flaky.sh", "--max-restarts", "2"]);
    let errored = t.wait_status("flaky", "errored");
    let crashes = errored["restarts"].clone();
    assert!(crashes.as_u64() >= Some(1), "{errored}");
    std::fs::write(&ok, "").expect("write");
    t.ok(&["restart", "flaky"]);
    let row = t.wait_status("flaky", "online");
    assert_eq!(row["restarts"], crashes, "starting it again is not counted");
}

#[test]
fn restart_writes_its_options_into_the_definition_and_renames() {
    let t = TestHome::new();
    t.ok(&["start", "sleep 300", "--name", "api"]);
    t.wait_status("api", "online");
    let out = t.ok(&[
        "restart",
        "api",
        "--max-memory-restart",
        "100M",
        "--cron-restart",
        "0 3 * * *",
        "--env",
        "LEVEL=debug",
        "--kill-timeout",
        "900",
    ]);
    assert!(out.contains("restarted api"), "{out}");
    let d = describe(&t, "api");
    assert_eq!(d["spec"]["max_memory_restart"], 100 << 20, "{d}");
    assert_eq!(d["spec"]["cron_restart"], "0 3 * * *");
    assert_eq!(d["spec"]["kill_timeout_ms"], 900);
    assert_eq!(d["env"]["LEVEL"], "debug");
    assert_eq!(d["restarts"], 1, "one restart");

    // A rename keeps the id (pm2's app-config-update.sh).
    t.ok(&["restart", "0", "--name", "new-name"]);
    let row = t.wait_status("new-name", "online");
    assert_eq!(row["id"], 0);
    assert!(t.process("api").is_none());
    assert_eq!(describe(&t, "new-name")["spec"]["kill_timeout_ms"], 900);
    t.ok(&["reset", "all"]);
    t.ok(&["restart", "new-name"]);
    t.wait_for("new-name", "restarts 1", |p| p["restarts"] == 1);
    // `start <id> --name` too; the old name's file goes with it.
    t.ok(&["start", "0", "--name", "new-name-2"]);
    t.wait_status("new-name-2", "online");
    let files: Vec<String> = std::fs::read_dir(t.home().join("processes"))
        .expect("processes dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    assert_eq!(files, vec!["new-name-2.json"], "{files:?}");
    // Not to a name another process has.
    t.ok(&["start", "sleep 300", "--name", "taken"]);
    let out = t.run(&["restart", "new-name-2", "--name", "taken"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("taken"), "{}", stderr(&out));
    // A daemon restart brings back exactly what is there.
    t.ok(&["kill"]);
    let names: Vec<Value> = t.list().into_iter().map(|p| p["name"].clone()).collect();
    assert!(names.is_empty(), "kill forgets: {names:?}");
}

#[test]
fn a_rename_survives_a_daemon_crash() {
    let t = TestHome::new();
    t.ok(&["start", "sleep 300", "--name", "before"]);
    t.ok(&["restart", "before", "--name", "after"]);
    t.wait_status("after", "online");
    let pid = t.daemon_pid().expect("daemon pid");
    let _ = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .output();
    wait_until("the daemon gone", || {
        (!common::alive(i64::from(pid))).then_some(())
    })
    .expect("daemon killed");
    let names: Vec<Value> = t.list().into_iter().map(|p| p["name"].clone()).collect();
    assert_eq!(names, vec!["after"], "the old name did not come back");
}

#[test]
fn interpreter_args_given_again_replace_the_old_ones() {
    let t = TestHome::new();
    t.script("app.py", "import time\ntime.sleep(300)\n");
    t.ok(&["start", "app.py"]);
    t.wait_status("app", "online");
    t.ok(&["restart", "app", "--interpreter-args", "-u"]);
    assert_eq!(
        describe(&t, "app")["spec"]["interpreter_args"],
        serde_json::json!(["-u"])
    );
    t.ok(&["restart", "app.py", "--node-args=-B -u"]);
    assert_eq!(
        describe(&t, "app")["spec"]["interpreter_args"],
        serde_json::json!(["-B", "-u"]),
        "replaced, not appended"
    );
    t.ok(&["start", "app", "--node-args", "null"]);
    assert_eq!(
        describe(&t, "app")["spec"]["interpreter_args"],
        serde_json::json!([]),
        "null clears them"
    );
    t.wait_status("app", "online");
}

#[test]
fn a_pid_file_as_pm2_names_it() {
    let t = TestHome::new();
    t.ok(&["start", "sleep 300", "--name", "echo", "-p", "run/echo.pid"]);
    let row = t.wait_status("echo", "online");
    let file = t.home().join("run/echo-0.pid");
    let written = wait_until("the pid file", || std::fs::read_to_string(&file).ok())
        .expect("run/echo-0.pid written");
    assert_eq!(written.trim(), row["pid"].to_string());
    assert!(
        !t.home().join("pids/echo-0.pid").exists(),
        "the custom file replaces the default one"
    );
    t.ok(&["stop", "all"]);
    wait_until("the pid file removed", || (!file.exists()).then_some(())).expect("removed on stop");
    // Instances each get their own, by id.
    t.ok(&[
        "start",
        "sleep 300",
        "--name",
        "many",
        "--pid",
        "run/many.pid",
        "-i",
        "2",
    ]);
    for id in [1, 2] {
        let file = t.home().join(format!("run/many-{id}.pid"));
        wait_until("an instance's pid file", || file.exists().then_some(()))
            .unwrap_or_else(|| panic!("{} missing", file.display()));
    }
    // And from a file.
    std::fs::write(
        t.path("eco.json"),
        r#"{"apps": [{"name": "f", "script": "sleep 300", "pid_file": "run/f.pid"}]}"#,
    )
    .expect("write");
    t.ok(&["start", "eco.json"]);
    let file = t.home().join("run/f-3.pid");
    wait_until("the file's pid file", || file.exists().then_some(()))
        .expect("pid_file from an ecosystem file");
}
