//! Plays a scenario: what each device says in each tick of the run, with the faults injected,
//! and the ground truth of those faults.
//!
//! The run is cut into ticks of [`TICK`] wall time; tick `k` covers the event-time span
//! `start + k * TICK * time_scale`. A [`Generator`] yields each tick's [`Item`]s (who says what
//! at which event time) without rendering text, so tests can check the traffic against the
//! truth; [`render`] turns an item into the vendor's line.

use std::net::Ipv4Addr;
use std::time::Duration;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::scenario::{Estate, FaultSpec, Scenario};
use crate::templates::{self, Metric, Special, Vendor};

/// Wall time of one tick.
pub const TICK: Duration = Duration::from_millis(100);

const MINUTE_MS: f64 = 60_000.0;

/// Event time a failing device that reports metrics but has no link-down line to write spends
/// dying (CPU, memory and latency pegged) before it goes silent: its own signal, ahead of its
/// dependents'.
const DYING_MS: i64 = 60_000;
/// Attempted user names in a password-guessing run.
const GUESSED_USERS: [&str; 8] = [
    "root", "admin", "oracle", "ubuntu", "test", "postgres", "git", "support",
];
const PATHS: [&str; 4] = ["/api/v1/cart", "/checkout", "/api/v1/pay", "/login"];

/// What one line says.
#[derive(Debug, Clone, PartialEq)]
pub enum What {
    /// An ordinary line of the device's vendor.
    Normal,
    /// A host metric sample.
    Metric(Metric, f64),
    Auth {
        src: Ipv4Addr,
        user: &'static str,
    },
    Http {
        status: u16,
        path: &'static str,
        duration_ms: u32,
    },
    LinkDown {
        interface: &'static str,
    },
    K8sWarning {
        reason: &'static str,
        object: String,
        message: &'static str,
    },
    Rollout {
        deployment: String,
        image: String,
    },
}

/// One line to send: a device says something at an event time.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub ts_ms: i64,
    pub device: usize,
    pub what: What,
}

/// The ground truth of one injected fault.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FaultTruth {
    /// `f1`, `f2`, ... in scenario order.
    pub id: String,
    pub kind: String,
    /// The root cause: a device id, or a service name for a bad deploy.
    pub root: String,
    pub start_ms: i64,
    pub end_ms: i64,
    /// Entities that show the fault, with when they start to.
    pub impacted: Vec<Impact>,
    /// False for a healthy noisy node: an anomaly there is a false one.
    pub expect_anomaly: bool,
    /// The attacker's address, for a brute force.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_ip: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Impact {
    pub entity: String,
    pub onset_ms: i64,
    /// What shows it: `link_down`, `silence`, `http_5xx`, `latency`, `auth_failures`, ...
    pub signal: String,
}

/// Everything the harness knows about a run's faults; written as `truth.json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Truth {
    pub scenario: String,
    pub seed: u64,
    pub start_ms: i64,
    pub end_ms: i64,
    pub time_scale: f64,
    pub faults: Vec<FaultTruth>,
}

/// Whether `v` can write the fault line `s` (the generator is the single authority).
pub fn accepts(v: Vendor, s: &Special<'_>) -> bool {
    let dev = templates::Device {
        hostname: "probe-01".into(),
        ip: Ipv4Addr::new(10, 0, 0, 1),
    };
    let mut rng = SmallRng::seed_from_u64(0);
    templates::render_special(v, s, &dev, 0, &mut rng, &mut String::new())
}

pub fn accepts_auth_failure(v: Vendor) -> bool {
    accepts(
        v,
        &Special::AuthFailure {
            src_ip: Ipv4Addr::new(192, 0, 2, 1),
            user: "root",
        },
    )
}

pub fn accepts_http_status(v: Vendor) -> bool {
    accepts(
        v,
        &Special::HttpStatus {
            status: 500,
            path: "/",
            duration_ms: 1,
        },
    )
}

fn accepts_link_down(v: Vendor) -> bool {
    accepts(v, &Special::LinkDown { interface: "Gi0/0" })
}

/// A fault resolved against the estate, in event-time ms.
#[derive(Debug, Clone)]
enum Active {
    Down {
        root: usize,
        start: i64,
        end: i64,
        /// (device, onset)
        impacted: Vec<(usize, i64)>,
    },
    Attack {
        target: usize,
        start: i64,
        end: i64,
        src: Ipv4Addr,
        per_ms: f64,
    },
    Deploy {
        service: String,
        start: i64,
        end: i64,
        onset: i64,
        web: Vec<usize>,
        ratio: f64,
    },
    Creep {
        target: usize,
        start: i64,
        end: i64,
        to_ms: f64,
    },
    Noisy {
        target: usize,
        noise: f64,
    },
}

impl Active {
    /// Whether a device failure degrades `device` at `ts` (it depends on the failed device
    /// and its onset has come).
    fn degrades(&self, device: usize, ts: i64) -> bool {
        match self {
            Active::Down { impacted, end, .. } => impacted
                .iter()
                .any(|&(d, onset)| d == device && (onset..*end).contains(&ts)),
            _ => false,
        }
    }
}

