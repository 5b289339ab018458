//! A scenario rendered for sending: each connection gets the lines of its devices, in order,
//! framed for the transport, with the schedule that releases each tick's lines at its start.
//!
//! A device always speaks over the same connection (device index modulo the connections), as a
//! real device keeps its syslog session, so its lines arrive in the order it wrote them.

use std::sync::Arc;

use rand::rngs::SmallRng;
use rand::SeedableRng;

use crate::pacer::Schedule;
use crate::plan::{self, Generator, Item, Truth, TICK};
use crate::pool::{Pool, PoolBuilder, PoolFraming};
use crate::scenario::{Estate, Scenario};

/// Lines and schedule of one connection.
#[derive(Debug)]
pub struct Lane {
    pub pool: Arc<Pool>,
    pub schedule: Schedule,
}

/// The whole run, ready to send.
#[derive(Debug)]
pub struct Traffic {
    pub lanes: Vec<Lane>,
    pub truth: Truth,
    pub lines: u64,
    pub bytes: u64,
}

/// Renders every tick of `sc` into at most `connections` lanes (fewer when the estate has
/// fewer devices; a lane is never empty). `relay` puts a collector's syslog header before lines
/// that have none (for the syslog transports).
pub fn render(
    sc: &Scenario,
    estate: &Estate,
    framing: PoolFraming,
    relay: bool,
    connections: u32,
) -> Traffic {
    let n = (connections.max(1) as usize).min(estate.devices.len().max(1));
    let mut gen = Generator::new(sc, estate);
    // Room for each lane's share up front (capped: a wrong guess only costs a regrowth).
    let per_lane = (estimate_bytes(sc, estate) / n as u64).min(1 << 30) as usize;
    let mut builders: Vec<PoolBuilder> = (0..n)
        .map(|_| PoolBuilder::new(framing, per_lane))
        .collect();
    let mut due: Vec<Vec<u64>> = vec![Vec::with_capacity(gen.ticks() as usize); n];
    let devices = plan::template_devices(estate);
    let mut rng = SmallRng::seed_from_u64(sc.seed ^ 0x9e37_79b9_7f4a_7c15);
    let mut items: Vec<Item> = Vec::new();
    let mut line = String::with_capacity(1024);
    while {
        items.clear();
        gen.next_tick(&mut items)
    } {
        for item in &items {
            line.clear();
            plan::render(item, estate, &devices, &mut rng, relay, &mut line);
            builders[item.device % n].push(line.as_bytes());
        }
        for (lane, d) in due.iter_mut().enumerate() {
            d.push(builders[lane].len() as u64);
        }
    }
    let truth = gen.truth();
    let mut lanes = Vec::with_capacity(n);
    let (mut lines, mut bytes) = (0, 0);
    for (b, d) in builders.into_iter().zip(due) {
        if b.is_empty() {
            continue;
        }
        let pool = b.finish();
        lines += pool.len() as u64;
        bytes += pool.total_bytes() as u64;
        lanes.push(Lane {
            pool: Arc::new(pool),
            schedule: Schedule {
                tick: TICK,
                due: Arc::new(d),
            },
        });
    }
    Traffic {
        lanes,
        truth,
        lines,
        bytes,
    }
}

/// Bytes of a generated line, framing included, as an upper bound (msp-small averages about
/// 335).
const LINE_BYTES: u64 = 420;

