//! The `json` operator: parses a JSON object (simd-json, into a reused tape), takes the values
//! its JSON pointers name, and keeps every other scalar under its dotted path
//! (`userIdentity.arn`) unless `rest = "drop"`.
//!
//! The tape is walked once: the pointers are compiled into a trie of segments, so each key of
//! an object the pointers go through costs one comparison against the few segments that can
//! follow, and a value a pointer takes is known by its place (not by comparing paths). Values
//! are set in the record as before a walk: first the pointers' in the order written, then the
//! rest in document order (a key already in the record keeps its value).
//!
//! Most lines never reach simd-json: [`Direct`] walks the line's text itself in one pass
//! (strings scanned 16 bytes at a time, values as spans of the line), with the same outcome,
//! and leaves to simd-json only what it is not sure to read the same way (see there).

use super::record::{key_hash, Key, Names, Record, Val};
use crate::schema::Symbol;
use simd_json::{Node, StaticNode, Tape};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// One JSON pointer of the operator: the record field its value goes to, and its segments
/// (unescaped).
pub type JsonPath = (Key, Vec<String>);

/// A compiled `json` operator.
#[derive(Debug)]
pub struct JsonOp {
    /// Tells this operator's [`Learned`] keys from other operators' (unique in the process).
    id: u64,
    /// Per pointer, the record field its value goes to.
    targets: Vec<Key>,
    /// Node 0 is the root (the object itself).
    trie: Vec<TrieNode>,
    keep_rest: bool,
}

#[derive(Debug, Default)]
struct TrieNode {
    /// (segment, node).
    children: Vec<(Box<str>, usize)>,
    /// The [`filter_bit`]s of the children's segments: a key whose bit is not set here is
    /// none of them (most keys of a line, in one test).
    filter: u64,
    /// The pointers that end here.
    targets: Vec<usize>,
}

/// One of 64 bits, from the length and first and last bytes of a segment (see
/// [`TrieNode::filter`]).
#[inline]
fn filter_bit(seg: &[u8]) -> u64 {
    let (first, last) = match seg {
        [] => (0, 0),
        [f, .., l] => (*f, *l),
        [f] => (*f, *f),
    };
    let h = seg.len().wrapping_mul(31) ^ usize::from(first).wrapping_mul(7) ^ usize::from(last);
    1 << (h & 63)
}

/// No tape position (a pointer that found nothing).
const NONE: usize = usize::MAX;

/// simd-json's scratch buffers, the copy of the line it parses in place, the tape it parses
/// into (a flat list of nodes: no allocation per object, unlike a value tree), where each
/// pointer's value is on the tape, the rest's (key, value) and the dotted path being walked.
struct Scratch {
    buffers: simd_json::Buffers,
    buf: Vec<u8>,
    tape: Tape<'static>,
    found: Vec<usize>,
    rest: Vec<(Val, Val)>,
    path: String,
    /// Per pointer, what the fast walk found.
    seen: Vec<Seen>,
    /// The rest the fast walk keeps.
    kept: Vec<Rest>,
    /// Per operator run on this thread, the keys its lines had.
    learned: Vec<Learned>,
}

impl Scratch {
    fn new() -> Scratch {
        Scratch {
            buffers: simd_json::Buffers::default(),
            buf: Vec::new(),
            tape: Tape(Vec::new()),
            found: Vec::new(),
            rest: Vec::new(),
            path: String::new(),
            seen: Vec::new(),
            kept: Vec::new(),
            learned: Vec::new(),
        }
    }
}

thread_local! {
    /// Kept per thread so a line costs no allocation for them.
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::new());
}

/// The number of tape nodes the value at the head of `nodes` spans.
fn span(node: &Node<'_>) -> usize {
    match node {
        Node::Object { count, .. } | Node::Array { count, .. } => count + 1,
        _ => 1,
    }
}

impl JsonOp {
    /// Compiles the pointers into a trie.
    pub fn new(paths: Vec<JsonPath>, keep_rest: bool) -> JsonOp {
        let mut trie = vec![TrieNode::default()];
        for (p, (_, segs)) in paths.iter().enumerate() {
            let mut at = 0;
            for seg in segs {
                at = match trie[at].children.iter().find(|(s, _)| **s == **seg) {
                    Some(&(_, next)) => next,
                    None => {
                        trie.push(TrieNode::default());
                        let next = trie.len() - 1;
                        trie[at].children.push((seg.as_str().into(), next));
                        trie[at].filter |= filter_bit(seg.as_bytes());
                        next
                    }
                };
            }
            trie[at].targets.push(p);
        }
        static NEXT_ID: AtomicU64 = AtomicU64::new(0);
        JsonOp {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            targets: paths.into_iter().map(|(to, _)| to).collect(),
            trie,
            keep_rest,
        }
    }

    #[inline]
    fn child(&self, at: Option<usize>, seg: &[u8]) -> Option<usize> {
        let node = &self.trie[at?];
        if node.filter & filter_bit(seg) == 0 {
            return None;
        }
        let (len, first) = (seg.len(), seg.first());
        // Length and first byte rule out nearly every other segment without a call to memcmp.
        node.children
            .iter()
            .find(|(s, _)| s.len() == len && s.as_bytes().first() == first && s.as_bytes() == seg)
            .map(|&(_, next)| next)
    }

    /// Runs the operator on `s` (the text of `v`); false when it is not a JSON object.
    pub fn run(&self, rec: &mut Record<'_>, v: Val, s: &str) -> bool {
        self.run_with(rec, v, s, true).0
    }

    /// [`JsonOp::run`], trying the direct walk first when `fast`; also says whether the
    /// direct walk took the line.
    fn run_with(&self, rec: &mut Record<'_>, v: Val, s: &str, fast: bool) -> (bool, bool) {
        let Some(start) = s.find('{') else {
            return (false, false);
        };
        SCRATCH.with(|scratch| {
            let Ok(mut scratch) = scratch.try_borrow_mut() else {
                // Re-entered (never in practice): parse with fresh buffers.
                return (
                    self.parse_and_take(rec, v, s, start, &mut Scratch::new()),
                    false,
                );
            };
            if fast && self.direct(rec, v, s, start, &mut scratch) {
                return (true, true);
            }
            (self.parse_and_take(rec, v, s, start, &mut scratch), false)
        })
    }

    /// Walks the line's text itself, without simd-json (see [`Direct`]); false when it left
    /// the line to simd-json (nothing is set in the record then).
    fn direct(
        &self,
        rec: &mut Record<'_>,
        v: Val,
        input: &str,
        start: usize,
        scratch: &mut Scratch,
    ) -> bool {
        let Scratch {
            kept,
            path,
            seen,
            learned,
            ..
        } = scratch;
        seen.clear();
        seen.resize(self.targets.len(), Seen::Absent);
        kept.clear();
        path.clear();
        let names = rec.names();
        let at = match learned.iter().position(|l| l.op == self.id) {
            Some(at) => at,
            None => {
                if learned.len() >= LEARNED_OPS {
                    // The oldest (most likely of operators that are gone, replaced by a reload).
                    learned.remove(0);
                }
                learned.push(Learned::new(self.id, names));
                learned.len() - 1
            }
        };
        let learned = &mut learned[at];
        if !std::ptr::eq(learned.names, names) {
            *learned = Learned::new(self.id, names);
        }
        let mut walk = Direct {
            op: self,
            b: input.as_bytes(),
            input,
            v,
            seen,
            rest: kept,
            path,
            learned,
            names,
        };
        let root = self.keep_rest.then_some(0);
        match walk.object(rec, start + 1, Some(0), self.keep_rest, 0, root) {
            Some((end, _)) if end == input.len() => {}
            _ => return false,
        }
        for (&to, &found) in self.targets.iter().zip(walk.seen.iter()) {
            if let Some(Some(value)) = walk.val(rec, found) {
                rec.set(to, value);
            }
        }
        for r in walk.rest.iter() {
            match r.named {
                Named::Key(key) => {
                    if !rec.has(key) {
                        rec.set(key, r.value);
                    }
                }
                Named::Other(h) => {
                    rec.set_other_if_absent(h, r.key, r.value);
                }
                Named::Unknown => {
                    rec.set_named(r.key, r.value, true);
                }
            }
        }
        true
    }

