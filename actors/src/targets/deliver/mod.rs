//! Delivering targets (webhook, PagerDuty, Slack, syslog forward): a task per target that
//! renders what it is sent, queues it, retries it and spills it, so nothing is lost.
//!
//! Input: one bounded link of [`Outbound`] per target (`link::<Outbound>(n)`): routed event
//! batches and alert notifications share it, so one target keeps one order. The target's
//! `Formatter` (tocsin-engine `notify::request`) turns each into requests.
//!
//! Delivery: requests wait in a [`PendingQueue`] (memory, then the spill file); one is in
//! flight at a time, in FIFO order. 2xx delivers; 429, 5xx and 408 retry with exponential
//! backoff and full jitter (or the receiver's `Retry-After`, capped at `backoff_max_ms`) up to
//! `max_attempts` such answers, then dead-letter (`target_gave_up`); any other 4xx
//! dead-letters at once (`target_rejected`). A target that cannot be reached at all
//! (connection refused, no answer in time) is down: its head request is retried with the same
//! backoff for as long as the outage lasts, without counting toward `max_attempts`, and is
//! the probe that finds the target back. After any failed attempt new requests spill until a
//! delivery succeeds. When the input closes, what is pending is
//! delivered until the shutdown deadline, and the rest spilled for the next start.

mod metrics;
mod queue;
mod transport;

pub use metrics::{render_prometheus, DeliveryMetrics};
pub use queue::{Admitted, DeliveryItem, PendingQueue};
pub use transport::{classify, HttpTransport, Outcome, SyslogTransport, Transport};

use crate::batch::TargetBatch;
use crate::deadletter::{DeadLetterOrigin, DeadLetters};
use crate::link::SharedReceiver;
use futures_util::StreamExt;
use rand::{Rng, SeedableRng};
use std::path::Path;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tocsin_engine::notify::config::{
    DeliveryConfig, PagerDutyConfig, SlackConfig, SyslogConfig, WebhookConfig,
};
use tocsin_engine::notify::request::{Formatter, Payload};
use tocsin_engine::notify::Notification;
use tokio::sync::{watch, Notify};
use tokio::time::Instant;

/// What a delivering target is sent.
#[derive(Clone)]
pub enum Outbound {
    /// Routed events (webhook, Slack, syslog send them; PagerDuty counts them unsupported).
    Events(TargetBatch),
    /// An alert notification.
    Notify(Arc<Notification>),
}

impl std::fmt::Debug for Outbound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outbound::Events(b) => write!(f, "Events({})", b.events.len()),
            Outbound::Notify(n) => write!(f, "Notify({} alerts)", n.alerts.len()),
        }
    }
}

/// Everything one delivering target needs to run.
#[derive(Debug)]
pub struct DeliveryTarget {
    /// Target name (spill file name, metrics label).
    pub name: String,
    /// Turns input into requests.
    pub formatter: Formatter,
    /// Sends requests.
    pub transport: Box<dyn Transport>,
    /// Queue, retry and spill settings.
    pub delivery: DeliveryConfig,
    /// The spill file (`<data_dir>/spill/<name>.ndjson`).
    pub spill_path: std::path::PathBuf,
    /// Where refused and abandoned requests go.
    pub dead_letters: DeadLetters,
    /// Counters (register them with `PipelineMetrics::add_delivery`).
    pub metrics: Arc<DeliveryMetrics>,
    /// How long to keep delivering after the input closed before spilling the rest.
    pub shutdown_grace: Duration,
}

/// Why a target could not be built.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryBuildError {
    /// A template did not compile.
    #[error("target {target}: {source}")]
    Template {
        /// Target name.
        target: String,
        /// The template error.
        source: tocsin_engine::notify::template::TemplateError,
    },
    /// The HTTP client could not be built.
    #[error("target {target}: HTTP client: {source}")]
    Http {
        /// Target name.
        target: String,
        /// The client error.
        source: reqwest::Error,
    },
}

impl DeliveryTarget {
    fn with(
        name: &str,
        kind: &'static str,
        formatter: Formatter,
        transport: Box<dyn Transport>,
        delivery: &DeliveryConfig,
        data_dir: &Path,
        dead_letters: DeadLetters,
    ) -> DeliveryTarget {
        DeliveryTarget {
            name: name.to_owned(),
            formatter,
            transport,
            delivery: delivery.clone(),
            spill_path: spill_path(data_dir, name),
            dead_letters,
            metrics: DeliveryMetrics::new(name, kind),
            shutdown_grace: Duration::from_secs(10),
        }
    }

