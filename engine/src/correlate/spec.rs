//! The topology file's serde types (`config/topology.toml`): nodes and edges as written by
//! people, by the API and by [`super::Topology::save`] (which adds learned edges).

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// A whole topology file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopologyFile {
    /// Every node, in file order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<NodeSpec>,
    /// Every edge, configured and learned.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub edges: Vec<EdgeSpec>,
}

/// What a node is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeKind {
    Router,
    Switch,
    Firewall,
    LoadBalancer,
    Server,
    Vm,
    Pod,
    Service,
    Database,
    Cdn,
    CloudResource,
}

impl NodeKind {
    /// The snake_case name used in files and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            NodeKind::Router => "router",
            NodeKind::Switch => "switch",
            NodeKind::Firewall => "firewall",
            NodeKind::LoadBalancer => "load_balancer",
            NodeKind::Server => "server",
            NodeKind::Vm => "vm",
            NodeKind::Pod => "pod",
            NodeKind::Service => "service",
            NodeKind::Database => "database",
            NodeKind::Cdn => "cdn",
            NodeKind::CloudResource => "cloud_resource",
        }
    }
}

/// What an edge says. `A depends_on B`: A needs B, a fault of B impacts A. `A hosts B`: B runs
/// on A (B depends on A). `A connects_to B`: A talks to B, a weak dependency of A on B; edges
/// learned from traffic are `connects_to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EdgeKind {
    DependsOn,
    ConnectsTo,
    Hosts,
}

impl EdgeKind {
    /// The snake_case name used in files and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            EdgeKind::DependsOn => "depends_on",
            EdgeKind::ConnectsTo => "connects_to",
            EdgeKind::Hosts => "hosts",
        }
    }
}

/// How much a node matters to the business; raises incident priority.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Criticality {
    Low,
    Medium,
    High,
    Critical,
}

/// One node of the estate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeSpec {
    /// Unique; the entity name events carry (`tocsin.entity`).
    pub id: String,
    /// What the node is.
    pub kind: NodeKind,
    /// Site tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
    /// Customer tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<String>,
    /// Business criticality.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub criticality: Option<Criticality>,
    /// One address of the node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<IpAddr>,
    /// More addresses (merged with `ip`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ips: Vec<IpAddr>,
    /// Other names events may use for it (hostnames, FQDNs).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// Vendor or product, informational.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    /// Free tags.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

impl NodeSpec {
    /// A node with only an id and a kind.
    pub fn new(id: impl Into<String>, kind: NodeKind) -> NodeSpec {
        NodeSpec {
            id: id.into(),
            kind,
            site: None,
            customer: None,
            criticality: None,
            ip: None,
            ips: Vec::new(),
            aliases: Vec::new(),
            vendor: None,
            tags: BTreeMap::new(),
        }
    }

    /// Every address of the node (`ip` then `ips`), without repeats.
    pub fn addresses(&self) -> Vec<IpAddr> {
        let mut out: Vec<IpAddr> = Vec::with_capacity(self.ips.len() + 1);
        for ip in self.ip.iter().chain(self.ips.iter()) {
            if !out.contains(ip) {
                out.push(*ip);
            }
        }
        out
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// One edge between two nodes, by id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EdgeSpec {
    pub from: String,
    pub to: String,
    pub kind: EdgeKind,
    /// Strength, finite and > 0 (default 1.0; learned edges carry their traffic weight).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<f64>,
    /// True for an edge learned from traffic (written by tocsin, not by people).
    #[serde(default, skip_serializing_if = "is_false")]
    pub learned: bool,
    /// Event time a learned edge last saw traffic, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen_ms: Option<i64>,
}

impl EdgeSpec {
    /// A configured edge of weight 1.
    pub fn new(from: impl Into<String>, to: impl Into<String>, kind: EdgeKind) -> EdgeSpec {
        EdgeSpec {
            from: from.into(),
            to: to.into(),
            kind,
            weight: None,
            learned: false,
            last_seen_ms: None,
        }
    }
}
