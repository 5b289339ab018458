//! The record a mapping works on: named fields, in the order set, whose keys and values are
//! spans of the line (or of the record's scratch text, or constants of the compiled mapping).
//! Nothing in a record holds a reference count: a field costs two small copies, and only the
//! values that end up in the event become [`Text`]s (in `assign`).

use crate::schema::{offsets_in, Part, Text, Unmapped};
use bytes::Bytes;

/// A key or value of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Val {
    /// Bytes `a..b` of the line.
    Line(u32, u32),
    /// Bytes `a..b` of the record's scratch text (values a line does not hold as such:
    /// unescaped, converted or joined).
    Scratch(u32, u32),
    /// A constant of a compiled mapping (field names, `set`/`map` values).
    Static(&'static str),
}

/// Named fields of one line, with a small open-addressing index over a constant-time key
/// fingerprint, so `get`/`set` cost the same with 3 fields or 60 (a key=value or JSON line has
/// dozens). Past [`INDEXED`] fields the index is abandoned and lookups scan the fingerprints.
#[derive(Debug)]
pub struct Record<'a> {
    line: &'a str,
    scratch: String,
    /// (key, value, key fingerprint).
    fields: Vec<Field>,
    /// Slot -> `1 + position in fields` in the low byte, 8 more bits of the fingerprint in the
    /// high byte (so most probes that miss never touch `fields`); 0 is empty.
    index: [u16; SLOTS],
    /// Fields removed (their keys are [`REMOVED`]; they stay in place so the index holds).
    removed: usize,
}

/// (key, value, key fingerprint).
type Field = (Val, Val, u32);

thread_local! {
    /// The scratch text and field list of the last record dropped on this thread, kept so the
    /// next record reuses their capacity (a JSON or key=value line has dozens of fields).
    static SPARE: std::cell::RefCell<(String, Vec<Field>)> =
        const { std::cell::RefCell::new((String::new(), Vec::new())) };
}

/// The key of a removed field: compared by address, so no real key is ever taken for it.
static REMOVED: &str = "(removed)";

fn is_removed(key: Val) -> bool {
    matches!(key, Val::Static(s) if std::ptr::eq(s, REMOVED))
}

const SLOTS: usize = 128;
const INDEXED: usize = SLOTS * 3 / 4;

/// A constant-time fingerprint of a key (its length and first, second, middle and last two
/// bytes); a hit is confirmed by comparing the bytes, so collisions only cost a comparison.
fn key_hash(key: &[u8]) -> u32 {
    let n = key.len();
    let at = |i: usize| u32::from(key.get(i).copied().unwrap_or(0));
    let h = (n as u32) << 24
        ^ at(0) << 16
        ^ at(1) << 8
        ^ at(n.wrapping_sub(1))
        ^ at(n.wrapping_sub(2)) << 4
        ^ at(n / 2) << 12;
    h.wrapping_mul(0x9E37_79B1)
}

fn slot_of(h: u32) -> usize {
    (h >> 25) as usize
}

fn tag_of(h: u32) -> u16 {
    ((h >> 17) & 0xff) as u16
}

/// `s` without leading and trailing whitespace, as `str::trim` (Unicode whitespace), but
/// without decoding characters when both ends are plainly not whitespace (nearly every value).
pub fn trim(s: &str) -> &str {
    let b = s.as_bytes();
    let plain = |c: u8| c > b' ' && c < 0x80;
    match (b.first(), b.last()) {
        (Some(&f), Some(&l)) if plain(f) && plain(l) => s,
        _ => s.trim(),
    }
}

/// The span of `part` within `whole`, when it lies there (lines are far below 4 GiB).
fn span_in(whole: &str, part: &str) -> Option<(u32, u32)> {
    let r = offsets_in(whole.as_bytes(), part.as_bytes())?;
    Some((r.start as u32, r.end as u32))
}

impl<'a> Record<'a> {
    /// An empty record over `line` (the frame's text).
    pub fn new(line: &'a str) -> Record<'a> {
        let (mut scratch, mut fields) = SPARE
            .with(|spare| spare.try_borrow_mut().map(|mut s| std::mem::take(&mut *s)))
            .unwrap_or_default();
        scratch.clear();
        fields.clear();
        Record {
            line,
            scratch,
            fields,
            index: [0; SLOTS],
            removed: 0,
        }
    }

    /// The line the record's spans point into.
    pub fn line(&self) -> &'a str {
        self.line
    }

