//! RFC 5424 syslog lines for forwarding events and alerts, and RFC 6587 octet-counting framing
//! for TCP.
//!
//! `<PRI>1 TIMESTAMP HOSTNAME tocsin - MSGID [tocsin@32473 k="v" ...] MSG`, where PRI is
//! `facility * 8 + severity`, MSGID is `event` or `alert`, and MSG is the JSON form. 32473 is
//! the private enterprise number RFC 5612 reserves for documentation.

use super::{rfc3339_ms, AlertView};
use crate::alert::Priority;
use crate::schema::{class_name, json, severity, Event};
use std::fmt::Write as _;

/// The SD-ID of tocsin's structured data element.
pub const SD_ID: &str = "tocsin@32473";

/// The facility code (0..=23) of a name (`kern`, `user`, ..., `local0`..`local7`).
pub fn facility_code(name: &str) -> Option<u8> {
    const NAMES: [&str; 24] = [
        "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron",
        "authpriv", "ftp", "ntp", "audit", "alert", "clock", "local0", "local1", "local2",
        "local3", "local4", "local5", "local6", "local7",
    ];
    NAMES
        .iter()
        .position(|n| n.eq_ignore_ascii_case(name))
        .map(|i| i as u8)
}

/// Syslog severity (0 emerg .. 7 debug) of an OCSF `severity_id`.
pub fn event_severity(severity_id: u8) -> u8 {
    match severity_id {
        severity::FATAL => 0,
        severity::CRITICAL => 2,
        severity::HIGH => 3,
        severity::MEDIUM => 4,
        severity::INFORMATIONAL => 6,
        _ => 5,
    }
}

/// Syslog severity of an alert priority: P1 crit, P2 err, P3 warning, P4 info.
pub fn priority_severity(p: Priority) -> u8 {
    match p {
        Priority::P1 => 2,
        Priority::P2 => 3,
        Priority::P3 => 4,
        Priority::P4 => 6,
    }
}

/// Appends `value` escaped as an SD-PARAM value (RFC 5424 §6.3.3: `"`, `\` and `]` take a
/// backslash).
pub fn escape_param(value: &str, out: &mut String) {
    for c in value.chars() {
        if matches!(c, '"' | '\\' | ']') {
            out.push('\\');
        }
        out.push(c);
    }
}

/// A HOSTNAME field: printable US-ASCII without spaces, at most 255 characters; `-` otherwise.
fn hostname(h: &str) -> &str {
    if h.is_empty() || h.len() > 255 || !h.bytes().all(|b| (33..=126).contains(&b)) {
        "-"
    } else {
        h
    }
}

fn head(out: &mut String, facility: u8, sev: u8, time_ms: i64, host: &str, msgid: &str) {
    let _ = write!(
        out,
        "<{}>1 {} {} tocsin - {msgid} ",
        u16::from(facility.min(23)) * 8 + u16::from(sev),
        rfc3339_ms(time_ms),
        hostname(host)
    );
}

fn sd(out: &mut String, params: &[(&str, &str)]) {
    out.push('[');
    out.push_str(SD_ID);
    for (k, v) in params {
        let _ = write!(out, " {k}=\"");
        escape_param(v, out);
        out.push('"');
    }
    out.push(']');
}

/// The line for an event (no trailing newline). HOSTNAME is the event's `device.hostname`, else
/// `local_host`.
pub fn event_line(e: &Event, facility: u8, local_host: &str, out: &mut String) {
    let host = e.device.hostname.map(|h| h.as_str()).unwrap_or(local_host);
    head(
        out,
        facility,
        event_severity(e.severity_id),
        e.time,
        host,
        "event",
    );
    let mut params = vec![
        ("severity", severity::name(e.severity_id)),
        ("class", class_name(e.class_uid)),
    ];
    if let Some(entity) = e.entity {
        params.push(("entity", entity.as_str()));
    }
    if let Some(source) = e.source {
        params.push(("source", source.as_str()));
    }
    sd(out, &params);
    out.push(' ');
    let mut body = Vec::with_capacity(512);
    json::write_event(e, &mut body);
    out.push_str(&String::from_utf8_lossy(&body));
}

/// The line for an alert (no trailing newline); HOSTNAME is `local_host`, the time the alert's
/// last change.
pub fn alert_line(a: &AlertView, facility: u8, local_host: &str, out: &mut String) {
    head(
        out,
        facility,
        priority_severity(a.priority),
        a.updated_ms,
        local_host,
        "alert",
    );
    sd(
        out,
        &[
            ("id", &a.id),
            ("dedup_key", &a.dedup_key),
            ("priority", a.priority.as_str()),
            ("action", a.action.as_str()),
            ("status", &a.status),
            ("entity", &a.entity),
        ],
    );
    out.push(' ');
    out.push_str(&serde_json::to_string(a).unwrap_or_default());
}

/// Appends `line` framed by octet counting (RFC 6587 §3.4.1): `LEN SP LINE`.
pub fn octet_frame(line: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(line.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(line);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::tests::sample;
    use crate::schema::{Symbol, Text};

    #[test]
    fn event_line_is_rfc5424() {
        let mut e = Event {
            time: 1_700_000_000_123,
            severity_id: 4,
            class_uid: 0,
            message: Text::copy_from("x"),
            ..Event::default()
        };
        e.device.hostname = Some(Symbol::intern("web 1"));
        e.entity = Some(Symbol::intern("web-1"));
        let mut line = String::new();
        event_line(&e, 16, "collector", &mut line);
        let mut json = Vec::new();
        json::write_event(&e, &mut json);
        assert_eq!(
            line,
            format!(
                "<131>1 2023-11-14T22:13:20.123Z - tocsin - event [tocsin@32473 severity=\"High\" class=\"{}\" entity=\"web-1\"] {}",
                class_name(0),
                String::from_utf8(json).unwrap()
            )
        );
    }

    #[test]
    fn alert_line_escapes_sd_values() {
        let mut a = sample().alerts[0].clone();
        a.entity = r#"we"b]\1"#.into();
        let mut line = String::new();
        alert_line(&a, facility_code("local7").unwrap(), "tocsin-1", &mut line);
        let expected_head = r#"<186>1 2023-11-14T22:14:20.000Z tocsin-1 tocsin - alert [tocsin@32473 id="a-17" dedup_key="fp-3f2a" priority="P1" action="trigger" status="open" entity="we\"b\]\\1"] {"#;
        assert!(line.starts_with(expected_head), "{line}");
        let msg = &line[expected_head.len() - 1..];
        let v: serde_json::Value = serde_json::from_str(msg).unwrap();
        assert_eq!(v["dedup_key"], "fp-3f2a");
    }

    #[test]
    fn facilities_severities_and_framing() {
        assert_eq!(facility_code("kern"), Some(0));
        assert_eq!(facility_code("LOCAL0"), Some(16));
        assert_eq!(facility_code("local8"), None);
        assert_eq!(event_severity(severity::FATAL), 0);
        assert_eq!(event_severity(severity::UNKNOWN), 5);
        assert_eq!(priority_severity(Priority::P4), 6);
        let mut out = Vec::new();
        octet_frame(b"<14>1 - - - - - - hi", &mut out);
        assert_eq!(out, b"20 <14>1 - - - - - - hi");
    }
}
