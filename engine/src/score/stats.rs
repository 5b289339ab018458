//! Streaming statistics detectors: each takes one value at a time, scores it against what came
//! before (never against itself or the future), then learns from it. Scores are in 0..1; 0.5 is
//! the line between "unusual" and "anomalous".
//!
//! - [`Ewma`]: exponentially weighted mean and variance; the score grows with the z-score.
//! - [`RobustZ`]: median and median absolute deviation over a sliding window, which a few
//!   outliers cannot drag (a spike does not hide the next one).
//! - [`Cusum`]: two-sided cumulative sum of standardised deviations from a slowly moving
//!   baseline: catches a slow drift that a fast baseline would follow.
//! - [`CountBurst`]: counts per window against their EWMA, with Poisson-like spread.
//! - [`RareCodes`]: event codes an entity has never (or hardly ever) produced.

use std::collections::HashMap;

use crate::schema::Symbol;

/// Maps a deviation to 0..1: 0.5 at `at`, steeper for a smaller `width`. A rational curve
/// (`x^k / (x^k + at^k)`) rather than a logistic one: it never rounds to exactly 1, so a
/// bigger deviation always scores higher and scores can be ranked.
pub fn squash(x: f64, at: f64, width: f64) -> f64 {
    if x.is_nan() || x <= 0.0 {
        return 0.0;
    }
    if x.is_infinite() {
        return 1.0;
    }
    let k = (at / width.max(1e-9)).clamp(1.0, 8.0);
    let r = (x / at.max(1e-9)).powf(k);
    if r.is_infinite() {
        1.0
    } else {
        r / (1.0 + r)
    }
}

/// Exponentially weighted mean and variance of a signal.
#[derive(Debug, Clone, PartialEq)]
pub struct Ewma {
    alpha: f64,
    mean: f64,
    var: f64,
    /// 1 - (1 - alpha)^(n - 1): the weight the variance has gathered since it started at 0.
    gathered: f64,
    n: u64,
    warmup: u64,
    /// |z| at which the score is 0.5.
    pub at: f64,
}

impl Ewma {
    /// `alpha` is the weight of the newest value (about 2 / (span + 1)); no score before
    /// `warmup` values.
    pub fn new(alpha: f64, warmup: u64) -> Ewma {
        Ewma {
            alpha: alpha.clamp(1e-6, 1.0),
            mean: 0.0,
            var: 0.0,
            gathered: 0.0,
            n: 0,
            warmup,
            at: 4.0,
        }
    }

    pub fn mean(&self) -> f64 {
        self.mean
    }

    /// The standard deviation, corrected for the variance having started at 0.
    pub fn std(&self) -> f64 {
        if self.gathered <= 0.0 {
            return 0.0;
        }
        (self.var.max(0.0) / self.gathered).sqrt()
    }

    /// z-score of `x` against the values before it (0 while warming up).
    pub fn z(&self, x: f64) -> f64 {
        if self.n < self.warmup.max(2) {
            return 0.0;
        }
        // A floor on the spread: a perfectly flat signal still has a unit of resolution.
        let floor = 1e-6_f64.max(self.mean.abs() * 1e-3);
        (x - self.mean) / self.std().max(floor)
    }

    /// Scores `x`, then learns it.
    pub fn score(&mut self, x: f64) -> f64 {
        let s = squash(self.z(x).abs(), self.at, 0.75);
        let s = if self.n < self.warmup.max(2) { 0.0 } else { s };
        self.learn(x);
        s
    }

    pub fn learn(&mut self, x: f64) {
        if !x.is_finite() {
            return;
        }
        if self.n == 0 {
            self.mean = x;
            self.var = 0.0;
        } else {
            let d = x - self.mean;
            let incr = self.alpha * d;
            self.mean += incr;
            self.var = (1.0 - self.alpha) * (self.var + d * incr);
            self.gathered = 1.0 - (1.0 - self.gathered) * (1.0 - self.alpha);
        }
        self.n += 1;
    }
}

/// Median and median absolute deviation over the last `len` values.
#[derive(Debug, Clone, PartialEq)]
pub struct RobustZ {
    len: usize,
    /// The window in arrival order.
    ring: std::collections::VecDeque<f64>,
    /// The same values, sorted.
    sorted: Vec<f64>,
    warmup: usize,
    /// |robust z| at which the score is 0.5.
    pub at: f64,
}

impl RobustZ {
    pub fn new(len: usize, warmup: usize) -> RobustZ {
        let len = len.max(3);
        RobustZ {
            len,
            ring: std::collections::VecDeque::with_capacity(len),
            sorted: Vec::with_capacity(len),
            warmup: warmup.min(len).max(3),
            at: 5.0,
        }
    }

