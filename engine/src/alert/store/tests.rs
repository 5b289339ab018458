use super::*;
use crate::alert::labels::Labels;
use crate::alert::lifecycle::{Alert, AlertStatus, HistoryEntry};
use crate::alert::lifecycle::{AlertBook, AlertInput};
use crate::alert::silence::SilenceSpec;
use crate::alert::Priority;

fn input(fp: u64, p: Priority, seen_ms: i64) -> AlertInput {
    AlertInput {
        fingerprint: fp,
        title: format!("disk full on host-{fp}"),
        entity: format!("host-{fp}"),
        kind: "disk".to_string(),
        priority: p,
        labels: Labels::new([
            ("entity", format!("host-{fp}")),
            ("team", "ops \"core\"".into()),
        ]),
        runbook: Some("clean-tmp".to_string()),
        runbook_url: Some("https://wiki/runbooks/clean-tmp".to_string()),
        score: 0.8125,
        source_id: format!("an-{fp}-{seen_ms}"),
        seen_ms,
    }
}

/// A book with alerts in every status, each change saved as it happens.
fn populate(store: &mut AlertStore) -> AlertBook {
    let mut b = AlertBook::with_seed(3);
    let save = |store: &mut AlertStore, a: &Alert, h: Option<&HistoryEntry>| {
        store.save(a, h).unwrap();
    };
    // u64::MAX checks the i64 bit-cast of fingerprints.
    for (fp, p) in [
        (1, Priority::P1),
        (2, Priority::P2),
        (3, Priority::P3),
        (u64::MAX, Priority::P4),
    ] {
        let (a, h, _) = b.observe(input(fp, p, 1_000));
        save(store, &a, h.as_ref());
    }
    let (a, h, _) = b.observe(input(1, Priority::P1, 2_000));
    save(store, &a, h.as_ref());
    let id = |b: &AlertBook, fp| b.live_for(fp).unwrap().id.clone();
    let (i1, i2, i3) = (id(&b, 1), id(&b, 2), id(&b, 3));
    let (a, h) = b.acknowledge(&i1, "alice", 3_000).unwrap();
    save(store, &a, Some(&h));
    let (a, h) = b.assign(&i1, "lead", Some("alice"), 3_500).unwrap();
    save(store, &a, Some(&h));
    let (a, h) = b.suppress(&i2, "bob", "known issue", 4_000).unwrap();
    save(store, &a, Some(&h));
    let (a, h) = b
        .record(&i3, "carol", "remediated", "clean-tmp exit 0", 4_500)
        .unwrap();
    save(store, &a, Some(&h));
    let (a, h) = b.resolve(&i3, "carol", 5_000).unwrap();
    save(store, &a, Some(&h));
    b
}

fn sorted(mut v: Vec<Alert>) -> Vec<Alert> {
    v.sort_by(|a, b| a.id.cmp(&b.id));
    v
}

#[test]
fn alerts_and_history_come_back_identical_after_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alerts.db");
    let mut store = AlertStore::open(&path).unwrap();
    let book = populate(&mut store);
    let expected = sorted(book.iter().cloned().collect());
    drop(store);

    let store = AlertStore::open(&path).unwrap();
    let loaded = store.load_alerts().unwrap();
    assert_eq!(loaded.len(), 4);
    assert!(loaded
        .windows(2)
        .all(|w| w[0].created_ms <= w[1].created_ms));
    assert_eq!(sorted(loaded.clone()), expected);

    let i1 = book.live_for(1).unwrap();
    let h = store.history(&i1.id).unwrap();
    let actions: Vec<_> = h
        .iter()
        .map(|e| (e.action.as_str(), e.actor.as_str(), e.at_ms))
        .collect();
    assert_eq!(
        actions,
        vec![
            ("created", "system", 1_000),
            ("acknowledged", "alice", 3_000),
            ("assigned", "lead", 3_500)
        ]
    );
    assert_eq!(
        (h[1].from, h[1].to),
        (Some(AlertStatus::Open), Some(AlertStatus::Acknowledged))
    );
    assert_eq!(
        (h[2].from, h[2].to, h[2].detail.as_str()),
        (None, None, "alice")
    );
    assert!(store.history("al-none").unwrap().is_empty());

    // A book rebuilt from the store carries on where the old one stopped.
    let mut again = AlertBook::with_seed(4);
    for a in loaded {
        again.insert_loaded(a);
    }
    assert_eq!(again.stats(), book.stats());
    let (a, _, _) = again.observe(input(1, Priority::P1, 9_000));
    assert_eq!((a.id.as_str(), a.occurrences), (i1.id.as_str(), 3));
}

#[test]
fn load_returns_live_alerts_and_only_the_latest_resolved() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.db");
    let mut store = AlertStore::open(&path).unwrap().with_loaded_resolved(1);
    let mut b = AlertBook::with_seed(1);
    let mut ids = Vec::new();
    for fp in 1..=3 {
        let (a, h, _) = b.observe(input(fp, Priority::P2, 0));
        store.save(&a, h.as_ref()).unwrap();
        ids.push(a.id);
    }
    for (i, t) in [(0, 100), (1, 200)] {
        let (a, h) = b.resolve(&ids[i], "x", t).unwrap();
        store.save(&a, Some(&h)).unwrap();
    }
    let got: Vec<String> = store
        .load_alerts()
        .unwrap()
        .into_iter()
        .map(|a| a.id)
        .collect();
    let mut want = vec![ids[1].clone(), ids[2].clone()];
    want.sort();
    let mut got_sorted = got.clone();
    got_sorted.sort();
    assert_eq!(got_sorted, want);
    assert_eq!(
        store.alert(&ids[0]).unwrap().map(|a| a.resolved_ms),
        Some(Some(100))
    );
    assert_eq!(store.alert("al-x").unwrap(), None);

    assert_eq!(store.prune(150).unwrap(), 1);
    assert_eq!(store.alert(&ids[0]).unwrap(), None);
    assert!(store.history(&ids[0]).unwrap().is_empty());
    assert_eq!(store.history(&ids[1]).unwrap().len(), 2);
}

