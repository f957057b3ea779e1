//! `pmtui-bench`: measures pmtui's daemon (and pm2's, when it is installed) on the same
//! scenarios in one run, and prints a table and a JSON report. `--smoke` runs every
//! scenario with tiny sizes, to prove in CI that the benchmarks still work; its figures
//! mean nothing.

mod appmetrics;
mod callgrind;
mod child;
mod frame;
mod health;
mod logs;
mod machine;
mod manager;
mod procfs;
mod readme;
mod reload;
mod report;
mod scenarios;
mod watch;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use manager::{Kind, Manager};
use report::{Results, median};
use scenarios::{Ctx, Plan};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const SCENARIOS: &[&str] = &[
    "start",
    "lists",
    "eco",
    "stop",
    "crash",
    "logs",
    "reload",
    "frame",
    "watch",
    "appmetrics",
    "health",
    "callgrind",
];

#[derive(Debug, Parser)]
#[command(
    name = "pmtui-bench",
    about = "Benchmarks pmtui's daemon, side by side with pm2 when it is installed"
)]
struct Cli {
    /// Runs of every scenario; the report shows medians.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Tiny sizes and one run: proves the benchmarks work (CI), measures nothing.
    #[arg(long)]
    smoke: bool,
    /// Where the JSON report goes.
    #[arg(long, default_value = "bench.json")]
    out: PathBuf,
    /// The pmtui binary (default: built with this profile and taken from beside this one).
    #[arg(long)]
    pmtui: Option<PathBuf>,
    /// The pm2 binary (default: `pm2` on PATH, if any).
    #[arg(long)]
    pm2: Option<PathBuf>,
    /// Measure pmtui alone even if pm2 is installed.
    #[arg(long)]
    no_pm2: bool,
    /// Only these scenarios (comma-separated): start, lists, eco, stop, crash, logs, reload,
    /// frame, watch, appmetrics, health, callgrind.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    #[command(subcommand)]
    child: Option<Child>,
}

#[derive(Debug, Subcommand)]
enum Child {
    /// Writes the README's benchmark table from a JSON report (default: the newest in
    /// bench/results); `--check` only says whether the README matches it.
    Table {
        json: Option<PathBuf>,
        #[arg(long, default_value = "README.md")]
        readme: PathBuf,
        #[arg(long)]
        check: bool,
    },
}

