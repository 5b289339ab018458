//! Anomaly scoring end to end: lines in over syslog TCP, anomalies out through the API and the
//! targets; the threshold rules of the shipped detectors file; trained forests kept across a
//! restart.

use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;
use tocsin_tests::{read_ndjson, traffic, wait_until, TestConfig, TestEngine};

/// One scorer shard, a trainer that trains only on demand from few samples.
fn config() -> TestConfig {
    TestConfig {
        extra: "[score]\nshards = 1\n[score.trainer]\ninterval_secs = 0\nmin_samples = 8\n".into(),
        ..TestConfig::default()
    }
}

fn send(engine: &TestEngine, lines: &[String]) {
    let mut stream = TcpStream::connect(engine.tcp()).unwrap();
    for l in lines {
        writeln!(stream, "{l}").unwrap();
    }
    stream.flush().unwrap();
}

fn anomalies(engine: &TestEngine, query: &str) -> Vec<serde_json::Value> {
    let (status, body) = engine.get(&format!("/api/v1/anomalies{query}"));
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    v["anomalies"].as_array().unwrap().clone()
}

/// An RFC 3164 line from `host` at 12:MM:SS on 15 March.
fn at(min: u32, sec: u32, host: &str, msg: &str) -> String {
    format!("<38>Mar 15 12:{min:02}:{sec:02} {host} {msg}")
}

#[test]
fn a_failed_login_burst_from_one_source_over_tcp_is_a_brute_force_anomaly_of_that_host() {
    let engine = TestEngine::start(&config());
    let mut lines = Vec::new();
    // A quiet minute of accepted logins, then 20 failed ones from one address in 12:01:00-10.
    for s in (0..60).step_by(5) {
        lines.push(at(
            0,
            s,
            "bastion-01",
            &format!("sshd[10{s}]: Accepted publickey for deploy from 10.0.0.5 port 5{s:03} ssh2"),
        ));
    }
    for i in 0..20 {
        lines.push(at(
            1,
            i / 3,
            "bastion-01",
            &format!("sshd[20{i}]: Failed password for root from 203.0.113.66 port 4{i:03} ssh2"),
        ));
    }
    // Later events move event time past the burst's window and its lateness.
    for s in (20..60).step_by(10) {
        lines.push(at(
            1,
            s,
            "bastion-01",
            "sshd[300]: Accepted publickey for deploy from 10.0.0.5 port 6000 ssh2",
        ));
    }
    send(&engine, &lines);
    wait_until(Duration::from_secs(30), "a brute-force anomaly", || {
        !anomalies(&engine, "?entity=bastion-01&kind=brute_force").is_empty()
    });
    let found = anomalies(&engine, "?entity=bastion-01");
    assert_eq!(found.len(), 1, "one anomaly for one burst: {found:#?}");
    let a = &found[0];
    assert_eq!(a["kind"], "brute_force");
    assert_eq!(a["entity"], "bastion-01");
    assert_eq!(a["rules"][0], "failed-auth-burst");
    assert_eq!(a["signals"][0]["name"], "auth_failures_one_source");
    assert_eq!(a["signals"][0]["value"], 20.0);
    assert_eq!(a["score"], 1.0);
    assert_eq!(
        a["window"]["end"].as_i64().unwrap() - a["window"]["start"].as_i64().unwrap(),
        10_000
    );
    let (status, body) = engine.get(&format!("/api/v1/anomalies/{}", a["id"].as_str().unwrap()));
    assert_eq!(status, 200, "{body}");
    let (status, _) = engine.get("/api/v1/anomalies/an-0000000000000000");
    assert_eq!(status, 404);
    let (status, body) = engine.get("/api/v1/anomalies?kind=meteor");
    assert_eq!(status, 400);
    assert!(body.contains("brute_force"), "{body}");

    let mut engine = engine;
    // The lines, the anomaly's finding and its incident's.
    let want = lines.len() as u64 + 2;
    engine.wait_delivered(want, Duration::from_secs(30));
    let (_, metrics) = engine.get("/metrics");
    assert!(
        metrics.contains("tocsin_anomalies_total{kind=\"brute_force\"} 1"),
        "{metrics}"
    );
    let report = engine.shutdown();
    // The anomaly and the incident it opened.
    assert_eq!(report.totals.generated, 2);
    let all = read_ndjson(&engine.events_path());
    // The finding reached the file target beside the events, which carry their scores.
    let findings: Vec<_> = all
        .iter()
        .filter(|e| !e["tocsin"]["anomaly"].is_null())
        .collect();
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0]["class_uid"], 2004);
    assert_eq!(findings[0]["finding_info"]["types"][0], "brute_force");
    assert_eq!(findings[0]["tocsin"]["entity"], "bastion-01");
    let events = traffic(all.clone());
    assert_eq!(events.len(), lines.len());
    assert!(
        events.iter().all(|e| e["tocsin"]["score"].is_number()),
        "every event is scored"
    );
}

