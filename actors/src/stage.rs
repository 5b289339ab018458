//! What every stage actor shares: the panic guard at the batch boundary, forwarding a batch
//! downstream with real backpressure, the drain signal, and the pause switch.

use crate::metrics::StageMetrics;
use actix::{Actor, AsyncContext, Context};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::mpsc::{error::TrySendError, Sender};
use tokio::sync::Notify;

/// Runs one batch's work, catching a panic so it costs the batch, not the arbiter. Returns the
/// panic's message on a panic (the caller dead-letters the batch and stops the actor, which its
/// supervisor restarts with its input link intact).
pub fn guarded<R>(metrics: &StageMetrics, work: impl FnOnce() -> R) -> Result<R, String> {
    catch_unwind(AssertUnwindSafe(work)).map_err(|payload| {
        metrics.panics.fetch_add(1, Ordering::Relaxed);
        if let Some(s) = payload.downcast_ref::<&str>() {
            (*s).to_owned()
        } else if let Some(s) = payload.downcast_ref::<String>() {
            s.clone()
        } else {
            "panic with a non-text payload".to_owned()
        }
    })
}

/// Sends `item` downstream. When the link is full the actor stops taking input (`ctx.wait`)
/// until there is room, so pressure propagates upstream instead of queueing without bound.
/// Returns false if the downstream stage is gone (the caller counts the loss).
pub fn forward<A, T>(ctx: &mut Context<A>, tx: &Sender<T>, item: T) -> bool
where
    A: Actor<Context = Context<A>>,
    T: Send + 'static,
{
    match tx.try_send(item) {
        Ok(()) => true,
        Err(TrySendError::Full(item)) => {
            let tx = tx.clone();
            ctx.wait(actix::fut::wrap_future(async move {
                if tx.send(item).await.is_err() {
                    tracing::error!("downstream link closed while waiting for capacity");
                }
            }));
            true
        }
        Err(TrySendError::Closed(_)) => false,
    }
}

/// Counts down as stages finish draining; shutdown waits on it.
#[derive(Debug)]
pub struct Completion {
    remaining: AtomicUsize,
    notify: Notify,
}

impl Completion {
    /// A completion waiting for `n` parties.
    pub fn new(n: usize) -> Arc<Completion> {
        Arc::new(Completion {
            remaining: AtomicUsize::new(n),
            notify: Notify::new(),
        })
    }

    /// One party is done.
    pub fn done(&self) {
        let before = self.remaining.fetch_sub(1, Ordering::AcqRel);
        if before <= 1 {
            self.notify.notify_waiters();
        }
    }

    /// Parties still running.
    pub fn remaining(&self) -> usize {
        self.remaining.load(Ordering::Acquire)
    }

    /// Waits until every party is done.
    pub async fn wait(&self) {
        loop {
            let notified = self.notify.notified();
            if self.remaining() == 0 {
                return;
            }
            notified.await;
        }
    }
}

/// A control switch that holds a stage between batches (operators pause a target during
/// maintenance; tests use it to saturate the pipeline deterministically).
#[derive(Debug, Default)]
pub struct PauseSwitch {
    paused: AtomicBool,
    resumed: Notify,
}

impl PauseSwitch {
    /// Pauses the stage before its next batch.
    pub fn pause(&self) {
        self.paused.store(true, Ordering::Release);
    }

    /// Resumes the stage.
    pub fn resume(&self) {
        self.paused.store(false, Ordering::Release);
        self.resumed.notify_waiters();
    }

    /// True while paused.
    pub fn is_paused(&self) -> bool {
        self.paused.load(Ordering::Acquire)
    }

    /// Waits until resumed (returns at once when not paused).
    pub async fn wait_resumed(&self) {
        loop {
            let notified = self.resumed.notified();
            if !self.is_paused() {
                return;
            }
            notified.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guarded_turns_a_panic_into_a_counted_error() {
        let m = StageMetrics::new("t".into(), "normaliser", None);
        let r: Result<(), String> = guarded(&m, || panic!("poison"));
        assert_eq!(r.unwrap_err(), "poison");
        assert_eq!(m.panics.load(Ordering::Relaxed), 1);
        assert_eq!(guarded(&m, || 7).unwrap(), 7);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn completion_wakes_when_all_are_done() {
        let c = Completion::new(2);
        c.done();
        assert_eq!(c.remaining(), 1);
        let c2 = c.clone();
        let waiter = tokio::spawn(async move { c2.wait().await });
        c.done();
        waiter.await.unwrap();
    }
}
