//! Containment: nothing of a process's tree survives `stop` or `kill`, not even a
//! double-forked `setsid env -i` grandchild (cgroup mode); the escapees group mode can find
//! are found there too; what a crashing run leaves is ended before the next run starts, so
//! escapees never pile up; and `ping`/`describe` say which mode is active.
//!
//! cgroup mode needs a writable cgroup v2 (root here); where it is not, the cgroup-only
//! tests say so and return.

mod common;
use common::{TestHome, alive, assert_all_gone, pids_with, unique, wait_until};
use serde_json::Value;

fn ping(t: &TestHome) -> Value {
    serde_json::from_str(&t.ok(&["ping", "--json"])).expect("ping json")
}

fn force_group_mode(t: &TestHome) {
    std::fs::write(t.home().join("config.toml"), "containment = \"group\"\n").expect("config");
}

/// A home whose daemon runs in cgroup mode, or `None` where cgroup v2 is not writable (the
/// test is then skipped, and says so).
fn cgroup_home() -> Option<TestHome> {
    let t = TestHome::new();
    if ping(&t)["containment"] != "cgroup" {
        eprintln!("skipped: cgroup v2 is not writable here");
        return None;
    }
    Some(t)
}

fn gone(what: &str, tag: &str) -> bool {
    wait_until(what, || pids_with(tag).is_empty().then_some(())).is_some()
}

/// The session of a process (field 6 of its stat line).
fn session(pid: i64) -> Option<i64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat[stat.rfind(')')? + 1..]
        .split_whitespace()
        .nth(3)?
        .parse()
        .ok()
}

/// A script whose main process leaves an escapee that calls `setsid`, clears its
/// environment and is orphaned at once, then sleeps.
fn escaper(t: &TestHome, tag: &str) -> String {
    let sleep = t.tagged_sleep(tag);
    t.script(
        "escaper.sh",
        &format!("#!/bin/sh\n(setsid env -i {sleep} 1000 &)\nexec {sleep} 999\n"),
    )
    .display()
    .to_string()
}

#[test]
fn a_setsid_env_i_escapee_is_gone_after_stop_and_after_kill() {
    let t = TestHome::new();
    let pong = ping(&t);
    if pong["containment"] != "cgroup" {
        eprintln!("skipped: cgroup v2 is not writable here ({pong})");
        return;
    }
    let cgroup_root = pong["cgroup"].as_str().expect("cgroup root").to_string();
    let tag = unique("escapee");
    let script = escaper(&t, &tag);
    for end in ["stop", "kill"] {
        t.ok(&["start", &script, "--name", "esc"]);
        let main = t.wait_status("esc", "online")["pid"].as_i64().expect("pid");
        let both = wait_until("main and escapee", || {
            let p = pids_with(&tag);
            (p.len() == 2).then_some(p)
        })
        .expect("the escapee runs");
        let escapee = *both.iter().find(|p| **p != main).expect("escapee");
        assert_ne!(session(escapee), session(main), "it left the session");
        let detail: Value =
            serde_json::from_str(&t.ok(&["describe", "esc", "--json"])).expect("json");
        assert_eq!(detail[0]["containment"], "cgroup", "{detail}");
        let dir = detail[0]["cgroup"].as_str().expect("cgroup").to_string();
        assert!(dir.starts_with(&cgroup_root), "{dir} under {cgroup_root}");
        let procs = std::fs::read_to_string(format!("{dir}/cgroup.procs")).expect("procs");
        assert!(
            procs.lines().any(|l| l == escapee.to_string()),
            "the escapee is in the cgroup: {procs}"
        );
        if end == "stop" {
            t.ok(&["stop", "esc"]);
        } else {
            t.ok(&["kill"]);
        }
        assert!(
            gone(&format!("nothing left after {end}"), &tag),
            "after {end}: {:?} survive",
            pids_with(&tag)
        );
        assert!(!alive(escapee));
        if end == "stop" {
            assert!(
                !std::path::Path::new(&dir).exists(),
                "a stopped process's cgroup is removed"
            );
            t.ok(&["delete", "esc"]);
        } else {
            assert!(
                !std::path::Path::new(&cgroup_root).exists(),
                "the daemon's subtree is removed when it ends"
            );
        }
    }
}

