//! The alert manager actor (see the module doc of [`crate::alerts`]).

use super::messages::*;
use super::{default_priority, AlertBatch, AlertCandidate, AlertSubject};
use crate::link::SharedReceiver;
use crate::targets::Outbound;
use actix::{
    Actor, ActorFutureExt, AsyncContext, Context, Handler, ResponseActFuture, StreamHandler,
    WrapFuture,
};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tocsin_engine::alert::dispatch::{AlertChange, Dispatcher, GroupConfig, GroupNotification};
use tocsin_engine::alert::inhibit::{inhibited, InhibitRule};
use tocsin_engine::alert::labels::Labels;
use tocsin_engine::alert::lifecycle::{
    Alert, AlertBook, AlertInput, AlertStatus, HistoryEntry, LifecycleError, PriorityStats,
};
use tocsin_engine::alert::silence::{Silence, SilenceError, Silences};
use tocsin_engine::alert::store::{AlertStore, RunbookRun};
use tocsin_engine::correlate::{Incident, IncidentStatus};
use tocsin_engine::notify::template::Template;
use tocsin_engine::notify::{AlertView, Notification, NotifyAction};
use tocsin_engine::runbook::{for_kind, RemediationPolicy, RunbookSpec};
use tocsin_engine::score::anomaly::Anomaly;
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::mpsc::Sender;

/// How often the manager looks for due notifications and alerts to auto-resolve.
const TICK: Duration = Duration::from_millis(100);

/// What the manager is configured with.
#[derive(Debug, Clone)]
pub struct AlertManagerSettings {
    /// A live alert not seen again for this long is resolved by the system (0: never).
    pub resolve_after_ms: i64,
    /// Notification grouping.
    pub group: GroupConfig,
    /// Inhibition rules.
    pub inhibit: Vec<InhibitRule>,
    /// Runbooks by name and alert kind.
    pub runbooks: Vec<RunbookSpec>,
    /// What remediation may run.
    pub policy: RemediationPolicy,
    /// Receivers of alerts whose rules named none (bit per target index).
    pub default_receivers: u64,
    /// Target names by index.
    pub target_names: Vec<String>,
    /// Resolved alerts kept in memory.
    pub resolved_kept: usize,
}

/// Counters and the MTTA/MTTR table, for `/metrics` and the API.
#[derive(Debug, Default)]
pub struct AlertMetrics {
    /// Alerts opened.
    pub created: AtomicU64,
    /// Anomalies folded into a live alert.
    pub repeats: AtomicU64,
    /// Notifications handed to targets.
    pub notifications: AtomicU64,
    /// Notifications not sent because the target's link was closed.
    pub notifications_dropped: AtomicU64,
    /// Alert changes not notified because a silence, an inhibition or the alert's state muted
    /// them.
    pub muted: AtomicU64,
    /// Writes the database refused.
    pub store_errors: AtomicU64,
    /// Alert changes the grouping dispatcher refused (every group had firing alerts at
    /// `max_groups`): those alerts are kept but not notified.
    pub groups_refused: AtomicU64,
    /// Groups with nothing firing evicted to make room (pending resolved notices lost).
    pub groups_evicted: AtomicU64,
    /// Per priority: counts by status, MTTA and MTTR.
    pub stats: Mutex<Vec<PriorityStats>>,
}

/// The alert manager (one, on its own arbiter: SQLite writes block).
pub struct AlertManager {
    settings: AlertManagerSettings,
    book: AlertBook,
    store: AlertStore,
    silences: Silences,
    dispatcher: Dispatcher,
    input: SharedReceiver<AlertBatch>,
    notify: Vec<Option<Sender<Outbound>>>,
    /// Receivers of each live alert, by fingerprint.
    receivers: HashMap<u64, u64>,
    /// When the last tick ran (silences that end between two ticks are noticed at the next).
    last_tick_ms: i64,
    metrics: Arc<AlertMetrics>,
    client: reqwest::Client,
}

