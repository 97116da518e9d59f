//! Ackley, Levy (standard and the LA-MCTS variant), Rosenbrock and Rastrigin,
//! minimised, for any dimension, with the LA-MCTS authors' default bounds.
//!
//! Where the bounds come from (facebookresearch/LaMCTS, HEAD 489bd60):
//! - Ackley `[-5, 10]^d`: `LA-MCTS/functions/functions.py` (also both
//!   `LA-MCTS-baselines/*/functions.py`); the TuRBO patch
//!   `LA-MCTS/revision.patch` uses `[-15, 30]^d` instead.
//! - Levy `[-10, 10]^d`: all of the above.
//! - Rosenbrock `[-10, 10]^d` and Rastrigin `[-5.12, 5.12]^d`: only in the
//!   `functions.py` that `LA-MCTS/revision.patch` adds to TuRBO.
//!
//! Every default box contains the global minimiser.

use crate::problem::{Problem, Sense};
use crate::space::BoxSpace;
use std::f64::consts::{E, PI};

/// Shared constructor checks and accessors of the four cube problems.
macro_rules! cube_problem {
    ($ty:ident, $name:literal, $lo:expr, $hi:expr, $min_dim:expr) => {
        impl $ty {
            /// The authors' default bounds `(lower, upper)` per coordinate.
            pub const LAMCTS_BOUNDS: (f64, f64) = ($lo, $hi);

            /// `d` dimensions on the authors' default box.
            pub fn new(d: usize) -> Self {
                Self::with_bounds(d, $lo, $hi)
            }

            /// `d` dimensions on the cube `[lower, upper]^d`.
            pub fn with_bounds(d: usize, lower: f64, upper: f64) -> Self {
                Self::with_space(BoxSpace::cube(d, lower, upper))
            }

            /// Any box (its length is the dimension).
            pub fn with_space(space: BoxSpace) -> Self {
                assert!(
                    space.lower.len() >= $min_dim,
                    concat!($name, " needs dimension >= {}"),
                    $min_dim
                );
                Self { space }
            }

            /// Number of coordinates.
            pub fn dim(&self) -> usize {
                self.space.lower.len()
            }
        }

        impl Problem for $ty {
            type Space = BoxSpace;
            fn name(&self) -> String {
                format!(concat!($name, "-{}"), self.dim())
            }
            fn space(&self) -> &BoxSpace {
                &self.space
            }
            fn senses(&self) -> Vec<Sense> {
                vec![Sense::Minimize]
            }
            fn evaluate(&self, x: &Vec<f64>) -> Vec<f64> {
                assert_eq!(x.len(), self.dim(), concat!($name, ": wrong dimension"));
                vec![self.value(x)]
            }
            fn optimum(&self) -> Option<f64> {
                Some(0.0)
            }
        }
    };
}

/// Ackley: `-a exp(-b sqrt(mean x_i^2)) - exp(mean cos(c x_i)) + a + e`
/// with a = 20, b = 0.2, c = 2 pi. Minimum 0 at the origin. Default box
/// `[-5, 10]^d` (LA-MCTS; asymmetric so the optimum is not at the centre).
#[derive(Clone, Debug)]
pub struct Ackley {
    space: BoxSpace,
}
cube_problem!(Ackley, "ackley", -5.0, 10.0, 1);

impl Ackley {
    /// The function value (no bounds check, like the authors' baselines).
    pub fn value(&self, x: &[f64]) -> f64 {
        let n = x.len() as f64;
        let sq = x.iter().map(|v| v * v).sum::<f64>() / n;
        let cs = x.iter().map(|v| (2.0 * PI * v).cos()).sum::<f64>() / n;
        -20.0 * (-0.2 * sq.sqrt()).exp() - cs.exp() + 20.0 + E
    }
    /// The global minimiser, the origin.
    pub fn argmin(&self) -> Vec<f64> {
        vec![0.0; self.dim()]
    }
}

/// `w_i = 1 + (x_i - 1) / 4`, the change of variable of both Levy forms.
fn levy_w(x: &[f64]) -> Vec<f64> {
    x.iter().map(|v| 1.0 + (v - 1.0) / 4.0).collect()
}

/// The Levy middle-sum term of one coordinate.
fn levy_mid(w: f64) -> f64 {
    (w - 1.0).powi(2) * (1.0 + 10.0 * (PI * w + 1.0).sin().powi(2))
}

/// The first and last terms, shared by both Levy forms.
fn levy_ends(w: &[f64]) -> f64 {
    let last = w[w.len() - 1];
    (PI * w[0]).sin().powi(2) + (last - 1.0).powi(2) * (1.0 + (2.0 * PI * last).sin().powi(2))
}

