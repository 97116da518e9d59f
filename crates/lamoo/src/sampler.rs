//! Samplers that propose a batch inside the region LaMOO selected.
//!
//! The authors' code offers three (`--sample_method`): `random` (Latin
//! hypercube candidates filtered by the path's SVMs,
//! `Classifier.propose_rand_samples_sobol`), `cmaes`
//! (`propose_rand_samples_cmaes`) and `bayesian`, qEHVI
//! (`propose_rand_samples_bayesian`, the default). Here they are core's
//! [`RandomRegion`] and [`CmaEsRegion`] in LaMOO's modes ([`random_region`],
//! [`cmaes_region`]) and [`ProposerRegion`], a hook that takes any
//! [`BatchProposer`]; [`QehviProposer`] is core's qEHVI in that shape, and
//! [`qehvi_region`] the ready-made LaMOO+qEHVI sampler.

use searchkit::baselines::{
    propose_qehvi_with_stats, CmaBounds, QehviConfig, QehviStats, StartRegion,
};
use searchkit::partition::{
    CmaEsRegion, CmaPool, CmaTell, FreshCmaEs, LeafContext, LeafSampler, RandomRegion, Region,
};
use searchkit::rng::Stream;
use searchkit::space::BoxSpace;

/// The code's `--sample_method random` (`propose_rand_samples_sobol`):
/// rounds of 15,000 Latin-hypercube candidates filtered by the path, relaxed
/// until the batch is found ([`RandomRegion::relaxed_lhs`]).
pub fn random_region() -> RandomRegion {
    RandomRegion::relaxed_lhs(15_000)
}

/// The code's `--sample_method cmaes` (`propose_rand_samples_cmaes`): a
/// fresh CMA-ES per ask started at a sample ranked by its own hypervolume,
/// its generations filtered by the path (`filter`, the code's `lamcts` mode)
/// or not (`vanilla`); see [`FreshCmaEs`].
pub fn cmaes_region(filter: bool) -> CmaEsRegion {
    CmaEsRegion::fresh(FreshCmaEs {
        filter,
        ..FreshCmaEs::default()
    })
}

/// [`cmaes_region`] as the code runs it on a given problem: `sigma_scale`
/// (0.15 in `branincurrin/` and `LaMOO/`, 0.5 in `vehiclesafety/` and
/// `nasbench/`) and the tell step ([`CmaTell::Authors`] in `vehiclesafety/`
/// and `nasbench/`, [`CmaTell::Corrected`] in `branincurrin/` and `LaMOO/`).
/// `pool` ranks the starts among the selected leaf's samples
/// ([`CmaPool::Leaf`]) or its parent's ([`CmaPool::Parent`], the code's);
/// `bounds` is our resampling ([`CmaBounds::Resample`]) or pycma's
/// transform ([`CmaBounds::PycmaTransform`], the code's).
pub fn cmaes_region_with(
    filter: bool,
    sigma_scale: f64,
    tell: CmaTell,
    pool: CmaPool,
    bounds: CmaBounds,
) -> CmaEsRegion {
    CmaEsRegion::fresh(FreshCmaEs {
        filter,
        sigma_scale,
        tell,
        pool,
        bounds,
        ..FreshCmaEs::default()
    })
}

/// The selected region on unit-cube points, as a path of tests that can be
/// relaxed (see [`StartRegion`]); a plain `Fn(&[f64]) -> bool` is one too.
pub type InRegion<'a> = &'a dyn StartRegion;

/// A partition [`Region`] seen on unit-cube points of `space`.
struct UnitRegion<'a> {
    region: &'a Region,
    space: &'a BoxSpace,
}

