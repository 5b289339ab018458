//! Webhook presets: the request templates for Opsgenie, ServiceNow and Jira, shipped as
//! constants and chosen by `preset = "..."` on a webhook target. Each preset renders one
//! request per alert of a notification, picked by the alert's action; the templates read the
//! alert (`alert.*`) and the target's preset fields (`var.*`).

/// One request of a preset: the method, the path appended to the target's `url`, and the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PresetCall {
    /// HTTP method.
    pub method: &'static str,
    /// Template of the path appended to the configured base `url`.
    pub path: &'static str,
    /// Template of the JSON body.
    pub body: &'static str,
}

/// A webhook preset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preset {
    /// `preset = "<name>"`.
    pub name: &'static str,
    /// The webhook config fields it needs (`api_key`, `project_key`).
    pub needs: &'static [&'static str],
    /// Header templates it adds (before the configured `headers`, which win).
    pub headers: &'static [(&'static str, &'static str)],
    /// The request for a firing alert.
    pub trigger: PresetCall,
    /// The request for an acknowledged alert (`None`: not sent, counted unsupported).
    pub acknowledge: Option<PresetCall>,
    /// The request for a resolved alert (`None`: not sent, counted unsupported).
    pub resolve: Option<PresetCall>,
}

/// Opsgenie Alert API: create with `alias` = dedup key, then acknowledge and close by alias.
/// `url` is the API base (`https://api.opsgenie.com`, or `https://api.eu.opsgenie.com`).
/// Priorities: P1..P3 as is, P4 (informational) -> P5.
pub const OPSGENIE: Preset = Preset {
    name: "opsgenie",
    needs: &["api_key"],
    headers: &[("Authorization", "GenieKey {{ var.api_key }}")],
    trigger: PresetCall {
        method: "POST",
        path: "/v2/alerts",
        body: r#"{"message":{{ alert.title | truncate 130 | json }},"alias":{{ alert.dedup_key | json }},"description":{{ alert.summary | truncate 15000 | json }},"priority":{{ alert.priority | map "P1=P1,P2=P2,P3=P3,P4=P5" | json }},"entity":{{ alert.entity | json }},"source":"tocsin","tags":["tocsin",{{ alert.kind | json }}],"details":{{ alert.labels }}}"#,
    },
    acknowledge: Some(PresetCall {
        method: "POST",
        path: "/v2/alerts/{{ alert.dedup_key | url }}/acknowledge?identifierType=alias",
        body: r#"{"source":"tocsin","user":"tocsin","note":"acknowledged in tocsin"}"#,
    }),
    resolve: Some(PresetCall {
        method: "POST",
        path: "/v2/alerts/{{ alert.dedup_key | url }}/close?identifierType=alias",
        body: r#"{"source":"tocsin","user":"tocsin","note":"resolved in tocsin"}"#,
    }),
};

/// ServiceNow Table API: a new incident per firing alert, `correlation_id` = dedup key.
/// `url` is the instance (`https://<instance>.service-now.com`); credentials go in `headers`
/// (`Authorization = "Basic ..."`). Urgency/impact: P1 1/1, P2 1/2, P3 2/2, P4 3/3.
pub const SERVICENOW: Preset = Preset {
    name: "servicenow",
    needs: &[],
    headers: &[("Accept", "application/json")],
    trigger: PresetCall {
        method: "POST",
        path: "/api/now/table/incident",
        body: r#"{"short_description":{{ alert.title | truncate 160 | json }},"description":{{ alert.summary | json }},"urgency":{{ alert.priority | map "P1=1,P2=1,P3=2,P4=3" | json }},"impact":{{ alert.priority | map "P1=1,P2=2,P3=2,P4=3" | json }},"correlation_id":{{ alert.dedup_key | json }},"correlation_display":"tocsin","cmdb_ci":{{ alert.entity | json }},"assignment_group":{{ var.assignment_group | default "" | json }}}"#,
    },
    acknowledge: None,
    resolve: None,
};

