//! The formatter of a delivering target: turns routed events or a notification into the
//! requests (or syslog lines) the delivery machinery queues, retries and spills.

use super::config::{PagerDutyConfig, SlackConfig, SyslogConfig, WebhookConfig};
use super::template::{Template, TemplateError, WithVars};
use super::{pagerduty, presets, slack, syslog, AlertLookup, Notification};
use crate::schema::{json, Event};
use serde::{Deserialize, Serialize};

/// What a request carries, for counters and dead letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RequestKind {
    /// Routed events.
    Events,
    /// One alert of a notification.
    Alert,
    /// A whole notification.
    Notification,
}

/// One rendered request. For syslog targets `method` and `url` are empty and `body` is the
/// line (unframed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    /// HTTP method.
    pub method: String,
    /// Full URL.
    pub url: String,
    /// Headers, in order.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: String,
    /// What it carries.
    pub kind: RequestKind,
}

/// What a target is asked to send.
#[derive(Debug, Clone, Copy)]
pub enum Payload<'a> {
    /// Routed events.
    Events(&'a [Event]),
    /// An alert notification.
    Notification(&'a Notification),
}

/// The requests for one payload, and how many items the target cannot send (events to
/// PagerDuty, actions a preset has no call for).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Rendered {
    /// Requests, in order.
    pub requests: Vec<Request>,
    /// Items not sendable by this kind of target.
    pub unsupported: u64,
}

#[derive(Debug, Clone)]
struct CompiledPreset {
    preset: &'static presets::Preset,
    vars: Vec<(String, String)>,
    headers: Vec<(String, Template)>,
    calls: [Option<(Template, Template)>; 3],
}

/// A target's formatter, built once from its config.
#[derive(Debug, Clone)]
pub enum Formatter {
    /// Generic or preset webhook.
    Webhook(Box<WebhookFormat>),
    /// PagerDuty Events v2.
    PagerDuty {
        /// Events endpoint.
        url: String,
        /// Routing key.
        routing_key: String,
        /// `payload.source`.
        source: String,
    },
    /// Slack incoming webhook.
    Slack {
        /// Webhook URL.
        url: String,
        /// Channel override.
        channel: Option<String>,
        /// Events per message.
        batch_max: usize,
    },
    /// RFC 5424 syslog lines.
    Syslog {
        /// Facility code.
        facility: u8,
        /// HOSTNAME for alerts and host-less events.
        hostname: String,
    },
}

/// A webhook's compiled templates (or preset) and endpoint.
#[derive(Debug, Clone)]
pub struct WebhookFormat {
    /// Endpoint (the base URL with a preset).
    url: String,
    /// Method of template requests.
    method: &'static str,
    /// Configured headers (sent after `Content-Type`).
    headers: Vec<(String, String)>,
    /// The body template, if any.
    body: Option<Template>,
    /// The preset, compiled.
    preset: Option<CompiledPreset>,
    /// Events per request.
    batch_max: usize,
}

fn json_headers(extra: impl IntoIterator<Item = (String, String)>) -> Vec<(String, String)> {
    let mut h = vec![("Content-Type".to_owned(), "application/json".to_owned())];
    h.extend(extra);
    h
}

impl WebhookConfig {
    /// The formatter (templates and preset compiled).
    pub fn build(&self) -> Result<Formatter, TemplateError> {
        let body = self
            .body_template
            .as_deref()
            .map(Template::compile)
            .transpose()?;
        let preset = match self.preset.as_deref().and_then(presets::find) {
            None => None,
            Some(p) => {
                let compile = |c: Option<&presets::PresetCall>| {
                    c.map(|c| {
                        Ok::<_, TemplateError>((
                            Template::compile(c.path)?,
                            Template::compile(c.body)?,
                        ))
                    })
                    .transpose()
                };
                Some(CompiledPreset {
                    preset: p,
                    vars: self.preset_vars(),
                    headers: p
                        .headers
                        .iter()
                        .map(|(k, v)| Ok(((*k).to_owned(), Template::compile(v)?)))
                        .collect::<Result<_, TemplateError>>()?,
                    calls: [
                        compile(Some(&p.trigger))?,
                        compile(p.acknowledge.as_ref())?,
                        compile(p.resolve.as_ref())?,
                    ],
                })
            }
        };
        Ok(Formatter::Webhook(Box::new(WebhookFormat {
            url: self
                .url
                .trim_end_matches(if preset.is_some() { "/" } else { "" })
                .to_owned(),
            method: self.method.as_str(),
            headers: self
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            body,
            preset,
            batch_max: self.delivery.batch_max.max(1),
        })))
    }
}

