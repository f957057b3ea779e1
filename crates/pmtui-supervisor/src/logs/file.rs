//! One log file on disk, shared by every sink that writes it (instances with `merge_logs`, a
//! combined `log_file`), so that rotation renames it once for all of them.
//!
//! Nothing here runs on the daemon's runtime thread: every call that touches the disk comes
//! from a sink's writer (a blocking task) or from `pmtui logs` reading history (another
//! blocking task). Two locks, for two jobs:
//! - `io` is held across the write itself (and opening, rotating, reopening). A write that
//!   blocks for ever (a FIFO nobody reads, a hung NFS mount) holds it for ever, so only the
//!   writers of this one file wait on it.
//! - `layout` (generations and which file holds which) is written only around renames and
//!   read by history while it opens the files, so what it reads is what it thinks it reads.
//!
//! The file is opened on the first write, not when the process is added: a process that
//! never writes to stderr costs no descriptor for it.
//!
//! Rotation is rename-based, never copy-and-truncate: when the next write would take the file
//! over `max_size`, `app-out.log` becomes `app-out.log.1` (older ones shift to `.2`…, the one
//! past `max_files` is deleted) and a fresh file is opened. Nothing written is ever in a file
//! that is being copied, so no line can fall between a copy and a truncate. With `compress`
//! the file is first renamed aside (`app-out.log.rotating.<gen>`) and a blocking task gzips
//! it and then shifts the old files and renames the result to `app-out.log.1.gz`; the write
//! path only renames.

use crate::purge::PurgeAt;
use std::collections::{HashMap, VecDeque};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard, Weak};

/// When a file rotates and what is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rotation {
    /// Rotate before a write that would take the file over this many bytes; 0 never rotates.
    pub max_size: u64,
    /// Rotated files kept besides the live one.
    pub max_files: u32,
    /// Gzip rotated files (in a blocking task, off the write path).
    pub compress: bool,
}

/// A log file: its name, its writer's state and its layout on disk.
#[derive(Debug)]
pub struct LogFile {
    path: PathBuf,
    rotation: Rotation,
    io: Mutex<Io>,
    layout: Arc<RwLock<Layout>>,
    /// Serializes the background compression of this file's rotations.
    compressing: Arc<Mutex<()>>,
    /// Why writes fail, while they do: apart from `io`, which a write blocked on a FIFO
    /// nobody reads holds, so that `ping` never waits for it.
    failure: Mutex<Option<String>>,
    /// How many files of its registry have a `failure` now (this one included while it
    /// has one).
    failing_files: Arc<AtomicUsize>,
}

/// The live file as the writer knows it.
#[derive(Debug, Default)]
struct Io {
    file: Option<File>,
    /// Bytes in the live file, as far as this daemon knows (`None` until looked at).
    size: Option<u64>,
    /// Bumped whenever the live file is replaced (rotation, reopen, flush), so a position
    /// (`generation`, `offset`) names one place in one file. A copy of `Layout::generation`
    /// that the write path reads without the layout lock.
    generation: u64,
    /// The last reopen and flush requests carried out, so that several sinks sharing this
    /// file act on one request once.
    reopened: u64,
    flushed: u64,
    /// Reported once per failure streak, not once per line.
    failing: bool,
    /// A FIFO, a terminal or `/dev/stdout` is written but never rotated (renaming it would
    /// take it from its reader).
    special: bool,
}

/// Which generation each file holds.
#[derive(Debug, Clone, Default)]
pub struct Layout {
    /// The generation of the live file.
    pub generation: u64,
    /// The generations rotated away, newest first: the ones still waiting for gzip as
    /// `.rotating.<gen>`, then `.1`, `.2`, … in order.
    pub rotated: VecDeque<u64>,
}

