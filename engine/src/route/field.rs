//! The fields a matcher names. A path such as `src_endpoint.ip` compiles once to a [`Field`];
//! reading it from an event is one `match`, with no string lookup (only `metrics.<name>`
//! compares interned symbols and `unmapped.<key>` compares keys, as those are open sets).

use std::fmt::{self, Write as _};
use std::net::IpAddr;

use crate::schema::{class_name, severity, Event, Symbol, Text};
use crate::score::anomaly::Anomaly;

/// Every fixed field path, in the order error messages list them.
pub(crate) const FIELD_NAMES: [&str; 35] = [
    "time",
    "severity_id",
    "severity",
    "class_uid",
    "class_name",
    "activity_name",
    "status",
    "disposition",
    "message",
    "src_endpoint.ip",
    "src_endpoint.port",
    "src_endpoint.hostname",
    "dst_endpoint.ip",
    "dst_endpoint.port",
    "dst_endpoint.hostname",
    "actor.user.name",
    "connection_info.protocol_name",
    "device.hostname",
    "device.ip",
    "metadata.product.vendor_name",
    "metadata.product.name",
    "metadata.event_code",
    "metadata.uid",
    "tocsin.source",
    "tocsin.entity",
    "tocsin.score",
    "tocsin.anomaly.kind",
    "tocsin.anomaly.score",
    "tocsin.anomaly.entity",
    "finding_info.title",
    "tocsin.incident.priority",
    "tocsin.incident.root_cause",
    "tocsin.incident.blast_radius",
    "tocsin.incident.members",
    // The open families, listed for people; `parse` handles them by prefix.
    "metrics.<name>, unmapped.<key>",
];

/// A compiled field path.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Field {
    Time,
    SeverityId,
    Severity,
    ClassUid,
    ClassName,
    ActivityName,
    Status,
    Disposition,
    Message,
    SrcIp,
    SrcPort,
    SrcHostname,
    DstIp,
    DstPort,
    DstHostname,
    UserName,
    Protocol,
    DeviceHostname,
    DeviceIp,
    VendorName,
    ProductName,
    EventCode,
    Uid,
    Source,
    Entity,
    Score,
    AnomalyKind,
    AnomalyScore,
    AnomalyEntity,
    FindingTitle,
    IncidentPriority,
    IncidentRootCause,
    IncidentBlastRadius,
    IncidentMembers,
    Metric(Symbol),
    Unmapped(Box<str>),
}

/// What a field holds, which decides the operators and values it takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Text: `=`, `!=`, regexes, `in` a list of strings.
    Text,
    /// Text that may hold a number (`unmapped.*`): as text, and `>=`/`<=` parse it.
    Loose,
    /// A whole number.
    Int,
    /// A number (`tocsin.score` is an f32, see [`Field::is_f32`]).
    Float,
    /// An IP address: `in` takes IPs and CIDRs.
    Ip,
    /// A severity: numbers 0..6 or the names (`High`).
    Severity,
}

impl Field {
    /// The field for a path, `None` when it is not one.
    pub(crate) fn parse(path: &str) -> Option<Field> {
        use Field::*;
        if let Some(name) = path.strip_prefix("metrics.") {
            if name.is_empty() {
                return None;
            }
            let sym = Symbol::intern(name);
            // Past the interner's cap every new text shares the overflow symbol.
            return (sym.as_str() == name).then_some(Metric(sym));
        }
        if let Some(key) = path.strip_prefix("unmapped.") {
            return (!key.is_empty()).then(|| Unmapped(key.into()));
        }
        Some(match path {
            "time" => Time,
            "severity_id" => SeverityId,
            "severity" => Severity,
            "class_uid" => ClassUid,
            "class_name" => ClassName,
            "activity_name" => ActivityName,
            "status" => Status,
            "disposition" => Disposition,
            "message" => Message,
            "src_endpoint.ip" => SrcIp,
            "src_endpoint.port" => SrcPort,
            "src_endpoint.hostname" => SrcHostname,
            "dst_endpoint.ip" => DstIp,
            "dst_endpoint.port" => DstPort,
            "dst_endpoint.hostname" => DstHostname,
            "actor.user.name" => UserName,
            "connection_info.protocol_name" => Protocol,
            "device.hostname" => DeviceHostname,
            "device.ip" => DeviceIp,
            "metadata.product.vendor_name" => VendorName,
            "metadata.product.name" => ProductName,
            "metadata.event_code" => EventCode,
            "metadata.uid" => Uid,
            "tocsin.source" => Source,
            "tocsin.entity" => Entity,
            "tocsin.score" => Score,
            "tocsin.anomaly.kind" => AnomalyKind,
            "tocsin.anomaly.score" => AnomalyScore,
            "tocsin.anomaly.entity" => AnomalyEntity,
            "finding_info.title" => FindingTitle,
            "tocsin.incident.priority" => IncidentPriority,
            "tocsin.incident.root_cause" => IncidentRootCause,
            "tocsin.incident.blast_radius" => IncidentBlastRadius,
            "tocsin.incident.members" => IncidentMembers,
            _ => return None,
        })
    }

