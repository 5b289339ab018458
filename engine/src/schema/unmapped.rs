//! [`Unmapped`]: an event's fields with no OCSF home, in the order found. Most of their keys
//! are names of a mapping and most values parts of the received line, so an entry holds either
//! a [`Text`] or a span of one of a few shared texts (the line, a mapping's scratch text): a
//! line with thirty unmapped values shares its bytes once instead of thirty times (each share
//! of a `Text` is an atomic count taken and later released).

use super::Text;
use smallvec::SmallVec;
use std::fmt;

/// The unmapped fields of an event, as (key, value) pairs in order.
#[derive(Clone, Default)]
pub struct Unmapped {
    /// Texts the spans of `entries` are parts of.
    bases: SmallVec<[Text; 2]>,
    entries: SmallVec<[(Part, Part); 4]>,
}

/// A key or a value.
#[derive(Debug, Clone)]
pub enum Part {
    /// A text of its own.
    Text(Text),
    /// Bytes `a..b` of base text `base` (whole characters).
    Span {
        /// Index of the base (from [`Unmapped::add_base`]).
        base: u8,
        /// Start.
        a: u32,
        /// End.
        b: u32,
    },
}

impl Unmapped {
    /// No fields.
    pub fn new() -> Unmapped {
        Unmapped::default()
    }

    /// Registers `text` as a base that [`Part::Span`]s can point into; returns its index
    /// (`None` past 255 bases).
    pub fn add_base(&mut self, text: Text) -> Option<u8> {
        let i = u8::try_from(self.bases.len()).ok()?;
        self.bases.push(text);
        Some(i)
    }

    /// Appends a field.
    pub fn push(&mut self, (key, value): (Text, Text)) {
        self.entries.push((Part::Text(key), Part::Text(value)));
    }

    /// Appends a field given as parts (spans must point into this value's bases).
    pub fn push_parts(&mut self, key: Part, value: Part) {
        self.entries.push((key, value));
    }

    /// Removes every field and base, keeping the room they took (an event reused for the
    /// next line does not allocate again for its fields).
    pub fn clear(&mut self) {
        self.entries.clear();
        self.bases.clear();
    }

    /// Room for `n` more fields.
    pub fn reserve(&mut self, n: usize) {
        self.entries.reserve(n);
    }

    /// Every field, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        // The bases' slice taken once rather than per part: each access to a `SmallVec` first
        // tests whether it is inline or spilled. (The JSON writer reads every field of every
        // event through here: ~20 instructions per field went into re-deriving it.)
        let bases = self.bases.as_slice();
        self.entries
            .iter()
            .map(move |(k, v)| (resolve(bases, k), resolve(bases, v)))
    }

    /// Field `i`.
    pub fn entry(&self, i: usize) -> Option<(&str, &str)> {
        let bases = self.bases.as_slice();
        self.entries
            .get(i)
            .map(|(k, v)| (resolve(bases, k), resolve(bases, v)))
    }

    /// The value of the first field named `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// The text of `part`: a span of `bases` that is not a range of whole characters of its base
/// (or names no base) reads as empty.
#[inline(always)]
fn resolve<'s>(bases: &'s [Text], part: &'s Part) -> &'s str {
    match part {
        Part::Text(t) => t.as_str(),
        Part::Span { base, a, b } => bases
            .get(usize::from(*base))
            .and_then(|t| t.as_str().get(*a as usize..*b as usize))
            .unwrap_or(""),
    }
}

impl PartialEq for Unmapped {
    fn eq(&self, other: &Unmapped) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl fmt::Debug for Unmapped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// Constant pairs (fixtures, defaults) without spelling out a `Text` for each.
impl FromIterator<(&'static str, &'static str)> for Unmapped {
    fn from_iter<I: IntoIterator<Item = (&'static str, &'static str)>>(iter: I) -> Unmapped {
        iter.into_iter()
            .map(|(k, v)| (Text::from_static(k), Text::from_static(v)))
            .collect()
    }
}

impl FromIterator<(Text, Text)> for Unmapped {
    fn from_iter<I: IntoIterator<Item = (Text, Text)>>(iter: I) -> Unmapped {
        let mut u = Unmapped::new();
        for entry in iter {
            u.push(entry);
        }
        u
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_and_texts_read_the_same() {
        let line = Text::from_static("srcip=10.0.0.1 user=bob");
        let mut u = Unmapped::new();
        let base = u.add_base(line.clone()).unwrap();
        let span = |a, b| Part::Span { base, a, b };
        u.push_parts(span(0, 5), span(6, 14));
        u.push((Text::from_static("user"), Text::copy_from("bob")));
        assert_eq!(u.get("srcip"), Some("10.0.0.1"));
        assert_eq!(u.entry(1), Some(("user", "bob")));
        let same: Unmapped = [("srcip", "10.0.0.1"), ("user", "bob")]
            .into_iter()
            .collect();
        assert_eq!(u, same, "equality is by content, not by representation");
        assert_eq!(
            format!("{u:?}"),
            r#"[("srcip", "10.0.0.1"), ("user", "bob")]"#
        );
    }
}
