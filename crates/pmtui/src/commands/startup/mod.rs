//! `pmtui startup` / `pmtui unstartup`: a boot unit that brings a user's apps back, as
//! pm2's commands do. Under systemd the unit runs the daemon in the foreground
//! (`Type=notify`: the daemon says READY=1) and then `pmtui resurrect`; launchd runs
//! `pmtui resurrect` at load. A system unit needs root: without it the one command to run
//! is printed (pm2's `sudo env PATH=… pm2 startup …`). `--user` installs into the user's
//! own service manager instead, `--print` changes nothing, and `--root DIR` installs into
//! an image mounted at DIR (files and links only, as `systemctl --root`).
//!
//! This module decides who, where and what; `systemd` and `launchd` write and enable.

mod launchd;
mod systemd;

use crate::cli::{InitSystem, StartupArgs};
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Whether the unit is the machine's (root) or the user's own service manager's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    System,
    User,
}

/// Everything a unit says and where it goes.
#[derive(Debug, Clone)]
pub struct Plan {
    pub system: InitSystem,
    pub scope: Scope,
    /// The user whose apps it brings back, and their home.
    pub user: String,
    pub home: PathBuf,
    /// The `PMTUI_HOME` the unit gives the daemon.
    pub pmtui_home: PathBuf,
    /// This binary, by its real path.
    pub exe: PathBuf,
    /// The PATH of this shell, so apps find node, python3… at boot as they do now.
    pub path_env: String,
    /// The unit's name (`pmtui-alice.service`, `io.pmtui.alice`).
    pub name: String,
    /// Where the unit file is on the target system, and where this run writes it (under
    /// `--root`).
    pub file: PathBuf,
    pub root: Option<PathBuf>,
}

impl Plan {
    /// Where this run writes `path` (a path of the target system).
    pub fn here(&self, path: &Path) -> PathBuf {
        match &self.root {
            Some(root) => root.join(path.strip_prefix("/").unwrap_or(path)),
            None => path.to_path_buf(),
        }
    }
}

pub fn startup(args: StartupArgs) -> Result<ExitCode> {
    let plan = plan(&args)?;
    let text = match plan.system {
        InitSystem::Systemd => systemd::unit(&plan),
        InitSystem::Launchd => launchd::plist(&plan),
    };
    if args.print {
        // The file alone on stdout (`--print > unit.service` is a valid file); where it
        // goes on stderr.
        eprintln!("{}", plan.file.display());
        print!("{text}");
        return Ok(ExitCode::SUCCESS);
    }
    check_here(&plan)?;
    if needs_sudo(&plan) {
        print_sudo("startup", &args, &plan);
        return Ok(ExitCode::SUCCESS);
    }
    match plan.system {
        InitSystem::Systemd => systemd::install(&plan, &text),
        InitSystem::Launchd => launchd::install(&plan, &text),
    }
}

pub fn unstartup(args: StartupArgs) -> Result<ExitCode> {
    let plan = plan(&args)?;
    if args.print {
        println!("would remove {}", plan.file.display());
        return Ok(ExitCode::SUCCESS);
    }
    check_here(&plan)?;
    if needs_sudo(&plan) {
        print_sudo("unstartup", &args, &plan);
        return Ok(ExitCode::SUCCESS);
    }
    match plan.system {
        InitSystem::Systemd => systemd::remove(&plan),
        InitSystem::Launchd => launchd::remove(&plan),
    }
}

/// launchd jobs are installed on macOS (or into an image); elsewhere only printed.
fn check_here(plan: &Plan) -> Result<()> {
    if plan.system == InitSystem::Launchd && plan.root.is_none() && !cfg!(target_os = "macos") {
        bail!(
            "launchd is macOS's service manager: `--print` shows the file, `--root DIR` writes it into an image"
        );
    }
    Ok(())
}

/// A system unit on this machine, and we are not root.
fn needs_sudo(plan: &Plan) -> bool {
    plan.scope == Scope::System && plan.root.is_none() && !nix::unistd::geteuid().is_root()
}

