//! Configuration of the notification targets with guaranteed delivery (webhook, PagerDuty,
//! Slack, syslog forward) and of their shared delivery machinery. Each struct can be a
//! `[[targets]]` variant as is (it has the `name` key); `validate()` does no I/O.

use super::{presets, syslog, template::Template};
use crate::config::ConfigError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

const MIB: u64 = 1 << 20;

/// `delivery`: the queue, retry and spill settings every delivering target shares.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeliveryConfig {
    /// Requests held in memory before new ones spill to disk. Default 10000, 1..=10000000.
    pub queue_capacity: usize,
    /// Most events in one request where the protocol allows several (webhook, Slack).
    /// Default 100, 1..=10000.
    pub batch_max: usize,
    /// Attempts per request before it is dead-lettered (`target_gave_up`). Default 8, 1..=1000.
    pub max_attempts: u32,
    /// First retry delay in ms; each retry doubles it (full jitter). Default 200, at least 1.
    pub backoff_initial_ms: u64,
    /// Longest retry delay in ms (also caps a `Retry-After`). Default 30000, at least
    /// `backoff_initial_ms`.
    pub backoff_max_ms: u64,
    /// Timeout of one attempt (connect + answer) in ms. Default 5000, 1..=600000.
    pub timeout_ms: u64,
    /// Spill to `<data_dir>/spill/<target>.ndjson` when the queue is full or the target is
    /// down, instead of dead-lettering. Default true.
    pub spill: bool,
    /// Most bytes in the spill file; requests past it are dead-lettered (`spill_full`).
    /// Default 268435456 (256 MiB), at least 4096.
    pub spill_max_bytes: u64,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        DeliveryConfig {
            queue_capacity: 10_000,
            batch_max: 100,
            max_attempts: 8,
            backoff_initial_ms: 200,
            backoff_max_ms: 30_000,
            timeout_ms: 5_000,
            spill: true,
            spill_max_bytes: 256 * MIB,
        }
    }
}

impl DeliveryConfig {
    /// Every problem, each under `field.delivery.<key>`.
    pub fn validate(&self, field: &str) -> Vec<ConfigError> {
        let mut errs = Vec::new();
        let mut check = |ok: bool, key: &str, msg: &str| {
            if !ok {
                errs.push(ConfigError::unlocated(
                    format!("{field}.delivery.{key}"),
                    msg,
                ));
            }
        };
        check(
            (1..=10_000_000).contains(&self.queue_capacity),
            "queue_capacity",
            "must be 1..=10000000",
        );
        check(
            (1..=10_000).contains(&self.batch_max),
            "batch_max",
            "must be 1..=10000",
        );
        check(
            (1..=1000).contains(&self.max_attempts),
            "max_attempts",
            "must be 1..=1000",
        );
        check(
            self.backoff_initial_ms >= 1,
            "backoff_initial_ms",
            "must be at least 1",
        );
        check(
            self.backoff_max_ms >= self.backoff_initial_ms,
            "backoff_max_ms",
            "must be at least backoff_initial_ms",
        );
        check(
            (1..=600_000).contains(&self.timeout_ms),
            "timeout_ms",
            "must be 1..=600000",
        );
        check(
            self.spill_max_bytes >= 4096,
            "spill_max_bytes",
            "must be at least 4096",
        );
        errs
    }
}

/// HTTP method of a webhook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
pub enum HttpMethod {
    /// `POST` (default).
    #[default]
    #[serde(alias = "post")]
    POST,
    /// `PUT`.
    #[serde(alias = "put")]
    PUT,
}

impl HttpMethod {
    /// `POST` or `PUT`.
    pub fn as_str(self) -> &'static str {
        match self {
            HttpMethod::POST => "POST",
            HttpMethod::PUT => "PUT",
        }
    }
}

fn check_url(url: &str, field: &str, errs: &mut Vec<ConfigError>) {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    if !rest.is_some_and(|r| !r.is_empty() && !r.starts_with('/')) {
        errs.push(ConfigError::unlocated(
            format!("{field}.url"),
            format!("`{url}` is not an http:// or https:// URL with a host"),
        ));
    }
}

