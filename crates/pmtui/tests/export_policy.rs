//! `pmtui export` writes only what differs from the defaults, down to single keys of the
//! restart policy, and the file starts the same policy again.

mod common;
use common::TestHome;
use serde_json::{Value, json};

fn policy(t: &TestHome) -> Value {
    let out = t.ok(&["describe", "p", "--json"]);
    let detail: Vec<Value> = serde_json::from_str(&out).expect("describe --json");
    detail[0]["spec"]["restart"].clone()
}

#[test]
fn export_writes_only_the_policy_keys_that_differ_and_reads_back_the_same() {
    let t = TestHome::new();
    t.ok(&[
        "start",
        "sleep 300",
        "--name",
        "p",
        "--max-restarts",
        "2",
        "--exp-backoff-restart-delay",
        "100ms",
    ]);
    let before = policy(&t);
    let out = t.ok(&["export", "--format", "json"]);
    let file: Value = serde_json::from_str(&out).expect("export is JSON");
    let app = &file["apps"][0];
    assert_eq!(
        app["restart_policy"],
        json!({"max_restarts": 2, "backoff": {"type": "exponential", "delay": 100}}),
        "{app}"
    );
    let path = t.path("back.json");
    std::fs::write(&path, &out).expect("write");
    t.ok(&["delete", "all"]);
    t.ok(&["start", path.to_str().expect("utf8")]);
    assert_eq!(policy(&t), before);
}

#[test]
fn export_of_more_apps_than_one_describe_batch_writes_them_all() {
    let t = TestHome::new();
    let apps: Vec<Value> = (0..120)
        .map(|i| json!({"name": format!("a{i}"), "script": "sleep 300"}))
        .collect();
    let file = t.path("many.json");
    std::fs::write(&file, json!({ "apps": apps }).to_string()).expect("write");
    t.ok(&["start", file.to_str().expect("utf8")]);
    let out = t.ok(&["export", "--format", "json"]);
    let exported: Value = serde_json::from_str(&out).expect("export is JSON");
    let names: Vec<&str> = exported["apps"]
        .as_array()
        .expect("apps")
        .iter()
        .filter_map(|a| a["name"].as_str())
        .collect();
    assert_eq!(names.len(), 120, "{names:?}");
    assert_eq!(names[0], "a0");
    assert_eq!(names[119], "a119");
}
