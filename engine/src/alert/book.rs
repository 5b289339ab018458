//! [`AlertBook`]: the in-memory alerts, one live alert per fingerprint, and the lifecycle
//! operations on them (see the transition table in [`super::lifecycle`]).
//!
//! Memory bound: live alerts are all kept; resolved ones are kept up to `max_resolved`
//! (default [`DEFAULT_MAX_RESOLVED`]) and the one resolved longest ago is forgotten first. A
//! forgotten alert stays in the store; `get` no longer finds it and the statistics keep it.

use std::collections::BTreeSet;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use rustc_hash::FxHashMap;

use super::lifecycle::{
    transition, Alert, AlertFilter, AlertInput, AlertStatus, HistoryEntry, LifecycleError,
    Observed, MAX_SOURCE_IDS,
};
use super::stats::{Mttx, PriorityStats};

/// Resolved alerts kept in memory by default.
pub const DEFAULT_MAX_RESOLVED: usize = 10_000;

/// The actor name of the engine's own actions.
pub const SYSTEM_ACTOR: &str = "system";

/// Actions that only the book's own operations write; [`AlertBook::record`] refuses them.
const RESERVED_ACTIONS: [&str; 7] = [
    "created",
    "acknowledged",
    "resolved",
    "suppressed",
    "reopened",
    "assigned",
    "priority",
];

/// The alerts in memory, indexed by id and by live fingerprint, with their statistics.
pub struct AlertBook {
    alerts: FxHashMap<String, Alert>,
    /// Fingerprint -> id of its live (not resolved) alert.
    live: FxHashMap<u64, String>,
    /// Resolved alerts in memory, by (resolved_ms, id): the first is forgotten first.
    resolved: BTreeSet<(i64, String)>,
    max_resolved: usize,
    mttx: Mttx,
    rng: SmallRng,
}

impl std::fmt::Debug for AlertBook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlertBook")
            .field("alerts", &self.alerts.len())
            .field("live", &self.live.len())
            .field("resolved", &self.resolved.len())
            .field("max_resolved", &self.max_resolved)
            .finish()
    }
}

impl Default for AlertBook {
    fn default() -> Self {
        AlertBook::new()
    }
}

impl AlertBook {
    /// An empty book whose alert ids come from an entropy-seeded generator.
    pub fn new() -> AlertBook {
        AlertBook::with_rng(SmallRng::from_entropy())
    }

    /// An empty book whose alert ids are reproducible from `seed` (tests, replays).
    pub fn with_seed(seed: u64) -> AlertBook {
        AlertBook::with_rng(SmallRng::seed_from_u64(seed))
    }

    fn with_rng(rng: SmallRng) -> AlertBook {
        AlertBook {
            alerts: FxHashMap::default(),
            live: FxHashMap::default(),
            resolved: BTreeSet::new(),
            max_resolved: DEFAULT_MAX_RESOLVED,
            mttx: Mttx::default(),
            rng,
        }
    }

    /// Sets how many resolved alerts stay in memory.
    pub fn with_max_resolved(mut self, max_resolved: usize) -> AlertBook {
        self.max_resolved = max_resolved;
        self.evict();
        self
    }

    fn new_id(&mut self) -> String {
        loop {
            let id = format!("al-{:016x}", self.rng.gen::<u64>());
            if !self.alerts.contains_key(&id) {
                return id;
            }
        }
    }

