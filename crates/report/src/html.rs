//! One self-contained HTML file: inline CSS and hand-written SVG, no script,
//! no network, no external font; prints on A4.

use std::fmt::Write as _;

use patrol_core::metrics::{Breakdown, Effort, Encounters, Rates, Report};

use crate::num::{fixed, opt, pct};

/// The SVG namespace: the only URL in the file.
const SVG_NS: &str = "http://www.w3.org/2000/svg";

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

/// At most `max` characters of `s`, the last one an ellipsis when cut.
fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        s.chars()
            .take(max.saturating_sub(1))
            .chain(std::iter::once('\u{2026}'))
            .collect()
    }
}

/// A "nice" axis maximum: 1, 2 or 5 times a power of ten, at least `x`.
fn nice_max(x: f64) -> f64 {
    if x.is_nan() || x <= 0.0 || x.is_infinite() {
        return 1.0;
    }
    let p = 10f64.powf(x.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * p)
        .find(|&v| v >= x * (1.0 - 1e-12))
        .unwrap_or(10.0 * p)
}

/// A horizontal bar chart of (label, value).
fn bar_chart(title: &str, items: &[(String, f64)], decimals: usize) -> String {
    let (w, label_w, row_h, top) = (640.0, 150.0, 24.0, 26.0);
    let h = top + row_h * items.len().max(1) as f64 + 10.0;
    let max = nice_max(items.iter().map(|i| i.1).fold(0.0, f64::max));
    let bar_w = w - label_w - 70.0;
    let mut s = format!(
        "<svg xmlns=\"{SVG_NS}\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\" aria-label=\"{t}\"><title>{t}</title>\
         <text x=\"0\" y=\"15\" style=\"font-weight:600;font-size:13px\">{t}</text>",
        t = escape(title)
    );
    if items.is_empty() {
        let _ = write!(
            s,
            "<text x=\"0\" y=\"{}\">nothing to show</text>",
            top + 14.0
        );
    }
    for (i, (label, v)) in items.iter().enumerate() {
        let y = top + row_h * i as f64;
        let len = if max > 0.0 {
            (v / max * bar_w).max(0.0)
        } else {
            0.0
        };
        let _ = write!(
            s,
            "<text x=\"{lx}\" y=\"{ty}\" text-anchor=\"end\">{short}{tip}</text>\
             <rect x=\"{label_w}\" y=\"{ry}\" width=\"{len:.1}\" height=\"{bh}\" fill=\"#2e6b3a\"/>\
             <text x=\"{vx:.1}\" y=\"{ty}\">{val}</text>",
            lx = label_w - 6.0,
            ty = y + 15.0,
            short = escape(&shorten(label, 22)),
            tip = if label.chars().count() > 22 {
                format!("<title>{}</title>", escape(label))
            } else {
                String::new()
            },
            ry = y + 4.0,
            bh = row_h - 8.0,
            vx = label_w + len + 4.0,
            val = escape(&fixed(*v, decimals)),
        );
    }
    s.push_str("</svg>\n");
    s
}

