//! Slack incoming-webhook bodies: `text` (the fallback shown in notifications) and Block Kit
//! `blocks`. One message per notification (up to [`MAX_LISTED`] alerts listed) or per event
//! batch.

use super::{truncate_chars, AlertView, Notification};
use crate::schema::{severity, Event};
use serde_json::{json, Value};

/// Most alerts or events listed in one message; the rest are counted in a context line.
pub const MAX_LISTED: usize = 10;
/// Slack's limit on a header block's text, in characters.
const HEADER_MAX: usize = 150;
/// Slack's limit on a section's text, in characters.
const SECTION_MAX: usize = 3000;

fn header(text: &str) -> Value {
    json!({"type": "header", "text": {"type": "plain_text", "text": truncate_chars(text, HEADER_MAX)}})
}

fn section(text: &str) -> Value {
    json!({"type": "section", "text": {"type": "mrkdwn", "text": truncate_chars(text, SECTION_MAX)}})
}

fn alert_fields(a: &AlertView) -> Value {
    let mut fields = vec![
        json!({"type": "mrkdwn", "text": format!("*Priority*\n{}", a.priority)}),
        json!({"type": "mrkdwn", "text": format!("*Entity*\n{}", a.entity)}),
        json!({"type": "mrkdwn", "text": format!("*Kind*\n{}", a.kind)}),
        json!({"type": "mrkdwn", "text": format!("*Score*\n{:.2}", a.score)}),
        json!({"type": "mrkdwn", "text": format!("*Status*\n{}", a.status)}),
    ];
    if let Some(url) = &a.runbook_url {
        fields.push(json!({"type": "mrkdwn", "text": format!("*Runbook*\n<{url}|open>")}));
    }
    json!({"type": "section", "fields": fields})
}

fn with_channel(mut body: Value, channel: Option<&str>) -> Value {
    if let Some(c) = channel {
        body["channel"] = json!(c);
    }
    body
}

/// The message for a notification: one alert in detail, or a group as a list.
pub fn notification_body(n: &Notification, channel: Option<&str>) -> Value {
    let body = match n.alerts.as_slice() {
        [] => json!({"text": format!("[{}] {} (no alerts)", n.action.as_str(), n.group_key)}),
        [a] => {
            let title = format!("[{}] {} {}", a.priority, a.action.as_str(), a.title);
            json!({
                "text": title,
                "blocks": [header(&title), section(&a.summary), alert_fields(a)],
            })
        }
        alerts => {
            let title = format!(
                "{} alerts ({}) in {}",
                alerts.len(),
                n.action.as_str(),
                n.group_key
            );
            let mut blocks = vec![header(&title)];
            for a in alerts.iter().take(MAX_LISTED) {
                let runbook = a
                    .runbook_url
                    .as_ref()
                    .map(|u| format!(" <{u}|runbook>"))
                    .unwrap_or_default();
                blocks.push(section(&format!(
                    "*[{}] {}* ({}) `{}` {} score {:.2}{}",
                    a.priority,
                    a.title,
                    a.action.as_str(),
                    a.entity,
                    a.status,
                    a.score,
                    runbook
                )));
            }
            if alerts.len() > MAX_LISTED {
                blocks.push(json!({"type": "context", "elements": [
                    {"type": "mrkdwn", "text": format!("and {} more", alerts.len() - MAX_LISTED)}
                ]}));
            }
            json!({"text": title, "blocks": blocks})
        }
    };
    with_channel(body, channel)
}

/// The message for a batch of routed events: a short list.
pub fn events_body(events: &[Event], channel: Option<&str>) -> Value {
    let title = format!("{} events", events.len());
    let mut lines = String::new();
    for e in events.iter().take(MAX_LISTED) {
        let host = e.device.hostname.map(|h| h.as_str()).unwrap_or("-");
        lines.push_str(&format!(
            "• `{}` *{}* {}: {}\n",
            super::rfc3339_ms(e.time),
            severity::name(e.severity_id),
            host,
            truncate_chars(e.message.as_str(), 200)
        ));
    }
    if events.len() > MAX_LISTED {
        lines.push_str(&format!("and {} more", events.len() - MAX_LISTED));
    }
    with_channel(
        json!({"text": title, "blocks": [header(&title), section(lines.trim_end())]}),
        channel,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::tests::sample;
    use crate::schema::{Symbol, Text};

    #[test]
    fn single_alert_message_is_exact() {
        let mut n = sample();
        n.alerts.truncate(1);
        assert_eq!(
            notification_body(&n, Some("#ops")),
            json!({
                "channel": "#ops",
                "text": "[P1] trigger Brute force on web-1",
                "blocks": [
                    {"type": "header", "text": {"type": "plain_text", "text": "[P1] trigger Brute force on web-1"}},
                    {"type": "section", "text": {"type": "mrkdwn", "text": "42 failed logins in 60 s"}},
                    {"type": "section", "fields": [
                        {"type": "mrkdwn", "text": "*Priority*\nP1"},
                        {"type": "mrkdwn", "text": "*Entity*\nweb-1"},
                        {"type": "mrkdwn", "text": "*Kind*\nbrute_force"},
                        {"type": "mrkdwn", "text": "*Score*\n0.97"},
                        {"type": "mrkdwn", "text": "*Status*\nopen"},
                        {"type": "mrkdwn", "text": "*Runbook*\n<https://runbooks.example/brute|open>"},
                    ]},
                ],
            })
        );
    }

    #[test]
    fn group_lists_at_most_ten_alerts() {
        let mut n = sample();
        let a = n.alerts[0].clone();
        n.alerts = vec![a; 12];
        let body = notification_body(&n, None);
        assert_eq!(body["text"], "12 alerts (trigger) in team=sec");
        let blocks = body["blocks"].as_array().unwrap();
        assert_eq!(blocks.len(), 1 + 10 + 1);
        assert_eq!(
            blocks[1]["text"]["text"],
            "*[P1] Brute force on web-1* (trigger) `web-1` open score 0.97 <https://runbooks.example/brute|runbook>"
        );
        assert_eq!(blocks[11]["elements"][0]["text"], "and 2 more");
        assert!(body.get("channel").is_none());
    }

    #[test]
    fn events_become_a_short_list() {
        let mut e = Event {
            time: 0,
            severity_id: 5,
            message: Text::copy_from("disk full"),
            ..Event::default()
        };
        e.device.hostname = Some(Symbol::intern("db-2"));
        let body = events_body(&[e], None);
        assert_eq!(body["text"], "1 events");
        assert_eq!(
            body["blocks"][1]["text"]["text"],
            "• `1970-01-01T00:00:00.000Z` *Critical* db-2: disk full"
        );
    }
}