impl std::fmt::Debug for AlertManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlertManager")
            .field("receivers", &self.receivers.len())
            .finish()
    }
}

fn lifecycle(e: LifecycleError) -> AlertError {
    match e {
        LifecycleError::UnknownAlert { id } => AlertError::NotFound(format!("no alert {id:?}")),
        other => AlertError::Conflict(other.to_string()),
    }
}

/// The text form of a receiver set: target names joined by commas.
fn receiver_label(set: u64, names: &[String]) -> String {
    let mut out = String::new();
    for (i, name) in names.iter().enumerate() {
        if set & (1 << i) != 0 {
            if !out.is_empty() {
                out.push(',');
            }
            out.push_str(name);
        }
    }
    out
}

/// The alert fingerprint of an incident.
pub fn incident_fingerprint(id: &str) -> u64 {
    Labels::new(vec![("incident".to_owned(), id.to_owned())]).fingerprint()
}

/// What one finding did to the alerts.
enum Folded {
    /// An alert was opened or updated.
    Changed(Alert, Option<HistoryEntry>),
    /// An incident's alert was resolved by the system.
    Resolved(Alert, HistoryEntry),
    /// Nothing (a closed incident with no live alert).
    Nothing,
}

/// The PagerDuty-style deduplication key of an alert fingerprint.
pub fn dedup_key(fingerprint: u64) -> String {
    format!("tocsin-{fingerprint:016x}")
}

/// What a target sees of an alert.
fn view(alert: &Alert, action: NotifyAction) -> AlertView {
    AlertView {
        id: alert.id.clone(),
        dedup_key: dedup_key(alert.fingerprint),
        title: alert.title.clone(),
        summary: alert.title.clone(),
        entity: alert.entity.clone(),
        kind: alert.kind.clone(),
        priority: alert.priority,
        status: alert.status.as_str().to_owned(),
        assignee: alert.assignee.clone(),
        labels: alert
            .labels
            .iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        runbook_url: alert.runbook_url.clone(),
        score: alert.score,
        created_ms: alert.created_ms,
        updated_ms: alert.updated_ms,
        occurrences: alert.occurrences,
        action,
    }
}

impl AlertManager {
    /// A manager over an opened store: loads the alerts and silences it holds.
    pub fn new(
        settings: AlertManagerSettings,
        store: AlertStore,
        input: SharedReceiver<AlertBatch>,
        notify: Vec<Option<Sender<Outbound>>>,
        metrics: Arc<AlertMetrics>,
    ) -> Result<AlertManager, AlertError> {
        let mut book = AlertBook::new().with_max_resolved(settings.resolved_kept);
        let mut receivers = HashMap::new();
        for alert in store
            .load_alerts()
            .map_err(|e| AlertError::Store(e.to_string()))?
        {
            let set = alert
                .labels
                .get("receiver")
                .map(|names| {
                    names.split(',').fold(0u64, |m, n| {
                        match settings.target_names.iter().position(|t| t == n) {
                            Some(i) => m | (1 << i),
                            None => m,
                        }
                    })
                })
                .unwrap_or(settings.default_receivers);
            receivers.insert(alert.fingerprint, set);
            book.insert_loaded(alert);
        }
        let mut silences = Silences::new();
        for s in store
            .load_silences()
            .map_err(|e| AlertError::Store(e.to_string()))?
        {
            silences.add(s);
        }
        let dispatcher = settings.group.clone().build().map_err(|errors| {
            let text: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
            AlertError::Invalid(format!("alerts.group: {}", text.join("; ")))
        })?;
        let manager = AlertManager {
            settings,
            book,
            store,
            silences,
            dispatcher,
            input,
            notify,
            receivers,
            last_tick_ms: tocsin_engine::clock::now_ms(),
            metrics,
            client: reqwest::Client::new(),
        };
        manager.publish_stats();
        Ok(manager)
    }

