//! Alert labels and Alertmanager-style label matchers.
//!
//! [`Labels`] is the label set an alert carries (entity, kind, service, ...); silences and
//! inhibition rules select alerts with [`LabelMatcher`]s written as Alertmanager users know them:
//! `name="v"`, `name!="v"`, `name=~"re"`, `name!~"re"`.

use std::collections::BTreeMap;
use std::fmt;

use regex::Regex;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A label set, kept sorted by name with one value per name.
///
/// A label with an empty value is the same as no label (Prometheus and Alertmanager semantics),
/// so [`Labels::new`] drops it; a name given twice keeps its last value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Labels(Vec<(String, String)>);

/// FNV-1a 64-bit offset basis.
const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
/// FNV-1a 64-bit prime.
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;
/// Separator hashed after every name and value: 0xff never occurs in UTF-8, so `a=bc` and
/// `ab=c` hash differently.
const SEP: u8 = 0xff;

impl Labels {
    /// Builds a label set from `(name, value)` pairs in any order.
    pub fn new<K, V>(pairs: impl IntoIterator<Item = (K, V)>) -> Labels
    where
        K: Into<String>,
        V: Into<String>,
    {
        let mut v: Vec<(String, String)> = Vec::new();
        for (k, val) in pairs {
            let (k, val) = (k.into(), val.into());
            match v.iter_mut().find(|(n, _)| *n == k) {
                Some(slot) => slot.1 = val,
                None => v.push((k, val)),
            }
        }
        v.retain(|(_, val)| !val.is_empty());
        v.sort_by(|a, b| a.0.cmp(&b.0));
        Labels(v)
    }

    /// The value of label `name`, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .binary_search_by(|(n, _)| n.as_str().cmp(name))
            .ok()
            .map(|i| self.0[i].1.as_str())
    }

    /// The labels as `(name, value)`, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// Number of labels.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there is no label.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// A stable 64-bit hash of the set: FNV-1a 64 over, for each label in name order, the name's
    /// bytes, a 0xff byte, the value's bytes, a 0xff byte. The same labels give the same value
    /// on every machine and every version, so it may be stored.
    pub fn fingerprint(&self) -> u64 {
        let mut h = FNV_OFFSET;
        let mut feed = |bytes: &[u8]| {
            for &b in bytes {
                h ^= u64::from(b);
                h = h.wrapping_mul(FNV_PRIME);
            }
        };
        for (n, v) in &self.0 {
            feed(n.as_bytes());
            feed(&[SEP]);
            feed(v.as_bytes());
            feed(&[SEP]);
        }
        h
    }
}

impl Serialize for Labels {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(n, v)| (n, v)))
    }
}

impl<'de> Deserialize<'de> for Labels {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Labels, D::Error> {
        let map = BTreeMap::<String, String>::deserialize(d)?;
        Ok(Labels::new(map))
    }
}

/// How a [`LabelMatcher`] compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MatchOp {
    /// `=`: the value equals.
    Equal,
    /// `!=`: the value differs.
    NotEqual,
    /// `=~`: the whole value matches the regex.
    Regex,
    /// `!~`: the whole value does not match the regex.
    NotRegex,
}

impl MatchOp {
    /// The operator as written: `=`, `!=`, `=~`, `!~`.
    pub fn as_str(self) -> &'static str {
        match self {
            MatchOp::Equal => "=",
            MatchOp::NotEqual => "!=",
            MatchOp::Regex => "=~",
            MatchOp::NotRegex => "!~",
        }
    }
}

/// Why a matcher's text was refused. Each message quotes the matcher.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MatcherError {
    /// Nothing but whitespace.
    #[error("empty matcher")]
    Empty,
    /// The label name is missing or has a character outside `[A-Za-z0-9_]` (or starts with a
    /// digit).
    #[error("matcher `{text}`: bad label name `{name}` (letters, digits and _ only, not starting with a digit)")]
    BadName {
        /// The matcher as given.
        text: String,
        /// The name found before the operator.
        name: String,
    },
    /// No `=`, `!=`, `=~` or `!~` after the name.
    #[error("matcher `{text}`: expected one of = != =~ !~ after the label name")]
    MissingOperator {
        /// The matcher as given.
        text: String,
    },
    /// A quoted value without its closing quote, or with a bad escape.
    #[error("matcher `{text}`: {reason}")]
    BadValue {
        /// The matcher as given.
        text: String,
        /// What is wrong with the value.
        reason: String,
    },
    /// Text after the closing quote.
    #[error("matcher `{text}`: unexpected `{rest}` after the value")]
    TrailingText {
        /// The matcher as given.
        text: String,
        /// What followed the value.
        rest: String,
    },
    /// The regex of `=~`/`!~` does not compile.
    #[error("matcher `{text}`: bad regex: {reason}")]
    BadRegex {
        /// The matcher as given.
        text: String,
        /// The regex engine's message.
        reason: String,
    },
}

