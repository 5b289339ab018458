//! Vendor auto-detection: every vendor's signatures in one multi-pattern scanner, so a line is
//! scanned once whatever the number of vendors (not a regex per vendor).
//!
//! Every occurrence of every signature is found (the result does not depend on how the scan is
//! done), by one of two scanners:
//!
//! - [`Packed`], when the signatures allow it (they do for the shipped vendors): a SIMD pass or
//!   two jump to the few places where a signature can occur, and the signatures that can occur
//!   there are compared in full. A signature starting with a rare byte (`%` of the Cisco tags)
//!   is found at each occurrence of that byte (`memchr`); every other signature is given a
//!   short *fragment* (3 or 4 of its bytes, chosen at build time to be rare in log text and
//!   shared by as many signatures as possible: `] "` for every Apache method), and the
//!   fragments (at most 64) are found by a packed search (Teddy). A line is then read at a few
//!   bytes per instruction instead of a few instructions per byte.
//! - [`ChainDfa`] otherwise (more than 64 fragments, or no SSSE3/NEON for Teddy):
//!   Aho-Corasick's DFA over the signatures' first [`ANCHOR`] bytes, a signature being compared
//!   in full where its anchor ends. One DFA step waits for the previous one (a load from the
//!   table), so the line is cut into [`CHAINS`] parts, overlapping by the longest anchor less
//!   one byte, that are scanned in step: the steps of different parts are independent and the
//!   CPU runs them at the same time.
//!
//! The vendor is the first, in order of priority, whose conditions hold. Conditions only ever
//! become true as signatures are found, so once a vendor holds only the vendors ranked above it
//! can change the answer: the line is scanned on for their signatures only, by a scanner built
//! for them (a *tier*: fewer fragments, and none of the current vendor's, whose own signatures
//! are usually what the rest of its lines are full of), from a little before where the previous
//! scan stopped; the top vendor holding ends the scan. Signatures are never empty and a vendor
//! has at most 64 `all` and `json_keys` signatures together (both checked by
//! [`VendorPlan::compile`]). Timings are in BENCHMARKS.md.

use super::plan::VendorPlan;
use crate::schema::Symbol;
use aho_corasick::automaton::{Automaton, StateID};
use aho_corasick::{packed, Anchored, MatchKind, Span, StartKind};
use smallvec::SmallVec;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The signatures of one vendor, as bit masks over the signature ids: `(word, mask)` pairs.
type Masks = SmallVec<[(u32, u64); 2]>;

#[derive(Debug)]
struct Entry {
    name: Symbol,
    /// The `any` signatures (empty: no `any` condition).
    any: Masks,
    /// The `all` and `json_keys` signatures.
    all: Masks,
    priority: i32,
}

impl Entry {
    fn holds(&self, found: &[u64]) -> bool {
        let w = |i: u32| found[i as usize];
        (self.any.is_empty() || self.any.iter().any(|&(i, m)| w(i) & m != 0))
            && self.all.iter().all(|&(i, m)| w(i) & m == m)
    }
}

/// The masks of signature ids `range`.
fn masks(range: std::ops::Range<usize>) -> Masks {
    let mut out = Masks::new();
    for id in range {
        let (word, bit) = ((id / 64) as u32, 1u64 << (id % 64));
        match out.last_mut() {
            Some((w, m)) if *w == word => *m |= bit,
            _ => out.push((word, bit)),
        }
    }
    out
}

/// The compiled signatures of every vendor: the vendors of JSON messages apart from the rest,
/// so a line is scanned only for the signatures of the vendors that can claim it.
#[derive(Debug, Default)]
pub struct Detector {
    json: Signatures,
    text: Signatures,
}

/// The vendors of one kind (JSON or text) and the scanners of their signatures.
#[derive(Debug, Default)]
struct Signatures {
    /// `tiers[k]`: the signatures of the vendors ranked above the `k`-th (`vendors[..k]`), the
    /// only ones that can change the answer once that vendor holds; `None` when there are none.
    tiers: Vec<Option<Tier>>,
    /// Signatures, u64 words of found bits.
    words: usize,
    /// Best first: highest priority, then first in the list. A vendor's index is its rank.
    vendors: Vec<Entry>,
    /// Signature id -> the rank of its vendor.
    rank_of: Vec<u32>,
    /// The rank of the best vendor that holds before any signature is found (one without
    /// signatures; `vendors.len()`: none).
    start: usize,
}

/// A scanner over some of the signatures.
#[derive(Debug)]
struct Tier {
    scanner: Scanner,
    /// The scanner's signature index -> the signature's id (its bit in the found bits).
    ids: Vec<usize>,
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
        let mut vendors = Vec::new();
        // Each vendor's signature ids.
        let mut ranges = Vec::new();
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
            let first = texts.len();
            texts.extend(d.any.iter().map(|p| p.as_bytes().to_vec()));
            let mid = texts.len();
            texts.extend(all.iter().map(|p| p.as_bytes().to_vec()));
            vendors.push(Entry {
                name: plan.name,
                any: masks(first..mid),
                all: masks(mid..texts.len()),
                priority: d.priority,
            });
            ranges.push(first..texts.len());
        }
        let words = texts.len().div_ceil(64);
        let mut ranked: Vec<usize> = (0..vendors.len()).collect();
        ranked.sort_by_key(|&v| (std::cmp::Reverse(vendors[v].priority), v));
        let mut rank_of = vec![0u32; texts.len()];
        for (r, &v) in ranked.iter().enumerate() {
            for id in ranges[v].clone() {
                rank_of[id] = r as u32;
            }
        }
        let mut tiers = Vec::with_capacity(ranked.len() + 1);
        let mut ids: Vec<usize> = Vec::new();
        for k in 0..=ranked.len() {
            if k > 0 {
                ids.extend(ranges[ranked[k - 1]].clone());
            }
            tiers.push(if ids.is_empty() {
                None
            } else {
                let mut ids = ids.clone();
                ids.sort_unstable();
                let scanner = Scanner::build(ids.iter().map(|&i| texts[i].clone()).collect())?;
                Some(Tier { scanner, ids })
            });
        }
        let mut vendors: Vec<Option<Entry>> = vendors.into_iter().map(Some).collect();
        let vendors: Vec<Entry> = ranked.iter().filter_map(|&v| vendors[v].take()).collect();
        let start = vendors
            .iter()
            .position(|e| e.holds(&vec![0; words]))
            .unwrap_or(vendors.len());
        Ok(Signatures {
            tiers,
            words,
            vendors,
            rank_of,
            start,
        })
    }

    fn detect(&self, haystack: &[u8]) -> Option<Symbol> {
        if self.vendors.is_empty() {
            return None;
        }
        let mut found: SmallVec<[u64; 8]> = SmallVec::from_elem(0, self.words);
        // Once a vendor holds (conditions only ever become true as signatures are found), only
        // the vendors ranked above it can change the answer: the line is scanned on for their
        // signatures only, and as soon as one of them holds, for those above that one. A tier's
        // scan stops where a better vendor holds and says from where the next one must look
        // (every occurrence before that of a signature in the tier has been found); a scan
        // that runs to the end found every occurrence of its signatures, so no vendor above
        // the best one can hold.
        let mut best = self.start;
        let mut from = 0;
        while let Some(tier) = &self.tiers[best] {
            let mut f = Found {
                bits: &mut found,
                ids: &tier.ids,
                rank_of: &self.rank_of,
                vendors: &self.vendors,
                best,
                stop: best,
            };
            let stopped = tier.scanner.scan_bits(haystack, from, &mut f);
            best = f.best;
            match stopped {
                None => break,
                Some(resume) => from = resume,
            }
        }
        self.vendors.get(best).map(|e| e.name)
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
    Packed(Box<Packed>),
    Dfa(Box<ChainDfa>),
}

