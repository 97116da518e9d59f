//! The learned-partition search loop, one ask/tell optimiser for every paper:
//! [`PartitionSearch`], configured by a [`Preset`] (a paper's config) and a
//! [`LeafSampler`] (the solver inside the selected region).
//!
//! Each ask after the initial design rebuilds the tree from all samples,
//! selects a node by UCB ([`Selector`]) and asks the sampler for points in
//! its region; an empty proposal falls back to rejection sampling of the
//! region ([`Region::sample`]). A sampler in the middle of an episode keeps
//! its region (no rebuild). Every draw comes from a child of the run's
//! stream: `"init"` for the design, and `("tree", k)`, `("select", k)`,
//! `("propose", k)`, `("fallback", k)` for ask `k`.

use super::{
    BoundaryLearner, Labeller, NodeScore, Partitioner, Region, RegionSampling, Samples, Selector,
    Tree,
};
use crate::optimizer::{Evaluated, Optimizer};
use crate::pareto::hypervolume;
use crate::problem::Problem;
use crate::qmc::sobol_from;
use crate::rng::Stream;
use crate::space::{BoxSpace, Space};

/// What a [`LeafSampler`] sees when asked for points.
#[derive(Clone, Copy, Debug)]
pub struct LeafContext<'a> {
    /// The selected node's region (path classifiers and sample indices).
    pub region: &'a Region,
    /// The tree the region was selected from.
    pub tree: &'a Tree,
    /// Every evaluated sample so far (objective vectors maximised).
    pub samples: &'a Samples,
    /// The search box.
    pub space: &'a BoxSpace,
    /// Hypervolume reference point (maximisation form), for multi-objective
    /// searches.
    pub reference: Option<&'a [f64]>,
    /// How many points the search wants per ask (samplers with their own
    /// batch size may ignore it).
    pub batch: usize,
}

/// Proposes points inside a selected region, for one or more objectives.
pub trait LeafSampler: Send {
    /// A short name for records (`<search>-<name>`).
    fn name(&self) -> String;
    /// Points to evaluate next, in box coordinates, ideally inside
    /// `ctx.region`. An empty batch makes the search fall back to rejection
    /// sampling of the region.
    fn propose(&mut self, ctx: &LeafContext<'_>, rng: &mut Stream) -> Vec<Vec<f64>>;
    /// The objective vectors (maximised) of the last proposal, in order; `xs`
    /// may be shorter than proposed when the run's budget ran out. Not called
    /// for initial-design or fallback points.
    fn observe(&mut self, _xs: &[Vec<f64>], _ys: &[Vec<f64>]) {}
    /// Whether the sampler is in the middle of an episode and wants the same
    /// region again (the search then skips the rebuild, see
    /// [`SearchSettings::episodes`]).
    fn in_episode(&self) -> bool {
        false
    }
}

impl<S: LeafSampler + ?Sized> LeafSampler for Box<S> {
    fn name(&self) -> String {
        (**self).name()
    }
    fn propose(&mut self, ctx: &LeafContext<'_>, rng: &mut Stream) -> Vec<Vec<f64>> {
        (**self).propose(ctx, rng)
    }
    fn observe(&mut self, xs: &[Vec<f64>], ys: &[Vec<f64>]) {
        (**self).observe(xs, ys)
    }
    fn in_episode(&self) -> bool {
        (**self).in_episode()
    }
}

/// The first batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InitialDesign {
    /// A jittered Latin hypercube (LA-MCTS, `utils.latin_hypercube`).
    LatinHypercube,
    /// Scrambled Sobol points (LaMOO).
    Sobol,
}

/// The exploration constant of UCB.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Cp {
    /// A fixed value.
    Fixed(f64),
    /// This fraction of the hypervolume of all samples, recomputed every
    /// iteration (LaMOO's README: "Cp can be dynamically set to 10% of the
    /// hypervolume of current samples in each search iteration"); 0 without
    /// a reference point.
    HvFraction(f64),
}

