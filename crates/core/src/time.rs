//! Time: microseconds since the Unix epoch (UTC) and local dates in a site's zone.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

/// Microseconds in one second.
pub const MICROS: i64 = 1_000_000;

/// A site time zone that is not an IANA name.
#[derive(Debug, thiserror::Error)]
#[error("unknown time zone '{0}' (use an IANA name such as Asia/Bangkok)")]
pub struct UnknownZone(pub String);

/// The time zone an IANA name ("Asia/Bangkok") names, as a site's `timezone` holds it.
pub fn parse_zone(name: &str) -> Result<Tz, UnknownZone> {
    name.parse::<Tz>().map_err(|_| UnknownZone(name.to_owned()))
}

/// The UTC instant of µs since the Unix epoch; one beyond chrono's range becomes `DateTime::MIN_UTC`.
pub fn to_utc(micros: i64) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp_micros(micros).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// Microseconds since the Unix epoch of a UTC instant.
pub fn from_utc(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

/// The local calendar date of an instant in a zone.
pub fn local_date(micros: i64, zone: Tz) -> NaiveDate {
    to_utc(micros).with_timezone(&zone).date_naive()
}

/// The instant a local date starts in a zone: the first valid local time on
/// or after its midnight. Total: when midnight is skipped (a DST jump at
/// 00:00), the day starts where the jump lands; when the whole day is skipped
/// (Pacific/Apia, 2011-12-30), it starts, and ends, where the next existing
/// local time starts (so it holds no instant).
pub fn local_midnight(date: NaiveDate, zone: Tz) -> i64 {
    let midnight = date.and_time(chrono::NaiveTime::MIN);
    let instant = |naive: &chrono::NaiveDateTime| {
        zone.from_local_datetime(naive)
            .earliest()
            .map(|t| t.with_timezone(&Utc).timestamp_micros())
    };
    if let Some(t) = instant(&midnight) {
        return t;
    }
    // Midnight falls in a gap: find the first valid whole hour after it (a
    // gap never lasts 48 hours), then the gap's end to the second by
    // bisection (some historical jumps are not whole hours).
    let at = |seconds: i64| midnight.checked_add_signed(chrono::Duration::seconds(seconds));
    let Some(hour) = (1..=48).find(|h| at(h * 3600).as_ref().and_then(instant).is_some()) else {
        // Not a zone of this world: count the day in UTC rather than fail.
        return midnight.and_utc().timestamp_micros();
    };
    // Invariant: `lo` seconds after midnight is in the gap, `hi` is not.
    let (mut lo, mut hi) = ((hour - 1) * 3600, hour * 3600);
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if at(mid).as_ref().and_then(instant).is_some() {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    at(hi)
        .as_ref()
        .and_then(instant)
        .unwrap_or_else(|| midnight.and_utc().timestamp_micros())
}

/// RFC 3339 text of an instant, UTC, with microseconds only when there are any.
pub fn format_utc(micros: i64) -> String {
    let t = to_utc(micros);
    if micros % MICROS == 0 {
        t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
    } else {
        t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
    }
}

/// A time a person typed: RFC 3339, or a local time of the site's zone
/// without offset (`2026-10-04T08:15`, `2026-10-04 08:15:00`); microseconds.
/// The one reader of `patrol observe --time` and the web form's time.
pub fn parse_local_time(text: &str, zone: &str) -> Result<i64, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.timestamp_micros());
    }
    // A date that is written right but does not exist (2026-02-30) is said
    // so, not as a parse error of what follows it.
    if let Some(day) = text.get(..10).filter(|d| {
        d.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        })
    }) && NaiveDate::parse_from_str(day, "%Y-%m-%d").is_err()
    {
        return Err(format!(
            "'{text}': there is no day {day} (check the month's last day)"
        ));
    }
    let naive = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S")
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S"))
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M"))
        .map_err(|_| format!("'{text}' is not a time (e.g. 2026-10-04T08:15:00+07:00)"))?;
    let zone = parse_zone(zone).map_err(|e| e.to_string())?;
    let local = zone
        .from_local_datetime(&naive)
        .earliest()
        .ok_or_else(|| format!("{text} does not exist in {zone}"))?;
    Ok(local.timestamp_micros())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bangkok_morning_is_the_previous_day_in_utc() {
        let zone = parse_zone("Asia/Bangkok").unwrap();
        // 2026-10-01 05:30 +07:00 = 2026-09-30 22:30 UTC
        let t = DateTime::parse_from_rfc3339("2026-10-01T05:30:00+07:00")
            .unwrap()
            .with_timezone(&Utc);
        let us = from_utc(t);
        assert_eq!(
            local_date(us, zone),
            NaiveDate::from_ymd_opt(2026, 10, 1).unwrap()
        );
        assert_eq!(
            local_date(us, chrono_tz::UTC),
            NaiveDate::from_ymd_opt(2026, 9, 30).unwrap()
        );
        let midnight = local_midnight(NaiveDate::from_ymd_opt(2026, 10, 1).unwrap(), zone);
        assert_eq!(format_utc(midnight), "2026-09-30T17:00:00Z");
    }

    fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn a_skipped_day_starts_and_ends_where_the_next_day_starts() {
        // Samoa skipped 2011-12-30: 2011-12-29 24:00 (UTC-10) was followed by
        // 2011-12-31 00:00 (UTC+14).
        let apia = parse_zone("Pacific/Apia").unwrap();
        let m = |d| format_utc(local_midnight(d, apia));
        assert_eq!(m(ymd(2011, 12, 29)), "2011-12-29T10:00:00Z");
        assert_eq!(m(ymd(2011, 12, 30)), "2011-12-30T10:00:00Z");
        assert_eq!(m(ymd(2011, 12, 31)), "2011-12-30T10:00:00Z");
        assert_eq!(m(ymd(2012, 1, 1)), "2011-12-31T10:00:00Z");
        // No instant is on the skipped day; the day before lasts 24 hours.
        let end_29 = local_midnight(ymd(2011, 12, 30), apia);
        assert_eq!(local_date(end_29 - 1, apia), ymd(2011, 12, 29));
        assert_eq!(local_date(end_29, apia), ymd(2011, 12, 31));
    }

    #[test]
    fn the_effort_of_a_patrol_across_the_skipped_day_is_dated() {
        // The analyser asks for the end of each fix's day: for 2011-12-29 in
        // Apia that is the start of the skipped 2011-12-30.
        let apia = parse_zone("Pacific/Apia").unwrap();
        let mut acc = crate::effort::LegAnalyser::new(crate::effort::LegContext {
            zone: apia,
            rules: crate::qc::Rules::default(),
            overrides: Vec::new(),
            given_date: None,
            now: 1_790_000_000 * MICROS,
            boundary: None,
        });
        let fixes: Vec<crate::qc::Fix> = ["2011-12-29T23:30:00-10:00", "2011-12-31T00:30:00+14:00"]
            .into_iter()
            .enumerate()
            .map(|(i, t)| {
                let t = DateTime::parse_from_rfc3339(t).unwrap().with_timezone(&Utc);
                crate::qc::Fix::new(-171.75, -13.83 + i as f64 * 0.01, Some(from_utc(t)))
            })
            .collect();
        acc.segment(&fixes);
        let days = acc.finish().days;
        assert_eq!(
            days.keys().copied().collect::<Vec<_>>(),
            vec![ymd(2011, 12, 29), ymd(2011, 12, 31)]
        );
    }

    #[test]
    fn a_dst_jump_at_midnight_starts_the_day_at_one() {
        // Chile went from -04 to -03 at 2022-09-11 00:00 local: 00:00-00:59 never was.
        let santiago = parse_zone("America/Santiago").unwrap();
        let d = ymd(2022, 9, 11);
        assert!(
            santiago
                .from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap())
                .earliest()
                .is_none()
        );
        let start = local_midnight(d, santiago);
        assert_eq!(format_utc(start), "2022-09-11T04:00:00Z");
        assert_eq!(local_date(start, santiago), d);
        assert_eq!(local_date(start - 1, santiago), ymd(2022, 9, 10));
        // The day before ends there and is 24 hours long.
        let before = local_midnight(ymd(2022, 9, 10), santiago);
        assert_eq!(start - before, 24 * 3600 * MICROS);
        // Nepal moved from +05:30 to +05:45 at 1986-01-01 00:00: the day began at 00:15.
        let kathmandu = parse_zone("Asia/Kathmandu").unwrap();
        let start = local_midnight(ymd(1986, 1, 1), kathmandu);
        assert_eq!(format_utc(start), "1985-12-31T18:30:00Z");
        assert_eq!(local_date(start - 1, kathmandu), ymd(1985, 12, 31));
    }

    #[test]
    fn unknown_zone_is_an_error() {
        assert!(parse_zone("Mars/Olympus").is_err());
    }
}
