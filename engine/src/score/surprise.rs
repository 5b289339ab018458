//! Novelty and context-surprise detectors for one numeric signal: each takes one value at a
//! time, scores it against what came before (never against itself or the future), then learns
//! it. Scores are in 0..1 with 0.5 as the alarm line, like [`super::stats`].
//!
//! - [`RangeNovelty`]: a value outside every value seen so far, graded by how far outside (in
//!   units of the range): a new extreme by a hair is not an anomaly, a jump well past it is.
//! - [`RecentRange`]: the same against the range of the last thousand or so values (kept as
//!   block minima and maxima), so an excursion still counts after an older, larger one.
//! - [`SymbolChain`]: values quantised to a few levels of the learned range; the score is the
//!   surprise of the current level given the previous level and how long the signal has stayed
//!   there (a Markov chain over (level, run length) contexts with Laplace smoothing).
//! - [`ContextSurprise`]: several chains on shifted and differently sized grids, averaged (so
//!   no single bin boundary decides), discounted by how often the signal has been surprising.
//!
//! The approach follows the published descriptions of context-based NAB detectors (values
//! quantised to a few levels, surprise of the current context, novelty of values never seen);
//! the code is this project's.

/// Sharpens graded evidence in 0..1 (a rational curve such as `e / (e + a)`, or one minus a
/// probability) so that 0.5 is the alarm line: evidence of 0.891 scores 0.5, 0.95 scores 0.74,
/// 0.8 scores 0.26. Monotone, so rankings are unchanged.
pub fn sharpen(evidence: f64) -> f64 {
    if evidence.is_nan() {
        return 0.0;
    }
    evidence.clamp(0.0, 1.0).powi(6)
}

/// How far `x` lies outside `lo..=hi`, in units of the range (0 inside). A flat range still
/// has a unit of resolution, so any change from a flat signal is far outside it.
fn exceedance(x: f64, lo: f64, hi: f64) -> f64 {
    let unit = (hi - lo).max(1e-9 * x.abs().max(1.0));
    if x > hi {
        (x - hi) / unit
    } else if x < lo {
        (lo - x) / unit
    } else {
        0.0
    }
}

/// A value outside the range of every value seen so far.
#[derive(Debug, Clone, PartialEq)]
pub struct RangeNovelty {
    lo: f64,
    hi: f64,
    seen: bool,
    /// The exceedance (in units of the range) at which the evidence is 1/2; the score crosses
    /// 0.5 at about 8.2 times this.
    pub at: f64,
}

impl RangeNovelty {
    pub fn new(at: f64) -> RangeNovelty {
        RangeNovelty {
            lo: 0.0,
            hi: 0.0,
            seen: false,
            at: at.max(1e-12),
        }
    }

    /// How far `x` lies outside the values seen so far, in units of their range.
    pub fn exceedance(&self, x: f64) -> f64 {
        if !self.seen {
            return 0.0;
        }
        exceedance(x, self.lo, self.hi)
    }

    /// Scores `x`, then learns it.
    pub fn score(&mut self, x: f64) -> f64 {
        let e = self.exceedance(x);
        self.learn(x);
        if e > 0.0 {
            sharpen(e / (e + self.at))
        } else {
            0.0
        }
    }

    pub fn learn(&mut self, x: f64) {
        if !x.is_finite() {
            return;
        }
        if !self.seen {
            (self.lo, self.hi, self.seen) = (x, x, true);
        } else {
            self.lo = self.lo.min(x);
            self.hi = self.hi.max(x);
        }
    }

    /// Where `x` lies in the range learned so far, in 0..1 (0 for a flat range).
    pub fn position(&self, x: f64) -> f64 {
        let range = self.hi - self.lo;
        if !self.seen || range <= 0.0 {
            return 0.0;
        }
        ((x - self.lo) / range).clamp(0.0, 1.0)
    }
}

/// Blocks of the recent window: their minima and maxima are all that is kept.
const RECENT_BLOCKS: usize = 10;

/// A value outside the range of the last `RECENT_BLOCKS` blocks of values (and the block being
/// filled). No score until half the blocks are full.
#[derive(Debug, Clone, PartialEq)]
pub struct RecentRange {
    /// (min, max) of each full block, a ring.
    blocks: [(f64, f64); RECENT_BLOCKS],
    filled: usize,
    next: usize,
    current: (f64, f64),
    in_current: u32,
    block_len: u32,
    /// The exceedance (in units of the recent range) at which the evidence is 1/2; the score
    /// crosses 0.5 at about 8.2 times this.
    pub at: f64,
}

