//! Scenario files: an MSP estate (sites, devices, services and their dependencies), the traffic
//! it sends (vendor mix, rate and its daily shape, metric series) and the faults injected into
//! it, read from TOML and checked before anything runs.
//!
//! A scenario is expanded into an [`Estate`]: every device gets a hostname (its entity in the
//! engine), a management IP and its dependency edges; the estate is also written as the
//! engine's `topology.toml`.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use serde::Deserialize;

use crate::templates::Vendor;

/// The folder of shipped scenarios, relative to the repository root.
pub const SCENARIO_DIR: &str = "bench-harness/scenarios";

/// Node kinds the engine's topology accepts.
pub const NODE_KINDS: [&str; 11] = [
    "router",
    "switch",
    "firewall",
    "load_balancer",
    "server",
    "vm",
    "pod",
    "service",
    "database",
    "cdn",
    "cloud_resource",
];

/// Criticalities the engine's topology accepts.
pub const CRITICALITIES: [&str; 4] = ["low", "medium", "high", "critical"];

/// Metric families a device can report (Telegraf's cpu, mem and ping inputs).
pub const METRIC_FAMILIES: [&str; 3] = ["cpu", "mem", "latency"];

/// A scenario as written in its TOML file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Same seed, same traffic, same faults.
    #[serde(default = "default_seed")]
    pub seed: u64,
    pub run: RunSpec,
    /// Share of the log traffic per vendor (engine vendor names); need not sum to 1.
    pub mix: BTreeMap<String, f64>,
    #[serde(default)]
    pub metrics: MetricsSpec,
    pub sites: Vec<SiteSpec>,
    #[serde(default)]
    pub services: Vec<ServiceSpec>,
    #[serde(default)]
    pub faults: Vec<FaultSpec>,
}

fn default_seed() -> u64 {
    42
}

/// How long, how fast, and on which event-time clock.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunSpec {
    /// Wall-clock seconds of sending.
    pub duration_secs: f64,
    /// Log lines per wall second where the daily shape is 1.0 (metric samples come on top).
    pub rate: f64,
    /// Event-time seconds per wall second: 60 plays an hour of the estate's day per minute.
    #[serde(default = "one")]
    pub time_scale: f64,
    /// Event time of the first line, RFC 3339 UTC (`2026-11-02T06:00:00Z`).
    pub start: String,
    /// 24 multipliers of `rate`, one per event-time hour of the day (UTC); flat when left out.
    #[serde(default)]
    pub daily_shape: Option<Vec<f64>>,
}

fn one() -> f64 {
    1.0
}

/// Host metric series.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSpec {
    /// Event-time seconds between two samples of one series.
    #[serde(default = "ten")]
    pub interval_secs: f64,
    /// Which families devices with `metrics = true` report: `cpu`, `mem`, `latency`.
    #[serde(default = "all_families")]
    pub families: Vec<String>,
}

impl Default for MetricsSpec {
    fn default() -> MetricsSpec {
        MetricsSpec {
            interval_secs: ten(),
            families: all_families(),
        }
    }
}

fn ten() -> f64 {
    10.0
}

fn all_families() -> Vec<String> {
    METRIC_FAMILIES.iter().map(|f| f.to_string()).collect()
}

/// One customer site (or cloud account) and its devices.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteSpec {
    pub name: String,
    pub devices: Vec<DeviceGroup>,
}

/// `count` devices of one role and vendor in a site.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceGroup {
    pub role: String,
    pub vendor: String,
    #[serde(default = "one_u32")]
    pub count: u32,
    /// Roles in the same site every device of this group depends on.
    #[serde(default)]
    pub depends_on: Vec<String>,
    /// Whether these devices report host metrics.
    #[serde(default)]
    pub metrics: bool,
    /// The topology node kind (one of [`NODE_KINDS`]); derived from the role and vendor when
    /// left out (see [`node_kind`]).
    #[serde(default)]
    pub kind: Option<String>,
    /// How much the business cares: `low`, `medium`, `high` or `critical`; the engine's
    /// default when left out.
    #[serde(default)]
    pub criticality: Option<String>,
}

/// The topology node kind of a device group without an explicit `kind`: by its role first
/// (`router`, `core-switch`, `dmz-fw`, `db`, `lb`, ...), then by its vendor (firewall vendors,
/// cloud logs, Kubernetes), else `server`.
pub fn node_kind(role: &str, vendor: Vendor) -> &'static str {
    let role = role.to_ascii_lowercase();
    let is = |names: &[&str]| {
        names
            .iter()
            .any(|n| role == *n || role.ends_with(&format!("-{n}")))
    };
    if is(&["switch", "sw", "core"]) {
        return "switch";
    }
    if is(&["router", "rtr", "edge", "gw", "gateway", "wan"]) {
        return "router";
    }
    if is(&["fw", "firewall"]) {
        return "firewall";
    }
    if is(&["lb", "load-balancer", "balancer", "proxy"]) {
        return "load_balancer";
    }
    if is(&["db", "database", "sql"]) {
        return "database";
    }
    if is(&["vm"]) {
        return "vm";
    }
    if is(&["pod"]) {
        return "pod";
    }
    if is(&["cdn"]) {
        return "cdn";
    }
    match vendor {
        Vendor::CiscoIos => "router",
        Vendor::Asa
        | Vendor::PanOs
        | Vendor::FortiGate
        | Vendor::Checkpoint
        | Vendor::JuniperSrx
        | Vendor::SophosXg
        | Vendor::Pfsense => "firewall",
        Vendor::AwsVpcFlow
        | Vendor::AwsCloudTrail
        | Vendor::AzureActivity
        | Vendor::GcpAudit
        | Vendor::KubernetesAudit
        | Vendor::KubernetesEvents => "cloud_resource",
        Vendor::NginxAccess | Vendor::ApacheAccess | Vendor::Sshd | Vendor::GenericJson => "server",
    }
}