impl Cp {
    /// The constant's value (the fraction for [`Cp::HvFraction`]).
    pub fn raw(self) -> f64 {
        let (Cp::Fixed(c) | Cp::HvFraction(c)) = self;
        c
    }
}

/// The loop's settings besides the tree.
#[derive(Clone, Debug, PartialEq)]
pub struct SearchSettings {
    /// Record-name prefix: the optimiser is `<name>-<sampler>`.
    pub name: String,
    /// Points of the initial design.
    pub init: usize,
    pub design: InitialDesign,
    /// Points per ask ([`LeafContext::batch`] and the fallback's count).
    pub batch: usize,
    pub cp: Cp,
    pub selector: Selector,
    /// How the fallback samples the region when the sampler proposes nothing.
    pub fallback: RegionSampling,
    /// Clip every proposal to the box.
    pub clip: bool,
    /// Keep the region (skip the rebuild) while the sampler is in an episode
    /// (LA-MCTS's TuRBO runs until its trust region collapses).
    pub episodes: bool,
    /// The search needs a reference point of at least two finite objectives
    /// (hypervolume-based scores).
    pub needs_reference: bool,
}

/// Everything a [`PartitionSearch`] is built from besides the space and the
/// sampler.
#[derive(Clone, Debug)]
pub struct Setup<L, B, S> {
    pub partitioner: Partitioner<L, B, S>,
    pub settings: SearchSettings,
}

/// Why a [`PartitionSearch`] could not be set up (besides its preset's own
/// checks); each paper's error converts from it.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum SearchError {
    #[error("the search space needs at least one dimension")]
    Dimension,
    #[error("the reference point needs at least two finite objectives, got {0:?}")]
    Reference(Vec<f64>),
    #[error("problem `{0}` defines no reference point; pass one to `with_reference`")]
    NoReference(String),
    #[error(
        "this search needs a reference point; build it with `with_reference` or `for_problem`"
    )]
    MissingReference,
}

/// A paper's configuration of the search: validated, it gives the tree's
/// pieces and the loop's settings. `LaMctsConfig` and `LaMooConfig` are
/// presets; [`Setup`] is one too, for assembling a search from parts.
pub trait Preset: Clone + std::fmt::Debug + Send {
    type Labeller: Labeller;
    type Learner: BoundaryLearner;
    type Score: NodeScore;
    type Error: From<SearchError>;
    /// Check the values (called first).
    fn validate(&self) -> Result<(), Self::Error>;
    /// Whether a reference point is required (checked before
    /// [`Preset::setup`]).
    fn needs_reference(&self) -> bool;
    /// The pieces; `reference` is the checked reference point, if any.
    fn setup(&self, reference: Option<&[f64]>)
        -> Setup<Self::Labeller, Self::Learner, Self::Score>;
}

impl<L, B, S> Preset for Setup<L, B, S>
where
    L: Labeller + Clone + std::fmt::Debug,
    B: BoundaryLearner + Clone + std::fmt::Debug,
    S: NodeScore + Clone + std::fmt::Debug,
{
    type Labeller = L;
    type Learner = B;
    type Score = S;
    type Error = SearchError;
    fn validate(&self) -> Result<(), SearchError> {
        Ok(())
    }
    fn needs_reference(&self) -> bool {
        self.settings.needs_reference
    }
    fn setup(&self, _reference: Option<&[f64]>) -> Setup<L, B, S> {
        self.clone()
    }
}