/// A monthly line chart of threats per 100 km with the baseline's rate as a
/// dashed reference line.
#[allow(clippy::many_single_char_names)] // chart geometry: x, y, w, h
fn trend_chart(months: &[(String, Option<f64>)], baseline: Option<f64>) -> String {
    let (w, h) = (640.0, 240.0);
    let (left, right, top, bottom) = (48.0, 16.0, 28.0, 40.0);
    let pw = w - left - right;
    let ph = h - top - bottom;
    let max = nice_max(
        months
            .iter()
            .filter_map(|m| m.1)
            .chain(baseline)
            .fold(0.0, f64::max),
    );
    let n = months.len().max(1);
    let x = |i: usize| {
        if n == 1 {
            left + pw / 2.0
        } else {
            left + pw * i as f64 / (n - 1) as f64
        }
    };
    let y = |v: f64| top + ph - v / max * ph;
    let title = "Threats per 100 km by month";
    let mut s = format!(
        "<svg xmlns=\"{SVG_NS}\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\" aria-label=\"{title}\"><title>{title}</title>\
         <text x=\"0\" y=\"15\" style=\"font-weight:600;font-size:13px\">{title}</text>"
    );
    // 1 and 5 divide in fifths, 2 in quarters: round tick values.
    let lead = (max / 10f64.powf(max.log10().floor())).round();
    let divs = if (lead - 2.0).abs() < 0.5 { 4 } else { 5 };
    for k in 0..=divs {
        let v = max * f64::from(k) / f64::from(divs);
        let _ = write!(
            s,
            "<line x1=\"{left}\" x2=\"{x2}\" y1=\"{yy:.1}\" y2=\"{yy:.1}\" stroke=\"#ddd\"/>\
             <text x=\"{tx}\" y=\"{ty:.1}\" text-anchor=\"end\">{label}</text>",
            x2 = w - right,
            yy = y(v),
            tx = left - 4.0,
            ty = y(v) + 4.0,
            label = escape(&fixed(v, if max < 1.0 { 2 } else { 1 })),
        );
    }
    // Label every month while they fit, else every k-th (always the last).
    let step = n.div_ceil(8);
    for (i, (label, _)) in months.iter().enumerate() {
        let last = i == n - 1;
        let too_close_to_last = !last && n - 1 - i < step;
        if !last && (i % step != 0 || too_close_to_last) {
            continue;
        }
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"{}\">{}</text>",
            x(i),
            h - bottom + 16.0,
            if n > 1 && i == 0 {
                "start"
            } else if n > 1 && i == n - 1 {
                "end"
            } else {
                "middle"
            },
            escape(label)
        );
    }
    if let Some(b) = baseline {
        let _ = write!(
            s,
            "<line x1=\"{left}\" x2=\"{x2}\" y1=\"{yy:.1}\" y2=\"{yy:.1}\" stroke=\"#b5651d\" stroke-width=\"1.5\" stroke-dasharray=\"6 4\"/>\
             <text x=\"{x2}\" y=\"{ty:.1}\" text-anchor=\"end\" style=\"fill:#b5651d\">baseline {val}</text>",
            x2 = w - right,
            yy = y(b),
            ty = y(b) - 4.0,
            val = escape(&fixed(b, 2)),
        );
    }
    // Months without km have no rate: the line breaks there.
    let mut run: Vec<String> = Vec::new();
    let flush = |s: &mut String, run: &mut Vec<String>| {
        if run.len() > 1 {
            let _ = write!(
                s,
                "<polyline points=\"{}\" fill=\"none\" stroke=\"#2e6b3a\" stroke-width=\"2\"/>",
                run.join(" ")
            );
        }
        run.clear();
    };
    for (i, (_, v)) in months.iter().enumerate() {
        match v {
            Some(v) => run.push(format!("{:.1},{:.1}", x(i), y(*v))),
            None => flush(&mut s, &mut run),
        }
    }
    flush(&mut s, &mut run);
    for (i, (label, v)) in months.iter().enumerate() {
        if let Some(v) = v {
            let _ = write!(
                s,
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"#2e6b3a\"><title>{}: {}</title></circle>",
                x(i),
                y(*v),
                escape(label),
                escape(&fixed(*v, 2))
            );
        }
    }
    let _ = writeln!(
        s,
        "<text x=\"{left}\" y=\"{}\" style=\"fill:#555\">Months without patrol km have no rate (gap).</text></svg>",
        h - 6.0
    );
    s
}