    fn http(name: &str, d: &DeliveryConfig) -> Result<Box<dyn Transport>, DeliveryBuildError> {
        HttpTransport::new(Duration::from_millis(d.timeout_ms))
            .map(|t| Box::new(t) as Box<dyn Transport>)
            .map_err(|source| DeliveryBuildError::Http {
                target: name.to_owned(),
                source,
            })
    }

    /// A webhook target (generic or preset).
    pub fn webhook(
        c: &WebhookConfig,
        data_dir: &Path,
        dl: DeadLetters,
    ) -> Result<DeliveryTarget, DeliveryBuildError> {
        let f = c.build().map_err(|source| DeliveryBuildError::Template {
            target: c.name.clone(),
            source,
        })?;
        let t = Self::http(&c.name, &c.delivery)?;
        Ok(Self::with(
            &c.name,
            "webhook",
            f,
            t,
            &c.delivery,
            data_dir,
            dl,
        ))
    }

    /// A PagerDuty Events v2 target.
    pub fn pagerduty(
        c: &PagerDutyConfig,
        data_dir: &Path,
        dl: DeadLetters,
    ) -> Result<DeliveryTarget, DeliveryBuildError> {
        let t = Self::http(&c.name, &c.delivery)?;
        Ok(Self::with(
            &c.name,
            "pagerduty",
            c.build(),
            t,
            &c.delivery,
            data_dir,
            dl,
        ))
    }

    /// A Slack incoming-webhook target.
    pub fn slack(
        c: &SlackConfig,
        data_dir: &Path,
        dl: DeadLetters,
    ) -> Result<DeliveryTarget, DeliveryBuildError> {
        let t = Self::http(&c.name, &c.delivery)?;
        Ok(Self::with(
            &c.name,
            "slack",
            c.build(),
            t,
            &c.delivery,
            data_dir,
            dl,
        ))
    }

    /// A syslog forward target.
    pub fn syslog(c: &SyslogConfig, data_dir: &Path, dl: DeadLetters) -> DeliveryTarget {
        let t = Box::new(SyslogTransport::new(&c.address, c.protocol));
        Self::with(&c.name, "syslog", c.build(), t, &c.delivery, data_dir, dl)
    }
}

/// `<data_dir>/spill/<name>.ndjson`, with any character of `name` other than ASCII letters,
/// digits, `-`, `_` and `.` replaced by `_` (a name cannot leave the folder).
pub fn spill_path(data_dir: &Path, name: &str) -> std::path::PathBuf {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let safe = if safe.starts_with('.') {
        format!("_{safe}")
    } else {
        safe
    };
    data_dir.join("spill").join(format!("{safe}.ndjson"))
}

/// What a finished target did with its last requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeliveryReport {
    /// Requests written to the spill file at shutdown (delivered on the next start).
    pub spilled_at_shutdown: u64,
    /// Requests dead-lettered at shutdown (spill off or failed).
    pub dead_lettered_at_shutdown: u64,
}

struct Shared {
    queue: Mutex<PendingQueue>,
    wake: Notify,
    metrics: Arc<DeliveryMetrics>,
    dead_letters: DeadLetters,
    name: String,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, PendingQueue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn depth(&self, q: &PendingQueue) {
        self.metrics.queue_depth.store(q.depth(), Relaxed);
    }

    fn dead_letter(&self, item: &DeliveryItem, reason: &'static str, error: &str) {
        self.metrics.dead_lettered.fetch_add(1, Relaxed);
        tracing::warn!(target = %self.name, reason, error, "request dead-lettered");
        let origin = DeadLetterOrigin {
            source: &self.name,
            stage: "deliver",
            received_ns: item.created_ns,
        };
        self.dead_letters
            .write(origin, reason, error, item.request.body.as_bytes());
    }
}

