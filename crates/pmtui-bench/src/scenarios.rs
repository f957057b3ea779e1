//! The scenarios, each against one manager in a fresh state directory. Every child is a
//! `sleep` binary (idle apps) or this binary's own `child` modes (crashers, log bursts), so
//! both managers supervise exactly the same programs.

use crate::child::now_ns;
use crate::manager::{Home, Kind, Manager};
use crate::procfs;
use crate::report::{Better, Metric, Results, percentile};
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The sizes of one run: the full benchmark or the smoke test.
#[derive(Debug, Clone)]
pub struct Plan {
    pub start_count: usize,
    /// Quiet time between the last start and the CPU window.
    pub cpu_settle: Duration,
    pub cpu_window: Duration,
    pub ls_small: usize,
    pub ls_big: usize,
    pub ls_calls: usize,
    pub restart_calls: usize,
    pub stop_apps: usize,
    pub crashers: usize,
    pub crash_live_ms: u64,
    pub crash_jitter_ms: u64,
    pub crash_samples: usize,
    /// Lines of the 16 B and 1 KiB bursts.
    pub log_lines: u64,
    /// Lines of the 8 B bursts, in blocks and one `write` per line.
    pub log_lines_8: u64,
    pub log_lines_each: u64,
    /// Crashes of the callgrind crash → restart count (its per-cycle figure is their mean).
    pub callgrind_crashes: usize,
    pub frame_rows: usize,
    pub frame_iters: usize,
    pub watch_files: usize,
    pub watch_dirs: usize,
    pub watch_idle: Duration,
    pub watch_edits: usize,
}

impl Plan {
    pub fn full() -> Self {
        Self {
            start_count: 200,
            // Past the 30 s after which pmtui's per-process "stable" timer fires once: the
            // window sees the idle steady state, not the tail of the starts.
            cpu_settle: Duration::from_secs(32),
            cpu_window: Duration::from_secs(30),
            ls_small: 100,
            ls_big: 1000,
            ls_calls: 20,
            restart_calls: 10,
            stop_apps: 50,
            // Each crasher lives just over the default min_uptime (1 s), so neither manager
            // ever counts a crash loop, and the jitter keeps them from dying in step.
            crashers: 20,
            crash_live_ms: 1050,
            crash_jitter_ms: 300,
            crash_samples: 200,
            log_lines: 200_000,
            log_lines_8: 2_000_000,
            log_lines_each: 1_000_000,
            callgrind_crashes: 10,
            frame_rows: 1000,
            frame_iters: 200,
            watch_files: 10_000,
            watch_dirs: 1_000,
            watch_idle: Duration::from_secs(10),
            watch_edits: 5,
        }
    }

    pub fn smoke() -> Self {
        Self {
            start_count: 5,
            cpu_settle: Duration::from_secs(1),
            cpu_window: Duration::from_secs(2),
            ls_small: 5,
            ls_big: 10,
            ls_calls: 3,
            restart_calls: 2,
            stop_apps: 5,
            // Short lives: unstable runs, but fewer than max_restarts (16) of them.
            crashers: 1,
            crash_live_ms: 100,
            crash_jitter_ms: 0,
            crash_samples: 4,
            log_lines: 2_000,
            log_lines_8: 2_000,
            log_lines_each: 2_000,
            callgrind_crashes: 1,
            frame_rows: 1000,
            frame_iters: 5,
            watch_files: 50,
            watch_dirs: 5,
            watch_idle: Duration::from_secs(1),
            watch_edits: 1,
        }
    }
}

/// What every scenario needs besides the manager.
pub struct Ctx<'a> {
    pub plan: &'a Plan,
    pub results: &'a mut Results,
    /// This binary: the crasher and the log writer.
    /// The programs supervised in the benchmarks (`pmtui-bench-child`).
    pub child: PathBuf,
    pub sleep: PathBuf,
}

pub(crate) const SLEEP_ARGS: &[&str] = &["100000"];

