//! Errors in rules and rules files, as people read them.

use super::{finding, rule, TARGETS};
use crate::alert::Priority;
use crate::route::*;

fn errors(specs: Vec<RuleSpec>) -> String {
    match RuleSet::compile(specs, &TARGETS) {
        Ok(_) => panic!("compiled"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn compile_errors_name_rule_matcher_column_and_reason() {
    let text = errors(vec![rule(
        "x",
        1,
        &["status = Failure", "severity >= \"Hgh\""],
    )]);
    assert_eq!(
        text,
        "rule \"x\", matcher 2 'severity >= \"Hgh\"', column 13: unknown severity \"Hgh\" \
         (one of Informational, Low, Medium, High, Critical, Fatal, Unknown, or 0 to 6)"
    );

    let mut bad_target = rule("t", 1, &[]);
    bad_target.targets = vec!["pagr".to_owned()];
    let mut dropper = rule("d", 2, &[]);
    dropper.drop = true;
    dropper.set_priority = Some(Priority::P1);
    let mut throttled = rule("th", 3, &[]);
    throttled.throttle = Some(ThrottleSpec {
        count: 0,
        interval_secs: 0,
        by: vec!["device.name".to_owned()],
    });
    let text = errors(vec![
        rule("", 1, &[]),
        rule("a", 1, &["src_endpoint.adress = 1.2.3.4"]),
        rule("a", 1, &["message >= 3", "device.ip = 10.0.0.0/8"]),
        rule(
            "b",
            1,
            &[
                "message =~ \"(oops\"",
                "status = failed",
                "tocsin.score >= high",
            ],
        ),
        rule(
            "c",
            1,
            &[
                "device.ip in [\"10.0.0.0/33\"]",
                "tocsin.anomaly.kind = brute",
            ],
        ),
        rule("e", 1, &["class_name = \"Detection Findings\""]),
        bad_target,
        dropper,
        throttled,
    ]);
    let lines: Vec<&str> = text.lines().collect();
    let known = "time, severity_id, severity, class_uid, class_name, activity_name, status, \
                 disposition, message, src_endpoint.ip, src_endpoint.port, \
                 src_endpoint.hostname, dst_endpoint.ip, dst_endpoint.port, \
                 dst_endpoint.hostname, actor.user.name, connection_info.protocol_name, \
                 device.hostname, device.ip, metadata.product.vendor_name, \
                 metadata.product.name, metadata.event_code, metadata.uid, tocsin.source, \
                 tocsin.entity, tocsin.score, tocsin.anomaly.kind, tocsin.anomaly.score, \
                 tocsin.anomaly.entity, finding_info.title, tocsin.incident.priority, tocsin.incident.root_cause, tocsin.incident.blast_radius, tocsin.incident.members, metrics.<name>, unmapped.<key>";
    assert_eq!(
        lines,
        [
            "rule \"\": the name is empty".to_owned(),
            format!(
                "rule \"a\", matcher 1 'src_endpoint.adress = 1.2.3.4', column 1: unknown \
                 field \"src_endpoint.adress\" (known: {known})"
            ),
            "rule \"a\": the name is used by rule 2 too".to_owned(),
            "rule \"a\", matcher 1 'message >= 3', column 1: '>=' compares numbers, and \
             message is text"
                .to_owned(),
            "rule \"a\", matcher 2 'device.ip = 10.0.0.0/8', column 13: \"10.0.0.0/8\" is a \
             network: use 'in [\"10.0.0.0/8\"]' to match a CIDR"
                .to_owned(),
            "rule \"b\", matcher 1 'message =~ \"(oops\"', column 12: invalid regex \"(oops\": \
             unclosed group"
                .to_owned(),
            "rule \"b\", matcher 2 'status = failed', column 10: unknown status \"failed\" \
             (one of Unknown, Success, Failure)"
                .to_owned(),
            "rule \"b\", matcher 3 'tocsin.score >= high', column 17: expected a number, \
             found \"high\""
                .to_owned(),
            "rule \"c\", matcher 1 'device.ip in [\"10.0.0.0/33\"]', column 15: \
             \"10.0.0.0/33\" is not an IP address or CIDR"
                .to_owned(),
            "rule \"c\", matcher 2 'tocsin.anomaly.kind = brute', column 23: unknown anomaly \
             kind \"brute\" (one of volume_spike, error_burst, brute_force, \
             latency_degradation, new_behaviour, threshold_breach, silence)"
                .to_owned(),
            "rule \"e\", matcher 1 'class_name = \"Detection Findings\"', column 14: unknown \
             class \"Detection Findings\" (one of Base Event, Process Activity, Detection \
             Finding, Authentication, Network Activity, HTTP Activity, API Activity, Metric, \
             Other)"
                .to_owned(),
            "rule \"t\": unknown target \"pagr\" (targets: file, pagerduty, slack)".to_owned(),
            "rule \"d\": a rule that drops stops there: set_priority would have no effect"
                .to_owned(),
            "rule \"th\": throttle.count must be at least 1".to_owned(),
            "rule \"th\": throttle.interval_secs must be 1 to 31622400, not 0".to_owned(),
            format!("rule \"th\": throttle.by: unknown field \"device.name\" (known: {known})"),
        ]
    );
    let many: Vec<String> = (0..65).map(|i| format!("t{i}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let err = RuleSet::compile(vec![], &many).unwrap_err();
    assert_eq!(
        err.to_string(),
        "65 targets are configured; rules can address at most 64"
    );
}

#[test]
fn files_report_toml_and_rule_errors_with_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rules.toml");
    let load = |text: &str| {
        std::fs::write(&path, text).unwrap();
        RuleSet::load(&path, &TARGETS)
    };
    let shown = path.display().to_string();

    let set = load("# nothing yet\n").unwrap();
    assert_eq!(set.len(), 0);

    let err = load("[[rules]]\nname = \"a\"\npriority = 1\nmatchers = [\"x = 1\"\n").unwrap_err();
    assert_eq!(err.errors.len(), 1);
    assert_eq!(err.errors[0].line, Some(5));
    assert!(
        err.to_string()
            .starts_with(&format!("{shown}, line 5, column 1: ")),
        "{err}"
    );

    let err = load("[[rules]]\nname = \"a\"\npriority = 1\nmatcher = []\n").unwrap_err();
    assert_eq!(err.errors[0].line, Some(4));
    assert!(
        err.errors[0]
            .reason
            .starts_with("unknown field `matcher`, expected one of"),
        "{err}"
    );

    let text = "[[rules]]\nname = \"ok\"\npriority = 1\n\n[[rules]]\nname = \"bad\"\n\
                priority = 2\ntargets = [\"nope\"]\nmatchers = [\n  'status = Failure',\n  \
                'severity >= \"Hgh\"',\n]\n";
    let err = load(text).unwrap_err();
    let lines: Vec<String> = err.errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        lines,
        [
            format!(
                "{shown}, line 11: rule \"bad\", matcher 2 'severity >= \"Hgh\"', column 13: \
                 unknown severity \"Hgh\" (one of Informational, Low, Medium, High, Critical, \
                 Fatal, Unknown, or 0 to 6)"
            ),
            format!(
                "{shown}, line 6: rule \"bad\": unknown target \"nope\" (targets: file, \
                 pagerduty, slack)"
            ),
        ]
    );

    let err = RuleSet::load(&dir.path().join("missing.toml"), &TARGETS).unwrap_err();
    assert!(
        err.to_string().contains("cannot read the rules file"),
        "{err}"
    );
}

#[test]
fn the_shipped_rules_file_compiles_against_the_default_targets() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/rules.toml");
    let set = RuleSet::load(&path, &["file"]).unwrap_or_else(|e| panic!("{e}"));
    assert!(set.len() >= 3);
    let d = set.evaluate(&finding(), &mut Throttle::new(), 0);
    assert_eq!(d.priority, Some(Priority::P1));
    assert_eq!(d.outcome, Outcome::Route);
}
