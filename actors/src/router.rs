//! Router shards: decide where each event goes by the priority-ordered routing rules
//! (`config/rules.toml`, see `tocsin_engine::route`), then send each target its events.
//!
//! - With no rule matching an event, it takes the default route (`router.default_targets`).
//! - A batch whose events all go to the same targets (the usual case) reaches them as one
//!   shared `Arc`, never copied; a mixed batch is split by moving each event into the
//!   sub-batch of its target set, still without a copy.
//! - Dropped and throttled events are counted (`rule_drop`, `throttled`).
//! - A Detection Finding is also handed to the alert manager with the rules' decision
//!   (priority, receivers, runbook), where it becomes or updates an alert: the correlator's
//!   incidents, or the scorers' anomalies when alerts are per anomaly (`alerts.on`).
//! - The rules are shared behind an `ArcSwap`: the API replaces them and the next batch uses
//!   the new set.

use crate::alerts::{AlertBatch, AlertCandidate, AlertSubject};
use crate::batch::{EventBatch, TargetBatch};
use crate::link::SharedReceiver;
use crate::metrics::StageMetrics;
use crate::stage::{forward, guarded, Completion};
use crate::targets::Outbound;
use actix::{Actor, AsyncContext, Context, StreamHandler, Supervised};
use arc_swap::ArcSwap;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use tocsin_engine::route::{Outcome, RuleSet, Throttle};
use tocsin_engine::schema::Event;
use tokio::sync::mpsc::Sender;

/// The routing rules every router shard reads; replaced whole by the API.
pub type SharedRules = Arc<ArcSwap<RuleSet>>;

/// A target's input, as the router sees it.
#[derive(Debug, Clone)]
pub enum TargetLink {
    /// A sink that takes event batches (file, tcp, stdout, blackhole).
    Events(Sender<TargetBatch>),
    /// A delivery target that takes events and notifications (webhook, Slack, syslog).
    Delivery(Sender<Outbound>),
}

impl TargetLink {
    fn forward(&self, ctx: &mut Context<RouterShard>, batch: &TargetBatch) -> bool {
        match self {
            TargetLink::Events(tx) => forward(ctx, tx, batch.clone()),
            TargetLink::Delivery(tx) => forward(ctx, tx, Outbound::Events(batch.clone())),
        }
    }
}

/// Where a router shard sends things.
#[derive(Debug, Clone)]
pub struct RouterOutputs {
    /// Event links by target index (the order of `[[targets]]`); `None` for a target that
    /// takes no events (PagerDuty: alerts only).
    pub targets: Vec<Option<TargetLink>>,
    /// Target set of events that no rule sent anywhere (`router.default_targets`).
    pub default_targets: u64,
    /// The alert manager's link; `None` when alerts are off.
    pub alerts: Option<Sender<AlertBatch>>,
    /// Alerts are per incident (true) or per anomaly (false). Either way a finding reaches
    /// the alerts: an anomaly is folded into an incident by the correlator.
    pub alert_incidents: bool,
}

/// One router shard.
#[derive(Debug)]
pub struct RouterShard {
    input: SharedReceiver<EventBatch>,
    outputs: Option<RouterOutputs>,
    rules: SharedRules,
    throttle: Throttle,
    /// The rule set the throttle counts belong to: a new set starts with fresh counts (its
    /// rule indices mean other rules).
    throttle_for: usize,
    /// Scratch: each event's target set (0: none) for the batch in hand.
    sets: Vec<u64>,
    metrics: Arc<StageMetrics>,
    drained: Arc<Completion>,
    finished: bool,
}

impl RouterShard {
    /// A shard reading `input`, routing by `rules` to `outputs`.
    pub fn new(
        input: SharedReceiver<EventBatch>,
        outputs: RouterOutputs,
        rules: SharedRules,
        metrics: Arc<StageMetrics>,
        drained: Arc<Completion>,
    ) -> RouterShard {
        RouterShard {
            input,
            outputs: Some(outputs),
            rules,
            throttle: Throttle::new(),
            throttle_for: 0,
            sets: Vec::new(),
            metrics,
            drained,
            finished: false,
        }
    }

