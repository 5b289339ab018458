//! The watchdog: marks a stage stalled when its input link holds batches but its progress
//! counter (batches done) has not moved for the configured time, and clears the mark when it
//! moves again. Runs on the control path, never behind data.

use crate::metrics::PipelineMetrics;
use std::collections::HashMap;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Per-stage progress seen at the last check.
#[derive(Debug, Default)]
pub struct Watchdog {
    last: HashMap<String, (u64, Instant)>,
    stall_after: Duration,
}

impl Watchdog {
    /// A watchdog that calls a stage stalled after `stall_after` without progress.
    pub fn new(stall_after: Duration) -> Watchdog {
        Watchdog {
            last: HashMap::new(),
            stall_after,
        }
    }

    /// Checks every stage at time `now`; returns the names newly marked stalled.
    pub fn check(&mut self, metrics: &PipelineMetrics, now: Instant) -> Vec<String> {
        let mut newly = Vec::new();
        let stages = metrics.stages.read().map(|s| s.clone()).unwrap_or_default();
        for stage in stages {
            let progress = stage.batches.load(Relaxed);
            let depth = stage.depth();
            let entry = self
                .last
                .entry(stage.name.clone())
                .or_insert((progress, now));
            if progress != entry.0 || depth == 0 {
                *entry = (progress, now);
                if stage.stalled.swap(false, Relaxed) {
                    tracing::info!(actor = %stage.name, "making progress again");
                }
                continue;
            }
            if now.duration_since(entry.1) >= self.stall_after && !stage.stalled.swap(true, Relaxed)
            {
                tracing::warn!(actor = %stage.name, depth, "stalled: input waiting, no progress");
                newly.push(stage.name.clone());
            }
        }
        newly
    }
}

/// Runs the watchdog every `interval` until `cancel`.
pub async fn run(
    metrics: Arc<PipelineMetrics>,
    interval: Duration,
    stall_after: Duration,
    cancel: tokio_util::sync::CancellationToken,
) {
    let mut dog = Watchdog::new(stall_after);
    let mut tick = tokio::time::interval(interval);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tick.tick() => { dog.check(&metrics, Instant::now()); }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::link::{link, DepthProbe};
    use crate::metrics::StageMetrics;

    #[test]
    fn a_full_stage_without_progress_is_stalled_until_it_moves() {
        let (tx, rx) = link::<u32>(4);
        tx.try_send(1).unwrap();
        let probe: Arc<dyn DepthProbe> = Arc::new(rx);
        let stage = StageMetrics::new("router-0".into(), "router", Some(probe));
        let metrics = PipelineMetrics::default();
        metrics.add_stage(stage.clone());
        let mut dog = Watchdog::new(Duration::from_secs(5));
        let t0 = Instant::now();
        assert!(dog.check(&metrics, t0).is_empty());
        assert!(dog.check(&metrics, t0 + Duration::from_secs(4)).is_empty());
        assert_eq!(
            dog.check(&metrics, t0 + Duration::from_secs(6)),
            vec!["router-0"]
        );
        assert!(stage.stalled.load(Relaxed));
        stage.batches.fetch_add(1, Relaxed);
        dog.check(&metrics, t0 + Duration::from_secs(7));
        assert!(!stage.stalled.load(Relaxed));
    }

    #[test]
    fn an_idle_stage_is_not_stalled() {
        let (_tx, rx) = link::<u32>(4);
        let probe: Arc<dyn DepthProbe> = Arc::new(rx);
        let stage = StageMetrics::new("normaliser-0".into(), "normaliser", Some(probe));
        let metrics = PipelineMetrics::default();
        metrics.add_stage(stage.clone());
        let mut dog = Watchdog::new(Duration::from_secs(1));
        let t0 = Instant::now();
        dog.check(&metrics, t0);
        assert!(dog.check(&metrics, t0 + Duration::from_secs(60)).is_empty());
        assert!(!stage.stalled.load(Relaxed));
    }
}
