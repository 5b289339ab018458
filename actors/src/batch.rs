//! The messages that cross stage links: batches, never single events.

use std::net::IpAddr;
use std::sync::Arc;
use tocsin_engine::normalise::Frame;
use tocsin_engine::schema::{Event, Symbol};

/// Frames cut by a connector, not yet normalised.
pub struct RawBatch {
    /// The source (connector) name.
    pub source: Symbol,
    /// Ordering key: all batches of one connection (or request, or file) share it, and every
    /// stage picks its downstream shard by it, so order is kept per flow.
    pub flow: u64,
    /// The peer that sent the frames, if known.
    pub peer: Option<IpAddr>,
    /// The source's vendor mapping (`None`: detect per line).
    pub vendor: Option<Symbol>,
    /// Receive time, ns since the epoch.
    pub received_ns: u64,
    /// The frames.
    pub frames: Vec<Frame>,
}

impl std::fmt::Debug for RawBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawBatch")
            .field("source", &self.source)
            .field("flow", &self.flow)
            .field("frames", &self.frames.len())
            .finish()
    }
}

/// Normalised events on their way to the router and the targets.
pub struct EventBatch {
    /// Ordering key (see [`RawBatch::flow`]).
    pub flow: u64,
    /// The events.
    pub events: Vec<Event>,
}

impl std::fmt::Debug for EventBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventBatch")
            .field("flow", &self.flow)
            .field("events", &self.events.len())
            .finish()
    }
}

/// What a target receives: shared, so one batch can go to several targets without a copy.
pub type TargetBatch = Arc<EventBatch>;
