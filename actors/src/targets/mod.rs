//! Target (sink) actors: write routed events out and record end-to-end latency.
//!
//! A [`TargetActor`] owns one [`SinkWriter`] (file, tcp, stdout, blackhole) and its input link. It
//! records `now - receive time` of every event it writes into the target's hdrhistogram, which
//! is the end-to-end latency the API and `tocsin-bench` report.

pub mod deliver;
mod file;
mod tcp;

pub use deliver::Outbound;
pub use file::FileSink;
pub use tcp::TcpSink;

use crate::batch::TargetBatch;
use crate::deadletter::{DeadLetterOrigin, DeadLetters};
use crate::link::SharedReceiver;
use crate::metrics::{StageMetrics, TargetMetrics};
use crate::stage::{guarded, Completion, PauseSwitch};
use actix::{Actor, ActorFutureExt, AsyncContext, Context, StreamHandler, Supervised};
use std::io::Write;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use tocsin_engine::schema::{json, Event};

/// Where a target's events go.
pub trait SinkWriter: Send + std::fmt::Debug {
    /// Writes a batch; returns the bytes written.
    fn write_batch(&mut self, events: &[Event], scratch: &mut Vec<u8>) -> std::io::Result<u64>;
    /// Makes everything written so far durable to the OS.
    fn flush(&mut self) -> std::io::Result<()>;
    /// File rotations so far (0 for targets that do not rotate).
    fn rotations(&self) -> u64 {
        0
    }
    /// Connections re-established after the first one (0 for targets without a connection).
    fn reconnects(&self) -> u64 {
        0
    }
}

/// Appends the NDJSON form of `events` to `out`.
pub fn encode_ndjson(events: &[Event], out: &mut Vec<u8>) {
    for event in events {
        json::write_event(event, out);
        out.push(b'\n');
    }
}

/// Writes NDJSON to standard output.
#[derive(Debug, Default)]
pub struct StdoutSink;

impl SinkWriter for StdoutSink {
    fn write_batch(&mut self, events: &[Event], scratch: &mut Vec<u8>) -> std::io::Result<u64> {
        scratch.clear();
        encode_ndjson(events, scratch);
        let mut out = std::io::stdout().lock();
        out.write_all(scratch)?;
        Ok(scratch.len() as u64)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stdout().flush()
    }
}

/// Discards events (counted as delivered): for load tests of everything before the sink.
#[derive(Debug, Default)]
pub struct BlackholeSink;

