//! The alert lifecycle: what an alert is, its statuses and which transitions are legal.
//!
//! An alert is opened by the first anomaly or incident with a given fingerprint and collects the
//! later ones (deduplication) until it is resolved. [`AlertBook`] holds the alerts in memory and
//! applies the transitions; [`crate::alert::store`] persists them.
//!
//! Transition table (anything else is [`LifecycleError::IllegalTransition`]):
//!
//! | from \ to     | open           | acknowledged  | suppressed | resolved |
//! |---------------|----------------|---------------|------------|----------|
//! | open          | -              | `acknowledge` | `suppress` | `resolve`, auto-resolve |
//! | acknowledged  | `reopen`, escalation | -       | `suppress` | `resolve`, auto-resolve |
//! | suppressed    | `reopen`       | -             | -          | `resolve`, auto-resolve |
//! | resolved      | final: the next occurrence of the fingerprint opens a new alert |||
//!
//! Escalation: a repeat of an acknowledged alert at a more urgent priority reopens it
//! ([`Observed::Reopened`]), so it is notified again. A suppressed alert stays suppressed on
//! repeats (an operator or a silence chose to mute it). `assign` works on any live alert;
//! `record` (remediation runs and other notes) on any alert, resolved included.

use serde::{Deserialize, Serialize};

use super::labels::Labels;
use super::Priority;

pub use super::book::{AlertBook, DEFAULT_MAX_RESOLVED, SYSTEM_ACTOR};
pub use super::stats::{Mttx, PriorityStats};

/// Where an alert stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertStatus {
    /// Firing, nobody has taken it.
    Open,
    /// Someone is on it.
    Acknowledged,
    /// Over: fixed by someone or not seen for the auto-resolve time.
    Resolved,
    /// Muted by an operator or a silence; still collects repeats.
    Suppressed,
}

impl AlertStatus {
    /// Every status.
    pub const ALL: [AlertStatus; 4] = [
        AlertStatus::Open,
        AlertStatus::Acknowledged,
        AlertStatus::Resolved,
        AlertStatus::Suppressed,
    ];

    /// "open", "acknowledged", "resolved", "suppressed".
    pub fn as_str(self) -> &'static str {
        match self {
            AlertStatus::Open => "open",
            AlertStatus::Acknowledged => "acknowledged",
            AlertStatus::Resolved => "resolved",
            AlertStatus::Suppressed => "suppressed",
        }
    }

    /// Parses the lowercase names (any case, surrounding space ignored).
    pub fn parse(s: &str) -> Option<AlertStatus> {
        let s = s.trim();
        AlertStatus::ALL
            .into_iter()
            .find(|st| st.as_str().eq_ignore_ascii_case(s))
    }

    /// True for every status but resolved: the alert still collects its fingerprint's repeats.
    pub fn is_live(self) -> bool {
        self != AlertStatus::Resolved
    }
}

impl std::fmt::Display for AlertStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Most anomaly ids an alert remembers (the latest ones).
pub const MAX_SOURCE_IDS: usize = 16;

/// One alert: a deduplicated, prioritised, owned problem.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// "al-" and 16 lowercase hex digits.
    pub id: String,
    /// The deduplication key (of the anomaly or incident).
    pub fingerprint: u64,
    /// One-line summary.
    pub title: String,
    /// The entity (host, service, user) it is about.
    pub entity: String,
    /// What kind of problem (detector or rule name).
    pub kind: String,
    /// The most urgent priority seen.
    pub priority: Priority,
    /// Where it stands.
    pub status: AlertStatus,
    /// Who owns it.
    pub assignee: Option<String>,
    /// Labels silences and inhibition rules match on.
    pub labels: Labels,
    /// The runbook's name, if a rule attached one.
    pub runbook: Option<String>,
    /// Link to the runbook's text.
    pub runbook_url: Option<String>,
    /// The highest anomaly score seen.
    pub score: f64,
    /// How many times the fingerprint was seen.
    pub occurrences: u64,
    /// The latest anomaly ids (at most [`MAX_SOURCE_IDS`], oldest first).
    pub source_ids: Vec<String>,
    /// When it was opened (ms since the epoch).
    pub created_ms: i64,
    /// When anything on it last changed.
    pub updated_ms: i64,
    /// When its fingerprint was last seen.
    pub last_seen_ms: i64,
    /// When it was first acknowledged.
    pub acknowledged_ms: Option<i64>,
    /// When it was resolved.
    pub resolved_ms: Option<i64>,
}

