//! The 60-D rover trajectory planning problem of Wang et al. 2018
//! ("Batched Large-scale Bayesian Optimization in High-dimensional Spaces",
//! EBO), used by TuRBO and LA-MCTS. Facts taken from
//! zi-w/Ensemble-Bayesian-Optimization (HEAD 4e6f9ed),
//! `test_functions/rover_function.py` (`create_cost_large`,
//! `create_large_domain`, `main`) and `test_functions/rover_utils.py`.
//!
//! The 60 inputs are 30 waypoints `(x_0, y_0, x_1, y_1, ...)`. A cubic
//! smoothing spline (`scipy.interpolate.splprep(points, k=3)`, default
//! smoothing `s = m - sqrt(2m)`, chord-length parameter `u` in `[0, 1]`) is
//! fitted through them and sampled at 1000 equally spaced `u`. Its cost is
//! the trapezoidal line integral of the state cost (0.05 everywhere, plus 20
//! inside any of 113 trees, axis-aligned squares of half-width 0.025, or
//! outside `[0, 1)^2`), plus `10 * |p(0) - start|_1 + 10 * |p(1) - goal|_1`
//! (the reference names this `l2cost` but calls `np.linalg.norm(.., 1)`, the
//! L1 norm), with start `(0.05, 0.05)` and goal `(0.95, 0.95)`. The reward,
//! maximised, is `5 - cost`.
//!
//! Exact simplification (why there is no FITPACK here): FITPACK's `parcur`
//! first fits the least-squares cubic polynomial curve (no interior knots)
//! and returns it whenever its residual sum of squares `fp0 <= s`. With 30
//! points in `[-0.1, 1.1]^2`, `fp0` is at most the spread about the mean,
//! `30 * 2 * 0.6^2 = 21.6 < s = 30 - sqrt(60) = 22.25`, so on the whole
//! domain the spline is that polynomial. We fit it with Givens rotations as
//! FITPACK does.
//!
//! Differences from the reference: it adds `N(0, 1e-4)` jitter to the inputs
//! on every call (a noisy objective); we evaluate without jitter, so the
//! function is deterministic. The reference raises an error for coincident
//! consecutive waypoints (probability zero under the jitter); we fit them
//! anyway (uniform parameters if all coincide, rank-deficient directions set
//! to zero).

use crate::problem::{Problem, Sense};
use crate::space::BoxSpace;

/// Rover trajectory planning, 30 waypoints, maximise `5 - cost`.
///
/// Space: the raw waypoint box `[-0.1, 1.1]^60` (EBO's `s_range`); EBO's
/// optimisers see it rescaled to `[0, 1]^60`, which for box-normalising
/// optimisers is the same problem.
#[derive(Clone, Debug)]
pub struct Rover60 {
    space: BoxSpace,
}

impl Default for Rover60 {
    fn default() -> Self {
        Self::new()
    }
}

