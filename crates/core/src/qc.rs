//! Quality control of GPS fixes: which fixes of a track segment are glitches
//! (recorded, kept in the database, but counted in no figure), and which runs
//! of fixes are a stay in one place. Pure functions of the fixes and the
//! site's [`Rules`]; run once at import (docs/METRICS.md, "Quality control").
//!
//! The rules, in the order they run on each segment:
//! 1. **Null island**: a fix within [`Rules::null_island_deg`] of 0,0 whose
//!    nearest other fix is far from there (a unit reporting before it has a fix).
//! 2. **Stale fix**: one or two fixes at the start or end of a segment, separated
//!    from the rest (at least three fixes) by a time gap longer than
//!    [`Rules::pause_max_s`] and a jump of [`Rules::stale_jump_m`] (the position
//!    and time the unit last had); a lone such fix needs no jump when the gap
//!    is [`Rules::stale_gap_lone_s`] or more (the unit last switched off at the
//!    outpost this patrol starts from).
//! 3. **Spike**: a run of one to three fixes entered and left at more than twice
//!    the transport's ceiling over at least [`Rules::spike_min_m`], while the
//!    fixes before and after it are within a quarter of that of each other
//!    (multipath). Without times: entered and left over 2 km, with the fixes
//!    around it five times closer than that. At either end of a segment: a
//!    first (last) fix reached at more than twice the ceiling from a neighbour
//!    that goes on at no more than the ceiling.
//! 4. A person's word (`edit patrol --keep-fix / --drop-fix`) overrules 1-3.
//! 5. **Stay**: timed fixes that stay within [`Rules::stay_radius_m`] of the
//!    first for longer than [`Rules::pause_max_s`] (a night in camp with the unit
//!    logging, a logger in a drawer), or three or more fixes there each more
//!    than the pause limit after the last (a logger at rest that logs now and
//!    then). Its inner fixes are left out like glitches,
//!    so its jitter adds no km; the pair that bridges it is a long pause, so it
//!    adds no hours either. A stay that opens or closes a segment is left out whole.

use serde::{Deserialize, Serialize};

use crate::geodesy::pair_length_m;
use crate::model::Transport;
use crate::time::MICROS;

/// One GPS fix: (lon, lat) in WGS84 degrees, time in µs UTC when the unit gave one.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Fix {
    /// Longitude (x), WGS84 degrees.
    pub lon: f64,
    /// Latitude (y), WGS84 degrees.
    pub lat: f64,
    /// Microseconds since the Unix epoch, UTC; `None` when the unit recorded no time.
    pub time: Option<i64>,
}

impl Fix {
    /// A fix at (lon, lat) in degrees, x first, with its time in µs UTC when there is one.
    pub fn new(lon: f64, lat: f64, time: Option<i64>) -> Self {
        Fix { lon, lat, time }
    }

    fn xy(self) -> (f64, f64) {
        (self.lon, self.lat)
    }
}

/// Why a fix is left out of the figures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mark {
    /// Within [`Rules::null_island_deg`] of 0,0 while its nearest other fix is far from there (rule 1).
    NullIsland,
    /// A multipath glitch: one to three fixes far off the track and back, or a far-off first or last fix (rule 3).
    Spike,
    /// The position and time the unit last had, cut off from the segment by a long gap (rule 2).
    Stale,
    /// Inside a stay in one place, or all of one that opens or closes the segment (rule 5).
    Stay,
    /// A person dropped it (`edit patrol --drop-fix`).
    Manual,
}

impl Mark {
    /// Every mark, in declaration (and sort) order.
    pub const ALL: [Mark; 5] = [
        Mark::NullIsland,
        Mark::Spike,
        Mark::Stale,
        Mark::Stay,
        Mark::Manual,
    ];

