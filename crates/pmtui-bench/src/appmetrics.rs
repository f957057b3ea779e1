//! The cost of application metrics (pmtui only): two idle Node apps side by side, one with
//! the preload's runtime metrics (the default) and one with `node_metrics: false`, their
//! CPU and RSS over the same window; and the daemon's CPU while a Python app pushes 100
//! `METRIC` datagrams a second on its sd_notify socket.

use crate::manager::{Home, Kind, Manager};
use crate::procfs;
use crate::report::Metric;
use crate::scenarios::Ctx;
use anyhow::{Context, Result, bail};
use std::time::Duration;

const IDLE_JS: &str = "setInterval(() => {}, 1000);\n";
const PUSHER_PY: &str = r#"import os, socket, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
n = 0
while True:
    n += 1
    s.sendto(b"METRIC requests_total=%d\nMETRIC queue_depth=%d gauge" % (n, n % 7), os.environ["NOTIFY_SOCKET"])
    time.sleep(0.01)
"#;

fn cpu_percent(before: Option<Duration>, after: Option<Duration>, window: Duration) -> Result<f64> {
    let (Some(a), Some(b)) = (before, after) else {
        bail!("a measured process went away");
    };
    Ok(b.saturating_sub(a).as_secs_f64() / window.as_secs_f64() * 100.0)
}

pub fn app_metrics_cost(ctx: &mut Ctx, mgr: &Manager) -> Result<()> {
    if mgr.kind != Kind::Pmtui {
        return Ok(());
    }
    let window = ctx.plan.watch_idle;
    let home = Home::new(mgr)?;
    home.boot()?;
    let dir = home.dir();
    std::fs::write(dir.join("idle.js"), IDLE_JS)?;
    std::fs::write(dir.join("pusher.py"), PUSHER_PY)?;
    let file = |name: &str, body: &str| -> Result<String> {
        let path = dir.join(format!("{name}.yaml"));
        std::fs::write(&path, body)?;
        Ok(path.display().to_string())
    };
    let js = dir.join("idle.js").display().to_string();
    let off = file(
        "off",
        &format!("apps:\n  - name: off\n    script: {js}\n    node_metrics: false\n"),
    )?;
    let on = file("on", &format!("apps:\n  - name: on\n    script: {js}\n"))?;
    let timeout = Duration::from_secs(60);
    home.run(&["start", &off], timeout)
        .context("start node (metrics off)")?;
    let off_pid = home.wait_online(1, timeout)?[0];
    home.run(&["start", &on], timeout)
        .context("start node (metrics on)")?;
    let on_pid = *home
        .wait_online(2, timeout)?
        .iter()
        .find(|p| **p != off_pid)
        .context("the second app's pid")?;
    // Past start-up (module loading, the first reports).
    std::thread::sleep(Duration::from_secs(3));
    let daemon = home.daemon_pid()?;
    let (on0, off0, d0) = (
        procfs::cpu_time(on_pid),
        procfs::cpu_time(off_pid),
        procfs::cpu_time(daemon),
    );
    std::thread::sleep(window);
    let (on1, off1, d1) = (
        procfs::cpu_time(on_pid),
        procfs::cpu_time(off_pid),
        procfs::cpu_time(daemon),
    );
    let secs = window.as_secs();
    for (key, label, value) in [
        (
            "appm_node_cpu_on",
            "idle Node app CPU, node_metrics on (default)",
            cpu_percent(on0, on1, window)?,
        ),
        (
            "appm_node_cpu_off",
            "idle Node app CPU, node_metrics: false",
            cpu_percent(off0, off1, window)?,
        ),
        (
            "appm_daemon_cpu_node",
            "daemon CPU, the two Node apps",
            cpu_percent(d0, d1, window)?,
        ),
    ] {
        ctx.results.record(
            Metric::lower(key, format!("{label}, {secs}s"), "% core", None),
            mgr.name(),
            value,
        );
    }
    for (key, label, pid) in [
        (
            "appm_node_rss_on",
            "idle Node app RSS, node_metrics on",
            on_pid,
        ),
        (
            "appm_node_rss_off",
            "idle Node app RSS, node_metrics: false",
            off_pid,
        ),
    ] {
        let kib = procfs::rss_kib(pid).context("node RSS")?;
        ctx.results.record(
            Metric::lower(key, label.into(), "MiB", None),
            mgr.name(),
            kib as f64 / 1024.0,
        );
    }
    let pusher = file(
        "pusher",
        &format!(
            "apps:\n  - name: pusher\n    script: {}\n",
            dir.join("pusher.py").display()
        ),
    )?;
    home.run(&["start", &pusher], timeout)
        .context("start the pusher")?;
    home.wait_online(3, timeout)?;
    std::thread::sleep(Duration::from_secs(2));
    let d0 = procfs::cpu_time(daemon);
    std::thread::sleep(window);
    let d1 = procfs::cpu_time(daemon);
    ctx.results.record(
        Metric::lower(
            "appm_daemon_cpu_push",
            format!("daemon CPU, + an app pushing 100 METRIC datagrams/s, {secs}s"),
            "% core",
            None,
        ),
        mgr.name(),
        cpu_percent(d0, d1, window)?,
    );
    Ok(())
}
