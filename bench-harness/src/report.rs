//! The run's figures: a human table on stdout and the same figures as JSON.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;
use serde_json::Value;

use crate::delivery::DrainEnd;
use crate::engine_api::{LatencyMs, Totals};

/// End-to-end delivery latency percentiles; `None` when the peer cannot tell (count-file mode).
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq)]
pub struct LatencyReport {
    pub p50: Option<f64>,
    pub p99: Option<f64>,
    pub p999: Option<f64>,
    pub max: Option<f64>,
}

impl From<&LatencyMs> for LatencyReport {
    fn from(l: &LatencyMs) -> LatencyReport {
        LatencyReport {
            p50: Some(l.p50),
            p99: Some(l.p99),
            p999: Some(l.p999),
            max: Some(l.max),
        }
    }
}

/// Everything a run measured.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub transport: String,
    pub connections: u32,
    /// Events/s asked for, or `"max"`.
    pub rate_target: Value,
    pub sent: u64,
    pub received: u64,
    pub delivered: u64,
    pub dropped: u64,
    pub parse_errors: u64,
    /// `sent - delivered - dropped - parse_errors`; negative if other traffic reached the peer.
    pub lost: i64,
    pub send_secs: f64,
    pub send_eps: f64,
    /// Delivered events over the time from the first send to the last delivery observed.
    pub throughput_eps: f64,
    pub latency_ms: LatencyReport,
    /// `engine-api` or `count-file`.
    pub measured_by: &'static str,
    /// `complete`, `stalled` or `timeout`.
    pub drain: &'static str,
    pub http_retries: u64,
    pub send_errors: u64,
    /// The final pipeline JSON (null in count-file mode).
    pub engine: Value,
}

/// Inputs to [`Report::new`] that come from the run rather than the engine.
#[derive(Debug, Clone)]
pub struct RunFacts {
    pub transport: &'static str,
    pub connections: u32,
    pub rate_target: Option<f64>,
    pub sent: u64,
    pub send_secs: f64,
    /// Seconds from first send to the last delivery observed.
    pub delivery_secs: f64,
    pub http_retries: u64,
    pub send_errors: u64,
}

fn per_sec(n: u64, secs: f64) -> f64 {
    if secs > 0.0 {
        n as f64 / secs
    } else {
        0.0
    }
}

impl Report {
    pub fn new(
        run: &RunFacts,
        delta: &Totals,
        end: DrainEnd,
        latency: Option<&LatencyMs>,
        engine: Value,
    ) -> Report {
        let accounted = delta.delivered + delta.dropped + delta.parse_errors;
        Report {
            transport: run.transport.to_string(),
            connections: run.connections,
            rate_target: run
                .rate_target
                .and_then(|r| serde_json::Number::from_f64(r).map(Value::Number))
                .unwrap_or_else(|| Value::String("max".into())),
            sent: run.sent,
            received: delta.received,
            delivered: delta.delivered,
            dropped: delta.dropped,
            parse_errors: delta.parse_errors,
            lost: run.sent as i64 - accounted as i64,
            send_secs: run.send_secs,
            send_eps: per_sec(run.sent, run.send_secs),
            throughput_eps: per_sec(delta.delivered, run.delivery_secs),
            latency_ms: latency.map(LatencyReport::from).unwrap_or_default(),
            measured_by: if engine.is_null() {
                "count-file"
            } else {
                "engine-api"
            },
            drain: match end {
                DrainEnd::Complete => "complete",
                DrainEnd::Stalled => "stalled",
                DrainEnd::Timeout => "timeout",
            },
            http_retries: run.http_retries,
            send_errors: run.send_errors,
            engine,
        }
    }

