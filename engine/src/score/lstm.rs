//! LSTM forecaster for one signal family (issue 5), on libtorch through `tch`.
//!
//! A *signal family* is a fixed-size vector of `F` signals per window (for instance event count,
//! error count, deny count, auth failures, distinct sources, metric mean, metric max). One
//! [`LstmModel`] per family is shared by all entities of a scorer shard; each entity owns a slot
//! in an [`LstmStates`] (its LSTM hidden and cell state and the forecast made at its last tick).
//!
//! At every window tick the shard calls [`LstmModel::tick`] once with the windows of all the
//! entities that have one: a single batched LSTM step. For each entity it compares this window
//! with the forecast made at the previous tick (the score), then feeds the window in, advances
//! the state and stores the forecast of the next window. The history is never rerun.
//!
//! **Normalisation.** Raw values go through `sign(x)·ln(1+|x|)` (counts spread over orders of
//! magnitude) and are then standardised per signal with the mean and standard deviation fitted
//! by [`LstmModel::train`] and saved with the weights.
//!
//! **Score.** For each signal the absolute forecast error (in standard deviations) is divided
//! by that signal's error scale: the RMS error the trained model made on its training data,
//! floored at [`LstmConfig::min_error_scale`]. The largest of these ratios, `r`, is squashed as
//! `r² / (r² + k²)` with `k` = [`LstmConfig::half_score_at`], so `r = k` scores 0.5, an ordinary
//! error (`r` about 1) scores well under it and a step or spike in any single signal goes towards
//! 1 (never reaching it). A slot's first tick has no forecast to compare with and scores 0.
//!
//! **Threads.** libtorch parallelises one op over its own thread pool. A scorer shard is one
//! thread among several, so each shard thread calls [`use_one_thread`] once before its first
//! tick: the batched step then runs on the shard's own core and shards do not oversubscribe the
//! machine. (`tch::set_num_threads` is process-wide in libtorch's OpenMP build, so one call from
//! any shard is enough; calling it from each is harmless.)
//!
//! **Determinism.** Weights are initialised from a Rust RNG seeded by [`LstmConfig::seed`] and
//! training shuffles with that RNG, so a model trained twice on the same data with the same seed
//! is the same model, whatever else in the process uses libtorch's global generator.
//!
//! **File.** [`LstmModel::save`] writes one safetensors file: the weights, the normalisation and
//! error scales, and a `meta` tensor holding the JSON of [`LstmConfig`] and the format version.

use std::fmt;
use std::path::{Path, PathBuf};

use rand::rngs::SmallRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use tch::{COptimizer, Device, Kind, Reduction, TchError, Tensor};

/// Version of the saved file layout; [`LstmModel::load`] refuses any other.
pub const FORMAT_VERSION: u32 = 1;

/// What can go wrong: bad input or configuration, a full state table, a bad model file, or an
/// error libtorch returned.
#[derive(Debug, thiserror::Error)]
pub enum LstmError {
    #[error("invalid LSTM configuration: {0}")]
    Config(String),
    #[error("invalid LSTM input: {0}")]
    Input(String),
    #[error("no free LSTM state slot: all {0} are in use")]
    Full(usize),
    #[error("LSTM model file {path}: {reason}")]
    File { path: PathBuf, reason: String },
    #[error("LSTM model file {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("libtorch: {0}")]
    Torch(#[from] TchError),
}

/// Shape and scoring constants of one family's model (saved with it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LstmConfig {
    /// The signal family's name (e.g. "host", "auth"); informative, kept in the file.
    pub family: String,
    /// Signals per window (F).
    pub signals: usize,
    /// LSTM hidden size (H). 16 keeps a 100k-entity tick in tens of ms on one core.
    pub hidden: usize,
    /// Seeds weight initialisation and the training shuffle.
    pub seed: u64,
    /// The normalised error (error over the signal's error scale) that scores 0.5.
    pub half_score_at: f32,
    /// Floor under each signal's error scale, in standard deviations of that signal: a model
    /// that forecast its training data almost perfectly would otherwise call tiny wobbles
    /// anomalies.
    pub min_error_scale: f32,
}

impl LstmConfig {
    /// A configuration with the defaults for everything but the family and its width.
    pub fn new(family: impl Into<String>, signals: usize) -> LstmConfig {
        LstmConfig {
            family: family.into(),
            signals,
            hidden: 16,
            seed: 1,
            half_score_at: 4.0,
            min_error_scale: 0.1,
        }
    }

    fn validate(&self) -> Result<(), LstmError> {
        let bad = |m: String| Err(LstmError::Config(m));
        if self.signals == 0 || self.signals > 4096 {
            return bad(format!("signals must be 1..=4096, got {}", self.signals));
        }
        if self.hidden == 0 || self.hidden > 4096 {
            return bad(format!("hidden must be 1..=4096, got {}", self.hidden));
        }
        if !(self.half_score_at.is_finite() && self.half_score_at > 0.0) {
            return bad(format!(
                "half_score_at must be positive, got {}",
                self.half_score_at
            ));
        }
        if !(self.min_error_scale.is_finite() && self.min_error_scale > 0.0) {
            return bad(format!(
                "min_error_scale must be positive, got {}",
                self.min_error_scale
            ));
        }
        Ok(())
    }
}

/// How [`LstmModel::train`] fits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainParams {
    /// Passes over all training chunks.
    pub epochs: usize,
    /// Adam's learning rate.
    pub learning_rate: f64,
    /// Forecast steps per training chunk (truncated back-propagation through time): sequences
    /// are cut into chunks of `chunk + 1` windows, each run from a zero state.
    pub chunk: usize,
    /// Chunks per optimiser step.
    pub batch: usize,
    /// Gradients are scaled down to this L2 norm when larger (LSTM training is prone to spikes).
    pub clip_norm: f64,
}