/// The learned-partition search as an ask/tell optimiser over a box
/// (objective vectors maximised; the run loop orients minimised problems).
///
/// The first ask returns the initial design. Every later ask rebuilds the
/// tree from all samples and selects a node (unless the sampler is in an
/// episode and [`SearchSettings::episodes`] is set, which keeps the region),
/// then returns the sampler's batch, or, if it is empty,
/// [`SearchSettings::batch`] points of the region by
/// [`SearchSettings::fallback`]; clipped to the box if
/// [`SearchSettings::clip`].
pub struct PartitionSearch<C: Preset, P: LeafSampler> {
    space: BoxSpace,
    reference: Option<Vec<f64>>,
    config: C,
    partitioner: Partitioner<C::Labeller, C::Learner, C::Score>,
    settings: SearchSettings,
    sampler: P,
    samples: Samples,
    asks: u64,
    tree: Option<Tree>,
    region: Option<Region>,
    rebuilds: usize,
    /// Whether the last batch came from the sampler (not init or fallback).
    from_sampler: bool,
}

impl<C: Preset, P: LeafSampler> std::fmt::Debug for PartitionSearch<C, P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartitionSearch")
            .field("config", &self.config)
            .field("reference", &self.reference)
            .field("sampler", &self.sampler.name())
            .field("samples", &self.samples.len())
            .field("rebuilds", &self.rebuilds)
            .finish()
    }
}

impl<C: Preset, P: LeafSampler> PartitionSearch<C, P> {
    /// The search `config` describes on `space`, with `sampler` proposing
    /// inside regions and no reference point.
    pub fn new(space: BoxSpace, config: C, sampler: P) -> Result<Self, C::Error> {
        Self::build(space, None, config, sampler, None)
    }

    /// [`PartitionSearch::new`] with hypervolumes w.r.t. `reference`
    /// (maximisation form).
    pub fn with_reference(
        space: BoxSpace,
        reference: Vec<f64>,
        config: C,
        sampler: P,
    ) -> Result<Self, C::Error> {
        Self::build(space, Some(reference), config, sampler, None)
    }

    /// The search on `problem`'s box with its reference point, if it has one.
    pub fn for_problem<Q: Problem<Space = BoxSpace>>(
        problem: &Q,
        config: C,
        sampler: P,
    ) -> Result<Self, C::Error> {
        let reference = problem.reference_point();
        if reference.is_none() && config.needs_reference() {
            return Err(SearchError::NoReference(problem.name()).into());
        }
        Self::build(
            problem.space().clone(),
            reference,
            config,
            sampler,
            Some(problem.name()),
        )
    }

    fn build(
        space: BoxSpace,
        reference: Option<Vec<f64>>,
        config: C,
        sampler: P,
        problem: Option<String>,
    ) -> Result<Self, C::Error> {
        config.validate()?;
        if space.dim() == 0 {
            return Err(SearchError::Dimension.into());
        }
        if config.needs_reference() {
            match &reference {
                None => {
                    return Err(match problem {
                        Some(p) => SearchError::NoReference(p),
                        None => SearchError::MissingReference,
                    }
                    .into())
                }
                Some(r) if r.len() < 2 || r.iter().any(|v| !v.is_finite()) => {
                    return Err(SearchError::Reference(r.clone()).into())
                }
                Some(_) => {}
            }
        }
        let Setup {
            partitioner,
            settings,
        } = config.setup(reference.as_deref());
        Ok(Self {
            space,
            reference,
            config,
            partitioner,
            settings,
            sampler,
            samples: Samples::new(),
            asks: 0,
            tree: None,
            region: None,
            rebuilds: 0,
            from_sampler: false,
        })
    }

