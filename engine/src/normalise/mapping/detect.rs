//! Vendor auto-detection: every vendor's signatures in one multi-pattern scanner, so a line is
//! scanned once whatever the number of vendors (not a regex per vendor).
//!
//! Every occurrence of every signature is found (the result does not depend on how the scan is
//! done), by one of two scanners:
//!
//! - few signatures (the JSON vendors' keys): a SIMD packed search (Teddy) that jumps to each
//!   position where a signature may start; the signatures are compared there. About 0.3 ns per
//!   byte on JSON messages, against 2.2 for the DFA scan it replaces.
//! - many (the text vendors'): a DFA over the signatures' first [`ANCHOR`] bytes (fewer if its
//!   table would not fit `u16` states), a signature being compared in full where its anchor ends. One DFA step waits for the previous one (a
//!   load from the table), so the line is cut into [`CHAINS`] parts, overlapping by the longest
//!   anchor less one byte, that are scanned in step: the steps of different parts are
//!   independent and the CPU runs them at the same time. About 0.8 ns per byte, against 2.3.
//!
//! The vendor is then the first, in order of priority, whose conditions hold. On the lines of the
//! mixed corpus, detection went from about 1000 ns to 290 ns per line (CPU time).

use super::plan::VendorPlan;
use crate::schema::Symbol;
use aho_corasick::automaton::{Automaton, StateID};
use aho_corasick::{packed, Anchored, MatchKind, Span, StartKind};
use smallvec::SmallVec;
use std::collections::{HashMap, HashSet};
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
            // An empty `all` signature is in every line: it adds no condition.
            let all: Vec<String> = d
                .all
                .iter()
                .filter(|p| !p.is_empty())
                .cloned()
                .chain(d.json_keys.iter().map(|k| format!("\"{k}\"")))
                .collect();
            if all.len() > 64 {
                return Err(format!(
                    "{}: at most 64 `all`/`json_keys` signatures",
                    plan.name
                ));
            }
            let has_any = d.any.iter().any(|p| !p.is_empty());
            if d.any.is_empty() && all.is_empty() && d.all.is_empty() && !d.json {
                continue;
            }
            let v = vendors.len();
            for p in d.any.iter().filter(|p| !p.is_empty()) {
                texts.push(p.as_bytes().to_vec());
                patterns.push((v, None));
            }
            for (bit, p) in all.iter().enumerate() {
                texts.push(p.as_bytes().to_vec());
                patterns.push((v, Some(bit as u32)));
            }
            vendors.push(Entry {
                name: plan.name,
                has_any,
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

/// The DFA keeps at most the first `ANCHOR` bytes of each signature: a smaller table (most of it
/// stays in the L1 cache) and a shorter overlap between the parts of a line.
const ANCHOR: usize = 8;
/// Parts of a line scanned in step by the DFA.
const CHAINS: usize = 4;
/// Entries of the DFA's table: a state (`u16`, premultiplied by the stride) plus a column (`u8`)
/// is always an index in it, so indexing needs no bounds check.
const TABLE: usize = u16::MAX as usize + 1 + 256;

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

/// A DFA (Aho-Corasick's, re-encoded as one flat table) over the signatures' anchors.
#[derive(Debug)]
struct ChainDfa {
    /// Byte -> column: one per byte that occurs in an anchor, 0 for all others.
    class: [u8; 256],
    stride: usize,
    /// `state + class` -> next state (states are premultiplied by `stride`). States that end
    /// an anchor are numbered last, from `first_match`; the entries past the last state are
    /// never read.
    trans: Box<[u16; TABLE]>,
    start: u16,
    first_match: u16,
    /// For each match state (from `first_match`): the signatures whose anchor ends there, with
    /// the anchor's length.
    matches: Vec<Vec<(u32, u32)>>,
    texts: Vec<Vec<u8>>,
    /// The longest anchor less one: how far the parts of a line overlap.
    overlap: usize,
}

impl ChainDfa {
    /// The DFA of the longest anchors (at most [`ANCHOR`] bytes) whose table fits in `u16`
    /// states.
    fn build(texts: Vec<Vec<u8>>) -> Result<ChainDfa, String> {
        let mut last = String::new();
        for anchor in (1..=ANCHOR).rev() {
            match ChainDfa::build_with(&texts, anchor) {
                Ok(Some(dfa)) => return Ok(ChainDfa { texts, ..dfa }),
                Ok(None) => last = format!("{} signatures: too many states", texts.len()),
                Err(e) => return Err(e),
            }
        }
        Err(format!("detection signatures: {last}"))
    }

    fn build_with(texts: &[Vec<u8>], anchor: usize) -> Result<Option<ChainDfa>, String> {
        let mut anchors: Vec<Vec<u8>> = Vec::new();
        let mut signatures_of: Vec<Vec<u32>> = Vec::new();
        for (i, t) in texts.iter().enumerate() {
            let a = &t[..t.len().min(anchor)];
            match anchors.iter().position(|x| x == a) {
                Some(j) => signatures_of[j].push(i as u32),
                None => {
                    anchors.push(a.to_vec());
                    signatures_of.push(vec![i as u32]);
                }
            }
        }
        let err = |e: &dyn std::fmt::Display| format!("detection signatures: {e}");
        let dfa = aho_corasick::dfa::DFA::builder()
            .match_kind(MatchKind::Standard)
            .start_kind(StartKind::Unanchored)
            .byte_classes(false)
            .build(&anchors)
            .map_err(|e| err(&e))?;
        // Columns: one per byte in an anchor; a byte in no anchor leads where any other such
        // byte does, so they share column 0 (represented by the first of them).
        let mut class = [0u8; 256];
        let mut columns: Vec<u8> = Vec::new();
        let mut other = None;
        for b in 0..=255u8 {
            if anchors.iter().any(|a| a.contains(&b)) {
                columns.push(b);
                class[usize::from(b)] = columns.len() as u8;
            } else if other.is_none() {
                other = Some(b);
            }
        }
        let Some(other) = other else {
            return Ok(None);
        };
        columns.insert(0, other);
        let stride = columns.len();
        // Every state reachable from the start, match states last.
        let start = dfa.start_state(Anchored::No).map_err(|e| err(&e))?;
        let mut seen: HashSet<StateID> = HashSet::from([start]);
        let mut order = vec![start];
        let mut i = 0;
        while i < order.len() {
            for &b in &columns {
                let next = dfa.next_state(Anchored::No, order[i], b);
                if seen.insert(next) {
                    order.push(next);
                }
            }
            i += 1;
        }
        if order.len() * stride > usize::from(u16::MAX) + 1 {
            return Ok(None);
        }
        order.sort_by_key(|s| dfa.is_match(*s));
        let first_match = order
            .iter()
            .position(|s| dfa.is_match(*s))
            .unwrap_or(order.len());
        let index: HashMap<StateID, usize> =
            order.iter().enumerate().map(|(i, s)| (*s, i)).collect();
        // Fits: checked above (a state past the last, `order.len() * stride`, only as the
        // `first_match` of a DFA without match states, which never matches).
        let id = |s: &StateID| (index[s] * stride).min(usize::from(u16::MAX)) as u16;
        let mut trans: Box<[u16; TABLE]> = vec![0u16; TABLE]
            .into_boxed_slice()
            .try_into()
            .map_err(|_| err(&"table size"))?;
        let mut matches = Vec::new();
        for (n, s) in order.iter().enumerate() {
            for (c, &b) in columns.iter().enumerate() {
                trans[n * stride + c] = id(&dfa.next_state(Anchored::No, *s, b));
            }
            if dfa.is_match(*s) {
                let mut m = Vec::new();
                for k in 0..dfa.match_len(*s) {
                    let a = dfa.match_pattern(*s, k).as_usize();
                    m.extend(
                        signatures_of[a]
                            .iter()
                            .map(|&t| (t, anchors[a].len() as u32)),
                    );
                }
                matches.push(m);
            }
        }
        Ok(Some(ChainDfa {
            class,
            stride,
            trans,
            start: id(&start),
            first_match: if first_match == order.len() {
                u16::MAX
            } else {
                (first_match * stride) as u16
            },
            matches,
            overlap: anchors.iter().map(Vec::len).max().unwrap_or(1) - 1,
            texts: Vec::new(),
        }))
    }

    /// The DFA entered `state` at `end` (the anchors that end there end at that byte): report
    /// the signatures that occur in full.
    #[cold]
    #[inline(never)]
    fn hit(&self, state: u16, haystack: &[u8], end: usize, found: &mut dyn FnMut(usize)) {
        let i = usize::from(state - self.first_match) / self.stride;
        for &(t, len) in &self.matches[i] {
            let start = end + 1 - len as usize;
            if haystack[start..].starts_with(&self.texts[t as usize]) {
                found(t as usize);
            }
        }
    }

    fn scan(&self, haystack: &[u8], found: &mut dyn FnMut(usize)) {
        let n = haystack.len();
        let (trans, class, first_match) = (&*self.trans, &self.class, self.first_match);
        let step = |s: u16, b: u8| trans[usize::from(s) + usize::from(class[usize::from(b)])];
        if n < CHAINS * (self.overlap + 16) {
            let mut s = self.start;
            for (i, &b) in haystack.iter().enumerate() {
                s = step(s, b);
                if s >= first_match {
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
        let (p0, p1, p2, p3) = (
            &haystack[at[0]..][..len],
            &haystack[at[1]..][..len],
            &haystack[at[2]..][..len],
            &haystack[at[3]..][..len],
        );
        let (mut s0, mut s1, mut s2, mut s3) = (self.start, self.start, self.start, self.start);
        for i in 0..len {
            s0 = step(s0, p0[i]);
            s1 = step(s1, p1[i]);
            s2 = step(s2, p2[i]);
            s3 = step(s3, p3[i]);
            if s0.max(s1).max(s2.max(s3)) >= first_match {
                for (k, s) in [s0, s1, s2, s3].into_iter().enumerate() {
                    if s >= first_match {
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
                    let any = d.any.iter().filter(|t| !t.is_empty()).collect::<Vec<_>>();
                    (d.json || !any.is_empty() || !d.all.is_empty() || !keys.is_empty())
                        && (any.is_empty() || any.iter().any(|t| contains(h, t)))
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
            .filter(|t| !t.is_empty())
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
}