impl Default for TrainParams {
    fn default() -> TrainParams {
        TrainParams {
            epochs: 30,
            learning_rate: 0.01,
            chunk: 32,
            batch: 32,
            clip_norm: 1.0,
        }
    }
}

/// What a training run did: mean squared forecast error (in standard deviations squared) over
/// all training chunks before the first step and after the last.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainReport {
    pub loss_before: f64,
    pub loss_after: f64,
    /// Chunks the sequences were cut into.
    pub chunks: usize,
    /// Optimiser steps taken.
    pub steps: usize,
}

/// Limits libtorch to one thread for its parallel regions; see the module notes on threads.
pub fn use_one_thread() {
    tch::set_num_threads(1);
}

const OPTS: (Kind, Device) = (Kind::Float, Device::Cpu);
/// Chunks per forward pass when measuring the training error.
const EVAL_BATCH: usize = 1024;

/// One family's forecaster: a single-layer LSTM (F inputs, H hidden) and a linear head from the
/// hidden state to the next window's F normalised signals. `Send`, not `Sync`: a shard owns it.
pub struct LstmModel {
    config: LstmConfig,
    /// Trainable: `[4H, F]`, `[4H, H]`, `[4H]`, `[4H]` (gates in PyTorch's i, f, g, o order),
    /// then the head `[F, H]`, `[F]`.
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor,
    b_hh: Tensor,
    head_w: Tensor,
    head_b: Tensor,
    /// Normalisation (of the signed-log values) and per-signal error scale, each `[F]`.
    mean: Tensor,
    std: Tensor,
    err_scale: Tensor,
    /// The cell's weights in the layout [`LstmModel::tick`] uses, derived from the four above
    /// by [`LstmModel::refresh_cell`]: `[4, F + H + 1, H]`, gate k's input, recurrent and bias
    /// weights (bias as the last input row), the g gate's doubled (see `tick`).
    cell: Tensor,
}

impl fmt::Debug for LstmModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LstmModel")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Names of the tensors in the saved file, in [`LstmModel::tensors`] order.
const NAMES: [&str; 9] = [
    "w_ih",
    "w_hh",
    "b_ih",
    "b_hh",
    "head_w",
    "head_b",
    "mean",
    "std",
    "err_scale",
];
const META: &str = "meta";

#[derive(Debug, Serialize, Deserialize)]
struct Meta {
    format: u32,
    config: LstmConfig,
}

/// `sign(x)·ln(1+|x|)`.
fn signed_log(x: &Tensor) -> Result<Tensor, TchError> {
    x.f_sign()?.f_mul(&x.f_abs()?.f_log1p()?)
}

fn signed_log_f64(x: f32) -> f64 {
    let x = f64::from(x);
    x.signum() * x.abs().ln_1p()
}

impl LstmModel {
    /// An untrained model: weights uniform in ±1/√H (PyTorch's LSTM default) from the seeded
    /// RNG, identity normalisation, error scale 1.
    pub fn new(config: LstmConfig) -> Result<LstmModel, LstmError> {
        config.validate()?;
        let (f, h) = (config.signals as i64, config.hidden as i64);
        let mut rng = SmallRng::seed_from_u64(config.seed);
        let bound = 1.0 / (config.hidden as f32).sqrt();
        let mut param = |dims: &[i64]| -> Result<Tensor, TchError> {
            let n: i64 = dims.iter().product();
            let v: Vec<f32> = (0..n).map(|_| rng.gen_range(-bound..bound)).collect();
            Tensor::f_from_slice(&v)?
                .f_view(dims)?
                .f_set_requires_grad(true)
        };
        let w_ih = param(&[4 * h, f])?;
        let w_hh = param(&[4 * h, h])?;
        let b_ih = param(&[4 * h])?;
        let b_hh = param(&[4 * h])?;
        let head_w = param(&[f, h])?;
        let head_b = param(&[f])?;
        let mut model = LstmModel {
            w_ih,
            w_hh,
            b_ih,
            b_hh,
            head_w,
            head_b,
            mean: Tensor::f_zeros([f], OPTS)?,
            std: Tensor::f_ones([f], OPTS)?,
            err_scale: Tensor::f_ones([f], OPTS)?,
            cell: Tensor::f_zeros([4, f + h + 1, h], OPTS)?,
            config,
        };
        model.refresh_cell()?;
        Ok(model)
    }

    /// Rebuilds `cell` from the trainable weights (after init, training and loading).
    ///
    /// The tick computes all four gates as one contiguous `[4, N, H]` block (four matrix
    /// products of `[z, h, 1]`, bias included) so that every pointwise op runs over whole
    /// contiguous tensors, vectorised; libtorch's `lstm_cell` works on `[N, 4H]` rows whose
    /// gate slices are 16 floats wide, too narrow for its vector loops. All four gates then go
    /// through one sigmoid: the g gate's weights are doubled, since `tanh(x) = 2σ(2x) − 1`.
    fn refresh_cell(&mut self) -> Result<(), TchError> {
        let (f, h) = (self.config.signals as i64, self.config.hidden as i64);
        self.cell = tch::no_grad(|| -> Result<Tensor, TchError> {
            let bias = self.b_ih.f_add(&self.b_hh)?.f_unsqueeze(1)?;
            let full = Tensor::f_cat(&[&self.w_ih, &self.w_hh, &bias], 1)?; // [4H, F+H+1]
            let _ = full.f_narrow(0, 2 * h, h)?.f_mul_scalar_(2.0)?;
            full.f_view([4, h, f + h + 1])?
                .f_transpose(1, 2)?
                .f_contiguous()
        })?;
        Ok(())
    }

    pub fn config(&self) -> &LstmConfig {
        &self.config
    }

    /// Signals per window (F).
    pub fn signals(&self) -> usize {
        self.config.signals
    }

    fn trainable(&self) -> [&Tensor; 6] {
        [
            &self.w_ih,
            &self.w_hh,
            &self.b_ih,
            &self.b_hh,
            &self.head_w,
            &self.head_b,
        ]
    }

