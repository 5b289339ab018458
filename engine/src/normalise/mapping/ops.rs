//! Parser operators, compiled once from their spec and run on a [`Record`] per line: regex,
//! dissect, kv, csv, json, set, rename, copy, map, convert, drop. An operator that finds nothing
//! leaves the record unchanged and reports it did not match.

use super::fastmatch::FastMatch;
use super::record::{Key, Names, Record, Val};
use super::spec::OpSpec;
use super::timefmt::{parse_time, parse_zone, TimeFormat};
use bytescan::Finder;
use rustc_hash::FxHashMap as HashMap;

mod bytescan;

/// A compiled operator.
#[derive(Debug)]
pub struct Op {
    field: Key,
    if_field: Option<Key>,
    if_value: Option<String>,
    if_missing: Option<Key>,
    /// When it matches nothing, the rule stops and the line counts as unmapped.
    pub required: bool,
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    Regex(Box<RegexOp>),
    Dissect {
        prefix: String,
        parts: DissectParts,
    },
    Kv {
        sep: u8,
        delim: u8,
        quote: Option<u8>,
        prefix: String,
        /// Per name number of a key the line may hold, the field it is renamed to.
        renamed: Vec<Option<Key>>,
    },
    Csv {
        delim: u8,
        columns: Vec<Option<Key>>,
        layout_column: Option<usize>,
        layouts: HashMap<String, Vec<Option<Key>>>,
    },
    Json(Box<super::json_op::JsonOp>),
    Set {
        template: Vec<Piece>,
    },
    Rename {
        to: Key,
    },
    Copy {
        to: Key,
    },
    Map {
        values: MapValues,
        to: Key,
        default: Option<Const>,
        ignore_case: bool,
    },
    Convert {
        conv: Conv,
        to: Key,
    },
    Drop {
        fields: Vec<Key>,
    },
}

/// The table of a `map` operator (keys lower-cased when it ignores case). Most tables hold a
/// handful of short words: those are compared in place (by length first, case folded as the
/// bytes are compared), with no hashing and no lower-cased copy of the value; larger tables
/// are hashed.
#[derive(Debug)]
enum MapValues {
    Small(Vec<(Box<[u8]>, Const)>),
    Large(HashMap<Box<[u8]>, Const>),
}

/// The most entries a `map` table compares in place.
const MAP_SMALL: usize = 16;

impl MapValues {
    fn new(values: HashMap<String, Const>) -> MapValues {
        let small = values.len() <= MAP_SMALL;
        let entries = values
            .into_iter()
            .map(|(k, v)| (k.into_bytes().into_boxed_slice(), v));
        if small {
            MapValues::Small(entries.collect())
        } else {
            MapValues::Large(entries.collect())
        }
    }

    /// The value for `key` (compared ignoring ASCII case when `fold`; the table's keys are
    /// lower-case then).
    #[inline]
    fn get(&self, key: &[u8], fold: bool) -> Option<&Const> {
        match self {
            MapValues::Large(large) => {
                if fold && key.iter().any(u8::is_ascii_uppercase) {
                    let lower: smallvec::SmallVec<[u8; 64]> =
                        key.iter().map(u8::to_ascii_lowercase).collect();
                    return large.get(&lower[..]);
                }
                large.get(key)
            }
            // `eq_ignore_ascii_case` compares lengths first.
            MapValues::Small(small) => small.iter().find_map(|(k, v)| {
                let same = if fold {
                    key.eq_ignore_ascii_case(k)
                } else {
                    **k == *key
                };
                same.then_some(v)
            }),
        }
    }
}

#[derive(Debug)]
enum Piece {
    Lit(Const),
    Field(Key),
}

#[derive(Debug)]
enum Conv {
    Int,
    Ip,
    Timestamp { format: TimeFormat, zone: i64 },
    Lowercase,
    Uppercase,
    Trim,
}

/// A constant of a compiled operator: interned, so a record holds it as a `'static` slice (no
/// copy, no reference count).
type Const = &'static str;

fn text(s: &str) -> Const {
    crate::schema::Symbol::intern(s).as_str()
}

fn one_byte(spec: &Option<String>, default: u8, what: &str) -> Result<u8, String> {
    match spec.as_deref() {
        None => Ok(default),
        Some(s) if s.len() == 1 => Ok(s.as_bytes()[0]),
        Some("\\t") => Ok(b'\t'),
        Some(s) => Err(format!("{what} must be one ASCII character, got {s:?}")),
    }
}

fn column_list(cols: &[String], names: &mut Names) -> Vec<Option<Key>> {
    cols.iter()
        .map(|c| (!c.is_empty()).then(|| names.key(c)))
        .collect()
}

impl Op {
    /// Compiles an operator spec, numbering the field names it uses in `names`; the error
    /// says what is wrong with it.
    pub fn compile(spec: &OpSpec, names: &mut Names) -> Result<Op, String> {
        let need = |v: &Option<String>, key: &str| {
            v.clone()
                .ok_or_else(|| format!("op {:?} needs `{key}`", spec.op))
        };
        let field = spec.field.clone().unwrap_or_else(|| "message".to_owned());
        let kind = match spec.op.as_str() {
            "regex" => Kind::Regex(Box::new(RegexOp::compile(spec, names)?)),
            "dissect" => {
                let pattern = need(&spec.pattern, "pattern")?;
                let (prefix, parts) = compile_dissect(&pattern, names)?;
                Kind::Dissect { prefix, parts }
            }
            "kv" => Kind::Kv {
                sep: one_byte(&spec.separator, b' ', "separator")?,
                delim: one_byte(&spec.delimiter, b'=', "delimiter")?,
                quote: match spec.quote.as_deref() {
                    Some("") => None,
                    _ => Some(one_byte(&spec.quote, b'"', "quote")?),
                },
                prefix: spec.prefix.clone().unwrap_or_default(),
                renamed: {
                    let mut renamed = Vec::new();
                    for (k, v) in &spec.keys {
                        let (from, to) = (names.key(k), names.key(v));
                        let i = usize::from(from.slot);
                        if renamed.len() <= i {
                            renamed.resize(i + 1, None);
                        }
                        renamed[i] = Some(to);
                    }
                    renamed
                },
            },
            "csv" => {
                if spec.columns.is_empty() && spec.layouts.is_empty() {
                    return Err("csv needs `columns` or `layout_column` with `layouts`".into());
                }
                if !spec.layouts.is_empty() && spec.layout_column.is_none() {
                    return Err("csv `layouts` need `layout_column`".into());
                }
                Kind::Csv {
                    delim: one_byte(&spec.delimiter, b',', "delimiter")?,
                    columns: column_list(&spec.columns, names),
                    layout_column: spec.layout_column,
                    layouts: spec
                        .layouts
                        .iter()
                        .map(|(k, v)| (k.clone(), column_list(v, names)))
                        .collect(),
                }
            }
            "json" => {
                let mut paths = Vec::new();
                for (to, pointer) in &spec.paths {
                    if !(pointer.is_empty() || pointer.starts_with('/')) {
                        return Err(format!("JSON pointer {pointer:?} must start with '/'"));
                    }
                    let segs = pointer
                        .split('/')
                        .skip(1)
                        .map(|s| s.replace("~1", "/").replace("~0", "~"))
                        .collect();
                    paths.push((names.key(to), segs));
                }
                let keep_rest = match spec.rest.as_deref() {
                    None | Some("unmapped") => true,
                    Some("drop") => false,
                    Some(o) => return Err(format!("json `rest` must be unmapped or drop, got {o:?}")),
                };
                Kind::Json(Box::new(super::json_op::JsonOp::new(paths, keep_rest)))
            }
            "set" => Kind::Set { template: compile_template(&need(&spec.value, "value")?, names)? },
            "rename" => Kind::Rename { to: names.key(&need(&spec.to, "to")?) },
            "copy" => Kind::Copy { to: names.key(&need(&spec.to, "to")?) },
            "map" => {
                if spec.values.is_empty() {
                    return Err("map needs `values`".into());
                }
                let ignore_case = spec.ignore_case.unwrap_or(true);
                let values: HashMap<String, Const> = spec
                    .values
                    .iter()
                    .map(|(k, v)| (if ignore_case { k.to_ascii_lowercase() } else { k.clone() }, text(v)))
                    .collect();
                Kind::Map {
                    values: MapValues::new(values),
                    to: names.key(spec.to.as_deref().unwrap_or(&field)),
                    default: spec.default.as_deref().map(text),
                    ignore_case,
                }
            }
            "convert" => {
                let conv = match need(&spec.kind, "type")?.as_str() {
                    "int" | "integer" => Conv::Int,
                    "ip" => Conv::Ip,
                    "lowercase" => Conv::Lowercase,
                    "uppercase" => Conv::Uppercase,
                    "trim" => Conv::Trim,
                    "timestamp" => Conv::Timestamp {
                        format: TimeFormat::parse(spec.format.as_deref().unwrap_or("rfc3339"))?,
                        zone: match spec.timezone.as_deref() {
                            None => 0,
                            Some(z) => parse_zone(z).ok_or_else(|| format!("bad timezone {z:?}: use UTC or +HH:MM"))?,
                        },
                    },
                    other => return Err(format!("unknown convert type {other:?}: int, ip, timestamp, lowercase, uppercase, trim")),
                };
                Kind::Convert { conv, to: names.key(spec.to.as_deref().unwrap_or(&field)) }
            }
            "drop" => {
                if spec.fields.is_empty() {
                    return Err("drop needs `fields`".into());
                }
                Kind::Drop { fields: spec.fields.iter().map(|f| names.key(f)).collect() }
            }
            other => {
                return Err(format!(
                    "unknown op {other:?}: regex, dissect, kv, csv, json, set, rename, copy, map, convert, drop"
                ))
            }
        };
        if spec.if_value.is_some() && spec.if_field.is_none() {
            return Err("`if_value` needs `if_field`".into());
        }
        Ok(Op {
            field: names.key(&field),
            if_field: spec.if_field.as_deref().map(|f| names.key(f)),
            if_value: spec.if_value.clone(),
            if_missing: spec.if_missing.as_deref().map(|f| names.key(f)),
            required: spec.required,
            kind,
        })
    }

