//! Syslog header parsing: RFC 5424, RFC 3164 and the deviations real devices send.
//!
//! [`parse_syslog`] reads one frame's text into a [`SyslogHeader`] whose strings all borrow from
//! the input; it never allocates and never panics. What it accepts:
//!
//! - RFC 5424 (`<PRI>1 TIMESTAMP HOST APP PROCID MSGID SD MSG`): NILVALUE `-` in any field,
//!   fractional seconds of 1–9 digits, `Z` or `±HH:MM` offsets, a BOM before MSG, any number
//!   of SD elements with `\"`, `\\` and `\]` escapes ([`parse_structured_data`] reads them).
//!   Missing trailing fields are taken as NILVALUE.
//! - RFC 3164 (`<PRI>Mmm dd hh:mm:ss HOST TAG[PID]: MSG`), and what devices make of it: no
//!   hostname, a year (`Jan 01 2024 00:00:01`), a trailing colon on the time, Cisco sequence
//!   numbers (`123: `), `*`/`.` before the time, milliseconds, a zone word before a colon
//!   (`18:46:11.123 UTC:`), an IOS origin id (`45: router1: *Mar 1 ...`), ASA's `host : %ASA-...`,
//!   an RFC 3339 time in place of the BSD one, an IP address as hostname, and Cisco
//!   `%FAC-SEV-MNEMONIC:` tags.
//! - Anything else after a PRI (FortiGate's bare `key=value` body, for one) is
//!   [`SyslogFormat::NoHeader`] with the PRI kept and the whole body as the message; a line
//!   without PRI (a plain file line) is `NoHeader` with nothing but the message.
//!
//! Times without a zone are UTC; a BSD time without a year gets the year that puts it closest
//! to the receive time. An invalid RFC 3164 time is not an error: the line keeps no timestamp
//! and everything after the PRI is the message. An invalid RFC 5424 time is an error, since
//! the version field says the sender promised one.
//!
//! Written here rather than taken from `syslog_loose` because the header is on the per-event
//! budget (framing + header < 150 ns, no allocation) and the device deviations above (Cisco
//! sequence numbers and tags, ASA's year and lone colon) need the parser to know them; see
//! `benches/syslog_header.rs`.

mod sd;
mod time;

use sd::sd_end;
pub use sd::{parse_structured_data, SdParams};
pub(crate) use time::{days_from_civil, days_in_month};
use time::{parse_iso, timestamp};

/// Why a syslog header could not be read. Every variant says what is wrong and where.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SyslogError {
    /// `<` is not followed by a decimal number.
    #[error("PRI is not a number: '<' must be followed by 1 to 3 digits and '>'")]
    PriNotNumeric,
    /// The PRI value is above 191 (facility 23, severity 7).
    #[error("PRI {0} is out of range 0..=191")]
    PriOutOfRange(u32),
    /// The PRI digits are not followed by `>`.
    #[error("PRI is not terminated by '>'")]
    PriUnterminated,
    /// An RFC 5424-shaped header (`<PRI>N TIMESTAMP ...`) with a version other than 1.
    #[error("unsupported syslog protocol version {0} (only 1 is defined)")]
    BadVersion(u32),
    /// The RFC 5424 TIMESTAMP field is neither `-` nor an RFC 3339 time.
    #[error("RFC 5424 timestamp at byte {offset} is malformed")]
    BadTimestamp {
        /// Byte offset of the timestamp in the line.
        offset: usize,
    },
    /// An RFC 5424 structured data element has no closing `]` (or an unterminated value).
    #[error("RFC 5424 structured data starting at byte {offset} is not terminated")]
    UnterminatedStructuredData {
        /// Byte offset of the element's `[` in the line.
        offset: usize,
    },
}

/// Which header shape a line had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyslogFormat {
    /// RFC 5424 (`<PRI>1 ...`).
    Rfc5424,
    /// RFC 3164 (BSD) or one of its device variants: a timestamp, hostname, tag, Cisco
    /// sequence number or Cisco tag was found after the PRI.
    Rfc3164,
    /// No header: a line without PRI, or a PRI followed by a bare body (FortiGate).
    NoHeader,
}

