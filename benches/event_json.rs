//! The OCSF JSON form of an event: `write_event` (every sink, per event) beside
//! `serde_json::to_writer` of a flat map with the same number of fields, and `event_from_json`
//! (HTTP ingest) beside `serde_json::from_slice::<Value>` of the same bytes.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Duration;
use tocsin_engine::normalise::FrameMeta;
use tocsin_engine::schema::json::{event_from_json, write_event};
use tocsin_engine::schema::{
    severity, Device, Endpoint, Event, Status, Symbol, Text, CLASS_NETWORK_ACTIVITY,
};

/// A typical firewall connection event: 12 top-level fields, 4 unmapped pairs.
fn typical_event() -> Event {
    Event {
        time: 1_704_448_800_123,
        received_ns: 1_704_448_800_456_000_000,
        severity_id: severity::INFORMATIONAL,
        class_uid: CLASS_NETWORK_ACTIVITY,
        activity_name: Some(Symbol::intern("Open")),
        status: Status::Success,
        disposition: Some(Symbol::intern("Allowed")),
        message: Text::from_static(
            "Built outbound TCP connection 4711 for outside:93.184.216.34/443 to inside:10.0.0.5/51515",
        ),
        src: Endpoint {
            ip: Some([10, 0, 0, 5].into()),
            port: Some(51_515),
            hostname: None,
        },
        dst: Endpoint {
            ip: Some([93, 184, 216, 34].into()),
            port: Some(443),
            hostname: None,
        },
        user: None,
        protocol: Some(Symbol::intern("tcp")),
        device: Device {
            hostname: Some(Symbol::intern("fw-01.dc1")),
            ip: None,
        },
        vendor: Some(Symbol::intern("Cisco")),
        product: Some(Symbol::intern("ASA")),
        event_code: Some(Symbol::intern("302013")),
        uid: None,
        source: Some(Symbol::intern("syslog-udp")),
        entity: Some(Symbol::intern("fw-01.dc1")),
        metrics: Default::default(),
        unmapped: [
            ("conn_id", "4711"),
            ("src_zone", "inside"),
            ("dst_zone", "outside"),
            ("acl", "outbound-allow"),
        ]
        .into_iter()
        .map(|(k, v)| (Text::from_static(k), Text::from_static(v)))
        .collect(),
    }
}

/// The same content as a flat map: the raw serde_json baseline for the writer.
fn flat_map() -> BTreeMap<&'static str, Value> {
    BTreeMap::from([
        ("time", json!(1_704_448_800_123_i64)),
        ("severity_id", json!(1)),
        ("class_uid", json!(4001)),
        ("activity_name", json!("Open")),
        ("status", json!("Success")),
        ("disposition", json!("Allowed")),
        (
            "message",
            json!("Built outbound TCP connection 4711 for outside:93.184.216.34/443 to inside:10.0.0.5/51515"),
        ),
        ("src_endpoint.ip", json!("10.0.0.5")),
        ("src_endpoint.port", json!(51_515)),
        ("dst_endpoint.ip", json!("93.184.216.34")),
        ("dst_endpoint.port", json!(443)),
        ("device.hostname", json!("fw-01.dc1")),
        ("conn_id", json!("4711")),
        ("src_zone", json!("inside")),
        ("dst_zone", json!("outside")),
        ("acl", json!("outbound-allow")),
    ])
}

fn bench_write(c: &mut Criterion) {
    let event = typical_event();
    let map = flat_map();
    let mut out = Vec::with_capacity(1024);
    let mut group = c.benchmark_group("event_json/write");
    group.bench_function("write_event", |b| {
        b.iter(|| {
            out.clear();
            write_event(black_box(&event), &mut out);
            black_box(out.len())
        })
    });
    group.bench_function("serde_json_flat_map_baseline", |b| {
        b.iter(|| {
            out.clear();
            serde_json::to_writer(&mut out, black_box(&map)).expect("writing to a Vec cannot fail");
            black_box(out.len())
        })
    });
    group.finish();
}

fn bench_read(c: &mut Criterion) {
    let mut bytes = Vec::new();
    write_event(&typical_event(), &mut bytes);
    let meta = FrameMeta {
        source: Symbol::intern("http-ingest"),
        received_ns: 1_704_448_800_456_000_000,
        peer: None,
        vendor: None,
    };
    let mut group = c.benchmark_group("event_json/read");
    group.bench_function("event_from_json", |b| {
        b.iter(|| event_from_json(black_box(&bytes), &meta).expect("the bench input is valid"))
    });
    group.bench_function("serde_json_value_baseline", |b| {
        b.iter(|| {
            serde_json::from_slice::<Value>(black_box(&bytes)).expect("the bench input is valid")
        })
    });
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500))
}

criterion_group! {
    name = benches;
    config = config();
    targets = bench_write, bench_read
}
criterion_main!(benches);
