//! Assigns a mapped record to the event: fields named after OCSF paths fill the event, `_`
//! fields are scratch, `message`/`raw` are inputs, everything else is kept in `unmapped`.
//! A value that does not convert (a port of `http`) is kept in `unmapped` and counted.

use super::record::Record;
use crate::normalise::base::parse_ip;
use crate::schema::{class_uid_of, severity, Event, Status, Symbol};

/// Assigns `rec` to `ev`; returns the number of values that did not convert.
pub fn assign(rec: &Record, ev: &mut Event) -> u32 {
    let mut bad = 0;
    let mut explicit_entity = false;
    for (key, value) in rec.iter() {
        let k = key.as_str();
        let v = value.as_str().trim();
        if k.starts_with('_') || k == "raw" {
            continue;
        }
        if v.is_empty() && k != "message" {
            continue;
        }
        let ok = match k {
            "message" => {
                ev.message = value.clone();
                true
            }
            "time" => match parse_time_value(v) {
                Some(t) => {
                    ev.time = t;
                    true
                }
                None => false,
            },
            "severity_id" => match v.parse::<u8>() {
                Ok(s) if s <= 6 || s == 99 => {
                    ev.severity_id = s;
                    true
                }
                _ => false,
            },
            "severity" => match severity::from_name(v) {
                Some(s) => {
                    ev.severity_id = s;
                    true
                }
                None => false,
            },
            "class_uid" => match v.parse::<u32>() {
                Ok(c) => {
                    ev.class_uid = c;
                    true
                }
                Err(_) => false,
            },
            "class_name" => match class_uid_of(v) {
                Some(c) => {
                    ev.class_uid = c;
                    true
                }
                None => false,
            },
            "activity_name" => {
                ev.activity_name = Some(Symbol::intern(v));
                true
            }
            "status" => match status_of(v) {
                Some(s) => {
                    ev.status = s;
                    true
                }
                None => false,
            },
            "disposition" => {
                ev.disposition = Some(Symbol::intern(v));
                true
            }
            "src_endpoint.ip" => ip(v).map(|ip| ev.src.ip = Some(ip)).is_some(),
            "dst_endpoint.ip" => ip(v).map(|ip| ev.dst.ip = Some(ip)).is_some(),
            "src_endpoint.port" => port(v).map(|p| ev.src.port = Some(p)).is_some(),
            "dst_endpoint.port" => port(v).map(|p| ev.dst.port = Some(p)).is_some(),
            "src_endpoint.hostname" => {
                ev.src.hostname = Some(value.sub(v));
                true
            }
            "dst_endpoint.hostname" => {
                ev.dst.hostname = Some(value.sub(v));
                true
            }
            "actor.user.name" => {
                if v != "-" {
                    ev.user = Some(value.sub(v));
                }
                true
            }
            "connection_info.protocol_name" => {
                ev.protocol = Some(protocol(v));
                true
            }
            "device.hostname" => {
                let host = Symbol::intern(v);
                if !explicit_entity {
                    ev.entity = Some(host);
                }
                ev.device.hostname = Some(host);
                true
            }
            "device.ip" => ip(v).map(|ip| ev.device.ip = Some(ip)).is_some(),
            "metadata.event_code" => {
                ev.event_code = Some(Symbol::intern(v));
                true
            }
            "metadata.uid" => {
                ev.uid = Some(value.sub(v));
                true
            }
            "metadata.product.name" => {
                ev.product = Some(Symbol::intern(v));
                true
            }
            "metadata.product.vendor_name" => {
                ev.vendor = Some(Symbol::intern(v));
                true
            }
            "tocsin.entity" => {
                explicit_entity = true;
                ev.entity = Some(Symbol::intern(v));
                true
            }
            _ => match k.strip_prefix("metrics.") {
                Some(name) => match v.parse::<f64>() {
                    Ok(n) if n.is_finite() => {
                        ev.metrics.push((Symbol::intern(name), n));
                        true
                    }
                    _ => false,
                },
                None => {
                    ev.unmapped.push((key.clone(), value.clone()));
                    true
                }
            },
        };
        if !ok {
            bad += 1;
            ev.unmapped.push((key.clone(), value.clone()));
        }
    }
    bad
}

/// `time`: ms since the epoch (what `convert type = "timestamp"` writes), or RFC 3339.
fn parse_time_value(v: &str) -> Option<i64> {
    if let Ok(ms) = v.parse::<i64>() {
        return Some(ms);
    }
    super::timefmt::parse_time(v, &super::timefmt::TimeFormat::Rfc3339, 0, 0)
}

fn ip(v: &str) -> Option<std::net::IpAddr> {
    let v = v.trim_matches(|c| c == '[' || c == ']');
    // IPv6 zone ids (fe80::1%eth0) are not part of the address.
    let v = v.split('%').next().unwrap_or(v);
    parse_ip(v)
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
    use super::*;
    use crate::schema::Text;

    #[test]
    fn ocsf_paths_fill_the_event_and_the_rest_is_unmapped() {
        let mut r = Record::new();
        for (k, v) in [
            ("src_endpoint.ip", "[2001:db8::1]"),
            ("src_endpoint.port", "443"),
            ("dst_endpoint.port", "http"),
            ("connection_info.protocol_name", "6"),
            ("status", "Denied"),
            ("time", "2024-03-01T12:00:00Z"),
            ("_scratch", "x"),
            ("rule", "allow-web"),
            ("metrics.bytes_out", "1200"),
            ("actor.user.name", "-"),
        ] {
            r.set(Text::copy_from(k), Text::copy_from(v));
        }
        let mut ev = Event::default();
        assert_eq!(assign(&r, &mut ev), 1, "the port `http` does not convert");
        assert_eq!(ev.src.ip, Some("2001:db8::1".parse().unwrap()));
        assert_eq!(ev.src.port, Some(443));
        assert_eq!(ev.protocol.unwrap().as_str(), "tcp");
        assert_eq!(ev.status, Status::Failure);
        assert_eq!(ev.time, 1_709_294_400_000);
        assert_eq!(ev.metric("bytes_out"), Some(1200.0));
        assert!(ev.user.is_none());
        assert_eq!(ev.unmapped_value("rule").unwrap().as_str(), "allow-web");
        assert_eq!(
            ev.unmapped_value("dst_endpoint.port").unwrap().as_str(),
            "http"
        );
        assert!(ev.unmapped_value("_scratch").is_none());
    }
}
