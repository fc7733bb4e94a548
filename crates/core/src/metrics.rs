//! The effort report's arithmetic: from per-leg-day facts (computed at import)
//! and observation facts, the figures defined in docs/METRICS.md.
//!
//! The store supplies the facts; this module only adds them up. Nothing here
//! reads a database or a clock.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::ids::{LegId, ObservationId, PatrolId, SiteId};
use crate::model::Transport;

/// An inclusive range of local dates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Period {
    pub fn contains(&self, date: NaiveDate) -> bool {
        self.from <= date && date <= self.to
    }
}

/// The effort of one leg on one local date (in its site's zone), computed at
/// import from the leg's track: pairs are attributed to the local date of their
/// first point.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LegDay {
    pub site: SiteId,
    pub patrol: PatrolId,
    pub leg: LegId,
    pub team: String,
    pub transport: Transport,
    pub members: u32,
    pub date: NaiveDate,
    /// Track points whose local date is `date`.
    pub points: u64,
    /// Geodesic length of pairs whose first point is on `date`, metres.
    pub length_m: f64,
    /// Duration of those pairs that have both times, seconds.
    pub seconds: f64,
    /// The same, leaving out pairs more than 30 minutes apart.
    pub active_seconds: f64,
}

/// One observation, with its local date (its own time, else its patrol's first
/// track date, which `import --date` gives a file without times; `None` when
/// neither exists).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ObservationFact {
    pub id: ObservationId,
    pub site: SiteId,
    pub patrol: PatrolId,
    pub category: String,
    pub threat: bool,
    pub date: Option<NaiveDate>,
    pub lon: f64,
    pub lat: f64,
}

pub use crate::grid::CoverageInput;
use crate::grid::{Coverage, coverage};
pub use crate::quality::{DataQuality, DuplicateFact, QualityFact, QualityInput};
use crate::stats::poisson_rate_ratio;
use chrono::Datelike;
use std::collections::BTreeSet;

/// A site's label, as the report shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteInfo {
    pub name: String,
    pub timezone: String,
}

/// Everything the report is computed from. `days` and `observations` may hold
/// facts outside the period (for the baseline and the trend): they are
/// filtered by date here.
#[derive(Clone, Debug, PartialEq)]
pub struct ReportInput {
    pub period: Period,
    pub baseline: Option<Period>,
    /// Trend over this many calendar months ending with the period's last one.
    pub months: Option<u32>,
    pub sites: BTreeMap<SiteId, SiteInfo>,
    pub days: Vec<LegDay>,
    pub observations: Vec<ObservationFact>,
    /// Track length without any date, km (reported, in no period).
    pub undated_km: f64,
    /// What quality control found in the period's patrols (docs/METRICS.md,
    /// "Data quality").
    pub quality: QualityInput,
    /// The data model's label of each category key ("poacher_camp" ->
    /// "Poacher camp"), for the renderers; a key without one shows as is.
    pub category_labels: BTreeMap<String, String>,
    /// Per site: its boundary, the cell size and the period's track lines of
    /// the site. Each site's grid is laid over its own boundary. A site with
    /// an empty boundary has no coverage figures, but its lines still go to
    /// the map.
    pub coverage: BTreeMap<SiteId, CoverageInput>,
}

/// Effort of one transport or one team.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Breakdown {
    pub patrols: u64,
    pub km: f64,
    pub hours: f64,
}

/// Effort figures of one period (docs/METRICS.md).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Effort {
    pub patrols: u64,
    pub patrol_days: u64,
    pub person_days: u64,
    pub km: f64,
    pub hours: f64,
    pub active_hours: f64,
    pub by_transport: BTreeMap<String, Breakdown>,
    pub by_team: BTreeMap<String, Breakdown>,
}

/// Encounter figures of one period.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Encounters {
    pub observations: u64,
    pub threats: u64,
    /// Observations per category key (non-zero only).
    pub by_category: BTreeMap<String, u64>,
    /// Threat observations per category key (non-zero only).
    pub threats_by_category: BTreeMap<String, u64>,
}

/// Rates; `None` (JSON null) when the denominator is 0.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Rates {
    pub threats_per_100km: Option<f64>,
    pub threats_per_patrol_day: Option<f64>,
    pub threats_per_hour: Option<f64>,
}

/// Effort, encounters and rates of one period (and one site, or all).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    pub effort: Effort,
    pub encounters: Encounters,
    pub rates: Rates,
}

/// The report's period and its time zone.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PeriodInfo {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// The site's zone; "mixed" when the sites have several zones.
    pub timezone: String,
    /// All the zones the dates were counted in.
    pub timezones: Vec<String>,
    /// The sites the report is about, by name.
    #[serde(default)]
    pub sites: Vec<SiteRef>,
}

/// A site of the report: its id and name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteRef {
    pub site_id: SiteId,
    pub site_name: String,
}

/// The baseline's figures and the comparison of threats per km.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub effort: Effort,
    pub encounters: Encounters,
    pub rates: Rates,
    /// Threats per km, current / baseline.
    pub ratio: Option<f64>,
    /// 95 % interval of the ratio (exact conditional method).
    pub ci_low: Option<f64>,
    /// `None` when unbounded (no threats in the baseline).
    pub ci_high: Option<f64>,
    pub sentence: String,
}

/// One calendar month of the trend.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrendMonth {
    /// "YYYY-MM".
    pub month: String,
    pub km: f64,
    pub hours: f64,
    pub patrol_days: u64,
    pub threats: u64,
    pub threats_per_100km: Option<f64>,
}