pub type SharedFile = Arc<LogFile>;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl LogFile {
    fn new(path: PathBuf, rotation: Rotation, failing_files: Arc<AtomicUsize>) -> Self {
        Self {
            path,
            rotation,
            io: Mutex::default(),
            layout: Arc::default(),
            compressing: Arc::default(),
            failure: Mutex::default(),
            failing_files,
        }
    }

    /// Why writes to this file fail, while they do.
    pub fn failure(&self) -> Option<String> {
        lock(&self.failure).clone()
    }

    /// Begins (`Some(why)`) or ends (`None`) a failure streak: the writer's flag, read on
    /// every write under the `io` lock it already holds, and the reason `failure` gives.
    fn set_failing(&self, io: &mut Io, why: Option<String>) {
        io.failing = why.is_some();
        let mut failure = lock(&self.failure);
        match (failure.is_some(), why.is_some()) {
            (false, true) => {
                self.failing_files.fetch_add(1, Ordering::Relaxed);
            }
            (true, false) => {
                self.failing_files.fetch_sub(1, Ordering::Relaxed);
            }
            _ => {}
        }
        *failure = why;
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn max_files(&self) -> u32 {
        self.rotation.max_files
    }

    /// Takes the writer's lock: blocks while another writer of this file is in a write.
    pub fn begin(&self) -> Writing<'_> {
        Writing {
            file: self,
            io: lock(&self.io),
        }
    }

    /// The layout, held still (no rename) while the guard lives.
    pub fn layout(&self) -> RwLockReadGuard<'_, Layout> {
        self.layout
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn layout_mut(&self) -> RwLockWriteGuard<'_, Layout> {
        write_layout(&self.layout)
    }

    fn spawn_compression(&self) {
        let path = self.path.clone();
        let keep = self.rotation.max_files as usize;
        let guard = Arc::clone(&self.compressing);
        let layout = Arc::clone(&self.layout);
        let job = move || {
            let _serial = lock(&guard);
            compress_pending(&path, keep, &layout);
        };
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => {
                handle.spawn_blocking(job);
            }
            Err(_) => {
                if let Err(err) = std::thread::Builder::new()
                    .name("pmtui-gzip".into())
                    .spawn(job)
                {
                    tracing::warn!(%err, "cannot start log compression");
                }
            }
        }
    }
}

fn write_layout(layout: &RwLock<Layout>) -> RwLockWriteGuard<'_, Layout> {
    layout
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The writer's hold on a file: everything that writes, renames or reopens goes through it.
pub struct Writing<'a> {
    file: &'a LogFile,
    io: MutexGuard<'a, Io>,
}

