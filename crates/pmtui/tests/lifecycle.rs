//! The lifecycle verbs against a real daemon: start, stop, restart, delete by name, id,
//! namespace and `all`; smart start; instances; the environment children receive; errors.

mod common;
use common::{TestHome, alive, wait_until};

#[test]
fn start_stop_restart_delete_by_name_id_namespace_and_all() {
    let t = TestHome::new();
    t.ok(&["start", "sleep 300", "--name", "a", "--namespace", "ns1"]);
    t.ok(&["start", "sleep 300", "--name", "b", "--namespace", "ns1"]);
    t.ok(&["start", "sleep 300", "--name", "c"]);
    let a = t.wait_status("a", "online");
    let pid_a = a["pid"].as_i64().expect("a has a pid");
    assert!(alive(pid_a));

    // By name.
    t.ok(&["stop", "a"]);
    let a = t.wait_status("a", "stopped");
    assert!(a["pid"].is_null());
    assert!(!alive(pid_a), "stopped process {pid_a} is gone");

    // By id: c's id.
    let c_id = t.process("c").expect("c")["id"]
        .as_i64()
        .expect("id")
        .to_string();
    t.ok(&["stop", &c_id]);
    t.wait_status("c", "stopped");

    // By namespace: restart ns1 starts a again and restarts b.
    let b_pid = t.process("b").expect("b")["pid"].as_i64().expect("pid");
    t.ok(&["restart", "ns1"]);
    let a = t.wait_status("a", "online");
    let b = t.wait_for("b", "a new pid", |p| {
        p["status"] == "online" && p["pid"].as_i64() != Some(b_pid)
    });
    assert!(b["restarts"].as_i64() >= Some(1), "restart counts: {b}");
    assert!(!alive(b_pid));
    assert_eq!(
        a["restarts"], 0,
        "starting a stopped process is not a restart, as pm2 counts"
    );

    // all.
    t.ok(&["stop", "all"]);
    for name in ["a", "b", "c"] {
        t.wait_status(name, "stopped");
    }
    t.ok(&["delete", "all"]);
    assert!(t.list().is_empty());
}