/// One observation of a fingerprint, from an anomaly or incident: the input of
/// [`AlertBook::observe`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertInput {
    /// The deduplication key.
    pub fingerprint: u64,
    /// One-line summary (kept from the first observation).
    pub title: String,
    /// The entity it is about.
    pub entity: String,
    /// What kind of problem.
    pub kind: String,
    /// Priority from routing.
    pub priority: Priority,
    /// Labels (kept from the first observation).
    pub labels: Labels,
    /// Runbook name (fills an alert that has none).
    pub runbook: Option<String>,
    /// Runbook link (fills an alert that has none).
    pub runbook_url: Option<String>,
    /// Anomaly score; a non-finite score counts as 0.
    pub score: f64,
    /// The anomaly's id; empty: none to record.
    pub source_id: String,
    /// When it was seen (ms since the epoch).
    pub seen_ms: i64,
}

/// One line of an alert's audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// The alert.
    pub alert_id: String,
    /// When (ms since the epoch).
    pub at_ms: i64,
    /// Who: a user name, or "system" for the engine.
    pub actor: String,
    /// created, repeated, acknowledged, resolved, suppressed, assigned, reopened, remediated,
    /// priority, or another word given to [`AlertBook::record`].
    pub action: String,
    /// Status before, for status changes.
    pub from: Option<AlertStatus>,
    /// Status after, for status changes.
    pub to: Option<AlertStatus>,
    /// Free text: reason, new assignee, priority change, command output summary.
    pub detail: String,
}

/// What [`AlertBook::observe`] did with an observation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Observed {
    /// Opened a new alert (first time, or the previous one was resolved).
    New,
    /// Added to the live alert of that fingerprint.
    Repeat,
    /// Added to an acknowledged alert at a more urgent priority, which reopened it.
    Reopened,
}

/// Which alerts [`AlertBook::list`] returns.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlertFilter {
    /// Only this priority.
    pub priority: Option<Priority>,
    /// Only this status.
    pub status: Option<AlertStatus>,
    /// Only this entity (exact).
    pub entity: Option<String>,
    /// Only alerts created at or after this time.
    pub since_ms: Option<i64>,
    /// At most this many (newest first); 0: no limit.
    pub limit: usize,
}

impl AlertFilter {
    /// Whether an alert passes the filter (the limit aside).
    pub fn accepts(&self, a: &Alert) -> bool {
        self.priority.is_none_or(|p| a.priority == p)
            && self.status.is_none_or(|s| a.status == s)
            && self.entity.as_deref().is_none_or(|e| a.entity == e)
            && self.since_ms.is_none_or(|t| a.created_ms >= t)
    }
}

/// Why a lifecycle operation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LifecycleError {
    /// No alert with that id (never existed, or a resolved one forgotten).
    #[error("no alert {id}")]
    UnknownAlert {
        /// The id asked for.
        id: String,
    },
    /// The transition is not in the table.
    #[error("alert {id} is {from}: cannot {action}")]
    IllegalTransition {
        /// The alert.
        id: String,
        /// Its status.
        from: AlertStatus,
        /// What was asked (acknowledge, resolve, suppress, reopen, assign).
        action: &'static str,
    },
    /// `record` was given an empty action or one that only a transition may write.
    #[error("alert {id}: `{action}` cannot be recorded directly")]
    ReservedAction {
        /// The alert.
        id: String,
        /// The refused action.
        action: String,
    },
}

/// The target status of a lifecycle action from a given status, or None when the table forbids
/// it. `action` is one of "acknowledge", "resolve", "suppress", "reopen".
pub fn transition(from: AlertStatus, action: &str) -> Option<AlertStatus> {
    use AlertStatus::*;
    match (from, action) {
        (Open, "acknowledge") => Some(Acknowledged),
        (Open | Acknowledged, "suppress") => Some(Suppressed),
        (Open | Acknowledged | Suppressed, "resolve") => Some(Resolved),
        (Acknowledged | Suppressed, "reopen") => Some(Open),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_names_round_trip() {
        for s in AlertStatus::ALL {
            assert_eq!(AlertStatus::parse(s.as_str()), Some(s));
            let json = serde_json::to_string(&s).unwrap();
            assert_eq!(json, format!("\"{}\"", s.as_str()));
        }
        assert_eq!(
            AlertStatus::parse(" ACKNOWLEDGED "),
            Some(AlertStatus::Acknowledged)
        );
        assert_eq!(AlertStatus::parse("closed"), None);
    }

    #[test]
    fn transition_table() {
        use AlertStatus::*;
        assert_eq!(transition(Open, "acknowledge"), Some(Acknowledged));
        assert_eq!(transition(Acknowledged, "acknowledge"), None);
        assert_eq!(transition(Suppressed, "acknowledge"), None);
        assert_eq!(transition(Resolved, "acknowledge"), None);
        assert_eq!(transition(Acknowledged, "suppress"), Some(Suppressed));
        assert_eq!(transition(Suppressed, "suppress"), None);
        assert_eq!(transition(Suppressed, "resolve"), Some(Resolved));
        assert_eq!(transition(Resolved, "resolve"), None);
        assert_eq!(transition(Suppressed, "reopen"), Some(Open));
        assert_eq!(transition(Open, "reopen"), None);
        assert_eq!(transition(Resolved, "reopen"), None);
    }
}