#[test]
fn silences_round_trip_and_update_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let mut store = AlertStore::open(&path).unwrap();
    let spec = |m: &[&str]| SilenceSpec {
        matchers: m.iter().map(|s| s.to_string()).collect(),
        duration_secs: Some(600),
        created_by: "alice".into(),
        comment: "patching".into(),
        ..Default::default()
    };
    let a = spec(&[r#"service=~"db|cache""#, r#"msg!="say \"hi\"""#])
        .build(1_000)
        .unwrap();
    let mut b = spec(&[r#"entity="host-1""#]).build(2_000).unwrap();
    store.put_silence(&a).unwrap();
    store.put_silence(&b).unwrap();
    b.ends_ms = 3_000;
    store.put_silence(&b).unwrap();
    drop(store);
    let store = AlertStore::open(&path).unwrap();
    assert_eq!(store.load_silences().unwrap(), vec![a, b]);
}

#[test]
fn runbook_runs_round_trip_with_output_cut_at_64_kib() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.db");
    let mut store = AlertStore::open(&path).unwrap();
    let mut run = RunbookRun {
        id: 0,
        alert_id: "al-0000000000000001".into(),
        runbook: "clean-tmp".into(),
        action: "/usr/local/bin/clean-tmp --host host-1".into(),
        started_ms: 10,
        finished_ms: 250,
        ok: true,
        exit_code: Some(0),
        output: "removed 3 files\n".into(),
        actor: "alice".into(),
    };
    let first = store.record_run(&run).unwrap();
    // 'é' is two bytes: 40_000 of them straddle the 64 KiB mark mid-character.
    let long = "é".repeat(40_000);
    let second = store
        .record_run(&RunbookRun {
            ok: false,
            exit_code: None,
            output: long,
            action: "webhook".into(),
            ..run.clone()
        })
        .unwrap();
    store
        .record_run(&RunbookRun {
            alert_id: "al-other".into(),
            ..run.clone()
        })
        .unwrap();
    assert!(second > first && first > 0);
    drop(store);

    let store = AlertStore::open(&path).unwrap();
    let got = store.runs("al-0000000000000001").unwrap();
    assert_eq!(got.len(), 2);
    run.id = first;
    assert_eq!(got[0], run);
    assert_eq!(
        (got[1].id, got[1].ok, got[1].exit_code),
        (second, false, None)
    );
    assert_eq!(got[1].output.len(), MAX_RUN_OUTPUT);
    assert_eq!(got[1].output, "é".repeat(MAX_RUN_OUTPUT / 2));
    assert!(store.runs("al-none").unwrap().is_empty());
}

#[test]
fn data_survives_a_connection_that_is_never_closed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crash.db");
    let mut store = AlertStore::open(&path).unwrap();
    let mut b = AlertBook::with_seed(9);
    let (a, h, _) = b.observe(input(5, Priority::P1, 100));
    store.save(&a, h.as_ref()).unwrap();
    let (a, h) = b.acknowledge(&a.id, "alice", 200).unwrap();
    store.save(&a, Some(&h)).unwrap();
    // As after a crash: no close, no checkpoint; the WAL file still holds the writes.
    std::mem::forget(store);
    assert!(dir.path().join("crash.db-wal").exists());

    let store = AlertStore::open(&path).unwrap();
    assert_eq!(store.load_alerts().unwrap(), vec![a.clone()]);
    assert_eq!(store.history(&a.id).unwrap().len(), 2);
    // And a plain drop, then reopen.
    drop(store);
    let store = AlertStore::open(&path).unwrap();
    assert_eq!(store.load_alerts().unwrap(), vec![a]);
}

#[test]
fn opens_in_wal_mode_with_full_sync() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.db");
    let store = AlertStore::open(&path).unwrap();
    let mode: String = store
        .conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    let sync: i64 = store
        .conn
        .query_row("PRAGMA synchronous", [], |r| r.get(0))
        .unwrap();
    let version: i64 = store
        .conn
        .query_row("SELECT version FROM schema_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!((mode.as_str(), sync, version), ("wal", 2, SCHEMA_VERSION));
}

#[test]
fn errors_name_the_file_and_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-dir").join("a.db");
    let msg = AlertStore::open(&missing).unwrap_err().to_string();
    assert!(
        msg.starts_with(&format!("{}: open: ", missing.display())),
        "{msg}"
    );

    let path = dir.path().join("v.db");
    let mut store = AlertStore::open(&path).unwrap();
    let mut b = AlertBook::with_seed(2);
    let (a, h, _) = b.observe(input(1, Priority::P2, 0));
    store.save(&a, h.as_ref()).unwrap();
    store
        .conn
        .execute("UPDATE alerts SET status = 'closed'", [])
        .unwrap();
    let msg = store.load_alerts().unwrap_err().to_string();
    assert_eq!(
        msg,
        format!(
            "{}: alerts row {}: bad status: unknown status \"closed\"",
            path.display(),
            a.id
        )
    );
    store
        .conn
        .execute("UPDATE schema_version SET version = 99", [])
        .unwrap();
    drop(store);
    let msg = AlertStore::open(&path).unwrap_err().to_string();
    assert_eq!(
        msg,
        format!(
            "{}: schema version 99 is newer than this build understands (1)",
            path.display()
        )
    );
}
