//! Normaliser shards: turn [`RawBatch`]es of frames into [`EventBatch`]es of canonical events.
//! Stateless per frame; N shards on their own arbiters. Frames that cannot become events are
//! counted by reason and dead-lettered; a panic costs the batch (dead-lettered) and restarts the
//! shard with its input link intact.

use crate::batch::{EventBatch, RawBatch};
use crate::deadletter::{DeadLetterOrigin, DeadLetters};
use crate::link::SharedReceiver;
use crate::metrics::StageMetrics;
use crate::stage::{forward, guarded, Completion};
use actix::{Actor, AsyncContext, Context, StreamHandler, Supervised};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use tocsin_engine::normalise::{FrameMeta, Normaliser};
use tocsin_engine::schema::Event;
use tokio::sync::mpsc::Sender;

/// A line that makes a shard panic, for the supervision tests (only with the `testsuite` feature).
#[cfg(feature = "testsuite")]
pub const TEST_POISON_LINE: &[u8] = b"TOCSIN-TEST-POISON-BATCH";

/// One normaliser shard.
#[derive(Debug)]
pub struct NormaliserShard {
    normaliser: Normaliser,
    input: SharedReceiver<RawBatch>,
    outputs: Option<Vec<Sender<EventBatch>>>,
    /// Split each batch by entity over the outputs (the scorer shards), instead of sending it
    /// whole by flow (to the router shards).
    by_entity: bool,
    metrics: Arc<StageMetrics>,
    dead_letters: DeadLetters,
    drained: Arc<Completion>,
    finished: bool,
    /// Per-frame result slots, kept between batches (a batch of 1024 frames needs ~870 KB of
    /// them, which taken fresh each batch would be a large allocation and its page faults).
    slots: std::cell::RefCell<Vec<Option<Event>>>,
}

impl NormaliserShard {
    /// A shard reading `input` and sending to the router shards `outputs` (by flow).
    pub fn new(
        normaliser: Normaliser,
        input: SharedReceiver<RawBatch>,
        outputs: Vec<Sender<EventBatch>>,
        metrics: Arc<StageMetrics>,
        dead_letters: DeadLetters,
        drained: Arc<Completion>,
    ) -> NormaliserShard {
        NormaliserShard {
            normaliser,
            input,
            outputs: Some(outputs),
            by_entity: false,
            metrics,
            dead_letters,
            drained,
            finished: false,
            slots: std::cell::RefCell::default(),
        }
    }

    /// Sends each batch's events to the output that owns their entity (the scorer shards).
    pub fn split_by_entity(mut self) -> NormaliserShard {
        self.by_entity = true;
        self
    }

    /// The batch's events grouped by the output that owns their entity; events without one go
    /// to the flow's output.
    fn split(&self, flow: u64, events: Vec<Event>, n: usize) -> Vec<Vec<Event>> {
        let mut parts: Vec<Vec<Event>> = (0..n).map(|_| Vec::new()).collect();
        let by_flow = (flow % n as u64) as usize;
        for e in events {
            let i = e
                .entity
                .or(e.device.hostname)
                .map_or(by_flow, |entity| crate::scorer::shard_of(entity, n));
            parts[i].push(e);
        }
        parts
    }

    fn normalise(&self, batch: &RawBatch) -> Vec<Event> {
        #[cfg(feature = "testsuite")]
        if batch
            .frames
            .iter()
            .any(|f| f.data.as_ref() == TEST_POISON_LINE)
        {
            panic!("test poison batch");
        }
        let meta = FrameMeta {
            source: batch.source,
            received_ns: batch.received_ns,
            peer: batch.peer,
            vendor: batch.vendor,
        };
        // Results come back grouped by vendor; each lands in its frame's slot so the batch's
        // events keep the input order.
        let mut slots = self.slots.borrow_mut();
        slots.clear();
        slots.resize_with(batch.frames.len(), || None);
        self.normaliser
            .normalise_batch(&batch.frames, &meta, |i, result| match result {
                Ok(event) => slots[i] = Some(event),
                Err(e) => {
                    self.metrics.parse_errors.add(e.reason(), 1);
                    self.dead_letters.write(
                        self.origin(batch),
                        e.reason(),
                        &e.to_string(),
                        &batch.frames[i].data,
                    );
                }
            });
        slots.drain(..).flatten().collect()
    }

    fn origin<'a>(&'a self, batch: &'a RawBatch) -> DeadLetterOrigin<'a> {
        DeadLetterOrigin {
            source: batch.source.as_str(),
            stage: &self.metrics.name,
            received_ns: batch.received_ns,
        }
    }
}

impl Actor for NormaliserShard {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        if !self.finished {
            ctx.add_stream(self.input.stream());
        }
    }
}

impl Supervised for NormaliserShard {
    fn restarting(&mut self, _ctx: &mut Context<Self>) {
        self.metrics.restarts.fetch_add(1, Relaxed);
        tracing::warn!(actor = %self.metrics.name, "restarting after a failure");
    }
}

impl StreamHandler<RawBatch> for NormaliserShard {
    fn handle(&mut self, batch: RawBatch, ctx: &mut Context<Self>) {
        let n = batch.frames.len() as u64;
        self.metrics.events_in.fetch_add(n, Relaxed);
        match guarded(&self.metrics, || self.normalise(&batch)) {
            Ok(events) => {
                self.metrics.batches.fetch_add(1, Relaxed);
                if events.is_empty() {
                    return;
                }
                let count = events.len() as u64;
                let Some(outputs) = self.outputs.as_ref() else {
                    self.metrics.dropped.add("shutting_down", count);
                    return;
                };
                if self.by_entity && outputs.len() > 1 {
                    let parts = self.split(batch.flow, events, outputs.len());
                    for (tx, events) in outputs.iter().zip(parts) {
                        if events.is_empty() {
                            continue;
                        }
                        let n = events.len() as u64;
                        let out = EventBatch {
                            flow: batch.flow,
                            events,
                        };
                        if forward(ctx, tx, out) {
                            self.metrics.events_out.fetch_add(n, Relaxed);
                        } else {
                            self.metrics.dropped.add("downstream_closed", n);
                        }
                    }
                    return;
                }
                let tx = &outputs[(batch.flow % outputs.len() as u64) as usize];
                let out = EventBatch {
                    flow: batch.flow,
                    events,
                };
                if forward(ctx, tx, out) {
                    self.metrics.events_out.fetch_add(count, Relaxed);
                } else {
                    self.metrics.dropped.add("downstream_closed", count);
                }
            }
            Err(panic) => {
                tracing::error!(actor = %self.metrics.name, panic = %panic, frames = n, "handler panicked; batch dead-lettered");
                self.metrics.dead_lettered.fetch_add(n, Relaxed);
                self.dead_letters.write_all(
                    self.origin(&batch),
                    "panic",
                    &panic,
                    batch.frames.iter().map(|f| f.data.as_ref()),
                );
                actix::ActorContext::stop(ctx);
            }
        }
    }

    fn finished(&mut self, _ctx: &mut Context<Self>) {
        // Input closed and drained: release the routers' links so they can drain too. The actor
        // stays idle (not stopped) so its supervisor does not restart it.
        self.finished = true;
        self.outputs = None;
        self.metrics
            .drained
            .store(true, std::sync::atomic::Ordering::Release);
        self.drained.done();
    }
}
