//! The correlator: one actor, on its own arbiter, between the scorer shards and the router
//! shards. It folds every anomaly into an incident (`tocsin_engine::correlate`), ranks each
//! incident's probable root cause on the topology, keeps incidents for the API
//! ([`IncidentStore`]) and sends each new state of an incident to the routers as a Detection
//! Finding, where the rules route it and the alert manager keeps one alert per incident.
//!
//! - Input: [`CorrelatorInput`] from the scorer shards over a bounded link: the anomalies a
//!   batch closed (sent with backpressure, never dropped), the flows seen between known
//!   addresses (for learning `connects_to` edges) and the shard's event-time watermark.
//! - Time: incidents resolve on event time. When no input comes for a while the clock moves
//!   on by the wall time that passed, so a quiet estate's incidents still resolve.
//! - Latency: from an anomaly's detection (wall clock in the scorer) to its incident's state
//!   leaving the correlator, in `tocsin_correlation_latency_seconds`.
//! - Drain: when every scorer shard has let go of its link, the last changes are sent and the
//!   routers' links released.

mod store;
mod topology;

pub use store::{IncidentQuery, IncidentStore};
pub use topology::{TopologyChangeError, TopologyHandle};

use crate::batch::EventBatch;
use crate::link::SharedReceiver;
use crate::metrics::StageMetrics;
use crate::stage::{forward, guarded, Completion};
use actix::{Actor, AsyncContext, Context, StreamHandler, Supervised};
use hdrhistogram::Histogram;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tocsin_engine::correlate::{Correlator, Incident};
use tocsin_engine::schema::{Event, Symbol, CLASS_DETECTION_FINDING};
use tocsin_engine::score::anomaly::{Anomaly, DetectorParts, EventScore};
use tokio::sync::mpsc::Sender;

/// What a scorer shard sends the correlator.
#[derive(Debug, Default)]
pub struct CorrelatorInput {
    /// Anomalies, in the order the shard found them.
    pub anomalies: Vec<Arc<Anomaly>>,
    /// Flows between two addresses of the topology: (source, destination, event time).
    pub flows: Vec<(IpAddr, IpAddr, i64)>,
    /// The shard's event-time watermark (ms; `i64::MIN`: none yet).
    pub watermark: i64,
}

/// Correlation counters for `/metrics` and the API.
#[derive(Debug)]
pub struct CorrelatorMetrics {
    pub anomalies: AtomicU64,
    pub deduplicated: AtomicU64,
    pub incidents_created: AtomicU64,
    pub merges: AtomicU64,
    pub resolved: AtomicU64,
    pub forced_resolutions: AtomicU64,
    pub open: AtomicU64,
    /// Incident states sent to the routers as findings.
    pub published: AtomicU64,
    pub flows: AtomicU64,
    pub edges_learned: AtomicU64,
    pub edges_forgotten: AtomicU64,
    /// Learned-edge checkpoints that failed.
    pub learn_save_errors: AtomicU64,
    /// Anomaly detected -> incident published, microseconds.
    pub latency_us: Mutex<Histogram<u64>>,
}

impl Default for CorrelatorMetrics {
    fn default() -> Self {
        CorrelatorMetrics {
            anomalies: AtomicU64::new(0),
            deduplicated: AtomicU64::new(0),
            incidents_created: AtomicU64::new(0),
            merges: AtomicU64::new(0),
            resolved: AtomicU64::new(0),
            forced_resolutions: AtomicU64::new(0),
            open: AtomicU64::new(0),
            published: AtomicU64::new(0),
            flows: AtomicU64::new(0),
            edges_learned: AtomicU64::new(0),
            edges_forgotten: AtomicU64::new(0),
            learn_save_errors: AtomicU64::new(0),
            latency_us: Mutex::new(crate::metrics::new_latency_histogram()),
        }
    }
}

/// How often the correlator looks at its idle clock and checkpoints learned edges.
const TICK: Duration = Duration::from_millis(500);
/// Learned edges are written at most this often while they change.
const LEARN_CHECKPOINT: Duration = Duration::from_secs(60);