fn one_u32() -> u32 {
    1
}

/// A business service: which device groups run it and which services it needs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceSpec {
    pub name: String,
    /// `site/role` device groups that host the service.
    pub runs_on: Vec<String>,
    #[serde(default)]
    pub depends_on: Vec<String>,
}

/// A fault with known truth. Times are event-time minutes after the start.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum FaultSpec {
    /// `target` goes down (interfaces down, its own traffic stops; a device with metrics but
    /// no link-down line to write spends its first minute pegged first); every device that
    /// depends on it degrades `dependents_delay_min` later per hop (errors, latency).
    DeviceFailure {
        at_min: f64,
        duration_min: f64,
        target: String,
        #[serde(default = "one")]
        dependents_delay_min: f64,
    },
    /// Failed logins on `target` from one address.
    BruteForce {
        at_min: f64,
        duration_min: f64,
        target: String,
        source_ip: Ipv4Addr,
        attempts_per_min: f64,
    },
    /// A rollout of `service`, then a share of its web requests fail and its pods back off.
    BadDeploy {
        at_min: f64,
        duration_min: f64,
        service: String,
        error_ratio: f64,
    },
    /// `target`'s latency rises in a straight line to `to_ms` over the duration, then stays.
    LatencyCreep {
        at_min: f64,
        duration_min: f64,
        target: String,
        to_ms: f64,
    },
    /// `target` is healthy but its metrics are `noise` times noisier than its peers' all run
    /// long: anything reported on it is a false anomaly.
    NoisyNode { target: String, noise: f64 },
}

impl FaultSpec {
    pub fn kind(&self) -> &'static str {
        match self {
            FaultSpec::DeviceFailure { .. } => "device_failure",
            FaultSpec::BruteForce { .. } => "brute_force",
            FaultSpec::BadDeploy { .. } => "bad_deploy",
            FaultSpec::LatencyCreep { .. } => "latency_creep",
            FaultSpec::NoisyNode { .. } => "noisy_node",
        }
    }

    /// `(at_min, duration_min)`; a noisy node lasts the whole run.
    pub fn window_min(&self, run_min: f64) -> (f64, f64) {
        match *self {
            FaultSpec::DeviceFailure {
                at_min,
                duration_min,
                ..
            }
            | FaultSpec::BruteForce {
                at_min,
                duration_min,
                ..
            }
            | FaultSpec::BadDeploy {
                at_min,
                duration_min,
                ..
            }
            | FaultSpec::LatencyCreep {
                at_min,
                duration_min,
                ..
            } => (at_min, duration_min),
            FaultSpec::NoisyNode { .. } => (0.0, run_min),
        }
    }
}

/// One device of the expanded estate.
#[derive(Debug, Clone)]
pub struct Device {
    /// Hostname: the entity the engine files its events under.
    pub id: String,
    pub site: String,
    pub role: String,
    pub vendor: Vendor,
    /// The topology node kind, one of [`NODE_KINDS`].
    pub kind: &'static str,
    pub criticality: Option<String>,
    pub ip: Ipv4Addr,
    pub metrics: bool,
    /// Indexes of the devices this one depends on.
    pub depends_on: Vec<usize>,
}

/// One service of the expanded estate.
#[derive(Debug, Clone)]
pub struct Service {
    pub name: String,
    /// Indexes of the devices that host it.
    pub hosts: Vec<usize>,
    /// Indexes of the services it needs.
    pub depends_on: Vec<usize>,
}

/// The estate a scenario describes, with names and edges resolved.
#[derive(Debug, Clone)]
pub struct Estate {
    pub devices: Vec<Device>,
    pub services: Vec<Service>,
    by_id: HashMap<String, usize>,
}

impl Estate {
    pub fn device(&self, id: &str) -> Option<usize> {
        self.by_id.get(id).copied()
    }

    /// Devices of `vendor`, in estate order.
    pub fn of_vendor(&self, vendor: Vendor) -> Vec<usize> {
        (0..self.devices.len())
            .filter(|&i| self.devices[i].vendor == vendor)
            .collect()
    }

    /// Every device that depends on `root`, directly or not, with its distance in hops.
    pub fn dependents(&self, root: usize) -> Vec<(usize, u32)> {
        let mut rdeps: Vec<Vec<usize>> = vec![Vec::new(); self.devices.len()];
        for (i, d) in self.devices.iter().enumerate() {
            for &dep in &d.depends_on {
                rdeps[dep].push(i);
            }
        }
        let mut seen = HashSet::from([root]);
        let mut out = Vec::new();
        let mut queue = VecDeque::from([(root, 0u32)]);
        while let Some((at, hops)) = queue.pop_front() {
            for &next in &rdeps[at] {
                if seen.insert(next) {
                    out.push((next, hops + 1));
                    queue.push_back((next, hops + 1));
                }
            }
        }
        out
    }