use crate::report::mib;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn metric(
    key: &'static str,
    label: String,
    unit: &'static str,
    better: Better,
    target: Option<f64>,
) -> Metric {
    Metric {
        better,
        ..Metric::lower(key, label, unit, target)
    }
}

/// The daemon's `VmRSS` with its `RssAnon` and `RssFile` parts (the tables show both).
fn daemon_rss(home: &Home) -> Result<procfs::Rss> {
    let pid = home.daemon_pid()?;
    procfs::rss(pid).with_context(|| format!("daemon pid {pid} has no VmRSS"))
}

/// `n` sleeping apps named `idle` (one `start`), until every one is online; their pids.
pub(crate) fn idle_apps(ctx: &Ctx, home: &Home, n: usize) -> Result<Vec<u32>> {
    home.start(
        &ctx.sleep,
        "idle",
        n,
        &[],
        SLEEP_ARGS,
        Duration::from_secs(120),
    )?;
    home.wait_online(n, Duration::from_secs(120))
}

/// The daemon's CPU and wake-ups over a window: the idle rows' measure.
pub(crate) struct Busy {
    pub cpu_percent: f64,
    pub wakeups_per_s: f64,
    /// Each thread's share and wake-ups (`name 0.123% 1.0/s, …`).
    pub threads: String,
}

/// The CPU time of `pid` and the voluntary context switches of each of its threads (each
/// one a sleep, so a wake-up) over `window`. CPU is the sum of its threads' exact times
/// (`schedstat`); the process's `utime+stime`, counted in whole clock ticks, is used
/// instead when it says more than that sum by over two ticks (a thread ended in the window).
pub(crate) fn daemon_window(pid: u32, window: Duration) -> Result<Busy> {
    let (c0, t0_threads) = (procfs::cpu_time(pid), procfs::threads(pid));
    let t0 = Instant::now();
    std::thread::sleep(window);
    let secs = t0.elapsed().as_secs_f64();
    let (c1, t1_threads) = (procfs::cpu_time(pid), procfs::threads(pid));
    let (Some(c0), Some(c1)) = (c0, c1) else {
        bail!("the daemon (pid {pid}) went away during the CPU window");
    };
    let per_thread = procfs::thread_deltas(&t0_threads, &t1_threads);
    let wakeups: u64 = per_thread.values().map(|(_, w)| w).sum();
    let threads: Vec<String> = per_thread
        .iter()
        .map(|(name, (cpu, w))| {
            format!(
                "{name} {:.3}% {:.1}/s",
                cpu.as_secs_f64() / secs * 100.0,
                *w as f64 / secs
            )
        })
        .collect();
    let exact: Duration = per_thread.values().map(|(cpu, _)| *cpu).sum();
    let ticks = c1.saturating_sub(c0);
    let tick = Duration::from_nanos(1_000_000_000 / procfs::clock_ticks());
    let cpu = if ticks > exact + 2 * tick {
        ticks
    } else {
        exact
    };
    Ok(Busy {
        cpu_percent: cpu.as_secs_f64() / secs * 100.0,
        wakeups_per_s: wakeups as f64 / secs,
        threads: threads.join(", "),
    })
}

fn note(mgr: &Manager, what: &str) {
    eprintln!("  [{}] {what}", mgr.name());
}