/// One site's figures, when the report covers several sites.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SiteFigures {
    pub name: String,
    pub timezone: String,
    pub effort: Effort,
    pub encounters: Encounters,
    pub rates: Rates,
    /// The site's coverage figures (on its own grid), when it has a boundary;
    /// its cells are in the report's `coverage`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub coverage: Option<Coverage>,
}

/// A threat on the map.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MapPoint {
    pub lon: f64,
    pub lat: f64,
    pub category: String,
}

/// What the map draws: the period's track lines (decimated to at most
/// [`MAP_MAX_POINTS`] points in all) and its threats.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MapData {
    pub lines: Vec<Vec<(f64, f64)>>,
    pub threats: Vec<MapPoint>,
    /// The boundary's rings (outer and holes), lon/lat.
    pub boundary: Vec<Vec<(f64, f64)>>,
}

/// The most line points the map keeps.
pub const MAP_MAX_POINTS: usize = 5000;

/// The effort report. Serialises to the JSON shape of docs/METRICS.md.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub period: PeriodInfo,
    pub effort: Effort,
    pub encounters: Encounters,
    pub rates: Rates,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub baseline: Option<Baseline>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub trend: Option<Vec<TrendMonth>>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub coverage: Option<Coverage>,
    /// Per site id, when the facts hold more than one site.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub by_site: Option<BTreeMap<String, SiteFigures>>,
    /// Observations without any date (in no period), whatever their site.
    pub undated_observations: u64,
    /// Track length without any date, km.
    pub undated_km: f64,
    pub map: MapData,
    /// Anything the reader should know (e.g. why coverage is missing).
    pub notes: Vec<String>,
    /// What quality control left out and why, patrols to look at, tracks
    /// held twice, conflicts, what has no date.
    #[serde(default)]
    pub data_quality: DataQuality,
    /// The label of each category key of the data model (the keys above stay
    /// keys).
    #[serde(default)]
    pub category_labels: BTreeMap<String, String>,
}

impl Report {
    /// A category's label, or its key when the data model has none.
    pub fn category_label<'a>(&'a self, key: &'a str) -> &'a str {
        self.category_labels.get(key).map_or(key, String::as_str)
    }

    /// The names of the report's sites, joined with ", ".
    pub fn site_names(&self) -> String {
        let names: Vec<&str> = self
            .period
            .sites
            .iter()
            .map(|s| s.site_name.as_str())
            .collect();
        names.join(", ")
    }

    /// The notes that say what is undated (the renderers show
    /// `undated_observations` and `undated_km` themselves).
    pub fn undated_notes(&self) -> Vec<String> {
        undated_notes(self.undated_observations, self.undated_km)
    }
}

/// The notes about observations and track without a date.
fn undated_notes(observations: u64, km: f64) -> Vec<String> {
    let mut notes = Vec::new();
    if observations > 0 {
        notes.push(format!(
            "{observations} observation(s) have no date and are in no period."
        ));
    }
    if km > 0.0 {
        notes.push(format!(
            "{km:.1} km of track have no date and are in no period."
        ));
    }
    notes
}

/// A `LegDay` row that counts toward patrols and patrol-days: it has points on
/// its date, or length that starts on its date.
fn counts(d: &LegDay) -> bool {
    d.points > 0 || d.length_m > 0.0
}

/// Metres to integer millimetres (so that sums are exact and order-free).
fn mm(m: f64) -> i64 {
    (m * 1000.0).round() as i64
}

/// Seconds to integer milliseconds.
fn ms(s: f64) -> i64 {
    (s * 1000.0).round() as i64
}

fn km_of(mm: i64) -> f64 {
    mm as f64 / 1e6
}

fn hours_of(ms: i64) -> f64 {
    ms as f64 / 3.6e6
}

/// `num / den`, or `None` when `den` is not positive.
fn ratio(num: f64, den: f64) -> Option<f64> {
    (den > 0.0).then(|| num / den)
}

#[derive(Default)]
struct BreakdownAcc {
    patrols: BTreeSet<PatrolId>,
    mm: i64,
    ms: i64,
}

impl BreakdownAcc {
    fn add(&mut self, d: &LegDay) {
        if counts(d) {
            self.patrols.insert(d.patrol);
        }
        self.mm += mm(d.length_m);
        self.ms += ms(d.seconds);
    }

    fn finish(&self) -> Breakdown {
        Breakdown {
            patrols: self.patrols.len() as u64,
            km: km_of(self.mm),
            hours: hours_of(self.ms),
        }
    }
}