/// Per metric device: baselines of cpu %, mem % and latency ms.
#[derive(Debug, Clone, Copy)]
struct Baseline {
    cpu: f64,
    mem: f64,
    latency: f64,
}

/// Yields a scenario's traffic tick by tick. Same scenario and seed, same items.
#[derive(Debug)]
pub struct Generator<'a> {
    sc: &'a Scenario,
    estate: &'a Estate,
    rng: SmallRng,
    /// (cumulative weight, devices of the vendor)
    vendors: Vec<(f64, Vec<usize>)>,
    total_weight: f64,
    faults: Vec<Active>,
    families: Vec<Metric>,
    baselines: Vec<Option<Baseline>>,
    k8s_events: Option<usize>,
    k8s_audit: Option<usize>,
    start_ms: i64,
    span_ms: f64,
    next: u64,
    ticks: u64,
    carry: f64,
    attack_carry: Vec<f64>,
}

impl<'a> Generator<'a> {
    pub fn new(sc: &'a Scenario, estate: &'a Estate) -> Generator<'a> {
        let mut rng = SmallRng::seed_from_u64(sc.seed);
        let mut vendors = Vec::new();
        let mut total_weight = 0.0;
        for (name, &w) in &sc.mix {
            let Some(v) = Vendor::ALL.into_iter().find(|v| v.name() == name) else {
                continue;
            };
            let devices = estate.of_vendor(v);
            if w > 0.0 && !devices.is_empty() {
                total_weight += w;
                vendors.push((total_weight, devices));
            }
        }
        let families = sc
            .metrics
            .families
            .iter()
            .filter_map(|f| match f.as_str() {
                "cpu" => Some(Metric::CpuPct),
                "mem" => Some(Metric::MemPct),
                "latency" => Some(Metric::LatencyMs),
                _ => None,
            })
            .collect();
        let baselines = estate
            .devices
            .iter()
            .map(|d| {
                d.metrics.then(|| Baseline {
                    cpu: rng.gen_range(15.0..45.0),
                    mem: rng.gen_range(35.0..70.0),
                    latency: rng.gen_range(8.0..35.0),
                })
            })
            .collect();
        let start_ms = sc.start_ms();
        let faults = sc
            .faults
            .iter()
            .map(|f| resolve(f, estate, start_ms))
            .collect::<Vec<_>>();
        let ticks = (sc.run.duration_secs / TICK.as_secs_f64()).round().max(1.0) as u64;
        Generator {
            sc,
            estate,
            rng,
            vendors,
            total_weight,
            attack_carry: vec![0.0; faults.len()],
            faults,
            families,
            baselines,
            k8s_events: first_of(estate, "kubernetes_events"),
            k8s_audit: first_of(estate, "kubernetes_audit"),
            start_ms,
            span_ms: TICK.as_secs_f64() * sc.run.time_scale * 1000.0,
            next: 0,
            ticks,
            carry: 0.0,
        }
    }

    /// Ticks in the run.
    pub fn ticks(&self) -> u64 {
        self.ticks
    }

    /// Event time at which tick `k` starts.
    pub fn tick_start_ms(&self, k: u64) -> i64 {
        self.start_ms + (k as f64 * self.span_ms) as i64
    }

    /// Appends the next tick's items to `out`; false when the run is over.
    pub fn next_tick(&mut self, out: &mut Vec<Item>) -> bool {
        if self.next >= self.ticks {
            return false;
        }
        let k = self.next;
        self.next += 1;
        let (t0, t1) = (self.tick_start_ms(k), self.tick_start_ms(k + 1));
        self.faults_starting(t0, t1, out);
        self.normal_lines(t0, t1, out);
        self.attacks(t0, t1, out);
        self.metrics(t0, t1, out);
        true
    }

    fn is_down(&self, device: usize, ts: i64) -> bool {
        self.faults.iter().any(|f| {
            matches!(f, Active::Down { root, start, end, .. }
                if *root == device && (*start..*end).contains(&ts))
        })
    }

    /// Whether `device` is a failed root in its first [`DYING_MS`] and reports that through
    /// its metrics (it has no link-down line to write).
    fn dying(&self, device: usize, ts: i64) -> bool {
        self.faults.iter().any(|f| {
            matches!(f, Active::Down { root, start, .. }
                if *root == device && (*start..*start + DYING_MS).contains(&ts))
        }) && !accepts_link_down(self.estate.devices[device].vendor)
    }

    /// Lines that mark a fault's start: interfaces going down, a rollout.
    fn faults_starting(&mut self, t0: i64, t1: i64, out: &mut Vec<Item>) {
        let mut pending = Vec::new();
        for f in &self.faults {
            match f {
                Active::Down { root, start, .. }
                    if (t0..t1).contains(start)
                        && accepts_link_down(self.estate.devices[*root].vendor) =>
                {
                    for interface in ["GigabitEthernet0/0", "GigabitEthernet0/1"] {
                        pending.push(Item {
                            ts_ms: *start,
                            device: *root,
                            what: What::LinkDown { interface },
                        });
                    }
                }
                Active::Deploy { service, start, .. } if (t0..t1).contains(start) => {
                    for dev in [self.k8s_events, self.k8s_audit].into_iter().flatten() {
                        pending.push(Item {
                            ts_ms: *start,
                            device: dev,
                            what: What::Rollout {
                                deployment: service.clone(),
                                image: format!("registry.internal/{service}:2026.11.2"),
                            },
                        });
                    }
                }
                _ => {}
            }
        }
        out.extend(pending);
    }

    /// The vendor mix at the rate and daily shape; devices that are down say nothing, web
    /// servers behind a fault answer errors.
    fn normal_lines(&mut self, t0: i64, t1: i64, out: &mut Vec<Item>) {
        let want = self.sc.run.rate * self.sc.shape_at(t0) * TICK.as_secs_f64() + self.carry;
        // The epsilon keeps 3.9999999 (a float's 4) from dropping a line.
        let n = (want + 1e-9).floor() as u64;
        self.carry = (want - n as f64).max(0.0);
        let span = (t1 - t0) as f64;
        for j in 0..n {
            let ts = t0 + (j as f64 * span / n as f64) as i64;
            let x = self.rng.gen_range(0.0..self.total_weight);
            let at = self.vendors.partition_point(|(cum, _)| *cum <= x);
            let devices = &self.vendors[at.min(self.vendors.len() - 1)].1;
            let device = devices[self.rng.gen_range(0..devices.len())];
            if self.is_down(device, ts) {
                continue;
            }
            let what = self.degraded(device, ts).unwrap_or(What::Normal);
            out.push(Item {
                ts_ms: ts,
                device,
                what,
            });
        }
    }

    /// An error line instead of a normal one, where a fault degrades a web server.
    fn degraded(&mut self, device: usize, ts: i64) -> Option<What> {
        if !accepts_http_status(self.estate.devices[device].vendor) {
            return None;
        }
        let mut ratio: f64 = 0.0;
        let mut statuses: &[u16] = &[];
        for f in &self.faults {
            match f {
                Active::Down { .. } if f.degrades(device, ts) => {
                    ratio = ratio.max(0.6);
                    statuses = &[502, 504];
                }
                Active::Deploy {
                    web,
                    onset,
                    end,
                    ratio: r,
                    ..
                } if web.contains(&device) && (*onset..*end).contains(&ts) => {
                    ratio = ratio.max(*r);
                    statuses = &[500, 503];
                }
                _ => {}
            }
        }
        if ratio == 0.0 || !self.rng.gen_bool(ratio) {
            return None;
        }
        Some(What::Http {
            status: statuses[self.rng.gen_range(0..statuses.len())],
            path: PATHS[self.rng.gen_range(0..PATHS.len())],
            duration_ms: self.rng.gen_range(900..30_000),
        })
    }

    /// Password guesses, and the pods of a bad deploy backing off.
    fn attacks(&mut self, t0: i64, t1: i64, out: &mut Vec<Item>) {
        for i in 0..self.faults.len() {
            match self.faults[i].clone() {
                Active::Attack {
                    target,
                    start,
                    end,
                    src,
                    per_ms,
                } => {
                    let (a, b) = (t0.max(start), t1.min(end));
                    if a >= b {
                        continue;
                    }
                    let want = per_ms * (b - a) as f64 + self.attack_carry[i];
                    let n = (want + 1e-9).floor() as u64;
                    self.attack_carry[i] = (want - n as f64).max(0.0);
                    for j in 0..n {
                        out.push(Item {
                            ts_ms: a + ((b - a) as f64 * j as f64 / n as f64) as i64,
                            device: target,
                            what: What::Auth {
                                src,
                                user: GUESSED_USERS[self.rng.gen_range(0..GUESSED_USERS.len())],
                            },
                        });
                    }
                }
                Active::Deploy {
                    service,
                    onset,
                    end,
                    ..
                } => {
                    // One warning every 20 event-seconds while the fault lasts.
                    let Some(dev) = self.k8s_events else { continue };
                    let first = onset + ceil_div((t0 - onset).max(0), 20_000) * 20_000;
                    let mut ts = first;
                    while ts < t1 && ts < end {
                        let (reason, message) = if self.rng.gen_bool(0.5) {
                            ("BackOff", "Back-off restarting failed container")
                        } else {
                            (
                                "Unhealthy",
                                "Readiness probe failed: HTTP probe failed with statuscode: 500",
                            )
                        };
                        let pod = format!(
                            "pod/{service}-7d9f8c6b5-{:05x}",
                            self.rng.gen_range(0..0xfffffu32)
                        );
                        out.push(Item {
                            ts_ms: ts,
                            device: dev,
                            what: What::K8sWarning {
                                reason,
                                object: pod,
                                message,
                            },
                        });
                        ts += 20_000;
                    }
                }
                _ => {}
            }
        }
    }

    /// Samples due in `[t0, t1)`: seasonal baselines with noise, shifted by the faults.
    fn metrics(&mut self, t0: i64, t1: i64, out: &mut Vec<Item>) {
        if self.families.is_empty() {
            return;
        }
        let every = (self.sc.metrics.interval_secs * 1000.0) as i64;
        let every = every.max(1);
        let first = self.start_ms + ceil_div((t0 - self.start_ms).max(0), every) * every;
        let mut ts = first;
        while ts < t1 {
            for device in 0..self.estate.devices.len() {
                let Some(base) = self.baselines[device] else {
                    continue;
                };
                if self.is_down(device, ts) && !self.dying(device, ts) {
                    continue;
                }
                for fi in 0..self.families.len() {
                    let family = self.families[fi];
                    let value = self.sample(device, base, family, ts);
                    out.push(Item {
                        ts_ms: ts,
                        device,
                        what: What::Metric(family, value),
                    });
                }
            }
            ts += every;
        }
    }

    /// One sample's value.
    fn sample(&mut self, device: usize, base: Baseline, family: Metric, ts: i64) -> f64 {
        let day = self.sc.shape_at(ts);
        let mut noise = 1.0;
        let mut latency_x = 1.0;
        let mut latency_to: Option<f64> = None;
        let mut cpu_add = 0.0;
        let mut mem_add = 0.0;
        for f in &self.faults {
            match *f {
                Active::Noisy { target, noise: n } if target == device => noise = n,
                // Only a dying root is sampled while it is down (see `dying`).
                Active::Down {
                    root, start, end, ..
                } if root == device && (start..end).contains(&ts) => {
                    latency_x = 10.0;
                    cpu_add = 70.0;
                    mem_add = 30.0;
                }
                Active::Down { .. } if f.degrades(device, ts) => {
                    latency_x = 6.0;
                    cpu_add = 25.0;
                }
                Active::Creep {
                    target,
                    start,
                    end,
                    to_ms,
                } if target == device && ts >= start => {
                    let p = ((ts - start) as f64 / (end - start).max(1) as f64).min(1.0);
                    latency_to = Some(base.latency + (to_ms - base.latency) * p);
                }
                _ => {}
            }
        }
        let g = gaussian(&mut self.rng) * noise;
        match family {
            Metric::CpuPct => (base.cpu * (0.5 + 0.5 * day) + cpu_add + 2.0 * g).clamp(0.0, 100.0),
            Metric::MemPct => (base.mem + mem_add + 5.0 * (day - 1.0) + g).clamp(0.0, 100.0),
            Metric::LatencyMs => {
                let mean = latency_to.unwrap_or(base.latency * (0.8 + 0.2 * day)) * latency_x;
                (mean + 0.08 * base.latency * g).max(0.5)
            }
        }
    }

    /// The truth of every fault.
    pub fn truth(&self) -> Truth {
        let faults = self
            .faults
            .iter()
            .enumerate()
            .map(|(i, f)| self.fault_truth(i, f))
            .collect();
        Truth {
            scenario: self.sc.name.clone(),
            seed: self.sc.seed,
            start_ms: self.start_ms,
            end_ms: self.tick_start_ms(self.ticks),
            time_scale: self.sc.run.time_scale,
            faults,
        }
    }

    fn fault_truth(&self, i: usize, f: &Active) -> FaultTruth {
        let id = |d: usize| self.estate.devices[d].id.clone();
        let kind = self.sc.faults[i].kind().to_string();
        let impact = |entity: String, onset_ms: i64, signal: &str| Impact {
            entity,
            onset_ms,
            signal: signal.to_string(),
        };
        let (root, start, end, impacted, expect, source_ip) = match f {
            Active::Down {
                root,
                start,
                end,
                impacted,
            } => {
                let root_signal = if accepts_link_down(self.estate.devices[*root].vendor) {
                    "link_down"
                } else if self.baselines[*root].is_some() {
                    "metrics_spike"
                } else {
                    "silence"
                };
                let mut list = vec![impact(id(*root), *start, root_signal)];
                for &(d, onset) in impacted {
                    let signal = if accepts_http_status(self.estate.devices[d].vendor) {
                        "http_5xx"
                    } else if self.baselines[d].is_some() {
                        "latency"
                    } else {
                        "none"
                    };
                    list.push(impact(id(d), onset, signal));
                }
                (id(*root), *start, *end, list, true, None)
            }
            Active::Attack {
                target,
                start,
                end,
                src,
                ..
            } => (
                id(*target),
                *start,
                *end,
                vec![impact(id(*target), *start, "auth_failures")],
                true,
                Some(src.to_string()),
            ),
            Active::Deploy {
                service,
                start,
                end,
                onset,
                web,
                ..
            } => {
                let mut list: Vec<Impact> = [self.k8s_events]
                    .into_iter()
                    .flatten()
                    .map(|d| impact(id(d), *start, "k8s_warnings"))
                    .collect();
                list.extend(web.iter().map(|&d| impact(id(d), *onset, "http_5xx")));
                (service.clone(), *start, *end, list, true, None)
            }
            Active::Creep {
                target, start, end, ..
            } => (
                id(*target),
                *start,
                *end,
                vec![impact(id(*target), *start, "latency")],
                true,
                None,
            ),
            Active::Noisy { target, .. } => (
                id(*target),
                self.start_ms,
                self.tick_start_ms(self.ticks),
                Vec::new(),
                false,
                None,
            ),
        };
        FaultTruth {
            id: format!("f{}", i + 1),
            kind,
            root,
            start_ms: start,
            end_ms: end,
            impacted,
            expect_anomaly: expect,
            source_ip,
        }
    }
}