/// Starts the target's task on the current tokio runtime (an actix arbiter's will do). It
/// consumes `input` until every sender is dropped, then drains or spills and ends with a
/// [`DeliveryReport`].
pub fn spawn_delivery(
    target: DeliveryTarget,
    input: SharedReceiver<Outbound>,
) -> std::io::Result<tokio::task::JoinHandle<DeliveryReport>> {
    let spill = target
        .delivery
        .spill
        .then_some((target.spill_path.as_path(), target.delivery.spill_max_bytes));
    let queue = PendingQueue::open(target.delivery.queue_capacity, spill)?;
    let shared = Arc::new(Shared {
        queue: Mutex::new(queue),
        wake: Notify::new(),
        metrics: target.metrics.clone(),
        dead_letters: target.dead_letters.clone(),
        name: target.name.clone(),
    });
    {
        let q = shared.lock();
        shared.depth(&q);
    }
    let (deadline_tx, deadline_rx) = watch::channel(None::<Instant>);
    let intake = tokio::spawn(intake(
        shared.clone(),
        target.formatter,
        input,
        deadline_tx,
        target.shutdown_grace,
    ));
    Ok(tokio::spawn(async move {
        let report = sender(shared, target.transport, target.delivery, deadline_rx).await;
        let _ = intake.await;
        report
    }))
}

async fn intake(
    shared: Arc<Shared>,
    formatter: Formatter,
    input: SharedReceiver<Outbound>,
    deadline: watch::Sender<Option<Instant>>,
    grace: Duration,
) {
    let mut stream = input.stream();
    while let Some(out) = stream.next().await {
        // Rendering runs templates over input data: a panic there costs this input only.
        let rendered = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match &out {
            Outbound::Events(b) => formatter.render(Payload::Events(&b.events)),
            Outbound::Notify(n) => formatter.render(Payload::Notification(n)),
        }));
        let rendered = match rendered {
            Ok(r) => r,
            Err(panic) => {
                let why = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                tracing::error!(target = %shared.name, panic = %why, input = ?out, "rendering panicked; input dead-lettered");
                shared.metrics.dead_lettered.fetch_add(1, Relaxed);
                let origin = DeadLetterOrigin {
                    source: &shared.name,
                    stage: "deliver",
                    received_ns: tocsin_engine::clock::now_ns(),
                };
                shared
                    .dead_letters
                    .write(origin, "panic", &why, format!("{out:?}").as_bytes());
                continue;
            }
        };
        shared
            .metrics
            .unsupported
            .fetch_add(rendered.unsupported, Relaxed);
        let now = tocsin_engine::clock::now_ns();
        let mut q = shared.lock();
        for request in rendered.requests {
            match q.admit(DeliveryItem {
                request,
                created_ns: now,
                attempts: 0,
            }) {
                Admitted::Queued => {}
                Admitted::Spilled => {
                    shared.metrics.spilled.fetch_add(1, Relaxed);
                }
                Admitted::Refused(item, reason, error) => shared.dead_letter(&item, reason, &error),
            }
        }
        shared.depth(&q);
        drop(q);
        shared.wake.notify_one();
    }
    let _ = deadline.send(Some(Instant::now() + grace));
    shared.wake.notify_one();
}

/// The backoff before retry number `attempt` (1-based): full jitter over
/// `min(max, initial * 2^(attempt-1))`, or the receiver's `Retry-After` capped at `max`.
pub fn backoff(
    d: &DeliveryConfig,
    attempt: u32,
    retry_after: Option<Duration>,
    rng: &mut impl Rng,
) -> Duration {
    let max = Duration::from_millis(d.backoff_max_ms);
    if let Some(ra) = retry_after {
        return ra.min(max);
    }
    let ceiling = d
        .backoff_initial_ms
        .saturating_mul(1u64 << attempt.saturating_sub(1).min(32))
        .min(d.backoff_max_ms);
    Duration::from_millis(rng.gen_range(0..=ceiling))
}

enum Attempted {
    Done,
    /// The shutdown deadline passed with the item not delivered.
    Stopped(DeliveryItem),
}

