//! Senders: one thread per connection walking its pool and pushing runs of lines over TCP
//! (large writes, TCP_NODELAY), UDP (one datagram per line), HTTP (NDJSON batches, resent on
//! 503/429 after Retry-After) or into a capture file.

use std::io::{self, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use flate2::write::GzEncoder;
use flate2::Compression;

use crate::pacer::{Pacer, Step, SLICE};
use crate::pool::Pool;

/// Bytes per TCP `write_all`.
const TCP_WRITE_BYTES: usize = 64 * 1024;
/// Lines per UDP burst between pacing checks.
const UDP_BURST_LINES: u64 = 256;
/// How long an HTTP sender waits for a full batch before sending a partial one.
const HTTP_LINGER: Duration = Duration::from_millis(100);
/// Wait after a 503/429 without a usable Retry-After.
const HTTP_DEFAULT_BACKOFF: Duration = Duration::from_millis(50);

/// Counters shared by all senders and read by the progress bar.
#[derive(Debug, Default)]
pub struct Shared {
    pub sent: AtomicU64,
    pub abort: AtomicBool,
    pub http_retries: AtomicU64,
    pub send_errors: AtomicU64,
}

/// Where lines go: a connected socket or an HTTP client.
pub trait ChunkSink {
    /// Most lines to hand to one `send`.
    fn max_lines(&self) -> u64;
    /// Lines worth waiting for before sending (HTTP batches); 1 for streams.
    fn preferred_lines(&self) -> u64 {
        1
    }
    /// Where a chunk starting at `start` ends, at most `limit`.
    fn chunk_end(&self, _pool: &Pool, _start: usize, limit: usize) -> usize {
        limit
    }
    fn send(&mut self, pool: &Pool, start: usize, end: usize, shared: &Shared) -> Result<()>;
    fn finish(&mut self) -> Result<()> {
        Ok(())
    }
}

#[derive(Debug)]
pub struct TcpSink {
    stream: TcpStream,
}

impl TcpSink {
    pub fn connect(addr: SocketAddr) -> Result<TcpSink> {
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(3))
            .with_context(|| format!("cannot connect to syslog TCP listener {addr}"))?;
        stream.set_nodelay(true)?;
        Ok(TcpSink { stream })
    }
}

impl ChunkSink for TcpSink {
    fn max_lines(&self) -> u64 {
        u64::MAX
    }
    fn chunk_end(&self, pool: &Pool, start: usize, limit: usize) -> usize {
        pool.end_within(start, limit, TCP_WRITE_BYTES)
    }
    fn send(&mut self, pool: &Pool, start: usize, end: usize, _: &Shared) -> Result<()> {
        self.stream
            .write_all(pool.run(start, end))
            .context("TCP write failed (peer closed the connection?)")
    }
    fn finish(&mut self) -> Result<()> {
        self.stream.flush()?;
        // Half-close so the peer sees EOF after the last frame; ignore if already gone.
        let _ = self.stream.shutdown(Shutdown::Write);
        Ok(())
    }
}

#[derive(Debug)]
pub struct UdpSink {
    socket: UdpSocket,
}

impl UdpSink {
    pub fn connect(addr: SocketAddr) -> Result<UdpSink> {
        let local = if addr.is_ipv4() {
            "127.0.0.1:0"
        } else {
            "[::1]:0"
        };
        let socket = UdpSocket::bind(local).context("cannot bind a UDP socket")?;
        socket
            .connect(addr)
            .with_context(|| format!("cannot connect UDP socket to {addr}"))?;
        Ok(UdpSink { socket })
    }
}

impl ChunkSink for UdpSink {
    fn max_lines(&self) -> u64 {
        UDP_BURST_LINES
    }
    fn send(&mut self, pool: &Pool, start: usize, end: usize, shared: &Shared) -> Result<()> {
        for i in start..end {
            match self.socket.send(pool.run(i, i + 1)) {
                Ok(_) => {}
                // ICMP port unreachable from an earlier datagram, or a full socket buffer:
                // UDP may lose lines; count and keep going, the report shows the loss.
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::ConnectionRefused | io::ErrorKind::WouldBlock
                    ) || e.raw_os_error() == Some(105) =>
                {
                    shared.send_errors.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => return Err(e).context("UDP send failed"),
            }
        }
        Ok(())
    }
}

