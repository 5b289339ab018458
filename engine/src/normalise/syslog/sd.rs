//! RFC 5424 STRUCTURED-DATA: finding where the SD elements end in a header, and reading their
//! parameters.

use std::borrow::Cow;

/// Length of the SD elements at the start of `s` (which starts with `[`), or `None` when one
/// is not terminated. Outside a quoted value only `"` and `]` matter, inside one only `"` and
/// `\\` (which escapes the byte after it): `memchr` jumps from one to the next instead of
/// looking at every byte (Check Point puts its whole record, hundreds of bytes, in the SD).
pub(super) fn sd_end(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut i = 0;
    while b.get(i) == Some(&b'[') {
        i += 1;
        loop {
            i += memchr::memchr2(b'"', b']', b.get(i..)?)?;
            i += 1;
            if b[i - 1] == b']' {
                break;
            }
            // In a quoted value: its closing quote.
            loop {
                i += memchr::memchr2(b'"', b'\\', b.get(i..)?)?;
                if b[i] == b'"' {
                    i += 1;
                    break;
                }
                i += 2;
            }
        }
    }
    Some(i)
}

/// Reads RFC 5424 STRUCTURED-DATA (the raw [`SyslogHeader::structured_data`](super::SyslogHeader::structured_data) text) as
/// `(sd_id, param_name, value)` triples in order; values are unescaped (`\"`, `\\`, `\]`) and
/// borrowed unless they held an escape. Stops quietly at the first malformed element. An
/// element without parameters yields nothing.
pub fn parse_structured_data(sd: &str) -> SdParams<'_> {
    SdParams {
        rest: sd,
        id: "",
        in_element: false,
    }
}

/// Iterator over structured data parameters; see [`parse_structured_data`].
#[derive(Debug, Clone)]
pub struct SdParams<'a> {
    rest: &'a str,
    id: &'a str,
    in_element: bool,
}

impl<'a> Iterator for SdParams<'a> {
    type Item = (&'a str, &'a str, Cow<'a, str>);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            self.rest = self.rest.trim_start_matches(' ');
            if !self.in_element {
                let r = self.rest.strip_prefix('[')?;
                let end = memchr::memchr2(b' ', b']', r.as_bytes()).unwrap_or(r.len());
                self.id = &r[..end];
                self.rest = &r[end..];
                self.in_element = true;
                continue;
            }
            if let Some(r) = self.rest.strip_prefix(']') {
                self.rest = r;
                self.in_element = false;
                continue;
            }
            let Some(eq) = find_eq_quote(self.rest.as_bytes()) else {
                self.rest = "";
                return None;
            };
            let (name, r) = (&self.rest[..eq], &self.rest[eq + 2..]);
            let b = r.as_bytes();
            let mut i = 0;
            let mut escaped = false;
            // The closing quote; a backslash escapes the byte after it (past the end: none).
            loop {
                match b.get(i..).and_then(|t| memchr::memchr2(b'"', b'\\', t)) {
                    Some(k) if b[i + k] == b'\\' => {
                        escaped = true;
                        i += k + 2;
                    }
                    Some(k) => {
                        i += k;
                        break;
                    }
                    None => {
                        i = b.len();
                        break;
                    }
                }
            }
            if i >= b.len() || name.bytes().any(|c| matches!(c, b' ' | b']' | b'"')) {
                self.rest = "";
                return None;
            }
            let raw = &r[..i];
            self.rest = &r[i + 1..];
            let value = if escaped {
                Cow::Owned(unescape_sd(raw))
            } else {
                Cow::Borrowed(raw)
            };
            return Some((self.id, name, value));
        }
    }
}

/// Where the first `="` of `b` starts. Usually (`name="value"`) the first quote follows the `=`:
/// one `memchr`. Otherwise (Check Point's `key:"value";` SD, with no `="` at all) a `memmem`
/// searcher built once reads the rest: `memmem::find` built one per call, ~500 instructions.
fn find_eq_quote(b: &[u8]) -> Option<usize> {
    static EQ_QUOTE: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"=\""));
    let q = memchr::memchr(b'"', b)?;
    if q > 0 && b[q - 1] == b'=' {
        return Some(q - 1);
    }
    // No `="` ends at or before `q` (no quote before it, no `=` just before it).
    EQ_QUOTE.find(&b[q..]).map(|p| q + p)
}

