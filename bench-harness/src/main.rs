//! `tocsin-bench`: plays realistic multi-vendor MSP traffic against a tocsin engine (or a peer
//! such as rsyslog) over real sockets and measures what arrives.
//!
//! A run: optionally start the engine (`--spawn`) and the harness's own listener for the routed
//! output; read a baseline of the engine's counters; render the traffic (a scenario's estate
//! with its faults and their truth, or a pool of mixed vendor lines); send it from one thread
//! per connection, paced by the scenario's schedule, a fixed rate or as fast as possible; poll
//! until everything sent is accounted for; then report (table, JSON, Markdown), compare with an
//! earlier report, and play the same workload against rsyslog (`--peer rsyslog`). `--saturate`
//! instead raises the rate step by step and reports the highest sustained one.

mod cli;
mod correlation;
mod delivery;
mod detection;
mod engine_api;
mod listener;
mod pacer;
mod peer;
mod plan;
mod pool;
mod report;
mod saturate;
mod scenario;
mod spawn;
mod templates;
mod traffic;
mod transport;

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use clap::Parser;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{json, Value};

use cli::{Cli, Framing, Peer, Transport};
use delivery::{DeliveryProbe, Drained, EngineProbe, LineFileProbe};
use engine_api::{EngineApi, Totals};
use listener::Listener;
use pacer::{share, Pacer};
use pool::{Pool, PoolFraming, PoolSpec};
use report::{HarnessSide, Report, Resources, RunFacts, ScenarioInfo, TimePoint};
use saturate::{Limits, Step};
use scenario::{Estate, Scenario};
use spawn::{SpawnSpec, Spawned};
use transport::{FileSink, HttpSink, SenderStats, Shared, TcpSink, UdpSink};

