//! The builder: the report of an input, from the figures of its periods,
//! its sites' grids, its baseline, its trend and its data quality.

use std::collections::{BTreeMap, BTreeSet};

use super::attributes::{attribute_label, comparisons, rolled_up};
use super::figures::{period_figures, period_figures_with_sums};
use super::map::{MAP_MAX_POINTS, MapData, MapPoint, Thinner};
use super::schema::{
    Baseline, ObservationFact, PeriodInfo, Report, ReportInput, SiteFigures, SiteRef, TrendMonth,
    undated_notes,
};
use super::{baseline_sentence, months_ending};
use crate::grid::{Coverage, CoverageInput, Grid, GridError, PreparedLine, Projector};
use crate::ids::SiteId;
use crate::stats::poisson_rate_ratio;

/// The effort report of `input` (docs/METRICS.md).
pub fn build_report(input: &ReportInput) -> Report {
    let mut tracks = Tracks::new(input);
    for (&site, ci) in &input.coverage {
        for line in &ci.lines {
            tracks.add(site, line, None);
        }
    }
    report_with(input, tracks.finish(input))
}

/// The report of `input` with the period's track lines given one at a time
/// by `feed` (each with its site; the sites in id order, as in
/// `input.coverage`, whose lines are not read): the lines go to the grids
/// and the map on a second thread as they come, and none is held after it
/// is added. The same report as [`build_report`] with those lines in
/// `input.coverage`. `feed`'s error is returned as it is.
pub fn build_report_streamed<E>(
    input: &ReportInput,
    feed: impl FnOnce(&mut dyn FnMut(SiteId, Vec<(f64, f64)>)) -> Result<(), E>,
) -> Result<Report, E> {
    let mut tracks = Tracks::new(input);
    add_lines(&mut tracks, feed)?;
    Ok(report_with(input, tracks.finish(input)))
}

/// [`build_report_streamed`] with the facts read at the same time as the
/// lines: `facts` runs on a thread of its own while `feed` gives the lines
/// (to a third, the grids and the map), so a long period's reading and
/// adding overlap. `coverage` must be the `coverage` the facts will have
/// (each site's boundary and cell side); the report is the one
/// [`build_report_streamed`] makes of those facts and lines. The first
/// error (the facts', then the feed's) is returned.
pub fn build_report_parallel<E: Send>(
    coverage: &BTreeMap<SiteId, CoverageInput>,
    facts: impl FnOnce() -> Result<ReportInput, E> + Send,
    feed: impl FnOnce(&mut dyn FnMut(SiteId, Vec<(f64, f64)>)) -> Result<(), E>,
) -> Result<Report, E> {
    let mut tracks = Tracks::of(coverage);
    let (input, fed) = std::thread::scope(|scope| {
        let facts = scope.spawn(facts);
        let fed = add_lines(&mut tracks, feed);
        (joined(facts), fed)
    });
    let input = input?;
    fed?;
    debug_assert!(input.coverage.keys().eq(coverage.keys()));
    Ok(report_with(&input, tracks.finish(&input)))
}

/// Track lines on their way to the adding thread, each with its site.
type Batch = Vec<(SiteId, Vec<(f64, f64)>)>;

/// A batch is sent once it holds this many points (or at the end): one
/// hand-over per few thousand fixes, not one per leg, so neither thread
/// waits on the other for each line.
const BATCH_POINTS: usize = 8_192;

/// Batches sent and not yet added, at most.
const BATCHES_IN_FLIGHT: usize = 2;

/// Threads preparing lines for the grids (projecting and measuring), the
/// costly half of adding them; the other half, in the order `feed` gives
/// the lines, is one more thread's.
const PREPARERS: usize = 2;

