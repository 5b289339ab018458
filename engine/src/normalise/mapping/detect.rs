//! Vendor auto-detection: every vendor's signatures in one multi-pattern scanner, so a line is
//! scanned once whatever the number of vendors (not a regex per vendor).
//!
//! Every occurrence of every signature is found (the result does not depend on how the scan is
//! done), by one of two scanners:
//!
//! - few signatures (the JSON vendors' keys): a SIMD packed search (Teddy) that jumps to each
//!   position where a signature may start; the signatures are compared there.
//! - many (the text vendors'): Aho-Corasick's DFA over the signatures' first [`ANCHOR`] bytes, a
//!   signature being compared in full where its anchor ends. One DFA step waits for the
//!   previous one (a load from the table), so the line is cut into [`CHAINS`] parts, overlapping
//!   by the longest anchor less one byte, that are scanned in step: the steps of different parts
//!   are independent and the CPU runs them at the same time.
//!
//! The vendor is then the first, in order of priority, whose conditions hold. Signatures are
//! never empty and a vendor has at most 64 `all` and `json_keys` signatures together (both
//! checked by [`VendorPlan::compile`]). Timings are in BENCHMARKS.md.

use super::plan::VendorPlan;
use crate::schema::Symbol;
use aho_corasick::automaton::{Automaton, StateID};
use aho_corasick::{packed, Anchored, MatchKind, Span, StartKind};
use smallvec::SmallVec;
use std::sync::Arc;

#[derive(Debug)]
struct Entry {
    name: Symbol,
    has_any: bool,
    all_mask: u64,
    priority: i32,
}

/// The compiled signatures of every vendor: one automaton for vendors of JSON messages, one for
/// the rest, so a line is scanned once by the smaller automaton that can match it.
#[derive(Debug, Default)]
pub struct Detector {
    json: Signatures,
    text: Signatures,
}

/// One automaton and the vendors whose signatures it holds.
#[derive(Debug, Default)]
struct Signatures {
    scanner: Option<Scanner>,
    /// Pattern id -> (vendor index, `Some(bit)` for an `all` pattern, `None` for `any`).
    patterns: Vec<(usize, Option<u32>)>,
    vendors: Vec<Entry>,
    /// Vendor indexes, best first: highest priority, then first in the list.
    ranked: Vec<usize>,
}

impl Detector {
    /// Builds the detector; vendors without signatures are never detected.
    pub fn build(plans: &[Arc<VendorPlan>]) -> Result<Detector, String> {
        let is_json = |p: &Arc<VendorPlan>| p.detect.json || !p.detect.json_keys.is_empty();
        let json: Vec<Arc<VendorPlan>> = plans.iter().filter(|p| is_json(p)).cloned().collect();
        let text: Vec<Arc<VendorPlan>> = plans.iter().filter(|p| !is_json(p)).cloned().collect();
        Ok(Detector {
            json: Signatures::build(&json)?,
            text: Signatures::build(&text)?,
        })
    }

    /// The vendor of `line` (whose syslog MSG is `message`), if any matches. A JSON message
    /// is matched against the JSON vendors' signatures (over the message), then, if none
    /// claims it, against the others (over the line); any other line only against the others.
    pub fn detect(&self, line: &[u8], message: &str) -> Option<Symbol> {
        if message.trim_start().starts_with('{') {
            if let Some(v) = self.json.detect(message.as_bytes()) {
                return Some(v);
            }
        }
        self.text.detect(line)
    }
}

impl Signatures {
    fn build(plans: &[Arc<VendorPlan>]) -> Result<Signatures, String> {
        let mut texts: Vec<Vec<u8>> = Vec::new();
        let mut patterns = Vec::new();
        let mut vendors = Vec::new();
        for plan in plans {
            let d = &plan.detect;
            let all: Vec<String> = d
                .all
                .iter()
                .cloned()
                .chain(d.json_keys.iter().map(|k| format!("\"{k}\"")))
                .collect();
            if d.any.is_empty() && all.is_empty() && !d.json {
                continue;
            }
            let v = vendors.len();
            for p in &d.any {
                texts.push(p.as_bytes().to_vec());
                patterns.push((v, None));
            }
            for (bit, p) in all.iter().enumerate() {
                texts.push(p.as_bytes().to_vec());
                patterns.push((v, Some(bit as u32)));
            }
            vendors.push(Entry {
                name: plan.name,
                has_any: !d.any.is_empty(),
                all_mask: if all.is_empty() {
                    0
                } else {
                    u64::MAX >> (64 - all.len())
                },
                priority: d.priority,
            });
        }
        let scanner = if texts.is_empty() {
            None
        } else {
            Some(Scanner::build(texts)?)
        };
        let mut ranked: Vec<usize> = (0..vendors.len()).collect();
        ranked.sort_by_key(|&v| (std::cmp::Reverse(vendors[v].priority), v));
        Ok(Signatures {
            scanner,
            patterns,
            vendors,
            ranked,
        })
    }

