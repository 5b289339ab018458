//! The reader: [`event_from_json`] parses with simd-json into a tape and walks it once.

use super::time::read_time;
use super::write::{render_json, write_static};
use super::JsonEventError;
use crate::normalise::FrameMeta;
use crate::schema::{class_uid_of, severity, Event, Status, Symbol, Text};
use simd_json::{Node, StaticNode};
use std::net::IpAddr;

/// Parses one JSON object in tocsin's JSON form (what [`write_event`](super::write_event)
/// produces, and what HTTP ingest clients send) into an [`Event`].
///
/// Accepts the nested form and flattened dotted keys (`"device.hostname"`), `severity` as a
/// caption when there is no `severity_id`, `class_name` when there is no `class_uid`, and `time`
/// as integer or float ms, a numeric string, or an RFC 3339 string. Fields with no OCSF home and
/// unknown enumeration words go to `unmapped` (non-string values as compact JSON). `null` means
/// absent for known fields. `received_ns` and `source` come from `meta` (`tocsin.source` and
/// `metadata.logged_time` in the input are ignored); a missing `time` is the receive time; the
/// entity is `tocsin.entity`, else `device.hostname`.
pub fn event_from_json(data: &[u8], meta: &FrameMeta) -> Result<Event, JsonEventError> {
    let mut buf = data.to_vec();
    let tape = simd_json::to_tape(&mut buf).map_err(|e| JsonEventError::NotJson(e.to_string()))?;
    let nodes = tape.0.as_slice();
    match nodes.first() {
        Some(Node::Object { .. }) => {}
        Some(node) => {
            return Err(JsonEventError::NotAnObject {
                found: type_name(node),
            })
        }
        None => return Err(JsonEventError::NotJson("empty document".to_owned())),
    }
    let mut reader = EventReader {
        event: Event {
            received_ns: meta.received_ns,
            source: Some(meta.source),
            ..Event::default()
        },
        ..EventReader::default()
    };
    reader.read_object(Container::Root, nodes)?;
    Ok(reader.finish())
}

/// The objects of the JSON form whose members the reader knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Container {
    Root,
    Src,
    Dst,
    Actor,
    ActorUser,
    ConnectionInfo,
    Device,
    Metadata,
    Product,
    Tocsin,
    Metrics,
    Unmapped,
}

impl Container {
    /// The container's dotted path (for error messages and unmapped keys).
    fn path(self) -> &'static str {
        match self {
            Container::Root => "",
            Container::Src => "src_endpoint",
            Container::Dst => "dst_endpoint",
            Container::Actor => "actor",
            Container::ActorUser => "actor.user",
            Container::ConnectionInfo => "connection_info",
            Container::Device => "device",
            Container::Metadata => "metadata",
            Container::Product => "metadata.product",
            Container::Tocsin => "tocsin",
            Container::Metrics => "metrics",
            Container::Unmapped => "unmapped",
        }
    }

    fn field(self, key: &str) -> String {
        match self {
            Container::Root => key.to_owned(),
            other => format!("{}.{key}", other.path()),
        }
    }
}

/// Which endpoint an endpoint field belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Src,
    Dst,
}

/// Where a member's value goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot<'k> {
    Object(Container),
    Time,
    SeverityId,
    Severity,
    ClassUid,
    ClassName,
    ActivityName,
    Status,
    Disposition,
    Message,
    Ip(Side),
    Port(Side),
    Hostname(Side),
    UserName,
    Protocol,
    DeviceHostname,
    DeviceIp,
    Vendor,
    Product,
    EventCode,
    Uid,
    Entity,
    /// Known but not read: `received_ns` and `source` come from the frame's metadata.
    Ignored,
    Metric(&'k str),
    UnmappedKey(&'k str),
    Unknown,
}

/// Resolves member `key` of `container`, following dotted keys through known containers.
fn resolve(container: Container, key: &str) -> Slot<'_> {
    let slot = member(container, key);
    if slot != Slot::Unknown {
        return slot;
    }
    if let Some((head, tail)) = key.split_once('.') {
        if let Slot::Object(inner) = member(container, head) {
            return resolve(inner, tail);
        }
    }
    Slot::Unknown
}

