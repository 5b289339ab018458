//! The OCSF JSON form of an [`Event`]: [`write_event`] for the sinks and `tocsin normalize`, and
//! [`event_from_json`] for HTTP ingest (NDJSON / JSON arrays) and for reading sink output back.
//!
//! The writer is hand-written rather than serde-derived because it sits on the per-event path
//! of every sink: it appends straight into a reused buffer with no allocation per field
//! (integers via `itoa`, floats via `ryu`). `benches/event_json.rs` measures it beside
//! `serde_json::to_writer` of a flat map with the same number of fields.
//!
//! The reader parses with simd-json into a tape (which keeps the document's key order, so
//! `unmapped` keeps its order) and walks it once. It accepts the nested form the writer produces
//! and the flattened dotted keys clients often send (`"src_endpoint.ip": "10.0.0.1"`). A field
//! with no OCSF home, or an enumeration word tocsin does not know, is kept in `unmapped` rather
//! than dropped; a known field with the wrong type is an error that names the field.
//!
//! [`Event`]: crate::schema::Event

mod read;
mod time;
pub use time::parse_rfc3339_ms;
mod write;

pub use read::event_from_json;
/// Bit `i` set where byte `i` of the 16 is `"`, `\\` or a control byte (the bytes JSON strings
/// escape): shared by the writer and the `json` operator's string scan.
pub(crate) use write::escape_bits;
pub use write::write_event;

