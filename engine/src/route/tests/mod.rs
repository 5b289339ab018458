//! Rules on real events: each matcher kind, absent fields, IP networks, rule order,
//! `continue`, actions and throttling; errors as people read them in [`errors`], and a property
//! test in [`properties`].

mod errors;
mod properties;

use smallvec::smallvec;

use super::*;
use crate::alert::Priority;
use crate::schema::{
    Device, Endpoint, Event, Status, Symbol, Text, CLASS_AUTHENTICATION, CLASS_DETECTION_FINDING,
};
use crate::score::anomaly::{Anomaly, AnomalyKind, DetectorParts, EventScore, TopSignal};

pub(super) const TARGETS: [&str; 3] = ["file", "pagerduty", "slack"];

/// A failed SSH logon as a firewall-fronted host reports it.
pub(super) fn logon() -> Event {
    let sym = Symbol::intern;
    Event {
        time: 1_700_000_000_000,
        severity_id: 4,
        class_uid: CLASS_AUTHENTICATION,
        activity_name: Some(sym("Logon")),
        status: Status::Failure,
        message: Text::from("Failed password for root from 10.1.2.3 port 52100 ssh2"),
        src: Endpoint {
            ip: "10.1.2.3".parse().ok(),
            port: Some(52100),
            hostname: None,
        },
        dst: Endpoint {
            ip: "2001:db8::22".parse().ok(),
            port: Some(22),
            hostname: Some(Text::from("bastion")),
        },
        user: Some(Text::from("root")),
        protocol: Some(sym("tcp")),
        device: Device {
            hostname: Some(sym("fw-01")),
            ip: "192.168.1.7".parse().ok(),
        },
        vendor: Some(sym("OpenBSD")),
        product: Some(sym("sshd")),
        event_code: Some(sym("4625")),
        source: Some(sym("syslog-udp")),
        entity: Some(sym("fw-01")),
        metrics: smallvec![(sym("latency_ms"), 120.0)],
        unmapped: [("pid", "4242"), ("session", "abc")].into_iter().collect(),
        score: Some(EventScore {
            score: 0.9,
            parts: DetectorParts::default(),
        }),
        ..Event::default()
    }
}

/// The Detection Finding scoring made of a brute force on fw-01.
pub(super) fn finding() -> Event {
    let anomaly = Anomaly {
        id: Anomaly::id_for("fw-01", AnomalyKind::BruteForce, 1_700_000_000_000),
        entity: Symbol::intern("fw-01"),
        class: Symbol::intern("sshd"),
        kind: AnomalyKind::BruteForce,
        window_start_ms: 1_700_000_000_000,
        window_end_ms: 1_700_000_060_000,
        score: 0.97,
        parts: DetectorParts::default(),
        signals: smallvec![TopSignal {
            name: "auth_failures".to_owned(),
            value: 42.0,
            expected: Some(0.3),
            score: 0.99,
        }],
        rules: smallvec![],
        detected_ns: 1_700_000_061_000_000_000,
    };
    Event {
        time: anomaly.window_end_ms,
        severity_id: anomaly.severity_id(),
        class_uid: CLASS_DETECTION_FINDING,
        entity: Some(anomaly.entity),
        finding: Some(Box::new(anomaly)),
        ..Event::default()
    }
}

pub(super) fn rule(name: &str, priority: u32, matchers: &[&str]) -> RuleSpec {
    RuleSpec {
        name: name.to_owned(),
        priority,
        matchers: matchers.iter().map(|m| (*m).to_owned()).collect(),
        targets: vec![],
        set_priority: None,
        drop: false,
        throttle: None,
        runbook: None,
        continue_matching: false,
    }
}

/// Whether the one matcher `m` matches `event`.
fn hit(m: &str, event: &Event) -> bool {
    let set =
        RuleSet::compile(vec![rule("r", 1, &[m])], &TARGETS).unwrap_or_else(|e| panic!("{m}: {e}"));
    set.evaluate(event, &mut Throttle::new(), 0).rule == Some(0)
}

/// The error text for rules that must not compile.

