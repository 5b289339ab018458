//! Builds and runs the pipeline from a [`Config`]: targets, router shards, normaliser shards and
//! connectors, each shard on its own arbiter under a supervisor, linked by bounded channels.
//! [`Pipeline::shutdown`] drains it: connectors stop reading, every link empties in order, the
//! targets flush, and only then does it return.

use crate::alerts::{AlertBatch, AlertManager, AlertManagerSettings, AlertMetrics};
use crate::batch::{EventBatch, RawBatch, TargetBatch};
use crate::connectors::file::{FileConnector, FileReadMode, FileSettings, FileStart};
use crate::connectors::http::HttpIngest;
use crate::connectors::tcp::SyslogTcpConnector;
use crate::connectors::udp::SyslogUdpConnector;
use crate::connectors::ConnectorContext;
use crate::correlator::{
    CorrelatorActor, CorrelatorInput, CorrelatorMetrics, IncidentStore, TopologyHandle,
};
use crate::deadletter::DeadLetters;
use crate::link::{link, DepthProbe};
use crate::metrics::{ConnectorMetrics, PipelineMetrics, StageMetrics, TargetMetrics, Totals};
use crate::normaliser::NormaliserShard;
use crate::router::{RouterOutputs, RouterShard, TargetLink};
use crate::rules::RouteRules;
use crate::scorer::{AnomalyStore, ScorerMetrics, ScorerShard};
use crate::stage::{Completion, PauseSwitch};
use crate::targets::deliver::{spawn_delivery, DeliveryTarget};
use crate::targets::Outbound;
use crate::targets::{BlackholeSink, FileSink, SinkWriter, StdoutSink, TargetActor, TcpSink};
use crate::trainer::{Trainer, TrainerStatus};
use actix::{Actor, Arbiter, Supervisor};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;
use tocsin_engine::alert::inhibit::InhibitRule;
use tocsin_engine::alert::labels::LabelMatcher;
use tocsin_engine::alert::store::AlertStore;
use tocsin_engine::config::AlertSource;
use tocsin_engine::config::{Config, FileMode, SourceConfig, StartAt, TargetConfig};
use tocsin_engine::correlate::{CorrelationSettings, Correlator, LearnSettings};
use tocsin_engine::normalise::mapping::VendorRegistry;
use tocsin_engine::normalise::Normaliser;
use tocsin_engine::route::RuleSet as RouteRuleSet;
use tocsin_engine::schema::Symbol;
use tocsin_engine::score::models::Models;
use tocsin_engine::score::rules::RuleSet;
use tocsin_engine::score::scorer::{Scorer, ScorerSettings};
use tocsin_engine::score::window::WindowSpec;
use tokio::sync::mpsc::Sender;
use tokio_util::sync::CancellationToken;

/// Default UDP receive buffer when the config sets none: bursts from many devices fit in it.
const DEFAULT_UDP_RECV_BUFFER: usize = 8 << 20;

/// Why the pipeline could not start.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// A listener could not bind.
    #[error("source {source_name:?}: cannot listen on {addr}: {error}")]
    Bind {
        /// The source.
        source_name: String,
        /// The address.
        addr: String,
        /// The OS error.
        error: std::io::Error,
    },
    /// A vendor mapping is broken.
    #[error("vendor mappings: {0}")]
    Vendors(tocsin_engine::normalise::mapping::MappingErrors),
    /// The detectors file is broken.
    #[error("detectors file {path}: {why}")]
    Detectors {
        /// The file.
        path: String,
        /// What is wrong.
        why: String,
    },
    /// The routing rules file is broken.
    #[error("routing rules {path}: {why}")]
    Rules {
        /// The file.
        path: String,
        /// What is wrong.
        why: String,
    },
    /// A delivery target could not be built (a template that does not compile).
    #[error("{0}")]
    Target(String),
    /// The alert database could not be opened or read.
    #[error("alerts: {0}")]
    Alerts(String),
    /// The topology file could not be read.
    #[error("topology: {0}")]
    Topology(String),
    /// The model store could not be opened.
    #[error("models: {0}")]
    Models(tocsin_engine::score::models::ModelError),
    /// A source names a vendor with no mapping.
    #[error("source {source_name:?}: no vendor mapping named {vendor:?} (see the vendors folder)")]
    UnknownVendor {
        /// The source.
        source_name: String,
        /// The vendor it names.
        vendor: String,
    },
    /// A file or folder could not be opened.
    #[error("{what} {path}: {error}")]
    Io {
        /// What it was for.
        what: &'static str,
        /// The path.
        path: String,
        /// The OS error.
        error: std::io::Error,
    },
}

