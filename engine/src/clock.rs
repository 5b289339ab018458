//! The one place tocsin reads the wall clock. Logic takes timestamps as arguments; only
//! connectors (receive time), sinks (latency) and timeouts call [`now_ns`].

use std::time::{SystemTime, UNIX_EPOCH};

/// Nanoseconds since the Unix epoch, UTC. Saturates at 0 for clocks set before 1970.
pub fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// Milliseconds since the Unix epoch, UTC.
pub fn now_ms() -> i64 {
    (now_ns() / 1_000_000) as i64
}
