//! Multi-objective test problems of the LaMOO experiments (Zhao et al., ICLR
//! 2022): Branin-Currin, vehicle crash safety and DTLZ2, as BoTorch defines
//! them.
//!
//! Definitions, bounds, reference points and maximum hypervolumes follow
//! BoTorch's `botorch/test_functions/multi_objective.py` (the copy the LaMOO
//! authors vendor in aoiang/LaMOO, `LaMOO/botorch_lamcts/botorch/
//! test_functions/multi_objective.py`; Branin from `.../synthetic.py`). BoTorch
//! states them with every objective **minimised** (`negate=False`); the
//! authors instantiate them with `negate=True` and maximise
//! (`branincurrin/MCTS.py`: `BraninCurrin(negate=True)`,
//! `vehiclesafety/MCTS.py`: `VehicleSafety(negate=True)`), which negates the
//! reference point too. Here the raw values stay in minimisation form
//! ([`Sense::Minimize`] per objective), and [`Problem::reference_point`]
//! returns the negated reference, i.e. the maximisation form the optimisers
//! and [`crate::pareto::hypervolume`] see.
//!
//! | problem | box | objectives | reference (min. form) | max HV |
//! |---|---|---|---|---|
//! | [`BraninCurrin`] | `[0,1]^2` | 2 | (18, 6) | 59.36011874867746 (BoTorch: "approximated using NSGA-II") |
//! | [`VehicleSafety`] | `[1,3]^5` | 3 | (1864.72022, 11.81993945, 0.2903999384) | 246.81607081187002 (BoTorch, from Tanabe's approximate front) |
//! | [`Dtlz2`] | `[0,1]^d` | m | 1.1 per objective | `1.1^m - V_m / 2^m` (closed form) |
//!
//! The LaMOO repository instantiates DTLZ2 nowhere (only the vendored BoTorch
//! defines it), so [`Dtlz2`] has no default size: callers pick `dim` and
//! `num_objectives`.

use crate::problem::{Problem, Sense};
use crate::space::BoxSpace;
use std::f64::consts::PI;

/// Branin (rescaled to `[0,1]^2`) and Currin, both minimised.
///
/// Branin on `z = (15 x0 - 5, 15 x1)`:
/// `(z1 - 5.1 z0^2 / (4 pi^2) + 5 z0 / pi - 6)^2 + 10 (1 - 1/(8 pi)) cos z0 + 10`.
/// Currin: `(1 - exp(-1 / (2 x1))) (2300 x0^3 + 1900 x0^2 + 2092 x0 + 60) /
/// (100 x0^3 + 500 x0^2 + 4 x0 + 20)`; at `x1 = 0` the factor is 1
/// (`exp(-inf) = 0`), as in BoTorch.
#[derive(Clone, Debug)]
pub struct BraninCurrin {
    space: BoxSpace,
}

impl BraninCurrin {
    /// BoTorch's reference point, minimisation form.
    pub const REFERENCE_MIN: [f64; 2] = [18.0, 6.0];
    /// BoTorch's `_max_hv` (w.r.t. [`Self::REFERENCE_MIN`]).
    pub const MAX_HV: f64 = 59.36011874867746;

    pub fn new() -> Self {
        Self {
            space: BoxSpace::cube(2, 0.0, 1.0),
        }
    }

    /// The rescaled Branin objective.
    pub fn branin(x: &[f64]) -> f64 {
        let z0 = 15.0 * x[0] - 5.0;
        let z1 = 15.0 * x[1];
        let t1 = z1 - 5.1 / (4.0 * PI * PI) * z0 * z0 + 5.0 / PI * z0 - 6.0;
        let t2 = 10.0 * (1.0 - 1.0 / (8.0 * PI)) * z0.cos();
        t1 * t1 + t2 + 10.0
    }

    /// The Currin objective.
    pub fn currin(x: &[f64]) -> f64 {
        let (a, b) = (x[0], x[1]);
        let factor = 1.0 - (-1.0 / (2.0 * b)).exp();
        let numer = 2300.0 * a.powi(3) + 1900.0 * a * a + 2092.0 * a + 60.0;
        let denom = 100.0 * a.powi(3) + 500.0 * a * a + 4.0 * a + 20.0;
        factor * numer / denom
    }
}

impl Default for BraninCurrin {
    fn default() -> Self {
        Self::new()
    }
}

