//! UDP datagrams wait a moment for more of their peer's datagrams before they go out as a batch:
//! nothing is held back when traffic stops, and a peer's messages keep their order.

use std::net::UdpSocket;
use std::time::Duration;
use tocsin_tests::{field_u64, read_ndjson, wait_until, TestConfig, TestEngine};

#[test]
fn a_lone_datagram_goes_out_without_more_traffic() {
    let engine = TestEngine::start(&TestConfig::default());
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    udp.send_to(b"<13>Jan  5 10:00:00 host app: lone seq=1", engine.udp())
        .unwrap();
    // Nothing else is sent: only the linger timer can release the frame.
    engine.wait_delivered(1, Duration::from_secs(30));
}

#[test]
fn a_peers_datagrams_arrive_complete_and_in_order_in_few_batches() {
    const N: u64 = 3_000;
    let engine = TestEngine::start(&TestConfig {
        mailbox: 64,
        ..TestConfig::default()
    });
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    for seq in 0..N {
        udp.send_to(
            format!("<13>Jan  5 10:00:00 host app: burst seq={seq}").as_bytes(),
            engine.udp(),
        )
        .unwrap();
        if seq % 500 == 499 {
            // Keep within the kernel's receive buffer: this test is about batching, not loss.
            wait_until(Duration::from_secs(30), "the engine to catch up", || {
                engine.delivered() > seq - 250
            });
        }
    }
    engine.wait_delivered(N, Duration::from_secs(30));
    let seqs: Vec<u64> = read_ndjson(&engine.events_path())
        .iter()
        .filter_map(|e| field_u64(e["message"].as_str()?, "seq"))
        .collect();
    assert_eq!(seqs, (0..N).collect::<Vec<_>>());
    let pipeline = engine.pipeline();
    let udp_in = pipeline["connectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "udp")
        .unwrap();
    assert_eq!(udp_in["events_in"], N);
    // Batches, not one message each.
    assert!(udp_in["batches"].as_u64().unwrap() < N / 4, "{udp_in:#}");
}
