//! Correlation quality against a scenario's truth: how far the engine folds its anomalies into
//! incidents (compression), and whether each fault's incident names the fault's root as its
//! root cause, first (accuracy@1) or among the first three candidates (accuracy@3).
//!
//! Incidents are read from the engine's `GET /api/v1/incidents?status=all` (an object with an
//! `incidents` array, or a bare array). Merged incidents moved their members and anomalies into
//! another one and are left out of every figure. An engine without that resource (404) gets
//! "not measured" with the reason, never a made-up figure.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::detection::GRACE_MS;
use crate::engine_api::EngineApi;
use crate::plan::{FaultTruth, Truth};

/// The most incidents the engine answers in one page.
pub const INCIDENT_LIMIT: usize = 10_000;

/// A root-cause candidate as the harness needs it.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct CandidateLite {
    pub entity: String,
    #[serde(default)]
    pub node: Option<String>,
    #[serde(default)]
    pub confidence: f64,
}

impl CandidateLite {
    fn names(&self, entity: &str) -> bool {
        self.entity == entity || self.node.as_deref() == Some(entity)
    }
}

/// An incident member (one entity's anomalies) as the harness needs it.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct MemberLite {
    pub entity: String,
    #[serde(default)]
    pub node: Option<String>,
    /// Event time, ms.
    pub first_seen: i64,
    /// Event time, ms.
    pub last_seen: i64,
}

/// An incident as the harness needs it; the engine's other fields are ignored.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct IncidentLite {
    pub id: String,
    /// `open`, `resolved` or `merged`.
    pub status: String,
    #[serde(default)]
    pub root_cause: Option<CandidateLite>,
    /// Best first; `candidates[0]` is the root cause.
    #[serde(default)]
    pub candidates: Vec<CandidateLite>,
    #[serde(default)]
    pub members: Vec<MemberLite>,
    #[serde(default)]
    pub anomalies: u64,
    /// Event time, ms.
    #[serde(default)]
    pub first_seen: i64,
}

impl IncidentLite {
    fn merged(&self) -> bool {
        self.status == "merged"
    }

    /// The ranked candidates, falling back to the root cause alone.
    fn ranked(&self) -> Vec<&CandidateLite> {
        if self.candidates.is_empty() {
            self.root_cause.iter().collect()
        } else {
            self.candidates.iter().collect()
        }
    }

