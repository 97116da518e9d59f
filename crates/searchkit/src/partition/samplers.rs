//! The leaf samplers shared by the papers: random points of the region and
//! CMA-ES started in the leaf. Model-based samplers stay with their paper
//! (LA-MCTS's GP-EI and TuRBO-1, LaMOO's qEHVI).
//!
//! Each exists once, with the papers' variants as modes:
//! - [`RandomRegion`]: around a leaf sample (LA-MCTS's default), uniform
//!   rejection sampling, or Latin-hypercube candidates with path relaxation
//!   (LaMOO's code, `propose_rand_samples_sobol`);
//! - [`CmaEsRegion`]: an episode of CMA-ES started at the leaf's mean, best
//!   or a random sample and filtered by the path (LA-MCTS here; PlaLaM's
//!   `init_within_leaf` starts), or a fresh CMA-ES per ask started at a
//!   sample ranked by its own hypervolume, relaxing the path (LaMOO's code,
//!   `propose_rand_samples_cmaes`).

use super::{LeafContext, LeafSampler, Region, RegionSampling, Samples};
use crate::baselines::{CmaBounds, CmaEs};
use crate::optimizer::{Evaluated, Optimizer};
use crate::pareto::{hypervolume, pareto_front_indices};
use crate::rng::Stream;
use crate::space::Space;

/// How [`RandomRegion`] draws its [`LeafContext::batch`] points.
#[derive(Clone, Debug, PartialEq)]
pub enum RandomDraw {
    /// Uniform in a box grown around a random in-region sample of the leaf
    /// until it crosses the boundary ([`Region::sample_around`]), with
    /// `probes` test points per doubling.
    Around { probes: usize },
    /// Uniform candidates on the whole box filtered by the path
    /// ([`Region::sample`]).
    Uniform(RegionSampling),
    /// Rounds of `candidates` Latin-hypercube points of the whole box, each
    /// keeping those inside the current region; while fewer than the batch
    /// have been kept in total, the next round drops the path's last
    /// classifier (so after `depth + 1` rounds every candidate is kept). The
    /// batch is then drawn from everything kept, uniformly *with*
    /// replacement, as LaMOO's code does
    /// (`np.random.choice(len(selected_cands), nums_samples)`; 15,000
    /// candidates there).
    RelaxedLhs { candidates: usize },
}

/// Random points of the region, [`LeafContext::batch`] per ask, named
/// `random`.
///
/// The LA-MCTS code has no random solver in its search loop; there this is
/// the simplest one. With its SVM settings (RBF, `gamma = 1/d`, unscaled
/// box) regions are small pockets around samples, so whole-box rejection
/// sampling ([`RandomDraw::Uniform`]) mostly ends in its fallback; the
/// default draws around the leaf's samples as the code's BO candidates do.
/// LaMOO's code's `--sample_method random` is [`RandomRegion::relaxed_lhs`].
#[derive(Clone, Debug, PartialEq)]
pub struct RandomRegion {
    pub draw: RandomDraw,
}

impl Default for RandomRegion {
    /// Around a leaf sample with 20 probes per doubling.
    fn default() -> Self {
        Self {
            draw: RandomDraw::Around { probes: 20 },
        }
    }
}

impl RandomRegion {
    /// [`RandomDraw::RelaxedLhs`] with `candidates` per round.
    pub fn relaxed_lhs(candidates: usize) -> Self {
        Self {
            draw: RandomDraw::RelaxedLhs { candidates },
        }
    }
}

impl LeafSampler for RandomRegion {
    fn name(&self) -> String {
        "random".into()
    }

