//! `save`, `resurrect`, `ping`, `kill`, `flush` and `reload-logs`.

use super::{connect, home};
use crate::output;
use anyhow::Result;
use pmtui_proto::{Request, Response};
use std::process::ExitCode;
use std::time::{Duration, Instant};

pub async fn save(force: bool, json: bool) -> Result<ExitCode> {
    let client = connect().await?;
    let response = client.request(Request::Save { force }).await?;
    if json {
        output::json(&response)?;
    } else if let Response::Saved { path, count } = response {
        println!(
            "saved {} to {path}",
            pmtui_proto::plural(count, "process", "processes")
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn resurrect(json: bool) -> Result<ExitCode> {
    let client = connect().await?;
    let Response::Processes { processes } = client.request(Request::Resurrect).await? else {
        anyhow::bail!("unexpected reply to resurrect");
    };
    if json {
        output::json(&processes)?;
    } else {
        println!(
            "resurrected {}",
            pmtui_proto::plural(processes.len(), "process", "processes")
        );
        output::processes(&processes);
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn ping(json: bool) -> Result<ExitCode> {
    let client = connect().await?;
    let response = client.request(Request::Ping).await?;
    if json {
        output::json(&response)?;
    } else if let Response::Pong {
        version,
        pid,
        home,
        processes,
        warnings,
        state_problems,
        containment,
        cgroup,
        incidents,
        ..
    } = response
    {
        println!(
            "pong: pmtui {version} daemon, pid {pid}, {}, home {home}",
            pmtui_proto::plural(processes, "process", "processes")
        );
        match cgroup {
            Some(cgroup) => println!("containment: cgroup (a cgroup per process, in {cgroup})"),
            None => {
                println!("containment: {containment} (process groups and the PMTUI_JOB marker)")
            }
        }
        for warning in warnings {
            eprintln!("warning: {}", output::safe(&warning));
        }
        output::state_problems(&state_problems);
        for incident in incidents {
            eprintln!("warning: recovered: {}", output::safe(&incident));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Stops every process and the daemon, and returns only once the daemon is gone.
pub async fn kill() -> Result<ExitCode> {
    let home = home();
    pmtui_client::check_home(&home)?;
    let Some(pid) = pmtui_client::daemon_pid(&home) else {
        println!("no daemon running for {}", home.display());
        return Ok(ExitCode::SUCCESS);
    };
    let client =
        pmtui_client::Client::connect_with(&home.join("pmtui.sock"), super::timeout()).await?;
    let spinner = crate::spinner::Spinner::start(
        format!("stopping the daemon (pid {pid}): waiting for every process to exit"),
        false,
    );
    let response = client.request(Request::Kill).await;
    drop(client);
    let response = response?;
    let deadline = Instant::now() + Duration::from_secs(30);
    // The process itself must be gone, not only its lock: scripts run `kill` then expect
    // nothing of the daemon left.
    while pmtui_client::daemon_pid(&home).is_some() || !process_gone(pid) {
        if Instant::now() > deadline {
            anyhow::bail!("the daemon (pid {pid}) did not exit within 30 s");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    drop(spinner);
    if let Response::Done { message } = response {
        println!("{}", output::safe(&message));
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn flush(targets: Vec<String>) -> Result<ExitCode> {
    let client = connect().await?;
    if let Response::Done { message } = client.request(Request::Flush { targets }).await? {
        println!("{}", output::safe(&message));
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn reload_logs() -> Result<ExitCode> {
    let client = connect().await?;
    if let Response::Done { message } = client.request(Request::ReloadLogs).await? {
        println!("{}", output::safe(&message));
    }
    Ok(ExitCode::SUCCESS)
}

/// True when `pid` no longer runs (gone, or a zombie waiting for its parent).
fn process_gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rfind(')')
            .and_then(|i| stat[i + 1..].split_whitespace().next())
            .is_some_and(|state| state == "Z" || state == "X"),
        Err(_) => true,
    }
}
