//! The learned-partition search loop, one ask/tell optimiser for every paper:
//! [`PartitionSearch`], configured by a [`Preset`] (a paper's config) and a
//! [`LeafSampler`] (the solver inside the selected region), over a
//! [`Domain`]: a box of reals (LA-MCTS, LaMOO) or a finite table of encoded
//! entries (LaNAS).
//!
//! Each ask after the initial design rebuilds the tree from all samples
//! (or, with [`SearchSettings::rebuild_every`], once every so many samples),
//! selects a node by UCB ([`Selector`]) and asks the sampler for points in
//! its region; an empty proposal falls back to the domain's region sampling
//! ([`Domain::fallback`]: rejection sampling of the region for a box). A
//! sampler in the middle of an episode keeps its region (no rebuild, no
//! selection). Between rebuilds the selection's statistics are the tree's,
//! or, with [`Backprop::Mean`], the tree's updated by each new sample along
//! its leaf's path (LaNAS's rounds). Every draw comes from a child of the
//! run's stream: `"init"` for the design, and `("tree", k)`, `("select", k)`,
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

/// The points a [`PartitionSearch`] searches: a [`Space`] whose points the
/// tree sees through [`Domain::features`], with the domain's own initial
/// design and region sampling. [`BoxSpace`] is one (the features are the
/// point); a finite table of encoded entries is another
/// (`nasbench::tabular::TableSpace`, LaNAS).
pub trait Domain: Space + Clone + Send {
    /// The coordinates the labellers and classifiers work on.
    fn features(&self, x: &Self::X) -> Vec<f64>;
    /// `n` points to start from. `told` are the points evaluated so far
    /// (empty for a fresh search); a finite domain draws distinct, untold
    /// points.
    fn initial_design(
        &self,
        n: usize,
        design: InitialDesign,
        told: &[Self::X],
        rng: &mut Stream,
    ) -> Vec<Self::X>;
    /// `n` points of `region` when the sampler proposes none (may return
    /// fewer, or none when the domain is exhausted); `told` are the points
    /// of `samples`.
    fn fallback(
        &self,
        region: &Region,
        n: usize,
        samples: &Samples,
        told: &[Self::X],
        sampling: &RegionSampling,
        rng: &mut Stream,
    ) -> Vec<Self::X>;
    /// Make a proposal valid ([`SearchSettings::clip`]); a no-op by default.
    fn clip(&self, _x: &mut Self::X) {}
    /// The features the next tree is built on, recomputed from every told
    /// point at each rebuild, for domains whose features depend on all points
    /// together (PlaLaM's latent: a random encoder of the rollouts' frames,
    /// normalised over the whole batch). `None` (the default): the tree sees
    /// [`Domain::features`] as stored when each point was told.
    fn rebuild_features(&self, _told: &[Self::X]) -> Option<Vec<Vec<f64>>> {
        None
    }
}

impl Domain for BoxSpace {
    fn features(&self, x: &Vec<f64>) -> Vec<f64> {
        x.clone()
    }

    fn initial_design(
        &self,
        n: usize,
        design: InitialDesign,
        _told: &[Vec<f64>],
        rng: &mut Stream,
    ) -> Vec<Vec<f64>> {
        match design {
            InitialDesign::LatinHypercube => self.latin_hypercube(n, rng),
            InitialDesign::Sobol => sobol_from(rng, n, self.dim())
                .iter()
                .map(|u| self.from_unit(u))
                .collect(),
            InitialDesign::Uniform => (0..n).map(|_| self.sample(rng)).collect(),
        }
    }

    fn fallback(
        &self,
        region: &Region,
        n: usize,
        samples: &Samples,
        _told: &[Vec<f64>],
        sampling: &RegionSampling,
        rng: &mut Stream,
    ) -> Vec<Vec<f64>> {
        region.sample(n, self, samples, sampling, rng)
    }

    fn clip(&self, x: &mut Vec<f64>) {
        BoxSpace::clip(self, x)
    }
}