fn resolve(f: &FaultSpec, estate: &Estate, start_ms: i64) -> Active {
    let at = |min: f64| start_ms + (min * MINUTE_MS) as i64;
    let dev = |id: &str| estate.device(id).expect("validated fault target");
    match f {
        FaultSpec::DeviceFailure {
            at_min,
            duration_min,
            target,
            dependents_delay_min,
        } => {
            let root = dev(target);
            let start = at(*at_min);
            let impacted = estate
                .dependents(root)
                .into_iter()
                .map(|(d, hops)| {
                    (
                        d,
                        start + (dependents_delay_min * f64::from(hops) * MINUTE_MS) as i64,
                    )
                })
                .collect();
            Active::Down {
                root,
                start,
                end: at(at_min + duration_min),
                impacted,
            }
        }
        FaultSpec::BruteForce {
            at_min,
            duration_min,
            target,
            source_ip,
            attempts_per_min,
        } => Active::Attack {
            target: dev(target),
            start: at(*at_min),
            end: at(at_min + duration_min),
            src: *source_ip,
            per_ms: attempts_per_min / MINUTE_MS,
        },
        FaultSpec::BadDeploy {
            at_min,
            duration_min,
            service,
            error_ratio,
        } => {
            let svc = estate
                .services
                .iter()
                .find(|s| &s.name == service)
                .expect("validated service");
            Active::Deploy {
                service: service.clone(),
                start: at(*at_min),
                // Errors start a minute after the rollout, when the new pods take traffic.
                onset: at(at_min + 1.0),
                end: at(at_min + duration_min),
                web: svc
                    .hosts
                    .iter()
                    .copied()
                    .filter(|&h| accepts_http_status(estate.devices[h].vendor))
                    .collect(),
                ratio: *error_ratio,
            }
        }
        FaultSpec::LatencyCreep {
            at_min,
            duration_min,
            target,
            to_ms,
        } => Active::Creep {
            target: dev(target),
            start: at(*at_min),
            end: at(at_min + duration_min),
            to_ms: *to_ms,
        },
        FaultSpec::NoisyNode { target, noise } => Active::Noisy {
            target: dev(target),
            noise: *noise,
        },
    }
}

