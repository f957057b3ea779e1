//! `pmtui dial-stdio`: the far end of the ssh transport. It starts this host's daemon like
//! any command would, then copies bytes between its stdin/stdout and the daemon's socket,
//! unchanged both ways (the client's hello goes through untouched, so the daemon checks the
//! client's protocol itself), and exits as soon as either side closes.
//!
//! Plain threads and blocking I/O: a tokio stdin read cannot be cancelled and would keep
//! the runtime from shutting down after the socket closed.

use std::io::{Read, Write};
use std::net::Shutdown;
use std::os::unix::net::UnixStream;
use std::process::ExitCode;
use std::sync::mpsc;

pub fn run(timeout: Option<std::time::Duration>) -> ExitCode {
    let stream = match connect(timeout) {
        Ok(stream) => stream,
        Err(err) => {
            // Read by the client through ssh's stderr, to say why no hello came.
            eprintln!("pmtui dial-stdio: {err:#}");
            return ExitCode::FAILURE;
        }
    };
    let (done, finished) = mpsc::channel::<&'static str>();
    let (Ok(to_daemon), Ok(from_daemon)) = (stream.try_clone(), stream.try_clone()) else {
        eprintln!("pmtui dial-stdio: cannot share the daemon's socket");
        return ExitCode::FAILURE;
    };
    let up = done.clone();
    std::thread::spawn(move || {
        copy(&mut std::io::stdin().lock(), &to_daemon);
        // The client is done sending: the daemon sees the end of its requests, answers
        // what it has, and closes, which ends the other direction.
        let _ = to_daemon.shutdown(Shutdown::Write);
        let _ = up.send("stdin");
    });
    std::thread::spawn(move || {
        copy(&mut &from_daemon, &mut std::io::stdout().lock());
        let _ = done.send("socket");
    });
    match finished.recv() {
        // The daemon closed: nothing more can be said to the client.
        Ok("socket") | Err(_) => {}
        // stdin closed: give the daemon a moment to flush its last replies.
        Ok(_) => {
            let _ = finished.recv_timeout(std::time::Duration::from_secs(5));
        }
    }
    let _ = stream.shutdown(Shutdown::Both);
    // Exit now: a thread still blocked reading stdin must not hold the process.
    let _ = std::io::stdout().flush();
    ExitCode::SUCCESS
}

fn connect(timeout: Option<std::time::Duration>) -> anyhow::Result<UnixStream> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let exe = std::env::current_exe()?;
    let home = super::super::home();
    Ok(runtime.block_on(pmtui_client::dial(&home, &exe, timeout))?)
}

/// Copies until the end of `from` or an error on either side, flushing every chunk (the
/// peer waits for whole frames).
fn copy(from: &mut impl Read, mut to: impl Write) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if to.write_all(&buf[..n]).and_then(|()| to.flush()).is_err() {
            return;
        }
    }
}
