//! The writer: [`write_event`] and the JSON string escaping it shares with the reader's
//! rendering of `unmapped` values.
//!
//! Output is assembled in a per-thread staging array with the write position in a local
//! variable, and appended to the caller's `Vec` in one copy per event (or per 4 KiB). Appending
//! field by field to the `Vec` itself was the writer's main cost: every push or copy loads the
//! length from memory, adds and stores it back, so each write waited on the previous one
//! (several cycles apiece, a few hundred writes per event). Here the position lives in a
//! register and the only test per write is the bounds check against a constant size.

use crate::schema::{class_name, severity, Event, Status, Symbol};
use simd_json::{Node, StaticNode};
use std::cell::RefCell;
use std::net::IpAddr;

/// Size of the staging array.
const STAGE: usize = 4096;
/// The most any single step below writes (stores included that run past the bytes kept):
/// a 32-byte block of control characters, 6 bytes each, plus one 32-byte overshoot.
const STEP_MAX: usize = 32 * 6 + 32;

thread_local! {
    static STAGED: RefCell<Staged> = const {
        RefCell::new(Staged { stage: [0; STAGE], logged: NOT_LOGGED, pairs: [NO_PAIR; 2] })
    };
}

/// A thread's staging array, and the last 13-digit `logged_time` it wrote with its digits: the
/// receive time is shared by every event of a frame, a batch or (in `tocsin normalize`) a
/// whole run.
struct Staged {
    stage: [u8; STAGE],
    logged: (i64, [u8; 16]),
    /// The last `metadata.product` and `tocsin` objects written, see [`Pair`].
    pairs: [Pair; 2],
}

/// Longest written pair object kept by [`Pair`].
const PAIR_MAX: usize = 128;

/// The bytes a [`Writer::pair_object`] wrote for its two symbols. The vendor and product of
/// a batch's events come grouped (the batch is mapped vendor by vendor), and the source and
/// entity change rarely more often, so the next event's are nearly always the same: one
/// compare and one fixed-size copy instead of writing (and escape-checking) both texts again.
#[derive(Clone, Copy)]
struct Pair {
    /// The symbols written; `None` in `bytes` when nothing is kept.
    key: Option<[Option<Symbol>; 2]>,
    len: usize,
    bytes: [u8; PAIR_MAX],
}

/// [`Pair`] before any.
const NO_PAIR: Pair = Pair {
    key: None,
    len: 0,
    bytes: [0; PAIR_MAX],
};

/// Appends the event's OCSF JSON form (one object, no trailing newline) to `out`.
///
/// Fields are written in a fixed order; absent options, an empty message, empty endpoints and
/// empty `metrics` / `unmapped` are left out. Non-finite metric values are written as `null`.
pub fn write_event(event: &Event, out: &mut Vec<u8>) {
    with_writer(out, |w| w.event(event));
}

/// Runs `f` with a [`Writer`] over the thread's staging array (a fresh one should the thread's
/// be in use already), then appends what it wrote to `out`.
fn with_writer(out: &mut Vec<u8>, f: impl FnOnce(&mut Writer<'_>)) {
    let mut f = Some(f);
    let mut run = |staged: &mut Staged| {
        let mut w = Writer {
            out,
            stage: &mut staged.stage,
            n: 0,
            logged: &mut staged.logged,
            pairs: &mut staged.pairs,
        };
        if let Some(f) = f.take() {
            f(&mut w);
        }
        w.out.extend_from_slice(&w.stage[..w.n]);
    };
    STAGED.with(|cell| match cell.try_borrow_mut() {
        Ok(mut staged) => run(&mut staged),
        Err(_) => run(&mut Box::new(Staged {
            stage: [0; STAGE],
            logged: NOT_LOGGED,
            pairs: [NO_PAIR; 2],
        })),
    });
}

/// The staging array, its write position, and where it is flushed to.
struct Writer<'a> {
    out: &'a mut Vec<u8>,
    stage: &'a mut [u8; STAGE],
    n: usize,
    /// See [`Staged::logged`]; [`NOT_LOGGED`] until one is written.
    logged: &'a mut (i64, [u8; 16]),
    /// See [`Staged::pairs`].
    pairs: &'a mut [Pair; 2],
}

/// [`Staged::logged`] before any: `i64::MIN` is no 13-digit time.
const NOT_LOGGED: (i64, [u8; 16]) = (i64::MIN, [0; 16]);

/// Appends `stage[..n]` to `out` (kept out of line: the caller keeps its position in a
/// register).
#[cold]
#[inline(never)]
fn flush(out: &mut Vec<u8>, stage: &[u8; STAGE], n: usize) {
    out.extend_from_slice(&stage[..n]);
}