    fn detect(&self, haystack: &[u8]) -> Option<Symbol> {
        if self.vendors.is_empty() {
            return None;
        }
        let mut any: SmallVec<[bool; 32]> = SmallVec::new();
        any.resize(self.vendors.len(), false);
        let mut all: SmallVec<[u64; 32]> = SmallVec::new();
        all.resize(self.vendors.len(), 0);
        if let Some(scanner) = &self.scanner {
            scanner.scan(haystack, &mut |p| {
                let (v, bit) = self.patterns[p];
                match bit {
                    None => any[v] = true,
                    Some(b) => all[v] |= 1 << b,
                }
            });
        }
        // The best vendor whose conditions hold.
        self.ranked
            .iter()
            .map(|&v| (v, &self.vendors[v]))
            .find(|(v, e)| (!e.has_any || any[*v]) && all[*v] & e.all_mask == e.all_mask)
            .map(|(_, e)| e.name)
    }
}

/// The DFA keeps at most the first `ANCHOR` bytes of each signature: a smaller table and a
/// shorter overlap between the parts of a line.
const ANCHOR: usize = 8;
/// Parts of a line scanned in step by the DFA.
const CHAINS: usize = 4;

/// Finds every occurrence of a list of signatures (see the module documentation).
#[derive(Debug)]
enum Scanner {
    Packed {
        searcher: packed::Searcher,
        texts: Vec<Vec<u8>>,
        /// For each signature, the others that can start where it does (one is a prefix of
        /// the other).
        also: Vec<Vec<usize>>,
    },
    Dfa(Box<ChainDfa>),
}

impl Scanner {
    fn build(texts: Vec<Vec<u8>>) -> Result<Scanner, String> {
        // Teddy needs SSSE3 or NEON and at most 64 signatures; its builder says no otherwise.
        let searcher = packed::Config::new()
            .match_kind(packed::MatchKind::LeftmostFirst)
            .builder()
            .extend(&texts)
            .build();
        Ok(match searcher {
            Some(searcher) => {
                let also = (0..texts.len())
                    .map(|i| {
                        (0..texts.len())
                            .filter(|&j| {
                                j != i
                                    && (texts[i].starts_with(&texts[j])
                                        || texts[j].starts_with(&texts[i]))
                            })
                            .collect()
                    })
                    .collect();
                Scanner::Packed {
                    searcher,
                    texts,
                    also,
                }
            }
            None => Scanner::Dfa(Box::new(ChainDfa::build(texts)?)),
        })
    }

    /// Calls `found` with the index of each signature that occurs in `haystack` (once or more).
    fn scan(&self, haystack: &[u8], found: &mut dyn FnMut(usize)) {
        match self {
            Scanner::Packed {
                searcher,
                texts,
                also,
            } => {
                // The leftmost position from `at` where a signature starts (the one found, and
                // those that can start there too, are compared there), then on from the next
                // byte: none is missed.
                let mut at = 0;
                while at < haystack.len() {
                    let Some(m) = searcher.find_in(haystack, Span::from(at..haystack.len())) else {
                        break;
                    };
                    let i = m.pattern().as_usize();
                    found(i);
                    let rest = &haystack[m.start()..];
                    for &j in &also[i] {
                        if rest.starts_with(&texts[j]) {
                            found(j);
                        }
                    }
                    at = m.start() + 1;
                }
            }
            Scanner::Dfa(dfa) => dfa.scan(haystack, found),
        }
    }
}

/// Aho-Corasick's DFA over the signatures' anchors (their first [`ANCHOR`] bytes), driven a
/// byte at a time on [`CHAINS`] parts of the line.
#[derive(Debug)]
struct ChainDfa {
    /// Unanchored, without a prefilter: its start state is not special, so a special state
    /// is a match state (the dead state is never reached by an unanchored search).
    dfa: aho_corasick::dfa::DFA,
    start: StateID,
    /// Anchor id -> the signatures that begin with it.
    signatures_of: Vec<Vec<usize>>,
    texts: Vec<Vec<u8>>,
    /// The longest anchor less one: how far the parts of a line overlap.
    overlap: usize,
}

