//! Client for the engine's control plane: `GET /api/v1/pipeline` (totals and end-to-end latency)
//! and `POST /api/v1/pipeline/latency/reset`. Parsing is lenient: a missing or odd field reads
//! as 0, so the harness keeps working while the engine's JSON grows.

use std::time::Duration;

use anyhow::{anyhow, Result};
use serde_json::Value;

/// Counters from `totals` of the pipeline JSON.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    pub received: u64,
    pub delivered: u64,
    pub dropped: u64,
    pub parse_errors: u64,
    pub dead_letters: u64,
    /// Anomalies the engine found and delivered beside the events (not in `delivered`).
    pub anomalies: u64,
}

impl Totals {
    /// Events whose fate is known: delivered, dropped or rejected as unparsable.
    pub fn accounted(&self) -> u64 {
        self.delivered + self.dropped + self.parse_errors
    }

    /// `self - base`, saturating (an engine restart resets counters).
    pub fn since(&self, base: &Totals) -> Totals {
        Totals {
            received: self.received.saturating_sub(base.received),
            delivered: self.delivered.saturating_sub(base.delivered),
            dropped: self.dropped.saturating_sub(base.dropped),
            parse_errors: self.parse_errors.saturating_sub(base.parse_errors),
            dead_letters: self.dead_letters.saturating_sub(base.dead_letters),
            anomalies: self.anomalies.saturating_sub(base.anomalies),
        }
    }
}

/// `latency_ms` of the pipeline JSON: receive-to-sink delivery latency.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LatencyMs {
    pub count: u64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

/// The parts of `GET /api/v1/pipeline` the harness uses.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PipelineSnapshot {
    pub uptime_s: f64,
    pub totals: Totals,
    pub latency_ms: LatencyMs,
}

fn num_u64(v: &Value, ptr: &str) -> u64 {
    match v.pointer(ptr) {
        Some(Value::Number(n)) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
            .unwrap_or(0),
        _ => 0,
    }
}

fn num_f64(v: &Value, ptr: &str) -> f64 {
    v.pointer(ptr)
        .and_then(Value::as_f64)
        .filter(|f| f.is_finite())
        .unwrap_or(0.0)
}

impl PipelineSnapshot {
    /// Like [`PipelineSnapshot::from_json`], but counting as delivered only what reached
    /// target `name` (the engine's total adds up every target an event was routed to), less
    /// the anomalies the engine sent it beside the events.
    pub fn for_target(v: &Value, name: &str) -> PipelineSnapshot {
        let mut s = PipelineSnapshot::raw(v);
        let stage = format!("target-{name}");
        s.totals.delivered = v
            .get("stages")
            .and_then(Value::as_array)
            .and_then(|stages| stages.iter().find(|st| st["name"] == stage.as_str()))
            .map_or(0, |st| num_u64(st, "/events_out"))
            .saturating_sub(s.totals.anomalies);
        s
    }

    /// The pipeline's counters. `delivered` is the traffic the targets wrote: the engine's
    /// total counts its anomalies too, once per default target, and those are taken out.
    pub fn from_json(v: &Value) -> PipelineSnapshot {
        let mut s = PipelineSnapshot::raw(v);
        let routes = v
            .pointer("/config/default_targets")
            .and_then(Value::as_array)
            .map_or(1, |t| t.len() as u64);
        s.totals.delivered = s
            .totals
            .delivered
            .saturating_sub(s.totals.anomalies * routes);
        s
    }

    fn raw(v: &Value) -> PipelineSnapshot {
        PipelineSnapshot {
            uptime_s: num_f64(v, "/uptime_s"),
            totals: Totals {
                received: num_u64(v, "/totals/received"),
                delivered: num_u64(v, "/totals/delivered"),
                dropped: num_u64(v, "/totals/dropped"),
                parse_errors: num_u64(v, "/totals/parse_errors"),
                dead_letters: num_u64(v, "/totals/dead_letters"),
                anomalies: num_u64(v, "/totals/generated"),
            },
            latency_ms: LatencyMs {
                count: num_u64(v, "/latency_ms/count"),
                p50: num_f64(v, "/latency_ms/p50"),
                p90: num_f64(v, "/latency_ms/p90"),
                p99: num_f64(v, "/latency_ms/p99"),
                p999: num_f64(v, "/latency_ms/p999"),
                max: num_f64(v, "/latency_ms/max"),
            },
        }
    }
}

/// A blocking HTTP client for the engine API.
#[derive(Debug)]
pub struct EngineApi {
    agent: ureq::Agent,
    base: String,
}

impl EngineApi {
    pub fn new(base: &str) -> EngineApi {
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(Duration::from_secs(3))
            .timeout(Duration::from_secs(10))
            .build();
        EngineApi {
            agent,
            base: base.trim_end_matches('/').to_string(),
        }
    }

    /// The pipeline JSON, parsed (delivery counted at `target` when given) and raw.
    pub fn pipeline_at(&self, target: Option<&str>) -> Result<(PipelineSnapshot, Value)> {
        let (snap, json) = self.pipeline()?;
        Ok(match target {
            Some(t) => (PipelineSnapshot::for_target(&json, t), json),
            None => (snap, json),
        })
    }

    /// The pipeline JSON, parsed and raw.
    pub fn pipeline(&self) -> Result<(PipelineSnapshot, Value)> {
        let url = format!("{}/api/v1/pipeline", self.base);
        let resp = self.agent.get(&url).call().map_err(|e| describe(&url, e))?;
        let json: Value = serde_json::from_reader(resp.into_reader())
            .map_err(|e| anyhow!("GET {url}: the answer is not JSON: {e}"))?;
        Ok((PipelineSnapshot::from_json(&json), json))
    }