/// The figures of the rows and observations given (already filtered).
pub fn figures<'a>(
    days: impl IntoIterator<Item = &'a LegDay>,
    observations: impl IntoIterator<Item = &'a ObservationFact>,
) -> Figures {
    let mut patrols = BTreeSet::new();
    let mut patrol_days = BTreeSet::new();
    let mut leg_days: BTreeMap<(LegId, NaiveDate), u32> = BTreeMap::new();
    let (mut total_mm, mut total_ms, mut active_ms) = (0_i64, 0_i64, 0_i64);
    let mut by_transport: BTreeMap<String, BreakdownAcc> = BTreeMap::new();
    let mut by_team: BTreeMap<String, BreakdownAcc> = BTreeMap::new();
    for d in days {
        total_mm += mm(d.length_m);
        total_ms += ms(d.seconds);
        active_ms += ms(d.active_seconds);
        by_transport
            .entry(d.transport.as_str().to_owned())
            .or_default()
            .add(d);
        by_team.entry(d.team.clone()).or_default().add(d);
        if counts(d) {
            patrols.insert(d.patrol);
            patrol_days.insert((d.patrol, d.date));
            let m = leg_days.entry((d.leg, d.date)).or_default();
            *m = (*m).max(d.members);
        }
    }
    let effort = Effort {
        patrols: patrols.len() as u64,
        patrol_days: patrol_days.len() as u64,
        person_days: leg_days.values().map(|&m| u64::from(m)).sum(),
        km: km_of(total_mm),
        hours: hours_of(total_ms),
        active_hours: hours_of(active_ms),
        by_transport: by_transport
            .iter()
            .map(|(k, a)| (k.clone(), a.finish()))
            .collect(),
        by_team: by_team
            .iter()
            .map(|(k, a)| (k.clone(), a.finish()))
            .collect(),
    };
    let mut enc = Encounters::default();
    for o in observations {
        enc.observations += 1;
        *enc.by_category.entry(o.category.clone()).or_default() += 1;
        if o.threat {
            enc.threats += 1;
            *enc.threats_by_category
                .entry(o.category.clone())
                .or_default() += 1;
        }
    }
    let threats = enc.threats as f64;
    let rates = Rates {
        threats_per_100km: ratio(threats, effort.km).map(|r| r * 100.0),
        threats_per_patrol_day: ratio(threats, effort.patrol_days as f64),
        threats_per_hour: ratio(threats, effort.hours),
    };
    Figures {
        effort,
        encounters: enc,
        rates,
    }
}

/// The figures of one period, optionally of one site only.
pub fn period_figures(input: &ReportInput, period: Period, site: Option<SiteId>) -> Figures {
    let site_ok = |s: SiteId| site.is_none_or(|want| want == s);
    figures(
        input
            .days
            .iter()
            .filter(|d| period.contains(d.date) && site_ok(d.site)),
        input
            .observations
            .iter()
            .filter(|o| o.date.is_some_and(|d| period.contains(d)) && site_ok(o.site)),
    )
}

/// Threats per 100 km as the sentence prints it.
fn fmt_rate(r: Option<f64>) -> String {
    r.map_or_else(|| "none".to_owned(), |r| format!("{r:.2}"))
}

/// The comparison sentence (docs/METRICS.md, "Baseline").
pub fn baseline_sentence(
    current: &Figures,
    baseline: &Figures,
    rr: Option<crate::stats::RateRatio>,
) -> String {
    const HEAD: &str = "Threats per 100 km";
    let (c1, c0) = (current.encounters.threats, baseline.encounters.threats);
    let Some(rr) = rr else {
        let side = if baseline.effort.km > 0.0 {
            "in the period"
        } else {
            "in the baseline"
        };
        return format!("{HEAD}: no comparison (no km {side})");
    };
    if c1 == 0 && c0 == 0 {
        return format!("{HEAD}: none in the baseline, none now");
    }
    if c0 == 0 {
        return format!(
            "{HEAD}: none in the baseline, {} now",
            fmt_rate(current.rates.threats_per_100km)
        );
    }
    let (Some(r), Some(lo), Some(hi)) = (rr.ratio, rr.low, rr.high) else {
        return format!("{HEAD}: no comparison");
    };
    let pct = |x: f64| format!("{:.0}", x * 100.0);
    if hi < 1.0 {
        format!(
            "{HEAD} down {} % from the baseline (95 % CI {}-{} %)",
            pct(1.0 - r),
            pct(1.0 - hi),
            pct(1.0 - lo)
        )
    } else if lo > 1.0 {
        format!(
            "{HEAD} up {} % from the baseline (95 % CI {}-{} %)",
            pct(r - 1.0),
            pct(lo - 1.0),
            pct(hi - 1.0)
        )
    } else {
        format!("{HEAD}: no clear change from the baseline (ratio {r:.2}, 95 % CI {lo:.2}-{hi:.2})")
    }
}

/// The first and last day of a calendar month.
fn month_period(year: i32, month: u32) -> Period {
    let from = NaiveDate::from_ymd_opt(year, month, 1).expect("a valid month");
    let next = if month == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)
    }
    .expect("a valid month");
    Period {
        from,
        to: next.pred_opt().expect("a day before"),
    }
}

/// The `n` calendar months ending with the month of `last`, oldest first.
pub fn months_ending(last: NaiveDate, n: u32) -> Vec<Period> {
    let end = last.year() * 12 + last.month0() as i32;
    (0..n as i32)
        .rev()
        .map(|back| {
            let m = end - back;
            month_period(m.div_euclid(12), m.rem_euclid(12) as u32 + 1)
        })
        .collect()
}

/// Keep at most `max` points over all lines: every k-th point of each line
/// and always its last one.
fn decimate(lines: &[Vec<(f64, f64)>], max: usize) -> Vec<Vec<(f64, f64)>> {
    let total: usize = lines.iter().map(Vec::len).sum();
    let lines_n = lines.iter().filter(|l| l.len() >= 2).count();
    if total <= max {
        return lines.iter().filter(|l| l.len() >= 2).cloned().collect();
    }
    // The last point of each line is kept on top of the every-k-th ones.
    let budget = max.saturating_sub(lines_n).max(1);
    let k = total.div_ceil(budget).max(1);
    lines
        .iter()
        .filter(|l| l.len() >= 2)
        .map(|l| {
            let mut out: Vec<(f64, f64)> = l.iter().step_by(k).copied().collect();
            if (l.len() - 1) % k != 0 {
                out.push(l[l.len() - 1]);
            }
            out
        })
        .collect()
}

