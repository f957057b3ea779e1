//! One log file on disk, shared by every sink that writes it (instances with `merge_logs`, a
//! combined `log_file`), so that rotation renames it once for all of them.
//!
//! Rotation is rename-based, never copy-and-truncate: when the next write would take the file
//! over `max_size`, `app-out.log` becomes `app-out.log.1` (older ones shift to `.2`…, the one
//! past `max_files` is deleted) and a fresh file is opened. Nothing written is ever in a file
//! that is being copied, so no line can fall between a copy and a truncate. With `compress`
//! the file is first renamed aside (`app-out.log.rotating.<gen>`) and a blocking task shifts
//! the old files and gzips it into `app-out.log.1.gz`; the write path only renames.

use std::collections::{HashMap, VecDeque};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

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

/// A file and where the writes stand.
#[derive(Debug)]
pub struct LogFile {
    path: PathBuf,
    file: Option<File>,
    /// Bytes in the live file, as far as this daemon knows.
    size: u64,
    /// Bumped whenever the live file is replaced (rotation, reopen, flush), so a position
    /// (`generation`, `offset`) names one place in one file.
    generation: u64,
    /// The generations now in `.1`, `.2`, … (front = `.1`), for matching lines read back.
    rotated: VecDeque<u64>,
    rotation: Rotation,
    /// Serializes the background compression of this file's rotations.
    compressing: Arc<Mutex<()>>,
    /// Reported once per failure streak, not once per line.
    failing: bool,
}

pub type SharedFile = Arc<Mutex<LogFile>>;

