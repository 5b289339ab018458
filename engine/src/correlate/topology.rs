//! The estate's topology: a petgraph graph of nodes and dependency edges, loaded from
//! `config/topology.toml`, changed through the API and learned from traffic. The correlator
//! asks it how far apart two entities are; root cause analysis asks it who depends on whom.

use std::collections::VecDeque;
use std::io;
use std::net::IpAddr;
use std::path::Path;

use petgraph::stable_graph::{EdgeIndex, StableDiGraph};
use petgraph::visit::{EdgeRef, IntoEdgeReferences};
use petgraph::Direction::{Incoming, Outgoing};
use rustc_hash::{FxHashMap, FxHashSet};

use super::spec::{EdgeKind, EdgeSpec, NodeSpec, TopologyFile};
use crate::schema::Event;

/// A node's index in the graph; valid until the node is removed.
pub type NodeIx = petgraph::stable_graph::NodeIndex;

/// Why a topology was refused: every problem found, one per line.
#[derive(Debug, thiserror::Error)]
pub enum TopologyError {
    /// The text is not valid TOML for a topology file.
    #[error("{origin}: {message}")]
    Syntax { origin: String, message: String },
    /// The file parsed but names conflict or edges are wrong.
    #[error("{}", .problems.iter().map(|p| format!("{origin}: {p}")).collect::<Vec<_>>().join("\n"))]
    Invalid {
        origin: String,
        problems: Vec<String>,
    },
    /// Reading the file failed.
    #[error("{path}: {source}")]
    Io { path: String, source: io::Error },
}

impl TopologyError {
    fn invalid(problem: String) -> TopologyError {
        TopologyError::Invalid {
            origin: "topology".to_string(),
            problems: vec![problem],
        }
    }
}

/// How edges are learned from traffic and forgotten.
#[derive(Debug, Clone, PartialEq)]
pub struct LearnSettings {
    /// A learned edge's weight halves every this many ms without traffic.
    pub half_life_ms: i64,
    /// Learned edges whose decayed weight falls below this are dropped by [`Topology::decay`].
    pub min_weight: f64,
    /// A learned edge's weight never grows past this.
    pub max_weight: f64,
    /// At most this many learned edges are kept.
    pub max_learned: usize,
}

impl Default for LearnSettings {
    fn default() -> Self {
        LearnSettings {
            half_life_ms: 3_600_000,
            min_weight: 0.05,
            max_weight: 10.0,
            max_learned: 100_000,
        }
    }
}

/// What [`Topology::learn_flow`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Learned {
    /// A new learned edge.
    Added,
    /// An existing learned edge got stronger.
    Refreshed,
    /// A configured edge already links the two nodes; nothing learned.
    Configured,
    /// Same node at both ends, or the learned-edge table is full.
    Ignored,
}

#[derive(Debug, Clone)]
struct NodeData {
    spec: NodeSpec,
    /// Insertion order (StableGraph reuses vacant indices).
    seq: u64,
    /// Every name it answers to: id, aliases, address texts (sorted).
    names: Vec<String>,
}

#[derive(Debug, Clone, Copy)]
struct EdgeData {
    kind: EdgeKind,
    weight: f64,
    learned: bool,
    last_seen_ms: i64,
}

/// The topology graph with its name index.
#[derive(Debug, Clone, Default)]
pub struct Topology {
    graph: StableDiGraph<NodeData, EdgeData>,
    /// Ids, aliases and address texts -> node.
    names: FxHashMap<String, NodeIx>,
    by_ip: FxHashMap<IpAddr, NodeIx>,
    next_seq: u64,
    learned: usize,
    version: u64,
}

fn decayed(weight: f64, last_seen_ms: i64, now_ms: i64, half_life_ms: i64) -> f64 {
    if now_ms <= last_seen_ms || half_life_ms <= 0 {
        return weight;
    }
    weight * 0.5f64.powf((now_ms - last_seen_ms) as f64 / half_life_ms as f64)
}

impl Topology {
    /// An empty topology.
    pub fn new() -> Topology {
        Topology::default()
    }