    /// The engine's `topology.toml`: one node per device and service, `depends_on` edges
    /// between devices and between services, `hosts` edges from a device to its services.
    pub fn topology_toml(&self) -> String {
        let mut s = String::from(
            "# Written by tocsin-bench from a scenario: the estate's nodes and dependency edges.\n",
        );
        for d in &self.devices {
            let _ = write!(
                s,
                "\n[[nodes]]\nid = {:?}\nkind = {:?}\nsite = {:?}\nvendor = {:?}\nip = \"{}\"\ntags = {{ role = {:?} }}\n",
                d.id,
                d.kind,
                d.site,
                d.vendor.name(),
                d.ip,
                d.role
            );
            if let Some(c) = &d.criticality {
                let _ = writeln!(s, "criticality = {c:?}");
            }
        }
        for svc in &self.services {
            let _ = write!(s, "\n[[nodes]]\nid = {:?}\nkind = \"service\"\n", svc.name);
        }
        // The engine refuses a duplicate edge: a role or group named twice writes one.
        let mut written = HashSet::new();
        let mut edge = |from: &str, to: &str, kind: &'static str| {
            if written.insert((from.to_string(), to.to_string(), kind)) {
                let _ = write!(
                    s,
                    "\n[[edges]]\nfrom = {from:?}\nto = {to:?}\nkind = {kind:?}\n"
                );
            }
        };
        for d in &self.devices {
            for &dep in &d.depends_on {
                edge(&d.id, &self.devices[dep].id, "depends_on");
            }
        }
        for svc in &self.services {
            for &h in &svc.hosts {
                edge(&self.devices[h].id, &svc.name, "hosts");
            }
            for &dep in &svc.depends_on {
                edge(&svc.name, &self.services[dep].name, "depends_on");
            }
        }
        s
    }
}

impl Scenario {
    /// Reads and checks a scenario: `name` is a shipped scenario (`msp-small`) looked up in
    /// [`SCENARIO_DIR`] under `repo`, or a path to a `.toml` file.
    pub fn load(name_or_path: &str, repo: &Path) -> Result<(Scenario, PathBuf)> {
        let path = resolve(name_or_path, repo)?;
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read scenario {}", path.display()))?;
        let sc = Scenario::parse(&text).with_context(|| format!("scenario {}", path.display()))?;
        Ok((sc, path))
    }

    /// Parses and validates scenario TOML.
    pub fn parse(text: &str) -> Result<Scenario> {
        let sc: Scenario = toml::from_str(text).map_err(|e| anyhow!("{e}"))?;
        sc.validate()?;
        Ok(sc)
    }

    /// Event time of the first line, ms since the epoch.
    pub fn start_ms(&self) -> i64 {
        parse_rfc3339_utc(&self.run.start).unwrap_or(0)
    }

    /// Event-time length of the run in minutes.
    pub fn run_minutes(&self) -> f64 {
        self.run.duration_secs * self.run.time_scale / 60.0
    }

    /// Distinct sources: one per vendor in the mix with a device, one per metric family.
    pub fn sources(&self) -> usize {
        let vendors: HashSet<&str> = self
            .sites
            .iter()
            .flat_map(|s| s.devices.iter())
            .map(|g| g.vendor.as_str())
            .collect();
        let has_metrics = self
            .sites
            .iter()
            .any(|s| s.devices.iter().any(|g| g.metrics));
        vendors.len()
            + if has_metrics {
                self.metrics.families.len()
            } else {
                0
            }
    }

    /// Multiplier of the rate for an event time.
    pub fn shape_at(&self, ts_ms: i64) -> f64 {
        match &self.run.daily_shape {
            Some(shape) => {
                let hour = ts_ms.div_euclid(3_600_000).rem_euclid(24) as usize;
                shape[hour]
            }
            None => 1.0,
        }
    }

