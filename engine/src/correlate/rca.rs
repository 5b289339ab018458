//! Root cause ranking: a pure function over an incident's members and the topology.
//!
//! Each distinct member entity (or topology node) is a candidate, scored on four pieces of
//! evidence:
//! - `walk`: a personalised random walk (PageRank with restart, restart proportional to member
//!   scores) over the anomalous subgraph, each member pointing at its anomalous dependencies
//!   (directly or through one silent node), so mass gathers where faults start;
//! - `healthy_dependencies`: the weighted share of its own dependencies that are not anomalous
//!   (a node whose dependencies are healthy is more likely the origin);
//! - `onset`: earlier first sight ranks higher;
//! - `score`: its highest anomaly score.
//!
//! combined = 0.4 walk + 0.25 healthy + 0.2 onset + 0.15 score; confidence is combined over the
//! sum across candidates.

use rustc_hash::FxHashMap;

use super::correlator::CorrelationSettings;
use super::incident::{round3, Candidate, Chain, Member, Reasons};
use super::topology::{NodeIx, Topology};

/// The random walk's parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct WalkSettings {
    /// Probability of following an edge rather than restarting.
    pub damping: f64,
    /// Power iterations.
    pub iterations: u32,
}

impl Default for WalkSettings {
    fn default() -> Self {
        WalkSettings {
            damping: 0.85,
            iterations: 50,
        }
    }
}

/// The ranking of one incident.
#[derive(Debug, Clone, PartialEq)]
pub struct Ranking {
    /// Best first, at most `settings.candidates` (at least 1 when there are members).
    pub candidates: Vec<Candidate>,
    /// From the best candidate to every other candidate, by impacted name.
    pub chains: Vec<Chain>,
    /// The best candidate's topology node.
    pub root_node: Option<NodeIx>,
}

struct Scored {
    entity: String,
    node: Option<NodeIx>,
    first_seen: i64,
    score: f64,
    walk: f64,
    healthy: f64,
    onset: f64,
    combined: f64,
}