/// Idle RSS; N apps started with one CLI call each, until all online; then the daemon's
/// CPU, wake-ups and RSS with those N apps idle.
pub fn start_and_idle(ctx: &mut Ctx, mgr: &Manager) -> Result<()> {
    let plan = ctx.plan;
    let n = plan.start_count;
    let home = Home::new(mgr)?;
    let boot = home.boot()?;
    ctx.results.record(
        metric(
            "boot",
            "daemon start (first `ping`)".into(),
            "ms",
            Better::Lower,
            None,
        ),
        mgr.name(),
        ms(boot),
    );
    std::thread::sleep(Duration::from_secs(1));
    ctx.results.record_rss(
        metric(
            "rss_idle",
            "daemon RSS, no apps".into(),
            "MiB",
            Better::Lower,
            Some(4.0),
        )
        .issue18(true),
        mgr.name(),
        &daemon_rss(&home)?,
    );
    note(mgr, &format!("starting {n} apps, one CLI call each"));
    let t0 = Instant::now();
    for i in 0..n {
        home.start(
            &ctx.sleep,
            &format!("idle-{i}"),
            1,
            &[],
            SLEEP_ARGS,
            Duration::from_secs(60),
        )?;
    }
    home.wait_online(n, Duration::from_secs(120))?;
    ctx.results.record(
        metric(
            "start_each",
            format!("start {n} apps, one CLI call each, until all online"),
            "s",
            Better::Lower,
            (n == 200).then_some(2.0),
        ),
        mgr.name(),
        t0.elapsed().as_secs_f64(),
    );
    // Let whatever follows a burst of starts (persisting, one-off timers) pass.
    std::thread::sleep(plan.cpu_settle);
    let pid = home.daemon_pid()?;
    let window = plan.cpu_window;
    note(
        mgr,
        &format!("daemon CPU over {window:?} with {n} idle apps"),
    );
    let busy = daemon_window(pid, window)?;
    note(mgr, &format!("daemon threads: {}", busy.threads));
    ctx.results.detail(mgr.name(), "idle threads", busy.threads);
    ctx.results.record(
        metric(
            "cpu_idle",
            format!("daemon CPU, {n} idle apps, {}s", window.as_secs()),
            "% core",
            Better::Lower,
            (n == 200).then_some(0.05),
        )
        .issue18(true),
        mgr.name(),
        busy.cpu_percent,
    );
    ctx.results.record(
        metric(
            "wakeups_idle",
            format!("daemon wake-ups, {n} idle apps"),
            "/s",
            Better::Lower,
            (n == 200).then_some(1.0),
        )
        .issue18(false),
        mgr.name(),
        busy.wakeups_per_s,
    );
    ctx.results.record_rss(
        metric(
            "rss_start_count",
            format!("daemon RSS, {n} apps"),
            "MiB",
            Better::Lower,
            (n == 200).then_some(8.0),
        )
        .issue18(true),
        mgr.name(),
        &daemon_rss(&home)?,
    );
    Ok(())
}

fn time_calls(home: &Home, args: &[&str], calls: usize) -> Result<Vec<f64>> {
    (0..calls)
        .map(|_| home.timed(args, Duration::from_secs(120)).map(ms))
        .collect()
}

