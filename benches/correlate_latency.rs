//! Anomaly-to-incident latency through the real correlator actor.
//!
//! The estate of `estate.rs` (40 sites, 960 nodes) is written to a topology file and loaded
//! by [`TopologyHandle`]; a [`CorrelatorActor`] runs on its own arbiter as in the pipeline.
//! One sender plays the scorer shards: every 10 ms of wall time it sends a batch of anomalies
//! (fault storms, noise on random nodes, entities outside the topology) with the event-time
//! watermark; each anomaly's `detected_ns` is the wall clock when its batch is made. A task
//! plays the routers and counts the incident states it receives. The latency is the actor's
//! own histogram (`tocsin_correlation_latency_seconds`): detection to the incident state
//! leaving the correlator.
//!
//! Env overrides: `CORRELATE_RATE` (anomalies/s, default 1000), `CORRELATE_SECS` (wall
//! seconds, default 30), `CORRELATE_SPEEDUP` (event time per wall time, default 60: the 30 s
//! run covers 30 event-time minutes, so storms start, spread, merge and resolve). Never panics
//! on a slow machine: it reports what it measured, and the rate it reached.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::{Arbiter, Supervisor};
use tocsin_actors::batch::EventBatch;
use tocsin_actors::correlator::{
    CorrelatorActor, CorrelatorInput, CorrelatorMetrics, IncidentStore, TopologyHandle,
};
use tocsin_actors::link::link;
use tocsin_actors::metrics::StageMetrics;
use tocsin_actors::stage::Completion;
use tocsin_benches::estate::{estate, StormSettings, Storms, EPOCH_MS};
use tocsin_engine::correlate::{CorrelationSettings, Correlator};

/// Wall time between batches, as scorer shards send them.
const TICK: Duration = Duration::from_millis(10);
/// The acceptance target for the p99.
const TARGET_P99_MS: f64 = 50.0;

fn env_or(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v.trim().parse().unwrap_or_else(|_| {
            eprintln!("{name}={v:?} is not a whole number; using {default}");
            default
        }),
        Err(_) => default,
    }
}

#[derive(Debug, Default)]
struct Sent {
    anomalies: u64,
    batches: u64,
    late_batches: u64,
    wall: Duration,
    storms: u64,
}

