//! Helpers for the integration tests: a real engine on ephemeral ports, HTTP calls, reading the
//! file target, and waiting for a condition with a deadline (never a fixed sleep).

use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tocsin_api::RunningEngine;
use tocsin_engine::config::Config;

/// Knobs for the test engine's config.
#[derive(Debug, Clone)]
pub struct TestConfig {
    /// Events per batch.
    pub batch_size: usize,
    /// Capacity of every link, in batches.
    pub mailbox: usize,
    /// Normaliser and router shards.
    pub shards: usize,
    /// TCP framing.
    pub framing: &'static str,
    /// HTTP ingest wait before 503, ms.
    pub ingest_wait_ms: u64,
    /// Maximum line length.
    pub max_line_bytes: usize,
    /// Vendor mappings folder (default: the shipped `config/vendors`).
    pub vendors_dir: Option<PathBuf>,
    /// Address of a `tcp` target named `collector` that every event is also routed to, with
    /// its backoff in ms (none by default).
    pub tcp_target: Option<(SocketAddr, u64)>,
    /// More TOML appended to the config (e.g. a `[score]` section).
    pub extra: String,
    /// Routing rules written to `rules.toml` in the data folder and named by
    /// `router.rules_file` (none by default).
    pub rules: Option<String>,
}

impl Default for TestConfig {
    fn default() -> Self {
        TestConfig {
            batch_size: 512,
            mailbox: 16,
            shards: 2,
            framing: "auto",
            ingest_wait_ms: 2000,
            max_line_bytes: 65536,
            vendors_dir: None,
            tcp_target: None,
            extra: String::new(),
            rules: None,
        }
    }
}

/// The config text for an engine writing under `dir`, every listener on 127.0.0.1:0.
pub fn config_text(dir: &Path, t: &TestConfig) -> String {
    format!(
        r#"
[engine]
data_dir = "{dir}"
batch_size = {batch}
normaliser_shards = {shards}
router_shards = {shards}
max_line_bytes = {max_line}
shutdown_timeout_secs = 60
vendors_dir = "{vendors}"

[engine.mailbox]
normaliser = {mailbox}
router = {mailbox}
target = {mailbox}

[api]
listen = "127.0.0.1:0"
workers = 1
ingest_wait_ms = {wait}
retry_after_secs = 2

[[sources]]
type = "syslog_tcp"
name = "tcp"
listen = "127.0.0.1:0"
framing = "{framing}"

[[sources]]
type = "syslog_udp"
name = "udp"
listen = "127.0.0.1:0"

[[sources]]
type = "http"
name = "http"

[[targets]]
type = "file"
name = "file"
path = "events.ndjson"
{tcp_target}
[router]
default_targets = ["file"{tcp_route}]
{rules_file}

[watchdog]
interval_ms = 100
stall_after_ms = 1000
{extra}
"#,
        dir = dir.display(),
        batch = t.batch_size,
        shards = t.shards,
        mailbox = t.mailbox,
        framing = t.framing,
        wait = t.ingest_wait_ms,
        max_line = t.max_line_bytes,
        vendors = t.vendors_dir.clone().unwrap_or_else(vendors_dir).display(),
        tcp_target = t
            .tcp_target
            .map_or(String::new(), |(addr, backoff)| format!(
                "\n[[targets]]\ntype = \"tcp\"\nname = \"collector\"\naddress = \"{addr}\"\n\
             reconnect_backoff_ms = {backoff}\nreconnect_backoff_max_ms = {backoff}\n"
            )),
        extra = t.extra,
        rules_file = t.rules.as_ref().map_or(String::new(), |_| format!(
            "rules_file = \"{}\"",
            dir.join("rules.toml").display()
        )),
        tcp_route = if t.tcp_target.is_some() {
            ", \"collector\""
        } else {
            ""
        },
    )
}

/// The repository's shipped vendor mappings.
pub fn vendors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/vendors")
}

/// A running engine with its data folder.
#[derive(Debug)]
pub struct TestEngine {
    /// The engine (dropped = shut down).
    pub engine: Option<RunningEngine>,
    /// Its data folder.
    pub dir: tempfile::TempDir,
}

impl TestEngine {
    /// Starts an engine with these knobs.
    pub fn start(t: &TestConfig) -> TestEngine {
        TestEngine::start_in(tempfile::tempdir().expect("temp dir"), t)
    }

