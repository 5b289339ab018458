use super::*;
use crate::alert::labels::Labels;
use crate::alert::Priority;

fn input(fp: u64, p: Priority, score: f64, seen_ms: i64, src: &str) -> AlertInput {
    AlertInput {
        fingerprint: fp,
        title: format!("problem {fp}"),
        entity: format!("host-{fp}"),
        kind: "error_burst".to_string(),
        priority: p,
        labels: Labels::new([("entity", format!("host-{fp}"))]),
        runbook: None,
        runbook_url: None,
        score,
        source_id: src.to_string(),
        seen_ms,
    }
}

fn book() -> AlertBook {
    AlertBook::with_seed(7)
}

#[test]
fn repeats_of_a_fingerprint_collect_in_one_alert() {
    let mut b = book();
    let (a, h, o) = b.observe(input(1, Priority::P3, 0.5, 1_000, "an-1"));
    assert_eq!(o, Observed::New);
    assert!(a.id.starts_with("al-") && a.id.len() == 19, "{}", a.id);
    assert!(a.id[3..].chars().all(|c| c.is_ascii_hexdigit()));
    let h = h.unwrap();
    assert_eq!(
        (h.action.as_str(), h.to),
        ("created", Some(AlertStatus::Open))
    );
    assert_eq!(h.detail, "priority P3");

    let mut with_rb = input(1, Priority::P4, 0.9, 3_000, "an-2");
    with_rb.runbook = Some("restart-db".to_string());
    let (r, h, o) = b.observe(with_rb);
    assert_eq!(o, Observed::Repeat);
    assert!(h.is_none(), "no history for a plain repeat");
    assert_eq!(r.id, a.id);
    assert_eq!(r.occurrences, 2);
    assert_eq!(r.last_seen_ms, 3_000);
    assert_eq!(r.created_ms, 1_000);
    assert_eq!(r.score, 0.9);
    assert_eq!(r.priority, Priority::P3, "less urgent repeat keeps P3");
    assert_eq!(r.source_ids, vec!["an-1", "an-2"]);
    assert_eq!(r.runbook.as_deref(), Some("restart-db"));

    let (r, h, o) = b.observe(input(1, Priority::P2, 0.1, 2_000, ""));
    assert_eq!(o, Observed::Repeat);
    let h = h.unwrap();
    assert_eq!(
        (h.action.as_str(), h.detail.as_str()),
        ("priority", "priority P3 -> P2")
    );
    assert_eq!(
        (r.priority, r.score, r.last_seen_ms),
        (Priority::P2, 0.9, 3_000)
    );
    assert_eq!(r.source_ids.len(), 2, "empty source id not recorded");
    assert_eq!(b.len(), 1);
}

#[test]
fn source_ids_keep_the_latest_sixteen_and_nan_scores_count_zero() {
    let mut b = book();
    b.observe(input(1, Priority::P3, f64::NAN, 0, "s0"));
    assert_eq!(b.live_for(1).unwrap().score, 0.0);
    let mut last = None;
    for i in 1..20 {
        last = Some(
            b.observe(input(1, Priority::P3, 0.2, i, &format!("s{i}")))
                .0,
        );
    }
    let ids = last.unwrap().source_ids;
    assert_eq!(ids.len(), 16);
    assert_eq!(ids.first().map(String::as_str), Some("s4"));
    assert_eq!(ids.last().map(String::as_str), Some("s19"));
}

#[test]
fn a_resolved_fingerprint_opens_a_new_alert() {
    let mut b = book();
    let (a, _, _) = b.observe(input(9, Priority::P2, 1.0, 0, "x"));
    b.resolve(&a.id, "bob", 500).unwrap();
    let (n, h, o) = b.observe(input(9, Priority::P2, 1.0, 600, "y"));
    assert_eq!(o, Observed::New);
    assert_ne!(n.id, a.id);
    assert_eq!(n.occurrences, 1);
    assert_eq!(h.unwrap().action, "created");
    assert_eq!(b.get(&a.id).unwrap().status, AlertStatus::Resolved);
    assert_eq!(b.live_for(9).unwrap().id, n.id);
}

