//! The writer: [`write_event`] and the JSON string escaping it shares with the reader's
//! rendering of `unmapped` values.

use crate::schema::{class_name, severity, Event};
use simd_json::{Node, StaticNode};
use std::net::IpAddr;

/// Appends the event's OCSF JSON form (one object, no trailing newline) to `out`.
///
/// Fields are written in a fixed order; absent options, an empty message, empty endpoints and
/// empty `metrics` / `unmapped` are left out. Non-finite metric values are written as `null`.
pub fn write_event(event: &Event, out: &mut Vec<u8>) {
    out.reserve(384);
    let mut int = itoa::Buffer::new();
    out.extend_from_slice(b"{\"time\":");
    out.extend_from_slice(int.format(event.time).as_bytes());
    out.extend_from_slice(b",\"severity_id\":");
    out.extend_from_slice(int.format(event.severity_id).as_bytes());
    out.extend_from_slice(b",\"severity\":");
    write_str(out, severity::name(event.severity_id));
    out.extend_from_slice(b",\"class_uid\":");
    out.extend_from_slice(int.format(event.class_uid).as_bytes());
    out.extend_from_slice(b",\"class_name\":");
    write_str(out, class_name(event.class_uid));
    if let Some(activity) = event.activity_name {
        out.extend_from_slice(b",\"activity_name\":");
        write_str(out, activity.as_str());
    }
    out.extend_from_slice(b",\"status\":");
    write_str(out, event.status.as_str());
    if let Some(disposition) = event.disposition {
        out.extend_from_slice(b",\"disposition\":");
        write_str(out, disposition.as_str());
    }
    if !event.message.is_empty() {
        out.extend_from_slice(b",\"message\":");
        write_utf8(out, event.message.as_bytes());
    }
    write_endpoint(out, b",\"src_endpoint\":{", &event.src);
    write_endpoint(out, b",\"dst_endpoint\":{", &event.dst);
    if let Some(user) = &event.user {
        out.extend_from_slice(b",\"actor\":{\"user\":{\"name\":");
        write_utf8(out, user.as_bytes());
        out.extend_from_slice(b"}}");
    }
    if let Some(protocol) = event.protocol {
        out.extend_from_slice(b",\"connection_info\":{\"protocol_name\":");
        write_str(out, protocol.as_str());
        out.push(b'}');
    }
    if event.device.hostname.is_some() || event.device.ip.is_some() {
        let mut obj = ObjectWriter::open(out, b",\"device\":{");
        if let Some(host) = event.device.hostname {
            obj.key(out, b"\"hostname\":");
            write_str(out, host.as_str());
        }
        if let Some(ip) = event.device.ip {
            obj.key(out, b"\"ip\":");
            write_ip(out, ip);
        }
        out.push(b'}');
    }

    let mut meta = ObjectWriter::open(out, b",\"metadata\":{");
    if event.vendor.is_some() || event.product.is_some() {
        meta.key(out, b"\"product\":{");
        let mut product = ObjectWriter::default();
        if let Some(vendor) = event.vendor {
            product.key(out, b"\"vendor_name\":");
            write_str(out, vendor.as_str());
        }
        if let Some(name) = event.product {
            product.key(out, b"\"name\":");
            write_str(out, name.as_str());
        }
        out.push(b'}');
    }
    if let Some(code) = event.event_code {
        meta.key(out, b"\"event_code\":");
        write_str(out, code.as_str());
    }
    if let Some(uid) = &event.uid {
        meta.key(out, b"\"uid\":");
        write_utf8(out, uid.as_bytes());
    }
    meta.key(out, b"\"logged_time\":");
    out.extend_from_slice(int.format(event.logged_time_ms()).as_bytes());
    out.push(b'}');

    if !event.metrics.is_empty() {
        let mut obj = ObjectWriter::open(out, b",\"metrics\":{");
        for (name, value) in &event.metrics {
            obj.next(out);
            write_str(out, name.as_str());
            out.push(b':');
            write_f64(out, *value);
        }
        out.push(b'}');
    }
    if !event.unmapped.is_empty() {
        let mut obj = ObjectWriter::open(out, b",\"unmapped\":{");
        for (key, value) in &event.unmapped {
            obj.next(out);
            write_utf8(out, key.as_bytes());
            out.push(b':');
            write_utf8(out, value.as_bytes());
        }
        out.push(b'}');
    }
    if event.source.is_some() || event.entity.is_some() {
        let mut obj = ObjectWriter::open(out, b",\"tocsin\":{");
        if let Some(source) = event.source {
            obj.key(out, b"\"source\":");
            write_str(out, source.as_str());
        }
        if let Some(entity) = event.entity {
            obj.key(out, b"\"entity\":");
            write_str(out, entity.as_str());
        }
        out.push(b'}');
    }
    out.push(b'}');
}

