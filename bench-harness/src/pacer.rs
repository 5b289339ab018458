//! Rate pacing in small time slices: at each slice a sender asks how many lines are due since
//! it started and sends them in one go, then sleeps until the next slice.

use std::sync::Arc;
use std::time::Duration;

/// Length of one pacing slice: short enough to keep bursts small, long enough that sleeping
/// costs little.
pub const SLICE: Duration = Duration::from_millis(2);

/// Paces one sender at `rate` lines/s (None = as fast as possible), capped at `quota` lines and
/// `deadline` of elapsed time.
#[derive(Debug, Clone)]
pub struct Pacer {
    rate: Option<f64>,
    quota: Option<u64>,
    deadline: Option<Duration>,
    schedule: Option<Schedule>,
}

/// A scenario's own pace: `due[k]` lines are due once `k` ticks have passed (so tick `k`'s
/// lines go out at its start). The last entry is the whole quota.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub tick: Duration,
    pub due: Arc<Vec<u64>>,
}

/// What a sender should do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Send up to this many lines now.
    Send(u64),
    /// Nothing is due yet; sleep one slice.
    Wait,
    /// Quota reached or time is up.
    Done,
}

impl Pacer {
    pub fn new(rate: Option<f64>, quota: Option<u64>, deadline: Option<Duration>) -> Pacer {
        Pacer {
            rate,
            quota,
            deadline,
            schedule: None,
        }
    }

    /// Paces by a schedule instead of a fixed rate; the quota is the schedule's total.
    pub fn scheduled(schedule: Schedule) -> Pacer {
        Pacer {
            rate: None,
            quota: schedule.due.last().copied(),
            deadline: None,
            schedule: Some(schedule),
        }
    }

    /// Given the time since the sender started and the lines it sent so far, what is due.
    /// `Send(n)` is never more than the quota left; with no rate it is `u64::MAX` (unbounded)
    /// when there is no quota.
    pub fn step(&self, elapsed: Duration, sent: u64) -> Step {
        let left = match self.quota {
            Some(q) if sent >= q => return Step::Done,
            Some(q) => q - sent,
            None => u64::MAX,
        };
        // Past the deadline, what was due by the deadline is still sent, then nothing more.
        let over = self.deadline.is_some_and(|d| elapsed >= d);
        let elapsed = self.deadline.map_or(elapsed, |d| elapsed.min(d));
        if let Some(sc) = &self.schedule {
            let k = (elapsed.as_nanos() / sc.tick.as_nanos().max(1)) as usize;
            let allowed = sc.due[k.min(sc.due.len() - 1)];
            return match allowed.saturating_sub(sent).min(left) {
                0 => Step::Wait,
                n => Step::Send(n),
            };
        }
        let due = match self.rate {
            None if over => 0,
            None => left,
            Some(rate) => {
                let allowed = (rate * elapsed.as_secs_f64()).floor() as u64;
                allowed.saturating_sub(sent).min(left)
            }
        };
        match (due, over) {
            (0, true) => Step::Done,
            (0, false) => Step::Wait,
            (n, _) => Step::Send(n),
        }
    }
}

/// Splits a total (rate or count) over `n` senders; the first ones take the remainder.
pub fn share(total: u64, n: u32, index: u32) -> u64 {
    let n = u64::from(n.max(1));
    total / n + u64::from(u64::from(index) < total % n)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Drives a pacer with a simulated clock that advances one slice per `Wait` and `per_send`
    /// per sent chunk (at most `max_chunk` lines).
    fn simulate(p: Pacer, max_chunk: u64, per_send: Duration, horizon: Duration) -> u64 {
        let mut now = Duration::ZERO;
        let mut sent = 0;
        while now < horizon {
            match p.step(now, sent) {
                Step::Send(n) => {
                    sent += n.min(max_chunk);
                    now += per_send;
                }
                Step::Wait => now += SLICE,
                Step::Done => break,
            }
        }
        sent
    }

    #[test]
    fn rate_over_duration_sends_rate_times_duration() {
        let p = Pacer::new(Some(10_000.0), None, Some(Duration::from_secs(3)));
        let sent = simulate(
            p.clone(),
            256,
            Duration::from_micros(50),
            Duration::from_secs(10),
        );
        assert_eq!(sent, 30_000);
    }

    #[test]
    fn rate_with_count_stops_at_count() {
        let p = Pacer::new(Some(50_000.0), Some(12_345), None);
        let sent = simulate(
            p.clone(),
            1000,
            Duration::from_micros(10),
            Duration::from_secs(10),
        );
        assert_eq!(sent, 12_345);
        assert_eq!(p.step(Duration::from_secs(1), 12_345), Step::Done);
    }

    #[test]
    fn rate_is_never_exceeded_at_any_instant() {
        let p = Pacer::new(Some(1000.0), None, None);
        assert_eq!(p.step(Duration::ZERO, 0), Step::Wait);
        assert_eq!(p.step(Duration::from_millis(500), 0), Step::Send(500));
        assert_eq!(p.step(Duration::from_millis(500), 500), Step::Wait);
    }

    #[test]
    fn max_rate_sends_whole_quota() {
        let p = Pacer::new(None, Some(1_000_000), None);
        assert_eq!(p.step(Duration::ZERO, 0), Step::Send(1_000_000));
        let sent = simulate(
            p.clone(),
            65_536,
            Duration::from_micros(100),
            Duration::from_secs(60),
        );
        assert_eq!(sent, 1_000_000);
    }

    #[test]
    fn schedule_releases_each_tick_at_its_start() {
        let tick = Duration::from_millis(100);
        let p = Pacer::scheduled(Schedule {
            tick,
            due: Arc::new(vec![5, 5, 12, 20]),
        });
        assert_eq!(p.step(Duration::ZERO, 0), Step::Send(5));
        assert_eq!(p.step(Duration::from_millis(150), 5), Step::Wait);
        assert_eq!(p.step(Duration::from_millis(250), 5), Step::Send(7));
        assert_eq!(p.step(Duration::from_secs(9), 12), Step::Send(8));
        assert_eq!(p.step(Duration::from_secs(9), 20), Step::Done);
        let sent = simulate(
            p.clone(),
            3,
            Duration::from_micros(10),
            Duration::from_secs(1),
        );
        assert_eq!(sent, 20);
    }

    #[test]
    fn share_splits_totals_exactly() {
        assert_eq!(
            (0..4).map(|i| share(10, 4, i)).collect::<Vec<_>>(),
            [3, 3, 2, 2]
        );
        assert_eq!(
            (0..3).map(|i| share(1_000_001, 3, i)).sum::<u64>(),
            1_000_001
        );
    }
}
