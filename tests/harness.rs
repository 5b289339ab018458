//! `tocsin-bench` end to end: the harness starts the real engine binary (`--spawn`), plays a
//! small scenario over each transport, receives the routed output on its own listener, and
//! writes its reports, truth and topology. Needs `cargo build --bin tocsin --bin tocsin-bench`
//! (what `make test` runs first).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// Two sites, a router whose failure degrades a web server and a host, metrics on both, VPC flow
/// records (header-less lines that start with digits), a password-guessing run: 4 wall seconds at 400 lines/s, an event minute per wall second.
const SCENARIO: &str = r#"
name = "harness-test"
seed = 3
[run]
duration_secs = 4
rate = 400
time_scale = 60
start = "2026-11-02T09:00:00Z"
[mix]
cisco_ios = 1
nginx_access = 2
linux_auth = 2
fortinet_fortigate = 2
aws_vpcflow = 1
[metrics]
interval_secs = 10
[[sites]]
name = "a"
devices = [
  { role = "router", vendor = "cisco_ios" },
  { role = "web", vendor = "nginx_access", depends_on = ["router"], metrics = true },
  { role = "host", vendor = "linux_auth", depends_on = ["router"], metrics = true },
]
[[sites]]
name = "b"
devices = [
  { role = "fw", vendor = "fortinet_fortigate" },
  { role = "vpc", vendor = "aws_vpcflow" },
]
[[faults]]
kind = "device_failure"
at_min = 1
duration_min = 2
target = "a-router-01"
dependents_delay_min = 0.5
[[faults]]
kind = "brute_force"
at_min = 0.5
duration_min = 2
target = "a-host-01"
source_ip = "203.0.113.66"
attempts_per_min = 120
"#;

