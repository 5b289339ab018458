//! The tcp target: the file target's NDJSON lines, written to one TCP connection.
//!
//! The connection is opened on the first batch and again after a failure. A batch is one
//! `write_all` on a blocking socket with a write timeout, so a collector that stops reading
//! holds the target (and, through its bounded link, the stages before it) for at most
//! `write_timeout`, then the batch fails. A failed batch is returned as an error, which the
//! [`super::TargetActor`] dead-letters and counts; the connection is dropped and the next
//! attempt waits out an exponential backoff, during which batches fail at once rather than
//! block the pipeline on a collector that is down.
//!
//! Before each batch the socket is polled without blocking: a collector that closed the
//! connection is noticed there and reconnected to, instead of the batch being written into a
//! socket whose peer is gone (the kernel would accept it and the bytes would be lost). A peer
//! that vanishes after that check and before the write can still lose that one batch: plain
//! TCP has no acknowledgement of what the collector read.
//!
//! Written with `std::net` on the target's own arbiter thread: the blocking calls are bounded by
//! the timeouts and hold only this target.

use super::{encode_ndjson, SinkWriter};
use std::io::{self, ErrorKind, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};
use tocsin_engine::config::TcpTarget;
use tocsin_engine::schema::Event;

/// Most reads of unsolicited collector input discarded in one liveness check.
const MAX_DISCARD_READS: usize = 16;

/// NDJSON over TCP, with reconnects and backoff.
#[derive(Debug)]
pub struct TcpSink {
    address: String,
    connect_timeout: Duration,
    write_timeout: Duration,
    backoff: Backoff,
    stream: Option<TcpStream>,
    /// Connections opened so far.
    connects: u64,
    /// Why the last batch failed, repeated while backing off.
    last_error: String,
}

impl TcpSink {
    /// A sink for `config`; connects on the first batch.
    pub fn new(config: &TcpTarget) -> TcpSink {
        TcpSink {
            address: config.address.clone(),
            connect_timeout: Duration::from_millis(config.connect_timeout_ms.max(1)),
            write_timeout: Duration::from_millis(config.write_timeout_ms.max(1)),
            backoff: Backoff::new(
                Duration::from_millis(config.reconnect_backoff_ms.max(1)),
                Duration::from_millis(config.reconnect_backoff_max_ms),
            ),
            stream: None,
            connects: 0,
            last_error: String::new(),
        }
    }

    /// [`SinkWriter::write_batch`] at time `now` (which decides whether the backoff is over).
    pub fn write_batch_at(
        &mut self,
        events: &[Event],
        scratch: &mut Vec<u8>,
        now: Instant,
    ) -> io::Result<u64> {
        if self.stream.as_mut().is_some_and(peer_closed) {
            tracing::info!(address = %self.address, "tcp target: collector closed the connection");
            self.stream = None;
        }
        if self.stream.is_none() {
            // Fail fast, and without pushing the next attempt further away.
            if let Some(left) = self.backoff.remaining(now) {
                return Err(io::Error::new(
                    ErrorKind::NotConnected,
                    format!(
                        "{}: not connected, next attempt in {} ms (last error: {})",
                        self.address,
                        left.as_millis().max(1),
                        self.last_error
                    ),
                ));
            }
        }
        scratch.clear();
        encode_ndjson(events, scratch);
        match self.send(scratch) {
            Ok(()) => {
                self.backoff.reset();
                Ok(scratch.len() as u64)
            }
            Err(e) => {
                self.stream = None;
                let wait = self.backoff.fail(now);
                self.last_error = e.to_string();
                tracing::warn!(
                    address = %self.address,
                    error = %e,
                    retry_in_ms = wait.as_millis() as u64,
                    "tcp target: batch not written"
                );
                Err(e)
            }
        }
    }

    /// True while a connection is open.
    pub fn is_connected(&self) -> bool {
        self.stream.is_some()
    }

