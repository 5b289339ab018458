//! Trained models and the samples they are trained on.
//!
//! - Per entity class (its product, or vendor) an isolation forest over window feature vectors
//!   ([`FEATURES`]). Forests are immutable values published behind an `ArcSwap`: the scorer
//!   shards read the current one per window without a lock, and a new version replaces it
//!   without pausing them.
//! - The reservoirs the shards fill: a uniform sample (Vitter's algorithm R) of each class's
//!   feature vectors, bounded, which the trainer copies out to fit.
//! - Every version is saved in the data folder (`models/forest-<class>-v<N>.rkyv`, rkyv archives)
//!   with `models/registry.json` naming the current one per class, written to a temporary file
//!   and renamed so a crash leaves the old or the new, never half of one. [`Models::open`] loads
//!   them, so a restart scores with the models it had.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use dashmap::DashMap;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use super::forest::{ForestParams, IsolationForest};
use crate::schema::Symbol;

/// Features of a window vector, in order.
pub const FEATURE_NAMES: [&str; FEATURES] = [
    "events",
    "failures",
    "denies",
    "auth_failures",
    "distinct_sources",
    "error_rate",
    "metric_1",
    "metric_2",
];
/// Length of a window feature vector.
pub const FEATURES: usize = 8;

/// The version of the forest file layout.
const FORMAT: u32 = 1;

/// One published forest.
#[derive(Debug, Clone, PartialEq)]
pub struct ForestModel {
    pub class: String,
    pub version: u64,
    /// Vectors it was trained on.
    pub trained_on: u64,
    /// Wall-clock time of training, ms since the epoch.
    pub trained_at_ms: i64,
    pub forest: IsolationForest,
    /// FNV-1a of the forest's archive: equal for the same trees.
    pub checksum: u64,
    /// The file it is saved in (`None` when models are in memory only).
    pub file: Option<PathBuf>,
}

/// What is saved per version.
#[derive(Debug, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
struct ForestFile {
    format: u32,
    class: String,
    version: u64,
    trained_on: u64,
    trained_at_ms: i64,
    forest: IsolationForest,
}

/// `models/registry.json`.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Registry {
    forests: Vec<RegistryEntry>,
    /// The LSTM forecaster of the window family, once one is trained.
    #[serde(default)]
    lstm: Option<LstmInfo>,
}

/// The LSTM forecaster in use: its file (a tch safetensors file, see `score::lstm`) and how it
/// was trained. The model itself is loaded by each shard (it is `Send`, not `Sync`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LstmInfo {
    pub version: u64,
    /// The file's name in the models folder.
    pub file: String,
    /// FNV-1a of the file, hex.
    pub checksum: String,
    /// Windows it was trained on, in how many sequences.
    pub trained_on: u64,
    pub sequences: u64,
    pub trained_at_ms: i64,
    /// Mean squared forecast error before and after training.
    pub loss_before: f64,
    pub loss_after: f64,
}

/// Entities whose recent windows are kept for the LSTM, and windows kept per entity.
pub const SEQUENCE_ENTITIES: usize = 512;
pub const SEQUENCE_WINDOWS: usize = 128;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct RegistryEntry {
    class: String,
    version: u64,
    file: String,
    checksum: String,
}

/// Why models could not be loaded, saved or trained.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {why}")]
    Corrupt { path: String, why: String },
    #[error("training the forest of class {class:?}: {why}")]
    Train { class: String, why: String },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ModelError + '_ {
    move |source| ModelError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// A bounded uniform sample of one class's vectors.
#[derive(Debug)]
struct Reservoir {
    rows: Vec<[f64; FEATURES]>,
    seen: u64,
    rng: SmallRng,
}

/// What one training did for a class.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainReport {
    pub class: String,
    pub version: u64,
    pub trained_on: u64,
    pub checksum: u64,
}

/// A model's description for the API.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelInfo {
    pub kind: &'static str,
    pub class: String,
    pub version: u64,
    pub trained_on: u64,
    pub trained_at_ms: i64,
    pub checksum: String,
    pub trees: usize,
    pub file: Option<String>,
}

/// Counters of the model store.
#[derive(Debug, Default)]
pub struct ModelCounters {
    /// Trainings that published a version.
    pub trained: AtomicU64,
    /// Vectors not sampled because [`Models::MAX_CLASSES`] classes were sampled already.
    pub class_overflow: AtomicU64,
    /// Model files that could not be read at start (the class starts cold).
    pub load_failures: AtomicU64,
}

