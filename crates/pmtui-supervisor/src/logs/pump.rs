//! Reading a child's pipe: 64 KiB reads, cut into lines, handed to the sink's writer as one
//! batch per read. A quiet pipe is waited on with no buffer held (a thousand idle children
//! cost their pumps nothing but the task); the buffer is taken when data is there. A line longer than `MAX_LINE_BYTES` is cut into pieces of that size as it
//! arrives, so a child that never writes a newline costs at most that much memory. A partial
//! line left alone for `QUIET` (a prompt, a progress bar) goes out as a line of its own, so
//! it reaches the file and the followers while the process runs; what comes after it starts
//! a new line.
//!
//! A child that logs unbuffered, one `write` per short line, would wake its pump for nearly
//! every line: each read then takes a few bytes, and each of the child's writes pays for
//! waking the daemon. A pump whose reads come back that small, one right after the other,
//! waits `GATHER` before it reads again, so that one read takes the lines of that moment.
//! The pipe is out of the event loop while it waits: registered, every write would still
//! wake the daemon's thread (tokio's registrations are edge-triggered, and a pipe signals
//! each write). The wait is tokio's timer tick, 1 to 3 ms, and a pipe holds 64 KiB by
//! default (8,000 short lines, a few ms of a fast child), so the pipe is first made to hold
//! `GATHER_PIPE`, unless its child made it larger. A child that fills even that during a
//! wait is held back by the wait, so once the lines gathered by one wait come near the
//! pipe's size, the pump stops waiting for `UNHURRIED`.
//!
//! A read that comes back full (a child writing faster than its pump reads) grows the
//! pipe to `GATHER_PIPE` as well: the child then goes on writing while the pump hands the
//! read on, rather than waiting for each 64 KiB to be read (1 KiB lines: two to three
//! times the rate on the benchmark machine).

use super::LogSink;
use super::writer::{Batch, Pumps};
use pmtui_proto::LogStream;
use std::collections::VecDeque;
use std::os::fd::AsFd;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::AsyncReadExt;
use tokio::net::unix::pipe;
use tokio::time::Sleep;

/// Longer lines are split into pieces of this many bytes rather than buffered whole.
pub const MAX_LINE_BYTES: usize = 64 * 1024;
const READ_CHUNK: usize = 64 * 1024;
/// A read into an empty buffer after a small read is first made into this many bytes on
/// the stack (see `read_fresh`).
const FIRST_READ: usize = 4 * 1024;
/// How long a partial line waits for the rest before it goes out on its own. Long enough
/// that a line written in a few pieces stays whole, short enough for a progress bar.
pub const QUIET: Duration = Duration::from_millis(200);
/// A read of fewer bytes than this, soon after the one before, is a pump woken per line.
const SMALL_READ: usize = 512;
/// "Soon": reads further apart than this come from a child that is not flooding.
const HOT_GAP: Duration = Duration::from_millis(1);
/// How long a pump woken per line waits before it reads again: one tick of tokio's timer.
const GATHER: Duration = Duration::from_millis(1);
/// What a pipe is made to hold once its pump waits. The kernel keeps pages only for what
/// is in it, but counts the size against the user's pipe allowance
/// (`/proc/sys/fs/pipe-user-pages-soft`): only pipes of children that flood are grown.
const GATHER_PIPE: usize = 256 * 1024;
/// What a pipe holds when it could not be grown.
const DEFAULT_PIPE: usize = 64 * 1024;
/// How long a pump does not wait after a wait let the pipe (nearly) fill. Short: a wait
/// that ran long because the daemon was busy fills it too.
const UNHURRIED: Duration = Duration::from_millis(100);
/// How often a pipe the event loop refused is offered again.
const UNWATCHED_RETRY: Duration = Duration::from_millis(100);

