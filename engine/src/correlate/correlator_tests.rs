use super::*;
use crate::correlate::spec::{EdgeKind, EdgeSpec, NodeKind, NodeSpec};

const MIN: i64 = 60_000;
const T0: i64 = 1_700_000_000_000;

fn anomaly(entity: &str, class: &str, kind: AnomalyKind, start: i64, score: f64) -> Anomaly {
    Anomaly {
        id: Anomaly::id_for(entity, kind, start),
        entity: Symbol::intern(entity),
        class: Symbol::intern(class),
        kind,
        window_start_ms: start,
        window_end_ms: start + MIN,
        score,
        parts: Default::default(),
        signals: Default::default(),
        rules: Default::default(),
        detected_ns: 0,
    }
}

fn topo(nodes: &[(&str, NodeKind)], edges: &[(&str, &str, EdgeKind)]) -> Topology {
    let mut t = Topology::new();
    for (id, kind) in nodes {
        t.add_node(NodeSpec::new(*id, *kind)).unwrap();
    }
    for (from, to, kind) in edges {
        t.add_edge(EdgeSpec::new(*from, *to, *kind)).unwrap();
    }
    t
}

fn root(inc: &Incident) -> &str {
    &inc.root_cause
        .as_ref()
        .expect("an incident with members has a root cause")
        .entity
}

fn chain<'a>(inc: &'a Incident, impacted: &str) -> &'a [String] {
    &inc.chains
        .iter()
        .find(|c| c.impacted == impacted)
        .unwrap_or_else(|| panic!("no chain to {impacted}"))
        .path
}

use AnomalyKind::{ErrorBurst, LatencyDegradation, VolumeSpike};
use EdgeKind::{DependsOn, Hosts};
use NodeKind::{Database, Router, Server, Service, Switch};

#[test]
fn chain_db_fails_first_and_is_the_root() {
    let t = topo(
        &[
            ("lb-1", NodeKind::LoadBalancer),
            ("web-1", Server),
            ("app-1", Server),
            ("db-1", Database),
        ],
        &[
            ("lb-1", "web-1", DependsOn),
            ("web-1", "app-1", DependsOn),
            ("app-1", "db-1", DependsOn),
        ],
    );
    let mut c = Correlator::new(CorrelationSettings::default());
    let first = c.observe(&anomaly("db-1", "postgres", ErrorBurst, T0, 0.85), &t);
    assert!(first.new);
    for (i, (e, s)) in [("app-1", 0.9), ("web-1", 0.93), ("lb-1", 0.97)]
        .into_iter()
        .enumerate()
    {
        let j = c.observe(
            &anomaly(e, "linux", LatencyDegradation, T0 + (i as i64 + 1) * MIN, s),
            &t,
        );
        assert_eq!(j.incident, first.incident);
        assert!(!j.new);
    }
    let changes = c.changes(&t);
    assert_eq!(changes.len(), 1);
    let inc = &changes[0];
    assert_eq!(root(inc), "db-1");
    assert_eq!(inc.candidates.len(), 3);
    assert_eq!(chain(inc, "lb-1"), ["db-1", "app-1", "web-1", "lb-1"]);
    assert_eq!(chain(inc, "app-1"), ["db-1", "app-1"]);
    assert_eq!(inc.members.len(), 4);
    assert_eq!(inc.members[0].entity, "db-1");
    assert_eq!(inc.anomalies, 4);
    assert_eq!(inc.blast_radius, 4);
    assert_eq!(inc.severity, "Critical");
    assert_eq!(inc.priority, Priority::P1);
    let sum: f64 = inc.candidates.iter().map(|c| c.confidence).sum();
    assert!(sum <= 1.0 + 1e-9 && inc.candidates[0].confidence > inc.candidates[1].confidence);
    assert!(
        inc.title
            .starts_with("db-1 (database): 4 anomalies on 4 entities, error burst on db-1"),
        "{}",
        inc.title
    );
}