/// How a pipeline runs, beyond what its [`Config`] says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PipelineOptions {
    /// Keep each `file` source's read offset in `data_dir/checkpoints/<source>.json`, so a
    /// restart resumes where the engine left off. On for `tocsin run`; off for `tocsin replay`,
    /// which always reads its files from the start and must not read or move the offsets of a
    /// live engine sharing the data folder.
    pub file_checkpoints: bool,
    /// Read the `file` sources one after another, in config order (each starts once the one
    /// before it has been read to its end), so the events reach the pipeline in one order
    /// whatever the threads do. Off for `tocsin run`; on for `tocsin replay`.
    pub sequential_files: bool,
    /// Load and save the topology's learned edges (`learned-edges.toml` in the data folder).
    /// On for `tocsin run`; off for `tocsin replay`, which learns afresh in memory and must not
    /// change what a live engine sharing the data folder learned.
    pub learned_edges: bool,
    /// Let a quiet scorer shard or correlator move its event-time clock on by the wall time
    /// that passes, so the last windows close and incidents resolve when traffic stops. On for
    /// `tocsin run`; off for `tocsin replay`, whose clocks follow the captured events alone
    /// (and whose end closes everything), so a slow machine cannot change what it finds.
    pub idle_clock: bool,
}

impl Default for PipelineOptions {
    fn default() -> Self {
        PipelineOptions {
            file_checkpoints: true,
            sequential_files: false,
            learned_edges: true,
            idle_clock: true,
        }
    }
}

/// What shutdown achieved.
#[derive(Debug, Clone, Copy)]
pub struct ShutdownReport {
    /// True when every stage drained within the timeout.
    pub drained: bool,
    /// The pipeline's totals at the end.
    pub totals: Totals,
}

/// A running pipeline. Holding it keeps the supervisors' addresses alive (an actor whose
/// address is gone is not restarted).
#[derive(Debug)]
pub struct Pipeline {
    metrics: Arc<PipelineMetrics>,
    http: Arc<HttpIngest>,
    vendors: Arc<VendorRegistry>,
    dead_letters: DeadLetters,
    cancel: CancellationToken,
    arbiters: Vec<Arbiter>,
    addrs: Vec<Box<dyn std::any::Any + Send>>,
    targets_drained: Arc<Completion>,
    source_addrs: HashMap<String, SocketAddr>,
    pauses: HashMap<String, Arc<PauseSwitch>>,
    shutdown_timeout: Duration,
    scoring: Option<Scoring>,
    alerting: Option<Alerting>,
    rules: Arc<RouteRules>,
    correlation: Option<Correlation>,
}

/// The correlation side of a running pipeline, for the API.
#[derive(Debug, Clone)]
pub struct Correlation {
    /// The live topology.
    pub topology: Arc<TopologyHandle>,
    /// The incidents.
    pub incidents: Arc<IncidentStore>,
    /// The correlator's counters and latency.
    pub metrics: Arc<CorrelatorMetrics>,
}

/// Starts the correlator (sending incidents to `routers`); returns its link and handles.
fn start_correlation(
    config: &Config,
    options: PipelineOptions,
    metrics: &Arc<PipelineMetrics>,
    routers: Vec<Sender<EventBatch>>,
    arbiters: &mut Vec<Arbiter>,
    addrs: &mut Vec<Box<dyn std::any::Any + Send>>,
) -> Result<(Sender<CorrelatorInput>, Correlation), PipelineError> {
    let c = &config.correlation;
    let data = &config.engine.data_dir;
    let file = c
        .topology_file
        .clone()
        .unwrap_or_else(|| data.join("topology.toml"));
    let learn = c.learn.enabled.then(|| LearnSettings {
        half_life_ms: (c.learn.half_life_secs as i64).saturating_mul(1000),
        min_weight: c.learn.min_weight,
        max_learned: c.learn.max_edges,
        ..LearnSettings::default()
    });
    let learned = options
        .learned_edges
        .then(|| data.join("learned-edges.toml"));
    let topology = TopologyHandle::load(file, learned, learn).map_err(PipelineError::Topology)?;
    tracing::info!(
        topology = %topology.read().summary(),
        file = %topology.file().display(),
        "topology loaded"
    );
    let settings = CorrelationSettings {
        window_ms: (c.window_secs as i64).saturating_mul(1000),
        max_hops: c.max_hops,
        quiet_ms: (c.resolve_after_secs as i64).saturating_mul(1000),
        max_open: c.max_open,
        candidates: c.candidates,
        ..CorrelationSettings::default()
    };
    let incidents = IncidentStore::new(c.incidents_kept);
    let cm = Arc::new(CorrelatorMetrics::default());
    let (tx, rx) = link::<CorrelatorInput>(config.engine.mailbox.scorer);
    let probe: Arc<dyn DepthProbe> = Arc::new(rx.clone());
    let stage = StageMetrics::new("correlator".to_owned(), "correlator", Some(probe));
    metrics.add_stage(stage.clone());
    if let Ok(mut slot) = metrics.scoring.write() {
        slot.correlator = Some(cm.clone());
        slot.incidents = Some(incidents.clone());
    }
    let drained = Completion::new(1);
    let (topo, store, m, kept) = (
        topology.clone(),
        incidents.clone(),
        cm.clone(),
        c.incidents_kept,
    );
    let arbiter = Arbiter::new();
    let addr = Supervisor::start_in_arbiter(&arbiter.handle(), move |_| {
        CorrelatorActor::new(
            Correlator::new(settings),
            options.idle_clock,
            topo,
            rx,
            routers,
            store,
            stage,
            m,
            drained,
            kept,
        )
    });
    addrs.push(Box::new(addr));
    arbiters.push(arbiter);
    Ok((
        tx,
        Correlation {
            topology,
            incidents,
            metrics: cm,
        },
    ))
}

