//! The verbs that write files for the user's tools and need no daemon: `schema` (editors).

mod common;

use common::TestHome;
use std::path::Path;

fn repo(relative: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn schema_prints_the_committed_schema_without_a_daemon() {
    let t = TestHome::new();
    let out = t.ok(&["schema"]);
    assert_eq!(out, repo("docs/ecosystem.schema.json"));
    let schema: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(schema["$schema"], "http://json-schema.org/draft-07/schema#");
    assert!(schema["definitions"]["app"]["properties"]["maxMemoryRestart"].is_object());

    let settings: serde_json::Value =
        serde_json::from_str(&t.ok(&["schema", "--settings"])).expect("JSON");
    assert_eq!(settings["$ref"], "#/definitions/settings");
    assert!(settings["definitions"]["settings"]["properties"]["log_max_size"].is_object());
    assert!(
        !t.home().join("pmtui.sock").exists() && t.daemon_pid().is_none(),
        "schema started a daemon"
    );
}
