//! Running a runbook's remediation action, on an operator's request.
//!
//! The API's `POST /api/v1/alerts/{id}/remediate` hands the alert's
//! [`RemediationSpec`] to [`run_remediation`], which returns a [`RunOutcome`] for the alert's
//! record. Every failure (refused by policy, a template that does not render, spawn or connect
//! errors, a timeout) is an outcome with `ok = false` and a sentence saying why; nothing here
//! panics on input.
//!
//! Templates are rendered synchronously when [`run_remediation`] is called, so the future it
//! returns holds only owned values: it is `Send + 'static` and fits both `tokio::spawn` and
//! `ctx.spawn(fut.into_actor(self))` in an actix actor, even though `render` is neither.
//!
//! Commands run directly (no shell) with stdin closed, a cleared environment (only `PATH`),
//! stdout and stderr captured together in arrival order, and are killed at their timeout or
//! when the future is dropped.

mod command;
mod output;
mod webhook;

use std::future::Future;
use tocsin_engine::clock;
use tocsin_engine::runbook::{check_timeout_ms, is_http_url, RemediationPolicy, RemediationSpec};

/// The record of one remediation run, stored with the alert.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RunOutcome {
    /// What ran: `"webhook POST <url>"` or `"command <program> <args...>"` (rendered arguments;
    /// the raw templates when rendering failed).
    pub action: String,
    /// When the run started, in ms since the Unix epoch.
    pub started_ms: i64,
    /// When the run finished (or was refused), in ms since the Unix epoch.
    pub finished_ms: i64,
    /// Whether it succeeded: exit status 0, or an HTTP 2xx answer.
    pub ok: bool,
    /// The command's exit code; `None` for webhooks, refusals, timeouts and signals.
    pub exit_code: Option<i32>,
    /// For commands, stdout and stderr in arrival order; for webhooks `"HTTP <status>\n<body>"`;
    /// at most `max_output_bytes` of it, then a `[truncated N bytes]` line. On failure, a
    /// sentence saying why (`"not allowed: ..."`, `"timed out after 2000 ms; killed"`,
    /// `"spawn failed: ..."`, `"connect failed: ..."`), followed by any output captured.
    pub output: String,
}

/// Runs `spec` under `policy`. Templates (command arguments, webhook body) are rendered with
/// `render` now, before the returned future is first polled; the policy (allow-list, URL
/// scheme, timeout range) is checked again here, whatever config validation said. The future
/// never panics and always yields an outcome; `client` is cloned into it (cheap).
pub fn run_remediation(
    spec: &RemediationSpec,
    policy: &RemediationPolicy,
    render: &dyn Fn(&str) -> Result<String, String>,
    client: &reqwest::Client,
) -> impl Future<Output = RunOutcome> + Send + 'static {
    let prepared = prepare(spec, policy, render);
    let client = client.clone();
    async move {
        let started_ms = clock::now_ms();
        let (action, result) = match prepared {
            Prepared::Refused { action, reason } => (action, Finished::failed(reason)),
            Prepared::Command(c) => {
                let action = c.describe();
                (action, command::run(c).await)
            }
            Prepared::Webhook(w) => {
                let action = w.describe();
                (action, webhook::run(w, &client).await)
            }
        };
        RunOutcome {
            action,
            started_ms,
            finished_ms: clock::now_ms(),
            ok: result.ok,
            exit_code: result.exit_code,
            output: result.output,
        }
    }
}

/// How a run ended, before timestamps are added.
#[derive(Debug)]
struct Finished {
    ok: bool,
    exit_code: Option<i32>,
    output: String,
}

impl Finished {
    fn failed(output: String) -> Finished {
        Finished {
            ok: false,
            exit_code: None,
            output,
        }
    }
}

/// An action with its templates rendered and the policy applied: only owned values.
#[derive(Debug)]
enum Prepared {
    Refused { action: String, reason: String },
    Command(PreparedCommand),
    Webhook(PreparedWebhook),
}

