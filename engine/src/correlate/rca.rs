//! Root cause ranking: a pure function over an incident's members and the topology.
//!
//! Each distinct member entity (or topology node) is a candidate, scored on four pieces of
//! evidence:
//! - `walk`: a personalised random walk (PageRank with restart, restart proportional to member
//!   scores) over the anomalous subgraph, each member pointing at its anomalous dependencies
//!   (directly or through one silent node), so mass gathers where faults start;
//! - `healthy_dependencies`: the weighted share of its own dependencies that are not anomalous
//!   (a node whose dependencies are healthy is more likely the origin);
//! - both weigh a dependency's anomaly by how plausibly it caused the member's ([`plausible`]):
//!   a cause comes first, and not long before, so a blip on an upstream node minutes before a
//!   storm does not steal it from the node that failed;
//! - `onset`: the share of the other members whose trouble began just after its own (a cause is
//!   followed by its effects; an unrelated blip long before is followed by nothing);
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

    // healthy dependencies: an anomalous dependency counts as unhealthy as far as its onset
    // could explain this candidate's (see `plausible`).
    let onsets: Vec<i64> = cands.iter().map(|c| c.first_seen).collect();
    for c in cands.iter_mut() {
        if let Some(n) = c.node {
            let deps = topo.dependencies(n);
            let total: f64 = deps.iter().map(|d| d.1).sum();
            if total > 0.0 {
                let unhealthy: f64 = deps
                    .iter()
                    .filter_map(|d| {
                        index
                            .get(&d.0)
                            .map(|&v| d.1 * plausible(onsets[v], c.first_seen))
                    })
                    .sum();
                c.healthy = (1.0 - unhealthy / total).clamp(0.0, 1.0);
            }
        }
    }

    // onset: the share of the other candidates whose trouble began just after this one's
    // (from the onset slack before it to two propagation delays after): a cause is followed
    // by its effects, while an early blip long before the storm is followed by nothing.
    if cands.len() > 1 {
        let others = (cands.len() - 1) as f64;
        for i in 0..cands.len() {
            let t = onsets[i];
            let followers = onsets
                .iter()
                .enumerate()
                .filter(|&(j, &o)| j != i && o >= t - ONSET_SLACK_MS && o <= t + 2 * PROPAGATION_MS)
                .count();
            cands[i].onset = followers as f64 / others;
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

/// How long a fault takes to reach a dependent: a dependency whose trouble began at most this
/// long before a member's can fully explain it.
pub const PROPAGATION_MS: i64 = 120_000;
/// Onsets are window-aligned and detectors differ in delay: a dependency seen this much after a
/// member can still have caused it.
const ONSET_SLACK_MS: i64 = 20_000;
/// Past [`PROPAGATION_MS`], the explanation fades with this time constant.
const FADE_MS: f64 = 60_000.0;

/// How plausibly a dependency whose anomaly began at `dep_onset` caused the trouble of a
/// dependent that began at `onset`: causes come first, and not long before. 1 within
/// [`PROPAGATION_MS`] before (or [`ONSET_SLACK_MS`] after); fading past it (an unrelated blip
/// minutes earlier explains little); a small floor for a dependency that began clearly later.
pub fn plausible(dep_onset: i64, onset: i64) -> f64 {
    let lead = onset.saturating_sub(dep_onset);
    if lead < -ONSET_SLACK_MS {
        0.05
    } else if lead <= PROPAGATION_MS {
        1.0
    } else {
        (-((lead - PROPAGATION_MS) as f64) / FADE_MS)
            .exp()
            .max(0.05)
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
                    *slot = slot.max(w1 * plausible(cands[v].first_seen, c.first_seen));
                }
            } else {
                // Through one silent node (a switch that logs nothing, say).
                for (dep2, w2) in topo.dependencies(dep) {
                    if let Some(&v) = index.get(&dep2) {
                        if v != u {
                            let slot = out.entry(v).or_insert(0.0);
                            *slot =
                                slot.max(w1 * w2 * plausible(cands[v].first_seen, c.first_seen));
                        }
                    }
                }
            }
        }
        let mut out: Vec<(usize, f64)> = out.into_iter().collect();
        out.sort_by_key(|e| e.0);
        // Weights sum to at most 1; what an implausible dependency does not take stays.
        let total: f64 = out.iter().map(|e| e.1).sum();
        if total > 0.0 {
            let scale = total.max(1.0);
            edges[u] = out.into_iter().map(|(v, w)| (v, w / scale)).collect();
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
            let mut left = mass;
            for &(v, w) in &edges[u] {
                next[v] += mass * w;
                left -= mass * w;
            }
            next[u] += left.max(0.0);
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
    fn a_cause_comes_first_and_not_long_before() {
        assert_eq!(plausible(0, 60_000), 1.0);
        assert_eq!(plausible(0, PROPAGATION_MS), 1.0);
        assert_eq!(plausible(10_000, 0), 1.0, "within the slack");
        assert_eq!(plausible(120_000, 0), 0.05, "clearly after");
        let four_minutes = plausible(0, 240_000);
        assert!(four_minutes < 0.2 && four_minutes > 0.05, "{four_minutes}");
    }

    #[test]
    fn an_upstream_blip_minutes_before_the_storm_does_not_steal_the_root() {
        // core <- fw <- srv-1..4. A weak blip on the core at 0; the firewall falls silent at
        // 4 min, its servers complain at 5 min.
        let mut t = Topology::new();
        for (id, kind) in [("core", NodeKind::Switch), ("fw", NodeKind::Firewall)] {
            t.add_node(NodeSpec::new(id, kind)).unwrap();
        }
        t.add_edge(EdgeSpec::new("fw", "core", EdgeKind::DependsOn))
            .unwrap();
        let mut members = vec![
            member("core", Some("core"), 0, 0.75),
            member("fw", Some("fw"), 240_000, 1.0),
        ];
        for i in 1..=4 {
            let id = format!("srv-{i}");
            t.add_node(NodeSpec::new(id.as_str(), NodeKind::Server))
                .unwrap();
            t.add_edge(EdgeSpec::new(id.as_str(), "fw", EdgeKind::DependsOn))
                .unwrap();
            members.push(member(&id, Some(&id), 300_000, 0.8));
        }
        let r = rank(&members, &t, &CorrelationSettings::default());
        assert_eq!(r.candidates[0].entity, "fw", "{:?}", r.candidates);
        assert!(r.candidates[0].reasons.healthy_dependencies > 0.8);
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
