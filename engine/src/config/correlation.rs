//! `[correlation]`: the topology and how anomalies become incidents.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// `[correlation]`: the correlator (see `docs/topology.md`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct CorrelationConfig {
    /// Group anomalies into incidents with a root cause. Default true (it needs
    /// `score.enabled`).
    pub enabled: bool,
    /// The topology file (see `docs/topology.md`). A relative path is taken from the folder
    /// of the configuration file. Left out: `topology.toml` beside the configuration file
    /// when there is one, else an empty topology (entities still correlate by time and shared
    /// attributes). Changes through `/api/v1/topology` are written back to it (to
    /// `topology.toml` in `engine.data_dir` when there was none).
    pub topology_file: Option<PathBuf>,
    /// An anomaly joins an incident when it is this close in event time to a member.
    /// Default 300, range 1..=86400.
    pub window_secs: u64,
    /// ... and this close on the topology graph (hops, any edge, either direction).
    /// Default 2, range 0..=16.
    pub max_hops: u32,
    /// An incident resolves when no member has had an anomaly for this long (event time).
    /// Default 600, at least `window_secs`.
    pub resolve_after_secs: u64,
    /// Most open incidents; past it the one quiet longest is resolved early (counted).
    /// Default 10000.
    pub max_open: usize,
    /// Resolved and merged incidents kept in memory for the API. Default 10000.
    pub incidents_kept: usize,
    /// Root-cause candidates reported per incident. Default 3, range 1..=20.
    pub candidates: usize,
    /// `[correlation.learn]`: `connects_to` edges learned from flows between known nodes.
    pub learn: LearnConfig,
}

impl Default for CorrelationConfig {
    fn default() -> Self {
        CorrelationConfig {
            enabled: true,
            topology_file: None,
            window_secs: 300,
            max_hops: 2,
            resolve_after_secs: 600,
            max_open: 10_000,
            incidents_kept: 10_000,
            candidates: 3,
            learn: LearnConfig::default(),
        }
    }
}

/// `[correlation.learn]`: learning `connects_to` edges from traffic.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LearnConfig {
    /// Learn edges from flows (events with a source and a destination IP that both belong to
    /// topology nodes). Default true.
    pub enabled: bool,
    /// A learned edge's weight halves every this many seconds without a flow. Default 3600.
    pub half_life_secs: u64,
    /// A learned edge whose weight decays below this is forgotten. Default 0.05.
    pub min_weight: f64,
    /// Most learned edges. Default 100000.
    pub max_edges: usize,
}

impl Default for LearnConfig {
    fn default() -> Self {
        LearnConfig {
            enabled: true,
            half_life_secs: 3600,
            min_weight: 0.05,
            max_edges: 100_000,
        }
    }
}

/// Checks of `[correlation]` that need no other section: (field, message) pairs.
pub(super) fn check(c: &CorrelationConfig) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut bad =
        |field: &str, message: String| out.push((format!("correlation.{field}"), message));
    if !(1..=86_400).contains(&c.window_secs) {
        bad(
            "window_secs",
            format!("{} is outside 1..=86400", c.window_secs),
        );
    }
    if c.max_hops > 16 {
        bad("max_hops", format!("{} is outside 0..=16", c.max_hops));
    }
    if c.resolve_after_secs < c.window_secs {
        bad(
            "resolve_after_secs",
            format!(
                "{} is shorter than window_secs ({}): an incident would resolve before a late \
                 member could join it",
                c.resolve_after_secs, c.window_secs
            ),
        );
    }
    if c.max_open == 0 {
        bad("max_open", "must be at least 1".into());
    }
    if c.incidents_kept == 0 {
        bad("incidents_kept", "must be at least 1".into());
    }
    if !(1..=20).contains(&c.candidates) {
        bad("candidates", format!("{} is outside 1..=20", c.candidates));
    }
    if c.learn.half_life_secs == 0 {
        bad("learn.half_life_secs", "must be at least 1".into());
    }
    if !(c.learn.min_weight.is_finite() && c.learn.min_weight > 0.0 && c.learn.min_weight < 1.0) {
        bad(
            "learn.min_weight",
            format!("{} is outside (0, 1)", c.learn.min_weight),
        );
    }
    out
}
