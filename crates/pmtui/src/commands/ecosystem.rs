//! The verbs on ecosystem files: `start|restart|reload|stop|delete <file> [--only] [--env]`,
//! `export`, and `--config <file>`. The file is read here, client-side, into specs; a file
//! with any problem starts nothing.

use super::lifecycle::{Said, print_processes, waiting};
use super::{connect, home};
use crate::cli::{ExportArgs, FileFlags, ProcessFlags, StartArgs};
use crate::{output, resolve};
use anyhow::{Context, Result, bail};
use pmtui_config::{Format, LoadOptions, Loaded};
use pmtui_proto::{ProcessInfo, ProcessSpec, ProcessStatus, Request, Response};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::process::ExitCode;

/// Processes described per request by `export`.
const DESCRIBE_BATCH: usize = 100;

/// What the file verbs need to read a file.
#[derive(Default)]
pub struct Selection<'a> {
    pub only: Vec<String>,
    pub env_name: Option<String>,
    pub cli_env: BTreeMap<String, String>,
    /// Every warning about the file is an error (`--strict`).
    pub strict: bool,
    /// Options of the command line laid over every app selected, as pm2 lets the flags of
    /// `start <file>` override the file (`start eco.json --only api -i 4`).
    pub overrides: Option<&'a ProcessFlags>,
    /// Standard input holds a file of this name (its extension gives the format), as
    /// `--local-file` sends it to a remote host; else standard input is JSON.
    pub content_name: Option<String>,
}

impl From<&FileFlags> for Selection<'static> {
    fn from(flags: &FileFlags) -> Self {
        Self {
            only: flags.only.clone(),
            env_name: flags.env.clone(),
            ..Self::default()
        }
    }
}

impl<'a> Selection<'a> {
    /// The selection of `start|restart <file> [--only] [--env] [--strict] [options]`.
    pub fn with_options(only: &[String], opts: &'a ProcessFlags, strict: bool) -> Result<Self> {
        if let Some(name) = &opts.name {
            bail!("--name {name}: an ecosystem file names its apps; set `name` in the file");
        }
        if opts.cwd.is_some() {
            bail!(
                "--cwd: the apps of a file run in the `cwd` it gives (default: the file's \
                 folder); set it in the file"
            );
        }
        let (cli_env, env_name) = resolve::split_env(&opts.env);
        Ok(Self {
            only: only.to_vec(),
            env_name,
            cli_env,
            strict,
            overrides: (*opts != ProcessFlags::default()).then_some(opts),
            content_name: None,
        })
    }
}

/// True when a verb's single argument is an ecosystem file, or `-` (one on standard input).
pub fn is_file(targets: &[String]) -> bool {
    matches!(targets, [one] if one == "-" || pmtui_config::is_config_file(one))
}

/// Reads the file (`-`: standard input); warnings go to stderr when `warn`, and with
/// `--strict` any warning fails it.
pub(super) fn load(file: &Path, sel: &Selection<'_>, resolve: bool, warn: bool) -> Result<Loaded> {
    let mut opts = LoadOptions::new(home());
    opts.only = sel.only.clone();
    opts.env_name = sel.env_name.clone();
    opts.cli_env = sel.cli_env.clone();
    opts.resolve = resolve;
    opts.kill_timeout_ms = resolve::default_kill_timeout();
    let loaded = if file == Path::new("-") {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("cannot read the ecosystem file from standard input")?;
        let here = std::env::current_dir().context("cannot read the current directory")?;
        match &sel.content_name {
            Some(name) => pmtui_config::load_text(Path::new(name), &text, &here, &opts),
            None => pmtui_config::load_stdin(&text, &here, &opts),
        }
    } else {
        pmtui_config::load(file, &opts)
    };
    let mut loaded = match loaded {
        Ok(loaded) => loaded,
        Err(err) => bail!("{err}\nnothing was started or changed"),
    };
    // What a config.js printed while it was evaluated: shown, never taken as its value.
    if !loaded.printed.is_empty() {
        eprint!("{}", loaded.printed);
        if !loaded.printed.ends_with('\n') {
            eprintln!();
        }
    }
    if sel.strict && !loaded.warnings.is_empty() {
        let all: Vec<String> = loaded.warnings.iter().map(ToString::to_string).collect();
        bail!(
            "{}\n--strict makes every warning an error; nothing was started or changed",
            all.join("\n")
        );
    }
    if warn {
        for warning in &loaded.warnings {
            eprintln!("{}", output::safe(&warning.to_string()));
        }
    }
    if let Some(overrides) = sel.overrides {
        for spec in &mut loaded.apps {
            resolve::override_app(spec, overrides)?;
        }
    }
    Ok(loaded)
}

/// `pmtui start <file>`: apply the file (start missing, restart changed, leave the rest, or
/// restart the rest too with `--restart`, as pm2's `start <file>` does), then wait until
/// every app it started or restarted is ready or failed (not with `--no-wait`).
pub async fn start(file: &str, args: &StartArgs) -> Result<ExitCode> {
    let mut sel = Selection::with_options(&args.only, &args.opts, args.strict)?;
    if file == "-" {
        sel.content_name = args.content_name.clone();
    }
    apply(
        Path::new(file),
        &sel,
        args.restart,
        args.json,
        !args.no_wait,
    )
    .await
}