impl Writer<'_> {
    /// Makes room for `k` (at most [`STEP_MAX`]) bytes.
    #[inline(always)]
    fn room(&mut self, k: usize) {
        self.n = room(self.out, self.stage, self.n, k);
    }

    /// Writes a constant.
    #[inline(always)]
    fn put<const K: usize>(&mut self, bytes: &[u8; K]) {
        self.room(K);
        self.stage[self.n..self.n + K].copy_from_slice(bytes);
        self.n += K;
    }

    /// An object of two optional string members (`open`, then each present member as its
    /// key constant and its text, comma-separated, then `close`); nothing when both are absent.
    #[inline(always)]
    fn pair_object<const O: usize, const A: usize, const B: usize, const C: usize>(
        &mut self,
        open: &[u8; O],
        a: (&[u8; A], Option<Symbol>),
        b: (&[u8; B], Option<Symbol>),
        close: &[u8; C],
    ) {
        if a.1.is_none() && b.1.is_none() {
            return;
        }
        self.put(open);
        if let Some(v) = a.1 {
            self.put(a.0);
            self.body(v.as_str().as_bytes());
        }
        if let Some(v) = b.1 {
            if a.1.is_some() {
                self.put(b",");
            }
            self.put(b.0);
            self.body(v.as_str().as_bytes());
        }
        self.put(close);
    }

    /// [`Writer::pair_object`] through the thread's [`Pair`] number `slot`: the bytes kept
    /// when the symbols are the ones they were written for, else written and kept.
    #[inline(always)]
    fn pair_object_kept<const O: usize, const A: usize, const B: usize, const C: usize>(
        &mut self,
        slot: usize,
        open: &[u8; O],
        a: (&[u8; A], Option<Symbol>),
        b: (&[u8; B], Option<Symbol>),
        close: &[u8; C],
    ) {
        let key = [a.1, b.1];
        if self.pairs[slot].key == Some(key) {
            self.room(PAIR_MAX);
            let kept = &self.pairs[slot];
            self.stage[self.n..self.n + PAIR_MAX].copy_from_slice(&kept.bytes);
            self.n += kept.len;
            return;
        }
        self.pair_object_keep(slot, key, |w| w.pair_object(open, a, b, close));
    }

    /// Runs `write` and keeps what it wrote as [`Pair`] `slot` for `key` (when it is short
    /// enough, and was not split by a flush of the stage).
    #[inline(never)]
    fn pair_object_keep(
        &mut self,
        slot: usize,
        key: [Option<Symbol>; 2],
        write: impl FnOnce(&mut Self),
    ) {
        // Room first, so that a short pair is not split by a flush.
        self.room(PAIR_MAX);
        let (start, flushed) = (self.n, self.out.len());
        write(self);
        let kept = &mut self.pairs[slot];
        match self.n.checked_sub(start) {
            Some(len) if len <= PAIR_MAX && self.out.len() == flushed => {
                kept.bytes[..len].copy_from_slice(&self.stage[start..self.n]);
                kept.len = len;
                kept.key = Some(key);
            }
            _ => kept.key = None,
        }
    }

    /// Opens a member of an object of members: `open` (which opens the object and the first
    /// key's quote) before the first, `,"` before the others.
    #[inline(always)]
    fn open_member<const K: usize>(&mut self, first: &mut bool, open: &[u8; K]) {
        if std::mem::take(first) {
            self.put(open);
        } else {
            self.put(b",\"");
        }
    }

    /// Writes a short run of bytes (a formatted number: at most [`STEP_MAX`]).
    #[inline(always)]
    fn put_slice(&mut self, bytes: &[u8]) {
        debug_assert!(bytes.len() <= STEP_MAX, "put_slice takes numbers, not text");
        self.room(bytes.len());
        self.stage[self.n..self.n + bytes.len()].copy_from_slice(bytes);
        self.n += bytes.len();
    }

    fn event(&mut self, event: &Event) {
        self.put(b"{\"time\":");
        self.ms(event.time);
        self.severity(event.severity_id);
        self.class(event.class_uid);
        if let Some(activity) = event.activity_name {
            self.put(b",\"activity_name\":\"");
            self.body(activity.as_str().as_bytes());
        }
        match event.status {
            Status::Unknown => self.put(b",\"status\":\"Unknown\""),
            Status::Success => self.put(b",\"status\":\"Success\""),
            Status::Failure => self.put(b",\"status\":\"Failure\""),
        }
        if let Some(disposition) = event.disposition {
            self.put(b",\"disposition\":\"");
            self.body(disposition.as_str().as_bytes());
        }
        if !event.message.is_empty() {
            self.put(b",\"message\":\"");
            self.body(event.message.as_bytes());
        }
        if !event.src.is_empty() {
            self.put(b",\"src_endpoint\":{");
            self.endpoint(&event.src);
        }
        if !event.dst.is_empty() {
            self.put(b",\"dst_endpoint\":{");
            self.endpoint(&event.dst);
        }
        if let Some(user) = &event.user {
            self.put(b",\"actor\":{\"user\":{\"name\":\"");
            self.body(user.as_bytes());
            self.put(b"}}");
        }
        if let Some(protocol) = event.protocol {
            self.put(b",\"connection_info\":{\"protocol_name\":\"");
            self.body(protocol.as_str().as_bytes());
            self.put(b"}");
        }
        match (event.device.hostname, event.device.ip) {
            (None, None) => {}
            (Some(host), ip) => {
                self.put(b",\"device\":{\"hostname\":\"");
                self.body(host.as_str().as_bytes());
                if let Some(ip) = ip {
                    self.put(b",\"ip\":");
                    self.ip(ip);
                }
                self.put(b"}");
            }
            (None, Some(ip)) => {
                self.put(b",\"device\":{\"ip\":");
                self.ip(ip);
                self.put(b"}");
            }
        }

        self.put(b",\"metadata\":{");
        self.pair_object_kept(
            0,
            b"\"product\":{",
            (b"\"vendor_name\":\"", event.vendor),
            (b"\"name\":\"", event.product),
            b"},",
        );
        // Each member below ends with a comma; `logged_time` is always present and last.
        if let Some(code) = event.event_code {
            self.put(b"\"event_code\":\"");
            self.body(code.as_str().as_bytes());
            self.put(b",");
        }
        if let Some(uid) = &event.uid {
            self.put(b"\"uid\":\"");
            self.body(uid.as_bytes());
            self.put(b",");
        }
        self.put(b"\"logged_time\":");
        self.logged_time(event.logged_time_ms());
        self.put(b"}");

        let mut first = true;
        for (name, value) in &event.metrics {
            self.open_member(&mut first, b",\"metrics\":{\"");
            self.body(name.as_str().as_bytes());
            self.put(b":");
            self.f64(*value);
        }
        if !first {
            self.put(b"}");
        }
        if !event.unmapped.is_empty() {
            self.put(b",\"unmapped\":");
            let mut sep = b'{';
            for (key, value) in event.unmapped.iter() {
                self.n = member(
                    self.out,
                    self.stage,
                    self.n,
                    sep,
                    key.as_bytes(),
                    value.as_bytes(),
                );
                sep = b',';
            }
            self.put(b"}");
        }
        if let Some(finding) = &event.finding {
            self.finding_info(finding);
        } else if let Some(incident) = &event.incident {
            self.incident_info(incident);
        }
        match &event.score {
            None => self.pair_object_kept(
                1,
                b",\"tocsin\":{",
                (b"\"source\":\"", event.source),
                (b"\"entity\":\"", event.entity),
                b"}",
            ),
            Some(score) => self.tocsin_scored(event, score),
        }
        self.put(b"}");
    }

    /// The `tocsin` object of a scored event: source and entity, `score`, `detectors`, and
    /// for a finding `anomaly`.
    fn tocsin_scored(&mut self, event: &Event, score: &crate::score::anomaly::EventScore) {
        self.put(b",\"tocsin\":{");
        if let Some(source) = event.source {
            self.put(b"\"source\":\"");
            self.body(source.as_str().as_bytes());
            self.put(b",");
        }
        if let Some(entity) = event.entity {
            self.put(b"\"entity\":\"");
            self.body(entity.as_str().as_bytes());
            self.put(b",");
        }
        self.put(b"\"score\":");
        self.unit(score.score);
        let p = &score.parts.0;
        self.put(b",\"detectors\":{\"statistics\":");
        self.unit(p[0]);
        self.put(b",\"rules\":");
        self.unit(p[1]);
        self.put(b",\"forest\":");
        self.unit(p[2]);
        self.put(b",\"lstm\":");
        self.unit(p[3]);
        self.put(b",\"rare_codes\":");
        self.unit(p[4]);
        self.put(b"}");
        if let Some(finding) = &event.finding {
            self.put(b",\"anomaly\":");
            let json = serde_json::to_vec(&finding.to_json()).unwrap_or_else(|_| b"null".to_vec());
            self.raw(&json);
        }
        if let Some(incident) = &event.incident {
            self.put(b",\"incident\":");
            let json = serde_json::to_vec(incident.as_ref()).unwrap_or_else(|_| b"null".to_vec());
            self.raw(&json);
        }
        self.put(b"}");
    }

    /// OCSF `finding_info` of an incident's Detection Finding: uid, title and types
    /// (`incident`).
    fn incident_info(&mut self, incident: &crate::correlate::Incident) {
        self.put(b",\"finding_info\":{\"uid\":\"");
        self.body(incident.id.as_bytes());
        self.put(b",\"title\":\"");
        self.body(incident.title.as_bytes());
        self.put(b",\"types\":[\"incident\"]}");
    }

    /// OCSF `finding_info` of a Detection Finding: uid, title and types (the anomaly kind).
    fn finding_info(&mut self, finding: &crate::score::anomaly::Anomaly) {
        self.put(b",\"finding_info\":{\"uid\":\"");
        self.body(finding.id.as_bytes());
        self.put(b",\"title\":\"");
        self.body(finding.title().as_bytes());
        self.put(b",\"types\":[\"");
        self.body(finding.kind.as_str().as_bytes());
        self.put(b"]}");
    }

    /// A score in 0..1 with three decimals (`0`, `1`, or `0.ddd`).
    fn unit(&mut self, x: f32) {
        let m = if x.is_nan() {
            0
        } else {
            (x.clamp(0.0, 1.0) * 1000.0).round() as u32
        };
        match m {
            0 => self.put(b"0"),
            1000 => self.put(b"1"),
            _ => {
                let d = [
                    b'0',
                    b'.',
                    b'0' + (m / 100) as u8,
                    b'0' + (m / 10 % 10) as u8,
                    b'0' + (m % 10) as u8,
                ];
                self.put(&d);
            }
        }
    }

    /// Writes `bytes` as they are (already JSON), of any length.
    fn raw(&mut self, bytes: &[u8]) {
        flush(self.out, self.stage, self.n);
        self.n = 0;
        self.out.extend_from_slice(bytes);
    }

    /// `,"severity_id":N,"severity":"Caption"`: one constant for OCSF's ids 0..=6; any other
    /// id (the type allows it) is written the long way.
    fn severity(&mut self, id: u8) {
        match id {
            0 => self.put(b",\"severity_id\":0,\"severity\":\"Unknown\""),
            1 => self.put(b",\"severity_id\":1,\"severity\":\"Informational\""),
            2 => self.put(b",\"severity_id\":2,\"severity\":\"Low\""),
            3 => self.put(b",\"severity_id\":3,\"severity\":\"Medium\""),
            4 => self.put(b",\"severity_id\":4,\"severity\":\"High\""),
            5 => self.put(b",\"severity_id\":5,\"severity\":\"Critical\""),
            6 => self.put(b",\"severity_id\":6,\"severity\":\"Fatal\""),
            _ => {
                self.put(b",\"severity_id\":");
                self.put_slice(itoa::Buffer::new().format(id).as_bytes());
                self.put(b",\"severity\":\"");
                self.body(severity::name(id).as_bytes());
            }
        }
    }

    /// `,"class_uid":N,"class_name":"Name"`: one constant for the classes tocsin names.
    fn class(&mut self, class_uid: u32) {
        use crate::schema::{
            CLASS_API_ACTIVITY, CLASS_AUTHENTICATION, CLASS_BASE_EVENT, CLASS_DETECTION_FINDING,
            CLASS_HTTP_ACTIVITY, CLASS_METRIC, CLASS_NETWORK_ACTIVITY, CLASS_PROCESS_ACTIVITY,
        };
        match class_uid {
            CLASS_BASE_EVENT => self.put(b",\"class_uid\":0,\"class_name\":\"Base Event\""),
            CLASS_PROCESS_ACTIVITY => {
                self.put(b",\"class_uid\":1007,\"class_name\":\"Process Activity\"");
            }
            CLASS_DETECTION_FINDING => {
                self.put(b",\"class_uid\":2004,\"class_name\":\"Detection Finding\"");
            }
            CLASS_AUTHENTICATION => {
                self.put(b",\"class_uid\":3002,\"class_name\":\"Authentication\"");
            }
            CLASS_NETWORK_ACTIVITY => {
                self.put(b",\"class_uid\":4001,\"class_name\":\"Network Activity\"");
            }
            CLASS_HTTP_ACTIVITY => {
                self.put(b",\"class_uid\":4002,\"class_name\":\"HTTP Activity\"");
            }
            CLASS_API_ACTIVITY => self.put(b",\"class_uid\":6003,\"class_name\":\"API Activity\""),
            CLASS_METRIC => self.put(b",\"class_uid\":99001,\"class_name\":\"Metric\""),
            _ => {
                self.put(b",\"class_uid\":");
                self.put_slice(itoa::Buffer::new().format(class_uid).as_bytes());
                self.put(b",\"class_name\":\"");
                self.body(class_name(class_uid).as_bytes());
            }
        }
    }

    /// The members of a non-empty endpoint and its closing brace.
    fn endpoint(&mut self, endpoint: &crate::schema::Endpoint) {
        // A comma goes before every member but the first.
        let mut first = true;
        if let Some(ip) = endpoint.ip {
            self.put(b"\"ip\":");
            self.ip(ip);
            first = false;
        }
        if let Some(port) = endpoint.port {
            if !first {
                self.put(b",");
            }
            self.put(b"\"port\":");
            self.port(port);
            first = false;
        }
        if let Some(host) = &endpoint.hostname {
            if !first {
                self.put(b",");
            }
            self.put(b"\"hostname\":\"");
            self.body(host.as_bytes());
        }
        self.put(b"}");
    }

    /// Writes a port: its digits from [`eight_digits`], the leading zeros shifted out.
    fn port(&mut self, port: u16) {
        let digits = 1
            + usize::from(port >= 10)
            + usize::from(port >= 100)
            + usize::from(port >= 1_000)
            + usize::from(port >= 10_000);
        let ascii = eight_digits(u32::from(port)) >> (8 * (8 - digits));
        self.room(8);
        self.stage[self.n..self.n + 8].copy_from_slice(&ascii.to_le_bytes());
        self.n += digits;
    }

    /// Writes a time in ms since the epoch: [`thirteen_digits`] for the 13-digit ones (from
    /// 2001 to 2286: `time` and `logged_time` of nearly every event), `itoa` for others.
    fn ms(&mut self, ms: i64) {
        match u64::try_from(ms) {
            Ok(ms @ 1_000_000_000_000..=9_999_999_999_999) => {
                self.room(16);
                self.stage[self.n..self.n + 16].copy_from_slice(&thirteen_digits(ms));
                self.n += 13;
            }
            _ => self.put_slice(itoa::Buffer::new().format(ms).as_bytes()),
        }
    }

    /// [`Writer::ms`] for `logged_time`, whose digits are kept from one event to the next.
    fn logged_time(&mut self, ms: i64) {
        if ms == self.logged.0 {
            self.put(&self.logged.1.clone());
            self.n -= 3;
        } else if (1_000_000_000_000..=9_999_999_999_999).contains(&ms) {
            *self.logged = (ms, thirteen_digits(ms as u64));
            self.put(&self.logged.1.clone());
            self.n -= 3;
        } else {
            self.ms(ms);
        }
    }

    fn f64(&mut self, value: f64) {
        match whole(value) {
            Some(int) => {
                self.put_slice(itoa::Buffer::new().format(int).as_bytes());
                self.put(b".0");
            }
            None => self.put_slice(f64_json(&mut ryu::Buffer::new(), value)),
        }
    }

    /// Writes the quoted text form of `ip`, as `Display` writes it (for IPv6: RFC 5952 zero-run
    /// compression, lowercase hex, `::ffff:a.b.c.d` for IPv4-mapped addresses), straight into
    /// the stage rather than through `fmt`.
    fn ip(&mut self, ip: IpAddr) {
        // `"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"` is 41 bytes; each step writes up to 4 bytes
        // past its end.
        self.room(48);
        let (stage, mut n) = (&mut *self.stage, self.n);
        stage[n] = b'"';
        n += 1;
        match ip {
            IpAddr::V4(v4) => n = put_ipv4(stage, n, v4.octets()),
            IpAddr::V6(v6) => {
                if let Some(v4) = v6.to_ipv4_mapped() {
                    stage[n..n + 7].copy_from_slice(b"::ffff:");
                    n = put_ipv4(stage, n + 7, v4.octets());
                } else {
                    let segments = v6.segments();
                    // The first longest run of zero segments; compressed when 2 or longer.
                    let (mut best_start, mut best_len, mut run_start, mut run_len) = (0, 0, 0, 0);
                    for (i, &segment) in segments.iter().enumerate() {
                        if segment == 0 {
                            if run_len == 0 {
                                run_start = i;
                            }
                            run_len += 1;
                            if run_len > best_len {
                                (best_start, best_len) = (run_start, run_len);
                            }
                        } else {
                            run_len = 0;
                        }
                    }
                    if best_len > 1 {
                        n = put_hex_segments(stage, n, &segments[..best_start]);
                        stage[n..n + 2].copy_from_slice(b"::");
                        n = put_hex_segments(stage, n + 2, &segments[best_start + best_len..]);
                    } else {
                        n = put_hex_segments(stage, n, &segments);
                    }
                }
            }
        }
        stage[n] = b'"';
        self.n = n + 1;
    }

    /// Writes `bytes` (known to be UTF-8, e.g.
    /// [`Text::as_bytes`](crate::schema::Text::as_bytes), which skips re-validation) as the
    /// inside of a JSON string followed by the closing quote; the caller has written the
    /// opening one. Only ASCII bytes are escaped, so multi-byte characters (U+2028 and U+2029
    /// included) pass through whole, as serde_json writes them.
    #[inline(always)]
    fn body(&mut self, bytes: &[u8]) {
        self.n = text(self.out, self.stage, self.n, bytes);
    }
}