/// Puts the commas between an object's members.
#[derive(Default)]
struct ObjectWriter {
    started: bool,
}

impl ObjectWriter {
    fn open(out: &mut Vec<u8>, head: &[u8]) -> ObjectWriter {
        out.extend_from_slice(head);
        ObjectWriter::default()
    }

    /// Separates the next member from the previous one.
    fn next(&mut self, out: &mut Vec<u8>) {
        if self.started {
            out.push(b',');
        }
        self.started = true;
    }

    /// Starts a member whose quoted key (and colon) is `key`.
    fn key(&mut self, out: &mut Vec<u8>, key: &[u8]) {
        self.next(out);
        out.extend_from_slice(key);
    }
}

fn write_endpoint(out: &mut Vec<u8>, head: &[u8], endpoint: &crate::schema::Endpoint) {
    if endpoint.is_empty() {
        return;
    }
    let mut obj = ObjectWriter::open(out, head);
    if let Some(ip) = endpoint.ip {
        obj.key(out, b"\"ip\":");
        write_ip(out, ip);
    }
    if let Some(port) = endpoint.port {
        obj.key(out, b"\"port\":");
        out.extend_from_slice(itoa::Buffer::new().format(port).as_bytes());
    }
    if let Some(host) = &endpoint.hostname {
        obj.key(out, b"\"hostname\":");
        write_utf8(out, host.as_bytes());
    }
    out.push(b'}');
}

fn write_ip(out: &mut Vec<u8>, ip: IpAddr) {
    use std::io::Write as _;
    out.push(b'"');
    match ip {
        IpAddr::V4(v4) => {
            let mut int = itoa::Buffer::new();
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    out.push(b'.');
                }
                out.extend_from_slice(int.format(octet).as_bytes());
            }
        }
        // Writing into a Vec cannot fail; IPv6 text needs the zero-run compression rules that
        // Display already implements.
        IpAddr::V6(v6) => {
            let _ = write!(out, "{v6}");
        }
    }
    out.push(b'"');
}

pub(super) fn write_f64(out: &mut Vec<u8>, value: f64) {
    if value.is_finite() {
        out.extend_from_slice(ryu::Buffer::new().format_finite(value).as_bytes());
    } else {
        out.extend_from_slice(b"null");
    }
}

/// For each byte: 0 when it is written as is, else the letter of its short escape, or `u` for
/// `\u00XX`. Matches serde_json's escaping.
static ESCAPE: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = b'u';
        b += 1;
    }
    table[0x08] = b'b';
    table[0x09] = b't';
    table[0x0a] = b'n';
    table[0x0c] = b'f';
    table[0x0d] = b'r';
    table[b'"' as usize] = b'"';
    table[b'\\' as usize] = b'\\';
    table
};

/// Writes `s` as a quoted JSON string. UTF-8 is kept as is; quotes, backslashes and control
/// characters are escaped.
pub(super) fn write_str(out: &mut Vec<u8>, s: &str) {
    write_utf8(out, s.as_bytes());
}