    fn publish_stats(&self) {
        if let Ok(mut s) = self.metrics.stats.lock() {
            *s = self.book.stats();
        }
        let m = &self.metrics;
        m.groups_refused
            .store(self.dispatcher.dropped_groups(), Relaxed);
        m.groups_evicted
            .store(self.dispatcher.evicted_groups(), Relaxed);
    }

    fn save(&mut self, alert: &Alert, entry: Option<&HistoryEntry>) -> Result<(), AlertError> {
        self.store.save(alert, entry).map_err(|e| {
            self.metrics.store_errors.fetch_add(1, Relaxed);
            tracing::error!(alert = %alert.id, error = %e, "alert not saved");
            AlertError::Store(e.to_string())
        })
    }

    /// Targets (bits) that take notifications.
    fn notify_mask(&self) -> u64 {
        self.notify
            .iter()
            .enumerate()
            .filter(|(_, t)| t.is_some())
            .fold(0, |m, (i, _)| m | (1 << i))
    }

    /// True when a silence or an inhibition rule mutes `labels` now.
    fn silenced(&self, alert: &Alert, now_ms: i64) -> bool {
        if self.silences.muted_by(&alert.labels, now_ms).is_some() {
            return true;
        }
        let firing = self
            .book
            .iter()
            .filter(|a| {
                a.id != alert.id
                    && matches!(a.status, AlertStatus::Open | AlertStatus::Acknowledged)
            })
            .map(|a| &a.labels);
        inhibited(&alert.labels, firing, &self.settings.inhibit)
    }

    /// Tells the dispatcher about an alert's state now.
    fn track(&mut self, alert: &Alert, now_ms: i64, resolved_quietly: bool) {
        let firing = matches!(alert.status, AlertStatus::Open | AlertStatus::Acknowledged);
        let muted = resolved_quietly
            || matches!(
                alert.status,
                AlertStatus::Acknowledged | AlertStatus::Suppressed
            )
            || (firing && self.silenced(alert, now_ms));
        if muted {
            self.metrics.muted.fetch_add(1, Relaxed);
        }
        let receiver = self
            .receivers
            .get(&alert.fingerprint)
            .copied()
            .unwrap_or(self.settings.default_receivers)
            & self.notify_mask();
        let labels: Vec<(String, String)> = alert
            .labels
            .iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        self.dispatcher.update(
            AlertChange {
                fingerprint: alert.fingerprint,
                alert_id: &alert.id,
                labels: &labels,
                firing: firing && !resolved_quietly,
                muted,
                receiver,
                at_ms: now_ms,
            },
            now_ms,
        );
    }

    /// Folds one finding into its alert: an anomaly, or a state of an incident. Returns the
    /// alert and its history entry, to be saved (with the rest of the batch) and then tracked.
    fn observe(&mut self, c: AlertCandidate, now_ms: i64) -> Folded {
        let receivers = if c.receivers == 0 {
            self.settings.default_receivers
        } else {
            c.receivers
        };
        let receiver = receiver_label(receivers, &self.settings.target_names);
        let input = match &c.subject {
            AlertSubject::Anomaly(a) => self.anomaly_input(a, &c, receiver, now_ms),
            AlertSubject::Incident(i) => {
                let fingerprint = incident_fingerprint(&i.id);
                if i.status != IncidentStatus::Open {
                    // Resolved, or merged into another incident (whose alert carries on).
                    return self.close_incident(fingerprint, now_ms);
                }
                self.incident_input(i, fingerprint, &c, receiver, now_ms)
            }
        };
        let fingerprint = input.fingerprint;
        let (alert, entry, observed) = self.book.observe(input);
        match observed {
            tocsin_engine::alert::lifecycle::Observed::New => {
                self.metrics.created.fetch_add(1, Relaxed);
            }
            _ => {
                self.metrics.repeats.fetch_add(1, Relaxed);
            }
        }
        self.receivers.insert(fingerprint, receivers);
        Folded::Changed(alert, entry)
    }

