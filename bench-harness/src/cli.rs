//! Command-line interface of `tocsin-bench`: what to send, how fast, over which transport, and
//! where to read the delivery figures from.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Parser, ValueEnum};

use crate::templates::{Mix, Vendor};

/// The default `--mix`: every vendor the engine ships, weighted as an MSP's log volume looks
/// (firewalls about half, then Linux auth, web servers, cloud, Kubernetes).
pub const DEFAULT_MIX: &str = "cisco_asa=14,panw_panos=10,fortinet_fortigate=10,checkpoint=5,juniper_srx=5,sophos_xg=4,pfsense=4,cisco_ios=6,linux_auth=12,nginx_access=6,apache_access=3,aws_vpcflow=5,aws_cloudtrail=3,azure_activity=2,gcp_audit=2,kubernetes_audit=3,kubernetes_events=3,generic_json=3";

/// Realistic multi-vendor syslog load over real sockets, with end-to-end measurement.
#[derive(Debug, Parser)]
#[command(name = "tocsin-bench", version, about)]
pub struct Cli {
    /// Transport used to send the lines.
    #[arg(long, value_enum, default_value_t = Transport::Tcp)]
    pub transport: Transport,

    /// Syslog listener for tcp/udp (loopback only is sensible).
    #[arg(long, default_value = "127.0.0.1:5514")]
    pub target: String,

    /// Engine API base URL (metrics, latency, HTTP ingest).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub api: String,

    /// Source name for HTTP ingest: `POST {api}/api/v1/ingest/{source}`.
    #[arg(long, default_value = "http")]
    pub source: String,

    /// TCP framing (RFC 6587): newline-terminated or octet-counted.
    #[arg(long, value_enum, default_value_t = Framing::Newline)]
    pub framing: Framing,

    /// Concurrent senders (TCP/UDP sockets or HTTP clients), one thread each.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub connections: u32,

    /// Total lines to send (default 1,000,000 when --duration is not given).
    #[arg(long)]
    pub count: Option<u64>,

    /// Send for this many seconds (with --count: whichever ends first).
    #[arg(long)]
    pub duration: Option<f64>,

    /// Total events per second over all connections, or `max`. Default: `max`, or the
    /// scenario's own rate and daily shape with --scenario (where only `max` may be given).
    #[arg(long, value_parser = parse_rate)]
    pub rate: Option<Rate>,

    /// Lines per HTTP request body.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..))]
    pub http_batch: u32,

    /// Gzip HTTP request bodies (Content-Encoding: gzip).
    #[arg(long)]
    pub http_gzip: bool,

    /// Distinct pre-rendered lines in the pool that senders cycle through.
    #[arg(long, default_value_t = 50_000, value_parser = clap::value_parser!(u32).range(1..))]
    pub pool_size: u32,

    /// Number of distinct reporting devices per vendor.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=60000))]
    pub devices: u32,

    /// Vendor weights by engine name or alias, e.g. `cisco_asa=30,panos=20,linux_auth=10`.
    #[arg(long, default_value = DEFAULT_MIX, value_parser = parse_mix)]
    pub mix: Mix,

    /// RNG seed for the pool (same seed, same lines).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,

    /// Seconds to wait for the engine to deliver what was sent.
    #[arg(long, default_value_t = 30.0)]
    pub drain_timeout: f64,

    /// POST {api}/api/v1/pipeline/latency/reset before sending.
    #[arg(long)]
    pub reset_latency: bool,

    /// Count delivery at this engine target only, for an engine that routes every event to
    /// several targets (with --spawn the harness's own listener target is used).
    #[arg(long)]
    pub count_target: Option<String>,

    /// Peer mode: count newline-terminated lines appended to this file instead of asking the
    /// engine API (e.g. rsyslog's omfile output). Latency is then n/a.
    #[arg(long)]
    pub count_file: Option<PathBuf>,

    /// Write the report as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,

    /// Write the report as Markdown to this file.
    #[arg(long)]
    pub markdown: Option<PathBuf>,

    /// Compare this run with an earlier JSON report and print the differences.
    #[arg(long, value_name = "OLD.json")]
    pub compare: Option<PathBuf>,

    /// Play a scenario: a shipped name (`msp-small`, from bench-harness/scenarios) or a path to
    /// a scenario TOML file. Writes the fault truth and the estate's topology to the run folder.
    #[arg(long)]
    pub scenario: Option<String>,

    /// Start the engine for this run (on free loopback ports, with its own config and data
    /// folder under the run folder), measure its CPU and memory, stop it at the end.
    #[arg(long)]
    pub spawn: bool,

    /// The engine binary for --spawn (default: `tocsin` next to this binary).
    #[arg(long)]
    pub engine_bin: Option<PathBuf>,

    /// With --spawn: start the engine on this config (its shards, mailboxes, targets, ...); the
    /// harness replaces its sources and API address and adds its own target to the route.
    #[arg(long)]
    pub engine_config: Option<PathBuf>,

    /// With --spawn: the engine's data folder (default: `data` in the run folder).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,