/// What a [`LeafSampler`] sees when asked for points.
#[derive(Clone, Copy, Debug)]
pub struct LeafContext<'a, D: Domain = BoxSpace> {
    /// The selected node's region (path classifiers and sample indices).
    pub region: &'a Region,
    /// The tree the region was selected from.
    pub tree: &'a Tree,
    /// How many times the tree was built so far: a sampler that keeps
    /// per-tree state (a finite table's leaves) refreshes it when this
    /// changes.
    pub generation: usize,
    /// Every evaluated sample so far (features, objective vectors
    /// maximised).
    pub samples: &'a Samples,
    /// The evaluated points, in the order of `samples`.
    pub points: &'a [D::X],
    /// The search domain (the box for LA-MCTS and LaMOO).
    pub space: &'a D,
    /// Hypervolume reference point (maximisation form), for multi-objective
    /// searches.
    pub reference: Option<&'a [f64]>,
    /// How many points the search wants per ask (samplers with their own
    /// batch size may ignore it).
    pub batch: usize,
}

/// Proposes points inside a selected region, for one or more objectives, on
/// the domain `D` (a box unless said otherwise).
pub trait LeafSampler<D: Domain = BoxSpace>: Send {
    /// A short name for records (`<search>-<name>`).
    fn name(&self) -> String;
    /// Points to evaluate next, ideally inside `ctx.region`. An empty batch
    /// makes the search fall back to [`Domain::fallback`].
    fn propose(&mut self, ctx: &LeafContext<'_, D>, rng: &mut Stream) -> Vec<D::X>;
    /// The objective vectors (maximised) of the last proposal, in order; `xs`
    /// may be shorter than proposed when the run's budget ran out. Not called
    /// for initial-design or fallback points.
    fn observe(&mut self, _xs: &[D::X], _ys: &[Vec<f64>]) {}
    /// Whether the sampler is in the middle of an episode and wants the same
    /// region again (the search then skips the rebuild, see
    /// [`SearchSettings::episodes`]).
    fn in_episode(&self) -> bool {
        false
    }
    /// Counts for reports (see
    /// [`Optimizer::diagnostics`](crate::optimizer::Optimizer::diagnostics)).
    fn diagnostics(&self) -> Vec<(String, f64)> {
        Vec::new()
    }
}

impl<D: Domain, S: LeafSampler<D> + ?Sized> LeafSampler<D> for Box<S> {
    fn name(&self) -> String {
        (**self).name()
    }
    fn propose(&mut self, ctx: &LeafContext<'_, D>, rng: &mut Stream) -> Vec<D::X> {
        (**self).propose(ctx, rng)
    }
    fn diagnostics(&self) -> Vec<(String, f64)> {
        (**self).diagnostics()
    }
    fn observe(&mut self, xs: &[D::X], ys: &[Vec<f64>]) {
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
    /// Independent uniform points; distinct entries on a finite domain
    /// (LaNAS).
    Uniform,
}

/// How the selection's node statistics change between rebuilds (they start
/// as the tree's: each node's score and sample count).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backprop {
    /// They stay the tree's (with a rebuild every ask, nothing else is
    /// needed: LA-MCTS, LaMOO).
    Off,
    /// Each new sample is added to its leaf (by the tree's boundaries) and
    /// every ancestor: the count always, the running mean of objective 0 only
    /// for a positive value when `positive_only` (LaNAS's code).
    Mean { positive_only: bool },
    /// Each new sample is added to the node it was proposed in (the selected
    /// one, whatever its boundaries say) and every ancestor: the count
    /// always, the value as the running max (`max`) or mean of objective 0
    /// (PlaLaM's `MCTS.backpropogate`, whose `split_metric` is max or mean).
    Selected { max: bool },
}

/// A node's selection statistics between rebuilds: `(value, visits)` per
/// node, read by [`Selector::select_by`].
#[derive(Clone, Debug, PartialEq)]
pub struct NodeStats {
    pub value: Vec<f64>,
    pub n: Vec<usize>,
}

impl NodeStats {
    /// The tree's own: each node's score and sample count.
    pub fn of_tree(tree: &Tree) -> Self {
        Self {
            value: tree.nodes().iter().map(|node| node.value).collect(),
            n: tree.nodes().iter().map(super::Node::n).collect(),
        }
    }

    /// `(value, visits)` of node `k`.
    pub fn get(&self, k: usize) -> (f64, usize) {
        (self.value[k], self.n[k])
    }