#[test]
fn several_targets_and_unknown_target_error() {
    let t = TestHome::new();
    t.ok(&["start", "sleep 300", "--name", "x"]);
    t.ok(&["start", "sleep 300", "--name", "y"]);
    t.ok(&["stop", "x", "y"]);
    t.wait_status("x", "stopped");
    t.wait_status("y", "stopped");

    let out = t.run(&["stop", "nope"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("nope") && err.contains("pmtui ls"),
        "helpful error: {err}"
    );

    let out = t.run(&["describe", "nope"]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn smart_start_restarts_an_existing_name_and_force_duplicates() {
    let t = TestHome::new();
    t.ok(&["start", "sleep 300", "--name", "dup"]);
    let first = t.wait_status("dup", "online");
    // The same script under the same name again: refused, as pm2's "Script already
    // launched, add -f option".
    let out = t.run(&["start", "sleep 300", "--name", "dup"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("already runs as dup") && err.contains("-f"),
        "{err}"
    );
    assert_eq!(t.list()[0]["pid"], first["pid"], "left alone");
    // Its name restarts it (smart start).
    let out = t.ok(&["start", "dup"]);
    assert!(out.contains("restarted"), "{out}");
    let list = t.list();
    assert_eq!(
        list.len(),
        1,
        "smart start does not add a second process: {list:?}"
    );
    assert_ne!(list[0]["pid"], first["pid"]);

    t.ok(&["start", "sleep 300", "--name", "dup", "-f"]);
    let list = t.list();
    assert_eq!(list.len(), 2, "--force adds a duplicate");
    assert_eq!(list[1]["instance"], 1);
}

#[test]
fn instances_get_their_own_ids_and_instance_indexes() {
    let t = TestHome::new();
    let script = t.script("inst.sh", "#!/bin/sh\necho \"instance=$PMTUI_INSTANCE node=$NODE_APP_INSTANCE id=$pm_id\"\nexec sleep 300\n");
    t.ok(&[
        "start",
        script.to_str().expect("utf8"),
        "--name",
        "srv",
        "-i",
        "2",
    ]);
    let list = t.list();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["instance"], 0);
    assert_eq!(list[1]["instance"], 1);
    assert_ne!(list[0]["id"], list[1]["id"]);
    // Each instance logs to its own file.
    let found = wait_until("per-instance logs", || {
        let a = std::fs::read_to_string(t.home().join("logs/srv-0-out.log")).ok()?;
        let b = std::fs::read_to_string(t.home().join("logs/srv-1-out.log")).ok()?;
        (a.contains("instance=0 node=0 id=0") && b.contains("instance=1 node=1 id=1")).then_some(())
    });
    assert!(found.is_some());
}

#[test]
fn children_get_the_callers_environment_pm2_variables_and_args() {
    let t = TestHome::new();
    let script = t.script(
        "env.py",
        "import os, sys\nprint('ARGS', sys.argv[1:])\nfor k in ['MY_VAR','EXTRA','PMTUI_ID','PMTUI_NAME','PMTUI_INSTANCE','pm_id','name','NODE_APP_INSTANCE','PYTHONUNBUFFERED']:\n    print(k, os.environ.get(k))\nimport time\ntime.sleep(300)\n",
    );
    let out = t
        .cmd()
        .env("MY_VAR", "from-shell")
        .args([
            "start",
            script.to_str().expect("utf8"),
            "--name",
            "api",
            "--env",
            "EXTRA=1",
            "--",
            "--port",
            "3000",
        ])
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log = t.home().join("logs/api-out.log");
    let text = wait_until("env printed", || {
        std::fs::read_to_string(&log)
            .ok()
            .filter(|s| s.contains("PYTHONUNBUFFERED"))
    })
    .expect("the script printed its environment");
    for expected in [
        "ARGS ['--port', '3000']",
        "MY_VAR from-shell",
        "EXTRA 1",
        "PMTUI_ID 0",
        "PMTUI_NAME api",
        "PMTUI_INSTANCE 0",
        "pm_id 0",
        "name api",
        "NODE_APP_INSTANCE 0",
        "PYTHONUNBUFFERED 1",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    // `env` shows the same environment, and the daemon's own environment did not leak in.
    let env = t.ok(&["env", "api"]);
    assert!(env.contains("MY_VAR=from-shell"));
    assert!(env.contains("PMTUI_NAME=api"));

    // The environment is kept on restart unless --update-env.
    t.cmd()
        .env("MY_VAR", "changed")
        .args(["restart", "api"])
        .output()
        .expect("restart");
    let env = t.ok(&["env", "api"]);
    assert!(
        env.contains("MY_VAR=from-shell"),
        "kept without --update-env"
    );
    let out = t
        .cmd()
        .env("MY_VAR", "changed")
        .args(["restart", "api", "--update-env"])
        .output()
        .expect("restart");
    assert!(out.status.success());
    let env = t.ok(&["env", "api"]);
    assert!(env.contains("MY_VAR=changed"), "updated with --update-env");
}

#[test]
fn a_crashing_child_is_restarted_and_counted() {
    let t = TestHome::new();
    t.ok(&["start", "sleep 0.3; exit 3", "--name", "crashy"]);
    let p = t.wait_for("crashy", "restarts >= 2", |p| {
        p["restarts"].as_i64() >= Some(2)
    });
    assert_eq!(p["exit_code"], 3, "{p}");
    let detail: serde_json::Value =
        serde_json::from_str(&t.ok(&["describe", "crashy", "--json"])).expect("json");
    let history = detail[0]["history"].as_array().expect("history");
    assert!(
        history
            .iter()
            .any(|r| r["exit_code"] == 3 && r["outcome"] == "restart"),
        "{history:?}"
    );
}

#[test]
fn bad_input_gets_clear_errors() {
    let t = TestHome::new();
    let cases: [(&[&str], &str); 5] = [
        (&["start", "sleep 300", "--env", "production"], "KEY=VALUE"),
        (&["start", "./does-not-exist.py"], "not found"),
        (&["start", "no-such-command-xyz"], "not found"),
        (
            &["start", "app.py", "--interpreter", "no-such-interp-xyz"],
            "not installed",
        ),
        (&["signal", "SIGNOPE", "all"], "signal"),
    ];
    std::fs::write(t.path("app.py"), "print(1)\n").expect("write");
    t.ok(&["start", "sleep 300", "--name", "held"]);
    for (args, needle) in cases {
        let out = t.run(args);
        assert_eq!(out.status.code(), Some(1), "{args:?} fails");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(needle),
            "{args:?}: {err:?} should mention {needle:?}"
        );
    }
    // Nothing was added by the failures.
    assert_eq!(t.list().len(), 1);
}

#[test]
fn signal_reaches_the_process() {
    let t = TestHome::new();
    let script = t.script(
        "sig.py",
        "import signal, time, sys\nsignal.signal(signal.SIGUSR1, lambda *a: print('got usr1', flush=True))\nprint('ready', flush=True)\nwhile True: time.sleep(0.1)\n",
    );
    t.ok(&["start", script.to_str().expect("utf8"), "--name", "sig"]);
    let log = t.home().join("logs/sig-out.log");
    wait_until("ready", || {
        std::fs::read_to_string(&log)
            .ok()
            .filter(|s| s.contains("ready"))
    })
    .expect("ready");
    t.ok(&["signal", "SIGUSR1", "sig"]);
    wait_until("usr1 handled", || {
        std::fs::read_to_string(&log)
            .ok()
            .filter(|s| s.contains("got usr1"))
    })
    .expect("the signal arrived");
}

#[test]
fn reset_zeroes_restarts() {
    let t = TestHome::new();
    t.ok(&["start", "sleep 300", "--name", "r"]);
    t.ok(&["restart", "r"]);
    t.wait_for("r", "restarted", |p| p["restarts"].as_i64() >= Some(1));
    t.ok(&["reset", "r"]);
    t.wait_for("r", "reset", |p| p["restarts"] == 0);
}