    /// Every check that can be made without I/O; errors name the field.
    pub fn validate(&self) -> Result<()> {
        let r = &self.run;
        if self.name.trim().is_empty() {
            bail!("name: must not be empty");
        }
        if !(r.duration_secs > 0.0 && r.duration_secs.is_finite()) {
            bail!("run.duration_secs: must be a positive number of seconds");
        }
        if !(r.rate > 0.0 && r.rate.is_finite()) {
            bail!("run.rate: must be a positive number of lines per second");
        }
        if !(r.time_scale > 0.0 && r.time_scale.is_finite()) {
            bail!("run.time_scale: must be positive");
        }
        if parse_rfc3339_utc(&r.start).is_none() {
            bail!(
                "run.start: {:?} is not an RFC 3339 UTC time like 2026-11-02T06:00:00Z",
                r.start
            );
        }
        if let Some(shape) = &r.daily_shape {
            if shape.len() != 24 {
                bail!(
                    "run.daily_shape: needs 24 values (one per hour), got {}",
                    shape.len()
                );
            }
            if shape.iter().any(|v| !(*v >= 0.0 && v.is_finite())) {
                bail!("run.daily_shape: values must be finite and not negative");
            }
        }
        if !(self.metrics.interval_secs > 0.0 && self.metrics.interval_secs.is_finite()) {
            bail!("metrics.interval_secs: must be positive");
        }
        for f in &self.metrics.families {
            if !METRIC_FAMILIES.contains(&f.as_str()) {
                bail!(
                    "metrics.families: unknown family {f:?}; known: {}",
                    METRIC_FAMILIES.join(", ")
                );
            }
        }
        if self.sites.is_empty() {
            bail!("sites: needs at least one site");
        }
        let mut site_names = HashSet::new();
        for (si, site) in self.sites.iter().enumerate() {
            let at = format!("sites[{si}] ({:?})", site.name);
            if !valid_name(&site.name) {
                bail!("{at}.name: use letters, digits and '-' only");
            }
            if !site_names.insert(site.name.as_str()) {
                bail!("{at}.name: two sites are named {:?}", site.name);
            }
            let roles: HashSet<&str> = site.devices.iter().map(|g| g.role.as_str()).collect();
            if roles.len() != site.devices.len() {
                bail!("{at}.devices: each role may appear once per site");
            }
            for (gi, g) in site.devices.iter().enumerate() {
                let at = format!("{at}.devices[{gi}] ({:?})", g.role);
                if !valid_name(&g.role) {
                    bail!("{at}.role: use letters, digits and '-' only");
                }
                exact_vendor(&g.vendor).map_err(|e| anyhow!("{at}.vendor: {e}"))?;
                if let Some(k) = &g.kind {
                    if !NODE_KINDS.contains(&k.as_str()) {
                        bail!(
                            "{at}.kind: unknown node kind {k:?}; known: {}",
                            NODE_KINDS.join(", ")
                        );
                    }
                }
                if let Some(c) = &g.criticality {
                    if !CRITICALITIES.contains(&c.as_str()) {
                        bail!(
                            "{at}.criticality: unknown criticality {c:?}; known: {}",
                            CRITICALITIES.join(", ")
                        );
                    }
                }
                if g.count == 0 || g.count > 999 {
                    bail!("{at}.count: must be 1..=999");
                }
                for dep in &g.depends_on {
                    if dep == &g.role {
                        bail!("{at}.depends_on: a role cannot depend on itself");
                    }
                    if !roles.contains(dep.as_str()) {
                        bail!("{at}.depends_on: no role {dep:?} in site {:?}", site.name);
                    }
                }
            }
        }
        if self.mix.is_empty() || self.mix.values().all(|w| *w <= 0.0) {
            bail!("mix: needs at least one vendor with a positive weight");
        }
        for (vendor, w) in &self.mix {
            let v = exact_vendor(vendor).map_err(|e| anyhow!("mix.{vendor}: {e}"))?;
            if !(*w >= 0.0 && w.is_finite()) {
                bail!("mix.{vendor}: weight must be finite and not negative");
            }
            let has_device = self
                .sites
                .iter()
                .flat_map(|s| s.devices.iter())
                .any(|g| exact_vendor(&g.vendor).ok() == Some(v));
            if *w > 0.0 && !has_device {
                bail!("mix.{vendor}: no device of this vendor in any site");
            }
        }
        let estate = self.expand_unchecked()?;
        let mut svc_names = HashSet::new();
        for (i, svc) in self.services.iter().enumerate() {
            if !svc_names.insert(svc.name.as_str()) {
                bail!("services[{i}].name: two services are named {:?}", svc.name);
            }
            if svc.runs_on.is_empty() {
                bail!(
                    "services[{i}] ({:?}).runs_on: needs at least one site/role",
                    svc.name
                );
            }
        }
        for (i, f) in self.faults.iter().enumerate() {
            self.validate_fault(f, &estate)
                .map_err(|e| anyhow!("faults[{i}] ({}): {e}", f.kind()))?;
        }
        Ok(())
    }

    fn validate_fault(&self, f: &FaultSpec, estate: &Estate) -> Result<()> {
        let run_min = self.run_minutes();
        let (at, dur) = f.window_min(run_min);
        if !(at >= 0.0 && at.is_finite() && dur > 0.0 && dur.is_finite()) {
            bail!("at_min must be >= 0 and duration_min > 0");
        }
        if at >= run_min {
            bail!("starts at minute {at} but the run covers {run_min:.1} event-time minutes");
        }
        let device = |id: &str| {
            estate
                .device(id)
                .ok_or_else(|| anyhow!("target: no device {id:?} (device ids are SITE-ROLE-NN)"))
        };
        match f {
            FaultSpec::DeviceFailure {
                target,
                dependents_delay_min,
                ..
            } => {
                let d = device(target)?;
                if estate.dependents(d).is_empty() {
                    bail!("target: nothing depends on {target:?}, so nothing would degrade");
                }
                if !(*dependents_delay_min >= 0.0 && dependents_delay_min.is_finite()) {
                    bail!("dependents_delay_min: must be >= 0");
                }
            }
            FaultSpec::BruteForce {
                target,
                attempts_per_min,
                ..
            } => {
                let d = device(target)?;
                let v = estate.devices[d].vendor;
                if !crate::plan::accepts_auth_failure(v) {
                    bail!(
                        "target: {target:?} is a {} device, which has no login failures to show",
                        v.name()
                    );
                }
                if !(*attempts_per_min > 0.0 && attempts_per_min.is_finite()) {
                    bail!("attempts_per_min: must be positive");
                }
            }
            FaultSpec::BadDeploy {
                service,
                error_ratio,
                ..
            } => {
                let s = estate
                    .services
                    .iter()
                    .find(|s| &s.name == service)
                    .ok_or_else(|| anyhow!("service: no service {service:?}"))?;
                if !s
                    .hosts
                    .iter()
                    .any(|&h| crate::plan::accepts_http_status(estate.devices[h].vendor))
                {
                    bail!("service: {service:?} runs on no web server (nginx_access, apache_access), so no error would show");
                }
                if !(*error_ratio > 0.0 && *error_ratio <= 1.0) {
                    bail!("error_ratio: must be in (0, 1]");
                }
            }
            FaultSpec::LatencyCreep { target, to_ms, .. } => {
                let d = device(target)?;
                self.needs_metric(estate, d, "latency")?;
                if !(*to_ms > 0.0 && to_ms.is_finite()) {
                    bail!("to_ms: must be positive");
                }
            }
            FaultSpec::NoisyNode { target, noise } => {
                let d = device(target)?;
                if !estate.devices[d].metrics {
                    bail!("target: {target:?} reports no metrics (metrics = false)");
                }
                if !(*noise >= 1.0 && noise.is_finite()) {
                    bail!("noise: must be >= 1");
                }
            }
        }
        Ok(())
    }

