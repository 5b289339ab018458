//! Scorer shards: between the normaliser shards and the router shards. Each owns the entities
//! whose key hashes to it (the normalisers split their batches by it), so entity state needs no
//! lock. A batch is scored in place (every event gets its entity's `tocsin.score`) and passed on;
//! windows that close become anomalies, which are kept for the API ([`AnomalyStore`]) and sent
//! to the router as Detection Findings (class 2004).
//!
//! Windows close on event time. When traffic stops, event time stops too: a shard that has had
//! no batch for a window and its lateness moves its clock on by the wall time that passed, so
//! the last windows of a quiet estate still close. On drain every open window is closed and
//! scored before the shard lets the routers finish.

use crate::batch::EventBatch;
use crate::correlator::{CorrelatorInput, TopologyHandle};
use crate::link::SharedReceiver;
use crate::metrics::StageMetrics;
use crate::stage::{forward, guarded, Completion};
use actix::{Actor, AsyncContext, Context, StreamHandler, Supervised};
use std::collections::VecDeque;
use std::net::IpAddr;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tocsin_engine::schema::{Event, Symbol, CLASS_DETECTION_FINDING};
use tocsin_engine::score::anomaly::{Anomaly, AnomalyKind, EventScore};
use tocsin_engine::score::scorer::Scorer;
use tokio::sync::mpsc::Sender;

/// The scorer shard an entity belongs to, of `n`.
pub fn shard_of(entity: Symbol, n: usize) -> usize {
    use std::hash::BuildHasher;
    (rustc_hash::FxBuildHasher.hash_one(entity) % n.max(1) as u64) as usize
}

/// Scoring counters of one shard, for `/metrics` and the API.
#[derive(Debug)]
pub struct ScorerMetrics {
    pub name: String,
    pub entities: AtomicU64,
    pub evicted: AtomicU64,
    pub expired: AtomicU64,
    pub late: AtomicU64,
    pub no_entity: AtomicU64,
    pub windows: AtomicU64,
    pub anomalies: AtomicU64,
    pub suppressed: AtomicU64,
    /// Windows the LSTM did not score (no free slot, or libtorch failed).
    pub lstm_skipped: AtomicU64,
    /// Version of the LSTM the shard scores with (0: none).
    pub lstm_version: AtomicU64,
    /// Anomalies by kind, in [`AnomalyKind::ALL`] order.
    pub by_kind: [AtomicU64; 7],
    /// Flows for topology learning the correlator's full link refused.
    pub flows_dropped: AtomicU64,
}

impl ScorerMetrics {
    pub fn new(name: String) -> Arc<ScorerMetrics> {
        Arc::new(ScorerMetrics {
            name,
            entities: AtomicU64::new(0),
            evicted: AtomicU64::new(0),
            expired: AtomicU64::new(0),
            late: AtomicU64::new(0),
            no_entity: AtomicU64::new(0),
            windows: AtomicU64::new(0),
            anomalies: AtomicU64::new(0),
            suppressed: AtomicU64::new(0),
            lstm_skipped: AtomicU64::new(0),
            lstm_version: AtomicU64::new(0),
            by_kind: Default::default(),
            flows_dropped: AtomicU64::new(0),
        })
    }

    fn publish(&self, scorer: &Scorer) {
        let c = scorer.counters();
        self.lstm_skipped.store(c.lstm_skipped, Relaxed);
        self.lstm_version
            .store(scorer.lstm_version().unwrap_or(0), Relaxed);
        self.entities.store(c.entities, Relaxed);
        self.evicted.store(c.evicted, Relaxed);
        self.expired.store(c.expired, Relaxed);
        self.late.store(c.late, Relaxed);
        self.no_entity.store(c.no_entity, Relaxed);
        self.windows.store(c.windows, Relaxed);
        self.anomalies.store(c.anomalies, Relaxed);
        self.suppressed.store(c.suppressed, Relaxed);
    }
}

/// The latest anomalies, for `GET /api/v1/anomalies` (every anomaly also goes to the router,
/// whose targets keep them). Bounded: the oldest make room, counted.
#[derive(Debug)]
pub struct AnomalyStore {
    kept: Mutex<VecDeque<Arc<Anomaly>>>,
    cap: usize,
    /// Anomalies that left the store to make room (still delivered to the targets).
    pub rotated: AtomicU64,
}

