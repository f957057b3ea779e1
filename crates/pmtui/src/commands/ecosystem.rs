//! The verbs on ecosystem files: `start|restart|reload|stop|delete <file> [--only] [--env]`,
//! `export`, and `--config <file>`. The file is read here, client-side, into specs; a file
//! with any problem starts nothing.

use super::lifecycle::print_processes;
use super::{connect, home};
use crate::cli::{ExportArgs, FileFlags, StartArgs};
use crate::{output, resolve};
use anyhow::{Context, Result, bail};
use pmtui_config::{Format, LoadOptions, Loaded};
use pmtui_proto::{ProcessInfo, ProcessSpec, ProcessStatus, Request, Response};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;

/// Processes described per request by `export`.
const DESCRIBE_BATCH: usize = 100;

/// What the file verbs need to read a file.
pub struct Selection {
    pub only: Vec<String>,
    pub env_name: Option<String>,
    pub cli_env: BTreeMap<String, String>,
}

impl From<&FileFlags> for Selection {
    fn from(flags: &FileFlags) -> Self {
        Self {
            only: flags.only.clone(),
            env_name: flags.env.clone(),
            cli_env: BTreeMap::new(),
        }
    }
}

/// True when a verb's single argument is an ecosystem file.
pub fn is_file(targets: &[String]) -> bool {
    matches!(targets, [one] if pmtui_config::is_config_file(one))
}

/// Reads the file; warnings go to stderr when `warn`.
fn load(file: &Path, sel: &Selection, resolve: bool, warn: bool) -> Result<Loaded> {
    let mut opts = LoadOptions::new(home());
    opts.only = sel.only.clone();
    opts.env_name = sel.env_name.clone();
    opts.cli_env = sel.cli_env.clone();
    opts.resolve = resolve;
    opts.kill_timeout_ms = resolve::default_kill_timeout();
    let loaded = match pmtui_config::load(file, &opts) {
        Ok(loaded) => loaded,
        Err(err) => bail!("{err}\nnothing was started or changed"),
    };
    if warn {
        for warning in &loaded.warnings {
            eprintln!("{}", output::safe(&warning.to_string()));
        }
    }
    Ok(loaded)
}

/// `pmtui start <file>`: apply the file (start missing, restart changed, leave the rest).
pub async fn start(args: &StartArgs) -> Result<ExitCode> {
    // Every other flag of `start` describes one script; a file says it all itself.
    let allowed = ["--only", "--env", "--json"];
    let stray = std::env::args()
        .skip_while(|a| a != "start")
        .skip(1)
        .take_while(|a| a != "--")
        .find(|a| {
            a.starts_with('-') && !allowed.contains(&a.split('=').next().unwrap_or_default())
        });
    if let Some(flag) = stray.or_else(|| (!args.args.is_empty()).then(|| "-- <args>".into())) {
        bail!(
            "{flag} applies to a script, not to an ecosystem file; set it in {}",
            args.script
        );
    }
    let (cli_env, env_name) = resolve::split_env(&args.env);
    let sel = Selection {
        only: args.only.clone(),
        env_name,
        cli_env,
    };
    apply(Path::new(&args.script), &sel, false, args.json).await
}

/// Sends the file's specs; `restart_all` restarts unchanged apps too.
pub async fn apply(
    file: &Path,
    sel: &Selection,
    restart_all: bool,
    json: bool,
) -> Result<ExitCode> {
    let loaded = load(file, sel, true, !json)?;
    if loaded.apps.is_empty() {
        bail!("{} has no apps", file.display());
    }
    let client = connect().await?;
    let request = Request::Apply {
        specs: loaded.apps,
        restart_all,
    };
    let Response::Applied {
        started,
        restarted,
        unchanged,
    } = client.request(request).await?
    else {
        bail!("unexpected reply to apply");
    };
    if json {
        output::json(&serde_json::json!({
            "started": started,
            "restarted": restarted,
            "unchanged": unchanged,
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    let why = if restart_all {
        ""
    } else {
        " (definition changed)"
    };
    for p in &started {
        println!(
            "started {} (id {}, {})",
            output::safe(&p.name),
            p.id,
            p.status
        );
    }
    for p in &restarted {
        println!("restarted {} (id {}){why}", output::safe(&p.name), p.id);
    }
    for p in &unchanged {
        println!("unchanged {} (id {})", output::safe(&p.name), p.id);
    }
    let mut all: Vec<ProcessInfo> = started
        .into_iter()
        .chain(restarted)
        .chain(unchanged)
        .collect();
    all.sort_by_key(|p| p.id);
    output::processes(&all);
    Ok(ExitCode::SUCCESS)
}

/// `stop|delete <file>`: the file's app names as targets (scripts need not exist any more).
pub async fn act(file: &str, sel: &Selection, delete: bool, json: bool) -> Result<ExitCode> {
    let loaded = load(Path::new(file), sel, false, false)?;
    let client = connect().await?;
    let Response::Processes { processes } = client.request(Request::List).await? else {
        bail!("unexpected reply to list");
    };
    let targets: Vec<String> = loaded
        .apps
        .iter()
        .map(|a| a.name.clone())
        .filter(|name| processes.iter().any(|p| &p.name == name))
        .collect();
    if targets.is_empty() {
        bail!("none of the apps of {file} is known to the daemon");
    }
    let request = if delete {
        Request::Delete { targets }
    } else {
        Request::Stop { targets }
    };
    print_processes(client.request(request).await?, json, delete)
}

/// `pmtui export [file] [--format]`: the running set as an ecosystem file.
pub async fn export(args: ExportArgs) -> Result<ExitCode> {
    let format = match (&args.format, &args.file) {
        (Some(f), _) => Format::parse(f),
        (None, Some(file)) => Format::of_path(file),
        (None, None) => Some(Format::Json),
    }
    .context("cannot tell the format from the file name; pass --format json|yaml|toml")?;
    let client = connect().await?;
    let Response::Processes { processes } = client.request(Request::List).await? else {
        bail!("unexpected reply to list");
    };
    // One definition per name. Described a batch at a time: a detail carries minutes of
    // metrics history, and `describe all` of a thousand processes would not fit one frame.
    let mut firsts: Vec<&ProcessInfo> = Vec::new();
    for p in &processes {
        if !firsts.iter().any(|f| f.name == p.name) {
            firsts.push(p);
        }
    }
    let mut specs: Vec<ProcessSpec> = Vec::new();
    for batch in firsts.chunks(DESCRIBE_BATCH) {
        let request = Request::Describe {
            targets: batch.iter().map(|p| p.id.to_string()).collect(),
            history: false,
        };
        let Response::Details { details } = client.request(request).await? else {
            bail!("unexpected reply to describe");
        };
        for detail in details {
            if !specs.iter().any(|s| s.name == detail.spec.name) {
                let mut spec = detail.spec;
                // A name that is stopped everywhere is written `autostart: false`, so that
                // `start <exported file>` keeps it stopped rather than starting it.
                if processes
                    .iter()
                    .filter(|p| p.name == spec.name)
                    .all(|p| p.status == ProcessStatus::Stopped)
                {
                    spec.autostart = false;
                }
                specs.push(spec);
            }
        }
    }
    let text = pmtui_config::export::write(&specs, format).map_err(anyhow::Error::msg)?;
    match &args.file {
        Some(file) => {
            std::fs::write(file, text)
                .with_context(|| format!("cannot write {}", file.display()))?;
            println!("exported {} app(s) to {}", specs.len(), file.display());
        }
        None => print!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}