/// The forests in use and the reservoirs they are trained from.
#[derive(Debug)]
pub struct Models {
    dir: Option<PathBuf>,
    forests: ArcSwap<HashMap<Symbol, Arc<ForestModel>>>,
    reservoirs: DashMap<Symbol, Reservoir>,
    reservoir_cap: usize,
    params: ForestParams,
    /// One training at a time (on demand and on schedule may meet).
    training: Mutex<()>,
    pub counters: ModelCounters,
    /// Why model files named by the registry were not loaded (for the caller to log).
    pub load_errors: Vec<String>,
    /// Recent windows of up to [`SEQUENCE_ENTITIES`] entities, for the LSTM.
    sequences: DashMap<Symbol, std::collections::VecDeque<[f32; FEATURES]>>,
    lstm: Mutex<Option<LstmInfo>>,
}

impl Models {
    /// Most classes sampled; vectors of further classes are counted, not kept.
    pub const MAX_CLASSES: usize = 256;

    /// A store that keeps nothing on disk (tests, `tocsin replay`).
    pub fn in_memory(reservoir_cap: usize) -> Models {
        Models {
            dir: None,
            forests: ArcSwap::from_pointee(HashMap::new()),
            reservoirs: DashMap::new(),
            reservoir_cap: reservoir_cap.max(1),
            params: ForestParams::default(),
            training: Mutex::new(()),
            counters: ModelCounters::default(),
            load_errors: Vec::new(),
            sequences: DashMap::new(),
            lstm: Mutex::new(None),
        }
    }

