//! Property tests: no input makes the normaliser panic, with any vendor or auto-detection.
//! Inputs: arbitrary bytes, arbitrary text with syslog-ish structure, and every prefix of the
//! bench corpus lines (truncated real-looking lines).

use crate::support::*;
use proptest::prelude::*;
use std::path::PathBuf;

/// (vendor, line) for every line of `benches/corpus/<vendor>.log`.
fn corpus_lines() -> Vec<(String, String)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../benches/corpus");
    let mut lines = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        let vendor = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("")
            .to_owned();
        if let Ok(text) = std::fs::read_to_string(&path) {
            lines.extend(text.lines().map(|l| (vendor.clone(), l.to_owned())));
        }
    }
    lines
}

#[test]
fn truncated_corpus_lines_normalise_without_panicking() {
    let lines = corpus_lines();
    assert!(lines.len() > 100, "the bench corpus is there");
    for (vendor, line) in &lines {
        let bytes = line.as_bytes();
        // About 24 cuts per line, at every byte near the start where headers are parsed.
        let step = (bytes.len() / 24).max(1);
        let cuts = (0..bytes.len().min(40)).chain((40..=bytes.len()).step_by(step));
        for cut in cuts {
            for v in [vendor.as_str(), "auto"] {
                let _ = try_normalise(v, &bytes[..cut]);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        for vendor in vendor_names().iter().map(String::as_str).chain(["auto"]) {
            let _ = try_normalise(vendor, &bytes);
        }
    }

    #[test]
    fn syslog_shaped_noise_never_panics(
        pri in 0u32..300,
        body in "[ -~]{0,200}",
        kv in proptest::collection::vec(("[a-z_]{1,8}", "[ -~]{0,12}"), 0..8),
    ) {
        let kv: String = kv.iter().map(|(k, v)| format!(" {k}=\"{v}\"")).collect();
        for line in [
            format!("<{pri}>Mar 15 12:00:00 host prog[1]: {body}{kv}"),
            format!("<{pri}>1 2024-03-15T12:00:00Z host app - ID [x@1 a=\"{body}\"] {kv}"),
            format!("{{\"eventVersion\":\"1.08\",\"x\":\"{}\"}}", body.replace(['"', '\\'], "")),
            format!("<{pri}>%ASA-6-302013: {body}{kv}"),
            format!("1,2024/03/15 12:00:00,0,TRAFFIC,{body}"),
        ] {
            for vendor in vendor_names().iter().map(String::as_str).chain(["auto"]) {
                let _ = try_normalise(vendor, line.as_bytes());
            }
        }
    }
}