    /// Folder for this run's files (config, engine data and log, truth, reports). Default:
    /// target/tocsin-bench/<scenario or "run">-<unix time>.
    #[arg(long)]
    pub run_dir: Option<PathBuf>,

    /// Capture file for `--transport file` (default: capture.log in the run folder).
    #[arg(long)]
    pub capture: Option<PathBuf>,

    /// Also play the same workload against a peer started by the harness (TCP only), for a
    /// figure taken in the same run.
    #[arg(long, value_enum)]
    pub peer: Option<Peer>,

    /// Saturation: raise the rate step by step until loss, pushback or latency crosses a
    /// limit, and report the highest sustained rate (uses the --mix pool).
    #[arg(long)]
    pub saturate: bool,

    /// First offered rate of a saturation search, events/s.
    #[arg(long, default_value_t = 20_000.0)]
    pub saturate_from: f64,

    /// Each step offers this many times the last one's rate.
    #[arg(long, default_value_t = 1.25)]
    pub saturate_factor: f64,

    /// Most steps in a saturation search.
    #[arg(long, default_value_t = 12, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub saturate_steps: u32,

    /// Seconds each saturation step sends for.
    #[arg(long, default_value_t = 6.0)]
    pub step_secs: f64,

    /// Saturation limit: largest share of sent lines that may go undelivered.
    #[arg(long, default_value_t = 0.001)]
    pub max_loss: f64,

    /// Saturation limit: largest engine p99 latency in ms.
    #[arg(long, default_value_t = 250.0)]
    pub max_p99_ms: f64,

    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Peer {
    /// rsyslogd from Debian's package: imtcp in, omfile out.
    Rsyslog,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Transport {
    Tcp,
    Udp,
    Http,
    /// Append to a capture file (the engine's `file` source reads it).
    File,
}

impl Transport {
    pub fn name(self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
            Transport::Udp => "udp",
            Transport::Http => "http",
            Transport::File => "file",
        }
    }

    /// Reliable transports push back instead of dropping: nothing may be lost.
    pub fn is_reliable(self) -> bool {
        !matches!(self, Transport::Udp)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Framing {
    Newline,
    Octet,
}

/// Target send rate over all connections.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rate {
    Max,
    PerSec(f64),
}

impl Rate {
    pub fn per_sec(self) -> Option<f64> {
        match self {
            Rate::Max => None,
            Rate::PerSec(r) => Some(r),
        }
    }
}

fn parse_rate(s: &str) -> Result<Rate, String> {
    if s.eq_ignore_ascii_case("max") {
        return Ok(Rate::Max);
    }
    match s.replace('_', "").parse::<f64>() {
        Ok(r) if r > 0.0 && r.is_finite() => Ok(Rate::PerSec(r)),
        _ => Err(format!(
            "expected a positive number of events/s or `max`, got {s:?}"
        )),
    }
}

fn parse_mix(s: &str) -> Result<Mix, String> {
    let mut weights = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, w) = part.split_once('=').unwrap_or((part, "1"));
        let vendor = Vendor::from_name(name.trim()).ok_or_else(|| {
            format!(
                "unknown vendor {name:?}; known: {}",
                Vendor::ALL.map(Vendor::name).join(", ")
            )
        })?;
        let w: u32 = w
            .trim()
            .parse()
            .map_err(|_| format!("bad weight in {part:?}"))?;
        weights.push((vendor, w));
    }
    Mix::new(weights)
}

impl Cli {
    /// Checks combinations clap cannot express; no I/O.
    pub fn validate(&self) -> Result<()> {
        if let Some(d) = self.duration {
            if !(d > 0.0 && d.is_finite()) {
                bail!("--duration must be a positive number of seconds");
            }
        }
        if self.count == Some(0) {
            bail!("--count must be at least 1");
        }
        if !(self.drain_timeout >= 0.0 && self.drain_timeout.is_finite()) {
            bail!("--drain-timeout must be a non-negative number of seconds");
        }
        if self.transport == Transport::Http && self.count_file.is_some() {
            bail!("--count-file is for tcp/udp peers; http goes to the engine API");
        }
        if self.scenario.is_some() && matches!(self.rate, Some(Rate::PerSec(_))) {
            bail!("--rate with --scenario: the scenario sets its own rate; only `max` (as fast as possible) may be given");
        }
        if self.scenario.is_some() && self.count.is_some() {
            bail!("--count with --scenario: the scenario's duration and rate set how many lines are sent");
        }
        if self.transport == Transport::File && self.count_file.is_some() {
            bail!("--count-file is for tcp/udp peers");
        }
        if self.capture.is_some() && self.transport != Transport::File {
            bail!("--capture is for --transport file");
        }
        if self.peer.is_some() && self.transport != Transport::Tcp {
            bail!("--peer runs over syslog TCP: use --transport tcp");
        }
        if self.saturate {
            if self.scenario.is_some() {
                bail!("--saturate uses the --mix pool, not a scenario");
            }
            if self.count.is_some() || self.duration.is_some() || self.rate.is_some() {
                bail!("--saturate sets its own rates and durations (--saturate-from, --saturate-factor, --step-secs)");
            }
            if self.transport == Transport::File {
                bail!("--saturate needs a network transport (tcp, udp or http)");
            }
            for (name, v) in [
                ("--saturate-from", self.saturate_from),
                ("--step-secs", self.step_secs),
                ("--max-p99-ms", self.max_p99_ms),
            ] {
                if !(v > 0.0 && v.is_finite()) {
                    bail!("{name} must be positive");
                }
            }
            if !(self.saturate_factor > 1.0 && self.saturate_factor.is_finite()) {
                bail!("--saturate-factor must be greater than 1");
            }
            if !(0.0..1.0).contains(&self.max_loss) {
                bail!("--max-loss must be in [0, 1)");
            }
        }
        if !self.spawn && (self.engine_config.is_some() || self.data_dir.is_some()) {
            bail!("--engine-config and --data-dir are for --spawn");
        }
        if self.spawn && self.count_file.is_some() {
            bail!("--spawn starts tocsin; --count-file is for measuring a peer");
        }
        if matches!(self.transport, Transport::Tcp | Transport::Udp) && !self.spawn {
            self.target
                .parse::<std::net::SocketAddr>()
                .with_context(|| format!("--target {:?} is not an IP:PORT", self.target))?;
        }
        Ok(())
    }

