//! Turning a `ProcessSpec` into a running child: its environment (the caller's, plus
//! pmtui's and pm2's variables), its identity (`uid`/`gid`) and a `Command` in a process
//! group of its own with its output piped to the log pumps; with listening sockets, the
//! socket-activation protocol (fds from 3, `LISTEN_*`); Node gets pmtui's preload for its
//! cluster sockets and runtime metrics (`node.rs`).
//!
//! Fd numbers a child finds: 0–2 stdio; 3 … 3+N−1 the N listening sockets; 3+N Node's IPC
//! channel (`NODE_CHANNEL_FD`, Node apps only; see `probe::ipc`).

mod argv;
mod child;
mod child_env;
mod child_setup;
mod credentials;
mod node;

use crate::config::{MARKER_VAR, SupervisorConfig};
use crate::reaper::ManagedPids;
use crate::sockets::SocketSet;
pub use child::Child;
pub use child_env::{ChildEnv, EnvPool};
use child_setup::{ChildSetup, CloneError, ExecPlan, Identity};
pub(crate) use credentials::resolve as resolve_credentials;
use pmtui_proto::{ProcessId, ProcessSpec};
use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::os::fd::{AsFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};

/// The environment the child receives: its definition's, shared, and pmtui's variables.
pub fn child_env(
    spec: &ProcessSpec,
    id: ProcessId,
    instance: u32,
    config: &SupervisorConfig,
) -> ChildEnv {
    let mut env = ChildEnv::new(spec.env.clone());
    env.set("PMTUI_ID", id.to_string());
    env.set("PMTUI_NAME", spec.name.as_str());
    env.set("PMTUI_INSTANCE", instance.to_string());
    env.set("PMTUI_NAMESPACE", spec.namespace.as_str());
    env.set("PMTUI_HOME", config.home.display().to_string());
    env.set(MARKER_VAR, config.marker(id));
    // pm2's names, so apps written for pm2 find what they expect.
    env.set("pm_id", id.to_string());
    env.set("name", spec.name.as_str());
    env.set("namespace", spec.namespace.as_str());
    env.set(spec.instance_var(), instance.to_string());
    if let Some(var) = spec.increment_var.as_deref().filter(|v| !v.is_empty()) {
        // pm2's increment_var: the value in `env` (or 0) plus the instance number, so each
        // instance keeps its own value (its own port) across restarts and scaling.
        let base: u64 = spec
            .env
            .get(var)
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        env.set(var, (base + u64::from(instance)).to_string());
    }
    let program = spec.interpreter.as_deref().unwrap_or(&spec.script);
    let base = std::path::Path::new(program)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if base.starts_with("python") || spec.script.ends_with(".py") {
        env.set("PYTHONUNBUFFERED", "1");
    }
    // systemd's notification socket and watchdog (see `probe::notify`); what the caller's
    // shell carried of them would point elsewhere.
    for var in ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"] {
        env.remove(var);
    }
    if let Some(path) = crate::probe::notify::socket_path(&config.home, id) {
        env.set("NOTIFY_SOCKET", path.display().to_string());
    }
    if let Some(ms) = spec.watchdog_ms {
        env.set("WATCHDOG_USEC", (ms * 1000).to_string());
    }
    node::metrics_env(spec, config, &mut env);
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
                env.set(key, value);
            }
        }
    }
    env
}

/// The variable that tells Node where its IPC channel is: right after the sockets.
pub fn channel_env(sockets: &SocketSet) -> (String, String) {
    let fd = child_setup::FIRST_PASSED_FD + sockets.fds().len() as RawFd;
    ("NODE_CHANNEL_FD".into(), fd.to_string())
}

