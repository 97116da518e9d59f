//! Samplers that propose a batch inside the region LaMOO selected.
//!
//! The authors' code offers three (`--sample_method`): `random` (Latin
//! hypercube candidates filtered by the path's SVMs,
//! `Classifier.propose_rand_samples_sobol`), `cmaes`
//! (`propose_rand_samples_cmaes`) and `bayesian`, qEHVI
//! (`propose_rand_samples_bayesian`, the default). Here they are
//! [`RandomRegion`], [`CmaEsRegion`] and [`ProposerRegion`], the last a hook
//! that takes any [`BatchProposer`]; [`QehviProposer`] is core's qEHVI in
//! that shape, and [`qehvi_region`] the ready-made LaMOO+qEHVI sampler.

use searchkit::baselines::{propose_qehvi, CmaEs, QehviConfig};
use searchkit::optimizer::Optimizer;
use searchkit::pareto::{hypervolume, pareto_front_indices};
use searchkit::partition::{Region, Samples, Tree};
use searchkit::rng::Stream;
use searchkit::space::{BoxSpace, Space};

use crate::partition::relaxations;

/// What a sampler sees when asked for points.
#[derive(Clone, Copy, Debug)]
pub struct MooContext<'a> {
    /// The selected node's region (path classifiers and sample indices).
    pub region: &'a Region,
    /// The tree the region was selected from.
    pub tree: &'a Tree,
    /// Every evaluated sample so far (objective vectors maximised).
    pub samples: &'a Samples,
    /// The search box.
    pub space: &'a BoxSpace,
    /// Hypervolume reference point (maximisation form).
    pub reference: &'a [f64],
    /// How many points to propose.
    pub batch: usize,
}

/// Proposes a batch of points inside a selected region.
pub trait MooSampler: Send {
    /// A short name for records (`lamoo-<name>`).
    fn name(&self) -> String;
    /// `ctx.batch` points to evaluate next, in box coordinates. An empty
    /// batch makes LaMOO fall back to rejection sampling in the region.
    fn propose(&mut self, ctx: &MooContext<'_>, rng: &mut Stream) -> Vec<Vec<f64>>;
}

impl<S: MooSampler + ?Sized> MooSampler for Box<S> {
    fn name(&self) -> String {
        (**self).name()
    }
    fn propose(&mut self, ctx: &MooContext<'_>, rng: &mut Stream) -> Vec<Vec<f64>> {
        (**self).propose(ctx, rng)
    }
}

/// Random points of the region (the code's `--sample_method random`,
/// `Classifier.propose_rand_samples_sobol`).
///
/// Each round draws `candidates` Latin-hypercube points of the whole box and
/// keeps those inside the current region; while fewer than `batch` have been
/// kept in total, the next round drops the path's last classifier (so after
/// `depth + 1` rounds every candidate is kept). The batch is then drawn from
/// everything kept, uniformly *with* replacement, as the code's
/// `np.random.choice(len(selected_cands), nums_samples)`.
#[derive(Clone, Debug, PartialEq)]
pub struct RandomRegion {
    /// Latin-hypercube candidates per round (15,000 in the code).
    pub candidates: usize,
}

impl Default for RandomRegion {
    fn default() -> Self {
        Self { candidates: 15_000 }
    }
}

impl MooSampler for RandomRegion {
    fn name(&self) -> String {
        "random".into()
    }