/// The effort report of `input` (docs/METRICS.md).
pub fn build_report(input: &ReportInput) -> Report {
    let period = input.period;
    let main = period_figures(input, period, None);
    let mut notes = Vec::new();

    // Sites that appear in the facts.
    let mut site_ids: BTreeSet<SiteId> = input.days.iter().map(|d| d.site).collect();
    site_ids.extend(input.observations.iter().map(|o| o.site));
    if site_ids.is_empty() {
        site_ids.extend(input.sites.keys().copied());
    }
    let site_name = |s: &SiteId| {
        input
            .sites
            .get(s)
            .map_or_else(|| s.to_string(), |i| i.name.clone())
    };

    let zones: BTreeSet<String> = site_ids
        .iter()
        .filter_map(|s| input.sites.get(s).map(|i| i.timezone.clone()))
        .collect();
    let timezone = match zones.len() {
        0 => "unknown".to_owned(),
        1 => zones.iter().next().cloned().unwrap_or_default(),
        _ => "mixed".to_owned(),
    };

    let period_threats: Vec<&ObservationFact> = input
        .observations
        .iter()
        .filter(|o| o.threat && o.date.is_some_and(|d| period.contains(d)))
        .collect();
    let mut map = MapData {
        threats: period_threats
            .iter()
            .map(|o| MapPoint {
                lon: o.lon,
                lat: o.lat,
                category: o.category.clone(),
            })
            .collect(),
        ..MapData::default()
    };
    // Each site's grid on its own boundary, with its own threats.
    let mut site_coverage: Vec<(SiteId, Coverage)> = Vec::new();
    let mut all_lines = Vec::new();
    for (&site, ci) in &input.coverage {
        all_lines.extend(ci.lines.iter().cloned());
        for poly in &ci.boundary.0 {
            map.boundary
                .push(poly.exterior().0.iter().map(|c| (c.x, c.y)).collect());
            for ring in poly.interiors() {
                map.boundary
                    .push(ring.0.iter().map(|c| (c.x, c.y)).collect());
            }
        }
        if !ci.boundary.0.is_empty() {
            let points: Vec<(f64, f64)> = period_threats
                .iter()
                .filter(|o| o.site == site)
                .map(|o| (o.lon, o.lat))
                .collect();
            match coverage(ci, &points) {
                Ok(c) => site_coverage.push((site, c)),
                Err(e) if input.coverage.len() > 1 => notes.push(format!(
                    "No coverage figures for {}: {e}.",
                    site_name(&site)
                )),
                Err(e) => notes.push(format!("No coverage figures: {e}.")),
            }
        }
    }
    map.lines = decimate(&all_lines, MAP_MAX_POINTS);
    // A site with a grid is in the report even without facts.
    site_ids.extend(site_coverage.iter().map(|(s, _)| *s));

    let baseline = input.baseline.map(|b| {
        let base = period_figures(input, b, None);
        let rr = poisson_rate_ratio(
            main.encounters.threats,
            main.effort.km,
            base.encounters.threats,
            base.effort.km,
            0.95,
        );
        let sentence = baseline_sentence(&main, &base, rr);
        Baseline {
            from: b.from,
            to: b.to,
            ratio: rr.and_then(|r| r.ratio),
            ci_low: rr.and_then(|r| r.low),
            ci_high: rr.and_then(|r| r.high),
            sentence,
            effort: base.effort,
            encounters: base.encounters,
            rates: base.rates,
        }
    });

    let trend = input.months.map(|n| {
        months_ending(period.to, n)
            .into_iter()
            .map(|m| {
                let f = period_figures(input, m, None);
                TrendMonth {
                    month: m.from.format("%Y-%m").to_string(),
                    km: f.effort.km,
                    hours: f.effort.hours,
                    patrol_days: f.effort.patrol_days,
                    threats: f.encounters.threats,
                    threats_per_100km: f.rates.threats_per_100km,
                }
            })
            .collect()
    });

    let by_site = (site_ids.len() > 1).then(|| {
        site_ids
            .iter()
            .map(|&s| {
                let f = period_figures(input, period, Some(s));
                let info = input.sites.get(&s);
                (
                    s.to_string(),
                    SiteFigures {
                        name: site_name(&s),
                        timezone: info.map_or_else(|| "unknown".to_owned(), |i| i.timezone.clone()),
                        effort: f.effort,
                        encounters: f.encounters,
                        rates: f.rates,
                        coverage: site_coverage.iter().find(|(id, _)| *id == s).map(|(_, c)| {
                            Coverage {
                                cells: Vec::new(),
                                ..c.clone()
                            }
                        }),
                    },
                )
            })
            .collect()
    });

    // One site: its coverage as it is; several: the sum of theirs.
    let cov = match (&by_site, site_coverage.as_slice()) {
        (None, [(_, only)]) => Some(only.clone()),
        _ => Coverage::sum(&site_coverage),
    };

    let undated_observations = input
        .observations
        .iter()
        .filter(|o| o.date.is_none())
        .count() as u64;
    notes.extend(undated_notes(undated_observations, input.undated_km));

    Report {
        period: PeriodInfo {
            from: period.from,
            to: period.to,
            timezone,
            timezones: zones.into_iter().collect(),
            sites: site_ids
                .iter()
                .map(|s| SiteRef {
                    site_id: *s,
                    site_name: site_name(s),
                })
                .collect(),
        },
        effort: main.effort,
        encounters: main.encounters,
        rates: main.rates,
        baseline,
        trend,
        coverage: cov,
        by_site,
        undated_observations,
        undated_km: input.undated_km,
        map,
        notes,
        data_quality: crate::quality::data_quality(
            &input.quality,
            input.undated_km,
            undated_observations,
        ),
        category_labels: input.category_labels.clone(),
    }
}