impl Scanner {
    fn build(texts: Vec<Vec<u8>>) -> Result<Scanner, String> {
        Ok(match Packed::build(&texts, &LEAD_RULES) {
            Some(packed) => Scanner::Packed(Box::new(packed)),
            None => Scanner::Dfa(Box::new(ChainDfa::build(texts)?)),
        })
    }

    /// Marks found each signature that occurs in `haystack` (every occurrence before `from`
    /// having been found already). `None` when it scanned to the end; `Some(resume)` when the
    /// packed scanner stopped as soon as [`Found::done`], every occurrence starting before
    /// `resume` having then been found.
    fn scan_bits(&self, haystack: &[u8], from: usize, found: &mut Found<'_>) -> Option<usize> {
        match self {
            Scanner::Packed(packed) => packed.scan(haystack, from, found),
            Scanner::Dfa(dfa) => {
                dfa.scan(haystack, &mut |p| found.set(p));
                None
            }
        }
    }

    /// Calls `found` with the index of each signature that occurs in `haystack` (once each).
    #[cfg(test)]
    fn scan(&self, haystack: &[u8], found: &mut dyn FnMut(usize)) {
        let n = match self {
            Scanner::Packed(packed) => packed.texts.len(),
            Scanner::Dfa(dfa) => dfa.texts.len(),
        };
        let mut bits = vec![0u64; n.div_ceil(64)];
        let ids: Vec<usize> = (0..n).collect();
        let mut f = Found {
            bits: &mut bits,
            ids: &ids,
            rank_of: &[],
            vendors: &[],
            best: 0,
            stop: 0,
        };
        assert_eq!(self.scan_bits(haystack, 0, &mut f), None);
        (0..n)
            .filter(|&i| bits[i / 64] >> (i % 64) & 1 == 1)
            .for_each(found);
    }
}

/// The signatures found so far, as bits over their ids, and the best vendor that holds.
struct Found<'a> {
    bits: &'a mut [u64],
    /// The scanner's signature index -> its id.
    ids: &'a [usize],
    /// Signature id -> the rank of its vendor in `vendors`.
    rank_of: &'a [u32],
    vendors: &'a [Entry],
    /// The rank of the best vendor that holds (kept as signatures are found: only the vendor
    /// of a signature just found can start to hold).
    best: usize,
    /// The scan may stop once `best` is below this.
    stop: usize,
}

impl Found<'_> {
    /// Signature `i` of the scanner was found.
    fn has(&self, i: usize) -> bool {
        let id = self.ids[i];
        self.bits[id / 64] >> (id % 64) & 1 == 1
    }

    fn set(&mut self, i: usize) {
        let id = self.ids[i];
        self.bits[id / 64] |= 1 << (id % 64);
        let r = self.rank_of.get(id).map_or(usize::MAX, |&r| r as usize);
        if r < self.best && self.vendors[r].holds(self.bits) {
            self.best = r;
        }
    }

    /// The scan may stop: a vendor ranked above `stop` holds.
    fn done(&self) -> bool {
        self.best < self.stop
    }
}

/// A signature's first 8 bytes as a little-endian word, with the mask of its bytes: one load
/// and compare rejects nearly every candidate (a `memcmp` call per candidate did).
#[derive(Debug, Clone, Copy)]
struct Head {
    value: u64,
    mask: u64,
}

impl Head {
    fn new(t: &[u8]) -> Head {
        let mut b = [0u8; 8];
        let n = t.len().min(8);
        b[..n].copy_from_slice(&t[..n]);
        Head {
            value: u64::from_le_bytes(b),
            mask: if n == 8 {
                u64::MAX
            } else {
                (1u64 << (8 * n)) - 1
            },
        }
    }
}

/// Whether `t` (whose head is `head`) occurs in `haystack` at `at`.
#[inline]
fn occurs_at(t: &[u8], head: Head, haystack: &[u8], at: usize) -> bool {
    match haystack.get(at..at + 8) {
        Some(w) => {
            let x = u64::from_le_bytes(w.try_into().unwrap_or([0; 8]));
            x & head.mask == head.value && (t.len() <= 8 || haystack[at + 8..].starts_with(&t[8..]))
        }
        None => haystack[at..].starts_with(t),
    }
}

/// How often each byte occurs in log text, per 65,536 bytes (counted on the mixed sample of
/// the shipped vendors; at least 1). Only orders candidate fragments and lead bytes: a
/// wrong guess makes detection slower, never different.
#[rustfmt::skip]
const BYTE_FREQUENCY: [u16; 256] = [
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 157, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1993, 1, 5410, 1, 1, 28, 6, 21, 53, 53, 1, 27, 1627, 1091, 1226, 850,
    3614, 2429, 1573, 965, 1141, 845, 469, 439, 553, 495, 2252, 108, 76, 456, 84, 8,
    33, 382, 39, 230, 104, 258, 127, 90, 58, 353, 9, 65, 99, 196, 230, 194,
    232, 17, 260, 293, 447, 131, 96, 77, 27, 11, 102, 88, 19, 88, 1, 246,
    1, 2480, 498, 1610, 1281, 4236, 465, 637, 332, 2143, 109, 202, 1185, 1153, 1931, 2510,
    1286, 80, 2313, 2377, 2812, 1179, 514, 269, 156, 401, 98, 295, 11, 295, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 5, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 3, 1, 1, 1,
    1, 1, 1, 9, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
];

