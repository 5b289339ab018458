//! `[alerts]`: alerts from anomalies, their notifications, inhibition and runbooks.

use crate::alert::dispatch::GroupConfig;
use crate::runbook::{RemediationPolicy, RunbookSpec};
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
    /// `[alerts.group]`: notification grouping and timing, as Alertmanager's route:
    /// `group_by` (default `["entity"]`; `["..."]`: all labels), `group_wait_ms` (30000),
    /// `group_interval_ms` (300000), `repeat_interval_ms` (14400000), `send_resolved`
    /// (true), `max_groups` (10000).
    pub group: GroupConfig,
    /// `[[alerts.inhibit_rules]]`: alerts that mute others while they fire.
    pub inhibit_rules: Vec<InhibitRuleConfig>,
    /// `[[alerts.runbooks]]`: a runbook per alert kind (a URL and an optional action).
    pub runbooks: Vec<RunbookSpec>,
    /// `[alerts.remediation]`: what remediation actions may run.
    pub remediation: RemediationPolicy,
    /// What becomes an alert: `"incidents"` (default: one alert per incident, updated as it
    /// grows; anomalies still reach the targets as findings) or `"anomalies"` (one alert per
    /// entity and anomaly kind). With `correlation.enabled = false` there are no incidents,
    /// so alerts come from anomalies whatever this says.
    pub on: AlertSource,
}

/// What becomes an alert (`alerts.on`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertSource {
    /// One alert per incident.
    #[default]
    Incidents,
    /// One alert per entity and anomaly kind.
    Anomalies,
}

impl Default for AlertsConfig {
    fn default() -> Self {
        AlertsConfig {
            enabled: true,
            database: PathBuf::from("alerts.db"),
            resolve_after_secs: 1800,
            default_targets: Vec::new(),
            resolved_kept: 10_000,
            group: GroupConfig::default(),
            inhibit_rules: Vec::new(),
            runbooks: Vec::new(),
            remediation: RemediationPolicy::default(),
            on: AlertSource::default(),
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
        for (key, list) in [
            ("source_matchers", &rule.source_matchers),
            ("target_matchers", &rule.target_matchers),
        ] {
            if list.is_empty() {
                out.push((
                    format!("alerts.inhibit_rules[{i}].{key}"),
                    "must have at least one matcher".into(),
                ));
            }
            for (j, m) in list.iter().enumerate() {
                if let Err(e) = crate::alert::labels::LabelMatcher::parse(m) {
                    out.push((
                        format!("alerts.inhibit_rules[{i}].{key}[{j}]"),
                        e.to_string(),
                    ));
                }
            }
        }
    }
    if let Err(errors) = crate::runbook::validate(&a.runbooks, &a.remediation) {
        for e in errors {
            out.push(("alerts".into(), e));
        }
    }
    out
}
