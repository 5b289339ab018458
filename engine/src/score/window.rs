//! Per-entity windows on event time: the signals a scorer looks at (event count, failures,
//! denies, failed logins, distinct sources, numeric metrics) gathered per window of an
//! entity's events, closed once the event-time watermark has passed the window's end by the
//! allowed lateness. Bounded: a few fixed counters, at most [`MAX_SOURCES`] sources tracked
//! exactly, at most [`MAX_METRICS`] metric names.

use std::net::IpAddr;

use smallvec::SmallVec;

use crate::schema::{Event, Status, Symbol, CLASS_AUTHENTICATION};

/// Distinct sources counted exactly up to this many; more are reported as this many and the
/// overflow is flagged.
pub const MAX_SOURCES: usize = 64;
/// Metric names kept per window; others are counted as dropped.
pub const MAX_METRICS: usize = 8;

/// Window length and allowed lateness, event-time ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowSpec {
    pub len_ms: i64,
    pub lateness_ms: i64,
}

impl Default for WindowSpec {
    fn default() -> WindowSpec {
        WindowSpec {
            len_ms: 10_000,
            lateness_ms: 5_000,
        }
    }
}

/// One numeric metric's summary in a window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MetricSummary {
    pub name: Symbol,
    pub sum: f64,
    pub count: u32,
    pub max: f64,
}

impl MetricSummary {
    pub fn mean(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum / f64::from(self.count)
        }
    }
}

/// The signals of one entity in one window.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Signals {
    /// Window start, event-time ms.
    pub start_ms: i64,
    pub events: u32,
    /// Events whose status is Failure, but for those the device blocked (denies).
    pub failures: u32,
    /// Events the device blocked, denied or dropped.
    pub denies: u32,
    /// Failed authentications.
    pub auth_failures: u32,
    sources: SmallVec<[IpAddr; 8]>,
    /// Failed logins per source address (the first [`MAX_SOURCES`] sources).
    auth_by_source: SmallVec<[(IpAddr, u32); 4]>,
    /// More distinct sources than [`MAX_SOURCES`] were seen.
    pub sources_overflowed: bool,
    pub metrics: SmallVec<[MetricSummary; 4]>,
    /// Metric values not kept because the window already had [`MAX_METRICS`] names.
    pub metrics_dropped: u32,
}

impl Signals {
    fn new(start_ms: i64) -> Signals {
        Signals {
            start_ms,
            ..Signals::default()
        }
    }

    /// Distinct source addresses (at most [`MAX_SOURCES`]).
    pub fn distinct_sources(&self) -> usize {
        self.sources.len()
    }

    /// The most failed logins from one source address in the window.
    pub fn max_auth_failures_from_one_source(&self) -> u32 {
        self.auth_by_source
            .iter()
            .map(|(_, n)| *n)
            .max()
            .unwrap_or(0)
    }

    /// Failures other than failed logins, over events (0 without events). A failed login is
    /// an authentication outcome, not a service error: an internet-facing SSH host refuses a
    /// steady share of guesses all day, and those have their own signals (`auth_failures`,
    /// `auth_failures_one_source`).
    pub fn error_rate(&self) -> f64 {
        if self.events == 0 {
            0.0
        } else {
            f64::from(self.failures.saturating_sub(self.auth_failures)) / f64::from(self.events)
        }
    }

    pub fn metric(&self, name: &str) -> Option<&MetricSummary> {
        self.metrics.iter().find(|m| m.name.as_str() == name)
    }

    fn add(&mut self, e: &Event) {
        self.events += 1;
        // A connection the device blocked is a deny, not an error: a firewall that drops a
        // fifth of its traffic every day is not failing.
        let denied = e
            .disposition
            .is_some_and(|d| matches!(d.as_str(), "Blocked" | "Denied" | "Dropped" | "Rejected"));
        if e.status == Status::Failure && !denied {
            self.failures += 1;
            if e.class_uid == CLASS_AUTHENTICATION {
                self.auth_failures += 1;
                if let Some(ip) = e.src.ip {
                    if let Some((_, n)) = self.auth_by_source.iter_mut().find(|(s, _)| *s == ip) {
                        *n += 1;
                    } else if self.auth_by_source.len() < MAX_SOURCES {
                        self.auth_by_source.push((ip, 1));
                    }
                }
            }
        }
        if denied {
            self.denies += 1;
        }
        if let Some(ip) = e.src.ip {
            if !self.sources.contains(&ip) {
                if self.sources.len() < MAX_SOURCES {
                    self.sources.push(ip);
                } else {
                    self.sources_overflowed = true;
                }
            }
        }
        for &(name, value) in &e.metrics {
            if !value.is_finite() {
                continue;
            }
            if let Some(m) = self.metrics.iter_mut().find(|m| m.name == name) {
                m.sum += value;
                m.count += 1;
                m.max = m.max.max(value);
            } else if self.metrics.len() < MAX_METRICS {
                self.metrics.push(MetricSummary {
                    name,
                    sum: value,
                    count: 1,
                    max: value,
                });
            } else {
                self.metrics_dropped += 1;
            }
        }
    }
}