/// One Alertmanager matcher: `name="v"`, `name!="v"`, `name=~"re"` or `name!~"re"`.
///
/// Regexes are anchored at both ends, as in Alertmanager (`=~"db"` does not match `db01`). An
/// absent label has the empty value, so `team=""` matches alerts without `team` and `team!=""`
/// requires it. Values may be unquoted (`team=db`) when they hold no space, quote or comma.
#[derive(Debug, Clone)]
pub struct LabelMatcher {
    name: String,
    op: MatchOp,
    value: String,
    /// The anchored regex for `=~`/`!~`.
    regex: Option<Regex>,
}

impl PartialEq for LabelMatcher {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.op == other.op && self.value == other.value
    }
}

impl LabelMatcher {
    /// Parses one matcher, e.g. `service=~"db|cache"`.
    pub fn parse(text: &str) -> Result<LabelMatcher, MatcherError> {
        let t = text.trim();
        if t.is_empty() {
            return Err(MatcherError::Empty);
        }
        let name_end = t
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(t.len());
        let name = &t[..name_end];
        let rest = t[name_end..].trim_start();
        let op_ok = rest.starts_with('=') || rest.starts_with('!');
        let bad_name = name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit());
        if bad_name || (!op_ok && !rest.is_empty()) {
            let shown = t[..t.find(['=', '!']).unwrap_or(t.len())]
                .trim()
                .to_string();
            return Err(MatcherError::BadName {
                text: t.to_string(),
                name: shown,
            });
        }
        let (op, rest) = if let Some(r) = rest.strip_prefix("=~") {
            (MatchOp::Regex, r)
        } else if let Some(r) = rest.strip_prefix("!~") {
            (MatchOp::NotRegex, r)
        } else if let Some(r) = rest.strip_prefix("!=") {
            (MatchOp::NotEqual, r)
        } else if let Some(r) = rest.strip_prefix('=') {
            (MatchOp::Equal, r)
        } else {
            return Err(MatcherError::MissingOperator {
                text: t.to_string(),
            });
        };
        let (value, rest) = parse_value(t, rest.trim_start())?;
        if !rest.trim().is_empty() {
            return Err(MatcherError::TrailingText {
                text: t.to_string(),
                rest: rest.trim().to_string(),
            });
        }
        LabelMatcher::new(name, op, &value).map_err(|e| match e {
            MatcherError::BadRegex { reason, .. } => MatcherError::BadRegex {
                text: t.to_string(),
                reason,
            },
            other => other,
        })
    }

    /// Builds a matcher from its parts (compiling the regex for `=~`/`!~`).
    pub fn new(name: &str, op: MatchOp, value: &str) -> Result<LabelMatcher, MatcherError> {
        let regex = match op {
            MatchOp::Regex | MatchOp::NotRegex => Some(
                Regex::new(&format!("^(?:{value})$")).map_err(|e| MatcherError::BadRegex {
                    text: format!("{name}{}{value:?}", op.as_str()),
                    reason: e.to_string(),
                })?,
            ),
            MatchOp::Equal | MatchOp::NotEqual => None,
        };
        Ok(LabelMatcher {
            name: name.to_string(),
            op,
            value: value.to_string(),
            regex,
        })
    }

    /// The label name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The operator.
    pub fn op(&self) -> MatchOp {
        self.op
    }

    /// The value or regex source, unquoted.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// Whether the labels satisfy the matcher; an absent label counts as the empty string.
    pub fn matches(&self, labels: &Labels) -> bool {
        self.matches_value(labels.get(&self.name).unwrap_or(""))
    }

    /// Whether a label value (empty for an absent label) satisfies the matcher.
    pub fn matches_value(&self, v: &str) -> bool {
        match (self.op, &self.regex) {
            (MatchOp::Equal, _) => v == self.value,
            (MatchOp::NotEqual, _) => v != self.value,
            (MatchOp::Regex, Some(re)) => re.is_match(v),
            (MatchOp::NotRegex, Some(re)) => !re.is_match(v),
            // `new` always compiles a regex for the regex operators.
            (MatchOp::Regex | MatchOp::NotRegex, None) => false,
        }
    }

    /// True when the matcher accepts an alert with no labels at all (`x=~".*"`, `x=""`,
    /// `x!="a"`): such matchers select too much to stand alone in a silence.
    pub fn matches_empty(&self) -> bool {
        self.matches_value("")
    }
}