#[test]
fn group_mode_is_forced_by_the_setting_and_says_so() {
    let t = TestHome::new();
    force_group_mode(&t);
    let pong = ping(&t);
    assert_eq!(pong["containment"], "group", "{pong}");
    assert!(pong["cgroup"].is_null(), "{pong}");
    assert!(t.ok(&["ping"]).contains("containment: group"));
    t.ok(&["start", "sleep 300", "--name", "g"]);
    let detail: Value = serde_json::from_str(&t.ok(&["describe", "g", "--json"])).expect("json");
    assert_eq!(detail[0]["containment"], "group", "{detail}");
    assert!(detail[0]["cgroup"].is_null(), "{detail}");
    assert!(
        t.ok(&["describe", "g"])
            .contains("process group and PMTUI_JOB marker")
    );
}

#[test]
fn group_mode_ends_escapees_that_keep_the_marker_or_the_group() {
    let t = TestHome::new();
    force_group_mode(&t);
    let tag = unique("group-escapees");
    let sleep = t.tagged_sleep(&tag);
    // One leaves the group but keeps its environment; one clears its environment but stays
    // in the group. Both are orphaned at once.
    let script = t.script(
        "two.sh",
        &format!("#!/bin/sh\n(setsid {sleep} 1001 &)\n(env -i {sleep} 1002 &)\nexec {sleep} 999\n"),
    );
    let script = script.to_str().expect("utf8");
    for end in ["stop", "kill"] {
        t.ok(&["start", script, "--name", "two"]);
        t.wait_status("two", "online");
        wait_until("three up", || (pids_with(&tag).len() == 3).then_some(()))
            .expect("main and both escapees");
        if end == "stop" {
            t.ok(&["stop", "two"]);
        } else {
            t.ok(&["kill"]);
        }
        assert!(
            gone(&format!("nothing left after {end}"), &tag),
            "after {end}: {:?} survive",
            pids_with(&tag)
        );
        if end == "stop" {
            t.ok(&["delete", "two"]);
        }
    }
}