    /// The stored name, that of its warning kind (`Stale` is "stale_fix", `Manual` "dropped_fix").
    pub fn as_str(self) -> &'static str {
        match self {
            Mark::NullIsland => "null_island",
            Mark::Spike => "spike",
            Mark::Stale => "stale_fix",
            Mark::Stay => "stay",
            Mark::Manual => "dropped_fix",
        }
    }

    /// The mark a stored name (exactly [`Mark::as_str`]) names; `None` for any other text.
    pub fn parse(s: &str) -> Option<Mark> {
        Mark::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

/// A person's word on one fix: keep it whatever the rules say, or drop it.
/// `segment` and `point` count from 0 in the stored track (the CLI shows them from 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct FixOverride {
    /// Index of the track segment, from 0.
    pub segment: u32,
    /// Index of the fix within its segment, from 0.
    pub point: u32,
    /// `true` keeps the fix whatever the rules say (`--keep-fix`); `false` drops it (`--drop-fix`).
    pub keep: bool,
}

/// Speed ceilings per transport, km/h: what a patrol can really do.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct SpeedLimits {
    /// On foot, km/h (default 15).
    pub foot: f64,
    /// By vehicle, km/h (default 130).
    pub vehicle: f64,
    /// By motorbike, km/h (default 130).
    pub motorbike: f64,
    /// By boat, km/h (default 80).
    pub boat: f64,
    /// By aircraft, km/h (default 900).
    pub aircraft: f64,
}

impl Default for SpeedLimits {
    fn default() -> Self {
        SpeedLimits {
            foot: 15.0,
            vehicle: 130.0,
            motorbike: 130.0,
            boat: 80.0,
            aircraft: 900.0,
        }
    }
}

impl SpeedLimits {
    /// The ceiling of one transport, km/h.
    pub fn get(&self, t: Transport) -> f64 {
        match t {
            Transport::Foot => self.foot,
            Transport::Vehicle => self.vehicle,
            Transport::Motorbike => self.motorbike,
            Transport::Boat => self.boat,
            Transport::Aircraft => self.aircraft,
        }
    }
}

/// A site's quality-control settings (its data model's `[qc]` and `[qc.speed_kmh]`).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct QcSettings {
    /// The longest pause that is still patrol time (hours).
    pub pause_max_hours: f64,
    /// Radius of a stay in one place (metres).
    pub stay_radius_m: f64,
    /// A patrol longer than this many days gets a warning.
    pub max_patrol_days: u32,
    /// Speed ceilings per transport, km/h (`[qc.speed_kmh]`).
    pub speed_kmh: SpeedLimits,
}

impl Default for QcSettings {
    fn default() -> Self {
        QcSettings {
            pause_max_hours: 2.0,
            stay_radius_m: 50.0,
            max_patrol_days: 14,
            speed_kmh: SpeedLimits::default(),
        }
    }
}

impl QcSettings {
    /// The rules for one leg.
    pub fn rules(&self, transport: Transport) -> Rules {
        Rules {
            max_speed_kmh: self.speed_kmh.get(transport),
            pause_max_s: self.pause_max_hours * 3600.0,
            stay_radius_m: self.stay_radius_m,
            max_patrol_days: self.max_patrol_days,
            ..Rules::default()
        }
    }

    /// Settings a site can use: positive, finite numbers.
    pub fn validate(&self) -> Result<(), String> {
        let s = &self.speed_kmh;
        let all = [
            ("pause_max_hours", self.pause_max_hours),
            ("stay_radius_m", self.stay_radius_m),
            ("speed_kmh.foot", s.foot),
            ("speed_kmh.vehicle", s.vehicle),
            ("speed_kmh.motorbike", s.motorbike),
            ("speed_kmh.boat", s.boat),
            ("speed_kmh.aircraft", s.aircraft),
        ];
        for (name, v) in all {
            if !(v.is_finite() && v > 0.0 && v < 1e6) {
                return Err(format!("{name} = {v} is not a positive number"));
            }
        }
        if self.max_patrol_days == 0 {
            return Err("max_patrol_days must be at least 1".into());
        }
        Ok(())
    }
}

