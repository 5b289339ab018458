//! A target's pending requests: a bounded in-memory FIFO in front of an append-only spill file
//! (`<data_dir>/spill/<target>.ndjson`, one JSON item per line).
//!
//! Order is kept: every spilled item is newer than every queued one, so once anything is
//! spilled new items are spilled too until the file is read back; the queue is refilled from
//! the file (in order) when it runs empty, and the file is removed once fully read.

use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use tocsin_engine::notify::request::Request;

/// One queued request with its delivery bookkeeping.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryItem {
    /// The request.
    pub request: Request,
    /// When it was rendered, ns since the epoch (latency is measured from here).
    pub created_ns: u64,
    /// Attempts made so far.
    pub attempts: u32,
}

/// Where [`PendingQueue::admit`] put an item.
#[derive(Debug, PartialEq, Eq)]
pub enum Admitted {
    /// In memory.
    Queued,
    /// Appended to the spill file.
    Spilled,
    /// Neither: the spill file is full, spilling is off, or the disk failed. The item is
    /// handed back to be dead-lettered with the reason.
    Refused(Box<DeliveryItem>, &'static str, String),
}

/// The pending requests of one target.
#[derive(Debug)]
pub struct PendingQueue {
    queue: VecDeque<DeliveryItem>,
    capacity: usize,
    spill: Option<SpillFile>,
    /// After a failed attempt and until a delivery succeeds, new items go to the spill file.
    pub down: bool,
    /// Lines of the spill file that did not parse (a torn last line after a crash).
    pub spill_corrupt: u64,
}

#[derive(Debug)]
struct SpillFile {
    path: PathBuf,
    max_bytes: u64,
    /// Bytes in the file.
    len: u64,
    /// Bytes already read back into the queue.
    read: u64,
    /// Items not yet read back.
    unread: u64,
}

impl PendingQueue {
    /// A queue of `capacity` items; with `spill = Some((path, max_bytes))` it spills there and
    /// picks up a file a previous run left (it is read back first).
    pub fn open(capacity: usize, spill: Option<(&Path, u64)>) -> std::io::Result<PendingQueue> {
        let spill = match spill {
            None => None,
            Some((path, max_bytes)) => {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                let (len, unread) = match File::open(path) {
                    Ok(f) => {
                        let lines = BufReader::new(f).split(b'\n').count() as u64;
                        (end_with_newline(path)?, lines)
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => (0, 0),
                    Err(e) => return Err(e),
                };
                Some(SpillFile {
                    path: path.to_owned(),
                    max_bytes,
                    len,
                    read: 0,
                    unread,
                })
            }
        };
        Ok(PendingQueue {
            queue: VecDeque::with_capacity(capacity.min(1024)),
            capacity: capacity.max(1),
            spill,
            down: false,
            spill_corrupt: 0,
        })
    }

    /// Items waiting, in memory and in the spill file.
    pub fn depth(&self) -> u64 {
        self.queue.len() as u64 + self.spill.as_ref().map_or(0, |s| s.unread)
    }

    fn spill_unread(&self) -> bool {
        self.spill.as_ref().is_some_and(|s| s.read < s.len)
    }

    /// Takes a new item: into memory when the target is up, the queue has room and nothing is
    /// spilled; else into the spill file.
    pub fn admit(&mut self, item: DeliveryItem) -> Admitted {
        if !self.down && self.queue.len() < self.capacity && !self.spill_unread() {
            self.queue.push_back(item);
            return Admitted::Queued;
        }
        let Some(spill) = self.spill.as_mut() else {
            if self.queue.len() < self.capacity {
                self.queue.push_back(item);
                return Admitted::Queued;
            }
            return Admitted::Refused(
                Box::new(item),
                "queue_full",
                "queue full and spill off".into(),
            );
        };
        match spill.append(&item) {
            Ok(true) => Admitted::Spilled,
            Ok(false) => Admitted::Refused(
                Box::new(item),
                "spill_full",
                format!("spill file over {} bytes", spill.max_bytes),
            ),
            Err(e) => Admitted::Refused(Box::new(item), "spill_failed", e.to_string()),
        }
    }

    /// The oldest pending item (refilling memory from the spill file when it is empty).
    pub fn pop_next(&mut self) -> Option<DeliveryItem> {
        if self.queue.is_empty() {
            self.refill();
        }
        self.queue.pop_front()
    }

    fn refill(&mut self) {
        let capacity = self.capacity;
        let Some(spill) = self.spill.as_mut() else {
            return;
        };
        if spill.read >= spill.len {
            return;
        }
        match spill.read_chunk(capacity) {
            Ok((items, corrupt)) => {
                self.spill_corrupt += corrupt;
                self.queue.extend(items);
            }
            Err(e) => {
                tracing::error!(file = %spill.path.display(), error = %e, "spill read failed")
            }
        }
    }

    /// Shutdown: writes `front` (older than anything queued), then the queue, then the unread
    /// rest of the spill file, to the spill file. Returns what could not be kept (spill off or
    /// failed) with the reason.
    pub fn spill_all(
        &mut self,
        front: Option<DeliveryItem>,
    ) -> Result<u64, (Vec<DeliveryItem>, String)> {
        let mut items: Vec<DeliveryItem> = front.into_iter().collect();
        items.extend(self.queue.drain(..));
        let Some(spill) = self.spill.as_mut() else {
            return if items.is_empty() {
                Ok(0)
            } else {
                Err((items, "spill off".into()))
            };
        };
        if items.is_empty() {
            return Ok(0);
        }
        let n = items.len() as u64;
        spill
            .prepend(&items)
            .map(|_| n)
            .map_err(|e| (items, e.to_string()))
    }
}

/// Terminates a torn last line (a crash mid-append) so the next append starts a line of its
/// own; returns the file's length.
fn end_with_newline(path: &Path) -> std::io::Result<u64> {
    let mut f = OpenOptions::new().read(true).append(true).open(path)?;
    let len = f.metadata()?.len();
    if len == 0 {
        return Ok(0);
    }
    let mut last = [0u8; 1];
    f.seek(SeekFrom::Start(len - 1))?;
    std::io::Read::read_exact(&mut f, &mut last)?;
    if last[0] == b'\n' {
        return Ok(len);
    }
    f.write_all(b"\n")?;
    Ok(len + 1)
}

impl SpillFile {
    /// Appends one line; false when it would pass `max_bytes`.
    fn append(&mut self, item: &DeliveryItem) -> std::io::Result<bool> {
        let mut line = serde_json::to_vec(item).map_err(std::io::Error::other)?;
        line.push(b'\n');
        if self.len + line.len() as u64 > self.max_bytes {
            return Ok(false);
        }
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        f.write_all(&line)?;
        f.flush()?;
        self.len += line.len() as u64;
        self.unread += 1;
        Ok(true)
    }

