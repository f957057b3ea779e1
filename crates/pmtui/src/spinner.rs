//! A spinner on stderr for the commands that can wait a while (stop, delete, kill, applying a
//! file), naming what they wait for. Only on a terminal, only after a short delay (quick
//! answers print nothing extra) and never with `--json`: scripts and pipes see no spinner.

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Nothing shows for answers quicker than this.
const DELAY: Duration = Duration::from_millis(400);
const FRAME: Duration = Duration::from_millis(100);
const FRAMES: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/// Spins until dropped, then clears its line.
pub struct Spinner {
    done: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Spinner {
    /// Starts `⠋ <what>…` on stderr when it is a terminal and `quiet` is false.
    pub fn start(what: String, quiet: bool) -> Self {
        let done = Arc::new(AtomicBool::new(false));
        if quiet || !std::io::stderr().is_terminal() {
            return Self { done, thread: None };
        }
        let flag = Arc::clone(&done);
        let thread = std::thread::Builder::new()
            .name("pmtui-spinner".into())
            .spawn(move || spin(&flag, &what))
            .ok();
        Self { done, thread }
    }
}

fn spin(done: &AtomicBool, what: &str) {
    let wait = |d: Duration| {
        let until = std::time::Instant::now() + d;
        while std::time::Instant::now() < until {
            if done.load(Ordering::Relaxed) {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        true
    };
    if !wait(DELAY) {
        return;
    }
    let mut err = std::io::stderr();
    let mut shown = false;
    for frame in FRAMES.iter().cycle() {
        let _ = write!(err, "\r\x1b[2K{frame} {what}…");
        let _ = err.flush();
        shown = true;
        if !wait(FRAME) {
            break;
        }
    }
    if shown {
        let _ = write!(err, "\r\x1b[2K");
        let _ = err.flush();
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        self.done.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// `web, api` or `5 processes`, for "waiting for … to exit".
pub fn targets(targets: &[String]) -> String {
    match targets.len() {
        0 => "every process".to_string(),
        1..=3 => targets.join(", "),
        n => format!("{n} processes"),
    }
}
