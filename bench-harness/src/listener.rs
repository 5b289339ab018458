//! The harness's own receiving end: a TCP listener the engine's `tcp` target forwards routed
//! events to (NDJSON). It counts what arrives and records, per event, the time from the
//! engine's receive stamp (`metadata.logged_time`, ms) to its arrival here, in an
//! hdrhistogram: the end-to-end latency as a consumer of the routed output sees it.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use hdrhistogram::Histogram;

/// What the listener saw.
#[derive(Debug)]
pub struct Received {
    pub events: AtomicU64,
    /// The engine's findings (anomalies and incident states), not counted in `events`.
    pub findings: AtomicU64,
    /// Lines that were not an event with a `logged_time` (counted, not measured).
    pub unreadable: AtomicU64,
    /// Latency in microseconds (1 us .. 1 h, 3 significant digits).
    pub latency_us: Mutex<Histogram<u64>>,
}

impl Received {
    fn new() -> Received {
        Received {
            events: AtomicU64::new(0),
            findings: AtomicU64::new(0),
            unreadable: AtomicU64::new(0),
            latency_us: Mutex::new(
                Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds"),
            ),
        }
    }
}

/// A running listener.
#[derive(Debug)]
pub struct Listener {
    pub addr: SocketAddr,
    pub received: Arc<Received>,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl Listener {
    pub fn start() -> Result<Listener> {
        let socket =
            TcpListener::bind("127.0.0.1:0").context("cannot bind the harness listener")?;
        socket.set_nonblocking(true)?;
        let addr = socket.local_addr()?;
        let received = Arc::new(Received::new());
        let stop = Arc::new(AtomicBool::new(false));
        let (r, s) = (Arc::clone(&received), Arc::clone(&stop));
        let accept = thread::spawn(move || {
            let mut readers = Vec::new();
            while !s.load(Ordering::Relaxed) {
                match socket.accept() {
                    Ok((stream, _)) => {
                        let (r, s) = (Arc::clone(&r), Arc::clone(&s));
                        readers.push(thread::spawn(move || read_events(stream, &r, &s)));
                    }
                    Err(_) => thread::sleep(Duration::from_millis(20)),
                }
            }
            for h in readers {
                let _ = h.join();
            }
        });
        Ok(Listener {
            addr,
            received,
            stop,
            accept: Some(accept),
        })
    }

    pub fn events(&self) -> u64 {
        self.received.events.load(Ordering::Relaxed)
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
    }
}

fn read_events(stream: TcpStream, r: &Received, stop: &AtomicBool) {
    let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
    let mut reader = BufReader::with_capacity(1 << 20, stream);
    let mut line = Vec::with_capacity(2048);
    loop {
        match reader.read_until(b'\n', &mut line) {
            Ok(0) => break,
            Ok(_) if line.ends_with(b"\n") => {
                let now_us = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map(|d| d.as_micros() as u64)
                    .unwrap_or(0);
                record(&line, now_us, r);
                line.clear();
            }
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                // A partial line stays in `line` and is completed by the next read.
                if stop.load(Ordering::Relaxed) {
                    break;
                }
            }
            Err(_) => break,
        }
    }
}

/// Counts one NDJSON line and records its latency. The engine's own findings (Detection
/// Findings with a `finding_info` it wrote: anomalies `an-…` and incident states `inc-…`) are
/// counted apart: they are not the traffic sent.
fn record(line: &[u8], now_us: u64, r: &Received) {
    const NEEDLE: &[u8] = b",\"finding_info\":{\"uid\":\"";
    let engine_finding = memchr::memmem::find(line, NEEDLE).is_some_and(|at| {
        let uid = &line[at + NEEDLE.len()..];
        uid.starts_with(b"an-") || uid.starts_with(b"inc-")
    });
    if engine_finding {
        r.findings.fetch_add(1, Ordering::Relaxed);
        return;
    }
    r.events.fetch_add(1, Ordering::Relaxed);
    match logged_time_ms(line) {
        Some(ms) => {
            let us = now_us.saturating_sub(ms * 1000).max(1);
            if let Ok(mut h) = r.latency_us.lock() {
                let high = h.high();
                let _ = h.record(us.min(high));
            }
        }
        None => {
            r.unreadable.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// `metadata.logged_time` of an event line, read without parsing the whole object (the key
/// is unique in the engine's JSON form; the harness reads a million of these a minute).
pub fn logged_time_ms(line: &[u8]) -> Option<u64> {
    const KEY: &[u8] = b"\"logged_time\":";
    let at = memchr::memmem::find(line, KEY)? + KEY.len();
    let digits = line[at..].iter().take_while(|b| b.is_ascii_digit()).count();
    std::str::from_utf8(&line[at..at + digits])
        .ok()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn logged_time_is_read_from_an_event_line() {
        let line = br#"{"time":1,"metadata":{"product":{"name":"x"},"logged_time":1796157197715},"tocsin":{}}"#;
        assert_eq!(logged_time_ms(line), Some(1_796_157_197_715));
        assert_eq!(logged_time_ms(b"{\"time\":1}"), None);
        assert_eq!(logged_time_ms(b"{\"logged_time\":\"x\"}"), None);
    }

    #[test]
    fn records_latency_from_the_receive_stamp() {
        let r = Received::new();
        record(b"{\"metadata\":{\"logged_time\":1000}}\n", 1_250_000, &r);
        record(b"{\"metadata\":{\"logged_time\":1000}}\n", 1_003_000, &r);
        record(b"not json\n", 1_003_000, &r);
        assert_eq!(r.events.load(Ordering::Relaxed), 3);
        assert_eq!(r.unreadable.load(Ordering::Relaxed), 1);
        let h = r.latency_us.lock().unwrap();
        assert_eq!(h.len(), 2);
        assert!((h.max() as f64 - 250_000.0).abs() / 250_000.0 < 0.001);
        assert!((h.min() as f64 - 3_000.0).abs() / 3_000.0 < 0.001);
    }

    #[test]
    fn counts_events_over_a_real_socket_even_when_split() {
        let l = Listener::start().unwrap();
        let mut s = TcpStream::connect(l.addr).unwrap();
        let ev = b"{\"metadata\":{\"logged_time\":1}}\n";
        // Three events, the second split across two writes.
        s.write_all(ev).unwrap();
        s.write_all(&ev[..10]).unwrap();
        s.flush().unwrap();
        s.write_all(&ev[10..]).unwrap();
        s.write_all(ev).unwrap();
        drop(s);
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while l.events() < 3 && std::time::Instant::now() < deadline {
            thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(l.events(), 3);
        assert_eq!(l.received.unreadable.load(Ordering::Relaxed), 0);
        assert_eq!(l.received.latency_us.lock().unwrap().len(), 3);
    }
}