    /// Reads up to `max` items from the read position; removes the file once all is read.
    fn read_chunk(&mut self, max: usize) -> std::io::Result<(Vec<DeliveryItem>, u64)> {
        let mut f = File::open(&self.path)?;
        f.seek(SeekFrom::Start(self.read))?;
        let mut reader = BufReader::new(f);
        let (mut items, mut corrupt) = (Vec::new(), 0);
        let mut line = Vec::new();
        while items.len() < max {
            line.clear();
            let n = reader.read_until(b'\n', &mut line)?;
            if n == 0 {
                break;
            }
            self.read += n as u64;
            self.unread = self.unread.saturating_sub(1);
            match serde_json::from_slice::<DeliveryItem>(&line) {
                Ok(item) => items.push(item),
                Err(_) => corrupt += 1,
            }
        }
        if self.read >= self.len {
            self.read = self.len;
            self.remove()?;
        }
        Ok((items, corrupt))
    }

    fn remove(&mut self) -> std::io::Result<()> {
        match std::fs::remove_file(&self.path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        self.len = 0;
        self.read = 0;
        self.unread = 0;
        Ok(())
    }

    /// Rewrites the file as `items` followed by its unread rest (through a temporary file and a
    /// rename, so a crash leaves the old or the new file). Not bounded by `max_bytes`: these
    /// items were accepted already.
    fn prepend(&mut self, items: &[DeliveryItem]) -> std::io::Result<()> {
        let tmp = self.path.with_extension("ndjson.tmp");
        let mut out = std::io::BufWriter::new(File::create(&tmp)?);
        let mut len = 0u64;
        for item in items {
            let mut line = serde_json::to_vec(item).map_err(std::io::Error::other)?;
            line.push(b'\n');
            out.write_all(&line)?;
            len += line.len() as u64;
        }
        if self.read < self.len {
            let mut f = File::open(&self.path)?;
            f.seek(SeekFrom::Start(self.read))?;
            len += std::io::copy(&mut f, &mut out)?;
        }
        out.flush()?;
        out.get_ref().sync_all()?;
        drop(out);
        std::fs::rename(&tmp, &self.path)?;
        self.unread += items.len() as u64;
        self.len = len;
        self.read = 0;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tocsin_engine::notify::request::RequestKind;

    fn item(i: u32) -> DeliveryItem {
        DeliveryItem {
            request: Request {
                method: "POST".into(),
                url: "http://x".into(),
                headers: vec![],
                body: format!("{{\"n\":{i}}}"),
                kind: RequestKind::Events,
            },
            created_ns: u64::from(i),
            attempts: 0,
        }
    }

    fn drain(q: &mut PendingQueue) -> Vec<u64> {
        std::iter::from_fn(|| q.pop_next())
            .map(|i| i.created_ns)
            .collect()
    }

    #[test]
    fn a_full_queue_spills_and_order_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("spill/t.ndjson");
        let mut q = PendingQueue::open(2, Some((&path, 1 << 20))).unwrap();
        let got: Vec<Admitted> = (0..5).map(|i| q.admit(item(i))).collect();
        assert_eq!(
            got,
            [
                Admitted::Queued,
                Admitted::Queued,
                Admitted::Spilled,
                Admitted::Spilled,
                Admitted::Spilled
            ]
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 3);
        assert_eq!(q.depth(), 5);
        assert_eq!(q.pop_next().map(|i| i.created_ns), Some(0));
        // Room in memory again, but items are spilled: new ones go behind them.
        assert_eq!(q.admit(item(5)), Admitted::Spilled);
        assert_eq!(drain(&mut q), [1, 2, 3, 4, 5]);
        assert!(!path.exists(), "the spill file is removed once read back");
        assert_eq!(q.admit(item(6)), Admitted::Queued);
    }

    #[test]
    fn down_target_spills_and_a_reopened_queue_replays_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.ndjson");
        let mut q = PendingQueue::open(10, Some((&path, 1 << 20))).unwrap();
        assert_eq!(q.admit(item(0)), Admitted::Queued);
        q.down = true;
        assert_eq!(q.admit(item(1)), Admitted::Spilled);
        let head = q.pop_next();
        assert_eq!(q.spill_all(head), Ok(1));
        drop(q);
        let mut again = PendingQueue::open(10, Some((&path, 1 << 20))).unwrap();
        assert_eq!(again.depth(), 2);
        assert_eq!(drain(&mut again), [0, 1]);
    }