    fn propose(&mut self, ctx: &MooContext<'_>, rng: &mut Stream) -> Vec<Vec<f64>> {
        if ctx.batch == 0 {
            return Vec::new();
        }
        let levels = relaxations(ctx.region, ctx.tree);
        let mut kept: Vec<Vec<f64>> = Vec::new();
        let mut level = 0;
        while kept.len() < ctx.batch {
            let cands = ctx.space.latin_hypercube(self.candidates.max(1), &mut *rng);
            // Past the root the whole box is accepted: keep drawing there.
            let region = &levels[level.min(levels.len() - 1)];
            kept.extend(region.filter(cands));
            level += 1;
        }
        (0..ctx.batch)
            .map(|_| kept[rng.below(kept.len())].clone())
            .collect()
    }
}

/// CMA-ES started inside the leaf (the code's `--sample_method cmaes`,
/// `Classifier.propose_rand_samples_cmaes` with the default
/// `--cmaes_method lamcts` and `init_within_leaf = 'random'`).
///
/// Every ask starts a fresh CMA-ES, as the code does:
/// - the node's samples are ranked by the hypervolume of each single point
///   (the code's `hvX`: botorch's `Hypervolume` of a one-point set), with the
///   node's Pareto-optimal points first in random order (the code sets them
///   to `max(hvX) + random()`); if the node holds more than `batch` samples
///   the top `max(top, batch)` are kept (`LEAF_SAMPLE_SIZE = 5`);
/// - `x0` is one of those drawn uniformly, `sigma0 = sigma_scale *
///   max(1, mean per-coordinate standard deviation)` in box units (the code:
///   `0.15 * max(1, ·)`), here converted to the unit cube the core CMA-ES
///   works in by the mean coordinate range; population `max(2, kept)`;
/// - with `filter` (the code's `lamcts` mode) each generation is filtered by
///   the path's classifiers, dropping the path's last classifier after each
///   generation until `batch` points are found; without it (`vanilla`) the
///   first generations are taken as they are.
///
/// Differences: the code also `tell`s the CMA-ES the kept samples before
/// asking (with a two-column fitness array of the negated objectives, and
/// `seed = 86` every time); core's [`CmaEs`] only learns from its own
/// generations, so here the generations are drawn from the initial
/// distribution `N(x0, sigma0^2 I)` (bounded by resampling, then clipping).
/// In leaf-selection mode the code ranks the *parent's* samples (its
/// `leaf_select` returns the chosen leaf's parent as the node to sample
/// from, with the full path); here the selected node's own samples are used.
#[derive(Clone, Debug, PartialEq)]
pub struct CmaEsRegion {
    /// How many of the best samples the start point is drawn from, at least
    /// (`LEAF_SAMPLE_SIZE = 5`).
    pub top: usize,
    /// `sigma0` factor (0.15).
    pub sigma_scale: f64,
    /// Filter generations by the path (the code's `lamcts` mode, default)
    /// or not (`vanilla`).
    pub filter: bool,
}

impl Default for CmaEsRegion {
    fn default() -> Self {
        Self {
            top: 5,
            sigma_scale: 0.15,
            filter: true,
        }
    }
}

/// Indices of `pool` (into `samples`) ranked as the code's CMA-ES start:
/// Pareto-optimal points of the pool first (random order), then the rest by
/// single-point hypervolume, largest first (stable).
pub fn rank_by_point_hypervolume(
    samples: &Samples,
    pool: &[usize],
    reference: &[f64],
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
                (false, hypervolume(std::slice::from_ref(&ys[j]), reference))
            }
        })
        .collect();
    let mut order: Vec<usize> = (0..pool.len()).collect();
    order.sort_by(|&a, &b| key[b].0.cmp(&key[a].0).then(key[b].1.total_cmp(&key[a].1)));
    order.into_iter().map(|j| pool[j]).collect()
}

impl MooSampler for CmaEsRegion {
    fn name(&self) -> String {
        if self.filter {
            "cmaes".into()
        } else {
            "cmaes-vanilla".into()
        }
    }

