//! Throttle state of one router shard: a count per fingerprint per fixed window, bounded.

use std::fmt;

use rustc_hash::FxHashMap;

/// Most fingerprints one [`Throttle`] keeps.
pub const MAX_FINGERPRINTS: usize = 65_536;
/// When full with nothing expired, the oldest windows' entries evicted at once (an eighth),
/// so the scan that finds them runs once per that many new fingerprints, not once each.
const EVICT_BATCH: usize = MAX_FINGERPRINTS / 8;

/// Per-shard throttle counts: for each fingerprint (a hash of a rule and its `by` values), the
/// events seen in its current window. Windows are fixed and aligned to the epoch
/// (`now_ms / interval`), on the receive time the caller passes in. At most
/// [`MAX_FINGERPRINTS`] are kept: when full, expired windows are evicted first, then the
/// oldest ones (whose fingerprints then start counting afresh).
///
/// Fingerprints include the rule's index, so a `Throttle` kept across a rules reload may count
/// a rule's events under another rule's key until the windows pass; a fresh one avoids that.
#[derive(Clone, Default)]
pub struct Throttle {
    windows: FxHashMap<u64, Window>,
    evicted: u64,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    start_ms: i64,
    end_ms: i64,
    count: u32,
}

impl Throttle {
    /// An empty throttle.
    pub fn new() -> Throttle {
        Throttle::default()
    }

    /// Fingerprints held now.
    pub fn len(&self) -> usize {
        self.windows.len()
    }

    /// True when no fingerprint is held.
    pub fn is_empty(&self) -> bool {
        self.windows.is_empty()
    }

    /// Fingerprints evicted for room so far.
    pub fn evicted(&self) -> u64 {
        self.evicted
    }

    /// Counts one event for `fingerprint` at `now_ms` and says whether it is within `limit`
    /// events for the window of `interval_ms` it falls in.
    pub(crate) fn admit(
        &mut self,
        fingerprint: u64,
        now_ms: i64,
        interval_ms: i64,
        limit: u32,
    ) -> bool {
        let interval_ms = interval_ms.max(1);
        let start_ms = now_ms.div_euclid(interval_ms).saturating_mul(interval_ms);
        let end_ms = start_ms.saturating_add(interval_ms);
        if let Some(w) = self.windows.get_mut(&fingerprint) {
            if w.start_ms != start_ms {
                *w = Window {
                    start_ms,
                    end_ms,
                    count: 0,
                };
            }
            if w.count >= limit {
                return false;
            }
            w.count += 1;
            return true;
        }
        if self.windows.len() >= MAX_FINGERPRINTS {
            self.make_room(now_ms);
        }
        self.windows.insert(
            fingerprint,
            Window {
                start_ms,
                end_ms,
                count: 1,
            },
        );
        limit >= 1
    }

    /// Evicts expired windows; if none had expired, the [`EVICT_BATCH`] that end soonest.
    #[cold]
    fn make_room(&mut self, now_ms: i64) {
        let before = self.windows.len();
        self.windows.retain(|_, w| w.end_ms > now_ms);
        if self.windows.len() >= MAX_FINGERPRINTS {
            let mut ends: Vec<i64> = self.windows.values().map(|w| w.end_ms).collect();
            let k = EVICT_BATCH.min(ends.len()) - 1;
            let (_, cut, _) = ends.select_nth_unstable(k);
            let cut = *cut;
            let mut budget = EVICT_BATCH;
            self.windows.retain(|_, w| {
                if budget > 0 && w.end_ms <= cut {
                    budget -= 1;
                    false
                } else {
                    true
                }
            });
        }
        self.evicted += (before - self.windows.len()) as u64;
    }
}

impl fmt::Debug for Throttle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Throttle")
            .field("fingerprints", &self.windows.len())
            .field("evicted", &self.evicted)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_fixed_window_and_resets_in_the_next() {
        let mut t = Throttle::new();
        let got: Vec<bool> = (0..4).map(|i| t.admit(7, 60_000 + i, 60_000, 3)).collect();
        assert_eq!(got, [true, true, true, false]);
        // Another fingerprint counts on its own.
        assert!(t.admit(8, 60_010, 60_000, 3));
        // 119_999 is still the window [60_000, 120_000); 120_000 starts the next.
        assert!(!t.admit(7, 119_999, 60_000, 3));
        assert!(t.admit(7, 120_000, 60_000, 3));
        assert_eq!(t.len(), 2);
        assert_eq!(format!("{t:?}"), "Throttle { fingerprints: 2, evicted: 0 }");
    }

    #[test]
    fn stays_bounded_evicting_expired_windows_first() {
        let mut t = Throttle::new();
        for fp in 0..MAX_FINGERPRINTS as u64 {
            // Half the fingerprints in a 1 s window that will have expired, half in an hour's.
            let interval = if fp % 2 == 0 { 1_000 } else { 3_600_000 };
            assert!(t.admit(fp, 0, interval, 1));
        }
        assert_eq!(t.len(), MAX_FINGERPRINTS);
        assert!(t.admit(u64::MAX, 5_000, 1_000, 1));
        assert_eq!(t.len(), MAX_FINGERPRINTS / 2 + 1);
        assert_eq!(t.evicted(), (MAX_FINGERPRINTS / 2) as u64);
        // An hour-window fingerprint kept its count.
        assert!(!t.admit(1, 5_000, 3_600_000, 1));

        // Full with nothing expired: a batch of the soonest-ending goes.
        let mut t = Throttle::new();
        for fp in 0..MAX_FINGERPRINTS as u64 {
            assert!(t.admit(fp, 0, 3_600_000, 1));
        }
        assert!(t.admit(u64::MAX, 10, 3_600_000, 1));
        assert_eq!(t.len(), MAX_FINGERPRINTS - EVICT_BATCH + 1);
    }
}
