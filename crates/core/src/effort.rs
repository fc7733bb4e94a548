//! Effort per local date of one leg, from its track segments, after quality
//! control ([`crate::qc`]). Run once at import (and again when a person's word
//! changes what counts); the report only adds up its results.
//!
//! The rules (docs/METRICS.md): inside one segment, consecutive *kept* fixes
//! make a pair (a glitch or stay between them is bridged). A pair's length
//! belongs to the local date of its first fix. Its time is patrol time when
//! both fixes carry their own time, the second is later, and they are at most
//! [`Rules::pause_max_s`] apart; that time is split at local midnight, and a
//! date's hours are the union of its intervals (so no date ever gets more
//! hours than it has). Active hours leave out pairs more than
//! [`Rules::active_gap_s`] apart. A fix without a time takes the date of the
//! last timed fix before it in its segment; the untimed fixes that open a
//! segment take the date of the segment's first timed fix; a segment without
//! time takes the date of the leg's first timed fix, else the date a person
//! gave, else it is *undated*.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::geodesy::pair_length_m;
use crate::qc::{Fix, FixOverride, Mark, Rules, SegmentMarks, mark_segment_with};
use crate::time::{MICROS, format_utc, local_date, local_midnight};

/// Effort on one date (or undated).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct DayTotals {
    /// Kept fixes on this date.
    pub points: u64,
    /// Geodesic length of the kept pairs whose first fix is on this date, metres.
    pub length_m: f64,
    /// Patrol time on this date (union of pairs at most the pause limit apart, split at local midnight), seconds.
    pub seconds: f64,
    /// The same, leaving out pairs more than `Rules::active_gap_s` (30 min) apart, seconds.
    pub active_seconds: f64,
}

/// What a warning is about. Serialised in snake_case (`import --json`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum WarningKind {
    /// `null_island`: fixes within 0.01° of 0,0 far from the rest of the track, left out.
    NullIsland,
    /// `spike`: one to three fixes entered and left too fast (multipath), left out.
    Spike,
    /// `stale_fix`: a segment's first or last fixes from the position and time the unit last had, left out.
    StaleFix,
    /// `stay`: inner fixes of a stay in one place with the unit logging, left out (the bridge is a long pause).
    Stay,
    /// `dropped_fix`: fixes a person dropped with `patrol edit patrol ID --drop-fix S:P`.
    DroppedFix,
    /// `kept_fix`: marked fixes a person kept against the rules with `--keep-fix S:P`; nothing left out.
    KeptFix,
    /// `time_gap`: pauses over the pause limit (2 h) between consecutive kept fixes; their hours are left out.
    TimeGap,
    /// `implausible_speed`: stretches faster than the transport's ceiling (a wrong transport?); still counted.
    ImplausibleSpeed,
    /// `long_patrol`: the dates with effort span more than `max_patrol_days` (14) days.
    LongPatrol,
    /// `early_time`: fixes dated before 2000 (a clock not set).
    EarlyTime,
    /// `future_time`: fixes dated after now + 1 day.
    FutureTime,
    /// `week_rollover`: fixes that 1,024 weeks later would fall in the last two years (GPS week rollover).
    WeekRollover,
    /// `no_zone`: times written without a zone, read as UTC (or as `--assume-zone` says).
    NoZone,
    /// `outside_boundary`: counted track whose pairs lie outside the site's boundary (`km` says how much); still counted.
    OutsideBoundary,
    /// `undated`: a track without any time and no date given; its km are `undated_km`, in no period.
    Undated,
    /// `dated_by_hand`: a track without any time, dated by `import --date` or `edit --date`.
    DatedByHand,
    /// `route_points`: the file holds route points, which are skipped (not imported).
    RoutePoints,
    /// `gpx`: the GPX reader dropped a value it could not read.
    Gpx,
    /// `duplicate_track`: the track shares at least half its sampled fixes with another live patrol (`patrol_id`).
    DuplicateTrack,
    /// `deleted_patrol`: the file is a deleted patrol's track (`patrol_id`); it is not imported.
    DeletedPatrol,
    /// `text_cut`: a GPX text field longer than the reader's `MAX_TEXT` bytes, cut to that size.
    TextCut,
}

impl WarningKind {
    /// The snake_case name stored and written to JSON (e.g. "stale_fix").
    pub fn as_str(self) -> &'static str {
        match self {
            WarningKind::NullIsland => "null_island",
            WarningKind::Spike => "spike",
            WarningKind::StaleFix => "stale_fix",
            WarningKind::Stay => "stay",
            WarningKind::DroppedFix => "dropped_fix",
            WarningKind::KeptFix => "kept_fix",
            WarningKind::TimeGap => "time_gap",
            WarningKind::ImplausibleSpeed => "implausible_speed",
            WarningKind::LongPatrol => "long_patrol",
            WarningKind::EarlyTime => "early_time",
            WarningKind::FutureTime => "future_time",
            WarningKind::WeekRollover => "week_rollover",
            WarningKind::NoZone => "no_zone",
            WarningKind::OutsideBoundary => "outside_boundary",
            WarningKind::Undated => "undated",
            WarningKind::DatedByHand => "dated_by_hand",
            WarningKind::RoutePoints => "route_points",
            WarningKind::Gpx => "gpx",
            WarningKind::DuplicateTrack => "duplicate_track",
            WarningKind::DeletedPatrol => "deleted_patrol",
            WarningKind::TextCut => "text_cut",
        }
    }

    fn of_mark(m: Mark) -> WarningKind {
        match m {
            Mark::NullIsland => WarningKind::NullIsland,
            Mark::Spike => WarningKind::Spike,
            Mark::Stale => WarningKind::StaleFix,
            Mark::Stay => WarningKind::Stay,
            Mark::Manual => WarningKind::DroppedFix,
        }
    }
}

