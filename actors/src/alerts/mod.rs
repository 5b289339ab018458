//! The alert manager: turns anomalies into alerts and tells people.
//!
//! Router shards hand it every Detection Finding with the rules' decision
//! ([`AlertCandidate`]): the correlator's incidents (`alerts.on = "incidents"`, the default) or
//! the scorers' anomalies (`"anomalies"`, or when correlation is off). It keeps one alert per
//! fingerprint (the incident; or the entity and anomaly kind) in an [`AlertBook`], persists every alert and every state change in SQLite before anything is
//! acknowledged, mutes what silences and inhibition rules say, groups notifications the way
//! Alertmanager does ([`Dispatcher`]) and sends them to the alert's notification targets.
//! Operators act on alerts through the API (acknowledge, suppress, resolve, assign,
//! remediate); acknowledge and resolve reach PagerDuty and Opsgenie at once.

mod manager;
mod messages;

pub use manager::{AlertManager, AlertManagerSettings, AlertMetrics};
pub use messages::*;

use std::sync::Arc;
use tocsin_engine::alert::Priority;
use tocsin_engine::correlate::Incident;
use tocsin_engine::score::anomaly::Anomaly;

/// What a finding reports.
#[derive(Debug, Clone)]
pub enum AlertSubject {
    /// An anomaly: one alert per entity and anomaly kind.
    Anomaly(Box<Anomaly>),
    /// A state of an incident: one alert per incident, updated as it grows, resolved when the
    /// incident resolves or is merged into another.
    Incident(Arc<Incident>),
}

/// A finding on its way to becoming (or updating) an alert, with what the routing rules
/// decided for it.
#[derive(Debug, Clone)]
pub struct AlertCandidate {
    /// What the finding reports.
    pub subject: AlertSubject,
    /// The priority a rule set; `None`: the incident's own, or from the anomaly's severity.
    pub priority: Option<Priority>,
    /// The targets (bit per `[[targets]]` index) the matching rules named; the alert's
    /// notifications go to those of them that take notifications. 0: no rule named any, so
    /// `alerts.default_targets`.
    pub receivers: u64,
    /// The runbook a rule attached; `None`: the runbook for the alert's kind (the anomaly's
    /// kind, or `incident`), if any.
    pub runbook: Option<String>,
    /// The first rule that matched.
    pub rule: Option<String>,
}

/// Candidates from one router batch.
#[derive(Debug)]
pub struct AlertBatch(pub Vec<AlertCandidate>);

/// The priority of an anomaly no rule gave one: by its severity (Critical P1, High P2,
/// Medium P3, else P4).
pub fn default_priority(anomaly: &Anomaly) -> Priority {
    use tocsin_engine::schema::severity;
    match anomaly.severity_id() {
        s if s >= severity::CRITICAL => Priority::P1,
        severity::HIGH => Priority::P2,
        severity::MEDIUM => Priority::P3,
        _ => Priority::P4,
    }
}