    fn median_of(v: &[f64]) -> f64 {
        let n = v.len();
        if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        }
    }

    /// The robust z of `x` against the window (0 while warming up).
    pub fn z(&self, x: f64) -> f64 {
        if self.sorted.len() < self.warmup {
            return 0.0;
        }
        let med = Self::median_of(&self.sorted);
        let mut dev: Vec<f64> = self.sorted.iter().map(|v| (v - med).abs()).collect();
        dev.sort_by(f64::total_cmp);
        // 1.4826 makes the MAD a standard deviation for normal data. When more than half the
        // window holds one value (a square wave, a mostly idle counter) the MAD is 0, so the
        // spread is also taken from the 10th to 90th percentile range (2.563 sd for normal
        // data).
        let mad = 1.4826 * Self::median_of(&dev);
        let n = self.sorted.len();
        let p10 = self.sorted[n / 10];
        let p90 = self.sorted[(n * 9 / 10).min(n - 1)];
        let spread = mad.max((p90 - p10) / 2.563);
        let floor = 1e-6_f64.max(med.abs() * 1e-3);
        (x - med) / spread.max(floor)
    }

    /// Scores `x`, then adds it to the window.
    pub fn score(&mut self, x: f64) -> f64 {
        let s = if self.sorted.len() < self.warmup {
            0.0
        } else {
            squash(self.z(x).abs(), self.at, 1.0)
        };
        self.learn(x);
        s
    }

    pub fn learn(&mut self, x: f64) {
        if !x.is_finite() {
            return;
        }
        if self.ring.len() == self.len {
            if let Some(old) = self.ring.pop_front() {
                let at = self.sorted.partition_point(|v| v.total_cmp(&old).is_lt());
                if at < self.sorted.len() {
                    self.sorted.remove(at);
                }
            }
        }
        self.ring.push_back(x);
        let at = self.sorted.partition_point(|v| v.total_cmp(&x).is_lt());
        self.sorted.insert(at, x);
    }
}

/// Two-sided CUSUM of standardised deviations from a slow baseline.
#[derive(Debug, Clone, PartialEq)]
pub struct Cusum {
    baseline: Ewma,
    /// Deviations (in standard deviations) below this are noise and drain the sums.
    slack: f64,
    /// The sum at which the score is 0.5.
    threshold: f64,
    high: f64,
    low: f64,
}

impl Cusum {
    /// `alpha`: how fast the baseline follows (small: drift accumulates); `slack` in standard
    /// deviations; `threshold` of the cumulative sum.
    pub fn new(alpha: f64, warmup: u64, slack: f64, threshold: f64) -> Cusum {
        Cusum {
            baseline: Ewma::new(alpha, warmup),
            slack,
            threshold,
            high: 0.0,
            low: 0.0,
        }
    }

    /// Scores `x`, then learns it.
    pub fn score(&mut self, x: f64) -> f64 {
        let z = self.baseline.z(x);
        self.high = (self.high + z - self.slack).max(0.0);
        self.low = (self.low - z - self.slack).max(0.0);
        let s = squash(
            self.high.max(self.low),
            self.threshold,
            self.threshold / 6.0,
        );
        self.baseline.learn(x);
        if s > 0.5 {
            // Past an alarm the sums restart, so a new level is learned and not reported for
            // ever.
            self.high *= 0.5;
            self.low *= 0.5;
        }
        s
    }
}

/// Counts per window against their own EWMA.
#[derive(Debug, Clone, PartialEq)]
pub struct CountBurst {
    rate: Ewma,
    /// Standardised excess at which the score is 0.5.
    pub at: f64,
}

impl CountBurst {
    pub fn new(alpha: f64, warmup: u64) -> CountBurst {
        CountBurst {
            rate: Ewma::new(alpha, warmup),
            at: 5.0,
        }
    }

    /// The usual count: the running mean of the counts before.
    pub fn expected(&self) -> f64 {
        self.rate.mean()
    }

    /// Scores a window's count (only rises above the usual count), then learns it.
    pub fn score(&mut self, count: f64) -> f64 {
        let warm = self.rate.z(count) != 0.0 || self.rate.n >= self.rate.warmup.max(2);
        let mean = self.rate.mean();
        // Poisson spread, or the observed one when counts vary more than that.
        let spread = mean.max(1.0).sqrt().max(self.rate.std());
        let excess = (count - mean) / spread;
        let s = if warm {
            squash(excess, self.at, 1.0)
        } else {
            0.0
        };
        self.rate.learn(count);
        s
    }
}

