//! `tocsin replay`: the real pipeline of a config (vendor mappings, normaliser and router shards,
//! targets, default route, dead letters, data folder) run over captured files instead of the
//! config's sources, e.g. the capture `tocsin-bench --transport file` writes.
//!
//! - The config's sources are replaced by one `file` source per file, read once from its first
//!   byte, with the vendor given (`auto` by default). File offsets are kept in memory only, so a
//!   replay always starts at the beginning and never reads or moves the checkpoints of a live
//!   engine sharing the data folder.
//! - The API binds `127.0.0.1:0`, so a replay never collides with a running engine.
//! - It ends once every file has been read to its end (each connector's `finished` flag) and
//!   every stage has drained (each stage's `drained` flag): the files' connectors let go of
//!   their links at the end, so the links close in pipeline order and each stage finishes what
//!   it holds. Only then is the pipeline shut down and the [`Ledger`] taken, which checks that
//!   every line read is delivered, dropped, a parse error or dead-lettered.
//!
//! Events keep their own event time; the wall clock only stamps their receive time.
//!
//! The replay is deterministic: the files are read one after another through one normaliser
//! and one scorer shard, clocks move only with the events' own time, the models are not
//! retrained during the run, and learned topology edges start empty (none are read from or
//! written to the data folder). So the same files with the same config and topology give the
//! same anomalies and incidents, which it writes as NDJSON ([`Findings`]). Alerts are off: a
//! replay pages no one.

use crate::engine::RunningEngine;
use anyhow::Context as _;
use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tocsin_actors::metrics::{PipelineMetrics, StageMetrics};
use tocsin_actors::PipelineOptions;
use tocsin_engine::config::{Config, FileMode, FileSource, SourceConfig, StartAt};

/// Anomalies and incidents a replay keeps for its output (more are counted as rotated).
const KEPT: usize = 10_000_000;

/// How often the replay looks at the pipeline's flags while it runs.
const POLL: Duration = Duration::from_millis(2);

/// One file to replay, checked before the pipeline starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayFile {
    /// The file as given.
    pub path: PathBuf,
    /// Its length when checked: the replay must read at least this much.
    pub bytes: u64,
}

/// Checks that every file is a readable regular file; the error names the first one that is
/// not.
pub fn check_files(files: &[PathBuf]) -> Result<Vec<ReplayFile>, String> {
    files
        .iter()
        .map(|path| {
            let file = std::fs::File::open(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let meta = file
                .metadata()
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            if meta.is_dir() {
                return Err(format!("cannot read {}: it is a folder", path.display()));
            }
            Ok(ReplayFile {
                path: path.clone(),
                bytes: meta.len(),
            })
        })
        .collect()
}

/// The source name for each file: its path as given, with `#2`, `#3`... on repeats so names
/// stay unique when a file is given twice.
pub fn source_names(files: &[ReplayFile]) -> Vec<String> {
    let mut names: Vec<String> = Vec::with_capacity(files.len());
    for f in files {
        let base = f.path.display().to_string();
        let mut name = base.clone();
        let mut n = 1;
        while names.contains(&name) {
            n += 1;
            name = format!("{base}#{n}");
        }
        names.push(name);
    }
    names
}

/// `config` with its sources replaced by one `once` file source per file (vendor `vendor`)
/// and its API on an ephemeral loopback port, made deterministic: one normaliser and one
/// scorer shard (the files are read one after another, so every event reaches scoring in one
/// order), no background training (the models stay those the replay started with), no alerts
/// (a replay pages no one and writes nothing into the alert database), and every anomaly and
/// incident kept for the output.
pub fn replay_config(config: &Config, files: &[ReplayFile], vendor: &str) -> Config {
    let mut c = config.clone();
    c.engine.normaliser_shards = 1;
    c.score.shards = 1;
    c.score.trainer.interval_secs = 0;
    c.score.anomalies_kept = KEPT;
    c.correlation.incidents_kept = KEPT;
    c.alerts.enabled = false;
    c.sources = files
        .iter()
        .zip(source_names(files))
        .map(|(f, name)| {
            SourceConfig::File(FileSource {
                name,
                path: f.path.clone(),
                mode: FileMode::Once,
                start_at: StartAt::Beginning,
                vendor: vendor.to_owned(),
                // Unused in `once` mode.
                poll_ms: 250,
            })
        })
        .collect();
    c.api.listen = "127.0.0.1:0".to_owned();
    c
}

/// Where every line read went, taken after the pipeline drained.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ledger {
    /// Lines read from the files (handed on or dropped by the connectors).
    pub lines_read: u64,
    /// Lines that became events.
    pub normalised: u64,
    /// Lines that failed to normalise (each also dead-lettered).
    pub parse_errors: u64,
    /// Lines or events dropped anywhere, by any reason.
    pub dropped: u64,
    /// Entries written to the dead-letter file (parse errors included).
    pub dead_letters: u64,
    /// Events each target wrote, by target name, in config order.
    pub delivered: Vec<(String, u64)>,
    /// Anomalies found, delivered beside the events (counted in `delivered`).
    pub findings: u64,
    /// Lines or events no counter accounts for, summed over the stages; 0 when the books
    /// balance.
    pub unaccounted: u64,
}