#[cfg(test)]
#[allow(clippy::float_cmp)] // exact values are meant: 0, 1, endpoints
mod tests {
    use super::*;
    use crate::model::Transport;
    use proptest::prelude::*;
    use uuid::Uuid;

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn period(a: &str, b: &str) -> Period {
        Period {
            from: date(a),
            to: date(b),
        }
    }

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn site(n: u128) -> SiteId {
        SiteId(id(n))
    }

    #[allow(clippy::too_many_arguments)]
    fn day(
        patrol: u128,
        leg: u128,
        team: &str,
        transport: Transport,
        members: u32,
        d: &str,
        points: u64,
        length_m: f64,
        seconds: f64,
    ) -> LegDay {
        LegDay {
            site: site(1),
            patrol: PatrolId(id(patrol)),
            leg: LegId(id(leg)),
            team: team.to_owned(),
            transport,
            members,
            date: date(d),
            points,
            length_m,
            seconds,
            active_seconds: seconds / 2.0,
        }
    }

    fn obs(n: u128, category: &str, threat: bool, d: Option<&str>) -> ObservationFact {
        ObservationFact {
            id: ObservationId(id(n)),
            site: site(1),
            patrol: PatrolId(id(1)),
            category: category.to_owned(),
            threat,
            date: d.map(date),
            lon: 102.0,
            lat: 14.0,
        }
    }

    fn input(days: Vec<LegDay>, observations: Vec<ObservationFact>, p: Period) -> ReportInput {
        let mut sites = BTreeMap::new();
        sites.insert(
            site(1),
            SiteInfo {
                name: "Park".to_owned(),
                timezone: "Asia/Bangkok".to_owned(),
            },
        );
        ReportInput {
            quality: QualityInput::default(),
            period: p,
            baseline: None,
            months: None,
            sites,
            days,
            observations,
            undated_km: 0.0,
            category_labels: BTreeMap::new(),
            coverage: BTreeMap::new(),
        }
    }

    #[test]
    fn rates_are_none_without_km() {
        let r = build_report(&input(
            vec![],
            vec![obs(1, "snare", true, Some("2026-10-03"))],
            period("2026-10-01", "2026-10-31"),
        ));
        assert_eq!(r.encounters.threats, 1);
        assert_eq!(r.effort.km, 0.0);
        assert_eq!(r.rates, Rates::default());
        let json = serde_json::to_value(&r).unwrap();
        assert!(json["rates"]["threats_per_100km"].is_null());
        assert_eq!(json["period"]["timezone"], "Asia/Bangkok");
        assert!(json.get("baseline").is_none());
    }

    #[test]
    fn hand_computed_month() {
        use Transport::{Foot, Vehicle};
        let days = vec![
            // Patrol 1: leg 10 on foot (3 people) two days, leg 11 by vehicle (2).
            day(
                1,
                10,
                "Alpha",
                Foot,
                3,
                "2026-10-05",
                100,
                12_000.0,
                18_000.0,
            ),
            day(1, 10, "Alpha", Foot, 3, "2026-10-06", 80, 8_000.0, 14_400.0),
            day(
                1,
                11,
                "Alpha",
                Vehicle,
                2,
                "2026-10-06",
                50,
                30_000.0,
                3_600.0,
            ),
            // Patrol 2 crosses midnight at the end of the month.
            day(2, 20, "Bravo", Foot, 4, "2026-10-31", 40, 5_000.0, 7_200.0),
            day(2, 20, "Bravo", Foot, 4, "2026-11-01", 30, 3_000.0, 3_600.0),
            // Patrol 3: a last point after midnight only (no length): counts a day.
            day(3, 30, "Bravo", Foot, 1, "2026-10-20", 1, 0.0, 0.0),
        ];
        let observations = vec![
            obs(1, "snare", true, Some("2026-10-05")),
            obs(2, "snare", true, Some("2026-10-31")),
            obs(3, "animal", false, Some("2026-10-06")),
            obs(4, "camp", true, Some("2026-11-01")),
            obs(5, "snare", true, None),
        ];
        let mut inp = input(days, observations, period("2026-10-01", "2026-10-31"));
        inp.undated_km = 1.5;
        let r = build_report(&inp);
        let e = &r.effort;
        assert_eq!(e.patrols, 3);
        // (1, 10-05), (1, 10-06), (2, 10-31), (3, 10-20).
        assert_eq!(e.patrol_days, 4);
        // 3 + 3 + 2 + 4 + 1.
        assert_eq!(e.person_days, 13);
        assert!((e.km - 55.0).abs() < 1e-12, "{}", e.km);
        assert!((e.hours - 12.0).abs() < 1e-12);
        assert!((e.active_hours - 6.0).abs() < 1e-12);
        assert_eq!(e.by_transport["foot"].patrols, 3);
        assert_eq!(e.by_transport["vehicle"].patrols, 1);
        assert!((e.by_transport["foot"].km - 25.0).abs() < 1e-12);
        assert!((e.by_transport["vehicle"].hours - 1.0).abs() < 1e-12);
        assert_eq!(e.by_team["Alpha"].patrols, 1);
        assert_eq!(e.by_team["Bravo"].patrols, 2);
        assert!((e.by_team["Bravo"].km - 5.0).abs() < 1e-12);
        let sum_t: f64 = e.by_transport.values().map(|b| b.km).sum();
        let sum_team: f64 = e.by_team.values().map(|b| b.hours).sum();
        assert!((sum_t - e.km).abs() < 1e-12 && (sum_team - e.hours).abs() < 1e-12);
        assert_eq!(r.encounters.observations, 3);
        assert_eq!(r.encounters.threats, 2);
        assert_eq!(r.encounters.by_category["snare"], 2);
        assert_eq!(r.encounters.by_category.get("camp"), None);
        let rates = &r.rates;
        assert!((rates.threats_per_100km.unwrap() - 2.0 / 55.0 * 100.0).abs() < 1e-12);
        assert!((rates.threats_per_patrol_day.unwrap() - 0.5).abs() < 1e-12);
        assert!((rates.threats_per_hour.unwrap() - 2.0 / 12.0).abs() < 1e-12);
        assert_eq!(r.undated_observations, 1);
        assert!((r.undated_km - 1.5).abs() < 1e-15);
        assert!(r.by_site.is_none());

        // November sees only the 11-01 row of patrol 2.
        let nov = period_figures(&inp, period("2026-11-01", "2026-11-30"), None);
        assert_eq!(nov.effort.patrols, 1);
        assert!((nov.effort.km - 3.0).abs() < 1e-12);
        assert_eq!(nov.encounters.threats, 1);
    }

