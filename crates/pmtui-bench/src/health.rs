//! The cost of health probes (pmtui only; pm2 has none): `start_count` idle apps from one
//! file, each with an `http` probe every 5 s against a tiny server in this process, and the
//! daemon's CPU and wake-ups over the same window as the idle scenario, against the same
//! idle-CPU target. The server counts the probes it answered in the window, so a run where
//! the probes did not fire cannot pass for a cheap one.

use crate::manager::{Home, Kind, Manager};
use crate::report::Metric;
use crate::scenarios::{Ctx, daemon_window};
use anyhow::{Context, Result, bail};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

const INTERVAL: &str = "5s";

/// An HTTP server that answers every request `200 ok` and counts them; stops when dropped.
struct Server {
    port: u16,
    answered: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    fn start() -> Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").context("bind the probe server")?;
        let port = listener.local_addr()?.port();
        let answered = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (count, halt) = (answered.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if halt.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(mut conn) = conn else { continue };
                let _ = conn.set_read_timeout(Some(Duration::from_secs(2)));
                let mut buf = [0u8; 1024];
                let mut got = Vec::new();
                // The request head only: probes send no body.
                while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                    match conn.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => got.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = conn.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
                );
                count.fetch_add(1, Ordering::Relaxed);
            }
        });
        Ok(Self {
            port,
            answered,
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wakes the accept so the thread sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// How many listed processes the probe calls healthy.
fn healthy(home: &Home) -> Result<usize> {
    let out = home.run(&["ls", "--json"], Duration::from_secs(120))?;
    let rows: Vec<Value> = serde_json::from_str(&out).context("`ls --json` is not JSON")?;
    Ok(rows.iter().filter(|r| r["health"] == "healthy").count())
}

pub fn probe_cost(ctx: &mut Ctx, mgr: &Manager) -> Result<()> {
    if mgr.kind != Kind::Pmtui {
        return Ok(());
    }
    let plan = ctx.plan;
    let n = plan.start_count;
    let server = Server::start()?;
    let home = Home::new(mgr)?;
    home.boot()?;
    let sleep = ctx.sleep.display().to_string();
    let mut file = String::from("apps:\n");
    for i in 0..n {
        file.push_str(&format!(
            "  - name: probed-{i}\n    script: {sleep}\n    args: [\"100000\"]\n    \
             health_check:\n      url: http://127.0.0.1:{}/health\n      interval: {INTERVAL}\n",
            server.port
        ));
    }
    let path = home.dir().join("probed.yaml");
    std::fs::write(&path, file)?;
    eprintln!(
        "  [{}] starting {n} apps, each probed every {INTERVAL}",
        mgr.name()
    );
    // `start <file>` waits until every app is ready: its first probe passed.
    home.run(
        &["start", &path.display().to_string()],
        Duration::from_secs(180),
    )?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while healthy(&home)? < n {
        if Instant::now() > deadline {
            bail!("not all {n} apps healthy within 60 s of the start");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(plan.cpu_settle);
    let pid = home.daemon_pid()?;
    let window = plan.cpu_window;
    eprintln!(
        "  [{}] daemon CPU over {window:?} with {n} probed apps",
        mgr.name()
    );
    let a0 = server.answered.load(Ordering::Relaxed);
    let t0 = Instant::now();
    let busy = daemon_window(pid, window)?;
    // The server's count over the same span as the daemon's CPU.
    let answered = server.answered.load(Ordering::Relaxed).saturating_sub(a0);
    let secs = t0.elapsed().as_secs_f64();
    eprintln!("  [{}] daemon threads: {}", mgr.name(), busy.threads);
    ctx.results
        .detail(mgr.name(), "probed threads", busy.threads);
    ctx.results.record(
        Metric::lower(
            "probe_rate",
            format!("probes answered, {n} apps every {INTERVAL}"),
            "/s",
            None,
        ),
        mgr.name(),
        answered as f64 / secs,
    );
    ctx.results.record(
        Metric::lower(
            "cpu_probed",
            format!(
                "daemon CPU, {n} apps probed every {INTERVAL}, {}s",
                window.as_secs()
            ),
            "% core",
            // The idle-CPU target of `start` (issue 13: probes stay within it).
            (n == 200).then_some(0.05),
        ),
        mgr.name(),
        busy.cpu_percent,
    );
    ctx.results.record(
        Metric::lower(
            "wakeups_probed",
            format!("daemon wake-ups, {n} apps probed every {INTERVAL}"),
            "/s",
            None,
        ),
        mgr.name(),
        busy.wakeups_per_s,
    );
    Ok(())
}
