//! File watching with real files and processes: an edit restarts the app once, with the
//! changed path in the history; a burst gives one restart; an editor's save by rename
//! counts; a file in a folder made after the start counts; node_modules, *.log and what
//! .gitignore names do not; a save that makes the app fail at once is not looped (the
//! next change revives it); `--no-watch`, `watch off` and `stop` end the watch (the
//! daemon's inotify watches go with it); several instances share one watch per folder;
//! the inotify limit is a clear error, not a partial watch.

mod common;
use common::{TestHome, wait_until};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The app: prints a line, then sleeps. Lives in `<home>/app/src/app.py`.
const APP: &str = "import time\nprint('up', flush=True)\ntime.sleep(600)\n";

/// Makes `<home>/app` with `src/app.py`; returns the app folder.
fn app_dir(t: &TestHome) -> PathBuf {
    let app = t.path("app");
    std::fs::create_dir_all(app.join("src")).expect("mkdir");
    std::fs::write(app.join("src/app.py"), APP).expect("write");
    app
}

/// Starts `src/app.py` as `name`, working (and watching) in `app`, with `extra` flags.
fn start(t: &TestHome, name: &str, app: &Path, extra: &[&str]) -> Value {
    let script = app.join("src/app.py");
    let mut args = vec![
        "start",
        script.to_str().expect("utf8"),
        "--name",
        name,
        "--cwd",
        app.to_str().expect("utf8"),
    ];
    args.extend_from_slice(extra);
    if !extra.iter().any(|a| a.starts_with("--watch")) {
        args.push("--watch");
    }
    t.ok(&args);
    t.wait_status(name, "online")
}

/// The history records with reason `watch`.
fn watch_records(t: &TestHome, name: &str) -> Vec<Value> {
    t.describe(name)["history"]
        .as_array()
        .map(|h| {
            h.iter()
                .filter(|r| r["reason"] == "watch")
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

/// Waits until the current run of `name` has been up for 2 s: longer than the 500 ms
/// debounce, so any restart a change would have caused has happened by then.
fn settled(t: &TestHome, name: &str) -> Value {
    t.wait_for(name, "up for 2 s", |p| {
        p["status"] == "online" && p["uptime_ms"].as_u64().is_some_and(|u| u >= 2000)
    })
}

/// The number of inotify watches the daemon holds (0 without an inotify instance).
fn daemon_watches(t: &TestHome) -> usize {
    let pid = t.daemon_pid().expect("daemon pid");
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return 0;
    };
    fds.flatten()
        .filter(|fd| {
            std::fs::read_link(fd.path()).is_ok_and(|l| l.to_string_lossy().contains("inotify"))
        })
        .map(|fd| {
            let info = format!("/proc/{pid}/fdinfo/{}", fd.file_name().to_string_lossy());
            std::fs::read_to_string(info)
                .map(|s| s.lines().filter(|l| l.starts_with("inotify wd:")).count())
                .unwrap_or(0)
        })
        .sum()
}

#[test]
fn an_edit_restarts_once_naming_the_changed_file() {
    let t = TestHome::new();
    let app = app_dir(&t);
    let p = start(&t, "edit", &app, &[]);
    let root = app.canonicalize().expect("canonical").display().to_string();
    assert_eq!(p["watch"], serde_json::json!([root]), "{p}");
    assert_eq!(p["watch_trigger"], Value::Null, "{p}");
    let first = p["pid"].clone();

    std::fs::write(app.join("src/app.py"), format!("{APP}# edited\n")).expect("edit");
    let p = t.wait_for("edit", "restarted by the edit", |p| p["restarts"] == 1);
    assert_eq!(p["watch_trigger"]["path"], "src/app.py", "{p}");
    let p = settled(&t, "edit");
    assert_eq!(p["restarts"], 1, "one edit, one restart: {p}");
    assert_ne!(p["pid"], first);
    let records = watch_records(&t, "edit");
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0]["detail"], "src/app.py changed");
    assert_eq!(records[0]["outcome"], "restart");
    let human = t.ok(&["describe", "edit"]);
    assert!(human.contains("watch: src/app.py changed"), "{human}");
    assert!(human.contains("src/app.py changed (at "), "{human}");
}

