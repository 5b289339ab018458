//! The `syslog_udp` connector. UDP cannot be slowed down, so when the normaliser link is full
//! the whole batch is dropped and counted (`tocsin_events_dropped_total{reason="backpressure"}`).

use super::ConnectorContext;
use crate::batch::RawBatch;
use actix::{Actor, ActorFutureExt, AsyncContext, Context, Supervised};
use bytes::BytesMut;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;
use tocsin_engine::normalise::Frame;
use tokio::net::UdpSocket;
use tokio::sync::mpsc::error::TrySendError;
use tokio::time::Instant;

/// Largest UDP payload.
const MAX_DATAGRAM: usize = 65_535;
/// Most distinct peers batched separately within one drain of the socket.
const MAX_PEERS_PER_DRAIN: usize = 256;

/// The UDP syslog connector actor.
#[derive(Debug)]
pub struct SyslogUdpConnector {
    std_socket: Option<std::net::UdpSocket>,
    socket: Option<Rc<UdpSocket>>,
    cx: Option<ConnectorContext>,
}

impl SyslogUdpConnector {
    /// A connector reading an already bound (non-blocking) socket.
    pub fn new(socket: std::net::UdpSocket, cx: ConnectorContext) -> SyslogUdpConnector {
        SyslogUdpConnector {
            std_socket: Some(socket),
            socket: None,
            cx: Some(cx),
        }
    }
}

impl Actor for SyslogUdpConnector {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        if self.socket.is_none() {
            let Some(s) = self.std_socket.take() else {
                return;
            };
            match UdpSocket::from_std(s) {
                Ok(s) => self.socket = Some(Rc::new(s)),
                Err(e) => {
                    tracing::error!(error = %e, "cannot register UDP socket");
                    return;
                }
            }
        }
        let (Some(socket), Some(cx)) = (self.socket.clone(), self.cx.clone()) else {
            return;
        };
        ctx.spawn(actix::fut::wrap_future(recv_loop(socket, cx)).map(
            |_, act: &mut SyslogUdpConnector, _| {
                act.cx = None;
                act.socket = None;
            },
        ));
    }
}

impl Supervised for SyslogUdpConnector {}

/// How long frames may wait for more of their peer's datagrams before they go out as a batch.
/// Draining the socket once per readiness gives tiny batches at moderate rates (a few datagrams
/// each), and a mailbox of 64 tiny batches overflows long before the normalisers are busy; a
/// short wait makes batches of hundreds at the cost of at most this much latency.
const LINGER: Duration = Duration::from_millis(2);

/// Per-peer frames gathered over one or more drains of the socket, with the receive time of
/// the oldest.
#[derive(Default)]
struct Pending {
    by_peer: HashMap<SocketAddr, (u64, Vec<Frame>)>,
    /// When the oldest pending frame arrived (None when nothing is pending).
    since: Option<Instant>,
}

async fn recv_loop(socket: Rc<UdpSocket>, cx: ConnectorContext) {
    let mut buf = BytesMut::with_capacity(1 << 20);
    let mut pending = Pending::default();
    loop {
        let linger_over = pending.since.map(|t| t + LINGER);
        tokio::select! {
            biased;
            _ = cx.cancel.cancelled() => {
                // Shutdown: what was received goes on, not lost.
                flush(&cx, &mut pending);
                return;
            }
            r = socket.readable() => if r.is_err() {
                flush(&cx, &mut pending);
                return;
            },
            _ = tokio::time::sleep_until(linger_over.unwrap_or_else(Instant::now)),
                if linger_over.is_some() => {
                flush(&cx, &mut pending);
                continue;
            }
        }
        let received_ns = tocsin_engine::clock::now_ns();
        loop {
            if buf.capacity() - buf.len() < MAX_DATAGRAM {
                buf.reserve(1 << 20);
            }
            match socket.try_recv_buf_from(&mut buf) {
                Ok((n, peer)) => {
                    cx.metrics.bytes_in.fetch_add(n as u64, Relaxed);
                    let datagram = buf.split_to(n).freeze();
                    pending.since.get_or_insert_with(Instant::now);
                    let (first_ns, frames) = pending
                        .by_peer
                        .entry(peer)
                        .or_insert_with(|| (received_ns, Vec::new()));
                    split_datagram(datagram, cx.max_line, frames, &cx);
                    if frames.len() >= cx.batch_size {
                        let (first_ns, frames) = (*first_ns, std::mem::take(frames));
                        pending.by_peer.remove(&peer);
                        offer(&cx, peer, first_ns, frames);
                    }
                    if pending.by_peer.len() >= MAX_PEERS_PER_DRAIN {
                        flush(&cx, &mut pending);
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) => {
                    tracing::debug!(connector = %cx.source, error = %e, "recv failed");
                    break;
                }
            }
        }
        if pending.by_peer.is_empty() {
            pending.since = None;
        } else if pending.since.is_some_and(|t| t.elapsed() >= LINGER) {
            flush(&cx, &mut pending);
        }
    }
}

/// One datagram may hold several newline-separated messages.
fn split_datagram(
    datagram: bytes::Bytes,
    max_line: usize,
    frames: &mut Vec<Frame>,
    cx: &ConnectorContext,
) {
    let mut rest = datagram;
    while !rest.is_empty() {
        let end = memchr::memchr(b'\n', &rest).unwrap_or(rest.len());
        let mut line = rest.split_to(end);
        if !rest.is_empty() {
            let _ = rest.split_to(1);
        }
        if line.last() == Some(&b'\r') {
            line.truncate(line.len() - 1);
        }
        if line.is_empty() {
            continue;
        }
        let truncated = line.len() > max_line;
        if truncated {
            line.truncate(max_line);
            cx.metrics.truncated.fetch_add(1, Relaxed);
        }
        frames.push(Frame {
            data: line,
            kind: tocsin_engine::normalise::FrameKind::Line,
            truncated,
        });
    }
}

fn flush(cx: &ConnectorContext, pending: &mut Pending) {
    for (peer, (received_ns, frames)) in pending.by_peer.drain() {
        if !frames.is_empty() {
            offer(cx, peer, received_ns, frames);
        }
    }
    pending.since = None;
}

/// Hands a batch over without waiting: a full link drops it, counted.
fn offer(cx: &ConnectorContext, peer: SocketAddr, received_ns: u64, frames: Vec<Frame>) {
    let n = frames.len() as u64;
    let flow = flow_of(peer);
    let batch = RawBatch {
        source: cx.source,
        vendor: cx.vendor,
        flow,
        peer: Some(peer.ip()),
        received_ns,
        frames,
    };
    match cx.output_for(flow).try_send(batch) {
        Ok(()) => {
            cx.metrics.events_in.fetch_add(n, Relaxed);
            cx.metrics.batches.fetch_add(1, Relaxed);
        }
        Err(TrySendError::Full(_)) => cx.metrics.dropped.add("backpressure", n),
        Err(TrySendError::Closed(_)) => cx.metrics.dropped.add("shutting_down", n),
    }
}

/// One flow per peer, so a sender's datagrams keep their order through the pipeline.
fn flow_of(peer: SocketAddr) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    peer.hash(&mut h);
    h.finish()
}
