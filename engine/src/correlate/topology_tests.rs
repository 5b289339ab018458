use super::*;
use crate::correlate::spec::{Criticality, NodeKind};

const ESTATE: &str = r#"
[[nodes]]
id = "router-1"
kind = "router"
site = "ams-1"
vendor = "cisco_ios"
ip = "10.0.0.1"

[[nodes]]
id = "core-sw-1"
kind = "switch"
site = "ams-1"
criticality = "high"
ip = "10.0.0.2"
ips = ["10.0.1.2"]
aliases = ["core-sw-1.acme.local"]
tags = { rack = "r12" }

[[nodes]]
id = "web-1"
kind = "server"
ip = "10.0.2.10"

[[nodes]]
id = "db-1"
kind = "database"
customer = "acme"

[[nodes]]
id = "shop"
kind = "service"

[[edges]]
from = "core-sw-1"
to = "router-1"
kind = "depends_on"

[[edges]]
from = "web-1"
to = "core-sw-1"
kind = "depends_on"

[[edges]]
from = "web-1"
to = "db-1"
kind = "connects_to"
weight = 2.0

[[edges]]
from = "web-1"
to = "shop"
kind = "hosts"
"#;

fn estate() -> Topology {
    Topology::parse(ESTATE, "estate.toml").expect("the test estate is valid")
}

fn ix(t: &Topology, name: &str) -> NodeIx {
    t.resolve(name)
        .unwrap_or_else(|| panic!("{name} is in the topology"))
}

fn ids(t: &Topology, nodes: &[NodeIx]) -> Vec<String> {
    nodes.iter().map(|n| t.id(*n).to_string()).collect()
}

#[test]
fn parses_nodes_edges_and_resolves_every_name() {
    let t = estate();
    assert_eq!(t.len(), 5);
    assert_eq!(t.edge_count(), 4);
    let sw = ix(&t, "core-sw-1");
    assert_eq!(t.resolve("core-sw-1.acme.local"), Some(sw));
    assert_eq!(t.resolve("10.0.0.2"), Some(sw));
    assert_eq!(t.resolve("10.0.1.2"), Some(sw));
    assert_eq!(t.resolve_ip("10.0.1.2".parse().unwrap()), Some(sw));
    assert_eq!(t.resolve("nope"), None);
    let node = t.node(sw);
    assert_eq!(node.kind, NodeKind::Switch);
    assert_eq!(node.criticality, Some(Criticality::High));
    assert_eq!(node.tags.get("rack").map(String::as_str), Some("r12"));
    assert_eq!(
        t.node(ix(&t, "router-1")).vendor.as_deref(),
        Some("cisco_ios")
    );
}

#[test]
fn bench_harness_node_tables_parse() {
    let text = "[[nodes]]\nid = \"edge-1\"\nkind = \"router\"\nsite = \"s1\"\nvendor = \"juniper\"\nip = \"192.0.2.1\"\n";
    let t = Topology::parse(text, "bench").unwrap();
    assert_eq!(
        t.resolve("192.0.2.1").map(|n| t.id(n).to_string()),
        Some("edge-1".to_string())
    );
}

#[test]
fn unknown_kind_names_the_allowed_kinds() {
    let err = Topology::parse("[[nodes]]\nid = \"x\"\nkind = \"toaster\"\n", "t.toml").unwrap_err();
    let text = err.to_string();
    assert!(text.starts_with("t.toml:"), "{text}");
    assert!(
        text.contains("toaster") && text.contains("load_balancer") && text.contains("line 3"),
        "{text}"
    );
}

#[test]
fn every_problem_is_listed_at_once() {
    let text = r#"
[[nodes]]
id = "a"
kind = "server"
ip = "10.0.0.1"
[[nodes]]
id = "a"
kind = "server"
[[nodes]]
id = "b"
kind = "server"
aliases = ["10.0.0.1"]
[[nodes]]
id = "c"
kind = "server"
[[edges]]
from = "c"
to = "ghost"
kind = "depends_on"
[[edges]]
from = "c"
to = "c"
kind = "depends_on"
[[edges]]
from = "c"
to = "a"
kind = "hosts"
[[edges]]
from = "c"
to = "a"
kind = "hosts"
[[edges]]
from = "a"
to = "c"
kind = "connects_to"
weight = -1.0
"#;
    let err = Topology::parse(text, "bad.toml").unwrap_err();
    let TopologyError::Invalid { problems, .. } = &err else {
        panic!("expected Invalid, got {err}")
    };
    assert_eq!(problems.len(), 6, "{problems:#?}");
    let all = err.to_string();
    assert_eq!(all.lines().count(), 6, "{all}");
    assert!(all.lines().all(|l| l.starts_with("bad.toml: ")), "{all}");
    for needle in [
        "duplicate node id \"a\"",
        "\"10.0.0.1\" already names node \"a\"",
        "unknown node \"ghost\"",
        "to itself",
        "duplicate edge",
        "weight -1",
    ] {
        assert!(all.contains(needle), "missing {needle:?} in\n{all}");
    }
}