/// The map: equirectangular, x scaled by cos(latitude) at the centre. It is
/// framed on the boundary when there is one (what lies outside is cut at the
/// frame's edge), else on everything drawn; longitudes are taken around the
/// frame's centre, so a park across 180° is drawn whole.
#[allow(clippy::many_single_char_names)] // chart geometry: x, y, w, h
fn map_svg(r: &Report) -> Option<String> {
    let m = &r.map;
    let cells = r
        .coverage
        .as_ref()
        .map(|c| c.cells.as_slice())
        .unwrap_or_default();
    let finite = |p: &(f64, f64)| p.0.is_finite() && p.1.is_finite();
    let everything: Vec<(f64, f64)> = m
        .lines
        .iter()
        .flatten()
        .copied()
        .chain(m.boundary.iter().flatten().copied())
        .chain(m.threats.iter().map(|t| (t.lon, t.lat)))
        .chain(cells.iter().flat_map(|c| c.corners.iter().copied()))
        .filter(finite)
        .collect();
    let boundary: Vec<(f64, f64)> = m
        .boundary
        .iter()
        .flatten()
        .copied()
        .filter(finite)
        .collect();
    let frame = if boundary.is_empty() {
        &everything
    } else {
        &boundary
    };
    if frame.is_empty() {
        return None;
    }
    // Longitudes around the frame's circular mean.
    let (sin, cos) = frame.iter().fold((0.0, 0.0), |(s, c), p| {
        (s + p.0.to_radians().sin(), c + p.0.to_radians().cos())
    });
    let mean = f64::atan2(sin, cos).to_degrees();
    let unwrap = |lon: f64| mean + (lon - mean + 180.0).rem_euclid(360.0) - 180.0;
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(lon, lat) in frame {
        let lon = unwrap(lon);
        x0 = x0.min(lon);
        x1 = x1.max(lon);
        y0 = y0.min(lat);
        y1 = y1.max(lat);
    }
    let k = f64::midpoint(y0, y1).to_radians().cos().max(0.01);
    let lon_c = f64::midpoint(x0, x1);
    let lat_c = f64::midpoint(y0, y1);
    let span_x = ((x1 - x0) * k).max(1e-6);
    let span_y = (y1 - y0).max(1e-6);
    let (w, h, pad) = (680.0, 520.0, 12.0);
    let scale = ((w - 2.0 * pad) / span_x).min((h - 40.0 - 2.0 * pad) / span_y);
    let px = |lon: f64| w / 2.0 + (unwrap(lon) - lon_c) * k * scale;
    let py = |lat: f64| (h - 40.0) / 2.0 - (lat - lat_c) * scale;
    let outside = everything.iter().any(|&(lon, lat)| {
        let (x, y) = (px(lon), py(lat));
        !(0.0..=w).contains(&x) || !(0.0..=h - 40.0).contains(&y)
    });
    let path = |ring: &[(f64, f64)]| -> String {
        let mut d = String::new();
        for (i, (lon, lat)) in ring.iter().enumerate() {
            let _ = write!(
                d,
                "{}{:.1},{:.1}",
                if i == 0 { "M" } else { "L" },
                px(*lon),
                py(*lat)
            );
        }
        d.push('Z');
        d
    };
    let mut s = format!(
        "<svg xmlns=\"{SVG_NS}\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\" aria-label=\"Map\"><title>Map of patrol tracks and threats</title>\
         <rect x=\"0\" y=\"0\" width=\"{w}\" height=\"{hh}\" fill=\"#fbfbf8\" stroke=\"#ccc\"/>\
         <svg x=\"0\" y=\"0\" width=\"{w}\" height=\"{hh}\" viewBox=\"0 0 {w} {hh}\">",
        hh = h - 40.0
    );
    let max_km = cells.iter().map(|c| c.km).fold(0.0, f64::max);
    for c in cells {
        if c.corners.len() < 3 {
            continue;
        }
        let (fill, opacity) = if c.km > 0.0 && max_km > 0.0 {
            ("#2e6b3a", 0.15 + 0.65 * (c.km / max_km).sqrt())
        } else {
            ("#ffffff", 0.0)
        };
        let stroke = if c.in_park { "#c8c8c8" } else { "#e6d3c0" };
        let _ = write!(
            s,
            "<path d=\"{}\" fill=\"{fill}\" fill-opacity=\"{opacity:.2}\" stroke=\"{stroke}\" stroke-width=\"0.5\"><title>cell {} {}: {} km, {} threats</title></path>",
            path(&c.corners),
            c.ix,
            c.iy,
            fixed(c.km, 2),
            c.threats
        );
    }
    if !m.boundary.is_empty() {
        let d: String = m.boundary.iter().map(|r| path(r)).collect();
        let _ = write!(
            s,
            "<path d=\"{d}\" fill=\"none\" stroke=\"#333\" stroke-width=\"1.5\" fill-rule=\"evenodd\"/>"
        );
    }
    for line in &m.lines {
        let p: Vec<String> = line
            .iter()
            .map(|(lon, lat)| format!("{:.1},{:.1}", px(*lon), py(*lat)))
            .collect();
        let _ = write!(
            s,
            "<polyline points=\"{}\" fill=\"none\" stroke=\"#1f4e9c\" stroke-width=\"1.2\" stroke-opacity=\"0.8\"/>",
            p.join(" ")
        );
    }
    for t in &m.threats {
        let _ = write!(
            s,
            "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3.5\" fill=\"#c0392b\" stroke=\"#fff\" stroke-width=\"0.8\"><title>{}</title></circle>",
            px(t.lon),
            py(t.lat),
            escape(r.category_label(&t.category))
        );
    }
    // The drawing area ends here: what lies outside the frame is cut.
    s.push_str("</svg>");
    // Scale bar: a round number of km near a fifth of the width.
    let km_per_px = 111.32 / scale; // one degree of latitude is about 111.32 km
    let target = km_per_px * w / 5.0;
    let bar_km = nice_max(target / 2.0).min(target).max(target / 5.0);
    let bar_px = bar_km / km_per_px;
    let _ = write!(
        s,
        "<line x1=\"10\" x2=\"{x2:.1}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#333\" stroke-width=\"3\"/>\
         <text x=\"10\" y=\"{ty:.1}\">{label} km (approx.)</text>\
         <circle cx=\"{lx}\" cy=\"{cy}\" r=\"3.5\" fill=\"#c0392b\"/><text x=\"{ltx}\" y=\"{lty}\">threat</text>\
         <line x1=\"{l2}\" x2=\"{l2e}\" y1=\"{cy}\" y2=\"{cy}\" stroke=\"#1f4e9c\" stroke-width=\"2\"/><text x=\"{l2t}\" y=\"{lty}\">track</text>",
        x2 = 10.0 + bar_px,
        y = h - 30.0,
        ty = h - 14.0,
        label = escape(&fixed(bar_km, usize::from(bar_km < 1.0))),
        lx = w - 200.0,
        cy = h - 22.0,
        ltx = w - 192.0,
        lty = h - 18.0,
        l2 = w - 140.0,
        l2e = w - 120.0,
        l2t = w - 115.0,
    );
    if r.coverage.is_some() {
        let _ = write!(
            s,
            "<rect x=\"{}\" y=\"{}\" width=\"12\" height=\"10\" fill=\"#2e6b3a\" fill-opacity=\"0.6\"/><text x=\"{}\" y=\"{}\">km in cell</text>",
            w - 80.0,
            h - 27.0,
            w - 64.0,
            h - 18.0
        );
    }
    s.push_str("</svg>\n");
    if !m.threats.is_empty() {
        // The legend of the threats: each category's label and count.
        let mut counts: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
        for t in &m.threats {
            *counts.entry(r.category_label(&t.category)).or_default() += 1;
        }
        let items: Vec<String> = counts
            .iter()
            .map(|(label, n)| format!("{} ({n})", escape(label)))
            .collect();
        let _ = writeln!(
            s,
            "<p class=\"foot\">Threats on the map: {}.</p>",
            items.join(", ")
        );
    }
    if outside && !boundary.is_empty() {
        s.push_str("<p class=\"foot\">The map is framed on the park boundary; track, cells or threats outside it are cut at the edge.</p>\n");
    }
    Some(s)
}