    fn propose(&mut self, ctx: &LeafContext<'_>, rng: &mut Stream) -> Vec<Vec<f64>> {
        let n = ctx.batch;
        match &self.draw {
            RandomDraw::Around { probes } => ctx.region.sample_around(
                n,
                ctx.space,
                ctx.samples,
                *probes,
                RegionSampling::default().jitter,
                rng,
            ),
            RandomDraw::Uniform(opts) => ctx.region.sample(n, ctx.space, ctx.samples, opts, rng),
            RandomDraw::RelaxedLhs { candidates } => {
                if n == 0 {
                    return Vec::new();
                }
                let levels = ctx.tree.relaxations(ctx.region);
                let mut kept: Vec<Vec<f64>> = Vec::new();
                let mut level = 0;
                while kept.len() < n {
                    let cands = ctx.space.latin_hypercube((*candidates).max(1), &mut *rng);
                    // Past the root the whole box is accepted: keep drawing there.
                    let region = &levels[level.min(levels.len() - 1)];
                    kept.extend(region.filter(cands));
                    level += 1;
                }
                (0..n)
                    .map(|_| kept[rng.below(kept.len())].clone())
                    .collect()
            }
        }
    }
}

/// Where an episode of [`CmaEsRegion`] starts inside the leaf (PlaLaM's
/// `init_within_leaf`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum CmaStart {
    /// The mean of the leaf's samples.
    #[default]
    Mean,
    /// The leaf's best sample (objective 0).
    Best,
    /// A uniformly drawn sample of the leaf.
    Random,
}

/// Settings of [`CmaEsMode::Episode`].
///
/// The LA-MCTS code has no CMA-ES solver; the PlaLaM code
/// (`Classifier.propose_samples_cmaes`) starts a fresh CMA-ES in the leaf
/// and evaluates its points without checking the region. This mode keeps
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
#[derive(Clone, Debug, PartialEq)]
pub struct CmaEsSettings {
    pub start: CmaStart,
    pub sigma_mult: f64,
    /// Population size (default `4 + floor(3 ln d)`).
    pub popsize: Option<usize>,
    pub episode_evals: usize,
    pub max_redraws: usize,
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

/// Settings of [`CmaEsMode::Fresh`], LaMOO's code's `--sample_method cmaes`
/// (`Classifier.propose_rand_samples_cmaes` with the default
/// `--cmaes_method lamcts` and `init_within_leaf = 'random'`).
///
/// Every ask starts a fresh CMA-ES, as the code does:
/// - the node's samples are ranked by [`rank_by_point_hypervolume`] (by
///   objective 0 without a reference point); if the node holds more than
///   the batch, the top `max(top, batch)` are kept (`LEAF_SAMPLE_SIZE = 5`);
/// - `x0` is one of those drawn uniformly, `sigma0 = sigma_scale *
///   max(1, mean per-coordinate standard deviation)` in box units (the code:
///   `0.15 * max(1, ·)`), here converted to the unit cube the core CMA-ES
///   works in by the mean coordinate range; population `max(2, kept)`;
/// - with `filter` (the code's `lamcts` mode) each generation is filtered by
///   the path's classifiers, dropping the path's last classifier after each
///   generation until the batch is found; without it (`vanilla`) the first
///   generations are taken as they are.
///
/// The code also `tell`s the CMA-ES the kept samples before asking, with
/// a two-column fitness array of which pycma uses column 0. The
/// `vehiclesafety/` and `nasbench/` copies pass it unnegated (so it
/// favours low objective-0 values): [`CmaTell::Authors`]; `branincurrin/`
/// and `LaMOO/` negate it, the right sign: [`CmaTell::Corrected`]; the
/// default [`CmaTell::None`]
/// draws every generation from the initial distribution `N(x0, sigma0^2 I)`
/// (bounded by resampling, then clipping). The code seeds pycma with 86
/// every time; here the draws come from the run's stream.
/// In leaf-selection mode the code ranks the *parent's* samples (its
/// `leaf_select` returns the chosen leaf's parent as the node to sample
/// from, with the full path): [`CmaPool::Parent`]; the default
/// [`CmaPool::Leaf`] ranks the selected node's own samples.
#[derive(Clone, Debug, PartialEq)]
pub struct FreshCmaEs {
    /// How many of the best samples the start point is drawn from, at least
    /// (`LEAF_SAMPLE_SIZE = 5`).
    pub top: usize,
    /// `sigma0` factor (0.15).
    pub sigma_scale: f64,
    /// Filter generations by the path (the code's `lamcts` mode, default)
    /// or not (`vanilla`).
    pub filter: bool,
    /// Whether the fresh CMA-ES is first told the kept samples (the code's
    /// `es.tell(tell_X, tell_fX)`); default [`CmaTell::None`].
    pub tell: CmaTell,
    /// Whose samples the start points are ranked among; default
    /// [`CmaPool::Leaf`].
    pub pool: CmaPool,
    /// How the CMA-ES keeps candidates in the box; default
    /// [`CmaBounds::Resample`]. The code's pycma uses
    /// [`CmaBounds::PycmaTransform`].
    pub bounds: CmaBounds,
}

/// Which node's samples [`FreshCmaEs`] ranks its start points among.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum CmaPool {
    /// The selected node's own samples.
    #[default]
    Leaf,
    /// Its parent's (the root's when the root is selected): what LaMOO's
    /// code does in leaf-selection mode, whose `leaf_select` returns the
    /// chosen leaf's parent as the node that samples.
    Parent,
}

