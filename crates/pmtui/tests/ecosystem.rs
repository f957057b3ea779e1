//! Ecosystem files end to end: the real binary and daemon, real processes. Applying a file
//! twice changes nothing, changing one app restarts only it, `--only`/`--env`/`env_file`
//! select, a bad file starts nothing, export reads back to the same set, and a pm2
//! `ecosystem.config.js` runs.

mod common;

use common::{TestHome, pids_with, unique, wait_until};
use serde_json::Value;
use std::path::PathBuf;

/// A looping shell app whose command line carries `tag` (to find its pids).
fn looper(home: &TestHome, tag: &str) -> PathBuf {
    home.script(
        &format!("{tag}.sh"),
        &format!("#!/bin/sh\n# {tag}\nwhile :; do sleep 0.2; done\n"),
    )
}

fn pid_of(home: &TestHome, name: &str) -> i64 {
    home.wait_status(name, "online")["pid"]
        .as_i64()
        .unwrap_or_else(|| panic!("{name} has no pid"))
}

/// `describe --json` of one process.
fn describe(home: &TestHome, name: &str) -> Value {
    let out = home.ok(&["describe", name, "--json"]);
    let all: Vec<Value> = serde_json::from_str(&out).expect("describe --json");
    all.into_iter().next().expect("one process")
}

