//! The log pipeline of one process. Pump tasks (`pump.rs`) read the child's stdout and
//! stderr, cut lines, and hand batches to the writer thread (`writer.rs`) over a bounded
//! channel; the writer calls `LogSink::write_batch`, which formats the lines (`format.rs`),
//! appends them to the files (`file.rs`, rotation included), keeps the most recent lines in a
//! ring bounded in bytes, and broadcasts them to followers. `history.rs` reads the last lines
//! back, from the ring or from the files.
//!
//! Every line gets a per-process sequence number, assigned under the sink's lock together
//! with the file write and the broadcast. A reader that takes the lock, notes the last
//! sequence number and the file sizes, and subscribes, gets exactly the lines up to that
//! point from the files or the ring and exactly the later ones from the broadcast: no gap,
//! no duplicate.

pub mod file;
pub mod format;
pub mod history;
mod pump;
mod writer;

pub use file::{FileRegistry, Rotation, SharedFile};
pub use format::{LineFormat, check_date_format};
pub use history::{LogQuery, SinkView};
pub use pump::{MAX_LINE_BYTES, pump};
pub use writer::LogWriter;

use pmtui_proto::{LogLine, LogStream, ProcessId};
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::broadcast;

/// A line kept in memory, with where it ended in its stream's file.
#[derive(Debug, Clone)]
pub struct RingLine {
    pub seq: u64,
    pub at: u64,
    pub stream: LogStream,
    pub text: String,
    /// (file generation, offset just past the line) in the stream's own file.
    pub pos: Option<(u64, u64)>,
}

/// What a line costs the ring: its text and its bookkeeping, so that many short lines are
/// bounded as well as a few long ones.
fn ring_cost(text: &str) -> usize {
    text.len() + std::mem::size_of::<RingLine>()
}

/// The files one process writes; `None` is a disabled stream (`/dev/null`).
#[derive(Debug, Clone, Default)]
pub struct SinkFiles {
    pub out: Option<SharedFile>,
    pub err: Option<SharedFile>,
    pub combined: Option<SharedFile>,
}