/// A query of [`AnomalyStore::query`].
#[derive(Debug, Default, Clone)]
pub struct AnomalyQuery {
    pub entity: Option<String>,
    pub kind: Option<AnomalyKind>,
    /// Window end at or after this, event-time ms.
    pub since: Option<i64>,
    pub min_score: Option<f64>,
    pub limit: usize,
}

impl AnomalyStore {
    pub fn new(cap: usize) -> Arc<AnomalyStore> {
        Arc::new(AnomalyStore {
            kept: Mutex::new(VecDeque::new()),
            cap: cap.max(1),
            rotated: AtomicU64::new(0),
        })
    }

    pub fn push(&self, a: Arc<Anomaly>) {
        let mut kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        if kept.len() >= self.cap {
            kept.pop_front();
            self.rotated.fetch_add(1, Relaxed);
        }
        kept.push_back(a);
    }

    pub fn len(&self) -> usize {
        self.kept.lock().map(|k| k.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Matching anomalies, oldest first, the newest `limit` of them.
    pub fn query(&self, q: &AnomalyQuery) -> Vec<Arc<Anomaly>> {
        let kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        let mut hits: Vec<Arc<Anomaly>> = kept
            .iter()
            .rev()
            .filter(|a| q.entity.as_deref().is_none_or(|e| a.entity.as_str() == e))
            .filter(|a| q.kind.is_none_or(|k| a.kind == k))
            .filter(|a| q.since.is_none_or(|t| a.window_end_ms >= t))
            .filter(|a| q.min_score.is_none_or(|s| a.score >= s))
            .take(q.limit.max(1))
            .cloned()
            .collect();
        hits.reverse();
        hits
    }

    /// One anomaly by id.
    pub fn get(&self, id: &str) -> Option<Arc<Anomaly>> {
        let kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        kept.iter().rev().find(|a| a.id == id).cloned()
    }
}

/// The Detection Finding event an anomaly is sent to the router as.
pub fn finding_event(a: &Anomaly) -> Event {
    Event {
        time: a.window_end_ms,
        received_ns: a.detected_ns,
        severity_id: a.severity_id(),
        class_uid: CLASS_DETECTION_FINDING,
        activity_name: Some(Symbol::intern("Create")),
        message: tocsin_engine::schema::Text::from_string(a.title()),
        device: tocsin_engine::schema::Device {
            hostname: Some(a.entity),
            ip: None,
        },
        source: Some(Symbol::intern("scorer")),
        entity: Some(a.entity),
        product: Some(Symbol::intern("tocsin")),
        event_code: Some(Symbol::intern(a.kind.as_str())),
        score: Some(EventScore {
            score: a.score as f32,
            parts: a.parts,
        }),
        finding: Some(Box::new(a.clone())),
        ..Event::default()
    }
}

/// A new LSTM for a shard, swapped in between batches.
#[cfg(feature = "lstm")]
#[derive(Debug, actix::Message)]
#[rtype(result = "()")]
pub struct SwapLstm {
    pub model: tocsin_engine::score::lstm::LstmModel,
    pub version: u64,
}

#[cfg(feature = "lstm")]
impl actix::Handler<SwapLstm> for ScorerShard {
    type Result = ();

    fn handle(&mut self, msg: SwapLstm, _: &mut Context<Self>) {
        tocsin_engine::score::lstm::use_one_thread();
        match self.scorer.set_lstm(msg.model, msg.version) {
            Ok(()) => {
                self.scoring.publish(&self.scorer);
                tracing::info!(actor = %self.metrics.name, version = msg.version, "LSTM in use")
            }
            Err(e) => {
                tracing::error!(actor = %self.metrics.name, error = %e, "LSTM not taken; the shard keeps scoring without it")
            }
        }
    }
}

/// One scorer shard.
#[derive(Debug)]
pub struct ScorerShard {
    scorer: Scorer,
    input: SharedReceiver<EventBatch>,
    outputs: Option<Vec<Sender<EventBatch>>>,
    metrics: Arc<StageMetrics>,
    scoring: Arc<ScorerMetrics>,
    store: Arc<AnomalyStore>,
    drained: Arc<Completion>,
    finished: bool,
    /// Wall time of the last batch, and the clock the idle tick moves on from.
    last_batch: Instant,
    idle_clock: i64,
    found: Vec<Anomaly>,
    /// The correlator's link, and the topology whose addresses' flows it learns from.
    correlator: Option<Sender<CorrelatorInput>>,
    topology: Option<Arc<TopologyHandle>>,
    /// Flows between two topology addresses seen since the last send (deduplicated).
    flows: rustc_hash::FxHashMap<(IpAddr, IpAddr), i64>,
    /// Whether a quiet shard moves its clock on by wall time (off in a replay).
    idle_clock_on: bool,
}

impl ScorerShard {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        scorer: Scorer,
        input: SharedReceiver<EventBatch>,
        outputs: Vec<Sender<EventBatch>>,
        metrics: Arc<StageMetrics>,
        scoring: Arc<ScorerMetrics>,
        store: Arc<AnomalyStore>,
        drained: Arc<Completion>,
    ) -> ScorerShard {
        ScorerShard {
            scorer,
            input,
            outputs: Some(outputs),
            metrics,
            scoring,
            store,
            drained,
            finished: false,
            last_batch: Instant::now(),
            idle_clock: i64::MIN,
            found: Vec::new(),
            correlator: None,
            topology: None,
            flows: Default::default(),
            idle_clock_on: true,
        }
    }

    /// Whether a quiet shard moves its event-time clock on by the wall time that passes.
    pub fn with_idle_clock(mut self, on: bool) -> ScorerShard {
        self.idle_clock_on = on;
        self
    }

    /// Sends the shard's anomalies (and, with `topology` learning, the flows between its
    /// nodes' addresses) to the correlator too.
    pub fn with_correlator(
        mut self,
        correlator: Sender<CorrelatorInput>,
        topology: Arc<TopologyHandle>,
    ) -> ScorerShard {
        self.correlator = Some(correlator);
        if topology.learn.is_some() {
            self.topology = Some(topology);
        }
        self
    }

    /// Notes the flows of `events` between two addresses of the topology.
    fn note_flows(&mut self, events: &[Event]) {
        let Some(topology) = &self.topology else {
            return;
        };
        let known = topology.addresses();
        if known.is_empty() {
            return;
        }
        for e in events {
            if let Some((src, dst)) = tocsin_engine::correlate::flow_endpoints(e) {
                if known.contains(&src) && known.contains(&dst) {
                    let t = self.flows.entry((src, dst)).or_insert(e.time);
                    *t = (*t).max(e.time);
                }
            }
        }
    }

    /// Hands the correlator the anomalies found (with backpressure: none is lost) and the
    /// flows noted (without: learning may lose a flow under pressure, counted).
    fn send_to_correlator(&mut self, ctx: &mut Context<Self>, anomalies: Vec<Arc<Anomaly>>) {
        let Some(tx) = self.correlator.as_ref() else {
            return;
        };
        if anomalies.is_empty() && self.flows.is_empty() {
            return;
        }
        let mut flows: Vec<(IpAddr, IpAddr, i64)> =
            self.flows.drain().map(|((s, d), t)| (s, d, t)).collect();
        flows.sort_unstable();
        let input = CorrelatorInput {
            anomalies,
            flows,
            watermark: self.scorer.watermark(),
        };
        if input.anomalies.is_empty() && self.idle_clock_on {
            // Live, learning may lose a flow under pressure (counted) rather than slow the
            // scoring; a replay waits, so the edges it learns do not depend on thread timing.
            if let Err(e) = tx.try_send(input) {
                let n = match e {
                    tokio::sync::mpsc::error::TrySendError::Full(i)
                    | tokio::sync::mpsc::error::TrySendError::Closed(i) => i.flows.len(),
                };
                self.scoring.flows_dropped.fetch_add(n as u64, Relaxed);
            }
        } else {
            let n = input.anomalies.len() as u64;
            if !forward(ctx, tx, input) {
                self.metrics.dropped.add("correlator_closed", n);
            }
        }
    }

    /// Publishes the shard's counters (and the LSTM version it starts with).
    pub fn published(self) -> ScorerShard {
        self.scoring.publish(&self.scorer);
        self
    }

    /// Keeps and sends the anomalies found.
    fn emit(&mut self, ctx: &mut Context<Self>, flow: u64) {
        if self.found.is_empty() {
            return;
        }
        let found = std::mem::take(&mut self.found);
        let mut events = Vec::with_capacity(found.len());
        let mut shared = Vec::with_capacity(if self.correlator.is_some() {
            found.len()
        } else {
            0
        });
        for a in found {
            let k = AnomalyKind::ALL
                .iter()
                .position(|x| *x == a.kind)
                .unwrap_or(0);
            self.scoring.by_kind[k].fetch_add(1, Relaxed);
            events.push(finding_event(&a));
            let a = Arc::new(a);
            if self.correlator.is_some() {
                shared.push(a.clone());
            }
            self.store.push(a);
        }
        self.send_to_correlator(ctx, shared);
        self.send(ctx, EventBatch { flow, events });
    }

    fn send(&mut self, ctx: &mut Context<Self>, batch: EventBatch) {
        let count = batch.events.len() as u64;
        let Some(outputs) = self.outputs.as_ref() else {
            self.metrics.dropped.add("shutting_down", count);
            return;
        };
        let tx = &outputs[(batch.flow % outputs.len() as u64) as usize];
        if forward(ctx, tx, batch) {
            self.metrics.events_out.fetch_add(count, Relaxed);
        } else {
            self.metrics.dropped.add("downstream_closed", count);
        }
    }

    /// Moves the clock on when no batch came for a window and its lateness.
    fn idle_tick(&mut self, ctx: &mut Context<Self>) {
        let s = self.scorer.settings();
        let quiet = Duration::from_millis((s.window.len_ms + s.window.lateness_ms).max(1) as u64);
        let since = self.last_batch.elapsed();
        if !self.idle_clock_on
            || self.finished
            || since < quiet
            || self.scorer.watermark() == i64::MIN
        {
            return;
        }
        let base = self.idle_clock.max(self.scorer.watermark());
        let now = base.saturating_add(since.as_millis().min(i64::MAX as u128) as i64);
        self.idle_clock = now;
        self.last_batch = Instant::now();
        let mut found = std::mem::take(&mut self.found);
        self.scorer.tick(now, &mut found);
        self.found = found;
        self.scoring.publish(&self.scorer);
        self.emit(ctx, 0);
    }
}

impl Actor for ScorerShard {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        if !self.finished {
            ctx.add_stream(self.input.stream());
            let every = Duration::from_millis(self.scorer.settings().window.len_ms.max(100) as u64);
            ctx.run_interval(every, |act, ctx| act.idle_tick(ctx));
        }
    }
}