fn member(container: Container, key: &str) -> Slot<'_> {
    use Container as C;
    match container {
        C::Root => match key {
            "time" => Slot::Time,
            "severity_id" => Slot::SeverityId,
            "severity" => Slot::Severity,
            "class_uid" => Slot::ClassUid,
            "class_name" => Slot::ClassName,
            "activity_name" => Slot::ActivityName,
            "status" => Slot::Status,
            "disposition" => Slot::Disposition,
            "message" => Slot::Message,
            "src_endpoint" => Slot::Object(C::Src),
            "dst_endpoint" => Slot::Object(C::Dst),
            "actor" => Slot::Object(C::Actor),
            "connection_info" => Slot::Object(C::ConnectionInfo),
            "device" => Slot::Object(C::Device),
            "metadata" => Slot::Object(C::Metadata),
            "metrics" => Slot::Object(C::Metrics),
            "unmapped" => Slot::Object(C::Unmapped),
            "tocsin" => Slot::Object(C::Tocsin),
            _ => Slot::Unknown,
        },
        C::Src | C::Dst => {
            let side = if container == C::Src {
                Side::Src
            } else {
                Side::Dst
            };
            match key {
                "ip" => Slot::Ip(side),
                "port" => Slot::Port(side),
                "hostname" => Slot::Hostname(side),
                _ => Slot::Unknown,
            }
        }
        C::Actor if key == "user" => Slot::Object(C::ActorUser),
        C::ActorUser if key == "name" => Slot::UserName,
        C::ConnectionInfo if key == "protocol_name" => Slot::Protocol,
        C::Device => match key {
            "hostname" => Slot::DeviceHostname,
            "ip" => Slot::DeviceIp,
            _ => Slot::Unknown,
        },
        C::Metadata => match key {
            "product" => Slot::Object(C::Product),
            "event_code" => Slot::EventCode,
            "uid" => Slot::Uid,
            "logged_time" => Slot::Ignored,
            _ => Slot::Unknown,
        },
        C::Product => match key {
            "vendor_name" => Slot::Vendor,
            "name" => Slot::Product,
            _ => Slot::Unknown,
        },
        C::Tocsin => match key {
            "source" => Slot::Ignored,
            "entity" => Slot::Entity,
            _ => Slot::Unknown,
        },
        C::Metrics => Slot::Metric(key),
        C::Unmapped => Slot::UnmappedKey(key),
        C::Actor | C::ActorUser | C::ConnectionInfo => Slot::Unknown,
    }
}

/// The event being built, plus the captions that resolve only once the whole object is read.
#[derive(Default)]
struct EventReader<'a> {
    event: Event,
    time: Option<i64>,
    severity_id: Option<u8>,
    severity_caption: Option<&'a str>,
    class_uid: Option<u32>,
    class_caption: Option<&'a str>,
}