fn star() -> Topology {
    let mut nodes = vec![
        ("router-1".to_string(), Router),
        ("core-sw-1".to_string(), Switch),
    ];
    let mut edges = vec![("core-sw-1".to_string(), "router-1".to_string(), DependsOn)];
    for i in 0..10 {
        nodes.push((format!("srv-{i}"), Server));
        edges.push((format!("srv-{i}"), "core-sw-1".to_string(), DependsOn));
    }
    let nodes: Vec<(&str, NodeKind)> = nodes.iter().map(|(n, k)| (n.as_str(), *k)).collect();
    let edges: Vec<(&str, &str, EdgeKind)> = edges
        .iter()
        .map(|(a, b, k)| (a.as_str(), b.as_str(), *k))
        .collect();
    topo(&nodes, &edges)
}

fn star_anomalies() -> Vec<Anomaly> {
    let mut out = vec![anomaly("core-sw-1", "cisco_ios", ErrorBurst, T0, 0.7)];
    for i in 0..10 {
        out.push(anomaly(
            &format!("srv-{i}"),
            "linux",
            ErrorBurst,
            T0 + MIN + i * 1_000,
            0.75 + i as f64 * 0.02,
        ));
    }
    out
}

#[test]
fn star_behind_a_core_switch_is_one_incident_rooted_at_the_switch() {
    let t = star();
    let mut c = Correlator::new(CorrelationSettings::default());
    // A lone leaf server fault is a P3.
    let lone = c.observe(
        &anomaly("srv-0", "linux", ErrorBurst, T0 - 60 * MIN, 0.7),
        &t,
    );
    let lone_inc = c.snapshot(&lone.incident, &t).unwrap();
    assert_eq!(
        (lone_inc.priority, lone_inc.blast_radius),
        (Priority::P3, 1)
    );
    let joined: Vec<Joined> = star_anomalies().iter().map(|a| c.observe(a, &t)).collect();
    assert!(joined.iter().all(|j| j.incident == joined[0].incident));
    assert_eq!(c.open(), 1, "the lone fault resolved long ago");
    let inc = c.snapshot(&joined[0].incident, &t).unwrap();
    assert_eq!(root(&inc), "core-sw-1");
    assert_eq!(
        inc.root_cause.as_ref().unwrap().kind.as_deref(),
        Some("switch")
    );
    assert!(inc.blast_radius >= 11, "{}", inc.blast_radius);
    assert_eq!(inc.priority, Priority::P1);
    assert_eq!(inc.members.len(), 11);
    assert_eq!(chain(&inc, "srv-9"), ["core-sw-1", "srv-9"]);
}

#[test]
fn database_shared_by_services_is_the_root() {
    let mut nodes = vec![("db-1".to_string(), Database)];
    let mut edges = Vec::new();
    for i in 1..=3 {
        nodes.push((format!("server-{i}"), Server));
        nodes.push((format!("svc-{i}"), Service));
        edges.push((format!("server-{i}"), format!("svc-{i}"), Hosts));
        edges.push((format!("svc-{i}"), "db-1".to_string(), DependsOn));
    }
    let nodes: Vec<(&str, NodeKind)> = nodes.iter().map(|(n, k)| (n.as_str(), *k)).collect();
    let edges: Vec<(&str, &str, EdgeKind)> = edges
        .iter()
        .map(|(a, b, k)| (a.as_str(), b.as_str(), *k))
        .collect();
    let t = topo(&nodes, &edges);
    let mut c = Correlator::new(CorrelationSettings::default());
    c.observe(
        &anomaly("db-1", "postgres", LatencyDegradation, T0, 0.8),
        &t,
    );
    for i in 1..=3 {
        c.observe(
            &anomaly(&format!("svc-{i}"), "java", ErrorBurst, T0 + MIN, 0.9),
            &t,
        );
        c.observe(
            &anomaly(
                &format!("server-{i}"),
                "linux",
                VolumeSpike,
                T0 + 2 * MIN,
                0.85,
            ),
            &t,
        );
    }
    let changes = c.changes(&t);
    assert_eq!(changes.len(), 1);
    let inc = &changes[0];
    assert_eq!(root(inc), "db-1");
    assert_eq!(inc.members.len(), 7);
    assert_eq!(chain(inc, "svc-2"), ["db-1", "svc-2"]);
    assert_eq!(
        chain(inc, "server-2"),
        ["db-1", "server-2"],
        "a host is not downstream of the db"
    );
}

