//! Isolation forest (Liu, Ting and Zhou, 2008): anomalies are few and different, so random
//! axis-parallel splits isolate them in fewer steps than normal points. Each tree is grown on a
//! small random sample; a point's score is `2^(-E[h(x)] / c(psi))`, near 1 for points isolated
//! quickly and well under 0.5 for points deep in the data.
//!
//! Trees are grown as linked nodes, then stored complete: every tree has `2^height - 1` split
//! slots in breadth-first order (the children of slot `i` are `2i + 1` and `2i + 2`), a split
//! that never separates anything (under a leaf) always sends a point left, and each of the
//! `2^height` bottom slots holds the path length of the leaf that leads to it. Scoring is then
//! `height` branch-free steps per tree (load a split, compare, double the index) and one table
//! read, with no allocation.

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

/// How a forest is grown.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ForestParams {
    pub trees: usize,
    /// Points sampled per tree (psi); 256 in the paper.
    pub sample: usize,
    pub seed: u64,
}

impl Default for ForestParams {
    fn default() -> ForestParams {
        ForestParams {
            trees: 100,
            sample: 256,
            seed: 1,
        }
    }
}

/// One node, 12 bytes: a split sends a point to `next` (below `value`) or `next + 1`; a leaf
/// holds in `value` the path length still to add for the training points it kept (c(size),
/// precomputed so scoring takes no logarithm). Single precision halves the forest's memory
/// (100 trees fit in the L2 cache); thresholds on window signals need no more.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Node {
    value: f32,
    feature: u16,
    leaf: bool,
    next: u32,
}

impl Node {
    fn leaf(rest: f64) -> Node {
        Node {
            value: rest as f32,
            feature: 0,
            leaf: true,
            next: 0,
        }
    }
}

/// One split slot of a complete tree: points with `x[feature] >= value` go right.
#[derive(Debug, Clone, Copy, PartialEq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
struct Split {
    value: f32,
    feature: u32,
}

/// A split that sends every point left (slots under a leaf).
const PASS: Split = Split {
    value: f32::INFINITY,
    feature: 0,
};

/// A trained forest over vectors of `dims` features. Archived with rkyv to be saved (see
/// [`crate::score::models`]); one read back is [`IsolationForest::check`]ed before use.
#[derive(Debug, Clone, PartialEq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub struct IsolationForest {
    dims: usize,
    trees: usize,
    /// Splits on a path (ceil(log2 psi)): every tree is complete to this depth.
    height: u32,
    /// `2^height - 1` split slots per tree, tree after tree.
    splits: Vec<Split>,
    /// `2^height` path lengths per tree (depth of the leaf plus c(its size)), tree after tree.
    leaves: Vec<f32>,
    /// c(psi): the average path length of an unsuccessful search in a tree of psi points.
    norm: f64,
}

/// Average path length of an unsuccessful binary-search-tree search among `n` points.
fn c(n: f64) -> f64 {
    if n <= 1.0 {
        0.0
    } else if n <= 2.0 {
        1.0
    } else {
        2.0 * ((n - 1.0).ln() + 0.577_215_664_9) - 2.0 * (n - 1.0) / n
    }
}

