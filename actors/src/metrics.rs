//! Pipeline metrics: plain atomics that actors bump per batch, read by the API as a snapshot.
//!
//! Rendered by hand into the Prometheus text format ([`PipelineMetrics::render_prometheus`]) and
//! JSON ([`PipelineMetrics::snapshot`]): the counters are atomics owned by the stages, and the
//! latency quantiles come from hdrhistogram, which the Prometheus client crates do not model, so
//! a small writer is simpler than adapting both to a registry.

use crate::link::DepthProbe;
use hdrhistogram::Histogram;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering::Acquire, Ordering::Relaxed};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;
use tocsin_engine::normalise::mapping::VendorRegistry;

/// Counters keyed by a reason label (`backpressure`, `not_utf8`, ...).
#[derive(Debug, Default)]
pub struct ReasonCounters(Mutex<BTreeMap<&'static str, u64>>);

impl ReasonCounters {
    /// Adds `n` under `reason`.
    pub fn add(&self, reason: &'static str, n: u64) {
        if n == 0 {
            return;
        }
        if let Ok(mut m) = self.0.lock() {
            *m.entry(reason).or_insert(0) += n;
        }
    }

    /// The count for `reason`.
    pub fn get(&self, reason: &str) -> u64 {
        self.0
            .lock()
            .map(|m| m.get(reason).copied().unwrap_or(0))
            .unwrap_or(0)
    }

    /// All counts.
    pub fn all(&self) -> BTreeMap<&'static str, u64> {
        self.0.lock().map(|m| m.clone()).unwrap_or_default()
    }

    /// The sum over reasons.
    pub fn total(&self) -> u64 {
        self.0.lock().map(|m| m.values().sum()).unwrap_or(0)
    }
}

/// Metrics of one connector (source).
#[derive(Debug)]
pub struct ConnectorMetrics {
    /// Source name.
    pub name: String,
    /// Connector kind (`syslog_tcp`, ...).
    pub kind: &'static str,
    /// The bound address or path, once bound.
    pub listen: Mutex<Option<String>>,
    /// True once the connector is bound and accepting.
    pub bound: AtomicBool,
    /// Frames accepted into the pipeline.
    pub events_in: AtomicU64,
    /// Bytes read.
    pub bytes_in: AtomicU64,
    /// Batches handed to the normalisers.
    pub batches: AtomicU64,
    /// Open connections (TCP) or in-flight requests (HTTP).
    pub connections_open: AtomicI64,
    /// Connections accepted since start.
    pub connections_total: AtomicU64,
    /// Frames cut at the maximum length.
    pub truncated: AtomicU64,
    /// Frames dropped, by reason.
    pub dropped: ReasonCounters,
    /// True once the connector has stopped reading for good. A `file` source sets it when its
    /// reading ends: at the end of the file in `once` mode (after the last frame was handed to
    /// the normalisers), when that file cannot be opened, or at shutdown. `tocsin replay` waits
    /// for it. Stored with `Release` after the connector's last counter update.
    pub finished: AtomicBool,
}

impl ConnectorMetrics {
    /// New metrics for a connector.
    pub fn new(name: &str, kind: &'static str) -> Arc<ConnectorMetrics> {
        Arc::new(ConnectorMetrics {
            name: name.to_owned(),
            kind,
            listen: Mutex::new(None),
            bound: AtomicBool::new(false),
            events_in: AtomicU64::new(0),
            bytes_in: AtomicU64::new(0),
            batches: AtomicU64::new(0),
            connections_open: AtomicI64::new(0),
            connections_total: AtomicU64::new(0),
            truncated: AtomicU64::new(0),
            dropped: ReasonCounters::default(),
            finished: AtomicBool::new(false),
        })
    }

    /// Marks the connector bound at `addr`.
    pub fn set_bound(&self, addr: String) {
        if let Ok(mut l) = self.listen.lock() {
            *l = Some(addr);
        }
        self.bound.store(true, Relaxed);
    }
}

/// Metrics of one stage actor (normaliser shard, router shard, target).
#[derive(Debug)]
pub struct StageMetrics {
    /// Actor name, e.g. `normaliser-0`.
    pub name: String,
    /// Stage kind: `normaliser`, `router`, `target`.
    pub kind: &'static str,
    /// Events received.
    pub events_in: AtomicU64,
    /// Events passed on (or written, for targets).
    pub events_out: AtomicU64,
    /// Batches processed: the progress counter the watchdog watches.
    pub batches: AtomicU64,
    /// Restarts by the supervisor.
    pub restarts: AtomicU64,
    /// Panics caught at the batch boundary.
    pub panics: AtomicU64,
    /// Set by the watchdog while the stage has input but makes no progress.
    pub stalled: AtomicBool,
    /// Parse errors, by reason.
    pub parse_errors: ReasonCounters,
    /// Events dropped, by reason.
    pub dropped: ReasonCounters,
    /// Input the stage gave up on and wrote to the dead-letter file for a reason other than a
    /// parse error (counted in `parse_errors`): a batch whose handler panicked, a failed write.
    pub dead_lettered: AtomicU64,
    /// True once the stage's input link is closed and everything in it was handled: every
    /// stage before it has drained and dropped its senders. Set once (with `Release`, after the
    /// stage's last counter update), never cleared.
    pub drained: AtomicBool,
    /// The stage's input link.
    pub input: Option<Arc<dyn DepthProbe>>,
}

