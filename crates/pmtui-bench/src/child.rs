//! The programs the managers supervise in the benchmarks: a crasher that stamps its start
//! and its exit into a file, and a burst writer that prints numbered lines as fast as it
//! can, in blocks or one `write` per line. pmtui and pm2 run exactly the same programs.
//!
//! They are the small `pmtui-bench-child` executable (std only, arguments read by hand,
//! linked position-dependent) rather than `pmtui-bench` itself: a crash sample runs from
//! one run's exit to the next run's first line, so the crasher's own start is part of every
//! sample. `pmtui-bench` links the whole UI and parses its arguments with clap, which cost
//! about a millisecond per start on the benchmark machine before the first stamp; that
//! millisecond belonged to the measuring stick, not to the manager. `pmtui-bench child …`
//! still runs the same code.

use std::ffi::OsString;
use std::fs::File;
use std::io::Write;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[derive(Debug)]
pub enum ChildCmd {
    /// Append `S <ns>` to FILE, live a while, append `E <ns>`, exit with code 1.
    Crash {
        file: PathBuf,
        live_ms: u64,
        /// Adds `pid % JITTER` ms to the life, so that crashers do not die in step.
        jitter_ms: u64,
        code: i32,
        /// Crash only this many times: the run that finds this many start stamps already
        /// in FILE stays up (sleeps) instead.
        crashes: Option<usize>,
    },
    /// Print LINES numbered lines of SIZE bytes (newline included) to stdout, or to a file.
    Burst {
        lines: u64,
        size: usize,
        /// Write here instead of stdout (the baseline).
        to: Option<PathBuf>,
        /// Where `<start-ns> <end-ns>` is written when the burst is done.
        stamp: PathBuf,
        /// One `write` per line (unbuffered) instead of 64 KiB blocks.
        each: bool,
    },
}

const USAGE: &str = "usage: pmtui-bench-child crash --file F [--live-ms N] [--jitter-ms N] \
[--code N] [--crashes N]
       pmtui-bench-child burst --lines N --size N --stamp F [--to F] [--each]";

/// Nanoseconds since the Unix epoch (the clock every process here shares).
pub fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// Runs the program named by `args` (the arguments after the program's name). `started`
/// is the time taken first thing in `main`: a crasher's start stamp.
pub fn main(started: u64, args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let result = parse(args).and_then(|cmd| run(started, cmd).map_err(|err| err.to_string()));
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("pmtui-bench-child: {err}");
            ExitCode::FAILURE
        }
    }
}

/// Reads the arguments: a program name, then `--flag value` pairs and `--each`.
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<ChildCmd, String> {
    let mut args = args.into_iter();
    let what = args.next().ok_or(USAGE)?;
    let mut flags: Vec<(String, Option<OsString>)> = Vec::new();
    while let Some(arg) = args.next() {
        let arg = arg.into_string().map_err(|_| USAGE.to_string())?;
        let (name, inline) = match arg.split_once('=') {
            Some((name, value)) => (name.to_string(), Some(OsString::from(value))),
            None => (arg, None),
        };
        if !name.starts_with("--") {
            return Err(format!("unexpected argument {name}\n{USAGE}"));
        }
        let value = match (name.as_str(), inline) {
            ("--each", None) => None,
            (_, Some(value)) => Some(value),
            (_, None) => Some(args.next().ok_or_else(|| format!("{name} needs a value"))?),
        };
        flags.push((name, value));
    }
    let mut take = |name: &str| -> Option<OsString> {
        let at = flags.iter().position(|(n, _)| n == name)?;
        Some(flags.remove(at).1.unwrap_or_default())
    };
    fn number<T: std::str::FromStr>(
        name: &str,
        value: Option<OsString>,
    ) -> Result<Option<T>, String> {
        value
            .map(|v| {
                v.to_str()
                    .and_then(|v| v.parse().ok())
                    .ok_or_else(|| format!("{name}: not a number"))
            })
            .transpose()
    }
    let cmd = match what.to_str() {
        Some("crash") => ChildCmd::Crash {
            file: take("--file")
                .map(PathBuf::from)
                .ok_or("crash needs --file")?,
            live_ms: number("--live-ms", take("--live-ms"))?.unwrap_or(1050),
            jitter_ms: number("--jitter-ms", take("--jitter-ms"))?.unwrap_or(0),
            code: number("--code", take("--code"))?.unwrap_or(1),
            crashes: number("--crashes", take("--crashes"))?,
        },
        Some("burst") => ChildCmd::Burst {
            lines: number("--lines", take("--lines"))?.ok_or("burst needs --lines")?,
            size: number("--size", take("--size"))?.ok_or("burst needs --size")?,
            to: take("--to").map(PathBuf::from),
            stamp: take("--stamp")
                .map(PathBuf::from)
                .ok_or("burst needs --stamp")?,
            each: take("--each").is_some(),
        },
        _ => return Err(USAGE.to_string()),
    };
    match flags.first() {
        Some((name, _)) => Err(format!("unknown or repeated flag {name}\n{USAGE}")),
        None => Ok(cmd),
    }
}