    #[test]
    fn two_legs_on_one_day() {
        use Transport::{Boat, Foot};
        let days = vec![
            day(1, 10, "A", Foot, 3, "2026-10-05", 10, 1_000.0, 600.0),
            day(1, 11, "A", Boat, 2, "2026-10-05", 10, 2_000.0, 600.0),
        ];
        let r = build_report(&input(days, vec![], period("2026-10-01", "2026-10-31")));
        assert_eq!(r.effort.patrols, 1);
        assert_eq!(r.effort.patrol_days, 1);
        assert_eq!(r.effort.person_days, 5);
        // The patrol counts once in each transport.
        assert_eq!(r.effort.by_transport["foot"].patrols, 1);
        assert_eq!(r.effort.by_transport["boat"].patrols, 1);
    }

    #[test]
    fn baseline_sentences() {
        let mk = |threats: u64, km: f64| Figures {
            effort: Effort {
                km,
                ..Effort::default()
            },
            encounters: Encounters {
                threats,
                ..Encounters::default()
            },
            rates: Rates {
                threats_per_100km: ratio(threats as f64, km).map(|r| r * 100.0),
                ..Rates::default()
            },
        };
        let s = |c1: u64, e1: f64, c0: u64, e0: f64| {
            baseline_sentence(
                &mk(c1, e1),
                &mk(c0, e0),
                poisson_rate_ratio(c1, e1, c0, e0, 0.95),
            )
        };
        let down = s(20, 1000.0, 100, 2000.0);
        assert!(
            down.starts_with("Threats per 100 km down 60 % from the baseline (95 % CI "),
            "{down}"
        );
        let up = s(100, 1000.0, 40, 1000.0);
        assert!(
            up.starts_with("Threats per 100 km up 150 % from the baseline (95 % CI "),
            "{up}"
        );
        let same = s(10, 100.0, 11, 100.0);
        assert!(
            same.starts_with(
                "Threats per 100 km: no clear change from the baseline (ratio 0.91, 95 % CI 0."
            ),
            "{same}"
        );
        assert_eq!(
            s(3, 100.0, 0, 100.0),
            "Threats per 100 km: none in the baseline, 3.00 now"
        );
        assert_eq!(
            s(0, 100.0, 0, 100.0),
            "Threats per 100 km: none in the baseline, none now"
        );
        assert_eq!(
            s(3, 100.0, 4, 0.0),
            "Threats per 100 km: no comparison (no km in the baseline)"
        );
        assert_eq!(
            s(3, 0.0, 4, 10.0),
            "Threats per 100 km: no comparison (no km in the period)"
        );
        let gone = s(0, 100.0, 30, 100.0);
        // Upper bound of p: 1 - 0.025^(1/30) = 0.1158, RR 0.131.
        assert_eq!(
            gone,
            "Threats per 100 km down 100 % from the baseline (95 % CI 87-100 %)"
        );
    }

    #[test]
    fn baseline_and_trend_in_the_report() {
        let mut days = Vec::new();
        let mut observations = Vec::new();
        for (i, m) in (1..=12).enumerate() {
            let d = format!("2026-{m:02}-10");
            days.push(day(
                i as u128,
                100 + i as u128,
                "A",
                Transport::Foot,
                2,
                &d,
                10,
                100_000.0,
                36_000.0,
            ));
            let n = if m == 10 { 2 } else { 10 };
            for k in 0..n {
                observations.push(obs(1000 * m + k, "snare", true, Some(&d)));
            }
        }
        let mut inp = input(days, observations, period("2026-10-01", "2026-10-31"));
        inp.baseline = Some(period("2026-01-01", "2026-06-30"));
        inp.months = Some(6);
        let r = build_report(&inp);
        let b = r.baseline.as_ref().unwrap();
        assert_eq!(b.encounters.threats, 60);
        assert!((b.ratio.unwrap() - 0.2).abs() < 1e-12);
        assert!(b.ci_high.unwrap() < 1.0);
        assert!(
            b.sentence.starts_with("Threats per 100 km down 80 %"),
            "{}",
            b.sentence
        );
        let t = r.trend.as_ref().unwrap();
        let months: Vec<&str> = t.iter().map(|m| m.month.as_str()).collect();
        assert_eq!(
            months,
            [
                "2026-05", "2026-06", "2026-07", "2026-08", "2026-09", "2026-10"
            ]
        );
        assert_eq!(t[5].threats, 2);
        assert!((t[5].threats_per_100km.unwrap() - 2.0).abs() < 1e-12);
    }