/// pm2's way: the one command that does it as root, with this shell's PATH and home.
fn print_sudo(verb: &str, args: &StartupArgs, plan: &Plan) {
    let system = match plan.system {
        InitSystem::Systemd => "systemd",
        InitSystem::Launchd => "launchd",
    };
    let mut command = format!(
        "sudo env PATH={} PMTUI_HOME={} {} {verb} {system} -u {}",
        shell_quote(&plan.path_env),
        shell_quote(&plan.pmtui_home.display().to_string()),
        shell_quote(&plan.exe.display().to_string()),
        shell_quote(&plan.user),
    );
    if args.service_name.is_some() {
        command.push_str(&format!(" --service-name {}", shell_quote(&plan.name)));
    }
    let what = if verb == "startup" {
        "install the boot unit"
    } else {
        "remove the boot unit"
    };
    println!("To {what} as root, run:\n\n  {command}\n");
    if verb == "startup" && plan.system == InitSystem::Systemd {
        println!(
            "Or, without root, a unit of your own systemd user instance: `pmtui startup --user`."
        );
    }
}

/// Who, where and what, from the arguments and this process's environment.
fn plan(args: &StartupArgs) -> Result<Plan> {
    let system = args.platform.unwrap_or(if cfg!(target_os = "macos") {
        InitSystem::Launchd
    } else {
        InitSystem::Systemd
    });
    let scope = if args.user {
        Scope::User
    } else {
        Scope::System
    };
    let me = nix::unistd::User::from_uid(nix::unistd::getuid())
        .ok()
        .flatten()
        .context("cannot find the current user in the user database")?;
    // Under sudo, the apps are the invoking user's, as pm2 does it.
    let sudo_user = std::env::var("SUDO_USER")
        .ok()
        .filter(|u| !u.is_empty() && u != "root" && me.uid.is_root());
    let name = args.run_as.clone().or(sudo_user);
    let user = match &name {
        Some(name) => nix::unistd::User::from_name(name)
            .ok()
            .flatten()
            .with_context(|| format!("no user named {name:?}"))?,
        None => me.clone(),
    };
    if scope == Scope::User && user.uid != me.uid {
        bail!(
            "a --user unit belongs to the user it runs as: run `pmtui startup --user` as {}",
            user.name
        );
    }
    let home = match &args.home {
        Some(home) => home.clone(),
        // Our own HOME may differ from the user database's (a test, a container).
        None if user.uid == me.uid => std::env::home_dir().unwrap_or_else(|| user.dir.clone()),
        None => user.dir.clone(),
    };
    // PMTUI_HOME set for this command wins (the printed sudo command passes it on), unless
    // --hp names the home.
    let pmtui_home = match std::env::var_os("PMTUI_HOME").filter(|h| !h.is_empty()) {
        Some(h) if args.home.is_none() => absolute(PathBuf::from(h))?,
        _ => home.join(".pmtui"),
    };
    let exe = std::env::current_exe().context("cannot find this program's path")?;
    let exe = exe.canonicalize().unwrap_or(exe);
    let path_env = std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".into());
    let (name, file) = match (system, scope) {
        (InitSystem::Systemd, _) => systemd::name_and_file(args, scope, &user.name, &home),
        (InitSystem::Launchd, _) => launchd::name_and_file(args, scope, &user.name, &home),
    };
    let root = args.root.clone().map(absolute).transpose()?;
    Ok(Plan {
        system,
        scope,
        user: user.name,
        home,
        pmtui_home,
        exe,
        path_env,
        name,
        file,
        root,
    })
}

fn absolute(path: PathBuf) -> Result<PathBuf> {
    std::path::absolute(&path).with_context(|| format!("cannot make {} absolute", path.display()))
}

pub use pmtui_config::shell_quote;

/// Runs a service-manager command; its error output is the reason when it fails.
pub fn run(program: &str, args: &[&str]) -> Result<(), String> {
    let shown = format!("{program} {}", args.join(" "));
    match std::process::Command::new(program).args(args).output() {
        Ok(out) if out.status.success() => Ok(()),
        Ok(out) => {
            let err = String::from_utf8_lossy(&out.stderr);
            let err = err.trim();
            Err(if err.is_empty() {
                format!("`{shown}` failed ({})", out.status)
            } else {
                format!("`{shown}` failed: {err}")
            })
        }
        Err(err) => Err(format!("cannot run `{shown}`: {err}")),
    }
}

/// Writes the unit file (and its folders) with mode 0644.
pub fn write_file(path: &Path, text: &str) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644))
        .with_context(|| format!("cannot set the mode of {}", path.display()))?;
    Ok(())
}

/// Removes a file that may be missing; true when it was there.
pub fn remove_file(path: &Path) -> Result<bool> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(err) => Err(err).with_context(|| format!("cannot remove {}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_quoted_for_sh_only_when_needed() {
        assert_eq!(shell_quote("/usr/bin:/bin"), "/usr/bin:/bin");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote(""), "''");
    }
}
