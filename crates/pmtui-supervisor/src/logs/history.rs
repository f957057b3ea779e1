//! The last lines of processes, for `pmtui logs`. When the ring in memory holds enough lines
//! they come from it; otherwise from the files (the live one, then the rotated ones, gzipped
//! or not), read backwards up to the size noted in the snapshot, so the history ends exactly
//! where the live stream begins. This is what makes `--lines 100` work after a daemon restart.
//!
//! A line read back from a file is matched to the ring by its position (file generation and
//! end offset) to recover its time and sequence number; otherwise its time is read from the
//! JSON or timestamp prefix the file was written with, or borrowed from the next newer line
//! (raw files carry no time), which keeps the order right.

use super::RingLine;
use super::file::{SharedFile, numbered, open_regular, pending_files};
use super::format::Stamper;
use pmtui_proto::{LogFormat, LogLine, LogStream, ProcessId};
use regex::Regex;
use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// What to read back.
#[derive(Debug, Clone, Default)]
pub struct LogQuery {
    /// Lines per process.
    pub lines: usize,
    /// One stream, or both.
    pub stream: Option<LogStream>,
    /// Only lines matching.
    pub grep: Option<Regex>,
}

impl LogQuery {
    pub fn wants(&self, stream: LogStream, text: &str) -> bool {
        self.stream.is_none_or(|s| s == stream)
            && self.grep.as_ref().is_none_or(|re| re.is_match(text))
    }
}

/// One file as a snapshot saw it: the file, and how far its sink's lines in it go.
#[derive(Debug, Clone)]
pub struct FileView {
    pub file: SharedFile,
    /// (generation, size) just past the sink's last line; `None` when the writer had not
    /// looked yet (history then comes from the ring only).
    pub cut: Option<(u64, u64)>,
}

/// One process as it stood in a snapshot.
#[derive(Debug, Clone)]
pub struct SinkView {
    pub id: ProcessId,
    pub name: String,
    pub ring: Vec<RingLine>,
    pub last_seq: u64,
    pub out: Option<FileView>,
    pub err: Option<FileView>,
    pub kind: LogFormat,
    pub date_format: Option<String>,
}

impl SinkView {
    fn line(&self, l: &RingLine) -> LogLine {
        LogLine {
            id: self.id,
            name: self.name.clone(),
            stream: l.stream,
            seq: l.seq,
            at: l.at,
            text: l.text.clone(),
        }
    }
}

/// A line read back, before times are settled.
struct Found {
    owner: usize,
    stream: LogStream,
    seq: u64,
    at: Option<u64>,
    text: String,
}

/// The last `query.lines` lines of each view, oldest first, interleaved by time.
pub fn history(views: &[SinkView], query: &LogQuery) -> Vec<LogLine> {
    if query.lines == 0 {
        return Vec::new();
    }
    let streams: Vec<LogStream> = match query.stream {
        Some(s) => vec![s],
        None => vec![LogStream::Out, LogStream::Err],
    };
    let mut per_sink: Vec<Vec<LogLine>> = vec![Vec::new(); views.len()];
    // Files to read back, by path: several processes may share one (merge_logs).
    let mut from_files: HashMap<PathBuf, Vec<(usize, LogStream)>> = HashMap::new();
    for (i, view) in views.iter().enumerate() {
        let in_ring = view
            .ring
            .iter()
            .filter(|l| query.wants(l.stream, &l.text))
            .count();
        for stream in &streams {
            let file = match stream {
                LogStream::Out => &view.out,
                LogStream::Err => &view.err,
            };
            match file {
                Some(f) if f.cut.is_some() && in_ring < query.lines => {
                    from_files
                        .entry(f.file.path().to_path_buf())
                        .or_default()
                        .push((i, *stream));
                }
                _ => per_sink[i].extend(
                    view.ring
                        .iter()
                        .filter(|l| l.stream == *stream && query.wants(l.stream, &l.text))
                        .map(|l| view.line(l)),
                ),
            }
        }
    }
    let mut paths: Vec<_> = from_files.into_iter().collect();
    paths.sort_by(|a, b| a.0.cmp(&b.0));
    for (_, readers) in paths {
        let found = read_back(&readers, views, query);
        for f in found {
            let view = &views[f.owner];
            per_sink[f.owner].push(LogLine {
                id: view.id,
                name: view.name.clone(),
                stream: f.stream,
                seq: f.seq,
                at: f.at.unwrap_or(0),
                text: f.text,
            });
        }
    }
    let mut all = Vec::new();
    for mut lines in per_sink {
        // Stable: lines of one file keep their order when times tie.
        lines.sort_by_key(|l| l.at);
        let skip = lines.len().saturating_sub(query.lines);
        all.extend(lines.into_iter().skip(skip));
    }
    all.sort_by_key(|l| (l.at, l.id));
    all
}

