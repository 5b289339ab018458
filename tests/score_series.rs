//! `tocsin score-series` as a user runs it: a CSV in, one scored row per input row out, and a
//! clear error for a file it cannot score.

use std::process::Command;

#[test]
fn scores_every_row_and_flags_the_spike() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("cpu.csv");
    let mut text = String::from("timestamp,value\n");
    for i in 0..1000 {
        let v = if i == 900 {
            95.0
        } else {
            20.0 + (i % 5) as f64
        };
        text.push_str(&format!(
            "2026-11-02 {:02}:{:02}:00,{v}\n",
            i / 60 % 24,
            i % 60
        ));
    }
    std::fs::write(&csv, text).unwrap();
    let out = Command::new(tocsin_tests::tocsin_bin())
        .arg("score-series")
        .arg(&csv)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let rows: Vec<&str> = text.lines().collect();
    assert_eq!(rows[0], "timestamp,value,anomaly_score");
    assert_eq!(rows.len(), 1001);
    let score = |i: usize| -> f64 { rows[i + 1].rsplit(',').next().unwrap().parse().unwrap() };
    assert!(score(900) > 0.9, "{}", rows[901]);
    let highest_elsewhere = (0..1000)
        .filter(|i| *i != 900)
        .map(score)
        .fold(0.0, f64::max);
    assert!(highest_elsewhere < 0.5, "{highest_elsewhere}");
}

#[test]
fn a_missing_file_or_a_bad_row_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.csv");
    let out = Command::new(tocsin_tests::tocsin_bin())
        .arg("score-series")
        .arg(&missing)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nope.csv"));
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "timestamp,value\nt1,1\nt2,x\n").unwrap();
    let out = Command::new(tocsin_tests::tocsin_bin())
        .arg("score-series")
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.csv:3: value \"x\" is not a number"));
}

#[test]
fn the_configs_statistics_weight_scales_the_score_and_a_bad_config_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("s.csv");
    let mut text = String::from("timestamp,value\n");
    for i in 0..400 {
        let v = if i == 350 {
            500.0
        } else {
            10.0 + (i % 3) as f64
        };
        text.push_str(&format!("{i},{v}\n"));
    }
    std::fs::write(&csv, text).unwrap();
    let run = |config: Option<&std::path::Path>| {
        let mut cmd = Command::new(tocsin_tests::tocsin_bin());
        cmd.arg("score-series");
        if let Some(c) = config {
            cmd.arg("--config").arg(c);
        }
        cmd.arg(&csv).output().unwrap()
    };
    let spike = |out: &std::process::Output| -> f64 {
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        text.lines()
            .nth(351)
            .unwrap()
            .rsplit(',')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    let plain = run(None);
    assert!(plain.status.success());
    let half = dir.path().join("half.toml");
    let target = "[[targets]]\ntype = \"blackhole\"\nname = \"file\"\n";
    std::fs::write(
        &half,
        format!("{target}[score.weights]\nstatistics = 0.5\n"),
    )
    .unwrap();
    let halved = run(Some(&half));
    assert!(
        halved.status.success(),
        "{}",
        String::from_utf8_lossy(&halved.stderr)
    );
    assert!(spike(&plain) > 0.9);
    assert!((spike(&halved) - spike(&plain) / 2.0).abs() < 1e-6);
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, format!("{target}[score.weights]\nstatistics = 3\n")).unwrap();
    let refused = run(Some(&bad));
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("score.weights.statistics"));
}