/// Jira REST API v2: a new issue per firing alert in `project_key`, of `issue_type` (default
/// `Bug`). `url` is the site (`https://<site>.atlassian.net`); credentials go in `headers`.
/// Priority names: P1 Highest, P2 High, P3 Medium, P4 Low.
pub const JIRA: Preset = Preset {
    name: "jira",
    needs: &["project_key"],
    headers: &[],
    trigger: PresetCall {
        method: "POST",
        path: "/rest/api/2/issue",
        body: r#"{"fields":{"project":{"key":{{ var.project_key | json }}},"summary":{{ alert.title | truncate 255 | json }},"description":{{ alert.summary | json }},"issuetype":{"name":{{ var.issue_type | default "Bug" | json }}},"priority":{"name":{{ alert.priority | map "P1=Highest,P2=High,P3=Medium,P4=Low" | json }}},"labels":["tocsin"]}}"#,
    },
    acknowledge: None,
    resolve: None,
};

/// Every preset.
pub const ALL: [&Preset; 3] = [&OPSGENIE, &SERVICENOW, &JIRA];

/// The preset called `name`.
pub fn find(name: &str) -> Option<&'static Preset> {
    ALL.into_iter().find(|p| p.name == name)
}

impl Preset {
    /// The call for an action.
    pub fn call(&self, action: super::NotifyAction) -> Option<&PresetCall> {
        match action {
            super::NotifyAction::Trigger => Some(&self.trigger),
            super::NotifyAction::Acknowledge => self.acknowledge.as_ref(),
            super::NotifyAction::Resolve => self.resolve.as_ref(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::template::{Template, WithVars};
    use crate::notify::tests::sample;
    use crate::notify::{AlertLookup, NotifyAction};
    use serde_json::{json, Value};

    fn render(t: &str, vars: &[(String, String)], action: NotifyAction) -> String {
        let n = sample();
        let mut alert = n.alerts[0].clone();
        alert.action = action;
        alert.priority = crate::alert::Priority::P4;
        let l = AlertLookup {
            notification: &n,
            alert: &alert,
        };
        Template::compile(t)
            .unwrap()
            .render_to_string(&WithVars { vars, inner: &l })
    }

    #[test]
    fn every_preset_template_compiles() {
        for p in ALL {
            for call in [Some(&p.trigger), p.acknowledge.as_ref(), p.resolve.as_ref()]
                .into_iter()
                .flatten()
            {
                Template::compile(call.path).unwrap();
                Template::compile(call.body).unwrap();
            }
            for (_, v) in p.headers {
                Template::compile(v).unwrap();
            }
        }
        assert_eq!(find("jira").map(|p| p.name), Some("jira"));
        assert!(find("nagios").is_none());
    }

    #[test]
    fn opsgenie_create_and_close() {
        let body: Value =
            serde_json::from_str(&render(OPSGENIE.trigger.body, &[], NotifyAction::Trigger))
                .unwrap();
        assert_eq!(
            body,
            json!({"message": "Brute force on web-1", "alias": "fp-3f2a",
                "description": "42 failed logins in 60 s", "priority": "P5", "entity": "web-1",
                "source": "tocsin", "tags": ["tocsin", "brute_force"], "details": {"team": "sec"}})
        );
        let close = OPSGENIE.call(NotifyAction::Resolve).unwrap();
        assert_eq!(
            render(close.path, &[], NotifyAction::Resolve),
            "/v2/alerts/fp-3f2a/close?identifierType=alias"
        );
        let vars = vec![("api_key".to_owned(), "k-1".to_owned())];
        assert_eq!(
            render(OPSGENIE.headers[0].1, &vars, NotifyAction::Trigger),
            "GenieKey k-1"
        );
    }

    #[test]
    fn servicenow_and_jira_bodies() {
        let sn: Value =
            serde_json::from_str(&render(SERVICENOW.trigger.body, &[], NotifyAction::Trigger))
                .unwrap();
        assert_eq!(sn["urgency"], "3");
        assert_eq!(sn["impact"], "3");
        assert_eq!(sn["correlation_id"], "fp-3f2a");
        assert_eq!(sn["assignment_group"], "");
        assert!(SERVICENOW.call(NotifyAction::Resolve).is_none());
        let vars = vec![("project_key".to_owned(), "OPS".to_owned())];
        let jira: Value =
            serde_json::from_str(&render(JIRA.trigger.body, &vars, NotifyAction::Trigger)).unwrap();
        assert_eq!(
            jira,
            json!({"fields": {"project": {"key": "OPS"}, "summary": "Brute force on web-1",
                "description": "42 failed logins in 60 s", "issuetype": {"name": "Bug"},
                "priority": {"name": "Low"}, "labels": ["tocsin"]}})
        );
    }
}