#[test]
fn unrelated_faults_at_two_sites_are_two_incidents() {
    let mut t = topo(
        &[
            ("a-sw", Switch),
            ("a-web", Server),
            ("b-sw", Switch),
            ("b-db", Database),
        ],
        &[("a-web", "a-sw", DependsOn), ("b-db", "b-sw", DependsOn)],
    );
    for (id, site) in [
        ("a-sw", "ams"),
        ("a-web", "ams"),
        ("b-sw", "fra"),
        ("b-db", "fra"),
    ] {
        let mut spec = t.remove_node(id).unwrap();
        spec.site = Some(site.to_string());
        t.add_node(spec).unwrap();
    }
    t.add_edge(EdgeSpec::new("a-web", "a-sw", DependsOn))
        .unwrap();
    t.add_edge(EdgeSpec::new("b-db", "b-sw", DependsOn))
        .unwrap();
    let mut c = Correlator::new(CorrelationSettings::default());
    c.observe(&anomaly("a-sw", "cisco_ios", ErrorBurst, T0, 0.9), &t);
    c.observe(&anomaly("b-sw", "cisco_ios", ErrorBurst, T0, 0.9), &t);
    c.observe(&anomaly("a-web", "linux", ErrorBurst, T0 + MIN, 0.8), &t);
    c.observe(&anomaly("b-db", "postgres", ErrorBurst, T0 + MIN, 0.8), &t);
    let changes = c.changes(&t);
    assert_eq!(changes.len(), 2);
    let mut roots: Vec<(&str, &[String])> = changes
        .iter()
        .map(|i| (root(i), i.sites.as_slice()))
        .collect();
    roots.sort();
    assert_eq!(
        roots,
        [
            ("a-sw", &["ams".to_string()][..]),
            ("b-sw", &["fra".to_string()][..])
        ]
    );
    assert!(changes.iter().all(|i| i.members.len() == 2));
}

#[test]
fn repeats_extend_the_member() {
    let t = star();
    let mut c = Correlator::new(CorrelationSettings::default());
    let j = c.observe(&anomaly("srv-1", "linux", ErrorBurst, T0, 0.7), &t);
    c.observe(&anomaly("srv-1", "linux", ErrorBurst, T0 + MIN, 0.96), &t);
    let again = c.observe(
        &anomaly("srv-1", "linux", ErrorBurst, T0 + 2 * MIN, 0.8),
        &t,
    );
    assert_eq!(again.incident, j.incident);
    let inc = c.snapshot(&j.incident, &t).unwrap();
    assert_eq!(inc.members.len(), 1);
    assert_eq!(inc.anomalies, 3);
    let m = &inc.members[0];
    assert_eq!(
        (
            m.first_seen,
            m.last_seen,
            m.anomalies,
            m.score,
            m.severity_id
        ),
        (T0, T0 + 3 * MIN, 3, 0.96, 5)
    );
    assert_eq!(
        m.last_anomaly,
        Anomaly::id_for("srv-1", ErrorBurst, T0 + 2 * MIN)
    );
    assert_eq!(c.counters().deduplicated, 2);
    assert_eq!(c.counters().incidents_created, 1);
}