impl Writing<'_> {
    /// (generation, bytes) of the live file: the end of what has been written. Looks at the
    /// file (without opening it) the first time.
    pub fn position(&mut self) -> (u64, u64) {
        let size = match self.io.size {
            Some(size) => size,
            None => {
                let size = std::fs::metadata(&self.file.path).map_or(0, |m| m.len());
                self.io.size = Some(size);
                size
            }
        };
        (self.io.generation, size)
    }

    /// Appends `bytes`, rotating first when they would take the file over the limit.
    /// Returns the position where they start, or `None` if they could not be written.
    pub fn write(&mut self, bytes: &[u8]) -> Option<(u64, u64)> {
        let max = self.file.rotation.max_size;
        if max > 0 && !self.io.special {
            let (_, size) = self.position();
            if size > 0 && size + bytes.len() as u64 > max {
                self.rotate();
            }
        }
        if self.io.file.is_none() {
            self.open_live();
        }
        let start = self.position();
        let path = &self.file.path;
        let io = &mut *self.io;
        let file = io.file.as_mut()?;
        match file.write_all(bytes) {
            Ok(()) => {
                io.size = Some(start.1 + bytes.len() as u64);
                if io.failing {
                    tracing::info!(path = %path.display(), "log writes work again");
                    self.file.set_failing(io, None);
                }
                Some(start)
            }
            Err(err) => {
                if !io.failing {
                    tracing::warn!(path = %path.display(), %err, "log write failed");
                    self.file
                        .set_failing(io, Some(format!("writes fail: {err}")));
                }
                // A short write leaves the size unknown: look again next time.
                io.size = None;
                None
            }
        }
    }

    fn open_live(&mut self) {
        let path = &self.file.path;
        match open_append(path) {
            Ok(file) => {
                let meta = file.metadata().ok();
                self.io.size = Some(meta.as_ref().map_or(0, |m| m.len()));
                self.io.special = !meta.is_some_and(|m| m.is_file());
                self.io.file = Some(file);
            }
            Err(err) => {
                if !self.io.failing {
                    tracing::warn!(path = %path.display(), %err, "cannot open log file");
                    self.file
                        .set_failing(&mut self.io, Some(format!("cannot open it: {err}")));
                }
                self.io.file = None;
                self.io.size = None;
            }
        }
    }

    /// Moves the live file aside and starts a new generation (opened by the next write).
    pub fn rotate(&mut self) {
        self.io.file = None;
        self.io.size = Some(0);
        let path = &self.file.path;
        let keep = self.file.rotation.max_files as usize;
        let compress = self.file.rotation.compress && keep > 0;
        {
            let mut layout = self.file.layout_mut();
            let rotated = layout.generation;
            let renamed = if keep == 0 {
                let _ = std::fs::remove_file(path);
                false
            } else if compress {
                rename_or_warn(path, &pending_path(path, rotated))
            } else {
                shift(path, keep);
                rename_or_warn(path, &numbered(path, 1, false))
            };
            if renamed {
                layout.rotated.push_front(rotated);
                layout.rotated.truncate(keep);
            } else {
                // Whatever is at `path` now (nothing, or the old file) starts over.
                self.io.size = None;
            }
            layout.generation += 1;
            self.io.generation = layout.generation;
        }
        if compress {
            self.file.spawn_compression();
        }
    }

    /// Reopens the file by name (after an external rotation renamed it), once per request
    /// `epoch` whichever of its sinks asks first.
    pub fn reopen(&mut self, epoch: u64) {
        if self.io.reopened >= epoch {
            return;
        }
        self.io.reopened = epoch;
        self.io.file = None;
        self.io.size = None;
        let mut layout = self.file.layout_mut();
        layout.generation += 1;
        self.io.generation = layout.generation;
        drop(layout);
        self.open_live();
    }

    /// Empties the live file and deletes the rotated ones, once per request `epoch`.
    pub fn truncate(&mut self, epoch: u64) {
        if self.io.flushed >= epoch {
            return;
        }
        self.io.flushed = epoch;
        self.io.file = None;
        self.io.size = None;
        let path = &self.file.path;
        let mut layout = self.file.layout_mut();
        // Only a regular file: opening a FIFO for writing would wait for a reader.
        if std::fs::symlink_metadata(path).is_ok_and(|m| m.is_file())
            && let Err(err) = OpenOptions::new().write(true).truncate(true).open(path)
        {
            tracing::warn!(path = %path.display(), %err, "cannot empty log file");
        }
        for k in 1..=self.file.rotation.max_files as usize + 1 {
            for gz in [false, true] {
                let _ = std::fs::remove_file(numbered(path, k, gz));
            }
        }
        for (_, aside) in pending_files(path) {
            let _ = std::fs::remove_file(aside);
        }
        layout.rotated.clear();
        layout.generation += 1;
        self.io.generation = layout.generation;
    }
}

fn rename_or_warn(from: &Path, to: &Path) -> bool {
    match std::fs::rename(from, to) {
        Ok(()) => true,
        Err(err) => {
            if err.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(path = %from.display(), %err, "cannot rotate log file");
            }
            false
        }
    }
}

/// `path.k` or `path.k.gz`.
pub fn numbered(path: &Path, k: usize, gz: bool) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{k}"));
    if gz {
        name.push(".gz");
    }
    PathBuf::from(name)
}

fn pending_path(path: &Path, generation: u64) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".rotating.{generation}"));
    PathBuf::from(name)
}

/// Files renamed aside and not yet compressed, newest first.
pub fn pending_files(path: &Path) -> Vec<(u64, PathBuf)> {
    let (Some(dir), Some(base)) = (path.parent(), path.file_name()) else {
        return Vec::new();
    };
    let prefix = format!("{}.rotating.", base.to_string_lossy());
    let mut found: Vec<(u64, PathBuf)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name();
            let generation = name.to_str()?.strip_prefix(&prefix)?.parse().ok()?;
            Some((generation, entry.path()))
        })
        .collect();
    found.sort_by_key(|f| std::cmp::Reverse(f.0));
    found
}

