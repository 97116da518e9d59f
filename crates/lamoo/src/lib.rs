//! # LaMOO (Zhao, Wang, Yang, Zhang, Guo, Tian; ICLR 2022)
//!
//! *Multi-objective Optimization by Learning Space Partitions.* LaMOO is a
//! meta-optimiser for multi-objective black-box problems: from the samples so
//! far it learns a tree of partitions of the search space and hands a solver
//! (qEHVI, CMA-ES, random) only the most promising region. Each node's
//! samples are ranked by their *dominance number* (how many of the node's
//! samples dominate them); the better half plus one is labelled good, the
//! rest bad, and an SVM learns the boundary on `x`. A node's value is the
//! hypervolume of its samples; the region to sample is the leaf with the
//! highest UCB (Algorithm 2) or the leaf reached by descending by UCB
//! (Algorithm 1), and it is the set of points every SVM on the root-to-leaf
//! path puts on the path's side. The tree is rebuilt from all samples every
//! iteration.
//!
//! Entry points:
//! - [`LaMoo`]: the ask/tell [`Optimizer`] over a box (objective vectors
//!   maximised; the run loop orients minimised objectives), configured by
//!   [`LaMooConfig`] (the authors' defaults) and a reference point;
//!   [`LaMoo::for_problem`] takes the problem's;
//! - [`MooSampler`]: the in-region solver: [`RandomRegion`], [`CmaEsRegion`],
//!   and [`ProposerRegion`], which takes any [`BatchProposer`] of qEHVI's
//!   shape; [`qehvi_region`] is LaMOO+qEHVI (core's
//!   [`searchkit::baselines::propose_qehvi`], restarts inside the region);
//! - the tree pieces: [`DominanceLabeller`], [`HypervolumeScore`],
//!   [`Selection`]; the tree itself is [`searchkit::partition`].
//!
//! ```
//! use lamoo::{LaMoo, LaMooConfig, RandomRegion};
//! use searchkit::prelude::*;
//!
//! // Two conflicting objectives on the unit square (both maximised).
//! struct TwoBowls(BoxSpace);
//! impl Problem for TwoBowls {
//!     type Space = BoxSpace;
//!     fn name(&self) -> String { "two-bowls".into() }
//!     fn space(&self) -> &BoxSpace { &self.0 }
//!     fn num_objectives(&self) -> usize { 2 }
//!     fn evaluate(&self, x: &Vec<f64>) -> Vec<f64> {
//!         let d = |c: f64| -x.iter().map(|v| (v - c).powi(2)).sum::<f64>();
//!         vec![d(0.2), d(0.8)]
//!     }
//!     fn reference_point(&self) -> Option<Vec<f64>> { Some(vec![-1.3, -1.3]) }
//! }
//!
//! let problem = TwoBowls(BoxSpace::cube(2, 0.0, 1.0));
//! let config = LaMooConfig { cp: lamoo::Cp::HvFraction(0.1), ..LaMooConfig::default() };
//! let mut opt = LaMoo::for_problem(&problem, config, RandomRegion::default()).unwrap();
//! let mut rng = Stream::for_run("doc", "lamoo", 0);
//! let trace = run(&problem, &mut opt, 40, &mut rng, &mut []);
//! assert_eq!(trace.len(), 40);
//! assert_eq!(opt.rebuilds(), 6); // 10 initial points, then batches of 5
//! ```
//!
//! Defaults follow the authors' code (aoiang/LaMOO, `LaMOO/{MCTS,Node,
//! Classifier}.py`; `branincurrin/` has the same): `ninits = 10` scrambled
//! Sobol points, `--sample_num 5` per iteration, `--cp 6`, `--kernel poly`,
//! `--degree 4`, `--gamma scale` (scikit-learn `SVC`, so `C = 1`,
//! `coef0 = 0`), `--node_select leaf`, `--split_method dominance`; a node
//! with at most 15 samples is not split (`Node.update_bag`), nor one whose
//! SVM predicts a single class on its own samples
//! (`Classifier.is_splittable_svm`); splitting stops past 50 nodes;
//! `Node.get_uct` is `x_bar + 2 Cp sqrt(2 ln(n_parent) / n)` with `n` the
//! sample count ([`Ucb::LogParent`]). The README's tuning advice, `Cp` about
//! 10% of the maximum (or current) hypervolume, is [`Cp::HvFraction`].
//!
//! Differences from the code (see also [`searchkit::partition`]):
//! - the code leaves `x_bar = inf` on split nodes (only unsplittable nodes get
//!   their hypervolume), so its path selection always prefers a split child
//!   over a leaf sibling; here every node's value is its hypervolume, the
//!   paper's Algorithm 1. Leaf selection (the default) is unaffected;
//! - the code checks its 50-node cap only after a whole wave of splits (so a
//!   tree can pass 50 nodes); here no split is made that would pass
//!   `max_nodes`;
//! - the molecule experiments use `--cp 0`/`0.1` and 150 initial points
//!   (`molecule*/MCTS.py`); set them in the config.

