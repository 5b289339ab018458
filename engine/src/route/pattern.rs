//! An anchored regex (`=~` matches the whole value, as in Alertmanager) with cheap paths for the
//! shapes rules use most: a literal start or end (`fw-\d+`, `.*\.prod`) is checked with a
//! byte compare before the regex runs, and `.*X.*` on a value without a newline is an
//! unanchored search for `X`, which the regex crate runs with its literal prefilters instead
//! of stepping an automaton over the whole value.

use regex::{Regex, RegexBuilder};
use regex_syntax::hir::literal::{ExtractKind, Extractor};
use regex_syntax::hir::{Dot, Hir, HirKind};

/// Largest compiled regex (bytes of automaton), so a rules file cannot exhaust memory.
const SIZE_LIMIT: usize = 1 << 20;
/// Most literal prefixes or suffixes kept for the byte-compare check.
const MAX_AFFIXES: usize = 8;

/// A compiled `=~` pattern.
#[derive(Debug, Clone)]
pub(crate) struct Pattern {
    /// `^(?:re)$`: the exact test, and the answer when no cheap path applies.
    anchored: Regex,
    /// Every match starts with one of these.
    prefixes: Option<Box<[Box<[u8]>]>>,
    /// Every match ends with one of these.
    suffixes: Option<Box<[Box<[u8]>]>>,
    /// For `.*X.*`: `X`, unanchored (exact on values without a newline).
    inner: Option<Regex>,
}

fn build(pattern: &str) -> Result<Regex, regex::Error> {
    RegexBuilder::new(pattern).size_limit(SIZE_LIMIT).build()
}

/// The literal prefixes or suffixes every match has, when there are few and none is empty.
fn affixes(hir: &Hir, kind: ExtractKind) -> Option<Box<[Box<[u8]>]>> {
    let seq = Extractor::new().kind(kind).extract(hir);
    let lits = seq.literals()?;
    if lits.is_empty() || lits.len() > MAX_AFFIXES || lits.iter().any(|l| l.is_empty()) {
        return None;
    }
    Some(lits.iter().map(|l| Box::from(l.as_bytes())).collect())
}

/// `X` of a pattern `.*X.*` (either dot), as a pattern of its own.
fn inner_of(hir: &Hir) -> Option<String> {
    let HirKind::Concat(parts) = hir.kind() else {
        return None;
    };
    let is_dot_star = |h: &Hir| match h.kind() {
        HirKind::Repetition(r) => {
            r.min == 0
                && r.max.is_none()
                && (*r.sub == Hir::dot(Dot::AnyCharExceptLF) || *r.sub == Hir::dot(Dot::AnyChar))
        }
        _ => false,
    };
    match parts.as_slice() {
        [first, middle @ .., last]
            if !middle.is_empty() && is_dot_star(first) && is_dot_star(last) =>
        {
            Some(Hir::concat(middle.to_vec()).to_string())
        }
        _ => None,
    }
}

impl Pattern {
    /// Compiles `pattern` (the text after `=~`). The error is the regex crate's reason.
    pub(crate) fn new(pattern: &str) -> Result<Pattern, String> {
        // The pattern alone first: its errors are about what was written, and a pattern such
        // as `a)|(b` cannot escape the anchoring group.
        let reason = |e: regex::Error| {
            // The message is several lines (pattern, caret, reason): keep the reason.
            let text = e.to_string();
            text.lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("invalid")
                .trim()
                .trim_start_matches("error: ")
                .to_owned()
        };
        build(pattern).map_err(reason)?;
        let anchored = build(&format!("^(?:{pattern})$")).map_err(reason)?;
        let hir = regex_syntax::parse(pattern).ok();
        let (prefixes, suffixes, inner) = match &hir {
            Some(hir) => (
                affixes(hir, ExtractKind::Prefix),
                affixes(hir, ExtractKind::Suffix),
                inner_of(hir).and_then(|p| build(&p).ok()),
            ),
            None => (None, None, None),
        };
        Ok(Pattern {
            anchored,
            prefixes,
            suffixes,
            inner,
        })
    }

    /// Whether the whole of `s` matches.
    #[inline]
    pub(crate) fn is_match(&self, s: &str) -> bool {
        let b = s.as_bytes();
        if let Some(p) = &self.prefixes {
            if !p.iter().any(|p| b.starts_with(p)) {
                return false;
            }
        }
        if let Some(x) = &self.suffixes {
            if !x.iter().any(|x| b.ends_with(x)) {
                return false;
            }
        }
        if let Some(inner) = &self.inner {
            if memchr::memchr(b'\n', b).is_none() {
                return inner.is_match(s);
            }
        }
        self.anchored.is_match(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn finds_the_cheap_paths() {
        let p = Pattern::new(r"fw-\d+").unwrap();
        assert_eq!(p.prefixes.as_deref().map(<[_]>::len), Some(1));
        assert!(p.inner.is_none());
        assert!(p.is_match("fw-12") && !p.is_match("xfw-12") && !p.is_match("fw-12x"));
        let p = Pattern::new(r".*(panic|segfault) in worker.*").unwrap();
        assert!(p.inner.is_some() && p.prefixes.is_none());
        assert!(p.is_match("kernel: panic in worker 3"));
        assert!(!p.is_match("kernel: panic in work"));
        // `.` does not cross a newline, so the whole value does not match.
        assert!(!p.is_match("a\npanic in worker 3"));
        let p = Pattern::new(r"(?s).*panic in worker.*").unwrap();
        assert!(p.is_match("a\npanic in worker 3"));
        assert_eq!(
            Pattern::new("(oops").map(|_| ()).unwrap_err(),
            "unclosed group"
        );
        assert_eq!(
            Pattern::new("a)|(b").map(|_| ()).unwrap_err(),
            "unopened group"
        );
    }

    proptest! {
        /// The cheap paths answer as the plain anchored regex does.
        #[test]
        fn agrees_with_the_anchored_regex(
            pieces in proptest::collection::vec(prop_oneof![
                Just(".*"), Just("(?s).*"), Just("a"), Just("b+"), Just("[ab]"), Just("\\n"),
                Just("(a|bc)"), Just("x?"), Just("\\d"), Just("(?i)A"), Just("$"), Just("^"),
            ], 1..6),
            text in "[abxAB1\\n]{0,8}",
        ) {
            let pattern = pieces.concat();
            if let Ok(p) = Pattern::new(&pattern) {
                let plain = Regex::new(&format!("^(?:{pattern})$")).unwrap();
                prop_assert_eq!(p.is_match(&text), plain.is_match(&text), "{}", pattern);
            }
        }
    }
}
