//! `logs`: recent lines from the daemon's memory, then (with `--follow`) live lines, with no
//! gap or duplicate between the two.

use super::connect;
use crate::cli::LogsArgs;
use anyhow::{Context, Result};
use pmtui_proto::{EventKind, LogLine, LogStream, Request, Response};
use std::io::Write;
use std::process::ExitCode;

pub async fn logs(args: LogsArgs) -> Result<ExitCode> {
    let grep = args
        .grep
        .as_deref()
        .map(regex::Regex::new)
        .transpose()
        .context("--grep")?;
    let targets: Vec<String> = args
        .target
        .iter()
        .filter(|t| *t != "all")
        .cloned()
        .collect();
    let mut client = connect().await?;
    let follow = args.follow && !args.nostream;
    let request = Request::Logs {
        targets,
        lines: args.lines,
        follow,
    };
    let Response::LogLines { lines } = client.request(request).await? else {
        anyhow::bail!("unexpected reply to logs");
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for line in &lines {
        print_line(&mut out, &args, grep.as_ref(), line)?;
    }
    out.flush()?;
    drop(out);
    if follow {
        while let Some(event) = client.next_event().await {
            if let EventKind::Log { line } = event.kind {
                let mut out = std::io::stdout().lock();
                print_line(&mut out, &args, grep.as_ref(), &line)?;
                out.flush()?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_line(
    out: &mut impl Write,
    args: &LogsArgs,
    grep: Option<&regex::Regex>,
    line: &LogLine,
) -> Result<()> {
    let wanted = match line.stream {
        LogStream::Out => !args.err || args.out,
        LogStream::Err => !args.out || args.err,
    };
    if !wanted || grep.is_some_and(|re| !re.is_match(&line.text)) {
        return Ok(());
    }
    if args.json {
        writeln!(out, "{}", serde_json::to_string(line)?)?;
        return Ok(());
    }
    if args.timestamp {
        write!(out, "{} ", super::show::format_time(line.at))?;
    }
    if !args.raw {
        write!(out, "{}|{:<12}| ", line.id, line.name)?;
    }
    writeln!(out, "{}", line.text)?;
    Ok(())
}