fn fail(home: &TestHome, args: &[&str]) -> String {
    let out = home.run(args);
    assert!(!out.status.success(), "pmtui {args:?} should fail");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn applying_a_file_again_changes_nothing_and_a_change_restarts_only_that_app() {
    let home = TestHome::new();
    let (ta, tb) = (unique("eco-a"), unique("eco-b"));
    looper(&home, &ta);
    looper(&home, &tb);
    let file = |b_value: &str| {
        format!(
            "apps:\n  - name: a\n    script: {ta}.sh\n  - name: b\n    script: {tb}.sh\n    env:\n      VALUE: {b_value}\n"
        )
    };
    std::fs::write(home.path("eco.yaml"), file("one")).expect("write");
    let out = home.ok(&["start", "eco.yaml"]);
    assert!(
        out.contains("started a") && out.contains("started b"),
        "{out}"
    );
    let (a1, b1) = (pid_of(&home, "a"), pid_of(&home, "b"));

    let out = home.ok(&["start", "eco.yaml"]);
    assert!(
        out.contains("unchanged a") && out.contains("unchanged b"),
        "{out}"
    );
    assert!(!out.contains("restarted"), "{out}");
    assert_eq!((pid_of(&home, "a"), pid_of(&home, "b")), (a1, b1));

    std::fs::write(home.path("eco.yaml"), file("two")).expect("write");
    let out = home.ok(&["start", "eco.yaml", "--json"]);
    let applied: Value = serde_json::from_str(&out).expect("json");
    let names = |key: &str| -> Vec<String> {
        applied[key]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|p| p["name"].as_str().unwrap_or("").to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(names("restarted"), ["b"]);
    assert_eq!(names("unchanged"), ["a"]);
    assert!(names("started").is_empty());
    assert_eq!(pid_of(&home, "a"), a1, "a was left alone");
    let b2 = pid_of(&home, "b");
    assert_ne!(b2, b1, "b restarted");
    let b = describe(&home, "b");
    assert_eq!(b["env"]["VALUE"], "two", "b runs with the new definition");
    assert_eq!(b["id"], 1, "b kept its id");
    assert!(wait_until("the old b to end", || (!common::alive(b1)).then_some(())).is_some());
    assert_eq!(pids_with(&tb).len(), 1);
}

#[test]
fn only_env_and_env_file_select_apps_and_variables() {
    let home = TestHome::new();
    let (ta, tb) = (unique("sel-a"), unique("sel-b"));
    looper(&home, &ta);
    looper(&home, &tb);
    std::fs::write(home.path("app.env"), "FROM_FILE=dotenv\nLEVEL=info\n").expect("write");
    std::fs::write(
        home.path("eco.json"),
        format!(
            r#"// comments and trailing commas, as pm2 allows
{{ "apps": [
  {{ "name": "a", "script": "{ta}.sh", "env_file": "app.env",
     "env": {{ "LEVEL": "debug" }}, "env_production": {{ "LEVEL": "error" }}, }},
  {{ "name": "b", "script": "{tb}.sh" }},
] }}
"#
        ),
    )
    .expect("write");
    let out = home.ok(&[
        "start",
        "eco.json",
        "--only",
        "a",
        "--env",
        "production",
        "--env",
        "EXTRA=1",
    ]);
    assert!(out.contains("started a") && !out.contains(" b "), "{out}");
    home.wait_status("a", "online");
    assert!(home.process("b").is_none(), "--only a starts only a");
    let a = describe(&home, "a");
    assert_eq!(a["env"]["LEVEL"], "error", "env_production over env");
    assert_eq!(a["env"]["FROM_FILE"], "dotenv");
    assert_eq!(a["env"]["EXTRA"], "1");

    // The other verbs act on the file's apps, --only included.
    home.ok(&["start", "eco.json"]);
    home.wait_status("b", "online");
    home.ok(&["stop", "eco.json", "--only", "b"]);
    home.wait_status("b", "stopped");
    assert_eq!(home.process("a").expect("a")["status"], "online");
    let before = pid_of(&home, "a");
    home.ok(&["reload", "eco.json"]);
    assert_ne!(
        pid_of(&home, "a"),
        before,
        "reload restarts even unchanged apps"
    );
    home.wait_status("b", "online");
    home.ok(&["delete", "eco.json"]);
    assert!(home.list().is_empty());
    assert!(
        wait_until("the loops to end", || (pids_with(&ta).is_empty()
            && pids_with(&tb).is_empty())
        .then_some(()))
        .is_some()
    );
}

#[test]
fn a_file_with_an_error_starts_nothing_and_points_at_the_line() {
    let home = TestHome::new();
    let tag = unique("bad");
    looper(&home, &tag);
    std::fs::write(
        home.path("eco.toml"),
        format!("[[apps]]\nname = \"good\"\nscript = \"{tag}.sh\"\n\n[[apps]]\nname = \"typo\"\nscript = \"{tag}.sh\"\nmax_memory_restrat = \"1G\"\ninstances = \"lots\"\n"),
    )
    .expect("write");
    let err = fail(&home, &["start", "eco.toml"]);
    assert!(
        err.contains("eco.toml:8:1: apps[1].max_memory_restrat: warning: unknown field \"max_memory_restrat\" ignored; did you mean \"max_memory_restart\"?"),
        "{err}"
    );
    assert!(
        err.contains("eco.toml:9:13: apps[1].instances: expected a number of instances or \"max\", found the string \"lots\""),
        "{err}"
    );
    assert!(err.contains("nothing was started"), "{err}");
    let err = fail(&home, &["start", "eco.toml", "--name", "x"]);
    assert!(
        err.contains("--name x: an ecosystem file names its apps"),
        "{err}"
    );
    assert!(home.list().is_empty(), "nothing started from a bad file");
    assert!(pids_with(&tag).is_empty());
}

#[test]
fn export_then_start_gives_back_the_same_set() {
    let home = TestHome::new();
    let (ta, tb) = (unique("exp-a"), unique("exp-b"));
    looper(&home, &ta);
    looper(&home, &tb);
    std::fs::write(
        home.path("eco.yaml"),
        format!(
            "apps:\n  - name: a\n    script: {ta}.sh\n    args: [x, \"y z\"]\n    instances: 2\n    env: {{ COLOR: blue }}\n    kill_timeout: 2s\n    stop_signal: SIGINT\n    namespace: grp\n    restart_policy: {{ mode: on-failure, backoff: {{ type: exponential, delay: 100ms }} }}\n  - name: b\n    script: \"sh -c 'while :; do sleep 0.2; done # {tb}'\"\n    max_memory_restart: 500M\n"
        ),
    )
    .expect("write");
    home.ok(&["start", "eco.yaml"]);
    home.wait_status("b", "online");
    let specs = |home: &TestHome| -> Vec<Value> {
        let out = home.ok(&["describe", "all", "--json"]);
        let all: Vec<Value> = serde_json::from_str(&out).expect("describe");
        all.into_iter()
            .map(|d| {
                let mut spec = d["spec"].clone();
                // The inherited shell is not part of a definition (see `same_definition`).
                spec["env"] = Value::Null;
                spec
            })
            .collect()
    };
    let before = specs(&home);
    assert_eq!(before.len(), 3);
    for format in ["json", "yaml", "toml"] {
        let file = format!("exported.{format}");
        home.ok(&["export", &file]);
        let out = home.ok(&["start", &file]);
        assert!(
            !out.contains("restarted") && !out.contains("started"),
            "{format}: {out}"
        );
    }
    home.ok(&["delete", "all"]);
    assert!(home.list().is_empty());
    let out = home.ok(&["start", "exported.toml"]);
    assert!(
        out.contains("started a") && out.contains("started b"),
        "{out}"
    );
    home.wait_status("b", "online");
    assert_eq!(
        specs(&home),
        before,
        "the exported file starts the same set"
    );
    assert!(!pids_with(&tb).is_empty(), "b runs its loop");
    let stdout = home.ok(&["export", "--format", "yaml"]);
    assert!(stdout.starts_with("apps:\n- name: a\n"), "{stdout}");
}

#[test]
fn a_pm2_ecosystem_config_js_starts() {
    let home = TestHome::new();
    let tag = unique("pm2js");
    std::fs::write(
        home.path("app.js"),
        format!("// {tag}\nconsole.log('NODE_ENV=' + process.env.NODE_ENV);\nsetInterval(() => {{}}, 1000);\n"),
    )
    .expect("write");
    // pm2's documentation example (Environment Variables).
    std::fs::write(
        home.path("ecosystem.config.js"),
        "module.exports = {\n  apps : [{\n    name   : \"app1\",\n    script : \"./app.js\",\n    env_production: {\n       NODE_ENV: \"production\"\n    },\n    env_development: {\n       NODE_ENV: \"development\"\n    }\n  }]\n}\n",
    )
    .expect("write");
    home.ok(&["start", "ecosystem.config.js", "--env", "production"]);
    home.wait_status("app1", "online");
    let found = wait_until("the app's first line", || {
        let out = home.ok(&["logs", "app1", "--raw", "--lines", "5"]);
        out.contains("NODE_ENV=production").then_some(())
    });
    assert!(found.is_some(), "the env_production block reached the app");
}

#[test]
fn a_config_js_that_prints_loads_its_exports_and_its_output_reaches_stderr() {
    let home = TestHome::new();
    // It logs, prints JSON that looks like a config, and writes to stderr: none of it is
    // taken as the file's value.
    std::fs::write(
        home.path("ecosystem.config.js"),
        "console.log('loading the config');\n\
         console.log(JSON.stringify({apps: [{name: 'decoy', script: 'sleep 1'}]}));\n\
         console.error('a note on stderr');\n\
         module.exports = {\n  apps: [{ name: 'real', script: 'sleep', args: '300' }]\n};\n",
    )
    .expect("write");
    let out = home.run(&["start", "ecosystem.config.js", "--json"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stderr.contains("loading the config"), "{stderr}");
    assert!(stderr.contains("a note on stderr"), "{stderr}");
    assert!(
        stderr.contains("\"decoy\""),
        "what it printed is shown: {stderr}"
    );
    // stdout carries only pmtui's JSON answer.
    let answer: serde_json::Value = serde_json::from_str(&stdout).expect("stdout is JSON");
    assert!(answer.to_string().contains("\"real\""), "{answer}");
    let names: Vec<String> = home
        .list()
        .iter()
        .filter_map(|p| p["name"].as_str().map(String::from))
        .collect();
    assert_eq!(names, ["real"], "the exports are used, not what it printed");
}

#[test]
fn config_flag_starts_the_file_before_the_ui() {
    let home = TestHome::new();
    let tag = unique("cfg");
    looper(&home, &tag);
    std::fs::write(
        home.path("one.yaml"),
        format!("name: solo\nscript: {tag}.sh\n"),
    )
    .expect("write");
    let out = home.run(&["--config", "one.yaml"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("started solo"), "{stdout}");
    home.wait_status("solo", "online");
}

#[test]
fn daemon_settings_apply_and_a_bad_settings_file_is_reported_not_fatal() {
    let home = TestHome::new();
    std::fs::write(
        home.path("config.toml"),
        "kill_timeout = \"4s\"\nlog_max_files = \"many\"\n",
    )
    .expect("write");
    let out = home.run(&["ping"]);
    assert!(out.status.success(), "the daemon runs with a bad key");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("config.toml:2:17: log_max_files: expected a whole number"),
        "{stderr}"
    );
    let tag = unique("kt");
    looper(&home, &tag);
    home.ok(&["start", &format!("{tag}.sh"), "--name", "k"]);
    assert_eq!(describe(&home, "k")["spec"]["kill_timeout_ms"], 4000);
    let log = std::fs::read_to_string(home.path("daemon.log")).unwrap_or_default();
    assert!(
        log.contains("config.toml:2:17"),
        "the daemon log names the line: {log}"
    );
}

#[test]
fn changing_instances_scales_as_pm2_does() {
    let home = TestHome::new();
    let tag = unique("scale");
    looper(&home, &tag);
    let write = |n: u32| {
        std::fs::write(
            home.path("eco.yaml"),
            format!("name: s\nscript: {tag}.sh\ninstances: {n}\n"),
        )
        .expect("write")
    };
    let rows = |home: &TestHome| -> Vec<(i64, i64)> {
        home.list()
            .iter()
            .filter(|p| p["name"] == "s")
            .filter_map(|p| Some((p["id"].as_i64()?, p["pid"].as_i64()?)))
            .collect()
    };
    write(2);
    home.ok(&["start", "eco.yaml"]);
    let two = wait_until("two online", || {
        let r = rows(&home);
        (r.len() == 2).then_some(r)
    })
    .expect("two instances");
    assert_eq!(two.iter().map(|r| r.0).collect::<Vec<_>>(), [0, 1]);
    write(3);
    let out = home.ok(&["start", "eco.yaml"]);
    // Only the count changed: one more instance, the two that run are left alone.
    assert!(out.contains("started s (id 2, online)"), "{out}");
    assert!(out.contains("unchanged s (id 0)"), "{out}");
    assert!(!out.contains("restarted"), "{out}");
    let three = rows(&home);
    assert_eq!(&three[..2], &two[..], "ids 0 and 1 kept their pids");
    write(1);
    home.ok(&["start", "eco.yaml"]);
    // pm2's order: the oldest ids go.
    assert_eq!(rows(&home).iter().map(|r| r.0).collect::<Vec<_>>(), [2]);
    home.wait_status("s", "online");
    let one = wait_until("one loop left", || {
        (pids_with(&tag).len() == 1).then_some(())
    });
    assert!(
        one.is_some(),
        "the extra instances were stopped: {:?}",
        pids_with(&tag)
    );
}
