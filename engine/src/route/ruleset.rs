//! The compiled rules and their evaluation against one event.

use std::hash::Hasher;

use rustc_hash::FxHasher;

use super::error::{MatcherRef, RuleError, RuleErrors};
use super::field::{Field, FIELD_NAMES};
use super::matcher::Matcher;
use super::spec::{RuleSpec, MAX_BY_FIELDS, MAX_INTERVAL_SECS};
use super::throttle::Throttle;
use crate::alert::Priority;
use crate::schema::Event;

/// Most targets a rule set can name (a [`TargetSet`] is a 64-bit mask).
pub const MAX_TARGETS: usize = 64;

/// A set of targets: bit `i` is `targets[i]` of [`RuleSet::compile`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct TargetSet(pub u64);

impl TargetSet {
    /// True when no target is in the set (a [`Decision`]'s means: the default targets).
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Whether target index `i` is in the set.
    pub fn contains(self, i: usize) -> bool {
        i < MAX_TARGETS && self.0 & (1 << i) != 0
    }

    /// The target indices in the set, ascending.
    pub fn iter(self) -> impl Iterator<Item = usize> {
        let mut bits = self.0;
        std::iter::from_fn(move || {
            if bits == 0 {
                return None;
            }
            let i = bits.trailing_zeros() as usize;
            bits &= bits - 1;
            Some(i)
        })
    }
}

/// What happens to an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// Send it to the decision's targets (the default ones when none).
    Route,
    /// A rule dropped it.
    Drop,
    /// A rule's throttle was over its count for the event's fingerprint.
    Throttled,
}

/// The rules' verdict on one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Decision {
    /// Route, drop or throttled.
    pub outcome: Outcome,
    /// The union of the matching rules' targets; empty means the default targets.
    pub targets: TargetSet,
    /// The first matching rule's `set_priority` that has one.
    pub priority: Option<Priority>,
    /// The first matching rule's runbook that has one (see [`RuleSet::runbook_name`]).
    pub runbook: Option<u16>,
    /// The first matching rule (see [`RuleSet::rule_name`]), `None` when none matched.
    pub rule: Option<u16>,
}

/// One compiled rule.
#[derive(Debug, Clone)]
struct Rule {
    /// Cheap tests first, regexes last.
    matchers: Vec<Matcher>,
    targets: TargetSet,
    set_priority: Option<Priority>,
    drop: bool,
    throttle: Option<RuleThrottle>,
    runbook: Option<u16>,
    continue_matching: bool,
}

#[derive(Debug, Clone)]
struct RuleThrottle {
    count: u32,
    interval_ms: i64,
    by: Vec<Field>,
}

/// Compiled routing rules: checked once, evaluated per event with no allocation. Cheap to
/// clone and share between shards (each shard keeps its own [`Throttle`]).
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    specs: Vec<RuleSpec>,
    /// In file order, as `specs`.
    rules: Vec<Rule>,
    /// Indices into `rules` in evaluation order (priority, then file order).
    order: Vec<u16>,
    runbooks: Vec<String>,
}

impl RuleSet {
    /// No rules: every event goes to the default targets.
    pub fn empty() -> RuleSet {
        RuleSet::default()
    }

