//! Detection quality against a scenario's truth: which injected faults produced an anomaly on
//! their root or an impacted entity, how soon after the fault began, and how many anomalies
//! were raised where nothing was wrong (per hour of event time).
//!
//! Anomalies are read from the engine's `GET /api/v1/anomalies` (a JSON array, or an object
//! with an `anomalies` array, of objects with `entity` and `time` in ms). An engine without
//! that resource (404) gets "not measured" with the reason, never a made-up figure.

use std::collections::HashSet;

use serde::Serialize;
use serde_json::{json, Value};

use crate::engine_api::EngineApi;
use crate::plan::Truth;

/// Event-time grace after a fault ends within which an anomaly still counts for it.
pub const GRACE_MS: i64 = 5 * 60_000;

/// An anomaly as the harness needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Anomaly {
    pub entity: String,
    /// Event time, ms.
    pub time_ms: i64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FaultResult {
    pub id: String,
    pub kind: String,
    pub detected: bool,
    /// Event-time seconds from the fault's start to its first anomaly.
    pub delay_event_secs: Option<f64>,
    /// The same in wall seconds of the run (event time / time scale).
    pub delay_wall_secs: Option<f64>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Detection {
    pub measured: bool,
    pub faults: usize,
    pub detected: usize,
    pub per_fault: Vec<FaultResult>,
    pub anomalies: usize,
    /// Anomalies that match no fault (noisy-but-healthy nodes included).
    pub false_anomalies: usize,
    pub false_per_hour: f64,
}

/// Scores anomalies against the truth.
pub fn score(truth: &Truth, anomalies: &[Anomaly]) -> Detection {
    let mut matched = vec![false; anomalies.len()];
    let mut per_fault = Vec::new();
    for f in truth.faults.iter().filter(|f| f.expect_anomaly) {
        let entities: HashSet<&str> = std::iter::once(f.root.as_str())
            .chain(f.impacted.iter().map(|i| i.entity.as_str()))
            .collect();
        let window = f.start_ms..f.end_ms + GRACE_MS;
        let mut first: Option<i64> = None;
        for (i, a) in anomalies.iter().enumerate() {
            if entities.contains(a.entity.as_str()) && window.contains(&a.time_ms) {
                matched[i] = true;
                first = Some(first.map_or(a.time_ms, |t| t.min(a.time_ms)));
            }
        }
        let delay = first.map(|t| (t - f.start_ms) as f64 / 1000.0);
        per_fault.push(FaultResult {
            id: f.id.clone(),
            kind: f.kind.clone(),
            detected: first.is_some(),
            delay_event_secs: delay,
            delay_wall_secs: delay.map(|d| d / truth.time_scale.max(f64::MIN_POSITIVE)),
        });
    }
    let false_anomalies = matched.iter().filter(|m| !**m).count();
    let hours = (truth.end_ms - truth.start_ms) as f64 / 3_600_000.0;
    Detection {
        measured: true,
        faults: per_fault.len(),
        detected: per_fault.iter().filter(|f| f.detected).count(),
        per_fault,
        anomalies: anomalies.len(),
        false_anomalies,
        false_per_hour: if hours > 0.0 {
            false_anomalies as f64 / hours
        } else {
            0.0
        },
    }
}

/// Reads the anomaly list of an engine's answer; entries without an entity or a time are
/// skipped and counted.
pub fn parse_anomalies(v: &Value) -> (Vec<Anomaly>, usize) {
    let list = v
        .as_array()
        .or_else(|| v.get("anomalies").and_then(Value::as_array));
    let mut out = Vec::new();
    let mut skipped = 0;
    for a in list.into_iter().flatten() {
        let entity = a
            .get("entity")
            .and_then(Value::as_str)
            .or_else(|| a.pointer("/tocsin/entity").and_then(Value::as_str));
        let time = a.get("time").and_then(Value::as_i64);
        match (entity, time) {
            (Some(e), Some(t)) => out.push(Anomaly {
                entity: e.to_string(),
                time_ms: t,
            }),
            _ => skipped += 1,
        }
    }
    (out, skipped)
}

/// Asks the engine for its anomalies and scores them; the JSON for the report.
pub fn measure(api: &EngineApi, truth: &Truth) -> Value {
    match api.get_json("/api/v1/anomalies?limit=100000") {
        Ok(Some(v)) => {
            let (anomalies, skipped) = parse_anomalies(&v);
            let mut d = serde_json::to_value(score(truth, &anomalies)).unwrap_or(Value::Null);
            d["skipped_entries"] = json!(skipped);
            d
        }
        Ok(None) => json!({
            "measured": false,
            "reason": "the engine has no /api/v1/anomalies (no anomaly scoring in this build)",
        }),
        Err(e) => json!({
            "measured": false,
            "reason": format!("{e:#}"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{FaultTruth, Impact};

    fn truth() -> Truth {
        let fault =
            |id: &str, kind: &str, root: &str, start: i64, end: i64, expect: bool| FaultTruth {
                id: id.into(),
                kind: kind.into(),
                root: root.into(),
                start_ms: start,
                end_ms: end,
                impacted: if expect {
                    vec![Impact {
                        entity: format!("{root}-dep"),
                        onset_ms: start + 60_000,
                        signal: "latency".into(),
                    }]
                } else {
                    Vec::new()
                },
                expect_anomaly: expect,
                source_ip: None,
            };
        Truth {
            scenario: "t".into(),
            seed: 1,
            start_ms: 0,
            end_ms: 2 * 3_600_000,
            time_scale: 60.0,
            faults: vec![
                fault("f1", "device_failure", "rtr", 600_000, 1_200_000, true),
                fault("f2", "brute_force", "host", 3_000_000, 3_600_000, true),
                fault("f3", "noisy_node", "noisy", 0, 7_200_000, false),
            ],
        }
    }

    fn a(entity: &str, time_ms: i64) -> Anomaly {
        Anomaly {
            entity: entity.into(),
            time_ms,
        }
    }

    #[test]
    fn a_fault_is_detected_by_its_root_or_a_dependent_inside_the_window() {
        let d = score(
            &truth(),
            &[
                a("rtr-dep", 690_000),
                a("rtr", 720_000),
                a("host", 3_600_000 + GRACE_MS),
            ],
        );
        assert_eq!((d.faults, d.detected), (2, 1));
        assert_eq!(d.per_fault[0].delay_event_secs, Some(90.0));
        assert_eq!(d.per_fault[0].delay_wall_secs, Some(1.5));
        assert!(!d.per_fault[1].detected, "the grace window is half-open");
        assert_eq!(d.false_anomalies, 1);
        assert_eq!(d.false_per_hour, 0.5);
    }

    #[test]
    fn anomalies_on_noisy_or_unrelated_nodes_or_before_a_fault_are_false() {
        let d = score(
            &truth(),
            &[
                a("noisy", 100_000),
                a("noisy", 5_000_000),
                a("rtr", 599_999),
                a("other", 700_000),
            ],
        );
        assert_eq!(d.detected, 0);
        assert_eq!(d.false_anomalies, 4);
        assert_eq!(d.false_per_hour, 2.0);
    }

    #[test]
    fn engine_answers_are_read_as_array_or_object() {
        let v = json!([{"entity": "rtr", "time": 5}, {"time": 6}, {"tocsin": {"entity": "x"}, "time": 7}]);
        let (list, skipped) = parse_anomalies(&v);
        assert_eq!(list, [a("rtr", 5), a("x", 7)]);
        assert_eq!(skipped, 1);
        let (list, _) = parse_anomalies(&json!({"anomalies": [{"entity": "h", "time": 1}]}));
        assert_eq!(list, [a("h", 1)]);
    }
}