/// The thresholds of the rules for one leg.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rules {
    /// The transport's ceiling, km/h.
    pub max_speed_kmh: f64,
    /// Pauses longer than this are not patrol time, seconds.
    pub pause_max_s: f64,
    /// Pairs further apart than this add no active hours, seconds.
    pub active_gap_s: f64,
    /// How far fixes may be from a stay's first fix and still be in the stay, metres.
    pub stay_radius_m: f64,
    /// The least jump between a stale fix (or pair) and the rest of its segment, metres.
    pub stale_jump_m: f64,
    /// A lone stale fix needs no jump when this far from the rest, seconds.
    pub stale_gap_lone_s: f64,
    /// Half-width, in degrees of latitude and of longitude, of the square around 0,0 where null island lies.
    pub null_island_deg: f64,
    /// The least distance by which a timed spike is entered and left, metres.
    pub spike_min_m: f64,
    /// A leg whose dates (first to last, inclusive) span more days than this gets a `long_patrol` warning.
    pub max_patrol_days: u32,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            max_speed_kmh: 15.0,
            pause_max_s: 2.0 * 3600.0,
            active_gap_s: 30.0 * 60.0,
            stay_radius_m: 50.0,
            stale_jump_m: 1000.0,
            stale_gap_lone_s: 12.0 * 3600.0,
            null_island_deg: 0.01,
            spike_min_m: 200.0,
            max_patrol_days: 14,
        }
    }
}

impl Rules {
    fn max_speed_ms(&self) -> f64 {
        self.max_speed_kmh / 3.6
    }
}

/// Geodesic lengths of a segment's consecutive pairs: `out[k]` joins fixes k and k+1.
pub fn pair_lengths(fixes: &[Fix]) -> Vec<f64> {
    fixes
        .windows(2)
        .map(|w| pair_length_m(w[0].xy(), w[1].xy()))
        .collect()
}

/// Seconds from `a` to `b` (absolute), when both have a time.
fn seconds_between(a: Fix, b: Fix) -> Option<f64> {
    Some((b.time? - a.time?).abs() as f64 / MICROS as f64)
}

/// Metres between two fixes, from the precomputed pair lengths when adjacent.
fn dist(fixes: &[Fix], lens: &[f64], i: usize, j: usize) -> f64 {
    if j == i + 1 {
        lens[i]
    } else if i == j + 1 {
        lens[j]
    } else {
        pair_length_m(fixes[i].xy(), fixes[j].xy())
    }
}

/// A cheap distance for radius tests (equirectangular, metres): within 0.5 %
/// of the geodesic over the few hundred metres it is used for.
fn flat_m(a: Fix, b: Fix) -> f64 {
    let k = (a.lat.to_radians()).cos();
    let dx = (b.lon - a.lon) * k * 111_320.0;
    let dy = (b.lat - a.lat) * 110_574.0;
    (dx * dx + dy * dy).sqrt()
}

/// The glitch fixes of one segment (rules 1-3), before any person's word.
pub fn glitches(fixes: &[Fix], lens: &[f64], rules: &Rules) -> Vec<Option<Mark>> {
    let n = fixes.len();
    let mut marks = vec![None; n];
    if n < 2 {
        return marks;
    }
    null_island(fixes, rules, &mut marks);
    stale(fixes, lens, rules, &mut marks);
    spikes(fixes, lens, rules, &mut marks);
    marks
}

fn null_island(fixes: &[Fix], rules: &Rules, marks: &mut [Option<Mark>]) {
    let near = |f: &Fix| f.lat.abs() < rules.null_island_deg && f.lon.abs() < rules.null_island_deg;
    if !fixes.iter().any(near) {
        return;
    }
    // "Far from 0,0": more than about 50 km.
    let far = |f: &Fix| f.lat.abs().max(f.lon.abs()) > 0.45;
    let n = fixes.len();
    for i in 0..n {
        if !near(&fixes[i]) {
            continue;
        }
        let prev = fixes[..i].iter().rev().find(|f| !near(f));
        let next = fixes[i + 1..].iter().find(|f| !near(f));
        let nearest = match (prev, next) {
            (Some(p), Some(q)) => {
                let (dp, dq) = (flat_m(fixes[i], *p), flat_m(fixes[i], *q));
                Some(if dp <= dq { p } else { q })
            }
            (p, q) => p.or(q),
        };
        if nearest.is_some_and(far) {
            marks[i] = Some(Mark::NullIsland);
        }
    }
}

