//! pm2's `ecosystem.config.js` / `.cjs` / `.mjs`: evaluated by `node` (when installed), which
//! writes the exported object as JSON to a private temporary file named on its command line,
//! never to stdout: a config may print whatever it likes (`console.log`, even JSON), and what
//! it prints is handed back to be shown on the user's stderr. Positions in the JSON mean
//! nothing to the user, so each key is then looked up in the JavaScript source, in order, and
//! errors point there.

use crate::json::{self, SyntaxError};
use crate::node::{Node, Pos, Value};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A file that takes longer than this to evaluate is given up on (it started something that
/// never ends, or waits on a promise that never settles).
const EVAL_TIMEOUT: Duration = Duration::from_secs(30);

/// Writes the module's export (CommonJS `module.exports` or an ESM default export) as JSON to
/// the file named by the second argument, then exits once what the module printed is out.
const EVAL: &str = r#"
const file = process.argv[1];
const out = process.argv[2];
const url = require('url');
const fs = require('fs');
(async () => {
  let mod;
  if (file.endsWith('.mjs')) {
    mod = await import(url.pathToFileURL(file).href);
  } else {
    try { mod = require(file); }
    catch (e) {
      if (e && (e.code === 'ERR_REQUIRE_ESM' || e.code === 'ERR_REQUIRE_ASYNC_MODULE')) {
        mod = await import(url.pathToFileURL(file).href);
      } else { throw e; }
    }
  }
  let conf = await mod;
  if (conf && typeof conf === 'object' && 'default' in conf && !('apps' in conf)) conf = await conf.default;
  if (typeof conf === 'function') conf = await conf();
  const json = JSON.stringify(conf === undefined ? null : conf);
  fs.writeFileSync(out, json === undefined ? 'null' : json);
  process.stdout.write('', () => process.stderr.write('', () => process.exit(0)));
})().catch((e) => {
  process.stderr.write(String(e && e.stack || e) + '\n', () => process.exit(3));
});
"#;

/// Why a JavaScript file could not be read.
pub enum JsError {
    /// node is not installed.
    NoNode,
    Failed(SyntaxError),
}

/// What evaluating a file gave: its export, and what it printed on stdout and stderr.
pub struct Evaluated {
    pub doc: Node,
    pub printed: String,
}

pub fn evaluate(
    path: &Path,
    text: &str,
    env: &BTreeMap<String, String>,
) -> Result<Evaluated, JsError> {
    let Some(node) = crate::lookup::which("node", env) else {
        return Err(JsError::NoNode);
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    let failed = |message: String| {
        JsError::Failed(SyntaxError {
            pos: Pos::START,
            message,
        })
    };
    // Created by us (mode 0600, a fresh name), removed when dropped.
    let out = tempfile::Builder::new()
        .prefix("pmtui-config-")
        .suffix(".json")
        .tempfile()
        .map_err(|e| {
            failed(format!(
                "cannot create a temporary file for node's answer: {e}"
            ))
        })?;
    let child = Command::new(node)
        .arg("-e")
        .arg(EVAL)
        .arg(path)
        .arg(out.path())
        .current_dir(dir)
        .env_clear()
        .envs(env)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| failed(format!("cannot run node: {e}")))?;
    let output = wait_with_deadline(child, EVAL_TIMEOUT).map_err(failed)?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(JsError::Failed(node_failure(path, &stderr)));
    }
    let json = std::fs::read_to_string(out.path())
        .map_err(|e| failed(format!("cannot read node's answer: {e}")))?;
    if json.is_empty() {
        return Err(failed(
            "the file ended node before its export could be read (does it call process.exit()?)"
                .into(),
        ));
    }
    let mut doc = json::parse(&json)
        .map_err(|e| failed(format!("node's answer is not JSON: {}", e.message)))?;
    let mut finder = Finder {
        source: text,
        cursor: 0,
    };
    relocate(&mut doc, &mut finder, Pos::START);
    let mut printed = String::from_utf8_lossy(&output.stdout).into_owned();
    printed.push_str(&String::from_utf8_lossy(&output.stderr));
    Ok(Evaluated { doc, printed })
}

/// Waits for node, reading its output as it comes; kills it after `limit`.
fn wait_with_deadline(mut child: Child, limit: Duration) -> Result<Output, String> {
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if start.elapsed() < limit => std::thread::sleep(Duration::from_millis(10)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "node did not finish evaluating the file within {} s",
                    limit.as_secs()
                ));
            }
            Err(e) => return Err(format!("cannot wait for node: {e}")),
        }
    };
    Ok(Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    })
}

