//! Log capture: a child (`pmtui-bench child burst`) prints numbered lines as fast as it can
//! through the manager's capture, in 64 KiB blocks or one `write` per line; the rate is from
//! its first write until the last byte is in the log file, and every line is then checked by
//! number and content (a missing or damaged line is lost). The same child writing straight to
//! a file is the baseline.

use crate::child::{self, now_ns};
use crate::manager::{Home, Manager};
use crate::report::{Better, Metric, Results};
use crate::scenarios::{Ctx, Plan};
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// One kind of burst: its rows are named as issue 18's table names them.
#[derive(Debug, Clone, Copy)]
pub struct Burst {
    /// The rate row's key; the lost row's is `lost`.
    pub key: &'static str,
    pub lost: &'static str,
    pub label: &'static str,
    pub size: usize,
    /// One `write` per line instead of 64 KiB blocks.
    pub each: bool,
    pub lines: u64,
    /// Rated in MiB/s rather than M lines/s.
    pub bytes: bool,
    pub target: Option<f64>,
}

impl Burst {
    pub fn unit(&self) -> &'static str {
        if self.bytes { "MiB/s" } else { "M lines/s" }
    }

    /// The rate in this burst's unit: `lines` lines in `secs`.
    fn rate(&self, lines: u64, secs: f64) -> f64 {
        let lines_s = lines as f64 / secs;
        if self.bytes {
            lines_s * self.size as f64 / (1024.0 * 1024.0)
        } else {
            lines_s / 1e6
        }
    }
}

/// The bursts of a run: issue 18's three rows, and the 16 B one of earlier reports.
pub fn bursts(plan: &Plan) -> [Burst; 4] {
    [
        Burst {
            key: "log_block8_rate",
            lost: "log_block8_lost",
            label: "log capture, 8 B lines written in blocks",
            size: 8,
            each: false,
            lines: plan.log_lines_8,
            bytes: false,
            target: Some(3.5),
        },
        Burst {
            key: "log_each8_rate",
            lost: "log_each8_lost",
            label: "log capture, 8 B lines written one by one",
            size: 8,
            each: true,
            lines: plan.log_lines_each,
            bytes: false,
            target: Some(2.0),
        },
        Burst {
            key: "log_short_rate",
            lost: "log_short_lost",
            label: "log capture, 16 B lines written in blocks",
            size: 16,
            each: false,
            lines: plan.log_lines,
            bytes: false,
            target: None,
        },
        Burst {
            key: "log_kib_rate",
            lost: "log_kib_lost",
            label: "log capture, 1 KiB lines",
            size: 1024,
            each: false,
            lines: plan.log_lines,
            bytes: true,
            target: Some(600.0),
        },
    ]
}

/// Every burst through `mgr`'s capture, each in a fresh home; the failures together.
pub fn capture(ctx: &mut Ctx, mgr: &Manager) -> Result<()> {
    let mut failed = Vec::new();
    for burst in bursts(ctx.plan) {
        if let Err(err) = log_burst(ctx.results, &ctx.child, mgr, &burst) {
            failed.push(format!("{}: {err:#}", burst.label));
        }
    }
    if !failed.is_empty() {
        bail!("{}", failed.join("; "));
    }
    Ok(())
}

/// The child writing `burst` straight to a file: what a manager's capture is compared to;
/// the rate in the burst's unit.
pub fn baseline(child: &Path, burst: &Burst) -> Result<f64> {
    let dir = tempfile::tempdir()?;
    let (to, stamp) = (dir.path().join("direct.log"), dir.path().join("stamp"));
    let mut cmd = std::process::Command::new(child);
    cmd.args(["burst", "--lines", &burst.lines.to_string()])
        .args(["--size", &burst.size.to_string()])
        .arg("--to")
        .arg(&to)
        .arg("--stamp")
        .arg(&stamp);
    if burst.each {
        cmd.arg("--each");
    }
    let status = cmd.status()?;
    if !status.success() {
        bail!("the burst writer failed on its own: {status}");
    }
    let (start, end) = read_stamp(&stamp)?;
    let secs = (end.saturating_sub(start)) as f64 / 1e9;
    let lost = burst.lines - intact_lines(&[to], burst.lines, burst.size)?;
    if lost > 0 {
        bail!("the burst writer lost {lost} lines writing to a file");
    }
    Ok(burst.rate(burst.lines, secs))
}

