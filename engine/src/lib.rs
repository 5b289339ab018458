//! tocsin-engine: the domain of tocsin with no actor runtime.
//!
//! - [`schema`]: the canonical OCSF-aligned [`schema::Event`], interned [`schema::Symbol`]s,
//!   zero-copy [`schema::Text`], and the event's JSON form.
//! - [`normalise`]: syslog stream framing (newline and RFC 6587 octet counting), syslog header
//!   parsing (RFC 5424, RFC 3164 and real-world deviations) and the frame -> event step.
//! - [`config`]: the typed, validated engine configuration.
//! - [`clock`]: the one injectable wall clock.
//! - [`score`]: anomaly detectors and the ensemble.
//! - [`route`]: the routing rule language.
//! - [`alert`]: alerts, their lifecycle and notification logic.
//! - [`notify`]: what each kind of target sends.
//! - [`durable`]: atomic file replacement and the FNV-1a hash behind stable ids.
//! - [`runbook`]: runbook and remediation config, its checks and lookup by alert kind.
//! - [`correlate`]: the topology graph, anomalies -> incidents, and root cause ranking.
//!
//! Every algorithm here is a plain struct or function, unit-tested in place; the actors in
//! `tocsin-actors` own these values and move batches between them.

pub mod alert;
pub mod clock;
pub mod config;
pub mod correlate;
pub mod durable;
pub mod normalise;
pub mod notify;
pub mod route;
pub mod runbook;
pub mod schema;
pub mod score;