    /// Takes one observation of a fingerprint: opens a new alert, or adds to the live one
    /// (occurrences + 1, last seen, highest score, most urgent priority, latest source ids).
    /// A history entry comes back for a new alert and for a priority change.
    pub fn observe(&mut self, input: AlertInput) -> (Alert, Option<HistoryEntry>, Observed) {
        let score = if input.score.is_finite() {
            input.score
        } else {
            0.0
        };
        let live_id = self.live.get(&input.fingerprint);
        if let Some(a) = live_id.and_then(|id| self.alerts.get_mut(id)) {
            a.occurrences = a.occurrences.saturating_add(1);
            a.last_seen_ms = a.last_seen_ms.max(input.seen_ms);
            a.updated_ms = a.updated_ms.max(input.seen_ms);
            a.score = a.score.max(score);
            push_source(&mut a.source_ids, input.source_id);
            if a.runbook.is_none() {
                a.runbook = input.runbook;
            }
            if a.runbook_url.is_none() {
                a.runbook_url = input.runbook_url;
            }
            if input.priority >= a.priority {
                return (a.clone(), None, Observed::Repeat);
            }
            let (old_p, old_s) = (a.priority, a.status);
            a.priority = input.priority;
            let detail = format!("{} -> {}", old_p, a.priority);
            let (action, from, to, seen) = if old_s == AlertStatus::Acknowledged {
                a.status = AlertStatus::Open;
                let to = Some(AlertStatus::Open);
                ("reopened", Some(old_s), to, Observed::Reopened)
            } else {
                ("priority", None, None, Observed::Repeat)
            };
            self.mttx.moved((old_p, old_s), (a.priority, a.status));
            let entry = HistoryEntry {
                alert_id: a.id.clone(),
                at_ms: input.seen_ms,
                actor: SYSTEM_ACTOR.to_string(),
                action: action.to_string(),
                from,
                to,
                detail: format!("priority {detail}"),
            };
            return (a.clone(), Some(entry), seen);
        }
        let id = self.new_id();
        let mut source_ids = Vec::new();
        push_source(&mut source_ids, input.source_id);
        let alert = Alert {
            id: id.clone(),
            fingerprint: input.fingerprint,
            title: input.title,
            entity: input.entity,
            kind: input.kind,
            priority: input.priority,
            status: AlertStatus::Open,
            assignee: None,
            labels: input.labels,
            runbook: input.runbook,
            runbook_url: input.runbook_url,
            score,
            occurrences: 1,
            source_ids,
            created_ms: input.seen_ms,
            updated_ms: input.seen_ms,
            last_seen_ms: input.seen_ms,
            acknowledged_ms: None,
            resolved_ms: None,
        };
        let entry = HistoryEntry {
            alert_id: id.clone(),
            at_ms: input.seen_ms,
            actor: SYSTEM_ACTOR.to_string(),
            action: "created".to_string(),
            from: None,
            to: Some(AlertStatus::Open),
            detail: format!("priority {}", alert.priority),
        };
        self.mttx.add(&alert);
        self.live.insert(alert.fingerprint, id.clone());
        self.alerts.insert(id, alert.clone());
        (alert, Some(entry), Observed::New)
    }

    /// Open -> acknowledged. The first acknowledgement sets `acknowledged_ms` and counts in MTTA.
    pub fn acknowledge(
        &mut self,
        id: &str,
        actor: &str,
        now_ms: i64,
    ) -> Result<(Alert, HistoryEntry), LifecycleError> {
        self.apply(id, actor, "acknowledge", String::new(), now_ms)
    }

    /// Open, acknowledged or suppressed -> resolved (final).
    pub fn resolve(
        &mut self,
        id: &str,
        actor: &str,
        now_ms: i64,
    ) -> Result<(Alert, HistoryEntry), LifecycleError> {
        self.apply(id, actor, "resolve", String::new(), now_ms)
    }

    /// Open or acknowledged -> suppressed, with the reason in the history.
    pub fn suppress(
        &mut self,
        id: &str,
        actor: &str,
        reason: &str,
        now_ms: i64,
    ) -> Result<(Alert, HistoryEntry), LifecycleError> {
        self.apply(id, actor, "suppress", reason.to_string(), now_ms)
    }

    /// Suppressed or acknowledged -> open (unmute, or hand back).
    pub fn reopen(
        &mut self,
        id: &str,
        actor: &str,
        now_ms: i64,
    ) -> Result<(Alert, HistoryEntry), LifecycleError> {
        self.apply(id, actor, "reopen", String::new(), now_ms)
    }