    /// The text of `v`.
    pub fn str(&self, v: Val) -> &str {
        match v {
            Val::Line(a, b) => &self.line[a as usize..b as usize],
            Val::Scratch(a, b) => &self.scratch[a as usize..b as usize],
            Val::Static(s) => s,
        }
    }

    /// The text of `v` for as long as the line lives: a line span or constant as is, scratch
    /// text copied (rare: operators seldom work on a value the mapping itself produced).
    pub fn input(&self, v: Val) -> std::borrow::Cow<'a, str> {
        match v {
            Val::Line(a, b) => std::borrow::Cow::Borrowed(&self.line[a as usize..b as usize]),
            Val::Static(s) => std::borrow::Cow::Borrowed(s),
            Val::Scratch(..) => std::borrow::Cow::Owned(self.str(v).to_owned()),
        }
    }

    /// `s` as a value: a span of the line when it lies in the line, else copied to scratch.
    pub fn val(&mut self, s: &str) -> Val {
        match span_in(self.line, s) {
            Some((a, b)) => Val::Line(a, b),
            None => self.owned(s),
        }
    }

    /// `part` (a part of the text of `v`) as a value: a constant's part stays a constant, a
    /// part of the line a span; anything else is copied.
    pub fn part(&mut self, v: Val, part: &str) -> Val {
        if let Val::Static(s) = v {
            if let Some((a, b)) = span_in(s, part) {
                return Val::Static(&s[a as usize..b as usize]);
            }
        }
        self.val(part)
    }

    /// `s` copied to the scratch text.
    pub fn owned(&mut self, s: &str) -> Val {
        let a = self.scratch.len();
        self.scratch.push_str(s);
        Val::Scratch(a as u32, self.scratch.len() as u32)
    }

    /// A value built by `write` appending to the scratch text.
    pub fn build(&mut self, write: impl FnOnce(&mut String)) -> Val {
        let a = self.scratch.len();
        write(&mut self.scratch);
        Val::Scratch(a as u32, self.scratch.len() as u32)
    }

    /// The values `parts` joined, as one new value (appended to the scratch text; no
    /// allocation once the scratch text has grown to the record's size).
    pub fn join(&mut self, parts: impl IntoIterator<Item = Val>) -> Val {
        let a = self.scratch.len();
        for part in parts {
            match part {
                Val::Line(x, y) => self.scratch.push_str(&self.line[x as usize..y as usize]),
                Val::Scratch(x, y) => {
                    // Rare (a template over a value the mapping built); `extend_from_within`
                    // is past the workspace's MSRV.
                    let piece = self.scratch[x as usize..y as usize].to_owned();
                    self.scratch.push_str(&piece);
                }
                Val::Static(s) => self.scratch.push_str(s),
            }
        }
        Val::Scratch(a as u32, self.scratch.len() as u32)
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.get_val(key).map(|v| self.str(v))
    }

    /// The value of `key`, as a span.
    pub fn get_val(&self, key: &str) -> Option<Val> {
        self.position(key.as_bytes(), key_hash(key.as_bytes()))
            .map(|i| self.fields[i].1)
    }

    fn key_is(&self, i: usize, key: &[u8]) -> bool {
        let k = self.fields[i].0;
        if let Val::Static(s) = k {
            // Names of a compiled mapping are interned: the same name is the same address.
            if s.as_ptr() == key.as_ptr() && s.len() == key.len() {
                return true;
            }
            if std::ptr::eq(s, REMOVED) {
                return false;
            }
        }
        self.str(k).as_bytes() == key
    }

    /// True once the record has more fields than the index holds (fields are never taken
    /// out, so it stays true).
    fn overflowed(&self) -> bool {
        self.fields.len() > INDEXED
    }

    /// The fingerprint of `key` and where it is, if present.
    fn find(&self, key: Val) -> (u32, Option<usize>) {
        let k = self.str(key).as_bytes();
        let h = key_hash(k);
        (h, self.position(k, h))
    }

    fn position(&self, key: &[u8], h: u32) -> Option<usize> {
        if self.overflowed() {
            return (0..self.fields.len()).find(|&i| self.fields[i].2 == h && self.key_is(i, key));
        }
        let tag = tag_of(h);
        let mut slot = slot_of(h);
        loop {
            let at = self.index[slot];
            if at == 0 {
                return None;
            }
            if at >> 8 == tag {
                let i = usize::from(at & 0xff) - 1;
                if self.fields[i].2 == h && self.key_is(i, key) {
                    return Some(i);
                }
            }
            slot = (slot + 1) % SLOTS;
        }
    }

    fn index_insert(&mut self, h: u32, i: usize) {
        let mut slot = slot_of(h);
        while self.index[slot] != 0 {
            slot = (slot + 1) % SLOTS;
        }
        self.index[slot] = (tag_of(h) << 8) | (i + 1) as u16;
    }

    /// Sets `key` (replacing an earlier value).
    pub fn set(&mut self, key: Val, value: Val) {
        match self.find(key) {
            (_, Some(i)) => self.fields[i].1 = value,
            (h, None) => self.push_new(h, key, value),
        }
    }

    /// Sets `key` to `s` (a span of the line when it lies there, else a copy).
    pub fn set_str(&mut self, key: Val, s: &str) {
        let v = self.val(s);
        self.set(key, v);
    }

    /// Appends a key known to be absent.
    fn push_new(&mut self, h: u32, key: Val, value: Val) {
        let i = self.fields.len();
        self.fields.push((key, value, h));
        if i < INDEXED {
            self.index_insert(h, i);
        }
    }

    /// Sets `key` only when it is not there yet. Returns whether it was set.
    pub fn set_if_absent_val(&mut self, key: Val, value: Val) -> bool {
        match self.find(key) {
            (_, Some(_)) => false,
            (h, None) => {
                self.push_new(h, key, value);
                true
            }
        }
    }

    /// Removes `key`, returning its value. The field stays in place under a key no lookup
    /// matches, so the index needs no rebuilding.
    pub fn remove(&mut self, key: &str) -> Option<Val> {
        let i = self.position(key.as_bytes(), key_hash(key.as_bytes()))?;
        let (k, value, _) = &mut self.fields[i];
        *k = Val::Static(REMOVED);
        self.removed += 1;
        Some(*value)
    }

    /// Every field (key, value), in the order set.
    pub fn iter(&self) -> impl Iterator<Item = (Val, Val)> + '_ {
        self.fields
            .iter()
            .map(|&(k, v, _)| (k, v))
            .filter(|(k, _)| self.removed == 0 || !is_removed(*k))
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.fields.len() - self.removed
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The [`Text`]s of the event made from this record's values: slices of `frame` (the
    /// line's bytes) for line spans, the constants themselves, and slices of one copy of the
    /// scratch text (made when first needed) for the rest, so no value costs an allocation.
    pub fn texts<'r>(&'r self, frame: &'r Bytes) -> Texts<'r, 'a> {
        Texts {
            rec: self,
            frame,
            scratch: std::cell::OnceCell::new(),
        }
    }
}

