//! Aligned text tables for a terminal.

use std::fmt::Write as _;

use patrol_core::metrics::{Effort, Encounters, Rates, Report};

use crate::num::{fixed, opt, pct};
use crate::table::{Table, escape};

/// A table of the report (the one table engine: [`crate::table`]); every
/// cell is escaped there.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut t = Table::report(headers);
    for row in rows {
        t.row(row);
    }
    t.render()
}

/// Terminal text is not HTML, but a name may hold control characters: they
/// are escaped so they cannot move the cursor or recolour the terminal.
pub(crate) fn clean(s: &str) -> String {
    escape(s).into_owned()
}

fn headline(effort: &Effort, enc: &Encounters, rates: &Rates) -> Vec<Vec<String>> {
    let row = |k: &str, v: String| vec![k.to_owned(), v];
    vec![
        row("Patrols", effort.patrols.to_string()),
        row("Patrol-days", effort.patrol_days.to_string()),
        row("Person-days", effort.person_days.to_string()),
        row("Distance (km)", fixed(effort.km, 1)),
        row("Hours", fixed(effort.hours, 1)),
        row("Active hours", fixed(effort.active_hours, 1)),
        row("Observations", enc.observations.to_string()),
        row("Threats", enc.threats.to_string()),
        row("Threats per 100 km", opt(rates.threats_per_100km, 2, "n/a")),
        row(
            "Threats per patrol-day",
            opt(rates.threats_per_patrol_day, 2, "n/a"),
        ),
        row("Threats per hour", opt(rates.threats_per_hour, 3, "n/a")),
    ]
}

fn breakdown_rows(
    map: &std::collections::BTreeMap<String, patrol_core::metrics::Breakdown>,
) -> Vec<Vec<String>> {
    map.iter()
        .map(|(k, b)| {
            vec![
                clean(k),
                b.patrols.to_string(),
                fixed(b.km, 1),
                fixed(b.hours, 1),
            ]
        })
        .collect()
}

/// The report as text.
pub fn render(r: &Report) -> String {
    let mut out = String::new();
    if !r.period.sites.is_empty() {
        let _ = writeln!(out, "{}", clean(&r.site_names()));
    }
    let _ = writeln!(
        out,
        "Patrol report {} to {} (local dates, {})\n",
        r.period.from,
        r.period.to,
        clean(&r.period.timezone)
    );
    out.push_str("Effort and encounters\n");
    out.push_str(&table(
        &["Figure", "Value"],
        &headline(&r.effort, &r.encounters, &r.rates),
    ));

    if let Some(b) = &r.baseline {
        let _ = writeln!(out, "\n{}", b.sentence);
        let _ = writeln!(out, "\nBaseline {} to {}", b.from, b.to);
        let cur = headline(&r.effort, &r.encounters, &r.rates);
        let base = headline(&b.effort, &b.encounters, &b.rates);
        let rows: Vec<Vec<String>> = cur
            .into_iter()
            .zip(base)
            .map(|(c, b)| vec![c[0].clone(), c[1].clone(), b[1].clone()])
            .collect();
        out.push_str(&table(&["Figure", "Period", "Baseline"], &rows));
        let _ = writeln!(
            out,
            "  Rate ratio (threats per km, period / baseline): {} (95 % CI {} to {})",
            opt(b.ratio, 2, "n/a"),
            opt(b.ci_low, 2, "n/a"),
            opt(b.ci_high, 2, "unbounded")
        );
    }

    out.push_str("\nBy transport\n");
    out.push_str(&table(
        &["Transport", "Patrols", "km", "Hours"],
        &breakdown_rows(&r.effort.by_transport),
    ));
    out.push_str("\nBy team\n");
    out.push_str(&table(
        &["Team", "Patrols", "km", "Hours"],
        &breakdown_rows(&r.effort.by_team),
    ));

    out.push_str("\nBy category\n");
    let mut rows = crate::rows::by_category(r);
    for row in &mut rows {
        row[0] = clean(&row[0]);
    }
    out.push_str(&table(&["Category", "Observations", "Threats"], &rows));

    if !r.encounters.attributes.is_empty() {
        out.push_str("\nAttributes\n");
        let mut t = Table::report_with_text_columns(
            &["Category", "Attribute", "Figure", "Value", "Per 100 km"],
            3,
        );
        for row in crate::rows::attributes(r) {
            t.row(row);
        }
        out.push_str(&t.render());
        for c in r
            .baseline
            .iter()
            .flat_map(|b| b.attributes.values().flat_map(|m| m.values()))
        {
            let _ = writeln!(out, "  {}", clean(&c.sentence));
        }
    }

    if r.trend.is_some() {
        out.push_str("\nMonthly trend\n");
        let rows = crate::rows::trend(r);
        out.push_str(&table(&["Month", "km", "Threats", "Threats/100 km"], &rows));
        if let Some(b) = &r.baseline {
            let _ = writeln!(
                out,
                "  Baseline: {} threats per 100 km",
                opt(b.rates.threats_per_100km, 2, "n/a")
            );
        }
    }

    if let Some(c) = &r.coverage {
        out.push_str("\nCoverage\n");
        let rows = vec![
            vec!["Cell size (m)".to_owned(), fixed(c.cell_m, 0)],
            vec!["Park cells".to_owned(), c.park_cells.to_string()],
            vec!["Cells patrolled".to_owned(), c.visited_cells.to_string()],
            vec!["Coverage".to_owned(), pct(c.fraction)],
            vec!["km inside park cells".to_owned(), fixed(c.km_in_park, 1)],
        ];
        out.push_str(&table(&["Figure", "Value"], &rows));
        if r.by_site.as_ref().is_some_and(|s| s.len() > 1) {
            out.push_str("  (the sum of each site's own grid: see By site)\n");
        }
    }

    if r.by_site.is_some() {
        out.push_str("\nBy site\n");
        let mut rows = crate::rows::by_site(r);
        for row in &mut rows {
            row[0] = clean(&row[0]);
            row[1] = clean(&row[1]);
        }
        out.push_str(&table(
            &[
                "Site",
                "Time zone",
                "Patrols",
                "km",
                "Hours",
                "Threats",
                "Threats/100 km",
                "Coverage",
            ],
            &rows,
        ));
    }

    data_quality(&mut out, r);
    // The undated figures are in the data-quality section: their notes are not repeated.
    let undated = r.undated_notes();
    for note in r.notes.iter().filter(|n| !undated.contains(n)) {
        let _ = writeln!(out, "Note: {}", clean(note));
    }
    out
}

/// The data-quality section (docs/METRICS.md, "Data quality").
fn data_quality(out: &mut String, r: &Report) {
    use crate::quality as q;
    let dq = &r.data_quality;
    let _ = writeln!(out, "\nData quality");
    for line in q::summary_lines(r) {
        let _ = writeln!(out, "  {}", clean(&line));
    }
    let sections = [
        (&q::EXCLUDED_HEADERS[..], q::excluded_rows(dq)),
        (&q::FLAGGED_HEADERS[..], q::flagged_rows(dq)),
        (&q::DUPLICATE_HEADERS[..], q::duplicate_rows(dq)),
    ];
    for (headers, rows) in sections {
        if !rows.is_empty() {
            let rows: Vec<Vec<String>> = rows
                .iter()
                .map(|r| r.iter().map(|c| clean(c)).collect())
                .collect();
            let _ = write!(out, "\n{}", table(headers, &rows));
        }
    }
}
