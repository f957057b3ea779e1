//! The systemd unit: the daemon in the foreground (`Type=notify`), then `pmtui resurrect`
//! once it accepts clients. `KillMode=mixed` lets the daemon stop its apps itself (stop
//! signal, kill timeout) before systemd kills what is left; `Delegate=yes` hands the
//! unit's cgroup to the daemon for per-app cgroups. Installed with `systemctl`.

use super::{Plan, Scope, remove_file, run, write_file};
use crate::cli::StartupArgs;
use anyhow::{Result, bail};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The unit's name and where its file goes on the target system.
pub fn name_and_file(
    args: &StartupArgs,
    scope: Scope,
    user: &str,
    home: &Path,
) -> (String, PathBuf) {
    let mut name = args.service_name.clone().unwrap_or_else(|| match scope {
        Scope::System => format!("pmtui-{user}"),
        Scope::User => "pmtui".into(),
    });
    if !name.ends_with(".service") {
        name.push_str(".service");
    }
    let dir = match scope {
        Scope::System => PathBuf::from("/etc/systemd/system"),
        Scope::User => user_unit_dir(home),
    };
    let file = dir.join(&name);
    (name, file)
}

/// `$XDG_CONFIG_HOME/systemd/user`, or `~/.config/systemd/user`.
fn user_unit_dir(home: &Path) -> PathBuf {
    std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .unwrap_or_else(|| home.join(".config"))
        .join("systemd/user")
}

/// The target that pulls the unit in at boot.
fn wanted_by(scope: Scope) -> &'static str {
    match scope {
        Scope::System => "multi-user.target",
        Scope::User => "default.target",
    }
}

/// A value for a unit file: `%` (specifiers) doubled, quoted when it has spaces or quotes.
fn value(text: &str) -> String {
    let text = text.replace('%', "%%");
    if text.contains(|c: char| c.is_whitespace() || c == '"' || c == '\\') {
        format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        text
    }
}

/// A command line for `Exec*=`: its program quoted like a value, `$` doubled.
fn exec(exe: &Path, arg: &str) -> String {
    format!(
        "{} {arg}",
        value(&exe.display().to_string().replace('$', "$$"))
    )
}

pub fn unit(plan: &Plan) -> String {
    let mut u = String::new();
    let _ = writeln!(
        u,
        "# Written by `pmtui startup`: brings {}'s pmtui apps back at boot.\n\
         # `pmtui unstartup` removes it. The apps are the ones the daemon had (it keeps its\n\
         # list on disk) and those `pmtui save` wrote (`pmtui resurrect`).",
        plan.user
    );
    let _ = writeln!(u, "[Unit]");
    let _ = writeln!(u, "Description=pmtui process manager ({})", plan.user);
    let _ = writeln!(u, "After=network.target");
    let _ = writeln!(u);
    let _ = writeln!(u, "[Service]");
    let _ = writeln!(u, "Type=notify");
    if plan.scope == Scope::System {
        let _ = writeln!(u, "User={}", value(&plan.user));
    }
    let _ = writeln!(
        u,
        "Environment={}",
        value(&format!("PMTUI_HOME={}", plan.pmtui_home.display()))
    );
    let _ = writeln!(
        u,
        "Environment={}",
        value(&format!("PATH={}", plan.path_env))
    );
    let _ = writeln!(
        u,
        "WorkingDirectory={}",
        value(&plan.home.display().to_string())
    );
    let _ = writeln!(u, "ExecStart={}", exec(&plan.exe, "daemon"));
    // `-`: no dump.json yet is not a failure of the unit.
    let _ = writeln!(u, "ExecStartPost=-{}", exec(&plan.exe, "resurrect"));
    let _ = writeln!(u, "KillMode=mixed");
    let _ = writeln!(u, "TimeoutStopSec=60");
    let _ = writeln!(u, "Restart=on-failure");
    let _ = writeln!(u, "Delegate=yes");
    let _ = writeln!(u);
    let _ = writeln!(u, "[Install]");
    let _ = writeln!(u, "WantedBy={}", wanted_by(plan.scope));
    u
}

/// Whether systemd runs this machine (sd_booted(3): `/run/systemd/system` exists).
fn booted() -> bool {
    Path::new("/run/systemd/system").is_dir()
}

/// The `*.wants` link `enable` makes, on the target system.
fn wants_link(plan: &Plan) -> PathBuf {
    let dir = plan.file.parent().unwrap_or(Path::new("/"));
    dir.join(format!("{}.wants", wanted_by(plan.scope)))
        .join(&plan.name)
}

/// `systemctl` for this scope (`--user`, or `--root DIR` for an image).
fn systemctl(plan: &Plan, args: &[&str]) -> Result<(), String> {
    let mut all: Vec<String> = Vec::new();
    if plan.scope == Scope::User {
        all.push("--user".into());
    }
    if let Some(root) = &plan.root {
        all.push(format!("--root={}", root.display()));
    }
    all.extend(args.iter().map(|a| a.to_string()));
    let all: Vec<&str> = all.iter().map(String::as_str).collect();
    run("systemctl", &all)
}