    /// Writes `bytes` to the connection, opening one first if there is none.
    fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        let stream = match self.stream {
            Some(ref mut s) => s,
            None => {
                let s = self.connect()?;
                self.connects += 1;
                if self.connects > 1 {
                    tracing::info!(address = %self.address, "tcp target: reconnected");
                }
                self.stream.insert(s)
            }
        };
        stream.write_all(bytes).map_err(|e| {
            if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) {
                io::Error::new(
                    ErrorKind::TimedOut,
                    format!(
                        "{}: write timed out after {} ms (the collector is not reading)",
                        self.address,
                        self.write_timeout.as_millis()
                    ),
                )
            } else {
                context(&self.address, "write", e)
            }
        })
    }

    /// Resolves the address and connects to the first resolved address that accepts.
    fn connect(&self) -> io::Result<TcpStream> {
        let addrs = self
            .address
            .to_socket_addrs()
            .map_err(|e| context(&self.address, "resolve", e))?;
        let mut last = None;
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, self.connect_timeout) {
                Ok(s) => {
                    s.set_write_timeout(Some(self.write_timeout))?;
                    // Batches are written whole; Nagle would only add latency to the last segment.
                    s.set_nodelay(true)?;
                    return Ok(s);
                }
                Err(e) => last = Some(context(&self.address, &format!("connect to {addr}"), e)),
            }
        }
        Err(last.unwrap_or_else(|| {
            io::Error::new(
                ErrorKind::NotFound,
                format!("{}: resolves to no address", self.address),
            )
        }))
    }
}

impl SinkWriter for TcpSink {
    fn write_batch(&mut self, events: &[Event], scratch: &mut Vec<u8>) -> io::Result<u64> {
        self.write_batch_at(events, scratch, Instant::now())
    }

    fn flush(&mut self) -> io::Result<()> {
        // Each batch is written straight to the socket.
        Ok(())
    }

    fn reconnects(&self) -> u64 {
        self.connects.saturating_sub(1)
    }
}

/// `e` with the address and the step that failed, keeping its kind.
fn context(address: &str, step: &str, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{address}: {step}: {e}"))
}

/// Polls the socket without blocking: true when the collector has closed it (or it is broken).
/// Anything the collector sent is read and discarded.
fn peer_closed(stream: &mut TcpStream) -> bool {
    if stream.set_nonblocking(true).is_err() {
        return true;
    }
    let mut buf = [0u8; 4096];
    let mut closed = false;
    for _ in 0..MAX_DISCARD_READS {
        match stream.read(&mut buf) {
            Ok(0) => {
                closed = true;
                break;
            }
            Ok(_) => continue,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => {
                closed = e.kind() != ErrorKind::WouldBlock;
                break;
            }
        }
    }
    closed || stream.set_nonblocking(false).is_err()
}

/// Exponential backoff between connection attempts: `initial`, doubled per consecutive
/// failure, at most `max`.
#[derive(Debug)]
struct Backoff {
    initial: Duration,
    max: Duration,
    next: Duration,
    until: Option<Instant>,
}

impl Backoff {
    fn new(initial: Duration, max: Duration) -> Backoff {
        Backoff {
            initial,
            max: max.max(initial),
            next: initial,
            until: None,
        }
    }

    /// Records a failure at `now`; returns how long the next attempt waits.
    fn fail(&mut self, now: Instant) -> Duration {
        let wait = self.next;
        self.until = Some(now + wait);
        self.next = (self.next * 2).min(self.max);
        wait
    }

    fn reset(&mut self) {
        self.next = self.initial;
        self.until = None;
    }

    /// The wait left at `now`, if any.
    fn remaining(&self, now: Instant) -> Option<Duration> {
        self.until
            .and_then(|u| u.checked_duration_since(now))
            .filter(|d| !d.is_zero())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader};
    use std::net::{SocketAddr, TcpListener};
    use tocsin_engine::schema::Text;