fn unmarked(marks: &[Option<Mark>]) -> Vec<usize> {
    (0..marks.len()).filter(|&i| marks[i].is_none()).collect()
}

fn stale(fixes: &[Fix], lens: &[f64], rules: &Rules, marks: &mut [Option<Mark>]) {
    let count = marks.iter().filter(|m| m.is_none()).count();
    // One end at a time: `order` lists the first unmarked fixes from that end inwards.
    let open = |i: &usize| marks[*i].is_none();
    let fwd: Vec<usize> = (0..marks.len()).filter(open).take(4).collect();
    let back: Vec<usize> = (0..marks.len()).rev().filter(open).take(4).collect();
    for order in [fwd, back] {
        for s in 1..=2usize {
            if count < s + 3.max(2 * s) {
                break;
            }
            let (a, b) = (order[s - 1], order[s]);
            let Some(gap) = seconds_between(fixes[a], fixes[b]) else {
                continue;
            };
            if gap <= rules.pause_max_s {
                continue;
            }
            // The group itself holds together.
            let together = (1..s).all(|k| {
                seconds_between(fixes[order[k - 1]], fixes[order[k]])
                    .is_some_and(|g| g <= rules.pause_max_s)
            });
            if !together {
                continue;
            }
            // A lone fix half a day or more from the rest is stale even
            // where the unit last was is where this walk starts (the outpost).
            let lone_and_old = s == 1 && gap >= rules.stale_gap_lone_s;
            if lone_and_old || dist(fixes, lens, a, b) >= rules.stale_jump_m {
                for &i in &order[..s] {
                    marks[i] = Some(Mark::Stale);
                }
                break;
            }
        }
    }
}

fn spikes(fixes: &[Fix], lens: &[f64], rules: &Rules, marks: &mut [Option<Mark>]) {
    let kept = unmarked(marks);
    let vmax = rules.max_speed_ms();
    let mut prev: Option<usize> = None;
    let mut q = 0;
    'outer: while q < kept.len() {
        if let Some(p) = prev {
            let first = kept[q];
            let d_in = dist(fixes, lens, p, first);
            let t_in = seconds_between(fixes[p], fixes[first]);
            let fast_in = match t_in {
                Some(t) => d_in >= rules.spike_min_m && d_in > 2.0 * vmax * t.max(1.0),
                None => d_in >= 2000.0,
            };
            if fast_in {
                for len in 1..=3usize {
                    let Some(&next) = kept.get(q + len) else {
                        break;
                    };
                    let last = kept[q + len - 1];
                    let d_out = dist(fixes, lens, last, next);
                    let bridge = dist(fixes, lens, p, next);
                    let spike = match (t_in, seconds_between(fixes[last], fixes[next])) {
                        (Some(_), Some(t_out)) => {
                            d_out >= rules.spike_min_m
                                && d_out > 2.0 * vmax * t_out.max(1.0)
                                && bridge < 0.25 * d_in.min(d_out)
                        }
                        _ => d_out >= 2000.0 && bridge < 0.2 * d_in.min(d_out),
                    };
                    if spike {
                        for &i in &kept[q..q + len] {
                            marks[i] = Some(Mark::Spike);
                        }
                        q += len;
                        continue 'outer;
                    }
                }
            }
        }
        prev = Some(kept[q]);
        q += 1;
    }
    edge_spikes(fixes, lens, rules, marks);
}