#[derive(Debug)]
struct PreparedCommand {
    program: String,
    args: Vec<String>,
    timeout_ms: u64,
    max_output_bytes: usize,
}

impl PreparedCommand {
    fn describe(&self) -> String {
        describe_command(&self.program, &self.args)
    }
}

#[derive(Debug)]
struct PreparedWebhook {
    method: reqwest::Method,
    url: String,
    body: Option<String>,
    timeout_ms: u64,
    max_output_bytes: usize,
}

impl PreparedWebhook {
    fn describe(&self) -> String {
        format!("webhook {} {}", self.method, self.url)
    }
}

/// `command <program> <args...>`, quoting arguments that are empty or hold whitespace.
fn describe_command(program: &str, args: &[String]) -> String {
    let mut s = format!("command {program}");
    for a in args {
        s.push(' ');
        if a.is_empty() || a.chars().any(char::is_whitespace) {
            s.push_str(&format!("{a:?}"));
        } else {
            s.push_str(a);
        }
    }
    s
}

fn prepare(
    spec: &RemediationSpec,
    policy: &RemediationPolicy,
    render: &dyn Fn(&str) -> Result<String, String>,
) -> Prepared {
    let timeout_ms = spec.effective_timeout_ms(policy);
    match spec {
        RemediationSpec::Command { program, args, .. } => {
            let refuse = |reason: String| Prepared::Refused {
                action: describe_command(program, args),
                reason,
            };
            if let Some(why) = policy.refuse_program(program) {
                return refuse(why);
            }
            if let Some(why) = check_timeout_ms(timeout_ms) {
                return refuse(format!("refused: timeout_ms {why}"));
            }
            let mut rendered = Vec::with_capacity(args.len());
            for (i, template) in args.iter().enumerate() {
                let n = i + 1;
                match render(template) {
                    Err(e) => return refuse(format!("render failed for argument {n}: {e}")),
                    Ok(v) => {
                        if let Some(bad) = forbidden_char(&v) {
                            return refuse(format!(
                                "refused: argument {n} ({template:?}) renders to text \
                                 containing {bad}; nothing was run"
                            ));
                        }
                        rendered.push(v);
                    }
                }
            }
            Prepared::Command(PreparedCommand {
                program: program.clone(),
                args: rendered,
                timeout_ms,
                max_output_bytes: policy.max_output_bytes,
            })
        }
        RemediationSpec::Webhook {
            url, method, body, ..
        } => {
            let method_text = method.as_deref().unwrap_or("POST").to_ascii_uppercase();
            let refuse = |reason: String| Prepared::Refused {
                action: format!("webhook {method_text} {url}"),
                reason,
            };
            let method = match reqwest::Method::from_bytes(method_text.as_bytes()) {
                Ok(m) if tocsin_engine::runbook::WEBHOOK_METHODS.contains(&m.as_str()) => m,
                _ => return refuse(format!("refused: {method_text:?} is not an allowed method")),
            };
            if !is_http_url(url) {
                return refuse(format!("refused: {url:?} is not an http or https URL"));
            }
            if let Some(why) = check_timeout_ms(timeout_ms) {
                return refuse(format!("refused: timeout_ms {why}"));
            }
            let body = match body.as_deref().map(render).transpose() {
                Ok(b) => b,
                Err(e) => return refuse(format!("render failed for body: {e}")),
            };
            Prepared::Webhook(PreparedWebhook {
                method,
                url: url.clone(),
                body,
                timeout_ms,
                max_output_bytes: policy.max_output_bytes,
            })
        }
    }
}

/// The first character a command argument may not hold, described.
fn forbidden_char(v: &str) -> Option<&'static str> {
    if v.contains('\0') {
        Some("a NUL byte")
    } else if v.contains('\n') || v.contains('\r') {
        Some("a line break")
    } else {
        None
    }
}

#[cfg(test)]
mod tests;
