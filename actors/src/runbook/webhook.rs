//! Sending a remediation webhook: one request, JSON content type, 2xx is success.

use super::output::{error_chain, Capture};
use super::{Finished, PreparedWebhook};
use reqwest::header::CONTENT_TYPE;
use std::time::Duration;

/// Sends `w` with `client`; the timeout covers connecting, sending and reading the answer.
pub(super) async fn run(w: PreparedWebhook, client: &reqwest::Client) -> Finished {
    let mut request = client
        .request(w.method, &w.url)
        .timeout(Duration::from_millis(w.timeout_ms))
        .header(CONTENT_TYPE, "application/json");
    if let Some(body) = w.body {
        request = request.body(body);
    }
    let mut response = match request.send().await {
        Ok(r) => r,
        Err(e) => return Finished::failed(describe(&e, w.timeout_ms)),
    };
    let status = response.status();
    let mut capture = Capture::new(w.max_output_bytes);
    let mut read_error = None;
    loop {
        match response.chunk().await {
            Ok(Some(bytes)) => capture.push(&bytes),
            Ok(None) => break,
            Err(e) => {
                read_error = Some(describe(&e, w.timeout_ms));
                break;
            }
        }
    }
    let mut output = format!("HTTP {}\n{}", status.as_u16(), capture.into_text());
    if let Some(e) = read_error {
        output.push_str(&format!("\n[reading the body failed: {e}]"));
    }
    Finished {
        ok: status.is_success(),
        exit_code: None,
        output,
    }
}

fn describe(e: &reqwest::Error, timeout_ms: u64) -> String {
    if e.is_timeout() {
        format!("timed out after {timeout_ms} ms")
    } else if e.is_connect() {
        format!("connect failed: {}", error_chain(e))
    } else {
        format!("request failed: {}", error_chain(e))
    }
}
