//! A direct byte matcher for the `^`-anchored patterns that one byte of lookahead decides,
//! used instead of the regex engine on ASCII text.
//!
//! On ASCII text every class of a pattern (`\S`, `\d`, `.`, `[^"]`, `[[:graph:]&&[^,]]`) is a set
//! of bytes, and a pattern made of literals, captures, greedy repetitions, optional groups and
//! alternations can be matched left to right with no backtracking when each choice is decided
//! by the next byte (or the end of the text). [`FastMatch::new`] accepts a pattern only when it
//! proves that, from its syntax tree:
//!
//! - every decision point (stop or continue a repetition, take or skip an optional group, which
//!   branch of an alternation) has alternatives whose sets of possible next symbols (a byte, or
//!   the end of the text for `$`) are disjoint; a skip alternative's set is what can follow it
//!   (computed right to left over the pattern);
//! - where the match may end without `$` (the regex then stops at the first success in its
//!   priority order), the only decisions are those of repetitions of a single class: taking one
//!   more byte of the class cannot fail, whereas taking a longer branch could fail later and
//!   make the regex fall back to a shorter match, which this matcher does not do;
//! - every repetition and optional group is greedy (or has a fixed count), and holds no capture
//!   (a capture repeated reports its last iteration; not needed by the mappings).
//!
//! Then at every decision at most one alternative can lead to a match, so the single path this
//! matcher follows is the regex's leftmost-first match when there is one, with the same capture
//! spans (a group on a path not taken stays unset, an empty group is an empty span).

use regex_automata::util::primitives::NonMaxUsize;
use regex_syntax::hir::{Class, Hir, HirKind, Look};

/// The symbols that may come next at a point of the pattern: bytes (ASCII only: the matcher
/// runs on ASCII text), the end of the text (`$`), and "the match may end here" (`accept`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Sym {
    bytes: u128,
    end: bool,
    accept: bool,
}

impl Sym {
    fn union(self, o: Sym) -> Sym {
        Sym {
            bytes: self.bytes | o.bytes,
            end: self.end || o.end,
            accept: self.accept || o.accept,
        }
    }

    /// True when one next symbol may start both (`accept` starts anything).
    fn overlaps(self, o: Sym) -> bool {
        self.bytes & o.bytes != 0 || (self.end && o.end) || self.accept || o.accept
    }
}

/// A set of next symbols as the matcher tests it: one load per byte.
#[derive(Debug)]
struct Next {
    bytes: Box<[bool; 128]>,
    end: bool,
}

impl Next {
    fn new(s: Sym) -> Next {
        Next {
            bytes: table(s.bytes),
            end: s.end,
        }
    }

    #[inline]
    fn has(&self, s: &[u8], i: usize) -> bool {
        match s.get(i) {
            Some(&b) => self.bytes[usize::from(b & 0x7f)],
            None => self.end,
        }
    }
}

fn table(bytes: u128) -> Box<[bool; 128]> {
    let mut t = Box::new([false; 128]);
    for (i, v) in t.iter_mut().enumerate() {
        *v = bytes >> i & 1 == 1;
    }
    t
}

#[derive(Debug)]
enum Node {
    Lit(Box<[u8]>),
    /// `min..=max` bytes of a class, as many as there are (greedy).
    Rep {
        set: Box<[bool; 128]>,
        min: usize,
        max: usize,
    },
    /// A capture group: slots `slot` and `slot + 1`.
    Cap {
        slot: usize,
        sub: Vec<Node>,
    },
    /// `min..=max` times a sequence that cannot match empty; past `min`, one more while the next
    /// symbol can start it.
    Loop {
        first: Next,
        min: usize,
        max: usize,
        sub: Vec<Node>,
    },
    /// A [`Node::Loop`] over an alternation with a one-byte branch (`(?:[^"\\]|\\.)*`): a
    /// byte of `one` is an iteration, taken without entering the alternation.
    LoopOne {
        one: Box<[bool; 128]>,
        first: Next,
        min: usize,
        max: usize,
        others: Vec<(Next, Vec<Node>)>,
    },
    /// The branch whose set holds the next symbol.
    Alt(Vec<(Next, Vec<Node>)>),
    /// `$`: the end of the text.
    End,
}

