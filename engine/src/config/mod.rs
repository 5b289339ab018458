//! The typed, validated engine configuration.
//!
//! The configuration is one TOML file (shipped as `config/tocsin.toml`). It is parsed once into
//! the types below, which are the single place where defaults live, then checked by
//! [`Config::validate`]. [`Config::parse`] reports *every* problem at once, each with the file,
//! line, column and field path (`sources[1].listen`), instead of stopping at the first one:
//!
//! 1. the document is parsed as a TOML table (a syntax error is the one error reported);
//! 2. each top-level section and each `[[sources]]` / `[[targets]]` entry is deserialized on its
//!    own, so one bad entry does not hide the errors of the others;
//! 3. the semantic checks of [`Config::validate`] run on what parsed;
//! 4. every error is given a line by locating its field in the source text.
//!
//! The field doc comments below are the user-facing reference for each setting.

mod alerts;
mod correlation;
mod error;
mod load;
mod locate;
mod validate;

#[cfg(test)]
mod tests;

pub use self::alerts::{AlertSource, AlertsConfig, InhibitRuleConfig};
pub use self::correlation::{CorrelationConfig, LearnConfig};
pub use self::error::{ConfigError, ConfigErrors};
pub use crate::normalise::framing::Framing;

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

const MIB: usize = 1024 * 1024;

/// The whole engine configuration: one TOML document.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `[engine]`: the pipeline's data folder, batching, sharding and mailbox sizes.
    #[serde(default)]
    pub engine: EngineConfig,
    /// `[api]`: the HTTP API and HTTP ingest listener.
    #[serde(default)]
    pub api: ApiConfig,
    /// `[[sources]]`: where events come from. None by default.
    #[serde(default)]
    pub sources: Vec<SourceConfig>,
    /// `[[targets]]`: where events go. None by default (the shipped file declares `file`).
    #[serde(default)]
    pub targets: Vec<TargetConfig>,
    /// `[router]`: which targets receive events.
    #[serde(default)]
    pub router: RouterConfig,
    /// `[watchdog]`: heartbeat supervision of the actors.
    #[serde(default)]
    pub watchdog: WatchdogConfig,
    /// `[dead_letter]`: where events that no target accepted are kept.
    #[serde(default)]
    pub dead_letter: DeadLetterConfig,
    /// `[score]`: anomaly scoring (scorer shards, detectors, ensemble, trainer).
    #[serde(default)]
    pub score: ScoreConfig,
    /// `[alerts]`: alerts from anomalies, notification grouping, inhibition, runbooks.
    #[serde(default)]
    pub alerts: AlertsConfig,
    /// `[correlation]`: topology, incidents and root cause.
    #[serde(default)]
    pub correlation: CorrelationConfig,
}

/// `[engine]`: pipeline-wide settings.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct EngineConfig {
    /// Folder for everything the engine writes (file targets, dead letters, state).
    /// Relative paths elsewhere in this file are resolved under it. Default `"./data"`.
    pub data_dir: PathBuf,
    /// Most events moved between stages in one batch. Default 1024, range 1..=65536.
    pub batch_size: usize,
    /// Number of normaliser shards; 0 means one per CPU core. Default 0, at most 1024.
    pub normaliser_shards: usize,
    /// Number of router shards; 0 means one per CPU core. Default 0, at most 1024.
    pub router_shards: usize,
    /// Longest accepted syslog line or frame in bytes; longer ones are truncated.
    /// Default 65536, range 64..=16777216 (16 MiB).
    pub max_line_bytes: usize,
    /// `[engine.mailbox]`: capacity of each stage's bounded mailbox, in batches.
    pub mailbox: MailboxConfig,
    /// Seconds to drain in-flight batches on shutdown before giving up. Default 30.
    pub shutdown_timeout_secs: u64,
    /// Folder of vendor mappings (`<name>.toml`, see docs/vendors.md). A relative path is taken
    /// from the folder of the configuration file that sets it (so `/etc/tocsin/tocsin.toml`
    /// finds `/etc/tocsin/vendors`). Mappings changed through the API are saved here.
    /// Default `"vendors"`.
    pub vendors_dir: PathBuf,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            data_dir: PathBuf::from("./data"),
            batch_size: 1024,
            normaliser_shards: 0,
            router_shards: 0,
            max_line_bytes: 65536,
            mailbox: MailboxConfig::default(),
            shutdown_timeout_secs: 30,
            vendors_dir: PathBuf::from("vendors"),
        }
    }
}

