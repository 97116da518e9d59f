//! The planners the authors compare with, as in their code
//! (`lamcts_planning/methods/`), as ask/tell optimisers over the flattened
//! action sequence: [`Cem`], [`Voo`], [`RandomShooting`], [`Mppi`]. CMA-ES
//! is core's (`searchkit::baselines::CmaEs`, see the driver for its set-up);
//! iLQR needs a model, not only returns, and lives in [`crate::ilqr`].

use searchkit::optimizer::{Evaluated, Optimizer};
use searchkit::rng::Stream;

/// The cross-entropy method of `methods/cem/cem.py` (Gaussian mode):
/// `iters` rounds of `n` samples; the `elite` best set the next round's
/// per-coordinate mean and standard deviation (ddof 0). Its quirk kept: a
/// random offset `instr ~ N(0, I)` is drawn once and every sample `s` is
/// evaluated at `instr - s`, with `s ~ N(0, init_scale^2)` in the first
/// round. The code's set-up: `n = budget / 10`, `elite = n / 10`,
/// `init_scale = cmaes_sigma_mult = 1`.
#[derive(Clone, Debug)]
pub struct Cem {
    dim: usize,
    n: usize,
    elite: usize,
    instr: Option<Vec<f64>>,
    mu: Vec<f64>,
    sigma: Vec<f64>,
    /// The raw samples `s` of the last ask.
    pending: Vec<Vec<f64>>,
}

impl Cem {
    pub fn new(dim: usize, n: usize, elite: usize, init_scale: f64) -> Self {
        Self {
            dim,
            n: n.max(1),
            elite: elite.clamp(1, n.max(1)),
            instr: None,
            mu: vec![0.0; dim],
            sigma: vec![init_scale; dim],
            pending: Vec::new(),
        }
    }
}

impl Optimizer<Vec<f64>> for Cem {
    fn name(&self) -> String {
        "cem".into()
    }

    fn ask(&mut self, rng: &mut Stream) -> Vec<Vec<f64>> {
        let dim = self.dim;
        let instr = self
            .instr
            .get_or_insert_with(|| (0..dim).map(|_| rng.normal()).collect())
            .clone();
        self.pending = (0..self.n)
            .map(|_| {
                (0..dim)
                    .map(|j| self.mu[j] + (self.sigma[j] + 1e-17) * rng.normal())
                    .collect()
            })
            .collect();
        self.pending
            .iter()
            .map(|s| instr.iter().zip(s).map(|(a, b)| a - b).collect())
            .collect()
    }

    fn tell(&mut self, evaluated: &[Evaluated<Vec<f64>>], _rng: &mut Stream) {
        let pending = std::mem::take(&mut self.pending);
        if evaluated.len() != pending.len() {
            return;
        }
        let mut order: Vec<usize> = (0..pending.len()).collect();
        order.sort_by(|&a, &b| evaluated[b].y[0].total_cmp(&evaluated[a].y[0]));
        let elite: Vec<&Vec<f64>> = order[..self.elite].iter().map(|&i| &pending[i]).collect();
        let m = elite.len() as f64;
        for j in 0..self.dim {
            let mu = elite.iter().map(|s| s[j]).sum::<f64>() / m;
            let var = elite.iter().map(|s| (s[j] - mu).powi(2)).sum::<f64>() / m;
            self.mu[j] = mu;
            self.sigma[j] = var.sqrt();
        }
    }
}

/// VOO (`methods/voo/voo.py`, `centered_uniform` mode) on the box
/// `[-half_width, half_width]^d` (the code: `[-1, 1] * init_sigma_mult`):
/// with probability `1 - explr_p` (once two points are known) a point of the
/// best point's Voronoi cell, drawn uniformly in a box around the best that
/// shrinks by `e` per try until the point is at least as close to the best
/// as to every other (the closest try to the best is returned, as the code
/// does); otherwise a uniform point of the box.
#[derive(Clone, Debug)]
pub struct Voo {
    dim: usize,
    half_width: f64,
    explr_p: f64,
    xs: Vec<Vec<f64>>,
    ys: Vec<f64>,
}

impl Voo {
    pub fn new(dim: usize, half_width: f64, explr_p: f64) -> Self {
        Self {
            dim,
            half_width,
            explr_p,
            xs: Vec::new(),
            ys: Vec::new(),
        }
    }