/// How [`FreshCmaEs`] tells its CMA-ES the kept samples before sampling.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum CmaTell {
    /// No tell: generations come from the initial distribution.
    #[default]
    None,
    /// As LaMOO's `vehiclesafety/` and `nasbench/` code: one update ranked
    /// by objective 0 *ascending* (pycma minimises, keeps column 0 of the
    /// two-column fitness, and those copies pass the maximised objectives
    /// unnegated), so the step pulls towards the kept samples that are
    /// worst on objective 0.
    Authors,
    /// The corrected tell: one update ranked by objective 0, best first;
    /// what `branincurrin/` and `LaMOO/` do (they pass `-sample_fX`).
    Corrected,
}

impl Default for FreshCmaEs {
    fn default() -> Self {
        Self {
            top: 5,
            sigma_scale: 0.15,
            filter: true,
            tell: CmaTell::None,
            pool: CmaPool::Leaf,
            bounds: CmaBounds::Resample,
        }
    }
}

/// How [`CmaEsRegion`] runs its CMA-ES.
#[derive(Clone, Debug, PartialEq)]
pub enum CmaEsMode {
    /// One episode over several asks per selected leaf (the search keeps
    /// the region meanwhile); named `cmaes`.
    Episode(CmaEsSettings),
    /// A fresh CMA-ES every ask; named `cmaes`, or `cmaes-vanilla` without
    /// the filter.
    Fresh(FreshCmaEs),
}

/// CMA-ES inside the selected leaf (see [`CmaEsMode`]).
#[derive(Clone, Debug)]
pub struct CmaEsRegion {
    pub mode: CmaEsMode,
    episode: Option<Episode>,
}

#[derive(Clone, Debug)]
struct Episode {
    es: CmaEs,
    /// The last generation (box coordinates) and which of it was proposed.
    generation: Vec<Vec<f64>>,
    inside: Vec<bool>,
    evals: usize,
}

impl Default for CmaEsRegion {
    /// Episodes with [`CmaEsSettings::default`].
    fn default() -> Self {
        Self::new(CmaEsSettings::default())
    }
}

impl CmaEsRegion {
    /// Episodes with `settings`.
    pub fn new(settings: CmaEsSettings) -> Self {
        Self::with_mode(CmaEsMode::Episode(settings))
    }

    /// A fresh CMA-ES every ask.
    pub fn fresh(settings: FreshCmaEs) -> Self {
        Self::with_mode(CmaEsMode::Fresh(settings))
    }

    pub fn with_mode(mode: CmaEsMode) -> Self {
        Self {
            mode,
            episode: None,
        }
    }

