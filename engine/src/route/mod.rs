//! The routing rule language: priority-ordered rules with Alertmanager-style matchers over any
//! event or alert field, and actions (targets, priority, drop, throttle, runbook, continue).
//!
//! Events and anomalies (Detection Findings) reach the router alike. A [`RuleSet`] is compiled
//! once from [`RuleSpec`]s (the `[[rules]]` of `config/rules.toml`; see `docs/rules.md`): each
//! field path becomes an enum accessor, each regex is built once, each target name becomes a
//! bit of a [`TargetSet`]. [`RuleSet::evaluate`] then walks the rules for an event with no
//! allocation and returns a [`Decision`]; the router shard that calls it owns a [`Throttle`]
//! holding the throttle counts.

mod error;
mod field;
mod load;
mod matcher;
mod parse;
mod pattern;
mod ruleset;
mod spec;
mod throttle;

#[cfg(test)]
mod tests;

pub use error::{MatcherRef, RuleError, RuleErrors};
pub use ruleset::{Decision, Outcome, RuleSet, TargetSet, MAX_TARGETS};
pub use spec::{RuleSpec, RulesFile, ThrottleSpec, MAX_BY_FIELDS, MAX_INTERVAL_SECS};
pub use throttle::{Throttle, MAX_FINGERPRINTS};