    /// True for operators that extract fields (their success makes a line "mapped").
    pub fn extracts(&self) -> bool {
        matches!(
            self.kind,
            Kind::Regex(_)
                | Kind::Dissect { .. }
                | Kind::Kv { .. }
                | Kind::Csv { .. }
                | Kind::Json(_)
        )
    }

    /// Runs on `rec`; false when the operator was skipped or found nothing.
    ///
    /// Only the conditions are checked here (inlined into the loop over a rule's operators:
    /// most operators of a mapping are skipped on a given line); the work is out of line.
    #[inline]
    pub fn run(&self, rec: &mut Record<'_>, reference_ms: i64) -> bool {
        if let Some(absent) = self.if_missing {
            if rec.has(absent) {
                return false;
            }
        }
        if let Some(cond) = self.if_field {
            match (rec.get(cond), &self.if_value) {
                (None, _) => return false,
                (Some(v), Some(want)) if rec.str(v) != want.as_str() => return false,
                _ => {}
            }
        }
        if let Kind::Set { template } = &self.kind {
            return self.set(rec, template);
        }
        // An operator whose input field is absent is skipped here too.
        match rec.get(self.field) {
            Some(v) => self.run_checked(rec, v, reference_ms),
            None => false,
        }
    }

    /// `set`: the template's value.
    #[inline(never)]
    fn set(&self, rec: &mut Record<'_>, template: &[Piece]) -> bool {
        if let [Piece::Lit(t)] = template {
            rec.set(self.field, Val::Static(t));
            return true;
        }
        // Appending to the scratch text leaves the values already there in place, so the
        // fields are read as the pieces are appended.
        let start = rec.scratch_len();
        for piece in template {
            match piece {
                Piece::Lit(t) => rec.append(Val::Static(t)),
                Piece::Field(f) => {
                    if let Some(v) = rec.get(*f) {
                        rec.append(v);
                    }
                }
            }
        }
        let v = rec.scratch_from(start);
        rec.set(self.field, v);
        true
    }

    /// [`Op::run`] once its conditions hold and its input field `v` is there.
    #[inline(never)]
    fn run_checked(&self, rec: &mut Record<'_>, v: Val, reference_ms: i64) -> bool {
        // A line span or a constant is read in place; scratch text is copied to the record's
        // input buffer first (the operator may append to the scratch text as it runs).
        let scratch = matches!(v, Val::Scratch(..));
        let mut buf = String::new();
        if scratch {
            buf = rec.take_input_buf();
        }
        let s = match rec.outside(v) {
            Some(s) => s,
            None => rec.input(v, &mut buf),
        };
        let matched = self.run_on(rec, v, s, reference_ms);
        if scratch {
            rec.give_input_buf(buf);
        }
        matched
    }

    /// Runs an operator that reads field value `v` (text `s`).
    fn run_on(&self, rec: &mut Record<'_>, v: Val, s: &str, reference_ms: i64) -> bool {
        match &self.kind {
            Kind::Regex(re) => re.run(rec, v, s),
            Kind::Dissect { prefix, parts } => dissect(rec, v, s, prefix, parts),
            Kind::Kv {
                sep,
                delim,
                quote,
                prefix,
                renamed,
            } => kv(rec, v, s, *sep, *delim, *quote, prefix, renamed),
            Kind::Csv {
                delim,
                columns,
                layout_column,
                layouts,
            } => csv(rec, v, s, *delim, columns, *layout_column, layouts),
            Kind::Json(op) => op.run(rec, v, s),
            Kind::Set { template } => self.set(rec, template),
            Kind::Rename { to } => {
                rec.remove(self.field);
                rec.set(*to, v);
                true
            }
            Kind::Copy { to } => {
                rec.set(*to, v);
                true
            }
            Kind::Map {
                values,
                to,
                default,
                ignore_case,
            } => {
                let key = super::record::trim(s);
                match values
                    .get(key.as_bytes(), *ignore_case)
                    .or(default.as_ref())
                {
                    Some(out) => {
                        rec.set(*to, Val::Static(out));
                        true
                    }
                    None => false,
                }
            }
            Kind::Convert { conv, to } => {
                let out = match conv {
                    Conv::Int => {
                        let t = super::record::trim(s);
                        let canonical = !t.is_empty()
                            && t.len() < 19
                            && t.bytes().all(|b| b.is_ascii_digit())
                            && (t.len() == 1 || !t.starts_with('0'));
                        if canonical {
                            Some(rec.part(v, t))
                        } else {
                            t.parse::<i64>()
                                .ok()
                                .map(|n| rec.owned(itoa::Buffer::new().format(n)))
                        }
                    }
                    Conv::Ip => {
                        // The address as written (assign parses it again into the event).
                        let t = super::record::trim(s).trim_matches(|c| c == '[' || c == ']');
                        let ok = super::assign::ipv4(t.as_bytes()).is_some()
                            || crate::normalise::base::parse_ip(t).is_some();
                        ok.then(|| rec.part(v, t))
                    }
                    Conv::Timestamp { format, zone } => parse_time(s, format, *zone, reference_ms)
                        .map(|ms| rec.owned(itoa::Buffer::new().format(ms))),
                    Conv::Lowercase => Some(rec.owned(&s.to_lowercase())),
                    Conv::Uppercase => Some(rec.owned(&s.to_uppercase())),
                    Conv::Trim => Some(rec.part(v, super::record::trim(s))),
                };
                match out {
                    Some(out) => {
                        rec.set(*to, out);
                        true
                    }
                    None => false,
                }
            }
            Kind::Drop { fields } => {
                for f in fields {
                    rec.remove(*f);
                }
                true
            }
        }
    }
}

