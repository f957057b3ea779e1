//! A tiny HTTP/1.0 client for the cluster tests: one request per connection, the body
//! returned, every failure (refused, reset, short answer) counted by the caller.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

/// `GET /` on `addr`; the body on a 200, else why not.
pub fn get(addr: SocketAddr) -> Result<String, String> {
    let mut stream =
        TcpStream::connect_timeout(&addr, Duration::from_secs(5)).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    stream
        .write_all(b"GET / HTTP/1.0\r\nHost: test\r\n\r\n")
        .map_err(|e| e.to_string())?;
    let mut answer = String::new();
    stream
        .read_to_string(&mut answer)
        .map_err(|e| e.to_string())?;
    let (head, body) = answer
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("no header end in {answer:?}"))?;
    if !head.starts_with("HTTP/1.") || !head.contains(" 200") {
        return Err(format!("not a 200: {head:?}"));
    }
    Ok(body.trim().to_string())
}

/// A TCP port that is free now (bound to port 0, then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// What a request loop saw.
#[derive(Debug, Default)]
pub struct Tally {
    pub ok: usize,
    pub failed: Vec<String>,
    /// The distinct bodies (pids) that answered, in the order first seen.
    pub answers: Vec<String>,
}

/// Asserts that the loop saw no failed request and at least one answer.
pub fn assert_no_failure(tally: &Tally, what: &str) {
    assert!(
        tally.failed.is_empty(),
        "{what}: {} of {} requests failed: {:?}",
        tally.failed.len(),
        tally.ok + tally.failed.len(),
        tally.failed.iter().take(5).collect::<Vec<_>>()
    );
    assert!(tally.ok > 0, "{what}: no request was answered");
}

/// Requests in a loop on another thread until `finish`.
pub struct Load {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    handle: std::thread::JoinHandle<Tally>,
}

impl Load {
    pub fn start(addr: SocketAddr) -> Self {
        use std::sync::atomic::{AtomicBool, Ordering};
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let flag = std::sync::Arc::clone(&stop);
        let handle = std::thread::spawn(move || {
            let mut tally = Tally::default();
            while !flag.load(Ordering::Relaxed) {
                match get(addr) {
                    Ok(body) => {
                        tally.ok += 1;
                        if !tally.answers.contains(&body) {
                            tally.answers.push(body);
                        }
                    }
                    Err(why) => tally.failed.push(why),
                }
            }
            tally
        });
        Self { stop, handle }
    }

    pub fn finish(self) -> Tally {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.handle.join().expect("the request loop")
    }
}
