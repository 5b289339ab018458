//! Runbooks: what an operator reads and may run for an alert.
//!
//! Each alert kind may have a runbook: a URL for humans and an optional remediation action
//! (an HTTP webhook or an allow-listed command) that an operator starts through the API
//! (`POST /api/v1/alerts/{id}/remediate`). This module holds the config types, their checks
//! (no I/O) and the lookup by alert kind; running an action lives in `tocsin-actors`
//! (`runbook::run_remediation`), which re-checks the allow-list at run time.
//!
//! ```toml
//! [remediation]
//! allowed_commands = ["/usr/local/bin/block-ip"]
//! max_output_bytes = 65536
//! default_timeout_ms = 30000
//!
//! [[runbooks]]
//! name = "brute-force"
//! kind = "brute_force"
//! url = "https://wiki.example/runbooks/brute-force"
//! action = { type = "command", program = "/usr/local/bin/block-ip", args = ["{{ alert.entity }}"], timeout_ms = 5000 }
//!
//! [[runbooks]]
//! name = "disk-full"
//! kind = "disk_full"
//! action = { type = "webhook", url = "https://ops.example/hooks/cleanup", body = "{\"host\": \"{{ alert.entity }}\"}" }
//! ```
//!
//! Command arguments are template texts, each rendered to exactly one argument; no shell is
//! ever involved, so an entity like `a; rm -rf /` stays one harmless argument.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Shortest timeout an action may have, in milliseconds.
pub const MIN_TIMEOUT_MS: u64 = 1;
/// Longest timeout an action may have: ten minutes, in milliseconds.
pub const MAX_TIMEOUT_MS: u64 = 10 * 60 * 1000;
/// HTTP methods a webhook action may use.
pub const WEBHOOK_METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE"];

/// One runbook: documentation and an optional remediation for an alert kind.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RunbookSpec {
    /// Unique name of the runbook; routing rules may attach a runbook by this name.
    pub name: String,
    /// Alert kind it applies to, e.g. `"brute_force"`. Unset: the runbook is attached only by
    /// name. At most one runbook per kind.
    #[serde(default)]
    pub kind: Option<String>,
    /// Link to the human-readable runbook (http or https).
    #[serde(default)]
    pub url: Option<String>,
    /// Remediation an operator may run for the alert. Unset: documentation only.
    #[serde(default)]
    pub action: Option<RemediationSpec>,
}

/// A remediation action, run by an operator on demand, never automatically.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum RemediationSpec {
    /// Send an HTTP request; a 2xx answer is success.
    Webhook {
        /// Where to send it (http or https). Used as written, not templated.
        url: String,
        /// HTTP method, one of GET, POST, PUT, PATCH, DELETE (any case). Default POST.
        #[serde(default)]
        method: Option<String>,
        /// Request body as a template text, sent as `application/json`. Default: empty.
        #[serde(default)]
        body: Option<String>,
        /// Time limit for the whole request, 1..=600000 ms. Default:
        /// `remediation.default_timeout_ms`.
        #[serde(default)]
        timeout_ms: Option<u64>,
    },
    /// Run a program directly (no shell); exit status 0 is success.
    Command {
        /// Absolute path of the program; must be listed in `remediation.allowed_commands`.
        program: String,
        /// Arguments, each a template text (e.g. `"{{ alert.entity }}"`) rendered to exactly
        /// one argument; a rendered argument containing NUL or a newline is refused.
        #[serde(default)]
        args: Vec<String>,
        /// Time limit, 1..=600000 ms; at the limit the program is killed. Default:
        /// `remediation.default_timeout_ms`.
        #[serde(default)]
        timeout_ms: Option<u64>,
    },
}

impl RemediationSpec {
    /// The action's own timeout, if it sets one.
    pub fn timeout_ms(&self) -> Option<u64> {
        match self {
            RemediationSpec::Webhook { timeout_ms, .. }
            | RemediationSpec::Command { timeout_ms, .. } => *timeout_ms,
        }
    }

    /// The timeout that applies under `policy`: the action's own, else the policy default.
    pub fn effective_timeout_ms(&self, policy: &RemediationPolicy) -> u64 {
        self.timeout_ms().unwrap_or(policy.default_timeout_ms)
    }
}

/// `[remediation]`: what remediation actions may do, for all runbooks.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RemediationPolicy {
    /// Absolute paths of the programs a command action may run. Empty by default: no command
    /// action may run until the operator lists its program here.
    #[serde(default)]
    pub allowed_commands: Vec<String>,
    /// Most bytes of output kept per run (command stdout and stderr together, or a webhook's
    /// response body); the rest is counted in a `[truncated N bytes]` marker. Default 65536.
    #[serde(default = "default_max_output_bytes")]
    pub max_output_bytes: usize,
    /// Timeout of actions that set none, 1..=600000 ms. Default 30000.
    #[serde(default = "default_timeout_ms")]
    pub default_timeout_ms: u64,
}