#[test]
fn toml_round_trip_keeps_the_file() {
    let mut t = estate();
    let s = LearnSettings::default();
    let (a, b) = (ix(&t, "db-1"), ix(&t, "shop"));
    assert_eq!(t.learn_flow(a, b, 5_000, &s), Learned::Added);
    let text = t.to_toml();
    assert!(
        text.contains("learned = true") && text.contains("last_seen_ms = 5000"),
        "{text}"
    );
    let back = Topology::parse(&text, "round").unwrap();
    assert_eq!(back.to_file(), t.to_file());
    assert_eq!(back.learned_count(), 1);
    // JSON too
    let json = serde_json::to_string(&t.to_file()).unwrap();
    let file: TopologyFile = serde_json::from_str(&json).unwrap();
    assert_eq!(file, t.to_file());
    assert!(!json.contains("null"), "empty fields are skipped: {json}");
}

#[test]
fn save_is_atomic_and_loads_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("topology.toml");
    let t = estate();
    t.save(&path).unwrap();
    let back = Topology::load(&path).unwrap();
    assert_eq!(back.to_file(), t.to_file());
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "no temporary file left: {names:?}");
}

#[test]
fn changes_bump_the_version_and_refuse_conflicts() {
    let mut t = estate();
    let v = t.version();
    let mut n = NodeSpec::new("app-1", NodeKind::Vm);
    n.aliases.push("web-1".into());
    assert!(
        t.add_node(n).is_err(),
        "an alias naming another node is refused"
    );
    assert_eq!(t.version(), v);
    t.add_node(NodeSpec::new("app-1", NodeKind::Vm)).unwrap();
    t.add_edge(EdgeSpec::new("app-1", "db-1", EdgeKind::DependsOn))
        .unwrap();
    assert!(t
        .add_edge(EdgeSpec::new("app-1", "db-1", EdgeKind::DependsOn))
        .is_err());
    assert!(t
        .add_edge(EdgeSpec::new("app-1", "ghost", EdgeKind::DependsOn))
        .is_err());
    assert!(t.version() > v);
    t.remove_edge("app-1", "db-1", EdgeKind::DependsOn).unwrap();
    assert!(t.remove_edge("app-1", "db-1", EdgeKind::DependsOn).is_err());
    let edges = t.edge_count();
    let removed = t.remove_node("core-sw-1").unwrap();
    assert_eq!(removed.id, "core-sw-1");
    assert_eq!(t.edge_count(), edges - 2);
    assert_eq!(t.resolve("10.0.0.2"), None);
    assert_eq!(t.resolve("core-sw-1.acme.local"), None);
    // replace is all or nothing
    let before = t.to_file();
    let mut bad = estate().to_file();
    bad.edges
        .push(EdgeSpec::new("web-1", "ghost", EdgeKind::DependsOn));
    assert!(t.replace(bad).is_err());
    assert_eq!(t.to_file(), before);
    let v = t.version();
    t.replace(estate().to_file()).unwrap();
    assert_eq!(t.len(), 5);
    assert!(t.version() > v);
}

