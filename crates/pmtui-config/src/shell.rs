//! The environment a started process inherits: the caller's shell, minus what `cargo run`
//! (and the rustup proxy in front of it) added for pmtui itself. Run as
//! `cargo run -- start app.py`, pmtui's process carries `CARGO_PKG_*`, `CARGO_MANIFEST_DIR`,
//! a `LD_LIBRARY_PATH` into `target/` and rustup's toolchain pin; none of that describes the
//! user's shell, and an app that runs `cargo` itself would build with pmtui's toolchain.

use std::collections::BTreeMap;

/// Variables that only `cargo run`/`cargo test` (or rustup's proxy) set for the program
/// they launch; exact names.
const CARGO_RUN_VARS: &[&str] = &[
    "CARGO",
    "CARGO_MANIFEST_DIR",
    "CARGO_MANIFEST_PATH",
    "CARGO_CRATE_NAME",
    "CARGO_BIN_NAME",
    "CARGO_PRIMARY_PACKAGE",
    "CARGO_TARGET_TMPDIR",
    "CARGO_RUSTC_CURRENT_DIR",
    "OUT_DIR",
    "RUSTUP_TOOLCHAIN",
    "RUSTUP_TOOLCHAIN_SOURCE",
    "RUST_RECURSION_COUNT",
];

/// Prefixes of the same (`CARGO_PKG_NAME`, `CARGO_BIN_EXE_pmtui`, …).
const CARGO_RUN_PREFIXES: &[&str] = &["CARGO_PKG_", "CARGO_BIN_EXE_"];

/// This process's environment as the apps it starts should see it. Variables whose name or
/// value is not UTF-8 are left out (a `ProcessSpec` carries text) instead of panicking as
/// `std::env::vars` would.
pub fn shell_env() -> BTreeMap<String, String> {
    let vars = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect();
    without_cargo_run(vars)
}

/// `vars` without what `cargo run` added, when it was `cargo run` that launched us: both
/// `CARGO` and `CARGO_MANIFEST_DIR` set, which a login shell never has. Otherwise unchanged
/// (a user's own `CARGO_HOME` or `RUSTUP_TOOLCHAIN` is theirs).
pub fn without_cargo_run(mut vars: BTreeMap<String, String>) -> BTreeMap<String, String> {
    let Some(manifest_dir) = vars.get("CARGO_MANIFEST_DIR").cloned() else {
        return vars;
    };
    if !vars.contains_key("CARGO") {
        return vars;
    }
    let rustup_home = vars.get("RUSTUP_HOME").cloned();
    vars.retain(|k, _| {
        !CARGO_RUN_VARS.contains(&k.as_str())
            && !CARGO_RUN_PREFIXES.iter().any(|p| k.starts_with(p))
    });
    // cargo prepends the build's own library folders (under the workspace's `target/`) and
    // the toolchain's; the user's own entries, if any, stay in their order.
    if let Some(path) = vars.get("LD_LIBRARY_PATH") {
        let workspace = workspace_of(&manifest_dir);
        let kept: Vec<&str> = path
            .split(':')
            .filter(|dir| !dir.is_empty())
            .filter(|dir| !dir.starts_with(&format!("{workspace}/target")))
            .filter(|dir| {
                rustup_home
                    .as_deref()
                    .is_none_or(|home| !dir.starts_with(&format!("{home}/toolchains/")))
            })
            .collect();
        if kept.is_empty() {
            vars.remove("LD_LIBRARY_PATH");
        } else {
            let kept = kept.join(":");
            vars.insert("LD_LIBRARY_PATH".into(), kept);
        }
    }
    vars
}

/// The workspace root of a crate's manifest folder: the nearest ancestor with a `target/`
/// folder or a `Cargo.lock`, else the folder itself.
fn workspace_of(manifest_dir: &str) -> String {
    let start = std::path::Path::new(manifest_dir);
    start
        .ancestors()
        .find(|dir| dir.join("Cargo.lock").is_file() || dir.join("target").is_dir())
        .unwrap_or(start)
        .display()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn cargo_run_variables_are_dropped_and_the_users_kept() {
        let got = without_cargo_run(vars(&[
            ("CARGO", "/r/toolchains/x/bin/cargo"),
            ("CARGO_MANIFEST_DIR", "/nowhere/ws/crates/pmtui"),
            ("CARGO_PKG_NAME", "pmtui"),
            ("CARGO_PKG_VERSION_MAJOR", "0"),
            ("CARGO_HOME", "/root/.cargo"),
            ("RUSTUP_HOME", "/r"),
            ("RUSTUP_TOOLCHAIN", "stable"),
            ("RUST_RECURSION_COUNT", "1"),
            (
                "LD_LIBRARY_PATH",
                "/nowhere/ws/crates/pmtui/target/debug:/r/toolchains/x/lib:/opt/mine/lib",
            ),
            ("PATH", "/usr/bin"),
        ]));
        assert_eq!(
            got,
            vars(&[
                ("CARGO_HOME", "/root/.cargo"),
                ("RUSTUP_HOME", "/r"),
                ("LD_LIBRARY_PATH", "/opt/mine/lib"),
                ("PATH", "/usr/bin"),
            ])
        );
    }

    #[test]
    fn a_shell_without_cargo_run_is_untouched() {
        let shell = vars(&[("CARGO_PKG_NAME", "mine"), ("RUSTUP_TOOLCHAIN", "nightly")]);
        assert_eq!(without_cargo_run(shell.clone()), shell);
    }
}
