//! Vendor mappings: ns per line for each shipped vendor's representative mix
//! (`benches/corpus/<vendor>.log`), named explicitly, and the whole mixed corpus with
//! auto-detection. Baseline: the Base Event path (syslog header only, no mapping).
//! `detect/mixed`: auto-detection alone (the syslog header already parsed) on the same lines.
//! `mixed_auto_batch`: the corpus interleaved line by line across vendors (as a shared
//! appliance receives it) through `Normaliser::normalise_batch`, the path `tocsin normalize`
//! and the normaliser shards take (detect the batch, then map it grouped by vendor).

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

/// One line of each vendor in turn, until every vendor's lines are used.
fn interleave(per_vendor: &[Vec<Frame>]) -> Vec<Frame> {
    let longest = per_vendor.iter().map(Vec::len).max().unwrap_or(0);
    (0..longest)
        .flat_map(|i| per_vendor.iter().filter_map(move |v| v.get(i).cloned()))
        .collect()
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
    let mut per_vendor = Vec::new();
    for info in registry.list() {
        let frames = corpus(&info.name);
        if frames.is_empty() {
            continue;
        }
        group.throughput(Throughput::Elements(frames.len() as u64));
        let m = meta(Some(&info.name));
        group.bench_function(info.name.as_str(), |b| b.iter(|| run(&mapped, &frames, &m)));
        all.extend(frames.iter().cloned());
        per_vendor.push(frames);
    }
    group.throughput(Throughput::Elements(all.len() as u64));
    let auto = meta(None);
    group.bench_function("mixed_auto", |b| b.iter(|| run(&mapped, &all, &auto)));
    let interleaved = interleave(&per_vendor);
    group.bench_function("mixed_auto_batch", |b| {
        b.iter(|| {
            let mut ok = 0usize;
            mapped.normalise_batch(&interleaved, &auto, |_, r| ok += usize::from(r.is_ok()));
            ok
        })
    });
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
