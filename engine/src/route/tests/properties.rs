//! Compiling arbitrary matcher text and evaluating arbitrary events never panics.

use super::{finding, logon, rule, TARGETS};
use crate::route::*;
use crate::schema::{Event, Symbol, Text};
use crate::score::anomaly::{DetectorParts, EventScore};
use proptest::prelude::*;
use smallvec::smallvec;

/// Matcher-ish text: real fields and operators mixed with noise.
fn matcher_text() -> impl Strategy<Value = String> {
    let field = prop_oneof![
        Just("severity".to_owned()),
        Just("src_endpoint.ip".to_owned()),
        Just("tocsin.score".to_owned()),
        Just("unmapped.k".to_owned()),
        Just("metrics.m".to_owned()),
        Just("finding_info.title".to_owned()),
        Just("dst_endpoint.port".to_owned()),
        "[a-z_.]{0,12}",
    ];
    let op = prop_oneof![
        Just("="),
        Just("!="),
        Just("=~"),
        Just("!~"),
        Just(">="),
        Just("<="),
        Just("<"),
        Just(" in "),
        Just("=="),
        Just(""),
    ];
    let value = prop_oneof![
        "\"[^\"]{0,10}\"",
        "[0-9.:/a-fA-F]{0,16}",
        "\\[[0-9., \"/:a-z]{0,24}\\]",
        ".{0,12}",
    ];
    prop_oneof![
        (field, op, value).prop_map(|(f, o, v)| format!("{f} {o} {v}")),
        ".{0,40}",
    ]
}

fn event() -> impl Strategy<Value = Event> {
    (
        any::<u8>(),
        any::<i64>(),
        proptest::option::of(any::<[u8; 4]>()),
        proptest::option::of(any::<u16>()),
        proptest::option::of(any::<f32>()),
        ".{0,20}",
        any::<bool>(),
        any::<f64>(),
    )
        .prop_map(|(sev, time, ip, port, score, text, is_finding, x)| {
            let mut e = if is_finding { finding() } else { logon() };
            e.severity_id = sev;
            e.time = time;
            e.src.ip = ip.map(std::net::IpAddr::from);
            e.dst.port = port;
            e.score = score.map(|score| EventScore {
                score,
                parts: DetectorParts::default(),
            });
            e.message = Text::from(text.clone());
            e.unmapped = [(Text::from("k"), Text::from(text))].into_iter().collect();
            e.metrics = smallvec![(Symbol::intern("m"), x)];
            e
        })
}

proptest! {
    #[test]
    fn compiling_and_evaluating_never_panics(
        matchers in proptest::collection::vec(matcher_text(), 1..4),
        events in proptest::collection::vec(event(), 1..4),
        now in any::<i64>(),
    ) {
        let mut spec = rule("p", 1, &[]);
        spec.matchers = matchers;
        spec.throttle = Some(ThrottleSpec { count: 1, interval_secs: 1, by: vec!["message".to_owned()] });
        if let Ok(set) = RuleSet::compile(vec![spec], &TARGETS) {
            let mut t = Throttle::new();
            for e in &events {
                let _ = set.evaluate(e, &mut t, now);
            }
        }
    }
}
