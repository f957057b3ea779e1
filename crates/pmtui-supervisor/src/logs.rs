//! The log pipeline of one process: pump tasks read the child's stdout and stderr line by
//! line and hand each batch to the process's `LogSink`, which appends it to the log files,
//! keeps the most recent lines in a ring bounded in bytes, and broadcasts them to followers.
//! Every line gets a per-process sequence number so that a follower that reads the ring and
//! then the broadcast can drop what it saw twice: no gap, no duplicate.

use pmtui_proto::{LogLine, LogStream, ProcessId};
use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::broadcast;

/// Longer lines are split into pieces of this many bytes rather than buffered whole.
pub const MAX_LINE_BYTES: usize = 64 * 1024;
const READ_CHUNK: usize = 64 * 1024;

/// One open log file, appended to.
#[derive(Debug)]
struct LogFile {
    path: Option<PathBuf>,
    file: Option<File>,
}

impl LogFile {
    fn open(path: Option<PathBuf>) -> Self {
        let path = path.filter(|p| p != Path::new("/dev/null"));
        let file = path.as_deref().and_then(|p| open_append(p).ok());
        Self { path, file }
    }

    fn write(&mut self, bytes: &[u8]) {
        if let Some(file) = &mut self.file
            && let Err(err) = file.write_all(bytes)
        {
            tracing::warn!(path = ?self.path, %err, "log write failed");
        }
    }

    fn reopen(&mut self) {
        self.file = self.path.as_deref().and_then(|p| open_append(p).ok());
    }

    fn truncate(&mut self) {
        if let Some(path) = &self.path {
            let _ = File::create(path);
        }
        self.reopen();
    }
}

fn open_append(path: &Path) -> std::io::Result<File> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    OpenOptions::new().create(true).append(true).open(path)
}

/// A line kept in memory.
#[derive(Debug, Clone)]
struct RingLine {
    seq: u64,
    at: u64,
    stream: LogStream,
    text: String,
}

#[derive(Debug)]
struct SinkState {
    out: LogFile,
    err: LogFile,
    combined: Option<LogFile>,
    ring: VecDeque<RingLine>,
    ring_bytes: usize,
    next_seq: u64,
}

/// Where one process's output goes; shared by its successive runs.
#[derive(Debug)]
pub struct LogSink {
    id: ProcessId,
    name: String,
    ring_limit: usize,
    state: Mutex<SinkState>,
    followers: broadcast::Sender<LogLine>,
}

/// The files a sink writes.
#[derive(Debug, Clone, Default)]
pub struct LogPaths {
    pub out: Option<PathBuf>,
    pub err: Option<PathBuf>,
    pub combined: Option<PathBuf>,
}

impl LogSink {
    pub fn new(
        id: ProcessId,
        name: String,
        paths: &LogPaths,
        ring_limit: usize,
        followers: broadcast::Sender<LogLine>,
    ) -> Arc<Self> {
        let state = SinkState {
            out: LogFile::open(paths.out.clone()),
            err: LogFile::open(paths.err.clone()),
            combined: paths.combined.clone().map(|p| LogFile::open(Some(p))),
            ring: VecDeque::new(),
            ring_bytes: 0,
            next_seq: 1,
        };
        Arc::new(Self {
            id,
            name,
            ring_limit,
            state: Mutex::new(state),
            followers,
        })
    }

