//! The file connector: read once, and follow like `tail -F` through rotation and truncation,
//! with the offset checkpointed so a restart neither re-reads nor skips lines.

use std::io::Write;
use std::path::Path;
use std::time::Duration;
use tocsin_api::RunningEngine;
use tocsin_engine::config::Config;
use tocsin_tests::{field_u64, read_ndjson, wait_until};

fn start(dir: &Path, log: &Path, mode: &str) -> RunningEngine {
    let text = format!(
        r#"[engine]
data_dir = "{data}"
vendors_dir = "{vendors}"
normaliser_shards = 1
router_shards = 1
[api]
listen = "127.0.0.1:0"
workers = 1
[[sources]]
type = "file"
name = "applog"
path = "{log}"
mode = "{mode}"
poll_ms = 20
[[targets]]
type = "file"
name = "file"
[router]
default_targets = ["file"]
"#,
        data = dir.display(),
        log = log.display(),
        vendors = tocsin_tests::vendors_dir().display(),
    );
    let config = Config::parse(&text, Path::new("test.toml")).expect("valid config");
    RunningEngine::start(config, false).expect("engine starts")
}

fn delivered(engine: &RunningEngine) -> u64 {
    engine.bound().metrics.totals().delivered
}

fn append(path: &Path, from: u64, to: u64) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    for seq in from..to {
        writeln!(f, "<13>Jan  5 10:00:00 filehost app: file seq={seq}").unwrap();
    }
}

fn seqs(dir: &Path) -> Vec<u64> {
    read_ndjson(&dir.join("events.ndjson"))
        .iter()
        .map(|e| field_u64(e["message"].as_str().unwrap(), "seq").unwrap())
        .collect()
}

#[test]
fn once_reads_the_whole_file_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("in.log");
    append(&log, 0, 5000);
    let engine = start(dir.path(), &log, "once");
    wait_until(Duration::from_secs(30), "5000 lines", || {
        delivered(&engine) >= 5000
    });
    engine.shutdown().unwrap();
    assert_eq!(seqs(dir.path()), (0..5000).collect::<Vec<_>>());
}

#[test]
fn follow_survives_rotation_truncation_and_restart_without_loss_or_repeat() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("follow.log");
    append(&log, 0, 100);
    let engine = start(dir.path(), &log, "follow");
    wait_until(Duration::from_secs(30), "first 100", || {
        delivered(&engine) >= 100
    });

    // Growth, then rotation (rename + new file), as logrotate does.
    append(&log, 100, 200);
    wait_until(Duration::from_secs(30), "200 after growth", || {
        delivered(&engine) >= 200
    });
    std::fs::rename(&log, dir.path().join("follow.log.1")).unwrap();
    append(&log, 200, 300);
    wait_until(Duration::from_secs(30), "300 after rotation", || {
        delivered(&engine) >= 300
    });

    // Truncation in place (copytruncate), then fewer new lines than before: as with tail -F, a
    // truncation is seen as the file shrinking below the offset read.
    std::fs::File::create(&log).unwrap();
    append(&log, 300, 350);
    wait_until(Duration::from_secs(30), "350 after truncation", || {
        delivered(&engine) >= 350
    });
    engine.shutdown().unwrap();

    // Lines written while stopped are read after the restart, from the checkpoint.
    append(&log, 350, 400);
    let engine = start(dir.path(), &log, "follow");
    wait_until(Duration::from_secs(30), "50 more after restart", || {
        delivered(&engine) >= 50
    });
    engine.shutdown().unwrap();
    assert_eq!(seqs(dir.path()), (0..400).collect::<Vec<_>>());
}
