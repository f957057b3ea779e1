//! Instruction counts (valgrind's callgrind): figures a busy machine does not move, for
//! pmtui only (pm2's JIT-compiled JavaScript has no stable count). `ls --json` is the CLI
//! call's whole run; a crash → restart cycle is the daemon's own instructions between two
//! dumps of its counters, N cycles apart.

use crate::manager::{Home, Kind, Manager};
use crate::report::Metric;
use crate::scenarios::{Ctx, idle_apps, which_in_path};
use anyhow::{Context, Result, bail};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Both counts.
pub fn callgrind(ctx: &mut Ctx, mgr: &Manager) -> Result<()> {
    if mgr.kind != Kind::Pmtui {
        return Ok(());
    }
    let Some(valgrind) = which_in_path("valgrind") else {
        bail!("valgrind is not installed");
    };
    let ls = ls_json(ctx, mgr, &valgrind);
    let cycle = crash_cycle(ctx, mgr, &valgrind);
    ls.and(cycle)
}

/// Instructions of one `ls --json` at the small population.
fn ls_json(ctx: &mut Ctx, mgr: &Manager, valgrind: &Path) -> Result<()> {
    let n = ctx.plan.ls_small;
    let home = Home::new(mgr)?;
    home.boot()?;
    eprintln!("  [{}] callgrind: `ls --json` at {n} apps", mgr.name());
    idle_apps(ctx, &home, n)?;
    let out_file = home.dir().join("callgrind.out");
    let output = Command::new(valgrind)
        .arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", out_file.display()))
        .arg(&mgr.bin)
        .args(["ls", "--json"])
        .env("PMTUI_HOME", home.dir())
        .stdin(Stdio::null())
        .output()
        .context("cannot run valgrind")?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    let collected = stderr
        .lines()
        .find_map(|l| {
            l.split_once("Collected :")
                .map(|(_, v)| v.trim().to_string())
        })
        .and_then(|v| v.parse::<f64>().ok())
        .with_context(|| format!("no instruction count from callgrind: {stderr}"))?;
    ctx.results.record(
        Metric::lower(
            "callgrind_ls",
            format!("`ls --json`, {n} apps: instructions (callgrind)"),
            "M instr",
            None,
        ),
        mgr.name(),
        collected / 1e6,
    );
    Ok(())
}

/// How long each crashing run lives: past the default `min_uptime` (1 s), so every cycle is
/// an ordinary restart, not crash-loop handling.
const LIVE_MS: u64 = 1100;
/// How long after a run's first line the counters are dumped: the daemon is done with
/// the restart and idle, and the run is still far from its end.
const SETTLE_MS: u64 = 500;

/// The daemon's instructions per crash → restart cycle: one daemon under callgrind, its
/// counters dumped (`callgrind_control --dump`) 0.5 s after the first run of a crashing
/// app started and again 0.5 s after its N-th restart; the second dump holds exactly N
/// cycles (exit, reaping, decision, history, spawn of the next run) and idle time, which
/// costs nothing with the metrics sampler set to once an hour. Divided by N.
fn crash_cycle(ctx: &mut Ctx, mgr: &Manager, valgrind: &Path) -> Result<()> {
    let Some(control) = which_in_path("callgrind_control") else {
        bail!("callgrind_control is not installed");
    };
    let n = ctx.plan.callgrind_crashes;
    eprintln!(
        "  [{}] callgrind: {n} crash → restart cycles of one app",
        mgr.name()
    );
    let home = Home::new(mgr)?;
    let dir = home.dir();
    std::fs::write(dir.join("config.toml"), "metrics_interval = \"1h\"\n")?;
    let log = std::fs::File::create(dir.join("valgrind.log"))?;
    let mut daemon = Command::new(valgrind)
        .arg("--tool=callgrind")
        .arg(format!(
            "--callgrind-out-file={}",
            dir.join("callgrind.daemon").display()
        ))
        .arg(&mgr.bin)
        .arg("daemon")
        .env("PMTUI_HOME", dir)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .context("cannot run valgrind")?;
    let result = cycles(ctx, &home, &control, n, &mut daemon);
    if result.is_err() {
        let _ = daemon.kill();
    }
    let _ = daemon.wait();
    let total = result?;
    ctx.results.detail(
        mgr.name(),
        "crash cycle instructions",
        format!("{total} daemon instructions for {n} cycles"),
    );
    ctx.results.record(
        Metric::lower(
            "callgrind_crash",
            "one crash → restart cycle: daemon instructions (callgrind)".into(),
            "K instr",
            None,
        ),
        mgr.name(),
        total / n.max(1) as f64 / 1e3,
    );
    Ok(())
}

