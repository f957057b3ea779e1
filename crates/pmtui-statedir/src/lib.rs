//! The state directory's rules, shared by the daemon and the client.
//!
//! - **Trust only the owner** (like ssh's StrictModes): the directory must belong to the
//!   effective user and must not be writable by its group or by others; whoever can write
//!   it decides what the daemon runs. pmtui creates it with mode 0700; an existing 0755 one
//!   is accepted.
//! - **No symbolic links**: the directory is opened once and checked on that descriptor;
//!   every file in it is then opened relative to it with `O_NOFOLLOW`, so a link planted in
//!   place of `daemon.log` or `daemon.pid` cannot send a write elsewhere.
//! - **Private**: files are created 0600, folders 0700.
//! - **Durable**: [`Dir::write_durable`] writes a fresh temp file (`O_EXCL`), fsyncs it,
//!   renames it over the target and fsyncs the directory, so a reader (or the next daemon
//!   after a crash or a power loss) sees the old content or the new, never half, and a
//!   caller told "done" can rely on it. Leftover temp files (a crash between create and
//!   rename) are removed by [`Dir::remove_temps`].

mod error;

pub use error::StateError;

use nix::errno::Errno;
use nix::fcntl::{OFlag, openat, renameat};
use nix::sys::stat::{Mode, fstat, mkdirat};
use nix::unistd::{UnlinkatFlags, unlinkat};
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Prefix of temp files: short and independent of the target's name, so that a target
/// name near the 255-byte limit does not make its temp name too long.
pub const TEMP_PREFIX: &str = ".tmp-";

/// A checked directory, held open: everything in it is reached through this descriptor.
#[derive(Debug)]
pub struct Dir {
    path: PathBuf,
    fd: OwnedFd,
}

fn dir_flags() -> OFlag {
    OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC
}

fn file_mode() -> Mode {
    Mode::from_bits_truncate(0o600)
}

fn dir_mode() -> Mode {
    Mode::from_bits_truncate(0o700)
}

/// Refuses a directory that another user owns or could write.
fn check(path: &Path, fd: &OwnedFd) -> Result<(), StateError> {
    let stat = fstat(fd).map_err(|e| StateError::io("inspect", path.to_path_buf(), e))?;
    if stat.st_mode & libc_s_ifmt() != libc_s_ifdir() {
        return Err(StateError::NotDir {
            path: path.to_path_buf(),
        });
    }
    let me = nix::unistd::geteuid().as_raw();
    if stat.st_uid != me {
        return Err(StateError::NotOwner {
            path: path.to_path_buf(),
            owner: stat.st_uid,
            me,
        });
    }
    let mode = stat.st_mode & 0o7777;
    let who = match (mode & 0o020 != 0, mode & 0o002 != 0) {
        (true, true) => Some("its group and by everyone"),
        (true, false) => Some("its group"),
        (false, true) => Some("everyone"),
        (false, false) => None,
    };
    match who {
        Some(who) => Err(StateError::Writable {
            path: path.to_path_buf(),
            who,
            mode,
        }),
        None => Ok(()),
    }
}

fn libc_s_ifmt() -> u32 {
    0o170000
}

fn libc_s_ifdir() -> u32 {
    0o040000
}

/// Whether `name` is one plain component (no separator, not `.` or `..`).
fn single(name: &str) -> std::io::Result<&str> {
    if name.is_empty() || name == "." || name == ".." || name.contains('/') || name.contains('\0') {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{name:?} is not a plain file name"),
        ));
    }
    Ok(name)
}

