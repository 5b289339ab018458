//! The `json` operator: parses a JSON object (simd-json, into a reused tape), takes the values
//! its JSON pointers name, and keeps every other scalar under its dotted path
//! (`userIdentity.arn`) unless `rest = "drop"`.
//!
//! The tape is walked once: the pointers are compiled into a trie of segments, so each key of
//! an object the pointers go through costs one comparison against the few segments that can
//! follow, and a value a pointer takes is known by its place (not by comparing paths). Values
//! are set in the record as before a walk: first the pointers' in the order written, then the
//! rest in document order (a key already in the record keeps its value).

use super::record::{Key, Record, Val};
use simd_json::{Node, StaticNode, Tape};

/// One JSON pointer of the operator: the record field its value goes to, and its segments
/// (unescaped).
pub type JsonPath = (Key, Vec<String>);

/// A compiled `json` operator.
#[derive(Debug)]
pub struct JsonOp {
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
    /// The pointers that end here.
    targets: Vec<usize>,
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
                        next
                    }
                };
            }
            trie[at].targets.push(p);
        }
        JsonOp {
            targets: paths.into_iter().map(|(to, _)| to).collect(),
            trie,
            keep_rest,
        }
    }

    fn child(&self, at: Option<usize>, seg: &str) -> Option<usize> {
        let node = &self.trie[at?];
        let (len, first) = (seg.len(), seg.as_bytes().first());
        // Length and first byte rule out nearly every other segment without a call to memcmp.
        node.children
            .iter()
            .find(|(s, _)| s.len() == len && s.as_bytes().first() == first && **s == *seg)
            .map(|&(_, next)| next)
    }

    /// Runs the operator on `s` (the text of `v`); false when it is not a JSON object.
    pub fn run(&self, rec: &mut Record<'_>, v: Val, s: &str) -> bool {
        let Some(start) = s.find('{') else {
            return false;
        };
        SCRATCH.with(|scratch| {
            let Ok(mut scratch) = scratch.try_borrow_mut() else {
                // Re-entered (never in practice): parse with fresh buffers.
                return self.parse_and_take(rec, v, s, start, &mut Scratch::new());
            };
            self.parse_and_take(rec, v, s, start, &mut scratch)
        })
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
            let child = self.op.child(trie, k);
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
            let Some(c) = self.op.child(trie, index.format(n)) else {
                continue;
            };
            self.mark(c, vi, found);
            self.pointers_below(c, vi, value, found);
        }
    }

    /// Walks an object inside an array for pointers only.
    fn object_pointers(&self, i: usize, trie: Option<usize>, found: &mut [usize]) {
        for (k, vi, value) in self.members(i) {
            let Some(c) = self.op.child(trie, k) else {
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

    #[test]
    fn strings_are_escaped_like_json() {
        let mut out = String::new();
        write_json_string("a\"\\\u{8}\t\n\u{c}\r\u{1f}é/", &mut out);
        assert_eq!(out, r#""a\"\\\b\t\n\f\r\u001fé/""#);
    }
}