impl Ledger {
    /// Balances the books of a drained pipeline, stage by stage: what each stage took in is what
    /// the stage before it passed on, and each stage passed on, dropped, failed to parse or
    /// dead-lettered all of it. Every target on `default_targets` receives every routed event;
    /// the others none.
    pub fn take(metrics: &PipelineMetrics, default_targets: &[String]) -> Ledger {
        let connectors = metrics
            .connectors
            .read()
            .map(|v| v.clone())
            .unwrap_or_default();
        let stages = metrics.stages.read().map(|v| v.clone()).unwrap_or_default();
        let totals = metrics.totals();
        let mut unaccounted = 0;
        let mut off = |have: u64, want: u64| unaccounted += have.abs_diff(want);

        let sent: u64 = connectors.iter().map(|c| c.events_in.load(Relaxed)).sum();
        let lines_read = sent + connectors.iter().map(|c| c.dropped.total()).sum::<u64>();
        let normaliser_in = sum(&stages, "normaliser", |s| s.events_in.load(Relaxed));
        let normalised = sum(&stages, "normaliser", |s| s.events_out.load(Relaxed));
        off(normaliser_in, sent);
        off(
            normaliser_in,
            normalised
                + sum(&stages, "normaliser", |s| {
                    s.parse_errors.total() + s.dropped.total() + s.dead_lettered.load(Relaxed)
                }),
        );

        // Scoring adds its findings to the events it passes on.
        let router_in = sum(&stages, "router", |s| s.events_in.load(Relaxed));
        let routed = sum(&stages, "router", |s| s.events_out.load(Relaxed));
        off(router_in, normalised + totals.generated);
        off(
            router_in,
            routed + sum(&stages, "router", |s| s.dropped.total()),
        );

        let mut delivered = Vec::new();
        for t in stages.iter().filter(|s| s.kind == "target") {
            let name = t.name.strip_prefix("target-").unwrap_or(&t.name).to_owned();
            let taken = t.events_in.load(Relaxed);
            let written = t.events_out.load(Relaxed);
            off(
                taken,
                if default_targets.contains(&name) {
                    routed
                } else {
                    0
                },
            );
            off(
                taken,
                written + t.dropped.total() + t.dead_lettered.load(Relaxed),
            );
            delivered.push((name, written));
        }
        Ledger {
            lines_read,
            normalised,
            parse_errors: totals.parse_errors,
            dropped: totals.dropped,
            dead_letters: totals.dead_letters,
            delivered,
            findings: totals.generated,
            unaccounted,
        }
    }
}

/// `f` summed over the stages of `kind`.
fn sum(stages: &[Arc<StageMetrics>], kind: &str, f: impl Fn(&StageMetrics) -> u64) -> u64 {
    stages.iter().filter(|s| s.kind == kind).map(|s| f(s)).sum()
}

/// One file's part of a replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileOutcome {
    /// The file.
    pub path: PathBuf,
    /// Lines read from it.
    pub lines: u64,
    /// Bytes read from it.
    pub bytes_read: u64,
    /// Its length when it was checked.
    pub bytes_expected: u64,
}

impl FileOutcome {
    /// True when the file was read at least as far as it reached when checked (it was not cut
    /// short by a read error, or deleted before it was opened).
    pub fn complete(&self) -> bool {
        self.bytes_read >= self.bytes_expected
    }
}