/// Ranks an incident's members for the likely root cause.
pub fn rank(members: &[Member], topo: &Topology, settings: &CorrelationSettings) -> Ranking {
    // One candidate per topology node, or per entity when it is not in the topology.
    let mut cands: Vec<Scored> = Vec::new();
    let mut by_key: FxHashMap<String, usize> = FxHashMap::default();
    for m in members {
        let node = m.node.as_deref().and_then(|id| topo.resolve(id));
        let key = match node {
            Some(ix) => format!("n:{}", topo.id(ix)),
            None => format!("e:{}", m.entity),
        };
        match by_key.get(&key) {
            Some(&i) => {
                let c = &mut cands[i];
                c.first_seen = c.first_seen.min(m.first_seen);
                c.score = c.score.max(m.score);
            }
            None => {
                by_key.insert(key, cands.len());
                let entity = node.map_or_else(|| m.entity.clone(), |ix| topo.id(ix).to_string());
                cands.push(Scored {
                    entity,
                    node,
                    first_seen: m.first_seen,
                    score: m.score,
                    walk: 0.0,
                    healthy: 1.0,
                    onset: 1.0,
                    combined: 0.0,
                });
            }
        }
    }
    if cands.is_empty() {
        return Ranking {
            candidates: Vec::new(),
            chains: Vec::new(),
            root_node: None,
        };
    }
    cands.sort_by(|a, b| a.entity.cmp(&b.entity));
    let index: FxHashMap<NodeIx, usize> = cands
        .iter()
        .enumerate()
        .filter_map(|(i, c)| c.node.map(|n| (n, i)))
        .collect();

    // healthy dependencies
    for c in cands.iter_mut() {
        if let Some(n) = c.node {
            let deps = topo.dependencies(n);
            let total: f64 = deps.iter().map(|d| d.1).sum();
            if total > 0.0 {
                let healthy: f64 = deps
                    .iter()
                    .filter(|d| !index.contains_key(&d.0))
                    .map(|d| d.1)
                    .sum();
                c.healthy = healthy / total;
            }
        }
    }

    // onset
    let earliest = cands.iter().map(|c| c.first_seen).min().unwrap_or(0);
    let latest = cands.iter().map(|c| c.first_seen).max().unwrap_or(0);
    if latest > earliest {
        for c in cands.iter_mut() {
            c.onset = (latest - c.first_seen) as f64 / (latest - earliest) as f64;
        }
    }

    // walk
    let walk = random_walk(&cands, &index, topo, &settings.walk);
    for (c, w) in cands.iter_mut().zip(walk) {
        c.walk = w;
        c.combined =
            0.4 * c.walk + 0.25 * c.healthy + 0.2 * c.onset + 0.15 * c.score.clamp(0.0, 1.0);
    }
    let total: f64 = cands.iter().map(|c| c.combined).sum();
    let n = cands.len() as f64;
    let confidence = |c: &Scored| {
        if total > 0.0 {
            c.combined / total
        } else {
            1.0 / n
        }
    };
    cands.sort_by(|a, b| {
        confidence(b)
            .total_cmp(&confidence(a))
            .then(a.first_seen.cmp(&b.first_seen))
            .then_with(|| a.entity.cmp(&b.entity))
    });

    let root = &cands[0];
    let max_hops = settings.max_hops.saturating_mul(2).saturating_add(2);
    let mut chains: Vec<Chain> = cands[1..]
        .iter()
        .map(|c| {
            let path = match (root.node, c.node) {
                (Some(r), Some(i)) => topo
                    .causal_path(r, i, max_hops)
                    .map(|p| p.into_iter().map(|ix| topo.id(ix).to_string()).collect()),
                _ => None,
            };
            Chain {
                impacted: c.entity.clone(),
                path: path.unwrap_or_else(|| vec![root.entity.clone(), c.entity.clone()]),
            }
        })
        .collect();
    chains.sort_by(|a, b| a.impacted.cmp(&b.impacted));

    let keep = settings.candidates.max(1);
    let candidates = cands
        .iter()
        .take(keep)
        .map(|c| Candidate {
            entity: c.entity.clone(),
            node: c.node.map(|ix| topo.id(ix).to_string()),
            kind: c.node.map(|ix| topo.node(ix).kind.as_str().to_string()),
            confidence: round3(confidence(c)),
            reasons: Reasons {
                walk: round3(c.walk),
                healthy_dependencies: round3(c.healthy),
                onset: round3(c.onset),
                score: round3(c.score),
            },
        })
        .collect();
    Ranking {
        candidates,
        chains,
        root_node: root.node,
    }
}

