//! The live topology, shared by the correlator (which reads it for every anomaly and learns
//! edges into it), the scorer shards (which look up which addresses belong to it) and the API
//! (which reads and changes it).
//!
//! - Configured nodes and edges live in the topology file (`correlation.topology_file`). A
//!   change through the API is checked whole, written to the file atomically, and only then
//!   swapped in: what the API answered is what a restart loads.
//! - Learned `connects_to` edges are kept apart, in `learned-edges.toml` in the data folder,
//!   written at most once a minute while they change, and loaded back at start.

use rustc_hash::FxHashSet;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock, RwLockReadGuard};

use arc_swap::ArcSwap;
use tocsin_engine::correlate::{EdgeSpec, LearnSettings, Topology, TopologyError, TopologyFile};

/// Why a topology change was refused.
#[derive(Debug, thiserror::Error)]
pub enum TopologyChangeError {
    /// The change is not valid (unknown node, duplicate id, ...): HTTP 400/404/409.
    #[error("{0}")]
    Invalid(#[from] TopologyError),
    /// The file could not be written; nothing changed: HTTP 500.
    #[error("cannot write {path}: {error}")]
    Write {
        path: PathBuf,
        error: std::io::Error,
    },
}

/// The shared topology.
#[derive(Debug)]
pub struct TopologyHandle {
    graph: RwLock<Topology>,
    /// Where configured nodes and edges are written back.
    file: PathBuf,
    /// Where learned edges are kept; `None`: in memory only.
    learned_file: Option<PathBuf>,
    /// Addresses of the topology's nodes: the scorers keep only flows between two of them.
    addresses: ArcSwap<FxHashSet<IpAddr>>,
    /// Learning settings; `None`: learning is off.
    pub learn: Option<LearnSettings>,
    /// Serialises writers of the files (API changes and learned-edge checkpoints).
    write: std::sync::Mutex<()>,
}

impl TopologyHandle {
    /// The topology of `file` (an empty one when `file` does not exist yet) with the learned
    /// edges of `learned_file` added (those naming nodes that are gone are skipped).
    pub fn load(
        file: PathBuf,
        learned_file: Option<PathBuf>,
        learn: Option<LearnSettings>,
    ) -> Result<Arc<TopologyHandle>, String> {
        let mut topo = if file.is_file() {
            Topology::load(&file).map_err(|e| format!("{}: {e}", file.display()))?
        } else {
            Topology::new()
        };
        if let Some(learned_file) = learned_file
            .as_ref()
            .filter(|f| learn.is_some() && f.is_file())
        {
            let read = std::fs::read_to_string(learned_file)
                .map_err(|e| e.to_string())
                .and_then(|text| toml::from_str::<TopologyFile>(&text).map_err(|e| e.to_string()));
            match read {
                Ok(learned) => {
                    let mut skipped = 0usize;
                    for edge in learned.edges.into_iter().filter(|e| e.learned) {
                        if topo.add_edge(edge).is_err() {
                            skipped += 1;
                        }
                    }
                    if skipped > 0 {
                        tracing::warn!(skipped, "learned edges naming unknown nodes skipped");
                    }
                }
                Err(e) => tracing::warn!(
                    file = %learned_file.display(),
                    error = %e,
                    "learned edges not loaded; learning starts afresh"
                ),
            }
        }
        let handle = TopologyHandle {
            addresses: ArcSwap::from_pointee(addresses(&topo)),
            graph: RwLock::new(topo),
            file,
            learned_file,
            learn,
            write: std::sync::Mutex::new(()),
        };
        Ok(Arc::new(handle))
    }

    /// Reads the topology.
    pub fn read(&self) -> RwLockReadGuard<'_, Topology> {
        self.graph.read().unwrap_or_else(|p| p.into_inner())
    }

    /// The addresses of the topology's nodes.
    pub fn addresses(&self) -> Arc<FxHashSet<IpAddr>> {
        self.addresses.load_full()
    }

    /// The topology file.
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// Applies `change` to a copy of the topology; if it succeeds, writes the copy's
    /// configured part to the topology file and swaps it in. All or nothing.
    pub fn change<R>(
        &self,
        change: impl FnOnce(&mut Topology) -> Result<R, TopologyError>,
    ) -> Result<R, TopologyChangeError> {
        let _writer = self.write.lock().unwrap_or_else(|p| p.into_inner());
        let mut copy = self.read().clone();
        let out = change(&mut copy)?;
        write_file(&self.file, &configured(&copy)).map_err(|error| TopologyChangeError::Write {
            path: self.file.clone(),
            error,
        })?;
        let addrs = addresses(&copy);
        *self.graph.write().unwrap_or_else(|p| p.into_inner()) = copy;
        self.addresses.store(Arc::new(addrs));
        Ok(out)
    }

    /// Learns `connects_to` edges from flows (address pairs at event times); returns how many
    /// edges were added.
    pub fn learn(&self, flows: &[(IpAddr, IpAddr, i64)]) -> usize {
        let Some(settings) = &self.learn else {
            return 0;
        };
        if flows.is_empty() {
            return 0;
        }
        // After an API change in progress (which copies, writes and swaps the graph), so what
        // is learned meanwhile is not lost in the swap. Same order as `change`: mutex, graph.
        let _writer = self.write.lock().unwrap_or_else(|p| p.into_inner());
        let mut graph = self.graph.write().unwrap_or_else(|p| p.into_inner());
        let mut added = 0;
        for &(src, dst, at) in flows {
            let (Some(a), Some(b)) = (graph.resolve_ip(src), graph.resolve_ip(dst)) else {
                continue;
            };
            if matches!(
                graph.learn_flow(a, b, at, settings),
                tocsin_engine::correlate::Learned::Added
            ) {
                added += 1;
            }
        }
        added
    }

    /// Forgets learned edges that decayed away by event time `now_ms`; returns how many.
    pub fn decay(&self, now_ms: i64) -> usize {
        let Some(settings) = &self.learn else {
            return 0;
        };
        if self.read().learned_count() == 0 {
            return 0;
        }
        let _writer = self.write.lock().unwrap_or_else(|p| p.into_inner());
        self.graph
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .decay(now_ms, settings)
    }

    /// Writes the learned edges to their file (nothing when they are kept in memory only).
    pub fn save_learned(&self) -> std::io::Result<()> {
        let Some(learned_file) = &self.learned_file else {
            return Ok(());
        };
        let _writer = self.write.lock().unwrap_or_else(|p| p.into_inner());
        let edges: Vec<EdgeSpec> = self
            .read()
            .to_file()
            .edges
            .into_iter()
            .filter(|e| e.learned)
            .collect();
        write_file(
            learned_file,
            &TopologyFile {
                nodes: Vec::new(),
                edges,
            },
        )
    }
}

/// The configured part of a topology (learned edges left out).
fn configured(t: &Topology) -> TopologyFile {
    let mut f = t.to_file();
    f.edges.retain(|e| !e.learned);
    f
}

fn addresses(t: &Topology) -> FxHashSet<IpAddr> {
    t.addresses().collect()
}

/// Writes `file` as TOML to `path` atomically.
fn write_file(path: &Path, file: &TopologyFile) -> std::io::Result<()> {
    let text = toml::to_string(file).map_err(std::io::Error::other)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let text = format!(
        "# The topology (see docs/topology.md). Changes through /api/v1/topology are written \
         here.\n{text}"
    );
    tocsin_engine::durable::write_atomic(path, text.as_bytes())
}