    fn event(msg: &'static str) -> Event {
        Event {
            time: 1_700_000_000_000,
            message: Text::from_static(msg),
            ..Event::default()
        }
    }

    fn sink(addr: SocketAddr) -> TcpSink {
        TcpSink::new(&TcpTarget {
            connect_timeout_ms: 1000,
            write_timeout_ms: 1000,
            ..TcpTarget::new("t", &addr.to_string())
        })
    }

    /// Reads `n` lines from the next connection of `listener`.
    fn read_lines(reader: &mut BufReader<TcpStream>, n: usize) -> Vec<String> {
        (0..n)
            .map(|_| {
                let mut line = String::new();
                reader.read_line(&mut line).expect("line");
                line
            })
            .collect()
    }

    fn accept(listener: &TcpListener) -> BufReader<TcpStream> {
        let (s, _) = listener.accept().expect("accept");
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        BufReader::new(s)
    }

    /// A port nothing listens on (bound, then released).
    fn free_port() -> SocketAddr {
        TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
    }

    #[test]
    fn a_listener_receives_the_ndjson_lines_of_two_batches_in_order() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut sink = sink(listener.local_addr().unwrap());
        let mut scratch = Vec::new();
        let now = Instant::now();
        let first = [event("one"), event("two")];
        let second = [event("three")];
        let n1 = sink.write_batch_at(&first, &mut scratch, now).unwrap();
        let n2 = sink.write_batch_at(&second, &mut scratch, now).unwrap();

        let mut expected = Vec::new();
        encode_ndjson(&first, &mut expected);
        assert_eq!(n1, expected.len() as u64);
        encode_ndjson(&second, &mut expected);
        assert_eq!(n1 + n2, expected.len() as u64);