/// The longest text the short paths ([`text`], [`member`]) take.
const SHORT: usize = 64;
/// Spaces stored after a copied text: the windows [`first_escape`] reads past its end.
const PAD: usize = 32;

/// Writes `bytes` (UTF-8), escaped, then the closing quote at `stage[n..]`; returns the end.
///
/// Most texts need no escaping, so the text is first copied as is, and the copy is checked for
/// bytes to escape in whole 16-byte windows (the stage can be read past the text's end, the
/// text's own slice cannot); the window past the end reads spaces, stored there first. A text
/// with a byte to escape is written again from that byte by [`escape_chunked`].
///
/// This is the path of short texts (most keys and values), kept free of calls but tail calls
/// so that it saves no registers; longer ones and a full stage go to [`text_long`].
#[inline(never)]
fn text(out: &mut Vec<u8>, stage: &mut [u8; STAGE], n: usize, bytes: &[u8]) -> usize {
    let len = bytes.len();
    if len > SHORT || n + SHORT + PAD > STAGE {
        return text_long(out, stage, n, bytes);
    }
    // One bounds check for the text, the spaces after it and the windows.
    let at: &mut [u8; SHORT + PAD] = (&mut stage[n..n + SHORT + PAD])
        .try_into()
        .expect("in the stage");
    copy_short(&mut at[..len], bytes);
    at[len..len + PAD].copy_from_slice(&[b' '; PAD]);
    let first = first_escape(at, len);
    if first < len {
        return escape_chunked(out, stage, n + first, &bytes[first..]);
    }
    at[len] = b'"';
    n + len + 1
}