/// `[engine.mailbox]`: bounded mailbox capacities, in batches (not events).
/// A full mailbox pushes back on the stage before it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct MailboxConfig {
    /// Capacity of each normaliser shard's mailbox. Default 64, range 1..=65536.
    pub normaliser: usize,
    /// Capacity of each router shard's mailbox. Default 64, range 1..=65536.
    pub router: usize,
    /// Capacity of each target's mailbox. Default 64, range 1..=65536.
    pub target: usize,
    /// Capacity of each scorer shard's mailbox. Default 64, range 1..=65536.
    pub scorer: usize,
}

impl Default for MailboxConfig {
    fn default() -> Self {
        MailboxConfig {
            normaliser: 64,
            router: 64,
            target: 64,
            scorer: 64,
        }
    }
}

/// `[api]`: the HTTP API, which also serves HTTP ingest at `/api/v1/ingest/{source name}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiConfig {
    /// Socket address to listen on, `IP:PORT`. Default `"0.0.0.0:8080"`.
    pub listen: String,
    /// Number of HTTP worker threads. Default 2, at least 1.
    pub workers: usize,
    /// Largest accepted HTTP ingest request body in bytes. Default 67108864 (64 MiB), at least 1.
    pub ingest_max_body_bytes: usize,
    /// Milliseconds an HTTP ingest request waits for pipeline capacity before it is answered
    /// `503 Service Unavailable`. Default 2000.
    pub ingest_wait_ms: u64,
    /// Seconds sent in the `Retry-After` header of a `503` answer. Default 1.
    pub retry_after_secs: u64,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            listen: "0.0.0.0:8080".to_owned(),
            workers: 2,
            ingest_max_body_bytes: 64 * MIB,
            ingest_wait_ms: 2000,
            retry_after_secs: 1,
        }
    }
}

/// One `[[sources]]` entry, chosen by its `type` key.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SourceConfig {
    /// `type = "syslog_udp"`: syslog datagrams, one message per datagram.
    SyslogUdp(SyslogUdpSource),
    /// `type = "syslog_tcp"`: a syslog stream per connection (newline or octet-counted frames).
    SyslogTcp(SyslogTcpSource),
    /// `type = "http"`: `POST /api/v1/ingest/{name}` on the API port.
    Http(HttpSource),
    /// `type = "file"`: lines of a local file, read once or followed.
    File(FileSource),
}

/// Default vendor hint for every source: detect from the message.
fn default_vendor() -> String {
    "auto".to_owned()
}

/// `type = "syslog_udp"`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SyslogUdpSource {
    /// Unique source name; appears on every event it produces. Required.
    pub name: String,
    /// UDP socket address to bind, `IP:PORT`, e.g. `"0.0.0.0:5514"`. Required.
    pub listen: String,
    /// Vendor parser hint, or `"auto"` to detect it from each message. Default `"auto"`.
    #[serde(default = "default_vendor")]
    pub vendor: String,
    /// Kernel receive buffer (`SO_RCVBUF`) in bytes; unset keeps the OS default.
    #[serde(default)]
    pub recv_buffer_bytes: Option<usize>,
}

/// `type = "syslog_tcp"`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SyslogTcpSource {
    /// Unique source name; appears on every event it produces. Required.
    pub name: String,
    /// TCP socket address to bind, `IP:PORT`, e.g. `"0.0.0.0:5514"`. Required.
    pub listen: String,
    /// Vendor parser hint, or `"auto"` to detect it from each message. Default `"auto"`.
    #[serde(default = "default_vendor")]
    pub vendor: String,
    /// Stream framing: `"auto"` (detect per connection), `"newline"` or `"octet_counting"`
    /// (RFC 6587). Default `"auto"`.
    #[serde(default)]
    pub framing: Framing,
    /// Most simultaneous connections; more are refused. Default 1024, at least 1.
    #[serde(default = "SyslogTcpSource::default_max_connections")]
    pub max_connections: usize,
}

impl SyslogTcpSource {
    fn default_max_connections() -> usize {
        1024
    }
}

