//! Alert counts and MTTA/MTTR per priority, kept up to date by each transition so reading them
//! costs nothing.
//!
//! MTTA is the mean of `acknowledged_ms - created_ms` over alerts that were acknowledged (their
//! first acknowledgement); MTTR the mean of `resolved_ms - created_ms` over resolved alerts,
//! auto-resolved ones included. Each alert counts under its priority at the moment of the
//! transition. Forgetting old resolved alerts (the book's memory bound) does not change the
//! figures; after a restart they cover what was loaded from the store.

use serde::Serialize;

use super::lifecycle::{Alert, AlertStatus};
use super::Priority;

/// One priority's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PriorityStats {
    /// The priority.
    pub priority: Priority,
    /// Alerts now open.
    pub open: u64,
    /// Alerts now acknowledged.
    pub acknowledged: u64,
    /// Alerts now suppressed.
    pub suppressed: u64,
    /// Alerts resolved.
    pub resolved: u64,
    /// How many acknowledgements MTTA averages.
    pub acknowledged_total: u64,
    /// Mean time to acknowledge, ms (None before the first acknowledgement).
    pub mtta_ms: Option<f64>,
    /// Mean time to resolve, ms (None before the first resolution).
    pub mttr_ms: Option<f64>,
}

/// Running sums for one priority.
#[derive(Debug, Clone, Copy, Default)]
struct Sums {
    by_status: [u64; 4],
    ack_n: u64,
    ack_sum_ms: i128,
    res_n: u64,
    res_sum_ms: i128,
}

/// The incrementally kept counts and MTTA/MTTR sums of an [`super::lifecycle::AlertBook`].
#[derive(Debug, Clone, Default)]
pub struct Mttx {
    by_priority: [Sums; 4],
}

fn status_slot(s: AlertStatus) -> usize {
    match s {
        AlertStatus::Open => 0,
        AlertStatus::Acknowledged => 1,
        AlertStatus::Suppressed => 2,
        AlertStatus::Resolved => 3,
    }
}

fn prio_slot(p: Priority) -> usize {
    usize::from(p.number() - 1)
}

impl Mttx {
    /// Counts an alert that enters the book (new or loaded), with its past acknowledgement and
    /// resolution if it has them.
    pub fn add(&mut self, a: &Alert) {
        let s = &mut self.by_priority[prio_slot(a.priority)];
        s.by_status[status_slot(a.status)] += 1;
        if let Some(t) = a.acknowledged_ms {
            s.ack_n += 1;
            s.ack_sum_ms += i128::from((t - a.created_ms).max(0));
        }
        if let (AlertStatus::Resolved, Some(t)) = (a.status, a.resolved_ms) {
            s.res_n += 1;
            s.res_sum_ms += i128::from((t - a.created_ms).max(0));
        }
    }

    /// Takes back what [`Mttx::add`] counted for this alert (when a loaded alert is replaced).
    pub fn remove(&mut self, a: &Alert) {
        let s = &mut self.by_priority[prio_slot(a.priority)];
        let slot = &mut s.by_status[status_slot(a.status)];
        *slot = slot.saturating_sub(1);
        if let Some(t) = a.acknowledged_ms {
            s.ack_n = s.ack_n.saturating_sub(1);
            s.ack_sum_ms -= i128::from((t - a.created_ms).max(0));
        }
        if let (AlertStatus::Resolved, Some(t)) = (a.status, a.resolved_ms) {
            s.res_n = s.res_n.saturating_sub(1);
            s.res_sum_ms -= i128::from((t - a.created_ms).max(0));
        }
    }

    /// Moves an alert's count from `old` to `new` status/priority.
    pub fn moved(&mut self, old: (Priority, AlertStatus), new: (Priority, AlertStatus)) {
        let from = &mut self.by_priority[prio_slot(old.0)].by_status[status_slot(old.1)];
        *from = from.saturating_sub(1);
        self.by_priority[prio_slot(new.0)].by_status[status_slot(new.1)] += 1;
    }

    /// Adds a first acknowledgement after `delay_ms` to the MTTA of `p`.
    pub fn acknowledged(&mut self, p: Priority, delay_ms: i64) {
        let s = &mut self.by_priority[prio_slot(p)];
        s.ack_n += 1;
        s.ack_sum_ms += i128::from(delay_ms.max(0));
    }

    /// Adds a resolution after `delay_ms` to the MTTR of `p`.
    pub fn resolved(&mut self, p: Priority, delay_ms: i64) {
        let s = &mut self.by_priority[prio_slot(p)];
        s.res_n += 1;
        s.res_sum_ms += i128::from(delay_ms.max(0));
    }

    /// The figures, P1 first.
    pub fn stats(&self) -> Vec<PriorityStats> {
        Priority::ALL
            .into_iter()
            .map(|p| {
                let s = &self.by_priority[prio_slot(p)];
                let mean = |sum: i128, n: u64| (n > 0).then(|| sum as f64 / n as f64);
                PriorityStats {
                    priority: p,
                    open: s.by_status[0],
                    acknowledged: s.by_status[1],
                    suppressed: s.by_status[2],
                    resolved: s.by_status[3],
                    acknowledged_total: s.ack_n,
                    mtta_ms: mean(s.ack_sum_ms, s.ack_n),
                    mttr_ms: mean(s.res_sum_ms, s.res_n),
                }
            })
            .collect()
    }
}
