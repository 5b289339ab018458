//! The rules file as written (`config/rules.toml`): serde types, checked and compiled by
//! [`super::RuleSet::compile`].

use serde::{Deserialize, Serialize};

use crate::alert::Priority;

/// A whole rules file: `[[rules]]` tables. A file with no rules is valid (everything goes to
/// the default targets).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulesFile {
    /// The rules, in file order.
    #[serde(default)]
    pub rules: Vec<RuleSpec>,
}

/// One routing rule as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// Unique, non-empty name (alerts and the API show it).
    pub name: String,
    /// Evaluation order: 1 first; rules of equal priority keep their file order.
    pub priority: u32,
    /// Matchers, all of which must hold (none: the rule matches every event), e.g.
    /// `severity >= "High"`, `src_endpoint.ip in ["10.0.0.0/8"]`. See `docs/rules.md`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub matchers: Vec<String>,
    /// Target names the event is sent to (added to other matching rules' targets).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<String>,
    /// The alert priority; the first matching rule that sets one wins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set_priority: Option<Priority>,
    /// Drop the event (no alert, no targets) and stop matching.
    #[serde(default, skip_serializing_if = "is_false")]
    pub drop: bool,
    /// Let at most `count` events per fingerprint through per interval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throttle: Option<ThrottleSpec>,
    /// A runbook name attached to the alert; the first matching rule's wins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runbook: Option<String>,
    /// Keep matching the following rules after this one matched.
    #[serde(rename = "continue", default, skip_serializing_if = "is_false")]
    pub continue_matching: bool,
}

/// `throttle = { count = 10, interval_secs = 60, by = ["device.hostname"] }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThrottleSpec {
    /// Events let through per fingerprint and interval; at least 1.
    pub count: u32,
    /// The fixed window, in seconds of receive time: 1 to [`MAX_INTERVAL_SECS`].
    pub interval_secs: u64,
    /// Fields whose values make the fingerprint (with the rule). Default `["tocsin.entity"]`;
    /// `[]` throttles the rule as a whole. At most [`MAX_BY_FIELDS`].
    #[serde(default = "default_by")]
    pub by: Vec<String>,
}

/// Longest throttle interval: one year.
pub const MAX_INTERVAL_SECS: u64 = 366 * 24 * 3600;
/// Most fields in a throttle's `by`.
pub const MAX_BY_FIELDS: usize = 8;

fn default_by() -> Vec<String> {
    vec!["tocsin.entity".to_owned()]
}

fn is_false(b: &bool) -> bool {
    !*b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_table_parses_with_defaults() {
        let file: RulesFile = toml::from_str(
            r#"
            [[rules]]
            name = "page"
            priority = 1
            matchers = ['class_name = "Detection Finding"']
            targets = ["pagerduty"]
            set_priority = "P1"
            throttle = { count = 10, interval_secs = 60 }
            runbook = "restart-service"
            continue = true

            [[rules]]
            name = "rest"
            priority = 9
            "#,
        )
        .unwrap();
        let r = &file.rules[0];
        assert_eq!(r.set_priority, Some(Priority::P1));
        assert!(r.continue_matching && !r.drop);
        assert_eq!(
            r.throttle,
            Some(ThrottleSpec {
                count: 10,
                interval_secs: 60,
                by: vec!["tocsin.entity".to_owned()]
            })
        );
        assert!(file.rules[1].matchers.is_empty() && file.rules[1].targets.is_empty());
        let back: RulesFile = toml::from_str(&toml::to_string(&file).unwrap()).unwrap();
        assert_eq!(back, file);
        assert_eq!(toml::from_str::<RulesFile>("").unwrap().rules.len(), 0);
    }
}
