//! Finding where a field path (`sources[1].listen`) sits in the TOML source text.
//!
//! The document is walked with serde along the path, skipping everything else, and the value
//! at the end is read as a [`toml::Spanned`]. Some tables have no span (the implicit `m` of a
//! dotted key `m.x = 1`); then, and when the path does not exist (a missing or defaulted
//! field), the nearest enclosing value that does is used: for a missing field that is its
//! table, whose span starts at the table's `[header]`.

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::fmt;
use std::ops::Range;
use toml::Spanned;

/// One step of a field path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Seg {
    /// A table key.
    Key(String),
    /// An array index.
    Index(usize),
}

/// Splits `sources[1].listen` into `[Key(sources), Index(1), Key(listen)]`.
pub(crate) fn parse_path(field: &str) -> Vec<Seg> {
    let mut out = Vec::new();
    for part in field.split('.').filter(|p| !p.is_empty()) {
        let (key, mut rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !key.is_empty() {
            out.push(Seg::Key(key.to_owned()));
        }
        while let Some(inner) = rest.strip_prefix('[') {
            let Some(end) = inner.find(']') else { break };
            match inner[..end].parse() {
                Ok(n) => out.push(Seg::Index(n)),
                Err(_) => break,
            }
            rest = &inner[end + 1..];
        }
    }
    out
}

/// Byte range in `src` of the value at `path`, or of its nearest located ancestor below the
/// document root; `None` when not even the first step is in the document.
pub(crate) fn locate(src: &str, path: &[Seg]) -> Option<Range<usize>> {
    (1..=path.len()).rev().find_map(|n| {
        Locator(&path[..n])
            .deserialize(toml::Deserializer::new(src))
            .ok()
            .flatten()
    })
}

/// 1-based (line, column) of byte `offset` in `src`; the column counts characters.
pub(crate) fn line_col(src: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(src.len());
    while !src.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &src[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// Walks the remaining path; `Ok(None)` when the path is not in the document.
struct Locator<'p>(&'p [Seg]);

impl<'de> DeserializeSeed<'de> for Locator<'_> {
    type Value = Option<Range<usize>>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        if self.0.is_empty() {
            let spanned: Spanned<IgnoredAny> = serde::Deserialize::deserialize(d)?;
            Ok(Some(spanned.span()))
        } else {
            d.deserialize_any(self)
        }
    }
}

impl<'de> Visitor<'de> for Locator<'_> {
    type Value = Option<Range<usize>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any TOML value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let want = match self.0.first() {
            Some(Seg::Index(n)) => Some(*n),
            _ => None,
        };
        let mut found = None;
        let mut i = 0;
        loop {
            if want == Some(i) {
                match seq.next_element_seed(Locator(&self.0[1..]))? {
                    Some(r) => found = r,
                    None => break,
                }
            } else if seq.next_element::<IgnoredAny>()?.is_none() {
                break;
            }
            i += 1;
        }
        Ok(found)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        while let Some(key) = map.next_key::<String>()? {
            match self.0.first() {
                Some(Seg::Key(want)) if *want == key && found.is_none() => {
                    found = map.next_value_seed(Locator(&self.0[1..]))?;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(found)
    }
}