#[test]
fn transitions_follow_the_table() {
    let mut b = book();
    let (a, _, _) = b.observe(input(1, Priority::P1, 1.0, 0, ""));
    let (x, h) = b.acknowledge(&a.id, "alice", 100).unwrap();
    assert_eq!(x.status, AlertStatus::Acknowledged);
    assert_eq!(x.acknowledged_ms, Some(100));
    assert_eq!(x.updated_ms, 100);
    assert_eq!(
        (h.actor.as_str(), h.action.as_str(), h.from, h.to),
        (
            "alice",
            "acknowledged",
            Some(AlertStatus::Open),
            Some(AlertStatus::Acknowledged)
        )
    );
    let err = b.acknowledge(&a.id, "alice", 101).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("alert {} is acknowledged: cannot acknowledge", a.id)
    );

    let (x, h) = b.suppress(&a.id, "alice", "maintenance", 200).unwrap();
    assert_eq!(
        (x.status, h.detail.as_str()),
        (AlertStatus::Suppressed, "maintenance")
    );
    assert!(b.acknowledge(&a.id, "alice", 201).is_err());
    assert!(b.suppress(&a.id, "alice", "", 201).is_err());
    // A repeat of a suppressed alert stays suppressed, even at a more urgent priority.
    let (r, _, o) = b.observe(input(1, Priority::P1, 1.0, 250, ""));
    assert_eq!((r.status, o), (AlertStatus::Suppressed, Observed::Repeat));

    let (x, h) = b.reopen(&a.id, "alice", 300).unwrap();
    assert_eq!(
        (x.status, h.action.as_str()),
        (AlertStatus::Open, "reopened")
    );
    assert!(b.reopen(&a.id, "alice", 301).is_err());

    let (x, h) = b.resolve(&a.id, "bob", 400).unwrap();
    assert_eq!(
        (x.status, x.resolved_ms),
        (AlertStatus::Resolved, Some(400))
    );
    assert_eq!(
        (h.from, h.to),
        (Some(AlertStatus::Open), Some(AlertStatus::Resolved))
    );
    for r in [
        b.acknowledge(&a.id, "bob", 500),
        b.resolve(&a.id, "bob", 500),
        b.suppress(&a.id, "bob", "x", 500),
        b.reopen(&a.id, "bob", 500),
        b.assign(&a.id, "bob", Some("carol"), 500),
    ] {
        assert!(matches!(
            r,
            Err(LifecycleError::IllegalTransition {
                from: AlertStatus::Resolved,
                ..
            })
        ));
    }
    let err = b.resolve("al-nope", "bob", 1).unwrap_err();
    assert_eq!(
        err,
        LifecycleError::UnknownAlert {
            id: "al-nope".to_string()
        }
    );
    assert_eq!(err.to_string(), "no alert al-nope");
}

#[test]
fn escalating_an_acknowledged_alert_reopens_it() {
    let mut b = book();
    let (a, _, _) = b.observe(input(1, Priority::P3, 1.0, 0, ""));
    b.acknowledge(&a.id, "alice", 10).unwrap();
    let (r, _, o) = b.observe(input(1, Priority::P3, 1.0, 20, ""));
    assert_eq!((o, r.status), (Observed::Repeat, AlertStatus::Acknowledged));
    let (r, h, o) = b.observe(input(1, Priority::P1, 1.0, 30, ""));
    assert_eq!(o, Observed::Reopened);
    assert_eq!((r.status, r.priority), (AlertStatus::Open, Priority::P1));
    assert_eq!(r.acknowledged_ms, Some(10), "first acknowledgement kept");
    let h = h.unwrap();
    assert_eq!(
        (h.action.as_str(), h.from, h.to, h.detail.as_str()),
        (
            "reopened",
            Some(AlertStatus::Acknowledged),
            Some(AlertStatus::Open),
            "priority P3 -> P1"
        )
    );
}