impl ChainDfa {
    fn build(texts: Vec<Vec<u8>>) -> Result<ChainDfa, String> {
        let mut anchors: Vec<&[u8]> = Vec::new();
        let mut signatures_of: Vec<Vec<usize>> = Vec::new();
        for (i, t) in texts.iter().enumerate() {
            let a = &t[..t.len().min(ANCHOR)];
            match anchors.iter().position(|x| *x == a) {
                Some(j) => signatures_of[j].push(i),
                None => {
                    anchors.push(a);
                    signatures_of.push(vec![i]);
                }
            }
        }
        let err = |e: &dyn std::fmt::Display| format!("detection signatures: {e}");
        let dfa = aho_corasick::dfa::DFA::builder()
            .match_kind(MatchKind::Standard)
            .start_kind(StartKind::Unanchored)
            .byte_classes(true)
            .prefilter(false)
            .build(&anchors)
            .map_err(|e| err(&e))?;
        let start = dfa.start_state(Anchored::No).map_err(|e| err(&e))?;
        let overlap = anchors.iter().map(|a| a.len()).max().unwrap_or(1) - 1;
        Ok(ChainDfa {
            dfa,
            start,
            signatures_of,
            texts,
            overlap,
        })
    }

    /// The DFA entered `state` at `end` (the anchors that end there end at that byte): report
    /// the signatures that occur in full.
    #[cold]
    #[inline(never)]
    fn hit(&self, state: StateID, haystack: &[u8], end: usize, found: &mut dyn FnMut(usize)) {
        if !self.dfa.is_match(state) {
            return;
        }
        for k in 0..self.dfa.match_len(state) {
            let a = self.dfa.match_pattern(state, k);
            let start = end + 1 - self.dfa.pattern_len(a);
            for &t in &self.signatures_of[a.as_usize()] {
                if haystack[start..].starts_with(&self.texts[t]) {
                    found(t);
                }
            }
        }
    }