/// Reads one file (and its rotated predecessors) backwards for the processes in `readers`.
fn read_back(readers: &[(usize, LogStream)], views: &[SinkView], query: &LogQuery) -> Vec<Found> {
    let (first, stream) = readers[0];
    let Some(view) = (match stream {
        LogStream::Out => views[first].out.as_ref(),
        LogStream::Err => views[first].err.as_ref(),
    }) else {
        return Vec::new();
    };
    // Lines of the readers' rings, by where they ended in this file.
    let mut known: HashMap<(u64, u64), (usize, &RingLine)> = HashMap::new();
    for &(owner, stream) in readers {
        for l in views[owner].ring.iter().filter(|l| l.stream == stream) {
            if let Some(pos) = l.pos {
                known.insert(pos, (owner, l));
            }
        }
    }
    let stamper = views[first].date_format.as_deref().map(Stamper::new);
    let kind = views[first].kind;
    let want = query.lines * readers.len();
    let mut found: Vec<Found> = Vec::new();
    let mut visit = |raw: &[u8], generation: Option<u64>, end: u64| -> bool {
        let hit = generation.and_then(|g| known.get(&(g, end)));
        let line = match hit {
            Some((owner, l)) => Found {
                owner: *owner,
                stream: l.stream,
                seq: l.seq,
                at: Some(l.at),
                text: l.text.clone(),
            },
            None => {
                let (at, text) = parse_line(raw, kind, stamper.as_ref());
                Found {
                    owner: first,
                    stream,
                    seq: 0,
                    at,
                    text,
                }
            }
        };
        if query.wants(line.stream, &line.text) {
            found.push(line);
        }
        found.len() < want
    };
    // How far to read: the furthest any reader's lines go (they share the file).
    let cut = readers
        .iter()
        .filter_map(|&(owner, stream)| match stream {
            LogStream::Out => views[owner].out.as_ref()?.cut,
            LogStream::Err => views[owner].err.as_ref()?.cut,
        })
        .max();
    let Some(cut) = cut else {
        return Vec::new();
    };
    for source in sources(&view.file, cut) {
        let more = match source.kind {
            Kind::Plain => scan_file(&source.file, source.limit, source.generation, &mut visit),
            Kind::Gz => scan_gz(&source.file, source.limit, source.generation, &mut visit),
        };
        if !more {
            break;
        }
    }
    settle_times(&mut found, view.file.path());
    found.reverse();
    found
}

/// Gives lines without a time the time of the next newer line (`found` is newest first),
/// or the file's modification time when none is known.
fn settle_times(found: &mut [Found], path: &Path) {
    let fallback = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let mut newer = None;
    for f in found.iter_mut() {
        match f.at {
            Some(at) => newer = Some(at.min(newer.unwrap_or(at))),
            None => f.at = Some(newer.unwrap_or(fallback)),
        }
    }
}