impl StageMetrics {
    /// New metrics for a stage reading from `input`.
    pub fn new(
        name: String,
        kind: &'static str,
        input: Option<Arc<dyn DepthProbe>>,
    ) -> Arc<StageMetrics> {
        Arc::new(StageMetrics {
            name,
            kind,
            events_in: AtomicU64::new(0),
            events_out: AtomicU64::new(0),
            batches: AtomicU64::new(0),
            restarts: AtomicU64::new(0),
            panics: AtomicU64::new(0),
            stalled: AtomicBool::new(false),
            parse_errors: ReasonCounters::default(),
            dropped: ReasonCounters::default(),
            dead_lettered: AtomicU64::new(0),
            drained: AtomicBool::new(false),
            input,
        })
    }

    /// Batches waiting in the input link.
    pub fn depth(&self) -> usize {
        self.input.as_ref().map(|i| i.depth()).unwrap_or(0)
    }

    /// Capacity of the input link.
    pub fn capacity(&self) -> usize {
        self.input.as_ref().map(|i| i.capacity()).unwrap_or(0)
    }
}

/// Delivery metrics of one target (sink): counts and the end-to-end latency histogram.
#[derive(Debug)]
pub struct TargetMetrics {
    /// Target name.
    pub name: String,
    /// Target kind (`file`, `tcp`, `stdout`, `blackhole`).
    pub kind: &'static str,
    /// Write errors.
    pub errors: AtomicU64,
    /// Bytes written.
    pub bytes_out: AtomicU64,
    /// File rotations.
    pub rotations: AtomicU64,
    /// Connections re-established after the first one (`tcp`).
    pub reconnects: AtomicU64,
    /// End-to-end latency (now - receive time) in microseconds.
    pub latency_us: Mutex<Histogram<u64>>,
}

impl TargetMetrics {
    /// New metrics for a target.
    pub fn new(name: &str, kind: &'static str) -> Arc<TargetMetrics> {
        Arc::new(TargetMetrics {
            name: name.to_owned(),
            kind,
            errors: AtomicU64::new(0),
            bytes_out: AtomicU64::new(0),
            rotations: AtomicU64::new(0),
            reconnects: AtomicU64::new(0),
            latency_us: Mutex::new(new_latency_histogram()),
        })
    }
}

/// A histogram for 1 µs .. 1 h with 3 significant digits.
pub fn new_latency_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("static histogram bounds are valid")
}

/// Latency quantiles in ms.
fn latency_json(h: &Histogram<u64>) -> Value {
    let q = |p: f64| h.value_at_quantile(p) as f64 / 1000.0;
    json!({
        "count": h.len(),
        "p50": q(0.5), "p90": q(0.9), "p99": q(0.99), "p999": q(0.999),
        "max": h.max() as f64 / 1000.0,
    })
}

/// Every metric of a running pipeline.
#[derive(Debug)]
pub struct PipelineMetrics {
    started: Instant,
    /// Connectors.
    pub connectors: RwLock<Vec<Arc<ConnectorMetrics>>>,
    /// Normaliser shards, router shards and targets, in pipeline order.
    pub stages: RwLock<Vec<Arc<StageMetrics>>>,
    /// Targets' delivery metrics.
    pub targets: RwLock<Vec<Arc<TargetMetrics>>>,
    /// Delivering targets' (webhook, PagerDuty, Slack, syslog) queue, retry and spill metrics.
    pub deliveries: RwLock<Vec<Arc<crate::targets::deliver::DeliveryMetrics>>>,
    /// The alert manager's counters and MTTA/MTTR table, when alerts are on.
    pub alerts: RwLock<Option<Arc<crate::alerts::AlertMetrics>>>,
    /// Dead-lettered frames, by reason.
    pub dead_letters: ReasonCounters,
    /// Dead letters that could not be written (disk error), by reason.
    pub dead_letter_failures: AtomicU64,
    /// Rotated dead-letter files deleted to keep the bound, with how many entries they held.
    pub dead_letters_discarded: AtomicU64,
    /// Summary of the running config for the API.
    pub config_summary: RwLock<Value>,
    /// The vendor mappings, for their per-vendor counters.
    pub vendors: RwLock<Option<Arc<VendorRegistry>>>,
    /// Scoring: the shards' counters, the models and the anomaly store.
    pub scoring: RwLock<ScoringMetrics>,
}

/// What `/metrics` shows of scoring.
#[derive(Debug, Default)]
pub struct ScoringMetrics {
    /// Each scorer shard's counters.
    pub shards: Vec<Arc<crate::scorer::ScorerMetrics>>,
    /// The model store.
    pub models: Option<Arc<tocsin_engine::score::models::Models>>,
    /// The anomaly store.
    pub anomalies: Option<Arc<crate::scorer::AnomalyStore>>,
    /// The correlator's counters.
    pub correlator: Option<Arc<crate::correlator::CorrelatorMetrics>>,
    /// The incidents.
    pub incidents: Option<Arc<crate::correlator::IncidentStore>>,
}

