//! LaP3 as a configuration of core's `PartitionSearch` ([`Lap3Config`] is
//! its `Preset`), the CMA-ES leaf solver as the authors run it
//! ([`LeafCma`]), and the planning loop that rolls plans out with or without
//! frames ([`plan`], [`Objective`]).

use std::collections::HashMap;
use std::sync::Arc;

use searchkit::optimizer::{Evaluated, Optimizer};
use searchkit::partition::{
    Backprop, Cp, FromLabeller, Growth, LeafContext, LeafSampler, PartitionSearch, Partitioner,
    Preset, RegionSampling, SearchError, SearchSettings, Selector, Setup, TreeConfig, Ucb,
};
use searchkit::rng::Stream;

use crate::encoder::{Encoder, FrameShape};
use crate::partition::{Frames, Lap3Labeller, Metric, Plan, PlanSpace};

/// LaP3's settings; the defaults are the authors' MiniWorld command
/// (`--Cp 2 --iterations 2000 --init_sigma_mult 8 --latent --latent_model
/// cnn --final_obs_split`, the rest `main.py`'s defaults).
#[derive(Clone, Debug, PartialEq)]
pub struct Lap3Config {
    /// UCB's `Cp` (2).
    pub cp: f64,
    /// A leaf holding more samples is split (`leaf_size`, 20).
    pub leaf_size: usize,
    /// The tree is rebuilt every this many samples (`treeify_freq`, 50).
    pub rebuild_every: usize,
    /// Initial samples (`ninits`, 50).
    pub init: usize,
    /// Their standard deviation (`init_sigma_mult`, 8).
    pub init_sigma: f64,
    /// Node value: max (LaP3) or mean (`split_metric`).
    pub metric: Metric,
    /// Partition in the latent space of the rollouts' frames (`--latent`)
    /// rather than in action space.
    pub latent: bool,
    /// The frames per rollout the latent reads.
    pub frames: FrameShape,
    /// Leaf samples told to the CMA-ES (`max(leaf_size, samples_per_iteration)`, 20).
    pub top: usize,
    /// Factor on the leaf CMA-ES's `sigma0` (`cmaes_sigma_mult`, 1).
    pub sigma_mult: f64,
}

impl Default for Lap3Config {
    fn default() -> Self {
        Self {
            cp: 2.0,
            leaf_size: 20,
            rebuild_every: 50,
            init: 50,
            init_sigma: 8.0,
            metric: Metric::Max,
            latent: true,
            frames: FrameShape::MAZE_S3,
            top: 20,
            sigma_mult: 1.0,
        }
    }
}