/// The time and message of a line as written to a file.
fn parse_line(raw: &[u8], kind: LogFormat, stamper: Option<&Stamper>) -> (Option<u64>, String) {
    let text = super::line_str(raw);
    match kind {
        LogFormat::Json => {
            if let Ok(value) = serde_json::from_str::<serde_json::Value>(&text)
                && let Some(message) = value.get("message").and_then(|m| m.as_str())
            {
                // pm2's `timestamp`; `time` in files older pmtui versions wrote.
                let time = ["timestamp", "time"]
                    .into_iter()
                    .find_map(|key| value.get(key).and_then(|t| t.as_str()))
                    .unwrap_or("");
                let at = time
                    .parse::<jiff::Timestamp>()
                    .ok()
                    .and_then(|t| u64::try_from(t.as_millisecond()).ok())
                    .or_else(|| stamper.and_then(|s| s.parse(time)));
                return (at, message.to_string());
            }
            (None, text.into_owned())
        }
        LogFormat::Raw => {
            if let Some(stamper) = stamper {
                for (i, _) in text.match_indices(": ").take(4) {
                    if let Some(at) = stamper.parse(&text[..i]) {
                        return (Some(at), text[i + 2..].to_string());
                    }
                }
            }
            (None, text.into_owned())
        }
    }
}

/// Called with (line, file generation, end offset) newest first; false stops the scan.
type Visit<'a> = dyn FnMut(&[u8], Option<u64>, u64) -> bool + 'a;

/// Longest line read back whole; a longer one (written by someone else) is cut.
const MAX_READ_LINE: usize = 1024 * 1024;
const BACK_CHUNK: u64 = 64 * 1024;

/// A file to read back, opened while the layout held still.
struct Source {
    file: File,
    kind: Kind,
    generation: Option<u64>,
    /// Read only this many bytes (the snapshot's cut in its own generation).
    limit: Option<u64>,
}

enum Kind {
    Plain,
    Gz,
}

/// The files holding `file`'s lines up to `cut`, newest first: the live one, those waiting
/// for gzip, then `.1`, `.2`, … (plain or gzipped). Generations newer than the cut are left
/// out and the cut's own generation is read only up to the cut, so nothing written after
/// the snapshot is read. They are opened under the layout's read lock (no rotation renames
/// them meanwhile) and read after it is released.
fn sources(file: &SharedFile, (cut_gen, cut_size): (u64, u64)) -> Vec<Source> {
    let path = file.path();
    let layout = file.layout();
    let mut found = Vec::new();
    let mut add = |p: &Path, kind: Kind, generation: Option<u64>| {
        let limit = match generation {
            Some(g) if g > cut_gen => return,
            Some(g) if g == cut_gen => Some(cut_size),
            _ => None,
        };
        if let Some(f) = open_regular(p) {
            found.push(Source {
                file: f,
                kind,
                generation,
                limit,
            });
        }
    };
    add(path, Kind::Plain, Some(layout.generation));
    let pending = pending_files(path);
    for (generation, aside) in &pending {
        add(aside, Kind::Plain, Some(*generation));
    }
    // `.1`, `.2`, … hold the rotated generations that are not waiting for gzip, in order;
    // beyond those known to this daemon, older files of unknown generation.
    let mut numbered_gens = layout
        .rotated
        .iter()
        .filter(|g| !pending.iter().any(|(p, _)| p == *g));
    for k in 1..=file.max_files() as usize {
        let generation = numbered_gens.next().copied();
        let plain = numbered(path, k, false);
        if plain.exists() {
            add(&plain, Kind::Plain, generation);
        } else {
            add(&numbered(path, k, true), Kind::Gz, generation);
        }
    }
    found
}

/// Calls `visit(line, generation, end offset)` for each line of `file` up to `limit` bytes,
/// newest first, until it returns false. Returns false if it was told to stop.
fn scan_file(
    file: &File,
    limit: Option<u64>,
    generation: Option<u64>,
    visit: &mut Visit<'_>,
) -> bool {
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let len = limit.map_or(len, |l| l.min(len));
    scan_back(
        len,
        |lo, hi| {
            let mut chunk = vec![0u8; (hi - lo) as usize];
            file.read_exact_at(&mut chunk, lo).ok().map(|()| chunk)
        },
        generation,
        visit,
    )
}

