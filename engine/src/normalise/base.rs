//! One text line -> a Base Event (OCSF class 0): the step every line takes before (and
//! whether or not) a vendor mapping makes it a more specific class.
//!
//! What the line yields:
//! - `time`: the header's timestamp, else the receive time; `received_ns` and `source` from
//!   the frame's metadata.
//! - `severity_id`: the Cisco tag's severity, else the PRI's (devices often send a fixed PRI, so
//!   the tag wins), mapped by [`severity::from_syslog`]; Unknown without either.
//! - `device.hostname` (interned) and `entity` from the header's HOSTNAME; `device.ip` is the
//!   hostname when it is an IP address, else the peer's address.
//! - `message`: MSG as a zero-copy slice of the frame; `event_code`: the Cisco mnemonic, else
//!   the RFC 5424 MSGID.
//! - `unmapped`: `syslog.app_name`, `syslog.proc_id`, `syslog.sequence`, `cisco.facility`,
//!   `sd.<id>.<param>` for RFC 5424 structured data, and every pair of a `key=value` body
//!   (FortiGate style: `k=v k2="quoted value" k3=`), values unquoted and sliced from the frame
//!   (a quoted value keeps any backslash escape as sent). CSV bodies (PAN-OS) stay in the
//!   message for the vendor mappings.

use super::syslog::{parse_structured_data, parse_syslog_into, SyslogHeader};
use super::{FrameMeta, NormaliseError};
use crate::schema::{severity, Event, Symbol, Text, CLASS_BASE_EVENT};
use bytes::Bytes;
use std::borrow::Cow;
use std::net::IpAddr;

/// Builds the Base Event for one line. `data` is the frame (expected to be UTF-8 and complete;
/// invalid UTF-8 is still reported as [`NormaliseError::NotUtf8`]). An empty or whitespace-only
/// line is [`NormaliseError::Empty`]; a malformed syslog header is [`NormaliseError::Syslog`].
pub fn normalise_line(data: &Bytes, meta: &FrameMeta) -> Result<Event, NormaliseError> {
    let (_, h) = parse_line(data, meta)?;
    let mut ev = event_from_header(data, &h, meta);
    add_header_fields(&mut ev, data, &h);
    Ok(ev)
}

/// `data` as text, or [`NormaliseError::NotUtf8`] with where it goes wrong. simdutf8 checks a
/// frame several times faster than std; std runs only on a bad frame, to find the offset.
pub fn utf8(data: &[u8]) -> Result<&str, NormaliseError> {
    simdutf8::basic::from_utf8(data).map_err(|_| NormaliseError::NotUtf8 {
        offset: std::str::from_utf8(data).map_or_else(|e| e.valid_up_to(), |_| 0),
    })
}

/// Checks the frame and parses its syslog header: the first step of both the Base Event and
/// the vendor-mapped path.
pub fn parse_line<'a>(
    data: &'a Bytes,
    meta: &FrameMeta,
) -> Result<(&'a str, SyslogHeader<'a>), NormaliseError> {
    let mut h = SyslogHeader::bare("");
    let line = parse_line_into(data, meta, &mut h)?;
    Ok((line, h))
}

/// [`parse_line`] with the header parsed into `h` in place (see
/// [`crate::normalise::syslog::parse_syslog_into`]); returns the line.
pub fn parse_line_into<'a>(
    data: &'a Bytes,
    meta: &FrameMeta,
    h: &mut SyslogHeader<'a>,
) -> Result<&'a str, NormaliseError> {
    let line = utf8(data)?;
    if line
        .trim_matches(|c: char| c.is_whitespace() || c == '\0')
        .is_empty()
    {
        return Err(NormaliseError::Empty);
    }
    parse_syslog_into(line, received_ms(meta), h)?;
    Ok(line)
}

fn received_ms(meta: &FrameMeta) -> i64 {
    i64::try_from(meta.received_ns / 1_000_000).unwrap_or(i64::MAX)
}

/// The event fields every line gets from its header: time, severity, device, message, event
/// code, source (see the module doc).
pub fn event_from_header(data: &Bytes, h: &SyslogHeader<'_>, meta: &FrameMeta) -> Event {
    let mut ev = Event::default();
    fill_from_header(&mut ev, data, h, meta);
    ev
}

