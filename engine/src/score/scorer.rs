//! One scorer shard's state and work, free of actors so the live pipeline, `tocsin replay` and
//! the tests run the same code: per entity its windows, its detectors' state and its current
//! score; per event the entity's score stamped on it; per closed window the ensemble, and an
//! [`Anomaly`] when it crosses the threshold.
//!
//! Windows close on event time. The shard's watermark is the highest event time it has seen;
//! every time it passes a window boundary every entity's windows up to it (less the allowed
//! lateness) are closed and scored together (the window tick), idle entities expire, and the
//! number of entities is capped by evicting the least recently seen.

use std::collections::HashMap;
use std::sync::Arc;

use smallvec::SmallVec;

use super::anomaly::{Anomaly, AnomalyKind, DetectorParts, EventScore, TopSignal};
use super::models::{Models, FEATURES};
use super::rules::{RuleSet, RuleState};
use super::stats::{squash, CountBurst, Ewma, RareCodes};
use super::window::{EntityWindows, Signals, WindowSpec};
use crate::schema::{Event, Symbol};

/// How a shard scores.
#[derive(Debug, Clone)]
pub struct ScorerSettings {
    pub window: WindowSpec,
    /// Most entities the shard keeps; past it the least recently seen are evicted (counted).
    pub max_entities: usize,
    /// An entity with no event for this long (event time) is forgotten.
    pub idle_expiry_ms: i64,
    /// Ensemble score from which a window is an anomaly.
    pub threshold: f64,
    /// Weights (0..1) of statistics, rules, forest, lstm and rare codes.
    pub weights: [f64; 5],
    /// After an anomaly, windows during which the same entity's anomalies of the same kind are
    /// not reported again (one lasting problem is one anomaly, not one per window).
    pub refractory_windows: u32,
    /// Windows an entity must have had before its statistics score.
    pub warmup_windows: u64,
    pub rules: Arc<RuleSet>,
}

impl Default for ScorerSettings {
    fn default() -> ScorerSettings {
        ScorerSettings {
            window: WindowSpec::default(),
            max_entities: 100_000,
            idle_expiry_ms: 3_600_000,
            threshold: 0.7,
            weights: [1.0, 1.0, 0.6, 0.6, 0.5],
            refractory_windows: 6,
            warmup_windows: 12,
            rules: Arc::new(RuleSet::default()),
        }
    }
}

/// What a shard has done, for `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ScorerCounters {
    /// Entities kept now.
    pub entities: u64,
    /// Entities forgotten to stay within `max_entities`.
    pub evicted: u64,
    /// Entities forgotten after `idle_expiry_ms` without events.
    pub expired: u64,
    /// Events older than their entity's open windows (scored, not windowed).
    pub late: u64,
    /// Events without an entity (passed on unscored).
    pub no_entity: u64,
    /// Windows scored.
    pub windows: u64,
    /// Anomalies emitted.
    pub anomalies: u64,
    /// Anomalies not emitted because the same one was reported within the refractory period.
    pub suppressed: u64,
    /// Windows the LSTM did not score: no free state slot, or libtorch failed.
    pub lstm_skipped: u64,
}

/// How far ahead of the wall clock an event's time may move the shard's clock: a device whose
/// clock runs fast must not close every other entity's windows early.
const FUTURE_SLACK_MS: i64 = 5 * 60_000;

/// Signals scored by count detectors, in [`EntityState::counts`] order.
const COUNT_SIGNALS: [&str; 5] = [
    "events",
    "failures",
    "denies",
    "auth_failures",
    "distinct_sources",
];
/// Metrics an entity's statistics follow.
const MAX_ENTITY_METRICS: usize = 4;
/// Event codes an entity remembers.
const MAX_CODES: usize = 64;
/// Events an entity must have produced before its silence counts.
const SILENCE_MIN_EVENTS: u64 = 50;
/// Events an entity's own rate expects over a gap before the gap is a silence.
const SILENCE_EXPECTED: f64 = 10.0;
/// Events an entity must have produced before a new code counts as unusual.
const CODE_WARMUP: u64 = 200;

/// One entity's state: a few hundred bytes plus its open windows and codes.
#[derive(Debug, Clone)]
struct EntityState {
    windows: EntityWindows,
    rules: RuleState,
    class: Symbol,
    counts: [CountBurst; 5],
    metrics: SmallVec<[(Symbol, Ewma); 2]>,
    /// The first two metric names seen: features `metric_1` and `metric_2` of the forest.
    metric_slots: [Option<Symbol>; 2],
    codes: RareCodes,
    /// The most unusual code in the current window.
    rare: (f32, Option<Symbol>),
    /// The last scored window's score, stamped on the entity's events.
    current: EventScore,
    last_seen_ms: i64,
    windows_scored: u64,
    /// Windows left in each kind's refractory period.
    quiet: [u32; 7],
    /// Events seen and when the first was: the entity's usual rate, for silence.
    events_total: u64,
    first_seen_ms: i64,
    /// Reported silent; cleared by its next event.
    silent: bool,
    /// The entity's slot in the shard's LSTM states, once it has one.
    lstm_slot: Option<u32>,
}