#[test]
fn a_burst_of_fifty_writes_gives_one_restart() {
    let t = TestHome::new();
    let app = app_dir(&t);
    start(&t, "burst", &app, &[]);
    // Python has read app.py by then: a write's truncation cannot hand it an empty script.
    settled(&t, "burst");
    let began = std::time::Instant::now();
    let mut last = began;
    let mut widest = std::time::Duration::ZERO;
    for i in 0..50 {
        std::fs::write(app.join("src/app.py"), format!("{APP}# {i}\n")).expect("write");
        std::thread::sleep(std::time::Duration::from_millis(4));
        widest = widest.max(last.elapsed());
        last = std::time::Instant::now();
    }
    t.wait_for("burst", "restarted", |p| p["restarts"] == 1);
    let p = settled(&t, "burst");
    let history = t.describe("burst")["history"].clone();
    if widest >= std::time::Duration::from_millis(400) {
        // The machine stalled this test for most of a debounce period between two
        // writes: that is two bursts, and two restarts are right.
        eprintln!("writes {widest:?} apart at worst: not one burst; {p}");
        assert!(p["restarts"].as_u64() <= Some(2), "{p}\n{history:#}");
        return;
    }
    assert_eq!(
        p["restarts"],
        1,
        "burst of {:?}: {p}\n{history:#}",
        began.elapsed()
    );
    assert_eq!(watch_records(&t, "burst").len(), 1);
}

#[test]
fn an_atomic_save_and_a_file_in_a_new_folder_restart() {
    let t = TestHome::new();
    let app = app_dir(&t);
    start(&t, "saves", &app, &[]);
    // An editor's save: write a temporary file, rename it over the original.
    let tmp = app.join("src/.app.py.swp-tmp");
    std::fs::write(&tmp, format!("{APP}# saved\n")).expect("write");
    std::fs::rename(&tmp, app.join("src/app.py")).expect("rename");
    let p = t.wait_for("saves", "restarted by the rename", |p| p["restarts"] == 1);
    // Named after the file that exists, not the temporary one.
    assert_eq!(p["watch_trigger"]["path"], "src/app.py", "{p}");
    settled(&t, "saves");

    // A folder made after the start (a change itself), then a file in it.
    std::fs::create_dir(app.join("src/pkg")).expect("mkdir");
    t.wait_for("saves", "restarted by the new folder", |p| {
        p["restarts"] == 2
    });
    settled(&t, "saves");
    std::fs::write(app.join("src/pkg/mod.py"), "x = 1\n").expect("write");
    let p = t.wait_for("saves", "restarted by the new file", |p| p["restarts"] == 3);
    assert_eq!(p["watch_trigger"]["path"], "src/pkg/mod.py", "{p}");
}

#[test]
fn ignored_paths_do_not_restart() {
    let t = TestHome::new();
    let app = app_dir(&t);
    std::fs::create_dir_all(app.join("node_modules/pkg")).expect("mkdir");
    std::fs::create_dir_all(app.join("build")).expect("mkdir");
    std::fs::create_dir_all(app.join(".git")).expect("mkdir");
    std::fs::write(app.join(".gitignore"), "build/\n").expect("write");
    start(&t, "quiet", &app, &["--ignore-watch", "*.tmp"]);
    std::fs::write(app.join("node_modules/pkg/index.js"), "x").expect("write");
    std::fs::create_dir(app.join("node_modules/other")).expect("mkdir");
    std::fs::write(app.join("server.log"), "a line\n").expect("write");
    std::fs::write(app.join("build/out.js"), "x").expect("write");
    std::fs::write(app.join("src/scratch.tmp"), "x").expect("write");
    std::fs::write(app.join(".git/index"), "x").expect("write");
    let p = settled(&t, "quiet");
    assert_eq!(p["restarts"], 0, "an ignored path restarted it: {p}");
    // The watch works: a real change still counts.
    std::fs::write(app.join("src/app.py"), format!("{APP}# real\n")).expect("write");
    let p = t.wait_for("quiet", "restarted", |p| p["restarts"] == 1);
    assert_eq!(p["watch_trigger"]["path"], "src/app.py", "{p}");
}