#[test]
fn a_bridging_anomaly_merges_into_the_earlier_incident() {
    let t = topo(
        &[
            ("a", Server),
            ("b", Server),
            ("c", Switch),
            ("d", Server),
            ("e", Server),
        ],
        &[
            ("a", "b", DependsOn),
            ("b", "c", DependsOn),
            ("d", "c", DependsOn),
            ("e", "d", DependsOn),
        ],
    );
    let mut c = Correlator::new(CorrelationSettings::default());
    let first = c.observe(&anomaly("a", "linux", ErrorBurst, T0, 0.8), &t);
    let second = c.observe(&anomaly("e", "linux", ErrorBurst, T0 + 10_000, 0.8), &t);
    assert_ne!(first.incident, second.incident, "a and e are 4 hops apart");
    assert_eq!(c.open(), 2);
    c.changes(&t);
    let bridge = c.observe(&anomaly("c", "cisco_ios", ErrorBurst, T0 + 20_000, 0.9), &t);
    assert_eq!(bridge.incident, first.incident);
    assert_eq!(bridge.merged, vec![second.incident.clone()]);
    assert_eq!(c.open(), 1);
    assert_eq!(c.counters().merges, 1);
    let changes = c.changes(&t);
    assert_eq!(changes.len(), 2);
    let survivor = changes.iter().find(|i| i.id == first.incident).unwrap();
    let merged = changes.iter().find(|i| i.id == second.incident).unwrap();
    assert_eq!(merged.status, IncidentStatus::Merged);
    assert_eq!(merged.merged_into.as_deref(), Some(first.incident.as_str()));
    assert_eq!(merged.to_json()["status"], "merged");
    assert_eq!(survivor.status, IncidentStatus::Open);
    assert_eq!(survivor.members.len(), 3);
    assert_eq!(survivor.anomalies, 3);
    assert_eq!(root(survivor), "c");
    // the merged incident's members now live in the survivor
    let repeat = c.observe(&anomaly("e", "linux", ErrorBurst, T0 + 30_000, 0.8), &t);
    assert_eq!(repeat.incident, first.incident);
    assert_eq!(c.counters().deduplicated, 1);
    assert_eq!(
        c.snapshot(&second.incident, &t).unwrap().anomalies,
        1,
        "a merged incident keeps its count"
    );
}

#[test]
fn incidents_resolve_after_quiet_event_time() {
    let t = star();
    let mut c = Correlator::new(CorrelationSettings::default());
    let j = c.observe(&anomaly("srv-1", "linux", ErrorBurst, T0, 0.7), &t);
    let last = T0 + MIN;
    c.changes(&t);
    c.advance(last + 600_000);
    assert_eq!(c.open(), 1, "quiet exactly quiet_ms is still open");
    assert!(c.changes(&t).is_empty());
    c.advance(last);
    c.advance(last + 600_001);
    assert_eq!(c.open(), 0);
    let changes = c.changes(&t);
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].id, j.incident);
    assert_eq!(changes[0].status, IncidentStatus::Resolved);
    assert_eq!(changes[0].resolved_at, Some(last + 600_000));
    assert_eq!(c.counters().resolved, 1);
    // a later fault on the same node opens a new incident
    let k = c.observe(
        &anomaly("srv-1", "linux", ErrorBurst, last + 700_000, 0.7),
        &t,
    );
    assert!(k.new && k.incident != j.incident);
}

#[test]
fn an_out_of_window_anomaly_on_the_same_node_opens_a_new_incident() {
    let t = star();
    let mut c = Correlator::new(CorrelationSettings::default());
    let j = c.observe(&anomaly("srv-1", "linux", ErrorBurst, T0, 0.7), &t);
    // ends 6 min after the member's last_seen: outside the 5 min window, but before quiet.
    let k = c.observe(
        &anomaly("srv-1", "linux", VolumeSpike, T0 + 7 * MIN, 0.7),
        &t,
    );
    assert!(k.new);
    assert_ne!(k.incident, j.incident);
    assert_eq!(c.open(), 2);
}