    fn needs_metric(&self, estate: &Estate, d: usize, family: &str) -> Result<()> {
        if !estate.devices[d].metrics {
            bail!(
                "target: {:?} reports no metrics (metrics = false)",
                estate.devices[d].id
            );
        }
        if !self.metrics.families.iter().any(|f| f == family) {
            bail!("metrics.families does not include {family:?}");
        }
        Ok(())
    }

    /// The estate with hostnames, IPs and edges resolved.
    pub fn expand(&self) -> Estate {
        self.expand_unchecked()
            .expect("a validated scenario expands")
    }

    fn expand_unchecked(&self) -> Result<Estate> {
        let mut devices = Vec::new();
        let mut by_id = HashMap::new();
        let mut groups: HashMap<(String, String), Vec<usize>> = HashMap::new();
        for (si, site) in self.sites.iter().enumerate() {
            for (gi, g) in site.devices.iter().enumerate() {
                let vendor = exact_vendor(&g.vendor)?;
                let kind = match &g.kind {
                    Some(k) => NODE_KINDS
                        .into_iter()
                        .find(|n| n == k)
                        .ok_or_else(|| anyhow!("unknown node kind {k:?}"))?,
                    None => node_kind(&g.role, vendor),
                };
                for n in 0..g.count {
                    let id = format!("{}-{}-{:02}", site.name, g.role, n + 1);
                    // 10.<site>.<group>.<10 + n>: unique per device for up to 245 devices per group.
                    let ip =
                        Ipv4Addr::new(10, (si % 256) as u8, (gi % 256) as u8, (10 + n % 245) as u8);
                    if by_id.insert(id.clone(), devices.len()).is_some() {
                        bail!("two devices would both be named {id:?}; rename a site or role");
                    }
                    groups
                        .entry((site.name.clone(), g.role.clone()))
                        .or_default()
                        .push(devices.len());
                    devices.push(Device {
                        id,
                        site: site.name.clone(),
                        role: g.role.clone(),
                        vendor,
                        kind,
                        criticality: g.criticality.clone(),
                        ip,
                        metrics: g.metrics,
                        depends_on: Vec::new(),
                    });
                }
            }
        }
        for site in &self.sites {
            for g in &site.devices {
                let deps: Vec<usize> = g
                    .depends_on
                    .iter()
                    .flat_map(|r| {
                        groups
                            .get(&(site.name.clone(), r.clone()))
                            .cloned()
                            .unwrap_or_default()
                    })
                    .collect();
                for &d in &groups[&(site.name.clone(), g.role.clone())] {
                    devices[d].depends_on = deps.clone();
                }
            }
        }
        let svc_index: HashMap<&str, usize> = self
            .services
            .iter()
            .enumerate()
            .map(|(i, s)| (s.name.as_str(), i))
            .collect();
        let mut services = Vec::with_capacity(self.services.len());
        for (i, s) in self.services.iter().enumerate() {
            let mut hosts = Vec::new();
            for at in &s.runs_on {
                let (site, role) = at.split_once('/').ok_or_else(|| {
                    anyhow!(
                        "services[{i}] ({:?}).runs_on: {at:?} is not SITE/ROLE",
                        s.name
                    )
                })?;
                let g = groups
                    .get(&(site.to_string(), role.to_string()))
                    .ok_or_else(|| {
                        anyhow!("services[{i}] ({:?}).runs_on: no devices {at:?}", s.name)
                    })?;
                hosts.extend_from_slice(g);
            }
            let mut depends_on = Vec::new();
            for dep in &s.depends_on {
                let &d = svc_index.get(dep.as_str()).ok_or_else(|| {
                    anyhow!(
                        "services[{i}] ({:?}).depends_on: no service {dep:?}",
                        s.name
                    )
                })?;
                if d == i {
                    bail!(
                        "services[{i}] ({:?}).depends_on: a service cannot depend on itself",
                        s.name
                    );
                }
                depends_on.push(d);
            }
            services.push(Service {
                name: s.name.clone(),
                hosts,
                depends_on,
            });
        }
        if let Some(cycle) = device_cycle(&devices) {
            bail!("sites: the depends_on edges form a cycle through {cycle:?}");
        }
        Ok(Estate {
            devices,
            services,
            by_id,
        })
    }
}