pub fn lock(file: &SharedFile) -> MutexGuard<'_, LogFile> {
    file.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl LogFile {
    fn open(path: PathBuf, rotation: Rotation) -> Self {
        let mut file = Self {
            path,
            file: None,
            size: 0,
            generation: 0,
            rotated: VecDeque::new(),
            rotation,
            compressing: Arc::default(),
            failing: false,
        };
        file.open_live();
        file
    }

    fn open_live(&mut self) {
        match open_append(&self.path) {
            Ok(file) => {
                self.size = file.metadata().map(|m| m.len()).unwrap_or(0);
                self.file = Some(file);
            }
            Err(err) => {
                if !self.failing {
                    tracing::warn!(path = %self.path.display(), %err, "cannot open log file");
                    self.failing = true;
                }
                self.file = None;
                self.size = 0;
            }
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// (generation, bytes) of the live file: the end of what has been written.
    pub fn position(&self) -> (u64, u64) {
        (self.generation, self.size)
    }

    /// The generation held by rotated file `.k` (1-based), if this daemon rotated it.
    pub fn rotated_generation(&self, k: usize) -> Option<u64> {
        self.rotated.get(k.checked_sub(1)?).copied()
    }

    pub fn max_files(&self) -> u32 {
        self.rotation.max_files
    }

    /// Appends `bytes`, rotating first when they would take the file over the limit.
    /// Returns the position where they start.
    pub fn write(&mut self, bytes: &[u8]) -> (u64, u64) {
        if self.rotation.max_size > 0
            && self.size > 0
            && self.size + bytes.len() as u64 > self.rotation.max_size
        {
            self.rotate();
        }
        if self.file.is_none() {
            self.open_live();
        }
        let start = (self.generation, self.size);
        if let Some(file) = &mut self.file {
            match file.write_all(bytes) {
                Ok(()) => {
                    self.size += bytes.len() as u64;
                    if self.failing {
                        tracing::info!(path = %self.path.display(), "log writes work again");
                        self.failing = false;
                    }
                }
                Err(err) => {
                    if !self.failing {
                        tracing::warn!(path = %self.path.display(), %err, "log write failed");
                        self.failing = true;
                    }
                }
            }
        }
        start
    }

    /// Moves the live file aside and opens a new one.
    pub fn rotate(&mut self) {
        self.file = None;
        let gen_rotated = self.generation;
        self.generation += 1;
        let keep = self.rotation.max_files as usize;
        if keep == 0 {
            let _ = std::fs::remove_file(&self.path);
        } else if self.rotation.compress {
            let aside = pending_path(&self.path, gen_rotated);
            if let Err(err) = std::fs::rename(&self.path, &aside) {
                tracing::warn!(path = %self.path.display(), %err, "cannot rotate log file");
            } else {
                self.spawn_compression();
            }
        } else {
            shift(&self.path, keep);
            if let Err(err) = std::fs::rename(&self.path, numbered(&self.path, 1, false)) {
                tracing::warn!(path = %self.path.display(), %err, "cannot rotate log file");
            }
        }
        if keep > 0 {
            self.rotated.push_front(gen_rotated);
            self.rotated.truncate(keep);
        }
        self.open_live();
    }

    fn spawn_compression(&self) {
        let path = self.path.clone();
        let keep = self.rotation.max_files as usize;
        let guard = Arc::clone(&self.compressing);
        let job = move || {
            let _serial = guard.lock().unwrap_or_else(|p| p.into_inner());
            compress_pending(&path, keep);
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

    /// Reopens the file by name (after an external rotation renamed it).
    pub fn reopen(&mut self) {
        self.file = None;
        self.generation += 1;
        self.open_live();
    }

    /// Empties the live file and deletes the rotated ones.
    pub fn truncate(&mut self) {
        self.file = None;
        self.generation += 1;
        if let Err(err) = File::create(&self.path) {
            tracing::warn!(path = %self.path.display(), %err, "cannot empty log file");
        }
        for k in 1..=self.rotation.max_files as usize + 1 {
            for gz in [false, true] {
                let _ = std::fs::remove_file(numbered(&self.path, k, gz));
            }
        }
        for (_, aside) in pending_files(&self.path) {
            let _ = std::fs::remove_file(aside);
        }
        self.rotated.clear();
        self.open_live();
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

/// Turns every file renamed aside into `.1.gz`, oldest first, shifting the others.
fn compress_pending(path: &Path, keep: usize) {
    let mut pending = pending_files(path);
    pending.reverse();
    for (_, aside) in pending {
        shift(path, keep);
        let target = numbered(path, 1, true);
        match gzip(&aside, &target) {
            Ok(()) => {
                let _ = std::fs::remove_file(&aside);
            }
            Err(err) => {
                tracing::warn!(path = %aside.display(), %err, "cannot compress rotated log; kept uncompressed");
                let _ = std::fs::rename(&aside, numbered(path, 1, false));
            }
        }
    }
}

fn gzip(from: &Path, to: &Path) -> std::io::Result<()> {
    let mut tmp = to.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut input = File::open(from)?;
    let output = File::create(&tmp)?;
    let mut encoder = flate2::write::GzEncoder::new(output, flate2::Compression::default());
    std::io::copy(&mut input, &mut encoder)?;
    encoder.finish()?.sync_all()?;
    std::fs::rename(&tmp, to)
}

/// Opens for appending without ever blocking in `open` (a FIFO with no reader fails at
/// once instead of hanging the daemon), then makes writes blocking again so that a slow
/// reader pushes back.
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

/// The open files of a supervisor, by path, so that sinks writing the same file share it.
#[derive(Debug, Default)]
pub struct FileRegistry {
    files: Mutex<HashMap<PathBuf, Weak<Mutex<LogFile>>>>,
}

impl FileRegistry {
    /// The shared file at `path`; `None` for `/dev/null` (the stream is not written).
    pub fn get(&self, path: &Path, rotation: Rotation) -> Option<SharedFile> {
        if path == Path::new("/dev/null") || path.as_os_str().is_empty() {
            return None;
        }
        let mut files = self.files.lock().unwrap_or_else(|p| p.into_inner());
        files.retain(|_, weak| weak.strong_count() > 0);
        if let Some(file) = files.get(path).and_then(Weak::upgrade) {
            return Some(file);
        }
        let file = Arc::new(Mutex::new(LogFile::open(path.to_path_buf(), rotation)));
        files.insert(path.to_path_buf(), Arc::downgrade(&file));
        Some(file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(path: &Path) -> String {
        std::fs::read_to_string(path).unwrap_or_default()
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
        for text in ["one\n", "two two\n", "three\n", "four\n"] {
            lock(&file).write(text.as_bytes());
        }
        assert_eq!(read(&path), "four\n");
        assert_eq!(read(&numbered(&path, 1, false)), "three\n");
        assert_eq!(read(&numbered(&path, 2, false)), "two two\n");
        assert!(!numbered(&path, 3, false).exists());
        assert_eq!(lock(&file).rotated_generation(1), Some(2));
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
            lock(&file).write(text.as_bytes());
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
    fn a_fifo_without_reader_never_blocks_and_a_reader_gets_blocking_writes() {
        use std::io::Read;
        use std::os::unix::fs::OpenOptionsExt;
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("pipe.log");
        nix::unistd::mkfifo(&path, nix::sys::stat::Mode::from_bits_truncate(0o600))
            .expect("mkfifo");
        let registry = FileRegistry::default();
        let rotation = Rotation {
            max_size: 0,
            max_files: 1,
            compress: false,
        };
        let file = registry.get(&path, rotation).expect("a file");
        lock(&file).write(b"nobody reads this\n");
        let mut reader = OpenOptions::new()
            .read(true)
            .custom_flags(nix::fcntl::OFlag::O_NONBLOCK.bits())
            .open(&path)
            .expect("open for reading");
        lock(&file).write(b"now someone does\n");
        let mut got = String::new();
        let _ = reader.read_to_string(&mut got);
        assert_eq!(got, "now someone does\n");
    }
}