/// PageRank with restart over the anomalous subgraph; normalised to max 1.
fn random_walk(
    cands: &[Scored],
    index: &FxHashMap<NodeIx, usize>,
    topo: &Topology,
    s: &WalkSettings,
) -> Vec<f64> {
    let n = cands.len();
    // edges[u] = (v, weight): u points at its anomalous dependency v.
    let mut edges: Vec<Vec<(usize, f64)>> = vec![Vec::new(); n];
    for (u, c) in cands.iter().enumerate() {
        let Some(node) = c.node else { continue };
        let mut out: FxHashMap<usize, f64> = FxHashMap::default();
        for (dep, w1) in topo.dependencies(node) {
            if let Some(&v) = index.get(&dep) {
                if v != u {
                    let slot = out.entry(v).or_insert(0.0);
                    *slot = slot.max(w1);
                }
            } else {
                // Through one silent node (a switch that logs nothing, say).
                for (dep2, w2) in topo.dependencies(dep) {
                    if let Some(&v) = index.get(&dep2) {
                        if v != u {
                            let slot = out.entry(v).or_insert(0.0);
                            *slot = slot.max(w1 * w2);
                        }
                    }
                }
            }
        }
        let mut out: Vec<(usize, f64)> = out.into_iter().collect();
        out.sort_by_key(|e| e.0);
        let total: f64 = out.iter().map(|e| e.1).sum();
        if total > 0.0 {
            edges[u] = out.into_iter().map(|(v, w)| (v, w / total)).collect();
        }
    }
    let score_total: f64 = cands.iter().map(|c| c.score.max(0.0)).sum();
    let restart: Vec<f64> = if score_total > 0.0 {
        cands
            .iter()
            .map(|c| c.score.max(0.0) / score_total)
            .collect()
    } else {
        vec![1.0 / n as f64; n]
    };
    let mut p = restart.clone();
    let mut next = vec![0.0; n];
    for _ in 0..s.iterations {
        for (x, r) in next.iter_mut().zip(&restart) {
            *x = (1.0 - s.damping) * r;
        }
        for u in 0..n {
            let mass = s.damping * p[u];
            if edges[u].is_empty() {
                next[u] += mass;
            } else {
                for &(v, w) in &edges[u] {
                    next[v] += mass * w;
                }
            }
        }
        std::mem::swap(&mut p, &mut next);
    }
    let max = p.iter().copied().fold(0.0, f64::max);
    if max > 0.0 {
        p.iter().map(|x| x / max).collect()
    } else {
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::correlate::spec::{EdgeKind, EdgeSpec, NodeKind, NodeSpec};

    fn member(entity: &str, node: Option<&str>, first_seen: i64, score: f64) -> Member {
        Member {
            entity: entity.to_string(),
            node: node.map(str::to_string),
            kind: "error_burst".to_string(),
            first_seen,
            last_seen: first_seen + 60_000,
            score,
            severity_id: 4,
            anomalies: 1,
            last_anomaly: "an-0".to_string(),
        }
    }

    #[test]
    fn one_candidate_per_node_and_unknown_entities_still_count() {
        let mut t = Topology::new();
        let mut sw = NodeSpec::new("sw-1", NodeKind::Switch);
        sw.aliases.push("sw-1.local".to_string());
        t.add_node(sw).unwrap();
        t.add_node(NodeSpec::new("srv-1", NodeKind::Server))
            .unwrap();
        t.add_edge(EdgeSpec::new("srv-1", "sw-1", EdgeKind::DependsOn))
            .unwrap();
        let members = [
            member("sw-1", Some("sw-1"), 0, 0.7),
            member("sw-1.local", Some("sw-1"), 1_000, 0.9),
            member("srv-1", Some("srv-1"), 2_000, 0.8),
            member("mystery", None, 3_000, 0.99),
        ];
        let settings = CorrelationSettings {
            candidates: 10,
            ..Default::default()
        };
        let r = rank(&members, &t, &settings);
        let names: Vec<&str> = r.candidates.iter().map(|c| c.entity.as_str()).collect();
        assert_eq!(names, ["sw-1", "mystery", "srv-1"]);
        assert_eq!(
            r.candidates[0].reasons.score, 0.9,
            "the node's highest score"
        );
        assert_eq!(r.candidates[1].node, None);
        assert_eq!(r.candidates[1].reasons.healthy_dependencies, 1.0);
        let sum: f64 = r.candidates.iter().map(|c| c.confidence).sum();
        assert!((sum - 1.0).abs() < 0.002, "{sum}");
        let mystery = r.chains.iter().find(|c| c.impacted == "mystery").unwrap();
        assert_eq!(
            mystery.path,
            ["sw-1", "mystery"],
            "not connected: root then impacted"
        );
        assert_eq!(t.id(r.root_node.unwrap()), "sw-1");
        let one = rank(
            &members,
            &t,
            &CorrelationSettings {
                candidates: 0,
                ..Default::default()
            },
        );
        assert_eq!(one.candidates.len(), 1);
        assert!(rank(&[], &t, &settings).candidates.is_empty());
    }
}