/// Starts the child in a new process group, stdin closed, stdout and stderr piped; with
/// `sockets`, they are its fds 3… (socket activation): the child then execs the program
/// itself (after fork, in `child_setup`) with an environment whose `LISTEN_PID` is its own
/// pid; a command string is split or made to `exec` (see `argv`), and Node gets the cluster
/// preload. `channel` (Node's IPC channel, the child's end) comes right after the sockets,
/// announced by [`channel_env`]. Given its cgroup's directory (open), the child is born in
/// that cgroup (`clone3`), or, where the kernel refuses that, enters it before exec (see
/// [`clone3_usable`]).
pub fn spawn(
    spec: &ProcessSpec,
    env: &ChildEnv,
    config: &SupervisorConfig,
    sockets: &SocketSet,
    channel: Option<RawFd>,
    cgroup: Option<std::fs::File>,
    managed: &ManagedPids,
) -> std::io::Result<Child> {
    // The child's environment: its own, and Node's channel variable when it has one.
    let channel_var = channel.map(|_| channel_env(sockets));
    let vars = || {
        let channel_key = channel_var.as_ref().map(|(key, _)| key.as_str());
        env.iter()
            .filter(move |(key, _)| Some(*key) != channel_key)
            .chain(channel_var.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    };
    // As one map, only where a step needs one (rare: pid variables, or no `clone3`).
    let env_map = || -> BTreeMap<String, String> {
        let mut map = env.to_map();
        map.extend(channel_var.clone());
        map
    };
    // Variables that carry the child's own pid, known only after fork: the child then execs
    // the program itself, with an environment prepared here (see `child_setup`).
    let mut pid_vars = Vec::new();
    if !sockets.is_empty() {
        pid_vars.push("LISTEN_PID");
    }
    if spec.watchdog_ms.is_some() {
        pid_vars.push("WATCHDOG_PID");
    }
    // The Node preload: for cluster sockets, or for runtime metrics (reported over the IPC
    // channel, so only with one).
    let metrics = channel.is_some() && env.get(node::METRICS_VAR).is_some();
    let preload = if node::takes_preload(spec) && (!sockets.is_empty() || metrics) {
        Some(node::preload(config)?.display().to_string())
    } else {
        None
    };
    let with_preload = |mut argv: Vec<String>| {
        if let Some(path) = &preload {
            argv.splice(1..1, ["--require".into(), path.clone()]);
        }
        argv
    };
    // With pid variables, the whole environment (the sockets' variables added) as a map.
    let (argv, socket_env, exec) = if pid_vars.is_empty() {
        let (program, args) = spec.argv();
        let argv = with_preload(std::iter::once(program).chain(args).collect());
        (argv, None, None)
    } else {
        let mut argv = with_preload(argv::socket_argv(spec));
        let mut socket_env = env_map();
        if !sockets.is_empty() {
            socket_env.extend(sockets.env());
        }
        let program = argv::find_program(&argv[0], &socket_env).ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("{} not found in PATH", argv[0]),
            )
        })?;
        let args: Vec<&OsStr> = argv.iter().map(OsStr::new).collect();
        let socket_vars = socket_env.iter().map(|(k, v)| (k.as_str(), v.as_str()));
        let plan = ExecPlan::new(&program, &args, socket_vars, &pid_vars)?;
        argv[0] = program.display().to_string();
        (argv, Some(socket_env), Some(plan))
    };
    let mut setup = ChildSetup {
        nofile: config.child_nofile,
        umask: child_umask(config),
        cgroup_procs: None,
        identity: identity(spec)?,
        pass_fds: sockets.fds().into_iter().chain(channel).collect(),
        exec,
    };
    if clone3_usable() {
        // The whole start happens in `clone_into`, the child born in its cgroup if it has
        // one. In group mode too: `Command` forks (it cannot use `posix_spawn` with the
        // setup's steps), copying the daemon's page tables and its whole descriptor table
        // at every start, which at 1,000 processes is thousands of fds.
        let mut own_plan = None;
        let plan = match setup.exec.take() {
            Some(plan) => own_plan.insert(plan),
            None => {
                // What `Command` (execvp in the child) finds, or fails with.
                let program = argv::resolve_program(&argv[0], env.get("PATH"), &spec.cwd)?;
                let args: Vec<&OsStr> = argv.iter().map(OsStr::new).collect();
                own_plan.insert(ExecPlan::new(&program, &args, vars(), &[])?)
            }
        };
        let cwd = std::ffi::CString::new(spec.cwd.as_os_str().as_encoded_bytes())
            .map_err(|_| std::io::Error::other("the working directory holds a NUL byte"))?;
        let dir = cgroup.as_ref().map(AsFd::as_fd);
        match Child::spawn_born(managed, || setup.clone_into(dir, &cwd, plan)) {
            Ok(child) => return Ok(child),
            Err(CloneError::Failed(err)) => return Err(err),
            Err(CloneError::Unsupported(err)) => clone3_refused(&err),
        }
        setup.exec = own_plan.filter(|_| !pid_vars.is_empty());
    }
    if let Some(dir) = &cgroup {
        // Entered before exec: the child writes itself into `cgroup.procs`.
        let procs = nix::fcntl::openat(
            dir,
            "cgroup.procs",
            nix::fcntl::OFlag::O_WRONLY | nix::fcntl::OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        )?;
        setup.cgroup_procs = Some(procs);
    }
    let env = socket_env.unwrap_or_else(env_map);
    let mut command = Command::new(&argv[0]);
    command
        .args(&argv[1..])
        .current_dir(&spec.cwd)
        .env_clear()
        .envs(&env)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    setup.install(&mut command);
    Child::spawn(&mut command, managed)
}