    /// Checks and compiles `specs`, resolving target names to indices into `targets`.
    /// Every error is reported, each with its rule, matcher and column.
    pub fn compile(specs: Vec<RuleSpec>, targets: &[&str]) -> Result<RuleSet, RuleErrors> {
        let mut errors = Vec::new();
        if targets.len() > MAX_TARGETS {
            errors.push(RuleError::new(format!(
                "{} targets are configured; rules can address at most {MAX_TARGETS}",
                targets.len()
            )));
        }
        if specs.len() > usize::from(u16::MAX) {
            errors.push(RuleError::new(format!(
                "{} rules; at most {} are allowed",
                specs.len(),
                u16::MAX
            )));
            return Err(RuleErrors { errors });
        }
        let mut runbooks: Vec<String> = Vec::new();
        let mut rules = Vec::with_capacity(specs.len());
        for (i, spec) in specs.iter().enumerate() {
            let err = |reason: String| RuleError::in_rule(i, &spec.name, reason);
            if spec.name.trim().is_empty() {
                errors.push(err("the name is empty".to_owned()));
            } else if let Some(j) = specs[..i].iter().position(|s| s.name == spec.name) {
                errors.push(err(format!("the name is used by rule {} too", j + 1)));
            }
            let mut matchers = Vec::with_capacity(spec.matchers.len());
            for (m, text) in spec.matchers.iter().enumerate() {
                match Matcher::compile(text) {
                    Ok(matcher) => matchers.push(matcher),
                    Err(e) => errors.push(RuleError {
                        matcher: Some(MatcherRef {
                            index: m + 1,
                            text: text.clone(),
                        }),
                        column: Some(e.column),
                        ..err(e.reason)
                    }),
                }
            }
            matchers.sort_by_key(Matcher::is_regex);
            let mut set = TargetSet::default();
            for name in &spec.targets {
                match targets.iter().position(|t| t == name) {
                    Some(t) if t < MAX_TARGETS => set.0 |= 1 << t,
                    Some(_) => {}
                    None => errors.push(err(format!(
                        "unknown target \"{name}\" (targets: {})",
                        if targets.is_empty() {
                            "none configured".to_owned()
                        } else {
                            targets.join(", ")
                        }
                    ))),
                }
            }
            if spec.drop {
                let mut also = Vec::new();
                for (set, what) in [
                    (!spec.targets.is_empty(), "targets"),
                    (spec.set_priority.is_some(), "set_priority"),
                    (spec.throttle.is_some(), "throttle"),
                    (spec.runbook.is_some(), "runbook"),
                    (spec.continue_matching, "continue"),
                ] {
                    if set {
                        also.push(what);
                    }
                }
                if !also.is_empty() {
                    errors.push(err(format!(
                        "a rule that drops stops there: {} would have no effect",
                        also.join(", ")
                    )));
                }
            }
            let throttle = spec.throttle.as_ref().and_then(|t| {
                let mut ok = true;
                if t.count == 0 {
                    errors.push(err("throttle.count must be at least 1".to_owned()));
                    ok = false;
                }
                if t.interval_secs == 0 || t.interval_secs > MAX_INTERVAL_SECS {
                    errors.push(err(format!(
                        "throttle.interval_secs must be 1 to {MAX_INTERVAL_SECS}, not {}",
                        t.interval_secs
                    )));
                    ok = false;
                }
                if t.by.len() > MAX_BY_FIELDS {
                    errors.push(err(format!(
                        "throttle.by names {} fields; at most {MAX_BY_FIELDS}",
                        t.by.len()
                    )));
                    ok = false;
                }
                let mut by = Vec::with_capacity(t.by.len());
                for path in &t.by {
                    match Field::parse(path.trim()) {
                        Some(f) => by.push(f),
                        None => {
                            errors.push(err(format!(
                                "throttle.by: unknown field \"{path}\" (known: {})",
                                FIELD_NAMES.join(", ")
                            )));
                            ok = false;
                        }
                    }
                }
                ok.then(|| RuleThrottle {
                    count: t.count,
                    interval_ms: (t.interval_secs * 1000) as i64,
                    by,
                })
            });
            let runbook = match spec.runbook.as_deref().map(str::trim) {
                None => None,
                Some("") => {
                    errors.push(err("the runbook name is empty".to_owned()));
                    None
                }
                Some(name) => {
                    let at = runbooks.iter().position(|r| r == name).unwrap_or_else(|| {
                        runbooks.push(name.to_owned());
                        runbooks.len() - 1
                    });
                    Some(at as u16)
                }
            };
            rules.push(Rule {
                matchers,
                targets: set,
                set_priority: spec.set_priority,
                drop: spec.drop,
                throttle,
                runbook,
                continue_matching: spec.continue_matching,
            });
        }
        if !errors.is_empty() {
            return Err(RuleErrors { errors });
        }
        let mut order: Vec<u16> = (0..specs.len() as u16).collect();
        // Stable: equal priorities keep file order.
        order.sort_by_key(|&i| specs[usize::from(i)].priority);
        Ok(RuleSet {
            specs,
            rules,
            order,
            runbooks,
        })
    }

    /// The rules as written, in file order (a rule index indexes this).
    pub fn specs(&self) -> &[RuleSpec] {
        &self.specs
    }

    /// How many rules.
    pub fn len(&self) -> usize {
        self.specs.len()
    }

    /// True when there are no rules.
    pub fn is_empty(&self) -> bool {
        self.specs.is_empty()
    }

    /// The runbook names the rules reference, each once, in order of first use (a
    /// [`Decision::runbook`] indexes this).
    pub fn runbooks(&self) -> impl Iterator<Item = &str> {
        self.runbooks.iter().map(String::as_str)
    }

    /// Rule `i`'s name ("" for an index that is no rule's).
    pub fn rule_name(&self, i: u16) -> &str {
        self.specs.get(usize::from(i)).map_or("", |s| &s.name)
    }

    /// Runbook `i`'s name ("" for an index that is no runbook's).
    pub fn runbook_name(&self, i: u16) -> &str {
        self.runbooks.get(usize::from(i)).map_or("", |s| s)
    }

    /// Walks the rules in priority order for `event`, received at `now_ms` (the throttle
    /// windows' clock). See `docs/rules.md` for the semantics. Allocates nothing.
    pub fn evaluate(&self, event: &Event, throttle: &mut Throttle, now_ms: i64) -> Decision {
        let mut d = Decision {
            outcome: Outcome::Route,
            targets: TargetSet::default(),
            priority: None,
            runbook: None,
            rule: None,
        };
        for &i in &self.order {
            let rule = &self.rules[usize::from(i)];
            if !rule.matchers.iter().all(|m| m.matches(event)) {
                continue;
            }
            d.rule = d.rule.or(Some(i));
            d.targets.0 |= rule.targets.0;
            d.priority = d.priority.or(rule.set_priority);
            d.runbook = d.runbook.or(rule.runbook);
            if rule.drop {
                d.outcome = Outcome::Drop;
                break;
            }
            if let Some(t) = &rule.throttle {
                let fingerprint = fingerprint(i, &t.by, event);
                if !throttle.admit(fingerprint, now_ms, t.interval_ms, t.count) {
                    d.outcome = Outcome::Throttled;
                    break;
                }
            }
            if !rule.continue_matching {
                break;
            }
        }
        d
    }
}

/// The throttle key: the rule and the text of each `by` field (absent distinct from "").
fn fingerprint(rule: u16, by: &[Field], event: &Event) -> u64 {
    let mut h = FxHasher::default();
    h.write_u16(rule);
    for field in by {
        let v = field.get(event);
        if matches!(v, super::field::Value::Absent) {
            h.write_u8(0);
        } else {
            h.write_u8(1);
            v.with_text(|s| h.write(s.as_bytes()));
            h.write_u8(0xff);
        }
    }
    // FxHasher's output is weak in the low bits; mix it (splitmix64's finaliser).
    let mut x = h.finish();
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}