/// Whether a pump waits before its next read; see the module's documentation.
#[derive(Debug, Default)]
struct Gather {
    /// When the last read returned, or the last wait ended.
    last: Option<Instant>,
    /// The pipe's size, once the pump has waited (and tried to grow it).
    pipe: Option<usize>,
    /// Bytes read since the last wait ended; `None` when the pump has not just waited.
    gathered: Option<usize>,
    /// No waiting before this.
    unhurried_until: Option<Instant>,
}

impl Gather {
    /// Notes a read of `n` bytes that returned at `now`; true when the pump should wait
    /// before the next one.
    fn after_read(&mut self, n: usize, now: Instant) -> bool {
        let hot = self
            .last
            .is_some_and(|last| now.duration_since(last) < HOT_GAP);
        self.last = Some(now);
        if !hot {
            self.gathered = None;
            return false;
        }
        if let Some(gathered) = &mut self.gathered {
            *gathered += n;
        }
        if n >= SMALL_READ {
            // Still draining, or a child writing large pieces: read on.
            return false;
        }
        // The pipe is drained and the pump was woken for a few bytes.
        let full = self.pipe.unwrap_or(DEFAULT_PIPE) / 4 * 3;
        if self
            .gathered
            .take()
            .is_some_and(|gathered| gathered >= full)
        {
            self.unhurried_until = Some(now + UNHURRIED);
        }
        let wait = self.unhurried_until.is_none_or(|until| now >= until);
        if wait {
            self.gathered = Some(0);
        }
        wait
    }

    /// Notes that a wait ended at `now`: the next read's gap is counted from here.
    fn waited(&mut self, now: Instant) {
        self.last = Some(now);
    }

    /// Grows `reader`'s pipe before the pump's first wait; never shrinks one its child made
    /// larger.
    fn grow_pipe(&mut self, reader: &pipe::Receiver) {
        use nix::fcntl::{FcntlArg, fcntl};
        if self.pipe.is_some() {
            return;
        }
        let size = |got: nix::Result<i32>| got.ok().and_then(|n| usize::try_from(n).ok());
        let now = size(fcntl(reader, FcntlArg::F_GETPIPE_SZ)).unwrap_or(DEFAULT_PIPE);
        let grown = if now >= GATHER_PIPE {
            now
        } else {
            size(fcntl(reader, FcntlArg::F_SETPIPE_SZ(GATHER_PIPE as i32))).unwrap_or(now)
        };
        self.pipe = Some(grown);
    }
}

/// The last lines one run wrote to a stream, kept by its pump (for the exit record: they
/// are known without waiting for the sink's writer, and never mixed with the next run's).
#[derive(Debug, Default)]
pub struct Tail {
    lines: Mutex<VecDeque<String>>,
}

/// Lines a [`Tail`] keeps.
pub const TAIL_LINES: usize = 10;

impl Tail {
    fn note(&self, data: &[u8], lines: &[(usize, usize)]) {
        let from = lines.len().saturating_sub(TAIL_LINES);
        let mut kept = self
            .lines
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for &(start, end) in &lines[from..] {
            kept.push_back(super::line_str(&data[start..end]).into_owned());
            if kept.len() > TAIL_LINES {
                kept.pop_front();
            }
        }
    }

    /// The lines kept, oldest first.
    pub fn lines(&self) -> Vec<String> {
        self.lines
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .iter()
            .cloned()
            .collect()
    }
}