/// Closes every descriptor from 3 up that the process inherited (see
/// `child_setup::close_inherited`): the first step of the daemon's main, before it opens
/// anything.
pub fn close_inherited_fds() {
    child_setup::close_inherited();
}

/// Reserves the low descriptor numbers children started by `clone3` take their fds from
/// (see `child_setup::Slots`): called when the supervisor starts, while numbers are low.
pub(crate) fn reserve_fd_slots() {
    child_setup::Slots::reserve();
}

/// Set once `clone3(CLONE_INTO_CGROUP)` is refused: every later child enters its cgroup
/// before exec instead.
static CLONE3_REFUSED: AtomicBool = AtomicBool::new(false);

/// Whether children can be born in their cgroup (`clone3` with `CLONE_INTO_CGROUP`, Linux
/// 5.7): true until the kernel or a seccomp filter (containers) refuses it once. A debug
/// build's `PMTUI_FAULTS=clone3-refused` makes the first spawn act refused (tests of the
/// other way).
pub fn clone3_usable() -> bool {
    if CLONE3_REFUSED.load(Ordering::Relaxed) {
        return false;
    }
    if pmtui_proto::faults::fire("clone3-refused", "") {
        clone3_refused(&std::io::Error::from_raw_os_error(nix::libc::ENOSYS));
        return false;
    }
    true
}

/// Remembers (and logs, once) that `clone3` cannot be used.
fn clone3_refused(err: &std::io::Error) {
    if !CLONE3_REFUSED.swap(true, Ordering::Relaxed) {
        tracing::info!(
            %err,
            "clone3(CLONE_INTO_CGROUP) refused; children enter their cgroup before exec instead"
        );
    }
}

/// Starts an exec health probe of `spec`: `sh -c command` in the app's working directory,
/// environment and identity, in a process group of its own (so a timeout kills its tree),
/// stdin closed, stdout and stderr piped.
pub fn spawn_probe(
    spec: &ProcessSpec,
    env: &ChildEnv,
    config: &SupervisorConfig,
    command_line: &str,
    managed: &ManagedPids,
) -> std::io::Result<Child> {
    let mut command = Command::new("/bin/sh");
    command
        .args(["-c", command_line])
        .current_dir(&spec.cwd)
        .env_clear()
        .envs(env.iter())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    ChildSetup {
        nofile: config.child_nofile,
        umask: child_umask(config),
        identity: identity(spec)?,
        ..ChildSetup::default()
    }
    .install(&mut command);
    Child::spawn(&mut command, managed)
}

/// Starts a hook command: `sh -c command` in `cwd` with `env`, as the daemon's user, in a
/// process group of its own (so a timeout kills its tree), stdin piped (the event goes
/// there), stdout discarded, stderr piped (its first line explains a failure).
pub fn spawn_hook(
    command_line: &str,
    cwd: &std::path::Path,
    env: &std::collections::BTreeMap<String, String>,
    config: &SupervisorConfig,
    managed: &ManagedPids,
) -> std::io::Result<Child> {
    let mut command = Command::new("/bin/sh");
    command
        .args(["-c", command_line])
        .current_dir(cwd)
        .env_clear()
        .envs(env)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .process_group(0);
    ChildSetup {
        nofile: config.child_nofile,
        umask: child_umask(config),
        ..ChildSetup::default()
    }
    .install(&mut command);
    Child::spawn(&mut command, managed)
}

fn child_umask(config: &SupervisorConfig) -> Option<nix::sys::stat::Mode> {
    config
        .child_umask
        .map(|m| nix::sys::stat::Mode::from_bits_truncate(m as nix::libc::mode_t))
}

/// The user and groups `spec` runs as, prepared for the child; `None` keeps the daemon's.
fn identity(spec: &ProcessSpec) -> std::io::Result<Option<Identity>> {
    match credentials::resolve(spec).map_err(std::io::Error::other)? {
        Some(creds) => {
            let cwd = std::ffi::CString::new(spec.cwd.as_os_str().as_encoded_bytes())
                .map_err(|_| std::io::Error::other("the working directory holds a NUL byte"))?;
            Ok(Some(Identity {
                groups: creds.groups,
                gid: creds.gid,
                uid: creds.uid,
                cwd,
            }))
        }
        None => Ok(None),
    }
}