#[test]
fn a_save_that_fails_at_once_waits_for_the_next_change() {
    let t = TestHome::new();
    let app = app_dir(&t);
    start(&t, "bad", &app, &[]);
    std::fs::write(app.join("src/app.py"), "raise SystemExit(3)\n").expect("bad save");
    let p = t.wait_status("bad", "errored");
    let reason = p["status_reason"].as_str().unwrap_or_default();
    assert!(reason.contains("waiting for the next change"), "{p}");
    assert!(reason.contains("src/app.py"), "{p}");
    let restarts = p["restarts"].clone();
    let parked_at = t.describe("bad")["history"]
        .as_array()
        .and_then(|h| h.last())
        .map(|r| r["at"].as_u64().unwrap_or(0))
        .unwrap_or(0);
    // Not looped: two seconds later it still waits, with no restart more.
    wait_until("two seconds after the failure", || {
        (pmtui_proto::now_ms() > parked_at + 2000).then_some(())
    });
    let p = t.process("bad").expect("row");
    assert_eq!(p["status"], "errored", "{p}");
    assert_eq!(p["restarts"], restarts, "{p}");
    let last = t.describe("bad")["history"]
        .as_array()
        .and_then(|h| h.last())
        .cloned()
        .unwrap_or_default();
    assert_eq!(last["outcome"], "errored", "{last}");
    assert_eq!(last["exit_code"], 3, "{last}");
    assert!(last["last_stderr"].is_array());

    // The fix revives it.
    std::fs::write(app.join("src/app.py"), APP).expect("fixed save");
    let p = t.wait_status("bad", "online");
    assert_eq!(p["watch_trigger"]["path"], "src/app.py", "{p}");
    let p = settled(&t, "bad");
    assert_eq!(p["status"], "online");
}

#[test]
fn no_watch_watch_off_and_stop_end_the_watch() {
    let t = TestHome::new();
    let app = app_dir(&t);
    start(&t, "toggle", &app, &[]);
    assert!(daemon_watches(&t) > 0);

    // `restart --no-watch`: restarted once by the command, never by a change.
    t.ok(&["restart", "toggle", "--no-watch"]);
    let p = t.wait_status("toggle", "online");
    assert_eq!(p["watch"], false, "{p}");
    assert_eq!(daemon_watches(&t), 0, "watches left after --no-watch");
    let restarts = p["restarts"].clone();
    std::fs::write(app.join("src/app.py"), format!("{APP}# 1\n")).expect("write");
    let p = settled(&t, "toggle");
    assert_eq!(p["restarts"], restarts, "restarted without a watch: {p}");

    // `pmtui watch NAME on` without a restart, then a change restarts it.
    let pid = p["pid"].clone();
    let out = t.ok(&["watch", "toggle", "on", "--json"]);
    let rows: Vec<Value> = serde_json::from_str(&out).expect("json");
    assert!(rows[0]["watch"].is_array(), "{out}");
    assert_eq!(rows[0]["pid"], pid, "turning the watch on restarted it");
    std::fs::write(app.join("src/app.py"), format!("{APP}# 2\n")).expect("write");
    t.wait_for("toggle", "restarted", |p| {
        p["pid"] != pid && p["status"] == "online"
    });

    t.ok(&["watch", "toggle", "off"]);
    assert_eq!(t.process("toggle").expect("row")["watch"], false);
    assert_eq!(daemon_watches(&t), 0);
    t.ok(&["watch", "toggle", "on"]);
    assert!(daemon_watches(&t) > 0);

    // `stop` closes the watchers; `start` opens them again.
    t.ok(&["stop", "toggle"]);
    assert_eq!(t.process("toggle").expect("row")["watch"], false);
    assert_eq!(daemon_watches(&t), 0, "watches left after stop");
    t.ok(&["start", "toggle"]);
    let p = t.wait_status("toggle", "online");
    assert!(p["watch"].is_array(), "{p}");
    t.ok(&["delete", "toggle"]);
    assert_eq!(daemon_watches(&t), 0, "watches left after delete");
}

#[test]
fn instances_share_one_watch_per_folder() {
    let t = TestHome::new();
    let app = app_dir(&t);
    std::fs::create_dir_all(app.join("src/a/b")).expect("mkdir");
    std::fs::create_dir_all(app.join("node_modules/x/y")).expect("mkdir");
    start(&t, "pair", &app, &["-i", "2", "--exec-mode", "fork"]);
    t.wait_for("pair", "both online", |_| {
        t.list().iter().filter(|p| p["status"] == "online").count() == 2
    });
    // app, app/src, app/src/a, app/src/a/b: node_modules is not watched.
    assert_eq!(daemon_watches(&t), 4);
    std::fs::write(app.join("src/app.py"), format!("{APP}# both\n")).expect("write");
    wait_until("both restarted", || {
        let rows = t.list();
        rows.iter()
            .all(|p| p["restarts"] == 1 && p["status"] == "online")
            .then_some(())
    })
    .expect("both instances restarted once");
}

