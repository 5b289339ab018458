//! Inhibition: a firing alert that matches a rule's source matchers mutes the alerts that match
//! its target matchers and agree with it on the `equal` labels, with Alertmanager's semantics:
//!
//! - an absent label counts as the empty string, so two alerts both lacking an `equal` label
//!   agree on it;
//! - an alert never inhibits itself: when the target also matches the source matchers, source
//!   alerts that also match the target matchers are not used (Alertmanager's "two-sided match"
//!   exclusion), so a rule whose sides overlap cannot make alerts mute each other.
//!
//! Configured in TOML:
//!
//! ```toml
//! [[inhibit_rules]]
//! source_matchers = ['kind="host_down"']
//! target_matchers = ['kind=~"service_.*"']
//! equal = ["entity"]
//! ```

use serde::{Deserialize, Serialize};

use super::labels::{all_match, LabelMatcher, Labels};

/// One inhibition rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InhibitRule {
    /// What a muting (source) alert must match; at least one matcher.
    pub source_matchers: Vec<LabelMatcher>,
    /// What a muted (target) alert must match; at least one matcher.
    pub target_matchers: Vec<LabelMatcher>,
    /// Labels the source and the target must have the same value for.
    #[serde(default)]
    pub equal: Vec<String>,
}

impl InhibitRule {
    /// Refuses rules with an empty side (they would select every alert). No I/O.
    pub fn validate(&self) -> Result<(), String> {
        let mut problems = Vec::new();
        if self.source_matchers.is_empty() {
            problems.push("source_matchers must have at least one matcher");
        }
        if self.target_matchers.is_empty() {
            problems.push("target_matchers must have at least one matcher");
        }
        if self.equal.iter().any(|n| n.trim().is_empty()) {
            problems.push("equal must not hold an empty label name");
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
        }
    }

    /// Whether `source` (a firing alert) inhibits `target` under this rule.
    pub fn inhibits(&self, source: &Labels, target: &Labels) -> bool {
        if !all_match(&self.target_matchers, target) || !all_match(&self.source_matchers, source) {
            return false;
        }
        let two_sided = all_match(&self.source_matchers, target);
        if two_sided && all_match(&self.target_matchers, source) {
            return false;
        }
        self.equal
            .iter()
            .all(|n| source.get(n).unwrap_or("") == target.get(n).unwrap_or(""))
    }
}

