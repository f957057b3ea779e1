//! `pmtui pid [targets]`: the pids of running processes, one per line, for scripts
//! (`kill -USR1 $(pmtui pid api)`). A stopped process prints nothing rather than pm2's `0`:
//! `kill 0` would signal the caller's whole process group.

use super::connect;
use crate::cli::PidArgs;
use crate::output;
use anyhow::Result;
use pmtui_proto::{Request, Response};
use std::process::ExitCode;

pub async fn pid(args: PidArgs) -> Result<ExitCode> {
    let client = connect().await?;
    let processes = if args.targets.is_empty() {
        match client.request(Request::List).await? {
            Response::Processes { processes } => processes,
            other => anyhow::bail!("unexpected reply: {other:?}"),
        }
    } else {
        let request = Request::Describe {
            targets: args.targets,
            history: false,
        };
        match client.request(request).await? {
            Response::Details { details } => details.into_iter().map(|d| d.info).collect(),
            other => anyhow::bail!("unexpected reply: {other:?}"),
        }
    };
    if args.json {
        let rows: Vec<_> = processes
            .iter()
            .map(|p| serde_json::json!({"id": p.id, "name": p.name, "pid": p.pid}))
            .collect();
        output::json(&rows)?;
    } else {
        for pid in processes.iter().filter_map(|p| p.pid) {
            println!("{pid}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
