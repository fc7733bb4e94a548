//! Hand-written ISO 8601 / RFC 3339 timestamp parser (no chrono).

/// Parses a GPX timestamp into microseconds since the Unix epoch, UTC.
///
/// Accepts `YYYY-MM-DD`, optionally followed by `T`, `t` or a space and
/// `hh:mm[:ss[.fraction]]`, optionally followed by a zone: `Z`/`z`,
/// `+hh:mm`, `+hhmm` or `+hh` (or `-`). A time without a zone is UTC, as the
/// GPX schema says. Fractions of any length are truncated to microseconds.
/// Dates before 1970 give negative values. Surrounding whitespace is
/// ignored. Anything else (including impossible dates such as 2021-02-30)
/// gives `None`.
///
/// ```
/// use patrol_gpx::parse_time;
/// assert_eq!(parse_time("1970-01-01T00:00:01.5Z"), Some(1_500_000));
/// assert_eq!(parse_time("1970-01-01T07:00:00+07:00"), Some(0));
/// assert_eq!(parse_time("yesterday"), None);
/// ```
pub fn parse_time(s: &str) -> Option<i64> {
    let mut c = Cursor {
        b: s.trim().as_bytes(),
        i: 0,
    };
    let year = c.digits(4)?;
    c.expect(b'-')?;
    let month = c.digits(2)?;
    c.expect(b'-')?;
    let day = c.digits(2)?;
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let (mut hour, mut minute, mut second, mut micros, mut offset) = (0, 0, 0, 0, 0);
    if !c.done() {
        if !matches!(c.next()?, b'T' | b't' | b' ') {
            return None;
        }
        hour = c.digits(2)?;
        c.expect(b':')?;
        minute = c.digits(2)?;
        if c.peek() == Some(b':') {
            c.i += 1;
            second = c.digits(2)?;
            if matches!(c.peek(), Some(b'.' | b',')) {
                c.i += 1;
                let mut n = 0;
                while let Some(d) = c.peek().filter(u8::is_ascii_digit) {
                    if n < 6 {
                        micros = micros * 10 + i64::from(d - b'0');
                    }
                    n += 1;
                    c.i += 1;
                }
                if n == 0 {
                    return None;
                }
                for _ in n..6 {
                    micros *= 10;
                }
            }
        }
        match c.peek() {
            None => {}
            Some(b'Z' | b'z') => c.i += 1,
            Some(sign @ (b'+' | b'-')) => {
                c.i += 1;
                let oh = c.digits(2)?;
                let om = match c.peek() {
                    Some(b':') => {
                        c.i += 1;
                        c.digits(2)?
                    }
                    Some(d) if d.is_ascii_digit() => c.digits(2)?,
                    _ => 0,
                };
                if oh > 23 || om > 59 {
                    return None;
                }
                offset = (oh * 3600 + om * 60) * if sign == b'-' { -1 } else { 1 };
            }
            Some(_) => return None,
        }
        if !c.done() {
            return None;
        }
    }
    // 60 is a leap second: it counts as the first second of the next minute.
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset;
    Some(secs * 1_000_000 + micros)
}

/// Does a timestamp name its zone (`Z` or an offset after the time)?
/// `2026-10-04T08:00:00` and `2026-10-04` do not.
///
/// ```
/// use patrol_gpx::has_zone;
/// assert!(has_zone("2026-10-04T08:00:00Z") && has_zone("2026-10-04T08:00:00-05:00"));
/// assert!(!has_zone("2026-10-04T08:00:00") && !has_zone("2026-10-04"));
/// ```
pub fn has_zone(s: &str) -> bool {
    let s = s.trim();
    let Some(time) = s.get(10..) else {
        return false;
    };
    time.ends_with(['Z', 'z']) || time.contains(['+', '-'])
}

struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn done(&self) -> bool {
        self.i >= self.b.len()
    }
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }
    fn next(&mut self) -> Option<u8> {
        let c = self.peek()?;
        self.i += 1;
        Some(c)
    }
    fn expect(&mut self, want: u8) -> Option<()> {
        (self.next()? == want).then_some(())
    }
    /// Exactly `n` ASCII digits.
    fn digits(&mut self, n: usize) -> Option<i64> {
        let mut v = 0;
        for _ in 0..n {
            let d = self.next()?;
            if !d.is_ascii_digit() {
                return None;
            }
            v = v * 10 + i64::from(d - b'0');
        }
        Some(v)
    }
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::parse_time;

    const S: i64 = 1_000_000;

    #[test]
    fn epoch_and_plain_utc() {
        assert_eq!(parse_time("1970-01-01T00:00:00Z"), Some(0));
        // date -u -d 2010-08-05T14:23:59Z +%s
        assert_eq!(parse_time("2010-08-05T14:23:59Z"), Some(1_281_018_239 * S));
        assert_eq!(parse_time("2000-02-29T00:00:00Z"), Some(951_782_400 * S));
        assert_eq!(parse_time("2038-01-19T03:14:08Z"), Some(2_147_483_648 * S));
    }

    #[test]
    fn fractions_truncate_to_micros() {
        let base = parse_time("2010-08-05T14:23:59Z").unwrap();
        assert_eq!(parse_time("2010-08-05T14:23:59.5Z"), Some(base + 500_000));
        assert_eq!(parse_time("2010-08-05T14:23:59.994Z"), Some(base + 994_000));
        assert_eq!(
            parse_time("2010-08-05T14:23:59.123456Z"),
            Some(base + 123_456)
        );
        assert_eq!(
            parse_time("2010-08-05T14:23:59.1234569999Z"),
            Some(base + 123_456)
        );
        assert_eq!(parse_time("2010-08-05T14:23:59,25Z"), Some(base + 250_000));
        assert_eq!(parse_time("2010-08-05T14:23:59.Z"), None);
    }

    #[test]
    fn before_1970_is_negative() {
        assert_eq!(parse_time("1969-12-31T23:59:59Z"), Some(-S));
        assert_eq!(parse_time("1969-12-31T23:59:59.75Z"), Some(-250_000));
        // date -u -d 1901-12-13T20:45:52Z +%s  => -2147483648
        assert_eq!(
            parse_time("1901-12-13T20:45:52.2073437Z"),
            Some(-2_147_483_648 * S + 207_343)
        );
        assert_eq!(
            parse_time("0001-01-01T00:00:00Z"),
            Some(-62_135_596_800 * S)
        );
    }

    #[test]
    fn offsets_and_zoneless() {
        let utc = parse_time("2015-12-11T14:43:13Z").unwrap();
        assert_eq!(parse_time("2015-12-11T15:43:13+01:00"), Some(utc));
        assert_eq!(parse_time("2015-12-11T15:43:13+0100"), Some(utc));
        assert_eq!(parse_time("2015-12-11T15:43:13+01"), Some(utc));
        assert_eq!(parse_time("2015-12-11T09:13:13-05:30"), Some(utc));
        assert_eq!(parse_time("2015-12-11T09:13:13-0530"), Some(utc));
        assert_eq!(parse_time("2015-12-11T14:43:13-00:00"), Some(utc));
        assert_eq!(parse_time("2015-12-11T14:43:13"), Some(utc));
        assert_eq!(parse_time("2015-12-11 14:43:13"), Some(utc));
        assert_eq!(parse_time("2015-12-11t14:43:13z"), Some(utc));
        assert_eq!(parse_time("  2015-12-11T14:43:13Z\n"), Some(utc));
        assert_eq!(parse_time("2015-12-11T14:43Z"), Some(utc - 13 * S));
        assert_eq!(
            parse_time("2015-12-11"),
            Some(utc - (14 * 3600 + 43 * 60 + 13) * S)
        );
        // crossing midnight and a year boundary through the offset
        assert_eq!(
            parse_time("2016-01-01T06:00:00+07:00"),
            parse_time("2015-12-31T23:00:00Z")
        );
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "",
            "xyz",
            "2010",
            "2010-08",
            "2010-8-5T14:23:59Z",
            "2010-13-01T00:00:00Z",
            "2010-00-01T00:00:00Z",
            "2010-02-29T00:00:00Z",
            "2010-04-31T00:00:00Z",
            "2010-08-05T24:00:00Z",
            "2010-08-05T14:60:00Z",
            "2010-08-05T14:23:61Z",
            "2010-08-05X14:23:59Z",
            "2010-08-05T14:23:59Q",
            "2010-08-05T14:23:59Z junk",
            "2010-08-05T14:23:59+25:00",
            "2010-08-05T14:23:59+1",
            "2010-08-05T14",
            "12/08/2010 14:23",
            "1281018239",
        ] {
            assert_eq!(parse_time(bad), None, "{bad:?}");
        }
    }
}