/// What a replay did.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplaySummary {
    /// Each file, in the order given.
    pub files: Vec<FileOutcome>,
    /// Where every line went.
    pub ledger: Ledger,
    /// Seconds from the pipeline's start until it drained.
    pub seconds: f64,
    /// Incidents the correlator formed.
    pub incidents: usize,
    /// Anomalies or incidents past the replay's bound, not in the output.
    pub rotated: u64,
}

impl ReplaySummary {
    /// True when every file was read to its end, every line is accounted for and every
    /// finding is in the output.
    pub fn complete(&self) -> bool {
        self.ledger.unaccounted == 0
            && self.rotated == 0
            && self.files.iter().all(FileOutcome::complete)
    }
}

impl fmt::Display for ReplaySummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let l = &self.ledger;
        let rate = if self.seconds > 0.0 {
            l.lines_read as f64 / self.seconds
        } else {
            0.0
        };
        writeln!(
            f,
            "tocsin replay: {} file(s), {} lines read in {:.2} s ({rate:.0} lines/s)",
            self.files.len(),
            l.lines_read,
            self.seconds
        )?;
        for file in &self.files {
            write!(f, "  {}: {} lines", file.path.display(), file.lines)?;
            if !file.complete() {
                write!(
                    f,
                    " (only {} of {} bytes read)",
                    file.bytes_read, file.bytes_expected
                )?;
            }
            writeln!(f)?;
        }
        let targets: Vec<String> = l
            .delivered
            .iter()
            .map(|(name, n)| format!("{name} {n}"))
            .collect();
        writeln!(
            f,
            "  delivered: {}",
            if targets.is_empty() {
                "no targets".to_owned()
            } else {
                targets.join(", ")
            }
        )?;
        writeln!(
            f,
            "  dropped {}, parse errors {}, dead letters {}, findings {} (anomalies and incident updates, delivered beside the events), incidents {}",
            l.dropped, l.parse_errors, l.dead_letters, l.findings, self.incidents
        )?;
        if self.rotated > 0 {
            writeln!(
                f,
                "  LEFT OUT of the output: {} anomalies or incidents past the replay's bound of {KEPT}",
                self.rotated
            )?;
        }
        if l.unaccounted > 0 {
            writeln!(
                f,
                "  UNACCOUNTED: {} (the books do not balance)",
                l.unaccounted
            )?;
        }
        Ok(())
    }
}

/// Where a replay writes the anomalies and incidents it found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Findings {
    /// Both on stdout, one JSON object per line, each with `"type": "anomaly"` or
    /// `"incident"`: anomalies first, then incidents.
    Stdout,
    /// `anomalies.ndjson` and `incidents.ndjson` in this folder (created if needed).
    Dir(PathBuf),
}

/// What a replay found, in a fixed order: anomalies by window end, entity, kind and id;
/// incidents (their final state) by first seen and id. Neither carries a wall-clock field, so
/// the same input and config give the same bytes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Found {
    pub anomalies: Vec<serde_json::Value>,
    pub incidents: Vec<serde_json::Value>,
    /// Anomalies or incidents past the replay's bound, left out (and counted).
    pub rotated: u64,
}

impl Found {
    /// Collects what the drained pipeline's stores hold.
    pub fn take(metrics: &PipelineMetrics) -> Found {
        let Ok(scoring) = metrics.scoring.read() else {
            return Found::default();
        };
        let mut found = Found::default();
        if let Some(store) = &scoring.anomalies {
            let mut all = store.query(&tocsin_actors::scorer::AnomalyQuery {
                limit: KEPT,
                ..Default::default()
            });
            all.sort_by(|a, b| {
                (a.window_end_ms, a.entity.as_str(), a.kind, &a.id).cmp(&(
                    b.window_end_ms,
                    b.entity.as_str(),
                    b.kind,
                    &b.id,
                ))
            });
            found.anomalies = all
                .iter()
                .map(|a| {
                    let mut v = a.to_json();
                    if let Some(o) = v.as_object_mut() {
                        o.remove("detected_time");
                    }
                    v
                })
                .collect();
            found.rotated += store.rotated.load(Relaxed);
        }
        if let Some(store) = &scoring.incidents {
            let mut all = store.all();
            all.sort_by(|a, b| (a.first_seen, &a.id).cmp(&(b.first_seen, &b.id)));
            found.incidents = all
                .iter()
                .map(|i| serde_json::to_value(&**i).unwrap_or_default())
                .collect();
            found.rotated += store.rotated.load(Relaxed);
        }
        found
    }

