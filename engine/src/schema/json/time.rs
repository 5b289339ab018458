//! The `time` field: ms since the epoch, or an RFC 3339 timestamp (parsed here; the proleptic
//! Gregorian date math is shared with the syslog header parser).

use super::read::wrong_type;
use super::JsonEventError;
use crate::normalise::syslog::{days_from_civil, days_in_month};
use simd_json::{Node, StaticNode};

pub(super) fn read_time(
    node: &Node<'_>,
    field: impl Fn() -> String,
) -> Result<i64, JsonEventError> {
    let out_of_range = |value: String| JsonEventError::OutOfRange {
        field: field(),
        value,
        range: "ms since the epoch as a 64-bit integer",
    };
    match node {
        Node::Static(StaticNode::I64(ms)) => Ok(*ms),
        Node::Static(StaticNode::U64(ms)) => {
            i64::try_from(*ms).map_err(|_| out_of_range(ms.to_string()))
        }
        Node::Static(StaticNode::F64(ms)) => {
            // The range check is on the float; the cast then cannot saturate.
            if ms.is_finite() && *ms >= i64::MIN as f64 && *ms < i64::MAX as f64 {
                Ok(ms.floor() as i64)
            } else {
                Err(out_of_range(ms.to_string()))
            }
        }
        Node::String(s) => {
            if let Ok(ms) = s.parse::<i64>() {
                return Ok(ms);
            }
            parse_rfc3339_ms(s).map_err(|reason| JsonEventError::InvalidTime {
                field: field(),
                value: (*s).to_owned(),
                reason,
            })
        }
        other => Err(wrong_type(
            field(),
            "ms since the epoch or an RFC 3339 string",
            other,
        )),
    }
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` into ms since the epoch (fractions past ms
/// are truncated; `t`, `z` and a space separator are accepted).
/// Milliseconds since the epoch of an RFC 3339 timestamp (`Z` or `±HH:MM` offset required).
pub fn parse_rfc3339_ms(s: &str) -> Result<i64, &'static str> {
    let b = s.as_bytes();
    if b.len() < 20 {
        return Err("too short");
    }
    let num = |range: std::ops::Range<usize>| -> Result<i64, &'static str> {
        b[range].iter().try_fold(0i64, |acc, &c| {
            if c.is_ascii_digit() {
                Ok(acc * 10 + i64::from(c - b'0'))
            } else {
                Err("expected a digit")
            }
        })
    };
    let year = num(0..4)?;
    let month = num(5..7)?;
    let day = num(8..10)?;
    let hour = num(11..13)?;
    let minute = num(14..16)?;
    let second = num(17..19)?;
    if b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return Err("expected YYYY-MM-DDTHH:MM:SS");
    }
    if !matches!(b[10], b'T' | b't' | b' ') {
        return Err("expected `T` between date and time");
    }
    if !(1..=12).contains(&month) {
        return Err("month out of range");
    }
    // Two digits each, and the month is 1..=12: the casts cannot truncate.
    let (month, day) = (month as u32, day as u32);
    if day < 1 || day > days_in_month(year, month) {
        return Err("day out of range");
    }
    if hour > 23 || minute > 59 || second > 60 {
        return Err("time of day out of range");
    }
    let mut idx = 19;
    let mut millis = 0;
    if b[idx] == b'.' {
        idx += 1;
        let digits = b[idx..].iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return Err("expected digits after `.`");
        }
        for (i, &c) in b[idx..idx + digits.min(3)].iter().enumerate() {
            millis += i64::from(c - b'0') * [100, 10, 1][i];
        }
        idx += digits;
    }
    let offset_minutes = match b.get(idx) {
        Some(b'Z' | b'z') if idx + 1 == b.len() => 0,
        Some(&sign @ (b'+' | b'-')) if idx + 6 == b.len() && b[idx + 3] == b':' => {
            let hours = num(idx + 1..idx + 3)?;
            let minutes = num(idx + 4..idx + 6)?;
            if hours > 23 || minutes > 59 {
                return Err("offset out of range");
            }
            let offset = hours * 60 + minutes;
            if sign == b'-' {
                -offset
            } else {
                offset
            }
        }
        _ => return Err("expected `Z` or a `+HH:MM` offset at the end"),
    };
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3_600 + minute * 60 + second - offset_minutes * 60;
    Ok(seconds * 1_000 + millis)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::json::tests::{parse, RECEIVED_NS};

    #[test]
    fn reads_time_forms_and_defaults() {
        let time = |t: &str| parse(&format!(r#"{{"time":{t}}}"#)).map(|e| e.time);
        assert_eq!(time("1704448800123"), Ok(1_704_448_800_123));
        assert_eq!(time("1704448800123.9"), Ok(1_704_448_800_123));
        assert_eq!(time(r#""1704448800123""#), Ok(1_704_448_800_123));
        assert_eq!(time(r#""2024-01-05T10:00:00Z""#), Ok(1_704_448_800_000));
        assert_eq!(
            time(r#""2024-01-05T11:00:00.123456+01:00""#),
            Ok(1_704_448_800_123)
        );
        assert_eq!(
            time(r#""2024-01-05t04:30:00.5-05:30""#),
            Ok(1_704_448_800_500)
        );
        assert_eq!(time(r#""1970-01-01T00:00:00Z""#), Ok(0));
        assert_eq!(time(r#""1969-12-31T23:59:59.999Z""#), Ok(-1));
        assert_eq!(time(r#""2000-02-29T00:00:00Z""#), Ok(951_782_400_000));
        assert_eq!(time("null"), Ok((RECEIVED_NS / 1_000_000) as i64));
        assert_eq!(parse("{}").unwrap().time, (RECEIVED_NS / 1_000_000) as i64);
        for bad in [
            r#""2023-02-29T00:00:00Z""#,
            r#""2024-13-01T00:00:00Z""#,
            r#""2024-01-05T10:00:00""#,
            r#""2024-01-05T10:00:00.Z""#,
            r#""2024-01-05T25:00:00Z""#,
            r#""yesterday""#,
        ] {
            assert!(
                matches!(time(bad), Err(JsonEventError::InvalidTime { ref field, .. }) if field == "time"),
                "{bad}: {:?}",
                time(bad)
            );
        }
    }
}