/// The correlator actor.
pub struct CorrelatorActor {
    correlator: Correlator,
    topology: Arc<TopologyHandle>,
    input: SharedReceiver<CorrelatorInput>,
    outputs: Option<Vec<Sender<EventBatch>>>,
    store: Arc<IncidentStore>,
    stage: Arc<StageMetrics>,
    metrics: Arc<CorrelatorMetrics>,
    drained: Arc<Completion>,
    incidents_kept: usize,
    /// Event-time clock: the latest watermark or anomaly time seen.
    watermark: i64,
    /// Wall time of the last input, and the clock the idle tick moves on from.
    last_input: Instant,
    /// Detection times (wall ns) of the anomalies folded since the last publish.
    pending: Vec<u64>,
    learned_dirty: bool,
    last_checkpoint: Instant,
    finished: bool,
    /// Whether the clock moves on by wall time when no input comes (off in a replay).
    idle_clock: bool,
}

impl std::fmt::Debug for CorrelatorActor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CorrelatorActor")
            .field("open", &self.correlator.open())
            .field("watermark", &self.watermark)
            .finish()
    }
}

impl CorrelatorActor {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        correlator: Correlator,
        idle_clock: bool,
        topology: Arc<TopologyHandle>,
        input: SharedReceiver<CorrelatorInput>,
        outputs: Vec<Sender<EventBatch>>,
        store: Arc<IncidentStore>,
        stage: Arc<StageMetrics>,
        metrics: Arc<CorrelatorMetrics>,
        drained: Arc<Completion>,
        incidents_kept: usize,
    ) -> CorrelatorActor {
        CorrelatorActor {
            correlator,
            topology,
            input,
            outputs: Some(outputs),
            store,
            stage,
            metrics,
            drained,
            incidents_kept,
            watermark: i64::MIN,
            last_input: Instant::now(),
            pending: Vec::new(),
            learned_dirty: false,
            last_checkpoint: Instant::now(),
            finished: false,
            idle_clock,
        }
    }

    /// Folds one input in (no sending).
    fn fold(&mut self, input: &CorrelatorInput) {
        if !input.flows.is_empty() {
            self.metrics
                .flows
                .fetch_add(input.flows.len() as u64, Relaxed);
            let added = self.topology.learn(&input.flows);
            if added > 0 {
                self.metrics.edges_learned.fetch_add(added as u64, Relaxed);
            }
            self.learned_dirty = true;
        }
        let topo = self.topology.read();
        for a in &input.anomalies {
            self.correlator.observe(a, &topo);
            self.pending.push(a.detected_ns);
        }
        drop(topo);
        self.watermark = self.watermark.max(input.watermark);
        if self.watermark != i64::MIN {
            self.correlator.advance(self.watermark);
        }
        if !self.idle_clock && !input.flows.is_empty() {
            self.decay();
        }
    }

    /// Sends every incident that changed to the routers, keeps it for the API and records
    /// the latency of the anomalies it took in.
    fn publish(&mut self, ctx: &mut Context<Self>) {
        let changes = {
            let topo = self.topology.read();
            self.correlator.changes(&topo)
        };
        self.correlator.forget_closed(self.incidents_kept);
        self.counters();
        if changes.is_empty() {
            return;
        }
        let now_ns = tocsin_engine::clock::now_ns();
        let mut events = Vec::with_capacity(changes.len());
        let mut flow = 0u64;
        for incident in changes {
            let incident = Arc::new(incident);
            self.store.put(incident.clone());
            flow = flow.wrapping_add(tocsin_engine::durable::fnv1a(incident.id.bytes()));
            events.push(incident_event(&incident, now_ns));
        }
        if let Ok(mut h) = self.metrics.latency_us.lock() {
            for detected in self.pending.drain(..) {
                if detected > 0 {
                    let us = now_ns.saturating_sub(detected) / 1000;
                    h.saturating_record(us.max(1));
                }
            }
        }
        self.pending.clear();
        let count = events.len() as u64;
        self.metrics.published.fetch_add(count, Relaxed);
        let Some(outputs) = self.outputs.as_ref() else {
            self.stage.dropped.add("shutting_down", count);
            return;
        };
        // One router shard for all of them, so an incident's states stay in order.
        let tx = &outputs[0];
        if forward(ctx, tx, EventBatch { flow, events }) {
            self.stage.events_out.fetch_add(count, Relaxed);
        } else {
            self.stage.dropped.add("downstream_closed", count);
        }
    }

    fn counters(&self) {
        let c = self.correlator.counters();
        let m = &self.metrics;
        m.anomalies.store(c.anomalies, Relaxed);
        m.deduplicated.store(c.deduplicated, Relaxed);
        m.incidents_created.store(c.incidents_created, Relaxed);
        m.merges.store(c.merges, Relaxed);
        m.resolved.store(c.resolved, Relaxed);
        m.forced_resolutions.store(c.forced_resolutions, Relaxed);
        m.open.store(self.correlator.open() as u64, Relaxed);
    }

    /// Moves the event-time clock on by the wall time that passed when no input came for a
    /// while, decays learned edges, and checkpoints them.
    fn tick(&mut self, ctx: &mut Context<Self>) {
        if self.finished {
            return;
        }
        let since = self.last_input.elapsed();
        if self.idle_clock && since >= TICK && self.watermark != i64::MIN {
            self.watermark = self
                .watermark
                .saturating_add(since.as_millis().min(i64::MAX as u128) as i64);
            self.last_input = Instant::now();
            self.correlator.advance(self.watermark);
            self.publish(ctx);
        }
        // Learned edges fade on event time whether or not input comes (in a replay, at each
        // input instead: the ticks' wall timing must not change what it finds).
        if self.idle_clock {
            self.decay();
        }
        if self.learned_dirty && self.last_checkpoint.elapsed() >= LEARN_CHECKPOINT {
            self.checkpoint();
        }
    }

    /// Forgets learned edges that faded by the event-time clock.
    fn decay(&mut self) {
        if self.watermark == i64::MIN {
            return;
        }
        let gone = self.topology.decay(self.watermark);
        if gone > 0 {
            self.metrics.edges_forgotten.fetch_add(gone as u64, Relaxed);
            self.learned_dirty = true;
        }
    }

    fn checkpoint(&mut self) {
        if self.topology.learn.is_none() {
            return;
        }
        self.last_checkpoint = Instant::now();
        self.learned_dirty = false;
        if let Err(e) = self.topology.save_learned() {
            self.metrics.learn_save_errors.fetch_add(1, Relaxed);
            tracing::warn!(error = %e, "learned edges not saved");
        }
    }
}