/// A compiled pattern of the subset (see the module comment).
#[derive(Debug)]
pub(super) struct FastMatch {
    nodes: Vec<Node>,
    /// Capture slots it writes: two per group, the implicit whole-match group 0 included.
    pub(super) slots: usize,
}

/// The ASCII bytes of a class (bytes beyond ASCII never occur in the text it runs on).
fn class_bytes(c: &Class) -> u128 {
    let mut set = 0u128;
    let mut add = |a: u32, b: u32| {
        for x in a..=b.min(127) {
            set |= 1 << x;
        }
    };
    match c {
        Class::Unicode(u) => u
            .ranges()
            .iter()
            .for_each(|r| add(r.start().into(), r.end().into())),
        Class::Bytes(b) => b
            .ranges()
            .iter()
            .for_each(|r| add(r.start().into(), r.end().into())),
    }
    set
}

/// The class of a one-byte sub-pattern (a class, or a one-byte literal).
fn single_class(h: &Hir) -> Option<u128> {
    match h.kind() {
        HirKind::Class(c) => Some(class_bytes(c)),
        HirKind::Literal(l) if l.0.len() == 1 && l.0[0] < 128 => Some(1 << l.0[0]),
        _ => None,
    }
}

/// Compiled nodes, the symbols that can start them, and whether they can match empty.
type Part = (Vec<Node>, Sym, bool);

