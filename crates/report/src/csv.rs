//! CSV (RFC 4180, comma, CRLF-free `\n` line ends, UTF-8). Numbers in full
//! units with fixed decimals: km and hours to 3 decimals (a metre, 3.6 s),
//! rates, ratios and fractions to 4; an undefined figure is an empty cell.

use std::fmt::Write as _;

use patrol_core::metrics::{Breakdown, Report};

/// One CSV field. Text that a spreadsheet would run as a formula (starting
/// with `=`, `+`, `-`, `@`, tab or CR) gets a leading `'`; fields with a comma,
/// quote or line break are quoted.
pub fn field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

fn num(x: f64, d: usize) -> String {
    crate::num::fixed(x, d)
}

fn opt(x: Option<f64>, d: usize) -> String {
    x.map_or_else(String::new, |x| num(x, d))
}

fn lines(header: &str, rows: &[Vec<String>]) -> String {
    let mut out = format!("{header}\n");
    for row in rows {
        let _ = writeln!(out, "{}", row.join(","));
    }
    out
}

/// The main table: `metric,value` rows (docs/METRICS.md lists them).
pub fn summary(r: &Report) -> String {
    let mut rows: Vec<(&str, String)> = vec![
        ("period_from", r.period.from.to_string()),
        ("period_to", r.period.to.to_string()),
        ("timezone", field(&r.period.timezone)),
        ("patrols", r.effort.patrols.to_string()),
        ("patrol_days", r.effort.patrol_days.to_string()),
        ("person_days", r.effort.person_days.to_string()),
        ("km", num(r.effort.km, 3)),
        ("hours", num(r.effort.hours, 3)),
        ("active_hours", num(r.effort.active_hours, 3)),
        ("observations", r.encounters.observations.to_string()),
        ("threats", r.encounters.threats.to_string()),
        ("threats_per_100km", opt(r.rates.threats_per_100km, 4)),
        (
            "threats_per_patrol_day",
            opt(r.rates.threats_per_patrol_day, 4),
        ),
        ("threats_per_hour", opt(r.rates.threats_per_hour, 4)),
        ("undated_observations", r.undated_observations.to_string()),
        ("undated_km", num(r.undated_km, 3)),
        ("quality_km_excluded", num(r.data_quality.km_excluded, 3)),
        (
            "quality_hours_excluded",
            num(r.data_quality.hours_excluded, 3),
        ),
        (
            "quality_flagged_patrols",
            r.data_quality.flagged_patrols.len().to_string(),
        ),
        (
            "quality_duplicate_tracks",
            r.data_quality.duplicate_tracks.len().to_string(),
        ),
        (
            "quality_unresolved_conflicts",
            r.data_quality.unresolved_conflicts.to_string(),
        ),
    ];
    if let Some(c) = &r.coverage {
        rows.extend([
            ("coverage_cell_m", num(c.cell_m, 0)),
            ("coverage_park_cells", c.park_cells.to_string()),
            ("coverage_visited_cells", c.visited_cells.to_string()),
            ("coverage_fraction", num(c.fraction, 4)),
        ]);
    }
    if let Some(b) = &r.baseline {
        rows.extend([
            ("baseline_from", b.from.to_string()),
            ("baseline_to", b.to.to_string()),
            ("baseline_km", num(b.effort.km, 3)),
            ("baseline_hours", num(b.effort.hours, 3)),
            ("baseline_patrol_days", b.effort.patrol_days.to_string()),
            ("baseline_threats", b.encounters.threats.to_string()),
            (
                "baseline_threats_per_100km",
                opt(b.rates.threats_per_100km, 4),
            ),
            ("rate_ratio", opt(b.ratio, 4)),
            ("rate_ratio_ci_low", opt(b.ci_low, 4)),
            ("rate_ratio_ci_high", opt(b.ci_high, 4)),
            ("baseline_sentence", field(&b.sentence)),
        ]);
    }
    let rows: Vec<Vec<String>> = rows
        .into_iter()
        .map(|(k, v)| vec![k.to_owned(), v])
        .collect();
    lines("metric,value", &rows)
}

