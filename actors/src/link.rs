//! Bounded links between pipeline stages.
//!
//! actix's own mailbox bound leaks (`do_send` ignores it, every `Addr` clone adds a slot), so the
//! data path between stages is a bounded tokio channel of batches. The receiving actor consumes
//! it as a stream through a [`SharedReceiver`], which outlives the actor: when a supervised actor
//! is restarted it re-attaches to the same receiver, so queued batches survive the restart.

use futures_util::Stream;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use tokio::sync::mpsc;

/// A bounded channel's receiving end shared between an actor and its restarts (and the metrics,
/// which read its depth).
#[derive(Debug)]
pub struct SharedReceiver<T> {
    rx: Arc<Mutex<mpsc::Receiver<T>>>,
    capacity: usize,
}

impl<T> Clone for SharedReceiver<T> {
    fn clone(&self) -> Self {
        SharedReceiver {
            rx: self.rx.clone(),
            capacity: self.capacity,
        }
    }
}

/// Creates a bounded link of `capacity` batches.
pub fn link<T>(capacity: usize) -> (mpsc::Sender<T>, SharedReceiver<T>) {
    let (tx, rx) = mpsc::channel(capacity.max(1));
    (
        tx,
        SharedReceiver {
            rx: Arc::new(Mutex::new(rx)),
            capacity: capacity.max(1),
        },
    )
}

impl<T> SharedReceiver<T> {
    /// Batches waiting in the link.
    pub fn depth(&self) -> usize {
        self.rx.lock().map(|rx| rx.len()).unwrap_or(0)
    }

    /// The link's capacity in batches.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// A stream over the link for one incarnation of the receiving actor.
    pub fn stream(&self) -> LinkStream<T> {
        LinkStream {
            rx: self.rx.clone(),
        }
    }
}

/// Object-safe view of a link's fill level, for metrics and the watchdog.
pub trait DepthProbe: Send + Sync + std::fmt::Debug {
    /// Batches waiting.
    fn depth(&self) -> usize;
    /// Capacity in batches.
    fn capacity(&self) -> usize;
}

impl<T: Send + std::fmt::Debug> DepthProbe for SharedReceiver<T> {
    fn depth(&self) -> usize {
        SharedReceiver::depth(self)
    }
    fn capacity(&self) -> usize {
        SharedReceiver::capacity(self)
    }
}

/// The stream a stage actor attaches with `ctx.add_stream`. Dropping it (when the actor stops)
/// leaves the queued batches in the shared receiver.
#[derive(Debug)]
pub struct LinkStream<T> {
    rx: Arc<Mutex<mpsc::Receiver<T>>>,
}

impl<T> Stream for LinkStream<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        match self.rx.lock() {
            Ok(mut rx) => rx.poll_recv(cx),
            // A poisoned lock means a thread panicked while polling; the receiver itself is
            // still consistent (poll_recv does not panic mid-update), so keep using it.
            Err(poisoned) => poisoned.into_inner().poll_recv(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;

    #[tokio::test(flavor = "current_thread")]
    async fn queued_items_survive_a_dropped_stream() {
        let (tx, rx) = link::<u32>(4);
        tx.send(1).await.unwrap();
        tx.send(2).await.unwrap();
        {
            let mut s = rx.stream();
            assert_eq!(s.next().await, Some(1));
        }
        assert_eq!(rx.depth(), 1);
        let mut again = rx.stream();
        assert_eq!(again.next().await, Some(2));
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_full_link_refuses_try_send() {
        let (tx, rx) = link::<u32>(2);
        tx.try_send(1).unwrap();
        tx.try_send(2).unwrap();
        assert!(matches!(
            tx.try_send(3),
            Err(mpsc::error::TrySendError::Full(3))
        ));
        assert_eq!(rx.depth(), 2);
        assert_eq!(rx.capacity(), 2);
    }
}