/// A Cisco message tag: `%ASA-6-302013` is facility `ASA`, severity 6, mnemonic `302013`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CiscoTag<'a> {
    /// The facility (`ASA`, `SYS`, `SEC`, `FW`, `LINEPROTO`, ...).
    pub facility: &'a str,
    /// The syslog severity, 0 (emergency) to 7 (debugging).
    pub severity: u8,
    /// The mnemonic or message number (`302013`, `CONFIG_I`).
    pub mnemonic: &'a str,
}

/// A parsed syslog header; every string borrows from the parsed line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyslogHeader<'a> {
    /// Which header shape the line had.
    pub format: SyslogFormat,
    /// PRI (facility * 8 + severity), 0..=191.
    pub pri: Option<u8>,
    /// Event time, UTC ms since the epoch.
    pub timestamp_ms: Option<i64>,
    /// HOSTNAME.
    pub hostname: Option<&'a str>,
    /// APP-NAME (RFC 5424) or the TAG (RFC 3164).
    pub app_name: Option<&'a str>,
    /// PROCID (RFC 5424) or the `[pid]` of the TAG (RFC 3164).
    pub proc_id: Option<&'a str>,
    /// MSGID (RFC 5424).
    pub msg_id: Option<&'a str>,
    /// Raw STRUCTURED-DATA (`[id k="v"]...`), `None` for `-`; see [`parse_structured_data`].
    pub structured_data: Option<&'a str>,
    /// Cisco-style sequence number (`123: `).
    pub sequence: Option<u64>,
    /// Cisco `%FAC-SEV-MNEMONIC` tag.
    pub cisco: Option<CiscoTag<'a>>,
    /// MSG: the text after the header (and after a Cisco tag), without a leading BOM.
    pub message: &'a str,
}

impl<'a> SyslogHeader<'a> {
    /// Severity (0..=7) from the PRI, when there is one.
    pub fn pri_severity(&self) -> Option<u8> {
        self.pri.map(|p| p & 7)
    }

    /// Facility (0..=23) from the PRI, when there is one.
    pub fn pri_facility(&self) -> Option<u8> {
        self.pri.map(|p| p >> 3)
    }

    /// The header of a line without one: `message` is the whole line.
    pub fn bare(message: &'a str) -> SyslogHeader<'a> {
        SyslogHeader {
            format: SyslogFormat::NoHeader,
            pri: None,
            timestamp_ms: None,
            hostname: None,
            app_name: None,
            proc_id: None,
            msg_id: None,
            structured_data: None,
            sequence: None,
            cisco: None,
            message,
        }
    }

    /// Makes `self` [`Self::bare`] in place.
    fn reset(&mut self, message: &'a str) {
        *self = Self::bare(message);
    }
}

/// Parses the syslog header of one line. `reference_ms` (the receive time, UTC ms) picks the
/// year of a year-less timestamp. Trailing whitespace (space, tab, CR, LF, NUL) is ignored.
pub fn parse_syslog(line: &str, reference_ms: i64) -> Result<SyslogHeader<'_>, SyslogError> {
    let mut h = SyslogHeader::bare("");
    parse_syslog_into(line, reference_ms, &mut h)?;
    Ok(h)
}

/// [`parse_syslog`] into `h`, in place: the header is some 200 bytes, and returned by value it
/// was copied at each step from the parser to the batch that keeps it (a `memcpy` call each).
/// On an error `h` holds whatever was read before it.
pub fn parse_syslog_into<'a>(
    line: &'a str,
    reference_ms: i64,
    h: &mut SyslogHeader<'a>,
) -> Result<(), SyslogError> {
    let line = line.trim_end_matches([' ', '\t', '\r', '\n', '\0']);
    h.reset(line);
    let Some(after_lt) = line.strip_prefix('<') else {
        return Ok(());
    };
    let (pri, body) = parse_pri(after_lt)?;
    h.pri = Some(pri);
    h.message = body;
    if let Some(rest) = rfc5424_version(body)? {
        parse_5424(h, line, rest)?;
    } else {
        parse_3164(h, body, reference_ms);
    }
    Ok(())
}

