//! The template language of webhook bodies and presets, compiled once per target.
//!
//! Text is copied as is; `{{ path }}` inserts the value at `path` (empty when absent), and
//! filters after `|` transform it, left to right:
//!
//! - `json`: the value as a JSON string with quotes (`null` when absent); must come last.
//! - `default "x"`: `x` when the value is absent (or empty).
//! - `map "P1=Highest,P2=High"`: replaces a value found on the left of a pair.
//! - `truncate N`: at most N characters.
//! - `url`: percent-encodes everything but unreserved characters (RFC 3986).
//!
//! Paths are what a [`Lookup`] knows: an [`Event`]'s JSON names (`message`, `device.hostname`,
//! `unmapped.<k>`, `metrics.<k>`, `event` = the whole event as JSON) or a notification's
//! (see [`crate::notify::Notification`]). A value that is itself JSON (`event`, `alerts`,
//! `alert.labels`) is inserted raw without a filter.

use crate::schema::{class_name, json, severity, Event};
use std::fmt::Write as _;

/// Something a template can read values from.
pub trait Lookup {
    /// Appends the value at `path` to `out`; false when there is none (nothing appended).
    fn lookup(&self, path: &str, out: &mut String) -> bool;
}

/// A compiled template.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Text(String),
    Value { path: String, filters: Vec<Filter> },
}

#[derive(Debug, Clone, PartialEq)]
enum Filter {
    Json,
    Default(String),
    Map(Vec<(String, String)>),
    Truncate(usize),
    Url,
}

/// Why a template does not compile: the 1-based column (in characters) and the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("template column {column}: {message}")]
pub struct TemplateError {
    /// 1-based character column of the problem.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

impl Template {
    /// Compiles `src`; every placeholder is checked now, so rendering cannot fail.
    pub fn compile(src: &str) -> Result<Template, TemplateError> {
        let mut parts = Vec::new();
        let mut rest = 0usize;
        while let Some(open) = src[rest..].find("{{").map(|i| rest + i) {
            if open > rest {
                parts.push(Part::Text(src[rest..open].to_owned()));
            }
            let inner_start = open + 2;
            let Some(close) = src[inner_start..].find("}}").map(|i| inner_start + i) else {
                return Err(err(src, open, "`{{` is never closed by `}}`"));
            };
            parts.push(placeholder(src, inner_start, close)?);
            rest = close + 2;
        }
        if rest < src.len() {
            parts.push(Part::Text(src[rest..].to_owned()));
        }
        Ok(Template { parts })
    }

    /// Appends the template rendered over `lookup` to `out`.
    pub fn render(&self, lookup: &dyn Lookup, out: &mut String) {
        let mut value = String::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Value { path, filters } => {
                    value.clear();
                    let mut present = lookup.lookup(path, &mut value);
                    let mut as_json = false;
                    for f in filters {
                        match f {
                            Filter::Json => as_json = true,
                            Filter::Default(d) => {
                                if !present || value.is_empty() {
                                    value.clear();
                                    value.push_str(d);
                                    present = true;
                                }
                            }
                            Filter::Map(pairs) => {
                                if let Some((_, to)) = pairs.iter().find(|(from, _)| *from == value)
                                {
                                    value.clone_from(to);
                                }
                            }
                            Filter::Truncate(n) => {
                                let keep = super::truncate_chars(&value, *n).len();
                                value.truncate(keep);
                            }
                            Filter::Url => value = percent_encode(&value),
                        }
                    }
                    match (as_json, present) {
                        (true, true) => write_json_string(&value, out),
                        (true, false) => out.push_str("null"),
                        (false, _) => out.push_str(&value),
                    }
                }
            }
        }
    }

    /// The template rendered over `lookup` into a new string.
    pub fn render_to_string(&self, lookup: &dyn Lookup) -> String {
        let mut out = String::new();
        self.render(lookup, &mut out);
        out
    }
}