/// Reads a quoted (with `\"`, `\\`, `\n` escapes) or bare value; returns it and the rest.
fn parse_value<'a>(text: &str, s: &'a str) -> Result<(String, &'a str), MatcherError> {
    let bad = |reason: &str| MatcherError::BadValue {
        text: text.to_string(),
        reason: reason.to_string(),
    };
    let Some(body) = s.strip_prefix('"') else {
        let end = s
            .find(|c: char| c.is_whitespace() || c == '"' || c == ',')
            .unwrap_or(s.len());
        return Ok((s[..end].to_string(), &s[end..]));
    };
    let mut out = String::new();
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((out, &body[i + 1..])),
            '\\' => match chars.next() {
                Some((_, '"')) => out.push('"'),
                Some((_, '\\')) => out.push('\\'),
                Some((_, 'n')) => out.push('\n'),
                Some((_, other)) => {
                    // Keep unknown escapes as written, so regex escapes like `\d` survive.
                    out.push('\\');
                    out.push(other);
                }
                None => return Err(bad("unterminated quoted value (missing closing \")")),
            },
            c => out.push(c),
        }
    }
    Err(bad("unterminated quoted value (missing closing \")"))
}

impl fmt::Display for LabelMatcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}\"", self.name, self.op.as_str())?;
        for c in self.value.chars() {
            match c {
                '"' => f.write_str("\\\"")?,
                '\n' => f.write_str("\\n")?,
                // A lone backslash is written doubled unless it starts an escape kept as
                // written (`\d`); doubling is always read back the same.
                '\\' => f.write_str("\\\\")?,
                c => write!(f, "{c}")?,
            }
        }
        f.write_str("\"")
    }
}

impl Serialize for LabelMatcher {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for LabelMatcher {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<LabelMatcher, D::Error> {
        let text = String::deserialize(d)?;
        LabelMatcher::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Whether every matcher accepts the labels (true for no matchers).
pub fn all_match(matchers: &[LabelMatcher], labels: &Labels) -> bool {
    matchers.iter().all(|m| m.matches(labels))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Any name and value written back as text parses to the same matcher.
        #[test]
        fn display_parses_back(
            name in "[a-zA-Z_][a-zA-Z0-9_]{0,12}",
            value in "\\PC{0,24}",
            op in 0usize..2,
        ) {
            let op = [MatchOp::Equal, MatchOp::NotEqual][op];
            let m = LabelMatcher::new(&name, op, &value).unwrap();
            let back = LabelMatcher::parse(&m.to_string()).unwrap();
            prop_assert_eq!(back, m);
        }

        /// Arbitrary text is a matcher or an error, never a panic.
        #[test]
        fn parse_never_panics(text in "\\PC{0,40}") {
            let _ = LabelMatcher::parse(&text);
        }
    }

    fn l(pairs: &[(&str, &str)]) -> Labels {
        Labels::new(pairs.iter().copied())
    }

    #[test]
    fn labels_sort_dedup_and_drop_empty_values() {
        let a = l(&[("z", "1"), ("a", "2"), ("z", "3"), ("e", "")]);
        let got: Vec<_> = a.iter().collect();
        assert_eq!(got, vec![("a", "2"), ("z", "3")]);
        assert_eq!(a.get("z"), Some("3"));
        assert_eq!(a.get("e"), None);
        assert_eq!(a.len(), 2);
    }

    #[test]
    fn fingerprint_is_order_independent_stable_and_separates_boundaries() {
        let a = l(&[("a", "1"), ("b", "2")]);
        let b = l(&[("b", "2"), ("a", "1")]);
        assert_eq!(a.fingerprint(), b.fingerprint());
        assert_ne!(
            l(&[("a", "bc")]).fingerprint(),
            l(&[("ab", "c")]).fingerprint()
        );
        // Fixed values: the hash must never change between versions.
        assert_eq!(Labels::default().fingerprint(), 0xcbf2_9ce4_8422_2325);
        assert_eq!(l(&[("a", "1")]).fingerprint(), {
            let mut h = FNV_OFFSET;
            for b in [b'a', 0xff, b'1', 0xff] {
                h ^= u64::from(b);
                h = h.wrapping_mul(FNV_PRIME);
            }
            h
        });
    }

