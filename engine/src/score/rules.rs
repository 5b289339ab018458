//! Threshold rules (`config/detectors.toml`): named conditions on a window's signals that an
//! operator can read and change, such as "CPU over 90 % for 3 windows" or "5 failed logins
//! from one source in a window". A rule fires (score 1) when its condition has held for
//! `for_windows` consecutive windows of the entity, or, with `over_windows`, when the signal
//! summed over the last windows crosses the threshold (an error rate over a sliding window).

use std::collections::VecDeque;

use serde::Deserialize;

use super::window::Signals;

/// The shipped `config/detectors.toml`, built in: the rules an engine runs when its
/// configuration names no detectors file of its own and none is beside it.
pub const SHIPPED: &str = include_str!("../../../config/detectors.toml");

/// The file format.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulesFile {
    #[serde(default)]
    pub rules: Vec<RuleSpec>,
}

/// One rule as written.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    pub name: String,
    /// `events`, `failures`, `denies`, `auth_failures`, `auth_failures_one_source`,
    /// `distinct_sources`, `error_rate`, or `metric.<name>.mean` / `metric.<name>.max`.
    pub signal: String,
    /// `>`, `>=`, `<` or `<=`.
    pub op: String,
    pub value: f64,
    /// Consecutive windows the condition must hold (default 1).
    #[serde(default = "one")]
    pub for_windows: u32,
    /// For `error_rate`: the rate over this many last windows (default 1: the window alone).
    #[serde(default = "one")]
    pub over_windows: u32,
    /// For `error_rate`: fewer events than this over the windows never fire.
    #[serde(default)]
    pub min_events: u32,
    /// The anomaly kind it reports: `threshold_breach` (default), `brute_force`,
    /// `error_burst`, `volume_spike`, `latency_degradation`.
    #[serde(default = "breach")]
    pub kind: String,
}

fn one() -> u32 {
    1
}

fn breach() -> String {
    "threshold_breach".into()
}

const KINDS: [&str; 7] = [
    "threshold_breach",
    "brute_force",
    "error_burst",
    "volume_spike",
    "latency_degradation",
    "new_behaviour",
    "silence",
];

/// What a rule reads from a window.
#[derive(Debug, Clone, PartialEq)]
enum Signal {
    Events,
    Failures,
    Denies,
    AuthFailures,
    AuthFailuresOneSource,
    DistinctSources,
    ErrorRate,
    MetricMean(String),
    MetricMax(String),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Gt,
    Ge,
    Lt,
    Le,
}

/// A checked rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub name: String,
    pub kind: String,
    /// The signal as written (`metric.cpu_pct.mean`).
    pub signal_name: String,
    signal: Signal,
    op: Op,
    value: f64,
    for_windows: u32,
    over_windows: u32,
    min_events: u32,
}

impl Rule {
    fn parse(spec: &RuleSpec) -> Result<Rule, String> {
        let signal = match spec.signal.as_str() {
            "events" => Signal::Events,
            "failures" => Signal::Failures,
            "denies" => Signal::Denies,
            "auth_failures" => Signal::AuthFailures,
            "auth_failures_one_source" => Signal::AuthFailuresOneSource,
            "distinct_sources" => Signal::DistinctSources,
            "error_rate" => Signal::ErrorRate,
            other => match other
                .strip_prefix("metric.")
                .and_then(|m| m.rsplit_once('.'))
            {
                Some((name, "mean")) if !name.is_empty() => Signal::MetricMean(name.into()),
                Some((name, "max")) if !name.is_empty() => Signal::MetricMax(name.into()),
                _ => {
                    return Err(format!(
                        "signal {other:?} is not one of events, failures, denies, auth_failures, \
                         auth_failures_one_source, distinct_sources, error_rate, \
                         metric.<name>.mean, metric.<name>.max"
                    ))
                }
            },
        };
        let op = match spec.op.as_str() {
            ">" => Op::Gt,
            ">=" => Op::Ge,
            "<" => Op::Lt,
            "<=" => Op::Le,
            other => return Err(format!("op {other:?} is not >, >=, < or <=")),
        };
        if !spec.value.is_finite() {
            return Err("value must be a finite number".into());
        }
        if spec.for_windows == 0 || spec.over_windows == 0 {
            return Err("for_windows and over_windows must be at least 1".into());
        }
        if spec.over_windows > 1 && signal != Signal::ErrorRate {
            return Err("over_windows applies to error_rate only".into());
        }
        if !KINDS.contains(&spec.kind.as_str()) {
            return Err(format!(
                "kind {:?} is not one of {}",
                spec.kind,
                KINDS.join(", ")
            ));
        }
        Ok(Rule {
            name: spec.name.clone(),
            kind: spec.kind.clone(),
            signal_name: spec.signal.clone(),
            signal,
            op,
            value: spec.value,
            for_windows: spec.for_windows,
            over_windows: spec.over_windows,
            min_events: spec.min_events,
        })
    }

    /// The threshold the rule compares with.
    pub fn threshold(&self) -> f64 {
        self.value
    }

