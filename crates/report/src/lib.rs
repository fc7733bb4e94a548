//! patrol-report: renders a [`Report`] (built by `patrol_core::metrics::build_report`)
//! as aligned text, JSON, CSV or one self-contained HTML file.
//!
//! Nothing here computes a figure: every number comes from the report as it
//! is, only rounded for display (docs/METRICS.md says how).
//!
//! ```
//! use patrol_report::Format;
//! assert_eq!("html".parse::<Format>().unwrap(), Format::Html);
//! ```

#![warn(missing_docs)]

use std::fmt;
use std::str::FromStr;

pub use patrol_core::metrics::Report;

pub mod csv;
pub mod html;
pub mod json;
pub mod quality;
pub mod table;
pub mod text;

/// An output format of `patrol report`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Format {
    /// Aligned tables for a terminal (the default).
    #[default]
    Text,
    /// The report as JSON (the shape of docs/METRICS.md).
    Json,
    /// The main table as `metric,value` rows.
    Csv,
    /// One self-contained HTML file: no script, no network, prints on A4.
    Html,
}

impl Format {
    /// Every format, in declaration order (text, json, csv, html).
    pub const ALL: [Format; 4] = [Format::Text, Format::Json, Format::Csv, Format::Html];

    /// The name `--format` takes and `Display` writes ("text", "json", "csv", "html").
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::Json => "json",
            Format::Csv => "csv",
            Format::Html => "html",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A format name that is not one of ours.
#[derive(Debug, PartialEq, Eq)]
pub struct UnknownFormat(pub String);

impl fmt::Display for UnknownFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown format '{}' (expected text, json, csv or html)",
            self.0
        )
    }
}

impl std::error::Error for UnknownFormat {}

impl FromStr for Format {
    type Err = UnknownFormat;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Format::ALL
            .into_iter()
            .find(|f| f.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownFormat(s.to_owned()))
    }
}

/// The report in one format.
pub fn render(report: &Report, format: Format) -> String {
    match format {
        Format::Text => text::render(report),
        Format::Json => json::render(report),
        Format::Csv => csv::summary(report),
        Format::Html => html::render(report),
    }
}

/// Every table of the report as CSV files (name, content), for `--out-dir`:
/// `summary.csv` (as `--format csv`), `by_transport.csv`, `by_team.csv`,
/// `by_category.csv`, and when present `trend.csv`, `by_site.csv`,
/// `cells.csv`.
pub fn render_csv_tables(report: &Report) -> Vec<(String, String)> {
    csv::tables(report)
}

/// Table rows shared by text and HTML (display-rounded, not yet escaped).
pub(crate) mod rows {
    use patrol_core::metrics::Report;

    use crate::num::{fixed, opt, pct};

    /// category (its label), observations, threats.
    pub fn by_category(r: &Report) -> Vec<Vec<String>> {
        r.encounters
            .by_category
            .iter()
            .map(|(k, n)| {
                let t = r.threats_of(k);
                vec![r.category_label(k).to_owned(), n.to_string(), t.to_string()]
            })
            .collect()
    }

    /// site, time zone, patrols, km, hours, threats, threats per 100 km,
    /// coverage ("-" without a grid).
    pub fn by_site(r: &Report) -> Vec<Vec<String>> {
        r.by_site
            .iter()
            .flat_map(|sites| sites.values())
            .map(|s| {
                vec![
                    s.name.clone(),
                    s.timezone.clone(),
                    s.effort.patrols.to_string(),
                    fixed(s.effort.km, 1),
                    fixed(s.effort.hours, 1),
                    s.encounters.threats.to_string(),
                    opt(s.rates.threats_per_100km, 2, "n/a"),
                    s.coverage
                        .as_ref()
                        .map_or_else(|| "-".to_owned(), |c| pct(c.fraction)),
                ]
            })
            .collect()
    }

