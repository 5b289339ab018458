//! Topology-aware correlation through the real engine: anomalies on a switch and the servers
//! behind it become one incident whose root cause is the switch and which pages once; a fault
//! at an unrelated site stays its own incident; the topology API checks, persists and applies
//! changes; flows between known nodes teach the topology `connects_to` edges.

use serde_json::Value;
use std::time::Duration;
use tocsin_tests::{brute_force, quiet, send_lines, wait_until, TestConfig, TestEngine};

const WAIT: Duration = Duration::from_secs(30);

/// A router with a core switch behind it and four servers on the switch (site `ams`); a
/// second router with one server at an unrelated site (`fra`).
const TOPOLOGY: &str = r#"
[[nodes]]
id = "rtr-ams"
kind = "router"
site = "ams"
ip = "10.1.0.1"

[[nodes]]
id = "core-sw-1"
kind = "switch"
site = "ams"
criticality = "critical"
ip = "10.1.0.2"

[[nodes]]
id = "srv-1"
kind = "server"
site = "ams"
ip = "10.1.1.1"

[[nodes]]
id = "srv-2"
kind = "server"
site = "ams"
ip = "10.1.1.2"

[[nodes]]
id = "srv-3"
kind = "server"
site = "ams"
ip = "10.1.1.3"

[[nodes]]
id = "srv-4"
kind = "server"
site = "ams"
ip = "10.1.1.4"

[[nodes]]
id = "rtr-fra"
kind = "router"
site = "fra"
ip = "10.2.0.1"

[[nodes]]
id = "srv-fra"
kind = "server"
site = "fra"
ip = "10.2.1.1"

[[edges]]
from = "core-sw-1"
to = "rtr-ams"
kind = "depends_on"

[[edges]]
from = "srv-1"
to = "core-sw-1"
kind = "depends_on"

[[edges]]
from = "srv-2"
to = "core-sw-1"
kind = "depends_on"

[[edges]]
from = "srv-3"
to = "core-sw-1"
kind = "depends_on"

[[edges]]
from = "srv-4"
to = "core-sw-1"
kind = "depends_on"

[[edges]]
from = "srv-fra"
to = "rtr-fra"
kind = "depends_on"
"#;

/// One scorer shard, no training, the topology above written beside the data, alerts per
/// incident (the default), `more` appended.
fn config(dir: &std::path::Path, more: &str) -> TestConfig {
    let topology = dir.join("topology.toml");
    std::fs::write(&topology, TOPOLOGY).unwrap();
    TestConfig {
        extra: format!(
            r#"
[score]
shards = 1
[score.trainer]
interval_secs = 0

[correlation]
topology_file = "{}"
{more}
"#,
            topology.display()
        ),
        ..TestConfig::default()
    }
}

/// Lines of several hosts merged into event-time order (`<38>Mar 15 12:MM:SS host ...`).
fn merged(mut lines: Vec<String>) -> Vec<String> {
    lines.sort_by(|a, b| a[5..20].cmp(&b[5..20]));
    lines
}

fn incidents(engine: &TestEngine, query: &str) -> Vec<Value> {
    let (status, v) = engine.get_json(&format!("/api/v1/incidents{query}"));
    assert_eq!(status, 200, "{v}");
    v["incidents"].as_array().unwrap().clone()
}

