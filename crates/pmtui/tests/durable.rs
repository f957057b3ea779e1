//! A change the daemon has acknowledged is on disk: a daemon killed with SIGKILL right
//! after `stop` or `delete` replied is replaced by one that does not run the process again.

mod common;
use common::TestHome;

#[test]
fn stop_and_delete_survive_an_immediate_sigkill_of_the_daemon() {
    let t = TestHome::new();
    // A few rounds: the window was a matter of milliseconds.
    for round in 0..4 {
        let (kept, gone) = (format!("kept{round}"), format!("gone{round}"));
        t.ok(&["start", "sleep 300", "--name", &kept]);
        t.ok(&["start", "sleep 300", "--name", &gone]);
        t.ok(&["stop", &kept]);
        t.ok(&["delete", &gone]);
        t.sigkill_daemon();
        let list = t.list();
        let row = list
            .iter()
            .find(|p| p["name"] == kept.as_str())
            .unwrap_or_else(|| panic!("round {round}: {kept} is known: {list:?}"));
        assert_eq!(row["status"], "stopped", "round {round}: {row}");
        assert!(
            list.iter().all(|p| p["name"] != gone.as_str()),
            "round {round}: {gone} stays deleted: {list:?}"
        );
        t.ok(&["delete", &kept]);
    }
}

#[test]
fn every_app_of_a_large_file_is_on_disk_when_start_replies() {
    let t = TestHome::new();
    // More apps than the daemon writes one after another: their files are written by a
    // few threads together, and every one must be there when `start` replies. (Not after a
    // SIGKILL: the next daemon ends the leftovers one at a time, too slowly for 40.)
    let count = 40;
    let apps: Vec<serde_json::Value> = (0..count)
        .map(|i| {
            serde_json::json!({
                "name": format!("batch{i}"),
                "script": "/bin/sleep",
                "args": ["300"],
                "interpreter": "none",
            })
        })
        .collect();
    let file = t.path("apps.json");
    std::fs::write(&file, serde_json::json!({ "apps": apps }).to_string()).expect("write file");
    t.ok(&["start", file.to_str().expect("utf-8 path")]);
    for i in 0..count {
        let path = t.home().join("processes").join(format!("batch{i}.json"));
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|err| panic!("batch{i} has no file {}: {err}", path.display()));
        let records: serde_json::Value = serde_json::from_str(&text).expect("a JSON file");
        let record = &records[0];
        assert_eq!(record["spec"]["name"], format!("batch{i}"), "{text}");
        assert_eq!(record["desired"], "running", "{text}");
    }
    assert_eq!(t.list().len(), count);
}