/// `type = "http"`: served at `/api/v1/ingest/{name}` on the API port.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSource {
    /// Unique source name, also the last URL segment; only `A-Z a-z 0-9 _ -`. Required.
    pub name: String,
    /// Vendor parser hint, or `"auto"` to detect it from each message. Default `"auto"`.
    #[serde(default = "default_vendor")]
    pub vendor: String,
}

/// `type = "file"`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FileSource {
    /// Unique source name; appears on every event it produces. Required.
    pub name: String,
    /// File to read, one message per line. Relative paths are relative to the working
    /// directory (not `engine.data_dir`). Required.
    pub path: PathBuf,
    /// `"once"`: read to the end then stop; `"follow"`: keep reading as it grows, like
    /// `tail -F`. Default `"follow"`.
    #[serde(default)]
    pub mode: FileMode,
    /// Where to start reading: `"beginning"` or `"end"`. Default `"beginning"`.
    #[serde(default)]
    pub start_at: StartAt,
    /// Vendor parser hint, or `"auto"` to detect it from each message. Default `"auto"`.
    #[serde(default = "default_vendor")]
    pub vendor: String,
    /// Milliseconds between checks for new data when following. Default 250, at least 1.
    #[serde(default = "FileSource::default_poll_ms")]
    pub poll_ms: u64,
}

impl FileSource {
    fn default_poll_ms() -> u64 {
        250
    }
}

/// How a `file` source reads its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileMode {
    /// Read to the end of the file, then stop.
    Once,
    /// Keep reading as the file grows (and reopen it when it is rotated).
    #[default]
    Follow,
}

/// Where a `file` source starts reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StartAt {
    /// From the first byte.
    #[default]
    Beginning,
    /// From the current end: only lines written after start-up.
    End,
}

impl SourceConfig {
    /// The source's unique name.
    pub fn name(&self) -> &str {
        match self {
            SourceConfig::SyslogUdp(s) => &s.name,
            SourceConfig::SyslogTcp(s) => &s.name,
            SourceConfig::Http(s) => &s.name,
            SourceConfig::File(s) => &s.name,
        }
    }

    /// The `type` key: `"syslog_udp"`, `"syslog_tcp"`, `"http"` or `"file"`.
    pub fn kind(&self) -> &'static str {
        match self {
            SourceConfig::SyslogUdp(_) => "syslog_udp",
            SourceConfig::SyslogTcp(_) => "syslog_tcp",
            SourceConfig::Http(_) => "http",
            SourceConfig::File(_) => "file",
        }
    }

    /// The vendor parser hint (`"auto"` by default).
    pub fn vendor(&self) -> &str {
        match self {
            SourceConfig::SyslogUdp(s) => &s.vendor,
            SourceConfig::SyslogTcp(s) => &s.vendor,
            SourceConfig::Http(s) => &s.vendor,
            SourceConfig::File(s) => &s.vendor,
        }
    }
}

/// One `[[targets]]` entry, chosen by its `type` key.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TargetConfig {
    /// `type = "file"`: newline-delimited JSON events in a size-rotated file.
    File(FileTarget),
    /// `type = "stdout"`: newline-delimited JSON events on standard output.
    Stdout(StdoutTarget),
    /// `type = "blackhole"`: accepts and drops everything (for benchmarks).
    Blackhole(BlackholeTarget),
    /// `type = "tcp"`: newline-delimited JSON events over a TCP connection to a collector.
    Tcp(TcpTarget),
    /// `type = "webhook"`: events and alert notifications as HTTP requests (JSON, a body
    /// template, or the `opsgenie`, `servicenow` or `jira` preset).
    Webhook(crate::notify::config::WebhookConfig),
    /// `type = "pagerduty"`: alert notifications to PagerDuty's Events API v2.
    Pagerduty(crate::notify::config::PagerDutyConfig),
    /// `type = "slack"`: events and alert notifications to a Slack incoming webhook.
    Slack(crate::notify::config::SlackConfig),
    /// `type = "syslog"`: events and alerts forwarded as RFC 5424 over TCP or UDP.
    Syslog(crate::notify::config::SyslogConfig),
}