#[test]
fn learned_edges_add_refresh_decay_and_yield_to_configured() {
    let mut t = estate();
    let s = LearnSettings {
        half_life_ms: 1_000,
        min_weight: 0.05,
        max_weight: 3.0,
        max_learned: 2,
    };
    let (web, db, shop, rt, sw) = (
        ix(&t, "web-1"),
        ix(&t, "db-1"),
        ix(&t, "shop"),
        ix(&t, "router-1"),
        ix(&t, "core-sw-1"),
    );
    assert_eq!(t.learn_flow(web, web, 0, &s), Learned::Ignored);
    assert_eq!(
        t.learn_flow(db, web, 0, &s),
        Learned::Configured,
        "web-1 connects_to db-1 is configured"
    );
    assert_eq!(t.learn_flow(db, shop, 0, &s), Learned::Added);
    assert_eq!(t.edge_weight(db, shop, EdgeKind::ConnectsTo), Some(1.0));
    // one half-life later: 1 * 0.5 + 1
    assert_eq!(t.learn_flow(db, shop, 1_000, &s), Learned::Refreshed);
    assert_eq!(t.edge_weight(db, shop, EdgeKind::ConnectsTo), Some(1.5));
    // an older flow does not decay it, and the cap holds
    for _ in 0..5 {
        t.learn_flow(db, shop, 500, &s);
    }
    assert_eq!(t.edge_weight(db, shop, EdgeKind::ConnectsTo), Some(3.0));
    assert_eq!(t.learn_flow(shop, rt, 1_000, &s), Learned::Added);
    assert_eq!(
        t.learn_flow(sw, db, 1_000, &s),
        Learned::Ignored,
        "the table is full"
    );
    assert_eq!(t.learned_count(), 2);
    // a configured edge replaces a learned one
    t.add_edge(EdgeSpec::new("router-1", "shop", EdgeKind::DependsOn))
        .unwrap();
    assert_eq!(t.learned_count(), 1);
    assert_eq!(t.edge_weight(shop, rt, EdgeKind::ConnectsTo), None);
    // decay: 3.0 after 5 half-lives is 0.094 (kept), after 6 it is 0.047 (dropped)
    assert_eq!(t.decay(6_000, &s), 0);
    assert_eq!(t.decay(7_000, &s), 1);
    assert_eq!(t.learned_count(), 0);
    assert_eq!(t.edge_weight(db, shop, EdgeKind::ConnectsTo), None);
}

#[test]
fn distance_ignores_direction_and_stops_at_max_hops() {
    let t = estate();
    let (rt, db, shop, web) = (
        ix(&t, "router-1"),
        ix(&t, "db-1"),
        ix(&t, "shop"),
        ix(&t, "web-1"),
    );
    assert_eq!(t.distance(web, web, 0), Some(0));
    assert_eq!(t.distance(db, web, 1), Some(1));
    assert_eq!(t.distance(rt, web, 2), Some(2));
    assert_eq!(t.distance(rt, db, 2), None);
    assert_eq!(t.distance(rt, db, 3), Some(3));
    assert_eq!(t.distance(shop, db, 2), Some(2));
    assert_eq!(t.neighbourhood(rt, 2).len(), 3);
}

#[test]
fn dependencies_and_dependents_follow_edge_semantics() {
    let t = estate();
    let (sw, db, shop, web) = (
        ix(&t, "core-sw-1"),
        ix(&t, "db-1"),
        ix(&t, "shop"),
        ix(&t, "web-1"),
    );
    assert_eq!(t.dependencies(web), vec![(sw, 1.0), (db, 0.5)]);
    assert_eq!(
        t.dependencies(shop),
        vec![(web, 1.0)],
        "a service depends on its host"
    );
    assert_eq!(t.dependents(web), vec![(shop, 1.0)]);
    assert_eq!(t.dependents(sw), vec![(web, 1.0)]);
    let rt = ix(&t, "router-1");
    assert_eq!(
        ids(&t, &t.causal_path(rt, shop, 3).unwrap()),
        ["router-1", "core-sw-1", "web-1", "shop"]
    );
    assert_eq!(t.causal_path(rt, shop, 2), None);
    assert_eq!(
        t.causal_path(shop, rt, 5),
        None,
        "paths run from a dependency to its dependents"
    );
    assert_eq!(
        ids(&t, &t.downstream(rt, 100)),
        ["core-sw-1", "web-1", "shop"]
    );
    assert_eq!(t.downstream(rt, 2).len(), 2);
}

#[test]
fn flow_endpoints_need_two_different_addresses() {
    let mut e = Event::default();
    assert_eq!(flow_endpoints(&e), None);
    let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
    e.src.ip = Some(a);
    assert_eq!(flow_endpoints(&e), None);
    e.dst.ip = Some(a);
    assert_eq!(flow_endpoints(&e), None);
    e.dst.ip = Some(b);
    assert_eq!(flow_endpoints(&e), Some((a, b)));
}

#[test]
fn shipped_example_parses() {
    let t = Topology::parse(
        include_str!("../../../config/topology.toml"),
        "config/topology.toml",
    )
    .unwrap();
    assert_eq!(t.len(), 8);
    let shop = ix(&t, "shop");
    let deps = ids(
        &t,
        &t.dependencies(shop)
            .into_iter()
            .map(|d| d.0)
            .collect::<Vec<_>>(),
    );
    assert_eq!(deps, ["db-1", "web-1", "web-2"]);
    assert_eq!(t.resolve("203.0.113.10"), Some(ix(&t, "lb-1")));
    let rt = ix(&t, "edge-rt-1");
    assert_eq!(
        t.downstream(rt, 100).len(),
        7,
        "everything sits behind the edge router"
    );
}