/// The first device of a vendor, by engine name.
fn first_of(estate: &Estate, vendor: &str) -> Option<usize> {
    let v = crate::scenario::exact_vendor(vendor).ok()?;
    estate.of_vendor(v).first().copied()
}

/// `a / b` rounded up, for `a >= 0` and `b > 0`.
fn ceil_div(a: i64, b: i64) -> i64 {
    (a + b - 1) / b
}

/// A standard normal sample (Box-Muller).
fn gaussian(rng: &mut SmallRng) -> f64 {
    let u1: f64 = rng.gen_range(f64::MIN_POSITIVE..1.0);
    let u2: f64 = rng.gen();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// The generator's view of the estate's devices, built once.
pub fn template_devices(estate: &Estate) -> Vec<templates::Device> {
    estate
        .devices
        .iter()
        .map(|d| templates::Device {
            hostname: d.id.clone(),
            ip: d.ip,
        })
        .collect()
}

/// Writes `item`'s line (no framing) to `out`; with `relay`, a line without a syslog header of
/// its own gets a collector's (for the syslog transports).
pub fn render(
    item: &Item,
    estate: &Estate,
    devices: &[templates::Device],
    rng: &mut SmallRng,
    relay: bool,
    out: &mut String,
) {
    let start = out.len();
    render_bare(item, estate, devices, rng, out);
    if relay {
        let tag = match item.what {
            What::Metric(..) => "telegraf",
            _ => estate.devices[item.device].vendor.relay_tag(),
        };
        templates::relay_bare(tag, &devices[item.device].hostname, item.ts_ms, out, start);
    }
}

/// The line as the device (or its cloud service) writes it.
fn render_bare(
    item: &Item,
    estate: &Estate,
    devices: &[templates::Device],
    rng: &mut SmallRng,
    out: &mut String,
) {
    let dev = &devices[item.device];
    let vendor = estate.devices[item.device].vendor;
    let special = match &item.what {
        What::Normal => return templates::render_normal(vendor, dev, item.ts_ms, rng, out),
        What::Metric(m, v) => return templates::render_metric(*m, dev, item.ts_ms, *v, out),
        What::Auth { src, user } => Special::AuthFailure { src_ip: *src, user },
        What::Http {
            status,
            path,
            duration_ms,
        } => Special::HttpStatus {
            status: *status,
            path,
            duration_ms: *duration_ms,
        },
        What::LinkDown { interface } => Special::LinkDown { interface },
        What::K8sWarning {
            reason,
            object,
            message,
        } => Special::K8sWarning {
            reason,
            namespace: "prod",
            object,
            message,
        },
        What::Rollout { deployment, image } => Special::Rollout {
            namespace: "prod",
            deployment,
            image,
        },
    };
    if !templates::render_special(vendor, &special, dev, item.ts_ms, rng, out) {
        // The generator only plans specials a vendor accepts; fall back to an ordinary line
        // rather than send nothing.
        templates::render_normal(vendor, dev, item.ts_ms, rng, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{HashMap, HashSet};
    use std::path::Path;

    fn msp_small() -> (Scenario, Estate) {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let (sc, _) = Scenario::load("msp-small", &repo).unwrap();
        let estate = sc.expand();
        (sc, estate)
    }

    fn all_items(sc: &Scenario, estate: &Estate) -> (Vec<Item>, Truth) {
        let mut g = Generator::new(sc, estate);
        let mut items = Vec::new();
        while g.next_tick(&mut items) {}
        (items, g.truth())
    }

    fn truth_of<'t>(truth: &'t Truth, kind: &str) -> &'t FaultTruth {
        truth.faults.iter().find(|f| f.kind == kind).unwrap()
    }

    #[test]
    fn same_seed_same_traffic_and_truth() {
        let (sc, estate) = msp_small();
        let mut a = Generator::new(&sc, &estate);
        let mut b = Generator::new(&sc, &estate);
        let (mut x, mut y) = (Vec::new(), Vec::new());
        for _ in 0..50 {
            a.next_tick(&mut x);
            b.next_tick(&mut y);
        }
        assert_eq!(x, y);
        assert_eq!(a.truth(), b.truth());
    }

    #[test]
    fn rate_follows_the_daily_shape() {
        let (sc, estate) = msp_small();
        let (items, truth) = all_items(&sc, &estate);
        // Ordinary traffic (an error answer replaces an ordinary line, so it counts too).
        let ordinary = |from: i64, to: i64| {
            items
                .iter()
                .filter(|i| (from..to).contains(&i.ts_ms))
                .filter(|i| matches!(i.what, What::Normal | What::Http { .. }))
                .count() as f64
        };
        let min = |m: i64| truth.start_ms + m * 60_000;
        // 07:30-07:42 (before any fault) has shape 0.75; an event minute is a wall second at
        // 4,000 lines/s.
        let early = ordinary(min(0), min(12));
        assert!((early - 0.75 * 4000.0 * 12.0).abs() <= 1.0, "{early}");
        // 08:00-08:30 has shape 0.95 and no device down.
        let later = ordinary(min(30), min(60));
        assert!((later - 0.95 * 4000.0 * 30.0).abs() <= 1.0, "{later}");
        // While acme's router is down its share of the traffic is missing.
        let down = ordinary(min(12), min(24));
        assert!(down < 0.75 * 4000.0 * 12.0 * 0.99, "{down}");
        assert!(items
            .iter()
            .all(|i| i.ts_ms >= truth.start_ms && i.ts_ms < truth.end_ms));
    }

    #[test]
    fn device_failure_truth_matches_the_traffic() {
        let (sc, estate) = msp_small();
        let (items, truth) = all_items(&sc, &estate);
        let f = truth_of(&truth, "device_failure");
        let root = estate.device(&f.root).unwrap();
        assert_eq!(f.root, "acme-router-01");
        assert_eq!(f.start_ms, truth.start_ms + 12 * 60_000);
        assert_eq!(f.end_ms, truth.start_ms + 24 * 60_000);
        // The root announces its interfaces going down at the start, then says nothing.
        let from_root: Vec<&Item> = items
            .iter()
            .filter(|i| i.device == root && (f.start_ms..f.end_ms).contains(&i.ts_ms))
            .collect();
        assert_eq!(from_root.len(), 2, "{from_root:?}");
        assert!(from_root
            .iter()
            .all(|i| matches!(i.what, What::LinkDown { .. }) && i.ts_ms == f.start_ms));
        assert!(items
            .iter()
            .any(|i| i.device == root && i.ts_ms >= f.end_ms && i.what == What::Normal));
        // Dependents: the firewall one hop away a minute later, the servers two hops away.
        let onset: HashMap<&str, i64> = f
            .impacted
            .iter()
            .map(|i| (i.entity.as_str(), i.onset_ms))
            .collect();
        assert_eq!(onset["acme-fw-01"], f.start_ms + 60_000);
        assert_eq!(onset["acme-web-01"], f.start_ms + 120_000);
        assert_eq!(onset["acme-db-01"], f.start_ms + 120_000);
        assert!(!onset.contains_key("globex-fw-01"));
        // Web servers answer 5xx only inside [onset, end).
        let web = estate.device("acme-web-01").unwrap();
        for i in items.iter().filter(|i| i.device == web) {
            if let What::Http { status, .. } = i.what {
                assert!((502..=504).contains(&status));
                assert!((onset["acme-web-01"]..f.end_ms).contains(&i.ts_ms), "{i:?}");
            }
        }
        let errors = items
            .iter()
            .filter(|i| i.device == web && matches!(i.what, What::Http { .. }))
            .count();
        assert!(errors > 100, "{errors}");
        // Their latency is several times its level before the fault.
        let lat = |from: i64, to: i64| {
            let v: Vec<f64> = items
                .iter()
                .filter(|i| i.device == web && (from..to).contains(&i.ts_ms))
                .filter_map(|i| match i.what {
                    What::Metric(Metric::LatencyMs, v) => Some(v),
                    _ => None,
                })
                .collect();
            v.iter().sum::<f64>() / v.len() as f64
        };
        let before = lat(f.start_ms - 5 * 60_000, f.start_ms);
        let during = lat(onset["acme-web-01"], f.end_ms);
        assert!(during > 4.0 * before, "{before} -> {during}");
    }

    #[test]
    fn the_faults_scenario_roots_speak_before_their_dependents() {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let (sc, _) = Scenario::load("faults", &repo).unwrap();
        let estate = sc.expand();
        let (items, truth) = all_items(&sc, &estate);
        let expected: Vec<&FaultTruth> = truth.faults.iter().filter(|f| f.expect_anomaly).collect();
        assert!(expected.len() >= 8, "{} faults", expected.len());
        assert!(truth.faults.iter().any(|f| f.kind == "noisy_node"));
        let failures: Vec<&FaultTruth> = expected
            .iter()
            .copied()
            .filter(|f| f.kind == "device_failure")
            .collect();
        let kinds: HashSet<&str> = failures
            .iter()
            .map(|f| estate.devices[estate.device(&f.root).unwrap()].kind)
            .collect();
        for k in ["switch", "router", "firewall", "database"] {
            assert!(kinds.contains(k), "no {k} fails: {kinds:?}");
        }
        // Faults either overlap at different sites or lie more than 15 quiet minutes apart.
        let site = |f: &FaultTruth| estate.devices[estate.device(&f.root).unwrap()].site.clone();
        let mut overlapping = 0;
        for (i, a) in expected.iter().enumerate() {
            for b in &expected[i + 1..] {
                if a.start_ms < b.end_ms && b.start_ms < a.end_ms {
                    assert_ne!(
                        site(a),
                        site(b),
                        "{} and {} overlap at one site",
                        a.id,
                        b.id
                    );
                    overlapping += 1;
                } else {
                    let gap = b.start_ms.max(a.start_ms) - a.end_ms.min(b.end_ms);
                    assert!(gap > 15 * 60_000, "{} and {}: {gap} ms apart", a.id, b.id);
                }
            }
        }
        assert!(overlapping >= 1);
        for f in failures {
            let root = estate.device(&f.root).unwrap();
            // The root speaks at the start (link down, or a minute of pegged metrics), then
            // says nothing until it is back.
            let own: Vec<&Item> = items
                .iter()
                .filter(|i| i.device == root && (f.start_ms..f.end_ms).contains(&i.ts_ms))
                .collect();
            assert!(!own.is_empty(), "{}: the root says nothing", f.id);
            for i in &own {
                assert!(i.ts_ms < f.start_ms + DYING_MS, "{}: {i:?}", f.id);
                match i.what {
                    What::LinkDown { .. } => assert_eq!(f.impacted[0].signal, "link_down"),
                    What::Metric(Metric::CpuPct, v) => {
                        assert!(v > 80.0, "{}: cpu {v}", f.id);
                        assert_eq!(f.impacted[0].signal, "metrics_spike");
                    }
                    What::Metric(..) => {}
                    _ => panic!("{}: unexpected {i:?}", f.id),
                }
            }
            // Dependents follow at least a minute later, and only then degrade.
            for imp in f.impacted.iter().filter(|i| i.entity != f.root) {
                assert!(imp.onset_ms >= f.start_ms + 60_000, "{}: {imp:?}", f.id);
                let dev = estate.device(&imp.entity).unwrap();
                assert!(
                    !items.iter().any(|i| i.device == dev
                        && (f.start_ms..imp.onset_ms).contains(&i.ts_ms)
                        && matches!(
                            i.what,
                            What::Http {
                                status: 502 | 504,
                                ..
                            }
                        )),
                    "{}: {} fails before its onset",
                    f.id,
                    imp.entity
                );
            }
        }
    }

    #[test]
    fn brute_force_lines_come_from_the_attacker_inside_the_window() {
        let (sc, estate) = msp_small();
        let (items, truth) = all_items(&sc, &estate);
        let f = truth_of(&truth, "brute_force");
        assert_eq!(f.source_ip.as_deref(), Some("185.220.101.7"));
        let auth: Vec<&Item> = items
            .iter()
            .filter(|i| matches!(i.what, What::Auth { .. }))
            .collect();
        assert_eq!(auth.len(), 400, "40 attempts a minute for 10 minutes");
        for i in auth {
            assert_eq!(estate.devices[i.device].id, f.root);
            assert!((f.start_ms..f.end_ms).contains(&i.ts_ms));
            assert!(matches!(i.what, What::Auth { src, .. } if src.to_string() == "185.220.101.7"));
        }
    }

    #[test]
    fn bad_deploy_rolls_out_then_errors_on_the_service_hosts() {
        let (sc, estate) = msp_small();
        let (items, truth) = all_items(&sc, &estate);
        let f = truth_of(&truth, "bad_deploy");
        assert_eq!(f.root, "payments");
        let rollouts: Vec<&Item> = items
            .iter()
            .filter(|i| matches!(i.what, What::Rollout { .. }))
            .collect();
        assert_eq!(
            rollouts.len(),
            2,
            "one on the events feed, one in the audit log"
        );
        assert!(rollouts.iter().all(|i| i.ts_ms == f.start_ms));
        let hosts: Vec<&str> = f
            .impacted
            .iter()
            .filter(|i| i.signal == "http_5xx")
            .map(|i| i.entity.as_str())
            .collect();
        assert_eq!(hosts, ["globex-web-01", "globex-web-02"]);
        for h in hosts {
            let d = estate.device(h).unwrap();
            let (mut ok, mut err) = (0.0, 0.0);
            for i in items
                .iter()
                .filter(|i| i.device == d && (f.start_ms + 60_000..f.end_ms).contains(&i.ts_ms))
            {
                match i.what {
                    What::Http { status, .. } => {
                        assert!(status == 500 || status == 503);
                        err += 1.0;
                    }
                    What::Normal => ok += 1.0,
                    _ => {}
                }
            }
            let ratio = err / (ok + err);
            assert!((0.2..0.4).contains(&ratio), "{h}: {ratio}");
            assert!(!items.iter().any(|i| i.device == d
                && i.ts_ms < f.start_ms
                && matches!(i.what, What::Http { .. })));
        }
        let warnings = items
            .iter()
            .filter(|i| matches!(i.what, What::K8sWarning { .. }))
            .count();
        assert_eq!(warnings, 11 * 3, "every 20 s from minute 1 to minute 12");
    }

    #[test]
    fn latency_creeps_and_the_noisy_node_is_noisy_but_level() {
        let (sc, estate) = msp_small();
        let (items, truth) = all_items(&sc, &estate);
        let series = |id: &str, m: Metric| -> Vec<(i64, f64)> {
            let d = estate.device(id).unwrap();
            items
                .iter()
                .filter(|i| i.device == d)
                .filter_map(|i| match i.what {
                    What::Metric(mm, v) if mm == m => Some((i.ts_ms, v)),
                    _ => None,
                })
                .collect()
        };
        let creep = truth_of(&truth, "latency_creep");
        let lat = series("initech-app-01", Metric::LatencyMs);
        let mean = |from: i64, to: i64| {
            let v: Vec<f64> = lat
                .iter()
                .filter(|(t, _)| (from..to).contains(t))
                .map(|(_, v)| *v)
                .collect();
            v.iter().sum::<f64>() / v.len() as f64
        };
        let before = mean(creep.start_ms - 10 * 60_000, creep.start_ms);
        let late = mean(creep.end_ms - 2 * 60_000, creep.end_ms);
        assert!(before < 60.0 && late > 400.0, "{before} -> {late}");
        let noisy = truth_of(&truth, "noisy_node");
        assert!(!noisy.expect_anomaly && noisy.impacted.is_empty());
        let sd = |v: &[(i64, f64)]| {
            let m = v.iter().map(|x| x.1).sum::<f64>() / v.len() as f64;
            (v.iter().map(|x| (x.1 - m).powi(2)).sum::<f64>() / v.len() as f64).sqrt()
        };
        let noisy_sd = sd(&series("initech-app-02", Metric::MemPct));
        let calm_sd = sd(&series("initech-app-03", Metric::MemPct));
        assert!(noisy_sd > 3.0 * calm_sd, "{noisy_sd} vs {calm_sd}");
    }

    #[test]
    fn truth_round_trips_as_json() {
        let (sc, estate) = msp_small();
        let truth = Generator::new(&sc, &estate).truth();
        assert_eq!(truth.faults.len(), 5);
        let json = serde_json::to_string(&truth).unwrap();
        let back: Truth = serde_json::from_str(&json).unwrap();
        assert_eq!(back, truth);
        assert_eq!(truth.end_ms - truth.start_ms, 90 * 60_000);
    }
}