impl Drop for Record<'_> {
    fn drop(&mut self) {
        let scratch = std::mem::take(&mut self.scratch);
        let fields = std::mem::take(&mut self.fields);
        SPARE.with(|spare| {
            if let Ok(mut spare) = spare.try_borrow_mut() {
                *spare = (scratch, fields);
            }
        });
    }
}

/// See [`Record::texts`].
#[derive(Debug)]
pub struct Texts<'r, 'a> {
    rec: &'r Record<'a>,
    frame: &'r Bytes,
    scratch: std::cell::OnceCell<Text>,
}

impl Texts<'_, '_> {
    fn scratch(&self) -> &Text {
        self.scratch
            .get_or_init(|| Text::copy_from(&self.rec.scratch))
    }

    /// `part` (a part of the text of `v`) as a [`Part`] of `unmapped`: a span of the line or
    /// of the scratch text (each registered as a base of `unmapped` when first used; `bases`
    /// remembers their indices), a constant as itself.
    pub fn part(
        &self,
        unmapped: &mut Unmapped,
        bases: &mut [Option<u8>; 2],
        v: Val,
        part: &str,
    ) -> Part {
        // Which base the value is a part of: 0 the line, 1 the scratch text.
        let (which, whole) = match v {
            Val::Static(_) => return Part::Text(self.text(v, part)),
            Val::Line(..) => (0, self.rec.line),
            Val::Scratch(..) => (1, self.rec.scratch.as_str()),
        };
        let base = match bases[which] {
            Some(b) => Some(b),
            None => {
                let text = match which {
                    0 => Text::slice_of(self.frame, self.rec.line),
                    _ => self.scratch().clone(),
                };
                bases[which] = unmapped.add_base(text);
                bases[which]
            }
        };
        base.zip(span_in(whole, part))
            .map(|(base, (a, b))| Part::Span { base, a, b })
            .unwrap_or_else(|| Part::Text(self.text(v, part)))
    }