    /// The runbook (a rule's, else the one for `kind`) and its link.
    fn runbook(&self, chosen: Option<&str>, kind: &str) -> (Option<String>, Option<String>) {
        let runbook = chosen
            .map(str::to_owned)
            .or_else(|| for_kind(&self.settings.runbooks, kind).map(|r| r.name.clone()));
        let url = runbook.as_deref().and_then(|name| {
            self.settings
                .runbooks
                .iter()
                .find(|r| r.name == name)
                .and_then(|r| r.url.clone())
        });
        (runbook, url)
    }

    fn anomaly_input(
        &self,
        a: &Anomaly,
        c: &AlertCandidate,
        receiver: String,
        now_ms: i64,
    ) -> AlertInput {
        let priority = c.priority.unwrap_or_else(|| default_priority(a));
        let kind = a.kind.as_str();
        let (runbook, runbook_url) = self.runbook(c.runbook.as_deref(), kind);
        let mut pairs = vec![
            ("entity".to_owned(), a.entity.as_str().to_owned()),
            ("kind".to_owned(), kind.to_owned()),
            ("class".to_owned(), a.class.as_str().to_owned()),
            ("priority".to_owned(), priority.as_str().to_owned()),
            (
                "severity".to_owned(),
                tocsin_engine::schema::severity::name(a.severity_id()).to_owned(),
            ),
            ("receiver".to_owned(), receiver),
        ];
        if let Some(rule) = &c.rule {
            pairs.push(("rule".to_owned(), rule.clone()));
        }
        let fingerprint = Labels::new(vec![
            ("entity".to_owned(), a.entity.as_str().to_owned()),
            ("kind".to_owned(), kind.to_owned()),
        ])
        .fingerprint();
        AlertInput {
            fingerprint,
            title: a.title(),
            entity: a.entity.as_str().to_owned(),
            kind: kind.to_owned(),
            priority,
            labels: Labels::new(pairs),
            runbook,
            runbook_url,
            score: a.score,
            source_id: a.id.clone(),
            seen_ms: now_ms,
        }
    }

    fn incident_input(
        &self,
        i: &Incident,
        fingerprint: u64,
        c: &AlertCandidate,
        receiver: String,
        now_ms: i64,
    ) -> AlertInput {
        let priority = c.priority.unwrap_or(i.priority);
        let entity = i
            .root_cause
            .as_ref()
            .map(|r| r.entity.clone())
            .or_else(|| i.members.first().map(|m| m.entity.clone()))
            .unwrap_or_default();
        // A rule's runbook; else one for incidents; else the one for the root cause's own
        // anomaly (a brute force's runbook for an incident rooted in a brute force).
        let root_kind = i
            .members
            .iter()
            .find(|m| m.entity == entity)
            .map(|m| m.kind.as_str());
        let (mut runbook, mut runbook_url) = self.runbook(c.runbook.as_deref(), "incident");
        if runbook.is_none() {
            if let Some(kind) = root_kind {
                (runbook, runbook_url) = self.runbook(None, kind);
            }
        }
        let mut pairs = vec![
            ("entity".to_owned(), entity.clone()),
            ("kind".to_owned(), "incident".to_owned()),
            ("incident".to_owned(), i.id.clone()),
            ("priority".to_owned(), priority.as_str().to_owned()),
            ("severity".to_owned(), i.severity.clone()),
            ("receiver".to_owned(), receiver),
        ];
        if !i.sites.is_empty() {
            pairs.push(("site".to_owned(), i.sites.join(",")));
        }
        if let Some(rule) = &c.rule {
            pairs.push(("rule".to_owned(), rule.clone()));
        }
        AlertInput {
            fingerprint,
            title: i.title.clone(),
            entity,
            kind: "incident".to_owned(),
            priority,
            labels: Labels::new(pairs),
            runbook,
            runbook_url,
            score: i.score,
            source_id: i.id.clone(),
            seen_ms: now_ms,
        }
    }

