//! Samplers that propose points inside the region LA-MCTS selected.
//!
//! A [`RegionSampler`] is asked for a batch inside a [`Region`] and told the
//! values of what it proposed. A sampler that runs an *episode* over several
//! batches (TuRBO-1 in the LA-MCTS code runs until its trust region
//! collapses; [`CmaEsRegion`] runs a CMA-ES for a number of evaluations)
//! reports [`RegionSampler::in_episode`], and LA-MCTS then keeps the region
//! and does not rebuild the tree until the episode ends.
//!
//! Planned samplers (added in core later) fit without changes here:
//! - GP-EI, the code's `propose_samples_bo`: a GP on all of
//!   [`RegionContext::samples`], candidates from
//!   [`Region::candidates_around`], expected improvement over the best GP
//!   mean among [`Region::indices`], the best candidate proposed;
//! - TuRBO-1, the code's `propose_samples_turbo`: 30 initial points from
//!   [`Region::sample`], then trust-region batches (in episode) until the
//!   region collapses; every evaluation is told back and added.

use searchkit::baselines::CmaEs;
use searchkit::optimizer::{Evaluated, Optimizer};
use searchkit::partition::{Region, RegionSampling, Samples, Tree};
use searchkit::rng::Stream;
use searchkit::space::{BoxSpace, Space};

/// What a sampler sees when asked for points.
#[derive(Clone, Copy, Debug)]
pub struct RegionContext<'a> {
    /// The selected leaf's region (path classifiers and sample indices).
    pub region: &'a Region,
    /// Every evaluated sample so far (values maximised).
    pub samples: &'a Samples,
    /// The search box.
    pub space: &'a BoxSpace,
    /// The tree the region was selected from.
    pub tree: &'a Tree,
}

/// Proposes points inside a selected region.
pub trait RegionSampler: Send {
    /// A short name for records (`lamcts-<name>`).
    fn name(&self) -> String;
    /// Points to evaluate next, ideally inside `ctx.region`. An empty batch
    /// makes LA-MCTS fall back to one rejection-sampled point of the region.
    fn propose(&mut self, ctx: &RegionContext<'_>, rng: &mut Stream) -> Vec<Vec<f64>>;
    /// The values (maximised) of the last proposal, in order; `xs` may be
    /// shorter than proposed when the run's budget ran out.
    fn observe(&mut self, _xs: &[Vec<f64>], _values: &[f64]) {}
    /// Whether the sampler is in the middle of an episode and wants the same
    /// region again (LA-MCTS then skips the rebuild).
    fn in_episode(&self) -> bool {
        false
    }
}

impl<S: RegionSampler + ?Sized> RegionSampler for Box<S> {
    fn name(&self) -> String {
        (**self).name()
    }
    fn propose(&mut self, ctx: &RegionContext<'_>, rng: &mut Stream) -> Vec<Vec<f64>> {
        (**self).propose(ctx, rng)
    }
    fn observe(&mut self, xs: &[Vec<f64>], values: &[f64]) {
        (**self).observe(xs, values)
    }
    fn in_episode(&self) -> bool {
        (**self).in_episode()
    }
}

/// How [`RandomRegion`] draws.
#[derive(Clone, Debug, PartialEq)]
pub enum RandomDraw {
    /// Uniform in a box grown around a random in-region sample of the leaf
    /// until it crosses the boundary ([`Region::sample_around`]), with
    /// `probes` test points per doubling.
    Around { probes: usize },
    /// Uniform candidates on the whole box filtered by the path
    /// ([`Region::sample`]).
    Uniform(RegionSampling),
}

/// Random points of the region, `batch` per ask.
///
/// The LA-MCTS code has no random solver in its search loop; this is the
/// simplest one. With the code's SVM settings (RBF, `gamma = 1/d`, unscaled
/// box) regions are small pockets around samples, so whole-box rejection
/// sampling (`RandomDraw::Uniform`) mostly ends in its fallback; the
/// default draws around the leaf's samples as the code's BO candidates do.
#[derive(Clone, Debug, PartialEq)]
pub struct RandomRegion {
    pub batch: usize,
    pub draw: RandomDraw,
}

impl Default for RandomRegion {
    /// One point per ask (the code's BO sampler also proposes one per
    /// iteration), drawn around a leaf sample with 20 probes per doubling.
    fn default() -> Self {
        Self {
            batch: 1,
            draw: RandomDraw::Around { probes: 20 },
        }
    }
}

impl RegionSampler for RandomRegion {
    fn name(&self) -> String {
        "random".into()
    }
    fn propose(&mut self, ctx: &RegionContext<'_>, rng: &mut Stream) -> Vec<Vec<f64>> {
        match &self.draw {
            RandomDraw::Around { probes } => ctx.region.sample_around(
                self.batch,
                ctx.space,
                ctx.samples,
                *probes,
                RegionSampling::default().jitter,
                rng,
            ),
            RandomDraw::Uniform(opts) => {
                ctx.region
                    .sample(self.batch, ctx.space, ctx.samples, opts, rng)
            }
        }
    }
}

/// Where [`CmaEsRegion`] starts its CMA-ES inside the leaf (PlaLaM's
/// `init_within_leaf`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum CmaStart {
    /// The mean of the leaf's samples.
    #[default]
    Mean,
    /// The leaf's best sample.
    Best,
    /// A uniformly drawn sample of the leaf.
    Random,
}