/// `type = "file"` target.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FileTarget {
    /// Unique target name, used by `router.default_targets`. Required.
    pub name: String,
    /// Output file; a relative path is under `engine.data_dir`. Default `"events.ndjson"`.
    #[serde(default = "FileTarget::default_path")]
    pub path: PathBuf,
    /// Rotate when the file grows past this many bytes. Default 268435456 (256 MiB), at least 1.
    #[serde(default = "FileTarget::default_max_bytes")]
    pub max_bytes: u64,
    /// Rotated files kept (`events.ndjson.1` ...); older ones are deleted. Default 5.
    #[serde(default = "FileTarget::default_max_files")]
    pub max_files: usize,
}

impl FileTarget {
    fn default_path() -> PathBuf {
        PathBuf::from("events.ndjson")
    }
    fn default_max_bytes() -> u64 {
        256 * MIB as u64
    }
    fn default_max_files() -> usize {
        5
    }
}

/// `type = "stdout"` target.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StdoutTarget {
    /// Unique target name, used by `router.default_targets`. Required.
    pub name: String,
}

/// `type = "blackhole"` target.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BlackholeTarget {
    /// Unique target name, used by `router.default_targets`. Required.
    pub name: String,
}

/// `type = "tcp"` target: the same NDJSON lines as the file target, written to one TCP
/// connection (one write per batch). It connects on the first batch and again after a failure,
/// waiting `reconnect_backoff_ms`, doubled after each failure up to `reconnect_backoff_max_ms`;
/// a batch that cannot be written goes to the dead-letter file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TcpTarget {
    /// Unique target name, used by `router.default_targets`. Required.
    pub name: String,
    /// Where to connect, `HOST:PORT`: an IP address (`"127.0.0.1:6000"`, `"[::1]:6000"`, IPv6 in
    /// brackets) or a host name (`"collector.example.net:6000"`), resolved each time the target
    /// connects. Port 1..=65535. Required.
    pub address: String,
    /// Milliseconds to wait for a connection (per resolved address) before the batch fails.
    /// Default 2000, at least 1.
    #[serde(default = "TcpTarget::default_connect_timeout_ms")]
    pub connect_timeout_ms: u64,
    /// Milliseconds a batch's write may block (the collector not reading) before it fails and
    /// the connection is dropped. Default 5000, at least 1.
    #[serde(default = "TcpTarget::default_write_timeout_ms")]
    pub write_timeout_ms: u64,
    /// Milliseconds to wait after a failure before connecting again; doubled after each further
    /// failure. Batches that arrive while waiting fail at once (dead-lettered) instead of
    /// blocking the pipeline. Default 100, at least 1.
    #[serde(default = "TcpTarget::default_reconnect_backoff_ms")]
    pub reconnect_backoff_ms: u64,
    /// Longest wait between connection attempts. Default 5000, at least `reconnect_backoff_ms`.
    #[serde(default = "TcpTarget::default_reconnect_backoff_max_ms")]
    pub reconnect_backoff_max_ms: u64,
}

impl TcpTarget {
    fn default_connect_timeout_ms() -> u64 {
        2000
    }
    fn default_write_timeout_ms() -> u64 {
        5000
    }
    fn default_reconnect_backoff_ms() -> u64 {
        100
    }
    fn default_reconnect_backoff_max_ms() -> u64 {
        5000
    }

    /// A target named `name` sending to `address`, every other setting at its default.
    pub fn new(name: &str, address: &str) -> TcpTarget {
        TcpTarget {
            name: name.to_owned(),
            address: address.to_owned(),
            connect_timeout_ms: TcpTarget::default_connect_timeout_ms(),
            write_timeout_ms: TcpTarget::default_write_timeout_ms(),
            reconnect_backoff_ms: TcpTarget::default_reconnect_backoff_ms(),
            reconnect_backoff_max_ms: TcpTarget::default_reconnect_backoff_max_ms(),
        }
    }
}

impl TargetConfig {
    /// The target's unique name.
    pub fn name(&self) -> &str {
        match self {
            TargetConfig::File(t) => &t.name,
            TargetConfig::Stdout(t) => &t.name,
            TargetConfig::Blackhole(t) => &t.name,
            TargetConfig::Tcp(t) => &t.name,
            TargetConfig::Webhook(t) => &t.name,
            TargetConfig::Pagerduty(t) => &t.name,
            TargetConfig::Slack(t) => &t.name,
            TargetConfig::Syslog(t) => &t.name,
        }
    }

