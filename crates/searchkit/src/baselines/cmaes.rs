//! (mu/mu_w, lambda)-CMA-ES following Hansen's tutorial (arXiv:1604.00772,
//! 2016), maximising `y[0]` on a [`BoxSpace`].
//!
//! Choices worth knowing:
//! - The search runs in the normalised unit cube `[0,1]^d`; `x0` is given in box
//!   coordinates (default: the centre) and `sigma0` in unit-cube units.
//! - Default strategy parameters of the tutorial with *positive* log weights
//!   only (`w_i ∝ ln((lambda+1)/2) - ln i`, `i <= mu = lambda/2`), i.e. the
//!   classic rank-mu update without the active (negative-weight) part.
//! - Bounds ([`CmaBounds`]): by default a candidate outside the cube is
//!   resampled up to [`CmaEs::MAX_RESAMPLES`] times, then clipped. The update
//!   uses the step of the point actually evaluated, so the mean always stays
//!   in the box. This is simpler than pycma's default boundary handler and is
//!   fine when the optimum is not pinned against a bound;
//!   [`CmaBounds::PycmaTransform`] is pycma's (`BoundTransform`), for ports of
//!   code that ran pycma where the optimum is.
//! - The eigendecomposition of `C` (our own Jacobi solver,
//!   [`crate::linalg::symmetric_eigen`]) is refreshed lazily, once at least
//!   `lambda / (10 n (c1 + c_mu))` *generations* have passed. The tutorial's
//!   rule is the same expression counted in *evaluations* (i.e. `lambda` times
//!   more often); the lazier rule left Sphere (2-100-d) and a rotated
//!   ellipsoid (10/30-d, condition 1e6) within ~5% of the evaluations to 1e-8
//!   while making 100-d runs ~8x faster. Between refreshes, sampling and the
//!   `C^{-1/2}` of the step-size path use the last decomposition.
//! - Ask returns one generation of `lambda` points; tell must receive them in
//!   the same order. If the run loop truncated the last batch at the end of
//!   the budget, tell skips the update (the run is over anyway).

use crate::linalg::symmetric_eigen;
use crate::optimizer::{Evaluated, Optimizer};
use crate::rng::Stream;
use crate::space::{BoxSpace, Space};

/// CMA-ES state (see the module docs).
#[derive(Clone, Debug)]
pub struct CmaEs {
    space: BoxSpace,
    n: usize,
    lambda: usize,
    weights: Vec<f64>,
    mu_eff: f64,
    c_sigma: f64,
    d_sigma: f64,
    c_c: f64,
    c1: f64,
    c_mu: f64,
    /// E||N(0, I)||.
    chi_n: f64,
    mean: Vec<f64>,
    sigma: f64,
    cov: Vec<Vec<f64>>,
    /// Eigenvectors of `cov` as columns.
    b: Vec<Vec<f64>>,
    /// Square roots of the eigenvalues of `cov`.
    d: Vec<f64>,
    p_sigma: Vec<f64>,
    p_c: Vec<f64>,
    generation: usize,
    eigen_generation: usize,
    /// The genotypes of the last ask (unit-cube coordinates; the candidates
    /// themselves under [`CmaBounds::Resample`]), awaiting their values.
    pending: Vec<Vec<f64>>,
    bounds: CmaBounds,
    /// pycma's `al` and `au` per coordinate, in unit-cube units.
    margins: Vec<(f64, f64)>,
}