fn members(i: &Value) -> Vec<String> {
    let mut m: Vec<String> = i["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["entity"].as_str().unwrap().to_owned())
        .collect();
    m.sort();
    m
}

#[test]
fn a_switch_and_the_servers_behind_it_make_one_incident_rooted_at_the_switch_and_one_alert() {
    let dir = tempfile::tempdir().unwrap();
    let engine = TestEngine::start_in(tempfile::tempdir().unwrap(), &config(dir.path(), ""));
    // The switch's burst at 12:02, its servers' at 12:03, an unrelated server's at 12:03.
    let mut lines = brute_force("core-sw-1", 1);
    for s in ["srv-1", "srv-2", "srv-3", "srv-4", "srv-fra"] {
        lines.extend(brute_force(s, 2));
    }
    // Later lines on every host close the 12:03 windows.
    lines.extend(quiet("rtr-ams", 4));
    lines.extend(quiet("rtr-fra", 4));
    send_lines(engine.tcp(), &merged(lines));

    let mut all = Vec::new();
    wait_until(WAIT, "the switch's incident with its four servers", || {
        all = incidents(&engine, "?status=open");
        all.iter().any(|i| members(i).len() == 5)
    });
    let star = all.iter().find(|i| members(i).len() == 5).unwrap().clone();
    assert_eq!(
        members(&star),
        ["core-sw-1", "srv-1", "srv-2", "srv-3", "srv-4"],
        "{star:#}"
    );
    assert_eq!(star["root_cause"]["entity"], "core-sw-1", "{star:#}");
    assert_eq!(star["root_cause"]["kind"], "switch");
    assert_eq!(star["candidates"][0]["entity"], "core-sw-1");
    let confidence = star["root_cause"]["confidence"].as_f64().unwrap();
    assert!(confidence > 0.0 && confidence <= 1.0, "{confidence}");
    let chain = star["chains"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["impacted"] == "srv-3")
        .unwrap_or_else(|| panic!("no chain to srv-3: {star:#}"));
    assert_eq!(chain["path"], serde_json::json!(["core-sw-1", "srv-3"]));
    assert_eq!(star["sites"], serde_json::json!(["ams"]));
    // Critical anomalies on a critical switch: P1.
    assert_eq!(star["priority"], "P1");

    // The unrelated site's server is its own incident.
    let fra = incidents(&engine, "?entity=srv-fra");
    assert_eq!(fra.len(), 1, "{fra:#?}");
    assert_eq!(members(&fra[0]), ["srv-fra"]);
    assert_eq!(fra[0]["root_cause"]["entity"], "srv-fra");

    // One alert per incident: the star's is about the switch.
    let id = star["id"].as_str().unwrap().to_owned();
    let mut star_alerts = Vec::new();
    wait_until(WAIT, "the star incident's alert", || {
        let (_, v) = engine.get_json("/api/v1/alerts?entity=core-sw-1");
        star_alerts = v["alerts"].as_array().unwrap().clone();
        star_alerts
            .iter()
            .any(|a| a["occurrences"].as_u64().unwrap_or(0) >= 1)
    });
    assert_eq!(star_alerts.len(), 1, "{star_alerts:#?}");
    assert_eq!(star_alerts[0]["kind"], "incident");
    assert_eq!(star_alerts[0]["labels"]["incident"], id.as_str());
    let (_, v) = engine.get_json("/api/v1/alerts");
    let servers: Vec<&Value> = v["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| {
            a["entity"].as_str().unwrap_or("").starts_with("srv-") && a["entity"] != "srv-fra"
        })
        .collect();
    assert!(servers.is_empty(), "no page per server: {servers:#?}");

    // The incident reached the file target as a Detection Finding.
    let (status, one) = engine.get_json(&format!("/api/v1/incidents/{id}"));
    assert_eq!(status, 200);
    assert_eq!(one["id"], id.as_str());
    let (status, _) = engine.get_json("/api/v1/incidents/inc-0000000000000000");
    assert_eq!(status, 404);
    let path = engine.events_path();
    wait_until(WAIT, "the incident finding in the file target", || {
        tocsin_tests::read_ndjson(&path).iter().any(|e| {
            e["finding_info"]["uid"] == id.as_str() && e["finding_info"]["types"][0] == "incident"
        })
    });
    let (_, metrics) = engine.get("/metrics");
    assert!(
        metrics.contains("tocsin_incidents_created_total"),
        "{metrics}"
    );
    assert!(metrics.contains("tocsin_correlation_latency_seconds{quantile=\"0.99\"}"));
}