/// A device id on a dependency cycle, if there is one.
fn device_cycle(devices: &[Device]) -> Option<String> {
    // Kahn's algorithm: whatever cannot be ordered sits on (or behind) a cycle.
    let mut indegree = vec![0usize; devices.len()];
    for d in devices {
        for &dep in &d.depends_on {
            indegree[dep] += 1;
        }
    }
    let mut ready: Vec<usize> = (0..devices.len()).filter(|&i| indegree[i] == 0).collect();
    let mut done = 0;
    while let Some(i) = ready.pop() {
        done += 1;
        for &dep in &devices[i].depends_on {
            indegree[dep] -= 1;
            if indegree[dep] == 0 {
                ready.push(dep);
            }
        }
    }
    (done < devices.len()).then(|| {
        let i = (0..devices.len()).find(|&i| indegree[i] > 0).unwrap_or(0);
        devices[i].id.clone()
    })
}

/// A vendor by its exact engine name (`cisco_asa`), for scenario files: aliases are for the
/// command line only.
pub fn exact_vendor(name: &str) -> Result<Vendor> {
    Vendor::ALL
        .into_iter()
        .find(|v| v.name() == name)
        .ok_or_else(|| {
            anyhow!(
                "unknown vendor {name:?}; known: {}",
                Vendor::ALL.map(Vendor::name).join(", ")
            )
        })
}

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 40
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !s.starts_with('-')
}

/// `name` as a shipped scenario or a path.
fn resolve(name_or_path: &str, repo: &Path) -> Result<PathBuf> {
    let as_path = PathBuf::from(name_or_path);
    if name_or_path.ends_with(".toml") || name_or_path.contains('/') {
        return Ok(as_path);
    }
    let shipped = repo.join(SCENARIO_DIR).join(format!("{name_or_path}.toml"));
    if shipped.is_file() {
        return Ok(shipped);
    }
    let known = shipped_names(repo).join(", ");
    bail!(
        "no scenario {name_or_path:?} in {} (shipped: {known}); give a path to a .toml file",
        repo.join(SCENARIO_DIR).display()
    )
}

/// Names of the shipped scenarios.
pub fn shipped_names(repo: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(repo.join(SCENARIO_DIR))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let p = e.path();
            (p.extension()? == "toml").then(|| p.file_stem()?.to_str().map(str::to_string))?
        })
        .collect();
    names.sort();
    names
}

/// `YYYY-MM-DDTHH:MM:SS[.fff]Z` to ms since the epoch.
pub fn parse_rfc3339_utc(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = s.get(r)?;
        t.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| t.parse().ok())?
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let mut rest = &s[19..];
    let mut milli = 0;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let ms: String = frac[..digits]
            .chars()
            .chain("000".chars())
            .take(3)
            .collect();
        milli = ms.parse().ok()?;
        rest = &frac[digits..];
    }
    if !matches!(rest, "Z" | "z" | "+00:00") {
        return None;
    }
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    // Days from civil (H. Hinnant).
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 24 + h) * 60 + mi) * 60_000 + sec * 1000 + milli)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
    }

    const SMALL: &str = r#"
