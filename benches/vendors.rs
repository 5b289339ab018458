//! Vendor mappings: ns per line for each shipped vendor's representative mix
//! (`benches/corpus/<vendor>.log`), named explicitly, and the whole mixed corpus with
//! auto-detection. Baseline: the Base Event path (syslog header only, no mapping).
//! `detect/mixed`: auto-detection alone (the syslog header already parsed) on the same lines.

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tocsin_engine::normalise::mapping::VendorRegistry;
use tocsin_engine::normalise::syslog::parse_syslog;
use tocsin_engine::normalise::{Frame, FrameMeta, Normaliser};
use tocsin_engine::schema::Symbol;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn corpus(vendor: &str) -> Vec<Frame> {
    let path = root().join("benches/corpus").join(format!("{vendor}.log"));
    std::fs::read_to_string(&path)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| Frame::line(Bytes::copy_from_slice(l.as_bytes())))
        .collect()
}

fn meta(vendor: Option<&str>) -> FrameMeta {
    FrameMeta {
        source: Symbol::intern("bench"),
        received_ns: 1_710_504_000_000_000_000,
        peer: None,
        vendor: vendor.map(Symbol::intern),
    }
}

fn run(n: &Normaliser, frames: &[Frame], meta: &FrameMeta) -> usize {
    frames
        .iter()
        .filter(|f| n.normalise(f, meta).is_ok())
        .count()
}

fn vendors(c: &mut Criterion) {
    let registry = Arc::new(
        VendorRegistry::load_dir(&root().join("config/vendors")).expect("shipped mappings load"),
    );
    let mapped = Normaliser::with_vendors(65536, registry.clone());
    let base = Normaliser::new(65536);
    let mut group = c.benchmark_group("vendors");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500));
    let mut all = Vec::new();
    for info in registry.list() {
        let frames = corpus(&info.name);
        if frames.is_empty() {
            continue;
        }
        group.throughput(Throughput::Elements(frames.len() as u64));
        let m = meta(Some(&info.name));
        group.bench_function(info.name.as_str(), |b| b.iter(|| run(&mapped, &frames, &m)));
        all.extend(frames);
    }
    group.throughput(Throughput::Elements(all.len() as u64));
    let auto = meta(None);
    group.bench_function("mixed_auto", |b| b.iter(|| run(&mapped, &all, &auto)));
    group.bench_function("baseline_base_event", |b| {
        b.iter(|| run(&base, &all, &auto))
    });
    group.finish();
}

fn detect(c: &mut Criterion) {
    let registry =
        VendorRegistry::load_dir(&root().join("config/vendors")).expect("shipped mappings load");
    let lines: Vec<String> = registry
        .list()
        .iter()
        .flat_map(|info| corpus(&info.name))
        .map(|f| String::from_utf8_lossy(&f.data).into_owned())
        .collect();
    let parsed: Vec<(&[u8], &str)> = lines
        .iter()
        .map(|l| {
            let message = parse_syslog(l, 0).map(|h| h.message).unwrap_or(l);
            (l.as_bytes(), message)
        })
        .collect();
    let mut group = c.benchmark_group("detect");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500))
        .throughput(Throughput::Elements(parsed.len() as u64));
    group.bench_function("mixed", |b| {
        b.iter(|| {
            parsed
                .iter()
                .filter(|(line, message)| registry.detect_message(line, message).is_some())
                .count()
        })
    });
    group.finish();
}

criterion_group!(benches, vendors, detect);
criterion_main!(benches);