    fn propose(&mut self, ctx: &MooContext<'_>, rng: &mut Stream) -> Vec<Vec<f64>> {
        if ctx.batch == 0 {
            return Vec::new();
        }
        let space = ctx.space;
        let d = space.dim();
        let pool = ctx.region.indices();
        let ranked = rank_by_point_hypervolume(ctx.samples, pool, ctx.reference, rng);
        let kept: Vec<usize> = if ranked.len() > ctx.batch {
            ranked.into_iter().take(self.top.max(ctx.batch)).collect()
        } else {
            ranked
        };
        let mean_range = (0..d).map(|j| space.upper[j] - space.lower[j]).sum::<f64>() / d as f64;
        let (x0, sigma_box) = if kept.is_empty() {
            (None, self.sigma_scale)
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
            (Some(x0), self.sigma_scale * sd.max(1.0))
        };
        let sigma0 = (sigma_box / mean_range).clamp(1e-8, 1.0);
        let popsize = kept.len().max(2);
        let mut es = CmaEs::new(space.clone(), x0, sigma0, Some(popsize));
        let levels = if self.filter {
            relaxations(ctx.region, ctx.tree)
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

/// A membership test on unit-cube points (the selected region).
pub type InRegion<'a> = &'a dyn Fn(&[f64]) -> bool;

/// A batch acquisition in the shape of core's qEHVI
/// (`searchkit::baselines::propose_qehvi(xs_unit, ys, reference, q, config,
/// region, rng)`): given every sample so far (`xs_unit` in the unit cube,
/// `ys` maximised), the reference point and an optional region predicate on
/// unit-cube points, return `q` unit-cube points.
///
/// Any closure of that shape is a `BatchProposer`; a configured qEHVI plugs
/// in through [`ProposerRegion::from_fn`] as
/// `move |xs, ys, r, q, region, rng| propose_qehvi(xs, ys, r, q, &config, region, rng)`.
pub trait BatchProposer: Send {
    /// `q` unit-cube points; `region`, when given, tells whether a unit-cube
    /// point lies in the selected region.
    fn propose(
        &mut self,
        xs_unit: &[Vec<f64>],
        ys: &[Vec<f64>],
        reference: &[f64],
        q: usize,
        region: Option<InRegion<'_>>,
        rng: &mut Stream,
    ) -> Vec<Vec<f64>>;
}

impl<F> BatchProposer for F
where
    F: FnMut(
            &[Vec<f64>],
            &[Vec<f64>],
            &[f64],
            usize,
            Option<InRegion<'_>>,
            &mut Stream,
        ) -> Vec<Vec<f64>>
        + Send,
{
    fn propose(
        &mut self,
        xs_unit: &[Vec<f64>],
        ys: &[Vec<f64>],
        reference: &[f64],
        q: usize,
        region: Option<InRegion<'_>>,
        rng: &mut Stream,
    ) -> Vec<Vec<f64>> {
        self(xs_unit, ys, reference, q, region, rng)
    }
}

/// A [`BatchProposer`] (e.g. qEHVI) run on all samples with the selected
/// region as its constraint (the code's default `--sample_method bayesian`).
///
/// The proposer gets every sample (the code fits its GP on all samples, not
/// the leaf's), the reference point, `q = batch`, and, when `constrain` is
/// set and the region is not the whole space, the region's membership test on
/// unit-cube points. Its unit-cube output is mapped into the box (clipped).
///
/// What "constrained" means is the proposer's business. In the authors' code
/// (`botorch_lamcts/botorch/optim/initializers.py`, `lamcts_boundry`) only
/// qEHVI's *starting points* are constrained: its `num_restarts` initial
/// conditions are drawn from Latin-hypercube candidates filtered by the path
/// (relaxed as in [`RandomRegion`]), and L-BFGS then optimises the
/// acquisition over the whole box, so the final candidates may leave the
/// region.
pub struct ProposerRegion<P: BatchProposer> {
    pub name: String,
    pub proposer: P,
    /// Pass the region predicate (LaMOO) or not (plain qEHVI over the box).
    pub constrain: bool,
}

impl<P: BatchProposer> std::fmt::Debug for ProposerRegion<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProposerRegion")
            .field("name", &self.name)
            .field("constrain", &self.constrain)
            .finish()
    }
}

impl<P: BatchProposer> ProposerRegion<P> {
    /// `proposer` named `name` (e.g. `"qehvi"`), constrained to the region.
    pub fn new(name: impl Into<String>, proposer: P) -> Self {
        Self {
            name: name.into(),
            proposer,
            constrain: true,
        }
    }
}

impl<F> ProposerRegion<F>
where
    F: FnMut(
            &[Vec<f64>],
            &[Vec<f64>],
            &[f64],
            usize,
            Option<InRegion<'_>>,
            &mut Stream,
        ) -> Vec<Vec<f64>>
        + Send,
{
    /// [`ProposerRegion::new`] for a closure; the bound here lets the
    /// closure's argument types (and their lifetimes) be inferred, so
    /// `ProposerRegion::from_fn("qehvi", move |xs, ys, r, q, region, rng|
    /// propose_qehvi(xs, ys, r, q, &config, region, rng))` needs no
    /// annotations.
    pub fn from_fn(name: impl Into<String>, f: F) -> Self {
        Self::new(name, f)
    }
}

impl<P: BatchProposer> MooSampler for ProposerRegion<P> {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn propose(&mut self, ctx: &MooContext<'_>, rng: &mut Stream) -> Vec<Vec<f64>> {
        let space = ctx.space;
        let xs_unit: Vec<Vec<f64>> = ctx.samples.xs.iter().map(|x| space.to_unit(x)).collect();
        let region = ctx.region;
        let inside = move |u: &[f64]| region.contains(&space.from_unit(u));
        let predicate: Option<InRegion<'_>> = if self.constrain && region.depth() > 0 {
            Some(&inside)
        } else {
            None
        };
        let us = self.proposer.propose(
            &xs_unit,
            &ctx.samples.ys,
            ctx.reference,
            ctx.batch,
            predicate,
            rng,
        );
        us.into_iter()
            .map(|u| {
                let mut x = space.from_unit(&u);
                space.clip(&mut x);
                x
            })
            .collect()
    }
}

