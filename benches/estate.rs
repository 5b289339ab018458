//! A synthetic estate and anomaly stream for the correlation benchmarks.
//!
//! - The estate: [`SITES`] sites, each a router <- core switch <- firewall <- [`SERVERS`]
//!   servers and a database (`A <- B`: B depends on A); every server depends on its site's
//!   firewall and database: 960 nodes, 1,720 edges.
//! - The stream ([`Storms`]): fault storms (a random node at a random site fails, then its
//!   dependents over the next event-time minutes), background noise on random nodes of the
//!   estate, and anomalies on entities that are not in the topology. Seeded: the same seed gives
//!   the same anomalies.

use std::sync::Arc;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use tocsin_engine::correlate::{
    EdgeKind, EdgeSpec, NodeIx, NodeKind, NodeSpec, Topology, TopologyFile,
};
use tocsin_engine::schema::Symbol;
use tocsin_engine::score::anomaly::{Anomaly, AnomalyKind};

/// Sites in the estate.
pub const SITES: usize = 40;
/// Servers per site.
pub const SERVERS: usize = 20;
/// Length of a scorer window, event-time ms (an anomaly covers one window).
pub const WINDOW_MS: i64 = 10_000;
/// Event time the stream starts at: 2026-01-01T00:00:00Z, ms.
pub const EPOCH_MS: i64 = 1_767_225_600_000;

/// The node ids of one site: router, switch, firewall, database, then the servers.
pub fn site_nodes(site: usize) -> Vec<(String, NodeKind)> {
    let mut out = vec![
        (format!("rtr-s{site:02}"), NodeKind::Router),
        (format!("sw-s{site:02}"), NodeKind::Switch),
        (format!("fw-s{site:02}"), NodeKind::Firewall),
        (format!("db-s{site:02}"), NodeKind::Database),
    ];
    for s in 0..SERVERS {
        out.push((format!("srv-s{site:02}-{s:02}"), NodeKind::Server));
    }
    out
}

/// The estate as a topology file.
pub fn estate_file() -> TopologyFile {
    let mut file = TopologyFile::default();
    for site in 0..SITES {
        let nodes = site_nodes(site);
        for (id, kind) in &nodes {
            let mut spec = NodeSpec::new(id.clone(), *kind);
            spec.site = Some(format!("site-{site:02}"));
            file.nodes.push(spec);
        }
        let (rtr, sw, fw, db) = (&nodes[0].0, &nodes[1].0, &nodes[2].0, &nodes[3].0);
        file.edges.push(EdgeSpec::new(sw, rtr, EdgeKind::DependsOn));
        file.edges.push(EdgeSpec::new(fw, sw, EdgeKind::DependsOn));
        file.edges.push(EdgeSpec::new(db, fw, EdgeKind::DependsOn));
        for (srv, _) in &nodes[4..] {
            file.edges.push(EdgeSpec::new(srv, fw, EdgeKind::DependsOn));
            file.edges.push(EdgeSpec::new(srv, db, EdgeKind::DependsOn));
        }
    }
    file
}

/// The estate as a topology.
pub fn estate() -> Topology {
    // The generated file is valid by construction (unique ids, edges between known nodes).
    Topology::from_file(estate_file()).expect("the generated estate is a valid topology")
}

/// One anomaly as a scorer shard makes it: `entity` of `class`, for the window ending at
/// `window_end_ms`, detected at wall time `detected_ns`.
pub fn anomaly(
    entity: &str,
    class: &str,
    kind: AnomalyKind,
    window_end_ms: i64,
    score: f64,
    detected_ns: u64,
) -> Anomaly {
    let window_start_ms = window_end_ms - WINDOW_MS;
    Anomaly {
        id: Anomaly::id_for(entity, kind, window_start_ms),
        entity: Symbol::intern(entity),
        class: Symbol::intern(class),
        kind,
        window_start_ms,
        window_end_ms,
        score,
        parts: Default::default(),
        signals: Default::default(),
        rules: Default::default(),
        detected_ns,
    }
}

/// One fault storm: a root and its dependents, each faulty from its onset to the storm's end.
#[derive(Debug)]
struct Storm {
    /// (node, onset ms, kind) for the root and each dependent.
    nodes: Vec<(NodeIx, i64, AnomalyKind)>,
    end_ms: i64,
}

/// Shape of the stream.
#[derive(Debug, Clone)]
pub struct StormSettings {
    /// A new storm starts this often, event-time ms.
    pub storm_every_ms: i64,
    /// A storm lasts this long, event-time ms.
    pub storm_ms: i64,
    /// Dependents fail at a random time within this of the root, event-time ms.
    pub spread_ms: i64,
    /// Share of anomalies on random nodes of the estate.
    pub noise: f64,
    /// Share of anomalies on entities that are not in the topology.
    pub unknown: f64,
    /// Distinct entities outside the topology.
    pub unknown_entities: usize,
}

