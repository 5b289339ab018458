//! One numeric signal scored online by the statistics detectors together: each value's score
//! uses only the values before it (and itself), as `tocsin score-series` and the scorer shards
//! need.

use super::stats::{Cusum, Ewma, RobustZ};

/// Weights of the detectors in the combined score (each 0..1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SeriesWeights {
    pub ewma: f64,
    pub robust: f64,
    pub cusum: f64,
}

impl Default for SeriesWeights {
    fn default() -> SeriesWeights {
        SeriesWeights {
            ewma: 1.0,
            robust: 1.0,
            cusum: 0.8,
        }
    }
}

/// The detectors' parts of one value's score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SeriesScore {
    pub score: f64,
    pub ewma: f64,
    pub robust: f64,
    pub cusum: f64,
}

/// Values after an alarm during which further alarms are damped: one anomaly is reported once,
/// at its onset, not on every value while it lasts.
pub const REFRACTORY: u32 = 100;
/// How much a score inside the refractory period is kept.
const DAMPING: f64 = 0.25;

/// A signal's detectors.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesScorer {
    ewma: Ewma,
    robust: RobustZ,
    cusum: Cusum,
    weights: SeriesWeights,
    /// Values left in the refractory period.
    quiet: u32,
}

impl Default for SeriesScorer {
    fn default() -> SeriesScorer {
        SeriesScorer::new(SeriesWeights::default())
    }
}

impl SeriesScorer {
    pub fn new(weights: SeriesWeights) -> SeriesScorer {
        SeriesScorer {
            // A long memory (about 670 values: two days of 5-minute samples) so a level that
            // lasts hours is still measured against the days before it.
            ewma: Ewma::new(0.003, 100),
            robust: RobustZ::new(500, 100),
            // A slack of 2 standard deviations: the swing of a daily or square-wave signal
            // (about 1.4 sd at its peaks) must not add up as drift.
            cusum: Cusum::new(0.002, 200, 2.0, 40.0),
            weights,
            quiet: 0,
        }
    }

    /// Scores `x` and learns it. The combination is a weighted noisy-or: any one detector
    /// that is sure makes the score high, agreeing detectors make it higher.
    pub fn score(&mut self, x: f64) -> SeriesScore {
        let (e, r, c) = (
            self.ewma.score(x),
            self.robust.score(x),
            self.cusum.score(x),
        );
        let w = self.weights;
        let miss = (1.0 - w.ewma.clamp(0.0, 1.0) * e)
            * (1.0 - w.robust.clamp(0.0, 1.0) * r)
            * (1.0 - w.cusum.clamp(0.0, 1.0) * c);
        let mut score = (1.0 - miss).clamp(0.0, 1.0);
        if self.quiet > 0 {
            self.quiet -= 1;
            score *= DAMPING;
        } else if score > 0.5 {
            self.quiet = REFRACTORY;
        }
        SeriesScore {
            score,
            ewma: e,
            robust: r,
            cusum: c,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_anomaly_is_reported_at_its_onset_not_while_it_lasts() {
        let mut s = SeriesScorer::default();
        for i in 0..600 {
            s.score(10.0 + (i % 7) as f64 * 0.1);
        }
        let scores: Vec<f64> = (0..50).map(|_| s.score(80.0).score).collect();
        assert!(scores[0] > 0.9, "{scores:?}");
        assert!(scores[1..].iter().all(|v| *v < 0.5), "{scores:?}");
    }

    #[test]
    fn the_combination_is_high_when_any_detector_is_sure_and_zero_when_none_is() {
        let mut s = SeriesScorer::default();
        let mut last = s.score(10.0);
        for i in 0..600 {
            last = s.score(10.0 + (i % 7) as f64 * 0.1);
        }
        assert!(last.score < 0.1, "{last:?}");
        let spike = s.score(50.0);
        assert!(spike.score > 0.9, "{spike:?}");
        assert!(spike.score >= spike.ewma.max(spike.robust));
    }

    #[test]
    fn zero_weights_silence_a_detector() {
        let mut s = SeriesScorer::new(SeriesWeights {
            ewma: 0.0,
            robust: 0.0,
            cusum: 0.0,
        });
        for i in 0..600 {
            s.score((i % 5) as f64);
        }
        assert_eq!(s.score(1e6).score, 0.0);
    }
}
