//! Time parsing for syslog headers: BSD (RFC 3164) timestamps with their device variants,
//! RFC 3339, the proleptic Gregorian date math they need, year inference for year-less BSD
//! times, and the zone words devices print.

/// A 3164-shaped timestamp: BSD (`Mmm dd [yyyy] hh:mm:ss[.fff] [ZONE:]`) or RFC 3339, after
/// an optional Cisco `*` or `.`, followed by an optional colon and then a space or the end.
/// Returns the time and the rest after the spaces.
pub(super) fn timestamp(s: &str, reference_ms: i64) -> Option<(i64, &str)> {
    let b = s.as_bytes();
    let start = usize::from(matches!(b.first(), Some(b'*' | b'.')));
    let t = &b[start..];
    let (ms, used) = if t.first()?.is_ascii_digit() {
        parse_iso(t, true)?
    } else {
        parse_bsd(t, reference_ms)?
    };
    let mut end = start + used;
    if b.get(end) == Some(&b':') {
        end += 1;
    }
    match b.get(end) {
        None => Some((ms, "")),
        Some(b' ') => Some((ms, s[end..].trim_start_matches(' '))),
        Some(_) => None,
    }
}

/// `Mmm dd [yyyy ]hh:mm:ss[.frac][ ZONE]` where ZONE is a known abbreviation followed by `:`.
fn parse_bsd(b: &[u8], reference_ms: i64) -> Option<(i64, usize)> {
    let month = month_number(b.get(..3)?)?;
    let mut i = 3;
    let spaces = b[i..].iter().take(3).take_while(|c| **c == b' ').count();
    if !(1..=2).contains(&spaces) {
        return None;
    }
    i += spaces;
    let day_digits = b[i..]
        .iter()
        .take(3)
        .take_while(|c| c.is_ascii_digit())
        .count();
    if !(1..=2).contains(&day_digits) || b.get(i + day_digits) != Some(&b' ') {
        return None;
    }
    let day = digits_value(&b[i..i + day_digits]);
    i += day_digits + 1;
    let mut year = None;
    if b.len() >= i + 5 && b[i..i + 4].iter().all(u8::is_ascii_digit) && b[i + 4] == b' ' {
        year = Some(digits_value(&b[i..i + 4]) as i64);
        i += 5;
    }
    let (secs, ms, used) = parse_clock(&b[i..])?;
    i += used;
    let mut offset_min = 0;
    if b.get(i) == Some(&b' ') {
        let word_len = b[i + 1..]
            .iter()
            .take(5)
            .take_while(|c| c.is_ascii_uppercase())
            .count();
        if b.get(i + 1 + word_len) == Some(&b':') {
            if let Some(off) = zone_offset(&b[i + 1..i + 1 + word_len]) {
                offset_min = off;
                i += 1 + word_len;
            }
        }
    }
    if day == 0 || day > 31 {
        return None;
    }
    let local_ms = |y: i64| -> Option<i64> {
        if day > days_in_month(y, month) {
            return None;
        }
        Some(days_from_civil(y, month, day) * 86_400_000 + secs * 1000 + ms)
    };
    let local = match year {
        Some(y) => local_ms(y)?,
        None => {
            // Logs describe the past: the latest year that does not put the timestamp more
            // than a week after the receive time (clock skew), so a Dec 31 line received on
            // Jan 1 is last year's and a Mar 15 line received in November is this year's.
            const SKEW_MS: i64 = 7 * 86_400_000;
            let ref_year = year_of(reference_ms);
            let reference_local = reference_ms.saturating_add(offset_min * 60_000);
            [ref_year + 1, ref_year, ref_year - 1]
                .into_iter()
                .filter_map(local_ms)
                .find(|t| *t <= reference_local.saturating_add(SKEW_MS))?
        }
    };
    Some((local - offset_min * 60_000, i))
}

/// `hh:mm:ss[.frac]`: seconds of the day, milliseconds, bytes used.
fn parse_clock(b: &[u8]) -> Option<(i64, i64, usize)> {
    let t = b.get(..8)?;
    if t[2] != b':' || t[5] != b':' {
        return None;
    }
    let hh = two_digits(&t[0..2])?;
    let mm = two_digits(&t[3..5])?;
    let ss = two_digits(&t[6..8])?;
    if hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    let mut used = 8;
    let mut ms = 0;
    if b.get(8) == Some(&b'.') {
        let digits = &b[9..];
        let frac = digits
            .iter()
            .position(|c| !c.is_ascii_digit())
            .unwrap_or(digits.len());
        if frac == 0 {
            return None;
        }
        // The first three digits, missing ones as zeros.
        let digit = |k: usize| {
            if k < frac {
                i64::from(digits[k] - b'0')
            } else {
                0
            }
        };
        ms = digit(0) * 100 + digit(1) * 10 + digit(2);
        used = 9 + frac;
    }
    Some((i64::from(hh * 3600 + mm * 60 + ss), ms, used))
}

