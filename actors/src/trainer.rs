//! The trainer: an actor on its own arbiter (its own thread) that fits the forests from the
//! samples the scorer shards keep, on a schedule and on demand ([`Retrain`]), off the scoring
//! path. A fitted forest is saved and published through [`Models`]; the shards pick it up at
//! their next window without pausing.

use actix::{Actor, AsyncContext, Context, Handler, Message};
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tocsin_engine::score::models::{LstmInfo, Models, TrainReport};

/// Fit now; answers with what was trained.
#[derive(Debug, Message)]
#[rtype(result = "Result<Trained, String>")]
pub struct Retrain;

/// What one training published.
#[derive(Debug, Clone, Default)]
pub struct Trained {
    /// Forests, one per class with enough samples.
    pub forests: Vec<TrainReport>,
    /// The LSTM, when there were enough sequences (and the build has it).
    pub lstm: Option<LstmInfo>,
}

/// Windows of the training sequences an LSTM needs at least, and the shortest sequence used.
const LSTM_MIN_SEQUENCE: usize = 16;

/// What the trainer has done, for the API.
#[derive(Debug, Default)]
pub struct TrainerStatus {
    /// Trainings run (scheduled and on demand).
    pub runs: AtomicU64,
    /// Trainings that failed.
    pub failures: AtomicU64,
    /// The last failure, if the last run failed.
    pub last_error: Mutex<Option<String>>,
}

/// The trainer actor.
#[derive(Debug)]
pub struct Trainer {
    models: Arc<Models>,
    min_samples: usize,
    every: Option<Duration>,
    status: Arc<TrainerStatus>,
    /// The scorer shards, each handed its own copy of a new LSTM.
    shards: Vec<actix::Addr<crate::scorer::ScorerShard>>,
}

impl Trainer {
    /// A trainer fitting classes with at least `min_samples` vectors, every `every` (or only
    /// on demand with `None`).
    pub fn new(
        models: Arc<Models>,
        min_samples: usize,
        every: Option<Duration>,
        status: Arc<TrainerStatus>,
    ) -> Trainer {
        Trainer {
            models,
            min_samples,
            every,
            status,
            shards: Vec::new(),
        }
    }

    /// The shards that get each new LSTM.
    pub fn with_shards(mut self, shards: Vec<actix::Addr<crate::scorer::ScorerShard>>) -> Trainer {
        self.shards = shards;
        self
    }

    /// Fits the LSTM of the window family on the kept sequences, saves it, records it and
    /// hands every shard its own copy (loaded from the saved file: a tch model is `Send`, not
    /// `Sync`); `None` when there are too few windows yet.
    #[cfg(feature = "lstm")]
    fn train_lstm(&self) -> Result<Option<LstmInfo>, String> {
        use tocsin_engine::score::lstm::{LstmConfig, LstmModel, TrainParams};
        use tocsin_engine::score::models::FEATURES;
        let Some(dir) = self.models.dir() else {
            return Ok(None);
        };
        let sequences = self.models.sequences(LSTM_MIN_SEQUENCE);
        let windows: usize = sequences.iter().map(|s| s.len() / FEATURES).sum();
        if sequences.len() < 2 || windows < self.min_samples {
            return Ok(None);
        }
        let version = self.models.next_lstm_version();
        let mut config = LstmConfig::new("window", FEATURES);
        config.seed = version;
        let mut model = LstmModel::new(config).map_err(|e| e.to_string())?;
        let params = TrainParams {
            epochs: 10,
            ..TrainParams::default()
        };
        let report = model
            .train(&sequences, &params)
            .map_err(|e| e.to_string())?;
        let file = format!("lstm-window-v{version}.safetensors");
        let path = dir.join(&file);
        model.save(&path).map_err(|e| e.to_string())?;
        let info = LstmInfo {
            version,
            file,
            checksum: String::new(),
            trained_on: windows as u64,
            sequences: sequences.len() as u64,
            trained_at_ms: tocsin_engine::clock::now_ms(),
            loss_before: report.loss_before,
            loss_after: report.loss_after,
        };
        self.models.publish_lstm(info).map_err(|e| e.to_string())?;
        for shard in &self.shards {
            let copy = LstmModel::load(&path).map_err(|e| e.to_string())?;
            shard.do_send(crate::scorer::SwapLstm {
                model: copy,
                version,
            });
        }
        Ok(self.models.lstm())
    }

    #[cfg(not(feature = "lstm"))]
    fn train_lstm(&self) -> Result<Option<LstmInfo>, String> {
        let _ = LSTM_MIN_SEQUENCE;
        Ok(None)
    }

    fn train(&self, why: &'static str) -> Result<Trained, String> {
        self.status.runs.fetch_add(1, Relaxed);
        let result = self
            .models
            .train(self.min_samples, tocsin_engine::clock::now_ms())
            .map_err(|e| e.to_string())
            .and_then(|forests| {
                let lstm = self.train_lstm()?;
                if let Some(l) = &lstm {
                    tracing::info!(
                        version = l.version,
                        windows = l.trained_on,
                        loss_before = l.loss_before,
                        loss_after = l.loss_after,
                        why,
                        "LSTM published"
                    );
                }
                Ok(Trained { forests, lstm })
            });
        match result {
            Ok(trained) => {
                let reports = &trained.forests;
                for r in reports {
                    tracing::info!(class = %r.class, version = r.version, trained_on = r.trained_on, why, "forest published");
                }
                if let Ok(mut e) = self.status.last_error.lock() {
                    *e = None;
                }
                Ok(trained)
            }
            Err(e) => {
                self.status.failures.fetch_add(1, Relaxed);
                tracing::error!(error = %e, why, "training failed; the shards keep the models they have");
                if let Ok(mut last) = self.status.last_error.lock() {
                    *last = Some(e.to_string());
                }
                Err(e.to_string())
            }
        }
    }
}

impl Actor for Trainer {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        if let Some(every) = self.every {
            ctx.run_interval(every, |act, _| {
                let _ = act.train("schedule");
            });
        }
    }
}

impl Handler<Retrain> for Trainer {
    type Result = Result<Trained, String>;

    fn handle(&mut self, _: Retrain, _: &mut Context<Self>) -> Self::Result {
        self.train("on demand")
    }
}