    /// Sets (or with None clears) the assignee of a live alert.
    pub fn assign(
        &mut self,
        id: &str,
        actor: &str,
        assignee: Option<&str>,
        now_ms: i64,
    ) -> Result<(Alert, HistoryEntry), LifecycleError> {
        let a = self.alert_mut(id)?;
        if !a.status.is_live() {
            return Err(LifecycleError::IllegalTransition {
                id: id.to_string(),
                from: a.status,
                action: "assign",
            });
        }
        a.assignee = assignee.map(str::to_string);
        a.updated_ms = now_ms;
        let detail = assignee.unwrap_or("unassigned").to_string();
        Ok(note(a, actor, "assigned", detail, now_ms))
    }

    /// Appends a free action to an alert's history (e.g. "remediated" with the run's summary);
    /// the status does not change. Lifecycle actions and "" are refused.
    pub fn record(
        &mut self,
        id: &str,
        actor: &str,
        action: &str,
        detail: &str,
        now_ms: i64,
    ) -> Result<(Alert, HistoryEntry), LifecycleError> {
        let a = self.alert_mut(id)?;
        let action = action.trim();
        if action.is_empty() || RESERVED_ACTIONS.contains(&action) {
            return Err(LifecycleError::ReservedAction {
                id: id.to_string(),
                action: action.to_string(),
            });
        }
        a.updated_ms = now_ms;
        Ok(note(a, actor, action, detail.to_string(), now_ms))
    }

    /// Resolves (actor "system") every live alert whose fingerprint was not seen for
    /// `resolve_after_ms`; oldest first.
    pub fn auto_resolve(
        &mut self,
        now_ms: i64,
        resolve_after_ms: i64,
    ) -> Vec<(Alert, HistoryEntry)> {
        let mut stale: Vec<(i64, String)> = self
            .live
            .values()
            .filter_map(|id| self.alerts.get(id))
            .filter(|a| now_ms.saturating_sub(a.last_seen_ms) >= resolve_after_ms)
            .map(|a| (a.last_seen_ms, a.id.clone()))
            .collect();
        stale.sort();
        let detail = format!("not seen for {} s", resolve_after_ms / 1000);
        stale
            .into_iter()
            .filter_map(|(_, id)| {
                self.apply(&id, SYSTEM_ACTOR, "resolve", detail.clone(), now_ms)
                    .ok()
            })
            .collect()
    }

    /// The alert with this id, if in memory.
    pub fn get(&self, id: &str) -> Option<&Alert> {
        self.alerts.get(id)
    }

    /// The live alert of a fingerprint.
    pub fn live_for(&self, fingerprint: u64) -> Option<&Alert> {
        self.live
            .get(&fingerprint)
            .and_then(|id| self.alerts.get(id))
    }

    /// Every alert in memory, in no order.
    pub fn iter(&self) -> impl Iterator<Item = &Alert> {
        self.alerts.values()
    }

    /// Alerts in memory.
    pub fn len(&self) -> usize {
        self.alerts.len()
    }

    /// True when no alert is in memory.
    pub fn is_empty(&self) -> bool {
        self.alerts.is_empty()
    }

    /// Alerts passing the filter, newest (created) first, at most `filter.limit` (0: all).
    pub fn list(&self, filter: &AlertFilter) -> Vec<&Alert> {
        let mut out: Vec<&Alert> = self.alerts.values().filter(|a| filter.accepts(a)).collect();
        out.sort_by(|a, b| (b.created_ms, &b.id).cmp(&(a.created_ms, &a.id)));
        if filter.limit > 0 {
            out.truncate(filter.limit);
        }
        out
    }

    /// Counts and MTTA/MTTR per priority, P1 first (O(1): kept by the transitions).
    pub fn stats(&self) -> Vec<PriorityStats> {
        self.mttx.stats()
    }

