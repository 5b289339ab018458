//! The pre-rendered line pool: N distinct, already framed lines in one contiguous buffer.
//!
//! Senders never format: a TCP sender writes a run of consecutive pool lines with a single
//! `write_all` straight from the buffer, a UDP sender sends each line as one datagram, and an
//! HTTP sender posts a run of newline-framed lines as the body.

use std::time::{SystemTime, UNIX_EPOCH};

use rand::rngs::SmallRng;
use rand::SeedableRng;

use crate::templates::{Mix, Renderer};

/// How each line is framed inside the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolFraming {
    /// `line\n` (RFC 6587 non-transparent framing; also the HTTP text/plain body).
    Newline,
    /// `LEN SP line` (RFC 6587 octet counting).
    Octet,
    /// The bare line, one per UDP datagram.
    Datagram,
}

/// What the pool is made of.
#[derive(Debug, Clone)]
pub struct PoolSpec {
    pub lines: usize,
    pub devices: u32,
    pub mix: Mix,
    pub seed: u64,
    /// Event time of the last line (ms since epoch); earlier lines are 1 ms apart before it.
    pub end_ms: i64,
}

impl PoolSpec {
    pub fn now_ms() -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0)
    }
}

/// Frames lines one by one into a [`Pool`].
#[derive(Debug)]
pub struct PoolBuilder {
    framing: PoolFraming,
    data: Vec<u8>,
    offsets: Vec<usize>,
}

impl PoolBuilder {
    pub fn new(framing: PoolFraming, bytes: usize) -> PoolBuilder {
        PoolBuilder {
            framing,
            data: Vec::with_capacity(bytes),
            offsets: vec![0],
        }
    }

    /// Appends one unframed line.
    pub fn push(&mut self, line: &[u8]) {
        match self.framing {
            PoolFraming::Newline => {
                self.data.extend_from_slice(line);
                self.data.push(b'\n');
            }
            PoolFraming::Octet => {
                self.data
                    .extend_from_slice(itoa::Buffer::new().format(line.len()).as_bytes());
                self.data.push(b' ');
                self.data.extend_from_slice(line);
            }
            PoolFraming::Datagram => self.data.extend_from_slice(line),
        }
        self.offsets.push(self.data.len());
    }

    /// Lines pushed so far.
    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn finish(self) -> Pool {
        Pool {
            data: self.data,
            offsets: self.offsets,
        }
    }
}

/// N framed lines back to back; line `i` is `data[offsets[i]..offsets[i + 1]]`.
#[derive(Debug)]
pub struct Pool {
    data: Vec<u8>,
    offsets: Vec<usize>,
}

impl Pool {
    pub fn build(spec: &PoolSpec, framing: PoolFraming) -> Pool {
        let n = spec.lines.max(1);
        let mut renderer = Renderer::new(SmallRng::seed_from_u64(spec.seed), spec.devices);
        let mut pool = PoolBuilder::new(framing, n * 260);
        let mut line = String::with_capacity(512);
        let start_ms = spec.end_ms - n as i64;
        for i in 0..n {
            line.clear();
            let vendor = spec.mix.pick(renderer.rng());
            renderer.render(vendor, start_ms + i as i64, &mut line);
            pool.push(line.as_bytes());
        }
        pool.finish()
    }

    /// Number of lines in the pool.
    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Bytes of lines `start..end` (consecutive, `end <= len()`).
    pub fn run(&self, start: usize, end: usize) -> &[u8] {
        &self.data[self.offsets[start]..self.offsets[end]]
    }

    /// The largest `end` in `start+1..=limit` such that lines `start..end` fit in `max_bytes`
    /// (always at least one line).
    pub fn end_within(&self, start: usize, limit: usize, max_bytes: usize) -> usize {
        let base = self.offsets[start];
        let window = &self.offsets[start + 1..=limit];
        let fit = window.partition_point(|&off| off - base <= max_bytes);
        start + fit.max(1)
    }

    pub fn total_bytes(&self) -> usize {
        self.data.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::templates::Vendor;

    fn spec(lines: usize) -> PoolSpec {
        PoolSpec {
            lines,
            devices: 3,
            mix: Mix::new(Vendor::ALL.iter().map(|v| (*v, 1)).collect()).unwrap(),
            seed: 1,
            end_ms: 1_714_564_800_000,
        }
    }

    #[test]
    fn newline_pool_holds_one_line_per_entry() {
        let pool = Pool::build(&spec(300), PoolFraming::Newline);
        assert_eq!(pool.len(), 300);
        let all = pool.run(0, pool.len());
        assert_eq!(all.iter().filter(|b| **b == b'\n').count(), 300);
        assert!(pool.run(5, 6).starts_with(b"<") && pool.run(5, 6).ends_with(b"\n"));
    }

    #[test]
    fn octet_pool_lengths_match_frames() {
        let pool = Pool::build(&spec(200), PoolFraming::Octet);
        for i in 0..pool.len() {
            let frame = std::str::from_utf8(pool.run(i, i + 1)).unwrap();
            let (len, msg) = frame.split_once(' ').unwrap();
            assert_eq!(len.parse::<usize>().unwrap(), msg.len());
            assert!(msg.starts_with('<'));
        }
    }

    #[test]
    fn end_within_respects_byte_budget_and_limit() {
        let pool = Pool::build(&spec(1000), PoolFraming::Newline);
        let end = pool.end_within(10, 1000, 4096);
        assert!(pool.run(10, end).len() <= 4096);
        assert!(pool.run(10, end + 1).len() > 4096);
        assert_eq!(pool.end_within(10, 12, 1 << 20), 12);
        assert_eq!(pool.end_within(10, 1000, 1), 11, "at least one line");
    }

    #[test]
    fn same_seed_same_pool() {
        let a = Pool::build(&spec(100), PoolFraming::Datagram);
        let b = Pool::build(&spec(100), PoolFraming::Datagram);
        assert_eq!(a.run(0, 100), b.run(0, 100));
    }
}