pub fn run(started: u64, cmd: ChildCmd) -> std::io::Result<ExitCode> {
    match cmd {
        ChildCmd::Crash {
            file,
            live_ms,
            jitter_ms,
            code,
            crashes,
        } => {
            let runs_before = match crashes {
                Some(_) => std::fs::read_to_string(&file)
                    .map(|t| t.lines().filter(|l| l.starts_with("S ")).count())
                    .unwrap_or(0),
                None => 0,
            };
            append(&file, &format!("S {started}\n"))?;
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
                return Err(std::io::Error::other(format!(
                    "lines of {size} B number at most {max} lines"
                )));
            }
            let start = now_ns();
            match (to, each) {
                (Some(path), false) => burst(File::create(&path)?, lines, size)?,
                (Some(path), true) => burst_each(&File::create(&path)?, lines, size)?,
                (None, false) => burst(std::io::stdout().lock(), lines, size)?,
                (None, true) => burst_each(&std::io::stdout(), lines, size)?,
            }
            std::fs::write(stamp, format!("{start} {}\n", now_ns()))?;
            Ok(ExitCode::SUCCESS)
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
fn burst_each(out: &impl AsFd, lines: u64, size: usize) -> std::io::Result<()> {
    // A `File` on a copy of the descriptor: its `write` is one write(2), with no buffer.
    let mut out = File::from(out.as_fd().try_clone_to_owned()?);
    let mut buf = Vec::with_capacity(size);
    for i in 0..lines {
        line(i, size, &mut buf);
        out.write_all(&buf)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(args: &str) -> Result<ChildCmd, String> {
        parse(args.split_whitespace().map(OsString::from))
    }

    #[test]
    fn crash_takes_its_defaults_and_both_flag_forms() {
        match parse_str("crash --file /tmp/x --live-ms=0 --crashes 3") {
            Ok(ChildCmd::Crash {
                file,
                live_ms,
                jitter_ms,
                code,
                crashes,
            }) => {
                assert_eq!(file, PathBuf::from("/tmp/x"));
                assert_eq!((live_ms, jitter_ms, code, crashes), (0, 0, 1, Some(3)));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn burst_reads_its_switch() {
        match parse_str("burst --lines 10 --size 8 --stamp s --each") {
            Ok(ChildCmd::Burst {
                lines,
                size,
                each,
                to,
                ..
            }) => assert_eq!((lines, size, each, to), (10, 8, true, None)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bad_arguments_are_refused() {
        for bad in [
            "",
            "crash",
            "crash --file f --live-ms soon",
            "crash --file f --file g",
            "crash --file f --what 1",
            "burst --lines 1 --size 8",
            "crash --file",
            "crash stray --file f",
        ] {
            assert!(parse_str(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