    /// Decides every event's target set (into `self.sets`, only targets that take events: 0
    /// for an event that goes nowhere) and gathers the alert candidates. Counts what goes
    /// nowhere: `rule_drop`, `throttled`, and `no_route` for an event (not a finding, which
    /// becomes an alert) with no target that takes events.
    fn decide(
        &mut self,
        events: &[Event],
        outputs: &RouterOutputs,
        event_mask: u64,
    ) -> Vec<AlertCandidate> {
        let rules = self.rules.load();
        let identity = Arc::as_ptr(&*rules) as usize;
        if identity != self.throttle_for {
            self.throttle = Throttle::new();
            self.throttle_for = identity;
        }
        let now_ms = tocsin_engine::clock::now_ms();
        self.sets.clear();
        let mut candidates = Vec::new();
        let (mut dropped, mut throttled, mut no_route) = (0u64, 0u64, 0u64);
        for event in events {
            let d = rules.evaluate(event, &mut self.throttle, now_ms);
            if d.outcome != Outcome::Route && outputs.alert_incidents && outputs.alerts.is_some() {
                // A rule may drop or throttle an incident's states on their way to the
                // targets, but the end of an incident must still close its alert.
                if let Some(i) = event
                    .incident
                    .as_ref()
                    .filter(|i| i.status != tocsin_engine::correlate::IncidentStatus::Open)
                {
                    candidates.push(AlertCandidate {
                        subject: AlertSubject::Incident(i.clone()),
                        priority: None,
                        receivers: 0,
                        runbook: None,
                        rule: None,
                    });
                }
            }
            let set = match d.outcome {
                Outcome::Drop => {
                    dropped += 1;
                    0
                }
                Outcome::Throttled => {
                    throttled += 1;
                    0
                }
                Outcome::Route => {
                    let full = if d.targets.is_empty() {
                        outputs.default_targets
                    } else {
                        d.targets.0
                    };
                    let subject = match (&event.finding, &event.incident) {
                        (Some(a), _) if !outputs.alert_incidents => {
                            Some(AlertSubject::Anomaly(a.clone()))
                        }
                        (None, Some(i)) if outputs.alert_incidents => {
                            Some(AlertSubject::Incident(i.clone()))
                        }
                        _ => None,
                    };
                    // A finding reaches the alerts either itself or, for an anomaly when
                    // alerts are per incident, through the correlator.
                    let is_finding = event.finding.is_some() || event.incident.is_some();
                    let became_alert = match (subject, outputs.alerts.is_some()) {
                        (Some(subject), true) => {
                            candidates.push(AlertCandidate {
                                subject,
                                priority: d.priority,
                                // Only targets a rule named; none: the alerts' default targets.
                                receivers: d.targets.0,
                                runbook: d.runbook.map(|i| rules.runbook_name(i).to_owned()),
                                rule: d.rule.map(|i| rules.rule_name(i).to_owned()),
                            });
                            true
                        }
                        _ => is_finding && outputs.alerts.is_some(),
                    };
                    if full & event_mask == 0 && !became_alert {
                        no_route += 1;
                    }
                    full & event_mask
                }
            };
            self.sets.push(set);
        }
        for (reason, n) in [
            ("rule_drop", dropped),
            ("throttled", throttled),
            ("no_route", no_route),
        ] {
            if n > 0 {
                self.metrics.dropped.add(reason, n);
            }
        }
        candidates
    }

    /// Sends `batch` to every target in `set` that takes events; returns how many links were
    /// closed.
    fn send(
        ctx: &mut Context<Self>,
        outputs: &RouterOutputs,
        set: u64,
        batch: EventBatch,
    ) -> usize {
        let shared: TargetBatch = Arc::new(batch);
        let mut closed = 0;
        let mut bits = set;
        while bits != 0 {
            let i = bits.trailing_zeros() as usize;
            bits &= bits - 1;
            if let Some(Some(link)) = outputs.targets.get(i) {
                if !link.forward(ctx, &shared) {
                    closed += 1;
                }
            }
        }
        closed
    }