/// CMA-ES inside the region, one episode per selected leaf.
///
/// The LA-MCTS code has no CMA-ES solver; the PlaLaM code
/// (`Classifier.propose_samples_cmaes`) starts a fresh CMA-ES in the leaf
/// and evaluates its points without checking the region. This variant keeps
/// PlaLaM's start and filters by the path:
/// - start at the mean / best / a random one of the leaf's samples inside the
///   region (all the leaf's samples if none is), with `sigma0` the mean
///   per-coordinate standard deviation of those samples in unit-cube units,
///   times `sigma_mult`, clamped to `[1e-3, 0.5]` (PlaLaM clamps it below at
///   1 in raw units and seeds the CMA-ES with the leaf's samples);
/// - each ask draws one generation; if fewer than half of it lies in the
///   region it is redrawn, up to `max_redraws` times; only the points inside
///   are proposed, and the CMA-ES is told the rest with value `-inf`;
/// - the episode ends after `episode_evals` evaluations, when `sigma`
///   falls below `1e-8`, or when a generation has no point in the region.
#[derive(Clone, Debug, Default)]
pub struct CmaEsRegion {
    pub settings: CmaEsSettings,
    episode: Option<Episode>,
}

/// Settings of [`CmaEsRegion`].
#[derive(Clone, Debug, PartialEq)]
pub struct CmaEsSettings {
    pub start: CmaStart,
    pub sigma_mult: f64,
    /// Population size (default `4 + floor(3 ln d)`).
    pub popsize: Option<usize>,
    pub episode_evals: usize,
    pub max_redraws: usize,
}

#[derive(Clone, Debug)]
struct Episode {
    es: CmaEs,
    /// The last generation (box coordinates) and which of it was proposed.
    generation: Vec<Vec<f64>>,
    inside: Vec<bool>,
    evals: usize,
}

impl Default for CmaEsSettings {
    /// Start at the mean, `sigma_mult = 1`, default population, 50
    /// evaluations per episode, 10 redraws.
    fn default() -> Self {
        Self {
            start: CmaStart::Mean,
            sigma_mult: 1.0,
            popsize: None,
            episode_evals: 50,
            max_redraws: 10,
        }
    }
}

impl CmaEsRegion {
    pub fn new(settings: CmaEsSettings) -> Self {
        Self {
            settings,
            episode: None,
        }
    }

