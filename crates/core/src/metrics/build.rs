//! The builder: the report of an input, from the figures of its periods,
//! its sites' grids, its baseline, its trend and its data quality.

use std::collections::BTreeSet;

use super::figures::period_figures;
use super::map::{MAP_MAX_POINTS, MapData, MapPoint, decimate};
use super::schema::{
    Baseline, ObservationFact, PeriodInfo, Report, ReportInput, SiteFigures, SiteRef, TrendMonth,
    undated_notes,
};
use super::{baseline_sentence, months_ending};
use crate::grid::{Coverage, CoverageInput, GridError, coverage};
use crate::ids::SiteId;
use crate::stats::poisson_rate_ratio;

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
    // The map's lines are thinned from all sites' lines together (not copied).
    let mut all_lines: Vec<&[(f64, f64)]> = Vec::new();
    let mut grids: Vec<SiteGrid<'_>> = Vec::new();
    for (&site, ci) in &input.coverage {
        all_lines.extend(ci.lines.iter().map(Vec::as_slice));
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
            grids.push((site, ci, points));
        }
    }
    for (site, result) in site_grids(&grids) {
        match result {
            Ok(c) => site_coverage.push((site, c)),
            Err(e) if input.coverage.len() > 1 => notes.push(format!(
                "No coverage figures for {}: {e}.",
                site_name(&site)
            )),
            Err(e) => notes.push(format!("No coverage figures: {e}.")),
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
                        site_id: s.to_string(),
                        site_name: site_name(&s),
                        timezone: info.map_or_else(|| "unknown".to_owned(), |i| i.timezone.clone()),
                        effort: f.effort,
                        encounters: f.encounters,
                        rates: f.rates,
                        coverage: site_coverage
                            .iter()
                            .find(|(id, _)| *id == s)
                            .map(|(_, c)| c.without_cells()),
                    },
                )
            })
            .collect()
    });

    // One site: its coverage as it is; several: the sum of theirs.
    let cov = if by_site.is_none() && site_coverage.len() == 1 {
        site_coverage.pop().map(|(_, only)| only)
    } else {
        Coverage::sum_of(site_coverage)
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

/// A site, its coverage input and its threats (lon, lat).
type SiteGrid<'a> = (SiteId, &'a CoverageInput, Vec<(f64, f64)>);

/// Each site's grid, in the order given. The sites are shared between two
/// threads (a region's report lays twenty grids); each grid is the same as
/// on one thread, and the order is kept.
fn site_grids(grids: &[SiteGrid<'_>]) -> Vec<(SiteId, Result<Coverage, GridError>)> {
    let one = |(site, ci, points): &SiteGrid<'_>| (*site, coverage(ci, points));
    if grids.len() < 2 {
        return grids.iter().map(one).collect();
    }
    let (odd, even) = std::thread::scope(|scope| {
        let odd = scope.spawn(|| grids.iter().skip(1).step_by(2).map(one).collect::<Vec<_>>());
        let even: Vec<_> = grids.iter().step_by(2).map(one).collect();
        (odd.join(), even)
    });
    let Ok(odd) = odd else {
        // The other thread cannot fail but by a bug: do its half here.
        return grids.iter().map(one).collect();
    };
    let mut out = Vec::with_capacity(grids.len());
    let mut odd = odd.into_iter();
    for e in even {
        out.push(e);
        out.extend(odd.next());
    }
    out
}