    fn tensors(&self) -> [&Tensor; 9] {
        [
            &self.w_ih,
            &self.w_hh,
            &self.b_ih,
            &self.b_hh,
            &self.head_w,
            &self.head_b,
            &self.mean,
            &self.std,
            &self.err_scale,
        ]
    }

    /// Raw windows `[.., F]` to the model's normalised space.
    fn normalise(&self, x: &Tensor) -> Result<Tensor, TchError> {
        signed_log(x)?.f_sub(&self.mean)?.f_div(&self.std)
    }

    /// Checks raw values: finite, and a whole number of windows.
    fn check_windows(&self, values: &[f32], what: &str) -> Result<usize, LstmError> {
        let f = self.config.signals;
        if values.len() % f != 0 {
            return Err(LstmError::Input(format!(
                "{what}: {} values is not a whole number of {f}-signal windows",
                values.len()
            )));
        }
        if let Some(i) = values.iter().position(|v| !v.is_finite()) {
            return Err(LstmError::Input(format!(
                "{what}: value {i} (window {}, signal {}) is not finite: {}",
                i / f,
                i % f,
                values[i]
            )));
        }
        Ok(values.len() / f)
    }

    /// One batched step for the entities in `slots` (each allocated in `states`, no repeats):
    /// `inputs` holds their windows, `F` raw values each in slot order, and `scores` receives
    /// one score in 0..1 per slot (0 for a slot's first tick). See the module notes.
    pub fn tick(
        &self,
        states: &mut LstmStates,
        slots: &[u32],
        inputs: &[f32],
        scores: &mut [f32],
    ) -> Result<(), LstmError> {
        let (f, h) = (self.config.signals, self.config.hidden);
        if states.signals != f || states.hidden != h {
            return Err(LstmError::Input(format!(
                "states are for {} signals and hidden size {}, the model ({}) has {f} and {h}",
                states.signals, states.hidden, self.config.family
            )));
        }
        let n = slots.len();
        if inputs.len() != n * f {
            return Err(LstmError::Input(format!(
                "{n} slots need {} input values ({f} per window), got {}",
                n * f,
                inputs.len()
            )));
        }
        if scores.len() != n {
            return Err(LstmError::Input(format!(
                "{n} slots need {n} score places, got {}",
                scores.len()
            )));
        }
        self.check_windows(inputs, "tick")?;
        states.index_of(slots)?;
        if n == 0 {
            return Ok(());
        }
        tch::no_grad(|| -> Result<(), LstmError> {
            let idx = Tensor::f_from_slice(&states.idx)?;
            let x = Tensor::f_from_slice(inputs)?.f_view([n as i64, f as i64])?;
            let z = self.normalise(&x)?;
            // Score this window against the forecast made at the previous tick.
            let prev = states.forecast.f_index_select(0, &idx)?;
            let has = states.has_forecast.f_index_select(0, &idx)?;
            let r = z
                .f_sub(&prev)?
                .f_abs()?
                .f_div(&self.err_scale)?
                .f_amax([1i64], false)?;
            let r2 = r.f_square()?;
            let k2 = f64::from(self.config.half_score_at).powi(2);
            let s = r2.f_div(&r2.f_add_scalar(k2)?)?.f_mul(&has)?;
            // Advance the state (see `refresh_cell`) and forecast the next window.
            // The large intermediates go to the states' scratch tensors (first n rows): no
            // allocation of tens of MB per tick, which glibc would map and unmap each time.
            let (n64, h64) = (n as i64, h as i64);
            let sc = &states.scratch;
            let hx = sc.hx.f_narrow(0, 0, n64)?;
            let cx = sc.cx.f_narrow(0, 0, n64)?;
            let _ = states.h.f_index_select_out(&hx, 0, &idx)?;
            let _ = states.c.f_index_select_out(&cx, 0, &idx)?;
            let xh = sc.xh.f_narrow(0, 0, n64)?;
            let _ = Tensor::f_cat_out(&xh, &[&z, &hx, &sc.ones.f_narrow(0, 0, n64)?], 1)?;
            let mut gates = sc
                .gates
                .f_narrow(0, 0, 4 * n64 * h64)?
                .f_view([4, n64, h64])?;
            for k in 0..4 {
                let _ = xh.f_mm_out(&gates.f_get(k)?, &self.cell.f_get(k)?)?;
            }
            let _ = gates.f_sigmoid_()?;
            let (i, fg, mut g, o) = (
                gates.f_get(0)?,
                gates.f_get(1)?,
                gates.f_get(2)?,
                gates.f_get(3)?,
            );
            let _ = g.f_mul_scalar_(2.0)?.f_sub_scalar_(1.0)?;
            // c' = f·c + i·g, into cx; h' = o·tanh(c'), into hx.
            let mut c2 = cx;
            let _ = c2.f_mul_(&fg)?.f_addcmul_(&i, &g)?;
            let mut h2 = hx;
            let _ = c2.f_tanh_out(&h2)?;
            let _ = h2.f_mul_(&o)?;
            let next = h2.f_linear(&self.head_w, Some(&self.head_b))?;
            let _ = states.h.f_index_copy_(0, &idx, &h2)?;
            let _ = states.c.f_index_copy_(0, &idx, &c2)?;
            let _ = states.forecast.f_index_copy_(0, &idx, &next)?;
            let _ = states.has_forecast.f_index_fill_(0, &idx, 1.0)?;
            s.f_copy_data(scores, n)?;
            Ok(())
        })
    }