/// Tree centres of `create_cost_large` (data, in the reference's order).
const TREES: [[f64; 2]; 113] = [
    [0.43143755, 0.20876147],
    [0.38485367, 0.39183579],
    [0.02985961, 0.22328303],
    [0.7803707, 0.3447003],
    [0.93685657, 0.56297285],
    [0.04194252, 0.23598362],
    [0.28049582, 0.40984475],
    [0.6756053, 0.70939481],
    [0.01926493, 0.86972335],
    [0.5993437, 0.63347932],
    [0.57807619, 0.40180792],
    [0.56824287, 0.75486851],
    [0.35403502, 0.38591056],
    [0.72492026, 0.59969313],
    [0.27618746, 0.64322757],
    [0.54029566, 0.25492943],
    [0.30903526, 0.60166842],
    [0.2913432, 0.29636879],
    [0.78512072, 0.62340245],
    [0.29592116, 0.08400595],
    [0.87548394, 0.04877622],
    [0.21714791, 0.9607346],
    [0.92624074, 0.53441687],
    [0.53639253, 0.45127928],
    [0.99892031, 0.79537837],
    [0.84621631, 0.41891986],
    [0.39432819, 0.06768617],
    [0.92365693, 0.72217512],
    [0.95520914, 0.73956575],
    [0.820383, 0.53880139],
    [0.22378049, 0.9971974],
    [0.34023233, 0.91014706],
    [0.64960636, 0.35661133],
    [0.29976464, 0.33578931],
    [0.43202238, 0.11563227],
    [0.66764947, 0.52086962],
    [0.45431078, 0.94582745],
    [0.12819915, 0.33555344],
    [0.19287232, 0.8112075],
    [0.61214791, 0.71940626],
    [0.4522542, 0.47352186],
    [0.95623345, 0.74174186],
    [0.17340293, 0.89136853],
    [0.04600255, 0.53040724],
    [0.42493468, 0.41006649],
    [0.37631485, 0.88033853],
    [0.66951947, 0.29905739],
    [0.4151516, 0.77308712],
    [0.55762991, 0.26400156],
    [0.6280609, 0.53201974],
    [0.92727447, 0.61054975],
    [0.93206587, 0.42107549],
    [0.63885574, 0.37540613],
    [0.15303425, 0.57377797],
    [0.8208471, 0.16566631],
    [0.14889043, 0.35157346],
    [0.71724622, 0.57110725],
    [0.32866327, 0.8929578],
    [0.74435871, 0.47464421],
    [0.9252026, 0.21034329],
    [0.57039306, 0.54356078],
    [0.56611551, 0.02531317],
    [0.84830056, 0.01180542],
    [0.51282028, 0.73916524],
    [0.58795481, 0.46527371],
    [0.83259048, 0.98598188],
    [0.00242488, 0.83734691],
    [0.72505789, 0.04846931],
    [0.07312971, 0.30147979],
    [0.55250344, 0.23891255],
    [0.51161315, 0.46466442],
    [0.802125, 0.93440495],
    [0.9157825, 0.32441602],
    [0.44927665, 0.53380074],
    [0.67708372, 0.67527231],
    [0.81868924, 0.88356194],
    [0.48228814, 0.88668497],
    [0.39805433, 0.99341196],
    [0.86671752, 0.79016975],
    [0.01115417, 0.6924913],
    [0.34272199, 0.89543756],
    [0.40721675, 0.86164495],
    [0.26317679, 0.37334193],
    [0.74446787, 0.84782643],
    [0.55560143, 0.46405104],
    [0.73567977, 0.12776233],
    [0.28080322, 0.26036748],
    [0.17507419, 0.95540673],
    [0.54233783, 0.1196808],
    [0.76670967, 0.88396285],
    [0.61297539, 0.79057776],
    [0.9344029, 0.86252764],
    [0.48746839, 0.74942784],
    [0.18657635, 0.58127321],
    [0.10377802, 0.71463978],
    [0.7771771, 0.01463505],
    [0.7635042, 0.45498358],
    [0.83345861, 0.34749363],
    [0.38273809, 0.51890558],
    [0.33887574, 0.82842507],
    [0.02073685, 0.41776737],
    [0.68754547, 0.96430979],
    [0.4704215, 0.92717361],
    [0.72666234, 0.63241306],
    [0.48494401, 0.72003268],
    [0.52601215, 0.81641253],
    [0.71426732, 0.47077212],
    [0.00258906, 0.30377501],
    [0.35495269, 0.98585155],
    [0.65507544, 0.03458909],
    [0.10550588, 0.62032937],
    [0.60259145, 0.87110846],
    [0.04959159, 0.535785],
];

/// Half-width of a tree square.
const TREE_HALF: f64 = 0.025;
/// State cost added inside an obstacle (tree or outside the unit square).
const OBSTACLE_COST: f64 = 20.0;
/// State cost everywhere.
const BASE_COST: f64 = 0.05;
/// Weight of the L1 start and goal miss costs.
const MISS_WEIGHT: f64 = 10.0;

impl Rover60 {
    /// Number of waypoints.
    pub const N_POINTS: usize = 30;
    /// Input dimension.
    pub const DIM: usize = 60;
    pub const START: [f64; 2] = [0.05, 0.05];
    pub const GOAL: [f64; 2] = [0.95, 0.95];
    /// Constant added to `-cost` (EBO's `f_max`).
    pub const OFFSET: f64 = 5.0;
    /// Points sampled along the trajectory for the cost integral.
    pub const N_SAMPLES: usize = 1000;
    /// Bounds of each waypoint coordinate.
    pub const BOUNDS: (f64, f64) = (-0.1, 1.1);

    pub fn new() -> Self {
        Self {
            space: BoxSpace::cube(Self::DIM, Self::BOUNDS.0, Self::BOUNDS.1),
        }
    }

    /// State cost at one point (the reference's half-open boxes `l <= p < h`).
    pub fn state_cost(p: [f64; 2]) -> f64 {
        let inside = |lo: [f64; 2], hi: [f64; 2]| {
            lo[0] <= p[0] && p[0] < hi[0] && lo[1] <= p[1] && p[1] < hi[1]
        };
        let out_of_map = !inside([0.0, 0.0], [1.0, 1.0]);
        let in_tree = TREES.iter().any(|c| {
            inside(
                [c[0] - TREE_HALF, c[1] - TREE_HALF],
                [c[0] + TREE_HALF, c[1] + TREE_HALF],
            )
        });
        BASE_COST
            + if out_of_map || in_tree {
                OBSTACLE_COST
            } else {
                0.0
            }
    }