    /// Builds a topology, reporting every problem of the file at once.
    pub fn from_file(file: TopologyFile) -> Result<Topology, TopologyError> {
        Topology::build(file, "topology")
    }

    fn build(file: TopologyFile, origin: &str) -> Result<Topology, TopologyError> {
        let mut topo = Topology::new();
        let mut problems = Vec::new();
        for node in file.nodes {
            if let Err(p) = topo.insert_node(node) {
                problems.extend(p);
            }
        }
        // Configured edges first, so a learned edge never shadows one.
        let (configured, learned): (Vec<_>, Vec<_>) =
            file.edges.into_iter().partition(|e| !e.learned);
        for edge in configured.into_iter().chain(learned) {
            if let Err(p) = topo.insert_edge(edge) {
                problems.push(p);
            }
        }
        if problems.is_empty() {
            topo.version = 1;
            Ok(topo)
        } else {
            Err(TopologyError::Invalid {
                origin: origin.to_string(),
                problems,
            })
        }
    }

    /// Parses `config/topology.toml` text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Topology, TopologyError> {
        let file: TopologyFile = toml::from_str(text).map_err(|e| TopologyError::Syntax {
            origin: origin.to_string(),
            message: e.to_string(),
        })?;
        Topology::build(file, origin)
    }

    /// Reads and parses a topology file.
    pub fn load(path: &Path) -> Result<Topology, TopologyError> {
        let text = std::fs::read_to_string(path).map_err(|source| TopologyError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Topology::parse(&text, &path.display().to_string())
    }

    /// The file form: nodes in insertion order, edges sorted by from, to, kind.
    pub fn to_file(&self) -> TopologyFile {
        let mut nodes: Vec<&NodeData> = self.graph.node_weights().collect();
        nodes.sort_by_key(|n| n.seq);
        let mut edges: Vec<EdgeSpec> = self
            .graph
            .edge_references()
            .map(|e| {
                let d = e.weight();
                EdgeSpec {
                    from: self.id(e.source()).to_string(),
                    to: self.id(e.target()).to_string(),
                    kind: d.kind,
                    weight: if d.learned || d.weight != 1.0 {
                        Some(d.weight)
                    } else {
                        None
                    },
                    learned: d.learned,
                    last_seen_ms: d.learned.then_some(d.last_seen_ms),
                }
            })
            .collect();
        edges.sort_by(|a, b| {
            (&a.from, &a.to, a.kind, a.learned).cmp(&(&b.from, &b.to, b.kind, b.learned))
        });
        TopologyFile {
            nodes: nodes.into_iter().map(|n| n.spec.clone()).collect(),
            edges,
        }
    }

    /// The file form as TOML text.
    pub fn to_toml(&self) -> String {
        // Serialising plain strings, numbers and maps cannot fail.
        toml::to_string(&self.to_file()).expect("a TopologyFile always serialises to TOML")
    }

    /// Writes the TOML form atomically: a temporary file in the same folder, fsync, rename.
    pub fn save(&self, path: &Path) -> io::Result<()> {
        crate::durable::write_atomic(path, self.to_toml().as_bytes())
    }

    // ----- lookup -----

    /// The node named `name`: by id, alias or address text.
    pub fn resolve(&self, name: &str) -> Option<NodeIx> {
        if let Some(ix) = self.names.get(name) {
            return Some(*ix);
        }
        name.parse::<IpAddr>()
            .ok()
            .and_then(|ip| self.resolve_ip(ip))
    }

    /// Every address that names a node.
    pub fn addresses(&self) -> impl Iterator<Item = IpAddr> + '_ {
        self.by_ip.keys().copied()
    }

    /// The node with address `ip`.
    pub fn resolve_ip(&self, ip: IpAddr) -> Option<NodeIx> {
        self.by_ip.get(&ip).copied()
    }

    /// A node's spec. Panics on a removed index (an invariant of the caller).
    pub fn node(&self, ix: NodeIx) -> &NodeSpec {
        &self.graph[ix].spec
    }

    /// Every name a node answers to: its id, aliases and address texts, sorted.
    pub fn names(&self, ix: NodeIx) -> &[String] {
        &self.graph[ix].names
    }

    /// A node's id.
    pub fn id(&self, ix: NodeIx) -> &str {
        &self.graph[ix].spec.id
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.graph.node_count()
    }

    /// True when there are no nodes.
    pub fn is_empty(&self) -> bool {
        self.graph.node_count() == 0
    }

    /// Number of edges, configured and learned.
    pub fn edge_count(&self) -> usize {
        self.graph.edge_count()
    }

    /// Number of learned edges.
    pub fn learned_count(&self) -> usize {
        self.learned
    }

    /// Bumped on every change.
    pub fn version(&self) -> u64 {
        self.version
    }

    // ----- changes -----

    /// The names a node claims: id, aliases, address texts.
    fn claims(spec: &NodeSpec) -> Vec<String> {
        let mut out = vec![spec.id.clone()];
        out.extend(spec.aliases.iter().cloned());
        out.extend(spec.addresses().iter().map(|ip| ip.to_string()));
        out.sort();
        out.dedup();
        out
    }

    fn insert_node(&mut self, spec: NodeSpec) -> Result<NodeIx, Vec<String>> {
        let mut problems = Vec::new();
        if spec.id.is_empty() {
            problems.push("a node has an empty id".to_string());
        }
        for name in Topology::claims(&spec) {
            if let Some(other) = self.names.get(&name) {
                let other = self.id(*other);
                if name == spec.id && name == other {
                    problems.push(format!("duplicate node id {name:?}"));
                } else {
                    problems.push(format!(
                        "node {:?}: name {name:?} already names node {other:?}",
                        spec.id
                    ));
                }
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        let claims = Topology::claims(&spec);
        let addresses = spec.addresses();
        let ix = self.graph.add_node(NodeData {
            spec,
            seq: self.next_seq,
            names: claims.clone(),
        });
        self.next_seq += 1;
        for name in claims {
            self.names.insert(name, ix);
        }
        for ip in addresses {
            self.by_ip.insert(ip, ix);
        }
        Ok(ix)
    }

    fn find_edge(&self, a: NodeIx, b: NodeIx, kind: EdgeKind) -> Option<EdgeIndex> {
        self.graph
            .edges_connecting(a, b)
            .find(|e| e.weight().kind == kind)
            .map(|e| e.id())
    }

    /// True when a configured edge links a and b, either way.
    fn configured_between(&self, a: NodeIx, b: NodeIx) -> bool {
        self.graph
            .edges_connecting(a, b)
            .chain(self.graph.edges_connecting(b, a))
            .any(|e| !e.weight().learned)
    }

    fn insert_edge(&mut self, spec: EdgeSpec) -> Result<(), String> {
        let label = format!("edge {} -[{}]-> {}", spec.from, spec.kind.as_str(), spec.to);
        let (from, to) = match (self.names.get(&spec.from), self.names.get(&spec.to)) {
            (Some(a), Some(b)) => (*a, *b),
            (None, Some(_)) => return Err(format!("{label}: unknown node {:?}", spec.from)),
            (Some(_), None) => return Err(format!("{label}: unknown node {:?}", spec.to)),
            (None, None) => {
                return Err(format!(
                    "{label}: unknown nodes {:?} and {:?}",
                    spec.from, spec.to
                ))
            }
        };
        if from == to {
            return Err(format!("{label}: an edge from a node to itself"));
        }
        let weight = spec.weight.unwrap_or(1.0);
        if !weight.is_finite() || weight <= 0.0 {
            return Err(format!(
                "{label}: weight {weight} is not a finite number above 0"
            ));
        }
        if spec.learned && spec.kind != EdgeKind::ConnectsTo {
            return Err(format!("{label}: learned edges are connects_to"));
        }
        if let Some(existing) = self.find_edge(from, to, spec.kind) {
            if self.graph[existing].learned && !spec.learned {
                // A configured edge replaces the learned one.
                self.graph.remove_edge(existing);
                self.learned -= 1;
            } else {
                return Err(format!("{label}: duplicate edge"));
            }
        }
        if spec.learned {
            if self.configured_between(from, to) {
                // A configured edge wins; the learned one is redundant.
                return Ok(());
            }
            self.learned += 1;
        } else {
            // Drop learned edges the configured one makes redundant.
            let stale: Vec<EdgeIndex> = self
                .graph
                .edges_connecting(from, to)
                .chain(self.graph.edges_connecting(to, from))
                .filter(|e| e.weight().learned)
                .map(|e| e.id())
                .collect();
            for e in stale {
                self.graph.remove_edge(e);
                self.learned -= 1;
            }
        }
        let data = EdgeData {
            kind: spec.kind,
            weight,
            learned: spec.learned,
            last_seen_ms: spec.last_seen_ms.unwrap_or(0),
        };
        self.graph.add_edge(from, to, data);
        Ok(())
    }

    /// Adds a node; refused if its id, an alias or an address already names a node.
    pub fn add_node(&mut self, spec: NodeSpec) -> Result<(), TopologyError> {
        self.insert_node(spec)
            .map_err(|problems| TopologyError::Invalid {
                origin: "topology".to_string(),
                problems,
            })?;
        self.version += 1;
        Ok(())
    }

    /// Removes a node and its edges.
    pub fn remove_node(&mut self, id: &str) -> Result<NodeSpec, TopologyError> {
        let ix = *self
            .names
            .get(id)
            .filter(|ix| self.id(**ix) == id)
            .ok_or_else(|| TopologyError::invalid(format!("no node {id:?}")))?;
        let learned = self
            .graph
            .edges_directed(ix, Outgoing)
            .chain(self.graph.edges_directed(ix, Incoming))
            .filter(|e| e.weight().learned)
            .count();
        self.learned -= learned;
        let data = self
            .graph
            .remove_node(ix)
            .expect("the name index only holds live nodes");
        for name in Topology::claims(&data.spec) {
            self.names.remove(&name);
        }
        for ip in data.spec.addresses() {
            self.by_ip.remove(&ip);
        }
        self.version += 1;
        Ok(data.spec)
    }

    /// Adds an edge between two known nodes (a configured edge replaces a learned one).
    pub fn add_edge(&mut self, spec: EdgeSpec) -> Result<(), TopologyError> {
        self.insert_edge(spec).map_err(TopologyError::invalid)?;
        self.version += 1;
        Ok(())
    }

    /// Removes the edge `from -[kind]-> to`.
    pub fn remove_edge(
        &mut self,
        from: &str,
        to: &str,
        kind: EdgeKind,
    ) -> Result<(), TopologyError> {
        let missing =
            || TopologyError::invalid(format!("no edge {from} -[{}]-> {to}", kind.as_str()));
        let a = self.resolve(from).ok_or_else(missing)?;
        let b = self.resolve(to).ok_or_else(missing)?;
        let e = self.find_edge(a, b, kind).ok_or_else(missing)?;
        if self.graph[e].learned {
            self.learned -= 1;
        }
        self.graph.remove_edge(e);
        self.version += 1;
        Ok(())
    }

    /// Replaces the whole topology, or changes nothing if the file has a problem.
    pub fn replace(&mut self, file: TopologyFile) -> Result<(), TopologyError> {
        let mut next = Topology::from_file(file)?;
        next.version = self.version + 1;
        *self = next;
        Ok(())
    }

    // ----- learning -----

    /// Records traffic from a to b at event time `at_ms` as a learned `connects_to` edge.
    pub fn learn_flow(&mut self, a: NodeIx, b: NodeIx, at_ms: i64, s: &LearnSettings) -> Learned {
        if a == b || !self.graph.contains_node(a) || !self.graph.contains_node(b) {
            return Learned::Ignored;
        }
        if self.configured_between(a, b) {
            return Learned::Configured;
        }
        if let Some(e) = self.find_edge(a, b, EdgeKind::ConnectsTo) {
            let d = &mut self.graph[e];
            d.weight =
                (decayed(d.weight, d.last_seen_ms, at_ms, s.half_life_ms) + 1.0).min(s.max_weight);
            d.last_seen_ms = d.last_seen_ms.max(at_ms);
            self.version += 1;
            return Learned::Refreshed;
        }
        if self.learned >= s.max_learned {
            return Learned::Ignored;
        }
        let data = EdgeData {
            kind: EdgeKind::ConnectsTo,
            weight: 1.0f64.min(s.max_weight),
            learned: true,
            last_seen_ms: at_ms,
        };
        self.graph.add_edge(a, b, data);
        self.learned += 1;
        self.version += 1;
        Learned::Added
    }

    /// Drops learned edges whose weight, decayed to `now_ms`, fell below `min_weight`.
    pub fn decay(&mut self, now_ms: i64, s: &LearnSettings) -> usize {
        let stale: Vec<EdgeIndex> = self
            .graph
            .edge_references()
            .filter(|e| {
                let d = e.weight();
                d.learned
                    && decayed(d.weight, d.last_seen_ms, now_ms, s.half_life_ms) < s.min_weight
            })
            .map(|e| e.id())
            .collect();
        for e in &stale {
            self.graph.remove_edge(*e);
        }
        self.learned -= stale.len();
        if !stale.is_empty() {
            self.version += 1;
        }
        stale.len()
    }

    /// The stored weight of the edge `a -[kind]-> b`.
    pub fn edge_weight(&self, a: NodeIx, b: NodeIx, kind: EdgeKind) -> Option<f64> {
        self.find_edge(a, b, kind).map(|e| self.graph[e].weight)
    }

    // ----- graph queries -----

    /// Every node within `max_hops` of `n`, ignoring direction, with its hop count (n itself at 0).
    pub fn neighbourhood(&self, n: NodeIx, max_hops: u32) -> FxHashMap<NodeIx, u32> {
        let mut seen = FxHashMap::default();
        seen.insert(n, 0);
        let mut frontier = vec![n];
        let mut next = Vec::new();
        for hop in 1..=max_hops {
            for &u in &frontier {
                for v in self.graph.neighbors_undirected(u) {
                    if let std::collections::hash_map::Entry::Vacant(e) = seen.entry(v) {
                        e.insert(hop);
                        next.push(v);
                    }
                }
            }
            if next.is_empty() {
                break;
            }
            std::mem::swap(&mut frontier, &mut next);
            next.clear();
        }
        seen
    }

    /// Hops between a and b ignoring direction and edge kind, if at most `max_hops`.
    pub fn distance(&self, a: NodeIx, b: NodeIx, max_hops: u32) -> Option<u32> {
        if a == b {
            return Some(0);
        }
        let mut seen = FxHashSet::default();
        seen.insert(a);
        let mut frontier = vec![a];
        let mut next = Vec::new();
        for hop in 1..=max_hops {
            for &u in &frontier {
                for v in self.graph.neighbors_undirected(u) {
                    if v == b {
                        return Some(hop);
                    }
                    if seen.insert(v) {
                        next.push(v);
                    }
                }
            }
            if next.is_empty() {
                return None;
            }
            std::mem::swap(&mut frontier, &mut next);
            next.clear();
        }
        None
    }

    fn dependency_weight(d: &EdgeData) -> f64 {
        match d.kind {
            EdgeKind::DependsOn | EdgeKind::Hosts => 1.0,
            EdgeKind::ConnectsTo if d.learned => 0.5 * d.weight.min(1.0),
            EdgeKind::ConnectsTo => 0.5,
        }
    }

    fn sorted_by_id(&self, map: FxHashMap<NodeIx, f64>) -> Vec<(NodeIx, f64)> {
        let mut out: Vec<(NodeIx, f64)> = map.into_iter().collect();
        out.sort_by(|a, b| self.id(a.0).cmp(self.id(b.0)));
        out
    }

    /// What n needs, with weights: out `depends_on` (1), its host (in `hosts`, 1), out
    /// `connects_to` (0.5; learned 0.5 * min(weight, 1)). Sorted by node id.
    pub fn dependencies(&self, n: NodeIx) -> Vec<(NodeIx, f64)> {
        let mut map: FxHashMap<NodeIx, f64> = FxHashMap::default();
        for e in self.graph.edges_directed(n, Outgoing) {
            if e.weight().kind != EdgeKind::Hosts {
                let w = Topology::dependency_weight(e.weight());
                let slot = map.entry(e.target()).or_insert(0.0);
                *slot = slot.max(w);
            }
        }
        for e in self.graph.edges_directed(n, Incoming) {
            if e.weight().kind == EdgeKind::Hosts {
                let slot = map.entry(e.source()).or_insert(0.0);
                *slot = slot.max(1.0);
            }
        }
        self.sorted_by_id(map)
    }

    /// Who needs n (the reverse of [`Topology::dependencies`]). Sorted by node id.
    pub fn dependents(&self, n: NodeIx) -> Vec<(NodeIx, f64)> {
        let mut map: FxHashMap<NodeIx, f64> = FxHashMap::default();
        for e in self.graph.edges_directed(n, Incoming) {
            if e.weight().kind != EdgeKind::Hosts {
                let w = Topology::dependency_weight(e.weight());
                let slot = map.entry(e.source()).or_insert(0.0);
                *slot = slot.max(w);
            }
        }
        for e in self.graph.edges_directed(n, Outgoing) {
            if e.weight().kind == EdgeKind::Hosts {
                let slot = map.entry(e.target()).or_insert(0.0);
                *slot = slot.max(1.0);
            }
        }
        self.sorted_by_id(map)
    }

    /// The shortest path root -> .. -> impacted, each step from a dependency to a dependent,
    /// within `max_hops`; ties broken by node id.
    pub fn causal_path(
        &self,
        root: NodeIx,
        impacted: NodeIx,
        max_hops: u32,
    ) -> Option<Vec<NodeIx>> {
        if root == impacted {
            return Some(vec![root]);
        }
        let mut parent: FxHashMap<NodeIx, NodeIx> = FxHashMap::default();
        let mut queue = VecDeque::from([(root, 0u32)]);
        parent.insert(root, root);
        while let Some((u, hops)) = queue.pop_front() {
            if hops >= max_hops {
                continue;
            }
            for (v, _) in self.dependents(u) {
                if parent.contains_key(&v) {
                    continue;
                }
                parent.insert(v, u);
                if v == impacted {
                    let mut path = vec![v];
                    let mut at = v;
                    while at != root {
                        at = parent[&at];
                        path.push(at);
                    }
                    path.reverse();
                    return Some(path);
                }
                queue.push_back((v, hops + 1));
            }
        }
        None
    }

    /// Every transitive dependent of root (not root itself), breadth first, at most `max`.
    pub fn downstream(&self, root: NodeIx, max: usize) -> Vec<NodeIx> {
        let mut seen = FxHashSet::default();
        seen.insert(root);
        let mut out = Vec::new();
        let mut queue = VecDeque::from([root]);
        while let Some(u) = queue.pop_front() {
            for (v, _) in self.dependents(u) {
                if out.len() >= max {
                    return out;
                }
                if seen.insert(v) {
                    out.push(v);
                    queue.push_back(v);
                }
            }
        }
        out
    }

    /// A one-line summary for logs: counts.
    pub fn summary(&self) -> String {
        format!(
            "{} nodes, {} edges ({} learned)",
            self.len(),
            self.edge_count(),
            self.learned
        )
    }
}

/// The two addresses of a flow event worth learning from: both set and different.
pub fn flow_endpoints(e: &Event) -> Option<(IpAddr, IpAddr)> {
    match (e.src.ip, e.dst.ip) {
        (Some(a), Some(b)) if a != b => Some((a, b)),
        _ => None,
    }
}

#[cfg(test)]
#[path = "topology_tests.rs"]
mod tests;