/// A compiled `regex` operator: one pattern, or several searched in a single pass.
///
/// Two rewrites make the common shapes cheaper, both exact:
/// - A pattern ending in `(?P<x>.*)$` is searched without that tail, and `x` is set to the rest
///   of the text after the match. `.` matches anything but `\n` and `$` is the end of the text,
///   so on a rest without `\n` the tail always matches and the shorter pattern takes the same
///   path; on a rest with a `\n` the original patterns are searched instead.
/// - When every capture of every pattern spans its whole match (`^(?P<ip>...)$`), the match is
///   found without captures (a lazy DFA scan instead of the one-pass or backtracking engine).
#[derive(Debug)]
struct RegexOp {
    /// The patterns searched: tails stripped.
    re: Search,
    /// Per pattern: the field of its stripped trailing `(?P<x>.*)$`, set to the rest of the text.
    tails: Vec<Option<Key>>,
    /// The patterns as written, when a tail was stripped: searched when the rest holds a `\n`.
    full: Option<Search>,
}

/// A compiled set of patterns and how their captures become fields.
#[derive(Debug)]
struct Search {
    re: regex_automata::meta::Regex,
    /// Per pattern: (slot of the group's start, field).
    names: Vec<Vec<(usize, Key)>>,
    slots: usize,
    /// Per pattern, when each capture spans the whole match: the field set to the match
    /// (`None` for a pattern without captures). `None` when some capture does not.
    whole: Option<Vec<Option<Key>>>,
    /// When every pattern is one the direct byte matcher takes (see [`FastMatch`]): per
    /// pattern its matcher and (slot of the group's start, field); run on ASCII text.
    fast: Option<Vec<Fast>>,
}

/// A pattern's direct matcher and, per named group, (slot of its start, field).
type Fast = (FastMatch, Vec<(usize, Key)>);

/// A pattern's trailing `(?P<name>.*)$` (a greedy or lazy `.*` that does not match `\n`, then
/// the end of the text), found in its syntax tree: the pattern without it and the name.
pub(super) fn strip_tail(pattern: &str) -> Option<(&str, String)> {
    use regex_syntax::hir::{Class, HirKind, Look};
    let hir = regex_syntax::Parser::new().parse(pattern).ok()?;
    let HirKind::Concat(parts) = hir.kind() else {
        return None;
    };
    let [.., cap, end] = parts.as_slice() else {
        return None;
    };
    if !matches!(end.kind(), HirKind::Look(Look::End)) {
        return None;
    }
    let HirKind::Capture(cap) = cap.kind() else {
        return None;
    };
    let name = cap.name.as_deref()?.to_owned();
    let HirKind::Repetition(rep) = cap.sub.kind() else {
        return None;
    };
    let any_but_lf = regex_syntax::hir::ClassUnicode::new([
        regex_syntax::hir::ClassUnicodeRange::new('\0', '\x09'),
        regex_syntax::hir::ClassUnicodeRange::new('\x0B', char::MAX),
    ]);
    match rep.sub.kind() {
        HirKind::Class(Class::Unicode(c))
            if rep.min == 0 && rep.max.is_none() && *c == any_but_lf => {}
        _ => return None,
    }
    // The tree says the pattern ends in such a group; the text must end in its usual spelling.
    let stripped = pattern.strip_suffix(&format!("(?P<{name}>.*)$"))?;
    let rest = regex_syntax::Parser::new().parse(stripped).ok()?;
    let groups = |h: &regex_syntax::hir::Hir| h.properties().explicit_captures_len();
    (groups(&rest) + 1 == groups(&hir)).then_some((stripped, name))
}

/// True when the pattern's only capture spans its whole match: the capture, with at most
/// zero-width assertions (`^`, `$`, `\b`) around it.
fn capture_is_whole_match(pattern: &str) -> bool {
    use regex_syntax::hir::HirKind;
    let Ok(hir) = regex_syntax::Parser::new().parse(pattern) else {
        return false;
    };
    if hir.properties().explicit_captures_len() != 1 {
        return false;
    }
    match hir.kind() {
        HirKind::Capture(_) => true,
        HirKind::Concat(parts) => parts
            .iter()
            .all(|h| matches!(h.kind(), HirKind::Capture(_) | HirKind::Look(_))),
        _ => false,
    }
}

impl Search {
    fn compile(patterns: &[&str], fields: &mut Names) -> Result<Search, String> {
        let re = regex_automata::meta::Regex::new_many(patterns)
            .map_err(|e| format!("bad regex: {e}"))?;
        let info = re.group_info();
        let mut names = Vec::with_capacity(patterns.len());
        let mut whole = Some(Vec::with_capacity(patterns.len()));
        let mut fast = Some(Vec::with_capacity(patterns.len()));
        for (pid, pattern) in patterns.iter().enumerate() {
            let pid = regex_automata::PatternID::new(pid).map_err(|e| e.to_string())?;
            let mut these = Vec::new();
            let mut by_group = Vec::new();
            for (group, name) in info.pattern_names(pid).enumerate() {
                if let (Some(name), Some((start, _))) = (name, info.slots(pid, group)) {
                    these.push((start, fields.key(name)));
                    by_group.push((group * 2, fields.key(name)));
                }
            }
            fast = fast.and_then(|mut f| {
                f.push((FastMatch::new(pattern)?, by_group));
                Some(f)
            });
            whole = whole.and_then(|mut w| {
                match these.as_slice() {
                    [] if info.group_len(pid) == 1 => w.push(None),
                    [(_, k)] if capture_is_whole_match(pattern) => w.push(Some(*k)),
                    _ => return None,
                }
                Some(w)
            });
            names.push(these);
        }
        Ok(Search {
            slots: info.slot_len(),
            re,
            names,
            whole,
            fast,
        })
    }

    /// Searches `s`, sets the captured fields; the matched pattern and the end of its match.
    #[inline]
    fn run(&self, rec: &mut Record<'_>, v: Val, s: &str) -> Option<(usize, usize)> {
        if let Some(fast) = &self.fast {
            if s.is_ascii() {
                return Self::run_fast(fast, rec, v, s);
            }
        }
        let input = regex_automata::Input::new(s);
        if let Some(whole) = &self.whole {
            let m = self.re.search(&input)?;
            if let Some(name) = whole[m.pattern().as_usize()] {
                let part = rec.part(v, &s[m.range()]);
                rec.set(name, part);
            }
            return Some((m.pattern().as_usize(), m.end()));
        }
        // The record's slot buffer, reused from operator to operator and line to line.
        let mut slots = rec.take_slots();
        slots.clear();
        slots.resize(self.slots, None);
        let found = self.re.search_slots(&input, &mut slots).map(|pid| {
            let pid = pid.as_usize();
            for (start, name) in &self.names[pid] {
                if let (Some(a), Some(b)) = (slots[*start], slots[*start + 1]) {
                    let part = rec.part(v, &s[a.get()..b.get()]);
                    rec.set(*name, part);
                }
            }
            // Slot 1 of a pattern (its implicit group's end) is the end of the match.
            let end = slots[pid * 2 + 1].map_or(s.len(), |e| e.get());
            (pid, end)
        });
        rec.give_slots(slots);
        found
    }

    /// [`Search::run`] by the direct matchers, on ASCII text: the patterns are all anchored at
    /// the start, so the first that matches is the one the regex reports.
    fn run_fast(fast: &[Fast], rec: &mut Record<'_>, v: Val, s: &str) -> Option<(usize, usize)> {
        let mut slots = rec.take_slots();
        let mut found = None;
        for (pid, (m, names)) in fast.iter().enumerate() {
            slots.clear();
            slots.resize(m.slots, None);
            if let Some(end) = m.run(s.as_bytes(), &mut slots) {
                for (start, name) in names {
                    if let (Some(a), Some(b)) = (slots[*start], slots[*start + 1]) {
                        let part = rec.part(v, &s[a.get()..b.get()]);
                        rec.set(*name, part);
                    }
                }
                found = Some((pid, end));
                break;
            }
        }
        rec.give_slots(slots);
        found
    }
}