impl EntityState {
    fn new(settings: &ScorerSettings, class: Symbol) -> EntityState {
        let count = CountBurst::new(0.05, settings.warmup_windows);
        EntityState {
            windows: EntityWindows::new(settings.window),
            rules: settings.rules.state(),
            class,
            counts: [
                count.clone(),
                count.clone(),
                count.clone(),
                count.clone(),
                count,
            ],
            metrics: SmallVec::new(),
            metric_slots: [None, None],
            codes: RareCodes::new(CODE_WARMUP, MAX_CODES),
            rare: (0.0, None),
            current: EventScore::default(),
            last_seen_ms: i64::MIN,
            windows_scored: 0,
            quiet: [0; 7],
            events_total: 0,
            first_seen_ms: i64::MAX,
            silent: false,
            lstm_slot: None,
        }
    }
}

/// One shard's entities and detectors.
#[derive(Debug)]
pub struct Scorer {
    settings: ScorerSettings,
    models: Arc<Models>,
    entities: HashMap<Symbol, EntityState, rustc_hash::FxBuildHasher>,
    /// Highest event time seen by the shard.
    watermark: i64,
    /// Start of the window the last tick closed up to.
    ticked_to: i64,
    /// Event times past this (wall clock plus [`FUTURE_SLACK_MS`]) do not move the clock.
    future_limit: i64,
    closed: Vec<Signals>,
    /// Windows closed since the last tick, scored together at the next one (one batch for the
    /// detectors that score many entities at once).
    pending: Vec<(Symbol, Signals)>,
    counters: ScorerCounters,
    /// The shard's LSTM forecaster and its entities' states, once a model is trained.
    #[cfg(feature = "lstm")]
    lstm: Option<LstmSide>,
}

/// A shard's LSTM: the model of the window family and a state slot per entity.
#[cfg(feature = "lstm")]
#[derive(Debug)]
struct LstmSide {
    model: super::lstm::LstmModel,
    states: super::lstm::LstmStates,
    version: u64,
}

impl Scorer {
    pub fn new(settings: ScorerSettings, models: Arc<Models>) -> Scorer {
        Scorer {
            settings,
            models,
            entities: HashMap::default(),
            watermark: i64::MIN,
            ticked_to: i64::MIN,
            future_limit: i64::MAX,
            closed: Vec::new(),
            pending: Vec::new(),
            counters: ScorerCounters::default(),
            #[cfg(feature = "lstm")]
            lstm: None,
        }
    }

    /// Puts `model` in use for this shard's windows from the next tick (between batches: the
    /// shard's own thread calls this). Every entity starts its LSTM state afresh (the new
    /// model normalises differently). States for `max_entities` entities are taken now.
    #[cfg(feature = "lstm")]
    pub fn set_lstm(
        &mut self,
        model: super::lstm::LstmModel,
        version: u64,
    ) -> Result<(), super::lstm::LstmError> {
        let states = super::lstm::LstmStates::new(&model, self.settings.max_entities.max(1))?;
        for s in self.entities.values_mut() {
            s.lstm_slot = None;
        }
        self.lstm = Some(LstmSide {
            model,
            states,
            version,
        });
        Ok(())
    }

    /// The version of the LSTM in use.
    pub fn lstm_version(&self) -> Option<u64> {
        #[cfg(feature = "lstm")]
        {
            self.lstm.as_ref().map(|l| l.version)
        }
        #[cfg(not(feature = "lstm"))]
        {
            None
        }
    }

    pub fn counters(&self) -> ScorerCounters {
        ScorerCounters {
            entities: self.entities.len() as u64,
            ..self.counters
        }
    }

    pub fn settings(&self) -> &ScorerSettings {
        &self.settings
    }

    /// The highest event time the shard has seen (`i64::MIN` before any).
    pub fn watermark(&self) -> i64 {
        self.watermark
    }

    /// Scores a batch in place: each event gets its entity's score; windows that close emit
    /// anomalies into `out`.
    pub fn score_batch(&mut self, events: &mut [Event], out: &mut Vec<Anomaly>) {
        self.future_limit = crate::clock::now_ms().saturating_add(FUTURE_SLACK_MS);
        for e in events.iter_mut() {
            self.score_event(e, out);
        }
    }

    /// Scores one event (the window tick is [`Scorer::tick`]).
    pub fn score_event(&mut self, e: &mut Event, out: &mut Vec<Anomaly>) {
        let Some(entity) = e.entity.or(e.device.hostname) else {
            self.counters.no_entity += 1;
            return;
        };
        e.entity = Some(entity);
        if !self.entities.contains_key(&entity) && self.entities.len() >= self.settings.max_entities
        {
            self.evict();
        }
        let settings = &self.settings;
        let state = self.entities.entry(entity).or_insert_with(|| {
            let class = e.product.or(e.vendor).unwrap_or(Symbol::intern("unknown"));
            EntityState::new(settings, class)
        });
        state.last_seen_ms = state.last_seen_ms.max(e.time);
        state.first_seen_ms = state.first_seen_ms.min(e.time);
        state.events_total += 1;
        state.silent = false;
        // A new or rare event code counts for the window it falls in.
        if let Some(code) = e.event_code {
            let s = state.codes.score(code) as f32;
            if s > state.rare.0 {
                state.rare = (s, Some(code));
            }
        }
        self.closed.clear();
        if state.windows.add(e, &mut self.closed) == super::window::Added::Late {
            self.counters.late += 1;
        }
        let mut score = state.current;
        score.parts.0[DetectorParts::RARE_CODES] =
            score.parts.0[DetectorParts::RARE_CODES].max(state.rare.0);
        score.score = score.parts.combine(&self.settings.weights) as f32;
        e.score = Some(score);
        self.pending
            .extend(self.closed.drain(..).map(|w| (entity, w)));
        if e.time > self.watermark && e.time <= self.future_limit {
            self.watermark = e.time;
            // The window tick, when the watermark enters a new window: decided by the events
            // alone, not by where batches happen to end, so the same input gives the same
            // anomalies.
            let len = self.settings.window.len_ms.max(1);
            if self.ticked_to == i64::MIN || e.time.div_euclid(len) * len > self.ticked_to {
                self.tick_with(e.time, true, out);
            }
        }
    }

