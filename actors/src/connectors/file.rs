//! The `file` connector: reads a file once, or follows it like `tail -F` (survives rotation and
//! truncation, waits for a file that does not exist yet). The offset reached is checkpointed in
//! the data folder after the batch holding it was accepted by the pipeline, so a restart resumes
//! where the engine left off instead of re-reading or skipping lines. Without a checkpoint
//! path (`tocsin replay`) the offset lives only in memory: every start reads from `start`, and a
//! live engine's checkpoints are neither read nor written.
//!
//! When reading ends (a `once` file at its end, a file that cannot be opened, shutdown) the
//! connector sets [`ConnectorMetrics::finished`](crate::metrics::ConnectorMetrics::finished)
//! and lets go of its links, so the stages after it can drain.

use super::ConnectorContext;
use actix::{Actor, ActorFutureExt, AsyncContext, Context, Supervised};
use bytes::BytesMut;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};
use tocsin_engine::normalise::framing::{Framing, SyslogFramer};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

const READ_CHUNK: usize = 256 * 1024;
const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);

/// How the file is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileReadMode {
    /// Read to the end, then stop.
    Once,
    /// Keep reading as the file grows; follow rotation and truncation.
    Follow,
}

/// Where reading starts when there is no checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileStart {
    /// At the first byte.
    Beginning,
    /// At the current end.
    End,
}

/// Settings of one file connector.
#[derive(Debug, Clone)]
pub struct FileSettings {
    /// The file.
    pub path: PathBuf,
    /// Once or follow.
    pub mode: FileReadMode,
    /// Start position without a checkpoint.
    pub start: FileStart,
    /// How often to look for growth and rotation while following.
    pub poll: Duration,
    /// Where the offset checkpoint is kept; `None`: keep none (always start at `start`).
    pub checkpoint: Option<PathBuf>,
    /// Start reading only once this is done (replay reads its files in order).
    pub after: Option<std::sync::Arc<crate::stage::Completion>>,
    /// Counted down once reading is over for good (the next file's `after`).
    pub done: Option<std::sync::Arc<crate::stage::Completion>>,
}

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
struct Checkpoint {
    path: PathBuf,
    inode: u64,
    offset: u64,
}

/// The file connector actor.
#[derive(Debug)]
pub struct FileConnector {
    settings: FileSettings,
    cx: Option<ConnectorContext>,
}

impl FileConnector {
    /// A connector for one file.
    pub fn new(settings: FileSettings, cx: ConnectorContext) -> FileConnector {
        FileConnector {
            settings,
            cx: Some(cx),
        }
    }
}

impl Actor for FileConnector {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        let Some(cx) = self.cx.clone() else {
            return;
        };
        cx.metrics
            .set_bound(self.settings.path.display().to_string());
        ctx.spawn(
            actix::fut::wrap_future(read_file(self.settings.clone(), cx)).map(
                |_, act: &mut FileConnector, _| {
                    // Reading is over for good: let go of the links (the normalisers drain
                    // once every sender is gone) and say so.
                    if let Some(cx) = act.cx.take() {
                        cx.metrics
                            .finished
                            .store(true, std::sync::atomic::Ordering::Release);
                    }
                    if let Some(done) = &act.settings.done {
                        done.done();
                    }
                },
            ),
        );
    }
}

impl Supervised for FileConnector {}

fn inode_of(meta: &std::fs::Metadata) -> u64 {
    #[cfg(unix)]
    {
        std::os::unix::fs::MetadataExt::ino(meta)
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        0
    }
}

fn load_checkpoint(path: Option<&Path>) -> Option<Checkpoint> {
    let text = std::fs::read_to_string(path?).ok()?;
    serde_json::from_str(&text).ok()
}