    fn best_cell(&self, rng: &mut Stream) -> Vec<f64> {
        let best_i = (0..self.ys.len()).fold(0, |b, i| if self.ys[i] > self.ys[b] { i } else { b });
        let best = &self.xs[best_i];
        let dist = |a: &[f64], b: &[f64]| {
            a.iter()
                .zip(b)
                .map(|(x, y)| (x - y).powi(2))
                .sum::<f64>()
                .sqrt()
        };
        let (lo, hi) = (-self.half_width, self.half_width);
        let mut closest = (f64::INFINITY, best.clone());
        // Bounded for safety: after 60 tries the box is e^-60 of the domain.
        for counter in 1..=60 {
            let scale = (counter as f64).exp();
            let x: Vec<f64> = best
                .iter()
                .map(|&b| {
                    let (pmin, pmax) = ((lo - b) / scale, (hi - b) / scale);
                    b + pmin + (pmax - pmin) * rng.uniform()
                })
                .collect();
            let d_best = dist(&x, best);
            let inside = self.xs.iter().all(|o| d_best <= dist(o, &x));
            if d_best < closest.0 {
                closest = (d_best, x);
            }
            if inside {
                break;
            }
        }
        closest.1
    }
}

impl Optimizer<Vec<f64>> for Voo {
    fn name(&self) -> String {
        "voo".into()
    }

    fn ask(&mut self, rng: &mut Stream) -> Vec<Vec<f64>> {
        let r = rng.uniform();
        let x = if r < 1.0 - self.explr_p && self.xs.len() > 1 {
            self.best_cell(rng)
        } else {
            (0..self.dim)
                .map(|_| -self.half_width + 2.0 * self.half_width * rng.uniform())
                .collect()
        };
        vec![x]
    }

    fn tell(&mut self, evaluated: &[Evaluated<Vec<f64>>], _rng: &mut Stream) {
        for e in evaluated {
            self.xs.push(e.x.clone());
            self.ys.push(e.y[0]);
        }
    }
}

/// Random shooting (`methods/random_shooting`): i.i.d. `N(0, sigma^2)`
/// actions (`sigma = cmaes_sigma_mult = 1`). The shipped file crashes
/// (`rollout` is called with a list where it needs an array), so this is the
/// method as its name defines it, with the code's distribution.
#[derive(Clone, Debug)]
pub struct RandomShooting {
    pub dim: usize,
    pub sigma: f64,
}

impl Optimizer<Vec<f64>> for RandomShooting {
    fn name(&self) -> String {
        "random-shooting".into()
    }
    fn ask(&mut self, rng: &mut Stream) -> Vec<Vec<f64>> {
        vec![(0..self.dim).map(|_| self.sigma * rng.normal()).collect()]
    }
    fn tell(&mut self, _evaluated: &[Evaluated<Vec<f64>>], _rng: &mut Stream) {}
}

/// MPPI as `methods/mppi/mppi.py`: rounds of `samples` plans drawn from
/// `N(mean, sigma^2 I)` (mean 0 at first, `sigma = cmaes_sigma_mult = 1`);
/// after each round the mean becomes the softmax-weighted average of the
/// round's plans, weights `exp((r - max r) / lambda)`.
///
/// The code's temperature is the round's return range over 5 (it divides
/// the returns by `max - min` and multiplies by 5), so a round whose
/// returns are all equal divides by zero: at the code's default of one
/// sample per round (`--samples_per_iteration 1`) that is every round, and
/// from the first update on every plan is NaN. Fixes, said where used:
/// equal returns get equal weights (the limit of the softmax at any finite
/// temperature), `temperature: Some(lambda)` is the MPPI paper's fixed
/// temperature instead of the range rule, and the driver runs more than
/// one sample per round (with one, any weighting makes the mean the last
/// sample: a random walk, not MPPI).
#[derive(Clone, Debug)]
pub struct Mppi {
    dim: usize,
    samples: usize,
    sigma: f64,
    temperature: Option<f64>,
    mean: Vec<f64>,
}

impl Mppi {
    /// `temperature: None` is the code's rule (range / 5).
    pub fn new(dim: usize, samples: usize, sigma: f64, temperature: Option<f64>) -> Self {
        Self {
            dim,
            samples: samples.max(1),
            sigma,
            temperature,
            mean: vec![0.0; dim],
        }
    }

    /// The mean plan.
    pub fn mean(&self) -> &[f64] {
        &self.mean
    }

