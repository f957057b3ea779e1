//! `pmtui init [file]` (also `pmtui ecosystem`): writes the commented template ecosystem
//! file. YAML by default, because it is pmtui's own format, takes comments and needs no
//! node (pm2 writes `ecosystem.config.js`, which pmtui also writes when asked by name). An
//! existing file is never overwritten without `--force`. Needs no daemon.

use anyhow::{Context, Result, bail};
use pmtui_config::template::{self, TemplateFormat};
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

const DEFAULT: &str = "ecosystem.yaml";

pub fn write(file: Option<PathBuf>, force: bool) -> Result<ExitCode> {
    let path = file.unwrap_or_else(|| PathBuf::from(DEFAULT));
    let Some(format) = TemplateFormat::of_path(&path) else {
        bail!(
            "{}: the extension picks the format: .yaml or .yml, .json, .toml, .config.js (or .cjs, .mjs); `pmtui init` alone writes {DEFAULT}",
            path.display()
        );
    };
    let shown = path.display().to_string();
    let text = template::render(format, &shown, false);
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if force {
        options.create(true).truncate(true);
    } else {
        // Refused atomically: a file that appears meanwhile is not overwritten either.
        options.create_new(true);
    }
    let mut out = match options.open(&path) {
        Ok(out) => out,
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
            bail!("{shown} exists; `pmtui init {shown} --force` overwrites it")
        }
        Err(err) => return Err(err).with_context(|| format!("cannot write {shown}")),
    };
    out.write_all(text.as_bytes())
        .and_then(|()| out.sync_all())
        .with_context(|| format!("cannot write {shown}"))?;
    println!("wrote {shown}: edit it, then `pmtui start {shown}`");
    Ok(ExitCode::SUCCESS)
}