/// RFC 3339: `YYYY-MM-DDThh:mm:ss[.frac][Z|±hh:mm|±hhmm]`; `space_sep` also allows a space for
/// the `T` (3164-shaped lines). A time without zone is UTC. Returns UTC ms and bytes used.
pub(super) fn parse_iso(b: &[u8], space_sep: bool) -> Option<(i64, usize)> {
    let d = b.get(..11)?;
    if d[4] != b'-' || d[7] != b'-' {
        return None;
    }
    if !(matches!(d[10], b'T' | b't') || (space_sep && d[10] == b' ')) {
        return None;
    }
    let year = digits_value(d.get(..4).filter(|y| y.iter().all(u8::is_ascii_digit))?) as i64;
    let month = two_digits(&d[5..7])?;
    let day = two_digits(&d[8..10])?;
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    let (secs, ms, used) = parse_clock(&b[11..])?;
    let mut i = 11 + used;
    let mut offset_min = 0i64;
    match b.get(i) {
        Some(b'Z' | b'z') => i += 1,
        Some(&sign @ (b'+' | b'-')) => {
            let hh = two_digits(b.get(i + 1..i + 3)?)?;
            let colon = usize::from(b.get(i + 3) == Some(&b':'));
            let mm = two_digits(b.get(i + 3 + colon..i + 5 + colon)?)?;
            if hh > 23 || mm > 59 {
                return None;
            }
            offset_min = i64::from(hh * 60 + mm);
            if sign == b'-' {
                offset_min = -offset_min;
            }
            i += 5 + colon;
        }
        _ => {}
    }
    let local = days_from_civil(year, month, day) * 86_400_000 + secs * 1000 + ms;
    Some((local - offset_min * 60_000, i))
}

fn month_number(m: &[u8]) -> Option<u32> {
    let lower = [
        m[0].to_ascii_lowercase(),
        m[1].to_ascii_lowercase(),
        m[2].to_ascii_lowercase(),
    ];
    Some(match &lower {
        b"jan" => 1,
        b"feb" => 2,
        b"mar" => 3,
        b"apr" => 4,
        b"may" => 5,
        b"jun" => 6,
        b"jul" => 7,
        b"aug" => 8,
        b"sep" => 9,
        b"oct" => 10,
        b"nov" => 11,
        b"dec" => 12,
        _ => return None,
    })
}

/// Minutes east of UTC for the zone words devices print (US meanings for the ambiguous CST
/// and IST is India); unknown words are not consumed.
fn zone_offset(word: &[u8]) -> Option<i64> {
    Some(match word {
        b"UTC" | b"GMT" | b"UT" | b"Z" | b"WET" => 0,
        b"BST" | b"CET" | b"WEST" => 60,
        b"CEST" | b"EET" => 120,
        b"EEST" | b"MSK" => 180,
        b"IST" => 330,
        b"SGT" | b"HKT" | b"AWST" => 480,
        b"JST" | b"KST" => 540,
        b"AEST" => 600,
        b"AEDT" => 660,
        b"NZST" => 720,
        b"NZDT" => 780,
        b"EST" | b"CDT" => -300,
        b"EDT" => -240,
        b"CST" | b"MDT" => -360,
        b"MST" | b"PDT" => -420,
        b"PST" => -480,
        _ => return None,
    })
}

fn two_digits(b: &[u8]) -> Option<u32> {
    match b {
        [a @ b'0'..=b'9', c @ b'0'..=b'9'] => Some(u32::from(a - b'0') * 10 + u32::from(c - b'0')),
        _ => None,
    }
}

/// Value of a run of at most 4 ASCII digits (callers check they are digits).
fn digits_value(b: &[u8]) -> u32 {
    b.iter()
        .fold(0, |n, d| n * 10 + u32::from(d.wrapping_sub(b'0')))
}

fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

pub(crate) fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
pub(crate) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The UTC year of a time in ms (clamped to 0..=9999: the reference is a receive time).
/// Consecutive lines share a receive day, so the last answer is kept per thread.
fn year_of(ms: i64) -> i64 {
    thread_local! {
        static LAST: std::cell::Cell<(i64, i64)> = const { std::cell::Cell::new((i64::MIN, 0)) };
    }
    let day = ms.div_euclid(86_400_000);
    LAST.with(|last| match last.get() {
        (d, year) if d == day => year,
        _ => {
            let year = year_of_day(day);
            last.set((day, year));
            year
        }
    })
}

fn year_of_day(day: i64) -> i64 {
    let z = day.clamp(-719_468, 2_932_896) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let y = yoe + era * 400;
    if mp >= 10 {
        y + 1
    } else {
        y
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse_syslog;
    use super::super::tests::REF_MAR_2024;
    use super::parse_clock;

    #[test]
    fn clock_fractions_keep_three_digits_padding_short_ones() {
        for (t, want) in [
            ("12:34:56", Some((45_296, 0, 8))),
            ("12:34:56.", None),
            ("12:34:56.x", None),
            ("12:34:56.1", Some((45_296, 100, 10))),
            ("12:34:56.12 UTC", Some((45_296, 120, 11))),
            ("12:34:56.123", Some((45_296, 123, 12))),
            ("12:34:56.123456789Z", Some((45_296, 123, 18))),
            ("12:34:56,5", Some((45_296, 0, 8))),
            ("24:00:00", None),
            ("12:34:5", None),
        ] {
            assert_eq!(parse_clock(t.as_bytes()), want, "{t}");
        }
    }

    #[test]
    fn yearless_time_takes_the_year_closest_to_receive_time() {
        // Dec 31 received on Jan 1 2025 is from 2024; Jan 1 received Dec 31 is next year's.
        let h = parse_syslog("<13>Dec 31 23:59:50 h a: m", 1_735_689_605_000).unwrap();
        assert_eq!(h.timestamp_ms, Some(1_735_689_590_000));
        let h = parse_syslog("<13>Jan  1 00:00:01 h a: m", 1_735_689_590_000).unwrap();
        assert_eq!(h.timestamp_ms, Some(1_735_689_601_000));
        // Feb 29 only exists in the leap year.
        let h = parse_syslog("<13>Feb 29 01:02:03 h a: m", REF_MAR_2024).unwrap();
        assert_eq!(h.timestamp_ms, Some(1_709_168_523_000));
    }
}