/// Event codes an entity produced, with counts; a code never seen (after warm-up) scores 1, a
/// rare one less. At most `cap` codes are kept; the least used is forgotten (counted).
#[derive(Debug, Clone, PartialEq)]
pub struct RareCodes {
    /// Keyed by interned code: a lookup per event is a pointer hash, not a string hash.
    counts: HashMap<Symbol, u64, rustc_hash::FxBuildHasher>,
    total: u64,
    warmup: u64,
    cap: usize,
    /// Codes forgotten to stay within `cap`.
    pub evicted: u64,
}

impl RareCodes {
    pub fn new(warmup: u64, cap: usize) -> RareCodes {
        RareCodes {
            counts: HashMap::default(),
            total: 0,
            warmup,
            cap: cap.max(1),
            evicted: 0,
        }
    }

    /// Scores a code, then counts it.
    pub fn score(&mut self, code: Symbol) -> f64 {
        let seen = self.counts.get(&code).copied().unwrap_or(0);
        let s = if self.total < self.warmup {
            0.0
        } else if seen == 0 {
            1.0
        } else {
            // Seen a few times in many: still unusual (not an alarm on its own), fading as it
            // becomes familiar.
            let share = seen as f64 / self.total as f64;
            if share < 0.01 {
                0.45 * (1.0 - share / 0.01)
            } else {
                0.0
            }
        };
        self.learn(code);
        s
    }

