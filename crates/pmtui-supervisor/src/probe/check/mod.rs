//! One health probe of each kind, bounded by its timeout, and the sentence it leaves:
//! `GET /health → 503`, `tcp 127.0.0.1:8000: connection refused`, `exec ./check.sh: exit 1:
//! disk full`, `… timed out after 2000 ms`. Nothing here blocks the runtime: connects and
//! reads are async, an exec probe is a child process awaited like any other.

mod exec;
mod http;
mod tcp;

pub(crate) use exec::ExecContext;
use pmtui_proto::{HealthCheck, ProbeKind};
use std::time::Duration;
use tokio::time::Instant;

/// What one probe found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Outcome {
    pub ok: bool,
    pub message: String,
    pub duration: Duration,
}

/// Runs one probe of `check`.
pub(crate) async fn probe(check: &HealthCheck, exec: &ExecContext) -> Outcome {
    let started = Instant::now();
    let timeout = Duration::from_millis(check.timeout_ms);
    let what = check.describe();
    let (ok, detail) = match check.kind {
        ProbeKind::Http => http::probe(check, timeout).await,
        ProbeKind::Tcp => tcp::probe(check, timeout).await,
        ProbeKind::Exec => exec.probe(check, timeout).await,
    };
    // `GET /health → 503` reads better without a colon; the rest say `what: detail`.
    let message = if detail.starts_with('→') {
        format!("{what} {detail}")
    } else {
        format!("{what}: {detail}")
    };
    Outcome {
        ok,
        message: tidy(&message),
        duration: started.elapsed(),
    }
}

/// The sentence for a probe that ran out of time.
fn timed_out(timeout: Duration) -> String {
    format!("timed out after {} ms", timeout.as_millis())
}

/// One line of at most 300 characters, without control characters (the text may come from
/// the app's output or its HTTP server).
fn tidy(text: &str) -> String {
    const MAX: usize = 300;
    let mut out: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX)
        .collect();
    if text.chars().count() > MAX {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_one_bounded_line() {
        assert_eq!(tidy("exit 1: a\nb\tc"), "exit 1: a b c");
        let long = "x".repeat(1000);
        assert_eq!(tidy(&long).chars().count(), 301);
    }
}
