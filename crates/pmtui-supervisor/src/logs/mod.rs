//! The log pipeline of one process. Pump tasks (`pump.rs`) read the child's stdout and
//! stderr and cut lines; the sink's own writer (`writer.rs`) takes the batches through a
//! bounded queue and, on the blocking pool, calls `LogSink::write_batch`, which formats the
//! lines (`format.rs`), appends them to the files (`file.rs`, rotation included), keeps the
//! most recent lines in a ring bounded in bytes, and broadcasts them to followers.
//! `history.rs` reads the last lines back, from the ring or from the files.
//!
//! The sink's state (ring, sequence numbers, where the files stand) sits behind a lock that
//! is never held across I/O, so the runtime thread (launch, exit, `logs`) never waits on a
//! disk. Every line gets a per-process sequence number when it is in its file, together
//! with the file position after it: a reader that takes the lock notes the last sequence
//! number and those positions, and subscribes, gets exactly the lines up to that point from
//! the files or the ring and exactly the later ones from the broadcast: no gap, no
//! duplicate.

pub mod file;
pub mod format;
pub mod history;
pub mod pump;
mod writer;

pub use file::{FileRegistry, Rotation, SharedFile};
pub use format::{LineFormat, check_date_format};
pub use history::{LogQuery, SinkView};
pub use pump::{MAX_LINE_BYTES, Tail, pump};
pub use writer::{Batch, Op, Pumps};

use crate::fanout::Fanout;
use pmtui_proto::{LogFormat, LogLine, LogStream, ProcessId};
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::oneshot;

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

/// `data` from the first line to the last one's newline, when `lines` follow one another
/// each with its newline (a pump's batch of whole lines; not a partial line or the pieces
/// of a long one).
fn as_read<'a>(data: &'a [u8], lines: &[(usize, usize)]) -> Option<&'a [u8]> {
    let (first, last) = (lines.first()?.0, lines.last()?.1);
    let mut next = first;
    for &(a, b) in lines {
        if a != next || data.get(b) != Some(&b'\n') {
            return None;
        }
        next = b + 1;
    }
    Some(&data[first..=last])
}

/// A line's text as kept and shown: without a trailing `\r`.
fn line_text(raw: &[u8]) -> &[u8] {
    raw.strip_suffix(b"\r").unwrap_or(raw)
}

/// A line's text as kept and shown (see `line_text`), invalid UTF-8 replaced.
pub(crate) fn line_str(raw: &[u8]) -> std::borrow::Cow<'_, str> {
    lossy(line_text(raw))
}

/// `raw` as text, invalid UTF-8 replaced. Checked with `str::from_utf8` first: it reads
/// ASCII a word at a time, where `String::from_utf8_lossy` walks every byte (a fifth of
/// the writer's time on 1 KiB lines); only text that fails the check takes the slow path.
pub(crate) fn lossy(raw: &[u8]) -> std::borrow::Cow<'_, str> {
    match std::str::from_utf8(raw) {
        Ok(text) => std::borrow::Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(raw),
    }
}

/// The index of the first of `lines` the ring can keep once they are all in: the longest
/// tail whose cost at the lines' byte lengths fits in `limit`, the last line at least. A
/// line's text is never shorter than its bytes (invalid UTF-8 only grows when replaced), so
/// the ring keeps no line before this one; the ring's trim drops whatever else is over.
fn first_kept(data: &[u8], lines: &[(usize, usize)], limit: usize) -> usize {
    let mut cost = 0;
    for (i, &(a, b)) in lines.iter().enumerate().rev() {
        cost += line_text(&data[a..b]).len() + std::mem::size_of::<RingLine>();
        if cost > limit {
            return (i + 1).min(lines.len() - 1);
        }
    }
    0
}

/// The files one process writes; `None` is a disabled stream (`/dev/null`).
#[derive(Debug, Clone, Default)]
pub struct SinkFiles {
    pub out: Option<SharedFile>,
    pub err: Option<SharedFile>,
    pub combined: Option<SharedFile>,
}