/// Exit status when a reliable transport lost events.
const EXIT_LOSS: u8 = 3;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("tocsin-bench: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// One connection's lines, pacing and first line.
type Lane = (Arc<Pool>, Pacer, usize);

/// Where the lines go.
#[derive(Debug, Clone)]
struct Endpoints {
    transport: Transport,
    target: Option<SocketAddr>,
    api: String,
    capture: Option<PathBuf>,
}

impl Endpoints {
    /// A syslog TCP peer with no API (rsyslog).
    fn syslog_tcp(addr: SocketAddr) -> Endpoints {
        Endpoints {
            transport: Transport::Tcp,
            target: Some(addr),
            api: String::new(),
            capture: None,
        }
    }
}

/// What sending a set of lanes measured.
#[derive(Debug)]
struct Outcome {
    connections: u32,
    sent: u64,
    send_secs: f64,
    drained: Drained,
    /// Seconds from the first send to the last delivery observed.
    delivery_secs: f64,
    timeline: Vec<TimePoint>,
    http_retries: u64,
    send_errors: u64,
}

fn run(cli: &Cli) -> Result<ExitCode> {
    cli.validate()?;
    let repo = repo_root();
    let scenario = match &cli.scenario {
        Some(name) => {
            let (sc, path) = Scenario::load(name, &repo)?;
            if !cli.quiet {
                eprintln!(
                    "scenario: {}: {} ({})",
                    sc.name,
                    sc.description,
                    path.display()
                );
            }
            Some(sc)
        }
        None => None,
    };
    let needs_dir =
        cli.spawn || scenario.is_some() || cli.transport == Transport::File || cli.peer.is_some();
    let run_dir = match (&cli.run_dir, needs_dir) {
        (Some(d), _) => Some(d.clone()),
        (None, true) => Some(default_run_dir(&repo, scenario.as_ref(), cli.saturate)),
        (None, false) => None,
    };
    if let Some(d) = &run_dir {
        std::fs::create_dir_all(d).with_context(|| format!("cannot create {}", d.display()))?;
    }
    let estate = scenario.as_ref().map(Scenario::expand);
    let capture = (cli.transport == Transport::File).then(|| {
        absolute(&cli.capture.clone().unwrap_or_else(|| {
            run_dir
                .as_deref()
                .unwrap_or(Path::new("."))
                .join("capture.log")
        }))
    });

    // The harness's own receiving end, and the engine when the harness starts it.
    // Saturation runs measure the engine as shipped (its own file target); a listener in this
    // process would take a core's share from it on a small box.
    let listener = if cli.spawn && !cli.saturate {
        Some(Listener::start()?)
    } else {
        None
    };
    let spawned = if cli.spawn {
        if let Some(c) = &capture {
            // The engine follows the capture from its beginning: start it empty.
            std::fs::write(c, b"").with_context(|| format!("cannot create {}", c.display()))?;
        }
        let spec = SpawnSpec {
            bin: cli
                .engine_bin
                .clone()
                .unwrap_or_else(spawn::default_engine_bin),
            dir: run_dir.clone().unwrap_or_else(|| PathBuf::from(".")),
            vendors: repo.join("config/vendors"),
            follow_file: capture.clone(),
            forward_to: listener.as_ref().map(|l| l.addr),
            topology: estate.as_ref().map(Estate::topology_toml),
            base_config: cli.engine_config.clone(),
            data_dir: cli.data_dir.clone(),
        };
        let s = Spawned::start(&spec)?;
        if !cli.quiet {
            eprintln!(
                "engine: {} started on {}, syslog {}, api {}, log {}",
                spec.bin.display(),
                s.config.display(),
                s.syslog,
                s.api,
                s.log.display()
            );
        }
        Some(s)
    } else {
        None
    };
    let ends = Endpoints {
        transport: cli.transport,
        target: match (&spawned, cli.transport) {
            (Some(s), _) => Some(s.syslog),
            (None, Transport::Tcp | Transport::Udp) => Some(cli.target.parse()?),
            _ => None,
        },
        api: spawned
            .as_ref()
            .map_or_else(|| cli.api_base().to_string(), |s| s.api.clone()),
        capture,
    };
    let mut probe: Box<dyn DeliveryProbe> = match &cli.count_file {
        Some(path) => Box::new(LineFileProbe::new(path.clone())),
        None => Box::new(EngineProbe {
            api: EngineApi::new(&ends.api),
            target: match (&listener, &cli.count_target) {
                (_, Some(t)) => Some(t.clone()),
                (Some(_), None) => Some(spawn::HARNESS_TARGET.to_string()),
                (None, None) => None,
            },
            last: None,
        }),
    };
    let framing = match (cli.transport, cli.framing) {
        (Transport::Udp, _) => PoolFraming::Datagram,
        (Transport::Tcp, Framing::Octet) => PoolFraming::Octet,
        _ => PoolFraming::Newline,
    };

    if cli.saturate {
        let pool = Arc::new(build_pool(cli, framing));
        let steps = saturation(cli, &ends, &pool, probe.as_mut(), cli.count_file.is_none())?;
        let peer = match cli.peer {
            Some(Peer::Rsyslog) => Some(peer_saturation(cli, run_dir.as_deref(), &pool)?),
            None => None,
        };
        let resources = match spawned {
            Some(s) => Some(stop_engine(s)?),
            None => None,
        };
        let out = json!({
            "mode": "saturation",
            "transport": cli.transport.name(),
            "connections": cli.connections,
            "limits": {
                "max_loss": cli.max_loss,
                "max_p99_ms": cli.max_p99_ms,
            },
            "steps": steps,
            "sustainable_eps": saturate::sustainable(&steps),
            "resources": resources,
            "peer": peer,
        });
        print!("{}", saturation_table(&out));
        write_reports(cli, run_dir.as_deref(), &out, &saturation_markdown(&out))?;
        compare_with(cli, &out)?;
        return Ok(ExitCode::SUCCESS);
    }

    // One run: a scenario on its schedule, or the pool at a rate.
    let built = Instant::now();
    let mut truth = None;
    let lanes: Vec<Lane> = match (&scenario, &estate) {
        (Some(sc), Some(estate)) => {
            // Syslog transports carry header-less lines (cloud JSON, flow logs, metrics) behind
            // a collector's header; HTTP and capture files take them as they are.
            let relay = matches!(cli.transport, Transport::Tcp | Transport::Udp);
            check_memory(traffic::estimate_bytes(sc, estate))?;
            let traffic = traffic::render(sc, estate, framing, relay, cli.connections);
            let dir = run_dir.as_deref().unwrap_or(Path::new("."));
            let tp = dir.join("truth.json");
            std::fs::write(&tp, serde_json::to_string_pretty(&traffic.truth)? + "\n")
                .with_context(|| format!("cannot write {}", tp.display()))?;
            std::fs::write(dir.join("topology.toml"), estate.topology_toml())?;
            if !cli.quiet {
                eprintln!(
                    "traffic: {} lines ({:.1} MiB) over {} connections, rendered in {} ms; truth {}",
                    traffic.lines,
                    traffic.bytes as f64 / (1 << 20) as f64,
                    traffic.lanes.len(),
                    built.elapsed().as_millis(),
                    tp.display()
                );
            }
            truth = Some((tp, traffic.truth));
            traffic
                .lanes
                .into_iter()
                .map(|lane| {
                    let pacer = if cli.scheduled() {
                        Pacer::scheduled(lane.schedule)
                    } else {
                        Pacer::new(None, Some(lane.pool.len() as u64), None)
                    };
                    (lane.pool, pacer, 0)
                })
                .collect()
        }
        _ => {
            let pool = Arc::new(build_pool(cli, framing));
            if !cli.quiet {
                eprintln!(
                    "pool: {} lines, {:.1} MiB, built in {} ms",
                    pool.len(),
                    pool.total_bytes() as f64 / (1 << 20) as f64,
                    built.elapsed().as_millis()
                );
            }
            rate_lanes(
                cli,
                &pool,
                cli.rate().per_sec(),
                cli.total_count(),
                cli.send_duration(),
            )
        }
    };
    let total = match &scenario {
        Some(_) => Some(lanes.iter().map(|(p, _, _)| p.len() as u64).sum()),
        None => cli.total_count(),
    };
    let peer_lanes = cli.peer.is_some().then(|| lanes.clone());

    let baseline = probe.totals().with_context(|| match &cli.count_file {
        Some(p) => format!("cannot read the count file {p:?}"),
        None => format!(
            "cannot read the engine's pipeline figures from {}",
            ends.api
        ),
    })?;
    if (cli.reset_latency || cli.spawn) && cli.count_file.is_none() {
        EngineApi::new(&ends.api)
            .reset_latency()
            .context("cannot reset the engine's latency histogram")?;
    }
    let outcome = send(
        cli,
        &ends,
        lanes,
        probe.as_mut(),
        &baseline,
        total,
        Duration::from_secs_f64(cli.drain_timeout),
    )?;
    let (latency, engine_json) = match probe.last_pipeline() {
        Some((snap, json)) => (Some(snap.latency_ms), json.clone()),
        None => (None, Value::Null),
    };
    let mut report = Report::new(
        &facts(cli, &outcome),
        &outcome.drained.delta,
        outcome.drained.end,
        latency.as_ref(),
        engine_json,
    );
    report.timeline = outcome.timeline;
    if cli.scheduled() {
        report.rate_target = Value::String("scenario".into());
    }
    if let (Some(sc), Some(estate), Some((tp, truth))) = (&scenario, &estate, &truth) {
        report.scenario = Some(ScenarioInfo {
            name: sc.name.clone(),
            sources: sc.sources(),
            devices: estate.devices.len(),
            faults: truth.faults.len(),
            truth: tp.display().to_string(),
        });
        let api = EngineApi::new(&ends.api);
        let detected = detection::measure(&api, truth);
        // The anomaly count detection read, for reference beside the incidents' own.
        let listed = detected
            .get("measured")
            .and_then(Value::as_bool)
            .unwrap_or(false)
            .then(|| detected.get("anomalies").and_then(Value::as_u64))
            .flatten();
        report.detection = Some(detected);
        report.correlation = Some(correlation::measure(&api, truth, listed));
    }
    if let Some(l) = &listener {
        // Routed events reach the listener just after the engine counts them delivered.
        let want = outcome.drained.delta.delivered;
        wait_for(|| l.events() >= want, Duration::from_secs(10));
        report.harness = Some(HarnessSide {
            received: l.events(),
            latency_ms: l
                .received
                .latency_us
                .lock()
                .map(|h| report::percentiles_ms(&h))
                .unwrap_or_default(),
        });
    }
    if let Some(s) = spawned {
        report.resources = Some(stop_engine(s)?);
    }
    drop(listener);
    if let Some(lanes) = peer_lanes {
        report.peer = Some(peer_run(cli, run_dir.as_deref(), lanes, total)?);
    }

    print!("{}", report.table());
    let value = serde_json::to_value(&report)?;
    write_reports(cli, run_dir.as_deref(), &value, &report.markdown())?;
    compare_with(cli, &value)?;
    if cli.transport.is_reliable() && report.lost != 0 {
        eprintln!(
            "tocsin-bench: {} events unaccounted for on a reliable transport ({}; drain {})",
            report.lost,
            cli.transport.name(),
            report.drain
        );
        return Ok(ExitCode::from(EXIT_LOSS));
    }
    Ok(ExitCode::SUCCESS)
}

fn facts(cli: &Cli, o: &Outcome) -> RunFacts {
    RunFacts {
        transport: cli.transport.name(),
        connections: o.connections,
        rate_target: cli.rate().per_sec(),
        sent: o.sent,
        send_secs: o.send_secs,
        delivery_secs: o.delivery_secs,
        http_retries: o.http_retries,
        send_errors: o.send_errors,
    }
}

/// The pool of mixed vendor lines (`--mix`, `--devices`, `--pool-size`).
fn build_pool(cli: &Cli, framing: PoolFraming) -> Pool {
    let spec = PoolSpec {
        lines: cli.pool_size as usize,
        devices: cli.devices,
        mix: cli.mix.clone(),
        seed: cli.seed,
        end_ms: PoolSpec::now_ms(),
    };
    Pool::build(&spec, framing)
}

/// `--connections` lanes over one pool at a total rate.
fn rate_lanes(
    cli: &Cli,
    pool: &Arc<Pool>,
    rate: Option<f64>,
    count: Option<u64>,
    duration: Option<Duration>,
) -> Vec<Lane> {
    let n = cli.connections;
    let per = rate.map(|r| r / f64::from(n));
    (0..n)
        .map(|i| {
            let quota = count.map(|c| share(c, n, i));
            let start = i as usize * pool.len() / n as usize;
            (Arc::clone(pool), Pacer::new(per, quota, duration), start)
        })
        .collect()
}

/// Sends the lanes, watches progress (a timeline point a second), then drains.
fn send(
    cli: &Cli,
    ends: &Endpoints,
    lanes: Vec<Lane>,
    probe: &mut dyn DeliveryProbe,
    baseline: &Totals,
    total: Option<u64>,
    drain_timeout: Duration,
) -> Result<Outcome> {
    let shared = Arc::new(Shared::default());
    let connections = lanes.len() as u32;
    let handles = start_senders(cli, ends, lanes, &shared)?;
    let t0 = Instant::now();
    let mut timeline = Vec::new();
    let (stats, send_secs) = watch_senders(
        cli,
        total,
        handles,
        &shared,
        t0,
        probe,
        baseline,
        &mut timeline,
    )?;
    let sent: u64 = stats.iter().map(|s| s.sent).sum();
    let drained = delivery::drain(probe, baseline, sent, drain_timeout, t0)?;
    timeline.push(TimePoint {
        t: t0.elapsed().as_secs_f64(),
        sent,
        delivered: drained.delta.delivered,
    });
    Ok(Outcome {
        connections,
        sent,
        send_secs,
        delivery_secs: drained.last_delivery.duration_since(t0).as_secs_f64(),
        drained,
        timeline,
        http_retries: shared.http_retries.load(Ordering::Relaxed),
        send_errors: shared.send_errors.load(Ordering::Relaxed),
    })
}

/// Raises the rate step by step until a step is not sustained.
fn saturation(
    cli: &Cli,
    ends: &Endpoints,
    pool: &Arc<Pool>,
    probe: &mut dyn DeliveryProbe,
    engine: bool,
) -> Result<Vec<Step>> {
    let limits = Limits {
        max_loss: cli.max_loss,
        max_p99_ms: cli.max_p99_ms,
        ..Limits::default()
    };
    let step_time = Duration::from_secs_f64(cli.step_secs);
    let mut steps = Vec::new();
    let mut run_step = |rate: f64| -> Result<Step> {
        let baseline = probe.totals()?;
        if engine {
            EngineApi::new(&ends.api).reset_latency()?;
        }
        let lanes = rate_lanes(cli, pool, Some(rate), None, Some(step_time));
        let o = send(
            cli,
            ends,
            lanes,
            probe,
            &baseline,
            None,
            Duration::from_secs(15),
        )?;
        let p99 = probe.last_pipeline().map(|(s, _)| s.latency_ms.p99);
        let step = Step::judge(
            rate,
            o.sent,
            o.drained.delta.delivered,
            o.drained.delta.dropped,
            o.send_secs,
            o.delivery_secs.max(o.send_secs),
            if engine { p99 } else { None },
            &limits,
        );
        if !cli.quiet {
            eprintln!(
                "step {:>9.0} ev/s: sent {:>9.0}/s, delivered {:>9.0}/s, loss {:.3}%, p99 {} -> {}",
                step.rate,
                step.send_eps,
                step.delivered_eps,
                step.loss * 100.0,
                step.p99_ms.map_or("n/a".into(), |p| format!("{p:.1} ms")),
                step.limit.as_deref().unwrap_or("sustained")
            );
        }
        Ok(step)
    };
    for rate in saturate::rates(cli.saturate_from, cli.saturate_factor, cli.saturate_steps) {
        let step = run_step(rate)?;
        let failed = !step.sustained;
        steps.push(step);
        if failed {
            // Once more at the same rate before giving up: one stall is not saturation.
            let again = run_step(rate)?;
            let failed_twice = !again.sustained;
            steps.push(again);
            if failed_twice {
                break;
            }
        }
    }
    Ok(steps)
}

/// The same saturation search against rsyslog over TCP.
fn peer_saturation(cli: &Cli, dir: Option<&Path>, pool: &Arc<Pool>) -> Result<Value> {
    let rs = peer::Rsyslog::start(dir.unwrap_or(Path::new(".")))?;
    let ends = Endpoints::syslog_tcp(rs.addr);
    let mut probe = LineFileProbe::new(rs.out.clone());
    let steps = saturation(cli, &ends, pool, &mut probe, false)?;
    let version = rs.version.clone();
    rs.stop();
    Ok(json!({
        "name": "rsyslog",
        "version": version,
        "transport": "tcp",
        "steps": steps,
        "sustainable_eps": saturate::sustainable(&steps),
    }))
}

/// The same lanes against rsyslog over TCP, counted in its output file.
fn peer_run(cli: &Cli, dir: Option<&Path>, lanes: Vec<Lane>, total: Option<u64>) -> Result<Value> {
    let rs = peer::Rsyslog::start(dir.unwrap_or(Path::new(".")))?;
    if !cli.quiet {
        eprintln!("peer: rsyslogd {} on {}", rs.version, rs.addr);
    }
    let ends = Endpoints::syslog_tcp(rs.addr);
    let mut probe = LineFileProbe::new(rs.out.clone());
    let baseline = probe.totals()?;
    let o = send(
        cli,
        &ends,
        lanes,
        &mut probe,
        &baseline,
        total,
        Duration::from_secs_f64(cli.drain_timeout),
    )?;
    let version = rs.version.clone();
    rs.stop();
    let secs = o.delivery_secs;
    Ok(json!({
        "name": "rsyslog",
        "version": version,
        "transport": "tcp",
        "sent": o.sent,
        "delivered": o.drained.delta.delivered,
        "lost": o.sent as i64 - o.drained.delta.delivered as i64,
        "send_eps": if o.send_secs > 0.0 { o.sent as f64 / o.send_secs } else { 0.0 },
        "throughput_eps": if secs > 0.0 { o.drained.delta.delivered as f64 / secs } else { 0.0 },
    }))
}

fn stop_engine(s: Spawned) -> Result<Resources> {
    let (usage, clean_exit) = s.stop()?;
    Ok(Resources {
        peak_rss_mib: usage.peak_rss_mib,
        cpu_secs: usage.cpu_secs,
        mean_cores: usage.mean_cores(),
        peak_cores: usage.peak_cores,
        clean_exit,
    })
}

fn saturation_table(v: &Value) -> String {
    let mut s = format!(
        "  saturation over {} x{} (limits: loss {:.3}%, p99 {} ms)\n",
        v["transport"].as_str().unwrap_or("?"),
        v["connections"],
        v["limits"]["max_loss"].as_f64().unwrap_or(0.0) * 100.0,
        v["limits"]["max_p99_ms"]
    );
    let mut block = |label: &str, steps: &Value, best: &Value| {
        s.push_str(&format!(
            "  {label}\n  {:>10} {:>11} {:>11} {:>8} {:>9}  verdict\n",
            "offered", "sent/s", "delivered/s", "loss %", "p99 ms"
        ));
        for st in steps.as_array().into_iter().flatten() {
            s.push_str(&format!(
                "  {:>10.0} {:>11.0} {:>11.0} {:>8.3} {:>9}  {}\n",
                st["rate"].as_f64().unwrap_or(0.0),
                st["send_eps"].as_f64().unwrap_or(0.0),
                st["delivered_eps"].as_f64().unwrap_or(0.0),
                st["loss"].as_f64().unwrap_or(0.0) * 100.0,
                st["p99_ms"]
                    .as_f64()
                    .map_or("n/a".to_string(), |p| format!("{p:.1}")),
                st["limit"].as_str().unwrap_or("sustained")
            ));
        }
        s.push_str(&format!(
            "  highest sustained: {}\n",
            best.as_f64().map_or(
                "none (the first rate failed twice)".to_string(),
                |b| format!("{b:.0} ev/s")
            )
        ));
    };
    block("tocsin", &v["steps"], &v["sustainable_eps"]);
    if !v["peer"].is_null() {
        block(
            &format!("rsyslog {}", v["peer"]["version"].as_str().unwrap_or("")),
            &v["peer"]["steps"],
            &v["peer"]["sustainable_eps"],
        );
    }
    if let Some(r) = v.get("resources").filter(|r| !r.is_null()) {
        s.push_str(&format!(
            "  engine peak RSS {:.1} MiB, CPU {:.1} s\n",
            r["peak_rss_mib"].as_f64().unwrap_or(0.0),
            r["cpu_secs"].as_f64().unwrap_or(0.0)
        ));
    }
    s
}

fn saturation_markdown(v: &Value) -> String {
    format!(
        "# tocsin-bench saturation report\n\n```\n{}```\n",
        saturation_table(v)
    )
}

/// Writes the JSON and Markdown reports where asked, or into the run folder.
fn write_reports(cli: &Cli, run_dir: Option<&Path>, json: &Value, md: &str) -> Result<()> {
    let json_path = cli
        .json
        .clone()
        .or_else(|| run_dir.map(|d| d.join("report.json")));
    let md_path = cli
        .markdown
        .clone()
        .or_else(|| run_dir.map(|d| d.join("report.md")));
    if let Some(p) = &json_path {
        std::fs::write(p, serde_json::to_string_pretty(json)? + "\n")
            .with_context(|| format!("cannot write {}", p.display()))?;
    }
    if let Some(p) = &md_path {
        std::fs::write(p, md).with_context(|| format!("cannot write {}", p.display()))?;
    }
    if !cli.quiet {
        for p in [json_path, md_path].into_iter().flatten() {
            eprintln!("report: {}", p.display());
        }
    }
    Ok(())
}

fn compare_with(cli: &Cli, new: &Value) -> Result<()> {
    let Some(path) = &cli.compare else {
        return Ok(());
    };
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let old: Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a JSON report", path.display()))?;
    println!("\ncompared with {}:", path.display());
    print!("{}", report::compare(&old, new));
    Ok(())
}

/// A scenario is rendered whole before it is sent (sending must not wait on formatting): refuse
/// one that would take more than half the memory available now, before trying.
fn check_memory(bytes: u64) -> Result<()> {
    let available = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| spawn::parse_status_kib(&m, "MemAvailable:"))
        .map(|kib| (kib * 1024.0) as u64);
    match available {
        Some(avail) if bytes > avail / 2 => bail!(
            "the scenario renders to about {:.1} GiB and is kept in memory while it is sent; \
             {:.1} GiB is available: shorten run.duration_secs or lower run.rate",
            bytes as f64 / (1u64 << 30) as f64,
            avail as f64 / (1u64 << 30) as f64
        ),
        _ => Ok(()),
    }
}