/// A first (or last) fix far from a neighbour that goes on at a plausible pace.
fn edge_spikes(fixes: &[Fix], lens: &[f64], rules: &Rules, marks: &mut [Option<Mark>]) {
    let open = |i: &usize| marks[*i].is_none();
    let first: Vec<usize> = (0..marks.len()).filter(open).take(3).collect();
    let last: Vec<usize> = (0..marks.len()).rev().filter(open).take(3).collect();
    if first.len() < 3 {
        return;
    }
    let vmax = rules.max_speed_ms();
    let fwd = [first[0], first[1], first[2]];
    let back = [last[0], last[1], last[2]];
    for [edge, near, beyond] in [fwd, back] {
        let (Some(t1), Some(t2)) = (
            seconds_between(fixes[edge], fixes[near]),
            seconds_between(fixes[near], fixes[beyond]),
        ) else {
            continue;
        };
        let d1 = dist(fixes, lens, edge.min(near), edge.max(near));
        let d2 = dist(fixes, lens, near.min(beyond), near.max(beyond));
        if d1 >= rules.spike_min_m && d1 > 2.0 * vmax * t1.max(1.0) && d2 <= vmax * t2.max(1.0) {
            marks[edge] = Some(Mark::Spike);
        }
    }
}

/// Apply a person's word to one segment's marks: keep clears a mark, drop sets
/// [`Mark::Manual`]. Returns the marks a person overruled (kept fixes).
pub fn apply_overrides(
    segment: u32,
    marks: &mut [Option<Mark>],
    overrides: &[FixOverride],
) -> Vec<(usize, Mark)> {
    let mut kept = Vec::new();
    for o in overrides.iter().filter(|o| o.segment == segment) {
        let Some(m) = marks.get_mut(o.point as usize) else {
            continue;
        };
        if o.keep {
            if let Some(was) = m.take() {
                kept.push((o.point as usize, was));
            }
        } else if m.is_none() {
            *m = Some(Mark::Manual);
        }
    }
    kept
}

/// Rule 5: mark the inner fixes of every stay. Only fixes still unmarked take part.
/// Returns the stays as (first, last) fix indices.
pub fn stays(fixes: &[Fix], marks: &mut [Option<Mark>], rules: &Rules) -> Vec<(usize, usize)> {
    let timed: Vec<usize> = (0..fixes.len())
        .filter(|&i| marks[i].is_none() && fixes[i].time.is_some())
        .collect();
    let time_at = |k: usize| fixes[timed[k]].time.unwrap_or(i64::MIN);
    let pause = (rules.pause_max_s * MICROS as f64) as i64;
    let mut found = Vec::new();
    let (count, mut anchor, mut reach) = (timed.len(), 0usize, 0usize);
    while anchor + 1 < count {
        let target = time_at(anchor).saturating_add(pause);
        reach = reach.max(anchor + 1);
        while reach < count && time_at(reach) <= target {
            reach += 1;
        }
        if reach >= count {
            break;
        }
        let centre_fix = fixes[timed[anchor]];
        let far = fixes[timed[reach]];
        // Most anchors are on the move: the latitude alone shows it.
        if (far.lat - centre_fix.lat).abs() * 110_574.0 > rules.stay_radius_m
            || flat_m(centre_fix, far) > rules.stay_radius_m
        {
            anchor += 1;
            continue;
        }
        let mut end = anchor + 1;
        // The unit logging all along: a pause without fixes is a gap, not a stay.
        while end < count
            && time_at(end) >= time_at(end - 1)
            && time_at(end) - time_at(end - 1) <= pause
            && flat_m(centre_fix, fixes[timed[end]]) <= rules.stay_radius_m
        {
            end += 1;
        }
        if time_at(end - 1) - time_at(anchor) > pause {
            // The run may begin and end with the walk in and out: trim fixes
            // further from the run's centre than its own jitter.
            let run = &timed[anchor..end];
            let (cx, cy) = run.iter().fold((0.0, 0.0), |(x, y), &r| {
                (x + fixes[r].lon, y + fixes[r].lat)
            });
            let centre = Fix::new(cx / run.len() as f64, cy / run.len() as f64, None);
            let dists: Vec<f64> = run.iter().map(|&r| flat_m(fixes[r], centre)).collect();
            let mut sorted = dists.clone();
            sorted.sort_by(f64::total_cmp);
            let limit = (3.0 * sorted[sorted.len() / 2]).clamp(5.0, rules.stay_radius_m);
            let first = dists.iter().position(|&x| x <= limit).unwrap_or(0);
            let last = dists
                .iter()
                .rposition(|&x| x <= limit)
                .unwrap_or(dists.len() - 1);
            if first < last && time_at(anchor + last) - time_at(anchor + first) > pause {
                found.push((run[first], run[last]));
            }
            anchor = end;
        } else {
            anchor += 1;
        }
    }
    // A unit at rest that logs only now and then (a logger in a drawer, a
    // fix every few hours): three or more timed fixes in one place, each
    // more than the pause limit after the last. (One long pause between two
    // walks is the unit switched off, not a stay.)
    let mut run_start = 0;
    for k in 1..=timed.len() {
        let continues = k < timed.len()
            && time_at(k) - time_at(k - 1) > pause
            && flat_m(fixes[timed[run_start]], fixes[timed[k]]) <= rules.stay_radius_m;
        if !continues {
            if k - run_start >= 3 {
                found.push((timed[run_start], timed[k - 1]));
            }
            run_start = k;
        }
    }
    found.sort_unstable();
    let first_kept = (0..fixes.len()).find(|&i| marks[i].is_none());
    let last_kept = (0..fixes.len()).rev().find(|&i| marks[i].is_none());
    for &(s, e) in &found {
        let from = if Some(s) == first_kept { s } else { s + 1 };
        let to = if Some(e) == last_kept { e + 1 } else { e };
        for m in marks.iter_mut().take(to).skip(from) {
            if m.is_none() {
                *m = Some(Mark::Stay);
            }
        }
    }
    found
}

