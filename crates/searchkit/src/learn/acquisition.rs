//! Acquisition functions for Bayesian optimisation, and the standard normal
//! distribution they rest on.
//!
//! Everything here follows the workspace's **maximisation** convention:
//! expected improvement rewards posterior means *above* the incumbent, as in
//! BoTorch's `ExpectedImprovement(maximize=True)` and LA-MCTS's leaf BO.
//!
//! `erfc` uses W. J. Cody's rational Chebyshev approximations ("Rational
//! Chebyshev approximations for the error function", Math. Comp. 23 (1969)
//! 631–638; the coefficient sets of Netlib SPECFUN `calerf`), which are good to
//! about one ulp in double precision over the whole line, including the far
//! tails where `1 - erf` would lose every digit. The normal quantile is
//! P. J. Acklam's rational approximation (relative error 1.15e-9) polished by
//! one Halley step against [`normal_cdf`], which brings it to full precision.

// The published coefficient tables carry more digits than an f64 holds; keep
// them verbatim so they can be checked against the source.
#![allow(clippy::excessive_precision)]

const FRAC_1_SQRT_PI: f64 = 0.564_189_583_547_756_286_948_079_451_560_77;
const SQRT_2PI: f64 = 2.506_628_274_631_000_502_415_765_284_811;
const FRAC_1_SQRT_2PI: f64 = 0.398_942_280_401_432_677_939_946_059_934_38;

// Cody (1969): erf on |x| <= 0.46875.
const ERF_A: [f64; 5] = [
    3.16112374387056560e0,
    1.13864154151050156e2,
    3.77485237685302021e2,
    3.20937758913846947e3,
    1.85777706184603153e-1,
];
const ERF_B: [f64; 4] = [
    2.36012909523441209e1,
    2.44024637934444173e2,
    1.28261652607737228e3,
    2.84423683343917062e3,
];
// erfc(x) exp(x^2) on 0.46875 < x <= 4.
const ERFC_C: [f64; 9] = [
    5.64188496988670089e-1,
    8.88314979438837594e0,
    6.61191906371416295e1,
    2.98635138197400131e2,
    8.81952221241769090e2,
    1.71204761263407058e3,
    2.05107837782607147e3,
    1.23033935479799725e3,
    2.15311535474403846e-8,
];
const ERFC_D: [f64; 8] = [
    1.57449261107098347e1,
    1.17693950891312499e2,
    5.37181101862009858e2,
    1.62138957456669019e3,
    3.29079923573345963e3,
    4.36261909014324716e3,
    3.43936767414372164e3,
    1.23033935480374942e3,
];
// Asymptotic erfc(x) x exp(x^2) in 1/x^2 for x > 4.
const ERFC_P: [f64; 6] = [
    3.05326634961232344e-1,
    3.60344899949804439e-1,
    1.25781726111229246e-1,
    1.60837851487422766e-2,
    6.58749161529837803e-4,
    1.63153871373020978e-2,
];
const ERFC_Q: [f64; 5] = [
    2.56852019228982242e0,
    1.87295284992346047e0,
    5.27905102951428412e-1,
    6.05183413124413191e-2,
    2.33520497626869185e-3,
];

/// `exp(-y^2)` without the rounding error of squaring `y`: split `y` into a
/// 1/16-grid part (whose square is exact) and a small remainder.
fn exp_neg_sq(y: f64) -> f64 {
    let ysq = (16.0 * y).trunc() / 16.0;
    let del = (y - ysq) * (y + ysq);
    (-ysq * ysq).exp() * (-del).exp()
}

/// `erf(x)` for `|x| <= 0.46875` (the small-argument rational form).
fn erf_small(x: f64) -> f64 {
    let z = x * x;
    let mut num = ERF_A[4] * z;
    let mut den = z;
    for i in 0..3 {
        num = (num + ERF_A[i]) * z;
        den = (den + ERF_B[i]) * z;
    }
    x * (num + ERF_A[3]) / (den + ERF_B[3])
}

