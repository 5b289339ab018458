//! Normalisation: raw bytes from a connector become canonical [`Event`]s.
//!
//! - [`framing`]: splits a byte stream into frames (newline or RFC 6587 octet counting), with a
//!   maximum frame length and counted truncation.
//! - [`syslog`]: parses syslog headers (RFC 5424, RFC 3164 and the deviations real devices send).
//! - [`base`]: turns a parsed line into a Base Event (time, severity, host, message, event code,
//!   key=value pairs kept in `unmapped`).
//!
//! The normaliser is stateless per frame: the same function serves the live pipeline's shards
//! and `tocsin normalize`.

pub mod base;
pub mod framing;
pub mod mapping;
pub mod syslog;

use crate::schema::{json, Event, Symbol};
use bytes::Bytes;
use mapping::VendorRegistry;
use std::net::IpAddr;
use std::sync::Arc;

/// How a frame's bytes are to be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameKind {
    /// A text line: a syslog message, or a raw log line from a file or HTTP body. The syslog
    /// header is parsed when present; a line without one is still an event.
    Line,
    /// One JSON object in tocsin's OCSF JSON form (HTTP NDJSON / JSON arrays).
    Json,
}

/// One frame cut from the input, not yet checked for UTF-8.
#[derive(Clone, PartialEq, Eq)]
pub struct Frame {
    /// The frame's bytes without the delimiter (at most the configured maximum length).
    pub data: Bytes,
    /// How to read it.
    pub kind: FrameKind,
    /// True when the input frame was longer than the maximum and `data` holds only its start.
    pub truncated: bool,
}

impl Frame {
    /// A complete text line.
    pub fn line(data: Bytes) -> Frame {
        Frame {
            data,
            kind: FrameKind::Line,
            truncated: false,
        }
    }

    /// A complete JSON object.
    pub fn json(data: Bytes) -> Frame {
        Frame {
            data,
            kind: FrameKind::Json,
            truncated: false,
        }
    }
}

impl std::fmt::Debug for Frame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Frame")
            .field("len", &self.data.len())
            .field("kind", &self.kind)
            .field("truncated", &self.truncated)
            .finish()
    }
}

/// What the connector knows about a frame besides its bytes.
#[derive(Debug, Clone, Copy)]
pub struct FrameMeta {
    /// The configured source (connector) name.
    pub source: Symbol,
    /// Receive time, ns since the epoch.
    pub received_ns: u64,
    /// The sending peer's address, when the transport has one.
    pub peer: Option<IpAddr>,
    /// The source's vendor mapping; `None` or `auto` to detect it per line.
    pub vendor: Option<Symbol>,
}

/// Why a frame could not become an event. The raw frame goes to the dead-letter file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum NormaliseError {
    /// The frame is not valid UTF-8.
    #[error("frame is not valid UTF-8 (first bad byte at offset {offset})")]
    NotUtf8 {
        /// Offset of the first invalid byte.
        offset: usize,
    },
    /// The frame exceeded the maximum length and was truncated.
    #[error("frame exceeds the maximum length of {max} bytes")]
    Oversized {
        /// The configured maximum.
        max: usize,
    },
    /// The frame is empty or only whitespace.
    #[error("frame is empty")]
    Empty,
    /// The syslog header is malformed.
    #[error("malformed syslog header: {0}")]
    Syslog(#[from] syslog::SyslogError),
    /// The JSON object is malformed or not an event.
    #[error("malformed JSON event: {0}")]
    Json(#[from] json::JsonEventError),
}

impl NormaliseError {
    /// The metric label for this error (`tocsin_parse_errors_total{reason}`).
    pub fn reason(&self) -> &'static str {
        match self {
            NormaliseError::NotUtf8 { .. } => "not_utf8",
            NormaliseError::Oversized { .. } => "oversized",
            NormaliseError::Empty => "empty",
            NormaliseError::Syslog(_) => "bad_syslog_header",
            NormaliseError::Json(_) => "bad_json",
        }
    }
}

/// Turns frames into events. Holds the settings that apply to every frame; cheap to clone and
/// shared by all normaliser shards.
#[derive(Debug, Clone)]
pub struct Normaliser {
    max_line_bytes: usize,
    vendors: Arc<VendorRegistry>,
}

impl Normaliser {
    /// A normaliser without vendor mappings (every line is a Base Event) that rejects frames
    /// longer than `max_line_bytes`.
    pub fn new(max_line_bytes: usize) -> Normaliser {
        Normaliser::with_vendors(max_line_bytes, Arc::new(VendorRegistry::empty()))
    }

    /// A normaliser applying the mappings of `vendors` (shared, hot-swappable).
    pub fn with_vendors(max_line_bytes: usize, vendors: Arc<VendorRegistry>) -> Normaliser {
        Normaliser {
            max_line_bytes,
            vendors,
        }
    }

    /// The vendor mappings in use.
    pub fn vendors(&self) -> &Arc<VendorRegistry> {
        &self.vendors
    }

    /// The configured maximum frame length.
    pub fn max_line_bytes(&self) -> usize {
        self.max_line_bytes
    }

    /// Normalises a batch of frames, handing each result to `emit` with the frame's index in
    /// `frames`. The order of the calls is **not** the input order (lines are mapped grouped
    /// by vendor, see [`VendorRegistry::normalise_lines`]); each frame gets exactly one call,
    /// with the result [`Self::normalise`] gives for it alone.
    pub fn normalise_batch(
        &self,
        frames: &[Frame],
        meta: &FrameMeta,
        mut emit: impl FnMut(usize, Result<Event, NormaliseError>),
    ) {
        self.normalise_batch_lent(frames, meta, |i, result| {
            emit(i, result.map(std::mem::take));
        });
    }

    /// [`Self::normalise_batch`] with each event lent to `emit` rather than given: the batch
    /// builds its lines in one event that it clears and refills for the next line once `emit`
    /// returns, so a consumer that only reads each event (writes it out) saves building,
    /// moving and dropping one per line. `emit` may take the event (`std::mem::take`) to keep
    /// it; what it leaves there is discarded.
    pub fn normalise_batch_lent(
        &self,
        frames: &[Frame],
        meta: &FrameMeta,
        mut emit: impl FnMut(usize, Result<&mut Event, NormaliseError>),
    ) {
        let mut lines: Vec<u32> = Vec::with_capacity(frames.len());
        for (i, frame) in frames.iter().enumerate() {
            match u32::try_from(i) {
                Ok(i) if !frame.truncated && frame.kind == FrameKind::Line => lines.push(i),
                _ => match self.normalise(frame, meta) {
                    Ok(mut ev) => emit(i, Ok(&mut ev)),
                    Err(e) => emit(i, Err(e)),
                },
            }
        }
        self.vendors
            .normalise_lines(frames, &lines, meta, &mut emit);
    }

    /// Normalises one frame. Never panics on any input.
    pub fn normalise(&self, frame: &Frame, meta: &FrameMeta) -> Result<Event, NormaliseError> {
        if frame.truncated {
            return Err(NormaliseError::Oversized {
                max: self.max_line_bytes,
            });
        }
        match frame.kind {
            // The line path checks UTF-8 itself (once, and reports where it fails).
            FrameKind::Line => self.vendors.normalise_line(&frame.data, meta),
            FrameKind::Json => {
                base::utf8(&frame.data)?;
                json::event_from_json(&frame.data, meta).map_err(Into::into)
            }
        }
    }
}