/// [`text`] for texts longer than [`SHORT`], or when the stage may be full.
#[inline(never)]
fn text_long(out: &mut Vec<u8>, stage: &mut [u8; STAGE], mut n: usize, bytes: &[u8]) -> usize {
    let len = bytes.len();
    if n + len + PAD > STAGE {
        if len + PAD > STAGE {
            return escape_chunked(out, stage, n, bytes);
        }
        flush(out, stage, n);
        n = 0;
    }
    let at = &mut stage[n..n + len + PAD];
    at[..len].copy_from_slice(bytes);
    at[len..].copy_from_slice(&[b' '; PAD]);
    let mut i = 0;
    while i < len {
        if escape_any(at[i..i + 32].try_into().expect("32 bytes")) {
            let first = i + first_escape(&at[i..], 32);
            return escape_chunked(out, stage, n + first, &bytes[first..]);
        }
        i += 32;
    }
    stage[n + len] = b'"';
    n + len + 1
}

/// Writes one member of `unmapped`, `"key":"value"` after `sep` (`{` before the first, `,`
/// before the others), at `stage[n..]`; returns the end.
///
/// Short keys and values (most) are copied with three spaces between them and checked
/// together (in two 16-byte windows when they fit, as most pairs do), and only then is `":"`
/// written over the spaces. Others, and pairs with bytes to escape, go through [`text`].
#[inline(always)]
fn member(
    out: &mut Vec<u8>,
    stage: &mut [u8; STAGE],
    n: usize,
    sep: u8,
    key: &[u8],
    value: &[u8],
) -> usize {
    const ROOM: usize = 2 + SHORT + 3 + SHORT + PAD;
    let (k, v) = (key.len(), value.len());
    if k <= SHORT && v <= SHORT && n + ROOM <= STAGE {
        let at: &mut [u8; ROOM] = (&mut stage[n..n + ROOM]).try_into().expect("in the stage");
        at[..2].copy_from_slice(&[sep, b'"']);
        let start = 2 + k + 3;
        copy_short(&mut at[2..2 + k], key);
        at[2 + k..start].copy_from_slice(b"   ");
        copy_short(&mut at[start..start + v], value);
        at[start + v..start + v + PAD].copy_from_slice(&[b' '; PAD]);
        let span = k + 3 + v;
        if first_escape(&at[2..], span) >= span {
            at[2 + k..start].copy_from_slice(b"\":\"");
            at[start + v] = b'"';
            return n + start + v + 1;
        }
    }
    member_slow(out, stage, n, sep, key, value)
}

/// [`member`] the long way.
#[cold]
#[inline(never)]
fn member_slow(
    out: &mut Vec<u8>,
    stage: &mut [u8; STAGE],
    n: usize,
    sep: u8,
    key: &[u8],
    value: &[u8],
) -> usize {
    let mut n = room(out, stage, n, 2);
    stage[n..n + 2].copy_from_slice(&[sep, b'"']);
    n = text(out, stage, n + 2, key);
    n = room(out, stage, n, 2);
    stage[n..n + 2].copy_from_slice(b":\"");
    text(out, stage, n + 2, value)
}

/// Copies `src` (at most [`SHORT`] bytes) into `dst` (of the same length) with two
/// overlapping fixed-size copies (byte by byte below 4 bytes).
#[inline(always)]
fn copy_short(dst: &mut [u8], src: &[u8]) {
    let len = src.len();
    if len >= 32 {
        copy_ends::<32>(dst, src);
    } else if len >= 16 {
        copy_ends::<16>(dst, src);
    } else if len >= 8 {
        copy_ends::<8>(dst, src);
    } else if len >= 4 {
        copy_ends::<4>(dst, src);
    } else if len > 0 {
        // 1..=3 bytes: the first, the middle and the last (some the same).
        dst[0] = src[0];
        dst[len / 2] = src[len / 2];
        dst[len - 1] = src[len - 1];
    }
}

/// Copies the first and the last `K` bytes of `src` (`K <= len <= 2 * K`) to `dst`.
#[inline(always)]
fn copy_ends<const K: usize>(dst: &mut [u8], src: &[u8]) {
    let len = src.len();
    dst[..K].copy_from_slice(&src[..K]);
    dst[len - K..].copy_from_slice(&src[len - K..]);
}

/// The offset of the first byte of `at[..len]` to escape, or an offset of `len` or more when
/// there is none. The bytes from `len` up to the next multiple of 16 must not be ones to escape
/// (the callers store [`PAD`] spaces there): the windows are read whole.
#[inline(always)]
fn first_escape(at: &[u8], len: usize) -> usize {
    let mut i = 0;
    loop {
        let bits = escape_bits(at[i..i + 16].try_into().expect("16 bytes"));
        if bits != 0 {
            return i + bits.trailing_zeros() as usize;
        }
        i += 16;
        if i >= len {
            return i;
        }
    }
}