    fn parse_and_take(
        &self,
        rec: &mut Record<'_>,
        v: Val,
        input: &str,
        start: usize,
        scratch: &mut Scratch,
    ) -> bool {
        let Scratch {
            buffers,
            buf,
            tape: kept,
            found,
            rest,
            path,
            ..
        } = scratch;
        buf.clear();
        buf.extend_from_slice(&input.as_bytes()[start..]);
        let base = buf.as_ptr() as usize;
        let mut tape = std::mem::replace(kept, Tape(Vec::new())).reset();
        let ok = simd_json::fill_tape(buf, buffers, &mut tape).is_ok()
            && matches!(tape.0.first(), Some(Node::Object { .. }));
        if ok {
            let walk = Walk {
                op: self,
                nodes: &tape.0,
                v,
                input,
                start,
                base,
            };
            found.clear();
            found.resize(self.targets.len(), NONE);
            rest.clear();
            path.clear();
            walk.object(rec, 0, Some(0), 0, self.keep_rest, path, found, rest);
            for (&to, &at) in self.targets.iter().zip(found.iter()) {
                if at != NONE {
                    if let Some(value) = walk.value(rec, at) {
                        rec.set(to, value);
                    }
                }
            }
            for &(key, value) in rest.iter() {
                rec.set_named(key, value, true);
            }
        }
        *kept = tape.reset();
        ok
    }
}

/// One walk over a parsed tape.
struct Walk<'w, 't> {
    op: &'w JsonOp,
    nodes: &'w [Node<'t>],
    /// The value the input is (for spans of the line).
    v: Val,
    input: &'w str,
    /// Where the parsed copy starts in the input, and its address.
    start: usize,
    base: usize,
}

impl<'w, 't> Walk<'w, 't> {
    /// The members of the object at `i`: (key, tape index of the value, value).
    fn members(&self, i: usize) -> impl Iterator<Item = (&'t str, usize, &'w Node<'t>)> {
        let nodes = self.nodes;
        let mut left = match nodes.get(i) {
            Some(Node::Object { len, .. }) => *len,
            _ => 0,
        };
        let mut j = i + 1;
        std::iter::from_fn(move || {
            if left == 0 {
                return None;
            }
            left -= 1;
            let (Some(Node::String(k)), Some(value)) = (nodes.get(j), nodes.get(j + 1)) else {
                left = 0;
                return None;
            };
            let vi = j + 1;
            j = vi + span(value);
            Some((*k, vi, value))
        })
    }

    /// Walks the object at `i`: records where the pointers' values are (`found`) and, with
    /// `keep`, every other value under its dotted path (`rest`).
    #[allow(clippy::too_many_arguments)]
    fn object(
        &self,
        rec: &mut Record<'_>,
        i: usize,
        trie: Option<usize>,
        depth: usize,
        keep: bool,
        path: &mut String,
        found: &mut [usize],
        rest: &mut Vec<(Val, Val)>,
    ) {
        for (k, vi, value) in self.members(i) {
            let child = self.op.child(trie, k.as_bytes());
            let taken = child.is_some_and(|c| self.mark(c, vi, found));
            let descend_for_pointers = child.is_some_and(|c| !self.op.trie[c].children.is_empty());
            match value {
                Node::Object { .. } if depth + 1 < 16 => {
                    if keep || descend_for_pointers {
                        let len = path.len();
                        if !path.is_empty() {
                            path.push('.');
                        }
                        path.push_str(k);
                        self.object(rec, vi, child, depth + 1, keep, path, found, rest);
                        path.truncate(len);
                    }
                    continue;
                }
                _ => {
                    if let Some(c) = child {
                        self.pointers_below(c, vi, value, found);
                    }
                }
            }
            if keep && !taken {
                if let Some(value) = self.value(rec, vi) {
                    let key = if path.is_empty() {
                        // A top-level key, written without escapes, is a slice of the line.
                        self.slice_or_copy(rec, k)
                    } else {
                        rec.build(|out| {
                            out.push_str(path);
                            out.push('.');
                            out.push_str(k);
                        })
                    };
                    rest.push((key, value));
                }
            }
        }
    }

    /// Records the value at `vi` for the pointers that end at trie node `c` (the first value a
    /// pointer reaches counts); true when any does.
    fn mark(&self, c: usize, vi: usize, found: &mut [usize]) -> bool {
        let targets = &self.op.trie[c].targets;
        for &p in targets {
            if found[p] == NONE {
                found[p] = vi;
            }
        }
        !targets.is_empty()
    }

    /// Follows the pointers that go on below trie node `c` into the value at `vi`.
    fn pointers_below(&self, c: usize, vi: usize, value: &Node<'_>, found: &mut [usize]) {
        if self.op.trie[c].children.is_empty() {
            return;
        }
        match value {
            Node::Object { .. } => self.object_pointers(vi, Some(c), found),
            Node::Array { .. } => self.array(vi, Some(c), found),
            _ => {}
        }
    }

    /// Walks the array at `i` for the pointers that go through it (arrays are kept whole).
    fn array(&self, i: usize, trie: Option<usize>, found: &mut [usize]) {
        let Node::Array { len, .. } = self.nodes[i] else {
            return;
        };
        let mut j = i + 1;
        let mut index = itoa::Buffer::new();
        for n in 0..len {
            let Some(value) = self.nodes.get(j) else {
                return;
            };
            let vi = j;
            j += span(value);
            let Some(c) = self.op.child(trie, index.format(n).as_bytes()) else {
                continue;
            };
            self.mark(c, vi, found);
            self.pointers_below(c, vi, value, found);
        }
    }

    /// Walks an object inside an array for pointers only.
    fn object_pointers(&self, i: usize, trie: Option<usize>, found: &mut [usize]) {
        for (k, vi, value) in self.members(i) {
            let Some(c) = self.op.child(trie, k.as_bytes()) else {
                continue;
            };
            self.mark(c, vi, found);
            self.pointers_below(c, vi, value, found);
        }
    }

    /// `s` (text of the parsed copy) as a slice of the line when it sits there unchanged (a
    /// string without escapes), else a copy.
    ///
    /// simd-json unescapes a string in place: its text starts where the string's content
    /// starts in the line, and is shorter than the content exactly when the content had
    /// escapes. So the content was taken unchanged when the line's closing quote follows
    /// `s.len()` bytes on: with escapes, that byte lies inside the content, where a `"` can only
    /// be an escaped one, right after a backslash (and a content without escapes holds no
    /// backslash at all).
    fn slice_or_copy(&self, rec: &mut Record<'_>, s: &str) -> Val {
        let line = self.input.as_bytes();
        let at = (s.as_ptr() as usize)
            .checked_sub(self.base)
            .and_then(|o| o.checked_add(self.start));
        if let Some(at) = at {
            let end = at + s.len();
            let unchanged =
                line.get(end) == Some(&b'"') && (s.is_empty() || line.get(end - 1) != Some(&b'\\'));
            if unchanged {
                if let Some(orig) = self.input.get(at..end) {
                    return rec.part(self.v, orig);
                }
            }
        }
        rec.owned(s)
    }

    /// The text of the value at `i`: strings as they are, numbers and booleans as JSON,
    /// arrays and objects as compact JSON; `None` for null.
    fn value(&self, rec: &mut Record<'_>, i: usize) -> Option<Val> {
        match &self.nodes[i] {
            Node::String(s) => Some(self.slice_or_copy(rec, s)),
            Node::Static(StaticNode::Null) => None,
            Node::Static(StaticNode::Bool(b)) => {
                Some(Val::Static(if *b { "true" } else { "false" }))
            }
            Node::Static(StaticNode::I64(n)) => Some(rec.owned(itoa::Buffer::new().format(*n))),
            Node::Static(StaticNode::U64(n)) => Some(rec.owned(itoa::Buffer::new().format(*n))),
            _ => Some(rec.build(|out| {
                encode(self.nodes, i, out);
            })),
        }
    }
}

/// What the direct walk found for a pointer or kept: where it is in the line and what it is.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Seen {
    Absent,
    /// A string's content, without escapes.
    Plain(usize, usize),
    /// A string's content with escapes (checked: short escapes and `\u` outside surrogates).
    Escaped(usize, usize),
    /// An integer whose text is how simd-json's value writes back (no `-0`, at most 18
    /// digits, so an `i64`).
    Int(usize, usize),
    /// Any other number (checked finite).
    Float(usize, usize),
    Bool(bool),
    Null,
    /// An array or object whose text is its compact JSON exactly as [`encode`] writes it.
    Whole(usize, usize),
    /// An array or object whose text is not (whitespace, escapes or floats in it).
    Other,
}

impl Seen {
    /// True when the text of the value is what [`encode`] writes for it.
    fn canonical(self) -> bool {
        !matches!(self, Seen::Escaped(..) | Seen::Float(..) | Seen::Other)
    }
}

