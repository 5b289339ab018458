//! The run's figures: a human table on stdout and the same figures as JSON.

use std::fmt::Write as _;

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
    /// Events/s asked for, `"max"`, or `"scenario"` (the scenario's own schedule).
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
    /// The scenario played, when one was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scenario: Option<ScenarioInfo>,
    /// Latency from the engine's receive stamp to the harness's listener, and what it got.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub harness: Option<HarnessSide>,
    /// The engine's CPU and memory (with `--spawn`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resources: Option<Resources>,
    /// Sent and delivered once a second.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub timeline: Vec<TimePoint>,
    /// Detection against the scenario's truth, or why it could not be measured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detection: Option<Value>,
    /// Correlation against the scenario's truth (compression, root-cause accuracy), or why it
    /// could not be measured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correlation: Option<Value>,
    /// The same workload against a peer (rsyslog), in the same run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peer: Option<Value>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScenarioInfo {
    pub name: String,
    pub sources: usize,
    pub devices: usize,
    pub faults: usize,
    /// Where the truth was written.
    pub truth: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct HarnessSide {
    pub received: u64,
    pub latency_ms: LatencyReport,
}

#[derive(Debug, Clone, Serialize)]
pub struct Resources {
    pub peak_rss_mib: f64,
    pub cpu_secs: f64,
    pub mean_cores: f64,
    pub peak_cores: f64,
    /// Whether the engine drained and exited 0 on SIGTERM.
    pub clean_exit: bool,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct TimePoint {
    /// Seconds since sending started.
    pub t: f64,
    pub sent: u64,
    pub delivered: u64,
}

/// p50, p99, p99.9 and max of a histogram of microseconds, in ms.
pub fn percentiles_ms(h: &hdrhistogram::Histogram<u64>) -> LatencyReport {
    if h.is_empty() {
        return LatencyReport::default();
    }
    let q = |q: f64| Some(h.value_at_quantile(q) as f64 / 1000.0);
    LatencyReport {
        p50: q(0.5),
        p99: q(0.99),
        p999: q(0.999),
        max: Some(h.max() as f64 / 1000.0),
    }
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
            scenario: None,
            harness: None,
            resources: None,
            timeline: Vec::new(),
            detection: None,
            correlation: None,
            peer: None,
        }
    }

    /// The human table.
    pub fn table(&self) -> String {
        let rate = match &self.rate_target {
            Value::Number(n) => format!("{:.0} ev/s", n.as_f64().unwrap_or(0.0)),
            Value::String(s) if s == "scenario" => "the scenario's schedule".to_string(),
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
        if let Some(h) = &self.harness {
            row("listener got", h.received.to_string());
            row("listener p50", ms(h.latency_ms.p50));
            row("listener p99", ms(h.latency_ms.p99));
            row("listener max", ms(h.latency_ms.max));
        }
        if let Some(r) = &self.resources {
            row("engine peak RSS", format!("{:.1} MiB", r.peak_rss_mib));
            row(
                "engine CPU",
                format!(
                    "{:.1} s, {:.2} cores mean, {:.2} peak",
                    r.cpu_secs, r.mean_cores, r.peak_cores
                ),
            );
            row(
                "engine exit",
                if r.clean_exit {
                    "clean (drained)"
                } else {
                    "NOT clean"
                }
                .to_string(),
            );
        }
        if let Some(sc) = &self.scenario {
            row(
                "scenario",
                format!(
                    "{} ({} sources, {} devices, {} faults; truth {})",
                    sc.name, sc.sources, sc.devices, sc.faults, sc.truth
                ),
            );
        }
        if let Some(d) = &self.detection {
            row("detection", detection_line(d));
        }
        if let Some(c) = &self.correlation {
            row("correlation", correlation_line(c));
        }
        if let Some(p) = &self.peer {
            row(
                "peer",
                format!(
                    "{} {}: delivered {} of {}, {:.0} ev/s",
                    p["name"].as_str().unwrap_or("?"),
                    p["version"].as_str().unwrap_or(""),
                    p["delivered"],
                    p["sent"],
                    p["throughput_eps"].as_f64().unwrap_or(0.0)
                ),
            );
        }
        s
    }

    /// The same figures as a Markdown document.
    pub fn markdown(&self) -> String {
        let mut s = String::from("# tocsin-bench report\n\n");
        if let Some(sc) = &self.scenario {
            let _ = writeln!(
                s,
                "Scenario `{}`: {} sources, {} devices, {} faults (truth: `{}`).\n",
                sc.name, sc.sources, sc.devices, sc.faults, sc.truth
            );
        }
        s.push_str("| figure | value |\n|---|---|\n");
        for line in self.table().lines() {
            let line = line.trim();
            if let Some((k, v)) = split_row(line) {
                let _ = writeln!(s, "| {k} | {} |", v.replace('|', "\\|"));
            }
        }
        if !self.timeline.is_empty() {
            s.push_str(
                "\n## Events per second\n\n| second | sent/s | delivered/s |\n|---|---|---|\n",
            );
            let mut prev = TimePoint {
                t: 0.0,
                sent: 0,
                delivered: 0,
            };
            for p in &self.timeline {
                let dt = (p.t - prev.t).max(1e-9);
                let _ = writeln!(
                    s,
                    "| {:.0} | {:.0} | {:.0} |",
                    p.t,
                    p.sent.saturating_sub(prev.sent) as f64 / dt,
                    p.delivered.saturating_sub(prev.delivered) as f64 / dt
                );
                prev = *p;
            }
        }
        s
    }
}