#[test]
fn assign_and_record() {
    let mut b = book();
    let (a, _, _) = b.observe(input(1, Priority::P2, 1.0, 0, ""));
    let (x, h) = b.assign(&a.id, "lead", Some("carol"), 5).unwrap();
    assert_eq!(
        (x.assignee.as_deref(), h.action.as_str(), h.detail.as_str()),
        (Some("carol"), "assigned", "carol")
    );
    let (x, h) = b.assign(&a.id, "lead", None, 6).unwrap();
    assert_eq!((x.assignee, h.detail.as_str()), (None, "unassigned"));
    let (x, h) = b
        .record(&a.id, "carol", "remediated", "restart-db exit 0", 7)
        .unwrap();
    assert_eq!((x.status, x.updated_ms), (AlertStatus::Open, 7));
    assert_eq!(
        (h.action.as_str(), h.detail.as_str(), h.from),
        ("remediated", "restart-db exit 0", None)
    );
    for bad in ["resolved", "", "  ", "created"] {
        assert!(
            matches!(
                b.record(&a.id, "carol", bad, "", 8),
                Err(LifecycleError::ReservedAction { .. })
            ),
            "{bad:?}"
        );
    }
    b.resolve(&a.id, "carol", 9).unwrap();
    assert!(b
        .record(&a.id, "carol", "remediated", "after the fact", 10)
        .is_ok());
}

#[test]
fn auto_resolve_closes_only_stale_live_alerts() {
    let mut b = book();
    let (old, _, _) = b.observe(input(1, Priority::P2, 1.0, 0, ""));
    let (fresh, _, _) = b.observe(input(2, Priority::P2, 1.0, 50_000, ""));
    let (sup, _, _) = b.observe(input(3, Priority::P2, 1.0, 1_000, ""));
    b.suppress(&sup.id, "alice", "noisy", 2_000).unwrap();
    let done = b.auto_resolve(60_000, 30_000);
    let ids: Vec<&str> = done.iter().map(|(a, _)| a.id.as_str()).collect();
    assert_eq!(ids, vec![old.id.as_str(), sup.id.as_str()]);
    let (a, h) = &done[0];
    assert_eq!(
        (a.status, a.resolved_ms),
        (AlertStatus::Resolved, Some(60_000))
    );
    assert_eq!(
        (h.actor.as_str(), h.detail.as_str()),
        ("system", "not seen for 30 s")
    );
    assert_eq!(b.get(&fresh.id).unwrap().status, AlertStatus::Open);
    assert!(b.auto_resolve(60_000, 30_000).is_empty());
}

#[test]
fn list_filters_and_orders_newest_first() {
    let mut b = book();
    for (fp, p, t) in [
        (1, Priority::P1, 10),
        (2, Priority::P2, 20),
        (3, Priority::P1, 30),
        (4, Priority::P1, 40),
    ] {
        b.observe(input(fp, p, 1.0, t, ""));
    }
    let id4 = b.live_for(4).unwrap().id.clone();
    b.acknowledge(&id4, "a", 50).unwrap();
    let fps = |f: &AlertFilter| b.list(f).iter().map(|a| a.fingerprint).collect::<Vec<_>>();
    assert_eq!(fps(&AlertFilter::default()), vec![4, 3, 2, 1]);
    let p1 = AlertFilter {
        priority: Some(Priority::P1),
        ..Default::default()
    };
    assert_eq!(fps(&p1), vec![4, 3, 1]);
    assert_eq!(
        fps(&AlertFilter {
            limit: 2,
            ..p1.clone()
        }),
        vec![4, 3]
    );
    assert_eq!(
        fps(&AlertFilter {
            status: Some(AlertStatus::Open),
            ..p1
        }),
        vec![3, 1]
    );
    assert_eq!(
        fps(&AlertFilter {
            since_ms: Some(20),
            ..Default::default()
        }),
        vec![4, 3, 2]
    );
    assert_eq!(
        fps(&AlertFilter {
            entity: Some("host-2".into()),
            ..Default::default()
        }),
        vec![2]
    );
}