#[test]
fn topology_changes_through_the_api_are_checked_written_to_the_file_and_used() {
    let dir = tempfile::tempdir().unwrap();
    let engine = TestEngine::start_in(tempfile::tempdir().unwrap(), &config(dir.path(), ""));
    let file = dir.path().join("topology.toml");
    let (status, t) = engine.get_json("/api/v1/topology");
    assert_eq!(status, 200, "{t}");
    assert_eq!(t["nodes"].as_array().unwrap().len(), 8);
    assert_eq!(t["edges"].as_array().unwrap().len(), 6);

    // A new database and an edge to it.
    let (status, v) = engine.post_json(
        "/api/v1/topology/nodes",
        r#"{"id": "db-1", "kind": "database", "site": "ams", "ip": "10.1.2.1"}"#,
    );
    assert_eq!(status, 201, "{v}");
    let (status, v) = engine.post_json(
        "/api/v1/topology/edges",
        r#"{"from": "srv-1", "to": "db-1", "kind": "depends_on"}"#,
    );
    assert_eq!(status, 201, "{v}");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("db-1"), "{text}");
    let reloaded = tocsin_engine::correlate::Topology::load(&file).unwrap();
    assert_eq!(reloaded.len(), 9);
    assert_eq!(reloaded.edge_count(), 7);

    // Refused, with nothing written: a duplicate id, an unknown kind, an edge to nowhere.
    let (status, v) = engine.post_json(
        "/api/v1/topology/nodes",
        r#"{"id": "db-1", "kind": "database"}"#,
    );
    assert!(status == 409 || status == 400, "{status} {v}");
    assert!(v["error"].as_str().unwrap().contains("db-1"), "{v}");
    let (status, v) = engine.post_json(
        "/api/v1/topology/nodes",
        r#"{"id": "x", "kind": "toaster"}"#,
    );
    assert_eq!(status, 400, "{v}");
    let (status, v) = engine.post_json(
        "/api/v1/topology/edges",
        r#"{"from": "srv-1", "to": "nowhere", "kind": "depends_on"}"#,
    );
    assert!(status == 404 || status == 400, "{status} {v}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), text);

    // Removing the edge, then the node.
    let (status, body) = engine.delete("/api/v1/topology/edges?from=srv-1&to=db-1&kind=depends_on");
    assert_eq!(status, 200, "{body}");
    let (status, body) = engine.delete("/api/v1/topology/nodes/db-1");
    assert_eq!(status, 200, "{body}");
    let (status, _) = engine.delete("/api/v1/topology/nodes/db-1");
    assert_eq!(status, 404);
    assert_eq!(
        tocsin_engine::correlate::Topology::load(&file)
            .unwrap()
            .len(),
        8
    );

    // Replacing it all: the two sites become one chain, so their servers' faults join.
    let (status, body) = engine.put(
        "/api/v1/topology",
        r#"{"nodes": [
            {"id": "srv-1", "kind": "server"},
            {"id": "srv-fra", "kind": "server"}
        ], "edges": [
            {"from": "srv-fra", "to": "srv-1", "kind": "depends_on"}
        ]}"#,
    );
    assert_eq!(status, 200, "{body}");
    let mut lines = brute_force("srv-1", 1);
    lines.extend(brute_force("srv-fra", 2));
    lines.extend(quiet("rtr-ams", 4));
    send_lines(engine.tcp(), &merged(lines));
    let mut all = Vec::new();
    wait_until(WAIT, "one incident over both servers", || {
        all = incidents(&engine, "");
        all.iter().any(|i| members(i).len() == 2)
    });
    let joined = all.iter().find(|i| members(i).len() == 2).unwrap();
    assert_eq!(members(joined), ["srv-1", "srv-fra"]);
    assert_eq!(joined["root_cause"]["entity"], "srv-1", "{joined:#}");
}

