//! One self-contained HTML file: inline CSS and hand-written SVG (in
//! [`svg`]), no script, no network, no external font; prints on A4.

use std::fmt::Write as _;

use patrol_core::metrics::{Breakdown, Effort, Encounters, Rates, Report};

use crate::num::{fixed, opt, pct};

mod svg;

use svg::{bar_chart, map_svg, trend_chart};

/// Text for HTML content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

const CSS: &str = r"
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif;
  color: #1b1b1b; margin: 2em auto; max-width: 190mm; padding: 0 1em; line-height: 1.35; }
h1 { font-size: 1.6em; margin: 0 0 .2em; overflow-wrap: anywhere; }
h2 { font-size: 1.15em; border-bottom: 2px solid #2e6b3a; padding-bottom: .15em; margin-top: 1.6em; }
.sub { color: #555; margin: 0 0 1em; }
.nw { white-space: nowrap; }
.cards { display: flex; flex-wrap: wrap; gap: .6em; }
.card { border: 1px solid #ccc; border-radius: 6px; padding: .5em .8em; min-width: 7.5em; }
.card .v { font-size: 1.5em; font-weight: 600; }
.card .k { font-size: .8em; color: #555; }
.sentence { background: #eef5ef; border-left: 4px solid #2e6b3a; padding: .6em .9em; font-weight: 600; }
table { border-collapse: collapse; margin: .5em 0; font-size: .92em; }
th, td { padding: .2em .7em; border-bottom: 1px solid #ddd; }
td, p, .card { overflow-wrap: anywhere; }
td.n, th.n { white-space: nowrap; overflow-wrap: normal; }
th { text-align: left; background: #f3f3f3; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
section > svg { display: block; max-width: 100%; height: auto; margin: .5em 0; }
svg text { font-family: inherit; font-size: 11px; fill: #1b1b1b; }
.note { color: #7a4b00; }
.foot { color: #666; font-size: .8em; margin-top: 2em; }
@page { size: A4; margin: 14mm; }
@media print {
  body { margin: 0; max-width: none; padding: 0; font-size: 10pt; }
  section, table, svg, .cards { break-inside: avoid; page-break-inside: avoid; }
  h2 { break-after: avoid; page-break-after: avoid; }
  .card, .sentence { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
";

fn card(out: &mut String, value: &str, label: &str) {
    let _ = write!(
        out,
        "<div class=\"card\"><div class=\"v\">{}</div><div class=\"k\">{}</div></div>",
        escape(value),
        escape(label)
    );
}

/// A table; `numeric[i]` right-aligns column i. Every cell is escaped here.
fn table(out: &mut String, headers: &[&str], numeric: &[bool], rows: &[Vec<String>]) {
    out.push_str("<table><thead><tr>");
    for (i, h) in headers.iter().enumerate() {
        let class = if numeric.get(i).copied().unwrap_or(false) {
            " class=\"n\""
        } else {
            ""
        };
        let _ = write!(out, "<th{class}>{}</th>", escape(h));
    }
    out.push_str("</tr></thead><tbody>");
    for row in rows {
        out.push_str("<tr>");
        for (i, cell) in row.iter().enumerate() {
            let class = if numeric.get(i).copied().unwrap_or(false) {
                " class=\"n\""
            } else {
                ""
            };
            let _ = write!(out, "<td{class}>{}</td>", escape(cell));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>\n");
}

fn figure_rows(e: &Effort, enc: &Encounters, r: &Rates) -> Vec<(&'static str, String)> {
    vec![
        ("Patrols", e.patrols.to_string()),
        ("Patrol-days", e.patrol_days.to_string()),
        ("Person-days", e.person_days.to_string()),
        ("Distance (km)", fixed(e.km, 1)),
        ("Hours", fixed(e.hours, 1)),
        ("Active hours", fixed(e.active_hours, 1)),
        ("Observations", enc.observations.to_string()),
        ("Threats", enc.threats.to_string()),
        ("Threats per 100 km", opt(r.threats_per_100km, 2, "n/a")),
        (
            "Threats per patrol-day",
            opt(r.threats_per_patrol_day, 2, "n/a"),
        ),
        ("Threats per hour", opt(r.threats_per_hour, 3, "n/a")),
    ]
}

fn breakdown_table(
    out: &mut String,
    key: &str,
    map: &std::collections::BTreeMap<String, Breakdown>,
) {
    let rows: Vec<Vec<String>> = map
        .iter()
        .map(|(k, b)| {
            vec![
                k.clone(),
                b.patrols.to_string(),
                fixed(b.km, 1),
                fixed(b.hours, 1),
            ]
        })
        .collect();
    table(
        out,
        &[key, "Patrols", "km", "Hours"],
        &[false, true, true, true],
        &rows,
    );
}

/// The report as one HTML document: its sections in order.
pub fn render(r: &Report) -> String {
    let mut o = String::new();
    head(&mut o, r);
    cards(&mut o, r);
    baseline_sentence(&mut o, r);
    figures(&mut o, r);
    by_transport(&mut o, r);
    by_team(&mut o, r);
    by_category(&mut o, r);
    attributes(&mut o, r);
    trend(&mut o, r);
    by_site(&mut o, r);
    map_and_coverage(&mut o, r);
    notes_and_foot(&mut o, r);
    o
}

/// The document's head and the heading: the sites, the period, the zone.
fn head(o: &mut String, r: &Report) {
    let title = if r.period.sites.is_empty() {
        format!("Patrol report {} to {}", r.period.from, r.period.to)
    } else {
        format!(
            "{}: patrol report {} to {}",
            r.site_names(),
            r.period.from,
            r.period.to
        )
    };
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n",
        escape(&title)
    );
    // The dates never break at their hyphens; long site names may wrap.
    let nowrap = |d: chrono::NaiveDate| format!("<span class=\"nw\">{d}</span>");
    let heading = if r.period.sites.is_empty() {
        "Patrol report".to_owned()
    } else {
        format!("{}: patrol report", escape(&r.site_names()))
    };
    let _ = writeln!(
        o,
        "<h1>{heading} {} to {}</h1>\n<p class=\"sub\">Local dates in {}.</p>",
        nowrap(r.period.from),
        nowrap(r.period.to),
        escape(&r.period.timezone)
    );
}

/// The headline figures as cards.
fn cards(o: &mut String, r: &Report) {
    o.push_str("<section><div class=\"cards\">");
    card(o, &fixed(r.effort.km, 1), "km patrolled");
    card(o, &fixed(r.effort.hours, 1), "hours");
    card(o, &r.effort.patrols.to_string(), "patrols");
    card(o, &r.effort.patrol_days.to_string(), "patrol-days");
    card(o, &r.effort.person_days.to_string(), "person-days");
    card(o, &r.encounters.threats.to_string(), "threats");
    card(
        o,
        &opt(r.rates.threats_per_100km, 2, "n/a"),
        "threats per 100 km",
    );
    if let Some(c) = &r.coverage {
        card(o, &pct(c.fraction), "of the park's cells patrolled");
    }
    o.push_str("</div></section>\n");
}

/// The baseline's comparison sentence.
fn baseline_sentence(o: &mut String, r: &Report) {
    if let Some(b) = &r.baseline {
        let _ = writeln!(o, "<p class=\"sentence\">{}</p>", escape(&b.sentence));
    }
}

/// Effort and encounters (beside the baseline's).
fn figures(o: &mut String, r: &Report) {
    o.push_str("<section><h2>Effort and encounters</h2>\n");
    let cur = figure_rows(&r.effort, &r.encounters, &r.rates);
    if let Some(b) = &r.baseline {
        let base = figure_rows(&b.effort, &b.encounters, &b.rates);
        let rows: Vec<Vec<String>> = cur
            .into_iter()
            .zip(base)
            .map(|(c, b)| vec![c.0.to_owned(), c.1, b.1])
            .collect();
        let base_head = format!("Baseline {} to {}", b.from, b.to);
        table(
            o,
            &["Figure", "This period", &base_head],
            &[false, true, true],
            &rows,
        );
        let _ = writeln!(
            o,
            "<p>Rate ratio of threats per km (this period / baseline): {} (95 % CI {} to {}).</p>",
            escape(&opt(b.ratio, 2, "n/a")),
            escape(&opt(b.ci_low, 2, "n/a")),
            escape(&opt(b.ci_high, 2, "unbounded"))
        );
    } else {
        let rows: Vec<Vec<String>> = cur
            .into_iter()
            .map(|(k, v)| vec![k.to_owned(), v])
            .collect();
        table(o, &["Figure", "Value"], &[false, true], &rows);
    }
    o.push_str("</section>\n");
}

/// Effort by transport, with its chart.
fn by_transport(o: &mut String, r: &Report) {
    o.push_str("<section><h2>By transport</h2>\n");
    breakdown_table(o, "Transport", &r.effort.by_transport);
    let items: Vec<(String, f64)> = r
        .effort
        .by_transport
        .iter()
        .map(|(k, b)| (k.clone(), b.km))
        .collect();
    o.push_str(&bar_chart("km by transport", &items, 1));
    o.push_str("<p class=\"foot\">A patrol with legs of two transports counts once in each, so the patrols need not add up; km and hours do.</p></section>\n");
}

/// Effort by team.
fn by_team(o: &mut String, r: &Report) {
    o.push_str("<section><h2>By team</h2>\n");
    breakdown_table(o, "Team", &r.effort.by_team);
    o.push_str("</section>\n");
}

/// Observations and threats by category, with threats per 100 km of each.
fn by_category(o: &mut String, r: &Report) {
    o.push_str("<section><h2>By category</h2>\n");
    let rows = crate::rows::by_category(r);
    table(
        o,
        &["Category", "Observations", "Threats"],
        &[false, true, true],
        &rows,
    );
    if r.effort.km > 0.0 && !r.encounters.threats_by_category.is_empty() {
        let items: Vec<(String, f64)> = r
            .encounters
            .threats_by_category
            .keys()
            .filter_map(|k| Some((r.category_label(k).to_owned(), r.threats_per_100km_of(k)?)))
            .collect();
        o.push_str(&bar_chart("Threats per 100 km by category", &items, 2));
    }
    o.push_str("</section>\n");
}

/// What the observations' attributes add up to, with a chart of the threat
/// categories' sums per 100 km and their comparison with the baseline.
fn attributes(o: &mut String, r: &Report) {
    if r.encounters.attributes.is_empty() {
        return;
    }
    o.push_str("<section><h2>Attributes</h2>\n");
    table(
        o,
        &["Category", "Attribute", "Figure", "Value", "Per 100 km"],
        &[false, false, false, true, true],
        &crate::rows::attributes(r),
    );
    let items: Vec<(String, f64)> = r
        .rates
        .attributes_per_100km
        .iter()
        .flat_map(|(c, m)| {
            m.iter().filter_map(move |(a, rate)| {
                Some((
                    format!("{}: {}", r.category_label(c), r.attribute_label(a)),
                    (*rate)?,
                ))
            })
        })
        .collect();
    if !items.is_empty() {
        o.push_str(&bar_chart("Per 100 km (threat categories)", &items, 2));
    }
    if let Some(b) = r.baseline.as_ref().filter(|b| !b.attributes.is_empty()) {
        o.push_str("<ul>");
        for c in b.attributes.values().flat_map(|m| m.values()) {
            let _ = write!(o, "<li>{}</li>", escape(&c.sentence));
        }
        o.push_str("</ul>\n");
    }
    o.push_str("</section>\n");
}

/// The monthly trend, with its chart.
fn trend(o: &mut String, r: &Report) {
    if let Some(trend) = &r.trend {
        o.push_str("<section><h2>Monthly trend</h2>\n");
        let rows = crate::rows::trend(r);
        table(
            o,
            &["Month", "km", "Threats", "Threats per 100 km"],
            &[false, true, true, true],
            &rows,
        );
        let months: Vec<(String, Option<f64>)> = trend
            .iter()
            .map(|m| (m.month.clone(), m.threats_per_100km))
            .collect();
        o.push_str(&trend_chart(
            &months,
            r.baseline.as_ref().and_then(|b| b.rates.threats_per_100km),
        ));
        o.push_str("</section>\n");
    }
}

/// The figures of each site.
fn by_site(o: &mut String, r: &Report) {
    if r.by_site.is_some() {
        o.push_str("<section><h2>By site</h2>\n");
        let rows = crate::rows::by_site(r);
        table(
            o,
            &[
                "Site",
                "Time zone",
                "Patrols",
                "km",
                "Hours",
                "Threats",
                "Threats per 100 km",
                "Coverage",
            ],
            &[false, false, true, true, true, true, true, true],
            &rows,
        );
        o.push_str("</section>\n");
    }
}

/// The coverage figures and the map.
fn map_and_coverage(o: &mut String, r: &Report) {
    let map = map_svg(r);
    if map.is_some() || r.coverage.is_some() {
        o.push_str("<section><h2>Map and coverage</h2>\n");
        if let Some(c) = &r.coverage {
            let rows = vec![
                vec!["Cell size (m)".to_owned(), fixed(c.cell_m, 0)],
                vec!["Park cells".to_owned(), c.park_cells.to_string()],
                vec!["Cells patrolled".to_owned(), c.visited_cells.to_string()],
                vec!["Coverage".to_owned(), pct(c.fraction)],
                vec!["km inside park cells".to_owned(), fixed(c.km_in_park, 1)],
            ];
            table(o, &["Figure", "Value"], &[false, true], &rows);
            if r.by_site.as_ref().is_some_and(|s| s.len() > 1) {
                o.push_str("<p class=\"foot\">The sum of each site's own grid; each site's coverage is under By site.</p>\n");
            }
        }
        if let Some(svg) = map {
            o.push_str(&svg);
        }
        o.push_str("</section>\n");
    }
}

/// The data-quality section, the notes not said there, the definitions.
fn notes_and_foot(o: &mut String, r: &Report) {
    data_quality(o, r);
    // The undated figures are in the data-quality section: their notes are not repeated.
    let undated = r.undated_notes();
    for note in r.notes.iter().filter(|n| !undated.contains(n)) {
        let _ = writeln!(o, "<p class=\"note\">{}</p>", escape(note));
    }
    o.push_str("<p class=\"foot\">Figures as defined in patrol's docs/METRICS.md. km are geodesic (WGS84), after quality control; hours are the time between consecutive fixes up to the pause limit, split at local midnight.</p>\n</body>\n</html>\n");
}

/// The data-quality section (docs/METRICS.md, "Data quality").
fn data_quality(o: &mut String, r: &Report) {
    use crate::quality as q;
    let dq = &r.data_quality;
    o.push_str("<section><h2>Data quality</h2>\n<ul class=\"dq\">\n");
    for line in q::summary_lines(r) {
        let _ = writeln!(o, "<li>{}</li>", escape(&line));
    }
    o.push_str("</ul>\n");
    let excluded = q::excluded_rows(dq);
    if !excluded.is_empty() {
        table(
            o,
            &q::EXCLUDED_HEADERS,
            &[false, true, true, true, true],
            &excluded,
        );
    }
    let flagged = q::flagged_rows(dq);
    if !flagged.is_empty() {
        table(
            o,
            &q::FLAGGED_HEADERS,
            &[false, false, false, false],
            &flagged,
        );
    }
    let dups = q::duplicate_rows(dq);
    if !dups.is_empty() {
        table(
            o,
            &q::DUPLICATE_HEADERS,
            &[false, false, false, true],
            &dups,
        );
    }
    o.push_str("</section>\n");
}