fn main() {
    let rate = env_or("CORRELATE_RATE", 1000).max(1);
    let secs = env_or("CORRELATE_SECS", 30).max(1);
    let speedup = env_or("CORRELATE_SPEEDUP", 60).max(1);
    let topo = estate();
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("cannot make a temporary folder: {e}");
            return;
        }
    };
    let file = dir.path().join("topology.toml");
    if let Err(e) = topo.save(&file) {
        eprintln!("cannot write {}: {e}", file.display());
        return;
    }
    let handle = match TopologyHandle::load(file, None, None) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("cannot load the estate: {e}");
            return;
        }
    };
    println!(
        "correlate_latency: {} ({} sites), {rate} anomalies/s in batches every {} ms for {secs} s, event time x{speedup}",
        handle.read().summary(),
        tocsin_benches::estate::SITES,
        TICK.as_millis()
    );

    let metrics = Arc::new(CorrelatorMetrics::default());
    let store = IncidentStore::new(1000);
    let received = Arc::new(AtomicU64::new(0));
    let router_batches = Arc::new(AtomicU64::new(0));
    let drained = Completion::new(1);
    let system = actix_rt::System::new();
    let sent = system.block_on({
        let (metrics, store, received, router_batches, drained) = (
            metrics.clone(),
            store.clone(),
            received.clone(),
            router_batches.clone(),
            drained.clone(),
        );
        async move {
            let (tx, rx) = link::<CorrelatorInput>(64);
            let (router_tx, mut router_rx) = tokio::sync::mpsc::channel::<EventBatch>(64);
            let stage = StageMetrics::new("correlator".to_owned(), "correlator", None);
            let arbiter = Arbiter::new();
            let (topo, m, done) = (handle.clone(), metrics.clone(), drained.clone());
            let _addr = Supervisor::start_in_arbiter(&arbiter.handle(), move |_| {
                CorrelatorActor::new(
                    Correlator::new(CorrelationSettings::default()),
                    true,
                    topo,
                    rx,
                    vec![router_tx],
                    store,
                    stage,
                    m,
                    done,
                    1000,
                )
            });
            let routers = tokio::spawn(async move {
                while let Some(batch) = router_rx.recv().await {
                    received.fetch_add(batch.events.len() as u64, Relaxed);
                    router_batches.fetch_add(1, Relaxed);
                }
            });

            let mut storms = Storms::new(&handle.read(), StormSettings::default(), 7);
            let batches = secs * 1000 / TICK.as_millis() as u64;
            let per_tick_ms = TICK.as_millis() as i64 * speedup as i64;
            let mut sent = Sent::default();
            let start = Instant::now();
            let mut owed = 0u64; // anomalies per batch, spread evenly: rate * 10 ms / 1000 ms
            for i in 0..batches {
                let due = start + TICK * i as u32;
                let now = Instant::now();
                if due > now {
                    tokio::time::sleep_until(due.into()).await;
                } else if now - due > TICK {
                    sent.late_batches += 1;
                }
                owed += rate * TICK.as_millis() as u64;
                let n = (owed / 1000) as usize;
                owed %= 1000;
                let event_now = EPOCH_MS + i as i64 * per_tick_ms;
                let detected = tocsin_engine::clock::now_ns();
                let anomalies = {
                    let topo = handle.read();
                    storms.batch(&topo, event_now, n, detected)
                };
                sent.anomalies += anomalies.len() as u64;
                sent.batches += 1;
                let input = CorrelatorInput {
                    anomalies,
                    flows: Vec::new(),
                    watermark: event_now,
                };
                if tx.send(input).await.is_err() {
                    eprintln!("the correlator went away after {} batches", sent.batches);
                    break;
                }
            }
            sent.wall = start.elapsed();
            sent.storms = storms.started;
            drop(tx);
            if tokio::time::timeout(Duration::from_secs(120), drained.wait())
                .await
                .is_err()
            {
                eprintln!("the correlator did not drain within 120 s; reporting what it did");
            }
            let _ = tokio::time::timeout(Duration::from_secs(10), routers).await;
            arbiter.stop();
            sent
        }
    });

    let published = metrics.published.load(Relaxed);
    let got = received.load(Relaxed);
    let (open, resolved, merged) = store.counts();
    println!(
        "sent: {} anomalies in {} batches over {:.1} s ({:.0} anomalies/s reached; {} batches sent >10 ms late), {} storms",
        sent.anomalies,
        sent.batches,
        sent.wall.as_secs_f64(),
        sent.anomalies as f64 / sent.wall.as_secs_f64().max(1e-9),
        sent.late_batches,
        sent.storms
    );
    println!(
        "correlator: {} anomalies ({} deduplicated), {} incidents created, {} merges, {} resolved ({} forced), {} open at the end",
        metrics.anomalies.load(Relaxed),
        metrics.deduplicated.load(Relaxed),
        metrics.incidents_created.load(Relaxed),
        metrics.merges.load(Relaxed),
        metrics.resolved.load(Relaxed),
        metrics.forced_resolutions.load(Relaxed),
        metrics.open.load(Relaxed),
    );
    println!(
        "published: {published} incident states; routers received {got} in {} batches; store: {open} open, {resolved} resolved, {merged} merged",
        router_batches.load(Relaxed)
    );
    let h = match metrics.latency_us.lock() {
        Ok(h) => h.clone(),
        Err(p) => p.into_inner().clone(),
    };
    if h.is_empty() {
        println!("latency: no samples");
        return;
    }
    let ms = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    let p99 = ms(0.99);
    println!(
        "latency anomaly -> incident published (ms, {} samples): p50 {:.3}  p90 {:.3}  p99 {:.3}  p99.9 {:.3}  max {:.3}",
        h.len(),
        ms(0.5),
        ms(0.9),
        p99,
        ms(0.999),
        h.max() as f64 / 1000.0
    );
    println!(
        "p99 {:.3} ms {} the {TARGET_P99_MS} ms target at {rate} anomalies/s",
        p99,
        if p99 < TARGET_P99_MS {
            "is under"
        } else {
            "is NOT under"
        }
    );
}