/// Add `feed`'s lines to `tracks`: sent in batches to [`PREPARERS`]
/// threads, which project and measure them for their site's grid, then
/// added in the order given on one more (so every sum adds up as it would
/// on one thread). `feed`'s error is returned as it is.
fn add_lines<E>(
    tracks: &mut Tracks,
    feed: impl FnOnce(&mut dyn FnMut(SiteId, Vec<(f64, f64)>)) -> Result<(), E>,
) -> Result<(), E> {
    let projectors = tracks.projectors();
    let (tx, rx) = std::sync::mpsc::sync_channel::<(u64, Batch)>(BATCHES_IN_FLIGHT);
    let rx = std::sync::Mutex::new(rx);
    let (ptx, prx) = std::sync::mpsc::sync_channel::<(u64, Prepared)>(BATCHES_IN_FLIGHT);
    std::thread::scope(|scope| {
        for _ in 0..PREPARERS {
            let (rx, ptx, projectors) = (&rx, ptx.clone(), &projectors);
            scope.spawn(move || {
                loop {
                    let next = rx
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .recv();
                    let Ok((seq, batch)) = next else { break };
                    let prepared = batch
                        .into_iter()
                        .map(|(site, line)| {
                            let p = projectors.get(&site).map(|pr| pr.prepare(&line));
                            (site, line, p)
                        })
                        .collect();
                    if ptx.send((seq, prepared)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(ptx);
        let adder = scope.spawn(move || {
            let mut pending = BTreeMap::new();
            let mut next = 0_u64;
            for (seq, batch) in prx {
                pending.insert(seq, batch);
                while let Some(batch) = pending.remove(&next) {
                    for (site, line, prepared) in batch {
                        tracks.add(site, &line, prepared.as_ref());
                    }
                    next += 1;
                }
            }
        });
        let fed = feed_in_batches(feed, &tx);
        drop(tx);
        joined(adder);
        fed
    })
}

/// A batch's lines, each with its site and, when the site has a grid, the
/// line prepared for it.
type Prepared = Vec<(SiteId, Vec<(f64, f64)>, Option<PreparedLine>)>;

/// Run `feed`, sending its lines to `tx` in numbered batches, in the order
/// given. A send fails only if the threads taking them are gone, which
/// their join reports.
fn feed_in_batches<E>(
    feed: impl FnOnce(&mut dyn FnMut(SiteId, Vec<(f64, f64)>)) -> Result<(), E>,
    tx: &std::sync::mpsc::SyncSender<(u64, Batch)>,
) -> Result<(), E> {
    let mut batch: Batch = Vec::new();
    let (mut points, mut seq) = (0, 0_u64);
    let fed = feed(&mut |site, line| {
        points += line.len();
        batch.push((site, line));
        if points >= BATCH_POINTS {
            points = 0;
            let _ = tx.send((seq, std::mem::take(&mut batch)));
            seq += 1;
        }
    });
    if !batch.is_empty() {
        let _ = tx.send((seq, batch));
    }
    fed
}

/// A scoped thread's result; its panic goes on.
fn joined<T>(h: std::thread::ScopedJoinHandle<'_, T>) -> T {
    h.join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// The report of `input`, its track lines already added up in `tracks`.
fn report_with(input: &ReportInput, tracks: TrackFigures) -> Report {
    let rolled = rolled_up(input);
    let input = rolled.as_ref().unwrap_or(input);
    let period = input.period;
    let (main, main_sums) = period_figures_with_sums(input, period, None);
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
    for ci in input.coverage.values() {
        for poly in &ci.boundary.0 {
            map.boundary
                .push(poly.exterior().0.iter().map(|c| (c.x, c.y)).collect());
            for ring in poly.interiors() {
                map.boundary
                    .push(ring.0.iter().map(|c| (c.x, c.y)).collect());
            }
        }
    }
    // Each site's grid on its own boundary, with its own threats.
    let mut site_coverage: Vec<(SiteId, Coverage)> = Vec::new();
    for (site, result) in tracks.grids {
        match result {
            Ok(c) => site_coverage.push((site, c)),
            Err(e) if tracks.sites > 1 => notes.push(format!(
                "No coverage figures for {}: {e}.",
                site_name(&site)
            )),
            Err(e) => notes.push(format!("No coverage figures: {e}.")),
        }
    }
    map.lines = tracks.map_lines;
    // A site with a grid is in the report even without facts.
    site_ids.extend(site_coverage.iter().map(|(s, _)| *s));

    let baseline = input.baseline.map(|b| {
        let (base, base_sums) = period_figures_with_sums(input, b, None);
        let attributes = comparisons(
            &main_sums,
            main.effort.km,
            &base_sums,
            base.effort.km,
            |c, a| {
                let category = input.category_labels.get(c).map_or(c, String::as_str);
                format!("{category}: {}", attribute_label(input, a))
            },
        );
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
            attributes,
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
        attribute_labels: input
            .attributes
            .values()
            .map(|a| (a.key.clone(), a.label.clone()))
            .collect(),
        item_labels: input.item_labels.clone(),
        roll_up: input.roll_up.clone(),
    }
}

/// The period's track lines being added up: each site's grid (the sites of
/// `input.coverage` with a boundary, in its order) and the map's lines.
struct Tracks {
    grids: Vec<(SiteId, Result<Grid, GridError>)>,
    grid_of: BTreeMap<SiteId, usize>,
    thinner: Thinner,
    /// The sites of `input.coverage`, and any other site with lines.
    sites: BTreeSet<SiteId>,
}

/// What the track lines add to the report.
struct TrackFigures {
    grids: Vec<(SiteId, Result<Coverage, GridError>)>,
    map_lines: Vec<Vec<(f64, f64)>>,
    /// How many sites have a boundary or lines.
    sites: usize,
}

impl Tracks {
    fn new(input: &ReportInput) -> Self {
        Self::of(&input.coverage)
    }

    fn of(coverage: &BTreeMap<SiteId, CoverageInput>) -> Self {
        let mut grids = Vec::new();
        let mut grid_of = BTreeMap::new();
        for (&site, ci) in coverage {
            if !ci.boundary.0.is_empty() {
                grid_of.insert(site, grids.len());
                grids.push((site, Grid::new(&ci.boundary, ci.cell_m)));
            }
        }
        Self {
            grids,
            grid_of,
            thinner: Thinner::new(MAP_MAX_POINTS),
            sites: coverage.keys().copied().collect(),
        }
    }

    /// A projector for each site whose grid could be made.
    fn projectors(&self) -> BTreeMap<SiteId, Projector> {
        self.grids
            .iter()
            .filter_map(|(site, grid)| Some((*site, grid.as_ref().ok()?.projector().ok()?)))
            .collect()
    }

    /// Add a line of `site`, `prepared` for its grid when there is one.
    fn add(&mut self, site: SiteId, line: &[(f64, f64)], prepared: Option<&PreparedLine>) {
        self.sites.insert(site);
        if let Some(&i) = self.grid_of.get(&site)
            && let Ok(grid) = &mut self.grids[i].1
        {
            match prepared {
                Some(p) => grid.add_prepared(p),
                None => grid.add_line(line),
            }
        }
        self.thinner.push(line);
    }

    /// The grids finished with each site's threats of the period.
    fn finish(self, input: &ReportInput) -> TrackFigures {
        let period = input.period;
        let grids = self
            .grids
            .into_iter()
            .map(|(site, grid)| {
                let points: Vec<(f64, f64)> = input
                    .observations
                    .iter()
                    .filter(|o| {
                        o.threat && o.date.is_some_and(|d| period.contains(d)) && o.site == site
                    })
                    .map(|o| (o.lon, o.lat))
                    .collect();
                (site, grid.and_then(|g| g.finish(&points)))
            })
            .collect();
        TrackFigures {
            grids,
            map_lines: self.thinner.finish(),
            sites: self.sites.len(),
        }
    }
}
