//! Router shards: decide where each batch of events goes. With no rules configured every batch
//! takes the default route (the configured default targets). One batch reaches several targets
//! as one shared `Arc`, never copied.

use crate::batch::{EventBatch, TargetBatch};
use crate::link::SharedReceiver;
use crate::metrics::StageMetrics;
use crate::stage::{forward, guarded, Completion};
use actix::{Actor, AsyncContext, Context, StreamHandler, Supervised};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use tokio::sync::mpsc::Sender;

/// One router shard.
#[derive(Debug)]
pub struct RouterShard {
    input: SharedReceiver<EventBatch>,
    default_route: Option<Vec<Sender<TargetBatch>>>,
    metrics: Arc<StageMetrics>,
    drained: Arc<Completion>,
    finished: bool,
}

impl RouterShard {
    /// A shard reading `input` and sending every batch to each of `default_route`.
    pub fn new(
        input: SharedReceiver<EventBatch>,
        default_route: Vec<Sender<TargetBatch>>,
        metrics: Arc<StageMetrics>,
        drained: Arc<Completion>,
    ) -> RouterShard {
        RouterShard {
            input,
            default_route: Some(default_route),
            metrics,
            drained,
            finished: false,
        }
    }
}

impl Actor for RouterShard {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        if !self.finished {
            ctx.add_stream(self.input.stream());
        }
    }
}

impl Supervised for RouterShard {
    fn restarting(&mut self, _ctx: &mut Context<Self>) {
        self.metrics.restarts.fetch_add(1, Relaxed);
        tracing::warn!(actor = %self.metrics.name, "restarting after a failure");
    }
}

impl StreamHandler<EventBatch> for RouterShard {
    fn handle(&mut self, batch: EventBatch, ctx: &mut Context<Self>) {
        let n = batch.events.len() as u64;
        self.metrics.events_in.fetch_add(n, Relaxed);
        let Some(route) = self.default_route.as_ref() else {
            self.metrics.dropped.add("shutting_down", n);
            return;
        };
        if route.is_empty() {
            self.metrics.dropped.add("no_route", n);
            self.metrics.batches.fetch_add(1, Relaxed);
            return;
        }
        let shared: TargetBatch = Arc::new(batch);
        let sent = guarded(&self.metrics, || {
            route
                .iter()
                .map(|tx| forward(ctx, tx, shared.clone()))
                .filter(|ok| !ok)
                .count()
        });
        match sent {
            Ok(closed) => {
                self.metrics.batches.fetch_add(1, Relaxed);
                self.metrics.events_out.fetch_add(n, Relaxed);
                if closed > 0 {
                    self.metrics
                        .dropped
                        .add("downstream_closed", n * closed as u64);
                }
            }
            Err(panic) => {
                tracing::error!(actor = %self.metrics.name, panic = %panic, "router panicked");
                self.metrics.dropped.add("panic", n);
                actix::ActorContext::stop(ctx);
            }
        }
    }

    fn finished(&mut self, _ctx: &mut Context<Self>) {
        self.finished = true;
        self.default_route = None;
        self.metrics
            .drained
            .store(true, std::sync::atomic::Ordering::Release);
        self.drained.done();
    }
}
