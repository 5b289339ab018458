//! tocsin-actors: the actix actors that move batches through tocsin's pipeline.
//!
//! ```text
//! connectors ──► normaliser shards ──► router shards ──► targets
//! (tcp, udp,     (N, own arbiters,     (N, default      (file, tcp,
//!  http, file)    frames -> events)     route)           stdout, blackhole)
//! ```
//! Every link is a bounded channel of batches ([`link`]); reliable inputs wait for capacity,
//! UDP drops whole batches and counts them. Every stage actor is supervised: a panic costs the
//! batch in hand (dead-lettered) and restarts the actor with its input intact. The actors hold
//! state and move batches; the parsing lives in `tocsin-engine`.

pub mod alerts;
pub mod batch;
pub mod connectors;
pub mod correlator;
pub mod deadletter;
pub mod link;
pub mod metrics;
pub mod normaliser;
pub mod pipeline;
pub mod router;
pub mod rules;
pub mod runbook;
pub mod scorer;
pub mod stage;
pub mod targets;
#[cfg(any(test, feature = "testsuite"))]
pub mod testkit;
pub mod trainer;
pub mod watchdog;

pub use pipeline::{Pipeline, PipelineError, PipelineOptions, ShutdownReport};