/// How often the 4-byte windows of the shipped signatures that are much more frequent than
/// their bytes suggest occur in log text, per 256 bytes (counted on the same mixed sample;
/// sorted): `devi`, `ourc` or `log_` are common words or keys, and every occurrence of a
/// fragment is a stop of the packed search (a few hundred instructions). Like
/// [`BYTE_FREQUENCY`], only orders candidate fragments.
#[rustfmt::skip]
const COMMON_WINDOWS: &[(&[u8; 4], f64)] = &[
    (b" log", 0.212), (b" pro", 0.102), (b" use", 0.120), (b"\"eve", 0.363), (b"\"pro", 0.192),
    (b"\"res", 0.383), (b".com", 0.371), (b".goo", 0.115), (b".io/", 0.109), (b".k8s", 0.115),
    (b"8s.i", 0.115), (b"Even", 0.101), (b"Name", 0.271), (b"Vers", 0.233), (b"acti", 0.176),
    (b"ame\"", 0.458), (b"ame=", 0.161), (b"apis", 0.125), (b"ason", 0.103), (b"atio", 0.643),
    (b"audi", 0.148), (b"auth", 0.302), (b"bjec", 0.113), (b"cati", 0.155), (b"clou", 0.106),
    (b"com/", 0.120), (b"comp", 0.149), (b"ctio", 0.199), (b"data", 0.172), (b"devi", 0.104),
    (b"dit.", 0.105), (b"eapi", 0.115), (b"easo", 0.103), (b"ent\"", 0.334), (b"enti", 0.315),
    (b"ersi", 0.261), (b"esou", 0.317), (b"essi", 0.135), (b"even", 0.405), (b"glea", 0.115),
    (b"goog", 0.186), (b"grou", 0.135), (b"hent", 0.138), (b"icat", 0.174), (b"ion\"", 0.543),
    (b"is.c", 0.115), (b"ject", 0.226), (b"k8s.", 0.118), (b"le.c", 0.142), (b"leap", 0.115),
    (b"log_", 0.106), (b"loud", 0.106), (b"me=\"", 0.147), (b"name", 0.541), (b"ntic", 0.138),
    (b"ogle", 0.186), (b"oogl", 0.186), (b"ourc", 0.515), (b"pe=\"", 0.149), (b"pis.", 0.115),
    (b"port", 0.278), (b"prot", 0.109), (b"rati", 0.164), (b"rce\"", 0.153), (b"rceI", 0.107),
    (b"reso", 0.319), (b"roto", 0.105), (b"roup", 0.155), (b"rsio", 0.261), (b"s.co", 0.172),
    (b"s.io", 0.115), (b"sess", 0.108), (b"sion", 0.468), (b"sour", 0.468), (b"ssio", 0.174),
    (b"tID\"", 0.105), (b"then", 0.138), (b"tica", 0.150), (b"tion", 0.965), (b"type", 0.359),
    (b"udit", 0.182), (b"urce", 0.515), (b"user", 0.413), (b"uthe", 0.143), (b"vent", 0.505),
    (b"vice", 0.242), (b"ype=", 0.152),
];

/// Expected occurrences of `w` in 256 bytes of log text: counted for a common window, else
/// from its bytes, taken as independent.
fn expected(w: &[u8]) -> f64 {
    if let Ok(k) = COMMON_WINDOWS.binary_search_by(|(c, _)| c[..].cmp(w)) {
        return COMMON_WINDOWS[k].1;
    }
    256.0
        * w.iter()
            .map(|&b| f64::from(BYTE_FREQUENCY[usize::from(b)]) / 65536.0)
            .product::<f64>()
}

/// When the signatures that start with a byte are found by that byte ([`Lead`]) rather than
/// by fragments.
#[derive(Debug, Clone, Copy)]
struct LeadRules {
    /// The byte is at most this frequent ([`BYTE_FREQUENCY`]).
    max_frequency: u16,
    /// The signatures starting with it have at least this many different first 3 bytes (so
    /// fragments would need as many patterns).
    min_prefixes: usize,
}

const LEAD_RULES: LeadRules = LeadRules {
    max_frequency: 40,
    min_prefixes: 4,
};

/// Fixed cost of one more fragment, in expected occurrences per 256 bytes: a fragment shared
/// by several signatures is worth a few more (false) hits than one per signature.
const FRAGMENT_COST: f64 = 1e-4;

/// The signatures starting with one rare byte: `memchr` finds the byte, and the line's 4 bytes
/// there pick the signatures to compare. A byte can lead many signatures that share their
/// first bytes (every Apache method after `] "`, the Cisco facilities after `%S`): picked by the
/// second byte only, each hit compared 20 of them; picked by a hash of the first 4, one or two.
#[derive(Debug)]
struct Lead {
    byte: u8,
    /// Signatures that are this byte alone.
    whole: Vec<usize>,
    /// Those of 2 or 3 bytes, compared at every occurrence of the byte.
    short: Vec<usize>,
    /// Those of 4 bytes or more, by the hash of their first 4 ([`prefix_bucket`]):
    /// `long[start[h]..start[h + 1]]` hash to `h`.
    long: Vec<usize>,
    start: Box<[u32; PREFIX_BUCKETS + 1]>,
}

/// Hash buckets of a lead's long signatures (a collision only costs a compare).
const PREFIX_BUCKETS: usize = 256;

/// The bucket of a signature or a line position by its first 4 bytes (little-endian).
#[inline]
fn prefix_bucket(first4: u32) -> usize {
    (first4.wrapping_mul(0x9E37_79B1) >> 24) as usize
}