    fn scan(&self, haystack: &[u8], found: &mut dyn FnMut(usize)) {
        let n = haystack.len();
        let dfa = &self.dfa;
        let step = |s: StateID, b: u8| dfa.next_state(Anchored::No, s, b);
        if n < CHAINS * (self.overlap + 16) {
            let mut s = self.start;
            for (i, &b) in haystack.iter().enumerate() {
                s = step(s, b);
                if dfa.is_special(s) {
                    self.hit(s, haystack, i, found);
                }
            }
            return;
        }
        // CHAINS parts of `len` bytes, at `at[k]`: part k < CHAINS-1 starts at k * stride, the
        // last one ends at the end. A signature that starts in [k * stride, (k+1) * stride) ends
        // before k * stride + len, so it is all in part k (or in the last part, which starts no
        // later than (CHAINS-1) * stride): each part starts from the start state, and finds every
        // anchor that starts in it.
        let stride = (n - self.overlap).div_ceil(CHAINS);
        let len = stride + self.overlap;
        let at: [usize; CHAINS] =
            std::array::from_fn(|k| if k + 1 == CHAINS { n - len } else { k * stride });
        let parts: [&[u8]; CHAINS] = std::array::from_fn(|k| &haystack[at[k]..][..len]);
        let mut s = [self.start; CHAINS];
        for i in 0..len {
            for (s, part) in s.iter_mut().zip(&parts) {
                *s = step(*s, part[i]);
            }
            if s.iter().fold(false, |any, &s| any | dfa.is_special(s)) {
                for (k, &s) in s.iter().enumerate() {
                    if dfa.is_special(s) {
                        self.hit(s, haystack, at[k] + i, found);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(name: &str, detect: &str) -> Arc<VendorPlan> {
        let src = format!("name = \"{name}\"\nvendor_name = \"{name}\"\n[detect]\n{detect}\n");
        Arc::new(VendorPlan::compile(&src).unwrap())
    }

    fn detect(d: &Detector, line: &str) -> Option<&'static str> {
        let message = crate::normalise::syslog::parse_syslog(line, 0)
            .map(|h| h.message)
            .unwrap_or(line);
        d.detect(line.as_bytes(), message).map(|s| s.as_str())
    }

    fn contains(h: &[u8], t: &str) -> bool {
        h.windows(t.len()).any(|w| w == t.as_bytes())
    }

    /// The definition in docs/vendors.md, one `contains` at a time.
    fn reference(plans: &[Arc<VendorPlan>], line: &str) -> Option<&'static str> {
        let message = crate::normalise::syslog::parse_syslog(line, 0)
            .map(|h| h.message)
            .unwrap_or(line);
        let is_json = |p: &Arc<VendorPlan>| p.detect.json || !p.detect.json_keys.is_empty();
        let best = |json: bool, h: &[u8]| {
            plans
                .iter()
                .filter(|p| is_json(p) == json)
                .filter(|p| {
                    let d = &p.detect;
                    let keys: Vec<String> =
                        d.json_keys.iter().map(|k| format!("\"{k}\"")).collect();
                    (d.json || !d.any.is_empty() || !d.all.is_empty() || !keys.is_empty())
                        && (d.any.is_empty() || d.any.iter().any(|t| contains(h, t)))
                        && d.all.iter().chain(&keys).all(|t| contains(h, t))
                })
                .enumerate()
                .max_by_key(|(i, p)| (p.detect.priority, std::cmp::Reverse(*i)))
                .map(|(_, p)| p.name.as_str())
        };
        if message.trim_start().starts_with('{') {
            if let Some(v) = best(true, message.as_bytes()) {
                return Some(v);
            }
        }
        best(false, line.as_bytes())
    }

    fn shipped() -> Vec<Arc<VendorPlan>> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut paths: Vec<_> = std::fs::read_dir(root.join("config/vendors"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        paths.sort();
        let mut plans: Vec<Arc<VendorPlan>> = paths
            .iter()
            .map(|p| Arc::new(VendorPlan::compile(&std::fs::read_to_string(p).unwrap()).unwrap()))
            .collect();
        // The registry's order (its BTreeMap's), which breaks priority ties.
        plans.sort_by_key(|p| p.name);
        plans
    }

    #[test]
    fn a_line_is_detected_by_its_signature() {
        let d = Detector::build(&[
            plan("asa", r#"any = ["%ASA-"]"#),
            plan("kv", "any = [\"logid=\"]\nall = [\"devid=\"]"),
        ])
        .unwrap();
        assert_eq!(detect(&d, "<166>%ASA-6-302013: Built"), Some("asa"));
        assert_eq!(detect(&d, "x logid=1 devid=FG1"), Some("kv"));
        assert_eq!(
            detect(&d, "x logid=1"),
            None,
            "the `all` signature is missing"
        );
        assert_eq!(detect(&d, "nothing here"), None);
    }

    #[test]
    fn the_higher_priority_wins_and_a_tie_goes_to_the_first_vendor() {
        let d = Detector::build(&[
            plan("first", "any = [\"common\"]\npriority = 5"),
            plan("second", "any = [\"common\"]\npriority = 5"),
            plan("high", "any = [\"rare\"]\npriority = 9"),
        ])
        .unwrap();
        assert_eq!(detect(&d, "a common line"), Some("first"));
        // The better signature anywhere, far after the other one, in any part of the line.
        let long = format!("common {} rare", "x".repeat(300));
        assert_eq!(detect(&d, &long), Some("high"));
        let long = format!("rare {} common", "x".repeat(300));
        assert_eq!(detect(&d, &long), Some("high"));
    }

    #[test]
    fn a_signature_is_found_at_every_offset_of_a_long_line() {
        // 80 text signatures (too many for the packed search): the chained DFA, with anchors
        // shorter than the signatures.
        let many: Vec<String> = (0..80)
            .map(|i| format!("\"sig{i:02}-tail-of-it\""))
            .collect();
        let d = Detector::build(&[
            plan("many", &format!("any = [{}]", many.join(", "))),
            plan("long", r#"any = ["a-signature-longer-than-the-anchor"]"#),
        ])
        .unwrap();
        assert!(matches!(d.text.scanner, Some(Scanner::Dfa(_))));
        for sig in ["sig37-tail-of-it", "a-signature-longer-than-the-anchor"] {
            for len in [sig.len(), 40, 100, 200, 333] {
                for at in 0..=len.saturating_sub(sig.len()) {
                    let mut line = "y".repeat(len);
                    line.replace_range(at..at + sig.len(), sig);
                    let want = if sig.starts_with("sig") {
                        "many"
                    } else {
                        "long"
                    };
                    assert_eq!(detect(&d, &line), Some(want), "{sig} at {at} of {len}");
                    // Cut short, it is not found.
                    line.replace_range(at + sig.len() - 1..at + sig.len(), "y");
                    assert_eq!(detect(&d, &line), None, "{sig} cut at {at} of {len}");
                }
            }
        }
    }

    #[test]
    fn json_keys_are_found_by_the_packed_search() {
        let d = Detector::build(&[
            plan(
                "audit",
                "json_keys = [\"verb\", \"auditID\"]\npriority = 20",
            ),
            plan("json", "json = true\npriority = -100"),
            plan("text", r#"any = ["verb"]"#),
        ])
        .unwrap();
        let line = format!(
            "{{\"auditID\":\"1\",{}\"verb\":\"get\"}}",
            "\"k\":1,".repeat(50)
        );
        assert_eq!(detect(&d, &line), Some("audit"));
        assert_eq!(detect(&d, "{\"auditID\":\"1\"}"), Some("json"));
        assert_eq!(detect(&d, "not json: verb"), Some("text"));
    }

    #[test]
    fn both_scanners_find_every_signature_that_occurs() {
        let texts: Vec<Vec<u8>> = shipped()
            .iter()
            .flat_map(|p| {
                let d = &p.detect;
                let keys = d.json_keys.iter().map(|k| format!("\"{k}\""));
                d.any
                    .iter()
                    .chain(&d.all)
                    .cloned()
                    .chain(keys)
                    .collect::<Vec<_>>()
            })
            .map(String::into_bytes)
            .collect();
        let dfa = Scanner::Dfa(Box::new(ChainDfa::build(texts.clone()).unwrap()));
        let few = &texts[..40];
        let packed = Scanner::build(few.to_vec()).unwrap();
        #[cfg(target_arch = "x86_64")]
        assert!(matches!(packed, Scanner::Packed { .. }));
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        for e in std::fs::read_dir(root.join("benches/corpus")).unwrap() {
            let text = std::fs::read_to_string(e.unwrap().path()).unwrap();
            for line in text.lines() {
                let h = line.as_bytes();
                for (scanner, texts) in [(&dfa, &texts[..]), (&packed, few)] {
                    let mut found = vec![false; texts.len()];
                    scanner.scan(h, &mut |i| found[i] = true);
                    let want: Vec<bool> = texts
                        .iter()
                        .map(|t| h.windows(t.len()).any(|w| w == t))
                        .collect();
                    assert_eq!(found, want, "{line}");
                }
            }
        }
    }

    #[test]
    fn the_shipped_signatures_detect_what_the_definition_says() {
        let plans = shipped();
        let d = Detector::build(&plans).unwrap();
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut n = 0;
        for e in std::fs::read_dir(root.join("benches/corpus")).unwrap() {
            let text = std::fs::read_to_string(e.unwrap().path()).unwrap();
            for line in text.lines() {
                assert_eq!(detect(&d, line), reference(&plans, line), "{line}");
                // The same line in the middle of a longer one (other chain boundaries).
                let padded = format!("{} {line} {}", "p".repeat(37), "q".repeat(61));
                assert_eq!(detect(&d, &padded), reference(&plans, &padded), "{padded}");
                n += 1;
            }
        }
        assert!(n > 100);
    }

    proptest::proptest! {
        /// Both scanners find exactly the signatures that `contains` finds, on random small
        /// signature sets and lines (a few ASCII letters, `"` and multi-byte UTF-8).
        #[test]
        fn the_scanners_agree_with_contains(
            sigs in proptest::collection::vec("[ab\"é€]{1,10}", 1..12),
            lines in proptest::collection::vec("[ab\"é€x]{0,300}", 1..8),
        ) {
            let texts: Vec<Vec<u8>> = sigs.iter().map(|s| s.clone().into_bytes()).collect();
            let dfa = Scanner::Dfa(Box::new(ChainDfa::build(texts.clone()).unwrap()));
            let packed = Scanner::build(texts.clone()).unwrap();
            for line in &lines {
                let h = line.as_bytes();
                let want: Vec<bool> = texts
                    .iter()
                    .map(|t| h.windows(t.len()).any(|w| w == &t[..]))
                    .collect();
                for scanner in [&dfa, &packed] {
                    let mut found = vec![false; texts.len()];
                    scanner.scan(h, &mut |i| found[i] = true);
                    proptest::prop_assert_eq!(&found, &want, "{:?} in {:?}", sigs, line);
                }
            }
        }
    }
}