    /// Forecasts for whole chunks `[B, L, F]` (normalised) from a zero state: `[B, L, F]`, the
    /// forecast of window `t + 1` at position `t`.
    fn forecast_seq(&self, z: &Tensor, train: bool) -> Result<Tensor, TchError> {
        let b = z.size()[0];
        let h = self.config.hidden as i64;
        let h0 = Tensor::f_zeros([1, b, h], OPTS)?;
        let c0 = Tensor::f_zeros([1, b, h], OPTS)?;
        let params = [&self.w_ih, &self.w_hh, &self.b_ih, &self.b_hh];
        let (out, _, _) = z.f_lstm(&[&h0, &c0], &params, true, 1, 0.0, train, false, true)?;
        out.f_linear(&self.head_w, Some(&self.head_b))
    }

    /// Fits the model to `sequences`, each a run of consecutive windows of one entity (`F` raw
    /// values per window, at least two windows): refits the normalisation, trains with Adam on
    /// chunks (see [`TrainParams`]) and sets the error scales from the fitted model's errors.
    /// Starts from the current weights, so a trained model can be refitted on new samples;
    /// states ticked before hold forecasts in the old normalisation and should be reset. After
    /// an error the model may be half-fitted: keep using the previous one.
    pub fn train(
        &mut self,
        sequences: &[Vec<f32>],
        params: &TrainParams,
    ) -> Result<TrainReport, LstmError> {
        if params.epochs == 0 || params.chunk == 0 || params.batch == 0 {
            return Err(LstmError::Config(format!(
                "epochs, chunk and batch must be positive, got {}, {}, {}",
                params.epochs, params.chunk, params.batch
            )));
        }
        let positive = |x: f64| x.is_finite() && x > 0.0;
        if !positive(params.learning_rate) || !positive(params.clip_norm) {
            return Err(LstmError::Config(format!(
                "learning_rate and clip_norm must be positive, got {} and {}",
                params.learning_rate, params.clip_norm
            )));
        }
        let f = self.config.signals;
        let mut total = 0usize;
        for (i, s) in sequences.iter().enumerate() {
            let t = self.check_windows(s, &format!("sequence {i}"))?;
            if t >= 2 {
                total += t;
            }
        }
        if total == 0 {
            return Err(LstmError::Input(
                "no training sequence has two windows or more".into(),
            ));
        }
        self.fit_normalisation(sequences)?;

        // Chunks of `len = min(chunk + 1, T)` windows with stride `chunk` (consecutive chunks
        // share a window so every transition is learnt); a sequence's last chunk ends at its
        // end. Chunks of one length are batched together.
        let mut groups: std::collections::BTreeMap<usize, Vec<f32>> = Default::default();
        for s in sequences {
            let t = s.len() / f;
            if t < 2 {
                continue;
            }
            let len = (params.chunk + 1).min(t);
            let buf = groups.entry(len).or_default();
            let mut start = 0;
            loop {
                let start_c = start.min(t - len);
                buf.extend_from_slice(&s[start_c * f..(start_c + len) * f]);
                if start_c + len >= t {
                    break;
                }
                start += params.chunk;
            }
        }
        let mut data = Vec::with_capacity(groups.len());
        let mut chunks = 0;
        for (len, buf) in groups {
            let b = buf.len() / (len * f);
            chunks += b;
            let z = tch::no_grad(|| -> Result<Tensor, TchError> {
                let x = Tensor::f_from_slice(&buf)?.f_view([b as i64, len as i64, f as i64])?;
                self.normalise(&x)
            })?;
            let input = z.f_narrow(1, 0, len as i64 - 1)?;
            let target = z.f_narrow(1, 1, len as i64 - 1)?;
            data.push((input, target));
        }

        let loss_before = self.evaluate(&data)?.0;
        let mut opt = COptimizer::adam(params.learning_rate, 0.9, 0.999, 0.0, 1e-8, false)?;
        for p in self.trainable() {
            opt.add_parameters(p, 0)?;
        }
        let mut rng = SmallRng::seed_from_u64(self.config.seed ^ 0x5eed_1157);
        // (group, first chunk) of each batch, shuffled every epoch.
        let mut batches: Vec<(usize, usize)> = Vec::new();
        for (g, (input, _)) in data.iter().enumerate() {
            let b = input.size()[0] as usize;
            batches.extend((0..b).step_by(params.batch).map(|s| (g, s)));
        }
        let mut order: Vec<Vec<i64>> = data
            .iter()
            .map(|(input, _)| (0..input.size()[0]).collect())
            .collect();
        let mut steps = 0;
        for _ in 0..params.epochs {
            for o in order.iter_mut() {
                o.shuffle(&mut rng);
            }
            batches.shuffle(&mut rng);
            for &(g, s) in &batches {
                let ids = &order[g][s..(s + params.batch).min(order[g].len())];
                let ids = Tensor::f_from_slice(ids)?;
                let (input, target) = &data[g];
                let input = input.f_index_select(0, &ids)?;
                let target = target.f_index_select(0, &ids)?;
                let loss = self
                    .forecast_seq(&input, true)?
                    .f_mse_loss(&target, Reduction::Mean)?;
                opt.zero_grad()?;
                loss.f_backward()?;
                self.clip_gradients(params.clip_norm)?;
                opt.step()?;
                steps += 1;
            }
        }
        let (loss_after, per_signal) = self.evaluate(&data)?;
        let floor = f64::from(self.config.min_error_scale);
        let scale: Vec<f32> = per_signal
            .iter()
            .map(|&mse| mse.sqrt().max(floor) as f32)
            .collect();
        self.err_scale = Tensor::f_from_slice(&scale)?;
        self.refresh_cell()?;
        Ok(TrainReport {
            loss_before,
            loss_after,
            chunks,
            steps,
        })
    }