/// Bit `i` set where byte `i` of the 16 is one to escape: a control character, `"` or `\\`.
///
/// On x86-64, six SSE2 instructions (part of the baseline every x86-64 CPU has, so there is
/// nothing to detect at run time); portable code that the compiler vectorised gave 20 or more,
/// depending on the context it was inlined into, and this check runs once per text.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(crate) fn escape_bits(window: &[u8; 16]) -> u32 {
    use std::arch::x86_64::{
        _mm_cmpeq_epi8, _mm_loadu_si128, _mm_min_epu8, _mm_movemask_epi8, _mm_or_si128,
        _mm_set1_epi8,
    };
    #[allow(unsafe_code)]
    // SAFETY: the load reads the 16 bytes `window` borrows (no alignment needed); the other
    // intrinsics only need SSE2, which every x86-64 target has.
    unsafe {
        let v = _mm_loadu_si128(window.as_ptr().cast());
        let quote = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8));
        let backslash = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8));
        // Unsigned: v < 0x20 exactly when min(v, 0x1f) == v.
        let control = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1f)), v);
        _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(quote, backslash), control)) as u32
    }
}

#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
pub(crate) fn escape_bits(window: &[u8; 16]) -> u32 {
    escape_bits_portable(window)
}

/// Whether any of the 32 bytes is one to escape: for long texts, checked as a whole, where
/// the position matters only once one is found. On x86-64 the compares of both halves are
/// combined before one movemask (about 0.5 instructions per byte).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn escape_any(window: &[u8; 32]) -> bool {
    use std::arch::x86_64::{
        _mm_cmpeq_epi8, _mm_loadu_si128, _mm_min_epu8, _mm_movemask_epi8, _mm_or_si128,
        _mm_set1_epi8,
    };
    #[allow(unsafe_code)]
    // SAFETY: the loads read the 32 bytes `window` borrows, 16 from its start and 16 from
    // its middle (no alignment needed); the other intrinsics only need SSE2, which every
    // x86-64 target has.
    unsafe {
        let (quote, backslash, below) = (
            _mm_set1_epi8(b'"' as i8),
            _mm_set1_epi8(b'\\' as i8),
            _mm_set1_epi8(0x1f),
        );
        let flags = |v| {
            let control = _mm_cmpeq_epi8(_mm_min_epu8(v, below), v);
            _mm_or_si128(
                _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
                control,
            )
        };
        let low = _mm_loadu_si128(window.as_ptr().cast());
        let high = _mm_loadu_si128(window[16..].as_ptr().cast());
        _mm_movemask_epi8(_mm_or_si128(flags(low), flags(high))) != 0
    }
}

#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn escape_any(window: &[u8; 32]) -> bool {
    let (low, high) = window.split_at(16);
    escape_bits_portable(low.try_into().expect("16 bytes"))
        | escape_bits_portable(high.try_into().expect("16 bytes"))
        != 0
}

/// [`escape_bits`] byte by byte: elsewhere than x86-64, and the reference in the tests.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
#[inline(always)]
fn escape_bits_portable(window: &[u8; 16]) -> u32 {
    window.iter().enumerate().fold(0, |bits, (i, &b)| {
        bits | u32::from(ESCAPE[usize::from(b)] != 0) << i
    })
}

/// Writes `bytes` (UTF-8) escaped, then the closing quote, at `stage[n..]`, flushing as it
/// fills; returns the end. The path for texts that need escaping or do not fit the stage.
///
/// The text goes 32 bytes at a time through [`escape_block`]; the last 1..=31 bytes are
/// padded with spaces to a block (spaces need no escape, so they come out last and as is) and
/// cut back after.
#[inline(never)]
fn escape_chunked(out: &mut Vec<u8>, stage: &mut [u8; STAGE], mut n: usize, bytes: &[u8]) -> usize {
    let mut rest = bytes;
    while let Some((block, tail)) = rest.split_first_chunk::<32>() {
        n = room(out, stage, n, STEP_MAX);
        n = escape_block(stage, n, block);
        rest = tail;
    }
    let left = rest.len();
    n = room(out, stage, n, STEP_MAX);
    if left > 0 {
        let mut block = [b' '; 32];
        copy_short(&mut block[..left], rest);
        n = escape_block(stage, n, &block) - (32 - left);
    }
    stage[n] = b'"';
    n + 1
}

/// Writes the 32 bytes of `block` escaped at `stage[n..]` (which has room for [`STEP_MAX`]
/// bytes); returns the end.
///
/// The block is stored as is; that is all when [`escape_bits`] flags nothing. Otherwise, from
/// the first flagged byte on, each flagged byte costs the store of its escape and one 32-byte
/// store of the bytes after it (kept up to the next flagged byte): stores may run past the
/// bytes meant, and the next write lands where the meant bytes end.
#[inline(always)]
fn escape_block(stage: &mut [u8; STAGE], n: usize, block: &[u8; 32]) -> usize {
    let (low, high) = block.split_at(16);
    let mut bits = escape_bits(low.try_into().expect("16 bytes"))
        | escape_bits(high.try_into().expect("16 bytes")) << 16;
    stage[n..n + 32].copy_from_slice(block);
    if bits == 0 {
        return n + 32;
    }
    // The block with room after it, so that 32 bytes can be read from any offset in it.
    let mut padded = [0u8; 64];
    padded[..32].copy_from_slice(block);
    let mut n = n + bits.trailing_zeros() as usize;
    while bits != 0 {
        let at = bits.trailing_zeros() as usize;
        bits &= bits - 1;
        // `trailing_zeros` of 0 is 32: the last stretch runs to the end of the block.
        let next = bits.trailing_zeros() as usize;
        let escape = ESCAPED[usize::from(padded[at] & 0x7f)];
        stage[n..n + 8].copy_from_slice(&escape);
        n += usize::from(escape[7]);
        stage[n..n + 32].copy_from_slice(&padded[at + 1..at + 33]);
        n += next - at - 1;
    }
    n
}

/// Makes room for `k` (at most [`STEP_MAX`]) bytes in the stage whose first `n` bytes are
/// written, flushing it to `out` when full; returns the position to write at.
#[inline(always)]
fn room(out: &mut Vec<u8>, stage: &[u8; STAGE], n: usize, k: usize) -> usize {
    if n + k > STAGE {
        flush(out, stage, n);
        0
    } else {
        n
    }
}

/// Decimal digits of 0..=255 followed by a dot (and a byte to ignore): `*b"42.\0"`.
static DOTTED: [[u8; 4]; 256] = {
    let mut table = [[0u8; 4]; 256];
    let mut n = 0;
    while n < 256 {
        let (h, t, o) = ((n / 100) as u8, (n / 10 % 10) as u8, (n % 10) as u8);
        table[n] = if n >= 100 {
            [b'0' + h, b'0' + t, b'0' + o, b'.']
        } else if n >= 10 {
            [b'0' + t, b'0' + o, b'.', 0]
        } else {
            [b'0' + o, b'.', 0, 0]
        };
        n += 1;
    }
    table
};

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Writes `a.b.c.d` at `stage[n..]`; returns the end. A dot follows it there, for the next
/// write to overwrite: one 4-byte store per octet, of its digits and the dot after them.
#[inline(always)]
fn put_ipv4(stage: &mut [u8; STAGE], mut n: usize, octets: [u8; 4]) -> usize {
    for octet in octets {
        stage[n..n + 4].copy_from_slice(&DOTTED[usize::from(octet)]);
        n += 2 + usize::from(octet >= 10) + usize::from(octet >= 100);
    }
    n - 1
}

