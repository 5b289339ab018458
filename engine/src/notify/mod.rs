//! Notification payloads: what each kind of target (webhook, PagerDuty, Slack, syslog, ...)
//! sends for an event or an alert notification.
