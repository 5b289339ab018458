//! Test helpers shared by unit and integration tests (feature `testsuite`).
//!
//! [`RecordingServer`]: a small HTTP/1.1 server on 127.0.0.1 that records every request and
//! answers from a script, and can be stopped and restarted on the same port to play an
//! endpoint that is down for a while.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// One request as the server saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// Method.
    pub method: String,
    /// Path with the query.
    pub path: String,
    /// Headers (names lower-cased), in order.
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl Recorded {
    /// The body as text (lossy).
    pub fn body_str(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    /// The first header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// One scripted answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// Status code.
    pub status: u16,
    /// `Retry-After` seconds, if any.
    pub retry_after: Option<u64>,
}

#[derive(Debug, Default)]
struct State {
    script: std::collections::VecDeque<Answer>,
    requests: Vec<Recorded>,
}

/// A recording HTTP server (see the module doc).
#[derive(Debug)]
pub struct RecordingServer {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    running: Option<(Arc<AtomicBool>, JoinHandle<()>)>,
}

impl RecordingServer {
    /// Starts on an ephemeral port of 127.0.0.1.
    pub fn start() -> RecordingServer {
        let listener =
            TcpListener::bind("127.0.0.1:0").expect("binding 127.0.0.1:0 works in tests");
        let addr = listener
            .local_addr()
            .expect("a bound listener has an address");
        let mut s = RecordingServer {
            addr,
            state: Arc::default(),
            running: None,
        };
        s.serve(listener);
        s
    }

    fn serve(&mut self, listener: TcpListener) {
        listener
            .set_nonblocking(true)
            .expect("nonblocking listener");
        let stop = Arc::new(AtomicBool::new(false));
        let (flag, state) = (stop.clone(), self.state.clone());
        let handle = std::thread::spawn(move || {
            while !flag.load(Ordering::Acquire) {
                match listener.accept() {
                    Ok((conn, _)) => {
                        let state = state.clone();
                        std::thread::spawn(move || {
                            let _ = handle(conn, &state);
                        });
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(2));
                    }
                    Err(_) => break,
                }
            }
        });
        self.running = Some((stop, handle));
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Answers the next requests with these statuses, in order, then 202 forever.
    pub fn script(&self, statuses: Vec<u16>) {
        self.script_answers(
            statuses
                .into_iter()
                .map(|status| Answer {
                    status,
                    retry_after: None,
                })
                .collect(),
        );
    }

    /// Like [`RecordingServer::script`], with `Retry-After` where set.
    pub fn script_answers(&self, answers: Vec<Answer>) {
        if let Ok(mut s) = self.state.lock() {
            s.script.extend(answers);
        }
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.state
            .lock()
            .map(|s| s.requests.clone())
            .unwrap_or_default()
    }

    /// Waits until `n` requests arrived (or `timeout` passed) and returns all so far.
    pub fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Recorded> {
        let end = Instant::now() + timeout;
        loop {
            let got = self.requests();
            if got.len() >= n || Instant::now() >= end {
                return got;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Stops accepting (connections are refused until [`RecordingServer::restart`]).
    pub fn stop(&mut self) {
        if let Some((flag, handle)) = self.running.take() {
            flag.store(true, Ordering::Release);
            let _ = handle.join();
        }
    }

    /// Listens again on the same port.
    pub fn restart(&mut self) {
        self.stop();
        let listener =
            TcpListener::bind(self.addr).expect("the port this server had is free again");
        self.serve(listener);
    }
}

impl Drop for RecordingServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn handle(conn: TcpStream, state: &Mutex<State>) -> std::io::Result<()> {
    conn.set_nonblocking(false)?;
    conn.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let (method, path) = (
        parts.next().unwrap_or("").to_owned(),
        parts.next().unwrap_or("").to_owned(),
    );
    let mut headers = Vec::new();
    let mut length = 0usize;
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            break;
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            let (k, v) = (k.trim().to_ascii_lowercase(), v.trim().to_owned());
            if k == "content-length" {
                length = v.parse().unwrap_or(0);
            }
            headers.push((k, v));
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let answer = {
        let mut s = state
            .lock()
            .map_err(|_| std::io::Error::other("poisoned"))?;
        s.requests.push(Recorded {
            method,
            path,
            headers,
            body,
        });
        s.script.pop_front().unwrap_or(Answer {
            status: 202,
            retry_after: None,
        })
    };
    let text = format!("{{\"status\":{}}}", answer.status);
    let mut resp = format!("HTTP/1.1 {} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n", answer.status, text.len());
    if let Some(ra) = answer.retry_after {
        resp.push_str(&format!("Retry-After: {ra}\r\n"));
    }
    resp.push_str("\r\n");
    resp.push_str(&text);
    let mut conn = conn;
    conn.write_all(resp.as_bytes())?;
    conn.flush()
}