/// Levy, standard form (Surjanovic & Bingham's library): with
/// `w_i = 1 + (x_i - 1)/4`,
/// `sin^2(pi w_1) + sum_{i=1}^{d-1} (w_i - 1)^2 [1 + 10 sin^2(pi w_i + 1)]
///  + (w_d - 1)^2 [1 + sin^2(2 pi w_d)]`.
/// Minimum 0 at `x = (1, ..., 1)`; default box `[-10, 10]^d`.
#[derive(Clone, Debug)]
pub struct Levy {
    space: BoxSpace,
}
cube_problem!(Levy, "levy", -10.0, 10.0, 1);

impl Levy {
    /// The function value.
    pub fn value(&self, x: &[f64]) -> f64 {
        let w = levy_w(x);
        levy_ends(&w) + w[..w.len() - 1].iter().map(|&v| levy_mid(v)).sum::<f64>()
    }
    /// The global minimiser, all ones.
    pub fn argmin(&self) -> Vec<f64> {
        vec![1.0; self.dim()]
    }
}

/// Levy as coded by the LA-MCTS authors (`LA-MCTS/functions/functions.py`,
/// class `Levy`, and the same in `revision.patch` and the baselines): the
/// middle sum runs over `i = 2..=d` (0-based indices `1..d`) instead of the
/// standard `i = 1..=d-1`, i.e. it skips `w_1` and includes `w_d`. Everything
/// else is the standard form, so the minimum is still 0 at all ones, and for
/// points with `w_1 = w_d` the two forms agree. Default box `[-10, 10]^d`.
#[derive(Clone, Debug)]
pub struct LevyLamcts {
    space: BoxSpace,
}
cube_problem!(LevyLamcts, "levy-lamcts", -10.0, 10.0, 1);

impl LevyLamcts {
    /// The function value.
    pub fn value(&self, x: &[f64]) -> f64 {
        let w = levy_w(x);
        levy_ends(&w) + w[1..].iter().map(|&v| levy_mid(v)).sum::<f64>()
    }
    /// The global minimiser, all ones.
    pub fn argmin(&self) -> Vec<f64> {
        vec![1.0; self.dim()]
    }
}

/// Rosenbrock: `sum_{i<d} 100 (x_{i+1} - x_i^2)^2 + (1 - x_i)^2`, d >= 2.
/// Minimum 0 at all ones; default box `[-10, 10]^d` (LA-MCTS's TuRBO patch,
/// where the class is spelled `Rosenrock`).
#[derive(Clone, Debug)]
pub struct Rosenbrock {
    space: BoxSpace,
}
cube_problem!(Rosenbrock, "rosenbrock", -10.0, 10.0, 2);

impl Rosenbrock {
    /// The function value.
    pub fn value(&self, x: &[f64]) -> f64 {
        x.windows(2)
            .map(|p| 100.0 * (p[1] - p[0] * p[0]).powi(2) + (1.0 - p[0]).powi(2))
            .sum()
    }
    /// The global minimiser, all ones.
    pub fn argmin(&self) -> Vec<f64> {
        vec![1.0; self.dim()]
    }
}

/// Rastrigin: `10 d + sum (x_i^2 - 10 cos(2 pi x_i))`. Minimum 0 at the
/// origin; default box `[-5.12, 5.12]^d` (LA-MCTS's TuRBO patch).
#[derive(Clone, Debug)]
pub struct Rastrigin {
    space: BoxSpace,
}
cube_problem!(Rastrigin, "rastrigin", -5.12, 5.12, 1);