/// How [`CmaEs`] keeps its candidates in the box.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CmaBounds {
    /// Resample an outside candidate, then clip it (see the module docs).
    #[default]
    Resample,
    /// pycma's default boundary handler (`BoundTransform`, its
    /// `BoxConstraintsLinQuadTransformation`): the distribution lives in an
    /// unbounded genotype space, and each coordinate of a sample is mapped
    /// into `[lb, ub]`: the identity inside `[lb + al, ub - au]`, quadratic
    /// within `al = min((ub - lb) / 2, (1 + |lb|) / 20)` of `lb` (and `au`
    /// likewise of `ub`), mirrored and periodic beyond. So samples pile up
    /// near a bound instead of thinning out, and the update uses genotypes.
    /// Solutions given to [`CmaEs::tell_solutions`] are mapped back by the
    /// inverse and, as pycma's `tell` does for solutions it did not propose,
    /// their Mahalanobis distance from the mean is clipped at
    /// `sqrt(n) + 2n / (n + 2)`.
    PycmaTransform,
}

impl CmaEs {
    /// Resampling attempts for an out-of-box candidate before clipping it.
    pub const MAX_RESAMPLES: usize = 10;

    /// A CMA-ES on `space`, started at `x0` (box coordinates; default the
    /// centre) with step size `sigma0` in units of the normalised `[0,1]^d`
    /// cube (0.3 is a common choice) and population size `popsize` (default
    /// `4 + floor(3 ln n)`).
    pub fn new(space: BoxSpace, x0: Option<Vec<f64>>, sigma0: f64, popsize: Option<usize>) -> Self {
        let n = space.dim();
        assert!(n > 0, "CMA-ES needs at least one dimension");
        assert!(
            sigma0 > 0.0 && sigma0.is_finite(),
            "sigma0 must be positive"
        );
        let nf = n as f64;
        let lambda = popsize
            .unwrap_or(4 + (3.0 * nf.ln()).floor() as usize)
            .max(2);
        let mu = lambda / 2;
        let raw: Vec<f64> = (1..=mu)
            .map(|i| ((lambda as f64 + 1.0) / 2.0).ln() - (i as f64).ln())
            .collect();
        let total: f64 = raw.iter().sum();
        let weights: Vec<f64> = raw.iter().map(|w| w / total).collect();
        let mu_eff = 1.0 / weights.iter().map(|w| w * w).sum::<f64>();

        let c_sigma = (mu_eff + 2.0) / (nf + mu_eff + 5.0);
        let d_sigma = 1.0 + 2.0 * (((mu_eff - 1.0) / (nf + 1.0)).sqrt() - 1.0).max(0.0) + c_sigma;
        let c_c = (4.0 + mu_eff / nf) / (nf + 4.0 + 2.0 * mu_eff / nf);
        let c1 = 2.0 / ((nf + 1.3).powi(2) + mu_eff);
        let c_mu =
            (1.0 - c1).min(2.0 * (mu_eff - 2.0 + 1.0 / mu_eff) / ((nf + 2.0).powi(2) + mu_eff));
        let chi_n = nf.sqrt() * (1.0 - 1.0 / (4.0 * nf) + 1.0 / (21.0 * nf * nf));

        let mean = match x0 {
            Some(x) => {
                assert_eq!(x.len(), n, "x0 has the wrong dimension");
                let mut u = space.to_unit(&x);
                for v in &mut u {
                    *v = v.clamp(0.0, 1.0);
                }
                u
            }
            None => vec![0.5; n],
        };
        let eye: Vec<Vec<f64>> = (0..n)
            .map(|i| (0..n).map(|j| if i == j { 1.0 } else { 0.0 }).collect())
            .collect();
        Self {
            space,
            n,
            lambda,
            weights,
            mu_eff,
            c_sigma,
            d_sigma,
            c_c,
            c1,
            c_mu,
            chi_n,
            mean,
            sigma: sigma0,
            cov: eye.clone(),
            b: eye,
            d: vec![1.0; n],
            p_sigma: vec![0.0; n],
            p_c: vec![0.0; n],
            generation: 0,
            eigen_generation: 0,
            pending: Vec::new(),
            bounds: CmaBounds::Resample,
            margins: Vec::new(),
        }
    }

