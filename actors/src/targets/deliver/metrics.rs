//! Per-target delivery metrics and their Prometheus series (`tocsin_delivery_*`).

use crate::metrics::{esc, header, new_latency_histogram};
use hdrhistogram::Histogram;
use std::fmt::Write as _;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};

/// Counters of one delivering target.
#[derive(Debug)]
pub struct DeliveryMetrics {
    /// Target name.
    pub name: String,
    /// Target kind (`webhook`, `pagerduty`, `slack`, `syslog`).
    pub kind: &'static str,
    /// Requests delivered (2xx, or written to the syslog socket).
    pub sent: AtomicU64,
    /// Failed attempts (any non-2xx answer, timeout or connection error).
    pub failed: AtomicU64,
    /// Attempts that were retried after a failure.
    pub retried: AtomicU64,
    /// Requests written to the spill file.
    pub spilled: AtomicU64,
    /// Requests dead-lettered (rejected, gave up, spill full).
    pub dead_lettered: AtomicU64,
    /// Items this kind of target cannot send (events to PagerDuty, ...), dropped and counted.
    pub unsupported: AtomicU64,
    /// Requests waiting in memory and in the spill file (gauge).
    pub queue_depth: AtomicU64,
    /// Latency from a request's creation to its delivery, in µs.
    pub latency_us: Mutex<Histogram<u64>>,
}

impl DeliveryMetrics {
    /// New metrics for a target.
    pub fn new(name: &str, kind: &'static str) -> Arc<DeliveryMetrics> {
        Arc::new(DeliveryMetrics {
            name: name.to_owned(),
            kind,
            sent: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            retried: AtomicU64::new(0),
            spilled: AtomicU64::new(0),
            dead_lettered: AtomicU64::new(0),
            unsupported: AtomicU64::new(0),
            queue_depth: AtomicU64::new(0),
            latency_us: Mutex::new(new_latency_histogram()),
        })
    }
}

impl DeliveryMetrics {
    /// The counters as JSON (for `/api/v1/pipeline`'s `deliveries`), latency in ms.
    pub fn snapshot(&self) -> serde_json::Value {
        let latency = self.latency_us.lock().map(|h| {
            let q = |p: f64| h.value_at_quantile(p) as f64 / 1000.0;
            serde_json::json!({"count": h.len(), "p50": q(0.5), "p90": q(0.9), "p99": q(0.99), "max": h.max() as f64 / 1000.0})
        });
        serde_json::json!({
            "name": self.name, "type": self.kind,
            "sent": self.sent.load(Relaxed),
            "failed": self.failed.load(Relaxed),
            "retried": self.retried.load(Relaxed),
            "spilled": self.spilled.load(Relaxed),
            "dead_lettered": self.dead_lettered.load(Relaxed),
            "unsupported": self.unsupported.load(Relaxed),
            "queue_depth": self.queue_depth.load(Relaxed),
            "latency_ms": latency.unwrap_or(serde_json::Value::Null),
        })
    }
}

/// Appends the `tocsin_delivery_*` series of `ds` to `w`.
pub fn render_prometheus(w: &mut String, ds: &[Arc<DeliveryMetrics>]) {
    if ds.is_empty() {
        return;
    }
    type Pick = fn(&DeliveryMetrics) -> &AtomicU64;
    let series: [(&str, &str, &str, Pick); 7] = [
        (
            "tocsin_delivery_sent_total",
            "counter",
            "Requests a target delivered.",
            |d| &d.sent,
        ),
        (
            "tocsin_delivery_failed_total",
            "counter",
            "Failed delivery attempts.",
            |d| &d.failed,
        ),
        (
            "tocsin_delivery_retried_total",
            "counter",
            "Delivery attempts retried.",
            |d| &d.retried,
        ),
        (
            "tocsin_delivery_spilled_total",
            "counter",
            "Requests spilled to disk.",
            |d| &d.spilled,
        ),
        (
            "tocsin_delivery_dead_lettered_total",
            "counter",
            "Requests dead-lettered.",
            |d| &d.dead_lettered,
        ),
        (
            "tocsin_delivery_unsupported_total",
            "counter",
            "Items the target kind cannot send.",
            |d| &d.unsupported,
        ),
        (
            "tocsin_delivery_queue_depth",
            "gauge",
            "Requests waiting (memory and spill).",
            |d| &d.queue_depth,
        ),
    ];
    for (name, kind, help, pick) in series {
        header(w, name, kind, help);
        for d in ds {
            let _ = writeln!(
                w,
                "{name}{{target=\"{}\",type=\"{}\"}} {}",
                esc(&d.name),
                d.kind,
                pick(d).load(Relaxed)
            );
        }
    }
    header(
        w,
        "tocsin_delivery_latency_seconds",
        "summary",
        "Time from a request's creation to its delivery.",
    );
    for d in ds {
        if let Ok(h) = d.latency_us.lock() {
            for q in [0.5, 0.9, 0.99] {
                let _ = writeln!(
                    w,
                    "tocsin_delivery_latency_seconds{{target=\"{}\",quantile=\"{q}\"}} {}",
                    esc(&d.name),
                    h.value_at_quantile(q) as f64 / 1e6
                );
            }
            let _ = writeln!(
                w,
                "tocsin_delivery_latency_seconds_count{{target=\"{}\"}} {}",
                esc(&d.name),
                h.len()
            );
        }
    }
}