impl SinkWriter for BlackholeSink {
    fn write_batch(&mut self, _events: &[Event], _scratch: &mut Vec<u8>) -> std::io::Result<u64> {
        Ok(0)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// One target actor.
#[derive(Debug)]
pub struct TargetActor {
    writer: Box<dyn SinkWriter>,
    input: SharedReceiver<TargetBatch>,
    stage: Arc<StageMetrics>,
    metrics: Arc<TargetMetrics>,
    dead_letters: DeadLetters,
    drained: Arc<Completion>,
    pause: Arc<PauseSwitch>,
    scratch: Vec<u8>,
    finished: bool,
}

impl TargetActor {
    /// A target writing with `writer`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        writer: Box<dyn SinkWriter>,
        input: SharedReceiver<TargetBatch>,
        stage: Arc<StageMetrics>,
        metrics: Arc<TargetMetrics>,
        dead_letters: DeadLetters,
        drained: Arc<Completion>,
        pause: Arc<PauseSwitch>,
    ) -> TargetActor {
        TargetActor {
            writer,
            input,
            stage,
            metrics,
            dead_letters,
            drained,
            pause,
            scratch: Vec::with_capacity(1 << 20),
            finished: false,
        }
    }

    fn deliver(&mut self, batch: &TargetBatch, ctx: &mut Context<Self>) {
        let events = &batch.events;
        let n = events.len() as u64;
        let writer = &mut self.writer;
        let scratch = &mut self.scratch;
        let written = guarded(&self.stage, || {
            let bytes = writer.write_batch(events, scratch)?;
            writer.flush()?;
            Ok::<u64, std::io::Error>(bytes)
        });
        match written {
            Ok(Ok(bytes)) => {
                let now = tocsin_engine::clock::now_ns();
                if let Ok(mut h) = self.metrics.latency_us.lock() {
                    for e in events.iter() {
                        h.saturating_record(now.saturating_sub(e.received_ns) / 1000);
                    }
                }
                self.metrics.bytes_out.fetch_add(bytes, Relaxed);
                self.record_writer_counters();
                self.stage.events_out.fetch_add(n, Relaxed);
                self.stage.batches.fetch_add(1, Relaxed);
            }
            Ok(Err(e)) => {
                self.metrics.errors.fetch_add(1, Relaxed);
                self.record_writer_counters();
                tracing::error!(target = %self.metrics.name, error = %e, events = n, "write failed; batch dead-lettered");
                self.dead_letter(events, "target_write_failed", &e.to_string());
                self.stage.batches.fetch_add(1, Relaxed);
            }
            Err(panic) => {
                tracing::error!(target = %self.metrics.name, panic = %panic, "target panicked; batch dead-lettered");
                self.dead_letter(events, "panic", &panic);
                actix::ActorContext::stop(ctx);
            }
        }
    }

    /// Copies the writer's own counters (rotations, reconnects) into the target's metrics.
    fn record_writer_counters(&self) {
        let m = &self.metrics;
        m.rotations.store(self.writer.rotations(), Relaxed);
        m.reconnects.store(self.writer.reconnects(), Relaxed);
    }

    fn dead_letter(&self, events: &[Event], reason: &'static str, error: &str) {
        self.stage
            .dead_lettered
            .fetch_add(events.len() as u64, Relaxed);
        let mut line = Vec::with_capacity(512);
        let lines: Vec<Vec<u8>> = events
            .iter()
            .map(|e| {
                line.clear();
                json::write_event(e, &mut line);
                line.clone()
            })
            .collect();
        let origin = DeadLetterOrigin {
            source: events
                .first()
                .and_then(|e| e.source)
                .map(|s| s.as_str())
                .unwrap_or(""),
            stage: &self.stage.name,
            received_ns: events.first().map(|e| e.received_ns).unwrap_or(0),
        };
        self.dead_letters
            .write_all(origin, reason, error, lines.iter().map(|l| l.as_slice()));
    }
}

impl Actor for TargetActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        if !self.finished {
            ctx.add_stream(self.input.stream());
        }
    }
}

impl Supervised for TargetActor {
    fn restarting(&mut self, _ctx: &mut Context<Self>) {
        self.stage.restarts.fetch_add(1, Relaxed);
        tracing::warn!(target = %self.metrics.name, "restarting after a failure");
    }
}

impl StreamHandler<TargetBatch> for TargetActor {
    fn handle(&mut self, batch: TargetBatch, ctx: &mut Context<Self>) {
        self.stage
            .events_in
            .fetch_add(batch.events.len() as u64, Relaxed);
        if self.pause.is_paused() {
            let pause = self.pause.clone();
            ctx.wait(
                actix::fut::wrap_future(async move { pause.wait_resumed().await })
                    .map(move |_, act: &mut TargetActor, ctx| act.deliver(&batch, ctx)),
            );
            return;
        }
        self.deliver(&batch, ctx);
    }

    fn finished(&mut self, _ctx: &mut Context<Self>) {
        if let Err(e) = self.writer.flush() {
            self.metrics.errors.fetch_add(1, Relaxed);
            tracing::error!(target = %self.metrics.name, error = %e, "final flush failed");
        }
        self.finished = true;
        self.stage
            .drained
            .store(true, std::sync::atomic::Ordering::Release);
        self.drained.done();
    }
}