/// The deepest the direct walk goes; deeper lines (which the tape walk keeps partly as JSON)
/// are left to simd-json.
const DIRECT_DEPTH: usize = 15;

/// One walk over the text of a line, in the same order and with the same outcome as [`Walk`]
/// over simd-json's tape, but without copying the line, filling a tape or unescaping strings
/// that have no escapes. It takes only what it is sure simd-json parses the same way (strict
/// JSON, integers of at most 18 digits, finite floats, escapes other than surrogates, keys
/// without escapes, arrays and objects kept whole only when their text is already compact
/// JSON, no deeper than [`DIRECT_DEPTH`]); on anything else it gives up (`None`) before the
/// record is touched (only its scratch text may have grown), and simd-json decides.
struct Direct<'w> {
    op: &'w JsonOp,
    b: &'w [u8],
    input: &'w str,
    v: Val,
    seen: &'w mut [Seen],
    rest: &'w mut Vec<Rest>,
    /// The dotted path of the object being walked, where it has no [`Learned`] node.
    path: &'w mut String,
    learned: &'w mut Learned,
    /// The names of the record's mapping.
    names: &'w Names,
}

impl Direct<'_> {
    /// `i` past JSON whitespace: one test where there is none (compact JSON, nearly every
    /// line), as every byte of it is at most a space.
    #[inline(always)]
    fn ws(&self, i: usize) -> usize {
        match self.b.get(i) {
            Some(&c) if c > b' ' => i,
            None => i,
            Some(_) => self.ws_from(i),
        }
    }

    #[inline(never)]
    fn ws_from(&self, mut i: usize) -> usize {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.b.get(i) {
            i += 1;
        }
        i
    }

    /// The string whose content starts at `i`: where its content ends (at the closing quote)
    /// and whether it has escapes.
    #[inline(always)]
    fn string(&self, i: usize) -> Option<(usize, bool)> {
        let b = self.b;
        let mut j = i;
        let mut escaped = false;
        loop {
            j = special(b, j);
            match *b.get(j)? {
                b'"' => return Some((j, escaped)),
                b'\\' => {
                    escaped = true;
                    match *b.get(j + 1)? {
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => j += 2,
                        b'u' => {
                            let cp = hex4(b.get(j + 2..j + 6)?)?;
                            if (0xD800..0xE000).contains(&cp) {
                                return None;
                            }
                            j += 6;
                        }
                        _ => return None,
                    }
                }
                // A control byte, which JSON has escaped.
                _ => return None,
            }
        }
    }

    /// The number, `true`, `false`, `null` or string at `i`.
    #[inline(always)]
    fn scalar(&self, i: usize) -> Option<(usize, Seen)> {
        let b = self.b;
        let lit = |word: &[u8], seen: Seen| {
            (b.get(i..i + word.len()) == Some(word)).then_some((i + word.len(), seen))
        };
        match *b.get(i)? {
            b'"' => {
                let (end, escaped) = self.string(i + 1)?;
                let seen = if escaped {
                    Seen::Escaped(i + 1, end)
                } else {
                    Seen::Plain(i + 1, end)
                };
                Some((end + 1, seen))
            }
            b't' => lit(b"true", Seen::Bool(true)),
            b'f' => lit(b"false", Seen::Bool(false)),
            b'n' => lit(b"null", Seen::Null),
            _ => self.number(i),
        }
    }

    #[inline(never)]
    fn number(&self, i: usize) -> Option<(usize, Seen)> {
        let b = self.b;
        let digits = |mut j: usize| {
            while b.get(j).is_some_and(u8::is_ascii_digit) {
                j += 1;
            }
            j
        };
        let mut j = i + usize::from(b.get(i) == Some(&b'-'));
        let int_start = j;
        match *b.get(j)? {
            b'0' => j += 1,
            b'1'..=b'9' => j = digits(j + 1),
            _ => return None,
        }
        let int_digits = j - int_start;
        let mut float = false;
        if b.get(j) == Some(&b'.') {
            let from = j + 1;
            j = digits(from);
            if j == from {
                return None;
            }
            float = true;
        }
        if let Some(b'e' | b'E') = b.get(j) {
            j += 1;
            if let Some(b'+' | b'-') = b.get(j) {
                j += 1;
            }
            let from = j;
            j = digits(from);
            if j == from {
                return None;
            }
            float = true;
        }
        if float {
            let f: f64 = self.input.get(i..j)?.parse().ok()?;
            return f.is_finite().then_some((j, Seen::Float(i, j)));
        }
        if int_digits > 18 || &b[i..j] == b"-0" {
            return None;
        }
        Some((j, Seen::Int(i, j)))
    }

    /// Records `seen` for the pointers that end at trie node `c` (the first value a pointer
    /// reaches counts); true when any does. `None` when one needs an array or object whose
    /// text is not compact JSON.
    fn mark(&mut self, c: usize, seen: Seen) -> Option<bool> {
        let targets = &self.op.trie[c].targets;
        for &p in targets {
            if self.seen[p] == Seen::Absent {
                if seen == Seen::Other {
                    return None;
                }
                self.seen[p] = seen;
            }
        }
        Some(!targets.is_empty())
    }

    /// Bytes `a..b` of the input as a value: a span of the line when the input is one (as
    /// [`Record::part`] finds, without looking).
    #[inline]
    fn span(&self, rec: &mut Record<'_>, a: usize, b: usize) -> Val {
        match self.v {
            Val::Line(at, end) if (end - at) as usize == self.input.len() => {
                Val::Line(at + a as u32, at + b as u32)
            }
            _ => rec.part(self.v, &self.input[a..b]),
        }
    }

    /// The record value of `seen` (`Some(None)` for null and absent); `None` for an array or
    /// object whose text is not compact JSON.
    #[inline(always)]
    fn val(&self, rec: &mut Record<'_>, seen: Seen) -> Option<Option<Val>> {
        let text = |a: usize, b: usize| &self.input[a..b];
        Some(Some(match seen {
            Seen::Plain(a, b) => self.span(rec, a, b),
            Seen::Escaped(a, b) => rec.build(|out| unescape(text(a, b), out)),
            Seen::Int(a, b) | Seen::Whole(a, b) => rec.owned(text(a, b)),
            Seen::Float(a, b) => {
                let f: f64 = text(a, b).parse().unwrap_or_default();
                rec.owned(ryu::Buffer::new().format_finite(f))
            }
            Seen::Bool(b) => Val::Static(if b { "true" } else { "false" }),
            Seen::Null | Seen::Absent => return Some(None),
            Seen::Other => return None,
        }))
    }

    /// The value at `i` (not a member of an object being kept): walked for the pointers below
    /// trie node `trie` only.
    fn value(
        &mut self,
        rec: &mut Record<'_>,
        i: usize,
        trie: Option<usize>,
        depth: usize,
    ) -> Option<(usize, Seen)> {
        match *self.b.get(i)? {
            b'{' => {
                let (end, canonical) = self.object(rec, i + 1, trie, false, depth + 1, None)?;
                Some((end, whole(i, end, canonical)))
            }
            b'[' => {
                let (end, canonical) = self.array(rec, i + 1, trie, depth + 1)?;
                Some((end, whole(i, end, canonical)))
            }
            _ => self.scalar(i),
        }
    }

    /// The members of the object whose `{` is just before `i`: records where the pointers
    /// below trie node `trie` are and, with `keep`, every other value under its dotted path
    /// (the path of the [`Learned`] node `node` of the object, or without one `self.path`).
    /// Returns the index past its `}` and whether its text is compact JSON.
    fn object(
        &mut self,
        rec: &mut Record<'_>,
        i: usize,
        trie: Option<usize>,
        keep: bool,
        depth: usize,
        node: Option<usize>,
    ) -> Option<(usize, bool)> {
        if depth >= DIRECT_DEPTH {
            return None;
        }
        let b = self.b;
        let mut j = self.ws(i);
        let mut canonical = j == i;
        if b.get(j) == Some(&b'}') {
            return Some((j + 1, canonical));
        }
        // The learned entry of the previous key (keys mostly come in the order they came in
        // before: see [`Learned::entry`]).
        let mut prev = NO_ENTRY;
        loop {
            if b.get(j) != Some(&b'"') {
                return None;
            }
            let (key_end, escaped) = self.string(j + 1)?;
            if escaped {
                return None;
            }
            let (ka, kb) = (j + 1, key_end);
            // With a learned node, the key's entry there (learned now if new) says which
            // pointers go on below it, along with its dotted name.
            let entry = match node {
                Some(n) => {
                    let e = self
                        .learned
                        .entry(self.op, self.names, n, prev, self.input, (ka, kb));
                    prev = e.unwrap_or(NO_ENTRY);
                    e
                }
                None => None,
            };
            let child = match (node, entry) {
                (Some(n), Some(e)) => self.learned.nodes[n].entries[e].trie,
                _ => self.op.child(trie, &b[ka..kb]),
            };
            let at = self.ws(kb + 1);
            if b.get(at) != Some(&b':') {
                return None;
            }
            j = self.ws(at + 1);
            canonical &= at == kb + 1 && j == at + 1;
            let (end, seen) = match *b.get(j)? {
                b'{' if keep => {
                    let (inner_node, len) = match (node, entry) {
                        (Some(n), Some(e)) => (Some(self.learned.object_of(n, e)), None),
                        _ => {
                            let len = self.path.len();
                            if let Some(n) = node {
                                // The first object below without a learned node: its path
                                // starts from the learned one's.
                                self.path.push_str(self.learned.nodes[n].prefix);
                            }
                            if !self.path.is_empty() {
                                self.path.push('.');
                            }
                            self.path.push_str(&self.input[ka..kb]);
                            (None, Some(len))
                        }
                    };
                    let inner = self.object(rec, j + 1, child, true, depth + 1, inner_node);
                    if let Some(len) = len {
                        self.path.truncate(len);
                    }
                    let (end, inner_canonical) = inner?;
                    if let Some(c) = child {
                        self.mark(c, whole(j, end, inner_canonical))?;
                    }
                    canonical &= inner_canonical;
                    match self.next(end, b'}', &mut canonical)? {
                        (true, n) => {
                            j = n;
                            continue;
                        }
                        (false, n) => return Some((n, canonical)),
                    }
                }
                b'{' | b'[' => self.value(rec, j, child, depth)?,
                _ => self.scalar(j)?,
            };
            canonical &= seen.canonical();
            let taken = match child {
                Some(c) => self.mark(c, seen)?,
                None => false,
            };
            if keep && !taken {
                if let Some(value) = self.val(rec, seen)? {
                    let rest = match (node, entry) {
                        (Some(n), Some(e)) => {
                            let e = &self.learned.nodes[n].entries[e];
                            Rest {
                                key: Val::Static(e.name),
                                value,
                                named: e.named,
                            }
                        }
                        _ => {
                            let path = match node {
                                Some(n) => self.learned.nodes[n].prefix,
                                None => &*self.path,
                            };
                            let key = if path.is_empty() {
                                self.span(rec, ka, kb)
                            } else {
                                let k = &self.input[ka..kb];
                                rec.build(|out| {
                                    out.push_str(path);
                                    out.push('.');
                                    out.push_str(k);
                                })
                            };
                            Rest {
                                key,
                                value,
                                named: Named::Unknown,
                            }
                        }
                    };
                    self.rest.push(rest);
                }
            }
            match self.next(end, b'}', &mut canonical)? {
                (true, n) => j = n,
                (false, n) => return Some((n, canonical)),
            }
        }
    }

    /// After a member or element ending at `i`: `Some((true, next))` past a comma,
    /// `Some((false, end))` past the `close`, `None` otherwise; whitespace is noted in
    /// `canonical`.
    #[inline]
    fn next(&self, i: usize, close: u8, canonical: &mut bool) -> Option<(bool, usize)> {
        let j = self.ws(i);
        *canonical &= j == i;
        match *self.b.get(j)? {
            b',' => {
                let n = self.ws(j + 1);
                *canonical &= n == j + 1;
                Some((true, n))
            }
            c if c == close => Some((false, j + 1)),
            _ => None,
        }
    }

    /// The elements of the array whose `[` is just before `i`, walked for the pointers below
    /// trie node `trie` (arrays are kept whole). Returns the index past its `]` and whether
    /// its text is compact JSON.
    fn array(
        &mut self,
        rec: &mut Record<'_>,
        i: usize,
        trie: Option<usize>,
        depth: usize,
    ) -> Option<(usize, bool)> {
        if depth >= DIRECT_DEPTH {
            return None;
        }
        let mut j = self.ws(i);
        let mut canonical = j == i;
        if self.b.get(j) == Some(&b']') {
            return Some((j + 1, canonical));
        }
        let trie = trie.filter(|&t| !self.op.trie[t].children.is_empty());
        let mut index = itoa::Buffer::new();
        let mut n = 0usize;
        loop {
            let child = match trie {
                Some(_) => self.op.child(trie, index.format(n).as_bytes()),
                None => None,
            };
            let (end, seen) = self.value(rec, j, child, depth)?;
            canonical &= seen.canonical();
            if let Some(c) = child {
                self.mark(c, seen)?;
            }
            n += 1;
            match self.next(end, b']', &mut canonical)? {
                (true, next) => j = next,
                (false, next) => return Some((next, canonical)),
            }
        }
    }
}