    /// The human table.
    pub fn table(&self) -> String {
        let rate = match &self.rate_target {
            Value::Number(n) => format!("{:.0} ev/s", n.as_f64().unwrap_or(0.0)),
            other => other.as_str().unwrap_or("max").to_string(),
        };
        let ms = |v: Option<f64>| v.map_or_else(|| "n/a".to_string(), |v| format!("{v:.3} ms"));
        let mut s = String::new();
        let mut row = |k: &str, v: String| {
            let _ = writeln!(s, "  {k:<18} {v}");
        };
        row(
            "transport",
            format!("{} x{} (target {rate})", self.transport, self.connections),
        );
        row(
            "measured by",
            format!("{} (drain: {})", self.measured_by, self.drain),
        );
        row("sent", self.sent.to_string());
        row("received", self.received.to_string());
        row("delivered", self.delivered.to_string());
        row("dropped", self.dropped.to_string());
        row("parse errors", self.parse_errors.to_string());
        row("lost", self.lost.to_string());
        row("send time", format!("{:.3} s", self.send_secs));
        row("send rate", format!("{:.0} ev/s", self.send_eps));
        row("throughput", format!("{:.0} ev/s", self.throughput_eps));
        row("latency p50", ms(self.latency_ms.p50));
        row("latency p99", ms(self.latency_ms.p99));
        row("latency p99.9", ms(self.latency_ms.p999));
        row("latency max", ms(self.latency_ms.max));
        if self.http_retries > 0 {
            row("http 503 retries", self.http_retries.to_string());
        }
        if self.send_errors > 0 {
            row("send errors", self.send_errors.to_string());
        }
        s
    }

    pub fn write_json(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self)?;
        std::fs::write(path, text + "\n").with_context(|| format!("cannot write {path:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> RunFacts {
        RunFacts {
            transport: "tcp",
            connections: 4,
            rate_target: None,
            sent: 1000,
            send_secs: 0.5,
            delivery_secs: 1.0,
            http_retries: 0,
            send_errors: 0,
        }
    }

    #[test]
    fn json_has_every_contract_field() {
        let delta = Totals {
            received: 1000,
            delivered: 990,
            dropped: 4,
            parse_errors: 3,
            dead_letters: 3,
        };
        let lat = LatencyMs {
            count: 990,
            p50: 1.5,
            p90: 2.0,
            p99: 4.0,
            p999: 9.0,
            max: 12.0,
        };
        let engine = serde_json::json!({"totals": {"delivered": 990}});
        let r = Report::new(&facts(), &delta, DrainEnd::Complete, Some(&lat), engine);
        let v = serde_json::to_value(&r).unwrap();
        for k in [
            "transport",
            "connections",
            "rate_target",
            "sent",
            "received",
            "delivered",
            "dropped",
            "parse_errors",
            "lost",
            "send_secs",
            "send_eps",
            "throughput_eps",
            "latency_ms",
            "engine",
        ] {
            assert!(v.get(k).is_some(), "missing {k}");
        }
        for k in ["p50", "p99", "p999", "max"] {
            assert!(v["latency_ms"][k].is_f64(), "latency_ms.{k}");
        }
        assert_eq!(v["lost"], 3);
        assert_eq!(v["rate_target"], "max");
        assert_eq!(v["send_eps"], 2000.0);
        assert_eq!(v["throughput_eps"], 990.0);
        assert_eq!(v["latency_ms"]["p999"], 9.0);
        assert_eq!(v["engine"]["totals"]["delivered"], 990);
    }

    #[test]
    fn count_file_mode_reports_latency_as_na() {
        let delta = Totals {
            received: 1000,
            delivered: 1000,
            ..Totals::default()
        };
        let mut f = facts();
        f.rate_target = Some(50_000.0);
        let r = Report::new(&f, &delta, DrainEnd::Complete, None, Value::Null);
        let v = serde_json::to_value(&r).unwrap();
        assert!(v["latency_ms"]["p50"].is_null());
        assert_eq!(v["measured_by"], "count-file");
        assert_eq!(v["rate_target"], 50_000.0);
        assert_eq!(v["lost"], 0);
        let table = r.table();
        assert!(
            table.contains("latency p99") && table.contains("n/a"),
            "{table}"
        );
    }
}
