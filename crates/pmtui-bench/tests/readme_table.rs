//! The README's benchmark table is the committed report's: `pmtui-bench table --check`
//! regenerates it from the newest `bench/results/*.json` and compares.

use std::path::Path;
use std::process::Command;

#[test]
fn the_readme_table_matches_the_committed_report() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let has_report = std::fs::read_dir(root.join("bench/results")).is_ok_and(|d| {
        d.flatten()
            .any(|e| e.path().extension().is_some_and(|x| x == "json"))
    });
    if !has_report {
        eprintln!("no report in bench/results yet: nothing to compare");
        return;
    }
    let output = Command::new(env!("CARGO_BIN_EXE_pmtui-bench"))
        .args(["table", "--check", "--readme"])
        .arg(root.join("README.md"))
        .output()
        .expect("pmtui-bench runs");
    assert!(
        output.status.success(),
        "the README's benchmark table differs from the newest report in bench/results; \
         run `cargo run -p pmtui-bench -- table`: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}