/// Why a JSON object could not become an [`Event`](crate::schema::Event). Each variant names
/// the offending field.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum JsonEventError {
    /// The bytes are not valid JSON.
    #[error("not valid JSON: {0}")]
    NotJson(String),
    /// The document is valid JSON but its top level is not an object.
    #[error("expected a JSON object at the top level, found {found}")]
    NotAnObject {
        /// The JSON type found instead.
        found: &'static str,
    },
    /// A known field holds a value of the wrong JSON type.
    #[error("field `{field}` must be {expected}, found {found}")]
    WrongType {
        /// The field's dotted path.
        field: String,
        /// What the field accepts.
        expected: &'static str,
        /// The JSON type found.
        found: &'static str,
    },
    /// An IP field does not hold an IPv4 or IPv6 address.
    #[error("field `{field}`: {value:?} is not a valid IP address")]
    InvalidIp {
        /// The field's dotted path.
        field: String,
        /// The value as given.
        value: String,
    },
    /// A port field is not an integer in 0..=65535.
    #[error("field `{field}`: {value} is not a valid port (an integer in 0..=65535)")]
    InvalidPort {
        /// The field's dotted path.
        field: String,
        /// The value as given.
        value: String,
    },
    /// `severity_id` is outside OCSF's 0 (Unknown) ..= 6 (Fatal).
    #[error("field `severity_id`: {value} is out of range (0..=6)")]
    SeverityOutOfRange {
        /// The value as given.
        value: String,
    },
    /// A numeric field is outside the range it can hold.
    #[error("field `{field}`: {value} is out of range ({range})")]
    OutOfRange {
        /// The field's dotted path.
        field: String,
        /// The value as given.
        value: String,
        /// The accepted range, in words.
        range: &'static str,
    },
    /// A `time` string is not an RFC 3339 timestamp.
    #[error("field `{field}`: {value:?} is not an RFC 3339 timestamp ({reason})")]
    InvalidTime {
        /// The field's dotted path.
        field: String,
        /// The value as given.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalise::FrameMeta;
    use crate::schema::{severity, Event, Status, Symbol, Text};
    use crate::schema::{Device, Endpoint, CLASS_AUTHENTICATION, CLASS_METRIC};
    use crate::schema::{CLASS_NETWORK_ACTIVITY, CLASS_PROCESS_ACTIVITY};
    use proptest::prelude::*;
    use smallvec::smallvec;
    use std::net::IpAddr;

    pub(super) const RECEIVED_NS: u64 = 1_704_448_801_500_000_000;

    pub(super) fn meta() -> FrameMeta {
        FrameMeta {
            source: Symbol::intern("http-ingest"),
            received_ns: RECEIVED_NS,
            peer: None,
            vendor: None,
        }
    }

    pub(super) fn to_json(event: &Event) -> String {
        let mut out = Vec::new();
        write_event(event, &mut out);
        String::from_utf8(out).expect("the writer emits UTF-8")
    }

    pub(super) fn parse(json: &str) -> Result<Event, JsonEventError> {
        event_from_json(json.as_bytes(), &meta())
    }

    pub(super) fn network_event() -> Event {
        Event {
            time: 1_704_448_800_123,
            received_ns: RECEIVED_NS,
            severity_id: severity::INFORMATIONAL,
            class_uid: CLASS_NETWORK_ACTIVITY,
            activity_name: Some(Symbol::intern("Open")),
            status: Status::Success,
            disposition: Some(Symbol::intern("Allowed")),
            message: Text::from_static("Built outbound TCP connection 1234"),
            src: Endpoint {
                ip: Some("10.0.0.5".parse().unwrap()),
                port: Some(51_515),
                hostname: None,
            },
            dst: Endpoint {
                ip: Some("2001:db8::1".parse().unwrap()),
                port: Some(443),
                hostname: Some(Text::from_static("api.example.com")),
            },
            user: Some(Text::from_static("alice")),
            protocol: Some(Symbol::intern("tcp")),
            device: Device {
                hostname: Some(Symbol::intern("fw-01")),
                ip: Some("192.0.2.1".parse().unwrap()),
            },
            vendor: Some(Symbol::intern("Cisco")),
            product: Some(Symbol::intern("ASA")),
            event_code: Some(Symbol::intern("302013")),
            uid: Some(Text::from_static("evt-42")),
            source: Some(Symbol::intern("http-ingest")),
            entity: Some(Symbol::intern("fw-01")),
            metrics: smallvec![
                (Symbol::intern("bytes_out"), 1500.0),
                (Symbol::intern("latency_ms"), 2.5)
            ],
            unmapped: [("zone", "inside"), ("acl", "out-1")].into_iter().collect(),
            score: None,
            finding: None,
            incident: None,
        }
    }
    fn expected_after_round_trip(mut event: Event) -> Event {
        event.received_ns = RECEIVED_NS;
        event.source = Some(meta().source);
        event
    }

    #[test]
    fn every_shape_of_optional_members_round_trips() {
        // The writer has one branch per combination of optional members (device ip without a
        // hostname, product without a vendor, entity without a source, ...).
        let base = network_event();
        let ipv6: IpAddr = "2001:db8:85a3::8a2e:370:7334".parse().unwrap();
        let shapes = [
            Event {
                device: Device {
                    hostname: None,
                    ip: Some(ipv6),
                },
                entity: None,
                ..base.clone()
            },
            Event {
                vendor: None,
                product: Some(Symbol::intern("Gatekeeper")),
                event_code: None,
                uid: None,
                ..base.clone()
            },
            Event {
                source: None,
                entity: Some(Symbol::intern("svc-a")),
                metrics: smallvec![],
                unmapped: Default::default(),
                ..base.clone()
            },
        ];
        for event in shapes {
            let json = to_json(&event);
            serde_json::from_str::<serde_json::Value>(&json).expect("valid JSON");
            let mut expected = expected_after_round_trip(event.clone());
            if event.source.is_none() {
                // The reader takes the source from the frame it reads.
                expected.source = Some(meta().source);
            }
            assert_eq!(parse(&json).unwrap(), expected, "{json}");
        }
    }

    #[test]
    fn events_that_fill_the_write_buffer_at_any_point_round_trip() {
        // The writer stages 4 KiB at a time: messages of every length around that size put
        // the flush before or inside each member that follows the message.
        let mut event = network_event();
        event.src.ip = Some("2001:db8:85a3::8a2e:370:7334".parse().unwrap());
        event.dst.ip = Some("fe80::1:2:3:4".parse().unwrap());
        event.device.ip = Some("2001:db8::1".parse().unwrap());
        for len in 3_600..4_300 {
            event.message = Text::from_string("ab\"c\n".chars().cycle().take(len).collect());
            let json = to_json(&event);
            assert_eq!(
                parse(&json).unwrap(),
                expected_after_round_trip(event.clone()),
                "message of {len} bytes"
            );
        }
    }

    #[test]
    fn round_trips_several_events() {
        let auth_failure = Event {
            time: -5,
            severity_id: severity::HIGH,
            class_uid: CLASS_AUTHENTICATION,
            activity_name: Some(Symbol::intern("Logon")),
            status: Status::Failure,
            user: Some(Text::from_static("bob \"the admin\"")),
            src: Endpoint {
                ip: Some("203.0.113.9".parse().unwrap()),
                ..Endpoint::default()
            },
            entity: Some(Symbol::intern("auth-svc")),
            unmapped: [
                ("reason", "bad password\n"),
                ("nested.key", "{\"a\":1}"),
                ("empty", ""),
            ]
            .into_iter()
            .collect(),
            ..Event::default()
        };
        let metric = Event {
            time: 1_700_000_000_000,
            class_uid: CLASS_METRIC,
            device: Device {
                hostname: Some(Symbol::intern("web-3")),
                ip: None,
            },
            entity: Some(Symbol::intern("web-3")),
            metrics: smallvec![
                (Symbol::intern("cpu_pct"), 97.25),
                (Symbol::intern("mem"), -0.0),
                (Symbol::intern("tiny"), 5e-324),
                (Symbol::intern("huge"), 1.7976931348623157e308),
            ],
            ..Event::default()
        };
        let odd_class = Event {
            class_uid: 12_345,
            severity_id: severity::FATAL,
            ..Event::default()
        };
        let process = Event {
            class_uid: CLASS_PROCESS_ACTIVITY,
            message: Text::from_static("proc started"),
            uid: Some(Text::new()),
            ..Event::default()
        };
        for event in [network_event(), auth_failure, metric, odd_class, process] {
            let json = to_json(&event);
            let back = parse(&json).unwrap_or_else(|e| panic!("{e}: {json}"));
            assert_eq!(back, expected_after_round_trip(event), "{json}");
        }
    }
    fn text() -> impl Strategy<Value = Text> {
        any::<String>().prop_map(Text::from_string)
    }

    fn symbol() -> impl Strategy<Value = Symbol> {
        "[a-zA-Z0-9 _.-]{1,12}".prop_map(|s| Symbol::intern(&s))
    }

    fn ip() -> impl Strategy<Value = IpAddr> {
        prop_oneof![
            any::<[u8; 4]>().prop_map(IpAddr::from),
            any::<[u8; 16]>().prop_map(IpAddr::from),
        ]
    }

    fn endpoint() -> impl Strategy<Value = Endpoint> {
        (
            proptest::option::of(ip()),
            proptest::option::of(any::<u16>()),
            proptest::option::of(text()),
        )
            .prop_map(|(ip, port, hostname)| Endpoint { ip, port, hostname })
    }

    prop_compose! {
        fn arb_event()(
            time in any::<i64>(),
            severity_id in 0u8..=6,
            class_uid in prop_oneof![Just(0u32), Just(4001), Just(99_001), any::<u32>()],
            activity_name in proptest::option::of(symbol()),
            status in prop_oneof![Just(Status::Unknown), Just(Status::Success), Just(Status::Failure)],
            message in text(),
            (src, dst) in (endpoint(), endpoint()),
            user in proptest::option::of(text()),
            hostname in proptest::option::of(symbol()),
            vendor in proptest::option::of(symbol()),
            event_code in proptest::option::of(symbol()),
            entity in proptest::option::of(symbol()),
            metrics in proptest::collection::vec(
                (symbol(), any::<f64>().prop_filter("finite", |f| f.is_finite())), 0..4),
            unmapped in proptest::collection::vec((text(), text()), 0..6),
        ) -> Event {
            Event {
                time,
                received_ns: RECEIVED_NS,
                severity_id,
                class_uid,
                activity_name,
                status,
                message,
                src,
                dst,
                user,
                device: Device { hostname, ip: None },
                vendor,
                event_code,
                source: Some(meta().source),
                // The reader makes the device the entity when none is given.
                entity: entity.or(hostname),
                metrics: metrics.into_iter().collect(),
                unmapped: unmapped.into_iter().collect(),
                ..Event::default()
            }
        }
    }

    fn json_value() -> impl Strategy<Value = String> {
        let leaf = prop_oneof![
            Just("null".to_owned()),
            Just("true".to_owned()),
            any::<i64>().prop_map(|n| n.to_string()),
            any::<f64>().prop_map(|f| serde_json::to_string(&f).unwrap()),
            any::<String>().prop_map(|s| serde_json::to_string(&s).unwrap()),
            Just(r#""10.0.0.1""#.to_owned()),
            Just(r#""2024-01-05T10:00:00Z""#.to_owned()),
        ];
        leaf.prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4)
                    .prop_map(|items| format!("[{}]", items.join(","))),
                proptest::collection::vec((json_key(), inner), 0..4).prop_map(|members| {
                    let members: Vec<String> =
                        members.iter().map(|(k, v)| format!("{k:?}:{v}")).collect();
                    format!("{{{}}}", members.join(","))
                }),
            ]
        })
    }

    fn json_key() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("time".to_owned()),
            Just("severity_id".to_owned()),
            Just("severity".to_owned()),
            Just("class_uid".to_owned()),
            Just("class_name".to_owned()),
            Just("status".to_owned()),
            Just("src_endpoint".to_owned()),
            Just("src_endpoint.port".to_owned()),
            Just("ip".to_owned()),
            Just("port".to_owned()),
            Just("device".to_owned()),
            Just("metadata".to_owned()),
            Just("metadata.product.name".to_owned()),
            Just("metrics".to_owned()),
            Just("unmapped".to_owned()),
            Just("tocsin".to_owned()),
            "[a-z.]{0,8}",
        ]
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = event_from_json(&data, &meta());
        }

        #[test]
        fn json_shaped_input_never_panics(
            members in proptest::collection::vec((json_key(), json_value()), 0..8)
        ) {
            let members: Vec<String> = members.iter().map(|(k, v)| format!("{k:?}:{v}")).collect();
            let json = format!("{{{}}}", members.join(","));
            if let Ok(event) = parse(&json) {
                // Whatever was accepted writes back as valid JSON.
                let out = to_json(&event);
                prop_assert!(serde_json::from_str::<serde_json::Value>(&out).is_ok(), "{}", out);
            }
        }

        #[test]
        fn arbitrary_events_round_trip(event in arb_event()) {
            let json = to_json(&event);
            let back = parse(&json);
            prop_assert_eq!(back, Ok(event), "{}", json);
        }
    }
}