fn save_checkpoint(path: Option<&Path>, cp: &Checkpoint) {
    let Some(path) = path else {
        return;
    };
    let tmp = path.with_extension("tmp");
    let result = (|| {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(&tmp, serde_json::to_vec(cp)?)?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        tracing::warn!(checkpoint = %path.display(), error = %e, "cannot save file offset");
    }
}

async fn read_file(settings: FileSettings, cx: ConnectorContext) {
    if let Some(before) = &settings.after {
        tokio::select! {
            _ = cx.cancel.cancelled() => return,
            _ = before.wait() => {}
        }
    }
    let flow = cx.next_flow();
    let mut framer = SyslogFramer::new(Framing::Newline, cx.max_line);
    let mut frames = Vec::with_capacity(cx.batch_size);
    let mut buf = BytesMut::with_capacity(READ_CHUNK);
    let mut checkpoint = load_checkpoint(settings.checkpoint.as_deref());
    let mut first_open = true;
    'files: loop {
        // Open (or wait for) the file.
        let (mut file, inode) = loop {
            match tokio::fs::File::open(&settings.path).await {
                Ok(f) => match f.metadata().await {
                    Ok(m) => break (f, inode_of(&m)),
                    Err(e) => {
                        tracing::warn!(path = %settings.path.display(), error = %e, "stat failed")
                    }
                },
                Err(e) if settings.mode == FileReadMode::Once => {
                    tracing::error!(path = %settings.path.display(), error = %e, "cannot open file");
                    return;
                }
                Err(_) => {}
            }
            tokio::select! {
                _ = cx.cancel.cancelled() => return,
                _ = tokio::time::sleep(settings.poll) => {}
            }
        };
        let mut read_pos = match &checkpoint {
            Some(cp) if cp.inode == inode && cp.path == settings.path => cp.offset,
            _ if first_open && settings.start == FileStart::End => {
                file.metadata().await.map(|m| m.len()).unwrap_or(0)
            }
            _ => 0,
        };
        first_open = false;
        if file.seek(std::io::SeekFrom::Start(read_pos)).await.is_err() {
            read_pos = 0;
        }
        let mut last_saved = Instant::now();
        buf.clear();
        loop {
            if buf.capacity() - buf.len() < READ_CHUNK / 4 {
                buf.reserve(READ_CHUNK);
            }
            let n = tokio::select! {
                biased;
                _ = cx.cancel.cancelled() => break 'files,
                r = file.read_buf(&mut buf) => match r {
                    Ok(n) => n,
                    Err(e) => {
                        tracing::warn!(path = %settings.path.display(), error = %e, "read failed");
                        0
                    }
                },
            };
            let received_ns = tocsin_engine::clock::now_ns();
            if n > 0 {
                cx.metrics.bytes_in.fetch_add(n as u64, Relaxed);
                read_pos += n as u64;
                framer.decode(&mut buf, &mut frames);
                if !frames.is_empty()
                    && !cx.send_reliable(flow, None, received_ns, &mut frames).await
                {
                    return;
                }
                cx.metrics.truncated.store(framer.truncated(), Relaxed);
                // Only complete lines count as consumed; a partial tail is re-read after a restart.
                let cp = Checkpoint {
                    path: settings.path.clone(),
                    inode,
                    offset: read_pos - buf.len() as u64,
                };
                if last_saved.elapsed() >= CHECKPOINT_EVERY {
                    save_checkpoint(settings.checkpoint.as_deref(), &cp);
                    last_saved = Instant::now();
                }
                checkpoint = Some(cp);
                continue;
            }
            // At the end of the file.
            if settings.mode == FileReadMode::Once {
                framer.finish(&mut buf, &mut frames);
                if !frames.is_empty() {
                    let _ = cx.send_reliable(flow, None, received_ns, &mut frames).await;
                }
                let cp = Checkpoint {
                    path: settings.path.clone(),
                    inode,
                    offset: read_pos,
                };
                save_checkpoint(settings.checkpoint.as_deref(), &cp);
                tracing::info!(path = %settings.path.display(), "file read to the end");
                return;
            }
            if let Some(cp) = &checkpoint {
                if last_saved.elapsed() >= CHECKPOINT_EVERY {
                    save_checkpoint(settings.checkpoint.as_deref(), cp);
                    last_saved = Instant::now();
                }
            }
            tokio::select! {
                _ = cx.cancel.cancelled() => break 'files,
                _ = tokio::time::sleep(settings.poll) => {}
            }
            // Rotated (a new file under the name) or truncated?
            match tokio::fs::metadata(&settings.path).await {
                Ok(m) if inode_of(&m) != inode => {
                    tracing::info!(path = %settings.path.display(), "file rotated; following the new file");
                    checkpoint = None;
                    continue 'files;
                }
                Ok(m) if m.len() < read_pos => {
                    tracing::info!(path = %settings.path.display(), "file truncated; reading from the start");
                    checkpoint = None;
                    buf.clear();
                    continue 'files;
                }
                _ => {}
            }
        }
    }
    if let Some(cp) = &checkpoint {
        save_checkpoint(settings.checkpoint.as_deref(), cp);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::RawBatch;
    use crate::deadletter::DeadLetters;
    use crate::link::link;
    use crate::metrics::{ConnectorMetrics, PipelineMetrics};
    use actix::Actor;
    use futures_util::StreamExt;
    use std::sync::atomic::AtomicU64;
    use std::sync::Arc;
    use tocsin_engine::schema::Symbol;

    /// Reads `path` once with a real connector and collects every frame it hands on until it
    /// lets go of its link; returns the lines and the connector's metrics.
    fn read_once(
        dir: &Path,
        path: &Path,
        checkpoint: Option<PathBuf>,
    ) -> (Vec<String>, Arc<ConnectorMetrics>) {
        let dead_letters = DeadLetters::open(
            &dir.join("deadletter.ndjson"),
            1 << 20,
            1,
            Arc::new(PipelineMetrics::default()),
        )
        .unwrap();
        let settings = FileSettings {
            path: path.to_owned(),
            mode: FileReadMode::Once,
            start: FileStart::Beginning,
            poll: Duration::from_millis(10),
            checkpoint,
            after: None,
            done: None,
        };
        actix_rt::System::new().block_on(async move {
            // A small link and small batches: the connector has to wait for room.
            let (tx, rx) = link::<RawBatch>(1);
            let metrics = ConnectorMetrics::new("capture", "file");
            let cx = ConnectorContext {
                outputs: vec![tx],
                source: Symbol::intern("capture"),
                vendor: None,
                batch_size: 3,
                max_line: 1024,
                metrics: metrics.clone(),
                cancel: tokio_util::sync::CancellationToken::new(),
                dead_letters,
                flows: Arc::new(AtomicU64::new(0)),
            };
            let _addr = FileConnector::new(settings, cx).start();
            let mut lines = Vec::new();
            let mut stream = rx.stream();
            let until_closed = async {
                while let Some(batch) = stream.next().await {
                    for f in &batch.frames {
                        lines.push(String::from_utf8_lossy(&f.data).into_owned());
                    }
                }
            };
            tokio::time::timeout(Duration::from_secs(30), until_closed)
                .await
                .expect("the connector lets go of its link once the file is read");
            (lines, metrics)
        })
    }

    fn write_lines(path: &Path, n: usize) -> Vec<String> {
        let lines: Vec<String> = (0..n).map(|i| format!("line {i}")).collect();
        // The last line has no newline: it is still a line at the end of a `once` file.
        std::fs::write(path, lines.join("\n")).unwrap();
        lines
    }

    #[test]
    fn once_sets_finished_after_the_last_line_and_keeps_no_checkpoint_without_a_path() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("capture.log");
        let expected = write_lines(&input, 10);
        let (lines, metrics) = read_once(dir.path(), &input, None);
        assert_eq!(lines, expected);
        assert!(metrics.finished.load(std::sync::atomic::Ordering::Acquire));
        assert_eq!(metrics.events_in.load(Relaxed), 10);
        // Read again: the same lines from the start, and nothing was written beside the input.
        let (again, _) = read_once(dir.path(), &input, None);
        assert_eq!(again, expected);
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["capture.log", "deadletter.ndjson"]);
    }

    #[test]
    fn once_with_a_checkpoint_resumes_at_the_end_it_reached() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("capture.log");
        let expected = write_lines(&input, 7);
        let cp = dir.path().join("checkpoints").join("capture.json");
        let (lines, _) = read_once(dir.path(), &input, Some(cp.clone()));
        assert_eq!(lines, expected);
        let saved = load_checkpoint(Some(&cp)).expect("checkpoint saved at the end");
        assert_eq!(saved.offset, std::fs::metadata(&input).unwrap().len());
        let (resumed, metrics) = read_once(dir.path(), &input, Some(cp));
        assert!(
            resumed.is_empty(),
            "read again from the checkpoint: {resumed:?}"
        );
        assert!(metrics.finished.load(std::sync::atomic::Ordering::Acquire));
    }

    #[test]
    fn once_on_a_missing_file_finishes_with_nothing_read() {
        let dir = tempfile::tempdir().unwrap();
        let (lines, metrics) = read_once(dir.path(), &dir.path().join("absent.log"), None);
        assert!(lines.is_empty());
        assert!(metrics.finished.load(std::sync::atomic::Ordering::Acquire));
        assert_eq!(metrics.events_in.load(Relaxed), 0);
    }
}