    #[test]
    fn labels_serde_as_json_object() {
        let a = l(&[("service", "db"), ("env", "prod")]);
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(json, r#"{"env":"prod","service":"db"}"#);
        let back: Labels = serde_json::from_str(&json).unwrap();
        assert_eq!(back, a);
    }

    #[test]
    fn parses_all_four_operators_and_both_value_forms() {
        let m = LabelMatcher::parse(r#"service="db""#).unwrap();
        assert_eq!(
            (m.name(), m.op(), m.value()),
            ("service", MatchOp::Equal, "db")
        );
        let m = LabelMatcher::parse(r#" env != "prod" "#).unwrap();
        assert_eq!(
            (m.name(), m.op(), m.value()),
            ("env", MatchOp::NotEqual, "prod")
        );
        let m = LabelMatcher::parse(r#"host=~"db\d+""#).unwrap();
        assert_eq!((m.op(), m.value()), (MatchOp::Regex, r"db\d+"));
        let m = LabelMatcher::parse(r#"host!~"web.*""#).unwrap();
        assert_eq!(m.op(), MatchOp::NotRegex);
        let m = LabelMatcher::parse("team=net").unwrap();
        assert_eq!((m.op(), m.value()), (MatchOp::Equal, "net"));
        let m = LabelMatcher::parse(r#"msg="say \"hi\"""#).unwrap();
        assert_eq!(m.value(), r#"say "hi""#);
    }

    #[test]
    fn refuses_bad_matchers_with_readable_messages() {
        let msg = |s: &str| LabelMatcher::parse(s).unwrap_err().to_string();
        assert_eq!(msg("  "), "empty matcher");
        assert_eq!(
            msg(r#"="x""#),
            "matcher `=\"x\"`: bad label name `` (letters, digits and _ only, not starting with a digit)"
        );
        assert_eq!(
            msg(r#"se-rvice="x""#),
            "matcher `se-rvice=\"x\"`: bad label name `se-rvice` (letters, digits and _ only, not starting with a digit)"
        );
        assert_eq!(
            msg("service"),
            "matcher `service`: expected one of = != =~ !~ after the label name"
        );
        assert_eq!(
            msg(r#"a="open"#),
            "matcher `a=\"open`: unterminated quoted value (missing closing \")"
        );
        assert_eq!(
            msg(r#"a="x" b"#),
            "matcher `a=\"x\" b`: unexpected `b` after the value"
        );
        assert!(msg(r#"a=~"(""#).starts_with("matcher `a=~\"(\"`: bad regex: "));
        assert!(LabelMatcher::parse("a!x").is_err());
    }

    #[test]
    fn regexes_are_anchored_and_absent_labels_are_empty() {
        let labels = l(&[("host", "db01"), ("env", "prod")]);
        let m = |s: &str| LabelMatcher::parse(s).unwrap().matches(&labels);
        assert!(m(r#"host=~"db\d+""#));
        assert!(!m(r#"host=~"db""#), "anchored: db does not match db01");
        assert!(!m(r#"host=~"b01""#));
        assert!(
            m(r#"host=~"db.*|web.*""#),
            "alternation is anchored as a whole"
        );
        assert!(m(r#"host!~"web.*""#));
        assert!(m(r#"team="""#), "absent label equals empty");
        assert!(!m(r#"team!="""#));
        assert!(m(r#"team!="net""#));
        assert!(m(r#"team=~".*""#));
        assert!(!m(r#"team=~".+""#));
        assert!(m(r#"env="prod""#));
        assert!(!m(r#"env!="prod""#));
    }

    #[test]
    fn matches_empty_flags_catch_all_matchers() {
        let e = |s: &str| LabelMatcher::parse(s).unwrap().matches_empty();
        assert!(e(r#"a=~".*""#));
        assert!(e(r#"a="""#));
        assert!(e(r#"a!="x""#));
        assert!(!e(r#"a=~".+""#));
        assert!(!e(r#"a="x""#));
    }

    #[test]
    fn serde_writes_text_and_reads_it_back() {
        for text in [r#"a="x""#, r#"b!~"q\"z""#, r#"host=~"db\\d+""#] {
            let m = LabelMatcher::parse(text).unwrap();
            let json = serde_json::to_string(&m).unwrap();
            let back: LabelMatcher = serde_json::from_str(&json).unwrap();
            assert_eq!(back, m, "{text} via {json}");
        }
        let m = LabelMatcher::parse(r#"host=~"db\d+""#).unwrap();
        assert_eq!(m.to_string(), r#"host=~"db\\d+""#);
        let back = LabelMatcher::parse(&m.to_string()).unwrap();
        assert_eq!(back.value(), r"db\d+");
        let err = serde_json::from_str::<LabelMatcher>(r#""a=\"x""#).unwrap_err();
        assert!(err.to_string().contains("unterminated"), "{err}");
    }
}
