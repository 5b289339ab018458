use super::*;

const S: i64 = 1_000;
const MIN: i64 = 60 * S;
const H: i64 = 60 * MIN;
/// Default group_wait and group_interval.
const WAIT: i64 = 30 * S;
const TICK: i64 = 5 * MIN;

fn labels(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    v.sort();
    v
}

fn dispatcher(config: GroupConfig) -> Dispatcher {
    match config.build() {
        Ok(d) => d,
        Err(e) => panic!("test config must be valid: {e:?}"),
    }
}

/// One alert as the tests drive it: receiver 0x1 unless changed.
struct A {
    fp: u64,
    id: &'static str,
    labels: Vec<(String, String)>,
    receiver: u64,
}

fn alert(fp: u64, id: &'static str, pairs: &[(&str, &str)]) -> A {
    A {
        fp,
        id,
        labels: labels(pairs),
        receiver: 1,
    }
}

impl A {
    fn change(&self, firing: bool, muted: bool, at_ms: i64) -> AlertChange<'_> {
        AlertChange {
            fingerprint: self.fp,
            alert_id: self.id,
            labels: &self.labels,
            firing,
            muted,
            receiver: self.receiver,
            at_ms,
        }
    }
    fn fire(&self, d: &mut Dispatcher, now: i64) -> UpdateOutcome {
        d.update(self.change(true, false, now), now)
    }
    fn mute(&self, d: &mut Dispatcher, now: i64) -> UpdateOutcome {
        d.update(self.change(true, true, now), now)
    }
    fn resolve(&self, d: &mut Dispatcher, now: i64) -> UpdateOutcome {
        d.update(self.change(false, false, now), now)
    }
}

