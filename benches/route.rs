//! Routing rules: ns per event for 100 rules of mixed matchers (text equality, severities,
//! anchored regexes, CIDR lists, string lists, metric thresholds, finding fields, throttles)
//! over a mix of auth, firewall, HTTP and finding events, most of which walk far down the list.
//! Baseline: the same events through an empty rule set.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use std::time::Duration;
use tocsin_engine::route::{RuleSet, RuleSpec, Throttle, ThrottleSpec};
use tocsin_engine::schema::{
    Device, Endpoint, Event, Metrics, Status, Symbol, Text, CLASS_AUTHENTICATION,
    CLASS_DETECTION_FINDING, CLASS_HTTP_ACTIVITY, CLASS_NETWORK_ACTIVITY,
};
use tocsin_engine::score::anomaly::{Anomaly, AnomalyKind, DetectorParts, EventScore};

const TARGETS: [&str; 4] = ["file", "pagerduty", "slack", "webhook"];

fn spec(name: String, priority: u32, matchers: Vec<String>) -> RuleSpec {
    RuleSpec {
        name,
        priority,
        matchers,
        targets: vec![],
        set_priority: None,
        drop: false,
        throttle: None,
        runbook: None,
        continue_matching: false,
    }
}

/// 100 rules, 10 of each shape, with values that mostly do not match the events below.
fn rules() -> Vec<RuleSpec> {
    let mut out = Vec::new();
    for i in 0..10u32 {
        let p = 10 + i;
        out.push(spec(
            format!("product-{i}"),
            p,
            vec![
                format!("metadata.product.name = \"app-{i}\""),
                "severity >= High".to_owned(),
            ],
        ));
        out.push(spec(
            format!("hosts-{i}"),
            p,
            vec![format!("device.hostname =~ \"db-{i}[0-9]+\\.prod\"")],
        ));
        out.push(spec(
            format!("nets-{i}"),
            p,
            vec![
                format!("src_endpoint.ip in [\"172.{i}.0.0/16\", \"2001:db8:{i}::/48\"]"),
                "dst_endpoint.port in [22, 3389]".to_owned(),
            ],
        ));
        out.push(spec(
            format!("codes-{i}"),
            p,
            vec![
                format!("metadata.event_code in [\"E{i}01\", \"E{i}02\", \"E{i}03\"]"),
                "status = Failure".to_owned(),
            ],
        ));
        out.push(spec(
            format!("latency-{i}"),
            p,
            vec![
                format!("metrics.latency_ms > {}", 5_000 + i * 100),
                "class_uid = 4002".to_owned(),
            ],
        ));
        out.push(spec(
            format!("users-{i}"),
            p,
            vec![
                format!("actor.user.name in [svc-{i}, admin-{i}, backup-{i}]"),
                "activity_name = Logon".to_owned(),
            ],
        ));
        out.push(spec(
            format!("messages-{i}"),
            p,
            vec![
                "tocsin.source = syslog-tcp".to_owned(),
                format!("message =~ \".*(panic|segfault) in worker {i}.*\""),
            ],
        ));
        out.push(spec(
            format!("unmapped-{i}"),
            p,
            vec![
                format!("unmapped.tenant = t-{i}"),
                "unmapped.bytes >= 1e9".to_owned(),
            ],
        ));
        let mut finding = spec(
            format!("finding-{i}"),
            p,
            vec![
                "class_name = \"Detection Finding\"".to_owned(),
                format!("tocsin.anomaly.entity = \"core-{i}\""),
                "tocsin.anomaly.score >= 0.8".to_owned(),
            ],
        );
        finding.targets = vec!["pagerduty".to_owned()];
        finding.throttle = Some(ThrottleSpec {
            count: 5,
            interval_secs: 60,
            by: vec!["tocsin.anomaly.entity".to_owned()],
        });
        out.push(finding);
        out.push(spec(
            format!("score-{i}"),
            p,
            vec![
                format!("tocsin.entity = \"edge-{i}\""),
                "tocsin.score >= 0.99".to_owned(),
            ],
        ));
    }
    // The last rule catches what is left, so every event walks all 100.
    let mut rest = spec("rest".to_owned(), 1_000, vec![]);
    rest.targets = vec!["file".to_owned()];
    out.pop();
    out.push(rest);
    out
}