    /// Starts an engine on an existing data folder (a restart keeps what the last one saved).
    pub fn start_in(dir: tempfile::TempDir, t: &TestConfig) -> TestEngine {
        let text = config_text(dir.path(), t);
        if let Some(rules) = &t.rules {
            std::fs::write(dir.path().join("rules.toml"), rules).expect("rules file written");
        }
        let config = Config::parse(&text, Path::new("test.toml")).expect("test config is valid");
        let engine = RunningEngine::start(config, false).expect("engine starts");
        TestEngine {
            engine: Some(engine),
            dir,
        }
    }

    fn engine(&self) -> &RunningEngine {
        self.engine.as_ref().expect("engine running")
    }

    /// The TCP syslog address.
    pub fn tcp(&self) -> SocketAddr {
        self.engine().source_addr("tcp").expect("tcp source bound")
    }

    /// The UDP syslog address.
    pub fn udp(&self) -> SocketAddr {
        self.engine().source_addr("udp").expect("udp source bound")
    }

    /// The API base URL.
    pub fn api(&self) -> String {
        format!("http://{}", self.engine().api_addr())
    }

    /// GET a path, returning status and body.
    pub fn get(&self, path: &str) -> (u16, String) {
        http_get(&format!("{}{}", self.api(), path))
    }

    /// POST a JSON body; returns status and the answer as JSON (`null` if it is not JSON).
    pub fn post_json(&self, path: &str, body: &str) -> (u16, serde_json::Value) {
        let (status, _, text) = self.post(path, "application/json", None, body.as_bytes());
        (
            status,
            serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
        )
    }

    /// GET a path whose answer is JSON.
    pub fn get_json(&self, path: &str) -> (u16, serde_json::Value) {
        let (status, text) = self.get(path);
        (
            status,
            serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
        )
    }

    /// DELETE a path; returns status and body.
    pub fn delete(&self, path: &str) -> (u16, String) {
        match ureq::delete(&format!("{}{}", self.api(), path)).call() {
            Ok(resp) => (resp.status(), resp.into_string().unwrap_or_default()),
            Err(ureq::Error::Status(code, resp)) => (code, resp.into_string().unwrap_or_default()),
            Err(e) => panic!("DELETE {path}: {e}"),
        }
    }

    /// PUT a body; returns status and body.
    pub fn put(&self, path: &str, body: &str) -> (u16, String) {
        match ureq::put(&format!("{}{}", self.api(), path)).send_string(body) {
            Ok(resp) => (resp.status(), resp.into_string().unwrap_or_default()),
            Err(ureq::Error::Status(code, resp)) => (code, resp.into_string().unwrap_or_default()),
            Err(e) => panic!("PUT {path}: {e}"),
        }
    }

    /// POST a body with a content type (and optional encoding); returns status, headers of
    /// interest (Retry-After) and body.
    pub fn post(
        &self,
        path: &str,
        content_type: &str,
        encoding: Option<&str>,
        body: &[u8],
    ) -> (u16, Option<String>, String) {
        let mut req =
            ureq::post(&format!("{}{}", self.api(), path)).set("Content-Type", content_type);
        if let Some(enc) = encoding {
            req = req.set("Content-Encoding", enc);
        }
        match req.send_bytes(body) {
            Ok(resp) => (
                resp.status(),
                resp.header("Retry-After").map(str::to_owned),
                resp.into_string().unwrap_or_default(),
            ),
            Err(ureq::Error::Status(code, resp)) => (
                code,
                resp.header("Retry-After").map(str::to_owned),
                resp.into_string().unwrap_or_default(),
            ),
            Err(e) => panic!("POST {path}: {e}"),
        }
    }

    /// The pipeline JSON.
    pub fn pipeline(&self) -> serde_json::Value {
        let (status, body) = self.get("/api/v1/pipeline");
        assert_eq!(status, 200);
        serde_json::from_str(&body).expect("pipeline JSON")
    }

    /// The file target's path.
    pub fn events_path(&self) -> PathBuf {
        self.dir.path().join("events.ndjson")
    }

    /// The dead-letter file's path.
    pub fn dead_letter_path(&self) -> PathBuf {
        self.dir.path().join("deadletter.ndjson")
    }

    /// Events delivered so far (from the metrics).
    pub fn delivered(&self) -> u64 {
        self.pipeline()["totals"]["delivered"].as_u64().unwrap_or(0)
    }

    /// Waits until `delivered >= n`, failing after `limit`.
    pub fn wait_delivered(&self, n: u64, limit: Duration) {
        wait_until(limit, &format!("{n} events delivered"), || {
            self.delivered() >= n
        });
    }