    /// The round's softmax weights for returns `r` (higher is better).
    pub fn weights(&self, r: &[f64]) -> Vec<f64> {
        let max = r.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let min = r.iter().copied().fold(f64::INFINITY, f64::min);
        let scale = match self.temperature {
            Some(lambda) => 1.0 / lambda,
            None if max > min => 5.0 / (max - min),
            // Equal returns: equal weights, not the code's 0 / 0.
            None => 0.0,
        };
        let z: Vec<f64> = r.iter().map(|v| ((v - max) * scale).exp()).collect();
        let total: f64 = z.iter().sum();
        z.iter().map(|v| v / total).collect()
    }
}

impl Optimizer<Vec<f64>> for Mppi {
    fn name(&self) -> String {
        "mppi".into()
    }

    fn ask(&mut self, rng: &mut Stream) -> Vec<Vec<f64>> {
        (0..self.samples)
            .map(|_| {
                self.mean
                    .iter()
                    .map(|m| m + self.sigma * rng.normal())
                    .collect()
            })
            .collect()
    }

    fn tell(&mut self, evaluated: &[Evaluated<Vec<f64>>], _rng: &mut Stream) {
        if evaluated.is_empty() {
            return;
        }
        let r: Vec<f64> = evaluated.iter().map(|e| e.y[0]).collect();
        let w = self.weights(&r);
        self.mean = (0..self.dim)
            .map(|j| evaluated.iter().zip(&w).map(|(e, w)| w * e.x[j]).sum())
            .collect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(opt: &mut dyn Optimizer<Vec<f64>>, f: impl Fn(&[f64]) -> f64, budget: usize) -> f64 {
        let mut rng = Stream::root("baseline");
        let mut best = f64::NEG_INFINITY;
        let mut n = 0;
        while n < budget {
            let xs = opt.ask(&mut rng);
            let told: Vec<Evaluated<Vec<f64>>> = xs
                .into_iter()
                .map(|x| Evaluated { y: vec![f(&x)], x })
                .collect();
            n += told.len();
            best = told.iter().map(|e| e.y[0]).fold(best, f64::max);
            opt.tell(&told, &mut rng);
        }
        best
    }

    #[test]
    fn baselines_improve_on_a_shifted_sphere() {
        let f = |x: &[f64]| -x.iter().map(|v| (v - 0.5).powi(2)).sum::<f64>();
        let start = f(&[0.0; 4]);
        let cem = run(&mut Cem::new(4, 50, 5, 1.0), f, 500);
        assert!(cem > -1e-3, "cem {cem}");
        let voo = run(&mut Voo::new(4, 2.0, 0.3), f, 300);
        assert!(voo > -0.05, "voo {voo}");
        let rs = run(&mut RandomShooting { dim: 4, sigma: 1.0 }, f, 200);
        assert!(rs > start - 1.0, "random shooting {rs}");
    }

    #[test]
    fn mppi_improves_on_its_start_and_is_deterministic() {
        let f = |x: &[f64]| -x.iter().map(|v| (v - 0.5).powi(2)).sum::<f64>();
        let start = f(&[0.0; 4]);
        let mut a = Mppi::new(4, 20, 0.3, None);
        let best = run(&mut a, f, 400);
        assert!(best > start + 0.8, "mppi {best} from {start}");
        assert!(f(a.mean()) > start + 0.8, "mean {:?}", a.mean());
        let mut b = Mppi::new(4, 20, 0.3, None);
        assert_eq!(run(&mut b, f, 400), best);
        assert_eq!(a.mean(), b.mean());
        let mut c = Mppi::new(4, 20, 0.3, Some(0.05));
        assert!(run(&mut c, f, 400) > start + 0.8);
    }

    #[test]
    fn mppi_weights_equal_returns_equally_instead_of_dividing_by_zero() {
        let m = Mppi::new(2, 1, 1.0, None);
        assert_eq!(m.weights(&[-3.0]), vec![1.0]);
        assert_eq!(m.weights(&[-2.0, -2.0]), vec![0.5, 0.5]);
        // The code's rule: exp(5 (r - max) / (max - min)).
        let w = m.weights(&[0.0, -1.0]);
        let e = (-5f64).exp();
        assert!((w[0] - 1.0 / (1.0 + e)).abs() < 1e-15 && (w[1] - e / (1.0 + e)).abs() < 1e-15);
        let t = Mppi::new(2, 1, 1.0, Some(1.0)).weights(&[0.0, -1.0]);
        assert!((t[1] / t[0] - (-1f64).exp()).abs() < 1e-15);
    }
}