    /// The window tick: once the watermark has passed a window boundary, closes every entity's
    /// windows up to it (less the lateness), scores them, and forgets idle entities.
    ///
    /// Called from outside (the shard's idle clock, when no events come) it reports no
    /// silence: when every entity stops at once it is the input that stopped, not each device.
    pub fn tick(&mut self, now: i64, out: &mut Vec<Anomaly>) {
        self.tick_with(now, false, out);
    }

    fn tick_with(&mut self, now: i64, silence: bool, out: &mut Vec<Anomaly>) {
        if now == i64::MIN {
            return;
        }
        let len = self.settings.window.len_ms.max(1);
        let boundary = now.div_euclid(len) * len;
        if self.ticked_to != i64::MIN && boundary <= self.ticked_to {
            return;
        }
        self.ticked_to = boundary;
        self.close_all(now, out);
        if silence {
            self.find_silent(now, out);
        }
    }

    /// Entities that reported steadily and then fell silent while the rest of the shard's
    /// input went on: one `silence` anomaly each, until the entity speaks again. Silent means
    /// no event for at least two windows where the entity's own rate (events over the time it
    /// has been seen, after at least [`SILENCE_MIN_EVENTS`] events over twelve windows) expects
    /// [`SILENCE_EXPECTED`] or more: a Poisson source that quiet by chance is rarer than 1 in
    /// 20 000.
    fn find_silent(&mut self, now: i64, out: &mut Vec<Anomaly>) {
        let len = self.settings.window.len_ms.max(1);
        let lateness = self.settings.window.lateness_ms.max(0);
        let now = now.saturating_sub(lateness);
        let mut found: Vec<(Symbol, f64, i64)> = Vec::new();
        for (entity, s) in &mut self.entities {
            if s.silent || s.events_total < SILENCE_MIN_EVENTS {
                continue;
            }
            let span = s.last_seen_ms.saturating_sub(s.first_seen_ms);
            let gap = now.saturating_sub(s.last_seen_ms);
            if span < 12 * len || gap < 2 * len {
                continue;
            }
            let expected = s.events_total as f64 / span as f64 * gap as f64;
            if expected >= SILENCE_EXPECTED {
                s.silent = true;
                found.push((*entity, expected, s.last_seen_ms));
            }
        }
        // Deterministic order (replay gives the same anomalies in the same order).
        found.sort_unstable_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
        for (entity, expected, last) in found {
            let Some(state) = self.entities.get(&entity) else {
                continue;
            };
            let score = 1.0 - (-expected).exp();
            self.counters.anomalies += 1;
            // The window the silence was found in: from the last event to now.
            let start = last.div_euclid(len) * len + len;
            out.push(Anomaly {
                id: Anomaly::id_for(entity.as_str(), AnomalyKind::Silence, start),
                entity,
                class: state.class,
                kind: AnomalyKind::Silence,
                window_start_ms: start,
                window_end_ms: now.max(start + len),
                score,
                parts: DetectorParts([score as f32, 0.0, 0.0, 0.0, 0.0]),
                signals: std::iter::once(TopSignal {
                    name: "events".into(),
                    value: 0.0,
                    expected: Some(expected),
                    score,
                })
                .collect(),
                rules: SmallVec::new(),
                detected_ns: crate::clock::now_ns(),
            });
        }
    }

    /// Closes and scores every open window (shutdown, end of a replay).
    pub fn flush(&mut self, out: &mut Vec<Anomaly>) {
        self.close_all(i64::MAX / 4, out);
    }

    fn close_all(&mut self, now: i64, out: &mut Vec<Anomaly>) {
        let mut keys: Vec<Symbol> = self.entities.keys().copied().collect();
        // Deterministic order (replay gives the same anomalies in the same order).
        keys.sort_unstable_by(|a, b| a.as_str().cmp(b.as_str()));
        let mut closed = std::mem::take(&mut self.closed);
        for entity in keys {
            if let Some(state) = self.entities.get_mut(&entity) {
                state.windows.close_until(now, &mut closed);
                self.pending.extend(closed.drain(..).map(|w| (entity, w)));
            }
        }
        self.closed = closed;
        self.score_pending(out);
        if now != i64::MAX / 4 {
            let expiry = self.settings.idle_expiry_ms;
            let before = self.entities.len();
            let mut freed = Vec::new();
            self.entities.retain(|_, s| {
                let keep =
                    s.windows.open_windows() > 0 || s.last_seen_ms.saturating_add(expiry) >= now;
                if !keep {
                    freed.extend(s.lstm_slot);
                }
                keep
            });
            self.counters.expired += (before - self.entities.len()) as u64;
            self.free_slots(&freed);
        }
    }

    /// Scores the windows closed since the last tick, in the order they closed.
    fn score_pending(&mut self, out: &mut Vec<Anomaly>) {
        let mut pending = std::mem::take(&mut self.pending);
        #[cfg(feature = "lstm")]
        let lstm = self.lstm_scores(&pending);
        #[cfg(not(feature = "lstm"))]
        let lstm: Vec<f32> = Vec::new();
        for (i, (entity, w)) in pending.iter().enumerate() {
            let l = lstm.get(i).copied().unwrap_or(0.0);
            self.score_window(*entity, w, l, out);
        }
        pending.clear();
        self.pending = pending;
    }