    /// Shuts the engine down and hands back its data folder.
    pub fn stop(mut self) -> tempfile::TempDir {
        self.shutdown();
        self.dir
    }

    /// Shuts the engine down (draining) and returns the report.
    pub fn shutdown(&mut self) -> tocsin_actors::ShutdownReport {
        self.engine
            .take()
            .expect("engine running")
            .shutdown()
            .expect("clean shutdown")
    }
}

/// GET a URL, returning status and body.
pub fn http_get(url: &str) -> (u16, String) {
    match ureq::get(url).call() {
        Ok(resp) => (resp.status(), resp.into_string().unwrap_or_default()),
        Err(ureq::Error::Status(code, resp)) => (code, resp.into_string().unwrap_or_default()),
        Err(e) => panic!("GET {url}: {e}"),
    }
}

/// Polls `cond` until it holds, panicking with `what` after `limit`.
pub fn wait_until(limit: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    let mut pause = Duration::from_millis(5);
    while !cond() {
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(100));
    }
}

/// Reads every JSON line of an NDJSON file.
pub fn read_ndjson(path: &Path) -> Vec<serde_json::Value> {
    let mut text = String::new();
    if let Ok(mut f) = std::fs::File::open(path) {
        f.read_to_string(&mut text).expect("NDJSON is UTF-8");
    }
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
        .collect()
}

/// The events of `events` that came from the traffic sent, without the engine's own findings
/// (Detection Findings carrying `tocsin.anomaly` or `tocsin.incident`), which the targets
/// receive beside them. Findings a vendor reported (mapped to class 2004 too) are traffic.
pub fn traffic(events: Vec<serde_json::Value>) -> Vec<serde_json::Value> {
    events
        .into_iter()
        .filter(|e| e["tocsin"]["anomaly"].is_null() && e["tocsin"]["incident"].is_null())
        .collect()
}

/// Extracts `key=N` from a message.
pub fn field_u64(message: &str, key: &str) -> Option<u64> {
    let start = message.find(&format!("{key}="))? + key.len() + 1;
    let digits: String = message[start..]
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits.parse().ok()
}

/// The `tocsin` binary built by `cargo build --bin tocsin` (what `make test` runs first).
pub fn tocsin_bin() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_owned();
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let bin = target.join("debug").join("tocsin");
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build --bin tocsin` (make test does)",
        bin.display()
    );
    bin
}

/// Syslog lines (RFC 3164, 15 March) that make one brute-force anomaly on `host`: a quiet
/// minute of accepted logins at 12:`m`, 20 failed logins from one address in the first ten
/// seconds of minute `m + 1`, then later events of that minute that close the burst's window.
pub fn brute_force(host: &str, m: u32) -> Vec<String> {
    let at =
        |min: u32, sec: u32, msg: String| format!("<38>Mar 15 12:{min:02}:{sec:02} {host} {msg}");
    let mut lines = Vec::new();
    for s in (0..60).step_by(5) {
        lines.push(at(
            m,
            s,
            format!("sshd[1{s}]: Accepted publickey for deploy from 10.0.0.5 port 5{s:03} ssh2"),
        ));
    }
    for i in 0..20 {
        lines.push(at(
            m + 1,
            i / 3,
            format!("sshd[2{i}]: Failed password for root from 203.0.113.66 port 4{i:03} ssh2"),
        ));
    }
    for s in (20..60).step_by(10) {
        lines.push(at(
            m + 1,
            s,
            "sshd[300]: Accepted publickey for deploy from 10.0.0.5 port 6000 ssh2".into(),
        ));
    }
    lines
}

/// Syslog lines (RFC 3164, 15 March) of a quiet minute on `host` at 12:`m`: accepted logins
/// every five seconds. Sent after a burst, they move event time on so its window closes.
pub fn quiet(host: &str, m: u32) -> Vec<String> {
    (0..60)
        .step_by(5)
        .map(|s| {
            format!("<38>Mar 15 12:{m:02}:{s:02} {host} sshd[4{s}]: Accepted publickey for deploy from 10.0.0.5 port 7{s:03} ssh2")
        })
        .collect()
}

/// Sends `lines` over one TCP connection (one flow: they are handled in order).
pub fn send_lines(addr: SocketAddr, lines: &[String]) {
    use std::io::Write;
    let mut stream = std::net::TcpStream::connect(addr).expect("engine accepts TCP");
    for l in lines {
        writeln!(stream, "{l}").expect("line written");
    }
    stream.flush().expect("lines flushed");
}
