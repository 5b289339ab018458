//! Runs the engine: the pipeline and the API in one actix `System`, on a thread of its own, with
//! a draining shutdown on SIGINT/SIGTERM or on request.

use crate::server::{routes, AppState};
use anyhow::Context as _;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tocsin_actors::metrics::PipelineMetrics;
use tocsin_actors::{Pipeline, PipelineOptions, ShutdownReport};
use tocsin_engine::config::{Config, SourceConfig};
use tocsin_engine::normalise::mapping::VendorRegistry;
use tokio::sync::oneshot;

/// Where the running engine listens.
#[derive(Debug, Clone)]
pub struct Bound {
    /// The API (and HTTP ingest) address.
    pub api: SocketAddr,
    /// Socket sources' bound addresses, by source name.
    pub sources: HashMap<String, SocketAddr>,
    /// The pipeline's metrics.
    pub metrics: Arc<PipelineMetrics>,
}

/// A running engine on its own thread.
#[derive(Debug)]
pub struct RunningEngine {
    bound: Bound,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<anyhow::Result<ShutdownReport>>>,
}

impl RunningEngine {
    /// Starts the engine; returns once every listener is bound. With `handle_signals`, SIGINT
    /// and SIGTERM start the draining shutdown.
    pub fn start(config: Config, handle_signals: bool) -> anyhow::Result<RunningEngine> {
        RunningEngine::start_with(config, handle_signals, PipelineOptions::default())
    }

    /// [`RunningEngine::start`] with pipeline options (`tocsin replay` keeps no file offsets).
    pub fn start_with(
        config: Config,
        handle_signals: bool,
        options: PipelineOptions,
    ) -> anyhow::Result<RunningEngine> {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<anyhow::Result<Bound>>();
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("tocsin-system".into())
            .spawn(move || {
                let system = actix_rt::System::new();
                system.block_on(serve(config, options, handle_signals, ready_tx, stop_rx))
            })
            .context("cannot start the engine thread")?;
        match ready_rx.recv() {
            Ok(Ok(bound)) => Ok(RunningEngine {
                bound,
                stop: Some(stop_tx),
                thread: Some(thread),
            }),
            Ok(Err(e)) => {
                let _ = thread.join();
                Err(e)
            }
            Err(_) => match thread.join() {
                Ok(Err(e)) => Err(e),
                _ => anyhow::bail!("the engine thread ended before it was ready"),
            },
        }
    }

    /// Where it listens.
    pub fn bound(&self) -> &Bound {
        &self.bound
    }

    /// The API address.
    pub fn api_addr(&self) -> SocketAddr {
        self.bound.api
    }

    /// A socket source's bound address.
    pub fn source_addr(&self, name: &str) -> Option<SocketAddr> {
        self.bound.sources.get(name).copied()
    }

    /// True once the engine has stopped by itself (a signal) or failed.
    pub fn is_stopped(&self) -> bool {
        self.thread.as_ref().is_none_or(|t| t.is_finished())
    }

    /// Drains and stops the engine.
    pub fn shutdown(mut self) -> anyhow::Result<ShutdownReport> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.wait()
    }

    /// Waits until the engine stops by itself (a signal).
    pub fn wait(mut self) -> anyhow::Result<ShutdownReport> {
        match self.thread.take() {
            Some(t) => t
                .join()
                .map_err(|_| anyhow::anyhow!("the engine thread panicked"))?,
            None => anyhow::bail!("engine already stopped"),
        }
    }
}