/// Writes the segments as colon-separated lowercase hex without leading zeros.
fn put_hex_segments(stage: &mut [u8; STAGE], mut n: usize, segments: &[u16]) -> usize {
    for (i, &segment) in segments.iter().enumerate() {
        if i > 0 {
            stage[n] = b':';
            n += 1;
        }
        let digits = 4 - (segment | 1).leading_zeros() as usize / 4;
        // Left-align the significant digits, write four, keep `digits` of them.
        let aligned = segment << (4 * (4 - digits));
        stage[n..n + 4].copy_from_slice(&[
            HEX[usize::from(aligned >> 12)],
            HEX[usize::from((aligned >> 8) & 0xf)],
            HEX[usize::from((aligned >> 4) & 0xf)],
            HEX[usize::from(aligned & 0xf)],
        ]);
        n += digits;
    }
    n
}

/// A metric value as JSON: the shortest decimal that reads back the same, `null` when it is
/// not finite (JSON has no NaN or infinity).
fn f64_json(buf: &mut ryu::Buffer, value: f64) -> &[u8] {
    if value.is_finite() {
        buf.format_finite(value).as_bytes()
    } else {
        b"null"
    }
}

/// The 13 decimal digits of `n` (`10^12 <= n < 10^13`), then 3 bytes to ignore.
#[inline(always)]
fn thirteen_digits(n: u64) -> [u8; 16] {
    // The first 5 digits as 8 ("000" first), then the last 8; the 3 zeros shifted out.
    let high = u128::from(eight_digits((n / 100_000_000) as u32));
    let low = u128::from(eight_digits((n % 100_000_000) as u32));
    ((high | (low << 64)) >> 24).to_le_bytes()
}

/// The 8 decimal digits of `n` (`n < 10^8`, with leading zeros) as ASCII, first digit in the
/// lowest byte, computed in parallel lanes of one word (no per-digit division or table).
#[inline(always)]
fn eight_digits(n: u32) -> u64 {
    let n = u64::from(n);
    // Two 4-digit halves in 32-bit lanes, the leading half in the low lane.
    let v = (n / 10_000) | ((n % 10_000) << 32);
    // Each lane into two 2-digit lanes of 16 bits: x / 100 is (x * 10486) >> 20 for x < 10^4.
    let hundreds = ((v * 10_486) >> 20) & 0x0000_007f_0000_007f;
    let v = hundreds | ((v - hundreds * 100) << 16);
    // Each of those into two 1-digit lanes of 8 bits: x / 10 is (x * 103) >> 10 for x < 100.
    let tens = ((v * 103) >> 10) & 0x000f_000f_000f_000f;
    let v = tens | ((v - tens * 10) << 8);
    v + 0x3030_3030_3030_3030
}

/// `value` as an integer when it is a whole number of magnitude below 10^15 (other than
/// -0.0). Most metrics are (counts, bytes, packets), and for them ryu's shortest form is the
/// integer's digits and `.0` (below 2^53 neighbouring doubles are at most 1 apart, so no shorter
/// digit string reads back the same, and ryu writes exponents of 15 or less in full), which
/// `itoa` writes in a fraction of the time.
#[inline(always)]
fn whole(value: f64) -> Option<i64> {
    let int = value as i64;
    (value.abs() < 1e15 && int as f64 == value && value.to_bits() != (-0.0f64).to_bits())
        .then_some(int)
}

