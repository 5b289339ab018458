//! The real `tocsin` binary: `check-config` exit codes and messages, and SIGTERM during a TCP
//! send loses nothing that was read.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;
use tocsin_tests::{field_u64, http_get, read_ndjson, tocsin_bin, wait_until};

fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

#[test]
fn check_config_passes_the_shipped_config() {
    let out = Command::new(tocsin_bin())
        .args(["check-config", "--config"])
        .arg(workspace_root().join("config/tocsin.toml"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("ok"));
}

#[test]
fn check_config_reports_every_error_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.toml");
    std::fs::write(
        &path,
        r#"[engine]
batch_size = 0
colour = "blue"

[[sources]]
type = "syslog_tcp"
name = "a"
listen = "not-an-address"

[[targets]]
type = "file"
name = "file"

[router]
default_targets = ["nowhere"]
"#,
    )
    .unwrap();
    let out = Command::new(tocsin_bin())
        .args(["check-config", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let file = path.display().to_string();
    for (line, field) in [
        (2, "engine.batch_size"),
        (3, "engine.colour"),
        (8, "sources[0].listen"),
        (15, "router.default_targets"),
    ] {
        assert!(
            stderr
                .lines()
                .any(|l| l.starts_with(&format!("{file}:{line}:")) && l.contains(field)),
            "expected an error at line {line} for {field} in:\n{stderr}"
        );
    }
}

#[test]
fn sigterm_during_a_tcp_send_loses_nothing_that_was_read() {
    const LINES: usize = 100_000;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("tocsin.toml");
    std::fs::write(
        &config,
        format!(
            r#"[engine]
data_dir = "{}"
batch_size = 256
vendors_dir = "{}"
[api]
listen = "127.0.0.1:0"
workers = 1
[[sources]]
type = "syslog_tcp"
name = "tcp"
listen = "127.0.0.1:0"
[[targets]]
type = "file"
name = "file"
[router]
default_targets = ["file"]
"#,
            dir.path().display(),
            tocsin_tests::vendors_dir().display()
        ),
    )
    .unwrap();
    let mut child = Command::new(tocsin_bin())
        .args(["run", "--config"])
        .arg(&config)
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut all = Vec::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line.clone());
            all.push(line);
        }
        all
    });
    let api = loop {
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("engine logs its readiness");
        if let Some(i) = line.find("api=") {
            break line[i + 4..].split_whitespace().next().unwrap().to_owned();
        }
    };
    let (_, body) = http_get(&format!("http://{api}/api/v1/pipeline"));
    let p: serde_json::Value = serde_json::from_str(&body).unwrap();
    let tcp = p["connectors"][0]["listen"].as_str().unwrap().to_owned();

    let sender = std::thread::spawn(move || {
        let mut stream = TcpStream::connect(tcp).unwrap();
        let mut buf = Vec::new();
        for seq in 0..LINES {
            writeln!(buf, "<13>Jan  5 10:00:00 host app: term seq={seq}").unwrap();
            if buf.len() > 16_000 {
                if stream.write_all(&buf).is_err() {
                    return;
                }
                buf.clear();
            }
        }
        let _ = stream.write_all(&buf);
    });
    wait_until(Duration::from_secs(60), "some events delivered", || {
        let (_, body) = http_get(&format!("http://{api}/api/v1/pipeline"));
        serde_json::from_str::<serde_json::Value>(&body).unwrap()["totals"]["delivered"]
            .as_u64()
            .unwrap()
            >= 5_000
    });
    let pid = i32::try_from(child.id()).unwrap();
    // `unsafe` is forbidden in this workspace, so the signal goes through kill(1).
    let status = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    sender.join().unwrap();
    let log = reader.join().unwrap();
    assert!(
        exit.success(),
        "tocsin must exit 0 after SIGTERM; log:\n{}",
        log.join("\n")
    );

    let summary = log
        .iter()
        .find(|l| l.contains("shutdown complete"))
        .expect("shutdown summary logged");
    let received = field_u64(summary, "received").unwrap();
    let delivered = field_u64(summary, "delivered").unwrap();
    let dead = field_u64(summary, "dead_letters").unwrap();
    assert_eq!(
        received,
        delivered + dead,
        "every frame read is delivered or dead-lettered: {summary}"
    );

    let events = read_ndjson(&dir.path().join("events.ndjson"));
    assert_eq!(events.len() as u64, delivered);
    assert!(delivered >= 5_000);
    for (i, e) in events.iter().enumerate() {
        assert_eq!(
            field_u64(e["message"].as_str().unwrap(), "seq"),
            Some(i as u64),
            "contiguous prefix"
        );
    }
}
