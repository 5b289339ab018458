//! The `json` operator: parses a JSON object (simd-json), takes the values its JSON pointers
//! name, and keeps every other scalar under its dotted path (`userIdentity.arn`) unless
//! `rest = "drop"`.

use super::record::{Record, Val};
use simd_json::prelude::*;
use simd_json::tape::{Tape, Value};

/// One JSON pointer of the operator: where its value goes, its segments, and its dotted form
/// (the key the value would otherwise be kept under).
#[derive(Debug)]
pub struct JsonPath {
    /// The record field it sets.
    pub to: &'static str,
    /// Pointer segments, unescaped.
    pub segs: Vec<String>,
    /// `a.b.c`.
    pub dotted: String,
}

impl JsonPath {
    /// A path from its target and segments.
    pub fn new(to: &'static str, segs: Vec<String>) -> JsonPath {
        let dotted = segs.join(".");
        JsonPath { to, segs, dotted }
    }
}

/// simd-json's scratch buffers, the copy of the line it parses in place and the tape it
/// parses into (a flat list of nodes: no allocation per object, unlike a value tree).
type Scratch = (simd_json::Buffers, Vec<u8>, Tape<'static>);

thread_local! {
    /// Kept per thread so a line costs no allocation for them.
    static SCRATCH: std::cell::RefCell<Scratch> =
        std::cell::RefCell::new((simd_json::Buffers::default(), Vec::new(), Tape(Vec::new())));
}

/// Runs the operator on `input`; false when it is not a JSON object.
pub fn run(rec: &mut Record<'_>, v: Val, s: &str, paths: &[JsonPath], keep_rest: bool) -> bool {
    let Some(start) = s.find('{') else {
        return false;
    };
    SCRATCH.with(|scratch| {
        let Ok(mut scratch) = scratch.try_borrow_mut() else {
            // Re-entered (never in practice): parse with fresh buffers.
            let mut fresh = (simd_json::Buffers::default(), Vec::new(), Tape(Vec::new()));
            return parse_and_take(rec, v, s, start, paths, keep_rest, &mut fresh);
        };
        parse_and_take(rec, v, s, start, paths, keep_rest, &mut scratch)
    })
}

fn parse_and_take(
    rec: &mut Record<'_>,
    v: Val,
    input: &str,
    start: usize,
    paths: &[JsonPath],
    keep_rest: bool,
    scratch: &mut Scratch,
) -> bool {
    let (buffers, buf, kept) = scratch;
    buf.clear();
    buf.extend_from_slice(&input.as_bytes()[start..]);
    let base = buf.as_ptr() as usize;
    let mut tape = std::mem::replace(kept, Tape(Vec::new())).reset();
    let parsed = simd_json::fill_tape(buf, buffers, &mut tape).is_ok()
        && take(
            rec,
            v,
            input,
            start,
            base,
            tape.as_value(),
            paths,
            keep_rest,
        );
    *kept = tape.reset();
    parsed
}

/// Takes the pointers' values and (with `keep_rest`) every other scalar from the parsed
/// `root`; false when it is not an object.
#[allow(clippy::too_many_arguments)]
fn take(
    rec: &mut Record<'_>,
    v: Val,
    input: &str,
    start: usize,
    base: usize,
    root: Value<'_, '_>,
    paths: &[JsonPath],
    keep_rest: bool,
) -> bool {
    if root.as_object().is_none() {
        return false;
    }
    let ctx = Ctx {
        v,
        input,
        start,
        base,
    };
    let mut taken: smallvec::SmallVec<[&str; 32]> = smallvec::SmallVec::new();
    for p in paths {
        let mut cur = root;
        let mut found = true;
        for seg in &p.segs {
            let next = if let Some(o) = cur.as_object() {
                o.get(seg.as_str())
            } else if let Some(a) = cur.as_array() {
                seg.parse::<usize>().ok().and_then(|i| a.get(i))
            } else {
                None
            };
            match next {
                Some(n) => cur = n,
                None => {
                    found = false;
                    break;
                }
            }
        }
        if !found {
            continue;
        }
        if let Some(value) = ctx.scalar_text(rec, &cur) {
            rec.set(Val::Static(p.to), value);
            taken.push(&p.dotted);
        }
    }
    if keep_rest {
        let mut prefix = String::new();
        flatten(rec, &ctx, &root, &mut prefix, &taken, 0);
    }
    true
}

/// Where the parsed copy sits relative to the line, to hand out strings as slices of the line.
struct Ctx<'a> {
    v: Val,
    input: &'a str,
    start: usize,
    base: usize,
}