pub fn install(plan: &Plan, text: &str) -> Result<ExitCode> {
    let file = plan.here(&plan.file);
    write_file(&file, text)?;
    println!("wrote {}", file.display());
    let name = plan.name.as_str();
    let enabled = match (&plan.root, plan.scope) {
        // systemctl cannot enable a user unit offline: the link it would make.
        (Some(_), Scope::User) => link(plan),
        (Some(_), Scope::System) => systemctl(plan, &["enable", name]),
        // No systemd running here (a container, an image being built): systemctl enables
        // on disk, and there is nothing to reload.
        (None, Scope::System) if !booted() => systemctl(plan, &["enable", name]).map(|()| {
            println!(
                "systemd is not running on this machine (no /run/systemd/system): the unit is enabled on disk and takes effect at the next boot with systemd"
            )
        }),
        (None, _) => systemctl(plan, &["daemon-reload"])
            .and_then(|()| systemctl(plan, &["enable", name])),
    };
    let user_flag = if plan.scope == Scope::User {
        "--user "
    } else {
        ""
    };
    if let Err(why) = enabled {
        eprintln!(
            "error: the unit is written but not enabled: {why}\n\
             Where systemd runs, enable it with: systemctl {user_flag}daemon-reload && systemctl {user_flag}enable {name}"
        );
        return Ok(ExitCode::FAILURE);
    }
    println!(
        "enabled {name}: at boot systemd starts the daemon as {} and brings the apps back",
        plan.user
    );
    if plan.root.is_some() || !booted() {
        return Ok(ExitCode::SUCCESS);
    }
    if plan.scope == Scope::User {
        linger(plan);
    }
    println!(
        "`pmtui save` records the apps to bring back. To move the daemon running now under \
         systemd: pmtui save && pmtui kill && systemctl {user_flag}start {name}"
    );
    Ok(ExitCode::SUCCESS)
}

/// Without lingering, a user's systemd instance (and the unit) starts at their first login,
/// not at boot.
fn linger(plan: &Plan) {
    if Path::new("/var/lib/systemd/linger")
        .join(&plan.user)
        .exists()
    {
        return;
    }
    match run("loginctl", &["enable-linger", &plan.user]) {
        Ok(()) => println!(
            "enabled lingering for {}: their units start at boot",
            plan.user
        ),
        Err(why) => eprintln!(
            "warning: {why}\nThe unit starts at {}'s first login, not at boot, until: sudo loginctl enable-linger {}",
            plan.user, plan.user
        ),
    }
}

/// `systemctl enable`'s link, made by hand (a user unit in an image).
fn link(plan: &Plan) -> Result<(), String> {
    let link = plan.here(&wants_link(plan));
    let fail = |e: std::io::Error| format!("cannot link {}: {e}", link.display());
    if let Some(dir) = link.parent() {
        std::fs::create_dir_all(dir).map_err(fail)?;
    }
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(&plan.file, &link).map_err(fail)
}

pub fn remove(plan: &Plan) -> Result<ExitCode> {
    let file = plan.here(&plan.file);
    if !file.exists() {
        println!("no unit at {}: nothing to remove", file.display());
        return Ok(ExitCode::SUCCESS);
    }
    let name = plan.name.as_str();
    // Offline or with systemd gone, the link is removed by hand below all the same.
    let disabled = match (&plan.root, plan.scope) {
        (Some(_), Scope::User) => Ok(()),
        _ => systemctl(plan, &["disable", name]),
    };
    remove_file(&plan.here(&wants_link(plan)))?;
    if !remove_file(&file)? {
        bail!("{} vanished while removing it", file.display());
    }
    println!("removed {}", file.display());
    let reloaded = if plan.root.is_none() && booted() {
        systemctl(plan, &["daemon-reload"])
    } else {
        Ok(())
    };
    if let Err(why) = disabled.and(reloaded) {
        eprintln!("warning: {why}");
    }
    println!("the daemon and the apps running now are left alone (`pmtui kill` stops them)");
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped_for_unit_files() {
        assert_eq!(value("/usr/bin:/bin"), "/usr/bin:/bin");
        assert_eq!(value("PATH=/a b:/c"), "\"PATH=/a b:/c\"");
        assert_eq!(value("50%"), "50%%");
        assert_eq!(value("a\"b c"), "\"a\\\"b c\"");
        assert_eq!(
            exec(Path::new("/opt/my app/pmtui"), "daemon"),
            "\"/opt/my app/pmtui\" daemon"
        );
        assert_eq!(
            exec(Path::new("/x$y/pmtui"), "daemon"),
            "/x$$y/pmtui daemon"
        );
    }
}