    /// Whether `GET /ready` answers 200.
    pub fn ready(&self) -> bool {
        let url = format!("{}/ready", self.base);
        matches!(self.agent.get(&url).call(), Ok(r) if r.status() == 200)
    }

    /// `GET {path}` as JSON; `Ok(None)` when the engine answers 404 (it has no such resource).
    pub fn get_json(&self, path: &str) -> Result<Option<Value>> {
        let url = format!("{}{path}", self.base);
        match self.agent.get(&url).call() {
            Ok(resp) => Ok(Some(
                serde_json::from_reader(resp.into_reader())
                    .map_err(|e| anyhow!("GET {url}: the answer is not JSON: {e}"))?,
            )),
            Err(ureq::Error::Status(404, _)) => Ok(None),
            Err(e) => Err(describe(&url, e)),
        }
    }

    /// Clears the engine's latency histogram so it covers this run only.
    pub fn reset_latency(&self) -> Result<()> {
        let url = format!("{}/api/v1/pipeline/latency/reset", self.base);
        self.agent
            .post(&url)
            .send_bytes(&[])
            .map_err(|e| describe(&url, e))?;
        Ok(())
    }
}

fn describe(url: &str, e: ureq::Error) -> anyhow::Error {
    match e {
        ureq::Error::Status(code, resp) => {
            let body = resp.into_string().unwrap_or_default();
            anyhow!("{url} answered HTTP {code}: {}", body.trim())
        }
        ureq::Error::Transport(t) => anyhow!("engine API unreachable: {t}"),
    }
}

#[cfg(test)]
mod target_tests {
    use super::*;

    #[test]
    fn delivery_is_counted_at_the_named_target() {
        let v = serde_json::json!({
            "totals": {"received": 10, "delivered": 20},
            "stages": [
                {"name": "target-file", "kind": "target", "events_out": 10},
                {"name": "target-harness", "kind": "target", "events_out": 9},
            ]
        });
        assert_eq!(PipelineSnapshot::from_json(&v).totals.delivered, 20);
        assert_eq!(
            PipelineSnapshot::for_target(&v, "harness").totals.delivered,
            9
        );
        assert_eq!(
            PipelineSnapshot::for_target(&v, "harness").totals.received,
            10
        );
        assert_eq!(PipelineSnapshot::for_target(&v, "nope").totals.delivered, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"{"uptime_s": 12.5,
      "totals": {"received": 1000, "delivered": 990, "dropped": 4, "parse_errors": 6, "dead_letters": 6},
      "latency_ms": {"count": 990, "p50": 1.25, "p90": 2.5, "p99": 7.0, "p999": 12.0, "max": 31.5},
      "connectors": [{"name": "syslog-tcp"}], "stages": [], "sinks": [], "config": {}}"#;

    #[test]
    fn a_targets_delivered_count_leaves_out_the_engines_anomalies() {
        let v = serde_json::json!({
            "totals": {"received": 10, "delivered": 13, "generated": 3},
            "stages": [{"name": "target-harness", "events_out": 13}],
        });
        let s = PipelineSnapshot::for_target(&v, "harness");
        assert_eq!((s.totals.delivered, s.totals.anomalies), (10, 3));
        let two_routes = serde_json::json!({
            "totals": {"received": 10, "delivered": 26, "generated": 3},
            "config": {"default_targets": ["a", "b"]},
        });
        assert_eq!(
            PipelineSnapshot::from_json(&two_routes).totals.delivered,
            20
        );
    }

    #[test]
    fn reads_full_pipeline_json() {
        let v: Value = serde_json::from_str(SAMPLE).unwrap();
        let s = PipelineSnapshot::from_json(&v);
        assert_eq!(s.uptime_s, 12.5);
        assert_eq!(
            s.totals,
            Totals {
                received: 1000,
                delivered: 990,
                dropped: 4,
                parse_errors: 6,
                dead_letters: 6,
                anomalies: 0,
            }
        );
        assert_eq!(s.totals.accounted(), 1000);
        assert_eq!(s.latency_ms.count, 990);
        assert_eq!((s.latency_ms.p50, s.latency_ms.p99), (1.25, 7.0));
        assert_eq!((s.latency_ms.p999, s.latency_ms.max), (12.0, 31.5));
    }

    #[test]
    fn missing_or_odd_fields_read_as_zero() {
        let v: Value = serde_json::from_str(
            r#"{"totals": {"received": 5, "delivered": "many", "dropped": -1},
                "latency_ms": {"p99": 3.5}}"#,
        )
        .unwrap();
        let s = PipelineSnapshot::from_json(&v);
        assert_eq!(s.totals.received, 5);
        assert_eq!(s.totals.delivered, 0);
        assert_eq!(s.totals.dropped, 0);
        assert_eq!(s.totals.parse_errors, 0);
        assert_eq!(s.latency_ms.p99, 3.5);
        assert_eq!(s.latency_ms.p50, 0.0);
        assert_eq!(s.uptime_s, 0.0);
        assert_eq!(
            PipelineSnapshot::from_json(&Value::Null),
            PipelineSnapshot::default()
        );
    }

    #[test]
    fn since_subtracts_baseline_and_saturates() {
        let base = Totals {
            received: 10,
            delivered: 8,
            ..Totals::default()
        };
        let now = Totals {
            received: 25,
            delivered: 5,
            ..Totals::default()
        };
        let d = now.since(&base);
        assert_eq!((d.received, d.delivered), (15, 0));
    }

    #[test]
    fn unreachable_engine_is_a_clear_error() {
        // A port that was just free: nothing listens there.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let api = EngineApi::new(&format!("http://127.0.0.1:{port}"));
        let err = api.pipeline().unwrap_err().to_string();
        assert!(err.contains("engine API unreachable"), "{err}");
    }
}
