//! Timestamps in vendors' own formats: a strftime subset (`%Y %y %m %d %e %H %M %S %f %b %B
//! %j %z %Z %s %p %I %a %A %T %%`), plus `rfc3339`, `epoch` (seconds, or ms/µs/ns told apart by
//! magnitude, fractions allowed) and `epoch_ms`. Year-less formats take the year that puts the
//! instant closest to the reference (receive) time.

use crate::normalise::syslog::{days_from_civil, days_in_month};

/// A compiled timestamp format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimeFormat {
    /// RFC 3339 / ISO 8601 (`T` or space, optional fraction, `Z`/offset or none).
    Rfc3339,
    /// Seconds (or ms/µs/ns by magnitude) since the epoch.
    Epoch,
    /// Milliseconds since the epoch.
    EpochMs,
    /// A strftime-style pattern.
    Pattern(String),
}

impl TimeFormat {
    /// Parses a format name or pattern.
    pub fn parse(spec: &str) -> Result<TimeFormat, String> {
        match spec {
            "rfc3339" | "iso8601" => Ok(TimeFormat::Rfc3339),
            "epoch" => Ok(TimeFormat::Epoch),
            "epoch_ms" => Ok(TimeFormat::EpochMs),
            p if p.contains('%') => {
                let mut chars = p.chars();
                while let Some(c) = chars.next() {
                    if c == '%' {
                        match chars.next() {
                            Some(
                                'Y' | 'y' | 'm' | 'd' | 'e' | 'H' | 'M' | 'S' | 'f' | 'b' | 'B'
                                | 'h' | 'j' | 'z' | 'Z' | 's' | 'p' | 'I' | 'a' | 'A' | 'T' | '%',
                            ) => {}
                            other => {
                                return Err(format!(
                                    "unsupported directive %{} in time format {p:?}",
                                    other.map(String::from).unwrap_or_default()
                                ))
                            }
                        }
                    }
                }
                Ok(TimeFormat::Pattern(p.to_owned()))
            }
            other => Err(format!(
                "unknown time format {other:?}: use rfc3339, epoch, epoch_ms or a strftime pattern"
            )),
        }
    }
}

/// Parses a zone setting (`UTC`, `Z`, `+05:30`, `-0800`) into seconds east of UTC.
pub fn parse_zone(spec: &str) -> Option<i64> {
    let s = spec.trim();
    if s.eq_ignore_ascii_case("utc") || s.eq_ignore_ascii_case("gmt") || s == "Z" {
        return Some(0);
    }
    offset_secs(s.as_bytes()).map(|(secs, _)| secs)
}

/// `+HH:MM`, `+HHMM` or `+HH` at the start of `b`: seconds and bytes used.
fn offset_secs(b: &[u8]) -> Option<(i64, usize)> {
    let sign = match b.first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let hh = two(b.get(1..3)?)?;
    let (mm, used) = match b.get(3) {
        Some(b':') => (two(b.get(4..6)?)?, 6),
        Some(c) if c.is_ascii_digit() => (two(b.get(3..5)?)?, 5),
        _ => (0, 3),
    };
    (hh <= 23 && mm <= 59).then_some((sign * (hh * 3600 + mm * 60), used))
}

fn two(b: &[u8]) -> Option<i64> {
    if b.len() == 2 && b[0].is_ascii_digit() && b[1].is_ascii_digit() {
        Some(i64::from(b[0] - b'0') * 10 + i64::from(b[1] - b'0'))
    } else {
        None
    }
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const MONTH_NAMES: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];
const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const DAY_NAMES: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

/// Parses `value` in `format`; zone-less values are in `zone_secs` east of UTC. Returns ms
/// since the epoch, or `None` when the value does not fit the format.
pub fn parse_time(
    value: &str,
    format: &TimeFormat,
    zone_secs: i64,
    reference_ms: i64,
) -> Option<i64> {
    let value = value.trim();
    match format {
        TimeFormat::EpochMs => value.parse::<f64>().ok().map(|v| v as i64),
        TimeFormat::Epoch => {
            let v: f64 = value.parse().ok()?;
            let abs = v.abs();
            let ms = if abs >= 1e17 {
                v / 1e6
            } else if abs >= 1e14 {
                v / 1e3
            } else if abs >= 1e11 {
                v
            } else {
                v * 1e3
            };
            ms.is_finite().then_some(ms as i64)
        }
        TimeFormat::Rfc3339 => rfc3339(value, zone_secs),
        TimeFormat::Pattern(p) => pattern(value, p, zone_secs, reference_ms),
    }
}

