//! The sd_notify socket (`NOTIFY_SOCKET`): one datagram socket per process, at
//! `$PMTUI_HOME/notify/<id>`, read by one task for each run. It is bound at the first
//! launch and kept while the process restarts ([`Bound`]); what a run left queued in it is
//! thrown away before the next run starts.
//!
//! Why one socket per process rather than one shared socket with `SO_PASSCRED`: the socket
//! a datagram arrives on names the process, whoever in its tree sent it (a shell script's
//! `python3 -c …`, a forked worker, a `setsid` escapee), with no lookup of the sender's pid
//! in `/proc` per datagram. Emptying it between runs means a datagram a run sent can never
//! count for the next one (the run's tree is ended before the next run starts). Why kept
//! rather than bound afresh for every run: a bind creates a file and its unlink deletes
//! one, and on ext4 without a journal a creation scans past every inode deleted in the
//! last 1–5 minutes, so a crash loop made each restart slower (0.2 ms per bind, on the
//! path from the exit to the next exec). The cost is one fd and one idle task per running
//! process, which wake only when the app speaks.
//!
//! The app controls what arrives, so: datagrams over [`MAX_DATAGRAM`] bytes are dropped
//! whole, lines are `KEY=VALUE` text and anything unknown (`ERRNO=2`, garbage) is only
//! passed on to `app_messages`, never acted on; `METRIC name=value [gauge|counter]` lines
//! go to the process's app metrics (`metrics::app`), and what is dropped there (garbage,
//! oversized or non-UTF-8 datagrams, bad names, NaN) is counted with its reason for
//! `describe`; at most [`BURST`](super::ipc::BURST) datagrams are handled per [`WINDOW`](super::ipc::WINDOW), after which the
//! kernel queue fills and the sender waits.

use super::ipc::{Origin, Pace};
use super::messages::{AppMessage, AppPayload, MessageSource};
use super::signals::Posted;
use crate::metrics::app::{self, Reason};
use pmtui_proto::AppMetricSource;
use pmtui_proto::ProcessId;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::net::UnixDatagram;

/// The largest datagram read (systemd's own limit is a page, as here).
pub const MAX_DATAGRAM: usize = 4096;
/// `sockaddr_un.sun_path` holds 108 bytes with the NUL.
const MAX_SOCKET_PATH: usize = 107;

/// Where the socket of process `id` lives; `None` when the path is too long for a socket.
pub(crate) fn socket_path(home: &Path, id: ProcessId) -> Option<PathBuf> {
    let path = home.join("notify").join(id.to_string());
    (path.as_os_str().len() <= MAX_SOCKET_PATH).then_some(path)
}

/// Binds a fresh socket at `path` (the folder made private, a stale socket replaced).
/// Bound first, mended only when that fails: at most starts the folder is there and no
/// file is in the way, and one `bind` does what making sure of both took three system
/// calls for (of some ten per process started).
pub(crate) fn bind(path: &Path) -> std::io::Result<UnixDatagram> {
    match UnixDatagram::bind(path) {
        Err(err) if err.kind() == std::io::ErrorKind::AddrInUse => {
            remove_stale(path)?;
            UnixDatagram::bind(path)
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            if let Some(dir) = path.parent() {
                std::fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(dir)?;
            }
            remove_stale(path)?;
            UnixDatagram::bind(path)
        }
        bound => bound,
    }
}

/// Removes what is at `path` (a socket an earlier run or daemon left), if anything.
fn remove_stale(path: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Err(err) if err.kind() != std::io::ErrorKind::NotFound => Err(err),
        _ => Ok(()),
    }
}

/// A process's bound socket, kept from one run to the next, and which file it is bound to.
#[derive(Debug)]
pub(crate) struct Bound {
    socket: UnixDatagram,
    /// Device and inode of the socket file when it was bound.
    file: (u64, u64),
}

impl Bound {
    /// Binds a fresh socket at `path` (see [`bind`]).
    pub(crate) fn new(path: &Path) -> std::io::Result<Arc<Bound>> {
        let socket = bind(path)?;
        let meta = std::fs::symlink_metadata(path)?;
        Ok(Arc::new(Bound {
            socket,
            file: (meta.dev(), meta.ino()),
        }))
    }

    /// Whether `path` is still the file this socket was bound to (someone may have emptied
    /// the notify folder: the apps would then send to nothing).
    pub(crate) fn still_at(&self, path: &Path) -> bool {
        std::fs::symlink_metadata(path).is_ok_and(|m| (m.dev(), m.ino()) == self.file)
    }