#[test]
fn alerts_per_anomaly_still_page_each_entity_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let t = config(dir.path(), "[alerts]\non = \"anomalies\"\n");
    let engine = TestEngine::start_in(tempfile::tempdir().unwrap(), &t);
    let mut lines = brute_force("core-sw-1", 1);
    lines.extend(brute_force("srv-1", 2));
    lines.extend(quiet("rtr-ams", 4));
    send_lines(engine.tcp(), &merged(lines));
    let mut list = Vec::new();
    wait_until(WAIT, "an alert per entity", || {
        let (_, v) = engine.get_json("/api/v1/alerts");
        list = v["alerts"].as_array().unwrap().clone();
        list.len() >= 2
    });
    let mut entities: Vec<&str> = list.iter().map(|a| a["entity"].as_str().unwrap()).collect();
    entities.sort();
    assert_eq!(entities, ["core-sw-1", "srv-1"]);
    assert!(list.iter().all(|a| a["kind"] == "brute_force"), "{list:#?}");
    // The incident is still formed, for the API.
    wait_until(WAIT, "the incident", || {
        incidents(&engine, "").iter().any(|i| members(i).len() == 2)
    });
}

#[test]
fn flows_between_two_nodes_addresses_teach_a_connects_to_edge_that_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let topology = dir.path().join("topology.toml");
    std::fs::write(
        &topology,
        r#"
[[nodes]]
id = "web-1"
kind = "server"
ip = "10.10.4.21"

[[nodes]]
id = "payments-api"
kind = "service"
ip = "93.184.216.34"

[[nodes]]
id = "fw01"
kind = "firewall"
"#,
    )
    .unwrap();
    let t = TestConfig {
        extra: format!(
            "[score]\nshards = 1\n[score.trainer]\ninterval_secs = 0\n[correlation]\ntopology_file = \"{}\"\n",
            topology.display()
        ),
        ..TestConfig::default()
    };
    let data = tempfile::tempdir().unwrap();
    let engine = TestEngine::start_in(data, &t);
    // The firewall logs connections from web-1 to the payments API, and some to addresses
    // that are no node's.
    let mut lines = Vec::new();
    for s in 0..30u32 {
        lines.push(format!("<166>Mar 15 2024 12:00:{s:02} fw01 : %ASA-6-302013: Built outbound TCP connection 8123{s:04} for outside:93.184.216.34/443 (93.184.216.34/443) to inside:10.10.4.21/52{s:03} (198.51.100.10/52{s:03})"));
        lines.push(format!("<166>Mar 15 2024 12:00:{s:02} fw01 : %ASA-6-302013: Built outbound TCP connection 8124{s:04} for outside:203.0.113.9/443 (203.0.113.9/443) to inside:10.10.4.99/53{s:03} (198.51.100.11/53{s:03})"));
    }
    send_lines(engine.tcp(), &lines);
    let mut learned = Vec::new();
    wait_until(WAIT, "a learned edge", || {
        let (_, t) = engine.get_json("/api/v1/topology");
        learned = t["edges"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["learned"] == true)
            .cloned()
            .collect();
        !learned.is_empty()
    });
    assert_eq!(learned.len(), 1, "{learned:#?}");
    assert_eq!(learned[0]["from"], "web-1");
    assert_eq!(learned[0]["to"], "payments-api");
    assert_eq!(learned[0]["kind"], "connects_to");
    assert!(learned[0]["weight"].as_f64().unwrap() > 0.0);
    // Learned edges stay out of the configured file, and are kept across a restart.
    assert!(!std::fs::read_to_string(&topology)
        .unwrap()
        .contains("connects_to"));
    let kept = engine.stop();
    let saved = std::fs::read_to_string(kept.path().join("learned-edges.toml")).unwrap();
    assert!(
        saved.contains("payments-api") && saved.contains("learned = true"),
        "{saved}"
    );
    let engine = TestEngine::start_in(kept, &t);
    let (_, t) = engine.get_json("/api/v1/topology");
    assert!(
        t["edges"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["learned"] == true && e["to"] == "payments-api"),
        "{t:#}"
    );
}
