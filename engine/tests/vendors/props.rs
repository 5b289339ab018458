//! Property tests: no input makes the normaliser panic, with any vendor or auto-detection.
//! Inputs: arbitrary bytes, arbitrary text with syslog-ish structure, and every prefix of the
//! bench corpus lines (truncated real-looking lines).

use crate::support::*;
use proptest::prelude::*;
use std::path::PathBuf;

fn corpus_lines() -> Vec<String> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../benches/corpus");
    let mut lines = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if let Ok(text) = std::fs::read_to_string(entry.path()) {
            lines.extend(text.lines().map(str::to_owned));
        }
    }
    lines
}

#[test]
fn every_prefix_of_every_corpus_line_normalises_without_panicking() {
    let lines = corpus_lines();
    let mut vendors = vendor_names();
    vendors.push("auto".into());
    for line in &lines {
        let bytes = line.as_bytes();
        for cut in (0..=bytes.len()).step_by(3) {
            for vendor in &vendors {
                let _ = try_normalise(vendor, &bytes[..cut]);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

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