/// Sends the file's specs; `restart_all` restarts unchanged apps too. With `wait`, waits
/// for the apps started or restarted to be ready, and fails when one is not.
pub async fn apply(
    file: &Path,
    sel: &Selection<'_>,
    restart_all: bool,
    json: bool,
    wait: bool,
) -> Result<ExitCode> {
    let loaded = load(file, sel, true, !json)?;
    if loaded.apps.is_empty() {
        bail!("{} has no apps", file.display());
    }
    // Apps added stopped (`autostart: false`) are not waited for.
    let idle: Vec<String> = loaded
        .apps
        .iter()
        .filter(|a| !a.autostart)
        .map(|a| a.name.clone())
        .collect();
    let client = connect().await?;
    let spinner = crate::spinner::Spinner::start(
        format!(
            "applying {}: starting and restarting {}",
            file.display(),
            pmtui_proto::plural(loaded.apps.len(), "app", "apps")
        ),
        json,
    );
    let request = Request::Apply {
        specs: loaded.apps,
        restart_all,
    };
    let response = client.request(request).await;
    drop(spinner);
    let Response::Applied {
        started,
        restarted,
        unchanged,
    } = response?
    else {
        bail!("unexpected reply to apply");
    };
    let awaited: Vec<ProcessInfo> = started
        .iter()
        .chain(&restarted)
        .filter(|p| !idle.contains(&p.name))
        .cloned()
        .collect();
    if json {
        let settled = match wait {
            true => Some(super::wait::until_ready(&client, &awaited, true).await),
            false => None,
        };
        output::json(&serde_json::json!({
            "started": started,
            "restarted": restarted,
            "unchanged": unchanged,
            "ready": settled,
        }))?;
        if let Some(settled) = settled {
            super::wait::verdict(&settled)?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let held = |p: &ProcessInfo| {
        p.status_reason
            .as_deref()
            .filter(|r| r.starts_with("waiting for "))
            .map(|r| format!(", {}", output::safe(r)))
            .unwrap_or_default()
    };
    let why = if restart_all {
        ""
    } else {
        " (definition changed)"
    };
    let unchanged_hint = !restart_all && !unchanged.is_empty();
    for p in &started {
        match held(p) {
            h if h.is_empty() => println!(
                "started {} (id {}, {})",
                output::safe(&p.name),
                p.id,
                p.status
            ),
            h => println!("added {} (id {}{h})", output::safe(&p.name), p.id),
        }
    }
    for p in &restarted {
        println!(
            "restarted {} (id {}){why}{}",
            output::safe(&p.name),
            p.id,
            held(p)
        );
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
    if unchanged_hint {
        println!(
            "unchanged apps kept running; `pmtui restart {}` (or `start --restart`) restarts \
             them too, as pm2's `start <file>` does",
            file.display()
        );
    }
    if wait && !awaited.is_empty() {
        let settled = super::wait::until_ready(&client, &awaited, false).await;
        super::wait::verdict(&settled)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `stop|delete <file>`: the file's app names as targets (scripts need not exist any more).
pub async fn act(file: &str, sel: &Selection<'_>, delete: bool, json: bool) -> Result<ExitCode> {
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
    let said = Some(if delete { Said::Deleted } else { Said::Stopped });
    let response = {
        let _spinner = waiting(said, &request, json);
        client.request(request).await?
    };
    print_processes(response, json, said)
}

/// `pmtui export [file] [--format]`: the running set as an ecosystem file.
pub async fn export(args: ExportArgs) -> Result<ExitCode> {
    if let Some(target) = args
        .format
        .as_deref()
        .and_then(pmtui_config::orchestrate::Target::parse)
    {
        return super::orchestrate::export(target, &args.args, args.out.as_deref()).await;
    }
    if args.out.is_some() {
        bail!("--out DIR goes with --format systemd|compose|kubernetes|procfile");
    }
    let file = match args.args.as_slice() {
        [] => None,
        [one] => Some(std::path::PathBuf::from(one)),
        _ => bail!("give one file to write (or --format systemd|compose|kubernetes|procfile)"),
    };
    let format = match (&args.format, &file) {
        (Some(f), _) => Format::parse(f),
        (None, Some(file)) => Format::of_path(file),
        (None, None) => Some(Format::Json),
    }
    .context("cannot tell the format from the file name; pass --format json|yaml|toml")?;
    let specs = running_specs(&[]).await?;
    let text = pmtui_config::export::write(&specs, format).map_err(anyhow::Error::msg)?;
    match &file {
        Some(file) => {
            std::fs::write(file, text)
                .with_context(|| format!("cannot write {}", file.display()))?;
            println!(
                "exported {} to {}",
                pmtui_proto::plural(specs.len(), "app", "apps"),
                file.display()
            );
        }
        None => print!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}

/// One definition per name of the running set (of `targets`, every process when empty),
/// as `export` writes them: a name stopped everywhere gets `autostart: false`.
pub(super) async fn running_specs(targets: &[String]) -> Result<Vec<ProcessSpec>> {
    let client = connect().await?;
    let request = if targets.is_empty() {
        Request::List
    } else {
        Request::Describe {
            targets: targets.to_vec(),
            history: false,
        }
    };
    let processes: Vec<ProcessInfo> = match client.request(request).await? {
        Response::Processes { processes } => processes,
        Response::Details { details } => details.into_iter().map(|d| d.info).collect(),
        _ => bail!("unexpected reply to list"),
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
    Ok(specs)
}