    /// Resolves the live alert of an incident that resolved or was merged away.
    fn close_incident(&mut self, fingerprint: u64, now_ms: i64) -> Folded {
        let Some(id) = self.book.live_for(fingerprint).map(|a| a.id.clone()) else {
            return Folded::Nothing;
        };
        match self.book.resolve(&id, "system", now_ms) {
            Ok((alert, entry)) => Folded::Resolved(alert, entry),
            Err(e) => {
                tracing::warn!(alert = %id, error = %e, "incident's alert not resolved");
                Folded::Nothing
            }
        }
    }

    /// Sends `notification` to every notification target in `receivers`.
    fn send(&self, receivers: u64, notification: Notification, ctx: &mut Context<Self>) {
        let shared = Arc::new(notification);
        let mut bits = receivers;
        while bits != 0 {
            let i = bits.trailing_zeros() as usize;
            bits &= bits - 1;
            let Some(Some(tx)) = self.notify.get(i) else {
                continue;
            };
            match tx.try_send(Outbound::Notify(shared.clone())) {
                Ok(()) => {
                    self.metrics.notifications.fetch_add(1, Relaxed);
                }
                Err(TrySendError::Full(item)) => {
                    // The target's queue takes it when it has room; the manager keeps serving.
                    self.metrics.notifications.fetch_add(1, Relaxed);
                    let tx = tx.clone();
                    let metrics = self.metrics.clone();
                    ctx.spawn(
                        async move {
                            if tx.send(item).await.is_err() {
                                metrics.notifications_dropped.fetch_add(1, Relaxed);
                            }
                        }
                        .into_actor(self),
                    );
                }
                Err(TrySendError::Closed(_)) => {
                    self.metrics.notifications_dropped.fetch_add(1, Relaxed);
                }
            }
        }
    }

    /// Sends every group notification that is due.
    fn flush(&mut self, now_ms: i64, ctx: &mut Context<Self>) {
        for n in self.dispatcher.due(now_ms) {
            if let Some(notification) = self.group_notification(&n) {
                self.send(n.receiver, notification, ctx);
            }
        }
    }

    fn group_notification(&self, n: &GroupNotification) -> Option<Notification> {
        let mut alerts = Vec::with_capacity(n.firing.len() + n.resolved.len());
        for id in &n.firing {
            if let Some(a) = self.book.get(id) {
                alerts.push(view(a, NotifyAction::Trigger));
            }
        }
        for id in &n.resolved {
            if let Some(a) = self.book.get(id) {
                alerts.push(view(a, NotifyAction::Resolve));
            }
        }
        if alerts.is_empty() {
            return None;
        }
        let action = if n.firing.is_empty() {
            NotifyAction::Resolve
        } else {
            NotifyAction::Trigger
        };
        Some(Notification {
            action,
            group_key: n.group_key.clone(),
            group_labels: n.group_labels.clone(),
            alerts,
        })
    }

    /// Sends an acknowledge or resolve for one alert straight to its receivers (PagerDuty and
    /// Opsgenie learn of it at once, not at the next group interval).
    fn propagate(&self, alert: &Alert, action: NotifyAction, ctx: &mut Context<Self>) {
        let receivers = self
            .receivers
            .get(&alert.fingerprint)
            .copied()
            .unwrap_or(self.settings.default_receivers)
            & self.notify_mask();
        let notification = Notification {
            action,
            group_key: format!("alert/{}", alert.id),
            group_labels: Vec::new(),
            alerts: vec![view(alert, action)],
        };
        self.send(receivers, notification, ctx);
    }

