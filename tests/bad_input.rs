//! Malformed, oversized and non-UTF-8 input is counted and dead-lettered, never a crash.

use std::io::Write;
use std::net::{TcpStream, UdpSocket};
use std::time::Duration;
use tocsin_tests::{read_ndjson, wait_until, TestConfig, TestEngine};

#[test]
fn bad_lines_are_counted_and_dead_lettered_and_the_engine_carries_on() {
    let mut engine = TestEngine::start(&TestConfig {
        shards: 1,
        max_line_bytes: 1024,
        ..TestConfig::default()
    });
    let mut stream = TcpStream::connect(engine.tcp()).unwrap();
    stream
        .write_all(b"<13>Jan  5 10:00:00 host app: bad \xff\xfe bytes\n")
        .unwrap();
    stream
        .write_all(b"<999>Jan  5 10:00:00 host app: priority out of range\n")
        .unwrap();
    stream.write_all(&[b'A'; 5000]).unwrap();
    stream
        .write_all(b"\n<13>Jan  5 10:00:00 host app: after the bad ones\n")
        .unwrap();
    drop(stream);
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    udp.send_to(&[b'B'; 3000], engine.udp()).unwrap();

    wait_until(Duration::from_secs(30), "four dead letters", || {
        engine.pipeline()["totals"]["dead_letters"] == 4
    });
    engine.wait_delivered(1, Duration::from_secs(30));
    let p = engine.pipeline();
    let errors = &p["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "normaliser-0")
        .unwrap()["parse_errors"];
    assert_eq!(errors["not_utf8"], 1);
    assert_eq!(errors["bad_syslog_header"], 1);
    assert_eq!(errors["oversized"], 2);
    let (status, metrics) = engine.get("/metrics");
    assert_eq!(status, 200);
    assert!(metrics
        .contains("tocsin_parse_errors_total{actor=\"normaliser-0\",reason=\"oversized\"} 2"));
    assert!(metrics.contains("tocsin_frames_truncated_total{connector=\"tcp\"} 1"));
    assert!(metrics.contains("tocsin_frames_truncated_total{connector=\"udp\"} 1"));
    assert_eq!(engine.get("/health").0, 200);

    engine.shutdown();
    let events = read_ndjson(&engine.events_path());
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["message"], "after the bad ones");
    let dead = read_ndjson(&engine.dead_letter_path());
    let reasons: Vec<&str> = dead.iter().map(|d| d["reason"].as_str().unwrap()).collect();
    assert_eq!(reasons.iter().filter(|r| **r == "oversized").count(), 2);
    let not_utf8 = dead.iter().find(|d| d["reason"] == "not_utf8").unwrap();
    let raw = base64_decode(not_utf8["raw_base64"].as_str().unwrap());
    assert_eq!(raw, b"<13>Jan  5 10:00:00 host app: bad \xff\xfe bytes");
    let oversized = dead
        .iter()
        .find(|d| d["reason"] == "oversized" && d["source"] == "tcp")
        .unwrap();
    assert_eq!(
        oversized["raw"].as_str().unwrap().len(),
        1024,
        "the kept part is the first max_line_bytes"
    );
    assert!(dead
        .iter()
        .any(|d| d["reason"] == "bad_syslog_header"
            && d["raw"].as_str().unwrap().starts_with("<999>")));
}

fn base64_decode(s: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let mut acc = 0u32;
    let mut bits = 0;
    for c in s.bytes().filter(|c| *c != b'=') {
        acc = (acc << 6) | ALPHABET.iter().position(|a| *a == c).expect("base64 digit") as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}