/// Polls `done` every 20 ms until it holds or `limit` passes.
fn wait_for(mut done: impl FnMut() -> bool, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while !done() {
        if Instant::now() > deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(20));
    }
    true
}

/// The checkout the harness runs from: the working folder (or a parent) when it holds the
/// scenarios, else the one the binary was built in (`target/release/..`).
fn repo_root() -> PathBuf {
    let has = |p: &Path| p.join(scenario::SCENARIO_DIR).is_dir();
    if let Ok(cwd) = std::env::current_dir() {
        if let Some(found) = cwd.ancestors().find(|p| has(p)) {
            return found.to_path_buf();
        }
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.ancestors().find(|p| has(p)).map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("."))
}

fn default_run_dir(repo: &Path, sc: Option<&Scenario>, saturate: bool) -> PathBuf {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let name = match (sc, saturate) {
        (_, true) => "saturation",
        (Some(s), _) => s.name.as_str(),
        (None, _) => "run",
    };
    repo.join("target/tocsin-bench")
        .join(format!("{name}-{secs}"))
}

fn absolute(p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(p))
            .unwrap_or_else(|_| p.to_path_buf())
    }
}

type SenderHandle = JoinHandle<Result<SenderStats>>;

/// Opens every connection first (so a refused connection fails fast), then starts the threads.
fn start_senders(
    cli: &Cli,
    ends: &Endpoints,
    lanes: Vec<Lane>,
    shared: &Arc<Shared>,
) -> Result<Vec<SenderHandle>> {
    enum Conn {
        Tcp(TcpSink),
        Udp(UdpSink),
        Http(HttpSink),
        File(FileSink),
    }
    let mut conns = Vec::with_capacity(lanes.len());
    for _ in 0..lanes.len() {
        conns.push(match (ends.transport, ends.target, &ends.capture) {
            (Transport::Tcp, Some(addr), _) => Conn::Tcp(TcpSink::connect(addr)?),
            (Transport::Udp, Some(addr), _) => Conn::Udp(UdpSink::connect(addr)?),
            (Transport::File, _, Some(path)) => Conn::File(FileSink::open(path)?),
            (Transport::Http, _, _) => Conn::Http(HttpSink::new(
                &ends.api,
                &cli.source,
                cli.http_batch,
                cli.http_gzip,
            )),
            (t, _, _) => bail!("no destination for the {} transport", t.name()),
        });
    }
    let t0 = Instant::now();
    let handles = conns
        .into_iter()
        .zip(lanes)
        .map(|(conn, (pool, pacer, start))| {
            let shared = Arc::clone(shared);
            match conn {
                Conn::Tcp(s) => transport::spawn(s, pool, pacer, start, t0, shared),
                Conn::Udp(s) => transport::spawn(s, pool, pacer, start, t0, shared),
                Conn::Http(s) => transport::spawn(s, pool, pacer, start, t0, shared),
                Conn::File(s) => transport::spawn(s, pool, pacer, start, t0, shared),
            }
        })
        .collect();
    Ok(handles)
}