#[derive(Debug)]
pub struct HttpSink {
    agent: ureq::Agent,
    url: String,
    batch: u64,
    gzip: bool,
    body: Vec<u8>,
}

impl HttpSink {
    pub fn new(api: &str, source: &str, batch: u32, gzip: bool) -> HttpSink {
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(Duration::from_secs(3))
            .timeout(Duration::from_secs(60))
            .build();
        HttpSink {
            agent,
            url: format!("{api}/api/v1/ingest/{source}"),
            batch: u64::from(batch),
            gzip,
            body: Vec::new(),
        }
    }

    fn post(&mut self, raw: &[u8]) -> Result<(), Box<ureq::Error>> {
        // NDJSON: JSON lines (cloud, Kubernetes, metrics) arrive as objects, syslog lines as the
        // raw lines the engine takes non-JSON lines of an NDJSON body for.
        let req = self
            .agent
            .post(&self.url)
            .set("Content-Type", "application/x-ndjson");
        let resp = if self.gzip {
            self.body.clear();
            let mut enc = GzEncoder::new(&mut self.body, Compression::fast());
            enc.write_all(raw)
                .and_then(|_| enc.finish().map(|_| ()))
                .map_err(|e| Box::new(ureq::Error::from(e)))?;
            req.set("Content-Encoding", "gzip").send_bytes(&self.body)?
        } else {
            req.send_bytes(raw)?
        };
        // Read the body so the connection goes back to the agent's pool.
        let _ = io::copy(&mut resp.into_reader(), &mut io::sink());
        Ok(())
    }
}

/// Seconds of a `Retry-After: N` header (the HTTP-date form falls back to the default).
pub fn retry_after(header: Option<&str>) -> Duration {
    header
        .and_then(|h| h.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(|s| Duration::from_secs_f64(s.min(60.0)))
        .unwrap_or(HTTP_DEFAULT_BACKOFF)
}

impl ChunkSink for HttpSink {
    fn max_lines(&self) -> u64 {
        self.batch
    }
    fn preferred_lines(&self) -> u64 {
        self.batch
    }
    fn send(&mut self, pool: &Pool, start: usize, end: usize, shared: &Shared) -> Result<()> {
        let raw = pool.run(start, end);
        loop {
            match self.post(raw).map_err(|e| *e) {
                Ok(()) => return Ok(()),
                Err(ureq::Error::Status(code @ (503 | 429), resp)) => {
                    let wait = retry_after(resp.header("Retry-After"));
                    let _ = io::copy(&mut resp.into_reader(), &mut io::sink());
                    shared.http_retries.fetch_add(1, Ordering::Relaxed);
                    if shared.abort.load(Ordering::Relaxed) {
                        bail!("aborted while the engine answered {code}");
                    }
                    thread::sleep(wait);
                }
                Err(ureq::Error::Status(code, resp)) => {
                    let text = resp.into_string().unwrap_or_default();
                    bail!("POST {} answered {code}: {}", self.url, text.trim());
                }
                Err(ureq::Error::Transport(e)) => {
                    bail!("POST {} failed: {e} (is the engine running?)", self.url)
                }
            }
        }
    }
}

/// What one sender did.
/// Appends lines to a capture file: the engine's `file` source (follow mode) reads it, and it
/// can be replayed later.
#[derive(Debug)]
pub struct FileSink {
    file: std::fs::File,
    path: std::path::PathBuf,
}

impl FileSink {
    pub fn open(path: &std::path::Path) -> Result<FileSink> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("cannot open the capture file {}", path.display()))?;
        Ok(FileSink {
            file,
            path: path.to_path_buf(),
        })
    }
}

