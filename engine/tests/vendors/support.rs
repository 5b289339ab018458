//! Helpers: load the shipped mappings once and normalise a line with a named vendor (or auto).
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use tocsin_engine::normalise::mapping::VendorRegistry;
use tocsin_engine::normalise::{Frame, FrameMeta, Normaliser};
use tocsin_engine::schema::{json, Symbol};

/// Receive time used by the tests: 2024-03-15T12:00:00Z (year-less timestamps get 2024).
pub const RECEIVED_NS: u64 = 1_710_504_000_000_000_000;

fn registry() -> Arc<VendorRegistry> {
    static REG: OnceLock<Arc<VendorRegistry>> = OnceLock::new();
    REG.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../config/vendors");
        Arc::new(
            VendorRegistry::load_dir(&dir)
                .unwrap_or_else(|e| panic!("shipped mappings must load: {e}")),
        )
    })
    .clone()
}

/// Normalises raw bytes with `vendor` ("auto" detects); the error for bad input.
pub fn try_normalise(
    vendor: &str,
    bytes: &[u8],
) -> Result<tocsin_engine::schema::Event, tocsin_engine::normalise::NormaliseError> {
    let normaliser = Normaliser::with_vendors(65536, registry());
    let meta = FrameMeta {
        source: Symbol::intern("test"),
        received_ns: RECEIVED_NS,
        peer: None,
        vendor: Some(Symbol::intern(vendor)),
    };
    normaliser.normalise(&Frame::line(bytes::Bytes::copy_from_slice(bytes)), &meta)
}

/// The names of every shipped mapping.
pub fn vendor_names() -> Vec<String> {
    registry().list().into_iter().map(|v| v.name).collect()
}

/// The JSON form of `line` normalised with `vendor` ("auto" detects).
pub fn normalise(vendor: &str, line: &str) -> serde_json::Value {
    let normaliser = Normaliser::with_vendors(65536, registry());
    let meta = FrameMeta {
        source: Symbol::intern("test"),
        received_ns: RECEIVED_NS,
        peer: None,
        vendor: Some(Symbol::intern(vendor)),
    };
    let frame = Frame::line(bytes::Bytes::copy_from_slice(line.as_bytes()));
    let event = normaliser
        .normalise(&frame, &meta)
        .unwrap_or_else(|e| panic!("{vendor}: {e} for {line:?}"));
    let mut out = Vec::new();
    json::write_event(&event, &mut out);
    serde_json::from_slice(&out).expect("event JSON")
}

/// [`normalise`] without the event's `message` (for comparing events of lines that differ
/// only in ways the message keeps).
pub fn normalise_without_message(vendor: &str, line: &str) -> serde_json::Value {
    let mut v = normalise(vendor, line);
    v.as_object_mut()
        .expect("an event object")
        .remove("message");
    v
}

/// The vendor auto-detection picks for `line`, if any.
pub fn detect(line: &str) -> Option<String> {
    registry().detect(line.as_bytes()).map(|v| v.to_owned())
}

/// Milliseconds since the epoch of an RFC 3339 UTC instant, for asserting `time`.
pub fn ms(rfc3339: &str) -> i64 {
    tocsin_engine::schema::json::parse_rfc3339_ms(rfc3339).expect("valid RFC 3339")
}