    /// What the field holds.
    pub(crate) fn kind(&self) -> Kind {
        use Field::*;
        match self {
            Time | ClassUid | SrcPort | DstPort | IncidentBlastRadius | IncidentMembers => {
                Kind::Int
            }
            SeverityId | Severity => Kind::Severity,
            Score | AnomalyScore | Metric(_) => Kind::Float,
            SrcIp | DstIp | DeviceIp => Kind::Ip,
            Unmapped(_) => Kind::Loose,
            _ => Kind::Text,
        }
    }

    /// True for `tocsin.score`, an f32: constants compared with it are rounded to f32 first,
    /// so that `tocsin.score >= 0.9` holds for a score of 0.9.
    pub(crate) fn is_f32(&self) -> bool {
        matches!(self, Field::Score)
    }

    /// The field's value in `event`.
    #[inline]
    pub(crate) fn get<'e>(&self, e: &'e Event) -> Value<'e> {
        use Field::*;
        let sym = |s: Option<Symbol>| s.map_or(Value::Absent, |s| Value::Text(s.as_str()));
        let text = |t: &'e Option<Text>| t.as_ref().map_or(Value::Absent, |t| text_value(t));
        let ip = |ip: Option<IpAddr>| ip.map_or(Value::Absent, |ip| Value::Ip(ip.to_canonical()));
        let port = |p: Option<u16>| p.map_or(Value::Absent, |p| Value::Int(i64::from(p)));
        let finding = e.finding.as_deref();
        let incident = e.incident.as_deref();
        match self {
            Time => Value::Int(e.time),
            SeverityId => Value::Int(i64::from(e.severity_id)),
            Severity => Value::Severity(e.severity_id),
            ClassUid => Value::Int(i64::from(e.class_uid)),
            ClassName => Value::Text(class_name(e.class_uid)),
            ActivityName => sym(e.activity_name),
            Status => Value::Text(e.status.as_str()),
            Disposition => sym(e.disposition),
            Message => text_value(&e.message),
            SrcIp => ip(e.src.ip),
            SrcPort => port(e.src.port),
            SrcHostname => text(&e.src.hostname),
            DstIp => ip(e.dst.ip),
            DstPort => port(e.dst.port),
            DstHostname => text(&e.dst.hostname),
            UserName => text(&e.user),
            Protocol => sym(e.protocol),
            DeviceHostname => sym(e.device.hostname),
            DeviceIp => ip(e.device.ip),
            VendorName => sym(e.vendor),
            ProductName => sym(e.product),
            EventCode => sym(e.event_code),
            Uid => text(&e.uid),
            Source => sym(e.source),
            Entity => sym(e.entity),
            Score => e.score.map_or(Value::Absent, |s| Value::F32(s.score)),
            AnomalyKind => finding.map_or(Value::Absent, |a| Value::Text(a.kind.as_str())),
            AnomalyScore => finding.map_or(Value::Absent, |a| Value::Float(a.score)),
            AnomalyEntity => finding.map_or(Value::Absent, |a| Value::Text(a.entity.as_str())),
            FindingTitle => match (finding, incident) {
                (Some(a), _) => Value::Title(a),
                (None, Some(i)) => Value::Text(&i.title),
                (None, None) => Value::Absent,
            },
            IncidentPriority => {
                incident.map_or(Value::Absent, |i| Value::Text(i.priority.as_str()))
            }
            IncidentRootCause => incident
                .and_then(|i| i.root_cause.as_ref())
                .map_or(Value::Absent, |c| Value::Text(&c.entity)),
            IncidentBlastRadius => incident.map_or(Value::Absent, |i| {
                Value::Int(i.blast_radius.min(i64::MAX as u64) as i64)
            }),
            IncidentMembers => {
                incident.map_or(Value::Absent, |i| Value::Int(i.members.len() as i64))
            }
            Metric(name) => e
                .metrics
                .iter()
                .find(|(k, _)| k == name)
                .map_or(Value::Absent, |(_, v)| Value::Float(*v)),
            Unmapped(key) => e.unmapped.get(key).map_or(Value::Absent, Value::Text),
        }
    }
}