#[test]
fn unknown_entities_correlate_by_shared_attributes_only() {
    let t = star();
    let mut c = Correlator::new(CorrelationSettings::default());
    let x = c.observe(&anomaly("app-x", "nginx", ErrorBurst, T0, 0.8), &t);
    let y = c.observe(&anomaly("app-y", "nginx", ErrorBurst, T0 + 1_000, 0.8), &t);
    assert_eq!(y.incident, x.incident, "same class and kind");
    let z = c.observe(
        &anomaly("app-z", "haproxy", ErrorBurst, T0 + 2_000, 0.8),
        &t,
    );
    assert!(z.new, "another class");
    let w = c.observe(&anomaly("app-w", "nginx", VolumeSpike, T0 + 3_000, 0.8), &t);
    assert!(w.new, "another kind");
    let x2 = c.observe(
        &anomaly("app-x", "nginx", AnomalyKind::BruteForce, T0 + 4_000, 0.8),
        &t,
    );
    assert_eq!(x2.incident, x.incident, "same entity");
    let known = c.observe(&anomaly("srv-1", "nginx", ErrorBurst, T0 + 5_000, 0.8), &t);
    assert_eq!(
        known.incident, x.incident,
        "a known node joins unknown members by shared attributes"
    );
    let inc = c.snapshot(&x.incident, &t).unwrap();
    assert_eq!(inc.members.len(), 4);
    assert!(inc
        .members
        .iter()
        .filter(|m| m.entity != "srv-1")
        .all(|m| m.node.is_none()));
    assert_eq!(c.open(), 3);
}

#[test]
fn a_noisy_node_whose_dependency_failed_first_is_not_the_root() {
    let t = topo(
        &[
            ("db-1", Database),
            ("app-1", Server),
            ("web-1", Server),
            ("web-2", Server),
        ],
        &[
            ("app-1", "db-1", DependsOn),
            ("web-1", "app-1", DependsOn),
            ("web-2", "app-1", DependsOn),
        ],
    );
    let mut c = Correlator::new(CorrelationSettings::default());
    c.observe(
        &anomaly("db-1", "postgres", LatencyDegradation, T0, 0.6),
        &t,
    );
    c.observe(&anomaly("app-1", "java", ErrorBurst, T0 + 30_000, 0.99), &t);
    c.observe(&anomaly("web-1", "nginx", ErrorBurst, T0 + MIN, 0.8), &t);
    c.observe(&anomaly("web-2", "nginx", ErrorBurst, T0 + MIN, 0.8), &t);
    let inc = &c.changes(&t)[0];
    assert_eq!(root(inc), "db-1");
    assert_eq!(inc.candidates[1].entity, "app-1");
    assert_eq!(inc.candidates[1].reasons.healthy_dependencies, 0.0);
    assert_eq!(inc.candidates[0].reasons.healthy_dependencies, 1.0);
    assert_eq!(chain(inc, "web-2"), ["db-1", "app-1", "web-2"]);
}

#[test]
fn a_silent_intermediate_node_still_links_members_for_the_walk() {
    // web -> silent switch -> router: the router still gathers the walk's mass.
    let t = topo(
        &[
            ("router-1", Router),
            ("sw-1", Switch),
            ("web-1", Server),
            ("web-2", Server),
        ],
        &[
            ("sw-1", "router-1", DependsOn),
            ("web-1", "sw-1", DependsOn),
            ("web-2", "sw-1", DependsOn),
        ],
    );
    let mut c = Correlator::new(CorrelationSettings::default());
    c.observe(&anomaly("web-1", "nginx", ErrorBurst, T0, 0.9), &t);
    c.observe(&anomaly("web-2", "nginx", LatencyDegradation, T0, 0.9), &t);
    c.observe(&anomaly("router-1", "cisco_ios", ErrorBurst, T0, 0.7), &t);
    let inc = &c.changes(&t)[0];
    assert_eq!(root(inc), "router-1");
    assert_eq!(inc.root_cause.as_ref().unwrap().reasons.walk, 1.0);
    assert_eq!(chain(inc, "web-1"), ["router-1", "sw-1", "web-1"]);
}