/// `NNN>` after the `<`.
fn parse_pri(s: &str) -> Result<(u8, &str), SyslogError> {
    let b = s.as_bytes();
    let digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
    if digits == 0 {
        return Err(SyslogError::PriNotNumeric);
    }
    if b.get(digits) != Some(&b'>') {
        return Err(SyslogError::PriUnterminated);
    }
    let value = b[..digits].iter().fold(0u32, |n, d| {
        n.saturating_mul(10).saturating_add(u32::from(d - b'0'))
    });
    match u8::try_from(value) {
        Ok(pri) if pri <= 191 && digits <= 3 => Ok((pri, &s[digits + 1..])),
        _ => Err(SyslogError::PriOutOfRange(value)),
    }
}

/// `Some(rest after "1 ")` for an RFC 5424 line; `None` for anything not shaped like one.
fn rfc5424_version(body: &str) -> Result<Option<&str>, SyslogError> {
    let b = body.as_bytes();
    let digits = b.iter().take(4).take_while(|c| c.is_ascii_digit()).count();
    if digits == 0 || digits > 3 || b[0] == b'0' || b.get(digits) != Some(&b' ') {
        return Ok(None);
    }
    let rest = &body[digits + 1..];
    if digits == 1 && b[0] == b'1' {
        return Ok(Some(rest));
    }
    // Another version is only an error when the rest looks like a 5424 header.
    let r = rest.as_bytes();
    let nil_time = r.first() == Some(&b'-') && matches!(r.get(1), None | Some(b' '));
    let iso_time = r.len() > 4 && r[..4].iter().all(u8::is_ascii_digit) && r[4] == b'-';
    if nil_time || iso_time {
        let version = b[..digits]
            .iter()
            .fold(0u32, |n, d| n * 10 + u32::from(d - b'0'));
        return Err(SyslogError::BadVersion(version));
    }
    Ok(None)
}

fn parse_5424<'a>(
    h: &mut SyslogHeader<'a>,
    line: &'a str,
    rest: &'a str,
) -> Result<(), SyslogError> {
    h.format = SyslogFormat::Rfc5424;
    let (ts, rest) = split_token(rest);
    if ts != "-" {
        match parse_iso(ts.as_bytes(), false) {
            Some((ms, used)) if used == ts.len() => h.timestamp_ms = Some(ms),
            _ => {
                return Err(SyslogError::BadTimestamp {
                    offset: offset_in(line, ts),
                })
            }
        }
    }
    let (host, rest) = split_token(rest);
    let (app, rest) = split_token(rest);
    let (proc_id, rest) = split_token(rest);
    let (msg_id, rest) = split_token(rest);
    h.hostname = nil(host);
    h.app_name = nil(app);
    h.proc_id = nil(proc_id);
    h.msg_id = nil(msg_id);
    let msg = if rest.starts_with('[') {
        let end = sd_end(rest).ok_or(SyslogError::UnterminatedStructuredData {
            offset: offset_in(line, rest),
        })?;
        h.structured_data = Some(&rest[..end]);
        &rest[end..]
    } else if let Some(after_nil) = rest.strip_prefix('-') {
        after_nil
    } else {
        // No SD field at all: lenient, the rest is the message.
        rest
    };
    let msg = msg.strip_prefix(' ').unwrap_or(msg);
    h.message = msg.strip_prefix('\u{feff}').unwrap_or(msg);
    Ok(())
}

fn parse_3164<'a>(h: &mut SyslogHeader<'a>, body: &'a str, reference_ms: i64) {
    let mut rest = body;
    if let Some((seq, r)) = sequence(rest) {
        h.sequence = Some(seq);
        rest = r;
    }
    if let Some((ms, r)) = timestamp(rest, reference_ms) {
        h.timestamp_ms = Some(ms);
        rest = r;
    } else if let Some((host, r)) = origin_id(rest) {
        // IOS `logging origin-id`: "45: router1: *Mar  1 ..."
        if let Some((ms, r)) = timestamp(r, reference_ms) {
            h.hostname = Some(host);
            h.timestamp_ms = Some(ms);
            rest = r;
        }
    }
    if h.timestamp_ms.is_some() {
        if h.hostname.is_none() {
            rest = hostname(h, rest);
        }
        if h.sequence.is_none() {
            // A relay's header in front of the device's own "123: *Mar 1 ...: " prefix.
            if let Some((seq, r)) = sequence(rest) {
                h.sequence = Some(seq);
                rest = timestamp(r, reference_ms).map_or(r, |(_, r)| r);
            }
        }
    }
    if let Some((tag, r)) = cisco_tag(rest) {
        h.cisco = Some(tag);
        rest = r;
    } else if h.timestamp_ms.is_some() {
        if let Some((app, pid, r)) = app_tag(rest) {
            h.app_name = Some(app);
            h.proc_id = pid;
            rest = r;
        }
    }
    let found = h.timestamp_ms.is_some()
        || h.sequence.is_some()
        || h.cisco.is_some()
        || h.hostname.is_some();
    if found {
        h.format = SyslogFormat::Rfc3164;
        h.message = rest;
    }
}