mod partition;
mod sampler;

#[cfg(test)]
mod tests;

pub use partition::{
    node_ucb, node_value, relaxations, select_node, select_region, DominanceLabeller,
    HypervolumeScore, Selection,
};
pub use sampler::{
    qehvi_region, rank_by_point_hypervolume, BatchProposer, CmaEsRegion, InRegion, MooContext,
    MooSampler, ProposerRegion, QehviProposer, RandomRegion,
};
pub use searchkit::learn::{Gamma, KernelKind};
pub use searchkit::partition::Ucb;

use searchkit::learn::SvcParams;
use searchkit::optimizer::{Evaluated, Optimizer};
use searchkit::pareto::hypervolume;
use searchkit::partition::{
    Partitioner, Region, RegionSampling, Samples, SvmLearner, Tree, TreeConfig,
};
use searchkit::problem::Problem;
use searchkit::qmc::sobol_from;
use searchkit::rng::Stream;
use searchkit::space::{BoxSpace, Space};

/// The exploration constant of UCB.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Cp {
    /// A fixed value (the code's `--cp`, 6). Six is about 10% of the
    /// maximum hypervolume of BraninCurrin (59.36, `_max_hv` in the vendored
    /// `botorch_lamcts/botorch/test_functions/multi_objective.py`), the
    /// problem the code is set up for; on problems with a much smaller
    /// hypervolume it makes UCB all exploration.
    Fixed(f64),
    /// This fraction of the hypervolume of all samples, recomputed every
    /// iteration (the README: "Cp can be dynamically set to 10% of the
    /// hypervolume of current samples in each search iteration").
    HvFraction(f64),
}

impl Default for Cp {
    fn default() -> Self {
        Cp::Fixed(6.0)
    }
}

/// LaMOO settings; defaults are the authors' code (see the crate docs).
#[derive(Clone, Debug, PartialEq)]
pub struct LaMooConfig {
    /// Initial scrambled-Sobol points (`ninits`, 10).
    pub init: usize,
    /// Points proposed per iteration (`--sample_num`, 5).
    pub batch: usize,
    /// UCB exploration constant (`--cp`, 6).
    pub cp: Cp,
    /// A node with more samples than this is split (15, `Node.update_bag`).
    pub leaf_size: usize,
    /// Splitting stops before the tree would pass this many nodes (50).
    pub max_nodes: Option<usize>,
    /// SVM kernel (`--kernel`, poly).
    pub kernel: KernelKind,
    /// Polynomial degree (`--degree`, 4).
    pub degree: u32,
    /// SVM kernel coefficient (`--gamma`, scale).
    pub gamma: Gamma,
    /// SVM box constraint (scikit-learn's default 1; the code never sets it).
    pub svm_c: f64,
    /// Leaf (Algorithm 2, the code's default) or path (Algorithm 1) selection.
    pub selection: Selection,
    /// UCB form (`ln(n_parent)`, `Node.get_uct`).
    pub ucb: Ucb,
}

impl Default for LaMooConfig {
    fn default() -> Self {
        Self {
            init: 10,
            batch: 5,
            cp: Cp::default(),
            leaf_size: 15,
            max_nodes: Some(50),
            kernel: KernelKind::Poly,
            degree: 4,
            gamma: Gamma::Scale,
            svm_c: 1.0,
            selection: Selection::Leaf,
            ucb: Ucb::LogParent,
        }
    }
}

