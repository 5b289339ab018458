//! `tocsin replay`, the real binary: a multi-vendor capture through a config's pipeline yields
//! exactly the events `tocsin normalize` makes of it, a second run appends them again (no
//! checkpoint), a fault storm replayed twice gives byte-identical anomalies and incidents, and
//! bad input fails early with a clear message.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use tocsin_tests::{brute_force, quiet, read_ndjson, tocsin_bin, traffic, vendors_dir};

const LINES: usize = 2000;

fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

/// `LINES` lines taken in turn from every vendor's corpus file (`benches/corpus/*.log`),
/// walking each file with a different stride so the mix varies.
fn mixed_capture() -> String {
    let mut corpus: Vec<PathBuf> = std::fs::read_dir(workspace_root().join("benches/corpus"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .collect();
    corpus.sort();
    let files: Vec<Vec<String>> = corpus
        .iter()
        .map(|p| {
            std::fs::read_to_string(p)
                .unwrap()
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(str::to_owned)
                .collect()
        })
        .collect();
    assert!(files.len() >= 10, "the corpus has many vendors");
    let mut out = String::new();
    for i in 0..LINES {
        let (f, round) = (i % files.len(), i / files.len());
        let lines = &files[f];
        out.push_str(&lines[(round * (f + 1) + f) % lines.len()]);
        out.push('\n');
    }
    out
}

/// A config with a live TCP source and a followed file source (both replaced by the replay),
/// a file target and a blackhole target on the default route.
fn write_config(dir: &Path) -> PathBuf {
    let path = dir.join("tocsin.toml");
    std::fs::write(
        &path,
        format!(
            r#"[engine]
data_dir = "{data}"
vendors_dir = "{vendors}"
normaliser_shards = 2
router_shards = 2
batch_size = 128
[api]
listen = "127.0.0.1:0"
workers = 1
[[sources]]
type = "syslog_tcp"
name = "tcp"
listen = "127.0.0.1:0"
[[sources]]
type = "file"
name = "live"
path = "{live}"
mode = "follow"
[[targets]]
type = "file"
name = "file"
path = "events.ndjson"
[[targets]]
type = "blackhole"
name = "void"
[router]
default_targets = ["file", "void"]
"#,
            data = dir.join("data").display(),
            vendors = vendors_dir().display(),
            live = dir.join("live.log").display(),
        ),
    )
    .unwrap();
    path
}

fn tocsin(args: &[&str], paths: &[&Path]) -> Output {
    Command::new(tocsin_bin())
        .args(args)
        .args(paths)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// An event without its wall-clock fields and its source name (the replay names the source
/// after the file; `normalize` calls it `normalize`). The wall-clock fields are the receive
/// time `metadata.logged_time`, and `time` where it is the receive time too: a line with no
/// timestamp of its own (such as a bare `%ASA-6-302015:` line) takes its receive time.
fn masked(mut e: Value) -> Value {
    let received = e["metadata"]["logged_time"].clone();
    if let Some(m) = e.get_mut("metadata").and_then(Value::as_object_mut) {
        m.remove("logged_time");
    }
    if let Some(o) = e.as_object_mut() {
        if o.get("time") == Some(&received) {
            o.remove("time");
        }
    }
    if let Some(t) = e.get_mut("tocsin").and_then(Value::as_object_mut) {
        t.remove("source");
        // Scoring's fields: `tocsin normalize` does not score.
        t.remove("score");
        t.remove("detectors");
        // An anomaly's detection time is wall-clock.
        if let Some(a) = t.get_mut("anomaly").and_then(Value::as_object_mut) {
            a.remove("detected_time");
        }
    }
    e
}

/// Masked events as sorted JSON texts: the same events, whatever their order across entities
/// (scorer shards keep each entity's events in order, not the order between entities).
fn sorted_masked(events: &[Value]) -> Vec<String> {
    let mut v: Vec<String> = events
        .iter()
        .map(|e| masked(e.clone()).to_string())
        .collect();
    v.sort();
    v
}

fn vendor_of(e: &Value) -> String {
    e["metadata"]["product"]["vendor_name"]
        .as_str()
        .unwrap_or("")
        .to_owned()
}

#[test]
fn replay_yields_the_events_normalize_makes_and_a_rerun_appends_them_again() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path());
    let capture = dir.path().join("capture.log");
    std::fs::write(&capture, mixed_capture()).unwrap();
    // A live engine's checkpoint: the replay must neither read nor touch it.
    let checkpoints = dir.path().join("data/checkpoints");
    std::fs::create_dir_all(&checkpoints).unwrap();
    let live_cp = checkpoints.join("live.json");
    std::fs::write(&live_cp, r#"{"path":"/elsewhere","inode":1,"offset":7}"#).unwrap();

    let out = tocsin(&["replay", "--config"], &[&config, &capture]);
    assert!(out.status.success(), "{}", stderr(&out));
    let summary = stderr(&out);
    assert!(
        summary.contains(&format!("{LINES} lines read")),
        "{summary}"
    );
    assert!(!summary.contains("UNACCOUNTED"), "{summary}");

    let events_path = dir.path().join("data/events.ndjson");
    let first_run = read_ndjson(&events_path);
    let replayed = traffic(first_run.clone());
    assert_eq!(replayed.len(), LINES, "one event per line");
    let findings = first_run.len() - LINES;
    assert!(
        summary.contains(&format!(
            "delivered: file {}, void {}",
            LINES + findings,
            LINES + findings
        )),
        "{summary}"
    );
    assert!(replayed
        .iter()
        .all(|e| e["tocsin"]["source"] == capture.display().to_string()));

    let normalized = tocsin(&["normalize", "--config"], &[&config, &capture]);
    assert!(normalized.status.success(), "{}", stderr(&normalized));
    let expected: Vec<Value> = String::from_utf8(normalized.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(expected.len(), LINES);
    assert_eq!(sorted_masked(&replayed), sorted_masked(&expected));
    let mut vendors: Vec<String> = replayed.iter().map(vendor_of).collect();
    vendors.sort();
    vendors.dedup();
    assert!(vendors.len() >= 10, "a varied capture: {vendors:?}");

    // Again: no checkpoint makes it resume at the end; the same events are appended.
    let again = tocsin(&["replay", "--config"], &[&config, &capture]);
    assert!(again.status.success(), "{}", stderr(&again));
    let all = read_ndjson(&events_path);
    let second_run = &all[first_run.len()..];
    assert_eq!(traffic(second_run.to_vec()).len(), LINES);
    // The same events. (This capture mixes 2024 logs with lines that carry no time and take
    // their receive time, so its windows, and so its anomalies, depend on the wall clock; the
    // next test replays timestamped lines and asserts the same anomalies.)
    assert!(
        sorted_masked(&traffic(second_run.to_vec())) == sorted_masked(&traffic(first_run.clone())),
        "the second replay's events differ from the first's"
    );
    let left: Vec<_> = std::fs::read_dir(&checkpoints)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["live.json"], "the replay keeps no checkpoint");
    assert_eq!(
        std::fs::read_to_string(&live_cp).unwrap(),
        r#"{"path":"/elsewhere","inode":1,"offset":7}"#
    );
}

/// Lines that each carry their own time: a quiet host, then 8 failed logins from one address
/// in one 10 s window, then quiet again.
fn timestamped_capture() -> String {
    let mut out = String::new();
    for s in 0..180u32 {
        let (m, sec) = (s / 60, s % 60);
        if (60..68).contains(&s) {
            out.push_str(&format!("<38>Mar 15 12:{m:02}:{sec:02} gate-1 sshd[7]: Failed password for root from 198.51.100.9 port 4{s:03} ssh2\n"));
        }
        if s % 3 == 0 {
            for h in ["gate-1", "gate-2"] {
                out.push_str(&format!("<38>Mar 15 12:{m:02}:{sec:02} {h} sshd[8]: Accepted publickey for deploy from 10.0.0.5 port 5{s:03} ssh2\n"));
            }
        }
    }
    out
}

#[test]
fn replaying_timestamped_lines_twice_gives_the_same_anomalies() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path());
    let capture = dir.path().join("auth.log");
    std::fs::write(&capture, timestamped_capture()).unwrap();
    let events_path = dir.path().join("data/events.ndjson");
    let findings = |all: &[Value]| -> Vec<String> {
        let f: Vec<Value> = all
            .iter()
            .filter(|e| !e["tocsin"]["anomaly"].is_null())
            .cloned()
            .collect();
        sorted_masked(&f)
    };
    let out = tocsin(&["replay", "--config"], &[&config, &capture]);
    assert!(out.status.success(), "{}", stderr(&out));
    let first = read_ndjson(&events_path);
    let first_findings = findings(&first);
    assert!(
        first_findings
            .iter()
            .any(|f| f.contains("\"brute_force\"") && f.contains("gate-1")),
        "{first_findings:?}"
    );
    let out = tocsin(&["replay", "--config"], &[&config, &capture]);
    assert!(out.status.success(), "{}", stderr(&out));
    let all = read_ndjson(&events_path);
    assert_eq!(findings(&all[first.len()..]), first_findings);
}