impl RegexOp {
    fn compile(spec: &OpSpec, fields: &mut Names) -> Result<RegexOp, String> {
        let patterns: Vec<&str> = match (&spec.pattern, spec.patterns.is_empty()) {
            (Some(p), true) => vec![p.as_str()],
            (None, false) => spec.patterns.iter().map(String::as_str).collect(),
            (Some(_), false) => return Err("regex takes `pattern` or `patterns`, not both".into()),
            (None, true) => return Err("op \"regex\" needs `pattern`".into()),
        };
        // Check each alone first, so an error names the pattern that is wrong.
        for (i, p) in patterns.iter().enumerate() {
            if let Err(e) = regex_syntax::Parser::new().parse(p) {
                return Err(if patterns.len() == 1 {
                    format!("bad regex: {e}")
                } else {
                    format!("bad regex (patterns[{i}]): {e}")
                });
            }
        }
        let ascii: Vec<String> = patterns.iter().map(|p| ascii_classes(p)).collect();
        let ascii: Vec<&str> = ascii.iter().map(String::as_str).collect();
        let full = Search::compile(&ascii, fields)?;
        for (pid, these) in full.names.iter().enumerate() {
            if these.is_empty() {
                return Err(if patterns.len() == 1 {
                    "regex has no named capture (?P<name>...)".into()
                } else {
                    format!("regex patterns[{pid}] has no named capture (?P<name>...)")
                });
            }
        }
        let stripped: Vec<Option<(&str, String)>> = ascii.iter().map(|p| strip_tail(p)).collect();
        if stripped.iter().all(Option::is_none) {
            return Ok(RegexOp {
                re: full,
                tails: Vec::new(),
                full: None,
            });
        }
        let short: Vec<&str> = ascii
            .iter()
            .zip(&stripped)
            .map(|(p, st)| st.as_ref().map_or(*p, |(short, _)| *short))
            .collect();
        Ok(RegexOp {
            re: Search::compile(&short, fields)?,
            tails: stripped
                .iter()
                .map(|st| st.as_ref().map(|(_, name)| fields.key(name)))
                .collect(),
            full: Some(full),
        })
    }

    fn run(&self, rec: &mut Record<'_>, v: Val, s: &str) -> bool {
        let Some(full) = &self.full else {
            return self.re.run(rec, v, s).is_some();
        };
        // A text with a `\n` may not be matched by `.*$`: the full patterns decide.
        if memchr::memchr(b'\n', s.as_bytes()).is_some() {
            return full.run(rec, v, s).is_some();
        }
        let found = self.re.run(rec, v, s);
        if let Some((pid, end)) = found {
            if let Some(tail) = self.tails[pid] {
                let part = rec.part(v, &s[end..]);
                rec.set(tail, part);
            }
        }
        found.is_some()
    }
}

/// Log formats are ASCII: `\d`, `\w` and `\b` in a mapping mean their ASCII forms. Unicode
/// digit and word classes hold hundreds of ranges, which keep a pattern out of the one-pass
/// engine (a 15-group line regex took 1.4 us instead of 0.4 us) and make `\b` quit the DFA on
/// any non-ASCII byte. Other classes (`\s`, `\S`, `.`, `[^x]`) stay Unicode-aware.
pub(super) fn ascii_classes(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut chars = pattern.chars().peekable();
    // Depth of `[...]` nesting; a `]` right after `[` or `[^` is a literal.
    let mut depth = 0usize;
    let mut class_start = false;
    while let Some(c) = chars.next() {
        let at_start = std::mem::take(&mut class_start);
        match c {
            '\\' => match chars.next() {
                Some('d') if depth > 0 => out.push_str("0-9"),
                Some('w') if depth > 0 => out.push_str("0-9A-Za-z_"),
                Some('d') => out.push_str("[0-9]"),
                Some('w') => out.push_str("[0-9A-Za-z_]"),
                Some('b') if depth == 0 => out.push_str("(?-u:\\b)"),
                Some(e) => {
                    out.push('\\');
                    out.push(e);
                }
                None => out.push('\\'),
            },
            '[' => {
                out.push('[');
                depth += 1;
                class_start = true;
                if chars.peek() == Some(&'^') {
                    out.push('^');
                    chars.next();
                }
            }
            ']' if depth > 0 && !at_start => {
                out.push(']');
                depth -= 1;
            }
            other => out.push(other),
        }
    }
    out
}

fn compile_template(v: &str, names: &mut Names) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut rest = v;
    while let Some(open) = rest.find('{') {
        if open > 0 {
            pieces.push(Piece::Lit(text(&rest[..open])));
        }
        let close = rest[open..]
            .find('}')
            .ok_or_else(|| format!("unclosed {{ in {v:?}"))?
            + open;
        pieces.push(Piece::Field(names.key(&rest[open + 1..close])));
        rest = &rest[close + 1..];
    }
    if !rest.is_empty() {
        pieces.push(Piece::Lit(text(rest)));
    }
    Ok(pieces)
}

/// `%{a} literal %{b}`: the literal before the first key, then (key, delimiter after it).
/// A dissect pattern's parts: (field, or `None` to skip; the delimiter after it).
type DissectParts = Vec<(Option<Key>, String)>;

fn compile_dissect(p: &str, names: &mut Names) -> Result<(String, DissectParts), String> {
    let mut parts = Vec::new();
    let first = p.find("%{").ok_or("dissect pattern has no %{key}")?;
    let prefix = p[..first].to_owned();
    let mut rest = &p[first..];
    while let Some(stripped) = rest.strip_prefix("%{") {
        let close = stripped.find('}').ok_or("unclosed %{ in dissect pattern")?;
        let key = &stripped[..close];
        let after = &stripped[close + 1..];
        let next = after.find("%{").unwrap_or(after.len());
        let delim = after[..next].to_owned();
        let name = (!key.is_empty() && !key.starts_with('?')).then(|| names.key(key));
        parts.push((name, delim));
        rest = &after[next..];
        if !rest.is_empty() && parts.last().is_some_and(|(_, d)| d.is_empty()) {
            return Err("two %{} keys with no delimiter between them".into());
        }
    }
    Ok((prefix, parts))
}

fn dissect(
    rec: &mut Record<'_>,
    v: Val,
    s: &str,
    prefix: &str,
    parts: &[(Option<Key>, String)],
) -> bool {
    let Some(mut rest) = s.strip_prefix(prefix) else {
        return false;
    };
    let mut found: smallvec::SmallVec<[(Key, &str); 16]> = smallvec::SmallVec::new();
    for (i, (name, delim)) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        let (value, after) = if delim.is_empty() {
            (rest, "")
        } else if last && rest.ends_with(delim.as_str()) {
            (&rest[..rest.len() - delim.len()], "")
        } else {
            match rest.find(delim.as_str()) {
                Some(at) => (&rest[..at], &rest[at + delim.len()..]),
                None => return false,
            }
        };
        // Repeated delimiters (padding) are skipped.
        let mut after = after;
        if delim == " " {
            after = after.trim_start_matches(' ');
        }
        if let Some(name) = name {
            found.push((*name, value));
        }
        rest = after;
    }
    for (k, value) in found {
        let part = rec.part(v, value);
        rec.set(k, part);
    }
    true
}