/// A run that leaves an escapee and crashes at once, restarted quickly: at no time is more
/// than one escapee alive (the one of the current run).
fn escapees_do_not_pile_up(t: &TestHome, leave: &str, tag: &str) {
    let script = t.script(
        "crasher.sh",
        &format!("#!/bin/sh\n{leave}\nsleep 0.2\nexit 3\n"),
    );
    t.ok(&[
        "start",
        script.to_str().expect("utf8"),
        "--name",
        "crasher",
        "--restart-delay",
        "50",
        "--max-restarts",
        "1000",
        "--min-uptime",
        "10",
    ]);
    let most = std::cell::Cell::new(0);
    t.wait_for("crasher", "six restarts", |p| {
        most.set(most.get().max(pids_with(tag).len()));
        p["restarts"].as_u64().is_some_and(|r| r >= 6)
    });
    let mut most = most.get();
    for _ in 0..20 {
        most = most.max(pids_with(tag).len());
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(most <= 1, "escapees piled up: {most} alive at once");
    let history: Value =
        serde_json::from_str(&t.ok(&["describe", "crasher", "--json"])).expect("json");
    let exits = history[0]["history"].as_array().expect("history");
    assert!(exits.len() >= 6, "{history}");
    t.ok(&["stop", "crasher"]);
    assert!(gone("the last escapee", tag), "{:?}", pids_with(tag));
}

#[test]
fn escapees_of_a_crashing_run_do_not_pile_up_in_cgroup_mode() {
    let Some(t) = cgroup_home() else { return };
    let tag = unique("crash-escapee");
    let sleep = t.tagged_sleep(&tag);
    escapees_do_not_pile_up(&t, &format!("(setsid env -i {sleep} 1000 &)"), &tag);
}

#[test]
fn escapees_of_a_crashing_run_do_not_pile_up_in_group_mode() {
    let t = TestHome::new();
    force_group_mode(&t);
    let tag = unique("crash-escapee-group");
    let sleep = t.tagged_sleep(&tag);
    escapees_do_not_pile_up(&t, &format!("(setsid {sleep} 1000 &)"), &tag);
}

/// The daemon dies by SIGKILL while a process runs that ignores SIGTERM, stops only on its
/// `stop_signal` (SIGINT) and forks when it gets it. The next daemon sends SIGINT (not
/// SIGTERM), gives it its `kill_timeout`, then kills what is left, including what it forked
/// meanwhile, and starts exactly one new run.
fn recovery_honours_the_stop_signal_and_ends_what_forks(t: &TestHome) {
    let tag = unique("recover");
    let sleep = t.tagged_sleep(&tag);
    let got = t.path("got-int");
    let script = t.script(
        &format!("{tag}.sh"),
        &format!(
            "#!/bin/sh\ntrap '' TERM\ntrap 'echo int >> {got}; {sleep} 1003 & (setsid {sleep} 1004 &)' INT\necho ready\nwhile true; do sleep 0.05; done\n",
            got = got.display()
        ),
    );
    t.ok(&[
        "start",
        script.to_str().expect("utf8"),
        "--name",
        "rec",
        "--stop-signal",
        "SIGINT",
        "--kill-timeout",
        "1500",
    ]);
    let old_main = t.wait_status("rec", "online")["pid"].as_i64().expect("pid");
    let log = t.home().join("logs/rec-out.log");
    wait_until("the traps are set", || {
        std::fs::read_to_string(&log)
            .ok()
            .filter(|s| s.contains("ready"))
    })
    .expect("ready");
    t.sigkill_daemon();
    assert!(alive(old_main), "the old run outlives its daemon");

    // The next command starts a daemon, which ends the old tree before it starts anything.
    let rows = t.list();
    assert_eq!(rows.len(), 1, "{rows:?}");
    let text = std::fs::read_to_string(&got).unwrap_or_default();
    assert!(
        text.contains("int"),
        "the old run got its stop signal, SIGINT"
    );
    assert!(!alive(old_main), "the old main process is gone");
    let row = t.wait_status("rec", "online");
    let new_main = row["pid"].as_i64().expect("pid");
    assert_ne!(new_main, old_main);
    // What the old run forked on SIGINT (ignoring SIGTERM, one of them in its own session)
    // is gone too: only the new main carries the tag.
    let left = wait_until("only the new run", || {
        let p = pids_with(&tag);
        (p == [new_main]).then_some(p)
    });
    assert!(
        left.is_some(),
        "left: {:?} (new main {new_main})",
        pids_with(&tag)
    );
}

#[test]
fn recovery_after_a_daemon_sigkill_in_cgroup_mode() {
    let Some(t) = cgroup_home() else { return };
    recovery_honours_the_stop_signal_and_ends_what_forks(&t);
}

#[test]
fn recovery_after_a_daemon_sigkill_in_group_mode() {
    let t = TestHome::new();
    force_group_mode(&t);
    recovery_honours_the_stop_signal_and_ends_what_forks(&t);
}

/// A daemon in group mode dies by SIGKILL; the next one runs in cgroup mode. The old run
/// is in no cgroup of ours, so only the scan for its marker and recorded pid finds it (the
/// second pass of recovery, after the cgroups): it and what it forked are ended, and
/// exactly one new run starts, in its cgroup.
#[test]
fn recovery_in_cgroup_mode_ends_what_a_group_mode_daemon_left() {
    let Some(t) = cgroup_home() else { return };
    t.ok(&["kill"]);
    force_group_mode(&t);
    let tag = unique("cross-mode");
    let sleep = t.tagged_sleep(&tag);
    let script = t.script(
        &format!("{tag}.sh"),
        &format!(
            "#!/bin/sh
(setsid {sleep} 1005 &)
exec {sleep} 1006
"
        ),
    );
    t.ok(&["start", script.to_str().expect("utf8"), "--name", "cross"]);
    t.wait_status("cross", "online");
    let old = wait_until("main and escapee", || {
        let p = pids_with(&tag);
        (p.len() == 2).then_some(p)
    })
    .expect("two tagged processes");
    assert_eq!(ping(&t)["containment"], "group");
    t.sigkill_daemon();
    std::fs::remove_file(t.home().join("config.toml")).expect("back to the default");

    assert_eq!(ping(&t)["containment"], "cgroup");
    let row = t.wait_status("cross", "online");
    let new_main = row["pid"].as_i64().expect("pid");
    assert_all_gone(&old);
    let now = wait_until("exactly the new run", || {
        let p = pids_with(&tag);
        (p.len() == 2 && p.contains(&new_main)).then_some(p)
    });
    assert!(now.is_some(), "found {:?}", pids_with(&tag));
}

/// `containment = "cgroup"` where cgroups cannot be written (a daemon running as `nobody`,
/// not delegated anything): `ping` says why and that process groups are used.
#[test]
fn cgroup_mode_asked_for_but_impossible_is_reported_by_ping() {
    use std::os::unix::process::CommandExt;
    let me = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|ids| ids.split_whitespace().nth(1)?.parse::<u32>().ok())
        });
    if me != Some(0) {
        eprintln!("skipped: needs root to become nobody");
        return;
    }
    let dir = tempfile::Builder::new()
        .prefix("pmt")
        .tempdir_in("/tmp")
        .expect("temp dir");
    let home = dir.path().join("home");
    std::fs::create_dir(&home).expect("home");
    std::fs::write(home.join("config.toml"), "containment = \"cgroup\"\n").expect("config");
    let chown = std::process::Command::new("chown")
        .args(["-R", "65534:65534", dir.path().to_str().expect("utf8")])
        .status()
        .expect("chown");
    assert!(chown.success());
    let as_nobody = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_pmtui"))
            .uid(65534)
            .gid(65534)
            .env("PMTUI_HOME", &home)
            .current_dir("/")
            .args(args)
            .output()
            .expect("run pmtui as nobody")
    };
    let out = as_nobody(&["ping", "--json"]);
    let _ = as_nobody(&["kill"]);
    let pong: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(pong["containment"], "group", "{pong}");
    let warnings = pong["warnings"].to_string();
    assert!(
        warnings.contains("containment = \\\"cgroup\\\" cannot be honoured")
            && warnings.contains("using process groups"),
        "{pong}"
    );
}

