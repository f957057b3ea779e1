//! `scale` and instance numbers against a real daemon: pm2's order (new instances copy the
//! first and take the lowest free number, removed ones are the oldest ids), untouched
//! instances keep their pids, `start <app> -i N` scales instead of restarting, `-i max` and
//! `-i -1`, and pm2's `increment-var.sh` flow (instance_var, increment_var) from a file.

mod common;
use common::TestHome;
use serde_json::Value;
use std::collections::BTreeMap;

/// id → (instance, pid, the instance variable `var`, PORT) of every process named `name`,
/// once `n` of them are online.
fn instances(
    t: &TestHome,
    name: &str,
    n: usize,
    var: &str,
) -> BTreeMap<u64, (u64, u64, String, String)> {
    common::wait_until(&format!("{n} online {name}"), || {
        let rows: Vec<Value> = t.list().into_iter().filter(|p| p["name"] == name).collect();
        (rows.len() == n && rows.iter().all(|p| p["status"] == "online")).then_some(())
    })
    .unwrap_or_else(|| panic!("{n} instances of {name} never came online: {:?}", t.list()));
    let out = t.ok(&["describe", name, "--json"]);
    let details: Vec<Value> = serde_json::from_str(&out).expect("describe --json");
    details
        .iter()
        .map(|d| {
            let text = |v: &Value| v.as_str().unwrap_or("-").to_string();
            (
                d["id"].as_u64().expect("id"),
                (
                    d["instance"].as_u64().expect("instance"),
                    d["pid"].as_u64().expect("pid"),
                    text(&d["env"][var]),
                    text(&d["env"]["PORT"]),
                ),
            )
        })
        .collect()
}

fn pids(map: &BTreeMap<u64, (u64, u64, String, String)>) -> BTreeMap<u64, u64> {
    map.iter().map(|(id, (_, pid, _, _))| (*id, *pid)).collect()
}

#[test]
fn scale_2_4_1_leaves_the_untouched_instances_running() {
    let t = TestHome::new();
    t.ok(&["start", "sleep 300", "--name", "app", "-i", "2"]);
    let two = pids(&instances(&t, "app", 2, "NODE_APP_INSTANCE"));

    let out = t.ok(&["scale", "app", "4"]);
    assert_eq!(out.matches("started app").count(), 2, "{out}");
    let four = pids(&instances(&t, "app", 4, "NODE_APP_INSTANCE"));
    for (id, pid) in &two {
        assert_eq!(four.get(id), Some(pid), "instance {id} was not restarted");
    }

    let out = t.ok(&["scale", "app", "1"]);
    assert_eq!(out.matches("deleted app").count(), 3, "{out}");
    let one = pids(&instances(&t, "app", 1, "NODE_APP_INSTANCE"));
    // pm2's order: the oldest go; the newest stays, still the same run.
    let (id, pid) = one.iter().next().expect("one left");
    assert_eq!(*id, 3, "the newest id stays: {one:?}");
    assert_eq!(four.get(id), Some(pid));

    // +K and -K; the stored count follows.
    t.ok(&["scale", "app", "+2"]);
    instances(&t, "app", 3, "NODE_APP_INSTANCE");
    t.ok(&["scale", "app", "-1"]);
    let now = instances(&t, "app", 2, "NODE_APP_INSTANCE");
    let out = t.ok(&["describe", "app", "--json"]);
    let details: Vec<Value> = serde_json::from_str(&out).expect("json");
    assert!(details.iter().all(|d| d["spec"]["instances"] == 2), "{out}");
    assert!(!now.contains_key(&3), "the oldest went first: {now:?}");

    let out = t.run(&["scale", "app", "-2"]);
    assert!(!out.status.success(), "scaling to nothing is refused");
    assert!(String::from_utf8_lossy(&out.stderr).contains("pmtui delete"));
    let out = t.run(&["scale", "nothing", "2"]);
    assert!(!out.status.success());
}

#[test]
fn start_with_a_new_count_scales_instead_of_restarting() {
    let t = TestHome::new();
    t.ok(&["start", "sleep 300", "--name", "web", "-i", "2"]);
    let two = pids(&instances(&t, "web", 2, "NODE_APP_INSTANCE"));
    let out = t.ok(&["start", "web", "-i", "4"]);
    assert!(!out.contains("restarted"), "{out}");
    let four = pids(&instances(&t, "web", 4, "NODE_APP_INSTANCE"));
    for (id, pid) in &two {
        assert_eq!(four.get(id), Some(pid), "{out}");
    }
    let out = t.ok(&["start", "web", "-i", "3"]);
    assert!(out.contains("deleted web (id 0)"), "{out}");
    let three = pids(&instances(&t, "web", 3, "NODE_APP_INSTANCE"));
    for (id, pid) in &three {
        assert_eq!(four.get(id), Some(pid));
    }
}