impl Problem for BraninCurrin {
    type Space = BoxSpace;
    fn name(&self) -> String {
        "branin-currin".into()
    }
    fn space(&self) -> &BoxSpace {
        &self.space
    }
    fn num_objectives(&self) -> usize {
        2
    }
    fn senses(&self) -> Vec<Sense> {
        vec![Sense::Minimize; 2]
    }
    fn evaluate(&self, x: &Vec<f64>) -> Vec<f64> {
        vec![Self::branin(x), Self::currin(x)]
    }
    fn reference_point(&self) -> Option<Vec<f64>> {
        Some(Self::REFERENCE_MIN.iter().map(|r| -r).collect())
    }
    fn max_hypervolume(&self) -> Option<f64> {
        Some(Self::MAX_HV)
    }
}

/// Vehicle crash-worthiness (Tanabe & Ishibuchi 2020, RE3-5-4 form in
/// BoTorch): mass, collision acceleration and toe-board intrusion, all
/// minimised, over five panel thicknesses in `[1, 3]`.
#[derive(Clone, Debug)]
pub struct VehicleSafety {
    space: BoxSpace,
}

impl VehicleSafety {
    /// BoTorch's reference point (1.1 x the nadir of Tanabe's approximate
    /// front), minimisation form.
    pub const REFERENCE_MIN: [f64; 3] = [1864.72022, 11.81993945, 0.2903999384];
    /// BoTorch's `_max_hv` (w.r.t. [`Self::REFERENCE_MIN`]).
    pub const MAX_HV: f64 = 246.81607081187002;

    pub fn new() -> Self {
        Self {
            space: BoxSpace::cube(5, 1.0, 3.0),
        }
    }
}

impl Default for VehicleSafety {
    fn default() -> Self {
        Self::new()
    }
}

impl Problem for VehicleSafety {
    type Space = BoxSpace;
    fn name(&self) -> String {
        "vehicle-safety".into()
    }
    fn space(&self) -> &BoxSpace {
        &self.space
    }
    fn num_objectives(&self) -> usize {
        3
    }
    fn senses(&self) -> Vec<Sense> {
        vec![Sense::Minimize; 3]
    }
    fn evaluate(&self, x: &Vec<f64>) -> Vec<f64> {
        let (x1, x2, x3, x4, x5) = (x[0], x[1], x[2], x[3], x[4]);
        let f1 = 1640.2823
            + 2.3573285 * x1
            + 2.3220035 * x2
            + 4.5688768 * x3
            + 7.7213633 * x4
            + 4.4559504 * x5;
        let f2 = 6.5856 + 1.15 * x1 - 1.0427 * x2 + 0.9738 * x3 + 0.8364 * x4 - 0.3695 * x1 * x4
            + 0.0861 * x1 * x5
            + 0.3628 * x2 * x4
            - 0.1106 * x1 * x1
            - 0.3437 * x3 * x3
            + 0.1764 * x4 * x4;
        let f3 = -0.0551 + 0.0181 * x1 + 0.1024 * x2 + 0.0421 * x3 - 0.0073 * x1 * x2
            + 0.024 * x2 * x3
            - 0.0118 * x2 * x4
            - 0.0204 * x3 * x4
            - 0.008 * x3 * x5
            - 0.0241 * x2 * x2
            + 0.0109 * x4 * x4;
        vec![f1, f2, f3]
    }
    fn reference_point(&self) -> Option<Vec<f64>> {
        Some(Self::REFERENCE_MIN.iter().map(|r| -r).collect())
    }
    fn max_hypervolume(&self) -> Option<f64> {
        Some(Self::MAX_HV)
    }
}

/// DTLZ2 (Deb, Thiele, Laumanns, Zitzler 2005) on `[0,1]^dim` with
/// `num_objectives = m` minimised objectives:
/// `f_i = (1 + g) prod_{j < m-1-i} cos(x_j pi/2) * (i > 0 ? sin(x_{m-1-i} pi/2) : 1)`,
/// `g = sum over the last k = dim - m + 1 coordinates of (x_j - 0.5)^2`.
/// The Pareto front is the positive orthant of the unit sphere (`g = 0`, i.e.
/// the last `k` coordinates at 0.5).
#[derive(Clone, Debug)]
pub struct Dtlz2 {
    pub dim: usize,
    pub num_objectives: usize,
    space: BoxSpace,
}

impl Dtlz2 {
    /// BoTorch's reference value per objective (minimisation form).
    pub const REFERENCE_VALUE: f64 = 1.1;

