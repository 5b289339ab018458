//! Alerts end to end: anomalies from real syslog traffic become alerts, and real local HTTP
//! servers standing in for PagerDuty and Slack record what tocsin sends them: trigger,
//! acknowledge and resolve with one `dedup_key`, retries after a 500, spill while the endpoint
//! is down, a 400 dead-lettered, grouping, inhibition and silences.

use serde_json::Value;
use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;
use tocsin_actors::testkit::{Recorded, RecordingServer};
use tocsin_tests::{brute_force, wait_until, TestConfig, TestEngine};

const WAIT: Duration = Duration::from_secs(60);

/// One scorer shard; an alert per anomaly (incidents' alerts are tested in `correlation.rs`);
/// PagerDuty and Slack stand-ins as targets that every alert notifies; notifications leave at
/// once (`group_wait_ms = 0`) unless `alerts` says otherwise.
fn config(pd: &RecordingServer, slack: &RecordingServer, alerts: &str) -> TestConfig {
    TestConfig {
        extra: format!(
            r#"
[[targets]]
type = "pagerduty"
name = "pagerduty"
routing_key = "R0UTINGKEY"
url = "{pd}/v2/enqueue"
delivery = {{ backoff_initial_ms = 20, backoff_max_ms = 200, max_attempts = 5 }}

[[targets]]
type = "slack"
name = "slack"
url = "{slack}/services/T0/B0/X"
delivery = {{ backoff_initial_ms = 20, backoff_max_ms = 200 }}

[score]
shards = 1
[score.trainer]
interval_secs = 0

[alerts]
default_targets = ["pagerduty", "slack"]
on = "anomalies"
{alerts}
"#,
            pd = pd.url(),
            slack = slack.url(),
        ),
        ..TestConfig::default()
    }
}

const FAST: &str = "[alerts.group]\ngroup_wait_ms = 0\ngroup_interval_ms = 1000\n";

fn send(engine: &TestEngine, lines: &[String]) {
    tocsin_tests::send_lines(engine.tcp(), lines);
}

fn body(r: &Recorded) -> Value {
    serde_json::from_slice(&r.body).unwrap_or(Value::Null)
}

fn alerts(engine: &TestEngine, query: &str) -> Vec<Value> {
    let (status, v) = engine.get_json(&format!("/api/v1/alerts{query}"));
    assert_eq!(status, 200, "{v}");
    v["alerts"].as_array().unwrap().clone()
}

fn metric(engine: &TestEngine, line_prefix: &str) -> u64 {
    let (_, text) = engine.get("/metrics");
    text.lines()
        .find_map(|l| {
            l.strip_prefix(line_prefix)
                .map(|v| v.trim().parse::<f64>().unwrap_or(0.0) as u64)
        })
        .unwrap_or(0)
}

