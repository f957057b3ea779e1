//! The Node preload of cluster mode (`node_preload.cjs`, shipped in the binary): written to
//! `$PMTUI_HOME/node/pmtui-cluster.cjs` the first time an app needs it, and put on the
//! command line with `--require` for Node apps that hold sockets.

use crate::SupervisorConfig;
use std::path::PathBuf;

const PRELOAD: &str = include_str!("node_preload.cjs");

/// The preload's path, writing the file if it is missing or from another version.
pub(super) fn preload(config: &SupervisorConfig) -> std::io::Result<PathBuf> {
    let dir = config.home.join("node");
    let path = dir.join("pmtui-cluster.cjs");
    if std::fs::read_to_string(&path).is_ok_and(|text| text == PRELOAD) {
        return Ok(path);
    }
    std::fs::create_dir_all(&dir)?;
    // Written aside and renamed, so that a Node starting at the same time reads a whole file.
    let tmp = dir.join(format!("pmtui-cluster.cjs.{}", std::process::id()));
    std::fs::write(&tmp, PRELOAD)?;
    std::fs::rename(&tmp, &path)?;
    Ok(path)
}