    /// The same CMA-ES with another boundary handler ([`CmaBounds`]).
    pub fn with_bounds(mut self, bounds: CmaBounds) -> Self {
        self.bounds = bounds;
        // pycma's margins come from the box's own bounds, not the unit cube's.
        self.margins = (0..self.n)
            .map(|i| {
                let (lb, ub) = (self.space.lower[i], self.space.upper[i]);
                let w = ub - lb;
                let al = (w / 2.0).min((1.0 + lb.abs()) / 20.0);
                let au = (w / 2.0).min((1.0 + ub.abs()) / 20.0);
                (al / w, au / w)
            })
            .collect();
        self
    }

    /// The candidate (unit cube) of genotype `g`.
    fn phenotype(&self, g: &[f64]) -> Vec<f64> {
        match self.bounds {
            CmaBounds::Resample => g.to_vec(),
            CmaBounds::PycmaTransform => g
                .iter()
                .zip(&self.margins)
                .map(|(&x, &(al, au))| lin_quad(x, al, au))
                .collect(),
        }
    }

    /// The genotype pycma's `tell` takes for a solution it did not propose:
    /// the inverse transform, then the repair of its distance to the mean.
    fn foreign_genotype(&self, u: &[f64]) -> Vec<f64> {
        let mut g: Vec<f64> = u
            .iter()
            .zip(&self.margins)
            .map(|(&x, &(al, au))| lin_quad_inverse(x, al, au))
            .collect();
        let dx: Vec<f64> = g.iter().zip(&self.mean).map(|(a, m)| a - m).collect();
        // ||D^-1 B^T dx|| / sigma.
        let norm = (0..self.n)
            .map(|k| {
                let v: f64 = (0..self.n).map(|i| self.b[i][k] * dx[i]).sum::<f64>() / self.d[k];
                v * v
            })
            .sum::<f64>()
            .sqrt()
            / self.sigma;
        let nf = self.n as f64;
        let fac = norm / (nf.sqrt() + 2.0 * nf / (nf + 2.0));
        if fac > 1.0 {
            for (gi, (m, d)) in g.iter_mut().zip(self.mean.iter().zip(&dx)) {
                *gi = m + d / fac;
            }
        }
        g
    }

    /// Current mean, in box coordinates.
    pub fn mean(&self) -> Vec<f64> {
        self.space.from_unit(&self.mean)
    }

    /// Current step size, in units of the normalised `[0,1]^d` cube.
    pub fn sigma(&self) -> f64 {
        self.sigma
    }

    /// Population size lambda (points per ask).
    pub fn popsize(&self) -> usize {
        self.lambda
    }

    /// Number of completed updates (generations told).
    pub fn generation(&self) -> usize {
        self.generation
    }

    /// Condition number of the covariance matrix (at the last decomposition).
    pub fn condition_number(&self) -> f64 {
        let (lo, hi) = self.d.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
        (hi / lo).powi(2)
    }

    fn sample_one(&self, rng: &mut Stream) -> Vec<f64> {
        let n = self.n;
        if self.bounds == CmaBounds::PycmaTransform {
            let dz: Vec<f64> = self.d.iter().map(|d| d * rng.normal()).collect();
            return (0..n)
                .map(|i| {
                    let y: f64 = self.b[i].iter().zip(&dz).map(|(b, v)| b * v).sum();
                    self.mean[i] + self.sigma * y
                })
                .collect();
        }
        let mut x = vec![0.0; n];
        for attempt in 0..=Self::MAX_RESAMPLES {
            // y = B D z, x = m + sigma y.
            let dz: Vec<f64> = self.d.iter().map(|d| d * rng.normal()).collect();
            for i in 0..n {
                let y: f64 = self.b[i].iter().zip(&dz).map(|(b, v)| b * v).sum();
                x[i] = self.mean[i] + self.sigma * y;
            }
            let inside = x.iter().all(|v| (0.0..=1.0).contains(v));
            if inside || attempt == Self::MAX_RESAMPLES {
                break;
            }
        }
        for v in &mut x {
            *v = v.clamp(0.0, 1.0);
        }
        x
    }