#[test]
fn full_open_table_resolves_the_stalest_incident() {
    let t = Topology::new();
    let mut c = Correlator::new(CorrelationSettings {
        max_open: 2,
        ..Default::default()
    });
    let a = c.observe(&anomaly("x-1", "c1", ErrorBurst, T0, 0.8), &t);
    c.observe(&anomaly("x-2", "c2", ErrorBurst, T0 + 1_000, 0.8), &t);
    c.observe(&anomaly("x-3", "c3", ErrorBurst, T0 + 2_000, 0.8), &t);
    assert_eq!(c.open(), 2);
    assert_eq!(c.counters().forced_resolutions, 1);
    assert_eq!(
        c.snapshot(&a.incident, &t).unwrap().status,
        IncidentStatus::Resolved
    );
    c.changes(&t);
    c.forget_closed(0);
    assert!(c.snapshot(&a.incident, &t).is_none());
    assert_eq!(c.open_ids().len(), 2);
}

#[test]
fn same_anomalies_give_identical_json() {
    let run = || {
        let t = star();
        let mut c = Correlator::new(CorrelationSettings::default());
        let mut out = Vec::new();
        for a in star_anomalies() {
            c.observe(&a, &t);
            out.extend(
                c.changes(&t)
                    .iter()
                    .map(|i| serde_json::to_string(i).unwrap()),
            );
        }
        c.advance(T0 + 60 * MIN);
        out.extend(
            c.changes(&t)
                .iter()
                .map(|i| serde_json::to_string(i).unwrap()),
        );
        out
    };
    let (a, b) = (run(), run());
    assert_eq!(a.len(), 12);
    assert_eq!(a, b);
}

#[test]
fn the_json_form_has_the_public_names() {
    let t = star();
    let mut c = Correlator::new(CorrelationSettings::default());
    let j = c.observe(
        &anomaly("core-sw-1", "cisco_ios", ErrorBurst, T0, 0.81234),
        &t,
    );
    let v = c.snapshot(&j.incident, &t).unwrap().to_json();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    let mut want = vec![
        "id",
        "status",
        "merged_into",
        "priority",
        "title",
        "root_cause",
        "candidates",
        "chains",
        "members",
        "anomalies",
        "first_seen",
        "last_seen",
        "resolved_at",
        "blast_radius",
        "severity_id",
        "severity",
        "score",
        "sites",
        "revision",
    ];
    let mut keys = keys;
    keys.sort();
    want.sort();
    assert_eq!(keys, want);
    assert!(j.incident.starts_with("inc-") && j.incident.len() == 20);
    assert_eq!(v["status"], "open");
    assert_eq!(v["priority"], "P1");
    assert_eq!(v["score"], 0.812);
    assert_eq!(v["severity"], "High");
    assert_eq!(v["root_cause"]["node"], "core-sw-1");
    let reasons = v["root_cause"]["reasons"].as_object().unwrap();
    assert!(["walk", "healthy_dependencies", "onset", "score"]
        .iter()
        .all(|k| reasons.contains_key(*k)));
    let member = v["members"][0].as_object().unwrap();
    for k in [
        "entity",
        "node",
        "kind",
        "first_seen",
        "last_seen",
        "score",
        "severity_id",
        "anomalies",
        "last_anomaly",
    ] {
        assert!(member.contains_key(k), "member has {k}");
    }
    assert_eq!(v["members"][0]["kind"], "error_burst");
}