impl Default for PipelineMetrics {
    fn default() -> Self {
        PipelineMetrics {
            started: Instant::now(),
            connectors: RwLock::default(),
            stages: RwLock::default(),
            targets: RwLock::default(),
            deliveries: RwLock::default(),
            alerts: RwLock::default(),
            dead_letters: ReasonCounters::default(),
            dead_letter_failures: AtomicU64::new(0),
            dead_letters_discarded: AtomicU64::new(0),
            config_summary: RwLock::new(Value::Null),
            vendors: RwLock::new(None),
            scoring: RwLock::default(),
        }
    }
}

/// Totals across the pipeline.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    /// Frames accepted by connectors.
    pub received: u64,
    /// Events written by targets.
    pub delivered: u64,
    /// Frames or events dropped anywhere, by any reason.
    pub dropped: u64,
    /// Frames that failed to normalise.
    pub parse_errors: u64,
    /// Frames written to the dead-letter file.
    pub dead_letters: u64,
    /// Events the pipeline made itself: anomalies and incident states sent on as Detection
    /// Findings. Targets
    /// count them in `delivered` too (once per target routed to).
    pub generated: u64,
}

fn read<T: Clone>(l: &RwLock<Vec<T>>) -> Vec<T> {
    l.read().map(|v| v.clone()).unwrap_or_default()
}

