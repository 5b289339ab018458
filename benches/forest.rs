//! Isolation forest scoring: ns per feature vector (100 trees grown on 256-point samples, the
//! paper's defaults), for window vectors of 8 signals, and training time for 10k vectors.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use std::time::Duration;
use tocsin_engine::score::forest::{ForestParams, IsolationForest};

const DIMS: usize = 8;

/// Deterministic pseudo-random vectors (xorshift), values 0..100.
fn vectors(n: usize, seed: u64) -> Vec<f64> {
    let mut s = seed | 1;
    (0..n * DIMS)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 11) as f64 / (1u64 << 53) as f64 * 100.0
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let train = vectors(10_000, 7);
    let forest = IsolationForest::train(&train, DIMS, ForestParams::default()).unwrap();
    let probes = vectors(1_000, 11);
    let mut g = c.benchmark_group("forest");
    g.measurement_time(Duration::from_secs(3));
    g.bench_function("score one 8-signal vector (100 trees)", |b| {
        let mut i = 0;
        b.iter(|| {
            let p = &probes[(i % 1_000) * DIMS..(i % 1_000 + 1) * DIMS];
            i += 1;
            black_box(forest.score(black_box(p)))
        })
    });
    g.bench_function("train on 10k vectors (100 trees x 256)", |b| {
        b.iter(|| {
            black_box(IsolationForest::train(
                &train,
                DIMS,
                ForestParams::default(),
            ))
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
