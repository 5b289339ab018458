//! Delivery against real sockets: the recording HTTP server and a local syslog listener.

use super::*;
use crate::batch::EventBatch;
use crate::link::link;
use crate::metrics::PipelineMetrics;
use crate::testkit::RecordingServer;
use std::path::PathBuf;
use tocsin_engine::alert::Priority;
use tocsin_engine::notify::config::{HttpMethod, SyslogProtocol};
use tocsin_engine::notify::{AlertView, NotifyAction};
use tocsin_engine::schema::{Event, Text};
use tokio::sync::mpsc;

const WAIT: Duration = Duration::from_secs(10);

fn delivery() -> DeliveryConfig {
    DeliveryConfig {
        batch_max: 1,
        backoff_initial_ms: 5,
        backoff_max_ms: 20,
        timeout_ms: 2000,
        ..DeliveryConfig::default()
    }
}

fn webhook(url: &str, dir: &Path, grace: Duration) -> (DeliveryTarget, Arc<PipelineMetrics>) {
    let pm = Arc::new(PipelineMetrics::default());
    let dl = DeadLetters::open(&dir.join("dead.ndjson"), 1 << 20, 2, pm.clone()).unwrap();
    let c = WebhookConfig {
        name: "hook".into(),
        url: format!("{url}/hook"),
        method: HttpMethod::POST,
        headers: Default::default(),
        body_template: Some(r#"{{ message | json }}"#.into()),
        preset: None,
        api_key: None,
        project_key: None,
        issue_type: None,
        assignment_group: None,
        delivery: delivery(),
    };
    let mut t = DeliveryTarget::webhook(&c, dir, dl).unwrap();
    t.shutdown_grace = grace;
    pm.add_delivery(t.metrics.clone());
    (t, pm)
}

fn events(msgs: &[&str]) -> Outbound {
    let events = msgs
        .iter()
        .map(|m| Event {
            message: Text::copy_from(m),
            ..Event::default()
        })
        .collect();
    Outbound::Events(Arc::new(EventBatch { flow: 0, events }))
}

/// Polls `cond` until it holds or [`WAIT`] passes.
async fn until(cond: impl Fn() -> bool) {
    let end = Instant::now() + WAIT;
    while !cond() && Instant::now() < end {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(cond(), "condition not met within {WAIT:?}");
}

async fn wait_for(server: &Arc<Mutex<RecordingServer>>, n: usize) -> Vec<String> {
    let s = server.clone();
    tokio::task::spawn_blocking(move || {
        let s = s.lock().unwrap();
        s.wait_for(n, WAIT).iter().map(|r| r.body_str()).collect()
    })
    .await
    .unwrap()
}

fn start(
    t: DeliveryTarget,
) -> (
    mpsc::Sender<Outbound>,
    tokio::task::JoinHandle<DeliveryReport>,
) {
    let (tx, rx) = link::<Outbound>(16);
    (tx, spawn_delivery(t, rx).unwrap())
}

fn dead_reasons(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("dead.ndjson"))
        .unwrap_or_default()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["reason"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

#[tokio::test(flavor = "current_thread")]
async fn a_500_is_retried_and_delivered_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let server = Arc::new(Mutex::new(RecordingServer::start()));
    server.lock().unwrap().script(vec![500]);
    let (t, pm) = webhook(&server.lock().unwrap().url(), dir.path(), WAIT);
    let m = t.metrics.clone();
    let (tx, task) = start(t);
    tx.send(events(&["one"])).await.unwrap();
    until(|| m.sent.load(Relaxed) == 1).await;
    drop(tx);
    assert_eq!(task.await.unwrap(), DeliveryReport::default());
    let got = server.lock().unwrap().requests();
    assert_eq!(got.len(), 2);
    assert_eq!(
        (got[1].method.as_str(), got[1].path.as_str()),
        ("POST", "/hook")
    );
    assert_eq!(got[1].body_str(), r#"["one"]"#);
    assert_eq!(got[1].header("content-type"), Some("application/json"));
    assert_eq!(
        (
            m.failed.load(Relaxed),
            m.retried.load(Relaxed),
            m.dead_lettered.load(Relaxed)
        ),
        (1, 1, 0)
    );
    let text = pm.render_prometheus();
    assert!(
        text.contains("tocsin_delivery_sent_total{target=\"hook\",type=\"webhook\"} 1"),
        "{text}"
    );
    assert!(text.contains("tocsin_delivery_latency_seconds_count{target=\"hook\"} 1"));
}

#[tokio::test(flavor = "current_thread")]
async fn a_400_is_dead_lettered_after_one_attempt() {
    let dir = tempfile::tempdir().unwrap();
    let server = Arc::new(Mutex::new(RecordingServer::start()));
    server.lock().unwrap().script(vec![400]);
    let (t, _pm) = webhook(&server.lock().unwrap().url(), dir.path(), WAIT);
    let m = t.metrics.clone();
    let (tx, task) = start(t);
    tx.send(events(&["bad"])).await.unwrap();
    tx.send(events(&["good"])).await.unwrap();
    until(|| m.sent.load(Relaxed) == 1).await;
    drop(tx);
    task.await.unwrap();
    let bodies: Vec<String> = server
        .lock()
        .unwrap()
        .requests()
        .iter()
        .map(|r| r.body_str())
        .collect();
    assert_eq!(bodies, [r#"["bad"]"#, r#"["good"]"#]);
    assert_eq!(
        (m.dead_lettered.load(Relaxed), m.retried.load(Relaxed)),
        (1, 0)
    );
    assert_eq!(dead_reasons(dir.path()), ["target_rejected"]);
    let dead = std::fs::read_to_string(dir.path().join("dead.ndjson")).unwrap();
    assert!(dead.contains("HTTP 400"), "{dead}");
}

#[tokio::test(flavor = "current_thread")]
async fn giving_up_after_max_attempts_dead_letters() {
    let dir = tempfile::tempdir().unwrap();
    let server = Arc::new(Mutex::new(RecordingServer::start()));
    server.lock().unwrap().script(vec![503, 503, 503]);
    let (mut t, _pm) = webhook(&server.lock().unwrap().url(), dir.path(), WAIT);
    t.delivery.max_attempts = 3;
    let m = t.metrics.clone();
    let (tx, task) = start(t);
    tx.send(events(&["x"])).await.unwrap();
    until(|| m.dead_lettered.load(Relaxed) == 1).await;
    drop(tx);
    task.await.unwrap();
    assert_eq!(server.lock().unwrap().requests().len(), 3);
    assert_eq!(dead_reasons(dir.path()), ["target_gave_up"]);
}

#[tokio::test(flavor = "current_thread")]
async fn a_down_endpoint_spills_then_everything_arrives_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let server = Arc::new(Mutex::new(RecordingServer::start()));
    server.lock().unwrap().stop();
    let (t, _pm) = webhook(&server.lock().unwrap().url(), dir.path(), WAIT);
    let m = t.metrics.clone();
    let spill = t.spill_path.clone();
    let (tx, task) = start(t);
    tx.send(events(&["m0"])).await.unwrap();
    until(|| m.failed.load(Relaxed) >= 1).await;
    for i in 1..5 {
        tx.send(events(&[&format!("m{i}")])).await.unwrap();
    }
    until(|| m.spilled.load(Relaxed) == 4).await;
    assert!(spill.exists());
    assert_eq!(
        m.queue_depth.load(Relaxed),
        4,
        "the head is in flight, four wait on disk"
    );
    server.lock().unwrap().restart();
    let got = wait_for(&server, 5).await;
    assert_eq!(
        got,
        [
            r#"["m0"]"#,
            r#"["m1"]"#,
            r#"["m2"]"#,
            r#"["m3"]"#,
            r#"["m4"]"#
        ]
    );
    until(|| m.sent.load(Relaxed) == 5).await;
    drop(tx);
    task.await.unwrap();
    assert!(!spill.exists(), "the spill file is removed once replayed");
    assert_eq!(m.dead_lettered.load(Relaxed), 0);
}

#[tokio::test(flavor = "current_thread")]
async fn a_restarted_target_replays_what_it_spilled_at_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let server = Arc::new(Mutex::new(RecordingServer::start()));
    server.lock().unwrap().stop();
    let url = server.lock().unwrap().url();
    let (t, _pm) = webhook(&url, dir.path(), Duration::ZERO);
    let m = t.metrics.clone();
    let spill: PathBuf = t.spill_path.clone();
    let (tx, task) = start(t);
    tx.send(events(&["m0"])).await.unwrap();
    until(|| m.failed.load(Relaxed) >= 1).await;
    tx.send(events(&["m1"])).await.unwrap();
    tx.send(events(&["m2"])).await.unwrap();
    until(|| m.spilled.load(Relaxed) == 2).await;
    drop(tx);
    let report = task.await.unwrap();
    assert_eq!(
        report,
        DeliveryReport {
            spilled_at_shutdown: 1,
            dead_lettered_at_shutdown: 0
        }
    );
    assert_eq!(std::fs::read_to_string(&spill).unwrap().lines().count(), 3);

    server.lock().unwrap().restart();
    let (t, _pm) = webhook(&url, dir.path(), WAIT);
    let m = t.metrics.clone();
    assert_eq!(m.queue_depth.load(Relaxed), 0);
    let (tx, task) = start(t);
    tx.send(events(&["m3"])).await.unwrap();
    let got = wait_for(&server, 4).await;
    assert_eq!(got, [r#"["m0"]"#, r#"["m1"]"#, r#"["m2"]"#, r#"["m3"]"#]);
    until(|| m.sent.load(Relaxed) == 4).await;
    drop(tx);
    task.await.unwrap();
    assert!(!spill.exists());
}

#[tokio::test(flavor = "current_thread")]
async fn pagerduty_gets_one_request_per_alert_and_no_events() {
    let dir = tempfile::tempdir().unwrap();
    let server = Arc::new(Mutex::new(RecordingServer::start()));
    let pm = Arc::new(PipelineMetrics::default());
    let dl = DeadLetters::open(&dir.path().join("dead.ndjson"), 1 << 20, 2, pm).unwrap();
    let c = PagerDutyConfig {
        name: "pd".into(),
        routing_key: "R".into(),
        url: format!("{}/v2/enqueue", server.lock().unwrap().url()),
        source: "tocsin".into(),
        delivery: delivery(),
    };
    let t = DeliveryTarget::pagerduty(&c, dir.path(), dl).unwrap();
    let m = t.metrics.clone();
    let (tx, task) = start(t);
    tx.send(events(&["ignored", "too"])).await.unwrap();
    tx.send(Outbound::Notify(Arc::new(notification())))
        .await
        .unwrap();
    let got = wait_for(&server, 2).await;
    let actions: Vec<String> = got
        .iter()
        .map(|b| {
            serde_json::from_str::<serde_json::Value>(b).unwrap()["event_action"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(actions, ["trigger", "resolve"]);
    until(|| m.sent.load(Relaxed) == 2).await;
    assert_eq!(m.unsupported.load(Relaxed), 2);
    drop(tx);
    task.await.unwrap();
}

fn notification() -> Notification {
    let alert = |id: &str, action| AlertView {
        id: id.into(),
        dedup_key: format!("fp-{id}"),
        title: format!("alert {id}"),
        summary: "s".into(),
        entity: "web-1".into(),
        kind: "error_burst".into(),
        priority: Priority::P2,
        status: "open".into(),
        assignee: None,
        labels: vec![],
        runbook_url: None,
        score: 0.9,
        created_ms: 0,
        updated_ms: 0,
        occurrences: 1,
        action,
    };
    Notification {
        action: NotifyAction::Trigger,
        group_key: "g".into(),
        group_labels: vec![],
        alerts: vec![
            alert("1", NotifyAction::Trigger),
            alert("2", NotifyAction::Resolve),
        ],
    }
}

#[tokio::test(flavor = "current_thread")]
async fn syslog_tcp_frames_lines_with_octet_counts() {
    use tokio::io::AsyncReadExt;
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let pm = Arc::new(PipelineMetrics::default());
    let dl = DeadLetters::open(&dir.path().join("dead.ndjson"), 1 << 20, 2, pm).unwrap();
    let c = SyslogConfig {
        name: "fwd".into(),
        address: listener.local_addr().unwrap().to_string(),
        protocol: SyslogProtocol::Tcp,
        facility: "local4".into(),
        hostname: "tocsin-1".into(),
        delivery: delivery(),
    };
    let (tx, task) = start(DeliveryTarget::syslog(&c, dir.path(), dl));
    tx.send(Outbound::Notify(Arc::new(notification())))
        .await
        .unwrap();
    tx.send(events(&["hello"])).await.unwrap();
    drop(tx);
    let (mut conn, _) = listener.accept().await.unwrap();
    let mut buf = Vec::new();
    tokio::time::timeout(WAIT, conn.read_to_end(&mut buf))
        .await
        .ok();
    task.await.unwrap();
    let mut frames = Vec::new();
    let mut rest = buf.as_slice();
    while let Some(sp) = rest.iter().position(|b| *b == b' ') {
        let len: usize = std::str::from_utf8(&rest[..sp]).unwrap().parse().unwrap();
        frames.push(String::from_utf8(rest[sp + 1..sp + 1 + len].to_vec()).unwrap());
        rest = &rest[sp + 1 + len..];
    }
    assert_eq!(frames.len(), 3, "{frames:?}");
    assert!(
        frames[0].starts_with(
            "<163>1 1970-01-01T00:00:00.000Z tocsin-1 tocsin - alert [tocsin@32473 id=\"1\""
        ),
        "{}",
        frames[0]
    );
    assert!(frames[1].contains("action=\"resolve\""));
    assert!(
        frames[2].starts_with("<165>1 1970-01-01T00:00:00.000Z tocsin-1 tocsin - event "),
        "{}",
        frames[2]
    );
    assert!(
        frames[2].ends_with("\"message\":\"hello\",\"metadata\":{\"logged_time\":0}}"),
        "{}",
        frames[2]
    );
}

#[tokio::test(flavor = "current_thread")]
async fn syslog_udp_sends_one_datagram_per_line() {
    let dir = tempfile::tempdir().unwrap();
    let sock = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let pm = Arc::new(PipelineMetrics::default());
    let dl = DeadLetters::open(&dir.path().join("dead.ndjson"), 1 << 20, 2, pm).unwrap();
    let c = SyslogConfig {
        name: "udp".into(),
        address: sock.local_addr().unwrap().to_string(),
        protocol: SyslogProtocol::Udp,
        facility: "user".into(),
        hostname: "-".into(),
        delivery: delivery(),
    };
    let (tx, task) = start(DeliveryTarget::syslog(&c, dir.path(), dl));
    tx.send(events(&["a", "b"])).await.unwrap();
    let mut buf = [0u8; 4096];
    let mut got = Vec::new();
    for _ in 0..2 {
        let n = tokio::time::timeout(WAIT, sock.recv(&mut buf))
            .await
            .unwrap()
            .unwrap();
        got.push(String::from_utf8(buf[..n].to_vec()).unwrap());
    }
    drop(tx);
    task.await.unwrap();
    assert!(
        got[0].starts_with("<13>1 1970-01-01T00:00:00.000Z - tocsin - event "),
        "{}",
        got[0]
    );
    assert!(got[1].contains("\"message\":\"b\""));
}

#[test]
fn backoff_is_jittered_exponential_and_honours_retry_after_capped() {
    let d = DeliveryConfig {
        backoff_initial_ms: 100,
        backoff_max_ms: 1000,
        ..DeliveryConfig::default()
    };
    let mut rng = rand::rngs::SmallRng::seed_from_u64(7);
    for attempt in 1..=10u32 {
        let ceiling = (100u64 << (attempt - 1)).min(1000);
        for _ in 0..50 {
            assert!(backoff(&d, attempt, None, &mut rng) <= Duration::from_millis(ceiling));
        }
    }
    assert_eq!(
        backoff(&d, 1, Some(Duration::from_millis(300)), &mut rng),
        Duration::from_millis(300)
    );
    assert_eq!(
        backoff(&d, 1, Some(Duration::from_secs(120)), &mut rng),
        Duration::from_millis(1000)
    );
    assert!(backoff(&d, 200, None, &mut rng) <= Duration::from_millis(1000));
}

#[tokio::test(flavor = "current_thread")]
async fn a_full_queue_spills_and_order_is_kept_on_delivery() {
    let dir = tempfile::tempdir().unwrap();
    let server = Arc::new(Mutex::new(RecordingServer::start()));
    let (mut t, _pm) = webhook(&server.lock().unwrap().url(), dir.path(), WAIT);
    t.delivery.queue_capacity = 2;
    let m = t.metrics.clone();
    let (tx, task) = start(t);
    // One input of five requests is admitted in one go: two fit in memory, three spill.
    tx.send(events(&["m0", "m1", "m2", "m3", "m4"]))
        .await
        .unwrap();
    let got = wait_for(&server, 5).await;
    assert_eq!(
        got,
        [
            r#"["m0"]"#,
            r#"["m1"]"#,
            r#"["m2"]"#,
            r#"["m3"]"#,
            r#"["m4"]"#
        ]
    );
    until(|| m.sent.load(Relaxed) == 5).await;
    assert_eq!(m.spilled.load(Relaxed), 3);
    drop(tx);
    task.await.unwrap();
    assert_eq!(m.queue_depth.load(Relaxed), 0);
}

#[test]
fn spill_paths_stay_in_the_spill_folder() {
    let d = Path::new("/data");
    assert_eq!(
        spill_path(d, "ops-hook"),
        PathBuf::from("/data/spill/ops-hook.ndjson")
    );
    assert_eq!(
        spill_path(d, "../etc/x y"),
        PathBuf::from("/data/spill/_.._etc_x_y.ndjson")
    );
}
