//! A compiled matcher: a [`Field`] and a [`Test`] built once from the text, checked against
//! an event with no allocation.

use std::net::IpAddr;

use rustc_hash::FxHashSet;

use super::field::{Field, Kind, Value, FIELD_NAMES};
use super::parse::{parse, Literal, MatcherError, Op};
use super::pattern::Pattern;
use crate::schema::{class_name, class_uid_of, severity, Status};
use crate::score::anomaly::AnomalyKind;

/// From this many strings an `in` list is a hash set rather than a scan.
const SET_FROM: usize = 8;

/// One compiled matcher.
#[derive(Debug, Clone)]
pub(crate) struct Matcher {
    field: Field,
    test: Test,
}

#[derive(Debug, Clone)]
enum Test {
    /// `= ""` on a field that is not text: the field is absent.
    Absent,
    /// `!= ""` on a field that is not text: the field is present.
    Present,
    /// Text equality; an absent field's text is "".
    TextEq {
        value: Box<str>,
        negate: bool,
    },
    /// Numeric equality; an absent field equals nothing.
    NumEq {
        value: f64,
        negate: bool,
    },
    IpEq {
        value: IpAddr,
        negate: bool,
    },
    /// Anchored regex on the field's text ("" when absent).
    Regex {
        re: Pattern,
        negate: bool,
    },
    /// `>=`, `<=`, `>`, `<`: an absent or non-numeric value matches none.
    Cmp {
        op: Op,
        value: f64,
    },
    TextIn(TextSet),
    NumIn(Box<[f64]>),
    IpIn(Box<[IpNet]>),
}

#[derive(Debug, Clone)]
enum TextSet {
    Few(Box<[Box<str>]>),
    Many(FxHashSet<Box<str>>),
}

impl TextSet {
    fn contains(&self, s: &str) -> bool {
        match self {
            TextSet::Few(v) => v.iter().any(|x| &**x == s),
            TextSet::Many(set) => set.contains(s),
        }
    }
}

/// An IPv4 or IPv6 network (a single address is a /32 or /128).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    /// Parses `10.0.0.0/8`, `2001:db8::/32`, or one address.
    pub(crate) fn parse(s: &str) -> Option<IpNet> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a.parse::<IpAddr>().ok()?, Some(p.parse::<u8>().ok()?)),
            None => (s.parse::<IpAddr>().ok()?, None),
        };
        let addr = addr.to_canonical();
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(IpNet { addr, prefix })
    }

    /// Whether `ip` (canonical) lies in the network.
    pub(crate) fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

fn fail(column: usize, reason: impl Into<String>) -> MatcherError {
    MatcherError {
        column,
        reason: reason.into(),
    }
}

/// The severity names a matcher accepts, for error messages.
const SEVERITY_NAMES: &str = "Informational, Low, Medium, High, Critical, Fatal, Unknown";

/// The class names `class_name` takes, for error messages.
const CLASS_NAMES: &str = "Base Event, Process Activity, Detection Finding, Authentication, \
                           Network Activity, HTTP Activity, API Activity, Metric, Other";

/// A number, or on a severity field a severity name or id 0..6.
fn number(field: &Field, lit: &Literal) -> Result<f64, MatcherError> {
    let text = lit.text.trim();
    if field.kind() == Kind::Severity {
        if let Some(id) = severity::from_name(text) {
            return Ok(f64::from(id));
        }
        return match text.parse::<u8>() {
            Ok(id) if id <= severity::FATAL => Ok(f64::from(id)),
            _ => Err(fail(
                lit.column,
                format!("unknown severity \"{text}\" (one of {SEVERITY_NAMES}, or 0 to 6)"),
            )),
        };
    }
    match text.parse::<f64>() {
        Ok(x) if x.is_finite() => Ok(if field.is_f32() {
            f64::from(x as f32)
        } else {
            x
        }),
        _ => Err(fail(
            lit.column,
            format!("expected a number, found \"{}\"", lit.text),
        )),
    }
}

/// Checks a text value against the closed sets some text fields have, so a typo is an error
/// rather than a rule that never matches.
fn known_text(field: &Field, lit: &Literal) -> Result<(), MatcherError> {
    let ok = match field {
        Field::Status => Status::parse(&lit.text).is_some_and(|s| s.as_str() == lit.text),
        Field::AnomalyKind => AnomalyKind::parse(&lit.text).is_some(),
        Field::ClassName => {
            lit.text == class_name(u32::MAX)
                || class_uid_of(&lit.text).is_some_and(|uid| class_name(uid) == lit.text)
        }
        _ => true,
    };
    if ok || lit.text.is_empty() {
        return Ok(());
    }
    let (what, names) = match field {
        Field::Status => ("status", "Unknown, Success, Failure".to_owned()),
        Field::ClassName => ("class", CLASS_NAMES.to_owned()),
        _ => (
            "anomaly kind",
            AnomalyKind::ALL.map(AnomalyKind::as_str).join(", "),
        ),
    };
    Err(fail(
        lit.column,
        format!("unknown {what} \"{}\" (one of {names})", lit.text),
    ))
}