#[test]
fn cpu_over_90_for_three_windows_is_a_threshold_breach_and_usual_cpu_is_not() {
    let engine = TestEngine::start(&config());
    let start = 1_710_504_000i64; // 2024-03-15T12:00:00Z
    let mut lines = Vec::new();
    // db-7 reports every 5 s: 40 % for a minute, then 96 % for 40 s; web-2 stays at 40 %.
    for i in 0..20 {
        let t = start + i * 5;
        let busy = if i >= 12 { 96.0 } else { 40.0 };
        for (host, pct) in [("db-7", busy), ("web-2", 40.0)] {
            lines.push(format!(
                r#"{{"fields":{{"usage_active":{pct},"usage_idle":{}}},"name":"cpu","tags":{{"cpu":"cpu-total","host":"{host}"}},"timestamp":{t}}}"#,
                100.0 - pct
            ));
        }
    }
    // Later samples close the last busy window.
    for i in 20..26 {
        lines.push(format!(
            r#"{{"fields":{{"usage_active":40,"usage_idle":60}},"name":"cpu","tags":{{"cpu":"cpu-total","host":"web-2"}},"timestamp":{}}}"#,
            start + i * 5
        ));
    }
    send(&engine, &lines);
    wait_until(Duration::from_secs(30), "a threshold breach", || {
        !anomalies(&engine, "?kind=threshold_breach").is_empty()
    });
    let breach = anomalies(&engine, "?kind=threshold_breach");
    assert_eq!(breach.len(), 1, "{breach:#?}");
    assert_eq!(breach[0]["entity"], "db-7");
    assert_eq!(breach[0]["rules"][0], "cpu-high");
    assert_eq!(breach[0]["signals"][0]["name"], "metric.cpu_pct.mean");
    assert_eq!(breach[0]["signals"][0]["value"], 96.0);
    // Busy from 12:01:00: windows 12:01:00, :10 and :20 are over 90 %; the third fires.
    assert_eq!(breach[0]["window"]["start"], (start + 80) * 1000);
    assert!(anomalies(&engine, "?entity=web-2").is_empty());
}