    /// Panics unless `dim > num_objectives >= 2` (BoTorch requires
    /// `dim > num_objectives`).
    pub fn new(dim: usize, num_objectives: usize) -> Self {
        assert!(num_objectives >= 2, "DTLZ2 needs at least 2 objectives");
        assert!(
            dim > num_objectives,
            "DTLZ2 needs dim > num_objectives, got {dim} and {num_objectives}"
        );
        Self {
            dim,
            num_objectives,
            space: BoxSpace::cube(dim, 0.0, 1.0),
        }
    }

    /// Maximum hypervolume in closed form: the reference cube `1.1^m` minus
    /// the positive orthant of the unit ball, `V_m / 2^m` with
    /// `V_m = pi^{m/2} / Gamma(m/2 + 1)`.
    pub fn exact_max_hypervolume(num_objectives: usize) -> f64 {
        let m = num_objectives;
        Self::REFERENCE_VALUE.powi(m as i32) - unit_ball_volume(m) / 2f64.powi(m as i32)
    }
}

/// Volume of the unit ball in R^m, via `V_m = 2 pi / m * V_{m-2}` from
/// `V_0 = 1`, `V_1 = 2` (avoids a Gamma function for half-integers).
fn unit_ball_volume(m: usize) -> f64 {
    let mut v = if m % 2 == 0 { 1.0 } else { 2.0 };
    let mut k = if m % 2 == 0 { 2 } else { 3 };
    while k <= m {
        v *= 2.0 * PI / k as f64;
        k += 2;
    }
    v
}

impl Problem for Dtlz2 {
    type Space = BoxSpace;
    fn name(&self) -> String {
        format!("dtlz2-{}d-{}obj", self.dim, self.num_objectives)
    }
    fn space(&self) -> &BoxSpace {
        &self.space
    }
    fn num_objectives(&self) -> usize {
        self.num_objectives
    }
    fn senses(&self) -> Vec<Sense> {
        vec![Sense::Minimize; self.num_objectives]
    }
    fn evaluate(&self, x: &Vec<f64>) -> Vec<f64> {
        let m = self.num_objectives;
        let k = self.dim - m + 1;
        let g: f64 = x[self.dim - k..].iter().map(|v| (v - 0.5).powi(2)).sum();
        let half_pi = PI / 2.0;
        (0..m)
            .map(|i| {
                let idx = m - 1 - i;
                let mut f = 1.0 + g;
                for xj in &x[..idx] {
                    f *= (xj * half_pi).cos();
                }
                if i > 0 {
                    f *= (x[idx] * half_pi).sin();
                }
                f
            })
            .collect()
    }
    fn reference_point(&self) -> Option<Vec<f64>> {
        Some(vec![-Self::REFERENCE_VALUE; self.num_objectives])
    }
    fn max_hypervolume(&self) -> Option<f64> {
        Some(Self::exact_max_hypervolume(self.num_objectives))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pareto::hypervolume;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * (1.0 + b.abs())
    }

    #[test]
    fn moo_branin_currin_values() {
        let p = BraninCurrin::new();
        // Hand-computed at (0.5, 0.5): Branin at z = (2.5, 7.5); Currin
        // (1 - e^-1) * 1868.5 / 159.5.
        let y = p.evaluate(&vec![0.5, 0.5]);
        assert!(close(y[0], 24.129964413622268, 1e-12), "{y:?}");
        assert!(close(y[1], 7.40512391329881, 1e-12), "{y:?}");
        // Branin's minimisers map to 0.397887; Currin at x1 = 0 is finite.
        let y = p.evaluate(&vec![(PI + 5.0) / 15.0, 2.275 / 15.0]);
        assert!(close(y[0], 0.397887, 1e-5), "{y:?}");
        assert!(p.evaluate(&vec![0.3, 0.0])[1].is_finite());
        assert_eq!(p.reference_point(), Some(vec![-18.0, -6.0]));
        assert_eq!(p.senses(), vec![Sense::Minimize; 2]);
        assert_eq!(p.oriented(&[1.0, 2.0]), vec![-1.0, -2.0]);
    }