    fn tick(&mut self, ctx: &mut Context<Self>) {
        let now = tocsin_engine::clock::now_ms();
        if self.settings.resolve_after_ms > 0 {
            for (alert, entry) in self.book.auto_resolve(now, self.settings.resolve_after_ms) {
                let _ = self.save(&alert, Some(&entry));
                self.resolved_by_system(&alert, &entry, now, ctx);
            }
        }
        // Silences that ended since the last tick: the alerts they muted notify again.
        let ended: Vec<Silence> = self
            .silences
            .list()
            .iter()
            .filter(|s| s.ends_ms <= now && s.ends_ms > self.last_tick_ms)
            .cloned()
            .collect();
        self.last_tick_ms = now;
        for silence in &ended {
            self.retrack_muted_by(silence, now);
        }
        self.flush(now, ctx);
        self.publish_stats();
    }

    /// Tells the receivers of an alert the system resolved (saved already).
    fn resolved_by_system(
        &mut self,
        alert: &Alert,
        entry: &HistoryEntry,
        now: i64,
        ctx: &mut Context<Self>,
    ) {
        if matches!(
            entry.from,
            Some(AlertStatus::Acknowledged | AlertStatus::Suppressed)
        ) {
            // Muted in its group, so the group will not report it: tell the receivers
            // (PagerDuty has it acknowledged) directly.
            self.propagate(alert, NotifyAction::Resolve, ctx);
            self.track(alert, now, true);
        } else {
            self.track(alert, now, false);
        }
    }

    /// Re-tracks the live alerts `silence` covers, after it ended.
    fn retrack_muted_by(&mut self, silence: &Silence, now_ms: i64) {
        let covered: Vec<Alert> = self
            .book
            .iter()
            .filter(|a| {
                a.status == AlertStatus::Open
                    && silence.matchers.iter().all(|m| m.matches(&a.labels))
            })
            .cloned()
            .collect();
        for a in &covered {
            self.track(a, now_ms, false);
        }
    }

    fn operate(&mut self, msg: Operate, ctx: &mut Context<Self>) -> Result<Alert, AlertError> {
        let now = tocsin_engine::clock::now_ms();
        let (alert, entry) = match msg.op {
            AlertOp::Acknowledge => self.book.acknowledge(&msg.id, &msg.actor, now),
            AlertOp::Resolve => self.book.resolve(&msg.id, &msg.actor, now),
            AlertOp::Suppress(reason) => self.book.suppress(&msg.id, &msg.actor, &reason, now),
            AlertOp::Assign(who) => {
                if who.trim().is_empty() {
                    return Err(AlertError::Invalid("assignee must not be empty".into()));
                }
                self.book.assign(&msg.id, &msg.actor, Some(&who), now)
            }
        }
        .map_err(lifecycle)?;
        self.save(&alert, Some(&entry))?;
        match alert.status {
            AlertStatus::Acknowledged if entry.action == "acknowledged" => {
                self.propagate(&alert, NotifyAction::Acknowledge, ctx);
                self.track(&alert, now, false);
            }
            AlertStatus::Resolved => {
                self.propagate(&alert, NotifyAction::Resolve, ctx);
                self.track(&alert, now, true);
            }
            AlertStatus::Suppressed => self.track(&alert, now, true),
            _ => {}
        }
        self.publish_stats();
        Ok(alert)
    }
}

impl Actor for AlertManager {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        // Open alerts from the database go back to the dispatcher: what was notified before a
        // crash (or was still queued in a target's memory when it happened) is notified again
        // after group_wait. PagerDuty and Opsgenie fold the repeat by its dedup key.
        let now = tocsin_engine::clock::now_ms();
        let open: Vec<Alert> = self
            .book
            .iter()
            .filter(|a| matches!(a.status, AlertStatus::Open | AlertStatus::Acknowledged))
            .cloned()
            .collect();
        for alert in &open {
            self.track(alert, now, false);
        }
        ctx.add_stream(self.input.stream());
        ctx.run_interval(TICK, |act, ctx| act.tick(ctx));
    }
}