    /// The `type` key: `"file"`, `"stdout"`, `"blackhole"`, `"tcp"`, `"webhook"`,
    /// `"pagerduty"`, `"slack"` or `"syslog"`.
    pub fn kind(&self) -> &'static str {
        match self {
            TargetConfig::File(_) => "file",
            TargetConfig::Stdout(_) => "stdout",
            TargetConfig::Blackhole(_) => "blackhole",
            TargetConfig::Tcp(_) => "tcp",
            TargetConfig::Webhook(_) => "webhook",
            TargetConfig::Pagerduty(_) => "pagerduty",
            TargetConfig::Slack(_) => "slack",
            TargetConfig::Syslog(_) => "syslog",
        }
    }

    /// True for the targets that take alert notifications (webhook, PagerDuty, Slack, syslog).
    pub fn takes_notifications(&self) -> bool {
        matches!(
            self,
            TargetConfig::Webhook(_)
                | TargetConfig::Pagerduty(_)
                | TargetConfig::Slack(_)
                | TargetConfig::Syslog(_)
        )
    }
}

/// `[router]`: where events go.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RouterConfig {
    /// Names of the `[[targets]]` an event goes to when no routing rule sends it anywhere.
    /// Each must name a declared target. Default `["file"]`.
    pub default_targets: Vec<String>,
    /// Routing rules file (see `docs/rules.md`). A relative path is taken from the folder of
    /// the configuration file. Left out: `rules.toml` beside the configuration file when
    /// there is one, else no rules (every event takes the default targets). Rules changed
    /// through `/api/v1/rules` are written back to it.
    pub rules_file: Option<PathBuf>,
}

impl Default for RouterConfig {
    fn default() -> Self {
        RouterConfig {
            default_targets: vec!["file".to_owned()],
            rules_file: None,
        }
    }
}

/// `[watchdog]`: heartbeat supervision.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct WatchdogConfig {
    /// Milliseconds between heartbeats sent to each actor. Default 1000, at least 1.
    pub interval_ms: u64,
    /// An actor that has not answered a heartbeat for this many milliseconds is reported
    /// stalled. Default 10000; must be greater than `interval_ms`.
    pub stall_after_ms: u64,
}

impl Default for WatchdogConfig {
    fn default() -> Self {
        WatchdogConfig {
            interval_ms: 1000,
            stall_after_ms: 10_000,
        }
    }
}

/// `[dead_letter]`: events no target accepted, as newline-delimited JSON.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeadLetterConfig {
    /// Dead-letter file; a relative path is under `engine.data_dir`.
    /// Default `"deadletter.ndjson"`.
    pub path: PathBuf,
    /// Rotate when the file grows past this many bytes. Default 67108864 (64 MiB), at least 1.
    pub max_bytes: u64,
    /// Rotated files kept; older ones are deleted. Default 2.
    pub max_files: usize,
}

impl Default for DeadLetterConfig {
    fn default() -> Self {
        DeadLetterConfig {
            path: PathBuf::from("deadletter.ndjson"),
            max_bytes: 64 * MIB as u64,
            max_files: 2,
        }
    }
}