impl IsolationForest {
    /// Grows a forest on `data`: `n` points of `dims` features, row after row. Errors on an
    /// empty set, a ragged length or a non-finite value.
    pub fn train(data: &[f64], dims: usize, p: ForestParams) -> Result<IsolationForest, String> {
        if dims == 0 || data.is_empty() || data.len() % dims != 0 {
            return Err(format!(
                "training data of {} values is not whole points of {dims} features",
                data.len()
            ));
        }
        if let Some(i) = data.iter().position(|v| !v.is_finite()) {
            return Err(format!("training value {i} is not a finite number"));
        }
        let n = data.len() / dims;
        let sample = p.sample.clamp(2, n.max(2)).min(n);
        let height = (sample as f64).log2().ceil() as u32;
        let mut rng = SmallRng::seed_from_u64(p.seed);
        if dims > usize::from(u16::MAX) {
            return Err(format!(
                "{dims} features is more than a forest takes ({})",
                u16::MAX
            ));
        }
        let mut nodes = Vec::with_capacity(p.trees.max(1) * 2 * sample);
        let mut roots = Vec::with_capacity(p.trees.max(1));
        let mut idx: Vec<u32> = (0..n as u32).collect();
        for _ in 0..p.trees.max(1) {
            // A sample without replacement: a partial Fisher-Yates shuffle.
            for i in 0..sample {
                let j = rng.gen_range(i..n);
                idx.swap(i, j);
            }
            let mut points = idx[..sample].to_vec();
            let root = nodes.len();
            nodes.push(Node::leaf(0.0));
            roots.push(root as u32);
            grow(
                data,
                dims,
                &mut points,
                root,
                0,
                height,
                &mut rng,
                &mut nodes,
            );
        }
        let trees = roots.len();
        let per = (1usize << height) - 1;
        let mut splits = vec![PASS; trees * per];
        let mut leaves = vec![0f32; trees * (per + 1)];
        for (t, root) in roots.iter().enumerate() {
            let (s, l) = (
                &mut splits[t * per..(t + 1) * per],
                &mut leaves[t * (per + 1)..(t + 1) * (per + 1)],
            );
            complete(&nodes, *root as usize, 0, 0, height, s, l);
        }
        Ok(IsolationForest {
            dims,
            trees,
            height,
            splits,
            leaves,
            norm: c(sample as f64),
        })
    }

    pub fn dims(&self) -> usize {
        self.dims
    }

    /// Trees in the forest.
    pub fn trees(&self) -> usize {
        self.trees
    }

    /// Checks what scoring relies on (table sizes, features in range, a sane height and
    /// norm), so a forest read from a damaged or foreign file is refused, never a panic later.
    pub fn check(&self) -> Result<(), String> {
        if self.dims == 0 || self.dims > u32::MAX as usize {
            return Err(format!("{} features", self.dims));
        }
        if self.trees == 0 || self.height > 24 {
            return Err(format!("{} trees of height {}", self.trees, self.height));
        }
        if !(self.norm.is_finite() && self.norm > 0.0) {
            return Err(format!("a norm of {}", self.norm));
        }
        let per = (1usize << self.height) - 1;
        if self.splits.len() != self.trees * per || self.leaves.len() != self.trees * (per + 1) {
            return Err("split or leaf tables of the wrong size".into());
        }
        if let Some(i) = self
            .splits
            .iter()
            .position(|s| s.feature as usize >= self.dims || s.value.is_nan())
        {
            return Err(format!(
                "split {i} reads a feature the forest does not have"
            ));
        }
        if let Some(i) = self.leaves.iter().position(|l| !l.is_finite()) {
            return Err(format!("leaf {i} holds a value that is not a number"));
        }
        Ok(())
    }

    /// The anomaly score of one point (0..1; 0.5 and over is anomalous). A point of the wrong
    /// length scores 0 (a caller bug caught by `debug_assert`).
    pub fn score(&self, x: &[f64]) -> f64 {
        debug_assert_eq!(x.len(), self.dims);
        if x.len() != self.dims || self.norm <= 0.0 {
            return 0.0;
        }
        let mut v = [0f32; 16];
        if x.len() > v.len() {
            return self.score_wide(x);
        }
        for (a, b) in v.iter_mut().zip(x) {
            *a = *b as f32;
        }
        // Trees are walked LANES at a time in step, so their loads (each depending on the last
        // within a tree) overlap instead of waiting one after another. Features index a fixed
        // array of 16 (`& 15`: `check` keeps them under `dims`, at most 16 here), so a step
        // has no bounds test on the point.
        const LANES: usize = 8;
        let per = (1usize << self.height) - 1;
        let mut total = 0.0f32;
        let mut t = 0;
        while t + LANES <= self.trees {
            let trees: [&[Split]; LANES] =
                std::array::from_fn(|lane| &self.splits[(t + lane) * per..(t + lane + 1) * per]);
            let mut at = [0usize; LANES];
            for _ in 0..self.height {
                for lane in 0..LANES {
                    let s = trees[lane][at[lane]];
                    let right = v[(s.feature & 15) as usize] >= s.value;
                    at[lane] = 2 * at[lane] + 1 + usize::from(right);
                }
            }
            for (lane, i) in at.iter().enumerate() {
                total += self.leaves[(t + lane) * (per + 1) + *i - per];
            }
            t += LANES;
        }
        for tree in t..self.trees {
            let splits = &self.splits[tree * per..(tree + 1) * per];
            let mut i = 0usize;
            for _ in 0..self.height {
                let s = splits[i];
                i = 2 * i + 1 + usize::from(v[(s.feature & 15) as usize] >= s.value);
            }
            total += self.leaves[tree * (per + 1) + i - per];
        }
        let mean = f64::from(total) / self.trees as f64;
        (2f64).powf(-mean / self.norm)
    }