/// `erfc(y)` for `y > 0.46875`.
fn erfc_pos(y: f64) -> f64 {
    if y <= 4.0 {
        let mut num = ERFC_C[8] * y;
        let mut den = y;
        for i in 0..7 {
            num = (num + ERFC_C[i]) * y;
            den = (den + ERFC_D[i]) * y;
        }
        exp_neg_sq(y) * (num + ERFC_C[7]) / (den + ERFC_D[7])
    } else if y < 26.6 {
        let z = 1.0 / (y * y);
        let mut num = ERFC_P[5] * z;
        let mut den = z;
        for i in 0..4 {
            num = (num + ERFC_P[i]) * z;
            den = (den + ERFC_Q[i]) * z;
        }
        let r = z * (num + ERFC_P[4]) / (den + ERFC_Q[4]);
        exp_neg_sq(y) * (FRAC_1_SQRT_PI - r) / y
    } else {
        0.0 // below the smallest subnormal
    }
}

/// The error function.
pub fn erf(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    let y = x.abs();
    if y <= 0.46875 {
        erf_small(x)
    } else {
        (1.0 - erfc_pos(y)).copysign(x)
    }
}

/// The complementary error function `1 - erf(x)`, accurate to ~1e-15
/// relative everywhere it does not underflow (`x < 26.6`).
pub fn erfc(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    let y = x.abs();
    if y <= 0.46875 {
        1.0 - erf_small(x)
    } else if x > 0.0 {
        erfc_pos(y)
    } else {
        2.0 - erfc_pos(y)
    }
}

/// Standard normal density `phi(x)`.
pub fn normal_pdf(x: f64) -> f64 {
    FRAC_1_SQRT_2PI * (-0.5 * x * x).exp()
}

/// Standard normal distribution function `Phi(x) = erfc(-x / sqrt 2) / 2`,
/// with full relative precision in the lower tail (e.g. `Phi(-8) ~ 6.2e-16`).
pub fn normal_cdf(x: f64) -> f64 {
    0.5 * erfc(-x * std::f64::consts::FRAC_1_SQRT_2)
}

// Acklam's coefficients: central region and lower tail.
const ACK_A: [f64; 6] = [
    -3.969683028665376e1,
    2.209460984245205e2,
    -2.759285104469687e2,
    1.383577518672690e2,
    -3.066479806614716e1,
    2.506628277459239e0,
];
const ACK_B: [f64; 5] = [
    -5.447609879822406e1,
    1.615858368580409e2,
    -1.556989798598866e2,
    6.680131188771972e1,
    -1.328068155288572e1,
];
const ACK_C: [f64; 6] = [
    -7.784894002430293e-3,
    -3.223964580411365e-1,
    -2.400758277161838e0,
    -2.549732539343734e0,
    4.374664141464968e0,
    2.938163982698783e0,
];
const ACK_D: [f64; 4] = [
    7.784695709041462e-3,
    3.224671290700398e-1,
    2.445134137142996e0,
    3.754408661907416e0,
];

/// Acklam's approximation for `0 < p <= 0.5` (lower half only).
fn acklam_lower(p: f64) -> f64 {
    if p < 0.02425 {
        let q = (-2.0 * p.ln()).sqrt();
        (((((ACK_C[0] * q + ACK_C[1]) * q + ACK_C[2]) * q + ACK_C[3]) * q + ACK_C[4]) * q
            + ACK_C[5])
            / ((((ACK_D[0] * q + ACK_D[1]) * q + ACK_D[2]) * q + ACK_D[3]) * q + 1.0)
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((ACK_A[0] * r + ACK_A[1]) * r + ACK_A[2]) * r + ACK_A[3]) * r + ACK_A[4]) * r
            + ACK_A[5])
            * q
            / (((((ACK_B[0] * r + ACK_B[1]) * r + ACK_B[2]) * r + ACK_B[3]) * r + ACK_B[4]) * r
                + 1.0)
    }
}