    fn update(&mut self, ranked: &[&Vec<f64>]) {
        let n = self.n;
        let old_mean = self.mean.clone();
        // Steps y_i = (x_i - m) / sigma of the mu best, in rank order.
        let steps: Vec<Vec<f64>> = ranked
            .iter()
            .take(self.weights.len())
            .map(|x| {
                x.iter()
                    .zip(&old_mean)
                    .map(|(x, m)| (x - m) / self.sigma)
                    .collect()
            })
            .collect();
        let mut y_w = vec![0.0; n];
        for (w, y) in self.weights.iter().zip(&steps) {
            for (a, v) in y_w.iter_mut().zip(y) {
                *a += w * v;
            }
        }
        for i in 0..n {
            self.mean[i] = old_mean[i] + self.sigma * y_w[i];
        }

        // Step-size path with C^{-1/2} y_w = B D^{-1} B^T y_w.
        let bty: Vec<f64> = (0..n)
            .map(|k| (0..n).map(|i| self.b[i][k] * y_w[i]).sum::<f64>() / self.d[k])
            .collect();
        let cs = (self.c_sigma * (2.0 - self.c_sigma) * self.mu_eff).sqrt();
        for i in 0..n {
            let inv_sqrt: f64 = self.b[i].iter().zip(&bty).map(|(b, v)| b * v).sum();
            self.p_sigma[i] = (1.0 - self.c_sigma) * self.p_sigma[i] + cs * inv_sqrt;
        }
        let ps_norm = self.p_sigma.iter().map(|v| v * v).sum::<f64>().sqrt();
        let gen = (self.generation + 1) as f64;
        // h_sigma stalls the rank-one path while sigma is growing fast.
        let h_sigma = ps_norm / (1.0 - (1.0 - self.c_sigma).powf(2.0 * gen)).sqrt()
            < (1.4 + 2.0 / (n as f64 + 1.0)) * self.chi_n;
        let cc = (self.c_c * (2.0 - self.c_c) * self.mu_eff).sqrt();
        for i in 0..n {
            self.p_c[i] = (1.0 - self.c_c) * self.p_c[i] + if h_sigma { cc * y_w[i] } else { 0.0 };
        }

        // C <- (1 + c1 delta - c1 - c_mu) C + c1 p_c p_c^T + c_mu sum w y y^T
        // (sum w = 1 with positive weights).
        let delta = if h_sigma {
            0.0
        } else {
            self.c_c * (2.0 - self.c_c)
        };
        let keep = 1.0 + self.c1 * delta - self.c1 - self.c_mu;
        for i in 0..n {
            for j in 0..=i {
                let mut rank_mu = 0.0;
                for (w, y) in self.weights.iter().zip(&steps) {
                    rank_mu += w * y[i] * y[j];
                }
                let v = keep * self.cov[i][j]
                    + self.c1 * self.p_c[i] * self.p_c[j]
                    + self.c_mu * rank_mu;
                self.cov[i][j] = v;
                self.cov[j][i] = v;
            }
        }

        self.sigma *= ((self.c_sigma / self.d_sigma) * (ps_norm / self.chi_n - 1.0)).exp();
        self.generation += 1;

        let gap = self.lambda as f64 / (10.0 * n as f64 * (self.c1 + self.c_mu));
        if (self.generation - self.eigen_generation) as f64 >= gap {
            self.decompose();
        }
    }

    fn decompose(&mut self) {
        let (w, v) = symmetric_eigen(&self.cov);
        // Rounding can leave tiny negative eigenvalues; floor them so D^{-1}
        // stays finite.
        let floor = w.iter().copied().fold(0.0f64, f64::max) * 1e-20 + f64::MIN_POSITIVE;
        self.d = w.iter().map(|e| e.max(floor).sqrt()).collect();
        self.b = v;
        self.eigen_generation = self.generation;
    }
}