#[allow(clippy::too_many_arguments)]
fn kv(
    rec: &mut Record<'_>,
    v: Val,
    s: &str,
    sep: u8,
    delim: u8,
    quote: Option<u8>,
    prefix: &str,
    renamed: &[Option<Key>],
) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    let mut any = false;
    let q = quote.unwrap_or(delim);
    // Every delimiter, separator, quote and backslash, found in one pass over the line; each
    // search below skips the kinds it does not stop at.
    let mut hits = Finder::new(b, [delim, sep, q, b'\\']);
    let mut next_of = |from: usize, x: u8, y: u8| {
        let mut from = from;
        while let Some(p) = hits.find(from) {
            if b[p] == x || b[p] == y {
                return p;
            }
            from = p + 1;
        }
        b.len()
    };
    while i < b.len() {
        while i < b.len() && (b[i] == sep || b[i] == b' ') {
            i += 1;
        }
        let key_start = i;
        i = next_of(i, delim, sep);
        if i >= b.len() || b[i] != delim || i == key_start {
            // A token without a delimiter, or a delimiter with no key: skip it (always moving
            // on, so `=x` cannot stall the scan).
            if i == key_start {
                i += 1;
            }
            continue;
        }
        let key = super::record::trim(&s[key_start..i]);
        i += 1;
        let (va, vb, next) = if quote.is_some() && b.get(i) == Some(&q) {
            let start = i + 1;
            let mut j = start;
            // The closing quote, stepping over backslash escapes.
            while j < b.len() {
                let p = next_of(j, q, b'\\');
                if p < b.len() && b[p] != q {
                    j = p + 2;
                } else {
                    j = p;
                    break;
                }
            }
            let end = j.min(b.len());
            (start, end, (end + 1).min(b.len()))
        } else {
            let start = i;
            let j = next_of(i, sep, sep);
            let plain_end = j == start || matches!(b[j - 1], 0x21..=0x7f);
            let end = if plain_end {
                j
            } else {
                start + s[start..j].trim_end().len()
            };
            (start, end, j)
        };
        i = next;
        if key.is_empty() {
            continue;
        }
        any = true;
        if va == vb {
            continue;
        }
        let value = rec.sub(v, s, va, vb);
        // One fingerprint of the key serves the mapping's names and the record's own index.
        let h = super::record::key_hash(key.as_bytes());
        let named = rec.names().find_hashed(key, h);
        if let Some(k) = named {
            if let Some(Some(to)) = renamed.get(usize::from(k.slot)) {
                rec.set(*to, value);
                continue;
            }
        }
        if prefix.is_empty() {
            match named {
                Some(k) => rec.set(k, value),
                None => {
                    // `key` is a slice of `s` (trimmed), so it always has offsets in it.
                    let name = match crate::schema::offsets_in(b, key.as_bytes()) {
                        Some(r) => rec.sub(v, s, r.start, r.end),
                        None => rec.owned(key),
                    };
                    rec.set_other(h, name, value);
                }
            }
        } else {
            let name = rec.build(|out| {
                out.push_str(prefix);
                out.push_str(key);
            });
            rec.set_named(name, value, false);
        }
    }
    any
}

/// One CSV cell: bytes `a..b` of the text; `escaped` when it was quoted with `""` inside
/// (its text is then those bytes with each `""` read as `"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cell {
    a: usize,
    b: usize,
    escaped: bool,
}

impl Cell {
    /// The cell's text: borrowed, unless `""` escapes had to be undone.
    fn text<'a>(&self, s: &'a str) -> std::borrow::Cow<'a, str> {
        let t = &s[self.a..self.b];
        if self.escaped {
            std::borrow::Cow::Owned(t.replace("\"\"", "\""))
        } else {
            std::borrow::Cow::Borrowed(t)
        }
    }
}

/// The cells of one CSV line (quotes with `""` escapes), in order, found in one pass over the
/// separators and quotes ([`Finder`]); no cell is copied.
struct Cells<'h> {
    b: &'h [u8],
    find: Finder<'h, 2>,
    delim: u8,
    /// Where the next cell starts; `None` once the last cell was read.
    at: Option<usize>,
}

impl<'h> Cells<'h> {
    fn new(s: &'h str, delim: u8) -> Self {
        let b = s.as_bytes();
        Cells {
            b,
            find: Finder::new(b, [delim, b'"']),
            delim,
            at: Some(0),
        }
    }

    /// The first separator at or after `from` (quotes skipped), or the end.
    #[inline(always)]
    fn delim_from(&mut self, mut from: usize) -> usize {
        while let Some(p) = self.find.find(from) {
            if self.b[p] == self.delim {
                return p;
            }
            from = p + 1;
        }
        self.b.len()
    }
}

impl Iterator for Cells<'_> {
    type Item = Cell;

    #[inline(always)]
    fn next(&mut self) -> Option<Cell> {
        let i = self.at?;
        let b = self.b;
        let (cell, end) = if b.get(i) == Some(&b'"') {
            // Quoted: up to the quote that is not doubled, separators inside kept; anything
            // between the closing quote and the next separator is dropped.
            let a = i + 1;
            let mut j = a;
            let mut escaped = false;
            let close = loop {
                match self.find.find(j) {
                    None => break b.len(),
                    Some(p) if b[p] == b'"' => {
                        if b.get(p + 1) == Some(&b'"') {
                            escaped = true;
                            j = p + 2;
                        } else {
                            break p;
                        }
                    }
                    Some(p) => j = p + 1,
                }
            };
            let cell = Cell {
                a,
                b: close,
                escaped,
            };
            (cell, self.delim_from(close + 1))
        } else {
            let end = self.delim_from(i);
            let cell = Cell {
                a: i,
                b: end,
                escaped: false,
            };
            (cell, end)
        };
        // After a final separator comes one more, empty, cell.
        self.at = (end < b.len()).then_some(end + 1);
        Some(cell)
    }
}

/// The `csv` operator on text `s` (of field value `v`): only named, non-empty columns become
/// fields (a PAN-OS line has ~100 columns, most skipped or empty). The cells are read only as
/// far as the column list goes.
fn csv(
    rec: &mut Record<'_>,
    v: Val,
    s: &str,
    delim: u8,
    columns: &[Option<Key>],
    layout_column: Option<usize>,
    layouts: &HashMap<String, Vec<Option<Key>>>,
) -> bool {
    let mut cells = Cells::new(s, delim);
    // The cells up to the layout column, read first to pick the column list.
    let mut head: smallvec::SmallVec<[Cell; 8]> = smallvec::SmallVec::new();
    let cols = match layout_column {
        Some(i) => {
            head.extend(cells.by_ref().take(i + 1));
            match head.get(i).and_then(|c| layouts.get(c.text(s).as_ref())) {
                Some(cols) => cols,
                None if !columns.is_empty() => columns,
                None => return false,
            }
        }
        None => columns,
    };
    let (named, rest) = cols.split_at(head.len().min(cols.len()));
    for (name, cell) in named.iter().zip(head) {
        csv_cell(rec, v, s, name, cell);
    }
    for (name, cell) in rest.iter().zip(cells) {
        csv_cell(rec, v, s, name, cell);
    }
    true
}

/// Sets column `name` (`None`: skipped) to `cell` of text `s` (of value `v`) unless it is empty.
#[inline(always)]
fn csv_cell(rec: &mut Record<'_>, v: Val, s: &str, name: &Option<Key>, cell: Cell) {
    let Some(name) = name else {
        return;
    };
    if cell.a >= cell.b {
        return;
    }
    let value = if cell.escaped {
        rec.build(|out| {
            let mut rest = &s[cell.a..cell.b];
            while let Some(q) = rest.find("\"\"") {
                out.push_str(&rest[..=q]);
                rest = &rest[q + 2..];
            }
            out.push_str(rest);
        })
    } else {
        rec.sub(v, s, cell.a, cell.b)
    };
    rec.set(*name, value);
}

#[cfg(test)]
mod tests {
    use super::super::record::seed_key;
    use super::*;

    fn op(names: &mut Names, toml_src: &str) -> Op {
        let spec: OpSpec = toml::from_str(toml_src).unwrap();
        Op::compile(&spec, names).unwrap()
    }

    fn rec<'a>(names: &'a Names, msg: &'a str) -> Record<'a> {
        let mut r = Record::new(msg, names);
        r.set_str(seed_key(0), msg);
        r
    }

    #[test]
    fn regex_names_may_be_ocsf_paths() {
        let mut names = Names::default();
        let o = op(
            &mut names,
            r#"op = "regex"
pattern = 'from (?P<src_endpoint.ip>\S+) port (?P<src_endpoint.port>\d+)'"#,
        );
        let mut r = rec(
            &names,
            "Accepted password for bob from 10.0.0.1 port 22 ssh2",
        );
        assert!(o.run(&mut r, 0));
        assert_eq!(r.lookup("src_endpoint.ip").unwrap(), "10.0.0.1");
        assert_eq!(r.lookup("src_endpoint.port").unwrap(), "22");
        assert!(!o.run(&mut rec(&names, "nothing here"), 0));
    }