    fn start_episode(s: &CmaEsSettings, ctx: &LeafContext<'_>, rng: &mut Stream) -> CmaEs {
        let inside = ctx.region.inside_indices(ctx.samples);
        let pool: Vec<usize> = if inside.is_empty() {
            ctx.region.indices().to_vec()
        } else {
            inside
        };
        let space = ctx.space;
        let d = space.dim();
        if pool.is_empty() {
            return CmaEs::new(space.clone(), None, 0.3 * s.sigma_mult, s.popsize);
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
        let sigma0 = (sd * s.sigma_mult).clamp(1e-3, 0.5);
        let x0 = match s.start {
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
        CmaEs::new(space.clone(), Some(x0), sigma0, s.popsize)
    }

    fn propose_episode(
        &mut self,
        s: &CmaEsSettings,
        ctx: &LeafContext<'_>,
        rng: &mut Stream,
    ) -> Vec<Vec<f64>> {
        let mut ep = match self.episode.take() {
            Some(ep) => ep,
            None => Episode {
                es: Self::start_episode(s, ctx, rng),
                generation: Vec::new(),
                inside: Vec::new(),
                evals: 0,
            },
        };
        for _ in 0..=s.max_redraws {
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

    fn propose_fresh(f: &FreshCmaEs, ctx: &LeafContext<'_>, rng: &mut Stream) -> Vec<Vec<f64>> {
        if ctx.batch == 0 {
            return Vec::new();
        }
        let space = ctx.space;
        let d = space.dim();
        let levels = if f.filter || f.pool == CmaPool::Parent {
            ctx.tree.relaxations(ctx.region)
        } else {
            vec![Region::whole(Vec::new())]
        };
        let pool = match (f.pool, levels.get(1)) {
            (CmaPool::Parent, Some(parent)) => parent.indices(),
            _ => ctx.region.indices(),
        };
        let ranked = rank_pool(ctx.samples, pool, ctx.reference, rng);
        let kept: Vec<usize> = if ranked.len() > ctx.batch {
            ranked.into_iter().take(f.top.max(ctx.batch)).collect()
        } else {
            ranked
        };
        let mean_range = (0..d).map(|j| space.upper[j] - space.lower[j]).sum::<f64>() / d as f64;
        let (x0, sigma_box) = if kept.is_empty() {
            (None, f.sigma_scale)
        } else {
            let xs: Vec<&Vec<f64>> = kept.iter().map(|&i| &ctx.samples.xs[i]).collect();
            let m = xs.len() as f64;
            // numpy's std (ddof 0), averaged over coordinates.
            let sd = (0..d)
                .map(|j| {
                    let mu = xs.iter().map(|x| x[j]).sum::<f64>() / m;
                    (xs.iter().map(|x| (x[j] - mu).powi(2)).sum::<f64>() / m).sqrt()
                })
                .sum::<f64>()
                / d as f64;
            let x0 = xs[rng.below(xs.len())].clone();
            (Some(x0), f.sigma_scale * sd.max(1.0))
        };
        let sigma0 = (sigma_box / mean_range).clamp(1e-8, 1.0);
        let popsize = kept.len().max(2);
        let mut es = CmaEs::new(space.clone(), x0, sigma0, Some(popsize)).with_bounds(f.bounds);
        if f.tell != CmaTell::None && kept.len() >= 2 {
            let xs: Vec<Vec<f64>> = kept.iter().map(|&i| ctx.samples.xs[i].clone()).collect();
            let sign = if f.tell == CmaTell::Authors {
                -1.0
            } else {
                1.0
            };
            let fit: Vec<f64> = kept.iter().map(|&i| sign * ctx.samples.ys[i][0]).collect();
            es.tell_solutions(&xs, &fit);
        }
        let levels = if f.filter {
            levels
        } else {
            vec![Region::whole(Vec::new())]
        };
        let mut out: Vec<Vec<f64>> = Vec::with_capacity(ctx.batch);
        let mut level = 0;
        while out.len() < ctx.batch {
            let generation = es.ask(rng);
            let region = &levels[level.min(levels.len() - 1)];
            out.extend(region.filter(generation));
            level += 1;
        }
        out.truncate(ctx.batch);
        out
    }
}

/// Indices of `pool` (into `samples`) ranked as LaMOO's code ranks its
/// CMA-ES starts: Pareto-optimal points of the pool first (random order,
/// the code sets them to `max(hvX) + random()`), then the rest by the
/// hypervolume of each single point (the code's `hvX`), largest first
/// (stable).
pub fn rank_by_point_hypervolume(
    samples: &Samples,
    pool: &[usize],
    reference: &[f64],
    rng: &mut Stream,
) -> Vec<usize> {
    rank_pool(samples, pool, Some(reference), rng)
}

/// [`rank_by_point_hypervolume`]; without a reference point the rest are
/// ranked by objective 0.
fn rank_pool(
    samples: &Samples,
    pool: &[usize],
    reference: Option<&[f64]>,
    rng: &mut Stream,
) -> Vec<usize> {
    let ys: Vec<Vec<f64>> = pool.iter().map(|&i| samples.ys[i].clone()).collect();
    let front = pareto_front_indices(&ys);
    let mut is_front = vec![false; pool.len()];
    for &f in &front {
        is_front[f] = true;
    }
    // Front points: a random key in [0, 1) added above every other value.
    let key: Vec<(bool, f64)> = (0..pool.len())
        .map(|j| {
            if is_front[j] {
                (true, rng.uniform())
            } else {
                let v = match reference {
                    Some(r) => hypervolume(std::slice::from_ref(&ys[j]), r),
                    None => ys[j][0],
                };
                (false, v)
            }
        })
        .collect();
    let mut order: Vec<usize> = (0..pool.len()).collect();
    order.sort_by(|&a, &b| key[b].0.cmp(&key[a].0).then(key[b].1.total_cmp(&key[a].1)));
    order.into_iter().map(|j| pool[j]).collect()
}

impl LeafSampler for CmaEsRegion {
    fn name(&self) -> String {
        match &self.mode {
            CmaEsMode::Fresh(f) if !f.filter => "cmaes-vanilla".into(),
            _ => "cmaes".into(),
        }
    }

    fn propose(&mut self, ctx: &LeafContext<'_>, rng: &mut Stream) -> Vec<Vec<f64>> {
        match self.mode.clone() {
            CmaEsMode::Episode(s) => self.propose_episode(&s, ctx, rng),
            CmaEsMode::Fresh(f) => Self::propose_fresh(&f, ctx, rng),
        }
    }

    fn observe(&mut self, xs: &[Vec<f64>], ys: &[Vec<f64>]) {
        let CmaEsMode::Episode(s) = &self.mode else {
            return;
        };
        let Some(mut ep) = self.episode.take() else {
            return;
        };
        let proposed = ep.inside.iter().filter(|&&k| k).count();
        if xs.len() != proposed {
            // Truncated by the budget: the run is over.
            return;
        }
        let mut vals = ys.iter().map(|y| y[0]);
        let told: Vec<Evaluated<Vec<f64>>> = ep
            .generation
            .iter()
            .zip(&ep.inside)
            .map(|(x, &k)| Evaluated {
                x: x.clone(),
                y: vec![if k {
                    vals.next().expect("one value per proposed point")
                } else {
                    f64::NEG_INFINITY
                }],
            })
            .collect();
        // CmaEs::tell draws nothing; the stream is only a formality.
        ep.es.tell(&told, &mut Stream::root("unused"));
        ep.evals += proposed;
        if ep.evals < s.episode_evals && ep.es.sigma() >= 1e-8 {
            self.episode = Some(ep);
        }
    }

    fn in_episode(&self) -> bool {
        self.episode.is_some()
    }
}