async fn sender(
    shared: Arc<Shared>,
    mut transport: Box<dyn Transport>,
    d: DeliveryConfig,
    mut deadline: watch::Receiver<Option<Instant>>,
) -> DeliveryReport {
    let mut rng = rand::rngs::SmallRng::from_entropy();
    loop {
        let wake = shared.wake.notified();
        let next = {
            let mut q = shared.lock();
            let next = q.pop_next();
            shared.depth(&q);
            next
        };
        let closing = *deadline.borrow();
        let item = match (next, closing) {
            (Some(item), Some(at)) if Instant::now() >= at => return stop(&shared, Some(item)),
            (Some(item), _) => item,
            (None, Some(_)) => return stop(&shared, None),
            (None, None) => {
                tokio::select! {
                    _ = wake => {}
                    _ = deadline.changed() => {}
                }
                continue;
            }
        };
        match attempt(
            &shared,
            transport.as_mut(),
            &d,
            item,
            &mut deadline,
            &mut rng,
        )
        .await
        {
            Attempted::Done => {}
            Attempted::Stopped(item) => return stop(&shared, Some(item)),
        }
    }
}

async fn attempt(
    shared: &Shared,
    transport: &mut dyn Transport,
    d: &DeliveryConfig,
    mut item: DeliveryItem,
    deadline: &mut watch::Receiver<Option<Instant>>,
    rng: &mut impl Rng,
) -> Attempted {
    let m = &shared.metrics;
    // Tries made while the target could not be reached: they set the backoff, not the limit.
    let mut unanswered: u32 = 0;
    loop {
        let outcome = match tokio::time::timeout(
            Duration::from_millis(d.timeout_ms),
            transport.send(&item.request),
        )
        .await
        {
            Ok(o) => o,
            Err(_) => {
                transport.reset();
                Outcome::Unreachable {
                    error: format!("no answer within {} ms", d.timeout_ms),
                }
            }
        };
        let (error, retry_after) = match outcome {
            Outcome::Delivered => {
                m.sent.fetch_add(1, Relaxed);
                let us = tocsin_engine::clock::now_ns().saturating_sub(item.created_ns) / 1000;
                if let Ok(mut h) = m.latency_us.lock() {
                    h.saturating_record(us.max(1));
                }
                shared.lock().down = false;
                return Attempted::Done;
            }
            Outcome::Reject { error } => {
                m.failed.fetch_add(1, Relaxed);
                shared.dead_letter(&item, "target_rejected", &error);
                return Attempted::Done;
            }
            Outcome::Unreachable { error } => {
                unanswered = unanswered.saturating_add(1);
                (error, None)
            }
            Outcome::Retry { error, retry_after } => {
                item.attempts += 1;
                (error, retry_after)
            }
        };
        m.failed.fetch_add(1, Relaxed);
        shared.lock().down = true;
        if item.attempts >= d.max_attempts {
            let e = format!("{} attempts; last: {error}", item.attempts);
            shared.dead_letter(&item, "target_gave_up", &e);
            return Attempted::Done;
        }
        let tries = item.attempts.saturating_add(unanswered);
        tracing::debug!(target = %shared.name, attempt = tries, error, "delivery failed; retrying");
        let wait = backoff(d, tries, retry_after, rng);
        let wake_at = Instant::now() + wait;
        loop {
            let closing = *deadline.borrow();
            match closing {
                Some(at) if at <= wake_at => {
                    tokio::time::sleep_until(at).await;
                    return Attempted::Stopped(item);
                }
                Some(_) => {
                    tokio::time::sleep_until(wake_at).await;
                    break;
                }
                None => {
                    tokio::select! {
                        _ = tokio::time::sleep_until(wake_at) => break,
                        _ = deadline.changed() => continue,
                    }
                }
            }
        }
        m.retried.fetch_add(1, Relaxed);
    }
}

/// Shutdown: `head` and everything pending go to the spill file (dead letters without one).
fn stop(shared: &Shared, head: Option<DeliveryItem>) -> DeliveryReport {
    let mut q = shared.lock();
    let report = match q.spill_all(head) {
        Ok(n) => {
            shared.metrics.spilled.fetch_add(n, Relaxed);
            DeliveryReport {
                spilled_at_shutdown: n,
                dead_lettered_at_shutdown: 0,
            }
        }
        Err((items, error)) => {
            for item in &items {
                shared.dead_letter(item, "target_shutdown", &error);
            }
            DeliveryReport {
                spilled_at_shutdown: 0,
                dead_lettered_at_shutdown: items.len() as u64,
            }
        }
    };
    shared.depth(&q);
    report
}

#[cfg(test)]
mod tests;