/// A refused [`Lap3Config`] or search set-up.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum Lap3Error {
    #[error("Cp must be finite and >= 0, got {0}")]
    Cp(f64),
    #[error("{name} must be at least 1, got 0")]
    Zero { name: &'static str },
    #[error("{name} must be finite and > 0, got {value}")]
    Positive { name: &'static str, value: f64 },
    #[error(transparent)]
    Search(#[from] SearchError),
}

impl Preset for Lap3Config {
    type Labeller = Lap3Labeller;
    type Learner = FromLabeller;
    type Score = Metric;
    type Error = Lap3Error;

    fn validate(&self) -> Result<(), Lap3Error> {
        if !(self.cp.is_finite() && self.cp >= 0.0) {
            return Err(Lap3Error::Cp(self.cp));
        }
        for (name, v) in [
            ("leaf_size", self.leaf_size),
            ("rebuild_every", self.rebuild_every),
            ("init", self.init),
            ("top", self.top),
            ("frames", self.frames.frames),
        ] {
            if v == 0 {
                return Err(Lap3Error::Zero { name });
            }
        }
        for (name, value) in [
            ("init_sigma", self.init_sigma),
            ("sigma_mult", self.sigma_mult),
        ] {
            if !(value.is_finite() && value > 0.0) {
                return Err(Lap3Error::Positive { name, value });
            }
        }
        Ok(())
    }

    fn needs_reference(&self) -> bool {
        false
    }

    fn setup(&self, _reference: Option<&[f64]>) -> Setup<Lap3Labeller, FromLabeller, Metric> {
        Setup {
            partitioner: Partitioner {
                labeller: Lap3Labeller {
                    metric: self.metric,
                    ..Lap3Labeller::default()
                },
                learner: FromLabeller,
                score: self.metric,
                config: TreeConfig {
                    leaf_size: self.leaf_size,
                    cp: self.cp,
                    ucb: Ucb::SqrtParent,
                    max_nodes: None,
                    growth: Growth::Adaptive,
                },
            },
            settings: SearchSettings {
                name: match (self.latent, self.metric) {
                    (true, Metric::Max) => "lap3".into(),
                    (false, Metric::Max) => "lap3-actions".into(),
                    (true, Metric::Mean) => "lap3-mean".into(),
                    (false, Metric::Mean) => "lap3-actions-mean".into(),
                },
                init: self.init,
                design: searchkit::partition::InitialDesign::Uniform,
                batch: 1,
                rebuild_every: self.rebuild_every,
                backprop: Backprop::Selected {
                    max: self.metric == Metric::Max,
                },
                cp: Cp::Fixed(self.cp),
                selector: Selector::descent(),
                fallback: RegionSampling::default(),
                clip: false,
                episodes: false,
                needs_reference: false,
            },
        }
    }
}

/// LaP3's leaf solver (`Classifier.propose_samples_cmaes` with one sample per
/// iteration), a fresh CMA-ES every ask:
/// - the leaf's samples, including those added to it since the last rebuild
///   (the code back-propagates each new sample into the selected leaf's
///   bag), ranked by value (stable); the best `top` are kept when the leaf
///   holds more than one;
/// - `x0` = their mean, `sigma0 = sigma_mult * max(1, mean per-coordinate
///   standard deviation)`, population `max(2, kept)`;
/// - they are told to the CMA-ES as one generation, and one member of the
///   next generation is proposed (the code shuffles the generation and
///   evaluates the first). With fewer than two kept, the point is a draw of
///   the initial distribution (the code's padding draw);
/// - no bound or region is enforced.
///
/// One CMA-ES update from a fresh state: the weighted recombination of the
/// best half (positive log weights), the step-size path from zero, `sigma`
/// by cumulative step-size adaptation (Hansen's tutorial constants), and the
/// next generation drawn from `N(m', sigma'^2 I)`: pycma decomposes the
/// covariance lazily (every ~80 generations at this dimension and
/// population), so its first generation after a tell is still isotropic.
/// Differences: pycma's own CSA constants, its repair of told points lying
/// more than `sqrt(n) + 2n/(n+2)` Mahalanobis units from the mean, and its
/// random draws.
#[derive(Clone, Debug)]
pub struct LeafCma {
    pub top: usize,
    pub sigma_mult: f64,
    generation: usize,
    /// Sample indices added to each leaf since the last rebuild.
    added: HashMap<usize, Vec<usize>>,
    /// The leaf and first sample index of the last proposal.
    pending: Option<(usize, usize)>,
}

impl LeafCma {
    pub fn new(top: usize, sigma_mult: f64) -> Self {
        Self {
            top,
            sigma_mult,
            generation: 0,
            added: HashMap::new(),
            pending: None,
        }
    }
}

/// The mean and step size after one CMA-ES generation `ranked` (best
/// first, all of one population) from a fresh state at `x0` with `sigma0`.
pub fn one_generation(ranked: &[&[f64]], x0: &[f64], sigma0: f64) -> (Vec<f64>, f64) {
    let n = x0.len();
    let nf = n as f64;
    let lambda = ranked.len().max(2);
    let mu = (lambda / 2).max(1).min(ranked.len());
    let raw: Vec<f64> = (1..=mu)
        .map(|i| ((lambda as f64 + 1.0) / 2.0).ln() - (i as f64).ln())
        .collect();
    let total: f64 = raw.iter().sum();
    let w: Vec<f64> = raw.iter().map(|v| v / total).collect();
    let mu_eff = 1.0 / w.iter().map(|v| v * v).sum::<f64>();
    let mut step = vec![0.0; n];
    for (wi, x) in w.iter().zip(ranked) {
        for (s, (xi, mi)) in step.iter_mut().zip(x.iter().zip(x0)) {
            *s += wi * (xi - mi);
        }
    }
    let mean: Vec<f64> = x0.iter().zip(&step).map(|(m, s)| m + s).collect();
    let c_sigma = (mu_eff + 2.0) / (nf + mu_eff + 5.0);
    let d_sigma = 1.0 + 2.0 * (((mu_eff - 1.0) / (nf + 1.0)).sqrt() - 1.0).max(0.0) + c_sigma;
    let chi_n = nf.sqrt() * (1.0 - 1.0 / (4.0 * nf) + 1.0 / (21.0 * nf * nf));
    // p_sigma from zero with C = I: sqrt(c(2-c) mu_eff) (m' - m) / sigma.
    let norm = step.iter().map(|v| v * v).sum::<f64>().sqrt() / sigma0;
    let ps = (c_sigma * (2.0 - c_sigma) * mu_eff).sqrt() * norm;
    let sigma = sigma0 * ((c_sigma / d_sigma) * (ps / chi_n - 1.0)).exp();
    (mean, sigma)
}

impl LeafSampler<PlanSpace> for LeafCma {
    fn name(&self) -> String {
        "cmaes".into()
    }

    fn propose(&mut self, ctx: &LeafContext<'_, PlanSpace>, rng: &mut Stream) -> Vec<Plan> {
        if ctx.generation != self.generation {
            self.generation = ctx.generation;
            self.added.clear();
        }
        let node = ctx.region.node();
        let mut pool: Vec<usize> = ctx.region.indices().to_vec();
        if let Some(extra) = self.added.get(&node) {
            pool.extend(extra);
        }
        let value = |i: usize| ctx.samples.value(i);
        if pool.len() > ctx.batch.max(1) {
            pool.sort_by(|&a, &b| value(b).total_cmp(&value(a)));
            pool.truncate(self.top.max(ctx.batch.max(1)));
        }
        let d = ctx.space.dim;
        let xs: Vec<&[f64]> = pool
            .iter()
            .map(|&i| ctx.points[i].actions.as_slice())
            .collect();
        let m = xs.len().max(1) as f64;
        let x0: Vec<f64> = (0..d)
            .map(|j| xs.iter().map(|x| x[j]).sum::<f64>() / m)
            .collect();
        let sd = if xs.is_empty() {
            0.0
        } else {
            (0..d)
                .map(|j| (xs.iter().map(|x| (x[j] - x0[j]).powi(2)).sum::<f64>() / m).sqrt())
                .sum::<f64>()
                / d as f64
        };
        let sigma0 = sd.max(1.0) * self.sigma_mult;
        let (mean, sigma) = if xs.len() < 2 {
            (x0, sigma0)
        } else {
            one_generation(&xs, &x0, sigma0)
        };
        let x: Vec<f64> = mean.iter().map(|m| m + sigma * rng.normal()).collect();
        self.pending = Some((node, ctx.samples.len()));
        vec![Plan::new(x)]
    }

    fn observe(&mut self, xs: &[Plan], _ys: &[Vec<f64>]) {
        if let Some((node, first)) = self.pending.take() {
            self.added
                .entry(node)
                .or_default()
                .extend(first..first + xs.len());
        }
    }
}

/// LaP3 on the partition engine.
pub type Lap3 = PartitionSearch<Lap3Config, LeafCma, PlanSpace>;

/// LaP3 planning `dim` actions with `config`; with the latent on, the
/// random encoder is drawn from `rng.child("encoder")` (a fresh one per
/// plan, as the code's).
pub fn lap3(config: Lap3Config, dim: usize, rng: &Stream) -> Result<Lap3, Lap3Error> {
    let encoder = config
        .latent
        .then(|| Arc::new(Encoder::random(config.frames, &mut rng.child("encoder"))));
    let space = PlanSpace {
        dim,
        init_sigma: config.init_sigma,
        encoder,
    };
    let sampler = LeafCma::new(config.top, config.sigma_mult);
    PartitionSearch::new(space, config, sampler)
}

/// One rollout's result.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    /// The return (maximised).
    pub value: f64,
    /// The frames the latent reads ([`FrameShape::bytes`] long), when asked.
    pub frames: Option<Vec<u8>>,
}

/// What a plan is rolled out in: the return of an action sequence and, when
/// `frames` is asked (LaP3 with the latent), the frames of the rollout.
/// Every `FnMut(&[f64]) -> f64` closure is one (without frames).
pub trait Objective {
    type Error: std::fmt::Display;
    fn rollout(&mut self, actions: &[f64], frames: bool) -> Result<Outcome, Self::Error>;
}

impl<F: FnMut(&[f64]) -> f64> Objective for F {
    type Error = std::convert::Infallible;
    fn rollout(&mut self, actions: &[f64], _frames: bool) -> Result<Outcome, Self::Error> {
        Ok(Outcome {
            value: self(actions),
            frames: None,
        })
    }
}

/// Why [`plan`] stopped early.
#[derive(Debug, thiserror::Error)]
pub enum PlanError<E: std::fmt::Display> {
    #[error("rollout {n}: {error}")]
    Rollout { n: usize, error: E },
    #[error("rollout {n}: the latent needs frames of {want} bytes, the objective gave {got:?}")]
    Frames {
        n: usize,
        want: usize,
        got: Option<usize>,
    },
}

/// Plan with LaP3 for `budget` rollouts of `objective`; the returns in
/// rollout order (the plan is the best of them).
pub fn plan<O: Objective>(
    search: &mut Lap3,
    objective: &mut O,
    budget: usize,
    rng: &mut Stream,
) -> Result<Vec<f64>, PlanError<O::Error>> {
    let latent = search.space().encoder.clone();
    let mut values = Vec::with_capacity(budget);
    while values.len() < budget {
        let mut plans = search.ask(rng);
        if plans.is_empty() {
            break;
        }
        plans.truncate(budget - values.len());
        let mut told = Vec::with_capacity(plans.len());
        for mut p in plans {
            let n = values.len() + 1;
            let out = objective
                .rollout(&p.actions, latent.is_some())
                .map_err(|error| PlanError::Rollout { n, error })?;
            if let Some(enc) = &latent {
                let want = enc.shape().bytes();
                match out.frames {
                    Some(f) if f.len() == want => p.frames = Some(Frames(Arc::new(f))),
                    other => {
                        return Err(PlanError::Frames {
                            n,
                            want,
                            got: other.map(|f| f.len()),
                        })
                    }
                }
            }
            values.push(out.value);
            told.push(Evaluated {
                x: p,
                y: vec![out.value],
            });
        }
        search.tell(&told, rng);
    }
    Ok(values)
}
