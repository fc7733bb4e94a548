//! The sentence that compares threats per km with the baseline
//! (docs/METRICS.md, "Baseline").

use super::schema::Figures;

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
