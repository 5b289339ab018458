use super::*;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::mpsc;

fn policy(allowed: &[&str]) -> RemediationPolicy {
    RemediationPolicy {
        allowed_commands: allowed.iter().map(|s| s.to_string()).collect(),
        ..RemediationPolicy::default()
    }
}

fn command(program: &str, args: &[&str], timeout_ms: Option<u64>) -> RemediationSpec {
    RemediationSpec::Command {
        program: program.to_string(),
        args: args.iter().map(|s| s.to_string()).collect(),
        timeout_ms,
    }
}

fn webhook(url: &str, body: Option<&str>, timeout_ms: Option<u64>) -> RemediationSpec {
    RemediationSpec::Webhook {
        url: url.to_string(),
        method: None,
        body: body.map(str::to_string),
        timeout_ms,
    }
}

/// Renders `{{ alert.entity }}` as `x`, `{{ bad }}` as an error, `{{ nl }}` as text with a
/// newline; anything else is returned as written.
fn render(template: &str) -> Result<String, String> {
    Ok(match template {
        "{{ alert.entity }}" => "x".to_string(),
        "{{ nl }}" => "x\nrm -rf /".to_string(),
        "{{ nul }}" => "x\0".to_string(),
        "{{ bad }}" => return Err("unknown variable `bad`".to_string()),
        other => other.replace("{{ alert.entity }}", "x"),
    })
}

async fn run(spec: &RemediationSpec, policy: &RemediationPolicy) -> RunOutcome {
    run_remediation(spec, policy, &render, &reqwest::Client::new()).await
}

#[tokio::test]
async fn a_command_with_a_rendered_argument_succeeds() {
    let out = run(
        &command("/bin/echo", &["{{ alert.entity }}"], None),
        &policy(&["/bin/echo"]),
    )
    .await;
    assert_eq!(out.action, "command /bin/echo x");
    assert_eq!(out.output, "x\n");
    assert_eq!(out.exit_code, Some(0));
    assert!(out.ok);
    assert!(
        out.started_ms > 0 && out.finished_ms >= out.started_ms,
        "{out:?}"
    );
}

#[tokio::test]
async fn an_argument_is_never_split_or_interpreted_by_a_shell() {
    let out = run(
        &command("/bin/echo", &["a; echo $HOME", "", "b"], None),
        &policy(&["/bin/echo"]),
    )
    .await;
    assert_eq!(out.action, "command /bin/echo \"a; echo $HOME\" \"\" b");
    assert_eq!(out.output, "a; echo $HOME  b\n");
    assert!(out.ok);
}

#[tokio::test]
async fn a_failing_command_is_not_ok() {
    let out = run(&command("/bin/false", &[], None), &policy(&["/bin/false"])).await;
    assert_eq!(out.exit_code, Some(1));
    assert!(!out.ok);
    assert_eq!(out.output, "");
}

#[tokio::test]
async fn stderr_is_captured_with_stdout() {
    let out = run(
        &command("/bin/sleep", &["not-a-number"], None),
        &policy(&["/bin/sleep"]),
    )
    .await;
    assert!(!out.ok);
    assert_eq!(out.exit_code, Some(1));
    assert!(out.output.contains("invalid time interval"), "{out:?}");
}

#[tokio::test]
async fn a_command_past_its_timeout_is_killed() {
    let out = run(
        &command("/bin/sleep", &["5"], Some(200)),
        &policy(&["/bin/sleep"]),
    )
    .await;
    assert_eq!(out.output, "timed out after 200 ms; killed");
    assert_eq!(out.exit_code, None);
    assert!(!out.ok);
}

#[tokio::test]
async fn a_timed_out_command_keeps_its_output_so_far() {
    let p = RemediationPolicy {
        max_output_bytes: 4,
        ..policy(&["/usr/bin/yes"])
    };
    let out = run(&command("/usr/bin/yes", &[], Some(200)), &p).await;
    assert!(
        out.output
            .starts_with("timed out after 200 ms; killed\ny\ny\n[truncated "),
        "{}",
        out.output
    );
    assert!(out.output.ends_with(" bytes]"), "{}", out.output);
    assert_eq!(out.exit_code, None);
    assert!(!out.ok);
}