/// About how many bytes a scenario renders to (it is kept in memory while it is sent): the log
/// lines at the busiest hour's rate, the metric samples, and the attacks.
pub fn estimate_bytes(sc: &Scenario, estate: &Estate) -> u64 {
    let busiest = sc
        .run
        .daily_shape
        .as_ref()
        .map_or(1.0, |s| s.iter().copied().fold(0.0, f64::max));
    let logs = sc.run.rate * busiest * sc.run.duration_secs;
    let series = estate.devices.iter().filter(|d| d.metrics).count() as f64
        * sc.metrics.families.len() as f64;
    let samples = series * sc.run_minutes() * 60.0 / sc.metrics.interval_secs;
    let attacks: f64 = sc
        .faults
        .iter()
        .map(|f| match f {
            crate::scenario::FaultSpec::BruteForce {
                duration_min,
                attempts_per_min,
                ..
            } => duration_min * attempts_per_min,
            _ => 0.0,
        })
        .sum();
    ((logs + samples + attacks) * LINE_BYTES as f64) as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Scenario;

    const TINY: &str = r#"
name = "tiny"
seed = 7
[run]
duration_secs = 3
rate = 200
time_scale = 60
start = "2026-11-02T06:00:00Z"
[mix]
cisco_asa = 1
linux_auth = 1
[[sites]]
name = "s"
devices = [
  { role = "fw", vendor = "cisco_asa", count = 2 },
  { role = "host", vendor = "linux_auth", count = 3, depends_on = ["fw"], metrics = true },
]
"#;

    #[test]
    fn lanes_hold_every_line_once_and_schedules_end_at_their_totals() {
        let sc = Scenario::parse(TINY).unwrap();
        let estate = sc.expand();
        let t = render(&sc, &estate, PoolFraming::Newline, true, 4);
        assert_eq!(t.lanes.len(), 4);
        // 200 lines/s for 3 s, plus 3 hosts x 3 families every 10 event-seconds over 180.
        let metrics = 3 * 3 * 18;
        assert_eq!(t.lines, 600 + metrics);
        for lane in &t.lanes {
            let d = &lane.schedule.due;
            assert_eq!(d.len(), 30);
            assert!(d.windows(2).all(|w| w[0] <= w[1]));
            assert_eq!(*d.last().unwrap(), lane.pool.len() as u64);
        }
        // A device speaks over one lane only: lane 0 holds devices 0 and 4.
        let text =
            String::from_utf8(t.lanes[0].pool.run(0, t.lanes[0].pool.len()).to_vec()).unwrap();
        assert!(text.contains("s-fw-01") && text.contains("s-host-03"));
        assert!(!text.contains("s-fw-02") && !text.contains("s-host-01"));
    }

    #[test]
    fn syslog_transports_get_a_relay_header_on_header_less_lines() {
        let sc = Scenario::parse(TINY).unwrap();
        let estate = sc.expand();
        let lines = |relay: bool| -> Vec<String> {
            let t = render(&sc, &estate, PoolFraming::Newline, relay, 1);
            let pool = &t.lanes[0].pool;
            String::from_utf8(pool.run(0, pool.len()).to_vec())
                .unwrap()
                .lines()
                .map(str::to_string)
                .collect()
        };
        let relayed = lines(true);
        assert!(relayed.iter().all(|l| l.starts_with('<')));
        let metric = relayed.iter().find(|l| l.contains("\"fields\"")).unwrap();
        assert!(
            metric.starts_with("<14>Nov  2 06:00:00 s-host-01 telegraf: {\"fields\""),
            "{metric}"
        );
        // Over HTTP or into a file the metric objects go as they are.
        let bare = lines(false);
        assert_eq!(bare.len(), relayed.len());
        assert!(bare.iter().any(|l| l.starts_with("{\"fields\"")));
    }

    #[test]
    fn the_size_estimate_is_close_to_what_renders() {
        let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let (sc, _) = Scenario::load("msp-small", &repo).unwrap();
        let estate = sc.expand();
        let t = render(&sc, &estate, PoolFraming::Newline, true, 4);
        let est = estimate_bytes(&sc, &estate);
        // An upper bound (the busiest hour's rate throughout), within 2x of the real size.
        assert!(est >= t.bytes && est < 2 * t.bytes, "{est} vs {}", t.bytes);
    }

    #[test]
    fn more_connections_than_devices_leaves_no_empty_lane() {
        let sc = Scenario::parse(TINY).unwrap();
        let t = render(&sc, &sc.expand(), PoolFraming::Datagram, true, 64);
        assert_eq!(t.lanes.len(), 5);
        assert!(t.lanes.iter().all(|l| l.pool.len() > 0));
    }
}
