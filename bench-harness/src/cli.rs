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

    /// Total events per second over all connections, or `max`.
    #[arg(long, default_value = "max", value_parser = parse_rate)]
    pub rate: Rate,

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

    /// Peer mode: count newline-terminated lines appended to this file instead of asking the
    /// engine API (e.g. rsyslog's omfile output). Latency is then n/a.
    #[arg(long)]
    pub count_file: Option<PathBuf>,

    /// Write the report as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,

    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Transport {
    Tcp,
    Udp,
    Http,
}

impl Transport {
    pub fn name(self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
            Transport::Udp => "udp",
            Transport::Http => "http",
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
        if self.transport != Transport::Http {
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
}