    fn lock(&self) -> MutexGuard<'_, SinkState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Appends complete lines (each without its newline) read from one stream.
    pub fn write_lines(&self, stream: LogStream, lines: &[&[u8]]) {
        if lines.is_empty() {
            return;
        }
        let at = pmtui_proto::now_ms();
        let mut bytes = Vec::with_capacity(lines.iter().map(|l| l.len() + 1).sum());
        for line in lines {
            bytes.extend_from_slice(line);
            bytes.push(b'\n');
        }
        let mut state = self.lock();
        match stream {
            LogStream::Out => state.out.write(&bytes),
            LogStream::Err => state.err.write(&bytes),
        }
        if let Some(combined) = &mut state.combined {
            combined.write(&bytes);
        }
        let live = self.followers.receiver_count() > 0;
        for line in lines {
            let text = String::from_utf8_lossy(line).into_owned();
            let seq = state.next_seq;
            state.next_seq += 1;
            if live {
                let _ = self
                    .followers
                    .send(self.log_line(seq, at, stream, text.clone()));
            }
            state.ring_bytes += text.len();
            state.ring.push_back(RingLine {
                seq,
                at,
                stream,
                text,
            });
        }
        while state.ring_bytes > self.ring_limit && state.ring.len() > 1 {
            if let Some(old) = state.ring.pop_front() {
                state.ring_bytes -= old.text.len();
            }
        }
    }

    fn log_line(&self, seq: u64, at: u64, stream: LogStream, text: String) -> LogLine {
        LogLine {
            id: self.id,
            name: self.name.clone(),
            stream,
            seq,
            at,
            text,
        }
    }

    /// The last `n` lines in memory (of one stream, or both).
    pub fn recent(&self, n: usize, stream: Option<LogStream>) -> Vec<LogLine> {
        self.snapshot(n, stream).0
    }

    /// The last `n` lines and the sequence number of the last line written so far.
    pub fn snapshot(&self, n: usize, stream: Option<LogStream>) -> (Vec<LogLine>, u64) {
        let state = self.lock();
        let last_seq = state.next_seq - 1;
        let mut lines: Vec<LogLine> = state
            .ring
            .iter()
            .rev()
            .filter(|l| stream.is_none_or(|s| s == l.stream))
            .take(n)
            .map(|l| self.log_line(l.seq, l.at, l.stream, l.text.clone()))
            .collect();
        lines.reverse();
        (lines, last_seq)
    }

    /// Reopens the files, e.g. after an external tool rotated them.
    pub fn reopen(&self) {
        let mut state = self.lock();
        state.out.reopen();
        state.err.reopen();
        if let Some(combined) = &mut state.combined {
            combined.reopen();
        }
    }

    /// Empties the files.
    pub fn flush(&self) {
        let mut state = self.lock();
        state.out.truncate();
        state.err.truncate();
        if let Some(combined) = &mut state.combined {
            combined.truncate();
        }
    }
}

/// Reads `reader` until end of file, splitting lines, and feeds `sink`. Returns when the
/// last writer of the pipe is gone, so output a child wrote just before dying still lands.
pub async fn pump<R: AsyncRead + Unpin>(mut reader: R, sink: Arc<LogSink>, stream: LogStream) {
    let mut buf: Vec<u8> = Vec::with_capacity(READ_CHUNK);
    let mut chunk = vec![0u8; READ_CHUNK];
    loop {
        let n = match reader.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        buf.extend_from_slice(&chunk[..n]);
        let consumed = {
            let mut lines: Vec<&[u8]> = Vec::new();
            let mut start = 0;
            while let Some(pos) = buf[start..].iter().position(|b| *b == b'\n') {
                lines.extend(split_long(&buf[start..start + pos]));
                start += pos + 1;
            }
            // A partial line longer than the bound is cut now rather than held.
            while buf.len() - start >= MAX_LINE_BYTES {
                lines.push(&buf[start..start + MAX_LINE_BYTES]);
                start += MAX_LINE_BYTES;
            }
            sink.write_lines(stream, &lines);
            start
        };
        buf.drain(..consumed);
    }
    if !buf.is_empty() {
        sink.write_lines(stream, &[&buf]);
    }
}

fn split_long(line: &[u8]) -> impl Iterator<Item = &[u8]> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let pieces = line.len().div_ceil(MAX_LINE_BYTES).max(1);
    (0..pieces).map(move |i| &line[i * MAX_LINE_BYTES..((i + 1) * MAX_LINE_BYTES).min(line.len())])
}