    /// category (its label), attribute (its label), figure (an aggregation,
    /// or an item's label), value, per 100 km (a threat category's sum).
    pub fn attributes(r: &Report) -> Vec<Vec<String>> {
        let mut rows = Vec::new();
        for (category, attrs) in &r.encounters.attributes {
            for (key, f) in attrs {
                let row = |figure: String, value: String, rate: String| {
                    vec![
                        r.category_label(category).to_owned(),
                        r.attribute_label(key).to_owned(),
                        figure,
                        value,
                        rate,
                    ]
                };
                let ordered = patrol_core::attribute::Aggregation::ALL
                    .into_iter()
                    .filter_map(|a| Some((a, f.aggregates.get(a.as_str())?)));
                for (aggregation, value) in ordered {
                    let name = aggregation.as_str();
                    let rate = if name == "sum" {
                        r.rates
                            .attributes_per_100km
                            .get(category)
                            .and_then(|m| m.get(key))
                            .map_or_else(String::new, |x| opt(*x, 2, "n/a"))
                    } else {
                        String::new()
                    };
                    rows.push(row(aggregation_name(name).to_owned(), amount(*value), rate));
                }
                for (item, n) in f.items.iter().flatten() {
                    rows.push(row(
                        r.item_label(key, item).to_owned(),
                        n.to_string(),
                        String::new(),
                    ));
                }
            }
        }
        rows
    }

    /// An aggregation as readers see it ("sum" is "Sum", "stddev_samp" is
    /// "Std. deviation").
    pub fn aggregation_name(name: &str) -> &str {
        match name {
            "sum" => "Sum",
            "avg" => "Mean",
            "min" => "Min",
            "max" => "Max",
            "stddev_samp" => "Std. deviation",
            "var_samp" => "Variance",
            other => other,
        }
    }

    /// A sum or other aggregation: whole numbers without decimals, others
    /// with two; "n/a" when undefined.
    pub fn amount(x: Option<f64>) -> String {
        match x {
            Some(x) if x.fract() == 0.0 && x.abs() < 1e15 => fixed(x, 0),
            other => opt(other, 2, "n/a"),
        }
    }

    /// month, km, threats, threats per 100 km.
    pub fn trend(r: &Report) -> Vec<Vec<String>> {
        r.trend
            .iter()
            .flatten()
            .map(|m| {
                vec![
                    m.month.clone(),
                    fixed(m.km, 1),
                    m.threats.to_string(),
                    opt(m.threats_per_100km, 2, "n/a"),
                ]
            })
            .collect()
    }
}

/// Display rounding, shared by text and HTML.
pub(crate) mod num {
    /// `x` with `d` decimals ("-0.0" shown as "0.0").
    pub fn fixed(x: f64, d: usize) -> String {
        let s = format!("{x:.d$}");
        if s.starts_with('-') && s[1..].chars().all(|c| c == '0' || c == '.') {
            s[1..].to_owned()
        } else {
            s
        }
    }

    /// An optional figure, or `none` text.
    pub fn opt(x: Option<f64>, d: usize, none: &str) -> String {
        x.map_or_else(|| none.to_owned(), |x| fixed(x, d))
    }

    /// A fraction as a percentage with one decimal.
    pub fn pct(x: f64) -> String {
        format!("{} %", fixed(x * 100.0, 1))
    }
}