    /// Evicts the least recently seen eighth of the entities (one pass for many new ones).
    fn evict(&mut self) {
        let mut seen: Vec<i64> = self.entities.values().map(|s| s.last_seen_ms).collect();
        let k = (seen.len() / 8).max(1).min(seen.len() - 1);
        let (_, cut, _) = seen.select_nth_unstable(k - 1);
        let cut = *cut;
        let mut left = k;
        let before = self.entities.len();
        let mut freed = Vec::new();
        self.entities.retain(|_, s| {
            if left > 0 && s.last_seen_ms <= cut {
                left -= 1;
                freed.extend(s.lstm_slot);
                false
            } else {
                true
            }
        });
        self.counters.evicted += (before - self.entities.len()) as u64;
        self.free_slots(&freed);
    }

    /// Returns forgotten entities' LSTM slots.
    fn free_slots(&mut self, slots: &[u32]) {
        #[cfg(feature = "lstm")]
        if let Some(side) = &mut self.lstm {
            for s in slots {
                let _ = side.states.free(*s);
            }
        }
        #[cfg(not(feature = "lstm"))]
        let _ = slots;
    }

    /// The LSTM's score of each pending window (empty without a model): one batched step per
    /// round, each entity at most once a round (an entity with two windows closing at one
    /// tick takes two rounds, in order).
    #[cfg(feature = "lstm")]
    fn lstm_scores(&mut self, pending: &[(Symbol, Signals)]) -> Vec<f32> {
        let Some(side) = self.lstm.as_mut() else {
            return Vec::new();
        };
        let mut scores = vec![0f32; pending.len()];
        let mut done = vec![false; pending.len()];
        let (mut slots, mut inputs, mut which) = (Vec::new(), Vec::new(), Vec::new());
        let mut taken = std::collections::HashSet::<u32, rustc_hash::FxBuildHasher>::default();
        loop {
            slots.clear();
            inputs.clear();
            which.clear();
            taken.clear();
            for (i, (entity, w)) in pending.iter().enumerate() {
                if done[i] {
                    continue;
                }
                let Some(state) = self.entities.get_mut(entity) else {
                    done[i] = true;
                    continue;
                };
                let slot = match state.lstm_slot {
                    Some(slot) => slot,
                    None => match side.states.allocate() {
                        Ok(slot) => {
                            state.lstm_slot = Some(slot);
                            slot
                        }
                        Err(_) => {
                            self.counters.lstm_skipped += 1;
                            done[i] = true;
                            continue;
                        }
                    },
                };
                if !taken.insert(slot) {
                    continue;
                }
                done[i] = true;
                slots.push(slot);
                inputs.extend(features(w, &state.metric_slots).map(|v| v as f32));
                which.push(i);
            }
            if slots.is_empty() {
                return scores;
            }
            let mut got = vec![0f32; slots.len()];
            match side.model.tick(&mut side.states, &slots, &inputs, &mut got) {
                Ok(()) => {
                    for (k, i) in which.iter().enumerate() {
                        scores[*i] = got[k];
                    }
                }
                Err(_) => self.counters.lstm_skipped += slots.len() as u64,
            }
        }
    }

