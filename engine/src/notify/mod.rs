//! Notification payloads: what each kind of target (webhook, PagerDuty, Slack, syslog, ...)
//! sends for an event or an alert notification.
//!
//! Everything here is pure: it turns an [`Event`] or a [`Notification`] into bytes (a JSON
//! body, a syslog line). The delivery machinery (queue, retry, spill) lives in
//! `tocsin-actors`' `targets::deliver`, which owns one formatter per target.
//!
//! - [`template`]: the `{{ path | filter }}` template language of webhook bodies.
//! - [`pagerduty`], [`slack`], [`syslog`]: the fixed formats of those targets.
//! - [`presets`]: webhook templates for Opsgenie, ServiceNow and Jira.
//! - [`config`]: the targets' configuration structs.
//!
//! [`Event`]: crate::schema::Event

pub mod config;
pub mod pagerduty;
pub mod presets;
pub mod request;
pub mod slack;
pub mod syslog;
pub mod template;

use crate::alert::Priority;
use serde::{Serialize, Serializer};
use std::fmt::Write as _;
use template::Lookup;

/// What a notification asks the receiving system to do with an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NotifyAction {
    /// Open (or re-notify) the alert: it is firing.
    Trigger,
    /// An operator acknowledged it.
    Acknowledge,
    /// It resolved.
    Resolve,
}

impl NotifyAction {
    /// `trigger`, `acknowledge` or `resolve` (PagerDuty's `event_action` words).
    pub fn as_str(self) -> &'static str {
        match self {
            NotifyAction::Trigger => "trigger",
            NotifyAction::Acknowledge => "acknowledge",
            NotifyAction::Resolve => "resolve",
        }
    }
}

/// One alert as a notification shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertView {
    /// The alert's id in the alert store.
    pub id: String,
    /// Stable per alert fingerprint: receivers deduplicate on it (PagerDuty `dedup_key`,
    /// Opsgenie `alias`, ServiceNow `correlation_id`).
    pub dedup_key: String,
    /// One-line title.
    pub title: String,
    /// Longer description.
    pub summary: String,
    /// The entity (topology node) the alert is about.
    pub entity: String,
    /// What kind of trouble (anomaly kind or incident class).
    pub kind: String,
    /// P1..P4.
    pub priority: Priority,
    /// Lifecycle status (`open`, `acknowledged`, `resolved`, ...).
    pub status: String,
    /// Who owns it, if anyone.
    pub assignee: Option<String>,
    /// Labels (serialised as a JSON object).
    #[serde(serialize_with = "pairs_as_map")]
    pub labels: Vec<(String, String)>,
    /// Runbook link.
    pub runbook_url: Option<String>,
    /// The anomaly score that raised it.
    pub score: f64,
    /// Creation time, ms since the epoch.
    pub created_ms: i64,
    /// Last change, ms since the epoch.
    pub updated_ms: i64,
    /// How many times its fingerprint fired.
    pub occurrences: u64,
    /// This alert's own action (firing -> trigger, acknowledged -> acknowledge, resolved ->
    /// resolve).
    pub action: NotifyAction,
}

/// A grouped notification: what the alert logic hands to notification targets.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Notification {
    /// The group's action (the most urgent of its alerts': trigger if any fires).
    pub action: NotifyAction,
    /// The grouping key.
    pub group_key: String,
    /// The labels the group is keyed by (serialised as a JSON object).
    #[serde(serialize_with = "pairs_as_map")]
    pub group_labels: Vec<(String, String)>,
    /// The alerts, in the order to show them.
    pub alerts: Vec<AlertView>,
}

fn pairs_as_map<S: Serializer>(pairs: &[(String, String)], s: S) -> Result<S::Ok, S::Error> {
    s.collect_map(pairs.iter().map(|(k, v)| (k, v)))
}

fn get<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// Template view of one alert of a notification: `alert.*` is that alert, everything else the
/// notification's (see [`Notification`]'s [`Lookup`]).
#[derive(Debug, Clone, Copy)]
pub struct AlertLookup<'a> {
    /// The notification.
    pub notification: &'a Notification,
    /// The alert `alert.*` refers to.
    pub alert: &'a AlertView,
}

/// Template paths of a notification: `group_key`, `status`/`action`, `alerts` (JSON array),
/// `alerts_count`, `group_labels.<k>`, `notification` (the whole as JSON), and `alert.<field>`
/// of the first alert (`title`, `summary`, `dedup_key`, `id`, `entity`, `kind`, `priority`,
/// `priority_number`, `status`, `assignee`, `runbook_url`, `score`, `created_ms`, `created`
/// (RFC 3339), `updated_ms`, `occurrences`, `action`, `labels` (JSON object), `labels.<k>`).
impl Lookup for Notification {
    fn lookup(&self, path: &str, out: &mut String) -> bool {
        match self.alerts.first() {
            Some(alert) => AlertLookup {
                notification: self,
                alert,
            }
            .lookup(path, out),
            None => notification_path(self, path, out),
        }
    }
}

impl Lookup for AlertLookup<'_> {
    fn lookup(&self, path: &str, out: &mut String) -> bool {
        match path.strip_prefix("alert.") {
            Some(field) => alert_path(self.alert, field, out),
            None => notification_path(self.notification, path, out),
        }
    }
}

fn json_into<T: Serialize + ?Sized>(value: &T, out: &mut String) -> bool {
    match serde_json::to_string(value) {
        Ok(s) => {
            out.push_str(&s);
            true
        }
        Err(_) => false,
    }
}