    /// Add a sampled `value` to node `k` and its ancestors by `rule` (a
    /// no-op for [`Backprop::Off`]); a node without visits takes the value.
    pub fn backpropagate(&mut self, tree: &Tree, k: usize, value: f64, rule: Backprop) {
        let (positive_only, max) = match rule {
            Backprop::Off => return,
            Backprop::Mean { positive_only } => (positive_only, false),
            Backprop::Selected { max } => (false, max),
        };
        let mut node = Some(k);
        while let Some(i) = node {
            if max {
                self.value[i] = if self.n[i] > 0 {
                    self.value[i].max(value)
                } else {
                    value
                };
            } else if !positive_only || value > 0.0 {
                self.value[i] = if self.n[i] > 0 {
                    (self.value[i] * self.n[i] as f64 + value) / (self.n[i] + 1) as f64
                } else {
                    value
                };
            }
            self.n[i] += 1;
            node = tree.node(i).parent;
        }
    }
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
    /// Rebuild the tree when at least this many samples came in since the
    /// last rebuild (1: every ask, LA-MCTS and LaMOO; LaNAS's rounds of 20).
    /// A node is selected every ask either way.
    pub rebuild_every: usize,
    /// How the selection's statistics follow new samples between rebuilds.
    pub backprop: Backprop,
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

/// The learned-partition search as an ask/tell optimiser over a [`Domain`]
/// (objective vectors maximised; the run loop orients minimised problems).
///
/// The first ask returns the initial design. Every later ask rebuilds the
/// tree from all samples when [`SearchSettings::rebuild_every`] samples came
/// in since the last rebuild, and selects a node (unless the sampler is in an
/// episode and [`SearchSettings::episodes`] is set, which keeps the region),
/// then returns the sampler's batch, or, if it is empty,
/// [`SearchSettings::batch`] points of [`Domain::fallback`]; clipped if
/// [`SearchSettings::clip`].
pub struct PartitionSearch<C: Preset, P: LeafSampler<D>, D: Domain = BoxSpace> {
    space: D,
    reference: Option<Vec<f64>>,
    config: C,
    partitioner: Partitioner<C::Labeller, C::Learner, C::Score>,
    settings: SearchSettings,
    sampler: P,
    samples: Samples,
    /// The evaluated points, in the order of `samples`.
    points: Vec<D::X>,
    asks: u64,
    tree: Option<Tree>,
    stats: Option<NodeStats>,
    region: Option<Region>,
    rebuilds: usize,
    /// Samples told since the last rebuild.
    since_rebuild: usize,
    /// Whether the last batch came from the sampler (not init or fallback).
    from_sampler: bool,
}

impl<C: Preset, P: LeafSampler<D>, D: Domain> std::fmt::Debug for PartitionSearch<C, P, D> {
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

impl<C: Preset, P: LeafSampler<D>, D: Domain> PartitionSearch<C, P, D> {
    /// The search `config` describes on `space`, with `sampler` proposing
    /// inside regions and no reference point.
    pub fn new(space: D, config: C, sampler: P) -> Result<Self, C::Error> {
        Self::build(space, None, config, sampler, None)
    }

    /// [`PartitionSearch::new`] with hypervolumes w.r.t. `reference`
    /// (maximisation form).
    pub fn with_reference(
        space: D,
        reference: Vec<f64>,
        config: C,
        sampler: P,
    ) -> Result<Self, C::Error> {
        Self::build(space, Some(reference), config, sampler, None)
    }

