//! Rolling reload under load: the same Node `http` app (a plain `listen(PORT)`) runs as 4
//! instances in each manager's cluster mode (pmtui's daemon-held socket with its Node
//! preload; pm2's cluster module), client threads request it at a steady rate, and
//! `reload` is timed from the call to its return. Figures: requests that failed during the
//! reload (a refused, reset or unanswered connection), and the time to finish. Every pid
//! must have been replaced, or the scenario fails.
//!
//! The rate is fixed (`RATE_PER_CLIENT`), below what either manager's instances serve, so
//! both reload under the same load. Clients that send their next request as soon as the
//! last is answered (as this scenario did until December 2026) load a faster cluster
//! harder: pmtui's instances then answered about three times pm2's requests during the
//! reload, and the busier machine made its reload the slower of the two.

use crate::manager::{Home, Manager};
use crate::report::Metric;
use crate::scenarios::Ctx;
use anyhow::{Context, Result, bail};
use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The app: answers with its pid; on the stop signal (SIGTERM for pmtui, SIGINT for pm2)
/// stops accepting and exits once what it accepted is answered.
const APP: &str = r#"
const http = require('http');
const server = http.createServer((req, res) => res.end(process.pid + '\n'))
  .listen(process.env.PORT);
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
"#;

const INSTANCES: usize = 4;
const CLIENTS: usize = 4;
/// Requests a second from each client: 1,000 a second in all. Both managers' clusters
/// answer more than twice that on the 2-core machine the published figures come from.
const RATE_PER_CLIENT: u32 = 250;
/// The load of all clients together, requests a second.
const RATE: u32 = CLIENTS as u32 * RATE_PER_CLIENT;

/// What the client threads saw.
#[derive(Default)]
struct Tally {
    ok: u64,
    failed: Vec<String>,
}

pub fn reload_under_load(ctx: &mut Ctx, mgr: &Manager) -> Result<()> {
    if which("node").is_none() {
        ctx.results.detail(
            mgr.name(),
            "reload",
            "skipped: node is not installed".into(),
        );
        return Ok(());
    }
    let home = Home::new(mgr)?;
    home.boot()?;
    eprintln!(
        "  [{}] reload of {INSTANCES} instances under load",
        mgr.name()
    );
    let app = home.dir().join("app.js");
    std::fs::write(&app, APP).context("cannot write the app")?;
    let app = app.to_string_lossy().into_owned();
    let port = free_port()?;
    let port_text = port.to_string();
    let n = INSTANCES.to_string();
    let env_flag = format!("PORT={port}");
    let mut argv = vec!["start", app.as_str(), "--name", "web", "-i", n.as_str()];
    if mgr.kind == crate::manager::Kind::Pmtui {
        argv.extend(["--env", env_flag.as_str()]);
    }
    home.run_env(&argv, &[("PORT", &port_text)], Duration::from_secs(120))?;
    let before: BTreeSet<u32> = home
        .wait_online(INSTANCES, Duration::from_secs(120))?
        .into_iter()
        .collect();
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let deadline = Instant::now() + Duration::from_secs(60);
    while get(addr).is_err() {
        if Instant::now() > deadline {
            bail!("{}: the app never answered on port {port}", mgr.name());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let mut tally = Tally::default();
                let period = Duration::from_secs(1) / RATE_PER_CLIENT;
                let mut next = Instant::now();
                while !stop.load(Ordering::Relaxed) {
                    // A request late because the last one was slow is sent at once, but
                    // no burst makes up for it: the load never rises above the rate.
                    let now = Instant::now();
                    if next > now {
                        std::thread::sleep(next - now);
                    }
                    next = next.max(now) + period;
                    match get(addr) {
                        Ok(_) => tally.ok += 1,
                        Err(why) => tally.failed.push(why),
                    }
                }
                tally
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let t0 = Instant::now();
    let reloaded = home.run(&["reload", "web"], Duration::from_secs(300));
    let took = t0.elapsed();
    // A little more load on the new instances before counting.
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    let mut total = Tally::default();
    for client in clients {
        let tally = client
            .join()
            .map_err(|_| anyhow::anyhow!("a client thread panicked"))?;
        total.ok += tally.ok;
        total.failed.extend(tally.failed);
    }
    reloaded?;
    let after: BTreeSet<u32> = home
        .wait_online(INSTANCES, Duration::from_secs(60))?
        .into_iter()
        .collect();
    if !before.is_disjoint(&after) {
        bail!(
            "{}: reload left pids in place (before {before:?}, after {after:?})",
            mgr.name()
        );
    }
    let failed = total.failed.len();
    ctx.results.record(
        Metric {
            // One failed request is a failure: the worst run counts.
            worst_of_runs: true,
            ..Metric::lower(
            "reload_failed",
            format!(
                "requests failed during `reload` of {INSTANCES} Node instances ({CLIENTS} clients, {RATE} requests/s)"
            ),
            "req",
            Some(0.0),
        )},
        mgr.name(),
        failed as f64,
    );
    ctx.results.record(
        Metric::lower(
            "reload_ms",
            format!(
                "`reload` of {INSTANCES} Node instances under {RATE} requests/s, until it returns"
            ),
            "ms",
            None,
        ),
        mgr.name(),
        took.as_secs_f64() * 1000.0,
    );
    let mut text = format!("{} requests answered, {failed} failed", total.ok);
    if let Some(first) = total.failed.first() {
        text += &format!(" (first: {first})");
    }
    ctx.results.detail(mgr.name(), "reload", text);
    Ok(())
}

/// `GET /` on `addr` over a fresh connection: the body on a 200, else why not.
fn get(addr: SocketAddr) -> Result<String, String> {
    let mut stream =
        TcpStream::connect_timeout(&addr, Duration::from_secs(5)).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    stream
        .write_all(b"GET / HTTP/1.0\r\nHost: bench\r\n\r\n")
        .map_err(|e| e.to_string())?;
    let mut answer = String::new();
    stream
        .read_to_string(&mut answer)
        .map_err(|e| e.to_string())?;
    match answer.split_once("\r\n\r\n") {
        Some((head, body)) if head.contains(" 200") => Ok(body.trim().to_string()),
        _ => Err(format!("not a 200: {answer:?}")),
    }
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn which(program: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(program))
            .find(|path| path.is_file())
    })
}