impl RecentRange {
    /// A window of `10 * block_len` values.
    pub fn new(block_len: u32, at: f64) -> RecentRange {
        RecentRange {
            blocks: [(0.0, 0.0); RECENT_BLOCKS],
            filled: 0,
            next: 0,
            current: (0.0, 0.0),
            in_current: 0,
            block_len: block_len.max(1),
            at: at.max(1e-12),
        }
    }

    /// How far `x` lies outside the recent range, in units of it (0 while warming up).
    pub fn exceedance(&self, x: f64) -> f64 {
        if self.filled * 2 < RECENT_BLOCKS {
            return 0.0;
        }
        let (mut lo, mut hi) = self.blocks[..self.filled]
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), b| {
                (lo.min(b.0), hi.max(b.1))
            });
        if self.in_current > 0 {
            lo = lo.min(self.current.0);
            hi = hi.max(self.current.1);
        }
        if hi <= lo {
            // A flat recent window: the range novelty speaks for changes from a flat signal.
            return 0.0;
        }
        exceedance(x, lo, hi)
    }

    /// Scores `x`, then learns it.
    pub fn score(&mut self, x: f64) -> f64 {
        let e = self.exceedance(x);
        self.learn(x);
        if e > 0.0 {
            sharpen(e / (e + self.at))
        } else {
            0.0
        }
    }

    pub fn learn(&mut self, x: f64) {
        if !x.is_finite() {
            return;
        }
        self.current = if self.in_current == 0 {
            (x, x)
        } else {
            (self.current.0.min(x), self.current.1.max(x))
        };
        self.in_current += 1;
        if self.in_current == self.block_len {
            self.blocks[self.next] = self.current;
            self.next = (self.next + 1) % RECENT_BLOCKS;
            self.filled = (self.filled + 1).min(RECENT_BLOCKS);
            self.in_current = 0;
        }
    }
}

/// Run-length contexts: a run of r values at one level is in bucket floor(log2(r + 1)), the
/// last bucket holding every run of 2^11 - 1 values or more (16 buckets scored the same on NAB
/// with a third more memory).
const RUN_BUCKETS: usize = 12;
/// Laplace pseudo-count of every level in every context.
const PRIOR: f64 = 0.1;

fn run_bucket(run: u32) -> usize {
    let r = run.saturating_add(1);
    ((31 - r.leading_zeros()) as usize).min(RUN_BUCKETS - 1)
}

/// A Markov chain over quantised levels: the context of a value is the previous value's level
/// and how long the signal had stayed at that level; the score is one minus the probability
/// the chain gave the value's level there. A level never seen after a well-known context is
/// surprising; a context never seen teaches nothing yet (every level is equally likely).
#[derive(Debug, Clone, PartialEq)]
pub struct SymbolChain {
    /// Grid cells across the range; levels are 0..=cells (the offset can push the top one up).
    cells: u8,
    /// Grid shift in cells (0..1).
    offset: f64,
    last: u8,
    run: u32,
    /// counts[(context * levels) + level], context = last * RUN_BUCKETS + run bucket.
    counts: Vec<u16>,
    /// Sum of each context's counts.
    totals: Vec<u16>,
}

impl SymbolChain {
    /// `cells` grid cells over the range (2..=15), shifted by `offset` cells.
    pub fn new(cells: u8, offset: f64) -> SymbolChain {
        let cells = cells.clamp(2, 15);
        let levels = cells as usize + 1;
        SymbolChain {
            cells,
            offset: offset.clamp(0.0, 1.0),
            last: 0,
            run: 0,
            counts: vec![0; levels * RUN_BUCKETS * levels],
            totals: vec![0; levels * RUN_BUCKETS],
        }
    }

    fn levels(&self) -> usize {
        self.cells as usize + 1
    }

    /// The level of a position `u` (0..1) in the range.
    pub fn level(&self, u: f64) -> u8 {
        let u = u.clamp(0.0, 0.999_999);
        ((u * self.cells as f64 + self.offset) as u8).min(self.cells)
    }

    /// Scores the level of position `u`, then learns it.
    pub fn surprise(&mut self, u: f64) -> f64 {
        let levels = self.levels();
        let level = self.level(u);
        let context = self.last as usize * RUN_BUCKETS + run_bucket(self.run);
        let cell = context * levels + level as usize;
        let count = self.counts[cell] as f64;
        let total = self.totals[context] as f64;
        let p = (count + PRIOR) / (total + PRIOR * levels as f64);
        self.counts[cell] += 1;
        self.totals[context] += 1;
        if self.totals[context] == u16::MAX {
            // Halve the context's counts: the proportions stay, older values weigh less.
            let row = &mut self.counts[context * levels..(context + 1) * levels];
            let mut sum = 0u16;
            for c in row.iter_mut() {
                *c /= 2;
                sum += *c;
            }
            self.totals[context] = sum;
        }
        if level == self.last {
            self.run = self.run.saturating_add(1);
        } else {
            (self.last, self.run) = (level, 0);
        }
        1.0 - p
    }

