//! A change the daemon has acknowledged is on disk: a daemon killed with SIGKILL right
//! after `stop` or `delete` replied is replaced by one that does not run the process again.

mod common;
use common::{TestHome, alive, wait_until};

fn sigkill_daemon(t: &TestHome) {
    let daemon = t.daemon_pid().expect("a daemon runs");
    std::process::Command::new("kill")
        .args(["-9", &daemon.to_string()])
        .status()
        .expect("kill -9");
    wait_until("the daemon is gone", || {
        (!alive(i64::from(daemon))).then_some(())
    })
    .expect("the daemon died");
}

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
        sigkill_daemon(&t);
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