    /// The four control points (Bernstein / B-spline coefficients on knots
    /// `0,0,0,0,1,1,1,1`) of the fitted trajectory.
    pub fn fit(&self, x: &[f64]) -> [[f64; 2]; 4] {
        assert_eq!(x.len(), Self::DIM, "rover: wrong dimension");
        let pts: Vec<[f64; 2]> = x.chunks(2).map(|c| [c[0], c[1]]).collect();
        fit_cubic(&pts)
    }

    /// `n` points of the trajectory at `u = linspace(0, 1, n)`.
    pub fn trajectory(&self, x: &[f64], n: usize) -> Vec<[f64; 2]> {
        let c = self.fit(x);
        linspace01(n).map(|t| bezier(&c, t)).collect()
    }

    /// The cost of a waypoint vector (lower is better, always > 0).
    pub fn cost(&self, x: &[f64]) -> f64 {
        let pts = self.trajectory(x, Self::N_SAMPLES);
        let costs: Vec<f64> = pts.iter().map(|&p| Self::state_cost(p)).collect();
        let mut total = 0.0;
        for j in 0..pts.len() - 1 {
            let len = (pts[j + 1][0] - pts[j][0]).hypot(pts[j + 1][1] - pts[j][1]);
            total += len * 0.5 * (costs[j] + costs[j + 1]);
        }
        let l1 = |a: [f64; 2], b: [f64; 2]| (a[0] - b[0]).abs() + (a[1] - b[1]).abs();
        total + MISS_WEIGHT * (l1(pts[0], Self::START) + l1(pts[pts.len() - 1], Self::GOAL))
    }

    /// The reward `5 - cost`, the objective.
    pub fn reward(&self, x: &[f64]) -> f64 {
        Self::OFFSET - self.cost(x)
    }
}

impl Problem for Rover60 {
    type Space = BoxSpace;
    fn name(&self) -> String {
        "rover-60".to_string()
    }
    fn space(&self) -> &BoxSpace {
        &self.space
    }
    fn senses(&self) -> Vec<Sense> {
        vec![Sense::Maximize]
    }
    fn evaluate(&self, x: &Vec<f64>) -> Vec<f64> {
        vec![self.reward(x)]
    }
    /// 5.0, the value TuRBO and EBO report as the maximum. It is an upper
    /// bound, not attained: every trajectory pays at least
    /// `0.05 * |goal - start| = 0.0636`.
    fn optimum(&self) -> Option<f64> {
        Some(Self::OFFSET)
    }
}

/// numpy's `linspace(0, 1, n)`: `j * (1/(n-1))`, last point exactly 1.
fn linspace01(n: usize) -> impl Iterator<Item = f64> {
    let step = 1.0 / (n.max(2) - 1) as f64;
    (0..n).map(move |j| if j + 1 == n { 1.0 } else { j as f64 * step })
}

/// Cubic B-splines without interior knots, i.e. the Bernstein polynomials.
fn bernstein(t: f64) -> [f64; 4] {
    let s = 1.0 - t;
    [s * s * s, 3.0 * t * s * s, 3.0 * t * t * s, t * t * t]
}

fn bezier(c: &[[f64; 2]; 4], t: f64) -> [f64; 2] {
    let b = bernstein(t);
    let mut p = [0.0; 2];
    for i in 0..4 {
        p[0] += b[i] * c[i][0];
        p[1] += b[i] * c[i][1];
    }
    p
}