    #[test]
    fn months_cross_years() {
        let m = months_ending(date("2026-02-14"), 3);
        assert_eq!(m[0], period("2025-12-01", "2025-12-31"));
        assert_eq!(m[2], period("2026-02-01", "2026-02-28"));
        assert!(months_ending(date("2026-02-14"), 0).is_empty());
    }

    #[test]
    fn several_sites() {
        let mut days = vec![day(
            1,
            10,
            "A",
            Transport::Foot,
            2,
            "2026-10-05",
            10,
            1_000.0,
            600.0,
        )];
        let mut other = day(
            2,
            20,
            "B",
            Transport::Foot,
            2,
            "2026-10-05",
            10,
            4_000.0,
            600.0,
        );
        other.site = site(2);
        days.push(other);
        let mut inp = input(days, vec![], period("2026-10-01", "2026-10-31"));
        inp.sites.insert(
            site(2),
            SiteInfo {
                name: "Other".to_owned(),
                timezone: "Asia/Phnom_Penh".to_owned(),
            },
        );
        let r = build_report(&inp);
        assert_eq!(r.period.timezone, "mixed");
        assert_eq!(r.period.timezones.len(), 2);
        let by = r.by_site.unwrap();
        assert_eq!(by.len(), 2);
        assert_eq!(by[&site(2).to_string()].name, "Other");
        assert!((by[&site(2).to_string()].effort.km - 4.0).abs() < 1e-12);
    }

    fn square(lon: f64, lat: f64, half: f64) -> geo::MultiPolygon<f64> {
        use geo::polygon;
        geo::MultiPolygon(vec![polygon![
            (x: lon - half, y: lat - half),
            (x: lon + half, y: lat - half),
            (x: lon + half, y: lat + half),
            (x: lon - half, y: lat + half),
        ]])
    }

    #[test]
    fn two_sites_far_apart_each_get_their_own_grid() {
        // Thailand and Brazil: a grid over both would be centred in the Atlantic.
        let (thai, brazil) = ((102.0, 14.0), (-60.0, -3.0));
        let fact = |n: u128, s: u128, (lon, lat): (f64, f64)| {
            let mut o = obs(n, "snare", true, Some("2026-10-05"));
            o.site = site(s);
            (o.lon, o.lat) = (lon, lat);
            o
        };
        let observations = vec![fact(1, 1, thai), fact(2, 2, brazil)];
        let mut inp = input(vec![], observations, period("2026-10-01", "2026-10-31"));
        inp.sites.insert(
            site(2),
            SiteInfo {
                name: "Amazonia".to_owned(),
                timezone: "America/Manaus".to_owned(),
            },
        );
        let line = |(lon, lat): (f64, f64)| vec![(lon - 0.05, lat), (lon + 0.05, lat)];
        for (n, centre) in [(1, thai), (2, brazil)] {
            inp.coverage.insert(
                site(n),
                CoverageInput {
                    boundary: square(centre.0, centre.1, 0.1),
                    cell_m: 1000.0,
                    lines: vec![line(centre)],
                },
            );
        }
        let r = build_report(&inp);
        let by = r.by_site.as_ref().unwrap();
        let one = by[&site(1).to_string()].coverage.as_ref().unwrap();
        let two = by[&site(2).to_string()].coverage.as_ref().unwrap();
        // Each grid is centred on its own park: ~22 x 22 cells of 1 km.
        for c in [one, two] {
            assert!((400..=600).contains(&c.park_cells), "{}", c.park_cells);
            assert!((10..=13).contains(&c.visited_cells), "{}", c.visited_cells);
            assert!(c.cells.is_empty(), "the cells are in the report's coverage");
        }
        assert!(
            one.projection.contains("+lat_0=14 +lon_0=102 "),
            "{}",
            one.projection
        );
        assert!(
            two.projection.contains("+lat_0=-3 +lon_0=-60 "),
            "{}",
            two.projection
        );
        // The report's coverage adds them up; its cells say their site.
        let all = r.coverage.as_ref().unwrap();
        assert_eq!(all.park_cells, one.park_cells + two.park_cells);
        assert_eq!(all.visited_cells, one.visited_cells + two.visited_cells);
        assert!((all.km - one.km - two.km).abs() < 1e-12);
        assert!((all.fraction - all.visited_cells as f64 / all.park_cells as f64).abs() < 1e-15);
        assert_eq!(all.cells.len() as u64, all.park_cells);
        for s in [site(1), site(2)] {
            // Each site's threat is at its grid's origin, in its own cell (0, 0).
            let threat = all
                .cells
                .iter()
                .find(|c| c.threats == 1 && c.site_id == Some(s));
            assert_eq!(threat.map(|c| (c.ix, c.iy)), Some((0, 0)));
        }
        let json = serde_json::to_value(&r).unwrap();
        assert!(json["by_site"][site(2).to_string()]["coverage"]["park_cells"].is_u64());
        assert!(
            json["by_site"][site(2).to_string()]["coverage"]
                .get("cells")
                .is_none()
        );
        assert!(json["coverage"]["cells"][0]["site_id"].is_string());
    }

