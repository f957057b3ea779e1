//! The log viewer's state: a bounded buffer of lines for one process or all of them, the
//! subset shown (stream and filter applied, kept incrementally), a cursor held by absolute
//! line number so it survives lines falling off the front, follow mode, search, selection.

use pmtui_proto::{LogLine, LogStream, ProcessId};
use std::collections::{HashMap, VecDeque};

/// Lines kept in the viewer; older ones fall off the front.
pub const CAPACITY: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamFilter {
    Combined,
    Out,
    Err,
}

impl StreamFilter {
    pub fn next(self) -> Self {
        match self {
            Self::Combined => Self::Out,
            Self::Out => Self::Err,
            Self::Err => Self::Combined,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Combined => "combined",
            Self::Out => "stdout",
            Self::Err => "stderr",
        }
    }

    fn admits(self, stream: LogStream) -> bool {
        match self {
            Self::Combined => true,
            Self::Out => stream == LogStream::Out,
            Self::Err => stream == LogStream::Err,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogTarget {
    All,
    One(ProcessId),
}

#[derive(Debug)]
pub struct LogBuffer {
    pub target: LogTarget,
    /// Bumped on every retarget so a late seed for the old target is ignored.
    pub generation: u64,
    pub stream: StreamFilter,
    lines: VecDeque<LogLine>,
    /// Absolute number of `lines[0]`.
    base: usize,
    seen: HashMap<ProcessId, u64>,
    /// Absolute numbers of the lines shown, ascending.
    visible: Vec<usize>,
    pub follow: bool,
    /// Absolute number of the current line.
    pub cursor: usize,
    /// Absolute number of the first line on screen (kept by the renderer).
    pub top: usize,
    /// Start of a selection (absolute), `v` to set.
    pub anchor: Option<usize>,
    pub search: String,
    filter: String,
    pub wrap: bool,
    /// Show each line's time.
    pub timestamps: bool,
}

impl Default for LogBuffer {
    fn default() -> Self {
        Self {
            target: LogTarget::All,
            generation: 0,
            stream: StreamFilter::Combined,
            lines: VecDeque::new(),
            base: 0,
            seen: HashMap::new(),
            visible: Vec::new(),
            follow: true,
            cursor: 0,
            top: 0,
            anchor: None,
            search: String::new(),
            filter: String::new(),
            // Long lines are read whole by default; `w` cuts them to the width.
            wrap: true,
            timestamps: false,
        }
    }
}

impl LogBuffer {
    /// Points the viewer at a new target, emptying it; returns the generation for the seed.
    pub fn retarget(&mut self, target: LogTarget) -> u64 {
        let generation = self.generation + 1;
        *self = Self {
            generation,
            target,
            stream: self.stream,
            wrap: self.wrap,
            timestamps: self.timestamps,
            ..Self::default()
        };
        generation
    }

    /// Adds a line if it belongs to the target and was not seen before.
    pub fn push(&mut self, line: LogLine) {
        if let LogTarget::One(id) = self.target
            && line.id != id
        {
            return;
        }
        if self
            .seen
            .get(&line.id)
            .is_some_and(|seen| line.seq <= *seen)
        {
            return;
        }
        self.seen.insert(line.id, line.seq);
        let abs = self.base + self.lines.len();
        let shown = self.admits(&line);
        self.lines.push_back(line);
        if shown {
            self.visible.push(abs);
            if self.follow {
                self.cursor = abs;
            }
        }
        if self.lines.len() > CAPACITY {
            self.lines.pop_front();
            self.base += 1;
            if self.visible.first().is_some_and(|first| *first < self.base) {
                self.visible.remove(0);
            }
        }
    }

    /// Forgets the last line seen of the processes `which` names (a host's daemon came
    /// back and numbers their lines afresh).
    pub fn forget(&mut self, which: impl Fn(ProcessId) -> bool) {
        self.seen.retain(|id, _| !which(*id));
    }

    /// Merges recent lines fetched from the daemon with the live ones already here (which
    /// may be newer), in time order, without duplicates.
    pub fn seed(&mut self, recent: Vec<LogLine>) {
        self.seed_with(recent, false);
    }

    /// `seed` for lines of one of several daemons: what comes in and what is here are put
    /// in the order they were read (each daemon's clock), so hosts interleave.
    pub fn seed_by_time(&mut self, recent: Vec<LogLine>) {
        self.seed_with(recent, true);
    }

    fn seed_with(&mut self, recent: Vec<LogLine>, by_time: bool) {
        let live: Vec<LogLine> = self.lines.drain(..).collect();
        let (follow, cursor) = (self.follow, self.cursor);
        self.base += live.len();
        self.visible.clear();
        self.seen.clear();
        let mut all: Vec<LogLine> = recent.into_iter().chain(live).collect();
        if by_time {
            // Stable: a process's lines keep their order.
            all.sort_by_key(|l| l.at);
        }
        for line in all {
            self.push(line);
        }
        if follow {
            self.to_end();
        } else {
            self.cursor = cursor;
        }
    }

    /// Empties the view; lines already seen do not come back.
    pub fn clear(&mut self) {
        self.base += self.lines.len();
        self.lines.clear();
        self.visible.clear();
        self.anchor = None;
        self.follow = true;
    }

    fn admits(&self, line: &LogLine) -> bool {
        self.stream.admits(line.stream)
            && (self.filter.is_empty() || contains(&line.text, &self.filter))
    }

    fn rebuild(&mut self) {
        let base = self.base;
        self.visible = (0..self.lines.len())
            .filter(|i| self.admits(&self.lines[*i]))
            .map(|i| base + i)
            .collect();
        self.anchor = None;
        if self.follow || self.position(self.cursor).is_none() {
            self.to_end();
        }
    }

    pub fn set_stream(&mut self, stream: StreamFilter) {
        self.stream = stream;
        self.rebuild();
    }

    pub fn set_filter(&mut self, filter: &str) {
        if self.filter != filter {
            self.filter = filter.to_string();
            self.rebuild();
        }
    }

    pub fn filter(&self) -> &str {
        &self.filter
    }

    pub fn len(&self) -> usize {
        self.visible.len()
    }

    pub fn is_empty(&self) -> bool {
        self.visible.is_empty()
    }

    pub fn total(&self) -> usize {
        self.lines.len()
    }

    /// The `i`-th shown line.
    pub fn shown(&self, i: usize) -> Option<&LogLine> {
        let abs = *self.visible.get(i)?;
        self.lines.get(abs - self.base)
    }

    /// Where absolute line `abs` is among the shown lines (or where it would be).
    pub fn position(&self, abs: usize) -> Option<usize> {
        self.visible.binary_search(&abs).ok()
    }

    /// The position of the cursor among the shown lines, or the nearest one before it.
    pub fn cursor_pos(&self) -> usize {
        match self.visible.binary_search(&self.cursor) {
            Ok(i) => i,
            Err(i) => i
                .saturating_sub(1)
                .min(self.visible.len().saturating_sub(1)),
        }
    }

    pub fn top_pos(&self) -> usize {
        match self.visible.binary_search(&self.top) {
            Ok(i) | Err(i) => i.min(self.visible.len().saturating_sub(1)),
        }
    }

    pub fn set_top_pos(&mut self, pos: usize) {
        if let Some(abs) = self.visible.get(pos) {
            self.top = *abs;
        }
    }

    fn set_cursor_pos(&mut self, pos: usize) {
        if let Some(abs) = self.visible.get(pos) {
            self.cursor = *abs;
        }
    }

    /// Moves the cursor by `delta` shown lines; moving up pauses follow.
    pub fn move_by(&mut self, delta: isize) {
        if self.visible.is_empty() {
            return;
        }
        let pos = self.cursor_pos() as isize + delta;
        let last = self.visible.len() as isize - 1;
        self.set_cursor_pos(pos.clamp(0, last) as usize);
        if delta < 0 {
            self.follow = false;
        }
    }

    pub fn to_start(&mut self) {
        self.follow = false;
        self.set_cursor_pos(0);
    }

    /// Jumps to the newest line and follows again.
    pub fn to_end(&mut self) {
        self.follow = true;
        self.set_cursor_pos(self.visible.len().saturating_sub(1));
    }

    pub fn toggle_follow(&mut self) {
        if self.follow {
            self.follow = false;
        } else {
            self.to_end();
        }
    }

    /// Moves to the next (or previous) shown line containing the search; false if none.
    pub fn find(&mut self, forward: bool) -> bool {
        if self.search.is_empty() || self.visible.is_empty() {
            return false;
        }
        let n = self.visible.len();
        let start = self.cursor_pos();
        for step in 1..=n {
            let pos = if forward {
                (start + step) % n
            } else {
                (start + n - step % n) % n
            };
            if self
                .shown(pos)
                .is_some_and(|l| contains(&l.text, &self.search))
            {
                self.follow = false;
                self.set_cursor_pos(pos);
                return true;
            }
        }
        false
    }

    /// The selected lines (anchor to cursor), or the current line.
    pub fn selection(&self) -> Vec<&LogLine> {
        let cursor = self.cursor_pos();
        let (from, to) = match self.anchor.and_then(|a| self.position(a)) {
            Some(anchor) => (anchor.min(cursor), anchor.max(cursor)),
            None => (cursor, cursor),
        };
        (from..=to).filter_map(|i| self.shown(i)).collect()
    }

    pub fn in_selection(&self, pos: usize) -> bool {
        let Some(anchor) = self.anchor.and_then(|a| self.position(a)) else {
            return false;
        };
        let cursor = self.cursor_pos();
        (anchor.min(cursor)..=anchor.max(cursor)).contains(&pos)
    }

    /// Every shown line, for export.
    pub fn shown_lines(&self) -> impl Iterator<Item = &LogLine> {
        (0..self.visible.len()).filter_map(|i| self.shown(i))
    }
}

/// Case-insensitive substring test (ASCII case folding, exact for the rest).
pub fn contains(text: &str, needle: &str) -> bool {
    !match_ranges(text, needle).is_empty()
}

/// Byte ranges of `needle` in `text`, ASCII case-insensitive.
pub fn match_ranges(text: &str, needle: &str) -> Vec<(usize, usize)> {
    if needle.is_empty() || needle.len() > text.len() {
        return Vec::new();
    }
    let hay = text.as_bytes();
    let pat = needle.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i + pat.len() <= hay.len() {
        if hay[i..i + pat.len()].eq_ignore_ascii_case(pat)
            && text.is_char_boundary(i)
            && text.is_char_boundary(i + pat.len())
        {
            out.push((i, i + pat.len()));
            i += pat.len();
        } else {
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(id: u32, seq: u64, stream: LogStream, text: &str) -> LogLine {
        LogLine {
            id,
            name: format!("p{id}"),
            stream,
            seq,
            at: 1000 + seq,
            text: text.into(),
        }
    }

    #[test]
    fn lines_of_several_hosts_are_seeded_in_time_order() {
        let mut b = LogBuffer::default();
        // Host one's lines (seeded first), then host two's, read in between.
        b.seed_by_time(vec![
            line(1, 1, LogStream::Out, "a1"),
            line(1, 3, LogStream::Out, "a3"),
        ]);
        let mut two = line(7, 1, LogStream::Out, "b2");
        two.at = 1002;
        b.seed_by_time(vec![two]);
        let texts: Vec<&str> = b.shown_lines().map(|l| l.text.as_str()).collect();
        assert_eq!(texts, ["a1", "b2", "a3"]);
    }

    #[test]
    fn duplicates_and_other_targets_are_dropped() {
        let mut b = LogBuffer::default();
        b.retarget(LogTarget::One(1));
        b.push(line(1, 1, LogStream::Out, "a"));
        b.push(line(1, 1, LogStream::Out, "a again"));
        b.push(line(2, 1, LogStream::Out, "other"));
        assert_eq!(b.len(), 1);
    }

    #[test]
    fn filter_and_stream_hide_lines_and_cursor_survives_eviction() {
        let mut b = LogBuffer::default();
        for i in 0..(CAPACITY as u64 + 10) {
            let stream = if i % 2 == 0 {
                LogStream::Out
            } else {
                LogStream::Err
            };
            b.push(line(1, i + 1, stream, &format!("line {i}")));
        }
        assert_eq!(b.total(), CAPACITY);
        b.set_stream(StreamFilter::Err);
        assert_eq!(b.len(), CAPACITY / 2);
        b.set_filter("LINE 1001");
        assert_eq!(b.len(), 1);
        assert_eq!(b.shown(0).map(|l| l.text.as_str()), Some("line 1001"));
    }

    #[test]
    fn search_wraps_around_and_pauses_follow() {
        let mut b = LogBuffer::default();
        for (i, t) in ["alpha", "beta", "alphabet", "gamma"].iter().enumerate() {
            b.push(line(1, i as u64 + 1, LogStream::Out, t));
        }
        b.search = "ALPHA".into();
        assert!(b.find(true));
        assert_eq!(b.selection()[0].text, "alpha");
        assert!(!b.follow);
        assert!(b.find(true));
        assert_eq!(b.selection()[0].text, "alphabet");
        assert!(b.find(false));
        assert_eq!(b.selection()[0].text, "alpha");
    }

    #[test]
    fn match_ranges_are_case_insensitive() {
        assert_eq!(match_ranges("Error: error", "ERROR"), vec![(0, 5), (7, 12)]);
        assert!(match_ranges("héllo", "É").is_empty());
    }
}
