//! The `http` connector: `POST /api/v1/ingest/{source}` on the API port. The body is NDJSON (one
//! event object per line), a JSON array of event objects, or raw text lines; gzip bodies are
//! decoded by the HTTP layer. The request is answered only after all of its batches are in the
//! pipeline; when the pipeline stays full for the configured wait, the answer is 503 with
//! Retry-After and nothing of the request was enqueued.

use super::ConnectorContext;
use crate::batch::RawBatch;
use bytes::Bytes;
use std::collections::HashMap;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::RwLock;
use std::time::Duration;
use tocsin_engine::normalise::Frame;

/// Why an ingest request was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IngestError {
    /// No `http` source has this name.
    #[error("no http source named {0:?} is configured")]
    UnknownSource(String),
    /// The pipeline stayed full for the whole wait.
    #[error("pipeline saturated; retry after {retry_after_secs} s")]
    Saturated {
        /// Seconds the client should wait.
        retry_after_secs: u64,
    },
    /// The engine is shutting down.
    #[error("engine is shutting down")]
    ShuttingDown,
    /// The body could not be read as the declared format.
    #[error("bad request body: {0}")]
    BadBody(String),
}

/// Body formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFormat {
    /// One JSON object per line (`application/x-ndjson`); non-JSON lines are raw lines.
    Ndjson,
    /// A JSON array of objects (`application/json`).
    JsonArray,
    /// Raw log lines (`text/plain`).
    Lines,
}

impl BodyFormat {
    /// Picks the format from the Content-Type, or from the body's first byte without one.
    pub fn detect(content_type: Option<&str>, body: &[u8]) -> BodyFormat {
        let first = body
            .iter()
            .copied()
            .find(|b| !b.is_ascii_whitespace())
            .unwrap_or(b' ');
        let ct = content_type.unwrap_or("").to_ascii_lowercase();
        if ct.starts_with("text/plain") {
            BodyFormat::Lines
        } else if ct.contains("ndjson") || ct.contains("jsonlines") || ct.contains("json-seq") {
            BodyFormat::Ndjson
        } else if first == b'[' {
            BodyFormat::JsonArray
        } else if first == b'{' {
            BodyFormat::Ndjson
        } else {
            BodyFormat::Lines
        }
    }
}

/// Cuts a body into frames.
pub fn body_frames(format: BodyFormat, body: &Bytes) -> Result<Vec<Frame>, IngestError> {
    let mut frames = Vec::new();
    match format {
        BodyFormat::Lines | BodyFormat::Ndjson => {
            let mut start = 0;
            for end in memchr::memchr_iter(b'\n', body).chain(std::iter::once(body.len())) {
                let mut line = &body[start..end];
                let offset = start;
                start = end + 1;
                if line.last() == Some(&b'\r') {
                    line = &line[..line.len() - 1];
                }
                if line.iter().all(|b| b.is_ascii_whitespace()) {
                    continue;
                }
                let data = body.slice(offset..offset + line.len());
                if format == BodyFormat::Ndjson && line.first() == Some(&b'{') {
                    frames.push(Frame::json(data));
                } else {
                    frames.push(Frame::line(data));
                }
            }
        }
        BodyFormat::JsonArray => {
            let items: Vec<&serde_json::value::RawValue> = serde_json::from_slice(body)
                .map_err(|e| IngestError::BadBody(format!("not a JSON array: {e}")))?;
            for item in items {
                let text = item.get().as_bytes();
                let offset = text.as_ptr() as usize - body.as_ptr() as usize;
                frames.push(Frame::json(body.slice(offset..offset + text.len())));
            }
        }
    }
    Ok(frames)
}

/// One configured `http` source.
#[derive(Debug)]
struct HttpSource {
    cx: RwLock<Option<ConnectorContext>>,
}

/// Every `http` source of the pipeline, for the API's ingest route.
#[derive(Debug)]
pub struct HttpIngest {
    sources: HashMap<String, HttpSource>,
    wait: Duration,
    retry_after_secs: u64,
}

impl HttpIngest {
    /// Ingest for the given sources.
    pub fn new(
        sources: Vec<(String, ConnectorContext)>,
        wait: Duration,
        retry_after_secs: u64,
    ) -> HttpIngest {
        HttpIngest {
            sources: sources
                .into_iter()
                .map(|(name, cx)| {
                    (
                        name,
                        HttpSource {
                            cx: RwLock::new(Some(cx)),
                        },
                    )
                })
                .collect(),
            wait,
            retry_after_secs,
        }
    }

    /// Marks every http source bound once the API listens at `addr`.
    pub fn mark_bound(&self, addr: &str) {
        for s in self.sources.values() {
            if let Ok(cx) = s.cx.read() {
                if let Some(cx) = cx.as_ref() {
                    cx.metrics.set_bound(addr.to_owned());
                }
            }
        }
    }

    /// Stops accepting: later requests get 503, the pipeline links are released.
    pub fn close(&self) {
        for s in self.sources.values() {
            if let Ok(mut cx) = s.cx.write() {
                *cx = None;
            }
        }
    }

