//! The reference tables of the docs, generated from the field table. A markdown file holds
//! hand-written prose and, between `<!-- fields: ID -->` and `<!-- /fields -->` markers, the
//! table of one block (`app`, `app.restart_policy`, `file`, `settings`, …), which `render`
//! rewrites. A test compares the committed files with `render`'s output, so the docs cannot
//! drift from the table; `PMTUI_UPDATE_DOCS=1 cargo test -p pmtui-config docs` rewrites them.

use super::{Field, json::status_note, tables};

const OPEN: &str = "<!-- fields: ";
const CLOSE: &str = "<!-- /fields -->";

/// The markdown table of one block.
pub fn table(fields: &[Field]) -> String {
    let mut out = String::from("| key | aliases | type | meaning |\n|---|---|---|---|\n");
    for field in fields {
        let aliases: Vec<String> = field.aliases.iter().map(|a| format!("`{a}`")).collect();
        // The status note in italics.
        let doc = match (status_note(field), field.doc.is_empty()) {
            (None, _) => field.doc.to_string(),
            (Some(note), true) => format!("*{note}*"),
            (Some(note), false) => format!("{} *{note}*", field.doc),
        };
        out.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            field.name,
            aliases.join(", "),
            cell(field.kind),
            cell(&doc),
        ));
    }
    out
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

/// The ids of the generated sections of a markdown text, in order.
pub fn sections(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| line.trim().strip_prefix(OPEN)?.strip_suffix("-->"))
        .map(|id| id.trim().to_string())
        .collect()
}

/// The text with every generated section rewritten from the table.
pub fn render(text: &str) -> Result<String, String> {
    let all = tables();
    let mut out = String::with_capacity(text.len());
    let mut lines = text.split_inclusive('\n').enumerate();
    while let Some((n, line)) = lines.next() {
        out.push_str(line);
        let Some(id) = line
            .trim()
            .strip_prefix(OPEN)
            .and_then(|rest| rest.strip_suffix("-->"))
            .map(str::trim)
        else {
            continue;
        };
        let Some(table_of) = all.iter().find(|t| t.id == id) else {
            let known: Vec<&str> = all.iter().map(|t| t.id.as_str()).collect();
            return Err(format!(
                "line {}: no block {id:?} (the blocks: {})",
                n + 1,
                known.join(", ")
            ));
        };
        // Skip the old table up to the closing marker, then write the new one.
        let close = loop {
            match lines.next() {
                Some((_, l)) if l.trim() == CLOSE => break l,
                Some(_) => {}
                None => {
                    return Err(format!(
                        "line {}: {OPEN}{id} --> is not closed by {CLOSE}",
                        n + 1
                    ));
                }
            }
        };
        out.push_str(&table(table_of.fields));
        out.push_str(close);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_are_rewritten_and_prose_kept() {
        let text = "# Keys\n\nprose\n<!-- fields: app.restart_policy.backoff -->\nold\n<!-- /fields -->\nmore prose\n";
        let out = render(text).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            out.starts_with(
                "# Keys\n\nprose\n<!-- fields: app.restart_policy.backoff -->\n| key |"
            )
        );
        assert!(out.contains("| `factor` |  | number |"));
        assert!(!out.contains("old"));
        assert!(out.ends_with("<!-- /fields -->\nmore prose\n"));
        assert_eq!(sections(&out), ["app.restart_policy.backoff"]);
        assert!(render("<!-- fields: nope -->\n<!-- /fields -->\n").is_err());
        assert!(render("<!-- fields: app -->\n").is_err());
    }
}
