//! Small exact statistics for the report: the regularised incomplete beta
//! function, its inverse, Clopper-Pearson intervals, and the exact conditional
//! confidence interval of a ratio of two Poisson rates (see docs/METRICS.md).

/// `ln Γ(x)` for `x > 0` (Lanczos, g = 7, n = 9; relative error ~1e-15).
pub fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Γ(x) Γ(1-x) = π / sin(πx).
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).abs().ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = C[0];
    let t = x + G + 0.5;
    for (i, c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// The continued fraction of the incomplete beta function (Numerical Recipes
/// `betacf`, modified Lentz).
#[allow(clippy::many_single_char_names)] // the names of Numerical Recipes
fn beta_cf(a: f64, b: f64, x: f64) -> f64 {
    const MAX_ITER: u32 = 10_000;
    const EPS: f64 = 1e-16;
    const FPMIN: f64 = 1e-300;
    let qab = a + b;
    let qap = a + 1.0;
    let qam = a - 1.0;
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < FPMIN {
        d = FPMIN;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..=MAX_ITER {
        let m = f64::from(m);
        let m2 = 2.0 * m;
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        if d.abs() < FPMIN {
            d = FPMIN;
        }
        c = 1.0 + aa / c;
        if c.abs() < FPMIN {
            c = FPMIN;
        }
        d = 1.0 / d;
        h *= d * c;
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        if d.abs() < FPMIN {
            d = FPMIN;
        }
        c = 1.0 + aa / c;
        if c.abs() < FPMIN {
            c = FPMIN;
        }
        d = 1.0 / d;
        let del = d * c;
        h *= del;
        if (del - 1.0).abs() < EPS {
            break;
        }
    }
    h
}

/// The regularised incomplete beta function `I_x(a, b)`, `a, b > 0`,
/// `0 <= x <= 1`.
pub fn inc_beta(a: f64, b: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let ln_front = ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln();
    let front = ln_front.exp();
    // The continued fraction converges fast for x < (a+1)/(a+b+2); otherwise
    // use the symmetry I_x(a,b) = 1 - I_{1-x}(b,a).
    if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_cf(a, b, x) / a
    } else {
        1.0 - front * beta_cf(b, a, 1.0 - x) / b
    }
}

/// The `q` quantile of the Beta(a, b) distribution: the `x` with
/// `I_x(a, b) = q`, found by bisection (I is increasing in x).
pub fn beta_quantile(a: f64, b: f64, q: f64) -> f64 {
    if q <= 0.0 {
        return 0.0;
    }
    if q >= 1.0 {
        return 1.0;
    }
    let (mut lo, mut hi) = (0.0_f64, 1.0_f64);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        if inc_beta(a, b, mid) < q {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// The Clopper-Pearson ("exact") two-sided interval for a binomial
/// proportion: `x` successes in `n` trials, coverage `confidence` (e.g. 0.95).
/// Returns `(0, 1)` when `n = 0`.
pub fn clopper_pearson(x: u64, n: u64, confidence: f64) -> (f64, f64) {
    assert!(x <= n, "successes exceed trials");
    let alpha = 1.0 - confidence;
    let (xf, nf) = (x as f64, n as f64);
    let lo = if x == 0 {
        0.0
    } else {
        beta_quantile(xf, nf - xf + 1.0, alpha / 2.0)
    };
    let hi = if x == n {
        1.0
    } else {
        beta_quantile(xf + 1.0, nf - xf, 1.0 - alpha / 2.0)
    };
    (lo, hi)
}

/// The ratio of two Poisson rates, current / baseline, with its exact
/// conditional confidence interval.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateRatio {
    /// `(c1/e1) / (c0/e0)`; `None` when the baseline count is 0 (or both are).
    pub ratio: Option<f64>,
    /// Lower bound; 0 when `c1 = 0`; `None` when `c1 + c0 = 0`.
    pub low: Option<f64>,
    /// Upper bound; `None` (infinite) when `c0 = 0`.
    pub high: Option<f64>,
}

/// The rate ratio `(c1/e1) / (c0/e0)` of two Poisson counts `c1`, `c0` with
/// exposures `e1`, `e0`, and its exact conditional interval: given
/// `n = c1 + c0`, `c1 ~ Binomial(n, p)` with `p = e1 RR / (e1 RR + e0)`; the
/// Clopper-Pearson interval `(pL, pU)` for `p` maps to
/// `RR = p / (1 - p) * e0 / e1`.
///
/// `None` when either exposure is not positive (no comparison is possible).
pub fn poisson_rate_ratio(
    c1: u64,
    e1: f64,
    c0: u64,
    e0: f64,
    confidence: f64,
) -> Option<RateRatio> {
    if !(e1 > 0.0 && e0 > 0.0 && e1.is_finite() && e0.is_finite()) {
        return None;
    }
    let n = c1 + c0;
    if n == 0 {
        return Some(RateRatio {
            ratio: None,
            low: None,
            high: None,
        });
    }
    let (p_lo, p_hi) = clopper_pearson(c1, n, confidence);
    let to_rr = |p: f64| p / (1.0 - p) * e0 / e1;
    let ratio = (c0 > 0).then(|| (c1 as f64 / e1) / (c0 as f64 / e0));
    let low = if c1 == 0 { 0.0 } else { to_rr(p_lo) };
    let high = (c0 > 0).then(|| to_rr(p_hi));
    Some(RateRatio {
        ratio,
        low: Some(low),
        high,
    })
}

#[cfg(test)]
#[allow(clippy::float_cmp)] // exact values are meant: 0, 1, endpoints
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn ln_gamma_known_values() {
        assert!(close(ln_gamma(1.0), 0.0, 1e-13));
        assert!(close(ln_gamma(2.0), 0.0, 1e-13));
        assert!(close(ln_gamma(5.0), 24f64.ln(), 1e-12));
        assert!(close(
            ln_gamma(0.5),
            std::f64::consts::PI.sqrt().ln(),
            1e-12
        ));
        assert!(close(ln_gamma(101.0), 363.739_375_555_563_5, 1e-9));
    }

    #[test]
    fn incomplete_beta_known_values() {
        // I_0.5(2,3) = 11/16.
        assert!(close(inc_beta(2.0, 3.0, 0.5), 0.6875, 1e-12));
        // I_x(1,1) = x; I_x(a,1) = x^a; I_x(1,b) = 1-(1-x)^b.
        assert!(close(inc_beta(1.0, 1.0, 0.3), 0.3, 1e-12));
        assert!(close(inc_beta(3.0, 1.0, 0.7), 0.343, 1e-12));
        assert!(close(inc_beta(1.0, 4.0, 0.2), 1.0 - 0.8f64.powi(4), 1e-12));
        // Symmetry.
        assert!(close(
            inc_beta(2.5, 7.0, 0.3),
            1.0 - inc_beta(7.0, 2.5, 0.7),
            1e-12
        ));
        assert_eq!(inc_beta(2.0, 3.0, 0.0), 0.0);
        assert_eq!(inc_beta(2.0, 3.0, 1.0), 1.0);
    }

    #[test]
    fn beta_quantile_inverts() {
        for &(a, b, q) in &[(2.0, 3.0, 0.6875), (0.5, 0.5, 0.1), (50.0, 200.0, 0.975)] {
            let x = beta_quantile(a, b, q);
            assert!(close(inc_beta(a, b, x), q, 1e-12), "{a} {b} {q}");
        }
        assert!(close(beta_quantile(2.0, 3.0, 0.6875), 0.5, 1e-12));
    }

    #[test]
    fn clopper_pearson_known_values() {
        let (lo, hi) = clopper_pearson(5, 20, 0.95);
        assert!(close(lo, 0.0866, 5e-5), "{lo}");
        assert!(close(hi, 0.4910, 5e-5), "{hi}");
        // x = 0: upper bound 1 - (α/2)^(1/n).
        let (lo, hi) = clopper_pearson(0, 10, 0.95);
        assert_eq!(lo, 0.0);
        assert!(close(hi, 1.0 - 0.025f64.powf(0.1), 1e-12));
        let (lo, hi) = clopper_pearson(10, 10, 0.95);
        assert!(close(lo, 0.025f64.powf(0.1), 1e-12));
        assert_eq!(hi, 1.0);
    }

    #[test]
    fn rate_ratio_equal_exposures_is_symmetric() {
        // Equal exposure and equal counts: ratio 1, interval symmetric in logs.
        let r = poisson_rate_ratio(20, 100.0, 20, 100.0, 0.95).unwrap();
        assert_eq!(r.ratio, Some(1.0));
        let (lo, hi) = (r.low.unwrap(), r.high.unwrap());
        assert!(close(lo * hi, 1.0, 1e-9), "{lo} {hi}");
        assert!(lo < 1.0 && hi > 1.0);
    }

    #[test]
    fn rate_ratio_matches_binomial_mapping() {
        // c1 = 5 of n = 20 with e1 = e0: RR = p/(1-p).
        let r = poisson_rate_ratio(5, 50.0, 15, 50.0, 0.95).unwrap();
        assert!(close(r.ratio.unwrap(), 1.0 / 3.0, 1e-12));
        assert!(close(r.low.unwrap(), 0.0866 / (1.0 - 0.0866), 2e-4));
        assert!(close(r.high.unwrap(), 0.4910 / (1.0 - 0.4910), 2e-4));
        // Exposure scales the interval: twice the current km halves the RR.
        let s = poisson_rate_ratio(5, 100.0, 15, 50.0, 0.95).unwrap();
        assert!(close(s.low.unwrap(), r.low.unwrap() / 2.0, 1e-12));
        assert!(close(s.high.unwrap(), r.high.unwrap() / 2.0, 1e-12));
    }

    #[test]
    fn rate_ratio_zeros() {
        assert!(poisson_rate_ratio(3, 0.0, 3, 10.0, 0.95).is_none());
        assert!(poisson_rate_ratio(3, 10.0, 3, 0.0, 0.95).is_none());
        let none = poisson_rate_ratio(0, 10.0, 0, 10.0, 0.95).unwrap();
        assert_eq!((none.ratio, none.low, none.high), (None, None, None));
        let c1_zero = poisson_rate_ratio(0, 10.0, 8, 10.0, 0.95).unwrap();
        assert_eq!(c1_zero.ratio, Some(0.0));
        assert_eq!(c1_zero.low, Some(0.0));
        assert!(c1_zero.high.unwrap() < 1.0);
        let c0_zero = poisson_rate_ratio(4, 10.0, 0, 10.0, 0.95).unwrap();
        assert_eq!(c0_zero.ratio, None);
        assert_eq!(c0_zero.high, None);
        assert!(c0_zero.low.unwrap() > 0.0);
    }
}
