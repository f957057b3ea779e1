//! Reading a child's pipe: 64 KiB reads, cut into lines, handed to the sink's writer as one
//! batch per read. A quiet pipe is waited on with no buffer held (a thousand idle children
//! cost their pumps nothing but the task); the buffer is taken when data is there. A line longer than `MAX_LINE_BYTES` is cut into pieces of that size as it
//! arrives, so a child that never writes a newline costs at most that much memory. A partial
//! line left alone for `QUIET` (a prompt, a progress bar) goes out as a line of its own, so
//! it reaches the file and the followers while the process runs; what comes after it starts
//! a new line.

use super::LogSink;
use super::writer::{Batch, Pumps};
use pmtui_proto::LogStream;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::net::unix::pipe;

/// Longer lines are split into pieces of this many bytes rather than buffered whole.
pub const MAX_LINE_BYTES: usize = 64 * 1024;
const READ_CHUNK: usize = 64 * 1024;
/// How long a partial line waits for the rest before it goes out on its own. Long enough
/// that a line written in a few pieces stays whole, short enough for a progress bar.
pub const QUIET: Duration = Duration::from_millis(200);

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
            let raw = &data[start..end];
            let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
            kept.push_back(String::from_utf8_lossy(raw).into_owned());
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
pub async fn pump(
    mut reader: pipe::Receiver,
    sink: Arc<LogSink>,
    stream: LogStream,
    pumps: Pumps,
    tail: Option<Arc<Tail>>,
) {
    let _running = pumps.started();
    let mut buf: Vec<u8> = Vec::new();
    // Bytes at the start of `buf` already known to hold no newline.
    let mut scanned = 0;
    loop {
        // `buf` holds only a partial line between reads. `read_buf` is cancel-safe: a
        // timeout read nothing.
        let read = if buf.is_empty() {
            // Nothing held: wait for data without a buffer, then read it into a fresh one.
            match reader.readable().await {
                Ok(()) => {
                    buf.reserve(READ_CHUNK);
                    match reader.try_read_buf(&mut buf) {
                        Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => {
                            buf = Vec::new();
                            continue;
                        }
                        read => read,
                    }
                }
                Err(err) => Err(err),
            }
        } else {
            buf.reserve(READ_CHUNK);
            match tokio::time::timeout(QUIET, reader.read_buf(&mut buf)).await {
                Ok(read) => read,
                Err(_) => {
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
        match read {
            Ok(0) => break,
            Ok(_) => {}
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(err) => {
                tracing::debug!(%err, "log pipe read failed");
                break;
            }
        }
        // Sized once: a read of short lines holds thousands.
        let mut lines = Vec::with_capacity(memchr::memchr_iter(b'\n', &buf[scanned..]).count() + 1);
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
        if lines.is_empty() {
            continue;
        }
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
}