#[tokio::test]
async fn a_program_not_allowed_is_refused_without_running() {
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => panic!("tempdir: {e}"),
    };
    let marker = dir.path().join("touched");
    let marker = marker.to_string_lossy().into_owned();
    let out = run(
        &command("/usr/bin/touch", &[marker.as_str()], None),
        &policy(&["/bin/echo"]),
    )
    .await;
    assert_eq!(
        out.output,
        "not allowed: /usr/bin/touch is not in remediation.allowed_commands"
    );
    assert_eq!(out.action, format!("command /usr/bin/touch {marker}"));
    assert!(!out.ok);
    assert_eq!(out.exit_code, None);
    assert!(
        !std::path::Path::new(&marker).exists(),
        "touch must not have run"
    );

    let relative = run(&command("echo", &[], None), &policy(&["echo"])).await;
    assert_eq!(relative.output, "not allowed: echo is not an absolute path");
}

#[tokio::test]
async fn a_missing_program_is_a_spawn_failure() {
    let out = run(
        &command("/nonexistent/remedy", &[], None),
        &policy(&["/nonexistent/remedy"]),
    )
    .await;
    assert_eq!(
        out.output,
        "spawn failed: /nonexistent/remedy: No such file or directory (os error 2)"
    );
    assert!(!out.ok);
}

#[tokio::test]
async fn long_output_is_truncated_with_a_marker() {
    let p = RemediationPolicy {
        max_output_bytes: 1000,
        ..policy(&["/usr/bin/head"])
    };
    let out = run(
        &command("/usr/bin/head", &["-c", "100000", "/dev/zero"], None),
        &p,
    )
    .await;
    assert!(out.ok);
    assert_eq!(out.exit_code, Some(0));
    let expected = format!("{}\n[truncated 99000 bytes]", "\0".repeat(1000));
    assert_eq!(out.output, expected);
}

#[tokio::test]
async fn a_render_error_runs_nothing() {
    let out = run(
        &command("/bin/echo", &["ok", "{{ bad }}"], None),
        &policy(&["/bin/echo"]),
    )
    .await;
    assert_eq!(
        out.output,
        "render failed for argument 2: unknown variable `bad`"
    );
    assert_eq!(out.action, "command /bin/echo ok \"{{ bad }}\"");
    assert!(!out.ok);
    assert_eq!(out.exit_code, None);

    let hook = run(
        &webhook("http://127.0.0.1:9/", Some("{{ bad }}"), None),
        &policy(&[]),
    )
    .await;
    assert_eq!(
        hook.output,
        "render failed for body: unknown variable `bad`"
    );
    assert_eq!(hook.action, "webhook POST http://127.0.0.1:9/");
}

#[tokio::test]
async fn a_rendered_newline_or_nul_is_refused() {
    let p = policy(&["/bin/echo"]);
    let nl = run(&command("/bin/echo", &["{{ nl }}"], None), &p).await;
    assert_eq!(
        nl.output,
        "refused: argument 1 (\"{{ nl }}\") renders to text containing a line break; \
         nothing was run"
    );
    assert!(!nl.ok);
    let nul = run(&command("/bin/echo", &["a", "{{ nul }}"], None), &p).await;
    assert_eq!(
        nul.output,
        "refused: argument 2 (\"{{ nul }}\") renders to text containing a NUL byte; \
         nothing was run"
    );
}

#[tokio::test]
async fn out_of_range_timeouts_and_bad_urls_are_refused_at_run_time() {
    let cmd = run(&command("/bin/echo", &[], Some(0)), &policy(&["/bin/echo"])).await;
    assert_eq!(
        cmd.output,
        "refused: timeout_ms 0 is out of range, expected 1..=600000"
    );
    let hook = run(&webhook("file:///etc/passwd", None, None), &policy(&[])).await;
    assert_eq!(
        hook.output,
        "refused: \"file:///etc/passwd\" is not an http or https URL"
    );
}

/// Answers one HTTP request on 127.0.0.1 with `status` (e.g. `"200 OK"`) and body `done`, and
/// hands back the request's head and body.
fn one_shot_server(status: &'static str) -> (SocketAddr, mpsc::Receiver<(String, String)>) {
    let listener = match TcpListener::bind("127.0.0.1:0") {
        Ok(l) => l,
        Err(e) => panic!("bind: {e}"),
    };
    let addr = match listener.local_addr() {
        Ok(a) => a,
        Err(e) => panic!("local_addr: {e}"),
    };
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let Ok((mut stream, _)) = listener.accept() else {
            return;
        };
        // Only a guard against a hung test, not a timing assertion.
        let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(10)));
        let mut data = Vec::new();
        let mut buf = [0u8; 4096];
        let head_end = loop {
            if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => data.extend_from_slice(&buf[..n]),
            }
        };
        let head = String::from_utf8_lossy(&data[..head_end]).into_owned();
        let length = head
            .lines()
            .filter_map(|l| l.split_once(':'))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.trim().parse::<usize>().ok())
            .unwrap_or(0);
        while data.len() < head_end + length {
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => data.extend_from_slice(&buf[..n]),
            }
        }
        let body = String::from_utf8_lossy(&data[head_end..head_end + length]).into_owned();
        let answer =
            format!("HTTP/1.1 {status}\r\nContent-Length: 4\r\nConnection: close\r\n\r\ndone");
        let _ = stream.write_all(answer.as_bytes());
        let _ = tx.send((head, body));
    });
    (addr, rx)
}