name = "t"
[run]
duration_secs = 10
rate = 100
time_scale = 60
start = "2026-11-02T06:00:00Z"
[mix]
cisco_ios = 1
linux_auth = 2
nginx_access = 2
[[sites]]
name = "acme"
devices = [
  { role = "router", vendor = "cisco_ios" },
  { role = "web", vendor = "nginx_access", count = 2, depends_on = ["router"], metrics = true },
  { role = "db", vendor = "linux_auth", depends_on = ["router"], metrics = true },
]
[[services]]
name = "shop"
runs_on = ["acme/web"]
[[faults]]
kind = "device_failure"
at_min = 2
duration_min = 3
target = "acme-router-01"
"#;

    #[test]
    fn every_shipped_scenario_validates() {
        let names = shipped_names(&repo());
        assert!(names.contains(&"msp-small".to_string()), "{names:?}");
        for name in names {
            let (sc, _) =
                Scenario::load(&name, &repo()).unwrap_or_else(|e| panic!("{name}: {e:#}"));
            assert_eq!(sc.name, name, "a scenario's name is its file name");
            sc.expand();
        }
    }

    #[test]
    fn msp_small_has_twenty_sources_every_fault_kind_and_fits_three_minutes() {
        let (sc, _) = Scenario::load("msp-small", &repo()).unwrap();
        assert!(sc.sources() >= 20, "{} sources", sc.sources());
        let kinds: HashSet<&str> = sc.faults.iter().map(FaultSpec::kind).collect();
        for k in [
            "device_failure",
            "brute_force",
            "bad_deploy",
            "latency_creep",
            "noisy_node",
        ] {
            assert!(kinds.contains(k), "msp-small lacks a {k} fault");
        }
        // Sending plus engine start and drain must fit the 3 minutes the acceptance allows.
        assert!(sc.run.duration_secs <= 120.0, "{}", sc.run.duration_secs);
        let estate = sc.expand();
        for v in Vendor::ALL {
            assert!(!estate.of_vendor(v).is_empty(), "no {} device", v.name());
        }
    }

    #[test]
    fn expansion_names_devices_and_resolves_edges() {
        let sc = Scenario::parse(SMALL).unwrap();
        let e = sc.expand();
        let ids: Vec<&str> = e.devices.iter().map(|d| d.id.as_str()).collect();
        assert_eq!(
            ids,
            ["acme-router-01", "acme-web-01", "acme-web-02", "acme-db-01"]
        );
        let router = e.device("acme-router-01").unwrap();
        assert_eq!(
            e.devices[e.device("acme-web-02").unwrap()].depends_on,
            [router]
        );
        let mut deps = e.dependents(router);
        deps.sort();
        assert_eq!(deps, [(1, 1), (2, 1), (3, 1)]);
        assert_eq!(e.services[0].hosts, [1, 2]);
        assert_eq!(e.devices[2].ip, Ipv4Addr::new(10, 0, 1, 11));
        assert_eq!(sc.sources(), 3 + 3);
    }

    #[test]
    fn topology_lists_nodes_and_edges() {
        let e = Scenario::parse(SMALL).unwrap().expand();
        let topo: toml::Value = toml::from_str(&e.topology_toml()).unwrap();
        let nodes = topo["nodes"].as_array().unwrap();
        assert_eq!(nodes.len(), 5);
        assert_eq!(nodes[0]["id"].as_str(), Some("acme-router-01"));
        assert_eq!(nodes[4]["kind"].as_str(), Some("service"));
        let edges = topo["edges"].as_array().unwrap();
        let has = |from: &str, to: &str, kind: &str| {
            edges.iter().any(|e| {
                e["from"].as_str() == Some(from)
                    && e["to"].as_str() == Some(to)
                    && e["kind"].as_str() == Some(kind)
            })
        };
        assert!(has("acme-web-01", "acme-router-01", "depends_on"));
        assert!(has("acme-db-01", "acme-router-01", "depends_on"));
        assert!(has("acme-web-02", "shop", "hosts"));
        assert_eq!(edges.len(), 3 + 2);
    }

    #[test]
    fn node_kinds_come_from_the_group_or_its_role_and_vendor() {
        let e = Scenario::parse(SMALL).unwrap().expand();
        let kinds: Vec<&str> = e.devices.iter().map(|d| d.kind).collect();
        assert_eq!(kinds, ["router", "server", "server", "database"]);
        let text = SMALL.replace(
            "{ role = \"db\", vendor = \"linux_auth\",",
            "{ role = \"db\", vendor = \"linux_auth\", kind = \"vm\", criticality = \"critical\",",
        );
        let e = Scenario::parse(&text).unwrap().expand();
        let topo: toml::Value = toml::from_str(&e.topology_toml()).unwrap();
        let db = &topo["nodes"][3];
        assert_eq!(db["kind"].as_str(), Some("vm"));
        assert_eq!(db["criticality"].as_str(), Some("critical"));
        assert!(topo["nodes"][0].get("criticality").is_none());
        assert_eq!(topo["nodes"][3]["tags"]["role"].as_str(), Some("db"));
        let v = |name: &str| exact_vendor(name).unwrap();
        for (role, vendor, want) in [
            ("core-switch", "cisco_ios", "switch"),
            ("edge", "juniper_srx", "router"),
            ("dmz-fw", "checkpoint", "firewall"),
            ("branch", "sophos_xg", "firewall"),
            ("vpc", "aws_vpcflow", "cloud_resource"),
            ("k8s-api", "kubernetes_audit", "cloud_resource"),
            ("orders-db", "linux_auth", "database"),
            ("node", "linux_auth", "server"),
            ("web", "nginx_access", "server"),
        ] {
            assert_eq!(node_kind(role, v(vendor)), want, "{role} {vendor}");
        }
    }

    /// What the engine checks when it loads a topology: known kinds and criticalities, no
    /// name (id or address) claimed twice, edges between known nodes, no duplicate edge.
    fn engine_would_refuse(topology: &str) -> Vec<String> {
        let topo: toml::Value = toml::from_str(topology).unwrap();
        let mut problems = Vec::new();
        let mut names = HashSet::new();
        for node in topo["nodes"].as_array().unwrap() {
            let kind = node["kind"].as_str().unwrap_or("");
            if !NODE_KINDS.contains(&kind) {
                problems.push(format!("kind of {node}"));
            }
            if let Some(c) = node.get("criticality") {
                if !CRITICALITIES.contains(&c.as_str().unwrap_or("")) {
                    problems.push(format!("criticality of {node}"));
                }
            }
            for claim in [node.get("id"), node.get("ip")].into_iter().flatten() {
                if !names.insert(claim.as_str().unwrap_or("").to_string()) {
                    problems.push(format!("{claim} claimed twice"));
                }
            }
        }
        let mut edges = HashSet::new();
        for e in topo["edges"].as_array().unwrap() {
            let (from, to) = (e["from"].as_str().unwrap(), e["to"].as_str().unwrap());
            if !names.contains(from) || !names.contains(to) || from == to {
                problems.push(format!("edge {e}"));
            }
            if !edges.insert((from, to, e["kind"].as_str().unwrap())) {
                problems.push(format!("duplicate edge {e}"));
            }
        }
        problems
    }

    #[test]
    fn every_shipped_topology_is_one_the_engine_accepts() {
        for name in shipped_names(&repo()) {
            let (sc, _) = Scenario::load(&name, &repo()).unwrap();
            let problems = engine_would_refuse(&sc.expand().topology_toml());
            assert!(problems.is_empty(), "{name}: {problems:?}");
        }
        // A role named twice in depends_on writes its edge once.
        let twice = SMALL.replace(
            "depends_on = [\"router\"], metrics",
            "depends_on = [\"router\", \"router\"], metrics",
        );
        let topology = Scenario::parse(&twice).unwrap().expand().topology_toml();
        assert_ne!(twice, SMALL, "the edit applied");
        assert_eq!(topology.matches("[[edges]]").count(), 3 + 2);
        let problems = engine_would_refuse(&topology);
        assert!(problems.is_empty(), "{problems:?}");
    }

    fn error_of(text: &str) -> String {
        format!("{:#}", Scenario::parse(text).unwrap_err())
    }

    #[test]
    fn mistakes_are_refused_with_the_field_named() {
        let cases = [
            (
                SMALL.replace("cisco_ios\" }", "cisco_iox\" }"),
                "sites[0] (\"acme\").devices[0] (\"router\").vendor: unknown vendor \"cisco_iox\"",
            ),
            (
                SMALL.replace(
                    "depends_on = [\"router\"], metrics = true },\n  { role = \"db\"",
                    "depends_on = [\"switch\"], metrics = true },\n  { role = \"db\"",
                ),
                "no role \"switch\"",
            ),
            (SMALL.replace("rate = 100", "rate = 0"), "run.rate"),
            (
                SMALL.replace("2026-11-02T06:00:00Z", "yesterday"),
                "run.start",
            ),
            (
                SMALL.replace("time_scale = 60", "time_scale = 60\ndaily_shape = [1.0]"),
                "run.daily_shape: needs 24 values",
            ),
            (
                SMALL.replace("acme-router-01\"", "acme-router-09\""),
                "faults[0] (device_failure): target: no device \"acme-router-09\"",
            ),
            (
                SMALL.replace("at_min = 2", "at_min = 20"),
                "starts at minute 20",
            ),
            (
                SMALL.replace("runs_on = [\"acme/web\"]", "runs_on = [\"acme/app\"]"),
                "no devices \"acme/app\"",
            ),
            (
                SMALL.replace("linux_auth = 2", "linux_auth = 2\naws_vpcflow = 1"),
                "mix.aws_vpcflow: no device",
            ),
            (
                SMALL.replace(
                    "{ role = \"router\", vendor = \"cisco_ios\" }",
                    "{ role = \"router\", vendor = \"cisco_ios\", kind = \"toaster\" }",
                ),
                "sites[0] (\"acme\").devices[0] (\"router\").kind: unknown node kind \"toaster\"",
            ),
            (
                SMALL.replace(
                    "{ role = \"router\", vendor = \"cisco_ios\" }",
                    "{ role = \"router\", vendor = \"cisco_ios\", criticality = \"urgent\" }",
                ),
                "devices[0] (\"router\").criticality: unknown criticality \"urgent\"",
            ),
            (
                SMALL.replace("[run]", "colour = \"red\"\n[run]"),
                "unknown field `colour`",
            ),
            (
                SMALL.replace("kind = \"device_failure\"", "kind = \"meteor\""),
                "meteor",
            ),
            (
                SMALL.replace(
                    "{ role = \"router\", vendor = \"cisco_ios\" }",
                    "{ role = \"router\", vendor = \"cisco_ios\", depends_on = [\"db\"] }",
                ),
                "cycle",
            ),
        ];
        for (text, want) in cases {
            let got = error_of(&text);
            assert!(got.contains(want), "want {want:?} in {got:?}");
        }
    }

    #[test]
    fn fault_kinds_check_their_targets() {
        let bf = SMALL.replace(
            "kind = \"device_failure\"\nat_min = 2\nduration_min = 3\ntarget = \"acme-router-01\"",
            "kind = \"brute_force\"\nat_min = 2\nduration_min = 3\ntarget = \"TARGET\"\nsource_ip = \"203.0.113.9\"\nattempts_per_min = 30",
        );
        Scenario::parse(&bf.replace("TARGET", "acme-db-01")).unwrap();
        assert!(error_of(&bf.replace("TARGET", "acme-web-01")).contains("no login failures"));
        let noisy = SMALL.replace(
            "kind = \"device_failure\"\nat_min = 2\nduration_min = 3\ntarget = \"acme-router-01\"",
            "kind = \"noisy_node\"\ntarget = \"TARGET\"\nnoise = 4",
        );
        Scenario::parse(&noisy.replace("TARGET", "acme-web-01")).unwrap();
        assert!(error_of(&noisy.replace("TARGET", "acme-router-01")).contains("reports no metrics"));
        let leaf = SMALL.replace("target = \"acme-router-01\"", "target = \"acme-db-01\"");
        assert!(error_of(&leaf).contains("nothing depends on"));
    }

    #[test]
    fn rfc3339_parses_utc_only() {
        assert_eq!(parse_rfc3339_utc("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339_utc("2024-05-01T12:00:00.123Z"),
            Some(1_714_564_800_123)
        );
        assert_eq!(
            parse_rfc3339_utc("2000-02-29T00:00:00Z"),
            Some(951_782_400_000)
        );
        assert_eq!(parse_rfc3339_utc("2024-05-01T12:00:00+02:00"), None);
        assert_eq!(parse_rfc3339_utc("2024-13-01T12:00:00Z"), None);
        assert_eq!(parse_rfc3339_utc("2024-05-01"), None);
    }

    #[test]
    fn daily_shape_picks_the_event_hour() {
        let mut sc = Scenario::parse(SMALL).unwrap();
        let mut shape = vec![1.0; 24];
        shape[7] = 2.5;
        sc.run.daily_shape = Some(shape);
        let seven = parse_rfc3339_utc("2026-11-02T07:59:59Z").unwrap();
        assert_eq!(sc.shape_at(seven), 2.5);
        assert_eq!(sc.shape_at(seven + 1000), 1.0);
    }
}
