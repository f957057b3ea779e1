//! `metrics`: current resource use of process trees and of the host, as a table, JSON
//! (`--history` adds the kept samples), or Prometheus text.

use super::connect;
use crate::cli::MetricsArgs;
use crate::output;
use anyhow::Result;
use pmtui_proto::{Request, Response};
use std::process::ExitCode;

pub async fn metrics(args: MetricsArgs) -> Result<ExitCode> {
    let client = connect().await?;
    let targets = args.targets;
    let request = Request::Metrics {
        targets,
        history: args.history,
    };
    let Response::Metrics {
        interval_ms,
        host,
        processes,
    } = client.request(request).await?
    else {
        anyhow::bail!("unexpected reply to metrics");
    };
    if args.prometheus {
        print!(
            "{}",
            pmtui_proto::prometheus::render(host.as_ref(), &processes)
        );
        return Ok(ExitCode::SUCCESS);
    }
    if args.json {
        output::json(&serde_json::json!({
            "interval_ms": interval_ms,
            "host": host,
            "processes": processes,
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    match &host {
        Some(h) => println!(
            "host  cpu {:.1}% of {} cores  load {:.2}  memory {} / {} ({:.1}%)",
            h.cpu,
            h.cores,
            h.load1,
            output::bytes(h.memory_used),
            output::bytes(h.memory_total),
            h.memory_used as f64 / h.memory_total.max(1) as f64 * 100.0
        ),
        None if interval_ms == 0 => println!("metrics sampling is off (metrics_interval_ms = 0)"),
        None => println!("host  no sample yet"),
    }
    if processes.is_empty() {
        println!("no processes; start one with `pmtui start <script>`");
        return Ok(ExitCode::SUCCESS);
    }
    let dash = || "-".to_string();
    let rows: Vec<Vec<String>> = processes
        .iter()
        .map(|p| {
            let c = p.current.as_ref();
            vec![
                p.id.to_string(),
                output::safe(&p.name).into_owned(),
                output::status(p.status),
                c.map_or_else(dash, |c| format!("{:.1}%", c.cpu)),
                c.map_or_else(dash, |c| output::bytes(c.memory)),
                c.map_or_else(dash, |c| format!("{:.1}%", c.memory_percent)),
                c.map_or_else(dash, |c| c.threads.to_string()),
                c.and_then(|c| c.fds).map_or_else(dash, |n| n.to_string()),
                c.map_or_else(dash, |c| c.processes.to_string()),
            ]
        })
        .collect();
    output::table(
        &[
            "id", "name", "status", "cpu", "mem", "mem%", "threads", "fds", "procs",
        ],
        &rows,
    );
    Ok(ExitCode::SUCCESS)
}