    /// Bytes of counts held on the heap.
    pub fn heap_bytes(&self) -> usize {
        (self.counts.len() + self.totals.len()) * std::mem::size_of::<u16>()
    }

    /// Forgets every count (the levels no longer mean what they meant, e.g. the range grew).
    pub fn forget(&mut self) {
        self.counts.fill(0);
        self.totals.fill(0);
        (self.last, self.run) = (0, 0);
    }
}

/// A context surprise at most this: a value never seen (a novelty) is surer evidence than an
/// unlikely level.
const CONTEXT_CEILING: f64 = 0.9;
/// Average surprise over which a value counts as surprising, for the rate.
const SURPRISING: f64 = 0.9;
/// Weight of the newest value in the rate of surprising values (about the last thousand).
const RATE_ALPHA: f64 = 0.001;

/// Chains on four grids (4 and 5 cells, each unshifted and shifted by half a cell), averaged.
/// The average is discounted by the signal's own rate of surprising values: a signal that is
/// often surprising makes each surprise less telling.
#[derive(Debug, Clone, PartialEq)]
pub struct ContextSurprise {
    chains: [SymbolChain; 4],
    rate: f64,
}

impl Default for ContextSurprise {
    fn default() -> ContextSurprise {
        ContextSurprise::new()
    }
}

impl ContextSurprise {
    pub fn new() -> ContextSurprise {
        ContextSurprise {
            chains: [
                SymbolChain::new(4, 0.0),
                SymbolChain::new(4, 0.5),
                SymbolChain::new(5, 0.0),
                SymbolChain::new(5, 0.5),
            ],
            rate: 0.0,
        }
    }

    /// Scores position `u` (0..1, the value's place in the learned range), then learns it.
    pub fn score(&mut self, u: f64) -> f64 {
        let mean = self.chains.iter_mut().map(|c| c.surprise(u)).sum::<f64>() / 4.0;
        let discounted = mean * (1.0 - self.rate).max(0.0);
        let hit = if mean > SURPRISING { 1.0 } else { 0.0 };
        self.rate += RATE_ALPHA * (hit - self.rate);
        sharpen(CONTEXT_CEILING * discounted)
    }

    /// Bytes of counts held on the heap.
    pub fn heap_bytes(&self) -> usize {
        self.chains.iter().map(SymbolChain::heap_bytes).sum()
    }

    /// Forgets the chains' counts (kept: the rate). For when the range the positions are taken
    /// in has grown so much that the old levels map onto new ones.
    pub fn forget(&mut self) {
        for c in &mut self.chains {
            c.forget();
        }
    }