/// Why a LaMOO configuration or setup was refused; each message names the
/// key.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum LaMooError {
    #[error("LaMOO: `init` (initial samples) must be at least 1, got {0}")]
    Init(usize),
    #[error("LaMOO: `batch` (points per iteration) must be at least 1, got {0}")]
    Batch(usize),
    #[error("LaMOO: `cp` must be finite and >= 0, got {0:?}")]
    Cp(Cp),
    #[error("LaMOO: `leaf_size` must be at least 1, got {0}")]
    LeafSize(usize),
    #[error("LaMOO: `max_nodes` must be at least 1 (or unset), got {0}")]
    MaxNodes(usize),
    #[error("LaMOO: `degree` (SVM polynomial degree) must be at least 1, got {0}")]
    Degree(u32),
    #[error("LaMOO: `gamma` (SVM kernel coefficient) must be positive and finite, got {0}")]
    Gamma(f64),
    #[error("LaMOO: `svm_c` (SVM C) must be positive and finite, got {0}")]
    SvmC(f64),
    #[error("LaMOO: the search space needs at least one dimension")]
    Dimension,
    #[error("LaMOO: the reference point needs at least two finite objectives, got {0:?}")]
    Reference(Vec<f64>),
    #[error("LaMOO: problem `{0}` defines no reference point; pass one to `LaMoo::new`")]
    NoReference(String),
}

impl LaMooConfig {
    /// Check every value.
    pub fn validate(&self) -> Result<(), LaMooError> {
        if self.init == 0 {
            return Err(LaMooError::Init(self.init));
        }
        if self.batch == 0 {
            return Err(LaMooError::Batch(self.batch));
        }
        let (Cp::Fixed(c) | Cp::HvFraction(c)) = self.cp;
        if !(c.is_finite() && c >= 0.0) {
            return Err(LaMooError::Cp(self.cp));
        }
        if self.leaf_size == 0 {
            return Err(LaMooError::LeafSize(self.leaf_size));
        }
        if self.max_nodes == Some(0) {
            return Err(LaMooError::MaxNodes(0));
        }
        if self.kernel == KernelKind::Poly && self.degree == 0 {
            return Err(LaMooError::Degree(self.degree));
        }
        if let Gamma::Value(g) = self.gamma {
            if !(g > 0.0 && g.is_finite()) {
                return Err(LaMooError::Gamma(g));
            }
        }
        if !(self.svm_c > 0.0 && self.svm_c.is_finite()) {
            return Err(LaMooError::SvmC(self.svm_c));
        }
        Ok(())
    }

    fn tree_config(&self) -> TreeConfig {
        TreeConfig {
            leaf_size: self.leaf_size,
            cp: match self.cp {
                Cp::Fixed(c) => c,
                Cp::HvFraction(_) => 0.0,
            },
            ucb: self.ucb,
            max_nodes: self.max_nodes,
        }
    }
}

/// The LaMOO partitioner: dominance labels, SVM boundaries, hypervolume
/// values.
pub type LaMooPartitioner = Partitioner<DominanceLabeller, SvmLearner, HypervolumeScore>;

/// The partitioner `config` describes, with node values w.r.t. `reference`.
pub fn partitioner(config: &LaMooConfig, reference: &[f64]) -> LaMooPartitioner {
    Partitioner {
        labeller: DominanceLabeller,
        learner: SvmLearner {
            params: SvcParams {
                kernel: config.kernel,
                gamma: config.gamma,
                c: config.svm_c,
                degree: config.degree,
                ..SvcParams::default()
            },
        },
        score: HypervolumeScore {
            reference: reference.to_vec(),
        },
        config: config.tree_config(),
    }
}

/// LaMOO as an ask/tell optimiser over a box.
///
/// The first ask returns `init` scrambled-Sobol points. Every later ask
/// rebuilds the tree from all samples, selects a node ([`Selection`]) and
/// returns the sampler's batch (clipped to the box; if the sampler returns
/// nothing, `batch` rejection-sampled points of the region). All draws come
/// from children of the run's stream indexed by the ask.
pub struct LaMoo<S: MooSampler = RandomRegion> {
    space: BoxSpace,
    reference: Vec<f64>,
    config: LaMooConfig,
    partitioner: LaMooPartitioner,
    sampler: S,
    samples: Samples,
    asks: u64,
    tree: Option<Tree>,
    region: Option<Region>,
    rebuilds: usize,
}