/// Compiles `h`, after which `follow` can come; `None` when it is outside the subset.
fn comp(h: &Hir, follow: Sym, in_loop: bool) -> Option<Part> {
    match h.kind() {
        HirKind::Empty => Some((Vec::new(), Sym::default(), true)),
        HirKind::Literal(l) => {
            if !l.0.is_ascii() || l.0.is_empty() {
                return None;
            }
            let first = Sym {
                bytes: 1 << l.0[0],
                ..Sym::default()
            };
            Some((vec![Node::Lit(l.0.clone())], first, false))
        }
        HirKind::Class(c) => {
            let bytes = class_bytes(c);
            let node = Node::Rep {
                set: table(bytes),
                min: 1,
                max: 1,
            };
            Some((
                vec![node],
                Sym {
                    bytes,
                    ..Sym::default()
                },
                false,
            ))
        }
        HirKind::Look(Look::End) => {
            let first = Sym {
                end: true,
                ..Sym::default()
            };
            Some((vec![Node::End], first, false))
        }
        HirKind::Look(_) => None,
        HirKind::Capture(c) => {
            if in_loop {
                return None;
            }
            let (sub, first, nullable) = comp(&c.sub, follow, in_loop)?;
            let slot = usize::try_from(c.index).ok()?.checked_mul(2)?;
            Some((vec![Node::Cap { slot, sub }], first, nullable))
        }
        HirKind::Concat(parts) => {
            let mut f = follow;
            let mut first = Sym::default();
            let mut nullable = true;
            let mut pieces = Vec::with_capacity(parts.len());
            for part in parts.iter().rev() {
                let (nodes, pf, pn) = comp(part, f, in_loop)?;
                f = if pn { pf.union(f) } else { pf };
                first = if pn { pf.union(first) } else { pf };
                nullable &= pn;
                pieces.push(nodes);
            }
            let mut nodes = Vec::new();
            for piece in pieces.into_iter().rev() {
                for n in piece {
                    match (nodes.last_mut(), n) {
                        (Some(Node::Lit(a)), Node::Lit(b)) => *a = [&a[..], &b[..]].concat().into(),
                        (_, n) => nodes.push(n),
                    }
                }
            }
            Some((nodes, first, nullable))
        }
        HirKind::Alternation(branches) => {
            let mut out = Vec::with_capacity(branches.len());
            let mut effs: Vec<Sym> = Vec::with_capacity(branches.len());
            let (mut first, mut nullables) = (Sym::default(), 0);
            for b in branches {
                let (nodes, bf, bn) = comp(b, follow, in_loop)?;
                let eff = if bn { bf.union(follow) } else { bf };
                if effs.iter().any(|e| e.overlaps(eff)) {
                    return None;
                }
                nullables += usize::from(bn);
                first = first.union(bf);
                effs.push(eff);
                out.push((Next::new(eff), nodes));
            }
            // A branch that can match empty where the match may end would be chosen by the
            // regex whatever comes next; `overlaps` refuses an `accept` in a branch's set.
            if nullables > 1 {
                return None;
            }
            Some((vec![Node::Alt(out)], first, nullables == 1))
        }
        HirKind::Repetition(r) => {
            let min = usize::try_from(r.min).ok()?;
            let max = r
                .max
                .map_or(Some(usize::MAX), |m| usize::try_from(m).ok())?;
            if max == 0 {
                return Some((Vec::new(), Sym::default(), true));
            }
            if let Some(bytes) = single_class(&r.sub) {
                // Another byte of the class or what follows: the next byte must say which (the
                // end of the match may follow: one more byte of the class cannot fail).
                if min != max && (!r.greedy || bytes & follow.bytes != 0) {
                    return None;
                }
                let node = Node::Rep {
                    set: table(bytes),
                    min,
                    max,
                };
                return Some((
                    vec![node],
                    Sym {
                        bytes,
                        ..Sym::default()
                    },
                    min == 0,
                ));
            }
            // A group repeated reports its last iteration: not in the subset (an optional
            // group, at most once, is).
            let in_loop = in_loop || max > 1;
            // First what can start one iteration, then the iteration compiled knowing that
            // another one or what follows the repetition comes after it.
            let (_, f0, n0) = comp(&r.sub, follow, in_loop)?;
            if n0 {
                return None;
            }
            let inner = if max > 1 { f0.union(follow) } else { follow };
            let (sub, f, _) = comp(&r.sub, inner, in_loop)?;
            if min != max && (!r.greedy || f.overlaps(follow)) {
                return None;
            }
            let node = match <[Node; 1]>::try_from(sub) {
                Ok([Node::Alt(mut branches)]) => {
                    let one = branches.iter().position(|(_, b)| {
                        matches!(b.as_slice(), [Node::Rep { min: 1, max: 1, .. }])
                    });
                    match one.map(|k| branches.remove(k).1.pop()) {
                        Some(Some(Node::Rep { set, .. })) => Node::LoopOne {
                            one: set,
                            first: Next::new(f),
                            min,
                            max,
                            others: branches,
                        },
                        _ => Node::Loop {
                            first: Next::new(f),
                            min,
                            max,
                            sub: vec![Node::Alt(branches)],
                        },
                    }
                }
                Ok(single) => Node::Loop {
                    first: Next::new(f),
                    min,
                    max,
                    sub: single.into(),
                },
                Err(sub) => Node::Loop {
                    first: Next::new(f),
                    min,
                    max,
                    sub,
                },
            };
            Some((vec![node], f, min == 0))
        }
    }
}

impl FastMatch {
    /// Compiles `pattern` when it is `^`-anchored and in the subset the module comment
    /// describes; `None` otherwise (and for a pattern that does not parse).
    pub(super) fn new(pattern: &str) -> Option<FastMatch> {
        let hir = regex_syntax::Parser::new().parse(pattern).ok()?;
        let HirKind::Concat(parts) = hir.kind() else {
            return None;
        };
        let (start, rest) = parts.split_first()?;
        if !matches!(start.kind(), HirKind::Look(Look::Start)) {
            return None;
        }
        let rest = Hir::concat(rest.to_vec());
        let accept = Sym {
            accept: true,
            ..Sym::default()
        };
        let (nodes, _, _) = comp(&rest, accept, false)?;
        let groups = hir.properties().explicit_captures_len() + 1;
        Some(FastMatch {
            nodes,
            slots: groups * 2,
        })
    }