fn main() -> ExitCode {
    // `pmtui-bench child …` is `pmtui-bench-child …` (see `child`), for older scripts, and
    // so is this program run under that name (the stand-in made by `child_program`).
    let started = child::now_ns();
    let mut args = std::env::args_os().peekable();
    let called = args.next().map(PathBuf::from);
    if called.is_some_and(|p| p.file_name().is_some_and(|n| n == CHILD)) {
        return child::main(started, args);
    }
    if args.peek().is_some_and(|arg| arg == "child") {
        return child::main(started, args.skip(1));
    }
    let cli = Cli::parse();
    match cli.child {
        Some(Child::Table {
            json,
            readme,
            check,
        }) => {
            return match readme::run(json, &readme, check) {
                Ok(true) => ExitCode::SUCCESS,
                Ok(false) => {
                    eprintln!(
                        "{} differs from the report: run `cargo run -p pmtui-bench -- table`",
                        readme.display()
                    );
                    ExitCode::FAILURE
                }
                Err(err) => {
                    eprintln!("pmtui-bench table: {err:#}");
                    ExitCode::FAILURE
                }
            };
        }
        None => {}
    }
    match bench(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("pmtui-bench: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn bench(cli: Cli) -> Result<ExitCode> {
    for name in &cli.only {
        if !SCENARIOS.contains(&name.as_str()) {
            bail!(
                "unknown scenario `{name}` in --only (known: {})",
                SCENARIOS.join(", ")
            );
        }
    }
    // Dropped last: the homes of every scenario are removed once the run is over.
    let _homes = manager::EndedHomes;
    let wanted = |s: &str| cli.only.is_empty() || cli.only.iter().any(|o| o == s);
    let plan = if cli.smoke {
        Plan::smoke()
    } else {
        Plan::full()
    };
    let runs = if cli.smoke { 1 } else { cli.runs.max(1) };
    let me = std::env::current_exe().context("cannot find this program's path")?;
    let (child, stand_in) = child_program(&me)?;
    let sleep = which("sleep").context("no `sleep` program on PATH")?;
    let mut managers = vec![Manager {
        kind: Kind::Pmtui,
        bin: locate_pmtui(cli.pmtui.clone(), &me)?,
    }];
    if !cli.no_pm2 {
        match cli.pm2.clone().or_else(|| which("pm2")) {
            Some(bin) => managers.push(Manager {
                kind: Kind::Pm2,
                bin: std::path::absolute(&bin)
                    .with_context(|| format!("bad path {}", bin.display()))?,
            }),
            None => eprintln!("pm2 not found (install it with `npm install -g pm2`): pmtui alone"),
        }
    }
    let machine = machine::Machine::probe();
    let versions: Vec<(String, String)> = managers
        .iter()
        .map(|m| (m.name().to_string(), m.version()))
        .collect();
    eprintln!("machine: {}", machine.describe());
    for (name, version) in &versions {
        eprintln!("{name}: {version}");
    }
    let mut results = Results::default();
    let mut floor = Vec::new();
    let mut spawn_floor = Vec::new();
    // Burst key → the same burst written straight to a file, per run.
    let mut direct: std::collections::BTreeMap<&str, Vec<f64>> = Default::default();
    // … and into a pipe drained by a reader that does nothing else.
    let mut piped: std::collections::BTreeMap<&str, Vec<f64>> = Default::default();
    for run in 1..=runs {
        eprintln!("== run {run}/{runs}");
        if wanted("crash") {
            match scenarios::exec_floor(&child, if cli.smoke { 3 } else { 30 }) {
                Ok(v) => floor.push(v),
                Err(err) => results.errors.push(format!("exec floor: {err:#}")),
            }
        }
        if wanted("eco") {
            match scenarios::spawn_floor(&sleep, plan.ls_big) {
                Ok(v) => spawn_floor.push(v),
                Err(err) => results.errors.push(format!("spawn floor: {err:#}")),
            }
        }
        if wanted("logs") {
            for burst in logs::bursts(&plan) {
                match logs::baseline(&child, &burst) {
                    Ok(rate) => direct.entry(burst.key).or_default().push(rate),
                    Err(err) => results.errors.push(format!("log baseline: {err:#}")),
                }
                match logs::pipe_baseline(&child, &burst) {
                    Ok(rate) => piped.entry(burst.key).or_default().push(rate),
                    Err(err) => results.errors.push(format!("log pipe baseline: {err:#}")),
                }
            }
        }
        // Alternate who goes first, so that neither always meets a fresher machine.
        let order: Vec<&Manager> = if run % 2 == 1 {
            managers.iter().collect()
        } else {
            managers.iter().rev().collect()
        };
        for mgr in order {
            let mut ctx = Ctx {
                plan: &plan,
                results: &mut results,
                child: child.clone(),
                sleep: sleep.clone(),
            };
            let steps: [(&str, ScenarioFn); 11] = [
                ("start", scenarios::start_and_idle),
                ("lists", scenarios::lists),
                ("eco", scenarios::ecosystem),
                ("callgrind", callgrind::callgrind),
                ("stop", scenarios::stop_all),
                ("crash", scenarios::crashes),
                ("logs", logs::capture),
                ("reload", reload::reload_under_load),
                ("watch", watch::watch_cost),
                ("appmetrics", appmetrics::app_metrics_cost),
                ("health", health::probe_cost),
            ];
            for (name, step) in steps {
                if !wanted(name) {
                    continue;
                }
                if let Err(err) = step(&mut ctx, mgr) {
                    eprintln!("  [{}] {name}: FAILED: {err:#}", mgr.name());
                    ctx.results
                        .errors
                        .push(format!("run {run}, {}, {name}: {err:#}", mgr.name()));
                }
            }
        }
        if wanted("frame")
            && let Some(ms) = frame::render_ms(plan.frame_rows, plan.frame_iters)
        {
            results.record(
                report::Metric::lower(
                    "frame",
                    format!(
                        "dashboard frame, {} rows (TestBackend 200×60)",
                        plan.frame_rows
                    ),
                    "ms",
                    Some(2.0),
                )
                .issue18(true),
                "pmtui",
                ms,
            );
        }
        if wanted("frame")
            && let Some(ms) = frame::detail_render_ms(plan.frame_rows, plan.frame_iters)
        {
            results.record(
                report::Metric::lower(
                    "frame_detail",
                    format!(
                        "detail frame with charts, {} rows (TestBackend 200×60)",
                        plan.frame_rows
                    ),
                    "ms",
                    Some(2.0),
                )
                .issue18(true),
                "pmtui",
                ms,
            );
        }
    }
    let with_pm2 = managers.iter().any(|m| m.kind == Kind::Pm2);
    let medians = |rates: &std::collections::BTreeMap<&str, Vec<f64>>| {
        rates
            .iter()
            .map(|(key, runs)| (key.to_string(), json!(median(runs))))
            .collect::<serde_json::Map<String, serde_json::Value>>()
    };
    let baselines = json!({
        "exec_floor_ms": median(&floor),
        "spawn_floor_s": median(&spawn_floor),
        "direct_log_rates": medians(&direct),
        "piped_log_rates": medians(&piped),
    });
    let mut notes = Vec::new();
    if stand_in.is_some() {
        notes.push(
            "pmtui-bench-child was not built: pmtui-bench stood in for it, whose start adds \
             about 0.5 ms to every crash sample"
                .to_string(),
        );
    }
    if let Some(v) = median(&floor) {
        notes.push(format!(
            "crash latency includes exec of the next run; spawning the same crasher directly \
             (no manager) takes {} ms to its first line",
            report::fmt(Some(v))
        ));
    }
    if let Some(v) = median(&spawn_floor) {
        notes.push(format!(
            "{} apps from one file includes each app's own start; spawning the same {} sleeps \
             directly (no manager: pipes only, no logs, records or cgroups) takes {} s",
            plan.ls_big,
            plan.ls_big,
            report::fmt(Some(v))
        ));
    }
    for (rates, how) in [
        (&direct, "written straight to a file (no manager)"),
        (
            &piped,
            "written into a pipe drained by a reader that does nothing else (no manager; it \
             reads as soon as anything is there, so one write per line wakes it per line)",
        ),
    ] {
        let each: Vec<String> = logs::bursts(&plan)
            .iter()
            .filter_map(|b| {
                let rate = median(rates.get(b.key)?)?;
                let what = b.label.trim_start_matches("log capture, ");
                Some(format!("{what} {} {}", report::fmt(Some(rate)), b.unit()))
            })
            .collect();
        if !each.is_empty() {
            notes.push(format!("the same log bursts {how}: {}", each.join(", ")));
        }
    }
    println!();
    println!(
        "pmtui-bench ({}; medians of {runs} run{})",
        if cli.smoke {
            "SMOKE: tiny sizes, figures mean nothing"
        } else {
            "full"
        },
        if runs == 1 { "" } else { "s" }
    );
    println!("machine: {}", machine.describe());
    for (name, version) in &versions {
        println!("{name}: {version}");
    }
    println!();
    print!("{}", report::table(&results, with_pm2));
    for n in &notes {
        println!("- {n}");
    }
    for (manager, what, text) in &results.details {
        println!("- {manager}, {what}: {text}");
    }
    for e in &results.errors {
        println!("ERROR: {e}");
    }
    let metrics: Vec<_> = results
        .metrics
        .iter()
        .map(|m| {
            let ours = results.get(m.key, "pmtui");
            let theirs = results.get(m.key, "pm2");
            json!({
                "metric": m,
                "pmtui": results.values.get(m.key).and_then(|v| v.get("pmtui")),
                "pm2": results.values.get(m.key).and_then(|v| v.get("pm2")),
                "pm2_over_pmtui": match (ours, theirs) {
                    (Some(a), Some(b)) if a > 0.0 => Some(b / a),
                    _ => None,
                },
            })
        })
        .collect();
    let doc = json!({
        "mode": if cli.smoke { "smoke" } else { "full" },
        "runs": runs,
        "finished_at": jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%MZ").to_string(),
        "load_at_end": machine::load_average(),
        "command": std::env::args().collect::<Vec<_>>().join(" "),
        "machine": machine,
        "managers": versions.iter().zip(&managers).map(|((name, version), m)| json!({
            "name": name, "version": version, "binary": m.bin,
        })).collect::<Vec<_>>(),
        "metrics": metrics,
        "baselines": baselines,
        "notes": notes,
        "details": results.details.iter().map(|(m, what, text)| json!({
            "manager": m, "what": what, "text": text,
        })).collect::<Vec<_>>(),
        "errors": results.errors,
    });
    std::fs::write(&cli.out, serde_json::to_string_pretty(&doc)? + "\n")
        .with_context(|| format!("cannot write {}", cli.out.display()))?;
    println!("\nJSON report: {}", cli.out.display());
    Ok(if results.errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

type ScenarioFn = fn(&mut Ctx, &Manager) -> Result<()>;

/// The name of the programs the benchmarks supervise (see `child`).
const CHILD: &str = "pmtui-bench-child";

/// `pmtui-bench-child` beside this program; where it is missing (`cargo run` builds only the
/// program it runs), a link to this program under that name, in a temporary folder that
/// lives as long as the returned guard. Its start is heavier (see `child`), so it is said.
fn child_program(me: &Path) -> Result<(PathBuf, Option<tempfile::TempDir>)> {
    let beside = me.with_file_name(CHILD);
    if beside.is_file() {
        return Ok((beside, None));
    }
    let dir = tempfile::tempdir()?;
    let link = dir.path().join(CHILD);
    std::os::unix::fs::symlink(me, &link).context("link a stand-in for pmtui-bench-child")?;
    eprintln!(
        "{} is missing (`cargo build -p pmtui-bench` builds it): this program stands in for \
         it, and its heavier start adds about 0.5 ms to every crash sample",
        beside.display()
    );
    Ok((link, Some(dir)))
}

/// `--pmtui`, or the `pmtui` beside this binary, built first with this binary's profile
/// when run by cargo so that the figures are those of the current source.
fn locate_pmtui(explicit: Option<PathBuf>, me: &Path) -> Result<PathBuf> {
    if let Some(path) = explicit {
        if !path.is_file() {
            bail!("--pmtui {}: no such file", path.display());
        }
        return std::path::absolute(&path).with_context(|| format!("bad path {}", path.display()));
    }
    if let Some(cargo) = std::env::var_os("CARGO") {
        let mut cmd = std::process::Command::new(cargo);
        cmd.args(["build", "-p", "pmtui"])
            .current_dir(env!("CARGO_MANIFEST_DIR"));
        if !cfg!(debug_assertions) {
            cmd.arg("--release");
        }
        eprintln!("building pmtui: {cmd:?}");
        let status = cmd.status().context("cannot run cargo")?;
        if !status.success() {
            bail!("building pmtui failed ({status})");
        }
    }
    let beside = me.with_file_name("pmtui");
    if beside.is_file() {
        Ok(beside)
    } else {
        bail!(
            "no pmtui binary at {}: build it (`cargo build --release -p pmtui`) or pass --pmtui PATH",
            beside.display()
        )
    }
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(program))
            .find(|path| path.is_file())
    })
}