#[test]
fn each_matcher_kind_on_a_logon_and_a_finding() {
    let (ev, fi) = (logon(), finding());
    // (matcher, on the logon, on the finding)
    let cases = [
        ("time >= 1700000000000", true, true),
        ("severity_id = 4", true, false),
        ("severity >= \"High\"", true, true),
        ("severity = critical", false, true),
        ("severity < Medium", false, false),
        ("severity_id <= 4", true, false),
        ("severity =~ \"High|Critical\"", true, true),
        ("class_uid in [3002, 4001]", true, false),
        ("class_name = \"Detection Finding\"", false, true),
        ("activity_name = Logon", true, false),
        ("status = Failure", true, false),
        ("status != Success", true, true),
        ("message =~ \"Failed password for .*\"", true, false),
        ("message =~ \"Failed\"", false, false),
        ("message !~ \".*sudo.*\"", true, true),
        ("src_endpoint.port > 1024", true, false),
        ("dst_endpoint.port = 22", true, false),
        ("dst_endpoint.port =~ \"2.\"", true, false),
        ("dst_endpoint.hostname = bastion", true, false),
        ("actor.user.name in [root, admin]", true, false),
        ("connection_info.protocol_name = tcp", true, false),
        ("device.hostname =~ \"fw-\\d+\"", true, false),
        ("device.ip = 192.168.1.7", true, false),
        ("metadata.product.vendor_name = OpenBSD", true, false),
        ("metadata.product.name != sshd", false, true),
        ("metadata.event_code in [\"4625\", \"4740\"]", true, false),
        ("tocsin.source = syslog-udp", true, false),
        ("tocsin.entity = fw-01", true, true),
        ("tocsin.score >= 0.9", true, false),
        ("tocsin.score > 0.9", false, false),
        ("tocsin.anomaly.kind = brute_force", false, true),
        (
            "tocsin.anomaly.kind in [error_burst, volume_spike]",
            false,
            false,
        ),
        ("tocsin.anomaly.score >= 0.95", false, true),
        ("tocsin.anomaly.entity = fw-01", false, true),
        (
            "finding_info.title = \"brute force on fw-01: auth_failures 42 (expected 0.3)\"",
            false,
            true,
        ),
        ("metrics.latency_ms > 100", true, false),
        ("metrics.latency_ms = 120", true, false),
        ("unmapped.pid >= 4000", true, false),
        ("unmapped.pid = 4242", true, false),
        ("unmapped.session =~ \"a.c\"", true, false),
    ];
    for (m, on_logon, on_finding) in cases {
        assert_eq!(hit(m, &ev), on_logon, "{m} on the logon");
        assert_eq!(hit(m, &fi), on_finding, "{m} on the finding");
    }
}