/// Reads the HOSTNAME after a 3164 timestamp, when there is one, and returns the rest.
fn hostname<'a>(h: &mut SyslogHeader<'a>, rest: &'a str) -> &'a str {
    let (tok, after) = split_token(rest);
    if tok.is_empty() || tok.starts_with('%') {
        return rest;
    }
    let ip_like = tok
        .bytes()
        .all(|c| c.is_ascii_hexdigit() || c == b':' || c == b'.');
    if ip_like && tok.parse::<std::net::IpAddr>().is_ok() {
        h.hostname = Some(tok);
        return skip_lone_colon(after);
    }
    if let Some(name) = tok.strip_suffix(':') {
        // "router1: %SYS-..." is a host; "su: ..." is a tag.
        if is_hostname(name) && (cisco_tag(after).is_some() || sequence(after).is_some()) {
            h.hostname = Some(name);
            return after;
        }
        return rest;
    }
    if is_hostname(tok) {
        h.hostname = Some(tok);
        return skip_lone_colon(after);
    }
    rest
}

/// ASA's "fw01 : %ASA-..." puts a lone colon after the hostname.
fn skip_lone_colon(s: &str) -> &str {
    match s.strip_prefix(':') {
        Some(r) if r.is_empty() || r.starts_with(' ') => r.trim_start_matches(' '),
        _ => s,
    }
}

fn is_hostname(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 255
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_' | b':'))
}

/// `host: ` before a timestamp (IOS origin id).
fn origin_id(s: &str) -> Option<(&str, &str)> {
    let (tok, after) = split_token(s);
    let name = tok.strip_suffix(':')?;
    is_hostname(name).then_some((name, after))
}

/// A Cisco sequence number `123: ` (the colon followed by a space or the end).
fn sequence(s: &str) -> Option<(u64, &str)> {
    let b = s.as_bytes();
    let digits = b.iter().take(21).take_while(|c| c.is_ascii_digit()).count();
    if digits == 0 || digits > 20 || b.get(digits) != Some(&b':') {
        return None;
    }
    if !matches!(b.get(digits + 1), None | Some(b' ')) {
        return None;
    }
    // Overflow (21+ digits' worth) is no sequence number, as `str::parse` had it.
    let seq = b[..digits].iter().try_fold(0u64, |n, d| {
        n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })?;
    Some((seq, s[digits + 1..].trim_start_matches(' ')))
}

/// A 3164-style TAG: `app:`, `app[pid]:` or `app[pid]`.
fn app_tag(s: &str) -> Option<(&str, Option<&str>, &str)> {
    let (tok, after) = split_token(s);
    let tok_no_colon = tok.strip_suffix(':');
    let (app, pid) = match tok_no_colon.unwrap_or(tok).strip_suffix(']') {
        Some(t) => {
            let open = t.find('[')?;
            (&t[..open], Some(&t[open + 1..]))
        }
        None => (tok_no_colon?, None),
    };
    let app_ok = !app.is_empty()
        && app.len() <= 64
        && app.bytes().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b'/' | b'@' | b'(' | b')')
        });
    let pid_ok = pid.is_none_or(|p| !p.is_empty() && !p.bytes().any(|c| c == b'[' || c == b']'));
    (app_ok && pid_ok).then_some((app, pid.filter(|p| *p != "-"), after))
}