/// Core's qEHVI ([`propose_qehvi`]) as a [`BatchProposer`]: every call refits
/// one GP per objective (standardised outputs) on all samples, builds the box
/// decomposition of the observed front, and optimises MC qEHVI (128 QMC
/// normal base samples, `q` points sequentially, 20 L-BFGS restarts chosen
/// from 1,024 raw candidates; [`QehviConfig`]'s defaults).
///
/// With a region, only the raw candidates, and so the restarts, lie in the
/// region (the candidates are in-region Sobol points; the restarts are drawn
/// from them uniformly as the authors' `gen_batch_initial_conditions` does,
/// unless [`QehviConfig::score_region_starts`]); the L-BFGS runs then move
/// freely over the unit cube, so a proposal may leave the region. This is
/// what the authors' code does (`botorch_lamcts/.../initializers.py`): the
/// region only steers where the acquisition optimiser starts.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct QehviProposer {
    pub config: QehviConfig,
}

impl BatchProposer for QehviProposer {
    fn propose(
        &mut self,
        xs_unit: &[Vec<f64>],
        ys: &[Vec<f64>],
        reference: &[f64],
        q: usize,
        region: Option<InRegion<'_>>,
        rng: &mut Stream,
    ) -> Vec<Vec<f64>> {
        propose_qehvi(xs_unit, ys, reference, q, &self.config, region, rng)
    }
}

/// LaMOO's default sampler (the code's `--sample_method bayesian`): qEHVI
/// on all samples, its restarts drawn inside the selected region (see
/// [`QehviProposer`]). The batch size is LaMOO's `batch`, not
/// [`QehviConfig::q`].
pub fn qehvi_region(config: QehviConfig) -> ProposerRegion<QehviProposer> {
    ProposerRegion::new("qehvi", QehviProposer { config })
}