/// Reads `reader` until end of file and feeds `sink`; waits while the sink's queue is full
/// (so a slow destination pushes back on the child through its pipe). It returns when the
/// last writer of the pipe is gone, so what a child wrote just before dying still lands.
/// With `tail`, the last lines read are kept there too.
// Not an `async fn`: see the comment in the body.
#[allow(clippy::manual_async_fn)]
pub fn pump(
    mut reader: pipe::Receiver,
    sink: Arc<LogSink>,
    stream: LogStream,
    pumps: Pumps,
    tail: Option<Arc<Tail>>,
) -> impl std::future::Future<Output = ()> + Send + 'static {
    // An `async` block rather than an `async fn`: an `async fn` keeps its arguments apart
    // from its locals, and this future lives as long as the child.
    async move {
        let _running = pumps.started();
        let mut buf: Vec<u8> = Vec::new();
        // The partial line's timer, made the first time one waits (most pumps never see one)
        // and kept out of this future, which every pump keeps for its whole life.
        let mut quiet: Option<Pin<Box<Sleep>>> = None;
        // Bytes at the start of `buf` already known to hold no newline.
        let mut scanned = 0;
        let mut gather = Gather::default();
        // The size of the last read: after a small one, the next read into an empty `buf`
        // goes through the stack (see `read_fresh`).
        let mut last_read = 0;
        loop {
            // `buf` holds only a partial line between reads. `read_buf` is cancel-safe: a
            // timeout read nothing.
            let read = if buf.is_empty() {
                // Nothing held: wait for data without a buffer, then read it into a fresh one.
                // Polled readiness keeps no waiter in this future (`readable()` keeps one of
                // some 150 bytes); the pump is the pipe's only reader.
                match std::future::poll_fn(|cx| reader.poll_read_ready(cx)).await {
                    Ok(()) => match read_fresh(&reader, &mut buf, last_read < FIRST_READ) {
                        Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => {
                            buf = Vec::new();
                            continue;
                        }
                        read => read,
                    },
                    Err(err) => Err(err),
                }
            } else {
                buf.reserve(READ_CHUNK);
                let deadline = tokio::time::Instant::now() + QUIET;
                let quiet =
                    quiet.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
                quiet.as_mut().reset(deadline);
                let read = tokio::select! {
                    biased;
                    read = reader.read_buf(&mut buf) => Some(read),
                    () = quiet.as_mut() => None,
                };
                match read {
                    Some(read) => read,
                    None => {
                        let partial = std::mem::take(&mut buf);
                        scanned = 0;
                        let len = partial.len();
                        if let Some(tail) = &tail {
                            tail.note(&partial, &[(0, len)]);
                        }
                        sink.submit(Batch {
                            sink: Arc::clone(&sink),
                            stream,
                            at: pmtui_proto::now_ms(),
                            data: partial,
                            lines: vec![(0, len)],
                        })
                        .await;
                        continue;
                    }
                }
            };
            let wait = match read {
                Ok(0) => break,
                Ok(n) => {
                    last_read = n;
                    if n >= READ_CHUNK {
                        // A full read: the child writes faster than the pump reads. A larger
                        // pipe lets it go on writing while the pump hands the read on.
                        gather.grow_pipe(&reader);
                    }
                    gather.after_read(n, Instant::now())
                }
                Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(err) => {
                    tracing::debug!(%err, "log pipe read failed");
                    break;
                }
            };
            // Sized once: a read of short lines holds thousands.
            let mut lines =
                Vec::with_capacity(memchr::memchr_iter(b'\n', &buf[scanned..]).count() + 1);
            let mut start = 0;
            let mut from = scanned;
            while let Some(i) = memchr::memchr(b'\n', &buf[from..]) {
                let end = from + i;
                split_into(&mut lines, start, end);
                start = end + 1;
                from = start;
            }
            // A partial line longer than the bound is cut now rather than held.
            while buf.len() - start >= MAX_LINE_BYTES {
                lines.push((start, start + MAX_LINE_BYTES));
                start += MAX_LINE_BYTES;
            }
            scanned = buf.len() - start;
            if !lines.is_empty() {
                if let Some(tail) = &tail {
                    tail.note(&buf, &lines);
                }
                let rest = buf[start..].to_vec();
                let data = std::mem::replace(&mut buf, rest);
                let batch = Batch {
                    sink: Arc::clone(&sink),
                    stream,
                    at: pmtui_proto::now_ms(),
                    data,
                    lines,
                };
                sink.submit(batch).await;
            }
            if wait {
                gather.grow_pipe(&reader);
                // Boxed: only a pump woken per line waits, and the wait holds a timer.
                match Box::pin(wait_unwatched(reader)).await {
                    Some(again) => reader = again,
                    None => break,
                }
                gather.waited(Instant::now());
            }
        }
        if !buf.is_empty() {
            let len = buf.len();
            let mut lines = Vec::new();
            split_into(&mut lines, 0, len);
            if let Some(tail) = &tail {
                tail.note(&buf, &lines);
            }
            let batch = Batch {
                sink: Arc::clone(&sink),
                stream,
                at: pmtui_proto::now_ms(),
                data: buf,
                lines,
            };
            sink.submit(batch).await;
        }
    }
}

