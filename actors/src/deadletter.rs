//! The dead-letter file: raw frames that could not become events (malformed, oversized,
//! non-UTF-8, or in a batch whose handler panicked), kept with the reason so nothing is lost
//! silently. Bounded: the file rotates at `max_bytes` and at most `max_files` files are kept; an
//! entry removed by the bound is counted in `tocsin_dead_letters_discarded_total`.

use crate::metrics::PipelineMetrics;
use base64::Engine as _;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};

/// One entry's origin.
#[derive(Debug, Clone, Copy)]
pub struct DeadLetterOrigin<'a> {
    /// The source (connector) name.
    pub source: &'a str,
    /// The stage that gave up on it.
    pub stage: &'a str,
    /// Receive time, ns since the epoch.
    pub received_ns: u64,
}

#[derive(Debug)]
struct Inner {
    path: PathBuf,
    max_bytes: u64,
    max_files: usize,
    file: Option<BufWriter<File>>,
    written: u64,
    /// Entries in the current file and in each rotated file (index 0 = `.1`).
    entries_current: u64,
    entries_rotated: Vec<u64>,
    line: Vec<u8>,
}

/// The shared, bounded dead-letter writer.
#[derive(Debug, Clone)]
pub struct DeadLetters {
    inner: Arc<Mutex<Inner>>,
    metrics: Arc<PipelineMetrics>,
}

impl DeadLetters {
    /// Opens (appending to) the dead-letter file at `path`.
    pub fn open(
        path: &Path,
        max_bytes: u64,
        max_files: usize,
        metrics: Arc<PipelineMetrics>,
    ) -> std::io::Result<DeadLetters> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        let written = file.metadata().map(|m| m.len()).unwrap_or(0);
        Ok(DeadLetters {
            inner: Arc::new(Mutex::new(Inner {
                path: path.to_owned(),
                max_bytes: max_bytes.max(4096),
                max_files: max_files.max(1),
                file: Some(BufWriter::new(file)),
                written,
                entries_current: 0,
                entries_rotated: Vec::new(),
                line: Vec::with_capacity(1024),
            })),
            metrics,
        })
    }

    /// The file being written.
    pub fn path(&self) -> PathBuf {
        self.inner
            .lock()
            .map(|i| i.path.clone())
            .unwrap_or_default()
    }

    /// Writes frames with one reason and error text; flushes before returning so a dead letter
    /// is on disk once the batch that produced it is done.
    pub fn write_all<'f>(
        &self,
        origin: DeadLetterOrigin<'_>,
        reason: &'static str,
        error: &str,
        frames: impl IntoIterator<Item = &'f [u8]>,
    ) {
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        let mut n = 0u64;
        for raw in frames {
            n += 1;
            if let Err(e) = inner.append(origin, reason, error, raw, &self.metrics) {
                self.metrics.dead_letter_failures.fetch_add(1, Relaxed);
                tracing::error!(error = %e, "dead-letter write failed");
            }
        }
        if let Some(f) = inner.file.as_mut() {
            if let Err(e) = f.flush() {
                self.metrics.dead_letter_failures.fetch_add(1, Relaxed);
                tracing::error!(error = %e, "dead-letter flush failed");
            }
        }
        self.metrics.dead_letters.add(reason, n);
    }

    /// Writes one frame.
    pub fn write(
        &self,
        origin: DeadLetterOrigin<'_>,
        reason: &'static str,
        error: &str,
        raw: &[u8],
    ) {
        self.write_all(origin, reason, error, [raw]);
    }
}

