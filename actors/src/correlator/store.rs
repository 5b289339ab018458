//! The incidents the API shows: every open incident, and the latest closed ones (resolved or
//! merged) up to a bound. The correlator writes each new state of an incident here before it
//! sends it on.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use tocsin_engine::correlate::{Incident, IncidentStatus};

/// A query of [`IncidentStore::query`].
#[derive(Debug, Clone, Default)]
pub struct IncidentQuery {
    /// Only incidents in this status; `None`: all.
    pub status: Option<IncidentStatus>,
    /// Only incidents with a member on this entity (or node).
    pub entity: Option<String>,
    /// Only incidents last seen at or after this event time (ms).
    pub since: Option<i64>,
    /// At most this many, most recently seen first.
    pub limit: usize,
}

#[derive(Debug, Default)]
struct Inner {
    by_id: BTreeMap<String, Arc<Incident>>,
    /// Closed incidents, oldest closed first: the first to go when over the bound.
    closed: VecDeque<String>,
}

/// The incidents for the API.
#[derive(Debug)]
pub struct IncidentStore {
    inner: Mutex<Inner>,
    closed_kept: usize,
    /// Closed incidents that left the store to make room.
    pub rotated: AtomicU64,
}

impl IncidentStore {
    /// A store keeping at most `closed_kept` resolved or merged incidents.
    pub fn new(closed_kept: usize) -> Arc<IncidentStore> {
        Arc::new(IncidentStore {
            inner: Mutex::new(Inner::default()),
            closed_kept: closed_kept.max(1),
            rotated: AtomicU64::new(0),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Keeps the latest state of an incident.
    pub fn put(&self, incident: Arc<Incident>) {
        let mut inner = self.lock();
        let closed = incident.status != IncidentStatus::Open;
        let id = incident.id.clone();
        let was_closed = inner
            .by_id
            .insert(id.clone(), incident)
            .is_some_and(|old| old.status != IncidentStatus::Open);
        if closed && !was_closed {
            inner.closed.push_back(id);
            while inner.closed.len() > self.closed_kept {
                if let Some(old) = inner.closed.pop_front() {
                    inner.by_id.remove(&old);
                    self.rotated.fetch_add(1, Relaxed);
                }
            }
        }
    }

    /// The incident `id`.
    pub fn get(&self, id: &str) -> Option<Arc<Incident>> {
        self.lock().by_id.get(id).cloned()
    }

    /// Incidents matching `q`, most recently seen first (ties by id).
    pub fn query(&self, q: &IncidentQuery) -> (usize, Vec<Arc<Incident>>) {
        let inner = self.lock();
        let mut hits: Vec<Arc<Incident>> = inner
            .by_id
            .values()
            .filter(|i| q.status.is_none_or(|s| i.status == s))
            .filter(|i| q.since.is_none_or(|t| i.last_seen >= t))
            .filter(|i| {
                q.entity.as_deref().is_none_or(|e| {
                    i.members
                        .iter()
                        .any(|m| m.entity == e || m.node.as_deref() == Some(e))
                })
            })
            .cloned()
            .collect();
        let total = hits.len();
        hits.sort_by(|a, b| b.last_seen.cmp(&a.last_seen).then_with(|| a.id.cmp(&b.id)));
        hits.truncate(q.limit);
        (total, hits)
    }

    /// Incidents by status: (open, resolved, merged).
    pub fn counts(&self) -> (u64, u64, u64) {
        let inner = self.lock();
        let mut c = (0, 0, 0);
        for i in inner.by_id.values() {
            match i.status {
                IncidentStatus::Open => c.0 += 1,
                IncidentStatus::Resolved => c.1 += 1,
                IncidentStatus::Merged => c.2 += 1,
            }
        }
        c
    }

    /// Every incident kept, by id (for `tocsin replay`'s output).
    pub fn all(&self) -> Vec<Arc<Incident>> {
        self.lock().by_id.values().cloned().collect()
    }
}
