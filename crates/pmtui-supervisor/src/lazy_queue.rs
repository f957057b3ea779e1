//! An unbounded queue with many senders and one receiver that holds no room for messages
//! until some are queued. Every process has two (its job's commands, its log writer's
//! requests) for its whole life, and they are almost always empty: tokio's unbounded
//! channel allocates a block of 32 slots and a cache-padded channel at creation (about
//! 1.8 KiB for the job's commands), this one a few dozen bytes, and its `VecDeque` grows
//! only while messages wait.
//!
//! Semantics are those of `tokio::sync::mpsc::unbounded_channel` that the daemon relies
//! on: `send` fails (returning the message) once the receiver is gone, `recv` returns
//! `None` once every sender is gone and the queue is empty, and `recv` is cancel-safe (a
//! message is taken only by the poll that returns it).

use futures_util::task::AtomicWaker;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Poll;
use tokio::sync::Notify;

struct Inner<T> {
    state: Mutex<State<T>>,
    /// Woken by a send and by the last sender's drop. The receiver registers before it
    /// looks a second time, so no wake-up is lost between its look and its wait; and its
    /// `recv` keeps no waiter (a `Notify`'s is some 60 bytes, in every job's loop and
    /// every log writer's for the process's whole life).
    wake: AtomicWaker,
    /// Woken when the receiver is dropped.
    closed: Notify,
}

struct State<T> {
    items: VecDeque<T>,
    senders: usize,
    receiver: bool,
}

impl<T> Inner<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The sending side; cloned for every holder.
pub(crate) struct Sender<T>(Arc<Inner<T>>);

/// The receiving side.
pub(crate) struct Receiver<T>(Arc<Inner<T>>);

/// A new empty queue.
pub(crate) fn queue<T>() -> (Sender<T>, Receiver<T>) {
    let inner = Arc::new(Inner {
        state: Mutex::new(State {
            items: VecDeque::new(),
            senders: 1,
            receiver: true,
        }),
        wake: AtomicWaker::new(),
        closed: Notify::new(),
    });
    (Sender(Arc::clone(&inner)), Receiver(inner))
}

impl<T> Sender<T> {
    /// Queues `value`; gives it back if the receiver is gone.
    pub(crate) fn send(&self, value: T) -> Result<(), T> {
        {
            let mut state = self.0.lock();
            if !state.receiver {
                return Err(value);
            }
            state.items.push_back(value);
        }
        self.0.wake.wake();
        Ok(())
    }
}

impl<T> Sender<T> {
    /// Waits until the receiver is gone.
    pub(crate) async fn closed(&self) {
        loop {
            let notified = self.0.closed.notified();
            tokio::pin!(notified);
            // Registered before the check: `notify_waiters` wakes only those waiting.
            notified.as_mut().enable();
            if !self.0.lock().receiver {
                return;
            }
            notified.await;
        }
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.0.lock().senders += 1;
        Self(Arc::clone(&self.0))
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let last = {
            let mut state = self.0.lock();
            state.senders -= 1;
            state.senders == 0
        };
        if last {
            self.0.wake.wake();
        }
    }
}

impl<T> std::fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sender")
    }
}

impl<T> Receiver<T> {
    /// The next message, waiting for one; `None` once every sender is gone and nothing is
    /// left.
    pub(crate) async fn recv(&mut self) -> Option<T> {
        std::future::poll_fn(|cx| {
            if let Some(got) = self.look() {
                return Poll::Ready(got);
            }
            self.0.wake.register(cx.waker());
            match self.look() {
                Some(got) => Poll::Ready(got),
                None => Poll::Pending,
            }
        })
        .await
    }

    /// `Some(message)`, `Some(None)` once every sender is gone and nothing is left, `None`
    /// while the queue is empty.
    fn look(&self) -> Option<Option<T>> {
        let mut state = self.0.lock();
        if let Some(value) = state.items.pop_front() {
            // Room held after a burst is given back once it is drained.
            if state.items.is_empty() && state.items.capacity() > 0 {
                state.items = VecDeque::new();
            }
            return Some(Some(value));
        }
        (state.senders == 0).then_some(None)
    }

    /// The next message if one is queued now.
    pub(crate) fn try_recv(&mut self) -> Option<T> {
        let mut state = self.0.lock();
        let value = state.items.pop_front();
        if state.items.is_empty() && state.items.capacity() > 0 {
            state.items = VecDeque::new();
        }
        value
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        // Messages left are dropped outside the lock (their drops may do anything, such
        // as answer a caller waiting on a reply).
        let left = {
            let mut state = self.0.lock();
            state.receiver = false;
            std::mem::take(&mut state.items)
        };
        self.0.closed.notify_waiters();
        drop(left);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn messages_arrive_in_order_and_the_end_is_seen() {
        let (tx, mut rx) = queue();
        let tx2 = tx.clone();
        assert!(tx.send(1).is_ok());
        assert!(tx2.send(2).is_ok());
        assert_eq!(rx.recv().await, Some(1));
        assert_eq!(rx.try_recv(), Some(2));
        assert_eq!(rx.try_recv(), None);
        let waiting = tokio::spawn(async move { (rx.recv().await, rx.recv().await) });
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert!(tx.send(3).is_ok());
        drop(tx);
        drop(tx2);
        let got = tokio::time::timeout(Duration::from_secs(20), waiting)
            .await
            .expect("the receiver saw the end")
            .expect("the receiving task ran");
        assert_eq!(got, (Some(3), None));
    }

    #[tokio::test]
    async fn a_cancelled_recv_loses_nothing_and_a_closed_queue_refuses() {
        let (tx, mut rx) = queue();
        let waited = tokio::time::timeout(Duration::from_millis(10), rx.recv()).await;
        assert!(waited.is_err());
        assert!(tx.send("kept").is_ok());
        assert_eq!(rx.recv().await, Some("kept"));
        let closed = tokio::spawn({
            let tx = tx.clone();
            async move { tx.closed().await }
        });
        drop(rx);
        assert_eq!(tx.send("late"), Err("late"));
        tokio::time::timeout(Duration::from_secs(20), closed)
            .await
            .expect("closed() saw the receiver go")
            .expect("the waiting task ran");
        tx.closed().await;
    }
}