/// A value the direct walk keeps under a key of its own, and what the record knows of the key.
#[derive(Debug, Clone, Copy)]
struct Rest {
    key: Val,
    value: Val,
    named: Named,
}

/// What the record knows of a kept key (found once, when the key was learned).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Named {
    /// A name of the mapping.
    Key(Key),
    /// Not one: the key's [`key_hash`].
    Other(u32),
    /// Not known (a key not learned): the record finds out.
    Unknown,
}

/// The most keys an operator learns per thread (past it, new keys cost what they did
/// before: a dotted name built per line and looked up by the record).
const LEARN_MAX: usize = 1024;

/// The most operators a thread keeps learned keys of.
const LEARNED_OPS: usize = 32;

/// The most dotted names all operators together put into the interner (whose text lives for
/// the process and is shared with other users), so that lines with ever new keys cannot fill it.
const INTERN_MAX: usize = 1 << 16;
static INTERNED: AtomicUsize = AtomicUsize::new(0);

/// The longest dotted key name learned (interned names are never freed).
const LEARN_NAME_MAX: usize = 128;

/// The keys an operator's lines had, per object they were in (on one thread): each with its
/// dotted name (interned, so a line's key costs no copy), what the record knows of it and the
/// trie node of the pointers below it. Lines of one source repeat their keys, so after the
/// first lines a key costs one lookup here instead of building its dotted name, hashing it
/// and looking it up among the mapping's names.
#[derive(Debug)]
struct Learned {
    op: u64,
    /// The names the record's keys were looked up in.
    names: *const Names,
    /// Node 0 is the top-level object.
    nodes: Vec<LNode>,
    /// Entries in all nodes.
    count: usize,
}

#[derive(Debug)]
struct LNode {
    /// The dotted path of the object ("" at the top).
    prefix: &'static str,
    /// Its node in the operator's trie.
    trie: Option<usize>,
    /// Open addressing by [`key_hash`]: 1 + index in `entries`, 0 empty (length a power of
    /// two, at most half full).
    slots: Vec<u32>,
    entries: Vec<LEntry>,
    /// The entry of the first key last time ([`NO_ENTRY`] at first).
    first: usize,
}

#[derive(Debug)]
struct LEntry {
    /// The key (the end of `name`).
    key: &'static str,
    print: Fingerprint,
    /// The trie node the key leads to.
    trie: Option<usize>,
    /// The dotted name, interned.
    name: &'static str,
    named: Named,
    /// The node of the object under this key (0 while there is none).
    object: usize,
    /// The entry of the key that followed this one last time ([`NO_ENTRY`] at first).
    next: usize,
}

/// No entry of a [`LNode`].
const NO_ENTRY: usize = usize::MAX;

/// A key's length and its first and last (up to) 8 bytes: all of a key of at most 16 bytes.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Fingerprint {
    len: usize,
    head: u64,
    tail: u64,
}

impl Fingerprint {
    /// Of bytes `a..e` of `b`.
    #[inline(always)]
    fn of(b: &[u8], a: usize, e: usize) -> Fingerprint {
        let len = e - a;
        let head = match b.get(a..a + 8) {
            // Eight bytes from the key's start (past its end when shorter), the rest masked off.
            Some(w) => {
                let w = u64::from_le_bytes(w.try_into().unwrap_or_default());
                if len >= 8 {
                    w
                } else {
                    w & ((1u64 << (len * 8)) - 1)
                }
            }
            None => b[a..e]
                .iter()
                .take(8)
                .rev()
                .fold(0u64, |acc, &c| acc << 8 | u64::from(c)),
        };
        let tail = match e.checked_sub(8) {
            Some(t) if len > 8 => u64::from_le_bytes(b[t..e].try_into().unwrap_or_default()),
            _ => 0,
        };
        Fingerprint { len, head, tail }
    }

