//! `pmtui export --format systemd|compose|kubernetes|procfile [--out DIR] [targets|files]`:
//! the running set (or ecosystem files read here) as an orchestrator's files, written by
//! `pmtui_config::orchestrate`.

use super::ecosystem::{Selection, load, running_specs};
use anyhow::{Context, Result};
use pmtui_config::orchestrate::{self, Target};
use std::path::Path;
use std::process::ExitCode;

pub async fn export(target: Target, args: &[String], out: Option<&Path>) -> Result<ExitCode> {
    let files: Vec<&String> = args
        .iter()
        .filter(|a| pmtui_config::is_config_file(a))
        .collect();
    let specs = if !files.is_empty() {
        if files.len() != args.len() {
            anyhow::bail!("give either ecosystem files or process targets, not both");
        }
        let mut specs = Vec::new();
        for file in files {
            specs.extend(load(Path::new(file), &Selection::default(), true, true)?.apps);
        }
        specs
    } else {
        running_specs(args).await?
    };
    if specs.is_empty() {
        anyhow::bail!("nothing to export: no apps");
    }
    let written = orchestrate::export(&specs, target);
    match out {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            for file in &written {
                let path = dir.join(&file.name);
                std::fs::write(&path, &file.content)
                    .with_context(|| format!("cannot write {}", path.display()))?;
                println!("wrote {}", path.display());
            }
        }
        None => {
            let several = written.len() > 1;
            for file in &written {
                if several {
                    println!("# ==> {} <==", file.name);
                }
                print!("{}", file.content);
                if several {
                    println!();
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