/// Shows progress until every sender is done; returns their stats and the send time.
#[allow(clippy::too_many_arguments)]
fn watch_senders(
    cli: &Cli,
    total: Option<u64>,
    handles: Vec<SenderHandle>,
    shared: &Shared,
    t0: Instant,
    probe: &mut dyn DeliveryProbe,
    baseline: &engine_api::Totals,
    timeline: &mut Vec<TimePoint>,
) -> Result<(Vec<SenderStats>, f64)> {
    let bar = progress_bar(cli, total);
    let mut last = (Instant::now(), 0u64);
    let mut next_point = Duration::from_secs(1);
    while handles.iter().any(|h| !h.is_finished()) {
        thread::sleep(Duration::from_millis(100));
        let sent = shared.sent.load(Ordering::Relaxed);
        let now = Instant::now();
        let dt = now.duration_since(last.0).as_secs_f64();
        if dt >= 0.5 {
            let eps = (sent - last.1) as f64 / dt;
            bar.set_message(format!("{eps:>10.0} ev/s"));
            last = (now, sent);
        }
        if t0.elapsed() >= next_point {
            // Events/s over time: what was sent and what the engine delivered, once a second.
            if let Ok(t) = probe.totals() {
                timeline.push(TimePoint {
                    t: t0.elapsed().as_secs_f64(),
                    sent,
                    delivered: t.since(baseline).delivered,
                });
            }
            next_point += Duration::from_secs(1);
        }
        match total {
            Some(_) => bar.set_position(sent),
            None => bar.set_position(t0.elapsed().as_millis() as u64),
        }
    }
    let send_secs = t0.elapsed().as_secs_f64();
    bar.finish_and_clear();
    let mut stats = Vec::with_capacity(handles.len());
    let mut first_err = None;
    for h in handles {
        match h.join() {
            Ok(Ok(s)) => stats.push(s),
            Ok(Err(e)) => {
                first_err.get_or_insert(e);
            }
            Err(_) => {
                first_err.get_or_insert(anyhow!("a sender thread panicked"));
            }
        }
    }
    match first_err {
        Some(e) => Err(e.context(format!(
            "sending stopped after {} lines",
            shared.sent.load(Ordering::Relaxed)
        ))),
        None => Ok((stats, send_secs)),
    }
}

fn progress_bar(cli: &Cli, total: Option<u64>) -> ProgressBar {
    if cli.quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let (len, template) = match (total, cli.send_duration()) {
        (Some(c), _) => (
            c,
            "{bar:40.cyan/blue} {human_pos}/{human_len} lines {msg} eta {eta}",
        ),
        (None, Some(d)) => (
            d.as_millis() as u64,
            "{bar:40.cyan/blue} {elapsed}/{duration} {msg}",
        ),
        (None, None) => (0, "{msg}"),
    };
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}