impl Drop for RunningEngine {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Waits for a stop request or SIGINT/SIGTERM; SIGHUP meanwhile reloads the vendor mappings.
async fn shutdown_requested(
    mut stop: oneshot::Receiver<()>,
    handle_signals: bool,
    vendors: Arc<VendorRegistry>,
) {
    #[cfg(unix)]
    if handle_signals {
        use tokio::signal::unix::{signal, SignalKind};
        let (Ok(mut term), Ok(mut int), Ok(mut hup)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
            signal(SignalKind::hangup()),
        ) else {
            tracing::error!("cannot install signal handlers; stop with the API only");
            let _ = stop.await;
            return;
        };
        loop {
            tokio::select! {
                _ = &mut stop => return,
                _ = term.recv() => { tracing::info!(signal = "SIGTERM", "shutting down"); return }
                _ = int.recv() => { tracing::info!(signal = "SIGINT", "shutting down"); return }
                _ = hup.recv() => match vendors.reload() {
                    Ok(n) => tracing::info!(vendors = n, "SIGHUP: vendor mappings reloaded"),
                    Err(e) => tracing::error!(error = %e, "SIGHUP: vendor mappings not reloaded; the running ones stay"),
                },
            }
        }
    }
    let _ = (handle_signals, vendors);
    let _ = stop.await;
}

async fn serve(
    config: Config,
    options: PipelineOptions,
    handle_signals: bool,
    ready: std::sync::mpsc::Sender<anyhow::Result<Bound>>,
    stop: oneshot::Receiver<()>,
) -> anyhow::Result<ShutdownReport> {
    let pipeline = match Pipeline::start_with(&config, options) {
        Ok(p) => p,
        Err(e) => {
            let msg = e.to_string();
            let _ = ready.send(Err(anyhow::anyhow!(msg.clone())));
            anyhow::bail!(msg);
        }
    };
    let api_bound = Arc::new(AtomicBool::new(false));
    let state = AppState {
        metrics: pipeline.metrics(),
        ingest: pipeline.http_ingest(),
        pauses: Arc::new(pipeline.target_pauses()),
        api_bound: api_bound.clone(),
        vendors: pipeline.vendors(),
        scoring: pipeline.scoring(),
        alerts: pipeline.alerting(),
        rules: pipeline.rules(),
        correlation: pipeline.correlation(),
    };
    let max_body = config.api.ingest_max_body_bytes;
    let app_state = state.clone();
    let server = actix_web::HttpServer::new(move || {
        actix_web::App::new()
            .app_data(actix_web::web::Data::new(app_state.clone()))
            .app_data(actix_web::web::PayloadConfig::new(max_body))
            .configure(routes)
    })
    .workers(config.api.workers.max(1))
    .disable_signals()
    .shutdown_timeout(config.engine.shutdown_timeout_secs);
    let server = match server.bind(&config.api.listen) {
        Ok(s) => s,
        Err(e) => {
            let msg = format!("api: cannot listen on {}: {e}", config.api.listen);
            let _ = ready.send(Err(anyhow::anyhow!(msg.clone())));
            pipeline.shutdown().await;
            anyhow::bail!(msg);
        }
    };
    let api_addr = server
        .addrs()
        .first()
        .copied()
        .context("the API bound no address")?;
    let server = server.run();
    let handle = server.handle();
    actix_rt::spawn(server);
    api_bound.store(true, Ordering::Release);
    state.ingest.mark_bound(&api_addr.to_string());

    let sources = config
        .sources
        .iter()
        .filter(|s| !matches!(s, SourceConfig::Http(_) | SourceConfig::File(_)))
        .filter_map(|s| {
            pipeline
                .source_addr(s.name())
                .map(|a| (s.name().to_owned(), a))
        })
        .collect();
    tracing::info!(api = %api_addr, "tocsin is ready");
    let _ = ready.send(Ok(Bound {
        api: api_addr,
        sources,
        metrics: pipeline.metrics(),
    }));

    shutdown_requested(stop, handle_signals, pipeline.vendors()).await;
    // Stop accepting: the API finishes in-flight requests (their batches are enqueued), then
    // the pipeline drains every link and flushes the targets.
    handle.stop(true).await;
    let report = pipeline.shutdown().await;
    let t = report.totals;
    tracing::info!(
        drained = report.drained,
        received = t.received,
        delivered = t.delivered,
        dropped = t.dropped,
        parse_errors = t.parse_errors,
        dead_letters = t.dead_letters,
        "shutdown complete"
    );
    actix_rt::System::current().stop();
    Ok(report)
}