fn default_max_output_bytes() -> usize {
    65536
}

fn default_timeout_ms() -> u64 {
    30_000
}

impl Default for RemediationPolicy {
    fn default() -> Self {
        RemediationPolicy {
            allowed_commands: Vec::new(),
            max_output_bytes: default_max_output_bytes(),
            default_timeout_ms: default_timeout_ms(),
        }
    }
}

impl RemediationPolicy {
    /// Why `program` may not run under this policy, or `None` when it may. Checked both by
    /// [`validate`] and again just before a command runs.
    pub fn refuse_program(&self, program: &str) -> Option<String> {
        if !program.starts_with('/') {
            return Some(format!("not allowed: {program} is not an absolute path"));
        }
        if !self.allowed_commands.iter().any(|p| p == program) {
            return Some(format!(
                "not allowed: {program} is not in remediation.allowed_commands"
            ));
        }
        None
    }
}

/// Whether `url` is an absolute http or https URL with a host.
pub fn is_http_url(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("http://")
        .or_else(|| lower.strip_prefix("https://"));
    match rest {
        Some(rest) => {
            let host = rest.split(['/', '?', '#']).next().unwrap_or("");
            !host.is_empty() && !host.starts_with(':') && !url.chars().any(char::is_whitespace)
        }
        None => false,
    }
}

/// Why `timeout_ms` is out of range, or `None`.
pub fn check_timeout_ms(timeout_ms: u64) -> Option<String> {
    if (MIN_TIMEOUT_MS..=MAX_TIMEOUT_MS).contains(&timeout_ms) {
        None
    } else {
        Some(format!(
            "{timeout_ms} is out of range, expected {MIN_TIMEOUT_MS}..={MAX_TIMEOUT_MS}"
        ))
    }
}