#[tokio::test]
async fn a_webhook_sends_the_rendered_body() {
    let (addr, received) = one_shot_server("200 OK");
    let url = format!("http://{addr}/hooks/block");
    let out = run(
        &webhook(
            &url,
            Some("{\"entity\": \"{{ alert.entity }}\"}"),
            Some(5000),
        ),
        &policy(&[]),
    )
    .await;
    assert_eq!(out.action, format!("webhook POST {url}"));
    assert_eq!(out.output, "HTTP 200\ndone");
    assert!(out.ok);
    assert_eq!(out.exit_code, None);
    let (head, body) = match received.recv() {
        Ok(r) => r,
        Err(e) => panic!("the server got no request: {e}"),
    };
    assert!(head.starts_with("POST /hooks/block HTTP/1.1\r\n"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("\r\ncontent-type: application/json\r\n"),
        "{head}"
    );
    assert_eq!(body, "{\"entity\": \"x\"}");
}

#[tokio::test]
async fn a_webhook_answered_with_an_error_status_is_not_ok() {
    let (addr, _received) = one_shot_server("503 Service Unavailable");
    let hook = RemediationSpec::Webhook {
        url: format!("http://{addr}/"),
        method: Some("put".to_string()),
        body: None,
        timeout_ms: Some(5000),
    };
    let out = run(&hook, &policy(&[])).await;
    assert_eq!(out.action, format!("webhook PUT http://{addr}/"));
    assert_eq!(out.output, "HTTP 503\ndone");
    assert!(!out.ok);
}

#[tokio::test]
async fn a_webhook_to_a_closed_port_fails_to_connect() {
    let port = match TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()) {
        Ok(a) => a.port(),
        Err(e) => panic!("bind: {e}"),
    };
    // The listener is dropped: nothing listens on `port` any more.
    let out = run(
        &webhook(&format!("http://127.0.0.1:{port}/"), Some("{}"), Some(5000)),
        &policy(&[]),
    )
    .await;
    assert!(!out.ok);
    assert_eq!(out.exit_code, None);
    assert!(out.output.starts_with("connect failed: "), "{}", out.output);
    assert!(out.output.contains("Connection refused"), "{}", out.output);
}

/// The future fits an actix actor: a render closure that is not `Send` (it holds an `Rc`)
/// and a handler that returns the run as the actor's future.
#[actix_rt::test]
async fn runs_inside_an_actix_actor() {
    use actix::prelude::*;
    use std::rc::Rc;

    struct Remediator {
        entity: Rc<String>,
        policy: RemediationPolicy,
        client: reqwest::Client,
    }
    impl Actor for Remediator {
        type Context = Context<Self>;
    }
    struct Remediate(RemediationSpec);
    impl Message for Remediate {
        type Result = RunOutcome;
    }
    impl Handler<Remediate> for Remediator {
        type Result = ResponseActFuture<Self, RunOutcome>;
        fn handle(&mut self, msg: Remediate, _: &mut Context<Self>) -> Self::Result {
            let entity = Rc::clone(&self.entity);
            let render = move |t: &str| Ok::<_, String>(t.replace("{{ alert.entity }}", &entity));
            Box::pin(run_remediation(&msg.0, &self.policy, &render, &self.client).into_actor(self))
        }
    }

    let addr = Remediator {
        entity: Rc::new("10.0.0.7".to_string()),
        policy: policy(&["/bin/echo"]),
        client: reqwest::Client::new(),
    }
    .start();
    let out = match addr
        .send(Remediate(command(
            "/bin/echo",
            &["{{ alert.entity }}"],
            None,
        )))
        .await
    {
        Ok(o) => o,
        Err(e) => panic!("mailbox: {e}"),
    };
    assert_eq!(out.output, "10.0.0.7\n");
    assert!(out.ok);
}