/// The alerting side of a running pipeline, for the API.
#[derive(Debug, Clone)]
pub struct Alerting {
    /// The alert manager.
    pub manager: actix::Addr<AlertManager>,
    /// Its counters and MTTA/MTTR table.
    pub metrics: Arc<AlertMetrics>,
}

/// The routing rules: the configured file (checked against the declared targets), or none.
fn load_route_rules(config: &Config) -> Result<Arc<RouteRules>, PipelineError> {
    let names: Vec<String> = config.targets.iter().map(|t| t.name().to_owned()).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let rules = match &config.router.rules_file {
        Some(path) => RouteRuleSet::load(path, &refs).map_err(|e| PipelineError::Rules {
            path: path.display().to_string(),
            why: e.to_string(),
        })?,
        None => RouteRuleSet::empty(),
    };
    let runbooks: Vec<String> = config
        .alerts
        .runbooks
        .iter()
        .map(|r| r.name.clone())
        .collect();
    if let Some(why) = crate::rules::unknown_runbooks(&rules, &runbooks) {
        return Err(PipelineError::Rules {
            path: config
                .router
                .rules_file
                .as_ref()
                .map_or_else(|| "(none)".to_owned(), |p| p.display().to_string()),
            why,
        });
    }
    tracing::info!(rules = rules.len(), "routing rules loaded");
    Ok(RouteRules::new(
        rules,
        names,
        runbooks,
        config.router.rules_file.clone(),
    ))
}

/// A set of target names as bits by their `[[targets]]` index.
fn target_bits(config: &Config, names: &[String]) -> u64 {
    names.iter().fold(0, |m, n| {
        match config.targets.iter().position(|t| t.name() == n) {
            Some(i) => m | (1 << i),
            None => m,
        }
    })
}

/// Builds a delivery target (webhook, PagerDuty, Slack, syslog) and runs it on `arbiter`;
/// `done` is counted down when it has drained (or spilled) everything at shutdown.
fn start_delivery(
    t: &TargetConfig,
    config: &Config,
    metrics: &Arc<PipelineMetrics>,
    rx: crate::link::SharedReceiver<Outbound>,
    dead_letters: DeadLetters,
    done: Arc<Completion>,
    arbiter: &Arbiter,
) -> Result<(), PipelineError> {
    let data_dir = &config.engine.data_dir;
    let built = match t {
        TargetConfig::Webhook(c) => DeliveryTarget::webhook(c, data_dir, dead_letters),
        TargetConfig::Pagerduty(c) => DeliveryTarget::pagerduty(c, data_dir, dead_letters),
        TargetConfig::Slack(c) => DeliveryTarget::slack(c, data_dir, dead_letters),
        TargetConfig::Syslog(c) => Ok(DeliveryTarget::syslog(c, data_dir, dead_letters)),
        other => unreachable!("{} is a sink, not a delivery target", other.kind()),
    };
    let mut target = built.map_err(|e| PipelineError::Target(e.to_string()))?;
    target.shutdown_grace = Duration::from_secs(config.engine.shutdown_timeout_secs) / 2;
    metrics.add_delivery(target.metrics.clone());
    let name = t.name().to_owned();
    arbiter.spawn(async move {
        match spawn_delivery(target, rx) {
            Ok(task) => match task.await {
                Ok(report) => tracing::info!(
                    target = %name,
                    spilled = report.spilled_at_shutdown,
                    dead_lettered = report.dead_lettered_at_shutdown,
                    "delivery target finished"
                ),
                Err(e) => tracing::error!(target = %name, error = %e, "delivery target failed"),
            },
            Err(e) => {
                tracing::error!(target = %name, error = %e, "delivery target could not open its spill file")
            }
        }
        done.done();
    });
    Ok(())
}