/// Every problem of `runbooks` under `policy`, each as `"<field path>: <reason>"` (for example
/// `"runbooks[2].action.program: not allowed: /bin/rm is not in remediation.allowed_commands"`).
/// Checks: the policy itself, unique non-empty names, at most one runbook per kind, http(s)
/// URLs, known webhook methods, timeouts within 1 ms..=10 min, and command programs that are
/// absolute and allow-listed. No I/O: whether a program exists is found out when it runs.
pub fn validate(runbooks: &[RunbookSpec], policy: &RemediationPolicy) -> Result<(), Vec<String>> {
    let mut errors = Vec::new();
    for (i, program) in policy.allowed_commands.iter().enumerate() {
        if !program.starts_with('/') {
            errors.push(format!(
                "remediation.allowed_commands[{i}]: {program} is not an absolute path"
            ));
        }
    }
    if policy.max_output_bytes == 0 {
        errors.push("remediation.max_output_bytes: must be at least 1".to_string());
    }
    if let Some(why) = check_timeout_ms(policy.default_timeout_ms) {
        errors.push(format!("remediation.default_timeout_ms: {why}"));
    }

    let mut names: HashMap<&str, usize> = HashMap::new();
    let mut kinds: HashMap<&str, usize> = HashMap::new();
    for (i, rb) in runbooks.iter().enumerate() {
        let at = format!("runbooks[{i}]");
        if rb.name.trim().is_empty() {
            errors.push(format!("{at}.name: must not be empty"));
        } else if let Some(first) = names.insert(rb.name.as_str(), i) {
            names.insert(rb.name.as_str(), first);
            errors.push(format!(
                "{at}.name: duplicate runbook name \"{}\" (first at runbooks[{first}])",
                rb.name
            ));
        }
        if let Some(kind) = &rb.kind {
            if kind.trim().is_empty() {
                errors.push(format!("{at}.kind: must not be empty when set"));
            } else if let Some(first) = kinds.insert(kind.as_str(), i) {
                kinds.insert(kind.as_str(), first);
                errors.push(format!(
                    "{at}.kind: alert kind \"{kind}\" already has runbooks[{first}]"
                ));
            }
        }
        if let Some(url) = &rb.url {
            if !is_http_url(url) {
                errors.push(format!("{at}.url: \"{url}\" is not an http or https URL"));
            }
        }
        if let Some(action) = &rb.action {
            validate_action(action, policy, &format!("{at}.action"), &mut errors);
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

fn validate_action(
    action: &RemediationSpec,
    policy: &RemediationPolicy,
    at: &str,
    errors: &mut Vec<String>,
) {
    match action {
        RemediationSpec::Webhook { url, method, .. } => {
            if !is_http_url(url) {
                errors.push(format!("{at}.url: \"{url}\" is not an http or https URL"));
            }
            if let Some(m) = method {
                if !WEBHOOK_METHODS.iter().any(|k| k.eq_ignore_ascii_case(m)) {
                    errors.push(format!(
                        "{at}.method: \"{m}\" is not one of {}",
                        WEBHOOK_METHODS.join(", ")
                    ));
                }
            }
        }
        RemediationSpec::Command { program, .. } => {
            if let Some(why) = policy.refuse_program(program) {
                errors.push(format!("{at}.program: {why}"));
            }
        }
    }
    if let Some(t) = action.timeout_ms() {
        if let Some(why) = check_timeout_ms(t) {
            errors.push(format!("{at}.timeout_ms: {why}"));
        }
    }
}

/// The runbook for alerts of `kind`: the first whose `kind` equals it (exact match).
pub fn for_kind<'a>(runbooks: &'a [RunbookSpec], kind: &str) -> Option<&'a RunbookSpec> {
    runbooks.iter().find(|rb| rb.kind.as_deref() == Some(kind))
}

/// The runbook called `name`.
pub fn by_name<'a>(runbooks: &'a [RunbookSpec], name: &str) -> Option<&'a RunbookSpec> {
    runbooks.iter().find(|rb| rb.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(allowed: &[&str]) -> RemediationPolicy {
        RemediationPolicy {
            allowed_commands: allowed.iter().map(|s| s.to_string()).collect(),
            ..RemediationPolicy::default()
        }
    }

    fn command(name: &str, kind: Option<&str>, program: &str) -> RunbookSpec {
        RunbookSpec {
            name: name.to_string(),
            kind: kind.map(str::to_string),
            url: None,
            action: Some(RemediationSpec::Command {
                program: program.to_string(),
                args: vec!["{{ alert.entity }}".to_string()],
                timeout_ms: None,
            }),
        }
    }

    fn webhook(
        name: &str,
        url: &str,
        method: Option<&str>,
        timeout_ms: Option<u64>,
    ) -> RunbookSpec {
        RunbookSpec {
            name: name.to_string(),
            kind: None,
            url: None,
            action: Some(RemediationSpec::Webhook {
                url: url.to_string(),
                method: method.map(str::to_string),
                body: None,
                timeout_ms,
            }),
        }
    }

    #[test]
    fn a_valid_set_passes() {
        let mut rb = command("block", Some("brute_force"), "/usr/local/bin/block-ip");
        rb.url = Some("https://wiki.example/rb/block".to_string());
        let runbooks = vec![
            rb,
            webhook(
                "hook",
                "http://127.0.0.1:9000/x",
                Some("put"),
                Some(600_000),
            ),
        ];
        assert_eq!(
            validate(&runbooks, &policy(&["/usr/local/bin/block-ip"])),
            Ok(())
        );
    }

    #[test]
    fn relative_and_unlisted_programs_are_refused() {
        let runbooks = vec![
            command("a", None, "block-ip"),
            command("b", None, "/bin/rm"),
        ];
        assert_eq!(
            validate(&runbooks, &policy(&["/usr/local/bin/block-ip"])),
            Err(vec![
                "runbooks[0].action.program: not allowed: block-ip is not an absolute path"
                    .to_string(),
                "runbooks[1].action.program: not allowed: /bin/rm is not in \
                 remediation.allowed_commands"
                    .to_string(),
            ])
        );
    }

    #[test]
    fn bad_urls_methods_and_timeouts_are_refused() {
        let mut doc = webhook("a", "ftp://files.example/x", Some("TRACE"), Some(0));
        doc.url = Some("wiki/page".to_string());
        let runbooks = vec![doc, webhook("b", "https://", None, Some(600_001))];
        assert_eq!(
            validate(&runbooks, &policy(&[])),
            Err(vec![
                "runbooks[0].url: \"wiki/page\" is not an http or https URL".to_string(),
                "runbooks[0].action.url: \"ftp://files.example/x\" is not an http or https URL"
                    .to_string(),
                "runbooks[0].action.method: \"TRACE\" is not one of GET, POST, PUT, PATCH, DELETE"
                    .to_string(),
                "runbooks[0].action.timeout_ms: 0 is out of range, expected 1..=600000".to_string(),
                "runbooks[1].action.url: \"https://\" is not an http or https URL".to_string(),
                "runbooks[1].action.timeout_ms: 600001 is out of range, expected 1..=600000"
                    .to_string(),
            ])
        );
    }

    #[test]
    fn duplicate_names_and_kinds_are_refused() {
        let allowed = "/usr/local/bin/block-ip";
        let runbooks = vec![
            command("block", Some("brute_force"), allowed),
            command("block", None, allowed),
            command("other", Some("brute_force"), allowed),
            command(" ", None, allowed),
        ];
        assert_eq!(
            validate(&runbooks, &policy(&[allowed])),
            Err(vec![
                "runbooks[1].name: duplicate runbook name \"block\" (first at runbooks[0])"
                    .to_string(),
                "runbooks[2].kind: alert kind \"brute_force\" already has runbooks[0]".to_string(),
                "runbooks[3].name: must not be empty".to_string(),
            ])
        );
    }

    #[test]
    fn a_bad_policy_is_refused() {
        let p = RemediationPolicy {
            allowed_commands: vec!["bin/x".to_string()],
            max_output_bytes: 0,
            default_timeout_ms: 0,
        };
        assert_eq!(
            validate(&[], &p),
            Err(vec![
                "remediation.allowed_commands[0]: bin/x is not an absolute path".to_string(),
                "remediation.max_output_bytes: must be at least 1".to_string(),
                "remediation.default_timeout_ms: 0 is out of range, expected 1..=600000"
                    .to_string(),
            ])
        );
    }

    #[test]
    fn for_kind_finds_the_runbook_of_a_kind() {
        let runbooks = vec![
            command("by-name-only", None, "/x"),
            command("block", Some("brute_force"), "/x"),
            command("disk", Some("disk_full"), "/y"),
        ];
        assert_eq!(
            for_kind(&runbooks, "disk_full").map(|r| r.name.as_str()),
            Some("disk")
        );
        assert_eq!(
            for_kind(&runbooks, "brute_force").map(|r| r.name.as_str()),
            Some("block")
        );
        assert_eq!(for_kind(&runbooks, "brute").map(|r| r.name.as_str()), None);
        assert_eq!(for_kind(&runbooks, "").map(|r| r.name.as_str()), None);
        assert_eq!(
            by_name(&runbooks, "by-name-only").map(|r| r.kind.clone()),
            Some(None)
        );
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Doc {
        #[serde(default)]
        remediation: RemediationPolicy,
        runbooks: Vec<RunbookSpec>,
    }

    #[test]
    fn toml_form_parses_with_defaults() {
        let doc: Doc = match toml::from_str(
            r#"
            [[runbooks]]
            name = "block"
            kind = "brute_force"
            url = "https://wiki.example/rb"
            action = { type = "command", program = "/usr/local/bin/block-ip", args = ["{{ alert.entity }}"] }

            [[runbooks]]
            name = "hook"
            [runbooks.action]
            type = "webhook"
            url = "https://ops.example/h"
            body = '{"host": "{{ alert.entity }}"}'
            timeout_ms = 2000
            "#,
        ) {
            Ok(d) => d,
            Err(e) => panic!("the example must parse: {e}"),
        };
        assert_eq!(doc.remediation, RemediationPolicy::default());
        assert_eq!(doc.remediation.max_output_bytes, 65536);
        assert_eq!(doc.remediation.default_timeout_ms, 30000);
        assert_eq!(
            doc.runbooks[0].action,
            Some(RemediationSpec::Command {
                program: "/usr/local/bin/block-ip".to_string(),
                args: vec!["{{ alert.entity }}".to_string()],
                timeout_ms: None,
            })
        );
        assert_eq!(
            doc.runbooks[1].action,
            Some(RemediationSpec::Webhook {
                url: "https://ops.example/h".to_string(),
                method: None,
                body: Some("{\"host\": \"{{ alert.entity }}\"}".to_string()),
                timeout_ms: Some(2000),
            })
        );
        assert_eq!(
            doc.runbooks[1]
                .action
                .as_ref()
                .map(|a| a.effective_timeout_ms(&doc.remediation)),
            Some(2000)
        );
    }

    #[test]
    fn unknown_fields_and_types_are_refused() {
        let typo = toml::from_str::<Doc>(
            "[[runbooks]]\nname = \"a\"\naction = { type = \"command\", program = \"/x\", argz = [] }\n",
        );
        assert!(typo.is_err(), "argz must be refused: {typo:?}");
        let kind = toml::from_str::<Doc>(
            "[[runbooks]]\nname = \"a\"\naction = { type = \"shell\", program = \"/x\" }\n",
        );
        assert!(kind.is_err(), "type shell must be refused: {kind:?}");
        let top = toml::from_str::<Doc>("[[runbooks]]\nname = \"a\"\nlink = \"x\"\n");
        assert!(top.is_err(), "link must be refused: {top:?}");
    }
}
