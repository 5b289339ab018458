//! The `json` operator: parses a JSON object (simd-json), takes the values its JSON pointers
//! name, and keeps every other scalar under its dotted path (`userIdentity.arn`) unless
//! `rest = "drop"`.

use super::record::Record;
use crate::schema::Text;
use simd_json::prelude::*;
use simd_json::BorrowedValue;

/// One JSON pointer of the operator: where its value goes, its segments, and its dotted form
/// (the key the value would otherwise be kept under).
#[derive(Debug)]
pub struct JsonPath {
    /// The record field it sets.
    pub to: Text,
    /// Pointer segments, unescaped.
    pub segs: Vec<String>,
    /// `a.b.c`.
    pub dotted: String,
}

impl JsonPath {
    /// A path from its target and segments.
    pub fn new(to: Text, segs: Vec<String>) -> JsonPath {
        let dotted = segs.join(".");
        JsonPath { to, segs, dotted }
    }
}

thread_local! {
    /// simd-json's scratch buffers and the copy of the line it parses in place, kept per
    /// thread so a line costs no allocation for them.
    static SCRATCH: std::cell::RefCell<(simd_json::Buffers, Vec<u8>)> =
        std::cell::RefCell::new((simd_json::Buffers::default(), Vec::new()));
}

/// Runs the operator on `input`; false when it is not a JSON object.
pub fn run(rec: &mut Record, input: &Text, paths: &[JsonPath], keep_rest: bool) -> bool {
    let s = input.as_str();
    let Some(start) = s.find('{') else {
        return false;
    };
    SCRATCH.with(|scratch| {
        let Ok(mut scratch) = scratch.try_borrow_mut() else {
            // Re-entered (never in practice): parse with fresh buffers.
            let mut fresh = (simd_json::Buffers::default(), Vec::new());
            return parse_and_take(rec, input, start, paths, keep_rest, &mut fresh);
        };
        parse_and_take(rec, input, start, paths, keep_rest, &mut scratch)
    })
}

fn parse_and_take(
    rec: &mut Record,
    input: &Text,
    start: usize,
    paths: &[JsonPath],
    keep_rest: bool,
    scratch: &mut (simd_json::Buffers, Vec<u8>),
) -> bool {
    let (buffers, buf) = scratch;
    buf.clear();
    buf.extend_from_slice(&input.as_bytes()[start..]);
    let base = buf.as_ptr() as usize;
    let Ok(root) = simd_json::to_borrowed_value_with_buffers(buf, buffers) else {
        return false;
    };
    if root.as_object().is_none() {
        return false;
    }
    let ctx = Ctx { input, start, base };
    let mut taken: smallvec::SmallVec<[&str; 32]> = smallvec::SmallVec::new();
    for p in paths {
        let mut cur = &root;
        let mut found = true;
        for seg in &p.segs {
            let next = match cur {
                BorrowedValue::Object(o) => o.get(seg.as_str()),
                BorrowedValue::Array(a) => seg.parse::<usize>().ok().and_then(|i| a.get(i)),
                _ => None,
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
        if let Some(v) = ctx.scalar_text(cur) {
            rec.set(p.to.clone(), v);
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
    input: &'a Text,
    start: usize,
    base: usize,
}

impl Ctx<'_> {
    /// `s` (text of the parsed copy) as a slice of the line when it sits there unchanged
    /// (a string without escapes), else a copy.
    fn slice_or_copy(&self, s: &str) -> Text {
        let line = self.input.as_str();
        let orig = (s.as_ptr() as usize)
            .checked_sub(self.base)
            .and_then(|o| o.checked_add(self.start))
            .and_then(|o| line.get(o..o.checked_add(s.len())?));
        match orig {
            Some(orig) if orig == s => self.input.sub(orig),
            _ => Text::copy_from(s),
        }
    }

    /// The text of a scalar (strings as-is, numbers and booleans as JSON); arrays and objects
    /// as compact JSON; `None` for null. A string without escapes is a slice of the line (it
    /// sits at the same offset in the parsed copy), not a copy.
    fn scalar_text(&self, v: &BorrowedValue<'_>) -> Option<Text> {
        match v {
            BorrowedValue::String(st) => Some(self.slice_or_copy(st)),
            BorrowedValue::Static(simd_json::StaticNode::Null) => None,
            other => Some(Text::from_string(other.encode())),
        }
    }
}

fn flatten(
    rec: &mut Record,
    ctx: &Ctx<'_>,
    v: &BorrowedValue<'_>,
    path: &mut String,
    taken: &[&str],
    depth: usize,
) {
    let BorrowedValue::Object(o) = v else {
        return;
    };
    for (k, child) in o.iter() {
        let nested = matches!(child, BorrowedValue::Object(_)) && depth + 1 < 16;
        if depth == 0 && !nested {
            // A top-level scalar: its key, written without escapes, is a slice of the line.
            let k: &str = k;
            keep(rec, ctx, child, k, taken, || ctx.slice_or_copy(k));
            continue;
        }
        let len = path.len();
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(k);
        if nested {
            flatten(rec, ctx, child, path, taken, depth + 1);
        } else {
            keep(rec, ctx, child, path, taken, || Text::copy_from(path));
        }
        path.truncate(len);
    }
}

/// Keeps the value `v` under `key` unless a pointer took it or the record already has it.
fn keep(
    rec: &mut Record,
    ctx: &Ctx<'_>,
    v: &BorrowedValue<'_>,
    key: &str,
    taken: &[&str],
    make_key: impl FnOnce() -> Text,
) {
    if taken.contains(&key) {
        return;
    }
    if let Some(t) = ctx.scalar_text(v) {
        rec.set_if_absent(key, make_key, t);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers_take_values_and_the_rest_is_kept_dotted() {
        let mut rec = Record::new();
        let paths = vec![
            JsonPath::new(
                Text::from_static("actor.user.name"),
                vec!["userIdentity".to_owned(), "userName".to_owned()],
            ),
            JsonPath::new(
                Text::from_static("src_endpoint.ip"),
                vec!["sourceIPs".to_owned(), "0".to_owned()],
            ),
        ];
        let line = Text::from_static(
            r#"<14>x: {"userIdentity":{"userName":"alice","type":"IAMUser"},"sourceIPs":["10.0.0.1","10.0.0.2"],"n":3,"z":null,"esc":"a\"b\u00e9c"}"#,
        );
        assert!(run(&mut rec, &line, &paths, true));
        assert_eq!(
            rec.get("esc").unwrap().as_str(),
            "a\"b\u{e9}c",
            "escapes are decoded"
        );
        assert_eq!(rec.get("actor.user.name").unwrap().as_str(), "alice");
        assert_eq!(rec.get("src_endpoint.ip").unwrap().as_str(), "10.0.0.1");
        assert_eq!(rec.get("userIdentity.type").unwrap().as_str(), "IAMUser");
        assert_eq!(rec.get("n").unwrap().as_str(), "3");
        assert!(rec.get("userIdentity.userName").is_none());
        assert!(rec.get("z").is_none());
        assert!(!run(
            &mut Record::new(),
            &Text::from_static("not json"),
            &paths,
            true
        ));
    }
}