/// Deterministic mix: 40 % auth, 35 % firewall, 24 % HTTP with latency, 1 % findings.
fn events(n: usize) -> Vec<Event> {
    let sym = Symbol::intern;
    (0..n)
        .map(|i| {
            let host = sym(&format!("web-{:02}", i % 37));
            let mut e = Event {
                time: 1_700_000_000_000 + i as i64,
                severity_id: (i % 6) as u8 + 1,
                device: Device {
                    hostname: Some(host),
                    ip: format!("10.0.{}.{}", i % 7, i % 250).parse().ok(),
                },
                entity: Some(host),
                source: Some(sym(if i % 2 == 0 {
                    "syslog-udp"
                } else {
                    "syslog-tcp"
                })),
                score: Some(EventScore {
                    score: (i % 100) as f32 / 100.0,
                    parts: DetectorParts::default(),
                }),
                ..Event::default()
            };
            match i % 100 {
                0..=39 => {
                    e.class_uid = CLASS_AUTHENTICATION;
                    e.activity_name = Some(sym("Logon"));
                    e.status = if i % 3 == 0 {
                        Status::Failure
                    } else {
                        Status::Success
                    };
                    e.product = Some(sym("sshd"));
                    e.event_code = Some(sym("4625"));
                    e.user = Some(Text::from(format!("user{}", i % 50)));
                    e.message = Text::from(format!(
                        "Failed password for user{} from 10.1.2.{} port 52100 ssh2",
                        i % 50,
                        i % 250
                    ));
                    e.src = Endpoint {
                        ip: format!("10.1.2.{}", i % 250).parse().ok(),
                        port: Some(52100),
                        hostname: None,
                    };
                }
                40..=74 => {
                    e.class_uid = CLASS_NETWORK_ACTIVITY;
                    e.activity_name = Some(sym("Deny"));
                    e.product = Some(sym("pf"));
                    e.event_code = Some(sym("block"));
                    e.message = Text::from("block in on em0: 203.0.113.9.4411 > 10.0.0.5.443");
                    e.src = Endpoint {
                        ip: format!("2001:db8:ff::{:x}", i % 4096).parse().ok(),
                        port: Some(4411),
                        hostname: None,
                    };
                    e.dst = Endpoint {
                        ip: "10.0.0.5".parse().ok(),
                        port: Some(443),
                        hostname: None,
                    };
                    e.unmapped = [("tenant", "t-blue"), ("bytes", "5120")]
                        .into_iter()
                        .collect();
                }
                75..=98 => {
                    e.class_uid = CLASS_HTTP_ACTIVITY;
                    e.product = Some(sym("nginx"));
                    e.message = Text::from("GET /api/v1/orders HTTP/1.1 200");
                    let mut m = Metrics::new();
                    m.push((sym("latency_ms"), (i % 900) as f64));
                    e.metrics = m;
                }
                _ => {
                    let entity = sym(&format!("core-{}", i % 13));
                    let anomaly = Anomaly {
                        id: Anomaly::id_for(entity.as_str(), AnomalyKind::ErrorBurst, e.time),
                        entity,
                        class: sym("nginx"),
                        kind: AnomalyKind::ErrorBurst,
                        window_start_ms: e.time - 60_000,
                        window_end_ms: e.time,
                        score: 0.75 + (i % 25) as f64 / 100.0,
                        parts: DetectorParts::default(),
                        signals: Default::default(),
                        rules: Default::default(),
                        detected_ns: 0,
                    };
                    e.class_uid = CLASS_DETECTION_FINDING;
                    e.severity_id = anomaly.severity_id();
                    e.entity = Some(entity);
                    e.finding = Some(Box::new(anomaly));
                }
            }
            e
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let set = RuleSet::compile(rules(), &TARGETS).expect("the bench's rules compile");
    assert_eq!(set.len(), 100);
    let empty = RuleSet::empty();
    let events = events(1_000);
    let mut g = c.benchmark_group("route");
    g.measurement_time(Duration::from_secs(3));
    g.bench_function("baseline: empty rule set, per event", |b| {
        let mut t = Throttle::new();
        let mut i = 0;
        b.iter(|| {
            let e = &events[i % events.len()];
            i += 1;
            black_box(empty.evaluate(black_box(e), &mut t, e.time))
        })
    });
    g.bench_function("100 mixed rules, per event", |b| {
        let mut t = Throttle::new();
        let mut i = 0;
        b.iter(|| {
            let e = &events[i % events.len()];
            i += 1;
            black_box(set.evaluate(black_box(e), &mut t, e.time))
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