    /// Mean and standard deviation of the signed-log values, per signal, over every window.
    /// A constant signal gets deviation 1, so any change in it still shows.
    fn fit_normalisation(&mut self, sequences: &[Vec<f32>]) -> Result<(), LstmError> {
        let f = self.config.signals;
        let mut sum = vec![0f64; f];
        let mut sq = vec![0f64; f];
        let mut n = 0f64;
        for s in sequences {
            for w in s.chunks_exact(f) {
                for (j, &v) in w.iter().enumerate() {
                    let y = signed_log_f64(v);
                    sum[j] += y;
                    sq[j] += y * y;
                }
                n += 1.0;
            }
        }
        let mean: Vec<f32> = sum.iter().map(|s| (s / n) as f32).collect();
        let std: Vec<f32> = (0..f)
            .map(|j| {
                let m = sum[j] / n;
                let var = (sq[j] / n - m * m).max(0.0);
                if var.sqrt() < 1e-6 {
                    1.0
                } else {
                    var.sqrt() as f32
                }
            })
            .collect();
        self.mean = Tensor::f_from_slice(&mean)?;
        self.std = Tensor::f_from_slice(&std)?;
        Ok(())
    }

    /// Mean squared error over all chunks, overall and per signal.
    fn evaluate(&self, data: &[(Tensor, Tensor)]) -> Result<(f64, Vec<f64>), LstmError> {
        let f = self.config.signals;
        tch::no_grad(|| {
            let mut per = vec![0f64; f];
            let mut count = 0f64;
            for (input, target) in data {
                // A bounded number of chunks at a time: the LSTM's activations for a whole
                // reservoir would take memory in proportion to it.
                let b = input.size()[0];
                for start in (0..b).step_by(EVAL_BATCH) {
                    let len = (b - start).min(EVAL_BATCH as i64);
                    let err = self
                        .forecast_seq(&input.f_narrow(0, start, len)?, false)?
                        .f_sub(&target.f_narrow(0, start, len)?)?
                        .f_square()?;
                    let n = (err.numel() / f) as f64;
                    let sums = err.f_view([-1, f as i64])?.f_sum_dim_intlist(
                        &[0i64][..],
                        false,
                        Kind::Double,
                    )?;
                    let sums = Vec::<f64>::try_from(&sums)?;
                    for (p, s) in per.iter_mut().zip(sums) {
                        *p += s;
                    }
                    count += n;
                }
            }
            let per: Vec<f64> = per.iter().map(|s| s / count).collect();
            let all = per.iter().sum::<f64>() / f as f64;
            Ok((all, per))
        })
    }

    fn clip_gradients(&self, max: f64) -> Result<(), TchError> {
        tch::no_grad(|| {
            let mut sq = 0f64;
            let mut grads = Vec::with_capacity(6);
            for p in self.trainable() {
                let g = p.f_grad()?;
                if g.defined() {
                    sq += f64::try_from(&g.f_square()?.f_sum(Kind::Double)?)?;
                    grads.push(g);
                }
            }
            let norm = sq.sqrt();
            if norm.is_finite() && norm > max {
                for mut g in grads {
                    let _ = g.f_mul_scalar_(max / (norm + 1e-6))?;
                }
            }
            Ok(())
        })
    }

    /// Writes the model to `path` (safetensors), through a temporary file renamed in place so a
    /// reader never sees half a file.
    pub fn save(&self, path: &Path) -> Result<(), LstmError> {
        let meta = serde_json::to_vec(&Meta {
            format: FORMAT_VERSION,
            config: self.config.clone(),
        })
        .map_err(|e| LstmError::File {
            path: path.into(),
            reason: format!("cannot encode metadata: {e}"),
        })?;
        let mut named: Vec<(&str, Tensor)> = Vec::with_capacity(NAMES.len() + 1);
        for (name, t) in NAMES.iter().zip(self.tensors()) {
            named.push((name, t.f_detach()?));
        }
        named.push((META, Tensor::f_from_slice(&meta)?));
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        Tensor::write_safetensors(&named, &tmp)?;
        std::fs::rename(&tmp, path).map_err(|source| LstmError::Io {
            path: path.into(),
            source,
        })
    }

    /// Reads a model written by [`LstmModel::save`], checking the format version and every
    /// tensor's shape against the saved configuration.
    pub fn load(path: &Path) -> Result<LstmModel, LstmError> {
        let bad = |reason: String| LstmError::File {
            path: path.into(),
            reason,
        };
        if !path.is_file() {
            return Err(bad("no such file".into()));
        }
        let mut read = Tensor::read_safetensors(path)?;
        let mut take = |name: &str| -> Result<Tensor, LstmError> {
            let i = read
                .iter()
                .position(|(n, _)| n == name)
                .ok_or_else(|| bad(format!("no tensor {name:?}")))?;
            Ok(read.swap_remove(i).1)
        };
        let meta = take(META)?;
        if meta.kind() != Kind::Uint8 {
            return Err(bad(format!("{META} is {:?}, not bytes", meta.kind())));
        }
        let meta: Meta = serde_json::from_slice(&Vec::<u8>::try_from(&meta)?)
            .map_err(|e| bad(format!("bad metadata: {e}")))?;
        if meta.format != FORMAT_VERSION {
            return Err(bad(format!(
                "format version {}, this build reads {FORMAT_VERSION}",
                meta.format
            )));
        }
        // A fresh model of the saved shape gives the expected shapes; the file's values replace
        // its own.
        let mut model = LstmModel::new(meta.config).map_err(|e| bad(e.to_string()))?;
        let mut loaded = Vec::with_capacity(NAMES.len());
        for (name, want) in NAMES.iter().zip(model.tensors()) {
            let t = take(name)?;
            if t.kind() != Kind::Float || t.size() != want.size() {
                return Err(bad(format!(
                    "{name} is {:?} {:?}, expected Float {:?}",
                    t.kind(),
                    t.size(),
                    want.size()
                )));
            }
            let finite = t.f_isfinite()?.f_all()?;
            if !bool::try_from(&finite)? {
                return Err(bad(format!("{name} holds a value that is not finite")));
            }
            loaded.push(t);
        }
        let mut it = loaded.into_iter();
        let mut next = |grad: bool| -> Result<Tensor, LstmError> {
            let t = it.next().ok_or_else(|| bad("missing tensor".into()))?;
            Ok(if grad {
                t.f_set_requires_grad(true)?
            } else {
                t
            })
        };
        model.w_ih = next(true)?;
        model.w_hh = next(true)?;
        model.b_ih = next(true)?;
        model.b_hh = next(true)?;
        model.head_w = next(true)?;
        model.head_b = next(true)?;
        model.mean = next(false)?;
        model.std = next(false)?;
        model.err_scale = next(false)?;
        if bool::try_from(&model.std.f_le(0.0)?.f_any()?)?
            || bool::try_from(&model.err_scale.f_le(0.0)?.f_any()?)?
        {
            return Err(bad("std and err_scale must be positive".into()));
        }
        model.refresh_cell()?;
        Ok(model)
    }
}

