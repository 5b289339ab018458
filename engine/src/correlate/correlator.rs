//! Anomalies -> incidents. An anomaly joins every open incident that has a member close in
//! event time (within `window_ms`) and close in the graph (within `max_hops` of the topology).
//! When either entity is unknown to the topology, closeness falls back to shared attributes:
//! the same entity, or the same class and the same anomaly kind. An anomaly that joins several
//! incidents merges them into the earliest. Repeats of one (entity, kind) within the window
//! only extend that member. Incidents resolve once their members are quiet for `quiet_ms` of
//! event time.
//!
//! Cost per anomaly: one bounded BFS around the anomaly's node, index lookups for the open
//! incidents holding its entity, its class and kind, or an entity naming a node within
//! `max_hops` (by the node's names, or by the open entities when those are fewer), then a
//! check of each member of those incidents. Open incidents live in an ordered set by
//! last_seen, so resolution and eviction touch only what is due.

use std::collections::{BTreeSet, VecDeque};

use rustc_hash::{FxHashMap, FxHashSet};
use smallvec::SmallVec;

use super::incident::{round3, Incident, IncidentStatus, Member};
use super::rca::{rank, WalkSettings};
use super::spec::Criticality;
use super::topology::{NodeIx, Topology};
use crate::alert::Priority;
use crate::schema::{severity, Symbol};
use crate::score::anomaly::{Anomaly, AnomalyKind};

/// How anomalies are grouped and ranked.
#[derive(Debug, Clone, PartialEq)]
pub struct CorrelationSettings {
    /// Anomalies this close in event time (ms) may join one incident.
    pub window_ms: i64,
    /// Anomalies on nodes this many hops apart (ignoring direction) may join one incident.
    pub max_hops: u32,
    /// An incident resolves when its members are quiet this long in event time (ms).
    pub quiet_ms: i64,
    /// At most this many open incidents; the stalest is resolved early past it.
    pub max_open: usize,
    /// Root cause candidates reported per incident.
    pub candidates: usize,
    /// The root cause random walk.
    pub walk: WalkSettings,
}

impl Default for CorrelationSettings {
    fn default() -> Self {
        CorrelationSettings {
            window_ms: 300_000,
            max_hops: 2,
            quiet_ms: 600_000,
            max_open: 10_000,
            candidates: 3,
            walk: WalkSettings::default(),
        }
    }
}

/// What [`Correlator::observe`] did with an anomaly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Joined {
    /// The incident that holds the anomaly now.
    pub incident: String,
    /// True when the anomaly opened it.
    pub new: bool,
    /// Incidents merged into it by this anomaly.
    pub merged: Vec<String>,
}

/// Whether an anomaly kind is a security matter (an attack) rather than an operational one
/// (an outage, errors, latency, load): on two entities the two never join one incident, as
/// password guessing on a server and the failure of the switch next to it are two problems with
/// two owners (on one entity they are one incident).
pub fn is_security(kind: AnomalyKind) -> bool {
    matches!(kind, AnomalyKind::BruteForce)
}

/// Running totals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CorrelatorCounters {
    pub anomalies: u64,
    /// Anomalies that only extended an existing member.
    pub deduplicated: u64,
    pub incidents_created: u64,
    /// Incidents merged into another.
    pub merges: u64,
    pub resolved: u64,
    /// Incidents resolved early because `max_open` was reached.
    pub forced_resolutions: u64,
}

#[derive(Debug, Clone)]
struct MemberState {
    entity: Symbol,
    class: Symbol,
    kind: AnomalyKind,
    first_seen: i64,
    last_seen: i64,
    score: f64,
    severity_id: u8,
    anomalies: u64,
    last_anomaly: String,
}

impl MemberState {
    fn from_anomaly(a: &Anomaly) -> MemberState {
        MemberState {
            entity: a.entity,
            class: a.class,
            kind: a.kind,
            first_seen: a.window_start_ms,
            last_seen: a.window_end_ms,
            // A score that is not a number would poison the ranking; count it as 0.
            score: if a.score.is_finite() { a.score } else { 0.0 },
            severity_id: a.severity_id(),
            anomalies: 1,
            last_anomaly: a.id.clone(),
        }
    }

    /// Folds another record of the same (entity, kind) in; `other` is the later one.
    fn absorb(&mut self, other: &MemberState) {
        self.first_seen = self.first_seen.min(other.first_seen);
        self.last_seen = self.last_seen.max(other.last_seen);
        self.score = self.score.max(other.score);
        self.severity_id = self.severity_id.max(other.severity_id);
        self.anomalies += other.anomalies;
        self.last_anomaly.clone_from(&other.last_anomaly);
    }
}