    /// Writes the findings where `to` says.
    pub fn write(&self, to: &Findings) -> std::io::Result<()> {
        use std::io::Write as _;
        let line = |w: &mut dyn std::io::Write, v: &serde_json::Value| -> std::io::Result<()> {
            serde_json::to_writer(&mut *w, v)?;
            w.write_all(b"\n")
        };
        match to {
            Findings::Stdout => {
                let stdout = std::io::stdout();
                let mut w = std::io::BufWriter::new(stdout.lock());
                for (kind, list) in [("anomaly", &self.anomalies), ("incident", &self.incidents)] {
                    for v in list.iter() {
                        let mut tagged = serde_json::Map::new();
                        tagged.insert("type".into(), kind.into());
                        if let Some(o) = v.as_object() {
                            tagged.extend(o.clone());
                        }
                        line(&mut w, &serde_json::Value::Object(tagged))?;
                    }
                }
                w.flush()
            }
            Findings::Dir(dir) => {
                std::fs::create_dir_all(dir)?;
                for (name, list) in [
                    ("anomalies.ndjson", &self.anomalies),
                    ("incidents.ndjson", &self.incidents),
                ] {
                    let mut w = std::io::BufWriter::new(std::fs::File::create(dir.join(name))?);
                    for v in list.iter() {
                        line(&mut w, v)?;
                    }
                    w.flush()?;
                    w.get_ref().sync_all()?;
                }
                Ok(())
            }
        }
    }
}