/// Something a person should know about an imported track (also
/// `import --json`'s `warnings`), with what it took out of the figures.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Warning {
    /// What the warning is about (JSON `kind`).
    pub kind: WarningKind,
    /// One line for a person, naming what was found and how much (JSON `message`).
    pub message: String,
    /// The fixes (or waypoints) concerned.
    pub points: u64,
    /// Track length not counted because of it, km.
    pub km_excluded: f64,
    /// Patrol time not counted because of it, hours.
    pub hours_excluded: f64,
    /// The other patrol, for a duplicate track or a deleted patrol.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub patrol_id: Option<String>,
    /// Km concerned but still counted (outside the boundary, too fast).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub km: Option<f64>,
}

impl Warning {
    /// A warning of `kind` with its message, nothing excluded, no other patrol and no km.
    pub fn new(kind: WarningKind, message: impl Into<String>) -> Self {
        Warning {
            kind,
            message: message.into(),
            points: 0,
            km_excluded: 0.0,
            hours_excluded: 0.0,
            patrol_id: None,
            km: None,
        }
    }

    fn with(mut self, points: u64, km: f64, hours: f64) -> Self {
        self.points = points;
        self.km_excluded = km;
        self.hours_excluded = hours;
        self
    }
}

/// A fix the rules marked (and whether it is left out: a person may have kept it).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct MarkedFix {
    /// Track segment of the fix, counted from 0 in the leg (`--keep-fix S:P` counts from 1).
    pub segment: u32,
    /// Index of the fix in its segment, counted from 0 (`patrol show` counts from 1).
    pub point: u32,
    /// The rule that marked the fix.
    pub mark: Mark,
    /// Whether the fix is left out of the figures (false when a person kept it).
    pub excluded: bool,
}

/// A fix remembered for finding the same track again (docs/METRICS.md,
/// "Duplicate tracks"): whole seconds and degrees.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct FixSample {
    /// The fix's time, whole seconds since 1970 UTC (a sampled second, see `is_sample_second`).
    pub t_s: i64,
    /// Longitude, WGS84 degrees (x).
    pub lon: f64,
    /// Latitude, WGS84 degrees (y).
    pub lat: f64,
}

/// The most samples one leg keeps.
pub const MAX_SAMPLES: usize = 4096;
/// One fix in this many (by a hash of its second) is a sample.
pub const SAMPLE_EVERY: u64 = 16;
/// Two samples are the same fix when their coordinates differ by at most this (degrees, ~1 m).
pub const SAMPLE_TOLERANCE_DEG: f64 = 1e-5;

/// A leg with more fixes than this keeps one sample in [`SAMPLE_EVERY_LONG`].
pub const LONG_LEG_FIXES: u64 = 8192;
/// The thinner sampling of long legs: every sample of it is also one of
/// [`SAMPLE_EVERY`]'s, so tracks of either length still find each other.
pub const SAMPLE_EVERY_LONG: u64 = 64;