#[derive(Debug, Clone)]
struct IncidentState {
    id: String,
    status: IncidentStatus,
    merged_into: Option<String>,
    members: Vec<MemberState>,
    anomalies: u64,
    first_seen: i64,
    last_seen: i64,
    resolved_at: Option<i64>,
    revision: u64,
}

/// Groups anomalies into incidents; see the module doc.
#[derive(Debug)]
pub struct Correlator {
    settings: CorrelationSettings,
    incidents: FxHashMap<u64, IncidentState>,
    ids: FxHashMap<String, u64>,
    /// Open incidents by (last_seen, key).
    open: BTreeSet<(i64, u64)>,
    /// Resolved and merged incidents, oldest first.
    closed: VecDeque<u64>,
    changed: FxHashSet<u64>,
    /// Open incidents holding a member of an entity.
    by_entity: FxHashMap<Symbol, SmallVec<[u64; 2]>>,
    /// Open incidents holding a member of a class and kind.
    by_attr: FxHashMap<(Symbol, AnomalyKind), SmallVec<[u64; 2]>>,
    next_key: u64,
    watermark: i64,
    counters: CorrelatorCounters,
}

fn incident_id(anomaly_id: &str, salt: u32) -> String {
    // salt 0 (the usual case) hashes the anomaly id alone; collisions add a salt.
    let salt_bytes = salt.to_le_bytes();
    let salt_len = if salt == 0 { 0 } else { salt_bytes.len() };
    let h = crate::durable::fnv1a(
        anomaly_id
            .bytes()
            .chain(salt_bytes[..salt_len].iter().copied()),
    );
    format!("inc-{h:016x}")
}

impl Correlator {
    /// An empty correlator.
    pub fn new(settings: CorrelationSettings) -> Correlator {
        Correlator {
            settings,
            incidents: FxHashMap::default(),
            ids: FxHashMap::default(),
            open: BTreeSet::new(),
            closed: VecDeque::new(),
            changed: FxHashSet::default(),
            by_entity: FxHashMap::default(),
            by_attr: FxHashMap::default(),
            next_key: 0,
            watermark: i64::MIN,
            counters: CorrelatorCounters::default(),
        }
    }

    /// The settings in force.
    pub fn settings(&self) -> &CorrelationSettings {
        &self.settings
    }

    /// Running totals.
    pub fn counters(&self) -> CorrelatorCounters {
        self.counters
    }

    /// Open incidents.
    pub fn open(&self) -> usize {
        self.open.len()
    }

    /// The event-time clock: the highest watermark or anomaly end seen.
    pub fn watermark(&self) -> i64 {
        self.watermark
    }

    /// Folds one anomaly in.
    pub fn observe(&mut self, a: &Anomaly, topo: &Topology) -> Joined {
        self.counters.anomalies += 1;
        self.advance(a.window_end_ms);
        let t = a.window_end_ms;
        let w = self.settings.window_ms;
        let a_node = topo.resolve(a.entity.as_str());
        let near: Option<FxHashMap<NodeIx, u32>> =
            a_node.map(|n| topo.neighbourhood(n, self.settings.max_hops));
        let candidates = self.candidates(a, near.as_ref(), topo);

        let mut dedup: Option<u64> = None;
        let mut targets: Vec<u64> = Vec::new();
        for key in candidates {
            // Only open incidents take anomalies (the indexes hold open ones only; a stale
            // entry must never fold an anomaly into a closed or forgotten incident).
            let Some(inc) = self.incidents.get(&key) else {
                continue;
            };
            if inc.status != IncidentStatus::Open || inc.last_seen.saturating_add(w) < t {
                continue;
            }
            let mut joins = false;
            for m in &inc.members {
                if m.entity == a.entity && m.kind == a.kind && t <= m.last_seen.saturating_add(w) {
                    dedup = Some(key);
                    break;
                }
                if joins || t < m.first_seen.saturating_sub(w) || t > m.last_seen.saturating_add(w)
                {
                    continue;
                }
                if m.entity != a.entity && is_security(m.kind) != is_security(a.kind) {
                    // An attack and an outage on neighbouring nodes are two problems.
                    continue;
                }
                let m_node = topo.resolve(m.entity.as_str());
                joins = match (&near, m_node) {
                    (Some(near), Some(mn)) => near.contains_key(&mn),
                    _ => m.entity == a.entity || (m.class == a.class && m.kind == a.kind),
                };
            }
            if dedup.is_some() {
                break;
            }
            if joins {
                targets.push(key);
            }
        }

        let member = MemberState::from_anomaly(a);
        if let Some(key) = dedup {
            self.counters.deduplicated += 1;
            self.fold(key, member);
            return Joined {
                incident: self.incidents[&key].id.clone(),
                new: false,
                merged: Vec::new(),
            };
        }
        match targets.len() {
            0 => {
                let key = self.create(a);
                self.fold(key, member);
                Joined {
                    incident: self.incidents[&key].id.clone(),
                    new: true,
                    merged: Vec::new(),
                }
            }
            1 => {
                self.fold(targets[0], member);
                Joined {
                    incident: self.incidents[&targets[0]].id.clone(),
                    new: false,
                    merged: Vec::new(),
                }
            }
            _ => {
                let (survivor, merged) = self.merge(targets);
                self.fold(survivor, member);
                Joined {
                    incident: self.incidents[&survivor].id.clone(),
                    new: false,
                    merged,
                }
            }
        }
    }