#[test]
fn a_title_longer_than_the_stack_buffer_still_matches() {
    let mut fi = finding();
    if let Some(a) = fi.finding.as_deref_mut() {
        a.rules = (0..60).map(|i| format!("threshold-rule-{i:02}")).collect();
    }
    let title = fi
        .finding
        .as_deref()
        .map(Anomaly::title)
        .unwrap_or_default();
    assert!(title.len() > 1_000, "{}", title.len());
    assert!(hit(r#"finding_info.title =~ ".*threshold-rule-59\]""#, &fi));
    assert!(hit(&format!("finding_info.title = \"{title}\""), &fi));
}

#[test]
fn compiled_rules_are_shareable_and_names_resolve() {
    fn shareable<T: Clone + Send + Sync + std::fmt::Debug>() {}
    shareable::<RuleSet>();
    shareable::<Throttle>();
    let mut r = rule("r", 1, &[]);
    r.runbook = Some("rb".to_owned());
    let set = RuleSet::compile(vec![r], &TARGETS).unwrap();
    assert_eq!((set.rule_name(0), set.runbook_name(0)), ("r", "rb"));
    assert_eq!((set.rule_name(7), set.runbook_name(7)), ("", ""));
    assert_eq!(set.specs()[0].name, "r");
    assert_eq!(TargetSet(0b1001).iter().collect::<Vec<_>>(), [0, 3]);
    assert!(TargetSet(0b1001).contains(3) && !TargetSet(0b1001).contains(64));
}

#[test]
fn absent_fields_are_empty_text_and_match_no_number_or_list() {
    let ev = logon();
    let cases = [
        ("metadata.uid = \"\"", true),
        ("metadata.uid != \"\"", false),
        ("metadata.uid != x", true),
        ("metadata.uid = x", false),
        ("metadata.uid =~ \".*\"", true),
        ("metadata.uid !~ \"x\"", true),
        ("disposition in [\"\", Allowed]", false),
        ("src_endpoint.hostname in [a]", false),
        ("metrics.cpu_pct >= 0", false),
        ("metrics.cpu_pct <= 0", false),
        ("metrics.cpu_pct = \"\"", true),
        ("metrics.cpu_pct != 0", true),
        ("unmapped.missing >= 0", false),
        ("tocsin.anomaly.score <= 1", false),
        ("tocsin.anomaly.score = \"\"", true),
        ("finding_info.title = \"\"", true),
        ("finding_info.title =~ \".+\"", false),
        // Present fields for contrast.
        ("src_endpoint.port = \"\"", false),
        ("src_endpoint.port != \"\"", true),
        ("unmapped.session >= 0", false),
    ];
    for (m, want) in cases {
        assert_eq!(hit(m, &ev), want, "{m}");
    }
    let mut bare = Event::default();
    assert!(hit("src_endpoint.ip = \"\"", &bare));
    assert!(!hit("src_endpoint.ip in [\"0.0.0.0/0\", \"::/0\"]", &bare));
    assert!(hit("message = \"\"", &bare));
    bare.message = Text::from("x");
    assert!(hit("message != \"\"", &bare));
}

#[test]
fn ip_networks_v4_and_v6() {
    let mut ev = logon();
    let cases = [
        ("src_endpoint.ip in [\"10.0.0.0/8\"]", true),
        (
            "src_endpoint.ip in [\"10.1.2.0/24\", \"172.16.0.0/12\"]",
            true,
        ),
        ("src_endpoint.ip in [\"10.1.3.0/24\"]", false),
        ("src_endpoint.ip in [\"10.1.2.3\"]", true),
        ("src_endpoint.ip in [\"0.0.0.0/0\"]", true),
        ("src_endpoint.ip in [\"::/0\"]", false),
        ("dst_endpoint.ip in [\"2001:db8::/32\"]", true),
        (
            "dst_endpoint.ip in [\"2001:db9::/32\", \"10.0.0.0/8\"]",
            false,
        ),
        ("dst_endpoint.ip in [\"2001:db8::22/128\"]", true),
        ("dst_endpoint.ip = \"2001:db8::22\"", true),
        ("dst_endpoint.ip != \"2001:db8::23\"", true),
        ("dst_endpoint.ip =~ \"2001:db8:.*\"", true),
        ("device.ip in [\"192.168.1.7\", \"10.0.0.0/8\"]", true),
    ];
    for (m, want) in cases {
        assert_eq!(hit(m, &ev), want, "{m}");
    }
    // An IPv4-mapped IPv6 address is the IPv4 address.
    ev.src.ip = "::ffff:10.1.2.3".parse().ok();
    assert!(hit("src_endpoint.ip in [\"10.0.0.0/8\"]", &ev));
    assert!(hit("src_endpoint.ip = 10.1.2.3", &ev));
}

#[test]
fn rules_run_in_priority_order_and_stop_unless_continue() {
    let ev = logon();
    let mut sshd = rule("sshd", 5, &["metadata.product.name = sshd"]);
    sshd.targets = vec!["slack".to_owned()];
    sshd.set_priority = Some(Priority::P3);
    sshd.runbook = Some("check-sshd".to_owned());
    let mut high = rule("high", 1, &["severity >= High"]);
    high.targets = vec!["pagerduty".to_owned()];
    high.set_priority = Some(Priority::P2);
    let never = rule("never", 0, &["status = Success"]);
    let set = RuleSet::compile(vec![sshd.clone(), high.clone(), never.clone()], &TARGETS).unwrap();
    let mut t = Throttle::new();
    // `high` (priority 1) matches first and stops.
    let d = set.evaluate(&ev, &mut t, 0);
    assert_eq!(
        d,
        Decision {
            outcome: Outcome::Route,
            targets: TargetSet(0b010),
            priority: Some(Priority::P2),
            runbook: None,
            rule: Some(1),
        }
    );
    assert_eq!(set.rule_name(1), "high");
    assert_eq!(d.targets.iter().collect::<Vec<_>>(), [1]);

    // With `continue`, `sshd` adds its target and runbook; `high`'s priority stays.
    high.continue_matching = true;
    let set = RuleSet::compile(vec![sshd.clone(), high.clone(), never], &TARGETS).unwrap();
    let d = set.evaluate(&ev, &mut t, 0);
    assert_eq!(d.targets, TargetSet(0b110));
    assert_eq!(d.priority, Some(Priority::P2));
    assert_eq!(d.runbook.map(|r| set.runbook_name(r)), Some("check-sshd"));
    assert_eq!(set.runbooks().collect::<Vec<_>>(), ["check-sshd"]);
    assert_eq!(d.rule, Some(1));

    // Equal priorities keep file order; no match routes to the default targets.
    let a = rule("a", 3, &["status = Failure"]);
    let b = rule("b", 3, &[]);
    let set = RuleSet::compile(vec![a, b], &TARGETS).unwrap();
    assert_eq!(set.evaluate(&ev, &mut t, 0).rule, Some(0));
    let d = set.evaluate(&finding(), &mut t, 0);
    assert_eq!((d.rule, d.targets.is_empty()), (Some(1), true));
    let d = RuleSet::empty().evaluate(&ev, &mut t, 0);
    assert_eq!(
        (d.outcome, d.rule, d.targets),
        (Outcome::Route, None, TargetSet(0))
    );
}

#[test]
fn drop_stops_and_keeps_what_earlier_rules_set() {
    let mut tag = rule("tag", 1, &[]);
    tag.set_priority = Some(Priority::P4);
    tag.continue_matching = true;
    let mut noise = rule("noise", 2, &["message =~ \".*ssh2\""]);
    noise.drop = true;
    let mut after = rule("after", 3, &[]);
    after.targets = vec!["file".to_owned()];
    let set = RuleSet::compile(vec![tag, noise, after], &TARGETS).unwrap();
    let d = set.evaluate(&logon(), &mut Throttle::new(), 0);
    assert_eq!(d.outcome, Outcome::Drop);
    assert_eq!(
        (d.rule, d.priority, d.targets),
        (Some(0), Some(Priority::P4), TargetSet(0))
    );
    let d = set.evaluate(&finding(), &mut Throttle::new(), 0);
    assert_eq!((d.outcome, d.targets), (Outcome::Route, TargetSet(1)));
}

#[test]
fn throttle_counts_per_fingerprint_and_interval() {
    let mut r = rule("auth", 1, &["class_uid = 3002"]);
    r.throttle = Some(ThrottleSpec {
        count: 2,
        interval_secs: 60,
        by: vec!["src_endpoint.ip".to_owned()],
    });
    let set = RuleSet::compile(vec![r], &TARGETS).unwrap();
    let mut t = Throttle::new();
    let a = logon();
    let mut b = logon();
    b.src.ip = "10.9.9.9".parse().ok();
    let outcome = |t: &mut Throttle, e: &Event, now: i64| set.evaluate(e, t, now).outcome;
    let base = 1_700_000_020_000; // 40 s into a minute
    assert_eq!(outcome(&mut t, &a, base), Outcome::Route);
    assert_eq!(outcome(&mut t, &a, base + 1), Outcome::Route);
    assert_eq!(outcome(&mut t, &a, base + 2), Outcome::Throttled);
    // Another source IP is another fingerprint.
    assert_eq!(outcome(&mut t, &b, base + 3), Outcome::Route);
    assert_eq!(outcome(&mut t, &a, base + 19_999), Outcome::Throttled);
    // The next minute starts afresh.
    assert_eq!(outcome(&mut t, &a, base + 20_000), Outcome::Route);
    assert_eq!(outcome(&mut t, &a, base + 20_001), Outcome::Route);
    // A throttled decision still names its rule.
    let d = set.evaluate(&a, &mut t, base + 20_002);
    assert_eq!((d.outcome, d.rule), (Outcome::Throttled, Some(0)));
    // Events the rule does not match are not counted.
    assert_eq!(outcome(&mut t, &finding(), base), Outcome::Route);
    assert_eq!(t.len(), 2);

    // The default `by` is the entity; `[]` counts the whole rule.
    let mut whole = rule("whole", 1, &[]);
    whole.throttle = Some(ThrottleSpec {
        count: 1,
        interval_secs: 1,
        by: vec![],
    });
    let set = RuleSet::compile(vec![whole], &TARGETS).unwrap();
    let mut t = Throttle::new();
    assert_eq!(set.evaluate(&a, &mut t, 0).outcome, Outcome::Route);
    assert_eq!(set.evaluate(&b, &mut t, 1).outcome, Outcome::Throttled);
    assert_eq!(
        set.evaluate(&finding(), &mut t, 999).outcome,
        Outcome::Throttled
    );
    assert_eq!(set.evaluate(&a, &mut t, 1000).outcome, Outcome::Route);
}