fn ip(lit: &Literal) -> Result<IpAddr, MatcherError> {
    match lit.text.parse::<IpAddr>() {
        Ok(ip) => Ok(ip.to_canonical()),
        Err(_) if lit.text.contains('/') => Err(fail(
            lit.column,
            format!(
                "\"{}\" is a network: use 'in [\"{}\"]' to match a CIDR",
                lit.text, lit.text
            ),
        )),
        Err(_) => Err(fail(
            lit.column,
            format!("\"{}\" is not an IP address", lit.text),
        )),
    }
}

fn regex(lit: &Literal) -> Result<Pattern, MatcherError> {
    Pattern::new(&lit.text).map_err(|reason| {
        fail(
            lit.column,
            format!("invalid regex \"{}\": {reason}", lit.text),
        )
    })
}

impl Matcher {
    /// Compiles one matcher's text.
    pub(crate) fn compile(text: &str) -> Result<Matcher, MatcherError> {
        let p = parse(text)?;
        let field = Field::parse(p.field).ok_or_else(|| {
            fail(
                p.field_column,
                format!(
                    "unknown field \"{}\" (known: {})",
                    p.field,
                    FIELD_NAMES.join(", ")
                ),
            )
        })?;
        let kind = field.kind();
        let op = p.op;
        let first = &p.values[0];
        let test = match op {
            Op::Eq | Op::Ne => {
                let negate = op == Op::Ne;
                match kind {
                    Kind::Text | Kind::Loose => {
                        known_text(&field, first)?;
                        Test::TextEq {
                            value: first.text.as_str().into(),
                            negate,
                        }
                    }
                    _ if first.text.is_empty() => {
                        if negate {
                            Test::Present
                        } else {
                            Test::Absent
                        }
                    }
                    Kind::Ip => Test::IpEq {
                        value: ip(first)?,
                        negate,
                    },
                    Kind::Int | Kind::Float | Kind::Severity => Test::NumEq {
                        value: number(&field, first)?,
                        negate,
                    },
                }
            }
            Op::Re | Op::NotRe => Test::Regex {
                re: regex(first)?,
                negate: op == Op::NotRe,
            },
            Op::Ge | Op::Le | Op::Gt | Op::Lt => match kind {
                Kind::Text | Kind::Ip => {
                    return Err(fail(
                        p.field_column,
                        format!(
                            "'{}' compares numbers, and {} is {}",
                            op.as_str(),
                            p.field,
                            if kind == Kind::Ip {
                                "an IP address"
                            } else {
                                "text"
                            }
                        ),
                    ))
                }
                _ => Test::Cmp {
                    op,
                    value: number(&field, first)?,
                },
            },
            Op::In => match kind {
                Kind::Text | Kind::Loose => {
                    for v in &p.values {
                        known_text(&field, v)?;
                    }
                    let texts = p.values.iter().map(|v| Box::from(v.text.as_str()));
                    Test::TextIn(if p.values.len() >= SET_FROM {
                        TextSet::Many(texts.collect())
                    } else {
                        TextSet::Few(texts.collect())
                    })
                }
                Kind::Ip => Test::IpIn(
                    p.values
                        .iter()
                        .map(|v| {
                            IpNet::parse(v.text.trim()).ok_or_else(|| {
                                fail(
                                    v.column,
                                    format!("\"{}\" is not an IP address or CIDR", v.text),
                                )
                            })
                        })
                        .collect::<Result<_, _>>()?,
                ),
                Kind::Int | Kind::Float | Kind::Severity => Test::NumIn(
                    p.values
                        .iter()
                        .map(|v| number(&field, v))
                        .collect::<Result<_, _>>()?,
                ),
            },
        };
        Ok(Matcher { field, test })
    }

    /// True for `=~` and `!~`, the dearest tests (a rule checks them last).
    pub(crate) fn is_regex(&self) -> bool {
        matches!(self.test, Test::Regex { .. })
    }

    /// Whether `event` satisfies the matcher.
    #[inline]
    pub(crate) fn matches(&self, event: &crate::schema::Event) -> bool {
        let v = self.field.get(event);
        match &self.test {
            Test::Absent => matches!(v, Value::Absent),
            Test::Present => !matches!(v, Value::Absent),
            Test::TextEq { value, negate } => v.with_text(|s| s == &**value) != *negate,
            Test::NumEq { value, negate } => (v.number() == Some(*value)) != *negate,
            Test::IpEq { value, negate } => (matches!(v, Value::Ip(ip) if ip == *value)) != *negate,
            Test::Regex { re, negate } => v.with_text(|s| re.is_match(s)) != *negate,
            Test::Cmp { op, value } => v.number().is_some_and(|x| match op {
                Op::Ge => x >= *value,
                Op::Le => x <= *value,
                Op::Gt => x > *value,
                _ => x < *value,
            }),
            Test::TextIn(set) => !matches!(v, Value::Absent) && v.with_text(|s| set.contains(s)),
            Test::NumIn(values) => v.number().is_some_and(|x| values.contains(&x)),
            Test::IpIn(nets) => matches!(v, Value::Ip(ip) if nets.iter().any(|n| n.contains(ip))),
        }
    }
}
