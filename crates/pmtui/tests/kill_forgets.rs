//! `pmtui kill` stops and forgets every process: no definition is left in `processes/` for
//! the next daemon to bring back, however the last writes of the old one were timed.

mod common;
use common::TestHome;

#[test]
fn after_kill_the_next_daemon_starts_empty() {
    let t = TestHome::new();
    // The race it guards against (a write of the old daemon landing after its final one)
    // showed about every other time; a few rounds make a regression fail reliably.
    for round in 0..6 {
        let name = format!("p{round}");
        t.ok(&["start", "sleep 300", "--name", &name]);
        t.ok(&["kill"]);
        let left: Vec<String> = std::fs::read_dir(t.home().join("processes"))
            .expect("processes/ exists")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert!(left.is_empty(), "round {round}: left on disk: {left:?}");
    }
    assert!(t.list().is_empty(), "a new daemon brought nothing back");
}