    fn start_episode(&self, ctx: &RegionContext<'_>, rng: &mut Stream) -> CmaEs {
        let inside = ctx.region.inside_indices(ctx.samples);
        let pool: Vec<usize> = if inside.is_empty() {
            ctx.region.indices().to_vec()
        } else {
            inside
        };
        let space = ctx.space;
        let d = space.dim();
        if pool.is_empty() {
            return CmaEs::new(
                space.clone(),
                None,
                0.3 * self.settings.sigma_mult,
                self.settings.popsize,
            );
        }
        let units: Vec<Vec<f64>> = pool
            .iter()
            .map(|&i| space.to_unit(&ctx.samples.xs[i]))
            .collect();
        let m = units.len() as f64;
        let mean: Vec<f64> = (0..d)
            .map(|j| units.iter().map(|u| u[j]).sum::<f64>() / m)
            .collect();
        let sd = (0..d)
            .map(|j| (units.iter().map(|u| (u[j] - mean[j]).powi(2)).sum::<f64>() / m).sqrt())
            .sum::<f64>()
            / d as f64;
        let sigma0 = (sd * self.settings.sigma_mult).clamp(1e-3, 0.5);
        let x0 = match self.settings.start {
            CmaStart::Mean => space.from_unit(&mean),
            CmaStart::Best => {
                let best = pool.iter().copied().fold(pool[0], |b, i| {
                    if ctx.samples.value(i) > ctx.samples.value(b) {
                        i
                    } else {
                        b
                    }
                });
                ctx.samples.xs[best].clone()
            }
            CmaStart::Random => ctx.samples.xs[pool[rng.below(pool.len())]].clone(),
        };
        CmaEs::new(space.clone(), Some(x0), sigma0, self.settings.popsize)
    }
}

impl RegionSampler for CmaEsRegion {
    fn name(&self) -> String {
        "cmaes".into()
    }

    fn propose(&mut self, ctx: &RegionContext<'_>, rng: &mut Stream) -> Vec<Vec<f64>> {
        let mut ep = match self.episode.take() {
            Some(ep) => ep,
            None => Episode {
                es: self.start_episode(ctx, rng),
                generation: Vec::new(),
                inside: Vec::new(),
                evals: 0,
            },
        };
        for _ in 0..=self.settings.max_redraws {
            // Each ask replaces the CMA-ES's pending generation.
            ep.generation = ep.es.ask(rng);
            ep.inside = ctx.region.contains_batch(&ep.generation);
            if 2 * ep.inside.iter().filter(|&&k| k).count() >= ep.generation.len() {
                break;
            }
        }
        let out: Vec<Vec<f64>> = ep
            .generation
            .iter()
            .zip(&ep.inside)
            .filter(|(_, &k)| k)
            .map(|(x, _)| x.clone())
            .collect();
        if !out.is_empty() {
            self.episode = Some(ep);
        }
        out
    }

    fn observe(&mut self, xs: &[Vec<f64>], values: &[f64]) {
        let Some(mut ep) = self.episode.take() else {
            return;
        };
        let proposed = ep.inside.iter().filter(|&&k| k).count();
        if xs.len() != proposed {
            // Truncated by the budget: the run is over.
            return;
        }
        let mut vals = values.iter();
        let told: Vec<Evaluated<Vec<f64>>> = ep
            .generation
            .iter()
            .zip(&ep.inside)
            .map(|(x, &k)| Evaluated {
                x: x.clone(),
                y: vec![if k {
                    *vals.next().expect("one value per proposed point")
                } else {
                    f64::NEG_INFINITY
                }],
            })
            .collect();
        // CmaEs::tell draws nothing; the stream is only a formality.
        ep.es.tell(&told, &mut Stream::root("unused"));
        ep.evals += proposed;
        if ep.evals < self.settings.episode_evals && ep.es.sigma() >= 1e-8 {
            self.episode = Some(ep);
        }
    }

    fn in_episode(&self) -> bool {
        self.episode.is_some()
    }
}