    #[test]
    fn perl_classes_are_ascii() {
        let mut names = Names::default();
        assert_eq!(
            ascii_classes(r"^\d+ \w+\b"),
            r"^[0-9]+ [0-9A-Za-z_]+(?-u:\b)"
        );
        assert_eq!(
            ascii_classes(r"[\d.:]+ [^\w\]]"),
            r"[0-9.:]+ [^0-9A-Za-z_\]]"
        );
        assert_eq!(ascii_classes(r"[]\d] \\d \s\S"), r"[]0-9] \\d \s\S");
        let o = op(
            &mut names,
            r#"op = "regex"
pattern = '^(?P<n>\d+) (?P<w>\w+)\b'"#,
        );
        let mut r = rec(&names, "42 abc_9 tail");
        assert!(o.run(&mut r, 0));
        assert_eq!(r.lookup("n").unwrap(), "42");
        assert_eq!(r.lookup("w").unwrap(), "abc_9");
        assert!(
            !o.run(&mut rec(&names, "\u{664}\u{662} x"), 0),
            "Arabic-Indic digits are not \\d"
        );
    }

    #[test]
    fn regex_patterns_take_the_first_that_matches() {
        let mut names = Names::default();
        let o = op(
            &mut names,
            r#"op = "regex"
patterns = ['^Accepted (?P<method>\S+) for (?P<user>\S+)', '^Failed (?P<method>\S+) for (?P<user>\S+) from (?P<ip>\S+)', '^(?P<any>.+)$']"#,
        );
        let mut r = rec(&names, "Failed password for root from 10.0.0.9 port 22");
        assert!(o.run(&mut r, 0));
        assert_eq!(r.lookup("user").unwrap(), "root");
        assert_eq!(r.lookup("ip").unwrap(), "10.0.0.9");
        assert!(
            r.lookup("any").is_none(),
            "only the first matching pattern applies"
        );
        let mut r = rec(&names, "Accepted publickey for bob");
        assert!(o.run(&mut r, 0));
        assert_eq!(r.lookup("method").unwrap(), "publickey");
        assert!(r.lookup("ip").is_none());
        let mut r = rec(&names, "something else");
        assert!(o.run(&mut r, 0));
        assert_eq!(r.lookup("any").unwrap(), "something else");
        let spec: OpSpec =
            toml::from_str("op = \"regex\"\npatterns = ['(?P<a>x)', '(unclosed']").unwrap();
        assert!(Op::compile(&spec, &mut Names::default())
            .unwrap_err()
            .contains("patterns[1]"));
    }

    #[test]
    fn trailing_any_captures_are_the_rest_of_the_text() {
        assert_eq!(
            strip_tail(r"^(?P<a>[0-9]+):\s?(?P<msg>.*)$"),
            Some((r"^(?P<a>[0-9]+):\s?", "msg".to_owned()))
        );
        assert_eq!(strip_tail("(?P<m>.*)$"), Some(("", "m".to_owned())));
        // Not the tail shape, or `.`/`$` with another meaning: kept as written.
        for p in [
            r"^(?P<a>x)(?P<m>.+)$",
            r"^(?P<a>x)(?P<m>.*)",
            r"^(?P<a>x)(?P<m>.*?)\s*$",
            r"(?s)^(?P<a>x)(?P<m>.*)$",
            r"(?m)^(?P<a>x)(?P<m>.*)$",
            r"(?R)^(?P<a>x)(?P<m>.*)$",
            r"^a|(?P<m>.*)$",
            r"^(?P<a>x)(?:(?P<m>.*)$)",
        ] {
            assert_eq!(strip_tail(p), None, "{p}");
        }
        let mut names = Names::default();
        let o = op(
            &mut names,
            r#"op = "regex"
patterns = ['^(?P<n>[0-9]+) (?:(?P<w>[a-z]+) )?(?P<rest>.*)$', '^(?P<x>x)$']"#,
        );
        for (line, n, w, rest) in [
            ("12 ab cd é", Some("12"), Some("ab"), Some("cd é")),
            ("12 ", Some("12"), None, Some("")),
            ("12 ab ", Some("12"), Some("ab"), Some("")),
            ("12 AB", Some("12"), None, Some("AB")),
            ("x12 a", None, None, None),
            // `.` does not match `\n`, so a line with one is read as the full pattern reads it.
            ("12 ab\ncd", None, None, None),
            ("x", None, None, None),
        ] {
            let mut r = rec(&names, line);
            let matched = o.run(&mut r, 0);
            assert_eq!(matched, n.is_some() || line == "x", "{line:?}");
            assert_eq!(r.lookup("n"), n, "{line:?}");
            assert_eq!(r.lookup("w"), w, "{line:?}");
            assert_eq!(r.lookup("rest"), rest, "{line:?}");
            assert_eq!(r.lookup("x").is_some(), line == "x", "{line:?}");
        }
        // Every offset of a `\n`: matched only where the full pattern matches.
        let o = op(
            &mut names,
            r#"op = "regex"
pattern = '(?:^|\s)%(?P<tag>[A-Z]+): ?(?P<body>.*)$'"#,
        );
        let line = "host : %ASA: body text";
        for i in 0..=line.len() {
            let with_lf = format!("{}\n{}", &line[..i], &line[i..]);
            let full =
                regex_automata::meta::Regex::new(r"(?:^|\s)%(?P<tag>[A-Z]+): ?(?P<body>.*)$")
                    .unwrap();
            let mut caps = full.create_captures();
            full.captures(with_lf.as_str(), &mut caps);
            let group = |name| {
                caps.get_group_by_name(name)
                    .map(|m| with_lf[m.range()].to_owned())
            };
            let want = caps
                .is_match()
                .then(|| (group("tag").unwrap(), group("body").unwrap()));
            let mut r = rec(&names, &with_lf);
            let got = o.run(&mut r, 0).then(|| {
                (
                    r.lookup("tag").unwrap().to_owned(),
                    r.lookup("body").unwrap().to_owned(),
                )
            });
            assert_eq!(got, want, "{with_lf:?}");
        }
    }

    #[test]
    fn whole_match_captures_are_found_without_captures() {
        assert!(capture_is_whole_match(r"^(?P<ip>[0-9.]+|[0-9a-f:]+)$"));
        assert!(capture_is_whole_match(r"(?P<v>[A-Z][a-z]+)"));
        assert!(capture_is_whole_match(r"(?-u:\b)(?P<v>[a-z]+)$"));
        assert!(!capture_is_whole_match(r"/(?P<v>[a-z]+)$"));
        assert!(!capture_is_whole_match(r"^(?P<v>[a-z]+)(x)$"));
        assert!(!capture_is_whole_match(r"^(?P<v>(?P<w>[a-z])+)$"));
        let mut names = Names::default();
        let o = op(
            &mut names,
            r#"op = "regex"
patterns = ['^(?P<ip>[0-9]{1,3}(?:\.[0-9]{1,3}){3}|[0-9A-Fa-f]{0,4}:[0-9A-Fa-f:.]+)$', '^host (?P<rest>.*)$']"#,
        );
        let mut r = rec(&names, "10.0.0.1");
        assert!(o.run(&mut r, 0));
        assert_eq!(r.lookup("ip").unwrap(), "10.0.0.1");
        let mut r = rec(&names, "host a b");
        assert!(o.run(&mut r, 0));
        assert!(r.lookup("ip").is_none());
        assert_eq!(r.lookup("rest").unwrap(), "a b");
        assert!(!o.run(&mut rec(&names, "10.0.0.1 x"), 0));
        assert!(!o.run(&mut rec(&names, ""), 0));
        let mut names = Names::default();
        let o = op(
            &mut names,
            r#"op = "regex"
pattern = '/(?P<verb>[A-Za-z]+)$'"#,
        );
        let mut r = rec(&names, "a/b/Write");
        assert!(o.run(&mut r, 0));
        assert_eq!(r.lookup("verb").unwrap(), "Write");
    }

