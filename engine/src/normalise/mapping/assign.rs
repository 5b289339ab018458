//! Assigns a mapped record to the event: fields named after OCSF paths fill the event, `_`
//! fields are scratch, `message`/`raw` are inputs, everything else is kept in `unmapped`.
//! A value that does not convert (a port of `http`) is kept in `unmapped` and counted.

use super::record::{Record, Texts, Val};
use crate::normalise::base::parse_ip;
use crate::schema::{class_uid_of, severity, Event, Status, Symbol};
use bytes::Bytes;

/// Where a record field goes in the event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Target {
    /// Scratch (`_x`) and the `raw` input.
    Skip,
    Message,
    Time,
    SeverityId,
    Severity,
    ClassUid,
    ClassName,
    Activity,
    Status,
    Disposition,
    SrcIp,
    DstIp,
    SrcPort,
    DstPort,
    SrcHost,
    DstHost,
    User,
    Protocol,
    DeviceHost,
    DeviceIp,
    EventCode,
    Uid,
    Product,
    Vendor,
    Entity,
    /// `metrics.<name>`.
    Metric,
    Unmapped,
}

pub(super) fn target_of(k: &str) -> Target {
    if k.starts_with('_') {
        return Target::Skip;
    }
    match k {
        "raw" => Target::Skip,
        "message" => Target::Message,
        "time" => Target::Time,
        "severity_id" => Target::SeverityId,
        "severity" => Target::Severity,
        "class_uid" => Target::ClassUid,
        "class_name" => Target::ClassName,
        "activity_name" => Target::Activity,
        "status" => Target::Status,
        "disposition" => Target::Disposition,
        "src_endpoint.ip" => Target::SrcIp,
        "dst_endpoint.ip" => Target::DstIp,
        "src_endpoint.port" => Target::SrcPort,
        "dst_endpoint.port" => Target::DstPort,
        "src_endpoint.hostname" => Target::SrcHost,
        "dst_endpoint.hostname" => Target::DstHost,
        "actor.user.name" => Target::User,
        "connection_info.protocol_name" => Target::Protocol,
        "device.hostname" => Target::DeviceHost,
        "device.ip" => Target::DeviceIp,
        "metadata.event_code" => Target::EventCode,
        "metadata.uid" => Target::Uid,
        "metadata.product.name" => Target::Product,
        "metadata.product.vendor_name" => Target::Vendor,
        "tocsin.entity" => Target::Entity,
        _ if k.starts_with("metrics.") => Target::Metric,
        _ => Target::Unmapped,
    }
}