/// Least-squares cubic curve through `pts` with FITPACK's chord-length
/// parameters, by Givens rotations (as `fppara` builds its triangle).
fn fit_cubic(pts: &[[f64; 2]]) -> [[f64; 2]; 4] {
    let m = pts.len();
    let mut u = vec![0.0; m];
    for i in 1..m {
        u[i] = u[i - 1] + (pts[i][0] - pts[i - 1][0]).hypot(pts[i][1] - pts[i - 1][1]);
    }
    if u[m - 1] > 0.0 {
        let total = u[m - 1];
        for v in u.iter_mut().skip(1) {
            *v /= total;
        }
        u[m - 1] = 1.0;
    } else {
        // All points coincide (the reference errors): any parameters fit a constant.
        for (i, v) in u.iter_mut().enumerate() {
            *v = i as f64 / (m - 1) as f64;
        }
    }
    let mut r = [[0.0f64; 4]; 4];
    let mut z = [[0.0f64; 2]; 4];
    for (p, &ui) in pts.iter().zip(&u) {
        let mut h = bernstein(ui);
        let mut xi = *p;
        for i in 0..4 {
            let piv = h[i];
            if piv == 0.0 {
                continue;
            }
            let dd = piv.hypot(r[i][i]);
            let (cos, sin) = (r[i][i] / dd, piv / dd);
            r[i][i] = dd;
            for d in 0..2 {
                let (a, b) = (xi[d], z[i][d]);
                z[i][d] = cos * b + sin * a;
                xi[d] = cos * a - sin * b;
            }
            for j in i + 1..4 {
                let (a, b) = (h[j], r[i][j]);
                r[i][j] = cos * b + sin * a;
                h[j] = cos * a - sin * b;
            }
        }
    }
    // Back substitution; a (near-)zero pivot only arises with fewer than four
    // distinct parameters, where we drop that direction instead of dividing.
    let scale = (0..4).map(|i| r[i][i].abs()).fold(0.0, f64::max);
    let mut c = [[0.0f64; 2]; 4];
    for i in (0..4).rev() {
        if r[i][i].abs() <= 1e-12 * scale {
            continue;
        }
        for d in 0..2 {
            let s: f64 = (i + 1..4).map(|j| r[i][j] * c[j][d]).sum();
            c[i][d] = (z[i][d] - s) / r[i][i];
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Stream;
    use crate::space::Space;

    /// 30 waypoints evenly spaced on the segment start -> goal.
    fn straight_line() -> Vec<f64> {
        (0..30)
            .flat_map(|i| {
                let t = i as f64 / 29.0;
                [0.05 + 0.9 * t, 0.05 + 0.9 * t]
            })
            .collect()
    }

    #[test]
    fn functions_rover_straight_line() {
        let r = Rover60::new();
        let x = straight_line();
        // The fit of collinear, evenly spaced points is the segment itself.
        let c = r.fit(&x);
        let p0 = bezier(&c, 0.0);
        let p1 = bezier(&c, 1.0);
        for d in 0..2 {
            assert!((p0[d] - 0.05).abs() < 1e-12 && (p1[d] - 0.95).abs() < 1e-12);
        }
        let reward = r.evaluate(&x)[0];
        // Reference: EBO's rover_utils/rover_function (create_large_domain with
        // the L1 miss costs of its main()) run with scipy 1.17.1 and the 1e-4
        // jitter switched off, plus the 5.0 offset.
        assert!((reward - (-2.504186641170649)).abs() < 1e-9, "{reward}");
        // By hand: the diagonal y = x crosses the 12 trees with
        // |c_x - c_y| < 0.05; the union of their x-intervals on [0.05, 0.95]
        // has length 0.26245464, so the continuous cost is
        // sqrt2 (0.05 * 0.9 + 20 * 0.26245464) = 7.48698 and the reward
        // -2.48698; the 1000-point trapezoid rule is within 0.02 of it.
        let cont = 5.0 - 2f64.sqrt() * (0.05 * 0.9 + 20.0 * 0.26245464);
        assert!((cont - (-2.4869778)).abs() < 1e-6);
        assert!((reward - cont).abs() < 0.02);
    }

    #[test]
    fn functions_rover_reference_values() {
        // Reference values as above (EBO code, scipy, no jitter).
        let r = Rover60::new();
        let wiggly: Vec<f64> = (0..30)
            .flat_map(|i| {
                let i = i as f64;
                [
                    0.5 + 0.5 * (0.7 * i + 0.3).sin(),
                    0.5 + 0.5 * (1.3 * i).cos(),
                ]
            })
            .collect();
        assert!((r.reward(&wiggly) - (-19.5386451856332)).abs() < 1e-9);
        let zigzag: Vec<f64> = (0..30)
            .flat_map(|i| {
                [
                    0.1 + 0.8 * ((i * 7) % 30) as f64 / 29.0,
                    0.95 - 0.9 * i as f64 / 29.0,
                ]
            })
            .collect();
        assert!((r.reward(&zigzag) - (-22.978736045560034)).abs() < 1e-9);
    }

    #[test]
    fn functions_rover_space_and_bound() {
        let r = Rover60::new();
        assert_eq!(r.space(), &BoxSpace::cube(60, -0.1, 1.1));
        assert_eq!(r.senses(), vec![Sense::Maximize]);
        assert_eq!(r.optimum(), Some(5.0));
        let mut rng = Stream::root("rover-test");
        for _ in 0..20 {
            let x = r.space().sample(&mut rng);
            let v = r.evaluate(&x)[0];
            assert!(v.is_finite() && v < 5.0 - 0.05 * 0.9 * 2f64.sqrt() + 1e-12);
        }
        // Degenerate inputs stay finite: all waypoints at one point.
        let same = vec![0.5; 60];
        assert!(r.reward(&same).is_finite());
    }

    #[test]
    fn functions_rover_state_cost() {
        assert_eq!(Rover60::state_cost([0.05, 0.05]), 0.05);
        assert_eq!(Rover60::state_cost([-0.01, 0.5]), 20.05);
        // The map box is half-open: x = 1 is outside.
        assert_eq!(Rover60::state_cost([1.0, 0.5]), 20.05);
        // Centre of the first tree.
        assert_eq!(Rover60::state_cost([0.43143755, 0.20876147]), 20.05);
    }
}