fn ids(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// (firing, resolved, repeat) of each notification.
fn summary(ns: &[GroupNotification]) -> Vec<(Vec<String>, Vec<String>, bool)> {
    ns.iter()
        .map(|n| (n.firing.clone(), n.resolved.clone(), n.repeat))
        .collect()
}

#[test]
fn group_wait_batches_two_alerts_one_second_apart() {
    let mut d = dispatcher(GroupConfig::default());
    let a = alert(1, "a", &[("entity", "db1"), ("kind", "cpu")]);
    let b = alert(2, "b", &[("entity", "db1"), ("kind", "mem")]);
    assert_eq!(a.fire(&mut d, 0), UpdateOutcome::Recorded);
    assert_eq!(b.fire(&mut d, S), UpdateOutcome::Recorded);
    assert_eq!(d.next_due(), Some(WAIT));
    assert!(d.due(WAIT - 1).is_empty());
    let ns = d.due(WAIT);
    assert_eq!(
        ns,
        vec![GroupNotification {
            group_key: "0x1:{entity=\"db1\"}".to_string(),
            group_labels: labels(&[("entity", "db1")]),
            receiver: 1,
            firing: ids(&["a", "b"]),
            resolved: vec![],
            repeat: false,
        }]
    );
    assert_eq!(d.next_due(), Some(WAIT + TICK));
}

#[test]
fn an_alert_after_the_first_flush_waits_for_group_interval() {
    let mut d = dispatcher(GroupConfig::default());
    let (a, b, c) = (
        alert(1, "a", &[("entity", "db1")]),
        alert(2, "b", &[("entity", "db1")]),
        alert(3, "c", &[("entity", "db1")]),
    );
    a.fire(&mut d, 0);
    b.fire(&mut d, S);
    assert_eq!(d.due(WAIT).len(), 1);
    c.fire(&mut d, 40 * S);
    assert!(d.due(40 * S).is_empty());
    assert_eq!(d.next_due(), Some(WAIT + TICK));
    assert!(d.due(WAIT + TICK - 1).is_empty());
    let ns = d.due(WAIT + TICK);
    assert_eq!(summary(&ns), vec![(ids(&["a", "b", "c"]), vec![], false)]);
}

#[test]
fn different_group_values_and_receivers_make_separate_groups() {
    let mut d = dispatcher(GroupConfig::default());
    let a = alert(1, "a", &[("entity", "db1")]);
    let b = alert(2, "b", &[("entity", "db2")]);
    let mut c = alert(3, "c", &[("entity", "db1")]);
    c.receiver = 0b110;
    let no_entity = alert(4, "d", &[("kind", "cpu")]);
    for x in [&a, &b, &c, &no_entity] {
        x.fire(&mut d, 0);
    }
    assert_eq!(d.group_count(), 4);
    let ns = d.due(WAIT);
    let keys: Vec<(&str, &[String])> = ns
        .iter()
        .map(|n| (n.group_key.as_str(), n.firing.as_slice()))
        .collect();
    assert_eq!(
        keys,
        vec![
            ("0x1:{entity=\"db1\"}", &ids(&["a"])[..]),
            ("0x1:{entity=\"db2\"}", &ids(&["b"])[..]),
            ("0x1:{}", &ids(&["d"])[..]),
            ("0x6:{entity=\"db1\"}", &ids(&["c"])[..]),
        ]
    );
    assert_eq!(ns[3].receiver, 0b110);
    assert!(ns[2].group_labels.is_empty());
}

#[test]
fn repeat_interval_resends_unchanged_firing_alerts_and_not_before() {
    let mut d = dispatcher(GroupConfig::default());
    let a = alert(1, "a", &[("entity", "db1")]);
    a.fire(&mut d, 0);
    assert_eq!(d.due(WAIT).len(), 1);
    // 4 h = 48 ticks of 5 min after the notification at WAIT.
    for k in 1..48 {
        assert!(d.due(WAIT + k * TICK).is_empty(), "tick {k}");
    }
    let ns = d.due(WAIT + 48 * TICK);
    assert_eq!(summary(&ns), vec![(ids(&["a"]), vec![], true)]);
    // The repeat counts as the last notification.
    assert!(d.due(WAIT + 49 * TICK).is_empty());
}

#[test]
fn a_change_is_not_a_repeat_and_restarts_the_repeat_clock() {
    let mut d = dispatcher(GroupConfig::default());
    let a = alert(1, "a", &[("entity", "db1")]);
    let b = alert(2, "b", &[("entity", "db1")]);
    a.fire(&mut d, 0);
    d.due(WAIT);
    for k in 1..=24 {
        assert!(d.due(WAIT + k * TICK).is_empty(), "tick {k}");
    }
    b.fire(&mut d, WAIT + 24 * TICK + S);
    assert_eq!(
        summary(&d.due(WAIT + 25 * TICK)),
        vec![(ids(&["a", "b"]), vec![], false)]
    );
    // a's old repeat time (tick 48) passes quietly; the repeat comes 4 h after the change.
    for k in 26..25 + 48 {
        assert!(d.due(WAIT + k * TICK).is_empty(), "tick {k}");
    }
    assert_eq!(
        summary(&d.due(WAIT + (25 + 48) * TICK)),
        vec![(ids(&["a", "b"]), vec![], true)]
    );
}

#[test]
fn a_resolved_alert_is_notified_then_leaves_the_group() {
    let mut d = dispatcher(GroupConfig::default());
    let a = alert(1, "a", &[("entity", "db1")]);
    let b = alert(2, "b", &[("entity", "db1")]);
    a.fire(&mut d, 0);
    b.fire(&mut d, 0);
    d.due(WAIT);
    assert_eq!(a.resolve(&mut d, MIN), UpdateOutcome::Recorded);
    assert_eq!(
        summary(&d.due(WAIT + TICK)),
        vec![(ids(&["b"]), ids(&["a"]), false)]
    );
    // a was dropped: nothing more about it.
    assert!(d.due(WAIT + 2 * TICK).is_empty());
    b.resolve(&mut d, WAIT + 2 * TICK + S);
    assert_eq!(
        summary(&d.due(WAIT + 3 * TICK)),
        vec![(vec![], ids(&["b"]), false)]
    );
    assert_eq!(d.group_count(), 0);
    assert_eq!(d.next_due(), None);
    // Resolving again is about an alert no group holds.
    assert_eq!(b.resolve(&mut d, WAIT + 4 * TICK), UpdateOutcome::Ignored);
}

#[test]
fn send_resolved_false_sends_no_resolved_notification() {
    let config = GroupConfig {
        send_resolved: false,
        ..GroupConfig::default()
    };
    let mut d = dispatcher(config);
    let a = alert(1, "a", &[("entity", "db1")]);
    let b = alert(2, "b", &[("entity", "db1")]);
    a.fire(&mut d, 0);
    b.fire(&mut d, 0);
    d.due(WAIT);
    a.resolve(&mut d, MIN);
    assert!(d.due(WAIT + TICK).is_empty());
    b.resolve(&mut d, WAIT + TICK + S);
    assert!(d.due(WAIT + 2 * TICK).is_empty());
    assert_eq!(d.group_count(), 0);
    // Firing again after the group went away is news.
    a.fire(&mut d, H);
    assert_eq!(
        summary(&d.due(H + WAIT)),
        vec![(ids(&["a"]), vec![], false)]
    );
}

#[test]
fn an_alert_that_fires_and_resolves_before_any_flush_is_never_sent() {
    let mut d = dispatcher(GroupConfig::default());
    let a = alert(1, "a", &[("entity", "db1")]);
    a.fire(&mut d, 0);
    a.resolve(&mut d, 10 * S);
    assert!(d.due(WAIT).is_empty());
    assert_eq!(d.group_count(), 0);
}

#[test]
fn an_alert_that_resolves_and_fires_again_between_flushes_is_not_sent_again() {
    let mut d = dispatcher(GroupConfig::default());
    let a = alert(1, "a", &[("entity", "db1")]);
    a.fire(&mut d, 0);
    d.due(WAIT);
    a.resolve(&mut d, MIN);
    a.fire(&mut d, 2 * MIN);
    assert!(d.due(WAIT + TICK).is_empty());
    assert_eq!(d.group_count(), 1);
}

#[test]
fn a_muted_alert_is_never_notified_and_muting_is_not_a_resolution() {
    let mut d = dispatcher(GroupConfig::default());
    let a = alert(1, "a", &[("entity", "db1")]);
    let b = alert(2, "b", &[("entity", "db1")]);
    let m = alert(3, "m", &[("entity", "db2")]);
    // Muted from the start: never sent, then resolves silently.
    m.mute(&mut d, 0);
    a.fire(&mut d, 0);
    assert_eq!(summary(&d.due(WAIT)), vec![(ids(&["a"]), vec![], false)]);
    // a becomes muted: the next flush says nothing (no "resolved").
    a.mute(&mut d, MIN);
    assert!(d.due(WAIT + TICK).is_empty());
    // b is news; a is neither firing nor resolved in it.
    b.fire(&mut d, WAIT + TICK + S);
    assert_eq!(
        summary(&d.due(WAIT + 2 * TICK)),
        vec![(ids(&["b"]), vec![], false)]
    );
    // a resolves while muted: nothing, ever.
    d.update(a.change(false, true, H), H);
    d.update(m.change(false, true, H), H);
    for k in 3..60 {
        for n in d.due(WAIT + k * TICK) {
            assert!(!n.firing.contains(&"a".to_string()) && n.resolved.is_empty());
            assert!(!n.firing.contains(&"m".to_string()));
        }
    }
}

#[test]
fn an_unmuted_alert_is_sent_again_and_later_sent_as_resolved() {
    let mut d = dispatcher(GroupConfig::default());
    let a = alert(1, "a", &[("entity", "db1")]);
    a.fire(&mut d, 0);
    d.due(WAIT);
    a.mute(&mut d, MIN);
    assert!(d.due(WAIT + TICK).is_empty());
    // Unmuted and still firing: the flush after the muting took it off the firing list, so
    // it is news again (a silence that expired on a live problem).
    a.fire(&mut d, 2 * TICK);
    assert_eq!(
        summary(&d.due(WAIT + 2 * TICK)),
        vec![(ids(&["a"]), vec![], false)]
    );
    a.resolve(&mut d, 3 * TICK);
    assert_eq!(
        summary(&d.due(WAIT + 3 * TICK)),
        vec![(vec![], ids(&["a"]), false)]
    );
}

#[test]
fn group_by_all_labels_groups_identical_label_sets_only() {
    let config = GroupConfig {
        group_by: vec![GROUP_BY_ALL.to_string()],
        ..GroupConfig::default()
    };
    let mut d = dispatcher(config);
    let a = alert(1, "a", &[("entity", "db1"), ("kind", "cpu")]);
    let b = alert(2, "b", &[("kind", "cpu"), ("entity", "db1")]);
    let c = alert(3, "c", &[("entity", "db1"), ("kind", "mem")]);
    for x in [&a, &b, &c] {
        x.fire(&mut d, 0);
    }
    let ns = d.due(WAIT);
    assert_eq!(ns.len(), 2);
    assert_eq!(ns[0].group_key, "0x1:{entity=\"db1\",kind=\"cpu\"}");
    assert_eq!(
        ns[0].group_labels,
        labels(&[("entity", "db1"), ("kind", "cpu")])
    );
    assert_eq!(ns[0].firing, ids(&["a", "b"]));
    assert_eq!(ns[1].firing, ids(&["c"]));
}

#[test]
fn next_due_follows_the_earliest_group() {
    let mut d = dispatcher(GroupConfig::default());
    assert_eq!(d.next_due(), None);
    let a = alert(1, "a", &[("entity", "db1")]);
    let b = alert(2, "b", &[("entity", "db2")]);
    a.fire(&mut d, 5);
    assert_eq!(d.next_due(), Some(5 + WAIT));
    b.fire(&mut d, 10 * S);
    assert_eq!(d.next_due(), Some(5 + WAIT));
    assert_eq!(d.due(5 + WAIT).len(), 1);
    assert_eq!(d.next_due(), Some(10 * S + WAIT));
    assert_eq!(d.due(10 * S + WAIT).len(), 1);
    assert_eq!(d.next_due(), Some(5 + WAIT + TICK));
    // A group flushed late ticks from the late flush.
    assert_eq!(d.due(H).len(), 0);
    assert_eq!(d.next_due(), Some(H + TICK));
}

#[test]
fn an_alert_older_than_group_wait_makes_a_new_group_due_at_once() {
    let mut d = dispatcher(GroupConfig::default());
    let a = alert(1, "a", &[("entity", "db1")]);
    let now = 10 * MIN;
    assert_eq!(
        d.update(a.change(true, false, now - WAIT), now),
        UpdateOutcome::Recorded
    );
    assert_eq!(d.next_due(), Some(now));
    assert_eq!(summary(&d.due(now)), vec![(ids(&["a"]), vec![], false)]);
    // A muted old alert does not hurry a group.
    let m = alert(2, "m", &[("entity", "db2")]);
    d.update(m.change(true, true, 0), now);
    assert_eq!(d.next_due(), Some(now + WAIT));
}

#[test]
fn stale_changes_are_ignored() {
    let mut d = dispatcher(GroupConfig::default());
    let a = alert(1, "a", &[("entity", "db1")]);
    a.fire(&mut d, 100);
    d.due(WAIT + 100);
    assert_eq!(
        d.update(a.change(false, false, 50), MIN),
        UpdateOutcome::Ignored
    );
    assert!(d.due(WAIT + 100 + TICK).is_empty());
}

#[test]
fn a_firing_alert_moves_to_its_new_receiver() {
    let mut d = dispatcher(GroupConfig::default());
    let mut a = alert(1, "a", &[("entity", "db1")]);
    a.fire(&mut d, 0);
    d.due(WAIT);
    a.receiver = 2;
    a.fire(&mut d, MIN);
    let ns = d.due(WAIT + TICK);
    // The new receiver hears of it; the old group forgets it silently and goes away.
    assert_eq!(ns.len(), 1);
    assert_eq!(ns[0].receiver, 2);
    assert_eq!(ns[0].firing, ids(&["a"]));
    assert_eq!(d.group_count(), 1);
}

#[test]
fn at_the_group_limit_the_oldest_group_without_firing_alerts_goes_first() {
    let config = GroupConfig {
        max_groups: 2,
        ..GroupConfig::default()
    };
    let mut d = dispatcher(config);
    let a = alert(1, "a", &[("entity", "db1")]);
    let b = alert(2, "b", &[("entity", "db2")]);
    let c = alert(3, "c", &[("entity", "db3")]);
    a.fire(&mut d, 0);
    b.fire(&mut d, S);
    // Both groups hold firing alerts: refused and counted.
    assert_eq!(c.fire(&mut d, 2 * S), UpdateOutcome::Refused);
    assert_eq!((d.dropped_groups(), d.group_count()), (1, 2));
    d.due(WAIT + S);
    // Both resolve (their resolved notifications are pending); db2's group changed last.
    b.resolve(&mut d, MIN);
    a.resolve(&mut d, 2 * MIN);
    assert_eq!(c.fire(&mut d, 3 * MIN), UpdateOutcome::Recorded);
    assert_eq!((d.evicted_groups(), d.group_count()), (1, 2));
    assert_eq!(
        summary(&d.due(3 * MIN + WAIT)),
        vec![(ids(&["c"]), vec![], false)]
    );
    // db2's group was evicted, with its pending "resolved"; db1's is still sent.
    let ns = d.due(WAIT + S + TICK);
    assert_eq!(summary(&ns), vec![(vec![], ids(&["a"]), false)]);
}

#[test]
fn group_keys_escape_label_values() {
    let l = labels(&[("entity", "x\",y=\"z")]);
    assert_eq!(group_key(0xff, &l), "0xff:{entity=\"x\\\",y=\\\"z\"}");
    assert_ne!(
        group_key(1, &labels(&[("entity", "a\\")])),
        group_key(1, &labels(&[("entity", "a\\\\")]))
    );
}

#[test]
fn config_reads_toml_with_defaults_and_refuses_unknown_fields() {
    let c: GroupConfig = match toml::from_str("group_wait_ms = 1000\nsend_resolved = false") {
        Ok(c) => c,
        Err(e) => panic!("valid TOML: {e}"),
    };
    assert_eq!(c.group_wait_ms, 1000);
    assert!(!c.send_resolved);
    assert_eq!(c.group_by, vec!["entity".to_string()]);
    assert_eq!(c.repeat_interval_ms, 4 * 3_600_000);
    assert!(toml::from_str::<GroupConfig>("group_wiat_ms = 1").is_err());
    assert!(GroupConfig::default().validate().is_empty());
}

#[test]
fn validate_reports_every_problem_with_its_field() {
    let c = GroupConfig {
        group_by: vec!["...".into(), "entity".into(), "entity".into(), " ".into()],
        group_wait_ms: MAX_INTERVAL_MS + 1,
        group_interval_ms: 0,
        repeat_interval_ms: 0,
        send_resolved: true,
        max_groups: 0,
    };
    let fields: Vec<String> = c.validate().into_iter().map(|e| e.field).collect();
    assert_eq!(
        fields,
        vec![
            "group_by[0]",
            "group_by[2]",
            "group_by[3]",
            "group_wait_ms",
            "group_interval_ms",
            "repeat_interval_ms",
            "max_groups"
        ]
    );
    let short_repeat = GroupConfig {
        repeat_interval_ms: 1000,
        ..GroupConfig::default()
    };
    let errors = short_repeat.validate();
    assert_eq!(errors.len(), 1);
    assert!(errors[0].message.contains("shorter than group_interval_ms"));
    assert!(short_repeat.build().is_err());
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    /// (fingerprint, entity, receiver, action: 0 fire, 1 mute, 2 resolve, time step in s).
    fn ops() -> impl Strategy<Value = Vec<(u64, u8, u64, u8, i64)>> {
        prop::collection::vec((0u64..8, 0u8..4, 1u64..3, 0u8..3, 0i64..400), 0..120)
    }

    /// Index, schedule and groups agree with each other.
    fn check_invariants(d: &Dispatcher) {
        assert_eq!(d.schedule.len(), d.groups.len());
        assert!(d.groups.len() <= d.config.max_groups);
        for (at, key) in &d.schedule {
            assert_eq!(d.groups.get(key).map(|g| g.next_flush_ms), Some(*at));
        }
        for (fp, key) in &d.by_fingerprint {
            assert!(d
                .groups
                .get(key)
                .is_some_and(|g| g.members.contains_key(fp)));
        }
        for (key, g) in &d.groups {
            for fp in g.members.keys() {
                assert_eq!(d.by_fingerprint.get(fp), Some(key));
            }
        }
    }

    proptest! {
        #[test]
        fn random_changes_keep_the_dispatcher_consistent(ops in ops(), send_resolved: bool) {
            let config = GroupConfig { max_groups: 3, send_resolved, ..GroupConfig::default() };
            let mut d = dispatcher(config);
            let names = ["a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7"];
            let mut now = 0;
            let mut muted = [false; 8];
            for (fp, entity, receiver, action, step) in ops {
                now += step * S;
                let entity = format!("e{entity}");
                let mut a = alert(fp, names[fp as usize], &[("entity", entity.as_str())]);
                a.receiver = receiver;
                let (firing, mute) = match action {
                    0 => (true, false),
                    1 => (true, true),
                    _ => (false, false),
                };
                if d.update(a.change(firing, mute, now), now) == UpdateOutcome::Recorded && firing {
                    muted[fp as usize] = mute;
                }
                check_invariants(&d);
                for n in d.due(now) {
                    prop_assert!(!n.firing.is_empty() || !n.resolved.is_empty());
                    prop_assert!(send_resolved || n.resolved.is_empty());
                    for id in &n.firing {
                        prop_assert!(!n.resolved.contains(id));
                        let i = names.iter().position(|x| x == id).unwrap_or(usize::MAX);
                        prop_assert!(i < 8 && !muted[i], "muted alert {} sent", id);
                    }
                }
                check_invariants(&d);
                if let Some(t) = d.next_due() {
                    prop_assert!(t > now);
                }
            }
        }
    }
}