/// Text is absent when empty, as in the JSON form (which leaves an empty message out).
fn text_value(t: &Text) -> Value<'_> {
    if t.is_empty() {
        Value::Absent
    } else {
        Value::Text(t.as_str())
    }
}

/// A field's value in one event, borrowed from it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Value<'e> {
    Absent,
    Text(&'e str),
    Int(i64),
    F32(f32),
    Float(f64),
    Ip(IpAddr),
    /// A `severity_id`, whose text is its caption.
    Severity(u8),
    /// A finding's title, rendered only when a matcher needs its text.
    Title(&'e Anomaly),
}

impl Value<'_> {
    /// The value as a number: numbers, severities, and text that parses as a finite number.
    #[inline]
    pub(crate) fn number(&self) -> Option<f64> {
        match *self {
            Value::Int(i) => Some(i as f64),
            Value::F32(x) => Some(f64::from(x)),
            Value::Float(x) => Some(x),
            Value::Severity(id) => Some(f64::from(id)),
            Value::Text(s) => s.trim().parse::<f64>().ok().filter(|x| x.is_finite()),
            Value::Absent | Value::Ip(_) | Value::Title(_) => None,
        }
    }

    /// Calls `f` with the value's text (an absent value's is ""), formatted into a stack
    /// buffer where it is not text already.
    #[inline]
    pub(crate) fn with_text<R>(&self, f: impl FnOnce(&str) -> R) -> R {
        match *self {
            Value::Absent => f(""),
            Value::Text(s) => f(s),
            Value::Int(i) => f(itoa::Buffer::new().format(i)),
            Value::F32(x) => f(ryu::Buffer::new().format(x)),
            Value::Float(x) => f(ryu::Buffer::new().format(x)),
            Value::Severity(id) => f(severity::name(id)),
            Value::Ip(ip) => {
                let mut buf = StackStr::<64>::new();
                // An IP's text is at most 45 bytes: it always fits.
                let _ = write!(buf, "{ip}");
                f(buf.as_str())
            }
            Value::Title(a) => {
                let mut buf = StackStr::<512>::new();
                match a.write_title(&mut buf) {
                    Ok(()) => f(buf.as_str()),
                    // A title longer than the buffer (long rule lists): rare, so allocate.
                    Err(_) => f(&a.title()),
                }
            }
        }
    }
}

/// A fixed-size text buffer written through `fmt::Write`; a write that does not fit fails.
pub(crate) struct StackStr<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> StackStr<N> {
    pub(crate) fn new() -> Self {
        StackStr {
            buf: [0; N],
            len: 0,
        }
    }

    pub(crate) fn as_str(&self) -> &str {
        // Only whole `&str`s are ever copied in, so this is always valid UTF-8.
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
}

impl<const N: usize> fmt::Write for StackStr<N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        let slot = self.buf.get_mut(self.len..end).ok_or(fmt::Error)?;
        slot.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_fixed_name_parses_and_unknown_ones_do_not() {
        for name in &FIELD_NAMES[..FIELD_NAMES.len() - 1] {
            assert!(Field::parse(name).is_some(), "{name}");
        }
        assert_eq!(Field::parse("severity_name"), None);
        assert_eq!(Field::parse("metrics."), None);
        assert_eq!(Field::parse("unmapped."), None);
        assert_eq!(
            Field::parse("unmapped.a.b"),
            Some(Field::Unmapped("a.b".into()))
        );
        assert_eq!(
            Field::parse("metrics.cpu_pct").map(|f| f.kind()),
            Some(Kind::Float)
        );
    }

    #[test]
    fn values_render_as_text_without_the_heap() {
        assert_eq!(Value::Int(443).with_text(str::to_owned), "443");
        assert_eq!(Value::Severity(4).with_text(str::to_owned), "High");
        assert_eq!(Value::Absent.with_text(str::to_owned), "");
        let ip: IpAddr = "fe80::1".parse().unwrap();
        assert_eq!(Value::Ip(ip).with_text(str::to_owned), "fe80::1");
        assert_eq!(Value::Text(" 12.5 ").number(), Some(12.5));
        assert_eq!(Value::Text("nan").number(), None);
        let mut small = StackStr::<4>::new();
        assert!(small.write_str("abcd").is_ok());
        assert!(small.write_str("e").is_err());
        assert_eq!(small.as_str(), "abcd");
    }
}
