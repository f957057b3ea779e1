//! The sd_notify socket (`NOTIFY_SOCKET`): one datagram socket per process, at
//! `$PMTUI_HOME/notify/<id>`, bound afresh at every launch and read by one task for the run.
//!
//! Why one socket per process rather than one shared socket with `SO_PASSCRED`: the socket
//! a datagram arrives on names the process, whoever in its tree sent it (a shell script's
//! `python3 -c …`, a forked worker, a `setsid` escapee), with no lookup of the sender's pid
//! in `/proc` per datagram; and binding it afresh per run means a datagram from a run that
//! has ended can never count for the next one. The cost is one fd and one idle task per
//! running process, which wake only when the app speaks.
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
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
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
pub(crate) fn bind(path: &Path) -> std::io::Result<UnixDatagram> {
    if let Some(dir) = path.parent() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => return Err(err),
    }
    UnixDatagram::bind(path)
}

/// Removes the socket of a process that is deleted.
pub(crate) fn remove(path: &Path) {
    let _ = std::fs::remove_file(path);
}

/// Reads datagrams until the task is aborted (the run ended). The buffer exists only
/// while there is something to read: a thousand quiet apps hold none.
pub(crate) async fn read(socket: UnixDatagram, origin: Origin) {
    let mut pace = Pace::new();
    loop {
        if let Err(err) = socket.readable().await {
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
            handle(&buf[..n], &origin);
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
    use std::sync::Arc;

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
        let socket = bind(&path).expect("bind");
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
        remove(&path);
        assert!(!path.exists());
    }
}