fn unescape_sd(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.clone().next() {
                Some(n @ ('"' | '\\' | ']')) => {
                    out.push(n);
                    chars.next();
                }
                _ => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::tests::parse;
    use super::*;
    use proptest::prelude::*;

    /// The byte-at-a-time definition of [`sd_end`].
    fn sd_end_reference(s: &str) -> Option<usize> {
        let b = s.as_bytes();
        let mut i = 0;
        while b.get(i) == Some(&b'[') {
            i += 1;
            let mut quoted = false;
            loop {
                match *b.get(i)? {
                    b'\\' if quoted => i += 2,
                    b'"' => {
                        quoted = !quoted;
                        i += 1;
                    }
                    b']' if !quoted => {
                        i += 1;
                        break;
                    }
                    _ => i += 1,
                }
            }
        }
        Some(i)
    }

    /// The byte-at-a-time definition of [`parse_structured_data`].
    fn params_reference(sd: &str) -> Vec<(&str, &str, Cow<'_, str>)> {
        let mut out = Vec::new();
        let (mut rest, mut id, mut in_element) = (sd, "", false);
        loop {
            rest = rest.trim_start_matches(' ');
            if !in_element {
                let Some(r) = rest.strip_prefix('[') else {
                    break;
                };
                let end = r.find([' ', ']']).unwrap_or(r.len());
                (id, rest, in_element) = (&r[..end], &r[end..], true);
                continue;
            }
            if let Some(r) = rest.strip_prefix(']') {
                (rest, in_element) = (r, false);
                continue;
            }
            let Some((name, r)) = rest.split_once("=\"") else {
                break;
            };
            let b = r.as_bytes();
            let (mut i, mut escaped) = (0, false);
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' {
                    escaped = true;
                    i += 1;
                }
                i += 1;
            }
            if i >= b.len() || name.contains([' ', ']', '"']) {
                break;
            }
            let raw = &r[..i];
            rest = &r[i + 1..];
            let value = if escaped {
                Cow::Owned(unescape_sd(raw))
            } else {
                Cow::Borrowed(raw)
            };
            out.push((id, name, value));
        }
        out
    }

    #[test]
    fn sd_end_edge_cases() {
        for (s, want) in [
            ("[", None),
            ("[]", Some(2)),
            ("[][]x", Some(4)),
            ("[a]b[c]", Some(3)),
            (r#"[a k="]"]"#, Some(9)),
            (r#"[a k="\"]"]"#, Some(11)),
            (r#"[a k="\\"]"#, Some(10)),
            (r#"[a k="v\"#, None),
            (r#"[a k="v\""#, None),
            (r#"[a k=\"]"#, None),
            (r"[a k=\]", Some(7)),
            (r#"[action:"Accept"; flags:"4"] msg"#, Some(28)),
            ("[é=\"ü\"]", Some(9)),
        ] {
            assert_eq!(sd_end(s), want, "{s}");
            assert_eq!(sd_end_reference(s), want, "{s}");
        }
    }

    #[test]
    fn the_first_eq_quote_is_found_after_any_other_quotes() {
        let naive = |b: &[u8]| b.windows(2).position(|w| w == b"=\"");
        for s in [
            "",
            "\"",
            "=",
            "=\"",
            "a=\"",
            "\"=\"",
            "\"\"a=\"",
            "=a\"",
            "k:\"v\"; =\"",
        ] {
            assert_eq!(find_eq_quote(s.as_bytes()), naive(s.as_bytes()), "{s}");
        }
        // `="` at every offset of a long text with quotes before it (the memmem path).
        for at in 0..200 {
            let mut t = "k:\"v\"; ".repeat(30).into_bytes();
            t.truncate(at);
            t.extend_from_slice(b"x=\"y\"");
            assert_eq!(find_eq_quote(&t), naive(&t), "{at}");
        }
    }

    #[test]
    fn check_point_sd_has_no_params_and_escapes_past_the_end_stop() {
        assert_eq!(
            parse_structured_data(r#"[action:"Accept"; flags:"4"]"#).count(),
            0
        );
        let v: Vec<_> = parse_structured_data(r#"[a k="x\"#).collect();
        assert!(v.is_empty());
        let v: Vec<_> = parse_structured_data(r#"[a k="x\\" j="y"]"#).collect();
        assert_eq!(
            v,
            [
                ("a", "k", Cow::Owned::<str>(r"x\".into())),
                ("a", "j", Cow::Borrowed("y"))
            ]
        );
    }

    proptest! {
        /// Both agree with their byte-at-a-time definitions on SD-shaped text.
        #[test]
        fn sd_scanning_matches_the_definition(s in r#"\[[a-z@ =\"\\\]\[é]{0,40}"#) {
            prop_assert_eq!(sd_end(&s), sd_end_reference(&s), "{:?}", s);
            let got: Vec<_> = parse_structured_data(&s).collect();
            prop_assert_eq!(got, params_reference(&s), "{:?}", s);
        }
    }

    #[test]
    fn rfc5424_sd_escapes_multiple_elements_and_ipv6_host() {
        let line = r#"<14>1 2024-01-05T10:00:00Z 2001:db8::7 app - - [a@1 x="q\"uo\]te\\" y=""][b@2][c@3 z="v w"] body"#;
        let h = parse(line);
        assert_eq!(h.hostname, Some("2001:db8::7"));
        assert_eq!(h.message, "body");
        let params: Vec<_> = parse_structured_data(h.structured_data.unwrap()).collect();
        assert_eq!(
            params,
            [
                ("a@1", "x", Cow::Owned::<str>(r#"q"uo]te\"#.into())),
                ("a@1", "y", Cow::Borrowed("")),
                ("c@3", "z", Cow::Borrowed("v w")),
            ]
        );
        let h = parse("<14>1 2024-01-05T10:00:00Z h a p m [x@1 k=\"v\"]");
        assert_eq!(h.message, "");
    }
}