impl Default for StormSettings {
    fn default() -> Self {
        StormSettings {
            storm_every_ms: 20_000,
            storm_ms: 300_000,
            spread_ms: 180_000,
            noise: 0.10,
            unknown: 0.05,
            unknown_entities: 500,
        }
    }
}

/// The anomaly stream; see the module doc.
#[derive(Debug)]
pub struct Storms {
    rng: SmallRng,
    settings: StormSettings,
    storms: Vec<Storm>,
    next_storm_ms: i64,
    /// (id, class) of every node, by node index.
    nodes: Vec<(String, &'static str)>,
    /// Storms started so far.
    pub started: u64,
}

const KINDS: [AnomalyKind; 6] = [
    AnomalyKind::VolumeSpike,
    AnomalyKind::ErrorBurst,
    AnomalyKind::BruteForce,
    AnomalyKind::LatencyDegradation,
    AnomalyKind::NewBehaviour,
    AnomalyKind::ThresholdBreach,
];

impl Storms {
    /// A stream over `topo` (the estate), seeded.
    pub fn new(topo: &Topology, settings: StormSettings, seed: u64) -> Storms {
        let nodes = (0..topo.len())
            .map(|i| {
                let n = topo.node(NodeIx::new(i));
                (n.id.clone(), n.kind.as_str())
            })
            .collect();
        Storms {
            rng: SmallRng::seed_from_u64(seed),
            settings,
            storms: Vec::new(),
            next_storm_ms: EPOCH_MS,
            nodes,
            started: 0,
        }
    }

    fn start_storm(&mut self, topo: &Topology, at_ms: i64) {
        // Roots: mostly infrastructure (router, switch, firewall, database), sometimes a server.
        let site = self.rng.gen_range(0..SITES);
        let per_site = 4 + SERVERS;
        let offset = if self.rng.gen_bool(0.7) {
            self.rng.gen_range(0..4)
        } else {
            self.rng.gen_range(4..per_site)
        };
        let root = NodeIx::new(site * per_site + offset);
        let mut nodes = vec![(root, at_ms, KINDS[self.rng.gen_range(0..KINDS.len())])];
        for dep in topo.downstream(root, 64) {
            let onset = at_ms
                + self
                    .rng
                    .gen_range(WINDOW_MS..=self.settings.spread_ms.max(WINDOW_MS));
            let kind = if self.rng.gen_bool(0.5) {
                AnomalyKind::LatencyDegradation
            } else {
                AnomalyKind::ErrorBurst
            };
            nodes.push((dep, onset, kind));
        }
        self.storms.push(Storm {
            nodes,
            end_ms: at_ms + self.settings.storm_ms,
        });
        self.started += 1;
    }

    /// `n` anomalies at event time `now_ms`, detected at wall time `detected_ns`.
    pub fn batch(
        &mut self,
        topo: &Topology,
        now_ms: i64,
        n: usize,
        detected_ns: u64,
    ) -> Vec<Arc<Anomaly>> {
        while self.next_storm_ms <= now_ms {
            let at = self.next_storm_ms;
            self.start_storm(topo, at);
            self.next_storm_ms += self.settings.storm_every_ms.max(1);
        }
        self.storms.retain(|s| s.end_ms > now_ms);
        // The scorer closes a window at its end: the anomaly covers the last whole window.
        let end = now_ms - now_ms.rem_euclid(WINDOW_MS);
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let r: f64 = self.rng.gen();
            let score = self.rng.gen_range(0.7..1.0);
            if r < self.settings.unknown {
                let e = self.rng.gen_range(0..self.settings.unknown_entities.max(1));
                let entity = format!("ext-host-{e:04}");
                let class = format!("app-{:02}", e % 50);
                let kind = KINDS[self.rng.gen_range(0..KINDS.len())];
                out.push(Arc::new(anomaly(
                    &entity,
                    &class,
                    kind,
                    end,
                    score,
                    detected_ns,
                )));
                continue;
            }
            let storm = (r >= self.settings.unknown + self.settings.noise
                && !self.storms.is_empty())
            .then(|| self.rng.gen_range(0..self.storms.len()));
            let picked = storm.and_then(|s| {
                let live: Vec<usize> = (0..self.storms[s].nodes.len())
                    .filter(|&i| self.storms[s].nodes[i].1 <= now_ms)
                    .collect();
                (!live.is_empty()).then(|| {
                    let (ix, _, kind) =
                        self.storms[s].nodes[live[self.rng.gen_range(0..live.len())]];
                    (ix, kind)
                })
            });
            let (ix, kind) = picked.unwrap_or_else(|| {
                (
                    NodeIx::new(self.rng.gen_range(0..self.nodes.len())),
                    KINDS[self.rng.gen_range(0..KINDS.len())],
                )
            });
            let (entity, class) = &self.nodes[ix.index()];
            out.push(Arc::new(anomaly(
                entity,
                class,
                kind,
                end,
                score,
                detected_ns,
            )));
        }
        out
    }
}