/// Per-entity LSTM state for up to `capacity` entities of one family: hidden and cell state,
/// the forecast made at the entity's last tick and whether there is one. The shard maps its
/// entities to slots with [`LstmStates::allocate`] and [`LstmStates::free`].
pub struct LstmStates {
    signals: usize,
    hidden: usize,
    capacity: usize,
    h: Tensor,
    c: Tensor,
    forecast: Tensor,
    /// 1.0 where the slot has a forecast to score against, else 0.0; `[capacity]`.
    has_forecast: Tensor,
    in_use: Vec<bool>,
    /// Free slots, the lowest last (allocated first).
    free: Vec<u32>,
    /// Tick number at which a slot was last named, to refuse repeats in one tick.
    seen: Vec<u32>,
    ticks: u32,
    /// The slots of the current tick as libtorch indices (kept to reuse its allocation).
    idx: Vec<i64>,
    scratch: Scratch,
}

/// Work tensors of a tick, sized for a tick of every slot; a tick uses the first rows.
struct Scratch {
    /// `[capacity, H]`: the gathered hidden and cell states, then the new ones.
    hx: Tensor,
    cx: Tensor,
    /// `[capacity, 1]` of ones (the bias input) and `[capacity, F + H + 1]`: `[z, h, 1]`.
    ones: Tensor,
    xh: Tensor,
    /// `4 · capacity · H`, viewed as `[4, n, H]`: the gates.
    gates: Tensor,
}

impl fmt::Debug for LstmStates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LstmStates")
            .field("signals", &self.signals)
            .field("hidden", &self.hidden)
            .field("capacity", &self.capacity)
            .field("in_use", &(self.capacity - self.free.len()))
            .finish_non_exhaustive()
    }
}