    /// Scores one closed window of `entity`.
    fn score_window(&mut self, entity: Symbol, w: &Signals, lstm: f32, out: &mut Vec<Anomaly>) {
        let settings = &self.settings;
        let Some(state) = self.entities.get_mut(&entity) else {
            return;
        };
        self.counters.windows += 1;
        state.windows_scored += 1;
        let mut parts = DetectorParts::default();
        let mut top: SmallVec<[TopSignal; 8]> = SmallVec::new();

        // Statistics: each count against its own history, each metric's mean against its EWMA.
        let values = [
            f64::from(w.events),
            f64::from(w.failures),
            f64::from(w.denies),
            f64::from(w.auth_failures),
            w.distinct_sources() as f64,
        ];
        for (i, v) in values.iter().enumerate() {
            let expected = state.counts[i].expected();
            let s = state.counts[i].score(*v);
            if s > 0.0 {
                top.push(TopSignal {
                    name: COUNT_SIGNALS[i].to_owned(),
                    value: *v,
                    expected: Some(expected),
                    score: s,
                });
            }
        }
        for m in &w.metrics {
            let mean = m.mean();
            let at = match state.metrics.iter().position(|(n, _)| *n == m.name) {
                Some(at) => at,
                None if state.metrics.len() < MAX_ENTITY_METRICS => {
                    let mut e = Ewma::new(0.05, settings.warmup_windows);
                    e.at = 5.0;
                    state.metrics.push((m.name, e));
                    state.metrics.len() - 1
                }
                None => continue,
            };
            let ewma = &mut state.metrics[at].1;
            let expected = ewma.mean();
            let s = ewma.score(mean);
            if s > 0.0 {
                top.push(TopSignal {
                    name: format!("metric.{}.mean", m.name.as_str()),
                    value: mean,
                    expected: Some(expected),
                    score: s,
                });
            }
            for slot in &mut state.metric_slots {
                match slot {
                    Some(n) if *n == m.name => break,
                    None => {
                        *slot = Some(m.name);
                        break;
                    }
                    Some(_) => {}
                }
            }
        }
        top.sort_by(|a, b| b.score.total_cmp(&a.score));
        parts.0[DetectorParts::STATISTICS] = top.first().map_or(0.0, |t| t.score as f32);

        // Threshold rules.
        let fired = settings.rules.evaluate(&mut state.rules, w);
        let mut rule_names: SmallVec<[String; 1]> = SmallVec::new();
        let mut rule_kind = None;
        let mut rule_kinds: SmallVec<[AnomalyKind; 2]> = SmallVec::new();
        for (i, (rule, value)) in fired.iter().enumerate() {
            rule_names.push(rule.name.clone());
            if let Some(k) = AnomalyKind::parse(&rule.kind) {
                rule_kind = rule_kind.or(Some(k));
                rule_kinds.push(k);
            }
            top.insert(
                i,
                TopSignal {
                    name: rule.signal_name.clone(),
                    value: *value,
                    expected: None,
                    score: 1.0,
                },
            );
        }
        if !fired.is_empty() {
            parts.0[DetectorParts::RULES] = 1.0;
        }

        // Isolation forest of the entity's class, once trained; every window is sampled for
        // the next training.
        let features = features(w, &state.metric_slots);
        if let Some(model) = self.models.forest(state.class) {
            let s = model.forest.score(&features);
            parts.0[DetectorParts::FOREST] = squash(s - 0.5, 0.12, 0.04) as f32;
        }
        self.models.sample(state.class, &features);
        self.models.sample_window(entity, &features);
        // The LSTM's forecast error for this window (scored in the tick's batch).
        parts.0[DetectorParts::LSTM] = lstm;
        if lstm >= 0.5 {
            top.push(TopSignal {
                name: "lstm_forecast_error".into(),
                value: f64::from(lstm),
                expected: None,
                score: f64::from(lstm),
            });
        }

        // New or rare event codes seen in the window.
        let (rare, code) = std::mem::take(&mut state.rare);
        parts.0[DetectorParts::RARE_CODES] = rare;
        if let (true, Some(code)) = (rare > 0.0, code) {
            top.push(TopSignal {
                name: format!("event_code.{}", code.as_str()),
                value: 1.0,
                expected: None,
                score: f64::from(rare),
            });
        }

        let score = parts.combine(&settings.weights);
        state.current = EventScore {
            score: score as f32,
            parts,
        };
        for q in &mut state.quiet {
            *q = q.saturating_sub(1);
        }
        if score < settings.threshold {
            return;
        }
        top.sort_by(|a, b| b.score.total_cmp(&a.score));
        let stats_kind = kind_of(&parts, top.first());
        let kind = rule_kind.unwrap_or(stats_kind);
        let slot = |k: AnomalyKind| AnomalyKind::ALL.iter().position(|x| *x == k).unwrap_or(0);
        if state.quiet[slot(kind)] > 0 {
            // The same problem still going on: reported once, kept quiet while it lasts.
            state.quiet[slot(kind)] = settings.refractory_windows;
            self.counters.suppressed += 1;
            return;
        }
        // Every kind this window shows is the one problem (a login burst is also an error
        // burst): none of them is reported again while it lasts.
        for k in rule_kinds.iter().copied().chain([kind, stats_kind]) {
            state.quiet[slot(k)] = settings.refractory_windows;
        }
        self.counters.anomalies += 1;
        let end = w.start_ms + settings.window.len_ms;
        out.push(Anomaly {
            id: Anomaly::id_for(entity.as_str(), kind, w.start_ms),
            entity,
            class: state.class,
            kind,
            window_start_ms: w.start_ms,
            window_end_ms: end,
            score,
            parts,
            signals: top.into_iter().take(3).collect(),
            rules: rule_names,
            detected_ns: crate::clock::now_ns(),
        });
    }
}

/// The kind of an anomaly no rule named, from the detector and the signal that stand out.
fn kind_of(parts: &DetectorParts, top: Option<&TopSignal>) -> AnomalyKind {
    let p = &parts.0;
    let stats = p[DetectorParts::STATISTICS];
    if stats
        < p[DetectorParts::FOREST]
            .max(p[DetectorParts::RARE_CODES])
            .max(p[DetectorParts::LSTM])
    {
        return AnomalyKind::NewBehaviour;
    }
    let Some(top) = top else {
        return AnomalyKind::NewBehaviour;
    };
    match top.name.as_str() {
        "events" | "denies" | "distinct_sources" => AnomalyKind::VolumeSpike,
        "failures" | "error_rate" => AnomalyKind::ErrorBurst,
        "auth_failures" => AnomalyKind::BruteForce,
        name if is_latency(name) => AnomalyKind::LatencyDegradation,
        _ => AnomalyKind::NewBehaviour,
    }
}

/// A metric signal about time taken: latency, duration, response or round-trip time.
fn is_latency(signal: &str) -> bool {
    let s = signal.to_ascii_lowercase();
    ["latency", "duration", "rtt", "response_time", "_ms."]
        .iter()
        .any(|w| s.contains(w))
}