/// The first 4 bytes of `b` (at least 4 long) as a little-endian word.
#[inline]
fn first4(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

impl Lead {
    fn new(byte: u8, ids: &[usize], texts: &[Vec<u8>]) -> Lead {
        let whole = ids
            .iter()
            .copied()
            .filter(|&i| texts[i].len() == 1)
            .collect();
        let short = ids
            .iter()
            .copied()
            .filter(|&i| (2..4).contains(&texts[i].len()))
            .collect();
        let mut long: Vec<usize> = ids
            .iter()
            .copied()
            .filter(|&i| texts[i].len() >= 4)
            .collect();
        long.sort_by_key(|&i| (prefix_bucket(first4(&texts[i])), i));
        let mut start = Box::new([0u32; PREFIX_BUCKETS + 1]);
        for (b, s) in start.iter_mut().enumerate() {
            *s = long.partition_point(|&i| prefix_bucket(first4(&texts[i])) < b) as u32;
        }
        Lead {
            byte,
            whole,
            short,
            long,
            start,
        }
    }

    /// The lead byte is at `at`.
    /// Whether a signature not found before was.
    #[inline]
    fn hit(&self, packed: &Packed, haystack: &[u8], at: usize, found: &mut Found<'_>) -> bool {
        let mut new = false;
        for &i in &self.whole {
            new |= !found.has(i);
            found.set(i);
        }
        new |= compare_at(packed, &self.short, haystack, at, found);
        if let Some(w) = haystack.get(at..at + 4) {
            let b = prefix_bucket(first4(w));
            let long = &self.long[self.start[b] as usize..self.start[b + 1] as usize];
            new |= compare_at(packed, long, haystack, at, found);
        }
        new
    }
}

/// Marks found each of `sigs` not found yet that occurs at `at`; whether one did.
#[inline(always)]
fn compare_at(
    packed: &Packed,
    sigs: &[usize],
    haystack: &[u8],
    at: usize,
    found: &mut Found<'_>,
) -> bool {
    let mut new = false;
    for &i in sigs {
        if !found.has(i) && occurs_at(&packed.texts[i], packed.heads[i], haystack, at) {
            found.set(i);
            new = true;
        }
    }
    new
}

/// The signatures a fragment stands for, each with where the fragment starts in it.
type Holders = Vec<(usize, usize)>;

/// Rare lead bytes (`memchr`) and fragments (Teddy); see the module documentation.
#[derive(Debug)]
struct Packed {
    texts: Vec<Vec<u8>>,
    heads: Vec<Head>,
    /// At most 3 (one `memchr` pass).
    leads: Vec<Lead>,
    /// Over `fragments`; `None` when every signature has a lead byte.
    searcher: Option<packed::Searcher>,
    fragments: Vec<Vec<u8>>,
    /// Fragment id -> the signatures it was chosen for, with where it starts in them.
    holders: Vec<Holders>,
    /// For each fragment, the others that can start where it does (one is a prefix of the
    /// other): Teddy reports one pattern per position.
    also: Vec<Vec<usize>>,
    /// The longest signature.
    max_len: usize,
}

impl Packed {
    /// `None` when the signatures need more than 64 fragments or Teddy is not available.
    fn build(texts: &[Vec<u8>], rules: &LeadRules) -> Option<Packed> {
        // Lead bytes: rare first bytes of many signatures with many different prefixes.
        let mut by_first: BTreeMap<u8, Vec<usize>> = BTreeMap::new();
        for (i, t) in texts.iter().enumerate() {
            by_first.entry(t[0]).or_default().push(i);
        }
        let mut leads: Vec<(u8, Vec<usize>)> = by_first
            .into_iter()
            .filter(|(b, ids)| {
                let mut prefixes: Vec<&[u8]> = ids
                    .iter()
                    .map(|&i| &texts[i][..texts[i].len().min(3)])
                    .collect();
                prefixes.sort_unstable();
                prefixes.dedup();
                BYTE_FREQUENCY[usize::from(*b)] <= rules.max_frequency
                    && prefixes.len() >= rules.min_prefixes
            })
            .collect();
        leads.sort_by_key(|(b, ids)| (std::cmp::Reverse(ids.len()), *b));
        leads.truncate(3);
        // A fragment shorter than 4 bytes gives every fragment a 3-byte fingerprint in Teddy
        // (many more false candidates): the first byte of a signature that short leads, while
        // there is room.
        for t in texts {
            if t.len() < 4 && leads.len() < 3 && !leads.iter().any(|(b, _)| *b == t[0]) {
                let ids = (0..texts.len()).filter(|&j| texts[j][0] == t[0]).collect();
                leads.push((t[0], ids));
            }
        }
        let led: Vec<bool> = (0..texts.len())
            .map(|i| leads.iter().any(|(b, _)| texts[i][0] == *b))
            .collect();
        let rest: Vec<usize> = (0..texts.len()).filter(|&i| !led[i]).collect();
        let chosen = choose_fragments(texts, &rest);
        if chosen.len() > 64 {
            return None;
        }
        let (fragments, holders): (Vec<Vec<u8>>, Vec<Holders>) = chosen.into_iter().unzip();
        let searcher = if fragments.is_empty() {
            None
        } else {
            // Teddy needs SSSE3 or NEON and at most 64 patterns; its builder says no otherwise.
            Some(
                packed::Config::new()
                    .match_kind(packed::MatchKind::LeftmostFirst)
                    .builder()
                    .extend(&fragments)
                    .build()?,
            )
        };
        let also = (0..fragments.len())
            .map(|i| {
                (0..fragments.len())
                    .filter(|&j| {
                        j != i
                            && (fragments[i].starts_with(&fragments[j])
                                || fragments[j].starts_with(&fragments[i]))
                    })
                    .collect()
            })
            .collect();
        Some(Packed {
            leads: leads
                .iter()
                .map(|(b, ids)| Lead::new(*b, ids, texts))
                .collect(),
            texts: texts.to_vec(),
            heads: texts.iter().map(|t| Head::new(t)).collect(),
            searcher,
            fragments,
            holders,
            also,
            max_len: texts.iter().map(Vec::len).max().unwrap_or(0),
        })
    }

    /// See [`Scanner::scan_bits`].
    fn scan(&self, haystack: &[u8], from: usize, found: &mut Found<'_>) -> Option<usize> {
        // A new signature found: the scan may stop. The lead bytes are looked for first, all
        // of them: stopped there, nothing is known of the other signatures after `from`.
        let lead = |l: &Lead, at: usize, found: &mut Found<'_>| {
            l.hit(self, haystack, from + at, found) && found.done()
        };
        let rest = &haystack[from.min(haystack.len())..];
        match &self.leads[..] {
            [] => {}
            [a] => {
                for at in memchr::memchr_iter(a.byte, rest) {
                    if lead(a, at, found) {
                        return Some(from);
                    }
                }
            }
            [a, b] => {
                for at in memchr::memchr2_iter(a.byte, b.byte, rest) {
                    if lead(if rest[at] == a.byte { a } else { b }, at, found) {
                        return Some(from);
                    }
                }
            }
            [a, b, c, ..] => {
                for at in memchr::memchr3_iter(a.byte, b.byte, c.byte, rest) {
                    let x = rest[at];
                    let l = if x == a.byte {
                        a
                    } else if x == b.byte {
                        b
                    } else {
                        c
                    };
                    if lead(l, at, found) {
                        return Some(from);
                    }
                }
            }
        }
        let searcher = self.searcher.as_ref()?;
        // The leftmost position from `at` where a fragment starts (the one found, and those
        // that can start there too, are compared there), then on from the next byte: none is
        // missed.
        let mut at = from;
        while at < haystack.len() {
            let Some(m) = searcher.find_in(haystack, Span::from(at..haystack.len())) else {
                break;
            };
            let i = m.pattern().as_usize();
            let start = m.start();
            let mut new = self.fragment(i, haystack, start, found);
            for &j in &self.also[i] {
                if haystack[start..].starts_with(&self.fragments[j]) {
                    new |= self.fragment(j, haystack, start, found);
                }
            }
            if new && found.done() {
                // Every fragment starting up to `start` was looked at: a signature not found
                // has its fragment further on, so starts after `start + 1 - max_len`.
                return Some(from.max((start + 1).saturating_sub(self.max_len)));
            }
            at = start + 1;
        }
        None
    }

    /// Fragment `f` occurs at `at`: the signatures it stands for that occur around it.
    /// Whether a signature not found before was.
    #[inline(always)]
    fn fragment(&self, f: usize, haystack: &[u8], at: usize, found: &mut Found<'_>) -> bool {
        let mut new = false;
        for &(i, offset) in &self.holders[f] {
            if at >= offset
                && !found.has(i)
                && occurs_at(&self.texts[i], self.heads[i], haystack, at - offset)
            {
                found.set(i);
                new = true;
            }
        }
        new
    }
}