    /// [`IsolationForest::score`] for points of more than 16 features.
    fn score_wide(&self, x: &[f64]) -> f64 {
        let per = (1usize << self.height) - 1;
        let mut total = 0.0f64;
        for t in 0..self.trees {
            let mut i = 0usize;
            for _ in 0..self.height {
                let s = self.splits[t * per + i];
                let right = x
                    .get(s.feature as usize)
                    .is_some_and(|v| *v as f32 >= s.value);
                i = 2 * i + 1 + usize::from(right);
            }
            total += f64::from(self.leaves[t * (per + 1) + i - per]);
        }
        (2f64).powf(-(total / self.trees as f64) / self.norm)
    }
}

/// Lays the grown subtree at `nodes[node]` into the complete tree's slot `slot` (at `depth`):
/// a split keeps its place; a leaf fills the slots under it with splits that go left, and
/// the bottom slot that path reaches holds the leaf's path length.
fn complete(
    nodes: &[Node],
    node: usize,
    slot: usize,
    depth: u32,
    height: u32,
    splits: &mut [Split],
    leaves: &mut [f32],
) {
    let per = splits.len();
    let n = nodes[node];
    if n.leaf || depth >= height {
        // Always left from here: slot s at depth d reaches bottom slot (s + 1) * 2^(h - d) - 1.
        let bottom = ((slot + 1) << (height - depth)) - 1;
        leaves[bottom - per] = depth as f32 + n.value;
        return;
    }
    splits[slot] = Split {
        value: n.value,
        feature: u32::from(n.feature),
    };
    let left = n.next as usize;
    complete(nodes, left, 2 * slot + 1, depth + 1, height, splits, leaves);
    complete(
        nodes,
        left + 1,
        2 * slot + 2,
        depth + 1,
        height,
        splits,
        leaves,
    );
}

