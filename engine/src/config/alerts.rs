//! `[alerts]`: alerts from anomalies, their notifications, silences' home, runbooks.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// `[alerts]`: the alert manager.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertsConfig {
    /// Turn anomalies into alerts and notify. Default true (it needs `score.enabled`).
    pub enabled: bool,
    /// The SQLite database of alerts, their history, silences and runbook runs; a relative
    /// path is under `engine.data_dir`. Default `"alerts.db"`.
    pub database: PathBuf,
    /// A live alert whose anomaly is not seen again for this many seconds is resolved by the
    /// system (a resolved notification follows). 0: never. Default 1800.
    pub resolve_after_secs: u64,
    /// Targets notified of alerts whose rules named no target. Default none.
    pub default_targets: Vec<String>,
    /// Resolved alerts kept in memory for the API (all stay in the database). Default 10000.
    pub resolved_kept: usize,
    /// `[alerts.group]`: notification grouping, as Alertmanager's route.
    pub group: crate::alert::dispatch::GroupConfig,
    /// `[[alerts.inhibit_rules]]`: alerts that mute others while they fire.
    pub inhibit_rules: Vec<InhibitRuleConfig>,
    /// `[[alerts.runbooks]]`: a runbook per alert kind (a URL and an optional action).
    pub runbooks: Vec<crate::runbook::RunbookSpec>,
    /// `[alerts.remediation]`: what remediation actions may run.
    pub remediation: crate::runbook::RemediationPolicy,
}

impl Default for AlertsConfig {
    fn default() -> Self {
        AlertsConfig {
            enabled: true,
            database: PathBuf::from("alerts.db"),
            resolve_after_secs: 1800,
            default_targets: Vec::new(),
            resolved_kept: 10_000,
            group: crate::alert::dispatch::GroupConfig::default(),
            inhibit_rules: Vec::new(),
            runbooks: Vec::new(),
            remediation: crate::runbook::RemediationPolicy::default(),
        }
    }
}

/// `[[alerts.inhibit_rules]]`: alerts that mute others while they fire.
    pub inhibit_rules: Vec<InhibitRuleConfig>,
    /// `[[alerts.runbooks]]`: a runbook per alert kind (a URL and an optional action).
    pub runbooks: Vec<crate::runbook::RunbookSpec>,
    /// `[alerts.remediation]`: what remediation actions may run.
    pub remediation: crate::runbook::RemediationPolicy,
}

impl Default for AlertsConfig {
    fn default() -> Self {
        AlertsConfig {
            enabled: true,
            database: PathBuf::from("alerts.db"),
            resolve_after_secs: 1800,
            default_targets: Vec::new(),
            resolved_kept: 10_000,
            group: crate::alert::dispatch::GroupConfig::default(),
            inhibit_rules: Vec::new(),
            runbooks: Vec::new(),
            remediation: crate::runbook::RemediationPolicy::default(),
        }
    }
}

/// `[alerts.group]`: Alertmanager's grouping and timing.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertGroupConfig {
    /// Labels whose values make a group: `entity`, `kind`, `class`, `priority`, `severity`,
    /// `receiver`, `rule`; `["..."]` groups by all labels. Default `["entity"]`.
    pub group_by: Vec<String>,
    /// How long a new group waits for more alerts before its first notification, ms.
    /// Default 30000.
    pub group_wait_ms: u64,
    /// How long a group waits before notifying about alerts added to it or resolved, ms.
    /// Default 300000 (5 minutes).
    pub group_interval_ms: u64,
    /// How long before a notification about alerts still firing is sent again, ms. Default
    /// 14400000 (4 hours).
    pub repeat_interval_ms: u64,
    /// Notify when alerts are resolved. Default true.
    pub send_resolved: bool,
    /// Most groups kept. Default 10000.
    pub max_groups: usize,
}

impl Default for AlertGroupConfig {
    fn default() -> Self {
        AlertGroupConfig {
            group_by: vec!["entity".to_owned()],
            group_wait_ms: 30_000,
            group_interval_ms: 300_000,
            repeat_interval_ms: 4 * 3_600_000,
            send_resolved: true,
            max_groups: 10_000,
        }
    }
}

/// `[[alerts.inhibit_rules]]`: while an alert matching `source_matchers` fires, alerts
/// matching `target_matchers` with the same values of the `equal` labels are not notified.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct InhibitRuleConfig {
    /// Matchers (`name="v"`, `!=`, `=~`, `!~`) the muting alert must meet.
    pub source_matchers: Vec<String>,
    /// Matchers the muted alert must meet.
    pub target_matchers: Vec<String>,
    /// Labels that must have the same value in both.
    #[serde(default)]
    pub equal: Vec<String>,
}

/// Checks of `[alerts]` that need no other section: (field, message) pairs.
pub(super) fn check(a: &AlertsConfig) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for e in a.group.validate() {
        out.push((format!("alerts.group.{}", e.field), e.message));
    }
    if a.resolved_kept == 0 {
        out.push(("alerts.resolved_kept".into(), "must be at least 1".into()));
    }
    for (i, rule) in a.inhibit_rules.iter().enumerate() {
        for (key, list) in [("source_matchers", &rule.source_matchers), ("target_matchers", &rule.target_matchers)] {
            if list.is_empty() {
                out.push((format!("alerts.inhibit_rules[{i}].{key}"), "must have at least one matcher".into()));
            }
            for (j, m) in list.iter().enumerate() {
                if let Err(e) = crate::alert::labels::LabelMatcher::parse(m) {
                    out.push((format!("alerts.inhibit_rules[{i}].{key}[{j}]"), e.to_string()));
                }
            }
        }
    }
    if let Err(errors) = crate::runbook::validate(&a.runbooks, &a.remediation) {
        for e in errors {
            out.push(("alerts.runbooks".into(), e));
        }
    }
    out
}
