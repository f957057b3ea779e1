//! `pmtui man [DIR]`: man pages generated from the clap definition (clap_mangen), so they
//! say exactly what `--help` says. Without DIR, `pmtui.1` goes to standard output
//! (`pmtui man | man -l -`); with DIR, `pmtui.1` and one `pmtui-<verb>.1` per visible verb.

use crate::cli::Cli;
use anyhow::{Context, Result};
use clap::CommandFactory;
use std::path::PathBuf;
use std::process::ExitCode;

pub fn write(dir: Option<PathBuf>) -> Result<ExitCode> {
    let cmd = Cli::command();
    let Some(dir) = dir else {
        let mut out = Vec::new();
        clap_mangen::Man::new(cmd).render(&mut out)?;
        std::io::Write::write_all(&mut std::io::stdout(), &out)?;
        return Ok(ExitCode::SUCCESS);
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let pages = 1 + cmd.get_subcommands().filter(|s| !s.is_hide_set()).count();
    clap_mangen::generate_to(cmd, &dir)
        .with_context(|| format!("cannot write the man pages to {}", dir.display()))?;
    println!("wrote {pages} man pages to {}", dir.display());
    Ok(ExitCode::SUCCESS)
}
