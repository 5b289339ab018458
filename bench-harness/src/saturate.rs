//! Saturation: raise the offered rate step by step until the engine cannot keep up, and report
//! the highest rate it sustained.
//!
//! Each step sends the pool at a fixed rate for a few seconds, waits for the engine to settle,
//! and judges the step from what arrived: sustained when the senders managed the rate (a
//! reliable transport that pushes back cannot), nearly everything sent was delivered (UDP loses
//! what the kernel or a full mailbox drops), and the engine's p99 latency stayed under the
//! limit. A step that fails is run once more (a loaded machine stalls now and then); the first
//! step that fails twice ends the search.

use serde::Serialize;

/// Limits a step must stay inside.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Largest share of the sent lines that may go undelivered.
    pub max_loss: f64,
    /// Largest engine p99 latency, ms.
    pub max_p99_ms: f64,
    /// Smallest share of the asked rate the senders must achieve.
    pub min_send_share: f64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_loss: 0.001,
            max_p99_ms: 250.0,
            min_send_share: 0.97,
        }
    }
}

/// What one step measured.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Step {
    pub rate: f64,
    pub sent: u64,
    pub delivered: u64,
    pub dropped: u64,
    pub send_eps: f64,
    pub delivered_eps: f64,
    /// (sent - delivered) / sent.
    pub loss: f64,
    pub p99_ms: Option<f64>,
    pub sustained: bool,
    /// Why not, when not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<String>,
}

impl Step {
    /// Judges a step's figures against the limits.
    #[allow(clippy::too_many_arguments)]
    pub fn judge(
        rate: f64,
        sent: u64,
        delivered: u64,
        dropped: u64,
        send_secs: f64,
        delivery_secs: f64,
        p99_ms: Option<f64>,
        limits: &Limits,
    ) -> Step {
        let send_eps = if send_secs > 0.0 {
            sent as f64 / send_secs
        } else {
            0.0
        };
        let delivered_eps = if delivery_secs > 0.0 {
            delivered as f64 / delivery_secs
        } else {
            0.0
        };
        let loss = if sent > 0 {
            sent.saturating_sub(delivered) as f64 / sent as f64
        } else {
            0.0
        };
        let limit = if send_eps < limits.min_send_share * rate {
            Some(format!(
                "senders reached {send_eps:.0} of {rate:.0} ev/s (the engine pushed back)"
            ))
        } else if loss > limits.max_loss {
            Some(format!(
                "{:.3}% lost (limit {:.3}%)",
                loss * 100.0,
                limits.max_loss * 100.0
            ))
        } else if p99_ms.is_some_and(|p| p > limits.max_p99_ms) {
            Some(format!(
                "p99 {:.1} ms (limit {:.1} ms)",
                p99_ms.unwrap_or(0.0),
                limits.max_p99_ms
            ))
        } else {
            None
        };
        Step {
            rate,
            sent,
            delivered,
            dropped,
            send_eps,
            delivered_eps,
            loss,
            p99_ms,
            sustained: limit.is_none(),
            limit,
        }
    }
}

/// The offered rates of a search: `from`, then each `factor` times the last, up to `steps`.
pub fn rates(from: f64, factor: f64, steps: u32) -> Vec<f64> {
    let mut out = Vec::with_capacity(steps as usize);
    let mut r = from;
    for _ in 0..steps {
        out.push(r.round());
        r *= factor;
    }
    out
}

/// The highest sustained rate: the best sustained step (the search stops at the first rate that
/// fails twice, so no step above it ran).
pub fn sustainable(steps: &[Step]) -> Option<f64> {
    steps
        .iter()
        .filter(|s| s.sustained)
        .map(|s| s.delivered_eps.min(s.rate))
        .reduce(f64::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_fails_on_pushback_loss_or_latency() {
        let l = Limits::default();
        let ok = Step::judge(10_000.0, 50_000, 50_000, 0, 5.0, 5.2, Some(3.0), &l);
        assert!(ok.sustained, "{ok:?}");
        let pushed = Step::judge(10_000.0, 40_000, 40_000, 0, 5.0, 5.0, Some(3.0), &l);
        assert!(pushed.limit.unwrap().contains("pushed back"));
        let lossy = Step::judge(10_000.0, 50_000, 49_000, 1_000, 5.0, 5.0, Some(3.0), &l);
        assert!(lossy.limit.unwrap().contains("2.000% lost"));
        let slow = Step::judge(10_000.0, 50_000, 50_000, 0, 5.0, 5.0, Some(900.0), &l);
        assert!(slow.limit.unwrap().starts_with("p99 900.0 ms"));
        // Without latency figures (a peer), only pushback and loss count.
        assert!(Step::judge(10_000.0, 50_000, 50_000, 0, 5.0, 5.0, None, &l).sustained);
    }

    #[test]
    fn the_search_stops_at_the_first_failure() {
        assert_eq!(
            rates(10_000.0, 1.5, 4),
            [10_000.0, 15_000.0, 22_500.0, 33_750.0]
        );
        let l = Limits::default();
        let steps = [
            Step::judge(10_000.0, 50_000, 50_000, 0, 5.0, 5.0, None, &l),
            Step::judge(15_000.0, 75_000, 75_000, 0, 5.0, 5.1, None, &l),
            Step::judge(22_500.0, 90_000, 90_000, 0, 5.0, 5.0, None, &l),
            Step::judge(33_750.0, 168_750, 168_750, 0, 5.0, 5.0, None, &l),
        ];
        assert!(!steps[2].sustained && steps[3].sustained);
        // A retried step that passed counts: the best sustained step wins.
        let best = sustainable(&steps).unwrap();
        assert!((best - 33_750.0).abs() < 1e-6, "{best}");
        let best = sustainable(&steps[..3]).unwrap();
        assert!((best - 75_000.0 / 5.1).abs() < 1e-6, "{best}");
        assert_eq!(sustainable(&steps[2..3]), None);
    }
}
