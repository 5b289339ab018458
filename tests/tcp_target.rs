//! The tcp target, end to end: syslog lines sent over TCP arrive as JSON events on a collector's
//! TCP listener (the same lines the file target writes); a collector that goes away costs
//! dead-lettered, counted batches and nothing else, and one that comes back on the same port
//! gets the later events over a new connection.

use std::io::{BufRead, BufReader, ErrorKind, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;
use tocsin_tests::{field_u64, read_ndjson, wait_until, TestConfig, TestEngine};

const LINES: u64 = 1000;

/// Reads lines from `conn` until one has `last` as its message; returns them all.
fn read_until(conn: &mut BufReader<TcpStream>, last: &str) -> Vec<String> {
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        match conn.read_line(&mut line) {
            Ok(0) => panic!("collector connection closed before {last:?}"),
            Ok(_) => {}
            Err(e) => panic!("reading the collector connection, waiting for {last:?}: {e}"),
        }
        let v: serde_json::Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("not a JSON line {line:?}: {e}"));
        let done = v["message"] == last;
        lines.push(line);
        if done {
            return lines;
        }
    }
}

fn accepted(stream: TcpStream) -> BufReader<TcpStream> {
    stream.set_nonblocking(false).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    BufReader::new(stream)
}

fn messages(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["message"].as_str().unwrap().to_owned()
        })
        .collect()
}

fn collector_sink(engine: &TestEngine) -> serde_json::Value {
    engine.pipeline()["sinks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "collector")
        .cloned()
        .expect("the collector target in /api/v1/pipeline")
}

#[test]
fn syslog_lines_arrive_as_json_on_a_tcp_collector_which_may_go_away_and_come_back() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mut engine = TestEngine::start(&TestConfig {
        tcp_target: Some((addr, 20)),
        ..TestConfig::default()
    });

    // Syslog over TCP in; JSON events out on the collector's connection, in order.
    let mut syslog = TcpStream::connect(engine.tcp()).unwrap();
    for seq in 0..LINES {
        writeln!(
            syslog,
            "<134>Oct 11 22:14:15 fw01 app[42]: seq={seq} action=accept"
        )
        .unwrap();
    }
    let (conn, _) = listener.accept().unwrap();
    let mut conn = accepted(conn);
    let lines = read_until(&mut conn, &format!("seq={} action=accept", LINES - 1));
    assert_eq!(lines.len() as u64, LINES);
    for (seq, line) in lines.iter().enumerate() {
        let e: serde_json::Value = serde_json::from_str(line).unwrap();
        let msg = e["message"].as_str().unwrap();
        assert_eq!(field_u64(msg, "seq"), Some(seq as u64), "in order");
        assert_eq!(e["severity_id"], 1, "PRI 134 = local0.info = Informational");
        assert_eq!(e["device"]["hostname"], "fw01");
        assert_eq!(e["tocsin"]["source"], "tcp");
        assert_eq!(e["unmapped"]["action"], "accept");
    }
    // Byte for byte what the file target wrote.
    engine.wait_delivered(2 * LINES, Duration::from_secs(60));
    let file = std::fs::read_to_string(engine.events_path()).unwrap();
    assert_eq!(lines.concat(), file);
    let sink = collector_sink(&engine);
    assert_eq!(sink["type"], "tcp");
    assert_eq!(sink["bytes_out"], file.len() as u64);
    assert_eq!(
        (sink["errors"].as_u64(), sink["reconnects"].as_u64()),
        (Some(0), Some(0))
    );

    // The collector goes away: the next batch cannot be written and is dead-lettered.
    drop(conn);
    drop(listener);
    let mut sent = vec!["gone".to_owned()];
    writeln!(syslog, "<13>Jan  5 10:00:00 host app: gone").unwrap();
    wait_until(Duration::from_secs(30), "a dead-lettered batch", || {
        collector_sink(&engine)["errors"].as_u64() >= Some(1)
    });

    // It comes back on the same port; lines keep coming, and once the backoff is over the
    // target reconnects (each line sent before that is a batch that fails fast).
    let listener = TcpListener::bind(addr).unwrap();
    listener.set_nonblocking(true).unwrap();
    let mut conn = None;
    wait_until(Duration::from_secs(30), "the target to reconnect", || {
        let msg = format!("retry {}", sent.len());
        writeln!(syslog, "<13>Jan  5 10:00:00 host app: {msg}").unwrap();
        sent.push(msg);
        match listener.accept() {
            Ok((s, _)) => conn = Some(accepted(s)),
            Err(e) => assert_eq!(e.kind(), ErrorKind::WouldBlock, "accept: {e}"),
        }
        conn.is_some()
    });
    let mut conn = conn.unwrap();
    writeln!(syslog, "<13>Jan  5 10:00:00 host app: last").unwrap();
    sent.push("last".to_owned());
    let received = messages(&read_until(&mut conn, "last"));

    let sink = collector_sink(&engine);
    assert_eq!(sink["reconnects"], 1);
    let (_, metrics) = engine.get("/metrics");
    assert!(
        metrics.contains("tocsin_target_reconnects_total{target=\"collector\"} 1"),
        "{metrics}"
    );
    let errors = sink["errors"].as_u64().unwrap();
    assert!(metrics.contains(&format!(
        "tocsin_target_errors_total{{target=\"collector\"}} {errors}"
    )));
    drop(syslog);
    engine.shutdown();

    // Nothing is lost: every line of the outage is either dead-lettered by the tcp target or
    // received after the reconnect, in order, and the file target got them all.
    let dead: Vec<String> = read_ndjson(&engine.dead_letter_path())
        .iter()
        .map(|d| {
            assert_eq!(d["reason"], "target_write_failed");
            assert_eq!(d["stage"], "target-collector");
            let event: serde_json::Value = serde_json::from_str(d["raw"].as_str().unwrap())
                .expect("a dead-lettered event is its JSON line");
            event["message"].as_str().unwrap().to_owned()
        })
        .collect();
    assert!(dead.contains(&"gone".to_owned()), "{dead:?}");
    assert!(!received.is_empty());
    assert_eq!([dead.clone(), received.clone()].concat(), sent);
    assert!(
        (1..=dead.len() as u64).contains(&errors),
        "{errors} failed batches for {} dead letters",
        dead.len()
    );
    let file = read_ndjson(&engine.events_path());
    let file_tail: Vec<&str> = file[LINES as usize..]
        .iter()
        .map(|e| e["message"].as_str().unwrap())
        .collect();
    assert_eq!(file_tail, sent);
}
