//! A saturated pipeline slows TCP clients down without losing anything, and makes UDP drop
//! whole batches, counted in /metrics with reason `backpressure`.

use std::io::{ErrorKind, Write};
use std::net::{TcpStream, UdpSocket};
use std::time::Duration;
use tocsin_tests::{field_u64, read_ndjson, wait_until, TestConfig, TestEngine};

#[test]
fn saturation_blocks_tcp_without_loss_and_drops_udp_with_a_count() {
    const LINES: usize = 400_000;
    let mut engine = TestEngine::start(&TestConfig {
        batch_size: 64,
        mailbox: 1,
        shards: 1,
        ..TestConfig::default()
    });
    let (status, _, _) = engine.post("/api/v1/targets/file/pause", "application/json", None, b"");
    assert_eq!(status, 200);

    let mut payload = Vec::with_capacity(LINES * 80);
    for seq in 0..LINES {
        writeln!(
            payload,
            "<13>Jan  5 10:00:00 tcp-host app: bp seq={seq} padding=xxxxxxxxxxxx"
        )
        .unwrap();
    }
    let mut stream = TcpStream::connect(engine.tcp()).unwrap();
    stream
        .set_write_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut written = 0;
    let mut blocked = false;
    while written < payload.len() {
        match stream.write(&payload[written..]) {
            Ok(n) => written += n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                blocked = true;
                break;
            }
            Err(e) => panic!("write failed: {e}"),
        }
    }
    assert!(
        blocked,
        "a paused target must push back to the TCP client (wrote all {written} bytes)"
    );

    // The normaliser link is full now: UDP cannot wait, so its batches are dropped and counted.
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    for i in 0..200 {
        udp.send_to(
            format!("<13>Jan  5 10:00:00 udp-host app: udp {i}").as_bytes(),
            engine.udp(),
        )
        .unwrap();
    }
    wait_until(
        Duration::from_secs(30),
        "UDP backpressure drops in /metrics",
        || {
            let (_, text) = engine.get("/metrics");
            text.lines().any(|l| {
                l.starts_with(
                    "tocsin_events_dropped_total{connector=\"udp\",reason=\"backpressure\"}",
                ) && l
                    .rsplit(' ')
                    .next()
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(0)
                    > 0
            })
        },
    );
    // Every datagram is either in the pipeline or counted as dropped, once the connector has
    // read them all (a batch it is still filling is neither yet).
    let udp_counts = |engine: &TestEngine| {
        let pipeline = engine.pipeline();
        let udp_metrics = pipeline["connectors"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "udp")
            .unwrap()
            .clone();
        (
            udp_metrics["dropped"]["backpressure"].as_u64().unwrap_or(0),
            udp_metrics["events_in"].as_u64().unwrap(),
        )
    };
    wait_until(
        Duration::from_secs(30),
        "all 200 datagrams accepted or counted as dropped",
        || {
            let (dropped, accepted) = udp_counts(&engine);
            dropped + accepted == 200
        },
    );
    let (dropped, accepted) = udp_counts(&engine);
    assert!(dropped > 0);

    // Resume: the TCP client finishes and every line arrives.
    let (status, _, _) = engine.post("/api/v1/targets/file/resume", "application/json", None, b"");
    assert_eq!(status, 200);
    stream.set_write_timeout(None).unwrap();
    stream.write_all(&payload[written..]).unwrap();
    drop(stream);
    engine.wait_delivered(LINES as u64 + accepted, Duration::from_secs(240));
    let report = engine.shutdown();
    assert_eq!(report.totals.delivered, LINES as u64 + accepted);

    let events = read_ndjson(&engine.events_path());
    let seqs: Vec<u64> = events
        .iter()
        .filter(|e| e["device"]["hostname"] == "tcp-host")
        .map(|e| field_u64(e["message"].as_str().unwrap(), "seq").unwrap())
        .collect();
    assert_eq!(seqs.len(), LINES);
    assert!(
        seqs.iter().enumerate().all(|(i, s)| *s == i as u64),
        "TCP order kept, nothing lost"
    );
}