        let mut conn = accept(&listener);
        let lines = read_lines(&mut conn, 3);
        assert_eq!(lines.concat().as_bytes(), expected.as_slice());
        let messages: Vec<String> = lines
            .iter()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                v["message"].as_str().unwrap().to_owned()
            })
            .collect();
        assert_eq!(messages, ["one", "two", "three"]);
        assert_eq!(sink.reconnects(), 0);
    }

    #[test]
    fn a_closed_peer_fails_the_next_batch_then_a_new_listener_gets_later_batches() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let mut sink = sink(addr);
        let mut scratch = Vec::new();
        let t0 = Instant::now();
        sink.write_batch_at(&[event("before")], &mut scratch, t0)
            .unwrap();
        let mut conn = accept(&listener);
        assert!(read_lines(&mut conn, 1)[0].contains("before"));

        // The collector goes away entirely.
        drop(conn);
        drop(listener);
        let err = sink
            .write_batch_at(&[event("lost")], &mut scratch, t0)
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");
        assert!(!sink.is_connected());

        // It comes back on the same port; after the backoff the next batch reconnects.
        let listener = TcpListener::bind(addr).unwrap();
        let later = t0 + Duration::from_millis(100);
        sink.write_batch_at(&[event("after")], &mut scratch, later)
            .unwrap();
        let mut conn = accept(&listener);
        let line = &read_lines(&mut conn, 1)[0];
        assert!(line.contains("\"after\""), "{line}");
        assert_eq!(sink.reconnects(), 1);
    }

    #[test]
    fn a_refused_connection_is_an_error() {
        let mut sink = sink(free_port());
        let err = sink
            .write_batch_at(&[event("x")], &mut Vec::new(), Instant::now())
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");
        assert!(err.to_string().contains("connect to 127.0.0.1:"), "{err}");
        assert_eq!(sink.reconnects(), 0);
    }

    #[test]
    fn an_address_that_does_not_resolve_is_an_error() {
        let mut sink = TcpSink::new(&TcpTarget::new("t", "no port here"));
        let err = sink
            .write_batch_at(&[event("x")], &mut Vec::new(), Instant::now())
            .unwrap_err();
        assert!(
            err.to_string().starts_with("no port here: resolve: "),
            "{err}"
        );
    }

    #[test]
    fn while_backing_off_batches_fail_at_once_without_connecting() {
        let addr = free_port();
        let mut sink = TcpSink::new(&TcpTarget {
            reconnect_backoff_ms: 100,
            reconnect_backoff_max_ms: 300,
            ..TcpTarget::new("t", &addr.to_string())
        });
        let mut scratch = Vec::new();
        let ms = Duration::from_millis;
        let t0 = Instant::now();
        assert!(sink
            .write_batch_at(&[event("a")], &mut scratch, t0)
            .is_err());
        let err = sink
            .write_batch_at(&[event("b")], &mut scratch, t0 + ms(99))
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotConnected);
        assert!(err.to_string().contains("next attempt in 1 ms"), "{err}");
        assert!(
            err.to_string().contains("refused"),
            "last error kept: {err}"
        );
        // The fast failure did not move the attempt: it is made at 100 ms, refused again, and
        // the wait doubles to 200 ms.
        let err = sink
            .write_batch_at(&[event("c")], &mut scratch, t0 + ms(100))
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");

        // The collector is up now, but the backoff is not over: no attempt is made.
        let listener = TcpListener::bind(addr).unwrap();
        listener.set_nonblocking(true).unwrap();
        let err = sink
            .write_batch_at(&[event("d")], &mut scratch, t0 + ms(299))
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotConnected);
        assert_eq!(
            listener.accept().map(|_| ()).unwrap_err().kind(),
            ErrorKind::WouldBlock,
            "no connection attempted while backing off"
        );
        sink.write_batch_at(&[event("e")], &mut scratch, t0 + ms(300))
            .unwrap();
        listener.set_nonblocking(false).unwrap();
        let mut conn = accept(&listener);
        assert!(read_lines(&mut conn, 1)[0].contains("\"e\""));
        // Success resets the backoff: the next failure waits 100 ms again.
        drop(conn);
        drop(listener);
        let t1 = t0 + ms(1000);
        assert!(sink
            .write_batch_at(&[event("f")], &mut scratch, t1)
            .is_err());
        let err = sink
            .write_batch_at(&[event("g")], &mut scratch, t1 + ms(1))
            .unwrap_err();
        assert!(err.to_string().contains("next attempt in 99 ms"), "{err}");
    }

    #[test]
    fn backoff_doubles_up_to_its_maximum_and_resets_on_success() {
        let t = Instant::now();
        let ms = Duration::from_millis;
        let mut b = Backoff::new(ms(100), ms(500));
        let waits: Vec<_> = (0..5).map(|_| b.fail(t)).collect();
        assert_eq!(waits, [ms(100), ms(200), ms(400), ms(500), ms(500)]);
        assert_eq!(b.remaining(t), Some(ms(500)));
        assert_eq!(b.remaining(t + ms(500)), None);
        b.reset();
        assert_eq!(b.remaining(t), None);
        assert_eq!(b.fail(t), ms(100));
    }

    #[test]
    fn a_collector_that_stops_reading_times_the_write_out() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut sink = TcpSink::new(&TcpTarget {
            write_timeout_ms: 50,
            ..TcpTarget::new("t", &listener.local_addr().unwrap().to_string())
        });
        // Accepted but never read: the socket buffers fill and the write blocks.
        let big = Text::from_string("x".repeat(1 << 20));
        let batch: Vec<Event> = (0..64)
            .map(|_| Event {
                message: big.clone(),
                ..event("")
            })
            .collect();
        let err = sink
            .write_batch_at(&batch, &mut Vec::new(), Instant::now())
            .unwrap_err();
        let _held = listener.accept().unwrap();
        assert_eq!(err.kind(), ErrorKind::TimedOut, "{err}");
        assert!(
            err.to_string().contains("write timed out after 50 ms"),
            "{err}"
        );
        assert!(!sink.is_connected(), "a half-written connection is dropped");
    }
}