    #[inline(always)]
    fn hash(self) -> u32 {
        let x = self.head ^ self.tail.rotate_left(29) ^ self.len as u64;
        (x.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as u32
    }
}

impl Learned {
    fn new(op: u64, names: &Names) -> Learned {
        Learned {
            op,
            names,
            nodes: vec![LNode {
                prefix: "",
                trie: Some(0),
                slots: Vec::new(),
                entries: Vec::new(),
                first: NO_ENTRY,
            }],
            count: 0,
        }
    }

    /// The entry of `key` in node `n`, learned now when new; `None` when it cannot be (too
    /// many keys).
    /// The key is bytes `a..e` of `input` (on character boundaries), and follows the key of
    /// entry `prev` ([`NO_ENTRY`] for the first key of the object). The entry that followed
    /// `prev` last time is tried first.
    #[inline(always)]
    fn entry(
        &mut self,
        op: &JsonOp,
        names: &Names,
        n: usize,
        prev: usize,
        input: &str,
        (a, e): (usize, usize),
    ) -> Option<usize> {
        let key = &input.as_bytes()[a..e];
        let print = Fingerprint::of(input.as_bytes(), a, e);
        let node = &self.nodes[n];
        let guess = match prev {
            NO_ENTRY => node.first,
            p => node.entries.get(p).map_or(NO_ENTRY, |p| p.next),
        };
        if let Some(g) = node.entries.get(guess) {
            if g.print == print && (key.len() <= 16 || g.key.as_bytes() == key) {
                return Some(guess);
            }
        }
        let found = self.find(op, names, n, input, (a, e), print);
        if let Some(f) = found {
            let node = &mut self.nodes[n];
            match prev {
                NO_ENTRY => node.first = f,
                p => {
                    if let Some(p) = node.entries.get_mut(p) {
                        p.next = f;
                    }
                }
            }
        }
        found
    }

    /// The entry of the key by its hash (learned now when new).
    #[inline(never)]
    fn find(
        &mut self,
        op: &JsonOp,
        names: &Names,
        n: usize,
        input: &str,
        (a, e): (usize, usize),
        print: Fingerprint,
    ) -> Option<usize> {
        let key = &input.as_bytes()[a..e];
        let h = print.hash();
        let node = &self.nodes[n];
        if !node.slots.is_empty() {
            let mask = node.slots.len() - 1;
            let mut i = (h >> 16) as usize & mask;
            loop {
                let at = node.slots[i];
                if at == 0 {
                    break;
                }
                let entry = &node.entries[at as usize - 1];
                // Keys of at most 16 bytes are the same when their fingerprints are.
                if entry.print == print && (key.len() <= 16 || entry.key.as_bytes() == key) {
                    return Some(at as usize - 1);
                }
                i = (i + 1) & mask;
            }
        }
        self.learn(op, names, n, &input[a..e], print)
    }

    #[cold]
    #[inline(never)]
    fn learn(
        &mut self,
        op: &JsonOp,
        names: &Names,
        n: usize,
        key: &str,
        print: Fingerprint,
    ) -> Option<usize> {
        let h = print.hash();
        if self.count >= LEARN_MAX || INTERNED.load(Ordering::Relaxed) >= INTERN_MAX {
            return None;
        }
        let node = &self.nodes[n];
        let dotted = if node.prefix.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", node.prefix)
        };
        if dotted.len() > LEARN_NAME_MAX {
            // Names come from the data: a long one is not kept for the life of the process.
            return None;
        }
        let name = match Symbol::find(&dotted) {
            // Already interned (by another thread, an earlier op or a mapping): costs no room.
            Some(sym) => sym.as_str(),
            None => {
                let name = Symbol::intern(&dotted).as_str();
                if name != dotted {
                    // The interner is full.
                    return None;
                }
                INTERNED.fetch_add(1, Ordering::Relaxed);
                name
            }
        };
        let name_hash = key_hash(name.as_bytes());
        let named = match names.find_hashed(name, name_hash) {
            Some(k) => Named::Key(k),
            None => Named::Other(name_hash),
        };
        let entry = LEntry {
            key: &name[name.len() - key.len()..],
            print,
            trie: op.child(node.trie, key.as_bytes()),
            name,
            named,
            object: 0,
            next: NO_ENTRY,
        };
        let node = &mut self.nodes[n];
        node.entries.push(entry);
        self.count += 1;
        if node.entries.len() * 2 > node.slots.len() {
            let len = (node.slots.len() * 2).max(16);
            node.slots = vec![0; len];
            for (at, e) in node.entries.iter().enumerate() {
                let mut i = (e.print.hash() >> 16) as usize & (len - 1);
                while node.slots[i] != 0 {
                    i = (i + 1) & (len - 1);
                }
                node.slots[i] = at as u32 + 1;
            }
        } else {
            let mask = node.slots.len() - 1;
            let mut i = (h >> 16) as usize & mask;
            while node.slots[i] != 0 {
                i = (i + 1) & mask;
            }
            node.slots[i] = node.entries.len() as u32;
        }
        Some(node.entries.len() - 1)
    }

    /// The node of the object under entry `e` of node `n` (made when first needed).
    fn object_of(&mut self, n: usize, e: usize) -> usize {
        let entry = &self.nodes[n].entries[e];
        if entry.object != 0 {
            return entry.object;
        }
        let node = LNode {
            prefix: entry.name,
            trie: entry.trie,
            slots: Vec::new(),
            entries: Vec::new(),
            first: NO_ENTRY,
        };
        self.nodes.push(node);
        let at = self.nodes.len() - 1;
        self.nodes[n].entries[e].object = at;
        at
    }
}

/// An array or object spanning `a..b` of the line.
fn whole(a: usize, b: usize, canonical: bool) -> Seen {
    if canonical {
        Seen::Whole(a, b)
    } else {
        Seen::Other
    }
}