    /// The signal's value in one window (for a sliding error rate, the window's own rate).
    pub fn value_in(&self, w: &Signals) -> Option<f64> {
        self.read(w)
    }

    /// The signal's value in one window; `None` when the window does not carry it (a metric
    /// the entity did not report).
    fn read(&self, w: &Signals) -> Option<f64> {
        Some(match &self.signal {
            Signal::Events => f64::from(w.events),
            Signal::Failures => f64::from(w.failures),
            Signal::Denies => f64::from(w.denies),
            Signal::AuthFailures => f64::from(w.auth_failures),
            Signal::AuthFailuresOneSource => f64::from(w.max_auth_failures_from_one_source()),
            Signal::DistinctSources => w.distinct_sources() as f64,
            Signal::ErrorRate => w.error_rate(),
            Signal::MetricMean(m) => w.metric(m)?.mean(),
            Signal::MetricMax(m) => w.metric(m)?.max,
        })
    }

    fn holds(&self, x: f64) -> bool {
        match self.op {
            Op::Gt => x > self.value,
            Op::Ge => x >= self.value,
            Op::Lt => x < self.value,
            Op::Le => x <= self.value,
        }
    }
}

/// The checked rules of a file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RuleSet {
    pub rules: Vec<Rule>,
}

impl RuleSet {
    /// Parses and checks `config/detectors.toml`; errors name the rule.
    pub fn parse(text: &str) -> Result<RuleSet, String> {
        let file: RulesFile = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut rules = Vec::with_capacity(file.rules.len());
        for (i, spec) in file.rules.iter().enumerate() {
            if rules.iter().any(|r: &Rule| r.name == spec.name) {
                return Err(format!("rules[{i}]: two rules are named {:?}", spec.name));
            }
            rules
                .push(Rule::parse(spec).map_err(|e| format!("rules[{i}] ({:?}): {e}", spec.name))?);
        }
        Ok(RuleSet { rules })
    }

    /// Fresh per-entity state for these rules.
    pub fn state(&self) -> RuleState {
        RuleState {
            streak: vec![0; self.rules.len()],
            recent: VecDeque::new(),
        }
    }

    /// Scores a closed window of an entity: the rules that fire now (each with score 1), with
    /// the value that made each fire (for a sliding error rate, the rate over its windows).
    pub fn evaluate<'a>(&'a self, state: &mut RuleState, w: &Signals) -> Vec<(&'a Rule, f64)> {
        let keep = self.rules.iter().map(|r| r.over_windows).max().unwrap_or(1) as usize;
        // Service errors only: failed logins are not (see `Signals::error_rate`).
        state
            .recent
            .push_back((w.events, w.failures.saturating_sub(w.auth_failures)));
        while state.recent.len() > keep {
            state.recent.pop_front();
        }
        let mut fired = Vec::new();
        for (i, rule) in self.rules.iter().enumerate() {
            let value = if rule.signal == Signal::ErrorRate && rule.over_windows > 1 {
                let n = rule.over_windows as usize;
                let (events, failures) = state
                    .recent
                    .iter()
                    .rev()
                    .take(n)
                    .fold((0u64, 0u64), |(e, f), (we, wf)| {
                        (e + u64::from(*we), f + u64::from(*wf))
                    });
                (events >= u64::from(rule.min_events.max(1)))
                    .then(|| failures as f64 / events as f64)
            } else if rule.signal == Signal::ErrorRate && w.events < rule.min_events.max(1) {
                None
            } else {
                rule.read(w)
            };
            if let Some(v) = value.filter(|v| rule.holds(*v)) {
                state.streak[i] += 1;
                // Fires once the condition has held long enough, then once per further
                // `for_windows` (a lasting breach is reported again, not on every window).
                if state.streak[i] % rule.for_windows == 0 {
                    fired.push((rule, v));
                }
            } else {
                state.streak[i] = 0;
            }
        }
        fired
    }
}

