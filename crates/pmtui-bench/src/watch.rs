//! The cost of file watching (pmtui only; pm2's chokidar watcher lives in its daemon too,
//! but its flags differ): a tree of `watch_files` files in `watch_dirs` folders, one app
//! watching it. Measures how long turning the watch on takes (`pmtui watch NAME on`
//! answers once every folder is watched), what it adds to the daemon's RSS, the daemon's
//! CPU while nothing changes, and the time from a file write to the first line of the
//! new run (the default 500 ms debounce included).

use crate::manager::{Home, Kind, Manager};
use crate::procfs;
use crate::report::{Metric, median};
use crate::scenarios::Ctx;
use anyhow::{Context, Result, bail};
use std::path::Path;
use std::time::{Duration, Instant};

/// `files` files spread over `dirs` folders two levels deep under `root`.
fn make_tree(root: &Path, files: usize, dirs: usize) -> Result<()> {
    let top = (dirs as f64).sqrt().ceil().max(1.0) as usize;
    let per_dir = files.div_ceil(dirs.max(1));
    let mut made = 0;
    'out: for a in 0..top {
        for b in 0..top {
            let dir = root.join(format!("d{a}/e{b}"));
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("cannot make {}", dir.display()))?;
            for f in 0..per_dir {
                std::fs::write(dir.join(format!("f{f}.txt")), "x")?;
                made += 1;
                if made >= files {
                    break 'out;
                }
            }
        }
    }
    Ok(())
}

/// The `S <ns>` stamps the app wrote (one per run).
fn stamps(file: &Path) -> Vec<u64> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.strip_prefix("S ")?.trim().parse().ok())
        .collect()
}

pub fn watch_cost(ctx: &mut Ctx, mgr: &Manager) -> Result<()> {
    if mgr.kind != Kind::Pmtui {
        return Ok(());
    }
    let plan = ctx.plan;
    let (files, dirs) = (plan.watch_files, plan.watch_dirs);
    let home = Home::new(mgr)?;
    let tree = home.dir().join("tree");
    make_tree(&tree, files, dirs)?;
    let stamp = home.dir().join("stamps");
    home.boot()?;
    let tree_arg = format!("--watch={}", tree.display());
    let child = ctx.child.display().to_string();
    let stamp_arg = stamp.display().to_string();
    home.start(
        &ctx.child,
        "watcher",
        1,
        &[&tree_arg],
        &["crash", "--file", &stamp_arg, "--live-ms", "100000000"],
        Duration::from_secs(60),
    )
    .with_context(|| format!("start {child} --watch"))?;
    home.wait_online(1, Duration::from_secs(60))?;
    home.run(&["watch", "watcher", "off"], Duration::from_secs(60))?;
    std::thread::sleep(Duration::from_secs(1));
    let pid = home.daemon_pid()?;
    let before = procfs::rss_kib(pid).context("daemon RSS")?;
    let t0 = Instant::now();
    home.run(&["watch", "watcher", "on"], Duration::from_secs(120))?;
    let setup = t0.elapsed();
    std::thread::sleep(Duration::from_secs(1));
    let after = procfs::rss_kib(pid).context("daemon RSS")?;
    let label = format!("{files} files in {dirs} folders");
    ctx.results.record(
        Metric::lower(
            "watch_setup",
            format!("watch on, {label} (CLI call)"),
            "ms",
            Some(1000.0),
        ),
        mgr.name(),
        setup.as_secs_f64() * 1000.0,
    );
    ctx.results.record(
        Metric::lower(
            "watch_rss",
            format!("daemon RSS added by watching {label}"),
            "MiB",
            Some(2.0),
        ),
        mgr.name(),
        after.saturating_sub(before) as f64 / 1024.0,
    );

    let window = plan.watch_idle;
    let c0 = procfs::cpu_time(pid);
    std::thread::sleep(window);
    let c1 = procfs::cpu_time(pid);
    let (Some(c0), Some(c1)) = (c0, c1) else {
        bail!("the daemon went away");
    };
    ctx.results.record(
        Metric::lower(
            "watch_cpu_idle",
            format!(
                "daemon CPU watching {label}, nothing changing, {}s",
                window.as_secs()
            ),
            "% core",
            None,
        ),
        mgr.name(),
        c1.saturating_sub(c0).as_secs_f64() / window.as_secs_f64() * 100.0,
    );

    let mut latencies = Vec::new();
    for i in 0..plan.watch_edits {
        let runs = stamps(&stamp).len();
        let written = crate::child::now_ns();
        std::fs::write(tree.join("d0/e0/f0.txt"), format!("edit {i}"))?;
        let deadline = Instant::now() + Duration::from_secs(30);
        let new = loop {
            if let Some(&s) = stamps(&stamp).get(runs) {
                break s;
            }
            if Instant::now() > deadline {
                bail!("no restart within 30 s of a write");
            }
            std::thread::sleep(Duration::from_millis(2));
        };
        latencies.push(new.saturating_sub(written) as f64 / 1e6);
        // Past the debounce, so the next write starts a burst of its own.
        std::thread::sleep(Duration::from_millis(700));
    }
    if let Some(v) = median(&latencies) {
        ctx.results.record(
            Metric::lower(
                "watch_latency",
                "file write to the new run's first line (500 ms debounce included)".into(),
                "ms",
                Some(1500.0),
            ),
            mgr.name(),
            v,
        );
    }
    Ok(())
}
