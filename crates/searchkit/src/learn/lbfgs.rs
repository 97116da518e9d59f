//! Box-constrained limited-memory BFGS for small smooth problems.
//!
//! A compact *projected* L-BFGS: the search direction is the usual two-loop
//! recursion restricted to the variables that are not held at a bound (a
//! variable is held when it sits on a bound and the gradient pushes it
//! outwards), and the line search backtracks along the projected path
//! `P(x + a d)` until the Armijo condition holds for the projected step. This
//! is simpler than L-BFGS-B's generalised Cauchy point, and plenty for the few
//! to few-dozen variables of GP hyperparameter fitting and acquisition
//! optimisation in a box. Stopping mirrors SciPy's `fmin_l_bfgs_b` knobs:
//! projected-gradient infinity norm (`pgtol`) and relative decrease (`ftol`).

use std::collections::VecDeque;

/// Settings for [`minimize_box`].
#[derive(Clone, Debug, PartialEq)]
pub struct LbfgsOptions {
    /// Iteration cap (one line search per iteration).
    pub max_iters: usize,
    /// Number of `(s, y)` pairs kept.
    pub memory: usize,
    /// Stop when `(f_k - f_{k+1}) / max(|f_k|, |f_{k+1}|, 1) <= ftol`.
    pub ftol: f64,
    /// Stop when `max_i |P(x - g)_i - x_i| <= pgtol`.
    pub pgtol: f64,
    /// Largest coordinate move of the first (steepest-descent) step, before
    /// curvature information exists to scale it.
    pub initial_step: f64,
}

impl Default for LbfgsOptions {
    /// 200 iterations, memory 10, `ftol = 1e7 * eps` and `pgtol = 1e-5`
    /// (SciPy's defaults), first step at most 1 per coordinate.
    fn default() -> Self {
        Self {
            max_iters: 200,
            memory: 10,
            ftol: 1e7 * f64::EPSILON,
            pgtol: 1e-5,
            initial_step: 1.0,
        }
    }
}

/// Outcome of [`minimize_box`].
#[derive(Clone, Debug, PartialEq)]
pub struct LbfgsResult {
    /// Best point found (always inside the box).
    pub x: Vec<f64>,
    /// Objective at `x`.
    pub f: f64,
    /// Iterations taken.
    pub iters: usize,
    /// Objective evaluations.
    pub evals: usize,
    /// Whether a tolerance (rather than the iteration cap or a failed line
    /// search) ended the run.
    pub converged: bool,
}