/// One segment after quality control.
#[derive(Clone, Debug, PartialEq)]
pub struct SegmentMarks {
    /// Per fix: why it is left out, or `None` when it counts.
    pub marks: Vec<Option<Mark>>,
    /// Geodesic lengths of the recorded pairs ([`pair_lengths`]).
    pub lens: Vec<f64>,
    /// Fixes a rule marked and a person kept.
    pub kept_by_person: Vec<(usize, Mark)>,
}

/// The marks of one segment after every rule and a person's word: glitches,
/// overrides, stays.
pub fn mark_segment(
    segment: u32,
    fixes: &[Fix],
    rules: &Rules,
    overrides: &[FixOverride],
) -> SegmentMarks {
    mark_segment_with(segment, fixes, pair_lengths(fixes), rules, overrides)
}

/// As [`mark_segment`], with the pair lengths already measured ([`pair_lengths`]).
pub fn mark_segment_with(
    segment: u32,
    fixes: &[Fix],
    lens: Vec<f64>,
    rules: &Rules,
    overrides: &[FixOverride],
) -> SegmentMarks {
    assert_eq!(
        lens.len(),
        fixes.len().saturating_sub(1),
        "one length per pair"
    );
    let mut marks = glitches(fixes, &lens, rules);
    let mut kept = apply_overrides(segment, &mut marks, overrides);
    stays(fixes, &mut marks, rules);
    // A person's keep also overrules a stay.
    for o in overrides.iter().filter(|o| o.segment == segment && o.keep) {
        if let Some(m) = marks.get_mut(o.point as usize)
            && let Some(was) = m.take()
        {
            kept.push((o.point as usize, was));
        }
    }
    SegmentMarks {
        marks,
        lens,
        kept_by_person: kept,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_790_000_000 * MICROS; // 2026-09-21

    /// A walk north at 1.2 m/s, a fix every 10 s.
    fn walk(n: usize) -> Vec<Fix> {
        (0..n)
            .map(|i| {
                Fix::new(
                    102.0,
                    14.0 + i as f64 * 12.0 / 110_574.0,
                    Some(T0 + i as i64 * 10 * MICROS),
                )
            })
            .collect()
    }

    fn marks_of(fixes: &[Fix]) -> Vec<Option<Mark>> {
        mark_segment(0, fixes, &Rules::default(), &[]).marks
    }

    #[test]
    fn a_clean_walk_has_no_marks() {
        assert!(marks_of(&walk(500)).iter().all(Option::is_none));
    }

    #[test]
    fn a_fix_at_zero_zero_is_a_glitch() {
        let mut w = walk(100);
        w[40] = Fix::new(0.0, 0.0, w[40].time);
        w[0] = Fix::new(0.000_001, -0.000_002, w[0].time);
        let m = marks_of(&w);
        assert_eq!(m[40], Some(Mark::NullIsland));
        assert_eq!(m[0], Some(Mark::NullIsland));
        assert_eq!(m.iter().flatten().count(), 2);
    }

    #[test]
    fn a_multipath_spike_is_a_glitch_and_a_fast_run_is_not() {
        let mut w = walk(100);
        w[50].lat += 0.5; // 55 km off for one fix
        w[70].lon += 0.004; // 430 m off
        w[71].lon += 0.004; // two fixes
        let m = marks_of(&w);
        assert_eq!(m[50], Some(Mark::Spike));
        assert_eq!((m[70], m[71]), (Some(Mark::Spike), Some(Mark::Spike)));
        assert_eq!(m.iter().flatten().count(), 3);
        // A car at 60 km/h on a foot patrol: fast, but not a glitch.
        let car: Vec<Fix> = (0..100)
            .map(|i| {
                Fix::new(
                    102.0,
                    14.0 + i as f64 * 167.0 / 110_574.0,
                    Some(T0 + i * 10 * MICROS),
                )
            })
            .collect();
        assert!(marks_of(&car).iter().all(Option::is_none));
    }

    #[test]
    fn a_spike_at_either_end_of_a_segment_is_a_glitch() {
        let mut w = walk(100);
        w[0].lat += 0.5;
        w[99].lon -= 0.3;
        let m = marks_of(&w);
        assert_eq!((m[0], m[99]), (Some(Mark::Spike), Some(Mark::Spike)));
        assert_eq!(m.iter().flatten().count(), 2);
    }

    #[test]
    fn a_unit_switched_off_in_one_place_is_a_gap_not_a_stay() {
        let mut w = walk(50);
        let last = *w.last().unwrap();
        let later = last.time.unwrap() + 40 * 3600 * MICROS;
        for k in 0..50 {
            w.push(Fix::new(
                last.lon,
                last.lat + f64::from(k) * 12.0 / 110_574.0,
                Some(later + i64::from(k) * 10 * MICROS),
            ));
        }
        assert!(marks_of(&w).iter().all(Option::is_none));
    }

    #[test]
    fn a_stale_first_fix_is_a_glitch() {
        let mut w = walk(100);
        w.insert(0, Fix::new(102.2, 14.1, Some(T0 - 3 * 86_400 * MICROS)));
        let m = marks_of(&w);
        assert_eq!(m[0], Some(Mark::Stale));
        assert_eq!(m.iter().flatten().count(), 1);
        // The same at the end, 5 km away a day later.
        let mut w = walk(100);
        let last = *w.last().unwrap();
        w.push(Fix::new(
            last.lon,
            last.lat + 0.05,
            Some(T0 + 86_400 * MICROS),
        ));
        let m = marks_of(&w);
        assert_eq!(m[100], Some(Mark::Stale));
        // Without a jump, a lone fix a day away is stale too (the unit last
        // switched off where this walk starts) ...
        let mut w = walk(100);
        let first = w[0];
        w.insert(
            0,
            Fix::new(first.lon, first.lat, Some(T0 - 3 * 86_400 * MICROS)),
        );
        assert_eq!(marks_of(&w)[0], Some(Mark::Stale));
        // ... but two fixes after a long pause, without a jump, are the walk
        // going on after the unit was off; and so is one after a short pause.
        let mut w = walk(100);
        let last = *w.last().unwrap();
        for k in 1..=2_i32 {
            w.push(Fix::new(
                last.lon,
                last.lat + 0.0001 * f64::from(k),
                Some(T0 + 86_400 * MICROS + i64::from(k) * 10 * MICROS),
            ));
        }
        assert!(marks_of(&w).iter().all(Option::is_none));
        let mut w = walk(100);
        let last = *w.last().unwrap();
        let later = last.time.unwrap() + 3 * 3600 * MICROS;
        w.push(Fix::new(last.lon, last.lat + 0.0001, Some(later)));
        assert!(marks_of(&w).iter().all(Option::is_none));
    }

    #[test]
    fn a_long_stay_in_one_place_is_marked_but_its_ends_kept() {
        let mut w = walk(50);
        let last = *w.last().unwrap();
        // Ten hours in camp, a fix every 5 minutes, a few metres of jitter.
        for k in 1..=120 {
            let j = (k % 3) as f64 * 0.00003;
            w.push(Fix::new(
                last.lon + j,
                last.lat,
                Some(last.time.unwrap() + k * 300 * MICROS),
            ));
        }
        let camp_end = w.len() - 1;
        let t = w[camp_end].time.unwrap();
        for k in 1..=50 {
            w.push(Fix::new(
                last.lon,
                last.lat + k as f64 * 12.0 / 110_574.0,
                Some(t + k * 10 * MICROS),
            ));
        }
        let m = marks_of(&w);
        assert_eq!(m[49], None, "arrival kept");
        assert_eq!(m[camp_end], None, "departure kept");
        assert!(m[50..camp_end].iter().all(|x| *x == Some(Mark::Stay)));
        assert!(m[camp_end + 1..].iter().all(Option::is_none));
    }

    #[test]
    fn a_stay_that_ends_the_segment_is_left_out_whole() {
        let mut w = walk(50);
        let last = *w.last().unwrap();
        for k in 1..=300 {
            w.push(Fix::new(
                last.lon,
                last.lat,
                Some(last.time.unwrap() + k * 600 * MICROS),
            ));
        }
        let m = marks_of(&w);
        assert_eq!(m[49], None);
        assert!(m[50..].iter().all(|x| *x == Some(Mark::Stay)));
    }

    #[test]
    fn a_logger_at_rest_that_logs_every_few_hours_is_a_stay() {
        let mut w = walk(50);
        let last = *w.last().unwrap();
        // Three weeks in a drawer, a fix every six hours, a few metres apart.
        for k in 1..=84_i32 {
            w.push(Fix::new(
                last.lon + f64::from(k % 3) * 0.00002,
                last.lat,
                Some(last.time.unwrap() + i64::from(k) * 6 * 3600 * MICROS),
            ));
        }
        let m = marks_of(&w);
        assert_eq!(m[49], None, "the walk's last fix is kept");
        assert!(m[50..].iter().all(|x| *x == Some(Mark::Stay)));
        // One long pause between two walks in one place is no stay.
        let mut w = walk(50);
        let last = *w.last().unwrap();
        let later = last.time.unwrap() + 40 * 3600 * MICROS;
        for k in 0..50_i32 {
            w.push(Fix::new(
                last.lon,
                last.lat + f64::from(k) * 12.0 / 110_574.0,
                Some(later + i64::from(k) * 10 * MICROS),
            ));
        }
        assert!(marks_of(&w).iter().all(Option::is_none));
    }

    #[test]
    fn a_person_overrules_the_rules_both_ways() {
        let mut w = walk(100);
        w[50].lat += 0.5;
        let o = [
            FixOverride {
                segment: 0,
                point: 50,
                keep: true,
            },
            FixOverride {
                segment: 0,
                point: 10,
                keep: false,
            },
            FixOverride {
                segment: 1,
                point: 11,
                keep: false,
            },
        ];
        let SegmentMarks {
            marks: m,
            kept_by_person: kept,
            ..
        } = mark_segment(0, &w, &Rules::default(), &o);
        assert_eq!(m[50], None);
        assert_eq!(m[10], Some(Mark::Manual));
        assert_eq!(m[11], None);
        assert_eq!(kept, vec![(50, Mark::Spike)]);
    }
}
