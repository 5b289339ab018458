//! One numeric signal scored online by the novelty and context detectors together: each
//! value's score uses only the values before it (and itself), as `tocsin score-series` and the
//! scorer shards need.
//!
//! Three kinds of evidence, the strongest of which is the score:
//! - the value lies outside every value seen so far ([`RangeNovelty`]);
//! - it lies outside the last thousand values ([`RecentRange`]);
//! - its level is unlikely after the previous level and run ([`ContextSurprise`]).
//!
//! On the NAB part in `../shared` (standard profile) this scores about 70, against 53.6 for
//! the EWMA + robust z + CUSUM combination it replaced (see BENCHMARKS.md).

use super::surprise::{ContextSurprise, RangeNovelty, RecentRange};

/// Weights of the detectors in the combined score (each 0..1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SeriesWeights {
    pub novelty: f64,
    pub recent: f64,
    pub context: f64,
}

impl Default for SeriesWeights {
    fn default() -> SeriesWeights {
        SeriesWeights {
            novelty: 1.0,
            recent: 1.0,
            context: 1.0,
        }
    }
}

/// The detectors' parts of one value's score (each 0..1, unweighted).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SeriesScore {
    pub score: f64,
    pub novelty: f64,
    pub recent: f64,
    pub context: f64,
}

/// Values learned before any score: the range and the chains know nothing yet.
pub const WARMUP: u64 = 50;
/// The range novelty's half-evidence exceedance: a new extreme 0.1 % of the range past the old
/// one is half the evidence, and about 0.8 % past it scores 0.5.
const NOVELTY_AT: f64 = 0.001;
/// The recent window: 10 blocks of 100 values.
const RECENT_BLOCK: u32 = 100;
/// The recent range's half-evidence exceedance: about 40 % of the recent range past its edge
/// scores 0.5.
const RECENT_AT: f64 = 0.05;

/// A value this far outside the range (in units of it) shifts the levels the chains learned
/// so much that they start afresh: otherwise the values after a spike, now all at the bottom
/// level, would look like a surprise of their own.
const RELEARN_AT: f64 = 0.25;

/// A signal's detectors: 3.5 KB of counts, allocated once, and about 0.5 KB inline.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesScorer {
    range: RangeNovelty,
    recent: RecentRange,
    context: ContextSurprise,
    weights: SeriesWeights,
    seen: u64,
}

impl Default for SeriesScorer {
    fn default() -> SeriesScorer {
        SeriesScorer::new(SeriesWeights::default())
    }
}

impl SeriesScorer {
    pub fn new(weights: SeriesWeights) -> SeriesScorer {
        SeriesScorer {
            range: RangeNovelty::new(NOVELTY_AT),
            recent: RecentRange::new(RECENT_BLOCK, RECENT_AT),
            context: ContextSurprise::new(),
            weights,
            seen: 0,
        }
    }

    /// Scores `x` and learns it. The combination is the weighted maximum: one detector that is
    /// sure is enough, and a persistent condition is not reported again by the others (each
    /// learns it at once: the range grows, the recent range holds it, the chain sees the level).
    pub fn score(&mut self, x: f64) -> SeriesScore {
        if !x.is_finite() {
            return SeriesScore {
                score: 0.0,
                novelty: 0.0,
                recent: 0.0,
                context: 0.0,
            };
        }
        if self.range.exceedance(x) > RELEARN_AT {
            self.context.forget();
        }
        let novelty = self.range.score(x);
        let context = self.context.score(self.range.position(x));
        let recent = self.recent.score(x);
        self.seen += 1;
        if self.seen <= WARMUP {
            return SeriesScore {
                score: 0.0,
                novelty: 0.0,
                recent: 0.0,
                context: 0.0,
            };
        }
        let w = self.weights;
        let score = (w.novelty.clamp(0.0, 1.0) * novelty)
            .max(w.recent.clamp(0.0, 1.0) * recent)
            .max(w.context.clamp(0.0, 1.0) * context);
        SeriesScore {
            score,
            novelty,
            recent,
            context,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quiet(s: &mut SeriesScorer, n: usize) -> SeriesScore {
        let mut last = s.score(10.0);
        for i in 0..n {
            last = s.score(10.0 + (i % 7) as f64 * 0.1);
        }
        last
    }

    #[test]
    fn an_anomaly_is_reported_at_its_onset_not_while_it_lasts() {
        let mut s = SeriesScorer::default();
        quiet(&mut s, 600);
        let scores: Vec<f64> = (0..50).map(|_| s.score(80.0).score).collect();
        assert!(scores[0] > 0.9, "{scores:?}");
        assert!(scores[1..].iter().all(|v| *v < 0.5), "{scores:?}");
    }

    #[test]
    fn the_combination_is_the_strongest_part_and_low_when_none_is_sure() {
        let mut s = SeriesScorer::default();
        let last = quiet(&mut s, 600);
        assert!(last.score < 0.1, "{last:?}");
        let spike = s.score(50.0);
        assert!(spike.score > 0.9, "{spike:?}");
        assert_eq!(
            spike.score,
            spike.novelty.max(spike.recent).max(spike.context)
        );
    }

    #[test]
    fn nothing_is_scored_during_the_warm_up() {
        let mut s = SeriesScorer::default();
        for i in 0..WARMUP {
            let v = if i == 30 { 1e6 } else { (i % 5) as f64 };
            assert_eq!(s.score(v).score, 0.0, "{i}");
        }
        assert!(s.score(3e6).score > 0.9);
    }

    #[test]
    fn the_values_after_a_spike_are_not_a_second_alarm() {
        // The spike stretches the range, so the usual values now all fall in the bottom level;
        // the chains start afresh rather than calling that a surprise.
        let mut s = SeriesScorer::default();
        let scores: Vec<f64> = (0..1000)
            .map(|i| {
                s.score(if i == 900 {
                    95.0
                } else {
                    20.0 + (i % 5) as f64
                })
                .score
            })
            .collect();
        assert!(scores[900] > 0.9);
        let elsewhere = (0..1000)
            .filter(|i| *i != 900)
            .map(|i| scores[i])
            .fold(0.0, f64::max);
        assert!(elsewhere < 0.5, "{elsewhere}");
    }

    #[test]
    fn a_scorer_stays_small() {
        // It runs for up to 100k entities: inline state plus the chains' counts.
        let s = SeriesScorer::default();
        let inline = std::mem::size_of::<SeriesScorer>();
        assert!(inline <= 640, "{inline}");
        assert_eq!(s.context.heap_bytes(), 3456);
    }

    #[test]
    fn zero_weights_silence_a_detector() {
        let mut s = SeriesScorer::new(SeriesWeights {
            novelty: 0.0,
            recent: 0.0,
            context: 0.0,
        });
        for i in 0..600 {
            s.score((i % 5) as f64);
        }
        let spike = s.score(1e6);
        assert_eq!(spike.score, 0.0);
        assert!(
            spike.novelty > 0.9,
            "the parts are still reported: {spike:?}"
        );
    }

    #[test]
    fn a_value_that_is_not_a_number_scores_zero_and_is_not_learned() {
        let mut s = SeriesScorer::default();
        quiet(&mut s, 600);
        assert_eq!(s.score(f64::NAN).score, 0.0);
        assert_eq!(s.score(f64::INFINITY).score, 0.0);
        // The pattern goes on where it was (the last value was 10.4).
        assert!(s.score(10.5).score < 0.1);
    }
}