#[test]
fn a_missing_file_fails_before_the_pipeline_starts_and_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path());
    let present = dir.path().join("present.log");
    std::fs::write(&present, "<13>Jan  5 10:00:00 host app: hello\n").unwrap();
    let missing = dir.path().join("no-such-capture.log");
    let out = tocsin(&["replay", "--config"], &[&config, &present, &missing]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&missing.display().to_string()),
        "{}",
        stderr(&out)
    );
    assert!(
        !dir.path().join("data").exists(),
        "the pipeline never started"
    );
}

#[test]
fn an_empty_file_exits_0_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path());
    let empty = dir.path().join("empty.log");
    std::fs::write(&empty, "").unwrap();
    let out = tocsin(&["replay", "--config"], &[&config, &empty]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("0 lines read"), "{}", stderr(&out));
    assert!(read_ndjson(&dir.path().join("data/events.ndjson")).is_empty());
}

#[test]
fn an_unknown_vendor_lists_the_known_ones_and_a_bad_config_gives_check_config_errors() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path());
    let capture = dir.path().join("capture.log");
    std::fs::write(&capture, "<13>Jan  5 10:00:00 host app: hello\n").unwrap();
    let out = tocsin(
        &["replay", "--vendor", "no_such_vendor", "--config"],
        &[&config, &capture],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("no_such_vendor") && err.contains("known: auto,") && err.contains("cisco_asa"),
        "{err}"
    );

    let broken = dir.path().join("broken.toml");
    std::fs::write(&broken, "[engine]\nbatch_size = 0\n").unwrap();
    let out = tocsin(&["replay", "--config"], &[&broken, &capture]);
    let check = tocsin(&["check-config", "--config"], &[&broken]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr(&out), stderr(&check));
    assert!(
        stderr(&out).contains("engine.batch_size"),
        "{}",
        stderr(&out)
    );
}

