//! pm2's smart start against a real daemon: `pmtui start <name|id|namespace|all>` restarts
//! what exists, options given to such a start are applied to the stored definition, a
//! different script under a taken name is refused, and `--update-env` keeps the variables
//! the user set.

mod common;
use common::{TestHome, wait_until};
use serde_json::Value;

fn pid(t: &TestHome, name: &str) -> i64 {
    t.wait_status(name, "online")["pid"]
        .as_i64()
        .expect("an online process has a pid")
}

/// Waits for `name` to be online under a pid other than `old`.
fn new_pid(t: &TestHome, name: &str, old: i64) -> i64 {
    t.wait_for(name, "online with a new pid", |p| {
        p["status"] == "online" && p["pid"].as_i64().is_some_and(|p| p != old)
    })["pid"]
        .as_i64()
        .expect("pid")
}

#[test]
fn a_name_id_namespace_or_all_given_to_start_restarts_what_exists() {
    let t = TestHome::new();
    t.ok(&[
        "start",
        "sleep 300",
        "--name",
        "web",
        "--namespace",
        "front",
    ]);
    t.ok(&["start", "sleep 300", "--name", "job"]);
    let web = pid(&t, "web");

    let out = t.ok(&["start", "web"]);
    assert!(out.contains("restarted web"), "{out}");
    let web = new_pid(&t, "web", web);

    let id = t.process("web").expect("web")["id"].to_string();
    t.ok(&["start", &id]);
    let web = new_pid(&t, "web", web);

    t.ok(&["start", "front"]);
    let web = new_pid(&t, "web", web);

    // A stopped process is started again by its name.
    t.ok(&["stop", "job"]);
    t.wait_status("job", "stopped");
    t.ok(&["start", "job"]);
    let job = pid(&t, "job");

    let out = t.ok(&["start", "all", "--json"]);
    let reply: Value = serde_json::from_str(&out).expect("start --json is JSON");
    assert_eq!(
        reply["restarted"].as_array().map(Vec::len),
        Some(2),
        "{reply}"
    );
    new_pid(&t, "web", web);
    new_pid(&t, "job", job);
    assert_eq!(t.list().len(), 2, "nothing was added");
}

#[test]
fn options_given_to_a_smart_start_are_applied() {
    let t = TestHome::new();
    let script = t.script(
        "args.py",
        "import os, sys, time\nprint('ARGS', sys.argv[1:], 'LEVEL', os.environ.get('LEVEL'), flush=True)\ntime.sleep(300)\n",
    );
    let script = script.to_str().expect("utf8");
    t.ok(&["start", script, "--name", "api", "--", "--port", "3000"]);
    let first = pid(&t, "api");

    // Starting the running script again is refused, as pm2 does, options or not...
    let out = t.run(&["start", script, "--name", "api", "--kill-timeout", "700"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    // ... and `restart` applies options, as pm2's does.
    let out = t.ok(&[
        "restart",
        "api",
        "--env",
        "LEVEL=debug",
        "--kill-timeout",
        "700",
        "--max-restarts",
        "3",
        "--",
        "--port",
        "4000",
    ]);
    assert!(out.contains("restarted api"), "{out}");
    new_pid(&t, "api", first);
    let d = t.describe("api");
    let spec = &d["spec"];
    assert_eq!(
        spec["args"],
        serde_json::json!(["--port", "4000"]),
        "{spec}"
    );
    assert_eq!(spec["kill_timeout_ms"], 700, "{spec}");
    assert_eq!(spec["restart"]["max_restarts"], 3, "{spec}");
    assert_eq!(spec["config_env"]["LEVEL"], "debug", "{spec}");
    let log = t.home().join("logs/api-out.log");
    wait_until("the new run's output", || {
        std::fs::read_to_string(&log)
            .ok()
            .filter(|s| s.contains("ARGS ['--port', '4000'] LEVEL debug"))
    })
    .expect("the restarted process runs with the new arguments and variable");

    // By name, an option alone changes just that option; the rest is kept.
    t.ok(&["start", "api", "--stop-signal", "SIGINT"]);
    let spec = t.describe("api")["spec"].clone();
    assert_eq!(spec["stop_signal"], "SIGINT", "{spec}");
    assert_eq!(spec["kill_timeout_ms"], 700, "{spec}");
    assert_eq!(
        spec["args"],
        serde_json::json!(["--port", "4000"]),
        "{spec}"
    );

    // -i alone scales the name (pm2's scale: what runs is left alone), and says what it
    // added and removed.
    let running = pid(&t, "api");
    let out = t.ok(&["start", "api", "-i", "2"]);
    assert!(
        out.contains("started api") && !out.contains("restarted api"),
        "{out}"
    );
    assert_eq!(
        pid(&t, "api"),
        running,
        "the running instance was not restarted"
    );
    let rows: Vec<Value> = t
        .list()
        .into_iter()
        .filter(|p| p["name"] == "api")
        .collect();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(t.list().len(), 2);
    let out = t.ok(&["start", "api", "-i", "1"]);
    assert!(out.contains("deleted api"), "{out}");
    assert_eq!(t.list().len(), 1);
}

#[test]
fn a_taken_name_with_another_script_is_refused() {
    let t = TestHome::new();
    let one = t.script("one.sh", "#!/bin/sh\nexec sleep 300\n");
    let two = t.script("two.sh", "#!/bin/sh\nexec sleep 300\n");
    t.ok(&["start", one.to_str().expect("utf8"), "--name", "svc"]);
    let before = pid(&t, "svc");

    let out = t.run(&["start", two.to_str().expect("utf8"), "--name", "svc"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("svc") && err.contains("--force") && err.contains("pmtui delete svc"),
        "says what to do: {err}"
    );

    let list = t.list();
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(
        list[0]["pid"].as_i64(),
        Some(before),
        "left running as it was"
    );

    // --force still starts a duplicate of another script.
    t.ok(&["start", two.to_str().expect("utf8"), "--name", "svc", "-f"]);
    assert_eq!(t.list().len(), 2);
}

#[test]
fn update_env_takes_the_new_shell_but_keeps_the_variables_the_user_set() {
    let t = TestHome::new();
    t.ok(&["start", "sleep 300", "--name", "e", "--env", "LEVEL=debug"]);
    pid(&t, "e");
    for verb in [["restart", "e"], ["start", "e"]] {
        let out = t
            .cmd()
            .env("FROM_SHELL", verb[0])
            .args([verb[0], verb[1], "--update-env"])
            .output()
            .expect("run pmtui");
        assert!(out.status.success(), "{out:?}");
        let env = t.ok(&["env", "e"]);
        assert!(
            env.contains(&format!("FROM_SHELL={}", verb[0])),
            "{verb:?}: the new shell"
        );
        assert!(env.contains("LEVEL=debug"), "{verb:?} keeps --env: {env}");
    }
}
