//! A broadcast whose buffer exists only once somebody listens.
//!
//! tokio's `broadcast::channel(n)` allocates and initialises its `n` slots when it is
//! created: the daemon's events stream (4096 rows), log followers, app messages and the app
//! events stream cost about 1 MiB of an idle daemon that nobody watches. A [`Fanout`] makes
//! the channel at the first `subscribe`. A value sent before that is dropped, which is what a
//! channel without receivers does anyway, so nobody can tell the difference. Once made, the
//! channel stays (followers come and go; its size is then the bound it always was).

use std::sync::{Arc, OnceLock};
use tokio::sync::broadcast;

/// A cheap clonable handle: clones share one channel.
#[derive(Debug)]
pub struct Fanout<T> {
    inner: Arc<Inner<T>>,
}

#[derive(Debug)]
struct Inner<T> {
    capacity: usize,
    tx: OnceLock<broadcast::Sender<T>>,
}

impl<T> Clone for Fanout<T> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<T: Clone> Fanout<T> {
    /// A fanout whose channel, once made, buffers `capacity` values for a slow receiver.
    pub fn new(capacity: usize) -> Self {
        Self {
            inner: Arc::new(Inner {
                capacity: capacity.max(1),
                tx: OnceLock::new(),
            }),
        }
    }

    /// A receiver of every value sent from now on (the channel is made on the first call).
    pub fn subscribe(&self) -> broadcast::Receiver<T> {
        self.inner
            .tx
            .get_or_init(|| broadcast::channel(self.inner.capacity).0)
            .subscribe()
    }

    /// Receivers alive now.
    pub fn receiver_count(&self) -> usize {
        self.inner
            .tx
            .get()
            .map_or(0, broadcast::Sender::receiver_count)
    }

    /// Sends to the receivers alive now; with none, `value` is dropped.
    pub fn send(&self, value: T) {
        if let Some(tx) = self.inner.tx.get() {
            let _ = tx.send(value);
        }
    }

    /// Whether the channel was ever made (for tests of the laziness).
    #[cfg(test)]
    fn made(&self) -> bool {
        self.inner.tx.get().is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn nothing_is_made_until_a_subscriber_and_later_values_reach_it() {
        let fanout = Fanout::new(4);
        let clone = fanout.clone();
        clone.send(1);
        assert!(!fanout.made(), "a send without subscriber makes nothing");
        assert_eq!(fanout.receiver_count(), 0);
        let mut rx = fanout.subscribe();
        assert_eq!(clone.receiver_count(), 1, "clones share the channel");
        clone.send(2);
        fanout.send(3);
        assert_eq!(rx.recv().await.ok(), Some(2), "earlier values are not kept");
        assert_eq!(rx.recv().await.ok(), Some(3));
        drop(rx);
        assert_eq!(fanout.receiver_count(), 0);
    }

    #[tokio::test]
    async fn a_slow_receiver_lags_at_the_capacity() {
        let fanout = Fanout::new(2);
        let mut rx = fanout.subscribe();
        for i in 0..5 {
            fanout.send(i);
        }
        assert!(matches!(
            rx.recv().await,
            Err(broadcast::error::RecvError::Lagged(3))
        ));
        assert_eq!(rx.recv().await.ok(), Some(3));
    }
}