/// Assigns `rec` to `ev` (`frame`: the bytes of the record's line, which the event's texts
/// slice); returns the number of values that did not convert.
pub fn assign(rec: &Record<'_>, frame: &Bytes, ev: &mut Event) -> u32 {
    let mut bad = 0;
    let mut explicit_entity = false;
    // Room for every field at once: a CSV or key=value line sends dozens to `unmapped`, and
    // growing it step by step copied them over and over (an entry is 80 bytes).
    if rec.len() > 4 {
        ev.unmapped.reserve(rec.len());
    }
    let mut bases = [None; 2];
    let texts = rec.texts(frame);
    let names = rec.names();
    for (key, value, slot) in rec.fields() {
        // Known when the mapping names the field (worked out when it compiled).
        let (t, metric) = match slot {
            Some(slot) => names.target(slot),
            None => (target_of(rec.str(key)), None),
        };
        if t == Target::Skip {
            continue;
        }
        let full = rec.str(value);
        let v = super::record::trim(full);
        if v.is_empty() && t != Target::Message {
            continue;
        }
        let mut unmapped = |ev: &mut Event| to_unmapped(&texts, &mut bases, ev, key, value);
        let ok = match t {
            Target::Skip => true,
            Target::Message => {
                ev.message = texts.text(value, full);
                true
            }
            Target::Time => match parse_time_value(v) {
                Some(t) => {
                    ev.time = t;
                    true
                }
                None => false,
            },
            Target::SeverityId => match v.parse::<u8>() {
                Ok(s) if s <= 6 || s == 99 => {
                    ev.severity_id = s;
                    true
                }
                _ => false,
            },
            Target::Severity => match severity::from_name(v) {
                Some(s) => {
                    ev.severity_id = s;
                    true
                }
                None => false,
            },
            Target::ClassUid => match v.parse::<u32>() {
                Ok(c) => {
                    ev.class_uid = c;
                    true
                }
                Err(_) => false,
            },
            Target::ClassName => match class_uid_of(v) {
                Some(c) => {
                    ev.class_uid = c;
                    true
                }
                None => false,
            },
            Target::Activity => {
                ev.activity_name = Some(Symbol::intern(v));
                true
            }
            Target::Status => match status_of(v) {
                Some(s) => {
                    ev.status = s;
                    true
                }
                None => false,
            },
            Target::Disposition => {
                ev.disposition = Some(Symbol::intern(v));
                true
            }
            Target::SrcIp => ip(v).map(|ip| ev.src.ip = Some(ip)).is_some(),
            Target::DstIp => ip(v).map(|ip| ev.dst.ip = Some(ip)).is_some(),
            Target::SrcPort => port(v).map(|p| ev.src.port = Some(p)).is_some(),
            Target::DstPort => port(v).map(|p| ev.dst.port = Some(p)).is_some(),
            Target::SrcHost => {
                ev.src.hostname = Some(texts.text(value, v));
                true
            }
            Target::DstHost => {
                ev.dst.hostname = Some(texts.text(value, v));
                true
            }
            Target::User => {
                if v != "-" {
                    ev.user = Some(texts.text(value, v));
                }
                true
            }
            Target::Protocol => {
                ev.protocol = Some(protocol(v));
                true
            }
            Target::DeviceHost => {
                let host = Symbol::intern(v);
                if !explicit_entity {
                    ev.entity = Some(host);
                }
                ev.device.hostname = Some(host);
                true
            }
            Target::DeviceIp => ip(v).map(|ip| ev.device.ip = Some(ip)).is_some(),
            Target::EventCode => {
                ev.event_code = Some(Symbol::intern(v));
                true
            }
            Target::Uid => {
                ev.uid = Some(texts.text(value, v));
                true
            }
            Target::Product => {
                ev.product = Some(Symbol::intern(v));
                true
            }
            Target::Vendor => {
                ev.vendor = Some(Symbol::intern(v));
                true
            }
            Target::Entity => {
                explicit_entity = true;
                ev.entity = Some(Symbol::intern(v));
                true
            }
            Target::Metric => match v.parse::<f64>() {
                Ok(n) if n.is_finite() => {
                    let name = metric.unwrap_or_else(|| {
                        let k = rec.str(key);
                        Symbol::intern(k.strip_prefix("metrics.").unwrap_or(k))
                    });
                    ev.metrics.push((name, n));
                    true
                }
                _ => false,
            },
            Target::Unmapped => {
                unmapped(ev);
                true
            }
        };
        if !ok {
            bad += 1;
            unmapped(ev);
        }
    }
    bad
}

/// Appends field `key` = `value` to the event's `unmapped`.
#[inline(always)]
fn to_unmapped(
    texts: &Texts<'_, '_>,
    bases: &mut [Option<u8>; 2],
    ev: &mut Event,
    key: Val,
    value: Val,
) {
    let key = texts.whole(&mut ev.unmapped, bases, key);
    let value = texts.whole(&mut ev.unmapped, bases, value);
    ev.unmapped.push_parts(key, value);
}

/// `time`: ms since the epoch (what `convert type = "timestamp"` writes), or RFC 3339.
fn parse_time_value(v: &str) -> Option<i64> {
    if let Ok(ms) = v.parse::<i64>() {
        return Some(ms);
    }
    super::timefmt::parse_time(v, &super::timefmt::TimeFormat::Rfc3339, 0, 0)
}

fn ip(v: &str) -> Option<std::net::IpAddr> {
    if let Some(a) = ipv4(v.as_bytes()) {
        return Some(std::net::IpAddr::V4(a));
    }
    let v = v.trim_matches(|c| c == '[' || c == ']');
    // IPv6 zone ids (fe80::1%eth0) are not part of the address.
    let v = v.split('%').next().unwrap_or(v);
    parse_ip(v)
}

/// A dotted-quad IPv4 address exactly as the standard library reads one (four decimal octets,
/// each at most 255, no leading zeros), in one pass; `None` for anything else (which may still
/// be an address of another form: the caller falls back to the full parser).
pub(super) fn ipv4(b: &[u8]) -> Option<std::net::Ipv4Addr> {
    if b.len() < 7 || b.len() > 15 {
        return None;
    }
    let mut octets = [0u8; 4];
    // The octet being read: its index, value and digits so far.
    let (mut n, mut value, mut digits) = (0usize, 0u32, 0u32);
    for &c in b {
        if c == b'.' {
            if digits == 0 || n == 3 {
                return None;
            }
            octets[n] = value as u8;
            (n, value, digits) = (n + 1, 0, 0);
        } else {
            let d = c.wrapping_sub(b'0');
            // A digit; no fourth digit, no digit after a leading zero, at most 255.
            if d > 9 || digits == 3 || (digits == 1 && value == 0) {
                return None;
            }
            value = value * 10 + u32::from(d);
            digits += 1;
            if value > 255 {
                return None;
            }
        }
    }
    if digits == 0 || n != 3 {
        return None;
    }
    octets[3] = value as u8;
    Some(std::net::Ipv4Addr::from(octets))
}