/// The Detection Finding (class 2004) that carries one state of an incident.
pub fn incident_event(i: &Arc<Incident>, now_ns: u64) -> Event {
    let entity = i
        .root_cause
        .as_ref()
        .map(|c| c.entity.as_str())
        .or_else(|| i.members.first().map(|m| m.entity.as_str()));
    Event {
        time: i.last_seen,
        received_ns: now_ns,
        severity_id: i.severity_id,
        class_uid: CLASS_DETECTION_FINDING,
        message: tocsin_engine::schema::Text::from_string(i.title.clone()),
        source: Some(Symbol::intern("correlator")),
        entity: entity.map(Symbol::intern),
        product: Some(Symbol::intern("tocsin")),
        event_code: Some(Symbol::intern("incident")),
        score: Some(EventScore {
            score: i.score as f32,
            parts: DetectorParts::default(),
        }),
        incident: Some(i.clone()),
        ..Event::default()
    }
}

impl Actor for CorrelatorActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        if !self.finished {
            ctx.add_stream(self.input.stream());
            ctx.run_interval(TICK, |act, ctx| act.tick(ctx));
        }
    }
}

impl Supervised for CorrelatorActor {
    fn restarting(&mut self, _ctx: &mut Context<Self>) {
        self.stage.restarts.fetch_add(1, Relaxed);
        tracing::warn!("correlator restarting after a failure");
    }
}

impl StreamHandler<CorrelatorInput> for CorrelatorActor {
    fn handle(&mut self, input: CorrelatorInput, ctx: &mut Context<Self>) {
        let n = input.anomalies.len() as u64;
        self.stage.events_in.fetch_add(n, Relaxed);
        self.last_input = Instant::now();
        let stage = self.stage.clone();
        let result = guarded(&stage, || self.fold(&input));
        self.stage.batches.fetch_add(1, Relaxed);
        self.publish(ctx);
        if let Err(panic) = result {
            self.stage.dropped.add("panic", n);
            tracing::error!(panic = %panic, "correlator panicked; the anomalies in hand were not correlated");
            actix::ActorContext::stop(ctx);
        }
    }

    fn finished(&mut self, ctx: &mut Context<Self>) {
        // Every scorer shard has drained: send the last changes, save what was learned,
        // then release the routers' links.
        self.publish(ctx);
        if self.learned_dirty {
            self.checkpoint();
        }
        self.finished = true;
        self.outputs = None;
        self.stage
            .drained
            .store(true, std::sync::atomic::Ordering::Release);
        self.drained.done();
    }
}