fn err(src: &str, byte: usize, message: impl Into<String>) -> TemplateError {
    TemplateError {
        column: src[..byte.min(src.len())].chars().count() + 1,
        message: message.into(),
    }
}

fn is_path_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
}

/// Parses the inside of `{{ ... }}` (`src[start..end]`).
fn placeholder(src: &str, start: usize, end: usize) -> Result<Part, TemplateError> {
    let mut pos = start;
    let skip_ws = |pos: &mut usize| {
        while *pos < end && src.as_bytes()[*pos].is_ascii_whitespace() {
            *pos += 1;
        }
    };
    skip_ws(&mut pos);
    let path_start = pos;
    while pos < end && src[pos..].chars().next().is_some_and(is_path_char) {
        pos += 1;
    }
    let path = &src[path_start..pos];
    if path.is_empty() {
        return Err(err(src, pos, "expected a field path like `alert.title`"));
    }
    if path.starts_with('.') || path.ends_with('.') || path.contains("..") {
        return Err(err(src, path_start, format!("bad path `{path}`")));
    }
    let mut filters = Vec::new();
    loop {
        skip_ws(&mut pos);
        if pos >= end {
            break;
        }
        if src.as_bytes()[pos] != b'|' {
            return Err(err(src, pos, "expected `|` or `}}` after the path"));
        }
        if filters.last() == Some(&Filter::Json) {
            return Err(err(src, pos, "`json` must be the last filter"));
        }
        pos += 1;
        skip_ws(&mut pos);
        let name_start = pos;
        while pos < end && src.as_bytes()[pos].is_ascii_alphabetic() {
            pos += 1;
        }
        let filter = match &src[name_start..pos] {
            "json" => Filter::Json,
            "url" => Filter::Url,
            "default" => Filter::Default(quoted(src, &mut pos, end)?),
            "map" => {
                let at = pos;
                let spec = quoted(src, &mut pos, end)?;
                Filter::Map(
                    map_pairs(&spec)
                        .ok_or_else(|| err(src, at, "`map` takes \"from=to,from=to\" pairs"))?,
                )
            }
            "truncate" => {
                skip_ws(&mut pos);
                let n_start = pos;
                while pos < end && src.as_bytes()[pos].is_ascii_digit() {
                    pos += 1;
                }
                match src[n_start..pos].parse::<usize>() {
                    Ok(n) => Filter::Truncate(n),
                    Err(_) => return Err(err(src, n_start, "`truncate` takes a number")),
                }
            }
            "" => return Err(err(src, name_start, "expected a filter name after `|`")),
            other => {
                return Err(err(
                    src,
                    name_start,
                    format!("unknown filter `{other}` (known: json, default, map, truncate, url)"),
                ))
            }
        };
        filters.push(filter);
    }
    Ok(Part::Value {
        path: path.to_owned(),
        filters,
    })
}

/// A `"..."` argument (with `\"` and `\\` escapes) starting after optional whitespace.
fn quoted(src: &str, pos: &mut usize, end: usize) -> Result<String, TemplateError> {
    while *pos < end && src.as_bytes()[*pos].is_ascii_whitespace() {
        *pos += 1;
    }
    if *pos >= end || src.as_bytes()[*pos] != b'"' {
        return Err(err(src, *pos, "expected a quoted argument"));
    }
    let open = *pos;
    let mut out = String::new();
    let mut chars = src[open + 1..end].char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => {
                *pos = open + 1 + i + 1;
                return Ok(out);
            }
            '\\' => match chars.next() {
                Some((_, e)) => out.push(e),
                None => break,
            },
            c => out.push(c),
        }
    }
    Err(err(src, open, "unterminated quoted argument"))
}

fn map_pairs(spec: &str) -> Option<Vec<(String, String)>> {
    spec.split(',')
        .map(|pair| {
            let (from, to) = pair.split_once('=')?;
            Some((from.trim().to_owned(), to.trim().to_owned()))
        })
        .collect()
}