impl StreamHandler<AlertBatch> for AlertManager {
    fn handle(&mut self, batch: AlertBatch, ctx: &mut Context<Self>) {
        let now = tocsin_engine::clock::now_ms();
        let folded: Vec<Folded> = batch.0.into_iter().map(|c| self.observe(c, now)).collect();
        // One transaction (one fsync) for the batch, before anything is notified. A failed
        // write is counted and logged; the alerts still notify.
        let rows = folded.iter().filter_map(|f| match f {
            Folded::Changed(a, h) => Some((a, h.as_ref())),
            Folded::Resolved(a, h) => Some((a, Some(h))),
            Folded::Nothing => None,
        });
        if let Err(e) = self.store.save_batch(rows) {
            self.metrics.store_errors.fetch_add(1, Relaxed);
            tracing::error!(alerts = folded.len(), error = %e, "alerts not saved");
        }
        for f in &folded {
            match f {
                Folded::Changed(alert, _) => self.track(alert, now, false),
                Folded::Resolved(alert, entry) => self.resolved_by_system(alert, entry, now, ctx),
                Folded::Nothing => {}
            }
        }
        // With group_wait 0 a new alert goes out now, not at the next tick.
        self.flush(now, ctx);
        self.publish_stats();
    }

    fn finished(&mut self, ctx: &mut Context<Self>) {
        // The routers are gone (shutdown): send what is due, then let go of the targets'
        // links so they can drain. The manager keeps answering the API until it stops;
        // changes made after this are saved but not notified.
        self.flush(tocsin_engine::clock::now_ms(), ctx);
        self.notify.clear();
    }
}

impl Handler<Operate> for AlertManager {
    type Result = Result<Alert, AlertError>;
    fn handle(&mut self, msg: Operate, ctx: &mut Context<Self>) -> Self::Result {
        self.operate(msg, ctx)
    }
}

impl Handler<ListAlerts> for AlertManager {
    type Result = actix::MessageResult<ListAlerts>;
    fn handle(&mut self, msg: ListAlerts, _ctx: &mut Context<Self>) -> Self::Result {
        actix::MessageResult(self.book.list(&msg.0).into_iter().cloned().collect())
    }
}

impl Handler<GetAlert> for AlertManager {
    type Result = Result<AlertDetail, AlertError>;
    fn handle(&mut self, msg: GetAlert, _ctx: &mut Context<Self>) -> Self::Result {
        let alert = self
            .book
            .get(&msg.0)
            .cloned()
            .ok_or_else(|| AlertError::NotFound(format!("no alert {:?}", msg.0)))?;
        let history = self
            .store
            .history(&alert.id)
            .map_err(|e| AlertError::Store(e.to_string()))?;
        let runs = self
            .store
            .runs(&alert.id)
            .map_err(|e| AlertError::Store(e.to_string()))?;
        Ok(AlertDetail {
            alert,
            history,
            runs,
        })
    }
}

impl Handler<ListSilences> for AlertManager {
    type Result = actix::MessageResult<ListSilences>;
    fn handle(&mut self, _msg: ListSilences, _ctx: &mut Context<Self>) -> Self::Result {
        actix::MessageResult(self.silences.list().to_vec())
    }
}

impl Handler<AddSilence> for AlertManager {
    type Result = Result<Silence, AlertError>;
    fn handle(&mut self, msg: AddSilence, _ctx: &mut Context<Self>) -> Self::Result {
        let now = tocsin_engine::clock::now_ms();
        let mut spec = msg.spec;
        if spec.created_by.trim().is_empty() {
            spec.created_by = msg.actor;
        }
        let silence = spec
            .build(now)
            .map_err(|e| AlertError::Invalid(e.to_string()))?;
        self.store
            .put_silence(&silence)
            .map_err(|e| AlertError::Store(e.to_string()))?;
        self.silences.add(silence.clone());
        // Live alerts it covers stop notifying now.
        let live: Vec<Alert> = self
            .book
            .iter()
            .filter(|a| a.status.is_live() && silence.mutes(&a.labels, now))
            .cloned()
            .collect();
        for a in &live {
            self.track(a, now, false);
        }
        Ok(silence)
    }
}