/// `type = "webhook"`: JSON over HTTP, templated (or a preset: Opsgenie, ServiceNow, Jira).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// Unique target name. Required.
    pub name: String,
    /// Endpoint; with a `preset`, the API base the preset's paths are appended to. Required.
    pub url: String,
    /// `POST` (default) or `PUT`; a preset chooses its own.
    #[serde(default)]
    pub method: HttpMethod,
    /// Extra headers (e.g. `Authorization`). `Content-Type: application/json` is always sent.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Body template (see `notify::template`) rendered per event (a batch is sent as a JSON
    /// array of them) or per notification. Default: the event's / notification's JSON.
    #[serde(default)]
    pub body_template: Option<String>,
    /// `opsgenie`, `servicenow` or `jira`: shipped templates, one request per alert.
    #[serde(default)]
    pub preset: Option<String>,
    /// Opsgenie API key (preset `opsgenie`, required there).
    #[serde(default)]
    pub api_key: Option<String>,
    /// Jira project key (preset `jira`, required there).
    #[serde(default)]
    pub project_key: Option<String>,
    /// Jira issue type (preset `jira`). Default `Bug`.
    #[serde(default)]
    pub issue_type: Option<String>,
    /// ServiceNow assignment group (preset `servicenow`). Default empty.
    #[serde(default)]
    pub assignment_group: Option<String>,
    /// Queue, retry and spill.
    #[serde(default)]
    pub delivery: DeliveryConfig,
}

impl WebhookConfig {
    /// The preset fields that are set, as template variables (`var.<name>`).
    pub fn preset_vars(&self) -> Vec<(String, String)> {
        [
            ("api_key", &self.api_key),
            ("project_key", &self.project_key),
            ("issue_type", &self.issue_type),
            ("assignment_group", &self.assignment_group),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| (k.to_owned(), v.clone())))
        .collect()
    }

    /// Every problem, each under `field.<key>` (`field` is e.g. `targets[2]`).
    pub fn validate(&self, field: &str) -> Vec<ConfigError> {
        let mut errs = self.delivery.validate(field);
        check_url(&self.url, field, &mut errs);
        if let Some(t) = &self.body_template {
            if let Err(e) = Template::compile(t) {
                errs.push(ConfigError::unlocated(
                    format!("{field}.body_template"),
                    e.to_string(),
                ));
            }
        }
        for name in self.headers.keys() {
            if name.is_empty()
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
            {
                errs.push(ConfigError::unlocated(
                    format!("{field}.headers"),
                    format!("`{name}` is not a valid header name"),
                ));
            }
        }
        if let Some(p) = &self.preset {
            match presets::find(p) {
                None => errs.push(ConfigError::unlocated(
                    format!("{field}.preset"),
                    format!("unknown preset `{p}` (known: opsgenie, servicenow, jira)"),
                )),
                Some(preset) => {
                    let vars = self.preset_vars();
                    for need in preset.needs {
                        if !vars.iter().any(|(k, _)| k == need) {
                            errs.push(ConfigError::unlocated(
                                format!("{field}.{need}"),
                                format!("required by preset `{p}`"),
                            ));
                        }
                    }
                }
            }
            if self.body_template.is_some() {
                errs.push(ConfigError::unlocated(
                    format!("{field}.body_template"),
                    "set either `preset` or `body_template`, not both",
                ));
            }
        }
        errs
    }
}

/// `type = "pagerduty"`: PagerDuty Events API v2, one event per alert (routed events are not
/// sent; they are counted as unsupported).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PagerDutyConfig {
    /// Unique target name. Required.
    pub name: String,
    /// The service integration's routing key. Required.
    pub routing_key: String,
    /// Events endpoint. Default `https://events.pagerduty.com/v2/enqueue`.
    #[serde(default = "PagerDutyConfig::default_url")]
    pub url: String,
    /// `payload.source`; empty means the alert's entity. Default `""`.
    #[serde(default)]
    pub source: String,
    /// Queue, retry and spill.
    #[serde(default)]
    pub delivery: DeliveryConfig,
}

impl PagerDutyConfig {
    fn default_url() -> String {
        "https://events.pagerduty.com/v2/enqueue".to_owned()
    }

    /// Every problem, each under `field.<key>`.
    pub fn validate(&self, field: &str) -> Vec<ConfigError> {
        let mut errs = self.delivery.validate(field);
        check_url(&self.url, field, &mut errs);
        if self.routing_key.trim().is_empty() {
            errs.push(ConfigError::unlocated(
                format!("{field}.routing_key"),
                "must not be empty",
            ));
        }
        errs
    }
}

/// `type = "slack"`: a Slack incoming webhook; one message per notification or event batch.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SlackConfig {
    /// Unique target name. Required.
    pub name: String,
    /// The incoming-webhook URL. Required.
    pub url: String,
    /// Channel override (legacy webhooks honour it). Default: the webhook's own.
    #[serde(default)]
    pub channel: Option<String>,
    /// Queue, retry and spill.
    #[serde(default)]
    pub delivery: DeliveryConfig,
}