/// In cgroup mode a tree's members are its cgroup's: the metrics count the double-forked
/// escapee, which no walk from the main process finds.
#[test]
fn cgroup_members_count_the_escapee_in_the_metrics() {
    let Some(t) = cgroup_home() else { return };
    let tag = unique("counted");
    let script = escaper(&t, &tag);
    t.ok(&["start", &script, "--name", "counted"]);
    wait_until("main and escapee", || {
        (pids_with(&tag).len() == 2).then_some(())
    })
    .expect("both run");
    let counted = wait_until("a sample of two processes", || {
        let detail: Value = serde_json::from_str(&t.ok(&["describe", "counted", "--json"])).ok()?;
        let current = detail[0]["metrics"]["current"].clone();
        (current["processes"] == 2).then_some(current)
    });
    assert!(counted.is_some(), "the escapee was not counted");
}

/// pm2's `treekill: false` (`--no-treekill`): `stop` signals only the main process, and its
/// descendants keep running (in either mode); the default ends them (the tests above).
#[test]
fn no_treekill_stops_only_the_main_process() {
    for group in [false, true] {
        let t = TestHome::new();
        if group {
            force_group_mode(&t);
        }
        let tag = unique("no-treekill");
        let sleep = t.tagged_sleep(&tag);
        let script = t.script(
            "parent.sh",
            &format!("#!/bin/sh\n{sleep} 1005 &\nexec {sleep} 999\n"),
        );
        t.ok(&[
            "start",
            script.to_str().expect("utf8"),
            "--name",
            "parent",
            "--no-treekill",
        ]);
        let main = t.wait_status("parent", "online")["pid"]
            .as_i64()
            .expect("pid");
        let both = wait_until("main and child", || {
            let p = pids_with(&tag);
            (p.len() == 2).then_some(p)
        })
        .expect("both run");
        let child = *both.iter().find(|p| **p != main).expect("child");
        let detail: Value =
            serde_json::from_str(&t.ok(&["describe", "parent", "--json"])).expect("json");
        assert_eq!(detail[0]["spec"]["treekill"], false, "{detail}");
        t.ok(&["stop", "parent"]);
        t.wait_status("parent", "stopped");
        assert!(!alive(main), "the main process is stopped");
        assert!(alive(child), "group mode {group}: the child keeps running");
        std::process::Command::new("kill")
            .args(["-9", &child.to_string()])
            .status()
            .expect("kill the child");
        assert!(gone("the child, killed by the test", &tag));
    }
}