/// RSS and `ls --json` at a small and a large population (started with `-i` in one call),
/// and the `restart` latency of one app.
pub fn lists(ctx: &mut Ctx, mgr: &Manager) -> Result<()> {
    let plan = ctx.plan;
    let (small, big) = (plan.ls_small, plan.ls_big);
    let home = Home::new(mgr)?;
    home.boot()?;
    note(mgr, &format!("{small} apps: RSS, list, restart"));
    idle_apps(ctx, &home, small)?;
    std::thread::sleep(Duration::from_secs(1));
    let fds_small = fd_count(home.daemon_pid()?).unwrap_or(0);
    let rss_small = daemon_rss(&home)?;
    ctx.results.record_rss(
        metric(
            "rss_small",
            format!("daemon RSS, {small} apps"),
            "MiB",
            Better::Lower,
            None,
        ),
        mgr.name(),
        &rss_small,
    );
    let list = home.list_args();
    let times = time_calls(&home, list, plan.ls_calls)?;
    let label = format!("`ls --json` (pm2: `jlist`), {small} apps");
    ctx.results.record(
        metric(
            "ls_small",
            label,
            "ms",
            Better::Lower,
            (small == 100).then_some(3.0),
        ),
        mgr.name(),
        crate::report::median(&times).unwrap_or(f64::NAN),
    );
    // pm2 numbers processes from 0 in a fresh home, as pmtui does.
    let times = time_calls(&home, &["restart", "0"], plan.restart_calls)?;
    ctx.results.record(
        metric(
            "restart",
            "`restart` of one app (CLI call)".into(),
            "ms",
            Better::Lower,
            Some(20.0),
        ),
        mgr.name(),
        crate::report::median(&times).unwrap_or(f64::NAN),
    );
    note(mgr, &format!("{big} apps: RSS, list"));
    let t0 = Instant::now();
    home.start(
        &ctx.sleep,
        "more",
        big - small,
        &[],
        SLEEP_ARGS,
        Duration::from_secs(600),
    )?;
    home.wait_online(big, Duration::from_secs(600))?;
    ctx.results.record(
        metric(
            "start_batch",
            format!(
                "start {} more apps in one call (`-i`), until online",
                big - small
            ),
            "s",
            Better::Lower,
            None,
        ),
        mgr.name(),
        t0.elapsed().as_secs_f64(),
    );
    std::thread::sleep(Duration::from_secs(1));
    let rss_big = daemon_rss(&home)?;
    ctx.results.record_rss(
        metric(
            "rss_big",
            format!("daemon RSS, {big} apps"),
            "MiB",
            Better::Lower,
            (big == 1000).then_some(30.0),
        )
        .issue18(true),
        mgr.name(),
        &rss_big,
    );
    ctx.results.record(
        metric(
            "rss_per_process",
            format!("daemon memory per extra process ({small} → {big} apps)"),
            "KiB",
            Better::Lower,
            Some(16.0),
        )
        .issue18(true),
        mgr.name(),
        (rss_big.total as f64 - rss_small.total as f64) / (big - small).max(1) as f64,
    );
    let fds_big = fd_count(home.daemon_pid()?).unwrap_or(0);
    record_fds(ctx, mgr, (small, fds_small), (big, fds_big));
    let times = time_calls(&home, list, plan.ls_calls)?;
    ctx.results.record(
        metric(
            "ls_big",
            format!("`ls --json` (pm2: `jlist`), {big} apps"),
            "ms",
            Better::Lower,
            (big == 1000).then_some(5.0),
        )
        .issue18(true),
        mgr.name(),
        crate::report::median(&times).unwrap_or(f64::NAN),
    );
    if mgr.kind == Kind::Pmtui {
        describe_all(ctx, &home, big)?;
        if let Err(err) = ui_rss(ctx, &home, big) {
            ctx.results.errors.push(format!("UI RSS: {err:#}"));
        }
    }
    Ok(())
}