    /// The search on `problem`'s space with its reference point, if it has
    /// one.
    pub fn for_problem<Q: Problem<Space = D>>(
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
        space: D,
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
            points: Vec::new(),
            asks: 0,
            tree: None,
            stats: None,
            region: None,
            rebuilds: 0,
            since_rebuild: 0,
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
    pub fn space(&self) -> &D {
        &self.space
    }
    pub fn reference(&self) -> Option<&[f64]> {
        self.reference.as_deref()
    }
    /// Every sample told so far (features, objective vectors maximised).
    pub fn samples(&self) -> &Samples {
        &self.samples
    }
    /// The points told so far, in the order of [`PartitionSearch::samples`].
    pub fn points(&self) -> &[D::X] {
        &self.points
    }
    /// The tree of the last rebuild.
    pub fn tree(&self) -> Option<&Tree> {
        self.tree.as_ref()
    }
    /// The selection's node statistics: the last tree's, updated since by
    /// [`SearchSettings::backprop`].
    pub fn stats(&self) -> Option<&NodeStats> {
        self.stats.as_ref()
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
    /// The best sample so far by objective 0: its point and (maximised)
    /// value.
    pub fn best(&self) -> Option<(&D::X, f64)> {
        self.samples
            .best()
            .map(|i| (&self.points[i], self.samples.value(i)))
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
}

impl<C: Preset, P: LeafSampler<D>, D: Domain> Optimizer<D::X> for PartitionSearch<C, P, D> {
    fn name(&self) -> String {
        format!("{}-{}", self.settings.name, self.sampler.name())
    }

    fn ask(&mut self, rng: &mut Stream) -> Vec<D::X> {
        let k = self.asks;
        self.asks += 1;
        self.from_sampler = false;
        // Points told before the first ask (a prescribed design) count
        // toward the initial design: only the rest is drawn.
        if self.samples.is_empty() || (k == 0 && self.samples.len() < self.settings.init) {
            return self.space.initial_design(
                self.settings.init - self.samples.len(),
                self.settings.design,
                &self.points,
                &mut rng.child("init"),
            );
        }
        let keep = self.settings.episodes && self.sampler.in_episode() && self.region.is_some();
        if !keep {
            if self.tree.is_none() || self.since_rebuild >= self.settings.rebuild_every {
                let tree_rng = rng.child_n("tree", k);
                let tree = match self.space.rebuild_features(&self.points) {
                    Some(xs) => {
                        let view = Samples {
                            xs,
                            ys: self.samples.ys.clone(),
                        };
                        self.partitioner.build(&view, &tree_rng)
                    }
                    None => self.partitioner.build(&self.samples, &tree_rng),
                };
                self.stats = Some(NodeStats::of_tree(&tree));
                self.tree = Some(tree);
                self.rebuilds += 1;
                self.since_rebuild = 0;
            }
            let cp = self.current_cp();
            let (tree, stats) = (
                self.tree.as_ref().expect("built above"),
                self.stats.as_ref().expect("built with the tree"),
            );
            let node = self.settings.selector.select_by(
                tree,
                cp,
                &|k| stats.get(k),
                &mut rng.child_n("select", k),
            );
            self.region = Some(tree.region_of(node));
        }
        let (region, tree) = (
            self.region.as_ref().expect("set above"),
            self.tree.as_ref().expect("set with the region"),
        );
        let ctx = LeafContext {
            region,
            tree,
            generation: self.rebuilds,
            samples: &self.samples,
            points: &self.points,
            space: &self.space,
            reference: self.reference.as_deref(),
            batch: self.settings.batch,
        };
        let mut xs = self.sampler.propose(&ctx, &mut rng.child_n("propose", k));
        if xs.is_empty() {
            xs = self.space.fallback(
                region,
                self.settings.batch,
                &self.samples,
                &self.points,
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

    fn diagnostics(&self) -> Vec<(String, f64)> {
        self.sampler.diagnostics()
    }

    fn tell(&mut self, evaluated: &[Evaluated<D::X>], _rng: &mut Stream) {
        if self.from_sampler {
            let xs: Vec<D::X> = evaluated.iter().map(|e| e.x.clone()).collect();
            let ys: Vec<Vec<f64>> = evaluated.iter().map(|e| e.y.clone()).collect();
            self.sampler.observe(&xs, &ys);
        }
        for e in evaluated {
            let features = self.space.features(&e.x);
            if let (Some(tree), Some(stats)) = (&self.tree, &mut self.stats) {
                match (self.settings.backprop, &self.region) {
                    (Backprop::Off, _) => {}
                    (Backprop::Selected { .. }, Some(region)) => {
                        stats.backpropagate(tree, region.node(), e.y[0], self.settings.backprop);
                    }
                    (Backprop::Selected { .. }, None) => {}
                    (Backprop::Mean { .. }, _) => {
                        let leaf = tree.leaf_of(&features);
                        stats.backpropagate(tree, leaf, e.y[0], self.settings.backprop);
                    }
                }
            }
            self.samples.push(features, e.y.clone());
            self.points.push(e.x.clone());
            self.since_rebuild += 1;
        }
    }
}
