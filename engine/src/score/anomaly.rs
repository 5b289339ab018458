//! What scoring produces: the per-event score ([`EventScore`], `tocsin.score` and
//! `tocsin.detectors` in JSON) and the [`Anomaly`] (an OCSF Detection Finding, class 2004) an
//! entity's window becomes when its ensemble score crosses the threshold.

use smallvec::SmallVec;

use crate::schema::{severity, Symbol};

/// The detectors of the ensemble, in the order of [`DetectorParts`].
pub const DETECTORS: [&str; 5] = ["statistics", "rules", "forest", "lstm", "rare_codes"];

/// Each detector's score (0..1) for one window or event, in [`DETECTORS`] order.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct DetectorParts(pub [f32; 5]);

impl DetectorParts {
    pub const STATISTICS: usize = 0;
    pub const RULES: usize = 1;
    pub const FOREST: usize = 2;
    pub const LSTM: usize = 3;
    pub const RARE_CODES: usize = 4;

    /// `(name, score)` for each detector.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, f32)> + '_ {
        DETECTORS.iter().copied().zip(self.0.iter().copied())
    }

    /// The combined score: a weighted noisy-or, `1 - prod(1 - w_i * s_i)` with each weight in
    /// 0..1. One detector that is sure (score 1, weight 1) makes it 1; detectors that agree
    /// make it higher than each alone; a weight of 0 silences a detector.
    pub fn combine(&self, weights: &[f64; 5]) -> f64 {
        let miss: f64 = self
            .0
            .iter()
            .zip(weights)
            .map(|(s, w)| 1.0 - w.clamp(0.0, 1.0) * f64::from(*s).clamp(0.0, 1.0))
            .product();
        (1.0 - miss).clamp(0.0, 1.0)
    }
}

/// The score an event carries: its entity's current ensemble score and the parts of it.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct EventScore {
    pub score: f32,
    pub parts: DetectorParts,
}

/// What kind of trouble an anomaly is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AnomalyKind {
    VolumeSpike,
    ErrorBurst,
    BruteForce,
    LatencyDegradation,
    NewBehaviour,
    ThresholdBreach,
    /// An entity that reported steadily fell silent (a device down, its collector cut off).
    Silence,
}

impl AnomalyKind {
    pub const ALL: [AnomalyKind; 7] = [
        AnomalyKind::VolumeSpike,
        AnomalyKind::ErrorBurst,
        AnomalyKind::BruteForce,
        AnomalyKind::LatencyDegradation,
        AnomalyKind::NewBehaviour,
        AnomalyKind::ThresholdBreach,
        AnomalyKind::Silence,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AnomalyKind::VolumeSpike => "volume_spike",
            AnomalyKind::ErrorBurst => "error_burst",
            AnomalyKind::BruteForce => "brute_force",
            AnomalyKind::LatencyDegradation => "latency_degradation",
            AnomalyKind::NewBehaviour => "new_behaviour",
            AnomalyKind::ThresholdBreach => "threshold_breach",
            AnomalyKind::Silence => "silence",
        }
    }

    pub fn parse(s: &str) -> Option<AnomalyKind> {
        AnomalyKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Words for a message: "brute force".
    pub fn words(self) -> &'static str {
        match self {
            AnomalyKind::VolumeSpike => "volume spike",
            AnomalyKind::ErrorBurst => "error burst",
            AnomalyKind::BruteForce => "brute force",
            AnomalyKind::LatencyDegradation => "latency degradation",
            AnomalyKind::NewBehaviour => "new behaviour",
            AnomalyKind::ThresholdBreach => "threshold breach",
            AnomalyKind::Silence => "silence",
        }
    }
}

/// One signal's part in an anomaly: what it was, what the entity's history expected, and how
/// unusual that is (0..1).
#[derive(Debug, Clone, PartialEq)]
pub struct TopSignal {
    /// `events`, `failures`, `denies`, `auth_failures`, `distinct_sources`, `error_rate`,
    /// `metric.<name>.mean`, `event_code.<code>`, or a rule's signal.
    pub name: String,
    pub value: f64,
    /// The value the entity's history expected (its running mean), when there is one.
    pub expected: Option<f64>,
    pub score: f64,
}

/// An entity's window whose ensemble score crossed the threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct Anomaly {
    /// Stable for the same entity, kind and window: `an-` and 16 hex digits.
    pub id: String,
    pub entity: Symbol,
    /// The entity's class (its product or vendor): the forest that scored it.
    pub class: Symbol,
    pub kind: AnomalyKind,
    /// The window, event-time ms: `[start, end)`.
    pub window_start_ms: i64,
    pub window_end_ms: i64,
    pub score: f64,
    pub parts: DetectorParts,
    /// The most unusual signals, most unusual first (at most 3).
    pub signals: SmallVec<[TopSignal; 3]>,
    /// Threshold rules that fired.
    pub rules: SmallVec<[String; 1]>,
    /// Wall-clock time it was detected, ns since the epoch.
    pub detected_ns: u64,
}