#[test]
fn a_restart_keeps_the_trained_forest_with_its_version_and_checksum() {
    let engine = TestEngine::start(&config());
    let mut lines = Vec::new();
    for w in 0..14u32 {
        for i in 0..(5 + w % 4) {
            lines.push(at(
                w / 6,
                (w % 6) * 10 + i,
                &format!("app-{}", w % 3),
                "sshd[1]: Accepted publickey for deploy from 10.0.0.5 port 5000 ssh2",
            ));
        }
    }
    send(&engine, &lines);
    wait_until(Duration::from_secs(30), "enough window samples", || {
        let (_, body) = engine.get("/api/v1/models");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        v["samples"]
            .as_array()
            .is_some_and(|s| s.iter().any(|c| c["kept"].as_u64() >= Some(8)))
    });
    let (status, _, body) = engine.post("/api/v1/models/retrain", "application/json", None, b"");
    assert_eq!(status, 200, "{body}");
    let trained: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(trained["trained"][0]["version"], 1, "{trained}");
    let before: serde_json::Value = serde_json::from_str(&engine.get("/api/v1/models").1).unwrap();
    let model = before["models"][0].clone();
    assert_eq!(model["kind"], "forest");
    assert_eq!(model["version"], 1);
    assert!(
        model["file"].as_str().unwrap().ends_with("-v1.rkyv"),
        "{model}"
    );

    let dir = engine.stop();
    let engine = TestEngine::start_in(dir, &config());
    let after: serde_json::Value = serde_json::from_str(&engine.get("/api/v1/models").1).unwrap();
    let again = &after["models"][0];
    // The same trees (the checksum is over the saved forest), so the same scores.
    for key in ["class", "version", "checksum", "trained_on", "trees"] {
        assert_eq!(again[key], model[key], "{key}: {after}");
    }
    let (_, metrics) = engine.get("/metrics");
    assert!(
        metrics.contains("tocsin_model_load_failures_total 0"),
        "{metrics}"
    );
    // Training again builds on the kept version.
    let (status, _, body) = engine.post("/api/v1/models/retrain", "application/json", None, b"");
    assert_eq!(status, 200, "{body}");
}

/// The LSTM joins once trained, is saved, and a restarted engine's shards load and use it.
#[cfg(feature = "lstm")]
#[test]
fn a_restart_keeps_the_trained_lstm_and_the_shards_score_with_it() {
    let engine = TestEngine::start(&config());
    let mut lines = Vec::new();
    // Three hosts, 40 windows each (6 minutes 40 s), a few events a window.
    for w in 0..40u32 {
        for host in 0..3u32 {
            for i in 0..(3 + (w + host) % 3) {
                let t = w * 10 + i;
                lines.push(at(
                    t / 60,
                    t % 60,
                    &format!("lstm-{host}"),
                    "sshd[1]: Accepted publickey for deploy from 10.0.0.5 port 5000 ssh2",
                ));
            }
        }
    }
    // Minute 7 and after: 3 further windows keep time moving so the last ones close.
    for s in [0u32, 15, 30] {
        lines.push(at(
            7,
            s,
            "lstm-0",
            "sshd[1]: Accepted publickey for deploy from 10.0.0.5 port 5000 ssh2",
        ));
    }
    send(&engine, &lines);
    wait_until(
        Duration::from_secs(30),
        "windows of the three hosts",
        || {
            let p = engine.pipeline();
            p["scoring"]["windows"].as_u64().unwrap_or(0) >= 100
        },
    );
    let (status, _, body) = engine.post("/api/v1/models/retrain", "application/json", None, b"");
    assert_eq!(status, 200, "{body}");
    let trained: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(trained["lstm"]["version"], 1, "{trained}");
    assert!(
        trained["lstm"]["loss_after"].as_f64() < trained["lstm"]["loss_before"].as_f64(),
        "{trained}"
    );
    wait_until(Duration::from_secs(30), "the shard takes the LSTM", || {
        let v: serde_json::Value = serde_json::from_str(&engine.get("/api/v1/models").1).unwrap();
        v["shards"][0]["lstm_version"] == 1
    });
    let before: serde_json::Value = serde_json::from_str(&engine.get("/api/v1/models").1).unwrap();
    let lstm = before["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["kind"] == "lstm")
        .unwrap()
        .clone();

    let dir = engine.stop();
    let engine = TestEngine::start_in(dir, &config());
    let after: serde_json::Value = serde_json::from_str(&engine.get("/api/v1/models").1).unwrap();
    let again = after["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["kind"] == "lstm")
        .unwrap();
    for key in ["version", "checksum", "trained_on", "file"] {
        assert_eq!(again[key], lstm[key], "{key}: {after}");
    }
    // Loaded at start: the shard scores with version 1 before any training.
    assert_eq!(after["shards"][0]["lstm_version"], 1, "{after}");
}
