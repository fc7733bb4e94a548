//! Effort per local date, accumulated point by point as a track streams in.
//!
//! The rules (docs/METRICS.md): inside one segment, consecutive points make a
//! pair; a pair's length and duration belong to the local date of its first
//! point. A point without a time takes the time of the last timed point before
//! it in its segment; the untimed points that open a segment take the date of
//! the segment's first timed point; a segment with no time at all takes the
//! date of the leg's first timed point, and is *undated* only when the whole
//! leg has no time. A pair adds hours only when both its points carry their own
//! time (and only forward in time); it adds active hours when they are at most
//! 30 minutes apart.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use chrono_tz::Tz;

use crate::geodesy::pair_length_m;
use crate::time::{MICROS, local_date, local_midnight};

/// Pairs further apart than this are a rest or a camp: no active hours.
pub const REST_GAP_SECONDS: f64 = 30.0 * 60.0;

/// Effort on one date (or undated).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct DayTotals {
    pub points: u64,
    pub length_m: f64,
    pub seconds: f64,
    pub active_seconds: f64,
}

impl DayTotals {
    fn add(&mut self, other: &DayTotals) {
        self.points += other.points;
        self.length_m += other.length_m;
        self.seconds += other.seconds;
        self.active_seconds += other.active_seconds;
    }
}

/// Where a point's effort goes.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Slot {
    Date(NaiveDate),
    /// Not yet known: the untimed points opening the current segment.
    Pending,
}

#[derive(Clone, Copy, Debug)]
struct Prev {
    lon: f64,
    lat: f64,
    own_time: Option<i64>,
    slot: Slot,
}

/// Streams a leg's points and adds up effort per local date.
#[derive(Debug)]
pub struct DayAccumulator {
    zone: Tz,
    days: BTreeMap<NaiveDate, DayTotals>,
    pending: DayTotals,
    orphans: DayTotals,
    prev: Option<Prev>,
    carried: Option<NaiveDate>,
    first_date: Option<NaiveDate>,
    /// [start, end) in µs of the date last computed: most points share it.
    cache: Option<(i64, i64, NaiveDate)>,
}

impl DayAccumulator {
    pub fn new(zone: Tz) -> Self {
        Self {
            zone,
            days: BTreeMap::new(),
            pending: DayTotals::default(),
            orphans: DayTotals::default(),
            prev: None,
            carried: None,
            first_date: None,
            cache: None,
        }
    }

    fn date_of(&mut self, t: i64) -> NaiveDate {
        if let Some((start, end, date)) = self.cache
            && (start..end).contains(&t)
        {
            return date;
        }
        let date = local_date(t, self.zone);
        let start = local_midnight(date, self.zone);
        let end = date
            .succ_opt()
            .map_or(i64::MAX, |next| local_midnight(next, self.zone));
        // Guard against zones where midnight is skipped: only cache a sane range.
        if start <= t && t < end && end - start <= 26 * 3600 * MICROS {
            self.cache = Some((start, end, date));
        }
        date
    }

    fn totals(&mut self, slot: Slot) -> &mut DayTotals {
        match slot {
            Slot::Date(d) => self.days.entry(d).or_default(),
            Slot::Pending => &mut self.pending,
        }
    }

    /// A new segment begins: pairs never join two segments.
    pub fn start_segment(&mut self) {
        self.end_segment();
    }

    fn end_segment(&mut self) {
        let pending = std::mem::take(&mut self.pending);
        self.orphans.add(&pending);
        self.prev = None;
        self.carried = None;
    }