fn write_f64(out: &mut Vec<u8>, value: f64) {
    out.extend_from_slice(f64_json(&mut ryu::Buffer::new(), value));
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

/// The escape of each ASCII byte [`ESCAPE`] flags (`\"`, `\n`, `\u001f`, ...), left-aligned,
/// with its length in the last slot.
static ESCAPED: [[u8; 8]; 128] = {
    let mut table = [[0u8; 8]; 128];
    let mut b = 0;
    while b < 128 {
        table[b] = match ESCAPE[b] {
            0 => [0; 8],
            b'u' => [b'\\', b'u', b'0', b'0', HEX[b >> 4], HEX[b & 0xf], 0, 6],
            short => [b'\\', short, 0, 0, 0, 0, 0, 2],
        };
        b += 1;
    }
    table
};

/// Writes `s` as a quoted JSON string. UTF-8 is kept as is; quotes, backslashes and control
/// characters are escaped.
pub(super) fn write_str(out: &mut Vec<u8>, s: &str) {
    with_writer(out, |w| {
        w.put(b"\"");
        w.body(s.as_bytes());
    });
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
    use proptest::prelude::*;

    fn write_ip(out: &mut Vec<u8>, ip: IpAddr) {
        with_writer(out, |w| w.ip(ip));
    }
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
    fn escape_checks_flag_exactly_the_bytes_the_table_escapes() {
        // Every byte at every position of a window, beside every other byte.
        for b in 0..=255u8 {
            for other in 0..=255u8 {
                for pos in 0..16 {
                    let mut window = [other; 16];
                    window[pos] = b;
                    let expected = window.iter().enumerate().fold(0, |bits, (i, &byte)| {
                        bits | u32::from(ESCAPE[usize::from(byte)] != 0) << i
                    });
                    assert_eq!(
                        escape_bits(&window),
                        expected,
                        "byte {b:#04x} at {pos} among {other:#04x}"
                    );
                    assert_eq!(escape_bits_portable(&window), expected);
                }
                for pos in 0..32 {
                    let mut window = [other; 32];
                    window[pos] = b;
                    let expected = window.iter().any(|&byte| ESCAPE[usize::from(byte)] != 0);
                    assert_eq!(escape_any(&window), expected, "{b:#04x} at {pos} of 32");
                }
            }
        }
    }

    /// What the writer makes of `p` filler bytes followed by `f`'s writes: the short paths
    /// leave the stage for the long ones, and flush, at different positions near its end.
    fn after_filler(p: usize, f: impl FnOnce(&mut Writer<'_>)) -> String {
        let mut out = Vec::new();
        with_writer(&mut out, |w| {
            for _ in 0..p / 64 {
                w.put(&[b'x'; 64]);
            }
            for _ in 0..p % 64 {
                w.put(b"x");
            }
            f(w);
        });
        let out = String::from_utf8(out).expect("UTF-8");
        assert_eq!(&out[..p], "x".repeat(p), "the filler comes through");
        out[p..].to_owned()
    }

    /// Texts of the lengths around each path's limits, clean and with a byte to escape at the
    /// start, the middle and the end.
    fn edge_texts() -> Vec<String> {
        let mut texts = Vec::new();
        for len in [
            0, 1, 2, 3, 4, 7, 8, 15, 16, 17, 31, 32, 33, 47, 48, 64, 65, 100,
        ] {
            let clean: String = "abcdefghij".chars().cycle().take(len).collect();
            for at in [0, len / 2, len.saturating_sub(1)] {
                if len > 0 {
                    let mut dirty = clean.clone();
                    dirty.replace_range(at..=at, if at % 2 == 0 { "\"" } else { "\n" });
                    texts.push(dirty);
                }
            }
            texts.push(clean);
        }
        texts.push("é🦀 \u{2028}".repeat(5));
        texts
    }

    #[test]
    fn texts_write_the_same_at_every_position_near_the_end_of_the_stage() {
        for text in edge_texts() {
            let expected = serde_json::to_string(&text).unwrap();
            for p in (0..64).chain(STAGE - 300..STAGE + 40) {
                let got = after_filler(p, |w| {
                    w.put(b"\"");
                    w.body(text.as_bytes());
                });
                assert_eq!(got, expected, "{text:?} after {p} bytes");
            }
        }
    }

    #[test]
    fn unmapped_members_write_the_same_at_every_position_near_the_end_of_the_stage() {
        let texts = edge_texts();
        for key in &texts {
            for value in texts.iter().step_by(3) {
                let expected = format!(
                    "{{{}:{}",
                    serde_json::to_string(key).unwrap(),
                    serde_json::to_string(value).unwrap()
                );
                for p in (0..4).chain(STAGE - 160..STAGE + 8) {
                    let got = after_filler(p, |w| {
                        w.n = member(w.out, w.stage, w.n, b'{', key.as_bytes(), value.as_bytes());
                    });
                    assert_eq!(got, expected, "{key:?}: {value:?} after {p} bytes");
                }
            }
        }
    }

    #[test]
    fn eight_digits_are_the_decimal_digits() {
        let check = |n: u32| {
            assert_eq!(
                eight_digits(n).to_le_bytes(),
                *format!("{n:08}").as_bytes(),
                "{n}"
            );
        };
        // Every value below 10^6, then strides over the rest and every value near each power
        // of ten and the top.
        for n in (0..1_000_000).chain((1_000_000..100_000_000).step_by(9_973)) {
            check(n);
        }
        for power in [
            10u32,
            100,
            1_000,
            10_000,
            100_000,
            1_000_000,
            10_000_000,
            100_000_000,
        ] {
            for n in power.saturating_sub(20)..power + 20 {
                if n < 100_000_000 {
                    check(n);
                }
            }
        }
        for ms in [
            1_000_000_000_000,
            1_704_448_800_123,
            9_999_999_999_999,
            5_000_000_000_000,
            1_099_999_999_999,
        ] {
            let mut out = Vec::new();
            with_writer(&mut out, |w| w.ms(ms));
            assert_eq!(String::from_utf8(out).unwrap(), ms.to_string());
        }
    }

    #[test]
    fn logged_times_write_right_when_they_change_between_events() {
        // The digits of the last 13-digit logged time are kept: each event must still get its
        // own, whatever came before (shorter times, zero, the same, another).
        let ms = [
            1_704_448_801_500,
            1_704_448_801_500,
            0,
            1_704_448_801_501,
            2,
            1_704_448_801_500,
            9_999_999_999_999,
            10_000_000_000_000,
            9_999_999_999_999,
        ];
        for (i, &ms) in ms.iter().enumerate() {
            let event = Event {
                received_ns: ms * 1_000_000 + 999_999,
                ..Event::default()
            };
            let expected = format!(r#""logged_time":{ms}}}}}"#);
            assert!(to_json(&event).ends_with(&expected), "event {i}: {ms}");
        }
    }

    #[test]
    fn every_port_writes_as_itoa_does() {
        for port in 0..=u16::MAX {
            let mut out = Vec::new();
            with_writer(&mut out, |w| w.port(port));
            assert_eq!(out, port.to_string().as_bytes());
        }
    }

    fn metric(value: f64) -> String {
        let mut out = Vec::new();
        with_writer(&mut out, |w| w.f64(value));
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn whole_metrics_write_as_ryu_does() {
        let ryu = |value: f64| String::from_utf8(f64_json(&mut ryu::Buffer::new(), value).to_vec());
        let mut values = vec![0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 1e-7, 123.0, 1500.0, 2.5];
        for exponent in 0..=22 {
            let power = 10f64.powi(exponent);
            values.extend([
                power,
                -power,
                power - 1.0,
                power + 1.0,
                1.0 - power,
                power * 3.0,
            ]);
        }
        for bits in [53, 54, 63, 64] {
            let power = 2f64.powi(bits);
            values.extend([power, power - 1.0, -power, power + 2.0]);
        }
        values.extend([
            f64::MAX,
            f64::MIN,
            f64::MIN_POSITIVE,
            f64::NAN,
            f64::INFINITY,
        ]);
        for value in values {
            assert_eq!(metric(value), ryu(value).unwrap(), "{value:e}");
        }
        assert!(whole(1e15 - 1.0).is_some() && whole(1e15).is_none());
        assert_eq!(whole(-0.0), None);
        assert_eq!(whole(f64::NAN), None);
    }

    fn written(s: &str) -> String {
        let mut out = Vec::new();
        write_str(&mut out, s);
        String::from_utf8(out).expect("the escaper keeps UTF-8 whole")
    }

    /// The escaper writes what serde_json writes, and that reads back to the input.
    fn check_escapes(s: &str) {
        let json = written(s);
        assert_eq!(json, serde_json::to_string(s).unwrap(), "{s:?}");
        assert_eq!(serde_json::from_str::<String>(&json).unwrap(), s);
    }

    #[test]
    fn every_ascii_byte_escapes_like_serde_json_at_every_offset() {
        // Each ASCII character alone, and at every offset of texts up to 97 bytes long (so at
        // every position of a 16- and 32-byte window, short texts and long ones), among
        // plain ASCII, among bytes that need escaping and among multi-byte characters.
        for c in (0..=0x7fu8).map(char::from) {
            check_escapes(&c.to_string());
            for len in (1..=41).chain(64..=72).chain([95, 96, 97]) {
                for at in 0..len {
                    for filler in ["a", "\"", "\u{1}", "é"] {
                        let mut s: String = filler.repeat(len);
                        // Byte offset `at` in ASCII filler, character `at` otherwise.
                        let at = s.char_indices().nth(at).map_or(s.len(), |(i, _)| i);
                        s.insert(at, c);
                        check_escapes(&s);
                    }
                }
            }
        }
    }

    #[test]
    fn multi_byte_characters_pass_through_whole() {
        for c in [
            '\u{80}', 'é', '\u{7ff}', '\u{800}', '\u{2028}', '\u{2029}', '\u{feff}',
        ]
        .into_iter()
        .chain(['\u{ffff}', '🦀', '\u{10ffff}'])
        {
            for len in 0..40 {
                for at in 0..=len {
                    let mut s = "x\"".repeat(len / 2) + &"y".repeat(len % 2);
                    s.insert(at.min(s.len()), c);
                    check_escapes(&s);
                    check_escapes(&c.to_string().repeat(len + 1));
                }
            }
        }
        // U+2028 / U+2029 stay raw, as serde_json leaves them.
        assert_eq!(written("a\u{2028}b\u{2029}"), "\"a\u{2028}b\u{2029}\"");
    }

    #[test]
    fn long_escape_heavy_text_escapes_like_serde_json() {
        let raw = r#"{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","arn":"a\\b"}}"#;
        // 200 repeats run past the 4 KiB staging array several times.
        for repeat in [1, 7, 33, 200] {
            let s = format!(
                "{}\n\t{}\u{0}{}",
                raw.repeat(repeat),
                "é🦀",
                "\\".repeat(repeat)
            );
            check_escapes(&s);
            for cut in 0..s.len().min(100) {
                if s.is_char_boundary(cut) {
                    check_escapes(&s[cut..]);
                }
            }
        }
    }

    proptest! {
        #[test]
        fn arbitrary_text_escapes_like_serde_json(s in ".*") {
            check_escapes(&s);
        }

        #[test]
        fn escape_dense_text_escapes_like_serde_json(
            s in proptest::collection::vec(
                prop_oneof![
                    proptest::char::range('\u{0}', '\u{7f}'),
                    proptest::sample::select(vec!['"', '\\', '\n', 'é', '€', '🦀', '\u{2028}']),
                ],
                0..200,
            ).prop_map(|chars| chars.into_iter().collect::<String>())
        ) {
            check_escapes(&s);
        }

        #[test]
        fn times_write_as_itoa_does(ms in any::<i64>(), thirteen in 1_000_000_000_000i64..10_000_000_000_000) {
            for ms in [ms, thirteen, ms % 100_000_000_000_000] {
                let mut out = Vec::new();
                with_writer(&mut out, |w| w.ms(ms));
                prop_assert_eq!(String::from_utf8(out).unwrap(), ms.to_string());
            }
        }

        #[test]
        fn metrics_write_as_ryu_does(value in any::<f64>(), int in any::<i64>()) {
            let ryu = |value: f64| String::from_utf8(f64_json(&mut ryu::Buffer::new(), value).to_vec()).unwrap();
            prop_assert_eq!(metric(value), ryu(value));
            prop_assert_eq!(metric(int as f64), ryu(int as f64));
            let small = (int % 1_000_000_000_000_000) as f64;
            prop_assert_eq!(metric(small), ryu(small));
        }

        #[test]
        fn ipv6_writes_as_display_does(segments in proptest::array::uniform8(
            prop_oneof![Just(0u16), Just(0u16), Just(1), Just(0xffff), proptest::num::u16::ANY]
        )) {
            let ip = IpAddr::from(std::net::Ipv6Addr::from(segments));
            let mut out = Vec::new();
            write_ip(&mut out, ip);
            prop_assert_eq!(String::from_utf8(out).unwrap(), format!("\"{ip}\""));
        }

        #[test]
        fn any_ip_writes_as_display_does(bytes in any::<[u8; 16]>(), v4 in any::<bool>()) {
            let ip = if v4 {
                IpAddr::from([bytes[0], bytes[1], bytes[2], bytes[3]])
            } else {
                IpAddr::from(bytes)
            };
            let mut out = Vec::new();
            write_ip(&mut out, ip);
            prop_assert_eq!(String::from_utf8(out).unwrap(), format!("\"{ip}\""));
        }
    }

    #[test]
    fn ips_write_as_display_does() {
        let check = |ip: IpAddr| {
            let mut out = Vec::new();
            write_ip(&mut out, ip);
            assert_eq!(String::from_utf8(out).unwrap(), format!("\"{ip}\""));
        };
        for octet in 0..=255u8 {
            check(IpAddr::from([octet, 255 - octet, octet / 3, 9]));
            check(IpAddr::from([
                0,
                0,
                0,
                0,
                0,
                0xffff,
                u16::from(octet) << 8,
                1,
            ]));
        }
        // Every pattern of zero and non-zero segments (zero runs of each length at each place,
        // ties between runs), with segment values of 1 to 4 hex digits.
        for zeros in 0..=255u16 {
            for value in [1, 0xa, 0x1f, 0x100, 0xbeef, 0xffff] {
                let segments: [u16; 8] =
                    std::array::from_fn(|i| if zeros >> i & 1 == 1 { 0 } else { value });
                check(IpAddr::from(segments));
            }
        }
        for text in [
            "::",
            "::1",
            "1::",
            "::ffff:1.2.3.4",
            "::1.2.3.4",
            "64:ff9b::1.2.3.4",
        ] {
            check(text.parse().unwrap());
        }
    }

    #[test]
    fn events_larger_than_the_staging_array_read_back_whole() {
        let long = |c: &str| Text::from_string(format!("{c}\"q\" \u{1}é").repeat(700));
        let event = Event {
            message: long("m"),
            unmapped: (0..40)
                .map(|i| (Text::from_string(format!("k{i}")), long("v")))
                .collect(),
            ..network_event()
        };
        let json = to_json(&event);
        assert!(json.len() > 10 * STAGE);
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["message"], event.message.as_str());
        assert_eq!(
            value["unmapped"]["k39"],
            event.unmapped.entry(39).unwrap().1
        );
        assert!(json.ends_with(r#""tocsin":{"source":"http-ingest","entity":"fw-01"}}"#));
    }

    #[test]
    fn fixed_captions_match_the_schema_names() {
        for id in 0..=255u8 {
            let event = Event {
                severity_id: id,
                ..Event::default()
            };
            let expected = format!(
                r#","severity_id":{id},"severity":"{}","#,
                crate::schema::severity::name(id)
            );
            assert!(to_json(&event).contains(&expected), "{id}");
        }
        for class_uid in [
            0,
            1007,
            2004,
            3002,
            4001,
            4002,
            6003,
            99_001,
            1,
            4003,
            u32::MAX,
        ] {
            let event = Event {
                class_uid,
                ..Event::default()
            };
            let expected = format!(
                r#","class_uid":{class_uid},"class_name":"{}","#,
                crate::schema::class_name(class_uid)
            );
            assert!(to_json(&event).contains(&expected), "{class_uid}");
        }
        for status in [Status::Unknown, Status::Success, Status::Failure] {
            let event = Event {
                status,
                ..Event::default()
            };
            let expected = format!(r#","status":"{}""#, status.as_str());
            assert!(to_json(&event).contains(&expected));
        }
    }

    #[test]
    fn renders_deep_nesting_without_recursion() {
        let depth = 100_000;
        let json = format!(r#"{{"deep":{}{}}}"#, "[".repeat(depth), "]".repeat(depth));
        let event = parse(&json).unwrap();
        assert_eq!(event.unmapped.entry(0).unwrap().1.len(), 2 * depth);
    }

    #[test]
    fn kept_pair_objects_write_as_fresh_ones_whatever_came_before() {
        // Every event is written after every other, on one thread (pairs kept from the one
        // before), and compared with the same event written on a fresh thread (none kept).
        let long = Symbol::intern(&"v".repeat(150));
        let odd = Symbol::intern("a\"b\\c\u{1}é");
        let syms = [
            None,
            Some(Symbol::intern("Palo Alto Networks")),
            Some(Symbol::intern("PAN-OS")),
            Some(long),
            Some(odd),
            Some(Symbol::intern("")),
        ];
        let mut events = Vec::new();
        for a in syms {
            for b in syms {
                events.push(Event {
                    vendor: a,
                    product: b,
                    source: b,
                    entity: a,
                    ..Event::default()
                });
            }
        }
        let fresh: Vec<String> = events
            .iter()
            .map(|e| {
                let e = e.clone();
                std::thread::spawn(move || to_json(&e)).join().unwrap()
            })
            .collect();
        for (i, want) in fresh.iter().enumerate() {
            for (j, before) in events.iter().enumerate() {
                // Near the end of the stage too, where a pair may be split by a flush.
                for p in [0, STAGE - 200, STAGE - 130, STAGE - 100, STAGE - 40] {
                    let _ = to_json(before);
                    assert_eq!(
                        after_filler(p, |w| w.event(&events[i])),
                        *want,
                        "event {i} after event {j}, at {p}"
                    );
                }
            }
        }
    }
}