impl ChunkSink for FileSink {
    fn max_lines(&self) -> u64 {
        u64::MAX
    }
    fn chunk_end(&self, pool: &Pool, start: usize, limit: usize) -> usize {
        pool.end_within(start, limit, TCP_WRITE_BYTES)
    }
    fn send(&mut self, pool: &Pool, start: usize, end: usize, _: &Shared) -> Result<()> {
        self.file
            .write_all(pool.run(start, end))
            .with_context(|| format!("cannot append to {}", self.path.display()))
    }
    fn finish(&mut self) -> Result<()> {
        self.file.flush()?;
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub struct SenderStats {
    pub sent: u64,
}

/// Runs one sender until its pacer says done or another sender failed.
pub fn drive(
    mut sink: impl ChunkSink,
    pool: &Pool,
    pacer: Pacer,
    start_line: usize,
    t0: Instant,
    shared: &Shared,
) -> Result<SenderStats> {
    let mut pos = start_line % pool.len();
    let mut sent = 0u64;
    let mut last_send = Instant::now();
    let preferred = sink.preferred_lines();
    let result = loop {
        if shared.abort.load(Ordering::Relaxed) {
            break Ok(());
        }
        match pacer.step(t0.elapsed(), sent) {
            Step::Done => break Ok(()),
            Step::Wait => thread::sleep(SLICE),
            Step::Send(due) => {
                if due < preferred && last_send.elapsed() < HTTP_LINGER {
                    thread::sleep(SLICE);
                    continue;
                }
                let want = due.min(sink.max_lines()).min((pool.len() - pos) as u64);
                let end = sink.chunk_end(pool, pos, pos + want as usize);
                if let Err(e) = sink.send(pool, pos, end, shared) {
                    break Err(e);
                }
                let n = (end - pos) as u64;
                sent += n;
                shared.sent.fetch_add(n, Ordering::Relaxed);
                pos = if end == pool.len() { 0 } else { end };
                last_send = Instant::now();
            }
        }
    };
    let result = result.and_then(|()| sink.finish());
    if result.is_err() {
        shared.abort.store(true, Ordering::Relaxed);
    }
    result.map(|()| SenderStats { sent })
}

/// Spawns a sender thread for an already connected sink.
pub fn spawn<S: ChunkSink + Send + 'static>(
    sink: S,
    pool: Arc<Pool>,
    pacer: Pacer,
    start_line: usize,
    t0: Instant,
    shared: Arc<Shared>,
) -> thread::JoinHandle<Result<SenderStats>> {
    thread::spawn(move || drive(sink, &pool, pacer, start_line, t0, &shared))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pool::{PoolFraming, PoolSpec};
    use crate::templates::{Mix, Vendor};
    use std::io::Read;
    use std::net::TcpListener;

    #[test]
    fn retry_after_parses_seconds_or_falls_back() {
        assert_eq!(retry_after(Some("2")), Duration::from_secs(2));
        assert_eq!(retry_after(Some(" 0.5 ")), Duration::from_millis(500));
        assert_eq!(
            retry_after(Some("Wed, 21 Oct 2015 07:28:00 GMT")),
            HTTP_DEFAULT_BACKOFF
        );
        assert_eq!(retry_after(None), HTTP_DEFAULT_BACKOFF);
    }

    #[test]
    fn tcp_sender_delivers_exact_count_of_newline_frames() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let reader = thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut buf = Vec::new();
            s.read_to_end(&mut buf).unwrap();
            buf
        });
        let spec = PoolSpec {
            lines: 1000,
            devices: 4,
            mix: Mix::new(vec![(Vendor::Asa, 1), (Vendor::Sshd, 1)]).unwrap(),
            seed: 3,
            end_ms: PoolSpec::now_ms(),
        };
        let pool = Pool::build(&spec, PoolFraming::Newline);
        let shared = Shared::default();
        let sink = TcpSink::connect(addr).unwrap();
        let pacer = Pacer::new(None, Some(2_500), None);
        let stats = drive(sink, &pool, pacer, 700, Instant::now(), &shared).unwrap();
        assert_eq!(stats.sent, 2_500);
        let bytes = reader.join().unwrap();
        assert_eq!(bytes.iter().filter(|b| **b == b'\n').count(), 2_500);
        assert!(
            bytes.starts_with(pool.run(700, 701)),
            "starts at its pool offset"
        );
    }
}
