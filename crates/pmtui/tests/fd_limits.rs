//! The daemon raises its own soft open-file limit and gives children back the one it
//! inherited (programs using `select()` break with fds ≥ 1024); descriptors its launcher
//! left open reach neither the daemon nor its apps.

mod common;
use common::*;

/// (soft, hard) "Max open files" of a pid, from /proc.
fn nofile(pid: i64) -> (String, String) {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).expect("limits");
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .expect("Max open files line");
    let fields: Vec<&str> = line.split_whitespace().collect();
    (fields[3].to_string(), fields[4].to_string())
}

#[test]
fn daemon_raises_its_fd_limit_and_children_get_the_inherited_one() {
    let home = TestHome::new();
    // Start the daemon from a shell whose soft limit is 512.
    let ping = std::process::Command::new("sh")
        .args(["-c", "ulimit -Sn 512 && exec \"$PMTUI\" ping"])
        .env("PMTUI", env!("CARGO_BIN_EXE_pmtui"))
        .env("PMTUI_HOME", home.home())
        .output()
        .expect("run sh");
    assert!(ping.status.success(), "{ping:?}");
    let daemon = i64::from(home.daemon_pid().expect("daemon pid"));
    let (soft, hard) = nofile(daemon);
    assert_eq!(
        soft, hard,
        "the daemon's soft limit is raised to the hard one"
    );
    assert_ne!(soft, "512");

    home.ok(&["start", "sleep 1000", "--name", "s"]);
    let row = home.wait_for("s", "a pid", |p| {
        p["pid"].as_i64().is_some_and(|pid| pid > 0)
    });
    let pid = row["pid"].as_i64().expect("pid");
    assert_eq!(
        nofile(pid).0,
        "512",
        "children get the inherited soft limit back"
    );
}

/// Starts `home`'s daemon from a shell whose open-file limit (soft and hard) is `limit`.
fn start_daemon_with_fd_limit(home: &TestHome, limit: u32) {
    let ping = std::process::Command::new("sh")
        .args(["-c", &format!("ulimit -n {limit} && exec \"$PMTUI\" ping")])
        .env("PMTUI", env!("CARGO_BIN_EXE_pmtui"))
        .env("PMTUI_HOME", home.home())
        .output()
        .expect("run sh");
    assert!(ping.status.success(), "{ping:?}");
}

#[test]
fn at_a_low_fd_limit_commands_answer_and_surplus_starts_fail_clearly() {
    use std::io::Read;
    let home = TestHome::new();
    // A daemon whose hard limit is 64 descriptors.
    start_daemon_with_fd_limit(&home, 64);
    let sleep = home.tagged_sleep(&unique("fdlimit"));
    let mut started = 0;
    let mut refused = Vec::new();
    for i in 0..24 {
        let name = format!("s{i}");
        let out = home.run(&["start", &sleep, "--name", &name, "--", "1000"]);
        if out.status.success() {
            started += 1;
        } else {
            refused.push(String::from_utf8_lossy(&out.stderr).into_owned());
        }
    }
    assert!(
        started >= 2,
        "only {started} processes fit in 64 descriptors"
    );
    assert!(!refused.is_empty(), "24 processes fit in 64 descriptors?");
    for err in &refused {
        assert!(
            err.contains("open-file limit") && err.contains("ulimit"),
            "unclear refusal: {err}"
        );
    }
    // What was refused was not added; what started runs; the daemon answers.
    let list = home.list();
    assert_eq!(list.len(), started, "{list:?}");
    assert!(list.iter().all(|p| p["status"] == "online"), "{list:?}");
    home.ok(&["ping"]);

    // A flood of connections past the limit: the surplus is told why, the log stays small.
    let socket = home.home().join("pmtui.sock");
    let mut flood: Vec<std::os::unix::net::UnixStream> = (0..80)
        .filter_map(|_| std::os::unix::net::UnixStream::connect(&socket).ok())
        .collect();
    for conn in &flood {
        conn.set_nonblocking(true).expect("nonblocking");
    }
    let told = wait_until("a refused connection to be told why", || {
        flood.iter_mut().find_map(|conn| {
            let mut buf = [0u8; 4096];
            match conn.read(&mut buf) {
                Ok(n) if n > 0 => {
                    let text = String::from_utf8_lossy(&buf[..n]).into_owned();
                    text.contains("out of file descriptors").then_some(text)
                }
                _ => None,
            }
        })
    });
    assert!(told.is_some(), "no refused connection heard why");
    // Held for a few seconds: a spinning accept loop would log 20 lines a second.
    std::thread::sleep(std::time::Duration::from_secs(3));
    let log = std::fs::read_to_string(home.home().join("daemon.log")).unwrap_or_default();
    let accept_lines = log
        .lines()
        .filter(|l| l.contains("accept") || l.contains("file descriptors"))
        .count();
    assert!(accept_lines <= 3, "daemon.log grows:\n{log}");
    drop(flood);
    home.ok(&["ping"]);
    home.ok(&["ls"]);
    home.ok(&["kill"]);
}