/// Replays `files` (checked by [`check_files`]) through the pipeline of `config` with `vendor`
/// (`auto` or a mapping's name). SIGINT/SIGTERM stop it early with a draining shutdown, which
/// is an error here.
pub fn run(
    config: &Config,
    files: &[ReplayFile],
    vendor: &str,
) -> anyhow::Result<(ReplaySummary, Found)> {
    let config = replay_config(config, files, vendor);
    let started = Instant::now();
    let engine = RunningEngine::start_with(
        config.clone(),
        true,
        PipelineOptions {
            file_checkpoints: false,
            sequential_files: true,
            learned_edges: false,
            idle_clock: false,
        },
    )?;
    let metrics = engine.bound().metrics.clone();
    while !(metrics.sources_finished() && metrics.drained()) {
        if engine.is_stopped() {
            let report = engine.wait()?;
            anyhow::bail!(
                "stopped before the replay ended: {} lines read, {} delivered",
                report.totals.received,
                report.totals.delivered
            );
        }
        std::thread::sleep(POLL);
    }
    let seconds = started.elapsed().as_secs_f64();
    let report = engine.shutdown().context("shutting the replay down")?;
    if !report.drained {
        anyhow::bail!("the pipeline did not drain before the shutdown timeout");
    }
    let connectors = metrics
        .connectors
        .read()
        .map(|v| v.clone())
        .unwrap_or_default();
    let outcomes = files
        .iter()
        .zip(source_names(files))
        .map(|(f, name)| {
            let c = connectors.iter().find(|c| c.name == name);
            FileOutcome {
                path: f.path.clone(),
                lines: c.map_or(0, |c| c.events_in.load(Relaxed) + c.dropped.total()),
                bytes_read: c.map_or(0, |c| c.bytes_in.load(Relaxed)),
                bytes_expected: f.bytes,
            }
        })
        .collect();
    let found = Found::take(&metrics);
    Ok((
        ReplaySummary {
            files: outcomes,
            ledger: Ledger::take(&metrics, &config.router.default_targets),
            seconds,
            incidents: found.incidents.len(),
            rotated: found.rotated,
        },
        found,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tocsin_actors::metrics::ConnectorMetrics;

    fn file(path: &str) -> ReplayFile {
        ReplayFile {
            path: PathBuf::from(path),
            bytes: 0,
        }
    }

    #[test]
    fn sources_are_once_files_from_the_start_and_the_api_is_ephemeral() {
        let mut config = Config::default();
        config.api.listen = "0.0.0.0:8080".into();
        // The defaults route to a `file` target they do not declare.
        config.router.default_targets.clear();
        config.sources.push(SourceConfig::File(FileSource {
            name: "live".into(),
            path: "/var/log/live.log".into(),
            mode: FileMode::Follow,
            start_at: StartAt::End,
            vendor: "auto".into(),
            poll_ms: 250,
        }));
        let files = [file("a.log"), file("dir/b.log"), file("a.log")];
        let c = replay_config(&config, &files, "cisco_asa");
        assert_eq!(c.api.listen, "127.0.0.1:0");
        let names: Vec<&str> = c.sources.iter().map(|s| s.name()).collect();
        assert_eq!(names, ["a.log", "dir/b.log", "a.log#2"]);
        for (s, f) in c.sources.iter().zip(&files) {
            let SourceConfig::File(fs) = s else {
                panic!("{s:?} is not a file source")
            };
            assert_eq!(fs.path, f.path);
            assert_eq!(fs.mode, FileMode::Once);
            assert_eq!(fs.start_at, StartAt::Beginning);
            assert_eq!(fs.vendor, "cisco_asa");
        }
        assert!(c.validate().is_empty(), "{:?}", c.validate());
    }

    #[test]
    fn check_files_names_the_file_it_cannot_read() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("good.log");
        std::fs::write(&good, "x\n").unwrap();
        let missing = dir.path().join("missing.log");
        let ok = check_files(std::slice::from_ref(&good)).unwrap();
        assert_eq!(ok[0].bytes, 2);
        let err = check_files(&[good, missing.clone()]).unwrap_err();
        assert!(err.contains(&missing.display().to_string()), "{err}");
        let err = check_files(&[dir.path().to_owned()]).unwrap_err();
        assert!(err.contains("folder"), "{err}");
    }

    /// A pipeline of one connector, one normaliser, one router and targets `a` (routed) and
    /// `b` (not routed), with the given counts.
    fn pipeline(read: u64, parse_errors: u64, delivered_a: u64) -> PipelineMetrics {
        let m = PipelineMetrics::default();
        let c = ConnectorMetrics::new("capture.log", "file");
        c.events_in.store(read, Relaxed);
        m.add_connector(c);
        let n = StageMetrics::new("normaliser-0".into(), "normaliser", None);
        n.events_in.store(read, Relaxed);
        n.events_out.store(read - parse_errors, Relaxed);
        n.parse_errors.add("not_utf8", parse_errors);
        m.add_stage(n);
        let r = StageMetrics::new("router-0".into(), "router", None);
        r.events_in.store(read - parse_errors, Relaxed);
        r.events_out.store(read - parse_errors, Relaxed);
        m.add_stage(r);
        let a = StageMetrics::new("target-a".into(), "target", None);
        a.events_in.store(read - parse_errors, Relaxed);
        a.events_out.store(delivered_a, Relaxed);
        m.add_stage(a);
        m.add_stage(StageMetrics::new("target-b".into(), "target", None));
        m
    }

    #[test]
    fn the_ledger_balances_when_every_line_is_delivered_or_a_parse_error() {
        let m = pipeline(100, 3, 97);
        let l = Ledger::take(&m, &["a".to_owned()]);
        assert_eq!(l.unaccounted, 0, "{l:?}");
        assert_eq!(l.lines_read, 100);
        assert_eq!(l.normalised, 97);
        assert_eq!(l.parse_errors, 3);
        assert_eq!(l.delivered, [("a".to_owned(), 97), ("b".to_owned(), 0)]);
    }

    #[test]
    fn the_ledger_finds_events_a_target_neither_wrote_nor_dead_lettered() {
        let m = pipeline(100, 0, 90);
        assert_eq!(Ledger::take(&m, &["a".to_owned()]).unaccounted, 10);
        // A target off the default route must receive nothing: here `a` received 100.
        assert_eq!(Ledger::take(&m, &[]).unaccounted, 100 + 10);
        // Dead-lettered by the target: accounted for.
        let stages = m.stages.read().unwrap().clone();
        stages[2].dead_lettered.store(10, Relaxed);
        assert_eq!(Ledger::take(&m, &["a".to_owned()]).unaccounted, 0);
    }
}
