//! What one client, and all of them together, can make the daemon hold or wait for: a
//! hello within `HELLO_TIMEOUT`, a message begun finished within `PARTIAL_TIMEOUT`, at most
//! `MAX_IN_FLIGHT` requests of one connection answered at a time (reading stops until
//! replies are written), half-received requests of all connections together within
//! `REQUEST_BUDGET` bytes (`pmtui_proto::frames::Budget`), and at most
//! `max_connections()` connections at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

pub const HELLO_TIMEOUT: Duration = Duration::from_secs(10);
/// A message whose first part arrived must be complete within this time.
pub const PARTIAL_TIMEOUT: Duration = Duration::from_secs(30);
/// Requests of one connection being answered at once.
pub const MAX_IN_FLIGHT: usize = 32;
/// Bytes of half-received requests the daemon holds for all its clients together.
pub const REQUEST_BUDGET: usize = 64 * 1024 * 1024;
const DEFAULT_MAX_CONNECTIONS: usize = 256;

/// `PMTUI_MAX_CONNECTIONS`, else 256.
pub fn max_connections() -> usize {
    std::env::var("PMTUI_MAX_CONNECTIONS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(DEFAULT_MAX_CONNECTIONS)
}

/// The connections open now.
#[derive(Debug, Default, Clone)]
pub struct Connections(Arc<AtomicUsize>);

/// One open connection; counted until dropped.
pub struct Slot(Arc<AtomicUsize>);

impl Connections {
    /// A slot, or `None` when `max` are open.
    pub fn take(&self, max: usize) -> Option<Slot> {
        let mut now = self.0.load(Ordering::Relaxed);
        loop {
            if now >= max {
                return None;
            }
            match self
                .0
                .compare_exchange_weak(now, now + 1, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return Some(Slot(Arc::clone(&self.0))),
                Err(actual) => now = actual,
            }
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}