/// A Cisco tag `%FAC-[SUB-]SEV-MNEMONIC:` and the message after it.
fn cisco_tag(s: &str) -> Option<(CiscoTag<'_>, &str)> {
    if !s.starts_with('%') {
        return None;
    }
    let (tok, after) = split_token(s);
    let body = tok.get(1..)?.strip_suffix(':')?;
    let b = body.as_bytes();
    // Byte loops: the tag is short, `split_once` set up a search per segment.
    let dash = |from: usize| b[from..].iter().position(|&c| c == b'-').map(|k| from + k);
    let first = dash(0)?;
    let facility = &body[..first];
    if facility.is_empty()
        || !facility
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'_')
    {
        return None;
    }
    // The severity is the first segment that is a single digit 0..=7.
    let mut seg_start = first + 1;
    loop {
        let seg_end = dash(seg_start)?;
        if let [d @ b'0'..=b'7'] = &b[seg_start..seg_end] {
            let rest = &body[seg_end + 1..];
            if rest.is_empty() {
                return None;
            }
            let tag = CiscoTag {
                facility,
                severity: d - b'0',
                mnemonic: rest,
            };
            return Some((tag, after));
        }
        seg_start = seg_end + 1;
    }
}

/// The token before the first space and the rest after that space.
fn split_token(s: &str) -> (&str, &str) {
    match memchr::memchr(b' ', s.as_bytes()) {
        Some(i) => (&s[..i], &s[i + 1..]),
        None => (s, ""),
    }
}

fn nil(s: &str) -> Option<&str> {
    (!s.is_empty() && s != "-").then_some(s)
}

