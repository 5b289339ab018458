//! RFC 5424 STRUCTURED-DATA: finding where the SD elements end in a header, and reading their
//! parameters.

use std::borrow::Cow;

/// Length of the SD elements at the start of `s` (which starts with `[`), or `None` when one
/// is not terminated.
pub(super) fn sd_end(s: &str) -> Option<usize> {
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
                let end = r.find([' ', ']']).unwrap_or(r.len());
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
            let Some((name, r)) = self.rest.split_once("=\"") else {
                self.rest = "";
                return None;
            };
            let b = r.as_bytes();
            let mut i = 0;
            let mut escaped = false;
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' {
                    escaped = true;
                    i += 1;
                }
                i += 1;
            }
            if i >= b.len() || name.contains([' ', ']', '"']) {
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
