//! Ecosystem files as pm2 users write and drive them (pm2's `process-file/` e2e scripts):
//! command-line options override the apps (`start eco.json --only a -i 2`); an unknown key
//! is a warning with file:line and a did-you-mean (an error only when it explains one, and
//! with `--strict`); `start <file>` leaves unchanged running apps alone and `--restart` (or
//! `restart <file>`) restarts each exactly once; `deploy.<name>.env` feeds `--env <name>`;
//! `node_args` given again replace the old ones; `resurrect` falls back to the backup dump.

mod common;
use common::{TestHome, wait_until};
use serde_json::Value;

fn describe(t: &TestHome, target: &str) -> Value {
    let out = t.ok(&["describe", target, "--json"]);
    let all: Vec<Value> = serde_json::from_str(&out).expect("describe --json");
    all.into_iter().next().expect("one process")
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn restarts(t: &TestHome) -> Vec<(String, u64)> {
    t.list()
        .into_iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap_or_default().to_string(),
                p["restarts"].as_u64().unwrap_or(u64::MAX),
            )
        })
        .collect()
}

#[test]
fn command_line_options_override_the_apps_of_a_file() {
    let t = TestHome::new();
    std::fs::write(
        t.path("eco.json"),
        r#"{"apps": [
            {"name": "a", "script": "sleep 300", "kill_timeout": 3000},
            {"name": "b", "script": "sleep 300"}
        ]}"#,
    )
    .expect("write");
    t.ok(&[
        "start",
        "eco.json",
        "-i",
        "2",
        "--only",
        "a",
        "--kill-timeout",
        "700",
    ]);
    let rows: Vec<Value> = t.list();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(rows.iter().all(|p| p["name"] == "a"));
    assert_eq!(describe(&t, "a")["spec"]["kill_timeout_ms"], 700);
    // --name and --cwd belong to the file.
    let out = t.run(&["start", "eco.json", "--name", "x"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("set `name` in the file"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn unknown_keys_are_warnings_unless_they_explain_an_error_or_strict() {
    let t = TestHome::new();
    std::fs::write(
        t.path("eco.json"),
        "{\"apps\": [{\"name\": \"a\", \"script\": \"sleep 300\",\n  \"instnaces\": 2, \"my_tool\": {\"x\": 1}}]}",
    )
    .expect("write");
    let out = t.run(&["start", "eco.json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("eco.json:2:3: warning: apps[0].instnaces: unknown field \"instnaces\" ignored; did you mean \"instances\"?"),
        "{err}"
    );
    assert!(err.contains("apps[0].my_tool"), "{err}");
    t.wait_status("a", "online");
    assert_eq!(t.list().len(), 1, "the unknown key did nothing");

    // --strict: every warning is an error, nothing changes.
    t.ok(&["delete", "all"]);
    let out = t.run(&["start", "eco.json", "--strict"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("instnaces") && stderr(&out).contains("--strict"),
        "{}",
        stderr(&out)
    );
    assert!(t.list().is_empty());

    // A typo that explains a missing `script` fails the file, naming the typo.
    std::fs::write(
        t.path("typo.yaml"),
        "apps:\n  - name: b\n    scirpt: sleep 300\n",
    )
    .expect("write");
    let out = t.run(&["start", "typo.yaml"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains(
            "typo.yaml:3:5: apps[0].scirpt: unknown field \"scirpt\"; did you mean \"script\"?"
        ),
        "{err}"
    );
    assert!(err.contains("nothing was started"), "{err}");
    assert!(t.list().is_empty());
}

#[test]
fn start_file_leaves_running_apps_and_restart_restarts_each_exactly_once() {
    let t = TestHome::new();
    std::fs::write(
        t.path("apps.yaml"),
        "apps:\n  - name: one\n    script: sleep 300\n  - name: two\n    script: sleep 300\n    instances: 2\n  - name: three\n    script: sleep 300\n",
    )
    .expect("write");
    t.ok(&["start", "apps.yaml"]);
    for name in ["one", "two", "three"] {
        t.wait_status(name, "online");
    }
    // The idempotent apply: running, unchanged apps are left alone, and it says how to
    // restart them the pm2 way.
    let out = t.ok(&["start", "apps.yaml"]);
    assert!(
        out.contains("unchanged one") && out.contains("pmtui restart apps.yaml"),
        "{out}"
    );
    assert!(
        restarts(&t).iter().all(|(_, n)| *n == 0),
        "{:?}",
        restarts(&t)
    );
    // The pm2 way, one flag away: each process restarted once.
    t.ok(&["start", "apps.yaml", "--restart"]);
    assert!(
        restarts(&t).iter().all(|(_, n)| *n == 1),
        "{:?}",
        restarts(&t)
    );
    t.ok(&["restart", "apps.yaml"]);
    assert!(
        restarts(&t).iter().all(|(_, n)| *n == 2),
        "{:?}",
        restarts(&t)
    );
    t.ok(&["reload", "apps.yaml"]);
    assert!(
        restarts(&t).iter().all(|(_, n)| *n == 3),
        "{:?}",
        restarts(&t)
    );
    assert_eq!(t.list().len(), 4);
    // `restart <file>` when nothing runs starts them (pm2: restart = start), uncounted.
    t.ok(&["stop", "apps.yaml"]);
    t.ok(&["restart", "apps.yaml"]);
    for name in ["one", "two", "three"] {
        t.wait_status(name, "online");
    }
    assert!(
        restarts(&t).iter().all(|(_, n)| *n == 3),
        "{:?}",
        restarts(&t)
    );
}

#[test]
fn deploy_env_blocks_feed_the_env_name() {
    let t = TestHome::new();
    std::fs::write(
        t.path("eco.json"),
        r#"{"apps": [{"name": "web", "script": "sleep 300", "env": {"LEVEL": "info"}}],
           "deploy": {"production": {"user": "me", "host": "h", "ref": "origin/main",
                      "env": {"NODE_ENV": "production", "LEVEL": "deploy"}}}}"#,
    )
    .expect("write");
    let out = t.run(&["start", "eco.json", "--env", "production"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains("warning"), "{}", stderr(&out));
    let env = t.ok(&["env", "web"]);
    assert!(env.contains("NODE_ENV=production"), "{env}");
    assert!(
        env.contains("LEVEL=info"),
        "the app's env is over deploy's: {env}"
    );
}

#[test]
fn node_args_of_an_updated_file_replace_the_old_ones() {
    let t = TestHome::new();
    t.script("app.py", "import time\ntime.sleep(300)\n");
    let write = |args: &str| {
        std::fs::write(
            t.path("app.json"),
            format!(r#"{{"apps": [{{"name": "app", "script": "app.py"{args}}}]}}"#),
        )
        .expect("write");
    };
    write("");
    t.ok(&["start", "app.json"]);
    let spec = |t: &TestHome| describe(t, "app")["spec"]["interpreter_args"].clone();
    assert_eq!(spec(&t), serde_json::json!([]));
    write(r#", "node_args": "-u""#);
    t.ok(&["restart", "app.json"]);
    assert_eq!(spec(&t), serde_json::json!(["-u"]));
    t.ok(&["restart", "app.json"]);
    t.ok(&["start", "app.json"]);
    assert_eq!(spec(&t), serde_json::json!(["-u"]), "never appended");
    write(r#", "interpreter_args": ["-B"]"#);
    t.ok(&["start", "app.json"]);
    assert_eq!(spec(&t), serde_json::json!(["-B"]));
    t.wait_status("app", "online");
}

#[test]
fn resurrect_falls_back_to_the_backup_and_moves_the_broken_dump_aside() {
    let t = TestHome::new();
    t.ok(&["start", "sleep 300", "--name", "kept"]);
    t.ok(&["save"]);
    t.ok(&["start", "sleep 300", "--name", "later"]);
    t.ok(&["save"]);
    t.ok(&["kill"]);
    let dump = t.home().join("dump.json");
    std::fs::write(&dump, "{ not json").expect("break the dump");
    let out = t.ok(&["resurrect"]);
    assert!(out.contains("kept"), "{out}");
    let names: Vec<Value> = t.list().into_iter().map(|p| p["name"].clone()).collect();
    assert_eq!(names, vec!["kept"], "from dump.json.bak");
    assert!(!dump.exists(), "the broken dump is no longer in the way");
    let aside = std::fs::read_to_string(t.home().join("dump.json.broken")).expect("moved aside");
    assert_eq!(aside, "{ not json");
    // The next save does not copy a broken dump over the good backup.
    t.ok(&["save"]);
    let bak = std::fs::read_to_string(t.home().join("dump.json.bak")).expect("bak");
    assert!(bak.contains("kept"), "{bak}");
    wait_until("kept online", || {
        t.process("kept").filter(|p| p["status"] == "online")
    })
    .expect("resurrected running");
}