    /// The incident's root cause: `root_cause`, else the first candidate.
    fn root(&self) -> Option<&CandidateLite> {
        self.root_cause.as_ref().or(self.candidates.first())
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RankedCandidate {
    pub entity: String,
    pub confidence: f64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FaultCorrelation {
    pub id: String,
    pub kind: String,
    pub root: String,
    /// The incident the fault landed in; none is a miss.
    pub incident: Option<String>,
    /// That incident's root-cause candidates, best first.
    pub candidates: Vec<RankedCandidate>,
    /// 1-based rank of the true root among them.
    pub rank: Option<usize>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Correlation {
    pub measured: bool,
    /// Incidents that are not merged into another.
    pub incidents: usize,
    /// Anomalies folded into those incidents.
    pub anomalies: u64,
    /// Anomalies `/api/v1/anomalies` lists, for reference (absent when it was not reachable).
    pub anomalies_listed: Option<u64>,
    /// `1 - incidents / anomalies`; absent when there are no anomalies.
    pub compression: Option<f64>,
    /// Faults expected to raise anomalies (noisy nodes are not).
    pub faults: usize,
    pub hits_at_1: usize,
    pub hits_at_3: usize,
    /// Absent when there are no such faults.
    pub accuracy_at_1: Option<f64>,
    pub accuracy_at_3: Option<f64>,
    /// Faults no incident covers.
    pub missed: Vec<String>,
    /// Faults whose incident is also another fault's (wrongly merged).
    pub merged_faults: usize,
    /// Incidents whose root cause is a noisy but healthy node.
    pub noisy_roots: usize,
    pub per_fault: Vec<FaultCorrelation>,
}

/// The incident a fault landed in: among non-merged incidents, the one with the most members on
/// the fault's root or impacted entities seen inside its window (ties: earliest first seen).
fn incident_of<'i>(f: &FaultTruth, incidents: &'i [IncidentLite]) -> Option<&'i IncidentLite> {
    let entities: HashSet<&str> = std::iter::once(f.root.as_str())
        .chain(f.impacted.iter().map(|i| i.entity.as_str()))
        .collect();
    let (from, to) = (f.start_ms, f.end_ms + GRACE_MS);
    let matching = |inc: &IncidentLite| {
        inc.members
            .iter()
            .filter(|m| {
                (entities.contains(m.entity.as_str())
                    || m.node.as_deref().is_some_and(|n| entities.contains(n)))
                    && m.first_seen <= to
                    && m.last_seen >= from
            })
            .count()
    };
    incidents
        .iter()
        .filter(|inc| !inc.merged())
        .map(|inc| (matching(inc), inc))
        .filter(|(n, _)| *n > 0)
        // Most members first, then the earliest first seen.
        .min_by_key(|(n, inc)| (std::cmp::Reverse(*n), inc.first_seen))
        .map(|(_, inc)| inc)
}

fn share(part: usize, whole: usize) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// Scores incidents against the truth; `anomalies_listed` is `/api/v1/anomalies`'s count when
/// it was reachable.
pub fn score(
    truth: &Truth,
    incidents: &[IncidentLite],
    anomalies_listed: Option<u64>,
) -> Correlation {
    let live: Vec<&IncidentLite> = incidents.iter().filter(|i| !i.merged()).collect();
    let anomalies: u64 = live.iter().map(|i| i.anomalies).sum();
    let compression = (anomalies > 0).then(|| 1.0 - live.len() as f64 / anomalies as f64);

    let mut per_fault = Vec::new();
    for f in truth.faults.iter().filter(|f| f.expect_anomaly) {
        let inc = incident_of(f, incidents);
        let ranked = inc.map(IncidentLite::ranked).unwrap_or_default();
        per_fault.push(FaultCorrelation {
            id: f.id.clone(),
            kind: f.kind.clone(),
            root: f.root.clone(),
            incident: inc.map(|i| i.id.clone()),
            candidates: ranked
                .iter()
                .map(|c| RankedCandidate {
                    entity: c.entity.clone(),
                    confidence: c.confidence,
                })
                .collect(),
            rank: ranked.iter().position(|c| c.names(&f.root)).map(|p| p + 1),
        });
    }
    let hits_at = |k: usize| {
        per_fault
            .iter()
            .filter(|f| f.rank.is_some_and(|r| r <= k))
            .count()
    };
    let (hits_at_1, hits_at_3) = (hits_at(1), hits_at(3));
    let mut faults_per_incident: HashMap<&str, usize> = HashMap::new();
    for f in &per_fault {
        if let Some(id) = &f.incident {
            *faults_per_incident.entry(id.as_str()).or_default() += 1;
        }
    }
    let merged_faults = per_fault
        .iter()
        .filter(|f| {
            f.incident
                .as_deref()
                .is_some_and(|id| faults_per_incident[id] > 1)
        })
        .count();
    let noisy: HashSet<&str> = truth
        .faults
        .iter()
        .filter(|f| !f.expect_anomaly)
        .map(|f| f.root.as_str())
        .collect();
    let noisy_roots = live
        .iter()
        .filter(|i| {
            i.root().is_some_and(|c| {
                noisy.contains(c.entity.as_str())
                    || c.node.as_deref().is_some_and(|n| noisy.contains(n))
            })
        })
        .count();
    let faults = per_fault.len();
    Correlation {
        measured: true,
        incidents: live.len(),
        anomalies,
        anomalies_listed,
        compression,
        faults,
        hits_at_1,
        hits_at_3,
        accuracy_at_1: share(hits_at_1, faults),
        accuracy_at_3: share(hits_at_3, faults),
        missed: per_fault
            .iter()
            .filter(|f| f.incident.is_none())
            .map(|f| f.id.clone())
            .collect(),
        merged_faults,
        noisy_roots,
        per_fault,
    }
}

/// Reads the incident list of an engine's answer: `(incidents, skipped entries, total)`.
/// Entries that are not incidents are skipped and counted.
pub fn parse_incidents(v: &Value) -> (Vec<IncidentLite>, usize, Option<u64>) {
    let list = v
        .as_array()
        .or_else(|| v.get("incidents").and_then(Value::as_array));
    let mut out = Vec::new();
    let mut skipped = 0;
    for i in list.into_iter().flatten() {
        match IncidentLite::deserialize(i) {
            Ok(inc) => out.push(inc),
            Err(_) => skipped += 1,
        }
    }
    (out, skipped, v.get("total").and_then(Value::as_u64))
}

/// Asks the engine for its incidents and scores them; the JSON for the report.
/// `anomalies_listed` is the count detection read from `/api/v1/anomalies`, if it could.
pub fn measure(api: &EngineApi, truth: &Truth, anomalies_listed: Option<u64>) -> Value {
    let path = format!("/api/v1/incidents?status=all&limit={INCIDENT_LIMIT}");
    match api.get_json(&path) {
        Ok(Some(v)) => {
            let (incidents, skipped, total) = parse_incidents(&v);
            let c = score(truth, &incidents, anomalies_listed);
            if c.compression.is_none() {
                return json!({
                    "measured": false,
                    "reason": format!(
                        "no anomalies in the engine's {} incidents, nothing to correlate",
                        c.incidents
                    ),
                    "incidents": c.incidents,
                    "anomalies_listed": anomalies_listed,
                });
            }
            let mut out = serde_json::to_value(c).unwrap_or(Value::Null);
            out["skipped_entries"] = json!(skipped);
            // A page that holds fewer incidents than the engine has scores a part only.
            out["truncated"] = json!(total.is_some_and(|t| t > (incidents.len() + skipped) as u64));
            out
        }
        Ok(None) => json!({
            "measured": false,
            "reason": "the engine has no /api/v1/incidents (no correlation in this build)",
        }),
        Err(e) => json!({
            "measured": false,
            "reason": format!("{e:#}"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Impact;

    fn fault(id: &str, kind: &str, root: &str, start: i64, end: i64, deps: &[&str]) -> FaultTruth {
        FaultTruth {
            id: id.into(),
            kind: kind.into(),
            root: root.into(),
            start_ms: start,
            end_ms: end,
            impacted: std::iter::once(root)
                .chain(deps.iter().copied())
                .map(|e| Impact {
                    entity: e.into(),
                    onset_ms: start + 60_000,
                    signal: "latency".into(),
                })
                .collect(),
            expect_anomaly: kind != "noisy_node",
            source_ip: None,
        }
    }

    fn truth() -> Truth {
        Truth {
            scenario: "t".into(),
            seed: 1,
            start_ms: 0,
            end_ms: 2 * 3_600_000,
            time_scale: 60.0,
            faults: vec![
                fault(
                    "f1",
                    "device_failure",
                    "rtr",
                    600_000,
                    1_200_000,
                    &["fw", "web"],
                ),
                fault("f2", "device_failure", "db", 3_000_000, 3_600_000, &["app"]),
                fault("f3", "noisy_node", "noisy", 0, 7_200_000, &[]),
            ],
        }
    }

    fn cand(entity: &str, confidence: f64) -> CandidateLite {
        CandidateLite {
            entity: entity.into(),
            node: Some(entity.into()),
            confidence,
        }
    }

    fn member(entity: &str, first: i64, last: i64) -> MemberLite {
        MemberLite {
            entity: entity.into(),
            node: Some(entity.into()),
            first_seen: first,
            last_seen: last,
        }
    }

    fn incident(
        id: &str,
        status: &str,
        ranked: &[(&str, f64)],
        members: Vec<MemberLite>,
        anomalies: u64,
    ) -> IncidentLite {
        let candidates: Vec<CandidateLite> = ranked.iter().map(|&(e, c)| cand(e, c)).collect();
        IncidentLite {
            id: id.into(),
            status: status.into(),
            root_cause: candidates.first().cloned(),
            first_seen: members.iter().map(|m| m.first_seen).min().unwrap_or(0),
            candidates,
            members,
            anomalies,
        }
    }

    fn perfect() -> Vec<IncidentLite> {
        vec![
            incident(
                "inc-1",
                "resolved",
                &[("rtr", 0.8), ("fw", 0.1)],
                vec![
                    member("rtr", 600_000, 700_000),
                    member("fw", 660_000, 900_000),
                    member("web", 720_000, 1_000_000),
                ],
                40,
            ),
            incident(
                "inc-2",
                "open",
                &[("db", 0.7)],
                vec![
                    member("db", 3_000_000, 3_100_000),
                    member("app", 3_060_000, 3_500_000),
                ],
                20,
            ),
        ]
    }

    #[test]
    fn a_perfect_ranking_scores_one_at_one_and_at_three() {
        let c = score(&truth(), &perfect(), Some(64));
        assert_eq!((c.faults, c.hits_at_1, c.hits_at_3), (2, 2, 2));
        assert_eq!((c.accuracy_at_1, c.accuracy_at_3), (Some(1.0), Some(1.0)));
        assert_eq!(c.per_fault[0].incident.as_deref(), Some("inc-1"));
        assert_eq!(c.per_fault[0].rank, Some(1));
        assert_eq!(
            c.per_fault[0].candidates[1],
            RankedCandidate {
                entity: "fw".into(),
                confidence: 0.1
            }
        );
        assert!(c.missed.is_empty());
        assert_eq!((c.merged_faults, c.noisy_roots), (0, 0));
        assert_eq!(c.anomalies_listed, Some(64));
    }

    #[test]
    fn the_truth_ranked_second_misses_at_one_and_hits_at_three() {
        let mut incs = perfect();
        incs[0].candidates = vec![cand("fw", 0.5), cand("rtr", 0.4), cand("web", 0.1)];
        incs[0].root_cause = Some(cand("fw", 0.5));
        let c = score(&truth(), &incs, None);
        assert_eq!(c.per_fault[0].rank, Some(2));
        assert_eq!((c.hits_at_1, c.hits_at_3), (1, 2));
        assert_eq!((c.accuracy_at_1, c.accuracy_at_3), (Some(0.5), Some(1.0)));
        // Truth fourth or absent: a miss at three too.
        incs[0].candidates = vec![cand("fw", 0.5), cand("web", 0.4), cand("x", 0.1)];
        let c = score(&truth(), &incs, None);
        assert_eq!(c.per_fault[0].rank, None);
        assert_eq!(c.hits_at_3, 1);
    }

    #[test]
    fn merged_incidents_are_ignored() {
        let mut incs = perfect();
        // A merged incident with more matching members and a wrong root: not the fault's.
        incs.push(incident(
            "inc-0",
            "merged",
            &[("web", 0.9)],
            vec![
                member("rtr", 600_000, 610_000),
                member("fw", 600_000, 610_000),
                member("web", 600_000, 610_000),
                member("noisy", 600_000, 610_000),
            ],
            7,
        ));
        let c = score(&truth(), &incs, None);
        assert_eq!(c.per_fault[0].incident.as_deref(), Some("inc-1"));
        assert_eq!(c.accuracy_at_1, Some(1.0));
        assert_eq!((c.incidents, c.anomalies), (2, 60));
    }

    #[test]
    fn a_fault_without_an_incident_is_a_miss() {
        let mut incs = perfect();
        // inc-2 lies before f2's window (members end before it starts): it does not count.
        for m in &mut incs[1].members {
            m.first_seen = 100_000;
            m.last_seen = 2_999_999;
        }
        let c = score(&truth(), &incs, None);
        assert_eq!(c.missed, ["f2"]);
        assert_eq!(c.per_fault[1].incident, None);
        assert_eq!(c.per_fault[1].rank, None);
        assert_eq!((c.hits_at_1, c.hits_at_3), (1, 1));
        assert_eq!(c.accuracy_at_1, Some(0.5));
        // The grace after the end still counts; one ms past it does not.
        let mut late = perfect();
        late[1].members = vec![member("app", 3_600_000 + GRACE_MS, 4_000_000)];
        assert!(score(&truth(), &late, None).missed.is_empty());
        late[1].members = vec![member("app", 3_600_001 + GRACE_MS, 4_000_000)];
        assert_eq!(score(&truth(), &late, None).missed, ["f2"]);
    }

    #[test]
    fn the_incident_with_most_matching_members_wins_and_shared_ones_count_as_merged() {
        let mut incs = perfect();
        incs.push(incident(
            "inc-3",
            "open",
            &[("fw", 0.6)],
            vec![member("fw", 600_000, 700_000)],
            3,
        ));
        let c = score(&truth(), &incs, None);
        assert_eq!(c.per_fault[0].incident.as_deref(), Some("inc-1"));
        assert_eq!(c.merged_faults, 0);
        // One incident holds both faults: both are wrongly merged.
        let both = vec![incident(
            "inc-9",
            "open",
            &[("rtr", 0.9), ("db", 0.5)],
            vec![
                member("rtr", 600_000, 700_000),
                member("db", 3_000_000, 3_100_000),
            ],
            10,
        )];
        let c = score(&truth(), &both, None);
        assert_eq!(c.merged_faults, 2);
        assert_eq!(c.per_fault[1].rank, Some(2));
    }

    #[test]
    fn compression_is_one_minus_incidents_over_anomalies() {
        let c = score(&truth(), &perfect(), None);
        assert_eq!((c.incidents, c.anomalies), (2, 60));
        let want = 1.0 - 2.0 / 60.0;
        assert!((c.compression.unwrap() - want).abs() < 1e-12);
        let none = score(&truth(), &[], None);
        assert_eq!(none.compression, None);
        assert_eq!(none.missed, ["f1", "f2"]);
        assert_eq!(none.accuracy_at_1, Some(0.0));
    }

    #[test]
    fn an_incident_rooted_on_a_noisy_node_is_counted() {
        let mut incs = perfect();
        incs.push(incident(
            "inc-4",
            "open",
            &[("noisy", 0.4)],
            vec![member("noisy", 10_000, 20_000)],
            2,
        ));
        incs.push(incident(
            "inc-5",
            "merged",
            &[("noisy", 0.4)],
            vec![member("noisy", 30_000, 40_000)],
            1,
        ));
        let c = score(&truth(), &incs, None);
        assert_eq!(c.noisy_roots, 1);
        assert_eq!(c.faults, 2, "a noisy node is not a fault to rank");
    }

    #[test]
    fn engine_answers_are_read_and_bad_entries_skipped() {
        let v = json!({"incidents": [
            {"id": "inc-a", "status": "open", "priority": "P2", "title": "x",
             "root_cause": {"entity": "rtr", "node": "rtr", "kind": "router", "confidence": 0.61,
                            "reasons": {"walk": 1}},
             "candidates": [{"entity": "rtr", "node": null, "kind": null, "confidence": 0.61}],
             "chains": [{"impacted": "web", "path": ["rtr", "web"]}],
             "members": [{"entity": "web", "node": "web", "kind": "error_burst", "first_seen": 5,
                          "last_seen": 9, "score": 0.9, "severity_id": 4, "anomalies": 3,
                          "last_anomaly": "an-1"}],
             "anomalies": 12, "first_seen": 5, "last_seen": 9, "merged_into": null},
            {"status": "open"}
        ], "total": 3});
        let (list, skipped, total) = parse_incidents(&v);
        assert_eq!((list.len(), skipped, total), (1, 1, Some(3)));
        assert_eq!(list[0].candidates[0].node, None);
        assert_eq!(list[0].members[0].last_seen, 9);
        assert_eq!(list[0].anomalies, 12);
        let (list, _, total) = parse_incidents(&json!([{"id": "i", "status": "merged"}]));
        assert!(list[0].merged());
        assert_eq!(total, None);
    }
}