/// The report as one HTML document.
pub fn render(r: &Report) -> String {
    let mut o = String::new();
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

    o.push_str("<section><div class=\"cards\">");
    card(&mut o, &fixed(r.effort.km, 1), "km patrolled");
    card(&mut o, &fixed(r.effort.hours, 1), "hours");
    card(&mut o, &r.effort.patrols.to_string(), "patrols");
    card(&mut o, &r.effort.patrol_days.to_string(), "patrol-days");
    card(&mut o, &r.effort.person_days.to_string(), "person-days");
    card(&mut o, &r.encounters.threats.to_string(), "threats");
    card(
        &mut o,
        &opt(r.rates.threats_per_100km, 2, "n/a"),
        "threats per 100 km",
    );
    if let Some(c) = &r.coverage {
        card(&mut o, &pct(c.fraction), "of the park's cells patrolled");
    }
    o.push_str("</div></section>\n");

    if let Some(b) = &r.baseline {
        let _ = writeln!(o, "<p class=\"sentence\">{}</p>", escape(&b.sentence));
    }

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
            &mut o,
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
        table(&mut o, &["Figure", "Value"], &[false, true], &rows);
    }
    o.push_str("</section>\n");

    o.push_str("<section><h2>By transport</h2>\n");
    breakdown_table(&mut o, "Transport", &r.effort.by_transport);
    let items: Vec<(String, f64)> = r
        .effort
        .by_transport
        .iter()
        .map(|(k, b)| (k.clone(), b.km))
        .collect();
    o.push_str(&bar_chart("km by transport", &items, 1));
    o.push_str("<p class=\"foot\">A patrol with legs of two transports counts once in each, so the patrols need not add up; km and hours do.</p></section>\n");

    o.push_str("<section><h2>By team</h2>\n");
    breakdown_table(&mut o, "Team", &r.effort.by_team);
    o.push_str("</section>\n");

    o.push_str("<section><h2>By category</h2>\n");
    let rows = crate::rows::by_category(r);
    table(
        &mut o,
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

    if let Some(trend) = &r.trend {
        o.push_str("<section><h2>Monthly trend</h2>\n");
        let rows = crate::rows::trend(r);
        table(
            &mut o,
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

    if r.by_site.is_some() {
        o.push_str("<section><h2>By site</h2>\n");
        let rows = crate::rows::by_site(r);
        table(
            &mut o,
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
            table(&mut o, &["Figure", "Value"], &[false, true], &rows);
            if r.by_site.as_ref().is_some_and(|s| s.len() > 1) {
                o.push_str("<p class=\"foot\">The sum of each site's own grid; each site's coverage is under By site.</p>\n");
            }
        }
        if let Some(svg) = map {
            o.push_str(&svg);
        }
        o.push_str("</section>\n");
    }

    data_quality(&mut o, r);
    // The undated figures are in the data-quality section: their notes are not repeated.
    let undated = r.undated_notes();
    for note in r.notes.iter().filter(|n| !undated.contains(n)) {
        let _ = writeln!(o, "<p class=\"note\">{}</p>", escape(note));
    }
    o.push_str("<p class=\"foot\">Figures as defined in patrol's docs/METRICS.md. km are geodesic (WGS84), after quality control; hours are the time between consecutive fixes up to the pause limit, split at local midnight.</p>\n</body>\n</html>\n");
    o
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