    /// Open incidents that may hold a member the anomaly dedups into or joins, by creation
    /// order: those with its entity, those with its class and kind, and those with an entity
    /// naming a node within `max_hops` of its node. A superset; `observe` checks each member.
    fn candidates(
        &self,
        a: &Anomaly,
        near: Option<&FxHashMap<NodeIx, u32>>,
        topo: &Topology,
    ) -> Vec<u64> {
        let mut out: Vec<u64> = Vec::new();
        if let Some(keys) = self.by_entity.get(&a.entity) {
            out.extend_from_slice(keys);
        }
        if let Some(keys) = self.by_attr.get(&(a.class, a.kind)) {
            out.extend_from_slice(keys);
        }
        if let Some(near) = near {
            let names: usize = near.keys().map(|n| topo.names(*n).len()).sum();
            if names <= self.by_entity.len() {
                for n in near.keys() {
                    for name in topo.names(*n) {
                        if let Some(keys) = Symbol::find(name).and_then(|s| self.by_entity.get(&s))
                        {
                            out.extend_from_slice(keys);
                        }
                    }
                }
            } else {
                for (entity, keys) in &self.by_entity {
                    if topo
                        .resolve(entity.as_str())
                        .is_some_and(|n| near.contains_key(&n))
                    {
                        out.extend_from_slice(keys);
                    }
                }
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    fn index(&mut self, key: u64, m: &MemberState) {
        let keys = self.by_entity.entry(m.entity).or_default();
        if !keys.contains(&key) {
            keys.push(key);
        }
        let keys = self.by_attr.entry((m.class, m.kind)).or_default();
        if !keys.contains(&key) {
            keys.push(key);
        }
    }

    /// Takes a closing incident out of the member indexes.
    fn unindex(&mut self, key: u64) {
        let inc = &self.incidents[&key];
        for m in &inc.members {
            if let Some(keys) = self.by_entity.get_mut(&m.entity) {
                keys.retain(|k| *k != key);
                if keys.is_empty() {
                    self.by_entity.remove(&m.entity);
                }
            }
            if let Some(keys) = self.by_attr.get_mut(&(m.class, m.kind)) {
                keys.retain(|k| *k != key);
                if keys.is_empty() {
                    self.by_attr.remove(&(m.class, m.kind));
                }
            }
        }
    }

    fn create(&mut self, a: &Anomaly) -> u64 {
        if self.open.len() >= self.settings.max_open.max(1) {
            if let Some(&(_, oldest)) = self.open.first() {
                let at = self.watermark;
                self.resolve(oldest, at);
                self.counters.forced_resolutions += 1;
            }
        }
        let mut salt = 0;
        let mut id = incident_id(&a.id, salt);
        while self.ids.contains_key(&id) {
            salt += 1;
            id = incident_id(&a.id, salt);
        }
        let key = self.next_key;
        self.next_key += 1;
        self.ids.insert(id.clone(), key);
        self.incidents.insert(
            key,
            IncidentState {
                id,
                status: IncidentStatus::Open,
                merged_into: None,
                members: Vec::new(),
                anomalies: 0,
                first_seen: a.window_start_ms,
                last_seen: a.window_end_ms,
                resolved_at: None,
                revision: 0,
            },
        );
        self.open.insert((a.window_end_ms, key));
        self.counters.incidents_created += 1;
        key
    }

    /// Adds a member record (one anomaly, or a merged incident's member) to an open incident.
    fn fold(&mut self, key: u64, member: MemberState) {
        let inc = self
            .incidents
            .get_mut(&key)
            .expect("fold is only called with a live key");
        self.open.remove(&(inc.last_seen, key));
        inc.anomalies += member.anomalies;
        inc.first_seen = inc.first_seen.min(member.first_seen);
        inc.last_seen = inc.last_seen.max(member.last_seen);
        // A repeat is indexed already, under its member's own class (an entity's class can
        // change when the scorer forgets and meets it again): indexing the repeat's class
        // would leave an entry nothing removes.
        let added = match inc
            .members
            .iter_mut()
            .find(|m| m.entity == member.entity && m.kind == member.kind)
        {
            Some(m) => {
                m.absorb(&member);
                false
            }
            None => {
                inc.members.push(member.clone());
                true
            }
        };
        inc.revision += 1;
        self.open.insert((inc.last_seen, key));
        self.changed.insert(key);
        if added {
            self.index(key, &member);
        }
    }

    /// Merges open incidents into the one first seen earliest (tie: smaller id).
    fn merge(&mut self, mut keys: Vec<u64>) -> (u64, Vec<String>) {
        keys.sort_by(|a, b| {
            let (x, y) = (&self.incidents[a], &self.incidents[b]);
            x.first_seen
                .cmp(&y.first_seen)
                .then_with(|| x.id.cmp(&y.id))
        });
        let survivor = keys[0];
        let survivor_id = self.incidents[&survivor].id.clone();
        let mut merged = Vec::new();
        for &key in &keys[1..] {
            self.unindex(key);
            let inc = self
                .incidents
                .get_mut(&key)
                .expect("merge is only called with live keys");
            self.open.remove(&(inc.last_seen, key));
            inc.status = IncidentStatus::Merged;
            inc.merged_into = Some(survivor_id.clone());
            inc.revision += 1;
            let members = std::mem::take(&mut inc.members);
            merged.push(inc.id.clone());
            self.closed.push_back(key);
            self.changed.insert(key);
            self.counters.merges += 1;
            for m in members {
                self.fold(survivor, m);
            }
        }
        merged.sort();
        (survivor, merged)
    }

    fn resolve(&mut self, key: u64, at: i64) {
        self.unindex(key);
        let inc = self
            .incidents
            .get_mut(&key)
            .expect("resolve is only called with a live key");
        self.open.remove(&(inc.last_seen, key));
        inc.status = IncidentStatus::Resolved;
        inc.resolved_at = Some(at);
        inc.revision += 1;
        self.closed.push_back(key);
        self.changed.insert(key);
        self.counters.resolved += 1;
    }

    /// Moves the event-time clock to `watermark_ms` (never back) and resolves every open
    /// incident quiet for `quiet_ms` before it.
    pub fn advance(&mut self, watermark_ms: i64) {
        self.watermark = self.watermark.max(watermark_ms);
        while let Some(&(last, key)) = self.open.first() {
            let due = last.saturating_add(self.settings.quiet_ms);
            if due >= self.watermark {
                break;
            }
            self.resolve(key, due);
        }
    }

    /// Snapshots of every incident changed since the last call, by id.
    pub fn changes(&mut self, topo: &Topology) -> Vec<Incident> {
        let mut keys: Vec<u64> = self.changed.drain().collect();
        keys.sort_by(|a, b| self.incidents[a].id.cmp(&self.incidents[b].id));
        keys.iter()
            .map(|k| self.build(&self.incidents[k], topo))
            .collect()
    }

    /// The snapshot of one incident, open or closed.
    pub fn snapshot(&self, id: &str, topo: &Topology) -> Option<Incident> {
        self.ids
            .get(id)
            .map(|k| self.build(&self.incidents[k], topo))
    }

    /// Ids of the open incidents, sorted.
    pub fn open_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .open
            .iter()
            .map(|(_, k)| self.incidents[k].id.clone())
            .collect();
        ids.sort();
        ids
    }

    /// Drops the oldest resolved and merged incidents beyond `keep` (those with unreported
    /// changes stay until [`Correlator::changes`] reports them).
    pub fn forget_closed(&mut self, keep: usize) {
        let mut excess = self.closed.len().saturating_sub(keep);
        let mut kept = VecDeque::with_capacity(self.closed.len());
        while let Some(key) = self.closed.pop_front() {
            if excess > 0 && !self.changed.contains(&key) {
                if let Some(inc) = self.incidents.remove(&key) {
                    self.ids.remove(&inc.id);
                }
                excess -= 1;
            } else {
                kept.push_back(key);
            }
        }
        self.closed = kept;
    }

    fn build(&self, inc: &IncidentState, topo: &Topology) -> Incident {
        let mut members: Vec<Member> = inc
            .members
            .iter()
            .map(|m| Member {
                entity: m.entity.as_str().to_string(),
                node: topo
                    .resolve(m.entity.as_str())
                    .map(|ix| topo.id(ix).to_string()),
                kind: m.kind.as_str().to_string(),
                first_seen: m.first_seen,
                last_seen: m.last_seen,
                score: round3(m.score),
                severity_id: m.severity_id,
                anomalies: m.anomalies,
                last_anomaly: m.last_anomaly.clone(),
            })
            .collect();
        members.sort_by(|a, b| {
            (a.first_seen, &a.entity, &a.kind).cmp(&(b.first_seen, &b.entity, &b.kind))
        });
        let ranking = rank(&members, topo, &self.settings);

        let member_nodes: Vec<NodeIx> = members
            .iter()
            .filter_map(|m| m.node.as_deref().and_then(|id| topo.resolve(id)))
            .collect();
        let mut affected: BTreeSet<String> = members
            .iter()
            .map(|m| m.node.clone().unwrap_or_else(|| m.entity.clone()))
            .collect();
        if let Some(root) = ranking.root_node {
            affected.extend(
                topo.downstream(root, 10_000)
                    .into_iter()
                    .map(|ix| topo.id(ix).to_string()),
            );
        }
        let blast_radius = affected.len() as u64;
        let severity_id = members
            .iter()
            .map(|m| m.severity_id)
            .max()
            .unwrap_or(severity::MEDIUM);
        let criticality = member_nodes
            .iter()
            .chain(ranking.root_node.iter())
            .filter_map(|ix| topo.node(*ix).criticality)
            .max();
        let priority = if severity_id >= severity::CRITICAL
            || (criticality == Some(Criticality::Critical) && severity_id >= severity::HIGH)
            || blast_radius >= 10
        {
            Priority::P1
        } else if severity_id >= severity::HIGH
            || criticality >= Some(Criticality::High)
            || blast_radius >= 5
        {
            Priority::P2
        } else if severity_id >= severity::MEDIUM {
            Priority::P3
        } else {
            Priority::P4
        };
        let sites: BTreeSet<String> = member_nodes
            .iter()
            .filter_map(|ix| topo.node(*ix).site.clone())
            .collect();
        let entities: BTreeSet<&str> = members.iter().map(|m| m.entity.as_str()).collect();
        let title = title(inc, &ranking.candidates, &members, entities.len());
        Incident {
            id: inc.id.clone(),
            status: inc.status,
            merged_into: inc.merged_into.clone(),
            priority,
            title,
            root_cause: ranking.candidates.first().cloned(),
            candidates: ranking.candidates,
            chains: ranking.chains,
            anomalies: inc.anomalies,
            first_seen: inc.first_seen,
            last_seen: inc.last_seen,
            resolved_at: inc.resolved_at,
            blast_radius,
            severity_id,
            severity: severity::name(severity_id).to_string(),
            score: members.iter().map(|m| m.score).fold(0.0, f64::max),
            sites: sites.into_iter().collect(),
            revision: inc.revision,
            members,
        }
    }
}

/// "core-sw-1 (switch): 14 anomalies on 9 entities, error burst on web-1, ...".
fn title(
    inc: &IncidentState,
    candidates: &[super::incident::Candidate],
    members: &[Member],
    entities: usize,
) -> String {
    if let (IncidentStatus::Merged, Some(into)) = (inc.status, &inc.merged_into) {
        return format!("merged into {into}: {} anomalies", inc.anomalies);
    }
    let root = match candidates.first() {
        Some(c) => match &c.kind {
            Some(kind) => format!("{} ({kind})", c.entity),
            None => c.entity.clone(),
        },
        None => "unknown".to_string(),
    };
    let anomalies = if inc.anomalies == 1 {
        "1 anomaly".to_string()
    } else {
        format!("{} anomalies", inc.anomalies)
    };
    let entities = if entities == 1 {
        "1 entity".to_string()
    } else {
        format!("{entities} entities")
    };
    let mut out = format!("{root}: {anomalies} on {entities}");
    for m in members.iter().take(3) {
        let words = AnomalyKind::ALL
            .iter()
            .find(|k| k.as_str() == m.kind)
            .map_or(m.kind.as_str(), |k| k.words());
        out.push_str(&format!(", {words} on {}", m.entity));
    }
    if members.len() > 3 {
        out.push_str(&format!(" and {} more", members.len() - 3));
    }
    out
}

#[cfg(test)]
#[path = "correlator_tests.rs"]
mod tests;