    /// Opens the store in `dir` (created if missing) and loads the forests its registry names.
    /// A forest file that cannot be read is counted and described in `load_errors`, and its class starts cold: a
    /// damaged model must not stop the engine. A registry that cannot be parsed is an error.
    pub fn open(dir: &Path, reservoir_cap: usize) -> Result<Models, ModelError> {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let mut models = Models::in_memory(reservoir_cap);
        models.dir = Some(dir.to_path_buf());
        let registry_path = dir.join("registry.json");
        let registry: Registry = match std::fs::read(&registry_path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| ModelError::Corrupt {
                path: registry_path.display().to_string(),
                why: e.to_string(),
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Registry::default(),
            Err(e) => return Err(io(&registry_path)(e)),
        };
        let mut loaded = HashMap::new();
        for entry in &registry.forests {
            let path = dir.join(&entry.file);
            match load_forest(&path) {
                Ok(model) if model.class == entry.class && model.version == entry.version => {
                    loaded.insert(Symbol::intern(&model.class), Arc::new(model));
                }
                Ok(model) => {
                    models.refuse(format!(
                        "{}: holds {:?} v{}, the registry names {:?} v{}; the class starts cold",
                        path.display(),
                        model.class,
                        model.version,
                        entry.class,
                        entry.version
                    ));
                }
                Err(e) => {
                    models.refuse(format!("{e}; the class starts cold"));
                }
            }
        }
        models.forests.store(Arc::new(loaded));
        if let Some(info) = registry.lstm {
            let path = dir.join(&info.file);
            match std::fs::read(&path) {
                Ok(bytes) if format!("{:016x}", fnv(&bytes)) == info.checksum => {
                    *models.lstm.lock().unwrap_or_else(|p| p.into_inner()) = Some(info);
                }
                Ok(_) => {
                    models.refuse(format!(
                        "{}: does not match the checksum the registry holds; the LSTM starts cold",
                        path.display()
                    ));
                }
                Err(e) => {
                    models.refuse(format!("{}: {e}; the LSTM starts cold", path.display()));
                }
            }
        }
        Ok(models)
    }

    /// Counts a model file that could not be loaded and keeps why, for the caller to log.
    fn refuse(&mut self, why: String) {
        self.counters.load_failures.fetch_add(1, Ordering::Relaxed);
        self.load_errors.push(why);
    }

    /// The models folder (`None` in memory).
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// Keeps `x` as `entity`'s latest window for the LSTM's training sequences (the first
    /// [`SEQUENCE_ENTITIES`] entities seen, their last [`SEQUENCE_WINDOWS`] windows).
    pub fn sample_window(&self, entity: Symbol, x: &[f64; FEATURES]) {
        if !x.iter().all(|v| v.is_finite()) {
            return;
        }
        if !self.sequences.contains_key(&entity) && self.sequences.len() >= SEQUENCE_ENTITIES {
            return;
        }
        let mut seq = self.sequences.entry(entity).or_default();
        if seq.len() >= SEQUENCE_WINDOWS {
            seq.pop_front();
        }
        seq.push_back(x.map(|v| v as f32));
    }

    /// The kept sequences with at least `min_len` windows, `FEATURES` values a window, in entity
    /// name order (so training on the same samples is the same training).
    pub fn sequences(&self, min_len: usize) -> Vec<Vec<f32>> {
        let mut v: Vec<(String, Vec<f32>)> = self
            .sequences
            .iter()
            .filter(|s| s.len() >= min_len.max(2))
            .map(|s| {
                (
                    s.key().as_str().to_owned(),
                    s.iter().flatten().copied().collect(),
                )
            })
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v.into_iter().map(|(_, s)| s).collect()
    }

    /// The LSTM in use, if one has been trained.
    pub fn lstm(&self) -> Option<LstmInfo> {
        self.lstm.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Records a newly saved LSTM file (already in the models folder) as the one in use.
    pub fn publish_lstm(&self, mut info: LstmInfo) -> Result<(), ModelError> {
        if let Some(dir) = &self.dir {
            let path = dir.join(&info.file);
            let bytes = std::fs::read(&path).map_err(io(&path))?;
            info.checksum = format!("{:016x}", fnv(&bytes));
        }
        *self.lstm.lock().unwrap_or_else(|p| p.into_inner()) = Some(info);
        self.save_registry()
    }

    /// The next LSTM version.
    pub fn next_lstm_version(&self) -> u64 {
        self.lstm().map_or(1, |l| l.version + 1)
    }

    /// The current forest of `class`.
    pub fn forest(&self, class: Symbol) -> Option<Arc<ForestModel>> {
        self.forests.load().get(&class).cloned()
    }

    /// Adds a vector to `class`'s reservoir.
    pub fn sample(&self, class: Symbol, x: &[f64; FEATURES]) {
        if !x.iter().all(|v| v.is_finite()) {
            return;
        }
        if !self.reservoirs.contains_key(&class) && self.reservoirs.len() >= Self::MAX_CLASSES {
            self.counters.class_overflow.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let cap = self.reservoir_cap;
        let mut r = self.reservoirs.entry(class).or_insert_with(|| Reservoir {
            rows: Vec::new(),
            seen: 0,
            rng: SmallRng::seed_from_u64(seed_of(class.as_str())),
        });
        r.seen += 1;
        if r.rows.len() < cap {
            r.rows.push(*x);
        } else {
            let seen = r.seen;
            let j = r.rng.gen_range(0..seen);
            if (j as usize) < cap {
                r.rows[j as usize] = *x;
            }
        }
    }

    /// Vectors sampled so far per class (`(class, kept, seen)`), sorted by class.
    pub fn sampled(&self) -> Vec<(String, usize, u64)> {
        let mut v: Vec<_> = self
            .reservoirs
            .iter()
            .map(|r| (r.key().as_str().to_owned(), r.rows.len(), r.seen))
            .collect();
        v.sort();
        v
    }

    /// Fits a new forest for every class whose reservoir holds at least `min_samples` vectors,
    /// saves it and publishes it. Runs off the scoring path (the trainer's thread); the shards
    /// keep scoring with the old forest until the new one is published.
    pub fn train(&self, min_samples: usize, now_ms: i64) -> Result<Vec<TrainReport>, ModelError> {
        let _one = self
            .training
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut jobs: Vec<(Symbol, Vec<f64>, u64)> = Vec::new();
        for r in self.reservoirs.iter() {
            if r.rows.len() >= min_samples.max(2) {
                let flat: Vec<f64> = r.rows.iter().flatten().copied().collect();
                jobs.push((*r.key(), flat, r.rows.len() as u64));
            }
        }
        jobs.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
        let mut reports = Vec::new();
        for (class, data, n) in jobs {
            let version = self.forest(class).map_or(1, |m| m.version + 1);
            let params = ForestParams {
                seed: seed_of(class.as_str()) ^ version,
                ..self.params
            };
            let forest = IsolationForest::train(&data, FEATURES, params).map_err(|why| {
                ModelError::Train {
                    class: class.as_str().to_owned(),
                    why,
                }
            })?;
            let file = ForestFile {
                format: FORMAT,
                class: class.as_str().to_owned(),
                version,
                trained_on: n,
                trained_at_ms: now_ms,
                forest,
            };
            let bytes =
                rkyv::to_bytes::<rkyv::rancor::Error>(&file).map_err(|e| ModelError::Train {
                    class: file.class.clone(),
                    why: format!("cannot archive the forest: {e}"),
                })?;
            let checksum = fnv(&bytes);
            let path = match &self.dir {
                Some(dir) => {
                    let path =
                        dir.join(format!("forest-{}-v{version}.rkyv", file_safe(&file.class)));
                    write_atomic(&path, &bytes)?;
                    Some(path)
                }
                None => None,
            };
            let model = Arc::new(ForestModel {
                class: file.class,
                version,
                trained_on: n,
                trained_at_ms: now_ms,
                forest: file.forest,
                checksum,
                file: path,
            });
            self.forests.rcu(|current| {
                let mut next = HashMap::clone(current);
                next.insert(class, model.clone());
                next
            });
            self.save_registry()?;
            self.counters.trained.fetch_add(1, Ordering::Relaxed);
            reports.push(TrainReport {
                class: model.class.clone(),
                version,
                trained_on: n,
                checksum,
            });
        }
        Ok(reports)
    }

    /// The published models, sorted by class.
    pub fn list(&self) -> Vec<ModelInfo> {
        let mut v: Vec<ModelInfo> = self
            .forests
            .load()
            .values()
            .map(|m| ModelInfo {
                kind: "forest",
                class: m.class.clone(),
                version: m.version,
                trained_on: m.trained_on,
                trained_at_ms: m.trained_at_ms,
                checksum: format!("{:016x}", m.checksum),
                trees: m.forest.trees(),
                file: m.file.as_ref().map(|p| p.display().to_string()),
            })
            .collect();
        v.sort_by(|a, b| a.class.cmp(&b.class));
        if let Some(l) = self.lstm() {
            v.push(ModelInfo {
                kind: "lstm",
                class: "window".into(),
                version: l.version,
                trained_on: l.trained_on,
                trained_at_ms: l.trained_at_ms,
                checksum: l.checksum.clone(),
                trees: 0,
                file: self
                    .dir
                    .as_ref()
                    .map(|d| d.join(&l.file).display().to_string()),
            });
        }
        v
    }

    fn save_registry(&self) -> Result<(), ModelError> {
        let Some(dir) = &self.dir else {
            return Ok(());
        };
        let mut forests: Vec<RegistryEntry> = self
            .forests
            .load()
            .values()
            .filter_map(|m| {
                Some(RegistryEntry {
                    class: m.class.clone(),
                    version: m.version,
                    file: m.file.as_ref()?.file_name()?.to_string_lossy().into_owned(),
                    checksum: format!("{:016x}", m.checksum),
                })
            })
            .collect();
        forests.sort_by(|a, b| a.class.cmp(&b.class));
        let json = serde_json::to_vec_pretty(&Registry {
            forests,
            lstm: self.lstm(),
        })
        .map_err(|e| ModelError::Corrupt {
            path: dir.join("registry.json").display().to_string(),
            why: e.to_string(),
        })?;
        write_atomic(&dir.join("registry.json"), &json)
    }
}

/// Reads and checks one forest file.
fn load_forest(path: &Path) -> Result<ForestModel, ModelError> {
    let data = std::fs::read(path).map_err(io(path))?;
    let corrupt = |why: String| ModelError::Corrupt {
        path: path.display().to_string(),
        why,
    };
    // rkyv reads from aligned memory.
    let mut aligned = rkyv::util::AlignedVec::<16>::with_capacity(data.len());
    aligned.extend_from_slice(&data);
    let file = rkyv::from_bytes::<ForestFile, rkyv::rancor::Error>(&aligned)
        .map_err(|e| corrupt(format!("not a forest archive: {e}")))?;
    if file.format != FORMAT {
        return Err(corrupt(format!(
            "forest file format {} (this build reads {FORMAT})",
            file.format
        )));
    }
    file.forest.check().map_err(corrupt)?;
    if file.forest.dims() != FEATURES {
        return Err(corrupt(format!(
            "a forest of {} features (this build scores {FEATURES})",
            file.forest.dims()
        )));
    }
    Ok(ForestModel {
        class: file.class,
        version: file.version,
        trained_on: file.trained_on,
        trained_at_ms: file.trained_at_ms,
        forest: file.forest,
        checksum: fnv(&data),
        file: Some(path.to_path_buf()),
    })
}

/// Writes `bytes` to `path` through a temporary file, synced, then renamed over it.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ModelError> {
    crate::durable::write_atomic(path, bytes).map_err(io(path))
}

/// A class name as a file name part: ASCII letters, digits, `-` and `_`; others become `_`.
fn file_safe(class: &str) -> String {
    class
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// FNV-1a of `bytes`: a model file's checksum.
fn fnv(bytes: &[u8]) -> u64 {
    crate::durable::fnv1a(bytes.iter().copied())
}

fn seed_of(class: &str) -> u64 {
    crate::durable::fnv1a(class.bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Window vectors of an ordinary device: every feature wobbles a little (a hash of `i`).
    fn normal_row(i: usize) -> [f64; FEATURES] {
        let mut x = [4.0, 0.5, 0.2, 0.1, 1.5, 0.05, 3.0, 2.0];
        for (f, v) in x.iter_mut().enumerate() {
            let h = ((i * 8 + f) as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 40;
            *v += (h % 1000) as f64 / 1000.0 * 0.4;
        }
        x
    }

    fn odd_row() -> [f64; FEATURES] {
        [9.0, 6.0, 5.0, 6.0, 4.0, 0.9, 9.0, 0.0]
    }

    #[test]
    fn a_class_gets_a_forest_once_it_has_enough_samples() {
        let m = Models::in_memory(1000);
        let class = Symbol::intern("models-test-class");
        for i in 0..50 {
            m.sample(class, &normal_row(i));
        }
        assert!(m.train(100, 0).unwrap().is_empty());
        assert!(m.forest(class).is_none());
        for i in 50..400 {
            m.sample(class, &normal_row(i));
        }
        let reports = m.train(100, 0).unwrap();
        assert_eq!(reports.len(), 1);
        assert_eq!((reports[0].version, reports[0].trained_on), (1, 400));
        let f = m.forest(class).unwrap();
        assert!(f.forest.score(&odd_row()) > 0.6);
        assert!(f.forest.score(&normal_row(3)) < 0.5);
        assert_eq!(m.train(100, 0).unwrap()[0].version, 2);
    }

    #[test]
    fn the_reservoir_is_bounded_and_counts_what_it_saw() {
        let m = Models::in_memory(64);
        let class = Symbol::intern("models-test-bounded");
        for i in 0..10_000 {
            m.sample(class, &normal_row(i));
        }
        let sampled = m.sampled();
        let (_, kept, seen) = sampled
            .iter()
            .find(|(c, _, _)| c == "models-test-bounded")
            .unwrap();
        assert_eq!((*kept, *seen), (64, 10_000));
    }

    #[test]
    fn saved_forests_load_with_the_same_version_and_scores() {
        let dir = tempfile::tempdir().unwrap();
        let class = Symbol::intern("Cisco ASA/test");
        let (version, checksum, scores) = {
            let m = Models::open(dir.path(), 500).unwrap();
            for i in 0..300 {
                m.sample(class, &normal_row(i));
            }
            m.train(100, 1_700_000_000_000).unwrap();
            m.train(100, 1_700_000_000_001).unwrap();
            let f = m.forest(class).unwrap();
            (
                f.version,
                f.checksum,
                [f.forest.score(&odd_row()), f.forest.score(&normal_row(1))],
            )
        };
        let m = Models::open(dir.path(), 500).unwrap();
        let f = m.forest(class).expect("loaded at open");
        assert_eq!((f.version, f.checksum), (version, checksum));
        assert_eq!(version, 2);
        assert_eq!(
            [f.forest.score(&odd_row()), f.forest.score(&normal_row(1))],
            scores
        );
        assert_eq!(
            m.list()[0]
                .file
                .as_deref()
                .map(|p| p.ends_with("forest-Cisco_ASA_test-v2.rkyv")),
            Some(true)
        );
    }

    #[test]
    fn a_damaged_forest_file_is_refused_and_its_class_starts_cold() {
        let dir = tempfile::tempdir().unwrap();
        let class = Symbol::intern("models-test-damaged");
        {
            let m = Models::open(dir.path(), 500).unwrap();
            for i in 0..300 {
                m.sample(class, &normal_row(i));
            }
            m.train(100, 0).unwrap();
        }
        let file = dir.path().join("forest-models-test-damaged-v1.rkyv");
        let mut bytes = std::fs::read(&file).unwrap();
        let len = bytes.len();
        bytes.truncate(len / 2);
        std::fs::write(&file, bytes).unwrap();
        let m = Models::open(dir.path(), 500).unwrap();
        assert!(m.forest(class).is_none());
        assert_eq!(m.counters.load_failures.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn a_broken_registry_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("registry.json"), "{not json").unwrap();
        let e = Models::open(dir.path(), 10).unwrap_err().to_string();
        assert!(e.contains("registry.json"), "{e}");
    }
}
