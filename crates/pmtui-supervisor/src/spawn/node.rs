//! pmtui's Node preload (`node_preload.cjs`, shipped in the binary): written to
//! `$PMTUI_HOME/node/pmtui-node.cjs` the first time an app needs it, and put on the command
//! line with `--require` for Node apps that hold sockets (cluster mode) or report runtime
//! metrics (`node_metrics`, on by default; `PMTUI_NODE_METRICS` carries the interval).

use crate::SupervisorConfig;
use pmtui_proto::ProcessSpec;
use std::path::{Path, PathBuf};

const PRELOAD: &str = include_str!("node_preload.cjs");
/// The variable that turns the preload's runtime metrics on (its value: the interval, ms).
pub const METRICS_VAR: &str = "PMTUI_NODE_METRICS";

/// The preload's path, writing the file if it is missing or from another version.
pub(super) fn preload(config: &SupervisorConfig) -> std::io::Result<PathBuf> {
    let dir = config.home.join("node");
    let path = dir.join("pmtui-node.cjs");
    if std::fs::read_to_string(&path).is_ok_and(|text| text == PRELOAD) {
        return Ok(path);
    }
    std::fs::create_dir_all(&dir)?;
    // Written aside and renamed, so that a Node starting at the same time reads a whole file.
    let tmp = dir.join(format!("pmtui-node.cjs.{}", std::process::id()));
    std::fs::write(&tmp, PRELOAD)?;
    std::fs::rename(&tmp, &path)?;
    Ok(path)
}

/// Whether the program is Node itself (`node`, `nodejs`, `node20`, `node-18.1`), the only
/// program `--require` may be given to: `nodemon` or `node_exporter` also start with
/// "node" (`ProcessSpec::is_node`) and would refuse the option.
pub(super) fn takes_preload(spec: &ProcessSpec) -> bool {
    let program = spec.interpreter.as_deref().unwrap_or(&spec.script);
    let Some(name) = Path::new(program).file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    let rest = name
        .strip_prefix("nodejs")
        .or_else(|| name.strip_prefix("node"));
    rest.is_some_and(|r| {
        r.bytes()
            .all(|b| b.is_ascii_digit() || b == b'.' || b == b'-')
    })
}

/// Sets the metrics variable for a Node app with `node_metrics` while sampling is on.
pub(super) fn metrics_env(
    spec: &ProcessSpec,
    config: &SupervisorConfig,
    env: &mut super::ChildEnv,
) {
    env.remove(METRICS_VAR);
    if spec.node_metrics && config.metrics_interval_ms > 0 && takes_preload(spec) {
        env.set(METRICS_VAR, config.metrics_interval_ms.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_node_itself_takes_the_preload() {
        let spec = |script: &str, interpreter: Option<&str>| ProcessSpec {
            script: script.into(),
            interpreter: interpreter.map(Into::into),
            ..ProcessSpec::default()
        };
        for yes in [
            spec("app.js", Some("node")),
            spec("app.js", Some("/usr/bin/nodejs")),
            spec("app.js", Some("node20")),
            spec("node", None),
        ] {
            assert!(takes_preload(&yes), "{yes:?}");
        }
        for no in [
            spec("app.js", Some("nodemon")),
            spec("/usr/bin/node_exporter", None),
            spec("app.py", Some("python3")),
        ] {
            assert!(!takes_preload(&no), "{no:?}");
        }
    }
}