    fn route(&mut self, batch: EventBatch, ctx: &mut Context<Self>) -> Result<(), String> {
        let Some(outputs) = self.outputs.clone() else {
            self.metrics
                .dropped
                .add("shutting_down", batch.events.len() as u64);
            return Ok(());
        };
        // Only targets that take events count: a set naming only PagerDuty routes no event.
        let event_mask = outputs
            .targets
            .iter()
            .enumerate()
            .filter(|(_, t)| t.is_some())
            .fold(0u64, |m, (i, _)| m | (1 << i));
        let metrics = self.metrics.clone();
        let candidates = guarded(&metrics, || {
            self.decide(&batch.events, &outputs, event_mask)
        })?;
        if !candidates.is_empty() {
            if let Some(tx) = &outputs.alerts {
                let n = candidates.len() as u64;
                if !forward(ctx, tx, AlertBatch(candidates)) {
                    self.metrics.dropped.add("alerts_closed", n);
                }
            }
        }
        let first = self.sets.first().copied().unwrap_or(0);
        let uniform = self.sets.iter().all(|s| *s == first);
        let mut sent = 0u64;
        let mut closed = 0u64;
        if uniform {
            let n = batch.events.len() as u64;
            if first != 0 {
                sent = n;
                closed = Self::send(ctx, &outputs, first, batch) as u64 * n;
            }
        } else {
            // Consecutive runs of events with the same targets, in order: each target gets its
            // events in the order they came.
            let flow = batch.flow;
            let mut run: Vec<Event> = Vec::new();
            let mut run_set = 0u64;
            let sets = std::mem::take(&mut self.sets);
            for (event, &set) in batch.events.into_iter().zip(sets.iter()) {
                if set != run_set && !run.is_empty() {
                    let events = std::mem::take(&mut run);
                    let n = events.len() as u64;
                    sent += n;
                    closed +=
                        Self::send(ctx, &outputs, run_set, EventBatch { flow, events }) as u64 * n;
                }
                run_set = set;
                if set != 0 {
                    run.push(event);
                }
            }
            if !run.is_empty() {
                let n = run.len() as u64;
                sent += n;
                closed +=
                    Self::send(ctx, &outputs, run_set, EventBatch { flow, events: run }) as u64 * n;
            }
            self.sets = sets;
        }
        self.metrics.batches.fetch_add(1, Relaxed);
        self.metrics.events_out.fetch_add(sent, Relaxed);
        if closed > 0 {
            self.metrics.dropped.add("downstream_closed", closed);
        }
        Ok(())
    }
}

impl Actor for RouterShard {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        if !self.finished {
            ctx.add_stream(self.input.stream());
        }
    }
}

impl Supervised for RouterShard {
    fn restarting(&mut self, _ctx: &mut Context<Self>) {
        self.metrics.restarts.fetch_add(1, Relaxed);
        tracing::warn!(actor = %self.metrics.name, "restarting after a failure");
    }
}

impl StreamHandler<EventBatch> for RouterShard {
    fn handle(&mut self, batch: EventBatch, ctx: &mut Context<Self>) {
        let n = batch.events.len() as u64;
        self.metrics.events_in.fetch_add(n, Relaxed);
        if let Err(panic) = self.route(batch, ctx) {
            tracing::error!(actor = %self.metrics.name, panic = %panic, "router panicked");
            self.metrics.dropped.add("panic", n);
            actix::ActorContext::stop(ctx);
        }
    }

    fn finished(&mut self, _ctx: &mut Context<Self>) {
        self.finished = true;
        self.outputs = None;
        self.metrics
            .drained
            .store(true, std::sync::atomic::Ordering::Release);
        self.drained.done();
    }
}
