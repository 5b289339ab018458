//! The file target: NDJSON, rotated by size (`events.ndjson` -> `events.ndjson.1` -> ...), at
//! most `max_files` rotated files kept.

use super::{encode_ndjson, SinkWriter};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use tocsin_engine::schema::Event;

/// NDJSON file writer with size-based rotation.
#[derive(Debug)]
pub struct FileSink {
    path: PathBuf,
    file: Option<File>,
    written: u64,
    max_bytes: u64,
    max_files: usize,
    rotations: u64,
}

impl FileSink {
    /// Opens `path` for appending (creating its folder).
    pub fn open(path: &Path, max_bytes: u64, max_files: usize) -> std::io::Result<FileSink> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        let written = file.metadata()?.len();
        Ok(FileSink {
            path: path.to_owned(),
            file: Some(file),
            written,
            max_bytes: max_bytes.max(1),
            max_files,
            rotations: 0,
        })
    }

    fn rotated(&self, i: usize) -> PathBuf {
        PathBuf::from(format!("{}.{i}", self.path.display()))
    }

    fn rotate(&mut self) -> std::io::Result<()> {
        // No fsync here: an fsync of a full file stalls the target for hundreds of ms, and
        // ordinary writes are not fsynced either (they are with the OS after every batch).
        drop(self.file.take());
        if self.max_files == 0 {
            remove_in_background(&self.path)?;
        } else {
            let oldest = self.rotated(self.max_files);
            if oldest.exists() {
                remove_in_background(&oldest)?;
            }
            for i in (1..self.max_files).rev() {
                let from = self.rotated(i);
                if from.exists() {
                    std::fs::rename(&from, self.rotated(i + 1))?;
                }
            }
            std::fs::rename(&self.path, self.rotated(1))?;
        }
        self.rotations += 1;
        self.written = 0;
        Ok(())
    }

    fn file(&mut self) -> std::io::Result<&mut File> {
        match self.file {
            Some(ref mut f) => Ok(f),
            None => {
                let f = OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&self.path)?;
                Ok(self.file.insert(f))
            }
        }
    }
}

/// Unlinking a large file takes the file system ~150 ms here, which would stall the target and
/// show up as p99 latency: rename it aside (cheap) and unlink it on a short-lived thread.
fn remove_in_background(path: &Path) -> std::io::Result<()> {
    let doomed = PathBuf::from(format!("{}.deleting", path.display()));
    std::fs::rename(path, &doomed)?;
    let spawned = std::thread::Builder::new()
        .name("tocsin-unlink".into())
        .spawn(move || {
            if let Err(e) = std::fs::remove_file(&doomed) {
                tracing::warn!(path = %doomed.display(), error = %e, "cannot remove rotated file");
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "no unlink thread; removing inline");
        std::fs::remove_file(format!("{}.deleting", path.display()))?;
    }
    Ok(())
}

impl SinkWriter for FileSink {
    fn write_batch(&mut self, events: &[Event], scratch: &mut Vec<u8>) -> std::io::Result<u64> {
        if self.written >= self.max_bytes {
            self.rotate()?;
        }
        scratch.clear();
        encode_ndjson(events, scratch);
        self.file()?.write_all(scratch)?;
        self.written += scratch.len() as u64;
        Ok(scratch.len() as u64)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        // Writes go straight to the file (one write per batch), so they are already with the OS.
        Ok(())
    }

    fn rotations(&self) -> u64 {
        self.rotations
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tocsin_engine::schema::Text;

    fn event(msg: &'static str) -> Event {
        Event {
            time: 1_700_000_000_000,
            message: Text::from_static(msg),
            ..Event::default()
        }
    }

    #[test]
    fn rotates_by_size_and_keeps_max_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out/events.ndjson");
        let mut sink = FileSink::open(&path, 200, 2).unwrap();
        let mut scratch = Vec::new();
        for _ in 0..10 {
            sink.write_batch(
                &[event("a fairly long message body"), event("two")],
                &mut scratch,
            )
            .unwrap();
        }
        assert!(sink.rotations() >= 3);
        assert!(path.exists());
        assert!(dir.path().join("out/events.ndjson.1").exists());
        assert!(dir.path().join("out/events.ndjson.2").exists());
        assert!(!dir.path().join("out/events.ndjson.3").exists());
        let text = std::fs::read_to_string(&path).unwrap();
        for line in text.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            assert!(v["message"].is_string());
        }
    }
}