impl<S: MooSampler> std::fmt::Debug for LaMoo<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LaMoo")
            .field("config", &self.config)
            .field("reference", &self.reference)
            .field("sampler", &self.sampler.name())
            .field("samples", &self.samples.len())
            .field("rebuilds", &self.rebuilds)
            .finish()
    }
}

impl<S: MooSampler> LaMoo<S> {
    /// LaMOO on `space`, hypervolumes w.r.t. `reference` (maximisation form),
    /// with `sampler` proposing inside regions.
    pub fn new(
        space: BoxSpace,
        reference: Vec<f64>,
        config: LaMooConfig,
        sampler: S,
    ) -> Result<Self, LaMooError> {
        config.validate()?;
        if space.dim() == 0 {
            return Err(LaMooError::Dimension);
        }
        if reference.len() < 2 || reference.iter().any(|r| !r.is_finite()) {
            return Err(LaMooError::Reference(reference));
        }
        Ok(Self {
            partitioner: partitioner(&config, &reference),
            space,
            reference,
            config,
            sampler,
            samples: Samples::new(),
            asks: 0,
            tree: None,
            region: None,
            rebuilds: 0,
        })
    }

    /// LaMOO on `problem`'s box with its reference point.
    pub fn for_problem<P: Problem<Space = BoxSpace>>(
        problem: &P,
        config: LaMooConfig,
        sampler: S,
    ) -> Result<Self, LaMooError> {
        let reference = problem
            .reference_point()
            .ok_or_else(|| LaMooError::NoReference(problem.name()))?;
        Self::new(problem.space().clone(), reference, config, sampler)
    }

    pub fn config(&self) -> &LaMooConfig {
        &self.config
    }
    pub fn reference(&self) -> &[f64] {
        &self.reference
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
    /// How many times the tree was rebuilt (once per ask after the first).
    pub fn rebuilds(&self) -> usize {
        self.rebuilds
    }
    pub fn sampler(&self) -> &S {
        &self.sampler
    }
    /// Hypervolume of all samples w.r.t. the reference point.
    pub fn hypervolume(&self) -> f64 {
        hypervolume(&self.samples.ys, &self.reference)
    }
    /// The `Cp` used for the next selection.
    pub fn current_cp(&self) -> f64 {
        match self.config.cp {
            Cp::Fixed(c) => c,
            Cp::HvFraction(f) => f * self.hypervolume(),
        }
    }
}

impl<S: MooSampler> Optimizer<Vec<f64>> for LaMoo<S> {
    fn name(&self) -> String {
        format!("lamoo-{}", self.sampler.name())
    }

    fn ask(&mut self, rng: &mut Stream) -> Vec<Vec<f64>> {
        let k = self.asks;
        self.asks += 1;
        if self.samples.is_empty() {
            let d = self.space.dim();
            return sobol_from(&mut rng.child("init"), self.config.init, d)
                .iter()
                .map(|u| self.space.from_unit(u))
                .collect();
        }
        let cp = self.current_cp();
        let tree = self
            .partitioner
            .build(&self.samples, &rng.child_n("tree", k));
        let region = select_region(
            &tree,
            self.config.selection,
            cp,
            self.config.ucb,
            &mut rng.child_n("select", k),
        );
        self.rebuilds += 1;
        let ctx = MooContext {
            region: &region,
            tree: &tree,
            samples: &self.samples,
            space: &self.space,
            reference: &self.reference,
            batch: self.config.batch,
        };
        let mut xs = self.sampler.propose(&ctx, &mut rng.child_n("propose", k));
        if xs.is_empty() {
            xs = region.sample(
                self.config.batch,
                &self.space,
                &self.samples,
                &RegionSampling {
                    lhs: true,
                    ..RegionSampling::default()
                },
                &mut rng.child_n("fallback", k),
            );
        }
        for x in &mut xs {
            self.space.clip(x);
        }
        self.tree = Some(tree);
        self.region = Some(region);
        xs
    }

    fn tell(&mut self, evaluated: &[Evaluated<Vec<f64>>], _rng: &mut Stream) {
        for e in evaluated {
            self.samples.push(e.x.clone(), e.y.clone());
        }
    }
}