    /// Throws away what is queued (what the last run, or what it left, sent after its
    /// reader ended), so that none of it counts for the next run. Bounded: the kernel
    /// queues at most `net.unix.max_dgram_qlen` datagrams (512 by default), and a sender
    /// that keeps sending must not hold up the launch.
    pub(crate) fn empty(&self) {
        // Straight to the socket: tokio's `try_recv` trusts its readiness flag, which the
        // aborted reader may have left clear while datagrams wait.
        let mut byte = [0u8; 1];
        for _ in 0..DRAIN_MAX {
            match nix::sys::socket::recv(
                self.socket.as_raw_fd(),
                &mut byte,
                nix::sys::socket::MsgFlags::MSG_DONTWAIT,
            ) {
                Ok(_) | Err(nix::errno::Errno::EINTR) => {}
                Err(_) => return,
            }
        }
    }
}

/// The most datagrams [`Bound::empty`] throws away in one go.
const DRAIN_MAX: usize = 2048;

/// Removes the socket of a process that is deleted.
pub(crate) fn remove(path: &Path) {
    let _ = std::fs::remove_file(path);
}

/// Reads datagrams until the task is aborted (the run ended). The buffer exists only
/// while there is something to read: a thousand quiet apps hold none.
// Not an `async fn`: see the comment in the body.
#[allow(clippy::manual_async_fn)]
pub(crate) fn read(
    bound: Arc<Bound>,
    origin: Origin,
) -> impl std::future::Future<Output = ()> + Send + 'static {
    // An `async` block rather than an `async fn` (which keeps its arguments apart from its
    // locals), and polled readiness rather than `readable()` (which keeps a waiter of some
    // 150 bytes): every process keeps this future for as long as it runs.
    async move {
        read_datagrams(&bound, &origin).await;
    }
}

async fn read_datagrams(bound: &Bound, origin: &Origin) {
    let socket = &bound.socket;
    let mut pace = Pace::new();
    loop {
        if let Err(err) = std::future::poll_fn(|cx| socket.poll_recv_ready(cx)).await {
            tracing::debug!(id = origin.id, %err, "notify socket closed");
            return;
        }
        // One byte more than the limit tells an oversized datagram (recv truncates) from a
        // full one.
        let mut buf = vec![0u8; MAX_DATAGRAM + 1];
        loop {
            let n = match socket.try_recv(&mut buf) {
                Ok(n) => n,
                Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(err) => {
                    tracing::debug!(id = origin.id, %err, "notify socket closed");
                    return;
                }
            };
            pace.admit().await;
            if n > MAX_DATAGRAM {
                tracing::debug!(id = origin.id, "notify: oversized datagram dropped");
                let start = String::from_utf8_lossy(&buf[..buf.len().min(40)]).into_owned();
                app::lock(&origin.app).dropped(Reason::Oversized, &start);
                continue;
            }
            handle(&buf[..n], origin);
        }
    }
}

fn handle(datagram: &[u8], origin: &Origin) {
    let Ok(text) = std::str::from_utf8(datagram) else {
        tracing::debug!(id = origin.id, "notify: datagram is not UTF-8, dropped");
        let start = String::from_utf8_lossy(&datagram[..datagram.len().min(40)]).into_owned();
        app::lock(&origin.app).dropped(Reason::NotUtf8, &start);
        return;
    };
    let mut posted = Posted::default();
    for line in text.split('\n').filter(|l| !l.trim().is_empty()) {
        match app::metric_line(line) {
            Some(Ok((name, value, kind))) => {
                app::lock(&origin.app).observe(name, value, kind, AppMetricSource::Push);
            }
            Some(Err(reason)) => app::lock(&origin.app).dropped(reason, line),
            None if !line.contains('=') => app::lock(&origin.app).dropped(Reason::Garbage, line),
            None => apply(line, &mut posted),
        }
        origin.messages.send(AppMessage {
            id: origin.id,
            pid: origin.pid,
            run: origin.run,
            source: MessageSource::Notify,
            payload: AppPayload::Line(line.to_string()),
        });
    }
    if posted != Posted::default() {
        origin.signals.post(|p| p.merge(posted));
    }
}