/// Opens the alert database and starts the alert manager on its own arbiter (its SQLite
/// writes block); returns the routers' link to it.
fn start_alerts(
    config: &Config,
    pipeline_metrics: &PipelineMetrics,
    notify: Vec<Option<Sender<Outbound>>>,
    arbiters: &mut Vec<Arbiter>,
) -> Result<(Sender<AlertBatch>, Alerting), PipelineError> {
    let a = &config.alerts;
    let path = config.data_path(&a.database);
    let store = AlertStore::open(&path).map_err(|e| PipelineError::Alerts(e.to_string()))?;
    let settings = AlertManagerSettings {
        resolve_after_ms: (a.resolve_after_secs as i64).saturating_mul(1000),
        group: a.group.clone(),
        inhibit: a
            .inhibit_rules
            .iter()
            .map(|r| {
                let parse = |list: &[String]| {
                    list.iter()
                        .map(|m| LabelMatcher::parse(m))
                        .collect::<Result<Vec<_>, _>>()
                };
                Ok(InhibitRule {
                    source_matchers: parse(&r.source_matchers)?,
                    target_matchers: parse(&r.target_matchers)?,
                    equal: r.equal.clone(),
                })
            })
            .collect::<Result<Vec<_>, tocsin_engine::alert::labels::MatcherError>>()
            .map_err(|e| PipelineError::Alerts(format!("inhibit rule: {e}")))?,
        runbooks: a.runbooks.clone(),
        policy: a.remediation.clone(),
        default_receivers: target_bits(config, &a.default_targets),
        target_names: config.targets.iter().map(|t| t.name().to_owned()).collect(),
        resolved_kept: a.resolved_kept,
    };
    let (tx, rx) = link::<AlertBatch>(config.engine.mailbox.router);
    let metrics = Arc::new(AlertMetrics::default());
    if let Ok(mut slot) = pipeline_metrics.alerts.write() {
        *slot = Some(metrics.clone());
    }
    let manager = AlertManager::new(settings, store, rx, notify, metrics.clone())
        .map_err(|e| PipelineError::Alerts(e.to_string()))?;
    let arbiter = Arbiter::new();
    let addr = AlertManager::start_in_arbiter(&arbiter.handle(), move |_| manager);
    arbiters.push(arbiter);
    Ok((
        tx,
        Alerting {
            manager: addr,
            metrics,
        },
    ))
}

/// The scoring side of a running pipeline, for the API.
#[derive(Debug, Clone)]
pub struct Scoring {
    /// The latest anomalies.
    pub anomalies: Arc<AnomalyStore>,
    /// The forests and their samples.
    pub models: Arc<Models>,
    /// The trainer (send it [`Retrain`](crate::trainer::Retrain)).
    pub trainer: actix::Addr<Trainer>,
    /// What the trainer has done.
    pub trainer_status: Arc<TrainerStatus>,
}

fn io_err(
    what: &'static str,
    path: &std::path::Path,
) -> impl FnOnce(std::io::Error) -> PipelineError {
    let path = path.display().to_string();
    move |error| PipelineError::Io { what, path, error }
}

fn shards(configured: usize) -> usize {
    if configured > 0 {
        configured
    } else {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    }
}

/// The threshold rules: the configured file, or the shipped rules built in when none is.
fn load_rules(config: &Config) -> Result<RuleSet, PipelineError> {
    let Some(path) = &config.score.detectors_file else {
        tracing::info!("no detectors file: using the shipped threshold rules");
        return RuleSet::parse(tocsin_engine::score::rules::SHIPPED).map_err(|why| {
            PipelineError::Detectors {
                path: "(built in)".into(),
                why,
            }
        });
    };
    let text = std::fs::read_to_string(path).map_err(io_err("detectors file", path))?;
    RuleSet::parse(&text).map_err(|why| PipelineError::Detectors {
        path: path.display().to_string(),
        why,
    })
}

/// Gives a shard its own copy of the saved LSTM, when there is one; one that cannot be loaded
/// is logged and the shard starts without it.
#[cfg(feature = "lstm")]
fn load_lstm(models: &Models, scorer: &mut Scorer) {
    let (Some(info), Some(dir)) = (models.lstm(), models.dir()) else {
        return;
    };
    let path = dir.join(&info.file);
    match tocsin_engine::score::lstm::LstmModel::load(&path) {
        Ok(model) => {
            if let Err(e) = scorer.set_lstm(model, info.version) {
                tracing::error!(error = %e, "LSTM not taken; scoring starts without it");
            }
        }
        Err(e) => {
            tracing::error!(file = %path.display(), error = %e, "LSTM not loaded; scoring starts without it")
        }
    }
}

