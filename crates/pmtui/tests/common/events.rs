//! `pmtui events --json` followed from a test: its lines parsed on a thread, waited for
//! with deadlines, the process killed when the follower is dropped.

use super::{DEADLINE, TestHome};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// `pmtui events --json [targets]`, its lines on a channel.
pub struct Follower {
    pub child: Child,
    pub lines: mpsc::Receiver<Value>,
    pub seen: Vec<Value>,
}

impl Follower {
    pub fn start(t: &TestHome, targets: &[&str]) -> Self {
        Self::start_with(t, targets, Stdio::null())
    }

    /// With its stderr going to `stderr`.
    pub fn start_with(t: &TestHome, targets: &[&str], stderr: Stdio) -> Self {
        let mut child = t
            .cmd()
            .args(["events", "--json"])
            .args(targets)
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("pmtui events");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let v: Value = serde_json::from_str(&line).unwrap_or_else(|e| {
                    panic!("events --json printed a non-JSON line ({e}): {line}")
                });
                if tx.send(v).is_err() {
                    break;
                }
            }
        });
        Self {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits for an event matching `check`; returns it (every event seen is kept).
    pub fn wait(&mut self, what: &str, check: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + DEADLINE;
        loop {
            if let Some(found) = self.seen.iter().find(|e| check(e)) {
                return found.clone();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self
                .lines
                .recv_timeout(left.min(Duration::from_millis(200)))
            {
                Ok(v) => self.seen.push(v),
                Err(mpsc::RecvTimeoutError::Timeout) if Instant::now() < deadline => {}
                Err(_) => panic!("no event: {what}; seen: {:#?}", self.seen),
            }
        }
    }

    /// Makes sure the stream is subscribed: restarts `name` (a running app) until an
    /// event of it comes through.
    pub fn ready(&mut self, t: &TestHome, name: &str) {
        let deadline = Instant::now() + DEADLINE;
        while Instant::now() < deadline {
            t.ok(&["restart", name]);
            if let Ok(v) = self.lines.recv_timeout(Duration::from_secs(2)) {
                self.seen.push(v);
                return;
            }
        }
        panic!("the events stream never said anything");
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