impl Anomaly {
    /// The id for an entity, kind and window start (FNV-1a over them).
    pub fn id_for(entity: &str, kind: AnomalyKind, window_start_ms: i64) -> String {
        let h = crate::durable::fnv1a(
            entity
                .bytes()
                .chain([0])
                .chain(kind.as_str().bytes())
                .chain(window_start_ms.to_le_bytes()),
        );
        format!("an-{h:016x}")
    }

    /// OCSF severity from the score: Critical from 0.95, High from 0.8, else Medium.
    pub fn severity_id(&self) -> u8 {
        if self.score >= 0.95 {
            severity::CRITICAL
        } else if self.score >= 0.8 {
            severity::HIGH
        } else {
            severity::MEDIUM
        }
    }

    /// One line for people: "brute force on fw-01: auth_failures_one_source 42 (expected 0.3)".
    pub fn title(&self) -> String {
        let mut t = String::new();
        // Writing to a String cannot fail.
        let _ = self.write_title(&mut t);
        t
    }

    /// Writes [`Anomaly::title`] to `out` (the router matches it from a stack buffer,
    /// allocating nothing per event).
    pub fn write_title(&self, out: &mut impl std::fmt::Write) -> std::fmt::Result {
        write!(out, "{} on {}", self.kind.words(), self.entity.as_str())?;
        if let Some(s) = self.signals.first() {
            write!(out, ": {} {}", s.name, round3(s.value))?;
            if let Some(e) = s.expected {
                write!(out, " (expected {})", round3(e))?;
            }
        }
        if let Some((first, rest)) = self.rules.split_first() {
            write!(out, " [rule {first}")?;
            for r in rest {
                write!(out, ", {r}")?;
            }
            out.write_str("]")?;
        }
        Ok(())
    }

    /// The API's and the finding's JSON form of the anomaly.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::json;
        let parts: serde_json::Map<String, serde_json::Value> = self
            .parts
            .iter()
            .map(|(k, v)| (k.to_owned(), json!(round3(f64::from(v)))))
            .collect();
        json!({
            "id": self.id,
            "entity": self.entity.as_str(),
            "class": self.class.as_str(),
            "kind": self.kind.as_str(),
            "time": self.window_end_ms,
            "window": { "start": self.window_start_ms, "end": self.window_end_ms },
            "score": round3(self.score),
            "severity_id": self.severity_id(),
            "severity": severity::name(self.severity_id()),
            "detectors": parts,
            "signals": self.signals.iter().map(|s| json!({
                "name": s.name,
                "value": round3(s.value),
                "expected": s.expected.map(round3),
                "score": round3(s.score),
            })).collect::<Vec<_>>(),
            "rules": self.rules.iter().collect::<Vec<_>>(),
            "title": self.title(),
            "detected_time": self.detected_ns / 1_000_000,
        })
    }
}

/// `x` to 3 decimals (scores and values in JSON and messages).
pub fn round3(x: f64) -> f64 {
    if x.is_finite() {
        (x * 1000.0).round() / 1000.0
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_noisy_or_is_one_when_any_weighted_detector_is_sure() {
        let w = [1.0, 1.0, 0.5, 0.5, 0.5];
        assert_eq!(DetectorParts([0.0, 1.0, 0.0, 0.0, 0.0]).combine(&w), 1.0);
        assert_eq!(DetectorParts::default().combine(&w), 0.0);
        let two = DetectorParts([0.4, 0.0, 0.4, 0.0, 0.0]).combine(&w);
        assert!((two - (1.0 - 0.6 * 0.8)).abs() < 1e-6, "{two}");
        assert_eq!(DetectorParts([1.0; 5]).combine(&[0.0; 5]), 0.0);
    }

    #[test]
    fn ids_are_stable_and_differ_by_entity_kind_and_window() {
        let a = Anomaly::id_for("fw-01", AnomalyKind::BruteForce, 10_000);
        assert_eq!(a, Anomaly::id_for("fw-01", AnomalyKind::BruteForce, 10_000));
        assert_ne!(a, Anomaly::id_for("fw-02", AnomalyKind::BruteForce, 10_000));
        assert_ne!(a, Anomaly::id_for("fw-01", AnomalyKind::ErrorBurst, 10_000));
        assert_ne!(a, Anomaly::id_for("fw-01", AnomalyKind::BruteForce, 20_000));
        assert_eq!(a.len(), 19);
    }

    #[test]
    fn kinds_round_trip_through_their_names() {
        for k in AnomalyKind::ALL {
            assert_eq!(AnomalyKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(AnomalyKind::parse("meteor"), None);
    }
}