/// `[score]`: anomaly scoring. Scorer shards sit between the normalisers and the routers; each
/// owns the entities whose key hashes to it.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScoreConfig {
    /// Score events and emit anomalies. Default true; false passes events straight to the
    /// routers.
    pub enabled: bool,
    /// Number of scorer shards; 0 means one per CPU core. Default 0, at most 1024.
    pub shards: usize,
    /// Window length in event-time milliseconds. Default 10000, range 100..=3600000.
    pub window_ms: u64,
    /// How long after a window's end its late events still count, ms. Default 5000, at most
    /// 3600000.
    pub lateness_ms: u64,
    /// Most entities kept in all (shared evenly by the shards); past it the least recently
    /// seen are evicted and counted. Default 200000, at least 1.
    pub max_entities: usize,
    /// An entity with no event for this many seconds of event time is forgotten. Default
    /// 3600, at least 1.
    pub idle_expiry_secs: u64,
    /// Ensemble score (0..1) from which a window is an anomaly. Default 0.7, range 0.01..=1.
    pub threshold: f64,
    /// After an anomaly, windows during which the same entity's anomalies of the same kind
    /// are not reported again while the problem lasts. Default 6, at most 10000.
    pub refractory_windows: u32,
    /// Windows an entity must have had before its statistics score. Default 12, at most
    /// 10000.
    pub warmup_windows: u64,
    /// Threshold rules file (see the shipped one's comments). A relative path is taken from
    /// the folder of the configuration file. Left out: `detectors.toml` beside the
    /// configuration file when there is one, else the shipped rules built into the binary.
    pub detectors_file: Option<PathBuf>,
    /// Anomalies kept in memory for `GET /api/v1/anomalies` (all go to the router too).
    /// Default 10000, at least 1.
    pub anomalies_kept: usize,
    /// `[score.weights]`: each detector's weight in the ensemble, 0..=1.
    pub weights: ScoreWeights,
    /// `[score.trainer]`: when the models are fitted.
    pub trainer: TrainerConfig,
}

impl Default for ScoreConfig {
    fn default() -> Self {
        ScoreConfig {
            enabled: true,
            shards: 0,
            window_ms: 10_000,
            lateness_ms: 5_000,
            max_entities: 200_000,
            idle_expiry_secs: 3_600,
            threshold: 0.7,
            refractory_windows: 6,
            warmup_windows: 12,
            detectors_file: None,
            anomalies_kept: 10_000,
            weights: ScoreWeights::default(),
            trainer: TrainerConfig::default(),
        }
    }
}

/// `[score.weights]`: the ensemble is a weighted noisy-or, `1 - prod(1 - w * s)`: a detector
/// with weight 1 that is sure makes the score 1 on its own; weight 0 silences it.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScoreWeights {
    /// Streaming statistics (EWMA of counts and metrics). Default 1.
    pub statistics: f64,
    /// Threshold rules of the detectors file. Default 1.
    pub rules: f64,
    /// Isolation forest of the entity's class. Default 0.6.
    pub forest: f64,
    /// LSTM forecast error. Default 0.6.
    pub lstm: f64,
    /// New or rare event codes. Default 0.5.
    pub rare_codes: f64,
}

impl Default for ScoreWeights {
    fn default() -> Self {
        ScoreWeights {
            statistics: 1.0,
            rules: 1.0,
            forest: 0.6,
            lstm: 0.6,
            rare_codes: 0.5,
        }
    }
}

impl ScoreWeights {
    /// The weights in the ensemble's detector order.
    pub fn as_array(&self) -> [f64; 5] {
        [
            self.statistics,
            self.rules,
            self.forest,
            self.lstm,
            self.rare_codes,
        ]
    }
}

/// `[score.trainer]`: the trainer fits forests from the samples the shards keep, on this
/// schedule and on demand (`POST /api/v1/models/retrain`), and saves them under
/// `engine.data_dir/models`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainerConfig {
    /// Seconds between scheduled trainings; 0 trains only on demand. Default 600.
    pub interval_secs: u64,
    /// Window vectors a class needs before its forest is fitted. Default 512, at least 2.
    pub min_samples: usize,
    /// Window vectors kept per class for training (a uniform sample). Default 4096, range
    /// 2..=1000000.
    pub reservoir: usize,
}

impl Default for TrainerConfig {
    fn default() -> Self {
        TrainerConfig {
            interval_secs: 600,
            min_samples: 512,
            reservoir: 4096,
        }
    }
}

impl ScoreConfig {
    /// Scorer shards to run: `shards`, or the number of CPU cores when it is 0.
    pub fn shard_count(&self) -> usize {
        resolve_shards(self.shards)
    }
}

impl EngineConfig {
    /// Normaliser shards to run: `normaliser_shards`, or the number of CPU cores when it is 0.
    pub fn normaliser_shard_count(&self) -> usize {
        resolve_shards(self.normaliser_shards)
    }

    /// Router shards to run: `router_shards`, or the number of CPU cores when it is 0.
    pub fn router_shard_count(&self) -> usize {
        resolve_shards(self.router_shards)
    }
}

fn resolve_shards(configured: usize) -> usize {
    if configured > 0 {
        configured
    } else {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    }
}