#[test]
fn instances_max_and_minus_one_follow_the_cpu_count() {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let t = TestHome::new();
    t.ok(&["start", "sleep 300", "--name", "max", "-i", "max"]);
    instances(&t, "max", cpus, "NODE_APP_INSTANCE");
    t.ok(&["start", "sleep 300", "--name", "less", "-i", "-1"]);
    instances(&t, "less", (cpus - 1).max(1), "NODE_APP_INSTANCE");
}

/// pm2's `test/e2e/internals/increment-var.sh`, on pmtui.
#[test]
fn pm2_increment_var_flow() {
    let t = TestHome::new();
    let file = t.path("ecosystem.json");
    std::fs::write(
        &file,
        r#"[
  {"name": "sample-normal", "instances": "2", "exec_mode": "fork", "script": "sleep 300"},
  {"name": "sample-other-instance", "instances": "2", "instance_var": "APP_ID", "script": "sleep 300"},
  {"name": "sample-increment", "instances": "2", "increment_var": "PORT", "script": "sleep 300",
   "env": {"PORT": 3000}}
]"#,
    )
    .expect("write");
    let file = file.to_str().expect("utf-8");
    t.ok(&["start", file, "--only", "sample-normal"]);
    let numbers = |map: &BTreeMap<u64, (u64, u64, String, String)>| -> Vec<String> {
        let mut v: Vec<String> = map.values().map(|(_, _, var, _)| var.clone()).collect();
        v.sort();
        v
    };
    let m = instances(&t, "sample-normal", 2, "NODE_APP_INSTANCE");
    assert_eq!(numbers(&m), ["0", "1"]);
    t.ok(&["scale", "sample-normal", "4"]);
    let m = instances(&t, "sample-normal", 4, "NODE_APP_INSTANCE");
    assert_eq!(numbers(&m), ["0", "1", "2", "3"]);
    t.ok(&["scale", "sample-normal", "2"]);
    let m = instances(&t, "sample-normal", 2, "NODE_APP_INSTANCE");
    assert_eq!(numbers(&m), ["2", "3"], "the oldest (0 and 1) went");
    t.ok(&["scale", "sample-normal", "4"]);
    let m = instances(&t, "sample-normal", 4, "NODE_APP_INSTANCE");
    assert_eq!(numbers(&m), ["0", "1", "2", "3"], "0 and 1 are reused");
    let ids: Vec<u64> = m.keys().copied().collect();
    assert_eq!(
        ids,
        [2, 3, 4, 5],
        "ids are not reused while the list is not empty"
    );
    t.ok(&["delete", "all"]);

    t.ok(&["start", file, "--only", "sample-other-instance"]);
    let m = instances(&t, "sample-other-instance", 2, "APP_ID");
    assert_eq!(numbers(&m), ["0", "1"]);
    let m = instances(&t, "sample-other-instance", 2, "NODE_APP_INSTANCE");
    assert_eq!(numbers(&m), ["-", "-"], "APP_ID replaces NODE_APP_INSTANCE");
    t.ok(&["delete", "all"]);

    t.ok(&["start", file, "--only", "sample-increment"]);
    let m = instances(&t, "sample-increment", 2, "NODE_APP_INSTANCE");
    let mut ports: Vec<(String, String)> = m
        .values()
        .map(|(_, _, i, port)| (i.clone(), port.clone()))
        .collect();
    ports.sort();
    assert_eq!(
        ports,
        [("0", "3000"), ("1", "3001")].map(|(a, b)| (a.to_string(), b.to_string()))
    );
    // An instance keeps its port when the app is scaled around it.
    t.ok(&["scale", "sample-increment", "3"]);
    let m = instances(&t, "sample-increment", 3, "NODE_APP_INSTANCE");
    let mut ports: Vec<String> = m.values().map(|(_, _, _, p)| p.clone()).collect();
    ports.sort();
    assert_eq!(ports, ["3000", "3001", "3002"]);
}