#[test]
fn an_anomaly_pages_pagerduty_and_slack_and_ack_and_resolve_reach_pagerduty_with_its_dedup_key() {
    let (pd, slack) = (RecordingServer::start(), RecordingServer::start());
    let engine = TestEngine::start(&config(&pd, &slack, FAST));
    send(&engine, &brute_force("bastion-01", 0));

    let trigger = pd.wait_for(1, WAIT);
    if trigger.is_empty() {
        let (_, m) = engine.get("/metrics");
        let m: Vec<&str> = m
            .lines()
            .filter(|l| {
                l.contains("alert")
                    || l.contains("delivery")
                    || l.contains("anomal")
                    || l.contains("dropped")
            })
            .collect();
        panic!(
            "no trigger; alerts {:?}\n{}",
            alerts(&engine, ""),
            m.join("\n")
        );
    }
    let t = body(&trigger[0]);
    assert_eq!(trigger[0].path, "/v2/enqueue");
    assert_eq!(t["routing_key"], "R0UTINGKEY");
    assert_eq!(t["event_action"], "trigger");
    assert_eq!(
        t["payload"]["severity"], "critical",
        "score 1.0 is Critical, so P1: {t}"
    );
    assert!(
        t["payload"]["summary"]
            .as_str()
            .unwrap()
            .contains("bastion-01"),
        "{t}"
    );
    let key = t["dedup_key"].as_str().unwrap().to_owned();
    let s = body(&slack.wait_for(1, WAIT)[0]);
    assert!(s["text"].as_str().unwrap().contains("bastion-01"), "{s}");
    assert!(s["blocks"].is_array(), "{s}");

    let list = alerts(&engine, "?entity=bastion-01");
    assert_eq!(list.len(), 1, "{list:#?}");
    let a = &list[0];
    assert_eq!(a["status"], "open");
    assert_eq!(a["priority"], "P1");
    assert_eq!(a["kind"], "brute_force");
    let id = a["id"].as_str().unwrap().to_owned();

    let (status, acked) =
        engine.post_json(&format!("/api/v1/alerts/{id}/ack"), r#"{"by": "alice"}"#);
    assert_eq!(status, 200, "{acked}");
    assert_eq!(acked["status"], "acknowledged");
    let sent = pd.wait_for(2, WAIT);
    let ack = body(&sent[1]);
    assert_eq!(ack["event_action"], "acknowledge");
    assert_eq!(ack["dedup_key"], key.as_str());

    let (status, resolved) =
        engine.post_json(&format!("/api/v1/alerts/{id}/resolve"), r#"{"by": "bob"}"#);
    assert_eq!(status, 200, "{resolved}");
    let sent = pd.wait_for(3, WAIT);
    let res = body(&sent[2]);
    assert_eq!(res["event_action"], "resolve");
    assert_eq!(res["dedup_key"], key.as_str());

    // A resolved alert cannot be acknowledged; the history has every change with who made it.
    let (status, _) = engine.post_json(&format!("/api/v1/alerts/{id}/ack"), "");
    assert_eq!(status, 409);
    let (status, detail) = engine.get_json(&format!("/api/v1/alerts/{id}"));
    assert_eq!(status, 200);
    let history: Vec<(String, String)> = detail["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["action"].as_str().unwrap().to_owned(),
                h["actor"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        history,
        [
            ("created".to_owned(), "system".to_owned()),
            ("acknowledged".to_owned(), "alice".to_owned()),
            ("resolved".to_owned(), "bob".to_owned())
        ]
    );
    let (_, text) = engine.get("/metrics");
    for line in [
        "tocsin_alerts_created_total 1",
        "tocsin_alert_groups_refused_total 0",
        "tocsin_alerts{priority=\"P1\",status=\"resolved\"} 1",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
    }
    let (_, stats) = engine.get_json("/api/v1/alerts/stats");
    let p1 = stats["priorities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["priority"] == "P1")
        .unwrap()
        .clone();
    assert!(p1["mtta_ms"].as_f64().unwrap() >= 0.0, "{p1}");
    assert!(
        p1["mttr_ms"].as_f64().unwrap() >= p1["mtta_ms"].as_f64().unwrap(),
        "{p1}"
    );
}

#[test]
fn pagerduty_answering_500_then_202_gets_the_trigger_retried_and_delivered_once() {
    let (pd, slack) = (RecordingServer::start(), RecordingServer::start());
    pd.script(vec![500]);
    let engine = TestEngine::start(&config(&pd, &slack, FAST));
    send(&engine, &brute_force("bastion-01", 0));
    let got = pd.wait_for(2, WAIT);
    assert_eq!(body(&got[0]), body(&got[1]), "the same trigger, sent again");
    wait_until(WAIT, "one delivery counted", || {
        metric(
            &engine,
            "tocsin_delivery_sent_total{target=\"pagerduty\",type=\"pagerduty\"}",
        ) == 1
    });
    assert_eq!(
        metric(
            &engine,
            "tocsin_delivery_retried_total{target=\"pagerduty\",type=\"pagerduty\"}"
        ),
        1
    );
    assert_eq!(pd.requests().len(), 2, "nothing sent after the 202");
}

#[test]
fn pagerduty_answering_400_is_dead_lettered_not_retried() {
    let (pd, slack) = (RecordingServer::start(), RecordingServer::start());
    pd.script(vec![400]);
    let engine = TestEngine::start(&config(&pd, &slack, FAST));
    send(&engine, &brute_force("bastion-01", 0));
    pd.wait_for(1, WAIT);
    wait_until(WAIT, "the rejected trigger dead-lettered", || {
        std::fs::read_to_string(engine.dead_letter_path())
            .map(|t| t.contains("R0UTINGKEY") || t.contains("pagerduty"))
            .unwrap_or(false)
    });
    assert_eq!(
        metric(
            &engine,
            "tocsin_delivery_dead_lettered_total{target=\"pagerduty\",type=\"pagerduty\"}"
        ),
        1
    );
    assert_eq!(
        metric(
            &engine,
            "tocsin_delivery_retried_total{target=\"pagerduty\",type=\"pagerduty\"}"
        ),
        0
    );
    // Slack got its notification: the failure is PagerDuty's alone. And PagerDuty got one try.
    slack.wait_for(1, WAIT);
    assert_eq!(pd.requests().len(), 1);
}

#[test]
fn while_pagerduty_is_down_notifications_spill_and_are_delivered_in_order_when_it_returns() {
    let (mut pd, slack) = (RecordingServer::start(), RecordingServer::start());
    pd.stop();
    let engine = TestEngine::start(&config(&pd, &slack, FAST));
    let pd_metric = |name: &str| {
        metric(
            &engine,
            &format!("{name}{{target=\"pagerduty\",type=\"pagerduty\"}}"),
        )
    };
    send(
        &engine,
        &[brute_force("bastion-01", 0), brute_force("bastion-02", 5)].concat(),
    );
    // Far more failed tries than max_attempts (5): an unreachable target is never given up on.
    wait_until(WAIT, "PagerDuty tried and found down", || {
        pd_metric("tocsin_delivery_failed_total") >= 8 && slack.requests().len() >= 2
    });
    // A notification that comes while the target is down spills to disk.
    send(&engine, &brute_force("bastion-03", 10));
    wait_until(WAIT, "the third trigger spilled", || {
        pd_metric("tocsin_delivery_spilled_total") >= 1
    });
    let spill = engine.dir.path().join("spill").join("pagerduty.ndjson");
    assert!(
        std::fs::metadata(&spill)
            .map(|m| m.len() > 0)
            .unwrap_or(false),
        "spill file written"
    );
    pd.restart();
    let got = pd.wait_for(3, WAIT);
    let summaries: Vec<String> = got
        .iter()
        .map(|r| {
            body(r)["payload"]["summary"]
                .as_str()
                .unwrap_or("")
                .to_owned()
        })
        .collect();
    assert_eq!(summaries.len(), 3, "{summaries:?}");
    for (summary, host) in summaries
        .iter()
        .zip(["bastion-01", "bastion-02", "bastion-03"])
    {
        assert!(summary.contains(host), "in order: {summaries:?}");
    }
    wait_until(WAIT, "all three delivered", || {
        pd_metric("tocsin_delivery_sent_total") == 3
    });
    assert_eq!(
        pd_metric("tocsin_delivery_dead_lettered_total"),
        0,
        "nothing lost"
    );
}

#[test]
fn alerts_of_one_group_are_notified_together_after_group_wait() {
    let (pd, slack) = (RecordingServer::start(), RecordingServer::start());
    let group =
        "[alerts.group]\ngroup_by = [\"kind\"]\ngroup_wait_ms = 3000\ngroup_interval_ms = 600000\n";
    let engine = TestEngine::start(&config(&pd, &slack, group));
    let mut lines = brute_force("bastion-01", 0);
    lines.extend(brute_force("bastion-02", 0));
    // In time order, as two devices logging side by side would send them.
    lines.sort_by(|a, b| a[..19].cmp(&b[..19]));
    send(&engine, &lines);
    wait_until(WAIT, "two alerts", || alerts(&engine, "").len() == 2);
    let msg = body(&slack.wait_for(1, WAIT)[0]);
    let text = msg.to_string();
    assert!(
        text.contains("bastion-01") && text.contains("bastion-02"),
        "one message for the group: {text}"
    );
    // PagerDuty pages per alert, both from the one group notification.
    pd.wait_for(2, WAIT);
    assert_eq!(slack.requests().len(), 1, "one Slack message for the group");
}

#[test]
fn an_inhibition_rule_mutes_a_lower_priority_alert_while_the_higher_one_fires() {
    let (pd, slack) = (RecordingServer::start(), RecordingServer::start());
    let inhibit = format!(
        "{FAST}[[alerts.inhibit_rules]]\nsource_matchers = ['priority=\"P1\"']\ntarget_matchers = ['priority=\"P3\"']\nequal = [\"kind\"]\n"
    );
    let t = TestConfig {
        rules: Some(
            "[[rules]]\nname = \"web-is-p3\"\npriority = 1\nmatchers = ['tocsin.anomaly.entity = \"web-02\"']\nset_priority = \"P3\"\n"
                .into(),
        ),
        ..config(&pd, &slack, &inhibit)
    };
    let engine = TestEngine::start(&t);
    send(&engine, &brute_force("bastion-01", 0));
    pd.wait_for(1, WAIT);
    send(
        &engine,
        &[brute_force("web-02", 5), brute_force("db-03", 10)].concat(),
    );
    // db-03 (P1, not inhibited) is notified after web-02 was handled: web-02 never is.
    wait_until(WAIT, "db-03 paged", || {
        pd.requests()
            .iter()
            .any(|r| body(r).to_string().contains("db-03"))
    });
    let paged: Vec<String> = pd.requests().iter().map(|r| body(r).to_string()).collect();
    assert!(!paged.iter().any(|b| b.contains("web-02")), "{paged:#?}");
    let web = alerts(&engine, "?entity=web-02");
    assert_eq!(web.len(), 1);
    assert_eq!(web[0]["priority"], "P3");
}

#[test]
fn a_silence_stops_notifications_for_the_alerts_it_matches() {
    let (pd, slack) = (RecordingServer::start(), RecordingServer::start());
    let engine = TestEngine::start(&config(&pd, &slack, FAST));
    let (status, silence) = engine.post_json(
        "/api/v1/silences",
        r#"{"matchers": ["entity=\"bastion-01\""], "duration_secs": 3600, "comment": "maintenance"}"#,
    );
    assert_eq!(status, 201, "{silence}");
    let (status, bad) = engine.post_json(
        "/api/v1/silences",
        r#"{"matchers": ["entity=~\".*\""], "duration_secs": 60, "comment": "all"}"#,
    );
    assert_eq!(status, 400, "a silence of everything is refused: {bad}");
    assert!(
        bad["error"].as_str().unwrap().contains("everything"),
        "{bad}"
    );
    // One connection: one flow, so bastion-01's lines are scored before bastion-02's.
    send(
        &engine,
        &[brute_force("bastion-01", 0), brute_force("bastion-02", 5)].concat(),
    );
    wait_until(WAIT, "bastion-02 paged", || {
        pd.requests()
            .iter()
            .any(|r| body(r).to_string().contains("bastion-02"))
    });
    let paged: Vec<String> = pd.requests().iter().map(|r| body(r).to_string()).collect();
    assert!(
        !paged.iter().any(|b| b.contains("bastion-01")),
        "{paged:#?}"
    );
    assert_eq!(
        alerts(&engine, "?entity=bastion-01").len(),
        1,
        "the alert exists, silenced"
    );
    let (_, list) = engine.get_json("/api/v1/silences");
    assert_eq!(list["count"], 1);
}

/// The binary on a config with a PagerDuty stand-in; returns the child and its API address.
fn spawn_engine(config: &std::path::Path) -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut child = std::process::Command::new(tocsin_tests::tocsin_bin())
        .args(["run", "--config"])
        .arg(config)
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    let api = loop {
        let line = rx.recv_timeout(WAIT).expect("engine logs its readiness");
        if let Some(i) = line.find("api=") {
            break line[i + 4..].split_whitespace().next().unwrap().to_owned();
        }
    };
    // Keep draining the log so the child never blocks on a full pipe.
    std::thread::spawn(move || while rx.recv().is_ok() {});
    (child, api)
}

#[test]
fn kill_9_after_acknowledging_loses_no_alert_state_or_history() {
    let (pd, slack) = (RecordingServer::start(), RecordingServer::start());
    let dir = tempfile::tempdir().unwrap();
    let text = tocsin_tests::config_text(dir.path(), &config(&pd, &slack, FAST));
    let path = dir.path().join("tocsin.toml");
    std::fs::write(&path, &text).unwrap();
    let (mut child, api) = spawn_engine(&path);
    let (_, p) = tocsin_tests::http_get(&format!("http://{api}/api/v1/pipeline"));
    let p: Value = serde_json::from_str(&p).unwrap();
    let tcp = p["connectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "tcp")
        .unwrap()["listen"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut stream = TcpStream::connect(tcp).unwrap();
    for l in brute_force("bastion-01", 0)
        .iter()
        .chain(brute_force("bastion-02", 5).iter())
        .chain(brute_force("bastion-03", 10).iter())
    {
        writeln!(stream, "{l}").unwrap();
    }
    stream.flush().unwrap();
    let triggers = pd.wait_for(3, WAIT);
    let open_key = triggers
        .iter()
        .map(body)
        .find(|b| {
            b["payload"]["summary"]
                .as_str()
                .unwrap_or("")
                .contains("bastion-03")
        })
        .expect("bastion-03 paged")["dedup_key"]
        .clone();
    let list: Value =
        serde_json::from_str(&tocsin_tests::http_get(&format!("http://{api}/api/v1/alerts")).1)
            .unwrap();
    let ids: Vec<(String, String)> = list["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["entity"].as_str().unwrap().to_owned(),
                a["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(ids.len(), 3, "{list}");
    let id1 = &ids.iter().find(|(e, _)| e == "bastion-01").unwrap().1;
    let id2 = &ids.iter().find(|(e, _)| e == "bastion-02").unwrap().1;
    let post = |path: String, body: &str| {
        ureq::post(&format!("http://{api}{path}"))
            .set("Content-Type", "application/json")
            .send_string(body)
            .unwrap()
            .status()
    };
    assert_eq!(
        post(format!("/api/v1/alerts/{id1}/ack"), r#"{"by": "alice"}"#),
        200
    );
    assert_eq!(
        post(
            format!("/api/v1/alerts/{id1}/assign"),
            r#"{"by": "alice", "assignee": "carol"}"#
        ),
        200
    );
    assert_eq!(
        post(
            format!("/api/v1/alerts/{id2}/suppress"),
            r#"{"by": "bob", "reason": "known"}"#
        ),
        200
    );
    // SIGKILL: no shutdown, no flush.
    child.kill().unwrap();
    child.wait().unwrap();
    drop(stream);

    let (mut child, api) = spawn_engine(&path);
    let get = |path: String| -> Value {
        serde_json::from_str(&tocsin_tests::http_get(&format!("http://{api}{path}")).1).unwrap()
    };
    let a1 = get(format!("/api/v1/alerts/{id1}"));
    assert_eq!(a1["alert"]["status"], "acknowledged", "{a1}");
    assert_eq!(a1["alert"]["assignee"], "carol");
    let actions: Vec<&str> = a1["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["created", "acknowledged", "assigned"]);
    let a2 = get(format!("/api/v1/alerts/{id2}"));
    assert_eq!(a2["alert"]["status"], "suppressed", "{a2}");
    assert_eq!(a2["history"][1]["actor"], "bob");
    // The alert still open is notified again after the restart, with the same dedup key: a
    // notification lost in the crash is not lost for good.
    let before = pd.requests().len();
    let after = pd.wait_for(before + 1, WAIT);
    let again = body(&after[before]);
    assert_eq!(again["event_action"], "trigger");
    assert_eq!(again["dedup_key"], open_key);
    child.kill().unwrap();
    child.wait().unwrap();
}
