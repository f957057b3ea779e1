//! `pmtui man [DIR]`: man pages generated from the clap definition (clap_mangen), so they
//! say exactly what `--help` says. Without DIR, `pmtui.1` goes to standard output
//! (`pmtui man | man -l -`); with DIR, `pmtui.1` and one `pmtui-<verb>.1` per visible verb.

use crate::cli::Cli;
use anyhow::{Context, Result};
use clap::CommandFactory;
use std::path::PathBuf;
use std::process::ExitCode;

pub fn write(dir: Option<PathBuf>) -> Result<ExitCode> {
    let mut cmd = Cli::command();
    // The verbs' flags are deferred (see `cli::Command`): built here for the pages.
    cmd.build();
    let Some(dir) = dir else {
        let mut out = Vec::new();
        clap_mangen::Man::new(cmd).render(&mut out)?;
        std::io::Write::write_all(&mut std::io::stdout(), &out)?;
        return Ok(ExitCode::SUCCESS);
    };
    let cmd = hide_help(cmd);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let pages = 1 + cmd.get_subcommands().filter(|s| !s.is_hide_set()).count();
    clap_mangen::generate_to(cmd, &dir)
        .with_context(|| format!("cannot write the man pages to {}", dir.display()))?;
    println!("wrote {pages} man pages to {}", dir.display());
    Ok(ExitCode::SUCCESS)
}

/// Without a page for the `help` verbs that building adds (`pmtui help <verb>` is
/// `--help`, not a page of its own; clap_mangen alone does not build).
fn hide_help(mut cmd: clap::Command) -> clap::Command {
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .collect();
    for name in names {
        cmd = cmd.mut_subcommand(name, |sub| {
            if sub.get_name() == "help" {
                sub.hide(true)
            } else {
                hide_help(sub)
            }
        });
    }
    cmd
}