impl SinkFiles {
    fn of(&self, stream: LogStream) -> Option<&SharedFile> {
        match stream {
            LogStream::Out => self.out.as_ref(),
            LogStream::Err => self.err.as_ref(),
        }
    }

    /// Each file once (a stream may share its file with the other or the combined one).
    fn distinct(&self) -> Vec<&SharedFile> {
        let mut files: Vec<&SharedFile> = Vec::new();
        for f in [&self.out, &self.err, &self.combined].into_iter().flatten() {
            if !files.iter().any(|g| Arc::ptr_eq(f, g)) {
                files.push(f);
            }
        }
        files
    }
}

/// What readers see; changed only in memory, never held across I/O.
#[derive(Debug)]
struct SinkState {
    ring: VecDeque<RingLine>,
    ring_bytes: usize,
    next_seq: u64,
    /// (generation, size) of the out and err files just past this sink's last line in
    /// each: how far history may read them. `None` until the writer has looked.
    out_at: Option<(u64, u64)>,
    err_at: Option<(u64, u64)>,
}

impl SinkState {
    fn cut_mut(&mut self, stream: LogStream) -> &mut Option<(u64, u64)> {
        match stream {
            LogStream::Out => &mut self.out_at,
            LogStream::Err => &mut self.err_at,
        }
    }
}

/// The writer's own tools: used only from the writer, one batch at a time.
#[derive(Debug)]
struct Scratch {
    format: LineFormat,
    bytes: Vec<u8>,
    ends: Vec<usize>,
}

/// Where one process's output goes; shared by its successive runs.
#[derive(Debug)]
pub struct LogSink {
    id: ProcessId,
    name: String,
    ring_limit: usize,
    files: SinkFiles,
    kind: LogFormat,
    date_format: Option<String>,
    state: Mutex<SinkState>,
    scratch: Mutex<Scratch>,
    followers: Fanout<LogLine>,
    queue: writer::Queue,
    /// True once the writer has noted where the files stand.
    /// Set once the writer has noted where the files stand; `primed_wake` wakes those
    /// waiting for it (an atomic and a `Notify` rather than a watch channel, which costs
    /// every process about 350 bytes).
    primed: std::sync::atomic::AtomicBool,
    primed_wake: tokio::sync::Notify,
}

/// The files a sink writes, by path.
#[derive(Debug, Clone, Default)]
pub struct LogPaths {
    pub out: Option<PathBuf>,
    pub err: Option<PathBuf>,
    pub combined: Option<PathBuf>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl LogSink {
    /// A sink and, inside a runtime, its writer task.
    pub fn new(
        id: ProcessId,
        name: String,
        files: SinkFiles,
        format: LineFormat,
        ring_limit: usize,
        followers: Fanout<LogLine>,
    ) -> Arc<Self> {
        let state = SinkState {
            ring: VecDeque::new(),
            ring_bytes: 0,
            next_seq: 1,
            out_at: None,
            err_at: None,
        };
        let (queue, rx) = writer::Queue::new();
        let sink = Arc::new(Self {
            id,
            name,
            ring_limit,
            files,
            kind: format.kind(),
            date_format: format.stamper().map(|s| s.format().to_string()),
            state: Mutex::new(state),
            scratch: Mutex::new(Scratch {
                format,
                bytes: Vec::new(),
                ends: Vec::new(),
            }),
            followers,
            queue,
            primed: std::sync::atomic::AtomicBool::new(false),
            primed_wake: tokio::sync::Notify::new(),
        });
        writer::start(&sink, rx);
        sink
    }

    pub fn id(&self) -> ProcessId {
        self.id
    }

    /// How many log files this sink writes (each costs a descriptor once written).
    pub fn file_count(&self) -> usize {
        self.files.distinct().len()
    }

    fn lock(&self) -> MutexGuard<'_, SinkState> {
        lock(&self.state)
    }