/// [`write_str`] for bytes known to be UTF-8
/// ([`Text::as_bytes`](crate::schema::Text::as_bytes), which skips re-validation).
/// Only ASCII bytes are escaped, so multi-byte characters pass through whole.
fn write_utf8(out: &mut Vec<u8>, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    // Most fields contain nothing to escape: find the first byte that needs it, 8 at a time.
    let Some(first) = first_to_escape(bytes) else {
        out.extend_from_slice(bytes);
        out.push(b'"');
        return;
    };
    // Escape, then jump to the next byte that needs it with the same word-at-a-time scan
    // (raw JSON or quoted text carries a quote every few dozen bytes, not every byte).
    let mut start = 0;
    let mut i = first;
    loop {
        let b = bytes[i];
        out.extend_from_slice(&bytes[start..i]);
        let escape = ESCAPE[b as usize];
        if escape == b'u' {
            out.extend_from_slice(b"\\u00");
            out.push(HEX[(b >> 4) as usize]);
            out.push(HEX[(b & 0xf) as usize]);
        } else {
            out.push(b'\\');
            out.push(escape);
        }
        start = i + 1;
        match first_to_escape(&bytes[start..]) {
            Some(next) => i = start + next,
            None => break,
        }
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// The index of the first byte of `bytes` that JSON needs escaped, if any.
fn first_to_escape(bytes: &[u8]) -> Option<usize> {
    let mut offset = 0;
    for chunk in bytes.chunks_exact(8) {
        // Always 8 bytes; the fallback (all NULs) would only send the chunk to the byte scan.
        let word = <[u8; 8]>::try_from(chunk).map_or(0, u64::from_le_bytes);
        if needs_escape(word) {
            break;
        }
        offset += 8;
    }
    bytes[offset..]
        .iter()
        .position(|&b| ESCAPE[b as usize] != 0)
        .map(|i| offset + i)
}

/// True when any of the eight bytes in `word` is a control character, `"` or `\\` (the
/// classic has-zero-byte / has-less-than bit tricks, exact as a yes/no answer).
fn needs_escape(word: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let has_zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGHS != 0;
    let below_space = word.wrapping_sub(ONES * 0x20) & !word & HIGHS != 0;
    below_space
        || has_zero(word ^ (ONES * u64::from(b'"')))
        || has_zero(word ^ (ONES * u64::from(b'\\')))
}

/// Writes the value spanning `nodes` as compact JSON. Iterative, so deep nesting in client
/// input cannot overflow the stack.
pub(super) fn render_json(nodes: &[Node<'_>], out: &mut Vec<u8>) {
    struct Open {
        object: bool,
        remaining: usize,
        first: bool,
        expect_key: bool,
    }
    let mut stack: Vec<Open> = Vec::new();
    for node in nodes {
        if let Some(top) = stack.last_mut() {
            if !top.first && (!top.object || top.expect_key) {
                out.push(b',');
            }
            top.first = false;
            if top.object && top.expect_key {
                if let Node::String(key) = node {
                    write_str(out, key);
                }
                out.push(b':');
                top.expect_key = false;
                continue;
            }
            top.expect_key = true;
            top.remaining -= 1;
        }
        match *node {
            Node::String(s) => write_str(out, s),
            Node::Static(ref n) => write_static(out, n),
            Node::Object { len, .. } | Node::Array { len, .. } => {
                let object = matches!(node, Node::Object { .. });
                out.push(if object { b'{' } else { b'[' });
                stack.push(Open {
                    object,
                    remaining: len,
                    first: true,
                    expect_key: object,
                });
            }
        }
        while let Some(top) = stack.last() {
            if top.remaining > 0 {
                break;
            }
            out.push(if top.object { b'}' } else { b']' });
            stack.pop();
        }
    }
}

pub(super) fn write_static(out: &mut Vec<u8>, node: &StaticNode) {
    match node {
        StaticNode::I64(n) => out.extend_from_slice(itoa::Buffer::new().format(*n).as_bytes()),
        StaticNode::U64(n) => out.extend_from_slice(itoa::Buffer::new().format(*n).as_bytes()),
        StaticNode::F64(f) => write_f64(out, *f),
        StaticNode::Bool(true) => out.extend_from_slice(b"true"),
        StaticNode::Bool(false) => out.extend_from_slice(b"false"),
        StaticNode::Null => out.extend_from_slice(b"null"),
        #[allow(unreachable_patterns)] // the 128-bit variants exist only under a feature
        _ => out.extend_from_slice(b"null"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::json::tests::{network_event, parse, to_json};
    use crate::schema::{Symbol, Text};
    use smallvec::smallvec;

    #[test]
    fn writes_network_activity_exactly() {
        let expected = concat!(
            r#"{"time":1704448800123,"severity_id":1,"severity":"Informational","#,
            r#""class_uid":4001,"class_name":"Network Activity","activity_name":"Open","#,
            r#""status":"Success","disposition":"Allowed","#,
            r#""message":"Built outbound TCP connection 1234","#,
            r#""src_endpoint":{"ip":"10.0.0.5","port":51515},"#,
            r#""dst_endpoint":{"ip":"2001:db8::1","port":443,"hostname":"api.example.com"},"#,
            r#""actor":{"user":{"name":"alice"}},"connection_info":{"protocol_name":"tcp"},"#,
            r#""device":{"hostname":"fw-01","ip":"192.0.2.1"},"#,
            r#""metadata":{"product":{"vendor_name":"Cisco","name":"ASA"},"#,
            r#""event_code":"302013","uid":"evt-42","logged_time":1704448801500},"#,
            r#""metrics":{"bytes_out":1500.0,"latency_ms":2.5},"#,
            r#""unmapped":{"zone":"inside","acl":"out-1"},"#,
            r#""tocsin":{"source":"http-ingest","entity":"fw-01"}}"#,
        );
        assert_eq!(to_json(&network_event()), expected);
    }

    #[test]
    fn minimal_event_writes_only_required_fields() {
        let event = Event {
            received_ns: 2_000_000,
            ..Event::default()
        };
        assert_eq!(
            to_json(&event),
            concat!(
                r#"{"time":0,"severity_id":0,"severity":"Unknown","class_uid":0,"#,
                r#""class_name":"Base Event","status":"Unknown","metadata":{"logged_time":2}}"#
            )
        );
    }

    #[test]
    fn non_finite_metrics_are_null() {
        let event = Event {
            metrics: smallvec![
                (Symbol::intern("a"), f64::NAN),
                (Symbol::intern("b"), f64::INFINITY)
            ],
            ..Event::default()
        };
        assert!(to_json(&event).contains(r#""metrics":{"a":null,"b":null}"#));
    }

    #[test]
    fn escapes_tricky_strings() {
        let tricky = "say \"hi\"\\path\nnext\tline\r\u{1}\u{1f}\u{8}\u{c} ok 🦀 é \u{7f}";
        let event = Event {
            message: Text::copy_from(tricky),
            ..Event::default()
        };
        let json = to_json(&event);
        let expected_message = concat!(
            r#""message":"say \"hi\"\\path\nnext\tline\r\u0001\u001f\b\f ok "#,
            "🦀 é \u{7f}\""
        );
        assert!(json.contains(expected_message), "{json}");
        // The same escaping serde_json uses, and it reads back to the original.
        assert!(json.contains(&serde_json::to_string(tricky).unwrap()));
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["message"], tricky);
        assert_eq!(parse(&json).unwrap().message.as_str(), tricky);
    }

    #[test]
    fn word_escape_check_matches_the_byte_table() {
        for b in 0..=255u8 {
            for pos in 0..8 {
                let mut word = *b"abcdefgh";
                word[pos] = b;
                assert_eq!(
                    needs_escape(u64::from_le_bytes(word)),
                    ESCAPE[b as usize] != 0,
                    "byte {b:#04x} at {pos}"
                );
            }
        }
    }
    #[test]
    fn renders_deep_nesting_without_recursion() {
        let depth = 100_000;
        let json = format!(r#"{{"deep":{}{}}}"#, "[".repeat(depth), "]".repeat(depth));
        let event = parse(&json).unwrap();
        assert_eq!(event.unmapped[0].1.len(), 2 * depth);
    }
}