/// A switch with three servers behind it.
const STAR: &str = r#"
[[nodes]]
id = "core-sw-1"
kind = "switch"
[[nodes]]
id = "srv-1"
kind = "server"
[[nodes]]
id = "srv-2"
kind = "server"
[[nodes]]
id = "srv-3"
kind = "server"
[[edges]]
from = "srv-1"
to = "core-sw-1"
kind = "depends_on"
[[edges]]
from = "srv-2"
to = "core-sw-1"
kind = "depends_on"
[[edges]]
from = "srv-3"
to = "core-sw-1"
kind = "depends_on"
"#;

#[test]
fn replaying_a_fault_storm_twice_gives_identical_incidents_rooted_at_the_switch() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path());
    let topology = dir.path().join("star.toml");
    std::fs::write(&topology, STAR).unwrap();
    // The switch's burst at 12:02, its servers' a minute later, then lines that close them.
    let mut lines = brute_force("core-sw-1", 1);
    for s in ["srv-1", "srv-2", "srv-3"] {
        lines.extend(brute_force(s, 2));
    }
    lines.extend(quiet("quiet-host", 4));
    lines.sort_by(|a, b| a[5..20].cmp(&b[5..20]));
    // In two files, the second continuing the first: read one after the other.
    let (first_half, second_half) = lines.split_at(lines.len() / 2);
    let capture = dir.path().join("storm-1.log");
    std::fs::write(&capture, first_half.join("\n") + "\n").unwrap();
    let capture_2 = dir.path().join("storm-2.log");
    std::fs::write(&capture_2, second_half.join("\n") + "\n").unwrap();

    let run = |out: &Path| {
        let o = tocsin(
            &["replay", "--config"],
            &[
                &config,
                Path::new("--topology"),
                &topology,
                Path::new("--out"),
                out,
                &capture,
                &capture_2,
            ],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        (
            std::fs::read(out.join("anomalies.ndjson")).unwrap(),
            std::fs::read(out.join("incidents.ndjson")).unwrap(),
        )
    };
    let (anomalies, incidents) = run(&dir.path().join("first"));
    let (anomalies_again, incidents_again) = run(&dir.path().join("second"));
    assert_eq!(
        String::from_utf8_lossy(&incidents),
        String::from_utf8_lossy(&incidents_again)
    );
    assert_eq!(anomalies, anomalies_again);

    let found = read_ndjson(&dir.path().join("first/incidents.ndjson"));
    assert_eq!(found.len(), 1, "{found:#?}");
    let storm = &found[0];
    assert_eq!(storm["root_cause"]["entity"], "core-sw-1", "{storm:#}");
    assert_eq!(storm["members"].as_array().unwrap().len(), 4, "{storm:#}");
    assert_eq!(storm["anomalies"], 4);
    let a = read_ndjson(&dir.path().join("first/anomalies.ndjson"));
    assert_eq!(a.len(), 4, "{a:#?}");
    assert!(a
        .iter()
        .all(|a| a["kind"] == "brute_force" && a.get("detected_time").is_none()));

    // Without --out both go to stdout, tagged, anomalies first.
    let o = tocsin(
        &["replay", "--config"],
        &[
            &config,
            Path::new("--topology"),
            &topology,
            &capture,
            &capture_2,
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let types: Vec<String> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["type"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        types,
        ["anomaly", "anomaly", "anomaly", "anomaly", "incident"]
    );
}