impl Supervised for ScorerShard {
    fn restarting(&mut self, _ctx: &mut Context<Self>) {
        self.metrics.restarts.fetch_add(1, Relaxed);
        tracing::warn!(actor = %self.metrics.name, "restarting after a failure");
    }
}

impl StreamHandler<EventBatch> for ScorerShard {
    fn handle(&mut self, mut batch: EventBatch, ctx: &mut Context<Self>) {
        let n = batch.events.len() as u64;
        self.metrics.events_in.fetch_add(n, Relaxed);
        self.last_batch = Instant::now();
        self.idle_clock = i64::MIN;
        let mut found = std::mem::take(&mut self.found);
        let scorer = &mut self.scorer;
        let result = guarded(&self.metrics, || {
            scorer.score_batch(&mut batch.events, &mut found)
        });
        self.found = found;
        self.metrics.batches.fetch_add(1, Relaxed);
        self.scoring.publish(&self.scorer);
        self.note_flows(&batch.events);
        let flow = batch.flow;
        // Events are passed on even when scoring them failed: scoring never costs an event.
        self.send(ctx, batch);
        if self.found.is_empty() {
            // No anomaly: the flows noted still go to the correlator.
            self.send_to_correlator(ctx, Vec::new());
        }
        self.emit(ctx, flow);
        if let Err(panic) = result {
            tracing::error!(actor = %self.metrics.name, panic = %panic, "scorer panicked; the batch went on unscored");
            actix::ActorContext::stop(ctx);
        }
    }