    pub fn learn(&mut self, code: Symbol) {
        self.total += 1;
        if let Some(c) = self.counts.get_mut(&code) {
            *c += 1;
            return;
        }
        if self.counts.len() >= self.cap {
            if let Some(least) = self
                .counts
                .iter()
                .min_by_key(|(k, c)| (**c, k.as_str()))
                .map(|(k, _)| *k)
            {
                self.counts.remove(&least);
                self.evicted += 1;
            }
        }
        self.counts.insert(code, 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic noise source (xorshift), roughly normal (sum of uniforms).
    struct Noise(u64);
    impl Noise {
        fn next(&mut self) -> f64 {
            let mut s = 0.0;
            for _ in 0..12 {
                self.0 ^= self.0 << 13;
                self.0 ^= self.0 >> 7;
                self.0 ^= self.0 << 17;
                s += (self.0 >> 11) as f64 / (1u64 << 53) as f64;
            }
            s - 6.0
        }
    }

    fn noisy(n: usize, level: f64, sd: f64, seed: u64) -> Vec<f64> {
        let mut r = Noise(seed);
        (0..n).map(|_| level + sd * r.next()).collect()
    }

    /// The index of the first score over 0.5, and the highest score before `from`.
    fn first_alarm(scores: &[f64]) -> Option<usize> {
        scores.iter().position(|s| *s > 0.5)
    }

    fn run(mut f: impl FnMut(f64) -> f64, xs: &[f64]) -> Vec<f64> {
        xs.iter().map(|x| f(*x)).collect()
    }

    #[test]
    fn squash_is_half_at_its_point_and_monotone() {
        assert!((squash(4.0, 4.0, 1.0) - 0.5).abs() < 1e-12);
        assert!(squash(2.0, 4.0, 1.0) < 0.2 && squash(6.0, 4.0, 1.0) > 0.8);
        assert_eq!(squash(f64::INFINITY, 4.0, 1.0), 1.0);
        assert_eq!(squash(f64::NAN, 4.0, 1.0), 0.0);
    }

    #[test]
    fn a_spike_alarms_once_and_quiet_data_stays_low() {
        let mut xs = noisy(600, 50.0, 2.0, 7);
        xs[400] = 80.0;
        for (name, scores) in [
            (
                "ewma",
                run(
                    {
                        let mut d = Ewma::new(0.02, 30);
                        move |x| d.score(x)
                    },
                    &xs,
                ),
            ),
            (
                "robust",
                run(
                    {
                        let mut d = RobustZ::new(200, 30);
                        move |x| d.score(x)
                    },
                    &xs,
                ),
            ),
        ] {
            assert_eq!(first_alarm(&scores), Some(400), "{name}");
            let quiet = scores.iter().enumerate().filter(|(i, _)| *i != 400);
            assert!(quiet.clone().all(|(_, s)| *s < 0.5), "{name}");
            let mean = quiet.map(|(_, s)| s).sum::<f64>() / 599.0;
            assert!(mean < 0.05, "{name}: {mean}");
        }
    }

    #[test]
    fn a_step_change_alarms_at_the_step() {
        let mut xs = noisy(400, 20.0, 1.0, 3);
        xs.extend(noisy(200, 35.0, 1.0, 4));
        let scores = run(
            {
                let mut d = Ewma::new(0.02, 30);
                move |x| d.score(x)
            },
            &xs,
        );
        assert_eq!(first_alarm(&scores), Some(400));
        let scores = run(
            {
                let mut d = RobustZ::new(200, 30);
                move |x| d.score(x)
            },
            &xs,
        );
        assert_eq!(first_alarm(&scores), Some(400));
        // The robust window learns the new level: once it is the majority, quiet again.
        assert!(scores[590..].iter().all(|s| *s < 0.5));
    }

    #[test]
    fn a_slow_drift_is_caught_by_the_cusum() {
        // Flat for 500 points, then rising by 0.02 standard deviations per point.
        let mut xs = noisy(500, 100.0, 1.0, 11);
        let tail = noisy(1000, 0.0, 1.0, 12);
        xs.extend(
            tail.iter()
                .enumerate()
                .map(|(i, n)| 100.0 + 0.02 * i as f64 + n),
        );
        let cusum = run(
            {
                let mut d = Cusum::new(0.002, 50, 1.0, 30.0);
                move |x| d.score(x)
            },
            &xs,
        );
        let at = first_alarm(&cusum).expect("the drift is caught");
        assert!((520..900).contains(&at), "{at}");
        assert!(cusum[..500].iter().all(|s| *s < 0.5));
    }

    #[test]
    fn a_periodic_signal_does_not_alarm() {
        let noise = noisy(3000, 0.0, 0.5, 5);
        let xs: Vec<f64> = (0..3000)
            .map(|i| 50.0 + 10.0 * (i as f64 * std::f64::consts::TAU / 144.0).sin() + noise[i])
            .collect();
        let ewma = run(
            {
                let mut d = Ewma::new(0.005, 300);
                move |x| d.score(x)
            },
            &xs,
        );
        let robust = run(
            {
                let mut d = RobustZ::new(288, 144);
                move |x| d.score(x)
            },
            &xs,
        );
        let cusum = run(
            {
                let mut d = Cusum::new(0.002, 300, 1.0, 30.0);
                move |x| d.score(x)
            },
            &xs,
        );
        for (name, s) in [("ewma", ewma), ("robust", robust), ("cusum", cusum)] {
            assert!(s.iter().all(|s| *s < 0.5), "{name}: {:?}", first_alarm(&s));
        }
    }

    #[test]
    fn a_count_burst_alarms_and_usual_counts_do_not() {
        let mut counts = noisy(300, 40.0, 6.0, 9)
            .into_iter()
            .map(f64::round)
            .collect::<Vec<_>>();
        counts[250] = 160.0;
        let scores = run(
            {
                let mut d = CountBurst::new(0.05, 20);
                move |c| d.score(c)
            },
            &counts,
        );
        assert_eq!(first_alarm(&scores), Some(250));
        assert_eq!(scores.iter().filter(|s| **s > 0.5).count(), 1);
        // A drop in volume is not a burst.
        let mut d = CountBurst::new(0.05, 20);
        for c in &counts[..200] {
            d.score(*c);
        }
        assert!(d.score(0.0) < 0.01);
    }

    #[test]
    fn a_new_event_code_alarms_and_becomes_familiar() {
        let mut d = RareCodes::new(100, 64);
        for i in 0..500 {
            let s = d.score(Symbol::intern(if i % 3 == 0 { "302013" } else { "302014" }));
            assert!(s < 0.5, "{i}");
        }
        assert_eq!(d.score(Symbol::intern("106023")), 1.0, "never seen before");
        let again = d.score(Symbol::intern("106023"));
        assert!(
            again > 0.3 && again < 0.5,
            "{again}: seen once in 502, unusual but no alarm"
        );
        for _ in 0..10 {
            d.score(Symbol::intern("106023"));
        }
        assert_eq!(
            d.score(Symbol::intern("106023")),
            0.0,
            "seen often enough now"
        );
    }

    #[test]
    fn rare_codes_stay_within_their_cap() {
        let mut d = RareCodes::new(0, 8);
        for i in 0..100 {
            d.score(Symbol::intern(&format!("code-{i}")));
        }
        assert_eq!(d.counts.len(), 8);
        assert_eq!(d.evicted, 92);
    }

    #[test]
    fn robust_window_slides() {
        let mut d = RobustZ::new(5, 3);
        for x in [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0] {
            d.learn(x);
        }
        assert_eq!(d.sorted, [3.0, 4.0, 5.0, 6.0, 7.0]);
        assert_eq!(
            d.ring.iter().copied().collect::<Vec<_>>(),
            [3.0, 4.0, 5.0, 6.0, 7.0]
        );
        assert!((d.z(5.0)).abs() < 1e-9);
    }
}
