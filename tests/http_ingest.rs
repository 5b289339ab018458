//! HTTP ingest: NDJSON, JSON arrays and raw lines (gzip too); 2xx only once enqueued, 503 with
//! Retry-After when the pipeline stays saturated, and nothing of a refused request enqueued.

use flate2::write::GzEncoder;
use std::io::Write;
use std::time::Duration;
use tocsin_tests::{read_ndjson, TestConfig, TestEngine};

#[test]
fn ndjson_events_are_accepted_after_enqueue_and_arrive() {
    let mut engine = TestEngine::start(&TestConfig::default());
    let body = concat!(
        r#"{"time": 1704448800000, "message": "login failed", "severity_id": 3, "class_uid": 3002, "status": "Failure", "device": {"hostname": "vpn-1"}, "src_endpoint": {"ip": "10.1.2.3"}}"#,
        "\n",
        r#"{"time": 1704448801000, "message": "second", "device.hostname": "vpn-1", "custom_field": "kept"}"#,
        "\n"
    );
    let (status, _, answer) = engine.post(
        "/api/v1/ingest/http",
        "application/x-ndjson",
        None,
        body.as_bytes(),
    );
    assert_eq!(status, 202, "{answer}");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&answer).unwrap()["accepted"],
        2
    );

    let lines: String = (0..50)
        .map(|i| format!("<13>Jan  5 10:00:00 gz-host app: gz line {i}\n"))
        .collect();
    let mut gz = GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(lines.as_bytes()).unwrap();
    let (status, _, _) = engine.post(
        "/api/v1/ingest/http",
        "text/plain",
        Some("gzip"),
        &gz.finish().unwrap(),
    );
    assert_eq!(status, 202);

    let array = r#"[{"message": "from array 1"}, {"message": "from array 2"}]"#;
    let (status, _, _) = engine.post(
        "/api/v1/ingest/http",
        "application/json",
        None,
        array.as_bytes(),
    );
    assert_eq!(status, 202);

    let (status, _, _) = engine.post("/api/v1/ingest/nope", "text/plain", None, b"x\n");
    assert_eq!(status, 404);

    engine.wait_delivered(54, Duration::from_secs(60));
    engine.shutdown();
    let events = read_ndjson(&engine.events_path());
    assert_eq!(events.len(), 54);
    let login = events
        .iter()
        .find(|e| e["message"] == "login failed")
        .expect("ndjson event");
    assert_eq!(login["class_uid"], 3002);
    assert_eq!(login["status"], "Failure");
    assert_eq!(login["src_endpoint"]["ip"], "10.1.2.3");
    assert_eq!(login["device"]["hostname"], "vpn-1");
    let second = events.iter().find(|e| e["message"] == "second").unwrap();
    assert_eq!(second["unmapped"]["custom_field"], "kept");
    assert_eq!(
        events
            .iter()
            .filter(|e| e["device"]["hostname"] == "gz-host")
            .count(),
        50
    );
    assert!(events.iter().any(|e| e["message"] == "from array 2"));
}

#[test]
fn saturated_pipeline_answers_503_and_enqueues_nothing_of_refused_requests() {
    let mut engine = TestEngine::start(&TestConfig {
        batch_size: 16,
        mailbox: 1,
        shards: 1,
        ingest_wait_ms: 200,
        ..TestConfig::default()
    });
    let (status, _) = engine.get("/api/v1/pipeline");
    assert_eq!(status, 200);
    let (status, _, _) = engine.post("/api/v1/targets/file/pause", "application/json", None, b"");
    assert_eq!(status, 200);

    let body: String = (0..16)
        .map(|i| format!("<13>Jan  5 10:00:00 h app: line {i}\n"))
        .collect();
    let mut accepted = 0u64;
    let mut refused = None;
    for _ in 0..100 {
        let (status, retry_after, answer) =
            engine.post("/api/v1/ingest/http", "text/plain", None, body.as_bytes());
        match status {
            202 => accepted += 16,
            503 => {
                refused = Some((retry_after, answer));
                break;
            }
            other => panic!("unexpected status {other}: {answer}"),
        }
    }
    let (retry_after, answer) = refused.expect("a saturated pipeline refuses with 503");
    assert_eq!(retry_after.as_deref(), Some("2"));
    assert!(answer.contains("saturated"), "{answer}");

    let (status, _, _) = engine.post("/api/v1/targets/file/resume", "application/json", None, b"");
    assert_eq!(status, 200);
    engine.wait_delivered(accepted, Duration::from_secs(60));
    engine.shutdown();
    // Exactly what was acknowledged arrived: nothing of the refused request.
    assert_eq!(read_ndjson(&engine.events_path()).len() as u64, accepted);
}
