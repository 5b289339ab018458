//! The `syslog_tcp` connector: many concurrent clients, newline or octet-counting framing
//! (RFC 6587), backpressure by not reading while the pipeline is full.

use super::ConnectorContext;
use crate::deadletter::DeadLetterOrigin;
use actix::{Actor, ActorFutureExt, AsyncContext, Context, Supervised};
use bytes::BytesMut;
use std::rc::Rc;
use std::sync::atomic::Ordering::Relaxed;
use tocsin_engine::normalise::framing::{Framing, SyslogFramer};
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};

const READ_CHUNK: usize = 64 * 1024;

/// The TCP syslog connector actor.
#[derive(Debug)]
pub struct SyslogTcpConnector {
    std_listener: Option<std::net::TcpListener>,
    listener: Option<Rc<TcpListener>>,
    cx: Option<ConnectorContext>,
    framing: Framing,
    max_connections: usize,
}

impl SyslogTcpConnector {
    /// A connector serving an already bound (non-blocking) listener.
    pub fn new(
        listener: std::net::TcpListener,
        cx: ConnectorContext,
        framing: Framing,
        max_connections: usize,
    ) -> SyslogTcpConnector {
        SyslogTcpConnector {
            std_listener: Some(listener),
            listener: None,
            cx: Some(cx),
            framing,
            max_connections,
        }
    }
}

impl Actor for SyslogTcpConnector {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        if self.listener.is_none() {
            let Some(std_listener) = self.std_listener.take() else {
                return;
            };
            match TcpListener::from_std(std_listener) {
                Ok(l) => self.listener = Some(Rc::new(l)),
                Err(e) => {
                    tracing::error!(error = %e, "cannot register TCP listener");
                    return;
                }
            }
        }
        let (Some(listener), Some(cx)) = (self.listener.clone(), self.cx.clone()) else {
            return;
        };
        let framing = self.framing;
        let max_connections = self.max_connections;
        ctx.spawn(
            actix::fut::wrap_future(accept_loop(listener, cx, framing, max_connections)).map(
                |_, act: &mut SyslogTcpConnector, _| {
                    // Shutting down: release the pipeline links so the normalisers can drain.
                    act.cx = None;
                    act.listener = None;
                },
            ),
        );
    }
}

impl Supervised for SyslogTcpConnector {}

async fn accept_loop(
    listener: Rc<TcpListener>,
    cx: ConnectorContext,
    framing: Framing,
    max_connections: usize,
) {
    loop {
        let accepted = tokio::select! {
            biased;
            _ = cx.cancel.cancelled() => return,
            a = listener.accept() => a,
        };
        match accepted {
            Ok((stream, peer)) => {
                if cx.metrics.connections_open.load(Relaxed) as usize >= max_connections {
                    tracing::warn!(connector = %cx.source, %peer, "connection refused: max_connections reached");
                    drop(stream);
                    continue;
                }
                let _ = stream.set_nodelay(true);
                cx.metrics.connections_total.fetch_add(1, Relaxed);
                cx.metrics.connections_open.fetch_add(1, Relaxed);
                let flow = cx.next_flow();
                actix_rt::spawn(serve_connection(stream, peer, flow, cx.clone(), framing));
            }
            Err(e) => {
                // Out of file descriptors and similar: back off briefly instead of spinning.
                tracing::warn!(connector = %cx.source, error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    }
}

async fn serve_connection(
    mut stream: TcpStream,
    peer: std::net::SocketAddr,
    flow: u64,
    cx: ConnectorContext,
    framing: Framing,
) {
    let mut framer = SyslogFramer::new(framing, cx.max_line);
    let mut buf = BytesMut::with_capacity(READ_CHUNK);
    let mut frames = Vec::with_capacity(cx.batch_size);
    let mut truncated_seen = 0;
    let peer_ip = Some(peer.ip());
    loop {
        if buf.capacity() - buf.len() < READ_CHUNK / 4 {
            buf.reserve(READ_CHUNK);
        }
        let read = tokio::select! {
            biased;
            _ = cx.cancel.cancelled() => None,
            r = stream.read_buf(&mut buf) => Some(r),
        };
        let received_ns = tocsin_engine::clock::now_ns();
        let eof = match read {
            None => {
                // Shutdown: deliver every complete frame already read; keep a partial last
                // line in the dead-letter file rather than invent its end.
                framer.decode(&mut buf, &mut frames);
                if !buf.is_empty() {
                    // It was read, so it counts as received; it is kept as a dead letter.
                    cx.metrics.events_in.fetch_add(1, Relaxed);
                    cx.dead_letters.write(
                        DeadLetterOrigin {
                            source: cx.source.as_str(),
                            stage: "syslog_tcp",
                            received_ns,
                        },
                        "incomplete_at_shutdown",
                        "connection closed by shutdown in the middle of a frame",
                        &buf,
                    );
                    buf.clear();
                }
                true
            }
            Some(Ok(0)) => {
                framer.finish(&mut buf, &mut frames);
                true
            }
            Some(Ok(n)) => {
                cx.metrics.bytes_in.fetch_add(n as u64, Relaxed);
                framer.decode(&mut buf, &mut frames);
                false
            }
            Some(Err(e)) => {
                tracing::debug!(connector = %cx.source, %peer, error = %e, "read failed");
                framer.finish(&mut buf, &mut frames);
                true
            }
        };
        let t = framer.truncated();
        if t > truncated_seen {
            cx.metrics.truncated.fetch_add(t - truncated_seen, Relaxed);
            truncated_seen = t;
        }
        if !frames.is_empty()
            && !cx
                .send_reliable(flow, peer_ip, received_ns, &mut frames)
                .await
        {
            break;
        }
        if eof {
            break;
        }
    }
    cx.metrics.connections_open.fetch_sub(1, Relaxed);
}