/// The child writing `burst` into a pipe that this process drains and discards, reading as
/// soon as anything is there: what a reader doing nothing else captures. Written in blocks,
/// it is about the most any pipe reader can; written one line per `write`, a reader that
/// waits between reads does better (it wakes once per read, not per line); the rate in the
/// burst's unit.
pub fn pipe_baseline(child: &Path, burst: &Burst) -> Result<f64> {
    use std::io::Read;
    let dir = tempfile::tempdir()?;
    let stamp = dir.path().join("stamp");
    let mut cmd = std::process::Command::new(child);
    cmd.args(["burst", "--lines", &burst.lines.to_string()])
        .args(["--size", &burst.size.to_string()])
        .arg("--stamp")
        .arg(&stamp)
        .stdout(std::process::Stdio::piped());
    if burst.each {
        cmd.arg("--each");
    }
    let mut child = cmd.spawn()?;
    let mut out = child.stdout.take().context("no pipe to the burst writer")?;
    let mut buf = vec![0u8; 64 * 1024];
    let mut newlines = 0u64;
    loop {
        match out.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => newlines += buf[..n].iter().filter(|b| **b == b'\n').count() as u64,
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err.into()),
        }
    }
    let status = child.wait()?;
    if !status.success() || newlines != burst.lines {
        bail!("the burst writer failed into a pipe ({status}, {newlines} lines)");
    }
    let (start, end) = read_stamp(&stamp)?;
    Ok(burst.rate(burst.lines, end.saturating_sub(start) as f64 / 1e9))
}

fn read_stamp(path: &Path) -> Result<(u64, u64)> {
    let text = std::fs::read_to_string(path)?;
    let mut parts = text.split_whitespace().map(str::parse::<u64>);
    match (parts.next(), parts.next()) {
        (Some(Ok(a)), Some(Ok(b))) => Ok((a, b)),
        _ => bail!("bad stamp file {}", path.display()),
    }
}

/// Distinct line numbers found whole (right length, right number) in `files`.
fn intact_lines(files: &[PathBuf], lines: u64, size: usize) -> Result<u64> {
    let digits = child::digits(size);
    let mut seen = vec![false; lines as usize];
    let mut count = 0;
    let mut expected = Vec::with_capacity(size);
    for file in files {
        let data =
            std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
        for line in data.split(|b| *b == b'\n') {
            if line.len() + 1 != size || line.len() < digits {
                continue;
            }
            let Some(n) = std::str::from_utf8(&line[..digits])
                .ok()
                .and_then(|s| s.parse::<u64>().ok())
            else {
                continue;
            };
            if n >= lines || seen[n as usize] {
                continue;
            }
            child::line(n, size, &mut expected);
            if expected[..expected.len() - 1] == *line {
                seen[n as usize] = true;
                count += 1;
            }
        }
    }
    Ok(count)
}

/// The file and its rotated siblings (`name.1`, `name.2`, …; compressed ones are not read).
fn log_files(out: &Path) -> Vec<PathBuf> {
    let (Some(dir), Some(name)) = (out.parent(), out.file_name().and_then(|n| n.to_str())) else {
        return vec![out.to_path_buf()];
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n == name || n.starts_with(&format!("{name}.")))
                })
                .filter(|p| p.extension().is_none_or(|e| e != "gz"))
                .collect()
        })
        .unwrap_or_default();
    if files.is_empty() {
        files.push(out.to_path_buf());
    }
    files
}