    /// Matches `s` (ASCII: the caller checks) from its start; the end of the match. `slots`
    /// (at least [`FastMatch::slots`] long, all `None`) receive the capture spans, the whole
    /// match in the first two.
    #[inline(never)]
    pub(super) fn run(&self, s: &[u8], slots: &mut [Option<NonMaxUsize>]) -> Option<usize> {
        let end = run(&self.nodes, s, 0, slots)?;
        slots[0] = NonMaxUsize::new(0);
        slots[1] = NonMaxUsize::new(end);
        Some(end)
    }
}

fn run(nodes: &[Node], s: &[u8], mut i: usize, slots: &mut [Option<NonMaxUsize>]) -> Option<usize> {
    for n in nodes {
        match n {
            Node::Lit(l) => {
                if s.get(i..i + l.len()) != Some(&l[..]) {
                    return None;
                }
                i += l.len();
            }
            Node::Rep { set, min, max } => {
                let lim = s.len().min(i.saturating_add(*max));
                let start = i;
                while i < lim && set[usize::from(s[i] & 0x7f)] {
                    i += 1;
                }
                if i - start < *min {
                    return None;
                }
            }
            Node::Cap { slot, sub } => {
                let a = i;
                i = run(sub, s, i, slots)?;
                slots[*slot] = NonMaxUsize::new(a);
                slots[*slot + 1] = NonMaxUsize::new(i);
            }
            Node::Loop {
                first,
                min,
                max,
                sub,
            } => {
                let mut count = 0;
                while count < *max {
                    if count >= *min && !first.has(s, i) {
                        break;
                    }
                    i = run(sub, s, i, slots)?;
                    count += 1;
                }
            }
            Node::LoopOne {
                one,
                first,
                min,
                max,
                others,
            } => {
                let mut count = 0;
                while count < *max {
                    if s.get(i).is_some_and(|&b| one[usize::from(b & 0x7f)]) {
                        i += 1;
                    } else {
                        if count >= *min && !first.has(s, i) {
                            break;
                        }
                        let (_, sub) = others.iter().find(|(next, _)| next.has(s, i))?;
                        i = run(sub, s, i, slots)?;
                    }
                    count += 1;
                }
            }
            Node::Alt(branches) => {
                let (_, sub) = branches.iter().find(|(next, _)| next.has(s, i))?;
                i = run(sub, s, i, slots)?;
            }
            Node::End => {
                if i != s.len() {
                    return None;
                }
            }
        }
    }
    Some(i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use regex_automata::meta::Regex;

    /// A small deterministic generator (xorshift), seeded by proptest or a loop.
    struct Rng(u64);

    impl Rng {
        fn new(seed: u64) -> Rng {
            Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
        }
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n.max(1) as u64) as usize
        }
        fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
            &v[self.below(v.len())]
        }
    }

    fn bytes_of(t: &[bool; 128]) -> Vec<u8> {
        (0u8..128).filter(|&b| t[usize::from(b)]).collect()
    }

    /// Every byte a pattern names (literals, classes), and a few others.
    fn alphabet(nodes: &[Node], out: &mut Vec<u8>) {
        for n in nodes {
            match n {
                Node::Lit(l) => out.extend_from_slice(l),
                Node::Rep { set, .. } => out.extend(bytes_of(set)),
                Node::Cap { sub, .. } => alphabet(sub, out),
                Node::Loop { first, sub, .. } => {
                    out.extend(bytes_of(&first.bytes));
                    alphabet(sub, out)
                }
                Node::LoopOne { one, others, .. } => {
                    out.extend(bytes_of(one));
                    others.iter().for_each(|(n, sub)| {
                        out.extend(bytes_of(&n.bytes));
                        alphabet(sub, out)
                    })
                }
                Node::Alt(bs) => bs.iter().for_each(|(n, sub)| {
                    out.extend(bytes_of(&n.bytes));
                    alphabet(sub, out)
                }),
                Node::End => {}
            }
        }
    }

    /// A text the pattern likely matches: a random walk through its nodes.
    fn walk(nodes: &[Node], rng: &mut Rng, out: &mut Vec<u8>) {
        for n in nodes {
            match n {
                Node::Lit(l) => out.extend_from_slice(l),
                Node::Rep { set, min, max } => {
                    let bytes = bytes_of(set);
                    let count = (*min + rng.below(4)).min(*max);
                    for _ in 0..count {
                        if !bytes.is_empty() {
                            out.push(*rng.pick(&bytes));
                        }
                    }
                }
                Node::Cap { sub, .. } => walk(sub, rng, out),
                Node::Loop { min, max, sub, .. } => {
                    for _ in 0..(*min + rng.below(3)).min(*max) {
                        walk(sub, rng, out);
                    }
                }
                Node::LoopOne {
                    one,
                    min,
                    max,
                    others,
                    ..
                } => {
                    let bytes = bytes_of(one);
                    for _ in 0..(*min + rng.below(4)).min(*max) {
                        if rng.below(3) == 0 || bytes.is_empty() {
                            if let Some((_, sub)) = others.get(rng.below(others.len())) {
                                walk(sub, rng, out);
                            }
                        } else {
                            out.push(*rng.pick(&bytes));
                        }
                    }
                }
                Node::Alt(bs) => walk(&rng.pick(bs).1, rng, out),
                Node::End => {}
            }
        }
    }

    /// `text` cut, with bytes deleted, inserted, replaced or repeated.
    fn mutate(text: &mut Vec<u8>, alpha: &[u8], rng: &mut Rng) {
        for _ in 0..rng.below(4) {
            let at = rng.below(text.len() + 1);
            match rng.below(5) {
                0 => text.truncate(at),
                1 if at < text.len() => {
                    text.remove(at);
                }
                2 => text.insert(at, *rng.pick(alpha)),
                3 if at < text.len() => text[at] = *rng.pick(alpha),
                _ => {
                    let end = (at + rng.below(6)).min(text.len());
                    let piece = text[at..end].to_vec();
                    text.splice(at..at, piece);
                }
            }
        }
    }

    /// The fast matcher and the regex agree on `text`: match or not, and every capture span.
    fn same(re: &Regex, fast: &FastMatch, pattern: &str, text: &[u8]) -> Result<bool, String> {
        let text = std::str::from_utf8(text).expect("ASCII");
        let mut want = vec![None; re.group_info().slot_len()];
        let found = re.search_slots(&regex_automata::Input::new(text), &mut want);
        let mut got = vec![None; fast.slots];
        let end = fast.run(text.as_bytes(), &mut got);
        assert_eq!(want.len(), got.len(), "{pattern}");
        let ok = found.is_some() == end.is_some()
            && (found.is_none() || (want == got && end == want[1].map(|e| e.get())));
        if ok {
            Ok(found.is_some())
        } else {
            Err(format!(
                "pattern {pattern:?} on {text:?}: regex {found:?} {want:?}, fast {end:?} {got:?}"
            ))
        }
    }

    /// Compares on `rounds` texts walked from the pattern and mutated; how many matched.
    fn agree(pattern: &str, seed: u64, rounds: usize) -> Result<usize, String> {
        let re = Regex::new(pattern).map_err(|e| e.to_string())?;
        let fast = FastMatch::new(pattern).ok_or("refused")?;
        let mut alpha = b" x\n\t-".to_vec();
        alphabet(&fast.nodes, &mut alpha);
        let mut rng = Rng::new(seed);
        let mut matched = 0;
        for round in 0..rounds {
            let mut text = Vec::new();
            walk(&fast.nodes, &mut rng, &mut text);
            if round % 4 != 0 {
                mutate(&mut text, &alpha, &mut rng);
            }
            matched += usize::from(same(&re, &fast, pattern, &text)?);
            // Every prefix too (a line cut short).
            if round % 16 == 0 {
                for cut in 0..text.len() {
                    same(&re, &fast, pattern, &text[..cut])?;
                }
            }
        }
        Ok(matched)
    }

    /// The regex patterns of the shipped mappings, as the regex operator searches them (ASCII
    /// classes; and without a trailing `(?P<x>.*)$`).
    fn shipped() -> Vec<String> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/vendors");
        let mut out = Vec::new();
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for f in files {
            let doc: toml::Value = toml::from_str(&std::fs::read_to_string(&f).unwrap()).unwrap();
            for op in doc
                .get("parse")
                .and_then(|p| p.as_array())
                .into_iter()
                .flatten()
            {
                if op.get("op").and_then(|o| o.as_str()) != Some("regex") {
                    continue;
                }
                let mut ps: Vec<&str> = op
                    .get("pattern")
                    .and_then(|p| p.as_str())
                    .into_iter()
                    .collect();
                if let Some(list) = op.get("patterns").and_then(|p| p.as_array()) {
                    ps.extend(list.iter().filter_map(|p| p.as_str()));
                }
                for p in ps {
                    let p = super::super::ops::ascii_classes(p);
                    if let Some((short, _)) = super::super::ops::strip_tail(&p) {
                        out.push(short.to_owned());
                    }
                    out.push(p);
                }
            }
        }
        out
    }

    #[test]
    fn shipped_patterns_agree_with_the_regex() {
        let all = shipped();
        let accepted: Vec<&String> = all.iter().filter(|p| FastMatch::new(p).is_some()).collect();
        eprintln!(
            "fast path accepts {} of {} shipped patterns",
            accepted.len(),
            all.len()
        );
        for p in &all {
            if FastMatch::new(p).is_none() {
                eprintln!("refused: {p}");
            }
        }
        assert!(
            accepted.len() * 2 > all.len(),
            "{} of {}",
            accepted.len(),
            all.len()
        );
        for (i, p) in accepted.iter().enumerate() {
            let matched = agree(p, i as u64 + 1, 3000).unwrap_or_else(|e| panic!("{e}"));
            assert!(matched > 100, "{p}: only {matched} of 3000 texts matched");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn shipped_patterns_agree_on_random_texts(which in any::<usize>(), seed in any::<u64>()) {
            let all: Vec<String> = shipped().into_iter().filter(|p| FastMatch::new(p).is_some()).collect();
            let p = &all[which % all.len()];
            agree(p, seed, 50).map_err(TestCaseError::fail)?;
        }

        #[test]
        fn generated_patterns_agree_with_the_regex(seed in any::<u64>()) {
            let mut rng = Rng::new(seed);
            let mut groups = 0;
            let mut p = String::from("^");
            gen_seq(&mut rng, &mut p, 0, &mut groups);
            if rng.below(2) == 0 {
                p.push('$');
            }
            if FastMatch::new(&p).is_some() {
                agree(&p, seed, 60).map_err(TestCaseError::fail)?;
            }
        }
    }

    /// A random pattern of the subset's shapes (many of them refused: overlapping choices).
    fn gen_seq(rng: &mut Rng, out: &mut String, depth: usize, groups: &mut usize) {
        const ATOMS: &[&str] = &[
            "a",
            "b",
            "-",
            ":",
            " ",
            "ab",
            "[a-c]",
            r"\d",
            "[^ ]",
            r"\S",
            "[ab]",
            "[[:alpha:]]",
            ".",
        ];
        const QUANT: &[&str] = &["", "", "+", "*", "?", "{2}", "{1,3}", "{0,2}", "+?", "{2,}"];
        for _ in 0..1 + rng.below(4) {
            match if depth < 2 { rng.below(8) } else { 0 } {
                0..=3 => {
                    let (atom, quant): (&&str, &&str) = (rng.pick(ATOMS), rng.pick(QUANT));
                    out.push_str(atom);
                    out.push_str(quant);
                }
                4 => {
                    out.push_str("(?:");
                    gen_seq(rng, out, depth + 1, groups);
                    out.push_str(if rng.below(2) == 0 { ")?" } else { ")*" });
                }
                5 => {
                    out.push_str(if rng.below(2) == 0 { "(?:-|" } else { "(?:" });
                    gen_seq(rng, out, depth + 1, groups);
                    out.push('|');
                    gen_seq(rng, out, depth + 1, groups);
                    out.push(')');
                }
                _ => {
                    *groups += 1;
                    out.push_str(&format!("(?P<g{groups}>"));
                    gen_seq(rng, out, depth + 1, groups);
                    out.push(')');
                }
            }
        }
    }

    #[test]
    fn generated_patterns_are_often_accepted() {
        let mut accepted = 0;
        for seed in 0..2000u64 {
            let mut rng = Rng::new(seed);
            let mut groups = 0;
            let mut p = String::from("^");
            gen_seq(&mut rng, &mut p, 0, &mut groups);
            if seed % 2 == 0 {
                p.push('$');
            }
            if FastMatch::new(&p).is_some() {
                accepted += 1;
                agree(&p, seed, 200).unwrap_or_else(|e| panic!("{e}"));
            }
        }
        assert!(
            accepted > 300,
            "only {accepted} of 2000 generated patterns accepted"
        );
    }

    /// Every text up to 6 bytes over the patterns' bytes.
    #[test]
    fn small_texts_exhaustively() {
        let patterns = [
            r"^(?P<a>[ab]+)(?:-(?P<b>\d*))?$",
            r"^(?:-|(?P<a>[^ -][^ ]*)) (?P<b>a{1,2})",
            r"^(?P<a>a?)(?P<b>b*)(?P<c>)$",
            r"^(?:a|b-|(?P<e>))(?:\s|$)",
            r"^(?P<x>\d{1,2}(?:-\d{1,2}){2})(?P<y>b*)",
            r"^(?:(?P<p>a)|(?P<q>b)-)(?:a|b){2}?$",
            r"^(?:[ab]-)*c$(?P<end>)",
            r"^a(?: b+)*$",
            // An empty first branch: the next byte still decides.
            r"^(?:|a)b(?P<x>|-)1",
            r"^(?:a|(?P<x>))(?:b|)$",
            // A loop over a one-byte branch and an escape.
            r"^a(?:[^a\\]|\\[ab])*a(?P<t>-?)",
            r"^(?:[^a\\-]|\\[ab]|--1){2,3}(?:a|$)",
        ];
        let alpha = b"ab- 1\n\\";
        for p in patterns {
            let re = Regex::new(p).unwrap();
            let fast = FastMatch::new(p).unwrap_or_else(|| panic!("refused {p}"));
            let mut texts = vec![Vec::new()];
            for _ in 0..6 {
                let last: Vec<Vec<u8>> = texts
                    .iter()
                    .filter(|t| t.len() == texts.last().unwrap().len())
                    .cloned()
                    .collect();
                for t in last {
                    for &b in alpha {
                        let mut t = t.clone();
                        t.push(b);
                        texts.push(t);
                    }
                }
            }
            for t in &texts {
                same(&re, &fast, p, t).unwrap_or_else(|e| panic!("{e}"));
            }
        }
    }

    #[test]
    fn patterns_outside_the_subset_are_refused() {
        for p in [
            // Not anchored, or anchored inside.
            r"a+",
            r"(?:^|\s)a",
            r"^a|b",
            // A repetition that may give back a byte to what follows.
            r"^a*a",
            r"^\S+ ?\S",
            r"^[a-z]{1,3}[c-e]",
            // A choice the next byte does not decide.
            r"^(?:ab)?a",
            r"^(?:a|ab)c",
            r"^(?:a|)a",
            // A longer branch that could fail where the match may end: the regex falls back.
            r"^a(?:bc)?",
            r"^a(?:b|cd)?",
            r"^(?:ab)*",
            r"^a(?:|b)",
            // Lazy choices, captures repeated, other assertions, empty loops.
            r"^a+?b*",
            r"^(?:ab)+?b",
            r"^(?:(?P<x>a)b)*$",
            r"^\bfoo",
            r"(?m)^a$",
            r"^a(?-u:\b)",
            r"^(?:a*)*$",
            // Non-ASCII literals.
            "^é+$",
        ] {
            assert!(FastMatch::new(p).is_none(), "{p} should be refused");
        }
    }

    #[test]
    fn subset_patterns_are_accepted_and_match() {
        for (p, text, want) in [
            (r"^(?P<a>\S+) (?P<b>\d+)$", "ab 12", Some(5)),
            (r"^(?P<a>\S+) (?P<b>\d+)$", "ab 12 ", None),
            (r"^(?P<a>\S+) (?P<b>\d+)", "ab 12 ", Some(5)),
            (r"^\d+\s*", "12  x", Some(4)),
            (r"^(?:-|(?P<u>[^-\s]\S*)) \[", "- [", Some(3)),
            (r"^(?:-|(?P<u>[^-\s]\S*)) \[", "bob [", Some(5)),
            (r"^(?:-|(?P<u>[^-\s]\S*)) \[", "-bob [", None),
            (r"^x(?:\s|$)", "x", Some(1)),
            (r"^x(?:\s|$)", "x y", Some(2)),
            (r"^(?P<h>[^:]+)(?::(?P<p>\d+))?$(?P<v>)", "host:80", Some(7)),
            (r"^$", "", Some(0)),
            (r"^", "abc", None::<usize>),
        ] {
            let Some(fast) = FastMatch::new(p) else {
                assert!(want.is_none() && p == "^", "{p} refused");
                continue;
            };
            let mut slots = vec![None; fast.slots];
            assert_eq!(
                fast.run(text.as_bytes(), &mut slots),
                want,
                "{p} on {text:?}"
            );
            let re = Regex::new(p).unwrap();
            same(&re, &fast, p, text.as_bytes()).unwrap();
        }
    }

    /// The bench corpus's real-looking lines (`benches/corpus`), read from the start and from
    /// after each of their first `: ` separators (where a vendor's message usually starts),
    /// whole and cut every eighth byte, agree for every shipped pattern the fast path takes,
    /// and some of them match.
    #[test]
    fn shipped_patterns_agree_on_the_bench_corpus() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../benches/corpus");
        let mut texts: Vec<String> = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            for l in text.lines().filter(|l| l.is_ascii()) {
                texts.push(l.to_owned());
                texts.extend(
                    l.match_indices(": ")
                        .take(2)
                        .map(|(i, _)| l[i + 2..].to_owned()),
                );
            }
        }
        assert!(texts.len() > 500, "the bench corpus is there");
        let mut matched = 0;
        for p in shipped() {
            let Some(fast) = FastMatch::new(&p) else {
                continue;
            };
            let re = Regex::new(&p).unwrap();
            for t in &texts {
                let t = t.as_bytes();
                matched += usize::from(same(&re, &fast, &p, t).unwrap_or_else(|e| panic!("{e}")));
                for cut in (0..t.len()).step_by(8) {
                    same(&re, &fast, &p, &t[..cut]).unwrap_or_else(|e| panic!("{e}"));
                }
            }
        }
        assert!(
            matched > 1000,
            "{matched} matches: the corpus reaches the patterns"
        );
    }
}