impl Ctx<'_> {
    /// `s` (text of the parsed copy) as a slice of the line when it sits there unchanged
    /// (a string without escapes), else a copy.
    fn slice_or_copy(&self, rec: &mut Record<'_>, s: &str) -> Val {
        let line = self.input;
        let orig = (s.as_ptr() as usize)
            .checked_sub(self.base)
            .and_then(|o| o.checked_add(self.start))
            .and_then(|o| line.get(o..o.checked_add(s.len())?));
        match orig {
            Some(orig) if orig == s => rec.part(self.v, orig),
            _ => rec.owned(s),
        }
    }

    /// The text of a scalar (strings as-is, numbers and booleans as JSON); arrays and objects
    /// as compact JSON; `None` for null. A string without escapes is a slice of the line (it
    /// sits at the same offset in the parsed copy), not a copy.
    fn scalar_text(&self, rec: &mut Record<'_>, v: &Value<'_, '_>) -> Option<Val> {
        if let Some(st) = v.as_str() {
            return Some(self.slice_or_copy(rec, st));
        }
        if v.is_null() {
            None
        } else if let Some(b) = v.as_bool() {
            Some(Val::Static(if b { "true" } else { "false" }))
        } else if let Some(n) = v.as_i64() {
            Some(rec.owned(itoa::Buffer::new().format(n)))
        } else if let Some(n) = v.as_u64() {
            Some(rec.owned(itoa::Buffer::new().format(n)))
        } else {
            Some(rec.owned(&v.encode()))
        }
    }
}

fn flatten(
    rec: &mut Record<'_>,
    ctx: &Ctx<'_>,
    v: &Value<'_, '_>,
    path: &mut String,
    taken: &[&str],
    depth: usize,
) {
    let Some(o) = v.as_object() else {
        return;
    };
    for (k, child) in o.iter() {
        let nested = child.is_object() && depth + 1 < 16;
        if depth == 0 && !nested {
            // A top-level scalar: its key, written without escapes, is a slice of the line.
            let k: &str = k;
            keep(rec, ctx, &child, k, taken, |rec| ctx.slice_or_copy(rec, k));
            continue;
        }
        let len = path.len();
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(k);
        if nested {
            flatten(rec, ctx, &child, path, taken, depth + 1);
        } else {
            keep(rec, ctx, &child, path, taken, |rec| rec.owned(path));
        }
        path.truncate(len);
    }
}

/// Keeps the value `v` under `key` unless a pointer took it or the record already has it.
fn keep<'a>(
    rec: &mut Record<'a>,
    ctx: &Ctx<'_>,
    v: &Value<'_, '_>,
    key: &str,
    taken: &[&str],
    make_key: impl FnOnce(&mut Record<'a>) -> Val,
) {
    if taken.contains(&key) {
        return;
    }
    if let Some(t) = ctx.scalar_text(rec, v) {
        rec.set_if_absent(key, make_key, t);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers_take_values_and_the_rest_is_kept_dotted() {
        let paths = vec![
            JsonPath::new(
                "actor.user.name",
                vec!["userIdentity".to_owned(), "userName".to_owned()],
            ),
            JsonPath::new(
                "src_endpoint.ip",
                vec!["sourceIPs".to_owned(), "0".to_owned()],
            ),
        ];
        let line = r#"<14>x: {"userIdentity":{"userName":"alice","type":"IAMUser"},"sourceIPs":["10.0.0.1","10.0.0.2"],"n":3,"z":null,"ok":true,"esc":"a\"b\u00e9c"}"#;
        let mut rec = Record::new(line);
        let whole = Val::Line(0, line.len() as u32);
        assert!(run(&mut rec, whole, line, &paths, true));
        assert_eq!(
            rec.get("esc").unwrap(),
            "a\"b\u{e9}c",
            "escapes are decoded"
        );
        assert_eq!(rec.get("actor.user.name").unwrap(), "alice");
        assert_eq!(rec.get("src_endpoint.ip").unwrap(), "10.0.0.1");
        assert_eq!(rec.get("userIdentity.type").unwrap(), "IAMUser");
        assert_eq!(rec.get("n").unwrap(), "3");
        assert!(rec.get("userIdentity.userName").is_none());
        assert_eq!(rec.get("ok"), Some("true"));
        assert_eq!(
            rec.get_val("userIdentity.type"),
            Some(Val::Line(51, 58)),
            "an unescaped string is a span of the line"
        );
        assert!(rec.get("z").is_none());
        let other = "not json";
        assert!(!run(
            &mut Record::new(other),
            Val::Line(0, 8),
            other,
            &paths,
            true
        ));
    }
}
