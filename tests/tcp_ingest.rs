//! Syslog over TCP, end to end: many concurrent clients, both framings, OCSF JSON in the file
//! target, order kept per connection.

use std::collections::HashMap;
use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;
use tocsin_tests::{field_u64, read_ndjson, TestConfig, TestEngine};

fn send_lines(addr: std::net::SocketAddr, client: usize, count: usize) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    let mut buf = Vec::with_capacity(1 << 16);
    for seq in 0..count {
        writeln!(
            buf,
            "<134>Oct 11 22:14:15 dev{client} app[42]: client={client} seq={seq} action=accept"
        )
        .unwrap();
        if buf.len() > 60_000 {
            stream.write_all(&buf).expect("write");
            buf.clear();
        }
    }
    stream.write_all(&buf).expect("write");
}

#[test]
fn two_hundred_thousand_lines_from_four_clients_arrive_in_order_as_ocsf_json() {
    const CLIENTS: usize = 4;
    const PER_CLIENT: usize = 50_000;
    let mut engine = TestEngine::start(&TestConfig::default());
    let addr = engine.tcp();
    let senders: Vec<_> = (0..CLIENTS)
        .map(|c| std::thread::spawn(move || send_lines(addr, c, PER_CLIENT)))
        .collect();
    for s in senders {
        s.join().expect("sender");
    }
    engine.wait_delivered((CLIENTS * PER_CLIENT) as u64, Duration::from_secs(180));
    let report = engine.shutdown();
    assert!(report.drained);
    assert_eq!(report.totals.received, (CLIENTS * PER_CLIENT) as u64);
    assert_eq!(report.totals.dropped, 0);

    let events = read_ndjson(&engine.events_path());
    assert_eq!(events.len(), CLIENTS * PER_CLIENT);
    let mut next: HashMap<u64, u64> = HashMap::new();
    for e in &events {
        let msg = e["message"].as_str().expect("message is a string");
        let client = field_u64(msg, "client").expect("client field");
        let seq = field_u64(msg, "seq").expect("seq field");
        let expected = next.entry(client).or_insert(0);
        assert_eq!(seq, *expected, "client {client} out of order");
        *expected += 1;
    }
    assert_eq!(next.len(), CLIENTS);
    assert!(next.values().all(|n| *n == PER_CLIENT as u64));

    // The OCSF shape of one event.
    let e = &events[0];
    assert!(
        e["time"].as_i64().unwrap() > 1_600_000_000_000,
        "time in ms"
    );
    assert_eq!(e["severity_id"], 1, "PRI 134 = local0.info = Informational");
    assert_eq!(e["severity"], "Informational");
    assert_eq!(e["class_uid"], 0);
    assert_eq!(e["class_name"], "Base Event");
    assert!(e["device"]["hostname"].as_str().unwrap().starts_with("dev"));
    assert!(e["metadata"]["logged_time"].as_i64().unwrap() > 1_600_000_000_000);
    assert_eq!(e["tocsin"]["source"], "tcp");
    assert_eq!(e["unmapped"]["action"], "accept");
}

#[test]
fn octet_counted_and_newline_framed_input_both_work() {
    let mut engine = TestEngine::start(&TestConfig::default());
    let addr = engine.tcp();

    // RFC 6587 octet counting: the frame may contain a newline and stays one event.
    let mut octet = TcpStream::connect(addr).unwrap();
    let mut payload = Vec::new();
    for seq in 0..100 {
        let msg = format!(
            "<165>1 2024-01-05T10:00:00.000Z octet-host app - ID47 - octet seq={seq}\nsecond line"
        );
        write!(payload, "{} {}", msg.len(), msg).unwrap();
    }
    octet.write_all(&payload).unwrap();
    drop(octet);

    let mut newline = TcpStream::connect(addr).unwrap();
    for seq in 0..100 {
        writeln!(
            newline,
            "<13>Jan  5 10:00:00 newline-host app: newline seq={seq}"
        )
        .unwrap();
    }
    drop(newline);

    engine.wait_delivered(200, Duration::from_secs(60));
    engine.shutdown();
    let events = read_ndjson(&engine.events_path());
    assert_eq!(events.len(), 200);
    let octets: Vec<_> = events
        .iter()
        .filter(|e| e["device"]["hostname"] == "octet-host")
        .collect();
    assert_eq!(octets.len(), 100);
    assert_eq!(octets[7]["message"], "octet seq=7\nsecond line");
    assert_eq!(octets[7]["time"], 1_704_448_800_000i64);
    assert_eq!(octets[7]["severity_id"], 2, "PRI 165 = local4.notice = Low");
    let newlines = events
        .iter()
        .filter(|e| e["device"]["hostname"] == "newline-host")
        .count();
    assert_eq!(newlines, 100);
}
