//! A vendor the engine has never seen is added through `PUT /api/v1/vendors/{name}` while
//! traffic flows: the following lines come out mapped, with no restart and no lost event; a
//! broken mapping is refused with a readable error and the running one stays.

use std::io::Write;
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tocsin_tests::{field_u64, read_ndjson, traffic, wait_until, TestConfig, TestEngine};

const ACME: &str = r#"
name = "acme_fw"
vendor_name = "Acme"
product = "Firewall"

[detect]
any = ["ACME-FW:"]

[id]
field = "_action"

[[parse]]
op = "kv"
keys = { src = "src_endpoint.ip", dst = "dst_endpoint.ip", sport = "src_endpoint.port", dport = "dst_endpoint.port", user = "actor.user.name", action = "_action" }

[[rules]]
ids = ["deny", "allow"]
class = "Network Activity"
  [[rules.ops]]
  op = "map"
  field = "_action"
  to = "status"
  values = { deny = "Failure", allow = "Success" }
  [[rules.ops]]
  op = "copy"
  field = "_action"
  to = "metadata.event_code"
"#;

#[test]
fn a_new_vendor_applies_to_the_next_lines_without_restart_or_loss() {
    let vendors = tempfile::tempdir().unwrap();
    let mut engine = TestEngine::start(&TestConfig {
        shards: 1,
        vendors_dir: Some(vendors.path().to_owned()),
        ..TestConfig::default()
    });
    let (status, body) = engine.get("/api/v1/vendors");
    assert_eq!(status, 200);
    assert!(!body.contains("acme_fw"));

    let addr = engine.tcp();
    let stop = Arc::new(AtomicBool::new(false));
    let stop_sender = stop.clone();
    let sender = std::thread::spawn(move || {
        let mut stream = TcpStream::connect(addr).unwrap();
        let mut seq = 0u64;
        while !stop_sender.load(Ordering::Acquire) || seq < 1000 {
            let mut buf = Vec::new();
            for _ in 0..100 {
                writeln!(buf, "<134>Mar 15 12:00:00 acme1 ACME-FW: action=deny src=10.1.1.1 dst=10.2.2.2 sport=1234 dport=80 user=bob seq={seq}").unwrap();
                seq += 1;
            }
            stream.write_all(&buf).unwrap();
            stream.flush().unwrap();
            std::thread::yield_now();
        }
        seq
    });
    engine.wait_delivered(500, Duration::from_secs(60));

    // A broken mapping is refused with the reason, and nothing changes.
    let broken = ACME.replace(
        r#"op = "kv""#,
        r#"op = "regex"
pattern = "(unclosed""#,
    );
    let (status, body) = engine.put("/api/v1/vendors/acme_fw", &broken);
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("acme_fw") && body.contains("regex"),
        "readable error: {body}"
    );
    assert_eq!(engine.get("/api/v1/vendors/acme_fw").0, 404);

    let (status, body) = engine.put("/api/v1/vendors/acme_fw", ACME);
    assert_eq!(status, 200, "{body}");
    assert!(
        vendors.path().join("acme_fw.toml").exists(),
        "saved for the next start"
    );
    let (status, text) = engine.get("/api/v1/vendors/acme_fw");
    assert_eq!(status, 200);
    assert!(text.contains("Acme"));
    wait_until(Duration::from_secs(60), "mapped acme lines", || {
        let (_, metrics) = engine.get("/metrics");
        metrics.lines().any(|l| {
            l.starts_with("tocsin_vendor_mapped_total{vendor=\"acme_fw\"}")
                && l.rsplit(' ')
                    .next()
                    .and_then(|n| n.parse::<u64>().ok())
                    .unwrap_or(0)
                    >= 1000
        })
    });
    stop.store(true, Ordering::Release);
    let sent = sender.join().unwrap();
    engine.wait_delivered(sent, Duration::from_secs(60));
    let report = engine.shutdown();
    // The targets also got the anomalies the new traffic raised.
    assert_eq!(report.totals.delivered - report.totals.generated, sent);

    let events = traffic(read_ndjson(&engine.events_path()));
    assert_eq!(events.len() as u64, sent, "no event lost");
    let first_mapped = events
        .iter()
        .position(|e| e["class_uid"] == 4001)
        .expect("lines after the PUT are mapped");
    assert!(first_mapped > 0, "lines before the PUT were Base Events");
    for (i, e) in events.iter().enumerate() {
        assert_eq!(
            field_u64(e["message"].as_str().unwrap(), "seq"),
            Some(i as u64),
            "order kept"
        );
        if i < first_mapped {
            assert_eq!(e["class_uid"], 0);
        } else {
            assert_eq!(
                e["class_uid"], 4001,
                "every line after the switch is mapped"
            );
            assert_eq!(e["src_endpoint"]["ip"], "10.1.1.1");
            assert_eq!(e["dst_endpoint"]["port"], 80);
            assert_eq!(e["actor"]["user"]["name"], "bob");
            assert_eq!(e["status"], "Failure");
            assert_eq!(e["metadata"]["product"]["vendor_name"], "Acme");
            assert_eq!(e["metadata"]["event_code"], "deny");
        }
    }
}