    /// Enqueues a request body; returns the number of frames accepted.
    pub async fn submit(
        &self,
        source: &str,
        content_type: Option<&str>,
        body: Bytes,
    ) -> Result<usize, IngestError> {
        let state = self
            .sources
            .get(source)
            .ok_or_else(|| IngestError::UnknownSource(source.to_owned()))?;
        let cx = state
            .cx
            .read()
            .ok()
            .and_then(|c| c.clone())
            .ok_or(IngestError::ShuttingDown)?;
        cx.metrics.bytes_in.fetch_add(body.len() as u64, Relaxed);
        let format = BodyFormat::detect(content_type, &body);
        let mut frames = body_frames(format, &body)?;
        let total = frames.len();
        if total == 0 {
            return Ok(0);
        }
        cx.metrics.connections_total.fetch_add(1, Relaxed);
        cx.metrics.connections_open.fetch_add(1, Relaxed);
        let result = self.enqueue(&cx, &mut frames).await;
        cx.metrics.connections_open.fetch_sub(1, Relaxed);
        result.map(|()| total)
    }

    async fn enqueue(
        &self,
        cx: &ConnectorContext,
        frames: &mut Vec<Frame>,
    ) -> Result<(), IngestError> {
        let flow = cx.next_flow();
        let received_ns = tocsin_engine::clock::now_ns();
        let tx = cx.output_for(flow).clone();
        let mut batches = Vec::with_capacity(frames.len() / cx.batch_size + 1);
        for chunk in frames.chunks(cx.batch_size) {
            batches.push(RawBatch {
                source: cx.source,
                vendor: cx.vendor,
                flow,
                peer: None,
                received_ns,
                frames: chunk.to_vec(),
            });
        }
        frames.clear();
        // All or nothing for the first link-full of batches: either they all get a slot within
        // the wait, or the client is told to come back and nothing was enqueued.
        let first = batches.len().min(tx.max_capacity());
        let permits = match tokio::time::timeout(self.wait, tx.reserve_many(first)).await {
            Ok(Ok(p)) => p,
            Ok(Err(_)) => return Err(IngestError::ShuttingDown),
            Err(_) => {
                return Err(IngestError::Saturated {
                    retry_after_secs: self.retry_after_secs,
                });
            }
        };
        let mut rest = batches.split_off(first);
        for (permit, batch) in permits.zip(batches) {
            count(cx, &batch);
            permit.send(batch);
        }
        // A body larger than the whole link waits for room batch by batch (backpressure by a
        // slow answer); it is never half refused.
        for batch in rest.drain(..) {
            let counted = batch.frames.len() as u64;
            if tx.send(batch).await.is_err() {
                cx.metrics.dropped.add("shutting_down", counted);
                return Err(IngestError::ShuttingDown);
            }
            cx.metrics.events_in.fetch_add(counted, Relaxed);
            cx.metrics.batches.fetch_add(1, Relaxed);
        }
        Ok(())
    }
}

fn count(cx: &ConnectorContext, batch: &RawBatch) {
    cx.metrics
        .events_in
        .fetch_add(batch.frames.len() as u64, Relaxed);
    cx.metrics.batches.fetch_add(1, Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;
    use tocsin_engine::normalise::FrameKind;

    #[test]
    fn ndjson_body_gives_json_frames_and_skips_blank_lines() {
        let body =
            Bytes::from_static(b"{\"message\":\"a\"}\n\n{\"message\":\"b\"}\r\nplain line\n");
        let frames = body_frames(BodyFormat::Ndjson, &body).unwrap();
        assert_eq!(frames.len(), 3);
        assert_eq!(frames[0].kind, FrameKind::Json);
        assert_eq!(frames[1].data.as_ref(), b"{\"message\":\"b\"}");
        assert_eq!(frames[2].kind, FrameKind::Line);
    }

    #[test]
    fn json_array_body_gives_one_frame_per_element() {
        let body = Bytes::from_static(b"[ {\"message\":\"a\"}, {\"message\":\"b\",\"x\":[1,2]} ]");
        let frames = body_frames(BodyFormat::JsonArray, &body).unwrap();
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[1].data.as_ref(), b"{\"message\":\"b\",\"x\":[1,2]}");
        assert!(body_frames(BodyFormat::JsonArray, &Bytes::from_static(b"[1,")).is_err());
    }

    #[test]
    fn format_follows_content_type_then_body() {
        assert_eq!(
            BodyFormat::detect(Some("text/plain"), b"{}"),
            BodyFormat::Lines
        );
        assert_eq!(
            BodyFormat::detect(Some("application/x-ndjson"), b"[]"),
            BodyFormat::Ndjson
        );
        assert_eq!(
            BodyFormat::detect(Some("application/json"), b" [{}]"),
            BodyFormat::JsonArray
        );
        assert_eq!(BodyFormat::detect(None, b"<13>hello"), BodyFormat::Lines);
    }
}