/// Runs the crasher under the daemon and returns the instructions of its `n` cycles.
fn cycles(
    ctx: &Ctx,
    home: &Home,
    control: &Path,
    n: usize,
    daemon: &mut std::process::Child,
) -> Result<f64> {
    // No CLI call before the socket answers: the CLI would start a daemon of its own.
    let socket = home.dir().join("pmtui.sock");
    let deadline = Instant::now() + Duration::from_secs(120);
    while std::os::unix::net::UnixStream::connect(&socket).is_err() {
        if let Some(status) = daemon.try_wait()? {
            bail!("the daemon under callgrind exited ({status}) before it answered");
        }
        if Instant::now() > deadline {
            bail!("the daemon under callgrind did not answer in 120 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let stamps = home.dir().join("stamps");
    let stamps_s = stamps.to_string_lossy().into_owned();
    let (live, crashes_s) = (LIVE_MS.to_string(), n.to_string());
    let args = [
        "crash",
        "--file",
        &stamps_s,
        "--live-ms",
        &live,
        "--crashes",
        &crashes_s,
    ];
    home.start(&ctx.child, "cycle", 1, &[], &args, Duration::from_secs(120))?;
    let pid = daemon.id();
    wait_runs(&stamps, 1)?;
    std::thread::sleep(Duration::from_millis(SETTLE_MS));
    dump(control, pid)?;
    wait_runs(&stamps, n + 1)?;
    std::thread::sleep(Duration::from_millis(SETTLE_MS));
    dump(control, pid)?;
    let total = totals(&home.dir().join("callgrind.daemon.2"))?;
    home.run(&["kill"], Duration::from_secs(120))?;
    Ok(total)
}

/// Waits until the crasher's stamp file shows `runs` starts, the last one `SETTLE_MS` old
/// at most before the next crash: a run that started earlier than that would put the
/// dump off its phase.
fn wait_runs(stamps: &Path, runs: usize) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60 + 2 * runs as u64);
    loop {
        let seen = std::fs::read_to_string(stamps)
            .map(|t| t.lines().filter(|l| l.starts_with("S ")).count())
            .unwrap_or(0);
        if seen > runs {
            bail!("the crasher ran {seen} times before the dump after its run {runs}");
        }
        if seen == runs {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("the crasher's run {runs} did not start in time ({seen} runs)");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// `callgrind_control --dump PID`: writes the counters since the last dump to a numbered
/// file and zeroes them. Always with the pid: without it every callgrind on the machine
/// would dump.
fn dump(control: &Path, pid: u32) -> Result<()> {
    let output = Command::new(control)
        .arg("--dump")
        .arg(pid.to_string())
        .stdin(Stdio::null())
        .output()
        .context("cannot run callgrind_control")?;
    if !output.status.success() {
        bail!(
            "callgrind_control --dump {pid} failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}

/// The `totals:` (or `summary:`) line of a callgrind output file: instructions.
fn totals(file: &Path) -> Result<f64> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let text = loop {
        match std::fs::read_to_string(file) {
            // `totals:` is the last line: the file is whole.
            Ok(text) if text.contains("totals:") => break text,
            _ if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            _ => bail!("no callgrind output {}", file.display()),
        }
    };
    text.lines()
        .find_map(|l| {
            l.strip_prefix("totals:")
                .or_else(|| l.strip_prefix("summary:"))
        })
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .with_context(|| format!("no instruction total in {}", file.display()))
}