    /// Add a point; returns the length in metres of the pair it closes (0 for
    /// a segment's first point).
    pub fn push(&mut self, lon: f64, lat: f64, time: Option<i64>) -> f64 {
        let slot = if let Some(t) = time {
            let date = self.date_of(t);
            self.first_date.get_or_insert(date);
            if self.carried.is_none() && self.pending != DayTotals::default() {
                // The segment's first timed point dates the untimed ones before it.
                let pending = std::mem::take(&mut self.pending);
                self.days.entry(date).or_default().add(&pending);
            }
            self.carried = Some(date);
            Slot::Date(date)
        } else {
            self.carried.map_or(Slot::Pending, Slot::Date)
        };
        self.totals(slot).points += 1;
        let mut length = 0.0;
        if let Some(prev) = self.prev {
            length = pair_length_m((prev.lon, prev.lat), (lon, lat));
            // A pending pair whose end is this segment's first timed point
            // belongs to that point's date, like the points before it.
            let pair_slot = match prev.slot {
                Slot::Pending => slot,
                s @ Slot::Date(_) => s,
            };
            let totals = self.totals(pair_slot);
            totals.length_m += length;
            if let (Some(a), Some(b)) = (prev.own_time, time)
                && b > a
            {
                let dt = (b - a) as f64 / MICROS as f64;
                totals.seconds += dt;
                if dt <= REST_GAP_SECONDS {
                    totals.active_seconds += dt;
                }
            }
        }
        self.prev = Some(Prev {
            lon,
            lat,
            own_time: time,
            slot,
        });
        length
    }

    /// Totals per local date, and what could not be dated (a leg with no time).
    pub fn finish(self) -> (BTreeMap<NaiveDate, DayTotals>, DayTotals) {
        self.finish_with(None)
    }

    /// As [`finish`](Self::finish), with the date a person gave for a leg
    /// whose track has no time at all (it dates only such a leg).
    pub fn finish_with(
        mut self,
        undated: Option<NaiveDate>,
    ) -> (BTreeMap<NaiveDate, DayTotals>, DayTotals) {
        self.end_segment();
        let orphans = std::mem::take(&mut self.orphans);
        match self.first_date.or(undated) {
            Some(first) => {
                self.days.entry(first).or_default().add(&orphans);
                (self.days, DayTotals::default())
            }
            None => (self.days, orphans),
        }
    }
}

#[cfg(test)]
#[allow(clippy::float_cmp, clippy::unnecessary_wraps)] // exact sums of exact inputs
mod tests {
    use super::*;
    use crate::time::{from_utc, parse_zone};

    fn t(s: &str) -> Option<i64> {
        Some(from_utc(
            chrono::DateTime::parse_from_rfc3339(s)
                .unwrap()
                .with_timezone(&chrono::Utc),
        ))
    }

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    const BKK: &str = "Asia/Bangkok";

    #[test]
    fn a_pair_belongs_to_its_first_points_local_date() {
        let mut acc = DayAccumulator::new(parse_zone(BKK).unwrap());
        // 23:50 and 00:10 local, crossing midnight at the end of October.
        let a = acc.push(102.0, 14.0, t("2026-10-31T23:50:00+07:00"));
        let b = acc.push(102.0, 14.001, t("2026-11-01T00:10:00+07:00"));
        assert_eq!(a, 0.0);
        let (days, undated) = acc.finish();
        assert_eq!(undated, DayTotals::default());
        let oct = days[&d("2026-10-31")];
        let nov = days[&d("2026-11-01")];
        assert_eq!(oct.points, 1);
        assert_eq!(nov.points, 1);
        assert!((oct.length_m - b).abs() < 1e-9);
        assert_eq!(nov.length_m, 0.0);
        assert_eq!(oct.seconds, 1200.0);
        assert_eq!(oct.active_seconds, 1200.0);
    }

    #[test]
    fn a_morning_start_in_bangkok_is_the_local_first_not_the_utc_thirtieth() {
        let mut acc = DayAccumulator::new(parse_zone(BKK).unwrap());
        acc.push(102.0, 14.0, t("2026-09-30T22:30:00Z")); // 05:30 local on the 1st
        acc.push(102.0, 14.01, t("2026-09-30T23:00:00Z"));
        let (days, _) = acc.finish();
        assert_eq!(
            days.keys().copied().collect::<Vec<_>>(),
            vec![d("2026-10-01")]
        );
    }