impl Dir {
    /// Opens the state directory `path` and checks it; with `create`, a missing one is
    /// created (its parents as usual, itself with mode 0700).
    pub fn home(path: &Path, create: bool) -> Result<Self, StateError> {
        if create {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent)
                    .map_err(|e| StateError::io("create", path.to_path_buf(), e))?;
            }
            match nix::unistd::mkdir(path, dir_mode()) {
                Ok(()) | Err(Errno::EEXIST) => {}
                Err(e) => return Err(StateError::io("create", path.to_path_buf(), e)),
            }
        }
        // The home itself may be a link (to another disk, say); it is checked as opened.
        let fd = nix::fcntl::open(path, dir_flags(), Mode::empty()).map_err(|e| match e {
            Errno::ENOTDIR => StateError::NotDir {
                path: path.to_path_buf(),
            },
            e => StateError::io("open", path.to_path_buf(), e),
        })?;
        check(path, &fd)?;
        Ok(Self {
            path: path.to_path_buf(),
            fd,
        })
    }

    /// The subfolder `name` (created 0700 when missing), opened without following a link
    /// and checked like the home.
    pub fn sub(&self, name: &str) -> Result<Self, StateError> {
        let path = self.path.join(name);
        let name = single(name).map_err(|e| StateError::io("open", path.clone(), e))?;
        match mkdirat(&self.fd, name, dir_mode()) {
            Ok(()) | Err(Errno::EEXIST) => {}
            Err(e) => return Err(StateError::io("create", path, e)),
        }
        let fd = openat(
            &self.fd,
            name,
            dir_flags() | OFlag::O_NOFOLLOW,
            Mode::empty(),
        )
        .map_err(|e| match e {
            // With O_DIRECTORY, Linux reports a link as "not a directory".
            Errno::ELOOP | Errno::ENOTDIR if self.is_link(name) => {
                StateError::Symlink { path: path.clone() }
            }
            Errno::ENOTDIR => StateError::NotDir { path: path.clone() },
            e => StateError::io("open", path.clone(), e),
        })?;
        check(&path, &fd)?;
        Ok(Self { path, fd })
    }

    fn is_link(&self, name: &str) -> bool {
        self.metadata(name)
            .is_ok_and(|s| s.st_mode & libc_s_ifmt() == 0o120000)
    }

    /// The directory's path (for messages, and for what must be reached by path, such as
    /// the socket).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The path of `name` in this directory, for messages.
    pub fn join(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    fn open(&self, name: &str, flags: OFlag) -> std::io::Result<File> {
        let name = single(name)?;
        let fd = openat(
            &self.fd,
            name,
            flags | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            file_mode(),
        )
        .map_err(|e| self.link_error(name, e))?;
        Ok(File::from(fd))
    }

    /// `ELOOP` from `O_NOFOLLOW` means a link: say so rather than "too many levels".
    fn link_error(&self, name: &str, e: Errno) -> std::io::Error {
        if e == Errno::ELOOP {
            std::io::Error::other(StateError::Symlink {
                path: self.join(name),
            })
        } else {
            e.into()
        }
    }

    /// Opens `name` for reading.
    pub fn open_read(&self, name: &str) -> std::io::Result<File> {
        self.open(name, OFlag::O_RDONLY)
    }

    /// Reads all of `name`.
    pub fn read(&self, name: &str) -> std::io::Result<Vec<u8>> {
        let mut bytes = Vec::new();
        self.open_read(name)?.read_to_end(&mut bytes)?;
        Ok(bytes)
    }

    /// Opens `name` for appending, creating it (0600) when missing.
    pub fn open_append(&self, name: &str) -> std::io::Result<File> {
        self.open(name, OFlag::O_WRONLY | OFlag::O_APPEND | OFlag::O_CREAT)
    }

    /// Opens `name` for reading and writing, creating it (0600) when missing, keeping its
    /// content.
    pub fn open_rw(&self, name: &str) -> std::io::Result<File> {
        self.open(name, OFlag::O_RDWR | OFlag::O_CREAT)
    }

    /// Metadata of `name` itself (a link is not followed).
    pub fn metadata(&self, name: &str) -> std::io::Result<nix::sys::stat::FileStat> {
        let name = single(name)?;
        nix::sys::stat::fstatat(&self.fd, name, nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW)
            .map_err(Into::into)
    }

    /// A new temp file in this directory, created exclusively.
    fn temp(&self) -> std::io::Result<(String, File)> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        loop {
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let name = format!("{TEMP_PREFIX}{}-{n}", std::process::id());
            match self.open(&name, OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL) {
                Ok(file) => return Ok((name, file)),
                // One left by an earlier process with our pid: take the next number.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Replaces `name` with `bytes` so that it holds the old content or the new, never
    /// half; with `durable`, the new content is on disk (file and directory fsynced) when
    /// this returns. On failure the temp file is removed and `name` is untouched.
    pub fn write_replace(&self, name: &str, bytes: &[u8], durable: bool) -> std::io::Result<()> {
        self.replace(name, bytes, durable)?;
        if durable {
            self.sync()?;
        }
        Ok(())
    }

    /// Like a durable [`Dir::write_replace`], but the directory is not fsynced: for a batch
    /// of files, followed by one [`Dir::sync`].
    pub fn write_synced_file(&self, name: &str, bytes: &[u8]) -> std::io::Result<()> {
        self.replace(name, bytes, true)
    }

    /// [`Dir::write_synced_file`] for content written piece by piece: `write` writes it
    /// through a buffer of [`STREAM_BUFFER`] bytes (so a large file is never held whole in
    /// memory) and says whether to keep it. Kept, the file is fsynced and renamed over
    /// `name` and the result is `Ok(true)`; not kept, `name` is untouched and the result is
    /// `Ok(false)`. The temp file is created only once the content outgrows the buffer or
    /// is kept: content that fits and is not kept (a rewrite that changes nothing) costs
    /// no file at all. Creating a file is the dear part of a write on a file system that
    /// scans recently deleted inodes (journal-less ext4), far dearer than its bytes.
    pub fn write_synced_with(
        &self,
        name: &str,
        write: impl FnOnce(&mut dyn Write) -> std::io::Result<bool>,
    ) -> std::io::Result<bool> {
        let name = single(name)?;
        let mut out = LazyTemp {
            dir: self,
            buffer: Vec::new(),
            temp: None,
        };
        let result = write(&mut out).and_then(|keep| {
            if !keep {
                return Ok(false);
            }
            if out.temp.is_none() {
                out.temp = Some(self.temp()?);
            }
            if let Some((_, file)) = out.temp.as_mut() {
                file.write_all(&out.buffer)?;
                file.sync_all()?;
            }
            if let Some((tmp, file)) = out.temp.take() {
                drop(file);
                if let Err(err) = renameat(&self.fd, tmp.as_str(), &self.fd, name) {
                    let _ = unlinkat(&self.fd, tmp.as_str(), UnlinkatFlags::NoRemoveDir);
                    return Err(err.into());
                }
            }
            Ok(true)
        });
        if let Some((tmp, _)) = out.temp.take() {
            let _ = unlinkat(&self.fd, tmp.as_str(), UnlinkatFlags::NoRemoveDir);
        }
        result
    }

    fn replace(&self, name: &str, bytes: &[u8], sync_file: bool) -> std::io::Result<()> {
        let name = single(name)?;
        let (tmp, mut file) = self.temp()?;
        let result = file
            .write_all(bytes)
            .and_then(|()| if sync_file { file.sync_all() } else { Ok(()) })
            .and_then(|()| {
                drop(file);
                renameat(&self.fd, tmp.as_str(), &self.fd, name).map_err(Into::into)
            });
        if let Err(err) = result {
            let _ = unlinkat(&self.fd, tmp.as_str(), UnlinkatFlags::NoRemoveDir);
            return Err(err);
        }
        Ok(())
    }

    /// Writes `bytes` into `name` in place (created 0600 when missing, else overwritten,
    /// see [`overwrite`]): no temp file and no rename, so rewriting a file that exists
    /// creates no new inode. For informative files only (pid files, which pm2 too writes
    /// in place), never for state.
    pub fn write_in_place(&self, name: &str, bytes: &[u8]) -> std::io::Result<()> {
        overwrite(&self.open(name, OFlag::O_WRONLY | OFlag::O_CREAT)?, bytes)
    }

    /// [`Dir::write_replace`], durable.
    pub fn write_durable(&self, name: &str, bytes: &[u8]) -> std::io::Result<()> {
        self.write_replace(name, bytes, true)
    }

    /// Removes the file `name`; `Ok(false)` when there was none. With `durable`, the
    /// removal is on disk when this returns.
    pub fn remove(&self, name: &str, durable: bool) -> std::io::Result<bool> {
        let name = single(name)?;
        match unlinkat(&self.fd, name, UnlinkatFlags::NoRemoveDir) {
            Ok(()) => {
                if durable {
                    self.sync()?;
                }
                Ok(true)
            }
            Err(Errno::ENOENT) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Renames `from` to `to` in this directory (links are moved, never followed).
    pub fn rename(&self, from: &str, to: &str) -> std::io::Result<()> {
        renameat(&self.fd, single(from)?, &self.fd, single(to)?).map_err(Into::into)
    }

    /// Flushes the directory itself (names created, renamed or removed).
    pub fn sync(&self) -> std::io::Result<()> {
        nix::unistd::fsync(&self.fd).map_err(Into::into)
    }

    /// The names in this directory (`.` and `..` left out; names that are not UTF-8 too,
    /// pmtui never writes those).
    pub fn entries(&self) -> std::io::Result<Vec<String>> {
        let mut dir = nix::dir::Dir::openat(&self.fd, ".", dir_flags(), Mode::empty())?;
        let mut names = Vec::new();
        for entry in dir.iter() {
            let entry = entry?;
            if let Ok(name) = entry.file_name().to_str()
                && name != "."
                && name != ".."
            {
                names.push(name.to_string());
            }
        }
        Ok(names)
    }

    /// Removes temp files left by a write that was cut off (a crash between create and
    /// rename), with `older` naming the other leftovers a caller knows of (such as the
    /// `*.tmp.<pid>` files of earlier pmtui versions). Returns how many were removed.
    pub fn remove_temps(&self, older: impl Fn(&str) -> bool) -> usize {
        let Ok(names) = self.entries() else {
            return 0;
        };
        names
            .iter()
            .filter(|n| n.starts_with(TEMP_PREFIX) || older(n))
            .filter(|n| self.remove(n, false).unwrap_or(false))
            .count()
    }

    /// Whether `err` says a state file was a symbolic link that was not followed.
    pub fn is_symlink_error(err: &std::io::Error) -> bool {
        err.get_ref()
            .and_then(|e| e.downcast_ref::<StateError>())
            .is_some_and(|e| matches!(e, StateError::Symlink { .. }))
    }
}

/// The buffer of [`Dir::write_synced_with`]: content stays in memory up to
/// [`STREAM_BUFFER`] bytes; beyond that a temp file is created and the buffer goes to it.
struct LazyTemp<'a> {
    dir: &'a Dir,
    buffer: Vec<u8>,
    temp: Option<(String, File)>,
}

/// How much of a piecewise write is held in memory before it goes to a temp file.
pub const STREAM_BUFFER: usize = 64 * 1024;

impl Write for LazyTemp<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.buffer.len() + buf.len() > STREAM_BUFFER {
            if self.temp.is_none() {
                self.temp = Some(self.dir.temp()?);
            }
            self.flush()?;
            if buf.len() >= STREAM_BUFFER {
                let (_, file) = self.temp.as_mut().expect("created above");
                return file.write(buf);
            }
        }
        self.buffer.extend_from_slice(buf);
        Ok(buf.len())
    }

    /// Only moves the buffer to the temp file once there is one: a flush does not create
    /// the file.
    fn flush(&mut self) -> std::io::Result<()> {
        if let Some((_, file)) = self.temp.as_mut() {
            file.write_all(&self.buffer)?;
            self.buffer.clear();
        }
        Ok(())
    }
}

impl AsFd for Dir {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// Replaces the content of an open, writable `file` by `bytes` without truncating it to
/// zero first. On ext4 a file truncated to zero and written again is flushed to disk when
/// it is closed (`auto_da_alloc`, which guards the truncate-then-write pattern against a
/// crash): 2-8 ms on a busy disk, on the daemon's event loop for every pid file. Here the
/// new bytes are written over the old ones and the file is then cut to their length. A
/// shorter text is padded with line feeds to the old length first, so that a reader never
/// sees a mix of the two numbers (`12345` becoming `9999\n`, then `9999`), only the old
/// text, the new one padded, or the new one.
pub fn overwrite(file: &File, bytes: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::FileExt;
    let old = file.metadata()?.len();
    let new = bytes.len() as u64;
    if new < old && old <= PAD_LIMIT {
        let mut padded = bytes.to_vec();
        padded.resize(old as usize, b'\n');
        file.write_all_at(&padded, 0)?;
    } else {
        if new < old {
            // Not a pid file this daemon wrote: cut first rather than copy it.
            file.set_len(new)?;
        }
        file.write_all_at(bytes, 0)?;
    }
    file.set_len(new)
}

/// The longest old content [`overwrite`] pads over.
const PAD_LIMIT: u64 = 4096;

#[cfg(test)]
mod tests;
