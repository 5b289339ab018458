//! Anomaly scoring (issue "Anomaly scoring"): detectors that turn a stream of values or events
//! into scores in 0..1, as plain structs the scorer shards own.
//!
//! - [`stats`]: streaming statistics (EWMA, robust z, CUSUM drift, count bursts, rare codes).
//! - [`surprise`]: novelty (values outside the range seen, all time and recent) and the
//!   surprise of a value's quantised level in its context.
//! - [`series`]: one numeric signal scored by the novelty and context detectors together.
//! - [`window`]: per-entity windows on event time with the signals the detectors score.
//! - [`rules`]: the threshold rules of `config/detectors.toml`.
//! - [`forest`]: isolation forest over window feature vectors.
//! - `lstm` (cargo feature `lstm`, on by default): LSTM forecaster of a signal family, on libtorch.

pub mod anomaly;
pub mod forest;
#[cfg(feature = "lstm")]
pub mod lstm;
pub mod models;
pub mod rules;
pub mod scorer;
pub mod series;
pub mod stats;
pub mod surprise;
pub mod window;
