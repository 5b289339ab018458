//! The batch path (lines grouped by vendor, results out of order) gives every frame exactly
//! one result, the same one the per-line path gives, and the same counters.

use crate::support::*;
use bytes::Bytes;
use std::path::PathBuf;
use std::sync::Arc;
use tocsin_engine::normalise::mapping::VendorRegistry;
use tocsin_engine::normalise::{Frame, FrameMeta, Normaliser};
use tocsin_engine::schema::{json, Symbol};

fn fresh() -> Normaliser {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../config/vendors");
    Normaliser::with_vendors(
        65536,
        Arc::new(VendorRegistry::load_dir(&dir).expect("shipped mappings load")),
    )
}

/// Every bench corpus line, interleaved across vendors, plus lines no vendor claims, bad
/// UTF-8, an empty line, an oversized line and a JSON-kind frame.
fn frames() -> Vec<Frame> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../benches/corpus");
    let mut per_vendor: Vec<Vec<String>> = std::fs::read_dir(dir)
        .expect("bench corpus")
        .flatten()
        .map(|e| {
            std::fs::read_to_string(e.path())
                .unwrap_or_default()
                .lines()
                .map(str::to_owned)
                .collect()
        })
        .collect();
    let mut frames = Vec::new();
    while per_vendor.iter().any(|v| !v.is_empty()) {
        for v in &mut per_vendor {
            if let Some(l) = v.pop() {
                frames.push(Frame::line(Bytes::from(l)));
            }
        }
        if frames.len() % 7 == 0 {
            frames.push(Frame::line(Bytes::from_static(b"just some words")));
        }
    }
    frames.push(Frame::line(Bytes::from_static(b"bad \xff byte")));
    frames.push(Frame::line(Bytes::from_static(b"   ")));
    frames.push(Frame {
        truncated: true,
        ..Frame::line(Bytes::from_static(b"<13>Mar 15 12:00:00 host app: cut"))
    });
    frames.push(Frame::json(Bytes::from_static(
        br#"{"time":1710504000000,"message":"as json","class_uid":0}"#,
    )));
    frames
}

fn meta(vendor: &str) -> FrameMeta {
    FrameMeta {
        source: Symbol::intern("batch-test"),
        received_ns: RECEIVED_NS,
        peer: None,
        vendor: Some(Symbol::intern(vendor)),
    }
}

fn render(
    r: &Result<tocsin_engine::schema::Event, tocsin_engine::normalise::NormaliseError>,
) -> String {
    match r {
        Ok(ev) => {
            let mut out = Vec::new();
            json::write_event(ev, &mut out);
            String::from_utf8(out).expect("UTF-8 JSON")
        }
        Err(e) => format!("error: {e}"),
    }
}

#[test]
fn batch_results_equal_per_line_results_with_the_same_counters() {
    let frames = frames();
    assert!(frames.len() > 400, "{} frames", frames.len());
    let meta = meta("auto");
    let single = fresh();
    let want: Vec<String> = frames
        .iter()
        .map(|f| render(&single.normalise(f, &meta)))
        .collect();
    let batched = fresh();
    let mut got: Vec<Option<String>> = vec![None; frames.len()];
    let mut order = Vec::new();
    batched.normalise_batch(&frames, &meta, |i, r| {
        assert!(got[i].is_none(), "frame {i} answered twice");
        got[i] = Some(render(&r));
        order.push(i);
    });
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(g.as_deref(), Some(w.as_str()), "frame {i}");
    }
    // Grouped: the calls are not in input order.
    assert!(order.windows(2).any(|w| w[0] > w[1]));
    let (a, b) = (single.vendors().list(), batched.vendors().list());
    assert_eq!(a.len(), b.len());
    for (a, b) in a.iter().zip(&b) {
        assert_eq!(a.name, b.name);
        assert_eq!(
            (a.lines, a.mapped, a.unmapped, a.parse_errors),
            (b.lines, b.mapped, b.unmapped, b.parse_errors),
            "{}",
            a.name
        );
    }
    assert!(
        b.iter().all(|v| v.lines > 0),
        "every vendor's corpus lines were mapped"
    );
    assert_eq!(
        single.vendors().unrecognised(),
        batched.vendors().unrecognised()
    );
    assert!(!batched.vendors().unrecognised().is_empty());
}

#[test]
fn a_named_vendor_batch_matches_the_per_line_path() {
    let line = "<166>%ASA-6-302013: Built outbound TCP connection 1 for outside:10.0.0.1/443 (10.0.0.1/443) to inside:192.168.1.2/5000 (192.168.1.2/5000)";
    let frames: Vec<Frame> = (0..3)
        .map(|_| Frame::line(Bytes::from_static(line.as_bytes())))
        .collect();
    let meta = meta("cisco_asa");
    let n = fresh();
    let want = render(&n.normalise(&frames[0], &meta));
    assert!(want.contains("\"class_uid\":4001"), "{want}");
    let mut seen = 0;
    n.normalise_batch(&frames, &meta, |_, r| {
        assert_eq!(render(&r), want);
        seen += 1;
    });
    assert_eq!(seen, 3);
}
