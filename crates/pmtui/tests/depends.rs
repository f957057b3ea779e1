//! Start order with real programs: a chain db (ready by its probe) → migrate (completed:
//! exits 0) → api (ready by its probe) started in order by `pmtui start <file>`, which
//! waits and says so, with an independent app started at once; `stop <file>` and `kill`
//! in reverse order; a daemon killed with SIGKILL whose successor restores the chain in
//! order; a failing migration that keeps api from starting (and `start` failing with the
//! reason); a cycle refused with file:line.

mod common;
use common::TestHome;
use serde_json::Value;
use std::path::Path;

/// The lines of the order file.
fn lines(file: &Path) -> Vec<String> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .map(String::from)
        .collect()
}

fn index(lines: &[String], line: &str) -> usize {
    lines
        .iter()
        .position(|l| l == line)
        .unwrap_or_else(|| panic!("no line {line:?} in {lines:?}"))
}

/// Writes the chain's scripts and file; `migrate_code` is what the migration exits with.
/// Every app appends `start <name>` (with `after-db` when db was ready then) and, on
/// SIGTERM, `stop <name>` to `order`.
fn chain(t: &TestHome, migrate_code: i32) -> std::path::PathBuf {
    let app = |name: &str, body: &str| {
        t.script(
            &format!("{name}.sh"),
            &format!(
                "#!/bin/sh\nif [ -f db-ready ]; then echo \"start {name} after-db\" >> order; else echo \"start {name}\" >> order; fi\ntrap 'echo \"stop {name}\" >> order; exit 0' TERM\n{body}\n"
            ),
        );
    };
    // db: ready (its probe passes) a moment after it starts.
    app(
        "db",
        "sleep 1\ntouch db-ready\nwhile true; do sleep 0.1; done",
    );
    app(
        "migrate",
        &format!("sleep 0.3\necho 'migrated' >> order\nexit {migrate_code}"),
    );
    app("api", "touch api-ready\nwhile true; do sleep 0.1; done");
    app("cache", "while true; do sleep 0.1; done");
    let file = t.path("eco.yaml");
    std::fs::write(
        &file,
        "apps:
  - name: api
    script: ./api.sh
    depends_on:
      migrate: { condition: completed }
    health_check: { command: test -f api-ready, interval: 200ms, retries: 100 }
  - name: migrate
    script: ./migrate.sh
    autorestart: false
    depends_on: [db]
  - name: db
    script: ./db.sh
    health_check: { command: test -f db-ready, interval: 200ms, retries: 100 }
  - name: cache
    script: ./cache.sh
",
    )
    .expect("write eco.yaml");
    file
}

