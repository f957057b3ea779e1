//! Turning a `ProcessSpec` into a running child: its environment (the caller's, plus
//! pmtui's and pm2's variables), its identity (`uid`/`gid`) and a `Command` in a process
//! group of its own with its output piped to the log pumps.

mod child_setup;
mod credentials;

use crate::config::{MARKER_VAR, SupervisorConfig};
use child_setup::{ChildSetup, Identity};
pub(crate) use credentials::resolve as resolve_credentials;
use pmtui_proto::{ProcessId, ProcessSpec};
use std::collections::BTreeMap;
use std::process::Stdio;
use tokio::process::{Child, Command};

/// The environment the child receives.
pub fn child_env(
    spec: &ProcessSpec,
    id: ProcessId,
    instance: u32,
    config: &SupervisorConfig,
) -> BTreeMap<String, String> {
    let mut env = spec.env.clone();
    let mut set = |k: &str, v: String| {
        env.insert(k.to_string(), v);
    };
    set("PMTUI_ID", id.to_string());
    set("PMTUI_NAME", spec.name.clone());
    set("PMTUI_INSTANCE", instance.to_string());
    set("PMTUI_NAMESPACE", spec.namespace.clone());
    set("PMTUI_HOME", config.home.display().to_string());
    set(MARKER_VAR, config.marker(id));
    // pm2's names, so apps written for pm2 find what they expect.
    set("pm_id", id.to_string());
    set("name", spec.name.clone());
    set("namespace", spec.namespace.clone());
    set("NODE_APP_INSTANCE", instance.to_string());
    let program = spec.interpreter.as_deref().unwrap_or(&spec.script);
    let base = std::path::Path::new(program)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if base.starts_with("python") || spec.script.ends_with(".py") {
        set("PYTHONUNBUFFERED", "1".into());
    }
    // Another user's HOME, USER and LOGNAME (as su and systemd set them), unless the user
    // set them; a definition that no longer resolves fails at spawn with the reason.
    if let Ok(Some(credentials::Credentials {
        user: Some(user), ..
    })) = credentials::resolve(spec)
    {
        let home = user.dir.display().to_string();
        for (key, value) in [
            ("HOME", home),
            ("USER", user.name.clone()),
            ("LOGNAME", user.name),
        ] {
            if !spec.config_env.contains_key(key) {
                env.insert(key.to_string(), value);
            }
        }
    }
    env
}

/// Starts the child in a new process group, stdin closed, stdout and stderr piped.
pub fn spawn(
    spec: &ProcessSpec,
    env: &BTreeMap<String, String>,
    config: &SupervisorConfig,
) -> std::io::Result<Child> {
    let (program, args) = spec.argv();
    let mut command = Command::new(&program);
    command
        .args(&args)
        .current_dir(&spec.cwd)
        .env_clear()
        .envs(env)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(false);
    let identity = match credentials::resolve(spec).map_err(std::io::Error::other)? {
        Some(creds) => {
            let cwd = std::ffi::CString::new(spec.cwd.as_os_str().as_encoded_bytes())
                .map_err(|_| std::io::Error::other("the working directory holds a NUL byte"))?;
            Some(Identity {
                groups: creds.groups,
                gid: creds.gid,
                uid: creds.uid,
                cwd,
            })
        }
        None => None,
    };
    ChildSetup {
        nofile: config.child_nofile,
        identity,
    }
    .install(&mut command);
    command.spawn()
}