#[test]
fn a_learned_flow_edge_brings_two_nodes_close() {
    let mut t = topo(&[("web-9", Server), ("cache-9", Server)], &[]);
    let (web, cache) = (t.resolve("web-9").unwrap(), t.resolve("cache-9").unwrap());
    let mut apart = Correlator::new(CorrelationSettings::default());
    apart.observe(&anomaly("cache-9", "redis", ErrorBurst, T0, 0.8), &t);
    apart.observe(&anomaly("web-9", "nginx", ErrorBurst, T0 + MIN, 0.8), &t);
    assert_eq!(apart.open(), 2, "no edge: two incidents");
    let learned = t.learn_flow(web, cache, T0, &crate::correlate::LearnSettings::default());
    assert_eq!(learned, crate::correlate::Learned::Added);
    let mut close = Correlator::new(CorrelationSettings::default());
    let a = close.observe(&anomaly("cache-9", "redis", ErrorBurst, T0, 0.8), &t);
    let b = close.observe(&anomaly("web-9", "nginx", ErrorBurst, T0 + MIN, 0.8), &t);
    assert_eq!(a.incident, b.incident);
    let inc = close.snapshot(&a.incident, &t).unwrap();
    assert_eq!(
        root(&inc),
        "cache-9",
        "web-9 talks to cache-9, which failed first"
    );
    assert_eq!(
        a.incident,
        incident_id(&Anomaly::id_for("cache-9", ErrorBurst, T0), 0)
    );
}

#[test]
fn a_score_that_is_not_a_number_counts_as_zero() {
    let t = star();
    let mut c = Correlator::new(CorrelationSettings::default());
    let j = c.observe(
        &anomaly("core-sw-1", "cisco_ios", ErrorBurst, T0, f64::NAN),
        &t,
    );
    c.observe(&anomaly("srv-1", "linux", ErrorBurst, T0, 0.9), &t);
    let inc = c.snapshot(&j.incident, &t).unwrap();
    assert_eq!(
        inc.members
            .iter()
            .find(|m| m.entity == "core-sw-1")
            .unwrap()
            .score,
        0.0
    );
    assert!(inc.candidates.iter().all(|c| c.confidence.is_finite()));
    assert!(!serde_json::to_string(&inc)
        .unwrap()
        .contains("null,\"reasons\""));
}

#[test]
fn forget_closed_keeps_unreported_and_recent_incidents() {
    let t = Topology::new();
    let mut c = Correlator::new(CorrelationSettings::default());
    let ids: Vec<String> = (0..3)
        .map(|i| {
            c.observe(
                &anomaly(
                    &format!("x-{i}"),
                    &format!("c{i}"),
                    ErrorBurst,
                    T0 + i * 1_000,
                    0.8,
                ),
                &t,
            )
            .incident
        })
        .collect();
    c.advance(T0 + 60 * MIN);
    c.forget_closed(0);
    assert!(
        ids.iter().all(|id| c.snapshot(id, &t).is_some()),
        "resolutions not yet reported stay"
    );
    assert_eq!(c.changes(&t).len(), 3);
    c.forget_closed(1);
    let kept: Vec<&String> = ids
        .iter()
        .filter(|id| c.snapshot(id, &t).is_some())
        .collect();
    assert_eq!(kept, [&ids[2]], "the most recently closed is kept");
}

#[test]
fn an_entity_whose_class_changed_never_reaches_a_closed_or_forgotten_incident() {
    let t = star();
    let mut c = Correlator::new(CorrelationSettings::default());
    // app-x is first seen as nginx, then (forgotten by the scorer and met again) as haproxy.
    let first = c.observe(&anomaly("app-x", "nginx", ErrorBurst, T0, 0.8), &t);
    let repeat = c.observe(
        &anomaly("app-x", "haproxy", ErrorBurst, T0 + 10_000, 0.8),
        &t,
    );
    assert_eq!(repeat.incident, first.incident, "a repeat of the member");
    // The incident resolves and is forgotten.
    c.advance(T0 + 3_600_000);
    assert_eq!(c.open(), 0);
    let _ = c.changes(&t);
    c.forget_closed(0);
    // Another haproxy error burst: a new incident, no panic, nothing folded into the old one.
    let later = c.observe(
        &anomaly("app-y", "haproxy", ErrorBurst, T0 + 3_700_000, 0.8),
        &t,
    );
    assert!(later.new);
    assert_ne!(later.incident, first.incident);
    assert_eq!(c.open(), 1);
}