/// A child is in its cgroup from its first instruction, and so is a grandchild it forks at
/// once: the script's first act is to print its own cgroup (a shell builtin reading
/// `/proc/self/cgroup`), then it forks a `sleep` and execs another. Both sleeps are
/// members. Which way children entered is in daemon.log (said once, where clone3 is refused).
fn born_in_the_cgroup(t: &TestHome, expect_way: &str) {
    let tag = unique("born");
    let sleep = t.tagged_sleep(&tag);
    let script = t.script(
        "born.sh",
        &format!(
            "#!/bin/sh\nwhile read -r line; do case $line in 0::*) echo \"born in $line\";; esac; done < /proc/self/cgroup\n{sleep} 1000 & exec {sleep} 999\n"
        ),
    );
    t.ok(&["start", script.to_str().expect("utf8"), "--name", "born"]);
    let main = t.wait_status("born", "online")["pid"]
        .as_i64()
        .expect("pid");
    let detail: Value = serde_json::from_str(&t.ok(&["describe", "born", "--json"])).expect("json");
    let dir = detail[0]["cgroup"].as_str().expect("cgroup").to_string();
    let log = t.home().join("logs/born-out.log");
    let line = wait_until("the first line", || {
        std::fs::read_to_string(&log).ok().and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("born in"))
                .map(str::to_string)
        })
    })
    .expect("the script printed its cgroup");
    let own = line.trim_start_matches("born in 0::").trim();
    assert!(
        own.len() > 1 && dir.ends_with(own),
        "the first instruction ran in {own:?}, its cgroup is {dir}"
    );
    let both = wait_until("main and grandchild", || {
        let p = pids_with(&tag);
        (p.len() == 2).then_some(p)
    })
    .expect("both sleeps run");
    assert!(both.contains(&main), "{both:?} {main}");
    let procs = std::fs::read_to_string(format!("{dir}/cgroup.procs")).expect("procs");
    for pid in &both {
        assert!(
            procs.lines().any(|l| l == pid.to_string()),
            "{pid} is in the cgroup: {procs}"
        );
    }
    let log = std::fs::read_to_string(t.path("daemon.log")).unwrap_or_default();
    let refused = log.contains("clone3(CLONE_INTO_CGROUP) refused");
    assert_eq!(
        refused,
        expect_way == "before exec",
        "children enter their cgroup {expect_way}; daemon.log:\n{log}"
    );
    t.ok(&["stop", "born"]);
    assert!(
        gone("nothing left after stop", &tag),
        "{:?}",
        pids_with(&tag)
    );
}

#[test]
fn a_child_and_what_it_forks_at_once_are_born_in_the_cgroup() {
    let Some(t) = cgroup_home() else { return };
    born_in_the_cgroup(&t, "at birth");
}

/// Where `clone3` is refused (old kernels, seccomp in containers; forced here by a debug
/// fault), children write themselves into their cgroup before exec, with the same result.
#[test]
fn where_clone3_is_refused_children_enter_the_cgroup_before_exec() {
    if !cfg!(debug_assertions) {
        return;
    }
    let t = TestHome::new();
    let out = t
        .cmd()
        .env("PMTUI_FAULTS", "clone3-refused")
        .args(["ping", "--json"])
        .output()
        .expect("ping");
    assert!(out.status.success(), "{out:?}");
    let pong: Value = serde_json::from_slice(&out.stdout).expect("ping json");
    if pong["containment"] != "cgroup" {
        eprintln!("skipped: cgroup v2 is not writable here");
        return;
    }
    born_in_the_cgroup(&t, "before exec");
}
