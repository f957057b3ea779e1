//! The generated parts of the docs are what the field table says today: the reference
//! tables of `docs/configuration.md` and the README, and `docs/ecosystem.schema.json`.
//! After a change to the table, `PMTUI_UPDATE_DOCS=1 cargo test -p pmtui-config docs`
//! rewrites them. And every relative link between the README and the docs leads somewhere:
//! a file that exists, and a heading that exists in it.

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

/// GitHub's anchor of a heading: lower case, spaces to `-`, punctuation dropped.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// The anchors of a markdown file's headings (outside code blocks).
fn anchors(text: &str) -> Vec<String> {
    let mut fenced = false;
    let mut out = Vec::new();
    for line in text.lines() {
        if line.starts_with("```") {
            fenced = !fenced;
        } else if !fenced && let Some(heading) = line.strip_prefix('#') {
            out.push(anchor(heading.trim_start_matches('#')));
        }
    }
    out
}

/// The targets of the markdown links `](target)` in a text.
fn links(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("](") {
        rest = &rest[at + 2..];
        if let Some(end) = rest.find(')') {
            out.push(rest[..end].to_string());
        }
    }
    out
}

#[test]
fn docs_links_lead_to_files_and_headings_that_exist() {
    let mut files = vec![PathBuf::from("README.md")];
    let dir = root().join("docs");
    for entry in std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("docs/: {e}"))
        .flatten()
    {
        if entry.path().extension().is_some_and(|e| e == "md") {
            files.push(Path::new("docs").join(entry.file_name()));
        }
    }
    let mut broken = Vec::new();
    for file in &files {
        let text = read(&file.display().to_string());
        for link in links(&text) {
            if link.contains("://") || link.starts_with("mailto:") || link.contains(' ') {
                continue;
            }
            let (path, fragment) = link.split_once('#').unwrap_or((link.as_str(), ""));
            let target = if path.is_empty() {
                root().join(file)
            } else {
                root().join(file).parent().unwrap_or(&root()).join(path)
            };
            if !target.exists() {
                broken.push(format!("{}: {link}: no such file", file.display()));
                continue;
            }
            if !fragment.is_empty() && target.extension().is_some_and(|e| e == "md") {
                let text = std::fs::read_to_string(&target).unwrap_or_default();
                if !anchors(&text).iter().any(|a| a == fragment) {
                    broken.push(format!("{}: {link}: no such heading", file.display()));
                }
            }
        }
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}