/// Appends `s` as a JSON string (quotes included).
pub fn write_json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// Event paths: the names of the event's JSON form (`time`, `message`, `severity`,
/// `severity_id`, `class_uid`, `class_name`, `activity_name`, `status`, `disposition`,
/// `src_endpoint.ip|port|hostname`, `dst_endpoint.*`, `actor.user.name`,
/// `connection_info.protocol_name`, `device.hostname|ip`, `metadata.product.name|vendor_name`,
/// `metadata.event_code|uid|logged_time`, `tocsin.source|entity|score`, `unmapped.<k>`,
/// `metrics.<k>`), plus `event`: the whole event as JSON.
impl Lookup for Event {
    fn lookup(&self, path: &str, out: &mut String) -> bool {
        fn put(out: &mut String, v: impl std::fmt::Display) -> bool {
            let _ = write!(out, "{v}");
            true
        }
        fn opt(out: &mut String, v: Option<impl std::fmt::Display>) -> bool {
            v.is_some_and(|v| put(out, v))
        }
        let endpoint = |e: &crate::schema::Endpoint, field: &str, out: &mut String| match field {
            "ip" => opt(out, e.ip),
            "port" => opt(out, e.port),
            "hostname" => opt(out, e.hostname.as_ref().map(|h| h.as_str())),
            _ => false,
        };
        match path {
            "time" => put(out, self.time),
            "message" => !self.message.is_empty() && put(out, self.message.as_str()),
            "severity" => put(out, severity::name(self.severity_id)),
            "severity_id" => put(out, self.severity_id),
            "class_uid" => put(out, self.class_uid),
            "class_name" => put(out, class_name(self.class_uid)),
            "activity_name" => opt(out, self.activity_name),
            "status" => put(out, self.status.as_str()),
            "disposition" => opt(out, self.disposition),
            "actor.user.name" => opt(out, self.user.as_ref().map(|u| u.as_str())),
            "connection_info.protocol_name" => opt(out, self.protocol),
            "device.hostname" => opt(out, self.device.hostname),
            "device.ip" => opt(out, self.device.ip),
            "metadata.product.name" => opt(out, self.product),
            "metadata.product.vendor_name" => opt(out, self.vendor),
            "metadata.event_code" => opt(out, self.event_code),
            "metadata.uid" => opt(out, self.uid.as_ref().map(|u| u.as_str())),
            "metadata.logged_time" => put(out, self.logged_time_ms()),
            "tocsin.source" => opt(out, self.source),
            "tocsin.entity" => opt(out, self.entity),
            "tocsin.score" => opt(out, self.score.as_ref().map(|s| s.score)),
            "event" => {
                let mut bytes = Vec::with_capacity(512);
                json::write_event(self, &mut bytes);
                out.push_str(&String::from_utf8_lossy(&bytes));
                true
            }
            _ => {
                if let Some(f) = path.strip_prefix("src_endpoint.") {
                    endpoint(&self.src, f, out)
                } else if let Some(f) = path.strip_prefix("dst_endpoint.") {
                    endpoint(&self.dst, f, out)
                } else if let Some(k) = path.strip_prefix("unmapped.") {
                    opt(out, self.unmapped_value(k))
                } else if let Some(k) = path.strip_prefix("metrics.") {
                    opt(out, self.metric(k))
                } else {
                    false
                }
            }
        }
    }
}

/// A lookup that answers `var.<k>` from a list of variables and everything else from `inner`
/// (presets read their configuration fields this way).
#[derive(Debug, Clone, Copy)]
pub struct WithVars<'a, L: ?Sized> {
    /// The variables (`var.<name>`).
    pub vars: &'a [(String, String)],
    /// Everything else.
    pub inner: &'a L,
}

