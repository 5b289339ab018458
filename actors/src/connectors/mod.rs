//! Connector actors: bring bytes in from sockets and files, cut them into frames and hand
//! batches to the normaliser shards.
//!
//! Reliable inputs (TCP, HTTP, file) await capacity on the link, so a saturated pipeline stops
//! them reading and pressure reaches the client (TCP window, slow or 503 HTTP answers). UDP
//! cannot be slowed: a full link drops the whole batch and counts it as `backpressure`.
//! Every batch of one connection, request or file carries the same flow key, and every stage
//! picks its shard by it, so order is kept per connection.

pub mod file;
pub mod http;
pub mod tcp;
pub mod udp;

use crate::batch::RawBatch;
use crate::metrics::ConnectorMetrics;
use std::net::IpAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use tocsin_engine::normalise::Frame;
use tocsin_engine::schema::Symbol;
use tokio::sync::mpsc::Sender;

/// What every connector of a pipeline shares.
#[derive(Debug, Clone)]
pub struct ConnectorContext {
    /// The normaliser shards' input links.
    pub outputs: Vec<Sender<RawBatch>>,
    /// The source name.
    pub source: Symbol,
    /// The source's vendor mapping (`None`: detect per line).
    pub vendor: Option<Symbol>,
    /// Most frames per batch.
    pub batch_size: usize,
    /// Maximum frame length.
    pub max_line: usize,
    /// This connector's metrics.
    pub metrics: Arc<ConnectorMetrics>,
    /// Cancelled when the engine shuts down: stop reading, deliver what was read.
    pub cancel: tokio_util::sync::CancellationToken,
    /// Dead letters (for bytes read but cut off at shutdown).
    pub dead_letters: crate::deadletter::DeadLetters,
    /// Flow key source shared by all connectors.
    pub flows: Arc<std::sync::atomic::AtomicU64>,
}

impl ConnectorContext {
    /// A fresh flow key.
    pub fn next_flow(&self) -> u64 {
        self.flows.fetch_add(1, Relaxed)
    }

    /// The normaliser link for `flow`.
    pub fn output_for(&self, flow: u64) -> &Sender<RawBatch> {
        &self.outputs[(flow % self.outputs.len() as u64) as usize]
    }

    /// Sends `frames` as batches of at most `batch_size`, awaiting capacity (reliable inputs).
    /// Leaves `frames` empty. Returns false if the pipeline is gone (frames counted as dropped).
    pub async fn send_reliable(
        &self,
        flow: u64,
        peer: Option<IpAddr>,
        received_ns: u64,
        frames: &mut Vec<Frame>,
    ) -> bool {
        let tx = self.output_for(flow);
        while !frames.is_empty() {
            let rest = if frames.len() > self.batch_size {
                frames.split_off(self.batch_size)
            } else {
                Vec::with_capacity(self.batch_size)
            };
            let batch = std::mem::replace(frames, rest);
            let n = batch.len() as u64;
            let raw = RawBatch {
                source: self.source,
                vendor: self.vendor,
                flow,
                peer,
                received_ns,
                frames: batch,
            };
            if tx.send(raw).await.is_err() {
                self.metrics
                    .dropped
                    .add("shutting_down", n + frames.len() as u64);
                frames.clear();
                return false;
            }
            self.metrics.events_in.fetch_add(n, Relaxed);
            self.metrics.batches.fetch_add(1, Relaxed);
        }
        true
    }
}