impl PagerDutyConfig {
    /// The formatter.
    pub fn build(&self) -> Formatter {
        Formatter::PagerDuty {
            url: self.url.clone(),
            routing_key: self.routing_key.clone(),
            source: self.source.clone(),
        }
    }
}

impl SlackConfig {
    /// The formatter.
    pub fn build(&self) -> Formatter {
        Formatter::Slack {
            url: self.url.clone(),
            channel: self.channel.clone(),
            batch_max: self.delivery.batch_max.max(1),
        }
    }
}

impl SyslogConfig {
    /// The formatter.
    pub fn build(&self) -> Formatter {
        Formatter::Syslog {
            facility: self.facility_code(),
            hostname: self.hostname.clone(),
        }
    }
}

fn post(url: &str, headers: Vec<(String, String)>, body: String, kind: RequestKind) -> Request {
    Request {
        method: "POST".to_owned(),
        url: url.to_owned(),
        headers,
        body,
        kind,
    }
}

impl Formatter {
    /// The requests for `payload`, in the order to send them.
    pub fn render(&self, payload: Payload<'_>) -> Rendered {
        let mut r = Rendered::default();
        match (self, payload) {
            (Formatter::Webhook(w), Payload::Events(events)) => {
                let WebhookFormat {
                    url,
                    method,
                    headers,
                    body,
                    preset,
                    batch_max,
                } = &**w;
                if preset.is_some() {
                    r.unsupported += events.len() as u64;
                    return r;
                }
                for chunk in events.chunks(*batch_max) {
                    let mut out = String::from("[");
                    let mut bytes = Vec::new();
                    for (i, e) in chunk.iter().enumerate() {
                        if i > 0 {
                            out.push(',');
                        }
                        match body {
                            Some(t) => t.render(e, &mut out),
                            None => {
                                bytes.clear();
                                json::write_event(e, &mut bytes);
                                out.push_str(&String::from_utf8_lossy(&bytes));
                            }
                        }
                    }
                    out.push(']');
                    r.requests.push(Request {
                        method: (*method).to_owned(),
                        url: url.clone(),
                        headers: json_headers(headers.iter().cloned()),
                        body: out,
                        kind: RequestKind::Events,
                    });
                }
            }
            (Formatter::Webhook(w), Payload::Notification(n)) => match &w.preset {
                Some(p) => preset_requests(p, &w.url, &w.headers, n, &mut r),
                None => {
                    let body = match &w.body {
                        Some(t) => t.render_to_string(n),
                        None => serde_json::to_string(n).unwrap_or_default(),
                    };
                    r.requests.push(Request {
                        method: w.method.to_owned(),
                        url: w.url.clone(),
                        headers: json_headers(w.headers.iter().cloned()),
                        body,
                        kind: RequestKind::Notification,
                    });
                }
            },
            (Formatter::PagerDuty { .. }, Payload::Events(events)) => {
                r.unsupported += events.len() as u64
            }
            (
                Formatter::PagerDuty {
                    url,
                    routing_key,
                    source,
                },
                Payload::Notification(n),
            ) => {
                for a in &n.alerts {
                    let body = pagerduty::event_body(routing_key, source, a).to_string();
                    r.requests
                        .push(post(url, json_headers([]), body, RequestKind::Alert));
                }
            }
            (
                Formatter::Slack {
                    url,
                    channel,
                    batch_max,
                },
                Payload::Events(events),
            ) => {
                for chunk in events.chunks(*batch_max) {
                    let body = slack::events_body(chunk, channel.as_deref()).to_string();
                    r.requests
                        .push(post(url, json_headers([]), body, RequestKind::Events));
                }
            }
            (Formatter::Slack { url, channel, .. }, Payload::Notification(n)) => {
                let body = slack::notification_body(n, channel.as_deref()).to_string();
                r.requests
                    .push(post(url, json_headers([]), body, RequestKind::Notification));
            }
            (Formatter::Syslog { facility, hostname }, Payload::Events(events)) => {
                for e in events {
                    let mut line = String::new();
                    syslog::event_line(e, *facility, hostname, &mut line);
                    r.requests.push(line_request(line, RequestKind::Events));
                }
            }
            (Formatter::Syslog { facility, hostname }, Payload::Notification(n)) => {
                for a in &n.alerts {
                    let mut line = String::new();
                    syslog::alert_line(a, *facility, hostname, &mut line);
                    r.requests.push(line_request(line, RequestKind::Alert));
                }
            }
        }
        r
    }
}