#[cfg(test)]
pub(crate) mod sample;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_names() {
        for f in Format::ALL {
            assert_eq!(f.as_str().parse::<Format>().unwrap(), f);
        }
        assert!("pdf".parse::<Format>().is_err());
        assert_eq!(Format::default(), Format::Text);
    }

    #[test]
    fn rounding() {
        assert_eq!(num::fixed(-0.04, 1), "0.0");
        assert_eq!(num::fixed(2.25, 1), "2.2");
        assert_eq!(num::fixed(-1.5, 1), "-1.5");
        assert_eq!(num::opt(None, 2, "n/a"), "n/a");
        assert_eq!(num::pct(0.1234), "12.3 %");
    }

    #[test]
    fn text_has_the_figures() {
        let r = sample::report();
        let t = render(&r, Format::Text);
        assert!(
            t.contains("Patrol report 2026-10-01 to 2026-10-31 (local dates, Asia/Bangkok)"),
            "{t}"
        );
        assert!(t.contains("Distance (km)           120.5"), "{t}");
        assert!(t.contains("Threats per 100 km       2.49"), "{t}");
        // 3 threats in 120.5 km against 30 in 600 km: half the rate, but too few
        // threats to tell.
        assert!(
            t.contains(
                "\nThreats per 100 km: no clear change from the baseline (ratio 0.50, 95 % CI 0.10-1.60)\n"
            ),
            "{t}"
        );
        assert!(t.contains("  foot"));
        assert!(t.contains("80.5"));
        assert!(t.contains("2026-08"));
        assert!(
            t.contains("Undated (in no period): 0 observation(s), 2.2 km of track"),
            "{t}"
        );
        // Columns line up: every row of a table has the same width up to its last column.
        let lines: Vec<&str> = t
            .lines()
            .skip_while(|l| *l != "By transport")
            .skip(1)
            .take(4)
            .collect();
        assert_eq!(lines[0], "  Transport  Patrols    km  Hours");
        assert_eq!(lines[2], "  foot             1  80.5   20.0");
        assert_eq!(lines[3], "  vehicle          1  40.0   10.0");
    }

    #[test]
    fn json_shape() {
        let r = sample::report();
        let v: serde_json::Value = serde_json::from_str(&render(&r, Format::Json)).unwrap();
        assert_eq!(v["period"]["from"], "2026-10-01");
        assert_eq!(v["period"]["timezone"], "Asia/Bangkok");
        assert_eq!(v["effort"]["km"], 120.5);
        assert_eq!(v["effort"]["by_transport"]["vehicle"]["km"], 40.0);
        assert_eq!(v["encounters"]["by_category"]["snare"], 2);
        assert!(v["rates"]["threats_per_100km"].is_number());
        assert_eq!(v["baseline"]["encounters"]["threats"], 30);
        assert!(v["baseline"]["ratio"].is_number());
        assert!(v["baseline"]["sentence"].is_string());
        assert_eq!(v["trend"].as_array().unwrap().len(), 3);
        assert!(v["coverage"]["park_cells"].as_u64().unwrap() > 20);
        assert!(v.get("by_site").is_none());
        assert_eq!(v["undated_observations"], 0);
        assert_eq!(v["undated_km"], 2.25);
    }

    #[test]
    fn csv_summary_and_tables() {
        let r = sample::report();
        let c = render(&r, Format::Csv);
        assert!(c.starts_with("metric,value\nperiod_from,2026-10-01\n"));
        assert!(c.contains("\nkm,120.500\n"));
        assert!(c.contains("\nhours,30.000\n"));
        assert!(c.contains("\nthreats,3\n"));
        assert!(c.contains("\nbaseline_threats,30\n"));
        let tables = render_csv_tables(&r);
        let names: Vec<&str> = tables.iter().map(|t| t.0.as_str()).collect();
        assert_eq!(
            names,
            [
                "summary.csv",
                "by_transport.csv",
                "by_team.csv",
                "by_category.csv",
                "attributes.csv",
                "trend.csv",
                "cells.csv",
                "data_quality.csv"
            ]
        );
        let team = &tables[2].1;
        assert!(
            team.contains("\"<script>alert('x')</script> & \"\"Co\"\"\",1,40.000,10.000"),
            "{team}"
        );
        assert_eq!(csv::field("=SUM(A1)"), "'=SUM(A1)");
        assert_eq!(csv::field("a,b"), "\"a,b\"");
    }

    #[test]
    fn html_is_self_contained_and_escaped() {
        let r = sample::report();
        let h = render(&r, Format::Html);
        assert!(h.starts_with("<!DOCTYPE html>"));
        assert!(h.contains("@page { size: A4"));
        assert!(h.contains("@media print"));
        // No script, and no URL but the SVG namespace.
        assert!(!h.to_lowercase().contains("<script"));
        let without_ns = h.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
        assert!(!without_ns.contains("http"), "a URL in the HTML");
        assert!(!h.contains("url("));
        assert!(h.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;Co&quot;"));
        // The figures.
        assert!(h.contains(">120.5<"));
        assert!(h.contains(">2.49<"));
        assert!(h.contains("km by transport"));
        assert!(h.contains("Threats per 100 km by category"));
        assert!(h.contains("Threats per 100 km by month"));
        assert!(h.contains("baseline 5.00"));
        assert!(h.contains("Map of patrol tracks and threats"));
        assert!(h.contains("<polyline"));
        assert!(h.contains("Coverage"));
        assert_eq!(h.matches("<svg").count(), h.matches("</svg>").count());
        // Four charts and the map, whose drawing area is an inner SVG (it clips).
        assert_eq!(h.matches("<svg").count(), 6);
    }

    #[test]
    fn attributes_are_in_every_format() {
        // The sample: October's snares removed 4 + 3 over 120.5 km; the
        // baseline's 30 snares removed 2 each over 600 km.
        let r = sample::report();
        let rate = 7.0 / 120.5 * 100.0;
        let json: serde_json::Value = serde_json::from_str(&render(&r, Format::Json)).unwrap();
        let a = &json["encounters"]["attributes"]["snare"];
        assert_eq!(a["removed"]["sum"], 7.0);
        assert_eq!(a["removed"]["avg"], 3.5);
        assert_eq!(a["age"]["items"]["fresh"], 1);
        assert_eq!(a["age"]["items"]["old"], 1);
        let got = json["rates"]["attributes_per_100km"]["snare"]["removed"]
            .as_f64()
            .unwrap();
        assert!((got - rate).abs() < 1e-12);
        let cmp = &json["baseline"]["attributes"]["snare"]["removed"];
        assert_eq!(cmp["baseline_sum"], 60.0);
        assert!((cmp["ratio"].as_f64().unwrap() - rate / 10.0).abs() < 1e-12);
        assert_eq!(json["attribute_labels"]["removed"], "Snares removed");

        let t = render(&r, Format::Text);
        let row = t
            .lines()
            .find(|l| l.contains("Snares removed") && l.contains(" Sum "))
            .unwrap_or_else(|| panic!("no sum row in {t}"));
        assert!(
            row.contains("Wire snare") && row.contains(" 7 ") && row.contains("5.81"),
            "{row}"
        );
        assert!(
            t.lines()
                .any(|l| l.contains("Age") && l.contains("Fresh") && l.trim_end().ends_with('1')),
            "{t}"
        );
        assert!(t.contains("Wire snare: Snares removed per 100 km"), "{t}");

        let tables = render_csv_tables(&r);
        let csv = &tables
            .iter()
            .find(|(n, _)| n == "attributes.csv")
            .unwrap()
            .1;
        assert!(
            csv.contains("\nsnare,removed,sum,,7.0000,5.8091,60.0000,0.5809,"),
            "{csv}"
        );
        assert!(csv.contains("\nsnare,age,items,fresh,1,"), "{csv}");

        let h = render(&r, Format::Html);
        assert!(h.contains("<h2>Attributes</h2>"));
        assert!(h.contains("Per 100 km (threat categories)"));
        assert!(h.contains("Wire snare: Snares removed per 100 km"));
    }

    #[test]
    fn tables_show_category_labels_and_json_keeps_the_keys() {
        let r = sample::report();
        let t = render(&r, Format::Text);
        assert!(t.contains("  Poacher camp "), "{t}");
        assert!(t.contains("  Wire snare "), "{t}");
        assert!(!t.contains("  camp "), "{t}");
        let h = render(&r, Format::Html);
        assert!(h.contains("<td>Poacher camp</td>"), "a table cell");
        assert!(h.contains(">Poacher camp</text>"), "the bar chart");
        assert!(
            h.contains("<title>Wire snare</title>"),
            "a threat on the map"
        );
        assert!(!h.contains(">camp<") && !h.contains(">snare<"));
        let json: serde_json::Value = serde_json::from_str(&render(&r, Format::Json)).unwrap();
        assert_eq!(json["encounters"]["by_category"]["camp"], 1);
        assert_eq!(json["category_labels"]["camp"], "Poacher camp");
        let tables = render_csv_tables(&r);
        assert!(tables[3].1.contains("\ncamp,1,1,"), "{}", tables[3].1);
    }

    #[test]
    fn html_names_the_site_and_says_undated_once() {
        let r = sample::report();
        let h = render(&r, Format::Html);
        assert!(
            h.contains("<title>Test Park: patrol report 2026-10-01 to 2026-10-31</title>"),
            "{}",
            &h[..600]
        );
        assert!(h.contains(
            "<h1>Test Park: patrol report <span class=\"nw\">2026-10-01</span> to <span class=\"nw\">2026-10-31</span></h1>"
        ));
        // 2.25 km of undated track: said once.
        assert_eq!(h.matches("2.2 km").count(), 1, "{h}");
        assert_eq!(
            h.to_lowercase().matches("no date").count()
                + h.to_lowercase().matches("undated").count(),
            1
        );
        let t = render(&r, Format::Text);
        assert_eq!(t.matches("2.2 km").count(), 1, "{t}");
        // Long names wrap instead of running off the page.
        assert!(h.contains("overflow-wrap: anywhere"));
    }

    /// The numbers of an SVG path's "M x,y L x,y ..." as points.
    fn path_points(d: &str) -> Vec<(f64, f64)> {
        d.split(['M', 'L', 'Z'])
            .filter_map(|p| p.split_once(','))
            .map(|(x, y)| (x.parse().unwrap(), y.parse().unwrap()))
            .collect()
    }

    #[test]
    fn the_map_is_framed_on_the_boundary_not_on_a_far_track() {
        let mut input = sample::input();
        // A track 400 km north of the park.
        let ci = input.coverage.values_mut().next().unwrap();
        ci.lines.push(vec![(102.0, 17.6), (102.1, 17.7)]);
        let r = patrol_core::metrics::build_report(&input);
        let h = render(&r, Format::Html);
        let start = h.find("stroke=\"#333\" stroke-width=\"1.5\"").unwrap();
        let d_start = h[..start].rfind("d=\"").unwrap() + 3;
        let d = &h[d_start..d_start + h[d_start..].find('"').unwrap()];
        let pts = path_points(d);
        let (x0, x1) = pts
            .iter()
            .fold((f64::MAX, f64::MIN), |a, p| (a.0.min(p.0), a.1.max(p.0)));
        let (y0, y1) = pts
            .iter()
            .fold((f64::MAX, f64::MIN), |a, p| (a.0.min(p.1), a.1.max(p.1)));
        // The boundary fills the map one way or the other (680 x 480 drawing area).
        assert!(x1 - x0 > 400.0 || y1 - y0 > 400.0, "{x0} {x1} {y0} {y1}");
        assert!(x0 >= 0.0 && x1 <= 680.0 && y0 >= 0.0 && y1 <= 480.0);
    }

    #[test]
    fn escape_covers_the_five() {
        assert_eq!(
            html::escape("<a href='x'>\"&\"</a>"),
            "&lt;a href=&#39;x&#39;&gt;&quot;&amp;&quot;&lt;/a&gt;"
        );
    }

    #[test]
    fn html_without_anything_still_renders() {
        let mut input = sample::input();
        input.days.clear();
        input.observations.clear();
        input.coverage.clear();
        input.baseline = None;
        let r = patrol_core::metrics::build_report(&input);
        let h = render(&r, Format::Html);
        assert!(h.contains("n/a"));
        assert!(!h.contains("NaN") && !h.contains("inf"));
        let t = render(&r, Format::Text);
        assert!(t.contains("Threats per 100 km        n/a"), "{t}");
    }
}