    #[test]
    fn a_torn_last_line_costs_only_itself() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.ndjson");
        let mut text = serde_json::to_string(&item(0)).unwrap();
        text.push_str("\n{\"request\":{\"meth");
        std::fs::write(&path, text).unwrap();
        let mut q = PendingQueue::open(10, Some((&path, 1 << 20))).unwrap();
        assert_eq!(q.depth(), 2);
        assert_eq!(q.admit(item(1)), Admitted::Spilled);
        assert_eq!(drain(&mut q), [0, 1]);
        assert_eq!(q.spill_corrupt, 1);
    }

    #[test]
    fn spill_is_bounded_and_refuses_past_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.ndjson");
        let line = serde_json::to_vec(&item(1)).unwrap().len() as u64 + 1;
        let mut q = PendingQueue::open(1, Some((&path, 2 * line))).unwrap();
        assert_eq!(q.admit(item(0)), Admitted::Queued);
        assert_eq!(q.admit(item(1)), Admitted::Spilled);
        assert_eq!(q.admit(item(2)), Admitted::Spilled);
        assert!(matches!(
            q.admit(item(3)),
            Admitted::Refused(_, "spill_full", _)
        ));
        let mut off = PendingQueue::open(1, None).unwrap();
        assert_eq!(off.admit(item(0)), Admitted::Queued);
        assert!(matches!(
            off.admit(item(1)),
            Admitted::Refused(_, "queue_full", _)
        ));
    }
}