/// Starts the scorer shards (sending to `routers`) and the trainer; returns the shards' links.
fn start_scoring(
    config: &Config,
    metrics: &Arc<PipelineMetrics>,
    routers: Vec<Sender<EventBatch>>,
    correlator: Option<(Sender<CorrelatorInput>, Arc<TopologyHandle>)>,
    idle_clock: bool,
    arbiters: &mut Vec<Arbiter>,
    addrs: &mut Vec<Box<dyn std::any::Any + Send>>,
) -> Result<(Vec<Sender<EventBatch>>, Scoring), PipelineError> {
    let sc = &config.score;
    let rules = Arc::new(load_rules(config)?);
    let models = Arc::new(
        Models::open(&config.engine.data_dir.join("models"), sc.trainer.reservoir)
            .map_err(PipelineError::Models)?,
    );
    for why in &models.load_errors {
        tracing::error!(error = %why, "model not loaded");
    }
    let n = sc.shard_count();
    let settings = ScorerSettings {
        window: WindowSpec {
            len_ms: sc.window_ms as i64,
            lateness_ms: sc.lateness_ms as i64,
        },
        max_entities: sc.max_entities.div_ceil(n).max(1),
        idle_expiry_ms: (sc.idle_expiry_secs as i64).saturating_mul(1000),
        threshold: sc.threshold,
        weights: sc.weights.as_array(),
        refractory_windows: sc.refractory_windows,
        warmup_windows: sc.warmup_windows,
        rules,
    };
    let anomalies = AnomalyStore::new(sc.anomalies_kept);
    if let Ok(mut slot) = metrics.scoring.write() {
        slot.models = Some(models.clone());
        slot.anomalies = Some(anomalies.clone());
    }
    let drained = Completion::new(n);
    let mut links = Vec::with_capacity(n);
    let mut shard_addrs = Vec::with_capacity(n);
    for i in 0..n {
        let (tx, rx) = link::<EventBatch>(config.engine.mailbox.scorer);
        let probe: Arc<dyn DepthProbe> = Arc::new(rx.clone());
        let stage = StageMetrics::new(format!("scorer-{i}"), "scorer", Some(probe));
        metrics.add_stage(stage.clone());
        let sm = ScorerMetrics::new(format!("scorer-{i}"));
        if let Ok(mut slot) = metrics.scoring.write() {
            slot.shards.push(sm.clone());
        }
        #[allow(unused_mut)]
        let mut scorer = Scorer::new(settings.clone(), models.clone());
        #[cfg(feature = "lstm")]
        load_lstm(&models, &mut scorer);
        let (routers, store, done) = (routers.clone(), anomalies.clone(), drained.clone());
        let correlator = correlator.clone();
        let arbiter = Arbiter::new();
        let addr = Supervisor::start_in_arbiter(&arbiter.handle(), move |_| {
            let shard = ScorerShard::new(scorer, rx, routers, stage, sm, store, done)
                .published()
                .with_idle_clock(idle_clock);
            match correlator {
                Some((tx, topology)) => shard.with_correlator(tx, topology),
                None => shard,
            }
        });
        shard_addrs.push(addr.clone());
        addrs.push(Box::new(addr));
        arbiters.push(arbiter);
        links.push(tx);
    }
    let status = Arc::new(TrainerStatus::default());
    let every =
        (sc.trainer.interval_secs > 0).then(|| Duration::from_secs(sc.trainer.interval_secs));
    let trainer_arbiter = Arbiter::new();
    let (m, st, min) = (models.clone(), status.clone(), sc.trainer.min_samples);
    let trainer = Trainer::start_in_arbiter(&trainer_arbiter.handle(), move |_| {
        Trainer::new(m, min, every, st).with_shards(shard_addrs)
    });
    arbiters.push(trainer_arbiter);
    Ok((
        links,
        Scoring {
            anomalies,
            models,
            trainer,
            trainer_status: status,
        },
    ))
}

impl Pipeline {
    /// Starts the pipeline with the default [`PipelineOptions`]. Must run inside an actix
    /// `System`.
    pub fn start(config: &Config) -> Result<Pipeline, PipelineError> {
        Pipeline::start_with(config, PipelineOptions::default())
    }

