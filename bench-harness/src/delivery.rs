//! Delivery measurement: where the "how much arrived" figures come from (the engine API or, in
//! peer mode, the lines appended to a file) and the drain loop that waits for them to settle.

use std::fs::File;
use std::io::{ErrorKind, Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde_json::Value;

use crate::engine_api::{EngineApi, PipelineSnapshot, Totals};

/// How often the drain loop polls.
pub const POLL: Duration = Duration::from_millis(100);
/// The figures count as settled when they have not moved for this long.
pub const STALL: Duration = Duration::from_secs(2);

/// A source of delivery counters.
pub trait DeliveryProbe {
    /// Absolute counters now.
    fn totals(&mut self) -> Result<Totals>;

    /// The last pipeline figures and JSON read from the engine (engine probes only).
    fn last_pipeline(&self) -> Option<&(PipelineSnapshot, Value)> {
        None
    }
}

/// Reads the engine's `GET /api/v1/pipeline`, keeping the last JSON for the report.
#[derive(Debug)]
pub struct EngineProbe {
    pub api: EngineApi,
    /// Count delivery at this target only (an engine that routes to several targets delivers
    /// each event once per target).
    pub target: Option<String>,
    pub last: Option<(PipelineSnapshot, Value)>,
}

impl DeliveryProbe for EngineProbe {
    fn totals(&mut self) -> Result<Totals> {
        let (snap, json) = self.api.pipeline_at(self.target.as_deref())?;
        self.last = Some((snap, json));
        Ok(snap.totals)
    }

    fn last_pipeline(&self) -> Option<&(PipelineSnapshot, Value)> {
        self.last.as_ref()
    }
}

/// Counts newline-terminated lines appended to a file (e.g. rsyslog's omfile output).
/// Every counted line is "received" and "delivered"; a peer has no drop or parse figures.
#[derive(Debug)]
pub struct LineFileProbe {
    path: PathBuf,
    offset: u64,
    lines: u64,
    buf: Vec<u8>,
}

impl LineFileProbe {
    pub fn new(path: PathBuf) -> LineFileProbe {
        LineFileProbe {
            path,
            offset: 0,
            lines: 0,
            buf: vec![0; 1 << 20],
        }
    }

    /// Reads what was appended since the last call; a missing file counts as empty.
    pub fn poll(&mut self) -> Result<u64> {
        let mut file = match File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(self.lines),
            Err(e) => return Err(e).with_context(|| format!("cannot read {:?}", self.path)),
        };
        let len = file.metadata()?.len();
        if len < self.offset {
            // Truncated or replaced: start over, keeping what was already counted.
            self.offset = 0;
        }
        file.seek(SeekFrom::Start(self.offset))?;
        loop {
            let n = file.read(&mut self.buf)?;
            if n == 0 {
                break;
            }
            self.lines += self.buf[..n].iter().filter(|b| **b == b'\n').count() as u64;
            self.offset += n as u64;
        }
        Ok(self.lines)
    }
}

impl DeliveryProbe for LineFileProbe {
    fn totals(&mut self) -> Result<Totals> {
        let lines = self.poll()?;
        Ok(Totals {
            received: lines,
            delivered: lines,
            ..Totals::default()
        })
    }
}

/// Why the drain loop stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DrainEnd {
    /// Everything sent is accounted for.
    Complete,
    /// The counters stopped moving.
    Stalled,
    /// `--drain-timeout` passed.
    Timeout,
}

/// Counters after the run, relative to the baseline.
#[derive(Debug, Clone, Copy)]
pub struct Drained {
    pub delta: Totals,
    /// When the delivered count was last seen to grow.
    pub last_delivery: Instant,
    pub end: DrainEnd,
}

/// Polls `probe` until `sent` events are accounted for, the counters stop moving for
/// [`STALL`], or `timeout` passes. `first_send` is the start of the run: when nothing is
/// delivered, `last_delivery` stays there.
pub fn drain(
    probe: &mut dyn DeliveryProbe,
    baseline: &Totals,
    sent: u64,
    timeout: Duration,
    first_send: Instant,
) -> Result<Drained> {
    let started = Instant::now();
    let mut last_delivery = first_send;
    let mut last_change = started;
    let mut prev: Option<Totals> = None;
    let mut failures = 0;
    loop {
        let delta = match probe.totals() {
            Ok(t) => {
                failures = 0;
                t.since(baseline)
            }
            Err(e) if failures < 3 && prev.is_some() => {
                failures += 1;
                eprintln!("warning: poll failed ({e:#}); retrying");
                thread::sleep(POLL);
                continue;
            }
            Err(e) => return Err(e),
        };
        let now = Instant::now();
        if delta.delivered > 0 && prev.is_none_or(|p| delta.delivered > p.delivered) {
            last_delivery = now;
        }
        if prev.is_none_or(|p| p != delta) {
            last_change = now;
        }
        prev = Some(delta);
        let end = if delta.accounted() >= sent {
            Some(DrainEnd::Complete)
        } else if now.duration_since(last_change) >= STALL {
            Some(DrainEnd::Stalled)
        } else if now.duration_since(started) >= timeout {
            Some(DrainEnd::Timeout)
        } else {
            None
        };
        if let Some(end) = end {
            return Ok(Drained {
                delta,
                last_delivery,
                end,
            });
        }
        thread::sleep(POLL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn line_file_probe_counts_appended_lines_incrementally() {
        let dir = std::env::temp_dir().join(format!("tocsin-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("out.log");
        let _ = std::fs::remove_file(&path);
        let mut probe = LineFileProbe::new(path.clone());
        assert_eq!(probe.poll().unwrap(), 0, "missing file is empty");
        let mut f = File::create(&path).unwrap();
        f.write_all(b"a\nb\nc").unwrap();
        assert_eq!(probe.poll().unwrap(), 2);
        f.write_all(b"c\nd\n").unwrap();
        assert_eq!(probe.poll().unwrap(), 4);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A probe that delivers `step` more events per poll up to `cap`.
    struct Ramp {
        now: u64,
        step: u64,
        cap: u64,
    }

    impl DeliveryProbe for Ramp {
        fn totals(&mut self) -> Result<Totals> {
            self.now = (self.now + self.step).min(self.cap);
            Ok(Totals {
                received: self.now,
                delivered: self.now,
                ..Totals::default()
            })
        }
    }

    #[test]
    fn drain_completes_when_everything_is_accounted() {
        let mut p = Ramp {
            now: 100,
            step: 500,
            cap: 10_000,
        };
        let base = Totals {
            delivered: 100,
            received: 100,
            ..Totals::default()
        };
        let d = drain(&mut p, &base, 1000, Duration::from_secs(5), Instant::now()).unwrap();
        assert_eq!(d.end, DrainEnd::Complete);
        assert!(d.delta.delivered >= 1000);
    }

    #[test]
    fn drain_stops_when_counters_stall() {
        let mut p = Ramp {
            now: 0,
            step: 10,
            cap: 30,
        };
        let d = drain(
            &mut p,
            &Totals::default(),
            1000,
            Duration::from_secs(30),
            Instant::now(),
        )
        .unwrap();
        assert_eq!(d.end, DrainEnd::Stalled);
        assert_eq!(d.delta.delivered, 30);
    }
}