/// A rule set's state for one entity: how many windows in a row each rule has held, and the
/// last windows' counts for sliding rates.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleState {
    streak: Vec<u32>,
    recent: VecDeque<(u32, u32)>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{Event, Status, Symbol, CLASS_AUTHENTICATION};
    use crate::score::window::{EntityWindows, WindowSpec};

    fn shipped() -> RuleSet {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/detectors.toml");
        RuleSet::parse(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    /// Closed windows of events built by `f(window index, event index)` (`per` events each).
    fn windows(n: usize, per: usize, f: impl Fn(usize, usize) -> Event) -> Vec<Signals> {
        let mut w = EntityWindows::new(WindowSpec {
            len_ms: 10_000,
            lateness_ms: 0,
        });
        let mut closed = Vec::new();
        for i in 0..n {
            for j in 0..per {
                let mut e = f(i, j);
                e.time = i as i64 * 10_000 + j as i64;
                w.add(&e, &mut closed);
            }
        }
        w.close_until(i64::MAX / 2, &mut closed);
        closed
    }

    fn fired(rules: &RuleSet, ws: &[Signals]) -> Vec<(usize, String)> {
        let mut state = rules.state();
        ws.iter()
            .enumerate()
            .flat_map(|(i, w)| {
                rules
                    .evaluate(&mut state, w)
                    .into_iter()
                    .map(move |(r, _)| (i, r.name.clone()))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    fn cpu(v: f64) -> Event {
        let mut e = Event::default();
        e.metrics.push((Symbol::intern("cpu_pct"), v));
        e
    }

    #[test]
    fn the_shipped_rules_are_the_classic_ones() {
        let names: Vec<String> = shipped().rules.iter().map(|r| r.name.clone()).collect();
        for want in ["cpu-high", "memory-high", "failed-auth-burst", "error-rate"] {
            assert!(names.iter().any(|n| n == want), "{names:?}");
        }
    }

    #[test]
    fn cpu_over_90_fires_after_three_windows_in_a_row() {
        let rules = shipped();
        // 95 % in windows 2, 3, 5, 6, 7: only the third window in a row fires.
        let ws = windows(9, 3, |i, _| {
            cpu(if [2, 3, 5, 6, 7].contains(&i) {
                95.0
            } else {
                40.0
            })
        });
        let cpu_fires: Vec<usize> = fired(&rules, &ws)
            .into_iter()
            .filter(|(_, n)| n == "cpu-high")
            .map(|(i, _)| i)
            .collect();
        assert_eq!(cpu_fires, [7]);
    }

    #[test]
    fn failed_logins_from_one_source_fire_but_spread_ones_do_not() {
        let rules = shipped();
        let login = |ip: [u8; 4]| {
            let mut e = Event {
                class_uid: CLASS_AUTHENTICATION,
                status: Status::Failure,
                ..Event::default()
            };
            e.src.ip = Some(ip.into());
            e
        };
        let burst = windows(1, 30, |_, _| login([203, 0, 113, 7]));
        // (Thirty failures out of thirty events is an error rate too.)
        let burst_fires = fired(&rules, &burst);
        assert!(
            burst_fires.contains(&(0, "failed-auth-burst".to_string())),
            "{burst_fires:?}"
        );
        // The line is 5 from one address: 4 do not fire, 5 do.
        let four = windows(1, 4, |_, _| login([203, 0, 113, 8]));
        assert!(fired(&rules, &four)
            .iter()
            .all(|(_, n)| n != "failed-auth-burst"));
        let five = windows(1, 5, |_, _| login([203, 0, 113, 8]));
        assert!(fired(&rules, &five)
            .iter()
            .any(|(_, n)| n == "failed-auth-burst"));
        // The same 30 failures from 30 addresses: no single source bursts.
        let spread = windows(1, 30, |_, j| login([10, 0, 0, j as u8]));
        assert!(fired(&rules, &spread)
            .iter()
            .all(|(_, n)| n != "failed-auth-burst"));
    }

    #[test]
    fn error_rate_is_taken_over_a_sliding_window_with_enough_events() {
        let rules = shipped();
        let rule = rules.rules.iter().find(|r| r.name == "error-rate").unwrap();
        let over = rule.over_windows as usize;
        assert!(over > 1);
        // 10 events a window; failures rise to 50 % from window 10 on.
        let ws = windows(20, 10, |i, j| Event {
            status: if i >= 10 && j % 2 == 0 {
                Status::Failure
            } else {
                Status::Success
            },
            ..Event::default()
        });
        let first = fired(&rules, &ws)
            .into_iter()
            .find(|(_, n)| n == "error-rate");
        assert!(
            matches!(first, Some((i, _)) if (10..10 + over).contains(&i)),
            "{first:?}"
        );
        // Too few events: a single failing event is not an error rate.
        let few = windows(10, 1, |_, _| Event {
            status: Status::Failure,
            ..Event::default()
        });
        assert!(fired(&rules, &few).iter().all(|(_, n)| n != "error-rate"));
    }

    #[test]
    fn mistakes_are_refused_with_the_rule_named() {
        let bad =
            |body: &str| RuleSet::parse(&format!("[[rules]]\nname = \"r\"\n{body}")).unwrap_err();
        assert!(bad("signal = \"cpu\"\nop = \">\"\nvalue = 1")
            .contains("rules[0] (\"r\"): signal \"cpu\""));
        assert!(bad("signal = \"events\"\nop = \"=\"\nvalue = 1").contains("op \"=\""));
        assert!(
            bad("signal = \"events\"\nop = \">\"\nvalue = 1\nfor_windows = 0")
                .contains("at least 1")
        );
        assert!(
            bad("signal = \"events\"\nop = \">\"\nvalue = 1\nover_windows = 3")
                .contains("error_rate only")
        );
        assert!(
            bad("signal = \"events\"\nop = \">\"\nvalue = 1\nkind = \"meh\"")
                .contains("kind \"meh\"")
        );
        assert!(
            bad("signal = \"events\"\nop = \">\"\nvalue = 1\nlevel = 2").contains("unknown field")
        );
        let dup = "[[rules]]\nname = \"a\"\nsignal = \"events\"\nop = \">\"\nvalue = 1\n".repeat(2);
        assert!(RuleSet::parse(&dup)
            .unwrap_err()
            .contains("two rules are named \"a\""));
    }
}
