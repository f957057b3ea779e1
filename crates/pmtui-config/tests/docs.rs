//! The generated parts of the docs are what the field table says today: the reference
//! tables of `docs/configuration.md` and the README, and `docs/ecosystem.schema.json`.
//! After a change to the table, `PMTUI_UPDATE_DOCS=1 cargo test -p pmtui-config docs`
//! rewrites them.

use pmtui_config::schema::{self, docs};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

const UPDATE: &str = "PMTUI_UPDATE_DOCS=1 cargo test -p pmtui-config docs";

/// Compares a committed file with what it should be, or rewrites it when asked to.
fn check(relative: &str, expected: &str) {
    let path = root().join(relative);
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    if current == expected {
        return;
    }
    if std::env::var_os("PMTUI_UPDATE_DOCS").is_some() {
        std::fs::write(&path, expected).unwrap_or_else(|e| panic!("{relative}: {e}"));
        return;
    }
    let line = current
        .lines()
        .zip(expected.lines())
        .position(|(a, b)| a != b)
        .map_or_else(
            || current.lines().count().min(expected.lines().count()) + 1,
            |i| i + 1,
        );
    panic!(
        "{relative} is out of date with the field table (first difference at line {line}); run `{UPDATE}`"
    );
}

fn read(relative: &str) -> String {
    std::fs::read_to_string(root().join(relative)).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

#[test]
fn docs_tables_match_the_field_table() {
    for file in ["docs/configuration.md", "README.md"] {
        let text = read(file);
        let rendered = docs::render(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
        check(file, &rendered);
    }
}

#[test]
fn docs_configuration_has_every_block() {
    let text = read("docs/configuration.md");
    let present = docs::sections(&text);
    for table in schema::tables() {
        assert!(
            present.contains(&table.id),
            "docs/configuration.md has no table for `{id}`: add a section with \
             `<!-- fields: {id} -->` and `<!-- /fields -->` on their own lines, then run `{UPDATE}`",
            id = table.id
        );
    }
    // The README carries the app keys at least.
    assert!(docs::sections(&read("README.md")).contains(&"app".to_string()));
}

#[test]
fn docs_schema_file_matches_the_field_table() {
    let json =
        serde_json::to_string_pretty(&schema::json::ecosystem()).unwrap_or_else(|e| panic!("{e}"));
    check("docs/ecosystem.schema.json", &format!("{json}\n"));
}
