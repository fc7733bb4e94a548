//! The report's SVG drawings: bar charts, the monthly trend chart and the
//! map, hand-written, every text escaped.

use std::fmt::Write as _;

use patrol_core::metrics::Report;

use super::escape;
use crate::num::fixed;

/// The SVG namespace: the only URL in the file.
const SVG_NS: &str = "http://www.w3.org/2000/svg";

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
pub(super) fn bar_chart(title: &str, items: &[(String, f64)], decimals: usize) -> String {
    // 22 characters of label fit 180 px in the print fonts too.
    let (w, label_w, row_h, top) = (640.0, 180.0, 24.0, 26.0);
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
pub(super) fn trend_chart(months: &[(String, Option<f64>)], baseline: Option<f64>) -> String {
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
pub(super) fn map_svg(r: &Report) -> Option<String> {
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