impl PipelineMetrics {
    /// Seconds since the pipeline started.
    pub fn uptime_secs(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// Registers a connector.
    pub fn add_connector(&self, m: Arc<ConnectorMetrics>) {
        if let Ok(mut v) = self.connectors.write() {
            v.push(m);
        }
    }

    /// Registers a stage.
    pub fn add_stage(&self, m: Arc<StageMetrics>) {
        if let Ok(mut v) = self.stages.write() {
            v.push(m);
        }
    }

    /// Registers a target.
    pub fn add_target(&self, m: Arc<TargetMetrics>) {
        if let Ok(mut v) = self.targets.write() {
            v.push(m);
        }
    }

    /// Registers a delivering target.
    pub fn add_delivery(&self, m: Arc<crate::targets::deliver::DeliveryMetrics>) {
        if let Ok(mut v) = self.deliveries.write() {
            v.push(m);
        }
    }

    /// True when every connector is bound.
    pub fn all_bound(&self) -> bool {
        read(&self.connectors).iter().all(|c| c.bound.load(Relaxed))
    }

    /// True when every connector has finished reading (see [`ConnectorMetrics::finished`]).
    pub fn sources_finished(&self) -> bool {
        read(&self.connectors)
            .iter()
            .all(|c| c.finished.load(Acquire))
    }

    /// True when every stage has drained its closed input (see [`StageMetrics::drained`]):
    /// nothing is in flight any more, so every frame read is delivered, dropped, a parse error
    /// or dead-lettered, and the totals are final.
    pub fn drained(&self) -> bool {
        read(&self.stages).iter().all(|s| s.drained.load(Acquire))
    }

    /// Totals across the pipeline.
    pub fn totals(&self) -> Totals {
        let connectors = read(&self.connectors);
        let stages = read(&self.stages);
        let mut t = Totals {
            dead_letters: self.dead_letters.total(),
            ..Totals::default()
        };
        for c in &connectors {
            t.received += c.events_in.load(Relaxed);
            t.dropped += c.dropped.total();
        }
        if let Ok(scoring) = self.scoring.read() {
            t.generated = scoring
                .shards
                .iter()
                .map(|m| m.anomalies.load(Relaxed))
                .sum::<u64>()
                + scoring
                    .correlator
                    .as_ref()
                    .map_or(0, |c| c.published.load(Relaxed));
        }
        for s in &stages {
            t.dropped += s.dropped.total();
            t.parse_errors += s.parse_errors.total();
            if s.kind == "target" {
                t.delivered += s.events_out.load(Relaxed);
            }
        }
        t
    }

    /// The merged end-to-end latency histogram of all targets.
    pub fn latency(&self) -> Histogram<u64> {
        let mut all = new_latency_histogram();
        for t in read(&self.targets) {
            if let Ok(h) = t.latency_us.lock() {
                // Same bounds on both sides, so adding cannot fail.
                let _ = all.add(&*h);
            }
        }
        all
    }

    /// Clears every target's latency histogram (so a load test measures only its own run).
    pub fn reset_latency(&self) {
        for t in read(&self.targets) {
            if let Ok(mut h) = t.latency_us.lock() {
                h.reset();
            }
        }
    }

    /// The pipeline as JSON (`/api/v1/pipeline`).
    pub fn snapshot(&self) -> Value {
        let t = self.totals();
        let connectors: Vec<Value> = read(&self.connectors)
            .iter()
            .map(|c| {
                json!({
                    "name": c.name, "type": c.kind,
                    "listen": c.listen.lock().ok().and_then(|l| l.clone()),
                    "bound": c.bound.load(Relaxed),
                    "events_in": c.events_in.load(Relaxed),
                    "bytes_in": c.bytes_in.load(Relaxed),
                    "batches": c.batches.load(Relaxed),
                    "connections_open": c.connections_open.load(Relaxed),
                    "connections_total": c.connections_total.load(Relaxed),
                    "truncated": c.truncated.load(Relaxed),
                    "dropped": c.dropped.all(),
                    "finished": c.finished.load(Relaxed),
                })
            })
            .collect();
        let stages: Vec<Value> = read(&self.stages)
            .iter()
            .map(|s| {
                json!({
                    "name": s.name, "kind": s.kind,
                    "events_in": s.events_in.load(Relaxed),
                    "events_out": s.events_out.load(Relaxed),
                    "batches": s.batches.load(Relaxed),
                    "mailbox_depth": s.depth(),
                    "mailbox_capacity": s.capacity(),
                    "restarts": s.restarts.load(Relaxed),
                    "panics": s.panics.load(Relaxed),
                    "stalled": s.stalled.load(Relaxed),
                    "parse_errors": s.parse_errors.all(),
                    "dropped": s.dropped.all(),
                    "dead_lettered": s.dead_lettered.load(Relaxed),
                    "drained": s.drained.load(Relaxed),
                })
            })
            .collect();
        let targets: Vec<Value> = read(&self.targets)
            .iter()
            .map(|tm| {
                let lat = tm
                    .latency_us
                    .lock()
                    .map(|h| latency_json(&h))
                    .unwrap_or(Value::Null);
                json!({
                    "name": tm.name, "type": tm.kind,
                    "errors": tm.errors.load(Relaxed),
                    "bytes_out": tm.bytes_out.load(Relaxed),
                    "rotations": tm.rotations.load(Relaxed),
                    "reconnects": tm.reconnects.load(Relaxed),
                    "latency_ms": lat,
                })
            })
            .collect();
        json!({
            "uptime_s": self.uptime_secs(),
            "totals": {
                "received": t.received, "delivered": t.delivered, "dropped": t.dropped,
                "parse_errors": t.parse_errors, "dead_letters": t.dead_letters,
                "generated": t.generated,
            },
            "latency_ms": latency_json(&self.latency()),
            "dead_letters": self.dead_letters.all(),
            "connectors": connectors,
            "stages": stages,
            "sinks": targets,
            "deliveries": read(&self.deliveries).iter().map(|d| d.snapshot()).collect::<Vec<_>>(),
            "vendors": self.vendors.read().ok().and_then(|v| v.clone()).map(|v| serde_json::to_value(v.list()).unwrap_or(Value::Null)),
            "unrecognised": self.vendors.read().ok().and_then(|v| v.clone()).map(|v| v.unrecognised().into_iter().collect::<std::collections::BTreeMap<_, _>>()),
            "config": self.config_summary.read().map(|c| c.clone()).unwrap_or(Value::Null),
            "scoring": self.scoring.read().ok().filter(|s| !s.shards.is_empty()).map(|s| json!({
                "entities": s.shards.iter().map(|m| m.entities.load(Relaxed)).sum::<u64>(),
                "windows": s.shards.iter().map(|m| m.windows.load(Relaxed)).sum::<u64>(),
                "anomalies": s.shards.iter().map(|m| m.anomalies.load(Relaxed)).sum::<u64>(),
                "evicted": s.shards.iter().map(|m| m.evicted.load(Relaxed)).sum::<u64>(),
                "late": s.shards.iter().map(|m| m.late.load(Relaxed)).sum::<u64>(),
            })),
        })
    }

    /// The Prometheus text exposition (`/metrics`).
    pub fn render_prometheus(&self) -> String {
        let mut out = String::with_capacity(8192);
        let connectors = read(&self.connectors);
        let stages = read(&self.stages);
        let targets = read(&self.targets);
        let w = &mut out;

        header(
            w,
            "tocsin_uptime_seconds",
            "gauge",
            "Seconds since the pipeline started.",
        );
        let _ = writeln!(w, "tocsin_uptime_seconds {:.3}", self.uptime_secs());

        header(
            w,
            "tocsin_connector_up",
            "gauge",
            "1 when the connector is bound and accepting.",
        );
        for c in &connectors {
            let _ = writeln!(
                w,
                "tocsin_connector_up{{connector=\"{}\",type=\"{}\"}} {}",
                esc(&c.name),
                c.kind,
                u8::from(c.bound.load(Relaxed))
            );
        }
        counter_per(
            w,
            "tocsin_connector_events_in_total",
            "Frames accepted by the connector.",
            &connectors,
            |c| c.events_in.load(Relaxed),
        );
        counter_per(
            w,
            "tocsin_connector_bytes_in_total",
            "Bytes read by the connector.",
            &connectors,
            |c| c.bytes_in.load(Relaxed),
        );
        counter_per(
            w,
            "tocsin_connector_batches_total",
            "Batches sent by the connector.",
            &connectors,
            |c| c.batches.load(Relaxed),
        );
        counter_per(
            w,
            "tocsin_connector_connections_total",
            "Connections accepted.",
            &connectors,
            |c| c.connections_total.load(Relaxed),
        );
        counter_per(
            w,
            "tocsin_frames_truncated_total",
            "Frames cut at the maximum line length.",
            &connectors,
            |c| c.truncated.load(Relaxed),
        );
        header(
            w,
            "tocsin_connector_connections_open",
            "gauge",
            "Open connections or in-flight requests.",
        );
        for c in &connectors {
            let _ = writeln!(
                w,
                "tocsin_connector_connections_open{{connector=\"{}\"}} {}",
                esc(&c.name),
                c.connections_open.load(Relaxed)
            );
        }

        header(
            w,
            "tocsin_events_dropped_total",
            "counter",
            "Events dropped, by where and why.",
        );
        for c in &connectors {
            for (reason, n) in c.dropped.all() {
                let _ = writeln!(
                    w,
                    "tocsin_events_dropped_total{{connector=\"{}\",reason=\"{reason}\"}} {n}",
                    esc(&c.name)
                );
            }
        }
        for s in &stages {
            for (reason, n) in s.dropped.all() {
                let _ = writeln!(
                    w,
                    "tocsin_events_dropped_total{{actor=\"{}\",reason=\"{reason}\"}} {n}",
                    esc(&s.name)
                );
            }
        }
        header(
            w,
            "tocsin_parse_errors_total",
            "counter",
            "Frames that failed to normalise, by reason.",
        );
        for s in &stages {
            for (reason, n) in s.parse_errors.all() {
                let _ = writeln!(
                    w,
                    "tocsin_parse_errors_total{{actor=\"{}\",reason=\"{reason}\"}} {n}",
                    esc(&s.name)
                );
            }
        }
        header(
            w,
            "tocsin_dead_letters_total",
            "counter",
            "Frames written to the dead-letter file, by reason.",
        );
        for (reason, n) in self.dead_letters.all() {
            let _ = writeln!(w, "tocsin_dead_letters_total{{reason=\"{reason}\"}} {n}");
        }
        header(
            w,
            "tocsin_dead_letters_discarded_total",
            "counter",
            "Dead letters removed by the file bound.",
        );
        let _ = writeln!(
            w,
            "tocsin_dead_letters_discarded_total {}",
            self.dead_letters_discarded.load(Relaxed)
        );

        stage_counter(
            w,
            "tocsin_actor_events_in_total",
            "Events received by the actor.",
            &stages,
            |s| s.events_in.load(Relaxed),
        );
        stage_counter(
            w,
            "tocsin_actor_events_out_total",
            "Events passed on or written by the actor.",
            &stages,
            |s| s.events_out.load(Relaxed),
        );
        stage_counter(
            w,
            "tocsin_actor_batches_total",
            "Batches processed by the actor.",
            &stages,
            |s| s.batches.load(Relaxed),
        );
        stage_counter(
            w,
            "tocsin_actor_restarts_total",
            "Supervisor restarts of the actor.",
            &stages,
            |s| s.restarts.load(Relaxed),
        );
        stage_counter(
            w,
            "tocsin_actor_panics_total",
            "Panics caught at the actor's batch boundary.",
            &stages,
            |s| s.panics.load(Relaxed),
        );
        stage_gauge(
            w,
            "tocsin_mailbox_depth",
            "Batches waiting in the actor's input link.",
            &stages,
            |s| s.depth() as u64,
        );
        stage_gauge(
            w,
            "tocsin_mailbox_capacity",
            "Capacity of the actor's input link, in batches.",
            &stages,
            |s| s.capacity() as u64,
        );
        stage_gauge(
            w,
            "tocsin_actor_stalled",
            "1 when the watchdog finds the actor stalled.",
            &stages,
            |s| u64::from(s.stalled.load(Relaxed)),
        );

        if let Some(vendors) = self.vendors.read().ok().and_then(|v| v.clone()) {
            render_vendors(w, &vendors);
        }
        target_counter(
            w,
            "tocsin_target_errors_total",
            "Write errors per target.",
            &targets,
            |t| t.errors.load(Relaxed),
        );
        target_counter(
            w,
            "tocsin_target_bytes_out_total",
            "Bytes written by a target.",
            &targets,
            |t| t.bytes_out.load(Relaxed),
        );
        target_counter(
            w,
            "tocsin_target_rotations_total",
            "File rotations of a target.",
            &targets,
            |t| t.rotations.load(Relaxed),
        );
        target_counter(
            w,
            "tocsin_target_reconnects_total",
            "Connections a target re-established after its first.",
            &targets,
            |t| t.reconnects.load(Relaxed),
        );
        header(
            w,
            "tocsin_e2e_latency_seconds",
            "summary",
            "End-to-end latency from receive to target write.",
        );
        for t in &targets {
            if let Ok(h) = t.latency_us.lock() {
                for q in [0.5, 0.9, 0.99, 0.999] {
                    let _ = writeln!(
                        w,
                        "tocsin_e2e_latency_seconds{{target=\"{}\",quantile=\"{q}\"}} {}",
                        esc(&t.name),
                        h.value_at_quantile(q) as f64 / 1e6
                    );
                }
                let _ = writeln!(
                    w,
                    "tocsin_e2e_latency_seconds_count{{target=\"{}\"}} {}",
                    esc(&t.name),
                    h.len()
                );
            }
        }
        crate::targets::deliver::render_prometheus(w, &read(&self.deliveries));
        if let Some(alerts) = self.alerts.read().ok().and_then(|a| a.clone()) {
            render_alerts(w, &alerts);
        }
        if let Ok(scoring) = self.scoring.read() {
            render_scoring(w, &scoring);
            if let Some(c) = &scoring.correlator {
                render_correlation(w, c, scoring.incidents.as_deref());
            }
        }
        out
    }
}

/// Correlation series: anomalies folded, incidents by status, merges, learning, latency.
fn render_correlation(
    w: &mut String,
    c: &crate::correlator::CorrelatorMetrics,
    store: Option<&crate::correlator::IncidentStore>,
) {
    for (name, kind, help, value) in [
        (
            "tocsin_correlator_anomalies_total",
            "counter",
            "Anomalies the correlator folded into incidents.",
            &c.anomalies,
        ),
        (
            "tocsin_correlator_deduplicated_total",
            "counter",
            "Anomalies that extended a member of their incident (same entity and kind).",
            &c.deduplicated,
        ),
        (
            "tocsin_incidents_created_total",
            "counter",
            "Incidents opened.",
            &c.incidents_created,
        ),
        (
            "tocsin_incidents_merged_total",
            "counter",
            "Incidents merged into another by an anomaly that bridged them.",
            &c.merges,
        ),
        (
            "tocsin_incidents_resolved_total",
            "counter",
            "Incidents resolved after correlation.resolve_after_secs of quiet.",
            &c.resolved,
        ),
        (
            "tocsin_incidents_forced_resolutions_total",
            "counter",
            "Incidents resolved early to stay within correlation.max_open.",
            &c.forced_resolutions,
        ),
        ("tocsin_incidents_open", "gauge", "Open incidents.", &c.open),
        (
            "tocsin_incident_updates_total",
            "counter",
            "Incident states sent to the routers as findings.",
            &c.published,
        ),
        (
            "tocsin_topology_flows_total",
            "counter",
            "Flows between topology addresses the correlator learned from.",
            &c.flows,
        ),
        (
            "tocsin_topology_edges_learned_total",
            "counter",
            "connects_to edges learned from flows.",
            &c.edges_learned,
        ),
        (
            "tocsin_topology_edges_forgotten_total",
            "counter",
            "Learned edges whose weight decayed away.",
            &c.edges_forgotten,
        ),
        (
            "tocsin_topology_learn_save_errors_total",
            "counter",
            "Learned-edge checkpoints that could not be written.",
            &c.learn_save_errors,
        ),
    ] {
        header(w, name, kind, help);
        let _ = writeln!(w, "{name} {}", value.load(Relaxed));
    }
    if let Some(store) = store {
        header(
            w,
            "tocsin_incidents_rotated_total",
            "counter",
            "Closed incidents that left the API's store to make room.",
        );
        let _ = writeln!(
            w,
            "tocsin_incidents_rotated_total {}",
            store.rotated.load(Relaxed)
        );
    }
    if let Ok(h) = c.latency_us.lock() {
        header(
            w,
            "tocsin_correlation_latency_seconds",
            "summary",
            "Anomaly detected (scorer) to its incident's state published (correlator).",
        );
        for q in [0.5, 0.9, 0.99, 0.999] {
            let _ = writeln!(
                w,
                "tocsin_correlation_latency_seconds{{quantile=\"{q}\"}} {}",
                h.value_at_quantile(q) as f64 / 1e6
            );
        }
        let _ = writeln!(w, "tocsin_correlation_latency_seconds_count {}", h.len());
    }
}

/// Scoring series: per shard its entities and counters, anomalies by kind, and the models.
fn render_scoring(w: &mut String, s: &ScoringMetrics) {
    use crate::scorer::ScorerMetrics;
    if s.shards.is_empty() {
        return;
    }
    type Pick = fn(&ScorerMetrics) -> u64;
    let series: [(&str, &str, &str, Pick); 10] = [
        (
            "tocsin_scorer_entities",
            "gauge",
            "Entities a scorer shard keeps state for.",
            |m| m.entities.load(Relaxed),
        ),
        (
            "tocsin_scorer_entities_evicted_total",
            "counter",
            "Entities forgotten to stay within score.max_entities.",
            |m| m.evicted.load(Relaxed),
        ),
        (
            "tocsin_scorer_entities_expired_total",
            "counter",
            "Entities forgotten after score.idle_expiry_secs without events.",
            |m| m.expired.load(Relaxed),
        ),
        (
            "tocsin_scorer_late_events_total",
            "counter",
            "Events older than their entity's open windows (scored, not windowed).",
            |m| m.late.load(Relaxed),
        ),
        (
            "tocsin_scorer_unscored_events_total",
            "counter",
            "Events without an entity, passed on unscored.",
            |m| m.no_entity.load(Relaxed),
        ),
        (
            "tocsin_scorer_windows_total",
            "counter",
            "Entity windows scored.",
            |m| m.windows.load(Relaxed),
        ),
        (
            "tocsin_scorer_anomalies_suppressed_total",
            "counter",
            "Anomalies not reported again while the same problem lasts.",
            |m| m.suppressed.load(Relaxed),
        ),
        (
            "tocsin_scorer_lstm_skipped_total",
            "counter",
            "Windows the LSTM did not score (no free state slot, or libtorch failed).",
            |m| m.lstm_skipped.load(Relaxed),
        ),
        (
            "tocsin_scorer_flows_dropped_total",
            "counter",
            "Flows for topology learning not handed to the correlator (its link was full).",
            |m| m.flows_dropped.load(Relaxed),
        ),
        (
            "tocsin_scorer_lstm_version",
            "gauge",
            "Version of the LSTM a shard scores with (0: none yet).",
            |m| m.lstm_version.load(Relaxed),
        ),
    ];
    for (name, kind, help, pick) in series {
        header(w, name, kind, help);
        for m in &s.shards {
            let _ = writeln!(w, "{name}{{shard=\"{}\"}} {}", esc(&m.name), pick(m));
        }
    }
    header(
        w,
        "tocsin_anomalies_total",
        "counter",
        "Anomalies emitted, by kind.",
    );
    for (i, kind) in tocsin_engine::score::anomaly::AnomalyKind::ALL
        .iter()
        .enumerate()
    {
        let n: u64 = s.shards.iter().map(|m| m.by_kind[i].load(Relaxed)).sum();
        let _ = writeln!(
            w,
            "tocsin_anomalies_total{{kind=\"{}\"}} {n}",
            kind.as_str()
        );
    }
    if let Some(store) = &s.anomalies {
        header(
            w,
            "tocsin_anomalies_rotated_total",
            "counter",
            "Anomalies that left the API's store to make room (still routed).",
        );
        let _ = writeln!(
            w,
            "tocsin_anomalies_rotated_total {}",
            store.rotated.load(Relaxed)
        );
    }
    if let Some(models) = &s.models {
        header(
            w,
            "tocsin_model_version",
            "gauge",
            "Version of the forest in use, per entity class.",
        );
        for m in models.list() {
            let _ = writeln!(
                w,
                "tocsin_model_version{{kind=\"forest\",class=\"{}\"}} {}",
                esc(&m.class),
                m.version
            );
        }
        header(
            w,
            "tocsin_models_trained_total",
            "counter",
            "Forests fitted and published.",
        );
        let _ = writeln!(
            w,
            "tocsin_models_trained_total {}",
            models.counters.trained.load(Relaxed)
        );
        header(
            w,
            "tocsin_model_load_failures_total",
            "counter",
            "Model files that could not be loaded at start.",
        );
        let _ = writeln!(
            w,
            "tocsin_model_load_failures_total {}",
            models.counters.load_failures.load(Relaxed)
        );
        header(
            w,
            "tocsin_model_samples_dropped_total",
            "counter",
            "Window vectors not sampled because too many entity classes were sampled already.",
        );
        let _ = writeln!(
            w,
            "tocsin_model_samples_dropped_total {}",
            models.counters.class_overflow.load(Relaxed)
        );
    }
}

/// A per-vendor series: name, help, and which counter it shows.
type VendorSeries = (
    &'static str,
    &'static str,
    fn(&tocsin_engine::normalise::mapping::VendorInfo) -> u64,
);

/// Per-vendor mapping counters and unrecognised lines per source.
fn render_vendors(w: &mut String, vendors: &VendorRegistry) {
    let list = vendors.list();
    let series: [VendorSeries; 4] = [
        (
            "tocsin_vendor_lines_total",
            "Lines given to the vendor mapping.",
            |v| v.lines,
        ),
        (
            "tocsin_vendor_mapped_total",
            "Lines the vendor mapping parsed.",
            |v| v.mapped,
        ),
        (
            "tocsin_vendor_unmapped_total",
            "Lines the vendor mapping could not parse.",
            |v| v.unmapped,
        ),
        (
            "tocsin_vendor_parse_errors_total",
            "Values that did not convert to their OCSF type.",
            |v| v.parse_errors,
        ),
    ];
    for (name, help, pick) in series {
        header(w, name, "counter", help);
        for v in &list {
            let _ = writeln!(w, "{name}{{vendor=\"{}\"}} {}", esc(&v.name), pick(v));
        }
    }
    header(
        w,
        "tocsin_unrecognised_lines_total",
        "counter",
        "Lines of auto-detecting sources that no vendor recognised.",
    );
    for (source, n) in vendors.unrecognised() {
        let _ = writeln!(
            w,
            "tocsin_unrecognised_lines_total{{source=\"{}\"}} {n}",
            esc(&source)
        );
    }
}

/// The alert manager's counters, alerts by priority and status, and MTTA/MTTR per priority.
fn render_alerts(w: &mut String, a: &crate::alerts::AlertMetrics) {
    for (name, help, value) in [
        ("tocsin_alerts_created_total", "Alerts opened.", &a.created),
        (
            "tocsin_alert_repeats_total",
            "Anomalies folded into a live alert.",
            &a.repeats,
        ),
        (
            "tocsin_alert_notifications_total",
            "Notifications handed to targets.",
            &a.notifications,
        ),
        (
            "tocsin_alert_notifications_dropped_total",
            "Notifications lost because a target's link was closed.",
            &a.notifications_dropped,
        ),
        (
            "tocsin_alert_muted_total",
            "Alert changes not notified: silenced, inhibited, acknowledged or suppressed.",
            &a.muted,
        ),
        (
            "tocsin_alert_store_errors_total",
            "Alert writes the database refused.",
            &a.store_errors,
        ),
        (
            "tocsin_alert_groups_refused_total",
            "Alert changes not notified: every notification group had firing alerts at alerts.group.max_groups.",
            &a.groups_refused,
        ),
        (
            "tocsin_alert_groups_evicted_total",
            "Notification groups with nothing firing evicted at alerts.group.max_groups.",
            &a.groups_evicted,
        ),
    ] {
        header(w, name, "counter", help);
        let _ = writeln!(w, "{name} {}", value.load(Relaxed));
    }
    let stats = a.stats.lock().map(|s| s.clone()).unwrap_or_default();
    header(
        w,
        "tocsin_alerts",
        "gauge",
        "Alerts by priority and status (resolved: since start of the kept history).",
    );
    for p in &stats {
        for (status, n) in [
            ("open", p.open),
            ("acknowledged", p.acknowledged),
            ("suppressed", p.suppressed),
            ("resolved", p.resolved),
        ] {
            let _ = writeln!(
                w,
                "tocsin_alerts{{priority=\"{}\",status=\"{status}\"}} {n}",
                p.priority
            );
        }
    }
    header(
        w,
        "tocsin_alert_mtta_seconds",
        "gauge",
        "Mean time from an alert's creation to its first acknowledgement, per priority.",
    );
    for p in stats.iter().filter(|p| p.mtta_ms.is_some()) {
        let _ = writeln!(
            w,
            "tocsin_alert_mtta_seconds{{priority=\"{}\"}} {}",
            p.priority,
            p.mtta_ms.unwrap_or(0.0) / 1000.0
        );
    }
    header(
        w,
        "tocsin_alert_mttr_seconds",
        "gauge",
        "Mean time from an alert's creation to its resolution, per priority.",
    );
    for p in stats.iter().filter(|p| p.mttr_ms.is_some()) {
        let _ = writeln!(
            w,
            "tocsin_alert_mttr_seconds{{priority=\"{}\"}} {}",
            p.priority,
            p.mttr_ms.unwrap_or(0.0) / 1000.0
        );
    }
}

pub(crate) fn header(w: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(w, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

fn counter_per(
    w: &mut String,
    name: &str,
    help: &str,
    cs: &[Arc<ConnectorMetrics>],
    f: impl Fn(&ConnectorMetrics) -> u64,
) {
    header(w, name, "counter", help);
    for c in cs {
        let _ = writeln!(w, "{name}{{connector=\"{}\"}} {}", esc(&c.name), f(c));
    }
}

fn target_counter(
    w: &mut String,
    name: &str,
    help: &str,
    ts: &[Arc<TargetMetrics>],
    f: impl Fn(&TargetMetrics) -> u64,
) {
    header(w, name, "counter", help);
    for t in ts {
        let _ = writeln!(w, "{name}{{target=\"{}\"}} {}", esc(&t.name), f(t));
    }
}

fn stage_counter(
    w: &mut String,
    name: &str,
    help: &str,
    ss: &[Arc<StageMetrics>],
    f: impl Fn(&StageMetrics) -> u64,
) {
    stage_series(w, name, "counter", help, ss, f);
}

fn stage_gauge(
    w: &mut String,
    name: &str,
    help: &str,
    ss: &[Arc<StageMetrics>],
    f: impl Fn(&StageMetrics) -> u64,
) {
    stage_series(w, name, "gauge", help, ss, f);
}

fn stage_series(
    w: &mut String,
    name: &str,
    kind: &str,
    help: &str,
    ss: &[Arc<StageMetrics>],
    f: impl Fn(&StageMetrics) -> u64,
) {
    header(w, name, kind, help);
    for s in ss {
        let _ = writeln!(
            w,
            "{name}{{actor=\"{}\",kind=\"{}\"}} {}",
            esc(&s.name),
            s.kind,
            f(s)
        );
    }
}

/// Escapes a label value.
pub(crate) fn esc(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_text_carries_drops_with_reason() {
        let m = PipelineMetrics::default();
        let c = ConnectorMetrics::new("udp-in", "syslog_udp");
        c.dropped.add("backpressure", 512);
        m.add_connector(c);
        let text = m.render_prometheus();
        assert!(text.contains(
            "tocsin_events_dropped_total{connector=\"udp-in\",reason=\"backpressure\"} 512"
        ));
        assert_eq!(m.totals().dropped, 512);
    }

    #[test]
    fn target_counters_are_in_the_prometheus_text_and_the_snapshot() {
        let m = PipelineMetrics::default();
        let t = TargetMetrics::new("harness", "tcp");
        t.bytes_out.store(4096, Relaxed);
        t.reconnects.store(3, Relaxed);
        t.errors.store(2, Relaxed);
        m.add_target(t);
        let text = m.render_prometheus();
        for line in [
            "tocsin_target_errors_total{target=\"harness\"} 2",
            "tocsin_target_bytes_out_total{target=\"harness\"} 4096",
            "tocsin_target_rotations_total{target=\"harness\"} 0",
            "tocsin_target_reconnects_total{target=\"harness\"} 3",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "{line} missing from\n{text}"
            );
        }
        let sink = &m.snapshot()["sinks"][0];
        assert_eq!(sink["type"], "tcp");
        assert_eq!(sink["reconnects"], 3);
        assert_eq!(sink["bytes_out"], 4096);
    }

    #[test]
    fn totals_count_only_target_output_as_delivered() {
        let m = PipelineMetrics::default();
        let n = StageMetrics::new("normaliser-0".into(), "normaliser", None);
        n.events_out.store(10, Relaxed);
        n.parse_errors.add("not_utf8", 2);
        let t = StageMetrics::new("target-file".into(), "target", None);
        t.events_out.store(10, Relaxed);
        m.add_stage(n);
        m.add_stage(t);
        let totals = m.totals();
        assert_eq!(totals.delivered, 10);
        assert_eq!(totals.parse_errors, 2);
    }
}