/// `stop all` with N apps: from the call until every pid is gone.
pub fn stop_all(ctx: &mut Ctx, mgr: &Manager) -> Result<()> {
    let n = ctx.plan.stop_apps;
    let home = Home::new(mgr)?;
    home.boot()?;
    note(mgr, &format!("stop all of {n} apps"));
    let pids = idle_apps(ctx, &home, n)?;
    std::thread::sleep(Duration::from_millis(500));
    let t0 = Instant::now();
    home.run(&["stop", "all"], Duration::from_secs(120))?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while pids.iter().any(|p| procfs::alive(*p)) {
        if Instant::now() > deadline {
            bail!(
                "{}: processes still alive 60 s after `stop all`",
                mgr.name()
            );
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    ctx.results.record(
        metric(
            "stop_all",
            format!("`stop all`, {n} apps, until every pid is gone"),
            "ms",
            Better::Lower,
            (n == 50).then_some(100.0),
        ),
        mgr.name(),
        ms(t0.elapsed()),
    );
    Ok(())
}

/// Crash → new process: each crasher stamps `E` just before it exits and its successor
/// stamps `S` first thing, so a sample is the whole path: exit, reaping, decision, spawn
/// and exec of the next run, up to its first line of code.
pub fn crashes(ctx: &mut Ctx, mgr: &Manager) -> Result<()> {
    let plan = ctx.plan;
    let home = Home::new(mgr)?;
    home.boot()?;
    note(
        mgr,
        &format!(
            "{} crashers until {} crashes",
            plan.crashers, plan.crash_samples
        ),
    );
    let stamps = home.dir().join("stamps");
    std::fs::create_dir_all(&stamps)?;
    let files: Vec<PathBuf> = (0..plan.crashers)
        .map(|i| stamps.join(format!("crash-{i}")))
        .collect();
    let (live, jitter) = (
        plan.crash_live_ms.to_string(),
        plan.crash_jitter_ms.to_string(),
    );
    for (i, file) in files.iter().enumerate() {
        let file = file.to_string_lossy();
        let args = [
            "crash",
            "--file",
            &file,
            "--live-ms",
            &live,
            "--jitter-ms",
            &jitter,
        ];
        home.start(
            &ctx.child,
            &format!("crash-{i}"),
            1,
            &[],
            &args,
            Duration::from_secs(60),
        )?;
    }
    let per_crash = Duration::from_millis(plan.crash_live_ms + plan.crash_jitter_ms + 50);
    let expected = per_crash * (plan.crash_samples / plan.crashers.max(1) + 1) as u32;
    let deadline = Instant::now() + expected * 2 + Duration::from_secs(10);
    let samples = loop {
        let samples = crash_samples(&files)?;
        if samples.len() >= plan.crash_samples {
            break samples;
        }
        if Instant::now() > deadline {
            bail!(
                "{}: only {} crash→restart samples before the deadline",
                mgr.name(),
                samples.len()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    home.run(&["delete", "all"], Duration::from_secs(60))?;
    ctx.results.record(
        metric(
            "crash_median",
            "crash → next run's first line, median".into(),
            "ms",
            Better::Lower,
            Some(1.5),
        )
        .issue18(true),
        mgr.name(),
        percentile(&samples, 50.0).unwrap_or(f64::NAN),
    );
    ctx.results.record(
        metric(
            "crash_p99",
            "crash → next run's first line, p99".into(),
            "ms",
            Better::Lower,
            Some(3.0),
        )
        .issue18(true),
        mgr.name(),
        percentile(&samples, 99.0).unwrap_or(f64::NAN),
    );
    ctx.results.record(
        metric(
            "crash_samples",
            "crashes measured".into(),
            "",
            Better::Higher,
            None,
        ),
        mgr.name(),
        samples.len() as f64,
    );
    Ok(())
}

/// Every `E` followed by an `S` in the crashers' stamp files, in milliseconds.
fn crash_samples(files: &[PathBuf]) -> Result<Vec<f64>> {
    let mut samples = Vec::new();
    for file in files {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        let mut exit: Option<u64> = None;
        for line in text.lines() {
            let (kind, ns) = line.split_once(' ').context("bad stamp line")?;
            let ns: u64 = ns.trim().parse().context("bad stamp")?;
            match kind {
                "E" => exit = Some(ns),
                "S" => {
                    if let Some(e) = exit.take() {
                        samples.push(ns.saturating_sub(e) as f64 / 1e6);
                    }
                }
                _ => bail!("bad stamp line in {}: {line}", file.display()),
            }
        }
    }
    Ok(samples)
}

/// The cost of the measuring stick: spawn this binary as a crasher directly (no manager)
/// and time it from `spawn` to its first stamp.
pub fn exec_floor(child: &Path, calls: usize) -> Result<f64> {
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("floor");
    let mut samples = Vec::new();
    for _ in 0..calls {
        let _ = std::fs::remove_file(&file);
        let t0 = now_ns();
        let status = std::process::Command::new(child)
            .args(["crash", "--live-ms", "0", "--code", "0", "--file"])
            .arg(&file)
            .status()?;
        if !status.success() {
            bail!("the crasher failed on its own: {status}");
        }
        let text = std::fs::read_to_string(&file)?;
        let start: u64 = text
            .lines()
            .find_map(|l| l.strip_prefix("S "))
            .and_then(|v| v.parse().ok())
            .context("the crasher wrote no start stamp")?;
        samples.push(start.saturating_sub(t0) as f64 / 1e6);
    }
    percentile(&samples, 50.0).context("no samples")
}

/// The cost of the apps themselves in `eco`: spawn `n` of its `sleep`s directly (no
/// manager: stdout and stderr piped, nothing read, no logs, no records, no cgroups), timed
/// until the last `spawn` returns, as a manager's `online` means; then they are killed.
pub fn spawn_floor(sleep: &Path, n: usize) -> Result<f64> {
    let mut children = Vec::with_capacity(n);
    let t0 = Instant::now();
    let spawned = (0..n).try_for_each(|_| {
        let child = std::process::Command::new(sleep)
            .args(SLEEP_ARGS)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()?;
        children.push(child);
        Ok::<_, std::io::Error>(())
    });
    let elapsed = t0.elapsed().as_secs_f64();
    for child in &mut children {
        let _ = child.kill();
    }
    for child in &mut children {
        let _ = child.wait();
    }
    spawned.context("spawning the floor's sleeps")?;
    Ok(elapsed)
}

/// Open fds of `pid`.
fn fd_count(pid: u32) -> Option<usize> {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .ok()
        .map(|d| d.count())
}

/// The extra fds the daemon holds per process, between `small` and `big` processes.
pub(crate) fn record_fds(ctx: &mut Ctx, mgr: &Manager, small: (usize, usize), big: (usize, usize)) {
    if big.0 > small.0 {
        ctx.results.record(
            metric(
                "fds_per_process",
                "daemon fds per process".into(),
                "fds",
                Better::Lower,
                Some(4.0),
            )
            .issue18(false),
            mgr.name(),
            (big.1 as f64 - small.1 as f64) / (big.0 - small.0) as f64,
        );
    }
}

/// `describe --json all` at the large population: wall time and size (pmtui).
fn describe_all(ctx: &mut Ctx, home: &Home, n: usize) -> Result<()> {
    let t0 = Instant::now();
    let out = home.run(&["describe", "--json", "all"], Duration::from_secs(120))?;
    let took = t0.elapsed();
    ctx.results.record(
        metric(
            "describe_all_ms",
            format!("`describe --json all`, {n} apps"),
            "ms",
            Better::Lower,
            None,
        ),
        home.mgr.name(),
        ms(took),
    );
    ctx.results.record(
        metric(
            "describe_all_kib",
            format!("`describe --json all`, {n} apps: output size"),
            "KiB",
            Better::Lower,
            None,
        ),
        home.mgr.name(),
        out.len() as f64 / 1024.0,
    );
    Ok(())
}

/// The UI's RSS with `n` processes listed: `pmtui` in a pseudo-terminal (200×60) made by
/// `script`, measured after it has drawn for a few seconds.
fn ui_rss(ctx: &mut Ctx, home: &Home, n: usize) -> Result<()> {
    let Some(script) = which_in_path("script") else {
        bail!("no `script` program to give the UI a terminal");
    };
    let line = format!(
        "stty cols 200 rows 60; exec {}",
        home.mgr.bin.to_string_lossy()
    );
    let mut child = std::process::Command::new(script)
        .args(["-qfc", &line, "/dev/null"])
        .env("PMTUI_HOME", home.dir())
        .env("TERM", "xterm-256color")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .context("cannot run script")?;
    let script_pid = child.id();
    std::thread::sleep(Duration::from_secs(4));
    let ui = children_of(script_pid).into_iter().next();
    let rss = ui.and_then(procfs::rss_kib);
    if let Some(pid) = ui {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid as i32),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    let _ = child.kill();
    let _ = child.wait();
    let rss = rss.context("the UI was not running after 4 s")?;
    ctx.results.record(
        metric(
            "ui_rss",
            format!("UI RSS, {n} apps listed"),
            "MiB",
            Better::Lower,
            (n == 1000).then_some(15.0),
        )
        .issue18(true),
        home.mgr.name(),
        mib(rss),
    );
    Ok(())
}

pub(crate) fn which_in_path(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(program))
            .find(|path| path.is_file())
    })
}

/// Processes whose parent is `pid`.
fn children_of(pid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|p| {
            std::fs::read_to_string(format!("/proc/{p}/stat"))
                .ok()
                .and_then(|s| {
                    let after = s.rsplit_once(')')?.1;
                    after.split_whitespace().nth(1)?.parse::<u32>().ok()
                })
                == Some(pid)
        })
        .collect()
}

/// N apps from one ecosystem file (JSON, pm2's format), one `start` call, until all online.
pub fn ecosystem(ctx: &mut Ctx, mgr: &Manager) -> Result<()> {
    let n = ctx.plan.ls_big;
    let home = Home::new(mgr)?;
    home.boot()?;
    note(mgr, &format!("{n} apps from one ecosystem file"));
    let apps: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            serde_json::json!({
                "name": format!("eco-{i}"),
                "script": ctx.sleep,
                "args": SLEEP_ARGS,
                "interpreter": "none",
            })
        })
        .collect();
    let file = home.dir().join("ecosystem.json");
    std::fs::write(
        &file,
        serde_json::to_string(&serde_json::json!({ "apps": apps }))?,
    )?;
    let file = file.to_string_lossy().into_owned();
    let t0 = Instant::now();
    home.run(&["start", &file], Duration::from_secs(600))?;
    let pids = home.wait_online(n, Duration::from_secs(600))?;
    ctx.results.record(
        metric(
            "eco_start",
            format!("start {n} apps from one ecosystem file, until all online"),
            "s",
            Better::Lower,
            (n == 1000).then_some(1.0),
        )
        .issue18(true),
        mgr.name(),
        t0.elapsed().as_secs_f64(),
    );
    if mgr.kind == Kind::Pmtui {
        recovery(ctx, mgr, &home, &pids)?;
    }
    Ok(())
}

