//! A watch channel (the latest value, and a wait for the next change) for a value every
//! process keeps for its whole life and few ever wait on: a run's readiness. tokio's
//! `watch` spreads its waiters over eight `Notify`s, about 380 bytes a channel; this one
//! is a mutex, a version and one `Notify`, about 110 bytes.
//!
//! The part of `tokio::sync::watch` the daemon uses, with its semantics: a new receiver
//! has seen the value of the moment; `changed` returns once the version moved past what
//! the receiver saw (at once if it already has), and fails once the sender is gone and
//! nothing new is left to see.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::Notify;

struct Shared<T> {
    value: Mutex<T>,
    /// Moved on (under the value's lock) by every change.
    version: AtomicU64,
    changed: Notify,
    closed: AtomicBool,
}

impl<T> Shared<T> {
    fn lock(&self) -> MutexGuard<'_, T> {
        self.value
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The sending side: the value's owner.
pub(crate) struct Sender<T>(Arc<Shared<T>>);

/// A waiter on the value's changes.
pub(crate) struct Receiver<T> {
    shared: Arc<Shared<T>>,
    seen: u64,
}

/// The sender is gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Closed;

impl<T> Sender<T> {
    pub(crate) fn new(value: T) -> Self {
        Self(Arc::new(Shared {
            value: Mutex::new(value),
            version: AtomicU64::new(0),
            changed: Notify::new(),
            closed: AtomicBool::new(false),
        }))
    }

    /// Changes the value in place and wakes the waiters.
    pub(crate) fn send_modify(&self, modify: impl FnOnce(&mut T)) {
        self.send_if_modified(|value| {
            modify(value);
            true
        });
    }

    /// Changes the value in place; wakes the waiters (and counts a change) only when
    /// `modify` says it changed something. Returns what `modify` said.
    pub(crate) fn send_if_modified(&self, modify: impl FnOnce(&mut T) -> bool) -> bool {
        let modified = {
            let mut value = self.0.lock();
            let modified = modify(&mut value);
            if modified {
                self.0.version.fetch_add(1, Ordering::Release);
            }
            modified
        };
        if modified {
            self.0.changed.notify_waiters();
        }
        modified
    }

    /// The value now (held locked: do not send while holding it).
    pub(crate) fn borrow(&self) -> MutexGuard<'_, T> {
        self.0.lock()
    }

    /// A receiver that has seen the value of the moment.
    pub(crate) fn subscribe(&self) -> Receiver<T> {
        let _value = self.0.lock();
        Receiver {
            shared: Arc::clone(&self.0),
            seen: self.0.version.load(Ordering::Acquire),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        self.0.closed.store(true, Ordering::Release);
        self.0.changed.notify_waiters();
    }
}

impl<T> Receiver<T> {
    /// The value now, marked as seen (held locked, as [`Sender::borrow`]).
    pub(crate) fn borrow_and_update(&mut self) -> MutexGuard<'_, T> {
        let value = self.shared.lock();
        self.seen = self.shared.version.load(Ordering::Acquire);
        value
    }

    /// Waits until the value changed since this receiver last saw it; `Err` once the
    /// sender is gone with nothing new to see. Cancel-safe.
    pub(crate) async fn changed(&mut self) -> Result<(), Closed> {
        loop {
            let notified = self.shared.changed.notified();
            tokio::pin!(notified);
            // Registered before the look: `notify_waiters` wakes only those waiting.
            notified.as_mut().enable();
            let version = self.shared.version.load(Ordering::Acquire);
            if version != self.seen {
                self.seen = version;
                return Ok(());
            }
            if self.shared.closed.load(Ordering::Acquire) {
                return Err(Closed);
            }
            notified.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn a_receiver_sees_changes_after_it_subscribed_and_the_end() {
        let tx = Sender::new(1u32);
        tx.send_modify(|v| *v = 2);
        let mut rx = tx.subscribe();
        let short = Duration::from_millis(20);
        assert!(
            tokio::time::timeout(short, rx.changed()).await.is_err(),
            "a change before subscribing counts as seen"
        );
        assert!(!tx.send_if_modified(|_| false), "an unchanged value");
        assert!(tokio::time::timeout(short, rx.changed()).await.is_err());
        let waiter = tokio::spawn(async move {
            let changed = rx.changed().await;
            let value = *rx.borrow_and_update();
            (changed, value, rx)
        });
        tokio::time::sleep(short).await;
        tx.send_modify(|v| *v = 3);
        let (changed, value, mut rx) = tokio::time::timeout(Duration::from_secs(20), waiter)
            .await
            .expect("the waiter woke")
            .expect("the waiter ran");
        assert_eq!((changed, value), (Ok(()), 3));
        assert_eq!(*tx.borrow(), 3);

        // A change made while nobody waits is seen by the next wait; then the end.
        tx.send_modify(|v| *v = 4);
        drop(tx);
        assert_eq!(rx.changed().await, Ok(()));
        assert_eq!(*rx.borrow_and_update(), 4);
        assert_eq!(rx.changed().await, Err(Closed));
    }
}