fn notification_path(n: &Notification, path: &str, out: &mut String) -> bool {
    match path {
        "group_key" => out.push_str(&n.group_key),
        "status" | "action" => out.push_str(n.action.as_str()),
        "alerts" => return json_into(&n.alerts, out),
        "alerts_count" => {
            let _ = write!(out, "{}", n.alerts.len());
        }
        "notification" => return json_into(n, out),
        _ => match path.strip_prefix("group_labels.") {
            Some(k) => match get(&n.group_labels, k) {
                Some(v) => out.push_str(v),
                None => return false,
            },
            None => return false,
        },
    }
    true
}

fn alert_path(a: &AlertView, field: &str, out: &mut String) -> bool {
    match field {
        "id" => out.push_str(&a.id),
        "dedup_key" => out.push_str(&a.dedup_key),
        "title" => out.push_str(&a.title),
        "summary" => out.push_str(&a.summary),
        "entity" => out.push_str(&a.entity),
        "kind" => out.push_str(&a.kind),
        "priority" => out.push_str(a.priority.as_str()),
        "priority_number" => {
            let _ = write!(out, "{}", a.priority.number());
        }
        "status" => out.push_str(&a.status),
        "assignee" => match &a.assignee {
            Some(v) => out.push_str(v),
            None => return false,
        },
        "runbook_url" => match &a.runbook_url {
            Some(v) => out.push_str(v),
            None => return false,
        },
        "score" => {
            let _ = write!(out, "{}", a.score);
        }
        "created_ms" => {
            let _ = write!(out, "{}", a.created_ms);
        }
        "created" => out.push_str(&rfc3339_ms(a.created_ms)),
        "updated_ms" => {
            let _ = write!(out, "{}", a.updated_ms);
        }
        "occurrences" => {
            let _ = write!(out, "{}", a.occurrences);
        }
        "action" => out.push_str(a.action.as_str()),
        "labels" => {
            let map: serde_json::Map<String, serde_json::Value> = a
                .labels
                .iter()
                .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                .collect();
            return json_into(&map, out);
        }
        _ => match field.strip_prefix("labels.") {
            Some(k) => match get(&a.labels, k) {
                Some(v) => out.push_str(v),
                None => return false,
            },
            None => return false,
        },
    }
    true
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` for ms since the epoch (UTC; years clamped to 0000..=9999).
pub fn rfc3339_ms(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    let in_day = ms.rem_euclid(86_400_000);
    let (y, m, d) = civil_from_days(days);
    let (y, m, d) = if y < 0 {
        (0, 1, 1)
    } else if y > 9999 {
        (9999, 12, 31)
    } else {
        (y, m, d)
    };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60,
        in_day % 1000
    )
}

/// Proleptic Gregorian (year, month, day) of a day count since 1970-01-01 (H. Hinnant's
/// algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Cuts `s` to at most `max` characters (on a character boundary).
pub fn truncate_chars(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A two-alert notification the format tests share.
    pub(crate) fn sample() -> Notification {
        let alert = AlertView {
            id: "a-17".into(),
            dedup_key: "fp-3f2a".into(),
            title: "Brute force on web-1".into(),
            summary: "42 failed logins in 60 s".into(),
            entity: "web-1".into(),
            kind: "brute_force".into(),
            priority: Priority::P1,
            status: "open".into(),
            assignee: None,
            labels: vec![("team".into(), "sec".into())],
            runbook_url: Some("https://runbooks.example/brute".into()),
            score: 0.97,
            created_ms: 1_700_000_000_123,
            updated_ms: 1_700_000_060_000,
            occurrences: 3,
            action: NotifyAction::Trigger,
        };
        let mut second = alert.clone();
        second.id = "a-18".into();
        second.dedup_key = "fp-9c1d".into();
        second.title = "Latency on db-2".into();
        second.entity = "db-2".into();
        second.priority = Priority::P3;
        second.status = "resolved".into();
        second.action = NotifyAction::Resolve;
        Notification {
            action: NotifyAction::Trigger,
            group_key: "team=sec".into(),
            group_labels: vec![("team".into(), "sec".into())],
            alerts: vec![alert, second],
        }
    }

    #[test]
    fn rfc3339_formats_utc_with_millis() {
        assert_eq!(rfc3339_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339_ms(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
        assert_eq!(rfc3339_ms(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(rfc3339_ms(-1), "1969-12-31T23:59:59.999Z");
    }

    #[test]
    fn notification_paths_resolve_first_alert_and_group() {
        let n = sample();
        let get = |p: &str| {
            let mut s = String::new();
            n.lookup(p, &mut s).then_some(s)
        };
        assert_eq!(get("group_key").as_deref(), Some("team=sec"));
        assert_eq!(get("status").as_deref(), Some("trigger"));
        assert_eq!(get("alerts_count").as_deref(), Some("2"));
        assert_eq!(get("alert.title").as_deref(), Some("Brute force on web-1"));
        assert_eq!(get("alert.labels.team").as_deref(), Some("sec"));
        assert_eq!(get("alert.labels").as_deref(), Some(r#"{"team":"sec"}"#));
        assert_eq!(get("alert.assignee"), None);
        assert_eq!(get("group_labels.team").as_deref(), Some("sec"));
        assert_eq!(get("nope"), None);
        let alerts: serde_json::Value = serde_json::from_str(&get("alerts").unwrap()).unwrap();
        assert_eq!(alerts[1]["action"], "resolve");
        assert_eq!(alerts[0]["labels"]["team"], "sec");
        assert_eq!(alerts[0]["priority"], "P1");
    }

    #[test]
    fn truncation_respects_characters() {
        assert_eq!(truncate_chars("héllo", 2), "hé");
        assert_eq!(truncate_chars("hi", 5), "hi");
    }
}