impl Handler<ExpireSilence> for AlertManager {
    type Result = Result<Silence, AlertError>;
    fn handle(&mut self, msg: ExpireSilence, _ctx: &mut Context<Self>) -> Self::Result {
        let now = tocsin_engine::clock::now_ms();
        let silence = match self.silences.expire(&msg.0, now) {
            Ok(s) => s.clone(),
            Err(SilenceError::Unknown(_)) => {
                return Err(AlertError::NotFound(format!("no silence {:?}", msg.0)))
            }
            Err(e) => return Err(AlertError::Conflict(e.to_string())),
        };
        self.store
            .put_silence(&silence)
            .map_err(|e| AlertError::Store(e.to_string()))?;
        self.retrack_muted_by(&silence, now);
        Ok(silence)
    }
}

impl Handler<Remediate> for AlertManager {
    type Result = ResponseActFuture<Self, Result<RunbookRun, AlertError>>;
    fn handle(&mut self, msg: Remediate, _ctx: &mut Context<Self>) -> Self::Result {
        let prepared = (|| {
            let alert = self
                .book
                .get(&msg.id)
                .cloned()
                .ok_or_else(|| AlertError::NotFound(format!("no alert {:?}", msg.id)))?;
            let name = alert
                .runbook
                .clone()
                .ok_or_else(|| AlertError::Invalid(format!("alert {} has no runbook", alert.id)))?;
            let spec = self
                .settings
                .runbooks
                .iter()
                .find(|r| r.name == name)
                .and_then(|r| r.action.clone())
                .ok_or_else(|| {
                    AlertError::Invalid(format!("runbook {name:?} has no remediation action"))
                })?;
            Ok::<_, AlertError>((alert, name, spec))
        })();
        let (alert, name, spec) = match prepared {
            Ok(p) => p,
            Err(e) => return Box::pin(actix::fut::ready(Err(e))),
        };
        let alert_view = view(&alert, NotifyAction::Trigger);
        let render = move |text: &str| -> Result<String, String> {
            let template = Template::compile(text).map_err(|e| e.to_string())?;
            let n = Notification {
                action: NotifyAction::Trigger,
                group_key: String::new(),
                group_labels: Vec::new(),
                alerts: vec![alert_view.clone()],
            };
            let mut out = String::new();
            template.render(&n, &mut out);
            Ok(out)
        };
        // Renders the arguments now; the future holds only owned values.
        let fut =
            crate::runbook::run_remediation(&spec, &self.settings.policy, &render, &self.client);
        Box::pin(fut.into_actor(self).map(move |outcome, act, _ctx| {
            let mut run = RunbookRun {
                id: 0,
                alert_id: alert.id.clone(),
                runbook: name.clone(),
                action: outcome.action.clone(),
                started_ms: outcome.started_ms,
                finished_ms: outcome.finished_ms,
                ok: outcome.ok,
                exit_code: outcome.exit_code,
                output: outcome.output.clone(),
                actor: msg.actor.clone(),
            };
            run.id = act
                .store
                .record_run(&run)
                .map_err(|e| AlertError::Store(e.to_string()))?;
            let detail = format!(
                "runbook {name}: {} ({})",
                if outcome.ok { "succeeded" } else { "failed" },
                outcome.action
            );
            if let Ok((a, entry)) = act.book.record(
                &alert.id,
                &msg.actor,
                "remediated",
                &detail,
                outcome.finished_ms,
            ) {
                act.save(&a, Some(&entry))?;
            }
            Ok(run)
        }))
    }
}
