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
//! - [`LaMoo`]: the ask/tell [`Optimizer`](searchkit::optimizer::Optimizer)
//!   over a box (objective vectors maximised; the run loop orients minimised
//!   objectives), configured by [`LaMooConfig`] (the authors' defaults) and a
//!   reference point ([`LaMoo::with_reference`]; [`LaMoo::for_problem`] takes
//!   the problem's). It is core's learned-partition search
//!   ([`PartitionSearch`]) with LaMOO's pieces: [`DominanceLabeller`], SVM
//!   boundaries, [`HypervolumeScore`], leaf or path selection
//!   ([`selector`]), a scrambled-Sobol start, [`Cp::HvFraction`], clipping
//!   to the box, and `batch` Latin-hypercube rejection-sampled points when
//!   the sampler proposes none;
//! - the in-region solver is a [`LeafSampler`]: core's [`RandomRegion`]
//!   ([`random_region`] is the code's) and [`CmaEsRegion`] ([`cmaes_region`]
//!   is the code's), and [`ProposerRegion`], which takes any
//!   [`BatchProposer`] of qEHVI's shape; [`qehvi_region`] is LaMOO+qEHVI
//!   (core's [`searchkit::baselines::propose_qehvi`], restarts inside the
//!   region);
//! - the tree and the loop are [`searchkit::partition`], shared with LA-MCTS
//!   (LaNAS and PlaLaM plug in the same way).
//!
//! ```
//! use lamoo::{random_region, LaMoo, LaMooConfig};
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
//! let mut opt = LaMoo::for_problem(&problem, config, random_region()).unwrap();
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

pub use partition::{selector, DominanceLabeller, HypervolumeScore};
pub use sampler::{
    cmaes_region, cmaes_region_with, qehvi_region, random_region, BatchProposer, InRegion,
    ProposerRegion, QehviProposer,
};
pub use searchkit::baselines::CmaBounds;
pub use searchkit::learn::{Gamma, KernelKind};
pub use searchkit::partition::{
    rank_by_point_hypervolume, CmaEsRegion, CmaPool, CmaTell, Cp, FreshCmaEs, LeafContext,
    LeafSampler, RandomRegion, Selection, Ucb,
};

use searchkit::learn::SvcParams;
use searchkit::partition::{
    Backprop, Growth, InitialDesign, PartitionSearch, Partitioner, Preset, RegionSampling,
    SearchError, SearchSettings, Setup, SvmLearner, TreeConfig,
};

/// LaMOO settings; defaults are the authors' code (see the crate docs).
#[derive(Clone, Debug, PartialEq)]
pub struct LaMooConfig {
    /// Initial scrambled-Sobol points (`ninits`, 10).
    pub init: usize,
    /// Points proposed per iteration (`--sample_num`, 5).
    pub batch: usize,
    /// UCB exploration constant (`--cp`, 6). Six is about 10% of the
    /// maximum hypervolume of BraninCurrin (59.36, `_max_hv` in the vendored
    /// `botorch_lamcts/botorch/test_functions/multi_objective.py`), the
    /// problem the code is set up for; on problems with a much smaller
    /// hypervolume it makes UCB all exploration ([`Cp::HvFraction`] scales
    /// with the hypervolume).
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
    /// libsvm's shrinking in the SVM solver ([`SvcParams::shrinking`]).
    /// scikit-learn's default, which the code uses, is on; off here (false)
    /// keeps the results of runs made before it existed. It changes SMO's
    /// path, so the boundaries agree with those without it only to the
    /// solver's tolerance (and differ where SMO hits its iteration cap,
    /// as on BraninCurrin with the degree-4 kernel, where it is much
    /// faster).
    pub shrinking: bool,
    /// Cap on SMO iterations per SVM fit ([`SvcParams::max_iter`]; 10^7,
    /// libsvm's floor). On LaMOO+CMA-ES's clustered samples the degree-4
    /// kernel reaches 1e9 and more, its `f32` rows carry errors above the
    /// tolerance, and SMO runs to the cap without converging (scikit-learn's
    /// libsvm too); a lower cap is a stated variant that makes 1,000-sample
    /// runs affordable.
    pub svm_max_iter: usize,
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
            cp: Cp::Fixed(6.0),
            leaf_size: 15,
            max_nodes: Some(50),
            kernel: KernelKind::Poly,
            degree: 4,
            gamma: Gamma::Scale,
            svm_c: 1.0,
            shrinking: false,
            svm_max_iter: 10_000_000,
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
    #[error("LaMOO: `svm_max_iter` (SMO iteration cap) must be at least 1")]
    SvmMaxIter,
    #[error("LaMOO: the search space needs at least one dimension")]
    Dimension,
    #[error("LaMOO: the reference point needs at least two finite objectives, got {0:?}")]
    Reference(Vec<f64>),
    #[error(
        "LaMOO: problem `{0}` defines no reference point; pass one to `LaMoo::with_reference`"
    )]
    NoReference(String),
    #[error("LaMOO: needs a reference point; build it with `LaMoo::with_reference` or `LaMoo::for_problem`")]
    MissingReference,
}

impl From<SearchError> for LaMooError {
    fn from(e: SearchError) -> Self {
        match e {
            SearchError::Dimension => LaMooError::Dimension,
            SearchError::Reference(r) => LaMooError::Reference(r),
            SearchError::NoReference(p) => LaMooError::NoReference(p),
            SearchError::MissingReference => LaMooError::MissingReference,
        }
    }
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
        if self.svm_max_iter == 0 {
            return Err(LaMooError::SvmMaxIter);
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
            growth: Growth::Adaptive,
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
                shrinking: config.shrinking,
                max_iter: config.svm_max_iter,
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

/// LaMOO as an ask/tell optimiser over a box: core's [`PartitionSearch`]
/// with [`LaMooConfig`] as its preset, built by
/// `LaMoo::with_reference(space, reference, config, sampler)` or
/// `LaMoo::for_problem(&problem, config, sampler)`.
///
/// The first ask returns `init` scrambled-Sobol points. Every later ask
/// rebuilds the tree from all samples, selects a node ([`Selection`]) and
/// returns the sampler's batch (clipped to the box; if the sampler returns
/// nothing, `batch` rejection-sampled points of the region). All draws come
/// from children of the run's stream indexed by the ask.
pub type LaMoo<S = RandomRegion> = PartitionSearch<LaMooConfig, S>;

impl Preset for LaMooConfig {
    type Labeller = DominanceLabeller;
    type Learner = SvmLearner;
    type Score = HypervolumeScore;
    type Error = LaMooError;

    fn validate(&self) -> Result<(), LaMooError> {
        LaMooConfig::validate(self)
    }

    fn needs_reference(&self) -> bool {
        true
    }

    fn setup(
        &self,
        reference: Option<&[f64]>,
    ) -> Setup<DominanceLabeller, SvmLearner, HypervolumeScore> {
        Setup {
            partitioner: partitioner(self, reference.unwrap_or_default()),
            settings: SearchSettings {
                name: "lamoo".into(),
                init: self.init,
                design: InitialDesign::Sobol,
                batch: self.batch,
                rebuild_every: 1,
                backprop: Backprop::Off,
                cp: self.cp,
                selector: selector(self.selection),
                fallback: RegionSampling {
                    lhs: true,
                    ..RegionSampling::default()
                },
                clip: true,
                // The code rebuilds every iteration; its samplers have no
                // episodes.
                episodes: false,
                needs_reference: true,
            },
        }
    }
}