/// The position and message of an error node reported, found in its stack trace.
fn node_failure(path: &Path, stderr: &str) -> SyntaxError {
    let file = path.display().to_string();
    let lines: Vec<&str> = stderr.lines().collect();
    let mut pos = Pos::START;
    // A syntax error: "<file>:<line>", the source line, then a caret under the column.
    if let Some(i) = lines.iter().position(|l| {
        l.strip_prefix(&file)
            .and_then(|r| r.strip_prefix(':'))
            .is_some_and(|n| n.parse::<u32>().is_ok())
    }) {
        let line = lines[i][file.len() + 1..].parse().unwrap_or(1);
        let col = lines
            .get(i + 2)
            .and_then(|caret| caret.find('^'))
            .map_or(1, |c| c as u32 + 1);
        pos = Pos::new(line, col);
    } else if let Some(at) = stderr.find(&format!("{file}:")) {
        // A runtime error: "(<file>:<line>:<col>)" in the stack.
        let rest = &stderr[at + file.len() + 1..];
        let mut parts = rest.split(|c: char| !c.is_ascii_digit());
        let line = parts.next().and_then(|n| n.parse().ok());
        let col = parts.next().and_then(|n| n.parse().ok());
        if let (Some(line), Some(col)) = (line, col) {
            pos = Pos::new(line, col);
        }
    }
    let message = lines
        .iter()
        .find(|l| {
            let l = l.trim_start();
            l.split(':')
                .next()
                .is_some_and(|name| name.ends_with("Error") && !name.contains(' '))
        })
        .map_or_else(
            || {
                lines
                    .iter()
                    .rev()
                    .find(|l| !l.trim().is_empty())
                    .copied()
                    .unwrap_or("node failed")
                    .trim()
                    .to_string()
            },
            |l| l.trim().to_string(),
        );
    SyntaxError { pos, message }
}

struct Finder<'a> {
    source: &'a str,
    cursor: usize,
}

impl Finder<'_> {
    /// The next place after the cursor (else anywhere) where `key` is written as a key.
    fn key(&mut self, key: &str) -> Option<Pos> {
        let at =
            find_key(self.source, key, self.cursor).or_else(|| find_key(self.source, key, 0))?;
        self.cursor = at + key.len();
        Some(Pos::of_offset(self.source, at))
    }
}

fn find_key(source: &str, key: &str, from: usize) -> Option<usize> {
    let mut start = from;
    while let Some(found) = source.get(start..)?.find(key) {
        let at = start + found;
        let before = source[..at].chars().next_back();
        let after = &source[at + key.len()..];
        let quoted = matches!(before, Some('"' | '\'' | '`'));
        let after = if quoted {
            after.get(1..).unwrap_or("")
        } else {
            after
        };
        let boundary = !before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$');
        if boundary && after.trim_start().starts_with(':') {
            return Some(if quoted { at - 1 } else { at });
        }
        start = at + key.len().max(1);
    }
    None
}

fn relocate(node: &mut Node, finder: &mut Finder<'_>, at: Pos) {
    node.pos = at;
    match &mut node.value {
        Value::Map(entries) => {
            for (key, value) in entries {
                let pos = finder.key(&key.name).unwrap_or(at);
                key.pos = pos;
                relocate(value, finder, pos);
            }
        }
        Value::Seq(items) => {
            for item in items {
                relocate(item, finder, at);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_found_in_the_source_in_order() {
        let src = "module.exports = {\n  apps: [{\n    name: 'a',\n  }, {\n    \"name\": 'b',\n    nmae: 1\n  }]\n}\n";
        let mut doc =
            json::parse(r#"{"apps":[{"name":"a"},{"name":"b","nmae":1}]}"#).expect("json");
        relocate(
            &mut doc,
            &mut Finder {
                source: src,
                cursor: 0,
            },
            Pos::START,
        );
        let Some(Value::Seq(apps)) = doc.get("apps").map(|n| &n.value) else {
            panic!("list")
        };
        let Value::Map(second) = &apps[1].value else {
            panic!("table")
        };
        assert_eq!(second[0].0.pos, Pos::new(5, 5));
        assert_eq!(second[1].0.pos, Pos::new(6, 5));
    }
}