    /// Starts the pipeline. Must run inside an actix `System`.
    pub fn start_with(
        config: &Config,
        options: PipelineOptions,
    ) -> Result<Pipeline, PipelineError> {
        let metrics = Arc::new(PipelineMetrics::default());
        if let Ok(mut s) = metrics.config_summary.write() {
            *s = config.summary();
        }
        let data_dir = &config.engine.data_dir;
        std::fs::create_dir_all(data_dir).map_err(io_err("data folder", data_dir))?;
        let dl_path = config.data_path(&config.dead_letter.path);
        let dead_letters = DeadLetters::open(
            &dl_path,
            config.dead_letter.max_bytes,
            config.dead_letter.max_files,
            metrics.clone(),
        )
        .map_err(io_err("dead-letter file", &dl_path))?;

        let vendors = Arc::new(
            VendorRegistry::load_dir(&config.engine.vendors_dir).map_err(PipelineError::Vendors)?,
        );
        for s in &config.sources {
            let v = s.vendor();
            if v != "auto" && !vendors.contains(v) {
                return Err(PipelineError::UnknownVendor {
                    source_name: s.name().to_owned(),
                    vendor: v.to_owned(),
                });
            }
        }
        if let Ok(mut slot) = metrics.vendors.write() {
            *slot = Some(vendors.clone());
        }

        let mut arbiters = Vec::new();
        let mut addrs: Vec<Box<dyn std::any::Any + Send>> = Vec::new();
        let mut pauses = HashMap::new();

        // Targets: sinks that write event batches, and delivery targets (webhook, PagerDuty,
        // Slack, syslog) that also take alert notifications.
        let targets_drained = Completion::new(config.targets.len());
        let mut event_links: Vec<Option<TargetLink>> = Vec::with_capacity(config.targets.len());
        let mut notify_links: Vec<Option<Sender<Outbound>>> =
            Vec::with_capacity(config.targets.len());
        for t in &config.targets {
            let pause = Arc::new(PauseSwitch::default());
            pauses.insert(t.name().to_owned(), pause.clone());
            let (dl, done) = (dead_letters.clone(), targets_drained.clone());
            let writer: Box<dyn SinkWriter> = match t {
                TargetConfig::File(f) => {
                    let path = config.data_path(&f.path);
                    Box::new(
                        FileSink::open(&path, f.max_bytes, f.max_files)
                            .map_err(io_err("file target", &path))?,
                    )
                }
                TargetConfig::Stdout(_) => Box::new(StdoutSink),
                TargetConfig::Blackhole(_) => Box::new(BlackholeSink),
                // Connects on the first batch: a collector that is down at start-up costs
                // dead-lettered batches, not a failed start.
                TargetConfig::Tcp(tcp) => Box::new(TcpSink::new(tcp)),
                delivery => {
                    // A delivery target keeps its own queue, spill file and counters
                    // (`tocsin_delivery_*`); it takes no pause switch.
                    pauses.remove(t.name());
                    let (tx, rx) = link::<Outbound>(config.engine.mailbox.target);
                    let arbiter = Arbiter::new();
                    start_delivery(delivery, config, &metrics, rx, dl, done, &arbiter)?;
                    arbiters.push(arbiter);
                    let takes_events = !matches!(delivery, TargetConfig::Pagerduty(_));
                    event_links.push(takes_events.then(|| TargetLink::Delivery(tx.clone())));
                    notify_links.push(Some(tx));
                    continue;
                }
            };
            let (tx, rx) = link::<TargetBatch>(config.engine.mailbox.target);
            let probe: Arc<dyn DepthProbe> = Arc::new(rx.clone());
            let stage = StageMetrics::new(format!("target-{}", t.name()), "target", Some(probe));
            metrics.add_stage(stage.clone());
            let tm = TargetMetrics::new(t.name(), t.kind());
            metrics.add_target(tm.clone());
            let arbiter = Arbiter::new();
            let addr = Supervisor::start_in_arbiter(&arbiter.handle(), move |_| {
                TargetActor::new(writer, rx, stage, tm, dl, done, pause)
            });
            addrs.push(Box::new(addr));
            arbiters.push(arbiter);
            event_links.push(Some(TargetLink::Events(tx)));
            notify_links.push(None);
        }

        // Routing rules and the alert manager.
        let rules = load_route_rules(config)?;
        let mut alerting = None;
        let alert_link = if config.alerts.enabled && config.score.enabled {
            let (tx, a) = start_alerts(config, &metrics, notify_links, &mut arbiters)?;
            alerting = Some(a);
            Some(tx)
        } else {
            drop(notify_links);
            None
        };
        let correlating = config.correlation.enabled && config.score.enabled;
        let outputs = RouterOutputs {
            targets: event_links,
            default_targets: target_bits(config, &config.router.default_targets),
            alerts: alert_link,
            alert_incidents: correlating && config.alerts.on == AlertSource::Incidents,
        };

        // Router shards.
        let n_routers = shards(config.engine.router_shards);
        let routers_drained = Completion::new(n_routers);
        let mut router_links: Vec<Sender<EventBatch>> = Vec::with_capacity(n_routers);
        for i in 0..n_routers {
            let (tx, rx) = link::<EventBatch>(config.engine.mailbox.router);
            let probe: Arc<dyn DepthProbe> = Arc::new(rx.clone());
            let stage = StageMetrics::new(format!("router-{i}"), "router", Some(probe));
            metrics.add_stage(stage.clone());
            let (out, shared, done) = (outputs.clone(), rules.shared(), routers_drained.clone());
            let arbiter = Arbiter::new();
            let addr = Supervisor::start_in_arbiter(&arbiter.handle(), move |_| {
                RouterShard::new(rx, out, shared, stage, done)
            });
            addrs.push(Box::new(addr));
            arbiters.push(arbiter);
            router_links.push(tx);
        }
        drop(outputs);

        // Scorer shards, between the normalisers and the routers, and the trainer.
        let mut scoring = None;
        let mut correlation = None;
        let next_links = if config.score.enabled {
            let correlator = if correlating {
                let (tx, c) = start_correlation(
                    config,
                    options,
                    &metrics,
                    router_links.clone(),
                    &mut arbiters,
                    &mut addrs,
                )?;
                let topology = c.topology.clone();
                correlation = Some(c);
                Some((tx, topology))
            } else {
                None
            };
            let (links, sc) = start_scoring(
                config,
                &metrics,
                router_links,
                correlator,
                options.idle_clock,
                &mut arbiters,
                &mut addrs,
            )?;
            scoring = Some(sc);
            links
        } else {
            router_links
        };
        let by_entity = config.score.enabled;

        // Normaliser shards.
        let n_normalisers = shards(config.engine.normaliser_shards);
        let normalisers_drained = Completion::new(n_normalisers);
        let normaliser = Normaliser::with_vendors(config.engine.max_line_bytes, vendors.clone());
        let mut normaliser_links: Vec<Sender<RawBatch>> = Vec::with_capacity(n_normalisers);
        for i in 0..n_normalisers {
            let (tx, rx) = link::<RawBatch>(config.engine.mailbox.normaliser);
            let probe: Arc<dyn DepthProbe> = Arc::new(rx.clone());
            let stage = StageMetrics::new(format!("normaliser-{i}"), "normaliser", Some(probe));
            metrics.add_stage(stage.clone());
            let (n, next, dl, done) = (
                normaliser.clone(),
                next_links.clone(),
                dead_letters.clone(),
                normalisers_drained.clone(),
            );
            let arbiter = Arbiter::new();
            let addr = Supervisor::start_in_arbiter(&arbiter.handle(), move |_| {
                let shard = NormaliserShard::new(n, rx, next, stage, dl, done);
                if by_entity {
                    shard.split_by_entity()
                } else {
                    shard
                }
            });
            addrs.push(Box::new(addr));
            arbiters.push(arbiter);
            normaliser_links.push(tx);
        }
        drop(next_links);

        // Connectors, on one I/O arbiter.
        let cancel = CancellationToken::new();
        let flows = Arc::new(AtomicU64::new(0));
        let io_arbiter = Arbiter::new();
        let mut http_sources = Vec::new();
        let mut source_addrs = HashMap::new();
        // Sequential files: each waits on the one before it.
        let mut previous_file: Option<Arc<Completion>> = None;
        for s in &config.sources {
            let cm = ConnectorMetrics::new(s.name(), s.kind());
            metrics.add_connector(cm.clone());
            let cx = ConnectorContext {
                outputs: normaliser_links.clone(),
                source: Symbol::intern(s.name()),
                vendor: (s.vendor() != "auto").then(|| Symbol::intern(s.vendor())),
                batch_size: config.engine.batch_size,
                max_line: config.engine.max_line_bytes,
                metrics: cm.clone(),
                cancel: cancel.clone(),
                dead_letters: dead_letters.clone(),
                flows: flows.clone(),
            };
            let bind_err = |addr: &str| {
                let (source_name, addr) = (s.name().to_owned(), addr.to_owned());
                move |error| PipelineError::Bind {
                    source_name,
                    addr,
                    error,
                }
            };
            match s {
                SourceConfig::SyslogTcp(t) => {
                    let listener =
                        std::net::TcpListener::bind(&t.listen).map_err(bind_err(&t.listen))?;
                    listener
                        .set_nonblocking(true)
                        .map_err(bind_err(&t.listen))?;
                    let local = listener.local_addr().map_err(bind_err(&t.listen))?;
                    cm.set_bound(local.to_string());
                    source_addrs.insert(t.name.clone(), local);
                    let (framing, max_conn) = (t.framing, t.max_connections);
                    let addr = Supervisor::start_in_arbiter(&io_arbiter.handle(), move |_| {
                        SyslogTcpConnector::new(listener, cx, framing, max_conn)
                    });
                    addrs.push(Box::new(addr));
                }
                SourceConfig::SyslogUdp(u) => {
                    let socket =
                        std::net::UdpSocket::bind(&u.listen).map_err(bind_err(&u.listen))?;
                    socket.set_nonblocking(true).map_err(bind_err(&u.listen))?;
                    let want = u.recv_buffer_bytes.unwrap_or(DEFAULT_UDP_RECV_BUFFER);
                    if let Err(e) = socket2::SockRef::from(&socket).set_recv_buffer_size(want) {
                        tracing::warn!(source = %u.name, error = %e, "cannot set UDP receive buffer");
                    }
                    let local = socket.local_addr().map_err(bind_err(&u.listen))?;
                    cm.set_bound(local.to_string());
                    source_addrs.insert(u.name.clone(), local);
                    let addr = Supervisor::start_in_arbiter(&io_arbiter.handle(), move |_| {
                        SyslogUdpConnector::new(socket, cx)
                    });
                    addrs.push(Box::new(addr));
                }
                SourceConfig::Http(h) => http_sources.push((h.name.clone(), cx)),
                SourceConfig::File(f) => {
                    let settings = FileSettings {
                        path: f.path.clone(),
                        mode: match f.mode {
                            FileMode::Once => FileReadMode::Once,
                            FileMode::Follow => FileReadMode::Follow,
                        },
                        start: match f.start_at {
                            StartAt::Beginning => FileStart::Beginning,
                            StartAt::End => FileStart::End,
                        },
                        poll: Duration::from_millis(f.poll_ms.max(10)),
                        checkpoint: options.file_checkpoints.then(|| {
                            config
                                .engine
                                .data_dir
                                .join("checkpoints")
                                .join(format!("{}.json", f.name))
                        }),
                        after: None,
                        done: None,
                    };
                    let settings = if options.sequential_files {
                        let done = Completion::new(1);
                        FileSettings {
                            after: previous_file.replace(done.clone()),
                            done: Some(done),
                            ..settings
                        }
                    } else {
                        settings
                    };
                    let addr = Supervisor::start_in_arbiter(&io_arbiter.handle(), move |_| {
                        FileConnector::new(settings, cx)
                    });
                    addrs.push(Box::new(addr));
                }
            }
        }
        arbiters.push(io_arbiter);
        drop(normaliser_links);
        let http = Arc::new(HttpIngest::new(
            http_sources,
            Duration::from_millis(config.api.ingest_wait_ms),
            config.api.retry_after_secs,
        ));

        actix_rt::spawn(crate::watchdog::run(
            metrics.clone(),
            Duration::from_millis(config.watchdog.interval_ms.max(10)),
            Duration::from_millis(config.watchdog.stall_after_ms),
            cancel.clone(),
        ));

        tracing::info!(
            normalisers = n_normalisers,
            routers = n_routers,
            targets = config.targets.len(),
            sources = config.sources.len(),
            "pipeline started"
        );
        Ok(Pipeline {
            metrics,
            http,
            vendors,
            dead_letters,
            cancel,
            arbiters,
            addrs,
            targets_drained,
            source_addrs,
            pauses,
            shutdown_timeout: Duration::from_secs(config.engine.shutdown_timeout_secs),
            scoring,
            alerting,
            rules,
            correlation,
        })
    }