/// A window's feature vector for the forest: counts on a log scale, the error rate, and the
/// means of the entity's first two metrics (signed log).
pub fn features(w: &Signals, slots: &[Option<Symbol>; 2]) -> [f64; FEATURES] {
    let ln = |x: f64| x.signum() * x.abs().ln_1p();
    let metric = |slot: Option<Symbol>| {
        slot.and_then(|n| w.metrics.iter().find(|m| m.name == n))
            .map_or(0.0, |m| ln(m.mean()))
    };
    [
        ln(f64::from(w.events)),
        ln(f64::from(w.failures)),
        ln(f64::from(w.denies)),
        ln(f64::from(w.auth_failures)),
        ln(w.distinct_sources() as f64),
        w.error_rate(),
        metric(slots[0]),
        metric(slots[1]),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{Status, CLASS_AUTHENTICATION, CLASS_METRIC, CLASS_NETWORK_ACTIVITY};

    fn shipped_rules() -> Arc<RuleSet> {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/detectors.toml");
        Arc::new(RuleSet::parse(&std::fs::read_to_string(path).unwrap()).unwrap())
    }

    fn scorer() -> Scorer {
        Scorer::new(
            ScorerSettings {
                rules: shipped_rules(),
                ..ScorerSettings::default()
            },
            Arc::new(Models::in_memory(1000)),
        )
    }

    fn event(entity: &str, time: i64) -> Event {
        Event {
            time,
            class_uid: CLASS_NETWORK_ACTIVITY,
            entity: Some(Symbol::intern(entity)),
            product: Some(Symbol::intern("ASA")),
            event_code: Some(Symbol::intern("302013")),
            src: crate::schema::Endpoint {
                ip: Some("10.0.0.1".parse().unwrap()),
                ..Default::default()
            },
            ..Event::default()
        }
    }

    fn failed_login(entity: &str, time: i64, from: &str) -> Event {
        let mut e = event(entity, time);
        e.class_uid = CLASS_AUTHENTICATION;
        e.status = Status::Failure;
        e.event_code = Some(Symbol::intern("605004"));
        e.src.ip = Some(from.parse().unwrap());
        e
    }

    /// `per_window` ordinary events in each of `windows` 10 s windows from `from_window`.
    fn steady(
        s: &mut Scorer,
        entity: &str,
        from_window: i64,
        windows: i64,
        per_window: i64,
    ) -> Vec<Anomaly> {
        let mut out = Vec::new();
        for w in from_window..from_window + windows {
            let mut batch: Vec<Event> = (0..per_window)
                .map(|i| event(entity, w * 10_000 + i * (10_000 / per_window.max(1))))
                .collect();
            s.score_batch(&mut batch, &mut out);
        }
        out
    }

    #[test]
    fn a_failed_login_burst_from_one_source_is_a_brute_force_anomaly_of_that_entity() {
        let mut s = scorer();
        assert!(steady(&mut s, "fw-01", 0, 20, 10).is_empty());
        let mut out = Vec::new();
        let mut burst: Vec<Event> = (0..25)
            .map(|i| failed_login("fw-01", 200_000 + i * 100, "203.0.113.66"))
            .collect();
        s.score_batch(&mut burst, &mut out);
        assert!(out.is_empty(), "the window is still open");
        out.extend(steady(&mut s, "fw-01", 21, 2, 10));
        assert_eq!(out.len(), 1, "{out:?}");
        let a = &out[0];
        assert_eq!(a.entity.as_str(), "fw-01");
        assert_eq!(a.kind, AnomalyKind::BruteForce);
        // Failed logins are not service errors: the error-rate rule stays quiet.
        assert_eq!(a.rules.as_slice(), ["failed-auth-burst"]);
        assert_eq!((a.window_start_ms, a.window_end_ms), (200_000, 210_000));
        assert!(a.score >= 0.99);
        assert_eq!(a.signals[0].name, "auth_failures_one_source");
        assert_eq!(a.signals[0].value, 25.0);
        assert_eq!(a.parts.0[DetectorParts::RULES], 1.0);
    }

    #[test]
    fn cpu_over_90_for_three_windows_is_a_threshold_breach() {
        let mut s = scorer();
        let mut out = Vec::new();
        let cpu = Symbol::intern("cpu_pct");
        for w in 0..30i64 {
            let pct = if w >= 20 { 97.0 } else { 40.0 + (w % 3) as f64 };
            let mut batch: Vec<Event> = (0..5)
                .map(|i| {
                    let mut e = event("srv-9", w * 10_000 + i * 2_000);
                    e.class_uid = CLASS_METRIC;
                    e.metrics.push((cpu, pct));
                    e
                })
                .collect();
            s.score_batch(&mut batch, &mut out);
        }
        let breach: Vec<&Anomaly> = out
            .iter()
            .filter(|a| a.kind == AnomalyKind::ThresholdBreach)
            .collect();
        assert_eq!(breach.len(), 1, "{out:?}");
        // Windows 20, 21, 22 are over 90 %: the rule fires when the third closes.
        assert_eq!(breach[0].window_start_ms, 220_000);
        assert_eq!(breach[0].rules.as_slice(), ["cpu-high"]);
        assert_eq!(breach[0].signals[0].name, "metric.cpu_pct.mean");
        assert_eq!(breach[0].signals[0].value, 97.0);
    }

    #[test]
    fn steady_traffic_stays_quiet_and_events_carry_a_low_score() {
        let mut s = scorer();
        let out = steady(&mut s, "core-sw", 0, 200, 30);
        assert!(out.is_empty(), "{out:?}");
        // Window 199 closes only when the watermark passes its end plus the lateness.
        let mut e = vec![event("core-sw", 2_000_001)];
        let mut out = Vec::new();
        s.score_batch(&mut e, &mut out);
        let score = e[0].score.expect("scored");
        assert!(score.score < 0.3, "{score:?}");
        assert_eq!(s.counters().windows, 199);
    }

    #[test]
    fn a_volume_spike_is_reported_once_as_a_volume_spike() {
        let mut s = scorer();
        let mut out = steady(&mut s, "lb-1", 0, 40, 20);
        assert!(out.is_empty());
        out.extend(steady(&mut s, "lb-1", 40, 1, 600));
        out.extend(steady(&mut s, "lb-1", 41, 3, 20));
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(out[0].kind, AnomalyKind::VolumeSpike);
        assert_eq!(out[0].window_start_ms, 400_000);
        assert_eq!(out[0].signals[0].name, "events");
        assert!((out[0].signals[0].expected.unwrap() - 20.0).abs() < 1.0);
    }

    #[test]
    fn a_lasting_problem_is_one_anomaly_and_the_repeats_are_counted() {
        let mut s = scorer();
        let mut out = steady(&mut s, "vpn-1", 0, 20, 5);
        for w in 20..24 {
            let mut burst: Vec<Event> = (0..15)
                .map(|i| failed_login("vpn-1", w * 10_000 + i * 500, "198.51.100.7"))
                .collect();
            s.score_batch(&mut burst, &mut out);
        }
        out.extend(steady(&mut s, "vpn-1", 24, 2, 5));
        s.flush(&mut out);
        assert_eq!(out.len(), 1, "{out:?}");
        // The three further burst windows (failed logins are no error rate, so the quiet
        // windows after them fire nothing).
        assert_eq!(s.counters().suppressed, 3);
    }

    #[test]
    fn a_new_event_code_shows_in_the_event_score() {
        let mut s = scorer();
        steady(&mut s, "fw-2", 0, 30, 10);
        let mut e = vec![event("fw-2", 300_500)];
        e[0].event_code = Some(Symbol::intern("106023"));
        let mut out = Vec::new();
        s.score_batch(&mut e, &mut out);
        let score = e[0].score.unwrap();
        assert_eq!(score.parts.0[DetectorParts::RARE_CODES], 1.0);
        assert!((f64::from(score.score) - 0.5).abs() < 1e-6, "{score:?}");
    }

    #[test]
    fn entities_are_capped_by_counted_eviction_and_idle_ones_expire() {
        let mut s = Scorer::new(
            ScorerSettings {
                max_entities: 16,
                idle_expiry_ms: 60_000,
                ..ScorerSettings::default()
            },
            Arc::new(Models::in_memory(10)),
        );
        let mut out = Vec::new();
        for i in 0..100 {
            let mut b = vec![event(&format!("dev-{i}"), i * 10)];
            s.score_batch(&mut b, &mut out);
        }
        let c = s.counters();
        assert!(c.entities <= 16, "{c:?}");
        assert_eq!(c.entities + c.evicted, 100);
        // Ten minutes later only the entity that spoke is left.
        let mut b = vec![event("dev-late", 600_000)];
        s.score_batch(&mut b, &mut out);
        let c = s.counters();
        assert_eq!(c.entities, 1, "{c:?}");
        assert_eq!(c.expired + c.evicted, 100);
    }

    #[test]
    fn a_device_clock_an_hour_ahead_does_not_close_the_other_entities_windows() {
        let mut s = scorer();
        let mut out = Vec::new();
        s.score_batch(&mut [event("on-time", 1_000)], &mut out);
        let ahead = crate::clock::now_ms() + 3_600_000;
        s.score_batch(&mut [event("fast-clock", ahead)], &mut out);
        assert_eq!(s.watermark(), 1_000);
        assert_eq!(s.counters().windows, 0);
        s.score_batch(&mut [event("on-time", 30_000)], &mut out);
        assert_eq!(
            s.counters().windows,
            1,
            "on-time's own clock still closes its window"
        );
    }

    #[test]
    fn a_steady_entity_that_falls_silent_while_others_go_on_is_one_silence_anomaly() {
        let mut s = scorer();
        let mut out = Vec::new();
        // Two devices, 5 events a window each, for 30 windows; then only `chatty` goes on.
        for w in 0..30 {
            let mut batch: Vec<Event> = (0..5)
                .flat_map(|i| {
                    let t = w * 10_000 + i * 2_000;
                    [event("core-sw", t), event("chatty", t + 1)]
                })
                .collect();
            s.score_batch(&mut batch, &mut out);
        }
        assert!(
            out.iter().all(|a| a.kind != AnomalyKind::Silence),
            "{out:?}"
        );
        let silent = steady(&mut s, "chatty", 30, 10, 5);
        let found: Vec<&Anomaly> = silent
            .iter()
            .filter(|a| a.kind == AnomalyKind::Silence)
            .collect();
        assert_eq!(found.len(), 1, "one report while it lasts: {silent:?}");
        let a = found[0];
        assert_eq!(a.entity.as_str(), "core-sw");
        assert!(a.score > 0.99, "{}", a.score);
        assert_eq!(a.signals[0].name, "events");
        assert_eq!(a.signals[0].value, 0.0);
        assert!(a.signals[0].expected.unwrap() >= SILENCE_EXPECTED);
        // It speaks again, then falls silent again: a second report.
        let mut back = vec![event("core-sw", 400_001)];
        let mut again = Vec::new();
        s.score_batch(&mut back, &mut again);
        again.extend(steady(&mut s, "chatty", 40, 10, 5));
        assert_eq!(
            again
                .iter()
                .filter(|a| a.kind == AnomalyKind::Silence && a.entity.as_str() == "core-sw")
                .count(),
            1,
            "{again:?}"
        );
    }

    #[test]
    fn when_all_input_stops_the_idle_clock_reports_no_silence() {
        let mut s = scorer();
        let mut out = steady(&mut s, "core-sw", 0, 30, 5);
        s.tick(2_000_000, &mut out);
        assert!(
            out.iter().all(|a| a.kind != AnomalyKind::Silence),
            "{out:?}"
        );
    }

    #[test]
    fn events_without_an_entity_pass_unscored_and_are_counted() {
        let mut s = scorer();
        let mut b = vec![Event {
            time: 5,
            ..Event::default()
        }];
        s.score_batch(&mut b, &mut Vec::new());
        assert!(b[0].score.is_none());
        assert_eq!(s.counters().no_entity, 1);
        let mut b = vec![Event {
            time: 5,
            device: crate::schema::Device {
                hostname: Some(Symbol::intern("edge-7")),
                ip: None,
            },
            ..Event::default()
        }];
        s.score_batch(&mut b, &mut Vec::new());
        assert_eq!(b[0].entity.map(|e| e.as_str()), Some("edge-7"));
    }

    #[test]
    fn a_trained_forest_joins_the_ensemble() {
        let models = Arc::new(Models::in_memory(4000));
        let mut s = Scorer::new(
            ScorerSettings {
                rules: shipped_rules(),
                ..ScorerSettings::default()
            },
            models.clone(),
        );
        let mut out = Vec::new();
        // Twenty firewalls whose windows vary: 8-14 events, 0-1 failures, 1-3 sources.
        for w in 0..30i64 {
            for d in 0..20i64 {
                let name = format!("fw-{d}");
                let n = 8 + (w * 7 + d) % 7;
                let mut b: Vec<Event> = (0..n)
                    .map(|i| {
                        let mut e = event(&name, w * 10_000 + i * 500);
                        e.status = if i == 0 && (w + d) % 4 == 0 {
                            Status::Failure
                        } else {
                            Status::Success
                        };
                        e.src.ip = Some(
                            format!("10.0.0.{}", i % (1 + (w * 3 + d) % 3))
                                .parse()
                                .unwrap(),
                        );
                        e
                    })
                    .collect();
                s.score_batch(&mut b, &mut out);
            }
        }
        assert!(out.is_empty(), "{out:?}");
        assert_eq!(models.train(256, 0).unwrap().len(), 1);
        // A window unlike any of them: 60 events, 30 failing, from 20 sources.
        let mut b: Vec<Event> = (0..60)
            .map(|i| {
                let mut e = event("fw-3", 300_000 + i * 100);
                e.status = if i % 2 == 0 {
                    Status::Failure
                } else {
                    Status::Success
                };
                e.src.ip = Some(format!("192.0.2.{}", i % 20).parse().unwrap());
                e
            })
            .collect();
        s.score_batch(&mut b, &mut out);
        s.flush(&mut out);
        let fw3 = s.entities.get(&Symbol::intern("fw-3")).unwrap();
        assert!(
            fw3.current.parts.0[DetectorParts::FOREST] > 0.5,
            "{:?}",
            fw3.current
        );
    }

    #[cfg(feature = "lstm")]
    #[test]
    fn a_trained_lstm_scores_every_entitys_window_in_the_tick() {
        use crate::score::lstm::{LstmConfig, LstmModel, TrainParams};
        let models = Arc::new(Models::in_memory(100));
        let mut s = Scorer::new(
            ScorerSettings {
                rules: shipped_rules(),
                ..ScorerSettings::default()
            },
            models.clone(),
        );
        let window = |s: &mut Scorer, w: i64, entity: &str, n: i64, out: &mut Vec<Anomaly>| {
            let mut b: Vec<Event> = (0..n).map(|i| event(entity, w * 10_000 + i * 10)).collect();
            s.score_batch(&mut b, out);
        };
        let mut out = Vec::new();
        // Three hosts whose counts cycle 10, 12, 14 a window.
        for w in 0..60 {
            for d in 0..3 {
                window(&mut s, w, &format!("ls-{d}"), 10 + 2 * (w % 3), &mut out);
            }
        }
        let sequences = models.sequences(16);
        assert_eq!(sequences.len(), 3);
        let mut model = LstmModel::new(LstmConfig::new("window", FEATURES)).unwrap();
        let params = TrainParams {
            epochs: 40,
            ..TrainParams::default()
        };
        model.train(&sequences, &params).unwrap();
        s.set_lstm(model, 1).unwrap();
        assert_eq!(s.lstm_version(), Some(1));
        for w in 60..70 {
            for d in 0..3 {
                window(&mut s, w, &format!("ls-{d}"), 10 + 2 * (w % 3), &mut out);
            }
        }
        let part = |s: &Scorer, e: &str| {
            s.entities[&Symbol::intern(e)].current.parts.0[DetectorParts::LSTM]
        };
        for d in 0..3 {
            assert!(
                part(&s, &format!("ls-{d}")) < 0.5,
                "ls-{d}: {}",
                part(&s, &format!("ls-{d}"))
            );
        }
        // ls-1 jumps to 300 events; the others keep their cycle.
        for d in 0..3 {
            let n = if d == 1 { 300 } else { 12 }; // window 70: 10 + 2 * (70 % 3)
            window(&mut s, 70, &format!("ls-{d}"), n, &mut out);
        }
        s.flush(&mut out);
        assert!(part(&s, "ls-1") > 0.5, "{}", part(&s, "ls-1"));
        assert!(part(&s, "ls-0") < 0.5 && part(&s, "ls-2") < 0.5);
        assert_eq!(s.counters().lstm_skipped, 0);
    }
}