impl<L: Lookup + ?Sized> Lookup for WithVars<'_, L> {
    fn lookup(&self, path: &str, out: &mut String) -> bool {
        match path.strip_prefix("var.") {
            Some(k) => match self.vars.iter().find(|(name, _)| name == k) {
                Some((_, v)) => {
                    out.push_str(v);
                    true
                }
                None => false,
            },
            None => self.inner.lookup(path, out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{Symbol, Text};

    fn event() -> Event {
        let mut e = Event {
            time: 1_700_000_000_000,
            severity_id: 4,
            message: Text::copy_from("login \"failed\"\nfor root"),
            ..Event::default()
        };
        e.device.hostname = Some(Symbol::intern("web-1"));
        e.src.ip = Some("10.0.0.7".parse().unwrap());
        e.entity = Some(Symbol::intern("web-1"));
        e.metrics.push((Symbol::intern("cpu_pct"), 93.5));
        e.unmapped
            .push((Text::copy_from("rule"), Text::copy_from("ssh-42")));
        e
    }

    fn render(src: &str, e: &dyn Lookup) -> String {
        Template::compile(src).unwrap().render_to_string(e)
    }

    #[test]
    fn renders_event_paths_with_and_without_filters() {
        let e = event();
        assert_eq!(
            render(
                "{{device.hostname}} {{ src_endpoint.ip }} {{ severity }} {{metrics.cpu_pct}} {{ unmapped.rule }} {{ tocsin.entity }}",
                &e
            ),
            "web-1 10.0.0.7 High 93.5 ssh-42 web-1"
        );
        assert_eq!(
            render(r#"{"m":{{ message | json }},"u":{{ nope | json }}}"#, &e),
            r#"{"m":"login \"failed\"\nfor root","u":null}"#
        );
        assert_eq!(render("[{{ nope }}]", &e), "[]");
        assert_eq!(render(r#"{{ nope | default "n/a" }}"#, &e), "n/a");
        assert_eq!(
            render(r#"{{ nope | default "x\"y" | json }}"#, &e),
            r#""x\"y""#
        );
        assert_eq!(render("{{ message | truncate 5 }}", &e), "login");
        assert_eq!(render("{{ device.hostname | url }}/a b", &e), "web-1/a b");
        let whole: serde_json::Value = serde_json::from_str(&render("{{event}}", &e)).unwrap();
        assert_eq!(whole["device"]["hostname"], "web-1");
    }

    #[test]
    fn map_and_url_filters() {
        let n = crate::notify::tests::sample();
        assert_eq!(
            render(
                r#"{{ alert.priority | map "P1=Highest,P2=High" | json }}"#,
                &n
            ),
            r#""Highest""#
        );
        assert_eq!(
            render(r#"{{ alert.priority_number | map "3=x" }}"#, &n),
            "1"
        );
        assert_eq!(render("{{ group_key | url }}", &n), "team%3Dsec");
    }

    #[test]
    fn vars_shadow_nothing_but_var_paths() {
        let n = crate::notify::tests::sample();
        let vars = vec![("project_key".to_owned(), "OPS".to_owned())];
        let l = WithVars {
            vars: &vars,
            inner: &n,
        };
        assert_eq!(
            render("{{ var.project_key }}/{{ alert.entity }}/{{ var.x }}", &l),
            "OPS/web-1/"
        );
    }

    #[test]
    fn compile_errors_carry_the_column() {
        let e = |s: &str| Template::compile(s).unwrap_err();
        assert_eq!(e("ab {{ x").column, 4);
        assert!(e("ab {{ x").message.contains("never closed"));
        assert_eq!(e("{{ }}").column, 4);
        assert_eq!(e("{{ a | upper }}").column, 8);
        assert!(e("{{ a | upper }}")
            .message
            .contains("unknown filter `upper`"));
        assert_eq!(e("{{ a b }}").column, 6);
        assert_eq!(e("{{ a | json | default \"x\" }}").column, 13);
        assert_eq!(e("{{ a | default x }}").column, 16);
        assert_eq!(e("{{ a | truncate }}").column, 17);
        assert_eq!(e("{{ a..b }}").column, 4);
        assert_eq!(e("é{{ a | map \"P1\" }}").column, 12);
        assert!(Template::compile("plain } text }}").is_ok());
    }
}