fn line_request(body: String, kind: RequestKind) -> Request {
    Request {
        method: String::new(),
        url: String::new(),
        headers: Vec::new(),
        body,
        kind,
    }
}

fn preset_requests(
    p: &CompiledPreset,
    base: &str,
    headers: &[(String, String)],
    n: &Notification,
    r: &mut Rendered,
) {
    for alert in &n.alerts {
        let slot = match alert.action {
            super::NotifyAction::Trigger => 0,
            super::NotifyAction::Acknowledge => 1,
            super::NotifyAction::Resolve => 2,
        };
        let (Some((path, body)), Some(call)) = (&p.calls[slot], p.preset.call(alert.action)) else {
            r.unsupported += 1;
            continue;
        };
        let l = AlertLookup {
            notification: n,
            alert,
        };
        let l = WithVars {
            vars: &p.vars,
            inner: &l,
        };
        let mut url = base.to_owned();
        path.render(&l, &mut url);
        let mut hs: Vec<(String, String)> = p
            .headers
            .iter()
            .filter(|(k, _)| !headers.iter().any(|(h, _)| h.eq_ignore_ascii_case(k)))
            .map(|(k, t)| (k.clone(), t.render_to_string(&l)))
            .collect();
        hs.extend(headers.iter().cloned());
        r.requests.push(Request {
            method: call.method.to_owned(),
            url,
            headers: json_headers(hs),
            body: body.render_to_string(&l),
            kind: RequestKind::Alert,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::config::DeliveryConfig;
    use crate::notify::tests::sample;
    use crate::notify::NotifyAction;
    use crate::schema::Text;

    fn webhook(template: Option<&str>, preset: Option<&str>) -> WebhookConfig {
        WebhookConfig {
            name: "w".into(),
            url: "http://h/".into(),
            method: Default::default(),
            headers: [("X-Token".to_owned(), "t".to_owned())].into(),
            body_template: template.map(str::to_owned),
            preset: preset.map(str::to_owned),
            api_key: Some("k".into()),
            project_key: None,
            issue_type: None,
            assignment_group: None,
            delivery: DeliveryConfig {
                batch_max: 2,
                ..DeliveryConfig::default()
            },
        }
    }

    fn events(n: usize) -> Vec<Event> {
        (0..n)
            .map(|i| Event {
                time: i as i64,
                message: Text::copy_from(&format!("m{i}")),
                ..Event::default()
            })
            .collect()
    }

    #[test]
    fn webhook_batches_events_into_json_arrays() {
        let f = webhook(Some(r#"{"msg":{{ message | json }}}"#), None)
            .build()
            .unwrap();
        let r = f.render(Payload::Events(&events(3)));
        let bodies: Vec<&str> = r.requests.iter().map(|q| q.body.as_str()).collect();
        assert_eq!(
            bodies,
            [r#"[{"msg":"m0"},{"msg":"m1"}]"#, r#"[{"msg":"m2"}]"#]
        );
        assert_eq!(
            r.requests[0].headers[1],
            ("X-Token".to_owned(), "t".to_owned())
        );
        let plain = webhook(None, None)
            .build()
            .unwrap()
            .render(Payload::Events(&events(1)));
        let v: serde_json::Value = serde_json::from_str(&plain.requests[0].body).unwrap();
        assert_eq!(v[0]["message"], "m0");
    }

    #[test]
    fn opsgenie_preset_makes_one_call_per_alert_by_action() {
        let f = webhook(None, Some("opsgenie")).build().unwrap();
        let r = f.render(Payload::Notification(&sample()));
        let calls: Vec<(&str, &str)> = r
            .requests
            .iter()
            .map(|q| (q.method.as_str(), q.url.as_str()))
            .collect();
        assert_eq!(
            calls,
            [
                ("POST", "http://h/v2/alerts"),
                (
                    "POST",
                    "http://h/v2/alerts/fp-9c1d/close?identifierType=alias"
                )
            ]
        );
        assert!(r.requests[0]
            .headers
            .contains(&("Authorization".to_owned(), "GenieKey k".to_owned())));
        assert_eq!(f.render(Payload::Events(&events(2))).unsupported, 2);
    }

    #[test]
    fn pagerduty_sends_alerts_only_and_syslog_one_line_each() {
        let pd = PagerDutyConfig {
            name: "p".into(),
            routing_key: "K".into(),
            url: "http://pd/enqueue".into(),
            source: String::new(),
            delivery: DeliveryConfig::default(),
        }
        .build();
        let mut n = sample();
        n.alerts[1].action = NotifyAction::Acknowledge;
        let r = pd.render(Payload::Notification(&n));
        assert_eq!(r.requests.len(), 2);
        let v: serde_json::Value = serde_json::from_str(&r.requests[1].body).unwrap();
        assert_eq!(v["event_action"], "acknowledge");
        assert_eq!(
            pd.render(Payload::Events(&events(3))),
            Rendered {
                requests: vec![],
                unsupported: 3
            }
        );
        let sl = Formatter::Syslog {
            facility: 16,
            hostname: "h".into(),
        };
        assert_eq!(sl.render(Payload::Events(&events(3))).requests.len(), 3);
        assert!(sl.render(Payload::Notification(&n)).requests[0]
            .body
            .starts_with("<130>1 "));
    }

    #[test]
    fn webhook_notification_is_one_request_and_slack_one_message() {
        let n = sample();
        let plain = webhook(None, None)
            .build()
            .unwrap()
            .render(Payload::Notification(&n));
        assert_eq!(plain.requests.len(), 1);
        assert_eq!(plain.requests[0].kind, RequestKind::Notification);
        let v: serde_json::Value = serde_json::from_str(&plain.requests[0].body).unwrap();
        assert_eq!(v["group_key"], "team=sec");
        assert_eq!(v["alerts"][1]["dedup_key"], "fp-9c1d");
        let t = webhook(
            Some(r#"{"k":{{ group_key | json }},"n":{{ alerts_count }},"a":{{ alerts }}}"#),
            None,
        )
        .build()
        .unwrap()
        .render(Payload::Notification(&n));
        let v: serde_json::Value = serde_json::from_str(&t.requests[0].body).unwrap();
        assert_eq!(
            (v["k"].as_str(), v["n"].as_u64()),
            (Some("team=sec"), Some(2))
        );
        let slack = SlackConfig {
            name: "s".into(),
            url: "http://s".into(),
            channel: None,
            delivery: DeliveryConfig::default(),
        }
        .build();
        let r = slack.render(Payload::Notification(&n));
        assert_eq!(r.requests.len(), 1);
        assert!(r.requests[0]
            .body
            .contains("2 alerts (trigger) in team=sec"));
    }
}