fn scan_gz(
    file: &File,
    limit: Option<u64>,
    generation: Option<u64>,
    visit: &mut Visit<'_>,
) -> bool {
    let mut data = Vec::new();
    if flate2::read::GzDecoder::new(file)
        .read_to_end(&mut data)
        .is_err()
    {
        return true;
    }
    if let Some(limit) = limit {
        data.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    }
    let len = data.len() as u64;
    scan_back(
        len,
        |lo, hi| Some(data[lo as usize..hi as usize].to_vec()),
        generation,
        visit,
    )
}

/// The backwards line scanner over `[0, len)`, reading chunks with `read(lo, hi)`.
fn scan_back(
    len: u64,
    mut read: impl FnMut(u64, u64) -> Option<Vec<u8>>,
    generation: Option<u64>,
    visit: &mut Visit<'_>,
) -> bool {
    // `buf` holds bytes [lo, hi); `hi` is the end of the next line to hand out.
    let mut hi = len;
    let mut lo = len;
    let mut buf: Vec<u8> = Vec::new();
    while hi > 0 {
        let body = if buf.last() == Some(&b'\n') {
            buf.len() - 1
        } else {
            buf.len()
        };
        if let Some(i) = memchr::memrchr(b'\n', &buf[..body]) {
            if !visit(&buf[i + 1..body], generation, hi) {
                return false;
            }
            buf.truncate(i + 1);
            hi = lo + i as u64 + 1;
            continue;
        }
        if lo == 0 || buf.len() >= MAX_READ_LINE {
            if !visit(&buf[..body], generation, hi) {
                return false;
            }
            if lo == 0 {
                break;
            }
            buf.clear();
            hi = lo;
            continue;
        }
        let from = lo.saturating_sub(BACK_CHUNK);
        let Some(mut chunk) = read(from, lo) else {
            break;
        };
        chunk.extend_from_slice(&buf);
        buf = chunk;
        lo = from;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_of(data: &[u8]) -> Vec<(String, u64)> {
        let mut seen = Vec::new();
        scan_back(
            data.len() as u64,
            |lo, hi| Some(data[lo as usize..hi as usize].to_vec()),
            Some(0),
            &mut |line, _, end| {
                seen.push((String::from_utf8_lossy(line).into_owned(), end));
                true
            },
        );
        seen
    }

    #[test]
    fn scanning_backwards_yields_lines_and_their_ends() {
        assert_eq!(
            lines_of(b"a\n\nccc\n"),
            [
                ("ccc".to_string(), 7),
                (String::new(), 3),
                ("a".to_string(), 2)
            ]
        );
        assert_eq!(
            lines_of(b"x\ntail"),
            [("tail".to_string(), 6), ("x".to_string(), 2)]
        );
        assert!(lines_of(b"").is_empty());
    }

    #[test]
    fn scanning_crosses_chunk_boundaries() {
        let mut data = Vec::new();
        for i in 0..50_000 {
            data.extend_from_slice(format!("line {i}\n").as_bytes());
        }
        let seen = lines_of(&data);
        assert_eq!(seen.len(), 50_000);
        assert_eq!(seen[0].0, "line 49999");
        assert_eq!(seen[49_999].0, "line 0");
        assert_eq!(seen[0].1, data.len() as u64);
    }

    #[test]
    fn prefixed_and_json_lines_parse_back() {
        let stamper = Stamper::new("%Y-%m-%dT%H:%M:%S%:z");
        let (at, text) = parse_line(
            b"2026-11-26T15:00:00+00:00: hello: world",
            LogFormat::Raw,
            Some(&stamper),
        );
        assert_eq!(text, "hello: world");
        assert_eq!(at, Some(1_795_705_200_000));
        let (at, text) = parse_line(
            br#"{"time":"2026-11-26T15:00:00.250Z","stream":"out","process":"a","id":0,"message":"hi"}"#,
            LogFormat::Json,
            None,
        );
        assert_eq!(text, "hi");
        assert_eq!(at, Some(1_795_705_200_250));
        let (at, text) = parse_line(
            br#"{"message":"ho","timestamp":"2026-11-26T15:00:00.500Z","type":"out","process_id":0,"app_name":"a"}"#,
            LogFormat::Json,
            None,
        );
        assert_eq!(text, "ho");
        assert_eq!(at, Some(1_795_705_200_500));
    }
}
