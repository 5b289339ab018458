//! LSTM detector: time of one batched window tick (score every entity against its forecast,
//! advance its state, forecast its next window) for 10k and 100k entities of a 7-signal family,
//! hidden size 16 (the default), libtorch limited to one thread. Also prints the resident memory
//! growth per tick once the states are warm (it should be zero: a tick allocates only
//! temporaries that libtorch frees or reuses). `LSTM_RSS_TICKS` sets how many ticks that
//! measures (100).
//!
//! `cargo bench -p tocsin-benches --bench lstm -- --warm-up-time 1 --measurement-time 5`

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use std::time::Duration;
use tocsin_engine::score::lstm::{use_one_thread, LstmConfig, LstmModel, LstmStates};

const F: usize = 7;

/// Deterministic windows (xorshift): counts 0..200, a metric 0..100.
fn windows(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed | 1;
    (0..n * F)
        .map(|i| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let u = (s >> 40) as f32 / (1u64 << 24) as f32;
            if i % F < 5 {
                (u * 200.0).floor()
            } else {
                u * 100.0
            }
        })
        .collect()
}

/// Resident set size in bytes, from /proc/self/statm (Linux).
fn rss() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

fn bench(c: &mut Criterion) {
    use_one_thread();
    // Weights are untrained: a tick costs the same whatever their values.
    let model = LstmModel::new(LstmConfig::new("bench", F)).unwrap();
    let mut g = c.benchmark_group("lstm");
    g.measurement_time(Duration::from_secs(5));
    g.sample_size(20);
    for n in [10_000usize, 100_000] {
        let mut states = LstmStates::new(&model, n).unwrap();
        let slots: Vec<u32> = (0..n).map(|_| states.allocate().unwrap()).collect();
        let inputs = [windows(n, 7), windows(n, 11)];
        let mut scores = vec![0f32; n];
        // Warm: every slot has a forecast, the allocators have their blocks.
        for i in 0..20 {
            model
                .tick(&mut states, &slots, &inputs[i % 2], &mut scores)
                .unwrap();
        }
        if let Some(before) = rss() {
            let ticks: usize = std::env::var("LSTM_RSS_TICKS")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(100);
            for i in 0..ticks {
                model
                    .tick(&mut states, &slots, &inputs[i % 2], &mut scores)
                    .unwrap();
            }
            if let Some(after) = rss() {
                eprintln!(
                    "lstm {n} entities: RSS {:.1} MiB, growth over {ticks} ticks {} KiB ({:.1} B/tick)",
                    after as f64 / (1 << 20) as f64,
                    (after as i64 - before as i64) / 1024,
                    (after as i64 - before as i64) as f64 / ticks as f64
                );
            }
        }
        let mut i = 0;
        g.bench_function(
            format!("batched tick, {n} entities (7 signals, H=16)"),
            |b| {
                b.iter(|| {
                    i += 1;
                    model
                        .tick(
                            &mut states,
                            black_box(&slots),
                            black_box(&inputs[i % 2]),
                            &mut scores,
                        )
                        .unwrap();
                    black_box(scores[0])
                })
            },
        );
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