fn bin(name: &str) -> PathBuf {
    let engine = tocsin_tests::tocsin_bin();
    let bin = engine.with_file_name(name);
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build --bin {name}` (make test does)",
        bin.display()
    );
    bin
}

fn bench(dir: &Path, args: &[&str]) -> Output {
    let scenario = dir.join("scenario.toml");
    if !scenario.exists() {
        std::fs::write(&scenario, SCENARIO).unwrap();
    }
    let out = Command::new(bin("tocsin-bench"))
        .args(["--spawn", "--quiet", "--engine-bin"])
        .arg(tocsin_tests::tocsin_bin())
        .arg("--run-dir")
        .arg(dir.join("run"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("tocsin-bench runs");
    assert!(
        out.status.success(),
        "tocsin-bench {args:?} failed ({}):\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// Plays the scenario over `transport` and checks what every report must say.
fn scenario_over(transport: &str) -> (tempfile::TempDir, Value) {
    scenario_over_with(transport, &[])
}

/// The same, with more arguments.
fn scenario_over_with(transport: &str, extra: &[&str]) -> (tempfile::TempDir, Value) {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("scenario.toml");
    std::fs::write(&scenario, SCENARIO).unwrap();
    let mut args = vec![
        "--scenario",
        scenario.to_str().unwrap(),
        "--transport",
        transport,
    ];
    args.extend_from_slice(extra);
    let out = bench(dir.path(), &args);
    let table = String::from_utf8_lossy(&out.stdout).to_string();
    let run = dir.path().join("run");
    let report = json(&run.join("report.json"));
    assert_eq!(report["transport"], transport);
    assert_eq!(report["scenario"]["name"], "harness-test");
    assert_eq!(report["scenario"]["devices"], 5);
    assert_eq!(report["scenario"]["faults"], 2);
    let sent = report["sent"].as_u64().unwrap();
    // 400 lines/s for 4 s, minus the router's share while it is down, plus metric samples
    // and the attack's failed logins.
    assert!((1_300..2_200).contains(&sent), "sent {sent}");
    // The engine delivered exactly what the harness's listener received.
    assert_eq!(
        report["harness"]["received"], report["delivered"],
        "{report:#}"
    );
    assert!(report["harness"]["latency_ms"]["p50"].as_f64().unwrap() > 0.0);
    assert!(report["resources"]["peak_rss_mib"].as_f64().unwrap() > 1.0);
    assert_eq!(report["resources"]["clean_exit"], true);
    // Scored against the truth: the failed-login burst is caught (by the failed-auth-burst
    // rule, which holds whatever the traffic's noise).
    assert_eq!(
        report["detection"]["measured"], true,
        "{:#}",
        report["detection"]
    );
    let brute = report["detection"]["per_fault"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "brute_force")
        .expect("the brute-force fault is scored");
    assert_eq!(brute["detected"], true, "{:#}", report["detection"]);
    assert!(!report["timeline"].as_array().unwrap().is_empty());
    // Truth and topology are written for the run.
    let truth = json(&run.join("truth.json"));
    assert_eq!(truth["faults"][0]["root"], "a-router-01");
    assert_eq!(truth["faults"][1]["source_ip"], "203.0.113.66");
    let topology = std::fs::read_to_string(run.join("topology.toml")).unwrap();
    assert!(topology.contains("from = \"a-web-01\"\nto = \"a-router-01\"\nkind = \"depends_on\""));
    // The Markdown report holds the table's figures.
    let md = std::fs::read_to_string(run.join("report.md")).unwrap();
    assert!(md.contains(&format!("| sent | {sent} |")), "{md}");
    assert!(table.contains("listener got"), "{table}");
    (dir, report)
}

#[test]
fn scenario_over_tcp_loses_nothing_and_compares() {
    let (dir, report) = scenario_over("tcp");
    assert_eq!(report["lost"], 0);
    assert_eq!(report["delivered"], report["sent"]);
    // A second run compared with the first prints both figures side by side.
    let first = dir.path().join("first.json");
    std::fs::copy(dir.path().join("run/report.json"), &first).unwrap();
    let out = bench(
        dir.path(),
        &[
            "--scenario",
            dir.path().join("scenario.toml").to_str().unwrap(),
            "--compare",
            first.to_str().unwrap(),
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let compared = &text[text.find("compared with").expect("a comparison")..];
    let line = compared
        .lines()
        .find(|l| l.trim_start().starts_with("delivered"))
        .unwrap();
    let sent = report["sent"].as_u64().unwrap();
    // Same seed, same traffic: the same number delivered both times.
    assert!(
        line.contains(&format!("{sent}.000")) && line.trim_end().ends_with('='),
        "{text}"
    );
}

#[test]
fn scenario_over_http_loses_nothing() {
    let (_dir, report) = scenario_over("http");
    assert_eq!(report["lost"], 0);
    assert_eq!(report["delivered"], report["sent"]);
}

#[test]
fn scenario_over_a_followed_capture_file_loses_nothing() {
    let (dir, report) = scenario_over("file");
    assert_eq!(report["lost"], 0);
    assert_eq!(report["delivered"], report["sent"]);
    let capture = std::fs::read_to_string(dir.path().join("run/capture.log")).unwrap();
    assert_eq!(
        capture.lines().count() as u64,
        report["sent"].as_u64().unwrap()
    );
}

#[test]
fn scenario_over_udp_accounts_for_every_datagram() {
    let (_dir, report) = scenario_over("udp");
    let (sent, delivered) = (
        report["sent"].as_u64().unwrap(),
        report["delivered"].as_u64().unwrap(),
    );
    // UDP may lose datagrams; whatever was not delivered is counted as dropped or lost.
    let dropped = report["dropped"].as_u64().unwrap();
    let lost = report["lost"].as_i64().unwrap();
    assert!(delivered <= sent);
    assert_eq!(
        delivered + dropped + report["parse_errors"].as_u64().unwrap() + lost as u64,
        sent
    );
}

#[test]
fn rsyslog_peer_gets_the_same_lines_in_the_same_run() {
    let (_dir, report) = scenario_over_with("tcp", &["--peer", "rsyslog"]);
    let peer = &report["peer"];
    assert_eq!(peer["name"], "rsyslog", "{report:#}");
    assert!(!peer["version"].as_str().unwrap().is_empty());
    // rsyslog writes one line per message it received: the same lines tocsin got.
    assert_eq!(peer["sent"], report["sent"]);
    assert_eq!(peer["delivered"], report["sent"], "{report:#}");
    assert_eq!(peer["lost"], 0);
}

#[test]
fn spawn_on_the_shipped_config_keeps_its_file_target() {
    let dir = tempfile::tempdir().unwrap();
    let config = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/tocsin.toml");
    let data = dir.path().join("engine-data");
    bench(
        dir.path(),
        &[
            "--engine-config",
            config.to_str().unwrap(),
            "--data-dir",
            data.to_str().unwrap(),
            "--count",
            "3000",
            "--rate",
            "3000",
        ],
    );
    let report = json(&dir.path().join("run/report.json"));
    assert_eq!(report["sent"], 3000);
    assert_eq!(report["delivered"], 3000);
    assert_eq!(report["harness"]["received"], 3000);
    // The shipped config's own file target wrote every event into the given data folder.
    let events = std::fs::read_to_string(data.join("events.ndjson")).unwrap();
    assert_eq!(events.lines().count(), 3000);
    let merged = std::fs::read_to_string(dir.path().join("run/tocsin.toml")).unwrap();
    assert!(
        merged.contains("default_targets = [\"file\", \"harness\"]"),
        "{merged}"
    );
}

#[test]
fn a_scenario_too_big_for_memory_is_refused_before_it_renders() {
    let dir = tempfile::tempdir().unwrap();
    let huge = dir.path().join("huge.toml");
    let text = SCENARIO
        .replace("duration_secs = 4", "duration_secs = 86400")
        .replace("rate = 400", "rate = 10000000");
    std::fs::write(&huge, text).unwrap();
    let out = Command::new(bin("tocsin-bench"))
        .args(["--quiet", "--scenario", huge.to_str().unwrap()])
        .arg("--run-dir")
        .arg(dir.path().join("run"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("kept in memory while it is sent"), "{err}");
}

#[test]
fn saturation_reports_its_steps_and_the_highest_sustained_rate() {
    let dir = tempfile::tempdir().unwrap();
    let out = bench(
        dir.path(),
        &[
            "--saturate",
            "--saturate-from",
            "1000",
            "--saturate-factor",
            "2",
            "--saturate-steps",
            "2",
            "--step-secs",
            "1",
            "--max-p99-ms",
            "5000",
        ],
    );
    let report = json(&dir.path().join("run/report.json"));
    assert_eq!(report["mode"], "saturation");
    let steps = report["steps"].as_array().unwrap();
    // Two rates, each run at most twice (a failed step is retried once).
    assert!(!steps.is_empty() && steps.len() <= 4, "{report:#}");
    assert_eq!(steps[0]["rate"], 1000.0);
    let first = &steps[0];
    assert_eq!(first["sent"], first["delivered"], "{report:#}");
    if steps.iter().all(|s| s["sustained"] == true) {
        assert!(report["sustainable_eps"].as_f64().unwrap() > 0.0);
    }
    assert!(String::from_utf8_lossy(&out.stdout).contains("highest sustained"));
}
