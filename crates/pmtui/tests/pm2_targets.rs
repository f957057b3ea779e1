//! Targets as pm2 users type them (pm2's `cli-actions-2.sh`): a script's file name
//! (`stop echo.sh`, `delete app/echo.sh`) reaches the processes running that file; a
//! numeric name works, a number being tried as an id first and then as a name; `pid` prints
//! the pids of running processes for scripts.

mod common;
use common::TestHome;
use serde_json::Value;

fn status_of(t: &TestHome, id: u64) -> String {
    t.list()
        .into_iter()
        .find(|p| p["id"] == id)
        .map(|p| p["status"].as_str().unwrap_or_default().to_string())
        .unwrap_or_default()
}

#[test]
fn a_script_file_name_targets_the_processes_running_it() {
    let t = TestHome::new();
    let app = t.path("app");
    std::fs::create_dir_all(&app).expect("mkdir");
    t.script("app/echo.sh", "#!/bin/sh\nexec sleep 300\n");
    t.script("app/other.sh", "#!/bin/sh\nexec sleep 300\n");
    let run = |args: &[&str]| {
        let out = t.cmd().current_dir(&app).args(args).output().expect("run");
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&["start", "echo.sh"]);
    run(&["start", "echo.sh", "--name", "echo-2", "-f"]);
    run(&["start", "other.sh"]);
    t.wait_status("other", "online");

    run(&["stop", "echo.sh"]);
    assert_eq!(status_of(&t, 0), "stopped");
    assert_eq!(
        status_of(&t, 1),
        "stopped",
        "every process running the file"
    );
    assert_eq!(status_of(&t, 2), "online", "another script is left alone");

    run(&["restart", "./echo.sh"]);
    t.wait_status("echo", "online");
    t.wait_status("echo-2", "online");

    // From another directory, the path relative to it; `describe` too.
    let described = t.ok(&["describe", "app/other.sh", "--json"]);
    let described: Vec<Value> = serde_json::from_str(&described).expect("json");
    assert_eq!(described.len(), 1);
    assert_eq!(described[0]["name"], "other");
    t.ok(&["delete", "app/echo.sh"]);
    let names: Vec<Value> = t.list().into_iter().map(|p| p["name"].clone()).collect();
    assert_eq!(names, vec!["other"], "delete by script removed both");

    // A file that no process runs is an unknown target, named in the error.
    let out = t
        .cmd()
        .current_dir(&app)
        .args(["stop", "echo.sh"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("echo.sh"));
}

#[test]
fn a_process_named_like_a_file_is_reached_by_its_name() {
    let t = TestHome::new();
    t.script("echo.sh", "#!/bin/sh\nexec sleep 300\n");
    t.ok(&["start", "echo.sh", "--name", "by-file"]);
    t.ok(&["start", "sleep 300", "--name", "echo.sh"]);
    t.ok(&["stop", "echo.sh"]);
    t.wait_status("echo.sh", "stopped");
    assert_eq!(
        t.process("by-file").expect("by-file")["status"],
        "online",
        "the name wins over the file"
    );
}

#[test]
fn numeric_names_work_and_numbers_are_ids_first() {
    let t = TestHome::new();
    // As pm2's "Actions on app name as number (#1937)".
    t.ok(&["start", "sleep 300", "--name", "455"]);
    let row = t.wait_status("455", "online");
    assert_eq!(row["id"], 0);
    t.ok(&["restart", "455"]);
    t.wait_for("455", "restarts 1", |p| p["restarts"] == 1);
    t.ok(&["restart", "0"]);
    t.wait_for("455", "restarts 2", |p| p["restarts"] == 2);
    t.ok(&["stop", "455"]);
    t.wait_status("455", "stopped");
    t.ok(&["delete", "455"]);
    assert!(t.list().is_empty());

    // id 0 is `a`, id 1 is named "0": `0` is the id.
    t.ok(&["start", "sleep 300", "--name", "a"]);
    t.ok(&["start", "sleep 300", "--name", "0"]);
    t.ok(&["stop", "0"]);
    assert_eq!(status_of(&t, 0), "stopped", "the id comes first");
    assert_eq!(status_of(&t, 1), "online");
    // Once no process has id 0, `0` is the name.
    t.ok(&["delete", "a"]);
    t.ok(&["stop", "0"]);
    t.wait_status("0", "stopped");
    // A numeric namespace too.
    t.ok(&["start", "sleep 300", "--name", "n", "--namespace", "2024"]);
    t.ok(&["stop", "2024"]);
    t.wait_status("n", "stopped");
}

#[test]
fn pid_prints_the_pids_of_running_processes() {
    let t = TestHome::new();
    t.ok(&["start", "sleep 300", "--name", "one"]);
    t.ok(&["start", "sleep 300", "--name", "two", "-i", "2"]);
    t.ok(&["start", "sleep 300", "--name", "idle"]);
    t.ok(&["stop", "idle"]);
    let pids_of = |name: &str| -> Vec<String> {
        let mut pids: Vec<String> = t
            .list()
            .into_iter()
            .filter(|p| p["name"] == name)
            .filter_map(|p| p["pid"].as_i64().map(|n| n.to_string()))
            .collect();
        pids.sort();
        pids
    };
    let lines = |out: String| -> Vec<String> {
        let mut l: Vec<String> = out.lines().map(str::to_string).collect();
        l.sort();
        l
    };
    assert_eq!(lines(t.ok(&["pid", "one"])), pids_of("one"));
    assert_eq!(lines(t.ok(&["pid", "two"])).len(), 2);
    assert_eq!(lines(t.ok(&["pid", "two"])), pids_of("two"));
    assert_eq!(t.ok(&["pid", "idle"]), "", "a stopped process has no pid");
    assert_eq!(lines(t.ok(&["pid"])).len(), 3, "every running process");
    let json: Vec<Value> = serde_json::from_str(&t.ok(&["pid", "idle", "--json"])).expect("json");
    assert_eq!(json[0]["name"], "idle");
    assert!(json[0]["pid"].is_null());
    let out = t.run(&["pid", "ghost"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("ghost"));
}