impl StartRegion for UnitRegion<'_> {
    fn depth(&self) -> usize {
        self.region.depth()
    }
    fn filter(&self, us: Vec<Vec<f64>>, k: usize) -> Vec<Vec<f64>> {
        let xs: Vec<Vec<f64>> = us.iter().map(|u| self.space.from_unit(u)).collect();
        let keep = self.region.truncated(k).contains_batch(&xs);
        us.into_iter()
            .zip(keep)
            .filter_map(|(u, k)| k.then_some(u))
            .collect()
    }
}

/// A batch acquisition in the shape of core's qEHVI
/// (`searchkit::baselines::propose_qehvi(xs_unit, ys, reference, q, config,
/// region, rng)`): given every sample so far (`xs_unit` in the unit cube,
/// `ys` maximised), the reference point and an optional region on
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
    /// Counts for reports (see `Optimizer::diagnostics`).
    fn diagnostics(&self) -> Vec<(String, f64)> {
        Vec::new()
    }
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
/// (relaxed as in [`random_region`]), and L-BFGS then optimises the
/// acquisition over the whole box, so the final candidates may leave the
/// region.
pub struct ProposerRegion<P: BatchProposer> {
    pub name: String,
    pub proposer: P,
    /// Pass the region (LaMOO) or not (plain qEHVI over the box).
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

impl<P: BatchProposer> LeafSampler for ProposerRegion<P> {
    fn name(&self) -> String {
        self.name.clone()
    }

    /// Nothing (the search then falls back to sampling the region) without
    /// a reference point.
    fn propose(&mut self, ctx: &LeafContext<'_>, rng: &mut Stream) -> Vec<Vec<f64>> {
        let Some(reference) = ctx.reference else {
            return Vec::new();
        };
        let space = ctx.space;
        let xs_unit: Vec<Vec<f64>> = ctx.samples.xs.iter().map(|x| space.to_unit(x)).collect();
        let inside = UnitRegion {
            region: ctx.region,
            space,
        };
        let predicate: Option<InRegion<'_>> = if self.constrain && ctx.region.depth() > 0 {
            Some(&inside)
        } else {
            None
        };
        let us = self.proposer.propose(
            &xs_unit,
            &ctx.samples.ys,
            reference,
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

    fn diagnostics(&self) -> Vec<(String, f64)> {
        self.proposer.diagnostics()
    }
}

/// Core's qEHVI ([`propose_qehvi`]) as a [`BatchProposer`]: every call refits
/// one GP per objective (standardised outputs) on all samples, builds the box
/// decomposition of the observed front, and optimises MC qEHVI (128 QMC
/// normal base samples, `q` points sequentially, 20 L-BFGS restarts chosen
/// from 1,024 raw candidates; [`QehviConfig`]'s defaults).
///
/// With a region, only the restarts come from the region (by default the
/// authors' pool: Latin-hypercube points filtered by the path, relaxed until
/// 1,024 are found, 20 drawn with replacement; see
/// [`QehviConfig::region_starts`]); the L-BFGS runs then move freely over
/// the unit cube, so a proposal may leave the region. This is what the
/// authors' code does (`botorch_lamcts/.../initializers.py`): the region
/// only steers where the acquisition optimiser starts.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct QehviProposer {
    pub config: QehviConfig,
    /// What the calls so far did.
    pub stats: QehviStats,
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
        let (xs, stats) =
            propose_qehvi_with_stats(xs_unit, ys, reference, q, &self.config, region, rng);
        self.stats.add(stats);
        xs
    }

    fn diagnostics(&self) -> Vec<(String, f64)> {
        self.stats.diagnostics()
    }
}

/// LaMOO's default sampler (the code's `--sample_method bayesian`): qEHVI
/// on all samples, its restarts drawn inside the selected region (see
/// [`QehviProposer`]). The batch size is LaMOO's `batch`, not
/// [`QehviConfig::q`].
pub fn qehvi_region(config: QehviConfig) -> ProposerRegion<QehviProposer> {
    ProposerRegion::new(
        "qehvi",
        QehviProposer {
            config,
            stats: QehviStats::default(),
        },
    )
}