/// Makes room for a new `.1`: deletes the last kept file and renames `.k` to `.k+1`.
fn shift(path: &Path, keep: usize) {
    for gz in [false, true] {
        let _ = std::fs::remove_file(numbered(path, keep, gz));
    }
    for k in (1..keep).rev() {
        for gz in [false, true] {
            let from = numbered(path, k, gz);
            if from.exists() {
                let _ = std::fs::rename(&from, numbered(path, k + 1, gz));
            }
        }
    }
}

/// Turns every file renamed aside into `.1.gz`, oldest first, shifting the others. The gzip
/// runs without the layout lock; only the renames that follow hold it.
fn compress_pending(path: &Path, keep: usize, layout: &RwLock<Layout>) {
    let mut pending = pending_files(path);
    pending.reverse();
    for (_, aside) in pending {
        let target = numbered(path, 1, true);
        let tmp = {
            let mut tmp = target.as_os_str().to_owned();
            tmp.push(".tmp");
            PathBuf::from(tmp)
        };
        let zipped = gzip(&aside, &tmp);
        let _renames = write_layout(layout);
        if !aside.exists() {
            // Flushed meanwhile.
            let _ = std::fs::remove_file(&tmp);
            continue;
        }
        shift(path, keep);
        match zipped.and_then(|()| std::fs::rename(&tmp, &target)) {
            Ok(()) => {
                let _ = std::fs::remove_file(&aside);
            }
            Err(err) => {
                tracing::warn!(path = %aside.display(), %err, "cannot compress rotated log; kept uncompressed");
                let _ = std::fs::remove_file(&tmp);
                let _ = std::fs::rename(&aside, numbered(path, 1, false));
            }
        }
    }
}

fn gzip(from: &Path, to: &Path) -> std::io::Result<()> {
    let mut input = File::open(from)?;
    let output = File::create(to)?;
    let mut encoder = flate2::write::GzEncoder::new(output, flate2::Compression::default());
    std::io::copy(&mut input, &mut encoder)?;
    encoder.finish()?.sync_all()
}

/// Opens for appending without ever blocking in `open` (a FIFO with no reader fails at
/// once instead of waiting), then makes writes blocking again so that a slow reader pushes
/// back.
fn open_append(path: &Path) -> std::io::Result<File> {
    use nix::fcntl::{FcntlArg, OFlag, fcntl};
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .custom_flags(OFlag::O_NONBLOCK.bits())
        .open(path)?;
    let flags = fcntl(&file, FcntlArg::F_GETFL).map_err(std::io::Error::from)?;
    let blocking = OFlag::from_bits_truncate(flags) - OFlag::O_NONBLOCK;
    fcntl(&file, FcntlArg::F_SETFL(blocking)).map_err(std::io::Error::from)?;
    Ok(file)
}

/// Opens a regular file for reading, never blocking (a FIFO put in its place is skipped).
pub fn open_regular(path: &Path) -> Option<File> {
    use nix::fcntl::OFlag;
    use std::os::unix::fs::OpenOptionsExt;
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(OFlag::O_NONBLOCK.bits())
        .open(path)
        .ok()?;
    file.metadata().ok()?.is_file().then_some(file)
}