/// A file of more apps than fit: the ones that fit run, and every other is refused with
/// the same clear message, those after the first one by the shortcut of `fds::Confirmed`
/// (they fail at once instead of each waiting its own second; not timed here).
#[test]
fn a_file_of_more_apps_than_fit_refuses_the_surplus_clearly() {
    let home = TestHome::new();
    start_daemon_with_fd_limit(&home, 64);
    let sleep = home.tagged_sleep(&unique("fdfile"));
    let apps: Vec<serde_json::Value> = (0..24)
        .map(|i| {
            serde_json::json!({
                "name": format!("f{i}"),
                "script": sleep,
                "args": "1000",
                "interpreter": "none",
            })
        })
        .collect();
    let file = home.home().join("apps.json");
    std::fs::write(&file, serde_json::json!({ "apps": apps }).to_string()).expect("write");
    let out = home.run(&["start", file.to_str().expect("utf-8")]);
    assert!(!out.status.success(), "24 processes fit in 64 descriptors?");
    let err = String::from_utf8_lossy(&out.stderr);
    let list = home.list();
    let started: Vec<String> = list
        .iter()
        .filter(|p| p["status"] == "online")
        .map(|p| p["name"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(started.len() >= 2, "only {started:?} fit: {err}");
    for i in 0..24 {
        let name = format!("f{i}");
        if started.contains(&name) {
            continue;
        }
        let line = err
            .lines()
            .find(|l| {
                l.trim_start_matches("error: ")
                    .starts_with(&format!("{name}: "))
            })
            .unwrap_or_else(|| panic!("nothing said of {name}: {err}"));
        assert!(
            line.contains("open-file limit") && line.contains("ulimit"),
            "unclear refusal: {line}"
        );
    }
    home.ok(&["ping"]);
    home.ok(&["kill"]);
}

/// The daemon's descriptors that processes cost: pipes, pidfds and log files.
fn process_fds(daemon: i32, logs: &std::path::Path) -> usize {
    fd_targets(daemon)
        .iter()
        .filter(|target| {
            let text = target.to_string_lossy();
            text.starts_with("pipe:") || text.contains("pidfd") || target.starts_with(logs)
        })
        .count()
}

#[test]
fn a_process_costs_the_daemon_at_most_four_descriptors() {
    let home = TestHome::new();
    home.ok(&["ping"]);
    let daemon = home.daemon_pid().expect("daemon pid");
    let logs = home.home().join("logs");
    let before = process_fds(daemon, &logs);
    let sleep = home.tagged_sleep(&unique("fdcount"));
    let loud = home.script(
        "loud.sh",
        "#!/bin/sh\necho out\necho err >&2\nexec sleep 1000\n",
    );
    for i in 0..5 {
        home.ok(&[
            "start",
            loud.to_str().expect("utf-8"),
            "--name",
            &format!("loud{i}"),
        ]);
        home.ok(&[
            "start",
            &sleep,
            "--name",
            &format!("quiet{i}"),
            "--",
            "1000",
        ]);
    }
    for i in 0..5 {
        for stream in ["out", "err"] {
            let file = logs.join(format!("loud{i}-{stream}.log"));
            wait_until("the loud lines", || {
                std::fs::read_to_string(&file)
                    .ok()
                    .filter(|t| t.contains(stream))
            })
            .expect("both streams written");
        }
    }
    for p in home.list() {
        assert_eq!(p["status"], "online", "{p}");
    }
    let cost = process_fds(daemon, &logs) - before;
    // Two pipes each, and a log file per stream written: 5 × 4 + 5 × 2.
    assert!(
        cost <= 30,
        "10 processes cost the daemon {cost} descriptors"
    );
}

#[test]
fn restarting_every_app_at_the_fd_limit_leaves_none_errored() {
    let home = TestHome::new();
    start_daemon_with_fd_limit(&home, 80);
    let sleep = home.tagged_sleep(&unique("fdrestart"));
    // Fill the budget: start until the daemon refuses.
    fill_until_refused(&home, &sleep, 40);
    let started = home.list().len();
    assert!(
        started >= 2,
        "only {started} processes fit in 80 descriptors"
    );
    // Every app's new run needs its pipes while the dead runs' pipes are still being
    // drained: the start waits for them instead of failing.
    restart_all_at_the_limit(&home, started);
    home.ok(&["kill"]);
}

/// `/proc/<pid>/stat` files the daemon keeps open to sample its processes.
fn kept_stat_files(daemon: i32) -> usize {
    fd_targets(daemon)
        .iter()
        .filter(|target| {
            let text = target.to_string_lossy();
            text.starts_with("/proc/") && text.ends_with("/stat") && text != "/proc/stat"
        })
        .count()
}

/// What each of the daemon's open descriptors points at.
fn fd_targets(daemon: i32) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(format!("/proc/{daemon}/fd"))
        .expect("the daemon's fds")
        .flatten()
        .filter_map(|e| std::fs::read_link(e.path()).ok())
        .collect()
}

#[test]
fn stat_files_the_sampler_keeps_are_given_back_to_launches() {
    let home = TestHome::new();
    start_daemon_with_fd_limit(&home, 128);
    let daemon = home.daemon_pid().expect("daemon pid");
    let sleep = home.tagged_sleep(&unique("fdkept"));
    home.ok(&["start", &sleep, "--name", "first", "--", "1000"]);
    // Far from the limit, the sampler keeps the first process's stat file open.
    let kept = wait_until("the sampler to keep a stat file", || {
        let n = kept_stat_files(daemon);
        (n > 0).then_some(n)
    });
    assert!(kept.is_some(), "no stat file kept far from the limit");
    // Fill the budget: the launches that come short take the kept files back.
    fill_until_refused(&home, &sleep, 60);
    assert_eq!(
        kept_stat_files(daemon),
        0,
        "the daemon still keeps stat files open at its fd limit"
    );
    let started = home.list().len();
    restart_all_at_the_limit(&home, started);
    home.ok(&["kill"]);
}

/// `restart all` succeeds and brings every one of the `started` apps back online, once
/// restarted.
fn restart_all_at_the_limit(home: &TestHome, started: usize) {
    let out = home.run(&["restart", "all"]);
    assert!(
        out.status.success(),
        "restart all at the limit: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut last = Vec::new();
    let settled = wait_until("every app restarted and online", || {
        last = home.list();
        (last.len() == started
            && last
                .iter()
                .all(|p| p["status"] == "online" && p["restarts"].as_u64() == Some(1)))
        .then_some(())
    });
    assert!(settled.is_some(), "after restart all: {last:#?}");
}

/// Starts `sleep 1000` as s0, s1, … until the daemon refuses one (at most `most`).
fn fill_until_refused(home: &TestHome, sleep: &str, most: usize) {
    for i in 0..most {
        let name = format!("s{i}");
        if !home
            .run(&["start", sleep, "--name", &name, "--", "1000"])
            .status
            .success()
        {
            break;
        }
    }
}

/// What `/proc/<pid>/fd` holds: each descriptor's number and what it points to.
fn open_fds(pid: i64) -> Vec<(String, String)> {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("fd dir")
        .filter_map(|e| {
            let e = e.ok()?;
            let target = std::fs::read_link(e.path()).ok()?;
            Some((
                e.file_name().to_string_lossy().into_owned(),
                target.display().to_string(),
            ))
        })
        .collect()
}

#[test]
fn descriptors_left_open_by_the_launcher_reach_neither_the_daemon_nor_its_apps() {
    let home = TestHome::new();
    // A shell's `exec 7>file` is not close-on-exec: the client inherits it, and so would the
    // daemon it starts and, through it, every app (a pipe's write end held that way keeps
    // a `$(…)` or a CI step waiting for ever).
    let marker = home.path("left-open");
    let ping = std::process::Command::new("sh")
        .args(["-c", "exec 7>\"$MARKER\" && exec \"$PMTUI\" ping"])
        .env("PMTUI", env!("CARGO_BIN_EXE_pmtui"))
        .env("PMTUI_HOME", home.home())
        .env("MARKER", &marker)
        .output()
        .expect("run sh");
    assert!(ping.status.success(), "{ping:?}");
    let marker = marker.display().to_string();
    let daemon = i64::from(home.daemon_pid().expect("daemon pid"));
    let held: Vec<_> = open_fds(daemon)
        .into_iter()
        .filter(|(_, target)| *target == marker)
        .collect();
    assert!(
        held.is_empty(),
        "the daemon holds its launcher's file: {held:?}"
    );

    home.ok(&["start", "sleep 1000", "--name", "s"]);
    let row = home.wait_for("s", "a pid", |p| {
        p["pid"].as_i64().is_some_and(|pid| pid > 0)
    });
    let fds = open_fds(row["pid"].as_i64().expect("pid"));
    let numbers: Vec<&str> = fds.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        {
            let mut sorted = numbers.clone();
            sorted.sort_unstable();
            sorted
        },
        ["0", "1", "2"],
        "an app gets its stdio and nothing else: {fds:?}"
    );
}