/// Whether any firing alert inhibits `target` under any rule. `firing` may include `target`
/// itself; it never inhibits itself.
pub fn inhibited<'a>(
    target: &Labels,
    mut firing: impl Iterator<Item = &'a Labels>,
    rules: &[InhibitRule],
) -> bool {
    let rules: Vec<&InhibitRule> = rules
        .iter()
        .filter(|r| all_match(&r.target_matchers, target))
        .collect();
    if rules.is_empty() {
        return false;
    }
    firing.any(|src| rules.iter().any(|r| r.inhibits(src, target)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(pairs: &[(&str, &str)]) -> Labels {
        Labels::new(pairs.iter().copied())
    }

    #[derive(Deserialize)]
    struct File {
        inhibit_rules: Vec<InhibitRule>,
    }

    fn rules(toml_text: &str) -> Vec<InhibitRule> {
        toml::from_str::<File>(toml_text).unwrap().inhibit_rules
    }

    const HOST_DOWN: &str = r#"
        [[inhibit_rules]]
        source_matchers = ['kind="host_down"']
        target_matchers = ['kind=~"service_.*"']
        equal = ["entity"]
    "#;

    #[test]
    fn reads_rules_from_toml() {
        let r = rules(HOST_DOWN);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].source_matchers[0].to_string(), r#"kind="host_down""#);
        assert_eq!(r[0].equal, vec!["entity"]);
        assert!(r[0].validate().is_ok());
        let bad = toml::from_str::<File>(
            "[[inhibit_rules]]\nsource_matchers = ['kind=\"x']\ntarget_matchers = []",
        );
        let msg = bad.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(msg.contains("unterminated quoted value"), "{msg}");
        let empty = rules("[[inhibit_rules]]\nsource_matchers = []\ntarget_matchers = []");
        assert_eq!(
            empty[0].validate().unwrap_err(),
            "source_matchers must have at least one matcher; target_matchers must have at least one matcher"
        );
        assert!(toml::from_str::<File>(
            "[[inhibit_rules]]\nsource_matchers = []\ntarget_matchers = []\nextra = 1"
        )
        .is_err());
    }

    #[test]
    fn source_mutes_targets_with_equal_labels_only() {
        let r = rules(HOST_DOWN);
        let down = l(&[("kind", "host_down"), ("entity", "db1")]);
        let svc_db1 = l(&[("kind", "service_slow"), ("entity", "db1")]);
        let svc_db2 = l(&[("kind", "service_slow"), ("entity", "db2")]);
        let other = l(&[("kind", "disk_full"), ("entity", "db1")]);
        let firing = [
            down.clone(),
            svc_db1.clone(),
            svc_db2.clone(),
            other.clone(),
        ];
        assert!(inhibited(&svc_db1, firing.iter(), &r));
        assert!(!inhibited(&svc_db2, firing.iter(), &r), "entity differs");
        assert!(!inhibited(&other, firing.iter(), &r), "not a target");
        assert!(
            !inhibited(&down, firing.iter(), &r),
            "the source itself is no target"
        );
        assert!(
            !inhibited(&svc_db1, [svc_db1.clone()].iter(), &r),
            "no source firing"
        );
    }

    #[test]
    fn absent_equal_labels_count_as_equal_empty() {
        let r = rules(HOST_DOWN);
        let down = l(&[("kind", "host_down")]);
        let svc = l(&[("kind", "service_slow")]);
        let svc_db1 = l(&[("kind", "service_slow"), ("entity", "db1")]);
        assert!(inhibited(&svc, [down.clone()].iter(), &r));
        assert!(!inhibited(&svc_db1, [down].iter(), &r));
    }

    #[test]
    fn an_alert_does_not_inhibit_itself_or_its_twins() {
        // Both sides match every "severity" alert: a naive check would mute each by itself.
        let r = rules(
            r#"
            [[inhibit_rules]]
            source_matchers = ['severity=~"critical|warning"']
            target_matchers = ['severity=~"critical|warning"']
            equal = ["entity"]
        "#,
        );
        let a = l(&[("severity", "critical"), ("entity", "db1")]);
        let b = l(&[("severity", "warning"), ("entity", "db1")]);
        assert!(!inhibited(&a, [a.clone()].iter(), &r));
        assert!(!inhibited(&a, [a.clone(), b.clone()].iter(), &r));
        assert!(!inhibited(&b, [a.clone(), b.clone()].iter(), &r));

        // The usual critical-mutes-warning rule still works when sides differ.
        let r = rules(
            r#"
            [[inhibit_rules]]
            source_matchers = ['severity="critical"']
            target_matchers = ['severity="warning"']
            equal = ["entity"]
        "#,
        );
        assert!(inhibited(&b, [a.clone(), b.clone()].iter(), &r));
        assert!(!inhibited(&a, [a.clone(), b.clone()].iter(), &r));
    }

    #[test]
    fn rule_without_equal_mutes_across_entities() {
        let r = rules(
            r#"
            [[inhibit_rules]]
            source_matchers = ['kind="datacenter_down"']
            target_matchers = ['kind!="datacenter_down"']
        "#,
        );
        let dc = l(&[("kind", "datacenter_down"), ("entity", "dc1")]);
        let x = l(&[("kind", "service_slow"), ("entity", "web9")]);
        assert!(inhibited(&x, [dc].iter(), &r));
        assert!(!inhibited(&x, std::iter::empty(), &r));
    }
}