fn breakdown(key: &str, map: &std::collections::BTreeMap<String, Breakdown>) -> String {
    let rows: Vec<Vec<String>> = map
        .iter()
        .map(|(k, b)| {
            vec![
                field(k),
                b.patrols.to_string(),
                num(b.km, 3),
                num(b.hours, 3),
            ]
        })
        .collect();
    lines(&format!("{key},patrols,km,hours"), &rows)
}

/// `attributes.csv`: per category and attribute, one row per aggregation
/// (`figure` its name, e.g. `sum`) or per item (`figure` = `items`, `item`
/// its key); a threat category's sum also gives its rate per 100 km and,
/// with a baseline, the baseline's sum and the rate ratio with its interval.
fn attributes(r: &Report) -> String {
    let mut rows = Vec::new();
    for (category, attrs) in &r.encounters.attributes {
        for (key, f) in attrs {
            for (name, value) in &f.aggregates {
                let mut row = vec![
                    field(category),
                    field(key),
                    field(name),
                    String::new(),
                    opt(*value, 4),
                ];
                let rate = r
                    .rates
                    .attributes_per_100km
                    .get(category)
                    .and_then(|m| m.get(key));
                let cmp = r
                    .baseline
                    .as_ref()
                    .and_then(|b| b.attributes.get(category))
                    .and_then(|m| m.get(key));
                if name == "sum" {
                    row.push(opt(rate.copied().flatten(), 4));
                    row.push(opt(cmp.map(|c| c.baseline_sum), 4));
                    row.push(opt(cmp.and_then(|c| c.ratio), 4));
                    row.push(opt(cmp.and_then(|c| c.ci_low), 4));
                    row.push(opt(cmp.and_then(|c| c.ci_high), 4));
                } else {
                    row.extend(std::iter::repeat_n(String::new(), 5));
                }
                rows.push(row);
            }
            for (item, n) in f.items.iter().flatten() {
                let mut row = vec![
                    field(category),
                    field(key),
                    "items".to_owned(),
                    field(item),
                    n.to_string(),
                ];
                row.extend(std::iter::repeat_n(String::new(), 5));
                rows.push(row);
            }
        }
    }
    lines(
        "category,attribute,figure,item,value,per_100km,baseline_value,rate_ratio,rate_ratio_ci_low,rate_ratio_ci_high",
        &rows,
    )
}

