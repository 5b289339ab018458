//! The `tocsin` command.

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use tocsin_engine::config::Config;

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
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
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
        Command::CheckConfig { config } => match load(&config) {
            Ok(c) => {
                println!(
                    "{}: ok ({} sources, {} targets)",
                    config.display(),
                    c.sources.len(),
                    c.targets.len()
                );
                ExitCode::SUCCESS
            }
            Err(code) => code,
        },
        Command::Run { config } => {
            init_logging();
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
            let max_line = match &config {
                Some(path) => match load(path) {
                    Ok(c) => c.engine.max_line_bytes,
                    Err(code) => return code,
                },
                None => Config::default().engine.max_line_bytes,
            };
            if vendor != "auto" {
                eprintln!("tocsin: unknown vendor {vendor:?} (known: auto)");
                return ExitCode::from(2);
            }
            let normaliser = tocsin_engine::normalise::Normaliser::new(max_line);
            match tocsin_api::normalize::run(&normaliser, &files) {
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

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.downcast_ref::<std::io::Error>()
        .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
}