/// [`event_from_header`] into `ev`, whatever it held (it is [`Event::clear`]ed first, which
/// keeps the room its `unmapped` fields took): the batch path reuses one event for every
/// line instead of building each aside and copying it out.
pub fn fill_from_header(ev: &mut Event, data: &Bytes, h: &SyslogHeader<'_>, meta: &FrameMeta) {
    ev.clear();
    ev.time = h.timestamp_ms.unwrap_or_else(|| received_ms(meta));
    ev.received_ns = meta.received_ns;
    ev.class_uid = CLASS_BASE_EVENT;
    ev.source = Some(meta.source);
    ev.message = Text::slice_of(data, h.message);
    ev.severity_id = h
        .cisco
        .map(|tag| tag.severity)
        .or(h.pri_severity())
        .map_or(severity::UNKNOWN, severity::from_syslog);
    ev.device.hostname = h.hostname.map(Symbol::intern);
    ev.device.ip = h.hostname.and_then(parse_ip).or(meta.peer);
    ev.entity = ev.device.hostname;
    ev.event_code = h
        .cisco
        .map(|tag| tag.mnemonic)
        .or(h.msg_id)
        .map(Symbol::intern);
}

/// The Base Event's `unmapped` extras: syslog tag parts, structured data and key=value pairs.
pub(crate) fn add_header_fields(ev: &mut Event, data: &Bytes, h: &SyslogHeader<'_>) {
    let slice = |s: &str| Text::slice_of(data, s);
    let unmapped = &mut ev.unmapped;
    if let Some(app) = h.app_name {
        unmapped.push((Text::from_static("syslog.app_name"), slice(app)));
    }
    if let Some(pid) = h.proc_id {
        unmapped.push((Text::from_static("syslog.proc_id"), slice(pid)));
    }
    if let Some(seq) = h.sequence {
        let digits = Text::copy_from(itoa::Buffer::new().format(seq));
        unmapped.push((Text::from_static("syslog.sequence"), digits));
    }
    if let Some(tag) = h.cisco {
        unmapped.push((Text::from_static("cisco.facility"), slice(tag.facility)));
    }
    if let Some(sd) = h.structured_data {
        for (id, param, value) in parse_structured_data(sd) {
            let key = Text::from_string(format!("sd.{id}.{param}"));
            let value = match value {
                Cow::Borrowed(v) => slice(v),
                Cow::Owned(v) => Text::from_string(v),
            };
            unmapped.push((key, value));
        }
    }
    if looks_like_kv(h.message) {
        for (key, value) in KvPairs(h.message) {
            unmapped.push((slice(key), slice(value)));
        }
    }
}

/// The hostname as an IP address, when it is one (cheap rejection of names first).
pub(crate) fn parse_ip(host: &str) -> Option<IpAddr> {
    host.bytes()
        .all(|c| c.is_ascii_hexdigit() || c == b':' || c == b'.')
        .then(|| host.parse().ok())
        .flatten()
}

/// A `key=value` body: the first token has an `=` (not first) before any space.
fn looks_like_kv(msg: &str) -> bool {
    let b = msg.as_bytes();
    let first = &b[..memchr::memchr(b' ', b).unwrap_or(b.len())];
    memchr::memchr(b'=', first).is_some_and(|eq| eq > 0)
}

/// Byte offset of the first space, or the length (memchr: `str::find` was 10 % of a profile).
fn space_or_end(s: &str) -> usize {
    memchr::memchr(b' ', s.as_bytes()).unwrap_or(s.len())
}

/// `key=value` pairs of a body separated by spaces; a value may be double-quoted (the quotes
/// are dropped, `\"` inside does not end it). Tokens without `=` are skipped.
struct KvPairs<'a>(&'a str);

impl<'a> Iterator for KvPairs<'a> {
    type Item = (&'a str, &'a str);

    fn next(&mut self) -> Option<(&'a str, &'a str)> {
        loop {
            let s = self.0.trim_start_matches(' ');
            if s.is_empty() {
                self.0 = s;
                return None;
            }
            let token_end = space_or_end(s);
            let eq = match memchr::memchr(b'=', &s.as_bytes()[..token_end]) {
                Some(eq) if eq > 0 => eq,
                _ => {
                    self.0 = &s[token_end..];
                    continue;
                }
            };
            let key = &s[..eq];
            let after = &s[eq + 1..];
            let (value, rest) = match after.strip_prefix('"') {
                Some(quoted) => {
                    let b = quoted.as_bytes();
                    let mut i = 0;
                    while i < b.len() && b[i] != b'"' {
                        i += if b[i] == b'\\' { 2 } else { 1 };
                    }
                    match quoted.get(..i) {
                        Some(v) if i < b.len() => (v, &quoted[i + 1..]),
                        _ => (quoted, ""),
                    }
                }
                None => {
                    let end = space_or_end(after);
                    (&after[..end], &after[end..])
                }
            };
            self.0 = rest;
            return Some((key, value));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalise::syslog::SyslogError;
    use proptest::prelude::*;

    /// 2024-03-02T00:00:00Z in ns.
    const RECEIVED_NS: u64 = 1_709_337_600_000_000_000;
    const RECEIVED_MS: i64 = 1_709_337_600_000;

    fn meta() -> FrameMeta {
        FrameMeta {
            source: Symbol::intern("syslog-tcp"),
            received_ns: RECEIVED_NS,
            peer: Some("198.51.100.9".parse().unwrap()),
            vendor: None,
        }
    }

    fn event(line: &str) -> Event {
        normalise_line(&Bytes::copy_from_slice(line.as_bytes()), &meta())
            .unwrap_or_else(|e| panic!("{line:?}: {e}"))
    }

    fn field<'e>(ev: &'e Event, key: &str) -> Option<&'e str> {
        ev.unmapped_value(key)
    }

