//! `tocsin-bench`: sends realistic multi-vendor syslog traffic to a running tocsin engine (or a
//! peer such as rsyslog) over real sockets and measures what arrives.
//!
//! The run: read a baseline (engine API or `--count-file`), pre-render a pool of framed lines,
//! open the connections, send paced runs of pool lines from one thread per connection, then poll
//! until everything sent is accounted for and print the report.

mod cli;
mod delivery;
mod engine_api;
mod pacer;
mod pool;
mod report;
mod templates;
mod transport;

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context, Result};
use clap::Parser;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::Value;

use cli::{Cli, Framing, Transport};
use delivery::{DeliveryProbe, EngineProbe, LineFileProbe};
use engine_api::EngineApi;
use pacer::{share, Pacer};
use pool::{Pool, PoolFraming, PoolSpec};
use report::{Report, RunFacts};
use transport::{HttpSink, SenderStats, Shared, TcpSink, UdpSink};

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

fn run(cli: &Cli) -> Result<ExitCode> {
    cli.validate()?;
    let mut probe: Box<dyn DeliveryProbe> = match &cli.count_file {
        Some(path) => Box::new(LineFileProbe::new(path.clone())),
        None => Box::new(EngineProbe {
            api: EngineApi::new(cli.api_base()),
            last: None,
        }),
    };
    let baseline = probe.totals().with_context(|| match &cli.count_file {
        Some(p) => format!("cannot read the count file {p:?}"),
        None => format!("cannot read the engine's pipeline figures from {}", cli.api),
    })?;
    if cli.reset_latency && cli.count_file.is_none() {
        EngineApi::new(cli.api_base())
            .reset_latency()
            .context("cannot reset the engine's latency histogram")?;
    }

    let framing = match (cli.transport, cli.framing) {
        (Transport::Udp, _) => PoolFraming::Datagram,
        (Transport::Tcp, Framing::Octet) => PoolFraming::Octet,
        _ => PoolFraming::Newline,
    };
    let built = Instant::now();
    let spec = PoolSpec {
        lines: cli.pool_size as usize,
        devices: cli.devices,
        mix: cli.mix.clone(),
        seed: cli.seed,
        end_ms: PoolSpec::now_ms(),
    };
    let pool = Arc::new(Pool::build(&spec, framing));
    if !cli.quiet {
        eprintln!(
            "pool: {} lines, {:.1} MiB, built in {} ms",
            pool.len(),
            pool.total_bytes() as f64 / (1 << 20) as f64,
            built.elapsed().as_millis()
        );
    }

    let shared = Arc::new(Shared::default());
    let handles = start_senders(cli, &pool, &shared)?;
    let t0 = Instant::now();
    let (stats, send_secs) = watch_senders(cli, handles, &shared, t0)?;
    let sent: u64 = stats.iter().map(|s| s.sent).sum();

    let drained = delivery::drain(
        probe.as_mut(),
        &baseline,
        sent,
        Duration::from_secs_f64(cli.drain_timeout),
        t0,
    )?;
    let delivery_secs = drained.last_delivery.duration_since(t0).as_secs_f64();
    let facts = RunFacts {
        transport: cli.transport.name(),
        connections: cli.connections,
        rate_target: cli.rate.per_sec(),
        sent,
        send_secs,
        delivery_secs,
        http_retries: shared.http_retries.load(Ordering::Relaxed),
        send_errors: shared.send_errors.load(Ordering::Relaxed),
    };
    let (latency, engine_json) = match probe.last_pipeline() {
        Some((snap, json)) => (Some(snap.latency_ms), json.clone()),
        None => (None, Value::Null),
    };
    let report = Report::new(
        &facts,
        &drained.delta,
        drained.end,
        latency.as_ref(),
        engine_json,
    );
    print!("{}", report.table());
    if let Some(path) = &cli.json {
        report.write_json(path)?;
    }
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

type SenderHandle = JoinHandle<Result<SenderStats>>;

/// Opens every connection first (so a refused connection fails fast), then starts the threads.
fn start_senders(cli: &Cli, pool: &Arc<Pool>, shared: &Arc<Shared>) -> Result<Vec<SenderHandle>> {
    let n = cli.connections;
    let rate = cli.rate.per_sec().map(|r| r / f64::from(n));
    let target: Option<SocketAddr> = match cli.transport {
        Transport::Http => None,
        _ => Some(cli.target.parse()?),
    };
    enum Conn {
        Tcp(TcpSink),
        Udp(UdpSink),
        Http(HttpSink),
    }
    let mut conns = Vec::with_capacity(n as usize);
    for _ in 0..n {
        conns.push(match (cli.transport, target) {
            (Transport::Tcp, Some(addr)) => Conn::Tcp(TcpSink::connect(addr)?),
            (Transport::Udp, Some(addr)) => Conn::Udp(UdpSink::connect(addr)?),
            _ => Conn::Http(HttpSink::new(
                cli.api_base(),
                &cli.source,
                cli.http_batch,
                cli.http_gzip,
            )),
        });
    }
    let t0 = Instant::now();
    let handles = conns
        .into_iter()
        .enumerate()
        .map(|(i, conn)| {
            let i = i as u32;
            let quota = cli.total_count().map(|c| share(c, n, i));
            let pacer = Pacer::new(rate, quota, cli.send_duration());
            let start = i as usize * pool.len() / n as usize;
            let (pool, shared) = (Arc::clone(pool), Arc::clone(shared));
            match conn {
                Conn::Tcp(s) => transport::spawn(s, pool, pacer, start, t0, shared),
                Conn::Udp(s) => transport::spawn(s, pool, pacer, start, t0, shared),
                Conn::Http(s) => transport::spawn(s, pool, pacer, start, t0, shared),
            }
        })
        .collect();
    Ok(handles)
}

/// Shows progress until every sender is done; returns their stats and the send time.
fn watch_senders(
    cli: &Cli,
    handles: Vec<SenderHandle>,
    shared: &Shared,
    t0: Instant,
) -> Result<(Vec<SenderStats>, f64)> {
    let bar = progress_bar(cli);
    let mut last = (Instant::now(), 0u64);
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
        match cli.total_count() {
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

fn progress_bar(cli: &Cli) -> ProgressBar {
    if cli.quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let (len, template) = match (cli.total_count(), cli.send_duration()) {
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