    #[test]
    fn moo_vehicle_safety_values() {
        let p = VehicleSafety::new();
        let y = p.evaluate(&vec![1.0; 5]);
        // Sums of the coefficients (hand-computed).
        assert!(close(y[0], 1661.7078225, 1e-12), "{y:?}");
        assert!(close(y[1], 8.3046, 1e-12), "{y:?}");
        assert!(close(y[2], 0.0708, 1e-12), "{y:?}");
        let r = p.reference_point().unwrap();
        assert_eq!(r, vec![-1864.72022, -11.81993945, -0.2903999384]);
        // Every corner of the box is inside the reference box.
        for c in 0..32u32 {
            let x: Vec<f64> = (0..5)
                .map(|i| if c >> i & 1 == 1 { 3.0 } else { 1.0 })
                .collect();
            let y = p.oriented(&p.evaluate(&x));
            assert!(y.iter().zip(&r).all(|(a, b)| a > b), "{x:?} {y:?}");
        }
    }

    #[test]
    fn moo_dtlz2_pareto_points_on_sphere() {
        let p = Dtlz2::new(6, 3);
        let mut rng = crate::rng::Stream::root("dtlz2");
        for _ in 0..50 {
            let mut x: Vec<f64> = (0..6).map(|_| rng.uniform()).collect();
            for v in &mut x[2..] {
                *v = 0.5;
            }
            let f = p.evaluate(&x);
            let s: f64 = f.iter().map(|v| v * v).sum();
            assert!((s - 1.0).abs() < 1e-12, "{f:?}");
        }
        // Off the front, (1 + g)^2.
        let f = p.evaluate(&vec![0.3, 0.7, 0.0, 1.0, 0.5, 0.5]);
        let s: f64 = f.iter().map(|v| v * v).sum();
        assert!((s - 1.5f64.powi(2)).abs() < 1e-12);
        assert!(close(
            Dtlz2::exact_max_hypervolume(2),
            1.21 - PI / 4.0,
            1e-15
        ));
        assert!(close(
            Dtlz2::exact_max_hypervolume(3),
            1.331 - PI / 6.0,
            1e-15
        ));
        assert!(close(unit_ball_volume(5), 8.0 * PI * PI / 15.0, 1e-15));
    }

    /// Points of the Pareto front in maximisation form, from a grid of
    /// decision vectors with g = 0.
    fn dtlz2_front(p: &Dtlz2, per_axis: usize) -> Vec<Vec<f64>> {
        let m = p.num_objectives;
        let mut out = Vec::new();
        let total = per_axis.pow((m - 1) as u32);
        for code in 0..total {
            let mut x = vec![0.5; p.dim];
            let mut c = code;
            for xj in x.iter_mut().take(m - 1) {
                *xj = (c % per_axis) as f64 / (per_axis - 1) as f64;
                c /= per_axis;
            }
            out.push(p.oriented(&p.evaluate(&x)));
        }
        out
    }

    #[test]
    fn moo_dtlz2_front_hypervolume_approaches_max() {
        for (m, n, tol) in [(2, 4001, 1e-3), (3, 121, 1e-2)] {
            let p = Dtlz2::new(m + 4, m);
            let exact = p.max_hypervolume().unwrap();
            let r = p.reference_point().unwrap();
            let coarse = hypervolume(&dtlz2_front(&p, n / 4), &r);
            let fine = hypervolume(&dtlz2_front(&p, n), &r);
            assert!(coarse < fine && fine < exact, "{coarse} {fine} {exact}");
            assert!((exact - fine) / exact < tol, "m={m}: {fine} vs {exact}");
        }
    }

    #[test]
    fn moo_branin_currin_front_below_max_hv() {
        // Denser grids get closer to (and stay below) BoTorch's NSGA-II
        // estimate; the Pareto set is a curve, so a grid converges slowly
        // (Python check: 58.50 at 300^2 points, 59.28 at 2000^2).
        let p = BraninCurrin::new();
        let r = p.reference_point().unwrap();
        let grid_hv = |n: usize| {
            let pts: Vec<Vec<f64>> = (0..n * n)
                .map(|c| {
                    let x = vec![
                        (c / n) as f64 / (n - 1) as f64,
                        (c % n) as f64 / (n - 1) as f64,
                    ];
                    p.oriented(&p.evaluate(&x))
                })
                .collect();
            hypervolume(&pts, &r)
        };
        let (coarse, fine) = (grid_hv(150), grid_hv(600));
        let max = p.max_hypervolume().unwrap();
        assert!(coarse < fine && fine < max, "{coarse} {fine} {max}");
        assert!(fine > 0.99 * max, "{fine} vs {max}");
    }
}