impl Inner {
    fn append(
        &mut self,
        origin: DeadLetterOrigin<'_>,
        reason: &str,
        error: &str,
        raw: &[u8],
        metrics: &PipelineMetrics,
    ) -> std::io::Result<()> {
        self.line.clear();
        let mut entry = serde_json::json!({
            "time": (tocsin_engine::clock::now_ns() / 1_000_000),
            "received_ms": origin.received_ns / 1_000_000,
            "source": origin.source,
            "stage": origin.stage,
            "reason": reason,
            "error": error,
            "raw": String::from_utf8_lossy(raw),
        });
        if std::str::from_utf8(raw).is_err() {
            entry["raw_base64"] =
                serde_json::Value::String(base64::engine::general_purpose::STANDARD.encode(raw));
        }
        serde_json::to_writer(&mut self.line, &entry)?;
        self.line.push(b'\n');
        if self.written + self.line.len() as u64 > self.max_bytes && self.written > 0 {
            self.rotate(metrics)?;
        }
        let file = match self.file.as_mut() {
            Some(f) => f,
            None => {
                let f = OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&self.path)?;
                self.file.insert(BufWriter::new(f))
            }
        };
        file.write_all(&self.line)?;
        self.written += self.line.len() as u64;
        self.entries_current += 1;
        Ok(())
    }

    fn rotate(&mut self, metrics: &PipelineMetrics) -> std::io::Result<()> {
        if let Some(mut f) = self.file.take() {
            f.flush()?;
        }
        let keep = self.max_files - 1;
        let rotated = |i: usize| PathBuf::from(format!("{}.{i}", self.path.display()));
        // The oldest rotated file falls off the bound: count what it held.
        if keep == 0 {
            metrics
                .dead_letters_discarded
                .fetch_add(self.entries_current, Relaxed);
            std::fs::remove_file(&self.path).or_else(ignore_missing)?;
        } else {
            if self.entries_rotated.len() == keep {
                if let Some(lost) = self.entries_rotated.pop() {
                    metrics.dead_letters_discarded.fetch_add(lost, Relaxed);
                }
                std::fs::remove_file(rotated(keep)).or_else(ignore_missing)?;
            }
            for i in (1..keep).rev() {
                if rotated(i).exists() {
                    std::fs::rename(rotated(i), rotated(i + 1))?;
                }
            }
            std::fs::rename(&self.path, rotated(1))?;
            self.entries_rotated.insert(0, self.entries_current);
        }
        self.entries_current = 0;
        self.written = 0;
        Ok(())
    }
}

fn ignore_missing(e: std::io::Error) -> std::io::Result<()> {
    if e.kind() == std::io::ErrorKind::NotFound {
        Ok(())
    } else {
        Err(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin() -> DeadLetterOrigin<'static> {
        DeadLetterOrigin {
            source: "tcp",
            stage: "normaliser-0",
            received_ns: 1_700_000_000_000_000_000,
        }
    }

    #[test]
    fn keeps_raw_bytes_and_reason() {
        let dir = tempfile::tempdir().unwrap();
        let metrics = Arc::new(PipelineMetrics::default());
        let dl =
            DeadLetters::open(&dir.path().join("dl.ndjson"), 1 << 20, 2, metrics.clone()).unwrap();
        dl.write(origin(), "not_utf8", "bad byte", b"abc\xff");
        let text = std::fs::read_to_string(dir.path().join("dl.ndjson")).unwrap();
        let v: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(v["reason"], "not_utf8");
        assert_eq!(v["source"], "tcp");
        assert_eq!(v["raw_base64"], "YWJj/w==");
        assert_eq!(metrics.dead_letters.get("not_utf8"), 1);
    }

    #[test]
    fn rotation_bounds_files_and_counts_what_it_discards() {
        let dir = tempfile::tempdir().unwrap();
        let metrics = Arc::new(PipelineMetrics::default());
        let path = dir.path().join("dl.ndjson");
        let dl = DeadLetters::open(&path, 4096, 2, metrics.clone()).unwrap();
        let raw = vec![b'x'; 1000];
        for _ in 0..20 {
            dl.write(origin(), "oversized", "too long", &raw);
        }
        assert!(path.exists());
        assert!(PathBuf::from(format!("{}.1", path.display())).exists());
        assert!(!PathBuf::from(format!("{}.2", path.display())).exists());
        let kept = |p: &Path| std::fs::read_to_string(p).unwrap().lines().count() as u64;
        let on_disk = kept(&path) + kept(&PathBuf::from(format!("{}.1", path.display())));
        assert_eq!(
            on_disk + metrics.dead_letters_discarded.load(Relaxed),
            20,
            "every entry is on disk or counted as discarded"
        );
    }
}