impl Config {
    /// Reads `path` (the only I/O here), parses and validates it, and resolves a relative
    /// `vendors_dir` against the file's folder.
    pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
        match std::fs::read_to_string(path) {
            Ok(src) => Config::parse(&src, path).map(|mut c| {
                let base = path.parent().unwrap_or(Path::new(""));
                if c.engine.vendors_dir.is_relative() {
                    c.engine.vendors_dir = base.join(&c.engine.vendors_dir);
                }
                match &c.router.rules_file {
                    Some(f) if f.is_relative() => c.router.rules_file = Some(base.join(f)),
                    Some(_) => {}
                    None => {
                        let beside = base.join("rules.toml");
                        if beside.is_file() {
                            c.router.rules_file = Some(beside);
                        }
                    }
                }
                match &c.correlation.topology_file {
                    Some(f) if f.is_relative() => c.correlation.topology_file = Some(base.join(f)),
                    Some(_) => {}
                    None => {
                        let beside = base.join("topology.toml");
                        if beside.is_file() {
                            c.correlation.topology_file = Some(beside);
                        }
                    }
                }
                match &c.score.detectors_file {
                    Some(f) if f.is_relative() => c.score.detectors_file = Some(base.join(f)),
                    Some(_) => {}
                    None => {
                        let beside = base.join("detectors.toml");
                        if beside.is_file() {
                            c.score.detectors_file = Some(beside);
                        }
                    }
                }
                c
            }),
            Err(e) => Err(ConfigErrors(vec![ConfigError {
                file: path.to_path_buf(),
                line: 0,
                column: 0,
                field: String::new(),
                message: format!("cannot read the configuration file: {e}"),
            }])),
        }
    }

    /// Parses and validates `src`; `file` is only used to label errors. Reports every error
    /// found, each with its line and field path.
    pub fn parse(src: &str, file: &Path) -> Result<Config, ConfigErrors> {
        load::parse(src, file)
    }

    /// Semantic checks (ranges, unique names, addresses, references); no I/O. The errors have
    /// an empty `file` and line 0: [`Config::parse`] fills them in from the source text.
    pub fn validate(&self) -> Vec<ConfigError> {
        validate::validate(self, &[])
    }

    /// `p` if it is absolute, else `engine.data_dir` joined with `p`.
    pub fn data_path(&self, p: &Path) -> PathBuf {
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.engine.data_dir.join(p)
        }
    }

    /// A small JSON summary for the API: sources, targets, shard counts, batch size, mailbox
    /// capacities and the data folder.
    pub fn summary(&self) -> serde_json::Value {
        use serde_json::json;
        let sources: Vec<serde_json::Value> = self
            .sources
            .iter()
            .map(|s| {
                let mut v = json!({ "name": s.name(), "type": s.kind(), "vendor": s.vendor() });
                match s {
                    SourceConfig::SyslogUdp(u) => v["listen"] = json!(u.listen),
                    SourceConfig::SyslogTcp(t) => v["listen"] = json!(t.listen),
                    SourceConfig::Http(h) => {
                        v["path"] = json!(format!("/api/v1/ingest/{}", h.name))
                    }
                    SourceConfig::File(f) => v["path"] = json!(f.path.display().to_string()),
                }
                v
            })
            .collect();
        let targets: Vec<serde_json::Value> = self
            .targets
            .iter()
            .map(|t| {
                let mut v = json!({ "name": t.name(), "type": t.kind() });
                if let TargetConfig::Tcp(tcp) = t {
                    v["address"] = json!(tcp.address);
                }
                v
            })
            .collect();
        json!({
            "data_dir": self.engine.data_dir.display().to_string(),
            "batch_size": self.engine.batch_size,
            "normaliser_shards": self.engine.normaliser_shard_count(),
            "router_shards": self.engine.router_shard_count(),
            "mailbox": {
                "normaliser": self.engine.mailbox.normaliser,
                "router": self.engine.mailbox.router,
                "target": self.engine.mailbox.target,
            },
            "sources": sources,
            "targets": targets,
            "score": {
                "enabled": self.score.enabled,
                "shards": self.score.shard_count(),
                "window_ms": self.score.window_ms,
                "threshold": self.score.threshold,
            },
            "default_targets": self.router.default_targets,
        })
    }
}