    /// `part` (a part of the text of `v`) as a [`Text`].
    pub fn text(&self, v: Val, part: &str) -> Text {
        match v {
            Val::Line(..) => Text::slice_of(self.frame, part),
            Val::Static(s) => match span_in(s, part) {
                Some((a, b)) => Text::from_static(&s[a as usize..b as usize]),
                None => Text::copy_from(part),
            },
            Val::Scratch(..) => {
                let scratch = self.scratch();
                span_in(&self.rec.scratch, part)
                    .and_then(|(a, b)| scratch.range(a as usize, b as usize))
                    .unwrap_or_else(|| Text::copy_from(part))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trim_matches_str_trim() {
        for s in [
            "",
            " ",
            "a",
            " a ",
            "\ta b\n",
            "\u{a0}x\u{3000}",
            "x\u{a0}",
            "é",
            " é ",
        ] {
            assert_eq!(trim(s), s.trim(), "{s:?}");
        }
    }

    #[test]
    fn set_replaces_and_remove_takes() {
        let mut r = Record::new("");
        r.set(Val::Static("a"), Val::Static("1"));
        r.set(Val::Static("b"), Val::Static("2"));
        r.set(Val::Static("a"), Val::Static("3"));
        assert_eq!(r.get("a"), Some("3"));
        assert_eq!(r.len(), 2);
        assert_eq!(r.remove("b"), Some(Val::Static("2")));
        assert!(r.get("b").is_none());
        assert_eq!(
            r.get("a"),
            Some("3"),
            "the index still holds after a removal"
        );
        assert_eq!(r.iter().count(), 1, "a removed field is not listed");
        r.set(Val::Static("b"), Val::Static("4"));
        assert_eq!(r.get("b"), Some("4"), "a removed key can be set again");
        assert_eq!(r.len(), 2);
    }

    #[test]
    fn values_of_the_line_are_spans_and_others_are_copied() {
        let line = "user=alice port=22";
        let mut r = Record::new(line);
        r.set_str(Val::Static("user"), &line[5..10]);
        let elsewhere = String::from("bob");
        r.set_str(Val::Static("other"), &elsewhere);
        assert_eq!(r.get_val("user"), Some(Val::Line(5, 10)));
        assert!(matches!(r.get_val("other"), Some(Val::Scratch(..))));
        assert_eq!(r.get("other"), Some("bob"));
        let key = r.val(&line[11..15]);
        r.set(key, Val::Static("x"));
        assert_eq!(r.get("port"), Some("x"), "a key may be a span of the line");
    }

    #[test]
    fn join_concatenates_line_scratch_and_constant_parts() {
        let line = "user=bob";
        let mut r = Record::new(line);
        let built = r.owned("42");
        let joined = r.join([Val::Line(5, 8), Val::Static(":"), built]);
        assert_eq!(r.str(joined), "bob:42");
        let again = r.join([joined, Val::Static("!")]);
        assert_eq!(r.str(again), "bob:42!");
    }

    #[test]
    fn many_fields_stay_reachable_past_the_index() {
        let mut r = Record::new("");
        let keys: Vec<String> = (0..300).map(|i| format!("field.{i}")).collect();
        for (i, k) in keys.iter().enumerate() {
            let key = r.owned(k);
            let value = r.owned(&i.to_string());
            r.set(key, value);
        }
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(r.get(k), Some(i.to_string().as_str()), "{k}");
        }
        r.set(Val::Static("field.7"), Val::Static("x"));
        assert_eq!(r.get("field.7"), Some("x"));
        assert_eq!(r.len(), 300);
        let gone = r.remove("field.250").unwrap();
        assert_eq!(r.str(gone), "250");
        assert!(r.get("field.250").is_none());
        assert_eq!(r.get("field.299"), Some("299"));
    }
}