/// Grows the subtree of `points` into the node at index `me` (already reserved), at `depth`.
#[allow(clippy::too_many_arguments)]
fn grow(
    data: &[f64],
    dims: usize,
    points: &mut [u32],
    me: usize,
    depth: u32,
    height: u32,
    rng: &mut SmallRng,
    nodes: &mut Vec<Node>,
) {
    let leaf = Node::leaf(c(points.len() as f64));
    if depth >= height || points.len() <= 1 {
        nodes[me] = leaf;
        return;
    }
    // A random feature that still varies among these points (up to `dims` tries).
    let mut chosen = None;
    let start = rng.gen_range(0..dims);
    for k in 0..dims {
        let f = (start + k) % dims;
        let (lo, hi) = points
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &p| {
                let v = data[p as usize * dims + f];
                (lo.min(v), hi.max(v))
            });
        if (hi as f32) > (lo as f32) {
            chosen = Some((f, lo, hi));
            break;
        }
    }
    let Some((feature, lo, hi)) = chosen else {
        // Every point is the same (at single precision): nothing left to isolate.
        nodes[me] = leaf;
        return;
    };
    // A split strictly above the lowest value, so both sides get points; compared in single
    // precision, as scoring compares.
    let mut value = rng.gen_range(lo..hi) as f32;
    if value <= lo as f32 {
        value = (lo + (hi - lo) / 2.0) as f32;
    }
    // Partition in place: points below the split first.
    let mut split = 0;
    for i in 0..points.len() {
        if (data[points[i] as usize * dims + feature] as f32) < value {
            points.swap(i, split);
            split += 1;
        }
    }
    if split == 0 || split == points.len() {
        nodes[me] = leaf;
        return;
    }
    let left = nodes.len();
    nodes.push(Node::leaf(0.0));
    nodes.push(Node::leaf(0.0));
    nodes[me] = Node {
        value,
        feature: feature as u16,
        leaf: false,
        next: left as u32,
    };
    let (below, above) = points.split_at_mut(split);
    grow(data, dims, below, left, depth + 1, height, rng, nodes);
    grow(data, dims, above, left + 1, depth + 1, height, rng, nodes);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Points of a 2-D normal cloud around (0, 0) with unit spread.
    fn cloud(n: usize, seed: u64) -> Vec<f64> {
        let mut rng = SmallRng::seed_from_u64(seed);
        let mut out = Vec::with_capacity(2 * n);
        for _ in 0..2 * n {
            let s: f64 = (0..12).map(|_| rng.gen::<f64>()).sum::<f64>() - 6.0;
            out.push(s);
        }
        out
    }

    #[test]
    fn an_outlier_scores_high_and_the_cloud_low() {
        let data = cloud(2000, 3);
        let f = IsolationForest::train(&data, 2, ForestParams::default()).unwrap();
        assert!(f.score(&[8.0, 8.0]) > 0.65, "{}", f.score(&[8.0, 8.0]));
        assert!(f.score(&[0.0, 0.0]) < 0.45, "{}", f.score(&[0.0, 0.0]));
        // Farther out, more anomalous.
        assert!(f.score(&[3.0, 0.0]) < f.score(&[6.0, 0.0]));
        // Only the cloud's own tail scores as high as 0.6 (about 5 % of a 2-D normal lies
        // beyond 2.5 standard deviations).
        let high = data.chunks(2).filter(|p| f.score(p) > 0.6).count();
        assert!(high < 2000 / 10, "{high}");
    }

    #[test]
    fn a_point_unusual_in_one_feature_only_is_found() {
        // Feature 1 is always near 5; feature 0 spreads widely.
        let mut rng = SmallRng::seed_from_u64(9);
        let data: Vec<f64> = (0..1000)
            .flat_map(|_| [rng.gen_range(0.0..100.0), 5.0 + rng.gen_range(-0.1..0.1)])
            .collect();
        let f = IsolationForest::train(&data, 2, ForestParams::default()).unwrap();
        let (odd, usual) = (f.score(&[50.0, 9.0]), f.score(&[50.0, 5.0]));
        // Half the splits cut the wide feature and do not help: the margin is smaller than in
        // the cloud, but the odd point is over 0.5 and the usual one under.
        assert!(
            odd > 0.5 && usual < 0.5 && odd > usual + 0.05,
            "{odd} vs {usual}"
        );
    }

    #[test]
    fn same_seed_same_forest_and_bad_input_is_refused() {
        let data = cloud(300, 1);
        let a = IsolationForest::train(&data, 2, ForestParams::default()).unwrap();
        let b = IsolationForest::train(&data, 2, ForestParams::default()).unwrap();
        assert_eq!(a, b);
        assert!(IsolationForest::train(&[], 2, ForestParams::default()).is_err());
        assert!(IsolationForest::train(&[1.0, 2.0, 3.0], 2, ForestParams::default()).is_err());
        assert!(IsolationForest::train(&[1.0, f64::NAN], 2, ForestParams::default()).is_err());
    }

    #[test]
    fn constant_and_tiny_data_do_not_break_it() {
        let flat = vec![1.0; 200];
        let f = IsolationForest::train(&flat, 2, ForestParams::default()).unwrap();
        let s = f.score(&[1.0, 1.0]);
        assert!(s.is_finite() && (0.0..=1.0).contains(&s), "{s}");
        let one = IsolationForest::train(&[3.0, 4.0], 2, ForestParams::default()).unwrap();
        assert!(one.score(&[3.0, 4.0]).is_finite());
    }

    #[test]
    fn c_matches_the_paper() {
        assert_eq!(c(1.0), 0.0);
        assert_eq!(c(2.0), 1.0);
        // c(256) is about 10.24 (2 H(255) - 2 * 255 / 256).
        assert!((c(256.0) - 10.2448).abs() < 1e-3, "{}", c(256.0));
    }
}