impl Drop for LogFile {
    fn drop(&mut self) {
        let failing = match self.failure.get_mut() {
            Ok(failure) => failure.is_some(),
            Err(poisoned) => poisoned.into_inner().is_some(),
        };
        if failing {
            self.failing_files.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// The log files of a supervisor, by path, so that sinks writing the same file share it.
/// Getting one is bookkeeping only: nothing is opened until the first write.
#[derive(Debug, Default)]
pub struct FileRegistry {
    files: Mutex<Files>,
    /// How many of the files have a `failure` now: `failing` (asked at every `ls`) looks at
    /// each file only while some do. At 1,000 processes it looked up 2,000 files for
    /// nothing, a sixth of the daemon's work for `ls --json`.
    failing_files: Arc<AtomicUsize>,
}

#[derive(Debug, Default)]
struct Files {
    by_path: HashMap<PathBuf, Weak<LogFile>>,
    /// When the files no sink writes any more are forgotten.
    purge_at: PurgeAt,
}

impl FileRegistry {
    /// The shared file at `path`; `None` for `/dev/null` (the stream is not written).
    pub fn get(&self, path: &Path, rotation: Rotation) -> Option<SharedFile> {
        if path == Path::new("/dev/null") || path.as_os_str().is_empty() {
            return None;
        }
        let mut guard = lock(&self.files);
        let files = &mut *guard;
        let by_path = &mut files.by_path;
        files.purge_at.check(by_path.len(), || {
            by_path.retain(|_, weak| weak.strong_count() > 0);
            by_path.len()
        });
        if let Some(file) = files.by_path.get(path).and_then(Weak::upgrade) {
            return Some(file);
        }
        let file = Arc::new(LogFile::new(
            path.to_path_buf(),
            rotation,
            Arc::clone(&self.failing_files),
        ));
        files
            .by_path
            .insert(path.to_path_buf(), Arc::downgrade(&file));
        Some(file)
    }

    /// The files whose writes fail now, with why, in path order.
    pub fn failing(&self) -> Vec<(PathBuf, String)> {
        if self.failing_files.load(Ordering::Relaxed) == 0 {
            return Vec::new();
        }
        let mut failing: Vec<(PathBuf, String)> = lock(&self.files)
            .by_path
            .iter()
            .filter_map(|(path, weak)| Some((path.clone(), weak.upgrade()?.failure()?)))
            .collect();
        failing.sort();
        failing
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file that never rotates.
    const UNROTATED: Rotation = Rotation {
        max_size: 0,
        max_files: 1,
        compress: false,
    };

    fn read(path: &Path) -> String {
        std::fs::read_to_string(path).unwrap_or_default()
    }

    #[test]
    fn failing_files_are_counted_while_they_fail_and_until_dropped() {
        let dir = tempfile::tempdir().expect("temp dir");
        // A regular file where the log's directory should be: opening the log fails.
        let blocker = dir.path().join("blocker");
        std::fs::write(&blocker, "").expect("blocker");
        let registry = FileRegistry::default();
        let rotation = UNROTATED;
        let healthy = registry
            .get(&dir.path().join("ok.log"), rotation)
            .expect("a file");
        healthy.begin().write(b"fine\n");
        assert_eq!(registry.failing(), []);
        let broken_path = blocker.join("x.log");
        let broken = registry.get(&broken_path, rotation).expect("a file");
        broken.begin().write(b"lost\n");
        broken.begin().write(b"lost again\n");
        let failing = registry.failing();
        assert_eq!(failing.len(), 1, "{failing:?}");
        assert_eq!(failing[0].0, broken_path);
        assert_eq!(registry.failing_files.load(Ordering::Relaxed), 1);
        // The directory appears: the next write works and the streak ends.
        std::fs::remove_file(&blocker).expect("remove blocker");
        std::fs::create_dir(&blocker).expect("create dir");
        broken.begin().write(b"landed\n");
        assert_eq!(registry.failing(), []);
        assert_eq!(registry.failing_files.load(Ordering::Relaxed), 0);
        // A file dropped while it fails is not counted any more.
        let other = registry
            .get(&dir.path().join("blocker2/y.log"), rotation)
            .expect("a file");
        std::fs::write(dir.path().join("blocker2"), "").expect("blocker2");
        other.begin().write(b"lost\n");
        assert_eq!(registry.failing_files.load(Ordering::Relaxed), 1);
        drop(other);
        assert_eq!(registry.failing_files.load(Ordering::Relaxed), 0);
        assert_eq!(registry.failing(), []);
    }

    #[test]
    fn files_no_sink_writes_are_forgotten_in_amortized_time() {
        let dir = tempfile::tempdir().expect("temp dir");
        let registry = FileRegistry::default();
        let rotation = UNROTATED;
        let kept = registry
            .get(&dir.path().join("kept.log"), rotation)
            .expect("a file");
        for i in 0..1000 {
            let file = registry.get(&dir.path().join(format!("{i}.log")), rotation);
            drop(file);
            let files = lock(&registry.files);
            assert!(
                files.by_path.len() <= PurgeAt::AT_LEAST.max(2 * 2),
                "{} entries kept after {i} short-lived files",
                files.by_path.len()
            );
        }
        let again = registry
            .get(&dir.path().join("kept.log"), rotation)
            .expect("a file");
        assert!(
            Arc::ptr_eq(&kept, &again),
            "a live file is shared, never forgotten"
        );
    }

    #[test]
    fn rotation_renames_and_keeps_max_files() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("a-out.log");
        let registry = FileRegistry::default();
        let rotation = Rotation {
            max_size: 10,
            max_files: 2,
            compress: false,
        };
        let file = registry.get(&path, rotation).expect("a file");
        assert!(!path.exists(), "nothing is opened before the first write");
        for text in ["one\n", "two two\n", "three\n", "four\n"] {
            file.begin().write(text.as_bytes());
        }
        assert_eq!(read(&path), "four\n");
        assert_eq!(read(&numbered(&path, 1, false)), "three\n");
        assert_eq!(read(&numbered(&path, 2, false)), "two two\n");
        assert!(!numbered(&path, 3, false).exists());
        let layout = file.layout();
        assert_eq!(layout.generation, 3);
        assert_eq!(Vec::from(layout.rotated.clone()), [2, 1]);
    }

    #[test]
    fn compressed_rotation_ends_in_gz_files() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("b-out.log");
        let registry = FileRegistry::default();
        let rotation = Rotation {
            max_size: 8,
            max_files: 3,
            compress: true,
        };
        let file = registry.get(&path, rotation).expect("a file");
        for text in ["first\n", "second\n", "third\n"] {
            file.begin().write(text.as_bytes());
        }
        let gz = numbered(&path, 1, true);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while !(gz.exists() && numbered(&path, 2, true).exists() && pending_files(&path).is_empty())
        {
            assert!(std::time::Instant::now() < deadline, "no .gz appeared");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let mut text = String::new();
        std::io::Read::read_to_string(
            &mut flate2::read::GzDecoder::new(File::open(&gz).expect("open gz")),
            &mut text,
        )
        .expect("valid gzip");
        assert_eq!(text, "second\n");
        assert_eq!(read(&path), "third\n");
    }

    #[test]
    fn dev_null_is_not_a_file_and_same_paths_share() {
        let dir = tempfile::tempdir().expect("temp dir");
        let registry = FileRegistry::default();
        let rotation = Rotation {
            max_size: 0,
            max_files: 1,
            compress: false,
        };
        assert!(registry.get(Path::new("/dev/null"), rotation).is_none());
        let path = dir.path().join("c.log");
        let a = registry.get(&path, rotation).expect("a file");
        let b = registry.get(&path, rotation).expect("a file");
        assert!(Arc::ptr_eq(&a, &b));
    }

    #[test]
    fn a_fifo_without_reader_never_blocks_is_never_rotated_and_a_reader_gets_writes() {
        use std::io::Read;
        use std::os::unix::fs::OpenOptionsExt;
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("pipe.log");
        nix::unistd::mkfifo(&path, nix::sys::stat::Mode::from_bits_truncate(0o600))
            .expect("mkfifo");
        let registry = FileRegistry::default();
        let rotation = Rotation {
            max_size: 10,
            max_files: 1,
            compress: false,
        };
        let file = registry.get(&path, rotation).expect("a file");
        assert_eq!(file.begin().write(b"nobody reads this\n"), None);
        let mut reader = OpenOptions::new()
            .read(true)
            .custom_flags(nix::fcntl::OFlag::O_NONBLOCK.bits())
            .open(&path)
            .expect("open for reading");
        file.begin().write(b"now someone does\n");
        file.begin().write(b"and more\n");
        let mut got = String::new();
        let _ = reader.read_to_string(&mut got);
        assert_eq!(got, "now someone does\nand more\n");
        assert!(!numbered(&path, 1, false).exists(), "a FIFO is not rotated");
    }
}
