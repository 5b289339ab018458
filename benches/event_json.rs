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
    severity, Device, Endpoint, Event, Status, Symbol, Text, CLASS_API_ACTIVITY,
    CLASS_AUTHENTICATION, CLASS_NETWORK_ACTIVITY,
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
        .collect(),
        score: None,
        finding: None,
        incident: None,
    }
}

/// A CloudTrail record as `tocsin normalize` writes it: the ~1 KB raw JSON line as `message`
/// (a quote every few bytes, each escaped) and 25 `unmapped` string values.
fn json_message_event() -> Event {
    let raw = concat!(
        r#"{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLE00000000","#,
        r#""arn":"arn:aws:iam::123456789012:user/user0","accountId":"123456789012","#,
        r#""accessKeyId":"AKIAEXAMPLE000000000","userName":"user0"},"eventTime":"2024-03-15T08:00:00Z","#,
        r#""eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"us-east-1","#,
        r#""sourceIPAddress":"203.0.113.212","userAgent":"Boto3/1.34.60 md/Botocore#1.34.60 ua/2.0 os/linux#6.1","#,
        r#""requestParameters":{"bucketName":"data-lake-raw","key":"events/2024/03/15/part-00000.json","#,
        r#""Host":"data-lake-raw.s3.us-east-1.amazonaws.com"},"responseElements":null,"#,
        r#""additionalEventData":{"SignatureVersion":"SigV4","CipherSuite":"TLS_AES_128_GCM_SHA256","#,
        r#""bytesTransferredIn":0,"AuthenticationMethod":"AuthHeader","x-amz-id-2":"Zm9vYmFyYmF6cXV4\/abc=","#,
        r#""bytesTransferredOut":48213},"requestID":"REQ0000000000000","#,
        r#""eventID":"e7a90000-0000-4000-8000-000000000000","readOnly":true,"#,
        r#""resources":[{"type":"AWS::S3::Object","ARN":"arn:aws:s3:::data-lake-raw/events/2024/03/15/part-00000.json"},"#,
        r#"{"accountId":"123456789012","type":"AWS::S3::Bucket","ARN":"arn:aws:s3:::data-lake-raw"}],"#,
        r#""eventType":"AwsApiCall","managementEvent":false,"recipientAccountId":"123456789012","#,
        r#""eventCategory":"Data","tlsDetails":{"tlsVersion":"TLSv1.3","#,
        r#""clientProvidedHostHeader":"data-lake-raw.s3.us-east-1.amazonaws.com"}}"#,
    );
    let unmapped = [
        ("awsRegion", "us-east-1"),
        ("eventSource", "s3.amazonaws.com"),
        ("sourceIPAddress", "203.0.113.212"),
        ("userIdentity.arn", "arn:aws:iam::123456789012:user/user0"),
        ("userIdentity.principalId", "AIDAEXAMPLE00000000"),
        ("eventVersion", "1.08"),
        ("userIdentity.type", "IAMUser"),
        ("userIdentity.accountId", "123456789012"),
        ("userIdentity.accessKeyId", "AKIAEXAMPLE000000000"),
        (
            "userAgent",
            "Boto3/1.34.60 md/Botocore#1.34.60 ua/2.0 os/linux#6.1",
        ),
        ("requestParameters.bucketName", "data-lake-raw"),
        ("requestParameters.key", "events/2024/03/15/part-00000.json"),
        (
            "requestParameters.Host",
            "data-lake-raw.s3.us-east-1.amazonaws.com",
        ),
        ("additionalEventData.SignatureVersion", "SigV4"),
        ("additionalEventData.CipherSuite", "TLS_AES_128_GCM_SHA256"),
        ("additionalEventData.bytesTransferredIn", "0"),
        ("additionalEventData.AuthenticationMethod", "AuthHeader"),
        ("additionalEventData.bytesTransferredOut", "48213"),
        ("requestID", "REQ0000000000000"),
        ("readOnly", "true"),
        (
            "resources",
            r#"[{"type":"AWS::S3::Object","ARN":"arn:aws:s3:::data-lake-raw/events/2024/03/15/part-00000.json"}]"#,
        ),
        ("eventType", "AwsApiCall"),
        ("managementEvent", "false"),
        ("recipientAccountId", "123456789012"),
        ("eventCategory", "Data"),
    ];
    Event {
        time: 1_710_489_600_000,
        received_ns: 1_710_489_600_456_000_000,
        severity_id: severity::INFORMATIONAL,
        class_uid: CLASS_API_ACTIVITY,
        activity_name: Some(Symbol::intern("Read")),
        status: Status::Success,
        message: Text::from_static(raw),
        src: Endpoint {
            ip: Some([203, 0, 113, 212].into()),
            ..Endpoint::default()
        },
        user: Some(Text::from_static("user0")),
        vendor: Some(Symbol::intern("Amazon Web Services")),
        product: Some(Symbol::intern("CloudTrail")),
        event_code: Some(Symbol::intern("GetObject")),
        uid: Some(Text::from_static("e7a90000-0000-4000-8000-000000000000")),
        source: Some(Symbol::intern("normalize")),
        entity: Some(Symbol::intern("s3.amazonaws.com")),
        unmapped: unmapped.into_iter().collect(),
        ..Event::default()
    }
}

/// A plain syslog text event (sshd): a 113-byte ASCII message with nothing to escape, 3 unmapped.
fn syslog_text_event() -> Event {
    Event {
        time: 1_710_496_826_000,
        received_ns: 1_710_496_826_456_000_000,
        severity_id: severity::MEDIUM,
        class_uid: CLASS_AUTHENTICATION,
        activity_name: Some(Symbol::intern("Logon")),
        status: Status::Failure,
        message: Text::from_static(
            "Mar 15 11:00:26 bastion-02 sshd[48213]: Failed password for invalid user admin from 198.51.100.77 port 52144 ssh2",
        ),
        src: Endpoint {
            ip: Some([198, 51, 100, 77].into()),
            port: Some(52_144),
            hostname: None,
        },
        user: Some(Text::from_static("admin")),
        device: Device {
            hostname: Some(Symbol::intern("bastion-02")),
            ip: None,
        },
        vendor: Some(Symbol::intern("OpenBSD")),
        product: Some(Symbol::intern("sshd")),
        source: Some(Symbol::intern("normalize")),
        entity: Some(Symbol::intern("bastion-02")),
        unmapped: [("pid", "48213"), ("invalid_user", "true"), ("auth_method", "password")]
            .into_iter()
            .collect(),
        ..Event::default()
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
    let map = flat_map();
    let mut out = Vec::with_capacity(1024);
    let mut group = c.benchmark_group("event_json/write");
    for (name, event) in [
        ("write_event", typical_event()),
        (
            "write_event/json_message_1k_25_unmapped",
            json_message_event(),
        ),
        ("write_event/syslog_text", syslog_text_event()),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| {
                out.clear();
                write_event(black_box(&event), &mut out);
                black_box(out.len())
            })
        });
    }
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
    let event = typical_event();
    let mut bytes = Vec::new();
    write_event(&event, &mut bytes);
    let meta = FrameMeta {
        source: Symbol::intern("http-ingest"),
        received_ns: event.received_ns,
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