    /// The preset the search was built from.
    pub fn config(&self) -> &C {
        &self.config
    }
    pub fn settings(&self) -> &SearchSettings {
        &self.settings
    }
    pub fn partitioner(&self) -> &Partitioner<C::Labeller, C::Learner, C::Score> {
        &self.partitioner
    }
    pub fn space(&self) -> &BoxSpace {
        &self.space
    }
    pub fn reference(&self) -> Option<&[f64]> {
        self.reference.as_deref()
    }
    /// Every sample told so far (objective vectors maximised).
    pub fn samples(&self) -> &Samples {
        &self.samples
    }
    /// The tree of the last rebuild.
    pub fn tree(&self) -> Option<&Tree> {
        self.tree.as_ref()
    }
    /// The region of the last ask.
    pub fn region(&self) -> Option<&Region> {
        self.region.as_ref()
    }
    /// How many times the tree was rebuilt.
    pub fn rebuilds(&self) -> usize {
        self.rebuilds
    }
    pub fn sampler(&self) -> &P {
        &self.sampler
    }
    /// The best sample so far by objective 0 and its (maximised) value.
    pub fn best(&self) -> Option<(&[f64], f64)> {
        self.samples
            .best()
            .map(|i| (self.samples.xs[i].as_slice(), self.samples.value(i)))
    }
    /// Hypervolume of all samples w.r.t. the reference point, if there is
    /// one.
    pub fn hypervolume(&self) -> Option<f64> {
        self.reference
            .as_ref()
            .map(|r| hypervolume(&self.samples.ys, r))
    }
    /// The `Cp` of the next selection.
    pub fn current_cp(&self) -> f64 {
        match self.settings.cp {
            Cp::Fixed(c) => c,
            Cp::HvFraction(f) => f * self.hypervolume().unwrap_or(0.0),
        }
    }

    fn initial_design(&self, rng: &mut Stream) -> Vec<Vec<f64>> {
        let n = self.settings.init;
        match self.settings.design {
            InitialDesign::LatinHypercube => self.space.latin_hypercube(n, rng),
            InitialDesign::Sobol => sobol_from(rng, n, self.space.dim())
                .iter()
                .map(|u| self.space.from_unit(u))
                .collect(),
        }
    }
}

impl<C: Preset, P: LeafSampler> Optimizer<Vec<f64>> for PartitionSearch<C, P> {
    fn name(&self) -> String {
        format!("{}-{}", self.settings.name, self.sampler.name())
    }

    fn ask(&mut self, rng: &mut Stream) -> Vec<Vec<f64>> {
        let k = self.asks;
        self.asks += 1;
        self.from_sampler = false;
        if self.samples.is_empty() {
            return self.initial_design(&mut rng.child("init"));
        }
        let keep = self.settings.episodes && self.sampler.in_episode() && self.region.is_some();
        if !keep {
            let cp = self.current_cp();
            let tree = self
                .partitioner
                .build(&self.samples, &rng.child_n("tree", k));
            let node = self
                .settings
                .selector
                .select(&tree, cp, &mut rng.child_n("select", k));
            self.region = Some(tree.region_of(node));
            self.tree = Some(tree);
            self.rebuilds += 1;
        }
        let (region, tree) = (
            self.region.as_ref().expect("set above"),
            self.tree.as_ref().expect("set with the region"),
        );
        let ctx = LeafContext {
            region,
            tree,
            samples: &self.samples,
            space: &self.space,
            reference: self.reference.as_deref(),
            batch: self.settings.batch,
        };
        let mut xs = self.sampler.propose(&ctx, &mut rng.child_n("propose", k));
        if xs.is_empty() {
            xs = region.sample(
                self.settings.batch,
                &self.space,
                &self.samples,
                &self.settings.fallback,
                &mut rng.child_n("fallback", k),
            );
        } else {
            self.from_sampler = true;
        }
        if self.settings.clip {
            for x in &mut xs {
                self.space.clip(x);
            }
        }
        xs
    }

    fn tell(&mut self, evaluated: &[Evaluated<Vec<f64>>], _rng: &mut Stream) {
        if self.from_sampler {
            let xs: Vec<Vec<f64>> = evaluated.iter().map(|e| e.x.clone()).collect();
            let ys: Vec<Vec<f64>> = evaluated.iter().map(|e| e.y.clone()).collect();
            self.sampler.observe(&xs, &ys);
        }
        for e in evaluated {
            self.samples.push(e.x.clone(), e.y.clone());
        }
    }
}