    #[test]
    fn kv_handles_quotes_and_empty_values() {
        let mut names = Names::default();
        let o = op(
            &mut names,
            r#"op = "kv"
keys = { srcip = "src_endpoint.ip" }"#,
        );
        let mut r = rec(
            &names,
            r#"date=2024-03-01 devname="FW 1" srcip=10.0.0.1 empty= msg="a \"quoted\" word" last=x "#,
        );
        assert!(o.run(&mut r, 0));
        assert_eq!(r.lookup("devname").unwrap(), "FW 1");
        assert_eq!(r.lookup("src_endpoint.ip").unwrap(), "10.0.0.1");
        assert!(r.lookup("empty").is_none());
        assert_eq!(r.lookup("msg").unwrap(), r#"a \"quoted\" word"#);
        assert_eq!(r.lookup("last").unwrap(), "x");
        // A delimiter with no key before it is skipped, not looped on.
        let mut r = rec(&names, "=x a=1 = b==2 ==");
        assert!(o.run(&mut r, 0));
        assert_eq!(r.lookup("a").unwrap(), "1");
        assert_eq!(r.lookup("b").unwrap(), "=2");
    }

    #[test]
    fn csv_layouts_pick_columns_by_type() {
        let mut names = Names::default();
        let o = op(
            &mut names,
            r#"op = "csv"
layout_column = 1
layouts = { TRAFFIC = ["", "_type", "src_endpoint.ip"], THREAT = ["", "_type", "", "threat"] }"#,
        );
        let mut r = rec(&names, r#"1,TRAFFIC,10.0.0.1,"quoted, with ""comma""""#);
        assert!(o.run(&mut r, 0));
        assert_eq!(r.lookup("src_endpoint.ip").unwrap(), "10.0.0.1");
        let mut r = rec(&names, r#"1,THREAT,x,"a ""b"", c""#);
        assert!(o.run(&mut r, 0));
        assert_eq!(r.lookup("threat").unwrap(), r#"a "b", c"#);
        assert!(!o.run(&mut rec(&names, "1,OTHER,x"), 0));
    }

    #[test]
    fn dissect_splits_on_literals() {
        let mut names = Names::default();
        let o = op(
            &mut names,
            r#"op = "dissect"
pattern = '%{src_endpoint.ip} %{?ident} %{actor.user.name} [%{_time}] "%{_request}" %{_code} %{_bytes}'"#,
        );
        let mut r = rec(
            &names,
            r#"10.0.0.1 - bob [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 200 2326"#,
        );
        assert!(o.run(&mut r, 0));
        assert_eq!(r.lookup("actor.user.name").unwrap(), "bob");
        assert_eq!(r.lookup("_time").unwrap(), "10/Oct/2000:13:55:36 -0700");
        assert_eq!(r.lookup("_bytes").unwrap(), "2326");
        assert!(r.lookup("ident").is_none());
    }

    #[test]
    fn map_convert_set_rename_drop() {
        let mut names = Names::default();
        let ops = [
            op(
                &mut names,
                r#"op = "map"
field = "_action"
to = "status"
values = { accept = "Success", deny = "Failure" }"#,
            ),
            op(
                &mut names,
                r#"op = "convert"
field = "_t"
to = "time"
type = "timestamp"
format = "%Y/%m/%d %H:%M:%S"
timezone = "+01:00""#,
            ),
            op(
                &mut names,
                r#"op = "set"
field = "activity"
value = "{_action}-x""#,
            ),
            op(
                &mut names,
                r#"op = "rename"
field = "activity"
to = "activity_name""#,
            ),
            op(
                &mut names,
                r#"op = "drop"
fields = ["activity_name", "_t"]"#,
            ),
        ];
        let mut r = rec(&names, "x");
        r.set_named(Val::Static("_action"), Val::Static("ACCEPT"), false);
        r.set_named(Val::Static("_t"), Val::Static("2024/03/01 12:00:00"), false);
        ops[0].run(&mut r, 0);
        assert_eq!(r.lookup("status").unwrap(), "Success");
        ops[1].run(&mut r, 0);
        assert_eq!(r.lookup("time").unwrap(), "1709290800000");
        ops[2].run(&mut r, 0);
        assert_eq!(r.lookup("activity").unwrap(), "ACCEPT-x");
        ops[3].run(&mut r, 0);
        assert!(r.lookup("activity").is_none());
        assert_eq!(r.lookup("activity_name").unwrap(), "ACCEPT-x");
        ops[4].run(&mut r, 0);
        assert!(r.lookup("activity_name").is_none() && r.lookup("_t").is_none());
    }

    #[test]
    fn conditions_gate_operators() {
        let mut names = Names::default();
        let o = op(
            &mut names,
            r#"op = "set"
field = "x"
value = "y"
if_field = "_proto"
if_value = "tcp""#,
        );
        let unless = op(
            &mut names,
            r#"op = "set"
field = "z"
value = "fallback"
if_missing = "_syslog.hostname""#,
        );
        let mut r = rec(&names, "m");
        assert!(!o.run(&mut r, 0));
        r.set_named(Val::Static("_proto"), Val::Static("udp"), false);
        assert!(!o.run(&mut r, 0));
        r.set_named(Val::Static("_proto"), Val::Static("tcp"), false);
        assert!(o.run(&mut r, 0));
        assert_eq!(r.lookup("x").unwrap(), "y");
        let mut r = rec(&names, "m");
        assert!(unless.run(&mut r, 0));
        assert_eq!(r.lookup("z").unwrap(), "fallback");
        let mut r = rec(&names, "m");
        r.set_named(Val::Static("_syslog.hostname"), Val::Static("h"), false);
        assert!(!unless.run(&mut r, 0));
        assert!(r.lookup("z").is_none());
    }

    #[test]
    fn bad_specs_are_refused_with_a_reason() {
        for (src, want) in [
            ("op = \"regex\"\npattern = '(unclosed'", "bad regex"),
            ("op = \"regex\"\npattern = 'no names'", "named capture"),
            ("op = \"frobnicate\"", "unknown op"),
            (
                "op = \"convert\"\ntype = \"timestamp\"\nformat = \"%Q\"",
                "unsupported directive",
            ),
            ("op = \"csv\"", "columns"),
        ] {
            let spec: OpSpec = toml::from_str(src).unwrap();
            let err = Op::compile(&spec, &mut Names::default()).unwrap_err();
            assert!(err.contains(want), "{src}: {err}");
        }
    }

    // The splitting operators as they were before bytescan::Finder (a memchr call per field):
    // the new ones must find the same fields.
    enum OldCell {
        Span(usize, usize),
        Owned(String),
    }

    #[allow(clippy::all)]
    fn old_split_csv(s: &str, delim: u8) -> Vec<OldCell> {
        let b = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        loop {
            if b.get(i) == Some(&b'"') {
                let mut j = i + 1;
                let mut owned = String::new();
                let mut start = j;
                while j < b.len() {
                    if b[j] == b'"' {
                        if b.get(j + 1) == Some(&b'"') {
                            owned.push_str(&s[start..=j]);
                            j += 2;
                            start = j;
                            continue;
                        }
                        break;
                    }
                    j += 1;
                }
                owned.push_str(&s[start..j.min(b.len())]);
                out.push(OldCell::Owned(owned));
                i = j + 1;
                while i < b.len() && b[i] != delim {
                    i += 1;
                }
            } else {
                let from = i.min(b.len());
                let end = memchr::memchr(delim, &b[from..]).map_or(b.len(), |e| from + e);
                out.push(OldCell::Span(from, end));
                i = end;
            }
            if i >= b.len() {
                break;
            }
            i += 1;
            if i == b.len() {
                out.push(OldCell::Span(i, i));
                break;
            }
        }
        out
    }

    #[allow(clippy::too_many_arguments, clippy::all)]
    fn old_kv(
        rec: &mut Record<'_>,
        v: Val,
        s: &str,
        sep: u8,
        delim: u8,
        quote: Option<u8>,
        prefix: &str,
        renamed: &[Option<Key>],
    ) -> bool {
        let b = s.as_bytes();
        let mut i = 0;
        let mut any = false;
        while i < b.len() {
            while i < b.len() && (b[i] == sep || b[i] == b' ') {
                i += 1;
            }
            let key_start = i;
            i = memchr::memchr2(delim, sep, &b[i..]).map_or(b.len(), |p| i + p);
            if i >= b.len() || b[i] != delim || i == key_start {
                // A token without a delimiter, or a delimiter with no key: skip it (always moving
                // on, so `=x` cannot stall the scan).
                if i == key_start {
                    i += 1;
                }
                continue;
            }
            let key = super::super::record::trim(&s[key_start..i]);
            i += 1;
            let (value, next) = if quote.is_some_and(|q| b.get(i) == Some(&q)) {
                let q = b[i];
                let start = i + 1;
                let mut j = start;
                // The closing quote, stepping over backslash escapes.
                while j < b.len() {
                    match memchr::memchr2(q, b'\\', &b[j..]) {
                        Some(p) if b[j + p] == q => {
                            j += p;
                            break;
                        }
                        Some(p) => j += p + 2,
                        None => j = b.len(),
                    }
                }
                let end = j.min(b.len());
                (&s[start..end], (end + 1).min(b.len()))
            } else {
                let start = i;
                let j = memchr::memchr(sep, &b[i..]).map_or(b.len(), |p| i + p);
                let value = &s[start..j];
                let plain_end = value
                    .as_bytes()
                    .last()
                    .is_none_or(|&c| c > b' ' && c < 0x80);
                (if plain_end { value } else { value.trim_end() }, j)
            };
            i = next;
            if key.is_empty() {
                continue;
            }
            any = true;
            if value.is_empty() {
                continue;
            }
            let value = rec.part(v, value);
            // One fingerprint of the key serves the mapping's names and the record's own index.
            let h = super::super::record::key_hash(key.as_bytes());
            let named = rec.names().find_hashed(key, h);
            if let Some(k) = named {
                if let Some(Some(to)) = renamed.get(usize::from(k.slot)) {
                    rec.set(*to, value);
                    continue;
                }
            }
            if prefix.is_empty() {
                match named {
                    Some(k) => rec.set(k, value),
                    None => {
                        let name = rec.part(v, key);
                        rec.set_other(h, name, value);
                    }
                }
            } else {
                let name = rec.build(|out| {
                    out.push_str(prefix);
                    out.push_str(key);
                });
                rec.set_named(name, value, false);
            }
        }
        any
    }

    /// Every string of `alphabet` up to `max` characters, then `extra` longer pseudo-random
    /// ones (up to 300 bytes: several 64-byte blocks).
    fn texts(alphabet: &[&str], max: usize, extra: usize) -> Vec<String> {
        let mut out = vec![String::new()];
        let mut last = vec![String::new()];
        for _ in 0..max {
            last = last
                .iter()
                .flat_map(|s| alphabet.iter().map(move |a| format!("{s}{a}")))
                .collect();
            out.extend(last.iter().cloned());
        }
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..extra {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = (seed % 300) as usize;
            let s: String = (0..len)
                .map(|i| alphabet[((seed >> (i % 50)) as usize + i * 7) % alphabet.len()])
                .collect();
            out.push(s);
        }
        out
    }

    #[test]
    fn csv_finds_the_cells_the_old_splitter_found() {
        let mut names = Names::default();
        let cols: Vec<String> = (0..120).map(|i| format!("\"c{i}\"")).collect();
        let o = op(
            &mut names,
            &format!("op = \"csv\"\ncolumns = [{}]", cols.join(", ")),
        );
        for line in texts(&["a", ",", "\"", " ", "é"], 6, 3000) {
            let mut r = rec(&names, &line);
            assert!(o.run(&mut r, 0));
            let old = old_split_csv(&line, b',');
            for i in 0..120 {
                let want = old.get(i).and_then(|c| match c {
                    OldCell::Span(a, b) if a < b => Some(&line[*a..*b]),
                    OldCell::Owned(o) if !o.is_empty() => Some(o.as_str()),
                    _ => None,
                });
                assert_eq!(r.lookup(&format!("c{i}")), want, "{line:?} column {i}");
            }
        }
    }

    #[test]
    fn kv_finds_the_pairs_the_old_scanner_found() {
        let all = |r: &Record<'_>| -> Vec<(String, String)> {
            r.iter()
                .map(|(k, v)| (r.str(k).to_owned(), r.str(v).to_owned()))
                .collect()
        };
        for (sep, delim, quote, prefix) in [
            (b' ', b'=', Some(b'"'), ""),
            (b',', b':', Some(b'\''), "p."),
            (b' ', b'=', None, ""),
            (b'\\', b'=', Some(b'\\'), ""),
        ] {
            let mut names = Names::default();
            let (a, b) = (names.key("a"), names.key("b_renamed"));
            let mut renamed = vec![None; usize::from(a.slot) + 1];
            renamed[usize::from(a.slot)] = Some(b);
            let alphabet: Vec<String> = ["a", "b", " ", "é", "\t"]
                .iter()
                .map(|s| s.to_string())
                .chain([sep, delim, quote.unwrap_or(b'"'), b'\\'].map(|c| (c as char).to_string()))
                .collect();
            let alphabet: Vec<&str> = alphabet.iter().map(String::as_str).collect();
            for line in texts(&alphabet, 5, 2000) {
                let mut new = Record::new(&line, &names);
                let v = Val::Line(0, line.len() as u32);
                let found = kv(&mut new, v, &line, sep, delim, quote, prefix, &renamed);
                let got = all(&new);
                drop(new);
                let mut old = Record::new(&line, &names);
                let want_found = old_kv(&mut old, v, &line, sep, delim, quote, prefix, &renamed);
                assert_eq!((found, got), (want_found, all(&old)), "{line:?}");
            }
        }
    }

    #[test]
    fn map_tables_small_and_large_fold_case_as_before() {
        for n in [3usize, MAP_SMALL, MAP_SMALL + 1, 40] {
            for ignore_case in [true, false] {
                let mut names = Names::default();
                let values: Vec<String> = (0..n)
                    .map(|i| format!("\"Key{i}\" = \"v{i}\""))
                    .chain(["\"é\" = \"accent\"".to_owned()])
                    .collect();
                let o = op(
                    &mut names,
                    &format!(
                        "op = \"map\"\nfield = \"x\"\nto = \"y\"\nignore_case = {ignore_case}\nvalues = {{ {} }}",
                        values.join(", ")
                    ),
                );
                for (input, want) in [
                    ("Key1".to_owned(), Some("v1")),
                    (" key2 ".to_owned(), ignore_case.then_some("v2")),
                    ("KEY0".to_owned(), ignore_case.then_some("v0")),
                    ("é".to_owned(), Some("accent")),
                    ("É".to_owned(), None),
                    (format!("Key{n}"), None),
                    ("".to_owned(), None),
                    ("Key".to_owned(), None),
                ] {
                    let mut r = rec(&names, "m");
                    r.set_named(Val::Static("x"), r_static(&input), false);
                    assert_eq!(
                        o.run(&mut r, 0),
                        want.is_some(),
                        "{n} {ignore_case} {input:?}"
                    );
                    assert_eq!(r.lookup("y"), want, "{n} {ignore_case} {input:?}");
                }
            }
        }
    }

    fn r_static(s: &str) -> Val {
        Val::Static(crate::schema::Symbol::intern(s).as_str())
    }

    #[test]
    fn set_joins_fields_literals_and_built_values() {
        let mut names = Names::default();
        let o = op(
            &mut names,
            r#"op = "set"
field = "out"
value = "<{a}|{missing}|{b}>""#,
        );
        let again = op(
            &mut names,
            r#"op = "set"
field = "twice"
value = "{out}{out}""#,
        );
        let line = "xyz";
        let mut r = Record::new(line, &names);
        r.set_named(Val::Static("a"), Val::Line(0, 2), false);
        let built = r.owned("built");
        r.set_named(Val::Static("b"), built, false);
        assert!(o.run(&mut r, 0));
        assert_eq!(r.lookup("out"), Some("<xy||built>"));
        assert!(again.run(&mut r, 0));
        assert_eq!(r.lookup("twice"), Some("<xy||built><xy||built>"));
        assert_eq!(r.lookup("b"), Some("built"), "earlier values stay in place");
    }
}