impl LstmStates {
    /// Room for `capacity` entities of `model`'s family, all slots free. Memory:
    /// `capacity · (2H + F + 1) · 4` bytes of state, `capacity · (7H + F + 2) · 4` bytes of
    /// scratch for the ticks, plus 9 bytes a slot (for H = 16, F = 7: 653 bytes an entity).
    pub fn new(model: &LstmModel, capacity: usize) -> Result<LstmStates, LstmError> {
        if capacity == 0 || capacity > u32::MAX as usize {
            return Err(LstmError::Config(format!(
                "capacity must be 1..={}, got {capacity}",
                u32::MAX
            )));
        }
        let (f, h, n) = (model.config.signals, model.config.hidden, capacity as i64);
        Ok(LstmStates {
            signals: f,
            hidden: h,
            capacity,
            h: Tensor::f_zeros([n, h as i64], OPTS)?,
            c: Tensor::f_zeros([n, h as i64], OPTS)?,
            forecast: Tensor::f_zeros([n, f as i64], OPTS)?,
            has_forecast: Tensor::f_zeros([n], OPTS)?,
            in_use: vec![false; capacity],
            free: (0..capacity as u32).rev().collect(),
            seen: vec![0; capacity],
            ticks: 0,
            idx: Vec::new(),
            scratch: Scratch {
                hx: Tensor::f_zeros([n, h as i64], OPTS)?,
                cx: Tensor::f_zeros([n, h as i64], OPTS)?,
                ones: Tensor::f_ones([n, 1], OPTS)?,
                xh: Tensor::f_zeros([n, (f + h + 1) as i64], OPTS)?,
                gates: Tensor::f_zeros([4 * n * h as i64], OPTS)?,
            },
        })
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Slots allocated now.
    pub fn in_use(&self) -> usize {
        self.capacity - self.free.len()
    }

    /// A free slot, in the fresh state (zero state, no forecast).
    pub fn allocate(&mut self) -> Result<u32, LstmError> {
        let slot = self.free.pop().ok_or(LstmError::Full(self.capacity))?;
        self.in_use[slot as usize] = true;
        Ok(slot)
    }

    /// Returns `slot` to the free list, reset.
    pub fn free(&mut self, slot: u32) -> Result<(), LstmError> {
        self.reset(slot)?;
        self.in_use[slot as usize] = false;
        self.free.push(slot);
        Ok(())
    }

    /// Puts an allocated slot back in the fresh state: the entity starts over (its next tick
    /// scores 0).
    pub fn reset(&mut self, slot: u32) -> Result<(), LstmError> {
        self.check(slot)?;
        tch::no_grad(|| -> Result<(), TchError> {
            let idx = Tensor::f_from_slice(&[i64::from(slot)])?;
            let _ = self.h.f_index_fill_(0, &idx, 0.0)?;
            let _ = self.c.f_index_fill_(0, &idx, 0.0)?;
            let _ = self.forecast.f_index_fill_(0, &idx, 0.0)?;
            let _ = self.has_forecast.f_index_fill_(0, &idx, 0.0)?;
            Ok(())
        })?;
        Ok(())
    }

    fn check(&self, slot: u32) -> Result<(), LstmError> {
        match self.in_use.get(slot as usize) {
            Some(true) => Ok(()),
            Some(false) => Err(LstmError::Input(format!("slot {slot} is not allocated"))),
            None => Err(LstmError::Input(format!(
                "slot {slot} is out of range (capacity {})",
                self.capacity
            ))),
        }
    }

    /// Validates a tick's slots (allocated, no repeats) into `self.idx`.
    fn index_of(&mut self, slots: &[u32]) -> Result<(), LstmError> {
        self.ticks = self.ticks.wrapping_add(1);
        if self.ticks == 0 {
            self.seen.fill(0);
            self.ticks = 1;
        }
        self.idx.clear();
        for &s in slots {
            self.check(s)?;
            let seen = &mut self.seen[s as usize];
            if *seen == self.ticks {
                return Err(LstmError::Input(format!(
                    "slot {s} appears twice in one tick"
                )));
            }
            *seen = self.ticks;
            self.idx.push(i64::from(s));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const F: usize = 4;

    /// Deterministic noise in -1..1 (xorshift).
    struct Noise(u64);
    impl Noise {
        fn next(&mut self) -> f32 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        }
    }

    /// One window of a clean periodic family at step `t` (phase `p`): event count, error
    /// count, a metric mean and a metric max, with periods 12, 8 and 24 and a little noise.
    fn window(t: usize, p: usize, noise: &mut Noise) -> [f32; F] {
        let a = |period: f32| ((t + p) as f32 * std::f32::consts::TAU / period).sin();
        [
            100.0 + 50.0 * a(12.0) + 3.0 * noise.next(),
            5.0 + 3.0 * a(8.0) + 0.3 * noise.next(),
            40.0 + 20.0 * a(24.0) + noise.next(),
            70.0 + 20.0 * a(24.0) + 10.0 * a(12.0) + noise.next(),
        ]
    }

    fn sequence(len: usize, phase: usize, seed: u64) -> Vec<f32> {
        let mut noise = Noise(seed | 1);
        (0..len)
            .flat_map(|t| window(t, phase, &mut noise))
            .collect()
    }

    fn training_set() -> Vec<Vec<f32>> {
        (0..8)
            .map(|i| sequence(240, i * 5, 100 + i as u64))
            .collect()
    }

    fn params() -> TrainParams {
        TrainParams {
            epochs: 60,
            learning_rate: 0.02,
            chunk: 24,
            batch: 16,
            clip_norm: 1.0,
        }
    }

    fn trained() -> (LstmModel, TrainReport) {
        use_one_thread();
        let mut m = LstmModel::new(LstmConfig::new("test", F)).unwrap();
        let report = m.train(&training_set(), &params()).unwrap();
        (m, report)
    }

    /// Scores of one entity over `windows` (fresh slot).
    fn run(m: &LstmModel, windows: &[f32]) -> Vec<f32> {
        let mut st = LstmStates::new(m, 4).unwrap();
        let slot = st.allocate().unwrap();
        windows
            .chunks_exact(F)
            .map(|w| {
                let mut s = [0f32];
                m.tick(&mut st, &[slot], w, &mut s).unwrap();
                s[0]
            })
            .collect()
    }

    #[test]
    fn training_lowers_the_loss() {
        let (_, r) = trained();
        assert!(r.steps > 0 && r.chunks > 0, "{r:?}");
        assert!(
            r.loss_after < r.loss_before * 0.3,
            "loss {} -> {}",
            r.loss_before,
            r.loss_after
        );
    }

    #[test]
    fn training_is_deterministic_for_a_seed() {
        let (a, ra) = trained();
        let (b, rb) = trained();
        assert_eq!(ra, rb);
        let data = sequence(60, 3, 9);
        assert_eq!(run(&a, &data), run(&b, &data));
        let mut other = LstmConfig::new("test", F);
        other.seed = 2;
        let mut c = LstmModel::new(other).unwrap();
        let rc = c.train(&training_set(), &params()).unwrap();
        assert_ne!(ra.loss_after, rc.loss_after);
    }

    #[test]
    fn clean_data_scores_low_and_a_spike_or_step_scores_high() {
        let (m, _) = trained();
        // Continued clean data, at a phase and noise not seen in training.
        let clean = sequence(200, 7, 4242);
        let scores = run(&m, &clean);
        assert_eq!(scores[0], 0.0, "first tick has no forecast");
        let worst = scores[10..].iter().cloned().fold(0f32, f32::max);
        assert!(worst < 0.5, "clean data scored up to {worst}");

        // A spike in the error count (5 -> 60) at window 120.
        let mut spiked = clean.clone();
        spiked[120 * F + 1] = 60.0;
        let s = run(&m, &spiked);
        assert!(s[120] > 0.5, "spike scored {}", s[120]);
        assert!(s[100..120].iter().all(|&x| x < 0.5));
        // The spike disturbs the hidden state for a few windows only.
        let after = s[130..].iter().cloned().fold(0f32, f32::max);
        assert!(after < 0.5, "still {after} ten windows after the spike");

        // A step in the metric mean (+60) from window 150 on.
        let mut stepped = clean.clone();
        for t in 150..200 {
            stepped[t * F + 2] += 60.0;
        }
        let s = run(&m, &stepped);
        assert!(s[150] > 0.5, "step scored {}", s[150]);
    }

    #[test]
    fn save_then_load_gives_identical_scores() {
        let (m, _) = trained();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("test.lstm.safetensors");
        m.save(&path).unwrap();
        let back = LstmModel::load(&path).unwrap();
        assert_eq!(back.config(), m.config());
        let mut data = sequence(80, 11, 77);
        data[50 * F] = 900.0;
        let (a, b) = (run(&m, &data), run(&back, &data));
        assert_eq!(a, b);
        assert!(a[50] > 0.5);
    }

    #[test]
    fn bad_files_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("none.safetensors");
        assert!(matches!(
            LstmModel::load(&missing),
            Err(LstmError::File { .. })
        ));
        let junk = dir.path().join("junk.safetensors");
        std::fs::write(&junk, b"not a safetensors file").unwrap();
        assert!(LstmModel::load(&junk).is_err());
        // A file of another shape: valid safetensors without our tensors.
        let other = dir.path().join("other.safetensors");
        Tensor::write_safetensors(&[("x", Tensor::from_slice(&[1f32]))], &other).unwrap();
        let e = LstmModel::load(&other).unwrap_err().to_string();
        assert!(e.contains("no tensor"), "{e}");
    }

    #[test]
    fn state_is_per_entity_and_reset_restarts_it() {
        let m = LstmModel::new(LstmConfig::new("test", F)).unwrap();
        let mut st = LstmStates::new(&m, 8).unwrap();
        let a = st.allocate().unwrap();
        let b = st.allocate().unwrap();
        assert_ne!(a, b);
        let wa = sequence(20, 0, 1);
        let wb = sequence(20, 9, 2);
        // B alone.
        let mut alone = LstmStates::new(&m, 8).unwrap();
        let _ = alone.allocate().unwrap();
        let b_alone = alone.allocate().unwrap();
        let mut expect = Vec::new();
        for w in wb.chunks_exact(F) {
            let mut s = [0f32];
            m.tick(&mut alone, &[b_alone], w, &mut s).unwrap();
            expect.push(s[0]);
        }
        // B ticked together with A, and A ticked alone in between: B's scores do not move.
        let mut got = Vec::new();
        for (t, (x, y)) in wa.chunks_exact(F).zip(wb.chunks_exact(F)).enumerate() {
            let mut s = [0f32; 2];
            let both: Vec<f32> = y.iter().chain(x).copied().collect();
            m.tick(&mut st, &[b, a], &both, &mut s).unwrap();
            got.push(s[0]);
            if t % 3 == 0 {
                m.tick(&mut st, &[a], x, &mut s[..1]).unwrap();
            }
        }
        // Equal up to float rounding (a batch of two takes another matrix-product path than a
        // batch of one); a leak of A's state into B would move them by far more.
        for (g, e) in got.iter().zip(&expect) {
            assert!((g - e).abs() < 1e-5, "{got:?} vs {expect:?}");
        }
        assert!(expect[1..].iter().any(|&s| s > 0.0));

        // After a reset A scores as a fresh slot: 0 first, then the same as a new entity.
        st.reset(a).unwrap();
        let fresh = run(&m, &wa[..3 * F]);
        let mut again = Vec::new();
        for w in wa[..3 * F].chunks_exact(F) {
            let mut s = [0f32];
            m.tick(&mut st, &[a], w, &mut s).unwrap();
            again.push(s[0]);
        }
        assert_eq!(again, fresh);
        assert_eq!(again[0], 0.0);
    }

    #[test]
    fn ticks_match_the_sequence_forward_pass() {
        // The batched step (lstm_cell) and training's sequence op (lstm) are the same network.
        let m = LstmModel::new(LstmConfig::new("test", F)).unwrap();
        let data = sequence(10, 2, 5);
        let mut st = LstmStates::new(&m, 1).unwrap();
        let slot = st.allocate().unwrap();
        let mut s = [0f32];
        for w in data.chunks_exact(F) {
            m.tick(&mut st, &[slot], w, &mut s).unwrap();
        }
        let stepped = Vec::<f32>::try_from(&st.forecast.get(0)).unwrap();
        let seq = tch::no_grad(|| {
            let x = Tensor::from_slice(&data).view([1, 10, F as i64]);
            m.forecast_seq(&m.normalise(&x).unwrap(), false).unwrap()
        });
        let last = Vec::<f32>::try_from(&seq.get(0).get(9)).unwrap();
        for (p, q) in stepped.iter().zip(&last) {
            assert!((p - q).abs() < 1e-5, "{stepped:?} vs {last:?}");
        }
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        let m = LstmModel::new(LstmConfig::new("test", F)).unwrap();
        let mut st = LstmStates::new(&m, 2).unwrap();
        let a = st.allocate().unwrap();
        let w = [1f32; F];
        let mut s = [0f32; 2];
        let tick = |st: &mut LstmStates, slots: &[u32], x: &[f32], s: &mut [f32]| {
            m.tick(st, slots, x, s).unwrap_err().to_string()
        };
        assert!(tick(&mut st, &[a], &w[..3], &mut s[..1]).contains("input values"));
        assert!(tick(&mut st, &[a], &w, &mut s).contains("score places"));
        assert!(tick(&mut st, &[1], &w, &mut s[..1]).contains("not allocated"));
        assert!(tick(&mut st, &[7], &w, &mut s[..1]).contains("out of range"));
        let two = [1f32; 2 * F];
        assert!(tick(&mut st, &[a, a], &two, &mut s).contains("twice"));
        let mut nan = w;
        nan[2] = f32::NAN;
        assert!(tick(&mut st, &[a], &nan, &mut s[..1]).contains("not finite"));
        let _b = st.allocate().unwrap();
        assert!(matches!(st.allocate(), Err(LstmError::Full(2))));
        st.free(a).unwrap();
        assert_eq!(st.allocate().unwrap(), a);

        let other = LstmModel::new(LstmConfig::new("other", F + 1)).unwrap();
        let mut wrong = LstmStates::new(&other, 1).unwrap();
        let slot = wrong.allocate().unwrap();
        assert!(tick(&mut wrong, &[slot], &w, &mut s[..1]).contains("states are for"));

        assert!(LstmModel::new(LstmConfig::new("x", 0)).is_err());
        let mut m2 = LstmModel::new(LstmConfig::new("test", F)).unwrap();
        assert!(m2.train(&[vec![1.0; F]], &params()).is_err(), "one window");
        assert!(m2.train(&[vec![1.0; F + 1]], &params()).is_err(), "ragged");
        let p = TrainParams {
            epochs: 0,
            ..params()
        };
        assert!(m2.train(&training_set(), &p).is_err());
    }

    #[test]
    fn model_is_send() {
        fn send<T: Send>() {}
        send::<LstmModel>();
        send::<LstmStates>();
    }
}