fn second_hash(t_s: i64) -> u64 {
    let mut z = (t_s as u64).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Is the fix at this whole second a sample? (A hash, so every copy of a
/// track picks the same fixes whatever else it holds.)
pub fn is_sample_second(t_s: i64) -> bool {
    second_hash(t_s).is_multiple_of(SAMPLE_EVERY)
}

/// Everything one leg's track adds, after quality control.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LegEffort {
    /// Effort per local date in the site's zone (one LegDay row each).
    pub days: BTreeMap<NaiveDate, DayTotals>,
    /// Effort no date holds (a track without time and no date given).
    pub undated: DayTotals,
    /// Every fix a rule marked, whether left out or kept by a person.
    pub marks: Vec<MarkedFix>,
    /// What quality control and the time checks found, with what each left out.
    pub warnings: Vec<Warning>,
    /// All fixes read.
    pub fixes: u64,
    /// Length of every pair as recorded, metres.
    pub raw_length_m: f64,
    /// Length that counts (what `days` and `undated` add up to), metres.
    pub length_m: f64,
    /// Earliest and latest time of the kept fixes.
    pub first_time: Option<i64>,
    /// Latest time of the kept fixes, microseconds UTC; `None` when no kept fix has a time.
    pub last_time: Option<i64>,
    /// The date of the leg's first timed kept fix (untimed segments take it).
    pub first_date: Option<NaiveDate>,
    /// The fixes remembered for finding the same track again (at most `MAX_SAMPLES`).
    pub samples: Vec<FixSample>,
}

/// What the analysis needs besides the fixes.
#[derive(Clone, Debug)]
pub struct LegContext {
    /// The site's time zone, in which fixes are dated.
    pub zone: Tz,
    /// The site's quality-control thresholds (`[qc]` of the data model) and the transport's ceiling.
    pub rules: Rules,
    /// A person's word on single fixes (`--keep-fix` / `--drop-fix`), applied over the rules.
    pub overrides: Vec<FixOverride>,
    /// A person's date for a track without any time.
    pub given_date: Option<NaiveDate>,
    /// Now, µs UTC (fixes after now + 1 day are in the future).
    pub now: i64,
    /// The site's boundary, to measure the track outside it.
    pub boundary: Option<Boundary>,
}

/// A site boundary, ready for point-in-polygon tests.
#[derive(Clone, Debug)]
pub struct Boundary {
    polygons: Vec<(geo::Rect<f64>, geo::Polygon<f64>)>,
    vertices: usize,
}

impl Boundary {
    /// From polygons of rings of (lon, lat); `None` when it has no area.
    pub fn new(polygons: &[Vec<Vec<(f64, f64)>>]) -> Option<Boundary> {
        use geo::BoundingRect;
        let mut out = Vec::new();
        let mut vertices = 0;
        for rings in polygons {
            let mut it = rings.iter().map(|r| geo::LineString::from(r.clone()));
            let Some(exterior) = it.next() else { continue };
            let poly = geo::Polygon::new(exterior, it.collect());
            if let Some(rect) = poly.bounding_rect() {
                vertices += rings.iter().map(Vec::len).sum::<usize>();
                out.push((rect, poly));
            }
        }
        (!out.is_empty()).then_some(Boundary {
            polygons: out,
            vertices,
        })
    }

    /// Is (lon, lat) inside (or on the edge)?
    pub fn contains(&self, lon: f64, lat: f64) -> bool {
        use geo::Intersects;
        let p = geo::Point::new(lon, lat);
        self.polygons.iter().any(|(rect, poly)| {
            rect.min().x <= lon
                && lon <= rect.max().x
                && rect.min().y <= lat
                && lat <= rect.max().y
                && poly.intersects(&p)
        })
    }
}

/// Sorted disjoint intervals [a, b) of µs.
#[derive(Clone, Debug, Default)]
struct Intervals(Vec<(i64, i64)>);

impl Intervals {
    fn add(&mut self, a: i64, b: i64) {
        if b <= a {
            return;
        }
        if let Some(last) = self.0.last_mut() {
            if a >= last.0 && a <= last.1 {
                last.1 = last.1.max(b);
                return;
            }
            if a > last.1 {
                self.0.push((a, b));
                return;
            }
        } else {
            self.0.push((a, b));
            return;
        }
        // Out of order (a clock that went back): insert and merge.
        let pos = self.0.partition_point(|&(x, _)| x < a);
        self.0.insert(pos, (a, b));
        let mut merged: Vec<(i64, i64)> = Vec::with_capacity(self.0.len());
        for &(x, y) in &self.0 {
            match merged.last_mut() {
                Some(l) if x <= l.1 => l.1 = l.1.max(y),
                _ => merged.push((x, y)),
            }
        }
        self.0 = merged;
    }

    fn seconds(&self) -> f64 {
        self.0.iter().map(|&(a, b)| (b - a) as f64).sum::<f64>() / MICROS as f64
    }
}

#[derive(Clone, Debug, Default)]
struct DayAcc {
    points: u64,
    length_m: f64,
    hours: Intervals,
    active: Intervals,
}

#[derive(Clone, Copy, Debug, Default)]
struct Tally {
    points: u64,
    km: f64,
    hours: f64,
    count: u64,
}

/// Streams a leg's segments and adds up effort per local date.
#[derive(Debug)]
pub struct LegAnalyser {
    ctx: LegContext,
    segment_no: u32,
    days: BTreeMap<NaiveDate, DayAcc>,
    /// The day being added to (most fixes in a row share one), out of `days`.
    current: Option<(NaiveDate, DayAcc)>,
    orphans: DayTotals,
    out: LegEffort,
    by_mark: BTreeMap<Mark, Tally>,
    kept_by_person: u64,
    gaps: Tally,
    fast_km: f64,
    fast_runs: u64,
    fast_max_kmh: f64,
    early: u64,
    future: u64,
    rollover: Option<i64>,
    /// Counted km whose pair's midpoint is outside the boundary, and all counted km tested.
    outside_m: f64,
    tested_m: f64,
    /// [start, end) in µs of the date last computed: most fixes share it.
    cache: Option<(i64, i64, NaiveDate)>,
}

/// Earliest plausible GPS time: 2000-01-01T00:00:00Z.
pub const PLAUSIBLE_FROM_US: i64 = 946_684_800 * MICROS;
/// GPS week rollover: 1,024 weeks.
const ROLLOVER_US: i64 = 1024 * 7 * 86_400 * MICROS;

fn km(m: f64) -> String {
    format!("{:.3} km", m / 1000.0)
}

fn hours(s: f64) -> String {
    format!("{:.2} h", s / 3600.0)
}

impl LegAnalyser {
    /// An analyser for one leg; feed it each segment in order, then `finish`.
    pub fn new(ctx: LegContext) -> Self {
        LegAnalyser {
            ctx,
            segment_no: 0,
            days: BTreeMap::new(),
            current: None,
            orphans: DayTotals::default(),
            out: LegEffort::default(),
            by_mark: BTreeMap::new(),
            kept_by_person: 0,
            gaps: Tally::default(),
            fast_km: 0.0,
            fast_runs: 0,
            fast_max_kmh: 0.0,
            early: 0,
            future: 0,
            rollover: None,
            outside_m: 0.0,
            tested_m: 0.0,
            cache: None,
        }
    }

    fn date_of(&mut self, t: i64) -> NaiveDate {
        self.day_of(t).0
    }

    /// The local date of `t` and the instant that date ends (the next
    /// date's start), cached: most fixes share a day.
    fn day_of(&mut self, t: i64) -> (NaiveDate, i64) {
        if let Some((start, end, date)) = self.cache
            && (start..end).contains(&t)
        {
            return (date, end);
        }
        let zone = self.ctx.zone;
        let date = local_date(t, zone);
        let start = local_midnight(date, zone);
        let end = date
            .succ_opt()
            .map_or(i64::MAX, |next| local_midnight(next, zone));
        // Only cache a sane range (zones that skip midnight or whole days).
        if start <= t && t < end && end - start <= 26 * 3600 * MICROS {
            self.cache = Some((start, end, date));
        }
        (date, end)
    }

    /// The accumulator of a date: kept at hand while consecutive fixes share it.
    fn day_mut(&mut self, date: NaiveDate) -> &mut DayAcc {
        if self.current.as_ref().is_none_or(|(d, _)| *d != date) {
            self.flush_day();
            let acc = self.days.remove(&date).unwrap_or_default();
            self.current = Some((date, acc));
        }
        &mut self.current.as_mut().expect("set above").1
    }

    fn flush_day(&mut self) {
        if let Some((date, acc)) = self.current.take() {
            self.days.insert(date, acc);
        }
    }

    /// Patrol time [a, b) (µs), split at local midnight.
    fn add_time(&mut self, a: i64, b: i64, active: bool) {
        let mut from = a;
        while from < b {
            let (date, end) = self.day_of(from);
            // A day of zero length (a skipped date) cannot hold time: move on.
            let to = if end > from { end.min(b) } else { b };
            let day = self.day_mut(date);
            day.hours.add(from, to);
            if active {
                day.active.add(from, to);
            }
            from = to;
        }
    }

    /// One track segment, in order. Segments are never joined.
    pub fn segment(&mut self, fixes: &[Fix]) {
        self.segment_with(fixes, crate::qc::pair_lengths(fixes));
    }

    /// As [`segment`](Self::segment), with the pair lengths already measured
    /// ([`crate::qc::pair_lengths`]).
    pub fn segment_with(&mut self, fixes: &[Fix], lens: Vec<f64>) {
        let seg = self.segment_no;
        self.segment_no += 1;
        self.out.fixes += fixes.len() as u64;
        let rules = self.ctx.rules;
        let SegmentMarks {
            marks,
            lens,
            kept_by_person,
        } = mark_segment_with(seg, fixes, lens, &rules, &self.ctx.overrides);
        self.out.raw_length_m += lens.iter().sum::<f64>();
        self.kept_by_person += kept_by_person.len() as u64;
        for (i, mark) in kept_by_person {
            self.out.marks.push(MarkedFix {
                segment: seg,
                point: i as u32,
                mark,
                excluded: false,
            });
        }
        self.check_times(fixes);
        self.excluded_runs(seg, fixes, &lens, &marks);

        let kept: Vec<usize> = (0..fixes.len()).filter(|&i| marks[i].is_none()).collect();
        let Some(dates) = kept_dates(fixes, &kept, |t| self.date_of(t)) else {
            // No time in the segment: its effort takes the leg's first date.
            self.orphans.points += kept.len() as u64;
            for w in kept.windows(2) {
                let len = pair_len(fixes, &lens, w[0], w[1]);
                self.orphans.length_m += len;
                self.out.length_m += len;
            }
            return;
        };
        self.out.first_date.get_or_insert(dates[0]);
        let vmax = rules.max_speed_kmh / 3.6;
        let pause = (rules.pause_max_s * MICROS as f64) as i64;
        let active_gap = (rules.active_gap_s * MICROS as f64) as i64;
        let mut fast_run: Option<(f64, f64)> = None; // (metres, seconds)
        for (pos, &here) in kept.iter().enumerate() {
            let fix = fixes[here];
            let carried = dates[pos];
            if let Some(time) = fix.time {
                self.out.first_time = Some(self.out.first_time.map_or(time, |x| x.min(time)));
                self.out.last_time = Some(self.out.last_time.map_or(time, |x| x.max(time)));
            }
            self.day_mut(carried).points += 1;
            let Some(&next) = kept.get(pos + 1) else {
                continue;
            };
            let len = pair_len(fixes, &lens, here, next);
            self.day_mut(carried).length_m += len;
            self.out.length_m += len;
            self.boundary_test(pos, fix, fixes[next], len, kept.len());
            let (Some(from), Some(to)) = (fix.time, fixes[next].time) else {
                continue;
            };
            let dt = to - from;
            if dt <= 0 {
                continue;
            }
            if dt > pause {
                // A stay's bridge is a stay, reported as such.
                let stay_bridge =
                    next > here + 1 && marks[here + 1..next].iter().all(|m| *m == Some(Mark::Stay));
                if !stay_bridge {
                    self.gaps.count += 1;
                    self.gaps.hours += dt as f64 / MICROS as f64;
                }
                self.flush_fast(&mut fast_run);
                continue;
            }
            self.add_time(from, to, dt <= active_gap);
            let secs = dt as f64 / MICROS as f64;
            if len > vmax * secs {
                let run = fast_run.get_or_insert((0.0, 0.0));
                run.0 += len;
                run.1 += secs;
                self.fast_max_kmh = self.fast_max_kmh.max(len / secs * 3.6);
            } else {
                self.flush_fast(&mut fast_run);
            }
        }
        self.flush_fast(&mut fast_run);
    }

    /// Is the pair's midpoint outside the site's boundary? With a large
    /// boundary and a long track, one pair in `stride` is tested and weighs for
    /// the pairs around it (at most about 20 million vertex tests per segment).
    fn boundary_test(&mut self, pos: usize, a: Fix, b: Fix, len: f64, pairs: usize) {
        let Some(boundary) = &self.ctx.boundary else {
            return;
        };
        let stride = (pairs.saturating_mul(boundary.vertices) / 20_000_000).max(1);
        if !pos.is_multiple_of(stride) {
            return;
        }
        let weight = len * stride as f64;
        self.tested_m += weight;
        if !boundary.contains(f64::midpoint(a.lon, b.lon), f64::midpoint(a.lat, b.lat)) {
            self.outside_m += weight;
        }
    }

    /// A run of pairs faster than the transport allows ends: count it when
    /// sustained (at least two minutes and 500 m).
    fn flush_fast(&mut self, run: &mut Option<(f64, f64)>) {
        if let Some((m, s)) = run.take()
            && s >= 120.0
            && m >= 500.0
        {
            self.fast_km += m / 1000.0;
            self.fast_runs += 1;
        }
    }

    /// Runs of consecutive marked fixes: what they took out, against the bridge.
    fn excluded_runs(&mut self, seg: u32, fixes: &[Fix], lens: &[f64], marks: &[Option<Mark>]) {
        let n = fixes.len();
        let pause = self.ctx.rules.pause_max_s;
        let mut i = 0;
        while i < n {
            let Some(mark) = marks[i] else {
                i += 1;
                continue;
            };
            let start = i;
            while i < n && marks[i].is_some() {
                self.out.marks.push(MarkedFix {
                    segment: seg,
                    point: i as u32,
                    mark: marks[i].unwrap_or(mark),
                    excluded: true,
                });
                i += 1;
            }
            let end = i - 1; // last marked
            let prev = start.checked_sub(1);
            let next = (end + 1 < n).then_some(end + 1);
            // The recorded pairs that touch the run: from its kept neighbour
            // before (or its first fix) to its kept neighbour after (or its last).
            let (mut raw_m, mut raw_s) = (0.0, 0.0);
            for k in prev.unwrap_or(start)..next.unwrap_or(end) {
                raw_m += lens[k];
                if let (Some(a), Some(b)) = (fixes[k].time, fixes[k + 1].time)
                    && b > a
                {
                    raw_s += (b - a) as f64 / MICROS as f64;
                }
            }
            let (mut bridge_m, mut bridge_s) = (0.0, 0.0);
            if let (Some(p), Some(q)) = (prev, next) {
                bridge_m =
                    pair_length_m((fixes[p].lon, fixes[p].lat), (fixes[q].lon, fixes[q].lat));
                if let (Some(a), Some(b)) = (fixes[p].time, fixes[q].time) {
                    let s = (b - a) as f64 / MICROS as f64;
                    if s > 0.0 && s <= pause {
                        bridge_s = s;
                    }
                }
            }
            let t = self.by_mark.entry(mark).or_default();
            t.points += (end - start + 1) as u64;
            t.km += (raw_m - bridge_m).max(0.0) / 1000.0;
            t.hours += (raw_s - bridge_s).max(0.0) / 3600.0;
            t.count += 1;
        }
    }

    fn check_times(&mut self, fixes: &[Fix]) {
        let now = self.ctx.now;
        for f in fixes {
            let Some(t) = f.time else { continue };
            if self.out.samples.len() < MAX_SAMPLES {
                let t_s = t.div_euclid(MICROS);
                if is_sample_second(t_s) {
                    self.out.samples.push(FixSample {
                        t_s,
                        lon: f.lon,
                        lat: f.lat,
                    });
                }
            }
            if t < PLAUSIBLE_FROM_US {
                self.early += 1;
            } else if t > now + 86_400 * MICROS {
                self.future += 1;
            }
            let shifted = t.saturating_add(ROLLOVER_US);
            if shifted <= now + 86_400 * MICROS && shifted >= now - 2 * 365 * 86_400 * MICROS {
                self.rollover.get_or_insert(t);
            }
        }
    }

    /// Totals per local date, what could not be dated, and the warnings.
    pub fn finish(mut self) -> LegEffort {
        self.flush_day();
        let orphans = std::mem::take(&mut self.orphans);
        let mut out = std::mem::take(&mut self.out);
        if out.fixes > LONG_LEG_FIXES {
            out.samples
                .retain(|s| second_hash(s.t_s).is_multiple_of(SAMPLE_EVERY_LONG));
        }
        let dated_by_hand = out.first_date.is_none() && self.ctx.given_date.is_some();
        let first = out.first_date.or(self.ctx.given_date);
        match first {
            Some(d) => {
                let day = self.days.entry(d).or_default();
                day.points += orphans.points;
                day.length_m += orphans.length_m;
            }
            None => out.undated = orphans,
        }
        out.days = self
            .days
            .iter()
            .map(|(&d, a)| {
                (
                    d,
                    DayTotals {
                        points: a.points,
                        length_m: a.length_m,
                        seconds: a.hours.seconds(),
                        active_seconds: a.active.seconds(),
                    },
                )
            })
            .collect();
        let rules = self.ctx.rules;
        let pause_h = rules.pause_max_s / 3600.0;
        let w = &mut out.warnings;
        for (mark, t) in &self.by_mark {
            let (what, why) = match mark {
                Mark::NullIsland => (
                    "fix(es) at or near 0,0",
                    "a unit reporting before it has a fix",
                ),
                Mark::Spike => ("fix(es) far off the track", "multipath spikes"),
                Mark::Stale => (
                    "stale fix(es) at the start or end of a segment",
                    "the position and time the unit last had",
                ),
                Mark::Stay => (
                    "fix(es) of a stay in one place over the pause limit",
                    "a camp with the unit logging, or a logger left on",
                ),
                Mark::Manual => ("fix(es) dropped by a person", "edit patrol --drop-fix"),
            };
            w.push(
                Warning::new(
                    WarningKind::of_mark(*mark),
                    format!(
                        "{} {what} ({why}) left out: {} and {} not counted",
                        t.points,
                        km(t.km * 1000.0),
                        hours(t.hours * 3600.0)
                    ),
                )
                .with(t.points, t.km, t.hours),
            );
        }
        if self.kept_by_person > 0 {
            w.push(
                Warning::new(
                    WarningKind::KeptFix,
                    format!(
                        "{} fix(es) the rules would leave out are kept by a person's word",
                        self.kept_by_person
                    ),
                )
                .with(self.kept_by_person, 0.0, 0.0),
            );
        }
        if self.gaps.count > 0 {
            w.push(
                Warning::new(
                    WarningKind::TimeGap,
                    format!(
                        "{} pause(s) over {pause_h} h between fixes (the unit off?): {} not counted as patrol time",
                        self.gaps.count,
                        hours(self.gaps.hours)
                    ),
                )
                .with(0, 0.0, self.gaps.hours / 3600.0),
            );
        }
        if self.fast_runs > 0 {
            let mut fast = Warning::new(
                WarningKind::ImplausibleSpeed,
                format!(
                    "{:.3} km in {} stretch(es) faster than the transport allows ({} km/h; up to {:.0} km/h): wrong transport?",
                    self.fast_km, self.fast_runs, rules.max_speed_kmh, self.fast_max_kmh
                ),
            );
            fast.km = Some(self.fast_km);
            w.push(fast);
        }
        if let (Some(a), Some(b)) = (out.days.keys().next(), out.days.keys().next_back()) {
            let span = (*b - *a).num_days() + 1;
            if span > i64::from(rules.max_patrol_days) {
                w.push(Warning::new(
                    WarningKind::LongPatrol,
                    format!(
                        "the patrol spans {span} days ({a} to {b}), more than {}: one track holding several patrols?",
                        rules.max_patrol_days
                    ),
                ));
            }
        }
        if self.tested_m > 0.0 && self.outside_m > 0.01 * self.tested_m.max(10_000.0) {
            let share = self.outside_m / self.tested_m;
            let outside_km = share * out.length_m / 1000.0;
            let mut warn = Warning::new(
                WarningKind::OutsideBoundary,
                format!(
                    "{} ({:.0} % of the counted track) outside the site's boundary: another site's patrol, or a boundary to fix?",
                    km(outside_km * 1000.0),
                    share * 100.0
                ),
            );
            warn.km = Some(outside_km);
            w.push(warn);
        }
        if self.early > 0 {
            w.push(
                Warning::new(
                    WarningKind::EarlyTime,
                    format!(
                        "{} fix(es) dated before 2000: is the GPS clock set?",
                        self.early
                    ),
                )
                .with(self.early, 0.0, 0.0),
            );
        }
        if self.future > 0 {
            w.push(
                Warning::new(
                    WarningKind::FutureTime,
                    format!(
                        "{} fix(es) dated in the future: is the GPS clock set?",
                        self.future
                    ),
                )
                .with(self.future, 0.0, 0.0),
            );
        }
        if let Some(t) = self.rollover {
            w.push(Warning::new(
                WarningKind::WeekRollover,
                format!(
                    "fixes dated {} would be {} 1,024 weeks later: if the unit's clock rolled over (GPS week rollover), its dates are wrong",
                    format_utc(t),
                    format_utc(t + ROLLOVER_US)
                ),
            ));
        }
        if dated_by_hand && out.fixes > 0 {
            w.push(Warning::new(
                WarningKind::DatedByHand,
                format!(
                    "no track point has a time: the track is dated {} as given",
                    self.ctx.given_date.unwrap_or_default()
                ),
            ));
        }
        if out.undated.points > 0 {
            w.push(Warning::new(
                WarningKind::Undated,
                format!(
                    "no track point has a time: {} are undated and in no period's report (give --date)",
                    km(out.undated.length_m)
                ),
            ));
        }
        out
    }
}

fn pair_len(fixes: &[Fix], lens: &[f64], i: usize, j: usize) -> f64 {
    if j == i + 1 {
        lens[i]
    } else {
        pair_length_m((fixes[i].lon, fixes[i].lat), (fixes[j].lon, fixes[j].lat))
    }
}

/// The local date each kept fix of a segment (`kept`, indices into `fixes`,
/// in order) counts on: a timed fix its own (`date_of` its time), an untimed
/// one the date of the last timed fix before it, and the untimed ones before
/// the first time that first time's date. `None` when no kept fix has a time
/// (the segment takes the leg's first date). A pair counts on its first fix's
/// date. The one rule of both [`LegAnalyser`] and [`dated_pairs`].
fn kept_dates(
    fixes: &[Fix],
    kept: &[usize],
    mut date_of: impl FnMut(i64) -> NaiveDate,
) -> Option<Vec<NaiveDate>> {
    let first = kept.iter().find_map(|&i| fixes[i].time)?;
    let mut carried = date_of(first);
    Some(
        kept.iter()
            .map(|&i| {
                if let Some(t) = fixes[i].time {
                    carried = date_of(t);
                }
                carried
            })
            .collect(),
    )
}

/// The kept pairs of one segment with the local date their length belongs to
/// (the rule of [`LegAnalyser`], through the same `kept_dates`; a segment
/// without any time takes `leg_first_date`, `None` when the leg has none).
/// Used to draw and grid the tracks the report counts.
pub fn dated_pairs(
    fixes: &[Fix],
    excluded: &[bool],
    zone: Tz,
    leg_first_date: Option<NaiveDate>,
) -> Vec<(usize, usize, Option<NaiveDate>)> {
    let kept: Vec<usize> = (0..fixes.len())
        .filter(|&i| !excluded.get(i).copied().unwrap_or(false))
        .collect();
    // The date of the day a time falls in, kept while times stay in it (the
    // analyser's cache, for the same dates).
    let mut day: Option<(i64, i64, NaiveDate)> = None;
    let dates = kept_dates(fixes, &kept, |t| {
        if let Some((start, end, date)) = day
            && (start..end).contains(&t)
        {
            return date;
        }
        let date = local_date(t, zone);
        let start = local_midnight(date, zone);
        let end = date
            .succ_opt()
            .map_or(i64::MAX, |next| local_midnight(next, zone));
        if start <= t && t < end && end - start <= 26 * 3600 * MICROS {
            day = Some((start, end, date));
        }
        date
    });
    kept.windows(2)
        .enumerate()
        .map(|(pos, w)| {
            let date = dates.as_ref().map_or(leg_first_date, |d| Some(d[pos]));
            (w[0], w[1], date)
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::float_cmp, clippy::unnecessary_wraps)] // exact sums of exact inputs
mod tests {
    use super::*;
    use crate::time::{from_utc, parse_zone};
    use proptest::prelude::*;

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

    fn ctx(zone: &str) -> LegContext {
        LegContext {
            zone: parse_zone(zone).unwrap(),
            rules: Rules::default(),
            overrides: Vec::new(),
            given_date: None,
            now: t("2026-11-23T00:00:00Z").unwrap(),
            boundary: None,
        }
    }

    fn run(zone: &str, segments: &[Vec<Fix>]) -> LegEffort {
        let mut a = LegAnalyser::new(ctx(zone));
        for s in segments {
            a.segment(s);
        }
        a.finish()
    }

    fn f(lon: f64, lat: f64, time: &str) -> Fix {
        Fix::new(lon, lat, t(time))
    }

    const BKK: &str = "Asia/Bangkok";

    #[test]
    fn a_pair_across_midnight_splits_its_time_and_keeps_its_length_on_the_first_date() {
        let e = run(
            BKK,
            &[vec![
                f(102.0, 14.0, "2026-10-31T23:50:00+07:00"),
                f(102.0, 14.001, "2026-11-01T00:10:00+07:00"),
            ]],
        );
        let (oct, nov) = (e.days[&d("2026-10-31")], e.days[&d("2026-11-01")]);
        assert_eq!((oct.points, nov.points), (1, 1));
        assert!(oct.length_m > 100.0 && nov.length_m == 0.0);
        assert_eq!((oct.seconds, nov.seconds), (600.0, 600.0));
        assert_eq!(e.length_m, oct.length_m);
    }

    #[test]
    fn a_morning_start_in_bangkok_is_the_local_first() {
        let e = run(
            BKK,
            &[vec![
                f(102.0, 14.0, "2026-09-30T22:30:00Z"),
                f(102.0, 14.01, "2026-09-30T23:00:00Z"),
            ]],
        );
        assert_eq!(
            e.days.keys().copied().collect::<Vec<_>>(),
            vec![d("2026-10-01")]
        );
    }

    #[test]
    fn a_short_rest_is_patrol_time_and_a_long_pause_is_not() {
        let e = run(
            "UTC",
            &[vec![
                f(0.0, 1.0, "2026-10-04T08:00:00Z"),
                f(0.0, 1.001, "2026-10-04T09:00:00Z"), // 1 h rest: patrol time, not active
                f(0.0, 1.002, "2026-10-04T09:20:00Z"), // 20 min
                f(0.0, 1.003, "2026-10-04T18:20:00Z"), // 9 h: the unit off
            ]],
        );
        let day = e.days[&d("2026-10-04")];
        assert_eq!(day.seconds, 3600.0 + 1200.0);
        assert_eq!(day.active_seconds, 1200.0);
        let gap = e
            .warnings
            .iter()
            .find(|w| w.kind == WarningKind::TimeGap)
            .unwrap();
        assert_eq!(gap.hours_excluded, 9.0);
    }

    #[test]
    fn hours_are_a_union_so_a_clock_going_back_adds_nothing() {
        let e = run(
            "UTC",
            &[
                vec![
                    f(0.0, 1.0, "2026-10-04T08:00:00Z"),
                    f(0.0, 1.001, "2026-10-04T09:00:00Z"),
                ],
                vec![
                    f(0.0, 1.0, "2026-10-04T08:30:00Z"),
                    f(0.0, 1.001, "2026-10-04T09:30:00Z"),
                ],
            ],
        );
        assert_eq!(e.days[&d("2026-10-04")].seconds, 1.5 * 3600.0);
    }

    #[test]
    fn untimed_fixes_take_their_neighbours_dates() {
        let e = run(
            "UTC",
            &[
                vec![
                    Fix::new(0.0, 1.0, None),
                    f(0.0, 1.001, "2026-10-05T08:00:00Z"),
                    Fix::new(0.0, 1.002, None),
                ],
                vec![Fix::new(0.0, 1.003, None), Fix::new(0.0, 1.004, None)],
            ],
        );
        assert_eq!(e.undated, DayTotals::default());
        let day = e.days[&d("2026-10-05")];
        assert_eq!(day.points, 5);
        assert!((day.length_m - e.raw_length_m).abs() < 1e-9);
        assert_eq!(day.seconds, 0.0);
    }

    #[test]
    fn a_track_without_time_is_undated_unless_a_person_dates_it() {
        let seg = vec![Fix::new(0.0, 1.0, None), Fix::new(0.0, 1.001, None)];
        let e = run("UTC", std::slice::from_ref(&seg));
        assert!(e.days.is_empty());
        assert_eq!(e.undated.points, 2);
        assert!(e.warnings.iter().any(|w| w.kind == WarningKind::Undated));
        let mut c = ctx("UTC");
        c.given_date = Some(d("2026-10-04"));
        let mut a = LegAnalyser::new(c);
        a.segment(&seg);
        let e = a.finish();
        assert_eq!(e.days[&d("2026-10-04")].points, 2);
        assert!(
            e.warnings
                .iter()
                .any(|w| w.kind == WarningKind::DatedByHand)
        );
    }

    #[test]
    fn a_skipped_local_day_does_not_panic() {
        // Pacific/Apia skipped 2011-12-30.
        let e = run(
            "Pacific/Apia",
            &[vec![
                f(-171.7, -13.8, "2011-12-29T23:00:00-10:00"),
                f(-171.7, -13.81, "2011-12-31T00:30:00+14:00"),
            ]],
        );
        assert!(e.days.values().all(|d| d.seconds <= 24.0 * 3600.0));
    }

    #[test]
    fn a_glitch_reports_what_it_took_out() {
        let mut w = walk(100, 10);
        w[50].lat += 0.5; // 55 km off
        w.insert(
            0,
            Fix::new(102.2, 14.0, w[0].time.map(|t| t - 3 * 86_400 * MICROS)),
        );
        let e = run(BKK, std::slice::from_ref(&w));
        let spike = e
            .warnings
            .iter()
            .find(|x| x.kind == WarningKind::Spike)
            .unwrap();
        assert!((spike.km_excluded - 2.0 * 55.3).abs() < 1.0, "{spike:?}");
        let stale = e
            .warnings
            .iter()
            .find(|x| x.kind == WarningKind::StaleFix)
            .unwrap();
        assert!(
            stale.km_excluded > 20.0 && (stale.hours_excluded - 72.0).abs() < 0.01,
            "{stale:?}"
        );
        let excluded: f64 = e.warnings.iter().map(|x| x.km_excluded).sum();
        assert!((e.raw_length_m / 1000.0 - e.length_m / 1000.0 - excluded).abs() < 1e-6);
    }

    #[test]
    fn track_outside_the_boundary_is_measured() {
        let mut c = ctx(BKK);
        // A park covering the first half of the walk.
        c.boundary = Boundary::new(&[vec![vec![
            (101.9, 13.9),
            (102.1, 13.9),
            (102.1, 14.0 + 50.0 * 12.0 / 110_574.0),
            (101.9, 14.0 + 50.0 * 12.0 / 110_574.0),
            (101.9, 13.9),
        ]]]);
        let mut a = LegAnalyser::new(c);
        a.segment(&walk(1001, 10));
        let e = a.finish();
        let w = e
            .warnings
            .iter()
            .find(|x| x.kind == WarningKind::OutsideBoundary)
            .unwrap();
        assert!((w.km.unwrap() - 950.0 * 0.012).abs() < 0.05, "{w:?}");
    }

    #[test]
    fn a_long_legs_thinner_samples_are_samples_of_a_short_one() {
        let long = run(BKK, &[walk(10_000, 10)]);
        let short = run(BKK, &[walk(5_000, 10)]);
        assert!(long.samples.len() < short.samples.len(), "thinner");
        let end = short.samples.last().unwrap().t_s;
        let in_both = long.samples.iter().filter(|s| s.t_s <= end);
        for s in in_both {
            assert!(short.samples.contains(s), "{s:?}");
        }
    }

    #[test]
    fn dated_pairs_follow_the_same_rule() {
        let fixes = vec![
            Fix::new(0.0, 1.0, None),
            f(0.0, 1.001, "2026-10-05T23:59:00Z"),
            f(0.0, 1.002, "2026-10-06T00:01:00Z"),
            Fix::new(0.0, 1.003, None),
        ];
        let pairs = dated_pairs(&fixes, &[false, false, true, false], chrono_tz::UTC, None);
        assert_eq!(
            pairs,
            vec![(0, 1, Some(d("2026-10-05"))), (1, 3, Some(d("2026-10-05")))]
        );
    }

    fn walk(n: usize, step_s: i64) -> Vec<Fix> {
        let t0 = t("2026-10-04T06:00:00Z").unwrap();
        (0..n)
            .map(|i| {
                Fix::new(
                    102.0,
                    14.0 + i as f64 * 1.2 * step_s as f64 / 110_574.0,
                    Some(t0 + i as i64 * step_s * MICROS),
                )
            })
            .collect()
    }

    /// The faults real units make, at `at % len`: 0 a fix at null island,
    /// 1 a jump of `x * 0.3` degrees, 2 a clock `x * 3` days off, else no time.
    fn inject(w: &mut [Fix], faults: &[(usize, u8, f64)]) {
        let n = w.len();
        for &(at, kind, x) in faults {
            let i = at % n;
            match kind {
                0 => {
                    w[i].lon = 0.0;
                    w[i].lat = 0.0;
                }
                1 => w[i].lat += x * 0.3,
                2 => w[i].time = w[i].time.map(|t| t + (x * 86_400.0 * 3.0) as i64 * MICROS),
                _ => w[i].time = None,
            }
        }
    }

    /// Per-date length of one leg by [`dated_pairs`] over the kept fixes.
    fn km_by_dated_pairs(
        e: &LegEffort,
        segments: &[Vec<Fix>],
        zone: Tz,
    ) -> BTreeMap<NaiveDate, f64> {
        let mut by_date: BTreeMap<NaiveDate, f64> = BTreeMap::new();
        for (seg, fixes) in segments.iter().enumerate() {
            let mask: Vec<bool> = (0..fixes.len())
                .map(|i| {
                    e.marks
                        .iter()
                        .any(|m| m.excluded && m.segment as usize == seg && m.point as usize == i)
                })
                .collect();
            for (a, b, date) in dated_pairs(fixes, &mask, zone, e.first_date) {
                if let Some(d) = date {
                    *by_date.entry(d).or_default() +=
                        pair_length_m((fixes[a].lon, fixes[a].lat), (fixes[b].lon, fixes[b].lat));
                }
            }
        }
        by_date
    }

    proptest! {
        #[test]
        fn the_analyser_and_dated_pairs_give_each_date_the_same_km(
            n in 3usize..60,
            step in 60i64..4000,
            faults in proptest::collection::vec((0usize..60, 0u8..4, -2.0f64..2.0), 0..20),
            split in 0usize..60,
        ) {
            let mut w = walk(n, step);
            inject(&mut w, &faults);
            let cut = split % n;
            let segments = vec![w[..cut].to_vec(), w[cut..].to_vec()];
            let zone = parse_zone(BKK).unwrap();
            let e = run(BKK, &segments);
            let ours = km_by_dated_pairs(&e, &segments, zone);
            let theirs: BTreeMap<NaiveDate, f64> = e.days.iter().map(|(d, t)| (*d, t.length_m)).filter(|(_, m)| *m > 0.0).collect();
            let ours: BTreeMap<NaiveDate, f64> = ours.into_iter().filter(|(_, m)| *m > 0.0).collect();
            prop_assert_eq!(ours.keys().collect::<Vec<_>>(), theirs.keys().collect::<Vec<_>>());
            for (d, m) in &ours {
                prop_assert!((m - theirs[d]).abs() < 1e-6, "{d}: {m} vs {}", theirs[d]);
            }
        }

        #[test]
        fn excluding_glitches_never_adds_km_and_no_date_exceeds_its_length(
            n in 5usize..200,
            step in 1i64..900,
            faults in proptest::collection::vec((0usize..200, 0u8..4, -2.0f64..2.0), 0..6),
        ) {
            let mut w = walk(n, step);
            inject(&mut w, &faults);
            let e = run(BKK, std::slice::from_ref(&w));
            prop_assert!(e.length_m <= e.raw_length_m * (1.0 + 1e-12) + 1e-9);
            let sum: f64 = e.days.values().map(|d| d.length_m).sum::<f64>() + e.undated.length_m;
            prop_assert!((sum - e.length_m).abs() < 1e-6 * e.length_m.max(1.0));
            for (date, day) in &e.days {
                prop_assert!(day.seconds <= 24.0 * 3600.0 + 1e-6, "{date}: {}", day.seconds);
                prop_assert!(day.active_seconds <= day.seconds + 1e-6);
            }
            // Deterministic.
            let again = run(BKK, std::slice::from_ref(&w));
            prop_assert_eq!(e, again);
        }
    }
}