/// What adding an event did.
#[derive(Debug, Clone, PartialEq)]
pub enum Added {
    /// Counted in an open window.
    Counted,
    /// Older than every open window: counted as late, not windowed.
    Late,
}

/// An entity's open windows: the one the watermark is in and those still within the lateness.
#[derive(Debug, Clone, PartialEq)]
pub struct EntityWindows {
    spec: WindowSpec,
    /// Open windows, oldest first.
    open: SmallVec<[Signals; 2]>,
    /// The highest event time seen.
    watermark: i64,
    /// Events that came after their window had closed.
    pub late: u64,
}

impl EntityWindows {
    pub fn new(spec: WindowSpec) -> EntityWindows {
        EntityWindows {
            spec: WindowSpec {
                len_ms: spec.len_ms.max(1),
                lateness_ms: spec.lateness_ms.max(0),
            },
            open: SmallVec::new(),
            watermark: i64::MIN,
            late: 0,
        }
    }

    fn start_of(&self, t: i64) -> i64 {
        t.div_euclid(self.spec.len_ms) * self.spec.len_ms
    }

    /// Adds an event; windows the new watermark closes are appended to `closed`, oldest first.
    pub fn add(&mut self, e: &Event, closed: &mut Vec<Signals>) -> Added {
        let start = self.start_of(e.time);
        if self.watermark != i64::MIN
            && start + self.spec.len_ms + self.spec.lateness_ms <= self.watermark
        {
            self.late += 1;
            return Added::Late;
        }
        let at = self.open.partition_point(|w| w.start_ms < start);
        if self.open.get(at).is_none_or(|w| w.start_ms != start) {
            self.open.insert(at, Signals::new(start));
        }
        self.open[at].add(e);
        self.watermark = self.watermark.max(e.time);
        self.close_until(self.watermark, closed);
        Added::Counted
    }

    /// Closes every window whose end plus lateness the watermark `now` has passed (also used
    /// when time moves on without this entity's events).
    pub fn close_until(&mut self, now: i64, closed: &mut Vec<Signals>) {
        // A window closed here stays closed: later events for it count as late, instead of
        // opening a second window for the same time.
        if now > self.watermark && now < i64::MAX / 4 {
            self.watermark = now;
        }
        let keep_from = self
            .open
            .iter()
            .position(|w| w.start_ms + self.spec.len_ms + self.spec.lateness_ms > now)
            .unwrap_or(self.open.len());
        closed.extend(self.open.drain(..keep_from));
    }

