//! The programs the managers supervise in the benchmarks, built into this binary so that
//! pmtui and pm2 run exactly the same thing: a crasher that stamps its start and its exit
//! into a file, and a burst writer that prints numbered lines as fast as it can, in blocks
//! or one `write` per line.

use clap::Subcommand;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[derive(Debug, Subcommand)]
pub enum ChildCmd {
    /// Append `S <ns>` to FILE, live a while, append `E <ns>`, exit with code 1.
    Crash {
        #[arg(long)]
        file: PathBuf,
        #[arg(long, default_value_t = 1050)]
        live_ms: u64,
        /// Adds `pid % JITTER` ms to the life, so that crashers do not die in step.
        #[arg(long, default_value_t = 0)]
        jitter_ms: u64,
        #[arg(long, default_value_t = 1)]
        code: i32,
        /// Crash only this many times: the run that finds this many start stamps already
        /// in FILE stays up (sleeps) instead.
        #[arg(long)]
        crashes: Option<usize>,
    },
    /// Print LINES numbered lines of SIZE bytes (newline included) to stdout, or to a file.
    Burst {
        #[arg(long)]
        lines: u64,
        #[arg(long)]
        size: usize,
        /// Write here instead of stdout (the baseline).
        #[arg(long)]
        to: Option<PathBuf>,
        /// Where `<start-ns> <end-ns>` is written when the burst is done.
        #[arg(long)]
        stamp: PathBuf,
        /// One `write` per line (unbuffered) instead of 64 KiB blocks.
        #[arg(long)]
        each: bool,
    },
}

/// Nanoseconds since the Unix epoch (the clock every process here shares).
pub fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

pub fn run(cmd: ChildCmd) -> anyhow::Result<std::process::ExitCode> {
    match cmd {
        ChildCmd::Crash {
            file,
            live_ms,
            jitter_ms,
            code,
            crashes,
        } => {
            let runs_before = std::fs::read_to_string(&file)
                .map(|t| t.lines().filter(|l| l.starts_with("S ")).count())
                .unwrap_or(0);
            append(&file, &format!("S {}\n", now_ns()))?;
            if crashes.is_some_and(|n| runs_before >= n) {
                loop {
                    std::thread::sleep(Duration::from_secs(3600));
                }
            }
            let jitter = if jitter_ms > 0 {
                u64::from(std::process::id()) % jitter_ms
            } else {
                0
            };
            std::thread::sleep(Duration::from_millis(live_ms + jitter));
            append(&file, &format!("E {}\n", now_ns()))?;
            std::process::exit(code);
        }
        ChildCmd::Burst {
            lines,
            size,
            to,
            stamp,
            each,
        } => {
            if let Some(max) = max_lines(size)
                && lines > max
            {
                anyhow::bail!("lines of {size} B number at most {max} lines");
            }
            let start = now_ns();
            match (to, each) {
                (Some(path), false) => burst(std::fs::File::create(&path)?, lines, size)?,
                (Some(path), true) => burst_each(&std::fs::File::create(&path)?, lines, size)?,
                (None, false) => burst(std::io::stdout().lock(), lines, size)?,
                (None, true) => burst_each(&std::io::stdout(), lines, size)?,
            }
            std::fs::write(stamp, format!("{start} {}\n", now_ns()))?;
            Ok(std::process::ExitCode::SUCCESS)
        }
    }
}

/// Digits of a line's number: nine, or all but the newline in a line shorter than 11 B.
pub fn digits(size: usize) -> usize {
    if size >= 11 { 9 } else { size.max(2) - 1 }
}

/// How many lines of `size` bytes can be numbered (`None`: more than any burst).
pub fn max_lines(size: usize) -> Option<u64> {
    (size < 11).then(|| 10u64.pow(digits(size) as u32))
}

/// The line numbered `i`: nine digits, a space, filler, a newline; `size` bytes in all.
/// A line shorter than 11 B is the number alone (`0000042\n` for 8 B).
pub fn line(i: u64, size: usize, buf: &mut Vec<u8>) {
    buf.clear();
    if size >= 11 {
        let _ = write!(buf, "{i:09} ");
        buf.resize(size - 1, b'x');
    } else {
        let _ = write!(buf, "{i:0width$}", width = digits(size));
    }
    buf.push(b'\n');
}

fn burst(out: impl Write, lines: u64, size: usize) -> std::io::Result<()> {
    // Block-buffered, as a program that logs a lot would be: this measures the manager.
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, out);
    let mut buf = Vec::with_capacity(size);
    for i in 0..lines {
        line(i, size, &mut buf);
        out.write_all(&buf)?;
    }
    out.flush()
}

/// One `write(2)` per line, as a program that logs unbuffered does: this measures the
/// manager's cost per wake-up and per small read, not per byte.
fn burst_each(out: &impl std::os::fd::AsFd, lines: u64, size: usize) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(size);
    for i in 0..lines {
        line(i, size, &mut buf);
        let mut rest = &buf[..];
        while !rest.is_empty() {
            match nix::unistd::write(out, rest) {
                Ok(n) => rest = &rest[n..],
                Err(nix::errno::Errno::EINTR) => {}
                Err(err) => return Err(err.into()),
            }
        }
    }
    Ok(())
}

fn append(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?
        .write_all(text.as_bytes())
}