/// Reads into the empty `buf`. After a small read (and at a child's exit, which reads
/// nothing) through a buffer on the stack, so that `buf` takes only what was read: a line
/// now and then, or the exit's empty read, cost a `READ_CHUNK` allocation each, which a
/// batch then held until written. After a large read, straight into `buf`, one call.
fn read_fresh(reader: &pipe::Receiver, buf: &mut Vec<u8>, small: bool) -> std::io::Result<usize> {
    if !small {
        buf.reserve(READ_CHUNK);
        return reader.try_read_buf(buf);
    }
    let mut first = [0u8; FIRST_READ];
    let n = reader.try_read(&mut first)?;
    buf.extend_from_slice(&first[..n]);
    if n < FIRST_READ {
        return Ok(n);
    }
    buf.reserve(READ_CHUNK);
    match reader.try_read_buf(buf) {
        Ok(more) => Ok(n + more),
        // What was read stands; a failure shows again at the next read.
        Err(_) => Ok(n),
    }
}

/// Waits `GATHER` with the pipe out of the event loop, so that what the child writes
/// meanwhile wakes nobody, and gives it back registered again. A spare descriptor of the
/// pipe is held meanwhile: the event loop may refuse the pipe back (the kernel's limit on
/// watched files), and the pipe must outlive that; the child waits in `write` once it is
/// full, and nothing is lost. Without a descriptor to spare (at the fd limit) it does not
/// wait. `None`: the pipe could be neither watched nor kept (no descriptor left to retry).
async fn wait_unwatched(reader: pipe::Receiver) -> Option<pipe::Receiver> {
    let Ok(mut spare) = reader.as_fd().try_clone_to_owned() else {
        return Some(reader);
    };
    let fd = reader.into_nonblocking_fd();
    tokio::time::sleep(GATHER).await;
    if let Ok(fd) = fd
        && let Ok(reader) = pipe::Receiver::from_owned_fd_unchecked(fd)
    {
        return Some(reader);
    }
    tracing::warn!("a log pipe cannot be watched; trying again every 100 ms");
    loop {
        // Registering takes the descriptor even when it fails: a copy is the next try.
        let copy = spare.try_clone();
        match pipe::Receiver::from_owned_fd_unchecked(spare) {
            Ok(reader) => return Some(reader),
            // Said once above, not ten times a second into daemon.log.
            Err(err) => tracing::debug!(%err, "a log pipe cannot be watched yet"),
        }
        spare = copy.ok()?;
        tokio::time::sleep(UNWATCHED_RETRY).await;
    }
}