    /// Queues a batch of lines for the writer, waiting while this process's queue is full.
    pub fn submit(&self, batch: Batch) -> writer::Submit<'_> {
        self.queue.submit(batch)
    }

    /// Returns once everything queued so far is written.
    pub async fn barrier(&self) {
        let _ = self.queue.done().await;
    }

    /// Queues `op` behind what is already queued; the receiver fires once it is done.
    pub fn request(&self, op: Op) -> oneshot::Receiver<()> {
        self.queue.request(op)
    }

    /// True while the writer has been stuck in a write for a while.
    pub fn stalled(&self) -> bool {
        self.queue.stalled()
    }

    /// Waits (up to `limit`) until the writer has noted where the files stand, so that a
    /// snapshot can say how far history may read them.
    pub async fn primed(&self, limit: Duration) {
        let wait = async {
            loop {
                let notified = self.primed_wake.notified();
                tokio::pin!(notified);
                // Registered before the check: `notify_waiters` wakes only those waiting.
                notified.as_mut().enable();
                if self.primed.load(std::sync::atomic::Ordering::Acquire) {
                    return;
                }
                notified.await;
            }
        };
        let _ = tokio::time::timeout(limit, wait).await;
    }

    /// Notes where the out and err files stand (the writer's first job; blocking I/O).
    pub(crate) fn prime(&self) {
        let out = self.files.out.as_ref().map(|f| f.begin().position());
        let err = self.files.err.as_ref().map(|f| f.begin().position());
        {
            let mut state = self.lock();
            state.out_at = state.out_at.or(out);
            state.err_at = state.err_at.or(err);
        }
        self.primed
            .store(true, std::sync::atomic::Ordering::Release);
        self.primed_wake.notify_waiters();
    }

    /// Appends complete lines read from one stream at `at`: `lines` are byte ranges of
    /// `data`, each without its newline. Blocking I/O: called by the writer.
    pub fn write_batch(&self, stream: LogStream, at: u64, data: &[u8], lines: &[(usize, usize)]) {
        if lines.is_empty() {
            return;
        }
        let mut scratch = lock(&self.scratch);
        let Scratch {
            format,
            bytes,
            ends,
        } = &mut *scratch;
        ends.clear();
        // Raw lines with nothing added are already in `data` as they go to the file,
        // newlines included, when they follow one another: written from there, not copied
        // line by line.
        let bytes: &[u8] = match (format.is_plain(), as_read(data, lines)) {
            (true, Some(whole)) => {
                let first = lines[0].0;
                ends.extend(lines.iter().map(|&(_, b)| b + 1 - first));
                whole
            }
            _ => {
                bytes.clear();
                for &(a, b) in lines {
                    format.write(bytes, at, stream, &data[a..b]);
                    ends.push(bytes.len());
                }
                bytes
            }
        };
        let own = self.files.of(stream);
        let mut writing = own.map(|f| f.begin());
        let start = writing.as_mut().and_then(|w| w.write(bytes));
        let end = writing.as_mut().map(|w| w.position());
        // Published while the file is still held, so that sinks sharing it publish in the
        // order their lines are in it.
        self.publish(stream, at, data, lines, start, ends, end);
        drop(writing);
        if let Some(combined) = &self.files.combined
            && !own.is_some_and(|f| Arc::ptr_eq(f, combined))
        {
            combined.begin().write(bytes);
        }
    }

    /// Numbers the lines, keeps them in the ring, sends them to followers and notes where
    /// the stream's file now ends.
    #[allow(clippy::too_many_arguments)]
    fn publish(
        &self,
        stream: LogStream,
        at: u64,
        data: &[u8],
        lines: &[(usize, usize)],
        start: Option<(u64, u64)>,
        ends: &[usize],
        end: Option<(u64, u64)>,
    ) {
        // The lines before `kept` would leave the ring again within this batch: nobody
        // following, they are numbered but never copied (a burst of short lines costs no
        // allocation per line beyond what the ring keeps).
        let kept = first_kept(data, lines, self.ring_limit);
        let mut guard = self.lock();
        let state = &mut *guard;
        if kept > 0 {
            // Everything before the batch's kept lines goes, as the trim below would do.
            state.ring.clear();
            state.ring_bytes = 0;
        }
        let live = self.followers.receiver_count() > 0;
        for (i, &(a, b)) in lines.iter().enumerate() {
            let seq = state.next_seq;
            state.next_seq += 1;
            if i < kept && !live {
                continue;
            }
            let text = line_str(&data[a..b]).into_owned();
            if live {
                self.followers
                    .send(self.log_line(seq, at, stream, text.clone()));
            }
            if i < kept {
                continue;
            }
            state.ring_bytes += ring_cost(&text);
            let pos = start.map(|(generation, offset)| (generation, offset + ends[i] as u64));
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
        if end.is_some() {
            *state.cut_mut(stream) = end;
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

    /// Where the out and err files stand now, noted for history. Blocking I/O.
    fn note_positions(&self) {
        for stream in [LogStream::Out, LogStream::Err] {
            if let Some(f) = self.files.of(stream) {
                let mut writing = f.begin();
                let at = writing.position();
                *self.lock().cut_mut(stream) = Some(at);
            }
        }
    }

    /// Reopens the files, e.g. after an external tool rotated them (request `epoch`: a file
    /// shared with another sink is reopened once). Blocking I/O: called by the writer.
    pub(crate) fn reopen(&self, epoch: u64) {
        for f in self.files.distinct() {
            f.begin().reopen(epoch);
        }
        self.note_positions();
    }

    /// Empties the files (rotated ones too) and the ring. Blocking I/O: called by the
    /// writer.
    pub(crate) fn flush(&self, epoch: u64) {
        for f in self.files.distinct() {
            f.begin().truncate(epoch);
        }
        {
            let mut state = self.lock();
            state.ring.clear();
            state.ring_bytes = 0;
        }
        self.note_positions();
    }
}

/// Views of `sinks` taken at one instant (every sink locked at once), and what `at_once`
/// returned while they were locked: subscribing there joins the views to the live stream.
/// Each view keeps only the ring lines `query` can show (the last `query.lines` wanted ones
/// per stream), so asking for 15 lines of 200 processes copies 15 lines each, not 200 rings.
/// Memory only: no lock taken here is ever held across I/O.
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
            out: sink.files.out.as_ref().map(|f| history::FileView {
                file: Arc::clone(f),
                cut: state.out_at,
            }),
            err: sink.files.err.as_ref().map(|f| history::FileView {
                file: Arc::clone(f),
                cut: state.err_at,
            }),
            kind: sink.kind,
            date_format: sink.date_format.clone(),
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
    use file::numbered;
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
        let tx = Fanout::new(16);
        let format = LineFormat::new(LogFormat::Raw, None, "a", 0);
        (
            LogSink::new(0, "a".into(), files, format, ring_limit, tx),
            registry,
        )
    }

    #[test]
    fn lossy_borrows_valid_text_and_replaces_invalid_bytes() {
        assert!(matches!(
            lossy(b"plain ascii"),
            std::borrow::Cow::Borrowed("plain ascii")
        ));
        assert!(matches!(
            lossy("h\u{e9}".as_bytes()),
            std::borrow::Cow::Borrowed("h\u{e9}")
        ));
        assert_eq!(lossy(b"ok\xff\xfe!"), "ok\u{fffd}\u{fffd}!");
        // A multi-byte character cut at the end of a piece.
        assert_eq!(lossy(&"\u{e9}".as_bytes()[..1]), "\u{fffd}");
    }

    /// Every process keeps its two pumps' futures for as long as it runs: they hold no
    /// semaphore wait, readiness waiter or timer of their own (664 bytes each before).
    #[tokio::test]
    async fn a_pump_is_small() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (sink, _registry) = sink_in(dir.path(), 64 * 1024);
        let (rx, _tx) = nix::unistd::pipe().expect("pipe");
        let rx = tokio::net::unix::pipe::Receiver::from_owned_fd(rx).expect("receiver");
        let pump = pump::pump(rx, sink, LogStream::Out, writer::Pumps::default(), None);
        let size = std::mem::size_of_val(&pump);
        assert!(size <= 384, "a pump's future takes {size} bytes");
    }

    /// A batch is queued at once while there is room, and waits once the queue is full.
    /// The writer task never runs here (the test never yields to it): nothing drains it.
    #[tokio::test]
    async fn a_full_queue_holds_a_batch_back() {
        use std::future::Future;
        let dir = tempfile::tempdir().expect("temp dir");
        let (sink, _registry) = sink_in(dir.path(), 64 * 1024);
        let batch = |n: u64| writer::Batch {
            sink: Arc::clone(&sink),
            stream: LogStream::Out,
            at: n,
            data: b"x".to_vec(),
            lines: vec![(0, 1)],
        };
        let mut n = 0;
        while matches!(sink.submit(batch(n)), writer::Submit::Done) {
            n += 1;
            assert!(n < 100_000, "the queue never filled");
        }
        let waker = futures_util::task::noop_waker();
        let mut cx = std::task::Context::from_waker(&waker);
        let mut waiting = sink.submit(batch(n));
        assert!(
            std::pin::Pin::new(&mut waiting).poll(&mut cx).is_pending(),
            "a full queue lets a batch through"
        );
        drop(waiting);
        assert_eq!(n as usize, writer::QUEUE, "the queue holds what it should");
    }

    /// A child that fills its pipe gets a larger one; a child writing a line now and then
    /// keeps the kernel's default.
    #[tokio::test]
    async fn a_pipe_read_full_is_grown_and_a_quiet_one_is_not() {
        use nix::fcntl::{FcntlArg, fcntl};
        use std::io::Write;
        let dir = tempfile::tempdir().expect("temp dir");
        let (sink, _registry) = sink_in(dir.path(), 64 * 1024);
        let pumps = writer::Pumps::default();
        let size = |fd: &std::fs::File| fcntl(fd, FcntlArg::F_GETPIPE_SZ).expect("pipe size");
        let mut runs = Vec::new();
        for (lines, len) in [(8_192usize, 1024usize), (1, 10)] {
            let (rx, tx) = nix::unistd::pipe().expect("pipe");
            let mut tx = std::fs::File::from(tx);
            let default = size(&tx);
            let rx = tokio::net::unix::pipe::Receiver::from_owned_fd(rx).expect("receiver");
            let task = tokio::spawn(pump::pump(
                rx,
                Arc::clone(&sink),
                LogStream::Out,
                pumps.clone(),
                None,
            ));
            let writer = std::thread::spawn(move || {
                let mut line = vec![b'x'; len - 1];
                line.push(b'\n');
                let block: Vec<u8> = line.repeat(64);
                for _ in 0..lines.div_ceil(64) {
                    tx.write_all(&block[..len * lines.min(64)]).expect("write");
                }
                let grown = size(&tx);
                (tx, grown)
            });
            let (tx, grown) = tokio::task::spawn_blocking(move || writer.join())
                .await
                .expect("join")
                .expect("writer");
            drop(tx);
            task.await.expect("pump");
            runs.push((default, grown));
        }
        sink.barrier().await;
        let (flood, quiet) = (runs[0], runs[1]);
        assert!(flood.1 > flood.0, "a flooded pipe was grown: {flood:?}");
        assert_eq!(quiet.1, quiet.0, "a quiet pipe keeps its size: {quiet:?}");
        let out = std::fs::read(dir.path().join("a-out.log")).expect("out file");
        assert_eq!(out.len(), 8_192 * 1024 + 10, "every line is in the file");
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
    fn a_batch_larger_than_the_ring_keeps_its_tail_and_numbers_every_line() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (sink, _registry) = sink_in(dir.path(), 3 * ring_cost("l0"));
        sink.write_batch(LogStream::Out, 1, b"a0a1", &[(0, 2), (2, 4)]);
        // A small batch: the older lines stay.
        sink.write_batch(LogStream::Err, 2, b"b0", &[(0, 2)]);
        let texts: Vec<String> = sink.since(0).into_iter().map(|l| l.text).collect();
        assert_eq!(texts, ["a0", "a1", "b0"]);
        let data: Vec<u8> = (0..10).flat_map(|i| format!("l{i}").into_bytes()).collect();
        let lines: Vec<(usize, usize)> = (0..10).map(|i| (2 * i, 2 * i + 2)).collect();
        sink.write_batch(LogStream::Out, 3, &data, &lines);
        let kept = sink.since(0);
        let texts: Vec<&str> = kept.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(texts, ["l7", "l8", "l9"]);
        assert_eq!(kept[0].seq, 11, "every line was numbered");
        assert_eq!(sink.last_seq(), 13);
        let out = std::fs::read(dir.path().join("a-out.log")).expect("out file");
        assert_eq!(out.len(), 2 * 3 + 10 * 3, "every line is in the file");
        // Invalid UTF-8 grows when replaced: the ring holds fewer such lines than bytes say.
        let bad = [0xffu8; 20];
        let pairs: Vec<(usize, usize)> = (0..10).map(|i| (2 * i, 2 * i + 2)).collect();
        sink.write_batch(LogStream::Out, 4, &bad, &pairs);
        let kept = sink.since(0);
        assert_eq!(kept.len(), 2, "{kept:?}");
        assert_eq!(kept[1].text, "\u{fffd}\u{fffd}");
        assert_eq!(sink.last_seq(), 23);
        // One line longer than the ring is kept alone.
        let long = vec![b'x'; 1000];
        sink.write_batch(LogStream::Out, 4, &long, &[(0, 500), (500, 1000)]);
        assert_eq!(sink.since(0).len(), 1);
        assert_eq!(sink.last_seq(), 25);
    }

    #[test]
    fn whole_lines_as_read_go_to_the_file_unchanged() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (sink, _registry) = sink_in(dir.path(), 1000);
        let data = b"a\r\nbb\n\npartial";
        assert!(as_read(data, &[(0, 2), (3, 5), (6, 6)]).is_some());
        sink.write_batch(LogStream::Out, 1, data, &[(0, 2), (3, 5), (6, 6)]);
        // Not contiguous (a line left out), and no newline after the last: formatted.
        assert!(as_read(data, &[(0, 2), (6, 6)]).is_none());
        assert!(as_read(data, &[(7, 14)]).is_none());
        sink.write_batch(LogStream::Out, 2, data, &[(7, 14)]);
        let out = std::fs::read(dir.path().join("a-out.log")).expect("out file");
        assert_eq!(out, b"a\r\nbb\n\npartial\n");
        let combined = std::fs::read(dir.path().join("a.log")).expect("combined file");
        assert_eq!(combined, out);
        let texts: Vec<String> = sink.since(0).into_iter().map(|l| l.text).collect();
        assert_eq!(texts, ["a", "bb", "", "partial"]);
    }

    #[test]
    fn flush_empties_files_and_ring() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (sink, _registry) = sink_in(dir.path(), 1000);
        sink.write_batch(LogStream::Out, 1, b"x", &[(0, 1)]);
        sink.flush(1);
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

    #[test]
    fn history_stops_at_the_snapshot_even_when_the_file_rotates_after_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let registry = FileRegistry::default();
        let rotation = Rotation {
            max_size: 12,
            max_files: 3,
            compress: false,
        };
        let files = SinkFiles {
            out: registry.get(&dir.path().join("r-out.log"), rotation),
            err: None,
            combined: None,
        };
        let tx = Fanout::new(16);
        let format = LineFormat::new(LogFormat::Raw, None, "r", 0);
        // A ring of one line, so history has to come from the files.
        let sink = LogSink::new(0, "r".into(), files, format, 1, tx);
        sink.prime();
        for (at, text) in [(1, b"one"), (2, b"two"), (3, b"six")] {
            sink.write_batch(LogStream::Out, at, text, &[(0, 3)]);
        }
        let query = LogQuery {
            lines: 10,
            stream: None,
            grep: None,
        };
        let (views, ()) = snapshot(&[Arc::clone(&sink)], &query, || ());
        // Written after the snapshot, rotating the file under it twice.
        for (at, text) in [(4, b"ten"), (5, b"xyz"), (6, b"abc"), (7, b"def")] {
            sink.write_batch(LogStream::Out, at, text, &[(0, 3)]);
        }
        assert!(numbered(&dir.path().join("r-out.log"), 2, false).exists());
        let lines = history::history(&views, &query);
        let texts: Vec<&str> = lines.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(
            texts,
            ["one", "two", "six"],
            "exactly the lines before the snapshot"
        );
    }
}