    fn sym(s: Option<Symbol>) -> Option<&'static str> {
        s.map(Symbol::as_str)
    }

    #[test]
    fn asa_line_with_hostname_and_year() {
        let ev = event("<166>Jan 01 2024 00:00:01 fw01 : %ASA-4-106023: Deny tcp src outside:203.0.113.5/4431 dst inside:10.0.0.8/22 by access-group \"outside_in\"");
        assert_eq!(ev.class_uid, CLASS_BASE_EVENT);
        assert_eq!(ev.time, 1_704_067_201_000);
        assert_eq!(ev.received_ns, RECEIVED_NS);
        assert_eq!(ev.source, Some(Symbol::intern("syslog-tcp")));
        // The tag's severity 4 (warning) wins over the PRI's 6.
        assert_eq!(ev.severity_id, severity::MEDIUM);
        assert_eq!(sym(ev.device.hostname), Some("fw01"));
        assert_eq!(ev.entity, ev.device.hostname);
        assert_eq!(ev.device.ip, Some("198.51.100.9".parse().unwrap()));
        assert_eq!(sym(ev.event_code), Some("106023"));
        assert_eq!(field(&ev, "cisco.facility"), Some("ASA"));
        assert!(ev.message.as_str().starts_with("Deny tcp src outside:"));
        // A message with `=` later on is not a kv body.
        assert_eq!(ev.unmapped.len(), 1);
    }

    #[test]
    fn asa_line_without_header_uses_receive_time() {
        let ev =
            event("<166>%ASA-6-302013: Built outbound TCP connection 7 for outside:1.2.3.4/443");
        assert_eq!(ev.time, RECEIVED_MS);
        assert_eq!(ev.severity_id, severity::INFORMATIONAL);
        assert_eq!((ev.device.hostname, ev.entity), (None, None));
        assert_eq!(ev.device.ip, meta().peer);
        assert_eq!(sym(ev.event_code), Some("302013"));
    }

    #[test]
    fn ios_line_with_sequence_and_origin_id() {
        let ev = event("<189>45: core-rtr1: *Mar  1 18:46:11.123 UTC: %SYS-5-CONFIG_I: Configured from console by vty0 (10.0.0.2)");
        assert_eq!(ev.time, 1_709_318_771_123);
        assert_eq!(ev.severity_id, severity::LOW);
        assert_eq!(sym(ev.device.hostname), Some("core-rtr1"));
        assert_eq!(sym(ev.event_code), Some("CONFIG_I"));
        assert_eq!(field(&ev, "syslog.sequence"), Some("45"));
        assert_eq!(field(&ev, "cisco.facility"), Some("SYS"));
        assert_eq!(
            ev.message.as_str(),
            "Configured from console by vty0 (10.0.0.2)"
        );
    }

    #[test]
    fn fortigate_kv_body_goes_to_unmapped() {
        let line = r#"<189>date=2024-01-05 time=10:00:00 devname="FW 1" logid="0000000013" type="traffic" subtype="forward" level="notice" srcip=10.1.1.5 dstport=443 action="close" note= proto=6"#;
        let data = Bytes::copy_from_slice(line.as_bytes());
        let ev = normalise_line(&data, &meta()).unwrap();
        assert_eq!(ev.time, RECEIVED_MS);
        assert_eq!(ev.severity_id, severity::LOW);
        assert_eq!(ev.message.as_str(), &line[5..]);
        assert_eq!(field(&ev, "devname"), Some("FW 1"));
        assert_eq!(field(&ev, "logid"), Some("0000000013"));
        assert_eq!(field(&ev, "srcip"), Some("10.1.1.5"));
        assert_eq!(field(&ev, "note"), Some(""));
        assert_eq!(field(&ev, "proto"), Some("6"));
        assert_eq!(ev.unmapped.len(), 12);
        // Values are slices of the frame, not copies.
        let srcip = ev.unmapped_value("srcip").unwrap();
        let base = data.as_ptr() as usize;
        assert!((base..base + data.len()).contains(&(srcip.as_bytes().as_ptr() as usize)));
    }

    #[test]
    fn panos_csv_stays_in_the_message() {
        let ev = event("<14>Mar  1 12:00:00 PA-VM 1,2024/03/01 12:00:00,007200001056,TRAFFIC,end,2561,2024/03/01 12:00:00,10.0.0.5,8.8.8.8");
        assert_eq!(ev.time, 1_709_294_400_000);
        assert_eq!(ev.severity_id, severity::INFORMATIONAL);
        assert_eq!(sym(ev.device.hostname), Some("PA-VM"));
        assert!(ev
            .message
            .as_str()
            .starts_with("1,2024/03/01 12:00:00,0072"));
        assert!(ev.unmapped.is_empty());
    }

    #[test]
    fn sshd_rfc3164_line() {
        let ev = event("<38>Mar  1 23:59:58 bastion sshd[4721]: Failed password for invalid user admin from 203.0.113.50 port 52311 ssh2");
        assert_eq!(ev.time, 1_709_337_598_000);
        assert_eq!(ev.severity_id, severity::INFORMATIONAL);
        assert_eq!(sym(ev.device.hostname), Some("bastion"));
        assert_eq!(field(&ev, "syslog.app_name"), Some("sshd"));
        assert_eq!(field(&ev, "syslog.proc_id"), Some("4721"));
        assert_eq!(ev.event_code, None);
        assert!(ev.message.as_str().starts_with("Failed password"));
    }

    #[test]
    fn rfc5424_with_structured_data_and_ipv6_host() {
        let ev = event(
            r#"<11>1 2024-03-01T10:00:00.5+01:00 2001:db8::1 billing 812 PAY42 [origin@1 ip="2001:db8::1"][meta@2 note="say \"hi\""] payment failed"#,
        );
        assert_eq!(ev.time, 1_709_283_600_500);
        assert_eq!(ev.severity_id, severity::HIGH);
        assert_eq!(sym(ev.device.hostname), Some("2001:db8::1"));
        assert_eq!(ev.device.ip, Some("2001:db8::1".parse().unwrap()));
        assert_eq!(sym(ev.event_code), Some("PAY42"));
        assert_eq!(field(&ev, "syslog.app_name"), Some("billing"));
        assert_eq!(field(&ev, "syslog.proc_id"), Some("812"));
        assert_eq!(field(&ev, "sd.origin@1.ip"), Some("2001:db8::1"));
        assert_eq!(field(&ev, "sd.meta@2.note"), Some("say \"hi\""));
        assert_eq!(ev.message.as_str(), "payment failed");
    }

    #[test]
    fn plain_line_is_a_base_event_with_only_the_message() {
        let ev = event("2024-03-01 12:00:00 worker started pid=12");
        assert_eq!(ev.time, RECEIVED_MS);
        assert_eq!(ev.severity_id, severity::UNKNOWN);
        assert_eq!(ev.device.hostname, None);
        assert_eq!(ev.device.ip, meta().peer);
        assert_eq!(
            ev.message.as_str(),
            "2024-03-01 12:00:00 worker started pid=12"
        );
        assert!(ev.unmapped.is_empty());
    }

    #[test]
    fn empty_and_malformed_lines_are_errors() {
        let norm = |s: &'static str| normalise_line(&Bytes::from_static(s.as_bytes()), &meta());
        assert_eq!(norm("").unwrap_err(), NormaliseError::Empty);
        assert_eq!(norm(" \t\r\n").unwrap_err(), NormaliseError::Empty);
        assert_eq!(
            norm("<300>Oct 11 22:14:15 h a: m").unwrap_err(),
            NormaliseError::Syslog(SyslogError::PriOutOfRange(300))
        );
    }

    #[test]
    fn invalid_utf8_is_reported_with_where_it_starts() {
        assert_eq!(utf8("é ok".as_bytes()), Ok("é ok"));
        assert_eq!(
            utf8(b"abc\xffdef"),
            Err(NormaliseError::NotUtf8 { offset: 3 })
        );
        assert_eq!(
            normalise_line(&Bytes::from_static(b"<13>h a: \xc3("), &meta()).unwrap_err(),
            NormaliseError::NotUtf8 { offset: 9 }
        );
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(line in "\\PC{0,120}") {
            let _ = normalise_line(&Bytes::copy_from_slice(line.as_bytes()), &meta());
        }

        #[test]
        fn truncated_real_lines_never_panic(cut in 0usize..220, which in 0usize..3) {
            let lines = [
                r#"<189>date=2024-01-05 time=10:00:00 devname="FW 1" logid="0000000013" msg="a \"b\"" x="#,
                r#"<11>1 2024-03-01T10:00:00.5+01:00 h app 812 ID [o@1 ip="::1"][m@2 n="x\]"] msg"#,
                "<166>Jan 01 2024 00:00:01 fw01 : %ASA-4-106023: Deny tcp src outside:1.2.3.4/1",
            ];
            let line = lines[which].as_bytes();
            let data = Bytes::copy_from_slice(&line[..cut.min(line.len())]);
            let _ = normalise_line(&data, &meta());
        }
    }
}