/// `  key   value` rows of the table: the key is everything before the first run of 2+ spaces.
fn split_row(line: &str) -> Option<(&str, &str)> {
    let at = line.find("  ")?;
    Some((line[..at].trim(), line[at..].trim()))
}

fn detection_line(d: &Value) -> String {
    match d.get("measured").and_then(Value::as_bool) {
        Some(true) => format!(
            "{} of {} faults detected, {:.2} false anomalies/h on healthy nodes",
            d["detected"],
            d["faults"],
            d["false_per_hour"].as_f64().unwrap_or(0.0)
        ),
        _ => format!(
            "not measured: {}",
            d.get("reason").and_then(Value::as_str).unwrap_or("unknown")
        ),
    }
}

fn correlation_line(c: &Value) -> String {
    if c.get("measured").and_then(Value::as_bool) != Some(true) {
        return format!(
            "not measured: {}",
            c.get("reason").and_then(Value::as_str).unwrap_or("unknown")
        );
    }
    let pct = |v: &Value| {
        v.as_f64()
            .map_or_else(|| "n/a".into(), |f| format!("{:.0} %", f * 100.0))
    };
    let mut s = format!(
        "compression {:.1} % ({} incidents / {} anomalies), root cause @1 {} @3 {} ({} faults)",
        c["compression"].as_f64().unwrap_or(0.0) * 100.0,
        c["incidents"],
        c["anomalies"],
        pct(&c["accuracy_at_1"]),
        pct(&c["accuracy_at_3"]),
        c["faults"],
    );
    let missed = c["missed"].as_array().map_or(0, Vec::len);
    for (n, what) in [
        (missed as u64, "missed"),
        (
            c["merged_faults"].as_u64().unwrap_or(0),
            "merged with another",
        ),
        (
            c["noisy_roots"].as_u64().unwrap_or(0),
            "incidents rooted on a noisy node",
        ),
    ] {
        if n > 0 {
            let _ = write!(s, ", {n} {what}");
        }
    }
    s
}

/// Whether a bigger value of a figure is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Better {
    Higher,
    Lower,
}

/// The figures `--compare` sets side by side: label, JSON pointer, which way is better.
const COMPARED: [(&str, &str, Better); 20] = [
    (
        "sustained ev/s (saturation)",
        "/sustainable_eps",
        Better::Higher,
    ),
    (
        "peer throughput ev/s",
        "/peer/throughput_eps",
        Better::Higher,
    ),
    (
        "peer sustained ev/s",
        "/peer/sustainable_eps",
        Better::Higher,
    ),
    ("throughput ev/s", "/throughput_eps", Better::Higher),
    ("send rate ev/s", "/send_eps", Better::Higher),
    ("delivered", "/delivered", Better::Higher),
    ("dropped", "/dropped", Better::Lower),
    ("lost", "/lost", Better::Lower),
    ("engine latency p50 ms", "/latency_ms/p50", Better::Lower),
    ("engine latency p99 ms", "/latency_ms/p99", Better::Lower),
    ("engine latency p99.9 ms", "/latency_ms/p999", Better::Lower),
    (
        "listener latency p50 ms",
        "/harness/latency_ms/p50",
        Better::Lower,
    ),
    (
        "listener latency p99 ms",
        "/harness/latency_ms/p99",
        Better::Lower,
    ),
    (
        "engine peak RSS MiB",
        "/resources/peak_rss_mib",
        Better::Lower,
    ),
    ("engine CPU s", "/resources/cpu_secs", Better::Lower),
    ("faults detected", "/detection/detected", Better::Higher),
    (
        "false anomalies/h",
        "/detection/false_per_hour",
        Better::Lower,
    ),
    (
        "incident compression",
        "/correlation/compression",
        Better::Higher,
    ),
    (
        "root cause accuracy@1",
        "/correlation/accuracy_at_1",
        Better::Higher,
    ),
    (
        "root cause accuracy@3",
        "/correlation/accuracy_at_3",
        Better::Higher,
    ),
];

