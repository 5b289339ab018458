//! PagerDuty Events API v2 bodies (`POST https://events.pagerduty.com/v2/enqueue`), one per
//! alert. PagerDuty answers 202 to an accepted event and deduplicates on `dedup_key`.

use super::{rfc3339_ms, truncate_chars, AlertView, NotifyAction};
use crate::alert::Priority;
use serde_json::{json, Value};

/// PagerDuty's limit on `payload.summary`, in characters.
pub const SUMMARY_MAX: usize = 1024;

/// PagerDuty's `payload.severity` for a priority.
pub fn severity(p: Priority) -> &'static str {
    match p {
        Priority::P1 => "critical",
        Priority::P2 => "error",
        Priority::P3 => "warning",
        Priority::P4 => "info",
    }
}

/// The Events v2 body for `alert`. A trigger carries the full payload; acknowledge and resolve
/// carry only `routing_key`, `event_action` and `dedup_key`. `source` is the configured source
/// (the alert's entity when empty).
pub fn event_body(routing_key: &str, source: &str, alert: &AlertView) -> Value {
    match alert.action {
        NotifyAction::Acknowledge | NotifyAction::Resolve => json!({
            "routing_key": routing_key,
            "event_action": alert.action.as_str(),
            "dedup_key": alert.dedup_key,
        }),
        NotifyAction::Trigger => {
            let summary = if alert.title.is_empty() {
                &alert.summary
            } else {
                &alert.title
            };
            let source = if source.is_empty() {
                &alert.entity
            } else {
                source
            };
            let labels: serde_json::Map<String, Value> = alert
                .labels
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect();
            let mut body = json!({
                "routing_key": routing_key,
                "event_action": "trigger",
                "dedup_key": alert.dedup_key,
                "payload": {
                    "summary": truncate_chars(summary, SUMMARY_MAX),
                    "source": source,
                    "severity": severity(alert.priority),
                    "timestamp": rfc3339_ms(alert.created_ms),
                    "component": alert.entity,
                    "class": alert.kind,
                    "custom_details": {
                        "alert_id": alert.id,
                        "priority": alert.priority.as_str(),
                        "status": alert.status,
                        "summary": alert.summary,
                        "score": alert.score,
                        "occurrences": alert.occurrences,
                        "assignee": alert.assignee,
                        "labels": labels,
                    },
                },
                "client": "tocsin",
            });
            if let Some(url) = &alert.runbook_url {
                body["links"] = json!([{ "href": url, "text": "Runbook" }]);
            }
            body
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::tests::sample;

    #[test]
    fn trigger_body_is_exact() {
        let n = sample();
        assert_eq!(
            event_body("R0UT1NG", "tocsin-prod", &n.alerts[0]),
            json!({
                "routing_key": "R0UT1NG",
                "event_action": "trigger",
                "dedup_key": "fp-3f2a",
                "payload": {
                    "summary": "Brute force on web-1",
                    "source": "tocsin-prod",
                    "severity": "critical",
                    "timestamp": "2023-11-14T22:13:20.123Z",
                    "component": "web-1",
                    "class": "brute_force",
                    "custom_details": {
                        "alert_id": "a-17",
                        "priority": "P1",
                        "status": "open",
                        "summary": "42 failed logins in 60 s",
                        "score": 0.97,
                        "occurrences": 3,
                        "assignee": null,
                        "labels": {"team": "sec"},
                    },
                },
                "links": [{"href": "https://runbooks.example/brute", "text": "Runbook"}],
                "client": "tocsin",
            })
        );
    }

    #[test]
    fn ack_and_resolve_carry_only_the_key() {
        let mut a = sample().alerts[0].clone();
        a.action = NotifyAction::Acknowledge;
        assert_eq!(
            event_body("K", "", &a),
            json!({"routing_key": "K", "event_action": "acknowledge", "dedup_key": "fp-3f2a"})
        );
        a.action = NotifyAction::Resolve;
        assert_eq!(
            event_body("K", "", &a),
            json!({"routing_key": "K", "event_action": "resolve", "dedup_key": "fp-3f2a"})
        );
    }

    #[test]
    fn severity_mapping_and_limits() {
        let got: Vec<_> = Priority::ALL.iter().map(|p| severity(*p)).collect();
        assert_eq!(got, ["critical", "error", "warning", "info"]);
        let mut a = sample().alerts[0].clone();
        a.title = "x".repeat(2000);
        a.runbook_url = None;
        let body = event_body("K", "", &a);
        assert_eq!(body["payload"]["summary"].as_str().unwrap().len(), 1024);
        assert_eq!(body["payload"]["source"], "web-1", "entity when no source");
        assert!(body.get("links").is_none());
    }
}