    fn finished(&mut self, ctx: &mut Context<Self>) {
        // Input closed and drained: close every window, send what it finds, then release the
        // routers' links so they can drain too.
        let mut found = std::mem::take(&mut self.found);
        self.scorer.flush(&mut found);
        self.found = found;
        self.scoring.publish(&self.scorer);
        self.emit(ctx, 0);
        self.send_to_correlator(ctx, Vec::new());
        self.finished = true;
        self.outputs = None;
        self.correlator = None;
        self.metrics
            .drained
            .store(true, std::sync::atomic::Ordering::Release);
        self.drained.done();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn anomaly(entity: &str, kind: AnomalyKind, end: i64, score: f64) -> Arc<Anomaly> {
        Arc::new(Anomaly {
            id: Anomaly::id_for(entity, kind, end - 10_000),
            entity: Symbol::intern(entity),
            class: Symbol::intern("x"),
            kind,
            window_start_ms: end - 10_000,
            window_end_ms: end,
            score,
            parts: Default::default(),
            signals: Default::default(),
            rules: Default::default(),
            detected_ns: 0,
        })
    }

    #[test]
    fn the_store_is_bounded_and_filters() {
        let s = AnomalyStore::new(3);
        s.push(anomaly("a", AnomalyKind::BruteForce, 10_000, 0.9));
        s.push(anomaly("b", AnomalyKind::VolumeSpike, 20_000, 0.75));
        s.push(anomaly("a", AnomalyKind::ErrorBurst, 30_000, 0.8));
        s.push(anomaly("c", AnomalyKind::BruteForce, 40_000, 1.0));
        assert_eq!(s.len(), 3);
        assert_eq!(s.rotated.load(Relaxed), 1);
        let all = s.query(&AnomalyQuery {
            limit: 10,
            ..Default::default()
        });
        assert_eq!(
            all.iter().map(|a| a.window_end_ms).collect::<Vec<_>>(),
            [20_000, 30_000, 40_000]
        );
        let a = s.query(&AnomalyQuery {
            entity: Some("a".into()),
            limit: 10,
            ..Default::default()
        });
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].kind, AnomalyKind::ErrorBurst);
        let brute = s.query(&AnomalyQuery {
            kind: Some(AnomalyKind::BruteForce),
            since: Some(35_000),
            limit: 10,
            ..Default::default()
        });
        assert_eq!(brute.len(), 1);
        let newest = s.query(&AnomalyQuery {
            min_score: Some(0.76),
            limit: 1,
            ..Default::default()
        });
        assert_eq!(newest[0].entity.as_str(), "c");
        assert!(s.get(&all[0].id).is_some());
        assert!(s.get("an-0").is_none());
    }

    #[test]
    fn a_finding_event_carries_the_anomaly() {
        let a = anomaly("fw-01", AnomalyKind::BruteForce, 20_000, 0.97);
        let e = finding_event(&a);
        assert_eq!(e.class_uid, CLASS_DETECTION_FINDING);
        assert_eq!(e.entity.map(|s| s.as_str()), Some("fw-01"));
        assert_eq!(e.severity_id, tocsin_engine::schema::severity::CRITICAL);
        let mut json = Vec::new();
        tocsin_engine::schema::json::write_event(&e, &mut json);
        let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(v["class_name"], "Detection Finding");
        assert_eq!(v["finding_info"]["types"][0], "brute_force");
        assert_eq!(v["finding_info"]["uid"], a.id.as_str());
        assert_eq!(v["tocsin"]["score"], 0.97);
        assert_eq!(v["tocsin"]["anomaly"]["entity"], "fw-01");
        assert_eq!(v["tocsin"]["anomaly"]["window"]["end"], 20_000);
        assert_eq!(v["tocsin"]["detectors"]["rules"], 0);
    }

    #[test]
    fn entities_spread_over_the_shards_and_each_keeps_to_one() {
        let mut seen = [0usize; 4];
        for i in 0..400 {
            let e = Symbol::intern(&format!("dev-{i}"));
            let s = shard_of(e, 4);
            assert_eq!(s, shard_of(e, 4));
            seen[s] += 1;
        }
        assert!(seen.iter().all(|n| *n > 50), "{seen:?}");
    }
}