/// Fragments for signatures `ids` (each a substring of 3 or 4 bytes of a signature, or the
/// whole signature when shorter), each with the signatures it stands for and where it starts
/// in them. Greedy: the fragment with the fewest expected occurrences (plus
/// [`FRAGMENT_COST`]) per signature it would newly stand for, until every signature has one.
fn choose_fragments(texts: &[Vec<u8>], ids: &[usize]) -> Vec<(Vec<u8>, Holders)> {
    // Every candidate with the signatures holding it (in order, once each), sorted by bytes
    // so that the choice does not depend on hashing.
    let mut holding: BTreeMap<&[u8], Vec<usize>> = BTreeMap::new();
    // Teddy fingerprints the shortest fragment's length (at most 4 bytes) of each: 4-byte
    // fragments only, when every signature has 4 bytes.
    let all_long = ids.iter().all(|&i| texts[i].len() >= 4);
    for &i in ids {
        let t = &texts[i][..];
        let lens: &[usize] = if t.len() < 3 {
            &[t.len()]
        } else if all_long {
            &[4]
        } else {
            &[3, 4]
        };
        for &len in lens.iter().filter(|&&l| l <= t.len()) {
            for w in t.windows(len) {
                let v = holding.entry(w).or_default();
                if v.last() != Some(&i) {
                    v.push(i);
                }
            }
        }
    }
    let candidates: Vec<(&[u8], Vec<usize>, f64)> = holding
        .into_iter()
        .map(|(w, v)| (w, v, expected(w) + FRAGMENT_COST))
        .collect();
    let mut covered = vec![false; texts.len()];
    let mut left = ids.len();
    let mut out = Vec::new();
    while left > 0 {
        let mut best: Option<(f64, usize)> = None;
        for (c, (_, holders, cost)) in candidates.iter().enumerate() {
            let new = holders.iter().filter(|&&i| !covered[i]).count();
            if new == 0 {
                continue;
            }
            let per = cost / new as f64;
            if best.is_none_or(|(b, _)| per < b) {
                best = Some((per, c));
            }
        }
        // Every uncovered signature holds at least its own windows.
        let Some((_, c)) = best else { break };
        let (w, holders, _) = &candidates[c];
        let mut stands_for = Vec::new();
        for &i in holders {
            if !covered[i] {
                covered[i] = true;
                left -= 1;
                let offset = texts[i].windows(w.len()).position(|x| x == *w).unwrap_or(0);
                stands_for.push((i, offset));
            }
        }
        out.push((w.to_vec(), stands_for));
    }
    out
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
    fn the_scan_stops_once_the_best_vendor_holds_and_the_answer_is_the_same() {
        let d = Detector::build(&[
            plan(
                "top",
                "any = [\"ALPHA\", \"%TOP-\"]\nall = [\"BRAVO\"]\npriority = 9",
            ),
            plan("low", "any = [\"CHARLIE\", \"%LOW-\"]"),
        ])
        .unwrap();
        let pad = "z".repeat(200);
        for (line, want) in [
            (format!("ALPHA BRAVO {pad} CHARLIE"), Some("top")),
            (format!("BRAVO %TOP- {pad} %LOW- CHARLIE"), Some("top")),
            (format!("ALPHA {pad} CHARLIE {pad} BRAVO"), Some("top")),
            (format!("CHARLIE ALPHA {pad}"), Some("low")),
            (format!("BRAVO {pad} %LOW-"), Some("low")),
            (format!("{pad} BRAV ALPH"), None),
        ] {
            assert_eq!(detect(&d, &line), want, "{line}");
        }
        // Stopped early, the bits still rank `top` first.
        let s = &d.text;
        let mut found: SmallVec<[u64; 8]> = SmallVec::from_elem(0, s.words);
        let line = format!("ALPHA BRAVO {pad} CHARLIE");
        let tier = s.tiers.last().unwrap().as_ref().unwrap();
        let mut f = Found {
            bits: &mut found,
            ids: &tier.ids,
            rank_of: &s.rank_of,
            vendors: &s.vendors,
            best: 2,
            stop: 1,
        };
        assert!(tier.scanner.scan_bits(line.as_bytes(), 0, &mut f).is_some());
        assert_eq!(f.best, 0);
        assert!(s.vendors[0].holds(&found));
        assert!(!s.vendors[1].holds(&found), "CHARLIE was not scanned for");
        // Nothing is ranked above the top vendor: no tier to scan once it holds.
        assert!(s.tiers[0].is_none());
        assert_eq!(s.tiers[1].as_ref().unwrap().ids, [0, 1, 2]);
    }

    #[test]
    fn a_better_vendor_found_after_a_worse_one_anywhere_in_the_line() {
        // `low` holds first; the line is then scanned for `mid`'s and `high`'s signatures
        // only, and for `high`'s once `mid` holds. Every place of the better signature, across
        // the 16/32/64-byte blocks of the packed search and up to the very end of the line.
        let d = Detector::build(&[
            plan(
                "low",
                "any = [\"lowsig\", \"%LA-\", \"%LB-\", \"%LC-\", \"%LD-\"]\npriority = 1",
            ),
            plan("mid", "any = [\"MIDSIG\"]\npriority = 5"),
            plan("high", "any = [\"HiGhQZ\"]\nall = [\"andQ\"]\npriority = 9"),
        ])
        .unwrap();
        for len in [40, 100, 150, 300] {
            for at in 0..=len - 6 {
                for low in ["lowsig", "%LB-"] {
                    let mut line = format!("{low}{}", "y".repeat(len));
                    let n = line.len();
                    line.replace_range(n - len + at..n - len + at + 6, "MIDSIG");
                    assert_eq!(detect(&d, &line), Some("mid"), "{line}");
                    let better = format!("{line} andQ");
                    assert_eq!(detect(&d, &better), Some("mid"), "{better}");
                    let mut best = format!("andQ {line}");
                    let n = best.len();
                    best.replace_range(n - len + at..n - len + at + 6, "HiGhQZ");
                    assert_eq!(detect(&d, &best), Some("high"), "{best}");
                    // Cut short at the end of the line: not found.
                    if at + 6 == len {
                        best.pop();
                        assert_eq!(detect(&d, &best), Some("low"), "{best}");
                    }
                }
            }
        }
        // The worse vendor's signature found inside the better one, before the better one's
        // fragment: the scan for the better one goes back far enough to find it.
        let d = Detector::build(&[
            plan("low", "any = [\"TUVW\"]"),
            plan("high", "any = [\"eeeeTUVWeQZ\"]\npriority = 9"),
        ])
        .unwrap();
        for pad in 0..70 {
            let p = "y".repeat(pad);
            assert_eq!(detect(&d, &format!("{p}eeeeTUVWeQZ{p}")), Some("high"));
            assert_eq!(detect(&d, &format!("{p}eeeeTUVWeQ{p}")), Some("low"));
        }
        // The tiers choose different fragments: with every vendor, `jjjk` stands for the
        // better signature (shared by three), found after the worse one's `tuvw`; for the
        // better vendor alone, `jjjj`, before `tuvw`. The scan for it goes back far enough.
        let d = Detector::build(&[
            plan("high", "any = [\"jjjjtuvwjjjk\"]\npriority = 9"),
            plan("low", "any = [\"tuvw\"]\npriority = 5"),
            plan("o1", "any = [\"jjjk\"]\npriority = 1"),
            plan("o2", "any = [\"jjjk\"]\npriority = 1"),
        ])
        .unwrap();
        let frags = |k: usize| match &d.text.tiers[k].as_ref().unwrap().scanner {
            Scanner::Packed(p) => p.fragments.clone(),
            Scanner::Dfa(_) => Vec::new(),
        };
        #[cfg(target_arch = "x86_64")]
        {
            assert_eq!(frags(4), [b"jjjk".to_vec(), b"tuvw".to_vec()]);
            assert_eq!(frags(1), [b"jjjj".to_vec()]);
        }
        for pad in 0..70 {
            let p = "y".repeat(pad);
            assert_eq!(detect(&d, &format!("{p}jjjjtuvwjjjk{p}")), Some("high"));
            assert_eq!(detect(&d, &format!("{p}jjjjtuvwjjj{p}")), Some("low"));
        }
        // A lead byte's signature first (its pass runs before the fragments'): the better
        // vendor is looked for from the start of the line.
        let d = Detector::build(&[
            plan("low", "any = [\"%LA-\", \"%LB-\", \"%LC-\", \"%LD-\"]"),
            plan("high", "any = [\"HIGHER\"]\npriority = 9"),
        ])
        .unwrap();
        assert_eq!(detect(&d, "x HIGHER y %LC- z"), Some("high"));
        assert_eq!(detect(&d, "x %LC- y HIGHER z"), Some("high"));
        assert_eq!(detect(&d, "x %LC- y HIGHE z"), Some("low"));
    }

    #[test]
    fn a_priority_tie_goes_to_the_first_vendor_wherever_the_signatures_are() {
        let d = Detector::build(&[
            plan("a", "any = [\"alpha\"]\npriority = 5"),
            plan("b", "any = [\"bravo\"]\npriority = 5"),
            plan("c", "any = [\"charlie\"]\npriority = 5"),
            plan("z", "any = [\"zulu\"]\npriority = 1"),
        ])
        .unwrap();
        let pad = "w".repeat(90);
        for (line, want) in [
            (format!("charlie {pad} bravo {pad} alpha"), "a"),
            (format!("zulu {pad} charlie {pad} bravo"), "b"),
            (format!("bravo {pad} alpha"), "a"),
            (format!("charlie zulu {pad}"), "c"),
            (format!("zulu {pad} charlie"), "c"),
        ] {
            assert_eq!(detect(&d, &line), Some(want), "{line}");
        }
    }

    #[test]
    fn json_vendors_are_ranked_in_tiers_too() {
        let d = Detector::build(&[
            plan(
                "audit",
                "json_keys = [\"verb\", \"auditID\"]\npriority = 20",
            ),
            plan("cloud", "json_keys = [\"eventVersion\"]\npriority = 10"),
            plan("events", "json = true\nany = ['\"reason\"']\npriority = 5"),
            plan("generic", "json = true\npriority = -100"),
            plan("text", "any = [\"eventVersion\"]\npriority = 50"),
        ])
        .unwrap();
        let pad = "\"k\":1,".repeat(40);
        for (line, want) in [
            (
                format!("{{\"eventVersion\":1,{pad}\"verb\":\"get\",\"auditID\":\"x\"}}"),
                "audit",
            ),
            (
                format!("{{\"eventVersion\":1,{pad}\"verb\":\"get\"}}"),
                "cloud",
            ),
            (format!("{{\"reason\":1,{pad}\"eventVersion\":2}}"), "cloud"),
            (format!("{{\"reason\":1,{pad}\"verb\":2}}"), "events"),
            (format!("{{{pad}\"k\":2}}"), "generic"),
            // Not JSON: the text vendors only.
            (format!("<13>x: eventVersion {pad}"), "text"),
        ] {
            assert_eq!(detect(&d, &line), Some(want), "{line}");
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
        let packed = Scanner::build(texts.clone()).unwrap();
        #[cfg(target_arch = "x86_64")]
        assert!(matches!(packed, Scanner::Packed(_)));
        let few = &texts[..40];
        let few_packed = Scanner::build(few.to_vec()).unwrap();
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        for e in std::fs::read_dir(root.join("benches/corpus")).unwrap() {
            let text = std::fs::read_to_string(e.unwrap().path()).unwrap();
            for line in text.lines() {
                let h = line.as_bytes();
                for (scanner, texts) in [
                    (&dfa, &texts[..]),
                    (&packed, &texts[..]),
                    (&few_packed, few),
                ] {
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

    /// Every first byte may be a lead byte.
    const EVERY_LEAD: LeadRules = LeadRules {
        max_frequency: u16::MAX,
        min_prefixes: 1,
    };

    fn found_by(scanner: &Scanner, texts: &[Vec<u8>], h: &[u8]) -> Vec<bool> {
        let mut found = vec![false; texts.len()];
        scanner.scan(h, &mut |i| found[i] = true);
        found
    }

    #[test]
    fn every_signature_gets_a_fragment_it_holds() {
        let methods = [
            "GET", "POST", "PUT", "HEAD", "DELETE", "PATCH", "OPTIONS", "TRACE",
        ];
        let texts: Vec<Vec<u8>> = ["a", "ab", "abc", "xabcx", "%SYS-", "abc"]
            .iter()
            .map(|s| s.as_bytes().to_vec())
            .chain(methods.iter().map(|m| format!("] \"{m} ").into_bytes()))
            .collect();
        let ids: Vec<usize> = (0..texts.len()).collect();
        let chosen = choose_fragments(&texts, &ids);
        let mut seen = vec![0; texts.len()];
        for (fragment, holders) in &chosen {
            assert!(!fragment.is_empty() && fragment.len() <= 4);
            for &(i, offset) in holders {
                seen[i] += 1;
                assert_eq!(&texts[i][offset..offset + fragment.len()], &fragment[..]);
            }
        }
        assert_eq!(seen, vec![1; texts.len()], "{chosen:?}");
        // A signature shorter than 3 bytes is its own fragment; "abc" stands for both "abc"
        // (and for "xabcx" only if that was cheaper); the Apache methods share some.
        assert!(chosen.iter().any(|(f, h)| f == b"a" && h == &[(0, 0)]));
        assert!(chosen.iter().any(|(f, h)| f == b"ab" && h == &[(1, 0)]));
        assert!(chosen
            .iter()
            .any(|(f, h)| f == b"abc" && h.contains(&(2, 0)) && h.contains(&(5, 0))));
        let for_methods = chosen
            .iter()
            .filter(|(_, h)| h.iter().any(|&(i, _)| i >= 6));
        assert!(for_methods.count() < methods.len(), "{chosen:?}");
        // The same choice every time.
        assert_eq!(choose_fragments(&texts, &ids), chosen);
        assert!(choose_fragments(&texts, &[]).is_empty());
    }

    #[test]
    fn a_rare_first_byte_leads_and_the_bytes_after_it_pick_the_signatures() {
        let texts: Vec<Vec<u8>> = ["%ASA-", "%SYS-", "%SEC-", "%LINK-", "%", "logid="]
            .iter()
            .map(|s| s.as_bytes().to_vec())
            .collect();
        let packed = Packed::build(&texts, &LEAD_RULES).unwrap();
        assert_eq!(packed.leads.len(), 1);
        assert_eq!(packed.leads[0].byte, b'%');
        assert_eq!(packed.fragments.len(), 1, "only `logid=` needs a fragment");
        let scanner = Scanner::Packed(Box::new(packed));
        let f = |h: &str| found_by(&scanner, &texts, h.as_bytes());
        assert_eq!(f("%SYS-5 %SEC"), [false, true, false, false, true, false]);
        assert_eq!(
            f("x%LINK-%ASA-logid="),
            [true, false, false, true, true, true]
        );
        assert_eq!(f("no percent sign"), [false; 6]);
        // The lead byte last in the line: no second byte to look at.
        assert_eq!(f("ends with %"), [false, false, false, false, true, false]);
        assert_eq!(f(""), [false; 6]);
    }

    #[test]
    fn a_lead_with_many_signatures_sharing_their_start_finds_each_at_every_offset() {
        // Every Apache method after `] "`, the 3-byte `] "` of nginx, 2-byte and 4-byte ones,
        // signatures that are prefixes of others, and (with 40 of them in 256 buckets) some
        // that hash to the same bucket.
        let mut sigs: Vec<String> = [
            "GET ",
            "POST ",
            "PUT ",
            "PATCH ",
            "PROPFIND ",
            "PROPPATCH ",
            "HEAD ",
            "-\" ",
        ]
        .iter()
        .map(|m| format!("] \"{m}"))
        .collect();
        sigs.extend(["] \"", "]x", "] \"P", "]]]]"].map(String::from));
        sigs.extend((0..40).map(|k| format!("]{k:02}z")));
        let texts: Vec<Vec<u8>> = sigs.iter().map(|s| s.clone().into_bytes()).collect();
        let packed = Packed::build(&texts, &EVERY_LEAD).unwrap();
        assert_eq!(packed.leads.len(), 1);
        assert!(packed.searcher.is_none());
        let lead = &packed.leads[0];
        assert_eq!((lead.short.len(), lead.long.len()), (2, texts.len() - 2));
        let buckets = (0..PREFIX_BUCKETS).filter(|&b| lead.start[b + 1] > lead.start[b]);
        assert!(buckets.count() < lead.long.len(), "no two share a bucket");
        let scanner = Scanner::Packed(Box::new(packed));
        for sig in &sigs {
            for pad in 0..6 {
                for tail in ["", "]", "] ", "] \"", " tail ] \"GET /"] {
                    let line = format!("{}{sig}{tail}", "a]".repeat(pad));
                    let h = line.as_bytes();
                    let want: Vec<bool> = texts
                        .iter()
                        .map(|t| h.windows(t.len()).any(|w| w == &t[..]))
                        .collect();
                    assert_eq!(found_by(&scanner, &texts, h), want, "{line:?}");
                }
            }
        }
    }

    #[test]
    fn a_signature_shorter_than_4_bytes_leads_so_fragments_have_4() {
        let texts: Vec<Vec<u8>> = ["] \"", "] \"GET ", "logid=", "devid=FG", "x]"]
            .iter()
            .map(|s| s.as_bytes().to_vec())
            .collect();
        let packed = Packed::build(&texts, &LEAD_RULES).unwrap();
        assert_eq!(
            packed.leads.iter().map(|l| l.byte).collect::<Vec<_>>(),
            [b']', b'x']
        );
        assert!(
            packed.fragments.iter().all(|f| f.len() == 4),
            "{:?}",
            packed.fragments
        );
        let scanner = Scanner::Packed(Box::new(packed));
        let f = |h: &str| found_by(&scanner, &texts, h.as_bytes());
        assert_eq!(f("a] \"GET / logid=1"), [true, true, true, false, false]);
        assert_eq!(f("x]"), [false, false, false, false, true]);
        assert_eq!(f("] \"] devid=FG"), [true, false, false, true, false]);
        // The signature at the very end (less than 8 bytes left for the head compare).
        assert_eq!(f("devid=F"), [false; 5]);
        assert_eq!(f("q devid=FG"), [false, false, false, true, false]);
        // A fourth short signature finds no room among 3 lead bytes: 3-byte fragments then.
        let more: Vec<Vec<u8>> = ["%a", "]b", "xc", "yd", "logid="]
            .iter()
            .map(|s| s.as_bytes().to_vec())
            .collect();
        let packed = Packed::build(&more, &LEAD_RULES).unwrap();
        assert_eq!(packed.leads.len(), 3);
        let scanner = Scanner::Packed(Box::new(packed));
        assert_eq!(found_by(&scanner, &more, b"yd]b%a logid=xc"), [true; 5]);
    }

    #[test]
    fn too_many_fragments_fall_back_to_the_dfa() {
        // 70 four-byte signatures with no bytes in common at the same place: one fragment each.
        let texts: Vec<Vec<u8>> = (0..70u8)
            .map(|i| vec![b'a' + i % 10, b'a' + i / 10, b'x', b'y'])
            .collect();
        assert!(Packed::build(&texts, &LEAD_RULES).is_none());
        let scanner = Scanner::build(texts.clone()).unwrap();
        assert!(matches!(scanner, Scanner::Dfa(_)));
        let found = found_by(&scanner, &texts, b"zz baxy jgxy");
        let want: Vec<bool> = (0..70).map(|i| i == 1 || i == 69).collect();
        assert_eq!(found, want);
    }

    #[test]
    fn the_shipped_signatures_use_the_packed_scanners() {
        let d = Detector::build(&shipped()).unwrap();
        #[cfg(target_arch = "x86_64")]
        for s in [&d.text, &d.json] {
            for tier in s.tiers.iter().flatten() {
                assert!(matches!(tier.scanner, Scanner::Packed(_)));
            }
        }
        let all = d.text.tiers.last().unwrap().as_ref().map(|t| &t.scanner);
        if let Some(Scanner::Packed(p)) = all {
            // `%` for the Cisco tags; `]` for nginx's 3-byte `] "` (and Apache's methods).
            assert_eq!(
                p.leads.iter().map(|l| l.byte).collect::<Vec<_>>(),
                [b'%', b']']
            );
            assert!(p.fragments.iter().all(|f| f.len() == 4));
        }
    }

    #[test]
    fn vendor_conditions_span_words_of_signature_bits() {
        assert_eq!(masks(0..0), Masks::new());
        assert_eq!(&masks(62..66)[..], &[(0, 3 << 62), (1, 3)]);
        let e = Entry {
            name: Symbol::intern("v"),
            any: masks(60..70),
            all: masks(126..130),
            priority: 0,
        };
        let mut found = [0u64; 3];
        assert!(!e.holds(&found));
        found[1] = 1 << 62 | 1 << 63;
        found[2] = 3;
        assert!(!e.holds(&found), "no `any` signature");
        found[1] |= 1 << 5;
        assert!(e.holds(&found));
        found[2] = 1;
        assert!(!e.holds(&found), "one `all` signature missing");
    }

    /// A vendor's `[detect]` table from generated signatures.
    fn generated(any: &[String], all: &[String], priority: i32) -> String {
        let list = |v: &[String]| {
            v.iter()
                .map(|t| format!("\"{t}\""))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut s = format!("priority = {priority}\n");
        if !any.is_empty() {
            s += &format!("any = [{}]\n", list(any));
        }
        if !all.is_empty() {
            s += &format!("all = [{}]\n", list(all));
        }
        s
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
            // Every first byte a lead (up to 3 of them), the rest by fragments.
            let led = Packed::build(&texts, &EVERY_LEAD).map(|p| Scanner::Packed(Box::new(p)));
            for line in &lines {
                let h = line.as_bytes();
                let want: Vec<bool> = texts
                    .iter()
                    .map(|t| h.windows(t.len()).any(|w| w == &t[..]))
                    .collect();
                for scanner in [Some(&dfa), Some(&packed), led.as_ref()].into_iter().flatten() {
                    let mut found = vec![false; texts.len()];
                    scanner.scan(h, &mut |i| found[i] = true);
                    proptest::prop_assert_eq!(&found, &want, "{:?} in {:?}", sigs, line);
                }
            }
        }

        /// The detector (tiers, early stops) agrees with the definition, on random vendors
        /// (priority ties, `any` and `all` signatures, lead bytes and fragments) and lines.
        #[test]
        fn the_detector_agrees_with_the_definition(
            vendors in proptest::collection::vec(
                (
                    proptest::collection::vec("[abc%é]{1,7}", 0..4),
                    proptest::collection::vec("[abc%]{1,5}", 0..2),
                    0..3i32,
                ),
                1..7,
            ),
            lines in proptest::collection::vec("[abc%éx]{0,250}", 1..8),
        ) {
            let plans: Vec<Arc<VendorPlan>> = vendors
                .iter()
                .enumerate()
                .map(|(i, (any, all, p))| plan(&format!("v{i}"), &generated(any, all, *p)))
                .collect();
            let d = Detector::build(&plans).unwrap();
            for line in &lines {
                proptest::prop_assert_eq!(detect(&d, line), reference(&plans, line), "{:?}", line);
            }
        }
    }
}