    #[test]
    fn a_nine_hour_camp_adds_hours_but_not_active_hours() {
        let mut acc = DayAccumulator::new(chrono_tz::UTC);
        acc.push(0.0, 0.0, t("2026-10-04T08:00:00Z"));
        acc.push(0.0, 0.001, t("2026-10-04T09:00:00Z")); // 1 h: a long pair, a rest
        acc.push(0.0, 0.002, t("2026-10-04T09:20:00Z")); // 20 min: active
        acc.push(0.0, 0.002, t("2026-10-04T18:20:00Z")); // 9 h camp
        let (days, _) = acc.finish();
        let day = days[&d("2026-10-04")];
        assert_eq!(day.seconds, 3600.0 + 1200.0 + 9.0 * 3600.0);
        assert_eq!(day.active_seconds, 1200.0);
    }

    #[test]
    fn segments_are_never_joined() {
        let mut acc = DayAccumulator::new(chrono_tz::UTC);
        acc.start_segment();
        acc.push(0.0, 0.0, t("2026-10-04T08:00:00Z"));
        acc.start_segment();
        let closing = acc.push(1.0, 1.0, t("2026-10-04T08:10:00Z"));
        assert_eq!(closing, 0.0);
        let (days, _) = acc.finish();
        assert_eq!(days[&d("2026-10-04")].length_m, 0.0);
        assert_eq!(days[&d("2026-10-04")].points, 2);
    }

    #[test]
    fn untimed_points_take_their_neighbours_dates() {
        let mut acc = DayAccumulator::new(chrono_tz::UTC);
        acc.push(0.0, 0.0, None); // opens the segment: takes the first timed date
        acc.push(0.0, 0.001, t("2026-10-05T08:00:00Z"));
        acc.push(0.0, 0.002, None); // carries 10-05
        acc.start_segment();
        acc.push(0.0, 0.003, None); // a segment without time: the leg's first date
        acc.push(0.0, 0.004, None);
        let (days, undated) = acc.finish();
        assert_eq!(undated, DayTotals::default());
        let day = days[&d("2026-10-05")];
        assert_eq!(day.points, 5);
        let expected = pair_length_m((0.0, 0.0), (0.0, 0.001))
            + pair_length_m((0.0, 0.001), (0.0, 0.002))
            + pair_length_m((0.0, 0.003), (0.0, 0.004));
        assert!((day.length_m - expected).abs() < 1e-9);
        assert_eq!(day.seconds, 0.0);
    }

    #[test]
    fn a_given_date_dates_only_a_track_without_time() {
        let mut acc = DayAccumulator::new(chrono_tz::UTC);
        acc.push(0.0, 0.0, None);
        acc.push(0.0, 0.001, None);
        let (days, undated) = acc.finish_with(Some(d("2026-10-04")));
        assert_eq!(undated, DayTotals::default());
        assert_eq!(days[&d("2026-10-04")].points, 2);
        let mut timed = DayAccumulator::new(chrono_tz::UTC);
        timed.push(0.0, 0.0, t("2026-10-05T08:00:00Z"));
        let (days, _) = timed.finish_with(Some(d("2026-10-04")));
        assert!(days.contains_key(&d("2026-10-05")) && !days.contains_key(&d("2026-10-04")));
    }

    #[test]
    fn a_track_without_any_time_is_undated_not_dropped() {
        let mut acc = DayAccumulator::new(chrono_tz::UTC);
        acc.push(0.0, 0.0, None);
        acc.push(0.0, 0.001, None);
        let (days, undated) = acc.finish();
        assert!(days.is_empty());
        assert_eq!(undated.points, 2);
        assert!(undated.length_m > 100.0);
    }
}