#[test]
fn a_chain_starts_in_order_waits_and_stops_in_reverse() {
    let t = TestHome::new();
    let file = chain(&t, 0);
    let order = t.path("order");
    let out = t.run(&["start", file.to_str().expect("utf8")]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // `start` returned once everything was ready, and said so per app.
    for name in ["db", "migrate", "api", "cache"] {
        assert!(
            stdout.contains(&format!("ready {name} (id")),
            "no ready line for {name}: {stdout}"
        );
    }
    assert!(
        stdout.contains("added api") && stdout.contains("waiting for migrate (completed)"),
        "{stdout}"
    );
    let api = t.process("api").expect("api");
    assert_eq!(api["status"], "online", "{api}");
    assert_eq!(api["readiness"], "ready", "{api}");
    let seen = lines(&order);
    // db first (cache beside it, not held back), migrate once db was ready, api once the
    // migration exited 0.
    assert!(
        index(&seen, "start cache") < index(&seen, "migrated"),
        "{seen:?}"
    );
    assert!(
        index(&seen, "start db") < index(&seen, "start migrate after-db"),
        "{seen:?}"
    );
    assert!(
        index(&seen, "migrated") < index(&seen, "start api after-db"),
        "{seen:?}"
    );
    let migrate = t.process("migrate").expect("migrate");
    assert_eq!(migrate["status"], "stopped", "{migrate}");
    assert_eq!(migrate["exit_code"], 0, "{migrate}");

    // describe shows the dependencies, in JSON and for people.
    let out = t.ok(&["describe", "api", "--json"]);
    let d: Vec<Value> = serde_json::from_str(&out).expect("describe --json");
    assert_eq!(
        d[0]["spec"]["depends_on"],
        serde_json::json!([{"name": "migrate", "condition": "completed"}]),
        "{out}"
    );
    let human = t.ok(&["describe", "api"]);
    assert!(human.contains("migrate (completed)"), "{human}");

    // Stop in reverse order: api before db.
    std::fs::write(&order, "").expect("clear");
    t.ok(&["stop", file.to_str().expect("utf8")]);
    let seen = lines(&order);
    assert!(
        index(&seen, "stop api") < index(&seen, "stop db"),
        "{seen:?}"
    );

    // Again from stopped (the file applied a second time), then `kill` in reverse order.
    std::fs::remove_file(t.path("db-ready")).expect("rm db-ready");
    std::fs::write(&order, "").expect("clear");
    t.ok(&["start", file.to_str().expect("utf8")]);
    let seen = lines(&order);
    assert!(
        index(&seen, "migrated") < index(&seen, "start api after-db"),
        "{seen:?}"
    );
    std::fs::write(&order, "").expect("clear");
    t.ok(&["kill"]);
    let seen = lines(&order);
    assert!(
        index(&seen, "stop api") < index(&seen, "stop db"),
        "{seen:?}"
    );
}

#[test]
fn a_daemon_killed_mid_way_restores_the_chain_in_order() {
    let t = TestHome::new();
    let file = chain(&t, 0);
    let order = t.path("order");
    t.ok(&["start", file.to_str().expect("utf8")]);
    let pid = t.daemon_pid().expect("daemon pid");
    let _ = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .output();
    common::wait_until("the daemon to be gone", || {
        (!common::alive(i64::from(pid))).then_some(())
    })
    .expect("daemon gone");
    std::fs::remove_file(t.path("db-ready")).expect("rm db-ready");
    std::fs::write(&order, "").expect("clear");
    // The next command starts a daemon, which ends the leftovers and restores in order:
    // migrate completed under the earlier daemon, so api waits for what migrate needed.
    t.ok(&["ls"]);
    let api = t.wait_for("api", "api online again", |p| p["status"] == "online");
    assert!(api["pid"].is_number(), "{api}");
    // `api-ready` is left from the first daemon's run, so api's probe may pass before its
    // script has written its line: wait for the line.
    let seen = common::wait_until("api's start line", || {
        let seen = lines(&order);
        seen.iter()
            .any(|l| l.starts_with("start api"))
            .then_some(seen)
    })
    .unwrap_or_else(|| lines(&order));
    let starts: Vec<&String> = seen.iter().filter(|l| l.starts_with("start api")).collect();
    assert_eq!(starts, ["start api after-db"], "{seen:?}");
    assert!(
        !seen.iter().any(|l| l.starts_with("start migrate")),
        "a completed migration is not run again by recovery: {seen:?}"
    );
}

#[test]
fn a_failed_migration_keeps_api_stopped_and_start_says_why() {
    let t = TestHome::new();
    let file = chain(&t, 3);
    let out = t.run(&["start", file.to_str().expect("utf8")]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("failed api (id")
            && stdout.contains("not started: migrate (completed): exited with code 3"),
        "{stdout}"
    );
    assert!(
        stderr.contains("did not become ready") && stderr.contains("api (id"),
        "{stderr}"
    );
    // The count's noun agrees with it, never `app(s)`.
    assert!(
        stderr.contains(" apps did not") || stderr.contains(" 1 app did not"),
        "{stderr}"
    );
    let api = t.process("api").expect("api");
    assert_eq!(api["status"], "stopped", "{api}");
    assert!(api["pid"].is_null(), "{api}");
    assert!(
        api["status_reason"]
            .as_str()
            .is_some_and(|r| r.starts_with("not started: migrate (completed)")),
        "{api}"
    );
    assert!(
        !lines(&t.path("order"))
            .iter()
            .any(|l| l.starts_with("start api")),
        "api never ran"
    );

    // --no-wait returns at once, the order is kept by the daemon all the same.
    t.ok(&["delete", "all"]);
    let _ = std::fs::remove_file(t.path("db-ready"));
    let out = t.ok(&["start", file.to_str().expect("utf8"), "--no-wait"]);
    assert!(!out.contains("ready db"), "{out}");
    let api = t.process("api").expect("api");
    assert_eq!(api["status"], "stopped", "{api}");
    t.wait_for("api", "api not started", |p| {
        p["status_reason"]
            .as_str()
            .is_some_and(|r| r.contains("exited with code 3"))
    });
}

#[test]
fn a_cycle_is_refused_with_its_line_and_nothing_starts() {
    let t = TestHome::new();
    t.script("w.sh", "#!/bin/sh\nexec sleep 600\n");
    let file = t.path("cycle.yaml");
    std::fs::write(
        &file,
        "apps:\n  - name: a\n    script: ./w.sh\n    depends_on: [b]\n  - name: b\n    script: ./w.sh\n    depends_on: { a: started }\n",
    )
    .expect("write");
    let out = t.run(&["start", file.to_str().expect("utf8")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("cycle.yaml:4:18")
            && stderr.contains("dependency cycle: a → b → a")
            && stderr.contains("nothing was started"),
        "{stderr}"
    );
    assert!(t.list().is_empty());
    std::fs::write(
        t.path("unknown.json"),
        r#"{"apps": [{"name": "a", "script": "./w.sh", "depends_on": ["bb"]}, {"name": "b", "script": "./w.sh"}]}"#,
    )
    .expect("write");
    let out = t.run(&["start", "unknown.json"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("unknown.json:1:")
            && stderr.contains("depends on \"bb\", which is not an app of this file"),
        "{stderr}"
    );
}