#[test]
fn mtta_and_mttr_from_timestamps() {
    let mut b = book();
    let (a, _, _) = b.observe(input(1, Priority::P1, 1.0, 1_000, ""));
    let (c, _, _) = b.observe(input(2, Priority::P1, 1.0, 2_000, ""));
    let (d, _, _) = b.observe(input(3, Priority::P2, 1.0, 0, ""));
    b.acknowledge(&a.id, "x", 4_000).unwrap(); // 3 s
    b.acknowledge(&c.id, "x", 7_000).unwrap(); // 5 s
    b.resolve(&a.id, "x", 11_000).unwrap(); // 10 s
    b.suppress(&d.id, "x", "", 100).unwrap();
    let s = b.stats();
    assert_eq!(s.len(), 4);
    let p1 = &s[0];
    assert_eq!(p1.priority, Priority::P1);
    assert_eq!(
        (p1.open, p1.acknowledged, p1.suppressed, p1.resolved),
        (0, 1, 0, 1)
    );
    assert_eq!(p1.mtta_ms, Some(4_000.0));
    assert_eq!(p1.acknowledged_total, 2);
    assert_eq!(p1.mttr_ms, Some(10_000.0));
    b.resolve(&c.id, "x", 22_000).unwrap(); // 20 s
    assert_eq!(b.stats()[0].mttr_ms, Some(15_000.0));
    let p2 = &b.stats()[1];
    assert_eq!(
        (p2.open, p2.suppressed, p2.mtta_ms, p2.mttr_ms),
        (0, 1, None, None)
    );
    assert_eq!(b.stats()[3].mtta_ms, None);
    // A priority change moves the count.
    b.observe(input(3, Priority::P1, 1.0, 200, ""));
    assert_eq!((b.stats()[0].suppressed, b.stats()[1].suppressed), (1, 0));
}

#[test]
fn oldest_resolved_alerts_are_forgotten_first() {
    let mut b = AlertBook::with_seed(1).with_max_resolved(2);
    let mut ids = Vec::new();
    for fp in 1..=4 {
        ids.push(b.observe(input(fp, Priority::P3, 1.0, 0, "")).0.id);
    }
    for (i, t) in [(2, 100), (0, 200), (3, 300)] {
        b.resolve(&ids[i], "x", t).unwrap();
    }
    assert!(b.get(&ids[2]).is_none(), "resolved first, forgotten first");
    assert!(b.get(&ids[0]).is_some() && b.get(&ids[3]).is_some());
    assert!(b.get(&ids[1]).is_some(), "live alerts are never forgotten");
    assert_eq!(b.len(), 3);
    assert_eq!(b.stats()[2].resolved, 3, "statistics keep forgotten alerts");
}

#[test]
fn loaded_alerts_take_back_their_place() {
    let mut src = book();
    let (a, _, _) = src.observe(input(1, Priority::P2, 1.0, 0, ""));
    let (r, _, _) = src.observe(input(2, Priority::P2, 1.0, 0, ""));
    src.acknowledge(&a.id, "x", 1_000).unwrap();
    let (r, _) = src.resolve(&r.id, "x", 4_000).unwrap();
    let a = src.get(&a.id).unwrap().clone();

    let mut b = book();
    b.insert_loaded(a.clone());
    b.insert_loaded(r.clone());
    b.insert_loaded(a.clone()); // twice: replaced, not counted twice
    assert_eq!(b.live_for(1).map(|x| &x.id), Some(&a.id));
    assert!(b.live_for(2).is_none());
    let (x, _, o) = b.observe(input(1, Priority::P2, 1.0, 5_000, ""));
    assert_eq!(
        (o, x.id, x.occurrences),
        (Observed::Repeat, a.id.clone(), 2)
    );
    let p2 = &b.stats()[1];
    assert_eq!(
        (p2.acknowledged, p2.resolved, p2.acknowledged_total),
        (1, 1, 1)
    );
    assert_eq!((p2.mtta_ms, p2.mttr_ms), (Some(1_000.0), Some(4_000.0)));
}
