//! The launchd property list (macOS): `pmtui resurrect` when the job loads, which starts
//! the daemon (detached; `AbandonProcessGroup` keeps launchd from ending it with the job)
//! and the saved apps. A LaunchDaemon with `UserName` as root, a LaunchAgent with `--user`.
//! Loaded with `launchctl load -w`; elsewhere only written (`--root`) or printed.

use super::{Plan, Scope, remove_file, run, write_file};
use crate::cli::StartupArgs;
use anyhow::Result;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The job's label and where its file goes on the target system.
pub fn name_and_file(
    args: &StartupArgs,
    scope: Scope,
    user: &str,
    home: &Path,
) -> (String, PathBuf) {
    let label = args.service_name.clone().unwrap_or_else(|| match scope {
        Scope::System => format!("io.pmtui.{user}"),
        Scope::User => "io.pmtui".into(),
    });
    let dir = match scope {
        Scope::System => PathBuf::from("/Library/LaunchDaemons"),
        Scope::User => home.join("Library/LaunchAgents"),
    };
    let file = dir.join(format!("{label}.plist"));
    (label, file)
}

/// Text for a plist `<string>`.
fn xml(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

pub fn plist(plan: &Plan) -> String {
    let s = |text: &str| format!("<string>{}</string>", xml(text));
    let mut p = String::new();
    let _ = writeln!(p, r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    let _ = writeln!(
        p,
        r#"<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">"#
    );
    let _ = writeln!(
        p,
        "<!-- Written by `pmtui startup`: brings {}'s pmtui apps back at boot. `pmtui unstartup` removes it. -->",
        xml(&plan.user)
    );
    let _ = writeln!(p, r#"<plist version="1.0">"#);
    let _ = writeln!(p, "<dict>");
    let _ = writeln!(p, "  <key>Label</key>\n  {}", s(&plan.name));
    if plan.scope == Scope::System {
        let _ = writeln!(p, "  <key>UserName</key>\n  {}", s(&plan.user));
    }
    let _ = writeln!(p, "  <key>ProgramArguments</key>\n  <array>");
    let _ = writeln!(p, "    {}", s(&plan.exe.display().to_string()));
    let _ = writeln!(p, "    {}", s("resurrect"));
    let _ = writeln!(p, "  </array>");
    let _ = writeln!(p, "  <key>EnvironmentVariables</key>\n  <dict>");
    let _ = writeln!(p, "    <key>PATH</key>\n    {}", s(&plan.path_env));
    let _ = writeln!(
        p,
        "    <key>PMTUI_HOME</key>\n    {}",
        s(&plan.pmtui_home.display().to_string())
    );
    let _ = writeln!(p, "  </dict>");
    let _ = writeln!(
        p,
        "  <key>WorkingDirectory</key>\n  {}",
        s(&plan.home.display().to_string())
    );
    let _ = writeln!(p, "  <key>RunAtLoad</key>\n  <true/>");
    let _ = writeln!(p, "  <key>LaunchOnlyOnce</key>\n  <true/>");
    let _ = writeln!(p, "  <key>AbandonProcessGroup</key>\n  <true/>");
    let log = plan.pmtui_home.join("startup.log").display().to_string();
    let _ = writeln!(p, "  <key>StandardOutPath</key>\n  {}", s(&log));
    let _ = writeln!(p, "  <key>StandardErrorPath</key>\n  {}", s(&log));
    let _ = writeln!(p, "</dict>");
    let _ = writeln!(p, "</plist>");
    p
}

pub fn install(plan: &Plan, text: &str) -> Result<ExitCode> {
    let file = plan.here(&plan.file);
    write_file(&file, text)?;
    println!("wrote {}", file.display());
    if plan.root.is_some() {
        return Ok(ExitCode::SUCCESS);
    }
    let shown = plan.file.display().to_string();
    if let Err(why) = run("launchctl", &["load", "-w", &shown]) {
        eprintln!("error: the job is written but not loaded: {why}");
        return Ok(ExitCode::FAILURE);
    }
    println!(
        "loaded {}: at boot launchd runs `pmtui resurrect` as {}; `pmtui save` records the apps",
        plan.name, plan.user
    );
    Ok(ExitCode::SUCCESS)
}

pub fn remove(plan: &Plan) -> Result<ExitCode> {
    let file = plan.here(&plan.file);
    if !file.exists() {
        println!("no job at {}: nothing to remove", file.display());
        return Ok(ExitCode::SUCCESS);
    }
    if plan.root.is_none() {
        let shown = plan.file.display().to_string();
        if let Err(why) = run("launchctl", &["unload", "-w", &shown]) {
            eprintln!("warning: {why}");
        }
    }
    remove_file(&file)?;
    println!("removed {}", file.display());
    Ok(ExitCode::SUCCESS)
}
