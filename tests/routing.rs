//! Routing rules in the running pipeline: events go to the targets their rules name, drops and
//! throttles are counted, rules change through `/api/v1/rules` (checked first, written back
//! to the rules file, used from the next batch), and a runbook's remediation runs from the
//! API and is recorded.

use serde_json::{json, Value};
use std::time::Duration;
use tocsin_tests::{brute_force, read_ndjson, wait_until, TestConfig, TestEngine};

const WAIT: Duration = Duration::from_secs(60);

fn send(engine: &TestEngine, lines: &[String]) {
    tocsin_tests::send_lines(engine.tcp(), lines);
}

const RULES: &str = r#"
[[rules]]
name = "firewalls-to-their-file"
priority = 1
matchers = ['device.hostname =~ "fw-.*"']
targets = ["firewalls", "file"]

[[rules]]
name = "drop-health-checks"
priority = 2
matchers = ['message =~ ".*GET /healthz.*"']
drop = true

[[rules]]
name = "at-most-3-noisy"
priority = 3
matchers = ['device.hostname = "noisy-01"']
throttle = { count = 3, interval_secs = 3600 }
"#;

fn config() -> TestConfig {
    TestConfig {
        shards: 1,
        extra: "[[targets]]\ntype = \"file\"\nname = \"firewalls\"\npath = \"firewalls.ndjson\"\n\
                [score]\nenabled = false\n"
            .into(),
        rules: Some(RULES.into()),
        ..TestConfig::default()
    }
}

fn line(host: &str, msg: &str) -> String {
    format!("<134>Mar 15 12:00:00 {host} app: {msg}")
}

fn hosts(path: &std::path::Path) -> Vec<String> {
    read_ndjson(path)
        .iter()
        .map(|e| e["device"]["hostname"].as_str().unwrap_or("").to_owned())
        .collect()
}