impl<'a> EventReader<'a> {
    /// Reads the members of the object that starts at `nodes[0]`.
    fn read_object(
        &mut self,
        container: Container,
        nodes: &[Node<'a>],
    ) -> Result<(), JsonEventError> {
        let Some(&Node::Object { len, .. }) = nodes.first() else {
            return Ok(());
        };
        let mut idx = 1;
        for _ in 0..len {
            // A tape object is `len` pairs of a key string node then a value spanning
            // `node_span` nodes: simd-json's tape invariant.
            let Some(&Node::String(key)) = nodes.get(idx) else {
                break;
            };
            let end = idx + 1 + node_span(&nodes[idx + 1]);
            self.read_member(container, key, &nodes[idx + 1..end])?;
            idx = end;
        }
        Ok(())
    }

    fn read_member(
        &mut self,
        container: Container,
        key: &'a str,
        value: &[Node<'a>],
    ) -> Result<(), JsonEventError> {
        let node = value[0];
        let slot = resolve(container, key);
        if matches!(node, Node::Static(StaticNode::Null))
            && !matches!(slot, Slot::Unknown | Slot::UnmappedKey(_) | Slot::Metric(_))
        {
            return Ok(());
        }
        let field = || container.field(key);
        let event = &mut self.event;
        match slot {
            Slot::Object(inner) => match node {
                Node::Object { .. } => self.read_object(inner, value)?,
                other => return Err(wrong_type(field(), "an object", &other)),
            },
            Slot::Time => self.time = Some(read_time(&node, field)?),
            Slot::SeverityId => {
                let id = read_int(&node, field)?;
                if !(0..=6).contains(&id) {
                    return Err(JsonEventError::SeverityOutOfRange {
                        value: id.to_string(),
                    });
                }
                self.severity_id = Some(id as u8);
            }
            Slot::Severity => self.severity_caption = Some(read_str(&node, field)?),
            Slot::ClassUid => {
                let uid = read_int(&node, field)?;
                let uid = u32::try_from(uid).map_err(|_| JsonEventError::OutOfRange {
                    field: field(),
                    value: uid.to_string(),
                    range: "0..=4294967295",
                })?;
                self.class_uid = Some(uid);
            }
            Slot::ClassName => self.class_caption = Some(read_str(&node, field)?),
            Slot::ActivityName => event.activity_name = Some(read_symbol(&node, field)?),
            Slot::Status => {
                let word = read_str(&node, field)?;
                match Status::parse(word) {
                    Some(status) => event.status = status,
                    None => push_unmapped(event, field(), word),
                }
            }
            Slot::Disposition => event.disposition = Some(read_symbol(&node, field)?),
            Slot::Message => event.message = Text::copy_from(read_str(&node, field)?),
            Slot::Ip(side) => endpoint(event, side).ip = Some(read_ip(&node, field)?),
            Slot::Port(side) => endpoint(event, side).port = Some(read_port(&node, field)?),
            Slot::Hostname(side) => {
                endpoint(event, side).hostname = Some(Text::copy_from(read_str(&node, field)?))
            }
            Slot::UserName => event.user = Some(Text::copy_from(read_str(&node, field)?)),
            Slot::Protocol => event.protocol = Some(read_symbol(&node, field)?),
            Slot::DeviceHostname => event.device.hostname = Some(read_symbol(&node, field)?),
            Slot::DeviceIp => event.device.ip = Some(read_ip(&node, field)?),
            Slot::Vendor => event.vendor = Some(read_symbol(&node, field)?),
            Slot::Product => event.product = Some(read_symbol(&node, field)?),
            Slot::EventCode => {
                let code = read_code(&node, field)?;
                event.event_code = Some(Symbol::intern(&code));
            }
            Slot::Uid => event.uid = Some(Text::from_string(read_code(&node, field)?)),
            Slot::Entity => event.entity = Some(read_symbol(&node, field)?),
            Slot::Ignored => {}
            Slot::Metric(name) => {
                let value = match node {
                    Node::Static(StaticNode::Null) => f64::NAN,
                    other => read_f64(&other, field)?,
                };
                event.metrics.push((Symbol::intern(name), value));
            }
            Slot::UnmappedKey(name) => {
                event
                    .unmapped
                    .push((Text::copy_from(name), render_value(value)));
            }
            Slot::Unknown => event
                .unmapped
                .push((Text::from_string(field()), render_value(value))),
        }
        Ok(())
    }

    /// Resolves the captions and the entity once every member has been read.
    fn finish(mut self) -> Event {
        let event = &mut self.event;
        event.severity_id = match (self.severity_id, self.severity_caption) {
            (Some(id), _) => id,
            (None, Some(caption)) => severity::from_name(caption).unwrap_or_else(|| {
                push_unmapped(event, "severity".to_owned(), caption);
                severity::UNKNOWN
            }),
            (None, None) => severity::UNKNOWN,
        };
        event.class_uid = match (self.class_uid, self.class_caption) {
            (Some(uid), _) => uid,
            (None, Some(caption)) => class_uid_of(caption).unwrap_or_else(|| {
                push_unmapped(event, "class_name".to_owned(), caption);
                crate::schema::CLASS_BASE_EVENT
            }),
            (None, None) => crate::schema::CLASS_BASE_EVENT,
        };
        event.time = self.time.unwrap_or_else(|| event.logged_time_ms());
        if event.entity.is_none() {
            event.entity = event.device.hostname;
        }
        self.event
    }
}

fn endpoint(event: &mut Event, side: Side) -> &mut crate::schema::Endpoint {
    match side {
        Side::Src => &mut event.src,
        Side::Dst => &mut event.dst,
    }
}

fn push_unmapped(event: &mut Event, key: String, value: &str) {
    event
        .unmapped
        .push((Text::from_string(key), Text::copy_from(value)));
}

/// How many tape nodes the value starting at `node` spans.
fn node_span(node: &Node<'_>) -> usize {
    match node {
        Node::Object { count, .. } | Node::Array { count, .. } => count + 1,
        _ => 1,
    }
}

fn type_name(node: &Node<'_>) -> &'static str {
    match node {
        Node::String(_) => "a string",
        Node::Object { .. } => "an object",
        Node::Array { .. } => "an array",
        Node::Static(StaticNode::Null) => "null",
        Node::Static(StaticNode::Bool(_)) => "a boolean",
        Node::Static(StaticNode::F64(_)) => "a float",
        Node::Static(_) => "an integer",
    }
}

pub(super) fn wrong_type(
    field: String,
    expected: &'static str,
    found: &Node<'_>,
) -> JsonEventError {
    JsonEventError::WrongType {
        field,
        expected,
        found: type_name(found),
    }
}

fn read_str<'a>(node: &Node<'a>, field: impl Fn() -> String) -> Result<&'a str, JsonEventError> {
    match node {
        Node::String(s) => Ok(s),
        other => Err(wrong_type(field(), "a string", other)),
    }
}

fn read_symbol(node: &Node<'_>, field: impl Fn() -> String) -> Result<Symbol, JsonEventError> {
    read_str(node, field).map(Symbol::intern)
}

/// A string, or a number kept as its text (vendors' event ids are often numeric).
fn read_code(node: &Node<'_>, field: impl Fn() -> String) -> Result<String, JsonEventError> {
    match node {
        Node::String(s) => Ok((*s).to_owned()),
        Node::Static(n @ (StaticNode::I64(_) | StaticNode::U64(_) | StaticNode::F64(_))) => {
            let mut text = Vec::new();
            write_static(&mut text, n);
            Ok(String::from_utf8(text).unwrap_or_default())
        }
        other => Err(wrong_type(field(), "a string or number", other)),
    }
}

/// An integer (as i128 so that every JSON integer simd-json yields fits).
fn read_int(node: &Node<'_>, field: impl Fn() -> String) -> Result<i128, JsonEventError> {
    match node {
        Node::Static(StaticNode::I64(n)) => Ok(i128::from(*n)),
        Node::Static(StaticNode::U64(n)) => Ok(i128::from(*n)),
        other => Err(wrong_type(field(), "an integer", other)),
    }
}

fn read_f64(node: &Node<'_>, field: impl Fn() -> String) -> Result<f64, JsonEventError> {
    match node {
        Node::Static(StaticNode::I64(n)) => Ok(*n as f64),
        Node::Static(StaticNode::U64(n)) => Ok(*n as f64),
        Node::Static(StaticNode::F64(f)) => Ok(*f),
        other => Err(wrong_type(field(), "a number", other)),
    }
}

fn read_ip(node: &Node<'_>, field: impl Fn() -> String) -> Result<IpAddr, JsonEventError> {
    let text = read_str(node, &field)?;
    text.parse().map_err(|_| JsonEventError::InvalidIp {
        field: field(),
        value: text.to_owned(),
    })
}

fn read_port(node: &Node<'_>, field: impl Fn() -> String) -> Result<u16, JsonEventError> {
    let invalid = |value: String| JsonEventError::InvalidPort {
        field: field(),
        value,
    };
    match node {
        Node::String(s) => s
            .trim()
            .parse::<u16>()
            .map_err(|_| invalid(format!("{s:?}"))),
        Node::Static(n @ (StaticNode::I64(_) | StaticNode::U64(_) | StaticNode::F64(_))) => {
            let as_int = match n {
                StaticNode::I64(v) => u16::try_from(*v).ok(),
                StaticNode::U64(v) => u16::try_from(*v).ok(),
                _ => None,
            };
            as_int.ok_or_else(|| {
                let mut text = Vec::new();
                write_static(&mut text, n);
                invalid(String::from_utf8(text).unwrap_or_default())
            })
        }
        other => Err(wrong_type(
            field(),
            "a port number or numeric string",
            other,
        )),
    }
}

/// A value kept in `unmapped`: a string as is, anything else as compact JSON.
fn render_value(value: &[Node<'_>]) -> Text {
    match value[0] {
        Node::String(s) => Text::copy_from(s),
        _ => {
            let mut out = Vec::with_capacity(16);
            render_json(value, &mut out);
            // The renderer writes only UTF-8: JSON punctuation, numbers and escaped strings.
            Text::from_string(String::from_utf8(out).unwrap_or_default())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::json::tests::{meta, parse, RECEIVED_NS};
    use crate::schema::CLASS_AUTHENTICATION;

    #[test]
    fn reads_flattened_dotted_keys() {
        let event = parse(
            r#"{"time":"2024-01-05T10:00:00.123Z","severity":"high","class_name":"authentication",
                "src_endpoint.ip":"10.0.0.1","src_endpoint.port":"2222",
                "dst_endpoint.hostname":"db","actor.user.name":"carol",
                "metadata.product.vendor_name":"OpenSSH","metadata.product":{"name":"sshd"},
                "device.hostname":"bastion","connection_info.protocol_name":"tcp",
                "metrics.attempts":3,"unmapped.pid":"812","status":"failure"}"#,
        )
        .unwrap();
        assert_eq!(event.time, 1_704_448_800_123);
        assert_eq!(event.severity_id, severity::HIGH);
        assert_eq!(event.class_uid, CLASS_AUTHENTICATION);
        assert_eq!(event.src.ip, Some("10.0.0.1".parse().unwrap()));
        assert_eq!(event.src.port, Some(2222));
        assert_eq!(event.dst.hostname, Some(Text::from_static("db")));
        assert_eq!(event.user, Some(Text::from_static("carol")));
        assert_eq!(event.vendor, Some(Symbol::intern("OpenSSH")));
        assert_eq!(event.product, Some(Symbol::intern("sshd")));
        assert_eq!(event.device.hostname, Some(Symbol::intern("bastion")));
        assert_eq!(
            event.entity,
            Some(Symbol::intern("bastion")),
            "entity defaults to the device"
        );
        assert_eq!(event.protocol, Some(Symbol::intern("tcp")));
        assert_eq!(event.metric("attempts"), Some(3.0));
        assert_eq!(event.unmapped_value("pid"), Some("812"));
        assert_eq!(event.status, Status::Failure);
        assert_eq!(event.source, Some(meta().source));
        assert_eq!(event.received_ns, RECEIVED_NS);
    }

    #[test]
    fn unknown_fields_go_to_unmapped_in_order() {
        let event = parse(
            r#"{"app":"billing","n":-3,"ok":true,"f":1.5,"nil":null,"obj":{"a":[1,{"b":"x\"y"},[]],"c":{}},
                "device":{"hostname":"h1","rack":7},"unmapped":{"u":"v","deep":[true]},
                "severity":"warning","class_name":"Firewall Activity","status":"maybe",
                "tocsin":{"entity":"svc-a","score":0.9}}"#,
        )
        .unwrap();
        let unmapped: Vec<(&str, &str)> = event.unmapped.iter().collect();
        assert_eq!(
            unmapped,
            [
                ("app", "billing"),
                ("n", "-3"),
                ("ok", "true"),
                ("f", "1.5"),
                ("nil", "null"),
                ("obj", r#"{"a":[1,{"b":"x\"y"},[]],"c":{}}"#),
                ("device.rack", "7"),
                ("u", "v"),
                ("deep", "[true]"),
                ("status", "maybe"),
                ("tocsin.score", "0.9"),
                ("severity", "warning"),
                ("class_name", "Firewall Activity"),
            ]
        );
        assert_eq!(event.severity_id, severity::UNKNOWN);
        assert_eq!(event.class_uid, crate::schema::CLASS_BASE_EVENT);
        assert_eq!(
            event.entity,
            Some(Symbol::intern("svc-a")),
            "tocsin.entity wins"
        );
    }
    #[test]
    fn reports_each_error_with_its_field() {
        assert!(matches!(
            parse("{\"time\":"),
            Err(JsonEventError::NotJson(_))
        ));
        assert!(matches!(parse(""), Err(JsonEventError::NotJson(_))));
        assert_eq!(
            parse("[1,2]"),
            Err(JsonEventError::NotAnObject { found: "an array" })
        );
        assert_eq!(
            parse(r#"{"time":true}"#),
            Err(JsonEventError::WrongType {
                field: "time".into(),
                expected: "ms since the epoch or an RFC 3339 string",
                found: "a boolean",
            })
        );
        assert_eq!(
            parse(r#"{"src_endpoint":{"hostname":5}}"#),
            Err(JsonEventError::WrongType {
                field: "src_endpoint.hostname".into(),
                expected: "a string",
                found: "an integer",
            })
        );
        assert!(matches!(
            parse(r#"{"metrics":"cpu"}"#),
            Err(JsonEventError::WrongType { ref field, .. }) if field == "metrics"
        ));
        assert!(matches!(
            parse(r#"{"metrics":{"cpu":"high"}}"#),
            Err(JsonEventError::WrongType { ref field, .. }) if field == "metrics.cpu"
        ));
        assert_eq!(
            parse(r#"{"dst_endpoint.ip":"10.0.0.300"}"#),
            Err(JsonEventError::InvalidIp {
                field: "dst_endpoint.ip".into(),
                value: "10.0.0.300".into(),
            })
        );
        assert!(matches!(
            parse(r#"{"device":{"ip":"fw-01"}}"#),
            Err(JsonEventError::InvalidIp { ref field, .. }) if field == "device.ip"
        ));
        for port in ["65536", "-1", "\"http\"", "80.5"] {
            assert!(
                matches!(
                    parse(&format!(r#"{{"src_endpoint":{{"port":{port}}}}}"#)),
                    Err(JsonEventError::InvalidPort { ref field, .. }) if field == "src_endpoint.port"
                ),
                "{port}"
            );
        }
        assert_eq!(
            parse(r#"{"severity_id":7}"#),
            Err(JsonEventError::SeverityOutOfRange { value: "7".into() })
        );
        assert!(matches!(
            parse(r#"{"class_uid":-1}"#),
            Err(JsonEventError::OutOfRange { ref field, .. }) if field == "class_uid"
        ));
        let message = parse(r#"{"src_endpoint.ip":"nope"}"#)
            .unwrap_err()
            .to_string();
        assert_eq!(
            message,
            r#"field `src_endpoint.ip`: "nope" is not a valid IP address"#
        );
    }
}