    #[test]
    fn the_report_names_its_sites_and_labels_its_categories() {
        let mut inp = input(
            vec![],
            vec![obs(1, "poacher_camp", true, Some("2026-10-03"))],
            period("2026-10-01", "2026-10-31"),
        );
        inp.category_labels
            .insert("poacher_camp".to_owned(), "Poacher camp".to_owned());
        let r = build_report(&inp);
        assert_eq!(
            r.period.sites,
            vec![SiteRef {
                site_id: site(1),
                site_name: "Park".to_owned()
            }]
        );
        assert_eq!(r.site_names(), "Park");
        assert_eq!(r.category_label("poacher_camp"), "Poacher camp");
        assert_eq!(r.category_label("unknown_key"), "unknown_key");
        let json = serde_json::to_value(&r).unwrap();
        // Keys stay keys; the labels are beside them.
        assert_eq!(json["encounters"]["by_category"]["poacher_camp"], 1);
        assert_eq!(json["category_labels"]["poacher_camp"], "Poacher camp");
        assert_eq!(json["period"]["sites"][0]["site_name"], "Park");
        assert_eq!(json["period"]["sites"][0]["site_id"], site(1).to_string());
    }

    #[test]
    fn one_site_keeps_its_coverage_as_it_is() {
        let mut inp = input(vec![], vec![], period("2026-10-01", "2026-10-31"));
        inp.coverage.insert(
            site(1),
            CoverageInput {
                boundary: square(102.0, 14.0, 0.05),
                cell_m: 1000.0,
                lines: vec![],
            },
        );
        let r = build_report(&inp);
        assert!(r.by_site.is_none());
        let c = r.coverage.unwrap();
        assert!(c.cells.iter().all(|c| c.site_id.is_none()));
        assert!(c.projection.starts_with("+proj=laea"));
    }

    #[test]
    fn map_lines_are_decimated_and_kept_without_boundary() {
        let line: Vec<(f64, f64)> = (0..12_000)
            .map(|i| (102.0 + f64::from(i) * 1e-5, 14.0))
            .collect();
        let mut inp = input(
            vec![],
            vec![obs(1, "snare", true, Some("2026-10-02"))],
            period("2026-10-01", "2026-10-31"),
        );
        inp.coverage.insert(
            site(1),
            CoverageInput {
                boundary: geo::MultiPolygon(vec![]),
                cell_m: 1000.0,
                lines: vec![line.clone(), line[..3].to_vec()],
            },
        );
        let r = build_report(&inp);
        assert!(r.coverage.is_none());
        let n: usize = r.map.lines.iter().map(Vec::len).sum();
        assert!(n <= MAP_MAX_POINTS && n > 3000, "{n}");
        assert_eq!(r.map.lines[0].last(), line.last());
        assert_eq!(r.map.threats.len(), 1);
    }

    fn arb_day() -> impl Strategy<Value = LegDay> {
        (
            0_u128..6,
            0_u32..5,
            0_usize..5,
            0_i64..365,
            0_u64..50,
            0.0_f64..50_000.0,
            0.0_f64..40_000.0,
        )
            .prop_map(
                |(patrol, leg, t, day_no, points, length_m, seconds)| LegDay {
                    site: site(1),
                    patrol: PatrolId(id(patrol)),
                    leg: LegId(id(patrol * 100 + u128::from(leg))),
                    team: format!("team{}", patrol % 3),
                    transport: Transport::ALL[t],
                    members: leg + 1,
                    date: date("2026-01-01") + chrono::Duration::days(day_no),
                    points,
                    length_m,
                    seconds,
                    active_seconds: seconds / 3.0,
                },
            )
    }

    fn arb_obs() -> impl Strategy<Value = ObservationFact> {
        (
            0_u128..1_000_000,
            any::<bool>(),
            prop::option::of(0_i64..365),
        )
            .prop_map(|(n, threat, d)| ObservationFact {
                id: ObservationId(id(n)),
                site: site(1),
                patrol: PatrolId(id(1)),
                category: if threat { "snare" } else { "animal" }.to_owned(),
                threat,
                date: d.map(|d| date("2026-01-01") + chrono::Duration::days(d)),
                lon: 0.0,
                lat: 0.0,
            })
    }

    proptest! {
        #[test]
        fn months_add_up_to_the_year(
            days in prop::collection::vec(arb_day(), 0..60),
            observations in prop::collection::vec(arb_obs(), 0..60),
        ) {
            let inp = input(days, observations, period("2026-01-01", "2026-12-31"));
            let year = build_report(&inp);
            let months = months_ending(date("2026-12-31"), 12);
            let (mut km, mut hours, mut threats) = (0.0, 0.0, 0);
            for m in months {
                let f = period_figures(&inp, m, None);
                km += f.effort.km;
                hours += f.effort.hours;
                threats += f.encounters.threats;
            }
            prop_assert!((km - year.effort.km).abs() <= 1e-9 * year.effort.km.max(1.0));
            prop_assert!((hours - year.effort.hours).abs() <= 1e-9 * year.effort.hours.max(1.0));
            prop_assert_eq!(threats, year.encounters.threats);
            let t_km: f64 = year.effort.by_transport.values().map(|b| b.km).sum();
            let team_h: f64 = year.effort.by_team.values().map(|b| b.hours).sum();
            prop_assert!((t_km - year.effort.km).abs() <= 1e-9 * year.effort.km.max(1.0));
            prop_assert!((team_h - year.effort.hours).abs() <= 1e-9 * year.effort.hours.max(1.0));
            let cat: u64 = year.encounters.by_category.values().sum();
            prop_assert_eq!(cat, year.encounters.observations);
            prop_assert!(year.effort.by_transport.values().all(|b| b.patrols <= year.effort.patrols));
        }
    }
}