/// Every table, as (file name, content).
pub fn tables(r: &Report) -> Vec<(String, String)> {
    let mut out = vec![
        ("summary.csv".to_owned(), summary(r)),
        (
            "by_transport.csv".to_owned(),
            breakdown("transport", &r.effort.by_transport),
        ),
        (
            "by_team.csv".to_owned(),
            breakdown("team", &r.effort.by_team),
        ),
    ];
    let cats: Vec<Vec<String>> = r
        .encounters
        .by_category
        .iter()
        .map(|(k, n)| {
            let t = r.threats_of(k);
            vec![
                field(k),
                n.to_string(),
                t.to_string(),
                opt(r.threats_per_100km_of(k), 4),
            ]
        })
        .collect();
    out.push((
        "by_category.csv".to_owned(),
        lines("category,observations,threats,threats_per_100km", &cats),
    ));
    out.push(("attributes.csv".to_owned(), attributes(r)));
    if let Some(trend) = &r.trend {
        let rows: Vec<Vec<String>> = trend
            .iter()
            .map(|m| {
                vec![
                    m.month.clone(),
                    num(m.km, 3),
                    num(m.hours, 3),
                    m.patrol_days.to_string(),
                    m.threats.to_string(),
                    opt(m.threats_per_100km, 4),
                ]
            })
            .collect();
        out.push((
            "trend.csv".to_owned(),
            lines(
                "month,km,hours,patrol_days,threats,threats_per_100km",
                &rows,
            ),
        ));
    }
    if let Some(sites) = &r.by_site {
        let rows: Vec<Vec<String>> = sites
            .iter()
            .map(|(id, s)| {
                vec![
                    field(id),
                    field(&s.name),
                    field(&s.timezone),
                    s.effort.patrols.to_string(),
                    s.effort.patrol_days.to_string(),
                    s.effort.person_days.to_string(),
                    num(s.effort.km, 3),
                    num(s.effort.hours, 3),
                    s.encounters.observations.to_string(),
                    s.encounters.threats.to_string(),
                    opt(s.rates.threats_per_100km, 4),
                    s.coverage
                        .as_ref()
                        .map_or_else(String::new, |c| c.park_cells.to_string()),
                    s.coverage
                        .as_ref()
                        .map_or_else(String::new, |c| c.visited_cells.to_string()),
                    opt(s.coverage.as_ref().map(|c| c.fraction), 4),
                ]
            })
            .collect();
        out.push((
            "by_site.csv".to_owned(),
            lines(
                "site,name,timezone,patrols,patrol_days,person_days,km,hours,observations,threats,threats_per_100km,coverage_park_cells,coverage_visited_cells,coverage_fraction",
                &rows,
            ),
        ));
    }
    if let Some(c) = &r.coverage {
        // Cells of several sites' grids say their site (ix, iy count in it).
        let with_site = c.cells.iter().any(|cell| cell.site_id.is_some());
        let rows: Vec<Vec<String>> = c
            .cells
            .iter()
            .map(|cell| {
                let (lon, lat) = cell.centre();
                let mut row = vec![
                    cell.ix.to_string(),
                    cell.iy.to_string(),
                    cell.in_park.to_string(),
                    num(cell.km, 3),
                    cell.threats.to_string(),
                    num(lon, 6),
                    num(lat, 6),
                ];
                if with_site {
                    row.push(cell.site_id.map(|s| s.to_string()).unwrap_or_default());
                }
                row
            })
            .collect();
        let header = if with_site {
            "ix,iy,in_park,km,threats,centre_lon,centre_lat,site"
        } else {
            "ix,iy,in_park,km,threats,centre_lon,centre_lat"
        };
        out.push(("cells.csv".to_owned(), lines(header, &rows)));
    }
    out.push(("data_quality.csv".to_owned(), data_quality(r)));
    out
}

/// `data_quality.csv`: what quality control left out, per kind, and the
/// patrols to look at (`kind,patrols,fixes,km,hours,patrol_id,detail`).
fn data_quality(r: &Report) -> String {
    let dq = &r.data_quality;
    let mut rows: Vec<Vec<String>> = dq
        .excluded
        .iter()
        .map(|e| {
            vec![
                e.kind.as_str().to_owned(),
                e.patrols.to_string(),
                e.fixes.to_string(),
                num(e.km, 3),
                num(e.hours, 3),
                String::new(),
                String::new(),
            ]
        })
        .collect();
    for f in &dq.flagged_patrols {
        for (k, m) in f.kinds.iter().zip(&f.messages) {
            rows.push(vec![
                k.as_str().to_owned(),
                "1".into(),
                String::new(),
                String::new(),
                String::new(),
                f.patrol_id.to_string(),
                field(m),
            ]);
        }
    }
    for d in &dq.duplicate_tracks {
        rows.push(vec![
            "duplicate_track".into(),
            "2".into(),
            String::new(),
            String::new(),
            String::new(),
            d.patrol_id.to_string(),
            field(&format!(
                "{} shares {:.0} % of its fixes",
                d.other_patrol_id,
                d.shared * 100.0
            )),
        ]);
    }
    lines("kind,patrols,fixes,km,hours,patrol_id,detail", &rows)
}