impl SlackConfig {
    /// Every problem, each under `field.<key>`.
    pub fn validate(&self, field: &str) -> Vec<ConfigError> {
        let mut errs = self.delivery.validate(field);
        check_url(&self.url, field, &mut errs);
        errs
    }
}

/// Transport of a syslog forward.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SyslogProtocol {
    /// TCP with octet-counting framing (RFC 6587). Default.
    #[default]
    Tcp,
    /// UDP, one datagram per line (RFC 5426).
    Udp,
}

/// `type = "syslog"`: RFC 5424 lines for events and alerts to a syslog collector.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SyslogConfig {
    /// Unique target name. Required.
    pub name: String,
    /// Collector `host:port`. Required.
    pub address: String,
    /// `tcp` (default) or `udp`.
    #[serde(default)]
    pub protocol: SyslogProtocol,
    /// Facility name (`kern` .. `local7`). Default `local0`.
    #[serde(default = "SyslogConfig::default_facility")]
    pub facility: String,
    /// HOSTNAME of alert lines and of events without `device.hostname`. Default `-`.
    #[serde(default = "SyslogConfig::default_hostname")]
    pub hostname: String,
    /// Queue, retry and spill.
    #[serde(default)]
    pub delivery: DeliveryConfig,
}

impl SyslogConfig {
    fn default_facility() -> String {
        "local0".to_owned()
    }
    fn default_hostname() -> String {
        "-".to_owned()
    }

    /// The facility code (local0 when the name is unknown; `validate` reports that).
    pub fn facility_code(&self) -> u8 {
        syslog::facility_code(&self.facility).unwrap_or(16)
    }

    /// Every problem, each under `field.<key>`.
    pub fn validate(&self, field: &str) -> Vec<ConfigError> {
        let mut errs = self.delivery.validate(field);
        let port_ok = self.address.rsplit_once(':').is_some_and(|(host, port)| {
            !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0)
        });
        if !port_ok {
            errs.push(ConfigError::unlocated(
                format!("{field}.address"),
                format!("`{}` is not host:port", self.address),
            ));
        }
        if syslog::facility_code(&self.facility).is_none() {
            errs.push(ConfigError::unlocated(
                format!("{field}.facility"),
                format!("unknown facility `{}` (kern .. local7)", self.facility),
            ));
        }
        errs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_toml_with_defaults_and_preset_checks() {
        let w: WebhookConfig = toml::from_str(
            r#"name = "og"
               url = "https://api.opsgenie.com"
               preset = "opsgenie"
               [delivery]
               max_attempts = 3"#,
        )
        .unwrap();
        assert_eq!(w.method, HttpMethod::POST);
        assert_eq!(w.delivery.max_attempts, 3);
        assert_eq!(w.delivery.queue_capacity, 10_000);
        let errs = w.validate("targets[0]");
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].field, "targets[0].api_key");
        assert!(toml::from_str::<WebhookConfig>("name=\"a\"\nurl=\"http://x\"\nbogus=1").is_err());
    }

    #[test]
    fn bad_values_are_reported_together() {
        let w = WebhookConfig {
            name: "w".into(),
            url: "ftp://x".into(),
            method: HttpMethod::PUT,
            headers: [("Bad Header".to_owned(), "v".to_owned())].into(),
            body_template: Some("{{ x | nope }}".into()),
            preset: None,
            api_key: None,
            project_key: None,
            issue_type: None,
            assignment_group: None,
            delivery: DeliveryConfig {
                backoff_max_ms: 1,
                ..DeliveryConfig::default()
            },
        };
        let fields: Vec<String> = w.validate("t").into_iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            [
                "t.delivery.backoff_max_ms",
                "t.url",
                "t.body_template",
                "t.headers"
            ]
        );
    }

    #[test]
    fn syslog_and_pagerduty_defaults() {
        let s: SyslogConfig = toml::from_str("name=\"s\"\naddress=\"127.0.0.1:514\"").unwrap();
        assert_eq!((s.protocol, s.facility_code()), (SyslogProtocol::Tcp, 16));
        assert!(s.validate("t").is_empty());
        let bad = SyslogConfig {
            address: "nohost".into(),
            facility: "local9".into(),
            ..s
        };
        assert_eq!(bad.validate("t").len(), 2);
        let p: PagerDutyConfig = toml::from_str("name=\"p\"\nrouting_key=\"k\"").unwrap();
        assert_eq!(p.url, "https://events.pagerduty.com/v2/enqueue");
        assert!(p.validate("t").is_empty());
    }
}