fn total_size(files: &[PathBuf]) -> u64 {
    files
        .iter()
        .filter_map(|f| std::fs::metadata(f).ok())
        .map(|m| m.len())
        .sum()
}

/// One burst through the manager's log capture: from the child's first write until the last
/// line is in the log file, then every line checked.
fn log_burst(results: &mut Results, child: &Path, mgr: &Manager, burst: &Burst) -> Result<()> {
    let lines = burst.lines;
    let home = Home::new(mgr)?;
    home.boot()?;
    eprintln!(
        "  [{}] log burst: {lines} lines of {} B{}",
        mgr.name(),
        burst.size,
        if burst.each { ", one write each" } else { "" }
    );
    let name = format!("burst-{}", burst.size);
    let stamp = home.dir().join(format!("{name}.stamp"));
    let stamp_s = stamp.to_string_lossy().into_owned();
    let (lines_s, size_s) = (lines.to_string(), burst.size.to_string());
    let mut args = vec![
        "burst", "--lines", &lines_s, "--size", &size_s, "--stamp", &stamp_s,
    ];
    if burst.each {
        args.push("--each");
    }
    let mut flags: Vec<String> = vec!["--no-autorestart".into()];
    flags.extend(home.log_flags(&name));
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    home.start(child, &name, 1, &flags, &args, Duration::from_secs(60))?;
    let out = home.out_log(&name);
    let expected = lines * burst.size as u64;
    // Poll the file's size: the end is the last growth seen once the child is done.
    let mut last_size = 0;
    let mut last_growth = Instant::now();
    let mut last_growth_ns = now_ns();
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let files = log_files(&out);
        let size_now = total_size(&files);
        if size_now != last_size {
            last_size = size_now;
            last_growth = Instant::now();
            last_growth_ns = now_ns();
        }
        let child_done = stamp.exists();
        let quiet = last_growth.elapsed();
        if child_done
            && ((size_now >= expected && quiet > Duration::from_millis(200))
                || quiet > Duration::from_secs(3))
        {
            break;
        }
        if Instant::now() > deadline {
            bail!("{}: the log burst did not finish in 300 s", mgr.name());
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let (start, _) = read_stamp(&stamp)?;
    let secs = last_growth_ns.saturating_sub(start) as f64 / 1e9;
    let mut intact = intact_lines(&log_files(&out), lines, burst.size)?;
    if intact < lines {
        // Late is not lost: give the manager a last chance before counting the gaps.
        std::thread::sleep(Duration::from_secs(2));
        intact = intact_lines(&log_files(&out), lines, burst.size)?;
    }
    let metric = Metric {
        better: Better::Higher,
        ..Metric::lower(burst.key, burst.label.into(), burst.unit(), burst.target)
    };
    let metric = if burst.target.is_some() {
        metric.issue18(false)
    } else {
        metric
    };
    results.record(metric, mgr.name(), burst.rate(intact, secs));
    results.record(
        Metric {
            worst_of_runs: true,
            ..Metric::lower(
                burst.lost,
                format!("{}: lines lost (worst run)", burst.label),
                "lines",
                Some(0.0),
            )
            .issue18(false)
        },
        mgr.name(),
        (lines - intact) as f64,
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_lines_are_numbered_and_checked() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("eight");
        let mut data = Vec::new();
        let mut line = Vec::new();
        for i in [0, 1, 3, 3] {
            child::line(i, 8, &mut line);
            data.extend_from_slice(&line);
        }
        assert_eq!(&data[..8], b"0000000\n");
        data.extend_from_slice(b"00002\n");
        std::fs::write(&file, &data).expect("write");
        assert_eq!(intact_lines(&[file], 4, 8).expect("read"), 3);
        assert_eq!(child::max_lines(8), Some(10_000_000));
        assert_eq!(child::max_lines(16), None);
    }
}