    /// Windows still open.
    pub fn open_windows(&self) -> usize {
        self.open.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::CLASS_NETWORK_ACTIVITY;

    fn event(time: i64) -> Event {
        Event {
            time,
            class_uid: CLASS_NETWORK_ACTIVITY,
            ..Event::default()
        }
    }

    fn spec() -> WindowSpec {
        WindowSpec {
            len_ms: 10_000,
            lateness_ms: 5_000,
        }
    }

    #[test]
    fn signals_are_counted_per_window_and_close_after_the_lateness() {
        let mut w = EntityWindows::new(spec());
        let mut closed = Vec::new();
        let mut e = event(1_000);
        e.status = Status::Failure;
        e.class_uid = CLASS_AUTHENTICATION;
        e.src.ip = Some("203.0.113.9".parse().unwrap());
        assert_eq!(w.add(&e, &mut closed), Added::Counted);
        let mut deny = event(2_000);
        deny.disposition = Some(Symbol::intern("Blocked"));
        deny.src.ip = Some("203.0.113.9".parse().unwrap());
        deny.metrics.push((Symbol::intern("cpu_pct"), 40.0));
        w.add(&deny, &mut closed);
        let mut m = event(9_999);
        m.metrics.push((Symbol::intern("cpu_pct"), 95.0));
        m.src.ip = Some("198.51.100.1".parse().unwrap());
        w.add(&m, &mut closed);
        // 14.999 s: the first window (0-10 s) is still within its 5 s of lateness.
        w.add(&event(14_999), &mut closed);
        assert!(closed.is_empty());
        w.add(&event(15_000), &mut closed);
        assert_eq!(closed.len(), 1);
        let s = &closed[0];
        assert_eq!(s.start_ms, 0);
        assert_eq!(
            (s.events, s.failures, s.auth_failures, s.denies),
            (3, 1, 1, 1)
        );
        assert_eq!(s.distinct_sources(), 2);
        assert_eq!(s.max_auth_failures_from_one_source(), 1);
        // The one failure is a failed login: not a service error.
        assert_eq!(s.error_rate(), 0.0);
        let cpu = s.metric("cpu_pct").unwrap();
        assert_eq!((cpu.count, cpu.max, cpu.mean()), (2, 95.0, 67.5));
        assert_eq!(w.open_windows(), 1);
    }

    #[test]
    fn a_blocked_connection_is_a_deny_not_a_failure() {
        let mut w = EntityWindows::new(spec());
        let mut closed = Vec::new();
        let mut blocked = event(1_000);
        blocked.status = Status::Failure;
        blocked.disposition = Some(Symbol::intern("Blocked"));
        let mut failed = event(2_000);
        failed.status = Status::Failure;
        w.add(&blocked, &mut closed);
        w.add(&failed, &mut closed);
        w.close_until(i64::MAX / 2, &mut closed);
        assert_eq!((closed[0].failures, closed[0].denies), (1, 1));
        assert_eq!(closed[0].error_rate(), 0.5);
    }

    #[test]
    fn a_late_event_within_the_lateness_counts_and_a_later_one_is_counted_late() {
        let mut w = EntityWindows::new(spec());
        let mut closed = Vec::new();
        w.add(&event(12_000), &mut closed);
        // Out of order but within lateness: the 0-10 s window opens before the 10-20 s one.
        assert_eq!(w.add(&event(8_000), &mut closed), Added::Counted);
        assert_eq!(w.open_windows(), 2);
        w.add(&event(40_000), &mut closed);
        assert_eq!(
            closed.iter().map(|s| s.start_ms).collect::<Vec<_>>(),
            [0, 10_000]
        );
        assert_eq!(w.add(&event(9_000), &mut closed), Added::Late);
        assert_eq!(w.late, 1);
    }

    #[test]
    fn a_window_closed_by_the_tick_stays_closed() {
        let mut w = EntityWindows::new(spec());
        let mut closed = Vec::new();
        w.add(&event(3_000), &mut closed);
        w.close_until(20_000, &mut closed);
        assert_eq!(closed.len(), 1);
        assert_eq!(w.add(&event(4_000), &mut closed), Added::Late);
        assert_eq!(w.open_windows(), 0);
    }

    #[test]
    fn quiet_time_closes_windows_without_events() {
        let mut w = EntityWindows::new(spec());
        let mut closed = Vec::new();
        w.add(&event(3_000), &mut closed);
        w.close_until(14_999, &mut closed);
        assert!(closed.is_empty());
        w.close_until(15_000, &mut closed);
        assert_eq!(closed.len(), 1);
        assert_eq!(w.open_windows(), 0);
    }

    #[test]
    fn state_stays_bounded() {
        let mut w = EntityWindows::new(spec());
        let mut closed = Vec::new();
        for i in 0..500u32 {
            let mut e = event(1_000);
            e.src.ip = Some(IpAddr::from([10, 0, (i / 256) as u8, (i % 256) as u8]));
            e.metrics
                .push((Symbol::intern(&format!("m{}", i % 20)), 1.0));
            w.add(&e, &mut closed);
        }
        w.close_until(i64::MAX / 2, &mut closed);
        let s = &closed[0];
        assert_eq!(s.events, 500);
        assert_eq!(s.distinct_sources(), MAX_SOURCES);
        assert!(s.sources_overflowed);
        assert_eq!(s.metrics.len(), MAX_METRICS);
        assert_eq!(s.metrics_dropped, 500 - 25 * MAX_METRICS as u32);
    }

    #[test]
    fn negative_times_fall_in_their_own_windows() {
        let mut w = EntityWindows::new(spec());
        let mut closed = Vec::new();
        w.add(&event(-1), &mut closed);
        w.close_until(i64::MAX / 2, &mut closed);
        assert_eq!(closed[0].start_ms, -10_000);
    }
}
