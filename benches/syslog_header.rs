//! Syslog headers: `parse_syslog` on an RFC 3164 line, an RFC 5424 line with structured data and
//! a Cisco ASA line without hostname, and `normalise_line` end to end (header + Base Event),
//! beside a raw baseline: a `memchr` split of the same line into its first 8 space-separated
//! fields.

use bytes::Bytes;
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use std::time::Duration;
use tocsin_engine::normalise::base::normalise_line;
use tocsin_engine::normalise::syslog::parse_syslog;
use tocsin_engine::normalise::FrameMeta;
use tocsin_engine::schema::Symbol;

/// 2024-03-02T00:00:00Z
const RECEIVED_MS: i64 = 1_709_337_600_000;

const LINES: [(&str, &str); 4] = [
    (
        "rfc3164_sshd",
        "<38>Mar  1 23:59:58 bastion sshd[4721]: Failed password for invalid user admin from 203.0.113.50 port 52311 ssh2",
    ),
    (
        "rfc5424_sd",
        "<165>1 2024-03-01T12:00:00.003Z app-1.example.com billing 812 PAY42 [origin@32473 ip=\"10.0.0.7\" env=\"prod\"] payment 4711 failed: card declined",
    ),
    (
        "asa_no_host",
        "<166>%ASA-6-302013: Built outbound TCP connection 4711 for outside:93.184.216.34/443 (93.184.216.34/443) to inside:10.0.0.5/51515 (10.0.0.5/51515)",
    ),
    (
        "fortigate_kv",
        "<189>date=2024-03-01 time=12:00:00 devname=\"FW 1\" devid=\"FGT60F\" logid=\"0000000013\" type=\"traffic\" subtype=\"forward\" level=\"notice\" srcip=10.1.1.5 srcport=51515 dstip=8.8.8.8 dstport=53 proto=17 action=\"accept\"",
    ),
];

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("syslog_header");
    for (name, line) in LINES {
        g.bench_function(format!("baseline_memchr_fields/{name}"), |b| {
            b.iter(|| {
                let line = black_box(line).as_bytes();
                let mut fields = [0usize; 8];
                for (slot, pos) in fields.iter_mut().zip(memchr::memchr_iter(b' ', line)) {
                    *slot = pos;
                }
                fields
            })
        });
        g.bench_function(format!("parse_syslog/{name}"), |b| {
            b.iter(|| parse_syslog(black_box(line), RECEIVED_MS).map(|h| h.message.len()))
        });
    }
    let meta = FrameMeta {
        source: Symbol::intern("syslog-tcp"),
        received_ns: RECEIVED_MS as u64 * 1_000_000,
        peer: Some([198, 51, 100, 9].into()),
        vendor: None,
    };
    for (name, line) in LINES {
        let data = Bytes::from_static(line.as_bytes());
        g.bench_function(format!("normalise_line/{name}"), |b| {
            b.iter(|| normalise_line(black_box(&data), &meta))
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = bench
}
criterion_main!(benches);