#[test]
fn events_go_where_their_rules_say_and_drops_and_throttles_are_counted() {
    let mut engine = TestEngine::start(&config());
    let mut lines = vec![
        line("fw-01", "deny tcp 10.0.0.1"),
        line("web-01", "GET /index.html 200"),
        line("web-01", "GET /healthz 200"),
        line("fw-02", "allow udp 10.0.0.2"),
    ];
    for i in 0..5 {
        lines.push(line("noisy-01", &format!("tick {i}")));
    }
    send(&engine, &lines);
    // 2 to firewalls, 2 + 1 + 3 to file; 1 dropped, 2 throttled.
    engine.wait_delivered(8, WAIT);
    let p = engine.pipeline();
    let report = engine.shutdown();
    assert_eq!(report.totals.delivered, 8);
    assert_eq!(
        hosts(&engine.dir.path().join("firewalls.ndjson")),
        ["fw-01", "fw-02"]
    );
    // In the order they came, though the batch went to two target sets.
    assert_eq!(
        hosts(&engine.events_path()),
        ["fw-01", "web-01", "fw-02", "noisy-01", "noisy-01", "noisy-01"]
    );
    let dropped: u64 = p["stages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["kind"] == "router")
        .map(|s| s["dropped"]["rule_drop"].as_u64().unwrap_or(0))
        .sum();
    let throttled: u64 = p["stages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["kind"] == "router")
        .map(|s| s["dropped"]["throttled"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!((dropped, throttled), (1, 2), "{p:#}");
}

#[test]
fn rules_change_through_the_api_are_checked_written_back_and_used_from_the_next_batch() {
    let mut engine = TestEngine::start(&config());
    let (status, list) = engine.get_json("/api/v1/rules");
    assert_eq!(status, 200);
    assert_eq!(list["count"], 3);
    assert_eq!(list["rules"][0]["name"], "firewalls-to-their-file");

    // A bad rule changes nothing and says what is wrong.
    let (status, bad) = engine.post_json(
        "/api/v1/rules",
        &json!({"name": "x", "priority": 1, "matchers": ["severity >= \"Hgh\""]}).to_string(),
    );
    assert_eq!(status, 400, "{bad}");
    assert!(bad["error"].as_str().unwrap().contains("Hgh"), "{bad}");
    let (status, bad) = engine.post_json(
        "/api/v1/rules",
        &json!({"name": "y", "priority": 1, "targets": ["nowhere"]}).to_string(),
    );
    assert_eq!(status, 400, "{bad}");
    assert!(bad["error"].as_str().unwrap().contains("nowhere"), "{bad}");
    let (status, _) = engine.post_json(
        "/api/v1/rules",
        &json!({"name": "drop-health-checks", "priority": 9, "drop": true}).to_string(),
    );
    assert_eq!(status, 409, "names are unique");
    let (status, bad) = engine.post_json(
        "/api/v1/rules",
        &json!({"name": "z", "priority": 1, "runbook": "reboot-the-world"}).to_string(),
    );
    assert_eq!(status, 400, "{bad}");
    assert!(
        bad["error"]
            .as_str()
            .unwrap()
            .contains("no [[alerts.runbooks]] entry named \"reboot-the-world\""),
        "{bad}"
    );

    // Web servers now go to the firewalls file too; the health-check drop is removed.
    let (status, added) = engine.post_json(
        "/api/v1/rules",
        &json!({"name": "web-too", "priority": 1, "matchers": ["device.hostname = \"web-01\""],
                "targets": ["firewalls", "file"]})
        .to_string(),
    );
    assert_eq!(status, 201, "{added}");
    let (status, _) = engine.delete("/api/v1/rules/drop-health-checks");
    assert_eq!(status, 200);
    let (status, _) = engine.delete("/api/v1/rules/drop-health-checks");
    assert_eq!(status, 404);
    let (status, _) = engine.put(
        "/api/v1/rules/at-most-3-noisy",
        &json!({"name": "ignored", "priority": 3, "matchers": ["device.hostname = \"noisy-01\""],
                "drop": true})
        .to_string(),
    );
    assert_eq!(status, 200);
    let written = std::fs::read_to_string(engine.dir.path().join("rules.toml")).unwrap();
    let file: toml_like::Rules = toml_like::parse(&written);
    assert_eq!(
        file.names,
        ["firewalls-to-their-file", "at-most-3-noisy", "web-too"]
    );

    send(
        &engine,
        &[
            line("web-01", "GET /healthz 200"),
            line("noisy-01", "tick"),
            line("fw-01", "deny"),
        ],
    );
    engine.wait_delivered(4, WAIT);
    engine.shutdown();
    assert_eq!(
        hosts(&engine.dir.path().join("firewalls.ndjson")),
        ["web-01", "fw-01"]
    );
    assert_eq!(hosts(&engine.events_path()), ["web-01", "fw-01"]);
}

/// Just enough of the written rules file to check it: the rule names in order.
mod toml_like {
    pub struct Rules {
        pub names: Vec<String>,
    }
    pub fn parse(text: &str) -> Rules {
        let names = text
            .lines()
            .filter_map(|l| l.strip_prefix("name = "))
            .map(|v| v.trim_matches('"').to_owned())
            .collect();
        Rules { names }
    }
}

#[test]
fn a_runbook_command_runs_from_the_api_with_alert_fields_and_is_recorded() {
    let t = TestConfig {
        extra: r#"
[score]
shards = 1
[score.trainer]
interval_secs = 0
[[alerts.runbooks]]
name = "brute-force"
kind = "brute_force"
url = "https://wiki.example.net/runbooks/brute-force"
action = { type = "command", program = "/bin/echo", args = ["block", "{{ alert.entity }}", "{{ alert.priority }}"], timeout_ms = 5000 }
[alerts.remediation]
allowed_commands = ["/bin/echo"]
"#
        .into(),
        ..TestConfig::default()
    };
    let engine = TestEngine::start(&t);
    send(&engine, &brute_force("bastion-01", 0));
    let mut alert = Value::Null;
    wait_until(WAIT, "an alert", || {
        let (_, v) = engine.get_json("/api/v1/alerts");
        alert = v["alerts"][0].clone();
        !alert.is_null()
    });
    assert_eq!(alert["runbook"], "brute-force");
    assert_eq!(
        alert["runbook_url"],
        "https://wiki.example.net/runbooks/brute-force"
    );
    let id = alert["id"].as_str().unwrap();
    let (status, run) = engine.post_json(
        &format!("/api/v1/alerts/{id}/remediate"),
        r#"{"by": "alice"}"#,
    );
    assert_eq!(status, 200, "{run}");
    assert_eq!(run["ok"], true, "{run}");
    assert_eq!(run["exit_code"], 0);
    assert_eq!(run["output"], "block bastion-01 P1\n");
    assert_eq!(run["actor"], "alice");
    let (_, detail) = engine.get_json(&format!("/api/v1/alerts/{id}"));
    assert_eq!(detail["runs"].as_array().unwrap().len(), 1, "{detail}");
    let last = detail["history"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["action"], "remediated");
    assert_eq!(last["actor"], "alice");
    // An unknown alert is a 404; an unknown action too.
    let (status, _) = engine.post_json("/api/v1/alerts/al-0000000000000000/remediate", "");
    assert_eq!(status, 404);
    let (status, _) = engine.post_json(&format!("/api/v1/alerts/{id}/explode"), "");
    assert_eq!(status, 404);
}
