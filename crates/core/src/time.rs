//! Time: microseconds since the Unix epoch (UTC) and local dates in a site's zone.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

/// Microseconds in one second.
pub const MICROS: i64 = 1_000_000;

/// A site time zone that is not an IANA name.
#[derive(Debug, thiserror::Error)]
#[error("unknown time zone '{0}' (use an IANA name such as Asia/Bangkok)")]
pub struct UnknownZone(pub String);

pub fn parse_zone(name: &str) -> Result<Tz, UnknownZone> {
    name.parse::<Tz>().map_err(|_| UnknownZone(name.to_owned()))
}

pub fn to_utc(micros: i64) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp_micros(micros).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

pub fn from_utc(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

/// The local calendar date of an instant in a zone.
pub fn local_date(micros: i64, zone: Tz) -> NaiveDate {
    to_utc(micros).with_timezone(&zone).date_naive()
}

/// The instant a local date starts in a zone (the first valid local time on it).
pub fn local_midnight(date: NaiveDate, zone: Tz) -> i64 {
    let naive = date.and_hms_opt(0, 0, 0).expect("midnight exists");
    let t = zone
        .from_local_datetime(&naive)
        .earliest()
        // A zone that skips midnight (a DST jump at 00:00): take the hour after.
        .or_else(|| {
            zone.from_local_datetime(&(naive + chrono::Duration::hours(1)))
                .earliest()
        })
        .expect("a local day has a start");
    t.with_timezone(&Utc).timestamp_micros()
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

    #[test]
    fn unknown_zone_is_an_error() {
        assert!(parse_zone("Mars/Olympus").is_err());
    }
}
