//! Supervision: a handler panic costs only the poison batch (dead-lettered), the actor is
//! restarted and counted, and later events still arrive; the watchdog flags a stage that has
//! input but makes no progress.

use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;
use tocsin_tests::{read_ndjson, wait_until, TestConfig, TestEngine};

fn stage<'a>(p: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    p["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap()
}

#[test]
fn a_panicking_normaliser_is_restarted_and_later_events_arrive() {
    let mut engine = TestEngine::start(&TestConfig {
        shards: 1,
        ..TestConfig::default()
    });
    let mut stream = TcpStream::connect(engine.tcp()).unwrap();
    writeln!(stream, "<13>Jan  5 10:00:00 host app: before").unwrap();
    engine.wait_delivered(1, Duration::from_secs(30));

    stream
        .write_all(tocsin_actors::normaliser::TEST_POISON_LINE)
        .unwrap();
    stream.write_all(b"\n").unwrap();
    wait_until(Duration::from_secs(30), "the normaliser restart", || {
        stage(&engine.pipeline(), "normaliser-0")["restarts"] == 1
    });
    let p = engine.pipeline();
    assert_eq!(stage(&p, "normaliser-0")["panics"], 1);
    let (_, metrics) = engine.get("/metrics");
    assert!(metrics
        .contains("tocsin_actor_restarts_total{actor=\"normaliser-0\",kind=\"normaliser\"} 1"));

    for i in 0..1000 {
        writeln!(stream, "<13>Jan  5 10:00:00 host app: after {i}").unwrap();
    }
    drop(stream);
    engine.wait_delivered(1001, Duration::from_secs(30));
    engine.shutdown();
    let events = read_ndjson(&engine.events_path());
    assert_eq!(events.len(), 1001);
    assert_eq!(events[1000]["message"], "after 999");

    let dead = read_ndjson(&engine.dead_letter_path());
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0]["reason"], "panic");
    assert_eq!(dead[0]["raw"], "TOCSIN-TEST-POISON-BATCH");
    assert_eq!(dead[0]["stage"], "normaliser-0");
}

#[test]
fn the_watchdog_flags_a_stage_with_input_and_no_progress() {
    let mut engine = TestEngine::start(&TestConfig {
        shards: 1,
        batch_size: 8,
        mailbox: 2,
        ..TestConfig::default()
    });
    let (status, _, _) = engine.post("/api/v1/targets/file/pause", "application/json", None, b"");
    assert_eq!(status, 200);
    let mut stream = TcpStream::connect(engine.tcp()).unwrap();
    for i in 0..200 {
        writeln!(stream, "<13>Jan  5 10:00:00 host app: line {i}").unwrap();
    }
    stream.flush().unwrap();
    wait_until(
        Duration::from_secs(30),
        "target-file marked stalled",
        || stage(&engine.pipeline(), "target-file")["stalled"] == true,
    );
    let (_, metrics) = engine.get("/metrics");
    assert!(metrics.contains("tocsin_actor_stalled{actor=\"target-file\",kind=\"target\"} 1"));

    let (status, _, _) = engine.post("/api/v1/targets/file/resume", "application/json", None, b"");
    assert_eq!(status, 200);
    drop(stream);
    engine.wait_delivered(200, Duration::from_secs(30));
    wait_until(Duration::from_secs(30), "stall cleared", || {
        stage(&engine.pipeline(), "target-file")["stalled"] == false
    });
    engine.shutdown();
}