impl Rastrigin {
    /// The function value.
    pub fn value(&self, x: &[f64]) -> f64 {
        10.0 * x.len() as f64
            + x.iter()
                .map(|v| v * v - 10.0 * (2.0 * PI * v).cos())
                .sum::<f64>()
    }
    /// The global minimiser, the origin.
    pub fn argmin(&self) -> Vec<f64> {
        vec![0.0; self.dim()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::space::Space;

    fn at(p: &impl Problem<Space = BoxSpace>, x: &[f64]) -> f64 {
        p.evaluate(&x.to_vec())[0]
    }

    #[test]
    fn functions_zero_at_argmin_inside_default_box() {
        for d in [1, 2, 10, 100] {
            let a = Ackley::new(d);
            let l = Levy::new(d);
            let ll = LevyLamcts::new(d);
            let g = Rastrigin::new(d);
            for (v, x, b) in [
                (
                    at(&a, &a.argmin()),
                    a.argmin(),
                    a.space().contains(&a.argmin()),
                ),
                (
                    at(&l, &l.argmin()),
                    l.argmin(),
                    l.space().contains(&l.argmin()),
                ),
                (
                    at(&ll, &ll.argmin()),
                    ll.argmin(),
                    ll.space().contains(&ll.argmin()),
                ),
                (
                    at(&g, &g.argmin()),
                    g.argmin(),
                    g.space().contains(&g.argmin()),
                ),
            ] {
                // sin(pi) etc. are ~1e-16, Ackley's 20 + e - 20 - e leaves ~4e-16.
                assert!(v.abs() < 1e-12, "d={d} x={x:?} f={v}");
                assert!(b);
            }
            if d >= 2 {
                let r = Rosenbrock::new(d);
                assert_eq!(at(&r, &r.argmin()), 0.0);
                assert!(r.space().contains(&r.argmin()));
            }
        }
    }

    #[test]
    fn functions_authors_bounds() {
        let cases = [
            (Ackley::new(3).space().clone(), -5.0, 10.0),
            (Levy::new(3).space().clone(), -10.0, 10.0),
            (LevyLamcts::new(3).space().clone(), -10.0, 10.0),
            (Rosenbrock::new(3).space().clone(), -10.0, 10.0),
            (Rastrigin::new(3).space().clone(), -5.12, 5.12),
        ];
        for (s, lo, hi) in cases {
            assert_eq!(s, BoxSpace::cube(3, lo, hi));
        }
        assert_eq!(Ackley::LAMCTS_BOUNDS, (-5.0, 10.0));
        let t = Ackley::with_bounds(4, -15.0, 30.0);
        assert_eq!(t.space(), &BoxSpace::cube(4, -15.0, 30.0));
        assert_eq!(t.name(), "ackley-4");
        assert_eq!(Ackley::new(2).senses(), vec![Sense::Minimize]);
        assert_eq!(Rosenbrock::new(2).optimum(), Some(0.0));
    }

    #[test]
    fn functions_hand_computed_values() {
        // Ackley (1,1): mean x^2 = 1, mean cos(2 pi) = 1, so
        // -20 e^{-0.2} - e + 20 + e = 20 (1 - e^{-0.2}) = 3.6253849384403627.
        assert!((at(&Ackley::new(2), &[1.0, 1.0]) - 3.6253849384403627).abs() < 1e-12);
        // Rastrigin (1,1): 20 + 2 (1 - 10) = 2.
        assert!((at(&Rastrigin::new(2), &[1.0, 1.0]) - 2.0).abs() < 1e-12);
        // Rosenbrock (0,0): 100 (0 - 0)^2 + (1 - 0)^2 = 1; (1,2): 100 (2-1)^2 = 100.
        assert_eq!(at(&Rosenbrock::new(2), &[0.0, 0.0]), 1.0);
        assert_eq!(at(&Rosenbrock::new(2), &[1.0, 2.0]), 100.0);

        // Levy at (0,0): w = (3/4, 3/4). First term sin^2(3 pi/4) = 1/2; last
        // term (1/4)^2 (1 + sin^2(3 pi/2)) = 1/16 * 2 = 1/8; middle (one term)
        // m = (1/16) (1 + 10 sin^2(3 pi/4 + 1)), with
        // sin(3 pi/4 + 1) = (cos 1 - sin 1)/sqrt 2 = -0.2129584151592961,
        // so m = (1 + 10 * 0.0453512866) / 16 = 0.0908445541 and
        // f = 0.625 + m = 0.7158445541. Both forms agree here (w_1 = w_2).
        let s = (1f64.cos() - 1f64.sin()) / 2f64.sqrt();
        let m = (1.0 + 10.0 * s * s) / 16.0;
        let f00 = 0.625 + m;
        assert!((f00 - 0.7158445541169745).abs() < 1e-12);
        assert!((at(&Levy::new(2), &[0.0, 0.0]) - f00).abs() < 1e-12);
        assert!((at(&LevyLamcts::new(2), &[0.0, 0.0]) - f00).abs() < 1e-12);
        // (0,1): w = (3/4, 1). Standard: 1/2 + m (w_1 in the sum) + 0.
        // LA-MCTS: 1/2 + 0 (w_2 = 1 in the sum) + 0 = 1/2.
        assert!((at(&Levy::new(2), &[0.0, 1.0]) - (0.5 + m)).abs() < 1e-12);
        assert!((at(&LevyLamcts::new(2), &[0.0, 1.0]) - 0.5).abs() < 1e-12);
        // (1,0): w = (1, 3/4). Standard: 0 + 0 + 1/8; LA-MCTS: 0 + m + 1/8.
        assert!((at(&Levy::new(2), &[1.0, 0.0]) - 0.125).abs() < 1e-12);
        assert!((at(&LevyLamcts::new(2), &[1.0, 0.0]) - (0.125 + m)).abs() < 1e-12);
        // d = 1: both middle sums are empty.
        assert!((at(&Levy::new(1), &[0.0]) - 0.625).abs() < 1e-12);
        assert!((at(&LevyLamcts::new(1), &[0.0]) - 0.625).abs() < 1e-12);
    }

    #[test]
    #[should_panic]
    fn functions_rosenbrock_needs_two_dims() {
        Rosenbrock::new(1);
    }
}