    /// The correlator's topology and incidents; `None` when correlation (or scoring) is off.
    pub fn correlation(&self) -> Option<Correlation> {
        self.correlation.clone()
    }

    /// The alert manager; `None` when alerts (or scoring) are off.
    pub fn alerting(&self) -> Option<Alerting> {
        self.alerting.clone()
    }

    /// The routing rules (the API edits them).
    pub fn rules(&self) -> Arc<RouteRules> {
        self.rules.clone()
    }

    /// The scoring side (anomalies, models, trainer); `None` when scoring is off.
    pub fn scoring(&self) -> Option<Scoring> {
        self.scoring.clone()
    }

    /// The pipeline's metrics.
    pub fn metrics(&self) -> Arc<PipelineMetrics> {
        self.metrics.clone()
    }

    /// The HTTP ingest entry point for the API.
    pub fn http_ingest(&self) -> Arc<HttpIngest> {
        self.http.clone()
    }

    /// The vendor mappings (hot-swappable).
    pub fn vendors(&self) -> Arc<VendorRegistry> {
        self.vendors.clone()
    }

    /// The dead-letter writer.
    pub fn dead_letters(&self) -> DeadLetters {
        self.dead_letters.clone()
    }

    /// The bound address of a socket source (useful with port 0).
    pub fn source_addr(&self, name: &str) -> Option<SocketAddr> {
        self.source_addrs.get(name).copied()
    }

    /// The pause switch of a target.
    pub fn target_pause(&self, name: &str) -> Option<Arc<PauseSwitch>> {
        self.pauses.get(name).cloned()
    }

    /// The pause switches of all targets, by name.
    pub fn target_pauses(&self) -> HashMap<String, Arc<PauseSwitch>> {
        self.pauses.clone()
    }

    /// Drains and stops the pipeline: inputs stop, every link empties, targets flush.
    pub async fn shutdown(self) -> ShutdownReport {
        self.cancel.cancel();
        self.http.close();
        // A paused target would never drain.
        for p in self.pauses.values() {
            p.resume();
        }
        let drained = tokio::time::timeout(self.shutdown_timeout, self.targets_drained.wait())
            .await
            .is_ok();
        if !drained {
            tracing::error!(
                timeout_secs = self.shutdown_timeout.as_secs(),
                "pipeline did not drain in time"
            );
        }
        let totals = self.metrics.totals();
        drop(self.addrs);
        for arbiter in &self.arbiters {
            arbiter.stop();
        }
        ShutdownReport { drained, totals }
    }
}
