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
    rate_sentence(
        "Threats per 100 km",
        current.encounters.threats,
        baseline.encounters.threats,
        baseline.effort.km,
        current.rates.threats_per_100km,
        rr,
    )
}

/// The comparison sentence of any count per 100 km (`head`, e.g. "Threats
/// per 100 km"): `c1` in the period at `rate1` per 100 km, `c0` in the
/// baseline over `base_km`, and their rate ratio `rr`.
pub(super) fn rate_sentence(
    head: &str,
    c1: u64,
    c0: u64,
    base_km: f64,
    rate1: Option<f64>,
    rr: Option<crate::stats::RateRatio>,
) -> String {
    let head = head.trim();
    let Some(rr) = rr else {
        let side = if base_km > 0.0 {
            "in the period"
        } else {
            "in the baseline"
        };
        return format!("{head}: no comparison (no km {side})");
    };
    if c1 == 0 && c0 == 0 {
        return format!("{head}: none in the baseline, none now");
    }
    if c0 == 0 {
        return format!("{head}: none in the baseline, {} now", fmt_rate(rate1));
    }
    let (Some(r), Some(lo), Some(hi)) = (rr.ratio, rr.low, rr.high) else {
        return format!("{head}: no comparison");
    };
    let pct = |x: f64| format!("{:.0}", x * 100.0);
    if hi < 1.0 {
        format!(
            "{head} down {} % from the baseline (95 % CI {}-{} %)",
            pct(1.0 - r),
            pct(1.0 - hi),
            pct(1.0 - lo)
        )
    } else if lo > 1.0 {
        format!(
            "{head} up {} % from the baseline (95 % CI {}-{} %)",
            pct(r - 1.0),
            pct(lo - 1.0),
            pct(hi - 1.0)
        )
    } else {
        format!("{head}: no clear change from the baseline (ratio {r:.2}, 95 % CI {lo:.2}-{hi:.2})")
    }
}