    /// Puts back an alert read from the store. A live alert takes its fingerprint's index slot
    /// (the newest one wins if the store holds two). An id already in the book is replaced.
    pub fn insert_loaded(&mut self, alert: Alert) {
        if let Some(old) = self.alerts.remove(&alert.id) {
            self.mttx.remove(&old);
            self.resolved
                .remove(&(old.resolved_ms.unwrap_or(0), old.id.clone()));
            if self.live.get(&old.fingerprint) == Some(&old.id) {
                self.live.remove(&old.fingerprint);
            }
        }
        self.mttx.add(&alert);
        if alert.status.is_live() {
            let newer = match self.live_for(alert.fingerprint) {
                Some(cur) => (alert.created_ms, &alert.id) > (cur.created_ms, &cur.id),
                None => true,
            };
            if newer {
                self.live.insert(alert.fingerprint, alert.id.clone());
            }
        } else {
            self.resolved
                .insert((alert.resolved_ms.unwrap_or(0), alert.id.clone()));
        }
        self.alerts.insert(alert.id.clone(), alert);
        self.evict();
    }

    fn alert_mut(&mut self, id: &str) -> Result<&mut Alert, LifecycleError> {
        self.alerts
            .get_mut(id)
            .ok_or_else(|| LifecycleError::UnknownAlert { id: id.to_string() })
    }

    /// Applies a status transition from the table.
    fn apply(
        &mut self,
        id: &str,
        actor: &str,
        verb: &'static str,
        detail: String,
        now_ms: i64,
    ) -> Result<(Alert, HistoryEntry), LifecycleError> {
        let a = self
            .alerts
            .get_mut(id)
            .ok_or_else(|| LifecycleError::UnknownAlert { id: id.to_string() })?;
        let from = a.status;
        let to = transition(from, verb).ok_or_else(|| LifecycleError::IllegalTransition {
            id: id.to_string(),
            from,
            action: verb,
        })?;
        a.status = to;
        a.updated_ms = now_ms;
        match to {
            AlertStatus::Acknowledged if a.acknowledged_ms.is_none() => {
                a.acknowledged_ms = Some(now_ms);
                self.mttx.acknowledged(a.priority, now_ms - a.created_ms);
            }
            AlertStatus::Resolved => {
                a.resolved_ms = Some(now_ms);
                self.mttx.resolved(a.priority, now_ms - a.created_ms);
                if self.live.get(&a.fingerprint) == Some(&a.id) {
                    self.live.remove(&a.fingerprint);
                }
                self.resolved.insert((now_ms, a.id.clone()));
            }
            _ => {}
        }
        self.mttx.moved((a.priority, from), (a.priority, to));
        let action = match to {
            AlertStatus::Open => "reopened",
            other => other.as_str(),
        };
        let mut out = note(a, actor, action, detail, now_ms);
        out.1.from = Some(from);
        out.1.to = Some(to);
        self.evict();
        Ok(out)
    }

    /// Forgets the longest-resolved alerts beyond the bound.
    fn evict(&mut self) {
        while self.resolved.len() > self.max_resolved {
            match self.resolved.pop_first() {
                Some((_, id)) => {
                    self.alerts.remove(&id);
                }
                None => break,
            }
        }
    }
}

/// A snapshot of the alert and a history entry without a status change.
fn note(
    a: &Alert,
    actor: &str,
    action: &str,
    detail: String,
    now_ms: i64,
) -> (Alert, HistoryEntry) {
    let entry = HistoryEntry {
        alert_id: a.id.clone(),
        at_ms: now_ms,
        actor: actor.to_string(),
        action: action.to_string(),
        from: None,
        to: None,
        detail,
    };
    (a.clone(), entry)
}

/// Appends a source id, keeping the latest [`MAX_SOURCE_IDS`].
fn push_source(ids: &mut Vec<String>, id: String) {
    if id.is_empty() {
        return;
    }
    ids.push(id);
    if ids.len() > MAX_SOURCE_IDS {
        let extra = ids.len() - MAX_SOURCE_IDS;
        ids.drain(..extra);
    }
}

#[cfg(test)]
#[path = "book_tests.rs"]
mod tests;