/// Pushes `[start, end)` as one line, or as pieces of at most `MAX_LINE_BYTES`.
fn split_into(lines: &mut Vec<(usize, usize)>, start: usize, end: usize) {
    if end - start <= MAX_LINE_BYTES {
        lines.push((start, end));
        return;
    }
    let mut at = start;
    while at < end {
        let to = (at + MAX_LINE_BYTES).min(end);
        lines.push((at, to));
        at = to;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_are_cut_and_empty_lines_kept() {
        let mut lines = Vec::new();
        split_into(&mut lines, 0, 0);
        split_into(&mut lines, 10, 10 + MAX_LINE_BYTES * 2 + 1);
        assert_eq!(lines.len(), 4);
        assert_eq!(lines[0], (0, 0));
        assert_eq!(lines[3], (10 + MAX_LINE_BYTES * 2, 11 + MAX_LINE_BYTES * 2));
    }

    #[test]
    fn a_pump_woken_per_line_waits_until_a_wait_fills_the_pipe() {
        let mut gather = Gather {
            pipe: Some(DEFAULT_PIPE),
            ..Gather::default()
        };
        let t = Instant::now();
        let us = |n| t + Duration::from_micros(n);
        // A first small read, and small reads far apart: no waiting.
        assert!(!gather.after_read(8, us(0)));
        assert!(!gather.after_read(8, us(5_000)));
        // Small reads one right after the other: a pump woken per line.
        assert!(gather.after_read(8, us(5_010)));
        gather.waited(us(7_000));
        // What the wait gathered, drained in two reads, less than a full pipe: waiting
        // goes on.
        assert!(!gather.after_read(20_000, us(7_100)));
        assert!(!gather.after_read(9_000, us(7_200)));
        assert!(gather.after_read(16, us(7_210)));
        // Large reads one after the other are not a pump woken per line.
        assert!(!gather.after_read(4096, us(9_000)));
        assert!(!gather.after_read(4096, us(9_100)));
        // The wait filled the pipe: no waiting for a while, then again.
        assert!(gather.after_read(8, us(9_110)));
        gather.waited(us(11_190));
        assert!(!gather.after_read(DEFAULT_PIPE, us(11_200)));
        assert!(!gather.after_read(8, us(11_210)));
        assert!(!gather.after_read(8, us(90_000)));
        assert!(!gather.after_read(8, us(90_010)));
        assert!(!gather.after_read(8, us(130_000)));
        assert!(gather.after_read(8, us(130_010)));
        // The child went quiet during the wait: its next line, much later, is read at once.
        gather.waited(us(132_000));
        assert!(!gather.after_read(8, us(500_000)));
    }

    #[test]
    fn a_tail_keeps_the_last_lines() {
        let tail = Tail::default();
        let data = b"a\r\nb\n";
        tail.note(data, &[(0, 2), (3, 4)]);
        let many: Vec<u8> = (0..20u8).map(|i| b'a' + i).collect();
        let ranges: Vec<(usize, usize)> = (0..20).map(|i| (i, i + 1)).collect();
        tail.note(&many, &ranges);
        let lines = tail.lines();
        assert_eq!(lines.len(), TAIL_LINES);
        assert_eq!(lines[0], "k");
        assert_eq!(lines[9], "t");
        let tail = Tail::default();
        tail.note(data, &[(0, 2), (3, 4)]);
        assert_eq!(tail.lines(), vec!["a".to_string(), "b".to_string()]);
    }

    /// A small read takes a buffer of its size; a read larger than the stack's part goes
    /// on into a full buffer and loses nothing; an empty pipe whose writer is gone reads
    /// nothing and allocates nothing.
    #[tokio::test]
    async fn a_fresh_read_takes_what_it_needs() {
        use std::io::Write;
        let (rx, tx) = nix::unistd::pipe().expect("pipe");
        let mut tx = std::fs::File::from(tx);
        let rx = pipe::Receiver::from_owned_fd(rx).expect("receiver");

        tx.write_all(b"one line\n").expect("write");
        rx.readable().await.expect("readable");
        let mut buf = Vec::new();
        assert_eq!(read_fresh(&rx, &mut buf, true).expect("read"), 9);
        assert_eq!(buf, b"one line\n");
        assert_eq!(
            buf.capacity(),
            9,
            "a small read is held in a buffer of its size"
        );

        let big: Vec<u8> = (0..3 * FIRST_READ).map(|i| (i % 251) as u8).collect();
        tx.write_all(&big).expect("write");
        rx.readable().await.expect("readable");
        let mut buf = Vec::new();
        assert_eq!(read_fresh(&rx, &mut buf, true).expect("read"), big.len());
        assert_eq!(buf, big, "the bytes past the stack's part follow in order");

        drop(tx);
        rx.readable().await.expect("readable");
        let mut buf = Vec::new();
        assert_eq!(read_fresh(&rx, &mut buf, true).expect("read"), 0);
        assert_eq!(buf.capacity(), 0, "the end of the pipe allocates nothing");
    }
}