fn project(x: &mut [f64], lower: &[f64], upper: &[f64]) {
    for ((v, l), u) in x.iter_mut().zip(lower).zip(upper) {
        *v = v.clamp(*l, *u);
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Minimise `f` over the box `[lower, upper]` from `x0` (projected into it).
///
/// `f(x, grad)` returns the objective and writes its gradient into `grad`. A
/// non-finite objective is treated as "outside the domain": the line search
/// backs off from it. Deterministic: no randomness, fixed operation order.
pub fn minimize_box<F>(
    mut f: F,
    x0: &[f64],
    lower: &[f64],
    upper: &[f64],
    opts: &LbfgsOptions,
) -> LbfgsResult
where
    F: FnMut(&[f64], &mut [f64]) -> f64,
{
    let n = x0.len();
    assert!(
        lower.len() == n && upper.len() == n,
        "minimize_box: bounds differ in length from x0"
    );
    assert!(
        lower.iter().zip(upper).all(|(l, u)| l <= u),
        "minimize_box: lower > upper"
    );
    let mut x = x0.to_vec();
    project(&mut x, lower, upper);
    let mut g = vec![0.0; n];
    let mut fx = f(&x, &mut g);
    let mut evals = 1;
    let result = |x: Vec<f64>, f: f64, iters, evals, converged| LbfgsResult {
        x,
        f,
        iters,
        evals,
        converged,
    };
    if !fx.is_finite() || g.iter().any(|v| !v.is_finite()) {
        return result(x, fx, 0, evals, false);
    }

    let mut hist: VecDeque<(Vec<f64>, Vec<f64>, f64)> = VecDeque::new();
    let mut xn = vec![0.0; n];
    let mut gn = vec![0.0; n];
    let mut converged = false;
    let mut iters = 0;
    while iters < opts.max_iters {
        // Projected gradient: the KKT residual of the box problem.
        let pg = (0..n)
            .map(|i| ((x[i] - g[i]).clamp(lower[i], upper[i]) - x[i]).abs())
            .fold(0.0, f64::max);
        if pg <= opts.pgtol {
            converged = true;
            break;
        }
        iters += 1;
        // Variables held at a bound take no part in this step.
        let free: Vec<bool> = (0..n)
            .map(|i| !((x[i] <= lower[i] && g[i] > 0.0) || (x[i] >= upper[i] && g[i] < 0.0)))
            .collect();
        let masked = |v: &mut [f64]| {
            for (e, &fr) in v.iter_mut().zip(&free) {
                if !fr {
                    *e = 0.0;
                }
            }
        };

        let mut d = g.clone();
        masked(&mut d);
        if !hist.is_empty() {
            // Two-loop recursion: d = H g with H the L-BFGS inverse Hessian.
            let mut a = vec![0.0; hist.len()];
            for (k, (s, y, rho)) in hist.iter().enumerate().rev() {
                a[k] = rho * dot(s, &d);
                for (di, yi) in d.iter_mut().zip(y) {
                    *di -= a[k] * yi;
                }
            }
            let (s, y, _) = hist.back().expect("non-empty");
            let gamma = dot(s, y) / dot(y, y);
            for di in d.iter_mut() {
                *di *= gamma;
            }
            for (k, (s, y, rho)) in hist.iter().enumerate() {
                let b = rho * dot(y, &d);
                for (di, si) in d.iter_mut().zip(s) {
                    *di += (a[k] - b) * si;
                }
            }
            masked(&mut d);
        }
        for di in d.iter_mut() {
            *di = -*di;
        }
        if hist.is_empty() || dot(&g, &d) >= 0.0 {
            // No curvature yet (or it went bad): steepest descent, capped.
            hist.clear();
            d = g.iter().map(|v| -v).collect();
            masked(&mut d);
            let big = d.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            if big > opts.initial_step {
                let scale = opts.initial_step / big;
                d.iter_mut().for_each(|v| *v *= scale);
            }
        }

        // Projected backtracking (Armijo on the projected step).
        let mut alpha = 1.0;
        let mut accepted = None;
        for _ in 0..40 {
            for i in 0..n {
                xn[i] = (x[i] + alpha * d[i]).clamp(lower[i], upper[i]);
            }
            let decrease: f64 = (0..n).map(|i| g[i] * (xn[i] - x[i])).sum();
            if decrease == 0.0 && xn == x {
                break;
            }
            let fnew = f(&xn, &mut gn);
            evals += 1;
            if fnew.is_finite() && gn.iter().all(|v| v.is_finite()) && fnew <= fx + 1e-4 * decrease
            {
                accepted = Some(fnew);
                break;
            }
            // Safeguarded quadratic interpolation of f along the step.
            let slope = decrease / alpha;
            alpha = if fnew.is_finite() {
                let denom = 2.0 * (fnew - fx - slope * alpha);
                let a_q = if denom > 0.0 {
                    -slope * alpha * alpha / denom
                } else {
                    0.5 * alpha
                };
                a_q.clamp(0.1 * alpha, 0.5 * alpha)
            } else {
                0.25 * alpha
            };
        }
        let Some(fnew) = accepted else {
            if hist.is_empty() {
                break; // even steepest descent cannot make progress
            }
            hist.clear();
            continue;
        };

        let s: Vec<f64> = (0..n).map(|i| xn[i] - x[i]).collect();
        let y: Vec<f64> = (0..n).map(|i| gn[i] - g[i]).collect();
        let sy = dot(&s, &y);
        // Keep the pair only under positive curvature, so H stays positive
        // definite.
        if sy > 1e-10 * dot(&y, &y) && sy > 0.0 {
            if hist.len() == opts.memory.max(1) {
                hist.pop_front();
            }
            hist.push_back((s, y, 1.0 / sy));
        }
        let rel = (fx - fnew) / fx.abs().max(fnew.abs()).max(1.0);
        std::mem::swap(&mut x, &mut xn);
        std::mem::swap(&mut g, &mut gn);
        fx = fnew;
        if rel <= opts.ftol {
            converged = true;
            break;
        }
    }
    result(x, fx, iters, evals, converged)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rosenbrock(x: &[f64], g: &mut [f64]) -> f64 {
        let (a, b) = (x[0], x[1]);
        g[0] = -2.0 * (1.0 - a) - 400.0 * a * (b - a * a);
        g[1] = 200.0 * (b - a * a);
        (1.0 - a).powi(2) + 100.0 * (b - a * a).powi(2)
    }

    #[test]
    fn lbfgs_unconstrained_rosenbrock() {
        let opts = LbfgsOptions {
            max_iters: 500,
            pgtol: 1e-8,
            ftol: 0.0,
            ..LbfgsOptions::default()
        };
        let r = minimize_box(rosenbrock, &[-1.2, 1.0], &[-5.0; 2], &[5.0; 2], &opts);
        assert!(r.converged, "{r:?}");
        assert!(
            (r.x[0] - 1.0).abs() < 1e-5 && (r.x[1] - 1.0).abs() < 1e-5,
            "{r:?}"
        );
    }

    #[test]
    fn lbfgs_active_bound() {
        // Minimum of the unconstrained quadratic at (2, -3); box caps x0 <= 1
        // and x1 >= -1, so the answer is the corner (1, -1).
        let f = |x: &[f64], g: &mut [f64]| {
            g[0] = 2.0 * (x[0] - 2.0) + 0.5 * x[1];
            g[1] = 4.0 * (x[1] + 3.0) + 0.5 * x[0];
            (x[0] - 2.0).powi(2) + 2.0 * (x[1] + 3.0).powi(2) + 0.5 * x[0] * x[1]
        };
        let r = minimize_box(
            f,
            &[0.0, 0.0],
            &[-1.0, -1.0],
            &[1.0, 1.0],
            &LbfgsOptions::default(),
        );
        assert_eq!(r.x, vec![1.0, -1.0], "{r:?}");
        assert!(r.converged);
    }

    #[test]
    fn lbfgs_backs_off_non_finite() {
        // f = +inf for x < 0.5: the optimiser must stay in the finite region.
        let f = |x: &[f64], g: &mut [f64]| {
            if x[0] < 0.5 {
                return f64::INFINITY;
            }
            g[0] = 2.0 * x[0];
            x[0] * x[0]
        };
        let r = minimize_box(f, &[3.0], &[-10.0], &[10.0], &LbfgsOptions::default());
        assert!(r.x[0] >= 0.5 && r.x[0] < 0.6, "{r:?}");
    }
}
