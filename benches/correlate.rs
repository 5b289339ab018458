//! Correlation: `Correlator::observe` per anomaly with ~1,000 open incidents on the estate of
//! `estate.rs` (40 site incidents of 24 members each, 960 incidents of entities outside the
//! topology), beside a baseline with one open incident; and `changes()` (snapshot plus root
//! cause ranking) for a 50-member incident.
//!
//! The anomalies repeat within their window, so after the first pass each `observe` takes the
//! deduplication path, as most anomalies of a running storm do: it still walks the open
//! incidents of the window until it meets the one that holds the entity.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use std::time::Duration;
use tocsin_benches::estate::{anomaly, estate, site_nodes, EPOCH_MS, SITES};
use tocsin_engine::correlate::{CorrelationSettings, Correlator, Topology};
use tocsin_engine::score::anomaly::{Anomaly, AnomalyKind};

const OUTSIDE: usize = 960;

/// One anomaly on every node of `site`, of `kind`, for the window ending at `end`.
fn site_anomalies(site: usize, kind: AnomalyKind, end: i64) -> Vec<Anomaly> {
    site_nodes(site)
        .iter()
        .map(|(id, k)| anomaly(id, k.as_str(), kind, end, 0.9, 0))
        .collect()
}

/// One anomaly on each of `n` entities outside the topology, each of its own class.
fn outside_anomalies(n: usize, end: i64) -> Vec<Anomaly> {
    (0..n)
        .map(|i| {
            let entity = format!("ext-host-{i:04}");
            let class = format!("app-{i:04}");
            anomaly(&entity, &class, AnomalyKind::VolumeSpike, end, 0.9, 0)
        })
        .collect()
}

/// A correlator holding one incident per site (24 members each) and `outside` incidents of
/// one member each.
fn loaded(topo: &Topology, sites: usize, outside: usize, end: i64) -> Correlator {
    let mut c = Correlator::new(CorrelationSettings::default());
    for site in 0..sites {
        for a in site_anomalies(site, AnomalyKind::ErrorBurst, end) {
            c.observe(&a, topo);
        }
    }
    for a in outside_anomalies(outside, end) {
        c.observe(&a, topo);
    }
    c.changes(topo);
    c
}

fn bench(c: &mut Criterion) {
    let topo = estate();
    let end = EPOCH_MS;
    let mut many = loaded(&topo, SITES, OUTSIDE, end);
    let mut one = loaded(&topo, 1, 0, end);
    println!(
        "estate: {}; open incidents: {} (loaded), {} (baseline)",
        topo.summary(),
        many.open(),
        one.open()
    );
    let on_estate: Vec<Anomaly> = (0..SITES)
        .flat_map(|s| site_anomalies(s, AnomalyKind::ErrorBurst, end))
        .collect();
    let site0 = site_anomalies(0, AnomalyKind::ErrorBurst, end);
    let outside = outside_anomalies(OUTSIDE, end);

    let mut g = c.benchmark_group("correlate");
    g.measurement_time(Duration::from_secs(3));
    g.bench_function(
        "baseline: observe, anomaly on a node, 1 open incident",
        |b| {
            let mut i = 0;
            b.iter(|| {
                i = (i + 1) % site0.len();
                black_box(one.observe(&site0[i], &topo))
            })
        },
    );
    g.bench_function("observe, anomaly on a node, 1k open incidents", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % on_estate.len();
            black_box(many.observe(&on_estate[i], &topo))
        })
    });
    g.bench_function(
        "observe, entity outside the topology, 1k open incidents",
        |b| {
            let mut i = 0;
            b.iter(|| {
                i = (i + 1) % outside.len();
                black_box(many.observe(&outside[i], &topo))
            })
        },
    );

    // One incident of 50 members: the 24 nodes of site 0 with two kinds each, and two more
    // kinds on the router.
    let mut big = Correlator::new(CorrelationSettings::default());
    let mut members: Vec<Anomaly> = site_anomalies(0, AnomalyKind::ErrorBurst, end);
    members.extend(site_anomalies(0, AnomalyKind::LatencyDegradation, end));
    let router = &site_nodes(0)[0].0;
    for kind in [AnomalyKind::VolumeSpike, AnomalyKind::ThresholdBreach] {
        members.push(anomaly(router, "router", kind, end, 0.95, 0));
    }
    for a in &members {
        big.observe(a, &topo);
    }
    let incident = big.changes(&topo);
    let (id, size) = incident
        .first()
        .map(|i| (i.id.clone(), i.members.len()))
        .unwrap_or_default();
    println!(
        "rca incident: {} incident(s), {size} members",
        incident.len()
    );
    g.bench_function(
        "changes() after one anomaly, 50-member incident (RCA)",
        |b| {
            let mut i = 0;
            b.iter(|| {
                i = (i + 1) % members.len();
                big.observe(&members[i], &topo);
                black_box(big.changes(&topo))
            })
        },
    );
    g.bench_function("baseline: observe alone, 50-member incident", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % members.len();
            black_box(big.observe(&members[i], &topo))
        })
    });
    g.bench_function("snapshot (RCA alone), 50-member incident", |b| {
        b.iter(|| black_box(big.snapshot(&id, &topo)))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
