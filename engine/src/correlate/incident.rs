//! The incident snapshot: what the correlator reports for one incident. Its JSON form is a
//! public API (alerts, the control plane and the bench read it); keep the names.

use serde::Serialize;

use crate::alert::Priority;

/// Where an incident is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentStatus {
    /// Still collecting anomalies.
    Open,
    /// Its members were quiet long enough (or it was closed to bound memory).
    Resolved,
    /// Folded into another incident (`merged_into`).
    Merged,
}

impl IncidentStatus {
    /// "open", "resolved" or "merged".
    pub fn as_str(self) -> &'static str {
        match self {
            IncidentStatus::Open => "open",
            IncidentStatus::Resolved => "resolved",
            IncidentStatus::Merged => "merged",
        }
    }
}

/// One incident, as reported.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Incident {
    /// `inc-` and 16 hex digits, from the first anomaly's id.
    pub id: String,
    pub status: IncidentStatus,
    /// The survivor when `status` is merged.
    pub merged_into: Option<String>,
    pub priority: Priority,
    /// Root and counts, one line.
    pub title: String,
    /// The best candidate (the first of `candidates`).
    pub root_cause: Option<Candidate>,
    /// The best root cause candidates, most likely first.
    pub candidates: Vec<Candidate>,
    /// How the root cause reaches each other member.
    pub chains: Vec<Chain>,
    /// Members by first_seen, entity, kind.
    pub members: Vec<Member>,
    /// Every anomaly folded in, repeats included.
    pub anomalies: u64,
    /// Event time, ms.
    pub first_seen: i64,
    pub last_seen: i64,
    pub resolved_at: Option<i64>,
    /// Member entities plus everything downstream of the root in the topology.
    pub blast_radius: u64,
    pub severity_id: u8,
    pub severity: String,
    /// Highest member score, 3 decimals.
    pub score: f64,
    /// Site tags of member nodes, sorted.
    pub sites: Vec<String>,
    /// Increments on every change.
    pub revision: u64,
}

impl Incident {
    /// The JSON form.
    pub fn to_json(&self) -> serde_json::Value {
        // Strings, numbers and enums with plain names always serialise.
        serde_json::to_value(self).expect("an Incident always serialises to JSON")
    }
}

/// A root cause candidate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Candidate {
    pub entity: String,
    /// The topology node id, when the entity is in the topology.
    pub node: Option<String>,
    /// The node's kind.
    pub kind: Option<String>,
    /// Share of the combined evidence, 0..1 over all candidates, 3 decimals.
    pub confidence: f64,
    pub reasons: Reasons,
}

/// The parts of a candidate's evidence, each 0..1, 3 decimals.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reasons {
    /// Personalised random walk over the anomalous subgraph (max 1).
    pub walk: f64,
    /// Weighted share of its dependencies that are not anomalous.
    pub healthy_dependencies: f64,
    /// 1 for the earliest onset, 0 for the latest.
    pub onset: f64,
    /// Its highest anomaly score.
    pub score: f64,
}

/// The path from the root cause to one impacted member.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Chain {
    pub impacted: String,
    /// Root first, impacted last.
    pub path: Vec<String>,
}

/// One (entity, anomaly kind) of an incident.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Member {
    pub entity: String,
    /// The topology node id, when the entity is in the topology.
    pub node: Option<String>,
    /// The anomaly kind.
    pub kind: String,
    pub first_seen: i64,
    pub last_seen: i64,
    /// Highest score, 3 decimals.
    pub score: f64,
    pub severity_id: u8,
    /// Anomalies folded into this member.
    pub anomalies: u64,
    /// The id of the last anomaly folded in.
    pub last_anomaly: String,
}

/// Rounds to 3 decimals (the JSON form's precision); never writes `-0.0`.
pub(crate) fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0 + 0.0
}
