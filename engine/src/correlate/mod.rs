//! Correlation and root cause: anomalies close in event time and close in the topology graph
//! join one incident; each incident's members are ranked for the likely root cause.
//!
//! - [`topology`]: the estate as a graph (configured, changed by the API, learned from flows).
//! - [`correlator`]: anomalies -> incidents (dedup, join, merge, resolve on quiet).
//! - [`rca`]: root cause ranking over an incident's members and the topology.
//! - [`incident`]: the incident snapshot, the public JSON form.
//!
//! Everything is event-time driven and deterministic: the same anomalies give the same
//! incidents, byte for byte.

pub mod correlator;
pub mod incident;
pub mod rca;
pub mod spec;
pub mod topology;

pub use correlator::{CorrelationSettings, Correlator, CorrelatorCounters, Joined};
pub use incident::{Candidate, Chain, Incident, IncidentStatus, Member, Reasons};
pub use rca::{rank, Ranking, WalkSettings};
pub use spec::{Criticality, EdgeKind, EdgeSpec, NodeKind, NodeSpec, TopologyFile};
pub use topology::{flow_endpoints, LearnSettings, Learned, NodeIx, Topology, TopologyError};