/// The daemon is killed (`SIGKILL`, no chance to clean up) with the ecosystem's apps
/// running; the next command starts a new one, which ends the old process trees and starts
/// the apps again. Two figures from the kill: until the new daemon answers, and until every
/// app is online again in a new process. pmtui only: pm2's new daemon starts empty (its
/// apps run on unsupervised until `pm2 resurrect`).
fn recovery(ctx: &mut Ctx, mgr: &Manager, home: &Home, old: &[u32]) -> Result<()> {
    let n = old.len();
    let daemon = home.daemon_pid()?;
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(daemon as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .context("kill the daemon")?;
    let t0 = Instant::now();
    let deadline = t0 + Duration::from_secs(600);
    while procfs::alive(daemon) {
        if Instant::now() > deadline {
            bail!("the daemon {daemon} outlived SIGKILL");
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    // A client gives up on a daemon that is busy starting; ask again until one answers.
    while home.run(&["ping"], Duration::from_secs(600)).is_err() {
        if Instant::now() > deadline {
            bail!("no daemon answered within 600 s of the kill");
        }
    }
    let answered = t0.elapsed();
    let old: std::collections::HashSet<u32> = old.iter().copied().collect();
    home.wait_list(
        &format!("{n} processes online again"),
        deadline.saturating_duration_since(Instant::now()),
        |rows| {
            rows.len() == n
                && rows
                    .iter()
                    .all(|r| r.status == "online" && r.pid.is_some_and(|p| !old.contains(&p)))
        },
    )?;
    let online = t0.elapsed();
    let label = |what: &str| format!("daemon SIGKILLed with {n} apps: until {what}");
    ctx.results.record(
        metric(
            "recovery_answer",
            label("a new daemon answers"),
            "s",
            Better::Lower,
            None,
        ),
        mgr.name(),
        answered.as_secs_f64(),
    );
    ctx.results.record(
        metric(
            "recovery_online",
            label("every app is online again"),
            "s",
            Better::Lower,
            None,
        ),
        mgr.name(),
        online.as_secs_f64(),
    );
    Ok(())
}