#[derive(Debug)]
struct SinkState {
    files: SinkFiles,
    format: LineFormat,
    ring: VecDeque<RingLine>,
    ring_bytes: usize,
    next_seq: u64,
    scratch: Vec<u8>,
    ends: Vec<usize>,
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

/// The files a sink writes, by path.
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
        files: SinkFiles,
        format: LineFormat,
        ring_limit: usize,
        followers: broadcast::Sender<LogLine>,
    ) -> Arc<Self> {
        let state = SinkState {
            files,
            format,
            ring: VecDeque::new(),
            ring_bytes: 0,
            next_seq: 1,
            scratch: Vec::new(),
            ends: Vec::new(),
        };
        Arc::new(Self {
            id,
            name,
            ring_limit,
            state: Mutex::new(state),
            followers,
        })
    }

    pub fn id(&self) -> ProcessId {
        self.id
    }

    fn lock(&self) -> MutexGuard<'_, SinkState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Appends complete lines read from one stream at `at`: `lines` are byte ranges of
    /// `data`, each without its newline.
    pub fn write_batch(&self, stream: LogStream, at: u64, data: &[u8], lines: &[(usize, usize)]) {
        if lines.is_empty() {
            return;
        }
        let mut guard = self.lock();
        let state = &mut *guard;
        state.scratch.clear();
        state.ends.clear();
        for &(a, b) in lines {
            state
                .format
                .write(&mut state.scratch, at, stream, &data[a..b]);
            state.ends.push(state.scratch.len());
        }
        let own = match stream {
            LogStream::Out => &state.files.out,
            LogStream::Err => &state.files.err,
        };
        let start = own.as_ref().map(|f| file::lock(f).write(&state.scratch));
        if let Some(combined) = &state.files.combined
            && !own.as_ref().is_some_and(|f| Arc::ptr_eq(f, combined))
        {
            file::lock(combined).write(&state.scratch);
        }
        let live = self.followers.receiver_count() > 0;
        for (i, &(a, b)) in lines.iter().enumerate() {
            let raw = &data[a..b];
            let text = String::from_utf8_lossy(raw.strip_suffix(b"\r").unwrap_or(raw)).into_owned();
            let seq = state.next_seq;
            state.next_seq += 1;
            if live {
                let _ = self
                    .followers
                    .send(self.log_line(seq, at, stream, text.clone()));
            }
            state.ring_bytes += ring_cost(&text);
            let pos = start.map(|(generation, offset)| (generation, offset + state.ends[i] as u64));
            state.ring.push_back(RingLine {
                seq,
                at,
                stream,
                text,
                pos,
            });
        }
        while state.ring_bytes > self.ring_limit && state.ring.len() > 1 {
            if let Some(old) = state.ring.pop_front() {
                state.ring_bytes -= ring_cost(&old.text);
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
        let state = self.lock();
        let mut lines: Vec<LogLine> = state
            .ring
            .iter()
            .rev()
            .filter(|l| stream.is_none_or(|s| s == l.stream))
            .take(n)
            .map(|l| self.log_line(l.seq, l.at, l.stream, l.text.clone()))
            .collect();
        lines.reverse();
        lines
    }

    /// The sequence number of the last line written so far.
    pub fn last_seq(&self) -> u64 {
        self.lock().next_seq - 1
    }

    /// The lines in memory after sequence number `seq` (for a follower that fell behind).
    pub fn since(&self, seq: u64) -> Vec<LogLine> {
        let state = self.lock();
        state
            .ring
            .iter()
            .filter(|l| l.seq > seq)
            .map(|l| self.log_line(l.seq, l.at, l.stream, l.text.clone()))
            .collect()
    }

    /// Reopens the files, e.g. after an external tool rotated them.
    pub fn reopen(&self) {
        let state = self.lock();
        for f in [&state.files.out, &state.files.err, &state.files.combined]
            .into_iter()
            .flatten()
        {
            file::lock(f).reopen();
        }
    }

    /// Empties the files (rotated ones too) and the ring.
    pub fn flush(&self) {
        let mut state = self.lock();
        for f in [&state.files.out, &state.files.err, &state.files.combined]
            .into_iter()
            .flatten()
        {
            file::lock(f).truncate();
        }
        state.ring.clear();
        state.ring_bytes = 0;
    }
}

/// Views of `sinks` taken at one instant (every sink locked at once), and what `at_once`
/// returned while they were locked: subscribing there joins the views to the live stream.
/// Each view keeps only the ring lines `query` can show (the last `query.lines` wanted ones
/// per stream), so asking for 15 lines of 200 processes copies 15 lines each, not 200 rings.
pub fn snapshot<R>(
    sinks: &[Arc<LogSink>],
    query: &LogQuery,
    at_once: impl FnOnce() -> R,
) -> (Vec<SinkView>, R) {
    let mut sorted: Vec<&Arc<LogSink>> = sinks.iter().collect();
    sorted.sort_by_key(|s| s.id);
    sorted.dedup_by_key(|s| s.id);
    let guards: Vec<(&Arc<LogSink>, MutexGuard<'_, SinkState>)> =
        sorted.into_iter().map(|s| (s, s.lock())).collect();
    let result = at_once();
    let views = guards
        .iter()
        .map(|(sink, state)| SinkView {
            id: sink.id,
            name: sink.name.clone(),
            ring: wanted_tail(&state.ring, query),
            last_seq: state.next_seq - 1,
            out: state.files.out.as_ref().map(history::FileView::of),
            err: state.files.err.as_ref().map(history::FileView::of),
            kind: state.format.kind(),
            date_format: state.format.stamper().map(|s| s.format().to_string()),
        })
        .collect();
    (views, result)
}

/// The last `query.lines` lines of each stream that `query` wants, oldest first.
fn wanted_tail(ring: &VecDeque<RingLine>, query: &LogQuery) -> Vec<RingLine> {
    let (mut out, mut err) = (0, 0);
    let mut tail: Vec<RingLine> = Vec::new();
    for line in ring.iter().rev() {
        if out >= query.lines && err >= query.lines {
            break;
        }
        let count = match line.stream {
            LogStream::Out => &mut out,
            LogStream::Err => &mut err,
        };
        if *count < query.lines && query.wants(line.stream, &line.text) {
            *count += 1;
            tail.push(line.clone());
        }
    }
    tail.reverse();
    tail
}

#[cfg(test)]
mod tests {
    use super::*;
    use pmtui_proto::LogFormat;

    fn sink_in(dir: &std::path::Path, ring_limit: usize) -> (Arc<LogSink>, FileRegistry) {
        let registry = FileRegistry::default();
        let rotation = Rotation {
            max_size: 0,
            max_files: 2,
            compress: false,
        };
        let files = SinkFiles {
            out: registry.get(&dir.join("a-out.log"), rotation),
            err: registry.get(&dir.join("a-err.log"), rotation),
            combined: registry.get(&dir.join("a.log"), rotation),
        };
        let (tx, _) = broadcast::channel(16);
        let format = LineFormat::new(LogFormat::Raw, None, "a", 0);
        (
            LogSink::new(0, "a".into(), files, format, ring_limit, tx),
            registry,
        )
    }

    #[test]
    fn files_keep_raw_bytes_and_the_ring_is_bounded() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (sink, _registry) = sink_in(dir.path(), ring_cost("oops") + 1);
        let data = b"ok\xff\r\nsecond line";
        sink.write_batch(LogStream::Out, 1, data, &[(0, 4), (5, 16)]);
        sink.write_batch(LogStream::Err, 2, b"oops", &[(0, 4)]);
        let out = std::fs::read(dir.path().join("a-out.log")).expect("out file");
        assert_eq!(out, b"ok\xff\r\nsecond line\n");
        let combined = std::fs::read(dir.path().join("a.log")).expect("combined file");
        assert_eq!(combined, b"ok\xff\r\nsecond line\noops\n");
        let recent = sink.recent(10, None);
        assert_eq!(recent.len(), 1, "the ring keeps one short line: {recent:?}");
        assert_eq!(recent[0].text, "oops");
        assert_eq!(recent[0].seq, 3);
    }

    #[test]
    fn flush_empties_files_and_ring() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (sink, _registry) = sink_in(dir.path(), 1000);
        sink.write_batch(LogStream::Out, 1, b"x", &[(0, 1)]);
        sink.flush();
        assert!(sink.recent(10, None).is_empty());
        let out = std::fs::read(dir.path().join("a-out.log")).expect("out file");
        assert!(out.is_empty());
        sink.write_batch(LogStream::Out, 1, b"y", &[(0, 1)]);
        assert_eq!(sink.since(0).len(), 1);
    }

    #[test]
    fn snapshots_copy_only_the_wanted_tail() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (sink, _registry) = sink_in(dir.path(), 1 << 20);
        let data = b"a1a2a3";
        sink.write_batch(LogStream::Out, 1, data, &[(0, 2), (2, 4), (4, 6)]);
        sink.write_batch(LogStream::Err, 2, b"e1", &[(0, 2)]);
        let query = LogQuery {
            lines: 2,
            stream: None,
            grep: None,
        };
        let (views, ()) = snapshot(&[Arc::clone(&sink)], &query, || ());
        let texts: Vec<&str> = views[0].ring.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(texts, ["a2", "a3", "e1"]);
        assert_eq!(views[0].last_seq, 4);
        let lines = history::history(&views, &query);
        let texts: Vec<&str> = lines.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(texts, ["a3", "e1"]);
    }
}
