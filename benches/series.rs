//! One numeric signal scored online (`SeriesScorer`, the `tocsin score-series` detectors): ns
//! per value, on a noisy daily cycle with an occasional spike.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use std::time::Duration;
use tocsin_engine::score::series::SeriesScorer;

fn values(n: usize) -> Vec<f64> {
    let mut s = 7u64;
    (0..n)
        .map(|i| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let noise = (s >> 11) as f64 / (1u64 << 53) as f64;
            let spike = if i % 997 == 0 { 40.0 } else { 0.0 };
            50.0 + 10.0 * (i as f64 * std::f64::consts::TAU / 288.0).sin() + noise + spike
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let xs = values(100_000);
    let mut g = c.benchmark_group("series");
    g.measurement_time(Duration::from_secs(3));
    g.bench_function("score one value", |b| {
        let mut scorer = SeriesScorer::default();
        let mut i = 0;
        b.iter(|| {
            let x = xs[i % xs.len()];
            i += 1;
            black_box(scorer.score(black_box(x)).score)
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
