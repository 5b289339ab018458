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

/// A signal's detectors (about 4.6 KB of counts, allocated once).
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