impl CmaEs {
    /// One update from given solutions (box coordinates, clipped into the
    /// box) and their fitness, larger better, as pycma's
    /// `tell(solutions, values)` with solutions it did not propose (LaMOO's
    /// code tells a fresh CMA-ES the best samples so far). Ignored unless
    /// there are exactly `popsize` of them; drops a pending generation.
    pub fn tell_solutions(&mut self, xs: &[Vec<f64>], fitness: &[f64]) {
        self.pending.clear();
        if xs.len() != self.lambda || fitness.len() != xs.len() {
            return;
        }
        let units: Vec<Vec<f64>> = xs
            .iter()
            .map(|x| {
                let mut u = self.space.to_unit(x);
                u.iter_mut().for_each(|v| *v = v.clamp(0.0, 1.0));
                match self.bounds {
                    CmaBounds::Resample => u,
                    CmaBounds::PycmaTransform => self.foreign_genotype(&u),
                }
            })
            .collect();
        let key = |i: usize| {
            if fitness[i].is_nan() {
                f64::NEG_INFINITY
            } else {
                fitness[i]
            }
        };
        let mut order: Vec<usize> = (0..units.len()).collect();
        order.sort_by(|&a, &b| key(b).total_cmp(&key(a)));
        let ranked: Vec<&Vec<f64>> = order.iter().map(|&i| &units[i]).collect();
        self.update(&ranked);
    }
}

/// pycma's `BoxConstraintsLinQuadTransformation` of one coordinate into
/// `[0, 1]` with margins `al`, `au`: shifted by its period and mirrored into
/// `[-al, 1 + au]`, then quadratic within the margins.
fn lin_quad(mut x: f64, al: f64, au: f64) -> f64 {
    if x < -2.0 * al - 0.5 || x > 1.0 + 2.0 * au + 0.5 {
        let r = 2.0 * (1.0 + al + au);
        let s = -2.0 * al - 0.5;
        x -= r * ((x - s) / r).floor();
    }
    if x > 1.0 + au {
        x -= 2.0 * (x - 1.0 - au);
    }
    if x < -al {
        x += 2.0 * (-al - x);
    }
    if x < al {
        x = (x + al).powi(2) / 4.0 / al;
    }
    if x > 1.0 - au {
        x = 1.0 - (x - (1.0 + au)).powi(2) / 4.0 / au;
    }
    x
}

/// The inverse of [`lin_quad`] on `[0, 1]`, into `[-al, 1 + au]`.
fn lin_quad_inverse(x: f64, al: f64, au: f64) -> f64 {
    if x < al {
        -al + 2.0 * (al * x).sqrt()
    } else if x > 1.0 - au {
        1.0 + au - 2.0 * (au * (1.0 - x)).sqrt()
    } else {
        x
    }
}

impl Optimizer<Vec<f64>> for CmaEs {
    fn name(&self) -> String {
        "cmaes".into()
    }

    fn ask(&mut self, rng: &mut Stream) -> Vec<Vec<f64>> {
        self.pending = (0..self.lambda).map(|_| self.sample_one(rng)).collect();
        self.pending
            .iter()
            .map(|g| self.space.from_unit(&self.phenotype(g)))
            .collect()
    }