#[test]
fn with_a_readiness_check_a_change_is_a_rolling_reload() {
    let t = TestHome::new();
    let app = app_dir(&t);
    start(
        &t,
        "roll",
        &app,
        &[
            "-i",
            "2",
            "--exec-mode",
            "fork",
            "--health-cmd",
            "true",
            "--health-interval",
            "200ms",
            "--watch",
        ],
    );
    let ready = || {
        let rows = t.list();
        (rows.len() == 2 && rows.iter().all(|p| p["readiness"] == "ready")).then_some(rows)
    };
    let before = wait_until("both ready", ready).expect("both instances ready");
    std::fs::write(app.join("src/app.py"), format!("{APP}# rolled\n")).expect("write");
    wait_until("both replaced", || {
        let rows = t.list();
        let replaced = rows.iter().all(|p| {
            p["readiness"] == "ready"
                && p["reload"].is_null()
                && before.iter().all(|b| b["pid"] != p["pid"])
        });
        replaced.then_some(())
    })
    .expect("both instances replaced");
    for p in t.list() {
        let name = p["id"].to_string();
        let records = watch_records(&t, &name);
        assert_eq!(
            records.len(),
            1,
            "one watch reload per instance: {records:?}"
        );
        let detail = records[0]["detail"].as_str().unwrap_or_default();
        assert!(
            detail.starts_with("src/app.py changed: replaced by pid"),
            "{detail}"
        );
        assert_eq!(p["watch_trigger"]["path"], "src/app.py", "{p}");
    }
}

/// The watch limit is lowered in a user namespace of this test's own (the limit there is
/// the namespace's: `/proc/sys/user/max_inotify_watches`), so nothing outside is touched.
#[test]
fn the_inotify_limit_is_a_clear_error_not_a_partial_watch() {
    let probe = std::process::Command::new("unshare")
        .args([
            "-Ur",
            "sh",
            "-c",
            "echo 20 > /proc/sys/user/max_inotify_watches",
        ])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        eprintln!("skipped: no user namespaces here (unshare -Ur) to lower the limit in");
        return;
    }
    let t = TestHome::new();
    let app = app_dir(&t);
    for i in 0..40 {
        std::fs::create_dir_all(app.join(format!("src/d{i}"))).expect("mkdir");
    }
    let script = app.join("src/app.py");
    let out = std::process::Command::new("unshare")
        .args([
            "-Ur",
            "sh",
            "-c",
            "echo 20 > /proc/sys/user/max_inotify_watches && exec \"$@\"",
            "sh",
            env!("CARGO_BIN_EXE_pmtui"),
            "start",
            script.to_str().expect("utf8"),
            "--name",
            "big",
            "--cwd",
            app.to_str().expect("utf8"),
            "--watch",
        ])
        .env("PMTUI_HOME", t.home())
        .env("NO_COLOR", "1")
        .current_dir(t.home())
        .output()
        .expect("run pmtui in a user namespace");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the start reported success: {err}");
    assert!(err.contains("fs.inotify.max_user_watches = 20"), "{err}");
    assert!(
        err.contains("sudo sysctl fs.inotify.max_user_watches="),
        "{err}"
    );
    let p = t.process("big").expect("the process runs, unwatched");
    assert_eq!(p["watch"], false, "{p}");
    assert!(
        p["watch_error"]
            .as_str()
            .unwrap_or_default()
            .contains("max_user_watches"),
        "{p}"
    );
    assert_eq!(daemon_watches(&t), 0, "a partial watch was left");
}

#[test]
fn the_daemons_own_writes_in_a_watched_folder_do_not_restart() {
    let t = TestHome::new();
    let app = app_dir(&t);
    // The watched folder holds PMTUI_HOME: the dump, its backup and their temp files are
    // written in it by `pmtui save`.
    let home = t.home().to_str().expect("utf8").to_string();
    start(&t, "homely", &app, &["--watch", &home]);
    t.ok(&["save"]);
    t.ok(&["save"]);
    assert!(
        t.home().join("dump.json.bak").exists(),
        "a second save backs up"
    );
    let p = settled(&t, "homely");
    assert_eq!(p["restarts"], 0, "the daemon's own files restarted it: {p}");
    std::fs::write(app.join("src/app.py"), format!("{APP}# real\n")).expect("write");
    let p = t.wait_for("homely", "restarted", |p| p["restarts"] == 1);
    assert_eq!(p["watch_trigger"]["path"], "app/src/app.py", "{p}");
}