    /// Total lines to send, if bounded by count.
    pub fn total_count(&self) -> Option<u64> {
        match (self.count, self.duration) {
            (Some(c), _) => Some(c),
            (None, Some(_)) => None,
            (None, None) => Some(1_000_000),
        }
    }

    pub fn send_duration(&self) -> Option<Duration> {
        self.duration.map(Duration::from_secs_f64)
    }

    pub fn api_base(&self) -> &str {
        self.api.trim_end_matches('/')
    }

    /// The rate to send at: the flag, else `max` (in scenario mode the schedule applies unless
    /// `max` was asked for).
    pub fn rate(&self) -> Rate {
        self.rate.unwrap_or(Rate::Max)
    }

    /// Whether a scenario is sent on its own schedule.
    pub fn scheduled(&self) -> bool {
        self.scenario.is_some() && self.rate.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_parses_max_and_numbers() {
        assert_eq!(parse_rate("max"), Ok(Rate::Max));
        assert_eq!(parse_rate("50_000"), Ok(Rate::PerSec(50_000.0)));
        assert!(parse_rate("0").is_err());
        assert!(parse_rate("fast").is_err());
    }

    #[test]
    fn mix_rejects_unknown_vendor_and_zero_total() {
        assert!(parse_mix("asa=1,sshd=2").is_ok());
        assert!(parse_mix("cisco_asa=1,linux_auth=2,juniper_srx=1").is_ok());
        assert!(parse_mix("acme=1").is_err());
        assert!(parse_mix("rfc5424=1").is_err());
        assert!(parse_mix("asa=0").is_err());
    }

    #[test]
    fn default_mix_covers_every_vendor_firewalls_and_auth_heaviest() {
        let mix = parse_mix(DEFAULT_MIX).unwrap();
        let mut rng = <rand::rngs::SmallRng as rand::SeedableRng>::seed_from_u64(1);
        let mut seen = std::collections::HashMap::new();
        for _ in 0..20_000 {
            *seen.entry(mix.pick(&mut rng)).or_insert(0u32) += 1;
        }
        assert_eq!(seen.len(), Vendor::ALL.len(), "{seen:?}");
        let fw: u32 = [
            Vendor::Asa,
            Vendor::PanOs,
            Vendor::FortiGate,
            Vendor::Checkpoint,
            Vendor::JuniperSrx,
            Vendor::SophosXg,
            Vendor::Pfsense,
        ]
        .iter()
        .map(|v| seen[v])
        .sum();
        assert!(fw > 8_000, "firewalls {fw} of 20000");
        assert!(seen[&Vendor::Sshd] > seen[&Vendor::NginxAccess], "{seen:?}");
    }

    #[test]
    fn default_count_applies_only_without_duration() {
        let cli = Cli::parse_from(["tocsin-bench"]);
        assert_eq!(cli.total_count(), Some(1_000_000));
        let cli = Cli::parse_from(["tocsin-bench", "--duration", "5"]);
        assert_eq!(cli.total_count(), None);
        cli.validate().unwrap();
    }

    #[test]
    fn scenario_mode_refuses_a_fixed_rate_or_count() {
        let ok = Cli::parse_from(["tocsin-bench", "--scenario", "msp-small", "--spawn"]);
        ok.validate().unwrap();
        assert!(ok.scheduled());
        let max = Cli::parse_from(["tocsin-bench", "--scenario", "msp-small", "--rate", "max"]);
        max.validate().unwrap();
        assert!(!max.scheduled());
        for args in [
            &["tocsin-bench", "--scenario", "x", "--rate", "5000"][..],
            &["tocsin-bench", "--scenario", "x", "--count", "10"][..],
            &["tocsin-bench", "--capture", "/tmp/c.log"][..],
        ] {
            assert!(Cli::parse_from(args).validate().is_err(), "{args:?}");
        }
    }
}