/// A table of the figures of two reports (the JSON of an earlier run, and this one): old, new,
/// the change in percent, and whether it is better or worse. Figures missing on either side
/// show as n/a.
pub fn compare(old: &Value, new: &Value) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "  {:<26} {:>14} {:>14} {:>9}",
        "figure", "old", "new", "change"
    );
    for (label, pointer, better) in COMPARED {
        let (a, b) = (
            old.pointer(pointer).and_then(Value::as_f64),
            new.pointer(pointer).and_then(Value::as_f64),
        );
        let fmt = |v: Option<f64>| v.map_or_else(|| "n/a".into(), |v| format!("{v:.3}"));
        let change = match (a, b) {
            (Some(a), Some(b)) if a == b => "=".to_string(),
            (Some(a), Some(b)) => {
                let verdict = if (b > a) == (better == Better::Higher) {
                    "better"
                } else {
                    "worse"
                };
                if a == 0.0 {
                    verdict.to_string()
                } else {
                    format!("{:+.1}% {verdict}", (b - a) / a.abs() * 100.0)
                }
            }
            _ => "n/a".to_string(),
        };
        let _ = writeln!(s, "  {label:<26} {:>14} {:>14} {change:>9}", fmt(a), fmt(b));
    }
    s
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
            anomalies: 0,
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
    fn compare_shows_change_and_direction() {
        let old = serde_json::json!({
            "throughput_eps": 100000.0, "dropped": 0, "lost": 0,
            "latency_ms": {"p50": 2.0, "p99": 10.0},
            "resources": {"peak_rss_mib": 200.0}
        });
        let new = serde_json::json!({
            "throughput_eps": 125000.0, "dropped": 5, "lost": 0,
            "latency_ms": {"p50": 1.0, "p99": 12.5},
            "resources": {"peak_rss_mib": 200.0}
        });
        let t = compare(&old, &new);
        let line = |label: &str| {
            t.lines()
                .find(|l| l.trim_start().starts_with(label))
                .unwrap()
                .to_string()
        };
        assert!(line("throughput ev/s").ends_with("+25.0% better"), "{t}");
        assert!(
            line("engine latency p50 ms").ends_with("-50.0% better"),
            "{t}"
        );
        assert!(
            line("engine latency p99 ms").ends_with("+25.0% worse"),
            "{t}"
        );
        assert!(line("dropped").ends_with("worse"), "{t}");
        assert!(line("lost").ends_with("="), "{t}");
        assert!(line("engine peak RSS MiB").ends_with("="), "{t}");
        assert!(line("listener latency p50 ms").ends_with("n/a"), "{t}");
    }

    #[test]
    fn correlation_shows_as_a_row_and_in_the_comparison() {
        let c = serde_json::json!({
            "measured": true, "compression": 0.9409722, "incidents": 17, "anomalies": 288,
            "accuracy_at_1": 0.875, "accuracy_at_3": 1.0, "faults": 8,
            "missed": [], "merged_faults": 2, "noisy_roots": 0
        });
        let line = correlation_line(&c);
        assert_eq!(
            line,
            "compression 94.1 % (17 incidents / 288 anomalies), root cause @1 88 % @3 100 % \
             (8 faults), 2 merged with another"
        );
        let off = serde_json::json!({"measured": false, "reason": "no /api/v1/incidents"});
        assert_eq!(correlation_line(&off), "not measured: no /api/v1/incidents");
        let old = serde_json::json!({"correlation": c});
        let new = serde_json::json!({"correlation": {
            "compression": 0.95, "accuracy_at_1": 0.75, "accuracy_at_3": 1.0
        }});
        let t = compare(&old, &new);
        let row = |label: &str| {
            t.lines()
                .find(|l| l.trim_start().starts_with(label))
                .unwrap()
        };
        assert!(row("incident compression").ends_with("better"), "{t}");
        assert!(row("root cause accuracy@1").ends_with("worse"), "{t}");
        assert!(row("root cause accuracy@3").ends_with("="), "{t}");
    }

    #[test]
    fn percentiles_come_from_the_histogram() {
        let mut h = hdrhistogram::Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3).unwrap();
        // 1 ms .. 1000 ms, one each: p50 is 500 ms, p99 990 ms, max 1000 ms (3 digits).
        for ms in 1..=1000u64 {
            h.record(ms * 1000).unwrap();
        }
        let p = percentiles_ms(&h);
        let near = |v: Option<f64>, want: f64| (v.unwrap() - want).abs() <= want * 0.001 + 1e-9;
        assert!(near(p.p50, 500.0), "{p:?}");
        assert!(near(p.p99, 990.0), "{p:?}");
        assert!(near(p.p999, 999.0), "{p:?}");
        assert!(near(p.max, 1000.0), "{p:?}");
        let empty = hdrhistogram::Histogram::<u64>::new(3).unwrap();
        assert_eq!(percentiles_ms(&empty), LatencyReport::default());
    }

    #[test]
    fn markdown_has_every_table_row_and_the_timeline() {
        let delta = Totals {
            received: 10,
            delivered: 10,
            ..Totals::default()
        };
        let mut r = Report::new(&facts(), &delta, DrainEnd::Complete, None, Value::Null);
        r.timeline = vec![
            TimePoint {
                t: 1.0,
                sent: 600,
                delivered: 500,
            },
            TimePoint {
                t: 2.0,
                sent: 1000,
                delivered: 1000,
            },
        ];
        let md = r.markdown();
        assert!(md.contains("| sent | 1000 |"), "{md}");
        assert!(md.contains("| latency p50 | n/a |"), "{md}");
        assert!(md.contains("| 2 | 400 | 500 |"), "{md}");
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