fn rfc3339(v: &str, zone_secs: i64) -> Option<i64> {
    let b = v.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        b.get(r)?.iter().try_fold(0i64, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + i64::from(c - b'0'))
        })
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let mut i = 19;
    let mut frac_ms = 0;
    if b.get(i) == Some(&b'.') || b.get(i) == Some(&b',') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        // Milliseconds: the first three fraction digits, padded with zeros.
        frac_ms = b[start..i]
            .iter()
            .chain(b"000")
            .take(3)
            .fold(0, |ms, d| ms * 10 + i64::from(d - b'0'));
    }
    let zone = match b.get(i) {
        None => zone_secs,
        Some(b'Z' | b'z') => 0,
        Some(_) => offset_secs(&b[i..])?.0,
    };
    civil_ms(y, mo, d, h, mi, s, frac_ms, zone)
}

#[allow(clippy::too_many_arguments)]
fn civil_ms(y: i64, mo: i64, d: i64, h: i64, mi: i64, s: i64, ms: i64, zone: i64) -> Option<i64> {
    if !(1..=12).contains(&mo) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let mo = mo as u32;
    if d < 1 || d as u32 > days_in_month(y, mo) {
        return None;
    }
    let days = days_from_civil(y, mo, d as u32);
    Some(((days * 86_400 + h * 3600 + mi * 60 + s) - zone) * 1000 + ms)
}