    fn tell(&mut self, evaluated: &[Evaluated<Vec<f64>>], _rng: &mut Stream) {
        let pending = std::mem::take(&mut self.pending);
        if evaluated.len() != pending.len() || pending.is_empty() {
            // A truncated final batch (or a tell without ask): nothing to learn
            // from consistently.
            return;
        }
        let mut order: Vec<usize> = (0..pending.len()).collect();
        // Best (largest y[0]) first; NaN ranks last; stable for ties.
        let key = |i: usize| {
            let v = evaluated[i].y[0];
            if v.is_nan() {
                f64::NEG_INFINITY
            } else {
                v
            }
        };
        order.sort_by(|&a, &b| key(b).total_cmp(&key(a)));
        let ranked: Vec<&Vec<f64>> = order.iter().map(|&i| &pending[i]).collect();
        self.update(&ranked);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::functions::Sphere;
    use crate::optimizer::run;
    use crate::problem::{Problem, Sense};

    fn best_raw(trace: &crate::optimizer::Trace<Vec<f64>>) -> f64 {
        trace
            .entries
            .iter()
            .map(|e| e.raw[0])
            .fold(f64::INFINITY, f64::min)
    }

    #[test]
    fn told_solutions_move_the_mean_towards_the_fitter_ones() {
        let space = BoxSpace::cube(2, 0.0, 1.0);
        let xs = vec![
            vec![0.2, 0.2],
            vec![0.8, 0.8],
            vec![0.25, 0.2],
            vec![0.75, 0.8],
        ];
        // Fitness high near (0.2, 0.2).
        let fit: Vec<f64> = xs.iter().map(|x| -(x[0] + x[1])).collect();
        let mut es = CmaEs::new(space.clone(), Some(vec![0.5, 0.5]), 0.2, Some(4));
        es.tell_solutions(&xs, &fit);
        assert!(
            es.mean()[0] < 0.5 && es.generation() == 1,
            "{:?}",
            es.mean()
        );
        // Negated fitness (LaMOO's sign slip) pulls the other way.
        let neg: Vec<f64> = fit.iter().map(|f| -f).collect();
        let mut es = CmaEs::new(space.clone(), Some(vec![0.5, 0.5]), 0.2, Some(4));
        es.tell_solutions(&xs, &neg);
        assert!(es.mean()[0] > 0.5, "{:?}", es.mean());
        // Not a whole population: ignored.
        let mut es = CmaEs::new(space, Some(vec![0.5, 0.5]), 0.2, Some(4));
        es.tell_solutions(&xs[..3], &fit[..3]);
        assert_eq!(es.generation(), 0);
    }

    /// pycma's transform: identity inside, continuous at the margins, onto
    /// `[0, 1]`, periodic; its inverse undoes it on the box.
    #[test]
    fn pycma_transform_maps_onto_the_box_and_inverts() {
        let (al, au) = (0.05, 0.1);
        for &x in &[0.05, 0.3, 0.9] {
            assert_eq!(lin_quad(x, al, au), x);
        }
        assert!((lin_quad(-0.05, al, au)).abs() < 1e-15);
        assert!((lin_quad(1.1, al, au) - 1.0).abs() < 1e-15);
        // Mirrored around -al, and periodic with 2 (1 + al + au).
        assert!((lin_quad(-0.07, al, au) - lin_quad(-0.03, al, au)).abs() < 1e-15);
        let r = 2.0 * (1.0 + al + au);
        assert!((lin_quad(0.4 + 3.0 * r, al, au) - 0.4).abs() < 1e-12);
        for i in 0..=1000 {
            let x = -5.0 + 0.01 * f64::from(i);
            let y = lin_quad(x, al, au);
            assert!((0.0..=1.0).contains(&y), "{x} -> {y}");
        }
        for i in 0..=100 {
            let y = 0.01 * f64::from(i);
            let g = lin_quad_inverse(y, al, au);
            assert!((lin_quad(g, al, au) - y).abs() < 1e-12, "{y}");
        }
    }

    /// Under pycma's transform, candidates come back in the box and pile up
    /// near a bound the mean sits on; told foreign solutions far from the
    /// mean are pulled in to the repair length.
    #[test]
    fn pycma_bounds_keep_candidates_in_the_box() {
        let space = BoxSpace::new(vec![1.0, 1.0], vec![3.0, 3.0]);
        let mut es = CmaEs::new(space.clone(), Some(vec![1.0, 2.0]), 0.2, Some(50))
            .with_bounds(CmaBounds::PycmaTransform);
        let mut rng = Stream::root("pycma-bounds");
        let xs = es.ask(&mut rng);
        assert!(xs.iter().flatten().all(|v| (1.0..=3.0).contains(v)));
        let near = xs.iter().filter(|x| x[0] < 1.1).count();
        let mut plain = CmaEs::new(space, Some(vec![1.0, 2.0]), 0.2, Some(50));
        let near_plain = plain.ask(&mut rng).iter().filter(|x| x[0] < 1.1).count();
        assert!(near > near_plain, "{near} vs {near_plain}");
        // Foreign solutions far away: the mean moves by at most the repair
        // length (sqrt 2 + 1 sigmas) instead of all the way.
        let far = vec![vec![2.9, 2.9]; 50];
        let fit: Vec<f64> = (0..50).map(f64::from).collect();
        let before = es.mean();
        es.tell_solutions(&far, &fit);
        let after = es.mean();
        let step = ((after[0] - before[0]).powi(2) + (after[1] - before[1]).powi(2)).sqrt() / 2.0;
        assert!(step <= 0.2 * (2f64.sqrt() + 1.0) + 1e-9, "{step}");
    }

    #[test]
    fn default_parameters_match_tutorial() {
        let es = CmaEs::new(BoxSpace::cube(10, 0.0, 1.0), None, 0.3, None);
        assert_eq!(es.popsize(), 10);
        assert_eq!(es.weights.len(), 5);
        assert!((es.weights.iter().sum::<f64>() - 1.0).abs() < 1e-15);
        assert!(es.weights.windows(2).all(|w| w[0] > w[1]));
        assert!((es.mu_eff - 3.1672).abs() < 1e-3, "{}", es.mu_eff);
    }

    #[test]
    fn sphere_10d_to_1e_minus_8() {
        let problem = Sphere::new(10);
        let mut es = CmaEs::new(problem.space().clone(), None, 0.3, None);
        let mut rng = Stream::for_run("cmaes-test", "sphere", 0);
        let trace = run(&problem, &mut es, 6000, &mut rng, &mut []);
        let best = best_raw(&trace);
        assert!(best < 1e-8, "best {best}");
    }

    #[test]
    fn sphere_from_offset_start_stays_in_box() {
        let problem = Sphere::new(4);
        let x0 = vec![4.0, -4.0, 3.0, 4.9];
        let mut es = CmaEs::new(problem.space().clone(), Some(x0), 0.5, Some(12));
        let mut rng = Stream::root("cmaes-box");
        let trace = run(&problem, &mut es, 3000, &mut rng, &mut []);
        assert!(trace.entries.iter().all(|e| problem.space().contains(&e.x)));
        assert!(best_raw(&trace) < 1e-10);
        assert!(es.mean().iter().all(|m| m.abs() < 1e-4));
    }

    /// Rosenbrock on [-2, 2]^d, minimised; optimum 0 at (1, ..., 1).
    struct Rosenbrock(BoxSpace);
    impl Problem for Rosenbrock {
        type Space = BoxSpace;
        fn name(&self) -> String {
            "rosenbrock".into()
        }
        fn space(&self) -> &BoxSpace {
            &self.0
        }
        fn senses(&self) -> Vec<Sense> {
            vec![Sense::Minimize]
        }
        fn evaluate(&self, x: &Vec<f64>) -> Vec<f64> {
            vec![x
                .windows(2)
                .map(|w| 100.0 * (w[1] - w[0] * w[0]).powi(2) + (1.0 - w[0]).powi(2))
                .sum()]
        }
    }

    /// Ellipsoid with condition 1e6 in a random rotation, shifted to `shift`.
    struct RotatedEllipsoid {
        space: BoxSpace,
        rot: Vec<Vec<f64>>,
        shift: Vec<f64>,
    }
    impl Problem for RotatedEllipsoid {
        type Space = BoxSpace;
        fn name(&self) -> String {
            "rot-ellipsoid".into()
        }
        fn space(&self) -> &BoxSpace {
            &self.space
        }
        fn senses(&self) -> Vec<Sense> {
            vec![Sense::Minimize]
        }
        fn evaluate(&self, x: &Vec<f64>) -> Vec<f64> {
            let n = x.len();
            let z: Vec<f64> = x.iter().zip(&self.shift).map(|(a, b)| a - b).collect();
            let rz = crate::linalg::mat_vec(&self.rot, &z);
            vec![rz
                .iter()
                .enumerate()
                .map(|(i, v)| 1e6f64.powf(i as f64 / (n - 1) as f64) * v * v)
                .sum()]
        }
    }

    #[test]
    fn rosenbrock_5d_reaches_optimum() {
        let problem = Rosenbrock(BoxSpace::cube(5, -2.0, 2.0));
        let mut es = CmaEs::new(problem.space().clone(), None, 0.25, None);
        let mut rng = Stream::for_run("cmaes-test", "rosenbrock", 0);
        let trace = run(&problem, &mut es, 10_000, &mut rng, &mut []);
        let best = best_raw(&trace);
        assert!(best < 1e-8, "best {best}");
        assert!(
            es.mean().iter().all(|m| (m - 1.0).abs() < 1e-3),
            "{:?}",
            es.mean()
        );
    }

    #[test]
    fn rotated_ellipsoid_5d_learns_covariance() {
        let n = 5;
        let mut rng = Stream::root("cmaes-rot");
        let g: Vec<Vec<f64>> = (0..n)
            .map(|_| (0..n).map(|_| rng.normal()).collect())
            .collect();
        let sym: Vec<Vec<f64>> = (0..n)
            .map(|i| (0..n).map(|j| g[i][j] + g[j][i]).collect())
            .collect();
        // Eigenvectors of a random symmetric matrix: a random rotation.
        let (_, v) = symmetric_eigen(&sym);
        let problem = RotatedEllipsoid {
            space: BoxSpace::cube(n, -5.0, 5.0),
            rot: v,
            shift: vec![1.0, -2.0, 0.5, 2.0, -1.0],
        };
        let start = rng.clone();
        let mut es = CmaEs::new(problem.space().clone(), None, 0.3, None);
        let trace = run(&problem, &mut es, 6000, &mut rng, &mut []);
        let hit = trace.entries.iter().position(|e| e.raw[0] < 1e-8);
        let hit = hit.expect("reaches 1e-8 within 6000 evaluations");
        // Rerun up to the hit: by then C should mirror the 1e6 conditioning
        // (later, at round-off level, the ranking is noise and C drifts).
        let mut es = CmaEs::new(problem.space().clone(), None, 0.3, None);
        run(&problem, &mut es, hit + 1, &mut start.clone(), &mut []);
        let cond = es.condition_number();
        assert!(cond > 1e4, "cond {cond} after {hit} evaluations");
    }

    #[test]
    fn truncated_batch_is_ignored_and_deterministic() {
        let problem = Sphere::new(3);
        let go = || {
            let mut es = CmaEs::new(problem.space().clone(), None, 0.3, None);
            let mut rng = Stream::for_run("cmaes-det", "cmaes", 7);
            // 7 lambda = 7 points per ask; 50 is not a multiple.
            let t = run(&problem, &mut es, 50, &mut rng, &mut []);
            (
                t.entries.into_iter().map(|e| e.x).collect::<Vec<_>>(),
                es.generation(),
            )
        };
        let (a, ga) = go();
        let (b, _) = go();
        assert_eq!(a, b);
        assert_eq!(ga, 50 / 7);
    }

    #[test]
    fn high_dimensional_runs_quickly() {
        let problem = Sphere::new(100);
        let mut es = CmaEs::new(problem.space().clone(), None, 0.2, None);
        let mut rng = Stream::root("cmaes-100d");
        let trace = run(&problem, &mut es, 3000, &mut rng, &mut []);
        let start = trace.entries[0].raw[0];
        assert!(best_raw(&trace) < 0.2 * start);
    }
}