/// Standard normal quantile `Phi^{-1}(p)`: `-inf` at 0, `+inf` at 1, NaN
/// outside `[0, 1]`.
pub fn normal_ppf(p: f64) -> f64 {
    if p.is_nan() || !(0.0..=1.0).contains(&p) {
        return f64::NAN;
    }
    if p == 0.0 {
        return f64::NEG_INFINITY;
    }
    if p == 1.0 {
        return f64::INFINITY;
    }
    if p > 0.5 {
        // 1 - p is exact here (Sterbenz), and the lower half keeps relative
        // precision in the tail.
        return -normal_ppf(1.0 - p);
    }
    let x = acklam_lower(p);
    // One Halley step on Phi(x) - p = 0 (cubic convergence: 1e-9 -> 1e-16).
    let e = normal_cdf(x) - p;
    let u = e * SQRT_2PI * (0.5 * x * x).exp();
    x - u / (1.0 + 0.5 * x * u)
}

/// Expected improvement over `best` for **maximisation**, given a Gaussian
/// posterior with `mean` and variance `var` (of the latent function):
/// `EI = (mean - best - xi) Phi(z) + sigma phi(z)`, `z = (mean - best - xi) / sigma`.
/// `xi >= 0` trades exploitation for exploration. With `var <= 0` it is the
/// plain improvement `max(mean - best - xi, 0)`.
pub fn expected_improvement(mean: f64, var: f64, best: f64, xi: f64) -> f64 {
    expected_improvement_with_grad(mean, var, best, xi).0
}

/// [`expected_improvement`] and its partial derivatives `(EI, dEI/dmean,
/// dEI/dvar)`: `dEI/dmean = Phi(z)` and `dEI/dvar = phi(z) / (2 sigma)`.
pub fn expected_improvement_with_grad(mean: f64, var: f64, best: f64, xi: f64) -> (f64, f64, f64) {
    let imp = mean - best - xi;
    if var <= 0.0 || !var.is_finite() {
        let d = if imp > 0.0 { 1.0 } else { 0.0 };
        return (imp.max(0.0), d, 0.0);
    }
    let sigma = var.sqrt();
    let z = imp / sigma;
    let (cdf, pdf) = (normal_cdf(z), normal_pdf(z));
    // Rounding can make the two terms cancel below zero for z << 0.
    let ei = (imp * cdf + sigma * pdf).max(0.0);
    (ei, cdf, pdf / (2.0 * sigma))
}