fn port(v: &str) -> Option<u16> {
    v.parse::<u16>().ok()
}

/// OCSF status from the words vendors use.
pub fn status_of(v: &str) -> Option<Status> {
    let l = v.to_ascii_lowercase();
    Some(match l.as_str() {
        "success" | "succeeded" | "successful" | "ok" | "allow" | "allowed" | "accept"
        | "accepted" | "permit" | "permitted" | "pass" | "passed" | "true" => Status::Success,
        "failure" | "failed" | "fail" | "deny" | "denied" | "drop" | "dropped" | "reject"
        | "rejected" | "block" | "blocked" | "error" | "false" => Status::Failure,
        "unknown" | "other" => Status::Unknown,
        _ => return None,
    })
}

/// Protocol names lower-cased; IANA numbers of the common ones named.
fn protocol(v: &str) -> Symbol {
    match v {
        "1" => Symbol::intern_static("icmp"),
        "6" => Symbol::intern_static("tcp"),
        "17" => Symbol::intern_static("udp"),
        "47" => Symbol::intern_static("gre"),
        "50" => Symbol::intern_static("esp"),
        "51" => Symbol::intern_static("ah"),
        "58" => Symbol::intern_static("ipv6-icmp"),
        "132" => Symbol::intern_static("sctp"),
        _ if v.bytes().any(|b| b.is_ascii_uppercase()) => Symbol::intern(&v.to_ascii_lowercase()),
        _ => Symbol::intern(v),
    }
}

#[cfg(test)]
mod tests {
    use super::super::record::{Names, Val};
    use super::*;

    #[test]
    fn ipv4_reads_what_the_standard_parser_reads() {
        let mut cases: Vec<String> = [
            "0.0.0.0",
            "255.255.255.255",
            "10.0.0.1",
            "1.2.3.4",
            "256.1.1.1",
            "01.2.3.4",
            "1.2.3",
            "1.2.3.4.5",
            "1.2.3.4 ",
            " 1.2.3.4",
            "1..3.4",
            "1.2.3.",
            ".1.2.3",
            "1234.1.1.1",
            "1.2.3.0004",
            "a.b.c.d",
            "1.2.3.4x",
            "",
            "::1",
            "00.0.0.0",
            "1.2.3.25a",
            "100.200.300.1",
            "9.9.9.09",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        // Every octet form from 0 to 999, with and without leading zeros, in each position.
        for n in 0..1000 {
            for octet in [format!("{n}"), format!("{n:02}"), format!("{n:03}")] {
                cases.push(format!("{octet}.1.2.3"));
                cases.push(format!("1.{octet}.2.3"));
                cases.push(format!("1.2.3.{octet}"));
            }
        }
        for c in &cases {
            assert_eq!(ipv4(c.as_bytes()), c.parse().ok(), "{c:?}");
        }
    }

    #[test]
    fn ocsf_paths_fill_the_event_and_the_rest_is_unmapped() {
        let mut names = Names::default();
        let named = names.key("src_endpoint.port");
        let mut r = Record::new("", &names);
        r.set(named, Val::Static("443"));
        for (k, v) in [
            ("src_endpoint.ip", "[2001:db8::1]"),
            ("dst_endpoint.port", "http"),
            ("connection_info.protocol_name", "6"),
            ("status", "Denied"),
            ("time", "2024-03-01T12:00:00Z"),
            ("_scratch", "x"),
            ("rule", "allow-web"),
            ("metrics.bytes_out", "1200"),
            ("actor.user.name", "-"),
        ] {
            r.set_named(Val::Static(k), Val::Static(v), false);
        }
        let mut ev = Event::default();
        assert_eq!(
            assign(&r, &Bytes::new(), &mut ev),
            1,
            "the port `http` does not convert"
        );
        assert_eq!(ev.src.ip, Some("2001:db8::1".parse().unwrap()));
        assert_eq!(ev.src.port, Some(443));
        assert_eq!(ev.protocol.unwrap().as_str(), "tcp");
        assert_eq!(ev.status, Status::Failure);
        assert_eq!(ev.time, 1_709_294_400_000);
        assert_eq!(ev.metric("bytes_out"), Some(1200.0));
        assert!(ev.user.is_none());
        assert_eq!(ev.unmapped_value("rule").unwrap(), "allow-web");
        assert_eq!(ev.unmapped_value("dst_endpoint.port").unwrap(), "http");
        assert!(ev.unmapped_value("_scratch").is_none());
    }
}
