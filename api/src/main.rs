//! The `tocsin` command.

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use tocsin_engine::config::Config;
use tocsin_engine::normalise::mapping::VendorRegistry;
use tocsin_engine::normalise::Normaliser;
use tocsin_engine::schema::Symbol;

/// mimalloc: the normaliser's short-lived per-line values (JSON keys, converted values) spent a
/// fifth of a CloudTrail profile in glibc malloc/free; see BENCHMARKS.md.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const DEFAULT_CONFIG: &str = "config/tocsin.toml";

/// tocsin: an AIOps event engine for managed service providers.
#[derive(Debug, Parser)]
#[command(name = "tocsin", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the engine until SIGINT or SIGTERM (then drain and exit 0).
    Run {
        /// The engine config.
        #[arg(long, short, default_value = DEFAULT_CONFIG)]
        config: PathBuf,
    },
    /// Validate a config and print every error with file, line and field.
    CheckConfig {
        /// The engine config.
        #[arg(long, short, default_value = DEFAULT_CONFIG)]
        config: PathBuf,
    },
    /// Normalise raw lines from files (or stdin) into one JSON event per line on stdout.
    Normalize {
        /// The vendor mapping to apply, or `auto` to detect it per line.
        #[arg(long, default_value = "auto")]
        vendor: String,
        /// The engine config (for the maximum line length); defaults apply without it.
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Input files; stdin when none.
        files: Vec<PathBuf>,
    },
    /// Replay captured files (one raw line per line) through the config's real pipeline, in
    /// place of its sources: each file is read once from its start (no checkpoint is read or
    /// written), the API listens on 127.0.0.1:0, and the command exits 0 once every line is
    /// delivered, dropped, a parse error or dead-lettered, with a summary on stderr. It runs in
    /// event time, as fast as it can, deterministically, and writes the anomalies and
    /// incidents it found as NDJSON.
    /// Score one signal offline: a CSV with `timestamp,value` rows in time order in, the same
    /// rows with `anomaly_score` (0..1, computed online: a row's score uses only the rows up to
    /// it) out on stdout.
    ScoreSeries {
        /// An engine config whose `[score.weights]` apply (default: the built-in weights).
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// The CSV file.
        file: PathBuf,
    },
    Replay {
        /// The engine config whose vendors, shards, targets, route, dead letters and data
        /// folder are used; its sources are not.
        #[arg(long, short, default_value = DEFAULT_CONFIG)]
        config: PathBuf,
        /// The vendor mapping to apply, or `auto` to detect it per line.
        #[arg(long, default_value = "auto")]
        vendor: String,
        /// The topology to correlate on, in place of the config's.
        #[arg(long)]
        topology: Option<PathBuf>,
        /// Write `anomalies.ndjson` and `incidents.ndjson` into this folder; without it both go
        /// to stdout, one object per line with `"type": "anomaly"` or `"incident"`.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Capture files: raw vendor lines, or NDJSON events in tocsin's JSON form (metric
        /// events included), read in the order given.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

/// Logs to stderr at `RUST_LOG`, or at `default` without it.
fn init_logging(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

fn load(path: &std::path::Path) -> Result<Config, ExitCode> {
    Config::load(path).map_err(|errors| {
        eprintln!("{errors}");
        eprintln!("tocsin: {} error(s) in {}", errors.0.len(), path.display());
        ExitCode::from(1)
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::CheckConfig { config: path } => match checked(&path) {
            Ok((c, vendors)) => {
                println!(
                    "{}: ok ({} sources, {} targets, {} vendor mappings)",
                    path.display(),
                    c.sources.len(),
                    c.targets.len(),
                    vendors.list().len()
                );
                ExitCode::SUCCESS
            }
            Err(code) => code,
        },
        Command::ScoreSeries { config, file } => {
            let weight = match config.map(|c| Config::load(&c)) {
                None => tocsin_engine::config::ScoreWeights::default().statistics,
                Some(Ok(c)) => c.score.weights.statistics,
                Some(Err(e)) => {
                    eprintln!("{e}");
                    return ExitCode::from(2);
                }
            };
            let opened = std::fs::File::open(&file);
            let result = opened
                .map_err(|source| tocsin_api::score_series::SeriesError::Io {
                    path: file.display().to_string(),
                    source,
                })
                .and_then(|f| {
                    tocsin_api::score_series::score_series_weighted(
                        &file.display().to_string(),
                        std::io::BufReader::new(f),
                        std::io::BufWriter::new(std::io::stdout().lock()),
                        weight,
                    )
                });
            match result {
                Ok(_) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("tocsin: {e}");
                    ExitCode::from(1)
                }
            }
        }
        Command::Replay {
            config: path,
            vendor,
            topology,
            out,
            files,
        } => {
            let (mut config, vendors) = match checked(&path) {
                Ok(c) => c,
                Err(code) => return code,
            };
            if let Some(topology) = topology {
                if !(config.correlation.enabled && config.score.enabled) {
                    eprintln!(
                        "tocsin: --topology needs correlation, which {} turns off \
                         (correlation.enabled or score.enabled)",
                        path.display()
                    );
                    return ExitCode::from(1);
                }
                if let Err(e) = tocsin_engine::correlate::Topology::load(&topology) {
                    eprintln!("tocsin: {}: {e}", topology.display());
                    return ExitCode::from(1);
                }
                config.correlation.topology_file = Some(topology);
            }
            let to = match out {
                Some(dir) => tocsin_api::replay::Findings::Dir(dir),
                None => tocsin_api::replay::Findings::Stdout,
            };
            if vendor != "auto" && !vendors.contains(&vendor) {
                return unknown_vendor(&vendor, &vendors);
            }
            let files = match tocsin_api::replay::check_files(&files) {
                Ok(f) => f,
                Err(e) => {
                    eprintln!("tocsin: {e}");
                    return ExitCode::from(1);
                }
            };
            // Warnings and errors only by default: the summary is what a replay prints.
            init_logging("warn");
            match tocsin_api::replay::run(&config, &files, &vendor) {
                Ok((summary, found)) => {
                    eprint!("{summary}");
                    if let Err(e) = found.write(&to) {
                        eprintln!("tocsin: cannot write the findings: {e}");
                        return ExitCode::from(1);
                    }
                    if summary.complete() {
                        ExitCode::SUCCESS
                    } else {
                        ExitCode::from(1)
                    }
                }
                Err(e) => {
                    eprintln!("tocsin: {e:#}");
                    ExitCode::from(1)
                }
            }
        }
        Command::Run { config } => {
            init_logging("info");
            let config = match load(&config) {
                Ok(c) => c,
                Err(code) => return code,
            };
            let engine = match tocsin_api::RunningEngine::start(config, true) {
                Ok(e) => e,
                Err(e) => {
                    eprintln!("tocsin: {e:#}");
                    return ExitCode::from(1);
                }
            };
            match engine.wait() {
                Ok(report) if report.drained => ExitCode::SUCCESS,
                Ok(_) => {
                    eprintln!("tocsin: the pipeline did not drain before the shutdown timeout");
                    ExitCode::from(1)
                }
                Err(e) => {
                    eprintln!("tocsin: {e:#}");
                    ExitCode::from(1)
                }
            }
        }
        Command::Normalize {
            vendor,
            config,
            files,
        } => {
            let (max_line, vendors_dir) = match normalize_settings(config.as_deref()) {
                Ok(s) => s,
                Err(code) => return code,
            };
            let registry = match VendorRegistry::load_dir(&vendors_dir) {
                Ok(r) => Arc::new(r),
                Err(e) => {
                    eprintln!("{e}");
                    eprintln!(
                        "tocsin: cannot load vendor mappings from {}",
                        vendors_dir.display()
                    );
                    return ExitCode::from(1);
                }
            };
            if vendor != "auto" && !registry.contains(&vendor) {
                return unknown_vendor(&vendor, &registry);
            }
            let hint = (vendor != "auto").then(|| Symbol::intern(&vendor));
            let normaliser = Normaliser::with_vendors(max_line, registry);
            match tocsin_api::normalize::run(&normaliser, hint, &files) {
                Ok(_) => ExitCode::SUCCESS,
                Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("tocsin: {e:#}");
                    ExitCode::from(1)
                }
            }
        }
    }
}

/// A config as `check-config` checks it: parsed and validated, its vendor mappings loaded, and
/// every source's vendor known. Prints every error (as `check-config` does) and gives exit
/// code 1 when there is one.
fn checked(path: &std::path::Path) -> Result<(Config, VendorRegistry), ExitCode> {
    let c = load(path)?;
    let vendors = VendorRegistry::load_dir(&c.engine.vendors_dir).map_err(|e| {
        eprintln!("{e}");
        eprintln!(
            "tocsin: {} broken vendor mapping(s) in {}",
            e.0.len(),
            c.engine.vendors_dir.display()
        );
        ExitCode::from(1)
    })?;
    let unknown: Vec<String> = c
        .sources
        .iter()
        .filter(|s| s.vendor() != "auto" && !vendors.contains(s.vendor()))
        .map(|s| {
            format!(
                "source {:?}: no vendor mapping named {:?}",
                s.name(),
                s.vendor()
            )
        })
        .collect();
    if !unknown.is_empty() {
        for u in &unknown {
            eprintln!("{}: {u}", path.display());
        }
        return Err(ExitCode::from(1));
    }
    if let Some(rules) = &c.router.rules_file {
        let names: Vec<&str> = c.targets.iter().map(|t| t.name()).collect();
        match tocsin_engine::route::RuleSet::load(rules, &names) {
            Err(e) => {
                eprintln!("{}: {e}", rules.display());
                return Err(ExitCode::from(1));
            }
            Ok(set) => {
                let known: Vec<String> = c.alerts.runbooks.iter().map(|r| r.name.clone()).collect();
                if let Some(why) = tocsin_actors::rules::unknown_runbooks(&set, &known) {
                    eprintln!("{}: {why}", rules.display());
                    return Err(ExitCode::from(1));
                }
            }
        }
    }
    if let Some(topology) = &c.correlation.topology_file {
        if c.correlation.enabled {
            if let Err(e) = tocsin_engine::correlate::Topology::load(topology) {
                eprintln!("{}: {e}", topology.display());
                return Err(ExitCode::from(1));
            }
        }
    }
    Ok((c, vendors))
}

/// `--vendor` names no mapping: says which exist (exit code 2, a usage error).
fn unknown_vendor(vendor: &str, registry: &VendorRegistry) -> ExitCode {
    let known: Vec<String> = registry.list().into_iter().map(|v| v.name).collect();
    eprintln!(
        "tocsin: unknown vendor {vendor:?} (known: auto, {})",
        known.join(", ")
    );
    ExitCode::from(2)
}

/// `--config` for `normalize`: a config file, or a folder holding `tocsin.toml` and/or
/// `vendors/`; without it, the defaults as if read from the default config's folder
/// (`config/vendors`). A relative `vendors_dir` is always taken from the config's folder.
fn normalize_settings(config: Option<&std::path::Path>) -> Result<(usize, PathBuf), ExitCode> {
    let defaults_in = |folder: &std::path::Path| {
        let d = Config::default().engine;
        (d.max_line_bytes, folder.join(d.vendors_dir))
    };
    match config {
        None => Ok(defaults_in(
            std::path::Path::new(DEFAULT_CONFIG)
                .parent()
                .unwrap_or(std::path::Path::new("")),
        )),
        Some(dir) if dir.is_dir() && !dir.join("tocsin.toml").exists() => Ok(defaults_in(dir)),
        Some(dir) if dir.is_dir() => {
            let c = load(&dir.join("tocsin.toml"))?;
            Ok((c.engine.max_line_bytes, c.engine.vendors_dir))
        }
        Some(file) => {
            let c = load(file)?;
            Ok((c.engine.max_line_bytes, c.engine.vendors_dir))
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.downcast_ref::<std::io::Error>()
        .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
}