/// What one line means to the daemon; unknown keys mean nothing.
fn apply(line: &str, posted: &mut Posted) {
    let Some((key, value)) = line.split_once('=') else {
        return;
    };
    match (key, value) {
        ("READY", "1") => posted.ready = true,
        ("RELOADING", "1") => posted.reloading = true,
        ("STOPPING", "1") => posted.stopping = true,
        ("WATCHDOG", "1") => posted.watchdog = true,
        ("WATCHDOG", "trigger") => posted.watchdog_trigger = true,
        ("STATUS", text) => posted.status = Some(text.to_string()),
        ("MAINPID", pid) => {
            if let Ok(pid) = pid.trim().parse::<u32>()
                && pid > 0
            {
                posted.main_pid = Some(pid);
            }
        }
        ("EXTEND_TIMEOUT_USEC", usec) => {
            if let Ok(usec) = usec.trim().parse::<u64>() {
                posted.extend_timeout_us = Some(usec);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fanout::Fanout;
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};

    fn parsed(text: &str) -> Posted {
        let mut posted = Posted::default();
        for line in text.split('\n') {
            apply(line, &mut posted);
        }
        posted
    }

    #[test]
    fn known_keys_are_read_and_the_rest_ignored() {
        let p = parsed("READY=1\nSTATUS=Serving 12 clients\nMAINPID=4321\nMETRIC rps=12\n");
        assert!(p.ready);
        assert_eq!(p.status.as_deref(), Some("Serving 12 clients"));
        assert_eq!(p.main_pid, Some(4321));
        let p = parsed("WATCHDOG=1\nRELOADING=1\nSTOPPING=1\nEXTEND_TIMEOUT_USEC=5000000");
        assert!(p.watchdog && p.reloading && p.stopping && !p.ready);
        assert_eq!(p.extend_timeout_us, Some(5_000_000));
        assert!(parsed("WATCHDOG=trigger").watchdog_trigger);
        let nothing = parsed("READY=0\nREADY\n=1\nMAINPID=-3\nMAINPID=0\nERRNO=2\n\u{0}\u{1}");
        assert_eq!(nothing, Posted::default());
    }

    #[tokio::test]
    async fn datagrams_are_read_and_oversized_ones_dropped() {
        let dir = tempfile::tempdir().expect("dir");
        let path = socket_path(dir.path(), 3).expect("short path");
        let socket = Bound::new(&path).expect("bind");
        let messages = Fanout::new(16);
        let mut rx = messages.subscribe();
        let origin = Origin {
            id: 3,
            pid: 99,
            run: 1,
            signals: Arc::default(),
            messages,
            app: crate::metrics::app::AppHandle::default(),
        };
        let reader = tokio::spawn(read(socket, origin.clone()));
        let sender = std::os::unix::net::UnixDatagram::unbound().expect("sender");
        let big = format!("STATUS={}", "x".repeat(MAX_DATAGRAM));
        sender.send_to(big.as_bytes(), &path).expect("send big");
        sender
            .send_to(b"STATUS=starting\nMETRIC load=0.5\nREADY=1", &path)
            .expect("send");
        let taken = origin.signals.take().await;
        assert!(taken.ready);
        assert_eq!(taken.status.as_deref(), Some("starting"));
        let lines: Vec<AppPayload> = (0..3)
            .map(|_| rx.try_recv().expect("a line").payload)
            .collect();
        assert_eq!(lines[1], AppPayload::Line("METRIC load=0.5".into()));
        assert!(
            rx.try_recv().is_err(),
            "the oversized datagram is not passed on"
        );
        // A socket bound again (the next run) replaces the stale one.
        reader.abort();
        let again = bind(&path).expect("bind again");
        drop(again);
        // The folder it made is private; whatever is in the way is replaced.
        let folder = std::fs::metadata(path.parent().expect("folder")).expect("folder");
        assert_eq!(folder.permissions().mode() & 0o777, 0o700);
        remove(&path);
        std::fs::write(&path, "not a socket").expect("a file in the way");
        drop(bind(&path).expect("bind over a file"));
        assert!(
            std::fs::symlink_metadata(&path)
                .expect("socket")
                .file_type()
                .is_socket()
        );
        remove(&path);
        assert!(!path.exists());
    }

    #[tokio::test]
    async fn a_kept_socket_is_emptied_between_runs_and_let_go_when_its_file_is_gone() {
        let dir = tempfile::tempdir().expect("dir");
        let path = socket_path(dir.path(), 4).expect("short path");
        let bound = Bound::new(&path).expect("bind");
        let origin = |run| Origin {
            id: 4,
            pid: 99,
            run,
            signals: Arc::default(),
            messages: Fanout::new(16),
            app: crate::metrics::app::AppHandle::default(),
        };
        let first = origin(1);
        let reader = tokio::spawn(read(Arc::clone(&bound), first.clone()));
        let sender = std::os::unix::net::UnixDatagram::unbound().expect("sender");
        sender.send_to(b"STATUS=one", &path).expect("send");
        assert_eq!(first.signals.take().await.status.as_deref(), Some("one"));
        reader.abort();
        let _ = reader.await;
        // Sent after the first run's reader ended: the next run must not see it.
        for _ in 0..3 {
            sender
                .send_to(b"READY=1\nSTATUS=stale", &path)
                .expect("send");
        }
        assert!(bound.still_at(&path));
        bound.empty();
        let second = origin(2);
        let reader = tokio::spawn(read(Arc::clone(&bound), second.clone()));
        sender.send_to(b"STATUS=two", &path).expect("send");
        let taken = second.signals.take().await;
        assert_eq!(taken.status.as_deref(), Some("two"));
        assert!(!taken.ready, "a datagram of the run before counted");
        reader.abort();
        remove(&path);
        assert!(!bound.still_at(&path));
        let other = bind(&path).expect("bind again");
        assert!(!bound.still_at(&path), "another socket at the same path");
        drop(other);
    }
}
