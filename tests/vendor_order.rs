//! A batch of lines from several vendors, interleaved line by line, is mapped grouped by vendor
//! inside the normaliser; every line comes out mapped by its own vendor, and each entity's
//! events in the order they were sent (the scorer shards own entities, so events of different
//! entities may pass each other).

use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;
use tocsin_tests::{read_ndjson, traffic, TestConfig, TestEngine};

/// Line `seq` of the stream: Cisco ASA, Linux sshd, FortiGate and an unrecognised line in turn.
/// `seq` is in the syslog host name, or (FortiGate, which has no header) in the source port.
fn line(seq: u64) -> String {
    match seq % 4 {
        0 => format!("<166>Mar 15 12:00:00 h{seq} %ASA-6-302013: Built outbound TCP connection {seq} for outside:10.0.0.1/443 (10.0.0.1/443) to inside:192.168.1.2/5000 (192.168.1.2/5000)"),
        1 => format!("<38>Mar 15 12:00:00 h{seq} sshd[123]: Failed password for root from 203.0.113.5 port 4242 ssh2"),
        2 => format!("<189>date=2024-03-15 time=12:00:00 devname=\"FG1\" devid=\"FGT60E\" logid=\"0000000013\" type=\"traffic\" subtype=\"forward\" level=\"notice\" srcip=10.1.1.1 srcport={} dstip=8.8.8.8 dstport=53 action=\"accept\"", 10_000 + seq),
        _ => format!("<13>Mar 15 12:00:00 h{seq} app: hello there"),
    }
}

#[test]
fn interleaved_vendors_come_out_in_input_order_each_mapped() {
    let mut engine = TestEngine::start(&TestConfig {
        shards: 1,
        batch_size: 512,
        ..TestConfig::default()
    });
    let sent = 2_000u64;
    let mut stream = TcpStream::connect(engine.tcp()).unwrap();
    let mut buf = Vec::new();
    for seq in 0..sent {
        writeln!(buf, "{}", line(seq)).unwrap();
    }
    stream.write_all(&buf).unwrap();
    stream.flush().unwrap();
    engine.wait_delivered(sent, Duration::from_secs(60));
    drop(stream);
    let report = engine.shutdown();
    assert_eq!(report.totals.delivered - report.totals.generated, sent);

    let events = traffic(read_ndjson(&engine.events_path()));
    assert_eq!(events.len() as u64, sent, "no event lost");
    // Each event's line number: in the syslog host name, or (FortiGate) in the source port.
    let seq_of = |e: &serde_json::Value| -> u64 {
        e["src_endpoint"]["port"]
            .as_u64()
            .filter(|p| *p >= 10_000)
            .map(|p| p - 10_000)
            .or_else(|| {
                e["device"]["hostname"]
                    .as_str()
                    .and_then(|h| h.strip_prefix('h'))
                    .and_then(|n| n.parse().ok())
            })
            .unwrap_or_else(|| panic!("no line number in {e}"))
    };
    // The 500 FortiGate lines are one entity (FG1): they keep their order.
    let fg1: Vec<u64> = events
        .iter()
        .filter(|e| e["tocsin"]["entity"] == "FG1")
        .map(seq_of)
        .collect();
    assert_eq!(fg1.len(), 500);
    assert!(fg1.windows(2).all(|w| w[0] < w[1]), "FG1's events in order");
    let mut numbered: Vec<(u64, &serde_json::Value)> =
        events.iter().map(|e| (seq_of(e), e)).collect();
    numbered.sort_by_key(|(seq, _)| *seq);
    for (i, (seq, e)) in numbered.iter().enumerate() {
        let i = i as u64;
        assert_eq!(*seq, i, "every line once");
        let (class, vendor) = match i % 4 {
            0 => (4001, Some("Cisco")),
            1 => (3002, Some("Linux")),
            2 => (4001, Some("Fortinet")),
            _ => (0, None),
        };
        assert_eq!(e["class_uid"], class, "line {i}: {e}");
        assert_eq!(
            e["metadata"]["product"]["vendor_name"].as_str(),
            vendor,
            "line {i}"
        );
    }
}