/// Upper confidence bound `mean + sqrt(beta * var)` (maximisation).
pub fn upper_confidence_bound(mean: f64, var: f64, beta: f64) -> f64 {
    mean + (beta * var.max(0.0)).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(a: f64, b: f64) -> f64 {
        if a == b {
            0.0
        } else {
            (a - b).abs() / b.abs()
        }
    }

    #[test]
    fn erfc_reference_values() {
        // Reference: Python `math.erfc` (C libm, < 1 ulp), e.g.
        // python3 -c 'import math; print(repr(math.erfc(0.3)))'
        let cases = [
            (0.0, 1.0),
            (0.3, 0.6713732405408726),
            (-0.3, 1.3286267594591274),
            (0.46875, 0.507386526782062),
            (0.5, 0.4795001221869535),
            (1.0, 0.15729920705028513),
            (2.0, 0.004677734981047265),
            (3.5, 7.430983723414128e-07),
            (4.0, 1.541725790028002e-08),
            (5.0, 1.5374597944280351e-12),
            (10.0, 2.088487583762545e-45),
            (20.0, 5.3958656116079005e-176),
            (26.0, 5.663192408856143e-296),
            (-2.0, 1.9953222650189528),
        ];
        for (x, want) in cases {
            let got = erfc(x);
            assert!(rel(got, want) < 1e-14, "erfc({x}) = {got:e}, want {want:e}");
        }
        assert!((erf(0.5) - 0.5204998778130465).abs() < 2e-16);
        assert!((erf(-1.0) + 0.8427007929497149).abs() < 2e-16);
        assert_eq!(erfc(30.0), 0.0);
        assert_eq!(erfc(-30.0), 2.0);
    }

    #[test]
    fn normal_cdf_known_values() {
        assert_eq!(normal_cdf(0.0), 0.5);
        assert!(rel(normal_cdf(-1.0), 0.15865525393145707) < 1e-15);
        assert!(rel(normal_cdf(-8.0), 6.22096057427178e-16) < 1e-13);
        assert!(rel(normal_cdf(1.959963984540054), 0.975) < 1e-15);
        assert!(rel(normal_cdf(-37.5), 4.605353009582584e-308) < 1e-12);
        assert!((normal_pdf(0.0) - 0.3989422804014327).abs() < 1e-16);
    }

    #[test]
    fn normal_ppf_known_values_and_round_trips() {
        assert!(rel(normal_ppf(0.975), 1.959963984540054) < 1e-15);
        assert!(rel(normal_ppf(0.025), -1.959963984540054) < 1e-15);
        assert_eq!(normal_ppf(0.5), 0.0);
        assert!(rel(normal_ppf(1e-10), -6.361340902404056) < 1e-14);
        assert_eq!(normal_ppf(0.0), f64::NEG_INFINITY);
        assert_eq!(normal_ppf(1.0), f64::INFINITY);
        assert!(normal_ppf(1.5).is_nan());
        for i in 0..=160 {
            let x = -8.0 + 0.1 * f64::from(i);
            let back = normal_ppf(normal_cdf(x));
            // Above 0 the cdf is rounded near 1, so its inverse is only as good
            // as that rounding allows: eps / phi(x) absolute.
            let tol = if x <= 0.0 {
                1e-13 * x.abs().max(1.0)
            } else {
                4.0 * f64::EPSILON / normal_pdf(x) + 1e-13
            };
            assert!((back - x).abs() <= tol, "x={x} back={back}");
        }
        for p in [1e-300, 1e-50, 1e-20, 0.001, 0.02424, 0.02426, 0.3, 0.49] {
            let x = normal_ppf(p);
            assert!(rel(normal_cdf(x), p) < 1e-13, "p={p}");
        }
    }

    #[test]
    fn expected_improvement_known_value() {
        // mean 1, var 4 (sigma 2), best 0.5, xi 0.1: z = 0.2,
        // EI = 0.4 Phi(0.2) + 2 phi(0.2) = 1.0137892717265529
        // python3 -c 'import math; z=0.2; P=0.5*math.erfc(-z/2**.5);
        //   p=math.exp(-z*z/2)/math.sqrt(2*math.pi); print(repr(0.4*P+2*p))'
        let (ei, dm, dv) = expected_improvement_with_grad(1.0, 4.0, 0.5, 0.1);
        assert!(rel(ei, 1.0137892717265529) < 1e-14, "{ei}");
        let h = 1e-6;
        let fd_m = (expected_improvement(1.0 + h, 4.0, 0.5, 0.1)
            - expected_improvement(1.0 - h, 4.0, 0.5, 0.1))
            / (2.0 * h);
        let fd_v = (expected_improvement(1.0, 4.0 + h, 0.5, 0.1)
            - expected_improvement(1.0, 4.0 - h, 0.5, 0.1))
            / (2.0 * h);
        assert!(rel(dm, fd_m) < 1e-7 && rel(dv, fd_v) < 1e-7);
        assert_eq!(expected_improvement(2.0, 0.0, 1.0, 0.0), 1.0);
        assert_eq!(expected_improvement(0.0, 0.0, 1.0, 0.0), 0.0);
        assert!(expected_improvement(-40.0, 1.0, 0.0, 0.0) >= 0.0);
        assert_eq!(upper_confidence_bound(1.0, 4.0, 2.25), 4.0);
    }
}
