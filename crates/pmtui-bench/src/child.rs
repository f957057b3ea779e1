//! The programs the managers supervise in the benchmarks, built into this binary so that
//! pmtui and pm2 run exactly the same thing: a crasher that stamps its start and its exit
//! into a file, and a burst writer that prints numbered lines as fast as it can.

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
        } => {
            append(&file, &format!("S {}\n", now_ns()))?;
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
        } => {
            let start = now_ns();
            match to {
                Some(path) => {
                    let file = std::fs::File::create(&path)?;
                    burst(file, lines, size)?;
                }
                None => burst(std::io::stdout().lock(), lines, size)?,
            }
            std::fs::write(stamp, format!("{start} {}\n", now_ns()))?;
            Ok(std::process::ExitCode::SUCCESS)
        }
    }
}

/// The line numbered `i`: nine digits, a space, filler, a newline; `size` bytes in all.
pub fn line(i: u64, size: usize, buf: &mut Vec<u8>) {
    buf.clear();
    let _ = write!(buf, "{i:09} ");
    buf.resize(size.max(11) - 1, b'x');
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

fn append(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?
        .write_all(text.as_bytes())
}
