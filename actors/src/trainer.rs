//! The trainer: an actor on its own arbiter (its own thread) that fits the forests from the
//! samples the scorer shards keep, on a schedule and on demand ([`Retrain`]), off the scoring
//! path. A fitted forest is saved and published through [`Models`]; the shards pick it up at
//! their next window without pausing.

use actix::{Actor, AsyncContext, Context, Handler, Message};
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tocsin_engine::score::models::{Models, TrainReport};

/// Fit now; answers with what was trained.
#[derive(Debug, Message)]
#[rtype(result = "Result<Vec<TrainReport>, String>")]
pub struct Retrain;

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
        }
    }

    fn train(&self, why: &'static str) -> Result<Vec<TrainReport>, String> {
        self.status.runs.fetch_add(1, Relaxed);
        match self
            .models
            .train(self.min_samples, tocsin_engine::clock::now_ms())
        {
            Ok(reports) => {
                for r in &reports {
                    tracing::info!(class = %r.class, version = r.version, trained_on = r.trained_on, why, "forest published");
                }
                if let Ok(mut e) = self.status.last_error.lock() {
                    *e = None;
                }
                Ok(reports)
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
    type Result = Result<Vec<TrainReport>, String>;

    fn handle(&mut self, _: Retrain, _: &mut Context<Self>) -> Self::Result {
        self.train("on demand")
    }
}