fn pattern(v: &str, p: &str, zone_secs: i64, reference_ms: i64) -> Option<i64> {
    let (mut y, mut mo, mut d, mut h, mut mi, mut s, mut ms) = (None, None, None, 0, 0, 0, 0);
    let mut zone = zone_secs;
    let mut epoch: Option<i64> = None;
    let mut pm: Option<bool> = None;
    let mut yday: Option<i64> = None;
    let vb = v.as_bytes();
    let mut i = 0;
    // Bytes: a format's non-ASCII literal matches byte for byte.
    let mut chars = p.bytes();
    let digits = |i: &mut usize, max: usize| -> Option<i64> {
        let start = *i;
        while *i < vb.len() && *i - start < max && vb[*i].is_ascii_digit() {
            *i += 1;
        }
        if *i == start {
            return None;
        }
        // Nineteen digits may overflow: such a value is no time.
        vb[start..*i].iter().try_fold(0i64, |n, &c| {
            n.checked_mul(10)?.checked_add(i64::from(c - b'0'))
        })
    };
    let word = |i: &mut usize| -> &str {
        let start = *i;
        while *i < vb.len() && vb[*i].is_ascii_alphabetic() {
            *i += 1;
        }
        &v[start..*i]
    };
    while let Some(c) = chars.next() {
        if c != b'%' {
            if c == b' ' {
                // One space in the format matches one or more in the value.
                if vb.get(i) != Some(&b' ') {
                    return None;
                }
                while vb.get(i) == Some(&b' ') {
                    i += 1;
                }
                continue;
            }
            if vb.get(i) != Some(&c) {
                return None;
            }
            i += 1;
            continue;
        }
        match chars.next()? {
            b'Y' => y = Some(digits(&mut i, 4)?),
            b'y' => y = Some(2000 + digits(&mut i, 2)?),
            b'm' => mo = Some(digits(&mut i, 2)?),
            b'd' => d = Some(digits(&mut i, 2)?),
            b'e' => {
                while vb.get(i) == Some(&b' ') {
                    i += 1;
                }
                d = Some(digits(&mut i, 2)?)
            }
            b'H' | b'I' => h = digits(&mut i, 2)?,
            b'M' => mi = digits(&mut i, 2)?,
            b'S' => s = digits(&mut i, 2)?,
            b'T' => {
                h = digits(&mut i, 2)?;
                (vb.get(i) == Some(&b':')).then_some(())?;
                i += 1;
                mi = digits(&mut i, 2)?;
                (vb.get(i) == Some(&b':')).then_some(())?;
                i += 1;
                s = digits(&mut i, 2)?;
            }
            b'f' => {
                let start = i;
                while i < vb.len() && vb[i].is_ascii_digit() {
                    i += 1;
                }
                // Milliseconds: the first three digits, padded with zeros.
                ms = (0..3).fold(0, |n, k| {
                    n * 10 + vb[start..i].get(k).map_or(0, |&c| i64::from(c - b'0'))
                });
            }
            b'b' | b'B' | b'h' => {
                let w = word(&mut i);
                let idx = MONTHS
                    .iter()
                    .position(|m| m.eq_ignore_ascii_case(w))
                    .or_else(|| MONTH_NAMES.iter().position(|m| m.eq_ignore_ascii_case(w)))?;
                mo = Some(idx as i64 + 1);
            }
            b'a' | b'A' => {
                let w = word(&mut i);
                DAYS.iter()
                    .position(|m| m.eq_ignore_ascii_case(w))
                    .or_else(|| DAY_NAMES.iter().position(|m| m.eq_ignore_ascii_case(w)))?;
            }
            b'j' => yday = Some(digits(&mut i, 3)?),
            b'p' => {
                let w = word(&mut i);
                pm = Some(if w.eq_ignore_ascii_case("am") {
                    false
                } else if w.eq_ignore_ascii_case("pm") {
                    true
                } else {
                    return None;
                });
            }
            b'z' => {
                if matches!(vb.get(i), Some(b'Z' | b'z')) {
                    zone = 0;
                    i += 1;
                } else {
                    let (secs, used) = offset_secs(&vb[i..])?;
                    zone = secs;
                    i += used;
                }
            }
            b'Z' => {
                let w = word(&mut i);
                zone = match w.to_ascii_uppercase().as_str() {
                    "UTC" | "GMT" | "Z" | "UT" => 0,
                    "CET" => 3600,
                    "CEST" => 7200,
                    "EST" => -5 * 3600,
                    "EDT" => -4 * 3600,
                    "CST" => -6 * 3600,
                    "CDT" => -5 * 3600,
                    "MST" => -7 * 3600,
                    "MDT" => -6 * 3600,
                    "PST" => -8 * 3600,
                    "PDT" => -7 * 3600,
                    "IST" => 5 * 3600 + 1800,
                    "JST" => 9 * 3600,
                    _ => zone,
                };
            }
            b's' => {
                let neg = vb.get(i) == Some(&b'-');
                if neg {
                    i += 1;
                }
                let n = digits(&mut i, 19)?;
                epoch = Some(if neg { -n } else { n });
            }
            b'%' => {
                (vb.get(i) == Some(&b'%')).then_some(())?;
                i += 1;
            }
            _ => return None,
        }
    }
    if let Some(e) = epoch {
        return e.checked_mul(1000)?.checked_add(ms);
    }
    match pm {
        Some(true) if h < 12 => h += 12,
        Some(false) if h == 12 => h = 0,
        _ => {}
    }
    if let (Some(year), Some(day_of_year)) = (y, yday) {
        let days = days_from_civil(year, 1, 1) + day_of_year - 1;
        return Some(((days * 86_400 + h * 3600 + mi * 60 + s) - zone) * 1000 + ms);
    }
    let (mo, d) = (mo?, d?);
    match y {
        Some(y) => civil_ms(y, mo, d, h, mi, s, ms, zone),
        None => {
            // Logs describe the past: the latest year not more than a week after the reference.
            let ref_year = 1970 + reference_ms.div_euclid(31_556_952_000);
            [ref_year + 1, ref_year, ref_year - 1, ref_year - 2]
                .into_iter()
                .filter_map(|yr| civil_ms(yr, mo, d, h, mi, s, ms, zone))
                .find(|t| *t <= reference_ms + 7 * 86_400_000)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REF: i64 = 1_710_504_000_000; // 2024-03-15T12:00:00Z

    fn p(v: &str, f: &str) -> Option<i64> {
        parse_time(v, &TimeFormat::parse(f).unwrap(), 0, REF)
    }

    #[test]
    fn vendor_formats() {
        assert_eq!(
            p("2024/03/01 12:00:00", "%Y/%m/%d %H:%M:%S"),
            Some(1_709_294_400_000)
        );
        assert_eq!(
            p("10/Oct/2000:13:55:36 -0700", "%d/%b/%Y:%H:%M:%S %z"),
            Some(971_211_336_000)
        );
        assert_eq!(
            p("Mar  1 12:00:00", "%b %e %H:%M:%S"),
            Some(1_709_294_400_000)
        );
        assert_eq!(
            p("Dec 31 23:59:59", "%b %d %H:%M:%S"),
            Some(1_704_067_199_000),
            "last year's Dec 31"
        );
        assert_eq!(p("1709294400", "epoch"), Some(1_709_294_400_000));
        assert_eq!(p("1709294400123456789", "epoch"), Some(1_709_294_400_123));
        assert_eq!(p("1709294400.5", "epoch"), Some(1_709_294_400_500));
        assert_eq!(
            p("2024-03-01T12:00:00.123456Z", "rfc3339"),
            Some(1_709_294_400_123)
        );
        assert_eq!(
            p("2024-03-01T12:00:00,7Z", "rfc3339"),
            Some(1_709_294_400_700)
        );
        assert_eq!(
            p("2024-03-01T12:00:00.25+01:00", "rfc3339"),
            Some(1_709_290_800_250)
        );
        assert_eq!(p("2024-03-01 12:00:00", "rfc3339"), Some(1_709_294_400_000));
        assert_eq!(
            p("Mar 01 2024 12:00:00 UTC", "%b %d %Y %H:%M:%S %Z"),
            Some(1_709_294_400_000)
        );
        assert_eq!(
            p("03/01/2024 01:00:00 PM", "%m/%d/%Y %I:%M:%S %p"),
            Some(1_709_298_000_000)
        );
    }

    #[test]
    fn yearless_times_are_never_far_in_the_future() {
        let f = TimeFormat::parse("%b %d %H:%M:%S").unwrap();
        let nov_2026 = 1_795_305_600_000; // 2026-11-22T00:00:00Z
        assert_eq!(
            parse_time("Mar 15 12:00:00", &f, 0, nov_2026),
            Some(1_773_576_000_000),
            "2026, not 2027"
        );
        let jan_1_2027 = 1_798_761_600_000;
        assert_eq!(
            parse_time("Dec 31 23:00:00", &f, 0, jan_1_2027),
            Some(1_798_758_000_000),
            "last year's Dec 31"
        );
        assert_eq!(
            parse_time("Jan 02 00:00:00", &f, 0, jan_1_2027 - 3_600_000),
            Some(1_798_848_000_000),
            "a day of skew ahead is kept"
        );
    }

    #[test]
    fn zone_setting_applies_to_zoneless_values() {
        let f = TimeFormat::parse("%Y-%m-%d %H:%M:%S").unwrap();
        assert_eq!(
            parse_time(
                "2024-03-01 13:00:00",
                &f,
                parse_zone("+01:00").unwrap(),
                REF
            ),
            Some(1_709_294_400_000)
        );
    }

    #[test]
    fn garbage_does_not_parse() {
        assert_eq!(p("yesterday", "%Y/%m/%d %H:%M:%S"), None);
        assert_eq!(p("2024/13/01 12:00:00", "%Y/%m/%d %H:%M:%S"), None);
        assert_eq!(p("", "epoch"), None);
        assert!(TimeFormat::parse("%Q").is_err());
        assert_eq!(p("9999999999999999999", "%s"), None, "past i64: no time");
        assert_eq!(
            p("9223372036854775807", "%s"),
            None,
            "in ms past i64: no time"
        );
        assert_eq!(p("1709294400", "%s"), Some(1_709_294_400_000));
        assert_eq!(p("Smarch 1 2024", "%b %e %Y"), None);
    }

    #[test]
    fn names_match_in_any_case_and_fractions_take_three_digits() {
        let want = p("2024-03-01 12:00:00.120", "%Y-%m-%d %H:%M:%S.%f");
        assert_eq!(want, Some(1_709_294_400_120));
        assert_eq!(p("MAR 1 2024 12:00:00.12", "%b %e %Y %H:%M:%S.%f"), want);
        assert_eq!(
            p("march 1 2024 12:00:00.1209", "%B %e %Y %H:%M:%S.%f"),
            want
        );
        assert_eq!(p("Fri MAR 1 2024 12:00:00.120", "%a %b %e %Y %T.%f"), want);
        assert_eq!(
            p("FRIDAY Mar 1 2024 12:00:00.120", "%A %b %e %Y %T.%f"),
            want
        );
        assert_eq!(
            p("Mar 1 2024 12:00:00 PM", "%b %e %Y %I:%M:%S %p"),
            Some(1_709_294_400_000)
        );
        assert_eq!(
            p("Mar 1 2024 12:00:00 am", "%b %e %Y %I:%M:%S %p"),
            Some(1_709_251_200_000)
        );
        assert_eq!(p("Mar 1 2024 12:00:00 xm", "%b %e %Y %I:%M:%S %p"), None);
    }
}