/// The first index from `i` on where `b` holds `"`, `\` or a control byte (`b.len()` when
/// none): sixteen bytes at a time where SSE2 is (every x86_64), then eight, then one.
#[inline]
fn special(b: &[u8], mut i: usize) -> usize {
    #[cfg(target_arch = "x86_64")]
    while let Some(window) = b.get(i..i + 16).and_then(|w| <&[u8; 16]>::try_from(w).ok()) {
        let hits = crate::schema::json::escape_bits(window);
        if hits != 0 {
            return i + hits.trailing_zeros() as usize;
        }
        i += 16;
    }
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    while let Some(chunk) = b.get(i..i + 8) {
        let w = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
        let zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
        // A byte below 0x20; the lowest flagged byte of each test is exact, so the lowest of
        // all three is the first special byte.
        let control = w.wrapping_sub(ONES * 0x20) & !w & HIGH;
        let hits =
            zero(w ^ (ONES * u64::from(b'"'))) | zero(w ^ (ONES * u64::from(b'\\'))) | control;
        if hits != 0 {
            return i + (hits.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while let Some(&c) = b.get(i) {
        if c == b'"' || c == b'\\' || c < 0x20 {
            return i;
        }
        i += 1;
    }
    i
}

/// The value of four hex digits.
fn hex4(h: &[u8]) -> Option<u32> {
    h.iter().try_fold(0u32, |acc, &c| {
        let d = char::from(c).to_digit(16)?;
        Some(acc << 4 | d)
    })
}

/// Appends the content `s` of a JSON string, its escapes decoded (checked by
/// [`Direct::string`]: short escapes and `\u` outside surrogates).
fn unescape(s: &str, out: &mut String) {
    let b = s.as_bytes();
    let mut from = 0;
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' {
            i += 1;
            continue;
        }
        out.push_str(&s[from..i]);
        let (c, len) = match b.get(i + 1) {
            Some(b'b') => ('\u{8}', 2),
            Some(b'f') => ('\u{c}', 2),
            Some(b'n') => ('\n', 2),
            Some(b'r') => ('\r', 2),
            Some(b't') => ('\t', 2),
            Some(b'u') => {
                let cp = b.get(i + 2..i + 6).and_then(hex4).and_then(char::from_u32);
                (cp.unwrap_or('\u{fffd}'), 6)
            }
            Some(&c) => (char::from(c), 2),
            None => ('\\', 1),
        };
        out.push(c);
        i += len;
        from = i;
    }
    out.push_str(&s[from..]);
}

/// Writes the value at `i` as compact JSON (strings escaped as simd-json writes them: `"`,
/// `\`, the short escapes and `\u00XX` for other control bytes); returns the index after it.
fn encode(nodes: &[Node<'_>], i: usize, out: &mut String) -> usize {
    match nodes.get(i) {
        Some(Node::String(s)) => {
            write_json_string(s, out);
            i + 1
        }
        Some(Node::Static(st)) => {
            match st {
                StaticNode::Null => out.push_str("null"),
                StaticNode::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
                StaticNode::I64(n) => out.push_str(itoa::Buffer::new().format(*n)),
                StaticNode::U64(n) => out.push_str(itoa::Buffer::new().format(*n)),
                StaticNode::F64(f) => {
                    if f.is_finite() {
                        out.push_str(ryu::Buffer::new().format_finite(*f));
                    } else {
                        out.push_str("null");
                    }
                }
            }
            i + 1
        }
        Some(Node::Array { len, .. }) => {
            out.push('[');
            let mut j = i + 1;
            for n in 0..*len {
                if n > 0 {
                    out.push(',');
                }
                j = encode(nodes, j, out);
            }
            out.push(']');
            j
        }
        Some(Node::Object { len, .. }) => {
            out.push('{');
            let mut j = i + 1;
            for n in 0..*len {
                if n > 0 {
                    out.push(',');
                }
                j = encode(nodes, j, out);
                out.push(':');
                j = encode(nodes, j, out);
            }
            out.push('}');
            j
        }
        None => i + 1,
    }
}

fn write_json_string(s: &str, out: &mut String) {
    out.push('"');
    let mut from = 0;
    for (at, b) in s.bytes().enumerate() {
        let short = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            0x08 => "\\b",
            b'\t' => "\\t",
            b'\n' => "\\n",
            0x0c => "\\f",
            b'\r' => "\\r",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[from..at]);
        if short.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.push_str("\\u00");
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        } else {
            out.push_str(short);
        }
        from = at + 1;
    }
    out.push_str(&s[from..]);
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::super::record::{seed_key, Names};
    use super::*;

    fn op(names: &mut Names, paths: &[(&'static str, &[&str])], keep_rest: bool) -> JsonOp {
        JsonOp::new(
            paths
                .iter()
                .map(|(to, segs)| (names.key(to), segs.iter().map(|s| s.to_string()).collect()))
                .collect(),
            keep_rest,
        )
    }

    #[test]
    fn pointers_take_values_and_the_rest_is_kept_dotted() {
        let mut names = Names::default();
        let o = op(
            &mut names,
            &[
                ("actor.user.name", &["userIdentity", "userName"]),
                ("src_endpoint.ip", &["sourceIPs", "0"]),
                ("_deep", &["list", "1", "x"]),
            ],
            true,
        );
        let line = r#"<14>x: {"userIdentity":{"userName":"alice","type":"IAMUser"},"sourceIPs":["10.0.0.1","10.0.0.2"],"n":3,"z":null,"ok":true,"list":[{"x":1},{"x":"two"}],"f":-1.5e3,"esc":"a\"b\u00e9c\u0001"}"#;
        let mut rec = Record::new(line, &names);
        let whole = Val::Line(0, line.len() as u32);
        assert!(o.run(&mut rec, whole, line));
        assert_eq!(
            rec.lookup("esc"),
            Some("a\"b\u{e9}c\u{1}"),
            "escapes are decoded"
        );
        assert_eq!(rec.lookup("actor.user.name"), Some("alice"));
        assert_eq!(rec.lookup("src_endpoint.ip"), Some("10.0.0.1"));
        assert_eq!(
            rec.lookup("_deep"),
            Some("two"),
            "pointers go through arrays"
        );
        assert_eq!(rec.lookup("userIdentity.type"), Some("IAMUser"));
        assert_eq!(rec.lookup("n"), Some("3"));
        assert_eq!(rec.lookup("f"), Some("-1500.0"));
        assert_eq!(rec.lookup("ok"), Some("true"));
        assert_eq!(
            rec.lookup("sourceIPs"),
            Some(r#"["10.0.0.1","10.0.0.2"]"#),
            "an array is kept whole, as compact JSON"
        );
        assert_eq!(rec.lookup("list"), Some(r#"[{"x":1},{"x":"two"}]"#));
        assert_eq!(
            rec.lookup_val("userIdentity.type"),
            Some(Val::Line(51, 58)),
            "an unescaped string is a span of the line"
        );
        assert!(
            rec.lookup("userIdentity.userName").is_none(),
            "a value a pointer took is not kept again"
        );
        assert!(rec.lookup("z").is_none());
        let other = "not json";
        assert!(!o.run(&mut Record::new(other, &names), Val::Line(0, 8), other));
    }

    #[test]
    fn pointer_values_come_first_and_keys_already_set_are_kept() {
        let mut names = Names::default();
        let o = op(&mut names, &[("b_first", &["b"])], true);
        let line = r#"{"a":"1","b":"2","message":"inner"}"#;
        let mut rec = Record::new(line, &names);
        rec.set_str(seed_key(0), line);
        assert!(o.run(&mut rec, Val::Line(0, line.len() as u32), line));
        let keys: Vec<&str> = rec.iter().map(|(k, _)| rec.str(k)).collect();
        assert_eq!(keys, ["message", "b_first", "a"]);
        assert_eq!(
            rec.lookup("message"),
            Some(line),
            "an existing key is not replaced"
        );
    }

    #[test]
    fn strings_with_escapes_are_copies_and_the_rest_spans_of_the_line() {
        let mut names = Names::default();
        let o = op(&mut names, &[], true);
        // (key, raw JSON string, its text); escapes at the start, the end, before the closing
        // quote, and escaped backslashes right before it.
        let cases = [
            ("plain", r#""abc""#, "abc"),
            ("empty", r#""""#, ""),
            ("q_mid", r#""a\"b""#, "a\"b"),
            ("q_end", r#""ab\"""#, "ab\""),
            ("q_only", r#""\"""#, "\""),
            ("bs_end", r#""ab\\""#, "ab\\"),
            ("bs_two", r#""\\\\""#, "\\\\"),
            ("bs_q", r#""x\\\"""#, "x\\\""),
            ("uni", r#""\u00e9t\u00e9""#, "\u{e9}t\u{e9}"),
            ("slash", r#""a\/b""#, "a/b"),
        ];
        let body: Vec<String> = cases
            .iter()
            .map(|(k, raw, _)| format!("\"{k}\":{raw}"))
            .collect();
        let line = format!("{{{}}}", body.join(","));
        let mut rec = Record::new(&line, &names);
        assert!(o.run(&mut rec, Val::Line(0, line.len() as u32), &line));
        for (k, raw, text) in cases {
            assert_eq!(rec.lookup(k), Some(text), "{k}");
            let v = rec.lookup_val(k).unwrap();
            if raw.contains('\\') {
                assert!(matches!(v, Val::Scratch(..)), "{k}: unescaped into a copy");
            } else {
                assert!(matches!(v, Val::Line(..)), "{k}: a span of the line");
            }
        }
    }

    #[test]
    fn objects_deeper_than_the_limit_are_kept_as_json() {
        let mut names = Names::default();
        let o = op(&mut names, &[], true);
        let mut line = String::new();
        for _ in 0..17 {
            line.push_str("{\"k\":");
        }
        line.push('1');
        line.push_str(&"}".repeat(17));
        let mut rec = Record::new(&line, &names);
        assert!(o.run(&mut rec, Val::Line(0, line.len() as u32), &line));
        let (k, v) = rec.iter().next().unwrap();
        assert_eq!(rec.str(k).matches('k').count(), 16);
        assert_eq!(rec.str(v), r#"{"k":1}"#);
    }

    /// Each field of `rec`: key, value and whether the value is a span of the line.
    fn fields(rec: &Record<'_>) -> Vec<(String, String, bool)> {
        rec.iter()
            .map(|(k, v)| {
                let line = matches!(v, Val::Line(..));
                (rec.str(k).to_owned(), rec.str(v).to_owned(), line)
            })
            .collect()
    }

    /// Runs `o` on `line` through simd-json and through the direct walk first, asserts the
    /// same outcome, and says whether the direct walk took the line.
    fn same_both_ways(o: &JsonOp, names: &Names, line: &str) -> bool {
        let whole = Val::Line(0, line.len() as u32);
        let mut slow = Record::new(line, names);
        let (ok_slow, _) = o.run_with(&mut slow, whole, line, false);
        let mut fast = Record::new(line, names);
        let (ok_fast, took) = o.run_with(&mut fast, whole, line, true);
        assert_eq!(ok_slow, ok_fast, "{line}");
        assert_eq!(fields(&slow), fields(&fast), "{line}");
        took
    }

    fn ops(names: &mut Names) -> Vec<JsonOp> {
        let paths: &[(&'static str, &[&str])] = &[
            ("p_s", &["s"]),
            ("p_deep", &["o", "in", "s"]),
            ("p_obj", &["o"]),
            ("p_arr", &["arr", "1"]),
            ("p_arr_obj", &["arr", "2", "k"]),
            ("p_a", &["a"]),
            ("p_ab", &["ab"]),
            ("p_a_b", &["a", "b"]),
            ("p_cle", &["clé"]),
            ("p_empty", &[""]),
        ];
        vec![
            op(names, paths, true),
            op(names, paths, false),
            op(names, &[], true),
            op(names, &[("p_o", &["o"])], false),
        ]
    }

    #[test]
    fn the_direct_walk_sets_what_the_tape_walk_sets() {
        let mut names = Names::default();
        let ops = ops(&mut names);
        let fast = [
            r#"{}"#,
            r#"<14>x: {"s":"v"}"#,
            r#"{"s":"v","s":"dup","n":1,"n":2}"#,
            r#"{"a":"1","ab":"2","abc":"3","a.b":"4","b":{"a":"5"}}"#,
            r#"{"a":{"b":"deep","c":{}},"ab":{}}"#,
            r#"{"o":{"in":{"s":"x","t":[1,2]},"e":{}},"o2":{"in":{"s":"y"}}}"#,
            r#"{"arr":["a","b",{"k":"c","j":[true,null]}],"e":[]}"#,
            r#"{"arr":[[],[1],{"k":{"z":1}}]}"#,
            r#"{"clé":"é","ключ":"значение","":"empty","日本":{"語":"ja"}}"#,
            r#"{"n":0,"m":-1,"big":123456789012345678,"t":true,"f":false,"z":null}"#,
            r#"{"x":1.5,"y":-0.0,"e":1e3,"E":1E-2,"p":2.50e+1}"#,
            r#"{ "s" : "v" , "t" : { "in" : { "s" : 1 } } }"#,
            "{\"s\":\"v\",\t\"n\":\r\n1}",
        ];
        for line in fast {
            for o in &ops {
                assert!(same_both_ways(o, &names, line), "direct: {line}");
            }
        }
        let left_to_simd_json = [
            r#"{"n":1234567890123456789}"#,
            r#"{"n":-0}"#,
            r#"{"n":1e400}"#,
            r#"{"a\"b":1}"#,
            r#"{"s":"\ud83d\ude00"}"#,
            r#"{"arr":[ 1,2]}"#,
            r#"{"arr":["a\"b"]}"#,
            r#"{"arr":[1.5]}"#,
            r#"{"s":1} "#,
            r#"{"s":1} x"#,
            r#"{"s":1,}"#,
            r#"{"s" 1}"#,
            r#"{"s":tru}"#,
            r#"{"s":truex}"#,
            r#"{"s":01}"#,
            r#"{"s":1.}"#,
            r#"{"s":.5}"#,
            r#"{"s":-}"#,
            r#"{"s":"x"#,
            "{\"s\":\"x\u{1}y\"}",
            r#"{"s":"\x"}"#,
            r#"{"s":"\u12"}"#,
            r#"{"s":[1,2}"#,
            r#"{"s":{"a":1]}"#,
            r#"{"s"}"#,
            r#"{,}"#,
            r#"{"#,
        ];
        for line in left_to_simd_json {
            for o in &ops {
                same_both_ways(o, &names, line);
            }
        }
        // Taken by a pointer or kept in the rest: the object is not compact JSON.
        assert!(!same_both_ways(&ops[0], &names, r#"{"o":{"in":{ "s":1}}}"#));
        assert!(same_both_ways(&ops[2], &names, r#"{"o":{"in":{ "s":1}}}"#));
        let mut deep = String::new();
        for _ in 0..17 {
            deep.push_str("{\"k\":");
        }
        deep.push('1');
        deep.push_str(&"}".repeat(17));
        for o in &ops {
            assert!(!same_both_ways(o, &names, &deep));
        }
    }

    /// A random JSON value over keys that the test pointers name (so pointers hit) and
    /// strings with escapes, non-ASCII text and control characters.
    fn json_value() -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
        use proptest::prelude::*;
        let key = prop_oneof![
            Just("s".to_owned()),
            Just("o".to_owned()),
            Just("in".to_owned()),
            Just("arr".to_owned()),
            Just("a".to_owned()),
            Just("ab".to_owned()),
            Just("clé".to_owned()),
            Just(String::new()),
            "[a-z\\\"\u{1}é]{0,4}",
        ];
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::Bool),
            any::<i64>().prop_map(serde_json::Value::from),
            (-1e6f64..1e6).prop_map(serde_json::Value::from),
            "[ -~é\u{1}\u{1F600}\\\"\n\t]{0,12}".prop_map(serde_json::Value::String),
        ];
        leaf.prop_recursive(5, 40, 6, move |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..5).prop_map(serde_json::Value::Array),
                proptest::collection::vec((key.clone(), inner), 0..6)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 256, ..Default::default() })]

        /// Any object, compact or spaced out, and any cut or one-byte change of it: the direct
        /// walk sets exactly what the simd-json walk sets, or leaves the line to it.
        #[test]
        fn random_documents_read_the_same_both_ways(
            members in proptest::collection::vec(("[a-z]{0,3}|s|o|arr", json_value()), 0..6),
            pretty in proptest::bool::ANY,
            cut in proptest::prelude::any::<proptest::sample::Index>(),
            byte in proptest::prelude::any::<proptest::sample::Index>(),
            with in proptest::sample::select(vec![b'"', b'\\', b'{', b'}', b'[', b']', b',', b':', b' ', b'1', b'-', b'e', b'.', b'n', b'x']),
        ) {
            let doc = serde_json::Value::Object(members.into_iter().collect());
            let text = if pretty {
                serde_json::to_string_pretty(&doc).unwrap().replace('\n', " ")
            } else {
                serde_json::to_string(&doc).unwrap()
            };
            let mut names = Names::default();
            let ops = ops(&mut names);
            let mut cases = vec![text.clone()];
            let b = text.as_bytes();
            let at = cut.index(b.len() + 1);
            if text.is_char_boundary(at) {
                cases.push(text[..at].to_owned());
            }
            let i = byte.index(b.len().max(1));
            if i < b.len() && b[i].is_ascii() {
                let mut changed = b.to_vec();
                changed[i] = with;
                if let Ok(t) = String::from_utf8(changed) {
                    cases.push(t);
                }
            }
            for line in &cases {
                for o in &ops {
                    same_both_ways(o, &names, line);
                }
            }
        }
    }

    #[test]
    fn escapes_at_every_position_are_decoded_the_same_way() {
        let mut names = Names::default();
        let ops = ops(&mut names);
        let escapes = [
            r#"\""#,
            r#"\\"#,
            r#"\/"#,
            r#"\b"#,
            r#"\f"#,
            r#"\n"#,
            r#"\r"#,
            r#"\t"#,
            r#"\u00e9"#,
            r#"\u0001"#,
            r#"\u20AC"#,
            r#"\u0000"#,
        ];
        let base = "abcdefghijklmnopqrsté";
        let cuts: Vec<usize> = (0..=base.len())
            .filter(|&i| base.is_char_boundary(i))
            .collect();
        for esc in escapes {
            for &at in &cuts {
                let text = format!("{}{esc}{}", &base[..at], &base[at..]);
                for line in [
                    format!(r#"{{"s":"{text}"}}"#),
                    format!(r#"{{"o":{{"in":{{"s":"{text}"}},"k":"{text}"}}}}"#),
                    format!(r#"{{"arr":["x","{text}"]}}"#),
                    format!(r#"{{"{text}":1}}"#),
                ] {
                    same_both_ways(&ops[0], &names, &line);
                    same_both_ways(&ops[1], &names, &line);
                    same_both_ways(&ops[2], &names, &line);
                }
                let line = format!(r#"{{"s":"{text}","t":"{text}{text}"}}"#);
                for o in &ops {
                    assert!(same_both_ways(o, &names, &line), "direct: {line}");
                }
            }
        }
    }

    #[test]
    fn keys_are_matched_exactly_whatever_their_filter_bits() {
        // Enough segments to set most filter bits, sharing prefixes, lengths, first and last
        // bytes; every key of the line is looked up against them.
        let segs: Vec<String> = (0..90)
            .map(|i| format!("k{}", "ab".repeat(i % 7)) + &i.to_string())
            .chain(["", "a", "ab", "abc", "b", "ba", "é", "éa", "aé"].map(String::from))
            .collect();
        let mut names = Names::default();
        let paths: Vec<JsonPath> = segs
            .iter()
            .enumerate()
            .map(|(i, seg)| {
                let to: &'static str = Box::leak(format!("to{i}").into_boxed_str());
                (names.key(to), vec![seg.clone()])
            })
            .collect();
        let o = JsonOp::new(paths, true);
        for seg in &segs {
            let want = segs
                .iter()
                .position(|s| s == seg)
                .map(|p| o.trie[0].children[p].1);
            assert_eq!(o.child(Some(0), seg.as_bytes()), want, "{seg}");
        }
        for other in ["k", "kab", "k0a", "a0", "abcd", "c", "e", "\u{e8}"] {
            assert_eq!(o.child(Some(0), other.as_bytes()), None, "{other}");
        }
        let body: Vec<String> = segs
            .iter()
            .chain(["k", "abcd", "zz"].map(String::from).iter())
            .enumerate()
            .map(|(i, k)| format!(r#""{k}":"v{i}""#))
            .collect();
        let line = format!("{{{}}}", body.join(","));
        assert!(same_both_ways(&o, &names, &line));
        let mut rec = Record::new(&line, &names);
        assert!(o.run(&mut rec, Val::Line(0, line.len() as u32), &line));
        for i in 0..segs.len() {
            assert_eq!(
                rec.lookup(&format!("to{i}")),
                Some(format!("v{i}").as_str())
            );
        }
        assert_eq!(rec.lookup("zz"), Some("v101"));
    }

    #[test]
    fn special_finds_the_first_quote_backslash_or_control_byte() {
        for len in 0..40 {
            let plain: Vec<u8> = (0..len)
                .map(|i| [b'a', b' ', 0x7f, 0xc3, 0xa9, b'!'][i % 6])
                .collect();
            assert_eq!(special(&plain, 0), len);
            for at in 0..len {
                for c in [b'"', b'\\', 0x00, 0x01, 0x1f] {
                    let mut b = plain.clone();
                    b[at] = c;
                    for from in 0..=at {
                        assert_eq!(special(&b, from), at, "len {len} at {at} from {from}");
                    }
                    assert_eq!(special(&b, at + 1), len);
                }
            }
        }
    }

    #[test]
    fn learned_keys_give_what_the_first_line_gave() {
        let mut names = Names::default();
        let ops = ops(&mut names);
        let lines = [
            r#"{"s":"v","n":1,"o":{"in":{"s":"x","t":[1,2]},"e":{},"k":"v"},"o2":{"in":{"s":"y"}}}"#,
            r#"{"a":{"b":"deep","c":{}},"ab":{"x":{"y":{"z":null}}},"s":"dup","s":"again"}"#,
            r#"{"o":{"k":"w","in":{"s":"z","u":"new"}},"n":2,"clé":"é","":{"":""}}"#,
            r#"{"a":"flat","ab":1,"o":"str","o2":{"in":[{"s":1}]}}"#,
            // The same keys in other orders (the order learned is a guess only).
            r#"{"n":1,"s":"v","o":{"k":"v","e":{},"in":{"t":[1],"s":"x"}},"o2":{"in":{"s":"y"}}}"#,
            r#"{"o2":{"in":{"s":"y"}},"o":{"in":{"s":"x"},"k":"v"},"n":1,"n":3,"s":"v"}"#,
            r#"{"averyveryverylongkey_1":1,"averyveryverylongkey_2":2,"averyveryverylongkey_1":3}"#,
            r#"{"averyveryverylongkey_2":1,"averyveryverylongkey_3":2,"abcdefgh":3,"abcdefg":4}"#,
        ];
        for _ in 0..3 {
            for line in lines {
                for o in &ops {
                    assert!(same_both_ways(o, &names, line), "direct: {line}");
                }
            }
        }
    }

    #[test]
    fn kept_keys_the_mapping_names_go_to_their_fields_when_absent() {
        let mut names = Names::default();
        let n_key = names.key("n");
        let ok_key = names.key("o.k");
        let o = op(&mut names, &[("p_s", &["s"])], true);
        let line = r#"{"n":1,"o":{"k":"v","k":"dup"},"n":2,"x":{"y":{"z":true}},"s":"p"}"#;
        let whole = Val::Line(0, line.len() as u32);
        for round in 0..4 {
            let mut rec = Record::new(line, &names);
            if round == 2 {
                rec.set(n_key, Val::Static("pre"));
            }
            assert!(o.run(&mut rec, whole, line));
            let n = if round == 2 { "pre" } else { "1" };
            assert_eq!(rec.get_str(n_key), Some(n));
            assert_eq!(rec.get_str(ok_key), Some("v"));
            assert_eq!(rec.lookup("x.y.z"), Some("true"));
            assert_eq!(rec.lookup("p_s"), Some("p"));
            let keys: Vec<&str> = rec.iter().map(|(k, _)| rec.str(k)).collect();
            let want = if round == 2 {
                ["n", "p_s", "o.k", "x.y.z"]
            } else {
                ["p_s", "n", "o.k", "x.y.z"]
            };
            assert_eq!(keys, want);
            assert!(same_both_ways(&o, &names, line));
        }
        // Names with one more (the op learned its keys against the first): looked up again.
        let mut other = Names::default();
        for name in ["n", "o.k", "p_s"] {
            let _ = other.key(name);
        }
        let xyz = other.key("x.y.z");
        let mut rec = Record::new(line, &other);
        assert!(o.run(&mut rec, whole, line));
        assert_eq!(rec.get_str(xyz), Some("true"));
        assert_eq!(rec.lookup("o.k"), Some("v"));
    }

    #[test]
    fn past_the_learning_cap_keys_are_kept_as_before() {
        let mut names = Names::default();
        let o = op(&mut names, &[("p_deep", &["a", "b", "c"])], true);
        assert!(same_both_ways(&o, &names, r#"{"a":{"x":1}}"#));
        for i in 0..LEARN_MAX / 64 + 1 {
            let body: Vec<String> = (0..64)
                .map(|j| format!(r#""k{}":{j}"#, i * 64 + j))
                .collect();
            assert!(same_both_ways(
                &o,
                &names,
                &format!("{{{}}}", body.join(","))
            ));
        }
        // `a` and `a.x` were learned; nothing new can be now.
        let line = r#"{"a":{"b":{"c":"deep","d":"kept","e":{"f":5}},"x":2,"y":3},"new":{"z":4}}"#;
        for _ in 0..2 {
            assert!(same_both_ways(&o, &names, line));
            let mut rec = Record::new(line, &names);
            assert!(o.run(&mut rec, Val::Line(0, line.len() as u32), line));
            assert_eq!(rec.lookup("p_deep"), Some("deep"));
            assert_eq!(rec.lookup("a.b.d"), Some("kept"));
            assert_eq!(rec.lookup("a.b.e.f"), Some("5"));
            assert_eq!(rec.lookup("a.x"), Some("2"));
            assert_eq!(rec.lookup("a.y"), Some("3"));
            assert_eq!(rec.lookup("new.z"), Some("4"));
            assert!(rec.lookup("a.b.c").is_none());
        }
    }

    #[test]
    fn long_key_names_are_kept_but_not_interned() {
        let mut names = Names::default();
        let o = op(&mut names, &[("p", &["a"])], true);
        let long = "k".repeat(LEARN_NAME_MAX + 1);
        let line = format!(r#"{{"a":"x","{long}":1,"obj":{{"{long}":2}}}}"#);
        for _ in 0..2 {
            assert!(same_both_ways(&o, &names, &line));
            let mut rec = Record::new(&line, &names);
            assert!(o.run(&mut rec, Val::Line(0, line.len() as u32), &line));
            assert_eq!(rec.lookup("p"), Some("x"));
            assert_eq!(rec.lookup(&long), Some("1"));
            assert_eq!(rec.lookup(&format!("obj.{long}")), Some("2"));
        }
        assert!(crate::schema::Symbol::find(&long).is_none());
        assert!(crate::schema::Symbol::find(&format!("obj.{long}")).is_none());
    }

    #[test]
    fn strings_are_escaped_like_json() {
        let mut out = String::new();
        write_json_string("a\"\\\u{8}\t\n\u{c}\r\u{1f}é/", &mut out);
        assert_eq!(out, r#""a\"\\\b\t\n\f\r\u001fé/""#);
    }
}
