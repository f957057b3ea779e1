//! `pmtui context add|ls|use|rm|show`.

use super::contexts::{self, Contexts, Entry, LOCAL};
use crate::cli::ContextAction;
use crate::output;
use anyhow::{Result, bail};
use std::process::ExitCode;

pub fn context(action: ContextAction) -> Result<ExitCode> {
    let home = crate::commands::home();
    let mut stored = Contexts::load(&home)?;
    match action {
        ContextAction::Add {
            name,
            url,
            bin,
            force,
        } => {
            contexts::check_name(&name)?;
            // Checked now, not at first use.
            let target = pmtui_client::SshTarget::parse(&url)?;
            if stored.contexts.contains_key(&name) && !force {
                bail!("a context named {name} exists; --force replaces it");
            }
            stored.contexts.insert(
                name.clone(),
                Entry {
                    host: target.to_string(),
                    remote_bin: bin,
                },
            );
            stored.save(&home)?;
            println!("added context {name}: {target} (`pmtui context use {name}` to use it)");
        }
        ContextAction::Ls { json } => {
            let current = stored.current.clone().unwrap_or_else(|| LOCAL.into());
            if json {
                let mut rows = vec![serde_json::json!({
                    "name": LOCAL, "host": "local", "remote_bin": null, "current": current == LOCAL,
                })];
                for (name, entry) in &stored.contexts {
                    rows.push(serde_json::json!({
                        "name": name,
                        "host": entry.host,
                        "remote_bin": entry.remote_bin,
                        "current": *name == current,
                    }));
                }
                output::json(&rows)?;
            } else {
                println!("  {:<16} HOST", "NAME");
                let mark = |name: &str| if name == current { '*' } else { ' ' };
                println!("{} {:<16} this host", mark(LOCAL), LOCAL);
                for (name, entry) in &stored.contexts {
                    let bin = entry
                        .remote_bin
                        .as_deref()
                        .map(|b| format!(" (pmtui: {b})"))
                        .unwrap_or_default();
                    println!(
                        "{} {:<16} {}{bin}",
                        mark(name),
                        output::safe(name),
                        output::safe(&entry.host)
                    );
                }
            }
        }
        ContextAction::Use { name } => {
            stored.get(&name)?;
            stored.current = (name != LOCAL).then(|| name.clone());
            stored.save(&home)?;
            println!("using context {name}");
        }
        ContextAction::Rm { name } => {
            if name == LOCAL {
                bail!("`local` is this host's daemon and cannot be removed");
            }
            if stored.contexts.remove(&name).is_none() {
                bail!("no context named {name:?}");
            }
            if stored.current.as_deref() == Some(name.as_str()) {
                stored.current = None;
                println!("context {name} was in use; using local now");
            }
            stored.save(&home)?;
            println!("removed context {name}");
        }
        ContextAction::Show => {
            println!("{}", stored.current.as_deref().unwrap_or(LOCAL));
        }
    }
    Ok(ExitCode::SUCCESS)
}