/// Byte offset of `part` (a sub-slice) in `line`.
fn offset_in(line: &str, part: &str) -> usize {
    (part.as_ptr() as usize).saturating_sub(line.as_ptr() as usize)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// 2024-11-01T00:00:00Z
    const REF_2024: i64 = 1_730_419_200_000;
    /// 2024-03-02T00:00:00Z
    pub(super) const REF_MAR_2024: i64 = 1_709_337_600_000;

    pub(super) fn parse(line: &str) -> SyslogHeader<'_> {
        parse_syslog(line, REF_2024).unwrap_or_else(|e| panic!("{line:?}: {e}"))
    }

    #[test]
    fn parsing_into_a_used_header_gives_what_parse_syslog_gives() {
        let lines = [
            "<165>1 2003-10-11T22:14:15.003Z host app 42 ID47 [a@1 k=\"v\"] msg",
            "<166>Jan 01 2024 00:00:01 fw01 : %ASA-6-302013: Built",
            "<38>Oct  1 08:09:10 web-01 sshd[4721]: Accepted",
            "45: router1: *Mar  1 00:00:01.123 UTC: %SYS-5-CONFIG_I: Configured",
            "<13>logid=1 devid=FG100",
            "plain line",
            "",
        ];
        for used in lines {
            for line in lines {
                let mut h = parse(used);
                assert_eq!(parse_syslog_into(line, REF_2024, &mut h), Ok(()));
                assert_eq!(h, parse(line), "{used:?} then {line:?}");
            }
            // An error leaves the header unspecified, but says so.
            let mut h = parse(used);
            let bad = "<999>x";
            assert_eq!(
                parse_syslog_into(bad, REF_2024, &mut h).unwrap_err(),
                parse_syslog(bad, REF_2024).unwrap_err()
            );
        }
    }

    #[test]
    fn rfc5424_example_with_sd_and_bom() {
        let line = "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 \
            [exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"] \
            \u{feff}An application event log entry...";
        let h = parse(line);
        assert_eq!(h.format, SyslogFormat::Rfc5424);
        assert_eq!(h.pri, Some(165));
        assert_eq!(h.pri_severity(), Some(5));
        assert_eq!(h.pri_facility(), Some(20));
        assert_eq!(h.timestamp_ms, Some(1_065_910_455_003));
        assert_eq!(h.hostname, Some("mymachine.example.com"));
        assert_eq!(h.app_name, Some("evntslog"));
        assert_eq!(h.proc_id, None);
        assert_eq!(h.msg_id, Some("ID47"));
        assert_eq!(
            h.structured_data,
            Some("[exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"]")
        );
        assert_eq!(h.message, "An application event log entry...");
        let params: Vec<_> = parse_structured_data(h.structured_data.unwrap()).collect();
        assert_eq!(params.len(), 3);
        assert_eq!(
            params[1],
            ("exampleSDID@32473", "eventSource", "Application".into())
        );
    }

    #[test]
    fn rfc5424_offsets_fractions_and_nil_everywhere() {
        let h = parse("<34>1 2003-10-11T22:14:15.003+02:00 - - - - -");
        assert_eq!(h.timestamp_ms, Some(1_065_903_255_003));
        assert_eq!(
            (h.hostname, h.app_name, h.proc_id, h.msg_id),
            (None, None, None, None)
        );
        assert_eq!((h.structured_data, h.message), (None, ""));
        let h = parse("<34>1 - - - - - - ");
        assert_eq!((h.format, h.timestamp_ms), (SyslogFormat::Rfc5424, None));
        for (ts, want) in [
            ("2003-10-11T22:14:15Z", 1_065_910_455_000),
            ("2003-10-11T22:14:15.1Z", 1_065_910_455_100),
            ("2003-10-11T22:14:15.123456789Z", 1_065_910_455_123),
            ("2003-10-11T20:14:15.003-02:00", 1_065_910_455_003),
            ("2003-10-11T22:14:15", 1_065_910_455_000),
        ] {
            let line = format!("<34>1 {ts} host app 42 - - msg");
            let h = parse(&line);
            assert_eq!(h.timestamp_ms, Some(want), "{ts}");
            assert_eq!((h.proc_id, h.message), (Some("42"), "msg"));
        }
    }

    #[test]
    fn rfc3164_classic_and_space_padded_day() {
        let h =
            parse("<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8");
        assert_eq!(h.format, SyslogFormat::Rfc3164);
        assert_eq!(h.timestamp_ms, Some(1_728_684_855_000));
        assert_eq!(
            (h.hostname, h.app_name, h.proc_id),
            (Some("mymachine"), Some("su"), None)
        );
        assert_eq!(h.message, "'su root' failed for lonvick on /dev/pts/8");
        let h = parse("<38>Oct  1 08:09:10 web-01 sshd[4721]: Accepted publickey for deploy ");
        assert_eq!(h.timestamp_ms, Some(1_727_770_150_000));
        assert_eq!(
            (h.hostname, h.app_name, h.proc_id),
            (Some("web-01"), Some("sshd"), Some("4721"))
        );
        assert_eq!(h.message, "Accepted publickey for deploy");
    }

    #[test]
    fn asa_without_hostname_and_with_year() {
        let h =
            parse("<166>%ASA-6-302013: Built outbound TCP connection 1 for outside:10.0.0.1/443");
        assert_eq!(h.format, SyslogFormat::Rfc3164);
        assert_eq!((h.timestamp_ms, h.hostname), (None, None));
        let tag = h.cisco.unwrap();
        assert_eq!(
            (tag.facility, tag.severity, tag.mnemonic),
            ("ASA", 6, "302013")
        );
        assert_eq!(
            h.message,
            "Built outbound TCP connection 1 for outside:10.0.0.1/443"
        );

        let h = parse("<134>Oct 11 22:14:15 %ASA-4-106023: Deny tcp src outside:1.2.3.4/5");
        assert_eq!(
            (h.timestamp_ms, h.hostname),
            (Some(1_728_684_855_000), None)
        );
        assert_eq!(h.cisco.unwrap().severity, 4);
        assert_eq!(h.message, "Deny tcp src outside:1.2.3.4/5");

        let h = parse("<166>Jan 01 2024 00:00:01 fw01 : %ASA-6-302013: Built");
        assert_eq!(h.timestamp_ms, Some(1_704_067_201_000));
        assert_eq!(h.hostname, Some("fw01"));
        assert_eq!((h.cisco.unwrap().mnemonic, h.message), ("302013", "Built"));

        let h = parse("<166>Jan 01 2024 00:00:01: %ASA-session-6-302013: Built");
        assert_eq!(
            (h.timestamp_ms, h.hostname),
            (Some(1_704_067_201_000), None)
        );
        let tag = h.cisco.unwrap();
        assert_eq!(
            (tag.facility, tag.severity, tag.mnemonic),
            ("ASA", 6, "302013")
        );
    }

    #[test]
    fn ios_sequence_numbers_star_millis_zone_and_origin_id() {
        let line =
            "<189>123: *Mar  1 18:46:11.123 UTC: %SYS-5-CONFIG_I: Configured from console by vty0";
        let h = parse_syslog(line, REF_MAR_2024).unwrap();
        assert_eq!(h.sequence, Some(123));
        assert_eq!(h.timestamp_ms, Some(1_709_318_771_123));
        let tag = h.cisco.unwrap();
        assert_eq!(
            (tag.facility, tag.severity, tag.mnemonic),
            ("SYS", 5, "CONFIG_I")
        );
        assert_eq!(h.message, "Configured from console by vty0");

        let line = "<189>45: router1: .Mar 1 18:46:11 CET: %SEC-6-IPACCESSLOGP: list 101 denied";
        let h = parse_syslog(line, REF_MAR_2024).unwrap();
        assert_eq!((h.sequence, h.hostname), (Some(45), Some("router1")));
        assert_eq!(h.timestamp_ms, Some(1_709_318_771_000 - 3_600_000));
        assert_eq!(h.cisco.unwrap().mnemonic, "IPACCESSLOGP");
        assert_eq!(h.message, "list 101 denied");

        let h = parse("<188>Oct 11 22:14:15 10.1.1.1 17: %FW-4-TCP_OoO_SEG: Dropping");
        assert_eq!((h.hostname, h.sequence), (Some("10.1.1.1"), Some(17)));
        assert_eq!(h.cisco.unwrap().facility, "FW");
    }

    #[test]
    fn iso_time_in_a_3164_line_and_ip_hostnames() {
        let h = parse("<134>2024-01-05T10:00:00+01:00 host tag: msg");
        assert_eq!(h.format, SyslogFormat::Rfc3164);
        assert_eq!(h.timestamp_ms, Some(1_704_445_200_000));
        assert_eq!(
            (h.hostname, h.app_name, h.message),
            (Some("host"), Some("tag"), "msg")
        );
        let h = parse("<13>Oct 11 22:14:15 fe80::1 kernel: link up");
        assert_eq!((h.hostname, h.app_name), (Some("fe80::1"), Some("kernel")));
        let h = parse("<13>Oct 11 22:14:15 192.0.2.7 app[1]: x");
        assert_eq!((h.hostname, h.proc_id), (Some("192.0.2.7"), Some("1")));
    }

    #[test]
    fn fortigate_and_panos_bodies() {
        let line = r#"<189>date=2024-01-05 time=10:00:00 devname="FW 1" logid="0000000013" type="traffic""#;
        let h = parse(line);
        assert_eq!(
            (h.format, h.pri, h.timestamp_ms),
            (SyslogFormat::NoHeader, Some(189), None)
        );
        assert!(h.message.starts_with("date=2024-01-05 time="));
        let h =
            parse("<14>Mar  1 12:00:00 PA-VM 1,2024/03/01 12:00:00,007200001056,TRAFFIC,end,2561");
        assert_eq!((h.hostname, h.app_name), (Some("PA-VM"), None));
        assert_eq!(
            h.message,
            "1,2024/03/01 12:00:00,007200001056,TRAFFIC,end,2561"
        );
    }

    #[test]
    fn lines_without_pri_and_pri_bounds() {
        let h = parse("Oct 11 22:14:15 plain file line ");
        assert_eq!(h, SyslogHeader::bare("Oct 11 22:14:15 plain file line"));
        assert_eq!(parse("<0>Oct 11 22:14:15 h a: m").pri, Some(0));
        assert_eq!(parse("<191>Oct 11 22:14:15 h a: m").pri, Some(191));
        let h = parse("<13>Oct 99 22:14:15 h a: m");
        assert_eq!(
            (h.timestamp_ms, h.message),
            (None, "Oct 99 22:14:15 h a: m")
        );
    }

    #[test]
    fn errors() {
        let err = |l: &str| parse_syslog(l, REF_2024).unwrap_err();
        assert_eq!(err("<x>hi"), SyslogError::PriNotNumeric);
        assert_eq!(err("<>hi"), SyslogError::PriNotNumeric);
        assert_eq!(err("<192>hi"), SyslogError::PriOutOfRange(192));
        assert_eq!(err("<0013>hi"), SyslogError::PriOutOfRange(13));
        assert_eq!(err("<12"), SyslogError::PriUnterminated);
        assert_eq!(err("<12 hi"), SyslogError::PriUnterminated);
        assert_eq!(
            err("<13>2 2024-01-05T10:00:00Z h a p m -"),
            SyslogError::BadVersion(2)
        );
        assert_eq!(
            err("<13>1 2024-13-05T10:00:00Z h a p m -"),
            SyslogError::BadTimestamp { offset: 6 }
        );
        assert_eq!(
            err("<13>1 yesterday h a p m -"),
            SyslogError::BadTimestamp { offset: 6 }
        );
        assert_eq!(
            err(r#"<13>1 - h a p m [id k="v\"]"#),
            SyslogError::UnterminatedStructuredData { offset: 16 }
        );
    }

    /// The `split_once`/`parse` definitions of [`cisco_tag`] and [`sequence`].
    fn cisco_tag_reference(s: &str) -> Option<(CiscoTag<'_>, &str)> {
        if !s.starts_with('%') {
            return None;
        }
        let (tok, after) = split_token(s);
        let body = tok.get(1..)?.strip_suffix(':')?;
        let (facility, mut tail) = body.split_once('-')?;
        if facility.is_empty()
            || !facility
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'_')
        {
            return None;
        }
        loop {
            let (seg, rest) = tail.split_once('-')?;
            if let [d @ b'0'..=b'7'] = seg.as_bytes() {
                if rest.is_empty() {
                    return None;
                }
                let tag = CiscoTag {
                    facility,
                    severity: d - b'0',
                    mnemonic: rest,
                };
                return Some((tag, after));
            }
            tail = rest;
        }
    }

    fn sequence_reference(s: &str) -> Option<(u64, &str)> {
        let b = s.as_bytes();
        let digits = b.iter().take(21).take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 || digits > 20 || b.get(digits) != Some(&b':') {
            return None;
        }
        if !matches!(b.get(digits + 1), None | Some(b' ')) {
            return None;
        }
        let seq = s[..digits].parse().ok()?;
        Some((seq, s[digits + 1..].trim_start_matches(' ')))
    }

    #[test]
    fn cisco_tags_and_sequences_at_their_edges() {
        for s in [
            "%SYS-5-CONFIG_I: x",
            "%SEC_LOGIN-SUB-4-X-Y: m",
            "%A-8-9-1-M:",
            "%A-1-:",
            "%-1-M:",
            "%A-1-M",
            "%A-1-M: ",
            "%A.B-1-M:",
            "%é-1-M:",
            "%A-é-1-M:",
            "%",
            "%A",
            "%A-",
            "%A-1",
            "x%A-1-M:",
            "%ASA-6-302013: Built",
        ] {
            assert_eq!(cisco_tag(s), cisco_tag_reference(s), "{s}");
        }
        for s in [
            "123: x",
            "0:",
            "1:x",
            "18446744073709551615: x",
            "18446744073709551616: x",
            "99999999999999999999: x",
            "123456789012345678901: x",
            ": x",
            "12",
            "12:  a",
        ] {
            assert_eq!(sequence(s), sequence_reference(s), "{s}");
        }
    }

    proptest! {
        /// The byte loops agree with their `split_once`/`parse` definitions.
        #[test]
        fn cisco_tag_and_sequence_match_their_definitions(
            tag in "%[A-Z_é1-9-]{0,12}:? ?[a-z]{0,3}",
            seq in "[0-9]{0,22}:? ?x?",
        ) {
            prop_assert_eq!(cisco_tag(&tag), cisco_tag_reference(&tag), "{:?}", tag);
            prop_assert_eq!(sequence(&seq), sequence_reference(&seq), "{:?}", seq);
        }

        #[test]
        fn never_panics(line in "\\PC{0,80}", reference in any::<i64>()) {
            let _ = parse_syslog(&line, reference);
        }

        #[test]
        fn truncated_real_lines_never_panic(cut in 0usize..200, which in 0usize..4) {
            let lines = [
                "<165>1 2003-10-11T22:14:15.003+02:00 host app - ID47 [a@1 k=\"v\\\"x\"][b c=\"d\"] \u{feff}msg",
                "<189>45: router1: *Mar  1 18:46:11.123 UTC: %SYS-5-CONFIG_I: Configured",
                "<166>Jan 01 2024 00:00:01 fw01 : %ASA-6-302013: Built outbound",
                "<38>Oct  1 08:09:10 web-01 sshd[4721]: Accepted publickey for deploy",
            ];
            let line = lines[which];
            let mut cut = cut.min(line.len());
            while !line.is_char_boundary(cut) {
                cut -= 1;
            }
            if let Ok(h) = parse_syslog(&line[..cut], REF_2024) {
                if let Some(sd) = h.structured_data {
                    let _ = parse_structured_data(sd).count();
                }
            }
        }
    }
}