    /// The share of recent values that were surprising (an EWMA over about a thousand).
    pub fn rate(&self) -> f64 {
        self.rate
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic noise source (xorshift), roughly normal (sum of uniforms).
    struct Noise(u64);
    impl Noise {
        fn uniform(&mut self) -> f64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 >> 11) as f64 / (1u64 << 53) as f64
        }
        fn next(&mut self) -> f64 {
            (0..12).map(|_| self.uniform()).sum::<f64>() - 6.0
        }
    }

    fn noisy(n: usize, level: f64, sd: f64, seed: u64) -> Vec<f64> {
        let mut r = Noise(seed);
        (0..n).map(|_| level + sd * r.next()).collect()
    }

    /// 50 +- 10, a cycle of 144 values (a day of 10-minute samples), noise of 0.2.
    fn sine(n: usize) -> Vec<f64> {
        let noise = noisy(n, 0.0, 0.2, 5);
        (0..n)
            .map(|i| 50.0 + 10.0 * (i as f64 * std::f64::consts::TAU / 144.0).sin() + noise[i])
            .collect()
    }

    fn alarms(scores: &[f64], from: usize) -> Vec<usize> {
        (from..scores.len()).filter(|i| scores[*i] > 0.5).collect()
    }

    fn run(mut f: impl FnMut(f64) -> f64, xs: &[f64]) -> Vec<f64> {
        xs.iter().map(|x| f(*x)).collect()
    }

    fn novelty(xs: &[f64]) -> Vec<f64> {
        let mut d = RangeNovelty::new(0.001);
        run(|x| d.score(x), xs)
    }

    fn recent(xs: &[f64]) -> Vec<f64> {
        let mut d = RecentRange::new(100, 0.05);
        run(|x| d.score(x), xs)
    }

    /// The context surprise of each value, its position taken in the range seen so far.
    fn context(xs: &[f64]) -> Vec<f64> {
        let (mut range, mut d) = (RangeNovelty::new(0.001), ContextSurprise::new());
        run(
            |x| {
                range.learn(x);
                d.score(range.position(x))
            },
            xs,
        )
    }

    #[test]
    fn sharpen_puts_the_alarm_line_at_0_891_evidence() {
        assert!((sharpen(0.891) - 0.5).abs() < 0.002);
        assert!(sharpen(0.8) < 0.3 && sharpen(0.95) > 0.7);
        assert_eq!(sharpen(f64::NAN), 0.0);
        assert_eq!(sharpen(2.0), 1.0);
        assert_eq!(sharpen(-1.0), 0.0);
    }

    #[test]
    fn novelty_is_graded_by_how_far_outside_the_range() {
        let mut d = RangeNovelty::new(0.001);
        d.learn(0.0);
        d.learn(100.0);
        assert_eq!(d.score(50.0), 0.0, "inside");
        assert!(d.score(100.05) < 0.01, "a hair past the top");
        // 1.15 % of the range past the top.
        let s = d.score(101.2);
        assert!(s > 0.5 && s < 0.7, "{s}");
        assert!(d.score(200.0) > 0.99);
        assert!(d.score(-1000.0) > 0.99, "below counts too");
        // Any change from a flat signal is far outside it.
        let mut flat = RangeNovelty::new(0.001);
        for _ in 0..100 {
            assert_eq!(flat.score(45.0), 0.0);
        }
        assert!(flat.score(45.001) > 0.99);
        assert!((flat.position(45.0005) - 0.5).abs() < 1e-6);
    }

    #[test]
    fn novelty_alarms_at_a_spike_or_step_and_a_periodic_signal_stays_quiet() {
        let quiet = novelty(&sine(3000));
        assert_eq!(
            alarms(&quiet, 144),
            [] as [usize; 0],
            "after the first cycle"
        );

        let mut spike = sine(3000);
        spike[2000] += 30.0;
        let s = novelty(&spike);
        assert_eq!(alarms(&s, 144), [2000]);
        assert!(s[2000] > 0.99);

        // A step up: the new level's first cycle is all new values, then quiet again.
        let step: Vec<f64> = sine(3000)
            .iter()
            .enumerate()
            .map(|(i, x)| if i >= 2000 { x + 30.0 } else { *x })
            .collect();
        let s = novelty(&step);
        let a = alarms(&s, 144);
        assert_eq!(a[0], 2000);
        assert!(a.iter().all(|i| *i < 2000 + 144), "{a:?}");
    }

    #[test]
    fn novelty_catches_a_drift_once_it_leaves_the_range() {
        // 0.01 a value: a cycle later the peak is 1.44 higher, 7 % of the range.
        let drift: Vec<f64> = sine(3000)
            .iter()
            .enumerate()
            .map(|(i, x)| x + 0.01 * (i.max(1000) - 1000) as f64)
            .collect();
        let a = alarms(&novelty(&drift), 144);
        assert!((1000..1200).contains(&a[0]), "{a:?}");
        assert!(a.len() > 10, "each new peak: {a:?}");
    }

    #[test]
    fn new_extremes_of_stationary_noise_alarm_ever_more_rarely() {
        let s = novelty(&noisy(3000, 50.0, 1.0, 7));
        let a = alarms(&s, 144);
        assert!(a.len() <= 10, "{a:?}");
        assert!(a.iter().filter(|i| **i >= 1500).count() <= 3, "{a:?}");
    }

    #[test]
    fn recent_range_alarms_at_a_spike_or_step_and_learns_the_new_level() {
        assert!(recent(&sine(3000)).iter().all(|s| *s < 0.5));
        let mut spike = sine(3000);
        spike[2000] += 30.0;
        let s = recent(&spike);
        assert_eq!(alarms(&s, 0), [2000]);
        let step: Vec<f64> = sine(3000)
            .iter()
            .enumerate()
            .map(|(i, x)| if i >= 2000 { x + 30.0 } else { *x })
            .collect();
        assert_eq!(alarms(&recent(&step), 0), [2000]);
    }

    #[test]
    fn recent_range_sees_an_excursion_smaller_than_an_old_one() {
        let mut xs = noisy(3000, 10.0, 0.5, 9);
        xs[200] = 100.0;
        xs[2500] = 30.0;
        // The all-time range still holds the old spike; the recent one has forgotten it.
        assert_eq!(alarms(&novelty(&xs), 144), [200]);
        let s = recent(&xs);
        assert_eq!(alarms(&s, 0), [2500]);
        assert!(s[2500] > 0.9);
    }

    #[test]
    fn recent_range_follows_a_slow_drift() {
        // Not a drift detector: the window moves with it (the all-time novelty and the CUSUM
        // in `stats` catch drifts).
        let drift: Vec<f64> = sine(3000)
            .iter()
            .enumerate()
            .map(|(i, x)| x + 0.01 * (i.max(1000) - 1000) as f64)
            .collect();
        assert!(recent(&drift).iter().all(|s| *s < 0.5));
    }

    #[test]
    fn a_chain_learns_a_pattern_and_is_surprised_by_a_new_transition() {
        let mut c = SymbolChain::new(4, 0.0);
        // A context never seen predicts nothing: every level is equally likely.
        assert!((c.surprise(0.5) - 0.8).abs() < 1e-12);
        let pattern = [0.0, 0.3, 0.6, 0.9, 0.6, 0.3];
        let s: Vec<f64> = (0..600).map(|i| c.surprise(pattern[i % 6])).collect();
        // Level 2 goes up or down half the time each; every other step is certain.
        assert!(s[100..].iter().all(|v| *v < 0.55), "{:?}", &s[100..112]);
        assert!(s[100..].iter().filter(|v| **v < 0.05).count() > 150);
        // After the bottom level the next was always level 1; the top is new.
        assert!(c.surprise(0.9) > 0.99);
        c.forget();
        assert!((c.surprise(0.0) - 0.8).abs() < 1e-12);
    }

    #[test]
    fn a_chain_grids_levels_with_its_offset() {
        let (plain, shifted) = (SymbolChain::new(4, 0.0), SymbolChain::new(4, 0.5));
        assert_eq!(
            (plain.level(0.0), plain.level(0.99), plain.level(1.0)),
            (0, 3, 3)
        );
        assert_eq!((shifted.level(0.0), shifted.level(0.99)), (0, 4));
        assert_eq!(shifted.level(0.2), 1);
    }

    #[test]
    fn a_chain_is_surprised_when_a_run_lasts_longer_than_any_before() {
        // Runs of 20 at two levels; at 2000 the low level lasts 60.
        let mut xs: Vec<f64> = (0..3000)
            .map(|i| if (i / 20) % 2 == 1 { 0.9 } else { 0.1 })
            .collect();
        xs[2000..2060].fill(0.1);
        let mut c = SymbolChain::new(4, 0.0);
        let s: Vec<f64> = xs.iter().map(|u| c.surprise(*u)).collect();
        // Runs are bucketed by powers of two: within one, the switch is a quarter likely.
        assert!(s[400..2000].iter().all(|v| *v < 0.85));
        assert!(
            s[2000..2060].iter().all(|v| *v < 0.85),
            "a longer run: new contexts"
        );
        assert!(s[2060] > 0.99, "the switch after a run of 60: {}", s[2060]);
    }

    #[test]
    fn context_surprise_stays_low_on_a_periodic_signal_and_alarms_at_a_glitch() {
        assert!(context(&sine(3000)).iter().all(|s| *s < 0.5));
        let square: Vec<f64> = (0..3000)
            .map(|i| if (i / 20) % 2 == 1 { 60.0 } else { 40.0 })
            .collect();
        assert!(context(&square).iter().all(|s| *s < 0.5));
        let mut glitch = square.clone();
        glitch[2005] = 60.0;
        let a = alarms(&context(&glitch), 0);
        assert_eq!(a[0], 2005, "{a:?}");
        assert!(a.len() <= 3, "{a:?}");
    }

    #[test]
    fn context_surprise_is_discounted_for_a_signal_that_is_often_surprising() {
        // A strict cycle of four levels, then random levels: surprising at first, less so as
        // the rate of surprises rises.
        let mut r = Noise(3);
        let us: Vec<f64> = (0..3000)
            .map(|i| {
                if i < 1000 {
                    [0.05, 0.3, 0.55, 0.8][i % 4]
                } else {
                    r.uniform()
                }
            })
            .collect();
        let mut d = ContextSurprise::new();
        let s: Vec<f64> = us.iter().map(|u| d.score(*u)).collect();
        assert!(s[..1000].iter().skip(20).all(|v| *v < 0.1));
        assert!(!alarms(&s[1000..1200], 0).is_empty());
        assert!(alarms(&s, 2000).is_empty());
        assert!(d.rate() > 0.05, "{}", d.rate());
    }
}
